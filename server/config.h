/* server/config.h — prometheus.yml loaded through libyaml into a validated, immutable struct.
 * Prometheus' documented schema and defaults; anything ember cannot honour is an error, never
 * silently ignored (DESIGN.md, "Compatibility contract").
 *
 * Ownership: a struct config is one heap object (everything it points to lives in one arena
 * inside it). It is never modified after loading, so any thread may read it; config_free() ends it.
 * On reload the loop thread swaps the current pointer and frees the old config once nothing
 * borrows it any more. Callers read the public fields directly; `arena` is private.
 *
 * What is supported, what is refused:
 * - top level: global, rule_files, scrape_configs, alerting. remote_write, remote_read, storage,
 *   tracing, runtime, otlp, scrape_config_files: "key 'x' is not supported yet".
 * - alerting: alert_relabel_configs, alertmanagers[] {static_configs, scheme (http, https),
 *   path_prefix, timeout (10s), api_version (v2 only), basic_auth, authorization,
 *   bearer_token[_file], tls_config (as scrape_configs')}; service discovery, oauth2, sigv4,
 *   proxies and per-alertmanager relabel_configs are refused as not supported yet.
 * - global: scrape_interval (1m), scrape_timeout (10s, at most scrape_interval),
 *   evaluation_interval (1m), rule_query_offset (0), external_labels, scrape_protocols. query_log_file, the global
 *   limits and the histogram/naming options are refused as not supported yet (ember has no query
 *   log; limits land with issue 5).
 * - scrape_configs[]: job_name (required, unique), scrape_interval/scrape_timeout (0 or absent
 *   inherits global, as Prometheus; timeout > interval is an error), scrape_protocols (inherits
 *   global), metrics_path (/metrics; must start with '/'), scheme (http or https), honor_labels
 *   (false), honor_timestamps (true), params, static_configs[] {targets, labels},
 *   file_sd_configs[] {files, refresh_interval},
 *   relabel_configs and metric_relabel_configs; basic_auth, authorization, bearer_token[_file],
 *   tls_config, follow_redirects, enable_compression, body_size_limit, sample_limit, label_limit,
 *   label_name_length_limit, label_value_length_limit and target_limit (config_client.c: secret
 *   files and TLS files are read at load). Every other documented scrape_config key (oauth2,
 *   proxy_*, *_sd_configs, keep_dropped_targets, ...) is refused as not supported yet; when one
 *   lands it becomes a new field of struct config_scrape with Prometheus' default, so existing
 *   callers do not change.
 * - relabel_config: source_labels, separator (;), regex ((.*), fully anchored, RE2 syntax),
 *   modulus, target_label, replacement ($1), action (replace; any case), checked as Prometheus'
 *   Config.Validate does (scrape_relabel_add in scrape/relabel.c). A null string field is "", as
 *   go-yaml reads it (Prometheus' example configs write `regex:` alone); a null entry is an
 *   error. Label names in source_labels and target_label use the legacy rule below.
 * - YAML: anchors, aliases and merge keys (<<) work as in go-yaml. A null value (`rule_files:`
 *   with nothing after it) is an empty list/map/section; a null scalar setting is an error.
 *   Booleans are plain true/false (also yes/no/on/off, YAML 1.1 as go-yaml v2). Only the first
 *   document is read; a second one is an error.
 * - rule_files: strings (globs). config_load_file() resolves relative ones against the config
 *   file's directory, as Prometheus does; config_load_string() keeps them as written.
 * - Label names follow ember's tsdb rule [a-zA-Z_][a-zA-Z0-9_]* (Prometheus 2's; Prometheus 3
 *   would also take UTF-8 names). An empty value means "no label" (Prometheus semantics), so it is
 *   dropped. Static target labels may use reserved names (__metrics_path__, __scheme__,
 *   __param_x, __scrape_interval__; a group's __address__ always loses to the target itself):
 *   they are discovered labels, which relabeling sees and the scrape module applies.
 * - Targets are host, host:port or [v6]:port (no scheme, no path), checked here with the same
 *   rule the scrape module applies to __address__ after relabeling. Prometheus checks only after
 *   relabeling, which makes blackbox-style URL targets legal; ember does not take those yet.
 *
 * Errors (struct err, code ERR_PARSE unless noted) always start "<name>:<line>:<col>: " and name
 * the key: malformed YAML (libyaml's problem text), unknown key, not supported yet, wrong type,
 * bad duration or value, duplicate key, duplicate job_name. ERR_LIMIT: file over
 * CONFIG_MAX_BYTES, nesting deeper than CONFIG_MAX_DEPTH, too many nodes after alias expansion.
 * -errno: the file cannot be read. -ENOMEM: out of memory. */
#ifndef EMBER_SERVER_CONFIG_H
#define EMBER_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scrape/scrape.h"
#include "tsdb/tsdb.h"

#define CONFIG_MAX_BYTES (16u << 20) /* bigger is a mistake, not a configuration */
#define CONFIG_MAX_DEPTH 64          /* YAML nesting; prometheus.yml needs < 10 */
#define CONFIG_MAX_NODES 1000000     /* node visits, counting alias expansion (billion laughs) */

enum config_scheme {
    CONFIG_SCHEME_HTTP,
    CONFIG_SCHEME_HTTPS,
};

/* Exposition formats a scrape may ask for, in Prometheus' scrape_protocols spelling. The scrape
 * client builds its Accept header from the ones it can parse (the text formats) in this order. */
