/* tsdb/base/buf.c — growable buffer, varint codecs and table-driven CRC32C. */
#include "buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t n)
{
    size_t need;
    if (__builtin_add_overflow(b->len, n, &need))
        return -ENOMEM;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap))
            return -ENOMEM;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int r = buf_reserve(b, n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_putc(struct buf *b, uint8_t c)
{
    return buf_append(b, &c, 1);
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    int r = buf_reserve(b, (size_t) n + 1);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    (void) vsnprintf((char *) b->p + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
    return 0;
}

int buf_put_uvarint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t) v;
    return buf_append(b, tmp, n);
}

int buf_put_varint(struct buf *b, int64_t v)
{
    uint64_t zz = ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
    return buf_put_uvarint(b, zz);
}

int buf_put_be32(struct buf *b, uint32_t v)
{
    uint8_t tmp[4];
    be32_put(tmp, v);
    return buf_append(b, tmp, 4);
}

int buf_put_be64(struct buf *b, uint64_t v)
{
    uint8_t tmp[8];
    be64_put(tmp, v);
    return buf_append(b, tmp, 8);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

uint8_t *buf_take(struct buf *b, size_t *ret_len)
{
    uint8_t *p = b->p;
    *ret_len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

int uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p + i >= end)
            return -1;
        uint8_t c = p[i];
        if (i == 9 && c > 1)
            return -1; /* overflows 64 bits */
        v |= (uint64_t) (c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *ret = v;
            return i + 1;
        }
    }
    return -1;
}

int varint_get(const uint8_t *p, const uint8_t *end, int64_t *ret)
{
    uint64_t zz;
    int n = uvarint_get(p, end, &zz);
    if (n > 0)
        *ret = (int64_t) (zz >> 1) ^ -(int64_t) (zz & 1);
    return n;
}

static uint32_t crc_table[256];
static int crc_hw; /* the CPU has SSE4.2's crc32 instruction (CRC-32C) */

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* Castagnoli, reflected */
        crc_table[i] = c;
    }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* Eight bytes per instruction instead of one table step per byte: chunk and WAL checksums are
 * on every read path. Same polynomial and bit order as the table. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *s,
                                                                size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, sizeof w);
        c = __builtin_ia32_crc32di(c, w);
    }
    uint32_t c32 = (uint32_t) c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *s++);
    return c32;
}
#endif

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void) pthread_once(&once, crc_init);
    const uint8_t *s = p;
    crc = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (crc_hw)
        return ~crc32c_sse42(crc, s, n);
#endif
    while (n--)
        crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
