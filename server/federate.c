/* server/federate.c — /federate: the newest sample within the lookback window of every series
 * matching any match[] selector, in the text format 0.0.4, as Prometheus' web/federate.go writes
 * it: families sorted by metric name, each "# TYPE <name> untyped", labels without __name__ then
 * the external labels the series lacks (instance="" too, as Prometheus adds it), value and
 * millisecond timestamp. Stale series (newest sample a staleness marker) are left out.
 * Always the text format, whatever Accept asks (docs/api.md). Runs on the query lane. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/http_form.h"

struct fed_req {
    const struct http_form *form;
    struct labels external; /* copied on the loop: a reload may free the config meanwhile */
    int64_t now_ms, lookback_ms;
};

struct fed_sample {
    const struct labels *ls;
    const char *name;
    int64_t t;
    double v;
};

static int by_name_then_labels(const void *a, const void *b)
{
    const struct fed_sample *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : labels_cmp(x->ls, y->ls);
}

static int put_label(struct buf *b, int first, const char *name, const char *value)
{
    int r = buf_printf(b, "%s%s=\"", first ? "{" : ",", name);
    for (const char *p = value; r >= 0 && *p; p++) {
        if (*p == '\\')
            r = buf_puts(b, "\\\\");
        else if (*p == '"')
            r = buf_puts(b, "\\\"");
        else if (*p == '\n')
            r = buf_puts(b, "\\n");
        else
            r = buf_append(b, p, 1);
    }
    return r < 0 ? r : buf_puts(b, "\"");
}

static int put_sample(struct buf *b, const struct fed_sample *s, const struct labels *ext)
{
    int r = 0, first = 1;
    r = buf_puts(b, s->name);
    for (uint32_t i = 0; r >= 0 && i < s->ls->n; i++) {
        const struct label *l = &s->ls->v[i];
        if (strcmp(l->name, "__name__") == 0 || !*l->value)
            continue;
        r = put_label(b, first, l->name, l->value);
        first = 0;
    }
    for (uint32_t i = 0; r >= 0 && i < ext->n; i++) {
        const char *have = labels_get(s->ls, ext->v[i].name);
        if (have && *have)
            continue;
        r = put_label(b, first, ext->v[i].name, ext->v[i].value);
        first = 0;
    }
    char num[NUM_FLOAT_MAX];
    num_format(num, s->v, 'g');
    return r < 0 ? r : buf_printf(b, "%s %s %lld\n", first ? "" : "}", num, (long long) s->t);
}

/* The newest sample at or before the window's end; 0 when the series has none in the window. */
static int newest(const struct tsdb_series *s, int64_t *t, double *v)
{
    struct tsdb_iter it;
    int r, found = 0;
    tsdb_iter_init(&it, s);
    while ((r = tsdb_iter_next(&it)) > 0) {
        *t = it.t;
        *v = it.v;
        found = 1;
    }
    tsdb_iter_close(&it);
    return r < 0 ? r : found;
}

static int federate_run(struct app *app, struct http_request *req, const void *arg,
                        struct buf *out, struct err *e)
{
    const struct fed_req *fr = arg;
    struct arena *a = req->arena;
    struct api_selectors sel = {0};
    if (http_form_count(fr->form, "match[]") == 0)
        return err_set(e, ERR_PARSE, "no match[] parameter provided");
    if (api_match_params(a, fr->form, &sel, e) < 0)
        return -1;
    tsdb_querier *q;
    if (tsdb_querier_open(app->db, fr->now_ms - fr->lookback_ms, fr->now_ms, &q, e) < 0)
        return -1;
    /* Every selector's series, then one entry per distinct label set. */
    struct fed_sample *all = NULL;
    size_t n_all = 0;
    int r = 0;
    for (size_t i = 0; i < sel.n && r == 0; i++) {
        struct tsdb_series *ss;
        size_t n;
        if ((r = tsdb_querier_select(q, a, sel.ms[i], sel.n_ms[i], &ss, &n, e)) < 0)
            break;
        struct fed_sample *m = arena_alloc(a, (n_all + n + 1) * sizeof *m);
        if (!m) {
            r = err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
            break;
        }
        if (n_all)
            memcpy(m, all, n_all * sizeof *m);
        for (size_t k = 0; k < n && r == 0; k++) {
            struct fed_sample s = {&ss[k].labels, labels_get(&ss[k].labels, "__name__"), 0, 0};
            int got = newest(&ss[k], &s.t, &s.v);
            if (got < 0)
                r = err_set(e, got, "reading series: corrupt chunk");
            else if (got && s.name && !num_is_stale(s.v))
                m[n_all++] = s; /* nameless series are skipped, as Prometheus does */
        }
        all = m;
    }
    if (r == 0) {
        qsort(all, n_all, sizeof *all, by_name_then_labels);
        const char *family = NULL;
        for (size_t i = 0; i < n_all && r >= 0; i++) {
            if (i > 0 && labels_equal(all[i - 1].ls, all[i].ls))
                continue; /* matched by several selectors */
            if (!family || strcmp(family, all[i].name) != 0) {
                family = all[i].name;
                r = buf_printf(out, "# TYPE %s untyped\n", family);
            }
            if (r >= 0)
                r = put_sample(out, &all[i], &fr->external);
        }
        if (r < 0)
            r = err_set(e, -ENOMEM, "out of memory writing the federation response");
    }
    tsdb_querier_close(q); /* after writing: head label strings live while it is open */
    return r < 0 ? -1 : 0;
}

/* Prometheus' external labels plus instance="" when they have no instance, sorted by name. */
static int external_labels(struct arena *a, const struct labels *cfg, struct labels *ret)
{
    struct label *v = arena_alloc(a, (cfg->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    struct labels ls = {v, 0};
    for (uint32_t i = 0; i < cfg->n; i++) {
        v[ls.n].name = arena_strdup(a, cfg->v[i].name);
        v[ls.n].value = arena_strdup(a, cfg->v[i].value);
        if (!v[ls.n].name || !v[ls.n++].value)
            return -ENOMEM;
    }
    if (!labels_get(cfg, "instance"))
        v[ls.n++] = (struct label){"instance", ""};
    *ret = ls;
    return labels_sort(ret);
}

void federate_serve(struct http_request *req, struct app *app)
{
    struct fed_req *fr = arena_calloc(req->arena, 1, sizeof *fr);
    struct http_form *form;
    if (!fr || external_labels(req->arena, &app->cfg->global.external_labels, &fr->external) < 0) {
        http_respond(req, 503, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    struct err e = {0};
    if (http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                        req->body_len, http_request_header(req, "content-type"), &form, &e) < 0) {
        char *msg = arena_printf(req->arena, "error parsing form values: %s\n", e.msg);
        http_respond(req, 400, "text/plain; charset=utf-8", msg ? msg : "", msg ? strlen(msg) : 0);
        return;
    }
    fr->form = form;
    fr->now_ms = time_now_ms();
    fr->lookback_ms = app->flags.lookback_delta_ms;
    struct api_query_spec s = {.kind = API_QUERY_CUSTOM,
                               .run_fn = federate_run,
                               .run_arg = fr,
                               .content_type = "text/plain; version=0.0.4; charset=utf-8",
                               .plain_errors = 1};
    api_query_submit(app, req, &s);
}
