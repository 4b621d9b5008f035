/* tsdb/chunk_xor.c — XOR chunk encoder/decoder.
 *
 * Layout (bits, most significant first):
 *   sample 0: t as zigzag varint (bytes), value as 64 raw bits
 *   sample 1: t delta as uvarint (bytes written bitwise), value XOR-encoded
 *   sample n: delta-of-delta in buckets '0' | '10'+14 | '110'+17 | '1110'+20 | '1111'+64 bits,
 *             value XOR-encoded: '0' same value | '10' + meaningful bits inside the previous
 *             window | '11' + 5 bits leading zeros + 6 bits length (0 = 64) + the bits.
 * Same scheme as Prometheus' chunkenc XOR, so its sizes are comparable. */
#include "chunk_xor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/base/buf.h"
#include "tsdb/base/err.h"

void xor_enc_init(struct xor_enc *x)
{
    memset(x, 0, sizeof *x);
    x->leading = 0xff;
}

void xor_enc_done(struct xor_enc *x)
{
    free(x->b.p);
    x->b = (struct xor_buf){NULL, 0, 0};
}

/* Room for `need` more bytes. The buffer starts at 32 bytes and grows by a quarter, not by
 * doubling: a head holds one open chunk per series, and doubling would leave a quarter of them
 * unused on average. (The head sizes its buffers itself, xor_enc_growth(), and never gets here
 * with too little room.) */
