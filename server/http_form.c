/* server/http_form.c — Go's ParseForm, url.ParseQuery, QueryUnescape and mime.ParseMediaType
 * (net/http/request.go, net/url/url.go, mime/mediatype.go) reduced to what the API needs. */
#include "server/http_form.h"

#include <errno.h>
#include <string.h>

static int ishex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* strconv.Quote-like rendering of an escape fragment (at most 3 bytes) for error messages. */
static void quote_fragment(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char) c;
        } else if (c < 0x20 || c >= 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char) c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

int http_form_unescape(struct arena *a, const char *s, size_t n, int plus_is_space, char **ret,
                       size_t *ret_len, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%')
            continue;
        if (i + 2 >= n || !ishex(s[i + 1]) || !ishex(s[i + 2])) {
            char q[32];
            quote_fragment(q, sizeof q, s + i, n - i > 3 ? 3 : n - i);
            return err_set(e, ERR_PARSE, "invalid URL escape %s", q);
        }
        i += 2;
    }
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return err_set(e, arena_over_cap(a) ? ERR_LIMIT : -ENOMEM, "form: out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            out[o++] = (char) (unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    *ret = out;
    *ret_len = o;
    return 0;
}

/* mime/grammar.go isTokenChar: printable ASCII except tspecials. */
static int is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

static int is_space(unsigned char c)
{
    /* unicode.IsSpace for the ASCII range; non-ASCII spaces are not tokens either way. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space((unsigned char) *p))
        p++;
    return p;
}

static const char *consume_token(const char *p, const char *end)
{
    while (p < end && is_token_char((unsigned char) *p))
        p++;
    return p;
}

/* mime.consumeValue: a token or a quoted-string; returns the end of the value, or NULL. */
static const char *consume_value(const char *p, const char *end)
{
    if (p == end)
        return NULL;
    if (*p != '"') {
        const char *q = consume_token(p, end);
        return q == p ? NULL : q;
    }
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\' && p + 1 < end)
            p++;
        else if (*p == '\r' || *p == '\n')
            return NULL;
    }
    return NULL; /* unterminated quoted-string */
}

int http_form_media_type(const char *content_type, char *out, size_t cap, struct err *e)
{
    const char *s = content_type ? content_type : "";
    const char *end = s + strlen(s);
    const char *semi = memchr(s, ';', (size_t) (end - s));
    const char *base_end = semi ? semi : end;
    const char *b = skip_space(s, base_end);
    const char *be = base_end;
    while (be > b && is_space((unsigned char) be[-1]))
        be--;
    /* checkMediaTypeDisposition */
    const char *t = consume_token(b, be);
    if (t == b)
        return err_set(e, ERR_PARSE, "mime: no media type");
    if (t != be) {
        if (*t != '/')
            return err_set(e, ERR_PARSE, "mime: expected slash after first token");
        const char *st = consume_token(t + 1, be);
        if (st == t + 1)
            return err_set(e, ERR_PARSE, "mime: expected token after slash");
        if (st != be)
            return err_set(e, ERR_PARSE, "mime: unexpected content after media subtype");
    }
    size_t n = (size_t) (be - b);
    if (cap > 0) {
        size_t m = n < cap - 1 ? n : cap - 1;
        for (size_t i = 0; i < m; i++)
            out[i] = (b[i] >= 'A' && b[i] <= 'Z') ? (char) (b[i] + 32) : b[i];
        out[m] = '\0';
    }
    /* Parameters: `; key=value` repeated; a lone trailing ';' is allowed. Duplicate names are an
     * error in Go too, but only the media type matters here, so they are not tracked. */
    const char *p = base_end;
    while (p < end) {
        p = skip_space(p, end);
        if (p == end)
            break;
        const char *v = p;
        int ok = 0;
        if (*v == ';') {
            v = skip_space(v + 1, end);
            const char *k = consume_token(v, end);
            if (k != v) {
                v = skip_space(k, end);
                if (v < end && *v == '=') {
                    v = skip_space(v + 1, end);
                    const char *ve = consume_value(v, end);
                    if (ve) {
                        p = ve;
                        ok = 1;
                    }
                }
            }
        }
        if (!ok) {
            const char *r = skip_space(p, end);
            if (r < end && *r == ';' && skip_space(r + 1, end) == end)
                break; /* ignore trailing semicolons */
            return err_set(e, ERR_PARSE, "mime: invalid media parameter");
        }
    }
    return 0;
}

struct form_builder {
    struct arena *a;
    struct http_form *f;
    uint32_t cap;
};

