/* tsdb/chunk_pool.c — bump allocation of closed head chunks, and size-class slabs for the open
 * chunks' growing buffers, in 64 KiB regions (chunk_pool.h).
 *
 * A region is mapped at a 64 KiB-aligned address with its header at the start, so the region of
 * any allocation is its address rounded down. Allocation bumps `used` in the current region;
 * release only counts down `live`, and a region whose count reaches zero is unmapped (or, if it
 * is the current one, rewound). Space freed inside a region that still has live chunks is not
 * reused: chunks there were closed within seconds of each other and the next head cut frees
 * them too. An allocation too big for a region gets a region of its own, freed the same way.
 *
 * Slab regions each serve one size class: a released slot goes on its region's free list and is
 * handed out again, from the lowest region with room, and a region left without live slots is
 * unmapped (one empty region per class is kept, so a series growing across a class boundary
 * does not map and unmap).
 * ASan builds poison everything not handed out, so a chunk read after its release is reported. */
#include "chunk_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tsdb/base/sanitizer.h"

#if EMBER_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void) (p), (void) (n))
#define UNPOISON(p, n) ((void) (p), (void) (n))
#endif

#define REGION_BYTES ((size_t) 64 * 1024)

/* Slab classes: steps of 16 bytes up to 224 (series structs sit there), then of about a
 * quarter, so an allocation wastes little to rounding and a buffer grows in few copies. */
static const uint16_t slab_bytes[CHUNK_POOL_SLAB_CLASSES] = {
    32,  48,  64,  80,  96,  112, 128,  144,  160,  176,  192, 208,
    224, 256, 320, 384, 448, 512, 640, 768, 1024, 1536, 2048,
};

struct region {
    struct region *prev, *next;
    size_t size;   /* mapped bytes, a multiple of REGION_BYTES */
    size_t used;   /* bytes from the region start handed out, header included */
    uint32_t live; /* allocations not yet released */
    int32_t cls;   /* slab class, or -1 for a bump region */
    /* slab regions only: */
    void *free;                   /* released slots, linked through their first word */
    struct region *cprev, *cnext; /* in the class's list of regions with room */
    int has_room;                 /* whether it is in that list */
};

#define HDR_BYTES ((sizeof(struct region) + 15) & ~(size_t) 15)

struct chunk_pool {
    pthread_mutex_t lock;
    struct region *regions; /* every mapped region, current one included */
    struct region *cur;     /* where small allocations are bumped; may be NULL */
    struct region *room[CHUNK_POOL_SLAB_CLASSES]; /* slab regions with a free slot */
    size_t bytes;
};

struct chunk_pool *chunk_pool_new(void)
{
    struct chunk_pool *p = calloc(1, sizeof *p);
    if (p)
        pthread_mutex_init(&p->lock, NULL);
    return p;
}

static void unmap_region(struct chunk_pool *p, struct region *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        p->regions = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (p->cur == r)
        p->cur = NULL;
    p->bytes -= r->size;
    size_t size = r->size;
    UNPOISON(r, size);
    (void) munmap(r, size);
}

