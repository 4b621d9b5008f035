/* tests/unit/server/test_config.c — prometheus.yml loading: Prometheus defaults and inheritance,
 * and for malformed input an error with file:line:col naming the key. */
#include "server/config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static struct config *load_ok(const char *yaml)
{
    struct config *c = NULL;
    struct err e = {0};
    int r = config_load_string("t.yml", yaml, strlen(yaml), &c, &e);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "load failed: %d: %s", r, e.msg);
    return c;
}

/* Loads yaml expecting failure with code; returns the message (static storage). */
static const char *load_bad(const char *yaml, int code)
{
    static struct err e;
    struct config *c = NULL;
    err_clear(&e);
    int r = config_load_string("t.yml", yaml, strlen(yaml), &c, &e);
    if (r >= 0) {
        config_free(c);
        test_fail(__FILE__, __LINE__, "loaded, expected %s for:\n%s", err_name(code), yaml);
    }
    if (r != code)
        test_fail(__FILE__, __LINE__, "got %s (%s), expected %s", err_name(r), e.msg,
                  err_name(code));
    ASSERT_EQ(e.code, code);
    ASSERT_TRUE(c == NULL);
    return e.msg;
}

TEST(empty_config_has_prometheus_defaults)
{
    struct config *c = load_ok("");
    ASSERT_EQ(c->global.scrape_interval_ms, 60000);
    ASSERT_EQ(c->global.scrape_timeout_ms, 10000);
    ASSERT_EQ(c->global.evaluation_interval_ms, 60000);
    ASSERT_EQ(c->global.external_labels.n, 0);
    ASSERT_EQ(c->global.scrape_protocols.n, 4);
    ASSERT_EQ(c->global.scrape_protocols.v[0], CONFIG_PROTO_OPENMETRICS_1_0_0);
    ASSERT_EQ(c->n_scrapes, 0);
    ASSERT_EQ(c->n_rule_files, 0);
    ASSERT_STR_EQ(c->path, "t.yml");
    ASSERT_EQ(c->text_len, 0);
    ASSERT_STR_EQ(c->text, "");
    config_free(c);
}

TEST(null_sections_are_empty)
{
    /* Prometheus' own example config leaves rule_files with only comments under it. */
    struct config *c = load_ok("global:\nrule_files:\n  # - first.yml\nscrape_configs:\n");
    ASSERT_EQ(c->n_rule_files, 0);
    ASSERT_EQ(c->n_scrapes, 0);
    ASSERT_EQ(c->global.scrape_interval_ms, 60000);
    config_free(c);
    c = load_ok("~\n");
    ASSERT_EQ(c->n_scrapes, 0);
    config_free(c);
}

static const char realistic[] =
    "# my global config\n"
    "global:\n"
    "  scrape_interval: 15s\n"
    "  evaluation_interval: 30s\n"
    "  external_labels:\n"
    "    region: eu-west\n"
    "    cluster: 'a'\n"
    "    empty: ''\n"
    "rule_files:\n"
    "  - rules/*.yml\n"
    "  - /etc/ember/alerts.yml\n"
    "scrape_configs:\n"
    "  - job_name: prometheus\n"
    "    static_configs:\n"
    "      - targets: ['localhost:9090']\n"
    "  - job_name: node\n"
    "    scrape_interval: 5s\n"
    "    metrics_path: /probe\n"
    "    honor_labels: true\n"
    "    honor_timestamps: false\n"
    "    scheme: http\n"
    "    params:\n"
    "      module: [http_2xx]\n"
    "      collect[]: [cpu, meminfo]\n"
    "    static_configs:\n"
    "      - targets: [a:9100, 'b.example.com:9100']\n"
    "        labels: {zone: z1, env: prod}\n"
    "      - targets: ['[::1]:9100', c]\n";

TEST(realistic_config)
{
    struct config *c = load_ok(realistic);
    ASSERT_EQ(c->global.scrape_interval_ms, 15000);
    ASSERT_EQ(c->global.scrape_timeout_ms, 10000);
    ASSERT_EQ(c->global.evaluation_interval_ms, 30000);
    ASSERT_EQ(c->global.external_labels.n, 2); /* empty value = no label */
    ASSERT_STR_EQ(c->global.external_labels.v[0].name, "cluster");
    ASSERT_STR_EQ(c->global.external_labels.v[0].value, "a");
    ASSERT_STR_EQ(c->global.external_labels.v[1].name, "region");
    ASSERT_EQ(c->n_rule_files, 2);
    ASSERT_STR_EQ(c->rule_files[0], "rules/*.yml"); /* from a string: kept as written */
    ASSERT_STR_EQ(c->rule_files[1], "/etc/ember/alerts.yml");
    ASSERT_EQ(c->n_scrapes, 2);

    const struct config_scrape *p = &c->scrapes[0];
    ASSERT_STR_EQ(p->job_name, "prometheus");
    ASSERT_STR_EQ(p->metrics_path, "/metrics");
    ASSERT_EQ(p->scheme, CONFIG_SCHEME_HTTP);
    ASSERT_EQ(p->scrape_interval_ms, 15000);
    ASSERT_EQ(p->scrape_timeout_ms, 10000);
    ASSERT_FALSE(p->honor_labels);
    ASSERT_TRUE(p->honor_timestamps);
    ASSERT_EQ(p->n_params, 0);
    ASSERT_EQ(p->n_targets, 1);
    ASSERT_STR_EQ(p->targets[0].address, "localhost:9090");
    ASSERT_EQ(p->targets[0].labels.n, 0);
    ASSERT_EQ(p->line, 13);
    ASSERT_EQ(p->scrape_protocols.n, 4);

    const struct config_scrape *n = config_scrape_find(c, "node");
    ASSERT_TRUE(n == &c->scrapes[1]);
    ASSERT_TRUE(config_scrape_find(c, "nope") == NULL);
    ASSERT_EQ(n->scrape_interval_ms, 5000);
    ASSERT_EQ(n->scrape_timeout_ms, 5000); /* global 10s clamped to the job's interval */
    ASSERT_STR_EQ(n->metrics_path, "/probe");
    ASSERT_TRUE(n->honor_labels);
    ASSERT_FALSE(n->honor_timestamps);
    ASSERT_EQ(n->n_params, 2);
    ASSERT_STR_EQ(n->params[0].name, "collect[]"); /* sorted by name */
    ASSERT_EQ(n->params[0].n_values, 2);
    ASSERT_STR_EQ(n->params[0].values[1], "meminfo");
    ASSERT_STR_EQ(n->params[1].name, "module");
    ASSERT_STR_EQ(n->params[1].values[0], "http_2xx");
    ASSERT_EQ(n->n_targets, 4);
    ASSERT_STR_EQ(n->targets[0].address, "a:9100");
    ASSERT_STR_EQ(n->targets[1].address, "b.example.com:9100");
    ASSERT_EQ(n->targets[1].labels.n, 2);
    ASSERT_STR_EQ(n->targets[1].labels.v[0].name, "env"); /* sorted */
    ASSERT_STR_EQ(n->targets[1].labels.v[1].value, "z1");
    ASSERT_STR_EQ(n->targets[2].address, "[::1]:9100");
    ASSERT_EQ(n->targets[2].labels.n, 0);
    ASSERT_STR_EQ(n->targets[3].address, "c");
    ASSERT_EQ(c->text_len, strlen(realistic));
    ASSERT_STR_EQ(c->text, realistic);
    config_free(c);
}

