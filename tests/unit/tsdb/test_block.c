/* tests/unit/tsdb/test_block.c — blocks on disk (tsdb/block_writer.c, block.c, index.c): write a
 * few hundred series, reopen, select with every matcher type against a brute-force evaluation
 * (the head's semantics: an absent label matches as ""), time-range filtering of chunks, label
 * listings, several chunk files, damaged index and chunk files, meta versions, tmp cleanup,
 * split chunks sharing timestamp records, pinned format-1 and 2 blocks that must stay readable, and
 * the bytes per sample of a small realistic block (informational). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/block.h"
#include "tsdb/index.h"
#include "block_fixture.h"
#include "test.h"

#define N_SERIES 300
#define STEP 15000
#define T0 1700000000000
#define BLOCK_MINT T0
#define BLOCK_MAXT (T0 + 2 * 3600 * 1000 - 1)

struct gen_series {
    struct label l[4];
    struct labels ls;
    char name[32], job[16], inst[16], idx[16];
    uint32_t n_chunks;
    struct block_chunk chunks[3];
    int64_t *t[3];
    double *v[3];
};

static struct gen_series *gen[N_SERIES];

static int gen_cmp(const void *a, const void *b)
{
    const struct gen_series *x = *(struct gen_series *const *) a;
    const struct gen_series *y = *(struct gen_series *const *) b;
    return labels_cmp(&x->ls, &y->ls);
}

/* N_SERIES series over 3 metrics, 4 jobs, instances; series i%7 == 3 have no "idx" label; every
 * series has 1-3 chunks of 120 samples placed in the block's 2 hours by i. */
static void gen_make(void)
{
    for (int i = 0; i < N_SERIES; i++) {
        struct gen_series *g = gen[i] = calloc(1, sizeof *g);
        (void) snprintf(g->name, sizeof g->name, "metric_%d", i % 3);
        (void) snprintf(g->job, sizeof g->job, "job%d", i % 4);
        (void) snprintf(g->inst, sizeof g->inst, "host%02d", i / 12);
        (void) snprintf(g->idx, sizeof g->idx, "%d", i);
        uint32_t k = 0;
        g->l[k++] = (struct label){"__name__", g->name};
        if (i % 7 != 3)
            g->l[k++] = (struct label){"idx", g->idx};
        g->l[k++] = (struct label){"instance", g->inst};
        g->l[k++] = (struct label){"job", g->job};
        g->ls = (struct labels){g->l, k};
        g->n_chunks = 1 + (uint32_t) (i % 3);
        for (uint32_t c = 0; c < g->n_chunks; c++) {
            /* chunk c covers [T0 + (c + i%2) * 30min, +120 samples) */
            int64_t start = T0 + (int64_t) (c + (uint32_t) (i % 2)) * 1800000;
            g->t[c] = malloc(120 * sizeof(int64_t));
            g->v[c] = malloc(120 * sizeof(double));
            for (int s = 0; s < 120; s++) {
                g->t[c][s] = start + s * STEP;
                g->v[c][s] = (double) (i * 1000 + (int) c * 120 + s) / 4;
            }
            if (i == 5)
                g->v[c][7] = num_stale_nan();
            struct buf b = BUF_INIT;
            struct err e;
            ASSERT_OK_E(block_chunk_encode(&b, g->t[c], g->v[c], 120, 3, &e), &e);
            size_t len;
            g->chunks[c] = (struct block_chunk){g->t[c][0], g->t[c][119], 120, 0, NULL};
            g->chunks[c].data = buf_take(&b, &len);
            g->chunks[c].len = (uint32_t) len;
        }
    }
    qsort(gen, N_SERIES, sizeof *gen, gen_cmp);
}

static void gen_free(void)
{
    for (int i = 0; i < N_SERIES; i++) {
        for (uint32_t c = 0; c < gen[i]->n_chunks; c++) {
            free(gen[i]->t[c]);
            free(gen[i]->v[c]);
            free((void *) gen[i]->chunks[c].data);
        }
        free(gen[i]);
    }
}

static char *write_gen_block(const char *parent, uint64_t file_size, struct block_meta *meta)
{
    struct block_writer *w;
    struct err e;
    ASSERT_OK_E(block_writer_open(parent, BLOCK_MINT, BLOCK_MAXT, 1, &w, &e), &e);
    if (file_size)
        block_writer_set_chunk_file_size(w, file_size);
    for (int i = 0; i < N_SERIES; i++)
        ASSERT_OK_E(block_writer_add_series(w, &gen[i]->ls, gen[i]->chunks, gen[i]->n_chunks, &e),
                    &e);
    ASSERT_OK_E(block_writer_finish(w, meta, &e), &e);
    char *dir = malloc(strlen(parent) + 64);
    sprintf(dir, "%s/%s", parent, meta->ulid);
    return dir;
}

