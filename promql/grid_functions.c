/* promql/grid_functions.c — functions without range-vector arguments on the step grid (see
 * grid.c): element-wise math and dates, label_replace/label_join (new label sets once per
 * series), histogram_quantile (buckets grouped once per series), absent, scalar, vector, sort,
 * timestamp; and the call dispatch, which hands range-vector functions to grid_range.c. Same
 * results as functions.c step by step. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

#define MSG_SAME_LABELSET "vector cannot contain metrics with the same labelset"

static double *dense(struct promql_ev *ev)
{
    return promql_grid_scratch(ev, 0, ev->g_n * sizeof(double));
}

/* Per-step scalar arguments of simple functions, as promql_functions_simple() reads them. */
static void step_args(const struct promql_gval *args, size_t na, size_t k, struct promql_val *sv)
{
    for (size_t j = 0; j < na; j++) {
        sv[j] = (struct promql_val){.type = args[j].type, .str = args[j].str};
        if (args[j].type == PROMQL_SCALAR)
            sv[j].scalar = args[j].sc[k];
    }
}

/* Element-wise functions: math, clamping, rounding, dates of values, timestamp of samples. */
static int elementwise(struct promql_ev *ev, const struct promql_expr *x,
                       const struct promql_gval *args, size_t na, struct promql_gval *in,
                       struct promql_gval *ret)
{
    enum promql_fn id = x->u.call.f->id;
    struct promql_val *sv = arena_calloc(ev->qa, na + 3, sizeof *sv);
    double *d = dense(ev);
    int r = promql_grid_vector(ev, ret, in->n);
    if (!sv)
        return promql_engine_oom(ev);
    if (!d || r < 0)
        return promql_grid_err(ev);
    const double none = promql_absent_value();
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_gseries *s = &in->s[i];
        if ((i & 1023) == 1023 && (r = promql_engine_check(ev)) < 0)
            return r;
        for (size_t j = 0; j < s->len; j++) {
            size_t k = s->k0 + j;
            double v = s->v[j];
            d[k] = none;
            if (promql_absent(v))
                continue;
            switch (id) {
            case FN_TIMESTAMP: d[k] = (double) promql_grid_t(ev, k) / 1000; break;
            PROMQL_CASE_DATE_FNS: d[k] = promql_functions_date_part(id, v); break;
            default:
                step_args(args, na, k, sv);
                if (id == FN_CLAMP && sv[2].scalar < sv[1].scalar)
                    break; /* an empty vector at this step */
                d[k] = promql_functions_simple(id, v, sv);
            }
        }
        struct labels m;
        if ((r = promql_grid_drop_name(ev, &s->metric, &m)) < 0 ||
            (r = promql_grid_put(ev, ret, &m, d + s->k0, s->k0, s->len)) < 0)
            return r;
    }
    return promql_grid_unique(ev, ret, !promql_value_one_name(x->u.call.args[0]),
                              MSG_SAME_LABELSET);
}

/* label_replace and label_join: new label sets once per series. */
static int relabel(struct promql_ev *ev, const struct promql_expr *x,
                   const struct promql_gval *args, size_t na, struct promql_gval *in,
                   struct promql_gval *ret)
{
    enum promql_fn id = x->u.call.f->id;
    struct promql_val *sv = arena_calloc(ev->qa, na + 3, sizeof *sv);
    struct re *re = NULL;
    if (!sv)
        return promql_engine_oom(ev);
    step_args(args, na, 0, sv);
    int r = id == FN_LABEL_REPLACE ? promql_functions_label_replace_prep(ev, x, sv, &re)
                                   : promql_functions_label_join_prep(ev, x, sv);
    if (r < 0)
        return r;
    if ((r = promql_grid_vector(ev, ret, in->n)) < 0)
        return r;
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_gseries *s = &in->s[i];
        struct labels m = s->metric;
        r = id == FN_LABEL_REPLACE ? promql_functions_label_replace_one(ev->qa, re, sv, &m)
                                   : promql_functions_label_join_one(ev->qa, sv, na - 3, &m);
        if (r < 0)
            return promql_engine_oom(ev);
        if ((r = promql_grid_put(ev, ret, &m, s->v, s->k0, s->len)) < 0)
            return r;
    }
    /* Prometheus 2.42 reports label_replace() duplicates like any other (its engine checks the
     * function's output), not with 1.x's "duplicated label set in output of label_replace()". */
    return promql_grid_unique(ev, ret, 1, MSG_SAME_LABELSET);
}

/* Buckets grouped by their labels without le (and per metric name), once per series. */
struct hgroup {
    struct labels src, metric;
    const char *name;
    size_t first, k0, end;
};

