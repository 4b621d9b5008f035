/* rules/template_funcs.c — the functions a Prometheus rule template can call: Go's text/template
 * builtins (and, or, not, len, index, print*, comparisons, html, urlquery) and Prometheus' own
 * (query, first, label, value, humanize*, reReplaceAll, stripPort, ...), each with Go's
 * argument checks, results and error messages. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"

#define F(name) static struct tv fn_##name(struct tmpl_exec *x, struct tv *a, int n)
/* A match may backtrack this often (about a millisecond), and costs RE_STEPS of the template's
 * TMPL_MAX_STEPS: at most ~1000 matches per execution, so regexes cannot run for minutes. */
#define RE_MATCH_LIMIT 100000
#define RE_HEAP_KIB 4096
#define RE_STEPS 1000

static struct tv boolv(int b) { return (struct tv){.k = TV_BOOL, .b = b != 0}; }
static struct tv floatv(double f) { return (struct tv){.k = TV_FLOAT, .f = f}; }
static struct tv cstr(const char *s) { return tmpl_str(s, strlen(s)); }

/* NUL-terminated arena copy of a string argument. */
static char *zstr(struct tmpl_exec *x, const struct tv *v)
{
    char *s = tmpl_exec_alloc(x, v->s.n + 1);
    memcpy(s, v->s.p, v->s.n);
    s[v->s.n] = 0;
    return s;
}

/* ---- Go builtins ---- */

F(and) { (void) x; return a[n - 1]; } /* evaluated lazily by the executor */
F(or) { (void) x; return a[n - 1]; }
F(not) { (void) x; (void) n; return boolv(!tmpl_truth(&a[0])); }

F(len)
{
    (void) n;
    switch (a[0].k) {
    case TV_STRING: return (struct tv){.k = TV_INT, .i = (int64_t) a[0].s.n};
    case TV_LABELS: return (struct tv){.k = TV_INT, .i = a[0].labels->n};
    case TV_MAP: return (struct tv){.k = TV_INT, .i = (int64_t) a[0].map.n};
    case TV_VECTOR: return (struct tv){.k = TV_INT, .i = (int64_t) a[0].vec.n};
    case TV_NIL: tmpl_exec_fail(x, ERR_EXEC, "len of nil pointer");
    default: tmpl_exec_fail(x, ERR_EXEC, "len of type %s", tmpl_type_name(&a[0]));
    }
}

F(index)
{
    struct tv v = a[0];
    if (v.k == TV_NIL)
        tmpl_exec_fail(x, ERR_EXEC, "index of untyped nil");
    for (int i = 1; i < n; i++) {
        const struct tv *k = &a[i];
        if (v.k == TV_LABELS || v.k == TV_MAP) {
            if (k->k != TV_STRING)
                tmpl_exec_fail(x, ERR_EXEC, "value has type %s; should be string",
                               tmpl_type_name(k));
            v = tmpl_field(x, &v, zstr(x, k));
            if (v.k == TV_NIL && a[0].k == TV_LABELS)
                v = cstr("");
        } else if (v.k == TV_VECTOR || v.k == TV_STRING) {
            if (k->k == TV_NIL)
                tmpl_exec_fail(x, ERR_EXEC, "cannot index slice/array with nil");
            if (k->k != TV_INT)
                tmpl_exec_fail(x, ERR_EXEC, "cannot index slice/array with type %s",
                               tmpl_type_name(k));
            size_t len = v.k == TV_VECTOR ? v.vec.n : v.s.n;
            if (k->i < 0 || (uint64_t) k->i >= len)
                tmpl_exec_fail(x, ERR_EXEC, "index out of range: %lld", (long long) k->i);
            v = v.k == TV_VECTOR ? (struct tv){.k = TV_SAMPLE, .sample = &v.vec.v[k->i]}
                                 : (struct tv){.k = TV_INT, .i = (unsigned char) v.s.p[k->i]};
        } else {
            tmpl_exec_fail(x, ERR_EXEC, "can't index item of type %s", tmpl_type_name(&v));
        }
    }
    return v;
}

