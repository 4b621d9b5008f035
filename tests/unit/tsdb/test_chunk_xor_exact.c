/* tests/unit/tsdb/test_chunk_xor_exact.c — the XOR encoder's 64-bit accumulator writes the same
 * bytes as the bit-by-bit writer it replaced (kept here as the reference), on random and edge-case
 * series: the chunk format (docs/storage-format.md) must not change under existing heads,
 * snapshots and blocks. Also: xor_enc_growth() is exact, and with that room no reallocation. */
#include <stdlib.h>

#include "tsdb/chunk_xor.h"
#include "tsdb/tsdb.h"
#include "test.h"

/* ---- the reference: ember's first encoder, byte by byte, bit by bit ---- */
struct ref_enc {
    uint8_t p[4096];
    uint32_t len, n;
    int free_bits, leading, trailing; /* leading -1: no window yet */
    int64_t t, delta;
    uint64_t v_bits;
};

static void ref_put_bits(struct ref_enc *x, uint64_t v, int nbits)
{
    while (nbits > 0) {
        if (x->free_bits == 0) {
            x->p[x->len++] = 0;
            x->free_bits = 8;
        }
        int take = nbits < x->free_bits ? nbits : x->free_bits;
        uint8_t chunk = (uint8_t) ((v >> (nbits - take)) & ((1u << take) - 1));
        x->p[x->len - 1] |= (uint8_t) (chunk << (x->free_bits - take));
        x->free_bits -= take;
        nbits -= take;
    }
}

static void ref_put_uvarint(struct ref_enc *x, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        ref_put_bits(x, (v & 0x7f) | 0x80, 8);
    ref_put_bits(x, v, 8);
}

static void ref_put_value(struct ref_enc *x, uint64_t bits)
{
    uint64_t xr = bits ^ x->v_bits;
    if (xr == 0) {
        ref_put_bits(x, 0, 1);
        return;
    }
    int leading = __builtin_clzll(xr), trailing = __builtin_ctzll(xr);
    if (leading > 31)
        leading = 31;
    if (x->leading >= 0 && leading >= x->leading && trailing >= x->trailing) {
        ref_put_bits(x, 2, 2);
        ref_put_bits(x, xr >> x->trailing, 64 - x->leading - x->trailing);
        return;
    }
    int sig = 64 - leading - trailing;
    ref_put_bits(x, 3, 2);
    ref_put_bits(x, (uint64_t) leading, 5);
    ref_put_bits(x, (uint64_t) (sig & 63), 6);
    ref_put_bits(x, xr >> trailing, sig);
    x->leading = leading;
    x->trailing = trailing;
}

static void ref_append(struct ref_enc *x, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (x->n == 0) {
        ref_put_uvarint(x, ((uint64_t) t << 1) ^ (uint64_t) (t >> 63));
        ref_put_bits(x, bits, 64);
    } else if (x->n == 1) {
        x->delta = t - x->t;
        ref_put_uvarint(x, (uint64_t) x->delta);
        ref_put_value(x, bits);
    } else {
        int64_t delta = t - x->t, dod = delta - x->delta;
        if (dod == 0) {
            ref_put_bits(x, 0, 1);
        } else if (dod >= -8191 && dod <= 8192) {
            ref_put_bits(x, 2, 2);
            ref_put_bits(x, (uint64_t) dod & 0x3fff, 14);
        } else if (dod >= -65535 && dod <= 65536) {
            ref_put_bits(x, 6, 3);
            ref_put_bits(x, (uint64_t) dod & 0x1ffff, 17);
        } else if (dod >= -524287 && dod <= 524288) {
            ref_put_bits(x, 14, 4);
            ref_put_bits(x, (uint64_t) dod & 0xfffff, 20);
        } else {
            ref_put_bits(x, 15, 4);
            ref_put_bits(x, (uint64_t) dod, 64);
        }
        ref_put_value(x, bits);
        x->delta = delta;
    }
    x->t = t;
    x->v_bits = bits;
    x->n++;
}

/* ---- series generators ---- */
static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_rand(void) { return test_xorshift64(&rng); }

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* A value for sample i after prev: special values, repeats, small changes, random bit patterns. */
static double gen_value(double prev, uint32_t i)
{
    uint64_t pb;
    memcpy(&pb, &prev, sizeof pb);
    switch (next_rand() % 16) {
    case 0: return (double) NAN;
    case 1: return num_stale_nan();
    case 2: return (double) INFINITY;
    case 3: return -(double) INFINITY;
    case 4: return next_rand() % 2 ? 0.0 : -0.0;
    case 5: case 6: case 7: return prev; /* repeats: '0' */
    case 8: return prev + 1; /* counters */
    case 9: return (double) (i * 3 % 17) * 0.25;
    case 10: return bits_double(pb ^ (1ull << (next_rand() % 64))); /* one bit: windows */
    case 11: return bits_double(pb ^ (next_rand() & 0xffff) << 20);
    case 12: return bits_double(next_rand()); /* any pattern, NaN payloads included */
    case 13: return bits_double(next_rand() & 0x000fffffffffffffull); /* subnormals */
    case 14: return 1.7976931348623157e308;
    default: return (double) (next_rand() % 100000) / 1000.0;
    }
}

