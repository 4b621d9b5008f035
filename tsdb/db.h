/* tsdb/db.h — module-internal view of the database: its parts, for the other tsdb files.
 *
 * Blocks are shared by refcount: the list (blocks_lock) holds one reference, each querier one
 * per block it reads. A block leaving the list (compaction, retention) is closed and its
 * directory removed by whoever drops the last reference. */
#ifndef EMBER_TSDB_DB_H
#define EMBER_TSDB_DB_H

#include <pthread.h>
#include <stdatomic.h>

#include "tsdb/tsdb.h"

struct head;
struct wal;
struct block;

struct db_block {
    struct block *b;
    _Atomic uint32_t refs;
    char *deleted_path; /* set when removed from the list: the directory, renamed *.deleted,
                         * goes when the last reference does */
};

struct tsdb {
    struct tsdb_opts opts;
    char *dir;
    int lock_fd;
    struct head *head;
    struct wal *wal; /* NULL without a data directory */
    /* Orders WAL writes so a series record always precedes samples using its ref. */
    pthread_mutex_t wal_order;

    /* Held by whatever replaces blocks or moves data between head and blocks (cut, compaction,
     * retention, delete_series), so no two of them work on the same data at once. */
    pthread_mutex_t rewrite_lock;

    pthread_mutex_t blocks_lock;
    struct db_block **blocks; /* sorted by mint */
    size_t n_blocks, cap_blocks;

    pthread_t storage_thread;
    int storage_running;
    pthread_mutex_t storage_lock;
    pthread_cond_t storage_cond;
    int storage_stop; /* guarded by storage_lock */

    _Atomic uint64_t wal_corruptions, head_cuts, compactions, compaction_failures,
        retention_deletions, corrupt_blocks;
};

struct head *tsdb_db_head(tsdb *db);

/* Block list (db.c). */
int db_blocks_add(tsdb *db, struct block *b); /* takes ownership; ENOMEM closes b */
/* A snapshot of the blocks overlapping [mint, maxt], each with a reference taken (the array is
 * NULL while the database has no block at all); release with db_blocks_release(). */
int db_blocks_acquire(tsdb *db, int64_t mint, int64_t maxt, struct db_block ***ret,
                      size_t *ret_n);
void db_blocks_release(struct db_block **v, size_t n);
/* Takes blocks out of the list: their directories go once no querier reads them. */
void db_blocks_remove(tsdb *db, struct db_block **v, size_t n);

/* Background work (storage.c, cut.c, compact.c, retention.c), on the storage thread. */
int db_storage_start(tsdb *db);
void db_storage_stop(tsdb *db);
int64_t db_block_range(const tsdb *db);
struct block_chunk;
/* Encodes samples as block chunks (storage.c): stored bytes appended to out, descriptors
 * pointing into out in *ret (heap array of capacity *ret_cap, grown as needed). */
int db_encode_chunks(struct buf *out, const int64_t *t, const double *v, size_t n, int level,
                     struct block_chunk **ret, size_t *ret_cap, size_t *ret_n, struct err *e);
struct block_meta;
/* Writes the head's samples in [mint, maxt] as a level-1 block under parent; the caller holds
 * the head's gc lock shared. */
int db_write_head_block(tsdb *db, const char *parent, int64_t mint, int64_t maxt,
                        struct block_meta *ret_meta, struct err *e);
/* Cuts [mint, maxt] (inclusive) of the head into a block and truncates head and WAL; takes
 * rewrite_lock, so it may run beside the storage thread's own cuts and compactions. */
int db_cut_head(tsdb *db, int64_t mint, int64_t maxt, struct err *e);
int db_compact(tsdb *db, struct err *e);   /* one compaction if one is due; 1 if it did one */
void db_apply_retention(tsdb *db);
/* Replaces block d by a copy without the samples of series matching ms in [mint, maxt]
 * (compact.c); rewrite_lock held. */
int db_delete_from_block(tsdb *db, struct db_block *d, const struct matcher *ms, size_t n_ms,
                         int64_t mint, int64_t maxt, struct err *e);
/* Applies a WAL tombstone record to the head during replay (delete.c). */
void db_replay_tombstones(tsdb *db, const uint8_t *body, size_t n, struct arena *scratch);

uint64_t iter_corrupt_chunks(void); /* block chunks skipped by iterators (iter.c) */

/* WAL replay into the head (replay.c). */
int db_replay_wal(tsdb *db, struct err *e);

#endif
