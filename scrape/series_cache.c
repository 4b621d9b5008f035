/* scrape/series_cache.c — the per-target series cache, laid out for the common case: a target
 * exposes the same series in the same order scrape after scrape.
 *
 * Two generations of slots: `prev`, the series of the last committed scrape in the order it met
 * them, whose texts live in that scrape's body (kept: it is the only copy of the keys), and `cur`,
 * the scrape in progress, pointing into the body being parsed. A lookup first compares the series
 * with prev[k], the slot after the last one matched: one sequential memcmp, no hashing, and both
 * arrays and both bodies are walked front to back, which the hardware prefetches (a hash table of
 * separately allocated entries cost a cache miss per series). Only when that fails (a new, moved
 * or vanished series) is the text hashed and looked up in an index over prev, built on the first
 * miss of a scrape from the hashes the slots keep; a hit there moves k just past it. Series new
 * in this scrape go into a second index so a repeat within the scrape is seen as a duplicate.
 * Staleness is prev's slots not marked seen. Commit swaps the generations. */
#include "scrape/series_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gen {
    struct series_cache_slot *v;
    uint32_t n, cap;
};

/* Open addressing over slot numbers + 1 (0: empty), keyed by the slots' hashes. */
struct index {
    uint32_t *v;
    uint32_t cap, n; /* cap: 0 or a power of two, at most half full */
};

struct series_cache {
    struct gen prev, cur;
    struct buf prev_body; /* the texts of prev's slots */
    const char *body;     /* the scrape in progress: cur's texts */
    size_t body_len;
    uint32_t k;           /* prev[k] is the expected next series */
    struct index prev_index; /* over prev; valid when prev_indexed */
    int prev_indexed;
    struct index new_index;  /* over cur's slots that prev does not have */
};

struct series_cache *scrape_series_cache_new(void)
{
    return calloc(1, sizeof(struct series_cache));
}

void scrape_series_cache_free(struct series_cache *c)
{
    if (!c)
        return;
    free(c->prev.v);
    free(c->cur.v);
    buf_free(&c->prev_body);
    free(c->prev_index.v);
    free(c->new_index.v);
    free(c);
}

uint32_t scrape_series_cache_size(const struct series_cache *c)
{
    return c->prev.n;
}

static void index_clear(struct index *x)
{
    if (x->n)
        memset(x->v, 0, x->cap * sizeof *x->v);
    x->n = 0;
}

/* Slots keep no hash (it would make them half as big again); the index is rare work, done only
 * when a series is new, moved or gone, so hashes are taken from the texts when needed. */
static uint32_t text_hash(const char *s, size_t n)
{
    return (uint32_t) hash_bytes(s, n);
}

static void index_insert(struct index *x, uint32_t hash, uint32_t i)
{
    uint32_t mask = x->cap - 1;
    uint32_t at = hash & mask;
    while (x->v[at])
        at = (at + 1) & mask;
    x->v[at] = i + 1;
    x->n++;
}

/* Room for one more entry (at most half full); -ENOMEM. */
static int index_reserve(struct index *x, const struct series_cache_slot *slots,
                         const char *body, uint32_t more)
{
    uint64_t need = ((uint64_t) x->n + more) * 2;
    if (need <= x->cap)
        return 0;
    uint64_t cap = x->cap ? x->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > UINT32_MAX / 2)
        return -ENOMEM;
    uint32_t *v = calloc((size_t) cap, sizeof *v);
    if (!v)
        return -ENOMEM;
    uint32_t *old = x->v, old_cap = x->cap;
    x->v = v;
    x->cap = (uint32_t) cap;
    x->n = 0;
    for (uint32_t a = 0; a < old_cap; a++)
        if (old[a])
            index_insert(x, text_hash(body + slots[old[a] - 1].off, slots[old[a] - 1].len),
                         old[a] - 1);
    free(old);
    return 0;
}

/* The slot of slots[] in x whose text (in body) is s[0..n), or -1. */
static int64_t index_find(const struct index *x, const struct series_cache_slot *slots,
                          const char *body, uint32_t hash, const char *s, size_t n)
{
    if (!x->cap)
        return -1;
    uint32_t mask = x->cap - 1;
    for (uint32_t at = hash & mask; x->v[at]; at = (at + 1) & mask) {
        const struct series_cache_slot *sl = &slots[x->v[at] - 1];
        if (sl->len == n && memcmp(body + sl->off, s, n) == 0)
            return x->v[at] - 1;
    }
    return -1;
}

void scrape_series_cache_begin(struct series_cache *c, const char *body, size_t len)
{
    c->body = body;
    c->body_len = len;
    c->cur.n = 0;
    c->k = 0;
    index_clear(&c->new_index);
    for (uint32_t i = 0; i < c->prev.n; i++)
        c->prev.v[i].seen = 0;
}

