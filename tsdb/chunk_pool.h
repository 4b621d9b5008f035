/* tsdb/chunk_pool.h — memory for the head's closed chunks, carved from 64 KiB regions
 * (module-internal to tsdb/).
 *
 * Why not malloc: a head keeps ~5 chunks of ~100 bytes per series, so malloc's header and size
 * rounding cost ~15% of the chunk bytes, and a head cut frees the oldest chunks of every series
 * at once, leaving ~100-byte holes between live allocations that the process cannot give back.
 * Here chunks closed around the same time share a region, the same head cut frees them, and the
 * emptied region goes back to the kernel. Thread-safe (one mutex; a chunk is closed every ~30
 * minutes per series, so it is never contended). */
#ifndef EMBER_TSDB_CHUNK_POOL_H
#define EMBER_TSDB_CHUNK_POOL_H

#include <stddef.h>

struct chunk_pool;

struct chunk_pool *chunk_pool_new(void); /* NULL on ENOMEM */
/* Frees every region, whatever is still allocated in it. NULL is fine. */
void chunk_pool_free(struct chunk_pool *p);
/* n bytes aligned to 8, or NULL on ENOMEM. Any size works; big ones get a region of their own. */
void *chunk_pool_alloc(struct chunk_pool *p, size_t n);
/* Gives back an allocation of chunk_pool_alloc(p, n); NULL is fine. */
void chunk_pool_release(struct chunk_pool *p, void *mem, size_t n);
size_t chunk_pool_bytes(struct chunk_pool *p); /* mapped region bytes */

/* Slabs: fixed size classes from 32 to 2048 bytes, for the head's series and its open chunks'
 * buffers: a released slot is reused by the next allocation of its class, and buffers that grow
 * all the time leave no holes between long-lived allocations as they would in malloc's heap. */
#define CHUNK_POOL_SLAB_CLASSES 23
#define CHUNK_POOL_SLAB_MAX 2048
/* The size of the class that holds n bytes (what chunk_pool_slab_alloc(n) gives), or 0 when n is
 * over CHUNK_POOL_SLAB_MAX. */
size_t chunk_pool_slab_size(size_t n);
/* chunk_pool_slab_size(n) bytes, aligned to 16; NULL on ENOMEM or n > CHUNK_POOL_SLAB_MAX. */
void *chunk_pool_slab_alloc(struct chunk_pool *p, size_t n);
void chunk_pool_slab_release(struct chunk_pool *p, void *mem); /* NULL is fine */

struct chunk_pool_stats {
    size_t bump_regions, bump_bytes, bump_live; /* regions, mapped bytes, live allocations */
    size_t slab_regions, slab_bytes, slab_live_bytes;
};
void chunk_pool_stats(struct chunk_pool *p, struct chunk_pool_stats *st);

#endif
