/* server/http_request.c — building a request from llhttp's callbacks: request line, header
 * fields with their byte and count limits, the request target split and decoded, the body with
 * its size limit; and the accessors handlers read a request through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/http_conn.h"
#include "server/http_form.h"
#include "tsdb/base/sanitizer.h"

static const char *const method_names[] = {"GET",    "HEAD",    "POST",  "PUT",
                                           "DELETE", "OPTIONS", "PATCH", "OTHER"};

const char *http_method_name(enum http_method m)
{
    return (unsigned) m < ARRAY_LEN(method_names) ? method_names[m] : "OTHER";
}

/* --- requests --- */

/* Arenas of finished requests are kept for the next ones (loop thread only): a keep-alive
 * request then costs no arena allocation. Sanitizer builds free them instead, so that ASan
 * still sees a use after free of request memory. */
#define ARENA_RECYCLE (!EMBER_ASAN)

struct req *http_req_new(struct conn *c)
{
    struct http_server *s = c->srv;
    struct arena *a = s->n_spare ? s->spare[--s->n_spare] : arena_new(s->lim.arena_bytes);
    if (!a)
        return NULL;
    struct req *r = arena_calloc(a, 1, sizeof *r);
    if (!r) {
        arena_free(a);
        return NULL;
    }
    r->pub.arena = a;
    r->pub.method = HTTP_METHOD_OTHER;
    r->pub.method_name = "";
    r->pub.path = r->pub.raw_path = r->pub.query = r->pub.body = "";
    r->pub.remote_addr = arena_strdup(a, c->remote);
    if (!r->pub.remote_addr)
        r->pub.remote_addr = "";
    r->conn = c;
    r->keep_alive = 1;
    return r;
}

void http_req_free(struct req *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    buf_free(&r->own[0]);
    buf_free(&r->own[1]);
    buf_free(&r->head);
    buf_free(&r->extra);
    /* r lives in its arena. A detached request may outlive its server: no recycling then. */
    struct arena *a = r->pub.arena;
    struct http_server *s = r->conn ? r->conn->srv : NULL;
    if (ARENA_RECYCLE && s && s->n_spare < HTTP_SPARE_ARENAS) {
        arena_reset(a);
        s->spare[s->n_spare++] = a;
    } else {
        arena_free(a);
    }
}

