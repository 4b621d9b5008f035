/* rules/loader.c — Prometheus rule files (rulefmt) via libyaml into struct rules_group, checked
 * as Prometheus' rulefmt.Validate and promtool do: every error names the file, line, group, rule
 * and reason. The walk is fixed-depth (groups → rules → labels), so nesting cannot recurse; node
 * visits are counted, which bounds alias expansion. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "rules/internal.h"
#include "rules/template.h"


static int parse_templates(struct rl *l, const yaml_node_t *at, const char *what,
                           const struct labels *ls, struct tmpl ***ret)
{
    *ret = NULL;
    if (!ls->n)
        return 0;
    struct tmpl **t = arena_calloc(l->a, ls->n, sizeof *t);
    if (!t)
        return rules_yaml_oom(l);
    for (uint32_t i = 0; i < ls->n; i++) {
        struct err te = {0};
        const char *nm = arena_printf(l->a, "__alert_%s", l->rule ? l->rule : "");
        if (!nm)
            return rules_yaml_oom(l);
        if (tmpl_parse(l->a, nm, ls->v[i].value, strlen(ls->v[i].value), &t[i], &te) < 0)
            return rules_yaml_fail(l, at, te.code == ERR_LIMIT ? ERR_LIMIT : ERR_PARSE, "%s %s: %s", what,
                        ls->v[i].name, te.msg);
    }
    *ret = t;
    return 0;
}

enum { R_RECORD, R_ALERT, R_EXPR, R_FOR, R_KEEP, R_LABELS, R_ANNOT, R_NKEYS };
static const char *const rule_keys[R_NKEYS] = {
    "record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations",
};

static int load_rule(struct rl *l, const yaml_node_t *m, struct rules_rule *r)
{
    const yaml_node_t *v[R_NKEYS];
    int rc = rules_yaml_mapping(l, m, "rule", rule_keys, R_NKEYS, v);
    if (rc < 0)
        return rc;
    r->line = (uint32_t) m->start_mark.line + 1;
    if (v[R_RECORD] && v[R_ALERT])
        return rules_yaml_fail(l, m, ERR_PARSE, "only one of 'record' and 'alert' must be set");
    if (!v[R_RECORD] && !v[R_ALERT])
        return rules_yaml_fail(l, m, ERR_PARSE, "one of 'record' or 'alert' must be set");
    r->kind = v[R_RECORD] ? RULES_RECORD : RULES_ALERT;
    const yaml_node_t *nn = v[R_RECORD] ? v[R_RECORD] : v[R_ALERT];
    if ((rc = rules_yaml_get_str(l, rule_keys[r->kind == RULES_RECORD ? R_RECORD : R_ALERT], nn, &r->name)) <
        0)
        return rc;
    l->rule = r->name;
    if (r->kind == RULES_RECORD && !labels_metric_name_valid(r->name, strlen(r->name)))
        return rules_yaml_fail(l, nn, ERR_PARSE, "invalid recording rule name: \"%.60s\"", r->name);
    if (r->kind == RULES_ALERT && !*r->name)
        return rules_yaml_fail(l, nn, ERR_PARSE, "alert name must not be empty");
    if (!v[R_EXPR])
        return rules_yaml_fail(l, m, ERR_PARSE, "field 'expr' must be set in rule");
    if ((rc = rules_yaml_get_str(l, "expr", v[R_EXPR], &r->expr)) < 0)
        return rc;
    if (!*r->expr)
        return rules_yaml_fail(l, v[R_EXPR], ERR_PARSE, "field 'expr' must be set in rule");
    struct err pe = {0};
    if (promql_parse(l->a, r->expr, strlen(r->expr), &r->ast, &pe) < 0)
        return rules_yaml_fail(l, v[R_EXPR], pe.code == ERR_LIMIT ? ERR_LIMIT : ERR_PARSE,
                    "could not parse expression: %s", pe.msg);
    if (r->kind == RULES_RECORD) {
        static const int alert_only[] = {R_FOR, R_KEEP, R_ANNOT};
        for (size_t i = 0; i < ARRAY_LEN(alert_only); i++)
            if (v[alert_only[i]])
                return rules_yaml_fail(l, v[alert_only[i]], ERR_PARSE, "invalid field '%s' in recording rule",
                            rule_keys[alert_only[i]]);
    }
    if (v[R_FOR] && (rc = rules_yaml_get_duration(l, "for", v[R_FOR], &r->for_ms)) < 0)
        return rc;
    if (v[R_KEEP] && (rc = rules_yaml_get_duration(l, "keep_firing_for", v[R_KEEP],
                                        &r->keep_firing_for_ms)) < 0)
        return rc;
    if (v[R_LABELS] && (rc = rules_yaml_get_labels(l, "labels", v[R_LABELS], &r->labels)) < 0)
        return rc;
    if (v[R_ANNOT] && (rc = rules_yaml_get_labels(l, "annotations", v[R_ANNOT], &r->annotations)) < 0)
        return rc;
    if (r->kind == RULES_RECORD && labels_get(&r->labels, LABEL_METRIC_NAME))
        return rules_yaml_fail(l, v[R_LABELS], ERR_PARSE, "invalid recording rule label name: __name__");
    if (r->kind == RULES_ALERT &&
        ((rc = parse_templates(l, v[R_LABELS] ? v[R_LABELS] : m, "label", &r->labels,
                               &r->label_tmpls)) < 0 ||
         (rc = parse_templates(l, v[R_ANNOT] ? v[R_ANNOT] : m, "annotation", &r->annotations,
                               &r->annotation_tmpls)) < 0))
        return rc;
    return 0;
}

enum { G_NAME, G_INTERVAL, G_QOFF, G_LIMIT, G_RULES, G_LABELS, G_NKEYS };
static const char *const group_keys[G_NKEYS] = {
    "name", "interval", "query_offset", "limit", "rules", "labels",
};

static int load_group(struct rl *l, const yaml_node_t *m, struct rules_group *g)
{
    const yaml_node_t *v[G_NKEYS];
    int r = rules_yaml_mapping(l, m, "group", group_keys, G_NKEYS, v);
    if (r < 0)
        return r;
    g->file = l->name;
    g->line = (uint32_t) m->start_mark.line + 1;
    if (!v[G_NAME])
        return rules_yaml_fail(l, m, ERR_PARSE, "group name must not be empty");
    if ((r = rules_yaml_get_str(l, "name", v[G_NAME], &g->name)) < 0)
        return r;
    if (!*g->name)
        return rules_yaml_fail(l, v[G_NAME], ERR_PARSE, "group name must not be empty");
    l->group = g->name;
    if (v[G_INTERVAL] && (r = rules_yaml_get_duration(l, "interval", v[G_INTERVAL], &g->interval_ms)) < 0)
        return r;
    if (v[G_QOFF] && (r = rules_yaml_get_duration(l, "query_offset", v[G_QOFF], &g->query_offset_ms)) < 0)
        return r;
    g->has_query_offset = v[G_QOFF] != NULL;
    if (v[G_LIMIT] && (r = rules_yaml_get_uint(l, "limit", v[G_LIMIT], &g->limit)) < 0)
        return r;
    if (v[G_LABELS] && (r = rules_yaml_get_labels(l, "labels", v[G_LABELS], &g->labels)) < 0)
        return r;
    if (!v[G_RULES] || rules_yaml_is_null(v[G_RULES]))
        return 0;
    if (v[G_RULES]->type != YAML_SEQUENCE_NODE)
        return rules_yaml_fail(l, v[G_RULES], ERR_PARSE, "rules: expected a list, got %s",
                    rules_yaml_kind_name(v[G_RULES]));
    const yaml_node_item_t *it = v[G_RULES]->data.sequence.items.start;
    size_t n = (size_t) (v[G_RULES]->data.sequence.items.top - it);
    struct rules_rule *rs = arena_calloc(l->a, n + 1, sizeof *rs);
    if (!rs)
        return rules_yaml_oom(l);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *rn = rules_yaml_node(l, it[i]);
        l->rule_no = (uint32_t) i + 1;
        l->rule = NULL;
        if (!rn)
            return rules_yaml_fail(l, v[G_RULES], ERR_PARSE, "malformed list");
        if ((r = rules_yaml_visit(l, rn)) < 0 || (r = load_rule(l, rn, &rs[i])) < 0)
            return r;
    }
    l->rule_no = 0;
    l->rule = NULL;
    g->rules = rs;
    g->n_rules = (uint32_t) n;
    return 0;
}

static int load_root(struct rl *l, const yaml_node_t *root, struct rules_group **ret,
                     uint32_t *ret_n)
{
    static const char *const top_keys[] = {"groups"};
    const yaml_node_t *gv;
    int r;
    *ret = NULL;
    *ret_n = 0;
    if (!root)
        return 0;
    if ((r = rules_yaml_visit(l, root)) < 0 || (r = rules_yaml_mapping(l, root, "rule file", top_keys, 1, &gv)) < 0)
        return r;
    if (!gv || rules_yaml_is_null(gv))
        return 0;
    if (gv->type != YAML_SEQUENCE_NODE)
        return rules_yaml_fail(l, gv, ERR_PARSE, "groups: expected a list, got %s", rules_yaml_kind_name(gv));
    const yaml_node_item_t *it = gv->data.sequence.items.start;
    size_t n = (size_t) (gv->data.sequence.items.top - it);
    struct rules_group *gs = arena_calloc(l->a, n + 1, sizeof *gs);
    if (!gs)
        return rules_yaml_oom(l);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *gn = rules_yaml_node(l, it[i]);
        l->group = NULL;
        if (!gn)
            return rules_yaml_fail(l, gv, ERR_PARSE, "malformed list");
        if ((r = rules_yaml_visit(l, gn)) < 0 || (r = load_group(l, gn, &gs[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(gs[j].name, gs[i].name)) {
                l->group = NULL;
                return rules_yaml_fail(l, gn, ERR_PARSE, "groupname: \"%.60s\" is repeated in the same file",
                            gs[i].name);
            }
    }
    l->group = NULL;
    *ret = gs;
    *ret_n = (uint32_t) n;
    return 0;
}

int rules_parse(struct arena *a, const char *name, const char *text, size_t len,
                struct rules_group **ret, uint32_t *ret_n, struct err *e)
{
    struct rl l = {.name = name, .a = a, .e = e};
    yaml_document_t doc;
    int r = rules_yaml_load(name, text, len, &doc, e);
    if (r < 0)
        return r;
    l.doc = &doc;
    r = load_root(&l, yaml_document_get_root_node(&doc), ret, ret_n);
    yaml_document_delete(&doc);
    return r;
}

/* ---- files ---- */

