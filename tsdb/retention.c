/* tsdb/retention.c — deleting whole blocks, oldest first, on the storage thread.
 *
 * Time: a block goes once all its samples are older than the newest sample minus the retention
 * time (the head's newest sample, or the newest block's when the head is empty). Size: while
 * blocks plus WAL exceed the limit, the oldest block goes; the head's memory is not counted.
 * Queriers still reading a deleted block keep it until they close (db.c). */
#include <stdlib.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/wal.h"

static void remove_block(tsdb *db, struct db_block *d, const char *why)
{
    LOG_INFO("tsdb", "retention deletes a block", "block=%s mint=%lld maxt=%lld reason=%s",
             block_meta(d->b)->ulid, (long long) block_meta(d->b)->mint,
             (long long) block_meta(d->b)->maxt, why);
    db_blocks_remove(db, &d, 1);
    atomic_fetch_add(&db->retention_deletions, 1);
}

void db_apply_retention(tsdb *db)
{
    if (!db->dir || (db->opts.retention_ms <= 0 && db->opts.retention_bytes == 0))
        return;
    struct db_block **v;
    size_t n;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return;
    int64_t newest = atomic_load(&db->head->maxt);
    for (size_t i = 0; i < n; i++)
        newest = block_meta(v[i]->b)->maxt > newest ? block_meta(v[i]->b)->maxt : newest;
    size_t first = 0;
    if (db->opts.retention_ms > 0 && newest != INT64_MIN)
        while (first < n && block_meta(v[first]->b)->maxt < newest - db->opts.retention_ms)
            remove_block(db, v[first++], "time");
    if (db->opts.retention_bytes) {
        struct wal_stats ws = {0};
        if (db->wal)
            wal_stats_get(db->wal, &ws);
        uint64_t total = ws.bytes;
        for (size_t i = first; i < n; i++)
            total += block_size_bytes(v[i]->b);
        while (first < n && total > db->opts.retention_bytes) {
            total -= block_size_bytes(v[first]->b);
            remove_block(db, v[first++], "size");
        }
    }
    db_blocks_release(v, n);
}
