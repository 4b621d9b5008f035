/* tsdb/symtab.c — string interning: strings packed into 64 KiB slabs, found through a hash map. */
#include "symtab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/base/base.h"

#define SLAB_BYTES (64 * 1024)

struct slab {
    struct slab *next;
    size_t used, size;
    char data[];
};

struct symtab {
    pthread_mutex_t lock;
    struct hmap map; /* items: interned char* */
    struct slab *slabs;
    size_t bytes;
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
    if (st)
        pthread_mutex_init(&st->lock, NULL);
    return st;
}

void symtab_free(struct symtab *st)
{
    if (!st)
        return;
    struct slab *s = st->slabs;
    while (s) {
        struct slab *next = s->next;
        free(s);
        s = next;
    }
    hmap_free(&st->map);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static char *slab_alloc(struct symtab *st, size_t n)
{
    struct slab *s = st->slabs;
    if (!s || s->size - s->used < n) {
        size_t size = n > SLAB_BYTES ? n : SLAB_BYTES;
        s = malloc(sizeof *s + size);
        if (!s)
            return NULL;
        s->used = 0;
        s->size = size;
        s->next = st->slabs;
        st->slabs = s;
    }
    char *p = s->data + s->used;
    s->used += n;
    st->bytes += n;
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
    return st->bytes;
}
