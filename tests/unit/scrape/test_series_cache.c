/* tests/unit/scrape/test_series_cache.c — the per-target series cache: known series keep their
 * refs whether they come in the same order, moved or among new ones; repeats within a scrape are
 * duplicates; series missing from a scrape are reported gone; a cleared cache knows nothing. */
#include "scrape/series_cache.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static int collect(void *arg, uint64_t ref)
{
    uint64_t *v = arg;
    v[++v[0]] = ref;
    return 0;
}

/* One scrape of the series named in text, one per line ("a{x=\"1\"}\n..."), committed unless
 * failed; the body is freed right after, as the scrape loop does. refs[i] gets each series' ref,
 * new series get ref next_ref++ (0 when the name starts with "drop", which marks them dropped);
 * gone[0] counts the refs reported gone that follow it (all of the last scrape's when failed,
 * and then the cache is cleared).
 * Returns how many were new; each duplicate counts -100. */
static int scrape_ex(struct series_cache *c, const char *text, uint64_t *next_ref, uint64_t *refs,
                     uint64_t *gone, int failed)
{
    struct buf body = BUF_INIT;
    if (buf_append(&body, text, strlen(text)) < 0)
        return -1000;
    scrape_series_cache_begin(c, (const char *) body.p, body.len);
    int fresh = 0, i = 0;
    const char *s = (const char *) body.p, *end = s + body.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t) (end - s));
        size_t n = (size_t) (nl - s);
        struct series_cache_slot *sl;
        int r = scrape_series_cache_lookup(c, s, n, &sl);
        if (r < 0)
            return -1000;
        if (r == SERIES_CACHE_DUP) {
            fresh -= 100;
        } else if (r == SERIES_CACHE_NEW) {
            fresh++;
            sl->dropped = !strncmp(s, "drop", 4);
            sl->ref = sl->dropped ? 0 : (*next_ref)++;
            refs[i++] = sl->ref;
        } else {
            refs[i++] = sl->ref;
        }
        s = nl + 1;
    }
    gone[0] = 0;
    if (scrape_series_cache_each_gone(c, failed, collect, gone) < 0)
        return -1000;
    if (failed)
        scrape_series_cache_clear(c);
    else if (scrape_series_cache_commit(c) < 0)
        fresh = -1000;
    /* Poisoned, so a cache still reading the body would see other texts. */
    memset(body.p, '#', body.len);
    buf_free(&body);
    return fresh;
}

static int scrape(struct series_cache *c, const char *text, uint64_t *next_ref, uint64_t *refs)
{
    uint64_t gone[64];
    return scrape_ex(c, text, next_ref, refs, gone, 0);
}

TEST(same_order_moved_new_and_gone)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    uint64_t next = 1, refs[16], gone[64];
    ASSERT_EQ(scrape(c, "a\nb{x=\"1\"}\nc\ndrop_me\n", &next, refs), 4);
    ASSERT_EQ(scrape_series_cache_size(c), 4);
    ASSERT_EQ(refs[0], 1);
    ASSERT_EQ(refs[1], 2);
    ASSERT_EQ(refs[2], 3);
    ASSERT_EQ(refs[3], 0);

    /* Same order: all known, nothing gone. */
    ASSERT_EQ(scrape_ex(c, "a\nb{x=\"1\"}\nc\ndrop_me\n", &next, refs, gone, 0), 0);
    ASSERT_EQ(gone[0], 0);

    /* Moved, one new, one gone (b): refs follow the text, not the position. */
    ASSERT_EQ(scrape_ex(c, "c\nnew\na\ndrop_me\n", &next, refs, gone, 0), 1);
    ASSERT_EQ(refs[0], 3);
    ASSERT_EQ(refs[1], 4);
    ASSERT_EQ(refs[2], 1);
    ASSERT_EQ(refs[3], 0);
    ASSERT_EQ(gone[0], 1);
    ASSERT_EQ(gone[1], 2);
    /* A failed scrape: every stored series of the last good one is gone (dropped ones have
     * nothing stored), and the cache forgets them. */
    ASSERT_EQ(scrape_ex(c, "a\n", &next, refs, gone, 1), 0);
    ASSERT_EQ(gone[0], 3);
    ASSERT_EQ(scrape_series_cache_size(c), 0);
    ASSERT_EQ(scrape(c, "a\n", &next, refs), 1);
    ASSERT_EQ(refs[0], 5);
    scrape_series_cache_free(c);
}

