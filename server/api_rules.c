/* server/api_rules.c — /api/v1/rules, /api/v1/alerts and /api/v1/alertmanagers with Prometheus'
 * JSON shapes (web/api/v1: RuleDiscovery, AlertDiscovery, AlertmanagerDiscovery). The state is
 * copied from the rule manager under each group's lock, then written here on the loop thread:
 * bounded by the number of rules and alerts, which the rule files and group limits bound. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "server/http_form.h"
#include "server/json.h"

/* Go's time.Time in RFC 3339 with nanoseconds trimmed (Prometheus marshals time.Time), UTC. */
static void json_time(struct json_writer *w, int64_t ms)
{
    char s[64], frac[8] = "";
    if (ms == 0) {
        json_str(w, "0001-01-01T00:00:00Z");
        return;
    }
    time_t secs = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int msec = (int) (ms - (int64_t) secs * 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm)) {
        json_null(w);
        return;
    }
    if (msec) {
        (void) snprintf(frac, sizeof frac, ".%03d", msec);
        for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
            frac[n - 1] = 0;
    }
    char out[80];
    (void) snprintf(out, sizeof out, "%s%sZ", s, frac);
    json_str(w, out);
}

/* Go's strconv.FormatFloat(v, 'e', -1, 64): the shortest digits that read back as v. */
static void json_value_e(struct json_writer *w, double v)
{
    char s[40];
    if (isnan(v))
        json_str(w, "NaN");
    else if (isinf(v))
        json_str(w, v > 0 ? "+Inf" : "-Inf");
    else {
        for (int p = 0; p <= 17; p++) {
            (void) snprintf(s, sizeof s, "%.*e", p, v);
            if (strtod(s, NULL) == v)
                break;
        }
        json_str(w, s);
    }
}

static void json_seconds(struct json_writer *w, int64_t ms)
{
    json_float(w, (double) ms / 1000.0);
}

static void write_alert(struct json_writer *w, const struct rules_alert_status *al)
{
    json_obj_begin(w);
    json_key(w, "labels");
    json_labels(w, &al->labels);
    json_key(w, "annotations");
    json_labels(w, &al->annotations);
    json_key(w, "state");
    json_str(w, rules_alert_state_name(al->state));
    json_key(w, "activeAt");
    json_time(w, al->active_at_ms);
    if (al->keep_firing_since_ms) {
        json_key(w, "keepFiringSince");
        json_time(w, al->keep_firing_since_ms);
    }
    json_key(w, "value");
    json_value_e(w, al->value);
    json_obj_end(w);
}

struct filter {
    const struct http_form *form;
    int want_kind; /* -1: both */
    int exclude_alerts;
};

static int listed(const struct http_form *f, const char *key, const char *v)
{
    uint32_t n = http_form_count(f, key);
    if (n == 0)
        return 1;
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(http_form_value(f, key, i), v))
            return 1;
    return 0;
}

static void write_rule(struct json_writer *w, struct arena *a, const struct rules_rule_status *r,
                       const struct filter *f)
{
    const struct rules_rule *d = r->def;
    const char *q = promql_format(a, d->ast);
    json_obj_begin(w);
    if (d->kind == RULES_ALERT) {
        json_key(w, "state");
        json_str(w, rules_alert_state_name(r->state));
    }
    json_key(w, "name");
    json_str(w, d->name);
    json_key(w, "query");
    json_str(w, q ? q : d->expr);
    if (d->kind == RULES_ALERT) {
        json_key(w, "duration");
        json_seconds(w, d->for_ms);
        json_key(w, "keepFiringFor");
        json_seconds(w, d->keep_firing_for_ms);
    }
    if (d->kind == RULES_ALERT || d->labels.n) {
        json_key(w, "labels");
        json_labels(w, &d->labels);
    }
    if (d->kind == RULES_ALERT) {
        json_key(w, "annotations");
        json_labels(w, &d->annotations);
        if (!f->exclude_alerts) {
            json_key(w, "alerts");
            json_arr_begin(w);
            for (size_t i = 0; i < r->n_alerts; i++)
                write_alert(w, &r->alerts[i]);
            json_arr_end(w);
        }
    }
    json_key(w, "health");
    json_str(w, r->health);
    if (r->last_error && *r->last_error) {
        json_key(w, "lastError");
        json_str(w, r->last_error);
    }
    json_key(w, "evaluationTime");
    json_float(w, r->eval_seconds);
    json_key(w, "lastEvaluation");
    json_time(w, r->last_eval_ms);
    json_key(w, "type");
    json_str(w, d->kind == RULES_ALERT ? "alerting" : "recording");
    json_obj_end(w);
}

static int rule_selected(const struct rules_rule_status *r, const struct filter *f)
{
    return (f->want_kind < 0 || (int) r->def->kind == f->want_kind) &&
           listed(f->form, "rule_name[]", r->def->name);
}

