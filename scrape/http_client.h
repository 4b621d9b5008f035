/* scrape/http_client.h — one non-blocking HTTP/1.1 GET (or POST, for the Alertmanager notifier)
 * on the libuv loop: resolve, connect, TLS
 * (OpenSSL over memory BIOs) when asked, send, parse the response with llhttp, inflate gzip,
 * follow redirects when asked, enforce a deadline and a body size cap.
 * Loop thread only. The callback runs exactly once (on success, error, timeout or cancel).
 * Optionally keeps the connection alive for the caller's next request (opts.keep). */
#ifndef EMBER_SCRAPE_HTTP_CLIENT_H
#define EMBER_SCRAPE_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tsdb/base/base.h"

struct scrape_tls;

struct http_get_opts {
    const char *host;        /* name or address, without brackets */
    const char *port;        /* decimal */
    const char *path;        /* path and query, starting with '/' */
    const char *accept;      /* Accept header; NULL for none */
    const char *extra_headers; /* raw "Name: value\r\n" lines; NULL for none */
    int64_t timeout_ms;      /* whole request, from resolve to last body byte */
    size_t max_body;         /* decompressed body cap; 0: 64 MiB */
    /* Added for scrape_configs; zero keeps the plain-HTTP, gzip, no-redirect behaviour. */
    struct scrape_tls *tls;       /* non-NULL: speak TLS (https); referenced while running */
    const char *scheme;           /* "http" or "https", for redirects and messages; NULL: by tls */
    int identity_encoding;        /* 1: Accept-Encoding: identity instead of gzip */
    int max_redirects;            /* 3xx with Location followed this many times (Go: 10) */
    /* Keep-alive: non-NULL asks for a persistent connection. A request to the same host, port
     * and tls reuses the idle connection *keep holds (it goes out again once, on a new
     * connection, when the server had closed that one before answering); a complete response
     * that allows it (HTTP/1.1 without "Connection: close", body delimited by Content-Length or
     * chunking, no redirect followed) parks the connection in *keep before the callback runs.
     * The slot must outlive the idle connection: http_get_close_idle() it before freeing. An
     * idle connection the server closes, or idle for 5 minutes, clears *keep by itself. */
    struct http_get **keep;
    /* A request body makes it a POST (rules/notifier.c); NULL: GET. Copied. */
    const void *post_body;
    size_t post_len;
    const char *post_type;        /* Content-Type of the body */
};

struct http_get_result {
    int status;               /* HTTP status; 0 when the request failed */
    const char *content_type; /* NUL-terminated, "" when absent */
    const char *reason;       /* the status line's reason phrase ("Found"), "" when absent */
    struct buf body;          /* taken: the callback owns it and must buf_free() it */
};

/* err->code == 0 on success (whatever the status); else ERR_TIMEOUT, ERR_CANCELED, ERR_LIMIT,
 * ERR_PARSE or -errno, with a message such as "connect 127.0.0.1:9100: connection refused". */
typedef void (*http_get_cb)(void *ctx, struct http_get_result *res, const struct err *err);

struct http_get;
int http_get_start(uv_loop_t *loop, const struct http_get_opts *o, http_get_cb cb, void *ctx,
                   struct http_get **ret, struct err *e);
/* Aborts a running request; its callback runs with ERR_CANCELED before this returns or soon
 * after (when the handles close). */
void http_get_cancel(struct http_get *g);
/* Closes an idle connection parked in a keep slot and clears the slot; its handles close
 * asynchronously (the loop must run once more before uv_loop_close()). */
void http_get_close_idle(struct http_get *g);

#endif
