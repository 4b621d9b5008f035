/* server/flags.c — a table of flags (name, kind, where to store, help) drives parsing and --help,
 * so the two cannot drift apart. */
#include "flags.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STRING, K_DURATION, K_INT, K_MICROS, K_BYTES, K_BOOL, K_LOG_LEVEL, K_LOG_FORMAT };

struct flag_def {
    const char *name;
    enum kind kind;
    size_t off;
    const char *help;
};

#define F(field) offsetof(struct flags, field)
static const struct flag_def defs[] = {
    {"config.file", K_STRING, F(config_file),
     "Prometheus configuration file (default: embedded config scraping ember itself)"},
    {"storage.tsdb.path", K_STRING, F(storage_path), "Base path for metrics storage (./data)"},
    {"storage.tsdb.retention.time", K_DURATION, F(retention_ms),
     "How long to retain samples in storage (15d)"},
    {"storage.tsdb.retention.size", K_BYTES, F(retention_bytes),
     "Maximum bytes of blocks and WAL to keep, oldest blocks deleted first: 512MB, 10GB, ... "
     "(units of 1024; default: no limit)"},
    {"storage.tsdb.min-block-duration", K_DURATION, F(block_range_ms),
     "Time range of the blocks the head is cut into (2h)"},
    {"web.enable-admin-api", K_BOOL, F(enable_admin_api),
     "Enable the admin endpoints: snapshot, delete_series, clean_tombstones"},
    {"web.enable-lifecycle", K_BOOL, F(enable_lifecycle),
     "Enable shutdown and reload via HTTP request: /-/quit, /-/reload"},
    {"web.listen-address", K_STRING, F(listen_address),
     "Address to listen on for the API and telemetry (127.0.0.1:9090)"},
    {"web.config.file", K_STRING, F(web_config_file),
     "Web configuration file (Prometheus' format): TLS and basic authentication"},
    {"web.cors.origin", K_STRING, F(cors_origin),
     "Regex for CORS origin, fully anchored, e.g. 'https?://(domain1|domain2)\\.com' (.*)"},
    {"web.max-connections", K_INT, F(max_connections),
     "Maximum number of simultaneous connections; more get 503 and are closed (512)"},
    {"web.read-timeout", K_DURATION, F(read_timeout_ms),
     "Maximum duration before timing out read of the request (5m)"},
    {"web.spin-microseconds", K_MICROS, F(spin_us),
     "After answering a request, poll this long before sleeping, so a client's next request "
     "does not wait for an idle core to wake (50; 0: off)"},
    {"query.lookback-delta", K_DURATION, F(lookback_delta_ms),
     "How far back to look for a sample of an instant vector (5m)"},
    {"query.timeout", K_DURATION, F(query_timeout_ms), "Maximum time a query may take (2m)"},
    {"query.max-samples", K_INT, F(max_samples),
     "Maximum number of samples a single query can load into memory (50000000)"},
    {"query.max-concurrency", K_INT, F(max_concurrency),
     "Maximum number of queries executed concurrently (20)"},
    {"rules.alert.for-outage-tolerance", K_DURATION, F(for_outage_tolerance_ms),
     "Max time to tolerate ember outage for restoring \"for\" state of alert (1h)"},
    {"rules.alert.for-grace-period", K_DURATION, F(for_grace_period_ms),
     "Minimum duration between alert and restored \"for\" state (10m)"},
    {"rules.alert.resend-delay", K_DURATION, F(resend_delay_ms),
     "Minimum amount of time to wait before resending an alert to Alertmanager (1m)"},
    {"web.external-url", K_STRING, F(external_url),
     "The URL under which ember is reachable, for alerts' generatorURL "
     "(default: http://<hostname>:<port>)"},
    {"log.level", K_LOG_LEVEL, F(log_level), "Only log messages with the given severity or above: "
                                             "debug, info, warn, error (info)"},
    {"log.format", K_LOG_FORMAT, F(log_format), "Output format of log messages: logfmt, json "
                                                "(logfmt)"},
    {"help", K_BOOL, F(help), "Show this help"},
    {"version", K_BOOL, F(version), "Show the version"},
};
#undef F

