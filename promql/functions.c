/* promql/functions.c — PromQL functions on floats: range-vector functions (rate, increase, delta
 * with Prometheus' extrapolation, irate, deriv, predict_linear, holt_winters, *_over_time),
 * element-wise math, clamping, time and date, label_replace/label_join, absent, sort and
 * histogram_quantile over classic buckets. Formulas follow Prometheus 2.42 promql/functions.go. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"
#include "tsdb/base/re.h"

double promql_aggregations_quantile(double q, struct promql_sample *v,
                                    size_t n); /* aggregations.c */

static const struct promql_expr *unparen(const struct promql_expr *x)
{
    while (x->kind == NODE_PAREN)
        x = x->u.paren;
    return x;
}

/* Go's math.Max/Min: NaN wins, unlike C's fmax/fmin. */
static double go_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return (double) NAN;
    return a > b ? a : b;
}
static double go_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return (double) NAN;
    return a < b ? a : b;
}

/* ---- range-vector functions ---- */

static struct promql_window window_of(struct promql_ev *ev, const struct promql_expr *arg,
                                      int64_t t)
{
    arg = unparen(arg);
    struct promql_window r = {0};
    if (arg->kind == NODE_MATRIX_SEL) {
        r.end = promql_engine_at_ref(ev, &arg->u.matrix.vs->u.sel.mod, t);
        r.range_ms = arg->u.matrix.range_ms;
    } else if (arg->kind == NODE_SUBQUERY) {
        r.end = promql_engine_at_ref(ev, &arg->u.sub.mod, t);
        r.range_ms = arg->u.sub.range_ms;
    }
    r.start = r.end - r.range_ms;
    return r;
}

/* The increase over p[0..n) before extrapolation: with counter, each drop (a reset) adds the
 * value before it, summed in sample order as Prometheus does. */
double promql_functions_raw_delta(const struct promql_point *p, size_t n, int counter)
{
    double result = p[n - 1].v - p[0].v;
    if (counter) {
        double last = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i].v < last)
                result += last;
            last = p[i].v;
        }
    }
    return result;
}

static int extrapolated_rate(const struct promql_point *p, size_t n, struct promql_window w,
                             int counter, int is_rate, double *ret)
{
    if (n < 2)
        return 0;
    *ret = promql_functions_extrapolate(p, n, promql_functions_raw_delta(p, n, counter), w,
                                        counter, is_rate);
    return 1;
}

