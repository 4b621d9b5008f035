/* server/config_yaml.c — the YAML side of the config loader: positioned messages, scalars
 * (strings, go-yaml v2 booleans, durations), mappings with duplicate and merge-key (<<)
 * resolution, key tables (config_section), lists, label maps and scrape_protocols. Every node
 * looked at counts against CONFIG_MAX_NODES, which bounds alias expansion and merge cycles. */
#include "server/config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

/* Copies user text for a message: at most QUOTE_MAX bytes (cut on a UTF-8 boundary, "..."
 * appended), control characters as '?'. out needs QUOTE_MAX + 4 bytes. */
const char *config_quote(const void *s, size_t n, char *out)
{
    const unsigned char *p = s;
    size_t k = n;
    if (k > QUOTE_MAX) {
        k = QUOTE_MAX;
        while (k > 0 && (p[k] & 0xc0) == 0x80)
            k--;
    }
    for (size_t i = 0; i < k; i++)
        out[i] = (char) (p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i]);
    if (k < n)
        memcpy(out + k, "...", 3), k += 3;
    out[k] = '\0';
    return out;
}

int config_fail(struct ld *l, const yaml_node_t *n, int code, const char *fmt, ...)
{
    char msg[sizeof l->e->msg];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(l->e, code, "%s:%zu:%zu: %s", l->name, n->start_mark.line + 1,
                   n->start_mark.column + 1, msg);
}

int config_oom(struct ld *l, struct arena *a)
{
    if (arena_over_cap(a))
        return err_set(l->e, ERR_LIMIT, "%s: configuration needs more than %u MiB", l->name,
                       CONFIG_ARENA_CAP >> 20);
    return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
}

const char *config_scalar(const yaml_node_t *n)
{
    return (const char *) n->data.scalar.value;
}

int config_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag && strcmp((const char *) n->tag, YAML_NULL_TAG) == 0)
        return 1;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = config_scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

const char *config_kind_name(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    return config_is_null(n) ? "nothing" : "a scalar";
}

/* Counts one node against CONFIG_MAX_NODES. */
int config_visit(struct ld *l, const yaml_node_t *n)
{
    if (++l->visits > CONFIG_MAX_NODES)
        return config_fail(l, n, ERR_LIMIT, "more than %d YAML nodes after expanding aliases",
                           CONFIG_MAX_NODES);
    return 0;
}

const yaml_node_t *config_node(struct ld *l, int idx)
{
    return yaml_document_get_node(l->doc, idx);
}

/* ---- scalars ---- */

/* A scalar read as a string, copied into the config arena. Null is refused: every string
 * setting ember reads needs a value. */
int config_get_str(struct ld *l, const char *key, const yaml_node_t *v, const char **ret)
{
    if (v->type != YAML_SCALAR_NODE || config_is_null(v))
        return config_fail(l, v, ERR_PARSE, "key '%s' expects a string, got %s", key,
                           config_kind_name(v));
    size_t n = v->data.scalar.length;
    if (memchr(config_scalar(v), '\0', n))
        return config_fail(l, v, ERR_PARSE, "key '%s': value contains a NUL character", key);
    char *s = arena_strndup(l->a, config_scalar(v), n);
    if (!s)
        return config_oom(l, l->a);
    *ret = s;
    return 0;
}

/* Booleans as go-yaml v2 reads them (YAML 1.1), plain scalars only: "true" in quotes is a
 * string there too. */
int config_get_bool(struct ld *l, const char *key, const yaml_node_t *v, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off",   "Off",   "OFF",   "n",  "N"};
    char q[QUOTE_MAX + 4];
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
            if (!strcmp(config_scalar(v), yes[i]))
                return *ret = true, 0;
            if (!strcmp(config_scalar(v), no[i]))
                return *ret = false, 0;
        }
    }
    if (v->type != YAML_SCALAR_NODE || config_is_null(v))
        return config_fail(l, v, ERR_PARSE, "key '%s' expects true or false, got %s", key,
                           config_kind_name(v));
    return config_fail(l, v, ERR_PARSE, "key '%s' expects true or false, got '%s'", key,
                       config_quote(config_scalar(v), v->data.scalar.length, q));
}

