/* bench/bench_storage.c — the storage engine end to end on disk, on bench/dataset.c's data.
 * Not a test: it prints figures.
 *
 *   bench_storage [series [hours]]          defaults 10000 24
 *   bench_storage --disk [series [hours]]   ingest, disk and decode phases only
 *   bench_storage --head-rss N              resident memory per series at N head series
 *                                           (4h at 15 s appended, ~2.2h left in the head)
 *   bench_storage --query-rss DIR           resident memory after a dashboard workload on DIR
 *   bench_storage --write-om FILE [series [hours]]   the dataset as OpenMetrics text
 *   bench_storage --write-prom FILE [series [hours]] the same, text format, ms timestamps
 *
 * Phases of the default run, in a fresh directory under /tmp:
 *   ingest   every sample through appenders (one commit per target and scrape, like scrape
 *            loops; WAL on; the storage thread cutting blocks meanwhile): samples/s
 *   settle   the remaining head ranges cut, compactions run to the end
 *   disk     block bytes / samples in blocks (the WAL is reported apart), and where they go:
 *            index, meta.json, record framing (CRC and codec byte), timestamp records (each
 *            counted once however many series share it) or the timestamp part of whole
 *            chunks, and values per series kind (bench/dataset.c's kinds)
 *   decode   every series selected and iterated through a querier: samples/s
 *   backfill the same data as OpenMetrics text through `tsdb import`'s path (parse, encode,
 *            write blocks): samples/s
 *   memory   two child processes: RSS per head series at 100k series, and RSS after a
 *            dashboard query workload over the whole dataset, as the issue measures them. */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "promql/promql.h"
#include "server/cli.h"
#include "tsdb/block.h"
#include "tsdb/chunk_dense.h"
#include "tsdb/db.h"
#include "tsdb/fsutil.h"
#include "tsdb/head.h"
#include "tsdb/tsdb.h"

#include "dataset.h"

static double secs_since(int64_t t0)
{
    return (double) (time_mono_ns() - t0) / 1e9;
}

/* A "Vm...:" figure of /proc/self/status in KiB: VmRSS now, VmHWM the peak. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0)
            kib = strtol(line + n, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static long rss_kib(void)
{
    return status_kib("VmRSS:");
}

static tsdb *open_db(const char *dir, int64_t tick_ms)
{
    struct tsdb_opts o = {.dir = dir, .tick_ms = tick_ms};
    tsdb *db;
    struct err e = {0};
    if (tsdb_open(&o, &db, &e) < 0) {
        fprintf(stderr, "open %s: %s\n", dir, e.msg);
        exit(1);
    }
    return db;
}

/* Scrape order: for each step, each target commits its series' samples at that step. */
static void ingest(tsdb *db, const struct dataset *d)
{
    uint64_t *refs = calloc(d->n_series, sizeof *refs);
    uint32_t *pos = calloc(d->n_series, sizeof *pos);
    uint32_t max_n = 0;
    for (int k = 0; k < TARGETS; k++)
        max_n = d->tg[k].n > max_n ? d->tg[k].n : max_n;
    struct err e = {0};
    for (uint32_t i = 0; i < max_n; i++) {
        for (int k = 0; k < TARGETS; k++) {
            if (i >= d->tg[k].n)
                continue;
            tsdb_appender *a = tsdb_appender_new(db);
            for (uint32_t s = 0; s < d->n_series; s++) {
                if (d->s[s].t != d->tg[k].t)
                    continue;
                if (tsdb_appender_add(a, &refs[s], refs[s] ? NULL : &d->s[s].labels,
                                      d->tg[k].t[i], d->s[s].v[i], &e) < 0) {
                    fprintf(stderr, "append: %s\n", e.msg);
                    exit(1);
                }
            }
            if (tsdb_appender_commit(a, &e) < 0) {
                fprintf(stderr, "commit: %s\n", e.msg);
                exit(1);
            }
        }
    }
    free(refs);
    free(pos);
}

