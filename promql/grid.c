/* promql/grid.c — series-major evaluation: each node of a query is evaluated once over all of the
 * query's steps (its grid; an instant query is a grid of one step), instead of the whole
 * expression once per step. Here: grid values, merging series by label set, the per-step
 * adapter, unary minus, dispatch and the query's result. Selectors, range-vector functions and
 * subqueries are in grid_range.c, operators and aggregations in grid_ops.c, the other
 * functions in grid_functions.c.
 *
 * Why: evaluated step by step, a range query redid all label work at every step (dropping
 * names, grouping keys, matching signatures, merging outputs by label set) and searched every
 * series' samples at every step. On the grid that work happens once per series, range windows
 * slide forward through each series' samples with two indices, and aggregations add whole
 * series into per-group arrays.
 *
 * A grid value (struct promql_gval, engine.h) holds, per series, its values over the steps it
 * spans, with PROMQL_ABSENT_BITS where it has none. The semantics are the per-step evaluator's,
 * step by step: an element is present at a step exactly when the per-step evaluator would have
 * produced it there, and every per-step error check (duplicate label sets, matching
 * cardinality) is made on the steps where both elements are present. Outputs that the per-step
 * evaluator produced with equal label sets at different steps become one series, as the range
 * query's merge by label set always made them. Operations without a series-major form here
 * (quantile, count_values) run the per-step code on one step's column at a time
 * (promql_grid_stepwise).
 *
 * Memory: values live in heap blocks owned by their grid value and freed as soon as the parent
 * has used them. While a value lives, its slots (steps spanned, per series) count against
 * max_samples, as Prometheus counts each node's matrix, so memory is bounded by the sample
 * limit. Every block is also on the evaluation's list, so any error path frees everything at
 * the end of the query. Label sets made here live in the query arena: one per series. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

#define BLOCK_MIN (64u << 10)
/* A value's first block: most values of small queries (an instant query over a few series) fit,
 * and malloc serves it without the consolidation that freeing 64 KiB costs; blocks then double
 * up to BLOCK_MIN and beyond. */
#define BLOCK_FIRST (4u << 10)

struct promql_gblock {
    struct promql_gblock *prev, *next; /* the evaluation's list of live blocks */
    struct promql_gblock *vnext;       /* the owning value's blocks */
    size_t used, cap;
    max_align_t data[];
};

void *promql_grid_alloc(struct promql_ev *ev, struct promql_gval *v, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t) 15;
    struct promql_gblock *b = v->mem;
    if (!b || b->cap - b->used < bytes) {
        size_t least = !b ? BLOCK_FIRST : b->cap < BLOCK_MIN ? b->cap * 2 : BLOCK_MIN;
        size_t cap = bytes > least ? bytes : least;
        if (b && cap < b->cap * 2 && b->cap < (16u << 20))
            cap = b->cap * 2;
        if (cap > SIZE_MAX - sizeof *b || !(b = malloc(sizeof *b + cap))) {
            ev->g_err = err_set(ev->e, -ENOMEM, "out of memory in query execution");
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->vnext = v->mem;
        v->mem = b;
        b->prev = NULL;
        b->next = ev->g_blocks;
        if (ev->g_blocks)
            ev->g_blocks->prev = b;
        ev->g_blocks = b;
        ev->g_bytes += sizeof *b + cap;
        if (ev->g_bytes > ev->g_peak)
            ev->g_peak = ev->g_bytes;
    }
    void *p = (char *) b->data + b->used;
    b->used += bytes;
    return p;
}

static void block_unlink_free(struct promql_ev *ev, struct promql_gblock *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        ev->g_blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    ev->g_bytes -= sizeof *b + b->cap;
    free(b);
}

void promql_grid_free(struct promql_ev *ev, struct promql_gval *v)
{
    for (struct promql_gblock *b = v->mem, *nb; b; b = nb) {
        nb = b->vnext;
        block_unlink_free(ev, b);
    }
    ev->samples -= v->slots < ev->samples ? v->slots : ev->samples;
    memset(v, 0, sizeof *v);
}

