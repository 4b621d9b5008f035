/* scrape/http_response.c — the response half of the scrape HTTP client, over bytes only.
 *
 * llhttp does the framing (status line, headers, Content-Length, chunked encoding, a body ended by
 * the close); its callbacks keep the three headers the scraper reads and append the body,
 * inflating it when Content-Encoding is gzip. The callbacks record the outcome in r->outcome and
 * pause the parser (HPE_PAUSED) at the end of the message or at a redirect's headers, so
 * feed() can say where the response ended. gzip follows Go's reader, which Prometheus uses:
 * concatenated members are one stream, anything else after a member is an error, and a body that
 * stops inside a member is "unexpected EOF". */
#include "scrape/http_response.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Records an error outcome (the first one wins) and returns -1, which stops llhttp. */
static int fail(struct http_response *r, int code, const char *msg, const char *detail)
{
    if (r->outcome >= 0) {
        r->outcome = code;
        (void) snprintf(r->err.msg, sizeof r->err.msg, "%s%s", msg, detail ? detail : "");
        r->err.code = code;
    }
    return -1;
}

/* Appends a header value piece (llhttp may split one value across reads) to a NUL-terminated
 * fixed buffer, cutting what does not fit. */
static void append_value(char *dst, size_t cap, const char *at, size_t n)
{
    size_t have = strlen(dst), room = cap - 1 - have;
    size_t take = n < room ? n : room;
    memcpy(dst + have, at, take);
    dst[have + take] = '\0';
}

