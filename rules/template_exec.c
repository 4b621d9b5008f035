/* rules/template_exec.c — executes a parsed template against one alert's data: walks the tree,
 * evaluates pipelines, keeps variables, writes output. Semantics and messages follow Go's
 * text/template/exec.go with Prometheus' option missingkey=zero.
 *
 * Every failure (a function's error, a limit, the arena's cap) calls tmpl_exec_fail(), which
 * fills the error and longjmps back to tmpl_exec(). Everything allocated lives in the caller's
 * arena and the only other resources (compiled regexes) are released by arena_on_free, so the
 * jump leaks nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/template_impl.h"

enum flow { F_NEXT, F_BREAK, F_CONTINUE };

static const struct labels no_labels;

_Noreturn void tmpl_exec_fail(struct tmpl_exec *x, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *name = x->t->name;
    if (code == ERR_LIMIT || !x->at_src) {
        x->code = err_set(x->e, code, "template: %s: %s", name, msg);
        longjmp(x->fail, 1);
    }
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < x->at_pos && i < x->t->n; i++)
        if (x->t->text[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    /* Go quotes at most 20 bytes of the node's text. */
    int clen = x->at_len > 20 ? 20 : (int) x->at_len;
    x->code = err_set(x->e, code, "template: %s:%d:%zu: executing \"%s\" at <%.*s%s>: %s%s%s",
                      name, line, (size_t) x->at_pos - line_start, name, clen, x->at_src,
                      x->at_len > 20 ? "..." : "", x->calling ? "error calling " : "",
                      x->calling ? x->calling : "", x->calling ? ": " : "");
    if (x->e) { /* the message goes after the prefix; err_set bounds it */
        size_t used = strlen(x->e->msg);
        snprintf(x->e->msg + used, sizeof x->e->msg - used, "%s", msg);
    }
    longjmp(x->fail, 1);
}

static void limit(struct tmpl_exec *x, const char *what)
{
    tmpl_exec_fail(x, ERR_LIMIT, "%s", what);
}

void tmpl_exec_steps(struct tmpl_exec *x, uint64_t n)
{
    x->steps += n;
    if (x->steps > TMPL_MAX_STEPS)
        limit(x, "execution exceeds 1000000 steps");
}

static void step(struct tmpl_exec *x)
{
    tmpl_exec_steps(x, 1);
}

static void charge(struct tmpl_exec *x, size_t n)
{
    x->bytes += n;
    if (x->bytes > TMPL_MAX_BYTES)
        limit(x, "execution builds more than 64 MiB of strings");
}

void *tmpl_exec_alloc(struct tmpl_exec *x, size_t n)
{
    charge(x, n);
    void *p = arena_alloc(x->a, n ? n : 1);
    if (!p)
        limit(x, "out of memory (arena limit)");
    return p;
}

struct tv tmpl_str(const char *p, size_t n)
{
    return (struct tv){.k = TV_STRING, .s = {p, n}};
}

void tmpl_sbuf_add(struct tmpl_exec *x, struct tmpl_sbuf *b, const char *p, size_t n)
{
    if (n > TMPL_MAX_OUTPUT - b->len)
        limit(x, "output or string longer than 1 MiB");
    charge(x, n); /* bounds the copying a template can cause, not just what it keeps */
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = b->p ? arena_realloc(x->a, b->p, b->cap, cap) : arena_alloc(x->a, cap);
        if (!q)
            limit(x, "out of memory (arena limit)");
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

void tmpl_sbuf_printf(struct tmpl_exec *x, struct tmpl_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        tmpl_exec_fail(x, ERR_EXEC, "formatting failed");
    if ((size_t) n < sizeof tmp) {
        tmpl_sbuf_add(x, b, tmp, (size_t) n);
        return;
    }
    if ((size_t) n > TMPL_MAX_OUTPUT)
        limit(x, "output or string longer than 1 MiB");
    char *big = tmpl_exec_alloc(x, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t) n + 1, fmt, ap);
    va_end(ap);
    tmpl_sbuf_add(x, b, big, (size_t) n);
}

struct tv tmpl_sbuf_value(struct tmpl_exec *x, struct tmpl_sbuf *b)
{
    if (!b->p)
        tmpl_sbuf_add(x, b, "", 0);
    return tmpl_str(b->p, b->len);
}

/* ---- variables: a stack; blocks pop back to their mark at {{end}} ---- */

