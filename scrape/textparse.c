/* scrape/textparse.c — Prometheus text format 0.0.4 pull parser, plus what both exposition parsers
 * share: names, label sets, floats, UTF-8, error positions. OpenMetrics is in omparse.c.
 *
 * Text format 0.0.4 as Prometheus 2.42 reads it (model/textparse/promlex.l); blank = [ \t]:
 *   line      = blank* [help | type | comment | sample] blank* ("\n" | end of input)
 *   help      = "#" blank+ "HELP" blank+ metric_name [blank text]      text escapes: \\ \n
 *   type      = "#" blank+ "TYPE" blank+ metric_name blank+ type_word
 *   comment   = "#" and anything else up to the end of the line
 *   sample    = metric_name blank* ["{" labels "}"] blank* value [blank+ timestamp]
 *   labels    = blank* [label (blank* "," blank* label)* blank* [","] blank*]
 *   label     = label_name blank* "=" blank* '"' ("\" any byte | any byte but '"' '\')* '"'
 *   value     = a Go float: decimal, exponent, NaN, [+-]Inf (textparse__parse_float())
 *   timestamp = ["-"] digits: int64 milliseconds since the epoch
 * Label values may hold raw newlines (Prometheus' lexer allows them); their escapes are \\ \" \n
 * and any other backslash pair stays as written. Label values and help text must be UTF-8.
 * Differences from Prometheus, all on input it misreads: a NUL byte is an error (Prometheus stops
 * there silently), a negative timestamp is accepted, and the name on a HELP or TYPE line must be
 * followed by a blank or the end of the line (Prometheus would start the help text inside it).
 */
