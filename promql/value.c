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
    if (keep == PROMQL_LS_ALL)
        return 1;
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

uint64_t promql_value_hash(const struct labels *ls, const char **names, size_t n, int mode)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < ls->n; i++) {
        if (!kept(ls->v[i].name, names, n, mode))
            continue;
        for (const unsigned char *p = (const unsigned char *) ls->v[i].name; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
        for (const unsigned char *p = (const unsigned char *) ls->v[i].value; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xfe) * 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

int promql_value_equal(const struct labels *a, const struct labels *b, const char **names, size_t n,
                       int mode)
{
    uint32_t i = 0, j = 0;
    for (;;) {
        while (i < a->n && !kept(a->v[i].name, names, n, mode))
            i++;
        while (j < b->n && !kept(b->v[j].name, names, n, mode))
            j++;
        if (i == a->n || j == b->n)
            return i == a->n && j == b->n;
        if (strcmp(a->v[i].name, b->v[j].name) != 0 || strcmp(a->v[i].value, b->v[j].value) != 0)
            return 0;
        i++;
        j++;
    }
}

int promql_hidx_add(struct promql_hidx *m, uint64_t h, size_t idx)
{
    if ((m->n + 1) * 4 > m->cap * 3) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        struct promql_hslot *ns = arena_calloc(m->a, nc, sizeof *ns);
        if (!ns)
            return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].idx1)
                continue;
            size_t j = m->s[i].h & (nc - 1);
            while (ns[j].idx1)
                j = (j + 1) & (nc - 1);
            ns[j] = m->s[i];
        }
        m->s = ns;
        m->cap = nc;
    }
    size_t j = h & (m->cap - 1);
    while (m->s[j].idx1)
        j = (j + 1) & (m->cap - 1);
    m->s[j] = (struct promql_hslot){h, idx + 1};
    m->n++;
    return 0;
}

int promql_hidx_next(const struct promql_hidx *m, uint64_t h, size_t *cursor, size_t *idx)
{
    if (m->cap == 0)
        return 0;
    size_t mask = m->cap - 1;
    size_t j = *cursor ? *cursor - 1 : (size_t) (h & mask);
    while (m->s[j].idx1) {
        size_t cur = j;
        j = (j + 1) & mask;
        if (m->s[cur].h == h) {
            *cursor = j + 1;
            *idx = m->s[cur].idx1 - 1;
            return 1;
        }
    }
    return 0;
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
    uint64_t h = hash_bytes(key, len);
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
    uint64_t h = hash_bytes(key, len);
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
    struct promql_hidx m = {.a = ev->sa};
    for (size_t i = 0; i < v->n; i++) {
        uint64_t h = promql_value_hash(&v->vec[i].metric, NULL, 0, PROMQL_LS_ALL);
        size_t cur = 0, j;
        while (promql_hidx_next(&m, h, &cur, &j))
            if (labels_equal(&v->vec[j].metric, &v->vec[i].metric))
                return err_set(ev->e, ERR_EXEC,
                               "vector cannot contain metrics with the same labelset");
        if (promql_hidx_add(&m, h, i) < 0)
            return promql_engine_oom(ev);
    }
    return 0;
}

int promql_value_one_name(const struct promql_expr *x)
{
    while (x->kind == NODE_PAREN)
        x = x->u.paren;
    if (x->kind == NODE_MATRIX_SEL)
        x = x->u.matrix.vs;
    return x->kind == NODE_VECTOR_SEL && x->u.sel.name != NULL;
}
