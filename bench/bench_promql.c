/* bench/bench_promql.c — PromQL engine timings on an in-memory tsdb shaped like a small fleet:
 * dashboard-style queries as instant queries and as 6-hour range queries at a 60 s step. Not a
 * test: it prints figures (median wall and CPU time of a few runs, and memory).
 *
 *   bench_promql [runs [hours [filter [blocks]]]]   defaults 5 6 ""; filter: only queries
 *                                                   containing it; "blocks": on-disk layout
 *   bench_promql --queries                          the queries, one per line
 *   bench_promql --openmetrics FILE [hours]         the dataset as OpenMetrics text
 * bench/peers_compare.py serves the same data from the ember binary, Prometheus and
 * VictoriaMetrics and times the same queries over HTTP.
 *
 * hours is the length of the dataset; instant queries run at its end and range queries cover its
 * last 6 hours (all of it when shorter), so "5 24" is the 10k series x 24 h shape of the goal.
 * By default all data is in the in-memory head (XOR chunks); with "blocks" it sits in a
 * temporary data directory as a server would hold it: older data in blocks (dense chunks,
 * zstd), the last 1-3 hours in the head.
 *
 * Dataset (deterministic, 10,000 series at 15 s): 40 hosts in 4 node-exporter jobs with
 * node_cpu_seconds_total{cpu 0-7, mode × 8} (2,560 counters), load, memory, network, disk and
 * filesystem series; 20 api instances × 20 handlers with http_requests_total{code} and the
 * http_request_duration_seconds histogram (12 le buckets + _sum + _count). Counters grow at
 * per-series rates with noise and reset on 1 series in 50 once; gauges random-walk; histogram
 * buckets are cumulative over a latency mix, so quantiles are meaningful. One `up` series per
 * target (60); host-3 is down (0) for the last 20 minutes.
 *
 * Memory: "peak" is the engine's own high-water mark (promql_result.peak_bytes: the query
 * arena's growth, the largest step arena and a range query's point buffer); "rss+" is how much
 * the process' maximum resident set grew during the query's runs (0 when it stayed below the
 * peak reached while loading the data). */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "promql/promql.h"

#define STEP_MS 15000
#define HOSTS 40
#define NODE_JOBS 4
#define CPUS 8
#define API_INSTANCES 20
#define HANDLERS 20
#define RANGE_STEP_MS 60000

static const char *const cpu_modes[] = {"idle",    "iowait", "irq",   "nice",
                                        "softirq", "steal",  "system", "user"};
static const double cpu_mode_share[] = {0.70, 0.02, 0.001, 0.005, 0.01, 0.0005, 0.08, 0.18};
static const char *const node_jobs[NODE_JOBS] = {"node-web", "node-db", "node-cache",
                                                 "node-batch"};
static const char *const les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                  "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
#define N_LE (sizeof les / sizeof les[0])

enum series_kind { S_COUNTER, S_GAUGE, S_BUCKET, S_HIST_SUM, S_HIST_COUNT, S_UP };

struct series {
    struct labels ls;
    uint64_t ref;
    enum series_kind kind;
    double value, rate; /* counters: per-second rate; gauges: level */
    int reset_at;       /* counter reset at this scrape index; -1 none; up: down from here */
    uint32_t group;     /* histogram: index of its (instance, handler) group */
    uint32_t le;        /* bucket index */
    int goes_down;      /* up: 0 from reset_at on */
};

struct hist_group {
    double lat_scale; /* seconds: the handler's typical latency */
    double reqs;      /* requests per scrape interval */
    double counts[N_LE], sum, count;
};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static double rnd(void) /* xorshift64*, uniform in [0, 1) */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double) ((rng * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
}

struct dataset {
    struct arena *a;
    struct series *s;
    size_t n, cap;
    struct hist_group *groups;
    size_t n_groups;
};

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "bench_promql: %s: %s\n", what, e ? e->msg : "out of memory");
    exit(1);
}