#include "scrape/omparse.h"
#include "tsdb/tsdb.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Prometheus 2.42 scrape/scrape.go acceptHeader: OpenMetrics preferred, text 0.0.4 accepted. */
const char textparse_accept_header[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

static const char *const metric_type_names[_TEXTPARSE_METRIC_MAX] = {
    [TEXTPARSE_METRIC_UNKNOWN] = "unknown",
    [TEXTPARSE_METRIC_COUNTER] = "counter",
    [TEXTPARSE_METRIC_GAUGE] = "gauge",
    [TEXTPARSE_METRIC_HISTOGRAM] = "histogram",
    [TEXTPARSE_METRIC_SUMMARY] = "summary",
    [TEXTPARSE_METRIC_INFO] = "info",
    [TEXTPARSE_METRIC_STATESET] = "stateset",
    [TEXTPARSE_METRIC_GAUGEHISTOGRAM] = "gaugehistogram",
};

/* Sample name suffixes that still belong to a family of each type (text 0.0.4 and OpenMetrics
 * together; the bare family name always belongs). */
static const char *const family_suffixes[_TEXTPARSE_METRIC_MAX][5] = {
    [TEXTPARSE_METRIC_COUNTER] = {"_total", "_created"},
    [TEXTPARSE_METRIC_HISTOGRAM] = {"_bucket", "_count", "_sum", "_created"},
    [TEXTPARSE_METRIC_SUMMARY] = {"_count", "_sum", "_created"},
    [TEXTPARSE_METRIC_INFO] = {"_info"},
    [TEXTPARSE_METRIC_GAUGEHISTOGRAM] = {"_bucket", "_gcount", "_gsum"},
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Byte classes, one table lookup per byte on the hot paths. */
enum {
    C_LABEL_START = 1, /* [a-zA-Z_] */
    C_LABEL = 2,       /* [a-zA-Z0-9_] */
    C_METRIC = 4,      /* [a-zA-Z0-9_:] */
    C_VALUE_STOP = 8,  /* in a quoted label value: '"' '\\' '\n' NUL and every byte >= 0x80 */
};
#define LETTER(c) [c] = C_LABEL_START | C_LABEL | C_METRIC
#define DIGIT(c) [c] = C_LABEL | C_METRIC
#define HIGH4(c) [c] = C_VALUE_STOP, [c + 1] = C_VALUE_STOP, [c + 2] = C_VALUE_STOP, \
                 [c + 3] = C_VALUE_STOP
#define HIGH16(c) HIGH4(c), HIGH4(c + 4), HIGH4(c + 8), HIGH4(c + 12)
#define HIGH64(c) HIGH16(c), HIGH16(c + 16), HIGH16(c + 32), HIGH16(c + 48)
static const unsigned char byte_class[256] = {
    LETTER('a'), LETTER('b'), LETTER('c'), LETTER('d'), LETTER('e'), LETTER('f'), LETTER('g'),
    LETTER('h'), LETTER('i'), LETTER('j'), LETTER('k'), LETTER('l'), LETTER('m'), LETTER('n'),
    LETTER('o'), LETTER('p'), LETTER('q'), LETTER('r'), LETTER('s'), LETTER('t'), LETTER('u'),
    LETTER('v'), LETTER('w'), LETTER('x'), LETTER('y'), LETTER('z'), LETTER('A'), LETTER('B'),
    LETTER('C'), LETTER('D'), LETTER('E'), LETTER('F'), LETTER('G'), LETTER('H'), LETTER('I'),
    LETTER('J'), LETTER('K'), LETTER('L'), LETTER('M'), LETTER('N'), LETTER('O'), LETTER('P'),
    LETTER('Q'), LETTER('R'), LETTER('S'), LETTER('T'), LETTER('U'), LETTER('V'), LETTER('W'),
    LETTER('X'), LETTER('Y'), LETTER('Z'), LETTER('_'),
    DIGIT('0'), DIGIT('1'), DIGIT('2'), DIGIT('3'), DIGIT('4'), DIGIT('5'), DIGIT('6'),
    DIGIT('7'), DIGIT('8'), DIGIT('9'),
    [':'] = C_METRIC,
    ['"'] = C_VALUE_STOP, ['\\'] = C_VALUE_STOP, ['\n'] = C_VALUE_STOP, ['\0'] = C_VALUE_STOP,
    HIGH64(0x80), HIGH64(0xc0),
};
#undef LETTER
#undef DIGIT
#undef HIGH4
#undef HIGH16
#undef HIGH64

static int has_class(char c, unsigned cls)
{
    return byte_class[(unsigned char) c] & cls;
}

static int is_label_start(char c)
{
    return has_class(c, C_LABEL_START);
}

static int is_label_char(char c)
{
    return has_class(c, C_LABEL);
}

static const char *skip_blanks(const char *s, const char *end)
{
    while (s < end && is_blank(*s))
        s++;
    return s;
}

static const char *line_end(const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (size_t) (end - s));
    return nl ? nl : end;
}

void textparse__quote(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i;
    out[o++] = '\'';
    for (i = 0; i < n && i < 32 && o + 8 < cap; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char) c;
        else
            o += (size_t) snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 5 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* The token at `at` for "got ...": up to the next blank or delimiter, at least one byte. */
static void describe(const char *at, const char *end, char *out, size_t cap)
{
    if (at >= end) {
        (void) snprintf(out, cap, "end of input");
        return;
    }
    if (*at == '\n') {
        (void) snprintf(out, cap, "end of line");
        return;
    }
    static const char delim[] = " \t\n{}=,\"";
    const char *t = at + 1;
    if (!memchr(delim, *at, sizeof delim - 1))
        while (t < end && !memchr(delim, *t, sizeof delim - 1))
            t++;
    textparse__quote(out, cap, at, (size_t) (t - at));
}

int textparse__fail(struct textparse *p, struct err *e, const char *at, const char *fmt, ...)
{
    p->state = -1;
    if (!e)
        return ERR_PARSE;
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t col = at >= p->line_start ? (size_t) (at - p->line_start) + 1 : 1;
    return err_set(e, ERR_PARSE, "line %" PRIu32 " col %zu: %s", p->cur_line, col, msg);
}

int textparse__expected(struct textparse *p, struct err *e, const char *at, const char *what)
{
    char got[80];
    describe(at, p->end, got, sizeof got);
    return textparse__fail(p, e, at, "expected %s, got %s", what, got);
}

const char *textparse__metric_name_end(const char *s, const char *end)
{
    if (s >= end || !(is_label_start(*s) || *s == ':'))
        return s;
    for (s++; s < end && has_class(*s, C_METRIC); s++)
        ;
    return s;
}

/* Go's utf8.Valid: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *) str, *end = s + n;
    while (s < end) {
        uint64_t w;
        if (end - s >= 8 && (memcpy(&w, s, 8), (w & UINT64_C(0x8080808080808080)) == 0)) {
            s += 8; /* eight ASCII bytes */
            continue;
        }
        uint32_t c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t len;
        uint32_t min;
        if ((c & 0xe0) == 0xc0) {
            len = 2, c &= 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, c &= 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, c &= 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t) (end - s) < len)
            return 0;
        for (size_t i = 1; i < len; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            c = c << 6 | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        s += len;
    }
    return 1;
}

