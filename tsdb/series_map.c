/* tsdb/series_map.c — linear probing on the hash's high half with backward-shift deletion; grows
 * at 75% load (series_map.h). The high half, since the head picks a map (its stripe) by the low
 * bits: homes taken from those would crowd into a few runs. */
#include "series_map.h"

#include <errno.h>
#include <stdlib.h>

static uint32_t tag_of(uint64_t hash)
{
    return (uint32_t) (hash >> 32);
}

uint32_t series_map_get(const struct series_map *m, uint64_t hash,
                        int (*eq)(void *ctx, uint32_t ref), void *ctx)
{
    if (!m->cap)
        return 0;
    uint32_t mask = m->cap - 1, tag = tag_of(hash);
    for (uint32_t i = tag & mask;; i = (i + 1) & mask) {
        const struct series_slot *s = &m->slots[i];
        if (!s->ref)
            return 0;
        if (s->tag == tag && eq(ctx, s->ref))
            return s->ref;
    }
}

static void insert_slot(struct series_slot *slots, uint32_t cap, uint32_t tag, uint32_t ref)
{
    uint32_t mask = cap - 1, i = tag & mask;
    while (slots[i].ref)
        i = (i + 1) & mask;
    slots[i] = (struct series_slot){ref, tag};
}

int series_map_put(struct series_map *m, uint64_t hash, uint32_t ref)
{
    if (((uint64_t) m->n + 1) * 4 > (uint64_t) m->cap * 3) {
        if (m->cap > UINT32_MAX / 2)
            return -ENOMEM;
        uint32_t cap = m->cap ? m->cap * 2 : 16;
        struct series_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->slots[i].ref)
                insert_slot(slots, cap, m->slots[i].tag, m->slots[i].ref);
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    insert_slot(m->slots, m->cap, tag_of(hash), ref);
    m->n++;
    return 0;
}

int series_map_del(struct series_map *m, uint64_t hash, uint32_t ref)
{
    if (!m->cap)
        return 0;
    uint32_t mask = m->cap - 1, i = tag_of(hash) & mask;
    while (m->slots[i].ref != ref) {
        if (!m->slots[i].ref)
            return 0;
        i = (i + 1) & mask;
    }
    /* Backward shift: move later entries of the probe run into the hole. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; m->slots[j].ref; j = (j + 1) & mask) {
        uint32_t home = m->slots[j].tag & mask;
        int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = (struct series_slot){0, 0};
    m->n--;
    return 1;
}

void series_map_free(struct series_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

size_t series_map_bytes(const struct series_map *m)
{
    return (size_t) m->cap * sizeof *m->slots;
}
