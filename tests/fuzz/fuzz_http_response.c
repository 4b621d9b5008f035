/* tests/fuzz/fuzz_http_response.c — the scrape client's response parser (http_response.c: status
 * line, headers, Content-Length, chunked encoding, gzip, the body cap) and redirect Location
 * resolution (http_location.c) on arbitrary bytes.
 *
 * Input: byte 0 picks the options (bit 0: stop at redirects; bits 1-2: body cap 1 B, 100 B,
 * 4 KiB or the default), byte 1 where the response is split in two reads; the rest is what the
 * server sent, then the connection closes. Checked: the parser ends in exactly one outcome, the
 * body never passes the cap, an error carries a message, a redirect's Location resolves to a
 * sendable path on a named host, or is refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/http_location.h"
#include "scrape/http_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_http_response: %s\n", what);
        abort();
    }
}

static void check_location(const char *loc)
{
    char scheme[8] = "http", host[256] = "target.example", port[16] = "9100";
    char *path = strdup("/metrics/sub?x=1");
    if (!path)
        return;
    if (http_location_apply(loc, scheme, host, sizeof host, port, sizeof port, &path) == 0) {
        check(!strcmp(scheme, "http") || !strcmp(scheme, "https"), "bad scheme");
        check(host[0] != '\0', "empty host");
        check(port[0] != '\0', "empty port");
        for (const char *p = port; *p; p++)
            check(*p >= '0' && *p <= '9', "port not digits");
        check(path[0] == '/', "path not absolute");
        for (const char *p = path; *p; p++)
            check((unsigned char) *p > 0x20 && *p != 0x7f, "unsendable byte in path");
        for (const char *p = host; *p; p++)
            check((unsigned char) *p > 0x20 && *p != 0x7f, "unsendable byte in host");
    }
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const size_t caps[4] = {1, 100, 4096, 0};
    size_t cap = caps[(data[0] >> 1) & 3];
    int stop_at_redirect = data[0] & 1;
    const char *p = (const char *) data + 2;
    size_t n = size - 2, split = n * data[1] / 255;

    struct http_response r;
    struct err e = {0};
    http_response_init(&r, cap, stop_at_redirect);
    size_t used = 0;
    int out = http_response_feed(&r, p, split, &used, &e);
    check(used <= split, "used past the input");
    if (out == HTTP_RESPONSE_MORE)
        out = http_response_feed(&r, p + split, n - split, &used, &e);
    if (out == HTTP_RESPONSE_MORE)
        out = http_response_eof(&r, &e);
    check(out != HTTP_RESPONSE_MORE, "no outcome after the close");
    /* Once decided, the outcome stays. */
    struct err e2 = {0};
    check(http_response_feed(&r, "x", 1, NULL, &e2) == out, "outcome changed");
    if (out < 0) {
        check(e.msg[0] != '\0' && e.code == out, "error without a message");
    } else {
        check(r.status >= 0 && r.status <= 999, "status out of range");
        check(r.body.len <= (cap ? cap : HTTP_RESPONSE_MAX_BODY_DEFAULT), "body over the cap");
        check(strlen(r.content_type) < sizeof r.content_type, "content type unterminated");
        check(strlen(r.reason) < sizeof r.reason, "reason unterminated");
    }
    if (out == HTTP_RESPONSE_REDIRECT) {
        check(stop_at_redirect && r.location[0], "redirect without a Location");
        check_location(r.location);
    }
    http_response_done(&r);

    /* The Location resolver on the raw bytes too (up to the first NUL). */
    char loc[2048];
    size_t ln = n < sizeof loc - 1 ? n : sizeof loc - 1;
    memcpy(loc, p, ln);
    loc[ln] = '\0';
    check_location(loc);
    return 0;
}