static int histogram_quantile(struct promql_ev *ev, const struct promql_gval *q,
                              const struct promql_gval *in, struct promql_gval *ret)
{
    static const char *le[] = {"le"};
    struct promql_gval tmp = {0};
    struct promql_hidx idx = {.a = ev->qa};
    size_t nin = in->n ? in->n : 1, n_groups = 0;
    struct hgroup *gs = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *gs);
    int32_t *gid = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *gid);
    double *upper = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *upper);
    int32_t *next = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *next); /* members in input order */
    int32_t *last = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *last);
    struct promql_bucket *b = promql_grid_tmp_alloc(ev, &tmp, nin, sizeof *b);
    int r = 0;
    if (!gs || !gid || !upper || !next || !last || !b) {
        r = promql_grid_err(ev);
        goto out;
    }
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_gseries *s = &in->s[i];
        const char *les = labels_get(&s->metric, "le");
        gid[i] = -1;
        next[i] = -1;
        if (!les || num_parse_float(les, strlen(les), &upper[i]) < 0)
            continue;
        const char *name = labels_get(&s->metric, LABEL_METRIC_NAME);
        uint64_t h = promql_value_hash(&s->metric, le, 1, PROMQL_LS_DROP) ^
                     (name ? hash_bytes(name, strlen(name)) : 0);
        size_t cur = 0, g;
        int found = 0;
        while (!found && promql_hidx_next(&idx, h, &cur, &g))
            found = promql_value_equal(&gs[g].src, &s->metric, le, 1, PROMQL_LS_DROP) &&
                    (gs[g].name && name ? strcmp(gs[g].name, name) == 0 : gs[g].name == name);
        if (!found) {
            g = n_groups++;
            gs[g] = (struct hgroup){.src = s->metric, .name = name, .first = i, .k0 = s->k0,
                                    .end = s->k0 + s->len};
            last[g] = (int32_t) i;
            if (promql_hidx_add(&idx, h, g) < 0 ||
                promql_value_filter(ev->qa, &s->metric, le, 1, 0, &gs[g].metric) < 0) {
                r = promql_engine_oom(ev);
                goto out;
            }
        } else {
            next[last[g]] = (int32_t) i;
            last[g] = (int32_t) i;
        }
        if (s->k0 < gs[g].k0)
            gs[g].k0 = s->k0;
        if (s->k0 + s->len > gs[g].end)
            gs[g].end = s->k0 + s->len;
        gid[i] = (int32_t) g;
    }
    double *d = dense(ev);
    if (!d || (r = promql_grid_vector(ev, ret, n_groups)) < 0) {
        r = promql_grid_err(ev);
        goto out;
    }
    const double none = promql_absent_value();
    for (size_t g = 0; g < n_groups; g++) {
        const struct hgroup *G = &gs[g];
        for (size_t k = G->k0; k < G->end; k++) {
            size_t nb = 0;
            for (int32_t i = (int32_t) G->first; i >= 0; i = next[i]) {
                double v = promql_grid_at(&in->s[i], k);
                if (!promql_absent(v))
                    b[nb++] = (struct promql_bucket){upper[i], v};
            }
            d[k] = nb ? promql_functions_bucket_quantile(q->sc[k], b, nb) : none;
        }
        if ((r = promql_grid_put(ev, ret, &G->metric, d + G->k0, G->k0, G->end - G->k0)) < 0)
            goto out;
    }
    r = promql_grid_unique(ev, ret, 1, MSG_SAME_LABELSET);
out:
    promql_grid_free(ev, &tmp);
    return r;
}

/* A vector of one series without labels (vector(), absent(), date functions without argument):
 * values d[0..n), absent steps left out. */
static int one_series(struct promql_ev *ev, const struct labels *m, const double *d,
                      struct promql_gval *ret)
{
    int r = promql_grid_vector(ev, ret, 1);
    return r < 0 ? r : promql_grid_put(ev, ret, m, d, 0, ev->g_n);
}

/* Present elements per step. */
static void count_present(const struct promql_gval *v, double *d, size_t n)
{
    for (size_t k = 0; k < n; k++)
        d[k] = 0;
    for (size_t i = 0; i < v->n; i++)
        for (size_t j = 0; j < v->s[i].len; j++)
            d[v->s[i].k0 + j] += !promql_absent(v->s[i].v[j]);
}

/* sort() and sort_desc() order an instant query's vector; a range query's series come out
 * sorted by labels whatever their order, as in Prometheus. */
static void sort_instant(struct promql_gval *v, int desc)
{
    for (size_t i = 1; i < v->n; i++) {
        for (size_t j = i; j > 0; j--) {
            double a = v->s[j - 1].v[0], b = v->s[j].v[0];
            int less = isnan(a) || (desc ? a < b : a > b);
            if (!less)
                break;
            struct promql_gseries t = v->s[j];
            v->s[j] = v->s[j - 1];
            v->s[j - 1] = t;
        }
    }
}

