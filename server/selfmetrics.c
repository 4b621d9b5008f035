/* server/selfmetrics.c — /metrics: ember's own metrics in the text format 0.0.4, under
 * Prometheus' names where they mean the same thing, so self-monitoring dashboards keep working.
 *
 * The loop copies its own counters (routes, query times, targets, connections) into the request's
 * arena; a worker (the query lane, ungated so a busy query gate cannot hide the server's health)
 * adds storage statistics and procfs figures (/proc/self/fd is a directory scan) and formats. */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "app.h"
#include "build_info.h"

struct job_count {
    const char *job;
    uint64_t n;
};

/* Everything the loop owns, copied for the worker. */
struct snapshot {
    int64_t start_ms, max_concurrency;
    uint32_t queries_running, queries_waiting;
    uint64_t queries_total, query_errors, queries_inline;
    const struct app_route *routes; /* copies */
    size_t n_routes;
    struct app_query_times *qt;     /* copy */
    uint64_t targets, skipped_ticks;
    struct scrape_interval_summary *intervals; /* copies, in a */
    size_t n_intervals, cap_intervals;
    struct job_count *jobs;         /* discovered targets per job, before relabeling */
    size_t n_jobs, cap_jobs;
    struct arena *a;
    int have_http;
    struct http_server_stats hs;
    struct rules_manager_stats rm;   /* zero without rules */
    struct rules_notifier_stats ns;
    int have_notifier;
    struct am_counts { /* per Alertmanager, URL copied into a */
        const char *url;
        struct rules_notifier_am_stats st;
    } *ams;
    uint32_t n_ams;
    int reload_ok;              /* reload.c's state, copied on the loop */
    int64_t reload_success_ms;
    uint64_t sd_read_errors;
};

static void put_metric(struct buf *b, const char *name, const char *type, const char *help,
                       const char *labels, double v)
{
    char num[NUM_FLOAT_MAX];
    num_format(num, v, 'g');
    if (type)
        (void) buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    (void) buf_printf(b, "%s%s %s\n", name, labels ? labels : "", num);
}

