/* tsdb/chunk_dense.c — dense chunk encoding: predicted integer sequences with bit packing for
 * timestamps and decimal values, byte-wise XOR for chunks whose values are not decimal.
 *
 * Byte format (uvarint = LEB128 as in tsdb/base/buf.h, zz = zigzag uvarint, LE = little endian):
 *   chunk   := hdr:u8 values intseq(t[0..n))
 *   Split form (block format 2): the value part `hdr:u8 values` and the timestamp part
 *   `intseq(t[0..n))` as two byte strings, so that series scraped together can share one
 *   timestamp part (block_chunk.c, block_writer.c).
 *   hdr     := value mode in bits 0-1: 0 decimal, 1 xor; bit 2: decimal with corrections;
 *              bits 3-7 are 0. (Values come first: the decoder uses t[] as scratch for the
 *              correction column before it decodes the timestamps into it.)
 *   values (decimal) := scale:zz nexc:uvarint vexc{nexc} intseq(m[0..n)) [intseq(c[0..n))]
 *       v[i] = (double) m[i] / 10^scale (scale >= 0) or (double) m[i] * 10^-scale, |scale| <= 22
 *       (exact powers of ten, so a decimal written with up to ~15 digits comes back bit-exact;
 *       the encoder checks every value through this very computation)
 *       with corrections (scale >= 0): then bits(v[i]) += c[i] (mod 2^64), for floats computed
 *       from decimals with rounding errors (microseconds / 1e6, sums of durations): the
 *       nearest short decimal plus a few units in the last place
 *       vexc := gap:uvarint bits:8 bytes LE: v[pos] has these bits instead (NaN and the stale
 *       marker, +-Inf, -0.0, values with no decimal form); pos = gap for the first,
 *       previous pos + 1 + gap after; m[pos] is filler that keeps the residuals small, c[pos] 0.
 *   values (xor) := ctl:u8[n] data: x[i] = bits(v[i]) ^ bits(v[i-1]) (bits(v[-1]) = 0);
 *       ctl = nb << 4 | tz: x[i] = (nb bytes of data, LE) << 8*tz, nb >= 1, nb + tz <= 8;
 *       ctl = 0: x[i] = 0. Control bytes first so that zstd finds their repetitions.
 *   intseq  := kind:u8 x0:zz [n >= 2: s:zz g:uvarint [offset form: b:zz] [g != 0: coded]]
 *       kind bits 0-1 pick the predictor, arithmetic modulo 2^64:
 *         0 linear: x[i] = x0 + i*s + r[i-1]                 i >= 1, n-1 residuals
 *         1 delta:  x[i] = x[i-1] + s + r[i-1]               i >= 1, n-1 residuals
 *         2 dod:    x[1] = x0 + s; d = s; d += r[i-2], x[i] = x[i-1] + d     i >= 2, n-2 residuals
 *         3 grid:   g = x0; p = g + s, x[i] = p + r[i-1], then g = p when x[i] lies within
 *                   [p - s/2, p - s/2 + s), else p plus the whole steps to x[i]'s slot
 *                   (s >= 1 as a signed value; i >= 1, n-1 residuals). Scrape timestamps:
 *                   jitter costs its own bits and a missed scrape one outlier, where linear
 *                   would shift every later residual and delta doubles the jitter.
 *       kind bit 2 picks the coder of z[] (0 packed, 1 varint), bit 3 the residual form:
 *         0 zigzag: r[j] = unzigzag(z[j]) * g        1 offset: r[j] = b + z[j] * g
 *       (offset suits residuals leaning to one side: scrape delays of 0-3 ms); bits 4-7 are 0.
 *       g = 0: every z[j] is 0 and no coded values follow.
 *       coded (packed) := w:u8 (0..64) nexc:uvarint [nexc > 0: kg:u8 (< 32) kh:u8 (< 64)]
 *                 bits rexc: bits = the low w bits of every z[j], LSB first, ceil(count*w/8)
 *                 bytes; rexc = per value longer than w, in order, rice(kg, gap) and
 *                 rice(kh, hi - 1) in one LSB-first bit stream padded to a byte: z[pos] gets
 *                 hi << w (pos as for vexc; hi != 0, hi << w fits in 64 bits; w < 64).
 *                 rice(k, x): x >> k in unary (that many 1 bits, then a 0) and the k low bits
 *                 of x; x >> k >= 32 is written as 32 1 bits and x in 64 bits.
 *       coded (varint) := count x z[j]:uvarint
 * The encoder tries linear (end-to-end slope and median step), delta (median step), dod and
 * grid (median step) and keeps the cheapest; w minimises the packed size with outliers (a
 * missed scrape, a counter reset) moved to the exception list; g removes common factors
 * (page-sized memory gauges). Values take the cheapest of exact decimals, decimals with
 * corrections (tried when the exact form is long or missing) and xor.
 * On regular timestamps every residual is 0 (g = 0: two bytes for the whole column).
 * Decoding runs tight passes (unpack, patch, reconstruct, convert) over arrays. */
#include "chunk_dense.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The decimal form relies on every double operation rounding once, to binary64, as on x86-64
 * (SSE2) and arm64; x87 excess precision could make encoder and decoder disagree. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "chunk_dense.c needs FLT_EVAL_METHOD == 0 (binary64 arithmetic without excess precision)"
#endif

enum { PRED_LINEAR, PRED_DELTA, PRED_DOD, PRED_GRID };
enum { MODE_DECIMAL, MODE_XOR, MODE_CORRECTED = 4 };
#define CODER_VARINT 4u
#define RES_OFFSET 8u
#define SCALE_MAX 22
/* Doubles below 2^63 in magnitude convert to int64 without overflow. */
#define I64_LIMIT 9223372036854774784.0

/* 10^k is exact in binary64 up to k = 22. */
static const double p10[SCALE_MAX + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* 8-byte elements of t[] and v[] are accessed through memcpy: the value column is decoded as
 * integers in v's own storage before the conversion pass turns them into doubles. */
static inline uint64_t ld64(const void *base, size_t i)
{
    uint64_t x;
    memcpy(&x, (const uint8_t *) base + 8 * i, 8);
    return x;
}
static inline void st64(void *base, size_t i, uint64_t x)
{
    memcpy((uint8_t *) base + 8 * i, &x, 8);
}
static inline uint64_t le64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}
static inline uint64_t zigzag(uint64_t x)
{
    return (x << 1) ^ (0 - (x >> 63));
}
static inline uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}
static inline unsigned bitlen(uint64_t x)
{
    /* branchless: residual lengths are data-dependent, a branch on x == 0 mispredicts */
    return 64u - (unsigned) __builtin_clzll(x | 1) - (x == 0);
}
static inline size_t uvarint_len(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}

