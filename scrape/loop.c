/* scrape/loop.c — one target's scrape loop.
 *
 * Threads: the timer, the HTTP client and all status fields belong to the loop thread. While a
 * scrape is in flight (l->busy), exactly one worker job owns the series cache and the appender;
 * the loop thread does not touch them until after_work. So the cache needs no lock.
 *
 * Series cache (series_cache.c): raw series text (`name{labels}` as scraped) → the result of
 * labelling it (target labels, then metric_relabel_configs): a series ref, or "dropped" when
 * relabeling dropped it. It skips label parsing, relabeling and sorting for known series (the
 * rules cannot change under a running loop: they are part of its identity), and drives
 * staleness: stored series not seen in a successful scrape, or all of them after a failed one or
 * when the target goes away, get Prometheus' stale marker at that scrape's timestamp; dropped
 * entries not seen just leave the cache. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/handoff.h"
#include "scrape/http_client.h"
#include "scrape/intervals.h"
#include "scrape/metadata.h"
#include "scrape/relabel.h"
#include "scrape/schedule.h"
#include "scrape/series_cache.h"
#include "scrape/textparse.h"

#define SCRAPE_ARENA_CAP (256u << 20) /* one scrape's labels; a bigger target is a mistake */

struct scrape_loop {
    uv_loop_t *uv;
    tsdb *db;
    struct scrape_target_spec spec; /* deep copy; strings in spec_arena, discovered in disc_arena,
                                     * one reference on spec.metric_relabel and client.tls */
    struct scrape_client client;    /* spec.client points here */
    const char *auth_header;        /* "Authorization: ...\r\n" or NULL, in spec_arena */
    struct arena *spec_arena;
    struct arena *disc_arena;
    char host[256], port[16], path[2048];
    uv_timer_t timer;
    uint64_t due_ms; /* the tick in progress or next, in uv_now's milliseconds (schedule.h) */
    struct http_get *http;
    struct http_get *idle; /* the target's kept connection between scrapes, or NULL */
    int busy;     /* a GET or worker job is in flight */
    int stopping;
    int timer_closed;
    void (*on_stopped)(void *);
    void *on_stopped_arg;

    /* worker-owned while busy: */
    struct series_cache *cache;
    uint64_t ref_up, ref_duration, ref_samples, ref_post_relabel, ref_added;

    /* loop-thread status */
    enum scrape_health health;
    char last_error[256];
    int64_t last_scrape_ms;
    double last_duration_s;
    uint64_t last_samples;
    uint64_t skipped;
    struct scrape_meta_set *meta; /* metadata of the last successful scrape; NULL before */
    int64_t start_ms;  /* this scrape's timestamp */
    int64_t start_ns;  /* this scrape's start, monotonic; 0 before the first */
    struct scrape_intervals *intervals; /* the manager's; NULL: not measured */
    struct scrape_handoff *handoff;     /* the manager's: runs each scrape's worker job */
};

struct scrape_run {
    struct scrape_handoff_item item; /* first: the handoff gives it back */
    struct scrape_loop *l;
    struct buf body;
    char content_type[256];
    int fetch_failed; /* 1: no body; error already in err */
    int final;        /* target going away: only stale markers */
    double duration_s;
    struct err err;
    uint64_t samples; /* result: samples scraped (scrape_samples_scraped) */
    uint64_t post;    /* result: samples stored after metric relabeling */
    struct scrape_meta_builder meta_builder;
    struct scrape_meta_set *meta; /* result: new metadata, NULL when unchanged */
};

