/* promql/engine.c — query evaluation: the step loop of range queries, instant evaluation of each
 * node (selectors, subqueries, unary minus; operators, aggregations and functions are dispatched to
 * their files), sample limit, timeout, and copying results into the caller's arena.
 * See promql/engine.h for the load-once, evaluate-per-step design. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

#define DEFAULT_LOOKBACK_MS (5 * 60 * 1000)
#define DEFAULT_MAX_SAMPLES 50000000u
#define DEFAULT_TIMEOUT_MS (2 * 60 * 1000)
#define DEFAULT_STEP_MS (60 * 1000)     /* subqueries without a step: Prometheus' default */
#define DEFAULT_STEP_BYTES (256u << 20) /* scratch memory of one evaluation step */

int promql_engine_new(tsdb *db, const struct promql_engine_opts *o, promql_engine **ret,
                      struct err *e)
{
    promql_engine *eng = zalloc(sizeof *eng);
    if (!eng)
        return err_set(e, -ENOMEM, "promql engine: out of memory");
    eng->db = db;
    if (o)
        eng->o = *o;
    if (eng->o.lookback_delta_ms <= 0)
        eng->o.lookback_delta_ms = DEFAULT_LOOKBACK_MS;
    if (eng->o.max_samples == 0)
        eng->o.max_samples = DEFAULT_MAX_SAMPLES;
    if (eng->o.timeout_ms <= 0)
        eng->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (eng->o.default_step_ms <= 0)
        eng->o.default_step_ms = DEFAULT_STEP_MS;
    if (eng->o.step_bytes == 0)
        eng->o.step_bytes = DEFAULT_STEP_BYTES;
    *ret = eng;
    return 0;
}

void promql_engine_cancel(promql_engine *eng)
{
    atomic_store(&eng->canceled, 1);
}

void promql_engine_free(promql_engine *eng)
{
    free(eng);
}

int promql_engine_oom(struct promql_ev *ev)
{
    if (arena_over_cap(ev->qa) || arena_over_cap(ev->sa))
        return err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
    return err_set(ev->e, -ENOMEM, "out of memory in query execution");
}

int promql_engine_count(struct promql_ev *ev, uint64_t n)
{
    ev->samples += n;
    promql_engine_note_held(ev, 0);
    if (ev->samples + ev->result_samples > ev->eng->o.max_samples)
        return err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
    return 0;
}

int promql_engine_check(struct promql_ev *ev)
{
    if (atomic_load_explicit(&ev->eng->canceled, memory_order_relaxed))
        return err_set(ev->e, ERR_CANCELED, MSG_CANCELED);
    /* Checked per node and every few hundred series: the coarse clock's few milliseconds do
     * not matter to a timeout, its cost per check does to a small query. */
    if (time_mono_coarse_ns() > ev->deadline_ns)
        return err_set(ev->e, ERR_TIMEOUT, MSG_TIMEOUT);
    return 0;
}

int64_t promql_engine_at_ref(const struct promql_ev *ev, const struct promql_mod *m, int64_t t)
{
    int64_t base = t;
    if (m->at == AT_TIME)
        base = m->at_ms;
    else if (m->at == AT_START)
        base = ev->start_ms;
    else if (m->at == AT_END)
        base = ev->end_ms;
    return promql_plan_sat_sub(base, m->offset_ms);
}

/* Index of the last sample with t <= ref, or -1. Steps mostly move forward a little, so the
 * previous answer (hint) is tried first; a binary search covers the rest. */
static ptrdiff_t last_at_or_before(struct promql_loaded_series *s, int64_t ref, size_t *hint)
{
    size_t h = *hint;
    if (h < s->n && s->p[h].t <= ref) {
        for (int k = 0; k < 16; k++) {
            if (h + 1 == s->n || s->p[h + 1].t > ref) {
                *hint = h;
                return (ptrdiff_t) h;
            }
            h++;
        }
    }
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->p[mid].t <= ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0)
        *hint = lo - 1;
    return (ptrdiff_t) lo - 1;
}

