/* tsdb/compact.c — merging blocks into larger ones, on the storage thread.
 *
 * Ranges grow by threes from the block range (2h, 6h, 18h, 54h, ...), capped at a tenth of the
 * retention time as in Prometheus, so retention still deletes in small steps. A window is
 * compacted once the head has moved past it (no cut will add to it) and it holds two or more
 * blocks. Blocks that overlap in time (an import over existing data, or a crash between a
 * compaction's new block and the removal of its sources) are merged first, whatever their size.
 *
 * A compaction's output keeps each series' samples in split chunks (values only, timestamps in
 * a record shared by every series with the same timestamps: a target's series) that cover one
 * aligned SPLIT_WINDOW each (6 h, at most SPLIT_MAX samples): per-chunk framing and descriptors
 * are paid once per 6 h instead of per 2 h, and a target's scrape times are stored once per
 * window instead of once per series. Chunks whose boundaries depend only on the timestamps
 * make equal timestamp records for series scraped together. Sources already in that form (an
 * 18 h compaction of 6 h blocks) are copied as stored, the rest (2 h blocks from head cuts and
 * imports, overlaps, deletions) are decoded, merged (the earlier block wins on equal
 * timestamps) and encoded again. Queriers keep reading the
 * source blocks until they close; the new block serves new queriers from the moment it is
 * listed, and the iterator's skip of repeated timestamps hides the instant where both are. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/split_enc.h"

#define COMPACT_ZSTD_LEVEL 6
#define SPLIT_WINDOW (6 * 3600 * 1000LL)
/* 6 h at 5 s is 4320 samples: two chunks; an instant query decodes at most this per series */
#define SPLIT_MAX 4096
#define MAX_LEVELS 8

struct merge_src {
    struct block_series *s;
    size_t n, i;
    int take; /* its current series is the one being merged */
};

struct merge_buf {
    int64_t *t;
    double *v;
    size_t n, cap;
    struct split_enc *enc;
};

static int chunks_overlap(const struct block_chunk *c, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (c[i].mint <= c[i - 1].maxt)
            return 1;
    return 0;
}

/* What a rewrite leaves out: samples of series matching ms in [mint, maxt] (delete_series). */
struct deletion {
    const struct matcher *ms;
    size_t n_ms;
    int64_t mint, maxt;
};

static int deletion_applies(const struct deletion *d, const struct labels *ls,
                            const struct block_chunk *c, size_t n)
{
    if (!d)
        return 0;
    for (size_t i = 0; i < d->n_ms; i++) {
        const char *v = labels_get(ls, d->ms[i].name);
        if (!matcher_matches(&d->ms[i], v ? v : ""))
            return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (c[i].maxt >= d->mint && c[i].mint <= d->maxt)
            return 1;
    return 0;
}

static int64_t floor_to(int64_t t, int64_t r)
{
    return t - ((t % r) + r) % r;
}

/* Decodes all chunks, keeps the first sample per timestamp (and none in del's range),
 * re-encodes as split chunks; *ret points into mb, *ret_n may be 0. */
static int merge_chunks(struct merge_buf *mb, const struct labels *ls, const struct block_chunk *c,
                        size_t n, const struct deletion *del, struct block_chunk **ret,
                        size_t *ret_n, struct err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i].n;
    if (total > mb->cap) {
        int64_t *t = realloc(mb->t, total * 2 * sizeof *t);
        if (t)
            mb->t = t;
        double *v = t ? realloc(mb->v, total * 2 * sizeof *v) : NULL;
        if (!v)
            return err_set(e, -ENOMEM, "out of memory merging chunks");
        mb->v = v;
        mb->cap = total * 2;
    }
    /* Scratch for one chunk in the upper half; merged result grows in the lower half. */
    mb->n = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t *ct = mb->t + total;
        double *cv = mb->v + total;
        if (block_chunk_decode3(c[i].data, c[i].len, c[i].ts, c[i].ts_len, c[i].ref,
                                c[i].ref_len, c[i].n, ct, cv, e) < 0)
            return -1;
        /* Insert-merge: chunks are mostly in order, so this is near linear. */
        for (uint32_t j = 0; j < c[i].n; j++) {
            if (del && ct[j] >= del->mint && ct[j] <= del->maxt)
                continue;
            size_t at = mb->n;
            while (at > 0 && mb->t[at - 1] > ct[j])
                at--;
            if (at > 0 && mb->t[at - 1] == ct[j])
                continue; /* an earlier block has this timestamp */
            memmove(mb->t + at + 1, mb->t + at, (mb->n - at) * sizeof *mb->t);
            memmove(mb->v + at + 1, mb->v + at, (mb->n - at) * sizeof *mb->v);
            mb->t[at] = ct[j];
            mb->v[at] = cv[j];
            mb->n++;
        }
    }
    *ret_n = 0;
    if (mb->n == 0)
        return 0;
    return split_enc_series(mb->enc, ls, mb->t, mb->v, mb->n, ret, ret_n, e);
}