size_t chunk_dense_bound(uint32_t n)
{
    /* An intseq is at most 45 header bytes + 9 per residual (8 packed; an exception is chosen
     * only when its estimate, at most 1 byte short of its size, beats packing the value).
     * Decimal values: 5 + 11 per exception (at most n/2) + two intseqs; xor values: 9 per
     * sample; timestamps: one intseq. 1 + 5 + 5.5n + 2 (45 + 9n) + 45 + 9n < 128 + 56n. */
    return 128 + 56 * (size_t) n;
}

/* ---- encoding ---- */

struct seq_plan {
    unsigned kind; /* predictor | coder | residual form */
    uint64_t s, g, b;
    unsigned w;
    size_t cnt;  /* residuals */
    size_t cost; /* estimated bytes of s and the residual part */
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    int sh = __builtin_ctzll(a | b);
    a >>= __builtin_ctzll(a);
    do {
        b >>= __builtin_ctzll(b);
        if (a > b) {
            uint64_t tmp = a;
            a = b;
            b = tmp;
        }
        b -= a;
    } while (b);
    return a << sh;
}

/* Median of up to 63 evenly spaced steps x[i] - x[i-1]: a robust "usual step" for the delta
 * and linear predictors that ignores a missed scrape or a reset. */
static uint64_t median_step(const int64_t *x, uint32_t n)
{
    int64_t s[63];
    uint32_t k = n - 1 < 63 ? n - 1 : 63;
    for (uint32_t j = 0; j < k; j++) {
        uint32_t i = 1 + (uint32_t) ((uint64_t) j * (n - 1) / k);
        int64_t d = (int64_t) ((uint64_t) x[i] - (uint64_t) x[i - 1]);
        uint32_t p = j;
        while (p > 0 && s[p - 1] > d) {
            s[p] = s[p - 1];
            p--;
        }
        s[p] = d;
    }
    return (uint64_t) s[k / 2];
}

/* The grid predictor's next grid point: p when x lies within half a step of it, else p moved
 * by the whole steps that bring it next to x. s >= 1 as a signed value; arithmetic wraps. */
static inline uint64_t grid_next(uint64_t p, uint64_t x, uint64_t s)
{
    uint64_t d = x - p + s / 2;
    if (d < s)
        return p;
    int64_t sd = (int64_t) d, ss = (int64_t) s, q = sd / ss;
    if (sd % ss < 0)
        q--;
    return p + (uint64_t) q * s;
}

static size_t residuals(unsigned pred, const int64_t *x, uint32_t n, uint64_t s, uint64_t *r)
{
    const uint64_t *u = (const uint64_t *) x; /* same representation, modulo 2^64 */
    size_t k = 0;
    if (pred == PRED_LINEAR) {
        uint64_t pos = u[0];
        for (uint32_t i = 1; i < n; i++) {
            pos += s;
            r[k++] = u[i] - pos;
        }
    } else if (pred == PRED_DELTA) {
        for (uint32_t i = 1; i < n; i++)
            r[k++] = u[i] - u[i - 1] - s;
    } else if (pred == PRED_GRID) {
        uint64_t g = u[0];
        for (uint32_t i = 1; i < n; i++) {
            uint64_t p = g + s;
            r[k++] = u[i] - p;
            g = grid_next(p, u[i], s);
        }
    } else {
        for (uint32_t i = 2; i < n; i++)
            r[k++] = (u[i] - u[i - 1]) - (u[i - 1] - u[i - 2]);
    }
    return k;
}

/* Estimated bytes for coding values with this bit-length histogram; picks coder and width.
 * Packed: cnt*w bits, plus per value longer than w its high bits and its distance to the
 * previous one, Rice-coded (~len - w + 1 bits and ~log2(mean distance) + 1.5). */
static size_t code_cost(const size_t *hist, unsigned maxlen, size_t cnt, unsigned *ret_w,
                        int *ret_varint)
{
    size_t vcost = 0;
    for (unsigned len = 0; len <= maxlen; len++)
        vcost += hist[len] * (len ? (len + 6) / 7 : 1);
    size_t best = SIZE_MAX, nexc = 0, hibits = 0;
    unsigned best_w = maxlen;
    for (unsigned w = maxlen + 1; w-- > 0;) {
        size_t bits = cnt * w;
        if (nexc) /* 2 parameter bytes, gaps, high bits */
            bits += 16 + nexc * (2 * bitlen(cnt / nexc) + 3) / 2 + hibits;
        size_t bytes = (bits + 7) / 8 + 2;
        if (bytes < best) {
            best = bytes;
            best_w = w;
        }
        /* For w - 1: values of length w join the exceptions (2 bits of high part each) and
         * every earlier exception's high part grows by a bit. */
        hibits += nexc + 2 * hist[w];
        nexc += hist[w];
    }
    *ret_w = best_w;
    *ret_varint = vcost < best;
    return vcost < best ? vcost : best;
}

/* Exact division by d >= 1 of values known to be multiples of d (d is their gcd): a shift by
 * d's trailing zeros and a multiplication by the inverse of its odd part modulo 2^64, instead of
 * a slow hardware division per residual. */
struct exdiv {
    unsigned sh;
    uint64_t inv;
};
static struct exdiv exdiv_make(uint64_t d)
{
    struct exdiv x = {(unsigned) __builtin_ctzll(d), 0};
    uint64_t odd = d >> x.sh, inv = odd; /* right to 3 bits; each step doubles them */
    for (int i = 0; i < 5; i++)
        inv *= 2 - odd * inv;
    x.inv = inv;
    return x;
}
static inline uint64_t exdiv(struct exdiv d, uint64_t x)
{
    return (x >> d.sh) * d.inv;
}

/* Picks the residual form for r[] — zigzag(r / g), or (r - b) / g with b the minimum when the
 * residuals lean to one side (timestamps delayed by 0-3 ms) — plus coder and width, and turns
 * r[] into the coded values in place. */
