/* scrape/handoff.h — hands finished fetches to the libuv worker pool in batches (module-internal
 * to scrape/; the manager owns one, its loops submit to it). Loop thread only.
 *
 * One uv_queue_work and one appender commit per scrape cost, for every target every interval, a
 * worker wake-up, a completion wake-up of the loop, lock traffic on the pool's queue, and a WAL
 * record of its own (a zstd call and a write); spread over the interval, scrapes rarely finish
 * together, so nothing shared those costs. Here a submitted item waits up to
 * SCRAPE_HANDOFF_DELAY_MS for others (or until no fetch is under way), then the whole batch runs as one pool job, in submission
 * order, appending through one appender committed once (one WAL record); an item that fails
 * rolls back to its own savepoint (tsdb_appender_mark), so the others still commit. Samples
 * carry their scrape's start time, so the wait changes no stored data, only when it becomes
 * visible. */
#ifndef EMBER_SCRAPE_HANDOFF_H
#define EMBER_SCRAPE_HANDOFF_H

#include <stddef.h>
#include <uv.h>

#include "tsdb/tsdb.h"

#define SCRAPE_HANDOFF_DELAY_MS 100

struct scrape_handoff;

/* Embedded in the submitter's job; the handoff links it while queued. */
struct scrape_handoff_item {
    struct scrape_handoff_item *next; /* private */
    /* On a worker thread: appends through app (the batch's, NULL when out of memory); on failure
     * rolls back to a mark it took first. */
    void (*work)(struct scrape_handoff_item *it, tsdb_appender *app);
    /* Then on the loop; may free it. commit_err: NULL when the batch committed, else why not
     * (nothing of the batch was stored). */
    void (*done)(struct scrape_handoff_item *it, const struct err *commit_err);
    size_t bytes; /* memory the item holds while it waits (its body): bounds a batch */
};

/* db: borrowed until closed. 0 or -ENOMEM. */
int scrape_handoff_new(uv_loop_t *uv, tsdb *db, struct scrape_handoff **ret);
/* Queues it (taken until its done callback). Runs soon: at most after the delay, at once when
 * the queued items hold too many bytes or the handoff is closing. */
void scrape_handoff_submit(struct scrape_handoff *h, struct scrape_handoff_item *it);
/* A fetch began whose item will be submitted when it ends; fetch_end after that submit (or
 * when the fetch ends without one). When no begun fetch is left, what is queued goes at once
 * rather than after the delay: the scrapes of a slot (schedule.h) start together, so the last
 * one back closes the batch. */
void scrape_handoff_fetch_begin(struct scrape_handoff *h);
void scrape_handoff_fetch_end(struct scrape_handoff *h);
/* Once nothing is queued or running: closes the handle, frees h, then closed(arg) on the loop. */
void scrape_handoff_close(struct scrape_handoff *h, void (*closed)(void *arg), void *arg);

#endif
