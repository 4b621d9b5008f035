/* tsdb/index.c — reader of a block's index file (byte format in index.h): validation at open,
 * matcher evaluation over the label index and postings lists, series entries and their chunk
 * descriptors. Nothing in the file is trusted: every offset, count and reference is checked
 * against the bounds of its section before use. */
#include "index.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "tsdb/base/base.h"

struct index_reader {
    const uint8_t *sec[INDEX_SECTIONS];
    uint64_t len[INDEX_SECTIONS];
    uint32_t n_syms;
    uint64_t n_series;
    unsigned off_width; /* series offsets: 4 or 8 bytes */
    uint32_t n_names, n_values;
    const uint8_t *names, *values; /* label index tables: 12- and 8-byte entries */
    int64_t base_t;
    unsigned version;
    uint8_t *owned; /* the decompressed image of a compressed index, or NULL */
};

static const char *const section_names[INDEX_SECTIONS] = {
    "symbols", "series", "series offsets", "postings", "label index",
};

static int corrupt(struct err *e, const char *what, ...) __attribute__((format(printf, 2, 3)));
static int corrupt(struct err *e, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_CORRUPT, "index: %s", msg);
}

/* Symbol i; i < n_syms (validated at open to be NUL-terminated inside the section). */
static const char *sym(const struct index_reader *r, uint32_t i)
{
    const uint8_t *s = r->sec[INDEX_SYMBOLS];
    return (const char *) s + be32_get(s + 4 + 4 * (size_t) i);
}

static uint64_t series_off(const struct index_reader *r, uint64_t id)
{
    const uint8_t *p = r->sec[INDEX_SERIES_OFFSETS] + r->off_width * id;
    return r->off_width == 4 ? be32_get(p) : be64_get(p);
}

static int check_symbols(struct index_reader *r, struct err *e)
{
    const uint8_t *s = r->sec[INDEX_SYMBOLS];
    uint64_t len = r->len[INDEX_SYMBOLS];
    if (len < 4)
        return corrupt(e, "symbol table of %" PRIu64 " bytes", len);
    uint64_t count = be32_get(s);
    if (count > (len - 4) / 5)
        return corrupt(e, "%" PRIu64 " symbols cannot fit in %" PRIu64 " bytes", count, len);
    uint64_t expect = 4 + 4 * count;
    const char *prev = NULL;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t off = be32_get(s + 4 + 4 * i);
        if (off != expect)
            return corrupt(e, "symbol %" PRIu64 " at offset %" PRIu64 ", expected %" PRIu64, i,
                           off, expect);
        const uint8_t *nul = memchr(s + off, 0, len - off);
        if (!nul)
            return corrupt(e, "symbol %" PRIu64 " is not terminated", i);
        const char *cur = (const char *) s + off;
        if (prev && strcmp(prev, cur) >= 0)
            return corrupt(e, "symbol %" PRIu64 " is out of order", i);
        prev = cur;
        expect = (uint64_t) (nul - s) + 1;
    }
    if (expect != len)
        return corrupt(e, "%" PRIu64 " stray bytes after the symbols", len - expect);
    r->n_syms = (uint32_t) count;
    return 0;
}

static int check_series_offsets(struct index_reader *r, struct err *e)
{
    uint64_t len = r->len[INDEX_SERIES_OFFSETS], n = r->n_series;
    if (n == 0) {
        if (len != 0)
            return corrupt(e, "series offsets without series");
        r->off_width = 4;
        return 0;
    }
    if (n > len / 4 || (len != 4 * n && len != 8 * n))
        return corrupt(e, "%" PRIu64 " bytes of offsets for %" PRIu64 " series", len, n);
    r->off_width = (unsigned) (len / n);
    uint64_t prev = 0, slen = r->len[INDEX_SERIES];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = series_off(r, i);
        if ((i == 0 && off != 0) || (i > 0 && off <= prev) || off >= slen)
            return corrupt(e, "series %" PRIu64 " at bad offset %" PRIu64, i, off);
        prev = off;
    }
    return 0;
}

