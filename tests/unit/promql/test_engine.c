/* tests/unit/promql/test_engine.c — evaluation against an in-memory tsdb: lookback and staleness,
 * range-query steps and ordering, @ start()/end(), and the failure paths (sample limit, timeout,
 * arena cap, execution errors) with Prometheus' messages. */
#include <stdlib.h>

#include "promql/promql.h"
#include "test.h"

#define MIN 60000

static tsdb *db;

static void add(const char *name, const char *job, int64_t t, double v)
{
    struct label l[2] = {{"__name__", name}, {"job", job}};
    struct labels ls = {l, 2};
    struct err e = {0};
    uint64_t ref = 0;
    tsdb_appender *app = tsdb_appender_new(db);
    ASSERT_TRUE(app);
    ASSERT_OK_E(tsdb_appender_add(app, &ref, &ls, t, v, &e), &e);
    ASSERT_EQ(tsdb_appender_commit(app, &e), 0);
}

static void setup(void)
{
    struct tsdb_opts o = {0};
    struct err e = {0};
    tsdb_close(db);
    db = NULL;
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    /* a: a counter every minute for 10 minutes; b: one sample, then a stale marker. */
    for (int i = 0; i <= 10; i++)
        add("a", "x", i * MIN, i * 10.0);
    add("b", "y", 0, 1);
    add("b", "y", 2 * MIN, num_stale_nan());
}

static promql_engine *engine(uint64_t max_samples, int64_t timeout_ms)
{
    struct promql_engine_opts o = {.max_samples = max_samples, .timeout_ms = timeout_ms};
    promql_engine *eng;
    struct err e = {0};
    ASSERT_OK_E(promql_engine_new(db, &o, &eng, &e), &e);
    return eng;
}

static int instant(promql_engine *eng, struct arena *a, const char *q, int64_t t,
                   struct promql_result *res, struct err *e)
{
    struct promql_expr *x;
    int r = promql_parse(a, q, strlen(q), &x, e);
    return r < 0 ? r : promql_eval_instant(eng, a, x, t, res, e);
}

static double one_value(promql_engine *eng, const char *q, int64_t t, size_t *ret_n)
{
    struct arena *a = arena_new(0);
    struct promql_result res;
    struct err e = {0};
    ASSERT_OK_E(instant(eng, a, q, t, &res, &e), &e);
    double v = (double) NAN;
    if (res.type == PROMQL_SCALAR) {
        v = res.u.scalar.v;
        *ret_n = 1;
    } else {
        ASSERT_EQ(res.type, PROMQL_VECTOR);
        *ret_n = res.u.vector.n;
        if (res.u.vector.n > 0) {
            v = res.u.vector.v[0].v;
            ASSERT_EQ(res.u.vector.v[0].t, t);
        }
    }
    arena_free(a);
    return v;
}

TEST(lookback_and_staleness)
{
    setup();
    promql_engine *eng = engine(0, 0);
    size_t n;
    ASSERT_DBL_EQ(one_value(eng, "a", 10 * MIN, &n), 100);
    ASSERT_EQ(n, 1);
    ASSERT_DBL_EQ(one_value(eng, "a", 15 * MIN, &n), 100); /* lookback end is inclusive */
    ASSERT_EQ(n, 1);
    (void) one_value(eng, "a", 15 * MIN + 1, &n);
    ASSERT_EQ(n, 0);
    ASSERT_DBL_EQ(one_value(eng, "b", 1 * MIN, &n), 1);
    ASSERT_EQ(n, 1);
    (void) one_value(eng, "b", 2 * MIN, &n); /* the stale marker ends the series */
    ASSERT_EQ(n, 0);
    ASSERT_DBL_EQ(one_value(eng, "a offset 5m", 10 * MIN, &n), 50);
    ASSERT_DBL_EQ(one_value(eng, "a @ 120", 10 * MIN, &n), 20);
    ASSERT_DBL_EQ(one_value(eng, "timestamp(a @ 130)", 0, &n), 120);
    ASSERT_DBL_EQ(one_value(eng, "count_over_time(b[10m])", 5 * MIN, &n), 1);
    ASSERT_DBL_EQ(one_value(eng, "rate(a[5m])", 10 * MIN, &n), 10.0 / 60);
    ASSERT_DBL_EQ(one_value(eng, "sum(a) + 1", 10 * MIN, &n), 101);
    ASSERT_DBL_EQ(one_value(eng, "1 + 2 * 3", 0, &n), 7);
    promql_engine_free(eng);
}

