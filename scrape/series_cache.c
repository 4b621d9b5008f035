/* scrape/series_cache.c — the per-target series cache, laid out for the common case: a target
 * exposes the same series in the same order scrape after scrape.
 *
 * Two generations of slots: `prev`, the series of the last committed scrape in the order it met
 * them, and `cur`, the scrape in progress, pointing into the body being parsed. prev's texts are
 * the only copy of the keys, kept a whole interval for every target, so they are stored compact
 * (`texts`): each as the length of the prefix it shares with the text before it, then the rest —
 * series of one family share their name and most labels, so a series costs a few bytes instead
 * of its whole line (the body, with values, HELP and TYPE, is freed after the scrape).
 * A lookup first compares the series with prev[k], the slot after the last one matched: since
 * that match was prev[k-1], whose text is then the last series looked up (`last`, in the body),
 * prev[k]'s text is last's shared prefix plus its stored rest — two sequential memcmps, no
 * hashing, no decoding, and all of it walked front to back, which the hardware prefetches (a
 * hash table of separately allocated entries cost a cache miss per series). Only when that fails
 * (a new, moved or vanished series) are prev's texts decoded in full (`full`, freed at commit) and
 * indexed by hash; a hit there moves k just past it. Series new in this scrape go into a second
 * index so a repeat within the scrape is seen as a duplicate. Staleness is prev's slots not
 * marked seen. Commit encodes cur's texts from the body, and cur becomes prev; between scrapes a
 * target holds only prev's slots and texts. */
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

/* Where an index's slots keep their texts: slot i's is base + (off ? off[i] : slots[i].off). */
struct texts {
    const char *base;
    const struct series_cache_slot *slots;
    const uint32_t *off;
};

struct series_cache {
    struct gen prev, cur;
    struct buf texts;     /* prev's texts, front-coded: uvarint shared prefix, then the rest */
    const char *body;     /* the scrape in progress: cur's texts */
    size_t body_len;
    uint32_t k;           /* prev[k] is the expected next series */
    const char *last;     /* when k > 0: prev[k-1]'s text, as met in this body */
    uint32_t last_len;
    struct buf full;      /* prev's texts decoded, when prev_indexed; full_off[i] is prev[i]'s */
    uint32_t *full_off;
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
    buf_free(&c->texts);
    buf_free(&c->full);
    free(c->full_off);
    free(c->prev_index.v);
    free(c->new_index.v);
    free(c);
}

uint32_t scrape_series_cache_size(const struct series_cache *c)
{
    return c->prev.n;
}

size_t scrape_series_cache_text_bytes(const struct series_cache *c)
{
    return c->texts.len;
}

static void index_free(struct index *x)
{
    free(x->v);
    *x = (struct index){NULL, 0, 0};
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

static const char *text_of(const struct texts *t, uint32_t i)
{
    return t->base + (t->off ? t->off[i] : t->slots[i].off);
}

/* Room for `more` entries (at most half full); -ENOMEM. */
static int index_reserve(struct index *x, const struct texts *t, uint32_t more)
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
            index_insert(x, text_hash(text_of(t, old[a] - 1), t->slots[old[a] - 1].len),
                         old[a] - 1);
    free(old);
    return 0;
}

/* The slot in x whose text is s[0..n), or -1. */
static int64_t index_find(const struct index *x, const struct texts *t, uint32_t hash,
                          const char *s, size_t n)
{
    if (!x->cap)
        return -1;
    uint32_t mask = x->cap - 1;
    for (uint32_t at = hash & mask; x->v[at]; at = (at + 1) & mask) {
        uint32_t i = x->v[at] - 1;
        if (t->slots[i].len == n && memcmp(text_of(t, i), s, n) == 0)
            return i;
    }
    return -1;
}

