/* scrape/omparse.c — OpenMetrics 1.0 text pull parser: textparse_next() for TEXTPARSE_OPENMETRICS.
 * Names, label sets, floats and error positions come from textparse.c (scrape/omparse.h).
 *
 * What is accepted (the OpenMetrics 1.0 ABNF as Prometheus 2.42 reads it, openmetricslex.l):
 * every line ends in "\n", tokens are separated by exactly one space, and the input ends with
 * "# EOF" (its "\n" optional) with nothing after it.
 *   metadata  = "# HELP " name [" " text] | "# TYPE " name " " type | "# UNIT " name [" " unit]
 *   sample    = name ["{" [label ("," label)* [","]] "}"] " " value [" " timestamp] [exemplar]
 *   exemplar  = " # {" [label ("," label)* [","]] "} " value [" " timestamp]
 *   label     = label_name '="' ("\" byte | byte but '"' '\')* '"'     no newline, raw or escaped
 *   timestamp = float seconds since the epoch; ms = int64(ts * 1000) truncated as Prometheus
 *               does; NaN and Inf refused
 * type is counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown; a
 * non-empty unit must end the metric name after a '_'. Empty lines and other '#' lines are errors.
 * Help text escapes are \\ \" \n. Families: counter samples are <name>_total (and _created),
 * histograms _bucket/_count/_sum/_created, and so on; SERIES' type tells which family a sample
 * belongs to. Like Prometheus, a sample outside its family (a counter without _total) is accepted
 * with type unknown rather than failing the whole scrape. Exemplars are checked, then skipped.
 */
#include "scrape/omparse.h"
#include "tsdb/tsdb.h"

#include <math.h>
#include <string.h>

static const char eof_hint[] = "OpenMetrics data must end with '# EOF'";

/* Ends a line at s, which must be its "\n". */
static int om_eol(struct textparse *p, const char *s, const char *what, struct err *e)
{
    if (s >= p->end)
        return textparse__fail(p, e, s, "unexpected end of input: %s", eof_hint);
    if (*s != '\n')
        return textparse__expected(p, e, s, what);
    textparse__newline(p, s);
    p->pos = s + 1;
    return 0;
}

/* The timestamp token at s; *ret_end is its end. */
static int om_timestamp(struct textparse *p, const char *s, const char **ret_end, int64_t *ret_ms,
                        const char *what, struct err *e)
{
    double ts;
    int r;
    /* The usual timestamp first, digits[.digits] (num_scan_plain()): the double the general
     * path computes (at most 2^53 s, so 9.007e18 ms: inside int64), without its cases. */
    uint64_t w;
    unsigned f;
    const char *t = num_scan_plain(s, p->end, &w, &f);
    if (t && t < p->end && (*t == ' ' || *t == '\n')) {
        *ret_ms = (int64_t) ((double) w / num_exact_pow10[f] * 1000);
        *ret_end = t;
        return 0;
    }
    *ret_end = textparse__float_token(p, s, &ts, &r);
    size_t n = (size_t) (*ret_end - s);
    if (r < 0)
        return textparse__bad_float(p, e, s, n, r, what);
    char q[80];
    if (!isfinite(ts)) {
        textparse__quote(q, sizeof q, s, n);
        return textparse__fail(p, e, s, "%s %s is not a finite number of seconds", what, q);
    }
    double ms = ts * 1000;
    /* (int64_t) of a double outside int64's range is undefined: refuse instead. */
    if (!(ms > -9223372036854775808.0 && ms < 9223372036854775808.0)) {
        textparse__quote(q, sizeof q, s, n);
        return textparse__fail(p, e, s, "%s %s is out of range", what, q);
    }
    *ret_ms = (int64_t) ms;
    return 0;
}