/* fmt.Sprint adds a space between operands when neither is a string; Sprintln always does. */
static struct tv sprint(struct tmpl_exec *x, struct tv *a, int n, int ln)
{
    struct tmpl_sbuf b = {0};
    for (int i = 0; i < n; i++) {
        if (i > 0 && (ln || (a[i].k != TV_STRING && a[i - 1].k != TV_STRING)))
            tmpl_sbuf_add(x, &b, " ", 1);
        tmpl_print_value(x, &b, &a[i]);
    }
    if (ln)
        tmpl_sbuf_add(x, &b, "\n", 1);
    return tmpl_sbuf_value(x, &b);
}
F(print) { return sprint(x, a, n, 0); }
F(println) { return sprint(x, a, n, 1); }
F(printf) { return tmpl_sprintf(x, a[0].s.p, a[0].s.n, a + 1, n - 1); }

static struct tv escape(struct tmpl_exec *x, struct tv *a, int n, int url)
{
    struct tv s = n == 1 && a[0].k == TV_STRING ? a[0] : sprint(x, a, n, 0);
    struct tmpl_sbuf b = {0};
    for (size_t i = 0; i < s.s.n; i++) {
        unsigned char c = (unsigned char) s.s.p[i];
        if (url) { /* url.QueryEscape */
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~')
                tmpl_sbuf_add(x, &b, s.s.p + i, 1);
            else if (c == ' ')
                tmpl_sbuf_add(x, &b, "+", 1);
            else
                tmpl_sbuf_printf(x, &b, "%%%02X", c);
            continue;
        }
        const char *e = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"'
                      ? "&#34;" : c == '\'' ? "&#39;" : c == 0 ? "\xef\xbf\xbd" : NULL;
        if (e)
            tmpl_sbuf_add(x, &b, e, strlen(e));
        else
            tmpl_sbuf_add(x, &b, s.s.p + i, 1);
    }
    return tmpl_sbuf_value(x, &b);
}
F(html) { return escape(x, a, n, 0); }
F(urlquery) { return escape(x, a, n, 1); }

/* ---- comparisons (Go's eq, lt...: basic kinds only, no int/float mixing) ---- */

static int basic(const struct tv *v)
{
    return v->k == TV_BOOL || v->k == TV_INT || v->k == TV_FLOAT || v->k == TV_STRING;
}

static int cmp_same(const struct tv *p, const struct tv *q) /* same basic kind */
{
    switch (p->k) {
    case TV_BOOL: return p->b - q->b;
    case TV_INT: return (p->i > q->i) - (p->i < q->i);
    case TV_FLOAT: return (p->f > q->f) - (p->f < q->f) + 2 * (isnan(p->f) || isnan(q->f));
    default: {
        size_t m = p->s.n < q->s.n ? p->s.n : q->s.n;
        int c = m ? memcmp(p->s.p, q->s.p, m) : 0;
        return c ? (c > 0 ? 1 : -1) : (p->s.n > q->s.n) - (p->s.n < q->s.n);
    }
    }
}

static int eq2(struct tmpl_exec *x, const struct tv *p, const struct tv *q)
{
    if (p->k == TV_NIL || q->k == TV_NIL)
        return p->k == q->k;
    if (p->k != q->k)
        tmpl_exec_fail(x, ERR_EXEC, "incompatible types for comparison");
    if (!basic(p)) {
        if (p->k == TV_SAMPLE)
            return p->sample == q->sample;
        tmpl_exec_fail(x, ERR_EXEC, "non-comparable type %s", tmpl_type_name(p));
    }
    return cmp_same(p, q) == 0;
}

F(eq)
{
    if (n < 2)
        tmpl_exec_fail(x, ERR_EXEC, "missing argument for comparison");
    for (int i = 1; i < n; i++)
        if (eq2(x, &a[0], &a[i]))
            return boolv(1);
    return boolv(0);
}
F(ne) { (void) n; return boolv(!eq2(x, &a[0], &a[1])); }