/* Everything still held at the end of a query (error paths), and the scratch buffers. */
static void grid_free_all(struct promql_ev *ev)
{
    while (ev->g_blocks)
        block_unlink_free(ev, ev->g_blocks);
    for (int i = 0; i < PROMQL_GRID_SCRATCH; i++) {
        if (ev->g_scr[i] != ev->g_scr_small[i])
            free(ev->g_scr[i]);
        ev->g_scr[i] = NULL;
        ev->g_scr_cap[i] = 0;
    }
}

/* Small requests (a query of a few steps) are served from ev itself: no heap at all. */
void *promql_grid_scratch(struct promql_ev *ev, int slot, size_t n)
{
    if (n > ev->g_scr_cap[slot]) {
        void *old = ev->g_scr[slot], *p;
        if (!old && n <= sizeof ev->g_scr_small[slot]) {
            ev->g_scr[slot] = ev->g_scr_small[slot];
            ev->g_scr_cap[slot] = sizeof ev->g_scr_small[slot];
            return ev->g_scr[slot];
        }
        size_t nc = n < 4096 ? 4096 : n;
        if (old == ev->g_scr_small[slot]) {
            if ((p = malloc(nc)))
                memcpy(p, old, ev->g_scr_cap[slot]); /* contents survive, as with realloc */
        } else {
            p = realloc(old, nc);
        }
        if (!p) {
            ev->g_err = err_set(ev->e, -ENOMEM, "out of memory in query execution");
            return NULL;
        }
        ev->g_scr[slot] = p;
        ev->g_scr_cap[slot] = nc;
    }
    return ev->g_scr[slot];
}

static int series_reserve(struct promql_ev *ev, struct promql_gval *v, size_t want)
{
    if (want <= v->cap)
        return 0;
    size_t nc = v->cap ? v->cap * 2 : 16;
    if (nc < want)
        nc = want;
    struct promql_gseries *ns = promql_grid_alloc(ev, v, nc * sizeof *ns);
    if (!ns)
        return promql_grid_err(ev);
    if (v->n)
        memcpy(ns, v->s, v->n * sizeof *ns);
    v->s = ns;
    v->cap = nc;
    return 0;
}

int promql_grid_vector(struct promql_ev *ev, struct promql_gval *v, size_t cap)
{
    memset(v, 0, sizeof *v);
    v->type = PROMQL_VECTOR;
    return series_reserve(ev, v, cap ? cap : 1);
}

int promql_grid_scalar(struct promql_ev *ev, struct promql_gval *v)
{
    memset(v, 0, sizeof *v);
    v->type = PROMQL_SCALAR;
    v->sc = promql_grid_alloc(ev, v, ev->g_n * sizeof *v->sc);
    return v->sc ? 0 : promql_grid_err(ev);
}

/* Slots taken by a new series: counted like samples, and over the limit is Prometheus' error. */
static int take_slots(struct promql_ev *ev, struct promql_gval *v, uint64_t n)
{
    ev->samples += n;
    v->slots += n;
    promql_engine_note_held(ev, 0);
    if (ev->samples + ev->result_samples > ev->eng->o.max_samples)
        return err_set(ev->e, ERR_LIMIT, MSG_TOO_MANY_SAMPLES);
    return 0;
}

int promql_grid_put(struct promql_ev *ev, struct promql_gval *v, const struct labels *metric,
                    const double *vals, size_t k0, size_t len)
{
    size_t lo = 0, hi = len;
    while (lo < hi && promql_absent(vals[lo]))
        lo++;
    while (hi > lo && promql_absent(vals[hi - 1]))
        hi--;
    if (lo == hi)
        return 0;
    int r;
    if ((r = take_slots(ev, v, hi - lo)) < 0)
        return r;
    double *cp = promql_grid_alloc(ev, v, (hi - lo) * sizeof *cp);
    if (!cp || series_reserve(ev, v, v->n + 1) < 0)
        return promql_grid_err(ev);
    memcpy(cp, vals + lo, (hi - lo) * sizeof *cp);
    v->s[v->n++] = (struct promql_gseries){*metric, (uint32_t) (k0 + lo), (uint32_t) (hi - lo), cp};
    return 0;
}

