/* tsdb/index.h — a block's index file (module-internal to tsdb/): the reader (index.c) and what
 * the writer (block_writer.c) needs to produce it.
 *
 * Byte format (integers big-endian unless uvarint/zz, which are as in tsdb/base/buf.h):
 *   file     := magic "EMBI" version:u8 (3; 1 and 2 are read) 0:u8[3] section{5} toc
 *             | magic "EMBI" version:u8 (2 or 3) 1:u8 0:u8[2] raw_len:u64be crc:u32be zstd_frame
 *               (versions 2 and 3): the first form, raw_len bytes, compressed as one zstd frame; crc
 *               covers the frame. Readers decompress it into memory when the block opens.
 *   section  := payload crc:u32be                 crc = crc32c(payload)
 *   toc      := (off:u64be len:u64be){5} n_series:u64be base_t:i64be crc:u32be
 *               the 5 sections' payload offsets and lengths in file order: symbols, series,
 *               series offsets, postings, label index; base_t is the block's mint; crc covers
 *               the toc's first 96 bytes. The toc is the last 100 bytes of the file.
 *   symbols  := count:u32be off:u32be[count] strings: every label name and value once, sorted
 *               bytewise, each NUL-terminated; off[i] is string i's offset in the payload. A
 *               symbol reference is the index i.
 *   series   := entry per series, ids 0..n_series-1 in label order:
 *               nl:uvarint (name:uvarint value:uvarint){nl}   symbol refs, sorted by name
 *               nc:uvarint desc{nc}                            chunks in time order
 *     desc   := file:uvarint off:uvarint|zz len:uvarint n:uvarint mint:zz span:uvarint|zz
 *               [version >= 2: ts:uvarint [ts != 0: ts_len:uvarint
 *                                          [version 3: ref:uvarint [ref != 0: ref_len:uvarint]]]]
 *               file: chunk file index (chunks/000001 is 0) minus the previous desc's (0 for
 *               the first); off: byte offset in that file minus the previous chunk's end when
 *               in the same file (version 3: zz, as chunks with equal values records share one
 *               record, which may lie before the previous chunk). The first desc: mint - base_t, and maxt - mint (uvarint).
 *               Later ones, with step = the previous chunk's (maxt - mint) / (n - 1) (0 when
 *               n = 1): mint - (previous maxt + step), and (maxt - mint) - step * (n - 1),
 *               both modulo 2^64; mint > previous maxt and maxt >= mint must hold.
 *               ts = 0: the chunk holds its timestamps; else it holds only values and its
 *               timestamps are the timestamp record of ts_len bytes at byte offset ts of
 *               the same chunk file (block_chunk.c; records are shared between series).
 *               ref = 0: the values stand alone; else they are relative to the values record
 *               of ref_len bytes at byte offset ref of the same file (block_chunk_decode3).
 *   series offsets := n_series x u32be, or x u64be when the series payload reaches 4 GiB (the
 *               width is len / n_series): each series entry's offset in the series payload.
 *   postings := per label pair, in label index order: count:uvarint then the series ids,
 *               ascending, as uvarint deltas (the first as is).
 *   label index := n_names:u32be (name:u32be first:u32be count:u32be){n_names}
 *               (value:u32be postings:u32be){sum of counts}
 *               names sorted and unique; a name's values are entries first..first+count-1,
 *               sorted and unique; postings is the pair's list offset in the postings payload.
 * The reader checks at open the header, toc, every section's CRC, the symbol table (bounds,
 * NUL terminators, order), the series offsets and the whole label index; series entries and
 * postings lists are bounds-checked when a query reads them. */
#ifndef EMBER_TSDB_INDEX_H
#define EMBER_TSDB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/block.h"
#include "tsdb/postings.h"

#define INDEX_MAGIC "EMBI"
#define INDEX_VERSION 3
#define INDEX_MIN_VERSION 1
#define INDEX_HEADER_LEN 8
#define INDEX_TOC_LEN 100
#define INDEX_FLAG_ZSTD 1
#define INDEX_ZHEADER_LEN 20
#define INDEX_ZMAX (UINT64_C(1) << 32) /* largest decompressed index accepted */
enum { INDEX_SYMBOLS, INDEX_SERIES, INDEX_SERIES_OFFSETS, INDEX_POSTINGS, INDEX_LABELS,
       INDEX_SECTIONS };

/* A chunk as the index describes it. */
struct index_chunk {
    uint32_t file; /* chunks/%06u is file + 1 */
    uint64_t off;
    uint32_t len, n;
    int64_t mint, maxt; /* inclusive */
    uint64_t ts_off;    /* 0: timestamps in the chunk; else its timestamp record's offset */
    uint32_t ts_len;
    uint64_t ref_off;   /* 0: values stand alone; else relative to the values record there */
    uint32_t ref_len;
};

/* Appends one chunk descriptor (desc above, version INDEX_VERSION); prev is the series'
 * previous chunk or NULL. */
int index_put_chunk(struct buf *b, int64_t base_t, const struct index_chunk *prev,
                    const struct index_chunk *c);

/* Readers may be shared by threads: every function below only reads r. */
uint64_t index_n_series(const struct index_reader *r);
/* Sorted series ids matching all matchers, with the head's semantics: matchers that match the
 * empty string only exclude; n_ms == 0 selects every series. ERR_LIMIT when a is full,
 * ERR_CORRUPT when a postings list is damaged. */
int index_postings(const struct index_reader *r, struct arena *a, const struct matcher *ms,
                   size_t n_ms, struct postings *ret, struct err *e);
/* Series id's chunks overlapping [mint, maxt] into an arena array, and when there is at least
 * one, its labels (arena copies; ret_ls is left alone when *ret_n is 0). ERR_CORRUPT when the
 * entry is damaged. */
int index_series(const struct index_reader *r, struct arena *a, uint64_t id, int64_t mint,
                 int64_t maxt, struct labels *ret_ls, struct index_chunk **ret_chunks,
                 uint32_t *ret_n, struct err *e);
/* Sorted label names, and the sorted values of one name, as arena copies. */
int index_label_names(const struct index_reader *r, struct arena *a, const char ***ret,
                      size_t *ret_n, struct err *e);
int index_label_values(const struct index_reader *r, struct arena *a, const char *name,
                       const char ***ret, size_t *ret_n, struct err *e);

#endif
