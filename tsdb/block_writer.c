/* tsdb/block_writer.c — writes a block: chunk files as series arrive, then the index and
 * meta.json, all under <parent>/<ulid>.tmp; fsync of every file and directory, then the rename
 * that makes the block visible, then an fsync of the parent.
 *
 * Chunk files (chunks/000001, 000002, ...): magic "EMBC" version:u8 (2) 0:u8[3], then stored
 * chunks (block_chunk.c) back to back; a file is closed before it would pass 512 MiB. Split
 * chunks (values only) name a timestamp record: the writer stores each distinct record once per
 * chunk file, before the first chunk that uses it, so every series scraped at the same
 * instants (one target's) shares it. Chunk records are stored once per chunk file too: a chunk
 * whose stored bytes equal an earlier one's (a histogram's _count and its +Inf bucket, constant
 * series) points at that record; the writer keeps their hashes and offsets and compares the
 * bytes themselves, read back, on a hash match. A chunk relative to another (format 3) names
 * that chunk's record by content, and the writer finds it the same way (or stores it again in a
 * new chunk file).
 * meta.json, Prometheus' field names where they mean the same thing:
 *     {"ulid": "...", "minTime": mint, "maxTime": maxt + 1 (exclusive, as Prometheus),
 *      "stats": {"numSamples": n, "numSeries": n, "numChunks": n},
 *      "compaction": {"level": n}, "version": BLOCK_FORMAT_VERSION}
 * The index (format in index.h) needs every symbol before the series that reference them, so
 * the writer keeps, per series, its label pairs (interned) and its encoded chunk descriptors,
 * and writes the index at finish: memory ~4 bytes per label occurrence and ~10 per chunk, plus
 * the distinct strings. Single-threaded: one writer belongs to one thread. */
#include "tsdb/block.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "tsdb/index.h"

#define CHUNK_FILE_MAGIC "EMBC"
#define CHUNK_FILE_HEADER 8
#define CHUNK_FILE_MAX (UINT64_C(512) << 20)
#define WRITE_BUF (1u << 20)

struct wsym {
    uint32_t id; /* rank in sorted order, set at finish */
    uint32_t len;
    int used;    /* by a series that has chunks */
    char s[];
};

struct wpair {
    struct wsym *name, *value;
    uint32_t count; /* series with this pair */
    uint32_t start; /* finish: first slot in the postings array, then fill position */
    uint32_t post_off;
};

/* Buffered output file with a running CRC32C for the current index section; with mem set,
 * everything stays in b (the index image, compressed as a whole at the end). */
struct fout {
    int fd;
    struct buf b;
    uint64_t off;
    uint32_t crc;
    int rc;
    int mem;
};

/* A timestamp record already in the current chunk file. */
struct wts {
    uint64_t off;
    uint32_t len;
    uint8_t b[];
};

/* A chunk record already in the current chunk file: its bytes are in the file (or the write
 * buffer), not here. */
struct wrec {
    uint64_t off;
    uint32_t len;
};

struct block_writer {
    char *tmp, *final; /* directories */
    char ulid[BLOCK_ULID_LEN + 1];
    int64_t mint, maxt;
    uint32_t level;
    uint64_t file_max;
    struct fout chunks;  /* current chunk file; fd -1 until the first chunk */
    uint32_t file;       /* index of the current chunk file */
    struct arena *mem;   /* symbols and pairs */
    struct hmap syms, pairs;
    struct hmap ts;      /* wts by content, for the current chunk file */
    struct hmap recs_by; /* wrec by content hash, for the current chunk file */
    struct buf back;     /* scratch: a record read back for comparison */
    struct wsym **sym_list;
    struct wpair **pair_list;
    size_t n_syms, cap_syms, n_pairs, cap_pairs;
    struct buf recs;     /* per series: nl, pair indices, desc bytes length, desc bytes */
    struct buf desc;     /* scratch for one series' descriptors */
    struct wpair **prev; /* the previous series' pairs, for the order check */
    uint32_t n_prev, cap_prev;
    int have_prev;
    uint64_t n_series, n_chunks, n_samples;
};

/* ---- small helpers ---- */

static int sys_err(struct err *e, const char *what, const char *path)
{
    int code = -errno;
    return err_set(e, code, "block writer: %s %s: %s", what, path, strerror(-code));
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    (void) close(fd);
    return rc;
}

static void fout_flush(struct fout *f)
{
    if (f->rc == 0 && f->b.len)
        f->rc = write_all(f->fd, f->b.p, f->b.len);
    f->b.len = 0;
}