static int om_meta(struct textparse *p, const char *s, int kind, struct err *e)
{
    static const char *const what[] = {
        [TEXTPARSE_HELP] = "metric name after HELP",
        [TEXTPARSE_TYPE] = "metric name after TYPE",
        [TEXTPARSE_UNIT] = "metric name after UNIT",
    };
    const char *end = p->end;
    const char *name_end = textparse__metric_name_end(s, end);
    if (name_end == s)
        return textparse__expected(p, e, s, what[kind]);
    p->name = s;
    p->name_len = (size_t) (name_end - s);
    s = name_end;
    const char *eol = memchr(s, '\n', (size_t) (end - s));
    if (!eol)
        eol = end;
    if (s < eol && *s != ' ')
        return textparse__expected(p, e, s, "' ' after metric name");
    p->text = s < eol ? s + 1 : s;
    p->text_len = (size_t) (eol - p->text);

    char q[80], q2[80];
    int r;
    switch (kind) {
    case TEXTPARSE_HELP:
        r = textparse__check_text(p, p->text, p->text_len, "help text", e);
        if (r < 0)
            return r;
        break;
    case TEXTPARSE_TYPE: {
        if (p->text_len == 0)
            return textparse__expected(p, e, p->text, "metric type");
        size_t t;
        for (t = 0; t < _TEXTPARSE_METRIC_MAX; t++)
            if (strlen(textparse_metric_type_name(t)) == p->text_len &&
                memcmp(textparse_metric_type_name(t), p->text, p->text_len) == 0)
                break;
        if (t == _TEXTPARSE_METRIC_MAX) {
            textparse__quote(q, sizeof q, p->text, p->text_len);
            return textparse__fail(p, e, p->text,
                                   "unknown metric type %s (OpenMetrics types: counter, gauge, "
                                   "histogram, gaugehistogram, summary, info, stateset, unknown)",
                                   q);
        }
        p->type = (enum textparse_metric_type) t;
        p->text = NULL;
        p->text_len = 0;
        break;
    }
    default: /* UNIT */
        r = textparse__check_text(p, p->text, p->text_len, "unit", e);
        if (r < 0)
            return r;
        if (p->text_len &&
            (p->name_len <= p->text_len ||
             memcmp(p->name + p->name_len - p->text_len, p->text, p->text_len) != 0 ||
             p->name[p->name_len - p->text_len - 1] != '_')) {
            textparse__quote(q, sizeof q, p->text, p->text_len);
            textparse__quote(q2, sizeof q2, p->name, p->name_len);
            return textparse__fail(p, e, p->text, "unit %s is not a suffix of metric name %s", q,
                                   q2);
        }
        break;
    }
    r = om_eol(p, eol, "end of line", e);
    if (r < 0)
        return r;
    if (kind == TEXTPARSE_TYPE)
        textparse__set_family(p);
    return kind;
}

static int om_comment(struct textparse *p, const char *s, struct err *e)
{
    const char *end = p->end;
    if (end - s < 2 || s[1] != ' ')
        return textparse__expected(p, e, s,
                                   "'# HELP', '# TYPE', '# UNIT' or '# EOF' (OpenMetrics has no "
                                   "other comments)");
    const char *kw = s + 2;
    size_t left = (size_t) (end - kw);
    if (left >= 3 && memcmp(kw, "EOF", 3) == 0) {
        const char *after = kw + 3;
        if (after < end && *after == '\n') {
            textparse__newline(p, after);
            after++;
        } else if (after < end) {
            return textparse__fail(p, e, kw, "'# EOF' must be alone on its line");
        }
        if (after < end)
            return textparse__fail(p, e, after, "unexpected data after '# EOF'");
        p->pos = end;
        p->state = 1;
        return 0;
    }
    if (left >= 5 && kw[4] == ' ') {
        if (memcmp(kw, "HELP", 4) == 0)
            return om_meta(p, kw + 5, TEXTPARSE_HELP, e);
        if (memcmp(kw, "TYPE", 4) == 0)
            return om_meta(p, kw + 5, TEXTPARSE_TYPE, e);
        if (memcmp(kw, "UNIT", 4) == 0)
            return om_meta(p, kw + 5, TEXTPARSE_UNIT, e);
    }
    return textparse__expected(p, e, kw,
                               "HELP, TYPE, UNIT or EOF after '# ' (OpenMetrics has no other "
                               "comments)");
}

