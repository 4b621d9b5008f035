/* tests/unit/rules/test_group.c — one group's evaluation against an in-memory tsdb: recording
 * output and stale markers, the alert state machine (pending, firing, keep_firing_for,
 * resolved), limits, a failing rule that leaves the others alone, and for-state restore. */
#include "rules/rules.h"

#include <math.h>
#include <string.h>

#include "test.h"

struct fx {
    struct arena *a;
    tsdb *db;
    promql_engine *eng;
    struct rules_group *g;
    rules_group_state *st;
    struct rules_eval_env env;
};

static void fx_open(struct fx *f, const char *yaml)
{
    struct err e = {0};
    uint32_t n;
    memset(f, 0, sizeof *f);
    f->a = arena_new(0);
    ASSERT_OK_E(tsdb_open(&(struct tsdb_opts){0}, &f->db, &e), &e);
    ASSERT_OK_E(promql_engine_new(f->db, &(struct promql_engine_opts){0}, &f->eng, &e), &e);
    ASSERT_OK_E(rules_parse(f->a, "t.yml", yaml, strlen(yaml), &f->g, &n, &e), &e);
    ASSERT_EQ(n, 1u);
    ASSERT_OK_E(rules_group_state_new(f->g, &f->st, &e), &e);
    rules_group_state_carry(f->st, NULL); /* as after a reload: no start-up restore */
    f->env = (struct rules_eval_env){.db = f->db, .engine = f->eng, .outage_tolerance_ms = 3600000,
                                     .grace_period_ms = 0, .resend_delay_ms = 60000,
                                     .interval_ms = 60000};
}

static void fx_close(struct fx *f)
{
    rules_group_state_free(f->st);
    promql_engine_free(f->eng);
    tsdb_close(f->db);
    arena_free(f->a);
}

static void put(struct fx *f, const char *series, int64_t t, double v)
{
    struct labels ls;
    struct err e = {0};
    uint64_t ref = 0;
    ASSERT_OK_E(rules_series_labels(f->a, series, &ls, &e), &e);
    tsdb_appender *app = tsdb_appender_new(f->db);
    ASSERT_OK_E(tsdb_appender_add(app, &ref, &ls, t, v, &e), &e);
    ASSERT_EQ(tsdb_appender_commit(app, &e), 0);
}

/* Value of a query at t, NAN when empty; n: number of series. */
static double query(struct fx *f, const char *q, int64_t t, size_t *n)
{
    struct promql_expr *x;
    struct promql_result res;
    struct err e = {0};
    ASSERT_OK_E(promql_parse(f->a, q, strlen(q), &x, &e), &e);
    ASSERT_OK_E(promql_eval_instant(f->eng, f->a, x, t, &res, &e), &e);
    *n = res.u.vector.n;
    return res.u.vector.n ? res.u.vector.v[0].v : (double) NAN;
}

static struct rules_rule_status *status(struct fx *f, uint32_t i)
{
    struct rules_group_status gs;
    ASSERT_OK(rules_group_state_status(f->st, f->a, &gs, NULL));
    return &gs.rules[i];
}

TEST(recording_rule_and_stale_markers)
{
    struct fx f;
    fx_open(&f, "groups:\n- name: g\n  rules:\n  - record: job:x:sum\n"
                "    expr: sum by (job) (x)\n    labels: {k: v}\n");
    put(&f, "x{job=\"a\"}", 0, 2);
    put(&f, "x{job=\"b\"}", 0, 3);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 60000), 0);
    size_t n;
    ASSERT_DBL_EQ(query(&f, "job:x:sum{job=\"a\",k=\"v\"}", 60000, &n), 2);
    ASSERT_EQ(n, 1u);
    put(&f, "x{job=\"a\"}", 100000, 4);
    put(&f, "x{job=\"b\"}", 100000, num_stale_nan()); /* b's source is gone */
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 120000), 0);
    /* job b vanished from the result: its series got a stale marker at 120s. */
    ASSERT_TRUE(isnan(query(&f, "job:x:sum{job=\"b\"}", 120000, &n)));
    ASSERT_EQ(n, 0u);
    ASSERT_DBL_EQ(query(&f, "job:x:sum{job=\"a\"}", 120000, &n), 4);
    struct rules_rule_status *rs = status(&f, 0);
    ASSERT_STR_EQ(rs->health, "ok");
    ASSERT_EQ(rs->last_eval_ms, 120000);
    fx_close(&f);
}

