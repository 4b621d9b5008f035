/* tsdb/wal.h — the write-ahead log (module-internal to tsdb/).
 *
 * A WAL directory holds numbered segment files (00000000, 00000001, ...) and at most one
 * checkpoint file (checkpoint.NNNNNNNN). Both are sequences of frames:
 *     u32be payload length | u32be crc32c(payload) | payload
 * and a payload starts with one type byte (enum wal_rec_type, bit 0x80 set when the rest is
 * zstd-compressed). A frame never spans two files. Record bodies are described in wal_record.c
 * and docs/storage-format.md.
 *
 * Writers (appender commits, on any thread) call wal_write() with whole frames; it is
 * thread-safe and does one write(2) per call, so what one call wrote is either wholly in the file
 * or torn at its tail. wal_sync() (fsync) and wal_truncate() belong to the storage thread. */
#ifndef EMBER_TSDB_WAL_H
#define EMBER_TSDB_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"
#include "tsdb/labels.h"

enum wal_rec_type {
    WAL_REC_SERIES = 1,
    WAL_REC_SAMPLES = 2,
    WAL_REC_TOMBSTONES = 3,
};
#define WAL_REC_COMPRESSED 0x80

struct wal_series {
    uint64_t ref;
    struct labels labels;
};
struct wal_sample {
    uint64_t ref;
    int64_t t;
    double v;
};
struct wal_tombstone {
    uint64_t ref;
    int64_t mint, maxt; /* inclusive */
};

/* Encoders: each appends one complete frame to b (compressing the body when that pays). */
int wal_rec_series(struct buf *b, const struct wal_series *s, size_t n);
int wal_rec_samples(struct buf *b, const struct wal_sample *s, size_t n);
int wal_rec_tombstones(struct buf *b, const struct wal_tombstone *t, size_t n);

/* Decoders of one record body (the payload after its type byte, already decompressed). Arrays
 * and label strings are allocated in a. ERR_CORRUPT with a message on malformed input. */
int wal_dec_series(const uint8_t *p, size_t n, struct arena *a, struct wal_series **ret,
                   size_t *ret_n, struct err *e);
int wal_dec_samples(const uint8_t *p, size_t n, struct arena *a, struct wal_sample **ret,
                    size_t *ret_n, struct err *e);
int wal_dec_tombstones(const uint8_t *p, size_t n, struct arena *a, struct wal_tombstone **ret,
                       size_t *ret_n, struct err *e);

/* Replay callback: one valid record (type without the compression bit; body decompressed).
 * Returns the newest sample timestamp the record holds (INT64_MIN if none), which the WAL keeps
 * per segment to know which segments wal_truncate() may delete; < INT64_MIN is impossible, so
 * errors are the callback's own business (it logs and counts them). */
typedef int64_t (*wal_replay_fn)(void *ctx, enum wal_rec_type type, const uint8_t *body,
                                 size_t n);

struct wal_replay_stats {
    uint64_t records;      /* valid records handed to the callback */
    uint64_t corruptions;  /* files cut at a bad frame */
    uint64_t bytes_cut;    /* bytes removed from the ends of damaged files */
    uint32_t segments;     /* segment files read */
};

struct wal;
/* Opens (creating) dir, replays the checkpoint and then every segment in order through fn,
 * and starts a new segment for writes after the last one. A torn or corrupt frame ends that
 * file: it is truncated at the last good frame (logged as a warning, counted in st) and replay
 * goes on with the next file, so one bad spot never loses the segments after it. Fails only on
 * I/O errors (unreadable directory, no space for a new segment). */
int wal_open(const char *dir, uint64_t segment_bytes, wal_replay_fn fn, void *ctx,
             struct wal_replay_stats *st, struct wal **ret, struct err *e);
void wal_close(struct wal *w); /* syncs and closes; NULL is fine */

/* Appends frames (one or more whole frames) to the current segment, moving to a new segment
 * first when they would not fit (a frame larger than a segment gets a segment of its own).
 * maxt: the newest sample timestamp in the frames (INT64_MIN if none). Thread-safe. */
int wal_write(struct wal *w, const void *frames, size_t n, int64_t maxt, struct err *e);
/* fsyncs what has been written so far. Thread-safe; never holds up wal_write() for the fsync. */
int wal_sync(struct wal *w, struct err *e);

/* Drops the WAL's data older than mint: closes the current segment (writes continue in a new
 * one), then takes the longest run of oldest closed segments whose samples are all < mint,
 * writes checkpoint (whole frames: the series records still needed, and tombstones) as
 * checkpoint.<last segment of the run> (temporary file, fsync, rename), and deletes that run and
 * any older checkpoint. Does nothing (and does not write the checkpoint) if no segment qualifies.
 * Storage thread only. */
int wal_truncate(struct wal *w, int64_t mint, const void *checkpoint, size_t n, struct err *e);

struct wal_stats {
    uint32_t first_segment, last_segment; /* last: the one being written */
    uint64_t bytes;                        /* total size of segments and checkpoint */
    uint64_t writes, write_failures, syncs;
};
void wal_stats_get(struct wal *w, struct wal_stats *ret);

/* Segment fsync durations as Prometheus' prometheus_tsdb_wal_fsync_duration_seconds summary:
 * quantiles over the fsyncs of the last WAL_FSYNC_WINDOW_MS (Prometheus' summary window is 10
 * minutes), at most the newest WAL_FSYNC_RING of them; NaN when there were none. Any thread. */
#define WAL_FSYNC_RING 1024
#define WAL_FSYNC_WINDOW_MS INT64_C(600000)
#define WAL_FSYNC_QUANTILES 3
struct wal_fsync_summary {
    uint64_t count;     /* segment fsyncs since open */
    double seconds_sum; /* their total duration */
    double q[WAL_FSYNC_QUANTILES], value[WAL_FSYNC_QUANTILES]; /* 0.5, 0.9, 0.99 */
};
void wal_fsync_summary_get(struct wal *w, struct wal_fsync_summary *ret);

#endif