TEST(timeouts_inherit_and_zero_means_inherit)
{
    struct config *c = load_ok("global: {scrape_interval: 2m, scrape_timeout: 30s}\n"
                               "scrape_configs:\n"
                               "- {job_name: a}\n"
                               "- {job_name: b, scrape_interval: 20s}\n"
                               "- {job_name: c, scrape_interval: 0, scrape_timeout: 0s}\n"
                               "- {job_name: d, scrape_interval: 1h, scrape_timeout: 1h}\n");
    ASSERT_EQ(c->scrapes[0].scrape_interval_ms, 120000);
    ASSERT_EQ(c->scrapes[0].scrape_timeout_ms, 30000);
    ASSERT_EQ(c->scrapes[1].scrape_interval_ms, 20000);
    ASSERT_EQ(c->scrapes[1].scrape_timeout_ms, 20000);
    ASSERT_EQ(c->scrapes[2].scrape_interval_ms, 120000);
    ASSERT_EQ(c->scrapes[2].scrape_timeout_ms, 30000);
    ASSERT_EQ(c->scrapes[3].scrape_timeout_ms, 3600000);
    config_free(c);
    /* A short global interval lowers the default timeout too. */
    c = load_ok("global: {scrape_interval: 5s}\n");
    ASSERT_EQ(c->global.scrape_timeout_ms, 5000);
    config_free(c);
}

TEST(timeout_greater_than_interval_is_an_error)
{
    const char *m = load_bad("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:2:3: global: scrape_timeout 6s is greater than "
                           "scrape_interval 5s");
    m = load_bad("scrape_configs:\n  - job_name: x\n    scrape_interval: 10s\n"
                 "    scrape_timeout: 11s\n",
                 ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:2:5: job 'x': scrape_timeout 11s is greater than "
                           "scrape_interval 10s");
}

TEST(unknown_keys_name_file_line_and_key)
{
    ASSERT_STR_EQ(load_bad("scrape_configs:\n  - job_name: x\n    scrape_intervall: 5s\n",
                           ERR_PARSE),
                  "t.yml:3:5: unknown key 'scrape_intervall' in scrape_config");
    ASSERT_STR_EQ(load_bad("global:\n  scrape_interva: 5s\n", ERR_PARSE),
                  "t.yml:2:3: unknown key 'scrape_interva' in global");
    ASSERT_STR_EQ(load_bad("scrape_config:\n  - job_name: x\n", ERR_PARSE),
                  "t.yml:1:1: unknown key 'scrape_config' in the configuration");
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: x\n  static_configs:\n"
                           "  - targets: [a]\n    label: {a: b}\n",
                           ERR_PARSE),
                  "t.yml:5:5: unknown key 'label' in static_config");
    /* Keys are case-sensitive, as in Prometheus. */
    ASSERT_STR_CONTAINS(load_bad("Global: {}\n", ERR_PARSE), "unknown key 'Global'");
}

TEST(documented_but_unimplemented_keys_are_refused_distinctly)
{
    ASSERT_STR_EQ(load_bad("scrape_configs:\n  - job_name: x\n    oauth2: {}\n", ERR_PARSE),
                  "t.yml:3:5: key 'oauth2' is not supported yet (in scrape_config)");
    static const char *const job_keys[] = {
        "keep_dropped_targets", "proxy_url", "http_headers", "http_sd_configs",
        "enable_http2", "kubernetes_sd_configs",
    };
    for (size_t i = 0; i < sizeof job_keys / sizeof job_keys[0]; i++) {
        char y[200];
        (void) snprintf(y, sizeof y, "scrape_configs:\n- job_name: x\n  %s: 1\n", job_keys[i]);
        ASSERT_STR_CONTAINS(load_bad(y, ERR_PARSE), "is not supported yet");
    }
    static const char *const top_keys[] = {"remote_write", "remote_read", "storage",
                                           "tracing"};
    for (size_t i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++) {
        char y[200], want[200];
        (void) snprintf(y, sizeof y, "global: {}\n%s: {}\n", top_keys[i]);
        (void) snprintf(want, sizeof want, "t.yml:2:1: key '%s' is not supported yet", top_keys[i]);
        ASSERT_STR_CONTAINS(load_bad(y, ERR_PARSE), want);
    }
    ASSERT_STR_CONTAINS(load_bad("global: {query_log_file: q.log}\n", ERR_PARSE),
                        "t.yml:1:10: key 'query_log_file' is not supported yet (in global)");
}

