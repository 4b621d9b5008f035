/* tests/unit/tsdb/test_chunk_xor.c — XOR chunk round trips at the encoding's bucket edges
 * (docs/format/chunks.md), special values, and corrupt input. */
#include <stdlib.h>

#include "tsdb/chunk_xor.h"
#include "tsdb/tsdb.h"
#include "test.h"

static void round_trip(const int64_t *ts, const double *vs, size_t n)
{
    struct xor_enc x;
    xor_enc_init(&x);
    for (size_t i = 0; i < n; i++)
        ASSERT_OK(xor_enc_append(&x, ts[i], vs[i]));
    struct xor_dec d;
    xor_dec_init(&d, x.b.p, x.b.len, x.n);
    for (size_t i = 0; i < n; i++) {
        int64_t t;
        double v;
        ASSERT_EQ(xor_dec_next(&d, &t, &v), 1);
        ASSERT_EQ(t, ts[i]);
        uint64_t a, b;
        memcpy(&a, &v, 8);
        memcpy(&b, &vs[i], 8);
        ASSERT_TRUE(a == b); /* bit-exact, so NaN payloads (stale markers) survive */
    }
    int64_t t;
    double v;
    ASSERT_EQ(xor_dec_next(&d, &t, &v), 0);
    xor_enc_done(&x);
}

TEST(regular_scrape_round_trips)
{
    int64_t ts[200];
    double vs[200];
    for (int i = 0; i < 200; i++) {
        ts[i] = 1700000000000 + i * 15000 + (i % 3);
        vs[i] = i * 1.5 + 1000;
    }
    round_trip(ts, vs, 200);
}

TEST(dod_bucket_edges_round_trip)
{
    /* Deltas chosen so delta-of-delta hits each bucket boundary, both signs. */
    int64_t dods[] = {0, 1, -1, 8192, -8191, 8193, -8192, 65536, -65535, 65537, -65536,
                      524288, -524287, 524289, -524288, 1ll << 40, -(1ll << 39)};
    int64_t ts[40];
    double vs[40];
    size_t n = 0;
    int64_t t = -5000, delta = 1ll << 41;
    ts[n] = t;
    vs[n++] = 0;
    t += delta;
    ts[n] = t;
    vs[n++] = 1;
    for (size_t i = 0; i < sizeof dods / sizeof dods[0]; i++) {
        delta += dods[i];
        t += delta;
        ts[n] = t;
        vs[n++] = (double) i;
    }
    round_trip(ts, vs, n);
}

TEST(special_values_round_trip)
{
    int64_t ts[] = {1, 2, 3, 4, 5, 6, 7, 8};
    double vs[] = {(double) NAN, (double) INFINITY, -(double) INFINITY, 0.0, -0.0, num_stale_nan(), 1e-300, 1.7976931348623157e308};
    round_trip(ts, vs, 8);
}

TEST(truncated_chunk_is_corrupt_not_crash)
{
    struct xor_enc x;
    xor_enc_init(&x);
    for (int i = 0; i < 50; i++)
        ASSERT_OK(xor_enc_append(&x, i * 1000, i * 0.1));
    for (size_t cut = 0; cut < x.b.len; cut += 3) {
        struct xor_dec d;
        xor_dec_init(&d, x.b.p, cut, x.n);
        int64_t t;
        double v;
        int r, guard = 0;
        while ((r = xor_dec_next(&d, &t, &v)) == 1 && guard++ < 100)
            ;
        ASSERT_EQ(r, ERR_CORRUPT);
    }
    xor_enc_done(&x);
}

TEST(garbage_bytes_never_overrun)
{
    uint8_t junk[64];
    srand(7);
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t) rand();
        struct xor_dec d;
        xor_dec_init(&d, junk, 1 + (size_t) round % sizeof junk, 120);
        int64_t t;
        double v;
        int guard = 0;
        while (xor_dec_next(&d, &t, &v) == 1 && guard++ < 200)
            ;
        ASSERT_TRUE(guard <= 120);
    }
}

/* The buffer grows in small steps (a head keeps one per series): never far above its length. */
TEST(buffer_grows_close_to_its_length)
{
    struct xor_enc x;
    xor_enc_init(&x);
    int64_t ts[120];
    double vs[120];
    for (int i = 0; i < 120; i++) {
        ts[i] = 1000 + i * 15000 + (i % 4);
        vs[i] = i * 0.37;
        ASSERT_OK(xor_enc_append(&x, ts[i], vs[i]));
        ASSERT_TRUE(x.b.cap >= x.b.len);
        ASSERT_TRUE(x.b.cap <= x.b.len + x.b.len / 4 + 32);
    }
    xor_enc_done(&x);
    round_trip(ts, vs, 120);
}