TEST(range_query_steps_and_order)
{
    setup();
    promql_engine *eng = engine(0, 0);
    struct arena *a = arena_new(0);
    struct promql_expr *x;
    struct promql_result res;
    struct err e = {0};
    const char *q = "a or label_replace(b, \"job\", \"a\", \"\", \"\")";
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    ASSERT_OK_E(promql_eval_range(eng, a, x, 0, 4 * MIN, MIN, &res, &e), &e);
    ASSERT_EQ(res.type, PROMQL_MATRIX);
    ASSERT_EQ(res.u.matrix.n, 2);
    ASSERT_STR_EQ(labels_get(&res.u.matrix.v[0].metric, "__name__"), "a");
    ASSERT_EQ(res.u.matrix.v[0].n_points, 5);
    ASSERT_EQ(res.u.matrix.v[1].n_points, 2); /* b: at 0 and 1m, stale from 2m */
    ASSERT_EQ(res.u.matrix.v[1].points[1].t, MIN);

    q = "time()";
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    ASSERT_OK_E(promql_eval_range(eng, a, x, MIN, 3 * MIN, MIN, &res, &e), &e);
    ASSERT_EQ(res.u.matrix.n, 1);
    ASSERT_EQ(res.u.matrix.v[0].metric.n, 0);
    ASSERT_DBL_EQ(res.u.matrix.v[0].points[2].v, 180);

    q = "a @ end() - a @ start()";
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    ASSERT_OK_E(promql_eval_range(eng, a, x, 2 * MIN, 6 * MIN, 2 * MIN, &res, &e), &e);
    ASSERT_EQ(res.u.matrix.n, 1);
    ASSERT_EQ(res.u.matrix.v[0].n_points, 3);
    ASSERT_DBL_EQ(res.u.matrix.v[0].points[0].v, 40);

    q = "a[5m]";
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    ASSERT_EQ(promql_eval_range(eng, a, x, 0, MIN, MIN, &res, &e), ERR_EXEC);
    ASSERT_STR_EQ(e.msg, "invalid expression type \"range vector\" for range query, must be "
                         "Scalar or instant Vector");
    ASSERT_OK_E(promql_eval_instant(eng, a, x, 10 * MIN, &res, &e), &e);
    ASSERT_EQ(res.type, PROMQL_MATRIX);
    ASSERT_EQ(res.u.matrix.v[0].n_points, 6); /* [5m, 10m], both ends inclusive */
    arena_free(a);
    promql_engine_free(eng);
}

TEST(sample_limit)
{
    setup();
    promql_engine *eng = engine(5, 0);
    struct arena *a = arena_new(0);
    struct promql_result res;
    struct err e = {0};
    ASSERT_OK_E(instant(eng, a, "count_over_time(a[4m])", 10 * MIN, &res, &e), &e);
    ASSERT_EQ(instant(eng, a, "count_over_time(a[5m])", 10 * MIN, &res, &e), ERR_LIMIT);
    ASSERT_STR_EQ(e.msg, "query processing would load too many samples into memory in query "
                         "execution");
    arena_free(a);
    promql_engine_free(eng);
}

/* A range query holds each intermediate result over all steps, as Prometheus does: sum(a) over
 * 11 steps holds a's 11 points, the sum's accumulator over the 11 steps and its result. */
TEST(range_query_counts_whole_intermediate_results)
{
    setup();
    struct arena *a = arena_new(0);
    struct promql_expr *x;
    struct promql_result res;
    struct err e = {0};
    ASSERT_OK_E(promql_parse(a, "sum(a)", 6, &x, &e), &e);
    for (uint64_t max = 21; max <= 32; max += 11) { /* the accumulator, then the result */
        promql_engine *eng = engine(max, 0);
        ASSERT_EQ(promql_eval_range(eng, a, x, 0, 10 * MIN, MIN, &res, &e), ERR_LIMIT);
        ASSERT_STR_EQ(e.msg, "query processing would load too many samples into memory in "
                             "query execution");
        promql_engine_free(eng);
    }
    promql_engine *eng = engine(33, 0);
    ASSERT_OK_E(promql_eval_range(eng, a, x, 0, 10 * MIN, MIN, &res, &e), &e);
    ASSERT_EQ(res.u.matrix.n, 1);
    ASSERT_EQ(res.u.matrix.v[0].n_points, 11);
    promql_engine_free(eng);
    arena_free(a);
}