static void var_push(struct tmpl_exec *x, const char *name, struct tv v)
{
    if (x->n_vars == x->cap_vars) {
        size_t cap = x->cap_vars ? x->cap_vars * 2 : 16;
        struct tmpl_var *nv = tmpl_exec_alloc(x, cap * sizeof *nv);
        if (x->n_vars)
            memcpy(nv, x->vars, x->n_vars * sizeof *nv);
        x->vars = nv;
        x->cap_vars = cap;
    }
    x->vars[x->n_vars++] = (struct tmpl_var){name, v};
}

static struct tmpl_var *var_find(struct tmpl_exec *x, const char *name)
{
    for (size_t i = x->n_vars; i-- > 0;)
        if (x->vars[i].name == name) /* the parser interns variable names */
            return &x->vars[i];
    tmpl_exec_fail(x, ERR_EXEC, "undefined variable: %s", name); /* the parser prevents it */
}

/* ---- evaluation ---- */

static void at(struct tmpl_exec *x, const struct tmpl_arg *a)
{
    x->at_pos = a->pos;
    x->at_src = a->src;
    x->at_len = a->src_len;
}

static struct tv eval_pipe(struct tmpl_exec *x, const struct tmpl_pipe *p, struct tv dot,
                           int declare);
static struct tv eval_arg(struct tmpl_exec *x, const struct tmpl_arg *a, struct tv dot);

static struct tv chain(struct tmpl_exec *x, const struct tmpl_arg *a, struct tv v)
{
    for (uint32_t i = 0; i < a->n_fields; i++) {
        step(x);
        at(x, a);
        v = tmpl_field(x, &v, a->fields[i]);
    }
    return v;
}

static void at_cmd(struct tmpl_exec *x, const struct tmpl_cmd *cmd)
{
    x->at_pos = cmd->pos;
    x->at_src = x->t->text + cmd->pos;
    x->at_len = cmd->src_len;
}

static void at_call(struct tmpl_exec *x, const struct tmpl_cmd *cmd, const struct tmpl_arg *fa)
{
    if (cmd)
        at_cmd(x, cmd);
    else
        at(x, fa);
}

static const char *const param_names[] = {"interface {}", "string", "*template.sample",
                                          "template.queryResult"};

static void check_param(struct tmpl_exec *x, enum tmpl_param p, struct tv *v)
{
    if (p == P_ANY)
        return;
    if (v->k == TV_NIL) {
        if (p == P_STRING)
            tmpl_exec_fail(x, ERR_EXEC, "invalid value; expected string");
        if (p == P_VECTOR)
            *v = (struct tv){.k = TV_VECTOR};
        return; /* a nil *sample: the function reports it when it dereferences */
    }
    enum tv_kind want = p == P_STRING ? TV_STRING : p == P_SAMPLE ? TV_SAMPLE : TV_VECTOR;
    if (v->k != want)
        tmpl_exec_fail(x, ERR_EXEC, "wrong type for value; expected %s; got %s", param_names[p],
                       tmpl_type_name(v));
}

/* cmd: the command whose first word is the function (NULL for a bare name as an argument). */
static struct tv call(struct tmpl_exec *x, const struct tmpl_cmd *cmd, const struct tmpl_arg *fa,
                      struct tv dot, struct tmpl_arg *const *args, uint32_t n_args,
                      const struct tv *final)
{
    const struct tmpl_func *f = &tmpl_funcs[fa->fn];
    int n = (int) n_args + (final != NULL);
    at(x, fa);
    if (n < f->min_args || (f->max_args >= 0 && n > f->max_args)) {
        if (f->max_args < 0)
            tmpl_exec_fail(x, ERR_EXEC, "wrong number of args for %s: want at least %d got %d",
                           f->name, f->min_args, n);
        tmpl_exec_fail(x, ERR_EXEC, "wrong number of args for %s: want %d got %d", f->name,
                       f->min_args, n);
    }
    if (fa->fn == TMPL_FUNC_AND || fa->fn == TMPL_FUNC_OR) {
        /* Go 1.18+: evaluate left to right, stop at the first falsy (and) / truthy (or) value. */
        struct tv v = {0};
        for (int i = 0; i < n; i++) {
            v = i < (int) n_args ? eval_arg(x, args[i], dot) : *final;
            if (tmpl_truth(&v) == (fa->fn == TMPL_FUNC_OR))
                break;
        }
        return v;
    }
    struct tv *argv = tmpl_exec_alloc(x, (size_t) n * sizeof *argv);
    for (int i = 0; i < n; i++) {
        enum tmpl_param p = f->params[i < 3 ? i : 2];
        if (i < (int) n_args && args[i]->k == A_LIT && args[i]->lit.k != TV_STRING &&
            p == P_STRING) { /* Go checks a literal against the parameter type before use */
            at(x, args[i]);
            tmpl_exec_fail(x, ERR_EXEC, "expected string; found %.*s", (int) args[i]->src_len,
                           args[i]->src);
        }
        argv[i] = i < (int) n_args ? eval_arg(x, args[i], dot) : *final;
        if (i < (int) n_args)
            at(x, args[i]);
        else
            at_call(x, cmd, fa);
        check_param(x, p, &argv[i]);
    }
    at_call(x, cmd, fa);
    x->calling = f->name;
    struct tv r = f->call(x, argv, n);
    x->calling = NULL;
    return r;
}