double promql_functions_extrapolate(const struct promql_point *p, size_t n, double result,
                                    struct promql_window w, int counter, int is_rate)
{
    double to_start = (double) (p[0].t - w.start) / 1000;
    double to_end = (double) (w.end - p[n - 1].t) / 1000;
    double sampled = (double) (p[n - 1].t - p[0].t) / 1000;
    double avg_step = sampled / (double) (n - 1);
    if (counter && result > 0 && p[0].v >= 0) {
        /* A counter cannot go below zero: do not extrapolate past where it would be 0. */
        double to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg_step * 1.1, interval = sampled;
    interval += to_start < threshold ? to_start : avg_step / 2;
    interval += to_end < threshold ? to_end : avg_step / 2;
    result = result * (interval / sampled);
    if (is_rate)
        result = result / ((double) w.range_ms / 1000);
    return result;
}

static int instant_value(const struct promql_point *p, size_t n, int is_rate, double *ret)
{
    if (n < 2)
        return 0;
    const struct promql_point *last = &p[n - 1], *prev = &p[n - 2];
    double v = is_rate && last->v < prev->v ? last->v : last->v - prev->v;
    int64_t dt = last->t - prev->t;
    if (dt == 0)
        return 0;
    if (is_rate)
        v /= (double) dt / 1000;
    *ret = v;
    return 1;
}

static void linear_regression(const struct promql_point *p, size_t n, int64_t at, double *slope,
                              double *intercept)
{
    double sx = 0, sy = 0, sxy = 0, sx2 = 0, cnt = 0;
    int const_y = 1;
    for (size_t i = 0; i < n; i++) {
        if (const_y && i > 0 && p[i].v != p[0].v)
            const_y = 0;
        cnt += 1;
        double x = (double) (p[i].t - at) / 1e3;
        sx += x;
        sy += p[i].v;
        sxy += x * p[i].v;
        sx2 += x * x;
    }
    if (const_y) {
        *slope = isinf(p[0].v) ? (double) NAN : 0;
        *intercept = isinf(p[0].v) ? (double) NAN : p[0].v;
        return;
    }
    double cov = sxy - sx * sy / cnt, var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
}

static double trend(size_t i, double tf, double s0, double s1, double b)
{
    if (i == 0)
        return b;
    return tf * (s1 - s0) + (1 - tf) * b;
}

int promql_functions_range(struct promql_ev *ev, enum promql_fn id, const struct promql_point *p,
                           size_t n, struct promql_window w, const struct promql_val *args,
                           int64_t t, double *ret)
{
    double v = 0;
    switch (id) {
    case FN_RATE: return extrapolated_rate(p, n, w, 1, 1, ret);
    case FN_INCREASE: return extrapolated_rate(p, n, w, 1, 0, ret);
    case FN_DELTA: return extrapolated_rate(p, n, w, 0, 0, ret);
    case FN_IRATE: return instant_value(p, n, 1, ret);
    case FN_IDELTA: return instant_value(p, n, 0, ret);
    case FN_DERIV: {
        double slope, icpt;
        if (n < 2)
            return 0;
        linear_regression(p, n, p[0].t, &slope, &icpt);
        *ret = slope;
        return 1;
    }
    case FN_PREDICT_LINEAR: {
        double slope, icpt;
        if (n < 2)
            return 0;
        linear_regression(p, n, t, &slope, &icpt);
        *ret = slope * args[1].scalar + icpt;
        return 1;
    }
    case FN_HOLT_WINTERS: {
        double sf = args[1].scalar, tf = args[2].scalar;
        if (n < 2)
            return 0;
        double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
        for (size_t i = 1; i < n; i++) {
            double x = sf * p[i].v;
            b = trend(i - 1, tf, s0, s1, b);
            double y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        *ret = s1;
        return 1;
    }
    case FN_CHANGES:
    case FN_RESETS: {
        double c = 0, prev = p[0].v;
        for (size_t i = 1; i < n; i++) {
            double cur = p[i].v;
            if (id == FN_CHANGES ? cur != prev && !(isnan(cur) && isnan(prev)) : cur < prev)
                c++;
            prev = cur;
        }
        *ret = c;
        return 1;
    }
    case FN_AVG_OVER_TIME: {
        double mean = 0, cnt = 0;
        for (size_t i = 0; i < n; i++) {
            cnt++;
            if (isinf(mean)) {
                if (isinf(p[i].v) && (mean > 0) == (p[i].v > 0))
                    continue;
                if (!isinf(p[i].v) && !isnan(p[i].v))
                    continue;
            }
            mean += p[i].v / cnt - mean / cnt;
        }
        *ret = mean;
        return 1;
    }
    case FN_SUM_OVER_TIME:
        for (size_t i = 0; i < n; i++)
            v += p[i].v;
        *ret = v;
        return 1;
    case FN_COUNT_OVER_TIME: *ret = (double) n; return 1;
    case FN_PRESENT_OVER_TIME: *ret = 1; return 1;
    case FN_LAST_OVER_TIME: *ret = p[n - 1].v; return 1;
    case FN_MAX_OVER_TIME:
    case FN_MIN_OVER_TIME:
        v = p[0].v;
        for (size_t i = 0; i < n; i++)
            if ((id == FN_MAX_OVER_TIME ? p[i].v > v : p[i].v < v) || isnan(v))
                v = p[i].v;
        *ret = v;
        return 1;
    case FN_STDDEV_OVER_TIME:
    case FN_STDVAR_OVER_TIME: {
        double cnt = 0, mean = 0, aux = 0;
        for (size_t i = 0; i < n; i++) {
            cnt++;
            double d = p[i].v - mean;
            mean += d / cnt;
            aux += d * (p[i].v - mean);
        }
        *ret = id == FN_STDDEV_OVER_TIME ? sqrt(aux / cnt) : aux / cnt;
        return 1;
    }
    case FN_QUANTILE_OVER_TIME: {
        struct promql_sample *s = arena_alloc(ev->sa, n * sizeof *s);
        if (!s)
            return promql_engine_oom(ev);
        for (size_t i = 0; i < n; i++)
            s[i].v = p[i].v;
        *ret = promql_aggregations_quantile(args[0].scalar, s, n);
        return 1;
    }
    default: return 0;
    }
}

/* Labels absent() and absent_over_time() report: the selector's equality matchers, except names
 * matched more than once or also by another matcher. */
int promql_functions_absent_labels(struct promql_ev *ev, struct arena *a,
                                   const struct promql_expr *arg, struct labels *ret)
{
    arg = unparen(arg);
    *ret = (struct labels){0};
    if (arg->kind == NODE_MATRIX_SEL)
        arg = arg->u.matrix.vs;
    if (arg->kind != NODE_VECTOR_SEL)
        return 0;
    const struct matcher *ms = arg->u.sel.ms;
    size_t n = arg->u.sel.n_ms;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ms[i].name, LABEL_METRIC_NAME) == 0 || ms[i].type != MATCH_EQ)
            continue;
        if (!labels_get(ret, ms[i].name) &&
            promql_value_set(a, ret, ms[i].name, ms[i].value, ret) < 0)
            return promql_engine_oom(ev);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ms[i].name, LABEL_METRIC_NAME) == 0)
            continue;
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(ms[j].name, ms[i].name) == 0 && ms[j].type == MATCH_EQ;
        if ((ms[i].type != MATCH_EQ || dup) && promql_value_set(a, ret, ms[i].name, "", ret) < 0)
            return promql_engine_oom(ev);
    }
    return 0;
}

