/* tsdb/split_enc.h — a series' samples as split block chunks (values records plus shared
 * timestamp records, block_chunk.c), one chunk per aligned window, for the block writers of head
 * cuts (storage.c) and compactions (compact.c). Module-internal to tsdb/.
 *
 * Chunk boundaries depend only on the timestamps (aligned windows, then max_samples per chunk
 * from the window's first sample), so series scraped together get equal timestamp records and
 * the block writer stores each once per chunk file. A histogram bucket's chunk may be stored
 * relative to another bucket's of the same histogram (block format 3; see split_enc.c). */
#ifndef EMBER_TSDB_SPLIT_ENC_H
#define EMBER_TSDB_SPLIT_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/block.h"

struct split_enc;

/* window_ms > 0: chunk windows are [k * window_ms, (k + 1) * window_ms); max_samples in
 * 1..BLOCK_CHUNK_MAX_SAMPLES; zstd_level 1..19. -ENOMEM. */
int split_enc_new(int64_t window_ms, uint32_t max_samples, int zstd_level,
                  struct split_enc **ret);
void split_enc_free(struct split_enc *s); /* NULL is fine */

/* Encodes t/v[0..n) (n >= 1, t strictly ascending) of the series ls. Series come in the block's
 * label order. *ret (n_ret chunks) is borrowed until the next call or split_enc_free(). */
int split_enc_series(struct split_enc *s, const struct labels *ls, const int64_t *t,
                     const double *v, size_t n, struct block_chunk **ret, size_t *ret_n,
                     struct err *e);

/* Whether chunks c[0..n) of series ls are already in split_enc's form for this window and size,
 * so that a compaction may copy them as stored: split, one window each, a window's chunks full
 * (max_samples) but for its last, and not a histogram bucket (those are encoded again, as the
 * candidates of their family's later buckets). */
int split_enc_is_split(const struct labels *ls, const struct block_chunk *c, size_t n,
                       int64_t window_ms, uint32_t max_samples);

#endif
