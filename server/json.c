/* server/json.c — streaming JSON writer with Prometheus' number formats.
 * String escaping follows json-iterator's ConfigCompatibleWithStandardLibrary, which Prometheus'
 * API uses: `"` `\` as \" \\, \n \r \t short forms, other bytes < 0x20 and the HTML characters
 * < > & as \u00XX, U+2028/U+2029 as \u2028/\u2029, and each byte that does not start a valid
 * UTF-8 sequence (Go's utf8.DecodeRune rules: no overlongs, surrogates or > U+10FFFF) as \ufffd. */
#include "server/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void json_init(struct json_writer *w, struct buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

int json_done(struct json_writer *w)
{
    if (w->err)
        return w->err;
    if (NEVER(w->depth != 0 || w->after_key))
        return ERR_INTERNAL;
    return 0;
}

static void put(struct json_writer *w, const void *p, size_t n)
{
    struct buf *b = w->b;
    if (w->err)
        return;
    if (b->cap && n <= b->cap - b->len) { /* the common case inline: no call into buf.c */
        memcpy(b->p + b->len, p, n);
        b->len += n;
        return;
    }
    int r = buf_append(b, p, n);
    if (r < 0)
        w->err = r;
}

/* Called before every value and key: the comma between siblings. */
static void sep(struct json_writer *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0)
        return;
    uint64_t bit = UINT64_C(1) << (w->depth - 1);
    if (w->nonempty & bit)
        put(w, ",", 1);
    else
        w->nonempty |= bit;
}

static void container_open(struct json_writer *w, char c)
{
    sep(w);
    if (w->err)
        return;
    if (w->depth >= JSON_MAX_DEPTH) {
        w->err = ERR_LIMIT;
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->nonempty &= ~(UINT64_C(1) << (w->depth - 1));
}

static void container_close(struct json_writer *w, char c)
{
    if (w->err)
        return;
    if (NEVER(w->depth == 0 || w->after_key)) {
        w->err = ERR_INTERNAL;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void json_obj_begin(struct json_writer *w) { container_open(w, '{'); }
void json_obj_end(struct json_writer *w) { container_close(w, '}'); }
void json_arr_begin(struct json_writer *w) { container_open(w, '['); }
void json_arr_end(struct json_writer *w) { container_close(w, ']'); }

/* Go's utf8.DecodeRune acceptance: returns the length of a valid sequence at p, or 0. */
static size_t utf8_valid_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t need = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < need)
        return 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* > U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return need;
}

/* Bytes that end a verbatim run in json_escape: < 0x20, " \\ < > &, and every byte >= 0x80
 * (UTF-8 is checked). Label names and most values hold none, so the scan is one load and one
 * test per byte. */
static const uint8_t json_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x80 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x90 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xa0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xb0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xc0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xd0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xe0 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0xf0 */
};

int json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *) s, *end = p + n;
    /* Room is kept for the rest of the input verbatim plus the closing quote (cap - len >=
     * end - run + 1): reserved once here, topped up at each escape, so the common case (nothing
     * to escape) writes straight into the buffer. */
    size_t room = b->cap - b->len; /* buf_reserve() called only when short */
    if ((room < 2 || room - 2 < n) && buf_reserve(b, n + 2) < 0)
        return -ENOMEM;
    b->p[b->len++] = '"';
    const uint8_t *run = p; /* start of bytes copied verbatim */
    while (p < end) {
        while (p < end && !json_special[*p])
            p++;
        if (p == end)
            break;
        uint8_t c = *p;
        const char *esc = NULL;
        char ubuf[7];
        size_t skip = 1;
        if (c >= 0x80) {
            size_t l = utf8_valid_len(p, (size_t) (end - p));
            if (l == 0) {
                esc = "\\ufffd";
            } else if (l == 3 && c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
                esc = p[2] == 0xA8 ? "\\u2028" : "\\u2029";
                skip = 3;
            } else {
                p += l;
                continue;
            }
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        } else {
            p++;
            continue;
        }
        size_t vn = (size_t) (p - run), el = strlen(esc);
        if (buf_reserve(b, vn + el + (size_t) (end - p) - skip + 1) < 0)
            return -ENOMEM;
        if (vn)
            memcpy(b->p + b->len, run, vn);
        memcpy(b->p + b->len + vn, esc, el);
        b->len += vn + el;
        p += skip;
        run = p;
    }
    size_t vn = (size_t) (p - run);
    if (vn)
        memcpy(b->p + b->len, run, vn);
    b->len += vn;
    b->p[b->len++] = '"';
    return 0;
}