TEST(malformed_yaml_reports_libyaml_problem_with_position)
{
    const char *m = load_bad("global:\n  scrape_interval: 15s\n\tevaluation_interval: 1m\n",
                             ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:3:");
    ASSERT_STR_CONTAINS(m, "tab character");
    m = load_bad("scrape_configs: [ {job_name: x}\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:2:1: ");
    m = load_bad("global:\n  a: b\n c: d\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:3:");
    m = load_bad("global: {scrape_interval: \"15s}\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:");
    m = load_bad("scrape_configs:\n- job_name: *nope\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "undefined alias");
    m = load_bad("global: \xff\xfe\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml: byte 8: invalid leading UTF-8 octet");
}

TEST(wrong_types)
{
    ASSERT_STR_EQ(load_bad("scrape_configs: yes\n", ERR_PARSE),
                  "t.yml:1:17: key 'scrape_configs' expects a list, got a scalar");
    ASSERT_STR_EQ(load_bad("global: [1]\n", ERR_PARSE),
                  "t.yml:1:9: global expects a mapping, got a list");
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: [a]\n", ERR_PARSE),
                  "t.yml:2:13: key 'job_name' expects a string, got a list");
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: a\n  honor_labels: maybe\n", ERR_PARSE),
                  "t.yml:3:17: key 'honor_labels' expects true or false, got 'maybe'");
    /* go-yaml v2 reads a quoted "true" as a string, not a bool. */
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- {job_name: a, honor_labels: 'true'}\n",
                                 ERR_PARSE),
                        "expects true or false");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- {job_name: a, honor_labels: }\n",
                                 ERR_PARSE),
                        "expects true or false, got nothing");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  params: [a]\n", ERR_PARSE),
                        "key 'params' expects a mapping");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  params: {m: x}\n", ERR_PARSE),
                        "t.yml:3:15: key 'm' expects a list, got a scalar");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  static_configs: [a:1]\n",
                                 ERR_PARSE),
                        "static_configs: each entry expects a mapping");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  static_configs:\n"
                                 "  - targets: a:1\n",
                                 ERR_PARSE),
                        "t.yml:4:14: key 'targets' expects a list, got a scalar");
    ASSERT_STR_CONTAINS(load_bad("global:\n  external_labels: [a]\n", ERR_PARSE),
                        "key 'external_labels' expects a mapping of label names");
    ASSERT_STR_CONTAINS(load_bad("rule_files: a.yml\n", ERR_PARSE),
                        "t.yml:1:13: key 'rule_files' expects a list");
    ASSERT_STR_CONTAINS(load_bad("rule_files: [[a]]\n", ERR_PARSE),
                        "key 'rule_files' expects a string, got a list");
    ASSERT_STR_CONTAINS(load_bad("- a\n- b\n", ERR_PARSE),
                        "t.yml:1:1: the configuration must be a mapping, got a list");
    ASSERT_STR_CONTAINS(load_bad("hello\n", ERR_PARSE), "must be a mapping, got a scalar");
    ASSERT_STR_CONTAINS(load_bad("? [a]\n: b\n", ERR_PARSE), "a key must be a string");
}

TEST(bad_durations)
{
    static const char *const bad[] = {"15 s", "1.5s", "-1s", "5x", "s", "1m1h", "''", "15S",
                                      "99999999999999999999y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char y[200];
        (void) snprintf(y, sizeof y, "global:\n  scrape_interval: %s\n", bad[i]);
        const char *m = load_bad(y, ERR_PARSE);
        ASSERT_STR_CONTAINS(m, "t.yml:2:20: key 'scrape_interval': bad duration");
    }
    ASSERT_STR_CONTAINS(load_bad("global: {evaluation_interval: [1s]}\n", ERR_PARSE),
                        "key 'evaluation_interval' expects a duration, got a list");
    struct config *c = load_ok("global: {scrape_interval: 1h30m, evaluation_interval: '500ms',"
                               " scrape_timeout: 1m}\n");
    ASSERT_EQ(c->global.scrape_interval_ms, 5400000);
    ASSERT_EQ(c->global.evaluation_interval_ms, 500);
    config_free(c);
}

TEST(booleans_as_go_yaml_v2)
{
    struct config *c = load_ok("scrape_configs:\n"
                               "- {job_name: a, honor_labels: yes, honor_timestamps: off}\n"
                               "- {job_name: b, honor_labels: True, honor_timestamps: FALSE}\n");
    ASSERT_TRUE(c->scrapes[0].honor_labels);
    ASSERT_FALSE(c->scrapes[0].honor_timestamps);
    ASSERT_TRUE(c->scrapes[1].honor_labels);
    ASSERT_FALSE(c->scrapes[1].honor_timestamps);
    config_free(c);
}

TEST(duplicate_keys_and_jobs)
{
    ASSERT_STR_EQ(load_bad("global:\n  scrape_interval: 1s\n  scrape_interval: 2s\n", ERR_PARSE),
                  "t.yml:3:3: duplicate key 'scrape_interval' (first at line 2)");
    ASSERT_STR_EQ(load_bad("global: {}\nglobal: {}\n", ERR_PARSE),
                  "t.yml:2:1: duplicate key 'global' (first at line 1)");
    ASSERT_STR_CONTAINS(load_bad("global:\n  external_labels: {a: 1, b: 2, a: 3}\n", ERR_PARSE),
                        "t.yml:2:33: duplicate key 'a'");
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: a\n- job_name: b\n- job_name: a\n",
                           ERR_PARSE),
                  "t.yml:4:3: duplicate job_name 'a' (first at line 2)");
}

TEST(job_name_required)
{
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- metrics_path: /m\n", ERR_PARSE),
                  "t.yml:2:3: scrape_config: job_name is missing or empty");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: ''\n", ERR_PARSE),
                        "job_name is missing or empty");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name:\n", ERR_PARSE),
                        "t.yml:2:12: key 'job_name' expects a string, got nothing");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n-\n- job_name: a\n", ERR_PARSE),
                        "t.yml:2:2: scrape_configs: each entry expects a mapping, got nothing");
    struct config *c = load_ok("scrape_configs:\n- job_name: 123\n");
    ASSERT_STR_EQ(c->scrapes[0].job_name, "123");
    config_free(c);
}