static void plan_residuals(uint64_t *r, struct seq_plan *p)
{
    uint64_t gz = 0, go = 0, mags = 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t j = 0; j < p->cnt; j++) {
        uint64_t mag = (r[j] >> 63) ? 0 - r[j] : r[j];
        if (gz != 1)
            gz = gcd64(gz, mag);
        mags |= mag;
        if ((int64_t) r[j] < mn)
            mn = (int64_t) r[j];
        if ((int64_t) r[j] > mx)
            mx = (int64_t) r[j];
    }
    p->w = 0;
    p->b = 0;
    p->g = gz;
    p->cost += 1;
    if (gz == 0)
        return;
    for (size_t j = 0; j < p->cnt && go != 1; j++)
        go = gcd64(go, r[j] - (uint64_t) mn);
    /* Two histograms each for even and odd j: neighbours mostly have the same length, and
     * one table would make every increment wait for the previous one's store. Only the lengths
     * the bounds allow are cleared and summed (zigzag(q) with q <= |r| has at most one bit more
     * than |r|; (r - mn) / go <= mx - mn): on short chunks, clearing and summing all 65 bins of
     * four tables was a quarter of this function. */
    unsigned bz = bitlen(mags) + 1, bo = bitlen((uint64_t) mx - (uint64_t) mn);
    bz = bz > 64 ? 64 : bz;
    size_t hz[2][65], ho[2][65];
    for (int k = 0; k < 2; k++) {
        memset(hz[k], 0, (bz + 1) * sizeof hz[k][0]);
        memset(ho[k], 0, (bo + 1) * sizeof ho[k][0]);
    }
    struct exdiv dz = exdiv_make(gz), dof = exdiv_make(go ? go : 1);
    for (size_t j = 0; j < p->cnt; j++) {
        uint64_t neg = r[j] >> 63, mag = neg ? 0 - r[j] : r[j];
        uint64_t q = exdiv(dz, mag);
        unsigned lz = bitlen(neg ? 2 * q - 1 : 2 * q); /* zigzag of -q / q; q <= 2^63 */
        uint64_t u = r[j] - (uint64_t) mn;
        unsigned lo = bitlen(exdiv(dof, u));
        hz[j & 1][lz]++;
        ho[j & 1][lo]++;
    }
    unsigned mz = 0, mo = 0;
    for (unsigned k = 0; k <= bz; k++) {
        hz[0][k] += hz[1][k];
        mz = hz[0][k] ? k : mz;
    }
    for (unsigned k = 0; k <= bo; k++) {
        ho[0][k] += ho[1][k];
        mo = ho[0][k] ? k : mo;
    }
    unsigned wz, wo;
    int vz, vo;
    size_t cz = code_cost(hz[0], mz, p->cnt, &wz, &vz) + uvarint_len(gz);
    size_t co = code_cost(ho[0], mo, p->cnt, &wo, &vo) + uvarint_len(go) +
                uvarint_len(zigzag((uint64_t) mn));
    if (co < cz) {
        p->kind |= RES_OFFSET | (vo ? CODER_VARINT : 0);
        p->g = go;
        p->b = (uint64_t) mn;
        p->w = wo;
        p->cost += co;
        for (size_t j = 0; j < p->cnt; j++)
            r[j] = exdiv(dof, r[j] - (uint64_t) mn);
        return;
    }
    p->kind |= vz ? CODER_VARINT : 0;
    p->w = wz;
    p->cost += cz;
    for (size_t j = 0; j < p->cnt; j++) {
        uint64_t neg = r[j] >> 63, mag = neg ? 0 - r[j] : r[j];
        uint64_t q = exdiv(dz, mag);
        r[j] = neg ? 2 * q - 1 : 2 * q;
    }
}

static int put_zz(struct buf *b, uint64_t x)
{
    return buf_put_uvarint(b, zigzag(x));
}

/* Appends n packed w-bit values (w <= 64; values already masked). */
static int put_packed(struct buf *b, const uint64_t *z, size_t cnt, unsigned w)
{
    size_t nbytes = (cnt * w + 7) / 8;
    if (buf_reserve(b, nbytes + 8) < 0)
        return -ENOMEM;
    uint8_t *o = b->p + b->len;
    uint64_t acc = 0;
    unsigned have = 0;
    uint64_t mask = w == 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
    for (size_t j = 0; j < cnt && w; j++) {
        uint64_t v = z[j] & mask;
        acc |= v << have;
        unsigned total = have + w;
        if (total >= 64) {
            for (int k = 0; k < 8; k++)
                *o++ = (uint8_t) (acc >> (8 * k));
            acc = have ? v >> (64 - have) : 0;
            total -= 64;
        }
        have = total;
    }
    for (unsigned k = 0; k < (have + 7) / 8; k++)
        *o++ = (uint8_t) (acc >> (8 * k));
    b->len += nbytes;
    return 0;
}

/* Rice code of x with parameter k: q = x >> k as q one-bits and a zero-bit, then the k low
 * bits; q >= 32 escapes as 32 one-bits and x in 64 bits. Bits go LSB first. */
#define RICE_ESC 32
static size_t rice_bits(unsigned k, uint64_t x)
{
    uint64_t q = x >> k;
    return q < RICE_ESC ? (size_t) q + 1 + k : RICE_ESC + 64;
}

struct bitw {
    struct buf *b;
    uint64_t acc;
    unsigned have; /* bits in acc, < 8 between calls */
};

static int bitw_put(struct bitw *w, uint64_t v, unsigned nbits)
{
    while (nbits) {
        unsigned take = nbits < 8 ? nbits : 8;
        w->acc |= (v & ((1u << take) - 1)) << w->have;
        w->have += take;
        v = take < 64 ? v >> take : 0;
        nbits -= take;
        while (w->have >= 8) {
            if (buf_putc(w->b, (uint8_t) w->acc) < 0)
                return -ENOMEM;
            w->acc >>= 8;
            w->have -= 8;
        }
    }
    return 0;
}

static int bitw_flush(struct bitw *w)
{
    return w->have ? bitw_put(w, 0, 8 - w->have) : 0;
}

static int put_rice(struct bitw *w, unsigned k, uint64_t x)
{
    uint64_t q = x >> k;
    int r = 0;
    if (q >= RICE_ESC) {
        for (int i = 0; i < RICE_ESC && r == 0; i += 8)
            r = bitw_put(w, 0xff, 8);
        return r == 0 ? bitw_put(w, x, 64) : r;
    }
    for (uint64_t i = 0; i < q && r == 0; i++)
        r = bitw_put(w, 1, 1);
    if (r == 0)
        r = bitw_put(w, 0, 1);
    return r == 0 ? bitw_put(w, x, k) : r;
}

