/* promql/grid_range.c — reading samples on the grid (see grid.c): instant-vector selectors with
 * lookback and staleness, range-vector functions over windows that slide forward through a
 * range selector's samples, and subqueries, whose expression is evaluated once on their own
 * aligned steps and then read like a selector. Samples come series by series from plan.c's
 * reads; labels stay the querier's until the result copies them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

/* ---- selectors ---- */

/* Per step: the reference time of a selector with modifier m (offset, @), and that minus
 * back (lookback or range), the start of its window. Two scratch arrays, slots 2 and 3. */
static int step_refs(struct promql_ev *ev, const struct promql_mod *m, int64_t back,
                     int64_t **ret_ref, int64_t **ret_from)
{
    int64_t *ref = promql_grid_scratch(ev, 2, ev->g_n * sizeof *ref);
    int64_t *from = promql_grid_scratch(ev, 3, ev->g_n * sizeof *from);
    if (!ref || !from)
        return promql_grid_err(ev);
    for (size_t k = 0; k < ev->g_n; k++) {
        ref[k] = promql_engine_at_ref(ev, m, promql_grid_t(ev, k));
        from[k] = promql_plan_sat_sub(ref[k], back);
    }
    *ret_ref = ref;
    *ret_from = from;
    return 0;
}

static int is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_NAN_BITS;
}

int promql_grid_selector(struct promql_ev *ev, const struct promql_expr *x, int want_ts,
                         struct promql_gval *ret)
{
    struct promql_loaded_sel *ls = promql_plan_find(ev, x);
    struct tsdb_series *ss;
    size_t ns;
    if (NEVER(!ls))
        return err_set(ev->e, ERR_INTERNAL, "selector was not planned");
    int r = promql_plan_select(ev, ls, &ss, &ns);
    if (r < 0)
        return r;
    double *d = promql_grid_scratch(ev, 0, ev->g_n * sizeof *d);
    int64_t *refs, *froms;
    if (!d || (r = promql_grid_vector(ev, ret, ns)) < 0 ||
        (r = step_refs(ev, &x->u.sel.mod, ev->lookback_ms, &refs, &froms)) < 0)
        return promql_grid_err(ev);
    const double none = promql_absent_value();
    for (size_t i = 0; i < ns; i++) {
        const struct promql_point *p;
        size_t np, j = 0; /* samples with t <= ref: the reference time only moves forward */
        size_t lo = ev->g_n, hi = 0;
        if ((i & 255) == 255 && (r = promql_engine_check(ev)) < 0)
            return r;
        /* One step (an instant query): only the newest sample up to its reference time. */
        r = ev->g_n == 1 ? promql_plan_read_last(ev, ls, &ss[i], refs[0], &p, &np)
                         : promql_plan_read(ev, ls, &ss[i], &p, &np);
        if (r < 0)
            return r;
        for (size_t k = 0; k < ev->g_n && np; k++) {
            int64_t ref = refs[k];
            while (j < np && p[j].t <= ref)
                j++;
            d[k] = none;
            if (j == 0)
                continue;
            const struct promql_point *q = &p[j - 1];
            /* A stale marker as the newest sample ends the series' lookback. */
            if (q->t < froms[k] || is_stale(q->v))
                continue;
            d[k] = want_ts ? (double) q->t / 1000 : q->v;
            if (k < lo)
                lo = k;
            hi = k + 1;
        }
        if (lo < hi && (r = promql_grid_put(ev, ret, &ss[i].labels, d + lo, lo, hi - lo)) < 0)
            return r;
    }
    return 0;
}

/* ---- range-vector functions ---- */

/* rate, increase and delta without re-reading the window: without a counter reset inside the
 * window (and a first value >= 0, which the reset check also looks at), Prometheus' loop adds
 * nothing, so last - first is its exact result. Reset positions are found once per series. */
struct resets {
    size_t *at; /* i where p[i].v < p[i - 1].v, ascending */
    size_t n, next;
};

static int find_resets(struct promql_ev *ev, const struct promql_point *p, size_t n,
                       struct resets *rs)
{
    rs->n = rs->next = 0;
    for (size_t i = 1; i < n; i++) {
        if (!(p[i].v < p[i - 1].v))
            continue;
        if (!rs->at || rs->n == ev->g_scr_cap[1] / sizeof *rs->at) {
            rs->at = promql_grid_scratch(ev, 1, (rs->n + 1) * 2 * sizeof *rs->at);
            if (!rs->at)
                return promql_grid_err(ev);
        }
        rs->at[rs->n++] = i;
    }
    return 0;
}

