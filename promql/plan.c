/* promql/plan.c — before evaluation: find every selector, work out the time window it can read
 * over the whole query (evaluation span, offset, @, range or lookback delta, enclosing
 * subqueries), then select its series once and decode their samples into arrays.
 *
 * Windows are inclusive on both ends, as Prometheus 2.42 reads them: an instant selector at t
 * looks at [t - lookback, t], a range selector x[d] at [t - d, t]. Timestamps saturate instead of
 * overflowing, since @ and offset come from the query text. */
#include <errno.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Reference times [lo, hi] a node with modifier m sees when evaluated at times [lo, hi]. */
static void mod_window(const struct ev *ev, const struct promql_mod *m, int64_t *lo, int64_t *hi)
{
    if (m->at != AT_NONE) {
        *lo = ev_at_ref(ev, m, 0);
        *hi = *lo;
        return;
    }
    *lo = sat_sub(*lo, m->offset_ms);
    *hi = sat_sub(*hi, m->offset_ms);
}

static int add_sel(struct ev *ev, const struct promql_expr *vs, int64_t mint, int64_t maxt)
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
        struct loaded_sel *ns = arena_realloc(ev->qa, ev->sels, ev->cap_sels * sizeof *ns,
                                              nc * sizeof *ns);
        if (!ns)
            return ev_oom(ev);
        ev->sels = ns;
        ev->cap_sels = nc;
    }
    ev->sels[ev->n_sels++] = (struct loaded_sel){.node = vs, .mint = mint, .maxt = maxt};
    return 0;
}

static int walk(struct ev *ev, const struct promql_expr *x, int64_t lo, int64_t hi)
{
    switch (x->kind) {
    case NODE_NUMBER:
    case NODE_STRING:
        return 0;
    case NODE_VECTOR_SEL:
        mod_window(ev, &x->u.sel.mod, &lo, &hi);
        return add_sel(ev, x, sat_sub(lo, ev->lookback_ms), hi);
    case NODE_MATRIX_SEL: {
        const struct promql_expr *vs = x->u.matrix.vs;
        mod_window(ev, &vs->u.sel.mod, &lo, &hi);
        return add_sel(ev, vs, sat_sub(lo, x->u.matrix.range_ms), hi);
    }
    case NODE_SUBQUERY:
        mod_window(ev, &x->u.sub.mod, &lo, &hi);
        return walk(ev, x->u.sub.x, sat_sub(lo, x->u.sub.range_ms), hi);
    case NODE_PAREN:
        return walk(ev, x->u.paren, lo, hi);
    case NODE_UNARY:
        return walk(ev, x->u.unary.x, lo, hi);
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

static int load_series(struct ev *ev, const struct tsdb_series *s, struct loaded_sel *ls,
                       struct loaded_series *out)
{
    struct tsdb_iter it;
    tsdb_iter_init(&it, s);
    size_t cap = 0, n = 0;
    int64_t *ts = NULL;
    double *vs = NULL;
    int r = tsdb_iter_seek(&it, ls->mint);
    while (r == 1 && it.t <= ls->maxt) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            int64_t *nt = arena_realloc(ev->qa, ts, cap * sizeof *nt, nc * sizeof *nt);
            double *nv = nt ? arena_realloc(ev->qa, vs, cap * sizeof *nv, nc * sizeof *nv) : NULL;
            if (!nv)
                return ev_oom(ev);
            ts = nt;
            vs = nv;
            cap = nc;
        }
        ts[n] = it.t;
        vs[n] = it.v;
        n++;
        r = tsdb_iter_next(&it);
    }
    if (r < 0)
        return err_set(ev->e, r, "reading series %s: corrupt chunk", labels_format(ev->qa, &s->labels));
    *out = (struct loaded_series){s->labels, ts, vs, n};
    return 0;
}

int plan_load(struct ev *ev, const struct promql_expr *root, int64_t mint, int64_t maxt)
{
    int r = walk(ev, root, mint, maxt);
    if (r < 0 || ev->n_sels == 0)
        return r;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < ev->n_sels; i++) {
        if (ev->sels[i].mint < lo)
            lo = ev->sels[i].mint;
        if (ev->sels[i].maxt > hi)
            hi = ev->sels[i].maxt;
    }
    tsdb_querier *q = NULL;
    if ((r = tsdb_querier_open(ev->eng->db, lo, hi, &q, ev->e)) < 0)
        return r;
    for (size_t i = 0; i < ev->n_sels && r >= 0; i++) {
        struct loaded_sel *ls = &ev->sels[i];
        struct tsdb_series *ss;
        size_t n;
        r = tsdb_querier_select(q, ev->qa, ls->node->u.sel.ms, ls->node->u.sel.n_ms, &ss, &n,
                                ev->e);
        if (r < 0) {
            if (r == ERR_LIMIT || arena_over_cap(ev->qa))
                r = ev_oom(ev);
            break;
        }
        ls->series = arena_calloc(ev->qa, n ? n : 1, sizeof *ls->series);
        if (!ls->series) {
            r = ev_oom(ev);
            break;
        }
        for (size_t j = 0; j < n && r >= 0; j++) {
            struct loaded_series out;
            r = load_series(ev, &ss[j], ls, &out);
            if (r >= 0 && out.n > 0) {
                /* Labels outlive the querier, which closes below. */
                struct labels cp;
                if (labels_copy(ev->qa, &out.metric, &cp) < 0) {
                    r = ev_oom(ev);
                    break;
                }
                out.metric = cp;
                ls->series[ls->n++] = out;
            }
        }
    }
    tsdb_querier_close(q);
    return r < 0 ? r : 0;
}

const struct loaded_sel *plan_find(const struct ev *ev, const struct promql_expr *vs)
{
    for (size_t i = 0; i < ev->n_sels; i++)
        if (ev->sels[i].node == vs)
            return &ev->sels[i];
    return NULL;
}