static int emit_seq(struct buf *b, const struct seq_plan *p, uint64_t x0, uint32_t n,
                    const uint64_t *z)
{
    int r = buf_putc(b, (uint8_t) p->kind);
    if (r == 0)
        r = put_zz(b, x0);
    if (r < 0 || n < 2)
        return r;
    if ((r = put_zz(b, p->s)) < 0 || (r = buf_put_uvarint(b, p->g)) < 0)
        return r;
    if ((p->kind & RES_OFFSET) && (r = put_zz(b, p->b)) < 0)
        return r;
    if (p->g == 0)
        return 0;
    if (p->kind & CODER_VARINT) {
        for (size_t j = 0; j < p->cnt; j++)
            if ((r = buf_put_uvarint(b, z[j])) < 0)
                return r;
        return 0;
    }
    size_t nexc = 0;
    for (size_t j = 0; j < p->cnt; j++)
        nexc += p->w < 64 && (z[j] >> p->w) != 0;
    if ((r = buf_putc(b, (uint8_t) p->w)) < 0 || (r = buf_put_uvarint(b, nexc)) < 0)
        return r;
    if (!nexc)
        return put_packed(b, z, p->cnt, p->w);
    /* Rice parameters: the cheapest for the gaps and for the high parts. The exceptions' gaps
     * and high parts are gathered first (in stack batches), so the 64 trial parameters run over
     * the few exceptions, not over every residual. */
    size_t cg[64] = {0}, ch[64] = {0};
    uint64_t eg[128], eh[128];
    size_t ne = 0, after = 0;
    for (size_t j = 0; j <= p->cnt; j++) {
        if (j < p->cnt && !(z[j] >> p->w))
            continue;
        if (j < p->cnt) {
            eg[ne] = j - after;
            eh[ne++] = (z[j] >> p->w) - 1;
            after = j + 1;
        }
        if (ne == 128 || (j == p->cnt && ne)) {
            for (unsigned k = 0; k < 64; k++)
                for (size_t q = 0; q < ne; q++) {
                    cg[k] += rice_bits(k, eg[q]);
                    ch[k] += rice_bits(k, eh[q]);
                }
            ne = 0;
        }
    }
    unsigned kg = 0, kh = 0;
    size_t bg = SIZE_MAX, bh = SIZE_MAX;
    for (unsigned k = 0; k < 64; k++) {
        if (k < 32 && cg[k] < bg) {
            bg = cg[k];
            kg = k;
        }
        if (ch[k] < bh) {
            bh = ch[k];
            kh = k;
        }
    }
    if ((r = buf_putc(b, (uint8_t) kg)) < 0 || (r = buf_putc(b, (uint8_t) kh)) < 0 ||
        (r = put_packed(b, z, p->cnt, p->w)) < 0)
        return r;
    struct bitw bw = {b, 0, 0};
    size_t next = 0;
    for (size_t j = 0; j < p->cnt && r == 0; j++) {
        if (!(z[j] >> p->w))
            continue;
        r = put_rice(&bw, kg, j - next);
        if (r == 0)
            r = put_rice(&bw, kh, (z[j] >> p->w) - 1);
        next = j + 1;
    }
    return r == 0 ? bitw_flush(&bw) : r;
}

/* Encodes x[0..n) as an intseq, choosing the cheapest predictor. scratch: 2*n uint64. */
static int encode_seq(struct buf *b, const int64_t *x, uint32_t n, uint64_t *scratch)
{
    struct seq_plan best = {PRED_LINEAR, 0, 0, 0, 0, 0, 0};
    if (n < 2)
        return emit_seq(b, &best, (uint64_t) x[0], n, NULL);
    uint64_t *cur = scratch, *keep = scratch + n;
    uint64_t step = median_step(x, n);
    int64_t span = (int64_t) ((uint64_t) x[n - 1] - (uint64_t) x[0]), k = (int64_t) n - 1;
    int64_t slope = span / k, rem = span % k;
    if (2 * (rem < 0 ? -rem : rem) >= k)
        slope += rem < 0 ? -1 : 1;
    struct seq_plan cand[5] = {
        {PRED_LINEAR, (uint64_t) slope, 0, 0, 0, 0, 0},
        {PRED_LINEAR, step, 0, 0, 0, 0, 0},
        {PRED_DELTA, step, 0, 0, 0, 0, 0},
        {PRED_DOD, (uint64_t) x[1] - (uint64_t) x[0], 0, 0, 0, 0, 0},
        {PRED_GRID, step, 0, 0, 0, 0, 0},
    };
    int have = 0;
    for (int c = 0; c < 5; c++) {
        if ((c == 1 && step == (uint64_t) slope) || (c == 4 && (int64_t) step < 1))
            continue;
        /* A candidate costs at least its kind byte and its step; one that cannot beat the best
         * so far (ties keep the earlier) is not tried: on regular timestamps the first
         * predictor leaves no residuals and the others are skipped. */
        if (have && 1 + uvarint_len(zigzag(cand[c].s)) >= best.cost)
            continue;
        cand[c].cnt = residuals(cand[c].kind, x, n, cand[c].s, cur);
        plan_residuals(cur, &cand[c]);
        cand[c].cost += uvarint_len(zigzag(cand[c].s));
        if (!have || cand[c].cost < best.cost) {
            best = cand[c];
            uint64_t *tmp = keep;
            keep = cur;
            cur = tmp;
            have = 1;
        }
    }
    return emit_seq(b, &best, (uint64_t) x[0], n, keep);
}

/* m with v == m / 10^s (s >= 0) or m * 10^-s, checked bit for bit through the decoder's
 * computation; 0 when there is none at this scale. */
static inline int dec_try(double v, uint64_t bits, int s, int64_t *ret_m)
{
    double x = s >= 0 ? v * p10[s] : v / p10[-s];
    if (!(x > -I64_LIMIT && x < I64_LIMIT))
        return 0;
    int64_t m = (int64_t) llrint(x);
    double back = s > 0 ? (double) m / p10[s] : s < 0 ? (double) m * p10[-s] : (double) m;
    if (num_bits(back) != bits)
        return 0;
    *ret_m = m;
    return 1;
}

static inline int dec_special(uint64_t bits)
{
    return (bits & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) ||
           bits == UINT64_C(0x8000000000000000);
}

