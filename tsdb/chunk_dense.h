/* tsdb/chunk_dense.h — ember's dense encoding of one chunk's samples, the payload block chunks
 * compress with zstd (module-internal to tsdb/; the byte format is at the top of chunk_dense.c).
 * The sample count is not stored in the bytes: the chunk descriptor in the index holds it. */
#ifndef EMBER_TSDB_CHUNK_DENSE_H
#define EMBER_TSDB_CHUNK_DENSE_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"

/* Upper bound of the bytes chunk_dense_encode() appends for n samples; decoders size their
 * decompression buffer with it. */
size_t chunk_dense_bound(uint32_t n);

/* Appends the encoding of t[0..n), v[0..n) to out. n >= 1, t strictly ascending (else
 * ERR_INTERNAL: the caller broke the contract). Values come back bit-exact, NaN payloads (the
 * stale marker) and -0.0 included. -ENOMEM when out cannot grow. Thread-safe (no shared state). */
int chunk_dense_encode(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                       struct err *e);

/* Decodes exactly n samples (n >= 1) from p[0..len) into t[0..n) and v[0..n). ERR_CORRUPT unless
 * the bytes are exactly one well-formed encoding of n samples with strictly ascending timestamps;
 * never reads outside p[0..len). Thread-safe, allocates nothing. */
int chunk_dense_decode(const uint8_t *p, size_t len, uint32_t n, int64_t *t, double *v,
                       struct err *e);

/* The split form: the value part and the timestamp part of the same encoding as two byte
 * strings (a block stores one timestamp part for many series scraped together). Same contracts
 * as above; decode_split needs both parts, each consumed exactly. */
int chunk_dense_encode_values(struct buf *out, const double *v, uint32_t n, struct err *e);
int chunk_dense_encode_times(struct buf *out, const int64_t *t, uint32_t n, struct err *e);
int chunk_dense_decode_split(const uint8_t *vp, size_t vlen, const uint8_t *tp, size_t tlen,
                             uint32_t n, int64_t *t, double *v, struct err *e);

#endif