static int form_add(struct form_builder *fb, const char *k, size_t kn, const char *v, size_t vn,
                    struct err *e, int *first_err, struct err *perr)
{
    struct http_form_pair pair;
    char *dk, *dv;
    struct err le;
    int r = http_form_unescape(fb->a, k, kn, 1, &dk, &pair.key_len, &le);
    if (r >= 0)
        r = http_form_unescape(fb->a, v, vn, 1, &dv, &pair.value_len, &le);
    if (r == ERR_PARSE) { /* skipped like Go; the first such error is reported */
        if (!*first_err) {
            *first_err = ERR_PARSE;
            *perr = le;
        }
        return 0;
    }
    if (r < 0)
        return err_set(e, r, "%s", le.msg);
    pair.key = dk;
    pair.value = dv;
    if (fb->f->n == fb->cap) {
        uint32_t ncap = fb->cap ? fb->cap * 2 : 8;
        /* arena_realloc memcpy()s from old even for 0 bytes: NULL must not reach it */
        struct http_form_pair *nv =
            fb->f->v ? arena_realloc(fb->a, fb->f->v, fb->cap * sizeof *nv,
                                     (size_t) ncap * sizeof *nv)
                     : arena_alloc(fb->a, (size_t) ncap * sizeof *nv);
        if (!nv)
            return err_set(e, arena_over_cap(fb->a) ? ERR_LIMIT : -ENOMEM, "form: out of memory");
        fb->f->v = nv;
        fb->cap = ncap;
    }
    fb->f->v[fb->f->n++] = pair;
    return 0;
}

/* url.ParseQuery: '&'-separated; a ';' in a pair is an error for that pair; empty pairs skip. */
static int parse_query(struct form_builder *fb, const char *s, size_t n, struct err *e,
                       int *first_err, struct err *perr)
{
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t) (end - p));
        const char *pe = amp ? amp : end;
        if (pe > p) {
            if (memchr(p, ';', (size_t) (pe - p))) {
                if (!*first_err) {
                    *first_err = ERR_PARSE;
                    (void) err_set(perr, ERR_PARSE, "invalid semicolon separator in query");
                }
            } else {
                const char *eq = memchr(p, '=', (size_t) (pe - p));
                const char *ke = eq ? eq : pe;
                const char *v = eq ? eq + 1 : pe;
                int r = form_add(fb, p, (size_t) (ke - p), v, (size_t) (pe - v), e, first_err,
                                 perr);
                if (r < 0)
                    return r;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

int http_form_parse(struct arena *a, const char *method, const char *query, size_t n,
                    const char *body, size_t bn, const char *content_type,
                    struct http_form **ret, struct err *e)
{
    struct http_form *f = arena_calloc(a, 1, sizeof *f);
    if (!f)
        return err_set(e, arena_over_cap(a) ? ERR_LIMIT : -ENOMEM, "form: out of memory");
    struct form_builder fb = {a, f, 0};
    int first_err = 0;
    struct err perr = {0};
    int r;
    /* parsePostForm: only these methods read the body; a missing Content-Type is
     * application/octet-stream, which is not a form. */
    if (method && body && (!strcmp(method, "POST") || !strcmp(method, "PUT") ||
                           !strcmp(method, "PATCH"))) {
        char mt[64];
        struct err me;
        const char *ct = content_type && content_type[0] ? content_type
                                                         : "application/octet-stream";
        if (http_form_media_type(ct, mt, sizeof mt, &me) < 0) {
            first_err = ERR_PARSE;
            perr = me;
        } else if (!strcmp(mt, "application/x-www-form-urlencoded")) {
            r = parse_query(&fb, body, bn, e, &first_err, &perr);
            if (r < 0)
                return r;
        }
    }
    if (query) {
        r = parse_query(&fb, query, n, e, &first_err, &perr);
        if (r < 0)
            return r;
    }
    *ret = f;
    if (first_err) {
        if (e)
            *e = perr;
        return first_err;
    }
    return 0;
}

static int key_is(const struct http_form_pair *p, const char *key, size_t kn)
{
    return p->key_len == kn && memcmp(p->key, key, kn) == 0;
}

const struct http_form_pair *http_form_next(const struct http_form *f, const char *key,
                                            uint32_t *pos)
{
    if (!f)
        return NULL;
    size_t kn = strlen(key);
    for (uint32_t i = *pos; i < f->n; i++) {
        if (key_is(&f->v[i], key, kn)) {
            *pos = i + 1;
            return &f->v[i];
        }
    }
    *pos = f->n;
    return NULL;
}

const char *http_form_get(const struct http_form *f, const char *key)
{
    uint32_t pos = 0;
    const struct http_form_pair *p = http_form_next(f, key, &pos);
    return p ? p->value : NULL;
}

uint32_t http_form_count(const struct http_form *f, const char *key)
{
    uint32_t pos = 0, n = 0;
    while (http_form_next(f, key, &pos))
        n++;
    return n;
}

const char *http_form_value(const struct http_form *f, const char *key, uint32_t i)
{
    uint32_t pos = 0;
    const struct http_form_pair *p;
    while ((p = http_form_next(f, key, &pos)))
        if (i-- == 0)
            return p->value;
    return NULL;
}