static int eval_vector_sel(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                           struct promql_val *ret)
{
    struct promql_loaded_sel *ls = promql_plan_find(ev, x);
    int64_t ref = promql_engine_at_ref(ev, &x->u.sel.mod, t);
    int64_t from = promql_plan_sat_sub(ref, ev->lookback_ms);
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    if (NEVER(!ls))
        return err_set(ev->e, ERR_INTERNAL, "selector was not planned");
    size_t cap = 0;
    for (size_t i = 0; i < ls->n; i++) {
        struct promql_loaded_series *s = &ls->series[i];
        ptrdiff_t k = last_at_or_before(s, ref, &s->hint[0]);
        /* A stale marker as the newest sample ends the series' lookback. */
        if (k < 0 || s->p[k].t < from || num_is_stale(s->p[k].v))
            continue;
        if (promql_value_push(ev->sa, ret, &cap, &s->metric, s->p[k].t, s->p[k].v) < 0)
            return promql_engine_oom(ev);
    }
    return promql_engine_count(ev, ret->n);
}

static int eval_matrix_sel(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                           struct promql_val *ret)
{
    const struct promql_expr *vs = x->u.matrix.vs;
    struct promql_loaded_sel *ls = promql_plan_find(ev, vs);
    int64_t ref = promql_engine_at_ref(ev, &vs->u.sel.mod, t);
    int64_t from = promql_plan_sat_sub(ref, x->u.matrix.range_ms);
    *ret = (struct promql_val){.type = PROMQL_MATRIX};
    if (NEVER(!ls))
        return err_set(ev->e, ERR_INTERNAL, "selector was not planned");
    ret->mat = arena_alloc(ev->sa, (ls->n ? ls->n : 1) * sizeof *ret->mat);
    if (!ret->mat)
        return promql_engine_oom(ev);
    uint64_t total = 0;
    for (size_t i = 0; i < ls->n; i++) {
        struct promql_loaded_series *s = &ls->series[i];
        ptrdiff_t end = last_at_or_before(s, ref, &s->hint[0]);
        ptrdiff_t begin = last_at_or_before(s, from - 1, &s->hint[1]) + 1; /* first t >= from */
        if (end < begin)
            continue;
        struct promql_point *pts = &s->p[begin];
        size_t n = (size_t) (end - begin + 1);
        if (s->has_stale) { /* copy without the markers; otherwise share the loaded samples */
            if (!(pts = arena_alloc(ev->sa, n * sizeof *pts)))
                return promql_engine_oom(ev);
            n = 0;
            for (ptrdiff_t k = begin; k <= end; k++)
                if (!num_is_stale(s->p[k].v))
                    pts[n++] = s->p[k];
        }
        if (n == 0)
            continue;
        ret->mat[ret->n++] = (struct promql_series){s->metric, pts, n};
        total += n;
    }
    return promql_engine_count(ev, total);
}

struct sub_series {
    struct promql_point *pts;
    size_t n, cap;
};

/* Each inner step runs in its own scratch arena, reset after the step: only the points (and a
 * copy of each new series' labels) stay in the outer step's arena. A subquery of a million
 * steps then needs memory for its points, not for a million steps' temporaries. */
