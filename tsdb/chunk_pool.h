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

#endif
