/* tests/unit/scrape/test_http_response.c — the scrape client's response parser over bytes: good
 * responses (Content-Length, chunked, close-delimited, gzip, split anywhere) and malformed ones,
 * each with a clear error; and redirect Location resolution. */
#include "scrape/http_location.h"
#include "scrape/http_response.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Feeds text (n bytes) split at every position, then the close; returns the outcome of the last
 * split (all must agree) with r filled from it (the caller calls http_response_done). */
static int parse(struct http_response *r, const char *text, size_t n, size_t cap, int redirects,
                 struct err *e)
{
    int first = 0;
    for (size_t split = 0; split <= n; split++) {
        if (split)
            http_response_done(r);
        http_response_init(r, cap, redirects);
        *e = (struct err){0};
        int out = http_response_feed(r, text, split, NULL, e);
        if (out == HTTP_RESPONSE_MORE)
            out = http_response_feed(r, text + split, n - split, NULL, e);
        if (out == HTTP_RESPONSE_MORE)
            out = http_response_eof(r, e);
        if (split == 0)
            first = out;
        else if (out != first)
            return -999; /* the outcome depended on where the bytes were split */
    }
    return first;
}

#define PARSE(r, s, cap, redir, e) parse(r, s, sizeof(s) - 1, cap, redir, e)

TEST(content_length_chunked_and_close_delimited)
{
    struct http_response r;
    struct err e;
    ASSERT_EQ(PARSE(&r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                        "Content-Length: 5\r\n\r\nup 1\n", 0, 0, &e),
              HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.reason, "OK");
    ASSERT_STR_EQ(r.content_type, "text/plain; version=0.0.4");
    ASSERT_MEM_EQ(r.body.p, "up 1\n", 5);
    ASSERT_TRUE(r.keep_alive);
    http_response_done(&r);

    ASSERT_EQ(PARSE(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "3\r\nup \r\n2\r\n1\n\r\n0\r\n\r\n", 0, 0, &e),
              HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.body.len, 5);
    ASSERT_MEM_EQ(r.body.p, "up 1\n", 5);
    http_response_done(&r);

    ASSERT_EQ(PARSE(&r, "HTTP/1.0 200 OK\r\n\r\nup 1\n", 0, 0, &e), HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.body.len, 5);
    ASSERT_FALSE(r.keep_alive);
    http_response_done(&r);
}