int textparse__check_text(struct textparse *p, const char *s, size_t n, const char *what,
                          struct err *e)
{
    const char *nul = memchr(s, '\0', n);
    if (nul)
        return textparse__fail(p, e, nul, "NUL byte in %s", what);
    if (!utf8_valid(s, n))
        return textparse__fail(p, e, s, "invalid UTF-8 in %s", what);
    return 0;
}

int textparse__parse_float(const char *s, size_t n, double *ret)
{
    if (n == 0)
        return -1;
    if (n >= 64)
        return -3; /* num_parse_float()'s bound; no float needs that many digits */
    if (num_parse_decimal(s, n, ret) == 0)
        return 0; /* nearly every value: a plain decimal, strtod's double without strtod */
    for (size_t i = 0; i < n; i++)
        if (memchr("xXpP_", s[i], 5))
            return -1; /* hex floats and digit separators: Prometheus' parseFloat refuses them */
    size_t i = s[0] == '+' || s[0] == '-';
    if (i == 1 && n > 1 && (s[1] | 32) == 'n')
        return -1; /* Go takes a sign on Inf, not on NaN */
    double v;
    if (num_parse_float(s, n, &v) < 0)
        return -1;
    if (isnan(v))
        v = (double) NAN; /* NAN is a float constant */
    else if (isinf(v) && (s[i] | 32) != 'i')
        return -2; /* a finite spelling that overflowed: ParseFloat's ErrRange */
    *ret = v;
    return 0;
}

static int ends_float_token(const struct textparse *p, const char *t)
{
    return t == p->end || *t == ' ' || *t == '\n' ||
           (p->format != TEXTPARSE_OPENMETRICS && (*t == '\t' || *t == '{'));
}

const char *textparse__float_token(const struct textparse *p, const char *s, double *ret,
                                   int *ret_r)
{
    /* Most values are plain decimals: read inline (num_scan_plain()), same double. */
    const char *t = s;
    int neg = t < p->end && (*t == '-' || *t == '+') ? *t++ == '-' : 0;
    uint64_t w;
    unsigned f;
    if ((t = num_scan_plain(t, p->end, &w, &f)) != NULL && ends_float_token(p, t)) {
        double v = (double) w / num_exact_pow10[f];
        *ret = neg ? -v : v;
        *ret_r = 0;
        return t;
    }
    /* One pass for any decimal that the token's end follows; bounded to 63 bytes so a longer
     * token reaches the slow path and its -3. */
    double v;
    size_t max = (size_t) (p->end - s) < 63 ? (size_t) (p->end - s) : 63;
    size_t k = num_scan_decimal(s, max, &v);
    if (k && ends_float_token(p, s + k)) {
        *ret = v;
        *ret_r = 0;
        return s + k;
    }
    t = s;
    while (!ends_float_token(p, t))
        t++;
    *ret_r = textparse__parse_float(s, (size_t) (t - s), ret);
    return t;
}

int textparse__bad_float(struct textparse *p, struct err *e, const char *s, size_t n, int r,
                         const char *what)
{
    char q[80];
    textparse__quote(q, sizeof q, s, n);
    if (r == -2)
        return textparse__fail(p, e, s, "%s %s is out of range", what, q);
    if (r == -3)
        return textparse__fail(p, e, s, "%s %s is longer than 63 bytes", what, q);
    if (n && s[n - 1] == '\r')
        return textparse__fail(p, e, s, "invalid %s %s (lines must end with \\n, not \\r\\n)",
                               what, q);
    return textparse__fail(p, e, s, "invalid %s %s", what, q);
}

int textparse__scan_labels(struct textparse *p, const char *s, const char **ret_end,
                           struct err *e)
{
    const int om = p->format == TEXTPARSE_OPENMETRICS;
    const char *end = p->end;
    uint32_t n = 0;
    char q[80]; /* the label name quoted, filled only on the way to an error */