static struct series_cache_slot *push(struct gen *g)
{
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 64;
        struct series_cache_slot *v = cap > g->cap ? realloc(g->v, cap * sizeof *v) : NULL;
        if (!v)
            return NULL;
        g->v = v;
        g->cap = cap;
    }
    return &g->v[g->n++];
}

/* prev[i] seen again: it continues in cur. */
static int carry(struct series_cache *c, uint32_t i, const char *s, size_t n,
                 struct series_cache_slot **ret)
{
    struct series_cache_slot *p = &c->prev.v[i];
    if (p->seen) {
        *ret = NULL;
        return SERIES_CACHE_DUP;
    }
    p->seen = 1;
    c->k = i + 1;
    struct series_cache_slot *sl = push(&c->cur);
    if (!sl)
        return -ENOMEM;
    *sl = *p;
    sl->off = (uint32_t) (s - c->body);
    sl->len = (uint32_t) n;
    sl->seen = 0;
    *ret = sl;
    return SERIES_CACHE_KNOWN;
}

int scrape_series_cache_lookup(struct series_cache *c, const char *s, size_t n,
                               struct series_cache_slot **ret)
{
    if (NEVER(s < c->body || n > c->body_len || (size_t) (s - c->body) > c->body_len - n))
        return ERR_INTERNAL;
    if (c->body_len > UINT32_MAX) /* slots keep 32-bit offsets; body_size_limit may allow more */
        return ERR_LIMIT;
    if (c->k < c->prev.n) {
        const struct series_cache_slot *p = &c->prev.v[c->k];
        if (p->len == n && memcmp(c->prev_body.p + p->off, s, n) == 0)
            return carry(c, c->k, s, n, ret);
    }
    if (n >= 1u << 30) /* the slot's length field */
        return ERR_LIMIT;
    uint32_t hash = text_hash(s, n);
    if (!c->prev_indexed && c->prev.n) {
        index_clear(&c->prev_index);
        const char *pb = (const char *) c->prev_body.p;
        if (index_reserve(&c->prev_index, c->prev.v, pb, c->prev.n) < 0)
            return -ENOMEM;
        for (uint32_t i = 0; i < c->prev.n; i++)
            index_insert(&c->prev_index, text_hash(pb + c->prev.v[i].off, c->prev.v[i].len), i);
        c->prev_indexed = 1;
    }
    int64_t i = c->prev.n ? index_find(&c->prev_index, c->prev.v, (const char *) c->prev_body.p,
                                       hash, s, n)
                          : -1;
    if (i >= 0)
        return carry(c, (uint32_t) i, s, n, ret);
    if (index_find(&c->new_index, c->cur.v, c->body, hash, s, n) >= 0) {
        *ret = NULL;
        return SERIES_CACHE_DUP;
    }
    if (index_reserve(&c->new_index, c->cur.v, c->body, 1) < 0)
        return -ENOMEM;
    struct series_cache_slot *sl = push(&c->cur);
    if (!sl)
        return -ENOMEM;
    *sl = (struct series_cache_slot){.off = (uint32_t) (s - c->body), .len = (uint32_t) n};
    index_insert(&c->new_index, hash, c->cur.n - 1);
    *ret = sl;
    return SERIES_CACHE_NEW;
}

int scrape_series_cache_each_gone(const struct series_cache *c, int all,
                                  int (*fn)(void *arg, uint64_t ref), void *arg)
{
    for (uint32_t i = 0; i < c->prev.n; i++) {
        const struct series_cache_slot *p = &c->prev.v[i];
        if ((all || !p->seen) && !p->dropped) {
            int r = fn(arg, p->ref);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

void scrape_series_cache_commit(struct series_cache *c, struct buf *body)
{
    struct gen g = c->prev;
    c->prev = c->cur;
    c->cur = g;
    c->cur.n = 0;
    buf_free(&c->prev_body);
    c->prev_body = *body;
    *body = (struct buf) BUF_INIT;
    /* Kept a whole interval per target, while a body's buffer grew by doubling (or was sized up
     * by a gzip inflater): give the slack back, up to half of it, as it adds up over targets. */
    if (c->prev_body.cap - c->prev_body.len > 4096) {
        uint8_t *p = realloc(c->prev_body.p, c->prev_body.len ? c->prev_body.len : 1);
        if (p) {
            c->prev_body.p = p;
            c->prev_body.cap = c->prev_body.len ? c->prev_body.len : 1;
        }
    }
    c->prev_indexed = 0;
    c->body = NULL;
    c->body_len = 0;
}

void scrape_series_cache_clear(struct series_cache *c)
{
    c->prev.n = c->cur.n = 0;
    buf_free(&c->prev_body);
    c->prev_indexed = 0;
    index_clear(&c->new_index);
    c->body = NULL;
    c->body_len = 0;
}