TEST(label_names_validated_empty_values_dropped)
{
    ASSERT_STR_EQ(load_bad("global:\n  external_labels:\n    1abc: x\n", ERR_PARSE),
                  "t.yml:3:5: external_labels: invalid label name '1abc'");
    ASSERT_STR_CONTAINS(load_bad("global:\n  external_labels: {a-b: x}\n", ERR_PARSE),
                        "invalid label name 'a-b'");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  static_configs:\n"
                                 "  - {targets: [x], labels: {'': v}}\n",
                                 ERR_PARSE),
                        "labels: invalid label name ''");
    ASSERT_STR_CONTAINS(load_bad("global:\n  external_labels: {a: [x]}\n", ERR_PARSE),
                        "key 'external_labels' expects a string, got a list");
    struct config *c = load_ok("scrape_configs:\n- job_name: a\n  static_configs:\n"
                               "  - targets: [x]\n"
                               "    labels: {__metrics_path__: /m, a: '', b: ~, c: 1}\n");
    const struct labels *ls = &c->scrapes[0].targets[0].labels;
    ASSERT_EQ(ls->n, 2);
    ASSERT_STR_EQ(ls->v[0].name, "__metrics_path__");
    ASSERT_STR_EQ(ls->v[1].name, "c");
    ASSERT_STR_EQ(ls->v[1].value, "1");
    config_free(c);
}

TEST(targets_validated)
{
    static const struct {
        const char *target, *why;
    } bad[] = {
        {"'http://a:9100/metrics'", "without scheme or path"},
        {"'a:0'", "port out of range"},
        {"'a:65536'", "port out of range"},
        {"'a:123456'", "bad port"},
        {"'a:'", "bad port"},
        {"'a:9x'", "bad port"},
        {"'::1:9100'", "needs brackets"},
        {"'[::1'", "unterminated"},
        {"'[::1]9100'", "expected ':port'"},
        {"':9100'", "missing host"},
        {"'a b:1'", "bad character in host name"},
        {"''", "empty target"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char y[300];
        (void) snprintf(y, sizeof y,
                        "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [%s]\n",
                        bad[i].target);
        const char *m = load_bad(y, ERR_PARSE);
        ASSERT_STR_CONTAINS(m, "t.yml:4:15: targets: bad target");
        ASSERT_STR_CONTAINS(m, bad[i].why);
    }
    struct config *c = load_ok("scrape_configs:\n- job_name: a\n  static_configs:\n"
                               "  - targets: [a_b.c-d:65535, '[fe80::1%eth0]:1', h, 10.0.0.1]\n"
                               "  - targets: []\n  - labels: {a: b}\n  - {}\n");
    ASSERT_EQ(c->scrapes[0].n_targets, 4);
    config_free(c);
}

TEST(scrape_protocols)
{
    struct config *c = load_ok("global:\n  scrape_protocols: [PrometheusText0.0.4]\n"
                               "scrape_configs:\n- job_name: a\n"
                               "- job_name: b\n  scrape_protocols: [PrometheusProto, "
                               "OpenMetricsText1.0.0]\n");
    ASSERT_EQ(c->global.scrape_protocols.n, 1);
    ASSERT_EQ(c->scrapes[0].scrape_protocols.n, 1);
    ASSERT_EQ(c->scrapes[0].scrape_protocols.v[0], CONFIG_PROTO_TEXT_0_0_4);
    ASSERT_EQ(c->scrapes[1].scrape_protocols.n, 2);
    ASSERT_EQ(c->scrapes[1].scrape_protocols.v[0], CONFIG_PROTO_PROTOBUF);
    config_free(c);
    ASSERT_STR_CONTAINS(load_bad("global: {scrape_protocols: [Text]}\n", ERR_PARSE),
                        "t.yml:1:29: key 'scrape_protocols': unknown protocol 'Text'");
    ASSERT_STR_CONTAINS(load_bad("global: {scrape_protocols: []}\n", ERR_PARSE),
                        "must list at least one protocol");
    ASSERT_STR_CONTAINS(load_bad("global: {scrape_protocols: [PrometheusText0.0.4, "
                                 "PrometheusText0.0.4]}\n",
                                 ERR_PARSE),
                        "listed twice");
    ASSERT_STR_CONTAINS(load_bad("global: {scrape_protocols: [PrometheusProto]}\n", ERR_PARSE),
                        "ember parses only the text formats");
}

TEST(params_and_metrics_path)
{
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- {job_name: a, metrics_path: metrics}\n",
                                 ERR_PARSE),
                        "job 'a': metrics_path must start with '/'");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- {job_name: a, scheme: ftp}\n", ERR_PARSE),
                        "key 'scheme': 'ftp' is neither http nor https");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- {job_name: a, params: {'': [x]}}\n",
                                 ERR_PARSE),
                        "params: empty parameter name");
    struct config *c = load_ok("scrape_configs:\n- {job_name: a, params: {x: [], y: [~, '']}}\n");
    ASSERT_EQ(c->scrapes[0].params[0].n_values, 0);
    ASSERT_EQ(c->scrapes[0].params[1].n_values, 2);
    ASSERT_STR_EQ(c->scrapes[0].params[1].values[0], "");
    config_free(c);
}