static int eval_subquery(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                         struct promql_val *ret)
{
    int64_t ref = promql_engine_at_ref(ev, &x->u.sub.mod, t);
    int64_t step = x->u.sub.step_ms ? x->u.sub.step_ms : ev->eng->o.default_step_ms;
    int64_t from = promql_plan_sat_sub(ref, x->u.sub.range_ms);
    /* First multiple of step at or after from: subquery steps are aligned to absolute time. */
    int64_t first = from / step * step;
    if (first < from)
        first = promql_plan_sat_add(first, step);
    *ret = (struct promql_val){.type = PROMQL_MATRIX};
    struct arena *outer = ev->sa, *inner = arena_new(ev->eng->o.step_bytes);
    if (!inner)
        return err_set(ev->e, -ENOMEM, "out of memory in query execution");
    struct promql_hidx idx = {.a = outer};
    struct sub_series *acc = NULL;
    size_t cap = 0;
    int r = 0;
    for (int64_t ts = first; ts <= ref; ts = promql_plan_sat_add(ts, step)) {
        struct promql_val in;
        uint64_t held = ev->samples;
        if ((r = promql_engine_check(ev)) < 0)
            break;
        ev->sa = inner;
        r = promql_engine_eval(ev, x->u.sub.x, ts, &in);
        ev->sa = outer;
        ev->samples = held; /* the inner step's temporaries are gone after it */
        if (r < 0)
            break;
        for (size_t i = 0; i < in.n && r >= 0; i++) {
            uint64_t h = promql_value_hash(&in.vec[i].metric, NULL, 0, PROMQL_LS_ALL);
            size_t cur = 0, k;
            int found = 0;
            while (!found && promql_hidx_next(&idx, h, &cur, &k))
                found = labels_equal(&ret->mat[k].metric, &in.vec[i].metric);
            if (!found) {
                k = ret->n;
                if (promql_hidx_add(&idx, h, k) < 0) {
                    r = promql_engine_oom(ev);
                    break;
                }
                if (ret->n == cap) {
                    size_t nc = cap ? cap * 2 : 8;
                    struct promql_series *nm =
                        arena_realloc(outer, ret->mat, cap * sizeof *nm, nc * sizeof *nm);
                    struct sub_series *na =
                        nm ? arena_realloc(outer, acc, cap * sizeof *na, nc * sizeof *na) : NULL;
                    if (!na) {
                        r = promql_engine_oom(ev);
                        break;
                    }
                    ret->mat = nm;
                    acc = na;
                    cap = nc;
                }
                ret->mat[ret->n] = (struct promql_series){.points = NULL, .n_points = 0};
                if (labels_copy(outer, &in.vec[i].metric, &ret->mat[ret->n].metric) < 0) {
                    r = promql_engine_oom(ev);
                    break;
                }
                acc[ret->n++] = (struct sub_series){0};
            }
            struct sub_series *s = &acc[k];
            if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 8;
                struct promql_point *np =
                    arena_realloc(outer, s->pts, s->cap * sizeof *np, nc * sizeof *np);
                if (!np) {
                    r = promql_engine_oom(ev);
                    break;
                }
                s->pts = np;
                s->cap = nc;
            }
            s->pts[s->n++] = (struct promql_point){ts, in.vec[i].v};
        }
        size_t used = arena_used(inner);
        if (used > ev->step_peak)
            ev->step_peak = used;
        arena_reset(inner);
        if (r < 0 || (r = promql_engine_count(ev, in.n)) < 0)
            break;
        if (step <= 0 || ts == INT64_MAX)
            break;
    }
    arena_free(inner);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ret->n; i++) {
        ret->mat[i].points = acc[i].pts;
        ret->mat[i].n_points = acc[i].n;
    }
    return 0;
}

static int eval_unary(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                      struct promql_val *ret)
{
    int r = promql_engine_eval(ev, x->u.unary.x, t, ret);
    if (r < 0 || x->u.unary.op != OP_SUB)
        return r;
    if (ret->type == PROMQL_SCALAR) {
        ret->scalar = -ret->scalar;
        return 0;
    }
    struct promql_sample *out = arena_alloc(ev->sa, (ret->n ? ret->n : 1) * sizeof *out);
    if (!out)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < ret->n; i++) {
        out[i] = ret->vec[i];
        out[i].v = -out[i].v;
        out[i].t = t;
        if (promql_value_drop_name(ev->sa, &ret->vec[i].metric, &out[i].metric) < 0)
            return promql_engine_oom(ev);
    }
    ret->vec = out;
    return promql_value_one_name(x->u.unary.x) ? 0 : promql_value_check_unique(ev, ret);
}