    p->lbl = s;
    for (;;) {
        if (!om)
            s = skip_blanks(s, end);
        if (s < end && *s == '}')
            break;
        if (s >= end || !is_label_start(*s))
            return textparse__expected(p, e, s, "label name or '}'");
        const char *name = s;
        while (s < end && is_label_char(*s))
            s++;
        size_t name_len = (size_t) (s - name);
        if (!om)
            s = skip_blanks(s, end);
        if (s >= end || *s != '=') {
            char what[120];
            textparse__quote(q, sizeof q, name, name_len);
            (void) snprintf(what, sizeof what, "'=' after label name %s", q);
            return textparse__expected(p, e, s, what);
        }
        s++;
        if (!om)
            s = skip_blanks(s, end);
        if (s >= end || *s != '"')
            return textparse__expected(p, e, s, "label value in quotes");
        const char *open = s++;
        const char *open_line_start = p->line_start;
        uint32_t open_line = p->cur_line;
        int high = 0; /* a byte >= 0x80 was seen: only then can the value be invalid UTF-8 */
        for (;;) {
            while (s < end && !has_class(*s, C_VALUE_STOP))
                s++;
            if (s >= end) {
                p->cur_line = open_line, p->line_start = open_line_start;
                textparse__quote(q, sizeof q, name, name_len);
                return textparse__fail(p, e, open, "label value for %s has no closing '\"'", q);
            }
            char c = *s;
            if (c == '"')
                break;
            if (c == '\\' && ++s < end)
                c = *s; /* the escaped byte: a quote here does not end the value */
            if (c == '\n') {
                if (om) {
                    textparse__quote(q, sizeof q, name, name_len);
                    return textparse__fail(p, e, s, "newline in label value for %s", q);
                }
                textparse__newline(p, s);
            } else if (c == '\0') {
                textparse__quote(q, sizeof q, name, name_len);
                return textparse__fail(p, e, s, "NUL byte in label value for %s", q);
            }
            high |= (unsigned char) c >= 0x80;
            if (s < end)
                s++;
        }
        if (high && !utf8_valid(open + 1, (size_t) (s - open - 1))) {
            p->cur_line = open_line, p->line_start = open_line_start;
            textparse__quote(q, sizeof q, name, name_len);
            return textparse__fail(p, e, open, "invalid UTF-8 in label value for %s", q);
        }
        s++;
        if (NEVER(n >= UINT32_MAX - 1)) /* a label takes at least 4 bytes: 16 GiB of them */
            return textparse__fail(p, e, s, "too many labels");
        n++;
        if (!om)
            s = skip_blanks(s, end);
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        if (s < end && *s == '}')
            break;
        return textparse__expected(p, e, s, "',' or '}' after label value");
    }
    p->lbl_end = s;
    p->n_labels = n;
    *ret_end = s + 1;
    return 0;
}

/* Scanning reads a series only up to its closing '}', and what it finds depends on those bytes
 * alone (and on the format, fixed for the parser), so the same bytes scan the same way. Newlines
 * are left out because scanning them also moves the line count. */
const char *textparse__repeat_series(struct textparse *p, const char *s)
{
    size_t n = p->rep_len;
    /* the '}' first: a scrape's next series rarely ends where the last one did */
    if (n == 0 || (size_t) (p->end - s) < n || s[n - 1] != '}' || memcmp(s, p->rep, n) != 0)
        return NULL;
    p->name = p->series = s;
    p->name_len = p->rep_name_len;
    p->series_len = n;
    p->lbl = s + p->rep_lbl_off;
    p->lbl_end = s + n - 1; /* the '}' */
    p->n_labels = p->rep_n_labels;
    return s + n;
}

void textparse__keep_series(struct textparse *p)
{
    p->rep = p->series;
    p->rep_len = p->series_len;
    p->rep_name_len = p->name_len;
    p->rep_lbl_off = (size_t) (p->lbl - p->series);
    p->rep_n_labels = p->n_labels;
}

void textparse__set_family(struct textparse *p)
{
    p->family = p->name;
    p->family_len = p->name_len;
    p->family_type = p->type;
}