TEST(merge_keys)
{
    struct config *c = load_ok("scrape_configs:\n"
                               "- &base\n"
                               "  job_name: base\n"
                               "  scrape_interval: 5s\n"
                               "  honor_labels: true\n"
                               "  static_configs: &sc\n"
                               "  - targets: [a:1]\n"
                               "- <<: *base\n"
                               "  job_name: derived\n"
                               "  scrape_interval: 7s\n"
                               "- job_name: third\n"
                               "  static_configs: *sc\n");
    ASSERT_EQ(c->n_scrapes, 3);
    const struct config_scrape *d = &c->scrapes[1];
    ASSERT_STR_EQ(d->job_name, "derived");
    ASSERT_EQ(d->scrape_interval_ms, 7000);
    ASSERT_TRUE(d->honor_labels);
    ASSERT_EQ(d->n_targets, 1);
    ASSERT_EQ(c->scrapes[2].n_targets, 1);
    ASSERT_STR_EQ(c->scrapes[2].targets[0].address, "a:1");
    config_free(c);
    /* A list of merges: the earlier one wins. */
    c = load_ok("global:\n  <<: [{scrape_interval: 1m}, {scrape_interval: 2m, "
                "evaluation_interval: 3m}]\n");
    ASSERT_EQ(c->global.scrape_interval_ms, 60000);
    ASSERT_EQ(c->global.evaluation_interval_ms, 180000);
    config_free(c);
    ASSERT_STR_CONTAINS(load_bad("global:\n  <<: 5\n", ERR_PARSE),
                        "t.yml:2:7: merge key '<<' expects a mapping, got a scalar");
    ASSERT_STR_CONTAINS(load_bad("global:\n  <<: [5]\n", ERR_PARSE),
                        "merge key '<<' expects mappings");
    /* Aliasing a job repeats its job_name. */
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- &j {job_name: a}\n- *j\n", ERR_PARSE),
                        "duplicate job_name 'a'");
}

TEST(alias_bombs_and_cycles_hit_limits)
{
    char g[4096];
    size_t n;
    /* A real explosion: nested sequences of aliases in scrape_configs. */
    char b[8192];
    n = (size_t) snprintf(b, sizeof b, "scrape_configs:\n- job_name: a\n  static_configs:\n"
                                       "  - targets: &t0 [a:1, a:2, a:3, a:4, a:5, a:6, a:7]\n");
    n += (size_t) snprintf(b + n, sizeof b - n, "    labels: {}\n");
    for (int i = 0; i < 300; i++)
        n += (size_t) snprintf(b + n, sizeof b - n, "  - targets: *t0\n");
    struct config *c = load_ok(b);
    ASSERT_EQ(c->scrapes[0].n_targets, 7 * 301);
    config_free(c);

    /* Merge cycle: a mapping merging itself. */
    ASSERT_STR_CONTAINS(load_bad("global: &g\n  <<: *g\n", ERR_LIMIT),
                        "merge keys (<<) nested deeper than 64");
    /* Exponential merges through a mapping chain. */
    n = (size_t) snprintf(g, sizeof g, "global:\n  <<:\n  - &m0 {scrape_interval: 1s}\n");
    for (int i = 1; i < 30; i++)
        n += (size_t) snprintf(g + n, sizeof g - n, "  - &m%d {<<: [*m%d, *m%d]}\n", i, i - 1,
                               i - 1);
    ASSERT_STR_CONTAINS(load_bad(g, ERR_LIMIT), "YAML nodes after expanding aliases");
}

TEST(size_depth_and_document_limits)
{
    size_t big = CONFIG_MAX_BYTES + 1;
    char *s = malloc(big + 1);
    ASSERT_TRUE(s != NULL);
    memset(s, '#', big);
    s[big] = '\0';
    struct config *c = NULL;
    struct err e = {0};
    ASSERT_EQ(config_load_string("big.yml", s, big, &c, &e), ERR_LIMIT);
    ASSERT_STR_CONTAINS(e.msg, "big.yml: configuration is 16777217 bytes, the limit is 16 MiB");
    free(s);

    char d[400] = "global: ";
    for (int i = 0; i < 70; i++)
        strcat(d, "[");
    ASSERT_STR_CONTAINS(load_bad(d, ERR_LIMIT), "t.yml:1:72: YAML nested deeper than 64 levels");
    ASSERT_STR_CONTAINS(load_bad("global: {}\n---\nglobal: {}\n", ERR_PARSE),
                        "t.yml:2:1: only one YAML document is allowed");
    /* A document end marker alone is fine. */
    c = load_ok("global: {}\n...\n");
    config_free(c);
}

TEST(nul_and_control_characters)
{
    /* A NUL from an escape would cut C strings short. */
    const char *m = load_bad("scrape_configs:\n- job_name: \"a\\0b\"\n", ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "t.yml:2:13: key 'job_name': value contains a NUL character");
    /* Quoted user text is cut and control characters masked. */
    m = load_bad("global:\n  \"a\\x01bcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\": 1\n",
                 ERR_PARSE);
    ASSERT_STR_CONTAINS(m, "unknown key 'a?bcdefghijklmnopqrstuvwxyzabcdefghijklm...' in global");
    /* Raw control characters are a YAML error. */
    ASSERT_STR_CONTAINS(load_bad("global: {}\n\x01\n", ERR_PARSE), "control characters");
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        abort();
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    (void) fputs(text, f);
    (void) fclose(f);
    return path;
}