#define SC_NONE 127

/* The smallest scale at which v has an exact decimal form, SC_NONE when it has none. hint: the
 * previous value's scale, where the search starts (neighbours usually share it). Exactness is
 * assumed to persist at larger scales for the search; the encoder checks every value again at
 * the scale it picks. */
static int min_scale(double v, uint64_t bits, int hint)
{
    int64_t m;
    if (dec_special(bits))
        return SC_NONE;
    if (!(fabs(v) < I64_LIMIT)) {
        for (int s = -SCALE_MAX; s < 0; s++)
            if (dec_try(v, bits, s, &m))
                return s;
        return SC_NONE;
    }
    if ((double) (int64_t) v == v)
        return 0;
    int s = hint > 0 && hint <= SCALE_MAX ? hint : 1;
    if (dec_try(v, bits, s, &m)) {
        while (s > 1 && dec_try(v, bits, s - 1, &m))
            s--;
        return s;
    }
    for (s++; s <= SCALE_MAX; s++)
        if (dec_try(v, bits, s, &m))
            return s;
    return SC_NONE;
}

/* Picks the common scale from the values' smallest scales sc[]: each scale step beyond the
 * smallest costs ~3.3 bits per sample, each value left out costs an exception (~10 bytes).
 * INT32_MIN when no value has a decimal form. */
static int pick_scale(const int8_t *sc, uint32_t n)
{
    size_t hist[2 * SCALE_MAX + 1] = {0}, total = 0;
    for (uint32_t i = 0; i < n; i++)
        if (sc[i] != SC_NONE) {
            hist[sc[i] + SCALE_MAX]++;
            total++;
        }
    if (!total)
        return INT32_MIN;
    int lo = 0;
    while (!hist[lo])
        lo++;
    size_t below = 0, best = SIZE_MAX;
    int best_s = lo;
    for (int k = lo; k <= 2 * SCALE_MAX; k++) {
        below += hist[k];
        size_t cost = (total - below) * 80 + (size_t) n * 10 * (size_t) (k - lo) / 3;
        if (cost < best) {
            best = cost;
            best_s = k;
        }
        if (below == total)
            break;
    }
    return best_s - SCALE_MAX;
}

/* Size of the xor value encoding. */
static size_t xor_size(const double *v, uint32_t n)
{
    size_t sz = n;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t b = num_bits(v[i]), x = b ^ prev;
        prev = b;
        if (x)
            sz += (size_t) (8 - __builtin_clzll(x) / 8 - __builtin_ctzll(x) / 8);
    }
    return sz;
}

static int encode_xor(struct buf *b, const double *v, uint32_t n)
{
    if (buf_reserve(b, xor_size(v, n)) < 0)
        return -ENOMEM;
    uint8_t *ctl = b->p + b->len, *o = ctl + n;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t bits = num_bits(v[i]), x = bits ^ prev;
        prev = bits;
        if (!x) {
            ctl[i] = 0;
            continue;
        }
        unsigned tz = (unsigned) __builtin_ctzll(x) / 8,
                 nb = 8 - (unsigned) __builtin_clzll(x) / 8 - tz;
        ctl[i] = (uint8_t) (nb << 4 | tz);
        x >>= 8 * tz;
        for (unsigned k = 0; k < nb; k++)
            *o++ = (uint8_t) (x >> (8 * k));
    }
    b->len = (size_t) (o - b->p);
    return 0;
}

/* Finds the smallest scale 0..12 at which at least 90% of (up to 64 sampled) values lie within
 * APPROX_ULPS units in the last place of m / 10^scale: floats computed from decimals
 * (microseconds / 1e6 in two divisions; sums of durations, whose rounding errors add up) that
 * have no short exact form. -1 when there is none. */
#define APPROX_ULPS 4096
static int approx_scale(const double *v, uint32_t n)
{
    uint32_t k = n < 64 ? n : 64;
    for (int s = 0; s <= 12; s++) {
        uint32_t good = 0, tot = 0;
        for (uint32_t j = 0; j < k; j++) {
            uint32_t i = (uint32_t) ((uint64_t) j * n / k);
            uint64_t bits = num_bits(v[i]);
            if (dec_special(bits))
                continue;
            tot++;
            double x = v[i] * p10[s];
            if (!(x > -I64_LIMIT && x < I64_LIMIT))
                continue;
            double d = (double) (int64_t) llrint(x) / p10[s];
            uint64_t c = bits - num_bits(d);
            good += c + APPROX_ULPS <= 2 * APPROX_ULPS; /* |c| <= APPROX_ULPS */
        }
        if (tot && good * 10 >= tot * 9)
            return s;
    }
    return -1;
}

#define CORR_MAX (INT64_C(1) << 24)

/* Appends the decimal value part at scale. approx (scale >= 0): every value is the nearest
 * m / 10^scale plus a correction c in units in the last place, a column of its own; otherwise
 * values must be exact. Values that fit neither become exceptions, with a filler m[] that
 * continues the previous values' trend so they cost no residual bits. 1: done; 0: too many
 * exceptions (out unchanged). scratch: 2n residuals; m, c: n each; exc: n flags. */
static int encode_decimal(struct buf *out, const double *v, uint32_t n, int scale, int approx,
                          uint64_t *scratch, int64_t *m, int64_t *c, uint8_t *exc)
{
    uint32_t nexc = 0, first = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t bits = num_bits(v[i]);
        int ok = 0;
        c[i] = 0;
        if (dec_special(bits)) {
            ok = 0;
        } else if (!approx) {
            ok = dec_try(v[i], bits, scale, &m[i]);
        } else {
            double x = v[i] * p10[scale];
            if (x > -I64_LIMIT && x < I64_LIMIT) {
                m[i] = (int64_t) llrint(x);
                c[i] = (int64_t) (bits - num_bits((double) m[i] / p10[scale]));
                ok = c[i] >= -CORR_MAX && c[i] <= CORR_MAX;
            }
        }
        exc[i] = (uint8_t) !ok;
        if (!ok)
            c[i] = 0;
        if (ok && first == n)
            first = i;
        nexc += !ok;
    }
    if (first == n || nexc > n / 2)
        return 0;
    for (uint32_t i = 0; i < first; i++)
        m[i] = m[first];
    for (uint32_t i = first + 1; i < n; i++)
        if (exc[i])
            m[i] = i - first >= 2 ? (int64_t) (2 * (uint64_t) m[i - 1] - (uint64_t) m[i - 2])
                                  : m[i - 1];
    size_t start = out->len;
    int r = put_zz(out, (uint64_t) (int64_t) scale);
    if (r == 0)
        r = buf_put_uvarint(out, nexc);
    uint32_t next = 0;
    for (uint32_t i = 0; i < n && r == 0 && nexc; i++) {
        if (!exc[i])
            continue;
        uint64_t bits = num_bits(v[i]);
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t) (bits >> (8 * k));
        r = buf_put_uvarint(out, i - next);
        if (r == 0)
            r = buf_append(out, le, 8);
        next = i + 1;
    }
    if (r == 0)
        r = encode_seq(out, m, n, scratch);
    if (r == 0 && approx)
        r = encode_seq(out, c, n, scratch);
    if (r < 0) {
        out->len = start;
        return r;
    }
    return 1;
}

