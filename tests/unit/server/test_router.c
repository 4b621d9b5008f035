/* tests/unit/server/test_router.c — routes, parameters, and Prometheus' (httprouter's) answers for
 * unknown paths (404 text), wrong methods (405 with Allow) and automatic OPTIONS. Requests go
 * through http_serve_bytes(), the socket-free connection driver. */
#include "server/router.h"

#include "test.h"

static char last[64];

static void h_name(struct http_request *req, void *ctx)
{
    (void) snprintf(last, sizeof last, "%s:%s", (const char *) ctx,
                    router_param(req, "name") ? router_param(req, "name") : "-");
    http_respond(req, 200, "text/plain", "ok", 2);
}

static void h_plain(struct http_request *req, void *ctx)
{
    (void) snprintf(last, sizeof last, "%s", (const char *) ctx);
    http_respond(req, 200, "text/plain", "ok", 2);
}

static void h_rest(struct http_request *req, void *ctx)
{
    (void) snprintf(last, sizeof last, "%s:%s", (const char *) ctx, router_param(req, "path"));
    http_respond(req, 200, "text/plain", "ok", 2);
}

static struct router *RT;
static char resp[8192];

static void serve(const char *raw)
{
    struct buf out = BUF_INIT;
    last[0] = '\0';
    ASSERT_EQ(http_serve_bytes(NULL, raw, strlen(raw), 0, router_dispatch, RT, &out), 0);
    size_t n = out.len < sizeof resp - 1 ? out.len : sizeof resp - 1;
    memcpy(resp, out.p, n);
    resp[n] = '\0';
    buf_free(&out);
}

static void setup(void)
{
    struct err e;
    unsigned get = HTTP_METHOD_BIT(HTTP_METHOD_GET), post = HTTP_METHOD_BIT(HTTP_METHOD_POST);
    RT = router_new();
    ASSERT_TRUE(RT != NULL);
    ASSERT_OK_E(router_add(RT, get | post, "/api/v1/query", h_plain, "query", &e), &e);
    ASSERT_OK_E(router_add(RT, get, "/api/v1/label/:name/values", h_name, "values", &e), &e);
    ASSERT_OK_E(router_add(RT, get, "/api/v1/label/__name__/values", h_plain, "static", &e), &e);
    ASSERT_OK_E(router_add(RT, get, "/static/*path", h_rest, "static", &e), &e);
    ASSERT_OK_E(router_add(RT, get, "/", h_plain, "root", &e), &e);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"

TEST(static_and_params)
{
    setup();
    serve(GET("/api/v1/query?query=up"));
    ASSERT_STR_CONTAINS(resp, "HTTP/1.1 200 OK\r\n");
    ASSERT_STR_EQ(last, "query");
    serve(GET("/api/v1/label/job/values"));
    ASSERT_STR_EQ(last, "values:job");
    serve(GET("/api/v1/label/a%2Fb/values")); /* decoded path: a/b splits the segment */
    ASSERT_STR_CONTAINS(resp, "HTTP/1.1 404 Not Found\r\n");
    serve(GET("/api/v1/label/a%20b/values"));
    ASSERT_STR_EQ(last, "values:a b");
    serve(GET("/api/v1/label/__name__/values")); /* static beats parameter */
    ASSERT_STR_EQ(last, "static");
    serve(GET("/static/js/app.js"));
    ASSERT_STR_EQ(last, "static:/js/app.js");
    serve(GET("/"));
    ASSERT_STR_EQ(last, "root");
    serve("GET http://localhost:9090/api/v1/query HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_STR_EQ(last, "query");
    router_free(RT);
}

TEST(not_found_is_plain_text)
{
    setup();
    serve(GET("/api/v1/nope"));
    ASSERT_STR_CONTAINS(resp, "HTTP/1.1 404 Not Found\r\n");
    ASSERT_STR_CONTAINS(resp, "Content-Type: text/plain; charset=utf-8\r\n");
    ASSERT_STR_CONTAINS(resp, "\r\n\r\n404 page not found\n");
    ASSERT_STR_EQ(last, "");
    serve(GET("/api/v1/query/")); /* trailing slash: no redirect, not found */
    ASSERT_STR_CONTAINS(resp, "404");
    serve(GET("/api/v1/label//values")); /* empty parameter does not match */
    ASSERT_STR_CONTAINS(resp, "404");
    router_free(RT);
}

TEST(method_not_allowed)
{
    setup();
    serve("POST /api/v1/label/job/values HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    ASSERT_STR_CONTAINS(resp, "HTTP/1.1 405 Method Not Allowed\r\n");
    ASSERT_STR_CONTAINS(resp, "Allow: GET, OPTIONS\r\n");
    ASSERT_STR_CONTAINS(resp, "\r\n\r\nMethod Not Allowed\n");
    serve("DELETE /api/v1/query HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_STR_CONTAINS(resp, "Allow: GET, OPTIONS, POST\r\n");
    serve("OPTIONS /api/v1/query HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_STR_CONTAINS(resp, "HTTP/1.1 200 OK\r\n");
    ASSERT_STR_CONTAINS(resp, "Allow: GET, OPTIONS, POST\r\n");
    ASSERT_STR_CONTAINS(resp, "Content-Length: 0\r\n");
    serve("HEAD /api/v1/query HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_STR_CONTAINS(resp, "405");
    router_free(RT);
}

TEST(bad_patterns)
{
    struct router *rt = router_new();
    struct err e;
    ASSERT_EQ(router_add(rt, 1, "nope", h_plain, NULL, &e), ERR_PARSE);
    ASSERT_EQ(router_add(rt, 1, "/a/:/b", h_plain, NULL, &e), ERR_PARSE);
    ASSERT_EQ(router_add(rt, 1, "/a/*rest/b", h_plain, NULL, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "'*' must be last");
    router_free(rt);
    router_free(NULL);
}

TEST(param_outside_route_is_null)
{
    setup();
    serve(GET("/api/v1/query"));
    ASSERT_STR_EQ(last, "query");
    serve(GET("/"));
    ASSERT_STR_EQ(last, "root");
    router_free(RT);
}
