/* tests/fuzz/fuzz_chunk.c — block chunks and the dense encoding on arbitrary bytes: decoding must
 * fail cleanly or produce samples, never touch memory outside its buffers (stored chunks are
 * also tried with their checksum recomputed, to reach the decoders behind it); then the same
 * bytes read as samples must round-trip bit for bit through both encoders. Split chunks (block
 * format 2: a values record and a timestamp record) are tried on the input cut in two at a
 * point its first two bytes choose, as is and with both checksums recomputed, also with the
 * values record as its own reference (format 3); values relative to the samples reversed must
 * round-trip too whenever the encoder accepts them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/chunk_dense.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_N 1024

static int64_t t[MAX_N], dt[MAX_N];
static double v[MAX_N], dv[MAX_N], rv[MAX_N];

/* Samples from bytes: per sample a timestamp step byte, a value kind byte and, for some kinds,
 * 8 value bytes; kinds cover decimals, near-decimals, repeats, specials and raw bit patterns. */
static uint32_t samples_from(const uint8_t *p, size_t n)
{
    static const double fixed[] = {0.0, -0.0, 1.0, 0.1, 1e22, 1e-22, 9.2233720368547758e18,
                                   -1.5, 1e300, 5e-324};
    uint32_t k = 0;
    int64_t ts = 0;
    size_t i = 0;
    uint64_t prev = 0;
    while (i + 2 <= n && k < MAX_N) {
        uint8_t step = p[i], kind = p[i + 1];
        i += 2;
        ts += step < 200 ? 15000 + (step & 7) : (int64_t) step * 1000003;
        uint64_t bits;
        double d;
        switch (kind & 7) {
        case 0:
            if (i + 8 > n)
                return k;
            memcpy(&bits, p + i, 8);
            i += 8;
            break;
        case 1:
            d = (double) (int64_t) (kind * 12345 + k) / 100;
            memcpy(&bits, &d, 8);
            break;
        case 2:
            bits = STALE_NAN_BITS;
            break;
        case 3:
            d = fixed[(kind >> 3) % 10];
            memcpy(&bits, &d, 8);
            break;
        case 4:
            d = (double) (k * (uint32_t) (kind >> 3));
            memcpy(&bits, &d, 8);
            break;
        case 6: /* a float computed from a decimal: the corrected form */
            d = (double) (int64_t) (kind * 123457 + k * 7919) / 1000.0 / 1000.0;
            memcpy(&bits, &d, 8);
            break;
        default:
            bits = prev;
            break;
        }
        prev = bits;
        t[k] = ts;
        memcpy(&v[k], &bits, 8);
        k++;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t ns[] = {1, 2, 3, 7, 120, 480, MAX_N};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        (void) block_chunk_decode(data, size, ns[i], dt, dv, NULL);
        (void) chunk_dense_decode(data, size, ns[i], dt, dv, NULL);
    }
    if (size > 2) {
        uint32_t n = 1 + ((uint32_t) data[0] << 8 | data[1]) % MAX_N;
        (void) chunk_dense_decode(data + 2, size - 2, n, dt, dv, NULL);
        (void) block_chunk_decode(data + 2, size - 2, n, dt, dv, NULL);
    }
    if (size > 4 && size < 65536) {
        /* With a valid checksum, so that mutations reach the codec byte, zstd and the dense
         * decoder behind it. */
        static uint8_t fixed[65536];
        memcpy(fixed, data, size);
        be32_put(fixed, crc32c(0, fixed + 4, size - 4));
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            (void) block_chunk_decode(fixed, size, ns[i], dt, dv, NULL);
    }

    if (size > 4 && size < 65536) {
        static uint8_t cut[65536];
        size_t k = 2 + (((size_t) data[0] << 8 | data[1]) % (size - 2));
        memcpy(cut, data, size);
        for (int fix = 0; fix < 2; fix++) {
            if (fix && k - 2 > 4)
                be32_put(cut + 2, crc32c(0, cut + 6, k - 6));
            if (fix && size - k > 4)
                be32_put(cut + k, crc32c(0, cut + k + 4, size - k - 4));
            for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
                (void) block_chunk_decode2(cut + 2, k - 2, cut + k, size - k, ns[i], dt, dv, NULL);
                (void) block_chunk_decode3(cut + 2, k - 2, cut + k, size - k, cut + 2, k - 2,
                                           ns[i], dt, dv, NULL);
                (void) chunk_dense_decode_split(cut + 2, k - 2, cut + k, size - k, ns[i], dt, dv,
                                                NULL);
            }
        }
    }

    uint32_t n = samples_from(data, size);
    if (n == 0)
        return 0;
    struct buf b = BUF_INIT;
    if (block_chunk_encode(&b, t, v, n, 1 + size % 5, NULL) < 0)
        abort();
    if (block_chunk_decode(b.p, b.len, n, dt, dv, NULL) < 0 || memcmp(dt, t, n * 8) != 0 ||
        memcmp(dv, v, n * 8) != 0)
        abort();
    buf_reset(&b);
    if (chunk_dense_encode(&b, t, v, n, NULL) < 0 || b.len > chunk_dense_bound(n) ||
        chunk_dense_decode(b.p, b.len, n, dt, dv, NULL) < 0 || memcmp(dv, v, n * 8) != 0)
        abort();
    struct buf tb = BUF_INIT;
    buf_reset(&b);
    if (block_chunk_encode_split(&b, &tb, t, v, n, 1 + size % 5, NULL) < 0 ||
        block_chunk_decode2(b.p, b.len, tb.p, tb.len, n, dt, dv, NULL) < 0 ||
        memcmp(dt, t, n * 8) != 0 || memcmp(dv, v, n * 8) != 0)
        abort();
    /* relative to the values reversed: accepted (0) means bit for bit, else nothing written */
    for (uint32_t i = 0; i < n; i++)
        rv[i] = v[n - 1 - i];
    struct buf rb = BUF_INIT, own = BUF_INIT, rtb = BUF_INIT;
    if (block_chunk_encode_split(&rb, &rtb, t, rv, n, 1, NULL) < 0)
        abort();
    int rel = block_chunk_encode_rel(&own, v, rv, n, 1, NULL);
    if (rel < 0 || (rel == 1 && own.len != 0) ||
        (rel == 0 && (block_chunk_decode3(own.p, own.len, rtb.p, rtb.len, rb.p, rb.len, n, dt,
                                          dv, NULL) < 0 ||
                      memcmp(dt, t, n * 8) != 0 || memcmp(dv, v, n * 8) != 0)))
        abort();
    buf_free(&rb);
    buf_free(&own);
    buf_free(&rtb);
    buf_free(&tb);
    buf_free(&b);
    return 0;
}
