/* tsdb/split_enc.c — split chunks per aligned window (split_enc.h), and histogram buckets
 * relative to a bucket of the same histogram (block format 3).
 *
 * A classic histogram's buckets are cumulative: bucket le="1" differs from le="+Inf" only by
 * the observations above 1, usually few, so their difference costs a fraction of either. The
 * series of one histogram (a family: equal labels but for le) arrive close together in label
 * order; the encoder keeps the chunks of a few recent families that it stored on their own
 * (candidates), and encodes a bucket's chunk relative to the candidate of the same timestamps
 * whose difference varies least, when that comes out smaller. References go one level deep
 * (a candidate is never relative itself): a reader decodes at most two chunks for one. */
#include "tsdb/split_enc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FAMILIES 8                      /* recent histograms whose buckets may interleave */
#define FAMILY_CANDIDATES 32            /* chunks kept per family */
#define CANDIDATE_BYTES (32u << 20)     /* all candidates' copies together */

/* A chunk stored on its own that later buckets of its family may be relative to. */
struct cand {
    struct cand *next;
    uint32_t n, ts_len, rec_len;
    double *v;    /* n values */
    uint8_t *ts;  /* its timestamp record: equal records mean equal timestamps */
    uint8_t *rec; /* its stored values record, which a relative chunk names */
};

struct family {
    struct buf key; /* the labels but le, length-prefixed */
    struct cand *cands;
    uint32_t n_cands;
    size_t bytes;
    uint64_t used;
};

struct split_enc {
    int64_t window;
    uint32_t max;
    int level;
    struct buf vals, ts, rel, key;
    struct block_chunk *chunks;
    size_t cap_chunks;
    struct family fam[FAMILIES];
    size_t cand_bytes;
    uint64_t clock;
};

int split_enc_new(int64_t window_ms, uint32_t max_samples, int zstd_level,
                  struct split_enc **ret)
{
    if (window_ms <= 0 || max_samples == 0 || max_samples > BLOCK_CHUNK_MAX_SAMPLES)
        return ERR_INTERNAL;
    struct split_enc *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->window = window_ms;
    s->max = max_samples;
    s->level = zstd_level;
    *ret = s;
    return 0;
}

static void family_clear(struct split_enc *s, struct family *f)
{
    while (f->cands) {
        struct cand *c = f->cands;
        f->cands = c->next;
        free(c);
    }
    s->cand_bytes -= f->bytes;
    f->bytes = 0;
    f->n_cands = 0;
}

void split_enc_free(struct split_enc *s)
{
    if (!s)
        return;
    for (int i = 0; i < FAMILIES; i++) {
        family_clear(s, &s->fam[i]);
        buf_free(&s->fam[i].key);
    }
    buf_free(&s->vals);
    buf_free(&s->ts);
    buf_free(&s->rel);
    buf_free(&s->key);
    free(s->chunks);
    free(s);
}

static int64_t window_of(int64_t t, int64_t w)
{
    return t - ((t % w) + w) % w;
}

/* The family of a histogram bucket series (one with an le label), made the most recently used;
 * NULL for other series or when out of memory. */
static struct family *family_of(struct split_enc *s, const struct labels *ls)
{
    if (!labels_get(ls, "le"))
        return NULL;
    buf_reset(&s->key);
    for (uint32_t i = 0; i < ls->n; i++) {
        if (strcmp(ls->v[i].name, "le") == 0)
            continue;
        size_t ln = strlen(ls->v[i].name), lv = strlen(ls->v[i].value);
        if (buf_put_uvarint(&s->key, ln) < 0 || buf_append(&s->key, ls->v[i].name, ln) < 0 ||
            buf_put_uvarint(&s->key, lv) < 0 || buf_append(&s->key, ls->v[i].value, lv) < 0)
            return NULL;
    }
    struct family *f = NULL, *oldest = &s->fam[0];
    for (int i = 0; i < FAMILIES && !f; i++) {
        struct family *x = &s->fam[i];
        if (x->key.len == s->key.len && x->key.len && memcmp(x->key.p, s->key.p, x->key.len) == 0)
            f = x;
        else if (x->used < oldest->used)
            oldest = x;
    }
    if (!f) { /* a new family takes the place of the least recently used */
        f = oldest;
        family_clear(s, f);
        buf_reset(&f->key);
        if (buf_append(&f->key, s->key.p, s->key.len) < 0)
            return NULL;
    }
    f->used = ++s->clock;
    return f;
}

/* How much x - r (r NULL: x) varies: the sum of its steps, over finite values; a residual that
 * varies less encodes smaller. */
static double variation(const double *x, const double *r, uint32_t n)
{
    double sum = 0, prev = 0;
    int have = 0;
    for (uint32_t i = 0; i < n; i++) {
        double d = r ? x[i] - r[i] : x[i];
        if (!isfinite(d))
            continue;
        if (have)
            sum += fabs(d - prev);
        prev = d;
        have = 1;
    }
    return sum;
}

/* The candidate of f with timestamp record ts[0..ts_len) whose residual varies least, if that
 * is less than v varies alone. */
