/* promql/ast.c — the language's tables (operators, aggregations, functions), expression types,
 * the type checks run after parsing (Prometheus' checkAST), the printer (promql_format: parse →
 * print → parse gives the same tree) and the read-only node view behind parse_query. */
#include "promql/ast.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tsdb/base/base.h"

#define S PROMQL_SCALAR
#define V PROMQL_VECTOR
#define M PROMQL_MATRIX
#define STR PROMQL_STRING

/* Prometheus 2.42's float function list (promql/parser/functions.go), sorted by name. */
static const struct promql_func funcs[] = {
    {"abs", {V}, 1, 0, V, FN_ABS},
    {"absent", {V}, 1, 0, V, FN_ABSENT},
    {"absent_over_time", {M}, 1, 0, V, FN_ABSENT_OVER_TIME},
    {"acos", {V}, 1, 0, V, FN_ACOS},
    {"acosh", {V}, 1, 0, V, FN_ACOSH},
    {"asin", {V}, 1, 0, V, FN_ASIN},
    {"asinh", {V}, 1, 0, V, FN_ASINH},
    {"atan", {V}, 1, 0, V, FN_ATAN},
    {"atanh", {V}, 1, 0, V, FN_ATANH},
    {"avg_over_time", {M}, 1, 0, V, FN_AVG_OVER_TIME},
    {"ceil", {V}, 1, 0, V, FN_CEIL},
    {"changes", {M}, 1, 0, V, FN_CHANGES},
    {"clamp", {V, S, S}, 3, 0, V, FN_CLAMP},
    {"clamp_max", {V, S}, 2, 0, V, FN_CLAMP_MAX},
    {"clamp_min", {V, S}, 2, 0, V, FN_CLAMP_MIN},
    {"cos", {V}, 1, 0, V, FN_COS},
    {"cosh", {V}, 1, 0, V, FN_COSH},
    {"count_over_time", {M}, 1, 0, V, FN_COUNT_OVER_TIME},
    {"day_of_month", {V}, 1, 1, V, FN_DAY_OF_MONTH},
    {"day_of_week", {V}, 1, 1, V, FN_DAY_OF_WEEK},
    {"day_of_year", {V}, 1, 1, V, FN_DAY_OF_YEAR},
    {"days_in_month", {V}, 1, 1, V, FN_DAYS_IN_MONTH},
    {"deg", {V}, 1, 0, V, FN_DEG},
    {"delta", {M}, 1, 0, V, FN_DELTA},
    {"deriv", {M}, 1, 0, V, FN_DERIV},
    {"exp", {V}, 1, 0, V, FN_EXP},
    {"floor", {V}, 1, 0, V, FN_FLOOR},
    {"histogram_count", {V}, 1, 0, V, FN_HISTOGRAM_COUNT},
    {"histogram_fraction", {S, S, V}, 3, 0, V, FN_HISTOGRAM_FRACTION},
    {"histogram_quantile", {S, V}, 2, 0, V, FN_HISTOGRAM_QUANTILE},
    {"histogram_sum", {V}, 1, 0, V, FN_HISTOGRAM_SUM},
    {"holt_winters", {M, S, S}, 3, 0, V, FN_HOLT_WINTERS},
    {"hour", {V}, 1, 1, V, FN_HOUR},
    {"idelta", {M}, 1, 0, V, FN_IDELTA},
    {"increase", {M}, 1, 0, V, FN_INCREASE},
    {"irate", {M}, 1, 0, V, FN_IRATE},
    {"label_join", {V, STR, STR, STR}, 4, -1, V, FN_LABEL_JOIN},
    {"label_replace", {V, STR, STR, STR, STR}, 5, 0, V, FN_LABEL_REPLACE},
    {"last_over_time", {M}, 1, 0, V, FN_LAST_OVER_TIME},
    {"ln", {V}, 1, 0, V, FN_LN},
    {"log10", {V}, 1, 0, V, FN_LOG10},
    {"log2", {V}, 1, 0, V, FN_LOG2},
    {"max_over_time", {M}, 1, 0, V, FN_MAX_OVER_TIME},
    {"min_over_time", {M}, 1, 0, V, FN_MIN_OVER_TIME},
    {"minute", {V}, 1, 1, V, FN_MINUTE},
    {"month", {V}, 1, 1, V, FN_MONTH},
    {"pi", {S}, 0, 0, S, FN_PI},
    {"predict_linear", {M, S}, 2, 0, V, FN_PREDICT_LINEAR},
    {"present_over_time", {M}, 1, 0, V, FN_PRESENT_OVER_TIME},
    {"quantile_over_time", {S, M}, 2, 0, V, FN_QUANTILE_OVER_TIME},
    {"rad", {V}, 1, 0, V, FN_RAD},
    {"rate", {M}, 1, 0, V, FN_RATE},
    {"resets", {M}, 1, 0, V, FN_RESETS},
    {"round", {V, S}, 2, 1, V, FN_ROUND},
    {"scalar", {V}, 1, 0, S, FN_SCALAR},
    {"sgn", {V}, 1, 0, V, FN_SGN},
    {"sin", {V}, 1, 0, V, FN_SIN},
    {"sinh", {V}, 1, 0, V, FN_SINH},
    {"sort", {V}, 1, 0, V, FN_SORT},
    {"sort_desc", {V}, 1, 0, V, FN_SORT_DESC},
    {"sqrt", {V}, 1, 0, V, FN_SQRT},
    {"stddev_over_time", {M}, 1, 0, V, FN_STDDEV_OVER_TIME},
    {"stdvar_over_time", {M}, 1, 0, V, FN_STDVAR_OVER_TIME},
    {"sum_over_time", {M}, 1, 0, V, FN_SUM_OVER_TIME},
    {"tan", {V}, 1, 0, V, FN_TAN},
    {"tanh", {V}, 1, 0, V, FN_TANH},
    {"time", {S}, 0, 0, S, FN_TIME},
    {"timestamp", {V}, 1, 0, V, FN_TIMESTAMP},
    {"vector", {S}, 1, 0, V, FN_VECTOR},
    {"year", {V}, 1, 1, V, FN_YEAR},
};