static int check_labels(struct index_reader *r, struct err *e)
{
    const uint8_t *s = r->sec[INDEX_LABELS];
    uint64_t len = r->len[INDEX_LABELS];
    if (len < 4)
        return corrupt(e, "label index of %" PRIu64 " bytes", len);
    uint64_t n_names = be32_get(s);
    if (n_names > (len - 4) / 12 || (len - 4 - 12 * n_names) % 8)
        return corrupt(e, "label index: %" PRIu64 " names in %" PRIu64 " bytes", n_names, len);
    uint64_t n_values = (len - 4 - 12 * n_names) / 8, total = 0;
    r->names = s + 4;
    r->values = s + 4 + 12 * n_names;
    for (uint64_t i = 0; i < n_names; i++) {
        const uint8_t *ent = r->names + 12 * i;
        uint64_t name = be32_get(ent), first = be32_get(ent + 4), count = be32_get(ent + 8);
        if (name >= r->n_syms || (i > 0 && name <= be32_get(ent - 12)))
            return corrupt(e, "label index: name %" PRIu64 " has bad symbol %" PRIu64, i, name);
        if (first != total || count == 0 || count > n_values - total)
            return corrupt(e, "label index: name %s has bad value range", sym(r, (uint32_t) name));
        for (uint64_t j = first; j < first + count; j++) {
            const uint8_t *v = r->values + 8 * j;
            uint64_t value = be32_get(v), post = be32_get(v + 4);
            if (value >= r->n_syms || (j > first && value <= be32_get(v - 8)))
                return corrupt(e, "label index: name %s has a bad value symbol",
                               sym(r, (uint32_t) name));
            if (post >= r->len[INDEX_POSTINGS])
                return corrupt(e, "label index: postings offset %" PRIu64 " out of bounds", post);
        }
        total += count;
    }
    if (total != n_values)
        return corrupt(e, "label index: %" PRIu64 " values, %" PRIu64 " referenced", n_values,
                       total);
    r->n_names = (uint32_t) n_names;
    r->n_values = (uint32_t) n_values;
    return 0;
}

/* A compressed index (version 2, flag byte 1): checked, decompressed into *ret (heap), which
 * must then be a plain index image itself. */
static int inflate_index(const uint8_t *p, size_t n, uint8_t **ret, size_t *ret_n,
                         struct err *e)
{
    if (n < INDEX_ZHEADER_LEN)
        return corrupt(e, "%zu bytes is too short for a compressed index", n);
    uint64_t raw = be64_get(p + 8);
    if (crc32c(0, p + INDEX_ZHEADER_LEN, n - INDEX_ZHEADER_LEN) != be32_get(p + 16))
        return corrupt(e, "compressed image checksum mismatch");
    /* zstd expands at most ~1000x in practice; the bound keeps a forged size from asking for
     * an absurd allocation */
    if (raw < INDEX_HEADER_LEN + INDEX_TOC_LEN || raw > INDEX_ZMAX ||
        raw / 1024 > n - INDEX_ZHEADER_LEN)
        return corrupt(e, "compressed image of %" PRIu64 " bytes from %zu is implausible", raw,
                       n);
    uint8_t *out = malloc(raw);
    if (!out)
        return err_set(e, -ENOMEM, "index: out of memory");
    size_t got = ZSTD_decompress(out, raw, p + INDEX_ZHEADER_LEN, n - INDEX_ZHEADER_LEN);
    if (ZSTD_isError(got) || got != raw) {
        free(out);
        return corrupt(e, "compressed image does not decompress to its size");
    }
    if (out[4] != p[4] || out[5] != 0) {
        free(out);
        return corrupt(e, "compressed image holds another version or compression");
    }
    *ret = out;
    *ret_n = raw;
    return 0;
}