static void not_a_function(struct tmpl_exec *x, const struct tmpl_arg *a, uint32_t n_args,
                           const struct tv *final)
{
    if (n_args > 1 || final) {
        at(x, a);
        tmpl_exec_fail(x, ERR_EXEC, "can't give argument to non-function %.*s", (int) a->src_len,
                       a->src);
    }
}

static struct tv operand(struct tmpl_exec *x, const struct tmpl_arg *a, struct tv dot)
{
    step(x);
    switch (a->k) {
    case A_DOT: return dot;
    case A_NIL: return (struct tv){.k = TV_NIL};
    case A_LIT: return a->lit;
    case A_FIELD: return chain(x, a, dot);
    case A_VAR: return chain(x, a, var_find(x, a->var)->val);
    case A_PIPE: {
        size_t mark = x->n_vars;
        struct tv v = eval_pipe(x, a->pipe, dot, 1);
        x->n_vars = mark;
        return chain(x, a, v);
    }
    case A_FUNC: return call(x, NULL, a, dot, NULL, 0, NULL);
    }
    tmpl_exec_fail(x, ERR_INTERNAL, "bad operand");
}

static struct tv eval_arg(struct tmpl_exec *x, const struct tmpl_arg *a, struct tv dot)
{
    return operand(x, a, dot);
}

static struct tv eval_cmd(struct tmpl_exec *x, const struct tmpl_cmd *c, struct tv dot,
                          const struct tv *final)
{
    const struct tmpl_arg *a = c->args[0];
    step(x);
    if (a->k == A_FUNC)
        return call(x, c, a, dot, c->args + 1, c->n_args - 1, final);
    if (a->k == A_FIELD && (c->n_args > 1 || final)) {
        at(x, a);
        tmpl_exec_fail(x, ERR_EXEC, "%s is not a method but has arguments",
                       a->fields[a->n_fields - 1]);
    }
    if (a->k == A_NIL) {
        at(x, a);
        tmpl_exec_fail(x, ERR_EXEC, "nil is not a command");
    }
    not_a_function(x, a, c->n_args, final);
    return operand(x, a, dot);
}

static struct tv eval_pipe(struct tmpl_exec *x, const struct tmpl_pipe *p, struct tv dot,
                           int declare)
{
    struct tv v = {.k = TV_NIL}, prev;
    const struct tv *final = NULL;
    for (const struct tmpl_cmd *c = p->cmds; c; c = c->next) {
        v = eval_cmd(x, c, dot, final);
        prev = v;
        final = &prev;
    }
    for (int i = 0; declare && i < p->n_decl; i++) {
        if (p->is_assign)
            var_find(x, p->decl[i])->val = v;
        else
            var_push(x, p->decl[i], v);
    }
    return v;
}

static enum flow walk(struct tmpl_exec *x, const struct tmpl_node *n, struct tv dot,
                      struct tmpl_sbuf *out);

static void range_set(struct tmpl_exec *x, const struct tmpl_pipe *p, size_t top, struct tv key,
                      struct tv elem)
{
    if (p->n_decl == 0)
        return;
    struct tv vals[2] = {p->n_decl == 2 ? key : elem, elem};
    for (int i = 0; i < p->n_decl; i++) {
        if (p->is_assign)
            var_find(x, p->decl[i])->val = vals[i];
        else
            x->vars[top + (size_t) i].val = vals[i];
    }
}

