/* rules/template.c — lexer and parser for Go's text/template language (the subset Prometheus rule
 * templates use) into the small tree of template_impl.h. Messages follow Go's text/template/parse
 * so a user sees the same error promtool would print ("template: NAME:LINE: MESSAGE").
 *
 * The lexer hands out one token at a time; text between actions is a token too, with the
 * {{- and -}} trim markers already applied. Errors longjmp to tmpl_parse(): everything is in the
 * arena, so abandoning a half-built tree leaks nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/template_impl.h"

enum tok {
    T_EOF, T_TEXT, T_LEFT, T_RIGHT, T_SPACE, T_IDENT, T_FIELD, T_DOT, T_VAR, T_STRING, T_RAW,
    T_CHAR, T_NUMBER, T_BOOL, T_NIL, T_PIPE, T_LPAREN, T_RPAREN, T_DECLARE, T_ASSIGN, T_COMMA,
    /* keywords */
    T_IF, T_ELSE, T_END, T_RANGE, T_WITH, T_BREAK, T_CONTINUE, T_DEFINE, T_TEMPLATE, T_BLOCK,
};

struct token {
    enum tok t;
    uint32_t pos, len;
};

struct parser {
    struct arena *a;
    const char *name;
    const char *s;
    size_t n, pos;
    int in_action, trim_next; /* trim_next: the last action ended with -}} */
    int paren_depth;
    struct token peek[3];
    int n_peek;
    uint32_t last_pos; /* position of the last token taken, for the line in messages */
    const char **vars;
    size_t n_vars, cap_vars;
    unsigned depth, range_depth;
    struct err *e;
    int code;
    jmp_buf fail;
};

static int line_of(const char *s, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++)
        line += s[i] == '\n';
    return line;
}

__attribute__((format(printf, 3, 4))) static _Noreturn void fail_at(struct parser *p, uint32_t pos,
                                                                    const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->code = err_set(p->e, ERR_PARSE, "template: %s:%d: %s", p->name, line_of(p->s, pos), msg);
    longjmp(p->fail, 1);
}
#define FAIL(p, ...) fail_at(p, (p)->last_pos, __VA_ARGS__)

static void *alloc(struct parser *p, size_t n)
{
    void *v = arena_calloc(p->a, 1, n);
    if (!v) {
        p->code = err_set(p->e, ERR_LIMIT, "template: %s: out of memory (arena limit)", p->name);
        longjmp(p->fail, 1);
    }
    return v;
}

/* ---- lexer ---- */

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_alnum(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80; /* Go allows Unicode letters; keep the bytes */
}
static int starts(const struct parser *p, size_t at, const char *lit)
{
    size_t k = strlen(lit);
    return at + k <= p->n && memcmp(p->s + at, lit, k) == 0;
}
/* "}}" or " -}}" at `at`: returns the delimiter's length (0: none); *trim says which. */
static size_t right_delim(const struct parser *p, size_t at, int *trim)
{
    if (at + 1 < p->n && is_space((unsigned char) p->s[at]) && p->s[at + 1] == '-' &&
        starts(p, at + 2, "}}")) {
        *trim = 1;
        return 4;
    }
    *trim = 0;
    return starts(p, at, "}}") ? 2 : 0;
}

static struct token mk(enum tok t, size_t pos, size_t end)
{
    return (struct token){t, (uint32_t) pos, (uint32_t) (end - pos)};
}