static int one_sample(struct promql_ev *ev, const struct labels *m, int64_t t, double v,
                      struct promql_val *ret)
{
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    return promql_value_push(ev->sa, ret, &cap, m, t, v) < 0 ? promql_engine_oom(ev) : 0;
}

static int eval_range_fn(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_val *args, int64_t t, struct promql_val *ret)
{
    enum promql_fn id = x->u.call.f->id;
    size_t mi = id == FN_QUANTILE_OVER_TIME ? 1 : 0;
    const struct promql_val *m = &args[mi];
    struct promql_window w = window_of(ev, x->u.call.args[mi], t);
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    if (id == FN_ABSENT_OVER_TIME) {
        struct labels ls;
        int r;
        if (m->n > 0)
            return 0;
        return (r = promql_functions_absent_labels(ev, ev->sa, x->u.call.args[0], &ls)) < 0
                   ? r
                   : one_sample(ev, &ls, t, 1, ret);
    }
    if (id == FN_HOLT_WINTERS) {
        double sf = args[1].scalar, tf = args[2].scalar;
        if (!(sf > 0 && sf < 1))
            return err_set(ev->e, ERR_EXEC,
                           "invalid smoothing factor. Expected: 0 < sf < 1, "
                           "got: %f",
                           sf);
        if (!(tf > 0 && tf < 1))
            return err_set(ev->e, ERR_EXEC, "invalid trend factor. Expected: 0 < tf < 1, got: %f",
                           tf);
    }
    for (size_t i = 0; i < m->n; i++) {
        double v;
        int r = promql_functions_range(ev, id, m->mat[i].points, m->mat[i].n_points, w, args, t,
                                       &v);
        if (r < 0)
            return r;
        if (r == 0)
            continue;
        struct labels ls = m->mat[i].metric;
        if (id != FN_LAST_OVER_TIME && promql_value_drop_name(ev->sa, &ls, &ls) < 0)
            return promql_engine_oom(ev);
        if (promql_value_push(ev->sa, ret, &cap, &ls, t, v) < 0)
            return promql_engine_oom(ev);
    }
    return promql_value_one_name(x->u.call.args[mi]) ? 0 : promql_value_check_unique(ev, ret);
}

