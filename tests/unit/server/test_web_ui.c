/* tests/unit/server/test_web_ui.c — the embedded UI as served: content types, ETag and 304,
 * gzip versus identity, the / redirect, HEAD, and path traversal attempts (all 404). Requests
 * go through the real router and http_serve_bytes(), the socket-free connection driver. */
#include <zlib.h>

#include "server/app.h"
#include "test.h"
#include "web/web.h"

static struct router *RT;

static void call(struct http_request *req, void *ctx)
{
    const struct app_route *r = ctx;
    r->fn(req, NULL); /* the UI handlers do not use the app */
}

static struct app_route bind_root = {NULL, web_ui_root}, bind_page = {NULL, web_ui_page},
                        bind_static = {NULL, web_ui_static};

static void setup(void)
{
    struct err e;
    unsigned m = HTTP_METHOD_BIT(HTTP_METHOD_GET) | HTTP_METHOD_BIT(HTTP_METHOD_HEAD);
    RT = router_new();
    ASSERT_TRUE(RT != NULL);
    ASSERT_OK_E(router_add(RT, m, "/", call, &bind_root, &e), &e);
    ASSERT_OK_E(router_add(RT, m, "/graph", call, &bind_page, &e), &e);
    ASSERT_OK_E(router_add(RT, m, "/targets", call, &bind_page, &e), &e);
    ASSERT_OK_E(router_add(RT, m, "/static/*path", call, &bind_static, &e), &e);
}

/* A parsed response: head NUL-terminated, body pointing after it (into out). */
struct resp {
    struct buf out;
    char head[4096];
    const uint8_t *body;
    size_t body_len;
};

static void serve(struct resp *r, const char *raw)
{
    r->out = (struct buf) BUF_INIT;
    ASSERT_EQ(http_serve_bytes(NULL, raw, strlen(raw), 0, router_dispatch, RT, &r->out), 0);
    const char *p = (const char *) r->out.p;
    const char *end = r->out.len ? memmem(p, r->out.len, "\r\n\r\n", 4) : NULL;
    ASSERT_TRUE(end != NULL);
    size_t hl = (size_t) (end - p) + 4;
    ASSERT_TRUE(hl < sizeof r->head);
    memcpy(r->head, p, hl);
    r->head[hl] = '\0';
    r->body = r->out.p + hl;
    r->body_len = r->out.len - hl;
}

static const struct web_asset *asset(const char *name)
{
    const struct web_asset *a = web_asset_find(name, strlen(name));
    ASSERT_TRUE(a != NULL);
    return a;
}

#define REQ(path, extra) "GET " path " HTTP/1.1\r\nHost: x\r\n" extra "\r\n"

TEST(pages_are_index_html_with_validators)
{
    setup();
    const struct web_asset *idx = asset("index.html");
    struct resp r;
    serve(&r, REQ("/graph?g0.expr=up&g0.tab=1", ""));
    ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 200 OK\r\n");
    ASSERT_STR_CONTAINS(r.head, "Content-Type: text/html; charset=utf-8\r\n");
    ASSERT_STR_CONTAINS(r.head, "Cache-Control: no-cache\r\n");
    ASSERT_STR_CONTAINS(r.head, "Vary: Accept-Encoding\r\n");
    char etag[64];
    (void) snprintf(etag, sizeof etag, "ETag: %s\r\n", idx->etag);
    ASSERT_STR_CONTAINS(r.head, etag);
    ASSERT_TRUE(strstr(r.head, "Content-Encoding") == NULL);
    ASSERT_EQ(r.body_len, idx->raw_len);
    ASSERT_MEM_EQ(r.body, idx->raw, idx->raw_len);
    buf_free(&r.out);
    serve(&r, REQ("/targets", ""));
    ASSERT_EQ(r.body_len, idx->raw_len);
    buf_free(&r.out);
    router_free(RT);
}

TEST(content_types)
{
    setup();
    static const char *const want[][2] = {
        {"/static/app.js", "Content-Type: text/javascript; charset=utf-8\r\n"},
        {"/static/graph.js", "Content-Type: text/javascript; charset=utf-8\r\n"},
        {"/static/pages.js", "Content-Type: text/javascript; charset=utf-8\r\n"},
        {"/static/style.css", "Content-Type: text/css; charset=utf-8\r\n"},
        {"/static/favicon.svg", "Content-Type: image/svg+xml\r\n"},
        {"/static/index.html", "Content-Type: text/html; charset=utf-8\r\n"},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        char raw[256];
        (void) snprintf(raw, sizeof raw, REQ("%s", ""), want[i][0]);
        struct resp r;
        serve(&r, raw);
        ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 200 OK\r\n");
        ASSERT_STR_CONTAINS(r.head, want[i][1]);
        buf_free(&r.out);
    }
    router_free(RT);
}

static void inflate_all(const uint8_t *p, size_t n, struct buf *out)
{
    z_stream z = {0};
    ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
    uint8_t tmp[16384];
    z.next_in = (Bytef *) (uintptr_t) p;
    z.avail_in = (uInt) n;
    int r;
    do {
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        r = inflate(&z, Z_NO_FLUSH);
        ASSERT_TRUE(r == Z_OK || r == Z_STREAM_END);
        ASSERT_OK(buf_append(out, tmp, sizeof tmp - z.avail_out));
    } while (r != Z_STREAM_END);
    inflateEnd(&z);
}