static int reserve(struct xor_buf *b, uint32_t need)
{
    if (b->cap - b->len >= need)
        return 0;
    uint64_t cap = b->cap ? b->cap : 32;
    while (cap - b->len < need)
        cap += cap / 4 + 16;
    if (cap > UINT32_MAX)
        return -ENOMEM;
    uint8_t *p = realloc(b->p, (size_t) cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = (uint32_t) cap;
    return 0;
}

/* The bit writer of one append. Bits gather in a 64-bit accumulator and leave as whole 8-byte
 * big-endian stores, so a field costs a shift and an or, not a loop over bytes with a bounds
 * check each (the old writer's, kept in tests/unit/tsdb/test_chunk_xor.c as the reference the
 * bytes are checked against). The room was reserved before, so the writer checks nothing. */
struct bitw {
    uint8_t *p;   /* where the accumulator's oldest bit goes: the partly used last byte or after */
    uint64_t acc; /* pending bits, newest lowest; bits above the n lowest are left-overs */
    unsigned n;   /* pending bits, < 64 */
};

static void bitw_init(struct bitw *w, const struct xor_enc *x)
{
    if (x->free_bits) { /* resume in the partly used last byte; its unused bits are 0 */
        w->p = x->b.p + x->b.len - 1;
        w->acc = (uint64_t) (*w->p >> x->free_bits);
        w->n = 8u - x->free_bits;
    } else {
        w->p = x->b.p + x->b.len;
        w->acc = 0;
        w->n = 0;
    }
}

/* The low nb bits of v (1 <= nb <= 64), most significant first. */
static inline void bitw_put(struct bitw *w, uint64_t v, unsigned nb)
{
    v &= ~0ull >> (64 - nb);
    unsigned room = 64 - w->n;
    if (nb < room) {
        w->acc = w->acc << nb | v;
        w->n += nb;
        return;
    }
    unsigned rest = nb - room; /* bits of v left after filling the word: 0..63 */
    be64_put(w->p, w->n ? w->acc << room | v >> rest : v); /* n == 0 means nb == 64 */
    w->p += 8;
    w->acc = v;
    w->n = rest;
}

/* Writes the pending bits (the last byte padded with zeros) and records where x ends. */
static void bitw_finish(struct bitw *w, struct xor_enc *x)
{
    unsigned bytes = (w->n + 7) / 8;
    uint64_t word = w->n ? w->acc << (64 - w->n) : 0;
    for (unsigned i = 0; i < bytes; i++)
        w->p[i] = (uint8_t) (word >> (56 - 8 * i));
    x->b.len = (uint32_t) (w->p + bytes - x->b.p);
    x->free_bits = (uint8_t) (8 * bytes - w->n);
}

static unsigned uvarint_len(uint64_t v)
{
    return 1 + (63u - (unsigned) __builtin_clzll(v | 1)) / 7;
}

/* A uvarint's bytes, each written as 8 bits (sample 0's timestamp, sample 1's delta). */
static void put_uvarint(struct bitw *w, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        bitw_put(w, (v & 0x7f) | 0x80, 8);
    bitw_put(w, v, 8);
}

/* One sample as fields: how its bits are made, decided before any is written, so the room
 * needed is known exactly (xor_enc_growth()) and a failure leaves the encoder as it was. */
struct sample_bits {
    uint64_t ts;          /* sample >= 2: delta-of-delta with its bucket's prefix */
    unsigned ts_bits;     /* ... of which the low ts_bits are written; 68: '1111' + 64 bits */
    uint64_t v_head;      /* value control bits (and window, for a new window) */
    unsigned v_head_bits; /* 1, 2 or 13 */
    unsigned v_sig;       /* meaningful XOR bits that follow, 0 when the value repeats */
    uint8_t leading, trailing; /* the window after this sample */
    uint64_t total;       /* all bits */
};

static void plan_value(const struct xor_enc *x, uint64_t bits, struct sample_bits *sb)
{
    uint64_t xr = bits ^ x->v_bits;
    sb->leading = x->leading;
    sb->trailing = x->trailing;
    sb->v_sig = 0;
    if (xr == 0) {
        sb->v_head = 0;
        sb->v_head_bits = 1;
        return;
    }
    unsigned leading = (unsigned) __builtin_clzll(xr), trailing = (unsigned) __builtin_ctzll(xr);
    if (leading > 31)
        leading = 31; /* 5 bits */
    if (x->leading != 0xff && leading >= x->leading && trailing >= x->trailing) {
        sb->v_head = 2;
        sb->v_head_bits = 2;
        sb->v_sig = 64u - x->leading - x->trailing;
        return;
    }
    sb->v_sig = 64 - leading - trailing;
    sb->v_head = 3u << 11 | leading << 6 | (sb->v_sig & 63); /* '11', 5 + 6 bits */
    sb->v_head_bits = 13;
    sb->leading = (uint8_t) leading;
    sb->trailing = (uint8_t) trailing;
}

static void plan(const struct xor_enc *x, int64_t t, uint64_t bits, struct sample_bits *sb)
{
    if (x->n == 0) {
        uint64_t zz = ((uint64_t) t << 1) ^ (uint64_t) (t >> 63);
        sb->total = 8 * uvarint_len(zz) + 64;
        return;
    }
    plan_value(x, bits, sb);
    sb->total = sb->v_head_bits + sb->v_sig;
    if (x->n == 1) {
        sb->total += 8 * uvarint_len((uint64_t) (t - x->t));
        return;
    }
    int64_t dod = (t - x->t) - x->delta;
    uint64_t u = (uint64_t) dod;
    if (dod == 0)
        sb->ts = 0, sb->ts_bits = 1;
    else if (dod >= -8191 && dod <= 8192)
        sb->ts = 2ull << 14 | (u & 0x3fff), sb->ts_bits = 16;
    else if (dod >= -65535 && dod <= 65536)
        sb->ts = 6ull << 17 | (u & 0x1ffff), sb->ts_bits = 20;
    else if (dod >= -524287 && dod <= 524288)
        sb->ts = 14ull << 20 | (u & 0xfffff), sb->ts_bits = 24;
    else
        sb->ts = u, sb->ts_bits = 68;
    sb->total += sb->ts_bits;
}

/* Bytes that `more` bits add to x. */
static uint32_t growth_of(const struct xor_enc *x, uint64_t more)
{
    uint64_t used = (uint64_t) x->b.len * 8 - x->free_bits;
    return (uint32_t) ((used + more + 7) / 8 - x->b.len);
}

uint32_t xor_enc_growth(const struct xor_enc *x, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    struct sample_bits sb;
    plan(x, t, bits, &sb);
    return growth_of(x, sb.total);
}

int xor_enc_append(struct xor_enc *x, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    struct sample_bits sb;
    plan(x, t, bits, &sb);
    if (reserve(&x->b, growth_of(x, sb.total)) < 0)
        return -ENOMEM;
    struct bitw w;
    bitw_init(&w, x);
    if (x->n == 0) {
        put_uvarint(&w, ((uint64_t) t << 1) ^ (uint64_t) (t >> 63));
        bitw_put(&w, bits, 64);
    } else {
        if (x->n == 1) {
            x->delta = t - x->t;
            put_uvarint(&w, (uint64_t) x->delta);
        } else {
            x->delta = t - x->t;
            if (sb.ts_bits == 68) {
                bitw_put(&w, 15, 4);
                bitw_put(&w, sb.ts, 64);
            } else {
                bitw_put(&w, sb.ts, sb.ts_bits);
            }
        }
        bitw_put(&w, sb.v_head, sb.v_head_bits);
        if (sb.v_sig)
            bitw_put(&w, (bits ^ x->v_bits) >> sb.trailing, sb.v_sig);
        x->leading = sb.leading;
        x->trailing = sb.trailing;
    }
    bitw_finish(&w, x);
    x->t = t;
    x->v_bits = bits;
    x->n++;
    return 0;
}

void xor_dec_init(struct xor_dec *d, const uint8_t *p, size_t len, uint32_t n)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->len = len;
    d->n = n;
    d->leading = 0xff;
}

