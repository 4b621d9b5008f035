/* server/http.c — HTTP/1.1 server: listener, connections, llhttp request parsing, keep-alive,
 * pipelining, limits and timeouts, graceful close. Parsing is in http_request.c, responses in
 * http_response.c, TLS (OpenSSL over memory BIOs) in http_tls.c.
 *
 * Design. A connection serves one request at a time, in order:
 *
 *   bytes ─▶ llhttp (callbacks build c->cur in its own arena) ─▶ on_message_complete pauses llhttp
 *         ─▶ c->ready ─▶ handler (c->serving) ─▶ http_respond*() ─▶ uv_write (c->writes_pending)
 *
 * With TLS, read_cb hands ciphertext to http_tls_feed(), which decrypts into a second server-wide
 * buffer and feeds the same path; writes are encrypted and flushed as one uv_write each, and a
 * connection still in its handshake is held to the header deadline. A response is written with
 * uv_try_write when the socket takes it all, so its completion (write_done) may run at once.
 *
 * http_conn_pump() is the only place that runs the parser on buffered bytes and calls the handler; it
 * loops until it cannot progress and is never re-entered (c->in_pump), so synchronous responses
 * and pipelined requests do not recurse. Parsing (and so the next handler call) is allowed only
 * when no request is being served and the socket's write queue is under write_queue_cap; bytes
 * that arrive meanwhile wait in c->pending, and reading stops once that holds max_header_bytes.
 * llhttp is paused with HPE_PAUSED at the end of every message and resumed at
 * llhttp_get_error_pos(). Reads use one server-wide buffer that read_cb consumes before returning.
 *
 * One timer per connection serves whichever deadline applies (conn_deadline): header (slowloris),
 * whole-request read, keep-alive idle, write progress, or the linger after a closing response.
 * It is re-armed only when a deadline comes earlier than it is set for (conn_arm).
 * A connection that must close (error, "Connection: close", HTTP/1.0, server shutdown) finishes
 * its queued writes, half-closes (uv_shutdown) and reads-and-discards for linger_ms before
 * uv_close, so a client that is still sending gets the response instead of a reset.
 *
 * Requests are detached (r->conn = NULL) when their connection dies while a handler holds them;
 * the response is then freed unsent. A request's memory is its arena plus heap buffers for the
 * body and response, all released by http_req_free(). */
#include "server/http.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_conn.h"

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
    l->spin_us = 50;
}

/* --- connection plumbing --- */

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

static void on_write(uv_write_t *w, int status);


int http_conn_write(struct conn *c, struct wr *wr, uv_buf_t *iov, unsigned n)
{
    wr->c = c;
    c->writes_pending++;
    if (c->writes_pending == 1)
        c->write_since_ms = now_ms(c);
    if (c->tls) {
        int r = http_tls_encrypt(c->tls, iov, n) < 0 ? UV_EPROTO : http_tls_flush(c, wr);
        if (r < 0)
            c->writes_pending--;
        return r;
    }
    if (c->sink) {
        int r = 0;
        for (unsigned i = 0; i < n && r >= 0; i++)
            r = buf_append(c->sink, iov[i].base, iov[i].len);
        http_conn_write_done(wr, r < 0 ? UV_ENOMEM : 0);
        return 0;
    }
    /* Most responses fit the socket buffer: writing now saves libuv's write request, its
     * deferred callback and an epoll_ctl per response. What does not fit goes to uv_write.
     * (uv_try_write refuses while earlier writes are queued, so order is kept.) */
    int r = uv_try_write((uv_stream_t *) &c->tcp, iov, n);
    if (r < 0 && r != UV_EAGAIN) {
        c->writes_pending--;
        return r;
    }
    size_t done = r > 0 ? (size_t) r : 0;
    while (n > 0 && done >= iov[0].len) {
        done -= iov[0].len;
        iov++;
        n--;
    }
    if (n == 0) {
        http_conn_write_done(wr, 0); /* as the sink does: the caller must expect completion at once */
        return 0;
    }
    iov[0].base += done;
    iov[0].len -= done;
    r = uv_write(&wr->w, (uv_stream_t *) &c->tcp, iov, n, on_write);
    if (r < 0) {
        c->writes_pending--;
        return r;
    }
    return 0;
}

