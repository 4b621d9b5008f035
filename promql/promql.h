/* promql/promql.h — PromQL: parse a query into an AST, evaluate it at one instant or over a range
 * against a tsdb. Parsing and evaluation need no HTTP; the script-test runner and the API server
 * both call exactly these functions. Everything a call produces lives in the caller's arena. */
#ifndef EMBER_PROMQL_H
#define EMBER_PROMQL_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"

struct promql_expr; /* AST node, see promql/ast.h (module-internal) */

/* Parses q[0..n). On failure: ERR_PARSE with "L:C: parse error: ..." as Prometheus words it. */
int promql_parse(struct arena *a, const char *q, size_t n, struct promql_expr **ret, struct err *e);
/* Parsed trees of recent query texts (parse_cache.c): a text seen before is not parsed again.
 * Bounded (slots, rounded up to a power of two, each holding one text of at most
 * PROMQL_PARSE_CACHE_TEXT_MAX bytes and its tree); one thread at a time. */
typedef struct promql_parse_cache promql_parse_cache;
#define PROMQL_PARSE_CACHE_TEXT_MAX 4096
int promql_parse_cache_new(size_t slots, promql_parse_cache **ret); /* -ENOMEM */
void promql_parse_cache_free(promql_parse_cache *c);                  /* NULL is fine */
/* promql_parse() of q[0..n) (longer than PROMQL_PARSE_CACHE_TEXT_MAX: ERR_LIMIT), from the cache
 * or parsed now and kept in place of an older entry. The tree is borrowed until the next
 * promql_parse_cached() or promql_parse_cache_free() on c. Errors are never cached. */
int promql_parse_cached(promql_parse_cache *c, const char *q, size_t n,
                        const struct promql_expr **ret, struct err *e);
void promql_parse_cache_stats(const promql_parse_cache *c, uint64_t *ret_hits,
                              uint64_t *ret_misses);
/* Canonical text of an expression (format_query), arena-allocated. */
char *promql_format(struct arena *a, const struct promql_expr *x);

enum promql_value_type { PROMQL_NONE, PROMQL_SCALAR, PROMQL_VECTOR, PROMQL_MATRIX, PROMQL_STRING };
const char *promql_value_type_name(enum promql_value_type t); /* "scalar", "vector", ... */
enum promql_value_type promql_expr_type(const struct promql_expr *x);

/* Read-only view of one syntax-tree node for code outside promql (the parse_query endpoint),
 * named as Prometheus' parser names things. Every pointer points into the tree (its arena);
 * fields that do not apply to the node are zero / NULL. */
struct promql_node_view {
    /* "aggregation", "binaryExpr", "call", "matrixSelector", "numberLiteral", "parenExpr",
     * "stringLiteral", "subquery", "unaryExpr" or "vectorSelector" */
    const char *type;
    const char *op; /* aggregation "sum", binaryExpr "+" / "and" / "==", unaryExpr "-" */
    const struct promql_expr *expr, *param; /* aggregation, parenExpr, subquery, unaryExpr */
    const struct promql_expr *lhs, *rhs;    /* binaryExpr */
    struct promql_expr *const *args;        /* call */
    size_t n_args;
    /* vectorSelector, and the selector inside a matrixSelector */
    const char *name; /* "" when the query gave no metric name */
    const struct matcher *matchers;
    size_t n_matchers;
    int name_matcher_first; /* matchers[0] is the __name__="name" implied by the metric name
                             * (Prometheus lists that one last) */
    int64_t range_ms, step_ms; /* matrixSelector, subquery (step 0: none written) */
    int64_t offset_ms;         /* selectors, subquery; negative for "offset -5m" */
    int has_at;                /* "@ <time>" written: at_ms holds it */
    int64_t at_ms;
    const char *start_or_end;  /* "@ start()" / "@ end()": "start" / "end"; else NULL */
    const char *const *grouping; /* aggregation: by / without labels */
    size_t n_grouping;
    int without;
    int return_bool;           /* binaryExpr */
    int has_matching;          /* binaryExpr between two instant vectors */
    const char *card;          /* "one-to-one", "many-to-one", "one-to-many", "many-to-many" */
    int on;
    const char *const *labels, *const *include;
    size_t n_labels, n_include;
    const char *func;          /* call: function name, its declared argument types, the number
                                * of optional trailing arguments (-1 unlimited), return type */
    const enum promql_value_type *arg_types;
    size_t n_arg_types;
    int variadic;
    enum promql_value_type return_type;
    double num;                /* numberLiteral */
    const char *str;           /* stringLiteral, decoded */
};
void promql_expr_view(const struct promql_expr *x, struct promql_node_view *ret);

