/* tsdb/head.c — head lifecycle, series creation and lookup, the label index, statistics. */
#include "head.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/symtab.h"

/* Samples per open chunk. Prometheus closes chunks at ~120 samples; ember closes them sooner
 * and merges them into the window's dense chunk (cut_chunk()), so the open XOR chunk, the
 * bulkiest bytes per sample in the head, stays short. */
#define DEFAULT_CHUNK_SAMPLES 24
#define DEFAULT_CHUNK_WINDOW_MS (2 * 3600 * 1000LL) /* the default block range */
/* Closed chunks of one window are merged up to this many samples (cut_chunk()). */
#define MERGED_CHUNK_MAX_SAMPLES HEAD_CHUNK_MAX_SAMPLES
/* ... and only while the closed chunk holds at most this many times the samples of the one
 * closing: a merge re-encodes both, so merging a short chunk into an ever longer one would
 * re-encode each sample once per cut of the window (~20 times at 15 s, ~40 at 5 s). Capped,
 * each sample is re-encoded about 4 times, for a few more descriptors per window. */
#define MERGE_MAX_RATIO 7
/* The most bytes one xor_enc_append() adds: a first or second sample's 10-byte varint and 64-bit
 * value, or a 68-bit delta-of-delta and a 77-bit value, plus a partly used byte (chunk_xor.c). */
#define XOR_APPEND_MAX_BYTES 24

int head_new(uint32_t chunk_samples, struct head **ret)
{
    struct head *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->chunk_samples = chunk_samples ? chunk_samples : DEFAULT_CHUNK_SAMPLES;
    if (h->chunk_samples > HEAD_CHUNK_MAX_SAMPLES)
        h->chunk_samples = HEAD_CHUNK_MAX_SAMPLES; /* what a descriptor counts (head.h) */
    h->chunk_window_ms = DEFAULT_CHUNK_WINDOW_MS;
    h->symtab = symtab_new();
    h->chunks = chunk_pool_new();
    if (h->symtab)
        h->sym_base = symtab_base(h->symtab);
    if (!h->symtab || !h->chunks) {
        symtab_free(h->symtab);
        chunk_pool_free(h->chunks);
        free(h);
        return -ENOMEM;
    }
    for (int i = 0; i < HEAD_SERIES_LOCKS; i++)
        pthread_mutex_init(&h->series_locks[i].m, NULL);
    for (int i = 0; i < HEAD_STRIPES; i++)
        pthread_mutex_init(&h->stripes[i].lock, NULL);
    pthread_rwlock_init(&h->index_lock, NULL);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&h->gc_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    h->min_valid = INT64_MIN;
    h->mint = INT64_MAX;
    h->maxt = INT64_MIN;
    *ret = h;
    return 0;
}

void head_set_chunk_window(struct head *h, int64_t ms)
{
    h->chunk_window_ms = ms < 1 ? DEFAULT_CHUNK_WINDOW_MS
                         : ms > HEAD_MAX_CHUNK_WINDOW_MS ? HEAD_MAX_CHUNK_WINDOW_MS
                                                         : ms;
}

static size_t series_bytes(uint32_t n_labels)
{
    return sizeof(struct mem_series) + n_labels * sizeof(struct head_label);
}

struct labels head_series_labels(const struct head *h, const struct mem_series *s,
                                 struct label *out)
{
    for (uint32_t i = 0; i < s->n_labels; i++)
        out[i] = (struct label){head_sym(h, s->lv[i].name), head_sym(h, s->lv[i].value)};
    return (struct labels){out, s->n_labels};
}

int head_series_labels_arena(const struct head *h, struct arena *a, const struct mem_series *s,
                             struct labels *ret)
{
    struct label *v = arena_alloc(a, (s->n_labels ? s->n_labels : 1) * sizeof *v);
    if (!v)
        return ERR_LIMIT;
    *ret = head_series_labels(h, s, v);
    return 0;
}