/* Storage counters and gauges: one row each, Prometheus' names where the meaning is the same. */
static void put_storage_metrics(struct buf *b, const struct tsdb_stats *st)
{
    static const struct {
        const char *name, *type, *help, *labels;
        size_t off;
    } rows[] = {
#define ROW(name, type, labels, field, help)                                                    \
    {name, type, help, labels, offsetof(struct tsdb_stats, field)}
        ROW("prometheus_tsdb_head_series", "gauge", NULL, head_series,
            "Total number of series in the head block."),
        ROW("prometheus_tsdb_head_chunks", "gauge", NULL, head_chunks,
            "Total number of chunks in the head block."),
        ROW("prometheus_tsdb_head_samples_appended_total", "counter", "{type=\"float\"}",
            samples_appended, "Total number of appended samples."),
        ROW("prometheus_tsdb_out_of_order_samples_total", "counter", "{type=\"float\"}",
            out_of_order_samples, "Total number of out of order samples ingestion failed attempts."),
        ROW("prometheus_tsdb_duplicate_samples_total", "counter", NULL, duplicate_samples,
            "Total number of samples rejected as duplicates with a different value."),
        ROW("prometheus_tsdb_out_of_bound_samples_total", "counter", "{type=\"float\"}",
            out_of_bound_samples, "Total number of out of bound samples ingestion failed attempts."),
        ROW("prometheus_tsdb_head_series_created_total", "counter", NULL, series_created,
            "Total number of series created in the head."),
        ROW("prometheus_tsdb_head_series_removed_total", "counter", NULL, series_removed,
            "Total number of series removed from the head."),
        ROW("prometheus_tsdb_head_chunks_storage_size_bytes", "gauge", NULL, head_bytes,
            "Size of the chunks held by the head, in bytes."),
        ROW("prometheus_tsdb_blocks_loaded", "gauge", NULL, blocks,
            "Number of currently loaded data blocks."),
        ROW("prometheus_tsdb_storage_blocks_bytes", "gauge", NULL, block_bytes,
            "The number of bytes that are currently used for local storage by all blocks."),
        ROW("prometheus_tsdb_wal_storage_size_bytes", "gauge", NULL, wal_bytes,
            "Size of the write log directory."),
        ROW("prometheus_tsdb_wal_corruptions_total", "counter", NULL, wal_corruptions,
            "Total number of WAL corruptions."),
        ROW("prometheus_tsdb_wal_writes_failed_total", "counter", NULL, wal_write_failures,
            "Total number of WAL writes that failed."),
        ROW("prometheus_tsdb_compactions_total", "counter", NULL, compactions,
            "Total number of compactions that were executed for the partition."),
        ROW("prometheus_tsdb_compactions_failed_total", "counter", NULL, compaction_failures,
            "Total number of compactions that failed for the partition."),
        ROW("prometheus_tsdb_head_truncations_total", "counter", NULL, head_cuts,
            "Total number of head truncations attempted."),
        ROW("prometheus_tsdb_time_retentions_total", "counter", NULL, retention_deletions,
            "The number of times that blocks were deleted because the maximum time limit was "
            "exceeded."),
        ROW("ember_tsdb_corrupt_chunks_total", "counter", NULL, corrupt_chunks,
            "Block chunks skipped by queries because they failed to decode."),
        ROW("ember_tsdb_corrupt_blocks", "gauge", NULL, corrupt_blocks,
            "Block directories that could not be opened at start-up."),
#undef ROW
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *) st + rows[i].off, sizeof v);
        put_metric(b, rows[i].name, rows[i].type, rows[i].help, rows[i].labels, (double) v);
    }
    /* A summary as Prometheus' (quantiles over its 10-minute window, then _sum and _count). */
    (void) buf_puts(b, "# HELP prometheus_tsdb_wal_fsync_duration_seconds Duration of write log "
                       "fsync.\n# TYPE prometheus_tsdb_wal_fsync_duration_seconds summary\n");
    for (size_t i = 0; i < 3; i++) {
        char labels[48];
        (void) snprintf(labels, sizeof labels, "{quantile=\"%g\"}", st->wal_fsync_quantile[i]);
        put_metric(b, "prometheus_tsdb_wal_fsync_duration_seconds", NULL, NULL, labels,
                   st->wal_fsync_seconds[i]);
    }
    put_metric(b, "prometheus_tsdb_wal_fsync_duration_seconds_sum", NULL, NULL, NULL,
               st->wal_fsync_seconds_sum);
    put_metric(b, "prometheus_tsdb_wal_fsync_duration_seconds_count", NULL, NULL, NULL,
               (double) st->wal_fsyncs);
    if (st->head_series) {
        put_metric(b, "prometheus_tsdb_head_min_time", "gauge",
                   "Minimum time bound of the head block.", NULL, (double) st->head_mint_ms);
        put_metric(b, "prometheus_tsdb_head_max_time", "gauge",
                   "Maximum timestamp of the head block.", NULL, (double) st->head_maxt_ms);
    }
}

/* --- process_* as client_golang's process collector reports them (Linux) --- */