/* Adds a series with the given name="value" pairs (NULL-terminated). */
static struct series *add_series(struct dataset *d, enum series_kind kind, const char *name, ...)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->s = realloc(d->s, d->cap * sizeof *d->s);
        if (!d->s)
            die("series table", NULL);
    }
    struct label *v = arena_alloc(d->a, 8 * sizeof *v);
    if (!v)
        die("labels", NULL);
    uint32_t n = 0;
    v[n++] = (struct label){LABEL_METRIC_NAME, name};
    va_list ap;
    va_start(ap, name);
    const char *k;
    while ((k = va_arg(ap, const char *)) && n < 8)
        v[n++] = (struct label){k, va_arg(ap, const char *)};
    va_end(ap);
    struct series *s = &d->s[d->n++];
    *s = (struct series){.ls = {v, n}, .kind = kind, .reset_at = -1};
    if (labels_sort(&s->ls) < 0)
        die("duplicate label name", NULL);
    return s;
}

static const char *str(struct dataset *d, const char *fmt, int i)
{
    char *p = arena_printf(d->a, fmt, i);
    if (!p)
        die("strings", NULL);
    return p;
}

static void build_series(struct dataset *d)
{
    for (int h = 0; h < HOSTS; h++) {
        const char *inst = str(d, "host-%d", h), *job = node_jobs[h % NODE_JOBS];
        double busy = 0.3 + 0.7 * rnd();
        for (int c = 0; c < CPUS; c++) {
            const char *cpu = str(d, "%d", c);
            for (size_t m = 0; m < sizeof cpu_modes / sizeof cpu_modes[0]; m++) {
                struct series *s = add_series(d, S_COUNTER, "node_cpu_seconds_total", "cpu", cpu,
                                              "mode", cpu_modes[m], "instance", inst, "job", job,
                                              NULL);
                double share = m == 0 ? 1 - busy * 0.3 : cpu_mode_share[m] * busy;
                s->rate = share * (0.9 + 0.2 * rnd());
                s->value = 1e5 * rnd();
            }
        }
        struct series *s = add_series(d, S_GAUGE, "node_load1", "instance", inst, "job", job, NULL);
        s->value = 4 * busy;
        s = add_series(d, S_GAUGE, "node_memory_MemAvailable_bytes", "instance", inst, "job", job,
                       NULL);
        s->value = 8e9 * rnd();
        for (int dev = 0; dev < 4; dev++) {
            s = add_series(d, S_COUNTER, "node_network_receive_bytes_total", "device",
                           str(d, "eth%d", dev), "instance", inst, "job", job, NULL);
            s->rate = dev == 0 ? 1e6 * rnd() : 1e3 * rnd();
        }
        for (int dev = 0; dev < 5; dev++) {
            s = add_series(d, S_COUNTER, "node_disk_io_time_seconds_total", "device",
                           str(d, "sd%c", 'a' + dev), "instance", inst, "job", job, NULL);
            s->rate = 0.2 * rnd();
            s = add_series(d, S_GAUGE, "node_filesystem_avail_bytes", "mountpoint",
                           str(d, "/mnt/%d", dev), "instance", inst, "job", job, NULL);
            s->value = 1e11 * rnd();
        }
    }
    d->n_groups = API_INSTANCES * HANDLERS;
    d->groups = calloc(d->n_groups, sizeof *d->groups);
    if (!d->groups)
        die("histogram groups", NULL);
    static const char *const codes[] = {"200", "404", "500"};
    static const double code_share[] = {0.95, 0.04, 0.01};
    for (int i = 0; i < API_INSTANCES; i++) {
        const char *inst = str(d, "api-%d", i);
        for (int hd = 0; hd < HANDLERS; hd++) {
            const char *handler = str(d, "/api/v1/h%d", hd);
            uint32_t g = (uint32_t) (i * HANDLERS + hd);
            d->groups[g].lat_scale = 0.005 * pow(2, hd % 8) * (0.8 + 0.4 * rnd());
            d->groups[g].reqs = 15 * (1 + 20 * rnd());
            for (size_t le = 0; le < N_LE; le++) {
                struct series *s = add_series(d, S_BUCKET, "http_request_duration_seconds_bucket",
                                              "handler", handler, "instance", inst, "job", "api",
                                              "le", les[le], NULL);
                s->group = g;
                s->le = (uint32_t) le;
            }
            add_series(d, S_HIST_SUM, "http_request_duration_seconds_sum", "handler", handler,
                       "instance", inst, "job", "api", NULL)
                ->group = g;
            add_series(d, S_HIST_COUNT, "http_request_duration_seconds_count", "handler", handler,
                       "instance", inst, "job", "api", NULL)
                ->group = g;
            for (int c = 0; c < 3; c++) {
                struct series *s = add_series(d, S_COUNTER, "http_requests_total", "code",
                                              codes[c], "handler", handler, "instance", inst,
                                              "job", "api", NULL);
                s->rate = d->groups[g].reqs / 15 * code_share[c];
            }
        }
    }
    /* Last, so the random draws above (and the other series' data) do not depend on them. */
    for (int h = 0; h < HOSTS; h++)
        add_series(d, S_UP, "up", "instance", str(d, "host-%d", h), "job", node_jobs[h % NODE_JOBS],
                   NULL)
            ->goes_down = h == 3;
    for (int i = 0; i < API_INSTANCES; i++)
        add_series(d, S_UP, "up", "instance", str(d, "api-%d", i), "job", "api", NULL);
}

