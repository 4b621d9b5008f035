/* tests/unit/promql/test_functions.c — edge cases of functions, operators and aggregations that
 * the script tests do not pin: Go's regexp template expansion in label_replace, Go's NaN-aware
 * min/max in clamp, date functions, bucket edge cases, topk ties, count_values formatting. */
#include "promql/promql.h"
#include "test.h"

static tsdb *db;
static promql_engine *eng;
static struct arena *A;

static void init(void)
{
    if (eng)
        return;
    struct tsdb_opts o = {0};
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    ASSERT_OK_E(promql_engine_new(db, NULL, &eng, &e), &e);
    A = arena_new(0);
}

static struct promql_result eval_at(const char *q, int64_t t)
{
    init();
    struct promql_expr *x;
    struct promql_result res;
    struct err e = {0};
    if (promql_parse(A, q, strlen(q), &x, &e) < 0 ||
        promql_eval_instant(eng, A, x, t, &res, &e) < 0)
        test_fail(__FILE__, __LINE__, "%s: %s", q, e.msg);
    return res;
}

static double scalar_of(const char *q)
{
    struct promql_result r = eval_at(q, 0);
    if (r.type == PROMQL_SCALAR)
        return r.u.scalar.v;
    ASSERT_EQ(r.type, PROMQL_VECTOR);
    ASSERT_EQ(r.u.vector.n, 1);
    return r.u.vector.v[0].v;
}

static const char *label_of(const char *q, const char *name)
{
    struct promql_result r = eval_at(q, 0);
    ASSERT_EQ(r.type, PROMQL_VECTOR);
    ASSERT_EQ(r.u.vector.n, 1);
    return labels_get(&r.u.vector.v[0].metric, name);
}

TEST(label_replace_template)
{
    /* $1x names a group "1x" (absent: empty); ${1}x is group 1 then "x"; $$ is a dollar. */
    ASSERT_STR_EQ(label_of("label_replace(vector(1), \"d\", \"$1x-${1}x-$$-$\", \"s\", \"(.*)\")",
                           "d"),
                  "-x-$-$");
    ASSERT_STR_EQ(label_of("label_replace(label_replace(vector(1), \"s\", \"ab\", \"\", \"\"), "
                           "\"d\", \"<$2$1>\", \"s\", \"(a)(b)\")",
                           "d"),
                  "<ba>");
    /* No match: labels stay as they were. */
    ASSERT_TRUE(label_of("label_replace(vector(1), \"d\", \"x\", \"s\", \"a+\")", "d") == NULL);
    /* Anchored: "b" does not match a partial "ab". */
    ASSERT_TRUE(label_of("label_replace(label_replace(vector(1), \"s\", \"ab\", \"\", \"\"), "
                         "\"d\", "
                         "\"x\", \"s\", \"b\")",
                         "d") == NULL);
    ASSERT_STR_EQ(label_of("label_join(label_replace(vector(1), \"a\", \"1\", \"\", \"\"), \"d\", "
                           "\"-\", \"a\", \"missing\", \"a\")",
                           "d"),
                  "1--1");
}

TEST(clamp_and_math)
{
    ASSERT_TRUE(isnan(scalar_of("clamp(vector(5), NaN, 10)")));
    ASSERT_TRUE(isnan(scalar_of("clamp_max(vector(NaN), 1)")));
    ASSERT_DBL_EQ(scalar_of("clamp_min(vector(-5), -1)"), -1);
    struct promql_result r = eval_at("clamp(vector(5), 2, 1)", 0);
    ASSERT_EQ(r.u.vector.n, 0); /* min > max: nothing */
    ASSERT_DBL_EQ(scalar_of("round(vector(2.5))"), 3);
    ASSERT_DBL_EQ(scalar_of("round(vector(-2.5))"), -2);
    ASSERT_DBL_EQ(scalar_of("round(vector(7.3), 5)"), 5);
    ASSERT_DBL_EQ(scalar_of("sgn(vector(-0.5))"), -1);
    ASSERT_DBL_EQ(scalar_of("2 ^ 3 ^ 2"), 512);
    ASSERT_DBL_EQ(scalar_of("-2 ^ 2"), -4);
    ASSERT_DBL_EQ(scalar_of("-7 % 3"), -1);
    ASSERT_DBL_EQ(scalar_of("vector(1) atan2 vector(0)"), M_PI / 2);
    ASSERT_DBL_EQ(scalar_of("scalar(vector(1) == bool vector(2))"), 0);
    ASSERT_TRUE(isnan(scalar_of("scalar(vector(1) and vector(2) == 5)"))); /* no element */
}