int promql_engine_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                       struct promql_val *ret)
{
    int r;
    switch (x->kind) {
    case NODE_NUMBER:
        *ret = (struct promql_val){.type = PROMQL_SCALAR, .scalar = x->u.num};
        return 0;
    case NODE_STRING: *ret = (struct promql_val){.type = PROMQL_STRING, .str = x->u.str}; return 0;
    case NODE_PAREN: return promql_engine_eval(ev, x->u.paren, t, ret);
    case NODE_UNARY: return eval_unary(ev, x, t, ret);
    case NODE_VECTOR_SEL: return eval_vector_sel(ev, x, t, ret);
    case NODE_MATRIX_SEL: return eval_matrix_sel(ev, x, t, ret);
    case NODE_SUBQUERY: return eval_subquery(ev, x, t, ret);
    case NODE_BINARY: {
        struct promql_val l, rv;
        if ((r = promql_engine_eval(ev, x->u.bin.l, t, &l)) < 0 ||
            (r = promql_engine_eval(ev, x->u.bin.r, t, &rv)) < 0)
            return r;
        return promql_binops_eval(ev, x, &l, &rv, t, ret);
    }
    case NODE_AGG: {
        struct promql_val param = {0}, in;
        if (x->u.agg.param && (r = promql_engine_eval(ev, x->u.agg.param, t, &param)) < 0)
            return r;
        if ((r = promql_engine_eval(ev, x->u.agg.x, t, &in)) < 0)
            return r;
        return promql_aggregations_eval(ev, x, &param, &in, t, ret);
    }
    case NODE_CALL: return promql_functions_eval(ev, x, t, ret);
    }
    return err_set(ev->e, ERR_INTERNAL, "unknown expression node %d", (int) x->kind);
}

static int ev_begin(struct promql_ev *ev, promql_engine *eng, struct arena *a, struct err *e)
{
    memset(ev, 0, sizeof *ev);
    ev->eng = eng;
    ev->qa = a;
    ev->e = e;
    ev->lookback_ms = eng->o.lookback_delta_ms;
    ev->deadline_ns = time_mono_coarse_ns() + eng->o.timeout_ms * 1000000;
    ev->sa = arena_new(eng->o.step_bytes);
    if (!ev->sa)
        return err_set(e, -ENOMEM, "out of memory in query execution");
    return 0;
}

/* The step arena's use is sampled before every reset and at the end: its high-water mark. */
static void note_step_peak(struct promql_ev *ev)
{
    size_t used = arena_used(ev->sa);
    if (used > ev->step_peak)
        ev->step_peak = used;
}

static int copy_vector(struct promql_ev *ev, const struct promql_val *v, int64_t t,
                       struct promql_result *ret)
{
    struct promql_sample *out = arena_alloc(ev->qa, (v->n ? v->n : 1) * sizeof *out);
    if (!out)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < v->n; i++) {
        out[i].t = t;
        out[i].v = v->vec[i].v;
        if (labels_copy(ev->qa, &v->vec[i].metric, &out[i].metric) < 0)
            return promql_engine_oom(ev);
    }
    ret->u.vector.v = out;
    ret->u.vector.n = v->n;
    return 0;
}

static int copy_matrix(struct promql_ev *ev, const struct promql_val *v, struct promql_result *ret)
{
    struct promql_series *out = arena_alloc(ev->qa, (v->n ? v->n : 1) * sizeof *out);
    if (!out)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < v->n; i++) {
        out[i].n_points = v->mat[i].n_points;
        out[i].points = arena_alloc(ev->qa, (out[i].n_points + 1) * sizeof *out[i].points);
        if (!out[i].points || labels_copy(ev->qa, &v->mat[i].metric, &out[i].metric) < 0)
            return promql_engine_oom(ev);
        memcpy(out[i].points, v->mat[i].points, out[i].n_points * sizeof *out[i].points);
    }
    ret->u.matrix.v = out;
    ret->u.matrix.n = v->n;
    return 0;
}

