/* rules/notifier.c — alerts to Alertmanager's API v2 (POST <prefix>/api/v2/alerts).
 *
 * Evaluation workers call rules_notifier_send(): each alert gets external labels and
 * alert_relabel_configs applied and is encoded to its JSON object right there, then pushed onto a
 * bounded queue (the oldest are dropped and counted when full, as Prometheus' notifier does).
 * The loop thread, woken through a uv_async, takes up to max_batch alerts and POSTs them to every
 * Alertmanager at once through the scrape module's HTTP client; the next batch goes when all
 * answered or timed out. A batch no Alertmanager took is dropped and counted. Nothing here
 * waits: an unreachable Alertmanager only costs its timeout, on the loop, without blocking it;
 * https goes through the same client (TLS over memory BIOs, handshake driven by socket reads),
 * with the TLS context and Authorization value the config loader built. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/rules.h"
#include "scrape/http_client.h"

#define DEFAULT_QUEUE 10000
#define DEFAULT_BATCH 256

struct am {
    struct rules_notifier *n;
    char host[256], port[16], path[512], url[800];
    char *auth_header; /* "Authorization: ...\r\n" or NULL */
    scrape_tls *tls;   /* referenced; NULL: plain http */
    int64_t timeout_ms;
    struct http_get *get; /* in flight, or NULL */
    struct http_get *idle; /* kept-alive connection for the next batch (one TLS handshake per
                            * connection, not per batch), or NULL */
    uint64_t started_ns;  /* when the POST in flight began */
    struct rules_notifier_am_stats stats; /* under the notifier's lock */
};

/* The Alertmanagers of one configuration (loop thread). */
struct amset {
    struct am *v;
    uint32_t n;
    struct arena *arena; /* Authorization headers */
};

/* What evaluation workers read while encoding: replaced whole on reload, referenced. */
struct settings {
    atomic_uint refs;
    struct arena *arena;
    struct labels external;
    scrape_relabel *relabel;
};

struct rules_notifier {
    uv_loop_t *loop;
    uv_async_t wake;
    uv_mutex_t lock; /* guards the queue, the counters and settings */
    char **queue;    /* ring of JSON objects, one per alert (heap strings) */
    uint32_t cap, head, len, max_batch;
    uint64_t dropped;
    struct settings *settings;
    struct amset ams;     /* current */
    struct amset old_ams; /* replaced while the batch in flight still uses it */
    struct am *batch_ams; /* the array the batch in flight went to */
    /* loop thread: the batch being sent */
    struct buf body;
    uint32_t batch_n, pending, batch_ok;
    int closing;
    void (*done)(void *arg);
    void *done_arg;
};

/* JSON string literal; bytes >= 0x80 pass through (labels are UTF-8). */
static int put_str(struct buf *b, const char *s)
{
    int r = buf_putc(b, '"');
    for (; *s && r >= 0; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            r = buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            r = buf_printf(b, "\\u%04x", c);
        else
            r = buf_putc(b, c);
    }
    return r < 0 ? r : buf_putc(b, '"');
}

static int put_labels(struct buf *b, const char *key, const struct labels *ls)
{
    int r = buf_printf(b, "\"%s\":{", key);
    for (uint32_t i = 0; i < ls->n && r >= 0; i++) {
        if (i)
            r = buf_putc(b, ',');
        if (r >= 0)
            r = put_str(b, ls->v[i].name);
        if (r >= 0)
            r = buf_putc(b, ':');
        if (r >= 0)
            r = put_str(b, ls->v[i].value);
    }
    return r < 0 ? r : buf_putc(b, '}');
}

/* RFC 3339 in UTC with milliseconds, as Go marshals time.Time (trailing zeros trimmed is not
 * required by Alertmanager). */
static int put_time(struct buf *b, const char *key, int64_t ms)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    char s[40];
    if (!gmtime_r(&secs, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm))
        return -EINVAL;
    return buf_printf(b, "\"%s\":\"%s.%03dZ\"", key, s, (int) (ms % 1000));
}

