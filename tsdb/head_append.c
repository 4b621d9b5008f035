/* tsdb/head_append.c — the appender: buffers (series, t, v) and applies them on commit, so a
 * scrape that fails halfway stores nothing. Series are created at add time (Prometheus does the
 * same); a series created by a rolled-back appender simply has no samples. */
#include <stdlib.h>

#include "head.h"
#include "tsdb/db.h"

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
    }
    return a;
}

int tsdb_appender_add(tsdb_appender *a, uint64_t *ref, const struct labels *ls, int64_t t_ms,
                      double v, struct err *e)
{
    struct mem_series *s = *ref ? head_series_by_ref(a->head, *ref) : NULL;
    if (!s) {
        if (!ls || ls->n == 0)
            return err_set(e, ERR_PARSE, *ref ? "unknown series reference %llu" : "empty label set",
                           (unsigned long long) *ref);
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

int tsdb_appender_commit(tsdb_appender *a, struct err *e)
{
    int rejected = 0, failed = 0;
    for (size_t i = 0; i < a->n; i++) {
        int r = head_series_append(a->head, a->v[i].s, a->v[i].t, a->v[i].v);
        if (r == ERR_OUT_OF_ORDER || r == ERR_DUPLICATE)
            rejected++;
        else if (r < 0)
            failed = r;
    }
    free(a->v);
    free(a);
    if (failed)
        return err_set(e, failed, "appending samples: %s", err_str(failed));
    return rejected;
}

void tsdb_appender_rollback(tsdb_appender *a)
{
    if (!a)
        return;
    free(a->v);
    free(a);
}
