/* rules/template_impl.h — private to rules/template*.c: the parse tree, runtime values and the
 * executor state the function library works on. Nothing here is part of the rules/ API. */
#ifndef EMBER_RULES_TEMPLATE_IMPL_H
#define EMBER_RULES_TEMPLATE_IMPL_H

#include <setjmp.h>
#include <stdint.h>

#include "rules/template.h"

/* ---- values: the Go types a Prometheus template can hold ---- */
enum tv_kind {
    TV_NIL,    /* Go's invalid reflect.Value: missing map entry, untyped nil */
    TV_BOOL,
    TV_INT,    /* Go int: integer literals, len, index results */
    TV_FLOAT,  /* float64: $value, value, parseDuration */
    TV_STRING,
    TV_LABELS, /* map[string]string: $labels, .Labels of a sample */
    TV_MAP,    /* map[string]interface{}: what args returns */
    TV_SAMPLE, /* *sample from a query result */
    TV_VECTOR, /* queryResult */
    TV_DATA,   /* the alert data struct ($ and . at the start) */
    TV_TIME,   /* *time.Time from toTime, Unix milliseconds in UTC */
};

struct tv_entry;

struct tv {
    enum tv_kind k;
    union {
        int b;
        int64_t i;
        double f;
        struct {
            const char *p; /* not NUL-terminated */
            size_t n;
        } s;
        const struct labels *labels;
        const struct tmpl_sample *sample;
        struct {
            const struct tmpl_sample *v;
            size_t n;
        } vec;
        struct {
            const struct tv_entry *v; /* sorted by key */
            size_t n;
        } map;
        int64_t ms;
    };
};

struct tv_entry {
    const char *key;
    struct tv val;
};

/* ---- parse tree (arena) ---- */
enum tmpl_arg_kind { A_DOT, A_NIL, A_LIT, A_FIELD, A_VAR, A_PIPE, A_FUNC };

struct tmpl_pipe;

/* One operand: a literal, a function name, or something with a field chain after it
 * (.A.B, $x.A, (pipeline).A). src/src_len is the source text, quoted in error messages. */
struct tmpl_arg {
    enum tmpl_arg_kind k;
    uint32_t pos;
    uint32_t src_len;
    const char *src;
    struct tv lit;             /* A_LIT */
    const char *var;           /* A_VAR: "$x" or "$" */
    struct tmpl_pipe *pipe;    /* A_PIPE */
    int fn;                    /* A_FUNC: index into tmpl_funcs[] */
    const char **fields;       /* A_FIELD, A_VAR, A_PIPE: names without the dot */
    uint32_t n_fields;
};

struct tmpl_cmd {
    struct tmpl_cmd *next;
    uint32_t pos, src_len; /* the command's source, the context of "error calling" messages */
    struct tmpl_arg **args;
    uint32_t n_args;
};

struct tmpl_pipe {
    uint32_t pos;
    uint8_t is_assign; /* `=` rather than `:=` */
    uint8_t n_decl;
    const char *decl[2];
    struct tmpl_cmd *cmds;
};

enum tmpl_node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_BREAK, N_CONTINUE };

struct tmpl_node {
    enum tmpl_node_kind k;
    uint32_t pos;
    struct tmpl_node *next;
    const char *text; /* N_TEXT, after trimming */
    size_t len;
    struct tmpl_pipe *pipe;
    struct tmpl_node *list, *else_list;
};

struct tmpl {
    const char *name;
    const char *text; /* arena copy of the source, for line:col in execution errors */
    size_t n;
    struct tmpl_node *root;
};

/* ---- literals (template_lit.c) ---- */
/* strconv.Unquote of a "..." or '...' body (quotes stripped, q the quote): Go's escapes; out
 * needs n bytes. -1 on a bad escape. */
int tmpl_unquote(const char *s, size_t n, char q, char *out, size_t *ret_n);
/* A number or 'c' literal as Go's text/template types it; 0 or one of: */
#define TMPL_LIT_BAD_CHAR 1
#define TMPL_LIT_BAD_NUMBER 2
#define TMPL_LIT_OVERFLOW 3
int tmpl_number(const char *s, size_t n, struct tv *ret);
size_t tmpl_put_utf8(char *out, uint32_t rune); /* out: 4 bytes; surrogates become U+FFFD */