static const struct cand *best_cand(const struct family *f, const double *v, uint32_t n,
                                    const uint8_t *ts, uint32_t ts_len)
{
    const struct cand *best = NULL;
    double best_var = variation(v, NULL, n);
    for (const struct cand *c = f->cands; c; c = c->next) {
        if (c->n != n || c->ts_len != ts_len || memcmp(c->ts, ts, ts_len) != 0)
            continue;
        double var = variation(v, c->v, n);
        if (var < best_var) {
            best_var = var;
            best = c;
        }
    }
    return best;
}

/* Keeps a chunk stored on its own as a candidate of f (skipped when the copies would pass
 * their bounds: the chunk is then stored as it is, only never a reference). */
static void add_cand(struct split_enc *s, struct family *f, const double *v, uint32_t n,
                     const uint8_t *ts, uint32_t ts_len, const uint8_t *rec, uint32_t rec_len)
{
    size_t size = sizeof(struct cand) + (size_t) n * sizeof(double) + ts_len + rec_len;
    if (f->n_cands >= FAMILY_CANDIDATES || s->cand_bytes + size > CANDIDATE_BYTES)
        return;
    struct cand *c = malloc(size);
    if (!c)
        return;
    c->n = n;
    c->ts_len = ts_len;
    c->rec_len = rec_len;
    c->v = (double *) (void *) (c + 1);
    c->ts = (uint8_t *) (c->v + n);
    c->rec = c->ts + ts_len;
    memcpy(c->v, v, (size_t) n * sizeof(double));
    memcpy(c->ts, ts, ts_len);
    memcpy(c->rec, rec, rec_len);
    c->next = f->cands;
    f->cands = c;
    f->n_cands++;
    f->bytes += size;
    s->cand_bytes += size;
}

int split_enc_series(struct split_enc *s, const struct labels *ls, const int64_t *t,
                     const double *v, size_t n, struct block_chunk **ret, size_t *ret_n,
                     struct err *e)
{
    struct family *fam = family_of(s, ls);
    buf_reset(&s->vals);
    buf_reset(&s->ts);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int64_t w0 = window_of(t[i], s->window);
        int64_t end = w0 > INT64_MAX - s->window ? INT64_MAX : w0 + s->window;
        size_t j = i + 1;
        while (j < n && j - i < s->max && t[j] < end)
            j++;
        if (k == s->cap_chunks) {
            size_t nc = k ? 2 * k : 16;
            struct block_chunk *p = realloc(s->chunks, nc * sizeof *p);
            if (!p)
                return err_set(e, -ENOMEM, "out of memory encoding chunks");
            s->chunks = p;
            s->cap_chunks = nc;
        }
        size_t vo = s->vals.len, to = s->ts.len;
        uint32_t m = (uint32_t) (j - i);
        if (block_chunk_encode_split(&s->vals, &s->ts, t + i, v + i, m, s->level, e) < 0)
            return -1;
        const struct cand *ref = NULL;
        if (fam) {
            const uint8_t *tsr = s->ts.p + to;
            uint32_t tsl = (uint32_t) (s->ts.len - to);
            const struct cand *c = best_cand(fam, v + i, m, tsr, tsl);
            buf_reset(&s->rel);
            int r = c ? block_chunk_encode_rel(&s->rel, v + i, c->v, m, s->level, e) : 1;
            if (r < 0)
                return -1;
            if (r == 0 && s->rel.len < s->vals.len - vo) {
                s->vals.len = vo;
                if (buf_append(&s->vals, s->rel.p, s->rel.len) < 0)
                    return err_set(e, -ENOMEM, "out of memory encoding chunks");
                ref = c;
            } else {
                add_cand(s, fam, v + i, m, tsr, tsl, s->vals.p + vo,
                         (uint32_t) (s->vals.len - vo));
            }
        }
        /* offsets now, pointers once the buffers stop moving */
        s->chunks[k++] = (struct block_chunk){t[i],
                                              t[j - 1],
                                              m,
                                              (uint32_t) (s->vals.len - vo),
                                              (const uint8_t *) (uintptr_t) vo,
                                              (const uint8_t *) (uintptr_t) to,
                                              (uint32_t) (s->ts.len - to),
                                              ref ? ref->rec : NULL,
                                              ref ? ref->rec_len : 0};
        i = j;
    }
    for (size_t c = 0; c < k; c++) {
        s->chunks[c].data = s->vals.p + (uintptr_t) s->chunks[c].data;
        s->chunks[c].ts = s->ts.p + (uintptr_t) s->chunks[c].ts;
    }
    *ret = s->chunks;
    *ret_n = k;
    return 0;
}

int split_enc_is_split(const struct labels *ls, const struct block_chunk *c, size_t n,
                       int64_t window_ms, uint32_t max_samples)
{
    /* buckets are encoded again: later buckets of the family need their values as candidates */
    if (labels_get(ls, "le"))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int64_t w = window_of(c[i].mint, window_ms);
        if (!c[i].ts || c[i].n > max_samples || w != window_of(c[i].maxt, window_ms))
            return 0;
        /* a window's earlier chunks are full: else a merge makes one of them (the 2 h chunks
         * of head cuts become one 6 h chunk) */
        if (i > 0 && w == window_of(c[i - 1].mint, window_ms) && c[i - 1].n != max_samples)
            return 0;
    }
    return 1;
}
