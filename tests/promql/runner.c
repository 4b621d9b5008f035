/* tests/promql/runner.c — runs Prometheus' PromQL script tests (shared/promql-tests/NAME.test,
 * language in its FORMAT.md) against an in-memory tsdb: one TAP case per eval statement, each also
 * re-run as a range query from T-1m to T+1m as Prometheus' own runner does.
 * usage: promql_runner DIR [FILE.test ...] — with no files, every *.test directly in DIR. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/ast.h"
#include "promql/promql.h"
#include "rules/rules.h"

static int n_cases, n_failed, n_at_variants;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    size_t got;
    while (p && (got = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *np = realloc(p, cap *= 2);
            if (!np) {
                free(p);
                p = NULL;
            }
            p = np;
        }
    }
    fclose(f);
    if (p)
        p[n] = 0;
    return p;
}

struct file_ctx {
    const char *name;
    tsdb *db;
    promql_engine *eng;
    int pass, total;
};

static char *trim(char *s)
{
    while (*s && isspace((unsigned char) *s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char) s[n - 1]))
        s[--n] = 0;
    return s;
}

static int parse_time(const char *s, size_t n, int64_t *ret)
{
    if (n == 1 && s[0] == '0') {
        *ret = 0;
        return 0;
    }
    return duration_parse(s, n, ret);
}

/* Splits "<series> <rest>" where the series may hold quoted strings with spaces. */
static int split_series(char *line, char **ret_series, char **ret_rest)
{
    char *p = line;
    int depth = 0;
    char q = 0;
    for (; *p; p++) {
        if (q) {
            if (*p == '\\' && q != '`' && p[1])
                p++;
            else if (*p == q)
                q = 0;
            continue;
        }
        if (*p == '"' || *p == '\'' || *p == '`')
            q = *p;
        else if (*p == '{')
            depth++;
        else if (*p == '}')
            depth--;
        else if (isspace((unsigned char) *p) && depth == 0)
            break;
    }
    *ret_series = line;
    if (*p) {
        *p++ = 0;
        *ret_rest = trim(p);
    } else {
        *ret_rest = p;
    }
    return 0;
}

/* A series descriptor: the notation shared with `ember test rules` (rules/series.c). */
static int parse_labels(struct arena *a, const char *s, struct labels *ret)
{
    return rules_series_labels(a, s, ret, NULL) < 0 ? -1 : 0;
}

/* Canonical text of a load line's series, to spot repeats. */
static char *series_key(struct arena *a, const char *line)
{
    char *copy = arena_strdup(a, line), *series, *rest;
    struct labels ls;
    split_series(copy, &series, &rest);
    if (parse_labels(a, series, &ls) < 0)
        return NULL;
    return labels_format(a, &ls);
}

static int parse_value(const char *s, size_t n, double *ret)
{
    if (n == 0)
        return -1;
    return num_parse_float(s, n, ret);
}

struct load_ctx {
    tsdb_appender *app;
    const struct labels *ls;
    uint64_t ref;
    int64_t interval;
};

static int load_point(void *arg, uint64_t slot, double v)
{
    struct load_ctx *lc = arg;
    return tsdb_appender_add(lc->app, &lc->ref, lc->ls, (int64_t) slot * lc->interval, v, NULL);
}

static int load_line(struct file_ctx *fc, struct arena *a, tsdb_appender *app, char *line,
                     int64_t interval)
{
    char *series, *rest;
    split_series(line, &series, &rest);
    struct labels ls;
    if (parse_labels(a, series, &ls) < 0)
        return -1;
    struct load_ctx lc = {app, &ls, 0, interval};
    (void) fc;
    return rules_series_values(rest, load_point, &lc, NULL) < 0 ? -1 : 0;
}

static int almost_equal(double a, double b)
{
    const double min_normal = 2.2250738585072014e-308, eps = 1e-6;
    if (isnan(a) && isnan(b))
        return 1;
    if (a == b)
        return 1;
    double d = fabs(a - b);
    if (a == 0 || b == 0 || d < min_normal)
        return d < eps * min_normal;
    return d / (fabs(a) + fabs(b)) < eps;
}

struct expect {
    struct labels ls;
    const char *key;
    double v;
    int seen;
};

struct eval_cmd {
    int line;
    int ordered, fail;
    int64_t t;
    const char *expr;
    struct expect *ex;
    size_t n_ex;
    int scalar;
    double scalar_v;
};