/* Cuts what the storage thread has not, then compacts to the end. */
static void settle(tsdb *db)
{
    int64_t range = db_block_range(db);
    struct tsdb_stats st;
    struct err e = {0};
    /* The storage thread cuts what the head holds beyond 1.5 ranges within a few ticks: wait
     * for it (up to a minute) rather than cut beside it, since two cuts at once race for the
     * same WAL checkpoint name. */
    for (int waited = 0;; waited++) {
        tsdb_stats_get(db, &st);
        if (st.head_mint_ms == INT64_MAX || st.head_maxt_ms - st.head_mint_ms <= range / 2 * 3)
            break;
        if (waited < 600) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
            continue;
        }
        int64_t lo = st.head_mint_ms - st.head_mint_ms % range;
        if (db_cut_head(db, lo, lo + range - 1, &e) < 0) {
            fprintf(stderr, "cut: %s\n", e.msg);
            exit(1);
        }
    }
    int r;
    while ((r = db_compact(db, &e)) == 1)
        ;
    if (r < 0) {
        fprintf(stderr, "compact: %s\n", e.msg);
        exit(1);
    }
}

static uint64_t block_samples(tsdb *db)
{
    struct db_block **v;
    size_t n;
    uint64_t total = 0;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        total += block_meta(v[i]->b)->n_samples;
    db_blocks_release(v, n);
    return total;
}

static int kind_of(const struct labels *ls)
{
    const char *name = labels_get(ls, "__name__");
    for (int k = 0; name && k < K_MAX; k++)
        if (strncmp(name, metric_stem[k], strlen(metric_stem[k])) == 0 &&
            name[strlen(metric_stem[k])] == '_')
            return k;
    return -1;
}

struct tsrec {
    const uint8_t *p;
    uint32_t len;
    int kind; /* values records: the series kind; timestamp records: -1 */
};

static int tsrec_cmp(const void *a, const void *b)
{
    const uint8_t *x = ((const struct tsrec *) a)->p, *y = ((const struct tsrec *) b)->p;
    return x < y ? -1 : x > y;
}

/* Where the block bytes go. Whole chunks (imported blocks) are split into their value and
 * timestamp parts by encoding the values alone again. A record that several chunks point at
 * (a shared timestamp record, equal values records) counts once. */
