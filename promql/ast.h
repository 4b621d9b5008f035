/* promql/ast.h — PromQL syntax tree shared by the parser, the printer and the evaluator.
 * Every node, string and matcher lives in the arena passed to promql_parse(); nodes are immutable
 * after parsing, so one tree may be evaluated many times (range steps, rule evaluations). */
#ifndef EMBER_PROMQL_AST_H
#define EMBER_PROMQL_AST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/promql.h"

enum promql_node {
    NODE_NUMBER,
    NODE_STRING,
    NODE_VECTOR_SEL,
    NODE_MATRIX_SEL,
    NODE_SUBQUERY,
    NODE_PAREN,
    NODE_UNARY,
    NODE_BINARY,
    NODE_AGG,
    NODE_CALL,
};

/* Binary operators in precedence groups, lowest first (Prometheus' yacc precedence table). */
enum promql_op {
    OP_NONE,
    OP_OR,
    OP_AND,
    OP_UNLESS,
    OP_EQL, /* == */
    OP_NEQ,
    OP_LTE,
    OP_LSS,
    OP_GTE,
    OP_GTR,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_ATAN2,
    OP_POW,
};

enum promql_agg {
    AGG_SUM,
    AGG_AVG,
    AGG_COUNT,
    AGG_MIN,
    AGG_MAX,
    AGG_GROUP,
    AGG_STDDEV,
    AGG_STDVAR,
    AGG_TOPK,
    AGG_BOTTOMK,
    AGG_COUNT_VALUES,
    AGG_QUANTILE,
    _AGG_MAX,
};

enum promql_at { AT_NONE, AT_TIME, AT_START, AT_END };

enum promql_card { CARD_ONE_TO_ONE, CARD_MANY_TO_ONE, CARD_ONE_TO_MANY, CARD_MANY_TO_MANY };

/* Function ids, alphabetical like the table in ast.c. */
enum promql_fn {
    FN_ABS,
    FN_ABSENT,
    FN_ABSENT_OVER_TIME,
    FN_ACOS,
    FN_ACOSH,
    FN_ASIN,
    FN_ASINH,
    FN_ATAN,
    FN_ATANH,
    FN_AVG_OVER_TIME,
    FN_CEIL,
    FN_CHANGES,
    FN_CLAMP,
    FN_CLAMP_MAX,
    FN_CLAMP_MIN,
    FN_COS,
    FN_COSH,
    FN_COUNT_OVER_TIME,
    FN_DAYS_IN_MONTH,
    FN_DAY_OF_MONTH,
    FN_DAY_OF_WEEK,
    FN_DAY_OF_YEAR,
    FN_DEG,
    FN_DELTA,
    FN_DERIV,
    FN_EXP,
    FN_FLOOR,
    FN_HISTOGRAM_COUNT,
    FN_HISTOGRAM_FRACTION,
    FN_HISTOGRAM_QUANTILE,
    FN_HISTOGRAM_SUM,
    FN_HOLT_WINTERS,
    FN_HOUR,
    FN_IDELTA,
    FN_INCREASE,
    FN_IRATE,
    FN_LABEL_JOIN,
    FN_LABEL_REPLACE,
    FN_LAST_OVER_TIME,
    FN_LN,
    FN_LOG10,
    FN_LOG2,
    FN_MAX_OVER_TIME,
    FN_MIN_OVER_TIME,
    FN_MINUTE,
    FN_MONTH,
    FN_PI,
    FN_PREDICT_LINEAR,
    FN_PRESENT_OVER_TIME,
    FN_QUANTILE_OVER_TIME,
    FN_RAD,
    FN_RATE,
    FN_RESETS,
    FN_ROUND,
    FN_SCALAR,
    FN_SGN,
    FN_SIN,
    FN_SINH,
    FN_SORT,
    FN_SORT_DESC,
    FN_SQRT,
    FN_STDDEV_OVER_TIME,
    FN_STDVAR_OVER_TIME,
    FN_SUM_OVER_TIME,
    FN_TAN,
    FN_TANH,
    FN_TIME,
    FN_TIMESTAMP,
    FN_VECTOR,
    FN_YEAR,
    _FN_MAX,
};

/* offset and @ of a vector selector or subquery. */
struct promql_mod {
    int64_t offset_ms;
    int has_offset;
    enum promql_at at;
    int64_t at_ms; /* AT_TIME */
};

struct promql_matching {
    enum promql_card card;
    int on;        /* on(...) rather than ignoring(...) */
    int explicit_; /* on/ignoring/group_x written in the query (printer keeps it) */
    const char **labels;
    size_t n_labels;
    const char **include; /* group_left/group_right extra labels */
    size_t n_include;
};

struct promql_expr {
    enum promql_node kind;
    uint32_t pos, end; /* byte offsets into the query: [pos, end) */
    union {
        double num;
        const char *str; /* NODE_STRING, decoded */
        struct {
            const char *name; /* NULL when the query gave none */
            struct matcher *ms;
            size_t n_ms; /* includes __name__="name" when name is set */
            struct promql_mod mod;
        } sel;
        struct {
            struct promql_expr *vs; /* NODE_VECTOR_SEL holding offset and @ */
            int64_t range_ms;
        } matrix;
        struct {
            struct promql_expr *x;
            int64_t range_ms, step_ms; /* step 0: the default (engine's) step */
            struct promql_mod mod;
        } sub;
        struct promql_expr *paren;
        struct {
            enum promql_op op; /* OP_ADD or OP_SUB */
            struct promql_expr *x;
        } unary;
        struct {
            enum promql_op op;
            struct promql_expr *l, *r;
            int return_bool;
            struct promql_matching *vm; /* NULL unless both sides are vectors */
        } bin;
        struct {
            enum promql_agg op;
            struct promql_expr *x, *param;
            const char **grouping;
            size_t n_grouping;
            int without;
        } agg;
        struct {
            const struct promql_func *f;
            struct promql_expr **args;
            size_t n_args;
        } call;
    } u;
};

/* Function table (ast.c). arg types use enum promql_value_type. variadic: 0 exact count,
 * > 0 up to that many optional trailing arguments, -1 unlimited. */
struct promql_func {
    const char *name;
    enum promql_value_type args[5];
    int n_args;
    int variadic;
    enum promql_value_type ret;
    enum promql_fn id;
};
const struct promql_func *promql_func_lookup(const char *name, size_t n);

/* Names as the query language writes them. */
const char *promql_op_str(enum promql_op op);
const char *promql_agg_str(enum promql_agg op);
int promql_op_is_comparison(enum promql_op op);
int promql_op_is_set(enum promql_op op);
int promql_agg_has_param(enum promql_agg op);

/* Documented type name as parse errors print it ("instant vector", "range vector"). */
const char *promql_value_type_doc(enum promql_value_type t);

/* "L:C: parse error: msg" for byte offset pos of src (line and column 1-based); ERR_PARSE. */
int promql_parse_verr(struct err *e, const char *src, size_t n, size_t pos, const char *fmt,
                      va_list ap);
/* Prometheus' checkAST: operand and argument types, argument counts, vector matching rules,
 * selector matchers. Run by promql_parse() after the syntax is accepted. */
int promql_ast_check(const char *src, size_t n, struct promql_expr *x, struct err *e);

/* Go's %q quoting of s into the arena (used for matchers, strings and error messages). */
char *promql_quote(struct arena *a, const char *s, size_t n);

#endif
