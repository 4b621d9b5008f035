/* scrape/http_client.c — a single GET as a small state machine:
 *   RESOLVE (uv_getaddrinfo) → CONNECT (uv_tcp_connect) → SEND (uv_write) → READ (llhttp) → DONE
 * A uv_timer bounds the whole exchange. finish() is the only exit: it records the outcome, closes
 * the handles, and the callback runs once both handles have closed, so the caller may free or
 * reuse anything right in the callback. gzip bodies are inflated as they arrive.
 * https: after CONNECT an OpenSSL session runs over two memory BIOs; socket bytes go into one,
 * whatever OpenSSL wants sent comes out of the other (tls_pump/tls_flush), so the handshake, the
 * request and the response never block the loop. The response bytes go through http_response.c
 * (framing, headers, gzip, the body cap), which knows nothing of sockets. A followed redirect
 * closes the socket and
 * goes back to RESOLVE for the Location under the same timer.
 * Keep-alive (opts.keep): a complete response that allows it does not close the socket; the
 * object itself waits in the caller's slot as ST_IDLE (still reading, so a server's close is
 * noticed at once; the timer is the idle timeout) and the next request starts at SEND on it. Its
 * callback runs from on_read's tail, not after handles close. */
#include "http_client.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/http_location.h"
#include "scrape/http_response.h"
#include "scrape/tls.h"

enum get_state { ST_RESOLVE, ST_CONNECT, ST_SEND, ST_READ, ST_DONE, ST_IDLE };

/* An idle kept connection is dropped after this long, as Prometheus' client does (Go's
 * IdleConnTimeout in prometheus/common: 5 minutes). */
#define IDLE_TIMEOUT_MS (5 * 60 * 1000)

struct http_get {
    uv_loop_t *loop;
    enum get_state state;
    uv_getaddrinfo_t resolver;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    struct addrinfo *addrs, *next_addr; /* resolved list; connect tries each in turn */
    const struct sockaddr *dialed;      /* the address of the last connect tried */
    /* A numeric host needs no lookup: its one address, without a thread-pool round trip. */
    struct addrinfo literal_ai;
    struct sockaddr_storage literal;
    int handles_open;
    int resolving;
    http_get_cb cb;
    void *ctx;
    /* What to fetch; copies, since a redirect rebuilds the request after start returned. */
    char scheme[8], host[256], port[16];
    char *path, *accept, *extra_headers;
    struct buf post;  /* request body: POST when non-empty (the Alertmanager notifier) */
    char *post_type;
    int identity;
    int max_redirects, redirects;
    char addr[300];
    struct buf request;
    /* TLS: the session reads ciphertext from bin and writes it to bout; we move bytes between
     * them and the socket, so OpenSSL never blocks and never sees a file descriptor. */
    scrape_tls *tls;
    SSL *ssl;
    BIO *bin, *bout;
    int tls_up;
    struct http_response resp; /* the response being read */
    size_t max_body;
    /* Keep-alive: keep_slot is where the caller parks an idle connection between requests. */
    struct http_get **keep_slot;
    int keepable;        /* the finished response left the connection usable */
    int deliver_pending; /* finished on a kept connection: on_read's tail runs the callback */
    int reused;          /* this request went out on a kept connection */
    int got_bytes;       /* a response byte arrived: a failure now is not a stale connection */
    struct http_get_result res;
    struct err err;
};

/* One queued socket write with its bytes. */
struct raw_write {
    uv_write_t req;
    struct http_get *g;
    char data[];
};

