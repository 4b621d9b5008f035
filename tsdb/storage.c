/* tsdb/storage.c — the storage thread: everything that waits on the disk runs here, never on a
 * caller's thread. Every tick it fsyncs the WAL, cuts the head's oldest block range into a block
 * once the head spans 1.5 ranges (Prometheus' rule: the newest half range stays in memory for
 * late samples and queries), runs due compactions and applies retention. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/split_enc.h"
#include "tsdb/wal.h"

#define DEFAULT_BLOCK_RANGE_MS (2 * 3600 * 1000LL)
#define DEFAULT_TICK_MS 1000
/* Samples per block chunk: a 2 h range at 15 s is 480; bounded so an instant query never
 * decodes more than this for one series. */
#define BLOCK_CHUNK_MAX 1024
#define CUT_ZSTD_LEVEL 3

int64_t db_block_range(const tsdb *db)
{
    return db->opts.block_range_ms > 0 ? db->opts.block_range_ms : DEFAULT_BLOCK_RANGE_MS;
}

/* Encodes t/v[0..n) as block chunks of at most BLOCK_CHUNK_MAX samples: their stored bytes are
 * appended to out, their descriptors (pointing into out) to *ret (heap, grown as needed). */
int db_encode_chunks(struct buf *out, const int64_t *t, const double *v, size_t n, int level,
                     struct block_chunk **ret, size_t *ret_cap, size_t *ret_n, struct err *e)
{
    size_t k = 0, base = out->len;
    for (size_t i = 0; i < n; i += BLOCK_CHUNK_MAX) {
        uint32_t m = (uint32_t) (n - i < BLOCK_CHUNK_MAX ? n - i : BLOCK_CHUNK_MAX);
        if (k == *ret_cap) {
            size_t nc = *ret_cap ? *ret_cap * 2 : 8;
            struct block_chunk *p = realloc(*ret, nc * sizeof *p);
            if (!p)
                return err_set(e, -ENOMEM, "out of memory encoding chunks");
            *ret = p;
            *ret_cap = nc;
        }
        size_t off = out->len;
        if (block_chunk_encode(out, t + i, v + i, m, level, e) < 0)
            return -1;
        (*ret)[k++] = (struct block_chunk){t[i], t[i + m - 1], m, (uint32_t) (out->len - off),
                                           NULL};
    }
    const uint8_t *p = out->p + base; /* out may have moved while it grew: point at it now */
    for (size_t i = 0; i < k; i++) {
        (*ret)[i].data = p;
        p += (*ret)[i].len;
    }
    *ret_n = k;
    return 0;
}

/* Gathers one head series' samples in its window into growable arrays. */
struct samples {
    int64_t *t;
    double *v;
    size_t n, cap;
};

static int samples_push(struct samples *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        int64_t *nt = realloc(s->t, nc * sizeof *nt);
        if (nt)
            s->t = nt;
        double *nv = nt ? realloc(s->v, nc * sizeof *nv) : NULL;
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
    return 0;
}

int db_write_head_block(tsdb *db, const char *parent, int64_t mint, int64_t maxt,
                        struct block_meta *ret_meta, struct err *e)
{
    struct arena *a = arena_new(0);
    if (!a)
        return err_set(e, -ENOMEM, "out of memory cutting the head");
    struct tsdb_series *ss;
    size_t n;
    struct block_writer *w = NULL;
    struct samples sm = {0};
    struct split_enc *enc = NULL;
    struct block_chunk *chunks;
    size_t n_chunks;
    int r = head_select(db->head, a, NULL, 0, mint, maxt, &ss, &n, e);
    if (r == 0 && split_enc_new(db_block_range(db), BLOCK_CHUNK_MAX, CUT_ZSTD_LEVEL, &enc) < 0)
        r = err_set(e, -ENOMEM, "out of memory cutting the head");
    if (r == 0)
        r = block_writer_open(parent, mint, maxt, 1, &w, e);
    for (size_t i = 0; i < n && r == 0; i++) {
        struct tsdb_iter it;
        tsdb_iter_init(&it, &ss[i]);
        sm.n = 0;
        while ((r = tsdb_iter_next(&it)) == 1)
            if (samples_push(&sm, it.t, it.v) < 0) {
                r = err_set(e, -ENOMEM, "out of memory cutting the head");
                break;
            }
        tsdb_iter_close(&it);
        if (r < 0)
            break;
        if (sm.n == 0)
            continue;
        /* split chunks: the series of one target share their timestamp records */
        r = split_enc_series(enc, &ss[i].labels, sm.t, sm.v, sm.n, &chunks, &n_chunks, e);
        if (r == 0)
            r = block_writer_add_series(w, &ss[i].labels, chunks, n_chunks, e);
    }
    if (r == 0)
        r = block_writer_finish(w, ret_meta, e);
    else
        block_writer_abort(w);
    free(sm.t);
    free(sm.v);
    split_enc_free(enc);
    arena_free(a);
    return r;
}

/* The series records of every head series, for the WAL checkpoint. */
static int checkpoint_frames(struct head *h, struct buf *out)
{
    pthread_rwlock_rdlock(&h->gc_lock);
    pthread_rwlock_rdlock(&h->index_lock);
    size_t n = h->all_refs.n;
    const uint32_t *all = reflist_refs(&h->all_refs);
    struct mem_series **v = malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        struct mem_series *s = head_series_by_ref(h, all[i]);
        if (s)
            v[k++] = s;
    }
    pthread_rwlock_unlock(&h->index_lock);
    int r = v ? head_log_series(h, v, k, out) : -ENOMEM;
    pthread_rwlock_unlock(&h->gc_lock);
    free(v);
    return r;
}