static int check_vector(struct arena *a, const struct eval_cmd *c, const struct promql_sample *v,
                        size_t n, char *why, size_t cap)
{
    if (c->scalar) {
        (void) snprintf(why, cap, "expected scalar, got vector of %zu", n);
        return 0;
    }
    for (size_t i = 0; i < c->n_ex; i++)
        c->ex[i].seen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = labels_format(a, &v[i].metric);
        size_t j = 0;
        while (j < c->n_ex && strcmp(c->ex[j].key, k) != 0)
            j++;
        if (j == c->n_ex) {
            (void) snprintf(why, cap, "unexpected metric %s %.17g", k, v[i].v);
            return 0;
        }
        if (c->ordered && j != i) {
            (void) snprintf(why, cap, "expected %s at index %zu, got index %zu", k, j, i);
            return 0;
        }
        if (!almost_equal(c->ex[j].v, v[i].v)) {
            (void) snprintf(why, cap, "%s: expected %.17g, got %.17g", k, c->ex[j].v, v[i].v);
            return 0;
        }
        c->ex[j].seen = 1;
    }
    for (size_t j = 0; j < c->n_ex; j++)
        if (!c->ex[j].seen) {
            (void) snprintf(why, cap, "expected metric %s not found", c->ex[j].key);
            return 0;
        }
    return 1;
}

static int run_one(struct file_ctx *fc, struct arena *a, const struct eval_cmd *c, const char *expr,
                   int64_t t, char *why, size_t cap)
{
    struct promql_expr *x;
    struct err e = {0};
    if (promql_parse(a, expr, strlen(expr), &x, &e) < 0) {
        (void) snprintf(why, cap, "%s", e.msg);
        return 0;
    }
    struct promql_result res;
    int r = promql_eval_instant(fc->eng, a, x, t, &res, &e);
    if (c->fail) {
        if (r >= 0)
            (void) snprintf(why, cap, "expected an error, got none");
        return r < 0;
    }
    if (r < 0) {
        (void) snprintf(why, cap, "error: %s", e.msg);
        return 0;
    }
    if (res.type == PROMQL_SCALAR) {
        if (!c->scalar || !almost_equal(c->scalar_v, res.u.scalar.v)) {
            (void) snprintf(why, cap, "scalar %.17g, expected %s %.17g", res.u.scalar.v,
                            c->scalar ? "scalar" : "vector", c->scalar_v);
            return 0;
        }
    } else if (res.type == PROMQL_VECTOR) {
        if (!check_vector(a, c, res.u.vector.v, res.u.vector.n, why, cap))
            return 0;
    } else {
        (void) snprintf(why, cap, "unexpected result type %s", promql_value_type_name(res.type));
        return 0;
    }
    /* Range-mode check: the same expression over [T-1m, T+1m], points at T. */
    struct promql_result rr;
    if (promql_eval_range(fc->eng, a, x, t - 60000, t + 60000, 60000, &rr, &e) < 0) {
        (void) snprintf(why, cap, "range query: %s", e.msg);
        return 0;
    }
    if (c->ordered)
        return 1;
    for (size_t i = 1; i < rr.u.matrix.n; i++)
        if (labels_cmp(&rr.u.matrix.v[i - 1].metric, &rr.u.matrix.v[i].metric) > 0) {
            (void) snprintf(why, cap, "range query: matrix not sorted by labels");
            return 0;
        }
    struct promql_sample *at = arena_calloc(a, rr.u.matrix.n + 1, sizeof *at);
    size_t n = 0;
    for (size_t i = 0; i < rr.u.matrix.n; i++)
        for (size_t j = 0; j < rr.u.matrix.v[i].n_points; j++)
            if (rr.u.matrix.v[i].points[j].t == t) {
                at[n++] = (struct promql_sample){rr.u.matrix.v[i].metric, t,
                                                 rr.u.matrix.v[i].points[j].v};
                break;
            }
    if (c->scalar) {
        if (n != 1 || !almost_equal(c->scalar_v, at[0].v)) {
            (void) snprintf(why, cap, "range query: scalar mismatch (%zu points)", n);
            return 0;
        }
        return 1;
    }
    char sub[200];
    if (!check_vector(a, c, at, n, sub, sizeof sub)) {
        (void) snprintf(why, cap, "range query: %s", sub);
        return 0;
    }
    return 1;
}

/* Functions whose value depends on the evaluation time: no @ variants for them. */
static int at_unsafe(const struct promql_expr *x)
{
    static const char *const names[] = {
        "time",         "timestamp",   "predict_linear", "minute", "hour", "day_of_week",
        "day_of_month", "day_of_year", "days_in_month",  "month",  "year"};
    switch (x->kind) {
    case NODE_PAREN: return at_unsafe(x->u.paren);
    case NODE_UNARY: return at_unsafe(x->u.unary.x);
    case NODE_SUBQUERY: return at_unsafe(x->u.sub.x);
    case NODE_BINARY: return at_unsafe(x->u.bin.l) || at_unsafe(x->u.bin.r);
    case NODE_AGG: return (x->u.agg.param && at_unsafe(x->u.agg.param)) || at_unsafe(x->u.agg.x);
    case NODE_CALL:
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(x->u.call.f->name, names[i]) == 0)
                return 1;
        for (size_t i = 0; i < x->u.call.n_args; i++)
            if (at_unsafe(x->u.call.args[i]))
                return 1;
        return 0;
    default: return 0;
    }
}