static void write_group(struct json_writer *w, struct arena *a,
                        const struct rules_group_status *g, const struct filter *f)
{
    json_obj_begin(w);
    json_key(w, "name");
    json_str(w, g->def->name);
    json_key(w, "file");
    json_str(w, g->def->file);
    json_key(w, "rules");
    json_arr_begin(w);
    for (size_t i = 0; i < g->n_rules; i++)
        if (rule_selected(&g->rules[i], f))
            write_rule(w, a, &g->rules[i], f);
    json_arr_end(w);
    json_key(w, "interval");
    json_seconds(w, g->interval_ms);
    json_key(w, "limit");
    json_uint(w, g->def->limit);
    json_key(w, "evaluationTime");
    json_float(w, g->eval_seconds);
    json_key(w, "lastEvaluation");
    json_time(w, g->last_eval_ms);
    json_obj_end(w);
}

static int get_status(struct http_request *req, struct app *app,
                      struct rules_group_status **ret, size_t *ret_n)
{
    struct err e = {0};
    *ret = NULL;
    *ret_n = 0;
    if (app->rules && rules_manager_status(app->rules, req->arena, ret, ret_n, &e) < 0) {
        http_respond_error(req, 503, "unavailable", e.msg);
        return -1;
    }
    return 0;
}

static void respond_json(struct http_request *req, struct json_writer *w, struct buf *b)
{
    json_envelope_end(w, NULL, 0);
    if (json_done(w) < 0) {
        buf_free(b);
        http_respond_error(req, 503, "unavailable", "out of memory");
        return;
    }
    http_respond_buf(req, 200, "application/json", b);
}

/* The success envelope and `{"<key>":[` of a listing answer; the caller writes the elements,
 * closes the list (and any sibling keys), the object, and calls respond_json(). */
static void listing_begin(struct json_writer *w, struct buf *b, const char *key)
{
    json_init(w, b);
    json_envelope_begin(w);
    json_obj_begin(w);
    json_key(w, key);
    json_arr_begin(w);
}

void api_v1_rules(struct http_request *req, struct app *app)
{
    struct http_form *form;
    struct err e = {0};
    if (http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                        req->body_len, http_request_header(req, "content-type"), &form, &e) < 0) {
        http_respond_error(req, 400, "bad_data", e.msg);
        return;
    }
    struct filter f = {form, -1, 0};
    /* Prometheus lower-cases the value before it compares it (and in its message). */
    const char *raw_type = http_form_get(form, "type");
    char *type = raw_type ? arena_strndup(req->arena, raw_type, strlen(raw_type)) : NULL;
    for (char *c = type; c && *c; c++)
        *c = (char) tolower((unsigned char) *c);
    if (type && !strcmp(type, "alert"))
        f.want_kind = RULES_ALERT;
    else if (type && !strcmp(type, "record"))
        f.want_kind = RULES_RECORD;
    else if (raw_type && *raw_type) {
        char *msg = type ? arena_printf(req->arena,
                                        "invalid parameter \"type\": not supported value \"%s\"",
                                        type)
                         : NULL;
        http_respond_error(req, 400, "bad_data", msg ? msg : "invalid parameter \"type\"");
        return;
    }
    const char *ex = http_form_get(form, "exclude_alerts");
    f.exclude_alerts = ex && (!strcmp(ex, "true") || !strcmp(ex, "1"));
    struct rules_group_status *gs;
    size_t n;
    if (get_status(req, app, &gs, &n) < 0)
        return;
    struct buf b = BUF_INIT;
    struct json_writer w;
    listing_begin(&w, &b, "groups");
    for (size_t i = 0; i < n; i++) {
        const struct rules_group_status *g = &gs[i];
        if (!listed(form, "rule_group[]", g->def->name) || !listed(form, "file[]", g->def->file))
            continue;
        size_t kept = 0;
        for (size_t r = 0; r < g->n_rules; r++)
            kept += (size_t) rule_selected(&g->rules[r], &f);
        if (kept) /* a group left without rules by the filters is omitted, as in Prometheus */
            write_group(&w, req->arena, g, &f);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    respond_json(req, &w, &b);
}

void api_v1_alerts(struct http_request *req, struct app *app)
{
    struct rules_group_status *gs;
    size_t n;
    if (get_status(req, app, &gs, &n) < 0)
        return;
    struct buf b = BUF_INIT;
    struct json_writer w;
    listing_begin(&w, &b, "alerts");
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < gs[i].n_rules; r++)
            for (size_t k = 0; k < gs[i].rules[r].n_alerts; k++)
                write_alert(&w, &gs[i].rules[r].alerts[k]);
    json_arr_end(&w);
    json_obj_end(&w);
    respond_json(req, &w, &b);
}

void api_v1_alertmanagers(struct http_request *req, struct app *app)
{
    struct buf b = BUF_INIT;
    struct json_writer w;
    listing_begin(&w, &b, "activeAlertmanagers");
    const char *url;
    for (uint32_t i = 0; app->notifier && (url = rules_notifier_url(app->notifier, i)); i++) {
        json_obj_begin(&w);
        json_key(&w, "url");
        json_str(&w, url);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "droppedAlertmanagers");
    json_arr_begin(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    respond_json(req, &w, &b);
}
