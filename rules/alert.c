/* rules/alert.c — an alerting rule's state machine, as Prometheus' rules/alerting.go:
 *
 *   (no alert) --result--> PENDING --active for `for`--> FIRING
 *   PENDING --no result--> removed          FIRING --no result--> INACTIVE (resolved)
 *   FIRING --no result, keep_firing_for not over--> FIRING (keep_firing_since set)
 *   INACTIVE is kept 15 minutes so Alertmanager keeps hearing the resolution, then removed;
 *   a new result for the same labels starts a new PENDING alert.
 *
 * After start, as Prometheus' Group.run: the first two evaluations compute state but write no
 * ALERTS (recording rules get a chance to catch up); at the end of the second, `for` state is
 * restored from ALERTS_FOR_STATE (its value is the alert's activeAt in Unix seconds) within
 * --rules.alert.for-outage-tolerance, with --rules.alert.for-grace-period, as RestoreForState;
 * from the third on, an alert that had fired before the restart fires again with its old
 * activeAt. Groups a reload brings or keeps do not restore. Every evaluation after that writes
 * ALERTS (1, with alertstate) and ALERTS_FOR_STATE for pending and firing alerts.
 *
 * Sending (Prometheus' needsSending): firing and resolved alerts, when never sent, when resolved
 * since the last send, or when the last send is more than --rules.alert.resend-delay old; a
 * resolved alert is kept, and resent, for 15 minutes. startsAt is when the alert fired, endsAt
 * the resolution time or four resend periods ahead. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"
#include "rules/template.h"

const char *rules_alert_state_name(enum rules_alert_state s)
{
    return s == RULES_FIRING ? "firing" : s == RULES_PENDING ? "pending" : "inactive";
}

void rules_alert_free(struct rules_alert *al)
{
    if (al) {
        arena_free(al->arena);
        free(al);
    }
}

struct query_ctx {
    const struct rules_eval *x;
};

/* {{ query "..." }}: an instant query at the evaluation time. */
static int tmpl_query(void *ctx, struct arena *a, const char *q, size_t q_len,
                      struct tmpl_sample **ret, size_t *ret_n, struct err *e)
{
    const struct rules_eval *x = ((struct query_ctx *) ctx)->x;
    struct promql_expr *ast;
    struct promql_result res;
    int r = promql_parse(a, q, q_len, &ast, e);
    if (r == 0)
        r = promql_eval_instant(x->env->engine, a, ast, x->t_ms, &res, e);
    if (r < 0)
        return r;
    if (res.type == PROMQL_SCALAR) {
        struct tmpl_sample *s = arena_calloc(a, 1, sizeof *s);
        if (!s)
            return err_set(e, ERR_LIMIT, "out of memory");
        s->value = res.u.scalar.v;
        *ret = s;
        *ret_n = 1;
        return 0;
    }
    if (res.type != PROMQL_VECTOR)
        return err_set(e, ERR_EXEC, "query result is not a vector or scalar");
    struct tmpl_sample *s = arena_calloc(a, res.u.vector.n + 1, sizeof *s);
    if (!s)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (size_t i = 0; i < res.u.vector.n; i++)
        s[i] = (struct tmpl_sample){res.u.vector.v[i].metric, res.u.vector.v[i].v};
    *ret = s;
    *ret_n = res.u.vector.n;
    return 0;
}

/* Template values of ls expanded against the alert's labels and value. A template that fails
 * expands to its error text, as Prometheus does ("<error expanding template: ...>"), so one bad
 * annotation never stops the alert. */