/* An unsigned count as go-yaml reads a Go uint: digits only, no sign, fits 64 bits. */
int config_get_uint(struct ld *l, const char *key, const yaml_node_t *v, uint64_t max,
                    uint64_t *ret)
{
    char q[QUOTE_MAX + 4];
    if (v->type != YAML_SCALAR_NODE || config_is_null(v))
        return config_fail(l, v, ERR_PARSE, "key '%s' expects an unsigned integer, got %s", key,
                           config_kind_name(v));
    const char *s = config_scalar(v);
    size_t n = v->data.scalar.length;
    uint64_t x = 0;
    int ok = n > 0 && n <= 20;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9' && !__builtin_mul_overflow(x, 10, &x) &&
             !__builtin_add_overflow(x, (uint64_t) (s[i] - '0'), &x);
    if (!ok || x > max)
        return config_fail(l, v, ERR_PARSE, "key '%s' expects an unsigned integer%s, got '%s'",
                           key, ok ? " that fits" : "", config_quote(s, n, q));
    *ret = x;
    return 0;
}

/* Prometheus durations ("1h30m", "15s", "0"). */
int config_get_duration(struct ld *l, const char *key, const yaml_node_t *v, int64_t *ret)
{
    char q[QUOTE_MAX + 4];
    if (v->type != YAML_SCALAR_NODE || config_is_null(v))
        return config_fail(l, v, ERR_PARSE, "key '%s' expects a duration, got %s", key,
                           config_kind_name(v));
    const char *s = config_scalar(v);
    size_t n = v->data.scalar.length;
    if (n == 1 && s[0] == '0')
        return *ret = 0, 0;
    if (duration_parse(s, n, ret) < 0)
        return config_fail(l, v, ERR_PARSE, "key '%s': bad duration '%s' (e.g. 15s, 1m30s, 2h)",
                           key, config_quote(s, n, q));
    return 0;
}

/* ---- mappings: keys, duplicates, merge keys ---- */

static int pairs_push(struct ld *l, struct pairs *p, const yaml_node_t *k, const yaml_node_t *v,
                      uint32_t rank)
{
    if (p->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        struct pair *nv = arena_realloc(l->tmp, p->v, p->cap * sizeof *nv, cap * sizeof *nv);
        if (!nv)
            return config_oom(l, l->tmp);
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n] = (struct pair){k, v, config_scalar(k), k->data.scalar.length, rank, p->n};
    p->n++;
    return 0;
}

static int is_merge_key(const yaml_node_t *k)
{
    return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           !strcmp(config_scalar(k), "<<");
}

/* Gathers the pairs of map and, after them, of the mappings it merges (depth-first, so an
 * earlier merge wins over a later one, as in go-yaml). */
