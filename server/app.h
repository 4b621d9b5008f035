/* server/app.h — the running server's parts, shared by the server/ files (module-internal).
 * Owned and mutated by the loop thread; workers read only what a job hands them. */
#ifndef EMBER_SERVER_APP_H
#define EMBER_SERVER_APP_H

#include <stdatomic.h>
#include <uv.h>

#include "promql/promql.h"
#include "rules/rules.h"
#include "scrape/scrape.h"
#include "server/config.h"
#include "server/flags.h"
#include "server/http.h"
#include "server/router.h"
#include "tsdb/tsdb.h"

struct app;
struct http_form;
typedef void (*app_handler_fn)(struct http_request *req, struct app *app);
/* Requests served by one route (app_metrics.c; loop thread): by status code, and a histogram of
 * durations in Prometheus' buckets for prometheus_http_request_duration_seconds. */
#define APP_HTTP_CODES 8
#define APP_HTTP_BUCKETS 9
extern const double app_http_buckets[APP_HTTP_BUCKETS];
struct app_route_stats {
    int codes[APP_HTTP_CODES];
    uint64_t by_code[APP_HTTP_CODES];
    uint32_t n_codes;
    uint64_t buckets[APP_HTTP_BUCKETS]; /* non-cumulative: observations up to each bound */
    uint64_t count;
    double sum_seconds;
};
/* One route's handler bound to the app: the router's ctx for that route (app.c). */
struct app_route {
    struct app *app;
    app_handler_fn fn;
    const char *path; /* the pattern: the handler label */
    struct app_route_stats stats;
};
/* The newest query durations for prometheus_engine_query_duration_seconds (loop thread). */
#define APP_QUERY_RING 1024
struct app_query_times {
    double queue_s[APP_QUERY_RING], eval_s[APP_QUERY_RING];
    uint64_t n; /* observations ever; the ring holds the last min(n, APP_QUERY_RING) */
    double queue_sum, eval_sum;
};

/* Inline-lane texts (at most 512 bytes) whose parsed trees are kept: the distinct small queries
 * of a few dashboards; at most ~300 KiB. */
#define APP_PARSE_CACHE_SLOTS 64

struct app {
    uv_loop_t *loop;
    struct flags flags;
    struct config *cfg; /* current configuration (immutable; swapped on reload) */
    tsdb *db;
    scrape_manager *scrape;
    promql_engine *engine;
    rules_notifier *notifier; /* NULL without alertmanagers */
    rules_manager *rules;
    char *external_url;       /* --web.external-url or http://<hostname>:<port> (heap) */
    struct http_server *http;
    struct router *router;
    struct webconfig *webcfg; /* --web.config.file; NULL without one */
    struct webgate *gate;     /* headers, auth and CORS in front of the router */
    struct app_route *routes; /* bindings for the route table, one per route */
    size_t n_routes;
    uv_signal_t sig_int, sig_term, sig_hup;
    int64_t start_ms;
    int64_t config_loaded_ms; /* when the current configuration was loaded (reload sets it) */
    int config_reload_failed; /* the last reload attempt failed (runtimeinfo) */
    int ready;           /* start-up finished: /-/ready answers 200 */
    int shutting_down;
    int exit_code;
    uint32_t queries_running; /* loop thread */
    /* Queries queued behind --query.max-concurrency, oldest first (api_query.c; loop thread). */
    struct api_query_job *wait_head, *wait_tail;
    uint32_t queries_waiting;
    _Atomic uint64_t queries_total, query_errors;
    uint64_t queries_inline; /* answered on the loop thread (api_query.c); loop-only */
    /* Trees of the inline lane's recent query texts (api_query.c; loop thread); may be NULL. */
    promql_parse_cache *parse_cache;
    struct app_query_times query_times;
    /* Reload and file_sd (reload.c; loop thread). */
    struct file_sd_snapshot *sd; /* current file_sd targets (immutable; swapped like cfg) */
    struct reloader *reloader;
    int reload_ok;               /* the last reload (or the start) succeeded */
    int64_t reload_success_ms;   /* when the config last loaded successfully */
    uint64_t sd_read_errors;     /* file_sd files that failed to read or parse */
};

/* Rule files, the notifier and the rule manager from the config (app_rules.c, loop thread). */
int app_rules_start(struct app *app, struct err *e);
/* Reload: cfg's rule files read and parsed (blocks: a worker's job); errors start "error
 * loading rules: ". Then, on the loop, the set (taken) and cfg's alerting settings applied to
 * the running manager and notifier (alert state kept, see rules_manager_update). */
int app_rules_load(const struct config *cfg, struct rules_set **ret, struct err *e);
int app_rules_reload(struct app *app, const struct config *cfg, struct rules_set *set,
                     struct err *e);
/* Closes the rule manager, then the notifier; done(arg) when both are gone. */
void app_rules_close(struct app *app, void (*done)(void *arg), void *arg);

/* Runs ember until a signal stops it; returns the process exit code. */
int app_run(const struct flags *f);
/* Starts the orderly shutdown a signal would (loop thread); a second call does nothing. */
void app_shutdown(struct app *app, const char *why);
/* "2.42.0+ember.<version>": buildinfo's version and prometheus_build_info's (api_status.c). */
extern const char api_build_version[];
/* Hands cfg's jobs with their static and file_sd targets to the scrape manager (app.c). */
int app_apply_scrape_config(struct app *app, const struct config *cfg,
                            const struct file_sd_snapshot *sd, struct err *e);

/* reload.c: reloads the config on a worker; req (may be NULL, for SIGHUP) is answered 200, or
 * 500 "failed to reload config: <why>" when the new config is refused. */
int reload_start(struct app *app, struct err *e);
void reload_request(struct app *app, struct http_request *req);
void reload_close(struct app *app); /* stops timers and watches; a job in flight is dropped */