void *promql_grid_tmp_alloc(struct promql_ev *ev, struct promql_gval *tmp, size_t n, size_t size)
{
    if (n && size > SIZE_MAX / n) {
        ev->g_err = err_set(ev->e, -ENOMEM, "out of memory in query execution");
        return NULL;
    }
    return promql_grid_alloc(ev, tmp, n * size);
}

void *promql_grid_tmp_steps(struct promql_ev *ev, struct promql_gval *tmp, size_t n, size_t size)
{
    int r = take_slots(ev, tmp, n);
    if (r < 0) {
        ev->g_err = r;
        return NULL;
    }
    return promql_grid_tmp_alloc(ev, tmp, n, size);
}

int promql_grid_drop_name(struct promql_ev *ev, const struct labels *in, struct labels *ret)
{
    if (!labels_get(in, LABEL_METRIC_NAME)) {
        *ret = *in;
        return 0;
    }
    return promql_value_drop_name(ev->qa, in, ret) < 0 ? promql_engine_oom(ev) : 0;
}

static int overlap(const struct promql_gseries *a, const struct promql_gseries *b)
{
    size_t lo = a->k0 > b->k0 ? a->k0 : b->k0;
    size_t hi = a->k0 + a->len < b->k0 + b->len ? a->k0 + a->len : b->k0 + b->len;
    for (size_t k = lo; k < hi; k++)
        if (!promql_absent(a->v[k - a->k0]) && !promql_absent(b->v[k - b->k0]))
            return 1;
    return 0;
}

/* Moves b's values into a (their present steps are disjoint); b is left empty. */
static int merge_into(struct promql_ev *ev, struct promql_gval *v, struct promql_gseries *a,
                      struct promql_gseries *b)
{
    size_t lo = a->k0 < b->k0 ? a->k0 : b->k0;
    size_t hi = a->k0 + a->len > b->k0 + b->len ? a->k0 + a->len : b->k0 + b->len;
    size_t grow = (hi - lo) - a->len - b->len;
    if ((hi - lo) > a->len + b->len) {
        int r = take_slots(ev, v, grow);
        if (r < 0)
            return r;
    }
    double *vals = promql_grid_alloc(ev, v, (hi - lo) * sizeof *vals);
    if (!vals)
        return promql_grid_err(ev);
    for (size_t k = lo; k < hi; k++) {
        double x = promql_grid_at(a, k);
        vals[k - lo] = promql_absent(x) ? promql_grid_at(b, k) : x;
    }
    /* The old arrays stay in the value's blocks until it is freed; their slots move here. */
    a->k0 = (uint32_t) lo;
    a->len = (uint32_t) (hi - lo);
    a->v = vals;
    b->len = 0;
    return 0;
}

int promql_grid_merge_same(struct promql_ev *ev, struct promql_gval *v, int check,
                           size_t *ret_first, size_t *ret_second)
{
    if (v->n < 2)
        return 0;
    struct promql_hidx idx = {.a = ev->qa};
    int merged = 0;
    for (size_t i = 0; i < v->n; i++) {
        uint64_t h = promql_value_hash(&v->s[i].metric, NULL, 0, PROMQL_LS_ALL);
        size_t cur = 0, j;
        int found = 0;
        while (!found && promql_hidx_next(&idx, h, &cur, &j))
            found = labels_equal(&v->s[j].metric, &v->s[i].metric);
        if (!found) {
            if (promql_hidx_add(&idx, h, i) < 0)
                return promql_engine_oom(ev);
            continue;
        }
        if (overlap(&v->s[j], &v->s[i])) {
            if (check) {
                *ret_first = j;
                *ret_second = i;
                return 1;
            }
            continue; /* both stay: the per-step evaluator gave both at that step */
        }
        int r = merge_into(ev, v, &v->s[j], &v->s[i]);
        if (r < 0)
            return r;
        merged = 1;
    }
    if (merged) {
        size_t o = 0;
        for (size_t i = 0; i < v->n; i++)
            if (v->s[i].len)
                v->s[o++] = v->s[i];
        v->n = o;
    }
    return 0;
}

