/* server/app.h — the running server's parts, shared by the server/ files (module-internal).
 * Owned and mutated by the loop thread; workers read only what a job hands them. */
#ifndef EMBER_SERVER_APP_H
#define EMBER_SERVER_APP_H

#include <stdatomic.h>
#include <uv.h>

#include "promql/promql.h"
#include "scrape/scrape.h"
#include "server/config.h"
#include "server/flags.h"
#include "server/http.h"
#include "server/router.h"
#include "tsdb/tsdb.h"

struct app {
    uv_loop_t *loop;
    struct flags flags;
    struct config *cfg; /* current configuration (immutable; swapped on reload) */
    tsdb *db;
    scrape_manager *scrape;
    promql_engine *engine;
    struct http_server *http;
    struct router *router;
    uv_signal_t sig_int, sig_term, sig_hup;
    int64_t start_ms;
    int ready;           /* start-up finished: /-/ready answers 200 */
    int shutting_down;
    int exit_code;
    uint32_t queries_running; /* loop thread */
    _Atomic uint64_t queries_total, query_errors;
    uint64_t http_requests[8]; /* by handler class, see selfmetrics.c */
};

/* Runs ember until a signal stops it; returns the process exit code. */
int app_run(const struct flags *f);

/* Request dispatch (api_v1.c, lifecycle.c, selfmetrics.c). */
void api_v1_query(struct http_request *req, struct app *app);
void api_import_prometheus(struct http_request *req, struct app *app);
void api_status_tsdb(struct http_request *req, struct app *app);
void api_admin_snapshot(struct http_request *req, struct app *app);
void lifecycle_healthy(struct http_request *req, struct app *app);
void lifecycle_ready(struct http_request *req, struct app *app);
void selfmetrics_serve(struct http_request *req, struct app *app);

/* Maps an ember error code to Prometheus' errorType and HTTP status (api_v1.c is the one place). */
void api_error_type(int code, const char **ret_type, int *ret_status);

#endif