TEST(alert_pending_firing_keep_firing_resolved)
{
    struct fx f;
    fx_open(&f, "groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 1\n"
                "    for: 2m\n    keep_firing_for: 1m\n    labels: {severity: page}\n");
    for (int64_t t = 0; t <= 180000; t += 60000)
        put(&f, "x{job=\"a\"}", t, 5);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 60000), 0);
    struct rules_rule_status *rs = status(&f, 0);
    ASSERT_EQ(rs->n_alerts, 1u);
    ASSERT_EQ(rs->alerts[0].state, RULES_PENDING);
    ASSERT_STR_EQ(labels_get(&rs->alerts[0].labels, "alertname"), "High");
    ASSERT_STR_EQ(labels_get(&rs->alerts[0].labels, "severity"), "page");
    ASSERT_TRUE(labels_get(&rs->alerts[0].labels, "__name__") == NULL);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 120000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_PENDING);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 180000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_FIRING);
    size_t n;
    ASSERT_DBL_EQ(query(&f, "ALERTS{alertstate=\"firing\",alertname=\"High\"}", 180000, &n), 1);
    ASSERT_DBL_EQ(query(&f, "ALERTS_FOR_STATE", 180000, &n), 60);
    put(&f, "x{job=\"a\"}", 240000, 0); /* condition gone: keep_firing_for holds it 1m */
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 240000), 0);
    rs = status(&f, 0);
    ASSERT_EQ(rs->alerts[0].state, RULES_FIRING);
    ASSERT_EQ(rs->alerts[0].keep_firing_since_ms, 240000);
    put(&f, "x{job=\"a\"}", 300000, 0);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 300000), 0);
    ASSERT_EQ(status(&f, 0)->n_alerts, 0u); /* resolved: not listed */
    query(&f, "ALERTS", 300000, &n);
    ASSERT_EQ(n, 0u); /* stale-marked */
    fx_close(&f);
}

TEST(limit_and_failing_rule)
{
    struct fx f;
    fx_open(&f, "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: r\n    expr: x\n"
                "  - alert: Str\n    expr: x\n  - record: bad\n    expr: '\"s\"'\n"
                "  - record: ok\n    expr: vector(1)\n");
    put(&f, "x{job=\"a\"}", 0, 1);
    put(&f, "x{job=\"b\"}", 0, 1);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 60000), 3);
    ASSERT_STR_CONTAINS(status(&f, 0)->last_error, "exceeded limit of 1 with 2 series");
    ASSERT_STR_CONTAINS(status(&f, 1)->last_error, "exceeded limit of 1 with 2 alerts");
    ASSERT_STR_EQ(status(&f, 2)->health, "err");
    ASSERT_STR_CONTAINS(status(&f, 2)->last_error, "not a vector or scalar");
    ASSERT_STR_EQ(status(&f, 3)->health, "ok");
    fx_close(&f);
}

/* A group fresh at start-up: the state a restart gives, which restores `for` state. */
static void fx_fresh(struct fx *f)
{
    struct err e = {0};
    rules_group_state_free(f->st);
    ASSERT_OK_E(rules_group_state_new(f->g, &f->st, &e), &e);
}

TEST(for_state_restored)
{
    struct fx f;
    size_t n;
    fx_open(&f, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 5m\n");
    fx_fresh(&f);
    /* A previous run: active since 100s, last recorded at 500s (already past `for`). */
    put(&f, "ALERTS_FOR_STATE{alertname=\"A\"}", 500000, 100);
    /* As Prometheus: two evaluations without ALERTS, pending from scratch; the restore after
     * the second; firing with the old activeAt from the third. */
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 560000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_PENDING);
    ASSERT_EQ(status(&f, 0)->alerts[0].active_at_ms, 560000);
    query(&f, "ALERTS", 560000, &n);
    ASSERT_EQ(n, 0u);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 620000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_PENDING);
    ASSERT_EQ(status(&f, 0)->alerts[0].active_at_ms, 100000); /* restored */
    query(&f, "ALERTS", 620000, &n);
    ASSERT_EQ(n, 0u);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 680000), 0);
    struct rules_rule_status *rs = status(&f, 0);
    ASSERT_EQ(rs->alerts[0].active_at_ms, 100000);
    ASSERT_EQ(rs->alerts[0].state, RULES_FIRING);
    ASSERT_DBL_EQ(query(&f, "ALERTS_FOR_STATE", 680000, &n), 100);
    fx_close(&f);
}

