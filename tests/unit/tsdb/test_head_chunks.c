/* tests/unit/tsdb/test_head_chunks.c — how the head keeps a series' samples: short open XOR
 * chunks merged into one dense chunk per window (block range), buffers from the chunk pool,
 * every sample read back bit for bit, order and duplicate checks across chunk cuts, deletes
 * inside merged chunks, and head_memory()'s accounting. */
#include <math.h>
#include <string.h>

#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/tsdb.h"
#include "test.h"

#define WINDOW (2 * 3600 * 1000LL)
#define STEP 15000
#define T0 (1700006400000LL + 7000) /* 7 s into a 2h window */

/* A counter with decimals, now and then a stale marker or a wild value (every kind of value
 * must come back bit for bit, whatever encoding its chunk got). */
static uint64_t rng = 42;
static double value_at(int i)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    if (i % 101 == 50)
        return num_stale_nan();
    if (i % 37 == 5)
        return (double) (rng >> 11) * 0x1p-53 * -1e6;
    return (double) i * 0.25 + (double) (rng >> 62);
}

static int append(tsdb *db, uint64_t *ref, int64_t t, double v)
{
    struct label l[2] = {{"__name__", "m"}, {"job", "j"}};
    struct labels ls = {l, 2};
    tsdb_appender *a = tsdb_appender_new(db);
    struct err e;
    int r = tsdb_appender_add(a, ref, *ref ? NULL : &ls, t, v, &e);
    if (r < 0) {
        tsdb_appender_rollback(a);
        return r;
    }
    return tsdb_appender_commit(a, &e);
}

static int64_t window_of(int64_t t)
{
    return t / WINDOW;
}

/* Every sample of the one series in [mint, maxt], into t/v; returns how many. */
static size_t read_all(tsdb *db, int64_t mint, int64_t maxt, int64_t *t, double *v, size_t cap)
{
    struct arena *a = arena_new(0);
    struct matcher m;
    struct err e;
    ASSERT_OK(matcher_init(a, &m, MATCH_EQ, "job", "j", &e));
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, mint, maxt, &q, &e));
    struct tsdb_series *s;
    size_t n, k = 0;
    ASSERT_OK_E(tsdb_querier_select(q, a, &m, 1, &s, &n, &e), &e);
    ASSERT_EQ(n, 1u);
    struct tsdb_iter it;
    tsdb_iter_init(&it, &s[0]);
    while (tsdb_iter_next(&it) == 1 && k < cap) {
        t[k] = it.t;
        v[k++] = it.v;
    }
    tsdb_iter_close(&it);
    tsdb_querier_close(q);
    arena_free(a);
    return k;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

TEST(chunks_merge_per_window_and_read_back_exactly)
{
    struct tsdb_opts o = {0};
    tsdb *db;
    struct err e;
    ASSERT_OK(tsdb_open(&o, &db, &e));
    enum { N = 1700 }; /* ~7 h: four windows, the last one partly */
    static int64_t wt[N], rt[N];
    static double wv[N], rv[N];
    uint64_t ref = 0;
    for (int i = 0; i < N; i++) {
        wt[i] = T0 + (int64_t) i * STEP + (i % 3); /* a little jitter */
        wv[i] = value_at(i);
        ASSERT_EQ(append(db, &ref, wt[i], wv[i]), 0);
    }
    struct head *h = tsdb_db_head(db);
    struct mem_series *s = head_series_by_ref(h, ref);
    ASSERT_TRUE(s != NULL);
    /* Short chunks merge within their window up to 8 closes' worth (24 samples each), so a
     * window holds about samples / 192 chunks, plus its newest partial one and a short one
     * at its end (the open chunk holds the newest few samples). */
    ASSERT_TRUE(s->open.n < 30);
    uint64_t in_chunks = s->open.n;
    int64_t win = INT64_MIN;
    uint32_t win_chunks = 0, win_samples = 0;
    for (const struct head_chunk *c = s->closed; c; c = c->older) {
        ASSERT_EQ(window_of(c->mint), window_of(head_chunk_maxt(c)));
        ASSERT_TRUE(c->n <= 1024);
        if (window_of(c->mint) != win)
            win = window_of(c->mint), win_chunks = 0, win_samples = 0;
        win_chunks++;
        win_samples += c->n;
        ASSERT_TRUE(win_chunks <= win_samples / 192 + 2);
        if (c->older)
            ASSERT_TRUE(head_chunk_maxt(c->older) < c->mint);
        in_chunks += c->n;
    }
    ASSERT_EQ(in_chunks, (uint64_t) N);
    size_t n = read_all(db, 0, INT64_MAX, rt, rv, N);
    ASSERT_EQ(n, (size_t) N);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(rt[i], wt[i]);
        ASSERT_TRUE(same_bits(rv[i], wv[i]));
    }
    struct head_mem m;
    head_memory(h, &m);
    ASSERT_EQ(m.n_series, 1u);
    ASSERT_EQ(m.n_closed, head_series_n_closed(s));
    ASSERT_EQ(m.closed_samples + m.open_samples, (uint64_t) N);
    ASSERT_TRUE(m.open_chunks >= m.open_used);
    ASSERT_TRUE(m.chunk_pool >= m.closed_headers + m.closed_data);
    tsdb_close(db);
}

