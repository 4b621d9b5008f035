/* tsdb/wal_record.c — encoders and decoders of WAL record bodies (series, samples, tombstones)
 * and the frame each encoder wraps its body in. Reading frames back from files is wal.c's job.
 *
 * Byte format (the reference for docs/format/wal.md)
 * --------------------------------------------------
 * uvarint: unsigned LEB128, 7 bits per byte, least significant group first, high bit set on every
 *          byte but the last, at most 10 bytes (the 10th may only be 0 or 1).
 * varint:  a signed 64-bit v as the uvarint of its zigzag form (v << 1) ^ (v >> 63).
 * be32/be64: fixed width, big endian.
 *
 * Frame (one per record, never spanning two files):
 *     be32 len | be32 crc32c(payload) | payload[len]           1 <= len <= 256 MiB
 *     payload[0]  record type: 1 series, 2 samples, 3 tombstones; bit 0x80 set when payload[1..]
 *                 is exactly one zstd frame declaring its content size (at most 64 MiB), which
 *                 decompresses to the body; otherwise payload[1..] is the body itself.
 * Encoders compress with zstd (fast level -1) only when the body is over 256 bytes and at most
 * 64 MiB and the result is smaller; a body whose frame would exceed 256 MiB is refused (ERR_LIMIT).
 * The level is the encoder's choice alone: readers decode any zstd frame.
 *
 * Every body is `uvarint count` and then count entries, and must end exactly after the last
 * entry (trailing bytes are corruption).
 *
 * Series (type 1), count entries of:
 *     uvarint ref | uvarint nlabels (>= 1) |
 *     nlabels x { uvarint name_len (>= 1) | name | uvarint value_len | value }
 *   Names strictly ascending in byte order (sorted, unique: labels.h), no NUL byte in a name or a
 *   value (strings become NUL-terminated). No charset rule beyond that: the head does not enforce
 *   one, and a WAL that refused on replay what the head accepted would silently drop series.
 *
 * Samples (type 2):
 *     uvarint count | if count > 0: uvarint base_ref | varint base_t |
 *     count x { varint ref - base_ref | varint t - base_t | be64 IEEE 754 bits of v }
 *   base_ref and base_t are those of the first sample (its deltas are 0). Differences are taken
 *   modulo 2^64 and read as two's complement, so any ref and any t round-trip exactly; values,
 *   including NaN payloads such as the stale marker, are kept bit for bit.
 *
 * Tombstones (type 3), count entries of:
 *     uvarint ref | varint mint | varint maxt        (milliseconds, inclusive, mint <= maxt)
 *
 * Decoders bound every count by the bytes left (minimum entry sizes: series 5, label 3, sample
 * 10, tombstone 3), so a forged count cannot cause an allocation larger than a few times the
 * body. Encoders refuse (-EINVAL) what the decoders would reject, so what is written reads back. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "wal.h"

#define FRAME_HDR 8
#define COMPRESS_MIN 256                 /* smaller bodies rarely shrink enough to pay */
#define BODY_MAX (64u << 20)             /* decompressed body limit; wal.c uses the same */
#define FRAME_MAX (256u << 20)           /* payload limit; wal.c uses the same */
/* Every scrape commits a samples record, so this runs ~40 times a second at 200 targets: level -1
 * took ~25% less CPU than level 1 on 500-sample records for ~4% more bytes (measured with zstd
 * 1.5.4 on this kind of machine), the cheaper side of that trade for a log truncated every 2 h. */
#define ZSTD_LEVEL (-1)

#define MIN_SERIES 5    /* ref, nlabels, one label of name_len, 1 name byte, value_len */
#define MIN_LABEL 3     /* name_len, 1 name byte, value_len */
#define MIN_SAMPLE 10   /* ref delta, t delta, 8 value bytes */
#define MIN_TOMBSTONE 3 /* ref, mint, maxt */

/* One compression context per thread, reused across records (zstd's advice). The thread-local
 * pointer keeps it reachable for the leak checker; the key's destructor frees it when a thread
 * exits. The main thread's context lives until the process ends. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;
static int cctx_key_ok;
static _Thread_local ZSTD_CCtx *cctx_tls;

static void cctx_destroy(void *p)
{
    ZSTD_freeCCtx(p);
}

static void cctx_key_init(void)
{
    cctx_key_ok = pthread_key_create(&cctx_key, cctx_destroy) == 0;
}

/* NULL when no context can be had; the record is then stored uncompressed. */
static ZSTD_CCtx *cctx_get(void)
{
    if (cctx_tls)
        return cctx_tls;
    (void) pthread_once(&cctx_once, cctx_key_init);
    if (!cctx_key_ok)
        return NULL;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!c)
        return NULL;
    if (pthread_setspecific(cctx_key, c) != 0) {
        ZSTD_freeCCtx(c);
        return NULL;
    }
    cctx_tls = c;
    return c;
}

