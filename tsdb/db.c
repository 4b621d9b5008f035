/* tsdb/db.c — the database: opening (lock, blocks, WAL replay), the shared block list, closing.
 *
 * Start-up order: lock the directory, remove what a crash left (temporary and deleted block
 * directories), open every block (a damaged one is reported and skipped, never fatal), let the
 * head accept only samples newer than the blocks, replay the WAL into it, then start the
 * storage thread. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/fsutil.h"
#include "tsdb/head.h"
#include "tsdb/wal.h"

struct head *tsdb_db_head(tsdb *db)
{
    return db->head;
}

static int block_mint_cmp(const void *a, const void *b)
{
    const struct block_meta *x = block_meta((*(struct db_block *const *) a)->b);
    const struct block_meta *y = block_meta((*(struct db_block *const *) b)->b);
    if (x->mint != y->mint)
        return (x->mint > y->mint) - (x->mint < y->mint);
    return strcmp(x->ulid, y->ulid);
}

int db_blocks_add(tsdb *db, struct block *b)
{
    struct db_block *d = calloc(1, sizeof *d);
    if (!d) {
        block_close(b);
        return -ENOMEM;
    }
    d->b = b;
    d->refs = 1;
    pthread_mutex_lock(&db->blocks_lock);
    if (db->n_blocks == db->cap_blocks) {
        size_t nc = db->cap_blocks ? db->cap_blocks * 2 : 16;
        struct db_block **p = realloc(db->blocks, nc * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&db->blocks_lock);
            block_close(b);
            free(d);
            return -ENOMEM;
        }
        db->blocks = p;
        db->cap_blocks = nc;
    }
    db->blocks[db->n_blocks++] = d;
    qsort(db->blocks, db->n_blocks, sizeof *db->blocks, block_mint_cmp);
    pthread_mutex_unlock(&db->blocks_lock);
    return 0;
}

int db_blocks_acquire(tsdb *db, int64_t mint, int64_t maxt, struct db_block ***ret,
                      size_t *ret_n)
{
    pthread_mutex_lock(&db->blocks_lock);
    if (db->n_blocks == 0) { /* a young database, or a test's: no array to allocate */
        pthread_mutex_unlock(&db->blocks_lock);
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    struct db_block **v = malloc(db->n_blocks * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < db->n_blocks; i++) {
        const struct block_meta *m = block_meta(db->blocks[i]->b);
        if (m->maxt < mint || m->mint > maxt)
            continue;
        atomic_fetch_add(&db->blocks[i]->refs, 1);
        v[k++] = db->blocks[i];
    }
    pthread_mutex_unlock(&db->blocks_lock);
    if (!v)
        return -ENOMEM;
    *ret = v;
    *ret_n = k;
    return 0;
}

static void block_unref(struct db_block *d)
{
    if (atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    block_close(d->b);
    if (d->deleted_path) {
        struct err e = {0};
        if (fs_remove_tree(d->deleted_path, &e) < 0)
            LOG_WARN("tsdb", "removing block directory failed", "dir=%s err=\"%s\"",
                     d->deleted_path, e.msg);
        free(d->deleted_path);
    }
    free(d);
}

void db_blocks_release(struct db_block **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        block_unref(v[i]);
    free(v);
}

void db_blocks_remove(tsdb *db, struct db_block **v, size_t n)
{
    pthread_mutex_lock(&db->blocks_lock);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < db->n_blocks; j++) {
            if (db->blocks[j] != v[i])
                continue;
            memmove(&db->blocks[j], &db->blocks[j + 1], (db->n_blocks - j - 1) * sizeof *v);
            db->n_blocks--;
            /* Renamed now, so a crash before the last reader lets go cannot resurrect it. */
            char *to = NULL;
            if (asprintf(&to, "%s.deleted", block_dir(v[i]->b)) >= 0 &&
                rename(block_dir(v[i]->b), to) == 0)
                v[i]->deleted_path = to;
            else {
                LOG_WARN("tsdb", "renaming a removed block failed", "dir=%s err=\"%s\"",
                         block_dir(v[i]->b), strerror(errno));
                free(to);
            }
            break;
        }
    }
    pthread_mutex_unlock(&db->blocks_lock);
    /* The list's own references: the caller passes blocks it took out of the list, and still
     * holds the references db_blocks_acquire() gave it. */
    for (size_t i = 0; i < n; i++)
        block_unref(v[i]);
}

static int is_block_name(const char *s)
{
    if (strlen(s) != BLOCK_ULID_LEN)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* Opens every block directory; damaged ones are logged, counted and left on disk. */
static int open_blocks(tsdb *db, struct err *e)
{
    if (block_cleanup_tmp(db->dir, e) < 0)
        return -1;
    DIR *d = opendir(db->dir);
    if (!d)
        return err_set(e, -errno, "reading %s: %s", db->dir, strerror(errno));
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", db->dir, de->d_name) >= (int) sizeof path)
            continue;
        if (len > 8 && strcmp(de->d_name + len - 8, ".deleted") == 0) {
            /* A compaction or retention pass removed it; the crash came before the rm. */
            struct err e2 = {0};
            if (fs_remove_tree(path, &e2) < 0)
                LOG_WARN("tsdb", "removing deleted block failed", "dir=%s err=\"%s\"", path,
                         e2.msg);
            continue;
        }
        if (!is_block_name(de->d_name))
            continue;
        struct block *b;
        struct err be = {0};
        if (block_open(path, &b, &be) < 0) {
            LOG_ERROR("tsdb", "block is damaged: skipping it, its data is not served",
                      "dir=%s err=\"%s\"", path, be.msg);
            atomic_fetch_add(&db->corrupt_blocks, 1);
            continue;
        }
        if (db_blocks_add(db, b) < 0)
            r = err_set(e, -ENOMEM, "out of memory opening blocks");
    }
    closedir(d);
    return r;
}

