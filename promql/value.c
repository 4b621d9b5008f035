/* promql/value.c — values the evaluator builds: label-set edits, exact byte keys for matching and
 * grouping, an arena-backed hash map from those keys, and vector helpers. Everything is allocated
 * in the arena passed in (the step arena), so nothing here frees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

int promql_value_drop_name(struct arena *a, const struct labels *in, struct labels *ret)
{
    return promql_value_set(a, in, LABEL_METRIC_NAME, "", ret);
}

int promql_value_set(struct arena *a, const struct labels *in, const char *name, const char *value,
                     struct labels *ret)
{
    struct label *v = arena_alloc(a, (in->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    uint32_t n = 0;
    int done = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        int c = strcmp(in->v[i].name, name);
        if (c > 0 && !done) {
            if (*value)
                v[n++] = (struct label){name, value};
            done = 1;
        }
        if (c == 0) {
            if (*value)
                v[n++] = (struct label){name, value};
            done = 1;
            continue;
        }
        v[n++] = in->v[i];
    }
    if (!done && *value)
        v[n++] = (struct label){name, value};
    ret->v = v;
    ret->n = n;
    return 0;
}

static int listed(const char *name, const char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int kept(const char *name, const char **names, size_t n, int keep)
{
    if (keep)
        return listed(name, names, n);
    return strcmp(name, LABEL_METRIC_NAME) != 0 && !listed(name, names, n);
}

int promql_value_filter(struct arena *a, const struct labels *in, const char **names, size_t n,
                        int keep, struct labels *ret)
{
    struct label *v = arena_alloc(a, (in->n ? in->n : 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < in->n; i++)
        if (kept(in->v[i].name, names, n, keep))
            v[k++] = in->v[i];
    ret->v = v;
    ret->n = k;
    return 0;
}

/* name \0 value \0 ... : label names and values cannot contain NUL, so keys never alias. */
const char *promql_value_key(struct arena *a, const struct labels *in, const char **names, size_t n,
                             int keep, size_t *ret_len)
{
    size_t len = 0;
    for (uint32_t i = 0; i < in->n; i++)
        if (kept(in->v[i].name, names, n, keep))
            len += strlen(in->v[i].name) + strlen(in->v[i].value) + 2;
    char *k = arena_alloc(a, len + 1);
    if (!k)
        return NULL;
    size_t o = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        if (!kept(in->v[i].name, names, n, keep))
            continue;
        size_t nl = strlen(in->v[i].name) + 1, vl = strlen(in->v[i].value) + 1;
        memcpy(k + o, in->v[i].name, nl);
        o += nl;
        memcpy(k + o, in->v[i].value, vl);
        o += vl;
    }
    *ret_len = o;
    return k;
}

const char *promql_value_key_all(struct arena *a, const struct labels *in, size_t *ret_len)
{
    size_t len = 0;
    for (uint32_t i = 0; i < in->n; i++)
        len += strlen(in->v[i].name) + strlen(in->v[i].value) + 2;
    char *k = arena_alloc(a, len + 1);
    if (!k)
        return NULL;
    size_t o = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        size_t nl = strlen(in->v[i].name) + 1, vl = strlen(in->v[i].value) + 1;
        memcpy(k + o, in->v[i].name, nl);
        o += nl;
        memcpy(k + o, in->v[i].value, vl);
        o += vl;
    }
    *ret_len = o;
    return k;
}

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char) k[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static int map_grow(struct promql_map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 16;
    struct promql_map_slot *ns = arena_calloc(m->a, nc, sizeof *ns);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = m->slots[i].hash & (nc - 1);
        while (ns[j].key)
            j = (j + 1) & (nc - 1);
        ns[j] = m->slots[i];
    }
    m->slots = ns;
    m->cap = nc;
    return 0;
}

int promql_map_put(struct promql_map *m, const char *key, size_t len, size_t *val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) < 0)
        return -ENOMEM;
    uint64_t h = key_hash(key, len);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].key) {
        struct promql_map_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            *val = s->val;
            return 1;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j] = (struct promql_map_slot){key, len, h, *val};
    m->n++;
    return 0;
}

int promql_map_find(const struct promql_map *m, const char *key, size_t len, size_t *val)
{
    if (m->cap == 0)
        return 0;
    uint64_t h = key_hash(key, len);
    for (size_t j = h & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        const struct promql_map_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            *val = s->val;
            return 1;
        }
    }
    return 0;
}

int promql_value_push(struct arena *a, struct promql_val *v, size_t *cap,
                      const struct labels *metric, int64_t t, double val)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct promql_sample *nv = arena_realloc(a, v->vec, *cap * sizeof *nv, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        v->vec = nv;
        *cap = nc;
    }
    v->vec[v->n++] = (struct promql_sample){*metric, t, val};
    return 0;
}

int promql_value_check_unique(struct promql_ev *ev, const struct promql_val *v)
{
    if (v->n < 2)
        return 0;
    struct promql_map m = {.a = ev->sa};
    for (size_t i = 0; i < v->n; i++) {
        size_t len, idx = i;
        const char *k = promql_value_key_all(ev->sa, &v->vec[i].metric, &len);
        if (!k)
            return promql_engine_oom(ev);
        int r = promql_map_put(&m, k, len, &idx);
        if (r < 0)
            return promql_engine_oom(ev);
        if (r == 1)
            return err_set(ev->e, ERR_EXEC, "vector cannot contain metrics with the same labelset");
    }
    return 0;
}