/* Frees s's open chunk buffer and empties the encoder; series lock held (or s unpublished). */
static void open_reset(struct head *h, struct mem_series *s)
{
    if (s->open.b.cap > CHUNK_POOL_SLAB_MAX)
        free(s->open.b.p);
    else if (s->open.b.cap)
        chunk_pool_slab_release(h->chunks, s->open.b.p);
    xor_enc_init(&s->open);
}

/* Gives s's open chunk a buffer of cap bytes (a slab class, or more from malloc), keeping what
 * it holds; -ENOMEM leaves it as it was. */
static int open_resize(struct head *h, struct mem_series *s, size_t cap)
{
    struct xor_buf *b = &s->open.b;
    uint8_t *p;
    if (cap <= CHUNK_POOL_SLAB_MAX)
        p = chunk_pool_slab_alloc(h->chunks, cap);
    else
        p = b->cap > CHUNK_POOL_SLAB_MAX ? realloc(b->p, cap) : malloc(cap);
    if (!p)
        return -ENOMEM;
    if (b->cap && (b->cap <= CHUNK_POOL_SLAB_MAX || cap <= CHUNK_POOL_SLAB_MAX)) {
        memcpy(p, b->p, b->len);
        if (b->cap <= CHUNK_POOL_SLAB_MAX)
            chunk_pool_slab_release(h->chunks, b->p);
        else
            free(b->p);
    }
    b->p = p;
    b->cap = (uint32_t) cap; /* open chunks stay far under 4 GiB (HEAD_CHUNK_MAX_BYTES) */
    return 0;
}

static size_t open_cap_for(size_t bytes)
{
    size_t cap = chunk_pool_slab_size(bytes);
    return cap ? cap : bytes + bytes / 4;
}

/* Room for (t, v) in s's open chunk, so xor_enc_append() never reallocates the buffer itself
 * (it is the chunk pool's, not malloc's). Buffers are sized tight: allocated at a chunk's first
 * sample in the smallest class, and grown to the class that fits when the next sample does not
 * (a few slab moves per chunk, each a copy of under 100 bytes). */
static int open_reserve(struct head *h, struct mem_series *s, int64_t t, double v)
{
    struct xor_buf *b = &s->open.b;
    size_t room = b->cap - b->len;
    if (room >= XOR_APPEND_MAX_BYTES)
        return 0;
    size_t need = xor_enc_growth(&s->open, t, v);
    return room >= need ? 0 : open_resize(h, s, open_cap_for(b->len + need));
}

/* Empties s's open chunk after a cut, buffer freed: the next sample allocates one of the
 * smallest class, so a series holds open-chunk bytes in proportion to what it has written
 * (a buffer kept at the last chunk's size held ~3x the bytes written on average). */
static void open_restart(struct head *h, struct mem_series *s)
{
    int64_t t = s->open.t;
    uint64_t v_bits = s->open.v_bits;
    open_reset(h, s);
    s->open.t = t; /* the newest sample: an empty encoder's first append reads neither */
    s->open.v_bits = v_bits;
}

void head_series_free(struct head *h, struct mem_series *s)
{
    for (struct head_chunk *c = s->closed, *older; c; c = older) {
        older = c->older;
        chunk_pool_release(h->chunks, c, sizeof *c + c->len);
    }
    open_reset(h, s);
    if (series_bytes(s->n_labels) <= CHUNK_POOL_SLAB_MAX)
        chunk_pool_slab_release(h->chunks, s);
    else
        free(s);
}

void head_free(struct head *h)
{
    if (!h)
        return;
    for (size_t p = 0; p < HEAD_PAGES; p++) {
        struct mem_series **page = h->pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < (1u << HEAD_PAGE_BITS); i++)
            if (page[i])
                head_series_free(h, page[i]);
        free(page);
    }
    for (int i = 0; i < HEAD_STRIPES; i++) {
        series_map_free(&h->stripes[i].series);
        pthread_mutex_destroy(&h->stripes[i].lock);
    }
    for (size_t i = 0; i < h->names.cap; i++) {
        struct index_name *n = h->names.slots[i].item;
        for (uint32_t j = 0; n && j < n->cap; j++) {
            struct index_value *v = index_name_at(n, j);
            if (v) {
                reflist_free(&v->refs);
                chunk_pool_slab_release(h->chunks, v);
            }
        }
        if (n) {
            free(n->slots);
            free(n);
        }
    }
    hmap_free(&h->names);
    reflist_free(&h->all_refs);
    pthread_rwlock_destroy(&h->index_lock);
    pthread_rwlock_destroy(&h->gc_lock);
    for (int i = 0; i < HEAD_SERIES_LOCKS; i++)
        pthread_mutex_destroy(&h->series_locks[i].m);
    chunk_pool_free(h->chunks);
    symtab_free(h->symtab);
    free(h);
}