static void on_close(uv_handle_t *h)
{
    struct http_get *g = h->data;
    if (--g->handles_open > 0 || g->resolving)
        return;
    if (g->cb) { /* NULL: an idle connection closing, its last request long delivered */
        g->res.content_type = g->resp.content_type;
        g->res.reason = g->resp.reason;
        if (g->err.code != 0)
            buf_free(&g->res.body);
        g->cb(g->ctx, &g->res, &g->err);
    }
    buf_free(&g->res.body);
    buf_free(&g->request);
    if (g->addrs)
        uv_freeaddrinfo(g->addrs);
    http_response_done(&g->resp);
    SSL_free(g->ssl);
    scrape_tls_unref(g->tls);
    free(g->path);
    free(g->accept);
    free(g->extra_headers);
    buf_free(&g->post);
    free(g->post_type);
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
    if (code == 0 && g->keepable) { /* the socket stays open: on_read's tail delivers */
        g->deliver_pending = 1;
        return;
    }
    if (g->resolving)
        (void) uv_cancel((uv_req_t *) &g->resolver);
    if (!uv_is_closing((uv_handle_t *) &g->timer))
        uv_close((uv_handle_t *) &g->timer, on_close);
    if (!uv_is_closing((uv_handle_t *) &g->tcp))
        uv_close((uv_handle_t *) &g->tcp, on_close);
}

/* Finishes with Go's *url.Error text, which Prometheus shows as a target's lastError:
 * `Get "http://host:port/path": detail` ("Post" for the notifier's requests). */
static void finish_url(struct http_get *g, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finish_url(struct http_get *g, int code, const char *fmt, ...)
{
    char detail[sizeof g->err.msg];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    finish(g, code, "%s \"%s://%s%.160s\": %s", g->post.len ? "Post" : "Get", g->scheme,
           g->addr, g->path, detail);
}

/* A socket error as Go's syscall.Errno prints it ("connection refused", "no route to host"):
 * the C library's text with a lower-case first letter. */
static const char *errno_text(int status, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s", strerror(-status));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char) (buf[0] - 'A' + 'a');
    return buf;
}

/* A socket address as Go prints one: 127.0.0.1:9100, [::1]:9100; "" when not IP. */
static const char *sockaddr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "";
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET6 &&
        uv_ip6_name((const struct sockaddr_in6 *) sa, ip, sizeof ip) == 0)
        (void) snprintf(out, cap, "[%s]:%u", ip,
                        ntohs(((const struct sockaddr_in6 *) sa)->sin6_port));
    else if (sa && sa->sa_family == AF_INET &&
             uv_ip4_name((const struct sockaddr_in *) sa, ip, sizeof ip) == 0)
        (void) snprintf(out, cap, "%s:%u", ip, ntohs(((const struct sockaddr_in *) sa)->sin_port));
    return out;
}

/* A failed connect, as Go's dialer words it: the address dialled, as numbers. */
static void finish_connect(struct http_get *g, int status)
{
    char buf[128], peer[64];
    sockaddr_text(g->dialed, peer, sizeof peer);
    finish_url(g, status, "dial tcp %s: connect: %s", peer[0] ? peer : g->addr,
               errno_text(status, buf, sizeof buf));
}

/* A failed read or write on the connection, as Go words it ("read tcp 127.0.0.1:40000->
 * 127.0.0.1:9100: read: connection reset by peer"). op is "read" or "write". */
static void finish_io(struct http_get *g, int status, const char *op)
{
    char buf[128], local[64], peer[64];
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getsockname(&g->tcp, (struct sockaddr *) &ss, &len) < 0)
        ss.ss_family = AF_UNSPEC;
    sockaddr_text((const struct sockaddr *) &ss, local, sizeof local);
    sockaddr_text(g->dialed, peer, sizeof peer);
    finish_url(g, status, "%s tcp %s->%s: %s: %s", op, local[0] ? local : "?",
               peer[0] ? peer : g->addr, op, errno_text(status, buf, sizeof buf));
}

/* A failed name lookup, as Go's resolver words it. */
static void finish_resolve(struct http_get *g, int status)
{
    finish_url(g, status, "dial tcp: lookup %s: %s", g->host,
               status == UV_EAI_NONAME ? "no such host" : uv_strerror(status));
}

static void on_timeout(uv_timer_t *t)
{
    struct http_get *g = t->data;
    if (g->state == ST_IDLE) {
        http_get_close_idle(g);
        return;
    }
    finish_url(g, ERR_TIMEOUT, "context deadline exceeded");
}