static void put_process_metrics(struct buf *b, int64_t start_ms)
{
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
              (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
    put_metric(b, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", NULL, cpu);
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            pages = rss = 0;
        fclose(f);
    }
    double page = (double) sysconf(_SC_PAGESIZE);
    put_metric(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               NULL, (double) rss * page);
    put_metric(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", NULL,
               (double) pages * page);
    uint64_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            fds += de->d_name[0] != '.';
        closedir(d);
        fds -= fds > 0; /* the directory handle itself */
    }
    put_metric(b, "process_open_fds", "gauge", "Number of open file descriptors.", NULL,
               (double) fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        put_metric(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                   NULL, (double) rl.rlim_cur);
    put_metric(b, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", NULL,
               (double) start_ms / 1000.0);
}

/* --- HTTP --- */

static void put_label_value(struct buf *b, const char *s)
{
    for (; *s; s++)
        (void) (*s == '"' || *s == '\\' ? buf_printf(b, "\\%c", *s) : buf_append(b, s, 1));
}

static void put_http_metrics(struct buf *b, const struct snapshot *sn)
{
    (void) buf_puts(b, "# HELP prometheus_http_requests_total Counter of HTTP requests.\n"
                       "# TYPE prometheus_http_requests_total counter\n");
    for (size_t i = 0; i < sn->n_routes; i++) {
        const struct app_route_stats *st = &sn->routes[i].stats;
        for (uint32_t c = 0; c < st->n_codes; c++) {
            (void) buf_printf(b, "prometheus_http_requests_total{code=\"%d\",handler=\"",
                              st->codes[c]);
            put_label_value(b, sn->routes[i].path);
            (void) buf_printf(b, "\"} %llu\n", (unsigned long long) st->by_code[c]);
        }
    }
    (void) buf_puts(b, "# HELP prometheus_http_request_duration_seconds Histogram of latencies "
                       "for HTTP requests.\n"
                       "# TYPE prometheus_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < sn->n_routes; i++) {
        const struct app_route_stats *st = &sn->routes[i].stats;
        if (!st->count)
            continue;
        uint64_t cum = 0;
        for (int k = 0; k <= APP_HTTP_BUCKETS; k++) {
            char le[NUM_FLOAT_MAX] = "+Inf";
            if (k < APP_HTTP_BUCKETS) {
                cum += st->buckets[k];
                num_format(le, app_http_buckets[k], 'g');
            }
            (void) buf_puts(b, "prometheus_http_request_duration_seconds_bucket{handler=\"");
            put_label_value(b, sn->routes[i].path);
            (void) buf_printf(b, "\",le=\"%s\"} %llu\n", le,
                              (unsigned long long) (k < APP_HTTP_BUCKETS ? cum : st->count));
        }
        char sum[NUM_FLOAT_MAX];
        num_format(sum, st->sum_seconds, 'g');
        const char *suffix[2] = {"sum", "count"};
        for (int k = 0; k < 2; k++) {
            (void) buf_printf(b, "prometheus_http_request_duration_seconds_%s{handler=\"",
                              suffix[k]);
            put_label_value(b, sn->routes[i].path);
            if (k == 0)
                (void) buf_printf(b, "\"} %s\n", sum);
            else
                (void) buf_printf(b, "\"} %llu\n", (unsigned long long) st->count);
        }
    }
    if (sn->have_http) {
        put_metric(b, "ember_http_connections_open", "gauge", "Open HTTP connections.", NULL,
                   (double) sn->hs.connections_open);
        put_metric(b, "ember_http_bad_requests_total", "counter",
                   "Requests answered with a 4xx because they could not be parsed.", NULL,
                   (double) sn->hs.bad_requests);
    }
}

/* --- engine --- */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* Quantiles over the newest APP_QUERY_RING queries (Prometheus: a 10-minute sliding window). */
static void put_summary_slice(struct buf *b, const char *slice, const double *ring, uint64_t n,
                              double sum)
{
    static const double qs[] = {0.5, 0.9, 0.99};
    size_t k = (size_t) (n < APP_QUERY_RING ? n : APP_QUERY_RING);
    double sorted[APP_QUERY_RING];
    memcpy(sorted, ring, k * sizeof *sorted);
    qsort(sorted, k, sizeof *sorted, dbl_cmp);
    char labels[96];
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double v = (double) NAN;
        if (k) {
            size_t at = (size_t) (qs[i] * (double) k);
            v = sorted[at < k ? at : k - 1];
        }
        (void) snprintf(labels, sizeof labels, "{slice=\"%s\",quantile=\"%g\"}", slice, qs[i]);
        put_metric(b, "prometheus_engine_query_duration_seconds", NULL, NULL, labels, v);
    }
    (void) snprintf(labels, sizeof labels, "{slice=\"%s\"}", slice);
    put_metric(b, "prometheus_engine_query_duration_seconds_sum", NULL, NULL, labels, sum);
    put_metric(b, "prometheus_engine_query_duration_seconds_count", NULL, NULL, labels,
               (double) n);
}

