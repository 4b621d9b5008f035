/* tsdb/block_chunk.c — block chunks as stored: CRC32C, a codec byte, and the dense encoding
 * (chunk_dense.c), zstd-compressed when that is smaller. Per-thread zstd contexts and buffers.
 *
 *   chunk := crc:u32be codec:u8 payload       crc = crc32c(codec byte and payload)
 *   codec 0: payload is the dense encoding as is (short chunks, where zstd's frame and block
 *            headers would cost more than they save)
 *   codec 1: payload is one zstd frame of the dense encoding in the magicless format, without
 *            checksum (the CRC covers it), content size or dictionary id: 4-9 bytes saved per
 *            chunk; the decoder bounds the output by chunk_dense_bound(n) from the descriptor.
 *   codec 2/3 (format 2): the value part of the split dense encoding, raw / zstd as above; the
 *            timestamps are in a timestamp record the chunk's index descriptor names
 *   codec 4/5 (format 2): a timestamp record: the timestamp part of the split encoding, raw /
 *            zstd; one record serves every series of a block scraped at the same instants
 *   Format 3: a split chunk's index descriptor may name a reference: another split chunk's
 *            values record of the same timestamps. Its own values record then holds d[] with
 *            v[i] = d[i] when d[i] is a NaN or ref[i] is not finite, else ref[i] + d[i]
 *            (a histogram's bucket as the difference to a lower or higher bucket).
 * The sample count n is not stored here: the chunk descriptor in the index carries it. */
#include "tsdb/block.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ZSTD_c_format / ZSTD_d_format are "experimental" parameters set through the stable
 * ZSTD_CCtx_setParameter(); their values have not changed since zstd 1.4 (Debian ships 1.5). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "tsdb/chunk_dense.h"

enum { CODEC_RAW, CODEC_ZSTD, CODEC_VALUES, CODEC_VALUES_ZSTD, CODEC_TIMES, CODEC_TIMES_ZSTD };
#define CHUNK_HDR 5
/* Per-thread buffers above this are released after use: one huge chunk should not pin memory
 * in every query worker. */
#define TLS_BUF_KEEP (1u << 20)

struct chunk_tls {
    ZSTD_CCtx *cctx;
    int level;
    ZSTD_DCtx *dctx;
    struct buf dense; /* encode: dense bytes; decode: decompressed bytes */
    struct buf times; /* decode of a split chunk: the decompressed timestamp record */
    struct buf rel;   /* relative values: the residuals (encode) or reference values (decode) */
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
    buf_free(&c->times);
    buf_free(&c->rel);
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
    if (c->times.cap > TLS_BUF_KEEP)
        buf_free(&c->times);
    if (c->rel.cap > TLS_BUF_KEEP)
        buf_free(&c->rel);
}