static int fast_delta(enum promql_fn id, const struct promql_point *p, size_t lo, size_t hi,
                      struct resets *rs, struct promql_window w, double *ret)
{
    size_t n = hi - lo;
    if (n < 2)
        return 0;
    int counter = id != FN_DELTA;
    double result;
    while (rs->next < rs->n && rs->at[rs->next] <= lo)
        rs->next++;
    if (!counter || (p[lo].v >= 0 && (rs->next == rs->n || rs->at[rs->next] >= hi)))
        result = p[hi - 1].v - p[lo].v;
    else
        result = promql_functions_raw_delta(p + lo, n, counter);
    *ret = promql_functions_extrapolate(p + lo, n, result, w, counter, id == FN_RATE);
    return 1;
}

/* The grid a subquery's expression is evaluated on: its steps (multiples of its step, as
 * Prometheus aligns them) from the earliest window start to the latest reference time of the
 * outer grid's steps; every window is a slice of it. *ret_n 0: no step. */
static void sub_grid(const struct promql_ev *ev, const struct promql_expr *sq, int64_t *ret_start,
                     int64_t *ret_step, uint64_t *ret_n)
{
    int64_t step = sq->u.sub.step_ms ? sq->u.sub.step_ms : ev->eng->o.default_step_ms;
    int64_t lo = promql_engine_at_ref(ev, &sq->u.sub.mod, ev->g_start);
    int64_t hi = promql_engine_at_ref(ev, &sq->u.sub.mod, promql_grid_t(ev, ev->g_n - 1));
    int64_t from = promql_plan_sat_sub(lo, sq->u.sub.range_ms);
    int64_t first = from / step * step;
    if (first < from)
        first = promql_plan_sat_add(first, step);
    *ret_start = first;
    *ret_step = step;
    *ret_n = hi < first ? 0 : ((uint64_t) hi - (uint64_t) first) / (uint64_t) step + 1;
}

/* A subquery's grid over one window: its range in steps, plus one for each end. */
static uint64_t window_steps(const struct promql_ev *ev, const struct promql_expr *sq)
{
    int64_t step = sq->u.sub.step_ms ? sq->u.sub.step_ms : ev->eng->o.default_step_ms;
    return (uint64_t) (sq->u.sub.range_ms / step) + 2;
}

int promql_grid_fits(struct promql_ev *ev, const struct promql_expr *x)
{
    switch (x->kind) {
    case NODE_PAREN: return promql_grid_fits(ev, x->u.paren);
    case NODE_UNARY: return promql_grid_fits(ev, x->u.unary.x);
    case NODE_BINARY: return promql_grid_fits(ev, x->u.bin.l) && promql_grid_fits(ev, x->u.bin.r);
    case NODE_AGG:
        return (!x->u.agg.param || promql_grid_fits(ev, x->u.agg.param)) &&
               promql_grid_fits(ev, x->u.agg.x);
    case NODE_CALL:
        for (size_t i = 0; i < x->u.call.n_args; i++)
            if (!promql_grid_fits(ev, x->u.call.args[i]))
                return 0;
        return 1;
    case NODE_SUBQUERY:
        /* Longer grids are cut into slices of the outer grid (range_call); one window is the
         * least a slice needs. */
        return window_steps(ev, x) <= PROMQL_GRID_MAX_STEPS && promql_grid_fits(ev, x->u.sub.x);
    default: return 1;
    }
}

/* The samples a range function reads: a range selector's, series by series from storage, or a
 * subquery's, its expression evaluated once on its own grid (sub_grid). */
struct range_src {
    struct promql_loaded_sel *ls; /* range selector */
    struct tsdb_series *ss;
    struct promql_gval inner; /* subquery */
    int64_t start, step;
    size_t n;
};

static int src_open(struct promql_ev *ev, const struct promql_expr *mx, struct range_src *src)
{
    memset(src, 0, sizeof *src);
    if (mx->kind == NODE_MATRIX_SEL) {
        src->ls = promql_plan_find(ev, mx->u.matrix.vs);
        if (NEVER(!src->ls))
            return err_set(ev->e, ERR_INTERNAL, "selector was not planned");
        return promql_plan_select(ev, src->ls, &src->ss, &src->n);
    }
    uint64_t n;
    sub_grid(ev, mx, &src->start, &src->step, &n);
    if (n == 0)
        return 0;
    if (NEVER(n > PROMQL_GRID_MAX_STEPS))
        return err_set(ev->e, ERR_INTERNAL, "subquery grid too long");
    int64_t save_start = ev->g_start, save_step = ev->g_step;
    size_t save_n = ev->g_n;
    ev->g_start = src->start;
    ev->g_step = src->step;
    ev->g_n = (size_t) n;
    int r = promql_grid_eval(ev, mx->u.sub.x, &src->inner);
    ev->g_start = save_start;
    ev->g_step = save_step;
    ev->g_n = save_n;
    if (r < 0)
        return r;
    src->n = src->inner.n;
    return 0;
}