int index_reader_open(const uint8_t *p, size_t n, struct index_reader **ret, struct err *e)
{
    if (n < INDEX_HEADER_LEN)
        return corrupt(e, "%zu bytes is too short", n);
    if (memcmp(p, "\xba\xaa\xd7\x00", 4) == 0)
        return corrupt(e, "a Prometheus index, not an ember one (blocks are not interchangeable)");
    if (memcmp(p, INDEX_MAGIC, 4) != 0)
        return corrupt(e, "not an ember index (bad magic)");
    if (p[4] < INDEX_MIN_VERSION || p[4] > INDEX_VERSION)
        return corrupt(e, "unsupported version %u (this build reads %u to %u)", p[4],
                       INDEX_MIN_VERSION, INDEX_VERSION);
    if (p[4] >= 2 && p[5] == INDEX_FLAG_ZSTD) {
        uint8_t *img = NULL;
        size_t len = 0;
        int rc = inflate_index(p, n, &img, &len, e);
        if (rc < 0)
            return rc;
        if ((rc = index_reader_open(img, len, ret, e)) < 0) {
            free(img);
            return rc;
        }
        (*ret)->owned = img;
        return 0;
    }
    if (n < INDEX_HEADER_LEN + INDEX_TOC_LEN)
        return corrupt(e, "%zu bytes is too short", n);
    const uint8_t *toc = p + n - INDEX_TOC_LEN;
    if (crc32c(0, toc, INDEX_TOC_LEN - 4) != be32_get(toc + INDEX_TOC_LEN - 4))
        return corrupt(e, "table of contents checksum mismatch");
    struct index_reader *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(e, -ENOMEM, "index: out of memory");
    if (p[5] != 0 || p[6] != 0 || p[7] != 0) {
        free(r);
        return corrupt(e, "unknown flags in the header");
    }
    r->version = p[4];
    uint64_t at = INDEX_HEADER_LEN, toc_off = n - INDEX_TOC_LEN;
    int rc = 0;
    for (int k = 0; k < INDEX_SECTIONS && rc == 0; k++) {
        uint64_t off = be64_get(toc + 16 * k), len = be64_get(toc + 16 * k + 8);
        /* Sections follow each other without gaps: payload, then its 4-byte CRC. */
        if (off != at || len > toc_off - off || toc_off - off - len < 4) {
            rc = corrupt(e, "%s section (offset %" PRIu64 ", %" PRIu64 " bytes) out of bounds",
                         section_names[k], off, len);
            break;
        }
        if (crc32c(0, p + off, len) != be32_get(p + off + len))
            rc = corrupt(e, "%s section checksum mismatch", section_names[k]);
        r->sec[k] = p + off;
        r->len[k] = len;
        at = off + len + 4;
    }
    if (rc == 0 && at != toc_off)
        rc = corrupt(e, "%" PRIu64 " stray bytes before the table of contents", toc_off - at);
    r->n_series = be64_get(toc + 80);
    r->base_t = (int64_t) be64_get(toc + 88);
    if (rc == 0)
        rc = check_symbols(r, e);
    if (rc == 0)
        rc = check_series_offsets(r, e);
    if (rc == 0 && r->len[INDEX_LABELS] > UINT32_MAX)
        rc = corrupt(e, "label index over 4 GiB");
    if (rc == 0)
        rc = check_labels(r, e);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void index_reader_close(struct index_reader *r)
{
    if (r)
        free(r->owned);
    free(r);
}

uint64_t index_n_series(const struct index_reader *r)
{
    return r->n_series;
}

/* ---- label index lookups ---- */

/* Index of name in the names table, or -1. */
static int64_t find_name(const struct index_reader *r, const char *name)
{
    uint32_t lo = 0, hi = r->n_names;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sym(r, be32_get(r->names + 12 * (size_t) mid)), name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Index into the values table of value among values [first, first+count), or -1. */
static int64_t find_value(const struct index_reader *r, uint32_t first, uint32_t count,
                          const char *value)
{
    uint32_t lo = first, hi = first + count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sym(r, be32_get(r->values + 8 * (size_t) mid)), value);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Decodes the postings list of values-table entry j into the arena. */
static int read_postings(const struct index_reader *r, struct arena *a, uint32_t j,
                         struct postings *ret, struct err *e)
{
    uint32_t off = be32_get(r->values + 8 * (size_t) j + 4);
    const uint8_t *p = r->sec[INDEX_POSTINGS] + off, *end = r->sec[INDEX_POSTINGS] +
                                                             r->len[INDEX_POSTINGS];
    uint64_t cnt;
    int k = uvarint_get(p, end, &cnt);
    if (k < 0 || cnt > r->n_series || cnt > (uint64_t) (end - p - k))
        return corrupt(e, "postings list at offset %u: bad count", off);
    p += k;
    uint64_t *refs = arena_alloc(a, (cnt ? cnt : 1) * sizeof *refs);
    if (!refs)
        return err_set(e, ERR_LIMIT, "query memory limit reached while reading postings");
    uint64_t id = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t d;
        if ((k = uvarint_get(p, end, &d)) < 0 || (i > 0 && d == 0) ||
            __builtin_add_overflow(id, d, &id) || id >= r->n_series)
            return corrupt(e, "postings list at offset %u: bad entry %" PRIu64, off, i);
        p += k;
        refs[i] = id;
    }
    ret->refs = refs;
    ret->n = cnt;
    return 0;
}

/* Union of the postings of name's values v with matches(v) == want (head_read.c's
 * values_union), with direct lookups where the matcher names one value. */
static int values_union(const struct index_reader *r, struct arena *a, const struct matcher *m,
                        int want, struct postings *ret, struct err *e)
{
    ret->refs = NULL;
    ret->n = 0;
    int64_t ni = find_name(r, m->name);
    if (ni < 0)
        return 0;
    const uint8_t *ent = r->names + 12 * (size_t) ni;
    uint32_t first = be32_get(ent + 4), count = be32_get(ent + 8);
    int literal = m->type == MATCH_EQ || m->type == MATCH_NE ||
                  ((m->type == MATCH_RE || m->type == MATCH_NRE) && re_is_literal(m->re));
    int positive = m->type == MATCH_EQ || m->type == MATCH_RE;
    if (literal && positive == want) {
        /* Exactly the values equal to m->value match `want`. */
        int64_t j = find_value(r, first, count, m->value);
        return j < 0 ? 0 : read_postings(r, a, (uint32_t) j, ret, e);
    }
    struct postings *lists = arena_alloc(a, (size_t) count * sizeof *lists);
    if (!lists)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t k = 0;
    for (uint32_t j = first; j < first + count; j++) {
        if (!!matcher_matches(m, sym(r, be32_get(r->values + 8 * (size_t) j))) != want)
            continue;
        int rc = read_postings(r, a, j, &lists[k++], e);
        if (rc < 0)
            return rc;
    }
    if (postings_union(a, lists, k, ret) < 0)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    return 0;
}

int index_postings(const struct index_reader *r, struct arena *a, const struct matcher *ms,
                   size_t n_ms, struct postings *ret, struct err *e)
{
    struct postings cur = {NULL, 0}, p;
    int have = 0, rc;
    /* Matchers that cannot match an absent label select; the others only exclude. */
    for (size_t i = 0; i < n_ms; i++) {
        if (matcher_matches_empty(&ms[i]))
            continue;
        if ((rc = values_union(r, a, &ms[i], 1, &p, e)) < 0)
            return rc;
        if (have && postings_intersect(a, &cur, &p, &cur) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
        if (!have)
            cur = p;
        have = 1;
        if (cur.n == 0) {
            *ret = cur;
            return 0;
        }
    }
    if (!have) {
        cur.refs = arena_alloc(a, (r->n_series ? r->n_series : 1) * sizeof(uint64_t));
        if (!cur.refs)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
        for (uint64_t i = 0; i < r->n_series; i++)
            cur.refs[i] = i;
        cur.n = r->n_series;
    }
    for (size_t i = 0; i < n_ms && cur.n; i++) {
        if (!matcher_matches_empty(&ms[i]))
            continue;
        if ((rc = values_union(r, a, &ms[i], 0, &p, e)) < 0)
            return rc;
        if (postings_subtract(a, &cur, &p, &cur) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    }
    *ret = cur;
    return 0;
}

/* ---- series entries ---- */

/* The previous chunk's mean step: a later chunk's mint and span are coded as differences from
 * what it predicts (one step after the previous maxt; n-1 steps long), modulo 2^64. */
static uint64_t chunk_step(const struct index_chunk *c)
{
    return c->n > 1 ? ((uint64_t) c->maxt - (uint64_t) c->mint) / (c->n - 1) : 0;
}

int index_put_chunk(struct buf *b, int64_t base_t, const struct index_chunk *prev,
                    const struct index_chunk *c)
{
    uint64_t file = c->file - (prev ? prev->file : 0);
    int same = prev && prev->file == c->file;
    uint64_t span = (uint64_t) c->maxt - (uint64_t) c->mint;
    int rc = buf_put_uvarint(b, file);
    if (rc == 0)
        rc = same ? buf_put_varint(b, (int64_t) (c->off - (prev->off + prev->len)))
                  : buf_put_uvarint(b, c->off);
    if (rc == 0)
        rc = buf_put_uvarint(b, c->len);
    if (rc == 0)
        rc = buf_put_uvarint(b, c->n);
    if (!prev) {
        if (rc == 0)
            rc = buf_put_varint(b, (int64_t) ((uint64_t) c->mint - (uint64_t) base_t));
        if (rc == 0)
            rc = buf_put_uvarint(b, span);
    } else {
        uint64_t step = chunk_step(prev);
        if (rc == 0)
            rc = buf_put_varint(b, (int64_t) ((uint64_t) c->mint - (uint64_t) prev->maxt - step));
        if (rc == 0)
            rc = buf_put_varint(b, (int64_t) (span - step * (c->n - 1)));
    }
    if (rc == 0)
        rc = buf_put_uvarint(b, c->ts_off);
    if (rc == 0 && c->ts_off)
        rc = buf_put_uvarint(b, c->ts_len);
    if (rc == 0 && c->ts_off)
        rc = buf_put_uvarint(b, c->ref_off);
    if (rc == 0 && c->ts_off && c->ref_off)
        rc = buf_put_uvarint(b, c->ref_len);
    return rc;
}

/* Reads one descriptor; prev is the previous one of the series or NULL. */
static int get_chunk(const uint8_t **pp, const uint8_t *end, int64_t base_t, unsigned version,
                     const struct index_chunk *prev, struct index_chunk *c)
{
    /* file off len n mint span ts ts_len ref ref_len; ts_len on only when ts != 0, ref and
     * ref_len (version 3) only after a ts_len, ref_len only when ref != 0 */
    uint64_t f[10] = {0};
    const uint8_t *p = *pp;
    int nf = version >= 2 ? 7 : 6;
    for (int i = 0; i < nf; i++) {
        int k = uvarint_get(p, end, &f[i]);
        if (k < 0)
            return -1;
        p += k;
        if (i == 6 && f[6] != 0)
            nf = version >= 3 ? 9 : 8;
        if (i == 8 && f[8] != 0)
            nf = 10;
    }
    if (f[6] > UINT64_MAX / 2 || f[7] > UINT32_MAX || (f[6] && f[7] < 6) ||
        f[8] > UINT64_MAX / 2 || f[9] > UINT32_MAX || (f[8] && f[9] < 6))
        return -1;
    uint64_t file = f[0], off = f[1];
    if (prev && __builtin_add_overflow(file, prev->file, &file))
        return -1;
    if (prev && f[0] == 0) {
        uint64_t end_prev;
        if (__builtin_add_overflow(prev->off, prev->len, &end_prev))
            return -1;
        if (version >= 3) { /* zz: the record may lie before the previous chunk's */
            int64_t d = (int64_t) ((f[1] >> 1) ^ (0 - (f[1] & 1)));
            if (d < 0 ? (uint64_t) -(d + 1) + 1 > end_prev : end_prev > UINT64_MAX - (uint64_t) d)
                return -1;
            off = end_prev + (uint64_t) d;
        } else if (__builtin_add_overflow(off, end_prev, &off)) {
            return -1;
        }
    }
    if (file > UINT32_MAX || f[2] < 6 || f[2] > UINT32_MAX || f[3] == 0 ||
        f[3] > BLOCK_CHUNK_MAX_SAMPLES || off > UINT64_MAX - f[2])
        return -1;
    int64_t mint, maxt;
    uint64_t d4 = (f[4] >> 1) ^ (0 - (f[4] & 1)), span = f[5];
    if (prev) {
        uint64_t step = chunk_step(prev);
        mint = (int64_t) ((uint64_t) prev->maxt + step + d4);
        span = step * (f[3] - 1) + ((f[5] >> 1) ^ (0 - (f[5] & 1)));
        if (mint <= prev->maxt)
            return -1;
    } else if (__builtin_add_overflow(base_t, (int64_t) d4, &mint)) {
        return -1;
    }
    /* maxt >= mint as signed values holds exactly when span did not wrap. */
    maxt = (int64_t) ((uint64_t) mint + span);
    if (maxt < mint)
        return -1;
    c->file = (uint32_t) file;
    c->off = off;
    c->len = (uint32_t) f[2];
    c->n = (uint32_t) f[3];
    c->mint = mint;
    c->maxt = maxt;
    c->ts_off = f[6];
    c->ts_len = (uint32_t) f[7];
    c->ref_off = f[8];
    c->ref_len = (uint32_t) f[9];
    *pp = p;
    return 0;
}

int index_series(const struct index_reader *r, struct arena *a, uint64_t id, int64_t mint,
                 int64_t maxt, struct labels *ret_ls, struct index_chunk **ret_chunks,
                 uint32_t *ret_n, struct err *e)
{
    if (id >= r->n_series)
        return corrupt(e, "series %" PRIu64 " of %" PRIu64 " referenced", id, r->n_series);
    const uint8_t *base = r->sec[INDEX_SERIES];
    const uint8_t *p = base + series_off(r, id);
    const uint8_t *end =
        base + (id + 1 < r->n_series ? series_off(r, id + 1) : r->len[INDEX_SERIES]);
    uint64_t nl, nc, x;
    int k = uvarint_get(p, end, &nl);
    if (k < 0 || nl > (uint64_t) (end - p) / 2)
        return corrupt(e, "series %" PRIu64 ": bad label count", id);
    p += k;
    const uint8_t *lp = p;
    for (uint64_t i = 0; i < 2 * nl; i++) {
        if ((k = uvarint_get(p, end, &x)) < 0)
            return corrupt(e, "series %" PRIu64 ": truncated labels", id);
        p += k;
    }
    if ((k = uvarint_get(p, end, &nc)) < 0 || nc > (uint64_t) (end - p) / 6)
        return corrupt(e, "series %" PRIu64 ": bad chunk count", id);
    p += k;
    struct index_chunk *out = NULL, prev, c;
    uint32_t n = 0;
    for (uint64_t i = 0; i < nc; i++) {
        if (get_chunk(&p, end, r->base_t, r->version, i ? &prev : NULL, &c) < 0)
            return corrupt(e, "series %" PRIu64 ": bad chunk descriptor %" PRIu64, id, i);
        prev = c;
        if (c.maxt < mint || c.mint > maxt)
            continue;
        if (!out && !(out = arena_alloc(a, (size_t) (nc - i) * sizeof *out)))
            return err_set(e, ERR_LIMIT, "query memory limit reached while reading series");
        out[n++] = c;
    }
    if (p != end)
        return corrupt(e, "series %" PRIu64 ": %zu stray bytes", id, (size_t) (end - p));
    if (n == 0) {
        *ret_n = 0;
        *ret_chunks = NULL;
        return 0;
    }
    struct label *ls = arena_alloc(a, (nl ? nl : 1) * sizeof *ls);
    if (!ls)
        return err_set(e, ERR_LIMIT, "query memory limit reached while reading series");
    uint64_t prev_name = 0;
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t name, value;
        lp += uvarint_get(lp, end, &name);
        lp += uvarint_get(lp, end, &value);
        if (name >= r->n_syms || value >= r->n_syms || (i > 0 && name <= prev_name))
            return corrupt(e, "series %" PRIu64 ": bad label symbol", id);
        prev_name = name;
        ls[i].name = arena_strdup(a, sym(r, (uint32_t) name));
        ls[i].value = arena_strdup(a, sym(r, (uint32_t) value));
        if (!ls[i].name || !ls[i].value)
            return err_set(e, ERR_LIMIT, "query memory limit reached while reading series");
    }
    ret_ls->v = ls;
    ret_ls->n = (uint32_t) nl;
    *ret_chunks = out;
    *ret_n = n;
    return 0;
}

/* ---- label listings ---- */

int index_label_names(const struct index_reader *r, struct arena *a, const char ***ret,
                      size_t *ret_n, struct err *e)
{
    const char **out = arena_alloc(a, (r->n_names ? r->n_names : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing label names");
    for (uint32_t i = 0; i < r->n_names; i++)
        if (!(out[i] = arena_strdup(a, sym(r, be32_get(r->names + 12 * (size_t) i)))))
            return err_set(e, ERR_LIMIT, "query memory limit reached listing label names");
    *ret = out;
    *ret_n = r->n_names;
    return 0;
}

int index_label_values(const struct index_reader *r, struct arena *a, const char *name,
                       const char ***ret, size_t *ret_n, struct err *e)
{
    int64_t ni = find_name(r, name);
    uint32_t first = 0, count = 0;
    if (ni >= 0) {
        first = be32_get(r->names + 12 * (size_t) ni + 4);
        count = be32_get(r->names + 12 * (size_t) ni + 8);
    }
    const char **out = arena_alloc(a, (count ? count : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached listing label values");
    for (uint32_t j = 0; j < count; j++)
        if (!(out[j] = arena_strdup(a, sym(r, be32_get(r->values + 8 * (size_t) (first + j))))))
            return err_set(e, ERR_LIMIT, "query memory limit reached listing label values");
    *ret = out;
    *ret_n = count;
    return 0;
}
