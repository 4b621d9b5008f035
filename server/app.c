/* server/app.c — start-up and shutdown order, signals, and request dispatch.
 *
 * Start: config → tsdb → query engine → scrape targets → HTTP listener → ready.
 * Stop (SIGINT/SIGTERM): not ready → stop accepting and drain HTTP → stop scrape loops (their
 * last appends finish on workers) → close signals → the loop runs dry → close tsdb. uv_loop_close()
 * must then return 0: any handle left open is a bug, reported with exit code 1. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "server/file_sd.h"
#include "server/router.h"
#include "server/webgate.h"

/* The endpoint table: one line per route. Handlers take the app; dispatch() adapts them to the
 * router's (request, ctx) signature through one binding per route kept in app->routes. */
#define GET HTTP_METHOD_BIT(HTTP_METHOD_GET)
#define POST HTTP_METHOD_BIT(HTTP_METHOD_POST)
#define PUT HTTP_METHOD_BIT(HTTP_METHOD_PUT)
#define HEAD HTTP_METHOD_BIT(HTTP_METHOD_HEAD)
static const struct app_route_def {
    unsigned methods;
    const char *path;
    app_handler_fn fn;
} routes[] = {
    {GET | POST, "/api/v1/query", api_v1_query},
    {GET | POST, "/api/v1/query_range", api_v1_query_range},
    {GET | POST, "/api/v1/format_query", api_v1_format_query},
    {GET | POST, "/api/v1/parse_query", api_v1_parse_query},
    {GET | POST, "/api/v1/series", api_v1_series},
    {GET | POST, "/api/v1/labels", api_v1_labels},
    {GET, "/api/v1/label/:name/values", api_v1_label_values},
    {GET | POST, "/api/v1/query_exemplars", api_v1_query_exemplars},
    {POST, "/api/v1/import/prometheus", api_import_prometheus},
    {GET, "/api/v1/status/tsdb", api_status_tsdb},
    {GET, "/api/v1/targets", api_v1_targets},
    {GET, "/api/v1/targets/metadata", api_v1_targets_metadata},
    {GET, "/api/v1/metadata", api_v1_metadata},
    {POST | PUT, "/api/v1/admin/tsdb/snapshot", api_admin_snapshot},
    {POST | PUT, "/api/v1/admin/tsdb/delete_series", api_admin_delete_series},
    {POST | PUT, "/api/v1/admin/tsdb/clean_tombstones", api_admin_clean_tombstones},
    {GET, "/api/v1/rules", api_v1_rules},
    {GET, "/api/v1/alerts", api_v1_alerts},
    {GET, "/api/v1/alertmanagers", api_v1_alertmanagers},
    {GET, "/api/v1/status/buildinfo", api_status_buildinfo},
    {GET, "/api/v1/status/config", api_status_config},
    {GET, "/api/v1/status/flags", api_status_flags},
    {GET, "/api/v1/status/runtimeinfo", api_status_runtimeinfo},
    {GET, "/version", api_version},
    {GET | POST | PUT, "/-/quit", lifecycle_quit},
    {GET | HEAD, "/-/healthy", lifecycle_healthy},
    {GET | HEAD, "/-/ready", lifecycle_ready},
    {POST | PUT, "/-/reload", lifecycle_reload},
    {GET, "/-/reload", lifecycle_reload_get},
    {GET, "/metrics", selfmetrics_serve},
    {GET, "/federate", federate_serve},
    {GET | HEAD, "/", web_ui_root},
    {GET | HEAD, "/graph", web_ui_page},
    {GET | HEAD, "/targets", web_ui_page},
    {GET | HEAD, "/alerts", web_ui_page},
    {GET | HEAD, "/rules", web_ui_page},
    {GET | HEAD, "/status", web_ui_page},
    {GET | HEAD, "/tsdb-status", web_ui_page},
    {GET | HEAD, "/flags", web_ui_page},
    {GET | HEAD, "/config", web_ui_page},
    {GET | HEAD, "/static/*path", web_ui_static},
};
#undef GET
#undef POST
#undef PUT
#undef HEAD

/* webconfig's client_auth_type converts to http's by value. */
_Static_assert((int) WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT ==
                       (int) HTTP_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT &&
                   (int) WEBCONFIG_REQUEST_CLIENT_CERT == (int) HTTP_TLS_REQUEST_CLIENT_CERT &&
                   (int) WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ==
                       (int) HTTP_TLS_VERIFY_CLIENT_CERT_IF_GIVEN,
               "client auth enums differ");

