/* scrape/series_cache.h — one target's series cache: raw series text (`name{labels}` as scraped)
 * → what labelling it gave (a series ref, or "dropped" by metric_relabel_configs), so that known
 * series skip label parsing, relabeling and the head's label lookup; and which series of the last
 * scrape this one did not see (staleness). Owned by one scrape loop; used by the one worker job
 * that runs that loop's scrape, never by two threads at once, so it has no lock. */
#ifndef EMBER_SCRAPE_SERIES_CACHE_H
#define EMBER_SCRAPE_SERIES_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"

struct series_cache;

/* A series of the scrape in progress. ref and dropped are the caller's to set for a new series
 * (and to correct, e.g. when the ref left the head); borrowed until the next lookup. */
struct series_cache_slot {
    uint64_t ref;           /* 0 when dropped */
    uint32_t off;           /* the series text: body + off, len bytes (private once committed) */
    uint32_t len : 30;      /* 16 bytes a slot: one per series of every target stays */
    uint32_t dropped : 1;   /* metric_relabel_configs dropped the series: count it, store nothing */
    uint32_t seen : 1;      /* private: in the previous scrape's list, seen again by this one */
};

enum series_cache_found { SERIES_CACHE_NEW, SERIES_CACHE_KNOWN, SERIES_CACHE_DUP };

struct series_cache *scrape_series_cache_new(void);
void scrape_series_cache_free(struct series_cache *c); /* NULL is fine */

/* Series the last committed scrape kept (0 before the first one, after a failed one). */
uint32_t scrape_series_cache_size(const struct series_cache *c);

/* Bytes the kept texts of the last committed scrape's series take (front-coded). */
size_t scrape_series_cache_text_bytes(const struct series_cache *c);

/* Starts a scrape whose series texts all lie in body[0..len) (borrowed until commit or abort). */
void scrape_series_cache_begin(struct series_cache *c, const char *body, size_t len);

/* The series s[0..n) (inside the body given to begin). KNOWN: *ret holds the last scrape's ref and
 * dropped; NEW: *ret is a fresh slot (ref 0, not dropped) for the caller to fill; DUP: the series
 * came before in this scrape, *ret is (read-only) what its first occurrence got, so the caller
 * can count a repeat of a stored series as Prometheus does. -ENOMEM on allocation failure;
 * ERR_LIMIT for a body of 4 GiB or more or a series text of 1 GiB or more. */
int scrape_series_cache_lookup(struct series_cache *c, const char *s, size_t n,
                               struct series_cache_slot **ret);

/* Calls fn with the ref of every stored (not dropped) series of the last committed scrape that
 * this scrape did not see, or of every one when all is set (the scrape failed, the target goes
 * away). Stops at and returns fn's first negative result. */
int scrape_series_cache_each_gone(const struct series_cache *c, int all,
                                  int (*fn)(void *arg, uint64_t ref), void *arg);

/* The scrape succeeded: its series become the last scrape's. The cache keeps its own compact
 * copy of their texts: the body given to begin may go. -ENOMEM: the cache was cleared instead
 * (the next scrape finds its series in the head by their labels; a series missing from it gets
 * no stale marker). */
int scrape_series_cache_commit(struct series_cache *c);

/* The scrape failed or the target goes away: forget every series. */
void scrape_series_cache_clear(struct series_cache *c);

#endif
