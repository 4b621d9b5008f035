/* scrape/scrape.h — scraping targets on a schedule into the tsdb. The server turns its config into
 * jobs with discovered targets; the manager relabels them into target specs and runs one loop per
 * target on the libuv loop (HTTP I/O there), doing the parse + metric relabel + append of each
 * scrape on a libuv worker thread.
 * Threads: scrape_relabel_* and scrape_target_* are plain functions any thread may call; the
 * manager is for the loop thread only. */
#ifndef EMBER_SCRAPE_H
#define EMBER_SCRAPE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tsdb/tsdb.h"

/* ---- relabeling (Prometheus' relabel_config) ----
 * A scrape_relabel is a compiled list of rules: relabel_configs rewrite a target's labels before
 * it is scraped, metric_relabel_configs each scraped series' labels before it is stored. Built
 * once (scrape_relabel_new + scrape_relabel_add, on one thread), then immutable: any thread may
 * apply it and share it through scrape_relabel_ref/unref (atomic counts). */

enum scrape_relabel_action {
    SCRAPE_RELABEL_REPLACE, /* the default */
    SCRAPE_RELABEL_KEEP,
    SCRAPE_RELABEL_DROP,
    SCRAPE_RELABEL_KEEPEQUAL,
    SCRAPE_RELABEL_DROPEQUAL,
    SCRAPE_RELABEL_HASHMOD,
    SCRAPE_RELABEL_LABELMAP,
    SCRAPE_RELABEL_LABELDROP,
    SCRAPE_RELABEL_LABELKEEP,
    SCRAPE_RELABEL_LOWERCASE,
    SCRAPE_RELABEL_UPPERCASE,
    _SCRAPE_RELABEL_MAX,
};

/* One relabel_config as written; NULL (or has_source_labels 0, modulus 0) means the key was
 * absent and Prometheus' default applies: separator ";", regex "(.*)", replacement "$1",
 * target_label "". Borrowed for the scrape_relabel_add() call. */
struct scrape_relabel_rule {
    enum scrape_relabel_action action;
    const char *const *source_labels;
    uint32_t n_source_labels;
    int has_source_labels; /* the key was given (even as []): labeldrop/labelkeep refuse it */
    const char *separator;
    const char *regex; /* fully anchored, RE2 syntax (tsdb/base/re.h) */
    uint64_t modulus;
    const char *target_label;
    const char *replacement;
};

typedef struct scrape_relabel scrape_relabel;

/* Prometheus' spelling ("replace", "hashmod", ...); parse ignores case as Prometheus does and
 * returns -1 for an unknown name. */
const char *scrape_relabel_action_name(enum scrape_relabel_action a);
int scrape_relabel_action_parse(const char *s, enum scrape_relabel_action *ret);
int scrape_relabel_new(scrape_relabel **ret, struct err *e); /* an empty list; count 1 */
/* Validates rule as Prometheus does (target_label required for replace, hashmod, lowercase,
 * uppercase, keepequal and dropequal; non-zero modulus for hashmod; fields an action forbids;
 * label name syntax; the regex compiles) and appends it. ERR_PARSE with Prometheus' wording;
 * *ret_key (may be NULL) is then the relabel_config key at fault ("regex", "target_label", ...)
 * or NULL when the rule as a whole is. Only before the list is shared. */
int scrape_relabel_add(scrape_relabel *rs, const struct scrape_relabel_rule *rule,
                       const char **ret_key, struct err *e);
uint32_t scrape_relabel_count(const scrape_relabel *rs); /* NULL: 0 */
scrape_relabel *scrape_relabel_ref(scrape_relabel *rs);   /* NULL is fine */
void scrape_relabel_unref(scrape_relabel *rs);            /* NULL is fine */

/* Runs the rules in order over ls (sorted, unique names) as Prometheus' relabel.Process does.
 * Returns 1 with *ret the result (sorted, unique names, no empty values; it may be empty and may
 * hold names that are not valid label names, e.g. from labelmap: callers check), 0 when a rule
 * dropped the set, ERR_LIMIT/-ENOMEM when arena a is full. *ret's strings point into ls, into rs
 * or into a, so it lives as long as all three. rs NULL keeps ls. Any thread. */
int scrape_relabel_apply(const scrape_relabel *rs, struct arena *a, const struct labels *ls,
                         struct labels *ret);

/* ---- how a job's targets are fetched: TLS, auth, redirects, compression, limits ---- */

/* A job's tls_config as one client context: immutable, shared by reference. scrape_tls_new reads
 * every file named (blocks: config load only, never on the loop). Options borrowed for the call;
 * NULL or "" means absent. Without ca_file the system bundle is loaded. */
