/* server/config.c — prometheus.yml: libyaml → validated, immutable struct config in one arena.
 *
 * Two passes over the text. The event parser first checks syntax, one document, nesting depth and
 * node count, so absurd input is refused before a tree is built. Then yaml_parser_load() builds
 * the node tree (aliases become shared nodes) and a schema walk fills the struct: each section is
 * a table of keys (struct field) saying whether ember implements the key, and how to read it.
 * Keys are gathered per mapping first (struct pairs) so that duplicates and merge keys (<<) are
 * resolved in one place. Every node the walk looks at counts against CONFIG_MAX_NODES, which
 * bounds alias expansion ("billion laughs") and merge cycles.
 * This file: the passes, the document root, global and rule_files; the YAML helpers and key
 * tables are in config_yaml.c, scrape_configs in config_scrape.c. */
#include "server/config_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ---- global ---- */

static int global_external_labels(struct ld *l, void *obj, const yaml_node_t *k,
                                  const yaml_node_t *v)
{
    return config_get_labels(l, "external_labels", v,
                             &((struct config_global *) obj)->external_labels);
}

static int global_protocols(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct config_global *g = obj;
    return config_get_protocols(l, "scrape_protocols", v, &g->scrape_protocols);
}

static const struct field global_fields[] = {
    FIELD("scrape_interval", F_DURATION, struct config_global, scrape_interval_ms),
    FIELD("scrape_timeout", F_DURATION, struct config_global, scrape_timeout_ms),
    FIELD("evaluation_interval", F_DURATION, struct config_global, evaluation_interval_ms),
    FN("external_labels", global_external_labels),
    FN("scrape_protocols", global_protocols),
    LATER("query_log_file"), LATER("scrape_failure_log_file"), 
    FIELD("rule_query_offset", F_DURATION, struct config_global, rule_query_offset_ms),
    LATER("body_size_limit"), LATER("sample_limit"), LATER("label_limit"),
    LATER("label_name_length_limit"), LATER("label_value_length_limit"), LATER("target_limit"),
    LATER("keep_dropped_targets"), LATER("metric_name_validation_scheme"),
    LATER("metric_name_escaping_scheme"), LATER("always_scrape_classic_histograms"),
    LATER("convert_classic_histograms_to_nhcb"), LATER("scrape_native_histograms"),
};

static int load_global(struct ld *l, const yaml_node_t *v, struct config_global *g)
{
    char a[32], b[32];
    g->scrape_protocols = config_default_protocols;
    int r = v ? config_section(l, v, "global", global_fields, ARRAY_LEN(global_fields), g) : 0;
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
        return config_fail(l, v, ERR_PARSE, "global: scrape_timeout %s is greater than "
                           "scrape_interval %s", a, b);
    }
    return 0;
}

/* ---- rule_files ---- */

static int rule_file_name_check(struct ld *l, const yaml_node_t *it, const char *s)
{
    return *s ? 0 : config_fail(l, it, ERR_PARSE, "rule_files: empty file name");
}

static int load_rule_files(struct ld *l, const yaml_node_t *v, struct config *c)
{
    const yaml_node_item_t *items;
    const char **files;
    uint32_t n;
    int r = config_get_list(l, "rule_files", v, &items, &n);
    if (r < 0 || n == 0 ||
        (r = config_path_list(l, "rule_files", items, n, rule_file_name_check, &files)) < 0)
        return r;
    c->rule_files = files;
    c->n_rule_files = n;
    return 0;
}

/* ---- top level ---- */

struct top {
    const yaml_node_t *global, *rule_files, *scrape_configs, *alerting;
};

static int top_alerting(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return ((struct top *) obj)->alerting = v, 0;
}

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
    FN("alerting", top_alerting), LATER("remote_write"), LATER("remote_read"), LATER("storage"),
    LATER("tracing"), LATER("runtime"), LATER("otlp"), LATER("scrape_config_files"),
};