/* The stripes' maps compare a series, by ref, with an outside label set. */
struct series_key {
    struct head *h;
    const struct labels *ls;
};

static int series_eq(void *ctx, uint32_t ref)
{
    const struct series_key *k = ctx;
    const struct mem_series *s = head_series_by_ref(k->h, ref);
    if (!s || s->n_labels != k->ls->n)
        return 0;
    for (uint32_t i = 0; i < s->n_labels; i++)
        if (strcmp(head_sym(k->h, s->lv[i].name), k->ls->v[i].name) != 0 ||
            strcmp(head_sym(k->h, s->lv[i].value), k->ls->v[i].value) != 0)
            return 0;
    return 1;
}

/* The series with labels ls (hash: labels_hash(ls)) in stripe st, else NULL; its lock held. */
static struct mem_series *stripe_find(struct head *h, struct head_stripe *st, uint64_t hash,
                                      const struct labels *ls)
{
    uint32_t ref = series_map_get(&st->series, hash, series_eq, &(struct series_key){h, ls});
    return ref ? head_series_by_ref(h, ref) : NULL;
}

struct mem_series *head_series_by_ref(struct head *h, uint64_t ref)
{
    uint64_t page = ref >> HEAD_PAGE_BITS;
    if (page >= HEAD_PAGES)
        return NULL;
    struct mem_series **p = atomic_load_explicit(&h->pages[page], memory_order_acquire);
    if (!p)
        return NULL;
    return __atomic_load_n(&p[ref & ((1u << HEAD_PAGE_BITS) - 1)], __ATOMIC_ACQUIRE);
}

int head_name_eq(const void *item, const void *key)
{
    return strcmp(((const struct index_name *) item)->name, key) == 0;
}

static uint32_t value_home(const char *value, uint32_t cap)
{
    return (uint32_t) hash_mix((uint64_t) (uintptr_t) value) & (cap - 1);
}

/* The entry of the interned value in n's table, or NULL. */
static struct index_value *name_find_value(const struct index_name *n, const char *value)
{
    if (!n->cap)
        return NULL;
    for (uint32_t i = value_home(value, n->cap);; i = (i + 1) & (n->cap - 1)) {
        struct index_value *v = n->slots[i];
        if (!v || v->value == value)
            return v;
    }
}

static void slots_insert(struct index_value **slots, uint32_t cap, struct index_value *v)
{
    uint32_t i = value_home(v->value, cap);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = v;
}

/* n's table rebuilt with cap slots from its non-empty entries (n_values of them); -ENOMEM leaves
 * it as it was. */
static int name_rehash(struct index_name *n, uint32_t cap)
{
    struct index_value **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < n->cap; i++)
        if (n->slots[i])
            slots_insert(slots, cap, n->slots[i]);
    free(n->slots);
    n->slots = slots;
    n->cap = cap;
    return 0;
}

/* Grows at 75% load. */
static int name_add_value(struct index_name *n, struct index_value *v)
{
    if (((uint64_t) n->n_values + 1) * 4 > (uint64_t) n->cap * 3) {
        if (n->cap > UINT32_MAX / 2 || name_rehash(n, n->cap ? n->cap * 2 : 4) < 0)
            return -ENOMEM;
    }
    slots_insert(n->slots, n->cap, v);
    n->n_values++;
    return 0;
}

