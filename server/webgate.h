/* server/webgate.h — what stands between the HTTP server and the router: the web config's
 * security headers, basic auth, and CORS on /api/v1 (--web.cors.origin). Loop thread only. */
#ifndef EMBER_SERVER_WEBGATE_H
#define EMBER_SERVER_WEBGATE_H

#include <uv.h>

#include "server/auth.h"
#include "server/http.h"
#include "server/webconfig.h"

struct webgate;

struct webgate_opts {
    const struct webconfig *wc; /* NULL: no auth, no extra headers; borrowed until free */
    const char *cors_origin;    /* regex, anchored as Prometheus does; NULL means ".*" */
    http_handler_fn next;       /* the router */
    void *next_ctx;
};

/* ERR_PARSE naming --web.cors.origin for a bad regex. */
int webgate_new(uv_loop_t *loop, const struct webgate_opts *o, struct webgate **ret,
                struct err *e);
void webgate_free(struct webgate *g); /* after the loop ran dry; NULL is fine */
/* The http_handler_fn to give http_server_open, with g as its ctx. */
void webgate_dispatch(struct http_request *req, void *g);
const struct auth *webgate_auth(const struct webgate *g);

#endif