TEST(load_file_resolves_rule_files_and_keeps_text)
{
    char *dir = test_tmpdir();
    const char *text = "rule_files: [rules/*.yml, /abs.yml]\nscrape_configs: [{job_name: a}]\n";
    char *path = write_tmp(dir, "prometheus.yml", text);
    struct config *c = NULL;
    struct err e = {0};
    ASSERT_OK_E(config_load_file(path, &c, &e), &e);
    ASSERT_STR_EQ(c->path, path);
    ASSERT_STR_EQ(c->text, text);
    char *want;
    ASSERT_TRUE(asprintf(&want, "%s/rules/*.yml", dir) > 0);
    ASSERT_STR_EQ(c->rule_files[0], want);
    ASSERT_STR_EQ(c->rule_files[1], "/abs.yml");
    free(want);
    config_free(c);

    /* Errors name the path. */
    char *bad = write_tmp(dir, "bad.yml", "global:\n  nope: 1\n");
    ASSERT_EQ(config_load_file(bad, &c, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, bad);
    ASSERT_STR_CONTAINS(e.msg, "bad.yml:2:3: unknown key 'nope' in global");
    free(bad);

    char *missing;
    ASSERT_TRUE(asprintf(&missing, "%s/missing.yml", dir) > 0);
    ASSERT_EQ(config_load_file(missing, &c, &e), -ENOENT);
    ASSERT_STR_CONTAINS(e.msg, "missing.yml: No such file or directory");
    free(missing);
    ASSERT_EQ(config_load_file(dir, &c, &e), -EISDIR);
    free(path);
    test_tmpdir_remove(dir);
}

TEST(load_file_without_directory_keeps_rule_files)
{
    char *dir = test_tmpdir();
    char *path = write_tmp(dir, "p.yml", "rule_files: [r.yml]\n");
    char cwd[4096];
    ASSERT_TRUE(getcwd(cwd, sizeof cwd) != NULL);
    ASSERT_EQ(chdir(dir), 0);
    struct config *c = NULL;
    struct err e = {0};
    ASSERT_OK_E(config_load_file("p.yml", &c, &e), &e);
    ASSERT_STR_EQ(c->rule_files[0], "r.yml");
    config_free(c);
    ASSERT_EQ(chdir(cwd), 0);
    free(path);
    test_tmpdir_remove(dir);
}

TEST(default_config)
{
    static const struct {
        const char *listen, *target;
    } cases[] = {
        {"127.0.0.1:9090", "localhost:9090"}, {":9090", "localhost:9090"},
        {"0.0.0.0:19090", "localhost:19090"}, {"[::]:9090", "localhost:9090"},
        {"[::1]:1", "localhost:1"},           {"10.1.2.3:9090", "10.1.2.3:9090"},
        {"host.lan:80", "host.lan:80"},       {"[fe80::1]:9090", "[fe80::1]:9090"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config *c = NULL;
        struct err e = {0};
        ASSERT_OK_E(config_default(cases[i].listen, &c, &e), &e);
        ASSERT_EQ(c->global.scrape_interval_ms, 15000);
        ASSERT_EQ(c->global.evaluation_interval_ms, 15000);
        ASSERT_EQ(c->global.scrape_timeout_ms, 10000);
        ASSERT_EQ(c->n_scrapes, 1);
        ASSERT_STR_EQ(c->scrapes[0].job_name, "ember");
        ASSERT_STR_EQ(c->scrapes[0].metrics_path, "/metrics");
        ASSERT_EQ(c->scrapes[0].scrape_interval_ms, 15000);
        ASSERT_EQ(c->scrapes[0].n_targets, 1);
        ASSERT_STR_EQ(c->scrapes[0].targets[0].address, cases[i].target);
        ASSERT_STR_EQ(c->path, "<default>");
        ASSERT_STR_CONTAINS(c->text, "job_name: ember");
        config_free(c);
    }
    static const char *const bad[] = {"9090", "", "a:", "a:b", "a:123456", "a b:1", "x'y:1",
                                      "a:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config *c = NULL;
        struct err e = {0};
        ASSERT_TRUE(config_default(bad[i], &c, &e) < 0);
        ASSERT_TRUE(c == NULL);
        ASSERT_STR_CONTAINS(e.msg, "default config");
    }
}

TEST(free_accepts_null_and_err_may_be_null)
{
    config_free(NULL);
    struct config *c = NULL;
    ASSERT_EQ(config_load_string("x", "global: 1\n", 10, &c, NULL), ERR_PARSE);
    ASSERT_TRUE(c == NULL);
}

TEST(every_error_starts_with_name_line_col)
{
    static const char *const inputs[] = {
        "global: {scrape_interval: x}\n",
        "scrape_configs: [{job_name: a, static_configs: [{targets: ['a/b']}]}]\n",
        "scrape_configs: [{job_name: a}, {job_name: a}]\n",
        "global: {external_labels: {'a.b': c}}\n",
        "remote_write: []\n",
        "{",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const char *m = load_bad(inputs[i], ERR_PARSE);
        ASSERT_TRUE(strncmp(m, "t.yml:1:", 8) == 0 || strncmp(m, "t.yml:2:", 8) == 0);
    }
}

TEST(node_count_limit_and_big_legal_config)
{
    /* Over CONFIG_MAX_NODES scalars: refused by the first pass, before a tree is built. */
    size_t n = CONFIG_MAX_NODES + 10, len = 0;
    char *s = malloc(16 + n * 2 + 4);
    ASSERT_TRUE(s != NULL);
    len += (size_t) sprintf(s, "rule_files: [");
    for (size_t i = 0; i < n; i++)
        s[len++] = 'a', s[len++] = ',';
    s[len++] = ']';
    s[len] = '\0';
    ASSERT_STR_CONTAINS(load_bad(s, ERR_LIMIT), "YAML nodes");
    free(s);

    /* A large real-looking config loads quickly: 3000 jobs of 10 targets each. */
    struct buf b = BUF_INIT;
    ASSERT_OK(buf_puts(&b, "scrape_configs:\n"));
    for (int j = 0; j < 3000; j++) {
        ASSERT_OK(buf_printf(&b, "- job_name: job%d\n  static_configs:\n  - labels: {j: '%d'}\n"
                                 "    targets:\n", j, j));
        for (int t = 0; t < 10; t++)
            ASSERT_OK(buf_printf(&b, "    - host%d-%d:9100\n", j, t));
    }
    struct config *c = NULL;
    struct err e = {0};
    int64_t t0 = time_mono_ns();
    ASSERT_OK_E(config_load_string("big.yml", (const char *) b.p, b.len, &c, &e), &e);
    ASSERT_TRUE(time_mono_ns() - t0 < INT64_C(2000000000));
    ASSERT_EQ(c->n_scrapes, 3000);
    ASSERT_STR_EQ(c->scrapes[2999].targets[9].address, "host2999-9:9100");
    ASSERT_TRUE(config_scrape_find(c, "job1234") == &c->scrapes[1234]);
    config_free(c);
    buf_free(&b);
}

TEST(empty_input_without_text_pointer)
{
    struct config *c = NULL;
    struct err e = {0};
    ASSERT_OK_E(config_load_string("x", NULL, 0, &c, &e), &e);
    ASSERT_STR_EQ(c->text, "");
    config_free(c);
}

/* ---- relabel_configs, metric_relabel_configs ---- */

TEST(relabel_configs_are_compiled_per_job)
{
    struct config *c = load_ok(
        "scrape_configs:\n"
        "- job_name: a\n"
        "  static_configs: [{targets: ['h:1']}]\n"
        "  relabel_configs:\n"
        "  - source_labels: [__address__]\n"
        "    regex: '(.*):1'\n"
        "    target_label: host\n"
        "  - action: LabelDrop\n"
        "    regex: tmp_.*\n"
        "  - {action: hashmod, source_labels: [host], modulus: 4, target_label: shard}\n"
        "  - {action: keepequal, source_labels: [a], target_label: b, separator: ';',"
        " replacement: $1}\n"
        "  metric_relabel_configs:\n"
        "  - source_labels: [__name__]\n"
        "    regex: go_.*\n"
        "    action: drop\n"
        "  - regex:\n" /* null is "" here, as in Prometheus' own example config */
        "    replacement: static\n"
        "    target_label: abc\n"
        "- job_name: b\n"
        "  relabel_configs: []\n"
        "  metric_relabel_configs:\n"
        "- job_name: c\n");
    ASSERT_EQ(c->n_scrapes, 3);
    ASSERT_EQ(scrape_relabel_count(c->scrapes[0].relabel_configs), 4);
    ASSERT_EQ(scrape_relabel_count(c->scrapes[0].metric_relabel_configs), 2);
    for (uint32_t i = 1; i < 3; i++) {
        ASSERT_TRUE(c->scrapes[i].relabel_configs == NULL);
        ASSERT_TRUE(c->scrapes[i].metric_relabel_configs == NULL);
    }
    /* A user of the rules may outlive the config. */
    scrape_relabel *keep = scrape_relabel_ref(c->scrapes[0].metric_relabel_configs);
    config_free(c);
    ASSERT_EQ(scrape_relabel_count(keep), 2);
    scrape_relabel_unref(keep);
}

TEST(relabel_config_errors_point_at_the_key)
{
    static const char head[] = "scrape_configs:\n- job_name: x\n  relabel_configs:\n";
    static const struct {
        const char *rules, *want;
    } cases[] = {
        {"  - action: foo\n", "t.yml:4:13: unknown relabel action 'foo'"},
        {"  - action: ''\n", "t.yml:4:13: relabel action cannot be empty"},
        {"  - source_labels: [a]\n",
         "t.yml:4:5: relabel_configs: relabel configuration for replace action requires "
         "'target_label' value"},
        {"  - target_label: t\n    regex: '(a'\n",
         "t.yml:5:12: relabel_configs: error parsing regexp: "},
        {"  - {action: hashmod, target_label: h}\n",
         "t.yml:4:5: relabel_configs: relabel configuration for hashmod requires non-zero "
         "modulus"},
        {"  - {action: hashmod, target_label: h, modulus: -1}\n",
         "t.yml:4:49: key 'modulus' expects an unsigned integer, got '-1'"},
        {"  - {action: hashmod, target_label: h, modulus: 18446744073709551616}\n",
         "key 'modulus' expects an unsigned integer"},
        {"  - {action: hashmod, target_label: h, modulus: [1]}\n",
         "key 'modulus' expects an unsigned integer, got a list"},
        {"  - source_labels: [ok, not-ok]\n    target_label: t\n",
         "t.yml:4:20: relabel_configs: \"not-ok\" is not a valid label name"},
        {"  - target_label: 1abc\n",
         "t.yml:4:19: relabel_configs: \"1abc\" is invalid 'target_label' for replace action"},
        {"  - {action: lowercase, target_label: l, replacement: x}\n",
         "t.yml:4:55: relabel_configs: 'replacement' can not be set for lowercase action"},
        {"  - {action: labelmap, replacement: a-b}\n",
         "relabel_configs: \"a-b\" is invalid 'replacement' for labelmap action"},
        {"  - {action: labeldrop, regex: x, source_labels: []}\n",
         "t.yml:4:5: relabel_configs: labeldrop action requires only 'regex', and no other "
         "fields"},
        {"  - {action: keepequal, target_label: t, regex: '(.*)'}\n",
         "t.yml:4:5: relabel_configs: keepequal action requires only 'source_labels' and "
         "`target_label`, and no other fields"},
        {"  - {target_label: t, regexp: x}\n",
         "t.yml:4:23: unknown key 'regexp' in relabel_config"},
        {"  -\n", "t.yml:4:4: relabel_configs: each entry expects a relabel_config mapping, "
                  "got nothing"},
        {"  - [a]\n", "relabel_configs: each entry expects a relabel_config mapping, got a list"},
        {"  - {target_label: t, source_labels: a}\n", "key 'source_labels' expects a list"},
        {"  - {target_label: t, source_labels: [~]}\n", "key 'source_labels' expects a string"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char y[400];
        (void) snprintf(y, sizeof y, "%s%s", head, cases[i].rules);
        ASSERT_STR_CONTAINS(load_bad(y, ERR_PARSE), cases[i].want);
    }
    /* The same checks for metric_relabel_configs, named as such. */
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: x\n  metric_relabel_configs:\n"
                           "  - {action: uppercase}\n",
                           ERR_PARSE),
                  "t.yml:4:5: metric_relabel_configs: relabel configuration for uppercase action "
                  "requires 'target_label' value");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: x\n  relabel_configs: {a: b}\n",
                                 ERR_PARSE),
                        "t.yml:3:20: key 'relabel_configs' expects a list, got a mapping");
}