/* ---- instant-vector functions ---- */

double promql_functions_simple(enum promql_fn id, double v, const struct promql_val *args)
{
    switch (id) {
    case FN_ABS: return fabs(v);
    case FN_CEIL: return ceil(v);
    case FN_FLOOR: return floor(v);
    case FN_EXP: return exp(v);
    case FN_SQRT: return sqrt(v);
    case FN_LN: return log(v);
    case FN_LOG2: return log2(v);
    case FN_LOG10: return log10(v);
    case FN_SIN: return sin(v);
    case FN_COS: return cos(v);
    case FN_TAN: return tan(v);
    case FN_ASIN: return asin(v);
    case FN_ACOS: return acos(v);
    case FN_ATAN: return atan(v);
    case FN_SINH: return sinh(v);
    case FN_COSH: return cosh(v);
    case FN_TANH: return tanh(v);
    case FN_ASINH: return asinh(v);
    case FN_ACOSH: return acosh(v);
    case FN_ATANH: return atanh(v);
    case FN_DEG: return v * 180 / M_PI;
    case FN_RAD: return v * M_PI / 180;
    case FN_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
    case FN_CLAMP: return go_max(args[1].scalar, go_min(args[2].scalar, v));
    case FN_CLAMP_MAX: return go_min(v, args[1].scalar);
    case FN_CLAMP_MIN: return go_max(v, args[1].scalar);
    case FN_ROUND: {
        double to = args[1].type == PROMQL_SCALAR ? args[1].scalar : 1;
        double inv = 1.0 / to;
        return floor(v * inv + 0.5) / inv;
    }
    default: return (double) NAN;
    }
}

double promql_functions_date_part(enum promql_fn id, double secs)
{
    if (isnan(secs) || isinf(secs) || fabs(secs) > 6.7e16)
        return (double) NAN;
    time_t tt = (time_t) (int64_t) secs;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return (double) NAN;
    switch (id) {
    case FN_MINUTE: return tm.tm_min;
    case FN_HOUR: return tm.tm_hour;
    case FN_DAY_OF_WEEK: return tm.tm_wday;
    case FN_DAY_OF_MONTH: return tm.tm_mday;
    case FN_DAY_OF_YEAR: return tm.tm_yday + 1;
    case FN_MONTH: return tm.tm_mon + 1;
    case FN_YEAR: return (double) tm.tm_year + 1900;
    case FN_DAYS_IN_MONTH: {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t y = (int64_t) tm.tm_year + 1900;
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return days[tm.tm_mon] + (tm.tm_mon == 1 && leap);
    }
    default: return (double) NAN;
    }
}

static int label_name_ok(const char *s)
{
    return labels_name_valid(s, strlen(s));
}