/* Nodes in x, or SIZE_MAX when it holds a subquery (whose steps multiply all work under it) or
 * label_replace. */
static size_t small_nodes(const struct promql_expr *x)
{
    size_t n = 1, k;
    switch (x->kind) {
    case NODE_SUBQUERY: return SIZE_MAX;
    case NODE_NUMBER:
    case NODE_STRING:
    case NODE_VECTOR_SEL:
    case NODE_MATRIX_SEL: return 1;
    case NODE_PAREN: k = small_nodes(x->u.paren); break;
    case NODE_UNARY: k = small_nodes(x->u.unary.x); break;
    case NODE_BINARY:
        k = small_nodes(x->u.bin.l);
        n += k == SIZE_MAX ? 0 : k;
        k = k == SIZE_MAX ? k : small_nodes(x->u.bin.r);
        break;
    case NODE_AGG:
        k = x->u.agg.param ? small_nodes(x->u.agg.param) : 0;
        n += k == SIZE_MAX ? 0 : k;
        k = k == SIZE_MAX ? k : small_nodes(x->u.agg.x);
        break;
    case NODE_CALL:
        if (x->u.call.f->id == FN_LABEL_REPLACE)
            return SIZE_MAX; /* compiles a regular expression from the query while it runs */
        k = 0;
        for (size_t i = 0; i < x->u.call.n_args && k != SIZE_MAX; i++) {
            size_t c = small_nodes(x->u.call.args[i]);
            k = c == SIZE_MAX ? c : k + c;
        }
        break;
    default: return SIZE_MAX;
    }
    return k == SIZE_MAX ? k : n + k;
}

/* budget NULL: any query (promql_eval_instant); else promql_eval_instant_small(). */
static int eval_instant(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                        int64_t t_ms, const struct promql_small_budget *budget,
                        struct promql_result *ret, struct err *e)
{
    if (budget && small_nodes(x) > budget->nodes)
        return 1;
    struct promql_ev ev;
    size_t used0 = arena_used(a);
    int r = ev_begin(&ev, eng, a, e);
    if (r < 0)
        return r;
    ev.start_ms = ev.end_ms = t_ms;
    struct promql_val v;
    struct promql_result res = {0};
    ev.g_start = t_ms;
    ev.g_step = 1;
    ev.g_n = 1;
    if (budget) {
        /* Planning twice is harmless: the evaluation's own walk finds each selector planned. */
        r = promql_plan_walk(&ev, x, t_ms, t_ms);
        if (r >= 0)
            r = promql_plan_open_small(&ev, &budget->cost);
        if (r <= 0) {
            promql_plan_close(&ev);
            arena_free(ev.sa);
            return r < 0 ? r : 1;
        }
    }
    int grid = !eng->step_only && promql_grid_supported(x) && promql_grid_fits(&ev, x);
    if ((r = promql_engine_check(&ev)) >= 0 && grid) {
        if ((r = promql_plan_walk(&ev, x, t_ms, t_ms)) >= 0 && (r = promql_plan_open(&ev)) >= 0)
            r = promql_grid_run(&ev, x, 0, &res);
        promql_plan_close(&ev);
    } else if (r >= 0 && (r = promql_plan_load(&ev, x, t_ms, t_ms)) >= 0 &&
               (r = promql_engine_eval(&ev, x, t_ms, &v)) >= 0) {
        res.type = v.type;
        switch (v.type) {
        case PROMQL_SCALAR: res.u.scalar = (struct promql_point){t_ms, v.scalar}; break;
        case PROMQL_STRING:
            res.u.string.s = arena_strdup(a, v.str);
            res.u.string.t = t_ms;
            if (!res.u.string.s)
                r = promql_engine_oom(&ev);
            break;
        case PROMQL_VECTOR: r = copy_vector(&ev, &v, t_ms, &res); break;
        case PROMQL_MATRIX: r = copy_matrix(&ev, &v, &res); break;
        default: r = err_set(e, ERR_INTERNAL, "expression has no value type");
        }
    }
    promql_plan_close(&ev); /* a querier opened by small_fits() when the check failed first */
    note_step_peak(&ev);
    arena_free(ev.sa);
    res.peak_bytes = arena_used(a) - used0 + ev.step_peak + ev.g_peak + ev.ld_peak;
    res.read_samples = ev.read_samples;
    res.peak_samples = ev.peak_samples;
    if (r >= 0)
        *ret = res;
    return r < 0 ? r : 0;
}