void index_name_prune(struct head *h, struct index_name *n)
{
    uint32_t keep = 0, cap = 4;
    for (uint32_t i = 0; i < n->cap; i++)
        keep += n->slots[i] && n->slots[i]->refs.n;
    if (keep == n->n_values)
        return;
    while (cap < UINT32_MAX / 2 && (uint64_t) keep * 4 > (uint64_t) cap * 3)
        cap *= 2;
    /* Rebuilt, since holes would break probe runs. Without memory for that the emptied entries
     * stay (a value without series) until a later truncation. */
    struct index_value **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return;
    for (uint32_t i = 0; i < n->cap; i++) {
        struct index_value *v = n->slots[i];
        if (v && v->refs.n) {
            slots_insert(slots, cap, v);
        } else if (v) {
            reflist_free(&v->refs);
            chunk_pool_slab_release(h->chunks, v);
            h->n_pairs--;
        }
    }
    free(n->slots);
    n->slots = slots;
    n->cap = cap;
    n->n_values = keep;
}

struct index_value *head_find_value(struct head *h, const char *name, const char *value)
{
    const char *iv = symtab_find(h->symtab, value, strlen(value));
    struct index_name *n = iv ? hmap_get(&h->names, hash_bytes(name, strlen(name)), head_name_eq,
                                         name)
                              : NULL;
    return n ? name_find_value(n, iv) : NULL;
}

/* Adds ref to the postings of name=value (interned); index write lock held. */
static int index_add(struct head *h, const char *name, const char *value, uint64_t ref)
{
    uint64_t nh = hash_bytes(name, strlen(name));
    struct index_name *n = hmap_get(&h->names, nh, head_name_eq, name);
    if (!n) {
        n = calloc(1, sizeof *n);
        if (!n || hmap_put(&h->names, nh, n) < 0) {
            free(n);
            return -ENOMEM;
        }
        n->name = name;
    }
    struct index_value *v = name_find_value(n, value);
    if (!v) {
        /* Most values are high-cardinality ones with a series or two: a 32-byte slab slot each
         * rather than malloc's 48 with its header. */
        v = chunk_pool_slab_alloc(h->chunks, sizeof *v);
        if (!v)
            return -ENOMEM;
        *v = (struct index_value){.name = name, .value = value};
        if (name_add_value(n, v) < 0) {
            chunk_pool_slab_release(h->chunks, v);
            return -ENOMEM;
        }
        h->n_pairs++;
    }
    return reflist_push(&v->refs, ref);
}

/* Publishes s under ref in the page table and the index; index write lock held. Postings stay
 * sorted as long as refs arrive ascending (always, except during WAL replay). */
static int index_insert(struct head *h, struct mem_series *s, uint64_t ref)
{
    uint64_t page = ref >> HEAD_PAGE_BITS;
    if (page >= HEAD_PAGES)
        return ERR_LIMIT;
    struct mem_series **p = atomic_load_explicit(&h->pages[page], memory_order_relaxed);
    if (!p) {
        p = calloc(1u << HEAD_PAGE_BITS, sizeof *p);
        if (!p)
            return -ENOMEM;
        atomic_store_explicit(&h->pages[page], p, memory_order_release);
    }
    s->ref = (uint32_t) ref;
    for (uint32_t i = 0; i < s->n_labels; i++)
        if (index_add(h, head_sym(h, s->lv[i].name), head_sym(h, s->lv[i].value), ref) < 0)
            return -ENOMEM; /* postings added so far point at a ref no reader can resolve */
    if (reflist_push(&h->all_refs, ref) < 0)
        return -ENOMEM;
    if (ref > h->last_ref)
        h->last_ref = ref;
    __atomic_store_n(&p[ref & ((1u << HEAD_PAGE_BITS) - 1)], s, __ATOMIC_RELEASE);
    return 0;
}