static char *encode(const struct labels *ls, const struct rules_notification *al)
{
    struct buf b = BUF_INIT;
    int r = buf_putc(&b, '{');
    if (r >= 0)
        r = put_labels(&b, "labels", ls);
    if (r >= 0)
        r = buf_putc(&b, ',');
    if (r >= 0)
        r = put_labels(&b, "annotations", al->annotations);
    if (r >= 0)
        r = buf_putc(&b, ',');
    if (r >= 0)
        r = put_time(&b, "startsAt", al->starts_at_ms);
    if (r >= 0 && al->ends_at_ms && (r = buf_putc(&b, ',')) >= 0)
        r = put_time(&b, "endsAt", al->ends_at_ms);
    if (r >= 0)
        r = buf_puts(&b, ",\"generatorURL\":");
    if (r >= 0)
        r = put_str(&b, al->generator_url ? al->generator_url : "");
    if (r >= 0)
        r = buf_puts(&b, "}");
    if (r >= 0)
        r = buf_putc(&b, 0);
    if (r < 0) {
        buf_free(&b);
        return NULL;
    }
    size_t len;
    return (char *) buf_take(&b, &len);
}

/* External labels the alert lacks, then alert_relabel_configs; 0 when relabeling dropped it. */
static int final_labels(const struct settings *n, struct arena *a, const struct labels *in,
                        struct labels *ret)
{
    struct label *v = arena_alloc(a, (in->n + n->external.n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    struct labels ls = {v, 0};
    for (uint32_t i = 0; i < in->n; i++)
        v[ls.n++] = in->v[i];
    for (uint32_t i = 0; i < n->external.n; i++)
        if (!labels_get(in, n->external.v[i].name))
            v[ls.n++] = n->external.v[i];
    (void) labels_sort(&ls);
    if (!n->relabel)
        return *ret = ls, 1;
    return scrape_relabel_apply(n->relabel, a, &ls, ret);
}

static void settings_unref(struct settings *st)
{
    if (!st || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    scrape_relabel_unref(st->relabel);
    arena_free(st->arena);
    free(st);
}

static struct settings *settings_new(const struct rules_notifier_opts *o)
{
    struct settings *st = calloc(1, sizeof *st);
    if (!st || !(st->arena = arena_new(0)) ||
        labels_copy(st->arena, &o->external_labels, &st->external) < 0) {
        if (st)
            arena_free(st->arena);
        free(st);
        return NULL;
    }
    atomic_init(&st->refs, 1);
    st->relabel = scrape_relabel_ref(o->alert_relabel);
    return st;
}

void rules_notifier_send(rules_notifier *n, const struct rules_notification *alerts, size_t count)
{
    struct arena *a = arena_new(0);
    if (!a)
        return;
    uv_mutex_lock(&n->lock);
    struct settings *st = n->settings;
    atomic_fetch_add(&st->refs, 1);
    uv_mutex_unlock(&n->lock);
    for (size_t i = 0; i < count; i++) {
        struct labels ls;
        char *js = NULL;
        int r = final_labels(st, a, alerts[i].labels, &ls);
        if (r == 1 && ls.n > 0)
            js = encode(&ls, &alerts[i]);
        uv_mutex_lock(&n->lock);
        if (r < 0 || (r == 1 && ls.n > 0 && !js))
            n->dropped++;
        else if (js) {
            if (n->len == n->cap) { /* full: the oldest goes, as in Prometheus */
                free(n->queue[n->head]);
                n->head = (n->head + 1) % n->cap;
                n->len--;
                n->dropped++;
            }
            n->queue[(n->head + n->len) % n->cap] = js;
            n->len++;
        }
        uv_mutex_unlock(&n->lock);
        arena_reset(a);
    }
    settings_unref(st);
    arena_free(a);
    uv_async_send(&n->wake);
}

static void send_next(rules_notifier *n);

static void amset_free(struct amset *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->v[i].idle) /* before the slot goes */
            http_get_close_idle(s->v[i].idle);
        scrape_tls_unref(s->v[i].tls);
    }
    free(s->v);
    arena_free(s->arena);
    *s = (struct amset){0};
}

static void on_sent(void *ctx, struct http_get_result *res, const struct err *err)
{
    struct am *am = ctx;
    rules_notifier *n = am->n;
    am->get = NULL;
    int ok = err->code == 0 && res->status / 100 == 2;
    if (ok)
        n->batch_ok = 1;
    else if (err->code != ERR_CANCELED || !n->closing) {
        char why[64], q[2 * sizeof err->msg];
        if (!err->code)
            (void) snprintf(why, sizeof why, "bad response status %d", res->status);
        LOG_WARN("notifier", "error sending alerts", "alertmanager=%s count=%u err=\"%s\"",
                 am->url, n->batch_n, log_escape(err->code ? err->msg : why, q, sizeof q));
    }
    buf_free(&res->body); /* taken; Alertmanager's answer is not needed */
    uv_mutex_lock(&n->lock);
    am->stats.sent += n->batch_n;
    am->stats.errors += !ok;
    am->stats.latency_count++;
    am->stats.latency_sum_seconds += (double) (uv_hrtime() - am->started_ns) / 1e9;
    uv_mutex_unlock(&n->lock);
    if (--n->pending > 0)
        return;
    amset_free(&n->old_ams); /* a reload replaced them while this batch was out */
    n->batch_ams = NULL;
    if (!n->batch_ok) {
        uv_mutex_lock(&n->lock);
        n->dropped += n->batch_n;
        uv_mutex_unlock(&n->lock);
    }
    buf_reset(&n->body);
    n->batch_n = 0;
    send_next(n);
}

static void finish_close(rules_notifier *n);

/* Loop thread: the next batch to every Alertmanager, unless one is in flight. */
static void send_next(rules_notifier *n)
{
    if (n->closing) {
        if (n->pending == 0)
            finish_close(n);
        return;
    }
    if (n->pending)
        return;
    if (n->ams.n == 0) { /* none configured (any more): what waits is dropped, as Prometheus */
        uv_mutex_lock(&n->lock);
        for (; n->len; n->len--, n->head = (n->head + 1) % n->cap, n->dropped++)
            free(n->queue[n->head]);
        uv_mutex_unlock(&n->lock);
        return;
    }
    buf_reset(&n->body);
    int r = buf_putc(&n->body, '[');
    uint32_t taken = 0;
    uv_mutex_lock(&n->lock);
    while (n->len && taken < n->max_batch && r >= 0) {
        char *js = n->queue[n->head];
        n->head = (n->head + 1) % n->cap;
        n->len--;
        if (taken)
            r = buf_putc(&n->body, ',');
        if (r >= 0)
            r = buf_puts(&n->body, js);
        free(js);
        taken++;
    }
    if (r < 0)
        n->dropped += taken;
    uv_mutex_unlock(&n->lock);
    if (taken == 0 || r < 0 || buf_putc(&n->body, ']') < 0)
        return;
    n->batch_n = taken;
    n->batch_ok = 0;
    n->pending = n->ams.n;
    n->batch_ams = n->ams.v;
    for (uint32_t i = 0; i < n->ams.n; i++) {
        struct am *am = &n->ams.v[i];
        struct http_get_opts o = {.host = am->host, .port = am->port, .path = am->path,
                                  .accept = "application/json",
                                  .extra_headers = am->auth_header,
                                  .timeout_ms = am->timeout_ms, .max_body = 1 << 20,
                                  .tls = am->tls, .keep = &am->idle,
                                  .post_body = n->body.p, .post_len = n->body.len,
                                  .post_type = "application/json"};
        struct err e = {0};
        am->started_ns = uv_hrtime();
        if (http_get_start(n->loop, &o, on_sent, am, &am->get, &e) < 0) {
            struct http_get_result res = {0};
            on_sent(am, &res, &e);
        }
    }
}

static void on_wake(uv_async_t *h)
{
    send_next(h->data);
}

/* host:port or [v6]:port into the parts the HTTP client dials. */
static int split_address(const char *addr, struct am *am)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || strlen(colon + 1) >= sizeof am->port)
        return -1;
    const char *h = addr;
    size_t hn = (size_t) (colon - addr);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']')
        h++, hn -= 2;
    if (!hn || hn >= sizeof am->host)
        return -1;
    memcpy(am->host, h, hn);
    am->host[hn] = 0;
    (void) snprintf(am->port, sizeof am->port, "%s", colon + 1);
    return 0;
}