/* -1, 0, 1 for lt/le/gt/ge; 2 when unordered (NaN). */
static int order(struct tmpl_exec *x, const struct tv *p, const struct tv *q)
{
    if (!basic(p) || !basic(q) || p->k == TV_BOOL || q->k == TV_BOOL)
        tmpl_exec_fail(x, ERR_EXEC, "invalid type for comparison");
    if (p->k != q->k)
        tmpl_exec_fail(x, ERR_EXEC, "incompatible types for comparison");
    return cmp_same(p, q);
}
F(lt) { (void) n; int c = order(x, &a[0], &a[1]); return boolv(c == -1); }
F(le) { (void) n; int c = order(x, &a[0], &a[1]); return boolv(c == -1 || c == 0); }
F(gt) { (void) n; int c = order(x, &a[0], &a[1]); return boolv(c == 1); }
F(ge) { (void) n; int c = order(x, &a[0], &a[1]); return boolv(c == 1 || c == 0); }

/* ---- Prometheus: queries and samples ---- */

static const struct tmpl_sample *deref(struct tmpl_exec *x, const struct tv *v)
{
    if (!v->sample)
        tmpl_exec_fail(x, ERR_EXEC, "runtime error: invalid memory address or nil pointer "
                                    "dereference");
    return v->sample;
}

F(query)
{
    (void) n;
    if (!x->d->query)
        tmpl_exec_fail(x, ERR_EXEC, "queries are not available in this template");
    if (++x->queries > TMPL_MAX_QUERIES)
        tmpl_exec_fail(x, ERR_LIMIT, "more than %u queries in one template", TMPL_MAX_QUERIES);
    struct tmpl_sample *res = NULL;
    size_t res_n = 0;
    struct err qe = {0};
    int r = x->d->query(x->d->query_ctx, x->a, a[0].s.p, a[0].s.n, &res, &res_n, &qe);
    if (r < 0)
        tmpl_exec_fail(x, r, "%s", qe.msg[0] ? qe.msg : err_str(r));
    return (struct tv){.k = TV_VECTOR, .vec = {res, res ? res_n : 0}};
}

F(first)
{
    (void) n;
    if (!a[0].vec.n)
        tmpl_exec_fail(x, ERR_EXEC, "first() called on vector with no elements");
    return (struct tv){.k = TV_SAMPLE, .sample = &a[0].vec.v[0]};
}

static struct tv label_of(struct tmpl_exec *x, const struct tv *s, const char *name)
{
    const char *v = labels_get(&deref(x, s)->labels, name);
    return cstr(v ? v : "");
}
F(label) { (void) n; return label_of(x, &a[1], zstr(x, &a[0])); }
F(value) { (void) n; return floatv(deref(x, &a[0])->value); }
F(strvalue) { (void) n; return label_of(x, &a[0], "__value__"); }

static int entry_cmp(const void *p, const void *q)
{
    return strcmp(((const struct tv_entry *) p)->key, ((const struct tv_entry *) q)->key);
}

F(args)
{
    struct tv_entry *e = tmpl_exec_alloc(x, ((size_t) n + 1) * sizeof *e);
    for (int i = 0; i < n; i++) {
        char *key = tmpl_exec_alloc(x, 16);
        snprintf(key, 16, "arg%d", i);
        e[i] = (struct tv_entry){key, a[i]};
    }
    qsort(e, (size_t) n, sizeof *e, entry_cmp); /* Go ranges over maps in key order */
    return (struct tv){.k = TV_MAP, .map = {e, (size_t) n}};
}

struct by_label {
    const struct tmpl_sample *s;
    const char *v;
    size_t i;
};
static int by_label_cmp(const void *p, const void *q)
{
    const struct by_label *a = p, *b = q;
    int c = strcmp(a->v, b->v);
    return c ? c : (a->i > b->i) - (a->i < b->i); /* stable, as sort.Stable */
}