/* Starts a frame at b->len: header placeholder and type byte; the body follows. */
static int frame_begin(struct buf *b, uint8_t type)
{
    int r = buf_reserve(b, FRAME_HDR + 1);
    if (r < 0)
        return r;
    memset(b->p + b->len, 0, FRAME_HDR);
    b->p[b->len + FRAME_HDR] = type;
    b->len += FRAME_HDR + 1;
    return 0;
}

/* The body is b->p[start + 9 .. b->len): compresses it when that pays, fills in the header. */
static int frame_end(struct buf *b, size_t start)
{
    size_t body_at = start + FRAME_HDR + 1;
    size_t body_len = b->len - body_at;
    if (body_len > COMPRESS_MIN && body_len <= BODY_MAX) {
        ZSTD_CCtx *cc = cctx_get();
        size_t bound = ZSTD_compressBound(body_len);
        /* Compress into the room after the body, then move it down over the body. A failure
         * here only means the body is stored as is. */
        if (cc && buf_reserve(b, bound) == 0) {
            uint8_t *body = b->p + body_at, *dst = b->p + b->len;
            size_t c = ZSTD_compressCCtx(cc, dst, bound, body, body_len, ZSTD_LEVEL);
            if (!ZSTD_isError(c) && c < body_len) {
                memcpy(body, dst, c);
                b->len = body_at + c;
                b->p[start + FRAME_HDR] |= WAL_REC_COMPRESSED;
            }
        }
    }
    size_t plen = b->len - start - FRAME_HDR;
    if (plen > FRAME_MAX) {
        b->len = start;
        return ERR_LIMIT;
    }
    be32_put(b->p + start, (uint32_t) plen);
    be32_put(b->p + start + 4, crc32c(0, b->p + start + FRAME_HDR, plen));
    return 0;
}

/* The rules of the series format above, on C strings. */
static int labels_ok(const struct labels *ls)
{
    if (ls->n == 0 || !ls->v)
        return 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        const struct label *l = &ls->v[i];
        if (!l->name || !l->value || !l->name[0])
            return 0;
        if (i > 0 && strcmp(ls->v[i - 1].name, l->name) >= 0)
            return 0;
    }
    return 1;
}

static int put_str(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    int r = buf_put_uvarint(b, n);
    return r < 0 ? r : buf_append(b, s, n);
}

int wal_rec_series(struct buf *b, const struct wal_series *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!labels_ok(&s[i].labels))
            return -EINVAL;
    size_t start = b->len;
    int r = frame_begin(b, WAL_REC_SERIES);
    if (r == 0)
        r = buf_put_uvarint(b, n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = buf_put_uvarint(b, s[i].ref);
        if (r == 0)
            r = buf_put_uvarint(b, s[i].labels.n);
        for (uint32_t j = 0; r == 0 && j < s[i].labels.n; j++) {
            r = put_str(b, s[i].labels.v[j].name);
            if (r == 0)
                r = put_str(b, s[i].labels.v[j].value);
        }
    }
    if (r == 0)
        r = frame_end(b, start);
    if (r < 0)
        b->len = start;
    return r;
}

/* The varint of v (zigzag, then LEB128) at w, which has room for 10 bytes; returns the end. */
static uint8_t *put_varint_raw(uint8_t *w, int64_t v)
{
    uint64_t zz = ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
    while (zz >= 0x80) {
        *w++ = (uint8_t) (zz | 0x80);
        zz >>= 7;
    }
    *w++ = (uint8_t) zz;
    return w;
}

int wal_rec_samples(struct buf *b, const struct wal_sample *s, size_t n)
{
    size_t start = b->len;
    int r = frame_begin(b, WAL_REC_SAMPLES);
    if (r == 0)
        r = buf_put_uvarint(b, n);
    if (r == 0 && n > 0) {
        r = buf_put_uvarint(b, s[0].ref);
        if (r == 0)
            r = buf_put_varint(b, s[0].t);
    }
    /* Room for the worst case (10 + 10 + 8 bytes a sample) at once, then plain stores. */
    if (r == 0 && n > 0) {
        size_t room;
        if (__builtin_mul_overflow(n, (size_t) 28, &room))
            r = -ENOMEM;
        else
            r = buf_reserve(b, room);
    }
    /* Stored straight into the reserved room: a buf call per field cost ~5% of a scrape's CPU
     * (one samples record per scrape commit). */
    uint8_t *w = b->p + b->len;
    for (size_t i = 0; r == 0 && i < n; i++) {
        w = put_varint_raw(w, (int64_t) (s[i].ref - s[0].ref));
        w = put_varint_raw(w, (int64_t) ((uint64_t) s[i].t - (uint64_t) s[0].t));
        uint64_t bits;
        memcpy(&bits, &s[i].v, sizeof bits);
        be64_put(w, bits);
        w += 8;
    }
    if (r == 0)
        b->len = (size_t) (w - b->p);
    if (r == 0)
        r = frame_end(b, start);
    if (r < 0)
        b->len = start;
    return r;
}

