/* tsdb/head_append.c — the appender: buffers (series, t, v) and applies them on commit, so a
 * scrape that fails halfway stores nothing. Series are created at add time (Prometheus does the
 * same); a series created by a rolled-back appender simply has no samples.
 *
 * Commit writes the batch to the WAL before the head sees it: once commit returns, the samples
 * survive a crash of the process (the storage thread fsyncs the WAL every tick). Series records
 * are written lazily, by the first commit that uses a series, under the WAL order lock. */
#include <stdlib.h>

#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/wal.h"

struct pending {
    struct mem_series *s;
    int64_t t;
    double v;
};

struct tsdb_appender {
    tsdb *db;
    struct head *head;
    struct pending *v;
    size_t n, cap;
};

tsdb_appender *tsdb_appender_new(tsdb *db)
{
    tsdb_appender *a = calloc(1, sizeof *a);
    if (a) {
        a->db = db;
        a->head = tsdb_db_head(db);
        /* Keeps every series this appender resolves alive until commit (head.h). */
        pthread_rwlock_rdlock(&a->head->gc_lock);
    }
    return a;
}

int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const struct labels *ls, int64_t t_ms,
                      double v, struct err *e)
{
    struct mem_series *s = *ref ? head_series_by_ref(a->head, *ref) : NULL;
    if (!s) {
        if (!ls || ls->n == 0)
            return *ref ? err_set(e, ERR_NOT_FOUND, "unknown series reference %llu",
                                  (unsigned long long) *ref)
                        : err_set(e, ERR_PARSE, "empty label set");
        int r = head_get_or_create(a->head, ls, &s, NULL, e);
        if (r < 0)
            return r;
        *ref = s->ref;
    }
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        struct pending *p = realloc(a->v, nc * sizeof *p);
        if (!p)
            return err_set(e, -12, "out of memory buffering samples");
        a->v = p;
        a->cap = nc;
    }
    a->v[a->n++] = (struct pending){s, t_ms, v};
    return 0;
}

size_t tsdb_appender_mark(const tsdb_appender *a)
{
    return a->n;
}

void tsdb_appender_rollback_to(tsdb_appender *a, size_t mark)
{
    if (mark < a->n)
        a->n = mark; /* series created since stay, sample-less, as after a rollback */
}

static void appender_free(tsdb_appender *a)
{
    pthread_rwlock_unlock(&a->head->gc_lock);
    free(a->v);
    free(a);
}

static void unmark(struct head *h, struct mem_series *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i]->wal_logged = 0;
}

int head_log_series(const struct head *h, struct mem_series *const *ss, size_t n, struct buf *out)
{
    int r = 0;
    /* In frames of 4096, so no single frame grows huge with a million series. */
    for (size_t i = 0; r == 0 && i < n; i += 4096) {
        size_t m = n - i < 4096 ? n - i : 4096, n_labels = 0;
        for (size_t j = 0; j < m; j++)
            n_labels += ss[i + j]->n_labels;
        struct wal_series *v = malloc(m * sizeof *v);
        struct label *lv = malloc((n_labels ? n_labels : 1) * sizeof *lv);
        r = v && lv ? 0 : -12;
        for (size_t j = 0, k = 0; r == 0 && j < m; k += ss[i + j]->n_labels, j++)
            v[j] = (struct wal_series){ss[i + j]->ref, head_series_labels(h, ss[i + j], lv + k)};
        if (r == 0)
            r = wal_rec_series(out, v, m);
        free(v);
        free(lv);
    }
    return r;
}

/* Series records for a's series the WAL does not have yet, marked logged; WAL order lock held.
 * *ret_new lists them, so a failed write can take the marks back. */
static int log_new_series(tsdb_appender *a, struct buf *out, struct mem_series ***ret_new,
                          size_t *ret_n)
{
    struct mem_series **v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < a->n; i++) {
        struct mem_series *s = a->v[i].s;
        if (s->wal_logged)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct mem_series **p = realloc(v, cap * sizeof *p);
            if (!p) {
                unmark(a->head, v, n);
                free(v);
                return -12;
            }
            v = p;
        }
        v[n++] = s;
        s->wal_logged = 1;
    }
    *ret_new = v;
    *ret_n = n;
    return n ? head_log_series(a->head, v, n, out) : 0;
}

static int log_batch(tsdb_appender *a, struct err *e)
{
    struct wal_sample *ws = malloc(a->n * sizeof *ws);
    if (!ws)
        return err_set(e, -12, "out of memory writing the WAL");
    int64_t maxt = INT64_MIN;
    for (size_t i = 0; i < a->n; i++) {
        ws[i] = (struct wal_sample){a->v[i].s->ref, a->v[i].t, a->v[i].v};
        maxt = a->v[i].t > maxt ? a->v[i].t : maxt;
    }
    struct buf samples = BUF_INIT, frames = BUF_INIT;
    int r = wal_rec_samples(&samples, ws, a->n);
    free(ws);
    if (r < 0) {
        buf_free(&samples);
        return err_set(e, r, "encoding WAL samples: %s", err_str(r));
    }
    struct mem_series **newly = NULL;
    size_t n_new = 0;
    pthread_mutex_lock(&a->db->wal_order);
    r = log_new_series(a, &frames, &newly, &n_new);
    if (r == 0)
        r = buf_append(&frames, samples.p, samples.len);
    if (r == 0)
        r = wal_write(a->db->wal, frames.p, frames.len, maxt, e);
    else
        err_set(e, r, "encoding WAL records: %s", err_str(r));
    if (r < 0)
        unmark(a->head, newly, n_new);
    pthread_mutex_unlock(&a->db->wal_order);
    free(newly);
    buf_free(&samples);
    buf_free(&frames);
    return r;
}

int tsdb_appender_commit(tsdb_appender *a, struct err *e)
{
    int rejected = 0, failed = 0;
    if (a->n && a->db->wal && log_batch(a, e) < 0) {
        appender_free(a);
        return -1;
    }
    for (size_t i = 0; i < a->n; i++) {
        int r = head_series_append(a->head, a->v[i].s, a->v[i].t, a->v[i].v);
        if (r == ERR_OUT_OF_ORDER || r == ERR_DUPLICATE)
            rejected++;
        else if (r < 0)
            failed = r;
    }
    appender_free(a);
    if (failed)
        return err_set(e, failed, "appending samples: %s", err_str(failed));
    return rejected;
}

void tsdb_appender_rollback(tsdb_appender *a)
{
    if (a)
        appender_free(a);
}