static struct mem_series *series_new(struct head *h, const struct labels *ls)
{
    if (ls->n > HEAD_MAX_LABELS)
        return NULL;
    size_t bytes = series_bytes(ls->n);
    /* Series live long and are made in bursts between short-lived buffers: in the pool's slabs
     * they leave no holes in malloc's heap when those buffers go. */
    struct mem_series *s = bytes <= CHUNK_POOL_SLAB_MAX ? chunk_pool_slab_alloc(h->chunks, bytes)
                                                        : malloc(bytes);
    if (!s)
        return NULL;
    memset(s, 0, bytes);
    xor_enc_init(&s->open);
    s->open.t = INT64_MIN;
    s->n_labels = (uint16_t) ls->n;
    for (uint32_t i = 0; i < ls->n; i++) {
        const char *name = symtab_intern(h->symtab, ls->v[i].name, strlen(ls->v[i].name));
        const char *value = symtab_intern(h->symtab, ls->v[i].value, strlen(ls->v[i].value));
        if (!name || !value) {
            head_series_free(h, s);
            return NULL;
        }
        s->lv[i] = (struct head_label){(uint32_t) (name - h->sym_base),
                                       (uint32_t) (value - h->sym_base)};
    }
    return s;
}

int head_get_or_create(struct head *h, const struct labels *ls, struct mem_series **ret,
                       int *ret_created, struct err *e)
{
    uint64_t hash = labels_hash(ls);
    struct head_stripe *st = &h->stripes[hash % HEAD_STRIPES];
    pthread_mutex_lock(&st->lock);
    struct mem_series *s = stripe_find(h, st, hash, ls);
    int created = 0;
    if (!s) {
        s = series_new(h, ls);
        int r = s ? 0 : -ENOMEM;
        if (r == 0) {
            pthread_rwlock_wrlock(&h->index_lock);
            r = index_insert(h, s, h->last_ref + 1);
            pthread_rwlock_unlock(&h->index_lock);
        }
        if (r == 0)
            r = series_map_put(&st->series, hash, s->ref);
        if (r < 0) {
            pthread_mutex_unlock(&st->lock);
            /* A series already published by index_insert stays reachable by ref: keep it. */
            if (s && !s->ref)
                head_series_free(h, s);
            return err_set(e, r, "creating series: %s", err_str(r));
        }
        created = 1;
        atomic_fetch_add(&h->n_series, 1);
        atomic_fetch_add(&h->series_created, 1);
    }
    pthread_mutex_unlock(&st->lock);
    *ret = s;
    if (ret_created)
        *ret_created = created;
    return 0;
}

/* Decodes the XOR bytes of x into t/v (room for x->n); 0 or ERR_CORRUPT. */
static int xor_samples(const struct xor_enc *x, int64_t *t, double *v)
{
    struct xor_dec d;
    uint32_t n = 0;
    xor_dec_init(&d, x->b.p, x->b.len, x->n);
    while (n < x->n && xor_dec_next(&d, &t[n], &v[n]) == 1)
        n++;
    return n == x->n ? 0 : ERR_CORRUPT;
}

static int64_t window_of(int64_t t, int64_t w)
{
    return t / w - (t % w < 0);
}

/* The chunk that replaces s's open chunk when it closes, in ember's dense block-chunk encoding
 * (a closed chunk is read far more often than written and lives until the head is cut, so it is
 * worth ~3x less memory than the XOR bit stream it was appended as). When the newest closed
 * chunk lies in the same chunk window (the block range, so a head cut still frees whole chunks),
 * both become one chunk: one descriptor per window, and the dense encoding packs a long chunk
 * tighter than short ones. ret_merged says whether it replaces
 * s->closed. NULL when dense does not work out (then the XOR bytes are kept as they are). */