F(sortByLabel)
{
    (void) n;
    size_t m = a[1].vec.n;
    struct by_label *k = tmpl_exec_alloc(x, (m + 1) * sizeof *k);
    struct tmpl_sample *out = tmpl_exec_alloc(x, (m + 1) * sizeof *out);
    const char *name = zstr(x, &a[0]);
    for (size_t i = 0; i < m; i++) {
        const char *v = labels_get(&a[1].vec.v[i].labels, name);
        k[i] = (struct by_label){&a[1].vec.v[i], v ? v : "", i};
    }
    qsort(k, m, sizeof *k, by_label_cmp);
    for (size_t i = 0; i < m; i++)
        out[i] = *k[i].s;
    return (struct tv){.k = TV_VECTOR, .vec = {out, m}};
}

/* ---- Prometheus: regular expressions (Go's regexp: unanchored, RE2 syntax) ---- */

static void free_code(void *p) { pcre2_code_free(p); }
static void free_md(void *p) { pcre2_match_data_free(p); }
static void free_mctx(void *p) { pcre2_match_context_free(p); }

struct rx {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
};

/* Compiles pattern; the code and match data are freed with the arena, so a failure (longjmp)
 * later in the template leaks nothing. */
static struct rx compile(struct tmpl_exec *x, const struct tv *pat, const char *go_fn)
{
    struct rx r = {0};
    for (size_t i = 0; i + 1 < pat->s.n; i++)
        if (pat->s.p[i] == '\\' && pat->s.p[++i] >= '1' && pat->s.p[i] <= '9')
            tmpl_exec_fail(x, ERR_EXEC, "%serror parsing regexp: invalid escape sequence: `\\%c`",
                           go_fn, pat->s.p[i]);
    int code;
    PCRE2_SIZE off;
    r.code = pcre2_compile((PCRE2_SPTR) pat->s.p, pat->s.n,
                           PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &code,
                           &off, NULL);
    if (!r.code) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof msg);
        tmpl_exec_fail(x, ERR_EXEC, "%serror parsing regexp: %s: `%.*s`", go_fn, (char *) msg,
                       (int) (pat->s.n > 40 ? 40 : pat->s.n), pat->s.p);
    }
    if (arena_on_free(x->a, free_code, r.code) < 0) {
        pcre2_code_free(r.code);
        tmpl_exec_fail(x, ERR_LIMIT, "out of memory (arena limit)");
    }
    r.md = pcre2_match_data_create_from_pattern(r.code, NULL);
    if (!r.md || arena_on_free(x->a, free_md, r.md) < 0) {
        pcre2_match_data_free(r.md);
        tmpl_exec_fail(x, ERR_LIMIT, "out of memory");
    }
    r.mctx = pcre2_match_context_create(NULL);
    if (!r.mctx || arena_on_free(x->a, free_mctx, r.mctx) < 0) {
        pcre2_match_context_free(r.mctx);
        tmpl_exec_fail(x, ERR_LIMIT, "out of memory");
    }
    pcre2_set_match_limit(r.mctx, RE_MATCH_LIMIT);
    pcre2_set_heap_limit(r.mctx, RE_HEAP_KIB);
    return r;
}

/* >= 0: match at ovector; -1: none (a hit match limit counts as none, like re.c). */
static int rx_match(struct tmpl_exec *x, const struct rx *r, const struct tv *s, size_t from)
{
    tmpl_exec_steps(x, RE_STEPS);
    int rc = pcre2_match(r->code, (PCRE2_SPTR) s->s.p, s->s.n, from, 0, r->md, r->mctx);
    return rc > 0 ? 0 : -1;
}

F(match)
{
    (void) n;
    struct rx r = compile(x, &a[0], "");
    return boolv(rx_match(x, &r, &a[1], 0) == 0);
}

