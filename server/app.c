/* server/app.c — start-up and shutdown order, signals, and request dispatch.
 *
 * Start: config → tsdb → query engine → scrape targets → HTTP listener → ready.
 * Stop (SIGINT/SIGTERM): not ready → stop accepting and drain HTTP → stop scrape loops (their
 * last appends finish on workers) → close signals → the loop runs dry → close tsdb. uv_loop_close()
 * must then return 0: any handle left open is a bug, reported with exit code 1. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "server/router.h"

static void route_query(struct http_request *req, void *app)
{
    api_v1_query(req, app);
}
static void route_query_range(struct http_request *req, void *app)
{
    api_v1_query_range(req, app);
}
static void route_format_query(struct http_request *req, void *app)
{
    api_v1_format_query(req, app);
}
static void route_parse_query(struct http_request *req, void *app)
{
    api_v1_parse_query(req, app);
}
static void route_healthy(struct http_request *req, void *app)
{
    lifecycle_healthy(req, app);
}
static void route_ready(struct http_request *req, void *app)
{
    lifecycle_ready(req, app);
}
static void route_import(struct http_request *req, void *app)
{
    api_import_prometheus(req, app);
}
static void route_status_tsdb(struct http_request *req, void *app)
{
    api_status_tsdb(req, app);
}
static void route_snapshot(struct http_request *req, void *app)
{
    api_admin_snapshot(req, app);
}
static void route_metrics(struct http_request *req, void *app)
{
    selfmetrics_serve(req, app);
}

/* The endpoint table: one line per route. */
static int add_routes(struct router *rt, struct app *app, struct err *e)
{
    const unsigned get = HTTP_METHOD_BIT(HTTP_METHOD_GET), post = HTTP_METHOD_BIT(HTTP_METHOD_POST),
                   head = HTTP_METHOD_BIT(HTTP_METHOD_HEAD);
    int r = 0;
    if (r == 0)
        r = router_add(rt, get | post, "/api/v1/query", route_query, app, e);
    if (r == 0)
        r = router_add(rt, get | post, "/api/v1/query_range", route_query_range, app, e);
    if (r == 0)
        r = router_add(rt, get | post, "/api/v1/format_query", route_format_query, app, e);
    if (r == 0)
        r = router_add(rt, get | post, "/api/v1/parse_query", route_parse_query, app, e);
    if (r == 0)
        r = router_add(rt, post, "/api/v1/import/prometheus", route_import, app, e);
    if (r == 0)
        r = router_add(rt, get, "/api/v1/status/tsdb", route_status_tsdb, app, e);
    if (r == 0)
        r = router_add(rt, post | HTTP_METHOD_BIT(HTTP_METHOD_PUT), "/api/v1/admin/tsdb/snapshot",
                       route_snapshot, app, e);
    if (r == 0)
        r = router_add(rt, get | head, "/-/healthy", route_healthy, app, e);
    if (r == 0)
        r = router_add(rt, get | head, "/-/ready", route_ready, app, e);
    if (r == 0)
        r = router_add(rt, get, "/metrics", route_metrics, app, e);
    return r;
}

/* Appends s percent-encoded as Go's url.QueryEscape does (space as '+'). */
static void put_query_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            (void) buf_putc(b, c);
        } else if (c == ' ') {
            (void) buf_putc(b, '+');
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            (void) buf_append(b, esc, 3);
        }
    }
}