void textparse__series_type(struct textparse *p)
{
    p->type = TEXTPARSE_METRIC_UNKNOWN;
    if (!p->family || p->name_len < p->family_len ||
        memcmp(p->name, p->family, p->family_len) != 0)
        return;
    const char *rest = p->name + p->family_len;
    size_t rest_len = p->name_len - p->family_len;
    if (rest_len == 0) {
        /* histograms have no bare sample; OpenMetrics counters and infos need their suffix */
        enum textparse_metric_type ft = p->family_type;
        int om = p->format == TEXTPARSE_OPENMETRICS;
        if (ft != TEXTPARSE_METRIC_HISTOGRAM && ft != TEXTPARSE_METRIC_GAUGEHISTOGRAM &&
            !(om && (ft == TEXTPARSE_METRIC_COUNTER || ft == TEXTPARSE_METRIC_INFO)))
            p->type = ft;
        return;
    }
    const char *const *sfx = family_suffixes[p->family_type];
    for (size_t i = 0; i < ARRAY_LEN(family_suffixes[0]) && sfx[i]; i++)
        if (strlen(sfx[i]) == rest_len && memcmp(sfx[i], rest, rest_len) == 0)
            p->type = p->family_type;
}

/* Ends a text-format line at s: blanks, then "\n" or the end of the input. */
static int prom_eol(struct textparse *p, const char *s, const char *what, struct err *e)
{
    s = skip_blanks(s, p->end);
    if (s < p->end && *s != '\n')
        return textparse__expected(p, e, s, what);
    if (s < p->end) {
        textparse__newline(p, s);
        s++;
    }
    p->pos = s;
    return 0;
}

static int prom_meta(struct textparse *p, const char *s, int kind, struct err *e)
{
    static const char *const prom_types[] = {
        [TEXTPARSE_METRIC_UNKNOWN] = "untyped", [TEXTPARSE_METRIC_COUNTER] = "counter",
        [TEXTPARSE_METRIC_GAUGE] = "gauge", [TEXTPARSE_METRIC_HISTOGRAM] = "histogram",
        [TEXTPARSE_METRIC_SUMMARY] = "summary",
    };
    const char *end = p->end;
    const char *name_end = textparse__metric_name_end(s, end);
    if (name_end == s)
        return textparse__expected(p, e, s,
                                   kind == TEXTPARSE_HELP ? "metric name after HELP"
                                                          : "metric name after TYPE");
    p->name = s;
    p->name_len = (size_t) (name_end - s);
    s = name_end;
    const char *eol = line_end(s, end);
    if (s < eol && !is_blank(*s))
        return textparse__expected(p, e, s, "blank after metric name");

    if (kind == TEXTPARSE_HELP) {
        p->text = s < eol ? s + 1 : s; /* Prometheus drops the one blank that separates */
        p->text_len = (size_t) (eol - p->text);
        int r = textparse__check_text(p, p->text, p->text_len, "help text", e);
        if (r < 0)
            return r;
        r = prom_eol(p, eol, "end of line", e);
        return r < 0 ? r : TEXTPARSE_HELP;
    }

    s = skip_blanks(s, eol);
    const char *word = s;
    while (s < eol && !is_blank(*s))
        s++;
    if (s == word)
        return textparse__expected(p, e, s, "metric type");
    size_t n = (size_t) (s - word);
    size_t t;
    for (t = 0; t < ARRAY_LEN(prom_types); t++)
        if (strlen(prom_types[t]) == n && memcmp(prom_types[t], word, n) == 0)
            break;
    if (t == ARRAY_LEN(prom_types)) {
        char q[80];
        textparse__quote(q, sizeof q, word, n);
        return textparse__fail(p, e, word,
                               "unknown metric type %s (text format types: counter, gauge, "
                               "histogram, summary, untyped)", q);
    }
    p->type = (enum textparse_metric_type) t;
    int r = prom_eol(p, s, "end of line after metric type", e);
    if (r < 0)
        return r;
    textparse__set_family(p);
    return TEXTPARSE_TYPE;
}

static int prom_comment(struct textparse *p, const char *s, struct err *e)
{
    const char *end = p->end;
    const char *t = skip_blanks(s + 1, end);
    if (t > s + 1 && end - t > 4 && is_blank(t[4])) {
        if (memcmp(t, "HELP", 4) == 0)
            return prom_meta(p, skip_blanks(t + 4, end), TEXTPARSE_HELP, e);
        if (memcmp(t, "TYPE", 4) == 0)
            return prom_meta(p, skip_blanks(t + 4, end), TEXTPARSE_TYPE, e);
    }
    const char *eol = line_end(s, end);
    const char *nul = memchr(s, '\0', (size_t) (eol - s));
    if (nul)
        return textparse__fail(p, e, nul, "NUL byte in comment");
    p->text = s;
    p->text_len = (size_t) (eol - s);
    int r = prom_eol(p, eol, "end of line", e);
    return r < 0 ? r : TEXTPARSE_COMMENT;
}

