/* tests/unit/promql/test_parse_cache.c — the parse cache: a repeated text gets the same tree
 * without parsing, trees print as a fresh parse does, errors are reported every time and never
 * kept, and the number of entries stays within its slots. */
#include <stdio.h>
#include <stdlib.h>

#include "promql/promql.h"
#include "test.h"

static const char *const queries[] = {
    "up",
    "up{job=\"node\"}",
    "sum by (job) (rate(http_requests_total[5m]))",
    "1 + 2 * 3",
    "node_load1 > on(instance) group_left node_cpu_seconds_total offset 5m",
    "histogram_quantile(0.9, sum by (le) (rate(x_bucket[1m] @ 100)))",
    "max_over_time(up[10m:1m])",
    "\"a string\"",
};
#define N_QUERIES (sizeof queries / sizeof queries[0])

/* promql_format() of q parsed the ordinary way, into a. */
static const char *fresh_format(struct arena *a, const char *q)
{
    struct promql_expr *x;
    struct err e = {0};
    ASSERT_OK_E(promql_parse(a, q, strlen(q), &x, &e), &e);
    return promql_format(a, x);
}

TEST(repeated_text_returns_the_same_tree_as_a_fresh_parse)
{
    promql_parse_cache *c;
    struct arena *a = arena_new(0);
    ASSERT_OK(promql_parse_cache_new(64, &c));
    for (size_t i = 0; i < N_QUERIES; i++) {
        const struct promql_expr *x, *y;
        struct err e = {0};
        ASSERT_OK_E(promql_parse_cached(c, queries[i], strlen(queries[i]), &x, &e), &e);
        ASSERT_STR_EQ(promql_format(a, x), fresh_format(a, queries[i]));
        ASSERT_OK_E(promql_parse_cached(c, queries[i], strlen(queries[i]), &y, &e), &e);
        ASSERT_TRUE(x == y);
    }
    uint64_t hits, misses;
    promql_parse_cache_stats(c, &hits, &misses);
    ASSERT_EQ(hits, (uint64_t) N_QUERIES);
    ASSERT_EQ(misses, (uint64_t) N_QUERIES);
    promql_parse_cache_free(c);
    arena_free(a);
}

TEST(text_is_matched_exactly_not_by_prefix_or_hash)
{
    promql_parse_cache *c;
    struct arena *a = arena_new(0);
    ASSERT_OK(promql_parse_cache_new(1, &c)); /* one slot: every text lands in it */
    const struct promql_expr *x;
    struct err e = {0};
    const char *q = "up{job=\"node\"} offset 1m";
    ASSERT_OK_E(promql_parse_cached(c, q, strlen(q), &x, &e), &e);
    /* A prefix of the text cached in the slot is another query. */
    ASSERT_OK_E(promql_parse_cached(c, q, 2, &x, &e), &e);
    ASSERT_STR_EQ(promql_format(a, x), "up");
    ASSERT_OK_E(promql_parse_cached(c, q, strlen(q), &x, &e), &e);
    ASSERT_STR_EQ(promql_format(a, x), fresh_format(a, q));
    promql_parse_cache_free(c);
    arena_free(a);
}

TEST(errors_are_reported_each_time_and_not_kept)
{
    promql_parse_cache *c;
    ASSERT_OK(promql_parse_cache_new(4, &c));
    struct arena *a = arena_new(0);
    const char *bad = "sum(up";
    struct err want = {0}, e1 = {0}, e2 = {0};
    struct promql_expr *px;
    const struct promql_expr *x;
    ASSERT_EQ(promql_parse(a, bad, strlen(bad), &px, &want), ERR_PARSE);
    ASSERT_EQ(promql_parse_cached(c, bad, strlen(bad), &x, &e1), ERR_PARSE);
    ASSERT_EQ(promql_parse_cached(c, bad, strlen(bad), &x, &e2), ERR_PARSE);
    ASSERT_STR_EQ(e1.msg, want.msg);
    ASSERT_STR_EQ(e2.msg, want.msg);
    uint64_t hits, misses;
    promql_parse_cache_stats(c, &hits, &misses);
    ASSERT_EQ(hits, 0u);
    ASSERT_EQ(misses, 2u);
    /* Over the text limit: refused, the caller parses itself. */
    size_t n = PROMQL_PARSE_CACHE_TEXT_MAX + 1;
    char *big = malloc(n);
    memset(big, '1', n);
    ASSERT_EQ(promql_parse_cached(c, big, n, &x, &e1), ERR_LIMIT);
    free(big);
    promql_parse_cache_free(c);
    arena_free(a);
}

TEST(entries_stay_within_the_slots)
{
    promql_parse_cache *c;
    ASSERT_OK(promql_parse_cache_new(5, &c)); /* rounded up to 8 */
    struct arena *a = arena_new(0);
    /* 200 distinct texts, then each again: at most 8 can still be cached. */
    char q[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 200; i++) {
            const struct promql_expr *x;
            struct err e = {0};
            snprintf(q, sizeof q, "metric_%d + %d", i, i);
            ASSERT_OK_E(promql_parse_cached(c, q, strlen(q), &x, &e), &e);
            ASSERT_STR_EQ(promql_format(a, x), fresh_format(a, q));
        }
    }
    uint64_t hits, misses;
    promql_parse_cache_stats(c, &hits, &misses);
    ASSERT_EQ(hits + misses, 400u);
    ASSERT_TRUE(hits <= 8);
    ASSERT_TRUE(misses >= 392);
    promql_parse_cache_free(c);
    promql_parse_cache_free(NULL);
    arena_free(a);
}
