/* promql/engine.h — evaluator internals shared by the .c files of promql/. Not for other folders
 * (they use promql/promql.h).
 *
 * Design: plan.c first works out the time window every selector can read over the whole query.
 * Then grid.c evaluates each node once over all the query's steps (an instant query is a grid
 * of one step): series-major, so label work happens once per series, not per step, and each
 * selector's series are decoded one at a time from a querier held open meanwhile. Queries the
 * grid does not take (a range vector as the result, a subquery of over a million steps, tests
 * setting step_only) load every selector's samples into the query arena up front and are
 * evaluated as an instant query at each step (engine.c), reading those arrays by binary search;
 * each step's temporaries live in a scratch arena that is reset after the step, and only the
 * result is copied into the caller's arena. */
#ifndef EMBER_PROMQL_ENGINE_H
#define EMBER_PROMQL_ENGINE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
    int step_only;        /* tests: evaluate every query step by step, not on the grid */
};

/* One selected series with its samples inside the loaded window: with stale markers for an
 * instant-vector selector, without them for the selector of a range (which never sees them). */
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
    int in_range;       /* the selector of a range x[d]: stale markers are dropped when loading */
};

struct promql_val {
    enum promql_value_type type;
    double scalar;
    const char *str;
    struct promql_sample *vec; /* PROMQL_VECTOR */
    struct promql_series *mat; /* PROMQL_MATRIX */
    size_t n;
};

struct promql_gblock;

/* Scratch buffers of a grid evaluation (promql_grid_scratch): slots 0..5. */
#define PROMQL_GRID_SCRATCH 6

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
    uint64_t peak_samples;   /* most samples + result_samples held at once (stats) */
    uint64_t read_samples;   /* samples decoded from storage (stats) */
    size_t step_peak;        /* largest arena_used(sa) seen before a reset: peak_bytes */
    struct promql_loaded_sel *sels;
    size_t n_sels, cap_sels;
    struct promql_cached_re *res; /* label_replace regexes, compiled once per query */
    tsdb_querier *q;              /* open while selectors are read (plan.c) */
    struct promql_point *ld_p;    /* decode scratch of plan.c's reads (heap) */
    struct promql_point ld_last;  /* promql_plan_read_last()'s one sample */
    size_t ld_cap, ld_peak;
    /* grid evaluation (grid.c): step k is at g_start + k * g_step, k < g_n */
    int64_t g_start, g_step;
    size_t g_n;
    struct promql_gblock *g_blocks; /* every live block of every grid value */
    size_t g_bytes, g_peak;         /* heap held by grid values: now and at most */
    int g_err;                      /* why the last grid allocation failed: -ENOMEM, ERR_LIMIT */
    void *g_scr[PROMQL_GRID_SCRATCH]; /* reusable scratch buffers (promql_grid_scratch) */
    size_t g_scr_cap[PROMQL_GRID_SCRATCH];
    /* their first bytes, while that is enough: 8 steps of 8 bytes */
    max_align_t g_scr_small[PROMQL_GRID_SCRATCH][64 / sizeof(max_align_t)];
};

struct promql_cached_re {
    struct promql_cached_re *next;
    const struct promql_expr *node;
    struct re *re;
};

/* A value over the step grid. Series hold their values at steps [k0, k0 + len) in v, with
 * PROMQL_ABSENT_BITS at steps where they have none. Memory: heap blocks owned by the value
 * (promql_grid_free), counted against max_samples by slots while the value lives. Labels live
 * in the query arena (or are the loaded series' own). */
struct promql_gseries {
    struct labels metric;
    uint32_t k0, len;
    double *v;
};
struct promql_gval {
    enum promql_value_type type; /* PROMQL_SCALAR, PROMQL_VECTOR or PROMQL_STRING */
    double *sc;                  /* scalar: g_n values */
    const char *str;
    struct promql_gseries *s; /* vector */
    size_t n, cap;
    struct promql_gblock *mem;
    uint64_t slots;
};

/* A signalling NaN with a payload no arithmetic produces (it only quiets NaNs) and the loader
 * never hands out (it rewrites such a sample to the ordinary NaN): "no value at this step". */