static int prom_sample(struct textparse *p, const char *s, struct err *e)
{
    const char *end = p->end;
    const char *t = textparse__repeat_series(p, s);
    if (t) {
        t = skip_blanks(t, end);
    } else {
        t = textparse__metric_name_end(s, end);
        if (t == s)
            return textparse__expected(p, e, s, "metric name, '#' or end of line");
        p->name = p->series = s;
        p->name_len = p->series_len = (size_t) (t - s);
        t = skip_blanks(t, end);
        if (t < end && *t == '{') {
            uint32_t line = p->cur_line;
            int r = textparse__scan_labels(p, t + 1, &t, e);
            if (r < 0)
                return r;
            p->series_len = (size_t) (t - s);
            if (p->cur_line == line)
                textparse__keep_series(p);
            t = skip_blanks(t, end);
        }
    }

    const char *v = t;
    int r;
    t = textparse__float_token(p, v, &p->value, &r);
    if (t == v)
        return textparse__expected(p, e, v, "value after metric");
    if (r < 0)
        return textparse__bad_float(p, e, v, (size_t) (t - v), r, "value");

    const char *ts = skip_blanks(t, end);
    if (ts > t && ts < end && *ts != '\n') {
        t = ts;
        while (t < end && !is_blank(*t) && *t != '\n')
            t++;
        size_t n = (size_t) (t - ts);
        if (*ts == '+' || num_parse_int64(ts, n, &p->t_ms) < 0) {
            char q[80];
            textparse__quote(q, sizeof q, ts, n);
            return textparse__fail(p, e, ts, "invalid timestamp %s (%s)", q,
                                   ts[n - 1] == '\r' ? "lines must end with \\n, not \\r\\n"
                                                     : "text format timestamps are integer "
                                                       "milliseconds");
        }
        p->has_t = 1;
    }
    r = prom_eol(p, t, p->has_t ? "end of line after timestamp" : "timestamp or end of line", e);
    if (r < 0)
        return r;
    textparse__series_type(p);
    return TEXTPARSE_SERIES;
}

static int prom_next(struct textparse *p, struct err *e)
{
    const char *s = p->pos, *end = p->end;
    for (;;) { /* blank lines */
        s = skip_blanks(s, end);
        if (s == end) {
            p->pos = s;
            p->state = 1;
            return 0;
        }
        if (*s != '\n')
            break;
        textparse__newline(p, s);
        s++;
    }
    p->line = p->cur_line;
    return *s == '#' ? prom_comment(p, s, e) : prom_sample(p, s, e);
}

void textparse_init(struct textparse *p, const char *buf, size_t len, enum textparse_format f)
{
    memset(p, 0, sizeof *p);
    p->buf = p->pos = p->line_start = buf;
    p->end = buf + len;
    p->cur_line = 1;
    p->format = f;
}

int textparse_next(struct textparse *p, struct err *e)
{
    if (p->state > 0)
        return 0;
    if (p->state < 0)
        return err_set(e, ERR_PARSE, "line %" PRIu32 ": parsing stopped at an earlier error",
                       p->cur_line);
    p->series = p->name = p->text = NULL;
    p->series_len = p->name_len = p->text_len = 0;
    p->lbl = p->lbl_end = NULL;
    p->n_labels = 0;
    p->type = TEXTPARSE_METRIC_UNKNOWN;
    p->value = 0;
    p->t_ms = 0;
    p->has_t = p->has_exemplar = 0;
    int r = p->format == TEXTPARSE_OPENMETRICS ? textparse__om_next(p, e) : prom_next(p, e);
    p->entry = r > 0 ? r : 0;
    return r;
}

/* Copies s..s+n to dst NUL-terminated, undoing \\ and \n, and \" when quotes is set; any other
 * backslash pair is kept as written, as Prometheus' replacers do. Returns the length. */