void scrape_series_cache_begin(struct series_cache *c, const char *body, size_t len)
{
    c->body = body;
    c->body_len = len;
    c->cur.n = 0;
    c->k = 0;
    c->last = NULL;
    c->last_len = 0;
    index_clear(&c->new_index);
    /* Sized for the usual case, the same series again (push grows it when short; failing here
     * only means it does). */
    if (c->cur.cap < c->prev.n) {
        struct series_cache_slot *v = realloc(c->cur.v, c->prev.n * sizeof *v);
        if (v) {
            c->cur.v = v;
            c->cur.cap = c->prev.n;
        }
    }
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
        *ret = p; /* its ref and dropped are those of the copy in cur */
        return SERIES_CACHE_DUP;
    }
    p->seen = 1;
    c->k = i + 1;
    c->last = s;
    c->last_len = (uint32_t) n;
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

/* The front-coded text at off in c->texts: its shared prefix length and where the rest starts;
 * 0, or -1 when the bytes are not a text the encoder wrote (cannot happen). */
static int decode_front(const struct series_cache *c, uint32_t off, uint64_t *ret_shared,
                        const uint8_t **ret_rest)
{
    const uint8_t *p = c->texts.p + off, *end = c->texts.p + c->texts.len;
    if (p < end && *p < 0x80) { /* a prefix under 128 bytes: the usual case */
        *ret_shared = *p;
        *ret_rest = p + 1;
        return 0;
    }
    int used = uvarint_get(p, end, ret_shared);
    if (used <= 0)
        return -1;
    *ret_rest = p + used;
    return 0;
}

/* Is s[0..n) prev[k]'s text? prev[k-1]'s is c->last (k > 0), the prefix prev[k]'s shares. */
static int is_expected(const struct series_cache *c, const char *s, size_t n)
{
    const struct series_cache_slot *p = &c->prev.v[c->k];
    uint64_t shared;
    const uint8_t *rest;
    if (p->len != n || decode_front(c, p->off, &shared, &rest) < 0 || shared > n)
        return 0;
    if (shared && (c->k == 0 || shared > c->last_len || memcmp(s, c->last, shared) != 0))
        return 0;
    return memcmp(s + shared, rest, n - shared) == 0;
}

/* Decodes prev's texts into c->full and indexes them: the rare path (a series new, moved or
 * gone). -ENOMEM. */
static int index_prev(struct series_cache *c)
{
    buf_reset(&c->full);
    free(c->full_off);
    c->full_off = malloc((c->prev.n ? c->prev.n : 1) * sizeof *c->full_off);
    if (!c->full_off)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->prev.n; i++) {
        const struct series_cache_slot *p = &c->prev.v[i];
        uint64_t shared;
        const uint8_t *rest;
        if (decode_front(c, p->off, &shared, &rest) < 0 || shared > p->len ||
            (shared && (i == 0 || shared > c->prev.v[i - 1].len)) ||
            NEVER(c->full.len > UINT32_MAX))
            return ERR_INTERNAL;
        if (buf_reserve(&c->full, p->len) < 0)
            return -ENOMEM;
        uint8_t *to = c->full.p + c->full.len;
        if (shared) /* from the text before, decoded just now */
            memcpy(to, c->full.p + c->full_off[i - 1], shared);
        memcpy(to + shared, rest, p->len - shared);
        c->full_off[i] = (uint32_t) c->full.len;
        c->full.len += p->len;
    }
    struct texts t = {(const char *) c->full.p, c->prev.v, c->full_off};
    index_clear(&c->prev_index);
    if (index_reserve(&c->prev_index, &t, c->prev.n) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->prev.n; i++)
        index_insert(&c->prev_index, text_hash(text_of(&t, i), c->prev.v[i].len), i);
    c->prev_indexed = 1;
    return 0;
}

