/* tsdb/head_read.c — matchers → postings → series with chunk snapshots, for the querier.
 * Postings are computed under the index read lock and copied into the query's arena; series are
 * then resolved through the page table and each series' chunks snapshotted under its own lock:
 * closed chunks by reference (immutable), the open chunk by copying its bytes. */
#include "head.h"

#include <stdlib.h>
#include <string.h>

#include "tsdb/base/re.h"

/* The index entry for name; index lock held. */
static struct index_name *find_name(struct head *h, const char *name)
{
    return hmap_get(&h->names, hash_bytes(name, strlen(name)), head_name_eq, name);
}

/* Union of postings of name's values for which matches(value) == want. Lock held. */
static int values_union(struct head *h, struct arena *a, const struct index_name *n,
                        const struct matcher *m, int want, struct postings *ret)
{
    if (!n) {
        ret->refs = NULL;
        ret->n = 0;
        return 0;
    }
    if (want && (m->type == MATCH_EQ || (m->type == MATCH_RE && re_is_literal(m->re)))) {
        /* One value can match: look it up instead of comparing every value with it. */
        const struct index_value *v = head_find_value(h, m->name, m->value);
        ret->n = v ? v->refs.n : 0;
        ret->refs = v ? reflist_widen(&v->refs, a) : arena_alloc(a, sizeof *ret->refs);
        return ret->refs ? 0 : ERR_LIMIT;
    }
    struct postings *lists = arena_alloc(a, (n->n_values + 1) * sizeof *lists);
    if (!lists)
        return ERR_LIMIT;
    size_t k = 0;
    for (uint32_t i = 0; i < n->cap; i++) {
        struct index_value *v = index_name_at(n, i);
        if (!v || !!matcher_matches(m, v->value) != want)
            continue;
        lists[k] = (struct postings){reflist_widen(&v->refs, a), v->refs.n};
        if (!lists[k++].refs)
            return ERR_LIMIT;
    }
    return postings_union(a, lists, k, ret);
}

int head_postings(struct head *h, struct arena *a, const struct matcher *ms, size_t n_ms,
                  struct postings *ret, struct err *e)
{
    int r = 0, have = 0;
    struct postings cur = {NULL, 0}, p;
    pthread_rwlock_rdlock(&h->index_lock);
    /* Matchers that cannot match an absent label select; the others only exclude. */
    for (size_t i = 0; i < n_ms && r == 0; i++) {
        if (matcher_matches_empty(&ms[i]))
            continue;
        struct index_name *n = find_name(h, ms[i].name);
        r = values_union(h, a, n, &ms[i], 1, &p);
        if (r == 0 && have)
            r = postings_intersect(a, &cur, &p, &cur);
        else if (r == 0)
            cur = p;
        have = 1;
    }
    if (r == 0 && !have) {
        cur.refs = reflist_widen(&h->all_refs, a);
        cur.n = h->all_refs.n;
        if (!cur.refs)
            r = ERR_LIMIT;
    }
    /* Lists are widened copies in the arena (values_union), so none aliases index memory. */
    for (size_t i = 0; i < n_ms && r == 0; i++) {
        if (!matcher_matches_empty(&ms[i]))
            continue;
        struct index_name *n = find_name(h, ms[i].name);
        r = values_union(h, a, n, &ms[i], 0, &p);
        if (r == 0)
            r = postings_subtract(a, &cur, &p, &cur);
    }
    pthread_rwlock_unlock(&h->index_lock);
    if (r < 0)
        return err_set(e, r, "query memory limit reached while selecting series");
    *ret = cur;
    return 0;
}

/* Snapshot of s's chunks overlapping [mint, maxt] into out; returns 0 with out->n_chunks = 0
 * when none overlap. */
static int snapshot_series(struct head *h, struct arena *a, struct mem_series *s, int64_t mint,
                           int64_t maxt, struct tsdb_series *out)
{
    pthread_mutex_t *lock = head_series_lock(h, s);
    pthread_mutex_lock(lock);
    uint32_t n_closed = head_series_n_closed(s), cap = n_closed + 1, k = n_closed;
    struct tsdb_chunk_ref *refs = arena_alloc(a, cap * sizeof *refs);
    if (!refs) {
        pthread_mutex_unlock(lock);
        return ERR_LIMIT;
    }
    /* The list runs newest first: fill from the back, then close the gap. The bytes are
     * copied: once the lock is dropped, closing the open chunk may merge the newest closed one
     * into a new chunk and free it (head.c: cut_chunk()). */
    for (const struct head_chunk *c = s->closed; c; c = c->older) {
        if (head_chunk_maxt(c) < mint || c->mint > maxt)
            continue;
        uint8_t *copy = arena_alloc(a, c->len ? c->len : 1);
        if (!copy) {
            pthread_mutex_unlock(lock);
            return ERR_LIMIT;
        }
        memcpy(copy, c->data, c->len);
        refs[--k] = (struct tsdb_chunk_ref){copy, c->len, c->n, c->mint, head_chunk_maxt(c), c->enc};
    }
    uint32_t n = n_closed - k;
    memmove(refs, refs + k, n * sizeof *refs);
    if (s->open.n && mem_series_maxt(s) >= mint && mem_series_open_mint(s) <= maxt) {
        uint8_t *copy = arena_alloc(a, s->open.b.len ? s->open.b.len : 1);
        if (!copy) {
            pthread_mutex_unlock(lock);
            return ERR_LIMIT;
        }
        memcpy(copy, s->open.b.p, s->open.b.len);
        refs[n++] = (struct tsdb_chunk_ref){copy, (uint32_t) s->open.b.len, s->open.n,
                                            mem_series_open_mint(s), mem_series_maxt(s)};
    }
    /* The newest chunk in the window ends with the series' newest sample (the encoder keeps it,
     * head.h) unless that sample lies past maxt: then readers of the last sample decode. */
    out->has_last = n > 0 && refs[n - 1].maxt == mem_series_maxt(s);
    out->last_t = mem_series_maxt(s);
    memcpy(&out->last_v, &s->open.v_bits, sizeof out->last_v);
    pthread_mutex_unlock(lock);
    out->labels = (struct labels){NULL, 0};
    if (n && head_series_labels_arena(h, a, s, &out->labels) < 0)
        return ERR_LIMIT;
    out->chunks = refs;
    out->n_chunks = n;
    out->mint_ms = mint;
    out->maxt_ms = maxt;
    return 0;
}

