/* server/http.c — HTTP/1.1 server: listener, connections, llhttp request parsing, keep-alive,
 * pipelining, limits and timeouts, asynchronous responses, gzip, graceful close.
 *
 * Design. A connection serves one request at a time, in order:
 *
 *   bytes ─▶ llhttp (callbacks build c->cur in its own arena) ─▶ on_message_complete pauses llhttp
 *         ─▶ c->ready ─▶ handler (c->serving) ─▶ http_respond*() ─▶ uv_write (c->writes_pending)
 *
 * conn_pump() is the only place that runs the parser on buffered bytes and calls the handler; it
 * loops until it cannot progress and is never re-entered (c->in_pump), so synchronous responses
 * and pipelined requests do not recurse. Parsing (and so the next handler call) is allowed only
 * when no request is being served and the socket's write queue is under write_queue_cap; bytes
 * that arrive meanwhile wait in c->pending, and reading stops once that holds max_header_bytes.
 * llhttp is paused with HPE_PAUSED at the end of every message and resumed at
 * llhttp_get_error_pos(). Reads use one server-wide buffer that read_cb consumes before returning.
 *
 * One timer per connection serves whichever deadline applies (conn_deadline): header (slowloris),
 * whole-request read, keep-alive idle, write progress, or the linger after a closing response.
 * A connection that must close (error, "Connection: close", HTTP/1.0, server shutdown) finishes
 * its queued writes, half-closes (uv_shutdown) and reads-and-discards for linger_ms before
 * uv_close, so a client that is still sending gets the response instead of a reset.
 *
 * Requests are detached (r->conn = NULL) when their connection dies while a handler holds them;
 * the response is then freed unsent. A request's memory is its arena plus heap buffers for the
 * body and response, all released by req_free(). */
#include "server/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <llhttp.h>
#include <zlib.h>

#include "server/http_form.h"
#include "server/json.h"

#define READ_BUF_BYTES 65536

struct conn;

struct hdr {
    const char *name, *value; /* arena; name lowercased */
};

struct wr {
    uv_write_t w;
    struct conn *c;
    struct req *r; /* NULL for an interim 100 Continue */
};

struct req {
    struct http_request pub; /* first: http_request * and req * convert both ways */
    struct conn *conn;       /* NULL once detached */
    struct hdr *hdrs;
    uint32_t n_hdrs, cap_hdrs;
    struct buf body;     /* request body (heap) */
    struct buf own[2];   /* response bodies owned by the request: taken buf, gzip output */
    struct buf head;     /* response status line and headers */
    struct buf extra;    /* extra response headers, "Name: value\r\n" each */
    void (*abort_fn)(void *);
    void *abort_arg;
    struct wr wr;
    uint8_t keep_alive, aborted;
};

struct conn {
    uv_tcp_t tcp; /* data = conn */
    uv_timer_t timer;
    uv_shutdown_t sreq;
    struct http_server *srv;
    struct conn *prev, *next;
    struct buf *sink; /* http_serve_bytes: responses go here, no handles */
    llhttp_t parser;
    struct buf url, field, value; /* scratch for split spans, reused per request */
    size_t hdr_bytes;
    struct req *cur;     /* being parsed */
    struct req *ready;   /* parsed, handler not called yet */
    struct req *serving; /* handler holds it */
    struct buf pending;  /* received while parsing was not allowed */
    size_t pending_off;
    uint32_t writes_pending;
    int err_status; /* set by a callback that failed the request: the status to answer */
    char err_msg[320]; /* room for a struct err message plus context */
    uint64_t msg_begin_ms, idle_since_ms, write_since_ms, linger_until_ms;
    int handles;
    unsigned reading : 1, closing : 1, closed : 1, eof : 1, paused : 1, in_pump : 1,
        lingering : 1, in_message : 1, headers_done : 1;
    char remote[64];
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t grace;
    struct http_limits lim;
    http_handler_fn handler;
    void *ctx;
    struct conn *conns;
    uint32_t n_conns;
    int port;
    int closing, grace_closed, handles_pending;
    void (*close_cb)(void *);
    void *close_arg;
    struct http_server_stats st;
    time_t date_sec;
    char date[40];
    char readbuf[READ_BUF_BYTES];
};

