/* tests/unit/tsdb/test_chunk_dense.c — the dense chunk encoding (tsdb/chunk_dense.c) and stored
 * block chunks (tsdb/block_chunk.c): bit-exact round trips over integers, decimals, counters,
 * gauges, specials (NaN, the stale marker, +-Inf, -0.0), extremes and random doubles; corrupt and
 * truncated input; the zstd path; per-thread contexts; the split form of format 2 (values and
 * a shared timestamp record) on every one of those round trips. */
#include <pthread.h>
#include <stdlib.h>

#include "tsdb/block.h"
#include "tsdb/chunk_dense.h"
#include "test.h"

static uint64_t rng = 88172645463325252u;
static uint64_t rnd(void) { return test_xorshift64(&rng); }

#define bits_of num_bits
#define from_bits num_from_bits

/* Encodes with both layers, decodes, compares bit for bit; returns the stored payload size
 * (the dense encoding, or its zstd frame where that is smaller: the byte coder leaves the
 * entropy coding of small residuals to zstd). */
static size_t round_trip(const int64_t *t, const double *v, uint32_t n)
{
    struct buf b = BUF_INIT;
    struct err e;
    ASSERT_OK_E(chunk_dense_encode(&b, t, v, n, &e), &e);
    ASSERT_TRUE(b.len <= chunk_dense_bound(n));
    int64_t *dt = malloc(n * sizeof *dt);
    double *dv = malloc(n * sizeof *dv);
    ASSERT_OK_E(chunk_dense_decode(b.p, b.len, n, dt, dv, &e), &e);
    for (uint32_t i = 0; i < n; i++) {
        if (dt[i] != t[i] || bits_of(dv[i]) != bits_of(v[i]))
            test_fail(__FILE__, __LINE__, "sample %u: got (%" PRId64 ", %016" PRIx64
                      ") want (%" PRId64 ", %016" PRIx64 ")", i, dt[i], bits_of(dv[i]), t[i],
                      bits_of(v[i]));
    }
    /* Every strict prefix of the bytes is malformed. */
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 50)
        ASSERT_EQ(chunk_dense_decode(b.p, cut, n, dt, dv, NULL), ERR_CORRUPT);
    size_t len = b.len;
    /* The stored form: CRC, codec, maybe zstd. */
    struct buf c = BUF_INIT;
    ASSERT_OK_E(block_chunk_encode(&c, t, v, n, 3, &e), &e);
    ASSERT_TRUE(c.len - 5 <= len);
    memset(dt, 0, n * sizeof *dt);
    ASSERT_OK_E(block_chunk_decode(c.p, c.len, n, dt, dv, &e), &e);
    for (uint32_t i = 0; i < n; i++) {
        ASSERT_EQ(dt[i], t[i]);
        ASSERT_TRUE(bits_of(dv[i]) == bits_of(v[i]));
    }
    /* The split form (block format 2): values and timestamps as two parts, and stored as a
     * values record plus a timestamp record. */
    struct buf sv = BUF_INIT, st = BUF_INIT;
    ASSERT_OK_E(chunk_dense_encode_values(&sv, v, n, &e), &e);
    ASSERT_OK_E(chunk_dense_encode_times(&st, t, n, &e), &e);
    ASSERT_EQ(sv.len + st.len, len); /* the same encoding, cut in two */
    memset(dt, 0, n * sizeof *dt);
    ASSERT_OK_E(chunk_dense_decode_split(sv.p, sv.len, st.p, st.len, n, dt, dv, &e), &e);
    for (uint32_t i = 0; i < n; i++) {
        ASSERT_EQ(dt[i], t[i]);
        ASSERT_TRUE(bits_of(dv[i]) == bits_of(v[i]));
    }
    ASSERT_EQ(chunk_dense_decode_split(sv.p, sv.len - 1, st.p, st.len, n, dt, dv, NULL),
              ERR_CORRUPT);
    ASSERT_EQ(chunk_dense_decode_split(sv.p, sv.len, st.p, st.len - 1, n, dt, dv, NULL),
              ERR_CORRUPT);
    buf_reset(&sv);
    buf_reset(&st);
    ASSERT_OK_E(block_chunk_encode_split(&sv, &st, t, v, n, 3, &e), &e);
    memset(dt, 0, n * sizeof *dt);
    ASSERT_OK_E(block_chunk_decode2(sv.p, sv.len, st.p, st.len, n, dt, dv, &e), &e);
    for (uint32_t i = 0; i < n; i++) {
        ASSERT_EQ(dt[i], t[i]);
        ASSERT_TRUE(bits_of(dv[i]) == bits_of(v[i]));
    }
    /* A values record needs its timestamp record, a whole chunk takes none, and the two
     * records are not interchangeable. */
    ASSERT_EQ(block_chunk_decode(sv.p, sv.len, n, dt, dv, NULL), ERR_CORRUPT);
    ASSERT_EQ(block_chunk_decode2(c.p, c.len, st.p, st.len, n, dt, dv, NULL), ERR_CORRUPT);
    ASSERT_EQ(block_chunk_decode2(st.p, st.len, sv.p, sv.len, n, dt, dv, NULL), ERR_CORRUPT);
    st.p[st.len - 1] ^= 1;
    ASSERT_EQ(block_chunk_decode2(sv.p, sv.len, st.p, st.len, n, dt, dv, NULL), ERR_CORRUPT);
    buf_free(&sv);
    buf_free(&st);
    buf_free(&b);
    len = c.len - 5;
    buf_free(&c);
    free(dt);
    free(dv);
    return len;
}

