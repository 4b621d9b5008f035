/* bench/dataset.h — the synthetic dataset the benchmarks share: 20 scrape targets at 15 s and
 * series shaped like a node exporter's and a web service's (see dataset.c for the make-up).
 * Deterministic: the same arguments give the same samples. Benchmark code, not part of ember. */
#ifndef EMBER_BENCH_DATASET_H
#define EMBER_BENCH_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"

#define STEP_MS 15000
#define TARGETS 20
#define HIST_BUCKETS 12

enum kind {
    K_CONST, K_RARE, K_CPU, K_BYTES, K_OPS, K_MEM, K_GAUGE, K_HIST, K_FLOAT, K_MAX
};

struct target {
    int64_t *t;
    uint32_t n;
};

/* One group of series sharing a generator (a histogram is 14 series); v[k][i]. */
struct group {
    enum kind kind;
    uint32_t n_series;
    double *v[HIST_BUCKETS + 2];
};

extern const char *const kind_names[K_MAX];
extern const char *const metric_stem[K_MAX]; /* metric names are <stem>_<n>[_bucket|...] */
extern const int kind_share[K_MAX]; /* percent of series */
extern int jittered;                 /* targets (of TARGETS) with 0-3 ms scrape delays */

uint64_t rnd(void);
double unif(void); /* [0, 1) */
double gauss(void);
uint64_t poisson(double lambda);
double dec(int64_t m, int d); /* what a parser makes of m / 10^d printed with d decimals */

/* Scrape timestamps of target idx (missed scrapes left out), at most n_max. */
void gen_target(struct target *tg, int idx, uint32_t n_max);
/* The values of one group of series (g->kind set by the caller) for n timestamps. */
void gen_group(struct group *g, uint32_t n);
/* Draws a group kind with the shares of kind_share (a histogram group is 14 series). */
enum kind draw_kind(void);
/* Labels of series `sub` of group `group` of target `target`: ~100 metric names, job, instance,
 * id (standing in for cpu, device or handler labels) and le for buckets. Sorted, in arena a. */
struct labels series_labels(struct arena *a, enum kind kind, uint32_t group, uint32_t sub,
                            int target);

/* A whole dataset in memory, series by series. */
struct dataset_series {
    struct labels labels;
    const int64_t *t; /* the target's timestamps */
    double *v;
    uint32_t n;
};
struct dataset {
    struct dataset_series *s;
    uint32_t n_series;
    uint64_t n_samples;
    int64_t mint, maxt;
    struct target tg[TARGETS];
    struct arena *a;
};
int dataset_build(struct dataset *d, uint32_t n_series, double hours);
void dataset_free(struct dataset *d);

#endif