typedef struct scrape_tls scrape_tls;
struct scrape_tls_opts {
    const char *ca_file, *cert_file, *key_file;
    const char *server_name; /* SNI and the name the certificate must match; default the host */
    int insecure_skip_verify;
    int min_version; /* TLS1_VERSION..TLS1_3_VERSION (0x0301..0x0304); 0: TLS 1.2 as Go's */
};
/* ERR_PARSE with Prometheus' wording for a bad pair or unreadable file ("unable to load
 * specified CA cert ...", "client cert file ... specified without client key file"). */
int scrape_tls_new(const struct scrape_tls_opts *o, scrape_tls **ret, struct err *e);
scrape_tls *scrape_tls_ref(scrape_tls *t); /* NULL is fine */
void scrape_tls_unref(scrape_tls *t);      /* NULL is fine */
uint64_t scrape_tls_hash(const scrape_tls *t); /* options and file contents; NULL: 0 */

/* A job's HTTP client settings and per-scrape limits. All-zero is Prometheus' defaults (follow
 * redirects, gzip, no limits), so callers that predate a field need not set it. */
struct scrape_client {
    scrape_tls *tls;           /* for https targets; NULL: scheme https is refused */
    const char *authorization; /* the Authorization header's value ("Bearer x", "Basic ..."),
                                * NULL: none */
    int no_follow_redirects;   /* follow_redirects: false */
    int no_compression;        /* enable_compression: false (Accept-Encoding: identity) */
    uint64_t body_size_limit;  /* bytes of decompressed body; 0: ember's 64 MiB cap */
    uint64_t sample_limit;     /* samples stored (after metric relabeling); 0: none */
    uint64_t label_limit, label_name_length_limit, label_value_length_limit; /* 0: none */
};

/* ---- jobs and targets ---- */

/* One URL parameter of a job: name=value for each value, in order. */
struct scrape_param {
    const char *name;
    const char *const *values;
    uint32_t n_values;
};

/* One scrape_config with its discovered targets, as scrape_manager_apply() takes it. Everything
 * is borrowed for the call. */
struct scrape_job {
    const char *name;
    const char *scheme;       /* "http" */
    const char *metrics_path; /* "/metrics" */
    const struct scrape_param *params;
    uint32_t n_params;
    int64_t interval_ms, timeout_ms;
    int honor_labels, honor_timestamps;
    const char *accept;              /* NULL: the Accept header for the formats ember parses */
    scrape_relabel *relabel;         /* relabel_configs; NULL: none */
    scrape_relabel *metric_relabel;  /* metric_relabel_configs; NULL: none */
    /* Targets as discovered, before relabeling: for static_configs each has __address__ and its
     * group's labels. Sorted label sets. */
    const struct labels *targets;
    uint32_t n_targets;
    const struct scrape_client *client; /* NULL: all defaults */
    uint32_t target_limit; /* more targets after relabeling fail all of them; 0: no limit */
};

/* A target after relabeling: what one scrape loop scrapes, and how its series are labelled. */
struct scrape_target_spec {
    const char *job;
    const char *scheme;       /* "http" */
    const char *address;      /* host:port, host, or [v6]:port */
    const char *metrics_path; /* starts with '/', percent-encoded as Go's url.URL.EscapedPath */
    const char *query;        /* encoded URL parameters without '?', or "" */
    const char *accept;       /* Accept header to send */
    int64_t interval_ms, timeout_ms;
    int honor_labels, honor_timestamps;
    struct labels labels;     /* target labels (job, instance, ...), sorted, no "__" names */
    struct labels discovered; /* the labels before relabeling (Prometheus' discoveredLabels) */
    scrape_relabel *metric_relabel; /* NULL: none */
    const struct scrape_client *client; /* NULL: all defaults */
    const char *forced_error; /* non-NULL: every scrape fails with it, nothing is fetched
                               * (target_limit exceeded) */
};

/* Turns one discovered target into a spec as Prometheus' PopulateLabels does: job, __scheme__,
 * __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_<name> defaults from the
 * job, then relabel_configs, then checks (an __address__ ember can dial, given the scheme's port
 * when it has none; durations), the URL from __scheme__, __address__, __metrics_path__ and
 * __param_*, instance defaulting to __address__, and every "__" label removed. A scheme other
 * than http and https gives a spec whose forced_error fails every scrape, as in Prometheus. Returns 1 with *ret filled (strings in a, or
 * borrowed from job and discovered), 0 when relabeling dropped the target (ret->discovered is
 * still set), ERR_PARSE when the target is invalid (e says why), ERR_LIMIT/-ENOMEM. */
