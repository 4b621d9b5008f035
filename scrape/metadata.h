/* scrape/metadata.h — a target's metric metadata (HELP, TYPE and UNIT lines) as one immutable
 * block per target (module-internal to scrape/).
 *
 * A scrape's worker feeds every HELP/TYPE/UNIT entry to a builder (arena memory) which keeps a
 * running hash of them; when the hash equals the target's current one the builder produces
 * nothing, so a target whose metadata does not change costs no allocation per scrape. Otherwise
 * it produces a new set: entries sorted by metric name, one malloc with all strings, which the
 * loop thread swaps in for the old one (replace per scrape, never merged). */
#ifndef EMBER_SCRAPE_METADATA_H
#define EMBER_SCRAPE_METADATA_H

#include "scrape/scrape.h"
#include "scrape/textparse.h"

struct scrape_meta_set; /* immutable once built; any thread may read it */

struct scrape_meta_builder {
    struct arena *a;
    struct meta_item *v; /* in a */
    uint32_t n, cap;
    uint64_t hash;
};

void scrape_meta_builder_init(struct scrape_meta_builder *b, struct arena *a);
/* Records p's current entry when kind (what textparse_next() returned) is HELP, TYPE or UNIT;
 * other kinds are ignored. ERR_LIMIT/-ENOMEM when the arena is full. */
int scrape_meta_builder_add(struct scrape_meta_builder *b, int kind, const struct textparse *p,
                            struct err *e);
/* The set for what was added, or *ret = NULL when its hash equals same_as (nothing changed).
 * *ret is taken by the caller (scrape_meta_set_free). -ENOMEM. */
int scrape_meta_builder_finish(struct scrape_meta_builder *b, uint64_t same_as,
                               struct scrape_meta_set **ret, struct err *e);
uint64_t scrape_meta_set_hash(const struct scrape_meta_set *s); /* NULL: 0 */
/* The entries sorted by metric; *ret_n 0 for NULL. Borrowed until the set is freed. */
const struct scrape_metadata *scrape_meta_set_entries(const struct scrape_meta_set *s,
                                                      uint32_t *ret_n);
void scrape_meta_set_free(struct scrape_meta_set *s); /* NULL is fine */

#endif