struct promql_point {
    int64_t t;
    double v;
};
struct promql_sample { /* one element of an instant vector */
    struct labels metric;
    int64_t t;
    double v;
};
struct promql_series { /* one element of a range vector / matrix */
    struct labels metric;
    struct promql_point *points;
    size_t n_points;
};

struct promql_result {
    enum promql_value_type type;
    union {
        struct promql_point scalar;
        struct {
            const char *s;
            int64_t t;
        } string;
        struct {
            struct promql_sample *v;
            size_t n;
        } vector;
        struct {
            struct promql_series *v;
            size_t n;
        } matrix;
    } u;
    const char **warnings;
    size_t n_warnings;
    /* Memory high-water mark of the evaluation: bytes it added to the caller's arena (the
     * result, labels, loaded samples when evaluated step by step), plus the largest step
     * scratch arena, plus the heap the evaluation held (grid values, the sample read buffer, a
     * per-step range query's point buffer). For benchmarks and accounting; never a limit. */
    size_t peak_bytes;
    /* For the API's stats: samples decoded from storage, and the most samples the query held
     * at once as --query.max-samples counts them. */
    uint64_t read_samples, peak_samples;
};

/* Zero fields take the defaults. */
struct promql_engine_opts {
    int64_t lookback_delta_ms; /* default 5m */
    /* Samples held at once: intermediate results over all steps (as Prometheus counts each
     * node's matrix), a range function's window, the result; default 50,000,000. */
    uint64_t max_samples;
    int64_t timeout_ms;   /* default 2m */
    int64_t default_step_ms; /* step of subqueries written without one; default 1m */
    size_t step_bytes;       /* scratch memory cap of one evaluation step; default 256 MiB */
};
/* An engine is immutable after promql_engine_new(): threads may share it, each query using its
 * own arena. Evaluation reads the tsdb through short-lived queriers. */
typedef struct promql_engine promql_engine;
int promql_engine_new(tsdb *db, const struct promql_engine_opts *o, promql_engine **ret,
                      struct err *e);
void promql_engine_free(promql_engine *eng); /* NULL is fine */
/* Makes running and later queries fail with ERR_CANCELED (shutdown); any thread may call it. */
void promql_engine_cancel(promql_engine *eng);

/* Instant query at t_ms. Vector samples carry t_ms; a range-vector expression gives a matrix.
 * Errors: ERR_EXEC (execution), ERR_LIMIT (too many samples, or the arena's cap), ERR_TIMEOUT,
 * ERR_CANCELED, -ENOMEM; the message is Prometheus' wording. The result lives in a. */
int promql_eval_instant(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                        int64_t t_ms, struct promql_result *ret, struct err *e);
/* What promql_eval_instant_small() may cost at most: syntax-tree nodes, and the selection work
 * of all selectors together (tsdb_querier_cost_within()'s upper bounds). */
struct promql_small_budget {
    size_t nodes;
    struct tsdb_select_cost cost;
};
/* promql_eval_instant() for a caller that must neither wait nor run long (the HTTP loop): returns
 * 1 without evaluating unless the cost is known to fit b before anything is read: no subquery,
 * every selector's window held by the head alone, its matchers string compares, its series and
 * samples counted from the postings within budget, and the head not being truncated. Otherwise
 * the same evaluation, limits (max samples, timeout, cancel) and result as promql_eval_instant. */
int promql_eval_instant_small(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                              int64_t t_ms, const struct promql_small_budget *b,
                              struct promql_result *ret, struct err *e);
/* Range query: the result is always a matrix sorted by labels (a scalar becomes one series
 * without labels); only scalar and instant-vector expressions are allowed (ERR_EXEC). */
int promql_eval_range(promql_engine *eng, struct arena *a, const struct promql_expr *x,
                      int64_t start_ms, int64_t end_ms, int64_t step_ms, struct promql_result *ret,
                      struct err *e);

#endif
