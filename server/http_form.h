/* server/http_form.h — request parameters decoded exactly like Go's Request.ParseForm: the
 * x-www-form-urlencoded body (POST, PUT, PATCH with that media type, parameters such as
 * ";charset=UTF-8" allowed) first, then the URL query; %XX and '+' decoded in keys and values;
 * repeated keys kept in order (match[]), so the first value of a key is the body's when both
 * carry it ("body wins", grafana-compat.md §2.1). Everything lives in the caller's arena. */
#ifndef EMBER_SERVER_HTTP_FORM_H
#define EMBER_SERVER_HTTP_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"

struct http_form_pair {
    const char *key, *value; /* NUL-terminated (arena); may hold NUL bytes from %00 */
    size_t key_len, value_len;
};

struct http_form {
    struct http_form_pair *v; /* arena */
    uint32_t n;
};

/* method: "GET", "POST", … (the body is read only for POST, PUT and PATCH, as Go does); body and
 * content_type may be NULL. Like ParseForm, malformed pairs are skipped and the others kept:
 * on ERR_PARSE (e.g. `invalid URL escape "%zz"`, `invalid semicolon separator in query`,
 * `mime: invalid media parameter`) *ret is written anyway, so callers that behave like Go's
 * FormValue may ignore the error and callers that behave like ParseForm may report it.
 * -ENOMEM / ERR_LIMIT when the arena is exhausted (then *ret is not written). */
int http_form_parse(struct arena *a, const char *method, const char *query, size_t n,
                    const char *body, size_t bn, const char *content_type,
                    struct http_form **ret, struct err *e);

/* First value of key, or NULL when absent (Go's Form.Get / FormValue returns "" then). */
const char *http_form_get(const struct http_form *f, const char *key);
/* Number of values of key; i-th value (0-based) in order, NULL past the end. */
uint32_t http_form_count(const struct http_form *f, const char *key);
const char *http_form_value(const struct http_form *f, const char *key, uint32_t i);
/* Iteration over all values of key: start with *pos = 0; returns NULL when done.
 *   for (uint32_t pos = 0; (p = http_form_next(f, "match[]", &pos)); ) use(p->value); */
const struct http_form_pair *http_form_next(const struct http_form *f, const char *key,
                                            uint32_t *pos);

/* Go's url.QueryUnescape (plus_is_space = 1) or PathUnescape (0) of s..s+n into the arena,
 * NUL-terminated. ERR_PARSE with `invalid URL escape "%zz"` on a bad escape. */
int http_form_unescape(struct arena *a, const char *s, size_t n, int plus_is_space, char **ret,
                       size_t *ret_len, struct err *e);

/* Go's mime.ParseMediaType, reduced to what callers need: the lowercased media type without
 * parameters written to out (cap bytes, truncated); ERR_PARSE when Go would fail. */
int http_form_media_type(const char *content_type, char *out, size_t cap, struct err *e);

#endif
