/* server/api_query.c — the query lane: one request's PromQL work (instant and range evaluation,
 * format_query, parse_query) or other storage reads (series, labels, label values, federate:
 * API_QUERY_CUSTOM) on a libuv worker, behind the concurrency gate and its wait queue.
 *
 * A job lives from api_query_submit() to its response; every step but the work runs on the loop.
 *
 *   submit ──(running < max)──────────────▶ start ──▶ worker: parse, evaluate, JSON, gzip
 *      │                                     ▲            │
 *      ├─(waiting < QUEUE_PER_SLOT × max)─▶ wait ─pump─┘   ▼
 *      │                                     │        after: respond, free slot, pump
 *      └─(queue full)─▶ 503 unavailable      └─(limit reached / client gone)─▶ 503 timeout
 *
 * Prometheus makes excess queries wait in its gate without bound; here the FIFO is bounded, and
 * each waiting job has a timer for its limit: the smaller of --query.timeout and the request's
 * timeout parameter. A job that reaches it answers Prometheus' "query timed out in query queue".
 * The timeout parameter also covers the time spent waiting, as Prometheus' request context does.
 *
 * Each evaluation gets a private engine (one calloc over the shared tsdb) with the time left as
 * its timeout, so the timeout parameter and a client that goes away (abort → cancel) reach just
 * that query. format/parse jobs only parse: they skip the gate, as in Prometheus.
 * The worker owns req->arena while the work runs; the wait FIFO and counters are loop-only.
 *
 * Inline lane. Handing a query to a worker and back wakes two threads (uv_queue_work's condition
 * variable, then uv_async's eventfd): for `up` that cost three times the query itself (bench/
 * http_bench.py: 85 vs 28 us of CPU per request). So an instant query that would start at once
 * (a slot free, nobody waiting) and whose cost is bounded before it runs is answered on the loop
 * thread, between two socket reads: text of at most INLINE_QUERY_MAX bytes without regex
 * matchers (parsing compiles regexes), and promql_eval_instant_small() accepting it under
 * inline_budget — no subquery, no label_replace, every selector's window in the head alone, its
 * series and decoded samples counted from the postings without waiting on any long-held lock.
 * It holds a concurrency slot while it runs and gets the same engine, timeout and max-samples
 * limit as on a worker; the response is byte for byte the same. Anything else, or a body that
 * would need gzip above the loop's cap, goes to a worker as before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "server/json.h"

/* Waiting jobs allowed per --query.max-concurrency slot: a Grafana dashboard refresh sends one
 * request per panel query at once, often more than the slots; ten rounds of them may queue. */
#define QUEUE_PER_SLOT 10
#define QUEUE_MAX 100000

/* Inline lane limits (see top): each bounds a few tens of microseconds of loop time at most. */
#define INLINE_QUERY_MAX 512
static const struct promql_small_budget inline_budget = {
    .nodes = 64,
    .cost = {.values = 8192, .series = 64, .samples = 8192},
};

struct api_query_job {
    uv_work_t work;
    uv_timer_t timer; /* wait limit; initialised when the job first queues (has_timer) */
    struct api_query_job *prev, *next; /* wait FIFO */
    struct app *app;
    struct http_request *req;
    struct api_query_spec spec;
    promql_engine *eng; /* evaluations: created at start */
    struct promql_expr *expr; /* parsed on the loop by the inline lane, else by the worker */
    int encoded;              /* out holds the body already: the worker only compresses it */
    uint64_t arrival_ms;  /* uv_now() at submit */
    uint64_t arrival_ns, started_ns, work_ns; /* uv_hrtime(): submit, start, worker time */
    uint64_t eval_ns;     /* uv_hrtime() as the evaluation began (stats) */
    int64_t limit_ms;     /* wait plus run budget from arrival when has_timeout, else wait only */
    int gated;            /* holds a concurrency slot while running */
    int has_timer, waiting, aborted, gzipped, no_content;
    struct buf out;
    struct err err;
};

static void job_free(struct api_query_job *j)
{
    promql_engine_free(j->eng);
    buf_free(&j->out);
    free(j);
}

static void on_timer_closed(uv_handle_t *h)
{
    job_free(h->data);
}

/* After the response: the timer handle, if any, must close before the job's memory goes. */
static void job_end(struct api_query_job *j)
{
    if (j->has_timer)
        uv_close((uv_handle_t *) &j->timer, on_timer_closed);
    else
        job_free(j);
}

