/* tsdb/snapshot.c — consistent backups: <dir>/snapshots/<name>/ holds hard links to every block
 * (blocks are immutable, so a link is a copy that costs nothing) and, unless skipped, the head's
 * data written as one more block. The snapshot directory is a data directory of its own: point
 * `ember --storage.tsdb.path` at a copy of it to restore. Runs on the caller's worker thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/fsutil.h"
#include "tsdb/head.h"

static int link_blocks(tsdb *db, const char *to, struct err *e) /* to: < 4096 bytes */
{
    struct db_block **v;
    size_t n;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return err_set(e, -ENOMEM, "out of memory");
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        char dst[4096 + BLOCK_ULID_LEN + 2];
        snprintf(dst, sizeof dst, "%s/%s", to, block_meta(v[i]->b)->ulid);
        r = fs_link_tree(block_dir(v[i]->b), dst, e);
    }
    db_blocks_release(v, n);
    return r;
}

int tsdb_snapshot(tsdb *db, int with_head, char *ret_name, size_t name_cap, struct err *e)
{
    if (!db->dir)
        return err_set(e, ERR_UNAVAILABLE, "no data directory to snapshot");
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) < 0)
        rnd = (uint32_t) time_mono_ns();
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char name[64], dir[4096];
    strftime(name, sizeof name, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(name + strlen(name), sizeof name - strlen(name), "-%08x", rnd);
    snprintf(dir, sizeof dir, "%s/snapshots", db->dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "creating %s: %s", dir, strerror(errno));
    snprintf(dir, sizeof dir, "%s/snapshots/%s", db->dir, name);
    if (mkdir(dir, 0755) < 0)
        return err_set(e, -errno, "creating %s: %s", dir, strerror(errno));
    int r = link_blocks(db, dir, e);
    if (r == 0 && with_head) {
        int64_t mint = atomic_load(&db->head->mint), maxt = atomic_load(&db->head->maxt);
        if (mint != INT64_MAX && mint <= maxt) {
            struct block_meta meta;
            pthread_rwlock_rdlock(&db->head->gc_lock);
            r = db_write_head_block(db, dir, mint, maxt, &meta, e);
            pthread_rwlock_unlock(&db->head->gc_lock);
        }
    }
    if (r == 0)
        r = fs_sync_dir(dir, e);
    if (r < 0) {
        struct err e2 = {0};
        (void) fs_remove_tree(dir, &e2);
        return r;
    }
    snprintf(ret_name, name_cap, "%s", name);
    return 0;
}