/* Every read lands in one buffer per thread (the loop thread): on_read consumes it before it
 * returns (llhttp copies the body out, TLS copies into its BIO), so no read needs its own
 * allocation. A plain body of declared length is read straight into its own buffer instead,
 * saving that copy of every scrape's body. */
#define READ_BUF_SIZE (64u << 10)
static _Thread_local char *read_buf;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_get *g = h->data;
    (void) suggested;
    size_t room;
    char *direct = !g->ssl && g->state == ST_READ ? http_response_body_room(&g->resp, &room) : NULL;
    if (direct) {
        b->base = direct;
        b->len = room;
        return;
    }
    if (!read_buf)
        read_buf = malloc(READ_BUF_SIZE);
    b->base = read_buf;
    b->len = read_buf ? READ_BUF_SIZE : 0;
}

static void redial(struct http_get *g);

/* A kept connection the server closed meanwhile fails before any response byte: the request was
 * not seen, so it goes once more on a fresh connection (Go's transport retries likewise).
 * 1 when the retry started. */
static int retry_if_stale(struct http_get *g)
{
    if (!g->reused || g->got_bytes || g->state != ST_READ)
        return 0;
    g->reused = 0;
    redial(g);
    return 1;
}

static void on_raw_written(uv_write_t *w, int status)
{
    struct raw_write *rw = (struct raw_write *) w;
    struct http_get *g = rw->g;
    free(rw);
    /* ECANCELED: the socket was closed under the write (finish or a redirect); not an error. */
    if (status < 0 && status != UV_ECANCELED && !retry_if_stale(g))
        finish_io(g, status, "write");
}

/* Queues n bytes (copied) on the socket. */
static int send_raw(struct http_get *g, const void *p, size_t n)
{
    struct raw_write *rw = malloc(sizeof *rw + n);
    if (!rw) {
        finish(g, -ENOMEM, "send to %s: out of memory", g->addr);
        return -ENOMEM;
    }
    memcpy(rw->data, p, n);
    rw->g = g;
    uv_buf_t b = uv_buf_init(rw->data, (unsigned) n);
    int r = uv_write(&rw->req, (uv_stream_t *) &g->tcp, &b, 1, on_raw_written);
    if (r < 0) {
        free(rw);
        finish(g, r, "send to %s: %s", g->addr, uv_strerror(r));
    }
    return r;
}

static void start_redirect(struct http_get *g);
static void reset_response(struct http_get *g);

/* What the response parser said (anything but MORE) becomes the outcome of the request. */
static void response_outcome(struct http_get *g, int r, const struct err *e)
{
    if (r == HTTP_RESPONSE_REDIRECT) {
        start_redirect(g);
    } else if (r == HTTP_RESPONSE_COMPLETE) {
        /* A redirect's connection belongs to another URL than the caller's next request. */
        g->keepable = g->keep_slot && g->redirects == 0 && g->resp.keep_alive;
        g->res.status = g->resp.status;
        g->res.body = g->resp.body;
        g->resp.body = (struct buf) BUF_INIT;
        finish(g, 0, "%s", "");
    } else if (r == ERR_LIMIT) {
        finish(g, ERR_LIMIT, "%s", e->msg); /* Prometheus' words exactly: users grep for them */
    } else if (r < 0) {
        finish(g, r == -ENOMEM ? r : ERR_PARSE, "invalid HTTP response from %s: %s", g->addr,
               e->msg);
    }
}

/* Plaintext response bytes into the HTTP parser. */
static void feed(struct http_get *g, const char *p, size_t n)
{
    if (g->state != ST_READ)
        return;
    g->got_bytes = 1;
    struct err e = {0};
    response_outcome(g, http_response_feed(&g->resp, p, n, NULL, &e), &e);
}