void chunk_pool_free(struct chunk_pool *p)
{
    if (!p)
        return;
    while (p->regions)
        unmap_region(p, p->regions);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* A fresh region of size bytes (a multiple of REGION_BYTES) at a REGION_BYTES-aligned address:
 * map one region more than asked and unmap the unaligned ends. */
static struct region *map_region(struct chunk_pool *p, size_t size)
{
    size_t span = size + REGION_BYTES;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t at = ((uintptr_t) m + REGION_BYTES - 1) & ~(uintptr_t) (REGION_BYTES - 1);
    size_t lead = at - (uintptr_t) m, trail = span - lead - size;
    if (lead)
        (void) munmap(m, lead);
    if (trail)
        (void) munmap((uint8_t *) at + size, trail);
    struct region *r = (struct region *) at;
    *r = (struct region){NULL, p->regions, size, HDR_BYTES, 0, -1, NULL, NULL, NULL, 0};
    if (p->regions)
        p->regions->prev = r;
    p->regions = r;
    p->bytes += size;
    POISON((uint8_t *) r + HDR_BYTES, size - HDR_BYTES);
    return r;
}

void *chunk_pool_alloc(struct chunk_pool *p, size_t n)
{
    size_t need = (n + 7) & ~(size_t) 7;
    if (need < n || need > SIZE_MAX / 2)
        return NULL;
    pthread_mutex_lock(&p->lock);
    struct region *r;
    if (need > REGION_BYTES - HDR_BYTES) {
        size_t size = (HDR_BYTES + need + REGION_BYTES - 1) & ~(REGION_BYTES - 1);
        r = map_region(p, size);
    } else {
        r = p->cur;
        if (r && r->used + need > r->size) {
            if (r->live == 0)
                r->used = HDR_BYTES; /* all released: start over in place */
            else
                r = NULL;
        }
        if (!r)
            r = p->cur = map_region(p, REGION_BYTES);
    }
    void *mem = NULL;
    if (r) {
        mem = (uint8_t *) r + r->used;
        r->used += need;
        r->live++;
        UNPOISON(mem, need);
    }
    pthread_mutex_unlock(&p->lock);
    return mem;
}

void chunk_pool_release(struct chunk_pool *p, void *mem, size_t n)
{
    if (!mem)
        return;
    struct region *r = (struct region *) ((uintptr_t) mem & ~(uintptr_t) (REGION_BYTES - 1));
    pthread_mutex_lock(&p->lock);
    POISON(mem, (n + 7) & ~(size_t) 7);
    if (--r->live == 0) {
        if (r == p->cur)
            r->used = HDR_BYTES;
        else
            unmap_region(p, r);
    }
    pthread_mutex_unlock(&p->lock);
}

size_t chunk_pool_bytes(struct chunk_pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->bytes;
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t chunk_pool_slab_size(size_t n)
{
    for (int c = 0; c < CHUNK_POOL_SLAB_CLASSES; c++)
        if (n <= slab_bytes[c])
            return slab_bytes[c];
    return 0;
}

/* Keeps the class's regions with room in address order: allocations take the lowest, so slots
 * that are released and taken again (open chunks restart every few minutes) drift into the
 * low regions, and the high ones empty out and go back instead of staying pinned by a few. */
static void room_add(struct chunk_pool *p, struct region *r)
{
    struct region *prev = NULL, *next = p->room[r->cls];
    while (next && next < r) {
        prev = next;
        next = next->cnext;
    }
    r->cprev = prev;
    r->cnext = next;
    if (next)
        next->cprev = r;
    if (prev)
        prev->cnext = r;
    else
        p->room[r->cls] = r;
    r->has_room = 1;
}

static void room_remove(struct chunk_pool *p, struct region *r)
{
    if (r->cprev)
        r->cprev->cnext = r->cnext;
    else
        p->room[r->cls] = r->cnext;
    if (r->cnext)
        r->cnext->cprev = r->cprev;
    r->has_room = 0;
}

void *chunk_pool_slab_alloc(struct chunk_pool *p, size_t n)
{
    int cls = 0;
    while (cls < CHUNK_POOL_SLAB_CLASSES && n > slab_bytes[cls])
        cls++;
    if (cls == CHUNK_POOL_SLAB_CLASSES)
        return NULL;
    size_t size = slab_bytes[cls];
    pthread_mutex_lock(&p->lock);
    struct region *r = p->room[cls];
    if (!r && (r = map_region(p, REGION_BYTES))) {
        r->cls = cls;
        room_add(p, r);
    }
    void *mem = NULL;
    if (r) {
        if (r->free) {
            mem = r->free;
            UNPOISON(mem, size);
            memcpy(&r->free, mem, sizeof r->free);
        } else {
            mem = (uint8_t *) r + r->used;
            r->used += size;
            UNPOISON(mem, size);
        }
        r->live++;
        if (!r->free && r->used + size > r->size)
            room_remove(p, r);
    }
    pthread_mutex_unlock(&p->lock);
    return mem;
}

void chunk_pool_slab_release(struct chunk_pool *p, void *mem)
{
    if (!mem)
        return;
    struct region *r = (struct region *) ((uintptr_t) mem & ~(uintptr_t) (REGION_BYTES - 1));
    pthread_mutex_lock(&p->lock);
    memcpy(mem, &r->free, sizeof r->free);
    POISON(mem, slab_bytes[r->cls]);
    r->free = mem;
    if (!r->has_room)
        room_add(p, r);
    if (--r->live == 0 && (p->room[r->cls] != r || r->cnext)) {
        room_remove(p, r); /* another region of the class has room: this one goes */
        unmap_region(p, r);
    }
    pthread_mutex_unlock(&p->lock);
}

void chunk_pool_stats(struct chunk_pool *p, struct chunk_pool_stats *st)
{
    *st = (struct chunk_pool_stats){0};
    pthread_mutex_lock(&p->lock);
    for (const struct region *r = p->regions; r; r = r->next) {
        if (r->cls < 0) {
            st->bump_regions++;
            st->bump_bytes += r->size;
            st->bump_live += r->live;
        } else {
            st->slab_regions++;
            st->slab_bytes += r->size;
            st->slab_live_bytes += (size_t) r->live * slab_bytes[r->cls];
        }
    }
    pthread_mutex_unlock(&p->lock);
}