#define PROMQL_ABSENT_BITS UINT64_C(0x7ff4a3c5e1d20b97)
static inline int promql_absent(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == PROMQL_ABSENT_BITS;
}
static inline double promql_absent_value(void)
{
    uint64_t b = PROMQL_ABSENT_BITS;
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* grid.c (values, dispatch, result), grid_range.c (selectors, range functions, subqueries),
 * grid_ops.c (operators, aggregations), grid_functions.c (other functions) */
/* Evaluates x on the grid and fills the caller's result as promql_eval_instant/_range do.
 * range: the result is a matrix sorted by labels; else the one step's value. */
int promql_grid_run(struct promql_ev *ev, const struct promql_expr *x, int range,
                    struct promql_result *ret);
int promql_grid_supported(const struct promql_expr *x); /* x can be evaluated on the grid */
/* The subqueries in x have grids of at most PROMQL_GRID_MAX_STEPS on ev's grid. */
int promql_grid_fits(struct promql_ev *ev, const struct promql_expr *x);
int promql_grid_eval(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *ret);
void promql_grid_free(struct promql_ev *ev, struct promql_gval *v);
int promql_grid_vector(struct promql_ev *ev, struct promql_gval *v, size_t cap);
int promql_grid_scalar(struct promql_ev *ev, struct promql_gval *v);
/* Adds a series with the values vals[0..len) at steps k0.. (copied; absent steps trimmed off
 * both ends; nothing is added when all are absent). metric lives in the query arena. */
int promql_grid_put(struct promql_ev *ev, struct promql_gval *v, const struct labels *metric,
                    const double *vals, size_t k0, size_t len);
/* The error of a failed grid allocation (promql_grid_alloc, _scratch, _tmp_alloc return NULL
 * after setting it): -ENOMEM or ERR_LIMIT. */
static inline int promql_grid_err(const struct promql_ev *ev)
{
    return ev->g_err ? ev->g_err : -ENOMEM;
}
/* Memory owned by v (freed with it); sets the error on failure. */
void *promql_grid_alloc(struct promql_ev *ev, struct promql_gval *v, size_t bytes);
/* Longer grids (a million steps) are evaluated step by step: scratch arrays are per step. */
#define PROMQL_GRID_MAX_STEPS (1u << 20)
/* Scratch buffer slot 0-5 of at least n bytes, kept between calls; NULL on ENOMEM. */
void *promql_grid_scratch(struct promql_ev *ev, int slot, size_t n);
/* Series of v with equal label sets: merged when they never have a value at the same step;
 * when they do and check is set, returns 1 with the two indices (the caller reports the error),
 * else they stay apart. */
int promql_grid_merge_same(struct promql_ev *ev, struct promql_gval *v, int check,
                           size_t *ret_first, size_t *ret_second);
/* With check: the same, reporting a collision as err_set(ERR_EXEC, msg). Without: nothing, the
 * caller knows the label sets differ (e.g. a selector with a metric name, its name dropped). */
int promql_grid_unique(struct promql_ev *ev, struct promql_gval *v, int check, const char *msg);
/* The per-step implementation of x applied to each step's column of args, outputs merged by
 * label set: for operations without a series-major form. which: 'b' binop (args l, r), 'a'
 * aggregation (args param, x), 'c' call (the call's arguments). */
int promql_grid_stepwise(struct promql_ev *ev, const struct promql_expr *x, int which,
                         struct promql_gval *args, size_t n_args, struct promql_gval *ret);
/* Range-vector function call x whose matrix argument is a range selector or a subquery. */
int promql_grid_range_call(struct promql_ev *ev, const struct promql_expr *x,
                           struct promql_gval *args, struct promql_gval *ret);
/* An instant-vector selector's values, or with want_ts the times of its samples in seconds. */
int promql_grid_selector(struct promql_ev *ev, const struct promql_expr *x, int want_ts,
                         struct promql_gval *ret);
/* Copy of in without __name__ (in itself when it has none); arrays in the query arena. */
int promql_grid_drop_name(struct promql_ev *ev, const struct labels *in, struct labels *ret);
static inline int64_t promql_grid_t(const struct promql_ev *ev, size_t k)
{
    return ev->g_start + (int64_t) k * ev->g_step;
}
static inline double promql_grid_at(const struct promql_gseries *s, size_t k) /* any step */
{
    return k >= s->k0 && k - s->k0 < s->len ? s->v[k - s->k0] : promql_absent_value();
}
static inline const struct promql_expr *promql_unparen(const struct promql_expr *x)
{
    while (x->kind == NODE_PAREN)
        x = x->u.paren;
    return x;
}
/* Scratch memory of n elements until promql_grid_free(tmp). _steps: arrays over steps (group
 * accumulators, presence per step), counted against max_samples as n slots like values;
 * _alloc: arrays over series or groups, bounded like their labels, not counted. */
void *promql_grid_tmp_alloc(struct promql_ev *ev, struct promql_gval *tmp, size_t n, size_t size);
void *promql_grid_tmp_steps(struct promql_ev *ev, struct promql_gval *tmp, size_t n, size_t size);

int promql_grid_binop(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *l,
                      struct promql_gval *r, struct promql_gval *ret);
int promql_grid_agg(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *param,
                    struct promql_gval *in, struct promql_gval *ret);
int promql_grid_call(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *ret);

/* engine.c */
int promql_engine_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                       struct promql_val *ret);
int promql_engine_oom(struct promql_ev *ev); /* the arena failed: ERR_LIMIT or -ENOMEM */
int promql_engine_count(struct promql_ev *ev, uint64_t n); /* account samples against max_samples */
/* Records what the query holds now plus extra (a window being read) for peak_samples. */
static inline void promql_engine_note_held(struct promql_ev *ev, uint64_t extra)
{
    uint64_t held = ev->samples + ev->result_samples + extra;
    if (held > ev->peak_samples)
        ev->peak_samples = held;
}
int promql_engine_check(struct promql_ev *ev);             /* deadline passed or canceled: < 0 */
int64_t promql_engine_at_ref(const struct promql_ev *ev, const struct promql_mod *m, int64_t t);