int promql_eval_instant(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                        int64_t t_ms, struct promql_result *ret, struct err *e)
{
    return eval_instant(eng, a, x, t_ms, NULL, ret, e);
}

int promql_eval_instant_small(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                              int64_t t_ms, const struct promql_small_budget *b,
                              struct promql_result *ret, struct err *e)
{
    return eval_instant(eng, a, x, t_ms, b, ret, e);
}

/* A range query's result while steps run: series in the query arena, indexed by label hash; the
 * points of all series in one heap array, laid out per series once at the end. */
struct range_acc {
    struct promql_hidx idx;
    struct labels *metrics;
    size_t n, cap;
    struct range_point {
        size_t series;
        int64_t t;
        double v;
    } *pts;
    size_t n_pts, cap_pts;
};

static int range_append(struct promql_ev *ev, struct range_acc *acc, const struct labels *metric,
                        int64_t t, double v)
{
    uint64_t h = promql_value_hash(metric, NULL, 0, PROMQL_LS_ALL);
    size_t cur = 0, k;
    int found = 0;
    while (!found && promql_hidx_next(&acc->idx, h, &cur, &k))
        found = labels_equal(&acc->metrics[k], metric);
    if (!found) {
        if (acc->n == acc->cap) {
            size_t nc = acc->cap ? acc->cap * 2 : 16;
            struct labels *nm = arena_realloc(ev->qa, acc->metrics, acc->cap * sizeof *nm,
                                              nc * sizeof *nm);
            if (!nm)
                return promql_engine_oom(ev);
            acc->metrics = nm;
            acc->cap = nc;
        }
        k = acc->n;
        if (labels_copy(ev->qa, metric, &acc->metrics[k]) < 0 ||
            promql_hidx_add(&acc->idx, h, k) < 0)
            return promql_engine_oom(ev);
        acc->n++;
    }
    if (acc->n_pts == acc->cap_pts) {
        size_t nc = acc->cap_pts ? acc->cap_pts * 2 : 1024;
        struct range_point *np = realloc(acc->pts, nc * sizeof *np);
        if (!np)
            return err_set(ev->e, -ENOMEM, "out of memory in query execution");
        acc->pts = np;
        acc->cap_pts = nc;
    }
    acc->pts[acc->n_pts++] = (struct range_point){k, t, v};
    ev->result_samples++;
    return 0;
}

/* Points were appended step by step, so each series' points come out in time order. */
static int range_finish(struct promql_ev *ev, struct range_acc *acc, struct promql_series **ret)
{
    struct promql_series *out = arena_calloc(ev->qa, acc->n ? acc->n : 1, sizeof *out);
    if (!out)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < acc->n_pts; i++)
        out[acc->pts[i].series].n_points++;
    for (size_t i = 0; i < acc->n; i++) {
        out[i].metric = acc->metrics[i];
        out[i].points = arena_alloc(ev->qa, out[i].n_points * sizeof *out[i].points);
        if (!out[i].points)
            return promql_engine_oom(ev);
        out[i].n_points = 0;
    }
    for (size_t i = 0; i < acc->n_pts; i++) {
        struct promql_series *s = &out[acc->pts[i].series];
        s->points[s->n_points++] = (struct promql_point){acc->pts[i].t, acc->pts[i].v};
    }
    *ret = out;
    return 0;
}