uint64_t scrape_spec_hash(const struct scrape_target_spec *s)
{
    struct buf b = BUF_INIT;
    (void) buf_printf(&b, "%s|%s|%s|%s|%s|%s|%lld|%lld|%d|%d", s->job, s->scheme, s->address,
                      s->metrics_path, s->query, s->accept, (long long) s->interval_ms,
                      (long long) s->timeout_ms, s->honor_labels, s->honor_timestamps);
    for (uint32_t i = 0; i < s->labels.n; i++)
        (void) buf_printf(&b, "|%s=%s", s->labels.v[i].name, s->labels.v[i].value);
    (void) buf_printf(&b, "|%llx", (unsigned long long) scrape_relabel_hash(s->metric_relabel));
    if (s->client) {
        const struct scrape_client *c = s->client;
        (void) buf_printf(&b, "|tls=%llx|auth=%s|%d|%d|%llu|%llu|%llu|%llu|%llu",
                          (unsigned long long) scrape_tls_hash(c->tls),
                          c->authorization ? c->authorization : "", c->no_follow_redirects,
                          c->no_compression, (unsigned long long) c->body_size_limit,
                          (unsigned long long) c->sample_limit,
                          (unsigned long long) c->label_limit,
                          (unsigned long long) c->label_name_length_limit,
                          (unsigned long long) c->label_value_length_limit);
    }
    if (s->forced_error)
        (void) buf_printf(&b, "|forced=%s", s->forced_error);
    uint64_t h = hash_bytes(b.p, b.len);
    buf_free(&b);
    return h;
}

/* Adds the target's labels to a scraped label set (Prometheus' honor_labels rules): on conflict
 * the scraped label is kept as exported_<name> unless honor_labels, and empty values are
 * dropped (after hiding the target's label under honor_labels). The result is sorted, in arena
 * a. Target labels never have "__" names (the target builder removed them after relabeling). */
static int merge_target_labels(struct arena *a, const struct scrape_target_spec *spec,
                               const struct labels *in, struct labels *ret)
{
    uint32_t cap = in->n * 2 + spec->labels.n;
    struct label *v = arena_alloc(a, (cap ? cap : 1) * sizeof *v);
    if (!v)
        return ERR_LIMIT;
    uint32_t n = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        if (!in->v[i].value[0])
            continue;
        const char *name = in->v[i].name;
        /* Without honor_labels a clashing scraped label becomes exported_<name>, the prefix
         * repeating until the name is free, as Prometheus does; with it the scraped label is
         * kept and the target's is skipped below. */
        if (!spec->honor_labels)
            while (labels_get(&spec->labels, name) || (name != in->v[i].name &&
                                                       labels_get(in, name)))
                if (!(name = arena_printf(a, "exported_%s", name)))
                    return ERR_LIMIT;
        v[n++] = (struct label){name, in->v[i].value};
    }
    for (uint32_t i = 0; i < spec->labels.n; i++) {
        /* With honor_labels a scraped label wins even when empty (job=""): Prometheus then
         * stores the series without that label rather than with the target's. */
        if (spec->honor_labels && labels_get(in, spec->labels.v[i].name))
            continue;
        v[n++] = spec->labels.v[i];
    }
    ret->v = v;
    ret->n = n;
    return labels_sort(ret) < 0 ? ERR_PARSE : 0;
}

/* Appends one report series (up, scrape_duration_seconds, ...) with the target labels. */
static int add_report(tsdb_appender *app, struct arena *a, struct scrape_loop *l,
                      const char *name, uint64_t *ref, double v, struct err *e)
{
    if (*ref == 0) {
        struct label nl = {LABEL_METRIC_NAME, name};
        struct labels in = {&nl, 1}, ls;
        if (merge_target_labels(a, &l->spec, &in, &ls) < 0)
            return err_set(e, ERR_LIMIT, "scrape memory limit");
        return tsdb_appender_add(app, ref, &ls, l->start_ms, v, e);
    }
    int r = tsdb_appender_add(app, ref, NULL, l->start_ms, v, e);
    if (r == ERR_NOT_FOUND) { /* the series left the head: look it up by labels again */
        *ref = 0;
        return add_report(app, a, l, name, ref, v, e);
    }
    return r;
}

/* After metric relabeling a series must still be storable, as Prometheus' scrape loop checks
 * (errNameLabelMandatory, "invalid metric name or label names"); failing fails the scrape. */
