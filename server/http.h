/* server/http.h — HTTP/1.1 server on a libuv loop (llhttp): keep-alive, pipelining, limits with a
 * clear 4xx each, asynchronous responses, gzip, graceful close.
 *
 * Threads: everything here runs on the loop thread, except http_gzip() and reading the fields of a
 * request (and allocating from req->arena) on the one worker its handler handed it to. While that
 * worker runs, the loop does not touch req; http_respond*() must then be called back on the loop
 * (lanes' after-work callback). */
#ifndef EMBER_SERVER_HTTP_H
#define EMBER_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tsdb/base/base.h"

/* Every user-controllable resource has a limit (STYLE §3). http_limits_default() fills these. */
struct http_limits {
    uint32_t max_connections;   /* 512; beyond: 503 JSON and close */
    size_t max_url_bytes;       /* 32 KiB request target → 414 */
    size_t max_header_bytes;    /* 64 KiB request line + headers → 431 */
    uint32_t max_headers;       /* 128 header fields → 431 */
    size_t max_body_bytes;      /* 10 MiB, Content-Length or chunked → 413 */
    size_t arena_bytes;         /* 256 MiB per-request arena cap */
    uint64_t header_timeout_ms; /* 30 s from a request's first byte to the end of its headers
                                 * (slowloris) → 408 and close */
    uint64_t read_timeout_ms;   /* 5 min from a request's first byte to its last (Prometheus'
                                 * --web.read-timeout) → 408 and close */
    uint64_t idle_timeout_ms;   /* 2 min keep-alive idle between requests → silent close */
    uint64_t write_timeout_ms;  /* 2 min without a queued response draining → close */
    uint64_t linger_ms;         /* 500 ms reading and discarding after a closing response, so
                                 * unread request bytes do not turn FIN into RST (Go does too) */
    uint64_t shutdown_grace_ms; /* 5 s: http_server_close waits this long for requests in flight */
    size_t write_queue_cap;     /* 4 MiB queued for the socket: stop parsing further requests */
    size_t gzip_min_bytes;      /* 1 KiB: smaller bodies are sent as they are */
    size_t gzip_loop_max_bytes; /* 128 KiB: larger bodies are compressed only by the worker that
                                 * made them (http_gzip + http_respond_gzipped), keeping the loop
                                 * free of long CPU work */
    uint32_t spin_us;           /* 50 µs: after a response the loop polls without sleeping this
                                 * long (see on_spin in http.c); 0 turns it off */
};
void http_limits_default(struct http_limits *l);

enum http_method {
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_OTHER, /* see method_name */
    _HTTP_METHOD_MAX
};
#define HTTP_METHOD_BIT(m) (1u << (m))
const char *http_method_name(enum http_method m); /* "GET", …; "OTHER" */

/* One request. Strings are NUL-terminated and live in req->arena unless noted. The object stays
 * valid until one http_respond*() call, even if the client goes away meanwhile (the response is
 * then dropped); after that call req and its arena are gone. */
struct http_request {
    struct arena *arena;     /* capped (arena_bytes); freed when the response is written */
    enum http_method method;
    const char *method_name; /* as sent: "GET", "PROPFIND" */
    const char *path;        /* percent-decoded (not '+'), without the query: "/api/v1/query" */
    size_t path_len;         /* may differ from strlen(path) after %00 */
    const char *raw_path;    /* as sent, before '?' */
    const char *query;       /* raw query string after '?', not decoded; "" when none */
    size_t query_len;
    const char *body;        /* the whole body (chunked decoded), NUL-terminated; "" when none */
    size_t body_len;
    const char *remote_addr; /* "127.0.0.1:54321", "[::1]:54321" */
    uint8_t http_major, http_minor;
    uint8_t accept_gzip;     /* Accept-Encoding allows gzip */
    void *route;             /* reserved for server/router.c (matched parameters) */
};

/* Called on the loop thread once per request; must eventually call one http_respond*() (now or
 * later, on the loop thread). */
typedef void (*http_handler_fn)(struct http_request *req, void *ctx);

/* First value of a request header (name case-insensitive), or NULL. Borrowed (arena). */
const char *http_request_header(const struct http_request *req, const char *name);
/* i-th header in arrival order (names lowercased); 0 on success, -1 past the end. */
int http_request_header_at(const struct http_request *req, uint32_t i, const char **ret_name,
                           const char **ret_value);

/* Called on the loop thread when the connection dies before the response was sent, so a long
 * query can be canceled. The callback must not free or respond: it may only set a flag that the
 * worker polls; the handler still responds (the bytes are dropped). Replaces a previous one. */
