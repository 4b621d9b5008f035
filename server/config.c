/* server/config.c — prometheus.yml: libyaml → validated, immutable struct config in one arena.
 *
 * Two passes over the text. The event parser first checks syntax, one document, nesting depth and
 * node count, so absurd input is refused before a tree is built. Then yaml_parser_load() builds
 * the node tree (aliases become shared nodes) and a schema walk fills the struct: each section is
 * a table of keys (struct field) saying whether ember implements the key, and how to read it.
 * Keys are gathered per mapping first (struct pairs) so that duplicates and merge keys (<<) are
 * resolved in one place. Every node the walk looks at counts against CONFIG_MAX_NODES, which
 * bounds alias expansion ("billion laughs") and merge cycles. */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Bound on the finished struct: with CONFIG_MAX_NODES it is never reached by a real config. */
#define CONFIG_ARENA_CAP (128u << 20)
/* Longest user text quoted in a message; the rest is cut so the position stays readable. */
#define QUOTE_MAX 40

struct pair {
    const yaml_node_t *k, *v;
    const char *key; /* not NUL-terminated: key_len bytes */
    size_t key_len;
    uint32_t rank; /* 0: the mapping itself; higher: merged in (<<), lower rank wins */
    uint32_t ord;  /* file order within the rank */
};

struct pairs {
    struct pair *v;
    uint32_t n, cap;
};

/* Loader state for one config_load_*() call. */
struct ld {
    const char *name;         /* for messages */
    const char *dir;          /* for relative rule_files; NULL keeps them as written */
    yaml_document_t *doc;
    struct arena *a;          /* the config's arena: what survives */
    struct arena *tmp;        /* scratch: dies at the end of the load */
    struct err *e;
    uint64_t visits;          /* nodes looked at, alias expansions included */
    uint32_t next_rank;
    struct buf targets;       /* struct config_target of the job being read */
};

enum fkind { F_DURATION, F_BOOL, F_STRING, F_FN, F_LATER };

/* One key of a section. F_LATER: a key Prometheus documents that ember does not implement yet. */
struct field {
    const char *key;
    enum fkind kind;
    size_t off; /* F_DURATION (int64_t), F_BOOL (bool), F_STRING (const char *) */
    int (*fn)(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v);
};

#define FIELD(key, kind, type, member) {key, kind, offsetof(type, member), NULL}
#define FN(key, fn) {key, F_FN, 0, fn}
#define LATER(key) {key, F_LATER, 0, NULL}

/* ---- messages ---- */

/* Copies user text for a message: at most QUOTE_MAX bytes (cut on a UTF-8 boundary, "..."
 * appended), control characters as '?'. out needs QUOTE_MAX + 4 bytes. */
static const char *quote(const void *s, size_t n, char *out)
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

static int fail_at(struct ld *l, const yaml_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct ld *l, const yaml_node_t *n, int code, const char *fmt, ...)
{
    char msg[sizeof l->e->msg];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(l->e, code, "%s:%zu:%zu: %s", l->name, n->start_mark.line + 1,
                   n->start_mark.column + 1, msg);
}

static int oom(struct ld *l, struct arena *a)
{
    if (arena_over_cap(a))
        return err_set(l->e, ERR_LIMIT, "%s: configuration needs more than %u MiB", l->name,
                       CONFIG_ARENA_CAP >> 20);
    return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *) n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return 0;
    if (n->tag && strcmp((const char *) n->tag, YAML_NULL_TAG) == 0)
        return 1;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static const char *kind_name(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    return is_null(n) ? "nothing" : "a scalar";
}

/* Counts one node against CONFIG_MAX_NODES. */
static int visit(struct ld *l, const yaml_node_t *n)
{
    if (++l->visits > CONFIG_MAX_NODES)
        return fail_at(l, n, ERR_LIMIT, "more than %d YAML nodes after expanding aliases",
                       CONFIG_MAX_NODES);
    return 0;
}

static const yaml_node_t *node(struct ld *l, int idx)
{
    return yaml_document_get_node(l->doc, idx);
}

/* ---- scalars ---- */

/* A scalar read as a string, copied into the config arena. Null is refused: every string
 * setting ember reads needs a value. */
static int get_str(struct ld *l, const char *key, const yaml_node_t *v, const char **ret)
{
    if (v->type != YAML_SCALAR_NODE || is_null(v))
        return fail_at(l, v, ERR_PARSE, "key '%s' expects a string, got %s", key, kind_name(v));
    size_t n = v->data.scalar.length;
    if (memchr(scalar(v), '\0', n))
        return fail_at(l, v, ERR_PARSE, "key '%s': value contains a NUL character", key);
    char *s = arena_strndup(l->a, scalar(v), n);
    if (!s)
        return oom(l, l->a);
    *ret = s;
    return 0;
}

/* Booleans as go-yaml v2 reads them (YAML 1.1), plain scalars only: "true" in quotes is a
 * string there too. */
