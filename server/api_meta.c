/* server/api_meta.c — /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values and
 * /api/v1/query_exemplars: Prometheus' parameters (match[], start, end, limit), checks in its
 * order and words, sorting and defaults (no start/end: all time). The loop only decodes the form;
 * selectors (regexes), the storage read and the JSON run on the query lane (api_query.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_params.h"
#include "server/app.h"
#include "server/http_form.h"
#include "server/json.h"

enum meta_kind { META_SERIES, META_LABELS, META_VALUES, META_EXEMPLARS };

struct meta_req {
    enum meta_kind kind;
    const struct http_form *form;
    const char *name; /* META_VALUES: the label, path-decoded */
};

static const char *const truncated[] = {"results truncated due to limit"};

/* One value of a parameter, "" when absent (Go's FormValue). */
static const char *param(const struct http_form *f, const char *key)
{
    const char *v = http_form_get(f, key);
    return v ? v : "";
}

/* start/end as parseTimeParam: absent means all time. */
static int time_param(const struct http_form *f, const char *key, int64_t dflt, int64_t *ret,
                      struct err *e)
{
    const char *v = param(f, key);
    *ret = dflt;
    if (*v && api_params_time(v, ret, e) < 0)
        return err_prefix(e, "invalid parameter \"%s\": Invalid time value for '%s': ", key,
                          key),
               ERR_PARSE;
    return 0;
}

/* limit as Prometheus' parseLimitParam: absent or 0 means no limit. */
static int limit_param(const struct http_form *f, uint64_t *ret, struct err *e)
{
    const char *v = param(f, "limit");
    int64_t n = 0;
    *ret = 0;
    if (!*v)
        return 0;
    if (num_parse_int64(v, strlen(v), &n) < 0)
        return err_set(e, ERR_PARSE,
                       "invalid parameter \"limit\": strconv.Atoi: parsing \"%s\": invalid syntax",
                       v);
    if (n < 0)
        return err_set(e, ERR_PARSE, "invalid parameter \"limit\": limit must be non-negative");
    *ret = (uint64_t) n;
    return 0;
}

int api_match_params(struct arena *a, const struct http_form *f, struct api_selectors *ret,
                     struct err *e)
{
    uint32_t n = http_form_count(f, "match[]");
    struct api_selectors s = {arena_calloc(a, n + 1, sizeof *s.ms),
                          arena_calloc(a, n + 1, sizeof *s.n_ms), 0};
    if (!s.ms || !s.n_ms)
        return err_set(e, -ENOMEM, "out of memory");
    const struct http_form_pair *p;
    for (uint32_t pos = 0; (p = http_form_next(f, "match[]", &pos));) {
        struct promql_expr *x;
        struct promql_node_view v;
        if (promql_parse(a, p->value, p->value_len, &x, e) < 0) {
            /* The parser refuses {a=""} itself; Prometheus' selector parser leaves it to here. */
            if (strstr(e->msg, "at least one non-empty matcher"))
                return err_set(e, ERR_PARSE, "match[] must contain at least one non-empty matcher");
            return ERR_PARSE;
        }
        promql_expr_view(x, &v);
        if (strcmp(v.type, "vectorSelector") != 0 || v.offset_ms || v.has_at)
            return err_set(e, ERR_PARSE, "1:1: parse error: expected a series selector, got \"%s\"",
                           p->value);
        s.ms[s.n] = v.matchers;
        s.n_ms[s.n++] = v.n_matchers;
    }
    for (size_t i = 0; i < s.n; i++) {
        size_t k = 0;
        while (k < s.n_ms[i] && matcher_matches_empty(&s.ms[i][k]))
            k++;
        if (k == s.n_ms[i])
            return err_set(e, ERR_PARSE, "match[] must contain at least one non-empty matcher");
    }
    *ret = s;
    return 0;
}

