/* scrape/schedule.h — when a target scrapes (module-internal to scrape/): its offset within the
 * interval, taken from a hash of its identity as Prometheus does, rounded down to a slot, so that
 * targets sharing a slot start together: one timer wake-up sends all their requests, and their
 * responses reach the batched hand-off (handoff.h) together. Slots are SCRAPE_SCHEDULE_SLOTS per
 * interval, at most SCRAPE_SCHEDULE_SLOT_MAX_MS long. Ticks keep their phase (no drift from late
 * wake-ups): each next due time is the last one plus whole intervals. Pure arithmetic, no
 * clock: times are in the caller's milliseconds (the loop's uv_now). */
#ifndef EMBER_SCRAPE_SCHEDULE_H
#define EMBER_SCRAPE_SCHEDULE_H

#include <stdint.h>

#define SCRAPE_SCHEDULE_SLOTS 20
#define SCRAPE_SCHEDULE_SLOT_MAX_MS 250

/* The slot length for an interval (> 0): interval / SCRAPE_SCHEDULE_SLOTS, at most
 * SCRAPE_SCHEDULE_SLOT_MAX_MS, at least 1. */
int64_t scrape_schedule_slot_ms(int64_t interval_ms);

/* A target's start within each interval: hash % interval rounded down to a slot; in
 * [0, interval). */
int64_t scrape_schedule_offset_ms(uint64_t hash, int64_t interval_ms);

/* The first time >= now at the offset's phase: t % interval == offset. */
int64_t scrape_schedule_first_ms(int64_t now_ms, int64_t offset_ms, int64_t interval_ms);

/* The due time after due: due plus the fewest whole intervals that put it after now (a loop
 * blocked past a whole interval skips ticks rather than firing them back to back). */
int64_t scrape_schedule_next_ms(int64_t due_ms, int64_t now_ms, int64_t interval_ms);

#endif
