/* scrape/intervals.c — prometheus_target_interval_length_seconds: per configured interval, the
 * measured times between consecutive scrape starts of each target.
 *
 * Prometheus keeps a Go summary (targeted quantiles 0.01 0.05 0.5 0.9 0.99 over a sliding 10
 * minute window, _sum and _count since start). Here each interval keeps its last RING
 * observations with their times; a read sorts the ones younger than the window and takes the
 * exact rank, so the quantiles are those of at most RING recent intervals (Prometheus' are
 * approximations over all of the window). _sum and _count are cumulative, as in Prometheus.
 * Memory is fixed per interval; intervals are few (one per distinct scrape_interval ever
 * configured, capped at MAX_INTERVALS: later ones are not tracked). */
#include "scrape/intervals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 1024                 /* observations kept per interval: 16 KiB */
#define WINDOW_MS (10 * 60 * 1000) /* Prometheus' summary MaxAge default */
#define MAX_INTERVALS 64

const double scrape_interval_quantiles[SCRAPE_INTERVAL_QUANTILES] = {0.01, 0.05, 0.5, 0.9, 0.99};

struct observation {
    int64_t t_ms;
    double seconds;
};

struct per_interval {
    int64_t interval_ms;
    double sum;
    uint64_t count;
    uint32_t next; /* ring slot the next observation goes to */
    struct observation ring[RING];
};

struct scrape_intervals {
    struct per_interval *v[MAX_INTERVALS];
    uint32_t n;
};

struct scrape_intervals *scrape_intervals_new(void)
{
    return calloc(1, sizeof(struct scrape_intervals));
}

void scrape_intervals_free(struct scrape_intervals *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s);
}

static struct per_interval *find_or_add(struct scrape_intervals *s, int64_t interval_ms)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i]->interval_ms == interval_ms)
            return s->v[i];
    if (s->n == MAX_INTERVALS)
        return NULL;
    struct per_interval *p = calloc(1, sizeof *p);
    if (p) {
        p->interval_ms = interval_ms;
        s->v[s->n++] = p;
    }
    return p;
}

void scrape_intervals_observe(struct scrape_intervals *s, int64_t interval_ms, double seconds,
                              int64_t now_ms)
{
    struct per_interval *p = s ? find_or_add(s, interval_ms) : NULL;
    if (!p)
        return; /* out of memory or too many intervals: the metric misses this observation */
    p->sum += seconds;
    p->count++;
    p->ring[p->next] = (struct observation){now_ms, seconds};
    p->next = (p->next + 1) % RING;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void scrape_intervals_each(const struct scrape_intervals *s, int64_t now_ms,
                           void (*fn)(void *ctx, const struct scrape_interval_summary *sum),
                           void *ctx)
{
    static double recent[RING]; /* loop thread only (header), so one scratch array serves */
    for (uint32_t i = 0; s && i < s->n; i++) {
        const struct per_interval *p = s->v[i];
        uint32_t n = 0;
        uint64_t kept = p->count < RING ? p->count : RING;
        for (uint32_t k = 0; k < kept; k++)
            if (now_ms - p->ring[k].t_ms <= WINDOW_MS)
                recent[n++] = p->ring[k].seconds;
        qsort(recent, n, sizeof recent[0], cmp_double);
        struct scrape_interval_summary sum = {.interval_ms = p->interval_ms,
                                              .sum_seconds = p->sum,
                                              .count = p->count};
        for (int q = 0; q < SCRAPE_INTERVAL_QUANTILES; q++) {
            /* The smallest observation with at least q of them at or below it. */
            double rank = ceil(scrape_interval_quantiles[q] * n);
            uint32_t at = rank < 1 ? 0 : (uint32_t) rank - 1;
            sum.quantile[q] = n ? recent[at < n ? at : n - 1] : (double) NAN;
        }
        fn(ctx, &sum);
    }
}