/* plan.c: per-step evaluation loads every selector's samples into the query arena up front
 * (promql_plan_load: the querier is open only meanwhile). The grid evaluator reads each
 * selector once, series by series, from a querier open during the evaluation: promql_plan_walk
 * (windows only), _open, then _select and _read per selector, and _close at the end. */
int promql_plan_load(struct promql_ev *ev, const struct promql_expr *root, int64_t mint,
                     int64_t maxt);
int promql_plan_walk(struct promql_ev *ev, const struct promql_expr *root, int64_t mint,
                     int64_t maxt);
int promql_plan_open(struct promql_ev *ev);
/* promql_eval_instant_small(): opens the querier without waiting when the head alone holds the
 * planned windows and the selectors' summed cost fits lim. 1 fits (querier open, or no
 * selector), 0 does not (a querier may be open: promql_plan_close), < 0 error. */
int promql_plan_open_small(struct promql_ev *ev, const struct tsdb_select_cost *lim);
void promql_plan_close(struct promql_ev *ev); /* also frees the read scratch; idempotent */
/* The selector's series (their labels valid until promql_plan_close), sorted by labels. */
int promql_plan_select(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                       struct tsdb_series **ret, size_t *ret_n);
/* One series' samples in the selector's window, valid until the next read. */
int promql_plan_read(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                     const struct tsdb_series *s, const struct promql_point **ret,
                     size_t *ret_n);
/* What promql_plan_read() returns as far as an evaluation at the one reference time ref needs
 * it: the last sample at or before ref, often without decoding (0 or 1 samples), else all. */
int promql_plan_read_last(struct promql_ev *ev, const struct promql_loaded_sel *ls,
                          const struct tsdb_series *s, int64_t ref,
                          const struct promql_point **ret, size_t *ret_n);
struct promql_loaded_sel *promql_plan_find(const struct promql_ev *ev,
                                                 const struct promql_expr *vs);
int64_t promql_plan_sat_add(int64_t a, int64_t b);
int64_t promql_plan_sat_sub(int64_t a, int64_t b);