static void put_escaped(struct json_writer *w, const char *s, size_t n)
{
    if (w->err)
        return;
    int r = json_escape(w->b, s, n);
    if (r < 0)
        w->err = r;
}

void json_key_n(struct json_writer *w, const char *k, size_t n)
{
    if (!w->err && NEVER(w->after_key || w->depth == 0)) {
        w->err = ERR_INTERNAL;
        return;
    }
    sep(w);
    put_escaped(w, k, n);
    put(w, ":", 1);
    w->after_key = 1;
}


void json_key_quoted(struct json_writer *w, const char *quoted, size_t n)
{
    if (!w->err && NEVER(w->after_key || w->depth == 0)) {
        w->err = ERR_INTERNAL;
        return;
    }
    sep(w);
    put(w, quoted, n);
    w->after_key = 1;
}

void json_str_n(struct json_writer *w, const char *s, size_t n)
{
    sep(w);
    put_escaped(w, s, n);
}


void json_raw(struct json_writer *w, const char *s, size_t n)
{
    sep(w);
    put(w, s, n);
}

void json_int(struct json_writer *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    json_raw(w, tmp, (size_t) n);
}

void json_uint(struct json_writer *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    json_raw(w, tmp, (size_t) n);
}

void json_bool(struct json_writer *w, int v) { json_raw(w, v ? "true" : "false", v ? 4 : 5); }
void json_null(struct json_writer *w) { json_raw(w, "null", 4); }

/* Go encoding/json floatEncoder (bits = 64). */
static size_t format_go_json(char *out, double v)
{
    double a = fabs(v);
    char mode = (a != 0 && (a < 1e-6 || a >= 1e21)) ? 'e' : 'f';
    size_t n = num_format(out, v, mode);
    /* clean up e-09 to e-9, as Go does */
    if (mode == 'e' && n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
        out[n - 2] = out[n - 1];
        out[--n] = '\0';
    }
    return n;
}

void json_float(struct json_writer *w, double v)
{
    if (!isfinite(v)) {
        json_null(w);
        return;
    }
    char tmp[NUM_FLOAT_MAX];
    size_t n = format_go_json(tmp, v);
    json_raw(w, tmp, n);
}

/* Decimal digits of m, right-aligned to end; returns where they start. */
static char *put_u64_digits(char *end, uint64_t m)
{
    do
        *--end = (char) ('0' + m % 10);
    while ((m /= 10) != 0);
    return end;
}

/* jsonutil.MarshalTimestamp into out (at least 24 bytes): integer arithmetic, exactly three
 * fraction digits. Unsigned magnitude so INT64_MIN does not overflow. Hand-formatted: a range
 * answer has one per point, and snprintf cost more than the rest of the point. */
static size_t ts_ms_text(char *out, int64_t t_ms)
{
    uint64_t m = t_ms < 0 ? (uint64_t) 0 - (uint64_t) t_ms : (uint64_t) t_ms;
    uint64_t secs = m / 1000;
    unsigned frac = (unsigned) (m % 1000);
    /* written in place, back to front, once the length is known: cheaper than a copy */
    size_t n = (size_t) (t_ms < 0) + (frac ? 4 : 0);
    uint64_t x = secs;
    do
        n++;
    while ((x /= 10) != 0);
    char *p = out + n;
    if (frac) {
        *--p = (char) ('0' + frac % 10);
        *--p = (char) ('0' + frac / 10 % 10);
        *--p = (char) ('0' + frac / 100);
        *--p = '.';
    }
    p = put_u64_digits(p, secs);
    if (t_ms < 0)
        *--p = '-';
    return n;
}