TEST(duplicates_within_a_scrape)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    uint64_t next = 1, refs[16];
    /* A new series twice: one new, one duplicate. */
    ASSERT_EQ(scrape(c, "a\nb\na\nc\n", &next, refs), 3 - 100);
    ASSERT_EQ(scrape_series_cache_size(c), 3);
    /* Known series twice, in order and out of order. */
    ASSERT_EQ(scrape(c, "a\nb\nb\nc\na\n", &next, refs), -200);
    ASSERT_EQ(refs[0], 1);
    ASSERT_EQ(refs[1], 2);
    ASSERT_EQ(refs[2], 3);
    scrape_series_cache_free(c);
}

/* A repeat points at what its first occurrence got: the ref, or dropped (the scrape loop counts a
 * repeat of a stored series in scrape_samples_post_metric_relabeling, as Prometheus does). */
static void lookup_dup(struct series_cache *c, const char *body, size_t off, size_t n,
                       uint64_t want_ref, int want_dropped)
{
    struct series_cache_slot *sl = NULL;
    ASSERT_EQ(scrape_series_cache_lookup(c, body + off, n, &sl), SERIES_CACHE_DUP);
    ASSERT_TRUE(sl != NULL);
    ASSERT_EQ(sl->ref, want_ref);
    ASSERT_EQ(sl->dropped, want_dropped);
}

TEST(duplicate_gives_first_occurrence)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    const char body[] = "a\ndrop\na\ndrop\n";
    for (int round = 0; round < 2; round++) { /* new series, then known ones */
        struct series_cache_slot *sl = NULL;
        scrape_series_cache_begin(c, body, sizeof body - 1);
        int r = scrape_series_cache_lookup(c, body, 1, &sl);
        ASSERT_EQ(r, round ? SERIES_CACHE_KNOWN : SERIES_CACHE_NEW);
        sl->ref = 7;
        r = scrape_series_cache_lookup(c, body + 2, 4, &sl);
        ASSERT_EQ(r, round ? SERIES_CACHE_KNOWN : SERIES_CACHE_NEW);
        sl->dropped = 1;
        sl->ref = 0;
        lookup_dup(c, body, 7, 1, 7, 0);
        lookup_dup(c, body, 9, 4, 0, 1);
        ASSERT_OK(scrape_series_cache_commit(c));
    }
    scrape_series_cache_free(c);
}

TEST(many_series_reversed)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    struct buf fwd = BUF_INIT, rev = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(buf_printf(&fwd, "m{i=\"%d\"}\n", i));
    for (int i = 999; i >= 0; i--)
        ASSERT_OK(buf_printf(&rev, "m{i=\"%d\"}\n", i));
    ASSERT_OK(buf_putc(&fwd, '\0'));
    ASSERT_OK(buf_putc(&rev, '\0'));
    uint64_t next = 1, *refs = calloc(1000, sizeof *refs);
    ASSERT_TRUE(refs != NULL);
    ASSERT_EQ(scrape(c, (const char *) fwd.p, &next, refs), 1000);
    ASSERT_EQ(scrape(c, (const char *) rev.p, &next, refs), 0);
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(refs[i], (uint64_t) (1000 - i));
    free(refs);
    buf_free(&fwd);
    buf_free(&rev);
    scrape_series_cache_free(c);
}

/* A slot per series of every target stays resident: keep it at 16 bytes. */
TEST(slot_is_sixteen_bytes)
{
    ASSERT_EQ(sizeof(struct series_cache_slot), 16);
}

/* The kept texts are front-coded: texts that are prefixes of each other, share all but their
 * last byte, share more than 127 bytes (a longer prefix length) or nothing, still match exactly,
 * in order, moved, and after a scrape that went through the index. */