const char *flags_usage(void)
{
    static char text[4096];
    if (text[0])
        return text;
    size_t pos = (size_t) snprintf(text, sizeof text,
                                   "usage: ember [<flags>]\n\nA small, fast, "
                                   "Prometheus-compatible monitoring server.\n\nFlags:\n");
    for (size_t i = 0; i < ARRAY_LEN(defs) && pos < sizeof text; i++)
        pos += (size_t) snprintf(text + pos, sizeof text - pos, "  --%-30s %s\n", defs[i].name,
                                 defs[i].help);
    return text;
}

static int parse_bool(const char *v, int *ret)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *ret = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *ret = 0;
    else
        return -1;
    return 0;
}

/* A size as Prometheus writes it: an integer and a unit of B, KB, MB, GB, TB, PB or EB (powers
 * of 1024; the KiB spellings too). */
static int parse_bytes(const char *v, int64_t *ret)
{
    static const char units[] = "BKMGTPE";
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || n <= 0 || !*end)
        return -1;
    const char *u = strchr(units, *end);
    if (!u)
        return -1;
    int shift = (int) (u - units) * 10;
    const char *rest = end + 1;
    if (u != units && strcmp(rest, "B") != 0 && strcmp(rest, "iB") != 0)
        return -1;
    if (u == units && *rest)
        return -1;
    if (n > (INT64_MAX >> shift))
        return -1;
    *ret = (int64_t) n << shift;
    return 0;
}

static int set_value(const struct flag_def *d, const char *v, struct flags *f, struct err *e)
{
    char *field = (char *) f + d->off;
    switch (d->kind) {
    case K_STRING:
        if (!*v)
            return err_set(e, ERR_PARSE, "flag --%s: empty value", d->name);
        *(const char **) (void *) field = v;
        return 0;
    case K_DURATION: {
        int64_t ms;
        if (duration_parse(v, strlen(v), &ms) < 0 || ms <= 0)
            return err_set(e, ERR_PARSE, "flag --%s: invalid duration \"%s\" (e.g. 5m, 1h30m)",
                           d->name, v);
        *(int64_t *) (void *) field = ms;
        return 0;
    }
    case K_INT: {
        int64_t n;
        if (num_parse_int64(v, strlen(v), &n) < 0 || n <= 0)
            return err_set(e, ERR_PARSE, "flag --%s: invalid positive integer \"%s\"", d->name, v);
        *(int64_t *) (void *) field = n;
        return 0;
    }
    case K_MICROS: { /* 0 (off) up to 0.1 s: a longer spin only burns CPU */
        int64_t n;
        if (num_parse_int64(v, strlen(v), &n) < 0 || n < 0 || n > 100000)
            return err_set(e, ERR_PARSE, "flag --%s: invalid microseconds \"%s\" (0 to 100000)",
                           d->name, v);
        *(int64_t *) (void *) field = n;
        return 0;
    }
    case K_BYTES:
        if (parse_bytes(v, (int64_t *) (void *) field) < 0)
            return err_set(e, ERR_PARSE, "flag --%s: invalid size \"%s\" (e.g. 512MB, 10GB)",
                           d->name, v);
        return 0;
    case K_BOOL:
        if (parse_bool(v, (int *) (void *) field) < 0)
            return err_set(e, ERR_PARSE, "flag --%s: invalid boolean \"%s\"", d->name, v);
        return 0;
    case K_LOG_LEVEL:
        if (log_level_parse(v, (enum log_level *) (void *) field) < 0)
            return err_set(e, ERR_PARSE,
                           "flag --log.level: invalid value \"%s\" (debug, info, warn, error)", v);
        return 0;
    case K_LOG_FORMAT:
        if (log_format_parse(v, (enum log_format *) (void *) field) < 0)
            return err_set(e, ERR_PARSE, "flag --log.format: invalid value \"%s\" (logfmt, json)",
                           v);
        return 0;
    }
    return err_set(e, ERR_INTERNAL, "flag --%s: unknown kind", d->name);
}