/* binops.c */
int promql_binops_eval(struct promql_ev *ev, const struct promql_expr *x, struct promql_val *l,
                       struct promql_val *r, int64_t t, struct promql_val *ret);
double promql_binops_scalar(enum promql_op op, double l, double r, int *keep);
int promql_binops_drops_name(enum promql_op op); /* arithmetic: the result has no name */
/* Matching signature (on/ignoring) of a label set: hash and equality. */
uint64_t promql_binops_sig_hash(const struct promql_matching *vm, const struct labels *m);
int promql_binops_sig_equal(const struct promql_matching *vm, const struct labels *a,
                            const struct labels *b);
int promql_binops_result_metric(struct arena *a, const struct promql_expr *x,
                                const struct labels *lhs, const struct labels *rhs,
                                struct labels *ret);

/* aggregations.c */
/* topk/bottomk (rev): offer s to a heap of at most k of a group's elements (only .v is
 * compared), laid out as Go's container/heap does; then the heap in output order. */
void promql_aggregations_heap_offer(struct promql_sample *heap, size_t *n,
                                    const struct promql_sample *s, size_t k, int rev);
void promql_aggregations_heap_sort(struct promql_sample *heap, size_t n, int rev);
int promql_aggregations_eval(struct promql_ev *ev, const struct promql_expr *x,
                             struct promql_val *param, struct promql_val *in, int64_t t,
                             struct promql_val *ret);

/* functions.c */
int promql_functions_eval(struct promql_ev *ev, const struct promql_expr *x, int64_t t,
                          struct promql_val *ret);
/* A call without range-vector arguments, on evaluated arguments (at least n_args + 3 entries,
 * the unused ones zero). */
int promql_functions_apply(struct promql_ev *ev, const struct promql_expr *x,
                           const struct promql_val *args, int64_t t, struct promql_val *ret);
struct promql_window {
    int64_t start, end; /* the window the matrix argument was read from */
    int64_t range_ms;
};
/* One range-vector function on one series' window p[0..n) (n > 0): 1 with *ret, 0 no output. */
int promql_functions_range(struct promql_ev *ev, enum promql_fn id, const struct promql_point *p,
                           size_t n, struct promql_window w, const struct promql_val *args,
                           int64_t t, double *ret);
/* rate/increase/delta in two halves: the raw change over p[0..n) (n >= 2), then Prometheus'
 * extrapolation of it to the window. */
double promql_functions_raw_delta(const struct promql_point *p, size_t n, int counter);
double promql_functions_extrapolate(const struct promql_point *p, size_t n, double result,
                                    struct promql_window w, int counter, int is_rate);
double promql_functions_simple(enum promql_fn id, double v, const struct promql_val *args);
double promql_functions_date_part(enum promql_fn id, double secs);
/* The case labels of the functions promql_functions_date_part() computes. */
#define PROMQL_CASE_DATE_FNS                                                                   \
    case FN_MINUTE:                                                                            \
    case FN_HOUR:                                                                              \
    case FN_DAY_OF_WEEK:                                                                       \
    case FN_DAY_OF_MONTH:                                                                      \
    case FN_DAY_OF_YEAR:                                                                       \
    case FN_DAYS_IN_MONTH:                                                                     \
    case FN_MONTH:                                                                             \
    case FN_YEAR
int promql_functions_absent_labels(struct promql_ev *ev, struct arena *a,
                                   const struct promql_expr *arg, struct labels *ret);
struct re;
int promql_functions_label_replace_prep(struct promql_ev *ev, const struct promql_expr *x,
                                        const struct promql_val *args, struct re **ret);
int promql_functions_label_replace_one(struct arena *a, struct re *re,
                                       const struct promql_val *args, struct labels *m);
int promql_functions_label_join_prep(struct promql_ev *ev, const struct promql_expr *x,
                                     const struct promql_val *args);
int promql_functions_label_join_one(struct arena *a, const struct promql_val *args, size_t n_src,
                                    struct labels *m);
struct promql_bucket {
    double upper, count;
};
/* Sorts and merges b in place. */
double promql_functions_bucket_quantile(double q, struct promql_bucket *b, size_t n);

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