static int expand(const struct rules_eval *x, struct tmpl *const *ts, const struct labels *ls,
                  const struct labels *alert_labels, double value, struct labels *ret)
{
    struct label *v = arena_alloc(x->a, (ls->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (uint32_t i = 0; i < ls->n; i++) {
        v[i] = ls->v[i];
        if (!ts)
            continue;
        struct query_ctx qc = {x};
        struct tmpl_data d = {alert_labels, value, x->env->external_labels, x->env->external_url,
                              tmpl_query, &qc};
        struct err e = {0};
        char *out;
        size_t out_len;
        if (tmpl_exec(ts[i], x->a, &d, &out, &out_len, &e) < 0)
            out = arena_printf(x->a, "<error expanding template: %s>", e.msg);
        if (!out)
            return -ENOMEM;
        v[i].value = out;
    }
    *ret = (struct labels){v, ls->n};
    return 0;
}

/* The alert's labels: the sample's without __name__, group and rule labels (expanded), then
 * alertname. */
static int alert_labels(struct rules_rule_state *rs, const struct rules_eval *x,
                        const struct rules_sample *s, struct labels *ret)
{
    const struct rules_rule *rl = rs->def;
    struct labels ls, ruled;
    if (rules_labels_set(x->a, &s->labels, LABEL_METRIC_NAME, "", &ls) < 0 ||
        expand(x, rl->label_tmpls, &rl->labels, &ls, s->v, &ruled) < 0)
        return -ENOMEM;
    struct labels out = ls;
    for (uint32_t i = 0; i < rs->group->labels.n; i++)
        if (!labels_get(&rl->labels, rs->group->labels.v[i].name) &&
            rules_labels_set(x->a, &out, rs->group->labels.v[i].name,
                             rs->group->labels.v[i].value, &out) < 0)
            return -ENOMEM;
    for (uint32_t i = 0; i < ruled.n; i++)
        if (rules_labels_set(x->a, &out, ruled.v[i].name, ruled.v[i].value, &out) < 0)
            return -ENOMEM;
    if (rules_labels_set(x->a, &out, "alertname", rl->name, &out) < 0)
        return -ENOMEM;
    *ret = out;
    return 0;
}

static struct rules_alert *find(struct rules_rule_state *rs, uint64_t h, const struct labels *ls)
{
    for (size_t i = 0; i < rs->n_alerts; i++)
        if (rs->alerts[i]->hash == h && labels_equal(&rs->alerts[i]->labels, ls))
            return rs->alerts[i];
    return NULL;
}

/* Sets the alert's labels and annotations (copied into its own arena). */
static int alert_set(struct rules_alert *al, const struct labels *ls, const struct labels *ann)
{
    struct arena *a = arena_new(0);
    if (!a || labels_copy(a, ls, &al->labels) < 0 || labels_copy(a, ann, &al->annotations) < 0) {
        arena_free(a);
        return -ENOMEM;
    }
    arena_free(al->arena);
    al->arena = a;
    return 0;
}

static int alert_add(struct rules_rule_state *rs, struct rules_alert *al)
{
    if (rs->n_alerts == rs->cap_alerts) {
        size_t cap = rs->cap_alerts ? rs->cap_alerts * 2 : 8;
        struct rules_alert **v = realloc(rs->alerts, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        rs->alerts = v;
        rs->cap_alerts = cap;
    }
    rs->alerts[rs->n_alerts++] = al;
    return 0;
}

/* Prometheus' RestoreForState for one alert: the last ALERTS_FOR_STATE sample of its series in
 * [t - outage tolerance, t) gives the old activeAt and when the server went down. */
static void restore_one(struct rules_rule_state *rs, const struct rules_eval *x,
                        struct rules_alert *al)
{
    const struct rules_eval_env *env = x->env;
    struct labels want;
    if (rules_labels_set(x->a, &al->labels, LABEL_METRIC_NAME, "ALERTS_FOR_STATE", &want) < 0)
        return;
    struct matcher *ms = arena_calloc(x->a, want.n + 1, sizeof *ms);
    if (!ms)
        return;
    for (uint32_t i = 0; i < want.n; i++)
        if (matcher_init(x->a, &ms[i], MATCH_EQ, want.v[i].name, want.v[i].value, NULL) < 0)
            return;
    tsdb_querier *q;
    if (tsdb_querier_open(env->db, x->t_ms - env->outage_tolerance_ms, x->t_ms - 1, &q, NULL) < 0)
        return;
    struct tsdb_series *ss;
    size_t n = 0;
    int64_t t = 0;
    double v = 0;
    int found = 0;
    if (tsdb_querier_select(q, x->a, ms, want.n, &ss, &n, NULL) == 0)
        for (size_t i = 0; i < n; i++) {
            if (!labels_equal(&ss[i].labels, &want))
                continue;
            struct tsdb_iter it;
            tsdb_iter_init(&it, &ss[i]);
            while (tsdb_iter_next(&it) == 1) {
                t = it.t;
                v = it.v;
                found = 1;
            }
            tsdb_iter_close(&it);
        }
    tsdb_querier_close(q);
    if (!found || num_is_stale(v) || !isfinite(v))
        return;
    /* Whole seconds, as Prometheus stores and reads them. */
    int64_t down_at = t / 1000 * 1000, restored = (int64_t) v * 1000;
    int64_t spent = down_at - restored, remaining = rs->def->for_ms - spent;
    if (remaining <= 0) {
        /* already fired before the outage: keep the old activeAt */
    } else if (remaining < env->grace_period_ms) {
        restored = x->t_ms + env->grace_period_ms - rs->def->for_ms;
    } else {
        restored += x->t_ms - down_at; /* the outage does not count as pending time */
    }
    al->active_at_ms = restored;
}

static int out_sample(struct arena *a, const struct rules_alert *al, const char *name,
                      const char *state, double v, struct rules_sample *ret)
{
    struct labels ls;
    if (rules_labels_set(a, &al->labels, LABEL_METRIC_NAME, name, &ls) < 0 ||
        (state && rules_labels_set(a, &ls, "alertstate", state, &ls) < 0))
        return -ENOMEM;
    *ret = (struct rules_sample){ls, v};
    return 0;
}

/* Percent-encoding for the generatorURL query (Go's url.QueryEscape). */
static char *query_escape(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    char *o = arena_alloc(a, n * 3 + 1), *p = o;
    if (!o)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            *p++ = (char) c;
        else if (c == ' ')
            *p++ = '+';
        else
            p += sprintf(p, "%%%02X", c);
    }
    *p = 0;
    return o;
}

/* Alerts due to Alertmanager (Prometheus' needsSending and sendAlerts). */
static void notify(struct rules_rule_state *rs, const struct rules_eval *x)
{
    const struct rules_eval_env *env = x->env;
    if (!env->notifier || !rs->n_alerts)
        return;
    struct rules_notification *ns = arena_calloc(x->a, rs->n_alerts, sizeof *ns);
    const char *expr = query_escape(x->a, rs->def->expr);
    const char *url = expr ? arena_printf(x->a, "%s/graph?g0.expr=%s&g0.tab=1",
                                          env->external_url ? env->external_url : "", expr)
                           : NULL;
    if (!ns || !url)
        return;
    int64_t delta = env->resend_delay_ms > env->interval_ms ? env->resend_delay_ms
                                                           : env->interval_ms;
    size_t n = 0;
    for (size_t i = 0; i < rs->n_alerts; i++) {
        struct rules_alert *al = rs->alerts[i];
        if (al->state == RULES_PENDING)
            continue;
        int resolved_unsent = al->resolved_at_ms > al->last_sent_at_ms;
        /* Strictly older than the delay, as Go's LastSentAt.Add(delay).Before(ts): with the
         * defaults (1m delay, 1m interval) a firing alert goes out every other evaluation. */
        if (!resolved_unsent && al->last_sent_at_ms &&
            !(al->last_sent_at_ms + env->resend_delay_ms < x->t_ms))
            continue;
        al->last_sent_at_ms = x->t_ms;
        al->valid_until_ms = x->t_ms + 4 * delta;
        ns[n++] = (struct rules_notification){
            &al->labels, &al->annotations, al->fired_at_ms,
            al->resolved_at_ms ? al->resolved_at_ms : al->valid_until_ms, url};
    }
    if (n)
        rules_notifier_send(env->notifier, ns, n);
}

int rules_alert_eval(struct rules_rule_state *rs, const struct rules_eval *x,
                     const struct rules_sample *in, size_t n_in, struct rules_sample **ret,
                     size_t *ret_n, struct err *e)
{
    const struct rules_rule *rl = rs->def;
    uint64_t *seen = arena_calloc(x->a, n_in + 1, sizeof *seen);
    if (!seen)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (size_t i = 0; i < n_in; i++) {
        struct labels ls, ann;
        if (alert_labels(rs, x, &in[i], &ls) < 0)
            return err_set(e, ERR_LIMIT, "out of memory");
        struct labels tl;
        if (rules_labels_set(x->a, &in[i].labels, LABEL_METRIC_NAME, "", &tl) < 0 ||
            expand(x, rl->annotation_tmpls, &rl->annotations, &tl, in[i].v, &ann) < 0)
            return err_set(e, ERR_LIMIT, "out of memory");
        uint64_t h = labels_hash(&ls);
        for (size_t j = 0; j < i; j++)
            if (seen[j] == h)
                return err_set(e, ERR_EXEC, "vector contains metrics with the same labelset "
                                            "after applying alert labels");
        seen[i] = h;
        struct rules_alert *al = find(rs, h, &ls);
        if (al && al->state != RULES_INACTIVE) {
            al->value = in[i].v;
            /* Labels are equal (that is how it was found): copy only changed annotations. */
            if (!labels_equal(&al->annotations, &ann) && alert_set(al, &ls, &ann) < 0)
                return err_set(e, -ENOMEM, "out of memory");
            continue;
        }
        if (!al) {
            if (!(al = calloc(1, sizeof *al)) || alert_add(rs, al) < 0) {
                free(al);
                return err_set(e, -ENOMEM, "out of memory");
            }
        }
        struct arena *old = al->arena;
        *al = (struct rules_alert){.arena = old, .hash = h, .state = RULES_PENDING,
                                   .value = in[i].v, .active_at_ms = x->t_ms};
        if (alert_set(al, &ls, &ann) < 0)
            return err_set(e, -ENOMEM, "out of memory");
    }
    int restored = rs->restored; /* before this evaluation: it writes ALERTS */
    size_t active = 0, keep = 0;
    for (size_t i = 0; i < rs->n_alerts; i++) {
        struct rules_alert *al = rs->alerts[i];
        int in_result = 0;
        for (size_t j = 0; j < n_in && !in_result; j++)
            in_result = seen[j] == al->hash && al->state != RULES_INACTIVE;
        if (!in_result) {
            int keep_firing = 0;
            if (al->state == RULES_FIRING && rl->keep_firing_for_ms > 0) {
                if (!al->keep_firing_since_ms)
                    al->keep_firing_since_ms = x->t_ms;
                keep_firing = x->t_ms - al->keep_firing_since_ms < rl->keep_firing_for_ms;
            }
            if (!keep_firing) {
                if (al->state == RULES_PENDING ||
                    (al->resolved_at_ms &&
                     x->t_ms - al->resolved_at_ms > RULES_RESOLVED_RETENTION_MS)) {
                    rules_alert_free(al);
                    continue;
                }
                if (al->state != RULES_INACTIVE) {
                    al->state = RULES_INACTIVE;
                    al->resolved_at_ms = x->t_ms;
                }
                rs->alerts[keep++] = al;
                continue;
            }
        } else if (al->state == RULES_FIRING)
            al->keep_firing_since_ms = 0;
        active++;
        if (al->state == RULES_PENDING && x->t_ms - al->active_at_ms >= rl->for_ms) {
            al->state = RULES_FIRING;
            al->fired_at_ms = x->t_ms;
        }
        rs->alerts[keep++] = al;
    }
    rs->n_alerts = keep;
    if (!restored && ++rs->unrestored_evals >= 2) {
        rs->restored = 1; /* Prometheus restores after the second evaluation */
        if (rl->for_ms > 0 && rl->for_ms >= x->env->grace_period_ms)
            for (size_t i = 0; i < rs->n_alerts; i++)
                if (rs->alerts[i]->state != RULES_INACTIVE)
                    restore_one(rs, x, rs->alerts[i]);
    }
    if (rs->group->limit && active > rs->group->limit) {
        for (size_t i = 0; i < rs->n_alerts; i++)
            rules_alert_free(rs->alerts[i]);
        rs->n_alerts = 0;
        return err_set(e, ERR_EXEC, "exceeded limit of %u with %zu alerts", rs->group->limit,
                       active);
    }
    struct rules_sample *out = arena_calloc(x->a, 2 * active + 1, sizeof *out);
    size_t n = 0;
    if (!out)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (size_t i = 0; i < rs->n_alerts && restored; i++) {
        const struct rules_alert *al = rs->alerts[i];
        if (al->state == RULES_INACTIVE)
            continue;
        if (out_sample(x->a, al, "ALERTS", rules_alert_state_name(al->state), 1, &out[n++]) < 0 ||
            out_sample(x->a, al, "ALERTS_FOR_STATE", NULL, (double) (al->active_at_ms / 1000),
                       &out[n++]) < 0)
            return err_set(e, ERR_LIMIT, "out of memory");
    }
    notify(rs, x);
    *ret = out;
    *ret_n = n;
    return 0;
}
