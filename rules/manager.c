/* rules/manager.c — the rule groups' schedules on the loop thread; evaluations on libuv workers.
 *
 * Each group has one uv_timer. As in Prometheus, evaluation times are aligned to the group's
 * interval plus an offset from a hash of the group's file and name (so groups spread over the
 * interval, and a restart keeps the same times): ts = k * interval + offset. The first
 * evaluation is at the first such time after start. A tick that finds the previous evaluation
 * still running is skipped and counted (prometheus_rule_group_iterations_missed_total).
 *
 * Reload (rules_manager_update) is two steps, so no worker ever sees state move under it:
 *   update: the new groups and their empty states are built; every timer stops;
 *   swap:   once no evaluation runs (at once, or when the last one ends), each new group takes
 *           the state of the old group with the same file and name (rules matched by kind,
 *           name and labels, as Prometheus' Group.CopyState), the options change, new timers
 *           start on the same aligned schedule; old groups and unmatched rules go to a worker
 *           that writes stale markers for their last series and frees them (then the old set).
 * An unchanged group therefore keeps its alerts (pending, firing, activeAt) and its timing. */
#include <errno.h>
#include <stdio.h>
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
    int retired;   /* replaced by a reload: freed when its timer has closed */
    int failed;    /* rules that failed in the last evaluation (worker writes, loop reads after) */
    int64_t ts_ms;   /* schedule time of the running evaluation */
    int64_t next_ts; /* schedule time of the next tick */
};

/* Options and groups of an update waiting for the running evaluations to end. */
struct pending {
    struct rules_manager_opts o;
    struct arena *arena;
    struct rules_eval_env env;
    struct rules_set *set;
    struct group **groups; /* states built, timers not yet initialised */
    uint32_t n_groups;
};

/* Old states and their set, handed to a worker for stale markers and freeing. */
struct retire {
    uv_work_t work;
    struct rules_manager *m;
    struct rules_set *set;
    rules_group_state **states;
    uint32_t n;
    int64_t t_ms;
};

struct rules_manager {
    uv_loop_t *loop;
    struct rules_manager_opts o;
    struct arena *arena; /* copies of the options' labels and URL */
    struct rules_eval_env env;
    struct rules_set *set;
    struct group **groups;
    uint32_t n_groups;
    struct pending *next; /* an update waiting for running == 0 */
    uint32_t open_timers, running; /* running: evaluations and retire jobs */
    int closing;
    void (*done)(void *arg);
    void *done_arg;
    _Atomic uint64_t evaluations, failures, missed;
};

static void swap(struct rules_manager *m);

static void free_groups(struct group **gs, uint32_t n)
{
    for (uint32_t i = 0; gs && i < n; i++) {
        if (gs[i])
            rules_group_state_free(gs[i]->state);
        free(gs[i]);
    }
    free(gs);
}

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    free_groups(p->groups, p->n_groups);
    rules_set_free(p->set);
    arena_free(p->arena);
    free(p);
}