int promql_grid_unique(struct promql_ev *ev, struct promql_gval *v, int check, const char *msg)
{
    size_t a, b;
    if (!check)
        return 0; /* the caller knows the label sets differ */
    int r = promql_grid_merge_same(ev, v, 1, &a, &b);
    if (r == 1)
        return err_set(ev->e, ERR_EXEC, "%s", msg);
    return r;
}

/* ---- the per-step adapter ---- */

int promql_grid_stepwise(struct promql_ev *ev, const struct promql_expr *x, int which,
                         struct promql_gval *args, size_t n_args, struct promql_gval *ret)
{
    size_t n = ev->g_n;
    struct promql_val *sv = arena_calloc(ev->qa, n_args + 3, sizeof *sv);
    struct promql_hidx idx = {.a = ev->qa};
    struct promql_gval acc; /* full-grid arrays, one per output series */
    memset(ret, 0, sizeof *ret);
    int r = promql_grid_vector(ev, &acc, 16);
    if (!sv || r < 0)
        return promql_grid_err(ev);
    uint64_t held = ev->samples;
    const double none = promql_absent_value();
    int scalar_out = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t t = promql_grid_t(ev, k);
        if ((k & 63) == 63 && (r = promql_engine_check(ev)) < 0)
            goto out;
        size_t used = arena_used(ev->sa);
        if (used > ev->step_peak)
            ev->step_peak = used;
        arena_reset(ev->sa);
        for (size_t a = 0; a < n_args; a++) {
            struct promql_gval *g = &args[a];
            sv[a] = (struct promql_val){.type = g->type, .str = g->str};
            if (g->type == PROMQL_SCALAR) {
                sv[a].scalar = g->sc[k];
            } else if (g->type == PROMQL_VECTOR) {
                size_t cap = 0;
                for (size_t i = 0; i < g->n; i++) {
                    double v = promql_grid_at(&g->s[i], k);
                    if (!promql_absent(v) &&
                        promql_value_push(ev->sa, &sv[a], &cap, &g->s[i].metric, t, v) < 0) {
                        r = promql_engine_oom(ev);
                        goto out;
                    }
                }
            }
        }
        struct promql_val o;
        if (which == 'b')
            r = promql_binops_eval(ev, x, &sv[0], &sv[1], t, &o);
        else if (which == 'a')
            r = promql_aggregations_eval(ev, x, &sv[0], &sv[1], t, &o);
        else
            r = promql_functions_apply(ev, x, sv, t, &o);
        ev->samples = held; /* what the step held is gone after it */
        if (r < 0)
            goto out;
        if (o.type == PROMQL_SCALAR) {
            if (!scalar_out) {
                struct promql_gval sc;
                if ((r = promql_grid_scalar(ev, &sc)) < 0)
                    goto out;
                promql_grid_free(ev, ret);
                *ret = sc;
                scalar_out = 1;
            }
            ret->sc[k] = o.scalar;
            continue;
        }
        for (size_t i = 0; i < o.n; i++) {
            const struct labels *m = &o.vec[i].metric;
            uint64_t h = promql_value_hash(m, NULL, 0, PROMQL_LS_ALL);
            size_t cur = 0, j;
            int found = 0;
            /* The same label set twice in one step stays two series, as it was two elements. */
            while (!found && promql_hidx_next(&idx, h, &cur, &j))
                found = labels_equal(&acc.s[j].metric, m) && promql_absent(acc.s[j].v[k]);
            if (!found) {
                struct labels cp;
                double *vals;
                if ((r = take_slots(ev, &acc, n)) < 0)
                    goto out;
                held += n;
                if (labels_copy(ev->qa, m, &cp) < 0 || promql_hidx_add(&idx, h, acc.n) < 0 ||
                    series_reserve(ev, &acc, acc.n + 1) < 0 ||
                    !(vals = promql_grid_alloc(ev, &acc, n * sizeof *vals))) {
                    r = promql_engine_oom(ev);
                    goto out;
                }
                for (size_t q = 0; q < n; q++)
                    vals[q] = none;
                j = acc.n++;
                acc.s[j] = (struct promql_gseries){cp, 0, (uint32_t) n, vals};
            }
            acc.s[j].v[k] = o.vec[i].v;
        }
    }
    r = 0;
    if (!scalar_out) {
        if ((r = promql_grid_vector(ev, ret, acc.n)) < 0)
            goto out;
        for (size_t i = 0; i < acc.n && r >= 0; i++)
            r = promql_grid_put(ev, ret, &acc.s[i].metric, acc.s[i].v, 0, n);
    }
