/* tsdb/querier_cost.c — what a selection will cost, known before making it, for callers that must
 * neither wait nor run long (the HTTP loop answering a tiny instant query at once), with a
 * querier from tsdb_querier_try_open_head() (querier.c: never waits for gc_lock, no blocks). The
 * index lock and series locks taken here are the short critical sections every append takes too.
 *
 * tsdb_querier_cost_within() bounds each part of head_select(): head_postings() looks up the one
 * value of a `=` matcher (or literal regex) and compares every value of the label name with the
 * others (values), at most the smallest `=` postings list is snapshotted (series), and the
 * iterator decodes whole chunks overlapping the window (samples). Only matchers whose per-value
 * test is a string compare qualify: `=`, `!=`, and literal regexes. The count takes as long as
 * the lookups, and stops at the first figure over its limit. */
#include <stdlib.h>
#include <string.h>

#include "tsdb/base/re.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/querier.h"

static int cheap_matcher(const struct matcher *m)
{
    return m->type == MATCH_EQ || m->type == MATCH_NE || re_is_literal(m->re);
}

/* Closed chunks run newest first: stop at the first one wholly before the window. */
static uint64_t samples_in_window(struct head *h, struct mem_series *s, int64_t mint,
                                  int64_t maxt)
{
    uint64_t n = 0;
    pthread_mutex_t *m = head_series_lock(h, s);
    pthread_mutex_lock(m);
    if (s->open.n && mem_series_maxt(s) >= mint && mem_series_open_mint(s) <= maxt)
        n += s->open.n;
    for (const struct head_chunk *c = s->closed; c && head_chunk_maxt(c) >= mint; c = c->older)
        if (c->mint <= maxt)
            n += c->n;
    pthread_mutex_unlock(m);
    return n;
}

int tsdb_querier_cost_within(tsdb_querier *q, const struct matcher *ms, size_t n_ms,
                             const struct tsdb_select_cost *lim, struct tsdb_select_cost *ret)
{
    if (q->n_blocks > 0)
        return 0;
    for (size_t i = 0; i < n_ms; i++)
        if (!cheap_matcher(&ms[i]))
            return 0;
    struct head *h = tsdb_db_head(q->db);
    struct tsdb_select_cost c = {0, UINT64_MAX, 0};
    const struct reflist *smallest = NULL;
    int ok = 1;
    pthread_rwlock_rdlock(&h->index_lock);
    for (size_t i = 0; i < n_ms && ok; i++) {
        const struct matcher *m = &ms[i];
        if (matcher_matches_empty(m) || m->type == MATCH_NE || m->type == MATCH_NRE) {
            const struct index_name *n =
                hmap_get(&h->names, hash_bytes(m->name, strlen(m->name)), head_name_eq, m->name);
            c.values += n ? n->n_values : 0;
            ok = c.values <= lim->values;
            continue;
        }
        const struct index_value *v = head_find_value(h, m->name, m->value);
        uint64_t cnt = v ? v->refs.n : 0;
        if (cnt < c.series) {
            c.series = cnt;
            smallest = v ? &v->refs : NULL;
        }
    }
    /* No `=` matcher with a value: every series of a label could be selected. */
    ok = ok && c.series <= lim->series;
    /* Copied out so that series locks are never taken inside the index lock (head_select's
     * order too). */
    uint32_t stack[32]; /* the usual few series without a malloc */
    uint32_t *refs = NULL;
    if (ok && c.series)
        refs = c.series <= ARRAY_LEN(stack) ? stack : malloc(c.series * sizeof *refs);
    if (refs)
        memcpy(refs, reflist_refs(smallest), c.series * sizeof *refs);
    ok = ok && (refs || !c.series);
    pthread_rwlock_unlock(&h->index_lock);
    for (uint64_t i = 0; refs && i < c.series && ok; i++) {
        struct mem_series *s = head_series_by_ref(h, refs[i]);
        if (s)
            c.samples += samples_in_window(h, s, q->mint, q->maxt);
        ok = c.samples <= lim->samples;
    }
    if (refs != stack)
        free(refs);
    if (!ok)
        return 0;
    *ret = c;
    return 1;
}
