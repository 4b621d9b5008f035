/* server/api_targets.c — /api/v1/targets, /api/v1/targets/metadata and /api/v1/metadata with
 * Prometheus 2.42's JSON shapes. The scrape manager's state belongs to the loop thread, so the
 * JSON is built here on the loop: a few hundred bytes per target, and for /api/v1/metadata one
 * sort over all targets' families. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"
#include "server/http_form.h"
#include "server/json.h"

/* Go's time.Time JSON (RFC 3339, fraction without trailing zeros) in UTC; 0 is Go's zero time
 * "0001-01-01T00:00:00Z", which Prometheus shows for a target never scraped. */
static void put_time(struct json_writer *w, int64_t t_ms)
{
    if (t_ms <= 0) {
        json_str(w, "0001-01-01T00:00:00Z");
        return;
    }
    time_t secs = (time_t) (t_ms / 1000);
    int ms = (int) (t_ms % 1000);
    struct tm tm;
    char s[48];
    (void) gmtime_r(&secs, &tm);
    int n = snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (ms) {
        char frac[8];
        int fl = snprintf(frac, sizeof frac, ".%03d", ms);
        while (fl > 1 && frac[fl - 1] == '0')
            frac[--fl] = '\0';
        n += snprintf(s + n, sizeof s - (size_t) n, "%s", frac);
    }
    (void) snprintf(s + n, sizeof s - (size_t) n, "Z");
    json_str(w, s);
}

static void put_duration(struct json_writer *w, int64_t ms)
{
    char s[32];
    (void) duration_format(s, sizeof s, ms);
    json_str(w, s);
}

static int is_loopback_host(const char *h, size_t n)
{
    return (n == 9 && memcmp(h, "127.0.0.1", n) == 0) || (n == 9 && memcmp(h, "localhost", n) == 0) ||
           (n == 3 && memcmp(h, "::1", n) == 0);
}

struct targets_ctx {
    struct json_writer *w;
    struct buf *url; /* scratch */
    const char *hostname; /* this machine's name, for globalUrl */
};

/* scheme://address/path?query (the path is already escaped by the target builder). With
 * global set, a loopback host becomes this machine's name, as Prometheus' getGlobalURL does for
 * an external URL left at its default. */
static const char *target_url(struct targets_ctx *c, const struct scrape_target_spec *s,
                              int global)
{
    const char *addr = s->address, *host = addr, *port = "";
    size_t hn = strlen(addr);
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close) {
            host = addr + 1;
            hn = (size_t) (close - host);
            port = close + 1;
        }
    } else {
        const char *colon = strrchr(addr, ':');
        if (colon) {
            hn = (size_t) (colon - addr);
            port = colon;
        }
    }
    c->url->len = 0;
    if (global && is_loopback_host(host, hn))
        (void) buf_printf(c->url, "%s://%s%s", s->scheme, c->hostname, port);
    else
        (void) buf_printf(c->url, "%s://%s", s->scheme, addr);
    (void) buf_printf(c->url, "%s%s%s", s->metrics_path, s->query && s->query[0] ? "?" : "",
                      s->query ? s->query : "");
    return c->url->p ? (const char *) c->url->p : "";
}

static const char *health_name(enum scrape_health h)
{
    return h == SCRAPE_HEALTH_UP ? "up" : h == SCRAPE_HEALTH_DOWN ? "down" : "unknown";
}

static void put_active(void *ctx, const struct scrape_target_status *st)
{
    struct targets_ctx *c = ctx;
    struct json_writer *w = c->w;
    const struct scrape_target_spec *s = st->spec;
    json_obj_begin(w);
    json_key(w, "discoveredLabels");
    json_labels(w, &s->discovered);
    json_key(w, "labels");
    json_labels(w, &s->labels);
    json_key(w, "scrapePool");
    json_str(w, s->job);
    json_key(w, "scrapeUrl");
    json_str(w, target_url(c, s, 0));
    json_key(w, "globalUrl");
    json_str(w, target_url(c, s, 1));
    json_key(w, "lastError");
    json_str(w, st->last_error ? st->last_error : "");
    json_key(w, "lastScrape");
    put_time(w, st->last_scrape_ms);
    json_key(w, "lastScrapeDuration");
    json_float(w, st->last_duration_seconds);
    json_key(w, "health");
    json_str(w, health_name(st->health));
    json_key(w, "scrapeInterval");
    put_duration(w, s->interval_ms);
    json_key(w, "scrapeTimeout");
    put_duration(w, s->timeout_ms);
    json_obj_end(w);
}

static void put_dropped(void *ctx, const char *job, const struct labels *discovered)
{
    (void) job; /* Prometheus 2.42 shows only the labels of a dropped target */
    struct targets_ctx *c = ctx;
    json_obj_begin(c->w);
    json_key(c->w, "discoveredLabels");
    json_labels(c->w, discovered);
    json_obj_end(c->w);
}

