/* rules/internal.h — what the rules/ files share (module-internal): one rule's evaluation state
 * and the alerting state machine of alert.c used by group.c. */
#ifndef EMBER_RULES_INTERNAL_H
#define EMBER_RULES_INTERNAL_H

#include <yaml.h>

#include "rules/rules.h"

/* Prometheus keeps a resolved alert this long so Alertmanager keeps hearing it is resolved
 * (rules/alerting.go resolvedRetention). */
#define RULES_RESOLVED_RETENTION_MS (15 * 60 * 1000)

/* One active alert of a rule. Its strings live in its own arena. */
struct rules_alert {
    struct arena *arena;
    struct labels labels, annotations;
    uint64_t hash; /* of labels */
    enum rules_alert_state state;
    double value;
    int64_t active_at_ms, fired_at_ms, resolved_at_ms, last_sent_at_ms, valid_until_ms;
    int64_t keep_firing_since_ms;
};

/* A labelled value a rule produced (the evaluation's arena). */
struct rules_sample {
    struct labels labels;
    double v;
};

struct rules_rule_state {
    const struct rules_rule *def;
    const struct rules_group *group;
    /* alerting rules: active alerts (pending, firing, resolved and retained) */
    struct rules_alert **alerts;
    size_t n_alerts, cap_alerts;
    int restored; /* the for-state restore ran (after the second evaluation since start), or
                   * was not wanted (a reload, a rule unit test) */
    int unrestored_evals; /* evaluations before it */
    /* series written by the last successful evaluation: stale markers for those that vanish */
    struct arena *prev_arena;
    struct labels *prev;
    size_t n_prev;
    /* health */
    int evaluated, failed;
    char last_error[256];
    int64_t last_eval_ms;
    double eval_seconds;
};

/* Context of one evaluation of one rule. */
struct rules_eval {
    const struct rules_eval_env *env;
    struct arena *a;   /* the group evaluation's arena */
    int64_t t_ms;      /* evaluation time: schedule time - query_offset */
};

/* Runs an instant query at t; scalar results become one sample without labels. ERR_EXEC for a
 * string or range-vector result. Samples live in x->a. (group.c) */
int rules_query(const struct rules_eval *x, const struct promql_expr *ast, int64_t t_ms,
                struct rules_sample **ret, size_t *ret_n, struct err *e);

/* The alerting rule's step: query result → alert state; fills the ALERTS and ALERTS_FOR_STATE
 * samples to write (x->a) and sends due notifications. Caller holds the state lock. (alert.c) */
int rules_alert_eval(struct rules_rule_state *rs, const struct rules_eval *x,
                     const struct rules_sample *in, size_t n_in, struct rules_sample **ret,
                     size_t *ret_n, struct err *e);
void rules_alert_free(struct rules_alert *al); /* NULL is fine */

/* labels (sorted) with name=value set (value "" removes it); result in a. */
int rules_labels_set(struct arena *a, const struct labels *ls, const char *name,
                     const char *value, struct labels *ret);

/* ---- YAML reading shared by rule files (loader.c) and rule test files (unittest.c) ---- */

/* Reader state for one file; messages name the group and rule being read. */
struct rl {
    const char *name;
    yaml_document_t *doc;
    struct arena *a;
    struct err *e;
    uint64_t visits;
    const char *group; /* for messages: the group and rule being read, or NULL */
    const char *rule;
    uint32_t rule_no;
};
/* "NAME:LINE:COL: [group "g", rule N ("r"): ]message" into l->e; returns code. */
int rules_yaml_fail(struct rl *l, const yaml_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rules_yaml_oom(struct rl *l);
const yaml_node_t *rules_yaml_node(struct rl *l, int idx);
int rules_yaml_visit(struct rl *l, const yaml_node_t *n); /* counts against RULES_MAX_NODES */
const char *rules_yaml_kind_name(const yaml_node_t *n);
int rules_yaml_is_null(const yaml_node_t *n);
/* Values, copied into l->a: any scalar as a string; durations; non-negative integers. */
int rules_yaml_get_str(struct rl *l, const char *key, const yaml_node_t *v, const char **ret);
int rules_yaml_get_duration(struct rl *l, const char *key, const yaml_node_t *v, int64_t *ret);
int rules_yaml_get_uint(struct rl *l, const char *key, const yaml_node_t *v, uint32_t *ret);
/* A mapping read against keys[]: val[i] is keys[i]'s value node or NULL; unknown and repeated
 * keys are errors. Null is an empty mapping. */
int rules_yaml_mapping(struct rl *l, const yaml_node_t *m, const char *what,
                       const char *const *keys, size_t nk, const yaml_node_t **val);
/* name → value map, sorted, names checked as label names. */
int rules_yaml_get_labels(struct rl *l, const char *key, const yaml_node_t *m, struct labels *ret);
/* Reads a whole file (at most RULES_MAX_FILE_BYTES) into b. Blocks. */
int rules_read_file(const char *path, struct buf *b, struct err *e);
/* Loads text as one YAML document into doc (the caller deletes it). */
int rules_yaml_load(const char *name, const char *text, size_t len, yaml_document_t *doc,
                    struct err *e);

#endif