out:
    promql_grid_free(ev, &acc);
    return r;
}

/* ---- unary minus and dispatch ---- */

static int grid_unary(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *ret)
{
    struct promql_gval in;
    int r = promql_grid_eval(ev, x->u.unary.x, &in);
    if (r < 0 || x->u.unary.op != OP_SUB) {
        *ret = in;
        return r;
    }
    if (in.type == PROMQL_SCALAR) {
        for (size_t k = 0; k < ev->g_n; k++)
            in.sc[k] = -in.sc[k];
        *ret = in;
        return 0;
    }
    /* In place: the input is this node's alone. */
    for (size_t i = 0; i < in.n; i++) {
        struct promql_gseries *s = &in.s[i];
        for (size_t k = 0; k < s->len; k++)
            if (!promql_absent(s->v[k]))
                s->v[k] = -s->v[k];
        if ((r = promql_grid_drop_name(ev, &s->metric, &s->metric)) < 0)
            break;
    }
    *ret = in;
    if (r < 0)
        return r;
    return promql_grid_unique(ev, ret, !promql_value_one_name(x->u.unary.x),
                              "vector cannot contain metrics with the same labelset");
}

int promql_grid_eval(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *ret)
{
    int r = promql_engine_check(ev);
    memset(ret, 0, sizeof *ret);
    if (r < 0)
        return r;
    switch (x->kind) {
    case NODE_NUMBER:
        if ((r = promql_grid_scalar(ev, ret)) < 0)
            return r;
        for (size_t k = 0; k < ev->g_n; k++)
            ret->sc[k] = x->u.num;
        return 0;
    case NODE_STRING:
        ret->type = PROMQL_STRING;
        ret->str = x->u.str;
        return 0;
    case NODE_PAREN: return promql_grid_eval(ev, x->u.paren, ret);
    case NODE_UNARY: return grid_unary(ev, x, ret);
    case NODE_VECTOR_SEL: return promql_grid_selector(ev, x, 0, ret);
    case NODE_BINARY: {
        struct promql_gval l, rv = {0};
        if ((r = promql_grid_eval(ev, x->u.bin.l, &l)) >= 0 &&
            (r = promql_grid_eval(ev, x->u.bin.r, &rv)) >= 0)
            r = promql_grid_binop(ev, x, &l, &rv, ret);
        promql_grid_free(ev, &l);
        promql_grid_free(ev, &rv);
        return r;
    }
    case NODE_AGG: {
        struct promql_gval param = {0}, in = {0};
        if ((!x->u.agg.param || (r = promql_grid_eval(ev, x->u.agg.param, &param)) >= 0) &&
            (r = promql_grid_eval(ev, x->u.agg.x, &in)) >= 0)
            r = promql_grid_agg(ev, x, &param, &in, ret);
        promql_grid_free(ev, &param);
        promql_grid_free(ev, &in);
        return r;
    }
    case NODE_CALL: return promql_grid_call(ev, x, ret);
    case NODE_MATRIX_SEL:
    case NODE_SUBQUERY: break;
    }
    return err_set(ev->e, ERR_INTERNAL, "node %d cannot be evaluated on the grid", (int) x->kind);
}

