/* tests/unit/promql/test_grid.c — the grid evaluator (promql/grid.c, grid_ops.c) against the
 * per-step evaluator it replaces for most queries: on a irregular dataset (jittered scrapes,
 * gaps, stale markers, counter resets, NaN and Inf, label sets that collide once the name is
 * dropped), every query of a list covering operators, matching modes, aggregations and
 * functions must give the same result both ways, bit for bit, as instant queries and as range
 * queries at several steps, or fail both ways. */
#include <stdlib.h>

#include "promql/engine.h"
#include "test.h"

#define SEC 1000
#define MIN (60 * SEC)
#define SPAN (90 * MIN)

static tsdb *db;
static promql_engine *grid_eng, *step_eng;

static uint64_t rng = 0x2545f4914f6cdd1du;
static double rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double) ((rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

static void add(const char *name, const char **kv, size_t nkv, int64_t t, double v)
{
    struct label l[8];
    struct labels ls = {l, 0};
    l[ls.n++] = (struct label){"__name__", name};
    for (size_t i = 0; i + 1 < nkv; i += 2)
        l[ls.n++] = (struct label){kv[i], kv[i + 1]};
    ASSERT_EQ(labels_sort(&ls), 0);
    struct err e = {0};
    uint64_t ref = 0;
    tsdb_appender *app = tsdb_appender_new(db);
    ASSERT_TRUE(app);
    ASSERT_OK_E(tsdb_appender_add(app, &ref, &ls, t, v, &e), &e);
    ASSERT_TRUE(tsdb_appender_commit(app, &e) >= 0);
}

/* One series scraped every ~15 s (jittered) over [from, to): kind 'c' counter (with a reset),
 * 'g' gauge (with NaN, Inf and a stale marker), 'b' bucket counts scaled by f. */
static void series(const char *name, const char **kv, size_t nkv, int kind, int64_t from,
                   int64_t to, double f)
{
    double v = kind == 'g' ? 10 * rnd() - 5 : 100 * rnd();
    int64_t t = from + (int64_t) (rnd() * 10 * SEC);
    for (int i = 0; t < to; i++) {
        double r = rnd();
        if (r < 0.05) { /* a gap */
            t += 40 * SEC;
            continue;
        }
        if (kind == 'c' || kind == 'b') {
            v += (kind == 'b' ? f : 1) * 10 * rnd();
            if (r > 0.985)
                v = 3 * rnd(); /* reset */
        } else {
            v = r < 0.01 ? (double) NAN : r < 0.02 ? (double) INFINITY : v + rnd() - 0.5;
        }
        add(name, kv, nkv, t, r > 0.993 && kind == 'g' ? num_stale_nan() : v);
        t += 10 * SEC + (int64_t) (rnd() * 10 * SEC);
    }
}

static void setup(void)
{
    struct tsdb_opts o = {0};
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    static const char *jobs[] = {"a", "b"}, *insts[] = {"0", "1", "2", "3"};
    static const char *les[] = {"0.1", "0.5", "1", "+Inf"};
    for (int j = 0; j < 2; j++) {
        for (int i = 0; i < 4; i++) {
            const char *kv[] = {"job", jobs[j], "inst", insts[i], "le", NULL};
            /* Some series start late or end early. */
            int64_t from = i == 3 ? 30 * MIN : 0, to = i == 2 && j == 1 ? 50 * MIN : SPAN;
            series("c", kv, 4, 'c', from, to, 1);
            series("g", kv, 4, 'g', from, to, 1);
            for (int b = 0; b < 4; b++) {
                kv[5] = les[b];
                rng = 0x9e3779b97f4a7c15u * (uint64_t) (j * 4 + i + 1); /* same arrivals */
                series("h_bucket", kv, 6, 'b', from, to, 0.25 * (b + 1));
            }
        }
        /* The "one" side of group_left: one series per job, and a second one for job b that
         * overlaps it for a while (many-to-many at those steps). */
        const char *kv[] = {"job", jobs[j], "owner", j ? "y" : "x"};
        series("info", kv, 4, 'g', 0, SPAN, 1);
    }
    const char *kv2[] = {"job", "b", "owner", "z"};
    series("info", kv2, 4, 'g', 70 * MIN, 75 * MIN, 1);
    /* d collides with g{job="a",inst="0"} once names are dropped: before 20m and after 80m. */
    const char *kvd[] = {"job", "a", "inst", "0"};
    series("d", kvd, 4, 'g', 0, 20 * MIN, 1);
    series("d", kvd, 4, 'g', 80 * MIN, SPAN, 1);
    /* e and f: the same labels without their names, never at the same time (merged into one
     * series by anything that drops the name, unless a range reaches across the gap). */
    series("e", kvd, 4, 'g', 0, 20 * MIN, 1);
    series("f", kvd, 4, 'g', 27 * MIN, 50 * MIN, 1);
    series("e", kvd, 4, 'g', 57 * MIN, SPAN, 1);
    /* A bucket without a usable le. */
    const char *kvb[] = {"job", "a", "inst", "9", "le", "x"};
    series("h_bucket", kvb, 6, 'b', 0, SPAN, 1);
    struct promql_engine_opts eo = {.lookback_delta_ms = 5 * MIN};
    ASSERT_OK_E(promql_engine_new(db, &eo, &grid_eng, &e), &e);
    ASSERT_OK_E(promql_engine_new(db, &eo, &step_eng, &e), &e);
    step_eng->step_only = 1;
}

/* Mismatches are listed (TAP comments) and counted, so one run shows all of them. */
static int failures;
static size_t compared, errors_both; /* points compared; queries failing both ways */
#define MISMATCH(...)                                                                              \
    do {                                                                                           \
        printf("# ");                                                                              \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        failures++;                                                                                \
        goto done;                                                                                 \
    } while (0)

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static int cmp_sample(const void *x, const void *y)
{
    const struct promql_sample *a = x, *b = y;
    int c = labels_cmp(&a->metric, &b->metric);
    return c ? c : (a->v > b->v) - (a->v < b->v);
}

/* Instant vectors are compared in order only where the order means something (sort, topk,
 * bottomk at the top): elsewhere an instant query's order is unspecified (Prometheus' own comes
 * from map iteration in places). */
static int ordered(const char *q)
{
    return strncmp(q, "sort", 4) == 0 || strncmp(q, "topk", 4) == 0 ||
           strncmp(q, "bottomk", 7) == 0;
}

static void compare(const char *q, struct promql_result *g, struct promql_result *s,
                    const char *mode, int64_t at)
{
    struct arena *a = arena_new(0);
    if (g->type == PROMQL_VECTOR && s->type == PROMQL_VECTOR && !ordered(q)) {
        qsort(g->u.vector.v, g->u.vector.n, sizeof *g->u.vector.v, cmp_sample);
        qsort(s->u.vector.v, s->u.vector.n, sizeof *s->u.vector.v, cmp_sample);
    }
    if (g->type != s->type)
        MISMATCH("%s (%s %lld): type %d vs %d", q, mode, (long long) at,
                  g->type, s->type);
    if (g->type == PROMQL_SCALAR && !same_double(g->u.scalar.v, s->u.scalar.v))
        MISMATCH("%s (%s): scalar %.17g vs %.17g", q, mode, g->u.scalar.v,
                  s->u.scalar.v);
    if (g->type == PROMQL_VECTOR) {
        if (g->u.vector.n != s->u.vector.n)
            MISMATCH("%s (%s %lld): %zu vs %zu elements", q, mode,
                      (long long) at, g->u.vector.n, s->u.vector.n);
        compared += g->u.vector.n;
        for (size_t i = 0; i < g->u.vector.n; i++) {
            const struct promql_sample *x = &g->u.vector.v[i], *y = &s->u.vector.v[i];
            if (!labels_equal(&x->metric, &y->metric) || !same_double(x->v, y->v) || x->t != y->t)
                MISMATCH("%s (%s %lld) #%zu: %s %.17g vs %s %.17g", q, mode,
                          (long long) at, i, labels_format(a, &x->metric), x->v,
                          labels_format(a, &y->metric), y->v);
        }
    }
    if (g->type == PROMQL_MATRIX) {
        if (g->u.matrix.n != s->u.matrix.n)
            MISMATCH("%s (%s %lld): %zu vs %zu series", q, mode,
                      (long long) at, g->u.matrix.n, s->u.matrix.n);
        for (size_t i = 0; i < g->u.matrix.n; i++) {
            const struct promql_series *x = &g->u.matrix.v[i], *y = &s->u.matrix.v[i];
            if (!labels_equal(&x->metric, &y->metric) || x->n_points != y->n_points)
                MISMATCH("%s (%s %lld) #%zu: %s (%zu) vs %s (%zu)", q, mode,
                          (long long) at, i, labels_format(a, &x->metric), x->n_points,
                          labels_format(a, &y->metric), y->n_points);
            compared += x->n_points;
            for (size_t j = 0; j < x->n_points; j++)
                if (x->points[j].t != y->points[j].t ||
                    !same_double(x->points[j].v, y->points[j].v))
                    MISMATCH("%s (%s) %s at %lld: %.17g vs %lld: %.17g", q,
                              mode, labels_format(a, &x->metric), (long long) x->points[j].t,
                              x->points[j].v, (long long) y->points[j].t, y->points[j].v);
        }
    }
done:
    arena_free(a);
}

/* Both evaluators on q: instant at a few times, range at the given steps. */
static void check_steps(const char *q, const int64_t *steps, size_t n_steps)
{
    static const int64_t at[] = {0, 7 * MIN + 3 * SEC, 33 * MIN, 52 * MIN + 500, 72 * MIN, SPAN};
    struct arena *a = arena_new(0);
    struct promql_expr *x;
    struct err e = {0};
    if (promql_parse(a, q, strlen(q), &x, &e) < 0)
        MISMATCH("%s: %s", q, e.msg);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        struct promql_result g, s;
        struct err eg = {0}, es = {0};
        int rg = promql_eval_instant(grid_eng, a, x, at[i], &g, &eg);
        int rs = promql_eval_instant(step_eng, a, x, at[i], &s, &es);
        if ((rg < 0) != (rs < 0))
            MISMATCH("%s at %lld: grid %d (%s), step %d (%s)", q,
                      (long long) at[i], rg, eg.msg, rs, es.msg);
        if (rg >= 0)
            compare(q, &g, &s, "instant", at[i]);
        else
            errors_both++;
    }
    if (promql_expr_type(x) == PROMQL_SCALAR || promql_expr_type(x) == PROMQL_VECTOR) {
        for (size_t i = 0; i < n_steps; i++) {
            struct promql_result g, s;
            struct err eg = {0}, es = {0};
            int64_t from = 3 * MIN + 1234, to = SPAN + 2 * MIN;
            int rg = promql_eval_range(grid_eng, a, x, from, to, steps[i], &g, &eg);
            int rs = promql_eval_range(step_eng, a, x, from, to, steps[i], &s, &es);
            if ((rg < 0) != (rs < 0))
                MISMATCH("%s step %lld: grid %d (%s), step %d (%s)", q,
                          (long long) steps[i], rg, eg.msg, rs, es.msg);
            if (rg >= 0)
                compare(q, &g, &s, "range", steps[i]);
            else
                errors_both++;
        }
    }
done:
    arena_free(a);
}

static void check(const char *q)
{
    static const int64_t steps[] = {17 * SEC, MIN, 7 * MIN};
    check_steps(q, steps, sizeof steps / sizeof steps[0]);
}

static const char *const queries[] = {
    /* selectors, offset, @ */
    "c", "g", "{__name__=~\"c|g\", job=\"a\"}", "c offset 5m", "g @ 1800", "c @ end()",
    "g offset -2m", "-g", "-{__name__=~\"g|d\"}", "d",
    /* range functions */
    "rate(c[1m])", "rate(c[5m])", "increase(c[10m])", "delta(g[5m])", "irate(c[2m])",
    "idelta(g[2m])", "rate(c[5m] offset 3m)", "rate(c[5m] @ 3000)", "deriv(g[5m])",
    "predict_linear(g[10m], 600)", "holt_winters(g[10m], 0.5, 0.3)", "changes(g[10m])",
    "resets(c[10m])", "avg_over_time(g[5m])", "sum_over_time(g[5m])", "count_over_time(g[3m])",
    "min_over_time(g[5m])", "max_over_time(g[5m])", "last_over_time(g[5m])",
    "stddev_over_time(g[5m])", "stdvar_over_time(g[5m])", "quantile_over_time(0.3, g[5m])",
    "present_over_time(g[1m])", "absent_over_time(g[1m])", "absent_over_time(nothing[1m])",
    "rate({__name__=~\"g|d\"}[2m])", "rate({__name__=~\"e|f\"}[1m])",
    "-{__name__=~\"e|f\"}", "rate({__name__=~\"e|f\"}[10m])", "{__name__=~\"e|f\"} * 2",
    "sum_over_time({__name__=~\"e|f\"}[3m])", "abs({__name__=~\"e|f\"})",
    "label_replace({__name__=~\"e|f\"}, \"__name__\", \"\", \"\", \"\")",
    "{__name__=~\"e|f\"} + on(job, inst) g", "{__name__=~\"e|f\"} > 0",
    "timestamp({__name__=~\"e|f\"})", "rate({__name__=~\"g|d\", job=\"a\"}[30m])",
    "last_over_time({__name__=~\"g|d\"}[5m])", "holt_winters(g[10m], 2, 0.3)",
    "quantile_over_time(scalar(c{job=\"a\",inst=\"1\"}) / 1000, g[5m])",
    /* aggregations */
    "sum(c)", "sum by (job) (rate(c[5m]))", "avg without (inst) (g)", "count(g)",
    "min by (inst) (g)", "max(g)", "group by (job) (g)", "stddev(g)", "stdvar by (job) (g)",
    "sum by (le) (rate(h_bucket[5m]))", "topk(3, g)", "bottomk by (job) (2, g)",
    "topk(scalar(count(c)) - 5, rate(c[5m]))", "quantile(0.9, g)", "quantile by (job) (0.5, c)",
    "count_values(\"v\", floor(g))", "sum(g) by (__name__)", "avg(g{inst=\"0\"}) + sum(c)",
    "count without (job, inst) ({__name__=~\"c|g\"})",
    /* binary operators */
    "c + 1", "2 * g", "g > 0", "0 < g", "g >= bool 1", "1 == bool g", "c - c", "c / g",
    "c * on(job, inst) g", "c + ignoring(le) g", "g > on(job, inst) c",
    "g == bool on(job, inst) c", "c * on(job) group_left(owner) info",
    "info * on(job) group_right c", "c * on(job) info", "c and g", "c and on(job) g{inst=\"0\"}",
    "c unless g > 0", "g > 0 or c", "c or on(job) info", "g unless on(inst) g{job=\"b\"}",
    "{__name__=~\"g|d\"} + 1", "{__name__=~\"g|d\"} > 0", "g + on(job, inst) d",
    "d - ignoring(__name__) g", "c % 7", "c ^ 0.5", "g atan2 c", "1 + 2 * 3", "2 > bool 1",
    "time() - 60", "scalar(sum(c)) * g", "g @ 2000 - g",
    /* instant functions */
    "abs(g)", "ceil(g)", "floor(g)", "round(g)", "round(g, 0.3)", "exp(g / 10)", "sqrt(c)",
    "ln(c)", "log2(c)", "log10(c)", "sin(g)", "cos(g)", "tan(g)", "asin(g / 10)",
    "acos(g / 10)", "atan(g)", "sinh(g)", "cosh(g)", "tanh(g)", "asinh(g)", "acosh(c)",
    "atanh(g / 10)", "deg(g)", "rad(g)", "sgn(g)", "clamp(g, -1, 1)", "clamp(g, 2, 1)",
    "clamp_max(g, 0)", "clamp_min(g, 0)", "time()", "pi()", "vector(3)", "vector(time())",
    "scalar(g)", "scalar(sum(c))", "absent(nothing)", "absent(g)", "absent(nothing{job=\"x\"})",
    "sort(g)", "sort_desc(rate(c[5m]))", "timestamp(g)", "timestamp(rate(c[5m]))",
    "timestamp(g offset 1m)", "minute()", "hour(g)", "month(vector(time()))", "year()",
    "day_of_week(c * 1e5)", "days_in_month()",
    "label_replace(g, \"dst\", \"$1-x\", \"job\", \"(.*)\")",
    "label_replace(g, \"inst\", \"\", \"inst\", \".*\")",
    "label_replace({__name__=~\"g|d\"}, \"__name__\", \"z\", \"\", \"\")",
    "label_join(g, \"dst\", \"-\", \"job\", \"inst\")",
    "label_join({__name__=~\"g|d\"}, \"job\", \"\", \"nope\")",
    "histogram_quantile(0.9, rate(h_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le, job) (rate(h_bucket[5m])))",
    "histogram_quantile(scalar(g{job=\"a\",inst=\"0\"}) / 5, rate(h_bucket[10m]))",
    "histogram_sum(g)",
    /* subqueries */
    "max_over_time(rate(c[5m])[30m:1m])", "avg_over_time(g[10m:30s])", "rate(c[10m:1m])",
    "sum_over_time(sum by (job) (g)[15m:2m] offset 5m)", "count_over_time(g[20m:] @ 3000)",
    "min_over_time((g > 0)[10m:17s])", "quantile_over_time(0.5, g[15m:1m])",
    "absent_over_time(nothing[5m:1m])", "absent_over_time(g[5m:1m])",
    "last_over_time(max_over_time(g[5m:1m])[10m:2m])", "deriv(g[10m:1m])",
    "holt_winters(g[10m:1m], 0.3, 0.3)", "rate({__name__=~\"e|f\"}[10m:1m])",
    "count_over_time(vector(1)[1h:1s])", "sum_over_time(vector(time())[5m:1m])",
    "max_over_time(topk(2, g)[20m:1m])", "irate(c[3m:15s] offset -1m)",
    /* nesting */
    "sum by (job) (rate(c[5m])) / on(job) group_left sum by (job) (rate(c[10m]))",
    "max by (job) (avg_over_time(g[5m])) > bool 0", "topk(2, sum by (inst) (g))",
    "1 - avg by (inst) (rate(c{job=\"a\"}[5m]))", "(g)", "-(-g)",
};

TEST(grid_matches_step_evaluator)
{
    setup();
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        check(queries[i]);
    /* Subqueries whose steps over the whole range query pass a million: evaluated on slices
     * of the outer steps (only a long step here: step by step, these are slow). */
    static const int64_t long_step[] = {7 * MIN};
    check_steps("count_over_time(vector(1)[1m:1ms])", long_step, 1);
    check_steps("max_over_time(g[30s:1ms])", long_step, 1);
    check_steps("rate({__name__=~\"e|f\"}[40s:1ms])", long_step, 1);
    printf("# %zu points compared, %zu evaluations failed both ways\n", compared, errors_both);
    ASSERT_EQ(failures, 0);
    promql_engine_free(grid_eng);
    promql_engine_free(step_eng);
    tsdb_close(db);
}
