/* promql/parser.c — Pratt parser from tokens to the AST (promql/ast.h). Syntax errors stop at the
 * first; type errors are found afterwards by promql_ast_check() (ast.c), as Prometheus' checkAST
 * does, so messages and their "line:col" positions match Prometheus' parser. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/ast.h"
#include "promql/lexer.h"
#include "tsdb/base/base.h"

/* Nesting bound: deeper queries are refused instead of exhausting the stack. */
#define MAX_DEPTH 256

struct parser {
    struct arena *a;
    struct promql_lexer lx;
    struct promql_token tok; /* lookahead */
    const char *src;
    size_t n;
    struct err *e;
    int failed;
    int depth;
};

typedef struct promql_expr expr;

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return ERR_PARSE;
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    int r = promql_parse_verr(p->e, p->src, p->n, pos, fmt, ap);
    va_end(ap);
    return r;
}

static void advance(struct parser *p)
{
    promql_lexer_next(&p->lx, &p->tok);
}

/* Prometheus' Item.desc(): how "unexpected X" names a token. */
static const char *tok_desc(struct parser *p, const struct promql_token *t, char *buf, size_t cap)
{
    const char *s = p->src + t->pos;
    int len = (int) t->len;
    switch (t->type) {
    case TOK_EOF: return "end of input";
    case TOK_ERROR: return p->lx.err;
    case TOK_IDENT: (void) snprintf(buf, cap, "identifier \"%.*s\"", len, s); break;
    case TOK_METRIC_IDENT: (void) snprintf(buf, cap, "metric identifier \"%.*s\"", len, s); break;
    case TOK_NUMBER: (void) snprintf(buf, cap, "number \"%.*s\"", len, s); break;
    case TOK_DURATION: (void) snprintf(buf, cap, "duration \"%.*s\"", len, s); break;
    case TOK_STRING:
        if (len > 10)
            (void) snprintf(buf, cap, "string %.*s...", 10, s);
        else
            (void) snprintf(buf, cap, "string %.*s", len, s);
        break;
    case TOK_OP: (void) snprintf(buf, cap, "<op:%.*s>", len, s); break;
    case TOK_AGG: (void) snprintf(buf, cap, "<aggr:%.*s>", len, s); break;
    case TOK_KEYWORD: (void) snprintf(buf, cap, "<%.*s>", len, s); break;
    case TOK_AT: (void) snprintf(buf, cap, "<op:@>"); break;
    default: (void) snprintf(buf, cap, "\"%.*s\"", len, s); break;
    }
    return buf;
}

static int unexpected(struct parser *p, const char *context, const char *expected)
{
    char buf[96];
    if (p->tok.type == TOK_ERROR)
        return fail_at(p, p->tok.pos, "%s", p->lx.err);
    return fail_at(p, p->tok.pos, "unexpected %s%s%s%s%s", tok_desc(p, &p->tok, buf, sizeof buf),
                   context ? " in " : "", context ? context : "", expected ? ", expected " : "",
                   expected ? expected : "");
}

static expr *node(struct parser *p, enum promql_node kind, uint32_t pos, uint32_t end)
{
    expr *x = arena_calloc(p->a, 1, sizeof *x);
    if (!x) {
        (void) fail_at(p, pos, "out of memory");
        return NULL;
    }
    x->kind = kind;
    x->pos = pos;
    x->end = end;
    return x;
}

static char *tok_str(struct parser *p, const struct promql_token *t)
{
    char *s = arena_strndup(p->a, p->src + t->pos, t->len);
    if (!s)
        (void) fail_at(p, t->pos, "out of memory");
    return s;
}