int scrape_series_cache_lookup(struct series_cache *c, const char *s, size_t n,
                               struct series_cache_slot **ret)
{
    if (NEVER(s < c->body || n > c->body_len || (size_t) (s - c->body) > c->body_len - n))
        return ERR_INTERNAL;
    if (c->body_len > UINT32_MAX) /* slots keep 32-bit offsets; body_size_limit may allow more */
        return ERR_LIMIT;
    if (c->k < c->prev.n && is_expected(c, s, n))
        return carry(c, c->k, s, n, ret);
    if (n >= 1u << 30) /* the slot's length field */
        return ERR_LIMIT;
    uint32_t hash = text_hash(s, n);
    int r;
    if (!c->prev_indexed && c->prev.n && (r = index_prev(c)) < 0)
        return r;
    struct texts pt = {(const char *) c->full.p, c->prev.v, c->full_off};
    int64_t i = c->prev.n ? index_find(&c->prev_index, &pt, hash, s, n) : -1;
    if (i >= 0)
        return carry(c, (uint32_t) i, s, n, ret);
    struct texts ct = {c->body, c->cur.v, NULL};
    int64_t first = index_find(&c->new_index, &ct, hash, s, n);
    if (first >= 0) {
        *ret = &c->cur.v[first];
        return SERIES_CACHE_DUP;
    }
    if (index_reserve(&c->new_index, &ct, 1) < 0)
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

/* The length of the prefix a[0..an) and b[0..bn) share, a word at a time. */
static size_t shared_prefix(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + (size_t) __builtin_ctzll(x ^ y) / 8; /* little-endian: first byte lowest */
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* cur's texts (in the body) front-coded into a new buffer, each slot's off moved there. */
static int encode_cur(struct series_cache *c, struct buf *ret)
{
    struct buf b = BUF_INIT;
    const char *before = "";
    size_t before_len = 0;
    /* A target's series rarely change: the last scrape's size is the usual size. */
    if (c->cur.n && buf_reserve(&b, c->texts.len + 64) < 0)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->cur.n; i++) {
        struct series_cache_slot *sl = &c->cur.v[i];
        const char *t = c->body + sl->off;
        size_t shared = shared_prefix(before, before_len, t, sl->len), rest = sl->len - shared;
        /* Room for a 10-byte uvarint and the rest; when short, grown for the texts still to
         * come at this one's size (the commit gives back the slack). */
        if (b.cap - b.len < rest + 10 &&
            buf_reserve(&b, (rest + 10) * (size_t) (c->cur.n - i)) < 0) {
            buf_free(&b);
            return -ENOMEM;
        }
        if (b.len > UINT32_MAX) {
            buf_free(&b);
            return -ENOMEM;
        }
        sl->off = (uint32_t) b.len;
        size_t v = shared; /* a uvarint, as buf_put_uvarint writes it */
        for (; v >= 0x80; v >>= 7)
            b.p[b.len++] = (uint8_t) (v | 0x80);
        b.p[b.len++] = (uint8_t) v;
        memcpy(b.p + b.len, t + shared, rest);
        b.len += rest;
        before = t;
        before_len = sl->len;
    }
    *ret = b;
    return 0;
}

int scrape_series_cache_commit(struct series_cache *c)
{
    struct buf texts;
    int r = encode_cur(c, &texts);
    if (r < 0) {
        scrape_series_cache_clear(c);
        return r;
    }
    /* Kept a whole interval per target: give back the slack of a buffer sized for more. */
    if (texts.cap - texts.len > 4096) {
        uint8_t *p = realloc(texts.p, texts.len ? texts.len : 1);
        if (p) {
            texts.p = p;
            texts.cap = texts.len ? texts.len : 1;
        }
    }
    /* Between scrapes only prev stays: the next scrape's slots and any index are allocated
     * when it runs, so a target keeps 16 bytes a series, not 32 and its indexes' tables. */
    free(c->prev.v);
    c->prev = c->cur;
    c->cur = (struct gen){NULL, 0, 0};
    buf_free(&c->texts);
    c->texts = texts;
    buf_free(&c->full);
    free(c->full_off);
    c->full_off = NULL;
    index_free(&c->prev_index);
    index_free(&c->new_index);
    c->prev_indexed = 0;
    c->body = NULL;
    c->body_len = 0;
    return 0;
}

void scrape_series_cache_clear(struct series_cache *c)
{
    free(c->prev.v);
    free(c->cur.v);
    c->prev = c->cur = (struct gen){NULL, 0, 0};
    index_free(&c->prev_index);
    buf_free(&c->texts);
    buf_free(&c->full);
    free(c->full_off);
    c->full_off = NULL;
    c->prev_indexed = 0;
    index_free(&c->new_index);
    c->body = NULL;
    c->body_len = 0;
}
