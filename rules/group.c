/* rules/group.c — one evaluation of a rule group: every rule in order at one timestamp, each
 * rule's output committed before the next rule runs (a recording rule feeds the rules after it,
 * as in Prometheus), stale markers for series a rule stopped producing, health per rule.
 *
 * Threads: rules_group_eval runs on one worker at a time per group (the manager never starts a
 * second while one runs). The query runs without the lock; the lock covers the state update,
 * so rules_group_state_status (loop thread, API) sees each rule before or after, never half. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "rules/internal.h"

/* One group evaluation's memory; a rule that needs more fails with ERR_LIMIT, not the server. */
#define GROUP_EVAL_ARENA_CAP (512u << 20)

struct rules_group_state {
    const struct rules_group *def;
    uv_mutex_t lock;
    struct rules_rule_state *rules;
    int64_t last_eval_ms;
    double eval_seconds;
};

int rules_labels_set(struct arena *a, const struct labels *ls, const char *name,
                     const char *value, struct labels *ret)
{
    struct label *v = arena_alloc(a, (ls->n + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    uint32_t n = 0, i = 0;
    for (; i < ls->n && strcmp(ls->v[i].name, name) < 0; i++)
        v[n++] = ls->v[i];
    if (i < ls->n && !strcmp(ls->v[i].name, name))
        i++;
    if (*value)
        v[n++] = (struct label){name, value};
    for (; i < ls->n; i++)
        v[n++] = ls->v[i];
    *ret = (struct labels){v, n};
    return 0;
}

int rules_query(const struct rules_eval *x, const struct promql_expr *ast, int64_t t_ms,
                struct rules_sample **ret, size_t *ret_n, struct err *e)
{
    struct promql_result res;
    int r = promql_eval_instant(x->env->engine, x->a, ast, t_ms, &res, e);
    if (r < 0)
        return r;
    if (res.type == PROMQL_SCALAR) {
        struct rules_sample *s = arena_calloc(x->a, 1, sizeof *s);
        if (!s)
            return err_set(e, ERR_LIMIT, "out of memory");
        s->v = res.u.scalar.v;
        *ret = s;
        *ret_n = 1;
        return 0;
    }
    if (res.type != PROMQL_VECTOR)
        return err_set(e, ERR_EXEC, "rule result is not a vector or scalar");
    struct rules_sample *s = arena_calloc(x->a, res.u.vector.n + 1, sizeof *s);
    if (!s)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (size_t i = 0; i < res.u.vector.n; i++)
        s[i] = (struct rules_sample){res.u.vector.v[i].metric, res.u.vector.v[i].v};
    *ret = s;
    *ret_n = res.u.vector.n;
    return 0;
}

/* Group labels, then the rule's own (which win), on top of ls. */
static int add_rule_labels(struct arena *a, const struct rules_group *g, const struct rules_rule *rl,
                           struct labels *ls)
{
    for (uint32_t i = 0; i < g->labels.n; i++)
        if (!labels_get(&rl->labels, g->labels.v[i].name) &&
            rules_labels_set(a, ls, g->labels.v[i].name, g->labels.v[i].value, ls) < 0)
            return -ENOMEM;
    for (uint32_t i = 0; i < rl->labels.n; i++)
        if (rules_labels_set(a, ls, rl->labels.v[i].name, rl->labels.v[i].value, ls) < 0)
            return -ENOMEM;
    return 0;
}

static int same_labels(const void *item, const void *key)
{
    return labels_equal(item, key);
}

/* Recording rule: name and labels set, duplicates and the limit checked. */
static int record_eval(struct rules_rule_state *rs, const struct rules_eval *x,
                       struct rules_sample *in, size_t n, struct err *e)
{
    struct hmap seen = {0};
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct labels *ls = &in[i].labels;
        if (rules_labels_set(x->a, ls, LABEL_METRIC_NAME, rs->def->name, ls) < 0 ||
            add_rule_labels(x->a, rs->group, rs->def, ls) < 0) {
            r = err_set(e, ERR_LIMIT, "out of memory");
            break;
        }
        uint64_t h = labels_hash(ls);
        if (hmap_get(&seen, h, same_labels, ls))
            r = err_set(e, ERR_EXEC, "vector contains metrics with the same labelset after "
                                     "applying rule labels");
        else if (hmap_put(&seen, h, ls) < 0)
            r = err_set(e, -ENOMEM, "out of memory");
    }
    hmap_free(&seen);
    if (r == 0 && rs->group->limit && n > rs->group->limit)
        r = err_set(e, ERR_EXEC, "exceeded limit of %u with %zu series", rs->group->limit, n);
    return r;
}

/* Appends out at t, plus stale markers for the previous evaluation's series missing from out,
 * and remembers out for next time. */
static int write_samples(struct rules_rule_state *rs, const struct rules_eval *x,
                         const struct rules_sample *out, size_t n, struct err *e)
{
    struct hmap now = {0};
    struct arena *keep = arena_new(0);
    struct labels *kept = keep ? arena_calloc(keep, n + 1, sizeof *kept) : NULL;
    tsdb_appender *app = tsdb_appender_new(x->env->db);
    int r = kept && app ? 0 : err_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n && r == 0; i++) {
        uint64_t ref = 0;
        if (labels_copy(keep, &out[i].labels, &kept[i]) < 0 ||
            hmap_put(&now, labels_hash(&kept[i]), &kept[i]) < 0)
            r = err_set(e, -ENOMEM, "out of memory");
        else
            r = tsdb_appender_add(app, &ref, &out[i].labels, x->t_ms, out[i].v, e);
    }
    for (size_t i = 0; i < rs->n_prev && r == 0; i++) {
        uint64_t ref = 0;
        if (!hmap_get(&now, labels_hash(&rs->prev[i]), same_labels, &rs->prev[i]))
            r = tsdb_appender_add(app, &ref, &rs->prev[i], x->t_ms, num_stale_nan(), e);
    }
    hmap_free(&now);
    if (r < 0) {
        tsdb_appender_rollback(app);
        arena_free(keep);
        return r;
    }
    /* Rejected samples (out of order after a clock step) are counted by the tsdb; the rule's
     * health reflects only query and rule errors, as in Prometheus. */
    r = tsdb_appender_commit(app, e);
    arena_free(rs->prev_arena);
    rs->prev_arena = keep;
    rs->prev = kept;
    rs->n_prev = n;
    return r < 0 ? r : 0;
}