static int parse_duration_tok(struct parser *p, int64_t *ret)
{
    if (p->tok.type != TOK_DURATION) {
        if (p->tok.type == TOK_NUMBER)
            return fail_at(p, p->tok.pos, "missing unit character in duration");
        return unexpected(p, NULL, "duration");
    }
    if (duration_parse(p->src + p->tok.pos, p->tok.len, ret) < 0)
        return fail_at(p, p->tok.pos, "not a valid duration string: \"%.*s\"", (int) p->tok.len,
                       p->src + p->tok.pos);
    advance(p);
    return 0;
}

static int parse_number_text(const char *s, size_t n, double *ret)
{
    /* Integers are read with a C-style base prefix first (0x1f, 017), as Go's ParseInt(s, 0). */
    char buf[64];
    if (n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = 0;
        char *end;
        int is_int = n > 0;
        for (size_t i = 0; i < n; i++)
            if (!((buf[i] >= '0' && buf[i] <= '9') ||
                  (i == 1 && (buf[i] == 'x' || buf[i] == 'X')) ||
                  (n > 2 && (buf[1] == 'x' || buf[1] == 'X') && strchr("abcdefABCDEF", buf[i]))))
                is_int = 0;
        if (is_int) {
            errno = 0;
            long long v = strtoll(buf, &end, 0);
            if (errno == 0 && *end == 0) {
                *ret = (double) v;
                return 0;
            }
        }
    }
    return num_parse_float(s, n, ret);
}

static expr *parse_expr(struct parser *p, int min_prec);

static int op_prec(enum promql_op op)
{
    switch (op) {
    case OP_OR: return 1;
    case OP_AND:
    case OP_UNLESS: return 2;
    case OP_EQL:
    case OP_NEQ:
    case OP_LTE:
    case OP_LSS:
    case OP_GTE:
    case OP_GTR: return 3;
    case OP_ADD:
    case OP_SUB: return 4;
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
    case OP_ATAN2: return 5;
    case OP_POW: return 6;
    default: return 0;
    }
}

/* `( label, label, )` for by/without/on/ignoring/group_x; keywords are valid label names. */
static int parse_labels(struct parser *p, const char ***ret, size_t *ret_n, const char *ctx)
{
    if (p->tok.type != TOK_LPAREN)
        return unexpected(p, ctx, "\"(\"");
    advance(p);
    const char **v = NULL;
    size_t n = 0, cap = 0;
    while (p->tok.type != TOK_RPAREN) {
        if (p->tok.type != TOK_IDENT && p->tok.type != TOK_KEYWORD && p->tok.type != TOK_AGG &&
            !(p->tok.type == TOK_OP && (p->tok.sub == OP_AND || p->tok.sub == OP_OR ||
                                        p->tok.sub == OP_UNLESS || p->tok.sub == OP_ATAN2)))
            return unexpected(p, ctx, "label");
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            const char **nv = arena_realloc(p->a, v, cap * sizeof *v, nc * sizeof *v);
            if (!nv)
                return fail_at(p, p->tok.pos, "out of memory");
            v = nv;
            cap = nc;
        }
        if (!(v[n++] = tok_str(p, &p->tok)))
            return ERR_PARSE;
        advance(p);
        if (p->tok.type == TOK_COMMA)
            advance(p);
        else if (p->tok.type != TOK_RPAREN)
            return unexpected(p, ctx, "\",\" or \")\"");
    }
    advance(p);
    *ret = v;
    *ret_n = n;
    return 0;
}

static int add_matcher(struct parser *p, expr *vs, enum matcher_type type, const char *name,
                       const char *value, uint32_t pos)
{
    struct matcher *nm = arena_realloc(p->a, vs->u.sel.ms, vs->u.sel.n_ms * sizeof *nm,
                                       (vs->u.sel.n_ms + 1) * sizeof *nm);
    if (!nm)
        return fail_at(p, pos, "out of memory");
    vs->u.sel.ms = nm;
    struct err me = {0};
    if (matcher_init(p->a, &nm[vs->u.sel.n_ms], type, name, value, &me) < 0)
        return fail_at(p, pos, "%s", me.msg);
    vs->u.sel.n_ms++;
    return 0;
}