static int check_relabeled(struct arena *a, const struct labels *ls, unsigned line,
                           struct err *e)
{
    const char *name = labels_get(ls, LABEL_METRIC_NAME);
    if (!name)
        return err_set(e, ERR_PARSE, "line %u: missing metric name (__name__ label) after "
                       "metric relabeling", line);
    int ok = labels_metric_name_valid(name, strlen(name));
    for (uint32_t i = 0; ok && i < ls->n; i++)
        ok = labels_name_valid(ls->v[i].name, strlen(ls->v[i].name));
    if (ok)
        return 0;
    const char *s = labels_format(a, ls);
    return err_set(e, ERR_PARSE, "line %u: invalid metric name or label names after metric "
                   "relabeling: %s", line, s ? s : "");
}

/* Prometheus' label_limit, label_name_length_limit and label_value_length_limit on a series'
 * final labels (after metric relabeling), with its error texts: exceeding fails the scrape. */
static int check_label_limits(const struct scrape_client *c, const struct labels *ls,
                              struct err *e)
{
    const char *name = labels_get(ls, LABEL_METRIC_NAME);
    if (!name)
        name = "";
    if (c->label_limit && ls->n > c->label_limit)
        return err_set(e, ERR_LIMIT, "label_limit exceeded (metric: %.50s, number of labels: %u, "
                       "limit: %llu)", name, ls->n, (unsigned long long) c->label_limit);
    for (uint32_t i = 0; i < ls->n; i++) {
        size_t nl = strlen(ls->v[i].name), vl = strlen(ls->v[i].value);
        if (c->label_name_length_limit && nl > c->label_name_length_limit)
            return err_set(e, ERR_LIMIT, "label_name_length_limit exceeded (metric: %.50s, label "
                           "name: %.50s, length: %zu, limit: %llu)", name, ls->v[i].name, nl,
                           (unsigned long long) c->label_name_length_limit);
        if (c->label_value_length_limit && vl > c->label_value_length_limit)
            return err_set(e, ERR_LIMIT, "label_value_length_limit exceeded (metric: %.50s, label "
                           "name: %.50s, value: \"%.50s\", length: %zu, limit: %llu)", name,
                           ls->v[i].name, ls->v[i].value, vl,
                           (unsigned long long) c->label_value_length_limit);
    }
    return 0;
}

/* Labels a series seen for the first time: target labels, then metric_relabel_configs.
 * 1: *ret is the label set to store; 0: relabeling dropped the series. */
static int label_series(struct scrape_run *j, struct textparse *p, struct arena *a,
                        struct labels *ret)
{
    const struct scrape_target_spec *spec = &j->l->spec;
    struct labels raw, merged;
    int r = textparse_labels(p, a, &raw, &j->err);
    if (r < 0)
        return r;
    if ((r = merge_target_labels(a, spec, &raw, &merged)) < 0)
        return err_set(&j->err, r, "line %u: invalid label set", p->line);
    if (!spec->metric_relabel)
        *ret = merged, r = 1;
    else if ((r = scrape_relabel_apply(spec->metric_relabel, a, &merged, ret)) < 0)
        return err_set(&j->err, r, "scrape memory limit");
    else if (r == 1 && (r = check_relabeled(a, ret, p->line, &j->err)) == 0)
        r = 1;
    if (r == 1 && spec->client && (r = check_label_limits(spec->client, ret, &j->err)) == 0)
        r = 1;
    return r;
}

/* Parses the body and appends its samples; on any error nothing of it is committed. Every sample
 * counts in j->samples (scrape_samples_scraped), the kept ones also in j->post; on an error both
 * stay at what was read up to it, which is what Prometheus reports for a failed scrape. */
