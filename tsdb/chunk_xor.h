/* tsdb/chunk_xor.h — Gorilla-style chunk: delta-of-delta timestamps and XOR'd float values over a
 * bit stream (docs/format/chunks.md). The sample count lives outside the bytes (in the chunk
 * descriptor), so a reader of a snapshot decodes exactly the samples that were there. */
#ifndef EMBER_TSDB_CHUNK_XOR_H
#define EMBER_TSDB_CHUNK_XOR_H

#include <stddef.h>
#include <stdint.h>


/* The encoder's bytes; the last byte may be partly used. 32-bit sizes (a chunk is far under
 * 4 GiB) keep the head's per-series encoder 8 bytes smaller than a struct buf would. */
struct xor_buf {
    uint8_t *p;
    uint32_t len, cap;
};

struct xor_enc { /* fields ordered for size: the head keeps one per series */
    struct xor_buf b;
    uint32_t n;                /* samples encoded */
    uint8_t free_bits;         /* unused low bits in the last byte */
    uint8_t leading, trailing; /* of the previous XOR with meaning; leading 0xff = none yet */
    int64_t t, delta;
    uint64_t v_bits;
};

void xor_enc_init(struct xor_enc *x);
void xor_enc_done(struct xor_enc *x); /* frees the bytes */
/* Appends a sample; t must be > the previous t (the caller checks). -ENOMEM on failure, and the
 * encoder is then unchanged. */
int xor_enc_append(struct xor_enc *x, int64_t t, double v);
/* The bytes xor_enc_append(x, t, v) would add to x->b.len, exactly: with that much room it does
 * not touch the buffer's allocation (the head's buffers are its chunk pool's). */
uint32_t xor_enc_growth(const struct xor_enc *x, int64_t t, double v);

struct xor_dec {
    const uint8_t *p;
    size_t len;
    uint64_t pos; /* bit position */
    uint32_t n, i;
    int64_t t, delta;
    uint64_t v_bits;
    uint8_t leading, trailing;
};

void xor_dec_init(struct xor_dec *d, const uint8_t *p, size_t len, uint32_t n);
/* 1: sample in t and v; 0: no more; ERR_CORRUPT when the bits run out early. */
int xor_dec_next(struct xor_dec *d, int64_t *t, double *v);

#endif
