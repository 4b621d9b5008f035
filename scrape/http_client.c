/* scrape/http_client.c — a single GET as a small state machine:
 *   RESOLVE (uv_getaddrinfo) → CONNECT (uv_tcp_connect) → SEND (uv_write) → READ (llhttp) → DONE
 * A uv_timer bounds the whole exchange. finish() is the only exit: it records the outcome, closes
 * the handles, and the callback runs once both handles have closed, so the caller may free or
 * reuse anything right in the callback. gzip bodies are inflated as they arrive. */
#include "http_client.h"

#include <errno.h>
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DEFAULT_MAX_BODY (64u << 20)
#define MAX_HEADER_VALUE 256

enum get_state { ST_RESOLVE, ST_CONNECT, ST_SEND, ST_READ, ST_DONE };

struct http_get {
    uv_loop_t *loop;
    enum get_state state;
    uv_getaddrinfo_t resolver;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct addrinfo *addrs, *next_addr; /* resolved list; connect tries each in turn */
    int handles_open;
    int resolving;
    http_get_cb cb;
    void *ctx;
    char addr[300];
    struct buf request;
    llhttp_t parser;
    llhttp_settings_t settings;
    char header_field[32];
    size_t header_field_len;
    int header_is_ct, header_is_ce;
    char content_type[MAX_HEADER_VALUE];
    int gzip;
    z_stream z;
    int z_ready;
    size_t max_body;
    int message_done;
    struct http_get_result res;
    struct err err;
};

static void on_close(uv_handle_t *h)
{
    struct http_get *g = h->data;
    if (--g->handles_open > 0 || g->resolving)
        return;
    g->res.content_type = g->content_type;
    if (g->err.code != 0)
        buf_free(&g->res.body);
    g->cb(g->ctx, &g->res, &g->err);
    buf_free(&g->res.body);
    buf_free(&g->request);
    if (g->addrs)
        uv_freeaddrinfo(g->addrs);
    if (g->z_ready)
        inflateEnd(&g->z);
    free(g);
}

static void finish(struct http_get *g, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish(struct http_get *g, int code, const char *fmt, ...)
{
    if (g->state == ST_DONE)
        return;
    g->state = ST_DONE;
    g->err.code = code;
    if (code != 0) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
        va_end(ap);
        g->res.status = code == 0 ? g->res.status : 0;
    }
    uv_timer_stop(&g->timer);
    if (g->resolving)
        (void) uv_cancel((uv_req_t *) &g->resolver);
    if (!uv_is_closing((uv_handle_t *) &g->timer))
        uv_close((uv_handle_t *) &g->timer, on_close);
    if (!uv_is_closing((uv_handle_t *) &g->tcp))
        uv_close((uv_handle_t *) &g->tcp, on_close);
}

static void on_timeout(uv_timer_t *t)
{
    struct http_get *g = t->data;
    finish(g, ERR_TIMEOUT, "context deadline exceeded fetching %s", g->addr);
}

