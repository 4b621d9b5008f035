/* rules/yaml.c — YAML reading shared by rule files and rule test files: one document via
 * libyaml, mappings read against a key list (unknown and repeated keys are errors), scalars read
 * as go-yaml reads them into Prometheus' structs, and messages positioned at file:line:col. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/internal.h"

int rules_yaml_fail(struct rl *l, const yaml_node_t *n, int code, const char *fmt, ...)
{
    char what[256] = "", why[200];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (l->group && l->rule_no)
        (void) snprintf(what, sizeof what, "group \"%.60s\", rule %u%s%.60s%s: ", l->group,
                        l->rule_no, l->rule ? " (\"" : "", l->rule ? l->rule : "",
                        l->rule ? "\")" : "");
    else if (l->group)
        (void) snprintf(what, sizeof what, "group \"%.60s\": ", l->group);
    return err_set(l->e, code, "%s:%zu:%zu: %s%s", l->name, n ? n->start_mark.line + 1 : 1,
                   n ? n->start_mark.column + 1 : 1, what, why);
}

int rules_yaml_oom(struct rl *l)
{
    return err_set(l->e, arena_over_cap(l->a) ? ERR_LIMIT : -ENOMEM, "%s: out of memory",
                   l->name);
}

const yaml_node_t *rules_yaml_node(struct rl *l, int idx)
{
    return yaml_document_get_node(l->doc, idx);
}

int rules_yaml_visit(struct rl *l, const yaml_node_t *n)
{
    if (++l->visits > RULES_MAX_NODES)
        return rules_yaml_fail(l, n, ERR_LIMIT, "more than %d YAML nodes", RULES_MAX_NODES);
    return 0;
}

const char *rules_yaml_kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list"
                                                                                      : "a scalar";
}

int rules_yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *) n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* A scalar as a string (go-yaml also reads numbers and booleans into string fields). */
int rules_yaml_get_str(struct rl *l, const char *key, const yaml_node_t *v, const char **ret)
{
    if (v->type != YAML_SCALAR_NODE)
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: expected a string, got %s", key, rules_yaml_kind_name(v));
    if (rules_yaml_is_null(v))
        return *ret = "", 0;
    if (strlen((const char *) v->data.scalar.value) != v->data.scalar.length)
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: NUL byte in string", key);
    if (!(*ret = arena_strndup(l->a, (const char *) v->data.scalar.value, v->data.scalar.length)))
        return rules_yaml_oom(l);
    return 0;
}

int rules_yaml_get_duration(struct rl *l, const char *key, const yaml_node_t *v, int64_t *ret)
{
    if (v->type != YAML_SCALAR_NODE || rules_yaml_is_null(v))
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: expected a duration, got %s", key,
                    v->type == YAML_SCALAR_NODE ? "null" : rules_yaml_kind_name(v));
    const char *s = (const char *) v->data.scalar.value;
    if (duration_parse(s, v->data.scalar.length, ret) < 0)
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: not a valid duration string: \"%.40s\"", key, s);
    return 0;
}

int rules_yaml_get_uint(struct rl *l, const char *key, const yaml_node_t *v, uint32_t *ret)
{
    int64_t x;
    const char *s = (const char *) v->data.scalar.value;
    if (v->type != YAML_SCALAR_NODE || num_parse_int64(s, v->data.scalar.length, &x) < 0 ||
        x < 0 || x > UINT32_MAX)
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: expected a non-negative integer", key);
    *ret = (uint32_t) x;
    return 0;
}

/* Mapping pairs with the key checked against keys[] (unknown keys and repeats are errors).
 * Fills val[i] with the value node of keys[i], NULL when absent. */
int rules_yaml_mapping(struct rl *l, const yaml_node_t *m, const char *what, const char *const *keys,
                   size_t nk, const yaml_node_t **val)
{
    for (size_t i = 0; i < nk; i++)
        val[i] = NULL;
    if (rules_yaml_is_null(m))
        return 0;
    if (m->type != YAML_MAPPING_NODE)
        return rules_yaml_fail(l, m, ERR_PARSE, "%s: expected a mapping, got %s", what, rules_yaml_kind_name(m));
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = rules_yaml_node(l, p->key), *v = rules_yaml_node(l, p->value);
        int r;
        if (!k || !v)
            return rules_yaml_fail(l, m, ERR_PARSE, "%s: malformed mapping", what);
        if ((r = rules_yaml_visit(l, k)) < 0 || (r = rules_yaml_visit(l, v)) < 0)
            return r;
        if (k->type != YAML_SCALAR_NODE)
            return rules_yaml_fail(l, k, ERR_PARSE, "%s: keys must be strings", what);
        const char *key = (const char *) k->data.scalar.value;
        size_t i = 0;
        while (i < nk && strcmp(keys[i], key) != 0)
            i++;
        if (i == nk)
            return rules_yaml_fail(l, k, ERR_PARSE, "%s: unknown key \"%.40s\"", what, key);
        if (val[i])
            return rules_yaml_fail(l, k, ERR_PARSE, "%s: key \"%s\" is repeated", what, key);
        val[i] = v;
    }
    return 0;
}