/* Builds scrape specs from the config: target labels are job, instance and the static labels. */
static int apply_scrape_config(struct app *app, const struct config *cfg, struct err *e)
{
    size_t n = 0;
    for (uint32_t i = 0; i < cfg->n_scrapes; i++)
        n += cfg->scrapes[i].n_targets;
    struct arena *a = arena_new(0);
    struct scrape_target_spec *specs = a ? arena_calloc(a, n ? n : 1, sizeof *specs) : NULL;
    if (!specs) {
        arena_free(a);
        return err_set(e, -12, "out of memory");
    }
    size_t k = 0;
    int r = 0;
    for (uint32_t i = 0; i < cfg->n_scrapes && r == 0; i++) {
        const struct config_scrape *sc = &cfg->scrapes[i];
        struct buf q = BUF_INIT;
        for (uint32_t p = 0; p < sc->n_params; p++)
            for (uint32_t v = 0; v < sc->params[p].n_values; v++) {
                if (q.len)
                    (void) buf_putc(&q, '&');
                put_query_escaped(&q, sc->params[p].name);
                (void) buf_putc(&q, '=');
                put_query_escaped(&q, sc->params[p].values[v]);
            }
        const char *query = arena_strndup(a, q.p ? (const char *) q.p : "", q.len);
        buf_free(&q);
        for (uint32_t t = 0; t < sc->n_targets && r == 0; t++) {
            const struct config_target *ct = &sc->targets[t];
            struct label *lv = arena_alloc(a, (ct->labels.n + 2) * sizeof *lv);
            if (!lv || !query) {
                r = err_set(e, -12, "out of memory");
                break;
            }
            struct labels ls = {lv, 0};
            lv[ls.n++] = (struct label){"job", sc->job_name};
            lv[ls.n++] = (struct label){"instance", ct->address};
            for (uint32_t l = 0; l < ct->labels.n; l++) {
                const char *name = ct->labels.v[l].name;
                if (strcmp(name, "job") == 0)
                    lv[0].value = ct->labels.v[l].value;
                else if (strcmp(name, "instance") == 0)
                    lv[1].value = ct->labels.v[l].value;
                else
                    lv[ls.n++] = ct->labels.v[l];
            }
            (void) labels_sort(&ls);
            specs[k++] = (struct scrape_target_spec){
                .job = sc->job_name,
                .scheme = sc->scheme == CONFIG_SCHEME_HTTPS ? "https" : "http",
                .address = ct->address,
                .metrics_path = sc->metrics_path,
                .query = query,
                .accept = NULL, /* the scrape module sends Prometheus' Accept header */
                .interval_ms = sc->scrape_interval_ms,
                .timeout_ms = sc->scrape_timeout_ms,
                .honor_labels = sc->honor_labels,
                .honor_timestamps = sc->honor_timestamps,
                .labels = ls,
            };
        }
    }
    if (r == 0)
        r = scrape_manager_apply(app->scrape, specs, k, e);
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
    if (!uv_is_closing((uv_handle_t *) s))
        uv_close((uv_handle_t *) s, NULL);
}

static void on_http_closed(void *arg)
{
    struct app *app = arg;
    app->http = NULL;
    scrape_manager_close(app->scrape, on_scrape_closed, app);
    close_signal(&app->sig_int);
    close_signal(&app->sig_term);
    close_signal(&app->sig_hup);
}

static void begin_shutdown(struct app *app, const char *why)
{
    if (app->shutting_down)
        return;
    app->shutting_down = 1;
    LOG_INFO("main", "shutting down", "reason=%s", why);
    if (app->http)
        http_server_close(app->http, on_http_closed, app);
    else
        on_http_closed(app);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *app = s->data;
    if (signum == SIGHUP) {
        LOG_WARN("main", "configuration reload is not implemented yet, ignoring SIGHUP", "%s", "");
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
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        LOG_ERROR("main", "cannot start the event loop", "%s", "");
        return 1;
    }
    app->loop = &loop;
    int code = 1;
    if (load_config(f, &app->cfg, &e) < 0) {
        LOG_ERROR("main", "error loading config", "file=%s err=\"%s\"",
                  f->config_file ? f->config_file : "(embedded)", e.msg);
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
    app->router = router_new();
    if (!app->router || add_routes(app->router, app, &e) < 0) {
        LOG_ERROR("main", "building the router failed", "err=\"%s\"", e.msg);
        goto out;
    }
    struct http_limits lim;
    http_limits_default(&lim);
    if (http_server_open(&loop, f->listen_address, &lim, router_dispatch, app->router, &app->http,
                         &e) < 0) {
        LOG_ERROR("main", "cannot listen", "address=%s err=\"%s\"", f->listen_address, e.msg);
        goto out;
    }
    if (scrape_manager_new(&loop, app->db, &app->scrape, &e) < 0 ||
        apply_scrape_config(app, app->cfg, &e) < 0) {
        LOG_ERROR("main", "starting scrape targets failed", "err=\"%s\"", e.msg);
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
    app->ready = 1;
    LOG_INFO("main", "server is ready to receive web requests", "address=%s port=%d config=%s",
             f->listen_address, http_server_port(app->http),
             f->config_file ? f->config_file : "(embedded)");
    (void) uv_run(&loop, UV_RUN_DEFAULT);
    code = 0;
out:
    if (app->http || app->scrape) { /* failed start: close what was opened */
        begin_shutdown(app, "start-up failed");
        (void) uv_run(&loop, UV_RUN_DEFAULT);
    }
    router_free(app->router);
    promql_engine_free(app->engine);
    tsdb_close(app->db);
    config_free(app->cfg);
    if (uv_loop_close(&loop) != 0) {
        LOG_ERROR("main", "event loop closed with handles still open", "%s", "");
        code = 1;
    }
    LOG_INFO("main", "see you next time!", "%s", "");
    return code;
}