/* Prometheus' model.LabelNameRE before UTF-8 names: [a-zA-Z_][a-zA-Z0-9_]*. */
static int label_name_valid(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int labels_ptr_cmp(const void *a, const void *b)
{
    return labels_cmp((const struct labels *) a, (const struct labels *) b);
}

/* Union of per-selector lists: the lists of elements of size bytes, gathered into one arena
 * array as they come, then sorted with cmp and stripped of repeats. */
struct gather {
    char *v;
    size_t n, size;
    int (*cmp)(const void *, const void *);
};

static int gather_add(struct arena *a, struct gather *g, const void *one, size_t n_one)
{
    char *m = arena_alloc(a, (g->n + n_one + 1) * g->size);
    if (!m)
        return -1;
    if (g->n)
        memcpy(m, g->v, g->n * g->size);
    if (n_one)
        memcpy(m + g->n * g->size, one, n_one * g->size);
    g->v = m;
    g->n += n_one;
    return 0;
}

static size_t gather_finish(struct gather *g)
{
    if (!g->n)
        return 0;
    qsort(g->v, g->n, g->size, g->cmp);
    size_t u = 1;
    for (size_t i = 1; i < g->n; i++)
        if (g->cmp(g->v + (u - 1) * g->size, g->v + i * g->size) != 0)
            memmove(g->v + u++ * g->size, g->v + i * g->size, g->size);
    return u;
}

/* Names or values (name != NULL) over all series, or the union over every selector's series. */
static int list_strings(tsdb_querier *q, struct arena *a, const char *name,
                        const struct api_selectors *sel, const char ***ret, size_t *ret_n,
                        struct err *e)
{
    if (sel->n == 0)
        return name ? tsdb_querier_label_values(q, a, name, NULL, 0, ret, ret_n, e)
                    : tsdb_querier_label_names(q, a, NULL, 0, ret, ret_n, e);
    struct gather g = {NULL, 0, sizeof(const char *), str_cmp};
    for (size_t i = 0; i < sel->n; i++) {
        const char **one;
        size_t n_one;
        int r = name ? tsdb_querier_label_values(q, a, name, sel->ms[i], sel->n_ms[i], &one,
                                                 &n_one, e)
                     : tsdb_querier_label_names(q, a, sel->ms[i], sel->n_ms[i], &one, &n_one, e);
        if (r < 0)
            return r;
        if (gather_add(a, &g, one, n_one) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached listing labels");
    }
    *ret_n = gather_finish(&g);
    *ret = (const char **) (void *) g.v;
    return 0;
}

/* Series label sets of every selector, merged: sorted, unique. */
static int list_series(tsdb_querier *q, struct arena *a, const struct api_selectors *sel,
                       struct labels **ret, size_t *ret_n, struct err *e)
{
    struct gather g = {NULL, 0, sizeof(struct labels), labels_ptr_cmp};
    for (size_t i = 0; i < sel->n; i++) {
        struct labels *one;
        size_t n_one;
        if (tsdb_querier_series_labels(q, a, sel->ms[i], sel->n_ms[i], &one, &n_one, e) < 0)
            return -1;
        if (gather_add(a, &g, one, n_one) < 0)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    }
    *ret_n = gather_finish(&g);
    *ret = (struct labels *) (void *) g.v;
    return 0;
}

/* Whether x reads any series (Prometheus' parser.ExtractSelectors finds one). */
static int has_selector(const struct promql_expr *x)
{
    struct promql_node_view v;
    if (!x)
        return 0;
    promql_expr_view(x, &v);
    if (strcmp(v.type, "vectorSelector") == 0 || strcmp(v.type, "matrixSelector") == 0)
        return 1;
    for (size_t i = 0; i < v.n_args; i++)
        if (has_selector(v.args[i]))
            return 1;
    return has_selector(v.expr) || has_selector(v.param) || has_selector(v.lhs) ||
           has_selector(v.rhs);
}

static int exemplars_run(struct arena *a, const struct http_form *f, struct buf *out,
                         struct err *e)
{
    int64_t start, end;
    if (time_param(f, "start", INT64_MIN, &start, e) < 0 ||
        time_param(f, "end", INT64_MAX, &end, e) < 0)
        return -1;
    if (end < start)
        return err_set(e, ERR_PARSE, "end timestamp must not be before start timestamp");
    uint32_t pos = 0;
    const struct http_form_pair *p = http_form_next(f, "query", &pos);
    struct promql_expr *x;
    if (promql_parse(a, p ? p->value : "", p ? p->value_len : 0, &x, e) < 0)
        return ERR_PARSE;
    if (!has_selector(x)) /* Prometheus answers 204 without a body then */
        return API_QUERY_NO_CONTENT;
    /* ember stores no exemplars: every valid query has none. */
    return buf_puts(out, "{\"status\":\"success\",\"data\":[]}") < 0
               ? err_set(e, -ENOMEM, "out of memory")
               : 0;
}

/* Worker: checks the parameters, reads the storage, writes the response body. */
static int meta_run(struct app *app, struct http_request *req, const void *arg, struct buf *out,
                    struct err *e)
{
    const struct meta_req *m = arg;
    const struct http_form *f = m->form;
    struct arena *a = req->arena;
    if (m->kind == META_EXEMPLARS)
        return exemplars_run(a, f, out, e);
    if (m->kind == META_VALUES && !label_name_valid(m->name))
        return err_set(e, ERR_PARSE, "invalid label name: \"%s\"", m->name);
    if (m->kind == META_SERIES && http_form_count(f, "match[]") == 0)
        return err_set(e, ERR_PARSE, "no match[] parameter provided");
    int64_t start, end;
    uint64_t limit;
    struct api_selectors sel = {0};
    if (time_param(f, "start", INT64_MIN, &start, e) < 0 ||
        time_param(f, "end", INT64_MAX, &end, e) < 0)
        return -1;
    if (api_match_params(a, f, &sel, e) < 0) {
        /* Prometheus names the parameter for /series only; labels and label values do not. */
        if (m->kind == META_SERIES)
            (void) err_prefix(e, "invalid parameter \"match[]\": ");
        return -1;
    }
    if (limit_param(f, &limit, e) < 0)
        return -1;
    tsdb_querier *q;
    if (tsdb_querier_open(app->db, start, end, &q, e) < 0)
        return -1;
    struct json_writer w;
    json_init(&w, out);
    json_envelope_begin(&w);
    json_arr_begin(&w);
    size_t n = 0, shown = 0;
    int r;
    if (m->kind == META_SERIES) {
        struct labels *ls = NULL;
        r = list_series(q, a, &sel, &ls, &n, e);
        shown = limit && n > limit ? limit : n;
        for (size_t i = 0; r == 0 && i < shown; i++)
            json_labels(&w, &ls[i]);
    } else {
        const char **v = NULL;
        r = list_strings(q, a, m->kind == META_VALUES ? m->name : NULL, &sel, &v, &n, e);
        shown = limit && n > limit ? limit : n;
        for (size_t i = 0; r == 0 && i < shown; i++)
            json_str(&w, v[i]);
    }
    json_arr_end(&w);
    json_envelope_end(&w, truncated, shown < n ? 1 : 0);
    tsdb_querier_close(q); /* after the JSON: head label strings live while it is open */
    if (r < 0)
        return r;
    if (json_done(&w) < 0)
        return err_set(e, -ENOMEM, "out of memory encoding the response");
    return 0;
}

static void submit(struct http_request *req, struct app *app, enum meta_kind kind,
                   const char *name)
{
    struct meta_req *m = arena_calloc(req->arena, 1, sizeof *m);
    if (!m) {
        api_respond_err(req, -ENOMEM, "out of memory");
        return;
    }
    struct http_form *form = api_request_form(req);
    if (!form)
        return;
    *m = (struct meta_req){kind, form, name};
    struct api_query_spec s = {.kind = API_QUERY_CUSTOM, .run_fn = meta_run, .run_arg = m};
    api_query_submit(app, req, &s);
}

void api_v1_series(struct http_request *req, struct app *app)
{
    submit(req, app, META_SERIES, NULL);
}

void api_v1_labels(struct http_request *req, struct app *app)
{
    submit(req, app, META_LABELS, NULL);
}

void api_v1_label_values(struct http_request *req, struct app *app)
{
    const char *name = router_param(req, "name");
    submit(req, app, META_VALUES, name ? name : "");
}

void api_v1_query_exemplars(struct http_request *req, struct app *app)
{
    submit(req, app, META_EXEMPLARS, NULL);
}