/* "$", "$labels", "$externalLabels", "$externalURL", "$value": declared before the text. */
#define TMPL_N_PREDECLARED 5
extern const char *const tmpl_predeclared[TMPL_N_PREDECLARED];

/* ---- executor state shared with the function library ---- */
struct tmpl_var {
    const char *name;
    struct tv val;
};

struct tmpl_sbuf {
    char *p;
    size_t len, cap;
};

struct tmpl_exec {
    struct arena *a;
    const struct tmpl *t;
    const struct tmpl_data *d;
    struct tmpl_var *vars;
    size_t n_vars, cap_vars;
    uint64_t steps;
    uint64_t bytes; /* string bytes built so far, against TMPL_MAX_BYTES */
    uint32_t queries;
    /* what is being evaluated, for the position and <context> of error messages */
    uint32_t at_pos, at_len;
    const char *at_src;
    const char *calling;       /* function being called: "error calling NAME: " */
    struct err *e;
    int code;
    jmp_buf fail;
};

/* Ends execution: formats Go's "template: N:L:C: executing ..." message around fmt and
 * longjmps out. code: ERR_EXEC, ERR_LIMIT or a query function's code. */
_Noreturn void tmpl_exec_fail(struct tmpl_exec *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Arena allocation counted against TMPL_MAX_BYTES; failure ends execution. */
void *tmpl_exec_alloc(struct tmpl_exec *x, size_t n);
/* Charges n steps against TMPL_MAX_STEPS. */
void tmpl_exec_steps(struct tmpl_exec *x, uint64_t n);
/* Arena-backed string building; every failure (arena cap, TMPL_MAX_OUTPUT) ends execution. */
void tmpl_sbuf_add(struct tmpl_exec *x, struct tmpl_sbuf *b, const char *p, size_t n);
void tmpl_sbuf_printf(struct tmpl_exec *x, struct tmpl_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct tv tmpl_sbuf_value(struct tmpl_exec *x, struct tmpl_sbuf *b); /* TV_STRING of b */
struct tv tmpl_str(const char *p, size_t n);

/* ---- functions (template_funcs.c) ---- */
/* Argument kinds a function declares; checked before the call, as Go's reflection does. */
enum tmpl_param { P_ANY, P_STRING, P_SAMPLE, P_VECTOR };

struct tmpl_func {
    const char *name;
    int min_args, max_args;     /* max -1: variadic */
    enum tmpl_param params[3];  /* the last one repeats for variadic functions */
    struct tv (*call)(struct tmpl_exec *x, struct tv *args, int n);
};

extern const struct tmpl_func tmpl_funcs[];
int tmpl_func_find(const char *name, size_t n); /* index, or -1 */
/* Index of and/or, which the executor evaluates lazily (they short-circuit in Go). */
#define TMPL_FUNC_AND 0
#define TMPL_FUNC_OR 1

/* Go's truth: false, 0, nil, and empty strings, maps and vectors are false. */
int tmpl_truth(const struct tv *v);
/* Go's %T name of the value's type, for messages. */
const char *tmpl_type_name(const struct tv *v);
/* Appends fmt.Sprint(v): how {{ v }} prints. */
void tmpl_print_value(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct tv *v);
/* Field access .name on v: labels and maps look the key up (missing: zero value), samples
 * and the alert data have their Go struct fields. */
struct tv tmpl_field(struct tmpl_exec *x, const struct tv *v, const char *name);

/* template_fmt.c: Go's fmt.Sprintf for the verbs templates use. */
struct tv tmpl_sprintf(struct tmpl_exec *x, const char *f, size_t fn, const struct tv *args,
                       int n);
/* Go's %.4g (and other C-compatible precisions) with Go's spelling of NaN and infinities. */
int tmpl_fmt_g(char *out, size_t cap, double v, int prec);

#endif