static void disk_breakdown(tsdb *db)
{
    struct db_block **v;
    size_t n;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return;
    uint64_t index = 0, meta = 0, framing = 0, ts = 0, ts_records = 0, vals[K_MAX + 1] = {0},
             samples[K_MAX + 1] = {0}, chunks = 0, split = 0, total = 0, in_blocks = 0;
    struct buf scratch = BUF_INIT;
    int64_t *t = malloc(BLOCK_CHUNK_MAX_SAMPLES * sizeof *t);
    double *x = malloc(BLOCK_CHUNK_MAX_SAMPLES * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/index", block_dir(v[i]->b));
        index += fs_tree_bytes(path);
        snprintf(path, sizeof path, "%s/meta.json", block_dir(v[i]->b));
        meta += fs_tree_bytes(path);
        total += block_size_bytes(v[i]->b);
        in_blocks += block_meta(v[i]->b)->n_samples;
        struct arena *a = arena_new(0);
        struct block_series *s;
        size_t ns;
        struct err e = {0};
        if (block_select(v[i]->b, a, NULL, 0, INT64_MIN, INT64_MAX, &s, &ns, &e) < 0) {
            fprintf(stderr, "breakdown: %s\n", e.msg);
            exit(1);
        }
        struct tsrec *ptrs = NULL;
        size_t n_ptrs = 0, cap_ptrs = 0;
        for (size_t j = 0; j < ns; j++) {
            int k = kind_of(&s[j].labels);
            k = k < 0 ? K_MAX : k;
            for (uint32_t c = 0; c < s[j].n_chunks; c++) {
                const struct block_chunk *ch = &s[j].chunks[c];
                chunks++;
                samples[k] += ch->n;
                if (ch->ts) {
                    split++;
                    if (n_ptrs + 2 > cap_ptrs) {
                        cap_ptrs = cap_ptrs ? 2 * cap_ptrs : 1024;
                        ptrs = realloc(ptrs, cap_ptrs * sizeof *ptrs);
                        if (!ptrs)
                            exit(1);
                    }
                    ptrs[n_ptrs++] = (struct tsrec){ch->ts, ch->ts_len, -1};
                    ptrs[n_ptrs++] = (struct tsrec){ch->data, ch->len, k};
                    continue;
                }
                framing += 5;
                /* a whole chunk: its value part's size is what the values alone encode to */
                if (block_chunk_decode(ch->data, ch->len, ch->n, t, x, &e) < 0) {
                    fprintf(stderr, "breakdown: %s\n", e.msg);
                    exit(1);
                }
                buf_reset(&scratch);
                (void) chunk_dense_encode_values(&scratch, x, ch->n, &e);
                uint64_t vpart = scratch.len < ch->len - 5 ? scratch.len : ch->len - 5;
                vals[k] += vpart;
                ts += ch->len - 5 - vpart;
            }
        }
        /* a record counts once, however many chunks point at it */
        qsort(ptrs, n_ptrs, sizeof *ptrs, tsrec_cmp);
        for (size_t q = 0; q < n_ptrs; q++)
            if (q == 0 || ptrs[q].p != ptrs[q - 1].p) {
                framing += 5;
                if (ptrs[q].kind >= 0) {
                    vals[ptrs[q].kind] += ptrs[q].len - 5;
                    continue;
                }
                ts += ptrs[q].len - 5;
                ts_records++;
            }
        free(ptrs);
        arena_free(a);
    }
    db_blocks_release(v, n);
    free(t);
    free(x);
    buf_free(&scratch);
    double d = (double) in_blocks;
    printf("disk breakdown (bytes/sample over %" PRIu64 " samples in blocks, %" PRIu64
           " chunks, %" PRIu64 " split, %" PRIu64 " timestamp records): index %.4f, meta.json "
           "%.4f, framing %.4f, timestamps %.4f, values %.4f\n",
           in_blocks, chunks, split, ts_records, (double) index / d, (double) meta / d,
           (double) framing / d, (double) ts / d,
           (double) (total - index - meta - framing - ts) / d);
    for (int k = 0; k <= K_MAX; k++)
        if (samples[k])
            printf("  values of %-13s %5.1f%% of samples: %.3f bytes/sample of its own, %.4f of "
                   "the total\n",
                   k < K_MAX ? kind_names[k] : "other", 100.0 * (double) samples[k] / d,
                   (double) vals[k] / (double) samples[k], (double) vals[k] / d);
}

/* Every sample of every series through a querier, best of three: samples per second of this
 * thread's CPU time, and of wall time. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void decode_all(tsdb *db, double *ret_rate, double *ret_wall, uint64_t *ret_n)
{
    *ret_wall = 0;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        struct arena *a = arena_new(0);
        struct matcher m;
        struct err e = {0};
        matcher_init(a, &m, MATCH_RE, "__name__", ".+", &e);
        int64_t t0 = time_mono_ns(), c0 = thread_cpu_ns();
        tsdb_querier *q;
        struct tsdb_series *s;
        size_t n;
        uint64_t got = 0;
        double sink = 0;
        if (tsdb_querier_open(db, INT64_MIN, INT64_MAX, &q, &e) < 0 ||
            tsdb_querier_select(q, a, &m, 1, &s, &n, &e) < 0) {
            fprintf(stderr, "select: %s\n", e.msg);
            exit(1);
        }
        for (size_t i = 0; i < n; i++) {
            struct tsdb_iter it;
            tsdb_iter_init(&it, &s[i]);
            while (tsdb_iter_next(&it) == 1) {
                sink += it.v;
                got++;
            }
            tsdb_iter_close(&it);
        }
        tsdb_querier_close(q);
        /* thread CPU time: the figure holds on a busy machine too (wall time is printed apart) */
        double rate = (double) got / ((double) (thread_cpu_ns() - c0) / 1e9);
        double wall = (double) got / secs_since(t0);
        if (rate > best)
            best = rate;
        if (wall > *ret_wall)
            *ret_wall = wall;
        *ret_n = got + (sink == 0.123 ? 1 : 0);
        arena_free(a);
    }
    *ret_rate = best;
}

