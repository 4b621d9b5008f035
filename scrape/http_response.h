/* scrape/http_response.h — an HTTP/1.x response parser as a pure function over bytes: status line,
 * headers (Content-Type, Content-Encoding, Location kept), Content-Length, chunked or
 * close-delimited bodies (llhttp), gzip inflated as it arrives, a cap on the decompressed body.
 * No socket, no loop: http_client.c feeds it what it reads; the fuzz target and the unit tests
 * feed it bytes directly. Any thread; one parser per response. */
#ifndef EMBER_SCRAPE_HTTP_RESPONSE_H
#define EMBER_SCRAPE_HTTP_RESPONSE_H

#include <llhttp.h>
#include <stddef.h>
#include <zlib.h>

#include "tsdb/base/base.h"

#define HTTP_RESPONSE_MAX_BODY_DEFAULT (64u << 20)

/* What http_response_feed() and http_response_eof() report; errors are < 0. */
enum http_response_state {
    HTTP_RESPONSE_MORE = 0,     /* needs more bytes */
    HTTP_RESPONSE_COMPLETE = 1, /* the whole response is in; bytes after it are not consumed */
    HTTP_RESPONSE_REDIRECT = 2, /* headers of a 3xx with Location, when asked to stop there */
};

struct http_response {
    /* Results, valid once COMPLETE (status, reason and the headers from REDIRECT on). */
    int status;
    char reason[64];          /* reason phrase, cut to fit */
    char content_type[256];   /* "" when absent, cut to fit */
    char location[2048];      /* "" when absent, cut to fit */
    struct buf body;          /* decompressed; the caller may take it (then leave it BUF_INIT) */
    int keep_alive;           /* the connection may carry another request */

    /* private */
    llhttp_t parser;
    llhttp_settings_t settings;
    size_t max_body;
    int stop_at_redirect;
    char header_field[32];
    size_t header_field_len;
    int header_is_ct, header_is_ce, header_is_loc;
    char content_encoding[16]; /* enough to tell "gzip" */
    int gzip, z_ready, z_ended;
    z_stream z;
    size_t direct_len;        /* a declared identity body sized the buffer: its length, else 0 */
    int outcome;              /* set by the callbacks: a state or an error code */
    struct err err;
};

/* max_body: decompressed bytes allowed (0: HTTP_RESPONSE_MAX_BODY_DEFAULT); stop_at_redirect:
 * report REDIRECT at the headers of a 301/302/303/307/308 carrying a Location. */
void http_response_init(struct http_response *r, size_t max_body, int stop_at_redirect);
/* Frees the body and the inflater; r may be initialised again. NULL is fine. */
void http_response_done(struct http_response *r);
/* For the next response (a redirect, a kept connection): like done + init, but an empty body
 * keeps its allocation. */
void http_response_reset(struct http_response *r, size_t max_body, int stop_at_redirect);

/* Parses the next n bytes. After COMPLETE, REDIRECT or an error, further calls repeat that result.
 * Errors: ERR_PARSE ("malformed HTTP response: ...", "invalid gzip body: ..."), ERR_LIMIT ("body
 * size limit exceeded", Prometheus' words), -ENOMEM; e gets the message. *ret_used (may be NULL)
 * says how many bytes belonged to the response. */
int http_response_feed(struct http_response *r, const char *p, size_t n, size_t *ret_used,
                       struct err *e);

/* Where the next bytes read may land to skip a copy: the unfilled rest of a body whose declared
 * length (identity encoding) sized the buffer once its headers were parsed; NULL otherwise.
 * Bytes read there must be the next ones fed, from that address. */
char *http_response_body_room(struct http_response *r, size_t *ret_len);

/* The connection ended: COMPLETE when the response was delimited by the close (no
 * Content-Length, not chunked), else ERR_PARSE "connection closed before the response was
 * complete" (also for no bytes at all). */
int http_response_eof(struct http_response *r, struct err *e);

#endif