const struct promql_func *promql_func_lookup(const char *name, size_t n)
{
    size_t lo = 0, hi = ARRAY_LEN(funcs);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(funcs[mid].name, name, n);
        if (c == 0 && funcs[mid].name[n] != 0)
            c = 1;
        if (c == 0)
            return &funcs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *promql_op_str(enum promql_op op)
{
    static const char *const s[] = {
        [OP_NONE] = "?", [OP_OR] = "or",  [OP_AND] = "and", [OP_UNLESS] = "unless",
        [OP_EQL] = "==", [OP_NEQ] = "!=", [OP_LTE] = "<=",  [OP_LSS] = "<",
        [OP_GTE] = ">=", [OP_GTR] = ">",  [OP_ADD] = "+",   [OP_SUB] = "-",
        [OP_MUL] = "*",  [OP_DIV] = "/",  [OP_MOD] = "%",   [OP_ATAN2] = "atan2",
        [OP_POW] = "^",
    };
    return (unsigned) op < ARRAY_LEN(s) ? s[op] : "?";
}

const char *promql_agg_str(enum promql_agg op)
{
    static const char *const s[] = {
        [AGG_SUM] = "sum",
        [AGG_AVG] = "avg",
        [AGG_COUNT] = "count",
        [AGG_MIN] = "min",
        [AGG_MAX] = "max",
        [AGG_GROUP] = "group",
        [AGG_STDDEV] = "stddev",
        [AGG_STDVAR] = "stdvar",
        [AGG_TOPK] = "topk",
        [AGG_BOTTOMK] = "bottomk",
        [AGG_COUNT_VALUES] = "count_values",
        [AGG_QUANTILE] = "quantile",
    };
    return (unsigned) op < ARRAY_LEN(s) ? s[op] : "?";
}

int promql_op_is_comparison(enum promql_op op)
{
    return op >= OP_EQL && op <= OP_GTR;
}

int promql_op_is_set(enum promql_op op)
{
    return op == OP_AND || op == OP_OR || op == OP_UNLESS;
}

int promql_agg_has_param(enum promql_agg op)
{
    return op == AGG_TOPK || op == AGG_BOTTOMK || op == AGG_COUNT_VALUES || op == AGG_QUANTILE;
}

const char *promql_value_type_name(enum promql_value_type t)
{
    switch (t) {
    case PROMQL_SCALAR: return "scalar";
    case PROMQL_VECTOR: return "vector";
    case PROMQL_MATRIX: return "matrix";
    case PROMQL_STRING: return "string";
    default: return "none";
    }
}

const char *promql_value_type_doc(enum promql_value_type t)
{
    switch (t) {
    case PROMQL_VECTOR: return "instant vector";
    case PROMQL_MATRIX: return "range vector";
    default: return promql_value_type_name(t);
    }
}

enum promql_value_type promql_expr_type(const struct promql_expr *x)
{
    switch (x->kind) {
    case NODE_NUMBER: return PROMQL_SCALAR;
    case NODE_STRING: return PROMQL_STRING;
    case NODE_VECTOR_SEL: return PROMQL_VECTOR;
    case NODE_MATRIX_SEL:
    case NODE_SUBQUERY: return PROMQL_MATRIX;
    case NODE_PAREN: return promql_expr_type(x->u.paren);
    case NODE_UNARY: return promql_expr_type(x->u.unary.x);
    case NODE_BINARY:
        if (promql_expr_type(x->u.bin.l) == PROMQL_SCALAR &&
            promql_expr_type(x->u.bin.r) == PROMQL_SCALAR)
            return PROMQL_SCALAR;
        return PROMQL_VECTOR;
    case NODE_AGG: return PROMQL_VECTOR;
    case NODE_CALL: return x->u.call.f->ret;
    }
    return PROMQL_NONE;
}

/* ---- printer ---- */

struct sb {
    struct arena *a;
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = arena_realloc(b->a, b->p, b->cap, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Go's %q: printable ASCII and valid UTF-8 as is, the rest escaped. */
static void sb_quote(struct sb *b, const char *s, size_t n)
{
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        char esc[8];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\a': e = "\\a"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\v': e = "\\v"; break;
        default: break;
        }
        if (e) {
            sb_puts(b, e);
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            (void) snprintf(esc, sizeof esc, "\\x%02x", c);
            sb_puts(b, esc);
            continue;
        }
        if (c < 0x80) {
            sb_put(b, (const char *) &c, 1);
            continue;
        }
        /* Multi-byte: copy a well-formed sequence, escape a stray byte. */
        size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        int ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char) s[i + k] & 0xc0) == 0x80;
        if (ok) {
            sb_put(b, s + i, len);
            i += len - 1;
        } else {
            (void) snprintf(esc, sizeof esc, "\\x%02x", c);
            sb_puts(b, esc);
        }
    }
    sb_put(b, "\"", 1);
}

