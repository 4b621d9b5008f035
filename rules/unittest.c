/* rules/unittest.c — promtool's rule unit tests (`ember test rules FILE...`): input series in the
 * series notation are loaded into an in-memory tsdb, the rule groups are evaluated every
 * evaluation_interval from 0 up to the last eval_time (in group_eval_order, else file order),
 * and alert_rule_test / promql_expr_test expectations are compared as promtool does: the firing
 * alerts of the evaluation at the latest time <= eval_time, and instant queries after the run.
 * Output follows promtool's layout, failures as exp/got pairs. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"

struct exp_alert {
    struct labels labels, annotations;
};
struct alert_test {
    int64_t eval_ms;
    const char *alertname;
    struct exp_alert *exp;
    uint32_t n_exp;
};
struct exp_sample {
    struct labels labels;
    const char *text; /* as written, for messages */
    double v;
};
struct expr_test {
    const char *expr;
    int64_t eval_ms;
    struct exp_sample *exp;
    uint32_t n_exp;
};
struct input {
    const char *series, *values;
};
struct test {
    const char *name;
    int64_t interval_ms;
    struct input *in;
    uint32_t n_in;
    struct alert_test *at;
    uint32_t n_at;
    struct expr_test *et;
    uint32_t n_et;
    struct labels external_labels;
    const char *external_url;
};

/* A duration where promtool takes model.Duration; "0" is allowed. */
static int get_time(struct rl *l, const char *key, const yaml_node_t *v, int64_t *ret)
{
    if (v->type == YAML_SCALAR_NODE && !strcmp((const char *) v->data.scalar.value, "0"))
        return *ret = 0, 0;
    return rules_yaml_get_duration(l, key, v, ret);
}

/* Items of a list (null: none) through fn(l, item, i). */
static int each(struct rl *l, const yaml_node_t *v, const char *key, size_t size, void **ret,
                uint32_t *ret_n, int (*fn)(struct rl *l, const yaml_node_t *it, void *obj))
{
    *ret = NULL;
    *ret_n = 0;
    if (!v || rules_yaml_is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return rules_yaml_fail(l, v, ERR_PARSE, "%s: expected a list, got %s", key,
                               rules_yaml_kind_name(v));
    size_t n = (size_t) (v->data.sequence.items.top - v->data.sequence.items.start);
    char *objs = arena_calloc(l->a, n + 1, size);
    if (!objs)
        return rules_yaml_oom(l);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *it = rules_yaml_node(l, v->data.sequence.items.start[i]);
        int r;
        if (!it)
            return rules_yaml_fail(l, v, ERR_PARSE, "%s: malformed list", key);
        if ((r = rules_yaml_visit(l, it)) < 0 || (r = fn(l, it, objs + i * size)) < 0)
            return r;
    }
    *ret = objs;
    *ret_n = (uint32_t) n;
    return 0;
}

static int read_input(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"series", "values"};
    const yaml_node_t *v[2];
    struct input *in = obj;
    int r = rules_yaml_mapping(l, m, "input_series", keys, 2, v);
    if (r == 0 && !v[0])
        r = rules_yaml_fail(l, m, ERR_PARSE, "input_series: series is missing");
    if (r == 0)
        r = rules_yaml_get_str(l, "series", v[0], &in->series);
    in->values = "";
    if (r == 0 && v[1])
        r = rules_yaml_get_str(l, "values", v[1], &in->values);
    return r;
}

static int read_exp_alert(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"exp_labels", "exp_annotations"};
    const yaml_node_t *v[2];
    struct exp_alert *x = obj;
    int r = rules_yaml_mapping(l, m, "exp_alerts", keys, 2, v);
    if (r == 0 && v[0])
        r = rules_yaml_get_labels(l, "labels", v[0], &x->labels);
    if (r == 0 && v[1])
        r = rules_yaml_get_labels(l, "annotations", v[1], &x->annotations);
    return r;
}

