/* tests/unit/server/test_http.c — the HTTP server over real sockets on 127.0.0.1: keep-alive,
 * pipelining, asynchronous and worker responses, every limit's status code, slow clients, gzip,
 * graceful close, and uv_loop_close() == 0 after each case. The loop runs on the test thread; a
 * client thread speaks HTTP over blocking sockets with receive timeouts, so every wait is bounded.
 * Client-side failures are recorded and asserted after the loop ends (test_fail longjmps and must
 * stay on the test thread). */
#include "server/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "test.h"

/* --- server side (loop thread) --- */

static uv_loop_t loop;
static struct http_server *srv;
static uv_async_t async;
static atomic_int want_close, client_done, server_closed, aborts;
static int close_cb_ran;

struct delayed {
    uv_timer_t t;
    struct http_request *req;
};

static void on_delayed_closed(uv_handle_t *h) { free(h); }

static void on_delay(uv_timer_t *t)
{
    struct delayed *d = (struct delayed *) t;
    http_respond(d->req, 200, "text/plain", "slow", 4);
    uv_close((uv_handle_t *) t, on_delayed_closed);
}

struct job {
    uv_work_t w;
    struct http_request *req;
    struct buf out;
    int gz;
};

static void job_work(uv_work_t *w)
{
    /* Worker thread: build a body and compress it here, off the loop. */
    struct job *j = (struct job *) w;
    struct buf raw = BUF_INIT;
    for (int i = 0; i < 20000; i++)
        (void) buf_printf(&raw, "line %d of the worker body\n", i);
    if (j->gz)
        (void) http_gzip(raw.p, raw.len, 6, &j->out, NULL);
    else
        j->out = raw, raw = (struct buf) BUF_INIT;
    buf_free(&raw);
}

static void job_done(uv_work_t *w, int status)
{
    struct job *j = (struct job *) w;
    (void) status;
    if (j->gz)
        http_respond_gzipped(j->req, 200, "text/plain", &j->out);
    else
        http_respond_buf(j->req, 200, "text/plain", &j->out);
    free(j);
}

static void on_abort(void *arg)
{
    (void) arg;
    atomic_fetch_add(&aborts, 1);
}

static char mid_body[10000];
static char big_body[300000];

static void handler(struct http_request *req, void *ctx)
{
    (void) ctx;
    if (!strcmp(req->path, "/slow") || !strcmp(req->path, "/slower")) {
        struct delayed *d = calloc(1, sizeof *d);
        d->req = req;
        http_request_on_abort(req, on_abort, NULL);
        (void) uv_timer_init(&loop, &d->t);
        (void) uv_timer_start(&d->t, on_delay, !strcmp(req->path, "/slow") ? 100 : 400, 0);
        return;
    }
    if (!strcmp(req->path, "/worker") || !strcmp(req->path, "/worker-gz")) {
        struct job *j = calloc(1, sizeof *j);
        j->req = req;
        j->gz = req->accept_gzip && !strcmp(req->path, "/worker-gz");
        (void) uv_queue_work(&loop, &j->w, job_work, job_done);
        return;
    }
    if (!strcmp(req->path, "/mid")) {
        http_respond(req, 200, "text/plain", mid_body, sizeof mid_body);
        return;
    }
    if (!strcmp(req->path, "/big")) {
        http_respond(req, 200, "text/plain", big_body, sizeof big_body);
        return;
    }
    if (!strcmp(req->path, "/error")) {
        http_respond_error(req, 422, "execution", "many-to-many matching not allowed");
        return;
    }
    if (!strcmp(req->path, "/nocontent")) {
        http_respond(req, 204, "application/json", "ignored", 7);
        return;
    }
    const char *ua = http_request_header(req, "User-Agent");
    char *body = arena_printf(req->arena, "%s %s q=%s body=%zu ua=%s", req->method_name, req->path,
                              req->query, req->body_len, ua ? ua : "-");
    (void) http_response_header(req, "X-Test", "1");
    http_respond(req, 200, "text/plain", body, strlen(body));
}