static const char *const method_names[] = {"GET",    "HEAD",    "POST",  "PUT",
                                           "DELETE", "OPTIONS", "PATCH", "OTHER"};

const char *http_method_name(enum http_method m)
{
    return (unsigned) m < ARRAY_LEN(method_names) ? method_names[m] : "OTHER";
}

void http_limits_default(struct http_limits *l)
{
    l->max_connections = 512;
    l->max_url_bytes = 32 << 10;
    l->max_header_bytes = 64 << 10;
    l->max_headers = 128;
    l->max_body_bytes = 10 << 20;
    l->arena_bytes = (size_t) 256 << 20;
    l->header_timeout_ms = 30000;
    l->read_timeout_ms = 300000;
    l->idle_timeout_ms = 120000;
    l->write_timeout_ms = 120000;
    l->linger_ms = 500;
    l->shutdown_grace_ms = 5000;
    l->write_queue_cap = 4 << 20;
    l->gzip_min_bytes = 1024;
    l->gzip_loop_max_bytes = 128 << 10;
}

static const char *status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

static uint64_t now_ms(const struct conn *c)
{
    return c->sink ? 0 : uv_now(c->srv->loop);
}

/* --- requests --- */

static struct req *req_new(struct conn *c)
{
    struct arena *a = arena_new(c->srv->lim.arena_bytes);
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

static void req_free(struct req *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    buf_free(&r->own[0]);
    buf_free(&r->own[1]);
    buf_free(&r->head);
    buf_free(&r->extra);
    arena_free(r->pub.arena); /* r lives in it */
}

static struct req *to_req(struct http_request *pub) { return (struct req *) pub; }
static const struct req *to_creq(const struct http_request *pub)
{
    return (const struct req *) pub;
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

int http_response_header(struct http_request *req, const char *name, const char *value)
{
    struct req *r = to_req(req);
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || !name[0])
        return err_set(NULL, ERR_PARSE, "bad header");
    if (buf_puts(&r->extra, name) < 0 || buf_puts(&r->extra, ": ") < 0 ||
        buf_puts(&r->extra, value) < 0 || buf_puts(&r->extra, "\r\n") < 0)
        return -ENOMEM;
    return 0;
}

/* --- gzip --- */

int http_gzip(const void *p, size_t n, int level, struct buf *out, struct err *e)
{
    /* One deflate call needs avail_in/avail_out to fit zlib's uInt; bodies are far smaller. */
    if (n > (1u << 30))
        return err_set(e, ERR_LIMIT, "gzip: body of %zu bytes too large", n);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(e, ERR_INTERNAL, "gzip: deflateInit2 failed");
    uLong bound = deflateBound(&zs, (uLong) n);
    if (buf_reserve(out, (size_t) bound) < 0) {
        (void) deflateEnd(&zs);
        return err_set(e, -ENOMEM, "gzip: out of memory");
    }
    zs.next_in = (Bytef *) (uintptr_t) p; /* zlib's API is not const-correct */
    zs.avail_in = (uInt) n;
    zs.next_out = out->p + out->len;
    zs.avail_out = (uInt) bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t produced = (size_t) bound - zs.avail_out;
    (void) deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return err_set(e, ERR_INTERNAL, "gzip: deflate returned %d", rc);
    out->len += produced;
    return 0;
}

/* Accept-Encoding: comma-separated codings with optional ";q=" weights (RFC 9110 §12.5.3). */
int http_accepts_gzip(const char *ae)
{
    int gzip = -1, star = -1; /* -1 unmentioned, 0 refused, 1 accepted */
    const char *p = ae;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *t = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t tn = (size_t) (p - t);
        int q_zero = 0;
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
                    p += 2;
                    /* q=0, q=0.0, q=0.000 mean "not acceptable" */
                    const char *v = p;
                    int nonzero = 0;
                    while (*p && *p != ',' && *p != ';' && *p != ' ') {
                        if (*p >= '1' && *p <= '9')
                            nonzero = 1;
                        p++;
                    }
                    q_zero = p > v && !nonzero;
                    continue;
                }
            }
            if (*p && *p != ',')
                p++;
        }
        if ((tn == 4 && !strncasecmp(t, "gzip", 4)) || (tn == 6 && !strncasecmp(t, "x-gzip", 6)))
            gzip = !q_zero;
        else if (tn == 1 && *t == '*')
            star = !q_zero;
    }
    return gzip == 1 || (gzip == -1 && star == 1);
}

