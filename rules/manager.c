/* rules/manager.c — the rule groups' schedules on the loop thread; evaluations on libuv workers.
 *
 * Each group has one uv_timer. As in Prometheus, evaluation times are aligned to the group's
 * interval plus an offset from a hash of the group's file and name (so groups spread over the
 * interval, and a restart keeps the same times): ts = k * interval + offset. The first
 * evaluation is at the first such time after start. A tick that finds the previous evaluation
 * still running is skipped and counted (prometheus_rule_group_iterations_missed_total). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"

struct group {
    struct rules_manager *m;
    const struct rules_group *def;
    rules_group_state *state;
    int64_t interval_ms, offset_ms;
    uv_timer_t timer;
    uv_work_t work;
    int running;
    int failed;    /* rules that failed in the last evaluation (worker writes, loop reads after) */
    int64_t ts_ms;   /* schedule time of the running evaluation */
    int64_t next_ts; /* schedule time of the next tick */
};

struct rules_manager {
    uv_loop_t *loop;
    struct rules_manager_opts o;
    struct arena *arena; /* copies of the options' labels and URL */
    struct rules_eval_env env;
    struct rules_set *set;
    struct group *groups;
    uint32_t n_groups;
    uint32_t open_timers, running;
    int closing;
    void (*done)(void *arg);
    void *done_arg;
    _Atomic uint64_t evaluations, failures, missed;
};

static void maybe_done(struct rules_manager *m)
{
    if (!m->closing || m->open_timers || m->running)
        return;
    for (uint32_t i = 0; i < m->n_groups; i++)
        rules_group_state_free(m->groups[i].state);
    free(m->groups);
    rules_set_free(m->set);
    arena_free(m->arena);
    void (*done)(void *) = m->done;
    void *arg = m->done_arg;
    free(m);
    if (done)
        done(arg);
}

static void eval_work(uv_work_t *w)
{
    struct group *g = w->data;
    struct rules_eval_env env = g->m->env;
    env.interval_ms = g->interval_ms;
    env.query_offset_ms = g->def->has_query_offset ? g->def->query_offset_ms
                                                    : g->m->o.default_query_offset_ms;
    g->failed = rules_group_eval(g->state, &env, g->ts_ms);
}

static void eval_done(uv_work_t *w, int status)
{
    struct group *g = w->data;
    struct rules_manager *m = g->m;
    g->running = 0;
    m->running--;
    m->evaluations++;
    m->failures += (uint64_t) g->failed;
    maybe_done(m);
}

/* The newest aligned time at or before now. */
static int64_t aligned(const struct group *g, int64_t now)
{
    int64_t adj = now - g->offset_ms;
    int64_t base = adj - ((adj % g->interval_ms) + g->interval_ms) % g->interval_ms;
    return base + g->offset_ms;
}

static void on_tick(uv_timer_t *t)
{
    struct group *g = t->data;
    struct rules_manager *m = g->m;
    /* The tick is for next_ts even if the timer fired a little early (uv timers count from the
     * loop's cached time); the next one keeps the wall-clock alignment, skipping (and counting)
     * times already past after a stall. */
    int64_t now = time_now_ms(), ts = g->next_ts, next = ts + g->interval_ms;
    if (next <= now) {
        m->missed += (uint64_t) ((now - next) / g->interval_ms + 1);
        next = aligned(g, now) + g->interval_ms;
    }
    g->next_ts = next;
    uv_timer_start(&g->timer, on_tick, (uint64_t) (next - now > 0 ? next - now : 1), 0);
    if (g->running || m->closing) {
        m->missed++;
        return;
    }
    g->ts_ms = ts;
    g->work.data = g;
    if (uv_queue_work(m->loop, &g->work, eval_work, eval_done) == 0) {
        g->running = 1;
        m->running++;
    }
}