/* Appends the value part in its cheapest form: exact decimals, decimals with corrections, or
 * xor; returns the header's mode bits or < 0. scratch as for encode_decimal plus 2n. */
static int encode_values(struct buf *out, const double *v, uint32_t n, uint64_t *scratch)
{
    int64_t *m = (int64_t *) (scratch + 2 * (size_t) n), *c = m + n;
    uint8_t *exc = (uint8_t *) (c + n);
    int8_t *sc = (int8_t *) exc;
    int hint = 0;
    for (uint32_t i = 0; i < n; i++) {
        int s = min_scale(v[i], num_bits(v[i]), hint);
        sc[i] = (int8_t) s;
        if (s != SC_NONE)
            hint = s;
    }
    int scale = pick_scale(sc, n), mode = MODE_DECIMAL, r = 0;
    size_t start = out->len, best = SIZE_MAX;
    if (scale != INT32_MIN && (r = encode_decimal(out, v, n, scale, 0, scratch, m, c, exc)) > 0)
        best = out->len - start;
    if (r < 0)
        return r;
    /* Long or missing exact forms: try decimals with corrections, then xor. */
    if (best > 2 * (size_t) n || scale > 9) {
        int as = approx_scale(v, n);
        if (as >= 0) {
            struct buf tmp = BUF_INIT;
            r = encode_decimal(&tmp, v, n, as, 1, scratch, m, c, exc);
            if (r > 0 && tmp.len < best) {
                out->len = start;
                r = buf_append(out, tmp.p, tmp.len);
                best = tmp.len;
                mode = MODE_DECIMAL | MODE_CORRECTED;
            }
            buf_free(&tmp);
            if (r < 0)
                return r;
        }
        if (xor_size(v, n) < best) {
            out->len = start;
            if ((r = encode_xor(out, v, n)) < 0)
                return r;
            mode = MODE_XOR;
        }
    }
    if (best == SIZE_MAX && mode != MODE_XOR) {
        out->len = start;
        if ((r = encode_xor(out, v, n)) < 0)
            return r;
        mode = MODE_XOR;
    }
    return mode;
}

static int check_ascending(const int64_t *t, uint32_t n, struct err *e)
{
    for (uint32_t i = 1; i < n; i++)
        if (t[i] <= t[i - 1])
            return err_set(e, ERR_INTERNAL,
                           "dense encode: timestamps not ascending at sample %u (%" PRId64
                           " after %" PRId64 ")",
                           i, t[i], t[i - 1]);
    return 0;
}

/* Appends hdr and the value part (with_values) and/or the timestamp intseq (with_times). */
static int encode_parts(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                        int with_values, int with_times, struct err *e)
{
    if (n == 0)
        return err_set(e, ERR_INTERNAL, "dense encode: no samples");
    int r = with_times ? check_ascending(t, n, e) : 0;
    if (r < 0)
        return r;
    size_t start = out->len;
    /* scratch: 2n residuals, n of m, n of corrections, n flag bytes */
    uint64_t *scratch = malloc(4 * (size_t) n * sizeof *scratch + n);
    if (!scratch)
        return err_set(e, -ENOMEM, "dense encode: out of memory");
    int mode = 0;
    if (with_values) {
        r = buf_putc(out, 0);
        mode = r < 0 ? r : encode_values(out, v, n, scratch);
        r = mode < 0 ? mode : 0;
    }
    if (r == 0 && with_times)
        r = encode_seq(out, t, n, scratch);
    free(scratch);
    if (r < 0) {
        out->len = start;
        return err_set(e, r, "dense encode: out of memory");
    }
    if (with_values)
        out->p[start] = (uint8_t) mode;
    if (NEVER(out->len - start > chunk_dense_bound(n))) {
        size_t got = out->len - start;
        out->len = start;
        return err_set(e, ERR_INTERNAL, "dense encode: %zu bytes for %u samples over bound", got,
                       n);
    }
    return 0;
}

int chunk_dense_encode(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                       struct err *e)
{
    return encode_parts(out, t, v, n, 1, 1, e);
}

int chunk_dense_encode_values(struct buf *out, const double *v, uint32_t n, struct err *e)
{
    return encode_parts(out, NULL, v, n, 1, 0, e);
}

int chunk_dense_encode_times(struct buf *out, const int64_t *t, uint32_t n, struct err *e)
{
    return encode_parts(out, t, NULL, n, 0, 1, e);
}

/* ---- decoding ---- */

struct rd {
    const uint8_t *p, *end;
};

static inline int rd_uvarint(struct rd *r, uint64_t *ret)
{
    if (r->p < r->end && *r->p < 0x80) {
        *ret = *r->p++;
        return 0;
    }
    int k = uvarint_get(r->p, r->end, ret);
    if (k < 0)
        return -1;
    r->p += k;
    return 0;
}

static inline int rd_byte(struct rd *r, unsigned *ret)
{
    if (r->p >= r->end)
        return -1;
    *ret = *r->p++;
    return 0;
}