static int eval_rule(struct rules_group_state *gs, struct rules_rule_state *rs,
                      const struct rules_eval *x)
{
    int64_t t0 = time_mono_ns();
    struct err e = {0};
    struct rules_sample *in = NULL, *out = NULL;
    size_t n_in = 0, n_out = 0;
    int r = rules_query(x, rs->def->ast, x->t_ms, &in, &n_in, &e);
    uv_mutex_lock(&gs->lock);
    if (r == 0 && rs->def->kind == RULES_RECORD) {
        r = record_eval(rs, x, in, n_in, &e);
        out = in;
        n_out = n_in;
    } else if (r == 0)
        r = rules_alert_eval(rs, x, in, n_in, &out, &n_out, &e);
    if (r == 0)
        r = write_samples(rs, x, out, n_out, &e);
    rs->evaluated = 1;
    rs->failed = r < 0;
    (void) snprintf(rs->last_error, sizeof rs->last_error, "%s", r < 0 ? e.msg : "");
    rs->last_eval_ms = x->t_ms;
    rs->eval_seconds = (double) (time_mono_ns() - t0) / 1e9;
    uv_mutex_unlock(&gs->lock);
    return r < 0;
}

int rules_group_eval(rules_group_state *s, const struct rules_eval_env *env, int64_t ts_ms)
{
    int64_t t0 = time_mono_ns();
    struct arena *a = arena_new(GROUP_EVAL_ARENA_CAP);
    struct rules_eval x = {env, a, ts_ms - env->query_offset_ms};
    int failed = a ? 0 : (int) s->def->n_rules;
    for (uint32_t i = 0; i < s->def->n_rules && a; i++) {
        failed += eval_rule(s, &s->rules[i], &x);
        arena_reset(a);
    }
    arena_free(a);
    uv_mutex_lock(&s->lock);
    s->last_eval_ms = x.t_ms;
    s->eval_seconds = (double) (time_mono_ns() - t0) / 1e9;
    uv_mutex_unlock(&s->lock);
    return failed;
}

int rules_group_state_new(const struct rules_group *g, rules_group_state **ret, struct err *e)
{
    struct rules_group_state *s = calloc(1, sizeof *s);
    if (!s || !(s->rules = calloc(g->n_rules + 1, sizeof *s->rules))) {
        free(s);
        return err_set(e, -ENOMEM, "out of memory");
    }
    if (uv_mutex_init(&s->lock) != 0) {
        free(s->rules);
        free(s);
        return err_set(e, -ENOMEM, "cannot create a mutex");
    }
    s->def = g;
    for (uint32_t i = 0; i < g->n_rules; i++) {
        s->rules[i].def = &g->rules[i];
        s->rules[i].group = g;
    }
    *ret = s;
    return 0;
}

void rules_group_state_free(rules_group_state *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->def->n_rules; i++) {
        struct rules_rule_state *rs = &s->rules[i];
        for (size_t j = 0; j < rs->n_alerts; j++)
            rules_alert_free(rs->alerts[j]);
        free(rs->alerts);
        arena_free(rs->prev_arena);
    }
    uv_mutex_destroy(&s->lock);
    free(s->rules);
    free(s);
}

