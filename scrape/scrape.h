/* scrape/scrape.h — scraping targets on a schedule into the tsdb. The server turns its config into
 * target specs; the manager runs one loop per target on the libuv loop (HTTP I/O there) and does
 * the parse + append of each scrape on a libuv worker thread.
 * Every function here is for the loop thread only. */
#ifndef EMBER_SCRAPE_H
#define EMBER_SCRAPE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tsdb/tsdb.h"

struct scrape_target_spec {
    const char *job;
    const char *scheme;       /* "http" */
    const char *address;      /* host:port, or [v6]:port */
    const char *metrics_path; /* starts with '/' */
    const char *query;        /* encoded URL parameters without '?', or "" */
    const char *accept;       /* Accept header to send */
    int64_t interval_ms, timeout_ms;
    int honor_labels, honor_timestamps;
    struct labels labels; /* target labels (job, instance, static ones), sorted; borrowed */
};

enum scrape_health { SCRAPE_HEALTH_UNKNOWN, SCRAPE_HEALTH_UP, SCRAPE_HEALTH_DOWN };

/* A target's state for the API, copied out (strings valid until the next manager call). */
struct scrape_target_status {
    const struct scrape_target_spec *spec;
    enum scrape_health health;
    const char *last_error;       /* "" when the last scrape succeeded */
    int64_t last_scrape_ms;       /* wall clock of the last scrape start, 0 if none */
    double last_duration_seconds;
    uint64_t last_samples;
    uint64_t skipped_ticks; /* ticks skipped because the previous scrape was still running */
};

typedef struct scrape_manager scrape_manager;
int scrape_manager_new(uv_loop_t *loop, tsdb *db, scrape_manager **ret, struct err *e);
/* Makes the running targets equal to specs: unchanged targets keep running (no gap), removed
 * ones stop (their series get staleness markers), new ones start. specs are copied. */
int scrape_manager_apply(scrape_manager *m, const struct scrape_target_spec *specs, size_t n,
                         struct err *e);
size_t scrape_manager_count(const scrape_manager *m);
/* Calls fn for each target, in job then address order. */
void scrape_manager_each(const scrape_manager *m,
                         void (*fn)(void *ctx, const struct scrape_target_status *st), void *ctx);
/* Stops every target; done(arg) runs on the loop once all handles and jobs have finished. */
void scrape_manager_close(scrape_manager *m, void (*done)(void *arg), void *arg);

#endif