TEST(front_coded_texts_match_exactly)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    struct buf a = BUF_INIT, b = BUF_INIT;
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *texts[] = {"m", "m{a=\"1\"}", "m{a=\"1\"}", "m{a=\"2\"}", "m{a=\"12\"}", "m",
                           "n", long_name, NULL};
    /* The duplicate "m{a=\"1\"}" and the repeated "m" are duplicates in each scrape. */
    for (int i = 0; texts[i]; i++)
        ASSERT_OK(buf_printf(&a, "%s\n", texts[i]));
    ASSERT_OK(buf_printf(&a, "%s{y=\"1\"}\n%s{y=\"2\"}\nz\n", long_name, long_name));
    ASSERT_OK(buf_putc(&a, '\0'));
    uint64_t next = 1, refs[16], first[16], gone[64];
    ASSERT_EQ(scrape(c, (const char *) a.p, &next, first), 9 - 200);
    ASSERT_EQ(scrape_series_cache_size(c), 9);
    ASSERT_EQ(scrape(c, (const char *) a.p, &next, refs), -200);
    for (int i = 0; i < 9; i++)
        ASSERT_EQ(refs[i], first[i]);
    /* One byte off at the end, a shorter text, a longer one: all new, the rest still known. */
    ASSERT_OK(buf_printf(&b, "m{a=\"1\"}\nm{a=\"3\"}\nm{a=\"1\"\n%s{y=\"1\"}\n%s{y=\"2\"}x\n%s\n"
                         "z\nm{a=\"12\"}\n", long_name, long_name, long_name));
    ASSERT_OK(buf_putc(&b, '\0'));
    ASSERT_EQ(scrape_ex(c, (const char *) b.p, &next, refs, gone, 0), 3);
    ASSERT_EQ(refs[0], first[1]);
    ASSERT_EQ(refs[3], first[6]); /* long_name{y="1"} */
    ASSERT_EQ(refs[5], first[5]); /* long_name */
    ASSERT_EQ(refs[6], first[8]); /* z */
    ASSERT_EQ(refs[7], first[3]); /* m{a="12"} */
    ASSERT_EQ(gone[0], 4);        /* m, m{a="2"}, n, long_name{y="2"} */
    /* And the same again, now from texts the index path committed. */
    uint64_t again[16];
    ASSERT_EQ(scrape_ex(c, (const char *) b.p, &next, again, gone, 0), 0);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(again[i], refs[i]);
    ASSERT_EQ(gone[0], 0);
    buf_free(&a);
    buf_free(&b);
    scrape_series_cache_free(c);
}

/* What stays between scrapes is a few bytes a series, not the body: 500 node-exporter-like
 * series (families of 50, labels cpu and mode) keep under a quarter of their series texts. */
TEST(kept_texts_are_compact)
{
    struct series_cache *c = scrape_series_cache_new();
    ASSERT_TRUE(c != NULL);
    struct buf body = BUF_INIT;
    size_t texts = 0;
    const char *modes[] = {"idle", "user", "system", "iowait", "irq"};
    for (int i = 0; i < 500; i++) {
        size_t before = body.len;
        ASSERT_OK(buf_printf(&body, "node_cpu_seconds_total_%d{cpu=\"%d\",mode=\"%s\"}\n",
                             i / 50, i % 50 / 5, modes[i % 5]));
        texts += body.len - before - 1;
    }
    ASSERT_OK(buf_putc(&body, '\0'));
    uint64_t next = 1, *refs = calloc(500, sizeof *refs);
    ASSERT_TRUE(refs != NULL);
    ASSERT_EQ(scrape(c, (const char *) body.p, &next, refs), 500);
    ASSERT_TRUE(scrape_series_cache_text_bytes(c) * 4 < texts);
    ASSERT_EQ(scrape(c, (const char *) body.p, &next, refs), 0);
    free(refs);
    buf_free(&body);
    scrape_series_cache_free(c);
}