/* Same rule for a reload: kind, name and labels (Prometheus' nameAndLabels). */
static int same_rule(const struct rules_rule *a, const struct rules_rule *b)
{
    return a->kind == b->kind && !strcmp(a->name, b->name) && labels_equal(&a->labels, &b->labels);
}

void rules_group_state_carry(rules_group_state *to, rules_group_state *from)
{
    if (from) {
        to->last_eval_ms = from->last_eval_ms;
        to->eval_seconds = from->eval_seconds;
    }
    for (uint32_t i = 0; i < to->def->n_rules; i++) {
        struct rules_rule_state *t = &to->rules[i];
        t->restored = 1; /* a rule new in a reload: Prometheus restores at start-up only */
        for (uint32_t j = 0; from && j < from->def->n_rules; j++) {
            struct rules_rule_state *f = &from->rules[j];
            if (f->def == NULL || !same_rule(t->def, f->def))
                continue;
            /* Alerts, last series and health move; a changed query starts healthless. */
            struct rules_rule_state mine = *t;
            *t = *f;
            t->def = mine.def;
            t->group = mine.group; /* restore progress moves too: a group reloaded within its
                                    * first evaluations still restores, as Prometheus' kept
                                    * unchanged group does */
            if (strcmp(t->def->expr, f->def->expr) != 0) {
                t->evaluated = t->failed = 0;
                t->last_error[0] = '\0';
                t->last_eval_ms = 0;
                t->eval_seconds = 0;
            }
            /* from keeps nothing of it: taken, and not matched again (the first of duplicates
             * goes to the first new one, as in Prometheus) */
            *f = (struct rules_rule_state){.def = NULL, .group = f->group};
            break;
        }
    }
}

int rules_group_state_mark_stale(rules_group_state *s, tsdb *db, int64_t t_ms, struct err *e)
{
    tsdb_appender *app = tsdb_appender_new(db);
    if (!app)
        return err_set(e, -ENOMEM, "out of memory");
    int r = 0;
    for (uint32_t i = 0; i < s->def->n_rules && r == 0; i++) {
        struct rules_rule_state *rs = &s->rules[i];
        for (size_t j = 0; j < rs->n_prev && r == 0; j++) {
            uint64_t ref = 0;
            r = tsdb_appender_add(app, &ref, &rs->prev[j], t_ms, num_stale_nan(), e);
        }
    }
    if (r < 0) {
        tsdb_appender_rollback(app);
        return r;
    }
    return tsdb_appender_commit(app, e);
}

static int copy_rule(struct arena *a, const struct rules_rule_state *rs,
                     struct rules_rule_status *st)
{
    st->def = rs->def;
    st->health = !rs->evaluated ? "unknown" : rs->failed ? "err" : "ok";
    st->last_error = arena_strdup(a, rs->last_error);
    st->last_eval_ms = rs->last_eval_ms;
    st->eval_seconds = rs->eval_seconds;
    st->state = RULES_INACTIVE;
    st->alerts = arena_calloc(a, rs->n_alerts + 1, sizeof *st->alerts);
    if (!st->last_error || !st->alerts)
        return -ENOMEM;
    for (size_t i = 0; i < rs->n_alerts; i++) {
        const struct rules_alert *al = rs->alerts[i];
        if (al->state == RULES_INACTIVE)
            continue; /* resolved, kept only for notifications */
        struct rules_alert_status *as = &st->alerts[st->n_alerts++];
        if (labels_copy(a, &al->labels, &as->labels) < 0 ||
            labels_copy(a, &al->annotations, &as->annotations) < 0)
            return -ENOMEM;
        as->state = al->state;
        as->active_at_ms = al->active_at_ms;
        as->keep_firing_since_ms = al->keep_firing_since_ms;
        as->value = al->value;
        if (al->state > st->state)
            st->state = al->state;
    }
    return 0;
}

int rules_group_state_status(rules_group_state *s, struct arena *a,
                             struct rules_group_status *ret, struct err *e)
{
    struct rules_rule_status *rs = arena_calloc(a, s->def->n_rules + 1, sizeof *rs);
    if (!rs)
        return err_set(e, ERR_LIMIT, "out of memory");
    int r = 0;
    uv_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->def->n_rules && r == 0; i++)
        r = copy_rule(a, &s->rules[i], &rs[i]);
    ret->def = s->def;
    ret->last_eval_ms = s->last_eval_ms;
    ret->eval_seconds = s->eval_seconds;
    ret->rules = rs;
    ret->n_rules = s->def->n_rules;
    uv_mutex_unlock(&s->lock);
    return r < 0 ? err_set(e, ERR_LIMIT, "out of memory") : 0;
}