static struct head_chunk *dense_chunk(struct head *h, struct mem_series *s, int *ret_merged)
{
    const struct head_chunk *prev = s->closed;
    int merge = prev && prev->n + s->open.n <= MERGED_CHUNK_MAX_SAMPLES &&
                prev->n <= MERGE_MAX_RATIO * s->open.n &&
                window_of(prev->mint, h->chunk_window_ms) ==
                    window_of(s->open.t, h->chunk_window_ms);
    uint32_t n0 = merge ? prev->n : 0, n = n0 + s->open.n;
    int64_t ts[256];
    double vs[256];
    int64_t *t = n <= 256 ? ts : malloc(n * sizeof *t);
    double *v = n <= 256 ? vs : malloc(n * sizeof *v);
    struct buf out = BUF_INIT;
    struct err e = {0};
    struct head_chunk *c = NULL;
    int r = t && v ? 0 : -ENOMEM;
    if (r == 0 && merge && prev->enc == CHUNK_ENC_BLOCK)
        r = block_chunk_decode(prev->data, prev->len, n0, t, v, &e);
    else if (r == 0 && merge)
        r = xor_samples(&(struct xor_enc){.b = {(uint8_t *) prev->data, prev->len, prev->len},
                                          .n = n0},
                        t, v);
    if (r == 0)
        r = xor_samples(&s->open, t + n0, v + n0);
    if (r == 0)
        r = block_chunk_encode(&out, t, v, n, 0, &e); /* zstd when final: finish_newest() */
    /* Alone, dense must beat XOR; merged, it must beat the two chunks apart. */
    size_t apart = s->open.b.len + (merge ? prev->len + sizeof *c : 0);
    int64_t mint = merge ? prev->mint : mem_series_open_mint(s);
    if (r == 0 && out.len < apart && out.len <= HEAD_CHUNK_MAX_BYTES &&
        (c = chunk_pool_alloc(h->chunks, sizeof *c + out.len))) {
        *c = (struct head_chunk){merge ? prev->older : s->closed, mint,
                                 (uint32_t) (s->open.t - mint), n, (uint32_t) out.len,
                                 CHUNK_ENC_BLOCK};
        memcpy(c->data, out.p, out.len);
    }
    buf_free(&out);
    if (t != ts)
        free(t);
    if (v != vs)
        free(v);
    *ret_merged = merge;
    return c;
}

/* s's newest closed chunk, about to get a newer one on top and so never merged again, gets
 * zstd if that makes it smaller. Only now: a chunk that will be merged is re-encoded at the next
 * cut anyway, and zstd at every cut cost ~10% of an append (bench_chunks --append) for chunks
 * of at most MERGED_CHUNK_MAX_SAMPLES it seldom shrinks. Series lock held. */
static void finish_newest(struct head *h, struct mem_series *s)
{
    struct head_chunk *c = s->closed, *z;
    struct buf out = BUF_INIT;
    struct err e = {0};
    if (c && c->enc == CHUNK_ENC_BLOCK && block_chunk_compress(&out, c->data, c->len, 1, &e) == 1 &&
        (z = chunk_pool_alloc(h->chunks, sizeof *z + out.len))) {
        *z = *c;
        z->len = (uint32_t) out.len; /* smaller than c->len */
        memcpy(z->data, out.p, out.len);
        s->closed = z;
        atomic_fetch_sub(&h->chunk_bytes, c->len - z->len);
        chunk_pool_release(h->chunks, c, sizeof *c + c->len);
    }
    buf_free(&out);
}

/* Moves the open chunk to the closed list; series lock held. */
static int cut_chunk(struct head *h, struct mem_series *s)
{
    int merged;
    struct head_chunk *c = dense_chunk(h, s, &merged);
    if (c && merged) {
        struct head_chunk *prev = s->closed;
        atomic_fetch_sub(&h->n_chunks, 1);
        atomic_fetch_sub(&h->chunk_bytes, prev->len);
        chunk_pool_release(h->chunks, prev, sizeof *prev + prev->len);
    } else if (c) {
        finish_newest(h, s);
        c->older = s->closed;
    } else {
        uint32_t len = (uint32_t) s->open.b.len;
        if (NEVER(len > HEAD_CHUNK_MAX_BYTES))
            return -ENOMEM;
        finish_newest(h, s);
        c = chunk_pool_alloc(h->chunks, sizeof *c + len);
        if (!c)
            return -ENOMEM;
        int64_t mint = mem_series_open_mint(s);
        *c = (struct head_chunk){s->closed, mint, (uint32_t) (s->open.t - mint), s->open.n, len,
                                 CHUNK_ENC_XOR};
        memcpy(c->data, s->open.b.p, len);
    }
    s->closed = c;
    open_restart(h, s);
    atomic_fetch_sub(&h->n_open, 1);
    atomic_fetch_add(&h->n_chunks, 1);
    atomic_fetch_add(&h->chunk_bytes, c->len);
    return 0;
}

