/* rules/template.h — the Go text/template subset Prometheus rule files use in alert labels and
 * annotations ({{ $labels.instance }}, {{ $value | humanize }}, {{ range query "..." }}).
 * Parse once, execute per alert; docs/templates.md lists the language and every function.
 *
 * Ownership: the parsed template and every output live in the caller's arena. Parsing and
 * execution share nothing mutable, so one parsed template may be executed by several threads at
 * once (each with its own arena). Execution is bounded (output bytes, bytes built, steps,
 * queries; a regex match counts as many steps): a hostile template fails with ERR_LIMIT instead
 * of exhausting time or memory. */
#ifndef EMBER_RULES_TEMPLATE_H
#define EMBER_RULES_TEMPLATE_H

#include <stddef.h>

#include "tsdb/tsdb.h"

/* Limits; past them tmpl_parse() or tmpl_exec() fails with ERR_LIMIT. */
#define TMPL_MAX_OUTPUT (1u << 20)       /* bytes of output and of any one string value */
#define TMPL_MAX_STEPS 1000000u          /* actions, commands and range iterations */
#define TMPL_MAX_QUERIES 64u             /* {{ query }} calls */
#define TMPL_MAX_BYTES (64u << 20)       /* bytes of strings built in one execution */
#define TMPL_MAX_DEPTH 100u              /* nesting of blocks and parentheses (parse time) */
#define TMPL_MAX_VARS 256u               /* variables in scope at once (parse time) */

struct tmpl; /* parsed template, allocated in an arena */

/* One element of a {{ query }} result: .Labels and .Value in the template. */
struct tmpl_sample {
    struct labels labels;
    double value;
};

/* Runs a PromQL instant query for {{ query "..." }}; results allocated in a. q is not
 * NUL-terminated. Returns >= 0 or < 0 with e filled (its message becomes the template error). */
typedef int (*tmpl_query_fn)(void *ctx, struct arena *a, const char *q, size_t q_len,
                             struct tmpl_sample **ret, size_t *ret_n, struct err *e);

/* What a rule template sees. Every pointer is borrowed for the tmpl_exec() call; NULL label sets
 * are empty, a NULL external_url is "". */
struct tmpl_data {
    const struct labels *labels;          /* $labels  (and .Labels) */
    double value;                         /* $value   (and .Value) */
    const struct labels *external_labels; /* $externalLabels (and .ExternalLabels) */
    const char *external_url;             /* $externalURL (and .ExternalURL) */
    tmpl_query_fn query;                  /* NULL: {{ query }} is an execution error */
    void *query_ctx;
};

/* Parses text[0..n) (need not be NUL-terminated; name is used in messages and copied). On a
 * malformed template returns ERR_PARSE with Go's wording: "template: NAME:LINE: MESSAGE";
 * ERR_LIMIT when the arena is full or nesting passes TMPL_MAX_DEPTH. */
int tmpl_parse(struct arena *a, const char *name, const char *text, size_t n, struct tmpl **ret,
               struct err *e);

/* Executes t against d. *out (NUL-terminated, arena) and *out_len are written on success.
 * Errors: ERR_EXEC with Go's wording ("template: NAME:LINE:COL: executing \"NAME\" at <NODE>:
 * MESSAGE"), ERR_LIMIT past a limit above or when the arena is full, or the query function's code.
 * t is not modified, so it may be shared between threads. */
int tmpl_exec(const struct tmpl *t, struct arena *a, const struct tmpl_data *d, char **out,
              size_t *out_len, struct err *e);

#endif