static int read_alert_test(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"eval_time", "alertname", "exp_alerts"};
    const yaml_node_t *v[3];
    struct alert_test *t = obj;
    int r = rules_yaml_mapping(l, m, "alert_rule_test", keys, 3, v);
    if (r == 0 && (!v[0] || !v[1]))
        r = rules_yaml_fail(l, m, ERR_PARSE, "alert_rule_test: eval_time and alertname are "
                            "required");
    if (r == 0)
        r = get_time(l, "eval_time", v[0], &t->eval_ms);
    if (r == 0)
        r = rules_yaml_get_str(l, "alertname", v[1], &t->alertname);
    if (r == 0)
        r = each(l, v[2], "exp_alerts", sizeof *t->exp, (void **) &t->exp, &t->n_exp,
                 read_exp_alert);
    return r;
}

static int read_exp_sample(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"labels", "value", "histogram"};
    const yaml_node_t *v[3];
    struct exp_sample *x = obj;
    const char *val = "";
    int r = rules_yaml_mapping(l, m, "exp_samples", keys, 3, v);
    if (r == 0 && v[2])
        r = rules_yaml_fail(l, v[2], ERR_PARSE, "exp_samples: native histograms are not "
                            "supported");
    x->text = "{}";
    if (r == 0 && v[0])
        r = rules_yaml_get_str(l, "labels", v[0], &x->text);
    if (r == 0 && v[1])
        r = rules_yaml_get_str(l, "value", v[1], &val);
    if (r == 0 && num_parse_float(val, strlen(val), &x->v) < 0)
        r = rules_yaml_fail(l, v[1] ? v[1] : m, ERR_PARSE, "exp_samples: bad value \"%.40s\"",
                            val);
    struct err e = {0};
    if (r == 0 && rules_series_labels(l->a, *x->text ? x->text : "{}", &x->labels, &e) < 0)
        r = rules_yaml_fail(l, v[0], ERR_PARSE, "exp_samples: %s", e.msg);
    return r;
}

static int read_expr_test(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"expr", "eval_time", "exp_samples"};
    const yaml_node_t *v[3];
    struct expr_test *t = obj;
    int r = rules_yaml_mapping(l, m, "promql_expr_test", keys, 3, v);
    if (r == 0 && (!v[0] || !v[1]))
        r = rules_yaml_fail(l, m, ERR_PARSE, "promql_expr_test: expr and eval_time are required");
    if (r == 0)
        r = rules_yaml_get_str(l, "expr", v[0], &t->expr);
    if (r == 0)
        r = get_time(l, "eval_time", v[1], &t->eval_ms);
    if (r == 0)
        r = each(l, v[2], "exp_samples", sizeof *t->exp, (void **) &t->exp, &t->n_exp,
                 read_exp_sample);
    return r;
}

static int read_test(struct rl *l, const yaml_node_t *m, void *obj)
{
    static const char *const keys[] = {"name", "interval", "input_series", "alert_rule_test",
                                       "promql_expr_test", "external_labels", "external_url"};
    const yaml_node_t *v[7];
    struct test *t = obj;
    int r = rules_yaml_mapping(l, m, "test", keys, 7, v);
    t->name = "";
    t->interval_ms = 0; /* not given: the file's evaluation_interval, filled in by the caller */
    t->external_url = "";
    if (r == 0 && v[0])
        r = rules_yaml_get_str(l, "name", v[0], &t->name);
    if (r == 0 && v[1])
        r = rules_yaml_get_duration(l, "interval", v[1], &t->interval_ms);
    if (r == 0)
        r = each(l, v[2], "input_series", sizeof *t->in, (void **) &t->in, &t->n_in, read_input);
    if (r == 0)
        r = each(l, v[3], "alert_rule_test", sizeof *t->at, (void **) &t->at, &t->n_at,
                 read_alert_test);
    if (r == 0)
        r = each(l, v[4], "promql_expr_test", sizeof *t->et, (void **) &t->et, &t->n_et,
                 read_expr_test);
    if (r == 0 && v[5])
        r = rules_yaml_get_labels(l, "external_labels", v[5], &t->external_labels);
    if (r == 0 && v[6])
        r = rules_yaml_get_str(l, "external_url", v[6], &t->external_url);
    if (r == 0 && v[1] && t->interval_ms <= 0)
        r = rules_yaml_fail(l, v[1], ERR_PARSE, "interval must be positive");
    return r;
}

