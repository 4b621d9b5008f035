/* scrape/loop.h — one target's scrape cycle (module-internal to scrape/).
 *   tick (loop) → http GET (loop) → worker: parse, label, metric relabel, append, staleness
 *   → loop: status
 * A tick that arrives while a scrape is still running is skipped and counted. */
#ifndef EMBER_SCRAPE_LOOP_H
#define EMBER_SCRAPE_LOOP_H

#include "scrape/scrape.h"

struct scrape_loop;

struct scrape_intervals;
struct scrape_handoff;

/* spec is deep-copied; the loop holds a reference on spec->metric_relabel. Each scrape start
 * after the first is reported to iv (may be NULL); each scrape's parse and append run through
 * handoff. Both borrowed until the loop has stopped. */
int scrape_loop_start(uv_loop_t *uv, tsdb *db, const struct scrape_target_spec *spec,
                      struct scrape_intervals *iv, struct scrape_handoff *handoff,
                      struct scrape_loop **ret, struct err *e);
/* Stops the loop; marks its series stale; on_stopped(arg) runs once nothing is in flight and the
 * loop is freed. */
void scrape_loop_stop(struct scrape_loop *l, void (*on_stopped)(void *arg), void *arg);
const struct scrape_target_spec *scrape_loop_spec(const struct scrape_loop *l);
/* Replaces the discovered labels the status shows (copied); on no memory the old ones stay. */
void scrape_loop_set_discovered(struct scrape_loop *l, const struct labels *discovered);
void scrape_loop_status(const struct scrape_loop *l, struct scrape_target_status *ret);
/* Identity of the spec: equal hashes mean the running loop can be kept across a reload. */
uint64_t scrape_spec_hash(const struct scrape_target_spec *spec);

#endif
