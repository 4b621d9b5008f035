/* bench/dataset.c — the shared benchmark dataset (dataset.h).
 *
 * 20 scrape targets at 15 s, each with a random phase; `jittered` of them (default 10) add
 * 0-3 ms of scheduling delay to every scrape, and every target misses ~1 scrape in 2000. Series
 * kinds (share of series), after the make-up of a node exporter's ~1000 series plus a web
 * service's: constant 30% (info metrics, sizes and limits, error counters at 0, collector
 * success), rarely changing 25% (counters that step now and then, small gauges), cpu-seconds
 * counters with 2 decimals 5%, byte counters 4% (30% of them idle), operation counters 8%,
 * page-sized memory gauges 5%, gauges with 1-2 decimals 4% (load, temperatures), request
 * histograms 12% (12 buckets, _sum a raw float sum, _count), float gauges with 9 decimals or 5
 * significant digits 7% (collector and GC durations). One sample in 10000 is a stale marker. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

const char *const kind_names[K_MAX] = {
    "constant", "rare-change", "cpu-seconds", "byte-counter", "op-counter",
    "memory-gauge", "decimal-gauge", "histogram", "float-gauge",
};
const int kind_share[K_MAX] = {30, 25, 5, 4, 8, 5, 4, 12, 7};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
double unif(void) /* [0, 1) */
{
    return (double) (rnd() >> 11) * 0x1p-53;
}
double gauss(void)
{
    double u = unif() + 0x1p-60, w = unif();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * w);
}
uint64_t poisson(double lambda)
{
    if (lambda > 30) {
        double x = lambda + sqrt(lambda) * gauss();
        return x < 0 ? 0 : (uint64_t) llround(x);
    }
    double l = exp(-lambda), p = 1;
    uint64_t k = 0;
    do {
        k++;
        p *= unif();
    } while (p > l);
    return k - 1;
}
/* The double a scrape parser produces for m / 10^d printed with d decimals. */
double dec(int64_t m, int d)
{
    static const double p[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    return (double) m / p[d];
}

int jittered = TARGETS / 2; /* targets with scrape delays */



void gen_target(struct target *tg, int idx, uint32_t n_max)
{
    int64_t t0 = 1700000000000 + (int64_t) (rnd() % STEP_MS);
    tg->n = 0;
    for (uint32_t i = 0; i < n_max; i++) {
        if (rnd() % 2000 == 0)
            continue; /* missed scrape */
        int64_t jitter = idx >= TARGETS - jittered ? (int64_t) (rnd() % 4) : 0;
        tg->t[tg->n++] = t0 + (int64_t) i * STEP_MS + jitter;
    }
}

void gen_group(struct group *g, uint32_t n)
{
    double *v = g->v[0];
    g->n_series = 1;
    switch (g->kind) {
    case K_CONST: {
        static const double consts[] = {1, 0, 8589934592.0, 1500, 4, 0.5, 1e9, 65536};
        double c = consts[rnd() % 8];
        for (uint32_t i = 0; i < n; i++)
            v[i] = c;
        break;
    }
    case K_RARE: {
        int64_t x = (int64_t) (rnd() % 100);
        int counter = rnd() & 1;
        for (uint32_t i = 0; i < n; i++) {
            if (unif() < 0.002)
                x += counter ? 1 + (int64_t) (rnd() % 3) : (rnd() & 1 ? 1 : -1);
            v[i] = (double) x;
        }
        break;
    }
    case K_CPU: {
        /* node_cpu_seconds_total: USER_HZ ticks shown with 2 decimals. */
        double rate = unif() < 0.15 ? 0.9 + 0.09 * unif() : 0.001 + 0.3 * unif() * unif();
        int64_t ticks = (int64_t) (rnd() % 100000000);
        for (uint32_t i = 0; i < n; i++) {
            double inc = rate * 1500 + sqrt(rate * 1500) * gauss();
            ticks += inc > 0 ? (int64_t) llround(inc) : 0;
            v[i] = dec(ticks, 2);
        }
        break;
    }
    case K_BYTES: {
        int idle = unif() < 0.3;
        double mu = log(1e3) + unif() * (log(1e6) - log(1e3));
        uint64_t x = rnd() % 1000000000000u;
        for (uint32_t i = 0; i < n; i++) {
            if (!idle)
                x += (uint64_t) exp(mu + 0.5 * gauss());
            else if (unif() < 0.05)
                x += 64 * (1 + rnd() % 20);
            v[i] = (double) x;
        }
        break;
    }
    case K_OPS: {
        double lambda = 0.5 + 200 * unif() * unif();
        uint64_t x = rnd() % 10000000;
        for (uint32_t i = 0; i < n; i++) {
            x += poisson(lambda * (1 + 0.2 * sin(i / 400.0)));
            v[i] = (double) x;
        }
        break;
    }
    case K_MEM: {
        double sigma = 1 + 300 * unif() * unif();
        int64_t pages = 100000 + (int64_t) (rnd() % 4000000);
        for (uint32_t i = 0; i < n; i++) {
            pages += (int64_t) llround(sigma * gauss());
            if (pages < 0)
                pages = 0;
            v[i] = (double) (pages * 4096);
        }
        break;
    }
    case K_GAUGE: {
        int d = 1 + (int) (rnd() % 2);
        double level = d == 1 ? 45 : 1.5, x = level;
        for (uint32_t i = 0; i < n; i++) {
            x += 0.05 * (level - x) + (d == 1 ? 0.3 : 0.1) * gauss();
            if (x < 0)
                x = 0;
            v[i] = dec((int64_t) llround(x * (d == 1 ? 10 : 100)), d);
        }
        break;
    }
    case K_HIST: {
        static const double le[HIST_BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};
        double lambda = 0.2 + 100 * unif() * unif(), med = 0.02 + 0.2 * unif();
        uint64_t cnt[HIST_BUCKETS] = {0}, total = 0;
        double sum = 0;
        g->n_series = HIST_BUCKETS + 2;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t k = poisson(lambda);
            for (uint64_t j = 0; j < k; j++) {
                double lat = med * exp(0.8 * gauss());
                sum += lat;
                for (int b = 0; b < HIST_BUCKETS; b++)
                    if (b == HIST_BUCKETS - 1 || lat <= le[b])
                        cnt[b]++;
            }
            total += k;
            for (int b = 0; b < HIST_BUCKETS; b++)
                g->v[b][i] = (double) cnt[b];
            g->v[HIST_BUCKETS][i] = sum;
            g->v[HIST_BUCKETS + 1][i] = (double) total;
        }
        break;
    }
    case K_FLOAT: {
        int style = (int) (rnd() % 3);
        for (uint32_t i = 0; i < n; i++) {
            if (style == 0) /* scrape_duration_seconds: ns resolution */
                v[i] = dec((int64_t) (3000000 + 2000000 * unif()), 9);
            else if (style == 1) /* a quantile printed like 4.2135e-05 */
                v[i] = dec((int64_t) (10000 + 90000 * unif()), 9);
            else /* a process_resident_memory-like gauge in MB with 6 decimals */
                v[i] = dec((int64_t) (2.0e8 + 1.0e6 * gauss()), 6);
        }
        break;
    }
    default:
        break;
    }
    for (uint32_t k = 0; k < g->n_series; k++)
        for (uint32_t i = 0; i < n; i++)
            if (rnd() % 10000 == 0)
                g->v[k][i] = num_stale_nan();
}


