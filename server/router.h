/* server/router.h — method + path → handler table, answering unknown paths and wrong methods the
 * way Prometheus' router (julienschmidt/httprouter) does:
 *   unknown path        404 text/plain "404 page not found\n"
 *   known path, method  405 text/plain "Method Not Allowed\n", Allow: GET, POST, OPTIONS
 *   OPTIONS, no route   200 empty with Allow (httprouter's automatic OPTIONS)
 * Patterns match the decoded path segment by segment: "/api/v1/label/:name/values" (":x" one
 * non-empty segment), "/static/" followed by "*path" ("*x" the rest, last only). Static routes
 * win over patterns; otherwise the first added matching route wins. Built at start-up, then
 * read-only: loop thread. */
#ifndef EMBER_SERVER_ROUTER_H
#define EMBER_SERVER_ROUTER_H

#include <stdint.h>

#include "server/http.h"

struct router;

struct router *router_new(void); /* NULL on ENOMEM */
void router_free(struct router *rt); /* NULL is fine */

/* methods: HTTP_METHOD_BIT(HTTP_METHOD_GET) | …; pattern is copied. ERR_PARSE for a malformed
 * pattern (not starting with '/', empty parameter name, '*' not last), -ENOMEM. */
int router_add(struct router *rt, unsigned methods, const char *pattern, http_handler_fn fn,
               void *ctx, struct err *e);

/* An http_handler_fn: pass the router as ctx to http_server_open(). */
void router_dispatch(struct http_request *req, void *rt);

/* Value of a ":name"/"*name" parameter of the matched route (arena; "*" values keep their
 * leading '/'), or NULL. Valid in the handler and its worker until the response. */
const char *router_param(const struct http_request *req, const char *name);

#endif