static int parse_matchers(struct parser *p, expr *vs)
{
    advance(p); /* { */
    for (;;) {
        if (p->tok.type == TOK_RBRACE)
            break;
        if (p->tok.type != TOK_IDENT)
            return unexpected(p, "label matching", "identifier or \"}\"");
        uint32_t mpos = p->tok.pos;
        char *name = tok_str(p, &p->tok);
        if (!name)
            return ERR_PARSE;
        advance(p);
        enum matcher_type mt;
        switch (p->tok.type) {
        case TOK_ASSIGN: mt = MATCH_EQ; break;
        case TOK_EQL_REGEX: mt = MATCH_RE; break;
        case TOK_NEQ_REGEX: mt = MATCH_NRE; break;
        case TOK_OP:
            if (p->tok.sub == OP_NEQ) {
                mt = MATCH_NE;
                break;
            }
            return unexpected(p, "label matching", "label matching operator");
        default: return unexpected(p, "label matching", "label matching operator");
        }
        advance(p);
        if (p->tok.type != TOK_STRING)
            return unexpected(p, "label matching", "string");
        char eb[96];
        char *val = promql_lexer_unquote(p->a, p->src + p->tok.pos, p->tok.len, eb, sizeof eb);
        if (!val)
            return fail_at(p, p->tok.pos, "%s", eb);
        advance(p);
        if (add_matcher(p, vs, mt, name, val, mpos) < 0)
            return ERR_PARSE;
        if (p->tok.type == TOK_COMMA)
            advance(p);
        else if (p->tok.type != TOK_RBRACE)
            return unexpected(p, "label matching", "\",\" or \"}\"");
    }
    vs->end = p->tok.pos + 1;
    advance(p);
    return 0;
}

static expr *parse_selector(struct parser *p)
{
    expr *vs = node(p, NODE_VECTOR_SEL, p->tok.pos, p->tok.pos + p->tok.len);
    if (!vs)
        return NULL;
    if (p->tok.type != TOK_LBRACE) {
        const char *name = tok_str(p, &p->tok);
        if (!name)
            return NULL;
        vs->u.sel.name = name;
        uint32_t pos = p->tok.pos;
        advance(p);
        if (add_matcher(p, vs, MATCH_EQ, LABEL_METRIC_NAME, name, pos) < 0)
            return NULL;
    }
    if (p->tok.type == TOK_LBRACE && parse_matchers(p, vs) < 0)
        return NULL;
    return vs;
}

static expr *parse_call(struct parser *p, const struct promql_func *f)
{
    expr *x = node(p, NODE_CALL, p->tok.pos, 0);
    if (!x)
        return NULL;
    x->u.call.f = f;
    advance(p); /* name */
    advance(p); /* ( */
    size_t cap = 0;
    while (p->tok.type != TOK_RPAREN) {
        expr *arg = parse_expr(p, 0);
        if (!arg)
            return NULL;
        if (x->u.call.n_args == cap) {
            size_t nc = cap ? cap * 2 : 4;
            expr **nv = arena_realloc(p->a, x->u.call.args, cap * sizeof *nv, nc * sizeof *nv);
            if (!nv) {
                (void) fail_at(p, arg->pos, "out of memory");
                return NULL;
            }
            x->u.call.args = nv;
            cap = nc;
        }
        x->u.call.args[x->u.call.n_args++] = arg;
        if (p->tok.type == TOK_COMMA)
            advance(p);
        else if (p->tok.type != TOK_RPAREN) {
            (void) unexpected(p, "call to function", "\",\" or \")\"");
            return NULL;
        }
    }
    x->end = p->tok.pos + 1;
    advance(p);
    return x;
}

static int parse_grouping(struct parser *p, expr *x)
{
    x->u.agg.without = p->tok.sub == KW_WITHOUT;
    advance(p);
    return parse_labels(p, &x->u.agg.grouping, &x->u.agg.n_grouping, "grouping opts");
}