enum config_proto {
    CONFIG_PROTO_OPENMETRICS_1_0_0, /* OpenMetricsText1.0.0 */
    CONFIG_PROTO_OPENMETRICS_0_0_1, /* OpenMetricsText0.0.1 */
    CONFIG_PROTO_TEXT_1_0_0,        /* PrometheusText1.0.0 */
    CONFIG_PROTO_TEXT_0_0_4,        /* PrometheusText0.0.4 */
    CONFIG_PROTO_PROTOBUF,          /* PrometheusProto: accepted, never parsed by ember */
    _CONFIG_PROTO_MAX,
};

struct config_protocols {
    enum config_proto v[_CONFIG_PROTO_MAX]; /* preference order, no repeats */
    uint32_t n;                             /* >= 1, and at least one text format */
};

struct config_global {
    int64_t scrape_interval_ms;     /* > 0 */
    int64_t scrape_timeout_ms;      /* > 0, <= scrape_interval_ms */
    int64_t evaluation_interval_ms; /* > 0 */
    int64_t rule_query_offset_ms;   /* 0; groups without query_offset use it */
    struct labels external_labels;  /* sorted, valid names, non-empty values */
    struct config_protocols scrape_protocols;
};

/* One URL query parameter of a scrape: name=value for each value, in order. */
struct config_param {
    const char *name;
    const char *const *values;
    uint32_t n_values;
};

/* One static target: static_configs[].targets[i] with its group's labels. */
struct config_target {
    const char *address; /* "host:port", "host", "[v6]:port"; no scheme, no path */
    struct labels labels; /* sorted; may be shared between targets of one group */
};

/* One file_sd_configs entry: target-group files (JSON or YAML) re-read every refresh_interval
 * and when they change. */
struct config_file_sd {
    const char *const *files; /* globs ('*' only in the last path element, as Prometheus); relative
                               * ones resolved against the config file's directory */
    uint32_t n_files;         /* >= 1 */
    int64_t refresh_interval_ms; /* 5m */
};

struct config_scrape {
    const char *job_name;
    enum config_scheme scheme;
    const char *metrics_path;  /* starts with '/' */
    int64_t scrape_interval_ms; /* resolved: never 0 */
    int64_t scrape_timeout_ms;  /* resolved: 0 < timeout <= interval */
    bool honor_labels;
    bool honor_timestamps;
    struct config_protocols scrape_protocols;
    const struct config_param *params; /* sorted by name */
    uint32_t n_params;
    const struct config_target *targets; /* static_configs flattened, in file order */
    uint32_t n_targets;
    /* Compiled rule lists, NULL when absent or empty. They live as long as the config; users
     * that outlive it take a reference (scrape_relabel_ref). */
    scrape_relabel *relabel_configs;
    scrape_relabel *metric_relabel_configs;
    /* basic_auth/authorization/bearer_token (as one Authorization value), tls_config (a TLS
     * context holding a reference the config owns: scheme https or tls_config given),
     * follow_redirects, enable_compression and the per-scrape limits (config_client.c). */
    struct scrape_client client;
    uint32_t target_limit; /* 0: none */
    uint32_t line; /* where the job starts in the file (1-based), for messages */
    const struct config_file_sd *file_sd; /* file_sd_configs, in file order */
    uint32_t n_file_sd;
};

/* alerting.alertmanagers[]: where notifications go. */
struct config_alertmanager {
    enum config_scheme scheme;
    const char *path_prefix; /* "" or "/prefix" (no trailing slash) */
    int64_t timeout_ms;      /* 10s */
    const char *authorization; /* Authorization header value (basic_auth, authorization or
                                * bearer_token[_file], files read at load); NULL: none */
    scrape_tls *tls;           /* scheme https or tls_config given; owned by the config (a
                                * user that outlives it takes a reference); NULL: plain http */
    const struct config_target *targets;     /* static_configs flattened */
    uint32_t n_targets;
};

struct config {
    const char *path; /* the file loaded, or the name given to config_load_string() */
    const char *text; /* the YAML as read (NUL-terminated), for /api/v1/status/config */
    size_t text_len;
    struct config_global global;
    const char *const *rule_files; /* globs, in file order */
    uint32_t n_rule_files;
    const struct config_scrape *scrapes; /* in file order */
    uint32_t n_scrapes;
    const struct config_alertmanager *alertmanagers;
    uint32_t n_alertmanagers;
    scrape_relabel *alert_relabel_configs; /* NULL when absent */
    struct arena *arena; /* private: everything above lives here */
};

/* Reads and validates path. Blocks on file I/O: call at start-up or from a worker. *ret is taken
 * by the caller (config_free()). */
int config_load_file(const char *path, struct config **ret, struct err *e);
/* Validates text[0..len) (borrowed; copied). name is used in messages and as config->path. */
int config_load_string(const char *name, const char *text, size_t len, struct config **ret,
                       struct err *e);
/* The embedded configuration used without --config.file: global scrape_interval and
 * evaluation_interval 15s, one job "ember" scraping listen_addr ("127.0.0.1:9090", ":9090",
 * "[::]:9090"; a wildcard or loopback host becomes "localhost", other hosts are kept). */
int config_default(const char *listen_addr, struct config **ret, struct err *e);
void config_free(struct config *c); /* NULL is fine */

/* Finds a job by name; NULL when absent. */
const struct config_scrape *config_scrape_find(const struct config *c, const char *job_name);

#endif