static void dispatch(struct http_request *req, void *ctx)
{
    struct app_route *r = ctx;
    app_metrics_dispatch(r, req);
    r->fn(req, r->app);
}

static int add_routes(struct router *rt, struct app *app, struct err *e)
{
    enum { N = sizeof routes / sizeof routes[0] };
    app->routes = calloc(N, sizeof *app->routes);
    if (!app->routes)
        return err_set(e, -12, "out of memory");
    app->n_routes = N;
    for (size_t i = 0; i < N; i++) {
        app->routes[i] = (struct app_route){app, routes[i].fn, routes[i].path, {{0}}};
        if (router_add(rt, routes[i].methods, routes[i].path, dispatch, &app->routes[i], e) < 0)
            return -1;
    }
    return 0;
}

/* A static target as discovered (Prometheus' target group): its group's labels and __address__,
 * the target's own __address__ winning over a group label of that name. */
static int static_target_labels(struct arena *a, const struct config_target *ct,
                                struct labels *ret)
{
    struct label *v = arena_alloc(a, (ct->labels.n + 1) * sizeof *v);
    if (!v)
        return -1;
    struct labels ls = {v, 0};
    v[ls.n++] = (struct label){"__address__", ct->address};
    for (uint32_t l = 0; l < ct->labels.n; l++)
        if (strcmp(ct->labels.v[l].name, "__address__") != 0)
            v[ls.n++] = ct->labels.v[l];
    *ret = ls;
    return labels_sort(ret);
}

/* Hands the config's jobs and their static and file_sd targets to the scrape manager, which
 * adds the job's defaults, applies relabel_configs and builds each target's URL and labels. */
int app_apply_scrape_config(struct app *app, const struct config *cfg,
                            const struct file_sd_snapshot *sd, struct err *e)
{
    struct arena *a = arena_new(0);
    struct scrape_job *jobs = a ? arena_calloc(a, cfg->n_scrapes + 1, sizeof *jobs) : NULL;
    int r = jobs ? 0 : err_set(e, -12, "out of memory");
    for (uint32_t i = 0; i < cfg->n_scrapes && r == 0; i++) {
        const struct config_scrape *sc = &cfg->scrapes[i];
        struct scrape_param *ps = arena_calloc(a, sc->n_params + 1, sizeof *ps);
        uint32_t n_file = file_sd_count(sd, sc->job_name);
        struct labels *ts = arena_calloc(a, (size_t) sc->n_targets + n_file + 1, sizeof *ts);
        if (!ps || !ts) {
            r = err_set(e, -12, "out of memory");
            break;
        }
        for (uint32_t p = 0; p < sc->n_params; p++)
            ps[p] = (struct scrape_param){sc->params[p].name, sc->params[p].values,
                                          sc->params[p].n_values};
        for (uint32_t t = 0; t < sc->n_targets && r == 0; t++)
            if (static_target_labels(a, &sc->targets[t], &ts[t]) < 0)
                r = err_set(e, -12, "out of memory");
        jobs[i] = (struct scrape_job){
            .name = sc->job_name,
            .scheme = sc->scheme == CONFIG_SCHEME_HTTPS ? "https" : "http",
            .metrics_path = sc->metrics_path,
            .params = ps,
            .n_params = sc->n_params,
            .interval_ms = sc->scrape_interval_ms,
            .timeout_ms = sc->scrape_timeout_ms,
            .honor_labels = sc->honor_labels,
            .honor_timestamps = sc->honor_timestamps,
            .accept = NULL, /* the scrape module sends Prometheus' Accept header */
            .relabel = sc->relabel_configs,
            .metric_relabel = sc->metric_relabel_configs,
            .targets = ts,
            .n_targets = sc->n_targets + file_sd_copy(sd, sc->job_name, ts + sc->n_targets),
            .client = &sc->client,
            .target_limit = sc->target_limit,
        };
    }
    if (r == 0)
        r = scrape_manager_apply(app->scrape, jobs, cfg->n_scrapes, e);
    arena_free(a);
    return r;
}

static void on_scrape_closed(void *arg)
{
    struct app *app = arg;
    app->scrape = NULL;
}