static void maybe_done(struct rules_manager *m)
{
    if (!m->closing || m->open_timers || m->running)
        return;
    free_groups(m->groups, m->n_groups);
    rules_set_free(m->set);
    pending_free(m->next);
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
    if (m->next && !m->closing && m->running == 0)
        swap(m);
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

/* Options copied into a fresh arena: the environment evaluations read. */
static int make_env(const struct rules_manager_opts *o, struct arena **ret_arena,
                    struct rules_eval_env *ret)
{
    struct arena *a = arena_new(0);
    struct labels *ext = a ? arena_calloc(a, 1, sizeof *ext) : NULL;
    const char *url = ext ? arena_strdup(a, o->external_url ? o->external_url : "") : NULL;
    if (!url || labels_copy(a, &o->external_labels, ext) < 0) {
        arena_free(a);
        return -ENOMEM;
    }
    *ret = (struct rules_eval_env){
        .db = o->db,
        .engine = o->engine,
        .external_labels = ext,
        .external_url = url,
        .outage_tolerance_ms = o->outage_tolerance_ms > 0 ? o->outage_tolerance_ms : 3600000,
        .grace_period_ms = o->grace_period_ms >= 0 ? o->grace_period_ms : 600000,
        .resend_delay_ms = o->resend_delay_ms > 0 ? o->resend_delay_ms : 60000,
        .notifier = o->notifier,
    };
    *ret_arena = a;
    return 0;
}

int rules_manager_new(uv_loop_t *loop, const struct rules_manager_opts *o, rules_manager **ret,
                      struct err *e)
{
    struct rules_manager *m = calloc(1, sizeof *m);
    if (!m || make_env(o, &m->arena, &m->env) < 0) {
        free(m);
        return err_set(e, -ENOMEM, "out of memory");
    }
    m->loop = loop;
    m->o = *o;
    *ret = m;
    return 0;
}

/* Groups with empty states for set (the loop starts their timers in start_groups). */
static int build_groups(const struct rules_manager_opts *o, struct rules_set *set,
                        struct group ***ret, uint32_t *ret_n, struct err *e)
{
    struct group **gs = calloc(set->n_groups + 1, sizeof *gs);
    if (!gs)
        return err_set(e, -ENOMEM, "out of memory");
    for (uint32_t i = 0; i < set->n_groups; i++) {
        const struct rules_group *d = &set->groups[i];
        struct group *g = gs[i] = calloc(1, sizeof *g);
        int r = g ? rules_group_state_new(d, &g->state, e) : err_set(e, -ENOMEM, "out of memory");
        if (r < 0) {
            free_groups(gs, i + 1);
            return r;
        }
        g->def = d;
        g->interval_ms = d->interval_ms > 0 ? d->interval_ms : o->default_interval_ms;
        if (g->interval_ms <= 0)
            g->interval_ms = 60000;
        /* Prometheus hashes name;file (Group.hash); any stable hash gives the same spreading. */
        char key[1024];
        int kn = snprintf(key, sizeof key, "%s;%s", d->name, d->file);
        g->offset_ms = (int64_t) (hash_bytes(key, (size_t) (kn > 0 ? kn : 0)) %
                                  (uint64_t) g->interval_ms);
    }
    *ret = gs;
    *ret_n = set->n_groups;
    return 0;
}

static void start_groups(struct rules_manager *m)
{
    int64_t now = time_now_ms();
    for (uint32_t i = 0; i < m->n_groups; i++) {
        struct group *g = m->groups[i];
        g->m = m;
        uv_timer_init(m->loop, &g->timer);
        g->timer.data = g;
        m->open_timers++;
        g->next_ts = aligned(g, now) + g->interval_ms;
        uv_timer_start(&g->timer, on_tick, (uint64_t) (g->next_ts - now), 0);
    }
}

int rules_manager_apply(rules_manager *m, struct rules_set *set, struct err *e)
{
    int r = build_groups(&m->o, set, &m->groups, &m->n_groups, e);
    if (r < 0) {
        rules_set_free(set);
        return r;
    }
    m->set = set;
    start_groups(m);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct group *g = h->data;
    struct rules_manager *m = g->m;
    m->open_timers--;
    if (g->retired)
        free(g);
    maybe_done(m);
}

int rules_manager_update(rules_manager *m, struct rules_set *set,
                         const struct rules_manager_opts *o, struct err *e)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p || make_env(o, &p->arena, &p->env) < 0) {
        free(p);
        rules_set_free(set);
        return err_set(e, -ENOMEM, "out of memory");
    }
    p->o = *o;
    p->set = set;
    int r = build_groups(o, set, &p->groups, &p->n_groups, e);
    if (r < 0) {
        pending_free(p);
        return r;
    }
    pending_free(m->next); /* a newer reload wins over one still waiting */
    m->next = p;
    for (uint32_t i = 0; i < m->n_groups; i++)
        uv_timer_stop(&m->groups[i]->timer);
    if (m->running == 0)
        swap(m);
    return 0;
}

