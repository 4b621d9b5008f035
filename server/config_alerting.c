/* server/config_alerting.c — the alerting section of prometheus.yml: alertmanagers (static
 * targets, scheme http or https, path_prefix, timeout, api_version, and the HTTP client keys
 * basic_auth, authorization, bearer_token[_file], tls_config) and alert_relabel_configs. Targets,
 * relabel rules and the client keys are read by the same code as scrape_configs'
 * (config_scrape.c, config_client.c). */
#include "server/config_yaml.h"

#include <errno.h>
#include <string.h>

static int am_static_configs(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_load_static_configs(l, v);
}

static int am_scheme(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_get_scheme(l, v, &((struct config_alertmanager *) obj)->scheme);
}

static int am_api_version(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    const char *s;
    int r = config_get_str(l, "api_version", v, &s);
    if (r < 0)
        return r;
    if (strcmp(s, "v2") != 0)
        return config_fail(l, v, ERR_PARSE, "api_version: only v2 is supported (Alertmanager "
                           "removed v1)");
    return 0;
}

static const struct field am_fields[] = {
    FN("static_configs", am_static_configs),
    FN("scheme", am_scheme),
    FIELD("path_prefix", F_STRING, struct config_alertmanager, path_prefix),
    FIELD("timeout", F_DURATION, struct config_alertmanager, timeout_ms),
    FN("api_version", am_api_version),
    /* The HTTP client keys scrape_configs share (config_client.c). */
    FN("basic_auth", config_client_http_key), FN("authorization", config_client_http_key),
    FN("bearer_token", config_client_http_key), FN("bearer_token_file", config_client_http_key),
    FN("tls_config", config_client_http_key),
    LATER("oauth2"), LATER("sigv4"),
    LATER("proxy_url"), LATER("no_proxy"), LATER("proxy_from_environment"),
    LATER("proxy_connect_header"), LATER("follow_redirects"), LATER("enable_http2"),
    LATER("relabel_configs"), LATER("alert_relabel_configs"), LATER("file_sd_configs"),
    LATER("dns_sd_configs"), LATER("kubernetes_sd_configs"), LATER("consul_sd_configs"),
    LATER("http_sd_configs"), LATER("ec2_sd_configs"), LATER("azure_sd_configs"),
    LATER("gce_sd_configs"),
};

static int load_am(struct ld *l, const yaml_node_t *v, struct config_alertmanager *am)
{
    if (config_is_null(v) || v->type != YAML_MAPPING_NODE)
        return config_fail(l, v, ERR_PARSE, "alertmanagers: each entry expects a mapping, got %s",
                           config_kind_name(v));
    *am = (struct config_alertmanager){.scheme = CONFIG_SCHEME_HTTP, .path_prefix = "",
                                       .timeout_ms = 10000};
    buf_reset(&l->targets);
    l->client = NULL;
    int r = config_section(l, v, "alertmanager_config", am_fields, ARRAY_LEN(am_fields), am);
    if (r < 0 || (r = config_client_auth_tls(l, v, "alertmanager_config",
                                             am->scheme == CONFIG_SCHEME_HTTPS,
                                             &am->authorization, &am->tls)) < 0)
        return r;
    /* "/" and "/am/" become "" and "/am", so that prefix + "/api/v2/alerts" is one path. */
    size_t n = strlen(am->path_prefix);
    while (n && am->path_prefix[n - 1] == '/')
        n--;
    if (n && am->path_prefix[0] != '/')
        am->path_prefix = arena_printf(l->a, "/%.*s", (int) n, am->path_prefix);
    else
        am->path_prefix = arena_strndup(l->a, am->path_prefix, n);
    if (!am->path_prefix)
        return config_oom(l, l->a);
    size_t nt = l->targets.len / sizeof(struct config_target);
    if (nt) {
        struct config_target *t = arena_alloc(l->a, l->targets.len);
        if (!t)
            return config_oom(l, l->a);
        memcpy(t, l->targets.p, l->targets.len);
        am->targets = t;
        am->n_targets = (uint32_t) nt;
    }
    return 0;
}

static int al_alertmanagers(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct config *c = obj;
    const yaml_node_item_t *items;
    uint32_t n;
    int r = config_get_list(l, "alertmanagers", v, &items, &n);
    if (r < 0 || n == 0)
        return r;
    struct config_alertmanager *ams = arena_calloc(l->a, n, sizeof *ams);
    if (!ams)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < n; i++) {
        const yaml_node_t *it = config_node(l, items[i]);
        if ((r = config_visit(l, it)) < 0 || (r = load_am(l, it, &ams[i])) < 0)
            return r;
    }
    c->alertmanagers = ams;
    c->n_alertmanagers = n;
    return 0;
}

static int al_relabel(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_load_relabel_configs(l, "alert_relabel_configs", v,
                                       &((struct config *) obj)->alert_relabel_configs);
}

static const struct field alerting_fields[] = {
    FN("alertmanagers", al_alertmanagers),
    FN("alert_relabel_configs", al_relabel),
};

int config_load_alerting(struct ld *l, const yaml_node_t *v, struct config *c)
{
    return config_section(l, v, "alerting", alerting_fields, ARRAY_LEN(alerting_fields), c);
}