/* The next nbits (1..64) bits. Away from the end, one 8-byte big-endian load (and a ninth byte
 * when the bits straddle it); in the last 9 bytes, byte by byte. */
static int get_bits(struct xor_dec *d, int nbits, uint64_t *ret)
{
    if (d->pos + (uint64_t) nbits > (uint64_t) d->len * 8)
        return -1;
    uint64_t byte = d->pos >> 3;
    unsigned off = (unsigned) (d->pos & 7);
    if (byte + 9 <= d->len) {
        uint64_t w = be64_get(d->p + byte) << off;
        if (off)
            w |= (uint64_t) d->p[byte + 8] >> (8 - off);
        *ret = w >> (64 - nbits);
        d->pos += (uint64_t) nbits;
        return 0;
    }
    uint64_t v = 0;
    while (nbits > 0) {
        byte = d->pos >> 3;
        int avail = 8 - (int) (d->pos & 7);
        int take = nbits < avail ? nbits : avail;
        uint8_t bits = (uint8_t) ((d->p[byte] >> (avail - take)) & ((1u << take) - 1));
        v = (v << take) | bits;
        d->pos += (uint64_t) take;
        nbits -= take;
    }
    *ret = v;
    return 0;
}

static int get_uvarint_bits(struct xor_dec *d, uint64_t *ret)
{
    uint64_t v = 0, byte;
    for (int i = 0; i < 10; i++) {
        if (get_bits(d, 8, &byte) < 0)
            return -1;
        v |= (byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -1;
}

static int get_value(struct xor_dec *d)
{
    uint64_t bit, ctl;
    if (get_bits(d, 1, &bit) < 0)
        return -1;
    if (!bit)
        return 0;
    if (get_bits(d, 1, &ctl) < 0)
        return -1;
    uint64_t lead, sig, xr;
    if (ctl) {
        if (get_bits(d, 5, &lead) < 0 || get_bits(d, 6, &sig) < 0)
            return -1;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return -1;
        d->leading = (uint8_t) lead;
        d->trailing = (uint8_t) (64 - lead - sig);
    } else if (d->leading == 0xff) {
        return -1; /* reuse of a window that was never set */
    }
    sig = 64u - d->leading - d->trailing;
    if (get_bits(d, (int) sig, &xr) < 0)
        return -1;
    d->v_bits ^= xr << d->trailing;
    return 0;
}

int xor_dec_next(struct xor_dec *d, int64_t *t, double *v)
{
    if (d->i >= d->n)
        return 0;
    uint64_t u;
    if (d->i == 0) {
        if (get_uvarint_bits(d, &u) < 0 || get_bits(d, 64, &d->v_bits) < 0)
            return ERR_CORRUPT;
        d->t = (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
    } else if (d->i == 1) {
        if (get_uvarint_bits(d, &u) < 0)
            return ERR_CORRUPT;
        d->delta = (int64_t) u;
        d->t += d->delta;
        if (get_value(d) < 0)
            return ERR_CORRUPT;
    } else {
        int ones = 0;
        uint64_t bit;
        while (ones < 4) {
            if (get_bits(d, 1, &bit) < 0)
                return ERR_CORRUPT;
            if (!bit)
                break;
            ones++;
        }
        static const int widths[] = {0, 14, 17, 20, 64};
        int64_t dod = 0;
        if (ones > 0) {
            int w = widths[ones];
            if (get_bits(d, w, &u) < 0)
                return ERR_CORRUPT;
            if (w < 64 && (u & (1ull << (w - 1)))) /* sign-extend, as encoded with two's complement */
                u |= ~0ull << w;
            dod = (int64_t) u;
            /* The positive edge (8192, 65536, 524288) encodes as the negative bit pattern. */
            if (w < 64 && dod == -(1ll << (w - 1)))
                dod = 1ll << (w - 1);
        }
        d->delta = (int64_t) ((uint64_t) d->delta + (uint64_t) dod);
        d->t = (int64_t) ((uint64_t) d->t + (uint64_t) d->delta);
        if (get_value(d) < 0)
            return ERR_CORRUPT;
    }
    d->i++;
    *t = d->t;
    memcpy(v, &d->v_bits, sizeof *v);
    return 1;
}
