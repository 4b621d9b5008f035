/* tsdb/querier_labels.c — label sets of matching series over the querier's window without their
 * chunks: the head is read through its postings and each series' time bounds (no copy of the
 * open chunk, as a sample query needs), blocks through their index. Serves /api/v1/series and
 * the label-name and label-value listings with match[]. */
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/querier.h"

/* Whether s holds a sample in [mint, maxt]: its chunks' bounds, read under its lock. */
static int head_series_overlaps(struct head *h, struct mem_series *s, int64_t mint, int64_t maxt)
{
    int hit = 0;
    pthread_mutex_t *m = head_series_lock(h, s);
    pthread_mutex_lock(m);
    for (const struct head_chunk *c = s->closed; c && !hit; c = c->older)
        hit = head_chunk_maxt(c) >= mint && c->mint <= maxt;
    if (!hit && s->open.n)
        hit = mem_series_maxt(s) >= mint && mem_series_open_mint(s) <= maxt;
    pthread_mutex_unlock(m);
    return hit;
}

static int labels_ptr_cmp(const void *a, const void *b)
{
    return labels_cmp((const struct labels *) a, (const struct labels *) b);
}

int tsdb_querier_series_labels(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                               size_t n_ms, struct labels **ret, size_t *ret_n, struct err *e)
{
    struct head *h = tsdb_db_head(q->db);
    struct postings p;
    if (head_postings(h, a, ms, n_ms, &p, e) < 0)
        return -1;
    struct block_series **bs = arena_calloc(a, q->n_blocks + 1, sizeof *bs);
    size_t *bn = arena_calloc(a, q->n_blocks + 1, sizeof *bn);
    if (!bs || !bn)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t total = p.n;
    for (size_t i = 0; i < q->n_blocks; i++) {
        if (block_select(q->blocks[i]->b, a, ms, n_ms, q->mint, q->maxt, &bs[i], &bn[i], e) < 0)
            return -1;
        total += bn[i];
    }
    struct labels *out = arena_alloc(a, (total ? total : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t k = 0;
    for (size_t i = 0; i < p.n; i++) {
        struct mem_series *s = head_series_by_ref(h, p.refs[i]);
        if (s && head_series_overlaps(h, s, q->mint, q->maxt) &&
            head_series_labels_arena(h, a, s, &out[k++]) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    }
    for (size_t i = 0; i < q->n_blocks; i++)
        for (size_t j = 0; j < bn[i]; j++)
            out[k++] = bs[i][j].labels;
    qsort(out, k, sizeof *out, labels_ptr_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || !labels_equal(&out[u - 1], &out[i]))
            out[u++] = out[i];
    *ret = out;
    *ret_n = u;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int querier_collect_labels(struct arena *a, const struct labels *ls, size_t n, const char *name,
                           const char ***ret, size_t *ret_n, struct err *e)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += name ? 1 : ls[i].n;
    const char **out = arena_alloc(a, (cap ? cap : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing labels");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (name) {
            const char *v = labels_get(&ls[i], name);
            if (v && *v)
                out[k++] = v;
        } else {
            for (uint32_t j = 0; j < ls[i].n; j++)
                out[k++] = ls[i].v[j].name;
        }
    }
    qsort(out, k, sizeof *out, str_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(out[u - 1], out[i]) != 0)
            out[u++] = out[i];
    *ret = out;
    *ret_n = u;
    return 0;
}