static int on_status(llhttp_t *p, const char *at, size_t n)
{
    struct http_response *r = p->data;
    append_value(r->reason, sizeof r->reason, at, n);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct http_response *r = p->data;
    size_t room = sizeof r->header_field - 1 - r->header_field_len;
    size_t take = n < room ? n : room;
    memcpy(r->header_field + r->header_field_len, at, take);
    r->header_field_len += take;
    r->header_field[r->header_field_len] = '\0';
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct http_response *r = p->data;
    if (r->header_field_len) {
        r->header_is_ct = strcasecmp(r->header_field, "content-type") == 0;
        r->header_is_ce = strcasecmp(r->header_field, "content-encoding") == 0;
        r->header_is_loc = strcasecmp(r->header_field, "location") == 0;
        r->header_field_len = 0;
    }
    if (r->header_is_ct)
        append_value(r->content_type, sizeof r->content_type, at, n);
    else if (r->header_is_loc)
        append_value(r->location, sizeof r->location, at, n);
    else if (r->header_is_ce) /* decided on the whole value: a read may split it */
        append_value(r->content_encoding, sizeof r->content_encoding, at, n);
    return 0;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int on_headers_complete(llhttp_t *p)
{
    struct http_response *r = p->data;
    r->status = p->status_code;
    r->gzip = strncasecmp(r->content_encoding, "gzip", 4) == 0;
    if (r->stop_at_redirect && is_redirect(r->status) && r->location[0]) {
        r->outcome = HTTP_RESPONSE_REDIRECT; /* the body of a redirect is not wanted */
        return HPE_PAUSED;
    }
    /* A declared length sizes the body once, exactly, instead of doubling it up from nothing
     * (only a hint: the bytes that arrive are still checked against max_body as they come). A
     * scrape keeps its body for an interval (the series cache's keys), so the up to 50% that
     * rounding to a power of two would add stays resident for every target. */
    if (!r->gzip && (p->flags & F_CONTENT_LENGTH) && p->content_length <= r->max_body &&
        r->body.len == 0 && r->body.cap < p->content_length) {
        uint8_t *b = realloc(r->body.p, p->content_length ? (size_t) p->content_length : 1);
        if (b) { /* failing: on_body grows the buffer as it can and says so */
            r->body.p = b;
            r->body.cap = p->content_length ? (size_t) p->content_length : 1;
        }
    }
    if (!r->gzip && (p->flags & F_CONTENT_LENGTH) && r->body.len == 0 &&
        p->content_length <= r->max_body && r->body.cap >= p->content_length)
        r->direct_len = (size_t) p->content_length;
    if (r->gzip) {
        memset(&r->z, 0, sizeof r->z);
        if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
            return fail(r, -ENOMEM, "out of memory", NULL);
        r->z_ready = 1;
    }
    return 0;
}

/* n compressed bytes through the inflater into the body. */
static int inflate_body(struct http_response *r, const char *p, size_t n)
{
    r->z.next_in = (Bytef *) p;
    r->z.avail_in = (uInt) n;
    while (r->z.avail_in > 0) {
        if (r->z_ended) { /* another member follows, as Go's multistream reader allows */
            if (inflateReset(&r->z) != Z_OK)
                return fail(r, ERR_PARSE, "invalid gzip body", NULL);
            r->z_ended = 0;
        }
        if (buf_reserve(&r->body, 16384) < 0)
            return fail(r, -ENOMEM, "out of memory", NULL);
        r->z.next_out = r->body.p + r->body.len;
        r->z.avail_out = (uInt) (r->body.cap - r->body.len);
        size_t before = r->z.avail_out;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->body.len += before - r->z.avail_out;
        if (r->body.len > r->max_body)
            return fail(r, ERR_LIMIT, "body size limit exceeded", NULL);
        if (zr == Z_STREAM_END)
            r->z_ended = 1;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return fail(r, ERR_PARSE, "invalid gzip body: ", r->z.msg ? r->z.msg : "bad data");
        else if (zr == Z_BUF_ERROR && r->z.avail_out != 0)
            break; /* no progress possible with what we have */
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct http_response *r = p->data;
    if (r->gzip)
        return inflate_body(r, at, n);
    if (n > r->max_body - r->body.len)
        return fail(r, ERR_LIMIT, "body size limit exceeded", NULL);
    if (r->body.p && at == (const char *) r->body.p + r->body.len &&
        n <= r->body.cap - r->body.len) {
        r->body.len += n; /* read in place (http_response_body_room) */
        return 0;
    }
    if (buf_append(&r->body, at, n) < 0)
        return fail(r, -ENOMEM, "out of memory", NULL);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct http_response *r = p->data;
    if (r->gzip && !r->z_ended)
        return fail(r, ERR_PARSE, "invalid gzip body: unexpected EOF", NULL);
    /* HTTP/1.1 without "Connection: close" (or 1.0 with keep-alive), the body delimited by
     * Content-Length or the chunked end. */
    r->keep_alive = llhttp_should_keep_alive(p);
    r->outcome = HTTP_RESPONSE_COMPLETE;
    return HPE_PAUSED;
}

void http_response_init(struct http_response *r, size_t max_body, int stop_at_redirect)
{
    memset(r, 0, offsetof(struct http_response, parser));
    r->body = (struct buf) BUF_INIT;
    llhttp_settings_init(&r->settings);
    r->settings.on_status = on_status;
    r->settings.on_header_field = on_header_field;
    r->settings.on_header_value = on_header_value;
    r->settings.on_headers_complete = on_headers_complete;
    r->settings.on_body = on_body;
    r->settings.on_message_complete = on_message_complete;
    llhttp_init(&r->parser, HTTP_RESPONSE, &r->settings);
    r->parser.data = r;
    r->max_body = max_body ? max_body : HTTP_RESPONSE_MAX_BODY_DEFAULT;
    r->stop_at_redirect = stop_at_redirect;
    r->header_field_len = 0;
    r->header_is_ct = r->header_is_ce = r->header_is_loc = 0;
    r->content_encoding[0] = '\0';
    r->gzip = r->z_ready = r->z_ended = 0;
    r->direct_len = 0;
    r->outcome = HTTP_RESPONSE_MORE;
    r->err = (struct err){0};
}

void http_response_done(struct http_response *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    if (r->z_ready)
        inflateEnd(&r->z);
    r->z_ready = 0;
}

void http_response_reset(struct http_response *r, size_t max_body, int stop_at_redirect)
{
    struct buf body = r->body;
    if (r->z_ready)
        inflateEnd(&r->z);
    http_response_init(r, max_body, stop_at_redirect);
    buf_reset(&body);
    r->body = body;
}

static int result(struct http_response *r, struct err *e)
{
    if (r->outcome < 0 && e)
        *e = r->err;
    return r->outcome;
}

int http_response_feed(struct http_response *r, const char *p, size_t n, size_t *ret_used,
                       struct err *e)
{
    if (ret_used)
        *ret_used = 0;
    if (r->outcome != HTTP_RESPONSE_MORE)
        return result(r, e);
    if (n == 0)
        return HTTP_RESPONSE_MORE;
    llhttp_errno_t er = llhttp_execute(&r->parser, p, n);
    if (r->outcome == HTTP_RESPONSE_MORE && er != HPE_OK)
        fail(r, ERR_PARSE, "malformed HTTP response: ", llhttp_get_error_reason(&r->parser));
    if (ret_used) {
        const char *stop = er == HPE_OK ? p + n : llhttp_get_error_pos(&r->parser);
        *ret_used = stop && stop >= p && stop <= p + n ? (size_t) (stop - p) : n;
    }
    return result(r, e);
}

char *http_response_body_room(struct http_response *r, size_t *ret_len)
{
    if (r->outcome != HTTP_RESPONSE_MORE || r->body.len >= r->direct_len)
        return NULL;
    *ret_len = r->direct_len - r->body.len;
    return (char *) r->body.p + r->body.len;
}

int http_response_eof(struct http_response *r, struct err *e)
{
    if (r->outcome != HTTP_RESPONSE_MORE)
        return result(r, e);
    /* A response delimited by the connection's close ends here; llhttp_finish() runs
     * on_message_complete for it. */
    if (llhttp_finish(&r->parser) == HPE_OK && r->status && r->outcome == HTTP_RESPONSE_MORE) {
        /* llhttp had nothing to finish (e.g. a 1xx or a message it already ended): keep the
         * response as it stands, as the client always did. */
        r->outcome = HTTP_RESPONSE_COMPLETE;
        r->keep_alive = 0;
    }
    if (r->outcome == HTTP_RESPONSE_MORE)
        fail(r, ERR_PARSE, "connection closed before the response was complete", NULL);
    if (r->outcome == HTTP_RESPONSE_COMPLETE)
        r->keep_alive = 0;
    return result(r, e);
}
