/* tests/unit/promql/test_engine_small.c — promql_eval_instant_small(): the queries it takes give
 * exactly promql_eval_instant()'s result and errors; the ones it declines (subquery,
 * label_replace, a regex, over a budget figure, too many nodes) are left unevaluated. */
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"
#include "test.h"

#define MIN 60000

static const struct promql_small_budget roomy = {64, {8192, 64, 8192}};

static tsdb *open_filled(void)
{
    struct tsdb_opts o = {0};
    struct err e = {0};
    tsdb *db;
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    /* up{job="a|b", instance="0..3"} every 15 s for 10 minutes, value instance + t. */
    for (int64_t t = 0; t <= 10 * MIN; t += 15000) {
        tsdb_appender *app = tsdb_appender_new(db);
        for (int i = 0; i < 8; i++) {
            char inst[8];
            snprintf(inst, sizeof inst, "%d", i / 2);
            struct label l[3] = {{"__name__", "up"}, {"instance", inst}, {"job", i % 2 ? "b" : "a"}};
            struct labels ls = {l, 3};
            uint64_t ref = 0;
            ASSERT_OK_E(tsdb_appender_add(app, &ref, &ls, t, i + (double) t / MIN, &e), &e);
        }
        ASSERT_EQ(tsdb_appender_commit(app, &e), 0);
    }
    return db;
}

static promql_engine *engine(tsdb *db, uint64_t max_samples)
{
    struct promql_engine_opts o = {.max_samples = max_samples};
    promql_engine *eng;
    struct err e = {0};
    ASSERT_OK_E(promql_engine_new(db, &o, &eng, &e), &e);
    return eng;
}

/* The result as text, for comparing two evaluations. */
static char *render(struct arena *a, int r, const struct promql_result *res, const struct err *e)
{
    if (r < 0)
        return arena_printf(a, "error %d %s", r, e->msg);
    char *s = arena_printf(a, "%s", promql_value_type_name(res->type));
    if (res->type == PROMQL_VECTOR)
        for (size_t i = 0; i < res->u.vector.n; i++)
            s = arena_printf(a, "%s %s@%lld=%.17g", s, labels_format(a, &res->u.vector.v[i].metric),
                             (long long) res->u.vector.v[i].t, res->u.vector.v[i].v);
    else if (res->type == PROMQL_SCALAR)
        s = arena_printf(a, "%s %.17g", s, res->u.scalar.v);
    else if (res->type == PROMQL_MATRIX)
        for (size_t i = 0; i < res->u.matrix.n; i++)
            s = arena_printf(a, "%s %s:%zu", s, labels_format(a, &res->u.matrix.v[i].metric),
                             res->u.matrix.v[i].n_points);
    return s;
}

/* Evaluates q both ways; returns promql_eval_instant_small()'s code and checks that whenever it
 * evaluated, it answered as promql_eval_instant() does. */
static int both(promql_engine *eng, const char *q, int64_t t, const struct promql_small_budget *b)
{
    struct arena *a = arena_new(0);
    struct promql_expr *x;
    struct err e1 = {0}, e2 = {0};
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e1), &e1);
    struct promql_result r1 = {0}, r2 = {0};
    int c1 = promql_eval_instant_small(eng, a, x, t, b, &r1, &e1);
    int c2 = promql_eval_instant(eng, a, x, t, &r2, &e2);
    if (c1 != 1)
        ASSERT_STR_EQ(render(a, c1, &r1, &e1), render(a, c2, &r2, &e2));
    arena_free(a);
    return c1;
}

TEST(small_queries_answer_as_the_full_path)
{
    tsdb *db = open_filled();
    promql_engine *eng = engine(db, 0);
    static const char *const qs[] = {
        "up", "up{job=\"a\"}", "up{job=\"a\",instance!=\"1\"}", "sum by (job) (up)",
        "rate(up{instance=\"2\"}[2m])", "up offset 1m", "up{job=\"b\"} * 2 > 5", "time()", "1 + 2",
        "count(up) - count(up{job=\"a\"})", "topk(2, up)", "up{job=\"c\"}", "absent(nope)",
        "up{job=\"a\"}[1m]", "up{instance=~\"3\"}",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        ASSERT_EQ(both(eng, qs[i], 5 * MIN, &roomy), 0);
    /* Past the data's end: the lookback window is empty, still small. */
    ASSERT_EQ(both(eng, "up", 30 * MIN, &roomy), 0);
    promql_engine_free(eng);
    tsdb_close(db);
}

TEST(queries_not_known_to_be_small_are_declined)
{
    tsdb *db = open_filled();
    promql_engine *eng = engine(db, 0);
    ASSERT_EQ(both(eng, "max_over_time(up[5m:1m])", 5 * MIN, &roomy), 1);
    ASSERT_EQ(both(eng, "label_replace(up, \"x\", \"$1\", \"job\", \"(.*)\")", 5 * MIN, &roomy),
              1);
    ASSERT_EQ(both(eng, "up{job=~\"a|b\"}", 5 * MIN, &roomy), 1);
    ASSERT_EQ(both(eng, "{job!=\"\"}", 5 * MIN, &roomy), 1); /* no `=` to bound the series */
    struct promql_small_budget b = roomy;
    b.cost.series = 7;
    ASSERT_EQ(both(eng, "up", 5 * MIN, &b), 1);
    ASSERT_EQ(both(eng, "up{job=\"a\"}", 5 * MIN, &b), 0);
    /* Budgets add up over the selectors. */
    ASSERT_EQ(both(eng, "up{job=\"a\"} + up{job=\"b\"}", 5 * MIN, &b), 1);
    b = roomy;
    b.cost.samples = 10;
    ASSERT_EQ(both(eng, "up{instance=\"1\"}", 5 * MIN, &b), 1);
    b = roomy;
    b.nodes = 2;
    ASSERT_EQ(both(eng, "sum(up) + 1", 5 * MIN, &b), 1);
    ASSERT_EQ(both(eng, "sum(up)", 5 * MIN, &b), 0);
    promql_engine_free(eng);
    tsdb_close(db);
}

TEST(limits_hold_on_the_small_path)
{
    tsdb *db = open_filled();
    promql_engine *eng = engine(db, 3); /* max samples */
    ASSERT_EQ(both(eng, "up", 5 * MIN, &roomy), ERR_LIMIT);
    promql_engine_free(eng);
    eng = engine(db, 0);
    promql_engine_cancel(eng);
    ASSERT_EQ(both(eng, "up", 5 * MIN, &roomy), ERR_CANCELED);
    promql_engine_free(eng);
    tsdb_close(db);
}