/* ` # {labels} value [timestamp]` after a sample; s is just past the '{'. Checked, not kept. */
static int om_exemplar(struct textparse *p, const char *s, const char **ret_end, struct err *e)
{
    const char *end = p->end;
    /* scan_labels() records its label set in p: keep the sample's */
    const char *lbl = p->lbl, *lbl_end = p->lbl_end;
    uint32_t n_labels = p->n_labels;
    int r = textparse__scan_labels(p, s, &s, e);
    p->lbl = lbl, p->lbl_end = lbl_end, p->n_labels = n_labels;
    if (r < 0)
        return r;
    if (s >= end || *s != ' ')
        return textparse__expected(p, e, s, "' ' and a value after exemplar labels");
    const char *v = ++s;
    double ev;
    s = textparse__float_token(p, v, &ev, &r);
    if (s == v)
        return textparse__expected(p, e, v, "exemplar value");
    if (r < 0)
        return textparse__bad_float(p, e, v, (size_t) (s - v), r, "exemplar value");
    if (s < end && *s == ' ') {
        int64_t ts_ms;
        r = om_timestamp(p, s + 1, &s, &ts_ms, "exemplar timestamp", e);
        if (r < 0)
            return r;
    }
    p->has_exemplar = 1;
    *ret_end = s;
    return 0;
}

static int om_sample(struct textparse *p, const char *s, struct err *e)
{
    const char *end = p->end;
    const char *t = textparse__repeat_series(p, s);
    if (!t) {
        t = textparse__metric_name_end(s, end);
        if (t == s)
            return textparse__expected(p, e, s,
                                       "metric name, '# HELP', '# TYPE', '# UNIT' or '# EOF'");
        p->name = p->series = s;
        p->name_len = p->series_len = (size_t) (t - s);
        if (t < end && *t == '{') {
            int r = textparse__scan_labels(p, t + 1, &t, e);
            if (r < 0)
                return r;
            p->series_len = (size_t) (t - s);
            textparse__keep_series(p); /* OpenMetrics values hold no newline */
        }
    }
    if (t >= end || *t != ' ')
        return textparse__expected(p, e, t, "' ' and a value after metric");

    const char *v = ++t;
    int r;
    t = textparse__float_token(p, v, &p->value, &r);
    if (t == v)
        return textparse__expected(p, e, v, "value after metric");
    if (r < 0)
        return textparse__bad_float(p, e, v, (size_t) (t - v), r, "value");

    if (t < end && *t == ' ' && !(end - t > 1 && t[1] == '#')) {
        r = om_timestamp(p, t + 1, &t, &p->t_ms, "timestamp", e);
        if (r < 0)
            return r;
        p->has_t = 1;
    }
    if (t < end && *t == ' ') {
        if (end - t < 4 || memcmp(t, " # {", 4) != 0)
            return textparse__expected(p, e, t + 1, "exemplar ('# {') or end of line");
        r = om_exemplar(p, t + 4, &t, e);
        if (r < 0)
            return r;
    }
    r = om_eol(p, t, "end of line", e);
    if (r < 0)
        return r;
    textparse__series_type(p);
    return TEXTPARSE_SERIES;
}

int textparse__om_next(struct textparse *p, struct err *e)
{
    const char *s = p->pos;
    p->line = p->cur_line;
    if (s >= p->end)
        return textparse__fail(p, e, s, "unexpected end of input: %s", eof_hint);
    if (*s == '#')
        return om_comment(p, s, e);
    if (*s == '\n')
        return textparse__fail(p, e, s, "empty line (OpenMetrics allows none)");
    return om_sample(p, s, e);
}
