/* tsdb/series_map.h — the head's series by label hash: an open-addressing table of series refs
 * (module-internal to tsdb/).
 *
 * A slot is 8 bytes (the ref and 32 bits of the label hash) where a generic hash map slot with a
 * pointer and a 64-bit hash is 16: at 100k series that is ~2 MB less. Candidates are compared
 * through the caller's eq(), which resolves the ref (the head's page table) and compares labels.
 * Not synchronised: the head's stripe lock guards each map. Refs are never 0. */
#ifndef EMBER_TSDB_SERIES_MAP_H
#define EMBER_TSDB_SERIES_MAP_H

#include <stddef.h>
#include <stdint.h>

struct series_slot {
    uint32_t ref; /* 0: empty */
    uint32_t tag; /* the label hash's high half: the home slot and a cheap first comparison */
};

struct series_map {
    struct series_slot *slots;
    uint32_t cap, n; /* cap: a power of two, 0 when unallocated */
};

/* The ref of the first series with this hash for which eq(ctx, ref) is true, else 0. */
uint32_t series_map_get(const struct series_map *m, uint64_t hash,
                        int (*eq)(void *ctx, uint32_t ref), void *ctx);
/* Inserts ref (not 0) without checking for an equal one; 0 or -ENOMEM. */
int series_map_put(struct series_map *m, uint64_t hash, uint32_t ref);
/* Removes ref; returns 1 if it was there. */
int series_map_del(struct series_map *m, uint64_t hash, uint32_t ref);
void series_map_free(struct series_map *m);
size_t series_map_bytes(const struct series_map *m); /* the slots' allocation */

#endif