static void handle_eof(struct http_get *g)
{
    if (g->state != ST_READ || retry_if_stale(g))
        return;
    if (g->ssl && !g->tls_up) {
        finish(g, ERR_PARSE, "connection to %s closed during the TLS handshake", g->addr);
        return;
    }
    struct err e = {0};
    int r = http_response_eof(&g->resp, &e);
    if (r == HTTP_RESPONSE_COMPLETE || r == HTTP_RESPONSE_REDIRECT)
        response_outcome(g, r, &e);
    else
        finish(g, ERR_PARSE, "connection to %s closed before the response was complete",
               g->addr);
}

/* Ciphertext OpenSSL produced, onto the socket. */
static void tls_flush(struct http_get *g)
{
    char chunk[16384];
    int n;
    while (g->ssl && (n = BIO_read(g->bout, chunk, sizeof chunk)) > 0)
        if (send_raw(g, chunk, (size_t) n) < 0)
            return;
}

/* The request into the TLS session (sent by the next tls_flush); 0 or -1 (finished). */
static int tls_write_request(struct http_get *g)
{
    if (SSL_write(g->ssl, g->request.p, (int) g->request.len) > 0)
        return 0;
    char buf[256];
    finish(g, ERR_PARSE, "tls write to %s: %s", g->addr, ERR_error_string(ERR_get_error(), buf));
    ERR_clear_error();
    return -1;
}

/* Advances the TLS session as far as the bytes received allow: handshake, then the request, then
 * every decrypted response byte into the HTTP parser. */
static void tls_pump(struct http_get *g)
{
    char buf[16384];
    if (!g->tls_up) {
        int r = SSL_do_handshake(g->ssl);
        if (r != 1) {
            int er = SSL_get_error(g->ssl, r);
            tls_flush(g); /* our next flight, or the alert that says why we stop */
            if (er != SSL_ERROR_WANT_READ && er != SSL_ERROR_WANT_WRITE)
                finish_url(g, ERR_PARSE, "%s",
                           scrape_tls_failure(g->ssl, g->host, g->tls, buf, sizeof buf));
            return;
        }
        g->tls_up = 1;
        if (tls_write_request(g) < 0)
            return;
    }
    SSL *s = g->ssl;
    while (g->state == ST_READ && g->ssl == s) {
        int n = SSL_read(s, buf, sizeof buf);
        if (n > 0) {
            feed(g, buf, (size_t) n);
            continue;
        }
        int er = SSL_get_error(s, n);
        if (er == SSL_ERROR_ZERO_RETURN)
            handle_eof(g);
        else if (er != SSL_ERROR_WANT_READ)
            finish(g, ERR_PARSE, "tls read from %s: %s", g->addr,
                   ERR_error_string(ERR_get_error(), buf));
        ERR_clear_error();
        break;
    }
    if (g->state == ST_READ)
        tls_flush(g);
}

/* The response on a connection kept for the next request: park it in the caller's slot, then
 * report. Runs at the end of on_read, when nothing up the stack touches g any more. */
static void deliver_kept(struct http_get *g)
{
    http_get_cb cb = g->cb;
    g->cb = NULL;
    g->deliver_pending = 0;
    g->state = ST_IDLE;
    *g->keep_slot = g;
    uv_timer_start(&g->timer, on_timeout, IDLE_TIMEOUT_MS, 0);
    g->res.content_type = g->resp.content_type;
    g->res.reason = g->resp.reason;
    cb(g->ctx, &g->res, &g->err);
    buf_free(&g->res.body);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct http_get *g = s->data;
    if (g->state == ST_IDLE) {
        /* Idle, the server closed (EOF), reset, or sent what nobody asked for: drop it now
         * rather than find out on the next scrape. */
        if (n != 0)
            http_get_close_idle(g);
        return;
    }
    if (n > 0 && g->state == ST_READ) {
        if (!g->ssl)
            feed(g, b->base, (size_t) n);
        else if (BIO_write(g->bin, b->base, (int) n) != (int) n)
            finish(g, -ENOMEM, "read from %s: out of memory", g->addr);
        else
            tls_pump(g);
    } else if (n == UV_EOF) {
        handle_eof(g);
    } else if (n < 0 && g->state == ST_READ && !retry_if_stale(g)) {
        finish_io(g, (int) n, "read");
    }
    if (g->deliver_pending)
        deliver_kept(g);
}

