/* tsdb/base/hmap.c — linear probing with backward-shift deletion; grows at 70% load. */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>

uint64_t hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return hash_mix(h);
}

void *hmap_get(const struct hmap *m, uint64_t hash, hmap_eq_fn eq, const void *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct hmap_slot *s = &m->slots[i];
        if (!s->item)
            return NULL;
        if (s->hash == hash && eq(s->item, key))
            return s->item;
    }
}

static void insert_slot(struct hmap_slot *slots, size_t cap, uint64_t hash, void *item)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i].item)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].item = item;
}

int hmap_put(struct hmap *m, uint64_t hash, void *item)
{
    if ((m->n + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct hmap_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].item)
                insert_slot(slots, cap, m->slots[i].hash, m->slots[i].item);
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    insert_slot(m->slots, m->cap, hash, item);
    m->n++;
    return 0;
}

int hmap_del(struct hmap *m, uint64_t hash, const void *item)
{
    if (!m->cap)
        return 0;
    size_t mask = m->cap - 1, i = hash & mask;
    while (m->slots[i].item != item) {
        if (!m->slots[i].item)
            return 0;
        i = (i + 1) & mask;
    }
    /* Backward shift: move later entries of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].item; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].item = NULL;
    m->slots[hole].hash = 0;
    m->n--;
    return 1;
}

void hmap_free(struct hmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