int promql_grid_supported(const struct promql_expr *x)
{
    switch (x->kind) {
    case NODE_NUMBER:
    case NODE_STRING:
    case NODE_VECTOR_SEL: return 1;
    case NODE_MATRIX_SEL:
    case NODE_SUBQUERY: return 0; /* only as a range function's argument, below */
    case NODE_PAREN: return promql_grid_supported(x->u.paren);
    case NODE_UNARY: return promql_grid_supported(x->u.unary.x);
    case NODE_BINARY: return promql_grid_supported(x->u.bin.l) && promql_grid_supported(x->u.bin.r);
    case NODE_AGG:
        return (!x->u.agg.param || promql_grid_supported(x->u.agg.param)) &&
               promql_grid_supported(x->u.agg.x);
    case NODE_CALL:
        for (size_t i = 0; i < x->u.call.n_args; i++) {
            const struct promql_expr *a = x->u.call.args[i];
            if (x->u.call.f->args[i < (size_t) x->u.call.f->n_args ? i : 0] == PROMQL_MATRIX) {
                const struct promql_expr *m = promql_unparen(a);
                if (m->kind != NODE_MATRIX_SEL &&
                    !(m->kind == NODE_SUBQUERY && promql_grid_supported(m->u.sub.x)))
                    return 0;
            } else if (!promql_grid_supported(a)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

/* ---- the query's result ---- */

static int cmp_series(const void *a, const void *b)
{
    return labels_cmp(&((const struct promql_series *) a)->metric,
                      &((const struct promql_series *) b)->metric);
}

static int to_result(struct promql_ev *ev, const struct promql_gval *v, int range,
                     struct promql_result *ret)
{
    size_t n = ev->g_n;
    if (v->type == PROMQL_STRING) {
        ret->type = PROMQL_STRING;
        ret->u.string.s = arena_strdup(ev->qa, v->str);
        ret->u.string.t = ev->g_start;
        return ret->u.string.s ? 0 : promql_engine_oom(ev);
    }
    if (!range && v->type == PROMQL_SCALAR) {
        ret->type = PROMQL_SCALAR;
        ret->u.scalar = (struct promql_point){ev->g_start, v->sc[0]};
        return 0;
    }
    if (!range) {
        struct promql_sample *out = arena_alloc(ev->qa, (v->n ? v->n : 1) * sizeof *out);
        if (!out)
            return promql_engine_oom(ev);
        size_t m = 0;
        for (size_t i = 0; i < v->n; i++) {
            /* Deep copies: labels may point into the query's syntax tree, which the caller may
         * free before the result (rules keep one tree for many evaluations). */
            if (labels_copy(ev->qa, &v->s[i].metric, &out[m].metric) < 0)
                return promql_engine_oom(ev);
            out[m].t = ev->g_start;
            out[m++].v = v->s[i].v[0];
        }
        ret->type = PROMQL_VECTOR;
        ret->u.vector.v = out;
        ret->u.vector.n = m;
        return 0;
    }
    size_t ns = v->type == PROMQL_SCALAR ? 1 : v->n;
    struct promql_series *out = arena_alloc(ev->qa, (ns ? ns : 1) * sizeof *out);
    if (!out)
        return promql_engine_oom(ev);
    uint64_t points = 0;
    for (size_t i = 0; i < ns; i++) {
        const struct promql_gseries *s = v->type == PROMQL_SCALAR ? NULL : &v->s[i];
        size_t k0 = s ? s->k0 : 0, len = s ? s->len : n, cnt = 0;
        const double *vals = s ? s->v : v->sc;
        for (size_t k = 0; k < len; k++)
            cnt += !promql_absent(vals[k]);
        struct promql_point *p = arena_alloc(ev->qa, (cnt ? cnt : 1) * sizeof *p);
        if (!p)
            return promql_engine_oom(ev);
        out[i] = (struct promql_series){.points = p, .n_points = cnt};
        if (s && labels_copy(ev->qa, &s->metric, &out[i].metric) < 0)
            return promql_engine_oom(ev);
        for (size_t k = 0, o = 0; k < len; k++)
            if (!promql_absent(vals[k]))
                p[o++] = (struct promql_point){promql_grid_t(ev, k0 + k), vals[k]};
        points += cnt;
    }
    ev->result_samples = points;
    if (ns > 1)
        qsort(out, ns, sizeof *out, cmp_series);
    ret->type = PROMQL_MATRIX;
    ret->u.matrix.v = out;
    ret->u.matrix.n = ns;
    return 0;
}

int promql_grid_run(struct promql_ev *ev, const struct promql_expr *x, int range,
                    struct promql_result *ret)
{
    struct promql_gval v;
    int r = promql_grid_eval(ev, x, &v);
    if (r >= 0)
        r = to_result(ev, &v, range, ret);
    promql_grid_free(ev, &v);
    grid_free_all(ev);
    return r;
}