TEST(dates)
{
    /* 2024-02-29T13:45:00Z = 1709214300 */
    struct promql_result r = eval_at("day_of_month()", 1709214300000);
    ASSERT_DBL_EQ(r.u.vector.v[0].v, 29);
    ASSERT_DBL_EQ(scalar_of("days_in_month(vector(1709214300))"), 29);
    ASSERT_DBL_EQ(scalar_of("days_in_month(vector(1677628800))"), 31); /* 2023-03-01 */
    ASSERT_DBL_EQ(scalar_of("day_of_year(vector(1709214300))"), 60);
    ASSERT_DBL_EQ(scalar_of("day_of_week(vector(1709214300))"), 4);
    ASSERT_DBL_EQ(scalar_of("hour(vector(1709214300))"), 13);
    ASSERT_DBL_EQ(scalar_of("minute(vector(1709214300))"), 45);
    ASSERT_DBL_EQ(scalar_of("month(vector(1709214300))"), 2);
    ASSERT_DBL_EQ(scalar_of("year(vector(1709214300))"), 2024);
    ASSERT_DBL_EQ(scalar_of("time()"), 0);
}

TEST(histogram_quantile_edges)
{
    const char *b = "label_replace(vector(%s), \"le\", \"%s\", \"\", \"\")";
    char q[512];
    char one[128], inf[128];
    (void) snprintf(one, sizeof one, b, "10", "1");
    (void) snprintf(inf, sizeof inf, b, "20", "+Inf");
    (void) snprintf(q, sizeof q, "histogram_quantile(0.5, %s or %s)", one, inf);
    /* Buckets le="1" (10) and le="+Inf" (20): the median is at the top of the first bucket. */
    ASSERT_DBL_EQ(scalar_of(q), 1);
    (void) snprintf(q, sizeof q, "histogram_quantile(0.75, %s or %s)", one, inf);
    ASSERT_DBL_EQ(scalar_of(q), 1); /* rank in the +Inf bucket: the last finite bound */
    (void) snprintf(q, sizeof q, "histogram_quantile(-1, %s or %s)", one, inf);
    ASSERT_DBL_EQ(scalar_of(q), -(double) INFINITY);
    (void) snprintf(q, sizeof q, "histogram_quantile(0.5, %s)", one);
    ASSERT_TRUE(isnan(scalar_of(q))); /* no +Inf bucket */
}

TEST(aggregation_details)
{
    const char *three = "label_replace(vector(1), \"i\", \"a\", \"\", \"\") or "
                        "label_replace(vector(1), \"i\", \"b\", \"\", \"\") or "
                        "label_replace(vector(2), \"i\", \"c\", \"\", \"\")";
    char q[512];
    (void) snprintf(q, sizeof q, "topk(2, %s)", three);
    struct promql_result r = eval_at(q, 0);
    ASSERT_EQ(r.u.vector.n, 2);
    ASSERT_STR_EQ(labels_get(&r.u.vector.v[0].metric, "i"), "c");
    /* Go's heap keeps the later of two tied values. */
    ASSERT_STR_EQ(labels_get(&r.u.vector.v[1].metric, "i"), "b");
    (void) snprintf(q, sizeof q, "count_values(\"v\", (%s) * 0.5)", three);
    r = eval_at(q, 0);
    ASSERT_EQ(r.u.vector.n, 2);
    ASSERT_STR_EQ(labels_get(&r.u.vector.v[0].metric, "v"), "0.5");
    (void) snprintf(q, sizeof q, "quantile(0.5, %s)", three);
    ASSERT_DBL_EQ(scalar_of(q), 1);
    (void) snprintf(q, sizeof q, "stdvar(%s)", three);
    ASSERT_TRUE(fabs(scalar_of(q) - 2.0 / 9) < 1e-12);
    (void) snprintf(q, sizeof q, "avg(%s) + count(%s) + group(%s)", three, three, three);
    ASSERT_TRUE(fabs(scalar_of(q) - (4.0 / 3 + 3 + 1)) < 1e-12);
    ASSERT_EQ(eval_at("topk(0, vector(1))", 0).u.vector.n, 0);
    arena_free(A);
    A = NULL;
    promql_engine_free(eng);
    eng = NULL;
    tsdb_close(db);
    db = NULL;
}