void json_ts_ms(struct json_writer *w, int64_t t_ms)
{
    char tmp[32];
    json_raw(w, tmp, ts_ms_text(tmp, t_ms));
}

void json_ts_ms_scalar(struct json_writer *w, int64_t t_ms)
{
    json_float(w, (double) t_ms / 1000.0);
}

static void put_value_string(struct json_writer *w, const char *s, size_t n)
{
    sep(w);
    put(w, "\"", 1);
    put(w, s, n);
    put(w, "\"", 1);
}

void json_sample_value(struct json_writer *w, double v)
{
    char tmp[NUM_FLOAT_MAX];
    size_t n = num_format_json(tmp, v);
    put_value_string(w, tmp, n);
}

void json_scalar_value(struct json_writer *w, double v)
{
    char tmp[NUM_FLOAT_MAX];
    size_t n = num_format(tmp, v, 'f');
    put_value_string(w, tmp, n);
}

void json_sample_pair(struct json_writer *w, int64_t t_ms, double v)
{
    /* [t,"v"] assembled on the stack and appended at once: a matrix has one per series and
     * step, and the seven small appends of the container calls cost more than formatting. */
    char tmp[32 + NUM_FLOAT_MAX + 8], *p = tmp;
    if (w->depth >= JSON_MAX_DEPTH) {
        w->err = ERR_LIMIT;
        return;
    }
    *p++ = '[';
    p += ts_ms_text(p, t_ms);
    *p++ = ',';
    *p++ = '"';
    p += num_format_json(p, v);
    *p++ = '"';
    *p++ = ']';
    sep(w);
    put(w, tmp, (size_t) (p - tmp));
}

void json_scalar_pair(struct json_writer *w, int64_t t_ms, double v)
{
    json_arr_begin(w);
    json_ts_ms_scalar(w, t_ms);
    json_scalar_value(w, v);
    json_arr_end(w);
}

void json_string_pair(struct json_writer *w, int64_t t_ms, const char *s, size_t n)
{
    json_arr_begin(w);
    json_ts_ms_scalar(w, t_ms);
    json_str_n(w, s, n);
    json_arr_end(w);
}

/* Each pair written straight into the buffer ("name":"value", a comma between): one per
 * series of every answer, where the generic key and value calls cost more than the escaping. */
void json_labels(struct json_writer *w, const struct labels *ls)
{
    json_obj_begin(w);
    int first = 1;
    for (uint32_t i = 0; ls && i < ls->n && !w->err; i++) {
        if (!ls->v[i].value || !ls->v[i].value[0])
            continue;
        if (!first)
            put(w, ",", 1);
        first = 0;
        int r = json_escape(w->b, ls->v[i].name, strlen(ls->v[i].name));
        if (r == 0 && (r = buf_append(w->b, ":", 1)) == 0)
            r = json_escape(w->b, ls->v[i].value, strlen(ls->v[i].value));
        if (r < 0)
            w->err = r;
    }
    json_obj_end(w);
}

void json_envelope_begin(struct json_writer *w)
{
    json_obj_begin(w);
    json_key_lit(w, "status");
    json_str_lit(w, "success");
    json_key_lit(w, "data");
}

void json_envelope_end(struct json_writer *w, const char *const *warnings, size_t n_warnings)
{
    if (n_warnings > 0) {
        json_key(w, "warnings");
        json_arr_begin(w);
        for (size_t i = 0; i < n_warnings; i++)
            json_str(w, warnings[i]);
        json_arr_end(w);
    }
    json_obj_end(w);
}

int json_error_body(struct buf *b, const char *error_type, const char *msg)
{
    struct json_writer w;
    json_init(&w, b);
    json_obj_begin(&w);
    json_key(&w, "status");
    json_str(&w, "error");
    json_key(&w, "errorType");
    json_str(&w, error_type);
    json_key(&w, "error");
    json_str(&w, msg ? msg : "");
    json_obj_end(&w);
    return json_done(&w);
}