int wal_rec_tombstones(struct buf *b, const struct wal_tombstone *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].mint > t[i].maxt)
            return -EINVAL;
    size_t start = b->len;
    int r = frame_begin(b, WAL_REC_TOMBSTONES);
    if (r == 0)
        r = buf_put_uvarint(b, n);
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = buf_put_uvarint(b, t[i].ref);
        if (r == 0)
            r = buf_put_varint(b, t[i].mint);
        if (r == 0)
            r = buf_put_varint(b, t[i].maxt);
    }
    if (r == 0)
        r = frame_end(b, start);
    if (r < 0)
        b->len = start;
    return r;
}

/* Decoding cursor over one body; every read checks the end and reports the offset. */
struct rd {
    const uint8_t *p, *start, *end;
    const char *what; /* record kind, for messages */
    struct err *e;
};

static int rd_fail(struct rd *r, const char *why)
{
    return err_set(r->e, ERR_CORRUPT, "wal %s record: offset %zu of %zu: %s", r->what,
                   (size_t) (r->p - r->start), (size_t) (r->end - r->start), why);
}

static size_t rd_left(const struct rd *r)
{
    return (size_t) (r->end - r->p);
}

static int rd_uvarint(struct rd *r, uint64_t *ret, const char *field)
{
    int k = uvarint_get(r->p, r->end, ret);
    if (k < 0) {
        char why[96];
        (void) snprintf(why, sizeof why, "%s: truncated or overlong varint", field);
        return rd_fail(r, why);
    }
    r->p += k;
    return 0;
}

static int rd_varint(struct rd *r, int64_t *ret, const char *field)
{
    uint64_t zz;
    int rc = rd_uvarint(r, &zz, field);
    if (rc == 0)
        *ret = (int64_t) (zz >> 1) ^ -(int64_t) (zz & 1);
    return rc;
}

/* count, bounded by the bytes left divided by the smallest possible entry. */
static int rd_count(struct rd *r, size_t min_entry, size_t *ret, const char *field)
{
    uint64_t c;
    int rc = rd_uvarint(r, &c, field);
    if (rc < 0)
        return rc;
    if (c > rd_left(r) / min_entry) {
        char why[128];
        (void) snprintf(why, sizeof why, "%s %llu exceeds what %zu bytes can hold", field,
                        (unsigned long long) c, rd_left(r));
        return rd_fail(r, why);
    }
    *ret = (size_t) c;
    return 0;
}

static int rd_begin(struct rd *r, const uint8_t *p, size_t n, const char *what, struct err *e)
{
    r->what = what;
    r->e = e;
    if (n == 0 || !p) {
        static const uint8_t none[1];
        r->p = r->start = r->end = none;
        return rd_fail(r, "empty body");
    }
    r->p = r->start = p;
    r->end = p + n;
    return 0;
}

static int rd_finish(struct rd *r)
{
    if (r->p != r->end) {
        char why[64];
        (void) snprintf(why, sizeof why, "%zu trailing bytes", rd_left(r));
        return rd_fail(r, why);
    }
    return 0;
}

static int arena_fail(struct arena *a, struct rd *r)
{
    if (arena_over_cap(a))
        return err_set(r->e, ERR_LIMIT, "wal %s record: arena limit reached", r->what);
    return err_set(r->e, -ENOMEM, "wal %s record: out of memory", r->what);
}

/* One length-prefixed label string as an arena C string. */
static int rd_str(struct rd *r, struct arena *a, int is_name, const char **ret)
{
    const char *field = is_name ? "label name length" : "label value length";
    uint64_t len;
    int rc = rd_uvarint(r, &len, field);
    if (rc < 0)
        return rc;
    if (len > rd_left(r))
        return rd_fail(r, is_name ? "label name runs past the end"
                                  : "label value runs past the end");
    if (is_name && len == 0)
        return rd_fail(r, "empty label name");
    if (memchr(r->p, 0, (size_t) len))
        return rd_fail(r, is_name ? "NUL byte in label name" : "NUL byte in label value");
    char *s = arena_strndup(a, (const char *) r->p, (size_t) len);
    if (!s)
        return arena_fail(a, r);
    r->p += len;
    *ret = s;
    return 0;
}