static int is_word(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Go's Regexp.Expand: $1 ${1} $name ${name} $$; an unknown or malformed name expands to "". */
static void expand(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct rx *r,
                   const struct tv *repl, const struct tv *src)
{
    const char *t = repl->s.p;
    size_t n = repl->s.n;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    uint32_t groups = pcre2_get_ovector_count(r->md);
    for (size_t i = 0; i < n;) {
        if (t[i] != '$' || i + 1 >= n) {
            tmpl_sbuf_add(x, b, t + i, 1);
            i++;
            continue;
        }
        if (t[i + 1] == '$') {
            tmpl_sbuf_add(x, b, "$", 1);
            i += 2;
            continue;
        }
        size_t s = i + 1, e;
        int braced = t[s] == '{';
        if (braced)
            s++;
        for (e = s; e < n && is_word((unsigned char) t[e]); e++)
            ;
        if (e == s || (braced && (e >= n || t[e] != '}'))) { /* not a reference: keep the $ */
            tmpl_sbuf_add(x, b, "$", 1);
            i++;
            continue;
        }
        char name[64];
        size_t len = e - s < sizeof name - 1 ? e - s : sizeof name - 1;
        memcpy(name, t + s, len);
        name[len] = 0;
        i = e + (size_t) braced;
        int g = -1, digits = 1;
        for (size_t k = 0; k < len; k++)
            digits &= name[k] >= '0' && name[k] <= '9';
        if (digits)
            g = len < 6 ? atoi(name) : -1;
        else
            g = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR) name);
        if (g < 0 || (uint32_t) g >= groups || ov[2 * g] == PCRE2_UNSET)
            continue;
        tmpl_sbuf_add(x, b, src->s.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
}

F(reReplaceAll)
{
    (void) n;
    struct rx r = compile(x, &a[0], "regexp: Compile: ");
    const struct tv *src = &a[2];
    struct tmpl_sbuf b = {0};
    size_t pos = 0, last = 0;
    while (pos <= src->s.n && rx_match(x, &r, src, pos) == 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r.md);
        size_t ms = ov[0], me = ov[1];
        if (me < ms) /* \K can do this; treat as empty at ms */
            me = ms;
        tmpl_sbuf_add(x, &b, src->s.p + last, ms - last);
        if (me > last || ms == 0) /* Go: no replacement for an empty match right after one */
            expand(x, &b, &r, &a[1], src);
        last = me;
        size_t w = 1; /* advance at least one UTF-8 character */
        if (pos < src->s.n) {
            unsigned char c = (unsigned char) src->s.p[pos];
            w = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            if (pos + w > src->s.n)
                w = 1;
        }
        pos = pos + w > me ? pos + w : me;
    }
    if (last < src->s.n)
        tmpl_sbuf_add(x, &b, src->s.p + last, src->s.n - last);
    return tmpl_sbuf_value(x, &b);
}

/* ---- Prometheus: strings ---- */

static struct tv map_bytes(struct tmpl_exec *x, const struct tv *s, int mode)
{
    char *o = tmpl_exec_alloc(x, s->s.n + 1);
    int word_start = 1;
    for (size_t i = 0; i < s->s.n; i++) {
        unsigned char c = (unsigned char) s->s.p[i];
        int lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if ((mode == 'u' || (mode == 't' && word_start)) && lower)
            c = (unsigned char) (c - 32);
        else if (mode == 'l' && upper)
            c = (unsigned char) (c + 32);
        /* strings.Title: letters, digits, '_' and non-ASCII continue a word */
        word_start = !(lower || upper || (c >= '0' && c <= '9') || c == '_' || c >= 0x80 ||
                       (s->s.p[i] & 0x80));
        o[i] = (char) c;
    }
    o[s->s.n] = 0;
    return tmpl_str(o, s->s.n);
}
F(toUpper) { (void) n; return map_bytes(x, &a[0], 'u'); }
F(toLower) { (void) n; return map_bytes(x, &a[0], 'l'); }
F(title) { (void) n; return map_bytes(x, &a[0], 't'); }
F(safeHtml) { (void) x; (void) n; return a[0]; }

static struct tv link(struct tmpl_exec *x, struct tv *expr, int tab)
{
    struct tv q = escape(x, expr, 1, 1);
    struct tmpl_sbuf b = {0};
    tmpl_sbuf_printf(x, &b, "/graph?g0.expr=%.*s&g0.tab=%d", (int) q.s.n, q.s.p, tab);
    return tmpl_sbuf_value(x, &b);
}
F(graphLink) { (void) n; return link(x, &a[0], 0); }
F(tableLink) { (void) n; return link(x, &a[0], 1); }

