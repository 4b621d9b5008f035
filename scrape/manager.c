/* scrape/manager.c — the set of running target loops. An apply builds every job's targets
 * (target relabeling, scrape_target_build) and reconciles the loops against them by identity
 * (scrape_spec_hash), so a reload keeps unchanged targets scraping without a gap. Targets that
 * relabeling dropped are remembered, with their discovered labels, until the next apply. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "intervals.h"
#include "loop.h"

/* A target dropped by relabel_configs; strings in the manager's dropped arena. */
struct dropped {
    const char *job;
    struct labels discovered;
};

struct entry {
    uint64_t hash;
    struct scrape_loop *loop;
};

struct scrape_manager {
    uv_loop_t *uv;
    tsdb *db;
    struct entry *v;
    size_t n;
    struct arena *dropped_arena; /* holds dropped[] and its strings */
    struct dropped *dropped;
    size_t n_dropped;
    size_t n_invalid;
    struct scrape_intervals *intervals; /* the loops report into it; freed after they stop */
    struct scrape_handoff *handoff;     /* the loops' worker jobs go through it; likewise */
    size_t stopping; /* loops asked to stop that have not finished */
    int closing;
    void (*done)(void *);
    void *done_arg;
};

int scrape_manager_new(uv_loop_t *loop, tsdb *db, scrape_manager **ret, struct err *e)
{
    scrape_manager *m = calloc(1, sizeof *m);
    if (m && !(m->intervals = scrape_intervals_new())) {
        free(m);
        m = NULL;
    }
    if (m && scrape_handoff_new(loop, db, &m->handoff) < 0) {
        scrape_intervals_free(m->intervals);
        free(m);
        m = NULL;
    }
    if (!m)
        return err_set(e, -ENOMEM, "out of memory");
    m->uv = loop;
    m->db = db;
    *ret = m;
    return 0;
}

static void on_handoff_closed(void *arg)
{
    scrape_manager *m = arg;
    void (*done)(void *) = m->done;
    void *done_arg = m->done_arg;
    arena_free(m->dropped_arena);
    scrape_intervals_free(m->intervals);
    free(m->v);
    free(m);
    if (done)
        done(done_arg);
}

/* Every loop has stopped, so no job is queued or running: the handoff can close. */
static void maybe_done(scrape_manager *m)
{
    if (m->closing && m->stopping == 0 && m->handoff) {
        struct scrape_handoff *h = m->handoff;
        m->handoff = NULL;
        scrape_handoff_close(h, on_handoff_closed, m);
    }
}

static void on_loop_stopped(void *arg)
{
    scrape_manager *m = arg;
    m->stopping--;
    maybe_done(m);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct scrape_target_spec *x = scrape_loop_spec(((const struct entry *) a)->loop);
    const struct scrape_target_spec *y = scrape_loop_spec(((const struct entry *) b)->loop);
    int c = strcmp(x->job, y->job);
    return c ? c : strcmp(x->address, y->address);
}

/* target_limit: more targets than allowed after relabeling fail every one of the job's targets
 * with Prometheus' error, without fetching (they still report up = 0 each interval). */
static int apply_target_limit(struct arena *a, const struct scrape_job *job,
                              struct scrape_target_spec *specs, size_t n, struct err *e)
{
    if (!job->target_limit || n <= job->target_limit)
        return 0;
    const char *msg = arena_printf(a, "target_limit exceeded (number of targets: %zu, limit: %u)",
                                   n, job->target_limit);
    if (!msg)
        return err_set(e, -ENOMEM, "out of memory building scrape targets");
    for (size_t i = 0; i < n; i++)
        specs[i].forced_error = msg;
    return 0;
}

/* Every job's targets through scrape_target_build: kept ones into *ret_specs (in arena a),
 * dropped ones copied into a new dropped list (in arena da), invalid ones logged and counted. */
static int build_targets(struct arena *a, struct arena *da, const struct scrape_job *jobs,
                         size_t n_jobs,
                         struct scrape_target_spec **ret_specs, size_t *ret_n,
                         struct dropped **ret_dropped, size_t *ret_n_dropped,
                         size_t *ret_invalid, struct err *e)
{
    size_t total = 0, n = 0, nd = 0, invalid = 0;
    for (size_t j = 0; j < n_jobs; j++)
        total += jobs[j].n_targets;
    struct scrape_target_spec *specs = arena_calloc(a, total ? total : 1, sizeof *specs);
    struct dropped *dropped = arena_calloc(da, total ? total : 1, sizeof *dropped);
    if (!specs || !dropped)
        return err_set(e, -ENOMEM, "out of memory building scrape targets");
    for (size_t j = 0; j < n_jobs; j++) {
        size_t first = n;
        for (uint32_t t = 0; t < jobs[j].n_targets; t++) {
            struct scrape_target_spec s;
            struct err te = {0};
            int r = scrape_target_build(a, &jobs[j], &jobs[j].targets[t], &s, &te);
            if (r == 1) {
                specs[n++] = s;
            } else if (r == 0) {
                struct dropped *d = &dropped[nd++];
                if (!(d->job = arena_strdup(da, jobs[j].name)) ||
                    labels_copy(da, &s.discovered, &d->discovered) < 0)
                    return err_set(e, -ENOMEM, "out of memory building scrape targets");
            } else if (r == ERR_PARSE) {
                const char *addr = labels_get(&s.discovered, "__address__");
                char qj[128], qa[256], qm[2 * sizeof te.msg];
                LOG_WARN("scrape", "creating target failed, skipping target",
                         "job=\"%s\" target=\"%s\" err=\"%s\"",
                         log_escape(jobs[j].name, qj, sizeof qj),
                         log_escape(addr ? addr : "", qa, sizeof qa),
                         log_escape(te.msg, qm, sizeof qm));
                invalid++;
            } else {
                *e = te;
                return r;
            }
        }
        int lr = apply_target_limit(a, &jobs[j], specs + first, n - first, e);
        if (lr < 0)
            return lr;
    }
    *ret_specs = specs;
    *ret_n = n;
    *ret_dropped = dropped;
    *ret_n_dropped = nd;
    *ret_invalid = invalid;
    return 0;
}