static int append_body(struct scrape_run *j, tsdb_appender *app, struct arena *a,
                       uint64_t *ret_added)
{
    struct scrape_loop *l = j->l;
    enum textparse_format f =
        textparse_format_from_content_type(j->content_type, strlen(j->content_type));
    struct textparse p;
    textparse_init(&p, (const char *) j->body.p, j->body.len, f);
    int r;
    uint64_t added = 0;
    scrape_series_cache_begin(l->cache, (const char *) j->body.p, j->body.len);
    while ((r = textparse_next(&p, &j->err)) > 0) {
        if (r != TEXTPARSE_SERIES) {
            if ((r = scrape_meta_builder_add(&j->meta_builder, r, &p, &j->err)) < 0)
                return r;
            continue;
        }
        j->samples++;
        int64_t t = (l->spec.honor_timestamps && p.has_t) ? p.t_ms : l->start_ms;
        struct series_cache_slot *c;
        int found = scrape_series_cache_lookup(l->cache, p.series, p.series_len, &c);
        if (found < 0)
            return err_set(&j->err, found, "line %u: caching series: %s", p.line,
                           found == ERR_LIMIT ? "body too large" : "out of memory");
        if (found == SERIES_CACHE_DUP) {
            /* The same series twice in one scrape: the first sample is stored; Prometheus
             * rejects the repeat as a duplicate yet counts it among the samples kept. */
            j->post += (uint64_t) !c->dropped;
            continue;
        }
        if (c->dropped)
            continue;
        int known = found == SERIES_CACHE_KNOWN;
        uint64_t ref = c->ref;
        struct labels ls = {NULL, 0};
        int keep = 1;
        if (!known && (keep = label_series(j, &p, a, &ls)) < 0)
            return keep;
        r = keep ? tsdb_appender_add(app, &ref, &ls, t, p.value, &j->err) : 0;
        if (r == ERR_NOT_FOUND && known) { /* the series left the head: by labels again */
            ref = 0;
            if ((keep = label_series(j, &p, a, &ls)) < 0)
                return keep;
            r = keep ? tsdb_appender_add(app, &ref, &ls, t, p.value, &j->err) : 0;
        }
        if (r < 0)
            return r;
        /* label_series() used the arena, not the cache: c still points at this series' slot. */
        c->ref = keep ? ref : 0;
        c->dropped = !keep;
        added += (uint64_t) (keep && !known);
        j->post += (uint64_t) keep;
    }
    if (r >= 0 && l->spec.client && l->spec.client->sample_limit &&
        j->post > l->spec.client->sample_limit)
        return err_set(&j->err, ERR_LIMIT, "sample limit exceeded");
    *ret_added = added;
    return r;
}

static void queue_job(struct scrape_loop *l, struct scrape_run *j);

/* The target is going away: a last job that writes stale markers for its scraped and report
 * series, as Prometheus' end-of-run staleness does. 0 when queued (the loop is busy until it is
 * stored), -1 when there is nothing to mark or no memory. Loop thread, when not busy. */
static int queue_final(struct scrape_loop *l)
{
    if (!scrape_series_cache_size(l->cache) && !l->ref_up)
        return -1;
    struct scrape_run *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->final = 1;
    l->start_ms = time_now_ms();
    queue_job(l, j);
    return 0;
}

/* Stale markers for up and the scrape_* series of a target going away. */
static int end_report_series(struct scrape_loop *l, tsdb_appender *app, struct err *e)
{
    uint64_t *refs[] = {&l->ref_up, &l->ref_duration, &l->ref_samples, &l->ref_post_relabel,
                        &l->ref_added};
    int r = 0;
    for (size_t i = 0; i < ARRAY_LEN(refs) && r >= 0; i++) {
        if (*refs[i]) {
            r = tsdb_appender_add(app, refs[i], NULL, l->start_ms, num_stale_nan(), e);
            if (r == ERR_NOT_FOUND) /* already gone from the head */
                r = 0;
        }
        *refs[i] = 0;
    }
    return r;
}

struct stale_ctx {
    tsdb_appender *app;
    int64_t t_ms;
    struct err *e;
};

static int add_stale(void *arg, uint64_t ref)
{
    struct stale_ctx *s = arg;
    int r = tsdb_appender_add(s->app, &ref, NULL, s->t_ms, num_stale_nan(), s->e);
    return r == ERR_NOT_FOUND ? 0 : r; /* already gone from the head: nothing to mark stale */
}

/* Stale markers for the last scrape's series that this one did not see, or for all of them when
 * the scrape failed or the target goes away (then the cache forgets them all; after a good
 * scrape its series replace the last one's). Dropped series get none: nothing was stored. */
