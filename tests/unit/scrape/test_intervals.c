/* tests/unit/scrape/test_intervals.c — prometheus_target_interval_length_seconds' bookkeeping:
 * quantiles by exact rank over the recent observations of each configured interval, cumulative
 * sum and count, observations older than the 10 minute window leave the quantiles (not the
 * count), and an interval with none in the window reports NaN quantiles. */
#include "scrape/intervals.h"
#include "test.h"

#include <math.h>

struct got {
    struct scrape_interval_summary v[4];
    int n;
};

static void collect(void *ctx, const struct scrape_interval_summary *s)
{
    struct got *g = ctx;
    if (g->n < 4)
        g->v[g->n++] = *s;
}

TEST(intervals_quantiles_sum_and_count_per_interval)
{
    struct scrape_intervals *s = scrape_intervals_new();
    ASSERT_TRUE(s != NULL);
    int64_t now = 1700000000000;
    /* 100 observations of a 5 s interval: 4.01, 4.02, ... 5.00 s, shuffled by a stride. */
    for (int i = 0; i < 100; i++)
        scrape_intervals_observe(s, 5000, 4.0 + (double) ((i * 37) % 100 + 1) / 100, now);
    scrape_intervals_observe(s, 15000, 15.25, now);
    struct got g = {0};
    scrape_intervals_each(s, now, collect, &g);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(g.v[0].interval_ms, 5000);
    ASSERT_EQ(g.v[0].count, 100);
    ASSERT_TRUE(fabs(g.v[0].sum_seconds - (400 + 50.5)) < 1e-9);
    const double want[SCRAPE_INTERVAL_QUANTILES] = {4.01, 4.05, 4.50, 4.90, 4.99};
    for (int q = 0; q < SCRAPE_INTERVAL_QUANTILES; q++)
        ASSERT_TRUE(fabs(g.v[0].quantile[q] - want[q]) < 1e-9);
    ASSERT_EQ(g.v[1].interval_ms, 15000);
    ASSERT_EQ(g.v[1].count, 1);
    for (int q = 0; q < SCRAPE_INTERVAL_QUANTILES; q++)
        ASSERT_DBL_EQ(g.v[1].quantile[q], 15.25);
    scrape_intervals_free(s);
}

TEST(intervals_window_ages_out_quantiles_not_totals)
{
    struct scrape_intervals *s = scrape_intervals_new();
    ASSERT_TRUE(s != NULL);
    int64_t t0 = 1700000000000;
    for (int i = 0; i < 10; i++)
        scrape_intervals_observe(s, 1000, 9.0, t0); /* old and slow */
    scrape_intervals_observe(s, 1000, 1.0, t0 + 9 * 60 * 1000);
    struct got g = {0};
    scrape_intervals_each(s, t0 + 11 * 60 * 1000, collect, &g); /* the 9.0s are 11 min old */
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(g.v[0].count, 11);
    ASSERT_DBL_EQ(g.v[0].sum_seconds, 91.0);
    for (int q = 0; q < SCRAPE_INTERVAL_QUANTILES; q++)
        ASSERT_DBL_EQ(g.v[0].quantile[q], 1.0);
    g.n = 0;
    scrape_intervals_each(s, t0 + 30 * 60 * 1000, collect, &g); /* nothing recent */
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(g.v[0].count, 11);
    for (int q = 0; q < SCRAPE_INTERVAL_QUANTILES; q++)
        ASSERT_TRUE(isnan(g.v[0].quantile[q]));
    scrape_intervals_free(s);
}

TEST(intervals_keep_only_the_most_recent_observations)
{
    struct scrape_intervals *s = scrape_intervals_new();
    ASSERT_TRUE(s != NULL);
    int64_t now = 1700000000000;
    for (int i = 0; i < 5000; i++) /* far more than one interval keeps: the last ones count */
        scrape_intervals_observe(s, 2000, i < 3000 ? 100.0 : 2.0, now);
    struct got g = {0};
    scrape_intervals_each(s, now, collect, &g);
    ASSERT_EQ(g.v[0].count, 5000);
    ASSERT_DBL_EQ(g.v[0].quantile[4], 2.0);
    scrape_intervals_observe(NULL, 2000, 1.0, now); /* a loop without a manager: ignored */
    scrape_intervals_free(s);
    scrape_intervals_free(NULL);
}
