/* bench/bench_chunks.c — bytes per sample and encode/decode speed of block chunks (dense + zstd)
 * on a synthetic dataset shaped like node-exporter and web-service metrics, with Gorilla XOR
 * chunks (tsdb/chunk_xor.h) as the reference. Not a test: it prints figures.
 *
 *   bench_chunks [series [hours [chunk_samples [zstd_level [jittered]]]]]
 *                                                     defaults 10000 24 480 3 10
 *   bench_chunks --append [series [hours [runs]]]     defaults 10000 2 5
 *       CPU ns per appended sample, in scrape order (each step, each target's series): the XOR
 *       encoder alone (24-sample chunks, the head's), head_series_append() (lock, encode, open
 *       buffer, cuts to dense chunks) and appenders committing per target on an in-memory tsdb
 *       (no WAL: bench_storage --disk measures that). Each run a fresh head; all runs printed.
 *
 * The dataset is bench/dataset.c's (deterministic); figures are printed per series kind and per
 * timestamp regime, so other mixes can be worked out from them. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tsdb/block.h"
#include "tsdb/chunk_dense.h"
#include "tsdb/chunk_xor.h"
#include "tsdb/head.h"

#include "dataset.h"

struct stats {
    uint64_t samples, bytes, dense_bytes, xor_bytes, chunks, zstd_chunks;
};

/* One encoded chunk in the big buffer, and one series' chunks and identity. */
struct crec {
    uint64_t off;
    uint32_t len, n;
    int64_t mint, maxt;
};
struct sinfo {
    uint32_t first, n_chunks, group, sub;
    int kind, target;
};

/* This thread's CPU time: the figures hold on a machine shared with other work. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t process_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct labels *sort_ls;
static int by_labels(const void *a, const void *b)
{
    return labels_cmp(&sort_ls[*(const uint32_t *) a], &sort_ls[*(const uint32_t *) b]);
}

static void remove_block(const char *parent, const char *ulid)
{
    char path[4096], f[8192];
    snprintf(path, sizeof path, "%s/%s/chunks", parent, ulid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(f, sizeof f, "%s/%s", path, de->d_name);
            (void) unlink(f);
        }
    if (d)
        closedir(d);
    (void) rmdir(path);
    static const char *const files[] = {"index", "meta.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(f, sizeof f, "%s/%s/%s", parent, ulid, files[i]);
        (void) unlink(f);
    }
    snprintf(path, sizeof path, "%s/%s", parent, ulid);
    (void) rmdir(path);
    (void) rmdir(parent);
}

/* Writes everything as one block (labels shaped like a node exporter's and a web service's),
 * prints its size on disk, and the speed of selecting every series and decoding every chunk
 * through it. */