static int get_bool(struct ld *l, const char *key, const yaml_node_t *v, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off",   "Off",   "OFF",   "n",  "N"};
    char q[QUOTE_MAX + 4];
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
            if (!strcmp(scalar(v), yes[i]))
                return *ret = true, 0;
            if (!strcmp(scalar(v), no[i]))
                return *ret = false, 0;
        }
    }
    if (v->type != YAML_SCALAR_NODE || is_null(v))
        return fail_at(l, v, ERR_PARSE, "key '%s' expects true or false, got %s", key,
                       kind_name(v));
    return fail_at(l, v, ERR_PARSE, "key '%s' expects true or false, got '%s'", key,
                   quote(scalar(v), v->data.scalar.length, q));
}

/* Prometheus durations ("1h30m", "15s", "0"). */
static int get_duration(struct ld *l, const char *key, const yaml_node_t *v, int64_t *ret)
{
    char q[QUOTE_MAX + 4];
    if (v->type != YAML_SCALAR_NODE || is_null(v))
        return fail_at(l, v, ERR_PARSE, "key '%s' expects a duration, got %s", key,
                       kind_name(v));
    const char *s = scalar(v);
    size_t n = v->data.scalar.length;
    if (n == 1 && s[0] == '0')
        return *ret = 0, 0;
    if (duration_parse(s, n, ret) < 0)
        return fail_at(l, v, ERR_PARSE, "key '%s': bad duration '%s' (e.g. 15s, 1m30s, 2h)",
                       key, quote(s, n, q));
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
            return oom(l, l->tmp);
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n] = (struct pair){k, v, scalar(k), k->data.scalar.length, rank, p->n};
    p->n++;
    return 0;
}

static int is_merge_key(const yaml_node_t *k)
{
    return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           !strcmp(scalar(k), "<<");
}

/* Gathers the pairs of map and, after them, of the mappings it merges (depth-first, so an
 * earlier merge wins over a later one, as in go-yaml). */