char *promql_quote(struct arena *a, const char *s, size_t n)
{
    struct sb b = {.a = a};
    sb_quote(&b, s, n);
    return b.oom ? NULL : b.p;
}

static void sb_duration(struct sb *b, int64_t ms)
{
    char d[64];
    size_t n = duration_format(d, sizeof d, ms);
    sb_put(b, d, n);
}

static void sb_labels(struct sb *b, const char **v, size_t n)
{
    sb_puts(b, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_puts(b, ", ");
        sb_puts(b, v[i]);
    }
    sb_puts(b, ")");
}

static void sb_mod(struct sb *b, const struct promql_mod *m)
{
    char t[64];
    if (m->at == AT_TIME) {
        (void) snprintf(t, sizeof t, " @ %.3f", (double) m->at_ms / 1000.0);
        sb_puts(b, t);
    } else if (m->at == AT_START) {
        sb_puts(b, " @ start()");
    } else if (m->at == AT_END) {
        sb_puts(b, " @ end()");
    }
    if (m->has_offset && m->offset_ms != 0) {
        sb_puts(b, m->offset_ms < 0 ? " offset -" : " offset ");
        sb_duration(b, m->offset_ms < 0 ? -m->offset_ms : m->offset_ms);
    }
}

static void sb_selector(struct sb *b, const struct promql_expr *x)
{
    size_t first = 0;
    if (x->u.sel.name) {
        sb_puts(b, x->u.sel.name);
        first = 1;
    }
    if (x->u.sel.n_ms > first) {
        sb_puts(b, "{");
        for (size_t i = first; i < x->u.sel.n_ms; i++) {
            const struct matcher *m = &x->u.sel.ms[i];
            if (i > first)
                sb_puts(b, ",");
            sb_puts(b, m->name);
            sb_puts(b, matcher_op(m->type));
            sb_quote(b, m->value, strlen(m->value));
        }
        sb_puts(b, "}");
    }
}