/* Brute force: does series g match all matchers? */
static int gen_matches(const struct gen_series *g, const struct matcher *ms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = labels_get(&g->ls, ms[i].name);
        if (!matcher_matches(&ms[i], v ? v : ""))
            return 0;
    }
    return 1;
}

static void check_select(struct block *b, struct arena *a, const struct matcher *ms, size_t n,
                         int64_t mint, int64_t maxt)
{
    struct block_series *s;
    size_t got;
    struct err e;
    ASSERT_OK_E(block_select(b, a, ms, n, mint, maxt, &s, &got, &e), &e);
    size_t k = 0;
    for (int i = 0; i < N_SERIES; i++) {
        const struct gen_series *g = gen[i];
        if (!gen_matches(g, ms, n))
            continue;
        uint32_t want = 0;
        for (uint32_t c = 0; c < g->n_chunks; c++)
            want += g->chunks[c].maxt >= mint && g->chunks[c].mint <= maxt;
        if (!want)
            continue;
        ASSERT_TRUE(k < got);
        ASSERT_TRUE(labels_equal(&s[k].labels, &g->ls));
        ASSERT_EQ(s[k].n_chunks, want);
        for (uint32_t c = 0, j = 0; c < g->n_chunks; c++) {
            if (g->chunks[c].maxt < mint || g->chunks[c].mint > maxt)
                continue;
            const struct block_chunk *bc = &s[k].chunks[j++];
            ASSERT_EQ(bc->mint, g->chunks[c].mint);
            ASSERT_EQ(bc->maxt, g->chunks[c].maxt);
            ASSERT_EQ(bc->n, 120);
            ASSERT_EQ(bc->len, g->chunks[c].len);
            ASSERT_MEM_EQ(bc->data, g->chunks[c].data, bc->len);
        }
        k++;
    }
    ASSERT_EQ(got, k);
}

static struct matcher mk(struct arena *a, enum matcher_type t, const char *name, const char *v)
{
    struct matcher m;
    struct err e;
    ASSERT_OK_E(matcher_init(a, &m, t, name, v, &e), &e);
    return m;
}

