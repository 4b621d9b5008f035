/* tsdb/delete.c — delete_series: the samples of matching series in a time range go away now,
 * from the head and from every block that holds some (a block is rewritten without them).
 * Prometheus records tombstones and rewrites blocks only on clean_tombstones; ember does the
 * rewrite at once, so deleted data never lingers on disk and clean_tombstones has nothing left
 * to do. A WAL tombstone record, written first, makes a replay delete the same head samples. */
#include <stdlib.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/wal.h"

static int log_tombstones(tsdb *db, const struct postings *p, int64_t mint, int64_t maxt,
                          struct err *e)
{
    if (!db->wal || p->n == 0)
        return 0;
    struct wal_tombstone *t = malloc(p->n * sizeof *t);
    if (!t)
        return err_set(e, -12, "out of memory");
    for (size_t i = 0; i < p->n; i++)
        t[i] = (struct wal_tombstone){p->refs[i], mint, maxt};
    struct buf b = BUF_INIT;
    int r = wal_rec_tombstones(&b, t, p->n);
    free(t);
    if (r == 0) {
        pthread_mutex_lock(&db->wal_order);
        r = wal_write(db->wal, b.p, b.len, INT64_MIN, e);
        pthread_mutex_unlock(&db->wal_order);
    } else {
        err_set(e, r, "encoding WAL tombstones");
    }
    buf_free(&b);
    return r;
}

static int delete_from_head(tsdb *db, struct arena *a, const struct matcher *ms, size_t n_ms,
                            int64_t mint, int64_t maxt, struct err *e)
{
    struct head *h = db->head;
    struct postings p;
    if (head_postings(h, a, ms, n_ms, &p, e) < 0 || log_tombstones(db, &p, mint, maxt, e) < 0)
        return -1;
    int r = 0;
    pthread_rwlock_wrlock(&h->gc_lock);
    for (size_t i = 0; i < p.n && r >= 0; i++) {
        struct mem_series *s = head_series_by_ref(h, p.refs[i]);
        if (s)
            r = head_series_delete(h, s, mint, maxt);
    }
    pthread_rwlock_unlock(&h->gc_lock);
    return r < 0 ? err_set(e, r, "deleting head samples: %s", err_str(r)) : 0;
}

int tsdb_delete_series(tsdb *db, const struct matcher *ms, size_t n_ms, int64_t mint,
                       int64_t maxt, struct err *e)
{
    struct arena *a = arena_new(0);
    if (!a)
        return err_set(e, -12, "out of memory");
    pthread_mutex_lock(&db->rewrite_lock);
    int r = delete_from_head(db, a, ms, n_ms, mint, maxt, e);
    struct db_block **v = NULL;
    size_t n = 0;
    if (r == 0 && db_blocks_acquire(db, mint, maxt, &v, &n) < 0)
        r = err_set(e, -12, "out of memory");
    for (size_t i = 0; i < n && r == 0; i++) {
        struct block_series *bs;
        size_t k;
        arena_reset(a);
        r = block_select(v[i]->b, a, ms, n_ms, mint, maxt, &bs, &k, e);
        if (r == 0 && k > 0)
            r = db_delete_from_block(db, v[i], ms, n_ms, mint, maxt, e);
    }
    if (v)
        db_blocks_release(v, n);
    pthread_mutex_unlock(&db->rewrite_lock);
    arena_free(a);
    return r;
}

void db_replay_tombstones(tsdb *db, const uint8_t *body, size_t n, struct arena *scratch)
{
    struct wal_tombstone *t;
    size_t k;
    struct err e = {0};
    if (wal_dec_tombstones(body, n, scratch, &t, &k, &e) < 0)
        return;
    for (size_t i = 0; i < k; i++) {
        struct mem_series *s = head_series_by_ref(db->head, t[i].ref);
        if (s)
            (void) head_series_delete(db->head, s, t[i].mint, t[i].maxt);
    }
}