static void on_server_closed(void *arg)
{
    (void) arg;
    close_cb_ran = 1;
}

static void on_async(uv_async_t *a)
{
    if (atomic_load(&want_close) && !atomic_load(&server_closed)) {
        atomic_store(&server_closed, 1);
        http_server_close(srv, on_server_closed, NULL);
    }
    if (atomic_load(&client_done))
        uv_close((uv_handle_t *) a, NULL);
}

/* --- client side (client thread) --- */

static char client_err[512];
static int port;

static void cfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cfail(const char *fmt, ...)
{
    if (client_err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(client_err, sizeof client_err, fmt, ap);
    va_end(ap);
}
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            cfail("%s:%d: %s", __FILE__, __LINE__, #c);                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

struct cconn {
    int fd;
    char buf[1 << 20];
    size_t len;
};

static struct cconn *cconnect(void)
{
    struct cconn *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void) setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *) &a, sizeof a) < 0)
        cfail("connect: %s", strerror(errno));
    return c;
}

static void cclose(struct cconn *c)
{
    close(c->fd);
    free(c);
}

static int csend(struct cconn *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t) w;
    }
    return 0;
}

static int csends(struct cconn *c, const char *s) { return csend(c, s, strlen(s)); }

/* Reads more bytes; 0 on EOF, -1 on timeout or error. */
static ssize_t cfill(struct cconn *c)
{
    if (c->len == sizeof c->buf)
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0)
        c->len += (size_t) n;
    return n;
}

struct resp {
    int status;
    char head[4096];
    char *body;
    size_t body_len;
};

/* Reads one response (Content-Length framed, or no body for 1xx/204); returns status or -1. */
static int cread(struct cconn *c, struct resp *r)
{
    memset(r, 0, sizeof *r);
    char *end;
    for (;;) {
        end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end)
            break;
        if (cfill(c) <= 0)
            return -1;
    }
    size_t hl = (size_t) (end + 4 - c->buf);
    memcpy(r->head, c->buf, hl < sizeof r->head - 1 ? hl : sizeof r->head - 1);
    r->status = atoi(c->buf + 9);
    size_t bl = 0;
    char *cl = strcasestr(r->head, "\r\nContent-Length: ");
    if (cl)
        bl = strtoul(cl + 18, NULL, 10);
    if (strstr(r->head, "HTTP/1.1 100") == r->head || r->status == 204 ||
        strstr(r->head, "X-Head: 1"))
        bl = 0;
    while (c->len < hl + bl)
        if (cfill(c) <= 0)
            return -1;
    r->body = malloc(bl + 1);
    memcpy(r->body, c->buf + hl, bl);
    r->body[bl] = '\0';
    r->body_len = bl;
    memmove(c->buf, c->buf + hl + bl, c->len - hl - bl);
    c->len -= hl + bl;
    return r->status;
}

/* 1 when the server closed the connection (EOF or reset) within the receive timeout. */
static int cclosed(struct cconn *c)
{
    for (;;) {
        ssize_t n = cfill(c);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0)
            return 0;
        c->len = 0;
    }
}

/* --- runner --- */

static void (*client_fn)(void);

static void *client_main(void *arg)
{
    (void) arg;
    client_fn();
    atomic_store(&want_close, 1);
    atomic_store(&client_done, 1);
    (void) uv_async_send(&async);
    return NULL;
}

static void run(const struct http_limits *lim, void (*fn)(void))
{
    struct err e;
    client_err[0] = '\0';
    atomic_store(&want_close, 0);
    atomic_store(&client_done, 0);
    atomic_store(&server_closed, 0);
    atomic_store(&aborts, 0);
    close_cb_ran = 0;
    memset(mid_body, 'm', sizeof mid_body);
    memset(big_body, 'b', sizeof big_body);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ASSERT_EQ(uv_async_init(&loop, &async, on_async), 0);
    ASSERT_OK_E(http_server_open(&loop, "127.0.0.1:0", lim, handler, NULL, &srv, &e), &e);
    port = http_server_port(srv);
    ASSERT_TRUE(port > 0);
    client_fn = fn;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, client_main, NULL), 0);
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(pthread_join(th, NULL), 0);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    ASSERT_TRUE(close_cb_ran);
    if (client_err[0])
        test_fail(__FILE__, __LINE__, "client: %s", client_err);
}

