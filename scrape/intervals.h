/* scrape/intervals.h — the actual time between a target's scrapes, per configured interval:
 * Prometheus' summary prometheus_target_interval_length_seconds{interval="15s"} (module-internal
 * to scrape/; the manager owns one, its loops report into it). Loop thread only: no lock. */
#ifndef EMBER_SCRAPE_INTERVALS_H
#define EMBER_SCRAPE_INTERVALS_H

#include "scrape/scrape.h"

struct scrape_intervals;

struct scrape_intervals *scrape_intervals_new(void); /* NULL on ENOMEM */
void scrape_intervals_free(struct scrape_intervals *s); /* NULL is fine */

/* One observation: a target configured for interval_ms started a scrape seconds after its
 * previous one, at now_ms (wall clock; ages the observation out of the quantile window). */
void scrape_intervals_observe(struct scrape_intervals *s, int64_t interval_ms, double seconds,
                              int64_t now_ms);

/* Calls fn with each interval's summary as of now_ms, in the order intervals first appeared. */
void scrape_intervals_each(const struct scrape_intervals *s, int64_t now_ms,
                           void (*fn)(void *ctx, const struct scrape_interval_summary *sum),
                           void *ctx);

#endif
