/* server/api_admin.c — storage endpoints: /api/v1/status/tsdb (always on) and the admin API
 * behind --web.enable-admin-api (snapshot, delete_series, clean_tombstones). All do their work
 * on a worker: walking the index, writing a snapshot or rewriting blocks must not hold up the
 * loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_params.h"
#include "server/app.h"
#include "server/http_form.h"
#include "server/json.h"

#define MAX_DELETE_SELECTORS 64

struct storage_job {
    uv_work_t work;
    struct app *app;
    struct http_request *req;
    int with_head;
    /* delete_series: one matcher set per match[] selector */
    const struct matcher *ms[MAX_DELETE_SELECTORS];
    size_t n_ms[MAX_DELETE_SELECTORS], n_sel;
    int64_t mint, maxt;
    struct buf out;
    struct err err;
};

static void put_counts(struct json_writer *w, const char *key, const struct tsdb_count *c,
                       size_t n, struct arena *a)
{
    json_key(w, key);
    json_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        json_obj_begin(w);
        json_key(w, "name");
        json_str(w, c[i].value ? arena_printf(a, "%s=%s", c[i].name, c[i].value) : c[i].name);
        json_key(w, "value");
        json_uint(w, c[i].count);
        json_obj_end(w);
    }
    json_arr_end(w);
}

static void status_work(uv_work_t *wk)
{
    struct storage_job *j = wk->data;
    struct tsdb_stats st;
    struct tsdb_head_status hs;
    memset(&hs, 0, sizeof hs);
    tsdb_stats_get(j->app->db, &st);
    tsdb_head_status_get(j->app->db, &hs);
    struct json_writer w;
    json_init(&w, &j->out);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    json_key(&w, "headStats");
    json_obj_begin(&w);
    json_key(&w, "numSeries");
    json_uint(&w, st.head_series);
    json_key(&w, "numLabelPairs");
    json_uint(&w, hs.label_pairs);
    json_key(&w, "chunkCount");
    json_uint(&w, st.head_chunks);
    json_key(&w, "minTime");
    json_int(&w, st.head_series ? st.head_mint_ms : INT64_MAX);
    json_key(&w, "maxTime");
    json_int(&w, st.head_series ? st.head_maxt_ms : INT64_MIN);
    json_obj_end(&w);
    struct arena *a = j->req->arena;
    put_counts(&w, "seriesCountByMetricName", hs.by_metric, hs.n_by_metric, a);
    put_counts(&w, "labelValueCountByLabelName", hs.values_by_name, hs.n_values_by_name, a);
    put_counts(&w, "memoryInBytesByLabelName", hs.bytes_by_name, hs.n_bytes_by_name, a);
    put_counts(&w, "seriesCountByLabelValuePair", hs.by_pair, hs.n_by_pair, a);
    json_obj_end(&w);
    json_envelope_end(&w, NULL, 0);
    if (json_done(&w) < 0)
        err_set(&j->err, -ENOMEM, "out of memory encoding the response");
}

static void snapshot_work(uv_work_t *wk)
{
    struct storage_job *j = wk->data;
    char name[128];
    if (tsdb_snapshot(j->app->db, j->with_head, name, sizeof name, &j->err) < 0)
        return;
    struct json_writer w;
    json_init(&w, &j->out);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    json_key(&w, "name");
    json_str(&w, name);
    json_obj_end(&w);
    json_envelope_end(&w, NULL, 0);
    if (json_done(&w) < 0)
        err_set(&j->err, -ENOMEM, "out of memory encoding the response");
}

static void delete_work(uv_work_t *wk)
{
    struct storage_job *j = wk->data;
    for (size_t i = 0; i < j->n_sel; i++)
        if (tsdb_delete_series(j->app->db, j->ms[i], j->n_ms[i], j->mint, j->maxt, &j->err) < 0)
            return;
}

static void storage_after(uv_work_t *wk, int status)
{
    struct storage_job *j = wk->data;
    if (status < 0)
        err_set(&j->err, ERR_CANCELED, "canceled: server is shutting down");
    if (j->err.code == 0 && j->out.len == 0) {
        http_respond(j->req, 204, NULL, NULL, 0); /* delete_series, clean_tombstones */
    } else if (j->err.code) {
        const char *type;
        int code;
        api_error_type(j->err.code, &type, &code);
        http_respond_error(j->req, code, type, j->err.msg);
    } else {
        http_respond_buf(j->req, 200, "application/json", &j->out);
    }
    buf_free(&j->out);
    free(j);
}

