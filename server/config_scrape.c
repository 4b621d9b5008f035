/* server/config_scrape.c — scrape_configs[] of prometheus.yml: jobs with their inherited
 * intervals and protocols, params, static_configs flattened into targets, and relabel_configs /
 * metric_relabel_configs compiled by the scrape module (which checks each rule as Prometheus
 * does; this file reads the YAML and puts file:line:col on its complaints). */
#include "server/config_yaml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- static_configs ---- */

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
    return config_get_labels(l, "labels", v, &((struct static_config *) obj)->labels);
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
        return config_fail(l, v, ERR_PARSE, "static_configs: each entry expects a mapping with "
                           "targets and labels, got %s", config_kind_name(v));
    if ((r = config_section(l, v, "static_config", static_fields, ARRAY_LEN(static_fields),
                            &sc)) < 0)
        return r;
    if (!sc.targets)
        return 0;
    if ((r = config_get_list(l, "targets", sc.targets, &items, &n)) < 0)
        return r;
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        struct config_target t = {.labels = sc.labels};
        const char *why;
        if ((r = config_visit(l, it)) < 0 || (r = config_get_str(l, "targets", it, &t.address)) < 0)
            return r;
        if ((why = scrape_target_address_problem(t.address, strlen(t.address))))
            return config_fail(l, it, ERR_PARSE, "targets: bad target '%s': %s",
                               config_quote(t.address, strlen(t.address), q), why);
        if (buf_append(&l->targets, &t, sizeof t) < 0)
            return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
    }
    return 0;
}