static void job_fail(struct api_query_job *j, int code, const char *msg)
{
    atomic_fetch_add(&j->app->query_errors, 1);
    if (j->spec.plain_errors) { /* Go's http.Error: the message and a newline */
        const char *type;
        int status;
        api_error_type(code, &type, &status);
        char *body = arena_printf(j->req->arena, "%s\n", msg);
        http_respond(j->req, status, "text/plain; charset=utf-8", body ? body : "",
                     body ? strlen(body) : 0);
    } else {
        api_respond_err(j->req, code, msg);
    }
    job_end(j);
}

/* data.stats as Prometheus 2.42 writes it for a stats parameter (without its per-step
 * feature): timings in seconds and sample counts. ember's engine plans, reads and evaluates in
 * one pass and sorts as it goes, so preparation and sort times are 0 and the inner evaluation
 * is the whole evaluation. */
static void encode_stats(struct json_writer *w, const struct api_query_job *j,
                         const struct promql_result *res)
{
    uint64_t now = uv_hrtime();
    double eval = (double) (now - j->eval_ns) / 1e9;
    json_key_lit(w, "stats");
    json_obj_begin(w);
    json_key_lit(w, "timings");
    json_obj_begin(w);
    json_key_lit(w, "evalTotalTime");
    json_float(w, eval);
    json_key_lit(w, "resultSortTime");
    json_float(w, 0);
    json_key_lit(w, "queryPreparationTime");
    json_float(w, 0);
    json_key_lit(w, "innerEvalTime");
    json_float(w, eval);
    json_key_lit(w, "execQueueTime");
    json_float(w, (double) (j->started_ns - j->arrival_ns) / 1e9);
    json_key_lit(w, "execTotalTime");
    json_float(w, (double) (now - j->arrival_ns) / 1e9);
    json_obj_end(w);
    json_key_lit(w, "samples");
    json_obj_begin(w);
    json_key_lit(w, "totalQueryableSamples");
    json_uint(w, res->read_samples);
    json_key_lit(w, "peakSamples");
    json_uint(w, res->peak_samples);
    json_obj_end(w);
    json_obj_end(w);
}

/* stats_of: the job when the request asked for stats, else NULL. */
static void encode_result(struct json_writer *w, const struct promql_result *res,
                          const struct api_query_job *stats_of)
{
    json_obj_begin(w);
    json_key_lit(w, "resultType");
    json_str(w, promql_value_type_name(res->type));
    json_key_lit(w, "result");
    switch (res->type) {
    case PROMQL_SCALAR: json_scalar_pair(w, res->u.scalar.t, res->u.scalar.v); break;
    case PROMQL_STRING:
        json_string_pair(w, res->u.string.t, res->u.string.s, strlen(res->u.string.s));
        break;
    case PROMQL_VECTOR:
        json_arr_begin(w);
        for (size_t i = 0; i < res->u.vector.n; i++) {
            const struct promql_sample *s = &res->u.vector.v[i];
            json_obj_begin(w);
            json_key_lit(w, "metric");
            json_labels(w, &s->metric);
            json_key_lit(w, "value");
            json_sample_pair(w, s->t, s->v);
            json_obj_end(w);
        }
        json_arr_end(w);
        break;
    case PROMQL_MATRIX:
        json_arr_begin(w);
        for (size_t i = 0; i < res->u.matrix.n; i++) {
            const struct promql_series *s = &res->u.matrix.v[i];
            json_obj_begin(w);
            json_key_lit(w, "metric");
            json_labels(w, &s->metric);
            json_key_lit(w, "values");
            json_arr_begin(w);
            for (size_t k = 0; k < s->n_points; k++)
                json_sample_pair(w, s->points[k].t, s->points[k].v);
            json_arr_end(w);
            json_obj_end(w);
        }
        json_arr_end(w);
        break;
    case PROMQL_NONE: json_null(w); break;
    }
    if (stats_of)
        encode_stats(w, stats_of, res);
    json_obj_end(w);
}

static int job_encode(struct api_query_job *j, const struct promql_expr *x,
                      const struct promql_result *res, const char *formatted);