static void bump_bounds(struct head *h, int64_t t)
{
    int64_t cur = atomic_load(&h->mint);
    while (t < cur && !atomic_compare_exchange_weak(&h->mint, &cur, t))
        ;
    cur = atomic_load(&h->maxt);
    while (t > cur && !atomic_compare_exchange_weak(&h->maxt, &cur, t))
        ;
}

/* One sample into s; series lock held. 0, 1 (exact duplicate), ERR_OUT_OF_ORDER, ERR_DUPLICATE
 * or -ENOMEM. */
static int append_locked(struct head *h, struct mem_series *s, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (t < s->open.t)
        return ERR_OUT_OF_ORDER;
    if (t == s->open.t)
        return bits == s->open.v_bits ? 1 : ERR_DUPLICATE;
    int r = 0;
    /* A chunk never spans two windows (block ranges), so merges and head cuts see whole ones. */
    if (s->open.n >= h->chunk_samples ||
        (s->open.n && window_of(t, h->chunk_window_ms) !=
                          window_of(s->open.t, h->chunk_window_ms))) /* same as its mint's */
        r = cut_chunk(h, s); /* also when the eager cut below failed for lack of memory */
    if (r < 0)
        return r;
    uint32_t was = s->open.n;
    r = open_reserve(h, s, t, v);
    if (r == 0)
        r = xor_enc_append(&s->open, t, v);
    if (r < 0)
        return r;
    if (was == 0)
        atomic_fetch_add(&h->n_open, 1);
    /* A full chunk closes now rather than at the next sample: the boundaries are the same, and
     * the dense copy is ~3x smaller than the XOR bytes it replaces. A failure here is retried by
     * the next append; this sample is stored either way. */
    if (s->open.n >= h->chunk_samples)
        (void) cut_chunk(h, s);
    return 0;
}

int head_series_append(struct head *h, struct mem_series *s, int64_t t, double v)
{
    if (t < atomic_load_explicit(&h->min_valid, memory_order_relaxed)) {
        atomic_fetch_add(&h->out_of_bounds, 1);
        return ERR_OUT_OF_ORDER;
    }
    pthread_mutex_t *lock = head_series_lock(h, s);
    pthread_mutex_lock(lock);
    int r = append_locked(h, s, t, v);
    pthread_mutex_unlock(lock);
    if (r == 0) {
        atomic_fetch_add(&h->samples_appended, 1);
        bump_bounds(h, t);
    } else if (r < 0) {
        head_count_rejected(h, r);
    }
    return r;
}

/* All of s's samples, in time order, into growable t/v arrays; series lock held. */
static int series_samples(const struct mem_series *s, int64_t **t, double **v, size_t *n)
{
    size_t total = s->open.n, k = 0;
    uint32_t n_closed = head_series_n_closed(s), nc = n_closed;
    const struct head_chunk **cs = malloc((n_closed ? n_closed : 1) * sizeof *cs);
    for (const struct head_chunk *c = s->closed; cs && c; c = c->older) {
        cs[--nc] = c; /* oldest first */
        total += c->n;
    }
    *t = malloc((total ? total : 1) * sizeof **t);
    *v = malloc((total ? total : 1) * sizeof **v);
    if (!cs || !*t || !*v) {
        free(cs);
        return -ENOMEM;
    }
    struct err e = {0};
    int r = 0;
    for (uint32_t i = 0; i <= n_closed && r == 0; i++) {
        const struct head_chunk *c = i < n_closed ? cs[i] : NULL;
        uint32_t cn = c ? c->n : s->open.n;
        if (c && c->enc == CHUNK_ENC_BLOCK) {
            if (block_chunk_decode(c->data, c->len, cn, *t + k, *v + k, &e) < 0)
                r = ERR_CORRUPT;
            k += cn;
            continue;
        }
        struct xor_dec d;
        xor_dec_init(&d, c ? c->data : s->open.b.p, c ? c->len : s->open.b.len, cn);
        while (k < total && xor_dec_next(&d, *t + k, *v + k) == 1)
            k++;
    }
    free(cs);
    *n = k;
    return r;
}