static int append_stale(struct scrape_loop *l, tsdb_appender *app, int ok, struct err *e)
{
    struct stale_ctx s = {app, l->start_ms, e};
    int r = scrape_series_cache_each_gone(l->cache, !ok, add_stale, &s);
    if (ok) /* out of memory clears the cache: the next scrape labels its series again */
        (void) scrape_series_cache_commit(l->cache);
    else
        scrape_series_cache_clear(l->cache);
    return r;
}

/* The batch's appender carries other targets' scrapes too: this one's samples, stale markers and
 * report series go in after mark, and a failure drops exactly those. */
static void work_cb(struct scrape_handoff_item *it, tsdb_appender *app)
{
    struct scrape_run *j = (struct scrape_run *) it;
    struct scrape_loop *l = j->l;
    struct arena *a = arena_new(SCRAPE_ARENA_CAP);
    struct err e;
    uint64_t added = 0;
    if (!a || !app) {
        arena_free(a);
        err_set(&j->err, -ENOMEM, "out of memory");
        return;
    }
    size_t mark = tsdb_appender_mark(app);
    scrape_meta_builder_init(&j->meta_builder, a);
    int ok = !j->fetch_failed && !j->final && append_body(j, app, a, &added) >= 0;
    /* l->meta is read here, replaced in after_work: never both at once (l->busy). */
    if (ok && scrape_meta_builder_finish(&j->meta_builder, scrape_meta_set_hash(l->meta),
                                         &j->meta, &e) < 0)
        j->meta = NULL; /* out of memory: keep the old metadata */
    if (!ok) {
        /* Nothing partial: drop this scrape's samples, mark every known series stale. The
         * counts read before the error stay for the report, as Prometheus reports them. */
        tsdb_appender_rollback_to(app, mark);
        added = 0;
    }
    int r = append_stale(l, app, ok, &e);
    if (j->final && r >= 0)
        r = end_report_series(l, app, &e);
    if (!j->final && r >= 0) {
        double up = ok ? 1 : 0;
        if (r >= 0)
            r = add_report(app, a, l, "up", &l->ref_up, up, &e);
        if (r >= 0)
            r = add_report(app, a, l, "scrape_duration_seconds", &l->ref_duration,
                           j->duration_s, &e);
        if (r >= 0)
            r = add_report(app, a, l, "scrape_samples_scraped", &l->ref_samples,
                           (double) j->samples, &e);
        if (r >= 0)
            r = add_report(app, a, l, "scrape_samples_post_metric_relabeling",
                           &l->ref_post_relabel, (double) j->post, &e);
        if (r >= 0)
            r = add_report(app, a, l, "scrape_series_added", &l->ref_added, (double) added, &e);
    }
    if (r < 0) {
        tsdb_appender_rollback_to(app, mark);
        if (ok)
            j->err = e;
    }
    arena_free(a);
}

static void schedule_free(struct scrape_loop *l);

static void after_work_cb(struct scrape_handoff_item *it, const struct err *commit_err)
{
    struct scrape_run *j = (struct scrape_run *) it;
    struct scrape_loop *l = j->l;
    if (commit_err && j->err.code == 0)
        j->err = *commit_err; /* the batch's WAL write failed: nothing of this scrape stored */
    if (!j->final) {
        l->last_duration_s = j->duration_s;
        l->last_samples = j->samples;
        if (j->err.code == 0) {
            if (j->meta) {
                scrape_meta_set_free(l->meta);
                l->meta = j->meta;
                j->meta = NULL;
            }
            l->health = SCRAPE_HEALTH_UP;
            l->last_error[0] = '\0';
        } else {
            l->health = SCRAPE_HEALTH_DOWN;
            (void) snprintf(l->last_error, sizeof l->last_error, "%s", j->err.msg);
            char q[2 * sizeof j->err.msg];
            LOG_RATELIMITED(LOG_LEVEL_DEBUG, "scrape", "scrape failed",
                            "job=%s target=%s err=\"%s\"", l->spec.job, l->spec.address,
                            log_escape(j->err.msg, q, sizeof q));
        }
    }
    int was_final = j->final;
    scrape_meta_set_free(j->meta);
    buf_free(&j->body);
    free(j);
    l->busy = 0;
    /* A scrape that was running when the target went away: its series end after it. */
    if (l->stopping && (was_final || queue_final(l) < 0))
        schedule_free(l);
}