/* --- connection plumbing --- */

static void conn_pump(struct conn *c);
static void conn_close(struct conn *c);
static void conn_arm(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static size_t pending_len(const struct conn *c) { return c->pending.len - c->pending_off; }

static size_t write_queue(const struct conn *c)
{
    return c->sink ? 0 : uv_stream_get_write_queue_size((const uv_stream_t *) &c->tcp);
}

static int can_parse(const struct conn *c)
{
    return !c->closed && !c->closing && !c->ready && !c->serving &&
           write_queue(c) <= c->srv->lim.write_queue_cap;
}

static const char *server_date(struct http_server *s)
{
    /* RFC 9110 IMF-fixdate, built without strftime so the locale cannot change it. */
    static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    if (t != s->date_sec) {
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return "Thu, 01 Jan 1970 00:00:00 GMT";
        (void) snprintf(s->date, sizeof s->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                        days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        s->date_sec = t;
    }
    return s->date;
}

static void on_write(uv_write_t *w, int status);

/* Queues bytes on the socket (or the sink); completion arrives through write_done(). */
static void write_done(struct wr *wr, int status);

static int conn_write(struct conn *c, struct wr *wr, uv_buf_t *iov, unsigned n)
{
    wr->c = c;
    c->writes_pending++;
    if (c->writes_pending == 1)
        c->write_since_ms = now_ms(c);
    if (c->sink) {
        int r = 0;
        for (unsigned i = 0; i < n && r >= 0; i++)
            r = buf_append(c->sink, iov[i].base, iov[i].len);
        write_done(wr, r < 0 ? UV_ENOMEM : 0);
        return 0;
    }
    int r = uv_write(&wr->w, (uv_stream_t *) &c->tcp, iov, n, on_write);
    if (r < 0) {
        c->writes_pending--;
        return r;
    }
    return 0;
}

static void send_continue(struct conn *c)
{
    static char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct wr *wr = calloc(1, sizeof *wr);
    if (!wr)
        return; /* the client sends the body after its own timeout anyway */
    uv_buf_t iov = uv_buf_init(msg, sizeof msg - 1);
    if (conn_write(c, wr, &iov, 1) < 0)
        free(wr);
}

static void write_done(struct wr *wr, int status)
{
    struct conn *c = wr->c;
    if (wr->r)
        req_free(wr->r);
    else
        free(wr);
    c->writes_pending--;
    c->write_since_ms = now_ms(c);
    if (c->closed)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_pump(c);
}

static void on_write(uv_write_t *w, int status) { write_done((struct wr *) w, status); }

/* The response path shared by all http_respond*(): body is borrowed until written. */
static void req_send(struct req *r, int status, const char *ctype, const void *body, size_t len,
                     int gzipped)
{
    struct conn *c = r->conn;
    if (!c || c->closed) {
        req_free(r);
        return;
    }
    if (c->serving == r)
        c->serving = NULL;
    struct http_server *s = c->srv;
    int no_body = status < 200 || status == 204 || status == 304;
    int head = r->pub.method == HTTP_METHOD_HEAD;
    if (no_body)
        len = 0;
    if (!gzipped && !no_body && !head && r->pub.accept_gzip && len >= s->lim.gzip_min_bytes &&
        len <= s->lim.gzip_loop_max_bytes) {
        /* Level 1: on the loop, speed matters more than the last few percent. */
        if (http_gzip(body, len, 1, &r->own[1], NULL) == 0 && r->own[1].len < len) {
            body = r->own[1].p;
            len = r->own[1].len;
            gzipped = 1;
        }
    }
    int keep = r->keep_alive && !s->closing && !c->closing;
    struct buf *h = &r->head;
    int e = buf_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, status_text(status),
                       server_date(s));
    if (e >= 0 && ctype && status != 204 && status != 304)
        e = buf_printf(h, "Content-Type: %s\r\n", ctype);
    if (e >= 0 && gzipped)
        e = buf_puts(h, "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
    if (e >= 0 && !no_body)
        e = buf_printf(h, "Content-Length: %zu\r\n", len);
    if (e >= 0 && r->extra.len)
        e = buf_append(h, r->extra.p, r->extra.len);
    if (e >= 0 && !keep)
        e = buf_puts(h, "Connection: close\r\n");
    else if (e >= 0 && r->pub.http_major == 1 && r->pub.http_minor == 0)
        e = buf_puts(h, "Connection: keep-alive\r\n");
    if (e >= 0)
        e = buf_puts(h, "\r\n");
    if (e < 0) {
        req_free(r);
        conn_close(c);
        return;
    }
    if (!keep)
        c->closing = 1;
    uv_buf_t iov[2] = {uv_buf_init((char *) h->p, (unsigned) h->len),
                       uv_buf_init((char *) (uintptr_t) body, (unsigned) len)};
    unsigned n = (len && !head) ? 2 : 1;
    r->wr.r = r;
    if (conn_write(c, &r->wr, iov, n) < 0) {
        req_free(r);
        conn_close(c);
        return;
    }
    /* r may be gone here (a sink completes at once). */
    conn_pump(c);
}

void http_respond(struct http_request *req, int status, const char *content_type,
                  const void *body, size_t len)
{
    req_send(to_req(req), status, content_type, body, len, 0);
}

void http_respond_buf(struct http_request *req, int status, const char *content_type,
                      struct buf *body)
{
    struct req *r = to_req(req);
    r->own[0] = *body;
    *body = (struct buf) BUF_INIT;
    req_send(r, status, content_type, r->own[0].p, r->own[0].len, 0);
}

void http_respond_gzipped(struct http_request *req, int status, const char *content_type,
                          struct buf *body)
{
    struct req *r = to_req(req);
    r->own[0] = *body;
    *body = (struct buf) BUF_INIT;
    req_send(r, status, content_type, r->own[0].p, r->own[0].len, 1);
}

void http_respond_error(struct http_request *req, int status, const char *error_type,
                        const char *msg)
{
    struct buf b = BUF_INIT;
    if (json_error_body(&b, error_type, msg) < 0) {
        static const char oom[] =
            "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"out of memory\"}";
        buf_free(&b);
        http_respond(req, 503, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_respond_buf(req, status, "application/json", &b);
}

/* Answers a protocol error with a JSON body and closes after it. c->cur (the half-parsed request)
 * carries the response when there is one. */
static void conn_fail(struct conn *c, int status, const char *type, const char *msg)
{
    if (c->closed || c->closing)
        return;
    c->srv->st.bad_requests++;
    struct req *r = c->cur;
    c->cur = NULL;
    c->in_message = 0;
    if (!r)
        r = req_new(c);
    if (!r) {
        conn_close(c);
        return;
    }
    r->keep_alive = 0;
    c->closing = 1;
    c->serving = r;
    http_respond_error(&r->pub, status, type, msg);
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
    c->cur = req_new(c);
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
    /* net/http readRequest: HTTP/1.1 needs exactly one Host header. */
    uint32_t hosts = 0;
    for (uint32_t i = 0; i < r->n_hdrs; i++)
        hosts += !strcmp(r->hdrs[i].name, "host");
    if (r->pub.http_major == 1 && r->pub.http_minor >= 1 && hosts == 0 &&
        llhttp_get_method(p) != HTTP_CONNECT)
        return fail_cb(c, 400, "%s", "missing required Host header");
    if (hosts > 1)
        return fail_cb(c, 400, "%s", "too many Host headers");
    const char *ae = http_request_header(&r->pub, "accept-encoding");
    r->pub.accept_gzip = ae && http_accepts_gzip(ae);
    int chunked = (p->flags & F_CHUNKED) != 0;
    if (p->content_length > s->lim.max_body_bytes) {
        char lim[24];
        (void) snprintf(lim, sizeof lim, "%zu", s->lim.max_body_bytes);
        return fail_cb(c, 413, "request body too large (limit %s bytes)", lim);
    }
    if (p->content_length > 0 && buf_reserve(&r->body, (size_t) p->content_length + 1) < 0)
        return fail_cb(c, 503, "%s", "out of memory");
    const char *expect = http_request_header(&r->pub, "expect");
    if (expect && !strcasecmp(expect, "100-continue")) {
        if (r->pub.http_minor >= 1 && (p->content_length > 0 || chunked))
            send_continue(c);
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
    /* NUL-terminate the body for callers that treat it as a string. */
    if (buf_putc(&r->body, '\0') < 0)
        return fail_cb(c, 503, "%s", "out of memory");
    r->body.len--;
    r->pub.body = (const char *) r->body.p;
    r->pub.body_len = r->body.len;
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

/* Runs llhttp over p..p+n. Returns bytes consumed; on a protocol error the error response is
 * queued, the connection is closing and everything counts as consumed. */
static size_t conn_parse(struct conn *c, const char *p, size_t n)
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
        conn_fail(c, c->err_status, "bad_data", c->err_msg);
    } else {
        char msg[200];
        (void) snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                        llhttp_get_error_reason(&c->parser));
        conn_fail(c, 400, "bad_data", msg);
    }
    return n;
}

static void conn_update_reading(struct conn *c)
{
    if (c->sink || c->closed)
        return;
    int want = !c->eof && (c->lingering || c->closing ||
                           pending_len(c) < c->srv->lim.max_header_bytes);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        (void) uv_read_stop((uv_stream_t *) &c->tcp);
        c->reading = 0;
    }
}

static void on_shutdown(uv_shutdown_t *sr, int status) { (void) sr, (void) status; }

/* All responses are written and the connection must end: half-close, then linger. */
static void conn_finish(struct conn *c)
{
    if (c->lingering || c->closed)
        return;
    if (c->sink || c->eof) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    c->linger_until_ms = now_ms(c) + c->srv->lim.linger_ms;
    if (uv_shutdown(&c->sreq, (uv_stream_t *) &c->tcp, on_shutdown) < 0)
        conn_close(c);
}

static void conn_pump(struct conn *c)
{
    if (c->in_pump || c->closed)
        return;
    c->in_pump = 1;
    while (!c->closed) {
        if (c->ready && !c->serving) {
            struct req *r = c->ready;
            c->ready = NULL;
            c->serving = r;
            c->srv->st.requests++;
            c->srv->handler(&r->pub, c->srv->ctx);
            continue;
        }
        if (!can_parse(c) || pending_len(c) == 0)
            break;
        size_t used = conn_parse(c, (const char *) c->pending.p + c->pending_off, pending_len(c));
        c->pending_off += used;
        if (pending_len(c) == 0) {
            buf_reset(&c->pending);
            c->pending_off = 0;
        }
        if (used == 0 && !c->ready)
            break; /* NEVER: llhttp consumed nothing and produced nothing */
    }
    c->in_pump = 0;
    if (c->closed)
        return;
    if (c->eof && !c->serving && !c->ready && pending_len(c) == 0)
        c->closing = 1; /* nothing more can arrive */
    if (c->closing && !c->serving && !c->ready && c->writes_pending == 0)
        conn_finish(c);
    if (c->closed)
        return;
    conn_update_reading(c);
    conn_arm(c);
}

/* New bytes from the socket (or the byte-stream driver). */
static void conn_feed(struct conn *c, const char *p, size_t n)
{
    if (c->closed)
        return;
    if (c->lingering || c->closing)
        return; /* after a closing response, further input is discarded */
    if (pending_len(c) == 0 && can_parse(c)) {
        size_t used = conn_parse(c, p, n);
        p += used;
        n -= used;
    }
    if (n > 0 && !c->closing) {
        if (c->pending_off > 0) {
            memmove(c->pending.p, c->pending.p + c->pending_off, pending_len(c));
            c->pending.len -= c->pending_off;
            c->pending_off = 0;
        }
        if (buf_append(&c->pending, p, n) < 0) {
            conn_close(c);
            return;
        }
    }
    conn_pump(c);
}

static void conn_eof(struct conn *c)
{
    c->eof = 1;
    if (c->lingering) {
        conn_close(c);
        return;
    }
    if (c->in_message && !c->serving && !c->ready) {
        /* A request cut short: nothing to answer. */
        conn_close(c);
        return;
    }
    conn_pump(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void) hint;
    /* Shared buffer: read_cb consumes (parses or copies) it before the next read. */
    *b = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;
    if (nread > 0) {
        c->idle_since_ms = now_ms(c);
        conn_feed(c, b->base, (size_t) nread);
    } else if (nread == UV_EOF) {
        conn_eof(c);
    } else if (nread < 0) {
        conn_close(c);
    }
}

/* --- timers --- */

enum deadline { DL_NONE, DL_HEADER, DL_READ, DL_IDLE, DL_WRITE, DL_LINGER };

static enum deadline conn_deadline(const struct conn *c, uint64_t *ret_due)
{
    const struct http_limits *l = &c->srv->lim;
    enum deadline k = DL_NONE;
    uint64_t due = UINT64_MAX;
#define CONSIDER(kind, t)                                                                          \
    do {                                                                                           \
        uint64_t t_ = (t);                                                                         \
        if (t_ < due) {                                                                            \
            due = t_;                                                                              \
            k = (kind);                                                                            \
        }                                                                                          \
    } while (0)
    if (c->lingering) {
        CONSIDER(DL_LINGER, c->linger_until_ms);
    } else {
        if (c->writes_pending)
            CONSIDER(DL_WRITE, c->write_since_ms + l->write_timeout_ms);
        if (c->in_message && !c->headers_done)
            CONSIDER(DL_HEADER, c->msg_begin_ms + l->header_timeout_ms);
        else if (c->in_message)
            CONSIDER(DL_READ, c->msg_begin_ms + l->read_timeout_ms);
        else if (!c->serving && !c->ready && !c->writes_pending && !c->closing)
            CONSIDER(DL_IDLE, c->idle_since_ms + l->idle_timeout_ms);
    }
#undef CONSIDER
    *ret_due = due;
    return k;
}

static void on_timer(uv_timer_t *t);

static void conn_arm(struct conn *c)
{
    if (c->sink || c->closed)
        return;
    uint64_t due;
    if (conn_deadline(c, &due) == DL_NONE) {
        (void) uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = now_ms(c);
    (void) uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    uint64_t due;
    enum deadline k = conn_deadline(c, &due);
    if (k == DL_NONE || due > now_ms(c)) {
        conn_arm(c);
        return;
    }
    switch (k) {
    case DL_HEADER:
    case DL_READ:
        c->srv->st.timeouts++;
        conn_fail(c, 408, "bad_data",
                  k == DL_HEADER ? "timeout reading request headers" : "timeout reading request");
        conn_pump(c);
        break;
    case DL_WRITE:
        c->srv->st.timeouts++;
        conn_close(c);
        break;
    default:
        conn_close(c);
        break;
    }
}

/* --- connection lifetime --- */

static void conn_free(struct conn *c)
{
    buf_free(&c->url);
    buf_free(&c->field);
    buf_free(&c->value);
    buf_free(&c->pending);
    free(c);
}

static void srv_maybe_done(struct http_server *s);

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0)
        return;
    struct http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    conn_free(c);
    srv_maybe_done(s);
}

static void conn_close(struct conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    if (c->serving) {
        struct req *r = c->serving;
        c->serving = NULL;
        r->conn = NULL;
        r->aborted = 1;
        if (r->abort_fn)
            r->abort_fn(r->abort_arg);
    }
    req_free(c->ready);
    c->ready = NULL;
    req_free(c->cur);
    c->cur = NULL;
    if (c->sink)
        return; /* http_serve_bytes frees it */
    (void) uv_timer_stop(&c->timer);
    /* Pending writes complete with UV_ECANCELED before the close callback. */
    uv_close((uv_handle_t *) &c->timer, on_conn_closed);
    uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

static void conn_setup(struct conn *c, struct http_server *s)
{
    c->srv = s;
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
}

static void on_reject_closed(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *l, int status)
{
    struct http_server *s = l->data;
    if (status < 0 || s->closing)
        return;
    if (s->n_conns >= s->lim.max_connections) {
        /* Accept and answer, so the client sees why instead of hanging in the backlog. */
        static const char body[] = "{\"status\":\"error\",\"errorType\":\"unavailable\","
                                   "\"error\":\"too many connections\"}";
        char busy[256];
        int bn = snprintf(busy, sizeof busy,
                          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          sizeof body - 1, body);
        uv_tcp_t *t = malloc(sizeof *t);
        if (!t || uv_tcp_init(s->loop, t) < 0) {
            free(t);
            return;
        }
        if (uv_accept(l, (uv_stream_t *) t) == 0) {
            /* uv_try_write copies nothing: it writes now or not at all (best effort) */
            uv_buf_t b = uv_buf_init(busy, (unsigned) bn);
            (void) uv_try_write((uv_stream_t *) t, &b, 1);
        }
        s->st.connections_rejected++;
        uv_close((uv_handle_t *) t, on_reject_closed);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    conn_setup(c, s);
    if (uv_tcp_init(s->loop, &c->tcp) < 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    c->handles = 1;
    if (uv_accept(l, (uv_stream_t *) &c->tcp) < 0 || uv_timer_init(s->loop, &c->timer) < 0) {
        c->closed = 1;
        c->next = s->conns; /* on_conn_closed unlinks */
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
        return;
    }
    c->timer.data = c;
    c->handles = 2;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *) &ss, &sl) == 0) {
        char ip[48] = "";
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *) &ss;
            (void) uv_ip6_name(a6, ip, sizeof ip);
            (void) snprintf(c->remote, sizeof c->remote, "[%s]:%u", ip, ntohs(a6->sin6_port));
        } else if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a4 = (const struct sockaddr_in *) &ss;
            (void) uv_ip4_name(a4, ip, sizeof ip);
            (void) snprintf(c->remote, sizeof c->remote, "%s:%u", ip, ntohs(a4->sin_port));
        }
    }
    (void) uv_tcp_nodelay(&c->tcp, 1);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    s->st.connections_accepted++;
    c->idle_since_ms = now_ms(c);
    conn_update_reading(c);
    conn_arm(c);
}