/* Unpacks cnt w-bit values (1 <= w <= 64) from src[0..nbytes) into dst elements [0..cnt). */
static void unpack(const uint8_t *src, size_t nbytes, unsigned w, size_t cnt, void *dst)
{
    uint64_t mask = w == 64 ? UINT64_MAX : (UINT64_C(1) << w) - 1;
    /* Values whose 9-byte window lies inside src are read directly; the rest from a padded
     * copy of the tail. */
    size_t fast = 0;
    if (nbytes >= 9)
        fast = ((nbytes - 9) * 8 + 7) / w + 1;
    if (fast > cnt)
        fast = cnt;
    size_t bit = 0;
    if (w <= 56) {
        for (size_t j = 0; j < fast; j++, bit += w)
            st64(dst, j, (le64(src + (bit >> 3)) >> (bit & 7)) & mask);
    } else {
        for (size_t j = 0; j < fast; j++, bit += w) {
            const uint8_t *q = src + (bit >> 3);
            unsigned sh = bit & 7;
            uint64_t x = le64(q) >> sh;
            if (sh)
                x |= (uint64_t) q[8] << (64 - sh);
            st64(dst, j, x & mask);
        }
    }
    if (fast == cnt)
        return;
    uint8_t tail[32] = {0};
    size_t from = bit >> 3, len = nbytes - from; /* len <= 17 */
    memcpy(tail, src + from, len);
    bit &= 7;
    for (size_t j = fast; j < cnt; j++, bit += w) {
        const uint8_t *q = tail + (bit >> 3);
        unsigned sh = bit & 7;
        uint64_t x = le64(q) >> sh;
        if (sh)
            x |= (uint64_t) q[8] << (64 - sh);
        st64(dst, j, x & mask);
    }
}

/* LSB-first bit reader over p[0..nbits/8). */
struct bitr {
    const uint8_t *p;
    size_t nbits, pos;
};

static int get_bits(struct bitr *r, unsigned nbits, uint64_t *ret)
{
    if (nbits > r->nbits - r->pos)
        return -1;
    uint64_t v = 0;
    for (unsigned i = 0; i < nbits;) {
        size_t byte = r->pos >> 3;
        unsigned off = r->pos & 7, take = 8 - off;
        if (take > nbits - i)
            take = nbits - i;
        v |= (uint64_t) ((r->p[byte] >> off) & ((1u << take) - 1)) << i;
        i += take;
        r->pos += take;
    }
    *ret = v;
    return 0;
}

static int get_rice(struct bitr *r, unsigned k, uint64_t *ret)
{
    uint64_t q = 0, bit, low;
    while (q < RICE_ESC) {
        if (get_bits(r, 1, &bit) < 0)
            return -1;
        if (!bit)
            break;
        q++;
    }
    if (q == RICE_ESC)
        return get_bits(r, 64, ret);
    if (get_bits(r, k, &low) < 0)
        return -1;
    *ret = q << k | low;
    return 0;
}

/* Decodes an intseq of n values into dst (n 8-byte elements). */
static int decode_seq(struct rd *rd, uint32_t n, void *dst)
{
    unsigned kind;
    uint64_t x0, s, g, b = 0;
    if (rd_byte(rd, &kind) < 0 || (kind & ~15u) || rd_uvarint(rd, &x0) < 0)
        return -1;
    x0 = unzigzag(x0);
    st64(dst, 0, x0);
    if (n < 2)
        return kind == 0 ? 0 : -1;
    if (rd_uvarint(rd, &s) < 0 || rd_uvarint(rd, &g) < 0)
        return -1;
    if ((kind & RES_OFFSET) && rd_uvarint(rd, &b) < 0)
        return -1;
    s = unzigzag(s);
    b = unzigzag(b);
    unsigned pred = kind & 3;
    if (pred == PRED_GRID && (int64_t) s < 1)
        return -1;
    size_t cnt = pred == PRED_DOD ? n - 2 : n - 1, first = n - cnt;
    uint8_t *z = (uint8_t *) dst + 8 * first;
    if (g == 0) {
        for (size_t j = 0; j < cnt; j++)
            st64(z, j, b);
    } else {
        if (kind & CODER_VARINT) {
            for (size_t j = 0; j < cnt; j++) {
                uint64_t x;
                if (rd_uvarint(rd, &x) < 0)
                    return -1;
                st64(z, j, x);
            }
        } else {
            unsigned w, kg = 0, kh = 0;
            uint64_t nexc;
            if (rd_byte(rd, &w) < 0 || w > 64 || rd_uvarint(rd, &nexc) < 0 || nexc > cnt ||
                (nexc && (w == 64 || rd_byte(rd, &kg) < 0 || rd_byte(rd, &kh) < 0 ||
                          kg >= 32 || kh >= 64)))
                return -1;
            size_t nbytes = (cnt * w + 7) / 8;
            if ((size_t) (rd->end - rd->p) < nbytes)
                return -1;
            if (w)
                unpack(rd->p, nbytes, w, cnt, z);
            else
                memset(z, 0, 8 * cnt);
            rd->p += nbytes;
            struct bitr br = {rd->p, (size_t) (rd->end - rd->p) * 8, 0};
            uint64_t pos = 0;
            for (uint64_t k = 0; k < nexc; k++) {
                uint64_t gap, hi;
                if (get_rice(&br, kg, &gap) < 0 || get_rice(&br, kh, &hi) < 0 ||
                    gap >= cnt - pos || hi == UINT64_MAX || (w && ((hi + 1) >> (64 - w))))
                    return -1;
                pos += gap;
                st64(z, pos, ld64(z, pos) | (hi + 1) << w);
                pos++;
            }
            rd->p += (br.pos + 7) / 8;
        }
        /* coded values back to residuals */
        if (kind & RES_OFFSET) {
            for (size_t j = 0; j < cnt; j++)
                st64(z, j, b + ld64(z, j) * g);
        } else if (g > 1) {
            for (size_t j = 0; j < cnt; j++) {
                uint64_t zj = ld64(z, j), neg = 0 - (zj & 1), mag = ((zj >> 1) + (zj & 1)) * g;
                st64(z, j, (mag ^ neg) - neg);
            }
        } else {
            for (size_t j = 0; j < cnt; j++)
                st64(z, j, unzigzag(ld64(z, j)));
        }
    }
    if (pred == PRED_LINEAR) {
        uint64_t pos = x0;
        for (uint32_t i = 1; i < n; i++) {
            pos += s;
            st64(dst, i, pos + ld64(dst, i));
        }
    } else if (pred == PRED_DELTA) {
        uint64_t acc = x0;
        for (uint32_t i = 1; i < n; i++) {
            acc += s + ld64(dst, i);
            st64(dst, i, acc);
        }
    } else if (pred == PRED_GRID) {
        uint64_t grid = x0;
        for (uint32_t i = 1; i < n; i++) {
            uint64_t p = grid + s, x = p + ld64(dst, i);
            st64(dst, i, x);
            grid = grid_next(p, x, s);
        }
    } else {
        uint64_t acc = x0 + s, d = s;
        st64(dst, 1, acc);
        for (uint32_t i = 2; i < n; i++) {
            d += ld64(dst, i);
            acc += d;
            st64(dst, i, acc);
        }
    }
    return 0;
}

