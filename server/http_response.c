/* server/http_response.c — writing responses: status line, Date, Content-Length, Connection,
 * extra headers; gzip on the loop for mid-sized bodies; protocol-error answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "server/http_conn.h"
#include "server/json.h"

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

void http_conn_continue(struct conn *c)
{
    static char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct wr *wr = calloc(1, sizeof *wr);
    if (!wr)
        return; /* the client sends the body after its own timeout anyway */
    uv_buf_t iov = uv_buf_init(msg, sizeof msg - 1);
    if (http_conn_write(c, wr, &iov, 1) < 0)
        free(wr);
}

/* Decimal digits of v into out (24 bytes); returns out. */
static const char *dec(char *out, uint64_t v)
{
    char *p = out + 23;
    *p = '\0';
    do
        *--p = (char) ('0' + v % 10);
    while ((v /= 10) != 0);
    return p;
}

/* The response path shared by all http_respond*(): body is borrowed until written. */
static void req_send(struct req *r, int status, const char *ctype, const void *body, size_t len,
                     int gzipped)
{
    struct conn *c = r->conn;
    if (r->respond_fn)
        r->respond_fn(r->respond_arg, &r->pub, status);
    if (!c || c->closed) {
        http_req_free(r);
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
    /* The head goes into the request's arena (it lives exactly as long), built with memcpy into
     * a block sized for the worst case: no heap allocation and no printf per response. An arena
     * at its cap (the answer to a query that hit it) falls back to the heap. */
    const char *stext = status_text(status), *date = server_date(s);
    size_t cap = 256 + strlen(stext) + strlen(date) + (ctype ? strlen(ctype) : 0) + r->extra.len;
    char *h = arena_alloc(r->pub.arena, cap);
    if (!h && buf_reserve(&r->head, cap) == 0)
        h = (char *) r->head.p;
    if (!h) {
        http_req_free(r);
        http_conn_close(c);
        return;
    }
    char *p = h;
#define PUT(str, n) (memcpy(p, (str), (n)), p += (n))
#define PUTS(lit) PUT(lit, sizeof lit - 1)
    char num[24];
    const char *d = dec(num, (uint64_t) (status >= 100 && status <= 999 ? status : 500));
    PUTS("HTTP/1.1 ");
    PUT(d, strlen(d));
    *p++ = ' ';
    PUT(stext, strlen(stext));
    PUTS("\r\nDate: ");
    PUT(date, strlen(date));
    PUTS("\r\n");
    if (ctype && status != 204 && status != 304) {
        PUTS("Content-Type: ");
        PUT(ctype, strlen(ctype));
        PUTS("\r\n");
    }
    if (gzipped)
        PUTS("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
    if (!no_body) {
        d = dec(num, len);
        PUTS("Content-Length: ");
        PUT(d, strlen(d));
        PUTS("\r\n");
    }
    if (r->extra.len)
        PUT(r->extra.p, r->extra.len);
    if (!keep)
        PUTS("Connection: close\r\n");
    else if (r->pub.http_major == 1 && r->pub.http_minor == 0)
        PUTS("Connection: keep-alive\r\n");
    PUTS("\r\n");
#undef PUTS
#undef PUT
    if (!keep)
        c->closing = 1;
    uv_buf_t iov[2] = {uv_buf_init(h, (unsigned) (p - h)),
                       uv_buf_init((char *) (uintptr_t) body, (unsigned) len)};
    unsigned n = (len && !head) ? 2 : 1;
    r->wr.r = r;
    if (http_conn_write(c, &r->wr, iov, n) < 0) {
        http_req_free(r);
        http_conn_close(c);
        return;
    }
    /* r may be gone here (a sink or an immediate socket write completes at once). */
    http_conn_pump(c);
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

/* c->cur (the half-parsed request)
 * carries the response when there is one. */
void http_conn_fail(struct conn *c, int status, const char *type, const char *msg)
{
    if (c->closed || c->closing)
        return;
    c->srv->st.bad_requests++;
    struct req *r = c->cur;
    c->cur = NULL;
    c->in_message = 0;
    if (!r)
        r = http_req_new(c);
    if (!r) {
        http_conn_close(c);
        return;
    }
    r->keep_alive = 0;
    c->closing = 1;
    c->serving = r;
    http_respond_error(&r->pub, status, type, msg);
}
