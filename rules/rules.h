/* rules/rules.h — recording and alerting rules: rule files loaded and validated as Prometheus
 * (and promtool) do, groups evaluated on their own schedule on libuv workers, alert state with
 * for / keep_firing_for restored after a restart, and the Alertmanager notifier.
 *
 * Threads: rules_parse/rules_load and rules_check_* are plain functions (file I/O blocks: call at
 * start-up, from a worker or a CLI). The manager and the notifier belong to the loop thread; they
 * evaluate on workers and never block the loop. */
#ifndef EMBER_RULES_H
#define EMBER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "promql/promql.h"
#include "scrape/scrape.h"
#include "tsdb/tsdb.h"

#define RULES_MAX_FILE_BYTES (16u << 20) /* a bigger rule file is a mistake */
#define RULES_MAX_NODES 1000000          /* YAML node visits, counting alias expansion */

/* ---- rule files ---- */

enum rules_kind { RULES_RECORD, RULES_ALERT };

struct tmpl;
struct rules_rule {
    enum rules_kind kind;
    const char *name;             /* record: metric name; alert: alertname */
    const char *expr;             /* as written */
    struct promql_expr *ast;      /* parsed; shared read-only by the evaluating workers */
    int64_t for_ms, keep_firing_for_ms;
    struct labels labels;         /* sorted; alert label values are templates */
    struct labels annotations;    /* sorted; values are templates */
    struct tmpl **label_tmpls;    /* parsed label / annotation templates, index-aligned; NULL */
    struct tmpl **annotation_tmpls; /* until the template engine is built in */
    uint32_t line;                /* where the rule starts in its file (1-based) */
};

struct rules_group {
    const char *file;            /* as found by the glob */
    const char *name;
    int64_t interval_ms;         /* 0: the global evaluation_interval */
    int64_t query_offset_ms;     /* evaluation time = schedule time - query_offset */
    bool has_query_offset;       /* written: else the global rule_query_offset applies */
    uint32_t limit;              /* 0: no limit on series / alerts per rule */
    struct labels labels;        /* group labels (Prometheus 3), added to every rule's */
    const struct rules_rule *rules;
    uint32_t n_rules;
    uint32_t line;
};

/* A loaded set of rule files; immutable, one arena. */
struct rules_set {
    const struct rules_group *groups; /* in file order, files in glob order */
    uint32_t n_groups;
    const char *const *files; /* every file the globs matched */
    uint32_t n_files;
    struct arena *arena;      /* private */
};

/* Parses one rule file's text into groups allocated in a. Errors: ERR_PARSE with
 * "NAME:LINE:COL: group \"g\", rule N (\"name\"): reason" (group and rule when known): malformed
 * YAML, unknown key, wrong type, bad duration, bad expression, bad template, invalid label or
 * metric name, record/alert both or neither, a key that does not apply to the rule kind, a group
 * name repeated in the file. ERR_LIMIT past RULES_MAX_FILE_BYTES / RULES_MAX_NODES or when a is
 * full. An empty file (or `groups:` alone) has no groups. */
int rules_parse(struct arena *a, const char *name, const char *text, size_t len,
                struct rules_group **ret, uint32_t *ret_n, struct err *e);

/* Expands the globs (in order; a glob matching nothing is fine, as in Prometheus), reads and
 * parses every file. Blocks on file I/O. *ret is taken (rules_set_free). */
int rules_load(const char *const *globs, uint32_t n_globs, struct rules_set **ret,
               struct err *e);
/* One file, for `ember check rules`. */
int rules_load_file(const char *path, struct rules_set **ret, struct err *e);
void rules_set_free(struct rules_set *s); /* NULL is fine */

/* promtool's duplicate-rule lint: rules of one set with the same name and labels. Calls fn once
 * per repeated (name, labels); returns how many there were. */
uint32_t rules_check_duplicates(const struct rules_set *s,
                                void (*fn)(void *arg, const struct rules_rule *r), void *arg);

/* ---- series notation (promtool input_series, PromQL test `load`; series.c) ---- */

#define RULES_SERIES_MAX_POINTS 1000000u /* per series: a typo like 1x1e9 is refused */
/* A descriptor `name{a="b"}` (equality matchers only; empty values dropped) into sorted labels
 * in a. ERR_PARSE with the reason. */
int rules_series_labels(struct arena *a, const char *s, struct labels *ret, struct err *e);
/* Values `1 2+3x4 _ _x2 stale -1-1x3`: fn(arg, slot, value) for each sample, slot counting from
 * 0 (_ and _xN advance it without a sample); fn's negative return stops and is returned. */