/* One scrape interval of a histogram group: requests with log-normal-ish latencies. */
static void hist_step(struct hist_group *g)
{
    static const double bounds[N_LE] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5,   1,    2.5,   5,    10,  HUGE_VAL};
    double fresh[N_LE] = {0}; /* requests whose smallest bucket is b */
    int n = (int) (g->reqs * (0.7 + 0.6 * rnd()));
    for (int r = 0; r < n; r++) {
        double lat = g->lat_scale * exp(1.2 * (rnd() + rnd() + rnd() - 1.5));
        size_t b = 0;
        while (lat > bounds[b])
            b++;
        fresh[b]++;
        g->sum += lat;
        g->count++;
    }
    double below = 0; /* buckets are cumulative: le="x" counts every request <= x */
    for (size_t b = 0; b < N_LE; b++) {
        below += fresh[b];
        g->counts[b] += below;
    }
}

static double sample(struct series *s, struct dataset *d, int k)
{
    switch (s->kind) {
    case S_COUNTER:
        if (k == s->reset_at)
            s->value = 0;
        s->value += s->rate * (STEP_MS / 1000.0) * (0.8 + 0.4 * rnd());
        return round(s->value * 100) / 100; /* exporters print a few decimals */
    case S_GAUGE: s->value *= 0.98 + 0.04 * rnd(); return s->value;
    case S_BUCKET: return d->groups[s->group].counts[s->le];
    case S_HIST_SUM: return d->groups[s->group].sum;
    case S_HIST_COUNT: return d->groups[s->group].count;
    case S_UP: return s->goes_down && k >= s->reset_at ? 0 : 1;
    }
    return 0;
}

/* Writes the dataset and returns the open tsdb: all in the in-memory head (dir NULL), or laid
 * out as a server's data directory holds it: everything before the last 2 h boundary that is
 * at least an hour old in blocks (written by the backfill path), the rest in the head. */
static void write_om(FILE *f, const struct series *s, int64_t t, double v)
{
    fputs(s->ls.v[0].value, f); /* __name__ sorts first: the other names are lower case */
    for (uint32_t i = 1; i < s->ls.n; i++)
        fprintf(f, "%c%s=\"%s\"", i == 1 ? '{' : ',', s->ls.v[i].name, s->ls.v[i].value);
    char num[NUM_FLOAT_MAX];
    num_format(num, v, 'g'); /* shortest text that reads back as v */
    fprintf(f, "%s %s %" PRId64 ".%03d\n", s->ls.n > 1 ? "}" : "", num, t / 1000,
            (int) (t % 1000));
}