static void fout_put(struct fout *f, const void *p, size_t n)
{
    f->crc = crc32c(f->crc, p, n);
    f->off += n;
    if (f->rc < 0)
        return;
    if (f->b.len + n > WRITE_BUF && !f->mem)
        fout_flush(f);
    if (n >= WRITE_BUF && !f->mem) {
        if (f->rc == 0)
            f->rc = write_all(f->fd, p, n);
        return;
    }
    if (f->rc == 0 && buf_append(&f->b, p, n) < 0)
        f->rc = -ENOMEM;
}

static void fout_uvarint(struct fout *f, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t) v;
    fout_put(f, tmp, n);
}

static void fout_be32(struct fout *f, uint32_t v)
{
    uint8_t tmp[4];
    be32_put(tmp, v);
    fout_put(f, tmp, 4);
}

static void fout_be64(struct fout *f, uint64_t v)
{
    uint8_t tmp[8];
    be64_put(tmp, v);
    fout_put(f, tmp, 8);
}

/* Flushes, fsyncs and closes; returns the first error of the file's life. */
static int fout_close(struct fout *f)
{
    if (f->fd < 0)
        return f->rc;
    fout_flush(f);
    if (f->rc == 0 && fsync(f->fd) < 0)
        f->rc = -errno;
    if (close(f->fd) < 0 && f->rc == 0)
        f->rc = -errno;
    f->fd = -1;
    buf_free(&f->b);
    return f->rc;
}

/* ---- ULIDs ---- */

static int make_ulid(char out[BLOCK_ULID_LEN + 1])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t rnd[10];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        got += (size_t) r;
    }
    uint64_t ms = (uint64_t) time_now_ms() & ((UINT64_C(1) << 48) - 1);
    /* 128 bits, big-endian: 48 of time, 80 of randomness; 26 base32 digits, the first 3 bits. */
    uint8_t v[16];
    for (int i = 0; i < 6; i++)
        v[i] = (uint8_t) (ms >> (40 - 8 * i));
    memcpy(v + 6, rnd, 10);
    for (int c = 0; c < BLOCK_ULID_LEN; c++) {
        int bit = c == 0 ? 0 : 3 + 5 * (c - 1), nbits = c == 0 ? 3 : 5, x = 0;
        for (int k = 0; k < nbits; k++, bit++)
            x = x << 1 | ((v[bit / 8] >> (7 - bit % 8)) & 1);
        out[c] = alphabet[x];
    }
    out[BLOCK_ULID_LEN] = 0;
    return 0;
}

/* ---- open, add ---- */

static int sym_eq(const void *item, const void *key)
{
    const struct wsym *s = item;
    const char *k = key;
    return strcmp(s->s, k) == 0;
}

struct pair_key {
    const struct wsym *name, *value;
};

static int pair_eq(const void *item, const void *key)
{
    const struct wpair *p = item;
    const struct pair_key *k = key;
    return p->name == k->name && p->value == k->value;
}

static uint64_t pair_hash(const struct wsym *name, const struct wsym *value)
{
    uint64_t n = (uint64_t) (uintptr_t) name, v = (uint64_t) (uintptr_t) value;
    return hash_mix(n * 0x9e3779b97f4a7c15u ^ v);
}

static struct wsym *intern(struct block_writer *w, const char *s)
{
    size_t len = strlen(s);
    uint64_t h = hash_bytes(s, len);
    struct wsym *sym = hmap_get(&w->syms, h, sym_eq, s);
    if (sym)
        return sym;
    if (len > UINT32_MAX || w->n_syms >= UINT32_MAX)
        return NULL;
    if (w->n_syms == w->cap_syms) {
        size_t cap = w->cap_syms ? 2 * w->cap_syms : 256;
        struct wsym **l = realloc(w->sym_list, cap * sizeof *l);
        if (!l)
            return NULL;
        w->sym_list = l;
        w->cap_syms = cap;
    }
    sym = arena_alloc(w->mem, sizeof *sym + len + 1);
    if (!sym)
        return NULL;
    sym->len = (uint32_t) len;
    sym->used = 0;
    memcpy(sym->s, s, len + 1);
    if (hmap_put(&w->syms, h, sym) < 0)
        return NULL;
    w->sym_list[w->n_syms++] = sym;
    return sym;
}

