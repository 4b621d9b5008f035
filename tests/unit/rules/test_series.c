/* tests/unit/rules/test_series.c — the series notation of promtool's input_series (and PromQL
 * test files): expansions, gaps, stale markers, and malformed values refused with a reason. */
#include "rules/rules.h"

#include <string.h>

#include "test.h"

struct got {
    uint64_t slot[64];
    double v[64];
    int n;
};

static int collect(void *arg, uint64_t slot, double v)
{
    struct got *g = arg;
    if (g->n == 64)
        return -1;
    g->slot[g->n] = slot;
    g->v[g->n++] = v;
    return 0;
}

TEST(expansions)
{
    struct got g = {0};
    struct err e = {0};
    ASSERT_OK_E(rules_series_values("1+2x3 _ stale -1-1x1 _x2 5x1 1e3 Inf", collect, &g, &e), &e);
    ASSERT_EQ(g.n, 11);
    double want[] = {1, 3, 5, 7};
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(g.slot[i], (uint64_t) i);
        ASSERT_DBL_EQ(g.v[i], want[i]);
    }
    ASSERT_EQ(g.slot[4], 5u); /* _ left slot 4 empty */
    ASSERT_TRUE(num_is_stale(g.v[4]));
    ASSERT_DBL_EQ(g.v[5], -1);
    ASSERT_DBL_EQ(g.v[6], -2);
    ASSERT_EQ(g.slot[7], 10u); /* _x2 skipped 8 and 9 */
    ASSERT_DBL_EQ(g.v[7], 5);
    ASSERT_DBL_EQ(g.v[8], 5);
    ASSERT_DBL_EQ(g.v[9], 1000);
    ASSERT_TRUE(g.v[10] > 1e308);
}

TEST(malformed_values)
{
    static const char *const bad[] = {"abc", "1+x3", "1x", "1x-2", "_xz", "1+2x99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct got g = {0};
        struct err e = {0};
        int r = rules_series_values(bad[i], collect, &g, &e);
        if (r >= 0)
            test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        ASSERT_TRUE(e.msg[0] != 0);
    }
}

TEST(descriptors)
{
    struct arena *a = arena_new(0);
    struct labels ls;
    struct err e = {0};
    ASSERT_OK_E(rules_series_labels(a, "up{job=\"x\", instance=\"a:1\", empty=\"\"}", &ls, &e),
                &e);
    ASSERT_EQ(ls.n, 3u);
    ASSERT_STR_EQ(ls.v[0].name, "__name__");
    ASSERT_STR_EQ(labels_get(&ls, "job"), "x");
    ASSERT_OK_E(rules_series_labels(a, "{}", &ls, &e), &e);
    ASSERT_EQ(ls.n, 0u);
    ASSERT_TRUE(rules_series_labels(a, "up{job=~\"x\"}", &ls, &e) == ERR_PARSE);
    ASSERT_TRUE(rules_series_labels(a, "rate(up[5m])", &ls, &e) == ERR_PARSE);
    ASSERT_TRUE(rules_series_labels(a, "up{", &ls, &e) == ERR_PARSE);
    arena_free(a);
}