int wal_dec_series(const uint8_t *p, size_t n, struct arena *a, struct wal_series **ret,
                   size_t *ret_n, struct err *e)
{
    struct rd r;
    size_t count;
    int rc = rd_begin(&r, p, n, "series", e);
    if (rc == 0)
        rc = rd_count(&r, MIN_SERIES, &count, "series count");
    if (rc < 0)
        return rc;
    struct wal_series *v = NULL;
    if (count > 0 && !(v = arena_calloc(a, count, sizeof *v)))
        return arena_fail(a, &r);
    for (size_t i = 0; i < count; i++) {
        size_t nl;
        if ((rc = rd_uvarint(&r, &v[i].ref, "series ref")) < 0 ||
            (rc = rd_count(&r, MIN_LABEL, &nl, "label count")) < 0)
            return rc;
        if (nl == 0)
            return rd_fail(&r, "series without labels");
        if (nl > UINT32_MAX)
            return rd_fail(&r, "too many labels");
        struct label *l = arena_calloc(a, nl, sizeof *l);
        if (!l)
            return arena_fail(a, &r);
        for (size_t j = 0; j < nl; j++) {
            if ((rc = rd_str(&r, a, 1, &l[j].name)) < 0 ||
                (rc = rd_str(&r, a, 0, &l[j].value)) < 0)
                return rc;
            /* No NULs inside, so strcmp orders exactly as the bytes do. */
            if (j > 0 && strcmp(l[j - 1].name, l[j].name) >= 0)
                return rd_fail(&r, "label names not strictly ascending");
        }
        v[i].labels = (struct labels){l, (uint32_t) nl};
    }
    if ((rc = rd_finish(&r)) < 0)
        return rc;
    *ret = v;
    *ret_n = count;
    return 0;
}

int wal_dec_samples(const uint8_t *p, size_t n, struct arena *a, struct wal_sample **ret,
                    size_t *ret_n, struct err *e)
{
    struct rd r;
    size_t count;
    int rc = rd_begin(&r, p, n, "samples", e);
    if (rc == 0)
        rc = rd_count(&r, MIN_SAMPLE, &count, "sample count");
    if (rc < 0)
        return rc;
    struct wal_sample *v = NULL;
    if (count > 0) {
        uint64_t base_ref;
        int64_t base_t;
        if ((rc = rd_uvarint(&r, &base_ref, "base ref")) < 0 ||
            (rc = rd_varint(&r, &base_t, "base timestamp")) < 0)
            return rc;
        if (count > rd_left(&r) / MIN_SAMPLE)
            return rd_fail(&r, "sample count exceeds what the rest can hold");
        if (!(v = arena_calloc(a, count, sizeof *v)))
            return arena_fail(a, &r);
        for (size_t i = 0; i < count; i++) {
            int64_t dref, dt;
            if ((rc = rd_varint(&r, &dref, "ref delta")) < 0 ||
                (rc = rd_varint(&r, &dt, "timestamp delta")) < 0)
                return rc;
            if (rd_left(&r) < 8)
                return rd_fail(&r, "truncated sample value");
            uint64_t bits = be64_get(r.p);
            r.p += 8;
            v[i].ref = base_ref + (uint64_t) dref;
            v[i].t = (int64_t) ((uint64_t) base_t + (uint64_t) dt);
            memcpy(&v[i].v, &bits, sizeof bits);
        }
    }
    if ((rc = rd_finish(&r)) < 0)
        return rc;
    *ret = v;
    *ret_n = count;
    return 0;
}

int wal_dec_tombstones(const uint8_t *p, size_t n, struct arena *a, struct wal_tombstone **ret,
                       size_t *ret_n, struct err *e)
{
    struct rd r;
    size_t count;
    int rc = rd_begin(&r, p, n, "tombstones", e);
    if (rc == 0)
        rc = rd_count(&r, MIN_TOMBSTONE, &count, "tombstone count");
    if (rc < 0)
        return rc;
    struct wal_tombstone *v = NULL;
    if (count > 0 && !(v = arena_calloc(a, count, sizeof *v)))
        return arena_fail(a, &r);
    for (size_t i = 0; i < count; i++) {
        if ((rc = rd_uvarint(&r, &v[i].ref, "tombstone ref")) < 0 ||
            (rc = rd_varint(&r, &v[i].mint, "tombstone mint")) < 0 ||
            (rc = rd_varint(&r, &v[i].maxt, "tombstone maxt")) < 0)
            return rc;
        if (v[i].mint > v[i].maxt)
            return rd_fail(&r, "tombstone mint after maxt");
    }
    if ((rc = rd_finish(&r)) < 0)
        return rc;
    *ret = v;
    *ret_n = count;
    return 0;
}