static void respond_json(struct http_request *req, struct json_writer *w, struct buf *out)
{
    json_envelope_end(w, NULL, 0);
    if (json_done(w) < 0) {
        buf_free(out);
        api_respond_err(req, -ENOMEM, "out of memory encoding the response");
        return;
    }
    http_respond_buf(req, 200, "application/json", out);
    buf_free(out);
}

/* The request's parameters as Go's FormValue sees them: malformed pairs skipped, not refused.
 * NULL after answering when the arena is exhausted. */
static struct http_form *lenient_form(struct http_request *req)
{
    struct http_form *form = NULL;
    struct err e = {0};
    int r = http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                            req->body_len, http_request_header(req, "content-type"), &form, &e);
    if (r < 0 && r != ERR_PARSE) {
        api_respond_err(req, r, e.msg);
        return NULL;
    }
    return form;
}

void api_v1_targets(struct http_request *req, struct app *app)
{
    struct http_form *form = lenient_form(req);
    if (!form)
        return;
    /* Prometheus lowercases state; anything but active, dropped, any (or none) lists nothing. */
    const char *state = http_form_get(form, "state");
    int any = !state || !*state || strcasecmp(state, "any") == 0;
    int active = any || strcasecmp(state, "active") == 0;
    int dropped = any || strcasecmp(state, "dropped") == 0;
    char hostname[256];
    if (gethostname(hostname, sizeof hostname) < 0)
        (void) snprintf(hostname, sizeof hostname, "localhost");
    hostname[sizeof hostname - 1] = '\0';
    struct buf out = BUF_INIT, url = BUF_INIT;
    struct json_writer w;
    struct targets_ctx c = {&w, &url, hostname};
    json_init(&w, &out);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    json_key(&w, "activeTargets");
    json_arr_begin(&w);
    if (active && app->scrape)
        scrape_manager_each(app->scrape, put_active, &c);
    json_arr_end(&w);
    json_key(&w, "droppedTargets");
    json_arr_begin(&w);
    if (dropped && app->scrape)
        scrape_manager_each_dropped(app->scrape, put_dropped, &c);
    json_arr_end(&w);
    json_obj_end(&w);
    buf_free(&url);
    respond_json(req, &w, &out);
}

/* ---- /api/v1/targets/metadata and /api/v1/metadata ---- */

/* A limit parameter as Go's strconv.Atoi reads it: -1 when absent; 400 and -2 when it is not a
 * number. */
static int64_t limit_param(struct http_request *req, const struct http_form *form,
                           const char *key)
{
    const char *s = http_form_get(form, key);
    if (!s || !*s)
        return -1;
    int64_t v;
    const char *p = s[0] == '+' ? s + 1 : s; /* Atoi takes a sign */
    if (num_parse_int64(p, strlen(p), &v) < 0 || (p != s && p[0] == '-')) {
        char msg[64];
        (void) snprintf(msg, sizeof msg, "%s must be a number", key);
        http_respond_error(req, 400, "bad_data", msg);
        return -2;
    }
    return v;
}

static void put_metadata_fields(struct json_writer *w, const struct scrape_metadata *m)
{
    json_key(w, "type");
    json_str(w, m->type);
    json_key(w, "help");
    json_str(w, m->help);
    json_key(w, "unit");
    json_str(w, m->unit);
}

struct target_meta_ctx {
    struct json_writer *w;
    const struct matcher *ms;
    size_t n_ms;
    const char *metric; /* NULL: every family of the target */
    int64_t limit;      /* -1: none */
    int64_t n;
};

static void put_target_metadata(void *ctx, const struct scrape_target_status *st)
{
    struct target_meta_ctx *c = ctx;
    /* Prometheus checks the limit per target, so one target's list may overshoot it. */
    if (c->limit >= 0 && c->n >= c->limit)
        return;
    for (size_t i = 0; i < c->n_ms; i++) {
        const char *v = labels_get(&st->spec->labels, c->ms[i].name);
        if (!matcher_matches(&c->ms[i], v ? v : ""))
            return;
    }
    const struct scrape_metadata *m = st->metadata;
    uint32_t n = st->n_metadata;
    if (c->metric) {
        m = scrape_metadata_find(st->metadata, st->n_metadata, c->metric);
        n = m ? 1 : 0;
    }
    for (uint32_t i = 0; i < n; i++, c->n++) {
        json_obj_begin(c->w);
        json_key(c->w, "target");
        json_labels(c->w, &st->spec->labels);
        if (!c->metric) { /* Prometheus omits "metric" when the request named it */
            json_key(c->w, "metric");
            json_str(c->w, m[i].metric);
        }
        put_metadata_fields(c->w, &m[i]);
        json_obj_end(c->w);
    }
}