static void regular_ts(int64_t *t, uint32_t n, int64_t t0, int64_t step)
{
    for (uint32_t i = 0; i < n; i++)
        t[i] = t0 + (int64_t) i * step;
}

TEST(integers_and_constants)
{
    int64_t t[480];
    double v[480];
    regular_ts(t, 480, 1700000000000, 15000);
    for (int i = 0; i < 480; i++)
        v[i] = 1;
    size_t len = round_trip(t, v, 480);
    ASSERT_TRUE(len < 24); /* regular timestamps and a constant: a few header bytes */
    for (int i = 0; i < 480; i++)
        v[i] = (double) (1000000 + 7 * i);
    ASSERT_TRUE(round_trip(t, v, 480) < 30);
    for (int i = 0; i < 480; i++)
        v[i] = (double) (int64_t) (rnd() % 1000000) - 500000;
    round_trip(t, v, 480);
    for (int i = 0; i < 480; i++)
        v[i] = 4096.0 * (double) (100000 + (int64_t) (rnd() % 64)); /* gcd of the steps */
    ASSERT_TRUE(round_trip(t, v, 480) < 480);
}

TEST(counter_resets)
{
    int64_t t[1440];
    double v[1440];
    regular_ts(t, 1440, 1700000000000, 15000);
    uint64_t r = 42; /* its own generator: the other tests' values stay as they were */
    for (int kind = 0; kind < 3; kind++) {
        uint64_t c = 123456789;
        for (int i = 0; i < 1440; i++) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            if (i % (kind == 2 ? 7 : 500) == 499 % (kind == 2 ? 7 : 500))
                c = kind == 1 ? (r >> 40) % 100 : 0; /* restart of the exporter */
            c += (r >> 33) % 1000;
            v[i] = kind == 1 ? (double) c / 100 : (double) c;
        }
        round_trip(t, v, 1440);
    }
}

