/* tests/unit/scrape/test_handoff.c — the batched hand-off of scrape jobs: items submitted within
 * the delay run as one batch through one appender, in submission order, and each one's done
 * callback runs on the loop; an item that rolls back to its own mark drops only its samples; a
 * burst of big items goes out without waiting, and so does the queue once no fetch is under
 * way; closing flushes and the loop closes cleanly. */
#include "scrape/handoff.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

struct job {
    struct scrape_handoff_item item; /* first */
    const char *name;
    int fail;                       /* add a sample, then roll back to the mark */
    tsdb_appender *app;             /* the batch's appender, as work saw it */
    int order, done, committed;
};

static int work_order, done_count;

static void work(struct scrape_handoff_item *it, tsdb_appender *app)
{
    struct job *j = (struct job *) it;
    j->app = app;
    j->order = ++work_order;
    if (!app)
        return;
    size_t mark = tsdb_appender_mark(app);
    struct label l[] = {{"__name__", "handoff_test"}, {"job", j->name}};
    struct labels ls = {l, 2};
    uint64_t ref = 0;
    struct err e;
    if (tsdb_appender_add(app, &ref, &ls, 1000, 1.0, &e) < 0)
        return;
    if (j->fail)
        tsdb_appender_rollback_to(app, mark);
}

static void done(struct scrape_handoff_item *it, const struct err *commit_err)
{
    struct job *j = (struct job *) it;
    j->done = 1;
    j->committed = commit_err == NULL;
    done_count++;
}

static void on_closed(void *arg)
{
    *(int *) arg = 1;
}

static void run_until(uv_loop_t *loop, int *count, int want)
{
    for (int i = 0; i < 2000 && *count < want; i++)
        (void) uv_run(loop, UV_RUN_ONCE);
}

TEST(handoff_batches_items_through_one_appender)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&(struct tsdb_opts){0}, &db, &e), &e);
    struct scrape_handoff *h;
    ASSERT_OK(scrape_handoff_new(&loop, db, &h));
    struct job jobs[3] = {{.name = "a"}, {.name = "b", .fail = 1}, {.name = "c"}};
    work_order = done_count = 0;
    for (int i = 0; i < 3; i++) {
        jobs[i].item.work = work;
        jobs[i].item.done = done;
        scrape_handoff_submit(h, &jobs[i].item);
    }
    ASSERT_EQ(done_count, 0); /* waiting for more */
    run_until(&loop, &done_count, 3);
    ASSERT_EQ(done_count, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(jobs[i].order, i + 1);
        ASSERT_TRUE(jobs[i].app != NULL);
        ASSERT_TRUE(jobs[i].app == jobs[0].app); /* one batch, one appender */
        ASSERT_TRUE(jobs[i].committed);
    }
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.samples_appended, 2); /* b rolled back its own sample only */

    /* Big items go out at once: no timer wait before the work runs. */
    struct job big = {.name = "big"};
    big.item.work = work;
    big.item.done = done;
    big.item.bytes = 64u << 20;
    scrape_handoff_submit(h, &big.item);
    uint64_t t0 = uv_now(&loop);
    run_until(&loop, &done_count, 4);
    ASSERT_TRUE(big.done);
    ASSERT_TRUE(uv_now(&loop) - t0 < SCRAPE_HANDOFF_DELAY_MS);

    /* Two fetches under way: the first one back waits for the second, whose end closes the
     * batch at once, without the delay. */
    struct job f1 = {.name = "f1"}, f2 = {.name = "f2"};
    f1.item.work = f2.item.work = work;
    f1.item.done = f2.item.done = done;
    scrape_handoff_fetch_begin(h);
    scrape_handoff_fetch_begin(h);
    scrape_handoff_submit(h, &f1.item);
    scrape_handoff_fetch_end(h);
    t0 = uv_now(&loop);
    for (int i = 0; i < 3; i++)
        (void) uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_FALSE(f1.done); /* still waiting for f2 (or the delay) */
    scrape_handoff_submit(h, &f2.item);
    scrape_handoff_fetch_end(h);
    run_until(&loop, &done_count, 6);
    ASSERT_TRUE(f1.done && f2.done);
    ASSERT_TRUE(f1.app == f2.app);
    uv_update_time(&loop);
    ASSERT_TRUE(uv_now(&loop) - t0 < SCRAPE_HANDOFF_DELAY_MS);

    /* Closing flushes what waits and then closes. */
    struct job last = {.name = "last"};
    last.item.work = work;
    last.item.done = done;
    scrape_handoff_submit(h, &last.item);
    int closed = 0;
    scrape_handoff_close(h, on_closed, &closed);
    run_until(&loop, &closed, 1);
    ASSERT_TRUE(last.done);
    ASSERT_TRUE(closed);
    (void) uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.samples_appended, 6);
    tsdb_close(db);
}