/* om: write the samples as OpenMetrics text instead (for Prometheus' promtool; returns NULL). */
static tsdb *load(struct dataset *d, int64_t t0, int scrapes, const char *dir, FILE *om)
{
    struct err e = {0};
    for (size_t i = 0; i < d->n; i++)
        if (d->s[i].kind == S_COUNTER && i % 50 == 7)
            d->s[i].reset_at = (int) (rnd() * scrapes);
        else if (d->s[i].kind == S_UP)
            d->s[i].reset_at = scrapes - 20 * 60000 / STEP_MS;
    int64_t last = t0 + (int64_t) (scrapes - 1) * STEP_MS, two_h = 7200000;
    int64_t cut = dir ? (last - 3600000) / two_h * two_h : INT64_MIN;
    tsdb_backfill *bf = NULL;
    tsdb *db = NULL;
    if (dir && t0 < cut && tsdb_backfill_new(dir, 0, &bf, &e) < 0)
        die("backfill", &e);
    for (int k = 0; k < scrapes; k++) {
        for (size_t g = 0; g < d->n_groups; g++)
            hist_step(&d->groups[g]);
        int64_t t = t0 + (int64_t) k * STEP_MS;
        if (om) {
            for (size_t i = 0; i < d->n; i++)
                write_om(om, &d->s[i], t, sample(&d->s[i], d, k));
            continue;
        }
        if (!db && t >= cut) {
            struct tsdb_backfill_stats st;
            if (bf && tsdb_backfill_finish(bf, &st, &e) < 0)
                die("backfill", &e);
            tsdb_backfill_free(bf);
            bf = NULL;
            struct tsdb_opts o = {.dir = dir};
            if (tsdb_open(&o, &db, &e) < 0)
                die("tsdb_open", &e);
        }
        if (!db) {
            for (size_t i = 0; i < d->n; i++)
                if (tsdb_backfill_add(bf, &d->s[i].ls, t, sample(&d->s[i], d, k), &e) < 0)
                    die("backfill", &e);
            continue;
        }
        tsdb_appender *app = tsdb_appender_new(db);
        if (!app)
            die("appender", NULL);
        for (size_t i = 0; i < d->n; i++)
            if (tsdb_appender_add(app, &d->s[i].ref, &d->s[i].ls, t, sample(&d->s[i], d, k),
                                  &e) < 0)
                die("append", &e);
        if (tsdb_appender_commit(app, &e) != 0)
            die("commit", &e);
    }
    if (om)
        fputs("# EOF\n", om);
    return db;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static long maxrss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

struct run {
    double median_ms, median_cpu_ms;
    size_t peak_bytes;
    long rss_grew_kib;
    size_t series, points;
};

static int64_t cpu_ns(void) /* this thread's CPU time: robust against a busy machine */
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double median_ms(int64_t *ns, int runs)
{
    qsort(ns, (size_t) runs, sizeof *ns, cmp_i64);
    double m = runs % 2 ? (double) ns[runs / 2]
                        : ((double) ns[runs / 2 - 1] + (double) ns[runs / 2]) / 2;
    return m / 1e6;
}

/* Parses and evaluates q `runs` times in a fresh arena each time; median wall and CPU time. */
static struct run measure(promql_engine *eng, const char *q, int range, int64_t start,
                          int64_t end, int runs)
{
    int64_t *ns = calloc((size_t) runs, sizeof *ns), *cpu = calloc((size_t) runs, sizeof *cpu);
    if (!ns || !cpu)
        die("timings", NULL);
    struct run out = {0};
    long rss0 = maxrss_kib();
    for (int i = 0; i < runs; i++) {
        struct arena *a = arena_new(0);
        struct promql_expr *x;
        struct promql_result res;
        struct err e = {0};
        if (!a)
            die("arena", NULL);
        int64_t t0 = time_mono_ns(), c0 = cpu_ns();
        int r = promql_parse(a, q, strlen(q), &x, &e);
        if (r >= 0)
            r = range ? promql_eval_range(eng, a, x, start, end, RANGE_STEP_MS, &res, &e)
                      : promql_eval_instant(eng, a, x, end, &res, &e);
        ns[i] = time_mono_ns() - t0;
        cpu[i] = cpu_ns() - c0;
        if (r < 0)
            die(q, &e);
        if (res.peak_bytes > out.peak_bytes)
            out.peak_bytes = res.peak_bytes;
        if (res.type == PROMQL_MATRIX) {
            out.series = res.u.matrix.n;
            out.points = 0;
            for (size_t s = 0; s < res.u.matrix.n; s++)
                out.points += res.u.matrix.v[s].n_points;
        } else if (res.type == PROMQL_VECTOR) {
            out.series = out.points = res.u.vector.n;
        } else {
            out.series = out.points = 1;
        }
        arena_free(a);
    }
    out.median_ms = median_ms(ns, runs);
    out.median_cpu_ms = median_ms(cpu, runs);
    out.rss_grew_kib = maxrss_kib() - rss0;
    free(ns);
    free(cpu);
    return out;
}

static void fmt_bytes(char *out, size_t cap, size_t b)
{
    if (b >= (size_t) 10 << 20)
        snprintf(out, cap, "%.1f MiB", (double) b / (1 << 20));
    else
        snprintf(out, cap, "%.1f KiB", (double) b / 1024);
}

/* The first five are the original set (their geometric mean is printed separately so older
 * figures stay comparable); the rest are other typical dashboard and alert shapes. */
static const char *const queries[] = {
    "rate(node_cpu_seconds_total[5m])",
    "sum by (job) (rate(node_cpu_seconds_total[5m]))",
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "topk(5, rate(node_cpu_seconds_total[5m]))",
    "node_cpu_seconds_total{instance=~\"host-1.*\"}",
    "sum(rate(http_requests_total[5m])) by (instance)",
    "avg_over_time(node_filesystem_avail_bytes[5m])",
    "up == 0",
    "increase(http_requests_total[1h])",
    "rate(http_request_duration_seconds_sum[5m])"
    " / rate(http_request_duration_seconds_count[5m])",
    "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))",
    "histogram_quantile(0.99, sum by (handler, le) "
    "(rate(http_request_duration_seconds_bucket[5m])))",
    "max_over_time(rate(http_requests_total{code=\"500\"}[5m])[30m:1m])",
    /* alert-style: error ratio, disk filling up, disk saturation, a job gone; and the
     * network panel of a node dashboard */
    "sum(rate(http_requests_total{code=\"500\"}[5m])) / sum(rate(http_requests_total[5m]))",
    "predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0",
    "rate(node_disk_io_time_seconds_total[5m]) > 0.9",
    "absent(up{job=\"api\"} == 1)",
    "sum by (instance) (rate(node_network_receive_bytes_total[5m]))",
};
enum { NQ = sizeof queries / sizeof queries[0], NQ_ORIG = 5 };

/* The data as OpenMetrics text, for bench/peers_compare.py: each server imports it. */
static int dump_openmetrics(const char *path, int hours)
{
    struct dataset d = {.a = arena_new(0)};
    FILE *f = fopen(path, "w");
    if (!d.a || !f)
        die(path, NULL);
    build_series(&d);
    int scrapes = hours * 3600000 / STEP_MS;
    int64_t t0 = INT64_C(1700000000000), end = t0 + (int64_t) (scrapes - 1) * STEP_MS;
    int range_hours = hours < 6 ? hours : 6;
    (void) load(&d, t0, scrapes, NULL, f);
    if (fclose(f) != 0)
        die(path, NULL);
    /* What the query runs use: instant at end, range over the last 6 h. */
    printf("series=%zu instant_ms=%" PRId64 " range_start_ms=%" PRId64 " range_end_ms=%" PRId64
           " step_ms=%d\n",
           d.n, end, end - (int64_t) range_hours * 3600000, end, RANGE_STEP_MS);
    free(d.groups);
    free(d.s);
    arena_free(d.a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--queries") == 0) {
        for (int q = 0; q < NQ; q++)
            printf("%s\n", queries[q]);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--openmetrics") == 0)
        return dump_openmetrics(argv[2], argc > 3 ? atoi(argv[3]) : 6);
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    int hours = argc > 2 ? atoi(argv[2]) : 6;
    const char *filter = argc > 3 ? argv[3] : "";
    int blocks = argc > 4 && strcmp(argv[4], "blocks") == 0;
    if (runs < 1 || hours < 1 || (argc > 4 && !blocks)) {
        fprintf(stderr, "usage: bench_promql [runs [hours [filter [blocks]]]]\n");
        return 2;
    }

    struct dataset d = {.a = arena_new(0)};
    if (!d.a)
        die("arena", NULL);
    build_series(&d);
    struct err e = {0};
    char dir[] = "/tmp/bench_promql.XXXXXX";
    if (blocks && !mkdtemp(dir))
        die("mkdtemp", NULL);
    int scrapes = hours * 3600000 / STEP_MS;
    int range_hours = hours < 6 ? hours : 6;
    int64_t t0 = INT64_C(1700000000000), end = t0 + (int64_t) (scrapes - 1) * STEP_MS;
    int64_t start = end - (int64_t) range_hours * 3600000;
    int64_t load_ns = time_mono_ns();
    tsdb *db = load(&d, t0, scrapes, blocks ? dir : NULL, NULL);
    load_ns = time_mono_ns() - load_ns;
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    printf("dataset: %zu series x %d samples (%d h at 15 s) in %.1f s; head: %" PRIu64
           " samples, chunks %.1f MiB; blocks: %" PRIu64 ", %.1f MiB; maxrss %.1f MiB\n",
           d.n, scrapes, hours, (double) load_ns / 1e9, st.samples_appended,
           (double) st.head_bytes / (1 << 20), st.blocks, (double) st.block_bytes / (1 << 20),
           (double) maxrss_kib() / 1024);
    printf("instant queries at the end; range queries: last %d h at step %d s (%" PRId64
           " steps); median of %d runs; parse + evaluate, no JSON\n\n",
           range_hours, RANGE_STEP_MS / 1000, (end - start) / RANGE_STEP_MS + 1, runs);

    promql_engine *eng;
    if (promql_engine_new(db, NULL, &eng, &e) < 0)
        die("engine", &e);
    printf("%-92s %10s %8s %10s %8s | %10s %8s %10s %9s %s\n", "query", "instant ms", "cpu ms",
           "peak", "rss+", "range ms", "cpu ms", "peak", "rss+", "series/points");
    /* [0]: the original five, [1]: all; wall instant, wall range, cpu instant, cpu range */
    double logs[2][4] = {{0}};
    int counted[2] = {0};
    for (int q = 0; q < NQ; q++) {
        if (!strstr(queries[q], filter))
            continue;
        struct run in = measure(eng, queries[q], 0, start, end, runs);
        struct run rg = measure(eng, queries[q], 1, start, end, runs);
        char pi[32], pr[32], ri[32], rr[32];
        fmt_bytes(pi, sizeof pi, in.peak_bytes);
        fmt_bytes(pr, sizeof pr, rg.peak_bytes);
        snprintf(ri, sizeof ri, "%ld KiB", in.rss_grew_kib);
        snprintf(rr, sizeof rr, "%ld KiB", rg.rss_grew_kib);
        printf("%-92s %10.2f %8.2f %10s %8s | %10.2f %8.2f %10s %9s %zu/%zu\n", queries[q],
               in.median_ms, in.median_cpu_ms, pi, ri, rg.median_ms, rg.median_cpu_ms, pr, rr,
               rg.series, rg.points);
        double v[4] = {in.median_ms, rg.median_ms, in.median_cpu_ms, rg.median_cpu_ms};
        for (int set = 0; set < 2; set++) {
            if (set == 0 && q >= NQ_ORIG)
                continue;
            counted[set]++;
            for (int k = 0; k < 4; k++)
                logs[set][k] += log(v[k]);
        }
    }
    static const char *const set_name[2] = {"original 5", "all"};
    printf("\n");
    for (int set = 0; set < 2; set++) {
        if (counted[set] == 0)
            continue;
        double n = counted[set];
        printf("summary (%s): geometric mean wall instant %.3f ms, range %.3f ms; cpu instant "
               "%.3f ms, range %.3f ms (%d queries, %zu series, %d h)\n",
               set_name[set], exp(logs[set][0] / n), exp(logs[set][1] / n),
               exp(logs[set][2] / n), exp(logs[set][3] / n), counted[set], d.n, hours);
    }
    promql_engine_free(eng);
    tsdb_close(db);
    if (blocks)
        (void) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d.groups);
    free(d.s);
    arena_free(d.a);
    return 0;
}