static enum flow walk_range(struct tmpl_exec *x, const struct tmpl_node *n, struct tv dot,
                            struct tmpl_sbuf *out)
{
    size_t mark = x->n_vars;
    struct tv v = eval_pipe(x, n->pipe, dot, 0);
    if (!n->pipe->is_assign)
        for (int i = 0; i < n->pipe->n_decl; i++)
            var_push(x, n->pipe->decl[i], v);
    size_t count = 0, body = x->n_vars;
    at_cmd(x, n->pipe->cmds);
    switch (v.k) {
    case TV_VECTOR: case TV_LABELS: case TV_MAP: case TV_INT: case TV_NIL:
        break;
    default: {
        struct tmpl_sbuf b = {0};
        tmpl_print_value(x, &b, &v);
        tmpl_exec_fail(x, ERR_EXEC, "range can't iterate over %s", b.p);
    }
    }
    count = v.k == TV_VECTOR ? v.vec.n : v.k == TV_LABELS ? v.labels->n : v.k == TV_MAP ? v.map.n
          : v.k == TV_INT && v.i > 0 ? (size_t) v.i : 0;
    if (v.k == TV_INT && n->pipe->n_decl > 1)
        tmpl_exec_fail(x, ERR_EXEC, "can't use %lld to iterate over more than one variable",
                       (long long) v.i);
    for (size_t i = 0; i < count; i++) {
        step(x);
        struct tv key = {.k = TV_INT, .i = (int64_t) i}, elem;
        if (v.k == TV_VECTOR) {
            elem = (struct tv){.k = TV_SAMPLE, .sample = &v.vec.v[i]};
        } else if (v.k == TV_LABELS) {
            const struct label *l = &v.labels->v[i];
            key = tmpl_str(l->name, strlen(l->name));
            elem = tmpl_str(l->value, strlen(l->value));
        } else if (v.k == TV_MAP) {
            key = tmpl_str(v.map.v[i].key, strlen(v.map.v[i].key));
            elem = v.map.v[i].val;
        } else {
            elem = key;
        }
        x->n_vars = body;
        range_set(x, n->pipe, mark, key, elem);
        enum flow f = walk(x, n->list, elem, out);
        if (f == F_BREAK)
            break;
    }
    x->n_vars = mark;
    if (count == 0 && n->else_list) {
        enum flow f = walk(x, n->else_list, dot, out);
        x->n_vars = mark;
        return f;
    }
    return F_NEXT;
}

static enum flow walk(struct tmpl_exec *x, const struct tmpl_node *n, struct tv dot,
                      struct tmpl_sbuf *out)
{
    for (; n; n = n->next) {
        step(x);
        switch (n->k) {
        case N_TEXT:
            tmpl_sbuf_add(x, out, n->text, n->len);
            break;
        case N_ACTION: {
            struct tv v = eval_pipe(x, n->pipe, dot, 1);
            if (!n->pipe->n_decl)
                tmpl_print_value(x, out, &v);
            break;
        }
        case N_IF: case N_WITH: {
            size_t mark = x->n_vars;
            struct tv v = eval_pipe(x, n->pipe, dot, 1);
            enum flow f = F_NEXT;
            if (tmpl_truth(&v))
                f = walk(x, n->list, n->k == N_WITH ? v : dot, out);
            else if (n->else_list)
                f = walk(x, n->else_list, dot, out);
            x->n_vars = mark;
            if (f != F_NEXT)
                return f;
            break;
        }
        case N_RANGE: {
            enum flow f = walk_range(x, n, dot, out);
            if (f != F_NEXT)
                return f;
            break;
        }
        case N_BREAK:
            return F_BREAK;
        case N_CONTINUE:
            return F_CONTINUE;
        }
    }
    return F_NEXT;
}

int tmpl_exec(const struct tmpl *t, struct arena *a, const struct tmpl_data *d, char **out,
              size_t *out_len, struct err *e)
{
    /* The state lives in the arena: after longjmp only the (unmodified) pointer is read. */
    struct tmpl_exec *x = arena_calloc(a, 1, sizeof *x);
    struct tmpl_sbuf *b = arena_calloc(a, 1, sizeof *b);
    if (!x || !b)
        return err_set(e, ERR_LIMIT, "template: %s: out of memory (arena limit)", t->name);
    x->a = a;
    x->t = t;
    x->d = d;
    x->e = e;
    if (setjmp(x->fail))
        return x->code;
    struct tv data = {.k = TV_DATA};
    const char *url = d->external_url ? d->external_url : "";
    const struct labels *ext = d->external_labels ? d->external_labels : &no_labels;
    const struct tv pre[TMPL_N_PREDECLARED] = {
        data,
        {.k = TV_LABELS, .labels = d->labels ? d->labels : &no_labels},
        {.k = TV_LABELS, .labels = ext},
        tmpl_str(url, strlen(url)),
        {.k = TV_FLOAT, .f = d->value},
    };
    for (size_t i = 0; i < TMPL_N_PREDECLARED; i++)
        var_push(x, tmpl_predeclared[i], pre[i]);
    (void) walk(x, t->root, data, b);
    struct tv r = tmpl_sbuf_value(x, b);
    *out = (char *) r.s.p;
    *out_len = r.s.n;
    return 0;
}