/* Writes the union of the sources' series as one block, less what del names (may be NULL). */
static int merge_blocks(tsdb *db, struct db_block **v, size_t n, const struct deletion *del,
                        struct block_meta *ret_meta, struct err *e)
{
    struct arena *a = arena_new(0);
    struct merge_src *src = calloc(n, sizeof *src);
    struct merge_buf mb = {0};
    struct block_chunk *all = NULL;
    size_t cap_all = 0;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    uint32_t level = 0;
    int r = a && src ? 0 : err_set(e, -ENOMEM, "out of memory compacting");
    if (r == 0 && split_enc_new(SPLIT_WINDOW, SPLIT_MAX, COMPACT_ZSTD_LEVEL, &mb.enc) < 0)
        r = err_set(e, -ENOMEM, "out of memory compacting");
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct block_meta *m = block_meta(v[i]->b);
        mint = m->mint < mint ? m->mint : mint;
        maxt = m->maxt > maxt ? m->maxt : maxt;
        level = m->level > level ? m->level : level;
        r = block_select(v[i]->b, a, NULL, 0, INT64_MIN, INT64_MAX, &src[i].s, &src[i].n, e);
    }
    struct block_writer *w = NULL;
    if (r == 0)
        r = block_writer_open(db->dir, mint, maxt, del ? level : level + 1, &w, e);
    while (r == 0) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (src[i].i < src[i].n &&
                (best == n ||
                 labels_cmp(&src[i].s[src[i].i].labels, &src[best].s[src[best].i].labels) < 0))
                best = i;
        if (best == n)
            break;
        const struct labels *ls = &src[best].s[src[best].i].labels;
        size_t k = 0;
        for (size_t i = best; i < n; i++) {
            if (src[i].i == src[i].n || !labels_equal(&src[i].s[src[i].i].labels, ls))
                continue;
            const struct block_series *bs = &src[i].s[src[i].i];
            src[i].take = 1;
            if (k + bs->n_chunks > cap_all) {
                size_t nc = (k + bs->n_chunks) * 2;
                struct block_chunk *p = realloc(all, nc * sizeof *p);
                if (!p) {
                    r = err_set(e, -ENOMEM, "out of memory compacting");
                    break;
                }
                all = p;
                cap_all = nc;
            }
            memcpy(all + k, bs->chunks, bs->n_chunks * sizeof *all);
            k += bs->n_chunks;
        }
        struct block_chunk *chunks = all;
        size_t n_chunks = k;
        int drop = deletion_applies(del, ls, all, k);
        if (r == 0 && (drop || chunks_overlap(all, k) ||
                       !split_enc_is_split(ls, all, k, SPLIT_WINDOW, SPLIT_MAX)))
            r = merge_chunks(&mb, ls, all, k, drop ? del : NULL, &chunks, &n_chunks, e);
        if (r == 0 && n_chunks)
            r = block_writer_add_series(w, ls, chunks, n_chunks, e);
        for (size_t i = best; i < n; i++) { /* only now: ls points into src[best] */
            src[i].i += src[i].take;
            src[i].take = 0;
        }
    }
    if (r == 0)
        r = block_writer_finish(w, ret_meta, e);
    else
        block_writer_abort(w);
    free(all);
    free(mb.t);
    free(mb.v);
    split_enc_free(mb.enc);
    free(src);
    arena_free(a);
    return r;
}