/* The pair's insertion index, or -1 on ENOMEM. */
static int64_t pair_of(struct block_writer *w, const char *name, const char *value)
{
    struct wsym *n = intern(w, name), *v = n ? intern(w, value) : NULL;
    if (!v)
        return -1;
    struct pair_key k = {n, v};
    uint64_t h = pair_hash(n, v);
    struct wpair *p = hmap_get(&w->pairs, h, pair_eq, &k);
    if (!p) {
        if (w->n_pairs == w->cap_pairs) {
            size_t cap = w->cap_pairs ? 2 * w->cap_pairs : 256;
            struct wpair **l = realloc(w->pair_list, cap * sizeof *l);
            if (!l)
                return -1;
            w->pair_list = l;
            w->cap_pairs = cap;
        }
        p = arena_alloc(w->mem, sizeof *p);
        if (!p)
            return -1;
        *p = (struct wpair){n, v, 0, (uint32_t) w->n_pairs, 0};
        if (hmap_put(&w->pairs, h, p) < 0)
            return -1;
        w->pair_list[w->n_pairs++] = p;
    }
    return p->start; /* insertion index until finish */
}

int block_writer_open(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                      struct block_writer **ret, struct err *e)
{
    if (mint > maxt || maxt == INT64_MAX || level == 0)
        return err_set(e, ERR_INTERNAL, "block writer: bad range [%" PRId64 ", %" PRId64
                       "] or level %u", mint, maxt, level);
    /* Every path below is <parent>/<ulid>.tmp/<at most 16 more>: check once. */
    if (strlen(parent) + BLOCK_ULID_LEN + 32 >= PATH_MAX)
        return err_set(e, -ENAMETOOLONG, "block writer: %s: path too long", parent);
    struct block_writer *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, -ENOMEM, "block writer: out of memory");
    w->chunks.fd = -1;
    w->mint = mint;
    w->maxt = maxt;
    w->level = level;
    w->file_max = CHUNK_FILE_MAX;
    int rc = make_ulid(w->ulid);
    if (rc < 0) {
        free(w);
        return err_set(e, rc, "block writer: getrandom: %s", strerror(-rc));
    }
    size_t plen = strlen(parent);
    w->tmp = malloc(plen + BLOCK_ULID_LEN + 16);
    w->final = malloc(plen + BLOCK_ULID_LEN + 16);
    w->mem = arena_new(0);
    if (!w->tmp || !w->final || !w->mem) {
        block_writer_abort(w);
        return err_set(e, -ENOMEM, "block writer: out of memory");
    }
    (void) snprintf(w->final, plen + BLOCK_ULID_LEN + 16, "%s/%s", parent, w->ulid);
    (void) snprintf(w->tmp, plen + BLOCK_ULID_LEN + 16, "%s/%s.tmp", parent, w->ulid);
    if (mkdir(w->tmp, 0777) < 0) {
        rc = sys_err(e, "mkdir", w->tmp);
        free(w->tmp);
        w->tmp = NULL; /* not ours to remove */
        block_writer_abort(w);
        return rc;
    }
    char path[PATH_MAX];
    (void) snprintf(path, sizeof path, "%s/chunks", w->tmp);
    if (mkdir(path, 0777) < 0) {
        rc = sys_err(e, "mkdir", path);
        block_writer_abort(w);
        return rc;
    }
    *ret = w;
    return 0;
}

void block_writer_set_chunk_file_size(struct block_writer *w, uint64_t max_bytes)
{
    w->file_max = max_bytes;
}

/* Opens the next chunk file, closing the current one. */
static int next_chunk_file(struct block_writer *w, struct err *e)
{
    if (w->chunks.fd >= 0) {
        int rc = fout_close(&w->chunks);
        if (rc < 0)
            return err_set(e, rc, "block writer: %s/chunks/%06u: %s", w->tmp, w->file + 1,
                           strerror(-rc));
        w->file++;
    }
    char path[PATH_MAX];
    (void) snprintf(path, sizeof path, "%s/chunks/%06u", w->tmp, w->file + 1);
    /* read and write: equal records are found by reading earlier ones back */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return sys_err(e, "create", path);
    w->chunks = (struct fout){fd, BUF_INIT, 0, 0, 0};
    uint8_t hdr[CHUNK_FILE_HEADER] = {'E', 'M', 'B', 'C', BLOCK_FORMAT_VERSION, 0, 0, 0};
    hmap_free(&w->ts); /* records are referenced within their file only */
    w->ts = (struct hmap){0};
    hmap_free(&w->recs_by);
    w->recs_by = (struct hmap){0};
    fout_put(&w->chunks, hdr, sizeof hdr);
    return 0;
}

