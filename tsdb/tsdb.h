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
    uint64_t retention_bytes;  /* blocks + WAL; 0: no size limit */
    uint32_t chunk_samples;    /* samples per open head chunk; 0: default 24; at most 1024 */
    int64_t block_range_ms;    /* head cut granularity; 0: default 2h */
    uint64_t wal_segment_bytes; /* 0: default 32 MiB */
    int64_t tick_ms;           /* storage thread period (WAL fsync, cut, compaction); 0: 1 s */
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
 * borrowed for the call and must be sorted by name with unique names (labels_sort()). ls may be
 * NULL with a cached ref; ERR_NOT_FOUND then says the series left the head (its data went to a
 * block and it received nothing for a block range): call again with its labels. */
int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const struct labels *ls, int64_t t_ms,
                      double v, struct err *e);
/* Applies buffered samples; returns the number rejected (>= 0) or < 0 on failure. Frees a. */
int tsdb_appender_commit(tsdb_appender *a, struct err *e);
void tsdb_appender_rollback(tsdb_appender *a); /* drops buffered samples, frees a; NULL fine */
/* A savepoint: one appender can carry several independent batches (e.g. the scrapes of many
 * targets, for one WAL record) and drop one that failed without the others. mark returns how
 * many samples are buffered; rollback_to drops those added after that mark. */
size_t tsdb_appender_mark(const tsdb_appender *a);
void tsdb_appender_rollback_to(tsdb_appender *a, size_t mark);

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
    /* The newest sample of the series (any time), when the snapshot knows it without decoding:
     * a head series whose last chunk ends with it. Private: read through tsdb_series_last(). */
    int has_last;
    int64_t last_t;
    double last_v;
};

/* For a reader that wants only the last sample at or before maxt_ms (an instant selector at one
 * time): 1 when the series' newest sample is known and at or before maxt_ms, with that sample in
 * ret_t and ret_v: nothing newer exists up to maxt_ms, and every other sample is older. The
 * caller checks the time against the start of its window (it may lie before the querier's). 0
 * when the snapshot cannot tell: iterate. */
static inline int tsdb_series_last(const struct tsdb_series *s, int64_t maxt_ms, int64_t *ret_t,
                                   double *ret_v)
{
    if (!s->has_last || s->last_t > maxt_ms || s->last_t > s->maxt_ms)
        return 0;
    *ret_t = s->last_t;
    *ret_v = s->last_v;
    return 1;
}

/* Series matching all matchers (at least one must not match the empty string, as Prometheus
 * requires), sorted by labels. The array lives in arena a; ERR_LIMIT when a is over its cap. */
int tsdb_querier_select(tsdb_querier *q, struct arena *a, const struct matcher *ms, size_t n_ms,
                        struct tsdb_series **ret_series, size_t *ret_n, struct err *e);
/* The label sets alone of the series tsdb_querier_select() would return (same matcher rule,
 * sorted, unique), without copying any chunk: for /api/v1/series and label listings. */
int tsdb_querier_series_labels(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                               size_t n_ms, struct labels **ret, size_t *ret_n, struct err *e);
/* Label names, and values of one label, over series matching ms (n_ms may be 0: all series);
 * sorted, unique, arena-allocated. */
int tsdb_querier_label_names(tsdb_querier *q, struct arena *a, const struct matcher *ms,
                             size_t n_ms, const char ***ret, size_t *ret_n, struct err *e);
int tsdb_querier_label_values(tsdb_querier *q, struct arena *a, const char *name,
                              const struct matcher *ms, size_t n_ms, const char ***ret,
                              size_t *ret_n, struct err *e);

/* For callers that must neither wait nor run long: opens a querier over
 * [mint, maxt] only when the head alone holds that window (no block overlaps it) and no head
 * truncation or deletion holds the head now. 1 with *ret set; 0 with nothing opened; < 0 on
 * ENOMEM. */
int tsdb_querier_try_open_head(tsdb *db, int64_t mint_ms, int64_t maxt_ms, tsdb_querier **ret,
                               struct err *e);
/* Upper bounds of tsdb_querier_select(q, ms)'s work, from the postings alone: label values the
 * matchers are compared with, series snapshotted, samples decoded (whole chunks overlapping the
 * window). 1 with *ret when each is within lim; 0 when one is not, or cannot be bounded so
 * (a regex that is not a literal, no `=` matcher with a value, a block in the window). */
struct tsdb_select_cost {
    uint64_t values, series, samples;
};
int tsdb_querier_cost_within(tsdb_querier *q, const struct matcher *ms, size_t n_ms,
                             const struct tsdb_select_cost *lim, struct tsdb_select_cost *ret);

/* Iterates one selected series' samples in time order within the querier's window. The struct
 * is public so iterators live on the stack; its fields other than t and v are private. */
struct tsdb_iter {
    int64_t t;
    double v;
    /* private */
    const struct tsdb_series *s;
    uint32_t chunk; /* index of the chunk being read */
    int started_at_sample; /* t/v hold a sample (for seek without moving) */
    int err;               /* a head chunk did not decode: returned once its samples are read */
    int64_t last_t;        /* newest sample returned: overlapping chunks never repeat one */
    /* The current chunk decoded whole (heap arrays reused from chunk to chunk). Samples in
     * [bi, bend) need no checks; those past bend go through tsdb_iter_next_slow(). */
    int64_t *bt;
    double *bv;
    uint32_t bi, bend, bn, bcap;
};
void tsdb_iter_init(struct tsdb_iter *it, const struct tsdb_series *s);
void tsdb_iter_close(struct tsdb_iter *it); /* frees decode buffers; required after init */
int tsdb_iter_next_slow(struct tsdb_iter *it);
/* 1: it->t/it->v hold the next sample; 0: done; < 0: corrupt chunk (ERR_CORRUPT). Inline: a
 * query calls it once per sample, and most calls only step through decoded arrays. */
