/* server/app_metrics.c — the request and query measurements behind /metrics: per route, status
 * codes and a duration histogram (prometheus_http_requests_total, ..._request_duration_seconds);
 * per query, queue and evaluation time (prometheus_engine_query_duration_seconds). Loop thread
 * only: the response hook and the query lane's after-work callback both run there. */
#include "server/app.h"

/* Prometheus' buckets for prometheus_http_request_duration_seconds (web/web.go). */
const double app_http_buckets[APP_HTTP_BUCKETS] = {0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120};

struct timing {
    struct app_route *route;
    uint64_t start_ns;
};

static void on_respond(void *arg, const struct http_request *req, int status)
{
    (void) req;
    const struct timing *t = arg;
    struct app_route_stats *st = &t->route->stats;
    double s = (double) (uv_hrtime() - t->start_ns) / 1e9;
    uint32_t i = 0;
    while (i < st->n_codes && st->codes[i] != status)
        i++;
    if (i == st->n_codes && st->n_codes < APP_HTTP_CODES)
        st->codes[st->n_codes++] = status;
    if (i < st->n_codes) /* a ninth distinct code of one route goes uncounted */
        st->by_code[i]++;
    for (i = 0; i < APP_HTTP_BUCKETS && s > app_http_buckets[i]; i++)
        ;
    if (i < APP_HTTP_BUCKETS)
        st->buckets[i]++;
    st->count++;
    st->sum_seconds += s;
}

void app_metrics_dispatch(struct app_route *r, struct http_request *req)
{
    struct timing *t = arena_alloc(req->arena, sizeof *t);
    if (!t) /* the handler will answer the same shortage; just not counted */
        return;
    *t = (struct timing){r, uv_hrtime()};
    http_request_on_respond(req, on_respond, t);
}

void app_metrics_query(struct app *app, double queue_s, double eval_s)
{
    struct app_query_times *q = &app->query_times;
    size_t k = (size_t) (q->n % APP_QUERY_RING);
    q->queue_s[k] = queue_s;
    q->eval_s[k] = eval_s;
    q->queue_sum += queue_s;
    q->eval_sum += eval_s;
    q->n++;
}
