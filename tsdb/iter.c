/* tsdb/iter.c — the sample iterator over one selected series' chunks: head chunks decode as a
 * bit stream, block chunks are decoded whole into reusable arrays (they are small and zstd
 * wants the whole frame anyway).
 *
 * Chunks arrive in time order of their sources; where sources overlap (the moment between a
 * head cut and the head's truncation, an imported block over existing data) a timestamp already
 * returned is skipped, so no sample is ever seen twice. A block chunk that fails to decode is
 * skipped with a warning and counted: one damaged spot must not make every query over it fail. */
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

/* Prepares chunk it->chunk for reading; 0 when ready, < 0 when it was skipped as damaged. */
static int open_chunk(struct tsdb_iter *it)
{
    const struct tsdb_chunk_ref *c = &it->s->chunks[it->chunk];
    if (c->enc == CHUNK_ENC_XOR) {
        xor_dec_init(&it->dec, c->data, c->len, c->n);
        return 0;
    }
    it->bn = it->bi = 0;
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
    struct err e = {0};
    if (block_chunk_decode(c->data, c->len, c->n, it->bt, it->bv, &e) < 0) {
        atomic_fetch_add(&corrupt_chunks, 1);
        LOG_RATELIMITED(LOG_LEVEL_ERROR, "tsdb", "damaged block chunk skipped",
                        "mint=%lld maxt=%lld err=\"%s\"", (long long) c->mint,
                        (long long) c->maxt, e.msg);
        return -1;
    }
    it->bn = c->n;
    return 0;
}

void tsdb_iter_init(struct tsdb_iter *it, const struct tsdb_series *s)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    it->last_t = INT64_MIN;
    it->chunk = 0;
    while (it->chunk < s->n_chunks && open_chunk(it) < 0)
        it->chunk++;
}

void tsdb_iter_close(struct tsdb_iter *it)
{
    free(it->bt);
    free(it->bv);
    it->bt = NULL;
    it->bv = NULL;
    it->bcap = 0;
}

/* The next sample of the current chunk: 1, 0 at its end, ERR_CORRUPT (head chunks only). */
static int chunk_next(struct tsdb_iter *it, int64_t *t, double *v)
{
    if (it->s->chunks[it->chunk].enc == CHUNK_ENC_XOR)
        return xor_dec_next(&it->dec, t, v);
    if (it->bi == it->bn)
        return 0;
    *t = it->bt[it->bi];
    *v = it->bv[it->bi++];
    return 1;
}

static void next_chunk(struct tsdb_iter *it)
{
    while (++it->chunk < it->s->n_chunks && open_chunk(it) < 0)
        ;
}

int tsdb_iter_next(struct tsdb_iter *it)
{
    const struct tsdb_series *s = it->s;
    while (it->chunk < s->n_chunks) {
        int64_t t;
        double v;
        int r = chunk_next(it, &t, &v);
        if (r < 0)
            return r;
        if (r == 0) {
            next_chunk(it);
            continue;
        }
        if (t < s->mint_ms || t <= it->last_t)
            continue;
        if (t > s->maxt_ms) {
            it->chunk = s->n_chunks;
            return 0;
        }
        it->t = t;
        it->v = v;
        it->last_t = t;
        it->started_at_sample = 1;
        return 1;
    }
    return 0;
}

int tsdb_iter_seek(struct tsdb_iter *it, int64_t t_ms)
{
    const struct tsdb_series *s = it->s;
    if (it->started_at_sample && it->t >= t_ms)
        return 1;
    /* Skip whole chunks that end before t_ms without decoding them. */
    if (it->chunk + 1 < s->n_chunks && s->chunks[it->chunk].maxt < t_ms) {
        while (it->chunk + 1 < s->n_chunks && s->chunks[it->chunk].maxt < t_ms)
            it->chunk++;
        it->chunk--;
        next_chunk(it);
    }
    if (it->chunk < s->n_chunks && s->chunks[it->chunk].enc == CHUNK_ENC_BLOCK) {
        /* Decoded arrays: binary search instead of stepping. */
        uint32_t lo = it->bi, hi = it->bn;
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