static void print(struct sb *b, const struct promql_expr *x)
{
    char num[NUM_FLOAT_MAX];
    switch (x->kind) {
    case NODE_NUMBER:
        num_format(num, x->u.num, 'g');
        sb_puts(b, num);
        return;
    case NODE_STRING: sb_quote(b, x->u.str, strlen(x->u.str)); return;
    case NODE_VECTOR_SEL:
        sb_selector(b, x);
        sb_mod(b, &x->u.sel.mod);
        return;
    case NODE_MATRIX_SEL:
        sb_selector(b, x->u.matrix.vs);
        sb_puts(b, "[");
        sb_duration(b, x->u.matrix.range_ms);
        sb_puts(b, "]");
        sb_mod(b, &x->u.matrix.vs->u.sel.mod);
        return;
    case NODE_SUBQUERY:
        print(b, x->u.sub.x);
        sb_puts(b, "[");
        sb_duration(b, x->u.sub.range_ms);
        sb_puts(b, ":");
        if (x->u.sub.step_ms)
            sb_duration(b, x->u.sub.step_ms);
        sb_puts(b, "]");
        sb_mod(b, &x->u.sub.mod);
        return;
    case NODE_PAREN:
        sb_puts(b, "(");
        print(b, x->u.paren);
        sb_puts(b, ")");
        return;
    case NODE_UNARY:
        sb_puts(b, promql_op_str(x->u.unary.op));
        print(b, x->u.unary.x);
        return;
    case NODE_BINARY: {
        const struct promql_matching *vm = x->u.bin.vm;
        const struct promql_expr *l = x->u.bin.l;
        /* A signed number left of '^' would re-parse as a unary sign over the power. */
        int wrap = x->u.bin.op == OP_POW && l->kind == NODE_NUMBER &&
                   (signbit(l->u.num) || isinf(l->u.num));
        if (wrap)
            sb_puts(b, "(");
        print(b, l);
        if (wrap)
            sb_puts(b, ")");
        sb_puts(b, " ");
        sb_puts(b, promql_op_str(x->u.bin.op));
        if (x->u.bin.return_bool)
            sb_puts(b, " bool");
        if (vm && (vm->n_labels > 0 || vm->on || vm->card == CARD_MANY_TO_ONE ||
                   vm->card == CARD_ONE_TO_MANY)) {
            sb_puts(b, vm->on ? " on " : " ignoring ");
            sb_labels(b, vm->labels, vm->n_labels);
            if (vm->card == CARD_MANY_TO_ONE || vm->card == CARD_ONE_TO_MANY) {
                sb_puts(b, vm->card == CARD_MANY_TO_ONE ? " group_left " : " group_right ");
                sb_labels(b, vm->include, vm->n_include);
            }
        }
        sb_puts(b, " ");
        print(b, x->u.bin.r);
        return;
    }
    case NODE_AGG:
        sb_puts(b, promql_agg_str(x->u.agg.op));
        if (x->u.agg.without || x->u.agg.n_grouping > 0) {
            sb_puts(b, x->u.agg.without ? " without " : " by ");
            sb_labels(b, x->u.agg.grouping, x->u.agg.n_grouping);
            sb_puts(b, " ");
        }
        sb_puts(b, "(");
        if (x->u.agg.param) {
            print(b, x->u.agg.param);
            sb_puts(b, ", ");
        }
        print(b, x->u.agg.x);
        sb_puts(b, ")");
        return;
    case NODE_CALL:
        sb_puts(b, x->u.call.f->name);
        sb_puts(b, "(");
        for (size_t i = 0; i < x->u.call.n_args; i++) {
            if (i)
                sb_puts(b, ", ");
            print(b, x->u.call.args[i]);
        }
        sb_puts(b, ")");
        return;
    }
}