/* Label name → value map (labels or annotations), sorted; empty values kept as Prometheus does
 * for annotations, dropped for labels at evaluation. */
int rules_yaml_get_labels(struct rl *l, const char *key, const yaml_node_t *m, struct labels *ret)
{
    *ret = (struct labels){0};
    if (rules_yaml_is_null(m))
        return 0;
    if (m->type != YAML_MAPPING_NODE)
        return rules_yaml_fail(l, m, ERR_PARSE, "%s: expected a mapping, got %s", key, rules_yaml_kind_name(m));
    size_t n = (size_t) (m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    struct label *v = arena_calloc(l->a, n + 1, sizeof *v);
    if (!v)
        return rules_yaml_oom(l);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *p = &m->data.mapping.pairs.start[i];
        const yaml_node_t *k = rules_yaml_node(l, p->key), *val = rules_yaml_node(l, p->value);
        int r;
        if (!k || !val)
            return rules_yaml_fail(l, m, ERR_PARSE, "%s: malformed mapping", key);
        if ((r = rules_yaml_visit(l, k)) < 0 || (r = rules_yaml_visit(l, val)) < 0)
            return r;
        if ((r = rules_yaml_get_str(l, key, k, &v[i].name)) < 0 || (r = rules_yaml_get_str(l, key, val, &v[i].value)) < 0)
            return r;
        if (!labels_name_valid(v[i].name, strlen(v[i].name)))
            return rules_yaml_fail(l, k, ERR_PARSE, "invalid %s name: \"%.40s\"",
                        strcmp(key, "labels") ? "annotation" : "label", v[i].name);
    }
    ret->v = v;
    ret->n = (uint32_t) n;
    if (labels_sort(ret) < 0)
        return rules_yaml_fail(l, m, ERR_PARSE, "%s: a name is repeated", key);
    return 0;
}

int rules_yaml_load(const char *name, const char *text, size_t len, yaml_document_t *doc,
                    struct err *e)
{
    yaml_parser_t p;
    if (len > RULES_MAX_FILE_BYTES)
        return err_set(e, ERR_LIMIT, "%s: file is %zu bytes, the limit is %u MiB", name, len,
                       RULES_MAX_FILE_BYTES >> 20);
    if (!yaml_parser_initialize(&p))
        return err_set(e, -ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&p, (const unsigned char *) text, len);
    if (!yaml_parser_load(&p, doc)) {
        int r = err_set(e, p.error == YAML_MEMORY_ERROR ? -ENOMEM : ERR_PARSE, "%s:%zu:%zu: %s",
                        name, p.problem_mark.line + 1, p.problem_mark.column + 1,
                        p.problem ? p.problem : "malformed YAML");
        yaml_parser_delete(&p);
        return r;
    }
    /* A second document is an error, as for prometheus.yml. */
    yaml_document_t doc2;
    int r = 0;
    if (!yaml_parser_load(&p, &doc2))
        r = err_set(e, ERR_PARSE, "%s:%zu:%zu: %s", name, p.problem_mark.line + 1,
                    p.problem_mark.column + 1, p.problem ? p.problem : "malformed YAML");
    else {
        if (yaml_document_get_root_node(&doc2))
            r = err_set(e, ERR_PARSE, "%s: only one YAML document is allowed", name);
        yaml_document_delete(&doc2);
    }
    yaml_parser_delete(&p);
    if (r < 0)
        yaml_document_delete(doc);
    return r;
}

int rules_read_file(const char *path, struct buf *b, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode))
        r = err_set(e, S_ISDIR(st.st_mode) ? -EISDIR : -errno, "%s: %s", path,
                    S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
    while (r == 0) {
        if (b->len > RULES_MAX_FILE_BYTES) {
            r = err_set(e, ERR_LIMIT, "%s: rule file is over %u MiB", path,
                        RULES_MAX_FILE_BYTES >> 20);
            break;
        }
        if (buf_reserve(b, 65536) < 0) {
            r = err_set(e, -ENOMEM, "%s: out of memory", path);
            break;
        }
        ssize_t got = read(fd, b->p + b->len, b->cap - b->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            r = err_set(e, -errno, "%s: %s", path, strerror(errno));
        if (got <= 0)
            break;
        b->len += (size_t) got;
    }
    (void) close(fd);
    return r;
}
