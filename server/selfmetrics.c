/* server/selfmetrics.c — /metrics: ember's own metrics in the text format 0.0.4, under
 * Prometheus' names where they mean the same thing, so self-monitoring dashboards keep working. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

static void put_metric(struct buf *b, const char *name, const char *type, const char *help,
                       const char *labels, double v)
{
    char num[NUM_FLOAT_MAX];
    num_format(num, v, 'g');
    if (type)
        (void) buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    (void) buf_printf(b, "%s%s %s\n", name, labels ? labels : "", num);
}

static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r"); /* a few bytes from procfs: does not block */
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double) rss * (double) sysconf(_SC_PAGESIZE);
}

/* Storage counters and gauges: one row each, Prometheus' names where the meaning is the same. */
static void put_storage_metrics(struct buf *b, const struct tsdb_stats *st)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
#define ROW(name, type, field, help) {name, type, help, offsetof(struct tsdb_stats, field)}
        ROW("prometheus_tsdb_out_of_bound_samples_total", "counter", out_of_bound_samples,
            "Total number of samples rejected as older than the head accepts."),
        ROW("prometheus_tsdb_head_series_created_total", "counter", series_created,
            "Total number of series created in the head."),
        ROW("prometheus_tsdb_head_series_removed_total", "counter", series_removed,
            "Total number of series removed from the head."),
        ROW("prometheus_tsdb_blocks_loaded", "gauge", blocks,
            "Number of currently loaded data blocks."),
        ROW("prometheus_tsdb_storage_blocks_bytes", "gauge", block_bytes,
            "The number of bytes that are currently used for local storage by all blocks."),
        ROW("prometheus_tsdb_wal_storage_size_bytes", "gauge", wal_bytes,
            "Size of the write log directory."),
        ROW("prometheus_tsdb_wal_corruptions_total", "counter", wal_corruptions,
            "Total number of WAL files cut at a torn or corrupt record."),
        ROW("prometheus_tsdb_wal_writes_failed_total", "counter", wal_write_failures,
            "Total number of WAL writes that failed."),
        ROW("prometheus_tsdb_compactions_total", "counter", compactions,
            "Total number of compactions that were executed for the partition."),
        ROW("prometheus_tsdb_compactions_failed_total", "counter", compaction_failures,
            "Total number of compactions that failed for the partition."),
        ROW("prometheus_tsdb_head_truncations_total", "counter", head_cuts,
            "Total number of head cuts into blocks."),
        ROW("prometheus_tsdb_time_retentions_total", "counter", retention_deletions,
            "Number of blocks deleted by time or size retention."),
        ROW("ember_tsdb_corrupt_chunks_total", "counter", corrupt_chunks,
            "Block chunks skipped by queries because they failed to decode."),
        ROW("ember_tsdb_corrupt_blocks", "gauge", corrupt_blocks,
            "Block directories that could not be opened at start-up."),
#undef ROW
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *) st + rows[i].off, sizeof v);
        put_metric(b, rows[i].name, rows[i].type, rows[i].help, NULL, (double) v);
    }
}

struct target_counts {
    uint64_t up, down, skipped;
};

static void count_target(void *ctx, const struct scrape_target_status *st)
{
    struct target_counts *c = ctx;
    if (st->health == SCRAPE_HEALTH_UP)
        c->up++;
    else if (st->health == SCRAPE_HEALTH_DOWN)
        c->down++;
    c->skipped += st->skipped_ticks;
}

/* Rule evaluation and notifier counters: Prometheus' names, totals without the rule_group /
 * alertmanager labels Prometheus splits them by. */
