/* tests/unit/tsdb/block_fixture.h — the samples of the pinned version-1 block in
 * tests/unit/tsdb/fixtures/v1-block (written by ember's format-1 writer before format 2): the
 * test that reads it recomputes them here and compares bit for bit. Series s, sample i. */
#ifndef EMBER_TEST_BLOCK_FIXTURE_H
#define EMBER_TEST_BLOCK_FIXTURE_H

#include <stdint.h>
#include <string.h>

#define FIX_SERIES 4
#define FIX_SAMPLES 600 /* per series, in chunks of FIX_CHUNK */
#define FIX_CHUNK 240
#define FIX_T0 1700000000000
#define FIX_STEP 15000

static inline int64_t fix_t(int s, uint32_t i)
{
    /* series 1 and 3 with 0-3 ms of scrape delay, series 2 misses every 97th scrape */
    int64_t t = FIX_T0 + (int64_t) (i + (s == 2 ? i / 96 : 0)) * FIX_STEP;
    return s % 2 ? t + (int64_t) ((i * 7u + (unsigned) s) % 4) : t;
}

static inline double fix_v(int s, uint32_t i)
{
    uint64_t x = (uint64_t) i * 0x9e3779b97f4a7c15u + (uint64_t) s * 0xbf58476d1ce4e5b9u;
    x ^= x >> 29;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 32;
    double d;
    switch (s) {
    case 0: { /* specials between decimals */
        static const uint64_t sp[] = {0x7ff0000000000002u /* stale */, 0x7ff8000000000001u,
                                      0x7ff0000000000000u, 0xfff0000000000000u,
                                      0x8000000000000000u, 0};
        if (i % 11 == 5) {
            uint64_t b = sp[(i / 11) % 6];
            memcpy(&d, &b, 8);
            return d;
        }
        return (double) (int64_t) (i * 37 % 1000) / 100;
    }
    case 1: /* a counter with resets */
        return (double) ((i % 250) * 1000 + (x & 255));
    case 2: /* random bit patterns that are finite doubles */
        x &= ~(UINT64_C(0x7ff) << 52) | (UINT64_C(0x3ff) << 52);
        memcpy(&d, &x, 8);
        return d;
    default: /* a float computed from decimals */
        return (double) (int64_t) (3000000 + (x % 2000000)) / 1e9;
    }
}

#endif