/* --- server --- */

static int parse_listen(const char *listen, char *host, size_t hcap, int *ret_port,
                        struct err *e)
{
    const char *colon, *h = listen;
    size_t hn;
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            return err_set(e, ERR_PARSE, "listen address \"%s\": expected [host]:port", listen);
        h = listen + 1;
        hn = (size_t) (rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return err_set(e, ERR_PARSE, "listen address \"%s\": missing port", listen);
        hn = (size_t) (colon - listen);
    }
    if (hn >= hcap)
        return err_set(e, ERR_PARSE, "listen address \"%s\": host too long", listen);
    memcpy(host, h, hn);
    host[hn] = '\0';
    int64_t port;
    if (num_parse_int64(colon + 1, strlen(colon + 1), &port) < 0 || port < 0 || port > 65535)
        return err_set(e, ERR_PARSE, "listen address \"%s\": invalid port", listen);
    *ret_port = (int) port;
    return 0;
}

static void on_srv_handle_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    if (--s->handles_pending == 0) {
        void (*cb)(void *) = s->close_cb;
        void *arg = s->close_arg;
        free(s);
        if (cb)
            cb(arg);
    }
}

/* Closing: the listener closes first (no new connections), the grace timer once the last
 * connection is gone; the last of the two close callbacks frees s. */