/* A million-step subquery: its points count (far under the limit), not its steps' scratch. */
TEST(long_subquery_is_not_too_many_samples)
{
    setup();
    promql_engine *eng = engine(0, 0);
    size_t n;
    ASSERT_DBL_EQ(one_value(eng, "count_over_time(vector(1)[1000s:1ms])", 0, &n), 1000001);
    ASSERT_EQ(n, 1);
    /* quantile_over_time copies each 100k-point window (3.2 MB): one at a time, not all 100
     * at once (past the 256 MiB step arena). */
    struct arena *a = arena_new(0);
    struct promql_expr *x;
    struct promql_result res;
    struct err e = {0};
    const char *q = "quantile_over_time(0.5, vector(1)[100s:1ms])";
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    ASSERT_OK_E(promql_eval_range(eng, a, x, 0, 99000, 1000, &res, &e), &e);
    ASSERT_EQ(res.u.matrix.n, 1);
    ASSERT_EQ(res.u.matrix.v[0].n_points, 100);
    arena_free(a);
    promql_engine_free(eng);
}

TEST(timeout)
{
    setup();
    promql_engine *eng = engine(UINT64_MAX, 1);
    struct arena *a = arena_new(0);
    struct promql_result res;
    struct err e = {0};
    ASSERT_EQ(instant(eng, a, "count_over_time(vector(1)[1000d:1ms])", 0, &res, &e), ERR_TIMEOUT);
    ASSERT_STR_CONTAINS(e.msg, "query timed out");
    arena_free(a);
    promql_engine_free(eng);
}

TEST(cancel)
{
    setup();
    promql_engine *eng = engine(0, 0);
    struct arena *a = arena_new(0);
    struct promql_result res;
    struct err e = {0};
    ASSERT_OK_E(instant(eng, a, "a", MIN, &res, &e), &e);
    promql_engine_cancel(eng);
    ASSERT_EQ(instant(eng, a, "a", MIN, &res, &e), ERR_CANCELED);
    ASSERT_STR_EQ(e.msg, "query was canceled in query execution");
    arena_free(a);
    promql_engine_free(eng);
}

TEST(arena_cap_is_a_limit_not_a_crash)
{
    setup();
    promql_engine *eng = engine(0, 0);
    struct promql_result res;
    struct err e = {0};
    int saw_limit = 0;
    for (size_t cap = 1024; cap < (1u << 20); cap *= 2) {
        struct arena *a = arena_new(cap);
        int r = instant(eng, a, "sum by (job) (rate(a[5m])) * on() group_left vector(2)", 10 * MIN,
                        &res, &e);
        ASSERT_TRUE(r >= 0 || r == ERR_LIMIT || r == ERR_PARSE);
        saw_limit |= r == ERR_LIMIT;
        arena_free(a);
    }
    ASSERT_TRUE(saw_limit);
    promql_engine_free(eng);
}

TEST(execution_errors)
{
    setup();
    promql_engine *eng = engine(0, 0);
    struct arena *a = arena_new(0);
    struct promql_result res;
    struct err e = {0};
    ASSERT_EQ(instant(eng, a, "label_replace(a, \"dst\", \"\", \"job\", \"(\")", MIN, &res, &e),
              ERR_EXEC);
    ASSERT_STR_EQ(e.msg, "invalid regular expression in label_replace(): (");
    ASSERT_EQ(instant(eng, a, "label_replace(a, \"1x\", \"\", \"job\", \".*\")", MIN, &res, &e),
              ERR_EXEC);
    ASSERT_EQ(instant(eng, a,
                      "a + ignoring(job) label_replace(a, \"job\", \"z\", \"\", \"\") or "
                      "a * on() group_left a",
                      MIN, &res, &e),
              0);
    ASSERT_EQ(instant(eng, a,
                      "-{__name__=~\"a|b\", job=~\"x|y\"} + ignoring(__name__, job) "
                      "{__name__=~\"a|b\"}",
                      MIN, &res, &e),
              ERR_EXEC);
    ASSERT_STR_CONTAINS(e.msg, "many-to-many matching not allowed");
    ASSERT_EQ(instant(eng, a, "label_replace({__name__=~\"a|b\"}, \"job\", \"\", \"\", \"\") * 1",
                      MIN, &res, &e),
              ERR_EXEC);
    ASSERT_STR_EQ(e.msg, "vector cannot contain metrics with the same labelset");
    ASSERT_EQ(instant(eng, a, "holt_winters(a[5m], 2, 0.5)", MIN, &res, &e), ERR_EXEC);
    ASSERT_EQ(instant(eng, a, "count_values(\"a-b\", a)", MIN, &res, &e), ERR_EXEC);
    ASSERT_STR_EQ(e.msg, "invalid label name \"a-b\"");
    arena_free(a);
    promql_engine_free(eng);
    tsdb_close(db);
    db = NULL;
}