static expr *parse_aggregation(struct parser *p)
{
    expr *x = node(p, NODE_AGG, p->tok.pos, 0);
    if (!x)
        return NULL;
    x->u.agg.op = (enum promql_agg) p->tok.sub;
    advance(p);
    int grouped = 0;
    if (p->tok.type == TOK_KEYWORD && (p->tok.sub == KW_BY || p->tok.sub == KW_WITHOUT)) {
        if (parse_grouping(p, x) < 0)
            return NULL;
        grouped = 1;
    }
    if (p->tok.type != TOK_LPAREN) {
        (void) unexpected(p, "aggregation", "\"(\"");
        return NULL;
    }
    uint32_t lparen = p->tok.pos;
    advance(p);
    expr *args[2];
    size_t n = 0;
    while (p->tok.type != TOK_RPAREN) {
        expr *arg = parse_expr(p, 0);
        if (!arg)
            return NULL;
        if (n < 2)
            args[n] = arg;
        n++;
        if (p->tok.type == TOK_COMMA)
            advance(p);
        else if (p->tok.type != TOK_RPAREN) {
            (void) unexpected(p, "aggregation", "\",\" or \")\"");
            return NULL;
        }
    }
    x->end = p->tok.pos + 1;
    advance(p);
    if (n == 0) {
        (void) fail_at(p, lparen, "no arguments for aggregate expression provided");
        return NULL;
    }
    size_t want = promql_agg_has_param(x->u.agg.op) ? 2 : 1;
    if (n != want) {
        (void) fail_at(p, x->pos,
                       "wrong number of arguments for aggregate expression provided, expected %zu, "
                       "got %zu",
                       want, n);
        return NULL;
    }
    x->u.agg.x = args[want - 1];
    x->u.agg.param = want == 2 ? args[0] : NULL;
    if (!grouped && p->tok.type == TOK_KEYWORD &&
        (p->tok.sub == KW_BY || p->tok.sub == KW_WITHOUT)) {
        if (parse_grouping(p, x) < 0)
            return NULL;
        x->end = p->tok.pos;
    }
    return x;
}

static expr *parse_primary(struct parser *p)
{
    struct promql_token t = p->tok;
    switch (t.type) {
    case TOK_NUMBER: {
        expr *x = node(p, NODE_NUMBER, t.pos, t.pos + t.len);
        if (!x)
            return NULL;
        if (parse_number_text(p->src + t.pos, t.len, &x->u.num) < 0) {
            (void) fail_at(p, t.pos, "error parsing number: %.*s", (int) t.len, p->src + t.pos);
            return NULL;
        }
        advance(p);
        return x;
    }
    case TOK_STRING: {
        expr *x = node(p, NODE_STRING, t.pos, t.pos + t.len);
        if (!x)
            return NULL;
        char eb[96];
        if (!(x->u.str = promql_lexer_unquote(p->a, p->src + t.pos, t.len, eb, sizeof eb))) {
            (void) fail_at(p, t.pos, "%s", eb);
            return NULL;
        }
        advance(p);
        return x;
    }
    case TOK_LPAREN: {
        advance(p);
        expr *in = parse_expr(p, 0);
        if (!in)
            return NULL;
        if (p->tok.type == TOK_EOF) {
            (void) fail_at(p, p->tok.pos, "unclosed left parenthesis");
            return NULL;
        }
        if (p->tok.type != TOK_RPAREN) {
            (void) unexpected(p, "paren expression", "\")\"");
            return NULL;
        }
        expr *x = node(p, NODE_PAREN, t.pos, p->tok.pos + 1);
        if (!x)
            return NULL;
        x->u.paren = in;
        advance(p);
        return x;
    }
    case TOK_LBRACE: return parse_selector(p);
    case TOK_IDENT: {
        struct promql_lexer save = p->lx;
        struct promql_token next;
        promql_lexer_next(&p->lx, &next);
        p->lx = save;
        if (next.type == TOK_LPAREN) {
            const struct promql_func *f = promql_func_lookup(p->src + t.pos, t.len);
            if (!f) {
                (void) fail_at(p, t.pos, "unknown function with name \"%.*s\"", (int) t.len,
                               p->src + t.pos);
                return NULL;
            }
            return parse_call(p, f);
        }
        return parse_selector(p);
    }
    case TOK_AGG: {
        struct promql_lexer save = p->lx;
        struct promql_token next;
        promql_lexer_next(&p->lx, &next);
        p->lx = save;
        if (next.type == TOK_LPAREN ||
            (next.type == TOK_KEYWORD && (next.sub == KW_BY || next.sub == KW_WITHOUT)))
            return parse_aggregation(p);
        return parse_selector(p);
    }
    case TOK_METRIC_IDENT: return parse_selector(p);
    case TOK_KEYWORD:
        /* Prometheus' metric_identifier admits only these keywords as metric names. */
        if (t.sub == KW_BY || t.sub == KW_WITHOUT || t.sub == KW_OFFSET || t.sub == KW_START ||
            t.sub == KW_END)
            return parse_selector(p);
        break;
    case TOK_OP:
        if (t.sub == OP_AND || t.sub == OP_OR || t.sub == OP_UNLESS)
            return parse_selector(p);
        break;
    default: break;
    }
    (void) unexpected(p, NULL, NULL);
    return NULL;
}