static void srv_start_close(struct http_server *s)
{
    s->closing = 1;
    s->handles_pending = 2;
    uv_close((uv_handle_t *) &s->listener, on_srv_handle_closed);
}

static void srv_maybe_done(struct http_server *s)
{
    if (!s->closing || s->n_conns > 0 || s->grace_closed)
        return;
    s->grace_closed = 1;
    uv_close((uv_handle_t *) &s->grace, on_srv_handle_closed);
}

int http_server_open(uv_loop_t *loop, const char *listen, const struct http_limits *lim,
                     http_handler_fn handler, void *ctx, struct http_server **ret,
                     struct err *e)
{
    char host[256];
    int port = 0, r;
    r = parse_listen(listen, host, sizeof host, &port, e);
    if (r < 0)
        return r;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (host[0] == '\0') {
        r = uv_ip6_addr("::", port, (struct sockaddr_in6 *) &ss);
    } else if (uv_ip4_addr(host, port, (struct sockaddr_in *) &ss) == 0) {
        r = 0;
    } else if (uv_ip6_addr(host, port, (struct sockaddr_in6 *) &ss) == 0) {
        r = 0;
    } else {
        /* Start-up only: resolving synchronously is acceptable before the loop runs. */
        uv_getaddrinfo_t gai;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        r = uv_getaddrinfo(loop, &gai, NULL, host, NULL, &hints);
        if (r < 0)
            return err_set(e, r, "listen address \"%s\": %s", listen, uv_strerror(r));
        memcpy(&ss, gai.addrinfo->ai_addr, gai.addrinfo->ai_addrlen);
        uv_freeaddrinfo(gai.addrinfo);
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) port);
        else
            ((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) port);
    }
    if (r < 0)
        return err_set(e, r, "listen address \"%s\": %s", listen, uv_strerror(r));

    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, -ENOMEM, "http server: out of memory");
    s->loop = loop;
    if (lim)
        s->lim = *lim;
    else
        http_limits_default(&s->lim);
    s->handler = handler;
    s->ctx = ctx;
    r = uv_tcp_init(loop, &s->listener);
    if (r < 0) {
        free(s);
        return err_set(e, r, "http server: %s", uv_strerror(r));
    }
    s->listener.data = s;
    r = uv_timer_init(loop, &s->grace);
    if (r < 0) {
        s->handles_pending = 1;
        uv_close((uv_handle_t *) &s->listener, on_srv_handle_closed);
        return err_set(e, r, "http server: %s", uv_strerror(r));
    }
    s->grace.data = s;
    r = uv_tcp_bind(&s->listener, (const struct sockaddr *) &ss, 0);
    if (r == UV_EAFNOSUPPORT && host[0] == '\0') {
        /* no IPv6 on this host: all IPv4 interfaces */
        r = uv_ip4_addr("0.0.0.0", port, (struct sockaddr_in *) &ss);
        if (r == 0)
            r = uv_tcp_bind(&s->listener, (const struct sockaddr *) &ss, 0);
    }
    if (r == 0)
        r = uv_listen((uv_stream_t *) &s->listener, 511, on_connection);
    if (r < 0) {
        /* Handles are closed asynchronously; running the loop releases s. */
        srv_start_close(s);
        srv_maybe_done(s);
        return err_set(e, r, "listen on %s: %s", listen, uv_strerror(r));
    }
    struct sockaddr_storage bound;
    int bl = sizeof bound;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *) &bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *) &bound)->sin6_port
                            : ((struct sockaddr_in *) &bound)->sin_port);
    *ret = s;
    return 0;
}