static void put_engine_metrics(struct buf *b, const struct snapshot *sn)
{
    (void) buf_puts(b, "# HELP prometheus_engine_query_duration_seconds Query timings\n"
                       "# TYPE prometheus_engine_query_duration_seconds summary\n");
    put_summary_slice(b, "inner_eval", sn->qt->eval_s, sn->qt->n, sn->qt->eval_sum);
    put_summary_slice(b, "queue_time", sn->qt->queue_s, sn->qt->n, sn->qt->queue_sum);
    put_metric(b, "prometheus_engine_queries", "gauge",
               "The current number of queries being executed or waiting.", NULL,
               (double) sn->queries_running + (double) sn->queries_waiting);
    put_metric(b, "prometheus_engine_queries_concurrent_max", "gauge",
               "The max number of concurrent queries.", NULL, (double) sn->max_concurrency);
    put_metric(b, "ember_queries_total", "counter", "Queries received by the API.", NULL,
               (double) sn->queries_total);
    put_metric(b, "ember_query_errors_total", "counter", "Queries that ended in an error.", NULL,
               (double) sn->query_errors);
    put_metric(b, "ember_queries_inline_total", "counter",
               "Instant queries small enough to be answered on the event loop, without a worker.",
               NULL, (double) sn->queries_inline);
}

/* --- targets --- */

static void count_job(struct snapshot *sn, const char *job)
{
    for (size_t i = 0; i < sn->n_jobs; i++)
        if (strcmp(sn->jobs[i].job, job) == 0) {
            sn->jobs[i].n++;
            return;
        }
    if (sn->n_jobs == sn->cap_jobs) {
        size_t cap = sn->cap_jobs ? 2 * sn->cap_jobs : 8;
        struct job_count *v =
            arena_realloc(sn->a, sn->jobs, sn->n_jobs * sizeof *v, cap * sizeof *v);
        if (!v)
            return;
        sn->jobs = v;
        sn->cap_jobs = cap;
    }
    const char *copy = arena_strdup(sn->a, job);
    if (copy)
        sn->jobs[sn->n_jobs++] = (struct job_count){copy, 1};
}

static void count_target(void *ctx, const struct scrape_target_status *st)
{
    struct snapshot *sn = ctx;
    sn->skipped_ticks += st->skipped_ticks;
    count_job(sn, st->spec->job);
}

static void count_dropped(void *ctx, const char *job, const struct labels *discovered)
{
    (void) discovered;
    count_job(ctx, job);
}

static void copy_interval(void *ctx, const struct scrape_interval_summary *s)
{
    struct snapshot *sn = ctx;
    if (sn->n_intervals == sn->cap_intervals) {
        size_t cap = sn->cap_intervals ? 2 * sn->cap_intervals : 4;
        struct scrape_interval_summary *v =
            arena_realloc(sn->a, sn->intervals, sn->n_intervals * sizeof *v, cap * sizeof *v);
        if (!v)
            return;
        sn->intervals = v;
        sn->cap_intervals = cap;
    }
    sn->intervals[sn->n_intervals++] = *s;
}

/* Prometheus' summary of the actual time between scrapes, by configured interval. */
static void put_interval_metrics(struct buf *b, const struct snapshot *sn)
{
    const char *name = "prometheus_target_interval_length_seconds";
    (void) buf_printf(b, "# HELP %s Actual intervals between scrapes.\n# TYPE %s summary\n", name,
                      name);
    for (size_t i = 0; i < sn->n_intervals; i++) {
        const struct scrape_interval_summary *s = &sn->intervals[i];
        char iv[32], num[NUM_FLOAT_MAX], q[NUM_FLOAT_MAX];
        (void) duration_format(iv, sizeof iv, s->interval_ms);
        for (int k = 0; k < SCRAPE_INTERVAL_QUANTILES; k++) {
            num_format(q, scrape_interval_quantiles[k], 'g');
            num_format(num, s->quantile[k], 'g');
            (void) buf_printf(b, "%s{interval=\"%s\",quantile=\"%s\"} %s\n", name, iv, q, num);
        }
        num_format(num, s->sum_seconds, 'g');
        (void) buf_printf(b, "%s_sum{interval=\"%s\"} %s\n", name, iv, num);
        (void) buf_printf(b, "%s_count{interval=\"%s\"} %llu\n", name, iv,
                          (unsigned long long) s->count);
    }
}