static int check_chunks(const struct block_writer *w, const struct block_chunk *c, size_t n,
                        struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (c[i].n == 0 || c[i].n > BLOCK_CHUNK_MAX_SAMPLES || c[i].len < 6 || !c[i].data ||
            (c[i].ts && c[i].ts_len < 6) || (c[i].ref && (!c[i].ts || c[i].ref_len < 6)) ||
            c[i].mint > c[i].maxt || c[i].mint < w->mint || c[i].maxt > w->maxt ||
            (i > 0 && c[i].mint <= c[i - 1].maxt))
            return err_set(e, ERR_INTERNAL,
                           "block writer: chunk %zu [%" PRId64 ", %" PRId64 "] n=%u len=%u "
                           "is empty, out of order or outside the block [%" PRId64 ", %" PRId64
                           "]",
                           i, c[i].mint, c[i].maxt, c[i].n, c[i].len, w->mint, w->maxt);
    }
    return 0;
}

static int wts_eq(const void *item, const void *key)
{
    const struct wts *a = item, *b = key;
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* The offset of timestamp record p[0..len) in the current chunk file, written there now unless
 * an equal record already is. 0 when out of memory. */
static uint64_t put_ts(struct block_writer *w, const uint8_t *p, uint32_t len)
{
    struct wts *k = arena_alloc(w->mem, sizeof *k + len);
    if (!k)
        return 0;
    k->len = len;
    memcpy(k->b, p, len);
    uint64_t h = hash_bytes(p, len);
    struct wts *have = hmap_get(&w->ts, h, wts_eq, k);
    if (have)
        return have->off; /* k stays in the arena unused: freed with it */
    k->off = w->chunks.off;
    if (hmap_put(&w->ts, h, k) < 0)
        return 0;
    fout_put(&w->chunks, p, len);
    return k->off;
}

/* Whether the current chunk file holds p[0..len) at off (it is in the write buffer or, flushed,
 * read back). */
struct rec_key {
    struct block_writer *w;
    const uint8_t *p;
    uint32_t len;
};

static int wrec_eq(const void *item, const void *key)
{
    const struct wrec *r = item;
    const struct rec_key *k = key;
    struct fout *f = &k->w->chunks;
    /* after a write error the buffer no longer mirrors the file's end: compare nothing (the
     * block fails at finish anyway) */
    if (r->len != k->len || f->rc < 0)
        return 0;
    uint64_t buffered = f->off - f->b.len;
    if (r->off >= buffered)
        return r->off - buffered + k->len <= f->b.len &&
               memcmp(f->b.p + (r->off - buffered), k->p, k->len) == 0;
    fout_flush(f);
    struct buf *b = &k->w->back;
    buf_reset(b);
    if (f->rc < 0 || buf_reserve(b, k->len) < 0)
        return 0;
    for (size_t got = 0; got < k->len;) {
        ssize_t n = pread(f->fd, b->p + got, k->len - got, (off_t) (r->off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* cannot compare: store the record again */
        got += (size_t) n;
    }
    return memcmp(b->p, k->p, k->len) == 0;
}

/* The offset of chunk record p[0..len) in the current chunk file, written there now unless an
 * equal record already is. 0 when out of memory. */
static uint64_t put_rec(struct block_writer *w, const uint8_t *p, uint32_t len)
{
    uint64_t h = hash_bytes(p, len);
    struct rec_key k = {w, p, len};
    struct wrec *have = hmap_get(&w->recs_by, h, wrec_eq, &k);
    if (have)
        return have->off;
    struct wrec *r = arena_alloc(w->mem, sizeof *r);
    if (!r)
        return 0;
    *r = (struct wrec){w->chunks.off, len};
    if (hmap_put(&w->recs_by, h, r) < 0)
        return 0;
    fout_put(&w->chunks, p, len);
    return r->off;
}

int block_writer_add_series(struct block_writer *w, const struct labels *ls,
                            const struct block_chunk *chunks, size_t n, struct err *e)
{
    for (uint32_t i = 1; i < ls->n; i++)
        if (strcmp(ls->v[i - 1].name, ls->v[i].name) >= 0)
            return err_set(e, ERR_INTERNAL, "block writer: labels not sorted by name");
    if (w->have_prev) {
        struct labels prev;
        struct label tmp[64], *pv = w->n_prev <= 64 ? tmp : malloc(w->n_prev * sizeof *pv);
        if (!pv)
            return err_set(e, -ENOMEM, "block writer: out of memory");
        for (uint32_t i = 0; i < w->n_prev; i++)
            pv[i] = (struct label){w->prev[i]->name->s, w->prev[i]->value->s};
        prev = (struct labels){pv, w->n_prev};
        int c = labels_cmp(&prev, ls);
        if (pv != tmp)
            free(pv);
        if (c >= 0)
            return err_set(e, ERR_INTERNAL, "block writer: series not in ascending label order");
    }
    int rc = check_chunks(w, chunks, n, e);
    if (rc < 0)
        return rc;
    /* Intern first: the order check of the next series needs this one's labels even when it
     * has no chunks and is skipped. */
    if (ls->n > w->cap_prev) {
        struct wpair **p = realloc(w->prev, ls->n * sizeof *p);
        if (!p)
            return err_set(e, -ENOMEM, "block writer: out of memory");
        w->prev = p;
        w->cap_prev = ls->n;
    }
    size_t rec_start = w->recs.len;
    rc = buf_put_uvarint(&w->recs, ls->n);
    for (uint32_t i = 0; i < ls->n && rc == 0; i++) {
        int64_t p = pair_of(w, ls->v[i].name, ls->v[i].value);
        if (p < 0) {
            rc = -ENOMEM;
            break;
        }
        w->prev[i] = w->pair_list[p];
        rc = buf_put_uvarint(&w->recs, (uint64_t) p);
    }
    if (rc < 0) {
        w->recs.len = rec_start;
        w->have_prev = 0;
        return err_set(e, -ENOMEM, "block writer: out of memory");
    }
    w->n_prev = ls->n;
    w->have_prev = 1;
    if (n == 0) { /* a series without chunks is left out of the block */
        w->recs.len = rec_start;
        return 0;
    }
    if (w->n_series >= UINT32_MAX) {
        w->recs.len = rec_start;
        return err_set(e, ERR_LIMIT, "block writer: too many series");
    }
    buf_reset(&w->desc);
    rc = buf_put_uvarint(&w->desc, n);
    struct index_chunk prev = {0}, cur;
    uint64_t samples = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (w->chunks.fd < 0 ||
            (w->chunks.off > CHUNK_FILE_HEADER &&
             w->chunks.off + chunks[i].len + chunks[i].ts_len + chunks[i].ref_len >
                 w->file_max)) {
            if ((rc = next_chunk_file(w, e)) < 0) {
                w->recs.len = rec_start;
                return rc;
            }
        }
        uint64_t ts_off = 0, ref_off = 0, off;
        if ((chunks[i].ts && !(ts_off = put_ts(w, chunks[i].ts, chunks[i].ts_len))) ||
            (chunks[i].ref && !(ref_off = put_rec(w, chunks[i].ref, chunks[i].ref_len))) ||
            !(off = put_rec(w, chunks[i].data, chunks[i].len))) {
            w->recs.len = rec_start;
            return err_set(e, -ENOMEM, "block writer: out of memory");
        }
        cur = (struct index_chunk){w->file,         off,
                                   chunks[i].len,   chunks[i].n,
                                   chunks[i].mint,  chunks[i].maxt,
                                   ts_off,          ts_off ? chunks[i].ts_len : 0,
                                   ref_off,         ref_off ? chunks[i].ref_len : 0};
        rc = index_put_chunk(&w->desc, w->mint, i ? &prev : NULL, &cur);
        prev = cur;
        samples += chunks[i].n;
    }
    if (rc == 0 && w->chunks.rc < 0)
        rc = w->chunks.rc;
    if (rc == 0)
        rc = buf_put_uvarint(&w->recs, w->desc.len);
    if (rc == 0)
        rc = buf_append(&w->recs, w->desc.p, w->desc.len);
    if (rc < 0) {
        w->recs.len = rec_start;
        return err_set(e, rc, "block writer: %s: %s", w->tmp, strerror(-rc));
    }
    for (uint32_t i = 0; i < ls->n; i++) {
        w->prev[i]->count++;
        w->prev[i]->name->used = w->prev[i]->value->used = 1;
    }
    w->n_series++;
    w->n_chunks += n;
    w->n_samples += samples;
    return 0;
}

/* ---- finish ---- */

static int sym_cmp(const void *a, const void *b)
{
    return strcmp((*(struct wsym *const *) a)->s, (*(struct wsym *const *) b)->s);
}

static int pair_cmp(const void *a, const void *b)
{
    const struct wpair *x = *(struct wpair *const *) a, *y = *(struct wpair *const *) b;
    if (x->name->id != y->name->id)
        return x->name->id < y->name->id ? -1 : 1;
    return (x->value->id > y->value->id) - (x->value->id < y->value->id);
}

static void sec_end(struct fout *f, uint64_t start, uint8_t *toc_entry)
{
    be64_put(toc_entry, start);
    be64_put(toc_entry + 8, f->off - start);
    fout_be32(f, f->crc);
    f->crc = 0;
}

/* Writes the index file from the collected series (index.h). */
/* The index image in f->b, compressed with zstd when that saves space, into path; fsynced. */
static int store_index(const struct block_writer *w, struct fout *f, const char *path,
                       struct err *e)
{
    uint8_t *out = NULL;
    size_t cap = ZSTD_compressBound(f->b.len), len = 0;
    uint8_t hdr[INDEX_ZHEADER_LEN] = {'E', 'M', 'B', 'I', INDEX_VERSION, INDEX_FLAG_ZSTD, 0, 0};
    /* compaction output lives longest: worth zstd's strongest level (a ~1 MiB index of 10k
     * series takes about a second on a worker); head cuts and imports stay quick */
    int level = w->level > 1 ? 19 : 6;
    if (f->b.len >= 256 && (out = malloc(cap))) {
        len = ZSTD_compress(out, cap, f->b.p, f->b.len, level);
        if (ZSTD_isError(len) || len + INDEX_ZHEADER_LEN >= f->b.len)
            len = 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0 && len) {
        be64_put(hdr + 8, f->b.len);
        be32_put(hdr + 16, crc32c(0, out, len));
        rc = write_all(fd, hdr, sizeof hdr);
        if (rc == 0)
            rc = write_all(fd, out, len);
    } else if (rc == 0) {
        rc = write_all(fd, f->b.p, f->b.len);
    }
    if (fd >= 0 && rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = -errno;
    free(out);
    if (rc < 0)
        return err_set(e, rc, "block writer: %s: %s", path, strerror(-rc));
    return 0;
}

static int write_index(struct block_writer *w, struct err *e)
{
    char path[PATH_MAX];
    (void) snprintf(path, sizeof path, "%s/index", w->tmp);
    struct fout f = {-1, BUF_INIT, 0, 0, 0, 1};
    uint8_t toc[INDEX_TOC_LEN], hdr[INDEX_HEADER_LEN] = {'E', 'M', 'B', 'I', INDEX_VERSION, 0, 0,
                                                         0};
    uint64_t *series_offs = NULL;
    uint32_t *post = NULL;
    struct wpair **sorted = NULL;
    int rc = 0;
    fout_put(&f, hdr, sizeof hdr);
    f.crc = 0;

    /* Symbols and pairs of series left out (no chunks) are dropped. */
    size_t n_syms = 0, n_pairs = 0;
    for (size_t i = 0; i < w->n_syms; i++)
        if (w->sym_list[i]->used)
            w->sym_list[n_syms++] = w->sym_list[i];
    w->n_syms = n_syms;
    /* Symbols, sorted; their rank is their reference. */
    if (w->n_syms)
        qsort(w->sym_list, w->n_syms, sizeof *w->sym_list, sym_cmp);
    uint64_t start = f.off, soff = 4 + 4 * (uint64_t) w->n_syms;
    fout_be32(&f, (uint32_t) w->n_syms);
    for (size_t i = 0; i < w->n_syms; i++) {
        w->sym_list[i]->id = (uint32_t) i;
        if (soff > UINT32_MAX) {
            rc = err_set(e, ERR_LIMIT, "block writer: symbol table over 4 GiB");
            goto out;
        }
        fout_be32(&f, (uint32_t) soff);
        soff += w->sym_list[i]->len + 1;
    }
    for (size_t i = 0; i < w->n_syms; i++)
        fout_put(&f, w->sym_list[i]->s, w->sym_list[i]->len + 1);
    sec_end(&f, start, toc);

    /* Postings slots per pair, in pair order. */
    sorted = malloc((w->n_pairs ? w->n_pairs : 1) * sizeof *sorted);
    series_offs = malloc((w->n_series ? w->n_series : 1) * sizeof *series_offs);
    uint64_t total = 0;
    for (size_t i = 0; i < w->n_pairs; i++)
        total += w->pair_list[i]->count;
    if (total > UINT32_MAX) {
        rc = err_set(e, ERR_LIMIT, "block writer: %" PRIu64 " label occurrences", total);
        goto out;
    }
    post = malloc((total ? total : 1) * sizeof *post);
    if (!sorted || !series_offs || !post) {
        rc = err_set(e, -ENOMEM, "block writer: out of memory");
        goto out;
    }
    for (size_t i = 0; i < w->n_pairs; i++)
        if (w->pair_list[i]->count)
            sorted[n_pairs++] = w->pair_list[i];
    qsort(sorted, n_pairs, sizeof *sorted, pair_cmp);
    uint64_t at = 0;
    for (size_t i = 0; i < n_pairs; i++) {
        sorted[i]->start = (uint32_t) at;
        at += sorted[i]->count;
    }

    /* Series entries; fill the postings as we go (series ids ascend, so lists stay sorted). */
    start = f.off;
    const uint8_t *p = w->recs.p, *end = w->recs.len ? w->recs.p + w->recs.len : p;
    for (uint64_t id = 0; id < w->n_series; id++) {
        uint64_t nl, idx, dlen;
        series_offs[id] = f.off - start;
        p += uvarint_get(p, end, &nl);
        fout_uvarint(&f, nl);
        for (uint64_t i = 0; i < nl; i++) {
            p += uvarint_get(p, end, &idx);
            struct wpair *pr = w->pair_list[idx];
            fout_uvarint(&f, pr->name->id);
            fout_uvarint(&f, pr->value->id);
            post[pr->start++] = (uint32_t) id;
        }
        p += uvarint_get(p, end, &dlen);
        fout_put(&f, p, dlen);
        p += dlen;
    }
    uint64_t series_len = f.off - start;
    sec_end(&f, start, toc + 16);

    start = f.off;
    for (uint64_t id = 0; id < w->n_series; id++) {
        if (series_len > UINT32_MAX)
            fout_be64(&f, series_offs[id]);
        else
            fout_be32(&f, (uint32_t) series_offs[id]);
    }
    sec_end(&f, start, toc + 32);

    /* Postings lists; start now points past each pair's slots. */
    start = f.off;
    for (size_t i = 0; i < n_pairs; i++) {
        struct wpair *pr = sorted[i];
        if (f.off - start > UINT32_MAX) {
            rc = err_set(e, ERR_LIMIT, "block writer: postings over 4 GiB");
            goto out;
        }
        pr->post_off = (uint32_t) (f.off - start);
        const uint32_t *l = post + (pr->start - pr->count);
        fout_uvarint(&f, pr->count);
        for (uint32_t j = 0; j < pr->count; j++)
            fout_uvarint(&f, j ? l[j] - l[j - 1] : l[j]);
    }
    sec_end(&f, start, toc + 48);

    /* Label index: names with their value ranges, then the values. */
    start = f.off;
    uint32_t n_names = 0;
    for (size_t i = 0; i < n_pairs; i++)
        n_names += i == 0 || sorted[i]->name != sorted[i - 1]->name;
    fout_be32(&f, n_names);
    for (size_t i = 0, first = 0; i < n_pairs; i++) {
        if (i + 1 < n_pairs && sorted[i + 1]->name == sorted[i]->name)
            continue;
        fout_be32(&f, sorted[i]->name->id);
        fout_be32(&f, (uint32_t) first);
        fout_be32(&f, (uint32_t) (i + 1 - first));
        first = i + 1;
    }
    for (size_t i = 0; i < n_pairs; i++) {
        fout_be32(&f, sorted[i]->value->id);
        fout_be32(&f, sorted[i]->post_off);
    }
    sec_end(&f, start, toc + 64);

    be64_put(toc + 80, w->n_series);
    be64_put(toc + 88, (uint64_t) w->mint);
    be32_put(toc + 96, crc32c(0, toc, INDEX_TOC_LEN - 4));
    fout_put(&f, toc, INDEX_TOC_LEN);
out:
    free(sorted);
    free(series_offs);
    free(post);
    if (rc == 0 && f.rc < 0)
        rc = err_set(e, f.rc, "block writer: %s: %s", path, strerror(-f.rc));
    if (rc == 0)
        rc = store_index(w, &f, path, e);
    buf_free(&f.b);
    return rc;
}

static int write_meta(struct block_writer *w, struct err *e)
{
    char path[PATH_MAX];
    (void) snprintf(path, sizeof path, "%s/meta.json", w->tmp);
    struct buf b = BUF_INIT;
    int rc = buf_printf(&b,
                        "{\n"
                        "\t\"ulid\": \"%s\",\n"
                        "\t\"minTime\": %" PRId64 ",\n"
                        "\t\"maxTime\": %" PRId64 ",\n"
                        "\t\"stats\": {\n"
                        "\t\t\"numSamples\": %" PRIu64 ",\n"
                        "\t\t\"numSeries\": %" PRIu64 ",\n"
                        "\t\t\"numChunks\": %" PRIu64 "\n"
                        "\t},\n"
                        "\t\"compaction\": {\n"
                        "\t\t\"level\": %u\n"
                        "\t},\n"
                        "\t\"version\": %d\n"
                        "}\n",
                        w->ulid, w->mint, w->maxt + 1, w->n_samples, w->n_series, w->n_chunks,
                        w->level, BLOCK_FORMAT_VERSION);
    if (rc < 0) {
        buf_free(&b);
        return err_set(e, rc, "block writer: out of memory");
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        buf_free(&b);
        return sys_err(e, "create", path);
    }
    struct fout f = {fd, b, 0, 0, 0};
    rc = fout_close(&f); /* writes b, fsyncs, frees b */
    if (rc < 0)
        return err_set(e, rc, "block writer: %s: %s", path, strerror(-rc));
    return 0;
}

int block_writer_finish(struct block_writer *w, struct block_meta *ret_meta, struct err *e)
{
    int rc = 0;
    if (w->chunks.fd >= 0 && (rc = fout_close(&w->chunks)) < 0)
        rc = err_set(e, rc, "block writer: %s/chunks/%06u: %s", w->tmp, w->file + 1,
                     strerror(-rc));
    if (rc == 0)
        rc = write_index(w, e);
    if (rc == 0)
        rc = write_meta(w, e);
    char path[PATH_MAX];
    (void) snprintf(path, sizeof path, "%s/chunks", w->tmp);
    if (rc == 0 && (rc = fsync_path(path, 1)) < 0)
        rc = err_set(e, rc, "block writer: fsync %s: %s", path, strerror(-rc));
    if (rc == 0 && (rc = fsync_path(w->tmp, 1)) < 0)
        rc = err_set(e, rc, "block writer: fsync %s: %s", w->tmp, strerror(-rc));
    if (rc == 0 && rename(w->tmp, w->final) < 0)
        rc = sys_err(e, "rename", w->tmp);
    if (rc < 0) {
        block_writer_abort(w);
        return rc;
    }
    /* The block is in place; a failed fsync of the parent leaves it there but undurable. */
    char *slash = strrchr(w->final, '/');
    *slash = 0;
    rc = fsync_path(w->final, 1);
    if (rc < 0)
        rc = err_set(e, rc, "block writer: fsync %s: %s", w->final, strerror(-rc));
    *slash = '/';
    if (rc == 0) {
        memset(ret_meta, 0, sizeof *ret_meta);
        memcpy(ret_meta->ulid, w->ulid, sizeof ret_meta->ulid);
        ret_meta->mint = w->mint;
        ret_meta->maxt = w->maxt;
        ret_meta->n_series = w->n_series;
        ret_meta->n_chunks = w->n_chunks;
        ret_meta->n_samples = w->n_samples;
        ret_meta->level = w->level;
        ret_meta->version = BLOCK_FORMAT_VERSION;
    }
    free(w->tmp);
    w->tmp = NULL; /* renamed: nothing to remove */
    block_writer_abort(w);
    return rc;
}

/* ---- removal ---- */

/* Removes dir and everything under it (no symlinks followed); depth-limited. */
static int remove_tree(int parent_fd, const char *name, int depth)
{
    if (depth > 8)
        return -ELOOP;
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOTDIR ? (unlinkat(parent_fd, name, 0) < 0 ? -errno : 0) : -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        (void) close(fd);
        return rc;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(fd, de->d_name, 0) == 0)
            continue;
        int r = errno == EISDIR ? remove_tree(fd, de->d_name, depth + 1) : -errno;
        if (r < 0 && rc == 0)
            rc = r;
    }
    (void) closedir(d);
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

void block_writer_abort(struct block_writer *w)
{
    if (!w)
        return;
    if (w->chunks.fd >= 0) {
        (void) close(w->chunks.fd);
        buf_free(&w->chunks.b);
    }
    if (w->tmp)
        (void) remove_tree(AT_FDCWD, w->tmp, 0);
    free(w->tmp);
    free(w->final);
    arena_free(w->mem);
    hmap_free(&w->syms);
    hmap_free(&w->pairs);
    hmap_free(&w->ts);
    hmap_free(&w->recs_by);
    buf_free(&w->back);
    free(w->sym_list);
    free(w->pair_list);
    free(w->prev);
    buf_free(&w->recs);
    buf_free(&w->desc);
    free(w);
}

static int is_ulid_tmp(const char *name)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (strlen(name) != BLOCK_ULID_LEN + 4 || strcmp(name + BLOCK_ULID_LEN, ".tmp") != 0)
        return 0;
    for (int i = 0; i < BLOCK_ULID_LEN; i++)
        if (!strchr(alphabet, name[i]))
            return 0;
    return 1;
}

int block_cleanup_tmp(const char *parent, struct err *e)
{
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sys_err(e, "open", parent);
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = sys_err(e, "open", parent);
        (void) close(fd);
        return rc;
    }
    int rc = 0, removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_ulid_tmp(de->d_name))
            continue;
        int r = remove_tree(fd, de->d_name, 0);
        if (r < 0 && rc == 0)
            rc = err_set(e, r, "block cleanup: remove %s/%s: %s", parent, de->d_name,
                         strerror(-r));
        removed += r == 0;
    }
    (void) closedir(d);
    return rc < 0 ? rc : removed;
}