/* The dataset as text, series after series, as an export would write it: OpenMetrics
 * (timestamps in seconds, `# EOF`), or with prom set the text format with millisecond
 * timestamps that VictoriaMetrics' and ember's /api/v1/import/prometheus take. */
static char *to_text(const struct dataset *d, int prom, size_t *ret_len)
{
    struct buf b = BUF_INIT;
    struct arena *a = arena_new(0);
    for (uint32_t s = 0; s < d->n_series; s++) {
        arena_reset(a);
        const struct labels *ls = &d->s[s].labels;
        struct buf head = BUF_INIT;
        buf_puts(&head, labels_get(ls, "__name__"));
        buf_putc(&head, '{');
        int first = 1;
        for (uint32_t k = 0; k < ls->n; k++) {
            if (strcmp(ls->v[k].name, "__name__") == 0)
                continue;
            buf_printf(&head, "%s%s=\"%s\"", first ? "" : ",", ls->v[k].name, ls->v[k].value);
            first = 0;
        }
        buf_puts(&head, "} ");
        for (uint32_t i = 0; i < d->s[s].n; i++) {
            char num[NUM_FLOAT_MAX];
            double v = d->s[s].v[i];
            if (num_is_stale(v))
                continue; /* the text formats cannot carry a stale marker */
            num_format(num, v, 'g');
            buf_append(&b, head.p, head.len);
            int64_t t = d->s[s].t[i];
            if (prom)
                buf_printf(&b, "%s %" PRId64 "\n", num, t);
            else
                buf_printf(&b, "%s %" PRId64 ".%03d\n", num, t / 1000, (int) (t % 1000));
        }
        buf_free(&head);
    }
    if (!prom)
        buf_puts(&b, "# EOF\n");
    arena_free(a);
    size_t n;
    char *p = (char *) buf_take(&b, &n);
    *ret_len = n;
    return p;
}

/* The whole process' CPU time: the import's threads together. */
static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void backfill(const char *dir, const char *text, size_t len, uint64_t *ret_samples,
                     double *ret_secs, double *ret_cpu, double *ret_main_cpu, uint64_t *ret_bytes)
{
    tsdb_backfill *bf;
    struct err e = {0};
    int64_t t0 = time_mono_ns(), c0 = thread_cpu_ns(), p0 = process_cpu_ns();
    if (tsdb_backfill_new(dir, 0, &bf, &e) < 0)
        exit(1);
    int r = cli_import_openmetrics(bf, text, len, 0, 0, &e);
    struct tsdb_backfill_stats st;
    if (r < 0 || tsdb_backfill_finish(bf, &st, &e) < 0) {
        fprintf(stderr, "backfill: %s\n", e.msg);
        exit(1);
    }
    *ret_secs = secs_since(t0);
    *ret_cpu = (double) (process_cpu_ns() - p0) / 1e9;
    *ret_main_cpu = (double) (thread_cpu_ns() - c0) / 1e9;
    *ret_samples = st.samples;
    tsdb_backfill_free(bf);
    *ret_bytes = fs_tree_bytes(dir);
}

/* Where the head's bytes are, per series (head_memory()): what each holder has allocated, and
 * what the chunk pool has mapped for the series, open chunks and closed chunks it holds. */
static void print_head_memory(struct head *h, uint32_t n)
{
    struct head_mem m;
    struct chunk_pool_stats ps;
    head_memory(h, &m);
    chunk_pool_stats(h->chunks, &ps);
    double k = 1.0 / n;
    printf("head bytes per series: series struct+labels %.0f, open chunk buffer %.0f (%.0f "
           "written, %.1f samples), closed chunks %.0f (%.1f chunks: %.0f descriptors + %.0f "
           "data, %.0f samples), series hash %.0f, page table %.0f, postings %.0f, symbols %.0f\n",
           m.series_structs * k, m.open_chunks * k, m.open_used * k, m.open_samples * k,
           (m.closed_headers + m.closed_data) * k, m.n_closed * k, m.closed_headers * k,
           m.closed_data * k, m.closed_samples * k, m.series_hash * k, m.page_table * k,
           m.postings * k, m.symbols * k);
    printf("chunk pool per series: closed chunks %.0f mapped, slabs (series, open chunks, postings "
           "entries) %.0f mapped "
           "for %.0f in use\n",
           ps.bump_bytes * k, ps.slab_bytes * k, ps.slab_live_bytes * k);
}

