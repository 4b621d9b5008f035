/* tsdb/querier.c — read views over [mint, maxt] and the sample iterator. Today the head is the
 * only source; blocks will be merged here without changing the API. */
#include <stdlib.h>
#include <string.h>

#include "head.h"
#include "tsdb/db.h"

struct tsdb_querier {
    tsdb *db;
    int64_t mint, maxt;
};

int tsdb_querier_open(tsdb *db, int64_t mint_ms, int64_t maxt_ms, tsdb_querier **ret,
                      struct err *e)
{
    tsdb_querier *q = calloc(1, sizeof *q);
    if (!q)
        return err_set(e, -12, "out of memory");
    q->db = db;
    q->mint = mint_ms;
    q->maxt = maxt_ms;
    *ret = q;
    return 0;
}

void tsdb_querier_close(tsdb_querier *q)
{
    free(q);
}

int tsdb_querier_select(tsdb_querier *q, struct arena *a, const struct matcher *ms, size_t n_ms,
                        struct tsdb_series **ret_series, size_t *ret_n, struct err *e)
{
    return head_select(tsdb_db_head(q->db), a, ms, n_ms, q->mint, q->maxt, ret_series, ret_n, e);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Sorted unique strings of one label (name != NULL) or all label names of the series. */
static int collect_from_series(struct arena *a, const struct tsdb_series *s, size_t n,
                               const char *name, const char ***ret, size_t *ret_n, struct err *e)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += name ? 1 : s[i].labels.n;
    const char **out = arena_alloc(a, (cap ? cap : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing labels");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (name) {
            const char *v = labels_get(&s[i].labels, name);
            if (v)
                out[k++] = v;
        } else {
            for (uint32_t j = 0; j < s[i].labels.n; j++)
                out[k++] = s[i].labels.v[j].name;
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

int tsdb_querier_label_names(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                             size_t n_ms, const char ***ret, size_t *ret_n, struct err *e)
{
    if (n_ms == 0)
        return head_label_names(tsdb_db_head(q->db), a, ret, ret_n, e);
    struct tsdb_series *s;
    size_t n;
    int r = tsdb_querier_select(q, a, ms, n_ms, &s, &n, e);
    return r < 0 ? r : collect_from_series(a, s, n, NULL, ret, ret_n, e);
}

int tsdb_querier_label_values(tsdb_querier *q, struct arena *a, const char *name,
                              const struct matcher *ms, size_t n_ms, const char ***ret,
                              size_t *ret_n, struct err *e)
{
    if (n_ms == 0)
        return head_label_values(tsdb_db_head(q->db), a, name, ret, ret_n, e);
    struct tsdb_series *s;
    size_t n;
    int r = tsdb_querier_select(q, a, ms, n_ms, &s, &n, e);
    return r < 0 ? r : collect_from_series(a, s, n, name, ret, ret_n, e);
}

void tsdb_iter_init(struct tsdb_iter *it, const struct tsdb_series *s)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    if (s->n_chunks)
        xor_dec_init(&it->dec, s->chunks[0].data, s->chunks[0].len, s->chunks[0].n);
}

int tsdb_iter_next(struct tsdb_iter *it)
{
    const struct tsdb_series *s = it->s;
    while (it->chunk < s->n_chunks) {
        int64_t t;
        double v;
        int r = xor_dec_next(&it->dec, &t, &v);
        if (r < 0)
            return r;
        if (r == 0) {
            if (++it->chunk < s->n_chunks) {
                const struct tsdb_chunk_ref *c = &s->chunks[it->chunk];
                xor_dec_init(&it->dec, c->data, c->len, c->n);
            }
            continue;
        }
        if (t < s->mint_ms)
            continue;
        if (t > s->maxt_ms) {
            it->chunk = s->n_chunks;
            return 0;
        }
        it->t = t;
        it->v = v;
        it->started_at_sample = 1;
        return 1;
    }
    return 0;
}

int tsdb_iter_seek(struct tsdb_iter *it, int64_t t_ms)
{
    const struct tsdb_series *s = it->s;
    if (it->started_at_sample && it->t >= t_ms)
        return 1;
    /* Skip whole chunks that end before t_ms without decoding them. */
    while (it->chunk + 1 < s->n_chunks && s->chunks[it->chunk].maxt < t_ms) {
        const struct tsdb_chunk_ref *c = &s->chunks[++it->chunk];
        xor_dec_init(&it->dec, c->data, c->len, c->n);
    }
    int r;
    while ((r = tsdb_iter_next(it)) == 1)
        if (it->t >= t_ms)
            break;
    it->started_at_sample = r == 1;
    return r;
}