static void queue_job(struct storage_job *j, uv_work_cb fn)
{
    struct http_request *req = j->req;
    j->work.data = j;
    if (uv_queue_work(j->app->loop, &j->work, fn, storage_after) < 0) {
        free(j);
        http_respond_error(req, 503, "unavailable", "server is shutting down");
    }
}

static void queue(struct http_request *req, struct app *app, int with_head, uv_work_cb fn)
{
    struct storage_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(req, 503, "unavailable", "out of memory");
        return;
    }
    *j = (struct storage_job){.app = app, .req = req, .with_head = with_head};
    queue_job(j, fn);
}

/* The admin API is refused unless --web.enable-admin-api: `unavailable` with 500, as
 * Prometheus answers (its error type has no status of its own there, so it gets the default). */
static int admin_enabled(struct http_request *req, struct app *app)
{
    if (!app->flags.enable_admin_api)
        http_respond_error(req, 500, "unavailable", "admin APIs disabled");
    return app->flags.enable_admin_api;
}

static struct http_form *admin_form(struct http_request *req)
{
    struct http_form *form;
    struct err e = {0};
    if (http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                        req->body_len, http_request_header(req, "content-type"), &form, &e) < 0) {
        http_respond_error(req, 400, "bad_data", e.msg);
        return NULL;
    }
    return form;
}

/* match[] selectors → matcher sets; start and end (default: all time). */
static int delete_params(struct storage_job *j, struct http_form *form, struct err *e)
{
    struct arena *a = j->req->arena;
    const struct http_form_pair *p;
    for (uint32_t pos = 0; (p = http_form_next(form, "match[]", &pos));) {
        struct promql_expr *x;
        struct promql_node_view v;
        if (j->n_sel == MAX_DELETE_SELECTORS)
            return err_set(e, ERR_PARSE, "at most %d match[] selectors", MAX_DELETE_SELECTORS);
        if (promql_parse(a, p->value, p->value_len, &x, e) < 0)
            return err_prefix(e, "invalid parameter \"match[]\": "), ERR_PARSE;
        promql_expr_view(x, &v);
        if (strcmp(v.type, "vectorSelector") != 0)
            return err_set(e, ERR_PARSE, "invalid parameter \"match[]\": %s is not a series "
                           "selector", p->value);
        j->ms[j->n_sel] = v.matchers;
        j->n_ms[j->n_sel++] = v.n_matchers;
    }
    if (j->n_sel == 0)
        return err_set(e, ERR_PARSE, "no match[] parameter provided");
    j->mint = INT64_MIN;
    j->maxt = INT64_MAX;
    const char *start = http_form_get(form, "start"), *end = http_form_get(form, "end");
    if (start && *start && api_params_time(start, &j->mint, e) < 0)
        return err_prefix(e, "invalid parameter \"start\": "), ERR_PARSE;
    if (end && *end && api_params_time(end, &j->maxt, e) < 0)
        return err_prefix(e, "invalid parameter \"end\": "), ERR_PARSE;
    return 0;
}

void api_admin_delete_series(struct http_request *req, struct app *app)
{
    struct http_form *form;
    if (!admin_enabled(req, app) || !(form = admin_form(req)))
        return;
    struct storage_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(req, 503, "unavailable", "out of memory");
        return;
    }
    j->app = app;
    j->req = req;
    struct err e = {0};
    if (delete_params(j, form, &e) < 0) {
        http_respond_error(req, 400, "bad_data", e.msg);
        free(j);
        return;
    }
    queue_job(j, delete_work);
}

/* Deletion rewrites blocks at once (tsdb/delete.c): no tombstones are left to clean. */
void api_admin_clean_tombstones(struct http_request *req, struct app *app)
{
    if (admin_enabled(req, app))
        http_respond(req, 204, NULL, NULL, 0);
}

void api_status_tsdb(struct http_request *req, struct app *app)
{
    queue(req, app, 0, status_work);
}

void api_admin_snapshot(struct http_request *req, struct app *app)
{
    struct http_form *form;
    if (!admin_enabled(req, app) || !(form = admin_form(req)))
        return;
    const char *skip = http_form_get(form, "skip_head");
    int skip_head = skip && (strcmp(skip, "true") == 0 || strcmp(skip, "1") == 0);
    if (skip && !skip_head && strcmp(skip, "false") != 0 && strcmp(skip, "0") != 0 && *skip) {
        http_respond_error(req, 400, "bad_data", "invalid parameter \"skip_head\": want a bool");
        return;
    }
    queue(req, app, !skip_head, snapshot_work);
}
