/* scrape/manager.c — the set of running target loops, reconciled against new specs by identity
 * (scrape_spec_hash), so a reload keeps unchanged targets scraping without a gap. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

struct entry {
    uint64_t hash;
    struct scrape_loop *loop;
};

struct scrape_manager {
    uv_loop_t *uv;
    tsdb *db;
    struct entry *v;
    size_t n;
    size_t stopping; /* loops asked to stop that have not finished */
    int closing;
    void (*done)(void *);
    void *done_arg;
};

int scrape_manager_new(uv_loop_t *loop, tsdb *db, scrape_manager **ret, struct err *e)
{
    scrape_manager *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(e, -ENOMEM, "out of memory");
    m->uv = loop;
    m->db = db;
    *ret = m;
    return 0;
}

static void maybe_done(scrape_manager *m)
{
    if (m->closing && m->stopping == 0) {
        void (*done)(void *) = m->done;
        void *arg = m->done_arg;
        free(m->v);
        free(m);
        if (done)
            done(arg);
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

int scrape_manager_apply(scrape_manager *m, const struct scrape_target_spec *specs, size_t n,
                         struct err *e)
{
    struct entry *next = calloc(n ? n : 1, sizeof *next);
    if (!next)
        return err_set(e, -ENOMEM, "out of memory");
    size_t k = 0;
    int r = 0;
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
        if (!keep && (r = scrape_loop_start(m->uv, m->db, &specs[i], &keep, e)) < 0)
            break;
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
        return r;
    }
    for (size_t j = 0; j < m->n; j++)
        if (m->v[j].loop) {
            m->stopping++;
            scrape_loop_stop(m->v[j].loop, on_loop_stopped, m);
        }
    free(m->v);
    qsort(next, k, sizeof *next, entry_cmp);
    m->v = next;
    m->n = k;
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