static int gather(struct ld *l, const yaml_node_t *map, struct pairs *p, int depth)
{
    if (depth > CONFIG_MAX_DEPTH)
        return fail_at(l, map, ERR_LIMIT, "merge keys (<<) nested deeper than %d",
                       CONFIG_MAX_DEPTH);
    uint32_t rank = l->next_rank++;
    const yaml_node_pair_t *q;
    for (q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        const yaml_node_t *k = node(l, q->key), *v = node(l, q->value);
        int r;
        if (NEVER(!k || !v))
            return err_set(l->e, ERR_INTERNAL, "%s: dangling YAML node", l->name);
        if ((r = visit(l, k)) < 0)
            return r;
        if (k->type != YAML_SCALAR_NODE)
            return fail_at(l, k, ERR_PARSE, "a key must be a string, got %s", kind_name(k));
        if (!is_merge_key(k) && (r = pairs_push(l, p, k, v, rank)) < 0)
            return r;
    }
    for (q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        const yaml_node_t *k = node(l, q->key), *v = node(l, q->value);
        int r = 0;
        if (!is_merge_key(k))
            continue;
        if (v->type == YAML_MAPPING_NODE) {
            r = gather(l, v, p, depth + 1);
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (const yaml_node_item_t *it = v->data.sequence.items.start;
                 r >= 0 && it < v->data.sequence.items.top; it++) {
                const yaml_node_t *m = node(l, *it);
                if (m->type != YAML_MAPPING_NODE)
                    return fail_at(l, m, ERR_PARSE, "merge key '<<' expects mappings, got %s",
                                   kind_name(m));
                r = gather(l, m, p, depth + 1);
            }
        } else {
            r = fail_at(l, v, ERR_PARSE, "merge key '<<' expects a mapping, got %s",
                        kind_name(v));
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
static int mapping_pairs(struct ld *l, const yaml_node_t *map, struct pairs *ret)
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
                return fail_at(l, p.v[i].k, ERR_PARSE, "duplicate key '%s' (first at line %zu)",
                               quote(p.v[i].key, p.v[i].key_len, q),
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
static int section(struct ld *l, const yaml_node_t *map, const char *what,
                   const struct field *f, size_t nf, void *obj)
{
    if (is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return fail_at(l, map, ERR_PARSE, "%s expects a mapping, got %s", what, kind_name(map));
    struct pairs p;
    int r = mapping_pairs(l, map, &p);
    for (uint32_t i = 0; r >= 0 && i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        const struct field *fd = NULL;
        for (size_t j = 0; j < nf && !fd; j++)
            if (strlen(f[j].key) == pr->key_len && !memcmp(f[j].key, pr->key, pr->key_len))
                fd = &f[j];
        char q[QUOTE_MAX + 4];
        if (!fd)
            return fail_at(l, pr->k, ERR_PARSE, "unknown key '%s' in %s",
                           quote(pr->key, pr->key_len, q), what);
        void *at = (char *) obj + fd->off;
        switch (fd->kind) {
        case F_LATER:
            return fail_at(l, pr->k, ERR_PARSE, "key '%s' is not supported yet (in %s)", fd->key,
                           what);
        case F_DURATION:
            r = get_duration(l, fd->key, pr->v, at);
            break;
        case F_BOOL:
            r = get_bool(l, fd->key, pr->v, at);
            break;
        case F_STRING:
            r = get_str(l, fd->key, pr->v, at);
            break;
        case F_FN:
            r = fd->fn(l, obj, pr->k, pr->v);
            break;
        }
    }
    return r;
}

/* A list node, or null read as an empty list. Sets *ret_n; items via node(l, start[i]). */
static int get_list(struct ld *l, const char *key, const yaml_node_t *v,
                    const yaml_node_item_t **ret_items, uint32_t *ret_n)
{
    if (is_null(v))
        return *ret_items = NULL, *ret_n = 0, 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(l, v, ERR_PARSE, "key '%s' expects a list, got %s", key, kind_name(v));
    *ret_items = v->data.sequence.items.start;
    *ret_n = (uint32_t) (v->data.sequence.items.top - v->data.sequence.items.start);
    return 0;
}

/* ---- labels ---- */

static int label_name_valid(const char *s, size_t n)
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
static int get_labels(struct ld *l, const char *key, const yaml_node_t *v, struct labels *ret)
{
    char q[QUOTE_MAX + 4];
    struct pairs p;
    int r;
    *ret = (struct labels){0};
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail_at(l, v, ERR_PARSE, "key '%s' expects a mapping of label names to values, "
                       "got %s", key, kind_name(v));
    if ((r = mapping_pairs(l, v, &p)) < 0)
        return r;
    struct label *ls = arena_calloc(l->a, p.n ? p.n : 1, sizeof *ls);
    if (!ls)
        return oom(l, l->a);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        if (!label_name_valid(pr->key, pr->key_len))
            return fail_at(l, pr->k, ERR_PARSE, "%s: invalid label name '%s'", key,
                           quote(pr->key, pr->key_len, q));
        if (is_null(pr->v))
            continue;
        const char *name, *value;
        if ((r = get_str(l, key, pr->k, &name)) < 0 || (r = get_str(l, key, pr->v, &value)) < 0)
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
static const struct config_protocols default_protocols = {
    {CONFIG_PROTO_OPENMETRICS_1_0_0, CONFIG_PROTO_OPENMETRICS_0_0_1, CONFIG_PROTO_TEXT_1_0_0,
     CONFIG_PROTO_TEXT_0_0_4},
    4,
};

static int get_protocols(struct ld *l, const char *key, const yaml_node_t *v,
                         struct config_protocols *ret)
{
    char q[QUOTE_MAX + 4];
    const yaml_node_item_t *items;
    uint32_t n;
    int r = get_list(l, key, v, &items, &n);
    if (r < 0)
        return r;
    if (n == 0)
        return fail_at(l, v, ERR_PARSE, "key '%s' must list at least one protocol", key);
    struct config_protocols ps = {.n = 0};
    int text = 0;
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = node(l, items[i]);
        if ((r = visit(l, it)) < 0)
            return r;
        if (it->type != YAML_SCALAR_NODE || is_null(it))
            return fail_at(l, it, ERR_PARSE, "key '%s' expects protocol names, got %s", key,
                           kind_name(it));
        uint32_t p;
        for (p = 0; p < _CONFIG_PROTO_MAX && strcmp(scalar(it), proto_names[p]); p++)
            ;
        if (p == _CONFIG_PROTO_MAX)
            return fail_at(l, it, ERR_PARSE, "key '%s': unknown protocol '%s' (one of "
                           "OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, "
                           "PrometheusText0.0.4, PrometheusProto)", key,
                           quote(scalar(it), it->data.scalar.length, q));
        for (uint32_t j = 0; j < ps.n; j++)
            if (ps.v[j] == (enum config_proto) p)
                return fail_at(l, it, ERR_PARSE, "key '%s': protocol '%s' listed twice", key,
                               proto_names[p]);
        ps.v[ps.n++] = (enum config_proto) p;
        text |= p != CONFIG_PROTO_PROTOBUF;
    }
    if (!text)
        return fail_at(l, v, ERR_PARSE, "key '%s': ember parses only the text formats; add "
                       "PrometheusText0.0.4 or OpenMetricsText1.0.0", key);
    *ret = ps;
    return 0;
}

/* ---- global ---- */

static int global_external_labels(struct ld *l, void *obj, const yaml_node_t *k,
                                  const yaml_node_t *v)
{
    return get_labels(l, "external_labels", v, &((struct config_global *) obj)->external_labels);
}

static int global_protocols(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct config_global *g = obj;
    return get_protocols(l, "scrape_protocols", v, &g->scrape_protocols);
}

static const struct field global_fields[] = {
    FIELD("scrape_interval", F_DURATION, struct config_global, scrape_interval_ms),
    FIELD("scrape_timeout", F_DURATION, struct config_global, scrape_timeout_ms),
    FIELD("evaluation_interval", F_DURATION, struct config_global, evaluation_interval_ms),
    FN("external_labels", global_external_labels),
    FN("scrape_protocols", global_protocols),
    LATER("query_log_file"), LATER("scrape_failure_log_file"), LATER("rule_query_offset"),
    LATER("body_size_limit"), LATER("sample_limit"), LATER("label_limit"),
    LATER("label_name_length_limit"), LATER("label_value_length_limit"), LATER("target_limit"),
    LATER("keep_dropped_targets"), LATER("metric_name_validation_scheme"),
    LATER("metric_name_escaping_scheme"), LATER("always_scrape_classic_histograms"),
    LATER("convert_classic_histograms_to_nhcb"), LATER("scrape_native_histograms"),
};

static int load_global(struct ld *l, const yaml_node_t *v, struct config_global *g)
{
    char a[32], b[32];
    g->scrape_protocols = default_protocols;
    int r = v ? section(l, v, "global", global_fields, ARRAY_LEN(global_fields), g) : 0;
    if (r < 0)
        return r;
    if (g->scrape_interval_ms == 0)
        g->scrape_interval_ms = 60 * 1000;
    if (g->evaluation_interval_ms == 0)
        g->evaluation_interval_ms = 60 * 1000;
    if (g->scrape_timeout_ms == 0)
        g->scrape_timeout_ms = g->scrape_interval_ms < 10000 ? g->scrape_interval_ms : 10000;
    if (v && g->scrape_timeout_ms > g->scrape_interval_ms) {
        (void) duration_format(a, sizeof a, g->scrape_timeout_ms);
        (void) duration_format(b, sizeof b, g->scrape_interval_ms);
        return fail_at(l, v, ERR_PARSE, "global: scrape_timeout %s is greater than "
                       "scrape_interval %s", a, b);
    }
    return 0;
}

/* ---- rule_files ---- */

static int load_rule_files(struct ld *l, const yaml_node_t *v, struct config *c)
{
    const yaml_node_item_t *items;
    uint32_t n;
    int r = get_list(l, "rule_files", v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    const char **files = arena_calloc(l->a, n, sizeof *files);
    if (!files)
        return oom(l, l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = node(l, items[i]);
        const char *s;
        if ((r = visit(l, it)) < 0 || (r = get_str(l, "rule_files", it, &s)) < 0)
            return r;
        if (!*s)
            return fail_at(l, it, ERR_PARSE, "rule_files: empty file name");
        if (l->dir && s[0] != '/' &&
            !(s = arena_printf(l->a, "%s%s%s", l->dir, strcmp(l->dir, "/") ? "/" : "", s)))
            return oom(l, l->a);
        files[i] = s;
    }
    c->rule_files = files;
    c->n_rule_files = n;
    return 0;
}

/* ---- scrape_configs ---- */

/* host[:port], [v6]:port, no scheme or path: the scrape client dials it as written. Prometheus
 * validates __address__ after relabeling; once relabel_configs lands this check moves there. */
static const char *target_problem(const char *s, size_t n)
{
    const char *port = NULL;
    if (n == 0)
        return "empty target";
    if (n > 1024)
        return "target longer than 1024 bytes";
    if (memchr(s, '/', n))
        return "a target is host:port, without scheme or path";
    if (s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (!end || end == s + 1)
            return "unterminated or empty '[' in target";
        for (const char *p = s + 1; p < end; p++)
            if (!strchr("0123456789abcdefABCDEF:.%", *p) && !(*p >= 'a' && *p <= 'z'))
                return "bad character in IPv6 address";
        if (end + 1 < s + n && end[1] != ':')
            return "expected ':port' after ']'";
        port = end + 1 < s + n ? end + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t) (s + n - colon - 1)))
            return "an IPv6 address needs brackets: [::1]:9100";
        if (colon == s)
            return "missing host before ':'";
        for (const char *p = s; p < (colon ? colon : s + n); p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
                return "bad character in host name";
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        size_t pl = (size_t) (s + n - port);
        unsigned v = 0;
        if (pl == 0 || pl > 5)
            return "bad port";
        for (size_t i = 0; i < pl; i++) {
            if (port[i] < '0' || port[i] > '9')
                return "bad port";
            v = v * 10 + (unsigned) (port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return "port out of range";
    }
    return NULL;
}

struct static_config {
    const yaml_node_t *targets;
    struct labels labels;
};

static int sc_targets(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    ((struct static_config *) obj)->targets = v;
    return 0;
}

static int sc_labels(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return get_labels(l, "labels", v, &((struct static_config *) obj)->labels);
}

static const struct field static_fields[] = {
    FN("targets", sc_targets),
    FN("labels", sc_labels),
};

/* Appends the targets of one static_config to l->targets. */
static int load_static_config(struct ld *l, const yaml_node_t *v)
{
    char q[QUOTE_MAX + 4];
    struct static_config sc = {0};
    const yaml_node_item_t *items;
    uint32_t n;
    int r;
    if (v->type != YAML_MAPPING_NODE)
        return fail_at(l, v, ERR_PARSE, "static_configs: each entry expects a mapping with "
                       "targets and labels, got %s", kind_name(v));
    if ((r = section(l, v, "static_config", static_fields, ARRAY_LEN(static_fields), &sc)) < 0)
        return r;
    if (!sc.targets)
        return 0;
    if ((r = get_list(l, "targets", sc.targets, &items, &n)) < 0)
        return r;
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = node(l, items[i]);
        struct config_target t = {.labels = sc.labels};
        const char *why;
        if ((r = visit(l, it)) < 0 || (r = get_str(l, "targets", it, &t.address)) < 0)
            return r;
        if ((why = target_problem(t.address, strlen(t.address))))
            return fail_at(l, it, ERR_PARSE, "targets: bad target '%s': %s",
                           quote(t.address, strlen(t.address), q), why);
        if (buf_append(&l->targets, &t, sizeof t) < 0)
            return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
    }
    return 0;
}

static int job_static_configs(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    const yaml_node_item_t *items;
    uint32_t n;
    int r = get_list(l, "static_configs", v, &items, &n);
    for (uint32_t i = 0; r >= 0 && i < n; i++) {
        const yaml_node_t *it = node(l, items[i]);
        if ((r = visit(l, it)) >= 0)
            r = load_static_config(l, it);
    }
    return r;
}

static int param_by_name(const void *x, const void *y)
{
    return strcmp(((const struct config_param *) x)->name,
                  ((const struct config_param *) y)->name);
}

static int job_params(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct config_scrape *j = obj;
    struct pairs p;
    int r;
    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return fail_at(l, v, ERR_PARSE, "key 'params' expects a mapping of names to lists of "
                       "values, got %s", kind_name(v));
    if ((r = mapping_pairs(l, v, &p)) < 0)
        return r;
    struct config_param *ps = arena_calloc(l->a, p.n ? p.n : 1, sizeof *ps);
    if (!ps)
        return oom(l, l->a);
    for (uint32_t i = 0; i < p.n; i++) {
        const yaml_node_item_t *items;
        uint32_t n;
        if ((r = get_str(l, "params", p.v[i].k, &ps[i].name)) < 0 ||
            (r = get_list(l, ps[i].name, p.v[i].v, &items, &n)) < 0)
            return r;
        if (!*ps[i].name)
            return fail_at(l, p.v[i].k, ERR_PARSE, "params: empty parameter name");
        const char **vals = arena_calloc(l->a, n ? n : 1, sizeof *vals);
        if (!vals)
            return oom(l, l->a);
        for (uint32_t m = 0; m < n; m++) {
            const yaml_node_t *it = node(l, items[m]);
            if ((r = visit(l, it)) < 0)
                return r;
            if (is_null(it))
                vals[m] = "";
            else if ((r = get_str(l, ps[i].name, it, &vals[m])) < 0)
                return r;
        }
        ps[i].values = vals;
        ps[i].n_values = n;
    }
    qsort(ps, p.n, sizeof *ps, param_by_name);
    j->params = ps;
    j->n_params = p.n;
    return 0;
}

static int job_scheme(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    char q[QUOTE_MAX + 4];
    const char *s;
    int r = get_str(l, "scheme", v, &s);
    if (r < 0)
        return r;
    if (!strcmp(s, "http"))
        return ((struct config_scrape *) obj)->scheme = CONFIG_SCHEME_HTTP, 0;
    if (!strcmp(s, "https"))
        return fail_at(l, v, ERR_PARSE, "scheme 'https' is not supported yet (needs tls_config)");
    return fail_at(l, v, ERR_PARSE, "key 'scheme': '%s' is neither http nor https",
                   quote(s, strlen(s), q));
}

/* scrape_protocols seen: a job's list replaces the global one. */
static int job_protocols(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return get_protocols(l, "scrape_protocols", v,
                         &((struct config_scrape *) obj)->scrape_protocols);
}

static const struct field scrape_fields[] = {
    FIELD("job_name", F_STRING, struct config_scrape, job_name),
    FIELD("scrape_interval", F_DURATION, struct config_scrape, scrape_interval_ms),
    FIELD("scrape_timeout", F_DURATION, struct config_scrape, scrape_timeout_ms),
    FIELD("metrics_path", F_STRING, struct config_scrape, metrics_path),
    FIELD("honor_labels", F_BOOL, struct config_scrape, honor_labels),
    FIELD("honor_timestamps", F_BOOL, struct config_scrape, honor_timestamps),
    FN("scheme", job_scheme),
    FN("params", job_params),
    FN("scrape_protocols", job_protocols),
    FN("static_configs", job_static_configs),
    /* Documented by Prometheus, not implemented by ember yet (issue 5 and later). */
    LATER("relabel_configs"), LATER("metric_relabel_configs"), LATER("basic_auth"),
    LATER("authorization"), LATER("oauth2"), LATER("bearer_token"), LATER("bearer_token_file"),
    LATER("tls_config"), LATER("proxy_url"), LATER("no_proxy"), LATER("proxy_from_environment"),
    LATER("proxy_connect_header"), LATER("http_headers"), LATER("follow_redirects"),
    LATER("enable_http2"), LATER("enable_compression"), LATER("sample_limit"),
    LATER("body_size_limit"), LATER("label_limit"), LATER("label_name_length_limit"),
    LATER("label_value_length_limit"), LATER("target_limit"), LATER("keep_dropped_targets"),
    LATER("track_timestamps_staleness"), LATER("fallback_scrape_protocol"),
    LATER("scrape_classic_histograms"), LATER("always_scrape_classic_histograms"),
    LATER("convert_classic_histograms_to_nhcb"), LATER("native_histogram_bucket_limit"),
    LATER("native_histogram_min_bucket_factor"), LATER("scrape_failure_log_file"),
    LATER("metric_name_validation_scheme"), LATER("metric_name_escaping_scheme"),
    LATER("file_sd_configs"), LATER("http_sd_configs"), LATER("dns_sd_configs"),
    LATER("consul_sd_configs"), LATER("kubernetes_sd_configs"), LATER("ec2_sd_configs"),
    LATER("gce_sd_configs"), LATER("azure_sd_configs"), LATER("digitalocean_sd_configs"),
    LATER("docker_sd_configs"), LATER("dockerswarm_sd_configs"), LATER("eureka_sd_configs"),
    LATER("hetzner_sd_configs"), LATER("ionos_sd_configs"), LATER("kuma_sd_configs"),
    LATER("lightsail_sd_configs"), LATER("linode_sd_configs"), LATER("marathon_sd_configs"),
    LATER("nerve_sd_configs"), LATER("nomad_sd_configs"), LATER("openstack_sd_configs"),
    LATER("ovhcloud_sd_configs"), LATER("puppetdb_sd_configs"), LATER("scaleway_sd_configs"),
    LATER("serverset_sd_configs"), LATER("triton_sd_configs"), LATER("uyuni_sd_configs"),
    LATER("vultr_sd_configs"), LATER("stackit_sd_configs"),
};

static int load_job(struct ld *l, const yaml_node_t *v, const struct config_global *g,
                    struct config_scrape *j)
{
    char a[32], b[32];
    int r;
    if (is_null(v) || v->type != YAML_MAPPING_NODE)
        return fail_at(l, v, ERR_PARSE, "scrape_configs: each entry expects a mapping, got %s",
                       kind_name(v));
    *j = (struct config_scrape){
        .scheme = CONFIG_SCHEME_HTTP,
        .metrics_path = "/metrics",
        .honor_timestamps = true,
        .line = (uint32_t) v->start_mark.line + 1,
    };
    buf_reset(&l->targets);
    if ((r = section(l, v, "scrape_config", scrape_fields, ARRAY_LEN(scrape_fields), j)) < 0)
        return r;
    if (!j->job_name || !*j->job_name)
        return fail_at(l, v, ERR_PARSE, "scrape_config: job_name is missing or empty");
    if (j->metrics_path[0] != '/')
        return fail_at(l, v, ERR_PARSE, "job '%s': metrics_path must start with '/'",
                       j->job_name);
    if (j->scrape_protocols.n == 0)
        j->scrape_protocols = g->scrape_protocols;
    if (j->scrape_interval_ms == 0)
        j->scrape_interval_ms = g->scrape_interval_ms;
    if (j->scrape_timeout_ms == 0)
        j->scrape_timeout_ms = g->scrape_timeout_ms < j->scrape_interval_ms
                                   ? g->scrape_timeout_ms
                                   : j->scrape_interval_ms;
    if (j->scrape_timeout_ms > j->scrape_interval_ms) {
        (void) duration_format(a, sizeof a, j->scrape_timeout_ms);
        (void) duration_format(b, sizeof b, j->scrape_interval_ms);
        return fail_at(l, v, ERR_PARSE, "job '%s': scrape_timeout %s is greater than "
                       "scrape_interval %s", j->job_name, a, b);
    }
    size_t n = l->targets.len / sizeof(struct config_target);
    if (n) {
        struct config_target *t = arena_alloc(l->a, l->targets.len);
        if (!t)
            return oom(l, l->a);
        memcpy(t, l->targets.p, l->targets.len);
        j->targets = t;
        j->n_targets = (uint32_t) n;
    }
    return 0;
}

struct job_ref {
    const char *name;
    const yaml_node_t *node;
};

static int job_ref_cmp(const void *x, const void *y)
{
    const struct job_ref *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    size_t ia = a->node->start_mark.index, ib = b->node->start_mark.index;
    return ia < ib ? -1 : ia > ib;
}

static int load_scrape_configs(struct ld *l, const yaml_node_t *v, struct config *c)
{
    const yaml_node_item_t *items;
    uint32_t n;
    int r = get_list(l, "scrape_configs", v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    struct config_scrape *jobs = arena_calloc(l->a, n, sizeof *jobs);
    struct job_ref *refs = arena_calloc(l->tmp, n, sizeof *refs);
    if (!jobs || !refs)
        return oom(l, jobs ? l->tmp : l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = node(l, items[i]);
        if ((r = visit(l, it)) < 0 || (r = load_job(l, it, &c->global, &jobs[i])) < 0)
            return r;
        refs[i] = (struct job_ref){jobs[i].job_name, it};
    }
    /* Duplicates by sorting: a linear scan per job would be quadratic on a huge file. An alias
     * repeating one job is a duplicate too; nodes then compare equal, order is irrelevant. */
    qsort(refs, n, sizeof *refs, job_ref_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (!strcmp(refs[i].name, refs[i - 1].name)) {
            char q[QUOTE_MAX + 4];
            return fail_at(l, refs[i].node, ERR_PARSE,
                           "duplicate job_name '%s' (first at line %zu)",
                           quote(refs[i].name, strlen(refs[i].name), q),
                           refs[i - 1].node->start_mark.line + 1);
        }
    c->scrapes = jobs;
    c->n_scrapes = n;
    return 0;
}

/* ---- top level ---- */

struct top {
    const yaml_node_t *global, *rule_files, *scrape_configs;
};

static int top_global(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return ((struct top *) obj)->global = v, 0;
}

static int top_rule_files(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return ((struct top *) obj)->rule_files = v, 0;
}

static int top_scrape_configs(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return ((struct top *) obj)->scrape_configs = v, 0;
}

static const struct field top_fields[] = {
    FN("global", top_global),
    FN("rule_files", top_rule_files),
    FN("scrape_configs", top_scrape_configs),
    LATER("alerting"), LATER("remote_write"), LATER("remote_read"), LATER("storage"),
    LATER("tracing"), LATER("runtime"), LATER("otlp"), LATER("scrape_config_files"),
};

/* The root mapping; global first, since jobs inherit from it wherever it is in the file. */
static int load_root(struct ld *l, const yaml_node_t *root, struct config *c)
{
    struct top t = {0};
    int r = 0;
    if (root && (r = visit(l, root)) < 0)
        return r;
    if (root && !is_null(root) && root->type != YAML_MAPPING_NODE)
        return fail_at(l, root, ERR_PARSE, "the configuration must be a mapping, got %s",
                       kind_name(root));
    if (root && (r = section(l, root, "the configuration", top_fields, ARRAY_LEN(top_fields),
                             &t)) < 0)
        return r;
    if ((r = load_global(l, t.global, &c->global)) < 0)
        return r;
    if (t.rule_files && (r = load_rule_files(l, t.rule_files, c)) < 0)
        return r;
    if (t.scrape_configs && (r = load_scrape_configs(l, t.scrape_configs, c)) < 0)
        return r;
    return 0;
}

/* ---- YAML passes ---- */

static int yaml_fail(struct ld *l, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return err_set(l->e, -ENOMEM, "%s: out of memory parsing YAML", l->name);
    if (p->error == YAML_READER_ERROR)
        return err_set(l->e, ERR_PARSE, "%s: byte %zu: %s", l->name, p->problem_offset,
                       p->problem ? p->problem : "bad input");
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        return err_set(l->e, ERR_PARSE, "%s:%zu:%zu: %s (%s at line %zu column %zu)", l->name,
                       p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
                       p->context_mark.line + 1, p->context_mark.column + 1);
    return err_set(l->e, ERR_PARSE, "%s:%zu:%zu: %s", l->name, p->problem_mark.line + 1,
                   p->problem_mark.column + 1, problem);
}

/* Pass 1: syntax, one document, depth and node count, without building anything. */
static int precheck(struct ld *l, const char *text, size_t len)
{
    yaml_parser_t p;
    int r = 0, depth = 0, docs = 0;
    uint64_t nodes = 0;
    if (!yaml_parser_initialize(&p))
        return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
    yaml_parser_set_input_string(&p, (const unsigned char *) text, len);
    for (int done = 0; !done && r >= 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            r = yaml_fail(l, &p);
            break;
        }
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        int opens = ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;
        if ((opens || ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) &&
            ++nodes > CONFIG_MAX_NODES)
            r = err_set(l->e, ERR_LIMIT, "%s:%zu:%zu: more than %d YAML nodes", l->name, line,
                        col, CONFIG_MAX_NODES);
        else if (opens && ++depth > CONFIG_MAX_DEPTH)
            r = err_set(l->e, ERR_LIMIT, "%s:%zu:%zu: YAML nested deeper than %d levels",
                        l->name, line, col, CONFIG_MAX_DEPTH);
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                r = err_set(l->e, ERR_PARSE, "%s:%zu:%zu: only one YAML document is allowed",
                            l->name, line, col);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return r;
}

static int load(const char *name, const char *dir, const char *text, size_t len,
                struct config **ret, struct err *e)
{
    struct ld l = {.name = name, .dir = dir, .e = e, .targets = BUF_INIT};
    yaml_document_t doc;
    yaml_parser_t p;
    int have_doc = 0, r;
    if (len > CONFIG_MAX_BYTES)
        return err_set(e, ERR_LIMIT, "%s: configuration is %zu bytes, the limit is %u MiB", name,
                       len, CONFIG_MAX_BYTES >> 20);
    l.a = arena_new(CONFIG_ARENA_CAP);
    l.tmp = arena_new(0);
    struct config *c = l.a ? arena_calloc(l.a, 1, sizeof *c) : NULL;
    char *copy = c ? arena_alloc(l.a, len + 1) : NULL;
    if (!l.tmp || !copy) {
        r = err_set(e, -ENOMEM, "%s: out of memory", name);
        goto out;
    }
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    c->text = copy;
    c->text_len = len;
    c->arena = l.a;
    if (!(c->path = arena_strdup(l.a, name))) {
        r = oom(&l, l.a);
        goto out;
    }
    if ((r = precheck(&l, copy, len)) < 0)
        goto out;
    if (!yaml_parser_initialize(&p)) {
        r = err_set(e, -ENOMEM, "%s: out of memory", name);
        goto out;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *) copy, len);
    have_doc = yaml_parser_load(&p, &doc);
    if (!have_doc)
        r = yaml_fail(&l, &p);
    yaml_parser_delete(&p);
    if (r < 0)
        goto out;
    l.doc = &doc;
    r = load_root(&l, yaml_document_get_root_node(&doc), c);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    buf_free(&l.targets);
    arena_free(l.tmp);
    if (r < 0) {
        arena_free(l.a);
        return r;
    }
    *ret = c;
    return 0;
}

int config_load_string(const char *name, const char *text, size_t len, struct config **ret,
                       struct err *e)
{
    return load(name, NULL, text, len, ret, e);
}

int config_load_file(const char *path, struct config **ret, struct err *e)
{
    struct stat st;
    struct buf b = BUF_INIT;
    char *dir = NULL;
    int r, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0) {
        r = err_set(e, -errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r = err_set(e, -EISDIR, "%s: is a directory", path);
        goto out;
    }
    if (st.st_size > (off_t) CONFIG_MAX_BYTES) {
        r = err_set(e, ERR_LIMIT, "%s: configuration is %lld bytes, the limit is %u MiB", path,
                    (long long) st.st_size, CONFIG_MAX_BYTES >> 20);
        goto out;
    }
    /* Reads until EOF but never past the limit plus one byte: the file may have grown since
     * fstat, or be a pipe; load() reports the size. */
    for (;;) {
        size_t want = st.st_size > 0 ? (size_t) st.st_size + 1 : 4096;
        if (b.len > CONFIG_MAX_BYTES)
            break;
        if (buf_reserve(&b, b.cap > b.len ? 1 : want) < 0) {
            r = err_set(e, -ENOMEM, "%s: out of memory", path);
            goto out;
        }
        size_t room = b.cap - b.len;
        if (room > CONFIG_MAX_BYTES + 1 - b.len)
            room = CONFIG_MAX_BYTES + 1 - b.len;
        ssize_t got = read(fd, b.p + b.len, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = err_set(e, -errno, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        b.len += (size_t) got;
    }
    /* Relative rule_files are relative to the config file's directory, as in Prometheus. */
    const char *slash = strrchr(path, '/');
    if (slash && !(dir = strndup(path, slash == path ? 1 : (size_t) (slash - path)))) {
        r = err_set(e, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    r = load(path, dir, b.p ? (const char *) b.p : "", b.len, ret, e);
out:
    free(dir);
    buf_free(&b);
    (void) close(fd);
    return r;
}

void config_free(struct config *c)
{
    if (c)
        arena_free(c->arena); /* c itself lives in its arena */
}

const struct config_scrape *config_scrape_find(const struct config *c, const char *job_name)
{
    for (uint32_t i = 0; i < c->n_scrapes; i++)
        if (!strcmp(c->scrapes[i].job_name, job_name))
            return &c->scrapes[i];
    return NULL;
}
