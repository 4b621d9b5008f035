/* tsdb/base/buf.h — growable byte buffer (heap-owned), varints, big-endian helpers, CRC32C.
 * Decoders take (p, end) and fail on overrun instead of reading past end. */
#ifndef EMBER_BASE_BUF_H
#define EMBER_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *p;
    size_t len, cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Ensures room for n more bytes; -ENOMEM on overflow or allocation failure. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_putc(struct buf *b, uint8_t c);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_put_uvarint(struct buf *b, uint64_t v);
int buf_put_varint(struct buf *b, int64_t v); /* zigzag */
int buf_put_be32(struct buf *b, uint32_t v);
int buf_put_be64(struct buf *b, uint64_t v);
void buf_reset(struct buf *b);   /* len = 0, keeps memory */
void buf_free(struct buf *b);    /* releases memory; b is reusable afterwards */
/* Hands the bytes to the caller (who frees them); b is empty afterwards. */
uint8_t *buf_take(struct buf *b, size_t *ret_len);

/* Decoders: return bytes consumed (> 0) or -1 on overrun/overlong. */
int uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *ret);
int varint_get(const uint8_t *p, const uint8_t *end, int64_t *ret);

static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}
static inline uint64_t be64_get(const uint8_t *p)
{
    return (uint64_t) be32_get(p) << 32 | be32_get(p + 4);
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}
static inline void be64_put(uint8_t *p, uint64_t v)
{
    be32_put(p, (uint32_t) (v >> 32));
    be32_put(p + 4, (uint32_t) v);
}

/* CRC32C (Castagnoli), as Prometheus' WAL uses; crc is the running value (start with 0). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