/* The root mapping; global first, since jobs inherit from it wherever it is in the file. */
static int load_root(struct ld *l, const yaml_node_t *root, void *obj)
{
    struct config *c = obj;
    struct top t = {0};
    int r = 0;
    if (root && (r = config_visit(l, root)) < 0)
        return r;
    if (root && !config_is_null(root) && root->type != YAML_MAPPING_NODE)
        return config_fail(l, root, ERR_PARSE, "the configuration must be a mapping, got %s",
                           config_kind_name(root));
    if (root && (r = config_section(l, root, "the configuration", top_fields, ARRAY_LEN(top_fields),
                                    &t)) < 0)
        return r;
    if ((r = load_global(l, t.global, &c->global)) < 0)
        return r;
    if (t.rule_files && (r = load_rule_files(l, t.rule_files, c)) < 0)
        return r;
    if (t.scrape_configs && (r = config_load_scrape_configs(l, t.scrape_configs, c)) < 0)
        return r;
    if (t.alerting && (r = config_load_alerting(l, t.alerting, c)) < 0)
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

int config_resolve_path(struct ld *l, const char *s, const char **ret)
{
    if (l->dir && s[0] != '/' &&
        !(s = arena_printf(l->a, "%s%s%s", l->dir, strcmp(l->dir, "/") ? "/" : "", s)))
        return config_oom(l, l->a);
    *ret = s;
    return 0;
}

int config_path_list(struct ld *l, const char *what, const yaml_node_item_t *items, uint32_t n,
                     int (*check)(struct ld *l, const yaml_node_t *it, const char *s),
                     const char ***ret)
{
    const char **files = arena_calloc(l->a, n, sizeof *files);
    if (!files)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        const char *s;
        int r;
        if ((r = config_visit(l, it)) < 0 || (r = config_get_str(l, what, it, &s)) < 0 ||
            (check && (r = check(l, it, s)) < 0) || (r = config_resolve_path(l, s, &files[i])) < 0)
            return r;
    }
    *ret = files;
    return 0;
}

int config_yaml_document(struct ld *l, const char *text, size_t len, yaml_document_t *ret)
{
    yaml_parser_t p;
    int r = precheck(l, text, len);
    if (r < 0)
        return r;
    if (!yaml_parser_initialize(&p))
        return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
    yaml_parser_set_input_string(&p, (const unsigned char *) text, len);
    if (!yaml_parser_load(&p, ret))
        r = yaml_fail(l, &p);
    yaml_parser_delete(&p);
    return r;
}

int config_yaml_load(struct ld *l, const char *text, size_t len,
                     int (*root)(struct ld *l, const yaml_node_t *root, void *obj), void *obj)
{
    yaml_document_t doc;
    int r = config_yaml_document(l, text, len, &doc);
    if (r < 0)
        return r;
    l->doc = &doc;
    r = root(l, yaml_document_get_root_node(&doc), obj);
    l->doc = NULL;
    yaml_document_delete(&doc);
    return r;
}

int config_ld_end(struct ld *l, int r)
{
    buf_free(&l->targets);
    arena_free(l->tmp);
    if (r < 0)
        arena_free(l->a);
    return r;
}

static int load(const char *name, const char *dir, const char *text, size_t len,
                struct config **ret, struct err *e)
{
    struct ld l = {.name = name, .dir = dir, .e = e, .targets = BUF_INIT};
    int r;
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
        r = config_oom(&l, l.a);
        goto out;
    }
    r = config_yaml_load(&l, copy, len, load_root, c);
out:
    if ((r = config_ld_end(&l, r)) == 0)
        *ret = c;
    return r;
}

int config_load_string(const char *name, const char *text, size_t len, struct config **ret,
                       struct err *e)
{
    return load(name, NULL, text, len, ret, e);
}

int config_read_file(const char *path, const char *what, struct buf *ret, struct err *e)
{
    struct stat st;
    struct buf b = BUF_INIT;
    int r = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
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
        r = err_set(e, ERR_LIMIT, "%s: %s is %lld bytes, the limit is %u MiB", path, what,
                    (long long) st.st_size, CONFIG_MAX_BYTES >> 20);
        goto out;
    }
    /* Reads until EOF but never past the limit plus one byte: the file may have grown since
     * fstat, or be a pipe; the parser reports the size. */
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
out:
    (void) close(fd);
    if (r < 0)
        buf_free(&b);
    else
        *ret = b;
    return r;
}

int config_load_file(const char *path, struct config **ret, struct err *e)
{
    struct buf b = BUF_INIT;
    char *dir = NULL;
    int r = config_read_file(path, "configuration", &b, e);
    if (r < 0)
        return r;
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