/* Pins every selector and subquery without @ to t; nothing inside a subquery (which then has
 * an @) is touched, as Prometheus' atModifierTestCases does. */
static void pin_at(struct promql_expr *x, int64_t t)
{
    struct promql_mod *m = NULL;
    switch (x->kind) {
    case NODE_VECTOR_SEL: m = &x->u.sel.mod; break;
    case NODE_MATRIX_SEL: m = &x->u.matrix.vs->u.sel.mod; break;
    case NODE_SUBQUERY: m = &x->u.sub.mod; break;
    case NODE_PAREN: pin_at(x->u.paren, t); return;
    case NODE_UNARY: pin_at(x->u.unary.x, t); return;
    case NODE_BINARY:
        pin_at(x->u.bin.l, t);
        pin_at(x->u.bin.r, t);
        return;
    case NODE_AGG:
        if (x->u.agg.param)
            pin_at(x->u.agg.param, t);
        pin_at(x->u.agg.x, t);
        return;
    case NODE_CALL:
        for (size_t i = 0; i < x->u.call.n_args; i++)
            pin_at(x->u.call.args[i], t);
        return;
    default: return;
    }
    if (m->at == AT_NONE) {
        m->at = AT_TIME;
        m->at_ms = t;
    }
}

/* The eval as written, then (FORMAT.md "@-modifier variants") the printed @-pinned expression at
 * other times, each with the range-mode check. */
static int run_eval(struct file_ctx *fc, struct arena *a, const struct eval_cmd *c, char *why,
                    size_t cap)
{
    if (!run_one(fc, a, c, c->expr, c->t, why, cap))
        return 0;
    struct promql_expr *x;
    struct err e = {0};
    if (c->fail || promql_parse(a, c->expr, strlen(c->expr), &x, &e) < 0 || at_unsafe(x))
        return 1;
    pin_at(x, c->t);
    const char *pinned = promql_format(a, x);
    int64_t t = c->t;
    int64_t times[5] = {-10 * t, 0, t / 5, t, 10 * t};
    size_t nt = 5;
    if (t == 0) {
        times[0] = -1000;
        times[1] = 0;
        times[2] = 1000;
        nt = 3;
    }
    n_at_variants++;
    for (size_t i = 0; i < nt; i++) {
        char sub[300];
        if (!run_one(fc, a, c, pinned, times[i], sub, sizeof sub)) {
            (void) snprintf(why, cap, "%s at %lld: %s", pinned, (long long) times[i], sub);
            return 0;
        }
    }
    return 1;
}

static void report(struct file_ctx *fc, const struct eval_cmd *c, int ok, const char *why)
{
    n_cases++;
    fc->total++;
    if (ok)
        fc->pass++;
    else
        n_failed++;
    printf("%s %d - %s:%d %s%s%s\n", ok ? "ok" : "not ok", n_cases, fc->name, c->line, c->expr,
           ok ? "" : " # ", ok ? "" : why);
}