char *promql_format(struct arena *a, const struct promql_expr *x)
{
    struct sb b = {.a = a};
    print(&b, x);
    if (!b.p && !b.oom)
        sb_put(&b, "", 0);
    return b.oom ? NULL : b.p;
}

/* ---- the read-only view for parse_query (Prometheus' web/api/v1 translateAST names) ---- */

static void view_selector(const struct promql_expr *vs, struct promql_node_view *v)
{
    v->name = vs->u.sel.name ? vs->u.sel.name : "";
    v->matchers = vs->u.sel.ms;
    v->n_matchers = vs->u.sel.n_ms;
    v->name_matcher_first = vs->u.sel.name != NULL;
}

static void view_mod(const struct promql_mod *m, struct promql_node_view *v)
{
    v->offset_ms = m->offset_ms;
    v->has_at = m->at == AT_TIME;
    v->at_ms = m->at_ms;
    v->start_or_end = m->at == AT_START ? "start" : m->at == AT_END ? "end" : NULL;
}

void promql_expr_view(const struct promql_expr *x, struct promql_node_view *ret)
{
    static const char *const card[] = {
        [CARD_ONE_TO_ONE] = "one-to-one",
        [CARD_MANY_TO_ONE] = "many-to-one",
        [CARD_ONE_TO_MANY] = "one-to-many",
        [CARD_MANY_TO_MANY] = "many-to-many",
    };
    struct promql_node_view v = {0};
    switch (x->kind) {
    case NODE_NUMBER:
        v.type = "numberLiteral";
        v.num = x->u.num;
        break;
    case NODE_STRING:
        v.type = "stringLiteral";
        v.str = x->u.str;
        break;
    case NODE_VECTOR_SEL:
        v.type = "vectorSelector";
        view_selector(x, &v);
        view_mod(&x->u.sel.mod, &v);
        break;
    case NODE_MATRIX_SEL:
        v.type = "matrixSelector";
        view_selector(x->u.matrix.vs, &v);
        view_mod(&x->u.matrix.vs->u.sel.mod, &v);
        v.range_ms = x->u.matrix.range_ms;
        break;
    case NODE_SUBQUERY:
        v.type = "subquery";
        v.expr = x->u.sub.x;
        v.range_ms = x->u.sub.range_ms;
        v.step_ms = x->u.sub.step_ms;
        view_mod(&x->u.sub.mod, &v);
        break;
    case NODE_PAREN:
        v.type = "parenExpr";
        v.expr = x->u.paren;
        break;
    case NODE_UNARY:
        v.type = "unaryExpr";
        v.op = promql_op_str(x->u.unary.op);
        v.expr = x->u.unary.x;
        break;
    case NODE_BINARY: {
        const struct promql_matching *vm = x->u.bin.vm;
        v.type = "binaryExpr";
        v.op = promql_op_str(x->u.bin.op);
        v.lhs = x->u.bin.l;
        v.rhs = x->u.bin.r;
        v.return_bool = x->u.bin.return_bool;
        if (vm) {
            v.has_matching = 1;
            v.card = (unsigned) vm->card < ARRAY_LEN(card) ? card[vm->card] : "?";
            v.on = vm->on;
            v.labels = vm->labels;
            v.n_labels = vm->n_labels;
            v.include = vm->include;
            v.n_include = vm->n_include;
        }
        break;
    }
    case NODE_AGG:
        v.type = "aggregation";
        v.op = promql_agg_str(x->u.agg.op);
        v.expr = x->u.agg.x;
        v.param = x->u.agg.param;
        v.grouping = x->u.agg.grouping;
        v.n_grouping = x->u.agg.n_grouping;
        v.without = x->u.agg.without;
        break;
    case NODE_CALL:
        v.type = "call";
        v.func = x->u.call.f->name;
        v.arg_types = x->u.call.f->args;
        v.n_arg_types = (size_t) x->u.call.f->n_args;
        v.variadic = x->u.call.f->variadic;
        v.return_type = x->u.call.f->ret;
        v.args = x->u.call.args;
        v.n_args = x->u.call.n_args;
        break;
    }
    *ret = v;
}