static int gather(struct ld *l, const yaml_node_t *map, struct pairs *p, int depth)
{
    if (depth > CONFIG_MAX_DEPTH)
        return config_fail(l, map, ERR_LIMIT, "merge keys (<<) nested deeper than %d",
                           CONFIG_MAX_DEPTH);
    uint32_t rank = l->next_rank++;
    const yaml_node_pair_t *q;
    for (q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        const yaml_node_t *k = config_node(l, q->key), *v = config_node(l, q->value);
        int r;
        if (NEVER(!k || !v))
            return err_set(l->e, ERR_INTERNAL, "%s: dangling YAML node", l->name);
        if ((r = config_visit(l, k)) < 0)
            return r;
        if (k->type != YAML_SCALAR_NODE)
            return config_fail(l, k, ERR_PARSE, "a key must be a string, got %s",
                               config_kind_name(k));
        if (!is_merge_key(k) && (r = pairs_push(l, p, k, v, rank)) < 0)
            return r;
    }
    for (q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        const yaml_node_t *k = config_node(l, q->key), *v = config_node(l, q->value);
        int r = 0;
        if (!is_merge_key(k))
            continue;
        if (v->type == YAML_MAPPING_NODE) {
            r = gather(l, v, p, depth + 1);
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (const yaml_node_item_t *it = v->data.sequence.items.start;
                 r >= 0 && it < v->data.sequence.items.top; it++) {
                const yaml_node_t *m = config_node(l, *it);
                if (m->type != YAML_MAPPING_NODE)
                    return config_fail(l, m, ERR_PARSE, "merge key '<<' expects mappings, got %s",
                                       config_kind_name(m));
                r = gather(l, m, p, depth + 1);
            }
        } else {
            r = config_fail(l, v, ERR_PARSE, "merge key '<<' expects a mapping, got %s",
                            config_kind_name(v));
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int pair_by_key(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c || a->key_len != b->key_len)
        return c ? c : (a->key_len < b->key_len ? -1 : 1);
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static int pair_by_order(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->ord < b->ord ? -1 : a->ord > b->ord;
}

/* The effective pairs of a mapping, in file order: a key twice in one mapping is an error, a
 * merged key loses to one written in the mapping. Sorting keeps this O(n log n) on huge maps. */
int config_mapping_pairs(struct ld *l, const yaml_node_t *map, struct pairs *ret)
{
    struct pairs p = {0};
    int r = gather(l, map, &p, 0);
    if (r < 0)
        return r;
    if (p.n > 1)
        qsort(p.v, p.n, sizeof *p.v, pair_by_key);
    uint32_t out = 0;
    for (uint32_t i = 0; i < p.n; i++) {
        struct pair *prev = out ? &p.v[out - 1] : NULL;
        if (prev && prev->key_len == p.v[i].key_len &&
            !memcmp(prev->key, p.v[i].key, p.v[i].key_len)) {
            char q[QUOTE_MAX + 4];
            if (prev->rank == p.v[i].rank)
                return config_fail(l, p.v[i].k, ERR_PARSE, "duplicate key '%s' (first at line %zu)",
                                   config_quote(p.v[i].key, p.v[i].key_len, q),
                                   prev->k->start_mark.line + 1);
            continue;
        }
        p.v[out++] = p.v[i];
    }
    p.n = out;
    if (p.n > 1)
        qsort(p.v, p.n, sizeof *p.v, pair_by_order);
    *ret = p;
    return 0;
}

/* Reads a mapping through a key table into obj. Null is an empty section. */
int config_section(struct ld *l, const yaml_node_t *map, const char *what,
                   const struct field *f, size_t nf, void *obj)
{
    if (config_is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return config_fail(l, map, ERR_PARSE, "%s expects a mapping, got %s", what,
                           config_kind_name(map));
    struct pairs p;
    int r = config_mapping_pairs(l, map, &p);
    for (uint32_t i = 0; r >= 0 && i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        const struct field *fd = NULL;
        for (size_t j = 0; j < nf && !fd; j++)
            if (strlen(f[j].key) == pr->key_len && !memcmp(f[j].key, pr->key, pr->key_len))
                fd = &f[j];
        char q[QUOTE_MAX + 4];
        if (!fd)
            return config_fail(l, pr->k, ERR_PARSE, "unknown key '%s' in %s",
                               config_quote(pr->key, pr->key_len, q), what);
        void *at = (char *) obj + fd->off;
        switch (fd->kind) {
        case F_LATER:
            return config_fail(l, pr->k, ERR_PARSE, "key '%s' is not supported yet (in %s)",
                               fd->key, what);
        case F_DURATION:
            r = config_get_duration(l, fd->key, pr->v, at);
            break;
        case F_BOOL:
            r = config_get_bool(l, fd->key, pr->v, at);
            break;
        case F_STRING:
            r = config_get_str(l, fd->key, pr->v, at);
            break;
        case F_FN:
            r = fd->fn(l, obj, pr->k, pr->v);
            break;
        }
    }
    return r;
}

/* A list node, or null read as an empty list. Sets *ret_n; items via config_node(l, start[i]). */
int config_get_list(struct ld *l, const char *key, const yaml_node_t *v,
                    const yaml_node_item_t **ret_items, uint32_t *ret_n)
{
    if (config_is_null(v))
        return *ret_items = NULL, *ret_n = 0, 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return config_fail(l, v, ERR_PARSE, "key '%s' expects a list, got %s", key,
                           config_kind_name(v));
    *ret_items = v->data.sequence.items.start;
    *ret_n = (uint32_t) (v->data.sequence.items.top - v->data.sequence.items.start);
    return 0;
}

/* ---- labels ---- */

int config_label_name_valid(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int label_by_name(const void *x, const void *y)
{
    return strcmp(((const struct label *) x)->name, ((const struct label *) y)->name);
}

/* A map of label name → value, sorted by name; empty values are dropped (= no label). */
int config_get_labels(struct ld *l, const char *key, const yaml_node_t *v, struct labels *ret)
{
    char q[QUOTE_MAX + 4];
    struct pairs p;
    int r;
    *ret = (struct labels){0};
    if (config_is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return config_fail(l, v, ERR_PARSE, "key '%s' expects a mapping of label names to values, "
                           "got %s", key, config_kind_name(v));
    if ((r = config_mapping_pairs(l, v, &p)) < 0)
        return r;
    struct label *ls = arena_calloc(l->a, p.n ? p.n : 1, sizeof *ls);
    if (!ls)
        return config_oom(l, l->a);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        if (!config_label_name_valid(pr->key, pr->key_len))
            return config_fail(l, pr->k, ERR_PARSE, "%s: invalid label name '%s'", key,
                               config_quote(pr->key, pr->key_len, q));
        if (config_is_null(pr->v))
            continue;
        const char *name, *value;
        if ((r = config_get_str(l, key, pr->k, &name)) < 0 ||
            (r = config_get_str(l, key, pr->v, &value)) < 0)
            return r;
        if (*value)
            ls[n++] = (struct label){name, value};
    }
    qsort(ls, n, sizeof *ls, label_by_name);
    *ret = (struct labels){ls, n};
    return 0;
}

/* ---- scrape_protocols ---- */

static const char *const proto_names[_CONFIG_PROTO_MAX] = {
    [CONFIG_PROTO_OPENMETRICS_1_0_0] = "OpenMetricsText1.0.0",
    [CONFIG_PROTO_OPENMETRICS_0_0_1] = "OpenMetricsText0.0.1",
    [CONFIG_PROTO_TEXT_1_0_0] = "PrometheusText1.0.0",
    [CONFIG_PROTO_TEXT_0_0_4] = "PrometheusText0.0.4",
    [CONFIG_PROTO_PROTOBUF] = "PrometheusProto",
};

/* Prometheus' default order when scrape_protocols is absent. */
const struct config_protocols config_default_protocols = {
    {CONFIG_PROTO_OPENMETRICS_1_0_0, CONFIG_PROTO_OPENMETRICS_0_0_1, CONFIG_PROTO_TEXT_1_0_0,
     CONFIG_PROTO_TEXT_0_0_4},
    4,
};

int config_get_protocols(struct ld *l, const char *key, const yaml_node_t *v,
                         struct config_protocols *ret)
{
    char q[QUOTE_MAX + 4];
    const yaml_node_item_t *items;
    uint32_t n;
    int r = config_get_list(l, key, v, &items, &n);
    if (r < 0)
        return r;
    if (n == 0)
        return config_fail(l, v, ERR_PARSE, "key '%s' must list at least one protocol", key);
    struct config_protocols ps = {.n = 0};
    int text = 0;
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((r = config_visit(l, it)) < 0)
            return r;
        if (it->type != YAML_SCALAR_NODE || config_is_null(it))
            return config_fail(l, it, ERR_PARSE, "key '%s' expects protocol names, got %s", key,
                               config_kind_name(it));
        uint32_t p;
        for (p = 0; p < _CONFIG_PROTO_MAX && strcmp(config_scalar(it), proto_names[p]); p++)
            ;
        if (p == _CONFIG_PROTO_MAX)
            return config_fail(l, it, ERR_PARSE, "key '%s': unknown protocol '%s' (one of "
                               "OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, "
                               "PrometheusText0.0.4, PrometheusProto)", key,
                               config_quote(config_scalar(it), it->data.scalar.length, q));
        for (uint32_t j = 0; j < ps.n; j++)
            if (ps.v[j] == (enum config_proto) p)
                return config_fail(l, it, ERR_PARSE, "key '%s': protocol '%s' listed twice", key,
                                   proto_names[p]);
        ps.v[ps.n++] = (enum config_proto) p;
        text |= p != CONFIG_PROTO_PROTOBUF;
    }
    if (!text)
        return config_fail(l, v, ERR_PARSE, "key '%s': ember parses only the text formats; add "
                           "PrometheusText0.0.4 or OpenMetricsText1.0.0", key);
    *ret = ps;
    return 0;
}
