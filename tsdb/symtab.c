/* tsdb/symtab.c — string interning: strings packed into one reserved region, found through a
 * hash map. */
#include "symtab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tsdb/base/base.h"

/* Strings are packed into one reserved stretch of address space, committed as it fills, so a
 * string's offset from the base is a 32-bit id (symtab.h) and turns back into its address with
 * one addition, no table and no lock. Reserving costs address space only. */
#define RESERVE_MAX ((size_t) 4 << 30) /* ids are 32-bit offsets */
#define RESERVE_MIN ((size_t) 16 << 20)
#define COMMIT_STEP ((size_t) 256 * 1024)

struct symtab {
    pthread_mutex_t lock;
    struct hmap map; /* items: interned char* */
    char *base;
    size_t reserved, committed, used;
};

struct key {
    const char *s;
    size_t n;
};

static int str_eq(const void *item, const void *key)
{
    const struct key *k = key;
    const char *s = item;
    return strncmp(s, k->s, k->n) == 0 && s[k->n] == '\0';
}

struct symtab *symtab_new(void)
{
    struct symtab *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    size_t want = sizeof(size_t) > 4 ? RESERVE_MAX : RESERVE_MIN * 8;
    for (; want >= RESERVE_MIN; want /= 2) {
        void *p = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            st->base = p;
            st->reserved = want;
            break;
        }
    }
    if (!st->base) {
        free(st);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    return st;
}

void symtab_free(struct symtab *st)
{
    if (!st)
        return;
    munmap(st->base, st->reserved);
    hmap_free(&st->map);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

const char *symtab_base(const struct symtab *st)
{
    return st->base;
}

/* n bytes at the end of the strings, committing more of the reservation as needed; lock held. */
static char *slab_alloc(struct symtab *st, size_t n)
{
    if (n > st->reserved - st->used)
        return NULL;
    if (st->used + n > st->committed) {
        size_t to = (st->used + n + COMMIT_STEP - 1) / COMMIT_STEP * COMMIT_STEP;
        to = to < st->reserved ? to : st->reserved;
        if (mprotect(st->base + st->committed, to - st->committed, PROT_READ | PROT_WRITE) < 0)
            return NULL;
        st->committed = to;
    }
    char *p = st->base + st->used;
    st->used += n;
    return p;
}

const char *symtab_intern(struct symtab *st, const char *s, size_t n)
{
    struct key k = {s, n};
    uint64_t h = hash_bytes(s, n);
    pthread_mutex_lock(&st->lock);
    char *found = hmap_get(&st->map, h, str_eq, &k);
    if (!found) {
        found = slab_alloc(st, n + 1);
        if (found) {
            memcpy(found, s, n);
            found[n] = '\0';
            if (hmap_put(&st->map, h, found) < 0)
                found = NULL; /* slab bytes are wasted, not leaked: freed with the slab */
        }
    }
    pthread_mutex_unlock(&st->lock);
    return found;
}

const char *symtab_find(struct symtab *st, const char *s, size_t n)
{
    struct key k = {s, n};
    uint64_t h = hash_bytes(s, n);
    pthread_mutex_lock(&st->lock);
    const char *found = hmap_get(&st->map, h, str_eq, &k);
    pthread_mutex_unlock(&st->lock);
    return found;
}

size_t symtab_bytes(const struct symtab *st)
{
    return st->used;
}
