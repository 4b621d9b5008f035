/* server/webgate.c — per request, before routing: the web config's headers go on every response
 * (also on 401s, as exporter-toolkit sets them first), then basic auth, then for /api/v1 the CORS
 * headers Prometheus' API sets (util/httputil SetCORS) and its 204 answer to OPTIONS. */
#include "server/webgate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/base/re.h"

struct webgate {
    const struct webconfig *wc;
    struct auth *auth;
    struct re *cors; /* NULL: every origin ("*") */
    http_handler_fn next;
    void *next_ctx;
};

int webgate_new(uv_loop_t *loop, const struct webgate_opts *o, struct webgate **ret,
                struct err *e)
{
    struct webgate *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(e, -ENOMEM, "out of memory");
    g->wc = o->wc;
    g->next = o->next;
    g->next_ctx = o->next_ctx;
    int r = 0;
    const char *co = o->cors_origin ? o->cors_origin : ".*";
    /* Prometheus answers "*" exactly when the anchored pattern is ^(?:.*)$ */
    if (strcmp(co, ".*") != 0 && (r = re_compile(co, strlen(co), &g->cors, e)) < 0)
        err_prefix(e, "--web.cors.origin: ");
    if (r == 0 && o->wc && o->wc->n_users > 0)
        r = auth_new(loop, o->wc, &g->auth, e);
    if (r < 0) {
        webgate_free(g);
        return r;
    }
    *ret = g;
    return 0;
}

void webgate_free(struct webgate *g)
{
    if (!g)
        return;
    auth_free(g->auth);
    re_free(g->cors);
    free(g);
}

const struct auth *webgate_auth(const struct webgate *g) { return g ? g->auth : NULL; }

static int is_api(const struct http_request *req)
{
    return req->path_len >= 8 && !memcmp(req->path, "/api/v1/", 8);
}

static void set_cors(const struct webgate *g, struct http_request *req)
{
    const char *origin = http_request_header(req, "origin");
    if (!origin || !*origin)
        return;
    (void) http_response_header(req, "Access-Control-Allow-Headers",
                                "Accept, Authorization, Content-Type, Origin");
    (void) http_response_header(req, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    (void) http_response_header(req, "Access-Control-Expose-Headers", "Date");
    (void) http_response_header(req, "Vary", "Origin");
    if (!g->cors)
        (void) http_response_header(req, "Access-Control-Allow-Origin", "*");
    else if (re_match(g->cors, origin, strlen(origin)) == 1)
        (void) http_response_header(req, "Access-Control-Allow-Origin", origin);
}

/* After auth: CORS, then the router. */
static void pass(struct http_request *req, void *ctx)
{
    const struct webgate *g = ctx;
    if (is_api(req)) {
        set_cors(g, req);
        if (req->method == HTTP_METHOD_OPTIONS) {
            http_respond(req, 204, NULL, "", 0);
            return;
        }
    }
    g->next(req, g->next_ctx);
}

void webgate_dispatch(struct http_request *req, void *ctx)
{
    struct webgate *g = ctx;
    for (uint32_t i = 0; g->wc && i < g->wc->n_headers; i++)
        (void) http_response_header(req, g->wc->headers[i].name, g->wc->headers[i].value);
    auth_check(g->auth, req, pass, g);
}
