/* tsdb/head_truncate.c — dropping the head's oldest data once a block holds it.
 *
 * Runs on the storage thread with gc_lock held exclusively: no appender or querier holds a
 * pointer into the head meanwhile, so chunks and series can be freed in place. Interned label
 * strings stay in the symbol table (they are shared and cheap; churn of label values is the one
 * case where that grows, and a restart reclaims it). */
#include <stdlib.h>
#include <string.h>

#include "head.h"

/* Frees s's closed chunks wholly older than mint; returns whether the series is now empty. */
static int drop_old_chunks(struct head *h, struct mem_series *s, int64_t mint)
{
    for (struct head_chunk **at = &s->closed, *c; (c = *at);) {
        if (head_chunk_maxt(c) < mint) {
            *at = c->older;
            atomic_fetch_sub(&h->n_chunks, 1);
            atomic_fetch_sub(&h->chunk_bytes, c->len);
            chunk_pool_release(h->chunks, c, sizeof *c + c->len);
        } else {
            at = &c->older;
        }
    }
    return !s->closed && (s->open.n == 0 || mem_series_maxt(s) < mint);
}

/* Unlinks and frees s; 0 when it must stay for lack of memory (the next truncation retries). */
static int remove_series(struct head *h, struct mem_series *s)
{
    struct label stack[16];
    struct label *lv = s->n_labels <= 16 ? stack : malloc(s->n_labels * sizeof *lv);
    if (!lv)
        return 0;
    /* The hash is not kept per series: truncation is rare. */
    uint64_t hash = labels_hash(&(struct labels){head_series_labels(h, s, lv).v, s->n_labels});
    if (lv != stack)
        free(lv);
    struct head_stripe *st = &h->stripes[hash % HEAD_STRIPES];
    (void) series_map_del(&st->series, hash, s->ref);
    struct mem_series **page = h->pages[s->ref >> HEAD_PAGE_BITS];
    __atomic_store_n(&page[s->ref & ((1u << HEAD_PAGE_BITS) - 1)], NULL, __ATOMIC_RELEASE);
    atomic_fetch_sub(&h->n_series, 1);
    if (s->open.n)
        atomic_fetch_sub(&h->n_open, 1);
    atomic_fetch_add(&h->series_removed, 1);
    head_series_free(h, s);
    return 1;
}

/* Whether ref still resolves to a series (reflist_filter()'s test). */
static int live_ref(void *h, uint64_t ref)
{
    return head_series_by_ref(h, ref) != NULL;
}

/* Drops postings of removed series, and index entries left empty. */
static void prune_index(struct head *h)
{
    for (size_t i = 0; i < h->names.cap; i++) {
        struct index_name *n = h->names.slots[i].item;
        if (!n)
            continue;
        for (uint32_t j = 0; j < n->cap; j++)
            if (index_name_at(n, j))
                reflist_filter(&index_name_at(n, j)->refs, live_ref, h);
        index_name_prune(h, n);
        /* Empty names stay: head_label_names() skips them and a later series may reuse them. */
    }
    reflist_filter(&h->all_refs, live_ref, h);
}

void head_truncate(struct head *h, int64_t mint)
{
    pthread_rwlock_wrlock(&h->gc_lock);
    if (mint > atomic_load(&h->min_valid))
        atomic_store(&h->min_valid, mint);
    size_t removed = 0;
    int64_t new_mint = INT64_MAX;
    const uint32_t *all = reflist_refs(&h->all_refs);
    for (size_t i = 0; i < h->all_refs.n; i++) {
        struct mem_series *s = head_series_by_ref(h, all[i]);
        if (!s)
            continue;
        if (drop_old_chunks(h, s, mint) && remove_series(h, s)) {
            removed++;
            continue;
        }
        int64_t first = mem_series_open_mint(s);
        for (const struct head_chunk *c = s->closed; c; c = c->older)
            first = c->mint; /* the oldest is last */
        if (s->closed || s->open.n)
            new_mint = first < new_mint ? first : new_mint;
    }
    if (removed) {
        pthread_rwlock_wrlock(&h->index_lock);
        prune_index(h);
        pthread_rwlock_unlock(&h->index_lock);
    }
    if (new_mint != INT64_MAX && new_mint < mint)
        new_mint = mint; /* older samples of a kept chunk are served from the block */
    atomic_store(&h->mint, new_mint);
    if (new_mint == INT64_MAX)
        atomic_store(&h->maxt, INT64_MIN);
    pthread_rwlock_unlock(&h->gc_lock);
}