static struct token lex_text(struct parser *p)
{
    size_t start = p->pos;
    if (p->trim_next) {
        while (start < p->n && is_space((unsigned char) p->s[start]))
            start++;
        p->trim_next = 0;
    }
    const char *open = NULL;
    for (size_t i = start; i + 1 < p->n; i++)
        if (p->s[i] == '{' && p->s[i + 1] == '{') {
            open = p->s + i;
            break;
        }
    size_t end = open ? (size_t) (open - p->s) : p->n, text_end = end;
    if (open && end + 3 < p->n && p->s[end + 2] == '-' && is_space((unsigned char) p->s[end + 3]))
        while (text_end > start && is_space((unsigned char) p->s[text_end - 1]))
            text_end--;
    p->pos = end;
    if (text_end > start)
        return mk(T_TEXT, start, text_end);
    if (!open)
        return mk(T_EOF, p->n, p->n);
    /* "{{", "{{- ", then maybe a comment that vanishes entirely */
    size_t after = end + 2;
    if (p->s[after] == '-' && after + 1 < p->n && is_space((unsigned char) p->s[after + 1]))
        after += 2;
    if (starts(p, after, "/*")) {
        const char *close = NULL;
        for (size_t i = after + 2; i + 1 < p->n; i++)
            if (p->s[i] == '*' && p->s[i + 1] == '/') {
                close = p->s + i;
                break;
            }
        if (!close)
            fail_at(p, (uint32_t) end, "unclosed comment");
        int trim;
        size_t at = (size_t) (close - p->s) + 2, dl = right_delim(p, at, &trim);
        if (!dl)
            fail_at(p, (uint32_t) end, "comment ends before closing delimiter");
        p->pos = at + dl;
        p->trim_next = trim;
        return lex_text(p);
    }
    p->pos = after;
    p->in_action = 1;
    p->paren_depth = 0;
    return mk(T_LEFT, end, after);
}

static const struct {
    const char *word;
    enum tok t;
} keywords[] = {
    {"if", T_IF},       {"else", T_ELSE},   {"end", T_END},           {"range", T_RANGE},
    {"with", T_WITH},   {"break", T_BREAK}, {"continue", T_CONTINUE}, {"define", T_DEFINE},
    {"template", T_TEMPLATE}, {"block", T_BLOCK}, {"true", T_BOOL}, {"false", T_BOOL},
    {"nil", T_NIL},
};

/* Go's scanNumber: sign, base prefix, digits with '_', fraction, exponent; then a letter or digit
 * glued on is bad syntax. Whether the text is a valid number is the parser's business. */
static struct token lex_number(struct parser *p, size_t start)
{
    size_t i = start;
    if (p->s[i] == '+' || p->s[i] == '-')
        i++;
    const char *digits = "0123456789_";
    char exp = 'e';
    if (i + 1 < p->n && p->s[i] == '0' && strchr("xXoObB", p->s[i + 1])) {
        char b = p->s[i + 1] | 0x20;
        digits = b == 'x' ? "0123456789abcdefABCDEF_" : b == 'o' ? "01234567_" : "01_";
        exp = b == 'x' ? 'p' : 0;
        i += 2;
    }
    while (i < p->n && strchr(digits, p->s[i]) && p->s[i])
        i++;
    if (i < p->n && p->s[i] == '.') {
        i++;
        while (i < p->n && strchr(digits, p->s[i]) && p->s[i])
            i++;
    }
    if (exp && i < p->n && (p->s[i] | 0x20) == exp) {
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i < p->n && (is_alnum((unsigned char) p->s[i]) || p->s[i] == '.'))
        fail_at(p, (uint32_t) start, "bad number syntax: \"%.*s\"", (int) (i + 1 - start),
                p->s + start);
    p->pos = i;
    return mk(T_NUMBER, start, i);
}

static struct token lex_quote(struct parser *p, size_t start, char q)
{
    size_t i = start + 1;
    for (;; i++) {
        if (i >= p->n || (q != '`' && p->s[i] == '\n'))
            fail_at(p, (uint32_t) start, q == '`' ? "unterminated raw quoted string"
                                         : q == '"' ? "unterminated quoted string"
                                                    : "unterminated character constant");
        if (q != '`' && p->s[i] == '\\' && i + 1 < p->n && p->s[i + 1] != '\n') {
            i++;
            continue;
        }
        if (p->s[i] == q)
            break;
    }
    p->pos = i + 1;
    return mk(q == '`' ? T_RAW : q == '"' ? T_STRING : T_CHAR, start, i + 1);
}

