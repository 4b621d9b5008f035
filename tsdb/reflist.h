/* tsdb/reflist.h — the head's postings lists: series refs as uint32 (the head's page table caps
 * refs below 2^28, head.h), the first two inline (module-internal to tsdb/).
 *
 * Most label values of a large head are high-cardinality ones (ids, paths, pod names) with one
 * or two series each, so an out-of-line array of uint64 per value would cost ~50 bytes per
 * series; inline and 32-bit, such a list costs nothing beyond its owner. Not synchronised: the
 * owner locks. Readers widen lists to struct postings (uint64) in their arena. */
#ifndef EMBER_TSDB_REFLIST_H
#define EMBER_TSDB_REFLIST_H

#include <stddef.h>
#include <stdint.h>

struct arena;

#define REFLIST_INLINE 2

struct reflist {
    uint32_t n, cap; /* cap 0: refs in u.inl */
    union {
        uint32_t *p;
        uint32_t inl[REFLIST_INLINE];
    } u;
};

static inline const uint32_t *reflist_refs(const struct reflist *l)
{
    return l->cap ? l->u.p : l->u.inl;
}

/* Appends ref (< 2^32); 0 or -ENOMEM (the list is then unchanged). */
int reflist_push(struct reflist *l, uint64_t ref);
void reflist_sort(struct reflist *l);
/* Keeps the refs for which keep(ctx, ref) is true, in order; shrinks an emptied-out array. */
void reflist_filter(struct reflist *l, int (*keep)(void *ctx, uint64_t ref), void *ctx);
/* The refs as uint64 in arena a (room for one when empty); NULL when the arena is full. */
uint64_t *reflist_widen(const struct reflist *l, struct arena *a);
void reflist_free(struct reflist *l); /* leaves an empty list */

#endif