static int cmp_series(const void *a, const void *b)
{
    return labels_cmp(&((const struct promql_series *) a)->metric,
                      &((const struct promql_series *) b)->metric);
}

int promql_eval_range(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                      int64_t start_ms, int64_t end_ms, int64_t step_ms, struct promql_result *ret,
                      struct err *e)
{
    enum promql_value_type type = promql_expr_type(x);
    if (type != PROMQL_SCALAR && type != PROMQL_VECTOR)
        return err_set(e, ERR_EXEC,
                       "invalid expression type \"%s\" for range query, must be "
                       "Scalar or instant Vector",
                       promql_value_type_doc(type));
    if (step_ms <= 0 || end_ms < start_ms)
        return err_set(e, ERR_EXEC, "invalid range query: step must be positive and end >= start");
    struct promql_ev ev;
    size_t used0 = arena_used(a);
    int r = ev_begin(&ev, eng, a, e);
    if (r < 0)
        return r;
    ev.start_ms = start_ms;
    ev.end_ms = end_ms;
    ev.step_ms = step_ms;
    struct range_acc acc = {.idx = {.a = a}};
    struct promql_series *out = NULL;
    uint64_t steps = ((uint64_t) end_ms - (uint64_t) start_ms) / (uint64_t) step_ms + 1;
    ev.g_start = start_ms;
    ev.g_step = step_ms;
    ev.g_n = steps <= PROMQL_GRID_MAX_STEPS ? (size_t) steps : 0;
    if (!eng->step_only && ev.g_n && promql_grid_supported(x) && promql_grid_fits(&ev, x)) {
        if ((r = promql_plan_walk(&ev, x, start_ms, end_ms)) >= 0 &&
            (r = promql_plan_open(&ev)) >= 0)
            r = promql_grid_run(&ev, x, 1, ret);
        promql_plan_close(&ev);
        note_step_peak(&ev);
        arena_free(ev.sa);
        if (r < 0)
            return r;
        ret->peak_bytes = arena_used(a) - used0 + ev.step_peak + ev.g_peak + ev.ld_peak;
        ret->read_samples = ev.read_samples;
        ret->peak_samples = ev.peak_samples;
        return 0;
    }
    r = promql_plan_load(&ev, x, start_ms, end_ms);
    for (int64_t t = start_ms; r >= 0 && t <= end_ms; t = promql_plan_sat_add(t, step_ms)) {
        note_step_peak(&ev);
        arena_reset(ev.sa);
        ev.samples = 0;
        struct promql_val v;
        if ((r = promql_engine_check(&ev)) < 0 || (r = promql_engine_eval(&ev, x, t, &v)) < 0)
            break;
        if (v.type == PROMQL_SCALAR) {
            struct labels none = {0};
            r = range_append(&ev, &acc, &none, t, v.scalar);
        } else {
            for (size_t i = 0; i < v.n && r >= 0; i++)
                r = range_append(&ev, &acc, &v.vec[i].metric, t, v.vec[i].v);
        }
        if (r >= 0)
            r = promql_engine_count(&ev, 0);
        if (t == INT64_MAX)
            break;
    }
    if (r >= 0)
        r = range_finish(&ev, &acc, &out);
    size_t pts_bytes = acc.cap_pts * sizeof *acc.pts;
    free(acc.pts);
    note_step_peak(&ev);
    arena_free(ev.sa);
    if (r < 0)
        return r;
    size_t n = acc.n;
    if (n > 1)
        qsort(out, n, sizeof *out, cmp_series);
    *ret = (struct promql_result){.type = PROMQL_MATRIX};
    ret->u.matrix.v = out;
    ret->u.matrix.n = n;
    ret->peak_bytes = arena_used(a) - used0 + ev.step_peak + pts_bytes;
    ret->read_samples = ev.read_samples;
    ret->peak_samples = ev.peak_samples;
    return 0;
}