/* Picks blocks to merge: [*ret_first, *ret_first + *ret_n) of v (sorted by mint), or 0. */
static int plan(tsdb *db, struct db_block **v, size_t n, size_t *ret_first, size_t *ret_n)
{
    /* Overlapping blocks first. */
    for (size_t i = 0; i + 1 < n; i++) {
        int64_t end = block_meta(v[i]->b)->maxt;
        size_t j = i + 1;
        while (j < n && block_meta(v[j]->b)->mint <= end) {
            int64_t m = block_meta(v[j]->b)->maxt;
            end = m > end ? m : end;
            j++;
        }
        if (j > i + 1) {
            *ret_first = i;
            *ret_n = j - i;
            return 1;
        }
    }
    int64_t base = db_block_range(db);
    int64_t cap = db->opts.retention_ms > 0 ? db->opts.retention_ms / 10 : INT64_MAX;
    int64_t settled = atomic_load(&db->head->min_valid); /* cuts only add at or after this */
    int64_t range = base;
    for (int lvl = 1; lvl < MAX_LEVELS; lvl++) {
        if (range > INT64_MAX / 3 || range * 3 > cap)
            break;
        range *= 3;
        for (size_t i = 0; i < n;) {
            int64_t w = floor_to(block_meta(v[i]->b)->mint, range);
            size_t j = i;
            int fits = 1;
            while (j < n && floor_to(block_meta(v[j]->b)->mint, range) == w) {
                fits &= block_meta(v[j]->b)->maxt < w + range;
                j++;
            }
            if (fits && j - i >= 2 && w + range <= settled) {
                *ret_first = i;
                *ret_n = j - i;
                return 1;
            }
            i = j;
        }
    }
    return 0;
}

int db_compact(tsdb *db, struct err *e)
{
    if (!db->dir)
        return 0;
    struct db_block **v;
    size_t n, first, k;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return err_set(e, -ENOMEM, "out of memory planning compaction");
    int r = plan(db, v, n, &first, &k);
    if (r == 1) {
        int64_t t0 = time_mono_ns();
        struct block_meta meta;
        struct block *b = NULL;
        char path[4096];
        r = merge_blocks(db, v + first, k, NULL, &meta, e);
        if (r == 0) {
            snprintf(path, sizeof path, "%s/%s", db->dir, meta.ulid);
            r = block_open(path, &b, e);
        }
        if (r == 0 && (r = db_blocks_add(db, b)) < 0)
            err_set(e, r, "out of memory listing the compacted block");
        if (r == 0) {
            db_blocks_remove(db, v + first, k);
            atomic_fetch_add(&db->compactions, 1);
            LOG_INFO("tsdb", "blocks compacted",
                     "block=%s sources=%zu mint=%lld maxt=%lld level=%u duration_ms=%lld",
                     meta.ulid, k, (long long) meta.mint, (long long) meta.maxt, meta.level,
                     (long long) ((time_mono_ns() - t0) / 1000000));
            r = 1;
        }
    }
    db_blocks_release(v, n);
    return r;
}

int db_delete_from_block(tsdb *db, struct db_block *d, const struct matcher *ms, size_t n_ms,
                         int64_t mint, int64_t maxt, struct err *e)
{
    struct deletion del = {ms, n_ms, mint, maxt};
    struct block_meta meta;
    struct block *b = NULL;
    char path[4096];
    int r = merge_blocks(db, &d, 1, &del, &meta, e);
    if (r == 0) {
        snprintf(path, sizeof path, "%s/%s", db->dir, meta.ulid);
        r = block_open(path, &b, e);
    }
    if (r == 0 && (r = db_blocks_add(db, b)) < 0)
        err_set(e, r, "out of memory listing the rewritten block");
    if (r == 0)
        db_blocks_remove(db, &d, 1);
    return r;
}
