/* tsdb/labels.h — label sets: sorted by name, names unique, strings NUL-terminated.
 * Who owns the strings depends on where the set came from (arena, head's symbol table). */
#ifndef EMBER_TSDB_LABELS_H
#define EMBER_TSDB_LABELS_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct label {
    const char *name;
    const char *value;
};

struct labels {
    struct label *v;
    uint32_t n;
};

#define LABEL_METRIC_NAME "__name__"

/* Sorts by name in place; returns -1 when a name repeats (the set is invalid), else 0. */
int labels_sort(struct labels *ls);
int labels_cmp(const struct labels *a, const struct labels *b); /* Prometheus order */
int labels_equal(const struct labels *a, const struct labels *b);
uint64_t labels_hash(const struct labels *ls);
const char *labels_get(const struct labels *ls, const char *name); /* NULL when absent */
/* Deep copy into the arena (strings too); -ENOMEM/ERR_LIMIT when the arena is full. */
int labels_copy(struct arena *a, const struct labels *src, struct labels *ret);
/* `{a="1", b="2"}` with Prometheus' quoting; metric name first as `name{...}` when present. */
char *labels_format(struct arena *a, const struct labels *ls);
/* `{__name__="up", a="1"}`: every label inside the braces, as Go's labels.Labels.String()
 * writes them in Prometheus' error messages. */
char *labels_string(struct arena *a, const struct labels *ls);

/* Valid label name: [a-zA-Z_][a-zA-Z0-9_]*; metric name also allows ':'. */
int labels_name_valid(const char *s, size_t n);
int labels_metric_name_valid(const char *s, size_t n);

#endif