int promql_grid_call(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *ret)
{
    const struct promql_func *f = x->u.call.f;
    enum promql_fn id = f->id;
    size_t na = x->u.call.n_args, n = ev->g_n;
    int has_matrix = 0, r = 0;
    for (int i = 0; i < f->n_args; i++)
        has_matrix |= f->args[i] == PROMQL_MATRIX;
    struct promql_gval *args = arena_calloc(ev->qa, na + 3, sizeof *args);
    if (!args)
        return promql_engine_oom(ev);
    memset(ret, 0, sizeof *ret);
    for (size_t i = 0; i < na && r >= 0; i++) {
        const struct promql_expr *a = promql_unparen(x->u.call.args[i]);
        if (a->kind == NODE_MATRIX_SEL || a->kind == NODE_SUBQUERY)
            continue; /* read by the range function */
        if (id == FN_TIMESTAMP && a->kind == NODE_VECTOR_SEL)
            r = promql_grid_selector(ev, a, 1, &args[i]); /* the samples' own times */
        else
            r = promql_grid_eval(ev, x->u.call.args[i], &args[i]);
    }
    double *d = r >= 0 ? dense(ev) : NULL;
    if (r < 0 || !d)
        goto out;
    if (has_matrix) {
        r = promql_grid_range_call(ev, x, args, ret);
        goto out;
    }
    switch (id) {
    case FN_TIME:
    case FN_PI:
        if ((r = promql_grid_scalar(ev, ret)) >= 0)
            for (size_t k = 0; k < n; k++)
                ret->sc[k] = id == FN_PI ? M_PI : (double) promql_grid_t(ev, k) / 1000;
        break;
    case FN_SCALAR: {
        if ((r = promql_grid_scalar(ev, ret)) < 0)
            break;
        for (size_t k = 0; k < n; k++)
            ret->sc[k] = (double) NAN;
        /* The one present element's value where there is exactly one. */
        double *cnt = promql_grid_scratch(ev, 1, n * sizeof *cnt);
        if (!cnt) {
            r = promql_grid_err(ev);
            break;
        }
        count_present(&args[0], cnt, n);
        for (size_t i = 0; i < args[0].n; i++)
            for (size_t j = 0; j < args[0].s[i].len; j++) {
                size_t k = args[0].s[i].k0 + j;
                if (cnt[k] == 1 && !promql_absent(args[0].s[i].v[j]))
                    ret->sc[k] = args[0].s[i].v[j];
            }
        break;
    }
    case FN_VECTOR: {
        struct labels none = {0};
        r = one_series(ev, &none, args[0].sc, ret);
        break;
    }
    case FN_ABSENT: {
        struct labels m;
        if ((r = promql_functions_absent_labels(ev, ev->qa, x->u.call.args[0], &m)) < 0)
            break;
        count_present(&args[0], d, n);
        for (size_t k = 0; k < n; k++)
            d[k] = d[k] == 0 ? 1 : promql_absent_value();
        r = one_series(ev, &m, d, ret);
        break;
    }
    case FN_SORT:
    case FN_SORT_DESC:
        *ret = args[0]; /* taken over */
        memset(&args[0], 0, sizeof args[0]);
        if (n == 1)
            sort_instant(ret, id == FN_SORT_DESC);
        break;
    case FN_LABEL_REPLACE:
    case FN_LABEL_JOIN: r = relabel(ev, x, args, na, &args[0], ret); break;
    case FN_HISTOGRAM_QUANTILE: r = histogram_quantile(ev, &args[0], &args[1], ret); break;
    case FN_HISTOGRAM_COUNT:
    case FN_HISTOGRAM_SUM:
    case FN_HISTOGRAM_FRACTION: r = promql_grid_vector(ev, ret, 1); break;
    PROMQL_CASE_DATE_FNS:
        if (na == 0) {
            struct labels none = {0};
            for (size_t k = 0; k < n; k++)
                d[k] = promql_functions_date_part(id, (double) (promql_grid_t(ev, k) / 1000));
            r = one_series(ev, &none, d, ret);
            break;
        }
        r = elementwise(ev, x, args, na, &args[0], ret);
        break;
    case FN_TIMESTAMP:
        if (promql_unparen(x->u.call.args[0])->kind == NODE_VECTOR_SEL) {
            /* Already the samples' times: only the name goes. */
            struct promql_gval *in = &args[0];
            if ((r = promql_grid_vector(ev, ret, in->n)) < 0)
                break;
            for (size_t i = 0; i < in->n && r >= 0; i++) {
                struct labels m;
                const struct promql_gseries *s = &in->s[i];
                if ((r = promql_grid_drop_name(ev, &s->metric, &m)) >= 0)
                    r = promql_grid_put(ev, ret, &m, s->v, s->k0, s->len);
            }
            if (r >= 0)
                r = promql_grid_unique(ev, ret, !promql_value_one_name(x->u.call.args[0]),
                                       MSG_SAME_LABELSET);
            break;
        }
        r = elementwise(ev, x, args, na, &args[0], ret);
        break;
    default: r = elementwise(ev, x, args, na, &args[0], ret); break;
    }
out:
    for (size_t i = 0; i < na; i++)
        promql_grid_free(ev, &args[i]);
    return r;
}