/* A merged chunk is stored raw while it may still be merged, and gets zstd (when that shrinks
 * it) once a newer chunk lies on top of it; the head's byte count follows. */
TEST(only_final_chunks_are_compressed)
{
    struct tsdb_opts o = {0};
    tsdb *db;
    struct err e;
    ASSERT_OK(tsdb_open(&o, &db, &e));
    enum { N = 470 }; /* one window: merged chunks of 192, 192, then the newest */
    static int64_t wt[N], rt[N];
    static double wv[N], rv[N];
    double cycle[8];
    for (int i = 0; i < 8; i++)
        cycle[i] = value_at(5 + 37 * i); /* wild values: the xor form, repeating */
    uint64_t ref = 0;
    int64_t t0 = T0 - 7000;
    for (int i = 0; i < N; i++) {
        wt[i] = t0 + (int64_t) i * STEP;
        wv[i] = cycle[i % 8];
        ASSERT_EQ(append(db, &ref, wt[i], wv[i]), 0);
    }
    struct head *h = tsdb_db_head(db);
    struct mem_series *s = head_series_by_ref(h, ref);
    ASSERT_TRUE(s != NULL);
    uint64_t bytes = 0;
    int n_closed = 0;
    for (const struct head_chunk *c = s->closed; c; c = c->older, n_closed++) {
        ASSERT_EQ(c->enc, CHUNK_ENC_BLOCK);
        ASSERT_EQ(c->data[4], c == s->closed ? 0 : 1); /* codec: raw, zstd */
        bytes += c->len;
    }
    ASSERT_EQ(n_closed, 3);
    ASSERT_EQ(atomic_load(&h->chunk_bytes), bytes);
    ASSERT_EQ(read_all(db, 0, INT64_MAX, rt, rv, N), (size_t) N);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(rt[i], wt[i]);
        ASSERT_TRUE(same_bits(rv[i], wv[i]));
    }
    tsdb_close(db);
}

TEST(order_and_duplicates_are_checked_right_after_a_chunk_cut)
{
    struct tsdb_opts o = {.chunk_samples = 5};
    tsdb *db;
    struct err e;
    ASSERT_OK(tsdb_open(&o, &db, &e));
    uint64_t ref = 0;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(append(db, &ref, T0 + i * STEP, i), 0);
    struct mem_series *s = head_series_by_ref(tsdb_db_head(db), ref);
    ASSERT_EQ(s->open.n, 0u); /* the tenth sample closed a chunk */
    int64_t last = T0 + 9 * STEP;
    ASSERT_EQ(append(db, &ref, last, 9), 0);       /* exact duplicate: ignored */
    ASSERT_EQ(append(db, &ref, last, 10), 1);      /* same time, other value: rejected */
    ASSERT_EQ(append(db, &ref, last - 1, 10), 1);  /* older: rejected */
    ASSERT_EQ(append(db, &ref, last + STEP, 10), 0);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.duplicate_samples, 1u);
    ASSERT_EQ(st.out_of_order_samples, 1u);
    ASSERT_EQ(st.samples_appended, 11u);
    tsdb_close(db);
}

TEST(delete_inside_merged_chunks_keeps_the_rest)
{
    struct tsdb_opts o = {0};
    tsdb *db;
    struct err e;
    ASSERT_OK(tsdb_open(&o, &db, &e));
    enum { N = 600 };
    static int64_t rt[N];
    static double rv[N];
    uint64_t ref = 0;
    for (int i = 0; i < N; i++)
        ASSERT_EQ(append(db, &ref, T0 + (int64_t) i * STEP, i), 0);
    struct arena *a = arena_new(0);
    struct matcher m;
    ASSERT_OK(matcher_init(a, &m, MATCH_EQ, "job", "j", &e));
    /* samples 100..299 */
    ASSERT_OK_E(tsdb_delete_series(db, &m, 1, T0 + 100 * STEP, T0 + 299 * STEP, &e), &e);
    size_t n = read_all(db, 0, INT64_MAX, rt, rv, N);
    ASSERT_EQ(n, (size_t) N - 200);
    for (size_t k = 0; k < n; k++) {
        int i = k < 100 ? (int) k : (int) k + 200;
        ASSERT_EQ(rt[k], T0 + (int64_t) i * STEP);
        ASSERT_DBL_EQ(rv[k], (double) i);
    }
    ASSERT_EQ(append(db, &ref, T0 + (int64_t) N * STEP, N), 0); /* appends go on after it */
    arena_free(a);
    tsdb_close(db);
}