static size_t unescape(char *dst, const char *s, size_t n, int quotes)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char d = s[i + 1];
            if (d == '\\' || d == 'n' || (quotes && d == '"')) {
                dst[o++] = d == 'n' ? '\n' : d;
                i++;
                continue;
            }
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return o;
}

static int arena_full(struct arena *a, struct err *e, uint32_t line)
{
    int code = arena_over_cap(a) ? ERR_LIMIT : -ENOMEM;
    return err_set(e, code, "line %" PRIu32 ": no memory for labels (%s)", line,
                   code == ERR_LIMIT ? "arena limit reached" : "out of memory");
}

int textparse_labels(struct textparse *p, struct arena *a, struct labels *ret, struct err *e)
{
    if (NEVER(p->entry != TEXTPARSE_SERIES))
        return err_set(e, ERR_INTERNAL, "textparse_labels() without a series");
    uint32_t n = p->n_labels + 1; /* scan_labels() keeps n_labels below UINT32_MAX */
    struct label *v = arena_calloc(a, n, sizeof *v);
    /* Every pair takes name=".." in the input, so names and values with their NULs fit in the
     * bytes between the braces; the metric name needs its own length plus one. */
    size_t cap = (size_t) (p->lbl_end - p->lbl) + p->name_len + 1;
    char *out = v ? arena_alloc(a, cap) : NULL;
    if (!out)
        return arena_full(a, e, p->line);

    v[0].name = LABEL_METRIC_NAME;
    v[0].value = out;
    memcpy(out, p->name, p->name_len);
    out[p->name_len] = '\0';
    out += p->name_len + 1;

    const char *s = p->lbl, *end = p->lbl_end;
    for (uint32_t i = 1; i < n; i++) {
        s = skip_blanks(s, end);
        const char *name = s;
        while (s < end && is_label_char(*s))
            s++;
        size_t name_len = (size_t) (s - name);
        s = skip_blanks(s, end);
        s = skip_blanks(s + 1, end); /* '=' */
        const char *val = ++s;       /* past '"' */
        while (s < end && *s != '"')
            s += *s == '\\' ? 2 : 1;
        if (NEVER(s >= end))
            return err_set(e, ERR_INTERNAL, "line %" PRIu32 ": label rescan overran", p->line);
        memcpy(out, name, name_len);
        out[name_len] = '\0';
        v[i].name = out;
        out += name_len + 1;
        v[i].value = out;
        out += unescape(out, val, (size_t) (s - val), 1) + 1;
        s = skip_blanks(s + 1, end);
        if (s < end && *s == ',')
            s++;
    }

    struct labels ls = {v, n};
    if (labels_sort(&ls) < 0) {
        char q[80] = "";
        for (uint32_t i = 1; i < n; i++)
            if (strcmp(v[i - 1].name, v[i].name) == 0) {
                textparse__quote(q, sizeof q, v[i].name, strlen(v[i].name));
                break;
            }
        return err_set(e, ERR_PARSE, "line %" PRIu32 ": duplicate label name %s", p->line, q);
    }
    *ret = ls;
    return 0;
}

int textparse_help(const struct textparse *p, struct arena *a, const char **ret, struct err *e)
{
    char *out = arena_alloc(a, p->text_len + 1);
    if (!out)
        return arena_full(a, e, p->line);
    if (p->entry == TEXTPARSE_HELP)
        (void) unescape(out, p->text, p->text_len, p->format == TEXTPARSE_OPENMETRICS);
    else {
        if (p->text_len)
            memcpy(out, p->text, p->text_len);
        out[p->text_len] = '\0';
    }
    *ret = out;
    return 0;
}

const char *textparse_metric_type_name(enum textparse_metric_type t)
{
    return (unsigned) t < _TEXTPARSE_METRIC_MAX ? metric_type_names[t] : "unknown";
}

enum textparse_format textparse_format_from_content_type(const char *ct, size_t n)
{
    static const char om[] = "application/openmetrics-text";
    const size_t m = sizeof om - 1;
    size_t i = 0;
    while (i < n && is_blank(ct[i]))
        i++;
    if (n - i < m || strncasecmp(ct + i, om, m) != 0)
        return TEXTPARSE_PROM;
    for (i += m; i < n && is_blank(ct[i]); i++)
        ;
    return i == n || ct[i] == ';' ? TEXTPARSE_OPENMETRICS : TEXTPARSE_PROM;
}