static void queue_job(struct scrape_loop *l, struct scrape_run *j)
{
    j->item.work = work_cb;
    j->item.done = after_work_cb;
    j->item.bytes = j->body.cap;
    j->l = l;
    l->busy = 1;
    scrape_handoff_submit(l->handoff, &j->item);
}

static void on_fetched(void *ctx, struct http_get_result *res, const struct err *err)
{
    struct scrape_loop *l = ctx;
    l->http = NULL;
    struct scrape_run *j = calloc(1, sizeof *j);
    if (!j) {
        l->busy = 0;
        scrape_handoff_fetch_end(l->handoff);
        return;
    }
    j->duration_s = (double) (time_mono_ns() - l->start_ns) / 1e9;
    if (err->code == ERR_CANCELED) {
        free(j);
        l->busy = 0;
        /* Cancelled because the target went away: its series end now. */
        int queued = l->stopping && queue_final(l) >= 0;
        scrape_handoff_fetch_end(l->handoff);
        if (l->stopping && !queued)
            schedule_free(l);
        return;
    }
    if (err->code != 0) {
        j->fetch_failed = 1;
        j->err = *err;
    } else if (res->status != 200) {
        j->fetch_failed = 1;
        err_set(&j->err, ERR_PARSE, "server returned HTTP status %d%s%s", res->status,
                res->reason && res->reason[0] ? " " : "", res->reason ? res->reason : "");
    } else if (l->client.body_size_limit && res->body.len >= l->client.body_size_limit) {
        /* The client's cap is limit - 1 bytes; a limit of 1 byte cannot be said that way. */
        j->fetch_failed = 1;
        err_set(&j->err, ERR_LIMIT, "body size limit exceeded");
    } else {
        j->body = res->body;
        res->body = (struct buf) BUF_INIT;
        (void) snprintf(j->content_type, sizeof j->content_type, "%s", res->content_type);
    }
    queue_job(l, j);
    scrape_handoff_fetch_end(l->handoff); /* after the submit: it may close the batch */
}

static void on_tick(uv_timer_t *t)
{
    struct scrape_loop *l = t->data;
    if (l->stopping)
        return;
    /* Re-armed from the due time, not from now: a late wake-up does not shift the target's
     * phase, so targets sharing a slot keep waking together. */
    uint64_t now = uv_now(l->uv);
    l->due_ms = (uint64_t) scrape_schedule_next_ms((int64_t) l->due_ms, (int64_t) now,
                                                   l->spec.interval_ms);
    uv_timer_start(&l->timer, on_tick, l->due_ms - now, 0);
    if (l->busy) {
        l->skipped++;
        return;
    }
    int64_t prev_ns = l->start_ns;
    l->start_ms = time_now_ms();
    l->start_ns = time_mono_ns();
    l->last_scrape_ms = l->start_ms;
    if (prev_ns) /* Prometheus measures from each scrape's start to the next one's */
        scrape_intervals_observe(l->intervals, l->spec.interval_ms,
                                 (double) (l->start_ns - prev_ns) / 1e9, l->start_ms);
    l->busy = 1;
    const struct scrape_client *c = &l->client;
    struct http_get_opts o = {
        .host = l->host,
        .port = l->port,
        .path = l->path,
        .accept = l->spec.accept,
        .extra_headers = l->auth_header,
        .timeout_ms = l->spec.timeout_ms,
        /* Prometheus fails a body of body_size_limit bytes or more; the client fails above
         * max_body. */
        .max_body = c->body_size_limit ? (size_t) c->body_size_limit - 1 : 0,
        .tls = strcmp(l->spec.scheme, "https") ? NULL : c->tls,
        .identity_encoding = c->no_compression,
        .max_redirects = c->no_follow_redirects ? 0 : 10, /* Go's http.Client stops at 10 */
        /* One connection per target kept between scrapes, as Prometheus' client does: no
         * connect and close per scrape. The spec (URL, TLS) is fixed for the loop's life. */
        .keep = &l->idle,
    };
    struct err e;
    int r = -1;
    if (l->spec.forced_error)
        err_set(&e, ERR_LIMIT, "%s", l->spec.forced_error);
    else if ((r = http_get_start(l->uv, &o, on_fetched, l, &l->http, &e)) >= 0)
        scrape_handoff_fetch_begin(l->handoff); /* on_fetched comes later, never from here */
    if (r < 0) {
        struct scrape_run *j = calloc(1, sizeof *j);
        if (!j) {
            l->busy = 0;
            return;
        }
        j->fetch_failed = 1;
        j->err = e;
        queue_job(l, j);
    }
}

