/* tsdb/querier.h — the querier's parts shared by querier.c (series with chunks) and
 * querier_labels.c (label sets only) — module-internal to tsdb/. */
#ifndef EMBER_TSDB_QUERIER_H
#define EMBER_TSDB_QUERIER_H

#include "tsdb/tsdb.h"

struct db_block;

struct tsdb_querier {
    tsdb *db;
    int64_t mint, maxt;
    struct db_block **blocks; /* overlapping the window, by mint */
    size_t n_blocks;
};

/* Sorted unique strings of one label (name != NULL: its values; series without it add none) or
 * all label names over the label sets ls[0..n); arena-allocated. */
int querier_collect_labels(struct arena *a, const struct labels *ls, size_t n, const char *name,
                           const char ***ret, size_t *ret_n, struct err *e);

#endif
