/* tsdb/postings.c — merge-style set operations over sorted reference lists. */
#include "postings.h"

#include "tsdb/base/base.h"

static uint64_t *alloc_refs(struct arena *a, size_t n)
{
    return arena_alloc(a, (n ? n : 1) * sizeof(uint64_t));
}

int postings_intersect(struct arena *a, const struct postings *x, const struct postings *y,
                       struct postings *ret)
{
    size_t cap = x->n < y->n ? x->n : y->n, i = 0, j = 0, k = 0;
    uint64_t *out = alloc_refs(a, cap);
    if (!out)
        return ERR_LIMIT;
    while (i < x->n && j < y->n) {
        if (x->refs[i] < y->refs[j])
            i++;
        else if (x->refs[i] > y->refs[j])
            j++;
        else {
            out[k++] = x->refs[i];
            i++;
            j++;
        }
    }
    ret->refs = out;
    ret->n = k;
    return 0;
}

int postings_subtract(struct arena *a, const struct postings *x, const struct postings *y,
                      struct postings *ret)
{
    size_t i = 0, j = 0, k = 0;
    uint64_t *out = alloc_refs(a, x->n);
    if (!out)
        return ERR_LIMIT;
    while (i < x->n) {
        while (j < y->n && y->refs[j] < x->refs[i])
            j++;
        if (j < y->n && y->refs[j] == x->refs[i])
            i++;
        else
            out[k++] = x->refs[i++];
    }
    ret->refs = out;
    ret->n = k;
    return 0;
}

static int merge2(struct arena *a, const struct postings *x, const struct postings *y,
                  struct postings *ret)
{
    size_t i = 0, j = 0, k = 0;
    uint64_t *out = alloc_refs(a, x->n + y->n);
    if (!out)
        return ERR_LIMIT;
    while (i < x->n || j < y->n) {
        uint64_t v;
        if (j == y->n || (i < x->n && x->refs[i] < y->refs[j]))
            v = x->refs[i++];
        else if (i == x->n || y->refs[j] < x->refs[i])
            v = y->refs[j++];
        else {
            v = x->refs[i++];
            j++;
        }
        out[k++] = v;
    }
    ret->refs = out;
    ret->n = k;
    return 0;
}

int postings_union(struct arena *a, const struct postings *lists, size_t n, struct postings *ret)
{
    if (n == 0) {
        ret->refs = NULL;
        ret->n = 0;
        return 0;
    }
    /* Pairwise tree merge: O(total · log n). */
    struct postings *cur = arena_alloc(a, n * sizeof *cur);
    if (!cur)
        return ERR_LIMIT;
    for (size_t i = 0; i < n; i++)
        cur[i] = lists[i];
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2) {
            if (i + 1 == n)
                cur[m++] = cur[i];
            else if (merge2(a, &cur[i], &cur[i + 1], &cur[m++]) < 0)
                return ERR_LIMIT;
        }
        n = m;
    }
    *ret = cur[0];
    return 0;
}