int http_server_port(const struct http_server *s) { return s ? s->port : 0; }

static void on_grace(uv_timer_t *t)
{
    struct http_server *s = t->data;
    for (struct conn *c = s->conns; c; c = c->next)
        conn_close(c);
}

void http_server_close(struct http_server *s, void (*cb)(void *arg), void *arg)
{
    if (!s) {
        if (cb)
            cb(arg);
        return;
    }
    if (s->closing)
        return;
    s->close_cb = cb;
    s->close_arg = arg;
    srv_start_close(s);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->closed)
            continue;
        if (!c->serving && !c->ready && c->writes_pending == 0) {
            conn_close(c);
        } else {
            /* let the request in flight finish; its response carries Connection: close */
            c->closing = 1;
            c->in_message = 0;
            req_free(c->cur);
            c->cur = NULL;
        }
    }
    if (s->n_conns > 0)
        (void) uv_timer_start(&s->grace, on_grace, s->lim.shutdown_grace_ms, 0);
    srv_maybe_done(s);
}

void http_server_stats(const struct http_server *s, struct http_server_stats *ret)
{
    *ret = s->st;
    ret->connections_open = s->n_conns;
}

int http_serve_bytes(const struct http_limits *lim, const void *p, size_t n, size_t chunk,
                     http_handler_fn handler, void *ctx, struct buf *out)
{
    struct http_server *s = calloc(1, sizeof *s);
    struct conn *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return -ENOMEM;
    }
    if (lim)
        s->lim = *lim;
    else
        http_limits_default(&s->lim);
    s->handler = handler;
    s->ctx = ctx;
    conn_setup(c, s);
    c->sink = out;
    (void) snprintf(c->remote, sizeof c->remote, "127.0.0.1:0");
    const char *b = p;
    size_t off = 0;
    while (off < n && !c->closed) {
        size_t k = chunk && chunk < n - off ? chunk : n - off;
        conn_feed(c, b + off, k);
        off += k;
    }
    if (!c->closed)
        conn_eof(c);
    conn_close(c);
    conn_free(c);
    free(s);
    return 0;
}