/* Evaluates (or formats) x; on success writes the whole response body to j->out. */
static int job_run(struct api_query_job *j, struct arena *a, const struct promql_expr *x)
{
    const struct api_query_spec *s = &j->spec;
    struct promql_result res = {0};
    const char *formatted = NULL;
    int r = 0;
    j->eval_ns = uv_hrtime();
    switch (s->kind) {
    case API_QUERY_INSTANT: r = promql_eval_instant(j->eng, a, x, s->t_ms, &res, &j->err); break;
    case API_QUERY_RANGE: {
        enum promql_value_type t = promql_expr_type(x);
        r = promql_eval_range(j->eng, a, x, s->start_ms, s->end_ms, s->step_ms, &res, &j->err);
        /* A range vector or string is refused before evaluation, in the engine's words; for
         * Prometheus that happens while building the query, so it is bad data. */
        if (r < 0 && t != PROMQL_SCALAR && t != PROMQL_VECTOR) {
            struct err engine_err = j->err;
            return err_set(&j->err, ERR_PARSE, "%s", engine_err.msg);
        }
        break;
    }
    case API_QUERY_FORMAT:
        if (!(formatted = promql_format(a, x)))
            return err_set(&j->err, -ENOMEM, "out of memory formatting the query");
        break;
    case API_QUERY_PARSE:
    case API_QUERY_CUSTOM: break;
    }
    if (r < 0)
        return r;
    return job_encode(j, x, &res, formatted);
}

/* The whole response body for a job's result into j->out. */
static int job_encode(struct api_query_job *j, const struct promql_expr *x,
                      const struct promql_result *res, const char *formatted)
{
    const struct api_query_spec *s = &j->spec;
    struct json_writer w;
    /* One allocation for a small answer instead of doubling up from 64 bytes. */
    if (buf_reserve(&j->out, 1024) < 0)
        return err_set(&j->err, -ENOMEM, "out of memory encoding the response");
    json_init(&w, &j->out);
    json_envelope_begin(&w);
    if (s->kind == API_QUERY_FORMAT)
        json_str(&w, formatted);
    else if (s->kind == API_QUERY_PARSE)
        api_ast_json(&w, x);
    else
        encode_result(&w, res, s->stats ? j : NULL);
    json_envelope_end(&w, res->warnings, res->n_warnings);
    int r = json_done(&w);
    if (r == ERR_LIMIT)
        return err_set(&j->err, ERR_LIMIT, "expression nested more than %d levels deep for JSON",
                       JSON_MAX_DEPTH);
    if (r < 0)
        return err_set(&j->err, -ENOMEM, "out of memory encoding the response");
    return 0;
}

static int job_parse(struct api_query_job *j)
{
    if (promql_parse(j->req->arena, j->spec.query, j->spec.query_len, &j->expr, &j->err) < 0) {
        /* Prometheus 2.42 names the parameter except for query_range (invalidParamError vs
         * a plain bad-data error in its queryRange). */
        if (j->spec.kind != API_QUERY_RANGE)
            (void) err_prefix(&j->err, "invalid parameter \"query\": ");
        return -1;
    }
    return 0;
}

/* Loop thread: the tree from the app's parse cache (borrowed until its next use), else parsed
 * into the request's arena. */
static int job_parse_cached(struct api_query_job *j, const struct promql_expr **ret)
{
    if (!j->app->parse_cache) {
        int r = job_parse(j);
        *ret = j->expr;
        return r;
    }
    if (promql_parse_cached(j->app->parse_cache, j->spec.query, j->spec.query_len, ret,
                            &j->err) < 0) {
        (void) err_prefix(&j->err, "invalid parameter \"query\": "); /* as job_parse() */
        return -1;
    }
    return 0;
}

/* Worker thread: reads the request's fields and allocates from its arena, nothing else. */
static void job_work_timed(struct api_query_job *j)
{
    if (j->encoded) {
        /* the inline lane evaluated and encoded it: only compression is left */
    } else if (j->spec.kind == API_QUERY_CUSTOM) {
        int r = j->spec.run_fn(j->app, j->req, j->spec.run_arg, &j->out, &j->err);
        if (r < 0) {
            if (j->err.code == 0)
                (void) err_set(&j->err, ERR_INTERNAL, "request failed");
            return;
        }
        j->no_content = r == API_QUERY_NO_CONTENT;
    } else {
        if (!j->expr && job_parse(j) < 0)
            return;
        if (job_run(j, j->req->arena, j->expr) < 0)
            return;
    }
    /* Bodies the loop would not compress (over its gzip cap) are compressed here. */
    struct http_limits lim;
    http_limits_default(&lim);
    if (j->req->accept_gzip && j->out.len > lim.gzip_loop_max_bytes) {
        struct buf gz = BUF_INIT;
        if (http_gzip(j->out.p, j->out.len, 1, &gz, NULL) == 0 && gz.len < j->out.len) {
            buf_free(&j->out);
            j->out = gz;
            j->gzipped = 1;
        } else {
            buf_free(&gz);
        }
    }
}

