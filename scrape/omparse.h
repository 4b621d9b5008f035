/* scrape/omparse.h — private to scrape/textparse.c and scrape/omparse.c: the OpenMetrics entry
 * point and the scanning helpers both exposition parsers share (libuv's `uv__` convention for
 * internal-but-shared names). Everyone else includes scrape/textparse.h. */
#ifndef EMBER_SCRAPE_OMPARSE_H
#define EMBER_SCRAPE_OMPARSE_H

#include <stddef.h>

#include "scrape/textparse.h"

struct err;

/* textparse_next() for TEXTPARSE_OPENMETRICS. */
int textparse__om_next(struct textparse *p, struct err *e);

/* Marks p failed and fills e with "line L col C: <fmt>" for position at; returns ERR_PARSE. */
int textparse__fail(struct textparse *p, struct err *e, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "line L col C: expected <what>, got 'token'" (or "got end of line", "got end of input"). */
int textparse__expected(struct textparse *p, struct err *e, const char *at, const char *what);

/* Quotes up to 32 bytes of s..s+n into out (cap >= 80 holds any result) for an error message,
 * non-printable bytes as \xNN, so messages stay ASCII whatever the input holds. */
void textparse__quote(char *out, size_t cap, const char *s, size_t n);

/* End of the metric name [a-zA-Z_:][a-zA-Z0-9_:]* starting at s; s itself when there is none. */
const char *textparse__metric_name_end(const char *s, const char *end);

/* Checks the label pairs after a '{' at s up to and including the '}' and stores them in p->lbl,
 * p->lbl_end and p->n_labels; *ret_end is just past the '}'. Text format allows blanks between
 * tokens and raw newlines inside values; OpenMetrics neither. */
int textparse__scan_labels(struct textparse *p, const char *s, const char **ret_end,
                           struct err *e);

/* A sample value or float timestamp (s..s+n), spelled as Go's strconv.ParseFloat accepts it
 * minus hex and '_' (Prometheus rejects those): 0, -1 malformed, -2 out of range. Every NaN
 * becomes the canonical quiet NaN, so a scraped NaN never equals the stale marker. */
int textparse__parse_float(const char *s, size_t n, double *ret);

/* The value or timestamp token at s, up to ' ' or '\n' (text format: also '\t' or '{') or the
 * end of the input: returns its end (s when it is empty) and textparse__parse_float()'s result
 * for it in *ret_r, the value in *ret on success. */
const char *textparse__float_token(const struct textparse *p, const char *s, double *ret,
                                   int *ret_r);

/* Fails with a message explaining textparse__parse_float()'s result r for the token s..s+n;
 * what names it ("value", "timestamp"). */
int textparse__bad_float(struct textparse *p, struct err *e, const char *s, size_t n, int r,
                         const char *what);

/* HELP text and the like: no NUL byte, valid UTF-8. Fails with what in the message. */
int textparse__check_text(struct textparse *p, const char *s, size_t n, const char *what,
                          struct err *e);

/* Import files repeat a series line after line. When s starts with the text of the last series
 * kept by textparse__keep_series(), scanning it would find the same name and labels: they are
 * set in p as scanning would set them, and the end of the series is returned; otherwise NULL. */
const char *textparse__repeat_series(struct textparse *p, const char *s);
/* Keeps the current series for textparse__repeat_series(): call after its labels scanned clean,
 * only when it has labels (the '}' ends it whatever follows) and holds no newline. */
void textparse__keep_series(struct textparse *p);

/* Sets p->type for the current SERIES from the last TYPE line: the sample belongs to that
 * family when its name is the family name plus a suffix the family's type allows. */
void textparse__series_type(struct textparse *p);

/* Counts the line break at nl: positions after it are on the next line. */
static inline void textparse__newline(struct textparse *p, const char *nl)
{
    p->cur_line++; /* wraps only past 4G lines, far beyond any scrape body limit */
    p->line_start = nl + 1;
}

/* Records a TYPE line as the current family. */
void textparse__set_family(struct textparse *p);

#endif