static struct promql_mod *mod_of(expr *x)
{
    switch (x->kind) {
    case NODE_VECTOR_SEL: return &x->u.sel.mod;
    case NODE_MATRIX_SEL: return &x->u.matrix.vs->u.sel.mod;
    case NODE_SUBQUERY: return &x->u.sub.mod;
    default: return NULL;
    }
}

static expr *parse_range(struct parser *p, expr *x)
{
    uint32_t lb = p->tok.pos;
    advance(p);
    int64_t range;
    if (parse_duration_tok(p, &range) < 0)
        return NULL;
    if (p->tok.type == TOK_RBRACKET) {
        if (x->kind != NODE_VECTOR_SEL) {
            (void) fail_at(p, x->pos, "ranges only allowed for vector selectors");
            return NULL;
        }
        if (x->u.sel.mod.has_offset) {
            (void) fail_at(p, x->pos, "no offset modifiers allowed before range");
            return NULL;
        }
        if (x->u.sel.mod.at != AT_NONE) {
            (void) fail_at(p, x->pos, "no @ modifiers allowed before range");
            return NULL;
        }
        expr *m = node(p, NODE_MATRIX_SEL, x->pos, p->tok.pos + 1);
        if (!m)
            return NULL;
        m->u.matrix.vs = x;
        m->u.matrix.range_ms = range;
        advance(p);
        return m;
    }
    if (p->tok.type != TOK_COLON) {
        (void) unexpected(p, "subquery selector", "\":\" or \"]\"");
        return NULL;
    }
    advance(p);
    int64_t step = 0;
    if (p->tok.type != TOK_RBRACKET && parse_duration_tok(p, &step) < 0)
        return NULL;
    if (p->tok.type != TOK_RBRACKET) {
        (void) unexpected(p, "subquery selector", "\"]\"");
        return NULL;
    }
    (void) lb;
    expr *s = node(p, NODE_SUBQUERY, x->pos, p->tok.pos + 1);
    if (!s)
        return NULL;
    s->u.sub.x = x;
    s->u.sub.range_ms = range;
    s->u.sub.step_ms = step;
    advance(p);
    return s;
}