static int series_cmp(const void *a, const void *b)
{
    return labels_cmp(&((const struct tsdb_series *) a)->labels,
                      &((const struct tsdb_series *) b)->labels);
}

int head_select(struct head *h, struct arena *a, const struct matcher *ms, size_t n_ms,
                int64_t mint, int64_t maxt, struct tsdb_series **ret, size_t *ret_n,
                struct err *e)
{
    struct postings p;
    int r = head_postings(h, a, ms, n_ms, &p, e);
    if (r < 0)
        return r;
    struct tsdb_series *out = arena_alloc(a, (p.n ? p.n : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t k = 0;
    for (size_t i = 0; i < p.n; i++) {
        struct mem_series *s = head_series_by_ref(h, p.refs[i]);
        if (!s)
            continue;
        if (snapshot_series(h, a, s, mint, maxt, &out[k]) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached while reading series");
        if (out[k].n_chunks)
            k++;
    }
    qsort(out, k, sizeof *out, series_cmp);
    *ret = out;
    *ret_n = k;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int head_label_values(struct head *h, struct arena *a, const char *name, const char ***ret,
                      size_t *ret_n, struct err *e)
{
    pthread_rwlock_rdlock(&h->index_lock);
    struct index_name *n = find_name(h, name);
    size_t cnt = n ? n->n_values : 0;
    const char **out = arena_alloc(a, (cnt ? cnt : 1) * sizeof *out);
    for (uint32_t i = 0, k = 0; out && n && i < n->cap; i++)
        if (index_name_at(n, i))
            out[k++] = index_name_at(n, i)->value; /* interned: stable for the head's life */
    pthread_rwlock_unlock(&h->index_lock);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing label values");
    qsort(out, cnt, sizeof *out, str_cmp);
    *ret = out;
    *ret_n = cnt;
    return 0;
}

int head_label_names(struct head *h, struct arena *a, const char ***ret, size_t *ret_n,
                     struct err *e)
{
    pthread_rwlock_rdlock(&h->index_lock);
    const char **out = arena_alloc(a, (h->names.n ? h->names.n : 1) * sizeof *out);
    size_t k = 0;
    if (out)
        for (size_t i = 0; i < h->names.cap; i++) {
            struct index_name *n = h->names.slots[i].item;
            if (n && n->n_values)
                out[k++] = n->name;
        }
    pthread_rwlock_unlock(&h->index_lock);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing label names");
    qsort(out, k, sizeof *out, str_cmp);
    *ret = out;
    *ret_n = k;
    return 0;
}

/* Keeps the k largest (name, count) entries in top[0..*n), sorted by count descending. */
static void top_insert(struct tsdb_count *top, size_t *n, size_t k, const char *name,
                       const char *value, uint64_t count)
{
    if (*n == k && (k == 0 || top[k - 1].count >= count))
        return;
    size_t at = *n < k ? (*n)++ : k - 1;
    while (at > 0 && top[at - 1].count < count) {
        top[at] = top[at - 1];
        at--;
    }
    top[at] = (struct tsdb_count){name, value, count};
}

void head_status(struct head *h, struct tsdb_head_status *st)
{
    pthread_rwlock_rdlock(&h->index_lock);
    st->label_pairs = h->n_pairs;
    for (size_t i = 0; i < h->names.cap; i++) {
        struct index_name *n = h->names.slots[i].item;
        if (!n || !n->n_values)
            continue;
        uint64_t bytes = 0;
        for (uint32_t j = 0; j < n->cap; j++) {
            struct index_value *v = index_name_at(n, j);
            if (!v)
                continue;
            bytes += strlen(v->value);
            top_insert(st->by_pair, &st->n_by_pair, TSDB_STATUS_TOP, n->name, v->value,
                       v->refs.n);
            if (strcmp(n->name, LABEL_METRIC_NAME) == 0)
                top_insert(st->by_metric, &st->n_by_metric, TSDB_STATUS_TOP, v->value, NULL,
                           v->refs.n);
        }
        top_insert(st->values_by_name, &st->n_values_by_name, TSDB_STATUS_TOP, n->name, NULL,
                   n->n_values);
        top_insert(st->bytes_by_name, &st->n_bytes_by_name, TSDB_STATUS_TOP, n->name, NULL,
                   bytes);
    }
    pthread_rwlock_unlock(&h->index_lock);
}
