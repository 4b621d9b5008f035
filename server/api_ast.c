/* server/api_ast.c — parse_query's answer: the syntax tree as JSON, shaped like Prometheus 3's
 * translateAST (web/api/v1/translate_ast.go) with Go's map key order (sorted), so a tree view
 * written for Prometheus reads it. Runs on the query lane's worker. */
#include <string.h>

#include "app.h"
#include "server/json.h"

static void str_list(struct json_writer *w, const char *key, const char *const *v, size_t n)
{
    json_key(w, key);
    json_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        json_str(w, v[i]);
    json_arr_end(w);
}

static void matcher(struct json_writer *w, const struct matcher *m)
{
    json_obj_begin(w);
    json_key(w, "name");
    json_str(w, m->name);
    json_key(w, "type");
    json_str(w, matcher_op(m->type));
    json_key(w, "value");
    json_str(w, m->value);
    json_obj_end(w);
}

/* Prometheus' parser appends the metric name's matcher after the braces' matchers. */
static void matchers(struct json_writer *w, const struct promql_node_view *v)
{
    size_t first = v->name_matcher_first && v->n_matchers > 0 ? 1 : 0;
    json_key(w, "matchers");
    json_arr_begin(w);
    for (size_t i = first; i < v->n_matchers; i++)
        matcher(w, &v->matchers[i]);
    if (first)
        matcher(w, &v->matchers[0]);
    json_arr_end(w);
}

static void int_key(struct json_writer *w, const char *key, int64_t v)
{
    json_key(w, key);
    json_int(w, v);
}

static void str_key(struct json_writer *w, const char *key, const char *v)
{
    json_key(w, key);
    json_str(w, v);
}

/* "@ <time>" in milliseconds, else null ("@ start()" shows in "startOrEnd" instead). */
static void timestamp(struct json_writer *w, const struct promql_node_view *v)
{
    json_key(w, "timestamp");
    if (v->has_at)
        json_int(w, v->at_ms);
    else
        json_null(w);
}

static void child(struct json_writer *w, const char *key, const struct promql_expr *x)
{
    json_key(w, key);
    api_ast_json(w, x);
}

void api_ast_json(struct json_writer *w, const struct promql_expr *x)
{
    if (!x) {
        json_null(w);
        return;
    }
    struct promql_node_view v;
    promql_expr_view(x, &v);
    json_obj_begin(w);
    if (strcmp(v.type, "aggregation") == 0) {
        child(w, "expr", v.expr);
        str_list(w, "grouping", v.grouping, v.n_grouping);
        str_key(w, "op", v.op);
        child(w, "param", v.param);
        str_key(w, "type", v.type);
        json_key(w, "without");
        json_bool(w, v.without);
    } else if (strcmp(v.type, "binaryExpr") == 0) {
        json_key(w, "bool");
        json_bool(w, v.return_bool);
        child(w, "lhs", v.lhs);
        json_key(w, "matching");
        if (v.has_matching) {
            json_obj_begin(w);
            str_key(w, "card", v.card);
            str_list(w, "include", v.include, v.n_include);
            str_list(w, "labels", v.labels, v.n_labels);
            json_key(w, "on");
            json_bool(w, v.on);
            json_obj_end(w);
        } else {
            json_null(w);
        }
        str_key(w, "op", v.op);
        child(w, "rhs", v.rhs);
        str_key(w, "type", v.type);
    } else if (strcmp(v.type, "call") == 0) {
        json_key(w, "args");
        json_arr_begin(w);
        for (size_t i = 0; i < v.n_args; i++)
            api_ast_json(w, v.args[i]);
        json_arr_end(w);
        json_key(w, "func");
        json_obj_begin(w);
        json_key(w, "argTypes");
        json_arr_begin(w);
        for (size_t i = 0; i < v.n_arg_types; i++)
            json_str(w, promql_value_type_name(v.arg_types[i]));
        json_arr_end(w);
        str_key(w, "name", v.func);
        str_key(w, "returnType", promql_value_type_name(v.return_type));
        int_key(w, "variadic", v.variadic);
        json_obj_end(w);
        str_key(w, "type", v.type);
    } else if (strcmp(v.type, "matrixSelector") == 0 || strcmp(v.type, "vectorSelector") == 0) {
        matchers(w, &v);
        str_key(w, "name", v.name);
        int_key(w, "offset", v.offset_ms);
        if (v.type[0] == 'm')
            int_key(w, "range", v.range_ms);
        str_key(w, "startOrEnd", v.start_or_end);
        timestamp(w, &v);
        str_key(w, "type", v.type);
    } else if (strcmp(v.type, "subquery") == 0) {
        child(w, "expr", v.expr);
        int_key(w, "offset", v.offset_ms);
        int_key(w, "range", v.range_ms);
        str_key(w, "startOrEnd", v.start_or_end);
        int_key(w, "step", v.step_ms);
        timestamp(w, &v);
        str_key(w, "type", v.type);
    } else if (strcmp(v.type, "numberLiteral") == 0) {
        char num[NUM_FLOAT_MAX];
        num_format(num, v.num, 'f');
        str_key(w, "type", v.type);
        str_key(w, "val", num);
    } else if (strcmp(v.type, "stringLiteral") == 0) {
        str_key(w, "type", v.type);
        str_key(w, "val", v.str);
    } else { /* parenExpr, unaryExpr */
        child(w, "expr", v.expr);
        if (v.op)
            str_key(w, "op", v.op);
        str_key(w, "type", v.type);
    }
    json_obj_end(w);
}
