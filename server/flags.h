/* server/flags.h — command-line flags with Prometheus' names, parsed into a plain struct.
 * Accepts --name=value and --name value; booleans as --flag / --no-flag / --flag=true|false. */
#ifndef EMBER_SERVER_FLAGS_H
#define EMBER_SERVER_FLAGS_H

#include <stdint.h>

#include "tsdb/base/base.h"

struct flags {
    const char *config_file;    /* NULL: the embedded default configuration */
    const char *storage_path;   /* ./data */
    const char *listen_address; /* 127.0.0.1:9090 */
    enum log_level log_level;
    enum log_format log_format;
    int64_t lookback_delta_ms; /* 5m */
    int64_t query_timeout_ms;  /* 2m */
    int64_t max_samples;       /* 50,000,000 */
    int64_t max_concurrency;   /* 20 */
    int64_t retention_ms;      /* 15d */
    int64_t retention_bytes;   /* 0: no size limit */
    int64_t block_range_ms;    /* 2h */
    const char *web_config_file; /* NULL: no TLS, no auth */
    const char *cors_origin;     /* ".*" */
    int64_t max_connections;     /* 512 */
    int64_t read_timeout_ms;     /* 5m: whole request, first byte to last */
    int64_t spin_us;             /* 50: the loop's poll after a response (http_limits) */
    int64_t for_outage_tolerance_ms; /* 1h */
    int64_t for_grace_period_ms;     /* 10m */
    int64_t resend_delay_ms;         /* 1m */
    const char *external_url;        /* NULL: http://<hostname>:<port> */
    int enable_admin_api;
    int enable_lifecycle;      /* /-/reload and /-/quit */
    int help, version;
};

/* Fills f from argv. On a bad flag: ERR_PARSE with a one-line message naming the flag. */
int flags_parse(int argc, char **argv, struct flags *f, struct err *e);
/* The --help text. */
const char *flags_usage(void);
/* Calls fn for every flag but help and version, in table order, with its value as Prometheus'
 * /api/v1/status/flags shows it: durations "15d", sizes "0B" / "10GiB", booleans "true", unset
 * strings "". name and value are borrowed for the call. */
typedef void (*flags_visit_fn)(void *ctx, const char *name, const char *value);
void flags_visit(const struct flags *f, flags_visit_fn fn, void *ctx);
/* A size as Prometheus prints it (alecthomas/units Base2Bytes): "0B", "512MiB", "1GiB512MiB". */
void flags_format_bytes(char *out, size_t cap, int64_t n);

#endif