/* Go's regexp Expand: $1, ${1}, $name, ${name}, $$; unknown or unmatched groups expand to "". */
static char *expand(struct arena *a, const char *tmpl, const char *src, const long *ov, int ng)
{
    size_t cap = strlen(tmpl) + 1, n = 0;
    for (const char *p = tmpl; *p; p++)
        if (*p == '$')
            cap += strlen(src);
    char *out = arena_alloc(a, cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        if (*p != '$') {
            out[n++] = *p++;
            continue;
        }
        p++;
        if (*p == '$') {
            out[n++] = '$';
            p++;
            continue;
        }
        const char *name = p, *end;
        int brace = *p == '{';
        if (brace)
            name = ++p;
        end = name;
        while ((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z') ||
               (*end >= '0' && *end <= '9') || *end == '_')
            end++;
        if (end == name || (brace && *end != '}')) {
            out[n++] = '$'; /* malformed: the '$' is literal text */
            p = brace ? name - 1 : name;
            continue;
        }
        p = brace ? end + 1 : end;
        int num = 0, digits = 1;
        for (const char *q = name; q < end; q++) {
            if (*q < '0' || *q > '9' || num > 100000)
                digits = 0;
            else
                num = num * 10 + (*q - '0');
        }
        if (digits && num < ng && ov[2 * num] >= 0) {
            size_t l = (size_t) (ov[2 * num + 1] - ov[2 * num]);
            memcpy(out + n, src + ov[2 * num], l);
            n += l;
        }
    }
    out[n] = 0;
    return out;
}

#define MAX_GROUPS 64

/* Checks label_replace()'s arguments and finds (or compiles, once per query) its regex. */
int promql_functions_label_replace_prep(struct promql_ev *ev, const struct promql_expr *x,
                                        const struct promql_val *args, struct re **ret)
{
    const char *dst = args[1].str, *pat = args[4].str;
    struct re *re = NULL;
    const struct promql_expr *node = x->u.call.args[4];
    for (struct promql_cached_re *c = ev->res; c; c = c->next)
        if (c->node == node)
            re = c->re;
    if (!re) {
        /* Compiled once per query; freed with the query arena (the step arena is reset). */
        struct err re_err = {0};
        struct promql_cached_re *c = arena_alloc(ev->qa, sizeof *c);
        if (!c)
            return promql_engine_oom(ev);
        if (re_compile(pat, strlen(pat), &re, &re_err) < 0)
            return err_set(ev->e, ERR_EXEC, "invalid regular expression in label_replace(): %s",
                           pat);
        if (arena_on_free(ev->qa, (void (*)(void *)) re_free, re) < 0) {
            re_free(re);
            return promql_engine_oom(ev);
        }
        *c = (struct promql_cached_re){ev->res, node, re};
        ev->res = c;
    }
    if (!label_name_ok(dst))
        return err_set(ev->e, ERR_EXEC, "invalid destination label name in label_replace(): %s",
                       dst);
    *ret = re;
    return 0;
}

/* One element's labels after label_replace(); new strings and arrays go to arena a. */
int promql_functions_label_replace_one(struct arena *a, struct re *re,
                                       const struct promql_val *args, struct labels *m)
{
    const char *dst = args[1].str, *repl = args[2].str, *src = args[3].str;
    const char *sv = labels_get(m, src);
    if (!sv)
        sv = "";
    long ov[2 * MAX_GROUPS];
    int ng = re_match_groups(re, sv, strlen(sv), ov, MAX_GROUPS);
    if (ng > 0) {
        char *res = expand(a, repl, sv, ov, ng);
        if (!res || promql_value_set(a, m, dst, res, m) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int label_replace(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_val *args, int64_t t, struct promql_val *ret)
{
    struct re *re;
    int r = promql_functions_label_replace_prep(ev, x, args, &re);
    if (r < 0)
        return r;
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    for (size_t i = 0; i < args[0].n; i++) {
        struct labels m = args[0].vec[i].metric;
        if (promql_functions_label_replace_one(ev->sa, re, args, &m) < 0 ||
            promql_value_push(ev->sa, ret, &cap, &m, t, args[0].vec[i].v) < 0)
            return promql_engine_oom(ev);
    }
    if (promql_value_check_unique(ev, ret) < 0)
        return err_set(ev->e, ERR_EXEC, "vector cannot contain metrics with the same labelset");
    return 0;
}

/* Checks label_join()'s label names. */
int promql_functions_label_join_prep(struct promql_ev *ev, const struct promql_expr *x,
                                     const struct promql_val *args)
{
    const char *dst = args[1].str;
    size_t ns = x->u.call.n_args - 3;
    for (size_t j = 0; j < ns; j++)
        if (!label_name_ok(args[3 + j].str))
            return err_set(ev->e, ERR_EXEC, "invalid source label name in label_join(): %s",
                           args[3 + j].str);
    if (!label_name_ok(dst))
        return err_set(ev->e, ERR_EXEC, "invalid destination label name in label_join(): %s", dst);
    return 0;
}

/* One element's labels after label_join() of the n_src source labels in args[3..]. */
int promql_functions_label_join_one(struct arena *a, const struct promql_val *args, size_t n_src,
                                    struct labels *m)
{
    const char *dst = args[1].str, *sep = args[2].str;
    size_t len = 0;
    for (size_t j = 0; j < n_src; j++) {
        const char *v = labels_get(m, args[3 + j].str);
        len += (v ? strlen(v) : 0) + strlen(sep);
    }
    char *joined = arena_alloc(a, len + 1), *o = joined;
    if (!joined)
        return -ENOMEM;
    *joined = 0;
    for (size_t j = 0; j < n_src; j++) {
        const char *v = labels_get(m, args[3 + j].str);
        if (j > 0)
            o = stpcpy(o, sep);
        o = stpcpy(o, v ? v : "");
    }
    return promql_value_set(a, m, dst, joined, m) < 0 ? -ENOMEM : 0;
}

static int label_join(struct promql_ev *ev, const struct promql_expr *x,
                      const struct promql_val *args, int64_t t, struct promql_val *ret)
{
    int r = promql_functions_label_join_prep(ev, x, args);
    if (r < 0)
        return r;
    size_t cap = 0, ns = x->u.call.n_args - 3;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    for (size_t i = 0; i < args[0].n; i++) {
        struct labels m = args[0].vec[i].metric;
        if (promql_functions_label_join_one(ev->sa, args, ns, &m) < 0 ||
            promql_value_push(ev->sa, ret, &cap, &m, t, args[0].vec[i].v) < 0)
            return promql_engine_oom(ev);
    }
    return promql_value_check_unique(ev, ret);
}

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const struct promql_bucket *) a)->upper;
    double y = ((const struct promql_bucket *) b)->upper;
    return (x > y) - (x < y);
}

double promql_functions_bucket_quantile(double q, struct promql_bucket *b, size_t n)
{
    if (isnan(q))
        return (double) NAN;
    if (q < 0)
        return -(double) INFINITY;
    if (q > 1)
        return (double) INFINITY;
    qsort(b, n, sizeof *b, cmp_bucket);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return (double) NAN;
    size_t k = 0; /* merge buckets with the same bound */
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper)
            b[k].count += b[i].count;
        else
            b[++k] = b[i];
    }
    n = k + 1;
    double max = -(double) INFINITY; /* enforce monotonic counts */
    for (size_t i = 0; i < n; i++) {
        if (b[i].count > max)
            max = b[i].count;
        else if (b[i].count < max)
            b[i].count = max;
    }
    if (n < 2)
        return (double) NAN;
    double obs = b[n - 1].count;
    if (obs == 0)
        return (double) NAN;
    double rank = q * obs;
    size_t i = 0;
    while (i < n - 1 && !(b[i].count >= rank))
        i++;
    if (i == n - 1)
        return b[n - 2].upper;
    if (i == 0 && b[0].upper <= 0)
        return b[0].upper;
    double start = 0, end = b[i].upper, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