static void put_target_metrics(struct buf *b, const struct snapshot *sn)
{
    put_metric(b, "prometheus_target_scrape_pools_targets", "gauge", "Current number of targets.",
               NULL, (double) sn->targets);
    put_metric(b, "prometheus_target_scrapes_skipped_total", "counter",
               "Scrape ticks skipped because the previous scrape was still running.", NULL,
               (double) sn->skipped_ticks);
    put_interval_metrics(b, sn);
    (void) buf_puts(b, "# HELP prometheus_sd_discovered_targets Current number of discovered "
                       "targets.\n# TYPE prometheus_sd_discovered_targets gauge\n");
    for (size_t i = 0; i < sn->n_jobs; i++) {
        (void) buf_puts(b, "prometheus_sd_discovered_targets{config=\"");
        put_label_value(b, sn->jobs[i].job);
        (void) buf_printf(b, "\",name=\"scrape\"} %llu\n", (unsigned long long) sn->jobs[i].n);
    }
}

/* One sample per Alertmanager: name{alertmanager="url"} v; the HELP/TYPE lines once. */
static void put_am_rows(struct buf *b, const struct snapshot *sn, const char *name,
                        const char *type, const char *help, const char *suffix, int which)
{
    if (type)
        (void) buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (uint32_t i = 0; i < sn->n_ams; i++) {
        const struct rules_notifier_am_stats *st = &sn->ams[i].st;
        double v = which == 0   ? (double) st->sent
                   : which == 1 ? (double) st->errors
                   : which == 2 ? st->latency_sum_seconds
                                : (double) st->latency_count;
        char num[NUM_FLOAT_MAX];
        num_format(num, v, 'g');
        (void) buf_printf(b, "%s%s{alertmanager=\"", name, suffix);
        put_label_value(b, sn->ams[i].url);
        (void) buf_printf(b, "\"} %s\n", num);
    }
}

/* Rule evaluation and notifier counters: Prometheus' names; rule totals without the rule_group
 * label Prometheus splits them by; notifications per Alertmanager as Prometheus 2.42 labels them
 * (the latency summary as _sum and _count, without quantiles). */
static void put_rules_metrics(struct buf *b, const struct snapshot *sn)
{
    const struct rules_manager_stats rm = sn->rm;
    const struct rules_notifier_stats ns = sn->ns;
    put_metric(b, "prometheus_rule_group_evaluations_total", "counter",
               "The total number of rule group evaluations.", NULL, (double) rm.evaluations);
    put_metric(b, "prometheus_rule_evaluation_failures_total", "counter",
               "The total number of rule evaluation failures.", NULL, (double) rm.failures);
    put_metric(b, "prometheus_rule_group_iterations_missed_total", "counter",
               "The total number of rule group evaluations missed due to slow rule group "
               "evaluation.", NULL, (double) rm.missed);
    put_am_rows(b, sn, "prometheus_notifications_sent_total", "counter",
                "Total number of alerts sent.", "", 0);
    put_am_rows(b, sn, "prometheus_notifications_errors_total", "counter",
                "Total number of errors sending alert notifications.", "", 1);
    put_am_rows(b, sn, "prometheus_notifications_latency_seconds", "summary",
                "Latency quantiles for sending alert notifications.", "_sum", 2);
    put_am_rows(b, sn, "prometheus_notifications_latency_seconds", NULL, NULL, "_count", 3);
    put_metric(b, "prometheus_notifications_dropped_total", "counter",
               "Total number of alerts dropped due to errors when sending to Alertmanager.", NULL,
               (double) ns.dropped);
    put_metric(b, "prometheus_notifications_queue_length", "gauge",
               "The number of alert notifications in the queue.", NULL, (double) ns.queue_length);
    put_metric(b, "prometheus_notifications_queue_capacity", "gauge",
               "The capacity of the alert notifications queue.", NULL,
               (double) (sn->have_notifier ? ns.queue_capacity : 10000));
    put_metric(b, "prometheus_notifications_alertmanagers_discovered", "gauge",
               "The number of alertmanagers discovered and active.", NULL,
               (double) ns.alertmanagers);
}