static int add_file(struct rules_set *s, struct buf *groups, const char *path, struct err *e)
{
    struct buf text = BUF_INIT;
    struct rules_group *gs;
    uint32_t n;
    const char *copy = arena_strdup(s->arena, path);
    int r = copy ? rules_read_file(path, &text, e) : err_set(e, -ENOMEM, "out of memory");
    if (r == 0)
        r = rules_parse(s->arena, copy, text.p ? (const char *) text.p : "", text.len, &gs, &n, e);
    buf_free(&text);
    if (r < 0)
        return r;
    if (buf_append(groups, gs, n * sizeof *gs) < 0)
        return err_set(e, -ENOMEM, "out of memory");
    const char **files = arena_realloc(s->arena, (void *) s->files, s->n_files * sizeof *files,
                                       (s->n_files + 1) * sizeof *files);
    if (!files)
        return err_set(e, -ENOMEM, "out of memory");
    files[s->n_files++] = copy;
    s->files = files;
    return 0;
}

static int finish(struct rules_set *s, struct buf *groups, struct rules_set **ret, struct err *e)
{
    struct rules_group *gs = arena_alloc(s->arena, groups->len + 1);
    if (!gs) {
        buf_free(groups);
        rules_set_free(s);
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (groups->len)
        memcpy(gs, groups->p, groups->len);
    s->groups = gs;
    s->n_groups = (uint32_t) (groups->len / sizeof *gs);
    buf_free(groups);
    *ret = s;
    return 0;
}

static struct rules_set *set_new(void)
{
    struct arena *a = arena_new(0);
    struct rules_set *s = a ? arena_calloc(a, 1, sizeof *s) : NULL;
    if (!s) {
        arena_free(a);
        return NULL;
    }
    s->arena = a;
    return s;
}

int rules_load(const char *const *globs, uint32_t n_globs, struct rules_set **ret, struct err *e)
{
    struct rules_set *s = set_new();
    struct buf groups = BUF_INIT;
    if (!s)
        return err_set(e, -ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n_globs; i++) {
        glob_t gl;
        /* Unreadable directories match nothing, as Go's filepath.Glob. */
        int gr = glob(globs[i], 0, NULL, &gl);
        if (gr == GLOB_NOMATCH || gr == GLOB_ABORTED)
            continue;
        int r = 0;
        if (gr != 0)
            r = err_set(e, ERR_PARSE, "rule_files: %s: cannot expand the pattern", globs[i]);
        for (size_t j = 0; gr == 0 && j < gl.gl_pathc && r == 0; j++)
            r = add_file(s, &groups, gl.gl_pathv[j], e);
        if (gr == 0)
            globfree(&gl);
        if (r < 0) {
            buf_free(&groups);
            rules_set_free(s);
            return r;
        }
    }
    return finish(s, &groups, ret, e);
}

int rules_load_file(const char *path, struct rules_set **ret, struct err *e)
{
    struct rules_set *s = set_new();
    struct buf groups = BUF_INIT;
    if (!s)
        return err_set(e, -ENOMEM, "out of memory");
    int r = add_file(s, &groups, path, e);
    if (r < 0) {
        buf_free(&groups);
        rules_set_free(s);
        return r;
    }
    return finish(s, &groups, ret, e);
}

void rules_set_free(struct rules_set *s)
{
    if (s)
        arena_free(s->arena);
}

uint32_t rules_check_duplicates(const struct rules_set *s,
                                void (*fn)(void *arg, const struct rules_rule *r), void *arg)
{
    uint32_t dups = 0;
    for (uint32_t g = 0; g < s->n_groups; g++)
        for (uint32_t i = 0; i < s->groups[g].n_rules; i++) {
            const struct rules_rule *r = &s->groups[g].rules[i];
            int seen = 0;
            for (uint32_t h = 0; h <= g && !seen; h++)
                for (uint32_t j = 0; j < (h == g ? i : s->groups[h].n_rules) && !seen; j++) {
                    const struct rules_rule *o = &s->groups[h].rules[j];
                    seen = o->kind == r->kind && !strcmp(o->name, r->name) &&
                           labels_equal(&o->labels, &r->labels);
                }
            if (seen) {
                dups++;
                if (fn)
                    fn(arg, r);
            }
        }
    return dups;
}
