/* server/api_v1.c — /api/v1 handlers. Parameters are decoded and checked on the loop thread
 * (cheap, bounded by the request size limits) in Prometheus' order and words; the PromQL work
 * itself (parse, evaluate, encode) goes to the query lane (api_query.c). */
#include <errno.h>

#include "app.h"
#include "server/api_params.h"
#include "server/http_form.h"

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

void api_respond_err(struct http_request *req, int code, const char *msg)
{
    const char *type;
    int status;
    api_error_type(code, &type, &status);
    http_respond_error(req, status, type, msg);
}

struct http_form *api_request_form(struct http_request *req)
{
    struct http_form *form;
    struct err e = {0};
    const char *ct = http_request_header(req, "content-type");
    if (http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                        req->body_len, ct, &form, &e) < 0) {
        api_respond_err(req, e.code, e.msg);
        return NULL;
    }
    return form;
}

/* First value of a parameter, "" when absent (Go's FormValue). */
static const char *param(const struct http_form *f, const char *key)
{
    const char *v = http_form_get(f, key);
    return v ? v : "";
}

/* The query text with its length: a %00 in it stays, for the parser to refuse. */
static void query_param(const struct http_form *f, struct api_query_spec *s)
{
    uint32_t pos = 0;
    const struct http_form_pair *p = http_form_next(f, "query", &pos);
    s->query = p ? p->value : "";
    s->query_len = p ? p->value_len : 0;
}

/* The optional timeout parameter; answers 400 and returns -1 when it does not parse. */
static int timeout_param(struct http_request *req, const struct http_form *f,
                         struct api_query_spec *s)
{
    const char *to = param(f, "timeout");
    if (!*to)
        return 0;
    struct err e = {0};
    if (api_params_duration(to, &s->timeout_ns, &e) < 0) {
        (void) err_prefix(&e, "invalid parameter \"timeout\": ");
        api_respond_err(req, e.code, e.msg);
        return -1;
    }
    s->has_timeout = 1;
    return 0;
}

void api_v1_query(struct http_request *req, struct app *app)
{
    struct http_form *form = api_request_form(req);
    if (!form)
        return;
    struct api_query_spec s = {.kind = API_QUERY_INSTANT, .t_ms = time_now_ms()};
    const char *ts = param(form, "time");
    struct err e = {0};
    if (*ts && api_params_time(ts, &s.t_ms, &e) < 0) {
        (void) err_prefix(&e, "invalid parameter \"time\": Invalid time value for 'time': ");
        api_respond_err(req, e.code, e.msg);
        return;
    }
    if (timeout_param(req, form, &s) < 0)
        return;
    query_param(form, &s);
    s.stats = *param(form, "stats") != '\0';
    api_query_submit(app, req, &s);
}

void api_v1_query_range(struct http_request *req, struct app *app)
{
    struct http_form *form = api_request_form(req);
    if (!form)
        return;
    struct api_query_spec s = {.kind = API_QUERY_RANGE};
    struct api_range rg;
    struct err e = {0};
    if (api_params_range(param(form, "start"), param(form, "end"), param(form, "step"), &rg,
                         &e) < 0) {
        api_respond_err(req, e.code, e.msg);
        return;
    }
    s.start_ms = rg.start_ms;
    s.end_ms = rg.end_ms;
    s.step_ms = rg.step_ms;
    if (timeout_param(req, form, &s) < 0)
        return;
    query_param(form, &s);
    s.stats = *param(form, "stats") != '\0';
    api_query_submit(app, req, &s);
}

static void parse_only(struct http_request *req, struct app *app, enum api_query_kind kind)
{
    struct http_form *form = api_request_form(req);
    if (!form)
        return;
    struct api_query_spec s = {.kind = kind};
    query_param(form, &s);
    api_query_submit(app, req, &s);
}

void api_v1_format_query(struct http_request *req, struct app *app)
{
    parse_only(req, app, API_QUERY_FORMAT);
}

void api_v1_parse_query(struct http_request *req, struct app *app)
{
    parse_only(req, app, API_QUERY_PARSE);
}