/* The Alertmanagers of o, each keeping the counters of old's with the same URL. */
static int build_ams(rules_notifier *n, const struct rules_notifier_opts *o,
                     const struct amset *old, struct amset *ret, struct err *e)
{
    struct amset s = {calloc(o->n_targets + 1, sizeof *s.v), 0, arena_new(0)};
    if (!s.v || !s.arena) {
        amset_free(&s);
        return err_set(e, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < o->n_targets; i++) {
        const struct rules_am_target *t = &o->targets[i];
        struct am *am = &s.v[i];
        am->n = n;
        am->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
        if (split_address(t->address, am) < 0) {
            amset_free(&s);
            return err_set(e, ERR_PARSE, "alertmanager address \"%s\": want host:port",
                           t->address);
        }
        (void) snprintf(am->path, sizeof am->path, "%s/api/v2/alerts", t->path_prefix);
        (void) snprintf(am->url, sizeof am->url, "%s://%s%s", t->tls ? "https" : "http",
                        t->address, am->path);
        if (t->authorization && !(am->auth_header = arena_printf(
                                      s.arena, "Authorization: %s\r\n", t->authorization))) {
            amset_free(&s);
            return err_set(e, -ENOMEM, "out of memory");
        }
        am->tls = scrape_tls_ref(t->tls);
        s.n++;
        for (uint32_t j = 0; old && j < old->n; j++)
            if (!strcmp(old->v[j].url, am->url))
                am->stats = old->v[j].stats;
    }
    *ret = s;
    return 0;
}

int rules_notifier_new(uv_loop_t *loop, const struct rules_notifier_opts *o,
                       rules_notifier **ret, struct err *e)
{
    rules_notifier *n = calloc(1, sizeof *n);
    if (!n)
        return err_set(e, -ENOMEM, "out of memory");
    n->loop = loop;
    n->cap = o->queue_capacity ? o->queue_capacity : DEFAULT_QUEUE;
    n->max_batch = o->max_batch ? o->max_batch : DEFAULT_BATCH;
    n->queue = calloc(n->cap, sizeof *n->queue);
    n->settings = settings_new(o);
    int r = n->queue && n->settings ? build_ams(n, o, NULL, &n->ams, e)
                                    : err_set(e, -ENOMEM, "out of memory");
    if (r == 0 && uv_mutex_init(&n->lock) != 0)
        r = err_set(e, -ENOMEM, "cannot create a mutex");
    if (r < 0) {
        amset_free(&n->ams);
        settings_unref(n->settings);
        free(n->queue);
        free(n);
        return r;
    }
    uv_async_init(loop, &n->wake, on_wake);
    n->wake.data = n;
    *ret = n;
    return 0;
}

int rules_notifier_configure(rules_notifier *n, const struct rules_notifier_opts *o,
                             struct err *e)
{
    struct amset s;
    struct settings *st = settings_new(o);
    int r = st ? build_ams(n, o, &n->ams, &s, e) : err_set(e, -ENOMEM, "out of memory");
    if (r < 0) {
        settings_unref(st);
        return r;
    }
    uv_mutex_lock(&n->lock);
    struct settings *old_st = n->settings;
    n->settings = st;
    struct amset old = n->ams;
    n->ams = s;
    uv_mutex_unlock(&n->lock);
    settings_unref(old_st);
    if (n->pending && old.v == n->batch_ams)
        n->old_ams = old; /* its requests are in flight: freed when the batch ends */
    else
        amset_free(&old);
    uv_async_send(&n->wake); /* what waited for an Alertmanager goes to the new ones now */
    return 0;
}

void rules_notifier_stats(rules_notifier *n, struct rules_notifier_stats *ret)
{
    uv_mutex_lock(&n->lock);
    *ret = (struct rules_notifier_stats){n->dropped, n->len, n->cap, n->ams.n};
    uv_mutex_unlock(&n->lock);
}

int rules_notifier_am_stats(rules_notifier *n, uint32_t i, struct rules_notifier_am_stats *ret)
{
    if (i >= n->ams.n)
        return -1;
    uv_mutex_lock(&n->lock);
    *ret = n->ams.v[i].stats;
    uv_mutex_unlock(&n->lock);
    return 0;
}

const char *rules_notifier_url(const rules_notifier *n, uint32_t i)
{
    return i < n->ams.n ? n->ams.v[i].url : NULL;
}

static void on_wake_closed(uv_handle_t *h)
{
    rules_notifier *n = h->data;
    for (uint32_t i = 0; i < n->len; i++)
        free(n->queue[(n->head + i) % n->cap]);
    free(n->queue);
    amset_free(&n->ams);
    amset_free(&n->old_ams);
    buf_free(&n->body);
    settings_unref(n->settings);
    uv_mutex_destroy(&n->lock);
    void (*done)(void *) = n->done;
    void *arg = n->done_arg;
    free(n);
    if (done)
        done(arg);
}

static void finish_close(rules_notifier *n)
{
    if (!uv_is_closing((uv_handle_t *) &n->wake))
        uv_close((uv_handle_t *) &n->wake, on_wake_closed);
}

void rules_notifier_close(rules_notifier *n, void (*done)(void *arg), void *arg)
{
    if (!n) {
        if (done)
            done(arg);
        return;
    }
    n->closing = 1;
    n->done = done;
    n->done_arg = arg;
    if (n->pending == 0) {
        finish_close(n);
        return;
    }
    for (uint32_t i = 0; i < n->ams.n; i++)
        if (n->ams.v[i].get)
            http_get_cancel(n->ams.v[i].get);
    for (uint32_t i = 0; i < n->old_ams.n; i++)
        if (n->old_ams.v[i].get)
            http_get_cancel(n->old_ams.v[i].get);
}
