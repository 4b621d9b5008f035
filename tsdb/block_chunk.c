/* tsdb/block_chunk.c — block chunks as stored: CRC32C, a codec byte, and the dense encoding
 * (chunk_dense.c), zstd-compressed when that is smaller. Per-thread zstd contexts and buffers.
 *
 *   chunk := crc:u32be codec:u8 payload       crc = crc32c(codec byte and payload)
 *   codec 0: payload is the dense encoding as is (short chunks, where zstd's frame and block
 *            headers would cost more than they save)
 *   codec 1: payload is one zstd frame of the dense encoding in the magicless format, without
 *            checksum (the CRC covers it), content size or dictionary id: 4-9 bytes saved per
 *            chunk; the decoder bounds the output by chunk_dense_bound(n) from the descriptor.
 * The sample count n is not stored here: the chunk descriptor in the index carries it. */
#include "tsdb/block.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ZSTD_c_format / ZSTD_d_format are "experimental" parameters set through the stable
 * ZSTD_CCtx_setParameter(); their values have not changed since zstd 1.4 (Debian ships 1.5). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "tsdb/chunk_dense.h"

enum { CODEC_RAW, CODEC_ZSTD };
#define CHUNK_HDR 5
/* Per-thread buffers above this are released after use: one huge chunk should not pin memory
 * in every query worker. */
#define TLS_BUF_KEEP (1u << 20)

struct chunk_tls {
    ZSTD_CCtx *cctx;
    int level;
    ZSTD_DCtx *dctx;
    struct buf dense; /* encode: dense bytes; decode: decompressed bytes */
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_key_ok;
static _Thread_local struct chunk_tls *tls;

/* Runs when a thread that used chunks exits (the main thread's context is reclaimed by the
 * process exit and stays reachable through tls until then). */
static void tls_destroy(void *p)
{
    struct chunk_tls *c = p;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    buf_free(&c->dense);
    free(c);
    tls = NULL;
}

static void tls_key_init(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

static struct chunk_tls *tls_get(void)
{
    if (tls)
        return tls;
    (void) pthread_once(&tls_once, tls_key_init);
    if (!tls_key_ok)
        return NULL;
    struct chunk_tls *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_setspecific(tls_key, c) != 0) {
        free(c);
        return NULL;
    }
    tls = c;
    return c;
}

static void tls_trim(struct chunk_tls *c)
{
    if (c->dense.cap > TLS_BUF_KEEP)
        buf_free(&c->dense);
}

/* Compresses src into dst (cap bytes) as a magicless zstd frame; 0 when zstd fails or does not
 * fit (the caller stores the raw encoding then). */
static size_t zstd_pack(struct chunk_tls *c, uint8_t *dst, size_t cap, const uint8_t *src,
                        size_t len, int level)
{
    if (!c->cctx) {
        c->cctx = ZSTD_createCCtx();
        if (!c->cctx)
            return 0;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_format, ZSTD_f_zstd1_magicless)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_dictIDFlag, 0))) {
            ZSTD_freeCCtx(c->cctx);
            c->cctx = NULL;
            return 0;
        }
        c->level = 0;
    }
    if (c->level != level) {
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level)))
            return 0;
        c->level = level;
    }
    size_t got = ZSTD_compress2(c->cctx, dst, cap, src, len);
    return ZSTD_isError(got) ? 0 : got;
}

int block_chunk_encode(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                       int zstd_level, struct err *e)
{
    if (n == 0 || n > BLOCK_CHUNK_MAX_SAMPLES)
        return err_set(e, ERR_LIMIT, "chunk of %u samples (1..%u allowed)", n,
                       BLOCK_CHUNK_MAX_SAMPLES);
    if (zstd_level < 1 || zstd_level > 19)
        return err_set(e, ERR_INTERNAL, "zstd level %d outside 1..19", zstd_level);
    struct chunk_tls *c = tls_get();
    if (!c)
        return err_set(e, -ENOMEM, "chunk encode: no per-thread context");
    buf_reset(&c->dense);
    int r = chunk_dense_encode(&c->dense, t, v, n, e);
    if (r < 0)
        return r;
    size_t dlen = c->dense.len, cap = ZSTD_compressBound(dlen);
    if (buf_reserve(out, CHUNK_HDR + (cap > dlen ? cap : dlen)) < 0)
        return err_set(e, -ENOMEM, "chunk encode: out of memory");
    uint8_t *hdr = out->p + out->len;
    /* zstd's frame and block headers cost ~5 bytes: below ~24 bytes it cannot win. */
    size_t zlen = dlen >= 24 ? zstd_pack(c, hdr + CHUNK_HDR, cap, c->dense.p, dlen, zstd_level) : 0;
    if (zlen && zlen < dlen) {
        hdr[4] = CODEC_ZSTD;
    } else {
        hdr[4] = CODEC_RAW;
        memcpy(hdr + CHUNK_HDR, c->dense.p, dlen);
        zlen = dlen;
    }
    be32_put(hdr, crc32c(0, hdr + 4, 1 + zlen));
    out->len += CHUNK_HDR + zlen;
    tls_trim(c);
    return 0;
}

int block_chunk_decode(const uint8_t *data, size_t len, uint32_t n, int64_t *t, double *v,
                       struct err *e)
{
    if (n == 0 || n > BLOCK_CHUNK_MAX_SAMPLES)
        return err_set(e, ERR_CORRUPT, "chunk: sample count %u outside 1..%u", n,
                       BLOCK_CHUNK_MAX_SAMPLES);
    if (len < CHUNK_HDR + 1)
        return err_set(e, ERR_CORRUPT, "chunk: %zu bytes is too short", len);
    uint32_t want = be32_get(data), got = crc32c(0, data + 4, len - 4);
    if (want != got)
        return err_set(e, ERR_CORRUPT, "chunk: checksum mismatch (stored %08x, computed %08x)",
                       want, got);
    const uint8_t *payload = data + CHUNK_HDR;
    size_t plen = len - CHUNK_HDR;
    if (data[4] == CODEC_RAW)
        return chunk_dense_decode(payload, plen, n, t, v, e);
    if (data[4] != CODEC_ZSTD)
        return err_set(e, ERR_CORRUPT, "chunk: unknown codec %u", data[4]);
    struct chunk_tls *c = tls_get();
    if (!c)
        return err_set(e, -ENOMEM, "chunk decode: no per-thread context");
    if (!c->dctx) {
        c->dctx = ZSTD_createDCtx();
        if (!c->dctx)
            return err_set(e, -ENOMEM, "chunk decode: no zstd context");
        if (ZSTD_isError(ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_format, ZSTD_f_zstd1_magicless))) {
            ZSTD_freeDCtx(c->dctx);
            c->dctx = NULL;
            return err_set(e, ERR_INTERNAL, "chunk decode: zstd lacks the magicless format");
        }
    }
    size_t bound = chunk_dense_bound(n);
    buf_reset(&c->dense);
    if (buf_reserve(&c->dense, bound) < 0)
        return err_set(e, -ENOMEM, "chunk decode: out of memory");
    size_t dlen = ZSTD_decompressDCtx(c->dctx, c->dense.p, bound, payload, plen);
    int r;
    if (ZSTD_isError(dlen))
        r = err_set(e, ERR_CORRUPT, "chunk: zstd: %s", ZSTD_getErrorName(dlen));
    else
        r = chunk_dense_decode(c->dense.p, dlen, n, t, v, e);
    tls_trim(c);
    return r;
}
