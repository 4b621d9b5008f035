/* tests/unit/tsdb/test_querier_cost.c — costing a selection before making it: the try-open that
 * never waits (head truncation under way, a block in the window), the bounds of values, series
 * and samples against what tsdb_querier_select() then returns, the matchers that cannot be
 * costed, and the `=` lookup that replaced the scan of a label's values. */
#include <stdlib.h>

#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/tsdb.h"
#include "test.h"

#define HOUR 3600000LL
#define STEP 15000LL

static const struct tsdb_select_cost no_limit = {UINT64_MAX, UINT64_MAX, UINT64_MAX};

/* m{i="<i>", job="<i % 2>"} for i < n, a sample every STEP in [from, to). */
static void fill(tsdb *db, int n, int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t += STEP) {
        tsdb_appender *a = tsdb_appender_new(db);
        struct err e = {0};
        for (int i = 0; i < n; i++) {
            char iv[16], jv[16];
            snprintf(iv, sizeof iv, "%d", i);
            snprintf(jv, sizeof jv, "%d", i % 2);
            struct label l[3] = {{"__name__", "m"}, {"i", iv}, {"job", jv}};
            struct labels ls = {l, 3};
            uint64_t ref = 0;
            ASSERT_OK_E(tsdb_appender_add(a, &ref, &ls, t, (double) i, &e), &e);
        }
        ASSERT_EQ(tsdb_appender_commit(a, &e), 0);
    }
}

static tsdb *open_mem(void)
{
    struct tsdb_opts o = {.chunk_samples = 10};
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    return db;
}

/* Cost of `m{<name> <type> "<value>"}` over [mint, maxt]; returns tsdb_querier_cost_within(). */
static int cost(tsdb *db, enum matcher_type type, const char *name, const char *value,
                int64_t mint, int64_t maxt, const struct tsdb_select_cost *lim,
                struct tsdb_select_cost *ret, size_t *ret_selected)
{
    struct arena *a = arena_new(0);
    struct matcher ms[2];
    struct err e = {0};
    ASSERT_OK_E(matcher_init(a, &ms[0], MATCH_EQ, "__name__", "m", &e), &e);
    ASSERT_OK_E(matcher_init(a, &ms[1], type, name, value, &e), &e);
    tsdb_querier *q = NULL;
    ASSERT_EQ(tsdb_querier_try_open_head(db, mint, maxt, &q, &e), 1);
    int r = tsdb_querier_cost_within(q, ms, 2, lim, ret);
    struct tsdb_series *ss;
    ASSERT_OK_E(tsdb_querier_select(q, a, ms, 2, &ss, ret_selected, &e), &e);
    tsdb_querier_close(q);
    arena_free(a);
    return r;
}

TEST(bounds_cover_what_the_selection_reads)
{
    tsdb *db = open_mem();
    /* 40 samples a series: chunks closed at 10 samples, merged into one of the window (head.c) */
    fill(db, 6, 0, 40 * STEP);
    struct tsdb_select_cost c;
    size_t n;
    /* `=`: looked up, no value compared; series from the smaller postings list. */
    ASSERT_EQ(cost(db, MATCH_EQ, "job", "1", 0, 40 * STEP, &no_limit, &c, &n), 1);
    ASSERT_EQ(c.values, 0u);
    ASSERT_EQ(c.series, 3u);
    ASSERT_EQ(n, 3u);
    ASSERT_EQ(c.samples, 3u * 40);
    /* A window inside one chunk: that chunk is decoded whole (the merged one, all 40). */
    ASSERT_EQ(cost(db, MATCH_EQ, "i", "4", 12 * STEP, 13 * STEP, &no_limit, &c, &n), 1);
    ASSERT_EQ(c.series, 1u);
    ASSERT_EQ(n, 1u);
    ASSERT_EQ(c.samples, 40u);
    /* `!=` compares every value of its label; series are bounded by __name__="m". */
    ASSERT_EQ(cost(db, MATCH_NE, "i", "4", 0, 40 * STEP, &no_limit, &c, &n), 1);
    ASSERT_EQ(c.values, 6u);
    ASSERT_EQ(c.series, 6u);
    ASSERT_EQ(n, 5u);
    /* A literal regex is a lookup too; an absent value selects nothing and costs nothing. */
    ASSERT_EQ(cost(db, MATCH_RE, "i", "2", 0, 40 * STEP, &no_limit, &c, &n), 1);
    ASSERT_EQ(c.series, 1u);
    ASSERT_EQ(n, 1u);
    ASSERT_EQ(cost(db, MATCH_EQ, "i", "77", 0, 40 * STEP, &no_limit, &c, &n), 1);
    ASSERT_EQ(c.series, 0u);
    ASSERT_EQ(c.samples, 0u);
    ASSERT_EQ(n, 0u);
    tsdb_close(db);
}

TEST(over_a_limit_or_not_costable_is_refused)
{
    tsdb *db = open_mem();
    fill(db, 6, 0, 40 * STEP);
    struct tsdb_select_cost c, lim = no_limit;
    size_t n;
    lim.series = 2;
    ASSERT_EQ(cost(db, MATCH_EQ, "job", "1", 0, 40 * STEP, &lim, &c, &n), 0);
    lim = no_limit;
    lim.samples = 3 * 40 - 1;
    ASSERT_EQ(cost(db, MATCH_EQ, "job", "1", 0, 40 * STEP, &lim, &c, &n), 0);
    lim = no_limit;
    lim.values = 5;
    ASSERT_EQ(cost(db, MATCH_NE, "i", "4", 0, 40 * STEP, &lim, &c, &n), 0);
    /* A real regex runs per value: not costed here. */
    ASSERT_EQ(cost(db, MATCH_RE, "i", "1|2", 0, 40 * STEP, &no_limit, &c, &n), 0);
    ASSERT_EQ(n, 2u);
    tsdb_close(db);
}

TEST(try_open_refuses_while_the_head_is_truncated_and_never_waits)
{
    tsdb *db = open_mem();
    fill(db, 2, 0, 4 * STEP);
    struct head *h = tsdb_db_head(db);
    tsdb_querier *q = NULL;
    struct err e = {0};
    pthread_rwlock_wrlock(&h->gc_lock); /* as head_truncate() holds it */
    ASSERT_EQ(tsdb_querier_try_open_head(db, 0, 4 * STEP, &q, &e), 0);
    ASSERT_TRUE(q == NULL);
    pthread_rwlock_unlock(&h->gc_lock);
    ASSERT_EQ(tsdb_querier_try_open_head(db, 0, 4 * STEP, &q, &e), 1);
    tsdb_querier_close(q);
    tsdb_close(db);
}

TEST(try_open_refuses_a_window_a_block_holds)
{
    char *dir = test_tmpdir();
    struct tsdb_opts o = {.dir = dir, .block_range_ms = HOUR, .tick_ms = HOUR};
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    fill(db, 2, 0, 3 * HOUR);
    ASSERT_OK_E(db_cut_head(db, 0, HOUR - 1, &e), &e);
    tsdb_querier *q = NULL;
    ASSERT_EQ(tsdb_querier_try_open_head(db, HOUR - 5 * STEP, 2 * HOUR, &q, &e), 0);
    ASSERT_EQ(tsdb_querier_try_open_head(db, 2 * HOUR, 3 * HOUR, &q, &e), 1);
    tsdb_querier_close(q);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}