static int read_str(struct rl *l, const yaml_node_t *it, void *obj)
{
    return rules_yaml_get_str(l, "rule_files", it, obj);
}

/* ---- running one test ---- */

struct run {
    struct buf *out;
    const struct test *t;
    tsdb *db;
    tsdb_appender *app;
    struct labels ls;
    uint64_t ref;
    int64_t interval_ms;
    int failed;
};

static int add_point(void *arg, uint64_t slot, double v)
{
    struct run *x = arg;
    return tsdb_appender_add(x->app, &x->ref, &x->ls, (int64_t) slot * x->interval_ms, v, NULL);
}

static int load_inputs(struct run *x, struct arena *a, struct err *e)
{
    x->app = tsdb_appender_new(x->db);
    if (!x->app)
        return err_set(e, -ENOMEM, "out of memory");
    x->interval_ms = x->t->interval_ms;
    for (uint32_t i = 0; i < x->t->n_in; i++) {
        const struct input *in = &x->t->in[i];
        int r = rules_series_labels(a, in->series, &x->ls, e);
        x->ref = 0;
        if (r == 0)
            r = rules_series_values(in->values, add_point, x, e);
        if (r < 0) {
            tsdb_appender_rollback(x->app);
            return err_prefix(e, "input_series \"%.60s\": ", in->series);
        }
    }
    int r = tsdb_appender_commit(x->app, e);
    return r < 0 ? r : 0;
}

static int by_labels(const void *p, const void *q)
{
    return labels_cmp(&((const struct exp_alert *) p)->labels,
                      &((const struct exp_alert *) q)->labels);
}

static void print_alerts(struct buf *o, const char *what, const struct exp_alert *v, size_t n,
                         struct arena *a)
{
    (void) buf_printf(o, "        %s:[", what);
    for (size_t i = 0; i < n; i++)
        (void) buf_printf(o, "%s\n            %zu:\n              Labels:%s\n              "
                          "Annotations:%s", i ? "," : "", i, labels_format(a, &v[i].labels),
                          labels_format(a, &v[i].annotations));
    (void) buf_puts(o, n ? "\n            ]" : "]");
}

/* The firing alerts named alertname across all groups, compared with the expectation. */
static void check_alerts(struct run *x, struct arena *a, rules_group_state **gs, uint32_t ng,
                         const struct alert_test *at)
{
    struct rules_group_status st;
    struct exp_alert *got = NULL;
    size_t n_got = 0, cap = 0;
    for (uint32_t g = 0; g < ng; g++) {
        if (rules_group_state_status(gs[g], a, &st, NULL) < 0)
            continue;
        for (size_t r = 0; r < st.n_rules; r++) {
            if (st.rules[r].def->kind != RULES_ALERT || strcmp(st.rules[r].def->name,
                                                              at->alertname) != 0)
                continue;
            for (size_t k = 0; k < st.rules[r].n_alerts; k++) {
                if (st.rules[r].alerts[k].state != RULES_FIRING)
                    continue;
                if (n_got == cap) {
                    size_t nc = cap ? cap * 2 : 8;
                    struct exp_alert *v = arena_realloc(a, got, cap * sizeof *v, nc * sizeof *v);
                    if (!v)
                        return;
                    got = v;
                    cap = nc;
                }
                got[n_got++] = (struct exp_alert){st.rules[r].alerts[k].labels,
                                                  st.rules[r].alerts[k].annotations};
            }
        }
    }
    struct exp_alert *exp = arena_calloc(a, at->n_exp + 1, sizeof *exp);
    if (!exp)
        return;
    for (uint32_t i = 0; i < at->n_exp; i++) {
        exp[i] = at->exp[i];
        (void) rules_labels_set(a, &exp[i].labels, "alertname", at->alertname, &exp[i].labels);
    }
    if (n_got)
        qsort(got, n_got, sizeof *got, by_labels);
    qsort(exp, at->n_exp, sizeof *exp, by_labels);
    int same = n_got == at->n_exp;
    for (size_t i = 0; same && i < n_got; i++)
        same = labels_equal(&got[i].labels, &exp[i].labels) &&
               labels_equal(&got[i].annotations, &exp[i].annotations);
    if (same)
        return;
    char t[32];
    (void) duration_format(t, sizeof t, at->eval_ms);
    (void) buf_printf(x->out, "    alertname: %s, time: %s, \n", at->alertname, t);
    print_alerts(x->out, "exp", exp, at->n_exp, a);
    (void) buf_puts(x->out, ", \n");
    print_alerts(x->out, "got", got, n_got, a);
    (void) buf_puts(x->out, "\n");
    x->failed = 1;
}