struct hist {
    struct labels metric;
    struct promql_bucket *b;
    size_t n, cap;
};

static int histogram_quantile(struct promql_ev *ev, const struct promql_val *args, int64_t t,
                              struct promql_val *ret)
{
    static const char *le[] = {"le"};
    const struct promql_val *in = &args[1];
    struct promql_map idx = {.a = ev->sa};
    struct hist *h = arena_alloc(ev->sa, (in->n ? in->n : 1) * sizeof *h);
    size_t nh = 0, cap = 0;
    if (!h)
        return promql_engine_oom(ev);
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    for (size_t i = 0; i < in->n; i++) {
        const struct labels *m = &in->vec[i].metric;
        const char *les = labels_get(m, "le");
        double upper;
        if (!les || num_parse_float(les, strlen(les), &upper) < 0)
            continue;
        /* Group by labels other than le and the name, but keep different names apart. */
        size_t len, gi = nh;
        const char *k = promql_value_key(ev->sa, m, le, 1, 0, &len);
        const char *name = labels_get(m, LABEL_METRIC_NAME);
        size_t nl = name ? strlen(name) : 0;
        char *key = k ? arena_alloc(ev->sa, len + nl + 1) : NULL;
        if (key) {
            memcpy(key, k, len);
            memcpy(key + len, name ? name : "", nl);
            len += nl;
        }
        int r = key ? promql_map_put(&idx, key, len, &gi) : -ENOMEM;
        if (r < 0)
            return promql_engine_oom(ev);
        if (r == 0) {
            h[nh] = (struct hist){0};
            if (promql_value_filter(ev->sa, m, le, 1, 0, &h[nh].metric) < 0)
                return promql_engine_oom(ev);
            nh++;
        }
        struct hist *g = &h[gi];
        if (g->n == g->cap) {
            size_t nc = g->cap ? g->cap * 2 : 8;
            struct promql_bucket *nb =
                arena_realloc(ev->sa, g->b, g->cap * sizeof *nb, nc * sizeof *nb);
            if (!nb)
                return promql_engine_oom(ev);
            g->b = nb;
            g->cap = nc;
        }
        g->b[g->n++] = (struct promql_bucket){upper, in->vec[i].v};
    }
    for (size_t i = 0; i < nh; i++)
        if (promql_value_push(ev->sa, ret, &cap, &h[i].metric, t,
                              promql_functions_bucket_quantile(args[0].scalar, h[i].b, h[i].n)) < 0)
            return promql_engine_oom(ev);
    return promql_value_check_unique(ev, ret);
}

