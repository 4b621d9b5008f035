/* promql/plan.c — before evaluation: find every selector and work out the time window it can
 * read over the whole query (evaluation span, offset, @, range or lookback delta, enclosing
 * subqueries). Then either select its series and decode all their samples into arrays in the
 * query arena (per-step evaluation), or hand the grid evaluator each selector's series and one
 * series' samples at a time (select/read, the querier open meanwhile).
 *
 * Windows are inclusive on both ends, as Prometheus 2.42 reads them: an instant selector at t
 * looks at [t - lookback, t], a range selector x[d] at [t - d, t]. Timestamps saturate instead of
 * overflowing, since @ and offset come from the query text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

int64_t promql_plan_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

int64_t promql_plan_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Reference times [lo, hi] a node with modifier m sees when evaluated at times [lo, hi]. */
static void mod_window(const struct promql_ev *ev, const struct promql_mod *m, int64_t *lo,
                       int64_t *hi)
{
    if (m->at != AT_NONE) {
        *lo = promql_engine_at_ref(ev, m, 0);
        *hi = *lo;
        return;
    }
    *lo = promql_plan_sat_sub(*lo, m->offset_ms);
    *hi = promql_plan_sat_sub(*hi, m->offset_ms);
}

static int add_sel(struct promql_ev *ev, const struct promql_expr *vs, int64_t mint, int64_t maxt,
                   int in_range)
{
    for (size_t i = 0; i < ev->n_sels; i++) {
        if (ev->sels[i].node == vs) {
            if (mint < ev->sels[i].mint)
                ev->sels[i].mint = mint;
            if (maxt > ev->sels[i].maxt)
                ev->sels[i].maxt = maxt;
            return 0;
        }
    }
    if (ev->n_sels == ev->cap_sels) {
        size_t nc = ev->cap_sels ? ev->cap_sels * 2 : 8;
        struct promql_loaded_sel *ns =
            arena_realloc(ev->qa, ev->sels, ev->cap_sels * sizeof *ns, nc * sizeof *ns);
        if (!ns)
            return promql_engine_oom(ev);
        ev->sels = ns;
        ev->cap_sels = nc;
    }
    ev->sels[ev->n_sels++] =
        (struct promql_loaded_sel){.node = vs, .mint = mint, .maxt = maxt, .in_range = in_range};
    return 0;
}

static int walk(struct promql_ev *ev, const struct promql_expr *x, int64_t lo, int64_t hi)
{
    switch (x->kind) {
    case NODE_NUMBER:
    case NODE_STRING: return 0;
    case NODE_VECTOR_SEL:
        mod_window(ev, &x->u.sel.mod, &lo, &hi);
        return add_sel(ev, x, promql_plan_sat_sub(lo, ev->lookback_ms), hi, 0);
    case NODE_MATRIX_SEL: {
        const struct promql_expr *vs = x->u.matrix.vs;
        mod_window(ev, &vs->u.sel.mod, &lo, &hi);
        return add_sel(ev, vs, promql_plan_sat_sub(lo, x->u.matrix.range_ms), hi, 1);
    }
    case NODE_SUBQUERY:
        mod_window(ev, &x->u.sub.mod, &lo, &hi);
        return walk(ev, x->u.sub.x, promql_plan_sat_sub(lo, x->u.sub.range_ms), hi);
    case NODE_PAREN: return walk(ev, x->u.paren, lo, hi);
    case NODE_UNARY: return walk(ev, x->u.unary.x, lo, hi);
    case NODE_BINARY: {
        int r = walk(ev, x->u.bin.l, lo, hi);
        return r < 0 ? r : walk(ev, x->u.bin.r, lo, hi);
    }
    case NODE_AGG:
        if (x->u.agg.param) {
            int r = walk(ev, x->u.agg.param, lo, hi);
            if (r < 0)
                return r;
        }
        return walk(ev, x->u.agg.x, lo, hi);
    case NODE_CALL:
        for (size_t i = 0; i < x->u.call.n_args; i++) {
            int r = walk(ev, x->u.call.args[i], lo, hi);
            if (r < 0)
                return r;
        }
        return 0;
    }
    return 0;
}

/* Decodes s's samples inside ls's window into ev's scratch (valid until the next read); stale
 * markers are dropped for a range's selector. The iterator is created and finished here, in
 * one straight path: init, seek, next until past the window or an error, then close. */
