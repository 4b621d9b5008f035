/* server/http_conn.h — internals shared by the HTTP server's files (not for other modules):
 * the connection and request structs and the functions one file calls in another.
 * http.c: sockets, connections, timers, the server; http_request.c: llhttp callbacks building a
 * request; http_response.c: status lines, headers, bodies, gzip. The design is in http.c. */
#ifndef EMBER_SERVER_HTTP_CONN_H
#define EMBER_SERVER_HTTP_CONN_H

#include <time.h>

#include <llhttp.h>

#include "server/http.h"

#define READ_BUF_BYTES 65536
/* Arenas kept for reuse: one per request in flight is enough for a steady load; each keeps its
 * first 4 KiB block. */
#define HTTP_SPARE_ARENAS 64

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
    struct buf head;     /* response head when the arena is at its cap (else in the arena) */
    struct buf extra;    /* extra response headers, "Name: value\r\n" each */
    void (*abort_fn)(void *);
    void *abort_arg;
    void (*respond_fn)(void *, const struct http_request *, int); /* metrics hook */
    void *respond_arg;
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
    uint64_t timer_due_ms; /* when c->timer fires, while it is active (uv_now() time) */
    int handles;
    unsigned reading : 1, closing : 1, closed : 1, eof : 1, paused : 1, in_pump : 1,
        lingering : 1, in_message : 1, headers_done : 1;
    char remote[64];
    struct http_tls_conn *tls; /* NULL: plain HTTP */
    uint64_t accepted_ms;
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t grace;
    uv_idle_t spin;          /* active while the loop polls without sleeping (on_spin) */
    uint64_t spin_until_ns; /* uv_hrtime() at which it stops */
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
    struct http_tls *tls; /* NULL: plain HTTP */
    struct arena *spare[HTTP_SPARE_ARENAS]; /* reset arenas for new requests (http_req_new) */
    uint32_t n_spare;
    char readbuf[READ_BUF_BYTES];
    char plainbuf[READ_BUF_BYTES]; /* TLS: decrypted bytes, consumed like readbuf */
};

static inline struct req *to_req(struct http_request *pub) { return (struct req *) pub; }
static inline const struct req *to_creq(const struct http_request *pub)
{
    return (const struct req *) pub;
}

static inline uint64_t now_ms(const struct conn *c)
{
    return c->sink ? 0 : uv_now(c->srv->loop);
}

/* http_request.c */
struct req *http_req_new(struct conn *c); /* NULL when out of memory */
void http_req_free(struct req *r);        /* NULL is fine */
void http_spare_arenas_free(struct http_server *s);
void http_conn_parser_init(struct conn *c);
/* Runs llhttp over p..p+n. Returns bytes consumed; on a protocol error the error response is
 * queued, the connection is closing and everything counts as consumed. */
size_t http_conn_parse(struct conn *c, const char *p, size_t n);

/* http_response.c */
/* Answers a protocol error with a JSON body and closes after it. */
void http_conn_fail(struct conn *c, int status, const char *type, const char *msg);
void http_conn_continue(struct conn *c); /* interim "100 Continue" */

/* http_tls.c: OpenSSL over memory BIOs (design there). */
#define HTTP_TLS_EOF (-1) /* http_tls_read: the client sent close_notify */
struct http_tls;
struct http_tls_conn;
int http_tls_new(const struct http_tls_opts *o, struct http_tls **ret, struct err *e);
void http_tls_free(struct http_tls *t);                    /* NULL is fine */
struct http_tls_conn *http_tls_conn_new(struct http_tls *t); /* NULL: out of memory */
void http_tls_conn_free(struct http_tls_conn *tc);         /* NULL is fine */
int http_tls_handshake_done(const struct http_tls_conn *tc);
/* Ciphertext from the socket. */
int http_tls_input(struct http_tls_conn *tc, const char *p, size_t n);
/* Plaintext into out: > 0 bytes, 0 when more ciphertext is needed, HTTP_TLS_EOF, or -EPROTO
 * (handshake or record failure: close). */
int http_tls_read(struct http_tls_conn *tc, char *out, size_t cap);
/* Plaintext to send: encrypted into the write BIO. */
int http_tls_encrypt(struct http_tls_conn *tc, const uv_buf_t *iov, unsigned n);
void http_tls_shutdown(struct http_tls_conn *tc); /* queue close_notify */
/* Appends the ciphertext waiting to be sent to out. */
int http_tls_take(struct http_tls_conn *tc, struct buf *out);
/* Ciphertext read from c's socket: decrypted into the parser (http_conn_feed), then what
 * OpenSSL queued in reply is flushed; a failed handshake closes c after its alert. */
void http_tls_feed(struct conn *c, const char *p, size_t n);
/* Writes what OpenSSL has queued as one uv_write; orig (may be NULL) completes with it. */
int http_tls_flush(struct conn *c, struct wr *orig);

/* http.c */
/* Queues bytes on the socket (or the sink); wr completes through write_done. */
int http_conn_write(struct conn *c, struct wr *wr, uv_buf_t *iov, unsigned n);
void http_conn_pump(struct conn *c);
void http_conn_write_done(struct wr *wr, int status); /* a write finished (or failed) */
void http_conn_feed(struct conn *c, const char *p, size_t n); /* plaintext bytes in */
void http_conn_eof(struct conn *c);
void http_conn_close(struct conn *c);

#endif