TEST(write_reopen_select_every_matcher)
{
    gen_make();
    char *parent = test_tmpdir();
    struct block_meta meta;
    char *dir = write_gen_block(parent, 0, &meta);
    ASSERT_EQ(strlen(meta.ulid), BLOCK_ULID_LEN);
    ASSERT_EQ(meta.n_series, N_SERIES);
    ASSERT_EQ(meta.level, 1);
    struct block *b;
    struct err e;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    const struct block_meta *m = block_meta(b);
    ASSERT_STR_EQ(m->ulid, meta.ulid);
    ASSERT_EQ(m->mint, BLOCK_MINT);
    ASSERT_EQ(m->maxt, BLOCK_MAXT);
    ASSERT_EQ(m->n_series, N_SERIES);
    ASSERT_EQ(m->n_chunks, meta.n_chunks);
    ASSERT_EQ(m->n_samples, meta.n_chunks * 120);
    ASSERT_EQ(m->version, BLOCK_FORMAT_VERSION);
    ASSERT_STR_EQ(block_dir(b), dir);
    ASSERT_TRUE(block_size_bytes(b) > 1000);

    struct arena *a = arena_new(0);
    struct matcher ms[3];
    check_select(b, a, NULL, 0, INT64_MIN, INT64_MAX); /* every series */
    ms[0] = mk(a, MATCH_EQ, "__name__", "metric_1");
    check_select(b, a, ms, 1, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_NE, "job", "job2");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_RE, "job", "job[13]");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_RE, "job", "job1"); /* a literal regex: direct lookup */
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_NRE, "instance", "host0.*");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_NRE, "instance", "host03");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_EQ, "idx", ""); /* absent label */
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_NE, "idx", "");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[1] = mk(a, MATCH_RE, "idx", "1.*|"); /* matches the empty string: only excludes */
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);
    ms[2] = mk(a, MATCH_RE, "nosuch", ".*");
    check_select(b, a, ms, 3, INT64_MIN, INT64_MAX);
    ms[2] = mk(a, MATCH_EQ, "nosuch", "x");
    check_select(b, a, ms, 3, INT64_MIN, INT64_MAX);
    ms[0] = mk(a, MATCH_EQ, "job", "nosuch");
    check_select(b, a, ms, 1, INT64_MIN, INT64_MAX);
    ms[0] = mk(a, MATCH_NRE, "job", "job0"); /* only exclusions: starts from every series */
    check_select(b, a, ms, 1, INT64_MIN, INT64_MAX);
    ms[0] = mk(a, MATCH_RE, "__name__", "metric_.*");
    ms[1] = mk(a, MATCH_RE, "instance", "host1[0-5]");
    check_select(b, a, ms, 2, INT64_MIN, INT64_MAX);

    /* Time ranges: chunks are [T0 + k*30min, +29m45s]; pick ranges cutting through them. */
    check_select(b, a, ms, 2, T0, T0);
    check_select(b, a, ms, 2, T0 + 1800000, T0 + 1800000 + 60000);
    check_select(b, a, NULL, 0, T0 + 2500000, T0 + 3700000);
    check_select(b, a, NULL, 0, T0 + 3 * 1800000 + 1, BLOCK_MAXT);
    struct block_series *s;
    size_t n;
    ASSERT_OK(block_select(b, a, NULL, 0, BLOCK_MAXT + 1, INT64_MAX, &s, &n, &e));
    ASSERT_EQ(n, 0);
    ASSERT_OK(block_select(b, a, NULL, 0, T0 - 1000, T0 - 1, &s, &n, &e));
    ASSERT_EQ(n, 0);

    /* Decoding what select hands out. */
    ms[0] = mk(a, MATCH_EQ, "idx", "5");
    ASSERT_OK_E(block_select(b, a, ms, 1, INT64_MIN, INT64_MAX, &s, &n, &e), &e);
    ASSERT_EQ(n, 1);
    int64_t t[120];
    double v[120];
    for (uint32_t c = 0; c < s[0].n_chunks; c++) {
        ASSERT_OK_E(block_chunk_decode(s[0].chunks[c].data, s[0].chunks[c].len,
                                       s[0].chunks[c].n, t, v, &e),
                    &e);
        ASSERT_EQ(t[0], s[0].chunks[c].mint);
        ASSERT_EQ(t[119], s[0].chunks[c].maxt);
        ASSERT_TRUE(num_is_stale(v[7]));
    }

    const char **names, **values;
    ASSERT_OK(block_label_names(b, a, &names, &n, &e));
    ASSERT_EQ(n, 4);
    ASSERT_STR_EQ(names[0], "__name__");
    ASSERT_STR_EQ(names[3], "job");
    ASSERT_OK(block_label_values(b, a, "job", &values, &n, &e));
    ASSERT_EQ(n, 4);
    ASSERT_STR_EQ(values[0], "job0");
    ASSERT_STR_EQ(values[3], "job3");
    ASSERT_OK(block_label_values(b, a, "idx", &values, &n, &e));
    ASSERT_EQ(n, N_SERIES - (N_SERIES + 3) / 7);
    for (size_t i = 1; i < n; i++)
        ASSERT_TRUE(strcmp(values[i - 1], values[i]) < 0);
    ASSERT_OK(block_label_values(b, a, "nosuch", &values, &n, &e));
    ASSERT_EQ(n, 0);

    /* A tiny arena cap: ERR_LIMIT, not a crash. */
    struct arena *tiny = arena_new(4096);
    ASSERT_EQ(block_select(b, tiny, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e), ERR_LIMIT);
    arena_free(tiny);

    arena_free(a);
    block_close(b);
    test_tmpdir_remove(parent);
    free(dir);
    gen_free();
}

struct sel_arg {
    struct block *b;
    int fail;
};

static void *select_thread(void *p)
{
    struct sel_arg *arg = p;
    for (int rep = 0; rep < 20 && !arg->fail; rep++) {
        struct arena *a = arena_new(0);
        struct block_series *s;
        size_t n;
        int64_t t[120];
        double v[120];
        if (block_select(arg->b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, NULL) < 0 ||
            n != N_SERIES)
            arg->fail = 1;
        for (size_t i = 0; i < n && !arg->fail; i++)
            for (uint32_t c = 0; c < s[i].n_chunks; c++)
                if (block_chunk_decode(s[i].chunks[c].data, s[i].chunks[c].len, s[i].chunks[c].n,
                                       t, v, NULL) < 0)
                    arg->fail = 1;
        arena_free(a);
    }
    return NULL;
}