static int lock_dir(tsdb *db, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", db->dir);
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0)
        return err_set(e, -errno, "creating %s: %s", path, strerror(errno));
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return err_set(e, ERR_UNAVAILABLE,
                       "data directory %s is in use by another process (lock file %s)", db->dir,
                       path);
    return 0;
}

static int open_disk(tsdb *db, struct err *e)
{
    /* Created up front so a bad path fails at start-up, not at the first block write. */
    if (mkdir(db->dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "create data directory %s: %s", db->dir, strerror(errno));
    if (lock_dir(db, e) < 0 || open_blocks(db, e) < 0)
        return -1;
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < db->n_blocks; i++) {
        int64_t t = block_meta(db->blocks[i]->b)->maxt;
        newest = t > newest ? t : newest;
    }
    if (newest != INT64_MIN)
        atomic_store(&db->head->min_valid, newest + 1);
    if (db_replay_wal(db, e) < 0)
        return -1;
    return db_storage_start(db) < 0 ? err_set(e, -ENOMEM, "starting the storage thread") : 0;
}

int tsdb_open(const struct tsdb_opts *o, tsdb **ret, struct err *e)
{
    tsdb *db = calloc(1, sizeof *db);
    if (!db)
        return err_set(e, -ENOMEM, "out of memory");
    db->opts = *o;
    db->lock_fd = -1;
    pthread_mutex_init(&db->wal_order, NULL);
    pthread_mutex_init(&db->blocks_lock, NULL);
    pthread_mutex_init(&db->rewrite_lock, NULL);
    pthread_mutex_init(&db->storage_lock, NULL);
    pthread_cond_init(&db->storage_cond, NULL);
    if (head_new(o->chunk_samples, &db->head) < 0) {
        tsdb_close(db);
        return err_set(e, -ENOMEM, "out of memory opening tsdb");
    }
    head_set_chunk_window(db->head, db_block_range(db)); /* merged chunks never span a cut */
    if (o->dir) {
        db->dir = strdup(o->dir);
        if (!db->dir) {
            tsdb_close(db);
            return err_set(e, -ENOMEM, "out of memory opening tsdb");
        }
        db->opts.dir = db->dir;
        if (open_disk(db, e) < 0) {
            tsdb_close(db);
            return e->code < 0 ? e->code : ERR_INTERNAL;
        }
    }
    *ret = db;
    return 0;
}

void tsdb_close(tsdb *db)
{
    if (!db)
        return;
    db_storage_stop(db);
    wal_close(db->wal);
    for (size_t i = 0; i < db->n_blocks; i++)
        block_unref(db->blocks[i]);
    free(db->blocks);
    head_free(db->head);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    pthread_mutex_destroy(&db->wal_order);
    pthread_mutex_destroy(&db->blocks_lock);
    pthread_mutex_destroy(&db->rewrite_lock);
    pthread_mutex_destroy(&db->storage_lock);
    pthread_cond_destroy(&db->storage_cond);
    free(db->dir);
    free(db);
}

void tsdb_stats_get(tsdb *db, struct tsdb_stats *ret)
{
    head_stats(db->head, ret);
    ret->blocks_mint_ms = INT64_MAX;
    pthread_mutex_lock(&db->blocks_lock);
    ret->blocks = db->n_blocks;
    for (size_t i = 0; i < db->n_blocks; i++) {
        ret->block_bytes += block_size_bytes(db->blocks[i]->b);
        int64_t t = block_meta(db->blocks[i]->b)->mint;
        ret->blocks_mint_ms = t < ret->blocks_mint_ms ? t : ret->blocks_mint_ms;
    }
    pthread_mutex_unlock(&db->blocks_lock);
    if (db->wal) {
        struct wal_stats ws;
        wal_stats_get(db->wal, &ws);
        ret->wal_bytes = ws.bytes;
        ret->wal_write_failures = ws.write_failures;
    }
    struct wal_fsync_summary fs = {.q = {0.5, 0.9, 0.99},
                                   .value = {(double) NAN, (double) NAN, (double) NAN}};
    if (db->wal)
        wal_fsync_summary_get(db->wal, &fs);
    ret->wal_fsyncs = fs.count;
    ret->wal_fsync_seconds_sum = fs.seconds_sum;
    for (size_t i = 0; i < 3; i++) {
        ret->wal_fsync_quantile[i] = fs.q[i];
        ret->wal_fsync_seconds[i] = fs.value[i];
    }
    ret->wal_corruptions = atomic_load(&db->wal_corruptions);
    ret->head_cuts = atomic_load(&db->head_cuts);
    ret->compactions = atomic_load(&db->compactions);
    ret->compaction_failures = atomic_load(&db->compaction_failures);
    ret->retention_deletions = atomic_load(&db->retention_deletions);
    ret->corrupt_chunks = iter_corrupt_chunks();
    ret->corrupt_blocks = atomic_load(&db->corrupt_blocks);
}

void tsdb_head_status_get(tsdb *db, struct tsdb_head_status *st)
{
    head_status(db->head, st);
}