static void put_rules_metrics(struct buf *b, struct app *app)
{
    struct rules_manager_stats rm = {0};
    struct rules_notifier_stats ns = {0};
    if (app->rules)
        rules_manager_stats(app->rules, &rm);
    if (app->notifier)
        rules_notifier_stats(app->notifier, &ns);
    put_metric(b, "prometheus_rule_group_evaluations_total", "counter",
               "The total number of rule group evaluations.", NULL, (double) rm.evaluations);
    put_metric(b, "prometheus_rule_evaluation_failures_total", "counter",
               "The total number of rule evaluation failures.", NULL, (double) rm.failures);
    put_metric(b, "prometheus_rule_group_iterations_missed_total", "counter",
               "The total number of rule group evaluations missed due to slow rule group "
               "evaluation.", NULL, (double) rm.missed);
    put_metric(b, "prometheus_notifications_sent_total", "counter",
               "Total number of alerts sent.", NULL, (double) ns.sent);
    put_metric(b, "prometheus_notifications_errors_total", "counter",
               "Total number of sent alerts affected by errors.", NULL, (double) ns.errors);
    put_metric(b, "prometheus_notifications_dropped_total", "counter",
               "Total number of alerts dropped due to errors when sending to Alertmanager.", NULL,
               (double) ns.dropped);
    put_metric(b, "prometheus_notifications_queue_length", "gauge",
               "The number of alert notifications in the queue.", NULL, (double) ns.queue_length);
    put_metric(b, "prometheus_notifications_queue_capacity", "gauge",
               "The capacity of the alert notifications queue.", NULL,
               (double) (app->notifier ? ns.queue_capacity : 10000));
    put_metric(b, "prometheus_notifications_alertmanagers_discovered", "gauge",
               "The number of alertmanagers discovered and active.", NULL,
               (double) ns.alertmanagers);
}

void selfmetrics_serve(struct http_request *req, struct app *app)
{
    struct buf b = BUF_INIT;
    struct tsdb_stats st;
    tsdb_stats_get(app->db, &st);
    char labels[128];
    (void) snprintf(labels, sizeof labels, "{version=\"%s\",branch=\"\",revision=\"\"}",
                    api_build_version);
    put_metric(&b, "prometheus_build_info", "gauge",
               "A metric with a constant '1' value labeled by version of ember.", labels, 1);
    put_metric(&b, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", NULL,
               (double) app->start_ms / 1000.0);
    put_metric(&b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               NULL, resident_bytes());
    put_metric(&b, "prometheus_tsdb_head_series", "gauge", "Total number of series in the head block.",
               NULL, (double) st.head_series);
    put_metric(&b, "prometheus_tsdb_head_chunks", "gauge", "Total number of chunks in the head block.",
               NULL, (double) st.head_chunks);
    put_metric(&b, "prometheus_tsdb_head_samples_appended_total", "counter",
               "Total number of appended samples.", "{type=\"float\"}",
               (double) st.samples_appended);
    put_metric(&b, "prometheus_tsdb_out_of_order_samples_total", "counter",
               "Total number of out of order samples ingestion failed attempts.", "{type=\"float\"}",
               (double) st.out_of_order_samples);
    put_metric(&b, "prometheus_tsdb_duplicate_samples_total", "counter",
               "Total number of samples rejected as duplicates with a different value.", NULL,
               (double) st.duplicate_samples);
    put_storage_metrics(&b, &st);
    if (st.head_series) {
        put_metric(&b, "prometheus_tsdb_head_min_time", "gauge",
                   "Minimum time bound of the head block.", NULL, (double) st.head_mint_ms);
        put_metric(&b, "prometheus_tsdb_head_max_time", "gauge",
                   "Maximum timestamp of the head block.", NULL, (double) st.head_maxt_ms);
    }
    put_metric(&b, "prometheus_engine_queries", "gauge", "The current number of queries being executed or waiting.",
               NULL, (double) app->queries_running);
    put_metric(&b, "ember_queries_total", "counter", "Queries received by the API.", NULL,
               (double) atomic_load(&app->queries_total));
    put_metric(&b, "ember_query_errors_total", "counter", "Queries that ended in an error.", NULL,
               (double) atomic_load(&app->query_errors));
    struct target_counts tc = {0};
    if (app->scrape)
        scrape_manager_each(app->scrape, count_target, &tc);
    put_metric(&b, "prometheus_target_scrape_pools_targets", "gauge",
               "Current number of targets.", NULL, (double) (app->scrape ?
                   scrape_manager_count(app->scrape) : 0));
    put_metric(&b, "prometheus_target_scrapes_skipped_total", "counter",
               "Scrape ticks skipped because the previous scrape was still running.", NULL,
               (double) tc.skipped);
    put_rules_metrics(&b, app);
    if (app->http) {
        struct http_server_stats hs;
        http_server_stats(app->http, &hs);
        put_metric(&b, "prometheus_http_requests_total", "counter",
                   "Counter of HTTP requests.", NULL, (double) hs.requests);
        put_metric(&b, "ember_http_connections_open", "gauge", "Open HTTP connections.", NULL,
                   (double) hs.connections_open);
        put_metric(&b, "ember_http_bad_requests_total", "counter",
                   "Requests answered with a 4xx because they could not be parsed.", NULL,
                   (double) hs.bad_requests);
    }
    http_respond_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
    buf_free(&b);
}
