/* tsdb/head.h — the in-memory block of recent data (module-internal to tsdb/).
 *
 * Series live in a striped hash table (keyed by label hash, one mutex per stripe) and in a
 * page table indexed by series reference, which readers use without taking stripe locks. A
 * series' chunks are guarded by one of HEAD_SERIES_LOCKS mutexes picked by its ref (a mutex per
 * series would be 40 bytes of each series): readers copy the chunks they need out under the
 * lock, since closing the open chunk merges it with the newest closed one, which is then freed
 * at once (head.c: cut_chunk()). The label index (postings per name/value
 * pair) sits behind one rwlock; refs are assigned under it in increasing order so every postings
 * list stays sorted by construction.
 * Lock order: stripe → index; a series lock is never held together with another lock (two
 * series may share one), so sharing cannot deadlock.
 *
 * gc_lock keeps memory alive: appenders (from new to commit) and queriers (from open to close)
 * hold it shared; head_truncate() takes it exclusively to free dropped chunks and series, so no
 * pointer handed out before can dangle. It prefers writers, so a stream of queries cannot starve
 * a head cut; a thread must therefore never take it shared twice (no querier inside an open
 * appender).
 *
 * Memory per series is what limits a small server, so the layout is tight: labels sit in the
 * series' own allocation as 32-bit symbol ids (a slab slot of the chunk pool, chunk_pool.h), and
 * readers get them as strings in their arena (head_series_labels_arena()); the open chunk is a
 * short XOR chunk (DEFAULT_CHUNK_SAMPLES) whose buffer is a slab slot sized like its
 * predecessor's; closed chunks are a list of struct head_chunk bumped from the pool with their
 * descriptor in front of their bytes, merged into one dense chunk per window (block range) as
 * open chunks close. bench_storage --head-rss prints where the bytes go (head_memory()). */
#ifndef EMBER_TSDB_HEAD_H
#define EMBER_TSDB_HEAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "tsdb/chunk_pool.h"
#include "tsdb/chunk_xor.h"
#include "tsdb/postings.h"
#include "tsdb/reflist.h"
#include "tsdb/series_map.h"
#include "tsdb/tsdb.h"

enum chunk_enc {
    CHUNK_ENC_XOR = 0, /* head chunk (chunk_xor.h) */
    CHUNK_ENC_BLOCK,   /* block chunk as stored (block.h: CRC32C + zstd + dense encoding) */
};

struct tsdb_chunk_ref {
    const uint8_t *data;
    uint32_t len;
    uint32_t n;
    int64_t mint, maxt;
    uint8_t enc; /* enum chunk_enc */
    uint32_t ts_len;
    const uint8_t *ts; /* a block chunk's timestamp record (split chunks), else NULL */
    const uint8_t *ref; /* the values record a block chunk's values are relative to, or NULL */
    uint32_t ref_len;
};

/* A closed head chunk: descriptor and bytes in one chunk_pool allocation, immutable once
 * published; freed under the series lock when a merge replaces it (readers hold copies), and
 * by head_truncate() and head_series_delete() under gc_lock held exclusively. */
struct head_chunk {
    struct head_chunk *older; /* the series' previous closed chunk; NULL for its oldest */
    int64_t mint;
    /* maxt - mint: a chunk never spans two chunk windows, which are at most 2^32 - 1 ms. */
    uint32_t span;
    uint32_t n : 11;   /* samples: at most HEAD_CHUNK_MAX_SAMPLES */
    uint32_t len : 20; /* bytes in data: at most ~24 a sample (XOR), so well under 2^20 */
    uint32_t enc : 1;  /* enum chunk_enc */
    uint8_t data[];
};

#define HEAD_CHUNK_MAX_SAMPLES 1024 /* merged or not; head_new() caps chunk_samples to it */
#define HEAD_CHUNK_MAX_BYTES ((1u << 20) - 1)
#define HEAD_MAX_CHUNK_WINDOW_MS ((int64_t) UINT32_MAX)

static inline int64_t head_chunk_maxt(const struct head_chunk *c)
{
    return c->mint + (int64_t) c->span;
}

/* A label of a head series: symbol ids (symtab.h), half the size of two pointers. */
struct head_label {
    uint32_t name, value;
};

struct mem_series {
    uint32_t ref;      /* < 2^28 (HEAD_PAGES) */
    uint16_t n_labels; /* lv entries */
    /* Whether the WAL holds this series' record; read and set only under the db's WAL order
     * lock, so a series record always precedes the first samples that use its ref. */
    uint8_t wal_logged;
    /* guarded by the series lock (head_series_lock()): */
    struct head_chunk *closed; /* newest first */
    /* The open chunk. Its encoder's t and v_bits outlive the chunk: they are the newest sample,
     * for order and duplicate checks (t is INT64_MIN while the series has no sample). */
    struct xor_enc open;
    struct head_label lv[]; /* sorted by name */
};

