/* tsdb/block.h — immutable on-disk blocks (module-internal to tsdb/).
 *
 * A block is a directory named by its ULID under the data directory:
 *     meta.json        time range, counts, compaction level, format version
 *     index            symbol table, series (labels + chunk descriptors), postings, checksummed
 *     chunks/000001..  block chunks back to back
 *     tombstones       optional: deleted intervals per series (written by delete_series)
 * Block chunks hold up to a few hundred samples of one series in ember's dense encoding
 * (chunk_dense.c), compressed with zstd, behind a CRC32C; the index gives each chunk's file,
 * offset, length, sample count and time range. Readers map the files and copy nothing but what a
 * query asks for. docs/storage-format.md is the full description. */
#ifndef EMBER_TSDB_BLOCK_H
#define EMBER_TSDB_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

/* Written by this build; blocks of every version from BLOCK_FORMAT_MIN_VERSION on are read
 * (users upgrade in place). */
#define BLOCK_FORMAT_VERSION 3
#define BLOCK_FORMAT_MIN_VERSION 1
#define BLOCK_ULID_LEN 26
/* Most samples one block chunk may hold: the encoder refuses more (ERR_LIMIT), readers treat a
 * larger count in the index as corruption, so a decoder's arrays stay bounded (1 MiB). */
#define BLOCK_CHUNK_MAX_SAMPLES 65536

/* One encoded chunk: the bytes as stored (CRC32C + zstd frame of the dense encoding). A split
 * chunk (format 2) holds only values; ts then points at its timestamp record (shared by the
 * series scraped at the same instants), else ts is NULL and ts_len 0. */
struct block_chunk {
    int64_t mint, maxt; /* inclusive */
    uint32_t n;         /* samples */
    uint32_t len;
    const uint8_t *data;
    const uint8_t *ts;
    uint32_t ts_len;
    /* Format 3: a split chunk may hold its values relative to those of another split chunk of
     * the same timestamps (a histogram's lower bucket), whose stored values record this is
     * (block_chunk_decode3); else NULL and 0. */
    const uint8_t *ref;
    uint32_t ref_len;
};

/* Encodes n samples (t strictly ascending) into one chunk's stored bytes, appended to out.
 * zstd_level: 1..19 (compaction may spend more than a head cut), or 0 for the dense bytes as
 * they are (a head chunk that will be merged again: block_chunk_compress() at the end). */
int block_chunk_encode(struct buf *out, const int64_t *t, const double *v, uint32_t n,
                       int zstd_level, struct err *e);
/* A chunk of block_chunk_encode() with zstd_level 0, zstd-compressed (1..19) into out when that
 * is smaller: 1 then, else 0 with out untouched. */
int block_chunk_compress(struct buf *out, const uint8_t *data, size_t len, int zstd_level,
                         struct err *e);
/* The split form: the values record appended to vals, the timestamp record to times. */
int block_chunk_encode_split(struct buf *vals, struct buf *times, const int64_t *t,
                             const double *v, uint32_t n, int zstd_level, struct err *e);
/* Encodes v[0..n) relative to ref[0..n), the values of another chunk with the same timestamps,
 * as a values record appended to vals (decoded by block_chunk_decode3 with that chunk's record
 * as ref). 1, appending nothing, when some value cannot be expressed that way bit for bit
 * (-0.0 over 0, sums that round); the caller encodes v alone then. */
int block_chunk_encode_rel(struct buf *vals, const double *v, const double *ref, uint32_t n,
                           int zstd_level, struct err *e);
/* Decodes a chunk's stored bytes into t[0..n) and v[0..n) (n from the chunk descriptor).
 * ERR_CORRUPT, with a message, on a checksum mismatch or malformed data; never reads outside
 * [data, data + len). Uses a per-thread zstd context. */
int block_chunk_decode(const uint8_t *data, size_t len, uint32_t n, int64_t *t, double *v,
                       struct err *e);
/* The same for a split chunk when ts is not NULL (its timestamp record, ts_len bytes): never
 * reads outside either. A split chunk without ts, or a whole one with ts, is ERR_CORRUPT. */
