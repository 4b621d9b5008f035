/* tsdb/db.c — the database: owns the head (and, as storage grows, the WAL and blocks). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "head.h"
#include "tsdb/db.h"

struct tsdb {
    struct tsdb_opts opts;
    char *dir;
    struct head *head;
};

int tsdb_open(const struct tsdb_opts *o, tsdb **ret, struct err *e)
{
    tsdb *db = calloc(1, sizeof *db);
    if (!db)
        return err_set(e, -12, "out of memory");
    db->opts = *o;
    if (o->dir) {
        db->dir = strdup(o->dir);
        if (!db->dir)
            goto fail;
        db->opts.dir = db->dir;
        /* Created up front so a bad path fails at start-up, not at the first block write. */
        if (mkdir(o->dir, 0755) < 0 && errno != EEXIST) {
            int r = -errno;
            tsdb_close(db);
            return err_set(e, r, "create data directory %s: %s", o->dir, strerror(-r));
        }
    }
    if (head_new(o->chunk_samples, &db->head) < 0)
        goto fail;
    *ret = db;
    return 0;
fail:
    tsdb_close(db);
    return err_set(e, -12, "out of memory opening tsdb");
}

void tsdb_close(tsdb *db)
{
    if (!db)
        return;
    head_free(db->head);
    free(db->dir);
    free(db);
}

struct head *tsdb_db_head(tsdb *db)
{
    return db->head;
}

void tsdb_stats_get(tsdb *db, struct tsdb_stats *ret)
{
    head_stats(db->head, ret);
}