static int block_figures(const struct buf *all, const struct crec *rec, const struct sinfo *si,
                         uint32_t n_series, int64_t mint, int64_t maxt, uint64_t samples)
{
    char parent[] = "/tmp/bench_chunks.XXXXXX";
    if (!mkdtemp(parent))
        return -1;
    struct arena *a = arena_new(0);
    struct labels *ls = arena_alloc(a, n_series * sizeof *ls);
    uint32_t *order = malloc(n_series * sizeof *order);
    struct block_chunk *bc = NULL;
    size_t bc_cap = 0;
    struct err e;
    for (uint32_t i = 0; i < n_series; i++) {
        const struct sinfo *x = &si[i];
        ls[i] = series_labels(a, (enum kind) x->kind, x->group, x->sub, x->target);
        order[i] = i;
    }
    sort_ls = ls;
    qsort(order, n_series, sizeof *order, by_labels);
    struct block_writer *w;
    struct block_meta meta;
    int rc = block_writer_open(parent, mint, maxt, 1, &w, &e);
    for (uint32_t j = 0; j < n_series && rc == 0; j++) {
        const struct sinfo *x = &si[order[j]];
        if (x->n_chunks > bc_cap) {
            bc_cap = x->n_chunks;
            bc = realloc(bc, bc_cap * sizeof *bc);
        }
        for (uint32_t c = 0; c < x->n_chunks; c++) {
            const struct crec *r = &rec[x->first + c];
            bc[c] = (struct block_chunk){r->mint, r->maxt, r->n, r->len, all->p + r->off};
        }
        rc = block_writer_add_series(w, &ls[order[j]], bc, x->n_chunks, &e);
        if (rc < 0)
            block_writer_abort(w);
    }
    if (rc == 0)
        rc = block_writer_finish(w, &meta, &e);
    struct block *b = NULL;
    char dir[4096], path[8192];
    if (rc == 0) {
        snprintf(dir, sizeof dir, "%s/%s", parent, meta.ulid);
        rc = block_open(dir, &b, &e);
    }
    if (rc < 0) {
        fprintf(stderr, "block: %s\n", e.msg);
        return -1;
    }
    struct stat st;
    snprintf(path, sizeof path, "%s/index", dir);
    uint64_t index_bytes = stat(path, &st) == 0 ? (uint64_t) st.st_size : 0;
    uint64_t total = block_size_bytes(b);
    printf("block on disk (all series in one block): %" PRIu64 " bytes, %.3f bytes/sample "
           "(index %.3f, %.1f bytes/series)\n",
           total, (double) total / (double) samples, (double) index_bytes / (double) samples,
           (double) index_bytes / (double) n_series);
    int64_t *t = malloc(BLOCK_CHUNK_MAX_SAMPLES * sizeof *t);
    double *v = malloc(BLOCK_CHUNK_MAX_SAMPLES * sizeof *v), sink = 0;
    int64_t best = INT64_MAX;
    uint64_t got = 0;
    for (int rep = 0; rep < 3; rep++) {
        arena_reset(a);
        int64_t t0 = cpu_ns();
        struct block_series *s;
        size_t n;
        got = 0;
        if (block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &n, &e) < 0) {
            fprintf(stderr, "select: %s\n", e.msg);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            for (uint32_t c = 0; c < s[i].n_chunks; c++) {
                const struct block_chunk *ch = &s[i].chunks[c];
                if (block_chunk_decode(ch->data, ch->len, ch->n, t, v, &e) < 0) {
                    fprintf(stderr, "decode: %s\n", e.msg);
                    return -1;
                }
                sink += v[0];
                got += ch->n;
            }
        int64_t ns = cpu_ns() - t0;
        if (ns < best)
            best = ns;
    }
    printf("select every series + decode every chunk from the block: %.1f M samples/s "
           "(%" PRIu64 " samples)%s\n",
           (double) got / ((double) best / 1e9) / 1e6, got, sink == 1.2345 ? "#" : "");
    block_close(b);
    remove_block(parent, meta.ulid);
    free(t);
    free(v);
    free(bc);
    free(order);
    arena_free(a);
    return 0;
}

/* Series of each target, so the timed loops visit a step's samples target by target. */
struct by_target {
    uint32_t *idx[TARGETS], n[TARGETS];
};

static int group_by_target(const struct dataset *d, struct by_target *bt)
{
    for (int k = 0; k < TARGETS; k++) {
        bt->n[k] = 0;
        if (!(bt->idx[k] = malloc((d->n_series ? d->n_series : 1) * sizeof(uint32_t))))
            return -1;
        for (uint32_t s = 0; s < d->n_series; s++)
            if (d->s[s].t == d->tg[k].t)
                bt->idx[k][bt->n[k]++] = s;
    }
    return 0;
}

/* The encoder alone: every series in chunks of 24 samples, the buffer kept across chunks. */
static int64_t run_xor(const struct dataset *d)
{
    struct xor_enc x;
    xor_enc_init(&x);
    uint64_t sink = 0;
    int64_t t0 = cpu_ns();
    for (uint32_t s = 0; s < d->n_series; s++) {
        const struct dataset_series *ds = &d->s[s];
        for (uint32_t i = 0; i < ds->n; i++) {
            if (x.n == 24) {
                struct xor_buf keep = x.b;
                sink += keep.len;
                xor_enc_init(&x);
                x.b = keep;
                x.b.len = 0;
            }
            if (xor_enc_append(&x, ds->t[i], ds->v[i]) < 0)
                return -1;
        }
    }
    int64_t ns = cpu_ns() - t0;
    xor_enc_done(&x);
    return sink == 1 ? -1 : ns;
}

static uint32_t max_steps(const struct dataset *d)
{
    uint32_t m = 0;
    for (int k = 0; k < TARGETS; k++)
        m = d->tg[k].n > m ? d->tg[k].n : m;
    return m;
}