TEST(for_state_restore_grace_period_and_outage)
{
    struct fx f;
    fx_open(&f, "groups:\n- name: g\n  rules:\n  - alert: Short\n    expr: vector(1)\n"
                "    for: 15m\n    labels: {k: short}\n  - alert: Long\n    expr: vector(1)\n"
                "    for: 1h\n    labels: {k: long}\n");
    fx_fresh(&f);
    f.env.grace_period_ms = 600000; /* 10m */
    /* Down at 1000s. Short had waited 10 of 15 minutes: 5m left < grace, so it fires 10m
     * after the restore. Long had waited 10 of 60 minutes: the outage (1000s..2000s) does not
     * count, so activeAt moves forward by it. */
    put(&f, "ALERTS_FOR_STATE{alertname=\"Short\",k=\"short\"}", 1000000, 400);
    put(&f, "ALERTS_FOR_STATE{alertname=\"Long\",k=\"long\"}", 1000000, 400);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 1940000), 0);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 2000000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].active_at_ms, 2000000 + 600000 - 900000);
    ASSERT_EQ(status(&f, 1)->alerts[0].active_at_ms, 400000 + (2000000 - 1000000));
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 2540000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_PENDING); /* 9m after the restore */
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 2600000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_FIRING); /* grace period over */
    ASSERT_EQ(status(&f, 1)->alerts[0].state, RULES_PENDING);
    fx_close(&f);
}

TEST(reload_carries_alert_state_by_rule)
{
    struct fx f;
    struct err e = {0};
    uint32_t n;
    fx_open(&f, "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    for: 1m\n"
                "  - record: gone\n    expr: vector(3)\n");
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 60000), 0);
    ASSERT_EQ(rules_group_eval(f.st, &f.env, 120000), 0);
    ASSERT_EQ(status(&f, 0)->alerts[0].state, RULES_FIRING);
    /* The reloaded group: A moved after a new rule, `gone` removed. */
    const char *y2 = "groups:\n- name: g\n  rules:\n  - record: new\n    expr: vector(2)\n"
                     "  - alert: A\n    expr: vector(1) > 0\n    for: 1m\n";
    struct rules_group *g2;
    rules_group_state *s2;
    ASSERT_OK_E(rules_parse(f.a, "t.yml", y2, strlen(y2), &g2, &n, &e), &e);
    ASSERT_OK_E(rules_group_state_new(g2, &s2, &e), &e);
    rules_group_state_carry(s2, f.st);
    struct rules_group_status gs;
    ASSERT_OK(rules_group_state_status(s2, f.a, &gs, NULL));
    ASSERT_EQ(gs.rules[1].n_alerts, 1u);
    ASSERT_EQ(gs.rules[1].alerts[0].state, RULES_FIRING);
    ASSERT_EQ(gs.rules[1].alerts[0].active_at_ms, 60000);
    ASSERT_STR_EQ(gs.rules[1].health, "unknown"); /* another query: health starts over */
    ASSERT_EQ(gs.last_eval_ms, 120000);
    /* What was not taken (the `gone` series) gets stale markers. */
    size_t k;
    ASSERT_DBL_EQ(query(&f, "gone", 150000, &k), 3);
    ASSERT_OK_E(rules_group_state_mark_stale(f.st, f.db, 150000, &e), &e);
    query(&f, "gone", 150000, &k);
    ASSERT_EQ(k, 0u);
    ASSERT_EQ(rules_group_eval(s2, &f.env, 180000), 0);
    ASSERT_OK(rules_group_state_status(s2, f.a, &gs, NULL));
    ASSERT_EQ(gs.rules[1].alerts[0].active_at_ms, 60000); /* no restore after a reload */
    rules_group_state_free(s2);
    fx_close(&f);
}