static int near(double a, double b)
{
    if (a == b || (isnan(a) && isnan(b)))
        return 1;
    return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)) || fabs(a - b) < 1e-12;
}

/* promtool's parsedSamplesString: `{__name__="m", a="b"} 7E+00, ...` (Go's 'E' format). */
static void print_samples(struct buf *o, const struct rules_sample *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char num[40];
        (void) buf_puts(o, i ? ", {" : "{");
        for (uint32_t k = 0; k < v[i].labels.n; k++)
            (void) buf_printf(o, "%s%s=\"%s\"", k ? ", " : "", v[i].labels.v[k].name,
                              v[i].labels.v[k].value);
        if (isnan(v[i].v) || isinf(v[i].v))
            (void) snprintf(num, sizeof num, "%s", isnan(v[i].v) ? "NaN" : v[i].v > 0 ? "+Inf"
                                                                                    : "-Inf");
        else
            for (int p = 0; p <= 17; p++) {
                (void) snprintf(num, sizeof num, "%.*E", p, v[i].v);
                if (strtod(num, NULL) == v[i].v)
                    break;
            }
        (void) buf_printf(o, "} %s", num);
    }
}

static int by_sample(const void *p, const void *q)
{
    return labels_cmp(&((const struct rules_sample *) p)->labels,
                      &((const struct rules_sample *) q)->labels);
}

static void check_expr(struct run *x, struct arena *a, const struct rules_eval *ev,
                       const struct expr_test *et)
{
    char t[32];
    struct promql_expr *ast;
    struct rules_sample *got = NULL;
    size_t n_got = 0;
    struct err e = {0};
    (void) duration_format(t, sizeof t, et->eval_ms);
    int r = promql_parse(a, et->expr, strlen(et->expr), &ast, &e);
    if (r == 0)
        r = rules_query(ev, ast, et->eval_ms, &got, &n_got, &e);
    if (r < 0) {
        (void) buf_printf(x->out, "    expr: \"%s\", time: %s, err: %s\n", et->expr, t, e.msg);
        x->failed = 1;
        return;
    }
    struct rules_sample *exp = arena_calloc(a, et->n_exp + 1, sizeof *exp);
    if (!exp)
        return;
    for (uint32_t i = 0; i < et->n_exp; i++)
        exp[i] = (struct rules_sample){et->exp[i].labels, et->exp[i].v};
    qsort(got, n_got, sizeof *got, by_sample);
    qsort(exp, et->n_exp, sizeof *exp, by_sample);
    int same = n_got == et->n_exp;
    for (size_t i = 0; same && i < n_got; i++)
        same = labels_equal(&got[i].labels, &exp[i].labels) && near(got[i].v, exp[i].v);
    if (same)
        return;
    (void) buf_printf(x->out, "    expr: \"%s\", time: %s,\n        exp: ", et->expr, t);
    print_samples(x->out, exp, et->n_exp);
    (void) buf_puts(x->out, "\n        got: ");
    print_samples(x->out, got, n_got);
    (void) buf_puts(x->out, "\n");
    x->failed = 1;
}