void http_spare_arenas_free(struct http_server *s)
{
    while (s->n_spare > 0)
        arena_free(s->spare[--s->n_spare]);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    const struct req *r = to_creq(req);
    for (uint32_t i = 0; i < r->n_hdrs; i++)
        if (!strcasecmp(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    return NULL;
}

int http_request_header_at(const struct http_request *req, uint32_t i, const char **ret_name,
                           const char **ret_value)
{
    const struct req *r = to_creq(req);
    if (i >= r->n_hdrs)
        return -1;
    *ret_name = r->hdrs[i].name;
    *ret_value = r->hdrs[i].value;
    return 0;
}

void http_request_on_abort(struct http_request *req, void (*fn)(void *arg), void *arg)
{
    struct req *r = to_req(req);
    r->abort_fn = fn;
    r->abort_arg = arg;
}

int http_request_aborted(const struct http_request *req) { return to_creq(req)->aborted; }

void http_request_on_respond(struct http_request *req,
                             void (*fn)(void *arg, const struct http_request *req, int status),
                             void *arg)
{
    struct req *r = to_req(req);
    r->respond_fn = fn;
    r->respond_arg = arg;
}


/* --- llhttp callbacks: build c->cur --- */

static struct conn *pconn(llhttp_t *p) { return p->data; }

static int fail_cb(struct conn *c, int status, const char *fmt, const char *arg)
{
    c->err_status = status;
    (void) snprintf(c->err_msg, sizeof c->err_msg, fmt, arg);
    return -1;
}

static int count_header_bytes(struct conn *c, size_t n)
{
    c->hdr_bytes += n;
    if (c->hdr_bytes > c->srv->lim.max_header_bytes) {
        char lim[24];
        (void) snprintf(lim, sizeof lim, "%zu", c->srv->lim.max_header_bytes);
        return fail_cb(c, 431, "request header fields too large (limit %s bytes)", lim);
    }
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct conn *c = pconn(p);
    c->cur = http_req_new(c);
    if (!c->cur)
        return fail_cb(c, 503, "%s", "out of memory");
    c->in_message = 1;
    c->headers_done = 0;
    c->hdr_bytes = 0;
    c->msg_begin_ms = now_ms(c);
    buf_reset(&c->url);
    buf_reset(&c->field);
    buf_reset(&c->value);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    if (c->url.len + n > c->srv->lim.max_url_bytes) {
        char lim[24];
        (void) snprintf(lim, sizeof lim, "%zu", c->srv->lim.max_url_bytes);
        return fail_cb(c, 414, "request URI too long (limit %s bytes)", lim);
    }
    if (count_header_bytes(c, n) < 0)
        return -1;
    return buf_append(&c->url, at, n) < 0 ? fail_cb(c, 503, "%s", "out of memory") : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    if (count_header_bytes(c, n) < 0)
        return -1;
    if (c->headers_done) /* trailer fields: counted, not kept */
        return 0;
    return buf_append(&c->field, at, n) < 0 ? fail_cb(c, 503, "%s", "out of memory") : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    if (count_header_bytes(c, n) < 0)
        return -1;
    if (c->headers_done)
        return 0;
    return buf_append(&c->value, at, n) < 0 ? fail_cb(c, 503, "%s", "out of memory") : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct conn *c = pconn(p);
    if (c->headers_done)
        return 0;
    struct req *r = c->cur;
    if (count_header_bytes(c, 4) < 0) /* ": " and CRLF */
        return -1;
    if (r->n_hdrs >= c->srv->lim.max_headers) {
        char lim[16];
        (void) snprintf(lim, sizeof lim, "%u", c->srv->lim.max_headers);
        return fail_cb(c, 431, "too many header fields (limit %s)", lim);
    }
    if (r->n_hdrs == r->cap_hdrs) {
        uint32_t ncap = r->cap_hdrs ? r->cap_hdrs * 2 : 16;
        /* arena_realloc memcpy()s from old even for 0 bytes: NULL must not reach it */
        struct hdr *nh = r->hdrs ? arena_realloc(r->pub.arena, r->hdrs, r->cap_hdrs * sizeof *nh,
                                                 (size_t) ncap * sizeof *nh)
                                 : arena_alloc(r->pub.arena, (size_t) ncap * sizeof *nh);
        if (!nh)
            return fail_cb(c, 431, "%s", "request headers exceed the request memory limit");
        r->hdrs = nh;
        r->cap_hdrs = ncap;
    }
    size_t vn = c->value.len;
    while (vn > 0 && (c->value.p[vn - 1] == ' ' || c->value.p[vn - 1] == '\t'))
        vn--;
    char *name = arena_strndup(r->pub.arena, c->field.len ? (const char *) c->field.p : "",
                               c->field.len);
    char *value = arena_strndup(r->pub.arena, vn ? (const char *) c->value.p : "", vn);
    if (!name || !value)
        return fail_cb(c, 431, "%s", "request headers exceed the request memory limit");
    for (char *q = name; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char) (*q + 32);
    r->hdrs[r->n_hdrs].name = name;
    r->hdrs[r->n_hdrs].value = value;
    r->n_hdrs++;
    buf_reset(&c->field);
    buf_reset(&c->value);
    return 0;
}

static enum http_method method_of(uint8_t m)
{
    switch (m) {
    case HTTP_GET: return HTTP_METHOD_GET;
    case HTTP_HEAD: return HTTP_METHOD_HEAD;
    case HTTP_POST: return HTTP_METHOD_POST;
    case HTTP_PUT: return HTTP_METHOD_PUT;
    case HTTP_DELETE: return HTTP_METHOD_DELETE;
    case HTTP_OPTIONS: return HTTP_METHOD_OPTIONS;
    case HTTP_PATCH: return HTTP_METHOD_PATCH;
    default: return HTTP_METHOD_OTHER;
    }
}

/* Splits the request target into path and query and decodes the path (Go's ParseRequestURI:
 * origin form, absolute form, or "*"; no fragment splitting). */
static int parse_target(struct conn *c, struct req *r)
{
    struct arena *a = r->pub.arena;
    const char *u = (const char *) c->url.p;
    size_t n = c->url.len;
    if (n == 0)
        return fail_cb(c, 400, "%s", "missing request URI");
    const char *start = u;
    if (u[0] != '/' && !(n == 1 && u[0] == '*')) {
        size_t skip = 0;
        if (n > 7 && !strncasecmp(u, "http://", 7))
            skip = 7;
        else if (n > 8 && !strncasecmp(u, "https://", 8))
            skip = 8;
        if (!skip)
            return fail_cb(c, 400, "%s", "invalid request URI");
        const char *slash = memchr(u + skip, '/', n - skip);
        const char *qm = memchr(u + skip, '?', n - skip);
        if (!slash || (qm && qm < slash))
            start = qm ? qm : u + n; /* no path: "" as Go's URL.Path */
        else
            start = slash;
    }
    const char *end = u + n;
    const char *qm = memchr(start, '?', (size_t) (end - start));
    const char *pe = qm ? qm : end;
    char *raw = arena_strndup(a, start, (size_t) (pe - start));
    char *query = arena_strndup(a, qm ? qm + 1 : "", qm ? (size_t) (end - qm - 1) : 0);
    if (!raw || !query)
        return fail_cb(c, 503, "%s", "out of memory");
    char *path;
    size_t path_len;
    struct err e;
    int rc = http_form_unescape(a, raw, (size_t) (pe - start), 0, &path, &path_len, &e);
    if (rc < 0)
        return fail_cb(c, rc == ERR_PARSE ? 400 : 503, "%s", e.msg);
    r->pub.raw_path = raw;
    r->pub.path = path;
    r->pub.path_len = path_len;
    r->pub.query = query;
    r->pub.query_len = qm ? (size_t) (end - qm - 1) : 0;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct conn *c = pconn(p);
    struct req *r = c->cur;
    struct http_server *s = c->srv;
    c->headers_done = 1;
    r->pub.http_major = llhttp_get_http_major(p);
    r->pub.http_minor = llhttp_get_http_minor(p);
    r->pub.method = method_of(llhttp_get_method(p));
    r->pub.method_name = llhttp_method_name((llhttp_method_t) llhttp_get_method(p));
    if (parse_target(c, r) < 0)
        return -1;
    /* One pass over the (lowercased) names for the headers read here; the first value counts,
     * as in http_request_header(). */
    uint32_t hosts = 0;
    const char *ae = NULL, *expect = NULL;
    for (uint32_t i = 0; i < r->n_hdrs; i++) {
        const char *name = r->hdrs[i].name;
        if (!strcmp(name, "host"))
            hosts++;
        else if (!ae && !strcmp(name, "accept-encoding"))
            ae = r->hdrs[i].value;
        else if (!expect && !strcmp(name, "expect"))
            expect = r->hdrs[i].value;
    }
    /* net/http readRequest: HTTP/1.1 needs exactly one Host header. */
    if (r->pub.http_major == 1 && r->pub.http_minor >= 1 && hosts == 0 &&
        llhttp_get_method(p) != HTTP_CONNECT)
        return fail_cb(c, 400, "%s", "missing required Host header");
    if (hosts > 1)
        return fail_cb(c, 400, "%s", "too many Host headers");
    r->pub.accept_gzip = ae && http_accepts_gzip(ae);
    int chunked = (p->flags & F_CHUNKED) != 0;
    if (p->content_length > s->lim.max_body_bytes) {
        char lim[24];
        (void) snprintf(lim, sizeof lim, "%zu", s->lim.max_body_bytes);
        return fail_cb(c, 413, "request body too large (limit %s bytes)", lim);
    }
    if (p->content_length > 0 && buf_reserve(&r->body, (size_t) p->content_length + 1) < 0)
        return fail_cb(c, 503, "%s", "out of memory");
    if (expect && !strcasecmp(expect, "100-continue")) {
        if (r->pub.http_minor >= 1 && (p->content_length > 0 || chunked))
            http_conn_continue(c);
    } else if (expect) {
        return fail_cb(c, 417, "unsupported Expect header %s", expect);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    struct req *r = c->cur;
    if (r->body.len + n > c->srv->lim.max_body_bytes) {
        char lim[24];
        (void) snprintf(lim, sizeof lim, "%zu", c->srv->lim.max_body_bytes);
        return fail_cb(c, 413, "request body too large (limit %s bytes)", lim);
    }
    return buf_append(&r->body, at, n) < 0 ? fail_cb(c, 503, "%s", "out of memory") : 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct conn *c = pconn(p);
    struct req *r = c->cur;
    /* NUL-terminate the body for callers that treat it as a string; an empty body stays the
     * static "" set by http_req_new (most requests are GETs: no allocation for them). */
    if (r->body.len > 0) {
        if (buf_putc(&r->body, '\0') < 0)
            return fail_cb(c, 503, "%s", "out of memory");
        r->body.len--;
        r->pub.body = (const char *) r->body.p;
        r->pub.body_len = r->body.len;
    }
    /* Upgrade (websocket, h2c) is not offered: the request is answered, then the connection ends
     * because what follows is another protocol. */
    r->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    c->ready = r;
    c->cur = NULL;
    c->in_message = 0;
    return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

size_t http_conn_parse(struct conn *c, const char *p, size_t n)
{
    if (c->paused) {
        llhttp_resume(&c->parser);
        c->paused = 0;
    }
    llhttp_errno_t rc = llhttp_execute(&c->parser, p, n);
    if (rc == HPE_OK)
        return n;
    if (rc == HPE_PAUSED || rc == HPE_PAUSED_UPGRADE) {
        c->paused = rc == HPE_PAUSED;
        const char *pos = llhttp_get_error_pos(&c->parser);
        if (rc == HPE_PAUSED_UPGRADE && c->ready)
            c->ready->keep_alive = 0;
        return pos && pos >= p && pos <= p + n ? (size_t) (pos - p) : n;
    }
    if (c->err_status) {
        http_conn_fail(c, c->err_status, "bad_data", c->err_msg);
    } else {
        char msg[200];
        (void) snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                        llhttp_get_error_reason(&c->parser));
        http_conn_fail(c, 400, "bad_data", msg);
    }
    return n;
}

void http_conn_parser_init(struct conn *c)
{
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
}