/* Series i's points in time order and its labels. */
static int src_read(struct promql_ev *ev, struct range_src *src, size_t i,
                    const struct promql_point **ret, size_t *ret_n, struct labels *ret_metric)
{
    if (src->ls) {
        *ret_metric = src->ss[i].labels;
        return promql_plan_read(ev, src->ls, &src->ss[i], ret, ret_n);
    }
    const struct promql_gseries *s = &src->inner.s[i];
    struct promql_point *p = promql_grid_scratch(ev, 4, (s->len ? s->len : 1) * sizeof *p);
    size_t n = 0;
    if (!p)
        return promql_grid_err(ev);
    for (size_t j = 0; j < s->len; j++)
        if (!promql_absent(s->v[j]))
            p[n++] = (struct promql_point){src->start + (int64_t) (s->k0 + j) * src->step,
                                           s->v[j]};
    *ret = p;
    *ret_n = n;
    *ret_metric = s->metric;
    return 0;
}

static int range_call(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *args,
                      struct promql_gval *ret)
{
    enum promql_fn id = x->u.call.f->id;
    size_t mi = id == FN_QUANTILE_OVER_TIME ? 1 : 0, na = x->u.call.n_args;
    const struct promql_expr *mx = promql_unparen(x->u.call.args[mi]);
    if (NEVER(mx->kind != NODE_MATRIX_SEL && mx->kind != NODE_SUBQUERY))
        return err_set(ev->e, ERR_INTERNAL, "range function without a range");
    int sub = mx->kind == NODE_SUBQUERY;
    const struct promql_mod *mod = sub ? &mx->u.sub.mod : &mx->u.matrix.vs->u.sel.mod;
    int64_t range = sub ? mx->u.sub.range_ms : mx->u.matrix.range_ms;
    size_t n = ev->g_n;
    int r;
    if (id == FN_HOLT_WINTERS) {
        for (size_t k = 0; k < n; k++) {
            double sf = args[1].sc[k], tf = args[2].sc[k];
            if (!(sf > 0 && sf < 1))
                return err_set(ev->e, ERR_EXEC,
                               "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
            if (!(tf > 0 && tf < 1))
                return err_set(ev->e, ERR_EXEC,
                               "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
        }
    }
    struct range_src src;
    if ((r = src_open(ev, mx, &src)) < 0)
        goto out;
    /* Scratch only after the subquery ran: its evaluation uses the same buffers. */
    double *d = promql_grid_scratch(ev, 0, n * sizeof *d);
    struct promql_val *argk = arena_calloc(ev->qa, na + 3, sizeof *argk);
    int64_t *refs, *froms;
    if (!argk) {
        r = promql_engine_oom(ev);
        goto out;
    }
    if (!d || (r = promql_grid_vector(ev, ret, id == FN_ABSENT_OVER_TIME ? 1 : src.n)) < 0 ||
        (r = step_refs(ev, mod, range, &refs, &froms)) < 0) {
        r = promql_grid_err(ev);
        goto out;
    }
    const double none = promql_absent_value();
    int fast = id == FN_RATE || id == FN_INCREASE || id == FN_DELTA;
    struct resets rs = {0};
    if (id == FN_ABSENT_OVER_TIME)
        for (size_t k = 0; k < n; k++)
            d[k] = 1; /* cleared below at steps where some window is not empty */
    for (size_t i = 0; i < src.n; i++) {
        const struct promql_point *p;
        struct labels m;
        size_t np, lo = 0, hi = 0; /* window p[lo..hi): both ends only move forward */
        size_t first = n, last = 0;
        if ((i & 255) == 255 && (r = promql_engine_check(ev)) < 0)
            goto out;
        if ((r = src_read(ev, &src, i, &p, &np, &m)) < 0)
            goto out;
        if (np == 0)
            continue;
        if (fast && id != FN_DELTA && (r = find_resets(ev, p, np, &rs)) < 0)
            goto out;
        for (size_t k = 0; k < n; k++) {
            int64_t t = promql_grid_t(ev, k), ref = refs[k], from = froms[k];
            while (hi < np && p[hi].t <= ref)
                hi++;
            while (lo < hi && p[lo].t < from)
                lo++;
            if (id != FN_ABSENT_OVER_TIME)
                d[k] = none;
            if (lo == hi)
                continue;
            if (id == FN_ABSENT_OVER_TIME) {
                d[k] = none;
                continue;
            }
            /* The window is held while the function runs, as the per-step evaluator held it. */
            promql_engine_note_held(ev, hi - lo);
            if (ev->samples + ev->result_samples + (hi - lo) > ev->eng->o.max_samples) {
                r = err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
                goto out;
            }
            struct promql_window w = {ref - range, ref, range};
            double v;
            if (fast) {
                r = fast_delta(id, p, lo, hi, &rs, w, &v);
            } else {
                for (size_t j = 0; j < na; j++)
                    if (args[j].type == PROMQL_SCALAR)
                        argk[j] = (struct promql_val){.type = PROMQL_SCALAR,
                                                      .scalar = args[j].sc[k]};
                r = promql_functions_range(ev, id, p + lo, hi - lo, w, argk, t, &v);
            if (id == FN_QUANTILE_OVER_TIME) { /* its copy of the window, in the step arena */
                size_t used = arena_used(ev->sa);
                if (used > ev->step_peak)
                    ev->step_peak = used;
                arena_reset(ev->sa);
            }
            }
            if (r < 0)
                goto out;
            if (r == 0)
                continue;
            d[k] = v;
            if (k < first)
                first = k;
            last = k + 1;
        }
        if (id == FN_ABSENT_OVER_TIME || first == n)
            continue;
        if (id != FN_LAST_OVER_TIME && (r = promql_grid_drop_name(ev, &m, &m)) < 0)
            goto out;
        if ((r = promql_grid_put(ev, ret, &m, d + first, first, last - first)) < 0)
            goto out;
    }
    if (id == FN_ABSENT_OVER_TIME) {
        struct labels m;
        if ((r = promql_functions_absent_labels(ev, ev->qa, x->u.call.args[0], &m)) >= 0)
            r = promql_grid_put(ev, ret, &m, d, 0, n);
        goto out;
    }
    r = promql_grid_unique(ev, ret, !promql_value_one_name(mx),
                           "vector cannot contain metrics with the same labelset");
out:
    promql_grid_free(ev, &src.inner);
    return r;
}

/* A subquery whose grid over all the outer steps would pass PROMQL_GRID_MAX_STEPS (a short step
 * over a long range query) is evaluated over consecutive slices of the outer steps, each slice's
 * subquery grid small enough; their outputs have disjoint steps and are joined by label set. */
int promql_grid_range_call(struct promql_ev *ev, const struct promql_expr *x,
                           struct promql_gval *args, struct promql_gval *ret)
{
    enum promql_fn id = x->u.call.f->id;
    const struct promql_expr *mx =
        promql_unparen(x->u.call.args[id == FN_QUANTILE_OVER_TIME ? 1 : 0]);
    int64_t start, step;
    uint64_t n_inner;
    if (mx->kind != NODE_SUBQUERY)
        return range_call(ev, x, args, ret);
    sub_grid(ev, mx, &start, &step, &n_inner);
    if (n_inner <= PROMQL_GRID_MAX_STEPS)
        return range_call(ev, x, args, ret);
    /* Outer steps per slice: a window, plus the outer step in subquery steps for each more. */
    uint64_t room = PROMQL_GRID_MAX_STEPS - window_steps(ev, mx);
    uint64_t per_outer = (uint64_t) (ev->g_step / step) + 1;
    size_t per = (size_t) (room / per_outer) + 1, n = ev->g_n, na = x->u.call.n_args;
    int64_t save_start = ev->g_start;
    struct promql_gval *slice = arena_calloc(ev->qa, na + 3, sizeof *slice);
    if (!slice)
        return promql_engine_oom(ev);
    int r = promql_grid_vector(ev, ret, 16);
    for (size_t a = 0; a < n && r >= 0; a += per) {
        size_t b = n - a < per ? n : a + per;
        struct promql_gval part = {0};
        for (size_t j = 0; j < na; j++) { /* the arguments' values on the slice's steps */
            slice[j] = args[j];
            slice[j].mem = NULL;
            if (slice[j].type == PROMQL_SCALAR)
                slice[j].sc += a;
        }
        ev->g_start = promql_grid_t(ev, a);
        ev->g_n = b - a;
        r = range_call(ev, x, slice, &part);
        ev->g_start = save_start;
        ev->g_n = n;
        for (size_t i = 0; i < part.n && r >= 0; i++)
            r = promql_grid_put(ev, ret, &part.s[i].metric, part.s[i].v, a + part.s[i].k0,
                                part.s[i].len);
        promql_grid_free(ev, &part);
    }
    return r < 0 ? r : promql_grid_unique(ev, ret, 1, "vector cannot contain metrics with the "
                                                      "same labelset");
}
