/* tsdb/postings.h — postings lists: sorted, unique series references, and the set operations
 * matchers need. Results go into an arena. */
#ifndef EMBER_TSDB_POSTINGS_H
#define EMBER_TSDB_POSTINGS_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct postings {
    uint64_t *refs;
    size_t n;
};

/* Each returns 0 or ERR_LIMIT (arena full). */
int postings_intersect(struct arena *a, const struct postings *x, const struct postings *y,
                       struct postings *ret);
int postings_subtract(struct arena *a, const struct postings *x, const struct postings *y,
                      struct postings *ret);
/* Union of n lists (k-way by repeated pairwise merge of sorted lists). */
int postings_union(struct arena *a, const struct postings *lists, size_t n, struct postings *ret);

#endif
