/* tsdb/querier.c — read views over [mint, maxt]: the blocks overlapping the window and the
 * head, merged. A querier holds a reference on each block and the head's gc lock shared, so
 * everything it hands out stays valid until it closes; it should therefore be short-lived (the
 * PromQL engine copies samples out and closes it before evaluating). */
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/querier.h"

/* A querier holding the blocks overlapping the window, not yet the head's gc_lock. */
static tsdb_querier *querier_new(tsdb *db, int64_t mint_ms, int64_t maxt_ms)
{
    tsdb_querier *q = zalloc(sizeof *q);
    if (!q)
        return NULL;
    q->db = db;
    q->mint = mint_ms;
    q->maxt = maxt_ms;
    if (db_blocks_acquire(db, mint_ms, maxt_ms, &q->blocks, &q->n_blocks) < 0) {
        free(q);
        return NULL;
    }
    return q;
}

int tsdb_querier_open(tsdb *db, int64_t mint_ms, int64_t maxt_ms, tsdb_querier **ret,
                      struct err *e)
{
    tsdb_querier *q = querier_new(db, mint_ms, maxt_ms);
    if (!q)
        return err_set(e, -12, "out of memory");
    pthread_rwlock_rdlock(&db->head->gc_lock);
    *ret = q;
    return 0;
}

/* gc_lock is held exclusively by head truncation and deletion for as long as they walk the
 * head: try it instead of waiting. Block reads may fault pages in from disk: none allowed. */
int tsdb_querier_try_open_head(tsdb *db, int64_t mint_ms, int64_t maxt_ms, tsdb_querier **ret,
                               struct err *e)
{
    tsdb_querier *q = querier_new(db, mint_ms, maxt_ms);
    if (!q)
        return err_set(e, -12, "out of memory");
    if (q->n_blocks > 0 || pthread_rwlock_tryrdlock(&db->head->gc_lock) != 0) {
        db_blocks_release(q->blocks, q->n_blocks);
        free(q);
        return 0;
    }
    *ret = q;
    return 1;
}

void tsdb_querier_close(tsdb_querier *q)
{
    if (!q)
        return;
    pthread_rwlock_unlock(&q->db->head->gc_lock);
    db_blocks_release(q->blocks, q->n_blocks);
    free(q);
}

/* One source's selection, as tsdb_series sorted by labels. */
struct source {
    struct tsdb_series *s;
    size_t n, i;
};