static int sort_vec(struct promql_ev *ev, const struct promql_val *in, int desc,
                    struct promql_val *ret)
{
    *ret = *in;
    ret->vec = arena_alloc(ev->sa, (in->n ? in->n : 1) * sizeof *ret->vec);
    if (!ret->vec)
        return promql_engine_oom(ev);
    if (in->n) /* an empty vector has no array (memcpy from NULL is undefined) */
        memcpy(ret->vec, in->vec, in->n * sizeof *ret->vec);
    /* sort.Sort(sort.Reverse(heap)) with NaN last either way; insertion sort keeps it stable. */
    for (size_t i = 1; i < ret->n; i++) {
        for (size_t j = i; j > 0; j--) {
            double a = ret->vec[j - 1].v, b = ret->vec[j].v;
            int less = isnan(a) || (desc ? a < b : a > b);
            if (!less)
                break;
            struct promql_sample tmp = ret->vec[j];
            ret->vec[j] = ret->vec[j - 1];
            ret->vec[j - 1] = tmp;
        }
    }
    return 0;
}

int promql_functions_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                          struct promql_val *ret)
{
    const struct promql_func *f = x->u.call.f;
    size_t na = x->u.call.n_args;
    struct promql_val *args = arena_calloc(ev->sa, na + 3, sizeof *args);
    if (!args)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < na; i++) {
        int r = promql_engine_eval(ev, x->u.call.args[i], t, &args[i]);
        if (r < 0)
            return r;
    }
    for (int i = 0; i < f->n_args; i++)
        if (f->args[i] == PROMQL_MATRIX)
            return eval_range_fn(ev, x, args, t, ret);
    return promql_functions_apply(ev, x, args, t, ret);
}