static int read_series(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                       const struct tsdb_series *s, size_t *ret_n, int *ret_stale)
{
    static const uint64_t nan_bits = UINT64_C(0x7ff8000000000001); /* Prometheus' NaN */
    struct tsdb_iter it;
    size_t n = 0;
    int stale = 0, oom = 0, over = 0;
    tsdb_iter_init(&it, s);
    int r = tsdb_iter_seek(&it, ls->mint);
    while (r == 1 && it.t <= ls->maxt) {
        /* One series' window is held while it is read, whatever else the query holds. */
        if (ev->samples + ev->result_samples + n >= ev->eng->o.max_samples) {
            over = 1;
            break;
        }
        if (n == ev->ld_cap) {
            size_t nc = ev->ld_cap ? ev->ld_cap * 2 : 1024;
            struct promql_point *np = realloc(ev->ld_p, nc * sizeof *np);
            if (!np) {
                oom = 1;
                break;
            }
            ev->ld_p = np;
            ev->ld_cap = nc;
        }
        uint64_t bits;
        memcpy(&bits, &it.v, sizeof bits);
        int is_stale = bits == STALE_NAN_BITS;
        /* A range never sees stale markers, so its selector does not keep them. */
        if (!(is_stale && ls->in_range)) {
            ev->ld_p[n] = (struct promql_point){it.t, it.v};
            /* The grid evaluator's "no value" pattern must not come from storage. */
            if (bits == PROMQL_ABSENT_BITS)
                memcpy(&ev->ld_p[n].v, &nan_bits, sizeof nan_bits);
            n++;
            stale |= is_stale;
        }
        r = tsdb_iter_next(&it);
    }
    /* The iterator is finished here on every path. */
    tsdb_iter_close(&it);
    ev->read_samples += n;
    promql_engine_note_held(ev, n);
    if (oom)
        return err_set(ev->e, -ENOMEM, "out of memory in query execution");
    if (over)
        return err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
    if (r < 0)
        return err_set(ev->e, r, "reading series %s: corrupt chunk",
                       labels_format(ev->qa, &s->labels));
    *ret_n = n;
    *ret_stale = stale;
    return 0;
}

/* Step-by-step evaluation: s's samples copied into the query arena at their exact size. */
static int load_series(struct promql_ev *ev, const struct tsdb_series *s,
                       struct promql_loaded_sel *ls, struct promql_loaded_series *out)
{
    size_t n;
    int stale;
    int r = read_series(ev, ls, s, &n, &stale);
    if (r < 0)
        return r;
    *out = (struct promql_loaded_series){s->labels, NULL, n, stale, {0, 0}};
    if (n == 0)
        return 0;
    if (!(out->p = arena_alloc(ev->qa, n * sizeof *out->p)))
        return promql_engine_oom(ev);
    memcpy(out->p, ev->ld_p, n * sizeof *out->p);
    return 0;
}

int promql_plan_walk(struct promql_ev *ev, const struct promql_expr *root, int64_t mint,
                     int64_t maxt)
{
    return walk(ev, root, mint, maxt);
}

/* The window covering every planned selector's. */
static void plan_window(const struct promql_ev *ev, int64_t *ret_lo, int64_t *ret_hi)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < ev->n_sels; i++) {
        if (ev->sels[i].mint < lo)
            lo = ev->sels[i].mint;
        if (ev->sels[i].maxt > hi)
            hi = ev->sels[i].maxt;
    }
    *ret_lo = lo;
    *ret_hi = hi;
}

int promql_plan_open(struct promql_ev *ev)
{
    if (ev->n_sels == 0 || ev->q)
        return 0;
    int64_t lo, hi;
    plan_window(ev, &lo, &hi);
    return tsdb_querier_open(ev->eng->db, lo, hi, &ev->q, ev->e);
}

int promql_plan_open_small(struct promql_ev *ev, const struct tsdb_select_cost *lim)
{
    if (ev->n_sels == 0)
        return 1;
    int64_t lo, hi;
    plan_window(ev, &lo, &hi);
    int r = tsdb_querier_try_open_head(ev->eng->db, lo, hi, &ev->q, ev->e);
    if (r <= 0)
        return r;
    struct tsdb_select_cost left = *lim, c;
    for (size_t i = 0; i < ev->n_sels; i++) {
        const struct promql_expr *vs = ev->sels[i].node;
        /* Each selector is costed over the querier's whole window: an upper bound. */
        if (!tsdb_querier_cost_within(ev->q, vs->u.sel.ms, vs->u.sel.n_ms, &left, &c))
            return 0;
        left.values -= c.values;
        left.series -= c.series;
        left.samples -= c.samples;
    }
    return 1;
}