void api_v1_targets_metadata(struct http_request *req, struct app *app)
{
    struct http_form *form = lenient_form(req);
    if (!form)
        return;
    struct target_meta_ctx c = {0};
    if ((c.limit = limit_param(req, form, "limit")) == -2)
        return;
    const char *match = http_form_get(form, "match_target");
    if (match && *match) {
        struct promql_expr *x;
        struct promql_node_view v;
        struct err e = {0};
        if (promql_parse(req->arena, match, strlen(match), &x, &e) < 0) {
            api_respond_err(req, ERR_PARSE, e.msg);
            return;
        }
        promql_expr_view(x, &v);
        if (strcmp(v.type, "vectorSelector") != 0) {
            http_respond_error(req, 400, "bad_data",
                               "match_target must be a metric selector such as {job=\"node\"}");
            return;
        }
        c.ms = v.matchers;
        c.n_ms = v.n_matchers;
    }
    const char *metric = http_form_get(form, "metric");
    c.metric = metric && *metric ? metric : NULL;
    struct buf out = BUF_INIT;
    struct json_writer w;
    c.w = &w;
    json_init(&w, &out);
    json_envelope_begin(&w);
    json_arr_begin(&w);
    if (app->scrape)
        scrape_manager_each(app->scrape, put_target_metadata, &c);
    json_arr_end(&w);
    respond_json(req, &w, &out);
}

/* /api/v1/metadata: every distinct (type, help, unit) per metric across targets, metrics in
 * name order (Go's map keys are written sorted); collected in the request's arena. */
struct meta_row {
    const struct scrape_metadata *m;
    uint32_t seq; /* target order, for a stable listing */
};

struct all_meta_ctx {
    struct arena *a;
    const char *metric;
    struct meta_row *v;
    size_t n, cap;
    int failed;
};

static void collect_metadata(void *ctx, const struct scrape_target_status *st)
{
    struct all_meta_ctx *c = ctx;
    const struct scrape_metadata *m = st->metadata;
    uint32_t n = st->n_metadata;
    if (c->metric) {
        m = scrape_metadata_find(st->metadata, st->n_metadata, c->metric);
        n = m ? 1 : 0;
    }
    for (uint32_t i = 0; i < n && !c->failed; i++) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 256;
            struct meta_row *v = arena_calloc(c->a, cap, sizeof *v);
            if (!v) {
                c->failed = 1;
                return;
            }
            if (c->n)
                memcpy(v, c->v, c->n * sizeof *v);
            c->v = v;
            c->cap = cap;
        }
        c->v[c->n] = (struct meta_row){&m[i], (uint32_t) c->n};
        c->n++;
    }
}

/* Metric, then the entry itself, so equal entries of one metric end up next to each other. */
static int meta_row_cmp(const void *x, const void *y)
{
    const struct scrape_metadata *a = ((const struct meta_row *) x)->m;
    const struct scrape_metadata *b = ((const struct meta_row *) y)->m;
    int c = strcmp(a->metric, b->metric);
    if (!c)
        c = strcmp(a->type, b->type);
    if (!c)
        c = strcmp(a->help, b->help);
    if (!c)
        c = strcmp(a->unit, b->unit);
    if (c)
        return c;
    uint32_t sa = ((const struct meta_row *) x)->seq, sb = ((const struct meta_row *) y)->seq;
    return (sa > sb) - (sa < sb);
}

static int same_metadata(const struct scrape_metadata *a, const struct scrape_metadata *b)
{
    return strcmp(a->type, b->type) == 0 && strcmp(a->help, b->help) == 0 &&
           strcmp(a->unit, b->unit) == 0;
}

void api_v1_metadata(struct http_request *req, struct app *app)
{
    struct http_form *form = lenient_form(req);
    if (!form)
        return;
    int64_t limit, per_metric;
    if ((limit = limit_param(req, form, "limit")) == -2 ||
        (per_metric = limit_param(req, form, "limit_per_metric")) == -2)
        return;
    const char *metric = http_form_get(form, "metric");
    struct all_meta_ctx c = {.a = req->arena, .metric = metric && *metric ? metric : NULL};
    if (app->scrape)
        scrape_manager_each(app->scrape, collect_metadata, &c);
    if (c.failed) {
        api_respond_err(req, -ENOMEM, "out of memory collecting metadata");
        return;
    }
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, meta_row_cmp);
    struct buf out = BUF_INIT;
    struct json_writer w;
    json_init(&w, &out);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    int64_t metrics = 0;
    for (size_t i = 0; i < c.n;) {
        size_t end = i + 1;
        while (end < c.n && strcmp(c.v[end].m->metric, c.v[i].m->metric) == 0)
            end++;
        if (limit >= 0 && metrics >= limit)
            break;
        metrics++;
        json_key(&w, c.v[i].m->metric);
        json_arr_begin(&w);
        int64_t listed = 0;
        for (size_t k = i; k < end; k++) {
            /* Prometheus keeps a set per metric: equal entries (adjacent here) appear once. */
            if (k > i && same_metadata(c.v[k - 1].m, c.v[k].m))
                continue;
            if (per_metric > 0 && listed >= per_metric)
                break;
            json_obj_begin(&w);
            put_metadata_fields(&w, c.v[k].m);
            json_obj_end(&w);
            listed++;
        }
        json_arr_end(&w);
        i = end;
    }
    json_obj_end(&w);
    respond_json(req, &w, &out);
}