/* Child: n series of the dataset's shape in a fresh on-disk database, 4h of samples at 15 s (960
 * per series, through appenders with the WAL on), then the head cut into a 2h block as a server
 * does: the head keeps ~2.2h (~530 samples per series), what a running server's head holds
 * between cuts (1h to 3h). RSS per series. */
static int head_rss(uint32_t n)
{
    struct dataset d;
    if (dataset_build(&d, n, 4) < 0)
        return 1;
    char dir[] = "/tmp/bench_storage_rss.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    long before = rss_kib();
    size_t heap_before = mallinfo2().uordblks;
    tsdb *db = open_db(dir, 1000);
    ingest(db, &d);
    settle(db);
    malloc_trim(0); /* as the storage thread does after its cuts */
    long after = rss_kib();
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    printf("head: %" PRIu64 " series, %" PRIu64 " chunks, %.1f MiB of chunk bytes, head spans "
           "%.1f h\n",
           st.head_series, st.head_chunks, (double) st.head_bytes / 1048576.0,
           (double) (st.head_maxt_ms - st.head_mint_ms) / 3600000.0);
    printf("resident memory per head series: %.0f bytes (RSS %ld -> %ld KiB over %u series; "
           "heap in use %.0f bytes per series)\n",
           (double) (after - before) * 1024.0 / n, before, after, n,
           (double) (mallinfo2().uordblks - heap_before) / n);
    /* Not all of it is the head's: the block the cut wrote is open, its index in memory. */
    printf("RSS by kind: anonymous %ld KiB, file-backed %ld KiB\n", status_kib("RssAnon:"),
           status_kib("RssFile:"));
    print_head_memory(tsdb_db_head(db), n);
    tsdb_close(db);
    dataset_free(&d);
    struct err e = {0};
    fs_remove_tree(dir, &e);
    return 0;
}

/* The newest sample time in db's blocks (INT64_MIN without blocks). */
static int64_t blocks_maxt(tsdb *db)
{
    struct db_block **v;
    size_t n;
    int64_t maxt = INT64_MIN;
    if (db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &n) < 0)
        return maxt;
    for (size_t i = 0; i < n; i++)
        maxt = block_meta(v[i]->b)->maxt > maxt ? block_meta(v[i]->b)->maxt : maxt;
    db_blocks_release(v, n);
    return maxt;
}

/* Child: opens DIR as a server would and runs dashboard-style queries ending at its newest
 * sample: each instant, over the last 6h at 60 s steps and over the last 24h at 120 s steps
 * (a dashboard's default and widest ranges), then reports RSS. */
