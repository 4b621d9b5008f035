/* tsdb/reflist.c — uint32 postings lists with two refs inline (reflist.h). */
#include "reflist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/base/base.h"

int reflist_push(struct reflist *l, uint64_t ref)
{
    if (NEVER(ref > UINT32_MAX))
        return ERR_INTERNAL;
    if (l->cap == 0 && l->n < REFLIST_INLINE) {
        l->u.inl[l->n++] = (uint32_t) ref;
        return 0;
    }
    if (l->n == l->cap || l->cap == 0) {
        /* Grows by half: long lists (job, instance, metric names) are few but long. */
        uint32_t cap = l->cap ? l->cap + l->cap / 2 : 2 * REFLIST_INLINE;
        if (cap <= l->n)
            return -ENOMEM;
        uint32_t *p = realloc(l->cap ? l->u.p : NULL, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        if (l->cap == 0)
            memcpy(p, l->u.inl, l->n * sizeof *p);
        l->u.p = p;
        l->cap = cap;
    }
    l->u.p[l->n++] = (uint32_t) ref;
    return 0;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

void reflist_sort(struct reflist *l)
{
    if (l->n > 1)
        qsort((void *) reflist_refs(l), l->n, sizeof(uint32_t), u32_cmp);
}

void reflist_filter(struct reflist *l, int (*keep)(void *ctx, uint64_t ref), void *ctx)
{
    uint32_t *v = (uint32_t *) reflist_refs(l), k = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (keep(ctx, v[i]))
            v[k++] = v[i];
    l->n = k;
    if (l->cap && k <= REFLIST_INLINE) {
        uint32_t *p = l->u.p;
        memcpy(l->u.inl, p, k * sizeof *p);
        free(p);
        l->cap = 0;
    } else if (l->cap > 16 && k < l->cap / 4) {
        uint32_t *p = realloc(l->u.p, (k * 2) * sizeof *p);
        if (p) {
            l->u.p = p;
            l->cap = k * 2;
        }
    }
}

uint64_t *reflist_widen(const struct reflist *l, struct arena *a)
{
    uint64_t *out = arena_alloc(a, (l->n ? l->n : 1) * sizeof *out);
    const uint32_t *v = reflist_refs(l);
    for (uint32_t i = 0; out && i < l->n; i++)
        out[i] = v[i];
    return out;
}

void reflist_free(struct reflist *l)
{
    if (l->cap)
        free(l->u.p);
    memset(l, 0, sizeof *l);
}