static int split_address(struct scrape_loop *l, struct err *e)
{
    const char *a = l->spec.address, *colon;
    size_t hn;
    if (a[0] == '[') {
        const char *close = strchr(a, ']');
        if (!close)
            return err_set(e, ERR_PARSE, "bad target address %s", a);
        hn = (size_t) (close - a - 1);
        a++;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(a, ':');
        hn = colon ? (size_t) (colon - a) : strlen(a);
    }
    if (hn == 0 || hn >= sizeof l->host)
        return err_set(e, ERR_PARSE, "bad target address %s", l->spec.address);
    memcpy(l->host, a, hn);
    l->host[hn] = '\0';
    (void) snprintf(l->port, sizeof l->port, "%s",
                    colon ? colon + 1 : strcmp(l->spec.scheme, "https") ? "80" : "443");
    int n = snprintf(l->path, sizeof l->path, "%s%s%s", l->spec.metrics_path,
                     l->spec.query[0] ? "?" : "", l->spec.query);
    if (n < 0 || (size_t) n >= sizeof l->path)
        return err_set(e, ERR_LIMIT, "scrape URL too long for %s", l->spec.address);
    return 0;
}

/* Deep copy of in except discovered (scrape_loop_set_discovered) and metric_relabel (the caller
 * takes a reference). */
static int copy_spec(struct arena *a, const struct scrape_target_spec *in,
                     struct scrape_target_spec *out)
{
    *out = *in;
    out->discovered = (struct labels){NULL, 0};
    out->metric_relabel = NULL;
    out->job = arena_strdup(a, in->job);
    out->scheme = arena_strdup(a, in->scheme);
    out->address = arena_strdup(a, in->address);
    out->metrics_path = arena_strdup(a, in->metrics_path);
    out->query = arena_strdup(a, in->query ? in->query : "");
    out->accept = arena_strdup(a, in->accept ? in->accept : textparse_accept_header);
    out->client = NULL; /* the loop's own copy, set by scrape_loop_start */
    out->forced_error = in->forced_error ? arena_strdup(a, in->forced_error) : NULL;
    if (!out->job || !out->scheme || !out->address || !out->metrics_path || !out->query ||
        !out->accept || (in->forced_error && !out->forced_error))
        return -ENOMEM;
    return labels_copy(a, &in->labels, &out->labels);
}