TEST(static_targets_use_the_scrape_address_rule)
{
    char y[600], host[300];
    memset(host, 'h', 256);
    host[256] = '\0';
    (void) snprintf(y, sizeof y,
                    "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['%s:1']\n",
                    host);
    ASSERT_STR_CONTAINS(load_bad(y, ERR_PARSE), "host longer than 255 bytes");
}

TEST(alerting_section)
{
    struct config *c = load_ok("global:\n  rule_query_offset: 30s\n"
                               "alerting:\n"
                               "  alert_relabel_configs:\n"
                               "    - {action: labeldrop, regex: replica}\n"
                               "  alertmanagers:\n"
                               "    - static_configs: [{targets: ['127.0.0.1:9093', 'am:9093']}]\n"
                               "      path_prefix: /am/\n"
                               "      timeout: 3s\n"
                               "      api_version: v2\n"
                               "      basic_auth: {username: u, password: p}\n");
    ASSERT_EQ(c->global.rule_query_offset_ms, 30000);
    ASSERT_EQ(c->n_alertmanagers, 1u);
    ASSERT_EQ(c->alertmanagers[0].n_targets, 2u);
    ASSERT_STR_EQ(c->alertmanagers[0].targets[1].address, "am:9093");
    ASSERT_STR_EQ(c->alertmanagers[0].path_prefix, "/am");
    ASSERT_EQ(c->alertmanagers[0].timeout_ms, 3000);
    ASSERT_STR_EQ(c->alertmanagers[0].authorization, "Basic dTpw"); /* u:p */
    ASSERT_TRUE(c->alertmanagers[0].tls == NULL);
    ASSERT_TRUE(c->alert_relabel_configs != NULL);
    config_free(c);
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n    - api_version: v1\n", ERR_PARSE),
                        "only v2");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n    - scheme: ftp\n", ERR_PARSE),
                        "neither http nor https");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  bogus: 1\n", ERR_PARSE), "unknown key 'bogus'");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n    - oauth2: {}\n",
                                 ERR_PARSE), "not supported yet");
}

