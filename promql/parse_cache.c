/* promql/parse_cache.c — parsed trees of recently seen query texts, for a caller answering the
 * same small queries over and over (a dashboard's refresh, a benchmark's `up`): parsing is a pure
 * function of the text, and trees are immutable (ast.h), so a tree parsed once serves every later
 * request with the same bytes.
 *
 * Direct-mapped: the text's hash picks one slot; a miss parses into a fresh arena and replaces
 * that slot's entry. Memory is bounded by slots x (text limit + its tree), nothing is ever
 * invalidated, and a failed parse keeps nothing (its error is reported each time). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"
#include "tsdb/base/base.h"

/* Parse memory of one entry; a tree of a text under PROMQL_PARSE_CACHE_TEXT_MAX bytes needs a
 * few KiB, so this only bounds the impossible. */
#define ENTRY_ARENA_CAP (1u << 20)

struct entry {
    struct arena *a; /* NULL: empty slot; holds text and tree */
    const char *text;
    size_t len;
    uint64_t hash;
    const struct promql_expr *x;
};

struct promql_parse_cache {
    size_t mask;
    uint64_t hits, misses;
    struct entry slots[];
};

int promql_parse_cache_new(size_t slots, promql_parse_cache **ret)
{
    size_t n = 1;
    while (n < slots && n < ((size_t) 1 << 20))
        n <<= 1;
    promql_parse_cache *c = calloc(1, sizeof *c + n * sizeof c->slots[0]);
    if (!c)
        return -ENOMEM;
    c->mask = n - 1;
    *ret = c;
    return 0;
}

void promql_parse_cache_free(promql_parse_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i <= c->mask; i++)
        arena_free(c->slots[i].a);
    free(c);
}

int promql_parse_cached(promql_parse_cache *c, const char *q, size_t n,
                        const struct promql_expr **ret, struct err *e)
{
    if (n > PROMQL_PARSE_CACHE_TEXT_MAX)
        return err_set(e, ERR_LIMIT, "query of %zu bytes is too long for the parse cache", n);
    uint64_t h = hash_bytes(q, n);
    struct entry *s = &c->slots[h & c->mask];
    if (s->a && s->hash == h && s->len == n && memcmp(s->text, q, n) == 0) {
        c->hits++;
        *ret = s->x;
        return 0;
    }
    c->misses++;
    struct arena *a = arena_new(ENTRY_ARENA_CAP);
    char *text = a ? arena_strndup(a, q, n) : NULL;
    if (!text) {
        arena_free(a);
        return err_set(e, -ENOMEM, "out of memory parsing the query");
    }
    struct promql_expr *x;
    int r = promql_parse(a, text, n, &x, e);
    if (r < 0) {
        arena_free(a);
        return r;
    }
    arena_free(s->a);
    *s = (struct entry){a, text, n, h, x};
    *ret = x;
    return 0;
}

void promql_parse_cache_stats(const promql_parse_cache *c, uint64_t *ret_hits,
                              uint64_t *ret_misses)
{
    *ret_hits = c->hits;
    *ret_misses = c->misses;
}