int head_series_delete(struct head *h, struct mem_series *s, int64_t mint, int64_t maxt)
{
    int64_t *t = NULL;
    double *v = NULL;
    size_t n = 0, keep = 0;
    pthread_mutex_t *lock = head_series_lock(h, s);
    pthread_mutex_lock(lock);
    int r = series_samples(s, &t, &v, &n);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (t[i] < mint || t[i] > maxt) {
            t[keep] = t[i];
            v[keep++] = v[i];
        }
    if (r == 0 && keep < n) {
        /* Rebuilt from the kept samples, chunk boundaries and encodings as appends make them. */
        for (struct head_chunk *c = s->closed, *older; c; c = older) {
            older = c->older;
            atomic_fetch_sub(&h->n_chunks, 1);
            atomic_fetch_sub(&h->chunk_bytes, c->len);
            chunk_pool_release(h->chunks, c, sizeof *c + c->len);
        }
        s->closed = NULL;
        if (s->open.n)
            atomic_fetch_sub(&h->n_open, 1);
        open_reset(h, s);
        s->open.t = INT64_MIN;
        for (size_t i = 0; i < keep && r >= 0; i++)
            r = append_locked(h, s, t[i], v[i]);
    }
    pthread_mutex_unlock(lock);
    free(t);
    free(v);
    return r < 0 ? r : (int) (n - keep > INT32_MAX ? INT32_MAX : n - keep);
}

int head_replay_series(struct head *h, uint64_t ref, const struct labels *ls,
                       struct mem_series **ret, struct err *e)
{
    uint64_t hash = labels_hash(ls);
    struct head_stripe *st = &h->stripes[hash % HEAD_STRIPES];
    struct mem_series *s = stripe_find(h, st, hash, ls);
    if (s) {
        *ret = s;
        return 0;
    }
    if (ref == 0 || head_series_by_ref(h, ref))
        return err_set(e, ERR_CORRUPT, "series ref %llu is invalid or used twice",
                       (unsigned long long) ref);
    s = series_new(h, ls);
    int r = s ? index_insert(h, s, ref) : -ENOMEM;
    if (r == 0)
        r = series_map_put(&st->series, hash, s->ref);
    if (r < 0) {
        if (s && !s->ref)
            head_series_free(h, s);
        return err_set(e, r, "creating series: %s", err_str(r));
    }
    s->wal_logged = 1;
    atomic_fetch_add(&h->n_series, 1);
    *ret = s;
    return 0;
}

void head_replay_done(struct head *h)
{
    for (size_t i = 0; i < h->names.cap; i++) {
        struct index_name *n = h->names.slots[i].item;
        for (uint32_t j = 0; n && j < n->cap; j++)
            if (index_name_at(n, j))
                reflist_sort(&index_name_at(n, j)->refs);
    }
    reflist_sort(&h->all_refs);
}

void head_count_rejected(struct head *h, int code)
{
    if (code == ERR_OUT_OF_ORDER)
        atomic_fetch_add(&h->out_of_order, 1);
    else if (code == ERR_DUPLICATE)
        atomic_fetch_add(&h->duplicates, 1);
}

void head_stats(struct head *h, struct tsdb_stats *st)
{
    memset(st, 0, sizeof *st);
    st->head_series = atomic_load(&h->n_series);
    st->head_chunks = atomic_load(&h->n_chunks) + atomic_load(&h->n_open);
    st->samples_appended = atomic_load(&h->samples_appended);
    st->out_of_order_samples = atomic_load(&h->out_of_order);
    st->out_of_bound_samples = atomic_load(&h->out_of_bounds);
    st->series_created = atomic_load(&h->series_created);
    st->series_removed = atomic_load(&h->series_removed);
    st->duplicate_samples = atomic_load(&h->duplicates);
    st->head_mint_ms = atomic_load(&h->mint);
    st->head_maxt_ms = atomic_load(&h->maxt);
    st->head_bytes = atomic_load(&h->chunk_bytes);
}