static int append_body(struct http_get *g, const char *p, size_t n)
{
    if (!g->gzip) {
        if (g->res.body.len + n > g->max_body)
            return ERR_LIMIT;
        return buf_append(&g->res.body, p, n);
    }
    g->z.next_in = (Bytef *) p;
    g->z.avail_in = (uInt) n;
    while (g->z.avail_in > 0) {
        if (buf_reserve(&g->res.body, 16384) < 0)
            return -ENOMEM;
        g->z.next_out = g->res.body.p + g->res.body.len;
        g->z.avail_out = (uInt) (g->res.body.cap - g->res.body.len);
        size_t before = g->z.avail_out;
        int zr = inflate(&g->z, Z_NO_FLUSH);
        g->res.body.len += before - g->z.avail_out;
        if (g->res.body.len > g->max_body)
            return ERR_LIMIT;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return ERR_PARSE;
        if (zr == Z_BUF_ERROR && g->z.avail_out != 0)
            break;
    }
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct http_get *g = p->data;
    size_t room = sizeof g->header_field - 1 - g->header_field_len;
    size_t take = n < room ? n : room;
    memcpy(g->header_field + g->header_field_len, at, take);
    g->header_field_len += take;
    g->header_field[g->header_field_len] = '\0';
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct http_get *g = p->data;
    if (g->header_field_len) {
        g->header_is_ct = strcasecmp(g->header_field, "content-type") == 0;
        g->header_is_ce = strcasecmp(g->header_field, "content-encoding") == 0;
        g->header_field_len = 0;
    }
    if (g->header_is_ct) {
        size_t have = strlen(g->content_type), room = sizeof g->content_type - 1 - have;
        size_t take = n < room ? n : room;
        memcpy(g->content_type + have, at, take);
        g->content_type[have + take] = '\0';
    } else if (g->header_is_ce && n >= 4 && strncasecmp(at, "gzip", 4) == 0) {
        g->gzip = 1;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct http_get *g = p->data;
    g->res.status = p->status_code;
    if (g->gzip) {
        memset(&g->z, 0, sizeof g->z);
        if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK)
            return -1;
        g->z_ready = 1;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct http_get *g = p->data;
    int r = append_body(g, at, n);
    if (r == ERR_LIMIT) {
        finish(g, ERR_LIMIT, "body size limit exceeded (%zu bytes) fetching %s", g->max_body,
               g->addr);
        return -1;
    }
    if (r < 0) {
        finish(g, ERR_PARSE, "invalid gzip body from %s", g->addr);
        return -1;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct http_get *g = p->data;
    g->message_done = 1;
    finish(g, 0, "%s", "");
    return HPE_PAUSED;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void) h;
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct http_get *g = s->data;
    if (n > 0 && g->state == ST_READ) {
        llhttp_errno_t er = llhttp_execute(&g->parser, b->base, (size_t) n);
        if (er != HPE_OK && er != HPE_PAUSED && g->state != ST_DONE)
            finish(g, ERR_PARSE, "invalid HTTP response from %s: %s", g->addr,
                   llhttp_get_error_reason(&g->parser));
    } else if (n == UV_EOF) {
        /* A response delimited by connection close ends here. */
        if (llhttp_finish(&g->parser) == HPE_OK && g->state != ST_DONE && g->res.status)
            finish(g, 0, "%s", "");
        else
            finish(g, ERR_PARSE, "connection to %s closed before the response was complete",
                   g->addr);
    } else if (n < 0) {
        finish(g, (int) n, "read from %s: %s", g->addr, uv_strerror((int) n));
    }
    free(b->base);
}

static void on_write(uv_write_t *w, int status)
{
    struct http_get *g = w->data;
    if (status < 0) {
        finish(g, status, "write to %s: %s", g->addr, uv_strerror(status));
        return;
    }
    if (g->state == ST_SEND)
        g->state = ST_READ;
}

static void try_connect(struct http_get *g, int last_status);

static void on_tcp_reset(uv_handle_t *h)
{
    struct http_get *g = h->data;
    if (g->state == ST_DONE) { /* finished while the socket closed: count the handle closed */
        on_close(h);
        return;
    }
    uv_tcp_init(g->loop, &g->tcp);
    g->tcp.data = g;
    try_connect(g, 0);
}

static void on_connect(uv_connect_t *c, int status)
{
    struct http_get *g = c->data;
    if (g->state == ST_DONE)
        return;
    if (status < 0) {
        /* "localhost" may resolve to ::1 first while the target listens on 127.0.0.1 only:
         * like Go's dialer, fall back to the next address before giving up. */
        if (g->next_addr) {
            uv_close((uv_handle_t *) &g->tcp, on_tcp_reset);
            return;
        }
        finish(g, status, "connect %s: %s", g->addr, uv_strerror(status));
        return;
    }
    g->state = ST_SEND;
    uv_buf_t b = uv_buf_init((char *) g->request.p, (unsigned) g->request.len);
    g->write_req.data = g;
    int r = uv_write(&g->write_req, (uv_stream_t *) &g->tcp, &b, 1, on_write);
    if (r == 0)
        r = uv_read_start((uv_stream_t *) &g->tcp, on_alloc, on_read);
    if (r < 0)
        finish(g, r, "send to %s: %s", g->addr, uv_strerror(r));
    else
        g->state = ST_READ;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct http_get *g = req->data;
    g->resolving = 0;
    if (g->state == ST_DONE) {
        uv_freeaddrinfo(ai);
        if (g->handles_open == 0) { /* handles closed while we resolved: run on_close's tail */
            g->handles_open = 1;
            on_close((uv_handle_t *) &g->timer);
        }
        return;
    }
    if (status < 0) {
        finish(g, status, "resolve %s: %s", g->addr, uv_strerror(status));
        return;
    }
    g->addrs = ai;
    g->next_addr = ai;
    g->state = ST_CONNECT;
    try_connect(g, 0);
}

static void try_connect(struct http_get *g, int last_status)
{
    int r = last_status;
    while (g->next_addr) {
        struct addrinfo *ai = g->next_addr;
        g->next_addr = ai->ai_next;
        g->connect_req.data = g;
        r = uv_tcp_connect(&g->connect_req, &g->tcp, ai->ai_addr, on_connect);
        if (r == 0)
            return;
    }
    finish(g, r ? r : UV_ECONNREFUSED, "connect %s: %s", g->addr,
           uv_strerror(r ? r : UV_ECONNREFUSED));
}

int http_get_start(uv_loop_t *loop, const struct http_get_opts *o, http_get_cb cb, void *ctx,
                   struct http_get **ret, struct err *e)
{
    struct http_get *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(e, -ENOMEM, "out of memory");
    g->loop = loop;
    g->cb = cb;
    g->ctx = ctx;
    g->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    (void) snprintf(g->addr, sizeof g->addr, "%s:%s", o->host, o->port);
    int r = buf_printf(&g->request,
                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ember/" EMBER_UA_VERSION
                       "\r\nAccept-Encoding: gzip\r\n%s%s%s%sConnection: close\r\n\r\n",
                       o->path, g->addr, o->accept ? "Accept: " : "", o->accept ? o->accept : "",
                       o->accept ? "\r\n" : "", o->extra_headers ? o->extra_headers : "");
    if (r < 0) {
        buf_free(&g->request);
        free(g);
        return err_set(e, r, "out of memory");
    }
    llhttp_settings_init(&g->settings);
    g->settings.on_header_field = on_header_field;
    g->settings.on_header_value = on_header_value;
    g->settings.on_headers_complete = on_headers_complete;
    g->settings.on_body = on_body;
    g->settings.on_message_complete = on_message_complete;
    llhttp_init(&g->parser, HTTP_RESPONSE, &g->settings);
    g->parser.data = g;

    uv_tcp_init(loop, &g->tcp);
    uv_timer_init(loop, &g->timer);
    g->tcp.data = g->timer.data = g;
    g->handles_open = 2;
    uv_timer_start(&g->timer, on_timeout, (uint64_t) (o->timeout_ms > 0 ? o->timeout_ms : 10000),
                   0);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    g->resolver.data = g;
    g->resolving = 1;
    r = uv_getaddrinfo(loop, &g->resolver, on_resolved, o->host, o->port, &hints);
    if (r < 0) {
        g->resolving = 0;
        finish(g, r, "resolve %s: %s", g->addr, uv_strerror(r));
    }
    if (ret)
        *ret = g;
    return 0;
}

void http_get_cancel(struct http_get *g)
{
    finish(g, ERR_CANCELED, "scrape of %s canceled", g->addr);
}
