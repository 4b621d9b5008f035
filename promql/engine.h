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

#define MSG_TOO_MANY_SAMPLES                                                                       \
    "query processing would load too many samples into memory in query execution"
#define MSG_TIMEOUT "query timed out in query execution"

#define MSG_CANCELED "query was canceled in query execution"

struct promql_engine {
    tsdb *db;
    struct promql_engine_opts o;
    _Atomic int canceled; /* promql_engine_cancel(): every query stops at its next check */
};

/* One selected series with its samples (stale markers included) inside the loaded window. */
struct promql_loaded_series {
    struct labels metric;
    struct promql_point *p;
    size_t n;
    int has_stale;  /* without stale markers, range selections can point into p */
    size_t hint[2]; /* last search results (window end, window start): steps move forward */
};

/* The preloaded data of one selector node (a NODE_VECTOR_SEL, also the one inside a matrix). */
struct promql_loaded_sel {
    const struct promql_expr *node;
    struct promql_loaded_series *series;
    size_t n;
    int64_t mint, maxt; /* planned window */
};

struct promql_val {
    enum promql_value_type type;
    double scalar;
    const char *str;
    struct promql_sample *vec; /* PROMQL_VECTOR */
    struct promql_series *mat; /* PROMQL_MATRIX */
    size_t n;
};

struct promql_ev {
    struct promql_engine *eng;
    struct arena *qa; /* query arena: loaded data, the result */
    struct arena *sa; /* step arena: reset between steps */
    struct err *e;
    int64_t start_ms, end_ms, step_ms; /* the query's; for @ start() / end() */
    int64_t lookback_ms;
    int64_t deadline_ns;
    uint64_t samples;        /* samples held by the current step */
    uint64_t result_samples; /* points already in a range query's result */
    size_t step_peak;        /* largest arena_used(sa) seen before a reset: peak_bytes */
    struct promql_loaded_sel *sels;
    size_t n_sels, cap_sels;
    struct promql_cached_re *res; /* label_replace regexes, compiled once per query */
};

struct promql_cached_re {
    struct promql_cached_re *next;
    const struct promql_expr *node;
    struct re *re;
};

/* engine.c */
int promql_engine_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                       struct promql_val *ret);
int promql_engine_oom(struct promql_ev *ev); /* the arena failed: ERR_LIMIT or -ENOMEM */
int promql_engine_count(struct promql_ev *ev, uint64_t n); /* account samples against max_samples */
int promql_engine_check(struct promql_ev *ev);             /* deadline passed or canceled: < 0 */
int64_t promql_engine_at_ref(const struct promql_ev *ev, const struct promql_mod *m, int64_t t);

/* plan.c */
int promql_plan_load(struct promql_ev *ev, const struct promql_expr *root, int64_t mint,
                     int64_t maxt);
struct promql_loaded_sel *promql_plan_find(const struct promql_ev *ev,
                                                 const struct promql_expr *vs);
int64_t promql_plan_sat_add(int64_t a, int64_t b);
int64_t promql_plan_sat_sub(int64_t a, int64_t b);

/* binops.c */
int promql_binops_eval(struct promql_ev *ev, const struct promql_expr *x, struct promql_val *l,
                       struct promql_val *r, int64_t t, struct promql_val *ret);
double promql_binops_scalar(enum promql_op op, double l, double r, int *keep);

/* aggregations.c */
int promql_aggregations_eval(struct promql_ev *ev, const struct promql_expr *x,
                             struct promql_val *param, struct promql_val *in, int64_t t,
                             struct promql_val *ret);

/* functions.c */
int promql_functions_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                          struct promql_val *ret);

/* value.c: label sets and keyed maps, all in the step arena. */
int promql_value_drop_name(struct arena *a, const struct labels *in, struct labels *ret);
/* Copy with name set to value (an empty value removes the label). */
int promql_value_set(struct arena *a, const struct labels *in, const char *name, const char *value,
                     struct labels *ret);
/* Keeps (keep = 1) or drops (keep = 0) the listed names; drop also removes __name__. */
int promql_value_filter(struct arena *a, const struct labels *in, const char **names, size_t n,
                        int keep, struct labels *ret);
/* Exact key for a label subset: same rule as promql_value_filter, encoded as bytes; NULL on OOM. */
const char *promql_value_key(struct arena *a, const struct labels *in, const char **names, size_t n,
                             int keep, size_t *ret_len);
const char *promql_value_key_all(struct arena *a, const struct labels *in, size_t *ret_len);

struct promql_map_slot {
    const char *key;
    size_t len;
    uint64_t hash;
    size_t val;
};
struct promql_map {
    struct arena *a;
    struct promql_map_slot *slots;
    size_t cap, n;
};
/* Looks key up; inserts it with *val when absent. Returns 1 found (val set), 0 inserted, < 0. */
int promql_map_put(struct promql_map *m, const char *key, size_t len, size_t *val);
int promql_map_find(const struct promql_map *m, const char *key, size_t len,
                    size_t *val); /* 1 found */

/* Label-set hashing without building keys. mode: PROMQL_LS_KEEP hashes only the listed names
 * (on, by), PROMQL_LS_DROP all but the listed names and __name__ (ignoring, without),
 * PROMQL_LS_ALL every label. Equality uses the same selection. */
enum { PROMQL_LS_DROP = 0, PROMQL_LS_KEEP = 1, PROMQL_LS_ALL = 2 };
uint64_t promql_value_hash(const struct labels *ls, const char **names, size_t n, int mode);
int promql_value_equal(const struct labels *a, const struct labels *b, const char **names, size_t n,
                       int mode);

/* Open-addressing table of (hash, index) pairs in an arena: callers confirm candidates with
 * their own equality test, so no key is ever materialised. */
struct promql_hslot {
    uint64_t h;
    size_t idx1; /* index + 1; 0 marks an empty slot */
};
struct promql_hidx {
    struct arena *a;
    struct promql_hslot *s;
    size_t cap, n;
};
int promql_hidx_add(struct promql_hidx *m, uint64_t h, size_t idx);
/* Next entry with hash h after *cursor (start with 0): 1 and *idx, or 0 when there is none. */
int promql_hidx_next(const struct promql_hidx *m, uint64_t h, size_t *cursor, size_t *idx);

int promql_value_push(struct arena *a, struct promql_val *v, size_t *cap,
                      const struct labels *metric, int64_t t, double val);
/* Error when two elements share a label set (Prometheus' duplicate check). */
int promql_value_check_unique(struct promql_ev *ev, const struct promql_val *v);
/* x is a selector with a metric name: its series differ in other labels, so results that only
 * drop the name are unique without checking. */
int promql_value_one_name(const struct promql_expr *x);

#endif