/* ---- type checking (Prometheus' checkAST), run after a successful parse ---- */

struct checker {
    const char *src;
    size_t n;
    struct err *e;
};

static int fail_at(struct checker *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct checker *p, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = promql_parse_verr(p->e, p->src, p->n, pos, fmt, ap);
    va_end(ap);
    return r;
}

static int check(struct checker *p, struct promql_expr *x);

static int expect_type(struct checker *p, struct promql_expr *x, enum promql_value_type want,
                       const char *ctx)
{
    enum promql_value_type got = promql_expr_type(x);
    if (got != want)
        return fail_at(p, x->pos, "expected type %s in %s, got %s", promql_value_type_doc(want),
                       ctx, promql_value_type_doc(got));
    return 0;
}

static int check_binary(struct checker *p, struct promql_expr *x)
{
    enum promql_value_type lt = promql_expr_type(x->u.bin.l);
    enum promql_value_type rt = promql_expr_type(x->u.bin.r);
    enum promql_op op = x->u.bin.op;
    struct promql_matching *vm = x->u.bin.vm;
    uint32_t oppos = x->u.bin.l->end;
    while (oppos < p->n && (p->src[oppos] == ' ' || p->src[oppos] == '\t' ||
                            p->src[oppos] == '\n' || p->src[oppos] == ')'))
        oppos++;
    if (x->u.bin.return_bool && !promql_op_is_comparison(op))
        return fail_at(p, oppos, "bool modifier can only be used on comparison operators");
    if (promql_op_is_comparison(op) && !x->u.bin.return_bool && lt == PROMQL_SCALAR &&
        rt == PROMQL_SCALAR)
        return fail_at(p, oppos, "comparisons between scalars must use BOOL modifier");
    if (promql_op_is_set(op) && vm->card == CARD_ONE_TO_ONE)
        vm->card = CARD_MANY_TO_MANY;
    for (size_t i = 0; vm->on && i < vm->n_labels; i++)
        for (size_t j = 0; j < vm->n_include; j++)
            if (strcmp(vm->labels[i], vm->include[j]) == 0)
                return fail_at(p, oppos,
                               "label \"%s\" must not occur in ON and GROUP clause at once",
                               vm->labels[i]);
    if (lt != PROMQL_SCALAR && lt != PROMQL_VECTOR)
        return fail_at(p, x->u.bin.l->pos,
                       "binary expression must contain only scalar and instant vector types");
    if (rt != PROMQL_SCALAR && rt != PROMQL_VECTOR)
        return fail_at(p, x->u.bin.r->pos,
                       "binary expression must contain only scalar and instant vector types");
    if (lt != PROMQL_VECTOR || rt != PROMQL_VECTOR) {
        if (vm->n_labels > 0)
            return fail_at(p, x->pos, "vector matching only allowed between instant vectors");
        x->u.bin.vm = NULL;
    } else if (promql_op_is_set(op)) {
        if (vm->card == CARD_ONE_TO_MANY || vm->card == CARD_MANY_TO_ONE)
            return fail_at(p, x->pos, "no grouping allowed for \"%s\" operation",
                           promql_op_str(op));
    }
    if ((lt == PROMQL_SCALAR || rt == PROMQL_SCALAR) && promql_op_is_set(op))
        return fail_at(p, x->pos, "set operator \"%s\" not allowed in binary scalar expression",
                       promql_op_str(op));
    return 0;
}

