/* tests/unit/scrape/test_metadata.c — a target's metadata set: HELP/TYPE/UNIT folded per family,
 * later lines overriding earlier ones, sorted for lookup, and no new set when nothing changed. */
#include "scrape/metadata.h"
#include "tsdb/tsdb.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Feeds every entry of the text (format f) to a builder; returns the set (or NULL if equal to
 * same_as). */
static struct scrape_meta_set *build(enum textparse_format f, const char *text, uint64_t same_as)
{
    struct arena *a = arena_new(0);
    struct scrape_meta_builder b;
    struct textparse p;
    struct err e = {0};
    scrape_meta_builder_init(&b, a);
    textparse_init(&p, text, strlen(text), f);
    int r;
    while ((r = textparse_next(&p, &e)) > 0)
        if (scrape_meta_builder_add(&b, r, &p, &e) < 0)
            break;
    struct scrape_meta_set *s = NULL;
    if (r == 0 && scrape_meta_builder_finish(&b, same_as, &s, &e) < 0)
        s = NULL;
    arena_free(a);
    return s;
}

TEST(families_folded_and_sorted)
{
    struct scrape_meta_set *s = build(TEXTPARSE_PROM,
                                      "# HELP zz_total Zed \\\\ count\\nline two.\n"
                                      "# TYPE zz_total counter\n"
                                      "zz_total 1\n"
                                      "# TYPE aa gauge\n"
                                      "aa 2\n"
                                      "# HELP only_help Just help.\n"
                                      "plain 3\n",
                                      0);
    ASSERT_TRUE(s != NULL);
    uint32_t n;
    const struct scrape_metadata *v = scrape_meta_set_entries(s, &n);
    ASSERT_EQ(n, 3u);
    ASSERT_STR_EQ(v[0].metric, "aa");
    ASSERT_STR_EQ(v[0].type, "gauge");
    ASSERT_STR_EQ(v[0].help, "");
    ASSERT_STR_EQ(v[1].metric, "only_help");
    ASSERT_STR_EQ(v[1].type, "unknown"); /* no TYPE line: Prometheus says unknown */
    ASSERT_STR_EQ(v[1].help, "Just help.");
    ASSERT_STR_EQ(v[2].metric, "zz_total");
    ASSERT_STR_EQ(v[2].type, "counter");
    ASSERT_STR_EQ(v[2].help, "Zed \\ count\nline two.");
    ASSERT_TRUE(scrape_metadata_find(v, n, "aa") == &v[0]);
    ASSERT_TRUE(scrape_metadata_find(v, n, "zz_total") == &v[2]);
    ASSERT_TRUE(scrape_metadata_find(v, n, "plain") == NULL); /* samples alone give none */
    ASSERT_TRUE(scrape_metadata_find(v, n, "") == NULL);
    ASSERT_TRUE(scrape_metadata_find(NULL, 0, "aa") == NULL);

    /* The same text again: no new set. A change in any help text: a new one. */
    uint64_t h = scrape_meta_set_hash(s);
    ASSERT_TRUE(build(TEXTPARSE_PROM, "# HELP zz_total Zed \\\\ count\\nline two.\n"
                                      "# TYPE zz_total counter\nzz_total 1\n# TYPE aa gauge\n"
                                      "aa 2\n# HELP only_help Just help.\nplain 3\n",
                      h) == NULL);
    struct scrape_meta_set *s2 = build(TEXTPARSE_PROM, "# HELP zz_total Other.\n", h);
    ASSERT_TRUE(s2 != NULL);
    ASSERT_NE(scrape_meta_set_hash(s2), h);
    scrape_meta_set_free(s2);
    scrape_meta_set_free(s);
}

TEST(split_families_later_lines_win)
{
    struct scrape_meta_set *s = build(TEXTPARSE_PROM,
                                      "# HELP m first\n# TYPE m gauge\nm 1\n"
                                      "# HELP other x\nother 1\n"
                                      "# HELP m second\n",
                                      0);
    uint32_t n;
    const struct scrape_metadata *v = scrape_meta_set_entries(s, &n);
    ASSERT_EQ(n, 2u);
    ASSERT_STR_EQ(v[0].metric, "m");
    ASSERT_STR_EQ(v[0].help, "second");
    ASSERT_STR_EQ(v[0].type, "gauge"); /* a later HELP does not reset the type */
    scrape_meta_set_free(s);
}

TEST(openmetrics_unit_and_types)
{
    struct scrape_meta_set *s = build(TEXTPARSE_OPENMETRICS,
                                      "# TYPE req_seconds histogram\n"
                                      "# UNIT req_seconds seconds\n"
                                      "# HELP req_seconds Request \\\"latency\\\".\n"
                                      "req_seconds_bucket{le=\"+Inf\"} 1\n"
                                      "req_seconds_count 1\nreq_seconds_sum 0.5\n"
                                      "# TYPE st stateset\nst{st=\"a\"} 1\n"
                                      "# EOF\n",
                                      0);
    ASSERT_TRUE(s != NULL);
    uint32_t n;
    const struct scrape_metadata *v = scrape_meta_set_entries(s, &n);
    ASSERT_EQ(n, 2u);
    ASSERT_STR_EQ(v[0].metric, "req_seconds");
    ASSERT_STR_EQ(v[0].type, "histogram");
    ASSERT_STR_EQ(v[0].unit, "seconds");
    ASSERT_STR_EQ(v[0].help, "Request \"latency\".");
    ASSERT_STR_EQ(v[1].type, "stateset");
    scrape_meta_set_free(s);
}

TEST(empty_and_tiny_arena)
{
    struct scrape_meta_set *s = build(TEXTPARSE_PROM, "x 1\n", 0);
    ASSERT_TRUE(s != NULL); /* an empty set differs from "none yet" */
    uint32_t n = 7;
    (void) scrape_meta_set_entries(s, &n);
    ASSERT_EQ(n, 0u);
    ASSERT_TRUE(build(TEXTPARSE_PROM, "x 1\n", scrape_meta_set_hash(s)) == NULL);
    scrape_meta_set_free(s);
    scrape_meta_set_free(NULL);
    ASSERT_TRUE(scrape_meta_set_entries(NULL, &n) == NULL);
    ASSERT_EQ(n, 0u);

    /* Past the arena cap: ERR_LIMIT, no crash. */
    struct arena *a = arena_new(256);
    struct scrape_meta_builder b;
    struct textparse p;
    struct err e = {0};
    char text[4096] = "";
    for (int i = 0; i < 60; i++)
        (void) snprintf(text + strlen(text), sizeof text - strlen(text),
                        "# HELP metric_number_%02d some help text here\n", i);
    scrape_meta_builder_init(&b, a);
    textparse_init(&p, text, strlen(text), TEXTPARSE_PROM);
    int r, last = 0;
    while ((r = textparse_next(&p, &e)) > 0)
        if ((last = scrape_meta_builder_add(&b, r, &p, &e)) < 0)
            break;
    ASSERT_TRUE(last == ERR_LIMIT || last == -ENOMEM);
    arena_free(a);
}
