/* server/api_status.c — /api/v1/status/{buildinfo,config,flags,runtimeinfo}: small JSON built on
 * the loop from state already in memory (plus a few bytes of procfs), in Prometheus' shapes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/app.h"
#include "server/build_info.h"
#include "server/json.h"

/* What Grafana's version detection sees: a semver at or above 2.24.0 keeps its match[]-on-label-
 * values code path, and ember's own version rides in the build metadata (grafana-compat.md §4.7).
 * 2.42.0 is the Prometheus release the compatibility notes were measured against. */
#define PROMETHEUS_COMPAT_VERSION "2.42.0"
const char api_build_version[] = PROMETHEUS_COMPAT_VERSION "+ember." EMBER_VERSION;

/* Every answer here is {"status":"success","data":{...}}: begin opens the data object, finish
 * closes it and responds. */
static void begin(struct json_writer *w, struct buf *b)
{
    json_init(w, b);
    json_envelope_begin(w);
    json_obj_begin(w);
}

static void finish(struct http_request *req, struct buf *b, struct json_writer *w)
{
    json_obj_end(w);
    json_envelope_end(w, NULL, 0);
    if (json_done(w) < 0) {
        buf_free(b);
        api_respond_err(req, -ENOMEM, "out of memory");
        return;
    }
    http_respond_buf(req, 200, "application/json", b);
    buf_free(b);
}

static void key_str(struct json_writer *w, const char *k, const char *v)
{
    json_key(w, k);
    json_str(w, v);
}

/* The build fields, in Prometheus' order; no "features": Grafana would take ember for Mimir. */
static void build_fields(struct json_writer *w)
{
    key_str(w, "version", api_build_version);
    key_str(w, "revision", build_info.revision);
    key_str(w, "branch", build_info.branch);
    key_str(w, "buildUser", build_info.build_user);
    key_str(w, "buildDate", build_info.build_date);
    key_str(w, "goVersion", build_info.compiler); /* the field Prometheus' UI shows as such */
}

void api_status_buildinfo(struct http_request *req, struct app *app)
{
    (void) app;
    struct buf b = BUF_INIT;
    struct json_writer w;
    begin(&w, &b);
    build_fields(&w);
    finish(req, &b, &w);
}

/* /version: the same fields without the API envelope, one JSON line that Prometheus sends
 * without setting a content type (so Go sniffs it as text/plain). */
void api_version(struct http_request *req, struct app *app)
{
    (void) app;
    struct buf b = BUF_INIT;
    struct json_writer w;
    json_init(&w, &b);
    json_obj_begin(&w);
    build_fields(&w);
    json_obj_end(&w);
    if (json_done(&w) < 0 || buf_putc(&b, '\n') < 0) {
        buf_free(&b);
        api_respond_err(req, -ENOMEM, "out of memory");
        return;
    }
    http_respond_buf(req, 200, "text/plain; charset=utf-8", &b);
    buf_free(&b);
}

/* The configuration file's text as loaded (Prometheus re-serializes its parsed config instead:
 * comments, key order and defaults differ; docs/api.md says so). */
void api_status_config(struct http_request *req, struct app *app)
{
    struct buf b = BUF_INIT;
    struct json_writer w;
    begin(&w, &b);
    json_key(&w, "yaml");
    json_str_n(&w, app->cfg->text ? app->cfg->text : "", app->cfg->text ? app->cfg->text_len : 0);
    finish(req, &b, &w);
}

static void put_flag(void *ctx, const char *name, const char *value)
{
    key_str(ctx, name, value);
}

void api_status_flags(struct http_request *req, struct app *app)
{
    struct buf b = BUF_INIT;
    struct json_writer w;
    begin(&w, &b);
    flags_visit(&app->flags, put_flag, &w);
    finish(req, &b, &w);
}

/* Go's time.Time JSON (RFC3339Nano) in UTC: fraction digits without trailing zeros. */
static void json_rfc3339(struct json_writer *w, int64_t ms)
{
    time_t s = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int) (ms - (int64_t) s * 1000);
    struct tm tm;
    char out[64], f[8] = "";
    (void) gmtime_r(&s, &tm);
    if (frac) {
        (void) snprintf(f, sizeof f, ".%03d", frac);
        for (size_t n = strlen(f); f[n - 1] == '0'; n--)
            f[n - 1] = 0;
    }
    (void) snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
    json_str(w, out);
}

/* Threads of this process (Prometheus reports goroutines there): one line of procfs. */
static int64_t thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r"); /* procfs: served from memory, does not block */
    char line[256];
    long long n = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* "15d", "10GiB", or both joined by " or ", as Prometheus words its retention. */
static void retention_text(const struct flags *fl, char *out, size_t cap)
{
    char d[32] = "", bytes[64] = "";
    if (fl->retention_ms)
        (void) duration_format(d, sizeof d, fl->retention_ms);
    if (fl->retention_bytes)
        flags_format_bytes(bytes, sizeof bytes, fl->retention_bytes);
    (void) snprintf(out, cap, "%s%s%s", d, *d && *bytes ? " or " : "", bytes);
}

void api_status_runtimeinfo(struct http_request *req, struct app *app)
{
    struct tsdb_stats st;
    tsdb_stats_get(app->db, &st);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    char retention[128];
    retention_text(&app->flags, retention, sizeof retention);
    struct buf b = BUF_INIT;
    struct json_writer w;
    begin(&w, &b);
    json_key(&w, "startTime");
    json_rfc3339(&w, app->start_ms);
    key_str(&w, "CWD", cwd);
    json_key(&w, "reloadConfigSuccess");
    json_bool(&w, !app->config_reload_failed);
    json_key(&w, "lastConfigTime");
    json_rfc3339(&w, app->config_loaded_ms);
    json_key(&w, "corruptionCount");
    json_uint(&w, st.wal_corruptions);
    json_key(&w, "goroutineCount"); /* threads: ember has no goroutines */
    json_int(&w, thread_count());
    json_key(&w, "GOMAXPROCS"); /* cores the query workers can use */
    json_int(&w, (int64_t) sysconf(_SC_NPROCESSORS_ONLN));
    key_str(&w, "GOGC", "");
    key_str(&w, "GODEBUG", "");
    key_str(&w, "storageRetention", retention);
    finish(req, &b, &w);
}