static int check_call(struct checker *p, struct promql_expr *x)
{
    const struct promql_func *f = x->u.call.f;
    int na = (int) x->u.call.n_args;
    if (f->variadic == 0) {
        if (na != f->n_args)
            return fail_at(p, x->pos, "expected %d argument(s) in call to \"%s\", got %d",
                           f->n_args, f->name, na);
    } else {
        int min = f->n_args - 1;
        if (na < min)
            return fail_at(p, x->pos, "expected at least %d argument(s) in call to \"%s\", got %d",
                           min, f->name, na);
        if (f->variadic > 0 && na > min + f->variadic)
            return fail_at(p, x->pos, "expected at most %d argument(s) in call to \"%s\", got %d",
                           min + f->variadic, f->name, na);
    }
    char ctx[80];
    (void) snprintf(ctx, sizeof ctx, "call to function \"%s\"", f->name);
    for (int i = 0; i < na; i++) {
        int ti = i < f->n_args ? i : f->n_args - 1;
        if (check(p, x->u.call.args[i]) < 0 ||
            expect_type(p, x->u.call.args[i], f->args[ti], ctx) < 0)
            return ERR_PARSE;
    }
    return 0;
}

static int check_selector(struct checker *p, struct promql_expr *x)
{
    int non_empty = 0;
    for (size_t i = 0; i < x->u.sel.n_ms; i++) {
        const struct matcher *m = &x->u.sel.ms[i];
        if (x->u.sel.name && i > 0 && strcmp(m->name, LABEL_METRIC_NAME) == 0)
            return fail_at(p, x->pos, "metric name must not be set twice: \"%s\" or \"%s\"",
                           x->u.sel.name, m->value);
        non_empty |= !matcher_matches_empty(m);
    }
    if (!non_empty)
        return fail_at(p, x->pos, "vector selector must contain at least one non-empty matcher");
    return 0;
}

static int check(struct checker *p, struct promql_expr *x)
{
    switch (x->kind) {
    case NODE_NUMBER:
    case NODE_STRING: return 0;
    case NODE_VECTOR_SEL: return check_selector(p, x);
    case NODE_MATRIX_SEL: return check_selector(p, x->u.matrix.vs);
    case NODE_SUBQUERY:
        if (check(p, x->u.sub.x) < 0)
            return ERR_PARSE;
        if (promql_expr_type(x->u.sub.x) != PROMQL_VECTOR)
            return fail_at(p, x->pos, "subquery is only allowed on instant vector, got %s instead",
                           promql_value_type_name(promql_expr_type(x->u.sub.x)));
        return 0;
    case NODE_PAREN: return check(p, x->u.paren);
    case NODE_UNARY: {
        if (check(p, x->u.unary.x) < 0)
            return ERR_PARSE;
        enum promql_value_type t = promql_expr_type(x->u.unary.x);
        if (t != PROMQL_SCALAR && t != PROMQL_VECTOR)
            return fail_at(p, x->pos,
                           "unary expression only allowed on expressions of type scalar "
                           "or instant vector, got \"%s\"",
                           promql_value_type_doc(t));
        return 0;
    }
    case NODE_BINARY:
        if (check(p, x->u.bin.l) < 0 || check(p, x->u.bin.r) < 0)
            return ERR_PARSE;
        return check_binary(p, x);
    case NODE_AGG:
        if (x->u.agg.param && check(p, x->u.agg.param) < 0)
            return ERR_PARSE;
        if (check(p, x->u.agg.x) < 0 ||
            expect_type(p, x->u.agg.x, PROMQL_VECTOR, "aggregation expression") < 0)
            return ERR_PARSE;
        if (x->u.agg.op == AGG_TOPK || x->u.agg.op == AGG_BOTTOMK || x->u.agg.op == AGG_QUANTILE)
            return expect_type(p, x->u.agg.param, PROMQL_SCALAR, "aggregation parameter");
        if (x->u.agg.op == AGG_COUNT_VALUES)
            return expect_type(p, x->u.agg.param, PROMQL_STRING, "aggregation parameter");
        return 0;
    case NODE_CALL: return check_call(p, x);
    }
    return 0;
}

int promql_ast_check(const char *src, size_t n, struct promql_expr *x, struct err *e)
{
    struct checker c = {src, n, e};
    return check(&c, x);
}

int promql_parse_verr(struct err *e, const char *src, size_t n, size_t pos, const char *fmt,
                      va_list ap)
{
    unsigned line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos && i < n; i++)
        if (src[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    char msg[200];
    (void) vsnprintf(msg, sizeof msg, fmt, ap);
    return err_set(e, ERR_PARSE, "%u:%zu: parse error: %s", line, pos - line_start + 1, msg);
}
