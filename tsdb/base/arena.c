/* tsdb/base/arena.c — bump allocator over a chain of malloc'd blocks with a byte cap.
 * Blocks double in size from 4 KiB up to 1 MiB; a request larger than a block gets its own block.
 * ASan builds poison memory on reset/free so a use after reset shows as 0xdd patterns. */
#include "arena.h"
#include "base.h"
#include "sanitizer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK 4096
#define ARENA_MAX_BLOCK (1u << 20)

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

struct arena {
    struct arena_block *head; /* current block; older ones follow via next */
    struct arena_cleanup *cleanups; /* run by arena_free and arena_reset, newest first */
    size_t cap;               /* 0: unlimited */
    size_t reserved;          /* bytes of all blocks, counted against cap */
    size_t used;
    size_t next_block;
    void *last;               /* most recent allocation, for in-place realloc */
    int over_cap;
};

struct arena *arena_new(size_t cap_bytes)
{
    struct arena *a = zalloc(sizeof *a);
    if (!a)
        return NULL;
    a->cap = cap_bytes;
    a->next_block = ARENA_FIRST_BLOCK;
    return a;
}

/* Only the ASan build poisons: reset runs once per request, query and scrape, and filling every
 * used byte there is work the shipped (debugoptimized) build should not pay for. */
static void poison(struct arena_block *b)
{
    if (EMBER_ASAN)
        memset(b->data, 0xdd, b->used);
}

/* Cleanup records live in the arena's own blocks: run them before any block is freed. */
static void run_cleanups(struct arena *a)
{
    for (struct arena_cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    a->cleanups = NULL;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    run_cleanups(a);
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        poison(b);
        free(b);
        b = next;
    }
    free(a);
}

void arena_reset(struct arena *a)
{
    if (!a)
        return;
    run_cleanups(a);
    if (!a->head)
        return;
    struct arena_block *keep = a->head;
    while (keep->next) /* keep the oldest (first) block */
        keep = keep->next;
    struct arena_block *b = a->head;
    while (b != keep) {
        struct arena_block *next = b->next;
        poison(b);
        free(b);
        b = next;
    }
    poison(keep);
    keep->used = 0;
    a->head = keep;
    a->reserved = sizeof *keep + keep->size;
    a->used = 0;
    a->last = NULL;
    a->over_cap = 0;
}

static size_t align_up(size_t n)
{
    return (n + (ARENA_ALIGN - 1)) & ~(size_t) (ARENA_ALIGN - 1);
}

static struct arena_block *grow(struct arena *a, size_t need)
{
    size_t size = a->next_block;
    if (size < need)
        size = need;
    size_t total;
    if (__builtin_add_overflow(size, sizeof(struct arena_block), &total))
        return NULL;
    if (a->cap && (a->reserved + total > a->cap)) {
        /* Try the smallest block that fits before giving up. */
        size = need;
        total = size + sizeof(struct arena_block);
        if (a->reserved + total > a->cap) {
            a->over_cap = 1;
            return NULL;
        }
    }
    struct arena_block *b = malloc(total);
    if (!b)
        return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->reserved += total;
    if (a->next_block < ARENA_MAX_BLOCK)
        a->next_block *= 2;
    return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = align_up(n);
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        b = grow(a, need);
        if (!b)
            return NULL;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    a->last = p;
    return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    void *p = arena_alloc(a, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n)
{
    if (!old)
        return arena_alloc(a, new_n);
    struct arena_block *b = a->head;
    if (old == a->last && b) {
        size_t off = (size_t) ((unsigned char *) old - b->data);
        size_t need = align_up(new_n ? new_n : 1);
        if (off + need <= b->size) {
            a->used = a->used - (b->used - off) + need;
            b->used = off + need;
            return old;
        }
    }
    void *p = arena_alloc(a, new_n);
    if (p)
        memcpy(p, old, old_n < new_n ? old_n : new_n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        if (n) /* s may be NULL when n is 0 (an empty slice): memcpy must not see it */
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t) n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    (void) vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int arena_on_free(struct arena *a, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof *c);
    if (!c)
        return -1;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t arena_used(const struct arena *a)
{
    return a->used;
}

int arena_over_cap(const struct arena *a)
{
    return a->over_cap;
}