static int block_source(tsdb_querier *q, struct block *b, struct arena *a,
                        const struct matcher *ms, size_t n_ms, struct source *ret, struct err *e)
{
    struct block_series *bs;
    size_t n;
    if (block_select(b, a, ms, n_ms, q->mint, q->maxt, &bs, &n, e) < 0)
        return -1;
    struct tsdb_series *out = arena_alloc(a, (n ? n : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    for (size_t i = 0; i < n; i++) {
        struct tsdb_chunk_ref *c = arena_alloc(a, (bs[i].n_chunks ? bs[i].n_chunks : 1) * sizeof *c);
        if (!c)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
        for (uint32_t j = 0; j < bs[i].n_chunks; j++) {
            const struct block_chunk *bc = &bs[i].chunks[j];
            c[j] = (struct tsdb_chunk_ref){bc->data, bc->len,         bc->n,      bc->mint,
                                           bc->maxt, CHUNK_ENC_BLOCK, bc->ts_len, bc->ts,
                                           bc->ref,  bc->ref_len};
        }
        out[i] = (struct tsdb_series){bs[i].labels, c, bs[i].n_chunks, q->mint, q->maxt};
    }
    *ret = (struct source){out, n, 0};
    return 0;
}

/* The source whose current series sorts first, and whether later sources share its labels. */
static size_t first_source(struct source *src, size_t n_src)
{
    size_t best = n_src;
    for (size_t i = 0; i < n_src; i++) {
        if (src[i].i == src[i].n)
            continue;
        if (best == n_src ||
            labels_cmp(&src[i].s[src[i].i].labels, &src[best].s[src[best].i].labels) < 0)
            best = i;
    }
    return best;
}

/* k-way merge by labels; a series in several sources gets their chunks in source order (blocks
 * by time, then the head), which the iterator walks without repeating a timestamp. */
static int merge_sources(struct arena *a, struct source *src, size_t n_src,
                         struct tsdb_series **ret, size_t *ret_n, struct err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n_src; i++)
        total += src[i].n;
    struct tsdb_series *out = arena_alloc(a, (total ? total : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t k = 0, b;
    while ((b = first_source(src, n_src)) < n_src) {
        struct tsdb_series cur = src[b].s[src[b].i++];
        uint32_t n_chunks = cur.n_chunks;
        size_t first = b;
        for (size_t i = first + 1; i < n_src; i++)
            if (src[i].i < src[i].n && labels_equal(&src[i].s[src[i].i].labels, &cur.labels))
                n_chunks += src[i].s[src[i].i].n_chunks;
        if (n_chunks != cur.n_chunks) {
            struct tsdb_chunk_ref *c = arena_alloc(a, n_chunks * sizeof *c);
            if (!c)
                return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
            memcpy(c, cur.chunks, cur.n_chunks * sizeof *c);
            uint32_t m = cur.n_chunks;
            for (size_t i = first + 1; i < n_src; i++) {
                if (src[i].i == src[i].n || !labels_equal(&src[i].s[src[i].i].labels, &cur.labels))
                    continue;
                const struct tsdb_series *o = &src[i].s[src[i].i++];
                memcpy(c + m, o->chunks, o->n_chunks * sizeof *c);
                m += o->n_chunks;
            }
            cur.chunks = c;
            cur.n_chunks = m;
            cur.has_last = 0; /* a block's samples may be newer than the head's last one */
        }
        out[k++] = cur;
    }
    *ret = out;
    *ret_n = k;
    return 0;
}

int tsdb_querier_select(tsdb_querier *q, struct arena *a, const struct matcher *ms, size_t n_ms,
                        struct tsdb_series **ret_series, size_t *ret_n, struct err *e)
{
    struct head *h = tsdb_db_head(q->db);
    if (q->n_blocks == 0)
        return head_select(h, a, ms, n_ms, q->mint, q->maxt, ret_series, ret_n, e);
    struct source *src = arena_calloc(a, q->n_blocks + 1, sizeof *src);
    if (!src)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    for (size_t i = 0; i < q->n_blocks; i++)
        if (block_source(q, q->blocks[i]->b, a, ms, n_ms, &src[i], e) < 0)
            return -1;
    struct source *hs = &src[q->n_blocks];
    if (head_select(h, a, ms, n_ms, q->mint, q->maxt, &hs->s, &hs->n, e) < 0)
        return -1;
    return merge_sources(a, src, q->n_blocks + 1, ret_series, ret_n, e);
}

/* Sorted unique union of the head's list and each block's. */
static int union_lists(tsdb_querier *q, struct arena *a, const char *name, const char ***ret,
                       size_t *ret_n, struct err *e)
{
    struct head *h = tsdb_db_head(q->db);
    const char **all, **one;
    size_t n_all, n_one;
    if ((name ? head_label_values(h, a, name, &all, &n_all, e)
              : head_label_names(h, a, &all, &n_all, e)) < 0)
        return -1;
    for (size_t i = 0; i < q->n_blocks; i++) {
        struct block *b = q->blocks[i]->b;
        if ((name ? block_label_values(b, a, name, &one, &n_one, e)
                  : block_label_names(b, a, &one, &n_one, e)) < 0)
            return -1;
        const char **m = arena_alloc(a, (n_all + n_one + 1) * sizeof *m);
        if (!m)
            return err_set(e, ERR_LIMIT, "query memory limit reached listing labels");
        size_t x = 0, y = 0, k = 0;
        while (x < n_all || y < n_one) {
            int c = x == n_all ? 1 : y == n_one ? -1 : strcmp(all[x], one[y]);
            m[k++] = c <= 0 ? all[x] : one[y];
            x += c <= 0;
            y += c >= 0;
        }
        all = m;
        n_all = k;
    }
    *ret = all;
    *ret_n = n_all;
    return 0;
}

int tsdb_querier_label_names(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                             size_t n_ms, const char ***ret, size_t *ret_n, struct err *e)
{
    if (n_ms == 0)
        return union_lists(q, a, NULL, ret, ret_n, e);
    struct labels *ls;
    size_t n;
    int r = tsdb_querier_series_labels(q, a, ms, n_ms, &ls, &n, e);
    return r < 0 ? r : querier_collect_labels(a, ls, n, NULL, ret, ret_n, e);
}

int tsdb_querier_label_values(tsdb_querier *q, struct arena *a, const char *name,
                              const struct matcher *ms, size_t n_ms, const char ***ret,
                              size_t *ret_n, struct err *e)
{
    if (n_ms == 0)
        return union_lists(q, a, name, ret, ret_n, e);
    struct labels *ls;
    size_t n;
    int r = tsdb_querier_series_labels(q, a, ms, n_ms, &ls, &n, e);
    return r < 0 ? r : querier_collect_labels(a, ls, n, name, ret, ret_n, e);
}