/* The cut itself; the caller holds rewrite_lock, so two cuts never build the same WAL
 * checkpoint at once. */
static int cut_head(tsdb *db, int64_t mint, int64_t maxt, struct err *e)
{
    /* Another cut got there first (or nothing was ever appended): no empty block. */
    if (atomic_load(&db->head->mint) > maxt)
        return 0;
    int64_t t0 = time_mono_ns();
    struct block_meta meta;
    pthread_rwlock_rdlock(&db->head->gc_lock);
    int r = db_write_head_block(db, db->dir, mint, maxt, &meta, e);
    pthread_rwlock_unlock(&db->head->gc_lock);
    if (r < 0)
        return r;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", db->dir, meta.ulid);
    struct block *b;
    if ((r = block_open(path, &b, e)) < 0 || (r = db_blocks_add(db, b)) < 0)
        return r < 0 ? r : err_set(e, r, "adding block");
    /* The block serves [mint, maxt] from now on; the head lets go of it. */
    head_truncate(db->head, maxt + 1);
    struct buf cp = BUF_INIT;
    r = checkpoint_frames(db->head, &cp);
    if (r == 0)
        r = wal_truncate(db->wal, maxt + 1, cp.p, cp.len, e);
    else
        err_set(e, r, "building the WAL checkpoint");
    buf_free(&cp);
    atomic_fetch_add(&db->head_cuts, 1);
    LOG_INFO("tsdb", "head cut into a block",
             "block=%s mint=%lld maxt=%lld series=%llu samples=%llu duration_ms=%lld", meta.ulid,
             (long long) mint, (long long) maxt, (unsigned long long) meta.n_series,
             (unsigned long long) meta.n_samples, (long long) ((time_mono_ns() - t0) / 1000000));
    return r;
}

int db_cut_head(tsdb *db, int64_t mint, int64_t maxt, struct err *e)
{
    pthread_mutex_lock(&db->rewrite_lock);
    int r = cut_head(db, mint, maxt, e);
    pthread_mutex_unlock(&db->rewrite_lock);
    return r;
}

/* Cuts while the head spans more than 1.5 block ranges; rewrite_lock held. */
static void maybe_cut(tsdb *db)
{
    int64_t range = db_block_range(db);
    for (int i = 0; i < 1000; i++) {
        int64_t mint = atomic_load(&db->head->mint), maxt = atomic_load(&db->head->maxt);
        if (mint == INT64_MAX || maxt - mint <= range / 2 * 3)
            return;
        int64_t lo = mint - ((mint % range) + range) % range; /* floor to a range boundary */
        struct err e = {0};
        if (cut_head(db, lo, lo + range - 1, &e) < 0) {
            LOG_ERROR("tsdb", "cutting the head into a block failed", "err=\"%s\"", e.msg);
            return; /* the WAL still holds everything: retried next tick */
        }
    }
}

static int should_stop(tsdb *db, int64_t wait_ms)
{
    pthread_mutex_lock(&db->storage_lock);
    if (!db->storage_stop && wait_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&db->storage_cond, &db->storage_lock, &ts);
    }
    int stop = db->storage_stop;
    pthread_mutex_unlock(&db->storage_lock);
    return stop;
}

static void *storage_main(void *arg)
{
    tsdb *db = arg;
    int64_t tick = db->opts.tick_ms > 0 ? db->opts.tick_ms : DEFAULT_TICK_MS;
    while (!should_stop(db, tick)) {
        struct err e = {0};
        if (wal_sync(db->wal, &e) < 0)
            LOG_RATELIMITED(LOG_LEVEL_ERROR, "tsdb", "WAL fsync failed", "err=\"%s\"", e.msg);
        uint64_t work = atomic_load(&db->head_cuts) + atomic_load(&db->compactions);
        pthread_mutex_lock(&db->rewrite_lock);
        maybe_cut(db);
        for (int i = 0; i < 16 && !should_stop(db, 0); i++) {
            int r = db_compact(db, &e);
            if (r < 0) {
                atomic_fetch_add(&db->compaction_failures, 1);
                LOG_ERROR("tsdb", "compaction failed", "err=\"%s\"", e.msg);
            }
            if (r <= 0)
                break;
        }
        db_apply_retention(db);
        pthread_mutex_unlock(&db->rewrite_lock);
        /* Cuts and compactions free big transient buffers; hand them back to the system so the
         * resident size reflects what the server holds, not what it once needed. */
        if (work != atomic_load(&db->head_cuts) + atomic_load(&db->compactions))
            malloc_trim(0);
    }
    return NULL;
}

int db_storage_start(tsdb *db)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&db->storage_cond);
    pthread_cond_init(&db->storage_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&db->storage_thread, NULL, storage_main, db) != 0)
        return -1;
    db->storage_running = 1;
    return 0;
}

void db_storage_stop(tsdb *db)
{
    if (!db->storage_running)
        return;
    pthread_mutex_lock(&db->storage_lock);
    db->storage_stop = 1;
    pthread_cond_signal(&db->storage_cond);
    pthread_mutex_unlock(&db->storage_lock);
    pthread_join(db->storage_thread, NULL);
    db->storage_running = 0;
}