/* Spinning after a response. A client that just got an answer (Grafana's next panel, a script's
 * next curl, a keep-alive connection) usually sends its next request within microseconds; if
 * the loop thread has gone to sleep in epoll_wait by then, the request waits for its core to
 * wake, which on a virtual machine costs tens of microseconds (on this project's 2-core VM,
 * about as long as answering the request). So after each response the loop keeps polling with
 * a zero timeout for lim.spin_us (an active idle handle makes libuv do exactly that), and then
 * sleeps as before. Each turn of the spin yields the core first: a thread waiting for it (the
 * client on the same core, one of ember's workers) runs at once, and with nobody waiting the
 * yield returns at once. Without the yield, a spin on a core shared with a busy client only
 * delayed that client (at 100 connections some runs fell from ~55k to ~36k requests/s and p99
 * rose to 17-79 ms). An idle server never spins; a busy one rarely waits long enough to. */
static void on_spin(uv_idle_t *h)
{
    struct http_server *s = h->data;
    if (uv_hrtime() >= s->spin_until_ns)
        uv_idle_stop(h);
    else
        (void) sched_yield();
}

static void spin_after_response(struct http_server *s)
{
    if (s->lim.spin_us == 0 || s->closing)
        return;
    s->spin_until_ns = uv_hrtime() + (uint64_t) s->lim.spin_us * 1000;
    if (!uv_is_active((uv_handle_t *) &s->spin))
        (void) uv_idle_start(&s->spin, on_spin);
}

void http_conn_write_done(struct wr *wr, int status)
{
    struct conn *c = wr->c;
    if (!c->sink) /* http_serve_bytes (fuzzing, tests) has no loop to spin */
        spin_after_response(c->srv);
    if (wr->r)
        http_req_free(wr->r);
    else
        free(wr);
    c->writes_pending--;
    c->write_since_ms = now_ms(c);
    if (c->closed)
        return;
    if (status < 0) {
        http_conn_close(c);
        return;
    }
    http_conn_pump(c);
}

static void on_write(uv_write_t *w, int status) { http_conn_write_done((struct wr *) w, status); }

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
        http_conn_close(c);
        return;
    }
    if (c->tls) {
        http_tls_shutdown(c->tls);
        if (http_tls_flush(c, NULL) < 0) {
            http_conn_close(c);
            return;
        }
    }
    c->lingering = 1;
    c->linger_until_ms = now_ms(c) + c->srv->lim.linger_ms;
    if (uv_shutdown(&c->sreq, (uv_stream_t *) &c->tcp, on_shutdown) < 0)
        http_conn_close(c);
}

void http_conn_pump(struct conn *c)
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
        size_t used =
            http_conn_parse(c, (const char *) c->pending.p + c->pending_off, pending_len(c));
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
void http_conn_feed(struct conn *c, const char *p, size_t n)
{
    if (c->closed)
        return;
    if (c->lingering || c->closing)
        return; /* after a closing response, further input is discarded */
    if (pending_len(c) == 0 && can_parse(c)) {
        size_t used = http_conn_parse(c, p, n);
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
            http_conn_close(c);
            return;
        }
    }
    http_conn_pump(c);
}

void http_conn_eof(struct conn *c)
{
    c->eof = 1;
    if (c->lingering) {
        http_conn_close(c);
        return;
    }
    if (c->in_message && !c->serving && !c->ready) {
        /* A request cut short: nothing to answer. */
        http_conn_close(c);
        return;
    }
    http_conn_pump(c);
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
    if (nread > 0 && c->tls) {
        c->idle_since_ms = now_ms(c);
        http_tls_feed(c, b->base, (size_t) nread);
    } else if (nread > 0) {
        c->idle_since_ms = now_ms(c);
        http_conn_feed(c, b->base, (size_t) nread);
    } else if (nread == UV_EOF) {
        http_conn_eof(c);
    } else if (nread < 0) {
        http_conn_close(c);
    }
}

