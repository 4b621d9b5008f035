/* promql/engine.h — evaluator internals shared by engine.c, plan.c, binops.c, aggregations.c,
 * functions.c and value.c. Not for other folders (they use promql/promql.h).
 *
 * Design: a query first loads (plan.c) every selector's samples over the whole time span it can
 * touch, once; then the expression is evaluated as an instant query at each step (engine.c),
 * reading those preloaded arrays by binary search. Each step's temporaries live in a scratch
 * arena that is reset after the step; only the result is copied into the caller's arena. */
#ifndef EMBER_PROMQL_ENGINE_H
#define EMBER_PROMQL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "promql/promql.h"

#define MSG_TOO_MANY_SAMPLES "query processing would load too many samples into memory in query execution"
#define MSG_TIMEOUT "query timed out in query execution"

struct promql_engine {
    tsdb *db;
    struct promql_engine_opts o;
};

/* One selected series with its samples (stale markers included) inside the loaded window. */
struct loaded_series {
    struct labels metric;
    int64_t *t;
    double *v;
    size_t n;
};

/* The preloaded data of one selector node (a NODE_VECTOR_SEL, also the one inside a matrix). */
struct loaded_sel {
    const struct promql_expr *node;
    struct loaded_series *series;
    size_t n;
    int64_t mint, maxt; /* planned window */
};

struct val {
    enum promql_value_type type;
    double scalar;
    const char *str;
    struct promql_sample *vec; /* PROMQL_VECTOR */
    struct promql_series *mat; /* PROMQL_MATRIX */
    size_t n;
};

struct ev {
    struct promql_engine *eng;
    struct arena *qa;  /* query arena: loaded data, the result */
    struct arena *sa;  /* step arena: reset between steps */
    struct err *e;
    int64_t start_ms, end_ms, step_ms; /* the query's; for @ start() / end() */
    int64_t lookback_ms;
    int64_t deadline_ns;
    uint64_t samples;  /* samples held by the current step */
    uint64_t result_samples; /* points already in a range query's result */
    struct loaded_sel *sels;
    size_t n_sels, cap_sels;
    struct cached_re *res; /* label_replace regexes, compiled once per query */
};

struct cached_re {
    struct cached_re *next;
    const struct promql_expr *node;
    struct re *re;
};

/* engine.c */
int ev_eval(struct ev *ev, const struct promql_expr *x, int64_t t, struct val *ret);
int ev_oom(struct ev *ev);                    /* the arena failed: ERR_LIMIT or -ENOMEM */
int ev_count(struct ev *ev, uint64_t n);      /* account samples against max_samples */
int64_t ev_at_ref(const struct ev *ev, const struct promql_mod *m, int64_t t);

/* plan.c */
int plan_load(struct ev *ev, const struct promql_expr *root, int64_t mint, int64_t maxt);
const struct loaded_sel *plan_find(const struct ev *ev, const struct promql_expr *vs);
int64_t sat_add(int64_t a, int64_t b);
int64_t sat_sub(int64_t a, int64_t b);

/* binops.c */
int binop_eval(struct ev *ev, const struct promql_expr *x, struct val *l, struct val *r,
               int64_t t, struct val *ret);
double binop_scalar(enum promql_op op, double l, double r, int *keep);

/* aggregations.c */
int agg_eval(struct ev *ev, const struct promql_expr *x, struct val *param, struct val *in,
             int64_t t, struct val *ret);

/* functions.c */
int func_eval(struct ev *ev, const struct promql_expr *x, int64_t t, struct val *ret);

/* value.c: label sets and keyed maps, all in the step arena. */
int lbl_drop_name(struct arena *a, const struct labels *in, struct labels *ret);
/* Copy with name set to value (an empty value removes the label). */
int lbl_set(struct arena *a, const struct labels *in, const char *name, const char *value,
            struct labels *ret);
/* Keeps (keep = 1) or drops (keep = 0) the listed names; drop also removes __name__. */
int lbl_filter(struct arena *a, const struct labels *in, const char **names, size_t n, int keep,
               struct labels *ret);
/* Exact key for a label subset: same rule as lbl_filter, encoded as bytes; NULL on OOM. */
const char *lbl_key(struct arena *a, const struct labels *in, const char **names, size_t n,
                    int keep, size_t *ret_len);
const char *lbl_key_all(struct arena *a, const struct labels *in, size_t *ret_len);

struct kmap_slot {
    const char *key;
    size_t len;
    uint64_t hash;
    size_t val;
};
struct kmap {
    struct arena *a;
    struct kmap_slot *slots;
    size_t cap, n;
};
/* Looks key up; inserts it with *val when absent. Returns 1 found (val set), 0 inserted, < 0. */
int kmap_get_or_put(struct kmap *m, const char *key, size_t len, size_t *val);
int kmap_find(const struct kmap *m, const char *key, size_t len, size_t *val); /* 1 found */

int vec_push(struct arena *a, struct val *v, size_t *cap, const struct labels *metric, int64_t t,
             double val);
void vec_sort_labels(struct promql_sample *v, size_t n);
/* Error when two elements share a label set (Prometheus' duplicate check). */
int vec_check_unique(struct ev *ev, const struct val *v);

#endif
