/* scrape/textparse.h — pull parsers for scraped exposition formats: Prometheus text 0.0.4 and
 * OpenMetrics 1.0 text. One complete in-memory buffer in, one entry per textparse_next(), slices
 * borrowed from the buffer, no allocation per entry. Library code: returns errors, never logs. */
#ifndef EMBER_SCRAPE_TEXTPARSE_H
#define EMBER_SCRAPE_TEXTPARSE_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct err;
struct labels;

enum textparse_format {
    TEXTPARSE_PROM,        /* text/plain; version=0.0.4 (and anything unrecognised) */
    TEXTPARSE_OPENMETRICS, /* application/openmetrics-text */
};

/* What textparse_next() found; 0 is the end of the input, < 0 an error. */
enum textparse_entry {
    TEXTPARSE_SERIES = 1, /* a sample: series, name, labels, value, optional timestamp */
    TEXTPARSE_HELP,       /* name, text (escaped as written; textparse_help() unescapes) */
    TEXTPARSE_TYPE,       /* name, type */
    TEXTPARSE_UNIT,       /* name, text (OpenMetrics only) */
    TEXTPARSE_COMMENT,    /* text: the whole line from '#' (text format only) */
};

/* Metric family types. Text 0.0.4 "untyped" and OpenMetrics "unknown" are both UNKNOWN, as in
 * Prometheus; a sample with no matching TYPE line is UNKNOWN too. */
enum textparse_metric_type {
    TEXTPARSE_METRIC_UNKNOWN,
    TEXTPARSE_METRIC_COUNTER,
    TEXTPARSE_METRIC_GAUGE,
    TEXTPARSE_METRIC_HISTOGRAM,
    TEXTPARSE_METRIC_SUMMARY,
    TEXTPARSE_METRIC_INFO,
    TEXTPARSE_METRIC_STATESET,
    TEXTPARSE_METRIC_GAUGEHISTOGRAM,
    _TEXTPARSE_METRIC_MAX
};

/* Lives on the caller's stack. Public fields describe the current entry; every slice points into
 * the input buffer (which must outlive the parser) and is borrowed until the next
 * textparse_next(). Slices are not NUL-terminated. Fields marked private are the parser's. */
struct textparse {
    const char *series; /* SERIES: `name{labels}` exactly as written, for use as a cache key */
    size_t series_len;
    const char *name; /* SERIES, HELP, TYPE, UNIT: the metric (family) name */
    size_t name_len;
    const char *text; /* HELP: escaped help; UNIT: the unit; COMMENT: the line */
    size_t text_len;
    enum textparse_metric_type type; /* TYPE: declared; SERIES: of its family (TYPE line above) */
    double value;                    /* SERIES; any NaN is the one canonical quiet NaN */
    int64_t t_ms;                    /* SERIES: timestamp in ms, valid when has_t */
    int has_t;
    int has_exemplar; /* SERIES (OpenMetrics): an exemplar followed; it was checked, then skipped */
    uint32_t line;    /* 1-based line the current entry starts on */

    /* private */
    const char *buf, *pos, *end, *line_start;
    const char *lbl, *lbl_end; /* the checked bytes between the braces of the current series */
    uint32_t n_labels;         /* label pairs in lbl, __name__ not included */
    uint32_t cur_line;
    enum textparse_format format;
    int state;                 /* 0 running, 1 at the end, -1 failed */
    int entry;                 /* what the last textparse_next() returned, 0 if nothing */
    const char *family;        /* name of the last TYPE line, for SERIES' type */
    size_t family_len;
    enum textparse_metric_type family_type;
    const char *rep;           /* the last series with labels (and no newline) that scanned */
    size_t rep_len, rep_name_len, rep_lbl_off; /* clean: its text, name and labels' start */
    uint32_t rep_n_labels;
};

/* buf..buf+len is borrowed for the parser's whole life. */
void textparse_init(struct textparse *p, const char *buf, size_t len, enum textparse_format f);

/* Advances to the next entry: returns an enum textparse_entry (> 0), 0 at the end of the input,
 * or ERR_PARSE with e->msg such as "line 12 col 9: expected label value in quotes, got 'x'".
 * After an error every further call fails again. Text format: blank lines are skipped and the
 * last line may lack its "\n". OpenMetrics: the input must end with "# EOF". */
int textparse_next(struct textparse *p, struct err *e);

/* The current SERIES' label set including __name__: names and unescaped values (\\ \" \n) are
 * NUL-terminated copies in arena a (the name "__name__" itself is a static string), sorted by
 * labels_sort(). A repeated label name is ERR_PARSE; a full arena ERR_LIMIT (or -ENOMEM). */
int textparse_labels(struct textparse *p, struct arena *a, struct labels *ret, struct err *e);

/* The current HELP text unescaped (text format: \\ \n; OpenMetrics: \\ \" \n) as a
 * NUL-terminated string in arena a; for UNIT and COMMENT a copy of text. */
int textparse_help(const struct textparse *p, struct arena *a, const char **ret,
                   struct err *e);

/* "counter", "gauge", ..., "unknown". */
const char *textparse_metric_type_name(enum textparse_metric_type t);

/* Chooses the parser from a Content-Type header value (ct may be NULL when n is 0): media type
 * application/openmetrics-text (any case, any version) is OpenMetrics, anything else text 0.0.4,
 * as Prometheus does. */
enum textparse_format textparse_format_from_content_type(const char *ct, size_t n);

/* The Accept header Prometheus 2.42 sends with scrapes. */
extern const char textparse_accept_header[];

#endif