int scrape_loop_start(uv_loop_t *uv, tsdb *db, const struct scrape_target_spec *spec,
                      struct scrape_intervals *iv, struct scrape_handoff *handoff,
                      struct scrape_loop **ret, struct err *e)
{
    struct scrape_loop *l = calloc(1, sizeof *l);
    if (l && !(l->cache = scrape_series_cache_new())) {
        free(l);
        l = NULL;
    }
    if (!l)
        return err_set(e, -ENOMEM, "out of memory");
    l->uv = uv;
    l->db = db;
    l->intervals = iv;
    l->handoff = handoff;
    l->spec_arena = arena_new(0);
    if (!l->spec_arena || copy_spec(l->spec_arena, spec, &l->spec) < 0) {
        arena_free(l->spec_arena);
        scrape_series_cache_free(l->cache);
        free(l);
        return err_set(e, -ENOMEM, "out of memory");
    }
    int r = split_address(l, e);
    if (r < 0) {
        arena_free(l->spec_arena);
        scrape_series_cache_free(l->cache);
        free(l);
        return r;
    }
    l->spec.metric_relabel = scrape_relabel_ref(spec->metric_relabel);
    if (spec->client) {
        l->client = *spec->client;
        l->client.authorization = NULL;
        l->client.tls = scrape_tls_ref(spec->client->tls);
        l->spec.client = &l->client;
        const char *auth = spec->client->authorization;
        if (auth && (!(l->client.authorization = arena_strdup(l->spec_arena, auth)) ||
                     !(l->auth_header = arena_printf(l->spec_arena, "Authorization: %s\r\n",
                                                     auth)))) {
            scrape_tls_unref(l->client.tls);
            scrape_relabel_unref(l->spec.metric_relabel);
            arena_free(l->spec_arena);
            scrape_series_cache_free(l->cache);
            free(l);
            return err_set(e, -ENOMEM, "out of memory");
        }
    }
    scrape_loop_set_discovered(l, &spec->discovered);
    uv_timer_init(uv, &l->timer);
    l->timer.data = l;
    /* Spread targets over the interval deterministically, as Prometheus' offset does, in
     * slots (schedule.h). */
    int64_t offset = scrape_schedule_offset_ms(scrape_spec_hash(&l->spec), l->spec.interval_ms);
    uint64_t now = uv_now(uv);
    l->due_ms = (uint64_t) scrape_schedule_first_ms((int64_t) now, offset, l->spec.interval_ms);
    uv_timer_start(&l->timer, on_tick, l->due_ms - now, 0);
    *ret = l;
    return 0;
}

static void free_loop(struct scrape_loop *l)
{
    void (*cb)(void *) = l->on_stopped;
    void *arg = l->on_stopped_arg;
    scrape_series_cache_free(l->cache);
    scrape_meta_set_free(l->meta);
    scrape_relabel_unref(l->spec.metric_relabel);
    scrape_tls_unref(l->client.tls);
    arena_free(l->disc_arena);
    arena_free(l->spec_arena);
    free(l);
    if (cb)
        cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct scrape_loop *l = h->data;
    l->timer_closed = 1;
    if (!l->busy)
        free_loop(l);
}

/* Called when in-flight work ends during a stop: free once the timer has closed too. */
static void schedule_free(struct scrape_loop *l)
{
    if (l->timer_closed && !l->busy)
        free_loop(l);
}

void scrape_loop_stop(struct scrape_loop *l, void (*on_stopped)(void *arg), void *arg)
{
    l->stopping = 1;
    l->on_stopped = on_stopped;
    l->on_stopped_arg = arg;
    uv_timer_stop(&l->timer);
    if (l->idle)
        http_get_close_idle(l->idle);
    if (l->http)
        http_get_cancel(l->http); /* on_fetched queues the stale markers */
    else if (!l->busy)
        (void) queue_final(l); /* else after_work_cb does, once the running scrape is stored */
    uv_close((uv_handle_t *) &l->timer, on_timer_closed);
}

const struct scrape_target_spec *scrape_loop_spec(const struct scrape_loop *l)
{
    return &l->spec;
}

void scrape_loop_set_discovered(struct scrape_loop *l, const struct labels *discovered)
{
    if (l->disc_arena && labels_equal(&l->spec.discovered, discovered))
        return;
    struct arena *a = arena_new(0);
    struct labels copy;
    if (!a || labels_copy(a, discovered, &copy) < 0) {
        arena_free(a);
        return;
    }
    arena_free(l->disc_arena);
    l->disc_arena = a;
    l->spec.discovered = copy;
}

void scrape_loop_status(const struct scrape_loop *l, struct scrape_target_status *ret)
{
    ret->spec = &l->spec;
    ret->health = l->health;
    ret->last_error = l->last_error;
    ret->last_scrape_ms = l->last_scrape_ms;
    ret->last_duration_seconds = l->last_duration_s;
    ret->last_samples = l->last_samples;
    ret->skipped_ticks = l->skipped;
    ret->metadata = scrape_meta_set_entries(l->meta, &ret->n_metadata);
}