enum kind draw_kind(void)
{
    double wsum = 0, w[K_MAX];
    for (int k = 0; k < K_MAX; k++)
        wsum += w[k] = kind_share[k] / (k == K_HIST ? HIST_BUCKETS + 2.0 : 1.0);
    double u = unif() * wsum;
    int kk = 0;
    while (kk < K_MAX - 1 && u >= w[kk])
        u -= w[kk++];
    return (enum kind) kk;
}

const char *const metric_stem[K_MAX] = {
    "node_info", "node_errors_total", "node_cpu_seconds_total", "node_network_bytes_total",
    "node_disk_ops_total", "node_memory_bytes", "node_load", "http_request_duration_seconds",
    "node_scrape_collector_duration_seconds",
};
static const char *const le_names[HIST_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                                   "0.25",  "0.5",  "1",     "2.5",  "5",
                                                   "10",    "+Inf"};

struct labels series_labels(struct arena *a, enum kind kind, uint32_t group, uint32_t sub,
                            int target)
{
    struct label *l = arena_alloc(a, 5 * sizeof *l);
    const char *suffix = kind != K_HIST           ? ""
                         : sub < HIST_BUCKETS     ? "_bucket"
                         : sub == HIST_BUCKETS    ? "_sum"
                                                  : "_count";
    uint32_t k = 0;
    l[k++] = (struct label){"__name__",
                            arena_printf(a, "%s_%u%s", metric_stem[kind], group % 12, suffix)};
    l[k++] = (struct label){"id", arena_printf(a, "%u", group)};
    l[k++] = (struct label){"instance", arena_printf(a, "host%02d:9100", target)};
    l[k++] = (struct label){"job", kind == K_HIST ? "api" : "node"};
    if (kind == K_HIST && sub < HIST_BUCKETS)
        l[k++] = (struct label){"le", le_names[sub]};
    return (struct labels){l, k};
}

int dataset_build(struct dataset *d, uint32_t n_series, double hours)
{
    memset(d, 0, sizeof *d);
    uint32_t n_max = (uint32_t) (hours * 3600000 / STEP_MS);
    d->a = arena_new(0);
    d->s = calloc(n_series, sizeof *d->s);
    if (!d->a || !d->s || n_max == 0)
        return -1;
    d->mint = INT64_MAX;
    d->maxt = INT64_MIN;
    for (int i = 0; i < TARGETS; i++) {
        if (!(d->tg[i].t = malloc(n_max * sizeof(int64_t))))
            return -1;
        gen_target(&d->tg[i], i, n_max);
        d->mint = d->tg[i].t[0] < d->mint ? d->tg[i].t[0] : d->mint;
        int64_t last = d->tg[i].t[d->tg[i].n - 1];
        d->maxt = last > d->maxt ? last : d->maxt;
    }
    struct group g;
    uint32_t gi = 0;
    while (d->n_series < n_series) {
        g.kind = draw_kind();
        int ti = (int) (gi % TARGETS);
        struct target *T = &d->tg[ti];
        for (int k = 0; k < HIST_BUCKETS + 2; k++)
            if (!(g.v[k] = malloc(T->n * sizeof(double))))
                return -1;
        gen_group(&g, T->n);
        for (uint32_t s = 0; s < HIST_BUCKETS + 2; s++) {
            if (s < g.n_series && d->n_series < n_series) {
                d->s[d->n_series++] = (struct dataset_series){
                    series_labels(d->a, g.kind, gi, s, ti), T->t, g.v[s], T->n};
                d->n_samples += T->n;
            } else {
                free(g.v[s]);
            }
        }
        gi++;
    }
    return 0;
}

void dataset_free(struct dataset *d)
{
    for (uint32_t i = 0; i < d->n_series; i++)
        free(d->s[i].v);
    for (int i = 0; i < TARGETS; i++)
        free(d->tg[i].t);
    free(d->s);
    arena_free(d->a);
}