/* Whether v[i] comes from the residual d alone (see the format 3 note at the top). */
static inline int rel_literal(double d, double r)
{
    return isnan(d) || !isfinite(r);
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

/* Appends one stored record of the dense bytes src: zstd (codec + 1) when that is smaller. */
static int store(struct chunk_tls *c, struct buf *out, const uint8_t *src, size_t dlen,
                 unsigned codec, int zstd_level, struct err *e)
{
    size_t cap = ZSTD_compressBound(dlen);
    if (buf_reserve(out, CHUNK_HDR + (cap > dlen ? cap : dlen)) < 0)
        return err_set(e, -ENOMEM, "chunk encode: out of memory");
    uint8_t *hdr = out->p + out->len;
    /* zstd's frame and block headers cost ~5 bytes: below ~24 bytes it cannot win. */
    size_t zlen = dlen >= 24 && zstd_level ? zstd_pack(c, hdr + CHUNK_HDR, cap, src, dlen,
                                                       zstd_level)
                                           : 0;
    if (zlen && zlen < dlen) {
        hdr[4] = (uint8_t) (codec + 1);
    } else {
        hdr[4] = (uint8_t) codec;
        memcpy(hdr + CHUNK_HDR, src, dlen);
        zlen = dlen;
    }
    be32_put(hdr, crc32c(0, hdr + 4, 1 + zlen));
    out->len += CHUNK_HDR + zlen;
    return 0;
}

static int encode_start(uint32_t n, int zstd_level, struct chunk_tls **ret, struct err *e)
{
    if (n == 0 || n > BLOCK_CHUNK_MAX_SAMPLES)
        return err_set(e, ERR_LIMIT, "chunk of %u samples (1..%u allowed)", n,
                       BLOCK_CHUNK_MAX_SAMPLES);
    if (zstd_level < 0 || zstd_level > 19)
        return err_set(e, ERR_INTERNAL, "zstd level %d outside 0..19", zstd_level);
    if (!(*ret = tls_get()))
        return err_set(e, -ENOMEM, "chunk encode: no per-thread context");
    return 0;
}

int block_chunk_encode(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                       int zstd_level, struct err *e)
{
    struct chunk_tls *c;
    int r = encode_start(n, zstd_level, &c, e);
    if (r < 0)
        return r;
    buf_reset(&c->dense);
    r = chunk_dense_encode(&c->dense, t, v, n, e);
    if (r == 0)
        r = store(c, out, c->dense.p, c->dense.len, CODEC_RAW, zstd_level, e);
    tls_trim(c);
    return r;
}

int block_chunk_compress(struct buf *out, const uint8_t *data, size_t len, int zstd_level,
                         struct err *e)
{
    struct chunk_tls *c;
    if (len < CHUNK_HDR + 24 || data[4] != CODEC_RAW)
        return 0;
    int r = encode_start(1, zstd_level, &c, e);
    if (r < 0)
        return r;
    size_t start = out->len;
    r = store(c, out, data + CHUNK_HDR, len - CHUNK_HDR, CODEC_RAW, zstd_level, e);
    if (r == 0 && out->p[start + 4] == CODEC_RAW) {
        out->len = start; /* zstd did not win */
        return 0;
    }
    return r < 0 ? r : 1;
}

/* Appends the values record of v[0..n) to vals. */
static int store_values(struct chunk_tls *c, struct buf *vals, const double *v, uint32_t n,
                        int zstd_level, struct err *e)
{
    buf_reset(&c->dense);
    int r = chunk_dense_encode_values(&c->dense, v, n, e);
    if (r == 0)
        r = store(c, vals, c->dense.p, c->dense.len, CODEC_VALUES, zstd_level, e);
    return r;
}

int block_chunk_encode_split(struct buf *vals, struct buf *times, const int64_t *t,
                             const double *v, uint32_t n, int zstd_level, struct err *e)
{
    struct chunk_tls *c;
    int r = encode_start(n, zstd_level, &c, e);
    if (r < 0)
        return r;
    r = store_values(c, vals, v, n, zstd_level, e);
    if (r == 0) {
        buf_reset(&c->dense);
        r = chunk_dense_encode_times(&c->dense, t, n, e);
    }
    if (r == 0)
        r = store(c, times, c->dense.p, c->dense.len, CODEC_TIMES, zstd_level, e);
    tls_trim(c);
    return r;
}

int block_chunk_encode_rel(struct buf *vals, const double *v, const double *ref, uint32_t n,
                           int zstd_level, struct err *e)
{
    struct chunk_tls *c;
    int r = encode_start(n, zstd_level, &c, e);
    if (r < 0)
        return r;
    buf_reset(&c->rel);
    if (buf_reserve(&c->rel, (size_t) n * sizeof(double)) < 0)
        return err_set(e, -ENOMEM, "chunk encode: out of memory");
    double *d = (double *) (void *) c->rel.p;
    for (uint32_t i = 0; i < n; i++) {
        if (rel_literal(v[i], ref[i])) {
            d[i] = v[i];
            continue;
        }
        d[i] = v[i] - ref[i];
        if (isnan(d[i]) || num_bits(ref[i] + d[i]) != num_bits(v[i])) {
            tls_trim(c);
            return 1;
        }
    }
    r = store_values(c, vals, d, n, zstd_level, e);
    tls_trim(c);
    return r;
}

/* Checks a stored record's CRC and codec family (base: CODEC_RAW, CODEC_VALUES or CODEC_TIMES)
 * and yields its dense bytes, decompressed into b when zstd. */
static int unstore(struct chunk_tls *c, struct buf *b, const uint8_t *data, size_t len,
                   unsigned base, uint32_t n, const uint8_t **ret, size_t *ret_len,
                   struct err *e)
{
    static const char *const what[] = {"chunk", "", "chunk", "", "timestamp record"};
    if (len < CHUNK_HDR + 1)
        return err_set(e, ERR_CORRUPT, "%s: %zu bytes is too short", what[base], len);
    uint32_t want = be32_get(data), got = crc32c(0, data + 4, len - 4);
    if (want != got)
        return err_set(e, ERR_CORRUPT, "%s: checksum mismatch (stored %08x, computed %08x)",
                       what[base], want, got);
    const uint8_t *payload = data + CHUNK_HDR;
    size_t plen = len - CHUNK_HDR;
    if (data[4] == base) {
        *ret = payload;
        *ret_len = plen;
        return 0;
    }
    if (data[4] != base + 1)
        return err_set(e, ERR_CORRUPT, "%s: unexpected codec %u", what[base], data[4]);
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
    buf_reset(b);
    if (buf_reserve(b, bound) < 0)
        return err_set(e, -ENOMEM, "chunk decode: out of memory");
    size_t dlen = ZSTD_decompressDCtx(c->dctx, b->p, bound, payload, plen);
    if (ZSTD_isError(dlen))
        return err_set(e, ERR_CORRUPT, "%s: zstd: %s", what[base], ZSTD_getErrorName(dlen));
    *ret = b->p;
    *ret_len = dlen;
    return 0;
}

int block_chunk_decode(const uint8_t *data, size_t len, uint32_t n, int64_t *t, double *v,
                       struct err *e)
{
    return block_chunk_decode2(data, len, NULL, 0, n, t, v, e);
}

int block_chunk_decode2(const uint8_t *data, size_t len, const uint8_t *ts, size_t ts_len,
                        uint32_t n, int64_t *t, double *v, struct err *e)
{
    return block_chunk_decode3(data, len, ts, ts_len, NULL, 0, n, t, v, e);
}

int block_chunk_decode3(const uint8_t *data, size_t len, const uint8_t *ts, size_t ts_len,
                        const uint8_t *ref, size_t ref_len, uint32_t n, int64_t *t, double *v,
                        struct err *e)
{
    if (n == 0 || n > BLOCK_CHUNK_MAX_SAMPLES)
        return err_set(e, ERR_CORRUPT, "chunk: sample count %u outside 1..%u", n,
                       BLOCK_CHUNK_MAX_SAMPLES);
    struct chunk_tls *c = tls_get();
    if (!c)
        return err_set(e, -ENOMEM, "chunk decode: no per-thread context");
    const uint8_t *dp, *tp;
    size_t dlen, tlen;
    unsigned base = ts ? CODEC_VALUES : CODEC_RAW;
    int r = 0;
    if (ref && !ts)
        r = err_set(e, ERR_CORRUPT, "chunk: a reference without a timestamp record");
    if (r == 0 && ts)
        r = unstore(c, &c->times, ts, ts_len, CODEC_TIMES, n, &tp, &tlen, e);
    double *rv = NULL;
    if (r == 0 && ref) { /* the reference's values first, into c->rel; t is scratch */
        buf_reset(&c->rel);
        if (buf_reserve(&c->rel, (size_t) n * sizeof(double)) < 0)
            r = err_set(e, -ENOMEM, "chunk decode: out of memory");
        rv = (double *) (void *) c->rel.p;
        if (r == 0)
            r = unstore(c, &c->dense, ref, ref_len, CODEC_VALUES, n, &dp, &dlen, e);
        if (r == 0)
            r = chunk_dense_decode_split(dp, dlen, tp, tlen, n, t, rv, e);
        if (r < 0)
            (void) err_prefix(e, "reference: ");
    }
    if (r == 0)
        r = unstore(c, &c->dense, data, len, base, n, &dp, &dlen, e);
    if (r == 0)
        r = ts ? chunk_dense_decode_split(dp, dlen, tp, tlen, n, t, v, e)
               : chunk_dense_decode(dp, dlen, n, t, v, e);
    if (r == 0 && rv)
        for (uint32_t i = 0; i < n; i++)
            v[i] = rel_literal(v[i], rv[i]) ? v[i] : rv[i] + v[i];
    tls_trim(c);
    return r;
}