static void job_work(uv_work_t *wk)
{
    struct api_query_job *j = wk->data;
    uint64_t t0 = uv_hrtime();
    job_work_timed(j);
    j->work_ns = uv_hrtime() - t0;
}

static void pump(struct app *app);

/* Loop thread: the job's work is done (status < 0: libuv canceled it); respond and free. */
static void job_finish(struct api_query_job *j, int status)
{
    struct app *app = j->app;
    if (j->gated)
        app->queries_running--;
    if (j->spec.kind == API_QUERY_INSTANT || j->spec.kind == API_QUERY_RANGE)
        app_metrics_query(app, (double) (j->started_ns - j->arrival_ns) / 1e9,
                          (double) j->work_ns / 1e9);
    if (status < 0)
        (void) err_set(&j->err, ERR_CANCELED, "query canceled");
    if (j->err.code != 0) {
        job_fail(j, j->err.code, j->err.msg);
    } else {
        const char *ct = j->spec.content_type ? j->spec.content_type : "application/json";
        if (j->no_content)
            http_respond(j->req, 204, NULL, NULL, 0);
        else if (j->gzipped)
            http_respond_gzipped(j->req, 200, ct, &j->out);
        else
            http_respond_buf(j->req, 200, ct, &j->out);
        job_end(j);
    }
}

static void job_after(uv_work_t *wk, int status)
{
    struct api_query_job *j = wk->data;
    struct app *app = j->app;
    job_finish(j, status);
    pump(app);
}

/* The inline lane (see top), loop thread, for a job holding a slot that would start on a worker
 * now: 0 when it answered, 1 when the job must go to a worker after all. */
static int job_try_inline(struct api_query_job *j)
{
    const struct api_query_spec *s = &j->spec;
    if (s->kind != API_QUERY_INSTANT || s->query_len > INLINE_QUERY_MAX ||
        memchr(s->query, '~', s->query_len))
        return 1;
    /* Called from submit, before anything else: it starts when it arrived (one clock read
     * less per request). */
    uint64_t t0 = j->arrival_ns;
    j->started_ns = t0;
    const struct promql_expr *x;
    if (job_parse_cached(j, &x) == 0) {
        struct promql_result res = {0};
        j->eval_ns = uv_hrtime();
        int r = promql_eval_instant_small(j->eng, j->req->arena, x, s->t_ms, &inline_budget,
                                          &res, &j->err);
        if (r == 1) {
            j->expr = NULL; /* the cache's tree is only borrowed: the worker parses again */
            return 1;
        }
        if (r == 0)
            (void) job_encode(j, x, &res, NULL);
    }
    j->work_ns = uv_hrtime() - t0;
    j->app->queries_inline++;
    struct http_limits lim;
    http_limits_default(&lim);
    if (j->err.code == 0 && j->req->accept_gzip && j->out.len > lim.gzip_loop_max_bytes) {
        j->encoded = 1;
        return 1;
    }
    job_finish(j, 0);
    return 0;
}

static void job_queue_work(struct api_query_job *j)
{
    j->work.data = j;
    j->started_ns = uv_hrtime();
    if (uv_queue_work(j->app->loop, &j->work, job_work, job_after) < 0) {
        if (j->gated)
            j->app->queries_running--;
        job_fail(j, ERR_UNAVAILABLE, "server is shutting down");
    }
}

/* Takes a concurrency slot and hands an evaluation to a worker with the time it has left, or
 * answers it inline when allowed (a job that did not wait) and it qualifies. */
static void job_start(struct api_query_job *j, int allow_inline)
{
    struct app *app = j->app;
    int64_t timeout_ms = app->flags.query_timeout_ms;
    if (j->spec.has_timeout) {
        int64_t left = j->limit_ms - (int64_t) (uv_now(app->loop) - j->arrival_ms);
        if (left <= 0) { /* Prometheus words a spent budget by where it ran out */
            job_fail(j, ERR_TIMEOUT,
                     j->has_timer ? "query timed out in query queue"
                                  : "query timed out in query execution");
            return;
        }
        if (left < timeout_ms)
            timeout_ms = left;
    }
    if (j->spec.kind == API_QUERY_CUSTOM) { /* storage reads: no engine, same gate */
        j->gated = 1;
        app->queries_running++;
        job_queue_work(j);
        return;
    }
    struct promql_engine_opts o = {
        .lookback_delta_ms = app->flags.lookback_delta_ms,
        .max_samples = (uint64_t) app->flags.max_samples,
        .timeout_ms = timeout_ms,
    };
    struct err e = {0};
    if (promql_engine_new(app->db, &o, &j->eng, &e) < 0) {
        job_fail(j, e.code, e.msg);
        return;
    }
    if (j->aborted)
        promql_engine_cancel(j->eng);
    j->gated = 1;
    app->queries_running++;
    if (allow_inline && job_try_inline(j) == 0)
        return;
    job_queue_work(j);
}