TEST(gzip_when_accepted_identity_otherwise)
{
    setup();
    const struct web_asset *js = asset("app.js");
    struct resp r;
    serve(&r, REQ("/static/app.js", "Accept-Encoding: br, gzip;q=0.8\r\n"));
    ASSERT_STR_CONTAINS(r.head, "Content-Encoding: gzip\r\n");
    ASSERT_STR_CONTAINS(r.head, "Vary: Accept-Encoding\r\n");
    ASSERT_EQ(r.body_len, js->gz_len);
    ASSERT_TRUE(js->gz_len < js->raw_len / 2); /* text compresses well: the point of storing it */
    struct buf plain = BUF_INIT;
    inflate_all(r.body, r.body_len, &plain);
    ASSERT_EQ(plain.len, js->raw_len);
    ASSERT_MEM_EQ(plain.p, js->raw, js->raw_len);
    buf_free(&plain);
    buf_free(&r.out);
    serve(&r, REQ("/static/app.js", "Accept-Encoding: gzip;q=0, identity\r\n"));
    ASSERT_TRUE(strstr(r.head, "Content-Encoding") == NULL);
    ASSERT_EQ(r.body_len, js->raw_len);
    ASSERT_MEM_EQ(r.body, js->raw, js->raw_len);
    buf_free(&r.out);
    router_free(RT);
}

TEST(every_embedded_file_round_trips)
{
    ASSERT_TRUE(web_assets_len >= 6);
    for (size_t i = 0; i < web_assets_len; i++) {
        const struct web_asset *a = &web_assets[i];
        ASSERT_TRUE(web_asset_find(a->name, strlen(a->name)) == a);
        ASSERT_EQ(strlen(a->etag), 18); /* quotes around 16 hex digits */
        ASSERT_TRUE(a->etag[0] == '"' && a->etag[17] == '"');
        struct buf plain = BUF_INIT;
        inflate_all(a->gz, a->gz_len, &plain);
        ASSERT_EQ(plain.len, a->raw_len);
        ASSERT_MEM_EQ(plain.p, a->raw, a->raw_len);
        buf_free(&plain);
        for (size_t j = 0; j < i; j++)
            ASSERT_TRUE(strcmp(web_assets[j].etag, a->etag) != 0);
    }
}

TEST(etag_revalidation_answers_304)
{
    setup();
    const struct web_asset *css = asset("style.css");
    char raw[512];
    const char *forms[] = {"%s", "W/%s", "\"nope\", %s", "*"};
    for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
        char inm[128];
        (void) snprintf(inm, sizeof inm, forms[i], css->etag);
        (void) snprintf(raw, sizeof raw,
                        "GET /static/style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                        "If-None-Match: %s\r\n\r\n",
                        inm);
        struct resp r;
        serve(&r, raw);
        ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 304 Not Modified\r\n");
        ASSERT_STR_CONTAINS(r.head, css->etag);
        ASSERT_EQ(r.body_len, 0);
        buf_free(&r.out);
    }
    (void) snprintf(raw, sizeof raw,
                    "GET /static/style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"%s\"\r\n\r\n",
                    "0000000000000000");
    struct resp r;
    serve(&r, raw);
    ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 200 OK\r\n");
    ASSERT_EQ(r.body_len, css->raw_len);
    buf_free(&r.out);
    ASSERT_FALSE(web_etag_matches(NULL, css->etag));
    ASSERT_FALSE(web_etag_matches("", css->etag));
    router_free(RT);
}

TEST(root_redirects_to_graph_and_head_has_no_body)
{
    setup();
    struct resp r;
    serve(&r, REQ("/", ""));
    ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 302 Found\r\n");
    ASSERT_STR_CONTAINS(r.head, "Location: /graph\r\n");
    buf_free(&r.out);
    serve(&r, "HEAD /graph HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_STR_CONTAINS(r.head, "HTTP/1.1 200 OK\r\n");
    char cl[64];
    (void) snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", asset("index.html")->raw_len);
    ASSERT_STR_CONTAINS(r.head, cl);
    ASSERT_EQ(r.body_len, 0);
    buf_free(&r.out);
    router_free(RT);
}

TEST(traversal_and_unknown_names_are_404)
{
    setup();
    static const char *const bad[] = {
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/static/..%5c..%5cetc%5cpasswd",
        "/static//etc/passwd",
        "/static/./app.js",
        "/static/app.js%00.png",
        "/static/app.js/",
        "/static/",
        "/static/nope.js",
        "/static/APP.JS",
        "/static/%252e%252e%252fetc%252fpasswd",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char raw[256];
        (void) snprintf(raw, sizeof raw, REQ("%s", ""), bad[i]);
        struct resp r;
        serve(&r, raw);
        if (!strstr(r.head, "HTTP/1.1 404 Not Found\r\n"))
            test_fail(__FILE__, __LINE__, "%s: %s", bad[i], r.head);
        ASSERT_TRUE(r.body_len < 64);
        ASSERT_TRUE(memmem(r.body, r.body_len, "root:", 5) == NULL);
        buf_free(&r.out);
    }
    ASSERT_TRUE(web_asset_find("../index.html", 13) == NULL);
    ASSERT_TRUE(web_asset_find("index.html\0x", 12) == NULL);
    ASSERT_TRUE(web_asset_find("", 0) == NULL);
    router_free(RT);
}