#define HEAD_MAX_LABELS UINT16_MAX

/* The first timestamp of s's open chunk, INT64_MAX when it is empty; under the series lock.
 * Not kept apart (8 bytes of every series): the XOR stream starts with it, byte-aligned, as a
 * zigzag varint (chunk_xor.c). */
static inline int64_t mem_series_open_mint(const struct mem_series *s)
{
    if (!s->open.n)
        return INT64_MAX;
    uint64_t zz = 0;
    for (size_t i = 0, shift = 0; i < s->open.b.len && shift < 64; i++, shift += 7) {
        zz |= (uint64_t) (s->open.b.p[i] & 0x7f) << shift;
        if (!(s->open.b.p[i] & 0x80))
            break;
    }
    return (int64_t) (zz >> 1) ^ -(int64_t) (zz & 1);
}

/* The newest timestamp of s, INT64_MIN when it has none; under the series lock. */
static inline int64_t mem_series_maxt(const struct mem_series *s)
{
    return s->open.t;
}

#define HEAD_STRIPES 256
#define HEAD_PAGE_BITS 12
#define HEAD_PAGES 65536 /* x 4096 refs per page: 268M series */
_Static_assert((uint64_t) HEAD_PAGES << HEAD_PAGE_BITS <= (uint64_t) UINT32_MAX + 1,
               "postings (reflist.h) keep refs in 32 bits");
/* Series mutexes, each alone on a cache line: 64 KiB. With 2-8 cores, two busy series sharing
 * one is rare and costs a short wait, never a deadlock (head.h top). */
#define HEAD_SERIES_LOCKS 1024

struct head_series_lock {
    pthread_mutex_t m;
} __attribute__((aligned(64)));

struct head_stripe {
    pthread_mutex_t lock;
    struct series_map series; /* keyed by label hash */
};

/* One label name in the index, with all its values in an open-addressing table keyed by the
 * interned value's address: one table serves lookups and listings (a pair map beside a value
 * array per name cost ~35 bytes more per value, and most values are high-cardinality ones).
 * Walk it with index_name_at() over [0, cap): empty slots give NULL. */
struct index_name {
    const char *name; /* interned */
    struct index_value **slots;
    uint32_t cap, n_values; /* cap: a power of two, 0 when unallocated */
};
struct index_value {
    const char *name, *value; /* interned */
    struct reflist refs;      /* sorted ascending */
};

struct head {
    uint32_t chunk_samples;
    /* Closed chunks merge within windows of this size, aligned (the block range: 2h unless the
     * db sets it), so a head cut frees whole chunks (head.c: dense_chunk()). */
    int64_t chunk_window_ms;
    pthread_rwlock_t gc_lock;
    /* Samples older than this belong to blocks: appends below it are rejected (out of bounds). */
    _Atomic int64_t min_valid;
    struct symtab *symtab;
    const char *sym_base; /* symtab_base(symtab): series' label ids count from it */
    struct chunk_pool *chunks; /* closed chunks' memory */
    struct head_series_lock series_locks[HEAD_SERIES_LOCKS];
    struct head_stripe stripes[HEAD_STRIPES];
    struct mem_series **_Atomic pages[HEAD_PAGES];

    pthread_rwlock_t index_lock;
    /* guarded by index_lock: */
    uint64_t last_ref;
    struct hmap names; /* items: struct index_name*, keyed by hash_bytes(name) */
    uint64_t n_pairs;  /* values over all names */
    struct reflist all_refs; /* every series, ascending */

    _Atomic uint64_t n_series, n_chunks, n_open, samples_appended, out_of_order, out_of_bounds, duplicates,
        chunk_bytes, series_created, series_removed;
    _Atomic int64_t mint, maxt;
};

int head_new(uint32_t chunk_samples, struct head **ret);
/* Closed chunks merge within windows of ms (the block range), capped at
 * HEAD_MAX_CHUNK_WINDOW_MS; before the head is shared. */
void head_set_chunk_window(struct head *h, int64_t ms);
/* The mutex guarding s's chunks (shared with other series). */
static inline pthread_mutex_t *head_series_lock(struct head *h, const struct mem_series *s)
{
    return &h->series_locks[s->ref % HEAD_SERIES_LOCKS].m;
}
void head_free(struct head *h);
/* Unpublished or removed series only. */
void head_series_free(struct head *h, struct mem_series *s);

