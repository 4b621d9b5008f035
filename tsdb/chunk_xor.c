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

/* One more zero byte at the end. The buffer starts at 32 bytes and grows by a quarter, not by
 * doubling: a head holds one open chunk per series, and doubling would leave a quarter of them
 * unused on average. ~7 reallocs for a 120-sample chunk are noise next to encoding it. */
static int put_byte(struct xor_enc *x)
{
    struct xor_buf *b = &x->b;
    if (b->len == b->cap) {
        if (b->cap > UINT32_MAX / 2)
            return -ENOMEM;
        uint32_t cap = b->cap ? b->cap + b->cap / 4 + 16 : 32;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->len++] = 0;
    return 0;
}

static int put_bits(struct xor_enc *x, uint64_t v, int nbits)
{
    while (nbits > 0) {
        if (x->free_bits == 0) {
            if (put_byte(x) < 0)
                return -ENOMEM;
            x->free_bits = 8;
        }
        int take = nbits < x->free_bits ? nbits : x->free_bits;
        uint8_t chunk = (uint8_t) ((v >> (nbits - take)) & ((1u << take) - 1));
        x->b.p[x->b.len - 1] |= (uint8_t) (chunk << (x->free_bits - take));
        x->free_bits = (uint8_t) (x->free_bits - take);
        nbits -= take;
    }
    return 0;
}

static int put_uvarint_bits(struct xor_enc *x, uint64_t v)
{
    while (v >= 0x80) {
        if (put_bits(x, (v & 0x7f) | 0x80, 8) < 0)
            return -ENOMEM;
        v >>= 7;
    }
    return put_bits(x, v, 8);
}

static int put_value(struct xor_enc *x, uint64_t bits)
{
    uint64_t xr = bits ^ x->v_bits;
    if (xr == 0)
        return put_bits(x, 0, 1);
    int leading = __builtin_clzll(xr), trailing = __builtin_ctzll(xr);
    if (leading > 31)
        leading = 31; /* 5 bits */
    if (x->leading != 0xff && leading >= x->leading && trailing >= x->trailing) {
        int sig = 64 - x->leading - x->trailing;
        if (put_bits(x, 2, 2) < 0)
            return -ENOMEM;
        return put_bits(x, xr >> x->trailing, sig);
    }
    int sig = 64 - leading - trailing;
    if (put_bits(x, 3, 2) < 0 || put_bits(x, (uint64_t) leading, 5) < 0 ||
        put_bits(x, (uint64_t) (sig & 63), 6) < 0 || put_bits(x, xr >> trailing, sig) < 0)
        return -ENOMEM;
    x->leading = (uint8_t) leading;
    x->trailing = (uint8_t) trailing;
    return 0;
}

int xor_enc_append(struct xor_enc *x, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    struct xor_enc saved = *x; /* shallow: on failure restore counters; bytes past len ignored */
    int r;
    if (x->n == 0) {
        uint64_t zz = ((uint64_t) t << 1) ^ (uint64_t) (t >> 63);
        r = put_uvarint_bits(x, zz);
        if (r == 0)
            r = put_bits(x, bits, 64);
    } else if (x->n == 1) {
        int64_t delta = t - x->t;
        r = put_uvarint_bits(x, (uint64_t) delta);
        if (r == 0)
            r = put_value(x, bits);
        x->delta = delta;
    } else {
        int64_t delta = t - x->t, dod = delta - x->delta;
        if (dod == 0)
            r = put_bits(x, 0, 1);
        else if (dod >= -8191 && dod <= 8192)
            r = put_bits(x, 2, 2) < 0 ? -ENOMEM : put_bits(x, (uint64_t) dod & 0x3fff, 14);
        else if (dod >= -65535 && dod <= 65536)
            r = put_bits(x, 6, 3) < 0 ? -ENOMEM : put_bits(x, (uint64_t) dod & 0x1ffff, 17);
        else if (dod >= -524287 && dod <= 524288)
            r = put_bits(x, 14, 4) < 0 ? -ENOMEM : put_bits(x, (uint64_t) dod & 0xfffff, 20);
        else
            r = put_bits(x, 15, 4) < 0 ? -ENOMEM : put_bits(x, (uint64_t) dod, 64);
        if (r == 0)
            r = put_value(x, bits);
        x->delta = delta;
    }
    if (r < 0) {
        saved.b = x->b; /* keep the (possibly reallocated) buffer, truncated to the old length */
        saved.b.len = saved.b.len <= x->b.len ? saved.b.len : x->b.len;
        if (saved.b.len)
            saved.b.p[saved.b.len - 1] &= (uint8_t) (0xff << saved.free_bits);
        *x = saved;
        return r;
    }
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

static int get_bits(struct xor_dec *d, int nbits, uint64_t *ret)
{
    if (d->pos + (uint64_t) nbits > (uint64_t) d->len * 8)
        return -1;
    uint64_t v = 0;
    while (nbits > 0) {
        uint64_t byte = d->pos >> 3;
        int off = (int) (d->pos & 7), avail = 8 - off;
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