/* net.SplitHostPort: 0 with host [*h, *h+*hn) and port from *p, or -1 when it is not host:port. */
static int split_host_port(const char *s, size_t n, size_t *h, size_t *hn, size_t *p)
{
    const char *colon = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == ':') {
            colon = s + i;
            break;
        }
    if (!colon)
        return -1;
    size_t i = (size_t) (colon - s), j = 0, k = 0;
    if (n && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (!end || (size_t) (end - s) + 1 != i)
            return -1;
        *h = 1;
        *hn = (size_t) (end - s) - 1;
        j = 1;
        k = (size_t) (end - s) + 1;
    } else {
        if (memchr(s, ':', i))
            return -1; /* too many colons */
        *h = 0;
        *hn = i;
    }
    if (memchr(s + j, '[', n - j) || memchr(s + k, ']', n - k))
        return -1;
    *p = i + 1;
    return 0;
}

F(stripPort)
{
    (void) n;
    size_t h, hn, p;
    if (split_host_port(a[0].s.p, a[0].s.n, &h, &hn, &p) < 0)
        return a[0];
    return tmpl_str(a[0].s.p + h, hn);
}

F(stripDomain)
{
    (void) n;
    const char *s = a[0].s.p;
    size_t h = 0, hn = a[0].s.n, p = 0;
    int has_port = split_host_port(s, a[0].s.n, &h, &hn, &p) == 0;
    char ip[64], buf[16];
    if (hn < sizeof ip) {
        memcpy(ip, s + h, hn);
        ip[hn] = 0;
        if (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1)
            return a[0]; /* an IP address has no domain */
    }
    const char *dot = memchr(s + h, '.', hn);
    size_t short_n = dot ? (size_t) (dot - (s + h)) : hn;
    if (!has_port)
        return tmpl_str(s + h, short_n);
    struct tmpl_sbuf b = {0};
    tmpl_sbuf_printf(x, &b, "%.*s:%.*s", (int) short_n, s + h, (int) (a[0].s.n - p), s + p);
    return tmpl_sbuf_value(x, &b);
}

/* The path of the external URL (Go's url.URL.Path): after scheme://authority, before ?/#. */
F(pathPrefix)
{
    (void) a;
    (void) n;
    const char *u = x->d->external_url ? x->d->external_url : "";
    const char *s = strstr(u, "://");
    s = s ? s + 3 + strcspn(s + 3, "/?#") : u;
    return tmpl_str(s, strcspn(s, "?#"));
}
F(externalURL)
{
    (void) a;
    (void) n;
    return cstr(x->d->external_url ? x->d->external_url : "");
}

/* ---- Prometheus: numbers and time ---- */

/* Prometheus' convertToFloat: float64, int and numeric strings. */
static double to_float(struct tmpl_exec *x, const struct tv *v)
{
    if (v->k == TV_FLOAT)
        return v->f;
    if (v->k == TV_INT)
        return (double) v->i;
    if (v->k == TV_STRING) {
        double f;
        if (num_parse_float(v->s.p, v->s.n, &f) < 0)
            tmpl_exec_fail(x, ERR_EXEC, "strconv.ParseFloat: parsing \"%.*s\": invalid syntax",
                           (int) (v->s.n > 64 ? 64 : v->s.n), v->s.p);
        return f;
    }
    tmpl_exec_fail(x, ERR_EXEC, "can't convert %s to float", tmpl_type_name(v));
}

static struct tv g4(struct tmpl_exec *x, double v, const char *suffix)
{
    char tmp[64];
    int k = tmpl_fmt_g(tmp, sizeof tmp, v, 4);
    struct tmpl_sbuf b = {0};
    tmpl_sbuf_add(x, &b, tmp, (size_t) k);
    tmpl_sbuf_add(x, &b, suffix, strlen(suffix));
    return tmpl_sbuf_value(x, &b);
}

static const char *const small_prefix[] = {"m", "u", "n", "p", "f", "a", "z", "y"};