TEST(decimals_counters_gauges)
{
    int64_t t[480];
    double v[480];
    regular_ts(t, 480, 1700000000000, 15000);
    int64_t ticks = 123456789;
    for (int i = 0; i < 480; i++) {
        ticks += 1490 + (int64_t) (rnd() % 20);
        v[i] = (double) ticks / 100; /* node_cpu_seconds_total with 2 decimals */
    }
    ASSERT_TRUE(round_trip(t, v, 480) < 480 * 6 / 8 + 40);
    for (int i = 0; i < 480; i++)
        v[i] = (double) (int64_t) (rnd() % 1000) / 1000; /* 3 decimals */
    round_trip(t, v, 480);
    for (int i = 0; i < 480; i++)
        v[i] = -(double) (int64_t) (rnd() % 100000) / 10; /* negative, 1 decimal */
    round_trip(t, v, 480);
    static const double odd[] = {0.1, 0.2, 0.3, 1e-9, 3.2451e-05, 123456.789012, 1e15 + 0.5,
                                 0.30000000000000004, 1.7976931348623157e308, 5e-324, 1e22, 1e-22,
                                 -2.5, 9007199254740993.0, 9.2233720368547758e18, -1e19};
    for (int i = 0; i < 480; i++)
        v[i] = odd[i % ARRAY_LEN(odd)];
    round_trip(t, v, 480);
    for (size_t i = 0; i < ARRAY_LEN(odd); i++) { /* each alone, and in pairs */
        round_trip(t, &odd[i], 1);
        double pair[2] = {odd[i], odd[(i + 1) % ARRAY_LEN(odd)]};
        round_trip(t, pair, 2);
    }
}

/* Floats computed from decimals, with rounding errors: the corrected decimal form. */
TEST(near_decimal_floats)
{
    int64_t t[480];
    double v[480];
    regular_ts(t, 480, 1700000000000, 15000);
    uint64_t us = 30982580;
    for (int i = 0; i < 480; i++) {
        us += 9000 + rnd() % 3000;
        v[i] = (double) us / 1000.0 / 1000.0; /* node_pressure_*_seconds_total */
    }
    v[100] = num_stale_nan();
    struct buf b = BUF_INIT;
    ASSERT_OK(chunk_dense_encode(&b, t, v, 480, NULL));
    ASSERT_EQ(b.p[0] & 4, 4); /* with corrections */
    size_t len = round_trip(t, v, 480);
    ASSERT_TRUE(len < 480 * 3); /* xor needs ~6 bytes a sample */
    double sum = 0;
    for (int i = 0; i < 480; i++) {
        sum += (double) (int64_t) (1000000 + rnd() % 5000000) / 1e9; /* a histogram's _sum */
        v[i] = sum;
    }
    round_trip(t, v, 480);
    for (int i = 0; i < 480; i++) /* corrections too large for the column: exceptions */
        v[i] = i % 5 ? (double) i / 1000.0 / 1000.0 : from_bits(rnd() >> 2);
    round_trip(t, v, 480);
    for (int i = 0; i < 480; i++) /* negative and crossing zero */
        v[i] = ((double) (int64_t) (rnd() % 2000000) - 1000000.0) / 1000.0 / 1000.0;
    round_trip(t, v, 480);
    buf_free(&b);
}

TEST(specials_survive)
{
    int64_t t[300];
    double v[300];
    regular_ts(t, 300, 0, 15000);
    for (int i = 0; i < 300; i++)
        v[i] = (double) i * 0.25;
    v[0] = num_stale_nan();
    v[17] = (double) NAN;
    v[18] = (double) INFINITY;
    v[19] = -(double) INFINITY;
    v[20] = -0.0;
    v[21] = from_bits(UINT64_C(0x7ff8dead0000beef)); /* NaN with a payload */
    v[299] = num_stale_nan();
    round_trip(t, v, 300);
    for (int i = 0; i < 300; i++) /* mostly specials: the xor form */
        v[i] = i % 3 ? num_stale_nan() : -0.0;
    round_trip(t, v, 300);
    for (int i = 0; i < 300; i++)
        v[i] = -0.0;
    round_trip(t, v, 300);
    double one = num_stale_nan();
    round_trip(t, &one, 1);
}