/* Request dispatch (api_v1.c, lifecycle.c, selfmetrics.c). */
void api_v1_query(struct http_request *req, struct app *app);
void api_v1_query_range(struct http_request *req, struct app *app);
void api_v1_format_query(struct http_request *req, struct app *app);
void api_v1_parse_query(struct http_request *req, struct app *app);
void api_v1_series(struct http_request *req, struct app *app);
void federate_serve(struct http_request *req, struct app *app);
void api_v1_labels(struct http_request *req, struct app *app);
void api_v1_label_values(struct http_request *req, struct app *app);
void api_v1_query_exemplars(struct http_request *req, struct app *app);
void api_import_prometheus(struct http_request *req, struct app *app);
void api_status_tsdb(struct http_request *req, struct app *app);
void api_v1_targets(struct http_request *req, struct app *app); /* api_targets.c */
void api_v1_targets_metadata(struct http_request *req, struct app *app);
void api_v1_metadata(struct http_request *req, struct app *app);
void api_admin_snapshot(struct http_request *req, struct app *app);
void api_admin_delete_series(struct http_request *req, struct app *app);
void api_admin_clean_tombstones(struct http_request *req, struct app *app);
void api_v1_rules(struct http_request *req, struct app *app);
void api_v1_alerts(struct http_request *req, struct app *app);
void api_v1_alertmanagers(struct http_request *req, struct app *app);
void api_status_buildinfo(struct http_request *req, struct app *app);
void api_version(struct http_request *req, struct app *app);
void api_status_config(struct http_request *req, struct app *app);
void api_status_flags(struct http_request *req, struct app *app);
void api_status_runtimeinfo(struct http_request *req, struct app *app);
void lifecycle_quit(struct http_request *req, struct app *app);
void lifecycle_healthy(struct http_request *req, struct app *app);
void lifecycle_ready(struct http_request *req, struct app *app);
void lifecycle_reload(struct http_request *req, struct app *app);
void lifecycle_reload_get(struct http_request *req, struct app *app);
void selfmetrics_serve(struct http_request *req, struct app *app);
/* The embedded browser UI (web_ui.c): "/" redirects, pages, /static/ files. */
void web_ui_root(struct http_request *req, struct app *app);
void web_ui_page(struct http_request *req, struct app *app);
void web_ui_static(struct http_request *req, struct app *app);

/* Request metrics (app_metrics.c, loop thread): dispatch through a route, counted when its
 * response goes out; a query's time waiting for a slot and running on its worker. */
void app_metrics_dispatch(struct app_route *r, struct http_request *req);
void app_metrics_query(struct app *app, double queue_s, double eval_s);

/* Maps an ember error code to Prometheus' errorType and HTTP status (api_v1.c is the one place). */
void api_error_type(int code, const char **ret_type, int *ret_status);
/* The request's parameters (URL query and form body) in req->arena, or NULL after answering 400
 * (api_v1.c). */
struct http_form *api_request_form(struct http_request *req);
/* The JSON error response for code (api_v1.c). */
void api_respond_err(struct http_request *req, int code, const char *msg);

/* The query lane (api_query.c): PromQL work of one request on a libuv worker. Evaluations run
 * at most --query.max-concurrency at a time; more wait in a bounded FIFO, each at most its
 * timeout, and get 503 only when that queue is full. format/parse jobs skip the gate. */
enum api_query_kind {
    API_QUERY_INSTANT,
    API_QUERY_RANGE,
    API_QUERY_FORMAT,
    API_QUERY_PARSE,
    API_QUERY_CUSTOM, /* run_fn below: series, labels, label values, federate */
};
/* Work of an API_QUERY_CUSTOM job, on the worker: writes the whole response body to out and
 * returns 0, returns API_QUERY_NO_CONTENT for a 204 without body, or fails with e filled. arg and
 * req->arena are the job's; content_type is what the response carries. */
#define API_QUERY_NO_CONTENT 1
typedef int (*api_query_run_fn)(struct app *app, struct http_request *req, const void *arg,
                                struct buf *out, struct err *e);
struct api_query_spec {
    enum api_query_kind kind;
    const char *query; /* borrowed until the response (req->arena); may hold NUL bytes */
    size_t query_len;
    int64_t t_ms;                      /* API_QUERY_INSTANT */
    int64_t start_ms, end_ms, step_ms; /* API_QUERY_RANGE */
    int has_timeout;                   /* the request's timeout parameter, if it had one */
    int stats;                         /* stats parameter given: data.stats in the answer */
    int64_t timeout_ns;
    api_query_run_fn run_fn;           /* API_QUERY_CUSTOM */
    const void *run_arg;               /* borrowed until the response (req->arena) */
    const char *content_type;          /* API_QUERY_CUSTOM; NULL: application/json */
    int plain_errors;                  /* errors as text/plain bodies (federate), not JSON */
    int ungated;                       /* skips the concurrency gate (/metrics) */
};
/* Responds to req eventually (loop thread). */
void api_query_submit(struct app *app, struct http_request *req, const struct api_query_spec *s);

/* match[] values as Prometheus' parseMatchersParam (api_meta.c): each a series selector with at
 * least one matcher that does not match the empty string; ERR_PARSE in its words. Matchers live
 * in a. Compiles regexes: call on a worker. */
struct api_selectors {
    const struct matcher **ms;
    size_t *n_ms, n;
};
int api_match_params(struct arena *a, const struct http_form *f, struct api_selectors *ret,
                     struct err *e);

/* parse_query's tree (api_ast.c): Prometheus' translateAST as JSON, keys in Go's sorted order. */
struct json_writer;
void api_ast_json(struct json_writer *w, const struct promql_expr *x);

#endif