int rules_manager_new(uv_loop_t *loop, const struct rules_manager_opts *o, rules_manager **ret,
                      struct err *e)
{
    struct rules_manager *m = calloc(1, sizeof *m);
    if (!m || !(m->arena = arena_new(0))) {
        free(m);
        return err_set(e, -ENOMEM, "out of memory");
    }
    m->loop = loop;
    m->o = *o;
    struct labels *ext = arena_calloc(m->arena, 1, sizeof *ext);
    const char *url = arena_strdup(m->arena, o->external_url ? o->external_url : "");
    if (!ext || !url || labels_copy(m->arena, &o->external_labels, ext) < 0) {
        arena_free(m->arena);
        free(m);
        return err_set(e, -ENOMEM, "out of memory");
    }
    m->env = (struct rules_eval_env){
        .db = o->db,
        .engine = o->engine,
        .external_labels = ext,
        .external_url = url,
        .outage_tolerance_ms = o->outage_tolerance_ms > 0 ? o->outage_tolerance_ms : 3600000,
        .grace_period_ms = o->grace_period_ms >= 0 ? o->grace_period_ms : 600000,
        .resend_delay_ms = o->resend_delay_ms > 0 ? o->resend_delay_ms : 60000,
        .notifier = o->notifier,
    };
    *ret = m;
    return 0;
}

int rules_manager_apply(rules_manager *m, struct rules_set *set, struct err *e)
{
    m->set = set;
    if (!set->n_groups)
        return 0;
    if (!(m->groups = calloc(set->n_groups, sizeof *m->groups)))
        return err_set(e, -ENOMEM, "out of memory");
    int64_t now = time_now_ms();
    for (uint32_t i = 0; i < set->n_groups; i++) {
        struct group *g = &m->groups[i];
        const struct rules_group *d = &set->groups[i];
        int r = rules_group_state_new(d, &g->state, e);
        if (r < 0)
            return r;
        m->n_groups++;
        g->m = m;
        g->def = d;
        g->interval_ms = d->interval_ms > 0 ? d->interval_ms : m->o.default_interval_ms;
        if (g->interval_ms <= 0)
            g->interval_ms = 60000;
        /* Prometheus hashes name;file (Group.hash); any stable hash gives the same spreading. */
        char key[1024];
        int kn = snprintf(key, sizeof key, "%s;%s", d->name, d->file);
        g->offset_ms = (int64_t) (hash_bytes(key, (size_t) (kn > 0 ? kn : 0)) %
                                  (uint64_t) g->interval_ms);
        uv_timer_init(m->loop, &g->timer);
        g->timer.data = g;
        m->open_timers++;
        g->next_ts = aligned(g, now) + g->interval_ms;
        uv_timer_start(&g->timer, on_tick, (uint64_t) (g->next_ts - now), 0);
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct group *g = h->data;
    g->m->open_timers--;
    maybe_done(g->m);
}

void rules_manager_close(rules_manager *m, void (*done)(void *arg), void *arg)
{
    if (!m) {
        if (done)
            done(arg);
        return;
    }
    m->closing = 1;
    m->done = done;
    m->done_arg = arg;
    for (uint32_t i = 0; i < m->n_groups; i++)
        uv_close((uv_handle_t *) &m->groups[i].timer, on_timer_closed);
    maybe_done(m);
}

int rules_manager_status(rules_manager *m, struct arena *a, struct rules_group_status **ret,
                         size_t *ret_n, struct err *e)
{
    struct rules_group_status *gs = arena_calloc(a, m->n_groups + 1, sizeof *gs);
    if (!gs)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (uint32_t i = 0; i < m->n_groups; i++) {
        int r = rules_group_state_status(m->groups[i].state, a, &gs[i], e);
        if (r < 0)
            return r;
        gs[i].interval_ms = m->groups[i].interval_ms;
    }
    *ret = gs;
    *ret_n = m->n_groups;
    return 0;
}

void rules_manager_stats(rules_manager *m, struct rules_manager_stats *ret)
{
    *ret = (struct rules_manager_stats){m->evaluations, m->failures, m->missed};
}