/* A delta-of-delta: zero most often, each bucket and its edges, and huge jumps both ways. */
static int64_t gen_dod(void)
{
    static const int64_t edges[] = {1, -1, 8192, -8191, 8193, -8192, 65536, -65535, 65537,
                                    -65536, 524288, -524287, 524289, -524288};
    switch (next_rand() % 10) {
    case 0: case 1: case 2: case 3: return 0;
    case 4: return (int64_t) (next_rand() % 16) - 8; /* jitter */
    case 5: return edges[next_rand() % (sizeof edges / sizeof edges[0])];
    case 6: return (int64_t) (next_rand() % 1048576) - 524288;
    case 7: return (int64_t) (next_rand() >> 20) - (int64_t) (1ull << 43); /* large jumps */
    case 8: return -(int64_t) (next_rand() % 100000); /* shrinking and negative deltas */
    default: return (int64_t) (next_rand() % 20000) - 10000;
    }
}

/* Encodes n samples both ways, checking bytes, growth and the round trip after each append. */
static void check_series(const int64_t *ts, const double *vs, uint32_t n)
{
    static struct ref_enc ref;
    memset(&ref, 0, sizeof ref);
    ref.leading = -1;
    struct xor_enc x;
    xor_enc_init(&x);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t grow = xor_enc_growth(&x, ts[i], vs[i]), before = x.b.len;
        ASSERT_OK(xor_enc_append(&x, ts[i], vs[i]));
        ref_append(&ref, ts[i], vs[i]);
        ASSERT_EQ(x.b.len - before, grow);
        ASSERT_EQ(x.b.len, ref.len);
        ASSERT_EQ(x.free_bits, ref.free_bits);
        ASSERT_MEM_EQ(x.b.p, ref.p, ref.len);
    }
    struct xor_dec d;
    xor_dec_init(&d, x.b.p, x.b.len, x.n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t t;
        double v;
        uint64_t a, b;
        ASSERT_EQ(xor_dec_next(&d, &t, &v), 1);
        memcpy(&a, &v, 8);
        memcpy(&b, &vs[i], 8);
        ASSERT_EQ(t, ts[i]);
        ASSERT_TRUE(a == b);
    }
    xor_enc_done(&x);
}

TEST(random_series_match_the_bit_by_bit_writer)
{
    int64_t ts[200];
    double vs[200];
    for (int round = 0; round < 20000; round++) {
        uint32_t n = 1 + (uint32_t) (next_rand() % 200);
        int64_t t = (int64_t) (next_rand() >> 1) - (int64_t) (1ull << 62); /* any sign */
        int64_t delta = (int64_t) (next_rand() % 60000) - 1000; /* negative ones too */
        double v = gen_value(0, 0);
        for (uint32_t i = 0; i < n; i++) {
            ts[i] = t;
            vs[i] = v;
            delta += gen_dod();
            t += delta;
            v = gen_value(v, i);
        }
        check_series(ts, vs, n);
    }
}

TEST(edge_series_match_the_bit_by_bit_writer)
{
    int64_t ts[64];
    double vs[64];
    /* Every delta-of-delta bucket edge and both extremes of sample 0's and 1's varints. */
    int64_t firsts[] = {0, 1, -1, INT64_MAX / 4, INT64_MIN / 4, 1700000000000, -1700000000000};
    for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
        int64_t dods[] = {0, 1, -1, 8192, -8191, 8193, -8192, 65536, -65535, 65537, -65536,
                          524288, -524287, 524289, -524288, 1ll << 40, -(1ll << 41), 0, 0};
        uint32_t n = 0;
        int64_t t = firsts[f], delta = 15000;
        ts[n] = t;
        vs[n++] = num_stale_nan();
        for (size_t i = 0; i < sizeof dods / sizeof dods[0]; i++) {
            t += delta;
            delta += dods[i];
            ts[n] = t;
            vs[n++] = i % 3 ? (double) i : (double) NAN;
        }
        check_series(ts, vs, n);
    }
    /* Constant series (1 bit each, so writes cross 64-bit words at every offset), and values
     * whose XOR is 64 meaningful bits (a full-width field after a 2- or 13-bit header). */
    for (uint32_t i = 0; i < 64; i++) {
        ts[i] = 1000 + i * 15000;
        vs[i] = 42;
    }
    check_series(ts, vs, 64);
    for (uint32_t i = 0; i < 64; i++)
        vs[i] = bits_double(i % 2 ? 0x8000000000000001ull : 0x7ff0000000000000ull);
    check_series(ts, vs, 64);
    for (uint32_t i = 0; i < 64; i++)
        vs[i] = i % 2 ? (double) INFINITY : -(double) INFINITY;
    check_series(ts, vs, 64);
}

/* The head gives its buffers exactly the room xor_enc_growth() says: appending then leaves the
 * allocation alone. */
TEST(growth_room_is_enough)
{
    struct xor_enc x;
    xor_enc_init(&x);
    uint8_t *mem = malloc(4096);
    ASSERT_TRUE(mem != NULL);
    x.b = (struct xor_buf){mem, 0, 0};
    for (int i = 0; i < 300; i++) {
        int64_t t = 1000 + (int64_t) i * 15000 + (int64_t) (i / 7) * (1ll << 30);
        double v = gen_value(i ? 1.5 : 0, (uint32_t) i);
        x.b.cap = x.b.len + xor_enc_growth(&x, t, v);
        ASSERT_OK(xor_enc_append(&x, t, v));
        ASSERT_TRUE(x.b.p == mem);
        ASSERT_TRUE(x.b.len <= x.b.cap);
    }
    xor_enc_done(&x);
}