static struct token lex_action(struct parser *p)
{
    size_t i = p->pos;
    int trim;
    if (i >= p->n)
        fail_at(p, (uint32_t) i, "unclosed action");
    size_t dl = right_delim(p, i, &trim);
    if (dl) {
        if (p->paren_depth > 0)
            fail_at(p, (uint32_t) i, "unclosed left paren");
        p->pos = i + dl;
        p->in_action = 0;
        p->trim_next = trim;
        return mk(T_RIGHT, i, i + dl);
    }
    unsigned char c = (unsigned char) p->s[i];
    if (is_space(c)) {
        while (i < p->n && is_space((unsigned char) p->s[i]) && !right_delim(p, i, &trim))
            i++;
        size_t start = p->pos;
        p->pos = i;
        return mk(T_SPACE, start, i);
    }
    p->pos = i + 1;
    switch (c) {
    case '|': return mk(T_PIPE, i, i + 1);
    case ',': return mk(T_COMMA, i, i + 1);
    case '=': return mk(T_ASSIGN, i, i + 1);
    case ':':
        if (i + 1 < p->n && p->s[i + 1] == '=') {
            p->pos = i + 2;
            return mk(T_DECLARE, i, i + 2);
        }
        fail_at(p, (uint32_t) i, "expected :=");
    case '(':
        p->paren_depth++;
        return mk(T_LPAREN, i, i + 1);
    case ')':
        if (--p->paren_depth < 0)
            fail_at(p, (uint32_t) i, "unexpected right paren");
        return mk(T_RPAREN, i, i + 1);
    case '"': case '`': case '\'':
        return lex_quote(p, i, (char) c);
    case '$': case '.': {
        if (c == '.' && i + 1 < p->n && p->s[i + 1] >= '0' && p->s[i + 1] <= '9')
            return lex_number(p, i);
        size_t j = i + 1;
        while (j < p->n && is_alnum((unsigned char) p->s[j]))
            j++;
        p->pos = j;
        if (c == '.' && j == i + 1)
            return mk(T_DOT, i, j);
        return mk(c == '$' ? T_VAR : T_FIELD, i, j);
    }
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9'))
        return lex_number(p, i);
    if (is_alnum(c)) {
        size_t j = i;
        while (j < p->n && is_alnum((unsigned char) p->s[j]))
            j++;
        p->pos = j;
        for (size_t k = 0; k < ARRAY_LEN(keywords); k++)
            if (strlen(keywords[k].word) == j - i && !memcmp(keywords[k].word, p->s + i, j - i))
                return mk(keywords[k].t, i, j);
        return mk(T_IDENT, i, j);
    }
    if (c < 0x20 || c == 0x7f)
        fail_at(p, (uint32_t) i, "unrecognized character in action: U+%04X", c);
    fail_at(p, (uint32_t) i, "unrecognized character in action: U+%04X '%c'", c, c);
}

static struct token lex(struct parser *p)
{
    return p->in_action ? lex_action(p) : lex_text(p);
}

static struct token next(struct parser *p)
{
    struct token t = p->n_peek ? p->peek[--p->n_peek] : lex(p);
    p->last_pos = t.pos;
    return t;
}
static void backup(struct parser *p, struct token t) { p->peek[p->n_peek++] = t; }
static struct token peek(struct parser *p)
{
    struct token t = next(p);
    backup(p, t);
    return t;
}
static struct token next_nonspace(struct parser *p)
{
    struct token t;
    while ((t = next(p)).t == T_SPACE)
        ;
    return t;
}
static struct token peek_nonspace(struct parser *p)
{
    struct token t = next_nonspace(p);
    backup(p, t);
    return t;
}

/* Go's item.String() for "unexpected X in Y". */
static _Noreturn void unexpected(struct parser *p, struct token t, const char *context)
{
    if (t.t == T_EOF)
        FAIL(p, "unexpected EOF in %s", context);
    if (t.t == T_RIGHT || t.t == T_LEFT)
        FAIL(p, "unexpected \"%.*s\" in %s", (int) t.len, p->s + t.pos, context);
    if (t.t >= T_IF)
        FAIL(p, "unexpected <%.*s> in %s", (int) t.len, p->s + t.pos, context);
    if (t.len > 10)
        FAIL(p, "unexpected \"%.10s\"... in %s", p->s + t.pos, context);
    FAIL(p, "unexpected \"%.*s\" in %s", (int) t.len, p->s + t.pos, context);
}

static void expect(struct parser *p, enum tok want, const char *context)
{
    struct token t = next_nonspace(p);
    if (t.t != want)
        unexpected(p, t, context);
}

static struct tv number(struct parser *p, struct token t)
{
    struct tv v;
    int r = tmpl_number(p->s + t.pos, t.len, &v);
    if (r == TMPL_LIT_BAD_CHAR)
        FAIL(p, "malformed character constant: %.*s", (int) t.len, p->s + t.pos);
    if (r == TMPL_LIT_BAD_NUMBER)
        FAIL(p, "illegal number syntax: \"%.*s\"", (int) t.len, p->s + t.pos);
    if (r == TMPL_LIT_OVERFLOW)
        FAIL(p, "%.*s overflows int", (int) t.len, p->s + t.pos);
    return v;
}

/* ---- parser (Go's text/template/parse, same structure and messages) ---- */

static void push_var(struct parser *p, const char *name)
{
    if (p->n_vars >= TMPL_MAX_VARS) /* the executor looks variables up by a linear scan */
        FAIL(p, "more than %u variables in scope", TMPL_MAX_VARS);
    if (p->n_vars == p->cap_vars) {
        size_t cap = p->cap_vars ? p->cap_vars * 2 : 16;
        const char **v = alloc(p, cap * sizeof *v);
        if (p->n_vars)
            memcpy(v, p->vars, p->n_vars * sizeof *v);
        p->vars = v;
        p->cap_vars = cap;
    }
    p->vars[p->n_vars++] = name;
}

static const char *tok_str(struct parser *p, struct token t)
{
    char *s = arena_strndup(p->a, p->s + t.pos, t.len);
    if (!s)
        (void) alloc(p, SIZE_MAX); /* reports the arena limit */
    return s;
}

/* The in-scope variable spelled like token t, or NULL. Variables are interned: every use gets the
 * declaration's pointer, so the executor finds them by pointer comparison. */
static const char *var_lookup(const struct parser *p, struct token t)
{
    for (size_t i = p->n_vars; i-- > 0;)
        if (strlen(p->vars[i]) == t.len && !memcmp(p->vars[i], p->s + t.pos, t.len))
            return p->vars[i];
    return NULL;
}

static void enter(struct parser *p)
{
    if (++p->depth > TMPL_MAX_DEPTH) {
        p->code = err_set(p->e, ERR_LIMIT, "template: %s:%d: nesting deeper than %u", p->name,
                          line_of(p->s, p->last_pos), TMPL_MAX_DEPTH);
        longjmp(p->fail, 1);
    }
}

static struct tmpl_pipe *pipeline(struct parser *p, const char *context, enum tok end);

static struct tmpl_arg *term(struct parser *p)
{
    struct token t = next_nonspace(p);
    struct tmpl_arg *a = alloc(p, sizeof *a);
    a->pos = t.pos;
    a->src = p->s + t.pos;
    a->src_len = t.len;
    switch (t.t) {
    case T_IDENT:
        a->k = A_FUNC;
        a->fn = tmpl_func_find(p->s + t.pos, t.len);
        if (a->fn < 0) {
            if (t.len == 8 && !memcmp(p->s + t.pos, "template", 8))
                FAIL(p, "{{template}} is not supported");
            FAIL(p, "function \"%.*s\" not defined", (int) t.len, p->s + t.pos);
        }
        return a;
    case T_DOT: a->k = A_DOT; return a;
    case T_NIL: a->k = A_NIL; return a;
    case T_VAR:
        a->k = A_VAR;
        a->var = var_lookup(p, t);
        if (!a->var)
            FAIL(p, "undefined variable \"%.*s\"", (int) t.len, p->s + t.pos);
        return a;
    case T_FIELD:
        a->k = A_FIELD;
        a->fields = alloc(p, sizeof *a->fields);
        a->fields[0] = tok_str(p, (struct token){T_FIELD, t.pos + 1, t.len - 1});
        a->n_fields = 1;
        return a;
    case T_BOOL:
        a->k = A_LIT;
        a->lit = (struct tv){.k = TV_BOOL, .b = t.len == 4};
        return a;
    case T_NUMBER: case T_CHAR:
        a->k = A_LIT;
        a->lit = number(p, t);
        return a;
    case T_LPAREN: {
        enter(p);
        a->k = A_PIPE;
        a->pipe = pipeline(p, "parenthesized pipeline", T_RPAREN);
        p->depth--;
        a->src_len = p->last_pos + 1 - t.pos;
        return a;
    }
    case T_STRING: case T_RAW: {
        a->k = A_LIT;
        char *s = alloc(p, t.len);
        size_t m = t.len - 2;
        if (t.t == T_RAW)
            memcpy(s, p->s + t.pos + 1, m);
        else if (tmpl_unquote(p->s + t.pos + 1, t.len - 2, '"', s, &m) < 0)
            FAIL(p, "invalid syntax");
        a->lit = tmpl_str(s, m);
        return a;
    }
    default:
        backup(p, t);
        return NULL;
    }
}

static struct tmpl_arg *operand(struct parser *p)
{
    struct tmpl_arg *a = term(p);
    if (!a || peek(p).t != T_FIELD)
        return a;
    if (a->k == A_LIT || a->k == A_DOT || a->k == A_NIL) {
        char q[64]; /* Go's %q of the term */
        size_t k = 0;
        for (uint32_t i = 0; i < a->src_len && k + 3 < sizeof q; i++) {
            if (a->src[i] == '"' || a->src[i] == '\\')
                q[k++] = '\\';
            q[k++] = a->src[i];
        }
        q[k] = 0;
        FAIL(p, "unexpected . after term \"%s\"", q);
    }
    if (a->k == A_FUNC) { /* (Go: a chain node evaluating the call's result) */
        struct tmpl_arg *f = alloc(p, sizeof *f);
        *f = *a;
        a->k = A_PIPE;
        a->pipe = alloc(p, sizeof *a->pipe);
        a->pipe->pos = a->pos;
        a->pipe->cmds = alloc(p, sizeof *a->pipe->cmds);
        a->pipe->cmds->args = alloc(p, sizeof f);
        a->pipe->cmds->args[0] = f;
        a->pipe->cmds->n_args = 1;
        a->pipe->cmds->pos = f->pos;
        a->pipe->cmds->src_len = f->src_len;
    }
    uint32_t cap = a->n_fields; /* grows by doubling: .a.a.a... must stay linear */
    while (peek(p).t == T_FIELD) {
        struct token t = next(p);
        if (a->n_fields == cap) {
            cap = cap ? cap * 2 : 4;
            const char **f = alloc(p, cap * sizeof *f);
            if (a->n_fields)
                memcpy(f, a->fields, a->n_fields * sizeof *f);
            a->fields = f;
        }
        a->fields[a->n_fields++] = tok_str(p, (struct token){T_FIELD, t.pos + 1, t.len - 1});
        a->src_len = t.pos + t.len - a->pos;
    }
    return a;
}

static struct tmpl_cmd *command(struct parser *p)
{
    struct tmpl_cmd *c = alloc(p, sizeof *c);
    uint32_t cap = 0;
    for (;;) {
        (void) peek_nonspace(p);
        struct tmpl_arg *a = operand(p);
        if (a) {
            if (c->n_args == cap) {
                cap = cap ? cap * 2 : 4;
                struct tmpl_arg **v = alloc(p, cap * sizeof *v);
                if (c->n_args)
                    memcpy(v, c->args, c->n_args * sizeof *v);
                c->args = v;
            }
            c->args[c->n_args++] = a;
        }
        struct token t = next(p);
        if (t.t == T_SPACE)
            continue;
        if (t.t == T_RIGHT || t.t == T_RPAREN)
            backup(p, t);
        else if (t.t != T_PIPE)
            unexpected(p, t, "operand");
        break;
    }
    if (!c->n_args)
        FAIL(p, "empty command");
    const struct tmpl_arg *last = c->args[c->n_args - 1];
    c->pos = c->args[0]->pos;
    c->src_len = last->pos + last->src_len - c->pos;
    return c;
}

static struct tmpl_pipe *pipeline(struct parser *p, const char *context, enum tok end)
{
    struct tmpl_pipe *pp = alloc(p, sizeof *pp);
    struct token dt[2];
    pp->pos = peek_nonspace(p).pos;
    for (;;) { /* declarations: $x :=, $x =, range $i, $e := */
        struct token v = peek_nonspace(p);
        if (v.t != T_VAR)
            break;
        v = next_nonspace(p);
        struct token after = peek(p);
        struct token n2 = next_nonspace(p);
        if (n2.t == T_DECLARE || n2.t == T_ASSIGN) {
            pp->is_assign = n2.t == T_ASSIGN;
            dt[pp->n_decl++] = v;
            break;
        }
        if (n2.t == T_COMMA) {
            dt[pp->n_decl++] = v;
            if (!strcmp(context, "range") && pp->n_decl < 2) {
                enum tok t3 = peek_nonspace(p).t;
                if (t3 == T_VAR || t3 == T_RIGHT || t3 == T_RPAREN)
                    continue;
                FAIL(p, "range can only initialize variables");
            }
            FAIL(p, "too many declarations in %s", context);
        }
        /* not a declaration: put the variable (and what followed) back */
        backup(p, n2);
        if (after.t == T_SPACE && n2.t != T_SPACE)
            backup(p, after);
        backup(p, v);
        break;
    }
    for (int i = 0; i < pp->n_decl; i++) {
        pp->decl[i] = pp->is_assign ? var_lookup(p, dt[i]) : tok_str(p, dt[i]);
        if (!pp->decl[i])
            FAIL(p, "undefined variable \"%.*s\"", (int) dt[i].len, p->s + dt[i].pos);
        if (!pp->is_assign)
            push_var(p, pp->decl[i]);
    }
    struct tmpl_cmd **tail = &pp->cmds;
    for (;;) {
        struct token t = next_nonspace(p);
        if (t.t == end) {
            if (!pp->cmds)
                FAIL(p, "missing value for %s", context);
            int i = 1;
            for (struct tmpl_cmd *c = pp->cmds->next; c; c = c->next) {
                i++;
                enum tmpl_arg_kind k = c->args[0]->k;
                if (k == A_LIT || k == A_DOT || k == A_NIL)
                    FAIL(p, "non executable command in pipeline stage %d", i);
            }
            return pp;
        }
        switch (t.t) {
        case T_BOOL: case T_CHAR: case T_DOT: case T_FIELD: case T_IDENT: case T_NUMBER:
        case T_NIL: case T_RAW: case T_STRING: case T_VAR: case T_LPAREN:
            backup(p, t);
            *tail = command(p);
            tail = &(*tail)->next;
            break;
        default:
            unexpected(p, t, context);
        }
    }
}

/* Returns the node, or NULL with *stop set to T_END or T_ELSE when the list must end. */
static struct tmpl_node *item_list(struct parser *p, enum tok *stop);

static struct tmpl_node *control(struct parser *p, enum tmpl_node_kind k, const char *context)
{
    size_t mark = p->n_vars;
    enter(p);
    struct tmpl_node *n = alloc(p, sizeof *n);
    n->k = k;
    n->pos = p->last_pos;
    n->pipe = pipeline(p, context, T_RIGHT);
    enum tok stop;
    if (k == N_RANGE)
        p->range_depth++;
    n->list = item_list(p, &stop);
    if (k == N_RANGE)
        p->range_depth--;
    if (stop == T_ELSE) {
        /* action() left "if"/"with" after "else" unread; any other else ended with "}}" */
        struct token nt = peek_nonspace(p);
        if ((k == N_IF && nt.t == T_IF) || (k == N_WITH && nt.t == T_WITH)) {
            (void) next_nonspace(p);
            n->else_list = control(p, k, context);
        } else if (nt.t == T_IF || nt.t == T_WITH) { /* Go reads it as {{else}}{{with ...}} */
            unexpected(p, next_nonspace(p), "input");
        } else {
            n->else_list = item_list(p, &stop);
            if (stop != T_END)
                FAIL(p, "expected end; found {{else}}");
        }
    }
    p->depth--;
    p->n_vars = mark;
    return n;
}

static struct tmpl_node *action(struct parser *p, enum tok *stop)
{
    struct token t = peek_nonspace(p);
    struct tmpl_node *n;
    switch (t.t) {
    case T_IF: case T_RANGE: case T_WITH:
        (void) next_nonspace(p);
        return control(p, t.t == T_IF ? N_IF : t.t == T_RANGE ? N_RANGE : N_WITH,
                       t.t == T_IF ? "if" : t.t == T_RANGE ? "range" : "with");
    case T_END:
        (void) next_nonspace(p);
        expect(p, T_RIGHT, "end");
        *stop = T_END;
        return NULL;
    case T_ELSE: {
        (void) next_nonspace(p);
        enum tok nt = peek_nonspace(p).t;
        if (nt != T_IF && nt != T_WITH) /* "else if" is consumed by control() */
            expect(p, T_RIGHT, "else");
        *stop = T_ELSE;
        return NULL;
    }
    case T_BREAK: case T_CONTINUE:
        (void) next_nonspace(p);
        if (!p->range_depth)
            FAIL(p, "{{%s}} outside {{range}}", t.t == T_BREAK ? "break" : "continue");
        expect(p, T_RIGHT, t.t == T_BREAK ? "{{break}}" : "{{continue}}");
        n = alloc(p, sizeof *n);
        n->k = t.t == T_BREAK ? N_BREAK : N_CONTINUE;
        n->pos = t.pos;
        return n;
    case T_DEFINE: case T_TEMPLATE: case T_BLOCK:
        FAIL(p, "{{%.*s}} is not supported", (int) t.len, p->s + t.pos);
    default:
        n = alloc(p, sizeof *n);
        n->k = N_ACTION;
        n->pos = t.pos;
        n->pipe = pipeline(p, "command", T_RIGHT);
        return n;
    }
}

static struct tmpl_node *item_list(struct parser *p, enum tok *stop)
{
    struct tmpl_node *head = NULL, **tail = &head;
    for (;;) {
        struct token t = next(p);
        struct tmpl_node *n;
        if (t.t == T_EOF) {
            if (!stop)
                return head;
            FAIL(p, "unexpected EOF");
        }
        if (t.t == T_TEXT) {
            n = alloc(p, sizeof *n);
            n->k = N_TEXT;
            n->pos = t.pos;
            n->text = p->s + t.pos;
            n->len = t.len;
        } else {
            enum tok st = T_EOF;
            n = action(p, &st);
            if (!n) {
                if (!stop)
                    FAIL(p, "unexpected {{%s}}", st == T_END ? "end" : "else");
                *stop = st;
                return head;
            }
        }
        *tail = n;
        tail = &n->next;
    }
}

/* The executor declares these with the same pointers (variables are compared by pointer). */
const char *const tmpl_predeclared[TMPL_N_PREDECLARED] = {"$", "$labels", "$externalLabels",
                                                          "$externalURL", "$value"};

int tmpl_parse(struct arena *a, const char *name, const char *text, size_t n, struct tmpl **ret,
               struct err *e)
{
    /* The parser state lives in the arena: after longjmp only this pointer is read, and it is
     * never modified after setjmp. */
    struct parser *p = arena_calloc(a, 1, sizeof *p);
    struct tmpl *t = arena_calloc(a, 1, sizeof *t);
    char *copy = arena_strndup(a, text, n);
    char *nm = arena_strdup(a, name ? name : "");
    if (!p || !t || !copy || !nm || n > UINT32_MAX / 2)
        return err_set(e, ERR_LIMIT, "template: %s: too large for the arena", name ? name : "");
    p->a = a;
    p->e = e;
    p->name = nm;
    p->s = copy;
    p->n = n;
    if (setjmp(p->fail))
        return p->code;
    /* Prometheus defines these before the rule's text ({{$labels := .Labels}}...). */
    for (size_t i = 0; i < TMPL_N_PREDECLARED; i++)
        push_var(p, tmpl_predeclared[i]);
    t->name = nm;
    t->text = copy;
    t->n = n;
    t->root = item_list(p, NULL);
    *ret = t;
    return 0;
}