static int job_static_configs(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    const yaml_node_item_t *items;
    uint32_t n;
    int r = config_get_list(l, "static_configs", v, &items, &n);
    for (uint32_t i = 0; r >= 0 && i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((r = config_visit(l, it)) >= 0)
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
    if (config_is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return config_fail(l, v, ERR_PARSE, "key 'params' expects a mapping of names to lists of "
                           "values, got %s", config_kind_name(v));
    if ((r = config_mapping_pairs(l, v, &p)) < 0)
        return r;
    struct config_param *ps = arena_calloc(l->a, p.n ? p.n : 1, sizeof *ps);
    if (!ps)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < p.n; i++) {
        const yaml_node_item_t *items;
        uint32_t n;
        if ((r = config_get_str(l, "params", p.v[i].k, &ps[i].name)) < 0 ||
            (r = config_get_list(l, ps[i].name, p.v[i].v, &items, &n)) < 0)
            return r;
        if (!*ps[i].name)
            return config_fail(l, p.v[i].k, ERR_PARSE, "params: empty parameter name");
        const char **vals = arena_calloc(l->a, n ? n : 1, sizeof *vals);
        if (!vals)
            return config_oom(l, l->a);
        for (uint32_t m = 0; m < n; m++) {
            const yaml_node_t *it = config_node(l, items[m]);
            if ((r = config_visit(l, it)) < 0)
                return r;
            if (config_is_null(it))
                vals[m] = "";
            else if ((r = config_get_str(l, ps[i].name, it, &vals[m])) < 0)
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

int config_get_scheme(struct ld *l, const yaml_node_t *v, enum config_scheme *ret)
{
    char q[QUOTE_MAX + 4];
    const char *s;
    int r = config_get_str(l, "scheme", v, &s);
    if (r < 0)
        return r;
    if (!strcmp(s, "http"))
        return *ret = CONFIG_SCHEME_HTTP, 0;
    if (!strcmp(s, "https"))
        return *ret = CONFIG_SCHEME_HTTPS, 0;
    return config_fail(l, v, ERR_PARSE, "key 'scheme': '%s' is neither http nor https",
                       config_quote(s, strlen(s), q));
}

static int job_scheme(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_get_scheme(l, v, &((struct config_scrape *) obj)->scheme);
}

/* scrape_protocols seen: a job's list replaces the global one. */
static int job_protocols(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_get_protocols(l, "scrape_protocols", v,
                                &((struct config_scrape *) obj)->scrape_protocols);
}

/* ---- relabel_configs, metric_relabel_configs ---- */

/* One relabel_config being read; strings are copies in the config arena. */
struct relabel_ld {
    struct scrape_relabel_rule r;
};

/* A string of a relabel_config. Null is "" here, not an error: go-yaml sets a null string to its
 * zero value, and Prometheus' own example configs write `regex:` with nothing after it. */
static int rc_str(struct ld *l, const char *key, const yaml_node_t *v, const char **ret)
{
    if (config_is_null(v))
        return *ret = "", 0;
    return config_get_str(l, key, v, ret);
}

static int rc_source_labels(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct scrape_relabel_rule *r = &((struct relabel_ld *) obj)->r;
    const yaml_node_item_t *items;
    uint32_t n;
    int rc = config_get_list(l, "source_labels", v, &items, &n);
    if (rc < 0 || config_is_null(v))
        return rc;
    const char **names = arena_calloc(l->a, n ? n : 1, sizeof *names);
    if (!names)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((rc = config_visit(l, it)) < 0 || (rc = config_get_str(l, "source_labels", it,
                                                                    &names[i])) < 0)
            return rc;
    }
    r->source_labels = names;
    r->n_source_labels = n;
    r->has_source_labels = 1;
    return 0;
}

static int rc_separator(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return rc_str(l, "separator", v, &((struct relabel_ld *) obj)->r.separator);
}

static int rc_regex(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return rc_str(l, "regex", v, &((struct relabel_ld *) obj)->r.regex);
}

static int rc_target_label(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return rc_str(l, "target_label", v, &((struct relabel_ld *) obj)->r.target_label);
}

static int rc_replacement(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return rc_str(l, "replacement", v, &((struct relabel_ld *) obj)->r.replacement);
}

static int rc_modulus(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    if (config_is_null(v))
        return 0;
    return config_get_uint(l, "modulus", v, UINT64_MAX, &((struct relabel_ld *) obj)->r.modulus);
}

static int rc_action(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    char q[QUOTE_MAX + 4];
    const char *s;
    int r = rc_str(l, "action", v, &s);
    if (r < 0)
        return r;
    if (!*s)
        return config_fail(l, v, ERR_PARSE, "relabel action cannot be empty");
    if (scrape_relabel_action_parse(s, &((struct relabel_ld *) obj)->r.action) < 0)
        return config_fail(l, v, ERR_PARSE, "unknown relabel action '%s'",
                           config_quote(s, strlen(s), q));
    return 0;
}

static const struct field relabel_fields[] = {
    FN("source_labels", rc_source_labels),
    FN("separator", rc_separator),
    FN("regex", rc_regex),
    FN("modulus", rc_modulus),
    FN("target_label", rc_target_label),
    FN("replacement", rc_replacement),
    FN("action", rc_action),
};

static void release_relabel(void *rs)
{
    scrape_relabel_unref(rs);
}

/* The value node of key in mapping map, or map itself: where a complaint about key points. */
static const yaml_node_t *value_of(struct ld *l, const yaml_node_t *map, const char *key)
{
    struct pairs p;
    if (key && config_mapping_pairs(l, map, &p) >= 0)
        for (uint32_t i = 0; i < p.n; i++)
            if (p.v[i].key_len == strlen(key) && !memcmp(p.v[i].key, key, p.v[i].key_len))
                return p.v[i].v;
    return map;
}

/* A list of relabel_config into one compiled rule list owned by the config (NULL when empty). */
static int load_relabel_configs(struct ld *l, const char *key, const yaml_node_t *v,
                                scrape_relabel **ret)
{
    const yaml_node_item_t *items;
    uint32_t n;
    scrape_relabel *rs;
    struct err e = {0};
    int r = config_get_list(l, key, v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    if ((r = scrape_relabel_new(&rs, &e)) < 0)
        return config_oom(l, l->a);
    if (arena_on_free(l->a, release_relabel, rs) < 0) {
        scrape_relabel_unref(rs);
        return config_oom(l, l->a);
    }
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        struct relabel_ld rc = {.r = {.action = SCRAPE_RELABEL_REPLACE}};
        const char *bad = NULL;
        if ((r = config_visit(l, it)) < 0)
            return r;
        if (config_is_null(it) || it->type != YAML_MAPPING_NODE)
            return config_fail(l, it, ERR_PARSE, "%s: each entry expects a relabel_config "
                               "mapping, got %s", key, config_kind_name(it));
        if ((r = config_section(l, it, "relabel_config", relabel_fields,
                                ARRAY_LEN(relabel_fields), &rc)) < 0)
            return r;
        if ((r = scrape_relabel_add(rs, &rc.r, &bad, &e)) < 0) {
            if (r != ERR_PARSE)
                return err_set(l->e, r, "%s: %s", l->name, e.msg);
            return config_fail(l, value_of(l, it, bad), ERR_PARSE, "%s: %s", key, e.msg);
        }
    }
    *ret = rs;
    return 0;
}

static int job_relabel_configs(struct ld *l, void *obj, const yaml_node_t *k,
                               const yaml_node_t *v)
{
    return load_relabel_configs(l, "relabel_configs", v,
                                &((struct config_scrape *) obj)->relabel_configs);
}

static int job_metric_relabel_configs(struct ld *l, void *obj, const yaml_node_t *k,
                                      const yaml_node_t *v)
{
    return load_relabel_configs(l, "metric_relabel_configs", v,
                                &((struct config_scrape *) obj)->metric_relabel_configs);
}

/* ---- file_sd_configs ---- */

struct file_sd_fields {
    const yaml_node_t *files;
    int64_t refresh_interval_ms;
};

static int fsd_files(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    ((struct file_sd_fields *) obj)->files = v;
    return 0;
}

static const struct field file_sd_fields[] = {
    FN("files", fsd_files),
    FIELD("refresh_interval", F_DURATION, struct file_sd_fields, refresh_interval_ms),
};

/* Prometheus' rule for file_sd paths: a '*' only in the last path element, and a .json, .yml or
 * .yaml name (any of those in upper case too). */
static int file_sd_name_valid(const char *s)
{
    const char *star = strchr(s, '*');
    if (star && (strchr(star + 1, '*') || strchr(star, '/')))
        return 0;
    static const char *const exts[] = {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"};
    size_t n = strlen(s);
    for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcmp(s + n - m, exts[i]) == 0)
            return 1;
    }
    return 0;
}

static int file_sd_name_check(struct ld *l, const yaml_node_t *it, const char *s)
{
    char q[QUOTE_MAX + 4];
    if (file_sd_name_valid(s))
        return 0;
    return config_fail(l, it, ERR_PARSE, "path name \"%s\" is not valid for file discovery",
                       config_quote(s, strlen(s), q));
}

static int load_file_sd(struct ld *l, const yaml_node_t *v, struct config_file_sd *ret)
{
    struct file_sd_fields f = {.refresh_interval_ms = 5 * 60 * 1000};
    const yaml_node_item_t *items;
    uint32_t n = 0;
    int r;
    if (v->type != YAML_MAPPING_NODE)
        return config_fail(l, v, ERR_PARSE, "file_sd_configs: each entry expects a mapping with "
                           "files and refresh_interval, got %s", config_kind_name(v));
    if ((r = config_section(l, v, "file_sd_config", file_sd_fields, ARRAY_LEN(file_sd_fields),
                            &f)) < 0)
        return r;
    if (f.files && (r = config_get_list(l, "files", f.files, &items, &n)) < 0)
        return r;
    if (n == 0)
        return config_fail(l, v, ERR_PARSE, "file service discovery config must contain at "
                           "least one path name");
    if (f.refresh_interval_ms <= 0)
        return config_fail(l, v, ERR_PARSE, "file_sd_config: refresh_interval must be positive");
    const char **files;
    if ((r = config_path_list(l, "files", items, n, file_sd_name_check, &files)) < 0)
        return r;
    *ret = (struct config_file_sd){files, n, f.refresh_interval_ms};
    return 0;
}

static int job_file_sd_configs(struct ld *l, void *obj, const yaml_node_t *k,
                               const yaml_node_t *v)
{
    struct config_scrape *j = obj;
    const yaml_node_item_t *items;
    uint32_t n;
    int r = config_get_list(l, "file_sd_configs", v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    struct config_file_sd *sd = arena_calloc(l->a, n, sizeof *sd);
    if (!sd)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((r = config_visit(l, it)) < 0 || (r = load_file_sd(l, it, &sd[i])) < 0)
            return r;
    }
    j->file_sd = sd;
    j->n_file_sd = n;
    return 0;
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
    FN("relabel_configs", job_relabel_configs),
    FN("metric_relabel_configs", job_metric_relabel_configs),
    /* HTTP client and limits (config_client.c). */
    FN("basic_auth", config_client_key), FN("authorization", config_client_key),
    FN("bearer_token", config_client_key), FN("bearer_token_file", config_client_key),
    FN("tls_config", config_client_key), FN("follow_redirects", config_client_key),
    FN("enable_compression", config_client_key), FN("body_size_limit", config_client_key),
    FN("sample_limit", config_client_key), FN("label_limit", config_client_key),
    FN("label_name_length_limit", config_client_key),
    FN("label_value_length_limit", config_client_key), FN("target_limit", config_client_key),
    FN("file_sd_configs", job_file_sd_configs),
    /* Documented by Prometheus, not implemented by ember yet (issue 5 and later). */
    LATER("oauth2"), LATER("proxy_url"), LATER("no_proxy"), LATER("proxy_from_environment"),
    LATER("proxy_connect_header"), LATER("http_headers"), LATER("enable_http2"),
    LATER("keep_dropped_targets"),
    LATER("track_timestamps_staleness"), LATER("fallback_scrape_protocol"),
    LATER("scrape_classic_histograms"), LATER("always_scrape_classic_histograms"),
    LATER("convert_classic_histograms_to_nhcb"), LATER("native_histogram_bucket_limit"),
    LATER("native_histogram_min_bucket_factor"), LATER("scrape_failure_log_file"),
    LATER("metric_name_validation_scheme"), LATER("metric_name_escaping_scheme"),
    LATER("http_sd_configs"), LATER("dns_sd_configs"),
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
    if (config_is_null(v) || v->type != YAML_MAPPING_NODE)
        return config_fail(l, v, ERR_PARSE, "scrape_configs: each entry expects a mapping, got %s",
                           config_kind_name(v));
    *j = (struct config_scrape){
        .scheme = CONFIG_SCHEME_HTTP,
        .metrics_path = "/metrics",
        .honor_timestamps = true,
        .line = (uint32_t) v->start_mark.line + 1,
    };
    buf_reset(&l->targets);
    l->client = NULL;
    if ((r = config_section(l, v, "scrape_config", scrape_fields, ARRAY_LEN(scrape_fields), j)) < 0)
        return r;
    if (!j->job_name || !*j->job_name)
        return config_fail(l, v, ERR_PARSE, "scrape_config: job_name is missing or empty");
    if ((r = config_client_finish(l, v, j)) < 0)
        return r;
    if (j->metrics_path[0] != '/')
        return config_fail(l, v, ERR_PARSE, "job '%s': metrics_path must start with '/'",
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
        return config_fail(l, v, ERR_PARSE, "job '%s': scrape_timeout %s is greater than "
                           "scrape_interval %s", j->job_name, a, b);
    }
    size_t n = l->targets.len / sizeof(struct config_target);
    if (n) {
        struct config_target *t = arena_alloc(l->a, l->targets.len);
        if (!t)
            return config_oom(l, l->a);
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

int config_load_scrape_configs(struct ld *l, const yaml_node_t *v, struct config *c)
{
    const yaml_node_item_t *items;
    uint32_t n;
    int r = config_get_list(l, "scrape_configs", v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    struct config_scrape *jobs = arena_calloc(l->a, n, sizeof *jobs);
    struct job_ref *refs = arena_calloc(l->tmp, n, sizeof *refs);
    if (!jobs || !refs)
        return config_oom(l, jobs ? l->tmp : l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((r = config_visit(l, it)) < 0 || (r = load_job(l, it, &c->global, &jobs[i])) < 0)
            return r;
        refs[i] = (struct job_ref){jobs[i].job_name, it};
    }
    /* Duplicates by sorting: a linear scan per job would be quadratic on a huge file. An alias
     * repeating one job is a duplicate too; nodes then compare equal, order is irrelevant. */
    qsort(refs, n, sizeof *refs, job_ref_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (!strcmp(refs[i].name, refs[i - 1].name)) {
            char q[QUOTE_MAX + 4];
            return config_fail(l, refs[i].node, ERR_PARSE,
                               "duplicate job_name '%s' (first at line %zu)",
                               config_quote(refs[i].name, strlen(refs[i].name), q),
                               refs[i - 1].node->start_mark.line + 1);
        }
    c->scrapes = jobs;
    c->n_scrapes = n;
    return 0;
}

int config_load_static_configs(struct ld *l, const yaml_node_t *v)
{
    return job_static_configs(l, NULL, NULL, v);
}

int config_load_relabel_configs(struct ld *l, const char *key, const yaml_node_t *v,
                                scrape_relabel **ret)
{
    return load_relabel_configs(l, key, v, ret);
}