int rules_series_values(const char *s, int (*fn)(void *arg, uint64_t slot, double v), void *arg,
                        struct err *e);

/* ---- rule unit tests (promtool test rules; unittest.c) ---- */

/* Runs the tests of one promtool test file, appending promtool's report to out. Returns 0 when
 * all passed, 1 when a test failed, < 0 when the file or its rule files cannot be used (e says
 * why). Blocks (file I/O, evaluation): a CLI's job. */
int rules_unittest_file(const char *path, struct buf *out, struct err *e);
/* The same for a file's text (name for messages; relative rule_files resolve against its
 * directory). */
int rules_unittest_text(const char *name, const char *text, size_t len, struct buf *out,
                        struct err *e);
/* Evaluation steps of one test (last eval_time / evaluation_interval): 1m steps for ~2 years. */
#define RULES_TEST_MAX_STEPS 1000000u

/* ---- the notifier (Alertmanager) ---- */

struct rules_am_target {
    const char *address;       /* host:port, [v6]:port */
    const char *path_prefix;   /* "" or "/prefix" */
    int64_t timeout_ms;        /* 0: 10s */
    const char *authorization; /* Authorization header value; NULL: none */
    scrape_tls *tls;           /* referenced; non-NULL: https (the handshake runs on the loop
                                * through memory BIOs, like a scrape's) */
};

struct rules_notifier_opts {
    const struct rules_am_target *targets;   /* copied */
    uint32_t n_targets;
    struct labels external_labels;           /* copied; added to alerts lacking them */
    scrape_relabel *alert_relabel;           /* referenced; NULL: none */
    uint32_t queue_capacity;                 /* 0: 10000 */
    uint32_t max_batch;                      /* 0: 256 */
};

typedef struct rules_notifier rules_notifier;
int rules_notifier_new(uv_loop_t *loop, const struct rules_notifier_opts *o,
                       rules_notifier **ret, struct err *e);
/* Reload: o's Alertmanagers (counters kept per URL), external labels and alert relabeling
 * replace the current ones; alerts queued stay queued, a batch in flight finishes. Loop thread.
 * Fails only for memory or a bad address; then nothing changes. */
int rules_notifier_configure(rules_notifier *n, const struct rules_notifier_opts *o,
                             struct err *e);
/* One alert ready to send, as Alertmanager's API v2 takes it. Strings and labels are borrowed
 * for the call. Any thread; never blocks beyond a short lock. A full queue drops the oldest. */
struct rules_notification {
    const struct labels *labels, *annotations;
    int64_t starts_at_ms, ends_at_ms; /* ends_at 0: none */
    const char *generator_url;
};
void rules_notifier_send(rules_notifier *n, const struct rules_notification *alerts, size_t count);
struct rules_notifier_stats {
    uint64_t dropped; /* alerts no Alertmanager took, or pushed out of a full queue */
    uint32_t queue_length, queue_capacity, alertmanagers;
};
void rules_notifier_stats(rules_notifier *n, struct rules_notifier_stats *ret);
/* Per Alertmanager, as Prometheus 2.42 counts them: sent = alerts in every POST tried (answered
 * or not), errors = failed POSTs, latency of every POST. */
struct rules_notifier_am_stats {
    uint64_t sent, errors, latency_count;
    double latency_sum_seconds;
};
/* Alertmanager i's counters; -1 past the end. Any thread. */
int rules_notifier_am_stats(rules_notifier *n, uint32_t i, struct rules_notifier_am_stats *ret);
/* URL of Alertmanager i ("http://host:port/prefix/api/v2/alerts"); NULL past the end. */
const char *rules_notifier_url(const rules_notifier *n, uint32_t i);
/* Stops sending (in-flight requests are canceled); done(arg) runs when all handles closed. */
void rules_notifier_close(rules_notifier *n, void (*done)(void *arg), void *arg);

/* ---- the manager ---- */

struct rules_manager_opts {
    tsdb *db;
    promql_engine *engine;
    rules_notifier *notifier;         /* borrowed; NULL: alerts are not sent */
    int64_t default_interval_ms;      /* global evaluation_interval */
    int64_t default_query_offset_ms;  /* global rule_query_offset */
    struct labels external_labels;    /* copied: $externalLabels in templates */
    const char *external_url;         /* copied: generatorURL base, $externalURL */
    int64_t outage_tolerance_ms;      /* --rules.alert.for-outage-tolerance, 1h */
    int64_t grace_period_ms;          /* --rules.alert.for-grace-period, 10m */
    int64_t resend_delay_ms;          /* --rules.alert.resend-delay, 1m */
};

