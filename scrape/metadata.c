/* scrape/metadata.c — building and reading a target's metric metadata set (see metadata.h).
 * Prometheus' rules: a family seen only in a HELP or UNIT line has type "unknown"; a later line
 * for the same family overrides what an earlier one said. */
#include "metadata.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define META_HASH_SEED UINT64_C(0x6d657461) /* != 0, so an empty set differs from "none yet" */

struct meta_item {
    const char *name; /* arena copies, NUL-terminated */
    const char *help, *unit;
    enum textparse_metric_type type;
    uint32_t seq; /* arrival order: sort ties keep it, so later lines override earlier ones */
    int has_help, has_unit;
};

struct scrape_meta_set {
    uint64_t hash;
    uint32_t n;
    struct scrape_metadata v[]; /* then the strings */
};

void scrape_meta_builder_init(struct scrape_meta_builder *b, struct arena *a)
{
    *b = (struct scrape_meta_builder){.a = a, .hash = META_HASH_SEED};
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    return h;
}

int scrape_meta_builder_add(struct scrape_meta_builder *b, int kind, const struct textparse *p,
                            struct err *e)
{
    if (kind != TEXTPARSE_HELP && kind != TEXTPARSE_TYPE && kind != TEXTPARSE_UNIT)
        return 0;
    b->hash = mix(b->hash, (uint64_t) kind);
    b->hash = mix(b->hash, hash_bytes(p->name, p->name_len));
    b->hash = mix(b->hash, kind == TEXTPARSE_TYPE ? (uint64_t) p->type
                                                  : hash_bytes(p->text, p->text_len));
    /* Families come as HELP, TYPE, UNIT next to each other: merge into the last item. */
    struct meta_item *it = b->n ? &b->v[b->n - 1] : NULL;
    if (!it || strlen(it->name) != p->name_len || memcmp(it->name, p->name, p->name_len) != 0) {
        if (b->n == b->cap) {
            uint32_t cap = b->cap ? b->cap * 2 : 64;
            struct meta_item *v = arena_alloc(b->a, cap * sizeof *v);
            if (!v)
                return err_set(e, ERR_LIMIT, "scrape memory limit (metadata)");
            if (b->n)
                memcpy(v, b->v, b->n * sizeof *v);
            b->v = v;
            b->cap = cap;
        }
        it = &b->v[b->n];
        *it = (struct meta_item){.seq = b->n, .type = TEXTPARSE_METRIC_UNKNOWN};
        if (!(it->name = arena_strndup(b->a, p->name, p->name_len)))
            return err_set(e, ERR_LIMIT, "scrape memory limit (metadata)");
        b->n++;
    }
    if (kind == TEXTPARSE_TYPE) {
        it->type = p->type;
        return 0;
    }
    const char *s;
    int r = textparse_help(p, b->a, &s, e);
    if (r < 0)
        return r;
    if (kind == TEXTPARSE_HELP)
        it->help = s, it->has_help = 1;
    else
        it->unit = s, it->has_unit = 1;
    return 0;
}

static int item_cmp(const void *x, const void *y)
{
    const struct meta_item *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Folds runs of one name (sorted, in arrival order) into their first item. */
static uint32_t merge_runs(struct meta_item *v, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k && strcmp(v[k - 1].name, v[i].name) == 0) {
            struct meta_item *d = &v[k - 1];
            if (v[i].type != TEXTPARSE_METRIC_UNKNOWN)
                d->type = v[i].type;
            if (v[i].has_help)
                d->help = v[i].help, d->has_help = 1;
            if (v[i].has_unit)
                d->unit = v[i].unit, d->has_unit = 1;
            continue;
        }
        v[k++] = v[i];
    }
    return k;
}

int scrape_meta_builder_finish(struct scrape_meta_builder *b, uint64_t same_as,
                               struct scrape_meta_set **ret, struct err *e)
{
    *ret = NULL;
    if (b->hash == same_as)
        return 0;
    if (b->n)
        qsort(b->v, b->n, sizeof *b->v, item_cmp);
    uint32_t n = merge_runs(b->v, b->n);
    size_t bytes = sizeof(struct scrape_meta_set) + n * sizeof(struct scrape_metadata);
    for (uint32_t i = 0; i < n; i++)
        bytes += strlen(b->v[i].name) + 1 + (b->v[i].has_help ? strlen(b->v[i].help) : 0) + 1 +
                 (b->v[i].has_unit ? strlen(b->v[i].unit) : 0) + 1;
    struct scrape_meta_set *s = malloc(bytes);
    if (!s)
        return err_set(e, -ENOMEM, "out of memory keeping metadata");
    s->hash = b->hash;
    s->n = n;
    char *str = (char *) &s->v[n];
    for (uint32_t i = 0; i < n; i++) {
        const char *parts[3] = {b->v[i].name, b->v[i].has_help ? b->v[i].help : "",
                                b->v[i].has_unit ? b->v[i].unit : ""};
        const char *out[3];
        for (int k = 0; k < 3; k++) {
            size_t len = strlen(parts[k]) + 1;
            memcpy(str, parts[k], len);
            out[k] = str;
            str += len;
        }
        s->v[i] = (struct scrape_metadata){out[0], textparse_metric_type_name(b->v[i].type),
                                           out[1], out[2]};
    }
    *ret = s;
    return 0;
}

uint64_t scrape_meta_set_hash(const struct scrape_meta_set *s)
{
    return s ? s->hash : 0;
}

const struct scrape_metadata *scrape_meta_set_entries(const struct scrape_meta_set *s,
                                                      uint32_t *ret_n)
{
    *ret_n = s ? s->n : 0;
    return s ? s->v : NULL;
}

void scrape_meta_set_free(struct scrape_meta_set *s)
{
    free(s);
}

const struct scrape_metadata *scrape_metadata_find(const struct scrape_metadata *v, uint32_t n,
                                                   const char *metric)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].metric, metric);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