static int decode_xor(struct rd *rd, uint32_t n, double *v)
{
    if ((size_t) (rd->end - rd->p) < n)
        return -1;
    const uint8_t *ctl = rd->p, *d = rd->p + n;
    size_t need = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned nb = ctl[i] >> 4, tz = ctl[i] & 15;
        if (ctl[i] && (nb == 0 || nb + tz > 8))
            return -1;
        need += nb;
    }
    if ((size_t) (rd->end - d) < need)
        return -1;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned nb = ctl[i] >> 4, tz = ctl[i] & 15;
        uint64_t x = 0;
        for (unsigned k = 0; k < nb; k++)
            x |= (uint64_t) d[k] << (8 * k);
        d += nb;
        prev ^= x << (8 * tz);
        v[i] = num_from_bits(prev);
    }
    rd->p = d;
    return 0;
}

/* The value part (hdr and values) into v; t[0..n) is scratch for the correction column. */
static int decode_values(struct rd *rdp, const uint8_t *p, uint32_t n, int64_t *t, double *v,
                         struct err *e)
{
    struct rd rd = *rdp;
    unsigned hdr;
    if (rd_byte(&rd, &hdr) < 0 || (hdr & ~7u) || (hdr & 3) > MODE_XOR ||
        hdr == (MODE_XOR | MODE_CORRECTED))
        return err_set(e, ERR_CORRUPT, "dense chunk: bad header");
    if ((hdr & 3) == MODE_XOR) {
        if (decode_xor(&rd, n, v) < 0)
            return err_set(e, ERR_CORRUPT, "dense chunk: malformed xor values at byte %zu",
                           (size_t) (rd.p - p));
    } else {
        uint64_t zs, nexc;
        if (rd_uvarint(&rd, &zs) < 0 || rd_uvarint(&rd, &nexc) < 0 || nexc > n)
            return err_set(e, ERR_CORRUPT, "dense chunk: malformed value header");
        int64_t scale = (int64_t) unzigzag(zs);
        if (scale < -SCALE_MAX || scale > SCALE_MAX || ((hdr & MODE_CORRECTED) && scale < 0))
            return err_set(e, ERR_CORRUPT, "dense chunk: scale %" PRId64 " out of range", scale);
        struct rd exc = rd;
        uint64_t pos = 0;
        for (uint64_t k = 0; k < nexc; k++) {
            uint64_t gap;
            if (rd_uvarint(&rd, &gap) < 0 || gap >= n - pos || rd.end - rd.p < 8)
                return err_set(e, ERR_CORRUPT, "dense chunk: malformed value exceptions");
            pos += gap + 1;
            rd.p += 8;
        }
        /* m into v's storage; corrections into t's, which the timestamps overwrite later. */
        if (decode_seq(&rd, n, v) < 0 || ((hdr & MODE_CORRECTED) && decode_seq(&rd, n, t) < 0))
            return err_set(e, ERR_CORRUPT, "dense chunk: malformed values at byte %zu",
                           (size_t) (rd.p - p));
        if (scale > 0) {
            double d = p10[scale];
            for (uint32_t i = 0; i < n; i++)
                v[i] = (double) (int64_t) ld64(v, i) / d;
        } else if (scale < 0) {
            double f = p10[-scale];
            for (uint32_t i = 0; i < n; i++)
                v[i] = (double) (int64_t) ld64(v, i) * f;
        } else {
            for (uint32_t i = 0; i < n; i++)
                v[i] = (double) (int64_t) ld64(v, i);
        }
        if (hdr & MODE_CORRECTED)
            for (uint32_t i = 0; i < n; i++)
                v[i] = num_from_bits(num_bits(v[i]) + (uint64_t) t[i]);
        pos = 0;
        for (uint64_t k = 0; k < nexc; k++) {
            uint64_t gap;
            (void) rd_uvarint(&exc, &gap);
            pos += gap;
            v[pos] = num_from_bits(le64(exc.p));
            exc.p += 8;
            pos++;
        }
    }
    *rdp = rd;
    return 0;
}

/* The timestamp intseq into t, checked ascending. */
static int decode_times(struct rd *rd, const uint8_t *p, uint32_t n, int64_t *t, struct err *e)
{
    if (decode_seq(rd, n, t) < 0)
        return err_set(e, ERR_CORRUPT, "dense chunk: malformed timestamps at byte %zu",
                       (size_t) (rd->p - p));
    for (uint32_t i = 1; i < n; i++)
        if (t[i] <= t[i - 1])
            return err_set(e, ERR_CORRUPT, "dense chunk: timestamps not ascending at sample %u",
                           i);
    return 0;
}

static int check_end(const struct rd *rd, struct err *e)
{
    if (rd->p != rd->end)
        return err_set(e, ERR_CORRUPT, "dense chunk: %zu trailing bytes",
                       (size_t) (rd->end - rd->p));
    return 0;
}

int chunk_dense_decode(const uint8_t *p, size_t len, uint32_t n, int64_t *t, double *v,
                       struct err *e)
{
    struct rd rd = {p, p + len};
    if (n == 0)
        return err_set(e, ERR_CORRUPT, "dense chunk: zero samples");
    int r;
    if ((r = decode_values(&rd, p, n, t, v, e)) < 0 || (r = decode_times(&rd, p, n, t, e)) < 0)
        return r;
    return check_end(&rd, e);
}

int chunk_dense_decode_split(const uint8_t *vp, size_t vlen, const uint8_t *tp, size_t tlen,
                             uint32_t n, int64_t *t, double *v, struct err *e)
{
    struct rd rv = {vp, vp + vlen}, rt = {tp, tp + tlen};
    if (n == 0)
        return err_set(e, ERR_CORRUPT, "dense chunk: zero samples");
    /* values first: they use t[] as scratch */
    int r;
    if ((r = decode_values(&rv, vp, n, t, v, e)) < 0 || (r = check_end(&rv, e)) < 0 ||
        (r = decode_times(&rt, tp, n, t, e)) < 0)
        return r;
    return check_end(&rt, e);
}