/* Groups in group_eval_order (names), else in file order. */
static int order_groups(const struct rules_set *set, const char *const *order, uint32_t n_order,
                        const struct rules_group **ret, struct err *e)
{
    if (!n_order) {
        for (uint32_t i = 0; i < set->n_groups; i++)
            ret[i] = &set->groups[i];
        return 0;
    }
    if (n_order != set->n_groups)
        return err_set(e, ERR_PARSE, "group_eval_order names %u groups, the rule files have %u",
                       n_order, set->n_groups);
    for (uint32_t i = 0; i < n_order; i++) {
        ret[i] = NULL;
        for (uint32_t g = 0; g < set->n_groups && !ret[i]; g++)
            if (!strcmp(set->groups[g].name, order[i]))
                ret[i] = &set->groups[g];
        if (!ret[i])
            return err_set(e, ERR_PARSE, "group_eval_order: no group named \"%s\"", order[i]);
    }
    return 0;
}

static int run_test(struct run *x, const struct rules_set *set, const struct rules_group **order,
                    int64_t eval_interval, struct err *e)
{
    const struct test *t = x->t;
    struct tsdb_opts topts = {0};
    promql_engine *eng = NULL;
    struct arena *a = arena_new(0);
    rules_group_state **gs = calloc(set->n_groups + 1, sizeof *gs);
    int r = a && gs ? tsdb_open(&topts, &x->db, e) : err_set(e, -ENOMEM, "out of memory");
    if (r == 0)
        r = promql_engine_new(x->db, &(struct promql_engine_opts){0}, &eng, e);
    if (r == 0)
        r = load_inputs(x, a, e);
    for (uint32_t g = 0; g < set->n_groups && r == 0; g++)
        if ((r = rules_group_state_new(order[g], &gs[g], e)) == 0)
            rules_group_state_carry(gs[g], NULL); /* no start-up restore: ALERTS from the first */
    int64_t maxt = 0;
    for (uint32_t i = 0; i < t->n_at; i++)
        maxt = t->at[i].eval_ms > maxt ? t->at[i].eval_ms : maxt;
    for (uint32_t i = 0; i < t->n_et; i++)
        maxt = t->et[i].eval_ms > maxt ? t->et[i].eval_ms : maxt;
    if (r == 0 && maxt / eval_interval >= RULES_TEST_MAX_STEPS)
        r = err_set(e, ERR_LIMIT, "eval_time %" PRId64 "s at evaluation_interval %" PRId64
                    "ms is more than %u evaluations", maxt / 1000, eval_interval, RULES_TEST_MAX_STEPS);
    struct rules_eval_env env = {.db = x->db, .engine = eng,
                                 .external_labels = &t->external_labels,
                                 .external_url = t->external_url,
                                 .outage_tolerance_ms = 3600000, .grace_period_ms = 600000,
                                 .resend_delay_ms = 60000, .interval_ms = eval_interval};
    for (int64_t ts = 0; ts <= maxt && r == 0; ts += eval_interval) {
        for (uint32_t g = 0; g < set->n_groups; g++) {
            env.query_offset_ms = order[g]->query_offset_ms;
            (void) rules_group_eval(gs[g], &env, ts);
        }
        /* Alert expectations between this evaluation and the next see this one's state. */
        for (uint32_t i = 0; i < t->n_at; i++)
            if (t->at[i].eval_ms >= ts && t->at[i].eval_ms < ts + eval_interval)
                check_alerts(x, a, gs, set->n_groups, &t->at[i]);
    }
    struct rules_eval ev = {&env, a, 0};
    for (uint32_t i = 0; i < t->n_et && r == 0; i++)
        check_expr(x, a, &ev, &t->et[i]);
    for (uint32_t g = 0; g < set->n_groups && gs; g++)
        rules_group_state_free(gs[g]);
    free(gs);
    promql_engine_free(eng);
    tsdb_close(x->db);
    arena_free(a);
    return r;
}

/* ---- the file ---- */

int rules_unittest_file(const char *path, struct buf *out, struct err *e)
{
    struct buf text = BUF_INIT;
    int r = rules_read_file(path, &text, e);
    if (r < 0) {
        (void) buf_printf(out, "Unit Testing:  %s\n", path);
        return r;
    }
    r = rules_unittest_text(path, text.p ? (const char *) text.p : "", text.len, out, e);
    buf_free(&text);
    return r;
}