F(humanize)
{
    (void) n;
    double v = to_float(x, &a[0]);
    if (v == 0 || isnan(v) || isinf(v))
        return g4(x, v, "");
    const char *prefix = "";
    if (fabs(v) >= 1) {
        static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
        for (size_t i = 0; i < ARRAY_LEN(big) && fabs(v) >= 1000; i++) {
            prefix = big[i];
            v /= 1000;
        }
        return g4(x, v, prefix);
    }
    for (size_t i = 0; i < ARRAY_LEN(small_prefix) && fabs(v) < 1; i++) {
        prefix = small_prefix[i];
        v *= 1000;
    }
    return g4(x, v, prefix);
}

F(humanize1024)
{
    (void) n;
    double v = to_float(x, &a[0]);
    if (fabs(v) <= 1 || isnan(v) || isinf(v))
        return g4(x, v, "");
    static const char *const big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    const char *prefix = "";
    for (size_t i = 0; i < ARRAY_LEN(big) && fabs(v) >= 1024; i++) {
        prefix = big[i];
        v /= 1024;
    }
    return g4(x, v, prefix);
}

F(humanizeDuration)
{
    (void) n;
    double v = to_float(x, &a[0]);
    if (isnan(v) || isinf(v))
        return g4(x, v, "");
    if (v == 0)
        return g4(x, v, "s");
    if (fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        v = fabs(v);
        /* Go's int64(v) for v >= 2^63 is implementation-defined; ember saturates. */
        int64_t d = v >= 9.2e18 ? INT64_MAX : (int64_t) v;
        int64_t s = d % 60, m = d / 60 % 60, h = d / 3600 % 24, days = d / 86400;
        struct tmpl_sbuf b = {0};
        if (days)
            tmpl_sbuf_printf(x, &b, "%s%lldd %lldh %lldm %llds", sign, (long long) days,
                             (long long) h, (long long) m, (long long) s);
        else if (h)
            tmpl_sbuf_printf(x, &b, "%s%lldh %lldm %llds", sign, (long long) h, (long long) m,
                             (long long) s);
        else if (m)
            tmpl_sbuf_printf(x, &b, "%s%lldm %llds", sign, (long long) m, (long long) s);
        else { /* under a minute: 4 significant digits */
            char tmp[64];
            tmpl_fmt_g(tmp, sizeof tmp, v, 4);
            tmpl_sbuf_printf(x, &b, "%s%ss", sign, tmp);
        }
        return tmpl_sbuf_value(x, &b);
    }
    const char *prefix = "";
    for (size_t i = 0; i < ARRAY_LEN(small_prefix) && fabs(v) < 1; i++) {
        prefix = small_prefix[i];
        v *= 1000;
    }
    char suffix[4];
    snprintf(suffix, sizeof suffix, "%ss", prefix);
    return g4(x, v, suffix);
}

F(humanizePercentage) { (void) n; return g4(x, to_float(x, &a[0]) * 100, "%"); }

/* Prometheus' floatToTime: seconds → time truncated to milliseconds (model.Time). */
static int64_t to_time_ms(struct tmpl_exec *x, double v)
{
    if (isnan(v) || isinf(v))
        tmpl_exec_fail(x, ERR_EXEC, "value is NaN or Inf");
    double ns = v * 1e9;
    if (ns >= 9223372036854775807.0 || ns < -9223372036854775808.0) {
        char tmp[NUM_FLOAT_MAX];
        num_format(tmp, v, 'g');
        tmpl_exec_fail(x, ERR_EXEC, "%s cannot be represented as a nanoseconds timestamp since "
                                    "it overflows int64", tmp);
    }
    return (int64_t) ns / 1000000;
}

F(humanizeTimestamp)
{
    (void) n;
    double v = to_float(x, &a[0]);
    if (isnan(v) || isinf(v))
        return g4(x, v, "");
    struct tv t = {.k = TV_TIME, .ms = to_time_ms(x, v)};
    struct tmpl_sbuf b = {0};
    tmpl_print_value(x, &b, &t);
    return tmpl_sbuf_value(x, &b);
}