static void retire_work(uv_work_t *w)
{
    struct retire *rt = w->data;
    for (uint32_t i = 0; i < rt->n; i++) {
        struct err e = {0};
        if (rules_group_state_mark_stale(rt->states[i], rt->m->env.db, rt->t_ms, &e) < 0)
            LOG_WARN("rules", "stale markers for removed rules failed", "err=\"%s\"", e.msg);
        rules_group_state_free(rt->states[i]);
    }
}

static void retire_done(uv_work_t *w, int status)
{
    struct retire *rt = w->data;
    struct rules_manager *m = rt->m;
    if (status < 0) /* canceled: free without markers */
        for (uint32_t i = 0; i < rt->n; i++)
            rules_group_state_free(rt->states[i]);
    rules_set_free(rt->set);
    free(rt->states);
    free(rt);
    m->running--;
    maybe_done(m);
}

/* Old states (what the new groups did not take) and their set: stale markers on a worker. */
static void retire(struct rules_manager *m, struct group **old, uint32_t n_old,
                   struct rules_set *old_set)
{
    struct retire *rt = calloc(1, sizeof *rt);
    rules_group_state **states = calloc(n_old + 1, sizeof *states);
    for (uint32_t i = 0; i < n_old; i++) {
        if (states)
            states[i] = old[i]->state;
        else
            rules_group_state_free(old[i]->state); /* out of memory: no markers */
        old[i]->state = NULL;
    }
    if (rt && states) {
        *rt = (struct retire){.m = m, .set = old_set, .states = states, .n = n_old,
                              .t_ms = time_now_ms()};
        rt->work.data = rt;
        if (uv_queue_work(m->loop, &rt->work, retire_work, retire_done) == 0) {
            m->running++;
            return;
        }
    }
    for (uint32_t i = 0; states && i < n_old; i++)
        rules_group_state_free(states[i]);
    free(states);
    free(rt);
    rules_set_free(old_set);
}

/* Loop thread, no evaluation running: the pending update takes effect. */
static void swap(struct rules_manager *m)
{
    struct pending *p = m->next;
    m->next = NULL;
    struct group **old = m->groups;
    uint32_t n_old = m->n_groups;
    for (uint32_t i = 0; i < p->n_groups; i++) {
        struct group *g = p->groups[i];
        rules_group_state *from = NULL;
        for (uint32_t j = 0; j < n_old && !from; j++)
            if (old[j]->state && !old[j]->retired && !strcmp(old[j]->def->name, g->def->name) &&
                !strcmp(old[j]->def->file, g->def->file)) {
                from = old[j]->state;
                old[j]->retired = 1; /* matched: not again */
            }
        rules_group_state_carry(g->state, from);
    }
    for (uint32_t j = 0; j < n_old; j++) {
        old[j]->retired = 1;
        uv_close((uv_handle_t *) &old[j]->timer, on_timer_closed);
    }
    retire(m, old, n_old, m->set);
    free(old);
    arena_free(m->arena);
    m->arena = p->arena;
    m->env = p->env;
    m->o = p->o;
    m->set = p->set;
    m->groups = p->groups;
    m->n_groups = p->n_groups;
    free(p);
    start_groups(m);
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
        uv_close((uv_handle_t *) &m->groups[i]->timer, on_timer_closed);
    maybe_done(m);
}

int rules_manager_status(rules_manager *m, struct arena *a, struct rules_group_status **ret,
                         size_t *ret_n, struct err *e)
{
    struct rules_group_status *gs = arena_calloc(a, m->n_groups + 1, sizeof *gs);
    if (!gs)
        return err_set(e, ERR_LIMIT, "out of memory");
    for (uint32_t i = 0; i < m->n_groups; i++) {
        int r = rules_group_state_status(m->groups[i]->state, a, &gs[i], e);
        if (r < 0)
            return r;
        gs[i].interval_ms = m->groups[i]->interval_ms;
    }
    *ret = gs;
    *ret_n = m->n_groups;
    return 0;
}

void rules_manager_stats(rules_manager *m, struct rules_manager_stats *ret)
{
    *ret = (struct rules_manager_stats){m->evaluations, m->failures, m->missed};
}