/* alertmanagers share scrape_configs' HTTP client keys and checks (config_client.c). */
TEST(alerting_https_and_auth)
{
    struct config *c = load_ok("alerting:\n  alertmanagers:\n"
                               "    - scheme: https\n"
                               "      tls_config: {insecure_skip_verify: true, server_name: am}\n"
                               "      authorization: {credentials: s3cret}\n"
                               "      static_configs: [{targets: ['127.0.0.1:9093']}]\n"
                               "    - bearer_token: tok\n"
                               "      static_configs: [{targets: ['127.0.0.1:9094']}]\n"
                               "    - authorization: {type: Token, credentials: x}\n"
                               "      tls_config: {}\n");
    ASSERT_EQ(c->n_alertmanagers, 3u);
    ASSERT_EQ(c->alertmanagers[0].scheme, CONFIG_SCHEME_HTTPS);
    ASSERT_TRUE(c->alertmanagers[0].tls != NULL);
    ASSERT_STR_EQ(c->alertmanagers[0].authorization, "Bearer s3cret");
    ASSERT_TRUE(c->alertmanagers[1].tls == NULL);
    ASSERT_STR_EQ(c->alertmanagers[1].authorization, "Bearer tok");
    ASSERT_TRUE(c->alertmanagers[2].tls != NULL); /* tls_config alone: TLS, as scrape jobs */
    ASSERT_STR_EQ(c->alertmanagers[2].authorization, "Token x");
    config_free(c);
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n"
                                 "    - basic_auth: {username: u}\n      bearer_token: t\n",
                                 ERR_PARSE),
                        "alertmanager_config: at most one of basic_auth, oauth2, bearer_token");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n"
                                 "    - authorization: {type: basic, credentials: x}\n",
                                 ERR_PARSE), "use \"basic_auth\" instead");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n"
                                 "    - tls_config: {ca_file: /nonexistent/ca.pem}\n",
                                 ERR_PARSE),
                        "alertmanager_config: tls_config: unable to load specified CA cert");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n"
                                 "    - tls_config: {cert_file: c.pem}\n", ERR_PARSE),
                        "specified without client key file");
    ASSERT_STR_CONTAINS(load_bad("alerting:\n  alertmanagers:\n"
                                 "    - bearer_token_file: /nonexistent/tok\n", ERR_PARSE),
                        "unable to read authorization credentials file /nonexistent/tok");
}

TEST(file_sd_configs)
{
    struct config *c = load_ok("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                               "  - files: ['t/*.json', /etc/n.yml]\n"
                               "  - files: [x.YAML]\n    refresh_interval: 30s\n");
    const struct config_scrape *j = &c->scrapes[0];
    ASSERT_EQ(j->n_file_sd, 2u);
    ASSERT_EQ(j->file_sd[0].n_files, 2u);
    ASSERT_STR_EQ(j->file_sd[0].files[0], "t/*.json"); /* a string config keeps paths as written */
    ASSERT_STR_EQ(j->file_sd[0].files[1], "/etc/n.yml");
    ASSERT_EQ(j->file_sd[0].refresh_interval_ms, 300000); /* Prometheus' 5m default */
    ASSERT_EQ(j->file_sd[1].refresh_interval_ms, 30000);
    config_free(c);
    ASSERT_STR_EQ(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                           "  - files: [t.txt]\n", ERR_PARSE),
                  "t.yml:4:13: path name \"t.txt\" is not valid for file discovery");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                                 "  - files: ['a*/b.json']\n", ERR_PARSE),
                        "is not valid for file discovery");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                                 "  - files: ['a*b*.json']\n", ERR_PARSE),
                        "is not valid for file discovery");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                                 "  - refresh_interval: 1m\n", ERR_PARSE),
                        "must contain at least one path name");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs:\n"
                                 "  - files: [a.json]\n    refresh: 1m\n", ERR_PARSE),
                        "unknown key 'refresh' in file_sd_config");
    ASSERT_STR_CONTAINS(load_bad("scrape_configs:\n- job_name: a\n  file_sd_configs: [1]\n",
                                 ERR_PARSE), "each entry expects a mapping");
}

TEST(load_file_resolves_file_sd_paths)
{
    char *dir = test_tmpdir();
    char *path = write_tmp(dir, "prometheus.yml", "scrape_configs:\n- job_name: a\n"
                                                  "  file_sd_configs: [{files: [sd/*.json]}]\n");
    struct config *c = NULL;
    struct err e = {0};
    ASSERT_OK_E(config_load_file(path, &c, &e), &e);
    char *want;
    ASSERT_TRUE(asprintf(&want, "%s/sd/*.json", dir) > 0);
    ASSERT_STR_EQ(c->scrapes[0].file_sd[0].files[0], want);
    free(want);
    config_free(c);
    free(path);
    test_tmpdir_remove(dir);
}