F(toTime)
{
    (void) n;
    return (struct tv){.k = TV_TIME, .ms = to_time_ms(x, to_float(x, &a[0]))};
}

F(parseDuration)
{
    (void) n;
    int64_t ms;
    if (a[0].s.n == 1 && a[0].s.p[0] == '0')
        return floatv(0);
    if (duration_parse(a[0].s.p, a[0].s.n, &ms) < 0)
        tmpl_exec_fail(x, ERR_EXEC, "not a valid duration string: \"%.*s\"",
                       (int) (a[0].s.n > 64 ? 64 : a[0].s.n), a[0].s.p);
    return floatv((double) ms / 1000.0);
}

#define S P_STRING
/* and/or first: the executor finds them by index (TMPL_FUNC_AND, TMPL_FUNC_OR). */
const struct tmpl_func tmpl_funcs[] = {
    {"and", 1, -1, {0}, fn_and},
    {"or", 1, -1, {0}, fn_or},
    {"not", 1, 1, {0}, fn_not},
    {"len", 1, 1, {0}, fn_len},
    {"index", 1, -1, {0}, fn_index},
    {"print", 0, -1, {0}, fn_print},
    {"printf", 1, -1, {S, P_ANY, P_ANY}, fn_printf},
    {"println", 0, -1, {0}, fn_println},
    {"html", 0, -1, {0}, fn_html},
    {"urlquery", 0, -1, {0}, fn_urlquery},
    {"eq", 1, -1, {0}, fn_eq},
    {"ne", 2, 2, {0}, fn_ne},
    {"lt", 2, 2, {0}, fn_lt},
    {"le", 2, 2, {0}, fn_le},
    {"gt", 2, 2, {0}, fn_gt},
    {"ge", 2, 2, {0}, fn_ge},
    {"query", 1, 1, {S}, fn_query},
    {"first", 1, 1, {P_VECTOR}, fn_first},
    {"label", 2, 2, {S, P_SAMPLE}, fn_label},
    {"value", 1, 1, {P_SAMPLE}, fn_value},
    {"strvalue", 1, 1, {P_SAMPLE}, fn_strvalue},
    {"args", 0, -1, {0}, fn_args},
    {"sortByLabel", 2, 2, {S, P_VECTOR}, fn_sortByLabel},
    {"reReplaceAll", 3, 3, {S, S, S}, fn_reReplaceAll},
    {"match", 2, 2, {S, S}, fn_match},
    {"safeHtml", 1, 1, {S}, fn_safeHtml},
    {"title", 1, 1, {S}, fn_title},
    {"toUpper", 1, 1, {S}, fn_toUpper},
    {"toLower", 1, 1, {S}, fn_toLower},
    {"graphLink", 1, 1, {S}, fn_graphLink},
    {"tableLink", 1, 1, {S}, fn_tableLink},
    {"stripPort", 1, 1, {S}, fn_stripPort},
    {"stripDomain", 1, 1, {S}, fn_stripDomain},
    {"pathPrefix", 0, 0, {0}, fn_pathPrefix},
    {"externalURL", 0, 0, {0}, fn_externalURL},
    {"humanize", 1, 1, {0}, fn_humanize},
    {"humanize1024", 1, 1, {0}, fn_humanize1024},
    {"humanizeDuration", 1, 1, {0}, fn_humanizeDuration},
    {"humanizePercentage", 1, 1, {0}, fn_humanizePercentage},
    {"humanizeTimestamp", 1, 1, {0}, fn_humanizeTimestamp},
    {"toTime", 1, 1, {0}, fn_toTime},
    {"parseDuration", 1, 1, {S}, fn_parseDuration},
};
#undef S

int tmpl_func_find(const char *name, size_t n)
{
    for (size_t i = 0; i < ARRAY_LEN(tmpl_funcs); i++)
        if (strlen(tmpl_funcs[i].name) == n && !memcmp(tmpl_funcs[i].name, name, n))
            return (int) i;
    return -1;
}
