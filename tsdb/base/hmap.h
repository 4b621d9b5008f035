/* tsdb/base/hmap.h — open-addressing hash table of (hash, item pointer) pairs. The caller hashes
 * and compares (items usually embed their key), so one table type serves strings, label sets and
 * interned-pointer pairs. Not synchronised: the owner locks. */
#ifndef EMBER_BASE_HMAP_H
#define EMBER_BASE_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
    uint64_t hash;
    void *item; /* NULL: empty */
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two, 0 when unallocated */
    size_t n;
};

typedef int (*hmap_eq_fn)(const void *item, const void *key);

/* First item with this hash for which eq(item, key) is true, else NULL. */
void *hmap_get(const struct hmap *m, uint64_t hash, hmap_eq_fn eq, const void *key);
/* Inserts without checking for an equal item; -ENOMEM on failure. */
int hmap_put(struct hmap *m, uint64_t hash, void *item);
/* Removes this exact item pointer; returns 1 if it was there. */
int hmap_del(struct hmap *m, uint64_t hash, const void *item);
void hmap_free(struct hmap *m);

uint64_t hash_bytes(const void *p, size_t n); /* FNV-1a, then mixed */
uint64_t hash_mix(uint64_t h);                /* finaliser for pointer/integer keys */

#endif