int flags_parse(int argc, char **argv, struct flags *f, struct err *e)
{
    memset(f, 0, sizeof *f);
    f->storage_path = "data";
    f->listen_address = "127.0.0.1:9090";
    f->log_level = LOG_LEVEL_INFO;
    f->log_format = LOG_FORMAT_LOGFMT;
    f->lookback_delta_ms = 5 * 60 * 1000;
    f->query_timeout_ms = 2 * 60 * 1000;
    f->max_samples = 50000000;
    f->max_concurrency = 20;
    f->retention_ms = 15LL * 24 * 3600 * 1000;
    f->block_range_ms = 2 * 3600 * 1000;
    f->cors_origin = ".*";
    f->max_connections = 512;
    f->spin_us = 50;
    f->read_timeout_ms = 5 * 60 * 1000;
    f->for_outage_tolerance_ms = 3600 * 1000;
    f->for_grace_period_ms = 10 * 60 * 1000;
    f->resend_delay_ms = 60 * 1000;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 && !(arg[0] == '-' && arg[1] == 'h' && !arg[2]))
            return err_set(e, ERR_PARSE, "unexpected argument \"%s\" (flags start with --)", arg);
        if (strcmp(arg, "-h") == 0) {
            f->help = 1;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t) (eq - name) : strlen(name);
        int negated = !eq && strncmp(name, "no-", 3) == 0;
        const struct flag_def *d = NULL;
        for (size_t k = 0; k < ARRAY_LEN(defs) && !d; k++) {
            const char *want = negated ? name + 3 : name;
            size_t wl = negated ? nlen - 3 : nlen;
            if (strlen(defs[k].name) == wl && strncmp(defs[k].name, want, wl) == 0)
                d = &defs[k];
        }
        if (!d)
            return err_set(e, ERR_PARSE, "unknown long flag '--%.*s'", (int) nlen, name);
        const char *v;
        if (d->kind == K_BOOL)
            v = eq ? eq + 1 : negated ? "false" : "true";
        else if (negated)
            return err_set(e, ERR_PARSE, "unknown long flag '--%.*s'", (int) nlen, name);
        else if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            return err_set(e, ERR_PARSE, "expected argument for flag '--%s'", d->name);
        int r = set_value(d, v, f, e);
        if (r < 0)
            return r;
    }
    return 0;
}

void flags_format_bytes(char *out, size_t cap, int64_t n)
{
    static const char *const units[] = {"EiB", "PiB", "TiB", "GiB", "MiB", "KiB", "B"};
    size_t pos = 0;
    out[0] = 0;
    if (n <= 0) {
        (void) snprintf(out, cap, "0B");
        return;
    }
    for (int i = 0; i < 7 && pos < cap; i++) {
        int64_t unit = (int64_t) 1 << (10 * (6 - i));
        if (n >= unit) {
            pos += (size_t) snprintf(out + pos, cap - pos, "%lld%s", (long long) (n / unit),
                                     units[i]);
            n %= unit;
        }
    }
}

void flags_visit(const struct flags *f, flags_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < ARRAY_LEN(defs); i++) {
        const struct flag_def *d = &defs[i];
        const char *field = (const char *) f + d->off;
        char v[64];
        const char *s = v;
        if (d->off == offsetof(struct flags, help) || d->off == offsetof(struct flags, version))
            continue;
        switch (d->kind) {
        case K_STRING: s = *(const char *const *) (const void *) field; break;
        case K_DURATION: (void) duration_format(v, sizeof v, *(const int64_t *) (const void *) field); break;
        case K_INT:
        case K_MICROS: (void) snprintf(v, sizeof v, "%lld", (long long) *(const int64_t *) (const void *) field); break;
        case K_BYTES: flags_format_bytes(v, sizeof v, *(const int64_t *) (const void *) field); break;
        case K_BOOL: s = *(const int *) (const void *) field ? "true" : "false"; break;
        case K_LOG_LEVEL: {
            static const char *const names[] = {"debug", "info", "warn", "error"};
            unsigned l = (unsigned) *(const enum log_level *) (const void *) field;
            s = l < ARRAY_LEN(names) ? names[l] : "info";
            break;
        }
        case K_LOG_FORMAT:
            s = *(const enum log_format *) (const void *) field == LOG_FORMAT_JSON ? "json" : "logfmt";
            break;
        }
        fn(ctx, d->name, s ? s : "");
    }
}