static void limits(struct http_limits *l)
{
    http_limits_default(l);
}

/* --- cases --- */

static void c_keep_alive(void)
{
    struct cconn *c = cconnect();
    struct resp r;
    for (int i = 0; i < 3; i++) {
        CHECK(csends(c, "GET /a%20b?x=1+2 HTTP/1.1\r\nHost: t\r\nUser-Agent: ua\r\n\r\n") == 0);
        CHECK(cread(c, &r) == 200);
        CHECK(!strcmp(r.body, "GET /a b q=x=1+2 body=0 ua=ua"));
        CHECK(strstr(r.head, "X-Test: 1\r\n"));
        CHECK(strstr(r.head, "Content-Type: text/plain\r\n"));
        CHECK(!strstr(r.head, "Connection: close"));
        CHECK(strstr(r.head, "\r\nDate: "));
        free(r.body);
    }
    CHECK(csends(c, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "POST /p q= body=5 ua=-"));
    free(r.body);
    /* chunked request body */
    CHECK(csends(c, "POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "POST /p q= body=7 ua=-"));
    free(r.body);
    cclose(c);
}

TEST(keep_alive)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_keep_alive);
}

static void c_pipelining(void)
{
    struct cconn *c = cconnect();
    struct resp r;
    CHECK(csends(c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /three HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "GET /one q= body=0 ua=-"));
    free(r.body);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "slow"));
    free(r.body);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "POST /three q= body=3 ua=-"));
    free(r.body);
    /* half-close after pipelined requests: all are still answered, then EOF */
    CHECK(csends(c, "GET /4 HTTP/1.1\r\nHost: t\r\n\r\nGET /worker HTTP/1.1\r\nHost: t\r\n\r\n") ==
          0);
    (void) shutdown(c->fd, SHUT_WR);
    CHECK(cread(c, &r) == 200);
    free(r.body);
    CHECK(cread(c, &r) == 200);
    CHECK(r.body_len > 500000);
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);
}

TEST(pipelining)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_pipelining);
}