TEST(random_doubles_and_extremes)
{
    int64_t t[500];
    double v[500];
    for (int rep = 0; rep < 20; rep++) {
        int64_t x = (int64_t) (rnd() >> 1) - INT64_MAX / 2;
        for (int i = 0; i < 500; i++) {
            x += 1 + (int64_t) (rnd() % (rep < 10 ? 3 : 1000000007));
            t[i] = x;
            v[i] = from_bits(rnd());
        }
        round_trip(t, v, 500);
    }
    /* Timestamps spanning the whole int64 range: deltas wrap in the encoder's arithmetic. */
    int64_t wide[4] = {INT64_MIN, -1, 0, INT64_MAX};
    double vals[4] = {1, 2, 3, 4};
    round_trip(wide, vals, 4);
    int64_t t2[3] = {INT64_MIN, INT64_MIN + 1, INT64_MAX};
    round_trip(t2, vals, 3);
    double big[4] = {9.2233720368547758e18, -9.2233720368547758e18, 1e300, -1e-300};
    round_trip(wide, big, 4);
}

TEST(irregular_timestamps_and_single_samples)
{
    int64_t t[400];
    double v[400];
    int64_t x = 1700000000000;
    for (int i = 0; i < 400; i++) {
        x += i % 97 == 0 ? 60000 : 15000 + (int64_t) (rnd() % 4); /* jitter and gaps */
        t[i] = x;
        v[i] = (double) (i / 10);
    }
    ASSERT_TRUE(round_trip(t, v, 400) < 400 * 3 / 8 + 60);
    for (uint32_t n = 1; n <= 5; n++)
        round_trip(t, v, n);
    int64_t neg[3] = {-30000, -15000, 0};
    round_trip(neg, v, 3);
    /* Steps far inside, below and beyond the usual one move the grid predictor's slot both
     * ways; a restart shifts the phase for good. */
    static const int64_t steps[] = {15000, 15000, 1, 15000, 40000, 7000, 15001, 14999, 22500,
                                    7499, 15000, 15000, 3, 90001};
    x = 1700000000000;
    for (int i = 0; i < 400; i++) {
        x += steps[i % ARRAY_LEN(steps)] + (i > 200 ? 4321 * (i == 201) : 0);
        t[i] = x;
    }
    round_trip(t, v, 400);
    for (int i = 0; i < 400; i++) {
        t[i] = 1700000000000 + 15000 * (int64_t) i + (int64_t) (rnd() % 3) +
               (i >= 250 ? 15000 : 0); /* jitter and one missed scrape */
        v[i] = 1;
    }
    ASSERT_TRUE(round_trip(t, v, 400) < 400 * 2 / 8 + 40); /* 2 bits a sample */
}

/* Outliers of very different sizes and distances: Rice-coded exceptions, escapes included. */
TEST(outliers_and_escapes)
{
    enum { N = 4000 };
    static int64_t t[N];
    static double v[N];
    regular_ts(t, N, 1700000000000, 15000);
    for (int i = 0; i < N; i++)
        v[i] = 7;
    static const int at[] = {1, 2, 3, 40, 2000, 3998, 3999};
    static const double big[] = {8, 6, 1e15, -1e12, 1e6, 7.5, 4e18};
    for (size_t k = 0; k < ARRAY_LEN(at); k++)
        v[at[k]] = big[k];
    t[N - 1] += 1000000000000; /* a 31-year gap */
    t[N - 2] += 1;
    round_trip(t, v, N);
    for (int i = 0; i < N; i++) /* mostly on time, now and then late by up to 9 ms */
        t[i] = 1700000000000 + 15000 * (int64_t) i + (rnd() % 11 ? 0 : 2 + (int64_t) (rnd() % 8));
    size_t len = round_trip(t, v, N);
    ASSERT_TRUE(len < N / 8 + 200); /* under a bit a sample for the timestamps */
}