TEST(several_chunk_files_and_concurrent_readers)
{
    gen_make();
    char *parent = test_tmpdir();
    struct block_meta meta;
    char *dir = write_gen_block(parent, 2000, &meta);
    char path[8192];
    snprintf(path, sizeof path, "%s/chunks/000003", dir);
    ASSERT_TRUE(access(path, F_OK) == 0);
    struct block *b;
    struct err e;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    struct arena *a = arena_new(0);
    check_select(b, a, NULL, 0, INT64_MIN, INT64_MAX);
    arena_free(a);
    struct sel_arg args[3] = {{b, 0}, {b, 0}, {b, 0}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, select_thread, &args[i]), 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
        ASSERT_EQ(args[i].fail, 0);
    }
    block_close(b);
    /* A missing chunk file in the middle is corruption. */
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "missing");
    test_tmpdir_remove(parent);
    free(dir);
    gen_free();
}

static uint8_t *slurp(const char *path, size_t *len)
{
    return (uint8_t *) test_read_file(path, len);
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ(fwrite(p, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

TEST(damaged_index_fails_to_open)
{
    gen_make();
    char *parent = test_tmpdir();
    struct block_meta meta;
    char *dir = write_gen_block(parent, 0, &meta);
    char path[8192];
    snprintf(path, sizeof path, "%s/index", dir);
    size_t len;
    uint8_t *orig = slurp(path, &len);
    ASSERT_TRUE(orig != NULL);
    struct index_reader *ir;
    struct err e;
    ASSERT_OK_E(index_reader_open(orig, len, &ir, &e), &e);
    ASSERT_EQ(index_n_series(ir), N_SERIES);
    index_reader_close(ir);
    uint8_t *copy = malloc(len);
    struct block *b;
    /* A flipped byte anywhere: a section or the toc fails its CRC, the header its checks. */
    for (size_t off = 0; off < len; off += 1 + len / 97) {
        memcpy(copy, orig, len);
        copy[off] ^= 0x10;
        ASSERT_EQ(index_reader_open(copy, len, &ir, &e), ERR_CORRUPT);
        if (off % 5 == 0) {
            spit(path, copy, len);
            ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
            ASSERT_STR_CONTAINS(e.msg, "index");
        }
    }
    for (size_t cut = 0; cut < len; cut += 1 + len / 13)
        ASSERT_EQ(index_reader_open(orig, cut, &ir, &e), ERR_CORRUPT);
    memcpy(copy, orig, len);
    copy[0] = 'X';
    ASSERT_EQ(index_reader_open(copy, len, &ir, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "magic");
    memcpy(copy, "\xba\xaa\xd7\x00\x02", 5); /* Prometheus' index magic and version 2 */
    ASSERT_EQ(index_reader_open(copy, len, &ir, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "Prometheus");
    memcpy(copy, orig, len);
    copy[4] = 9;
    ASSERT_EQ(index_reader_open(copy, len, &ir, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "version 9");
    spit(path, orig, len);
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    block_close(b);
    free(copy);
    free(orig);
    test_tmpdir_remove(parent);
    free(dir);
    gen_free();
}

TEST(damaged_chunk_fails_alone)
{
    gen_make();
    char *parent = test_tmpdir();
    struct block_meta meta;
    char *dir = write_gen_block(parent, 0, &meta);
    char path[8192];
    snprintf(path, sizeof path, "%s/chunks/000001", dir);
    size_t len;
    uint8_t *p = slurp(path, &len);
    p[8 + 6] ^= 0xff; /* inside the first chunk (the first series' first chunk) */
    spit(path, p, len);
    free(p);
    struct block *b;
    struct err e;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    struct arena *a = arena_new(0);
    struct block_series *s;
    size_t n;
    ASSERT_OK(block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e));
    ASSERT_EQ(n, N_SERIES);
    int64_t t[120];
    double v[120];
    int bad = 0, good = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < s[i].n_chunks; c++) {
            int r = block_chunk_decode(s[i].chunks[c].data, s[i].chunks[c].len, s[i].chunks[c].n,
                                       t, v, &e);
            if (r < 0) {
                ASSERT_EQ(r, ERR_CORRUPT);
                ASSERT_TRUE(i == 0 && c == 0);
                bad++;
            } else {
                good++;
            }
        }
    ASSERT_EQ(bad, 1);
    ASSERT_EQ(good, (int) meta.n_chunks - 1);
    arena_free(a);
    block_close(b);
    /* A chunk file with a bad header does not open. */
    p = slurp(path, &len);
    p[0] = 'X';
    spit(path, p, len);
    free(p);
    ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "chunk file");
    test_tmpdir_remove(parent);
    free(dir);
    gen_free();
}

static void write_meta(const char *dir, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    spit(path, (const uint8_t *) text, strlen(text));
}

TEST(meta_json_is_read_strictly)
{
    char *parent = test_tmpdir();
    struct block_writer *w;
    struct block_meta meta;
    struct err e;
    ASSERT_OK_E(block_writer_open(parent, 0, 7199999, 2, &w, &e), &e);
    ASSERT_OK_E(block_writer_finish(w, &meta, &e), &e); /* an empty block */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", parent, meta.ulid);
    char path[8192];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    size_t len;
    char *text = test_read_file(path, &len);
    ASSERT_STR_CONTAINS(text, "\"maxTime\": 7200000"); /* exclusive, as Prometheus */
    ASSERT_STR_CONTAINS(text, "\"version\": 3");
    struct block *b;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    ASSERT_EQ(block_meta(b)->maxt, 7199999);
    ASSERT_EQ(block_meta(b)->level, 2);
    ASSERT_EQ(block_meta(b)->n_series, 0);
    struct arena *a = arena_new(0);
    struct block_series *s;
    size_t n;
    ASSERT_OK(block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e));
    ASSERT_EQ(n, 0);
    const char **names;
    ASSERT_OK(block_label_names(b, a, &names, &n, &e));
    ASSERT_EQ(n, 0);
    arena_free(a);
    block_close(b);

    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"ulid\": \"%s\", \"minTime\": 0, \"maxTime\": 7200000, \"stats\": "
             "{\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0, \"extra\": [1, {\"x\": "
             "null}]}, \"compaction\": {\"level\": 1, \"sources\": [\"a\"]}, \"version\": 1, "
             "\"future\": true, \"a_key_longer_than_any_we_know_of_by_far\": \"x\"}",
             meta.ulid);
    write_meta(dir, buf); /* unknown keys are skipped */
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    block_close(b);
    write_meta(dir, "{\"version\": 4, \"ulid\": \"x\"}");
    ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "unsupported block format version 4");
    write_meta(dir, "{\"version\": 0, \"ulid\": \"x\"}");
    ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
    static const char *const bad[] = {
        "", "{", "{}", "[]", "{\"version\": 1}", "{\"version\": 1.5}",
        "{\"version\": 1, \"minTime\": 99999999999999999999}",
        "{\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\", \"minTime\": 5, \"maxTime\": 5, "
        "\"stats\": {\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0}, "
        "\"compaction\": {\"level\": 1}, \"version\": 1}",
        "{\"version\": 1} x",
        "{\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FAVX\", \"minTime\": 0, \"maxTime\": 5, "
        "\"stats\": {\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0}, "
        "\"compaction\": {\"level\": 1}, \"version\": 1}",
        /* 26 characters, but not base32: a quote, a slash, a letter base32 leaves out */
        "{\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FA\\\"\", \"minTime\": 0, \"maxTime\": 5, "
        "\"stats\": {\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0}, "
        "\"compaction\": {\"level\": 1}, \"version\": 1}",
        "{\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FA/\", \"minTime\": 0, \"maxTime\": 5, "
        "\"stats\": {\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0}, "
        "\"compaction\": {\"level\": 1}, \"version\": 1}",
        "{\"ulid\": \"01ARZ3NDEKTSV4RRFFQ69G5FAU\", \"minTime\": 0, \"maxTime\": 5, "
        "\"stats\": {\"numSamples\": 0, \"numSeries\": 0, \"numChunks\": 0}, "
        "\"compaction\": {\"level\": 1}, \"version\": 1}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        write_meta(dir, bad[i]);
        ASSERT_EQ(block_open(dir, &b, &e), ERR_CORRUPT);
        ASSERT_STR_CONTAINS(e.msg, "meta.json");
    }
    free(text);
    test_tmpdir_remove(parent);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

TEST(writer_checks_order_and_cleans_up)
{
    char *parent = test_tmpdir();
    struct block_writer *w;
    struct err e;
    ASSERT_OK_E(block_writer_open(parent, 0, 1000, 1, &w, &e), &e);
    ASSERT_EQ(count_entries(parent), 1); /* <ulid>.tmp */
    int64_t t[2] = {10, 20};
    double v[2] = {1, 2};
    struct buf cb = BUF_INIT;
    ASSERT_OK(block_chunk_encode(&cb, t, v, 2, 1, &e));
    struct block_chunk c = {10, 20, 2, (uint32_t) cb.len, cb.p};
    struct label lb[1] = {{"a", "2"}}, la[1] = {{"a", "1"}};
    struct labels l2 = {lb, 1}, l1 = {la, 1};
    ASSERT_OK_E(block_writer_add_series(w, &l2, &c, 1, &e), &e);
    ASSERT_EQ(block_writer_add_series(w, &l1, &c, 1, &e), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(e.msg, "order");
    ASSERT_EQ(block_writer_add_series(w, &l2, &c, 1, &e), ERR_INTERNAL); /* duplicate */
    struct label lc[1] = {{"a", "3"}};
    struct labels l3 = {lc, 1};
    struct block_chunk late = c;
    late.maxt = 1001;
    ASSERT_EQ(block_writer_add_series(w, &l3, &late, 1, &e), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(e.msg, "outside");
    struct block_chunk two[2] = {c, c}; /* overlapping chunks */
    ASSERT_EQ(block_writer_add_series(w, &l3, two, 2, &e), ERR_INTERNAL);
    block_writer_abort(w);
    ASSERT_EQ(count_entries(parent), 0);
    block_writer_abort(NULL);

    /* Leftovers of a crash: only ULID-named .tmp directories go. */
    char path[8192];
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp", parent);
    ASSERT_EQ(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp/chunks", parent);
    ASSERT_EQ(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp/chunks/000001", parent);
    spit(path, (const uint8_t *) "x", 1);
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp/index", parent);
    spit(path, (const uint8_t *) "x", 1);
    snprintf(path, sizeof path, "%s/notes.tmp", parent);
    ASSERT_EQ(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV", parent);
    ASSERT_EQ(mkdir(path, 0777), 0);
    ASSERT_EQ(block_cleanup_tmp(parent, &e), 1);
    ASSERT_EQ(count_entries(parent), 2);
    snprintf(path, sizeof path, "%s/01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp", parent);
    ASSERT_TRUE(access(path, F_OK) != 0);
    ASSERT_EQ(block_cleanup_tmp(parent, &e), 0);
    snprintf(path, sizeof path, "%s/nosuch", parent);
    ASSERT_TRUE(block_cleanup_tmp(path, &e) < 0);
    buf_free(&cb);
    test_tmpdir_remove(parent);
}

/* Informational: a 2-hour block of node-exporter-like series (see bench/bench_chunks.c for the
 * full dataset), bytes per sample of the whole block directory. */
/* Finishes w's block under parent and opens it; its directory into dir. */
static struct block *finish_and_open(struct block_writer *w, const char *parent, char dir[4096])
{
    struct block_meta meta;
    struct err e;
    ASSERT_OK_E(block_writer_finish(w, &meta, &e), &e);
    snprintf(dir, 4096, "%s/%s", parent, meta.ulid);
    struct block *b;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    return b;
}

TEST(bytes_per_sample_of_a_realistic_block)
{
    enum { SERIES = 600, N = 480 };
    char *parent = test_tmpdir();
    struct block_writer *w;
    struct err e;
    ASSERT_OK_E(block_writer_open(parent, T0, T0 + N * STEP - 1, 1, &w, &e), &e);
    static int64_t t[N];
    static double v[N];
    uint64_t rs = 12345;
    struct buf cb = BUF_INIT;
    char name[32], inst[16], id[16];
    for (int i = 0; i < SERIES; i++) {
        for (int k = 0; k < N; k++) {
            rs = rs * 6364136223846793005u + 1442695040888963407u;
            uint64_t r = rs >> 33;
            t[k] = T0 + k * STEP + (i % 2 ? (int64_t) (r % 3) : 0); /* half jittered */
            switch (i % 20) { /* shares as in bench_chunks' node-exporter-like mix */
            default: /* 0-10: constant or rarely changing */
                v[k] = k && r % 500 ? v[k - 1] : (double) (r % 100);
                break;
            case 11: /* cpu seconds, 2 decimals */
                v[k] = (double) ((k ? (int64_t) (v[k - 1] * 100 + 0.5) : 123456) +
                                 1450 + (int64_t) (r % 100)) / 100;
                break;
            case 12: case 13: case 16: case 17: case 18: /* operation and bucket counters */
                v[k] = (k ? v[k - 1] : 1e6) + (double) (r % (i % 20 < 16 ? 40 : 6));
                break;
            case 14: /* page-sized memory gauge, random walk */
                v[k] = (k ? v[k - 1] : 4096e5) + 4096.0 * (double) ((int64_t) (r % 21) - 10);
                break;
            case 15: /* load-like gauge with 2 decimals, random walk */
                v[k] = (double) ((k ? (int64_t) (v[k - 1] * 100 + 0.5) : 150) +
                                 (int64_t) (r % 11) - 5) / 100;
                break;
            case 19: /* duration with 9 decimals */
                v[k] = (double) (int64_t) (3000000 + r % 2000000) / 1e9;
                break;
            }
        }
        cb.len = 0;
        ASSERT_OK_E(block_chunk_encode(&cb, t, v, N, 3, &e), &e);
        struct block_chunk c = {t[0], t[N - 1], N, (uint32_t) cb.len, cb.p};
        snprintf(name, sizeof name, "node_metric_%03d", i / 10);
        snprintf(inst, sizeof inst, "host%d:9100", i % 10);
        snprintf(id, sizeof id, "%d", i % 10);
        struct label l[4] = {{"__name__", name}, {"cpu", id}, {"instance", inst},
                             {"job", "node"}};
        struct labels ls = {l, 4};
        ASSERT_OK_E(block_writer_add_series(w, &ls, &c, 1, &e), &e);
    }
    char dir[4096], path[8192];
    struct block *b = finish_and_open(w, parent, dir);
    uint64_t total = block_size_bytes(b);
    snprintf(path, sizeof path, "%s/index", dir);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    printf("# %d series x %d samples, half with 0-2 ms jitter: block %" PRIu64
           " bytes (index %lld), %.3f bytes/sample; the full dataset: bench/bench_chunks\n",
           SERIES, N, total, (long long) st.st_size, (double) total / (SERIES * N));
    ASSERT_EQ(block_meta(b)->n_samples, (uint64_t) SERIES * N);
    block_close(b);
    buf_free(&cb);
    test_tmpdir_remove(parent);
}

/* Every sample of the fixture series in block b, compared bit for bit with block_fixture.h. */
static void check_fixture_samples(struct block *b)
{
    struct arena *a = arena_new(0);
    struct block_series *s;
    size_t n;
    struct err e;
    ASSERT_OK_E(block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e), &e);
    ASSERT_EQ(n, FIX_SERIES);
    static int64_t t[FIX_SAMPLES];
    static double v[FIX_SAMPLES];
    for (size_t i = 0; i < n; i++) {
        int sid = atoi(labels_get(&s[i].labels, "series"));
        ASSERT_EQ((size_t) sid, i);
        uint32_t k = 0;
        for (uint32_t c = 0; c < s[i].n_chunks; c++) {
            const struct block_chunk *ch = &s[i].chunks[c];
            ASSERT_TRUE(k + ch->n <= FIX_SAMPLES);
            ASSERT_OK_E(block_chunk_decode2(ch->data, ch->len, ch->ts, ch->ts_len, ch->n, t + k,
                                            v + k, &e),
                        &e);
            k += ch->n;
        }
        ASSERT_EQ(k, FIX_SAMPLES);
        for (uint32_t j = 0; j < k; j++) {
            double want = fix_v(sid, j);
            ASSERT_EQ(t[j], fix_t(sid, j));
            ASSERT_TRUE(memcmp(&v[j], &want, 8) == 0);
        }
    }
    arena_free(a);
}

/* tests/unit/tsdb/fixtures/v1-block and v2-block hold blocks written by the format-1 writer
 * (the release before split chunks) and the format-2 writer (split chunks, before relative
 * chunks and shared values records): this build must read them bit for bit, as users upgrade
 * in place. */
TEST(reads_format_1_and_2_blocks)
{
    const char *root = getenv("EMBER_SOURCE_ROOT");
    ASSERT_TRUE(root != NULL);
    static const char *const fixtures[] = {"v1-block/01M82XMWGT1ZA9NA8R4617NED2",
                                           "v2-block/01M837PJT7XJHB4FPTKF4YBC0P"};
    for (uint32_t version = 1; version <= 2; version++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/unit/tsdb/fixtures/%s", root, fixtures[version - 1]);
        struct block *b;
        struct err e;
        ASSERT_OK_E(block_open(dir, &b, &e), &e);
        ASSERT_EQ(block_meta(b)->version, version);
        ASSERT_EQ(block_meta(b)->n_samples, (uint64_t) FIX_SERIES * FIX_SAMPLES);
        check_fixture_samples(b);
        block_close(b);
    }
}

/* Split chunks: series with equal timestamps share one timestamp record in the chunk file,
 * the others get their own; a new chunk file starts its records afresh. */
TEST(split_chunks_share_timestamp_records)
{
    char *parent = test_tmpdir();
    struct block_writer *w;
    struct err e;
    int64_t mint = fix_t(0, 0), maxt = fix_t(3, FIX_SAMPLES - 1);
    static int64_t t[FIX_SAMPLES];
    static double v[FIX_SAMPLES];
    for (int files = 0; files < 2; files++) {
        ASSERT_OK_E(block_writer_open(parent, mint, maxt + 1000, 1, &w, &e), &e);
        if (files)
            block_writer_set_chunk_file_size(w, 4096);
        uint64_t record_bytes = 0;
        for (int sid = 0; sid < FIX_SERIES; sid++) {
            char id[8];
            snprintf(id, sizeof id, "%d", sid);
            struct label l[3] = {{"__name__", "fixture"}, {"job", "fix"}, {"series", id}};
            struct labels ls = {l, 3};
            struct buf vb = BUF_INIT, tb = BUF_INIT;
            struct block_chunk c[4];
            uint32_t nc = 0;
            size_t voff[4], toff[4];
            for (uint32_t i = 0; i < FIX_SAMPLES; i += FIX_CHUNK, nc++) {
                uint32_t m = FIX_SAMPLES - i < FIX_CHUNK ? FIX_SAMPLES - i : FIX_CHUNK;
                for (uint32_t j = 0; j < m; j++) {
                    /* series 0 and 2 share series 0's timestamps */
                    t[j] = fix_t(sid == 2 ? 0 : sid, i + j);
                    v[j] = fix_v(sid, i + j);
                }
                voff[nc] = vb.len;
                toff[nc] = tb.len;
                ASSERT_OK_E(block_chunk_encode_split(&vb, &tb, t, v, m, 3, &e), &e);
                c[nc] = (struct block_chunk){t[0], t[m - 1], m, 0, NULL, NULL, 0};
            }
            for (uint32_t k = 0; k < nc; k++) {
                c[k].len = (uint32_t) ((k + 1 < nc ? voff[k + 1] : vb.len) - voff[k]);
                c[k].data = vb.p + voff[k];
                c[k].ts_len = (uint32_t) ((k + 1 < nc ? toff[k + 1] : tb.len) - toff[k]);
                c[k].ts = tb.p + toff[k];
            }
            record_bytes += vb.len + (sid == 2 ? 0 : tb.len);
            ASSERT_OK_E(block_writer_add_series(w, &ls, c, nc, &e), &e);
            buf_free(&vb);
            buf_free(&tb);
        }
        char dir[4096], path[8192];
        struct block *b = finish_and_open(w, parent, dir);
        ASSERT_EQ(block_meta(b)->version, BLOCK_FORMAT_VERSION);
        struct arena *a = arena_new(0);
        struct block_series *s;
        size_t n;
        ASSERT_OK_E(block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e), &e);
        ASSERT_EQ(n, FIX_SERIES);
        for (uint32_t c = 0; c < s[2].n_chunks; c++) {
            ASSERT_TRUE(s[2].chunks[c].ts != NULL);
            if (!files) /* one file: series 2 points at series 0's records */
                ASSERT_TRUE(s[2].chunks[c].ts == s[0].chunks[c].ts);
            /* and decodes to series 0's timestamps with its own values */
            ASSERT_OK_E(block_chunk_decode2(s[2].chunks[c].data, s[2].chunks[c].len,
                                            s[2].chunks[c].ts, s[2].chunks[c].ts_len,
                                            s[2].chunks[c].n, t, v, &e),
                        &e);
            ASSERT_EQ(t[0], fix_t(0, c * FIX_CHUNK));
            double want = fix_v(2, c * FIX_CHUNK);
            ASSERT_TRUE(memcmp(&v[0], &want, 8) == 0);
        }
        arena_free(a);
        if (!files) { /* the chunk file holds the shared record once */
            snprintf(path, sizeof path, "%s/chunks/000001", dir);
            struct stat st;
            ASSERT_EQ(stat(path, &st), 0);
            ASSERT_EQ((uint64_t) st.st_size, 8 + record_bytes);
        }
        block_close(b);
    }
    test_tmpdir_remove(parent);
}