int scrape_manager_apply(scrape_manager *m, const struct scrape_job *jobs, size_t n_jobs,
                         struct err *e)
{
    struct arena *a = arena_new(0), *da = arena_new(0);
    struct scrape_target_spec *specs = NULL;
    struct dropped *dropped = NULL;
    size_t n = 0, n_dropped = 0, n_invalid = 0;
    int r = !a || !da ? err_set(e, -ENOMEM, "out of memory") : 0;
    if (r == 0)
        r = build_targets(a, da, jobs, n_jobs, &specs, &n, &dropped, &n_dropped, &n_invalid, e);
    struct entry *next = r < 0 ? NULL : calloc(n ? n : 1, sizeof *next);
    size_t *from = r < 0 ? NULL : calloc(n ? n : 1, sizeof *from); /* next[j]: specs[from[j]] */
    if (r == 0 && (!next || !from))
        r = err_set(e, -ENOMEM, "out of memory");
    if (r < 0) {
        free(next);
        free(from);
        arena_free(a);
        arena_free(da);
        return r;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = scrape_spec_hash(&specs[i]);
        int dup = 0;
        for (size_t j = 0; j < k; j++)
            dup |= next[j].hash == h;
        if (dup)
            continue; /* the same target twice in one job is scraped once, as Prometheus does */
        struct scrape_loop *keep = NULL;
        for (size_t j = 0; j < m->n && !keep; j++)
            if (m->v[j].loop && m->v[j].hash == h) {
                keep = m->v[j].loop;
                m->v[j].loop = NULL;
            }
        if (!keep && (r = scrape_loop_start(m->uv, m->db, &specs[i], m->intervals,
                                              m->handoff, &keep, e)) < 0)
            break;
        from[k] = i;
        next[k++] = (struct entry){h, keep};
    }
    if (r < 0) { /* put kept loops back, stop the ones started for this apply */
        for (size_t j = 0; j < k; j++) {
            int restored = 0;
            for (size_t i = 0; i < m->n && !restored; i++)
                if (!m->v[i].loop && m->v[i].hash == next[j].hash) {
                    m->v[i].loop = next[j].loop;
                    restored = 1;
                }
            if (!restored) {
                m->stopping++;
                scrape_loop_stop(next[j].loop, on_loop_stopped, m);
            }
        }
        free(next);
        free(from);
        arena_free(a);
        arena_free(da);
        return r;
    }
    /* Kept loops show the new discovered labels (they are not part of a target's identity). */
    for (size_t j = 0; j < k; j++)
        scrape_loop_set_discovered(next[j].loop, &specs[from[j]].discovered);
    free(from);
    for (size_t j = 0; j < m->n; j++)
        if (m->v[j].loop) {
            m->stopping++;
            scrape_loop_stop(m->v[j].loop, on_loop_stopped, m);
        }
    free(m->v);
    qsort(next, k, sizeof *next, entry_cmp);
    m->v = next;
    m->n = k;
    arena_free(a); /* the loops copied their specs */
    arena_free(m->dropped_arena);
    m->dropped_arena = da;
    m->dropped = dropped;
    m->n_dropped = n_dropped;
    m->n_invalid = n_invalid;
    return 0;
}

size_t scrape_manager_count(const scrape_manager *m)
{
    return m->n;
}

void scrape_manager_each(const scrape_manager *m,
                         void (*fn)(void *ctx, const struct scrape_target_status *st), void *ctx)
{
    for (size_t i = 0; i < m->n; i++) {
        struct scrape_target_status st;
        scrape_loop_status(m->v[i].loop, &st);
        fn(ctx, &st);
    }
}

size_t scrape_manager_dropped_count(const scrape_manager *m)
{
    return m->n_dropped;
}

void scrape_manager_each_dropped(const scrape_manager *m,
                                 void (*fn)(void *ctx, const char *job,
                                            const struct labels *discovered),
                                 void *ctx)
{
    for (size_t i = 0; i < m->n_dropped; i++)
        fn(ctx, m->dropped[i].job, &m->dropped[i].discovered);
}

size_t scrape_manager_invalid_count(const scrape_manager *m)
{
    return m->n_invalid;
}

void scrape_manager_each_interval(const scrape_manager *m,
                                  void (*fn)(void *ctx, const struct scrape_interval_summary *s),
                                  void *ctx)
{
    scrape_intervals_each(m->intervals, time_now_ms(), fn, ctx);
}

void scrape_manager_close(scrape_manager *m, void (*done)(void *arg), void *arg)
{
    if (!m) {
        if (done)
            done(arg);
        return;
    }
    m->closing = 1;
    m->done = done;
    m->done_arg = arg;
    for (size_t j = 0; j < m->n; j++) {
        m->stopping++;
        scrape_loop_stop(m->v[j].loop, on_loop_stopped, m);
    }
    m->n = 0;
    maybe_done(m);
}