TEST(encoder_rejects_bad_input)
{
    int64_t t[3] = {1, 1, 2};
    double v[3] = {1, 2, 3};
    struct buf b = BUF_INIT;
    struct err e;
    ASSERT_EQ(chunk_dense_encode(&b, t, v, 3, &e), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(e.msg, "not ascending");
    ASSERT_EQ(chunk_dense_encode(&b, t, v, 0, &e), ERR_INTERNAL);
    ASSERT_EQ(b.len, 0);
    ASSERT_EQ(block_chunk_encode(&b, t, v, BLOCK_CHUNK_MAX_SAMPLES + 1, 3, &e), ERR_LIMIT);
    ASSERT_EQ(block_chunk_encode(&b, t, v, 1, -1, &e), ERR_INTERNAL);
    ASSERT_EQ(block_chunk_encode(&b, t, v, 1, 20, &e), ERR_INTERNAL);
    buf_free(&b);
}

TEST(corrupt_dense_input)
{
    int64_t t[200], dt[200];
    double v[200], dv[200];
    regular_ts(t, 200, 1000, 10);
    for (int i = 0; i < 200; i++)
        v[i] = (double) (rnd() % 1000) / 10;
    struct buf b = BUF_INIT;
    struct err e;
    ASSERT_OK(chunk_dense_encode(&b, t, v, 200, &e));
    /* Wrong sample count, trailing bytes, flipped bits: errors or other samples, never a crash
     * (ASan watches); the wrong count is always caught by the exact-length rule. */
    ASSERT_EQ(chunk_dense_decode(b.p, b.len, 199, dt, dv, &e), ERR_CORRUPT);
    ASSERT_EQ(chunk_dense_decode(b.p, b.len, 0, dt, dv, &e), ERR_CORRUPT);
    ASSERT_OK(buf_putc(&b, 0));
    ASSERT_EQ(chunk_dense_decode(b.p, b.len, 200, dt, dv, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "trailing");
    b.len--;
    for (size_t i = 0; i < b.len * 8; i++) {
        b.p[i / 8] ^= (uint8_t) (1u << (i % 8));
        (void) chunk_dense_decode(b.p, b.len, 200, dt, dv, NULL);
        b.p[i / 8] ^= (uint8_t) (1u << (i % 8));
    }
    uint8_t junk[64];
    for (int rep = 0; rep < 2000; rep++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t) rnd();
        junk[0] &= 1;
        (void) chunk_dense_decode(junk, 1 + rnd() % sizeof junk, 1 + (uint32_t) (rnd() % 200),
                                  dt, dv, NULL);
    }
    buf_free(&b);
}

TEST(stored_chunk_checksum_and_codec)
{
    int64_t t[480], dt[480];
    double v[480], dv[480];
    regular_ts(t, 480, 1700000000000, 15000);
    double cycle[8];
    for (int i = 0; i < 8; i++)
        cycle[i] = from_bits(rnd() >> 2);
    for (int i = 0; i < 480; i++)
        v[i] = cycle[i % 8]; /* repeating random doubles: the xor bytes repeat, zstd wins */
    struct buf c = BUF_INIT;
    struct err e;
    ASSERT_OK_E(block_chunk_encode(&c, t, v, 480, 3, &e), &e);
    ASSERT_EQ(c.p[4], 1); /* codec: zstd */
    ASSERT_TRUE(c.len < 480);
    ASSERT_OK_E(block_chunk_decode(c.p, c.len, 480, dt, dv, &e), &e);
    ASSERT_MEM_EQ(dv, v, sizeof v);
    ASSERT_MEM_EQ(dt, t, sizeof t);
    /* Any flipped bit fails the checksum. */
    for (size_t i = 0; i < c.len * 8; i += 7) {
        c.p[i / 8] ^= (uint8_t) (1u << (i % 8));
        ASSERT_EQ(block_chunk_decode(c.p, c.len, 480, dt, dv, &e), ERR_CORRUPT);
        c.p[i / 8] ^= (uint8_t) (1u << (i % 8));
    }
    ASSERT_STR_CONTAINS(e.msg, "checksum");
    ASSERT_EQ(block_chunk_decode(c.p, c.len, 0, dt, dv, &e), ERR_CORRUPT);
    ASSERT_EQ(block_chunk_decode(c.p, 4, 480, dt, dv, &e), ERR_CORRUPT);
    /* A valid checksum over a bad codec byte, and over a damaged zstd frame. */
    c.p[4] = 7;
    be32_put(c.p, crc32c(0, c.p + 4, c.len - 4));
    ASSERT_EQ(block_chunk_decode(c.p, c.len, 480, dt, dv, &e), ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "codec");
    c.p[4] = 1;
    c.len -= 3; /* a truncated frame */
    be32_put(c.p, crc32c(0, c.p + 4, c.len - 4));
    ASSERT_EQ(block_chunk_decode(c.p, c.len, 480, dt, dv, &e), ERR_CORRUPT);
    /* Short chunks stay raw. */
    c.len = 0;
    ASSERT_OK(block_chunk_encode(&c, t, v, 1, 3, &e));
    ASSERT_EQ(c.p[4], 0);
    buf_free(&c);
}

/* Level 0 keeps the dense bytes raw; block_chunk_compress() later gives the very bytes a zstd
 * level would have, or leaves the chunk alone when zstd does not shrink it (the head's closed
 * chunks: head.c finish_newest()). */
TEST(raw_chunks_compress_later_to_the_same_bytes)
{
    int64_t t[480], dt[480];
    double v[480], dv[480];
    regular_ts(t, 480, 1700000000000, 15000);
    for (int i = 0; i < 480; i++)
        v[i] = from_bits(0x3ff0000000000000ull | (rnd() >> 12)); /* random: zstd cannot win */
    struct buf raw = BUF_INIT, z = BUF_INIT, out = BUF_INIT;
    struct err e;
    ASSERT_OK_E(block_chunk_encode(&raw, t, v, 480, 0, &e), &e);
    ASSERT_EQ(raw.p[4], 0);
    ASSERT_EQ(block_chunk_compress(&out, raw.p, raw.len, 3, &e), 0);
    ASSERT_EQ(out.len, 0);
    double cycle[8];
    for (int i = 0; i < 8; i++)
        cycle[i] = from_bits(rnd() >> 2);
    for (int i = 0; i < 480; i++)
        v[i] = cycle[i % 8]; /* repeating: zstd wins */
    raw.len = 0;
    ASSERT_OK_E(block_chunk_encode(&raw, t, v, 480, 0, &e), &e);
    ASSERT_OK_E(block_chunk_encode(&z, t, v, 480, 3, &e), &e);
    ASSERT_EQ(raw.p[4], 0);
    ASSERT_EQ(z.p[4], 1);
    ASSERT_EQ(block_chunk_compress(&out, raw.p, raw.len, 3, &e), 1);
    ASSERT_EQ(out.len, z.len);
    ASSERT_MEM_EQ(out.p, z.p, z.len);
    ASSERT_OK_E(block_chunk_decode(out.p, out.len, 480, dt, dv, &e), &e);
    ASSERT_MEM_EQ(dv, v, sizeof v);
    ASSERT_MEM_EQ(dt, t, sizeof t);
    /* Already compressed, or too short to gain: left alone. */
    out.len = 0;
    ASSERT_EQ(block_chunk_compress(&out, z.p, z.len, 3, &e), 0);
    ASSERT_EQ(block_chunk_compress(&out, raw.p, 20, 3, &e), 0);
    ASSERT_EQ(out.len, 0);
    buf_free(&raw);
    buf_free(&z);
    buf_free(&out);
}

static void *decode_thread(void *arg)
{
    const struct buf *c = arg;
    int64_t dt[480];
    double dv[480];
    for (int i = 0; i < 200; i++)
        if (block_chunk_decode(c->p, c->len, 480, dt, dv, NULL) < 0)
            return (void *) 1;
    struct buf own = BUF_INIT; /* and encoding, with this thread's context */
    int r = block_chunk_encode(&own, dt, dv, 480, 5, NULL);
    buf_free(&own);
    return r < 0 ? (void *) 1 : NULL;
}

TEST(threads_have_their_own_contexts)
{
    int64_t t[480];
    double v[480];
    regular_ts(t, 480, 0, 1000);
    for (int i = 0; i < 480; i++)
        v[i] = i % 2 ? 1.5 : from_bits(rnd() >> 2);
    struct buf c = BUF_INIT;
    ASSERT_OK(block_chunk_encode(&c, t, v, 480, 19, NULL));
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, decode_thread, &c), 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        ASSERT_EQ(pthread_join(th[i], &ret), 0);
        ASSERT_TRUE(ret == NULL);
    }
    buf_free(&c);
}