/* --- timers --- */

enum deadline { DL_NONE, DL_HANDSHAKE, DL_HEADER, DL_READ, DL_IDLE, DL_WRITE, DL_LINGER };

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
        /* A TLS client gets the header timeout for its handshake too (slowloris over TLS). */
        if (c->tls && !http_tls_handshake_done(c->tls))
            CONSIDER(DL_HANDSHAKE, c->accepted_ms + l->header_timeout_ms);
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

/* Lazy re-arming: the timer is moved only when the deadline comes earlier than it is set for.
 * A later deadline (the idle one, pushed forward by every request) or none leaves it alone; it
 * then fires early and on_timer re-arms it for what is due by then. So a keep-alive request
 * costs no timer-heap removal and insertion, just one early wake-up per idle_timeout_ms. */
static void conn_arm(struct conn *c)
{
    if (c->sink || c->closed)
        return;
    uint64_t due;
    if (conn_deadline(c, &due) == DL_NONE)
        return;
    if (uv_is_active((const uv_handle_t *) &c->timer) && c->timer_due_ms <= due)
        return;
    uint64_t now = now_ms(c);
    (void) uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
    c->timer_due_ms = due > now ? due : now;
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
        http_conn_fail(c, 408, "bad_data",
                  k == DL_HEADER ? "timeout reading request headers" : "timeout reading request");
        http_conn_pump(c);
        break;
    case DL_HANDSHAKE: /* no TLS session to answer in */
    case DL_WRITE:
        c->srv->st.timeouts++;
        http_conn_close(c);
        break;
    default:
        http_conn_close(c);
        break;
    }
}

/* --- connection lifetime --- */

static void conn_free(struct conn *c)
{
    http_tls_conn_free(c->tls);
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

void http_conn_close(struct conn *c)
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
    http_req_free(c->ready);
    c->ready = NULL;
    http_req_free(c->cur);
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
    http_conn_parser_init(c);
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
        if (uv_accept(l, (uv_stream_t *) t) == 0 && !s->tls) {
            /* uv_try_write copies nothing: it writes now or not at all (best effort). Under TLS
             * there is no handshake to answer in: the connection just closes. */
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
    if (s->tls && !(c->tls = http_tls_conn_new(s->tls))) {
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        http_conn_close(c);
        return;
    }
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
    c->idle_since_ms = c->accepted_ms = now_ms(c);
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
        http_spare_arenas_free(s);
        http_tls_free(s->tls);
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
    s->handles_pending++; /* the spin handle closes with the grace timer */
    uv_close((uv_handle_t *) &s->spin, on_srv_handle_closed);
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
    (void) uv_idle_init(loop, &s->spin); /* cannot fail: it only links the handle in */
    s->spin.data = s;
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

int http_server_use_tls(struct http_server *s, const struct http_tls_opts *o, struct err *e)
{
    struct http_tls *t;
    int r = http_tls_new(o, &t, e);
    if (r < 0)
        return r;
    http_tls_free(s->tls);
    s->tls = t;
    return 0;
}

static void on_grace(uv_timer_t *t)
{
    struct http_server *s = t->data;
    for (struct conn *c = s->conns; c; c = c->next)
        http_conn_close(c);
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
            http_conn_close(c);
        } else {
            /* let the request in flight finish; its response carries Connection: close */
            c->closing = 1;
            c->in_message = 0;
            http_req_free(c->cur);
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
        http_conn_feed(c, b + off, k);
        off += k;
    }
    if (!c->closed)
        http_conn_eof(c);
    http_conn_close(c);
    conn_free(c);
    http_spare_arenas_free(s);
    free(s);
    return 0;
}