void promql_plan_close(struct promql_ev *ev)
{
    tsdb_querier_close(ev->q);
    ev->q = NULL;
    if (ev->ld_cap * sizeof *ev->ld_p > ev->ld_peak)
        ev->ld_peak = ev->ld_cap * sizeof *ev->ld_p;
    free(ev->ld_p);
    ev->ld_p = NULL;
    ev->ld_cap = 0;
}

int promql_plan_select(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                       struct tsdb_series **ret, size_t *ret_n)
{
    if (NEVER(!ev->q))
        return err_set(ev->e, ERR_INTERNAL, "selector read without a querier");
    int r = tsdb_querier_select(ev->q, ev->qa, ls->node->u.sel.ms, ls->node->u.sel.n_ms, ret,
                                ret_n, ev->e);
    if (r < 0 && (r == ERR_LIMIT || arena_over_cap(ev->qa)))
        r = promql_engine_oom(ev);
    return r < 0 ? r : 0;
}

int promql_plan_read(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                     const struct tsdb_series *s, const struct promql_point **ret, size_t *ret_n)
{
    int stale;
    int r = read_series(ev, ls, s, ret_n, &stale);
    *ret = ev->ld_p;
    return r;
}

/* An instant query's selector needs one sample per series: the newest at or before its
 * reference time. The head knows each series' newest sample, so when the query looks at the
 * present (the usual case) nothing is decoded. The sample passes the same checks as in
 * read_series(). */
int promql_plan_read_last(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                          const struct tsdb_series *s, int64_t ref,
                          const struct promql_point **ret, size_t *ret_n)
{
    static const uint64_t nan_bits = UINT64_C(0x7ff8000000000001); /* Prometheus' NaN */
    int64_t maxt = ref < ls->maxt ? ref : ls->maxt, t;
    double v;
    if (ls->in_range || !tsdb_series_last(s, maxt, &t, &v))
        return promql_plan_read(ev, ls, s, ret, ret_n);
    *ret = &ev->ld_last;
    *ret_n = 0;
    if (t < ls->mint)
        return 0;
    if (ev->samples + ev->result_samples >= ev->eng->o.max_samples)
        return err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
    ev->ld_last = (struct promql_point){t, v};
    ev->read_samples++;
    promql_engine_note_held(ev, 1);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (bits == PROMQL_ABSENT_BITS) /* as in read_series() */
        memcpy(&ev->ld_last.v, &nan_bits, sizeof nan_bits);
    *ret_n = 1;
    return 0;
}

int promql_plan_load(struct promql_ev *ev, const struct promql_expr *root, int64_t mint,
                     int64_t maxt)
{
    int r = walk(ev, root, mint, maxt);
    if (r < 0 || ev->n_sels == 0)
        return r;
    if ((r = promql_plan_open(ev)) < 0)
        return r;
    for (size_t i = 0; i < ev->n_sels && r >= 0; i++) {
        struct promql_loaded_sel *ls = &ev->sels[i];
        struct tsdb_series *ss;
        size_t n;
        if ((r = promql_plan_select(ev, ls, &ss, &n)) < 0)
            break;
        ls->series = arena_calloc(ev->qa, n ? n : 1, sizeof *ls->series);
        if (!ls->series) {
            r = promql_engine_oom(ev);
            break;
        }
        for (size_t j = 0; j < n && r >= 0; j++) {
            struct promql_loaded_series out;
            /* Loading can be most of a query's work: honour the timeout while doing it. */
            if ((j & 1023) == 1023 && (r = promql_engine_check(ev)) < 0)
                break;
            r = load_series(ev, &ss[j], ls, &out);
            if (r >= 0 && out.n > 0) {
                /* Labels outlive the querier, which closes below. */
                struct labels cp;
                if (labels_copy(ev->qa, &out.metric, &cp) < 0) {
                    r = promql_engine_oom(ev);
                    break;
                }
                out.metric = cp;
                ls->series[ls->n++] = out;
            }
        }
    }
    promql_plan_close(ev);
    return r < 0 ? r : 0;
}

struct promql_loaded_sel *promql_plan_find(const struct promql_ev *ev,
                                                 const struct promql_expr *vs)
{
    for (size_t i = 0; i < ev->n_sels; i++)
        if (ev->sels[i].node == vs)
            return &ev->sels[i];
    return NULL;
}
