/* server/web_ui.c — serves the embedded browser UI (web/): "/" redirects to /graph like
 * Prometheus; each UI page (/graph, /targets, …) is the one single-page app index.html, which
 * routes on the path in the browser; /static/<name> are its scripts, styles and icons.
 *
 * Caching: every answer carries a strong ETag and "Cache-Control: no-cache", so browsers keep
 * the bytes and revalidate each use with a cheap 304 (no stale UI after an upgrade).
 * Encoding: gzip bytes made at build time when the client accepts gzip, else the raw bytes.
 * Paths are looked up by exact name in the built-in table: nothing touches the file system, so
 * "..", encoded slashes or NUL bytes simply find no entry and get 404. */
#include <string.h>

#include "app.h"
#include "web/web.h"

static void respond_asset(struct http_request *req, const struct web_asset *a)
{
    const char *inm = http_request_header(req, "If-None-Match");
    int e = http_response_header(req, "ETag", a->etag);
    if (e >= 0)
        e = http_response_header(req, "Cache-Control", "no-cache");
    if (e >= 0 && web_etag_matches(inm, a->etag)) {
        e = http_response_header(req, "Vary", "Accept-Encoding");
        if (e >= 0) {
            http_respond(req, 304, NULL, NULL, 0);
            return;
        }
    }
    if (e >= 0 && req->accept_gzip) {
        struct buf b = BUF_INIT;
        /* A copy, because http_respond_gzipped takes a heap buffer; a few KiB per request. */
        if (buf_append(&b, a->gz, a->gz_len) >= 0) {
            http_respond_gzipped(req, 200, a->content_type, &b);
            return;
        }
        buf_free(&b);
        e = -1;
    }
    if (e >= 0)
        e = http_response_header(req, "Vary", "Accept-Encoding");
    if (e < 0) {
        static const char oom[] = "out of memory\n";
        http_respond(req, 503, "text/plain; charset=utf-8", oom, sizeof oom - 1);
        return;
    }
    http_respond(req, 200, a->content_type, a->raw, a->raw_len);
}

static void not_found(struct http_request *req)
{
    static const char body[] = "404 page not found\n"; /* the router's own 404 text */
    http_respond(req, 404, "text/plain; charset=utf-8", body, sizeof body - 1);
}

void web_ui_root(struct http_request *req, struct app *app)
{
    (void) app;
    static const char body[] = "<a href=\"/graph\">Found</a>.\n\n";
    if (http_response_header(req, "Location", "/graph") < 0) {
        not_found(req);
        return;
    }
    http_respond(req, 302, "text/html; charset=utf-8", body, sizeof body - 1);
}

void web_ui_page(struct http_request *req, struct app *app)
{
    (void) app;
    const struct web_asset *a = web_asset_find("index.html", strlen("index.html"));
    if (!a)
        not_found(req);
    else
        respond_asset(req, a);
}

void web_ui_static(struct http_request *req, struct app *app)
{
    (void) app;
    const char *p = router_param(req, "path"); /* "/app.js": the rest after /static */
    const struct web_asset *a = NULL;
    /* A %00 in the path would cut the parameter short: such paths name no asset. */
    if (p && p[0] == '/' && !memchr(req->path, '\0', req->path_len))
        a = web_asset_find(p + 1, strlen(p + 1));
    if (!a)
        not_found(req);
    else
        respond_asset(req, a);
}
