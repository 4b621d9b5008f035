/* tsdb/iter.c — the sample iterator over one selected series' chunks.
 *
 * Chunks arrive in time order of their sources; where sources overlap (the moment between a
 * head cut and the head's truncation, an imported block over existing data) a timestamp already
 * returned is skipped, so no sample is ever seen twice. Every chunk is decoded whole into arrays
 * (head chunks hold ~120 samples; block chunks are one zstd frame), and the run of samples that
 * needs no checks is found once per chunk, so the per-sample step is an inline array read.
 * A block chunk that fails to decode is skipped with a warning and counted: one damaged spot
 * must not make every query over it fail. */
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"

static _Atomic uint64_t corrupt_chunks;

uint64_t iter_corrupt_chunks(void)
{
    return atomic_load(&corrupt_chunks);
}

/* Decodes chunk c whole into it->bt/bv; 0, or < 0 when it cannot be read (it->bn is then 0).
 * A damaged block chunk is skipped and counted; a head chunk that does not decode is a bug
 * reported to the caller (it->err), after the samples before the damage. */
static int decode_chunk(struct tsdb_iter *it, const struct tsdb_chunk_ref *c)
{
    it->bi = it->bend = it->bn = 0;
    if (c->n > it->bcap) {
        int64_t *t = realloc(it->bt, c->n * sizeof *t);
        if (t)
            it->bt = t;
        double *v = t ? realloc(it->bv, c->n * sizeof *v) : NULL;
        if (!v)
            return -1; /* out of memory: reported like damage, the query goes on */
        it->bv = v;
        it->bcap = c->n;
    }
    if (c->enc == CHUNK_ENC_XOR) {
        struct xor_dec d;
        xor_dec_init(&d, c->data, c->len, c->n);
        int r = 1;
        while (it->bn < c->n && (r = xor_dec_next(&d, &it->bt[it->bn], &it->bv[it->bn])) == 1)
            it->bn++;
        if (it->bn < c->n && r < 0)
            it->err = r;
        return 0;
    }
    struct err e = {0};
    if (block_chunk_decode3(c->data, c->len, c->ts, c->ts_len, c->ref, c->ref_len, c->n, it->bt,
                            it->bv, &e) < 0) {
        atomic_fetch_add(&corrupt_chunks, 1);
        LOG_RATELIMITED(LOG_LEVEL_ERROR, "tsdb", "damaged block chunk skipped",
                        "mint=%lld maxt=%lld err=\"%s\"", (long long) c->mint,
                        (long long) c->maxt, e.msg);
        return -1;
    }
    it->bn = c->n;
    return 0;
}

/* Sets [bi, bend): from the first sample that is new (after last_t) and inside the series' time
 * range, while timestamps keep rising and stay inside it. Those samples need no further checks;
 * the rest of the chunk (if any) goes through the checks of tsdb_iter_next_slow(). */
static void set_fast_window(struct tsdb_iter *it)
{
    const struct tsdb_series *s = it->s;
    int64_t from = it->last_t == INT64_MIN ? s->mint_ms
                   : it->last_t + 1 > s->mint_ms ? it->last_t + 1 : s->mint_ms;
    uint32_t lo = it->bi, hi = it->bn;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (it->bt[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    it->bi = lo;
    uint32_t end = lo;
    if (end < it->bn && it->bt[end] <= s->maxt_ms)
        for (end++; end < it->bn && it->bt[end] > it->bt[end - 1] && it->bt[end] <= s->maxt_ms;)
            end++;
    it->bend = end;
}

void tsdb_iter_init(struct tsdb_iter *it, const struct tsdb_series *s)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    it->last_t = INT64_MIN;
    it->chunk = 0; /* the next chunk to decode */
}

void tsdb_iter_close(struct tsdb_iter *it)
{
    free(it->bt);
    free(it->bv);
    it->bt = NULL;
    it->bv = NULL;
    it->bi = it->bend = it->bn = it->bcap = 0;
}

int tsdb_iter_next_slow(struct tsdb_iter *it)
{
    const struct tsdb_series *s = it->s;
    for (;;) {
        if (it->bi < it->bend) /* after a seek moved bi */
            return tsdb_iter_next(it);
        if (it->bi < it->bn) { /* past the fast window: check each sample */
            int64_t t = it->bt[it->bi];
            double v = it->bv[it->bi++];
            if (t < s->mint_ms || t <= it->last_t)
                continue;
            if (t > s->maxt_ms) {
                it->chunk = s->n_chunks;
                it->bi = it->bend = it->bn = 0;
                return 0;
            }
            it->t = it->last_t = t;
            it->v = v;
            it->started_at_sample = 1;
            set_fast_window(it);
            return 1;
        }
        if (it->err) {
            int r = it->err;
            it->err = 0;
            return r;
        }
        if (it->chunk >= s->n_chunks)
            return 0;
        if (decode_chunk(it, &s->chunks[it->chunk++]) == 0) {
            set_fast_window(it);
            if (it->bi < it->bend) {
                it->started_at_sample = 1;
                return tsdb_iter_next(it);
            }
        }
    }
}

int tsdb_iter_seek(struct tsdb_iter *it, int64_t t_ms)
{
    const struct tsdb_series *s = it->s;
    if (it->started_at_sample && it->t >= t_ms)
        return 1;
    /* Whole chunks that end before t_ms are skipped without decoding; so is the rest of the
     * decoded one when it ends before t_ms. */
    if (it->bn == 0 || it->bt[it->bn - 1] < t_ms) {
        it->bi = it->bend = it->bn = 0;
        while (it->chunk < s->n_chunks && s->chunks[it->chunk].maxt < t_ms)
            it->chunk++;
    } else {
        uint32_t lo = it->bi, hi = it->bn; /* binary search in the decoded arrays */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (it->bt[mid] < t_ms)
                lo = mid + 1;
            else
                hi = mid;
        }
        it->bi = lo;
    }
    int r;
    while ((r = tsdb_iter_next(it)) == 1)
        if (it->t >= t_ms)
            break;
    it->started_at_sample = r == 1;
    return r;
}