static int reset_db(struct file_ctx *fc)
{
    promql_engine_free(fc->eng);
    tsdb_close(fc->db);
    fc->eng = NULL;
    fc->db = NULL;
    struct tsdb_opts o = {0};
    struct err e = {0};
    struct promql_engine_opts eo = {.lookback_delta_ms = 5 * 60000, .max_samples = 10000};
    if (tsdb_open(&o, &fc->db, &e) < 0 || promql_engine_new(fc->db, &eo, &fc->eng, &e) < 0) {
        fprintf(stderr, "open: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void run_file(const char *dir, const char *name)
{
    char path[4096];
    (void) snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = read_file(path);
    if (!text) {
        printf("not ok %d - %s # cannot read\n", ++n_cases, name);
        n_failed++;
        return;
    }
    struct file_ctx fc = {.name = name};
    if (reset_db(&fc) < 0)
        return;
    /* Split on '\n' keeping empty lines: they end load and eval blocks. */
    char **lines = NULL;
    size_t nl = 0;
    for (char *p = text; p;) {
        char *nx = strchr(p, '\n');
        if (nx)
            *nx++ = 0;
        lines = realloc(lines, (nl + 1) * sizeof *lines);
        lines[nl++] = p;
        p = nx;
    }
    for (size_t i = 0; i < nl; i++) {
        char *l = trim(lines[i]);
        if (*l == '#')
            *l = 0;
        lines[i] = l;
    }
    for (size_t i = 0; i < nl; i++) {
        char *l = lines[i];
        if (!*l)
            continue;
        struct arena *a = arena_new(0);
        if (strncasecmp(l, "clear", 5) == 0) {
            (void) reset_db(&fc);
        } else if (strncasecmp(l, "load", 4) == 0) {
            int64_t interval;
            char *arg = trim(l + 4);
            if (parse_time(arg, strlen(arg), &interval) < 0)
                fprintf(stderr, "%s:%zu: bad load interval\n", name, i + 1);
            tsdb_appender *app = tsdb_appender_new(fc.db);
            size_t first = i + 1;
            while (i + 1 < nl && *lines[i + 1])
                i++;
            /* A series listed twice in one block: the later line replaces the earlier one. */
            for (size_t j = first; j <= i; j++) {
                char *sj = series_key(a, lines[j]);
                int later = 0;
                for (size_t k = j + 1; k <= i && sj && !later; k++) {
                    char *sk = series_key(a, lines[k]);
                    later = sk && strcmp(sj, sk) == 0;
                }
                if (!later && load_line(&fc, a, app, lines[j], interval) < 0)
                    fprintf(stderr, "%s:%zu: bad load line\n", name, j + 1);
            }
            struct err e = {0};
            if (tsdb_appender_commit(app, &e) < 0)
                fprintf(stderr, "%s: commit: %s\n", name, e.msg);
        } else if (strncasecmp(l, "eval", 4) == 0) {
            struct eval_cmd c = {.line = (int) i + 1};
            char *p = l, *word = p;
            while (*p && !isspace((unsigned char) *p))
                p++;
            size_t wl = (size_t) (p - word);
            c.ordered = wl == 12 && strncmp(word, "eval_ordered", 12) == 0;
            c.fail = wl == 9 && strncmp(word, "eval_fail", 9) == 0;
            p = trim(p);
            if (strncmp(p, "instant", 7) != 0) {
                report(&fc, &c, 0, "unsupported eval form");
                arena_free(a);
                continue;
            }
            p = trim(p + 7);
            if (strncmp(p, "at ", 3) == 0)
                p = trim(p + 3);
            char *tend = p;
            while (*tend && !isspace((unsigned char) *tend))
                tend++;
            (void) parse_time(p, (size_t) (tend - p), &c.t);
            c.expr = trim(tend);
            size_t cap = 0;
            while (i + 1 < nl && *lines[i + 1]) {
                char *bl = lines[++i];
                char *series, *rest;
                double v;
                char *end;
                long long iv = strtoll(bl, &end, 0);
                if (*end == 0 && end != bl) {
                    c.scalar = 1;
                    c.scalar_v = (double) iv;
                    break;
                }
                if (num_parse_float(bl, strlen(bl), &v) == 0) {
                    c.scalar = 1;
                    c.scalar_v = v;
                    break;
                }
                split_series(bl, &series, &rest);
                if (c.n_ex == cap) {
                    cap = cap ? cap * 2 : 8;
                    struct expect *ne = arena_alloc(a, cap * sizeof *ne);
                    if (c.n_ex)
                        memcpy(ne, c.ex, c.n_ex * sizeof *ne);
                    c.ex = ne;
                }
                struct expect *ex = &c.ex[c.n_ex++];
                if (parse_labels(a, series, &ex->ls) < 0 ||
                    parse_value(rest, strlen(rest), &ex->v) < 0)
                    fprintf(stderr, "%s:%zu: bad expectation\n", name, i + 1);
                ex->key = labels_format(a, &ex->ls);
            }
            char why[400] = "";
            int ok = run_eval(&fc, a, &c, why, sizeof why);
            report(&fc, &c, ok, why);
        } else {
            fprintf(stderr, "%s:%zu: unknown command: %s\n", name, i + 1, l);
        }
        arena_free(a);
    }
    printf("# %s: %d/%d evals pass\n", name, fc.pass, fc.total);
    promql_engine_free(fc.eng);
    tsdb_close(fc.db);
    free(lines);
    free(text);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [FILE.test ...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char *names[256];
    int n = 0;
    if (argc > 2) {
        for (int i = 2; i < argc && n < 256; i++)
            names[n++] = strdup(argv[i]);
    } else {
        DIR *d = opendir(dir);
        if (!d) {
            printf("1..0 # SKIP no PromQL tests at %s\n", dir);
            return 0;
        }
        struct dirent *de;
        while ((de = readdir(d)) && n < 256) {
            size_t l = strlen(de->d_name);
            if (l > 5 && strcmp(de->d_name + l - 5, ".test") == 0)
                names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, (size_t) n, sizeof names[0], by_name);
    }
    for (int i = 0; i < n; i++) {
        run_file(dir, names[i]);
        free(names[i]);
    }
    printf("# %d evals also checked with @-pinned variants\n", n_at_variants);
    printf("1..%d\n", n_cases);
    return n_failed ? 1 : 0;
}