int block_chunk_decode2(const uint8_t *data, size_t len, const uint8_t *ts, size_t ts_len,
                        uint32_t n, int64_t *t, double *v, struct err *e);
/* The same for a split chunk whose values are relative to the values record ref (ref_len
 * bytes, a split chunk's of the same n and timestamps) when ref is not NULL. */
int block_chunk_decode3(const uint8_t *data, size_t len, const uint8_t *ts, size_t ts_len,
                        const uint8_t *ref, size_t ref_len, uint32_t n, int64_t *t, double *v,
                        struct err *e);

struct block_meta {
    char ulid[BLOCK_ULID_LEN + 1];
    int64_t mint, maxt; /* inclusive: every sample t has mint <= t <= maxt */
    uint64_t n_series, n_chunks, n_samples;
    uint32_t level;     /* 1: cut from the head or imported; +1 per compaction */
    uint32_t version;
};

/* Reads a meta.json's bytes s[0..n) (block_open does; exposed for its fuzz target): strict JSON,
 * unknown keys skipped, every field above required and checked; ERR_CORRUPT says which. */
int block_meta_parse(const char *s, size_t n, struct block_meta *m, struct err *e);

/* Writing. Series must be added in strictly ascending labels_cmp order; each series' chunks in
 * time order and not overlapping. Everything goes to <parent>/<ulid>.tmp; finish fsyncs the
 * files and the directory and renames it to <parent>/<ulid>, so a crash leaves no block or a
 * whole one (a leftover *.tmp directory is removed by block_cleanup_tmp()). */
struct block_writer;
int block_writer_open(const char *parent, int64_t mint, int64_t maxt, uint32_t level,
                      struct block_writer **ret, struct err *e);
int block_writer_add_series(struct block_writer *w, const struct labels *ls,
                            const struct block_chunk *chunks, size_t n, struct err *e);
/* On success the block is in place and its meta (with the ULID) is in *ret_meta. Frees w. */
int block_writer_finish(struct block_writer *w, struct block_meta *ret_meta, struct err *e);
void block_writer_abort(struct block_writer *w); /* removes the tmp directory; NULL is fine */
/* Removes <parent>/<name>.tmp directories left by a crash. */
int block_cleanup_tmp(const char *parent, struct err *e);
/* Closes chunk files before they pass max_bytes instead of 512 MiB (tests use it to write
 * blocks with several chunk files). */
void block_writer_set_chunk_file_size(struct block_writer *w, uint64_t max_bytes);

/* Reading. A block is opened once and shared by queriers (the caller refcounts). */
struct block;
/* Maps and validates meta, index (section checksums, bounds) and chunk files; ERR_CORRUPT with
 * the file and reason when the block cannot be used. */
int block_open(const char *dir, struct block **ret, struct err *e);
void block_close(struct block *b); /* NULL is fine */
const struct block_meta *block_meta(const struct block *b);
const char *block_dir(const struct block *b);
uint64_t block_size_bytes(const struct block *b); /* all files, for size-based retention */

struct block_series {
    struct labels labels;       /* arena copies */
    struct block_chunk *chunks; /* arena array; data points into the block's mapping */
    uint32_t n_chunks;
};
/* Series matching all matchers (n_ms == 0: every series) that have a chunk overlapping
 * [mint, maxt], with just those chunks, sorted by labels. ERR_LIMIT when a is over its cap,
 * ERR_CORRUPT when the index is damaged where the query reads it. */
int block_select(struct block *b, struct arena *a, const struct matcher *ms, size_t n_ms,
                 int64_t mint, int64_t maxt, struct block_series **ret, size_t *ret_n,
                 struct err *e);
/* Sorted unique label names / values of one label over all series of the block. */
int block_label_names(struct block *b, struct arena *a, const char ***ret, size_t *ret_n,
                      struct err *e);
int block_label_values(struct block *b, struct arena *a, const char *name, const char ***ret,
                       size_t *ret_n, struct err *e);

/* The index alone, for the fuzz target and the block reader: parses and validates an index held
 * in memory (p stays owned by the caller and must outlive the returned object). */
struct index_reader;
int index_reader_open(const uint8_t *p, size_t n, struct index_reader **ret, struct err *e);
void index_reader_close(struct index_reader *r);

#endif