typedef struct rules_manager rules_manager;
int rules_manager_new(uv_loop_t *loop, const struct rules_manager_opts *o, rules_manager **ret,
                      struct err *e);
/* Starts evaluating set (taken, also on failure). Loop thread; called once, at start-up. */
int rules_manager_apply(rules_manager *m, struct rules_set *set, struct err *e);
/* Reload: set (taken, also on failure) and o (copied; db and engine must not change) replace the
 * current ones as soon as no evaluation runs, which may be before this returns. Groups keep
 * their alert state by file and name, rules by kind, name and labels (Prometheus' CopyState);
 * series of groups and rules that are gone get stale markers. Loop thread. Fails only for
 * memory; then nothing changes. */
int rules_manager_update(rules_manager *m, struct rules_set *set,
                         const struct rules_manager_opts *o, struct err *e);
/* Stops the timers, waits for running evaluations, closes handles; then done(arg). */
void rules_manager_close(rules_manager *m, void (*done)(void *arg), void *arg);

/* Status for the API, copied into a under each group's lock (loop thread). Pointers to rule
 * definitions stay valid while the manager runs. */
enum rules_alert_state { RULES_INACTIVE, RULES_PENDING, RULES_FIRING };
const char *rules_alert_state_name(enum rules_alert_state s); /* "inactive", ... */
struct rules_alert_status {
    struct labels labels, annotations;
    enum rules_alert_state state;
    int64_t active_at_ms, keep_firing_since_ms; /* 0: not keeping firing */
    double value;
};
struct rules_rule_status {
    const struct rules_rule *def;
    const char *health;       /* "ok", "err", "unknown" */
    const char *last_error;   /* "" when none */
    int64_t last_eval_ms;     /* 0: never */
    double eval_seconds;
    enum rules_alert_state state; /* alerting rules: the highest state of its alerts */
    struct rules_alert_status *alerts;
    size_t n_alerts;
};
struct rules_group_status {
    const struct rules_group *def;
    int64_t interval_ms;
    int64_t last_eval_ms;
    double eval_seconds;
    struct rules_rule_status *rules;
    size_t n_rules;
};
int rules_manager_status(rules_manager *m, struct arena *a, struct rules_group_status **ret,
                         size_t *ret_n, struct err *e);
struct rules_manager_stats {
    uint64_t evaluations, failures, missed;
};
void rules_manager_stats(rules_manager *m, struct rules_manager_stats *ret);

/* ---- evaluation (group.c), shared by the manager and `ember test rules` ---- */

/* Per-rule evaluation state of one group (alerts, series written by the last evaluation). */
typedef struct rules_group_state rules_group_state;
struct rules_eval_env {
    tsdb *db;
    promql_engine *engine;
    const struct labels *external_labels;
    const char *external_url;
    int64_t outage_tolerance_ms, grace_period_ms, resend_delay_ms;
    int64_t interval_ms;
    int64_t query_offset_ms;  /* the group's, or the global default */
    rules_notifier *notifier; /* NULL: nothing sent */
};
int rules_group_state_new(const struct rules_group *g, rules_group_state **ret, struct err *e);
void rules_group_state_free(rules_group_state *s); /* NULL is fine */
/* Evaluates every rule of the group at ts_ms (schedule time; env->query_offset_ms applies),
 * appends results, ALERTS and ALERTS_FOR_STATE and stale markers, updates alert state, hands
 * alerts due to the notifier. A failing rule marks that rule, not the group. Worker thread; the
 * state's own lock guards what rules_group_state_status reads. Returns the rules that failed. */
int rules_group_eval(rules_group_state *s, const struct rules_eval_env *env, int64_t ts_ms);
/* Reload: to (a new group's fresh state) takes from's alert state and last series of each rule
 * with the same kind, name and labels (and its start-up restore progress), and the group's last
 * evaluation; to's other rules do not restore `for` state (start-up only, as Prometheus), nor
 * do any when from is NULL. from may be NULL
 * (a group new in the reload); what from keeps was not matched (rules_group_state_mark_stale,
 * then free it). Nothing may evaluate either state meanwhile. */
void rules_group_state_carry(rules_group_state *to, rules_group_state *from);
/* Stale markers at t_ms for every series the state's rules wrote last (a group or rule gone in
 * a reload). Worker thread (appends). */
int rules_group_state_mark_stale(rules_group_state *s, tsdb *db, int64_t t_ms, struct err *e);
/* Copies the state into a (any thread). */
int rules_group_state_status(rules_group_state *s, struct arena *a,
                             struct rules_group_status *ret, struct err *e);

#endif