static int query_rss(const char *dir)
{
    tsdb *db = open_db(dir, 3600000);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    int64_t end = st.head_maxt_ms != INT64_MIN ? st.head_maxt_ms : blocks_maxt(db);
    struct promql_engine_opts eo = {0};
    promql_engine *eng;
    struct err ee = {0};
    if (promql_engine_new(db, &eo, &eng, &ee) < 0)
        return 1;
    static const char *const queries[] = {
        "rate({__name__=~\"node_cpu_seconds_total_.+\"}[5m])",
        "sum by (instance) (rate({__name__=~\"node_network_bytes_total_.+\"}[5m]))",
        ("histogram_quantile(0.95, sum by (le, instance) "
         "(rate({__name__=~\"http_request_duration_seconds_.+_bucket\"}[5m])))"),
        "topk(5, rate({__name__=~\"node_disk_ops_total_.+\"}[5m]))",
        "{__name__=~\"node_memory_bytes_.+\", instance=~\"host1.*\"}",
        "avg_over_time({__name__=~\"node_load_.+\"}[5m])",
    };
    long before = rss_kib();
    int64_t t0 = time_mono_ns();
    uint64_t series_out = 0;
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        for (int range = 0; range < 3; range++) {
            struct arena *a = arena_new(256u << 20);
            struct promql_expr *x;
            struct promql_result res;
            struct err e = {0};
            int r = promql_parse(a, queries[i], strlen(queries[i]), &x, &e);
            if (r == 0)
                r = range == 1   ? promql_eval_range(eng, a, x, end - 6 * 3600000, end, 60000,
                                                      &res, &e)
                    : range == 2 ? promql_eval_range(eng, a, x, end - 24 * 3600000, end, 120000,
                                                      &res, &e)
                                 : promql_eval_instant(eng, a, x, end, &res, &e);
            if (r < 0)
                fprintf(stderr, "query %s: %s\n", queries[i], e.msg);
            else
                series_out += res.type == PROMQL_VECTOR   ? res.u.vector.n
                              : res.type == PROMQL_MATRIX ? res.u.matrix.n
                                                          : 1;
            arena_free(a);
        }
    }
    printf("dashboard workload (%zu queries: instant, 6h at 60 s, 24h at 120 s; %" PRIu64
           " result series): %.2f s, RSS %ld KiB before, %ld KiB after (peak %ld KiB)\n",
           sizeof queries / sizeof *queries * 3, series_out, secs_since(t0), before, rss_kib(),
           status_kib("VmHWM:"));
    promql_engine_free(eng);
    tsdb_close(db);
    return 0;
}

/* The backfill phase on its own (also `--backfill [series [hours]]`): the dataset as OpenMetrics
 * text through `tsdb import`'s path into a fresh directory. */
static int backfill_phase(struct dataset *d)
{
    size_t len;
    char *text = to_text(d, 0, &len);
    char bdir[] = "/tmp/bench_storage_bf.XXXXXX";
    if (!mkdtemp(bdir))
        return 1;
    uint64_t bf_samples, bf_bytes;
    double bf_secs, bf_cpu, bf_main_cpu;
    backfill(bdir, text, len, &bf_samples, &bf_secs, &bf_cpu, &bf_main_cpu, &bf_bytes);
    /* On a busy machine wall time is unreliable: the CPU figures are what the import costs.
     * "per CPU-second" is all threads' CPU time; the main thread's time bounds the rate on a
     * machine with a core per import thread. */
    printf("backfill (`ember tsdb import` path: OpenMetrics %.0f MiB parsed, encoded, blocks "
           "written): %.2f M samples/s wall (%.1f s), %.2f M samples per CPU-second (%.2f s "
           "CPU, %.2f s on the main thread: %.2f M samples/s), %.3f bytes/sample on disk\n",
           (double) len / 1048576.0, (double) bf_samples / bf_secs / 1e6, bf_secs,
           (double) bf_samples / bf_cpu / 1e6, bf_cpu, bf_main_cpu,
           (double) bf_samples / bf_main_cpu / 1e6, (double) bf_bytes / (double) bf_samples);
    free(text);
    struct err e = {0};
    fs_remove_tree(bdir, &e);
    return 0;
}

static int run_child(const char *self, const char *mode, const char *arg)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s'", self, mode, arg);
    fflush(stdout);
    return system(cmd);
}

/* --write-om FILE [series [hours]]: the dataset as an OpenMetrics file, for `ember tsdb import`
 * and for the peers (promtool tsdb create-blocks-from openmetrics, VictoriaMetrics' import). */
