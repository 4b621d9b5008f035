/* server/api_v1.c — /api/v1 handlers. Parameters are decoded on the loop thread (cheap, bounded
 * by the request size limits); parsing, evaluation and JSON encoding of a query run on a libuv
 * worker, and the response is sent back on the loop in after_work. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "server/http_form.h"
#include "server/json.h"

void api_error_type(int code, const char **ret_type, int *ret_status)
{
    switch (code) {
    case ERR_PARSE:
        *ret_type = "bad_data", *ret_status = 400;
        break;
    case ERR_EXEC:
    case ERR_LIMIT:
        *ret_type = "execution", *ret_status = 422;
        break;
    case ERR_TIMEOUT:
        *ret_type = "timeout", *ret_status = 503;
        break;
    case ERR_CANCELED:
        *ret_type = "canceled", *ret_status = 503;
        break;
    case ERR_NOT_FOUND:
        *ret_type = "not_found", *ret_status = 404;
        break;
    case -ENOMEM:
    case ERR_UNAVAILABLE:
        *ret_type = "unavailable", *ret_status = 503;
        break;
    default:
        *ret_type = "internal", *ret_status = 500;
        break;
    }
}

static void respond_err(struct http_request *req, int code, const char *msg)
{
    const char *type;
    int status;
    api_error_type(code, &type, &status);
    http_respond_error(req, status, type, msg);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC3339 with optional fraction and Z or ±hh:mm. */
static int parse_rfc3339(const char *s, int64_t *ret_ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return -1;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6)
            return -1;
        off_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    *ret_ms = secs * 1000 + frac_ms;
    return 0;
}

/* A time parameter as Prometheus accepts it: float Unix seconds or RFC3339. */
static int parse_time_param(const char *s, int64_t *ret_ms)
{
    double v;
    if (num_parse_float(s, strlen(s), &v) == 0) {
        if (!isfinite(v) || fabs(v) > 9.2e15)
            return -1;
        *ret_ms = (int64_t) llround(v * 1000.0);
        return 0;
    }
    return parse_rfc3339(s, ret_ms);
}

struct query_job {
    uv_work_t work;
    struct app *app;
    struct http_request *req;
    const char *query; /* in req->arena */
    int64_t t_ms;
    struct buf out;
    struct err err;
};

static void encode_result(struct json_writer *w, const struct promql_result *res)
{
    json_key(w, "resultType");
    json_str(w, promql_value_type_name(res->type));
    json_key(w, "result");
    switch (res->type) {
    case PROMQL_SCALAR:
        json_scalar_pair(w, res->u.scalar.t, res->u.scalar.v);
        break;
    case PROMQL_STRING:
        json_string_pair(w, res->u.string.t, res->u.string.s, strlen(res->u.string.s));
        break;
    case PROMQL_VECTOR:
        json_arr_begin(w);
        for (size_t i = 0; i < res->u.vector.n; i++) {
            const struct promql_sample *s = &res->u.vector.v[i];
            json_obj_begin(w);
            json_key(w, "metric");
            json_labels(w, &s->metric);
            json_key(w, "value");
            json_sample_pair(w, s->t, s->v);
            json_obj_end(w);
        }
        json_arr_end(w);
        break;
    case PROMQL_MATRIX:
        json_arr_begin(w);
        for (size_t i = 0; i < res->u.matrix.n; i++) {
            const struct promql_series *s = &res->u.matrix.v[i];
            json_obj_begin(w);
            json_key(w, "metric");
            json_labels(w, &s->metric);
            json_key(w, "values");
            json_arr_begin(w);
            for (size_t k = 0; k < s->n_points; k++)
                json_sample_pair(w, s->points[k].t, s->points[k].v);
            json_arr_end(w);
            json_obj_end(w);
        }
        json_arr_end(w);
        break;
    case PROMQL_NONE:
        json_null(w);
        break;
    }
}

static void query_work(uv_work_t *wk)
{
    struct query_job *j = wk->data;
    struct arena *a = j->req->arena; /* the worker owns the request arena until after_work */
    struct promql_expr *x;
    int r = promql_parse(a, j->query, strlen(j->query), &x, &j->err);
    if (r < 0) {
        err_prefix(&j->err, "invalid parameter \"query\": ");
        return;
    }
    struct promql_result res;
    r = promql_eval_instant(j->app->engine, a, x, j->t_ms, &res, &j->err);
    if (r < 0)
        return;
    struct json_writer w;
    json_init(&w, &j->out);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    encode_result(&w, &res);
    json_obj_end(&w);
    json_envelope_end(&w, res.warnings, res.n_warnings);
    if (json_done(&w) < 0)
        err_set(&j->err, -ENOMEM, "out of memory encoding the response");
}

static void query_after(uv_work_t *wk, int status)
{
    struct query_job *j = wk->data;
    j->app->queries_running--;
    if (status < 0)
        err_set(&j->err, ERR_CANCELED, "query canceled");
    if (j->err.code != 0) {
        atomic_fetch_add(&j->app->query_errors, 1);
        respond_err(j->req, j->err.code, j->err.msg);
    } else {
        http_respond_buf(j->req, 200, "application/json", &j->out);
    }
    buf_free(&j->out);
    free(j);
}

void api_v1_query(struct http_request *req, struct app *app)
{
    struct http_form *form;
    struct err e = {0};
    const char *ct = http_request_header(req, "content-type");
    if (http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                        req->body_len, ct, &form, &e) < 0) {
        respond_err(req, ERR_PARSE, e.msg);
        return;
    }
    const char *q = http_form_get(form, "query");
    if (!q || !*q) {
        respond_err(req, ERR_PARSE, "invalid parameter \"query\": unknown position: parse error: "
                                    "no expression found in input");
        return;
    }
    int64_t t_ms = time_now_ms();
    const char *ts = http_form_get(form, "time");
    if (ts && *ts && parse_time_param(ts, &t_ms) < 0) {
        char msg[300];
        (void) snprintf(msg, sizeof msg,
                        "invalid parameter \"time\": cannot parse \"%.200s\" to a valid timestamp",
                        ts);
        respond_err(req, ERR_PARSE, msg);
        return;
    }
    if (app->queries_running >= (uint32_t) app->flags.max_concurrency) {
        respond_err(req, ERR_UNAVAILABLE, "too many concurrent queries");
        return;
    }
    struct query_job *j = calloc(1, sizeof *j);
    if (!j) {
        respond_err(req, -ENOMEM, "out of memory");
        return;
    }
    j->app = app;
    j->req = req;
    j->query = q;
    j->t_ms = t_ms;
    j->work.data = j;
    atomic_fetch_add(&app->queries_total, 1);
    app->queries_running++;
    if (uv_queue_work(app->loop, &j->work, query_work, query_after) < 0) {
        app->queries_running--;
        free(j);
        respond_err(req, ERR_UNAVAILABLE, "server is shutting down");
    }
}