static void wait_unlink(struct api_query_job *j)
{
    struct app *app = j->app;
    if (j->prev)
        j->prev->next = j->next;
    else
        app->wait_head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        app->wait_tail = j->prev;
    j->prev = j->next = NULL;
    j->waiting = 0;
    app->queries_waiting--;
}

static void on_wait_limit(uv_timer_t *t)
{
    struct api_query_job *j = t->data;
    wait_unlink(j);
    if (j->aborted)
        job_fail(j, ERR_CANCELED, "query was canceled in query queue");
    else
        job_fail(j, ERR_TIMEOUT, "query timed out in query queue");
}

static int wait_enqueue(struct api_query_job *j)
{
    struct app *app = j->app;
    if (uv_timer_init(app->loop, &j->timer) < 0)
        return -1;
    j->has_timer = 1;
    j->timer.data = j;
    uint64_t wait_ms = (uint64_t) app->flags.query_timeout_ms;
    if (j->spec.has_timeout && (uint64_t) j->limit_ms < wait_ms)
        wait_ms = (uint64_t) j->limit_ms;
    (void) uv_timer_start(&j->timer, on_wait_limit, wait_ms, 0);
    j->prev = app->wait_tail;
    if (app->wait_tail)
        app->wait_tail->next = j;
    else
        app->wait_head = j;
    app->wait_tail = j;
    j->waiting = 1;
    app->queries_waiting++;
    return 0;
}

/* A slot is free (or the server stops): start the oldest waiting jobs that fit. */
static void pump(struct app *app)
{
    while (app->wait_head &&
           (app->shutting_down || app->queries_running < (uint64_t) app->flags.max_concurrency)) {
        struct api_query_job *j = app->wait_head;
        wait_unlink(j);
        (void) uv_timer_stop(&j->timer);
        if (app->shutting_down)
            job_fail(j, ERR_UNAVAILABLE, "server is shutting down");
        else if (j->aborted)
            job_fail(j, ERR_CANCELED, "query was canceled in query queue");
        else
            job_start(j, 0);
    }
}

/* The connection died (loop thread): stop spending work on this query. Must not respond. */
static void job_abort(void *arg)
{
    struct api_query_job *j = arg;
    j->aborted = 1;
    if (j->eng)
        promql_engine_cancel(j->eng);
    if (j->waiting)
        (void) uv_timer_start(&j->timer, on_wait_limit, 0, 0);
}

void api_query_submit(struct app *app, struct http_request *req, const struct api_query_spec *s)
{
    struct api_query_job *j = zalloc(sizeof *j);
    if (!j) {
        api_respond_err(req, -ENOMEM, "out of memory");
        return;
    }
    j->app = app;
    j->req = req;
    j->spec = *s;
    j->arrival_ms = uv_now(app->loop);
    j->arrival_ns = uv_hrtime();
    if (s->has_timeout) /* milliseconds, rounded down; anything below 1 ms has already passed */
        j->limit_ms = s->timeout_ns < 0 ? 0 : s->timeout_ns / 1000000;
    if (s->kind == API_QUERY_FORMAT || s->kind == API_QUERY_PARSE || s->ungated) {
        job_queue_work(j);
        return;
    }
    if (s->kind != API_QUERY_CUSTOM)
        atomic_fetch_add(&app->queries_total, 1);
    http_request_on_abort(req, job_abort, j);
    uint64_t max = (uint64_t) app->flags.max_concurrency;
    uint64_t max_waiting = max > QUEUE_MAX / QUEUE_PER_SLOT ? QUEUE_MAX : max * QUEUE_PER_SLOT;
    if (app->queries_running < max && !app->wait_head) {
        job_start(j, 1);
    } else if (app->queries_waiting < max_waiting && wait_enqueue(j) == 0) {
        return;
    } else {
        char msg[160];
        (void) snprintf(msg, sizeof msg,
                        "too many queries: %u running and %u waiting "
                        "(--query.max-concurrency=%lld)",
                        app->queries_running, app->queries_waiting, (long long) max);
        job_fail(j, ERR_UNAVAILABLE, msg);
    }
}