static int write_text(const char *path, int prom, uint32_t n_series, double hours)
{
    struct dataset d;
    if (dataset_build(&d, n_series, hours) < 0)
        return 1;
    size_t len;
    char *text = to_text(&d, prom, &len);
    FILE *f = fopen(path, "w");
    int r = f && fwrite(text, 1, len, f) == len && fclose(f) == 0 ? 0 : 1;
    printf("%s: %u series, %" PRIu64 " samples, %.0f MiB\n", path, d.n_series, d.n_samples,
           (double) len / 1048576.0);
    free(text);
    dataset_free(&d);
    return r;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && (strcmp(argv[1], "--write-om") == 0 || strcmp(argv[1], "--write-prom") == 0))
        return write_text(argv[2], strcmp(argv[1], "--write-prom") == 0,
                          argc > 3 ? (uint32_t) atoi(argv[3]) : 10000, argc > 4 ? atof(argv[4]) : 24);
    if (argc == 3 && strcmp(argv[1], "--head-rss") == 0)
        return head_rss((uint32_t) atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "--query-rss") == 0)
        return query_rss(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "--backfill") == 0) {
        struct dataset d;
        if (dataset_build(&d, argc > 2 ? (uint32_t) atoi(argv[2]) : 10000,
                          argc > 3 ? atof(argv[3]) : 24) < 0)
            return 1;
        int r = backfill_phase(&d);
        dataset_free(&d);
        return r;
    }
    int disk_only = argc > 1 && strcmp(argv[1], "--disk") == 0;
    argc -= disk_only;
    argv += disk_only;
    uint32_t n_series = argc > 1 ? (uint32_t) atoi(argv[1]) : 10000;
    double hours = argc > 2 ? atof(argv[2]) : 24;
    if (n_series == 0 || hours <= 0) {
        fprintf(stderr, "usage: %s [series [hours]] | --backfill [series [hours]] | --head-rss N | "
                        "--query-rss DIR\n", argv[0]);
        return 2;
    }
    log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, 2);
    struct dataset d;
    int64_t t0 = time_mono_ns();
    if (dataset_build(&d, n_series, hours) < 0)
        return 1;
    printf("dataset: %u series x %.1f h at 15 s (bench/dataset.c), %" PRIu64
           " samples, built in %.1f s\n",
           d.n_series, hours, d.n_samples, secs_since(t0));

    char dir[] = "/tmp/bench_storage.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    tsdb *db = open_db(dir, 1000);
    t0 = time_mono_ns();
    int64_t cpu0 = process_cpu_ns();
    ingest(db, &d);
    double ingest_s = secs_since(t0), ingest_cpu = (double) (process_cpu_ns() - cpu0) / 1e9;
    printf("ingest (appenders, WAL, storage thread cutting): %.2f M samples/s (%.1f s); %.2f M "
           "samples/s of process CPU time (%.1f s)\n",
           (double) d.n_samples / ingest_s / 1e6, ingest_s, (double) d.n_samples / ingest_cpu / 1e6,
           ingest_cpu);
    t0 = time_mono_ns();
    settle(db);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    uint64_t in_blocks = block_samples(db);
    printf("settle: %.1f s; %" PRIu64 " blocks after %" PRIu64 " cuts and %" PRIu64
           " compactions\n",
           secs_since(t0), st.blocks, st.head_cuts, st.compactions);
    printf("disk: blocks %.1f MiB for %" PRIu64 " samples = %.3f bytes/sample; WAL %.1f MiB; "
           "head keeps %" PRIu64 " series\n",
           (double) st.block_bytes / 1048576.0, in_blocks,
           (double) st.block_bytes / (double) in_blocks, (double) st.wal_bytes / 1048576.0,
           st.head_series);
    disk_breakdown(db);
    double rate;
    uint64_t got;
    double wall;
    decode_all(db, &rate, &wall, &got);
    printf("decode through a querier (all series, blocks + head): %.1f M samples/s of CPU time, "
           "%.1f M/s of wall time (%" PRIu64 " samples, best of 3)\n",
           rate / 1e6, wall / 1e6, got);
    tsdb_close(db);
    if (disk_only) {
        dataset_free(&d);
        struct err e = {0};
        fs_remove_tree(dir, &e);
        return 0;
    }

    int r = backfill_phase(&d);
    dataset_free(&d);
    if (r != 0)
        return 1;

    run_child(argv[0], "--query-rss", dir);
    run_child(argv[0], "--head-rss", "100000");
    struct err e = {0};
    fs_remove_tree(dir, &e);
    return 0;
}