static void try_connect(struct http_get *g, int last_status);
static void resolve(struct http_get *g);

static void on_tcp_reset(uv_handle_t *h)
{
    struct http_get *g = h->data;
    if (g->state == ST_DONE) { /* finished while the socket closed: count the handle closed */
        on_close(h);
        return;
    }
    uv_tcp_init(g->loop, &g->tcp);
    g->tcp.data = g;
    if (g->state == ST_RESOLVE) /* a redirect: a new host to look up */
        resolve(g);
    else
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
        finish_connect(g, status);
        return;
    }
    g->state = ST_READ;
    int r = uv_read_start((uv_stream_t *) &g->tcp, on_alloc, on_read);
    if (r < 0) {
        finish(g, r, "send to %s: %s", g->addr, uv_strerror(r));
        return;
    }
    if (!g->tls) {
        (void) send_raw(g, g->request.p, g->request.len);
        return;
    }

    struct err e = {0};
    if (scrape_tls_session(g->tls, g->host, &g->ssl, &g->bin, &g->bout, &e) < 0) {
        finish(g, e.code, "%s", e.msg);
        return;
    }
    tls_pump(g);
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
        finish_resolve(g, status);
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
        g->dialed = ai->ai_addr;
        r = uv_tcp_connect(&g->connect_req, &g->tcp, ai->ai_addr, on_connect);
        if (r == 0)
            return;
    }
    finish_connect(g, r ? r : UV_ECONNREFUSED);
}

/* Points next_addr at the host's own address when it is an IPv4 or IPv6 literal; 0 if not. */
static int use_literal(struct http_get *g)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *) &g->literal;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &g->literal;
    char *end;
    unsigned long port = strtoul(g->port, &end, 10);
    if (*end || port > 65535)
        return 0;
    memset(&g->literal, 0, sizeof g->literal);
    memset(&g->literal_ai, 0, sizeof g->literal_ai);
    if (uv_inet_pton(AF_INET, g->host, &v4->sin_addr) == 0) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t) port);
        g->literal_ai.ai_addrlen = sizeof *v4;
    } else if (uv_inet_pton(AF_INET6, g->host, &v6->sin6_addr) == 0) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t) port);
        g->literal_ai.ai_addrlen = sizeof *v6;
    } else {
        return 0;
    }
    g->literal_ai.ai_family = g->literal.ss_family;
    g->literal_ai.ai_socktype = SOCK_STREAM;
    g->literal_ai.ai_addr = (struct sockaddr *) &g->literal;
    g->next_addr = &g->literal_ai;
    g->state = ST_CONNECT;
    return 1;
}