int scrape_target_build(struct arena *a, const struct scrape_job *job,
                        const struct labels *discovered, struct scrape_target_spec *ret,
                        struct err *e);
/* Why s[0..n) is not an address ember can scrape (host, host:port or [v6]:port; no scheme or
 * path), or NULL when it is fine. The config loader checks static targets with it too. */
const char *scrape_target_address_problem(const char *s, size_t n);

enum scrape_health { SCRAPE_HEALTH_UNKNOWN, SCRAPE_HEALTH_UP, SCRAPE_HEALTH_DOWN };

/* One metric family's metadata from a target's HELP, TYPE and UNIT lines, as of its last
 * successful scrape (Prometheus' target metadata; a family with no TYPE line is "unknown"). */
struct scrape_metadata {
    const char *metric; /* the family name as the HELP/TYPE/UNIT line wrote it */
    const char *type;   /* "counter", "gauge", "histogram", "summary", ..., "unknown" */
    const char *help;   /* unescaped; "" when none */
    const char *unit;   /* "" when none */
};
/* The entry for metric in v[0..n) (sorted by metric), or NULL. */
const struct scrape_metadata *scrape_metadata_find(const struct scrape_metadata *v, uint32_t n,
                                                   const char *metric);

/* A target's state for the API, copied out (strings valid until the next manager call). */
struct scrape_target_status {
    const struct scrape_target_spec *spec;
    enum scrape_health health;
    const char *last_error;       /* "" when the last scrape succeeded */
    int64_t last_scrape_ms;       /* wall clock of the last scrape start, 0 if none */
    double last_duration_seconds;
    uint64_t last_samples;
    uint64_t skipped_ticks; /* ticks skipped because the previous scrape was still running */
    const struct scrape_metadata *metadata; /* sorted by metric; valid like the strings above */
    uint32_t n_metadata;
};

typedef struct scrape_manager scrape_manager;
int scrape_manager_new(uv_loop_t *loop, tsdb *db, scrape_manager **ret, struct err *e);
/* Builds every job's targets (scrape_target_build) and makes the running targets equal to them:
 * unchanged targets keep running (no gap), removed ones stop (their series get staleness
 * markers), new ones start. Targets dropped by relabeling are kept for
 * scrape_manager_each_dropped(); invalid ones are logged, counted and skipped, as Prometheus
 * does ("Creating target failed"). Fails only on resources; nothing changes then. */
int scrape_manager_apply(scrape_manager *m, const struct scrape_job *jobs, size_t n,
                         struct err *e);
size_t scrape_manager_count(const scrape_manager *m);
/* Calls fn for each target, in job then address order. */
void scrape_manager_each(const scrape_manager *m,
                         void (*fn)(void *ctx, const struct scrape_target_status *st), void *ctx);
/* Targets the last apply's relabel_configs dropped (Prometheus' droppedTargets), in job then
 * discovery order: the job name and the labels before relabeling, both valid until the next
 * scrape_manager_apply() or scrape_manager_close(). */
size_t scrape_manager_dropped_count(const scrape_manager *m);
void scrape_manager_each_dropped(const scrape_manager *m,
                                 void (*fn)(void *ctx, const char *job,
                                            const struct labels *discovered),
                                 void *ctx);
/* Targets the last apply refused as invalid (no __address__, an address ember cannot dial, bad
 * __scrape_interval__, ...). */
size_t scrape_manager_invalid_count(const scrape_manager *m);
/* Prometheus' summary prometheus_target_interval_length_seconds: the measured time between two
 * consecutive scrape starts of a target, by configured interval (label interval="15s"). */
#define SCRAPE_INTERVAL_QUANTILES 5
extern const double scrape_interval_quantiles[SCRAPE_INTERVAL_QUANTILES]; /* .01 .05 .5 .9 .99 */
struct scrape_interval_summary {
    int64_t interval_ms; /* the configured scrape_interval */
    double quantile[SCRAPE_INTERVAL_QUANTILES]; /* seconds over the last 10 minutes; NaN: none */
    double sum_seconds;  /* since start, like count */
    uint64_t count;
};
/* Calls fn for each interval any target has been scraped at (observations outlive reloads). */
void scrape_manager_each_interval(const scrape_manager *m,
                                  void (*fn)(void *ctx, const struct scrape_interval_summary *s),
                                  void *ctx);
/* Stops every target; done(arg) runs on the loop once all handles and jobs have finished. */
void scrape_manager_close(scrape_manager *m, void (*done)(void *arg), void *arg);

#endif