/* Configuration reload and file_sd: Prometheus' names. */
static void put_reload_metrics(struct buf *b, const struct snapshot *sn)
{
    put_metric(b, "prometheus_config_last_reload_successful", "gauge",
               "Whether the last configuration reload attempt was successful.", NULL,
               sn->reload_ok ? 1 : 0);
    put_metric(b, "prometheus_config_last_reload_success_timestamp_seconds", "gauge",
               "Timestamp of the last successful configuration reload.", NULL,
               (double) sn->reload_success_ms / 1000.0);
    put_metric(b, "prometheus_sd_file_read_errors_total", "counter",
               "The number of File-SD read errors.", NULL, (double) sn->sd_read_errors);
}

static int metrics_run(struct app *app, struct http_request *req, const void *arg,
                       struct buf *out, struct err *e)
{
    (void) req;
    const struct snapshot *sn = arg;
    struct tsdb_stats st;
    tsdb_stats_get(app->db, &st);
    char labels[400];
    (void) snprintf(labels, sizeof labels,
                    "{branch=\"%s\",goversion=\"%s\",revision=\"%s\",version=\"%s\"}",
                    build_info.branch, build_info.compiler, build_info.revision, api_build_version);
    put_metric(out, "prometheus_build_info", "gauge",
               "A metric with a constant '1' value labeled by version, revision, branch, and "
               "goversion from which prometheus was built.",
               labels, 1);
    put_process_metrics(out, sn->start_ms);
    put_storage_metrics(out, &st);
    put_engine_metrics(out, sn);
    put_target_metrics(out, sn);
    put_http_metrics(out, sn);
    put_rules_metrics(out, sn);
    put_reload_metrics(out, sn);
    if (out->len == 0) /* every buf_* failed */
        return err_set(e, -12, "out of memory writing /metrics");
    return 0;
}

void selfmetrics_serve(struct http_request *req, struct app *app)
{
    struct arena *a = req->arena;
    struct snapshot *sn = arena_calloc(a, 1, sizeof *sn);
    struct app_route *routes = arena_alloc(a, (app->n_routes + 1) * sizeof *routes);
    struct app_query_times *qt = arena_alloc(a, sizeof *qt);
    if (!sn || !routes || !qt) {
        api_respond_err(req, -12, "out of memory");
        return;
    }
    memcpy(routes, app->routes, app->n_routes * sizeof *routes);
    *qt = app->query_times;
    *sn = (struct snapshot){
        .start_ms = app->start_ms,
        .max_concurrency = app->flags.max_concurrency,
        .queries_running = app->queries_running,
        .queries_waiting = app->queries_waiting,
        .queries_total = atomic_load(&app->queries_total),
        .query_errors = atomic_load(&app->query_errors),
        .queries_inline = app->queries_inline,
        .routes = routes,
        .n_routes = app->n_routes,
        .qt = qt,
        .a = a,
        .reload_ok = app->reload_ok,
        .reload_success_ms = app->reload_success_ms,
        .sd_read_errors = app->sd_read_errors,
    };
    if (app->scrape) {
        sn->targets = scrape_manager_count(app->scrape);
        scrape_manager_each(app->scrape, count_target, sn);
        scrape_manager_each_dropped(app->scrape, count_dropped, sn);
        scrape_manager_each_interval(app->scrape, copy_interval, sn);
    }
    if (app->rules)
        rules_manager_stats(app->rules, &sn->rm);
    if (app->notifier) {
        rules_notifier_stats(app->notifier, &sn->ns);
        sn->have_notifier = 1;
        sn->ams = arena_calloc(a, sn->ns.alertmanagers + 1, sizeof *sn->ams);
        for (uint32_t i = 0; sn->ams && i < sn->ns.alertmanagers; i++) {
            sn->ams[i].url = arena_strdup(a, rules_notifier_url(app->notifier, i));
            if (!sn->ams[i].url || rules_notifier_am_stats(app->notifier, i, &sn->ams[i].st) < 0)
                break;
            sn->n_ams++;
        }
    }
    if (app->http) {
        sn->have_http = 1;
        http_server_stats(app->http, &sn->hs);
    }
    struct api_query_spec s = {.kind = API_QUERY_CUSTOM,
                               .run_fn = metrics_run,
                               .run_arg = sn,
                               .content_type = "text/plain; version=0.0.4; charset=utf-8",
                               .plain_errors = 1,
                               .ungated = 1};
    api_query_submit(app, req, &s);
}