static inline int tsdb_iter_next(struct tsdb_iter *it)
{
    if (it->bi < it->bend) {
        it->t = it->last_t = it->bt[it->bi];
        it->v = it->bv[it->bi++];
        return 1;
    }
    return tsdb_iter_next_slow(it);
}
/* Advances to the first sample with t >= t_ms; same returns as tsdb_iter_next(). */
int tsdb_iter_seek(struct tsdb_iter *it, int64_t t_ms);

/* Snapshot (admin API): <dir>/snapshots/<name> with hard links to all blocks and, if with_head,
 * the head's data as a block; a data directory of its own. The name goes to ret_name. */
int tsdb_snapshot(tsdb *db, int with_head, char *ret_name, size_t name_cap, struct err *e);

/* delete_series (admin API): removes the samples of series matching ms (n_ms >= 1, one not
 * matching the empty string) in [mint, maxt] from the head and the blocks now. Blocking disk
 * work: a worker thread's job. */
int tsdb_delete_series(tsdb *db, const struct matcher *ms, size_t n_ms, int64_t mint,
                       int64_t maxt, struct err *e);

/* Backfill: old data written straight into blocks under dir (which no running server may be
 * using: the caller checks), for `ember tsdb import`. Any series order; within a series, samples
 * must come in time order (others are skipped and counted in rejected). Blocks cover
 * block_range_ms (0: 18h) aligned windows, chunks 2h ones, as the server's own blocks. */
typedef struct tsdb_backfill tsdb_backfill;
struct tsdb_backfill_stats {
    uint64_t series, samples, rejected, chunks, blocks;
    int64_t mint, maxt;
};
int tsdb_backfill_new(const char *dir, int64_t block_range_ms, tsdb_backfill **ret,
                      struct err *e);
int tsdb_backfill_add(tsdb_backfill *b, const struct labels *ls, int64_t t_ms, double v,
                      struct err *e); /* ls sorted, as for appenders */
/* The same in two steps, for callers that see one series many times in a row: the handle from
 * tsdb_backfill_series() stays valid until finish. */
int tsdb_backfill_series(tsdb_backfill *b, const struct labels *ls, void **ret, struct err *e);
int tsdb_backfill_append(tsdb_backfill *b, void *series, int64_t t_ms, double v,
                         struct err *e);
int tsdb_backfill_finish(tsdb_backfill *b, struct tsdb_backfill_stats *ret, struct err *e);
void tsdb_backfill_free(tsdb_backfill *b); /* NULL is fine */

struct tsdb_stats {
    uint64_t head_series;
    uint64_t head_chunks;
    uint64_t samples_appended;
    uint64_t out_of_order_samples;
    uint64_t out_of_bound_samples; /* older than the head's oldest accepted time */
    uint64_t duplicate_samples;
    uint64_t series_created, series_removed;
    int64_t head_mint_ms, head_maxt_ms; /* INT64_MAX / INT64_MIN when empty */
    uint64_t head_bytes;                /* memory held by head chunks */
    /* Disk (zero without a data directory). */
    uint64_t blocks, block_bytes;
    int64_t blocks_mint_ms; /* oldest block sample; INT64_MAX without blocks */
    uint64_t wal_bytes, wal_corruptions, wal_write_failures;
    uint64_t head_cuts, compactions, compaction_failures, retention_deletions;
    uint64_t corrupt_chunks;  /* block chunks skipped by queries because they fail to decode */
    uint64_t corrupt_blocks;  /* block directories that could not be opened */
    /* WAL segment fsyncs: count and total seconds since open; the 0.5, 0.9 and 0.99 quantiles
     * of those in the last 10 minutes (NaN when none, or without a WAL). */
    uint64_t wal_fsyncs;
    double wal_fsync_seconds_sum;
    double wal_fsync_quantile[3], wal_fsync_seconds[3];
};
void tsdb_stats_get(tsdb *db, struct tsdb_stats *ret);

/* The head's index at a glance, for /api/v1/status/tsdb: the ten largest of each list. Strings
 * are the head's interned ones: valid while the series exist (copy them before the next cut). */
#define TSDB_STATUS_TOP 10
struct tsdb_count {
    const char *name, *value; /* value: only for label pairs */
    uint64_t count;
};
struct tsdb_head_status {
    uint64_t label_pairs;
    struct tsdb_count by_metric[TSDB_STATUS_TOP];      /* series per metric name */
    struct tsdb_count values_by_name[TSDB_STATUS_TOP]; /* distinct values per label name */
    struct tsdb_count bytes_by_name[TSDB_STATUS_TOP];  /* bytes of those values */
    struct tsdb_count by_pair[TSDB_STATUS_TOP];        /* series per label pair */
    size_t n_by_metric, n_values_by_name, n_bytes_by_name, n_by_pair;
};
/* Fills st (zero it first). Takes the index lock shared for one pass over it. */
void tsdb_head_status_get(tsdb *db, struct tsdb_head_status *st);

#endif
