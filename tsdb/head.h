/* tsdb/head.h — the in-memory block of recent data (module-internal to tsdb/).
 *
 * Series live in a striped hash table (keyed by label hash, one mutex per stripe) and in a
 * page table indexed by series reference, which readers use without taking stripe locks. Each
 * series has its own mutex guarding its chunks: closed chunks are immutable once published, the
 * open chunk is copied out under the lock by readers. The label index (postings per name/value
 * pair) sits behind one rwlock; refs are assigned under it in increasing order so every postings
 * list stays sorted by construction.
 * Lock order: stripe → index; series locks are never held together with the others. */
#ifndef EMBER_TSDB_HEAD_H
#define EMBER_TSDB_HEAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "tsdb/chunk_xor.h"
#include "tsdb/postings.h"
#include "tsdb/tsdb.h"

struct tsdb_chunk_ref {
    const uint8_t *data;
    uint32_t len;
    uint32_t n;
    int64_t mint, maxt;
};

struct mem_series {
    uint64_t ref;
    uint64_t hash;
    struct labels labels; /* interned strings; v owned by the series */
    pthread_mutex_t lock;
    /* guarded by lock: */
    struct tsdb_chunk_ref *closed;
    uint32_t n_closed, cap_closed;
    struct xor_enc open;
    int64_t open_mint;
    int64_t maxt;      /* newest timestamp; INT64_MIN when empty */
    uint64_t last_bits; /* value bits of the newest sample, for duplicate detection */
};

#define HEAD_STRIPES 256
#define HEAD_PAGE_BITS 12
#define HEAD_PAGES 65536 /* x 4096 refs per page: 268M series */

struct head_stripe {
    pthread_mutex_t lock;
    struct hmap series; /* items: struct mem_series*, keyed by label hash */
};

/* One label name in the index, with all its values. */
struct index_name {
    const char *name;      /* interned */
    struct index_value **values;
    uint32_t n_values, cap_values;
};
struct index_value {
    const char *name, *value; /* interned */
    uint64_t *refs;           /* sorted ascending */
    uint32_t n, cap;
};

struct head {
    uint32_t chunk_samples;
    struct symtab *symtab;
    struct head_stripe stripes[HEAD_STRIPES];
    struct mem_series **_Atomic pages[HEAD_PAGES];

    pthread_rwlock_t index_lock;
    /* guarded by index_lock: */
    uint64_t last_ref;
    struct hmap names;  /* items: struct index_name*, keyed by hash_bytes(name) */
    struct hmap values; /* items: struct index_value*, keyed by (name, value) pointers */
    uint64_t *all_refs;
    uint64_t n_all, cap_all;

    _Atomic uint64_t n_series, n_chunks, samples_appended, out_of_order, duplicates, chunk_bytes;
    _Atomic int64_t mint, maxt;
};

int head_new(uint32_t chunk_samples, struct head **ret);
void head_free(struct head *h);

/* Finds or creates the series for ls (sorted, valid). ret_created says whether it is new. */
int head_get_or_create(struct head *h, const struct labels *ls, struct mem_series **ret,
                       int *ret_created, struct err *e);
struct mem_series *head_series_by_ref(struct head *h, uint64_t ref); /* NULL if unknown */
/* Appends one sample under the series lock. 0, ERR_OUT_OF_ORDER, ERR_DUPLICATE, 1 = exact
 * duplicate ignored, or -ENOMEM. */
int head_series_append(struct head *h, struct mem_series *s, int64_t t, double v);

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

int head_name_eq(const void *item, const void *key); /* index_name vs a C string */
void head_stats(struct head *h, struct tsdb_stats *st);
void head_count_rejected(struct head *h, int code);

#endif