static void c_garbage(void)
{
    struct cconn *c = cconnect();
    struct resp r;
    CHECK(csends(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\nBLAH\x01\x02 nonsense\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    free(r.body);
    CHECK(cread(c, &r) == 400);
    CHECK(strstr(r.head, "Content-Type: application/json\r\n"));
    CHECK(strstr(r.head, "Connection: close\r\n"));
    CHECK(strstr(r.body, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"malformed"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);
    /* the server keeps serving */
    c = cconnect();
    CHECK(csends(c, "GET /again HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    free(r.body);
    cclose(c);
    /* missing Host, bad escape in the path, HTTP/1.0 */
    c = cconnect();
    CHECK(csends(c, "GET / HTTP/1.1\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 400);
    CHECK(strstr(r.body, "missing required Host header"));
    free(r.body);
    cclose(c);
    c = cconnect();
    CHECK(csends(c, "GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 400);
    CHECK(strstr(r.body, "invalid URL escape \\\"%zz\\\""));
    free(r.body);
    cclose(c);
    c = cconnect();
    CHECK(csends(c, "GET /ten HTTP/1.0\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(strstr(r.head, "Connection: close\r\n"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);
    c = cconnect();
    CHECK(csends(c, "GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(strstr(r.head, "Connection: keep-alive\r\n"));
    free(r.body);
    CHECK(csends(c, "GET /error HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 422);
    CHECK(!strcmp(r.body, "{\"status\":\"error\",\"errorType\":\"execution\","
                          "\"error\":\"many-to-many matching not allowed\"}"));
    free(r.body);
    cclose(c);
    c = cconnect();
    CHECK(csends(c, "GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 204);
    CHECK(!strstr(r.head, "Content-Length"));
    free(r.body);
    CHECK(csends(c, "HEAD /mid HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n") ==
          0);
    /* HEAD: Content-Length of the full body, no body bytes; the next response follows */
    CHECK(cfill(c) > 0);
    CHECK(memmem(c->buf, c->len, "Content-Length: 10000\r\n", 23));
    char *hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
    CHECK(hend);
    size_t hl = (size_t) (hend + 4 - c->buf);
    memmove(c->buf, c->buf + hl, c->len - hl);
    c->len -= hl;
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "GET /x q= body=0 ua=-"));
    free(r.body);
    cclose(c);
}

TEST(garbage_and_protocol_errors)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_garbage);
}

static void c_limits(void)
{
    struct resp r;
    struct cconn *c = cconnect();
    size_t n = 70 << 10;
    char *big = malloc(n + 100);
    int k = snprintf(big, 100, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + k, 'a', n);
    memcpy(big + k + n, "\r\n\r\n", 5);
    CHECK(csends(c, big) == 0);
    CHECK(cread(c, &r) == 431);
    CHECK(strstr(r.body, "request header fields too large"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);

    c = cconnect();
    k = snprintf(big, 100, "GET /");
    memset(big + k, 'u', 40 << 10);
    memcpy(big + k + (40 << 10), " HTTP/1.1\r\nHost: t\r\n\r\n", 23);
    (void) csends(c, big); /* the server may answer and close before reading it all */
    CHECK(cread(c, &r) == 414);
    free(r.body);
    cclose(c);
    free(big);

    c = cconnect();
    CHECK(csends(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11534336\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 413);
    CHECK(strstr(r.body, "request body too large (limit 10485760 bytes)"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);

    /* chunked past the limit, while the client keeps sending: still a clean 413 (linger) */
    c = cconnect();
    CHECK(csends(c, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    static char chunk[70000];
    memset(chunk, 'c', sizeof chunk);
    for (int i = 0; i < 170; i++) {
        char hdr[32];
        (void) snprintf(hdr, sizeof hdr, "%zx\r\n", sizeof chunk);
        if (csends(c, hdr) < 0 || csend(c, chunk, sizeof chunk) < 0 || csends(c, "\r\n") < 0)
            break;
    }
    CHECK(cread(c, &r) == 413);
    free(r.body);
    cclose(c);

    c = cconnect();
    CHECK(csends(c, "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 2\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 100);
    free(r.body);
    CHECK(csends(c, "ok") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "POST / q= body=2 ua=-"));
    free(r.body);
    CHECK(csends(c, "POST / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\nContent-Length: 0\r\n\r\n") ==
          0);
    CHECK(cread(c, &r) == 417);
    free(r.body);
    cclose(c);
}

TEST(limits_4xx)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_limits);
}

static void c_too_many(void)
{
    struct resp r;
    struct cconn *a = cconnect(), *b = cconnect();
    CHECK(csends(a, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(a, &r) == 200);
    free(r.body);
    CHECK(csends(b, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(b, &r) == 200);
    free(r.body);
    struct cconn *c = cconnect();
    CHECK(cread(c, &r) == 503);
    CHECK(strstr(r.body, "too many connections"));
    free(r.body);
    cclose(c);
    cclose(a);
    usleep(100000); /* let the loop notice the close */
    c = cconnect();
    CHECK(csends(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    free(r.body);
    cclose(c);
    cclose(b);
}

TEST(max_connections)
{
    struct http_limits l;
    limits(&l);
    l.max_connections = 2;
    run(&l, c_too_many);
}

static void c_slow(void)
{
    struct resp r;
    struct cconn *c = cconnect();
    CHECK(csends(c, "GET / HTTP/1.1\r\nHo") == 0); /* and then nothing: slowloris */
    CHECK(cread(c, &r) == 408);
    CHECK(strstr(r.body, "timeout reading request headers"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);
    /* headers done, body never completes */
    c = cconnect();
    CHECK(csends(c, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab") == 0);
    CHECK(cread(c, &r) == 408);
    free(r.body);
    cclose(c);
    /* idle keep-alive: closed without a response */
    c = cconnect();
    CHECK(csends(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    free(r.body);
    CHECK(cclosed(c));
    CHECK(c->len == 0);
    cclose(c);
}

TEST(slow_clients_time_out)
{
    struct http_limits l;
    limits(&l);
    l.header_timeout_ms = 200;
    l.read_timeout_ms = 400;
    l.idle_timeout_ms = 300;
    run(&l, c_slow);
}

static int gunzip(const char *p, size_t n, char *out, size_t cap, size_t *ret_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    zs.next_in = (Bytef *) (uintptr_t) p;
    zs.avail_in = (uInt) n;
    zs.next_out = (Bytef *) out;
    zs.avail_out = (uInt) cap;
    int rc = inflate(&zs, Z_FINISH);
    *ret_len = cap - zs.avail_out;
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

static void c_gzip(void)
{
    struct resp r;
    static char out[1 << 20];
    size_t n;
    struct cconn *c = cconnect();
    CHECK(csends(c, "GET /mid HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, deflate\r\n\r\n") ==
          0);
    CHECK(cread(c, &r) == 200);
    CHECK(strstr(r.head, "Content-Encoding: gzip\r\n"));
    CHECK(r.body_len < sizeof mid_body / 10);
    CHECK(gunzip(r.body, r.body_len, out, sizeof out, &n) == 0);
    CHECK(n == sizeof mid_body && out[0] == 'm' && out[n - 1] == 'm');
    free(r.body);
    /* q=0 refuses; small bodies and bodies over gzip_loop_max_bytes stay plain */
    CHECK(csends(c, "GET /mid HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0, *\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strstr(r.head, "Content-Encoding"));
    free(r.body);
    CHECK(csends(c, "GET / HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strstr(r.head, "Content-Encoding"));
    free(r.body);
    CHECK(csends(c, "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(!strstr(r.head, "Content-Encoding") && r.body_len == sizeof big_body);
    free(r.body);
    /* the worker compresses large bodies itself */
    CHECK(csends(c, "GET /worker-gz HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n") == 0);
    CHECK(cread(c, &r) == 200);
    CHECK(strstr(r.head, "Content-Encoding: gzip\r\n"));
    CHECK(gunzip(r.body, r.body_len, out, sizeof out, &n) == 0);
    CHECK(n > 500000 && !memcmp(out, "line 0 of", 9));
    free(r.body);
    cclose(c);
}

TEST(gzip)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_gzip);
}

static void c_backpressure(void)
{
    struct resp r;
    struct cconn *c = cconnect();
    /* 8 pipelined large responses; the client reads only after a pause */
    for (int i = 0; i < 8; i++)
        CHECK(csends(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(200000);
    for (int i = 0; i < 8; i++) {
        CHECK(cread(c, &r) == 200);
        CHECK(r.body_len == sizeof big_body);
        free(r.body);
    }
    cclose(c);
}

TEST(write_backpressure)
{
    struct http_limits l;
    limits(&l);
    l.write_queue_cap = 1024;
    run(&l, c_backpressure);
}

static void c_abort(void)
{
    struct cconn *c = cconnect();
    CHECK(csends(c, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    /* RST while the handler holds the request */
    struct linger lg = {1, 0};
    (void) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    usleep(20000);
    cclose(c);
    usleep(300000);
    CHECK(atomic_load(&aborts) == 1);
}

TEST(client_gone_while_serving)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_abort);
}

static void c_graceful(void)
{
    struct resp r;
    struct cconn *idle = cconnect();
    struct cconn *c = cconnect();
    CHECK(csends(c, "GET /slower HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    usleep(50000);
    atomic_store(&want_close, 1); /* http_server_close while /slower is in flight */
    (void) uv_async_send(&async);
    CHECK(cclosed(idle)); /* idle connections close at once */
    CHECK(cread(c, &r) == 200);
    CHECK(!strcmp(r.body, "slow"));
    CHECK(strstr(r.head, "Connection: close\r\n"));
    free(r.body);
    CHECK(cclosed(c));
    cclose(c);
    cclose(idle);
}

TEST(graceful_close)
{
    struct http_limits l;
    limits(&l);
    run(&l, c_graceful);
}

static void c_nothing(void) {}

TEST(listen_addresses)
{
    struct err e;
    struct http_server *s = NULL;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ASSERT_EQ(http_server_open(&loop, "127.0.0.1", NULL, handler, NULL, &s, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "missing port");
    ASSERT_EQ(http_server_open(&loop, "127.0.0.1:99999", NULL, handler, NULL, &s, &e), ERR_PARSE);
    ASSERT_EQ(http_server_open(&loop, "[::1", NULL, handler, NULL, &s, &e), ERR_PARSE);
    int r = http_server_open(&loop, "[::1]:0", NULL, handler, NULL, &s, &e);
    if (r == 0) { /* IPv6 may be unavailable in the sandbox */
        ASSERT_TRUE(http_server_port(s) > 0);
        close_cb_ran = 0;
        http_server_close(s, on_server_closed, NULL);
        ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ASSERT_TRUE(close_cb_ran);
    }
    /* port in use: the error names the address and the loop still closes cleanly */
    struct http_server *s1 = NULL, *s2 = NULL;
    ASSERT_EQ(http_server_open(&loop, "127.0.0.1:0", NULL, handler, NULL, &s1, &e), 0);
    char addr[64];
    (void) snprintf(addr, sizeof addr, "127.0.0.1:%d", http_server_port(s1));
    ASSERT_TRUE(http_server_open(&loop, addr, NULL, handler, NULL, &s2, &e) < 0);
    ASSERT_STR_CONTAINS(e.msg, addr);
    http_server_close(s1, NULL, NULL);
    http_server_close(NULL, NULL, NULL);
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    (void) c_nothing;
}

/* The same state machine without sockets: pipelined bytes in 1-byte pieces. */
static void sync_handler(struct http_request *req, void *ctx)
{
    (void) ctx;
    http_respond(req, 200, "text/plain", req->path, req->path_len);
}

TEST(serve_bytes_split_reads)
{
    const char *in = "GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\n"
                     "Content-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: t\r\n"
                     "Connection: close\r\n\r\nGET /d HTTP/1.1\r\nHost: t\r\n\r\n";
    for (size_t chunk = 0; chunk < 8; chunk++) {
        struct buf out = BUF_INIT;
        ASSERT_EQ(http_serve_bytes(NULL, in, strlen(in), chunk, sync_handler, NULL, &out), 0);
        ASSERT_EQ(buf_putc(&out, 0), 0);
        const char *s = (const char *) out.p;
        const char *a = strstr(s, "\r\n\r\n/a"), *b = strstr(s, "\r\n\r\n/b"),
                   *c = strstr(s, "\r\n\r\n/c");
        ASSERT_TRUE(a && b && c && a < b && b < c);
        ASSERT_TRUE(strstr(s, "/d") == NULL); /* after Connection: close */
        buf_free(&out);
    }
}

TEST(accept_encoding)
{
    ASSERT_TRUE(http_accepts_gzip("gzip"));
    ASSERT_TRUE(http_accepts_gzip("deflate, GZIP;q=0.5"));
    ASSERT_TRUE(http_accepts_gzip("*"));
    ASSERT_TRUE(http_accepts_gzip("x-gzip"));
    ASSERT_FALSE(http_accepts_gzip("gzip;q=0"));
    ASSERT_FALSE(http_accepts_gzip("gzip; q=0.000, *"));
    ASSERT_FALSE(http_accepts_gzip("identity"));
    ASSERT_FALSE(http_accepts_gzip(""));
    ASSERT_FALSE(http_accepts_gzip("gzipx"));
    ASSERT_TRUE(http_accepts_gzip("br;q=1.0, gzip;q=0.8"));
}