static expr *parse_offset(struct parser *p, expr *x)
{
    struct promql_mod *m = mod_of(x);
    if (!m) {
        (void) fail_at(p, x->pos,
                       "offset modifier must be preceded by an instant vector selector "
                       "or range vector selector or a subquery");
        return NULL;
    }
    if (m->has_offset) {
        (void) fail_at(p, x->pos, "offset may not be set multiple times");
        return NULL;
    }
    advance(p);
    int neg = 0;
    if (p->tok.type == TOK_OP && (p->tok.sub == OP_SUB || p->tok.sub == OP_ADD)) {
        neg = p->tok.sub == OP_SUB;
        advance(p);
    }
    uint32_t end = p->tok.pos + p->tok.len;
    int64_t d;
    if (parse_duration_tok(p, &d) < 0)
        return NULL;
    m->offset_ms = neg ? -d : d;
    m->has_offset = 1;
    x->end = end;
    return x;
}

static expr *parse_at(struct parser *p, expr *x)
{
    struct promql_mod *m = mod_of(x);
    if (!m) {
        (void) fail_at(p, x->pos,
                       "@ modifier must be preceded by an instant vector selector or "
                       "range vector selector or a subquery");
        return NULL;
    }
    if (m->at != AT_NONE) {
        (void) fail_at(p, x->pos, "@ <timestamp> may not be set multiple times");
        return NULL;
    }
    advance(p);
    if (p->tok.type == TOK_KEYWORD && (p->tok.sub == KW_START || p->tok.sub == KW_END)) {
        m->at = p->tok.sub == KW_START ? AT_START : AT_END;
        advance(p);
        if (p->tok.type != TOK_LPAREN) {
            (void) unexpected(p, "@", "\"(\"");
            return NULL;
        }
        advance(p);
        if (p->tok.type != TOK_RPAREN) {
            (void) unexpected(p, "@", "\")\"");
            return NULL;
        }
        x->end = p->tok.pos + 1;
        advance(p);
        return x;
    }
    double sign = 1;
    if (p->tok.type == TOK_OP && (p->tok.sub == OP_SUB || p->tok.sub == OP_ADD)) {
        sign = p->tok.sub == OP_SUB ? -1 : 1;
        advance(p);
    }
    if (p->tok.type != TOK_NUMBER) {
        (void) unexpected(p, "@", "number or \"start\" or \"end\"");
        return NULL;
    }
    double ts;
    if (parse_number_text(p->src + p->tok.pos, p->tok.len, &ts) < 0) {
        (void) fail_at(p, p->tok.pos, "error parsing number");
        return NULL;
    }
    ts *= sign;
    /* Bounds as Prometheus checks them, before converting seconds to milliseconds. */
    if (isnan(ts) || isinf(ts) || ts >= 9223372036854775807.0 / 1000 ||
        ts <= -9223372036854775807.0 / 1000) {
        if (isnan(ts) || isinf(ts))
            (void) fail_at(p, x->pos, "timestamp out of bounds for @ modifier: %s",
                           isnan(ts) ? "NaN"
                           : ts > 0  ? "+Inf"
                                     : "-Inf");
        else
            (void) fail_at(p, x->pos, "timestamp out of bounds for @ modifier: %f", ts);
        return NULL;
    }
    m->at = AT_TIME;
    m->at_ms = (int64_t) llround(ts * 1000);
    x->end = p->tok.pos + p->tok.len;
    advance(p);
    return x;
}

static expr *parse_postfix(struct parser *p, expr *x)
{
    while (x) {
        if (p->tok.type == TOK_LBRACKET)
            x = parse_range(p, x);
        else if (p->tok.type == TOK_KEYWORD && p->tok.sub == KW_OFFSET)
            x = parse_offset(p, x);
        else if (p->tok.type == TOK_AT)
            x = parse_at(p, x);
        else
            break;
    }
    return x;
}