static void close_signal(uv_signal_t *s)
{
    /* A start-up that failed before the signals were set up leaves them zeroed (no handle). */
    if (s->type == UV_SIGNAL && !uv_is_closing((uv_handle_t *) s))
        uv_close((uv_handle_t *) s, NULL);
}

static void on_rules_closed(void *arg)
{
    (void) arg; /* app->rules and app->notifier were cleared by app_rules_close */
}

static void on_http_closed(void *arg)
{
    struct app *app = arg;
    app->http = NULL;
    scrape_manager_close(app->scrape, on_scrape_closed, app);
    app_rules_close(app, on_rules_closed, app);
    close_signal(&app->sig_int);
    close_signal(&app->sig_term);
    close_signal(&app->sig_hup);
    reload_close(app);
}

static void begin_shutdown(struct app *app, const char *why)
{
    if (app->shutting_down)
        return;
    app->shutting_down = 1;
    LOG_INFO("main", "shutting down", "reason=\"%s\"", why);
    if (app->http)
        http_server_close(app->http, on_http_closed, app);
    else
        on_http_closed(app);
}

void app_shutdown(struct app *app, const char *why)
{
    begin_shutdown(app, why);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *app = s->data;
    if (signum == SIGHUP) {
        reload_request(app, NULL);
        return;
    }
    begin_shutdown(app, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int load_config(const struct flags *f, struct config **ret, struct err *e)
{
    if (f->config_file)
        return config_load_file(f->config_file, ret, e);
    return config_default(f->listen_address, ret, e);
}

int app_run(const struct flags *f)
{
    struct app app_s = {0}, *app = &app_s;
    struct err e = {0};
    app->flags = *f;
    app->start_ms = time_now_ms();
    app->config_loaded_ms = app->start_ms;
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        LOG_ERROR("main", "cannot start the event loop", "%s", "");
        return 1;
    }
    app->loop = &loop;
    int code = 1;
    if (load_config(f, &app->cfg, &e) < 0) {
        char q[2 * sizeof e.msg]; /* messages quote keys and values */
        LOG_ERROR("main", "error loading config", "file=%s err=\"%s\"",
                  f->config_file ? f->config_file : "(embedded)", log_escape(e.msg, q, sizeof q));
        goto out;
    }
    struct tsdb_opts topts = {.dir = f->storage_path,
                              .retention_ms = f->retention_ms,
                              .retention_bytes = (uint64_t) f->retention_bytes,
                              .block_range_ms = f->block_range_ms};
    if (tsdb_open(&topts, &app->db, &e) < 0) {
        LOG_ERROR("main", "opening storage failed", "path=%s err=\"%s\"", f->storage_path, e.msg);
        goto out;
    }
    struct promql_engine_opts eopts = {
        .lookback_delta_ms = f->lookback_delta_ms,
        .max_samples = (uint64_t) f->max_samples,
        .timeout_ms = f->query_timeout_ms,
    };
    if (promql_engine_new(app->db, &eopts, &app->engine, &e) < 0) {
        LOG_ERROR("main", "starting the query engine failed", "err=\"%s\"", e.msg);
        goto out;
    }
    /* Without it (no memory) the inline lane parses each query itself: not fatal. */
    if (promql_parse_cache_new(APP_PARSE_CACHE_SLOTS, &app->parse_cache) < 0)
        app->parse_cache = NULL;
    app->router = router_new();
    if (!app->router || add_routes(app->router, app, &e) < 0) {
        LOG_ERROR("main", "building the router failed", "err=\"%s\"", e.msg);
        goto out;
    }
    if (f->web_config_file && webconfig_load_file(f->web_config_file, &app->webcfg, &e) < 0) {
        LOG_ERROR("main", "error loading web config", "file=%s err=\"%s\"", f->web_config_file,
                  e.msg);
        goto out;
    }
    struct webgate_opts gopts = {.wc = app->webcfg, .cors_origin = f->cors_origin,
                                 .next = router_dispatch, .next_ctx = app->router};
    if (webgate_new(&loop, &gopts, &app->gate, &e) < 0) {
        LOG_ERROR("main", "bad web option", "err=\"%s\"", e.msg);
        goto out;
    }
    struct http_limits lim;
    http_limits_default(&lim);
    lim.max_connections = (uint32_t) (f->max_connections > UINT32_MAX ? UINT32_MAX
                                                                       : f->max_connections);
    lim.read_timeout_ms = (uint64_t) f->read_timeout_ms;
    lim.spin_us = (uint32_t) f->spin_us;
    /* Go's http.Server, as Prometheus configures it, uses ReadTimeout for idle keep-alive
     * connections too; ember's shorter defaults for headers and idle stay unless it is lower. */
    if (lim.header_timeout_ms > lim.read_timeout_ms)
        lim.header_timeout_ms = lim.read_timeout_ms;
    if (lim.idle_timeout_ms > lim.read_timeout_ms)
        lim.idle_timeout_ms = lim.read_timeout_ms;
    if (http_server_open(&loop, f->listen_address, &lim, webgate_dispatch, app->gate, &app->http,
                         &e) < 0) {
        LOG_ERROR("main", "cannot listen", "address=%s err=\"%s\"", f->listen_address, e.msg);
        goto out;
    }
    if (app->webcfg && app->webcfg->tls) {
        const struct webconfig *w = app->webcfg;
        struct http_tls_opts to = {
            .cert_file = w->cert_file,
            .key_file = w->key_file,
            .client_ca_file = w->client_ca_file && *w->client_ca_file ? w->client_ca_file : NULL,
            .client_auth = (enum http_tls_client_auth) w->client_auth,
            .min_version = w->min_version,
            .max_version = w->max_version,
        };
        if (http_server_use_tls(app->http, &to, &e) < 0) {
            LOG_ERROR("main", "error loading web config", "file=%s err=\"%s\"",
                      f->web_config_file, e.msg);
            goto out;
        }
    }
    uint64_t sd_errors = 0; /* start-up may block: the first file_sd read happens here */
    if (file_sd_refresh(app->cfg, NULL, &app->sd, &sd_errors, &e) < 0 ||
        scrape_manager_new(&loop, app->db, &app->scrape, &e) < 0 ||
        app_apply_scrape_config(app, app->cfg, app->sd, &e) < 0 || reload_start(app, &e) < 0) {
        LOG_ERROR("main", "starting scrape targets failed", "err=\"%s\"", e.msg);
        begin_shutdown(app, "start-up failed");
        (void) uv_run(&loop, UV_RUN_DEFAULT);
        goto out;
    }
    if (app_rules_start(app, &e) < 0) {
        char q[2 * sizeof e.msg]; /* rule errors quote group and rule names */
        LOG_ERROR("main", "error loading rules", "err=\"%s\"", log_escape(e.msg, q, sizeof q));
        begin_shutdown(app, "start-up failed");
        (void) uv_run(&loop, UV_RUN_DEFAULT);
        goto out;
    }
    uv_signal_init(&loop, &app->sig_int);
    uv_signal_init(&loop, &app->sig_term);
    uv_signal_init(&loop, &app->sig_hup);
    app->sig_int.data = app->sig_term.data = app->sig_hup.data = app;
    uv_signal_start(&app->sig_int, on_signal, SIGINT);
    uv_signal_start(&app->sig_term, on_signal, SIGTERM);
    uv_signal_start(&app->sig_hup, on_signal, SIGHUP);
    app->sd_read_errors = sd_errors;
    app->reload_ok = 1;
    app->reload_success_ms = time_now_ms();
    app->ready = 1;
    LOG_INFO("main", "server is ready to receive web requests",
             "address=%s port=%d tls=%s config=%s", f->listen_address, http_server_port(app->http),
             app->webcfg && app->webcfg->tls ? "true" : "false",
             f->config_file ? f->config_file : "(embedded)");
    (void) uv_run(&loop, UV_RUN_DEFAULT);
    code = 0;
out:
    if (app->http || app->scrape || app->rules || app->notifier) { /* failed start */
        begin_shutdown(app, "start-up failed");
        (void) uv_run(&loop, UV_RUN_DEFAULT);
    }
    webgate_free(app->gate);
    webconfig_free(app->webcfg);
    router_free(app->router);
    free(app->routes);
    promql_engine_free(app->engine);
    promql_parse_cache_free(app->parse_cache);
    free(app->external_url);
    tsdb_close(app->db);
    config_free(app->cfg);
    file_sd_snapshot_free(app->sd);
    if (uv_loop_close(&loop) != 0) {
        LOG_ERROR("main", "event loop closed with handles still open", "%s", "");
        code = 1;
    }
    LOG_INFO("main", "see you next time!", "%s", "");
    return code;
}