static int64_t run_head(const struct dataset *d, const struct by_target *bt)
{
    struct head *h;
    struct err e = {0};
    struct mem_series **ss = malloc(d->n_series * sizeof *ss);
    if (!ss || head_new(0, &h) < 0)
        return -1;
    for (uint32_t s = 0; s < d->n_series; s++)
        if (head_get_or_create(h, &d->s[s].labels, &ss[s], NULL, &e) < 0)
            return -1;
    uint32_t steps = max_steps(d);
    int64_t t0 = cpu_ns();
    for (uint32_t i = 0; i < steps; i++)
        for (int k = 0; k < TARGETS; k++) {
            if (i >= d->tg[k].n)
                continue;
            for (uint32_t j = 0; j < bt->n[k]; j++) {
                uint32_t s = bt->idx[k][j];
                if (head_series_append(h, ss[s], d->s[s].t[i], d->s[s].v[i]) != 0)
                    return -1;
            }
        }
    int64_t ns = cpu_ns() - t0;
    head_free(h);
    free(ss);
    return ns;
}

/* Appenders on an in-memory tsdb, one commit per target and step as scrape loops do; process CPU
 * time, since a tsdb has a storage thread. */
static int64_t run_appender(const struct dataset *d, const struct by_target *bt)
{
    struct tsdb_opts o = {0};
    tsdb *db;
    struct err e = {0};
    uint64_t *refs = calloc(d->n_series, sizeof *refs);
    if (!refs || tsdb_open(&o, &db, &e) < 0)
        return -1;
    /* Series created first (untimed), as a running server has them. */
    tsdb_appender *a = tsdb_appender_new(db);
    for (uint32_t s = 0; a && s < d->n_series; s++)
        if (tsdb_appender_add(a, &refs[s], &d->s[s].labels, d->s[s].t[0] - 1, 0, &e) < 0)
            return -1;
    if (!a || tsdb_appender_commit(a, &e) < 0)
        return -1;
    uint32_t steps = max_steps(d);
    int64_t t0 = process_ns();
    for (uint32_t i = 0; i < steps; i++)
        for (int k = 0; k < TARGETS; k++) {
            if (i >= d->tg[k].n)
                continue;
            a = tsdb_appender_new(db);
            for (uint32_t j = 0; a && j < bt->n[k]; j++) {
                uint32_t s = bt->idx[k][j];
                if (tsdb_appender_add(a, &refs[s], NULL, d->s[s].t[i], d->s[s].v[i], &e) < 0)
                    return -1;
            }
            if (!a || tsdb_appender_commit(a, &e) != 0) {
                fprintf(stderr, "commit: %s\n", e.msg);
                return -1;
            }
        }
    int64_t ns = process_ns() - t0;
    tsdb_close(db);
    free(refs);
    return ns;
}