static expr *parse_unary(struct parser *p)
{
    if (p->tok.type == TOK_OP && (p->tok.sub == OP_ADD || p->tok.sub == OP_SUB)) {
        struct promql_token t = p->tok;
        advance(p);
        /* Unary minus binds like '*' (Prometheus: `unary_op expr %prec MUL`): -a^b = -(a^b). */
        expr *in = parse_expr(p, op_prec(OP_POW));
        if (!in)
            return NULL;
        if (in->kind == NODE_NUMBER) {
            if (t.sub == OP_SUB)
                in->u.num = -in->u.num;
            in->pos = t.pos;
            return in;
        }
        expr *x = node(p, NODE_UNARY, t.pos, in->end);
        if (!x)
            return NULL;
        x->u.unary.op = (enum promql_op) t.sub;
        x->u.unary.x = in;
        return x;
    }
    return parse_postfix(p, parse_primary(p));
}

static int parse_bin_modifiers(struct parser *p, expr *x)
{
    if (p->tok.type == TOK_KEYWORD && p->tok.sub == KW_BOOL) {
        x->u.bin.return_bool = 1;
        advance(p);
    }
    struct promql_matching *vm = arena_calloc(p->a, 1, sizeof *vm);
    if (!vm)
        return fail_at(p, p->tok.pos, "out of memory");
    x->u.bin.vm = vm;
    if (p->tok.type == TOK_KEYWORD && (p->tok.sub == KW_ON || p->tok.sub == KW_IGNORING)) {
        vm->on = p->tok.sub == KW_ON;
        vm->explicit_ = 1;
        advance(p);
        if (parse_labels(p, &vm->labels, &vm->n_labels, "grouping opts") < 0)
            return ERR_PARSE;
        if (p->tok.type == TOK_KEYWORD &&
            (p->tok.sub == KW_GROUP_LEFT || p->tok.sub == KW_GROUP_RIGHT)) {
            vm->card = p->tok.sub == KW_GROUP_LEFT ? CARD_MANY_TO_ONE : CARD_ONE_TO_MANY;
            advance(p);
            if (p->tok.type == TOK_LPAREN &&
                parse_labels(p, &vm->include, &vm->n_include, "grouping opts") < 0)
                return ERR_PARSE;
        }
    }
    return 0;
}

static expr *parse_expr(struct parser *p, int min_prec)
{
    if (++p->depth > MAX_DEPTH) {
        (void) fail_at(p, p->tok.pos, "query is nested too deeply");
        return NULL;
    }
    expr *l = parse_unary(p);
    while (l && p->tok.type == TOK_OP) {
        enum promql_op op = (enum promql_op) p->tok.sub;
        int prec = op_prec(op);
        if (prec < min_prec)
            break;
        expr *x = node(p, NODE_BINARY, l->pos, 0);
        if (!x)
            return NULL;
        x->u.bin.op = op;
        x->u.bin.l = l;
        advance(p);
        if (parse_bin_modifiers(p, x) < 0)
            return NULL;
        /* '^' is right-associative; every other operator is left-associative. */
        x->u.bin.r = parse_expr(p, op == OP_POW ? prec : prec + 1);
        if (!x->u.bin.r)
            return NULL;
        x->end = x->u.bin.r->end;
        l = x;
    }
    p->depth--;
    return l;
}

int promql_parse(struct arena *a, const char *q, size_t n, struct promql_expr **ret, struct err *e)
{
    struct parser p = {.a = a, .src = q, .n = n, .e = e};
    promql_lexer_init(&p.lx, q, n);
    advance(&p);
    if (p.tok.type == TOK_EOF)
        return fail_at(&p, 0, "no expression found in input");
    expr *x = parse_expr(&p, 0);
    if (!x)
        return ERR_PARSE;
    if (p.tok.type != TOK_EOF) {
        if (p.tok.type == TOK_RPAREN)
            return fail_at(&p, p.tok.pos, "unexpected right parenthesis ')'");
        return unexpected(&p, NULL, NULL);
    }
    if (promql_ast_check(q, n, x, e) < 0)
        return ERR_PARSE;
    *ret = x;
    return 0;
}
