/* tsdb/tsdb.h — the storage engine's public API: label sets, matchers, appending samples,
 * querying series. Other folders include only this header (and tsdb/base/base.h).
 *
 * Threads: tsdb_* functions may be called from any thread; appenders and queriers belong to the
 * thread that created them. Disk work (WAL fsync, block writes) runs on the storage thread. */
#ifndef EMBER_TSDB_H
#define EMBER_TSDB_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"
#include "tsdb/chunk_xor.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

typedef struct tsdb tsdb;

struct tsdb_opts {
    const char *dir;           /* data directory; NULL keeps everything in memory (tests) */
    int64_t retention_ms;      /* 0: keep forever */
    uint32_t chunk_samples;    /* samples per head chunk; 0: default 120 */
};

int tsdb_open(const struct tsdb_opts *o, tsdb **ret, struct err *e);
void tsdb_close(tsdb *db); /* NULL is fine */

/* Appending. Samples are buffered in the appender and become visible (all or none) on commit.
 * Appends to one series must be in timestamp order; older or equal-timestamp samples with a
 * different value are rejected on commit and counted (ERR_OUT_OF_ORDER, ERR_DUPLICATE); an exact
 * duplicate (same t, same value bits) is ignored as Prometheus does. */
typedef struct tsdb_appender tsdb_appender;
tsdb_appender *tsdb_appender_new(tsdb *db); /* NULL on ENOMEM */
/* ref: the caller's cached series reference (0 if unknown), updated on success; labels are
 * borrowed for the call and must be sorted by name with unique names (labels_sort()). */
int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const struct labels *ls, int64_t t_ms,
                      double v, struct err *e);
/* Applies buffered samples; returns the number rejected (>= 0) or < 0 on failure. Frees a. */
int tsdb_appender_commit(tsdb_appender *a, struct err *e);
void tsdb_appender_rollback(tsdb_appender *a); /* drops buffered samples, frees a; NULL fine */

/* Querying. A querier is a consistent read view of [mint, maxt] (inclusive, ms); series data it
 * hands out stays valid until tsdb_querier_close(). */
typedef struct tsdb_querier tsdb_querier;
int tsdb_querier_open(tsdb *db, int64_t mint_ms, int64_t maxt_ms, tsdb_querier **ret,
                      struct err *e);
void tsdb_querier_close(tsdb_querier *q); /* NULL is fine */

struct tsdb_chunk_ref; /* private to tsdb */
struct tsdb_series {
    struct labels labels;                /* valid until the querier closes */
    const struct tsdb_chunk_ref *chunks; /* private: what the iterator walks */
    uint32_t n_chunks;
    int64_t mint_ms, maxt_ms;            /* the querier's window */
};

/* Series matching all matchers (at least one must not match the empty string, as Prometheus
 * requires), sorted by labels. The array lives in arena a; ERR_LIMIT when a is over its cap. */
int tsdb_querier_select(tsdb_querier *q, struct arena *a, const struct matcher *ms, size_t n_ms,
                        struct tsdb_series **ret_series, size_t *ret_n, struct err *e);
/* Label names, and values of one label, over series matching ms (n_ms may be 0: all series);
 * sorted, unique, arena-allocated. */
int tsdb_querier_label_names(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                             size_t n_ms, const char ***ret, size_t *ret_n, struct err *e);
int tsdb_querier_label_values(tsdb_querier *q, struct arena *a, const char *name,
                              const struct matcher *ms, size_t n_ms, const char ***ret,
                              size_t *ret_n, struct err *e);

/* Iterates one selected series' samples in time order within the querier's window. The struct
 * is public so iterators live on the stack; its fields other than t and v are private. */
struct tsdb_iter {
    int64_t t;
    double v;
    /* private */
    const struct tsdb_series *s;
    uint32_t chunk; /* index of the chunk being decoded */
    int started_at_sample; /* t/v hold a sample (for seek without moving) */
    struct xor_dec dec;
};
void tsdb_iter_init(struct tsdb_iter *it, const struct tsdb_series *s);
/* 1: it->t/it->v hold the next sample; 0: done; < 0: corrupt chunk (ERR_CORRUPT). */
int tsdb_iter_next(struct tsdb_iter *it);
/* Advances to the first sample with t >= t_ms; same returns as tsdb_iter_next(). */
int tsdb_iter_seek(struct tsdb_iter *it, int64_t t_ms);

struct tsdb_stats {
    uint64_t head_series;
    uint64_t head_chunks;
    uint64_t samples_appended;
    uint64_t out_of_order_samples;
    uint64_t duplicate_samples;
    int64_t head_mint_ms, head_maxt_ms; /* INT64_MAX / INT64_MIN when empty */
    uint64_t head_bytes;                /* memory held by head chunks */
};
void tsdb_stats_get(tsdb *db, struct tsdb_stats *ret);

#endif
