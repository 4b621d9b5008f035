/* scrape/relabel.h — applying compiled relabel rules (module-internal to scrape/; building them
 * is public, in scrape/scrape.h). */
#ifndef EMBER_SCRAPE_RELABEL_H
#define EMBER_SCRAPE_RELABEL_H

#include "scrape/scrape.h"

/* Runs the rules in order over ls (sorted, unique names) as Prometheus' relabel.Process does.
 * Returns 1 with *ret the result (sorted, unique names, no empty values; it may be empty and may
 * hold names that are not valid label names, e.g. from labelmap: callers check), 0 when a rule
 * dropped the set, ERR_LIMIT/-ENOMEM when arena a is full. *ret's strings point into ls, into rs
 * or into a, so it lives as long as all three. rs NULL keeps ls. Any thread. */
int scrape_relabel_apply(const scrape_relabel *rs, struct arena *a, const struct labels *ls,
                         struct labels *ret);
/* Identity of the rules (what they do), for target identity across reloads; NULL: 0. */
uint64_t scrape_relabel_hash(const scrape_relabel *rs);

#endif
