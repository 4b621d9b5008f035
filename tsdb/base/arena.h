/* tsdb/base/arena.h — capped region allocator: one arena per unit of work (request, scrape, query).
 * Everything allocated from an arena dies with arena_free(); nothing from an arena may be stored in
 * a longer-lived object. Not thread-safe: an arena belongs to one thread at a time. */
#ifndef EMBER_BASE_ARENA_H
#define EMBER_BASE_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena;

/* cap_bytes: hard limit on bytes handed out plus block overhead; 0 means unlimited. */
struct arena *arena_new(size_t cap_bytes);
void arena_free(struct arena *a); /* NULL is fine */
/* Releases everything (running arena_on_free cleanups) but keeps the first block for reuse. */
void arena_reset(struct arena *a);

/* NULL when the cap is reached or memory runs out; arena_over_cap() tells which. */
void *arena_alloc(struct arena *a, size_t n);          /* 16-byte aligned, uninitialised */
void *arena_calloc(struct arena *a, size_t n, size_t size); /* zeroed, overflow-checked */
/* Grows the most recent allocation in place when possible, else copies. */
void *arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n);
char *arena_strndup(struct arena *a, const char *s, size_t n); /* NUL-terminated copy */
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs fn(arg) when the arena is freed or reset, newest first; for resources such as
 * compiled regexes that live as long as the arena. -ENOMEM/ERR_LIMIT-style failure returns -1. */
int arena_on_free(struct arena *a, void (*fn)(void *), void *arg);

size_t arena_used(const struct arena *a); /* bytes handed out, for accounting */
int arena_over_cap(const struct arena *a); /* 1 after an allocation failed on the cap */

#endif