static void resolve(struct http_get *g)
{
    if (use_literal(g)) {
        try_connect(g, 0);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    g->resolver.data = g;
    g->resolving = 1;
    int r = uv_getaddrinfo(g->loop, &g->resolver, on_resolved, g->host, g->port, &hints);
    if (r < 0) {
        g->resolving = 0;
        finish_resolve(g, r);
    }
}

static int build_request(struct http_get *g)
{
    const char *lb = strchr(g->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
    (void) snprintf(g->addr, sizeof g->addr, "%s%s%s:%s", lb, g->host, rb, g->port);
    buf_reset(&g->request);
    int r = buf_printf(&g->request,
                       "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ember/" EMBER_UA_VERSION
                       "\r\nAccept-Encoding: %s\r\n%s%s%s%s%s",
                       g->post.len ? "POST" : "GET", g->path, g->addr,
                       g->identity ? "identity" : "gzip", g->accept ? "Accept: " : "",
                       g->accept ? g->accept : "", g->accept ? "\r\n" : "",
                       g->extra_headers ? g->extra_headers : "",
                       g->keep_slot ? "" : "Connection: close\r\n");
    if (r >= 0 && g->post.len)
        r = buf_printf(&g->request, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                       g->post_type ? g->post_type : "application/octet-stream", g->post.len);
    else if (r >= 0)
        r = buf_puts(&g->request, "\r\n");
    if (r >= 0 && g->post.len)
        r = buf_append(&g->request, g->post.p, g->post.len);
    return r;
}

static void reset_parser(struct http_get *g)
{
    http_response_reset(&g->resp, g->max_body, g->max_redirects > 0);
}

/* Follows a 3xx: a fresh connection to the Location under the same deadline. */
static void start_redirect(struct http_get *g)
{
    if (g->redirects >= g->max_redirects) {
        finish_url(g, ERR_PARSE, "stopped after %d redirects", g->max_redirects);
        return;
    }
    g->redirects++;
    if (http_location_apply(g->resp.location, g->scheme, g->host, sizeof g->host, g->port,
                            sizeof g->port, &g->path) < 0 ||
        build_request(g) < 0) {
        finish(g, ERR_PARSE, "redirect from %s to an unusable location", g->addr);
        return;
    }
    if (!strcmp(g->scheme, "https") && !g->tls) {
        finish(g, ERR_PARSE, "redirect to https://%s needs the job's scheme: https or a "
               "tls_config", g->addr);
        return;
    }
    if (strcmp(g->scheme, "https")) { /* https → http: Go allows it, TLS ends here */
        scrape_tls_unref(g->tls);
        g->tls = NULL;
    }
    reset_response(g);
    redial(g);
}

/* Forgets any response received so far, for a redirect or a new request on a kept connection. */
static void reset_response(struct http_get *g)
{
    buf_reset(&g->res.body);
    g->res.status = 0;
    g->keepable = 0;
    reset_parser(g);
}

/* Closes the socket and sends the request again from RESOLVE on a new one, under the same
 * deadline: after a redirect (g points at the Location) or on a stale kept connection. */
static void redial(struct http_get *g)
{
    SSL_free(g->ssl);
    g->ssl = NULL;
    g->tls_up = 0;
    reset_parser(g);
    if (g->addrs)
        uv_freeaddrinfo(g->addrs);
    g->addrs = g->next_addr = NULL;
    g->dialed = NULL; /* it pointed into addrs */
    g->state = ST_RESOLVE;
    uv_read_stop((uv_stream_t *) &g->tcp);
    uv_close((uv_handle_t *) &g->tcp, on_tcp_reset);
}

static char *dup_or_null(const char *s, int *bad)
{
    char *d = s ? strdup(s) : NULL;
    *bad |= s && !d;
    return d;
}

/* The per-request part of g from o; 0 or -ENOMEM. */
static int set_request(struct http_get *g, const struct http_get_opts *o, http_get_cb cb,
                       void *ctx)
{
    g->cb = cb;
    g->ctx = ctx;
    g->max_body = o->max_body ? o->max_body : HTTP_RESPONSE_MAX_BODY_DEFAULT;
    g->identity = o->identity_encoding;
    g->max_redirects = o->max_redirects;
    g->redirects = 0;
    g->keep_slot = o->keep;
    free(g->path);
    free(g->accept);
    free(g->extra_headers);
    int bad = 0;
    g->path = dup_or_null(o->path, &bad);
    g->accept = dup_or_null(o->accept, &bad);
    g->extra_headers = dup_or_null(o->extra_headers, &bad);
    free(g->post_type);
    g->post_type = dup_or_null(o->post_type, &bad);
    buf_reset(&g->post);
    if (o->post_body && o->post_len && buf_append(&g->post, o->post_body, o->post_len) < 0)
        bad = 1;
    if (bad || !g->path || build_request(g) < 0)
        return -ENOMEM;
    reset_parser(g);
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* o asks for exactly the request g sent last (a scrape loop asks the same every interval): its
 * bytes can go again. A kept connection never followed a redirect, so g's path is its own. */
static int same_request(const struct http_get *g, const struct http_get_opts *o)
{
    return !g->post.len && !(o->post_body && o->post_len) && g->identity == o->identity_encoding &&
           g->keep_slot == o->keep && same_str(g->path, o->path) &&
           same_str(g->accept, o->accept) && same_str(g->extra_headers, o->extra_headers);
}

/* The next request on the idle connection g, parked by an earlier response. */
static int start_on_kept(struct http_get *g, const struct http_get_opts *o, http_get_cb cb,
                         void *ctx, struct err *e)
{
    *o->keep = NULL;
    g->err = (struct err){0};
    int same = same_request(g, o);
    if (same) { /* the rest of set_request(): what the response parser needs */
        g->cb = cb;
        g->ctx = ctx;
        g->max_body = o->max_body ? o->max_body : HTTP_RESPONSE_MAX_BODY_DEFAULT;
        g->max_redirects = o->max_redirects;
        g->redirects = 0;
    }
    reset_response(g);
    if (!same && set_request(g, o, cb, ctx) < 0) {
        g->cb = NULL;
        http_get_close_idle(g);
        return err_set(e, -ENOMEM, "out of memory");
    }
    g->reused = 1;
    g->got_bytes = 0;
    g->state = ST_READ;
    uv_timer_start(&g->timer, on_timeout, (uint64_t) (o->timeout_ms > 0 ? o->timeout_ms : 10000),
                   0);
    if (!g->ssl)
        (void) send_raw(g, g->request.p, g->request.len);
    else if (tls_write_request(g) == 0)
        tls_flush(g);
    return 0;
}

int http_get_start(uv_loop_t *loop, const struct http_get_opts *o, http_get_cb cb, void *ctx,
                   struct http_get **ret, struct err *e)
{
    struct http_get *kept = o->keep ? *o->keep : NULL;
    if (kept && kept->tls == o->tls && !strcmp(kept->host, o->host) &&
        !strcmp(kept->port, o->port)) {
        int r = start_on_kept(kept, o, cb, ctx, e);
        if (r == 0 && ret)
            *ret = kept;
        return r;
    }
    if (kept) /* kept for another URL or TLS setting: not for this request */
        http_get_close_idle(kept);
    struct http_get *g = calloc(1, sizeof *g);
    if (!g)
        return err_set(e, -ENOMEM, "out of memory");
    g->loop = loop;
    g->tls = scrape_tls_ref(o->tls);
    (void) snprintf(g->scheme, sizeof g->scheme, "%s", o->tls ? "https" : "http");
    (void) snprintf(g->host, sizeof g->host, "%s", o->host);
    (void) snprintf(g->port, sizeof g->port, "%s", o->port);
    if (set_request(g, o, cb, ctx) < 0) {
        buf_free(&g->request);
        scrape_tls_unref(g->tls);
        free(g->path);
        free(g->accept);
        free(g->extra_headers);
        buf_free(&g->post);
        free(g->post_type);
        free(g);
        return err_set(e, -ENOMEM, "out of memory");
    }
    uv_tcp_init(loop, &g->tcp);
    uv_timer_init(loop, &g->timer);
    g->tcp.data = g->timer.data = g;
    g->handles_open = 2;
    uv_timer_start(&g->timer, on_timeout, (uint64_t) (o->timeout_ms > 0 ? o->timeout_ms : 10000),
                   0);
    resolve(g);
    if (ret)
        *ret = g;
    return 0;
}

void http_get_cancel(struct http_get *g)
{
    finish(g, ERR_CANCELED, "scrape of %s canceled", g->addr);
}

void http_get_close_idle(struct http_get *g)
{
    if (*g->keep_slot == g)
        *g->keep_slot = NULL;
    g->cb = NULL; /* nobody waits on an idle connection */
    g->keepable = 0;
    g->state = ST_IDLE; /* finish() below closes it whatever it was doing */
    finish(g, ERR_CANCELED, "idle connection to %s closed", g->addr);
}