int rules_unittest_text(const char *path, const char *text, size_t len, struct buf *out,
                        struct err *e)
{
    struct arena *a = arena_new(0);
    yaml_document_t doc;
    int have_doc = 0, r;
    struct rl l = {.name = path, .a = a, .e = e};
    static const char *const keys[] = {"rule_files", "evaluation_interval", "group_eval_order",
                                       "tests", "fuzzy_compare"};
    const yaml_node_t *v[5];
    const char **files = NULL, **order = NULL;
    uint32_t n_files = 0, n_order = 0, n_tests = 0;
    struct test *tests = NULL;
    struct rules_set *set = NULL;
    (void) buf_printf(out, "Unit Testing:  %s\n", path);
    if (!a)
        return err_set(e, -ENOMEM, "out of memory");
    r = rules_yaml_load(path, text, len, &doc, e);
    if (r == 0)
        have_doc = 1;
    l.doc = &doc;
    const yaml_node_t *root = have_doc ? yaml_document_get_root_node(&doc) : NULL;
    if (r == 0 && !root)
        r = err_set(e, ERR_PARSE, "%s: no tests", path);
    if (r == 0)
        r = rules_yaml_mapping(&l, root, "rule test file", keys, 5, v);
    int64_t eval_interval = 60000;
    if (r == 0 && v[1])
        r = rules_yaml_get_duration(&l, "evaluation_interval", v[1], &eval_interval);
    if (r == 0 && v[4])
        r = rules_yaml_fail(&l, v[4], ERR_PARSE, "fuzzy_compare is not supported");
    if (r == 0 && eval_interval <= 0)
        r = rules_yaml_fail(&l, v[1], ERR_PARSE, "evaluation_interval must be positive");
    if (r == 0)
        r = each(&l, v[0], "rule_files", sizeof *files, (void **) &files, &n_files, read_str);
    if (r == 0)
        r = each(&l, v[2], "group_eval_order", sizeof *order, (void **) &order, &n_order,
                 read_str);
    if (r == 0)
        r = each(&l, v[3], "tests", sizeof *tests, (void **) &tests, &n_tests, read_test);
    for (uint32_t i = 0; i < n_tests && r == 0; i++)
        if (!tests[i].interval_ms)
            tests[i].interval_ms = eval_interval;
    /* Rule files are relative to the test file's directory, as in promtool. */
    const char *slash = strrchr(path, '/');
    for (uint32_t i = 0; i < n_files && r == 0 && slash; i++)
        if (files[i][0] != '/' &&
            !(files[i] = arena_printf(a, "%.*s/%s", (int) (slash - path), path, files[i])))
            r = err_set(e, -ENOMEM, "out of memory");
    if (r == 0)
        r = rules_load(files, n_files, &set, e);
    const struct rules_group **ord = NULL;
    if (r == 0 && !(ord = arena_calloc(a, set->n_groups + 1, sizeof *ord)))
        r = err_set(e, -ENOMEM, "out of memory");
    if (r == 0)
        r = order_groups(set, order, n_order, ord, e);
    int failed = 0;
    struct buf fails = BUF_INIT;
    for (uint32_t i = 0; i < n_tests && r == 0; i++) {
        struct run x = {.out = &fails, .t = &tests[i]};
        size_t before = fails.len;
        if (*tests[i].name)
            (void) buf_printf(&fails, "  name: %s,\n", tests[i].name);
        size_t named = fails.len;
        r = run_test(&x, set, ord, eval_interval, e);
        if (x.failed)
            failed = 1;
        else if (fails.len == named)
            fails.len = before;
    }
    if (r == 0)
        (void) buf_printf(out, failed ? "  FAILED:\n%.*s\n" : "  SUCCESS\n%.*s", (int) fails.len,
                          fails.p ? (const char *) fails.p : "");
    buf_free(&fails);
    rules_set_free(set);
    if (have_doc)
        yaml_document_delete(&doc);
    arena_free(a);
    return r < 0 ? r : failed;
}