static int append_figures(uint32_t n_series, double hours, int runs)
{
    struct dataset d;
    struct by_target bt;
    if (dataset_build(&d, n_series, hours) < 0 || group_by_target(&d, &bt) < 0)
        return 1;
    printf("dataset: %u series x %.1f h at 15 s, %" PRIu64 " samples; CPU ns per sample, %d "
           "runs\n",
           d.n_series, hours, d.n_samples, runs);
    const char *names[3] = {"xor encoder (24-sample chunks)", "head_series_append",
                            "appenders, in-memory tsdb"};
    for (int m = 0; m < 3; m++) {
        double best = 1e30;
        printf("%-32s", names[m]);
        for (int r = 0; r < runs; r++) {
            int64_t ns = m == 0 ? run_xor(&d) : m == 1 ? run_head(&d, &bt) : run_appender(&d, &bt);
            if (ns < 0) {
                fprintf(stderr, "%s failed\n", names[m]);
                return 1;
            }
            double per = (double) ns / (double) d.n_samples;
            best = per < best ? per : best;
            printf(" %6.1f", per);
        }
        printf("   best %.1f ns/sample\n", best);
    }
    for (int k = 0; k < TARGETS; k++)
        free(bt.idx[k]);
    dataset_free(&d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--append") == 0) {
        uint32_t n = argc > 2 ? (uint32_t) atoi(argv[2]) : 10000;
        double hours = argc > 3 ? atof(argv[3]) : 2;
        int runs = argc > 4 ? atoi(argv[4]) : 5;
        if (n == 0 || hours <= 0 || runs < 1) {
            fprintf(stderr, "usage: %s --append [series [hours [runs]]]\n", argv[0]);
            return 2;
        }
        return append_figures(n, hours, runs);
    }
    uint32_t n_series = argc > 1 ? (uint32_t) atoi(argv[1]) : 10000;
    double hours = argc > 2 ? atof(argv[2]) : 24;
    uint32_t csz = argc > 3 ? (uint32_t) atoi(argv[3]) : 480;
    int level = argc > 4 ? atoi(argv[4]) : 3;
    jittered = argc > 5 ? atoi(argv[5]) : TARGETS / 2;
    uint32_t n_max = (uint32_t) (hours * 3600000 / STEP_MS);
    if (n_series == 0 || n_max == 0 || csz == 0 || csz > BLOCK_CHUNK_MAX_SAMPLES || level < 1 ||
        level > 19 || jittered < 0 || jittered > TARGETS) {
        fprintf(stderr, "usage: %s [series [hours [chunk_samples [zstd_level [jittered]]]]]\n",
                argv[0]);
        return 2;
    }
    struct target tg[TARGETS];
    for (int i = 0; i < TARGETS; i++) {
        tg[i].t = malloc(n_max * sizeof(int64_t));
        if (!tg[i].t)
            return 1;
        gen_target(&tg[i], i, n_max);
    }
    struct group g;
    for (int k = 0; k < HIST_BUCKETS + 2; k++)
        if (!(g.v[k] = malloc(n_max * sizeof(double))))
            return 1;
    int64_t *dt = malloc(csz * sizeof(int64_t));
    double *dv = malloc(csz * sizeof(double));
    struct buf all = BUF_INIT; /* every chunk back to back */
    struct buf offs = BUF_INIT;   /* struct crec per chunk */
    struct buf sinfos = BUF_INIT; /* struct sinfo per series */
    struct buf xall = BUF_INIT, xoffs = BUF_INIT; /* the same for Gorilla XOR chunks */
    struct stats by_kind[K_MAX] = {{0}}, by_ts[2] = {{0}}, tot = {0};
    struct err e;
    int64_t enc_ns = 0;
    uint32_t done = 0, gi = 0;
    struct buf dense = BUF_INIT;
    while (done < n_series) {
        g.kind = draw_kind();
        int ti = (int) (gi++ % TARGETS);
        struct target *T = &tg[ti];
        gen_group(&g, T->n);
        for (uint32_t s = 0; s < g.n_series && done < n_series; s++, done++) {
            struct sinfo si = {(uint32_t) (offs.len / sizeof(struct crec)), 0, gi - 1, s,
                               g.kind, ti};
            si.n_chunks = (T->n + csz - 1) / csz;
            if (buf_append(&sinfos, &si, sizeof si) < 0)
                return 1;
            for (uint32_t off = 0; off < T->n; off += csz) {
                uint32_t n = T->n - off < csz ? T->n - off : csz;
                size_t before = all.len;
                int64_t t0 = cpu_ns();
                int r = block_chunk_encode(&all, T->t + off, g.v[s] + off, n, level, &e);
                enc_ns += cpu_ns() - t0;
                if (r < 0) {
                    fprintf(stderr, "encode: %s\n", e.msg);
                    return 1;
                }
                uint64_t len = all.len - before;
                /* Check every chunk round-trips bit for bit (not timed). */
                if (block_chunk_decode(all.p + before, len, n, dt, dv, &e) < 0) {
                    fprintf(stderr, "decode: %s\n", e.msg);
                    return 1;
                }
                for (uint32_t i = 0; i < n; i++) {
                    uint64_t a, b;
                    memcpy(&a, &dv[i], 8);
                    memcpy(&b, &g.v[s][off + i], 8);
                    if (dt[i] != T->t[off + i] || a != b) {
                        fprintf(stderr, "mismatch: kind %s sample %u\n", kind_names[g.kind], i);
                        return 1;
                    }
                }
                buf_reset(&dense);
                if (chunk_dense_encode(&dense, T->t + off, g.v[s] + off, n, &e) < 0)
                    return 1;
                struct xor_enc x;
                xor_enc_init(&x);
                for (uint32_t i = 0; i < n; i++)
                    if (xor_enc_append(&x, T->t[off + i], g.v[s][off + i]) < 0)
                        return 1;
                struct crec cr = {before, (uint32_t) len, n, T->t[off], T->t[off + n - 1]};
                uint64_t xr[2] = {xall.len, (uint64_t) x.b.len << 32 | n};
                if (buf_append(&offs, &cr, sizeof cr) < 0 ||
                    buf_append(&xoffs, xr, sizeof xr) < 0 || buf_append(&xall, x.b.p, x.b.len) < 0)
                    return 1;
                struct stats *st[3] = {&by_kind[g.kind], &by_ts[ti >= TARGETS - jittered], &tot};
                for (int k = 0; k < 3; k++) {
                    st[k]->samples += n;
                    st[k]->bytes += len;
                    st[k]->dense_bytes += dense.len;
                    st[k]->xor_bytes += x.b.len;
                    st[k]->chunks++;
                    st[k]->zstd_chunks += all.p[before + 4] != 0; /* codec byte */
                }
                xor_enc_done(&x);
            }
        }
    }
    /* Decode speed: every chunk into t[]/v[] arrays, as a query reads a block. */
    size_t n_chunks = offs.len / sizeof(struct crec);
    const struct crec *rec = (const struct crec *) (const void *) offs.p;
    double sink = 0;
    int64_t best_dec = INT64_MAX;
    for (int rep = 0; rep < 3; rep++) {
        int64_t t0 = cpu_ns();
        for (size_t c = 0; c < n_chunks; c++) {
            if (block_chunk_decode(all.p + rec[c].off, rec[c].len, rec[c].n, dt, dv, &e) < 0) {
                fprintf(stderr, "decode: %s\n", e.msg);
                return 1;
            }
            sink += dv[rec[c].n - 1] + (double) dt[0];
        }
        int64_t ns = cpu_ns() - t0;
        if (ns < best_dec)
            best_dec = ns;
    }
    int64_t xor_ns = INT64_MAX;
    const uint64_t *xrec = (const uint64_t *) (const void *) xoffs.p;
    for (int rep = 0; rep < 3; rep++) {
        int64_t t0 = cpu_ns();
        for (size_t c = 0; c < n_chunks; c++) {
            struct xor_dec d;
            xor_dec_init(&d, xall.p + xrec[2 * c], (size_t) (xrec[2 * c + 1] >> 32),
                         (uint32_t) xrec[2 * c + 1]);
            uint32_t i = 0;
            while (xor_dec_next(&d, &dt[i], &dv[i]) == 1)
                i++;
            sink += dv[0];
        }
        int64_t ns = cpu_ns() - t0;
        if (ns < xor_ns)
            xor_ns = ns;
    }
    printf("dataset: %u series x %.1f h at 15 s, %" PRIu64 " samples, %" PRIu64
           " chunks of <= %u samples, zstd level %d\n",
           n_series, hours, tot.samples, tot.chunks, csz, level);
    printf("%-16s %10s %12s %12s %12s   (bytes per sample)\n", "kind", "samples", "stored",
           "dense only", "gorilla xor");
    const char *tsn[2] = {"ts regular", "ts jitter 0-3ms"};
    for (int k = 0; k < K_MAX + 3; k++) {
        const struct stats *st = k < K_MAX ? &by_kind[k] : k < K_MAX + 2 ? &by_ts[k - K_MAX] : &tot;
        const char *name = k < K_MAX ? kind_names[k] : k < K_MAX + 2 ? tsn[k - K_MAX] : "all";
        if (st->samples)
            printf("%-16s %10" PRIu64 " %12.3f %12.3f %12.3f\n", name, st->samples,
                   (double) st->bytes / (double) st->samples,
                   (double) st->dense_bytes / (double) st->samples,
                   (double) st->xor_bytes / (double) st->samples);
    }
    printf("bytes/sample: dense+zstd %.3f (chunk bytes incl. CRC and codec byte), gorilla xor "
           "%.3f\n",
           (double) tot.bytes / (double) tot.samples,
           (double) tot.xor_bytes / (double) tot.samples);
    printf("zstd smaller than the dense bytes for %.1f%% of chunks\n",
           100.0 * (double) tot.zstd_chunks / (double) tot.chunks);
    printf("encode: %.1f M samples/s (1 thread, CPU time)\n",
           (double) tot.samples / ((double) enc_ns / 1e9) / 1e6);
    printf("decode: %.1f M samples/s (1 thread, CPU time, best of 3), gorilla xor %.1f M "
           "samples/s\n",
           (double) tot.samples / ((double) best_dec / 1e9) / 1e6,
           (double) tot.samples / ((double) xor_ns / 1e9) / 1e6);
    if (sink == 1.2345)
        printf("#\n");
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (int i = 0; i < TARGETS; i++)
        if (tg[i].n) {
            tmin = tg[i].t[0] < tmin ? tg[i].t[0] : tmin;
            tmax = tg[i].t[tg[i].n - 1] > tmax ? tg[i].t[tg[i].n - 1] : tmax;
        }
    if (block_figures(&all, rec, (const struct sinfo *) (const void *) sinfos.p, n_series, tmin,
                      tmax, tot.samples) < 0)
        return 1;
    buf_free(&sinfos);
    buf_free(&all);
    buf_free(&offs);
    buf_free(&dense);
    buf_free(&xall);
    buf_free(&xoffs);
    free(dt);
    free(dv);
    for (int k = 0; k < HIST_BUCKETS + 2; k++)
        free(g.v[k]);
    for (int i = 0; i < TARGETS; i++)
        free(tg[i].t);
    return 0;
}