void http_request_on_abort(struct http_request *req, void (*fn)(void *arg), void *arg);
int http_request_aborted(const struct http_request *req); /* loop thread */
/* Called on the loop thread as the response is sent (or dropped: the client went away), with its
 * status, for request metrics. req is still valid during the call. Replaces a previous one. */
void http_request_on_respond(struct http_request *req,
                             void (*fn)(void *arg, const struct http_request *req, int status),
                             void *arg);

/* Adds a response header (copied into the arena) before responding: "Allow", "WWW-Authenticate",
 * "Cache-Control". -ENOMEM/ERR_LIMIT, or ERR_PARSE when name or value holds CR, LF or NUL. */
int http_response_header(struct http_request *req, const char *name, const char *value);

/* Responses. Content-Length, Date and Connection are added; HEAD gets no body; 1xx, 204 and 304
 * get neither body nor Content-Length. Bodies of gzip_min_bytes..gzip_loop_max_bytes are gzipped
 * on the loop when req->accept_gzip. All end the request (see struct http_request). */
/* body: borrowed until the response is written (arena memory and static data qualify). */
void http_respond(struct http_request *req, int status, const char *content_type,
                  const void *body, size_t len);
/* body: taken (freed after writing; *body is left empty). */
void http_respond_buf(struct http_request *req, int status, const char *content_type,
                      struct buf *body);
/* body: taken; already gzip-encoded by http_gzip(), sent with Content-Encoding: gzip. Use only
 * when req->accept_gzip. */
void http_respond_gzipped(struct http_request *req, int status, const char *content_type,
                          struct buf *body);
/* Prometheus error body {"status":"error","errorType":…,"error":…}, application/json. */
void http_respond_error(struct http_request *req, int status, const char *error_type,
                        const char *msg);

/* gzip of p..p+n appended to out, for workers that produced a large body (any thread).
 * level: 1 (fast) … 9; -1 zlib's default. -ENOMEM or ERR_INTERNAL with e filled. */
int http_gzip(const void *p, size_t n, int level, struct buf *out, struct err *e);
/* Accept-Encoding value allows gzip (a gzip, x-gzip or * coding with q > 0). */
int http_accepts_gzip(const char *accept_encoding);

/* The server. listen: "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks a free
 * one (http_server_port). Host names are resolved synchronously: call at start-up. lim NULL means
 * defaults; handler runs for every well-formed request. */
struct http_server;
int http_server_open(uv_loop_t *loop, const char *listen, const struct http_limits *lim,
                     http_handler_fn handler, void *ctx, struct http_server **ret,
                     struct err *e);
int http_server_port(const struct http_server *s);
/* Stops accepting, closes idle connections at once, lets requests in flight finish for up to
 * shutdown_grace_ms, closes every handle, frees s, then calls cb(arg) on the loop. Requests whose
 * handler has not responded yet stay valid and must still be responded to (dropped). NULL s:
 * cb is called at once. */
void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg);

/* TLS for every connection (OpenSSL over memory BIOs, so libuv keeps owning the socket). Call
 * once after http_server_open, before the loop runs. Files are read now (blocking: start-up).
 * A bad certificate, key or CA file: ERR_PARSE naming the file and OpenSSL's reason. */
enum http_tls_client_auth { /* Go's tls.ClientAuthType */
    HTTP_TLS_NO_CLIENT_CERT,
    HTTP_TLS_REQUEST_CLIENT_CERT,
    HTTP_TLS_REQUIRE_ANY_CLIENT_CERT,
    HTTP_TLS_VERIFY_CLIENT_CERT_IF_GIVEN,
    HTTP_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT,
};
struct http_tls_opts {
    const char *cert_file, *key_file; /* PEM; the cert file may hold the chain */
    const char *client_ca_file;       /* PEM; NULL: none */
    enum http_tls_client_auth client_auth;
    int min_version, max_version; /* 0x0301 (TLS 1.0) … 0x0304 (TLS 1.3); 0: library default */
};
int http_server_use_tls(struct http_server *s, const struct http_tls_opts *o, struct err *e);

struct http_server_stats {
    uint64_t connections_accepted, connections_rejected, requests, bad_requests, timeouts,
        tls_handshake_failures;
    uint32_t connections_open;
};
void http_server_stats(const struct http_server *s, struct http_server_stats *ret);

/* Tests and fuzzing: runs the connection state machine over bytes as if they arrived on one
 * socket in pieces of `chunk` bytes (0: all at once), then end of stream, without a loop.
 * handler must respond before returning; response bytes are appended to out. */
int http_serve_bytes(const struct http_limits *lim, const void *p, size_t n, size_t chunk,
                     http_handler_fn handler, void *ctx, struct buf *out);

#endif