/* text = headers, then body gzipped (members times), optionally cut by `cut` bytes. */
static size_t gzip_response(char *out, size_t cap, const char *body, int members, size_t cut)
{
    unsigned char z[512];
    size_t zn = 0;
    for (int m = 0; m < members; m++) {
        z_stream s = {0};
        if (deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return 0;
        s.next_in = (Bytef *) body;
        s.avail_in = (uInt) strlen(body);
        s.next_out = z + zn;
        s.avail_out = (uInt) (sizeof z - zn);
        if (deflate(&s, Z_FINISH) != Z_STREAM_END)
            return 0;
        zn = sizeof z - s.avail_out;
        deflateEnd(&s);
    }
    zn -= cut;
    int h = snprintf(out, cap, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                               "Content-Length: %zu\r\n\r\n", zn);
    memcpy(out + h, z, zn);
    return (size_t) h + zn;
}

TEST(gzip_bodies)
{
    struct http_response r;
    struct err e;
    char buf[1024];
    size_t n = gzip_response(buf, sizeof buf, "up 1\nup{a=\"b\"} 2\n", 1, 0);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ(parse(&r, buf, n, 0, 0, &e), HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.body.len, 17);
    ASSERT_MEM_EQ(r.body.p, "up 1\nup{a=\"b\"} 2\n", 17);
    http_response_done(&r);

    /* Two members read as one stream, as Go's reader does. */
    n = gzip_response(buf, sizeof buf, "up 1\n", 2, 0);
    ASSERT_EQ(parse(&r, buf, n, 0, 0, &e), HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.body.len, 10);
    http_response_done(&r);

    /* Cut inside the stream (the length says so): unexpected EOF. */
    n = gzip_response(buf, sizeof buf, "up 1\n", 1, 4);
    ASSERT_EQ(parse(&r, buf, n, 0, 0, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid gzip body: unexpected EOF");
    http_response_done(&r);

    /* Not gzip at all. */
    ASSERT_EQ(PARSE(&r, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\n"
                        "not gzip", 0, 0, &e),
              ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "invalid gzip body: ");
    http_response_done(&r);

    /* The cap applies to the inflated size. */
    n = gzip_response(buf, sizeof buf, "up 1\nup{a=\"b\"} 2\n", 1, 0);
    ASSERT_EQ(parse(&r, buf, n, 10, 0, &e), ERR_LIMIT);
    ASSERT_STR_EQ(e.msg, "body size limit exceeded");
    http_response_done(&r);
}

TEST(malformed_responses_have_clear_errors)
{
    static const struct {
        const char *text, *msg;
        int code;
    } cases[] = {
        {"SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP response: ", ERR_PARSE},
        {"HTTP/1.1 2x0 OK\r\n\r\n", "malformed HTTP response: ", ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "malformed HTTP response: ",
         ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
         "malformed HTTP response: ", ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n\r\n", "malformed HTTP response: ", ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
         "connection closed before the response was complete", ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nContent-Ty", "connection closed before the response was complete",
         ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
         "connection closed before the response was complete", ERR_PARSE},
        {"", "connection closed before the response was complete", ERR_PARSE},
        {"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789a", "body size limit exceeded",
         ERR_LIMIT},
        {"HTTP/1.1 200 OK\r\n\r\n0123456789a", "body size limit exceeded", ERR_LIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        struct err e;
        ASSERT_EQ(parse(&r, cases[i].text, strlen(cases[i].text), 10, 0, &e), cases[i].code);
        ASSERT_EQ(e.code, cases[i].code);
        ASSERT_STR_CONTAINS(e.msg, cases[i].msg);
        http_response_done(&r);
    }
}

TEST(redirect_stops_at_headers_only_when_asked)
{
    struct http_response r;
    struct err e;
    static const char text[] = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n"
                               "Content-Length: 3\r\n\r\nabc";
    ASSERT_EQ(PARSE(&r, text, 0, 1, &e), HTTP_RESPONSE_REDIRECT);
    ASSERT_STR_EQ(r.location, "/elsewhere");
    ASSERT_EQ(r.body.len, 0);
    http_response_done(&r);
    ASSERT_EQ(PARSE(&r, text, 0, 0, &e), HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.status, 302);
    ASSERT_EQ(r.body.len, 3);
    http_response_done(&r);
}

/* Applies loc to http://target:9100/a/b?q; returns 0/-1 and the resulting URL parts. */
static int apply(const char *loc, char *scheme, char *host, char *port, char **path)
{
    strcpy(scheme, "http");
    strcpy(host, "target");
    strcpy(port, "9100");
    *path = strdup("/a/b?q");
    return http_location_apply(loc, scheme, host, 256, port, 16, path);
}

TEST(location_resolution)
{
    char scheme[8], host[256], port[16], *path;
    ASSERT_OK(apply("c?x=1#frag", scheme, host, port, &path));
    ASSERT_STR_EQ(path, "/a/c?x=1");
    ASSERT_STR_EQ(host, "target");
    free(path);
    ASSERT_OK(apply("/m", scheme, host, port, &path));
    ASSERT_STR_EQ(path, "/m");
    free(path);
    ASSERT_OK(apply("https://user:pw@[::1]:9443", scheme, host, port, &path));
    ASSERT_STR_EQ(scheme, "https");
    ASSERT_STR_EQ(host, "::1");
    ASSERT_STR_EQ(port, "9443");
    ASSERT_STR_EQ(path, "/");
    free(path);
    ASSERT_OK(apply("//other/x", scheme, host, port, &path));
    ASSERT_STR_EQ(host, "other");
    ASSERT_STR_EQ(port, "80");
    ASSERT_STR_EQ(path, "/x");
    free(path);
    /* Refused: no host, a port that is not a number, bytes a request line cannot carry. */
    static const char *const bad[] = {"http:///x", "http://h:9x/m", "http://h:/m\x01",
                                      "/a b", "http://[::1/m", "http://h\x7f/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(apply(bad[i], scheme, host, port, &path), -1);
        free(path);
    }
}

/* Reading a declared plain body in place: once the headers are in, the room is exactly the rest
 * of the body; bytes read there and fed from there complete it without a copy, a short read
 * leaves room for the rest, and a body too big for max_body, gzip, chunked or close-delimited
 * bodies offer none. */
TEST(declared_body_read_in_place)
{
    struct http_response r;
    struct err e = {0};
    const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    http_response_init(&r, 0, 0);
    size_t room = 0;
    ASSERT_TRUE(http_response_body_room(&r, &room) == NULL); /* headers first */
    ASSERT_EQ(http_response_feed(&r, head, sizeof head - 1, NULL, &e), HTTP_RESPONSE_MORE);
    char *at = http_response_body_room(&r, &room);
    ASSERT_TRUE(at != NULL);
    ASSERT_EQ(room, 10);
    memcpy(at, "up 1\n", 5); /* a short read */
    ASSERT_EQ(http_response_feed(&r, at, 5, NULL, &e), HTTP_RESPONSE_MORE);
    char *at2 = http_response_body_room(&r, &room);
    ASSERT_TRUE(at2 == at + 5);
    ASSERT_EQ(room, 5);
    memcpy(at2, "up 2\n", 5);
    ASSERT_EQ(http_response_feed(&r, at2, 5, NULL, &e), HTTP_RESPONSE_COMPLETE);
    ASSERT_EQ(r.body.len, 10);
    ASSERT_MEM_EQ(r.body.p, "up 1\nup 2\n", 10);
    ASSERT_TRUE(http_response_body_room(&r, &room) == NULL);
    http_response_done(&r);

    const char *none[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",                      /* > max_body */
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        http_response_init(&r, 50, 0);
        ASSERT_EQ(http_response_feed(&r, none[i], strlen(none[i]), NULL, &e), HTTP_RESPONSE_MORE);
        ASSERT_TRUE(http_response_body_room(&r, &room) == NULL);
        http_response_done(&r);
    }
}