int promql_functions_apply(struct promql_ev *ev, const struct promql_expr *x,
                           const struct promql_val *args, int64_t t, struct promql_val *ret)
{
    const struct promql_func *f = x->u.call.f;
    size_t na = x->u.call.n_args;
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    switch (f->id) {
    case FN_TIME:
        *ret = (struct promql_val){.type = PROMQL_SCALAR, .scalar = (double) t / 1000};
        return 0;
    case FN_PI: *ret = (struct promql_val){.type = PROMQL_SCALAR, .scalar = M_PI}; return 0;
    case FN_SCALAR:
        *ret = (struct promql_val){.type = PROMQL_SCALAR,
                                   .scalar = args[0].n == 1 ? args[0].vec[0].v : (double) NAN};
        return 0;
    case FN_VECTOR: {
        struct labels none = {0};
        return one_sample(ev, &none, t, args[0].scalar, ret);
    }
    case FN_ABSENT: {
        struct labels ls;
        int r;
        if (args[0].n > 0)
            return 0;
        return (r = promql_functions_absent_labels(ev, ev->sa, x->u.call.args[0], &ls)) < 0
                   ? r
                   : one_sample(ev, &ls, t, 1, ret);
    }
    case FN_SORT: return sort_vec(ev, &args[0], 0, ret);
    case FN_SORT_DESC: return sort_vec(ev, &args[0], 1, ret);
    case FN_LABEL_REPLACE: return label_replace(ev, x, args, t, ret);
    case FN_LABEL_JOIN: return label_join(ev, x, args, t, ret);
    case FN_HISTOGRAM_QUANTILE: return histogram_quantile(ev, args, t, ret);
    case FN_HISTOGRAM_COUNT:
    case FN_HISTOGRAM_SUM:
    case FN_HISTOGRAM_FRACTION: return 0; /* native histograms only: float samples give nothing */
    PROMQL_CASE_DATE_FNS:
        if (na == 0) {
            struct labels none = {0};
            double v = promql_functions_date_part(f->id, (double) (t / 1000));
            return one_sample(ev, &none, t, v, ret);
        }
        for (size_t i = 0; i < args[0].n; i++) {
            struct labels m;
            if (promql_value_drop_name(ev->sa, &args[0].vec[i].metric, &m) < 0 ||
                promql_value_push(ev->sa, ret, &cap, &m, t,
                                  promql_functions_date_part(f->id, args[0].vec[i].v)) < 0)
                return promql_engine_oom(ev);
        }
        return promql_value_one_name(x->u.call.args[0]) ? 0 : promql_value_check_unique(ev, ret);
    case FN_TIMESTAMP: {
        int is_sel = unparen(x->u.call.args[0])->kind == NODE_VECTOR_SEL;
        for (size_t i = 0; i < args[0].n; i++) {
            struct labels m;
            int64_t ts = is_sel ? args[0].vec[i].t : t;
            if (promql_value_drop_name(ev->sa, &args[0].vec[i].metric, &m) < 0 ||
                promql_value_push(ev->sa, ret, &cap, &m, t, (double) ts / 1000) < 0)
                return promql_engine_oom(ev);
        }
        return promql_value_one_name(x->u.call.args[0]) ? 0 : promql_value_check_unique(ev, ret);
    }
    default: break;
    }
    if (f->id == FN_CLAMP && args[2].scalar < args[1].scalar)
        return 0;
    for (size_t i = 0; i < args[0].n; i++) {
        struct labels m;
        if (promql_value_drop_name(ev->sa, &args[0].vec[i].metric, &m) < 0 ||
            promql_value_push(ev->sa, ret, &cap, &m, t,
                              promql_functions_simple(f->id, args[0].vec[i].v, args)) < 0)
            return promql_engine_oom(ev);
    }
    return promql_value_one_name(x->u.call.args[0]) ? 0 : promql_value_check_unique(ev, ret);
}
