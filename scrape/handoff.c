/* scrape/handoff.c — batched hand-off of scrape jobs to the worker pool (design in handoff.h).
 *
 * States: idle (nothing queued, timer stopped) → waiting (items queued, timer running) → the
 * timer fires, the last fetch under way ends, or the queue passes MAX_QUEUED_BYTES: the queue
 * becomes one batch, a pool job of
 * its own. Batches may overlap (a slow one does not hold the next back past the delay), up to
 * MAX_RUNNING; past that the queue waits for a batch to finish. Closing flushes at once and
 * frees h after the last batch and the timer's close. */
#include "scrape/handoff.h"

#include <errno.h>
#include <stdlib.h>

/* A batch holds its items' bodies until it has run; a target sends at most its body limit (64
 * MiB by default), so a burst of big bodies goes out at once rather than piling up. */
#define MAX_QUEUED_BYTES (8u << 20)
/* libuv's default pool has 4 threads; more batches than that would only queue in the pool. */
#define MAX_RUNNING 4

struct batch {
    uv_work_t work;
    struct scrape_handoff *h;
    struct scrape_handoff_item *first;
    int failed;     /* the commit failed: err says why */
    struct err err;
};

struct scrape_handoff {
    uv_loop_t *uv;
    tsdb *db;
    uv_timer_t timer;
    struct scrape_handoff_item *head, **tail; /* queued, in submission order */
    size_t queued_bytes;
    unsigned running;  /* batches in the pool */
    unsigned fetching; /* fetches begun and not ended */
    int closing;
    void (*closed)(void *);
    void *closed_arg;
};

int scrape_handoff_new(uv_loop_t *uv, tsdb *db, struct scrape_handoff **ret)
{
    struct scrape_handoff *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->uv = uv;
    h->db = db;
    h->tail = &h->head;
    uv_timer_init(uv, &h->timer);
    h->timer.data = h;
    *ret = h;
    return 0;
}

static void batch_work(uv_work_t *w)
{
    struct batch *b = w->data;
    tsdb_appender *app = tsdb_appender_new(b->h->db);
    for (struct scrape_handoff_item *it = b->first; it; it = it->next)
        it->work(it, app);
    if (!app) {
        b->failed = 1;
        err_set(&b->err, -ENOMEM, "out of memory");
    } else if (tsdb_appender_commit(app, &b->err) < 0) {
        b->failed = 1;
    }
}

static void flush(struct scrape_handoff *h);
static void maybe_close(struct scrape_handoff *h);

static void on_timer(uv_timer_t *t)
{
    flush(t->data);
}

static void batch_done(uv_work_t *w, int status)
{
    (void) status; /* batches are never canceled */
    struct batch *b = w->data;
    struct scrape_handoff *h = b->h;
    for (struct scrape_handoff_item *it = b->first, *next; it; it = next) {
        next = it->next; /* done may free it */
        it->done(it, b->failed ? &b->err : NULL);
    }
    free(b);
    h->running--;
    /* Items that came while every slot was taken have waited long enough. */
    if (h->head && !uv_is_active((uv_handle_t *) &h->timer))
        flush(h);
    maybe_close(h);
}

/* The queue, as one batch, to the pool (or run here when the pool refuses: a closing loop). */
static void flush(struct scrape_handoff *h)
{
    if (!h->head || h->running >= MAX_RUNNING)
        return;
    uv_timer_stop(&h->timer);
    struct batch *b = calloc(1, sizeof *b);
    if (!b) { /* out of memory: the items wait for the next flush rather than get lost */
        if (!h->running)
            uv_timer_start(&h->timer, on_timer, SCRAPE_HANDOFF_DELAY_MS, 0);
        return;
    }
    b->h = h;
    b->first = h->head;
    b->work.data = b;
    h->head = NULL;
    h->tail = &h->head;
    h->queued_bytes = 0;
    h->running++;
    if (uv_queue_work(h->uv, &b->work, batch_work, batch_done) < 0) {
        batch_work(&b->work);
        batch_done(&b->work, 0);
    }
}

void scrape_handoff_submit(struct scrape_handoff *h, struct scrape_handoff_item *it)
{
    it->next = NULL;
    *h->tail = it;
    h->tail = &it->next;
    h->queued_bytes += it->bytes;
    if (h->closing || h->queued_bytes >= MAX_QUEUED_BYTES)
        flush(h);
    else if (!uv_is_active((uv_handle_t *) &h->timer))
        uv_timer_start(&h->timer, on_timer, SCRAPE_HANDOFF_DELAY_MS, 0);
}

void scrape_handoff_fetch_begin(struct scrape_handoff *h)
{
    h->fetching++;
}

void scrape_handoff_fetch_end(struct scrape_handoff *h)
{
    if (NEVER(h->fetching == 0))
        return;
    if (--h->fetching == 0 && h->head)
        flush(h);
}

static void on_closed(uv_handle_t *handle)
{
    struct scrape_handoff *h = handle->data;
    void (*closed)(void *) = h->closed;
    void *arg = h->closed_arg;
    free(h);
    if (closed)
        closed(arg);
}

static void maybe_close(struct scrape_handoff *h)
{
    if (h->closing && !h->head && !h->running && !uv_is_closing((uv_handle_t *) &h->timer))
        uv_close((uv_handle_t *) &h->timer, on_closed);
}

void scrape_handoff_close(struct scrape_handoff *h, void (*closed)(void *arg), void *arg)
{
    h->closing = 1;
    h->closed = closed;
    h->closed_arg = arg;
    flush(h);
    maybe_close(h);
}