/* Finds or creates the series for ls (sorted, valid). ret_created says whether it is new. */
int head_get_or_create(struct head *h, const struct labels *ls, struct mem_series **ret,
                       int *ret_created, struct err *e);
struct mem_series *head_series_by_ref(struct head *h, uint64_t ref); /* NULL if unknown */
/* WAL replay only (single-threaded, before the head is shared): creates the series under the
 * ref the WAL gave it, or returns the existing series with these labels (whatever its ref).
 * Refs then arrive out of order: head_replay_done() re-sorts the postings afterwards. */
int head_replay_series(struct head *h, uint64_t ref, const struct labels *ls,
                       struct mem_series **ret, struct err *e);
void head_replay_done(struct head *h);

/* head_truncate.c: drops chunks wholly older than mint and series left without samples, and
 * raises min_valid to mint. Takes gc_lock exclusively while it frees. */
void head_truncate(struct head *h, int64_t mint);
/* Appends one sample under the series lock. 0, ERR_OUT_OF_ORDER (also for t < min_valid),
 * ERR_DUPLICATE, 1 = exact duplicate ignored, or -ENOMEM. */
int head_series_append(struct head *h, struct mem_series *s, int64_t t, double v);
/* Removes s's samples in [mint, maxt] (rebuilding its chunks); returns how many, or < 0. The
 * caller holds gc_lock exclusively: closed chunks are freed. */
int head_series_delete(struct head *h, struct mem_series *s, int64_t mint, int64_t maxt);

/* head_append.c: WAL series records of ss[0..n) into out (frames of at most 4096); 0 or < 0. */
int head_log_series(const struct head *h, struct mem_series *const *ss, size_t n, struct buf *out);

/* Reading (head_read.c). */
int head_postings(struct head *h, struct arena *a, const struct matcher *ms, size_t n_ms,
                  struct postings *ret, struct err *e);
int head_select(struct head *h, struct arena *a, const struct matcher *ms, size_t n_ms,
                int64_t mint, int64_t maxt, struct tsdb_series **ret, size_t *ret_n,
                struct err *e);
int head_label_values(struct head *h, struct arena *a, const char *name, const char ***ret,
                      size_t *ret_n, struct err *e);
int head_label_names(struct head *h, struct arena *a, const char ***ret, size_t *ret_n,
                     struct err *e);

/* s's labels as strings (interned: valid while the head lives) in out[s->n_labels]. */
struct labels head_series_labels(const struct head *h, const struct mem_series *s,
                                 struct label *out);
/* The same in arena a; ERR_LIMIT when the arena is full. */
int head_series_labels_arena(const struct head *h, struct arena *a, const struct mem_series *s,
                             struct labels *ret);
static inline const char *head_sym(const struct head *h, uint32_t id)
{
    return h->sym_base + id;
}
/* Closed chunks of s; series lock held. */
static inline uint32_t head_series_n_closed(const struct mem_series *s)
{
    uint32_t n = 0;
    for (const struct head_chunk *c = s->closed; c; c = c->older)
        n++;
    return n;
}
int head_name_eq(const void *item, const void *key); /* index_name vs a C string */
/* The postings entry of name=value (any strings) without scanning the name's values, or NULL;
 * index lock held. */
struct index_value *head_find_value(struct head *h, const char *name, const char *value);
static inline struct index_value *index_name_at(const struct index_name *n, uint32_t i)
{
    return n->slots[i];
}
/* Drops n's values left without series (releasing them), after reflist_filter(); index write
 * lock held. */
void index_name_prune(struct head *h, struct index_name *n);
void head_stats(struct head *h, struct tsdb_stats *st);
void head_status(struct head *h, struct tsdb_head_status *st);
void head_count_rejected(struct head *h, int code);

/* head_mem.c: the head's memory by holder, in allocated bytes (allocator rounding and headers
 * included); takes every lock in turn, so for benchmarks and diagnostics, not hot paths. */
struct head_mem {
    uint64_t n_series, n_closed, closed_samples, open_samples;
    size_t series_structs; /* struct mem_series with its labels */
    size_t open_chunks, open_used; /* open chunks' buffers: allocated, and bytes written */
    size_t closed_headers, closed_data; /* closed chunks' descriptors and bytes */
    size_t chunk_pool;                  /* the pool's mapped regions holding them */
    size_t series_hash, page_table, postings, symbols;
};
void head_memory(struct head *h, struct head_mem *m);

#endif
