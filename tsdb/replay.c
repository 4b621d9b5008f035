/* tsdb/replay.c — rebuilding the head from the WAL at start-up.
 *
 * Series keep the refs the WAL gave them, so refs stay stable across restarts and the samples
 * in any surviving segment still resolve after a checkpoint rewrote the series records.
 * Samples older than the newest block (head min_valid) are already in blocks and are skipped;
 * samples of refs the WAL never defined (their record was in a damaged stretch) are dropped and
 * counted in one warning. */
#include <stdio.h>
#include <stdlib.h>

#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/wal.h"

struct replay {
    tsdb *db;
    struct head *head;
    struct arena *scratch;
    uint64_t unknown_refs, bad_records, samples;
};

static int64_t replay_series(struct replay *rp, const uint8_t *body, size_t n)
{
    struct wal_series *s;
    size_t k;
    struct err e = {0};
    if (wal_dec_series(body, n, rp->scratch, &s, &k, &e) < 0) {
        rp->bad_records++;
        return INT64_MIN;
    }
    for (size_t i = 0; i < k; i++) {
        struct mem_series *ms;
        if (labels_sort(&s[i].labels) < 0 ||
            head_replay_series(rp->head, s[i].ref, &s[i].labels, &ms, &e) < 0)
            rp->bad_records++;
    }
    return INT64_MIN;
}

static int64_t replay_samples(struct replay *rp, const uint8_t *body, size_t n)
{
    struct wal_sample *s;
    size_t k;
    struct err e = {0};
    if (wal_dec_samples(body, n, rp->scratch, &s, &k, &e) < 0) {
        rp->bad_records++;
        return INT64_MIN;
    }
    int64_t maxt = INT64_MIN;
    int64_t min_valid = atomic_load(&rp->head->min_valid);
    for (size_t i = 0; i < k; i++) {
        maxt = s[i].t > maxt ? s[i].t : maxt;
        if (s[i].t < min_valid)
            continue;
        struct mem_series *ms = head_series_by_ref(rp->head, s[i].ref);
        if (!ms) {
            rp->unknown_refs++;
            continue;
        }
        if (head_series_append(rp->head, ms, s[i].t, s[i].v) == 0)
            rp->samples++;
    }
    return maxt;
}

static int64_t replay_record(void *ctx, enum wal_rec_type type, const uint8_t *body, size_t n)
{
    struct replay *rp = ctx;
    arena_reset(rp->scratch);
    switch (type) {
    case WAL_REC_SERIES:
        return replay_series(rp, body, n);
    case WAL_REC_SAMPLES:
        return replay_samples(rp, body, n);
    case WAL_REC_TOMBSTONES:
        db_replay_tombstones(rp->db, body, n, rp->scratch);
        return INT64_MIN;
    }
    return INT64_MIN;
}

int db_replay_wal(tsdb *db, struct err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/wal", db->dir);
    struct replay rp = {db, db->head, arena_new(0), 0, 0, 0};
    if (!rp.scratch)
        return err_set(e, -12, "out of memory replaying the WAL");
    struct wal_replay_stats st = {0};
    int64_t t0 = time_mono_ns();
    int r = wal_open(path, db->opts.wal_segment_bytes ? db->opts.wal_segment_bytes : 32u << 20,
                     replay_record, &rp, &st, &db->wal, e);
    arena_free(rp.scratch);
    if (r < 0)
        return r;
    head_replay_done(db->head);
    atomic_fetch_add(&db->wal_corruptions, st.corruptions);
    if (rp.unknown_refs || rp.bad_records)
        LOG_WARN("tsdb", "WAL replay dropped records it could not use",
                 "samples_of_unknown_series=%llu bad_records=%llu",
                 (unsigned long long) rp.unknown_refs, (unsigned long long) rp.bad_records);
    LOG_INFO("tsdb", "WAL replayed",
             "segments=%u records=%llu samples=%llu series=%llu corruptions=%llu duration_ms=%lld",
             st.segments, (unsigned long long) st.records, (unsigned long long) rp.samples,
             (unsigned long long) atomic_load(&db->head->n_series),
             (unsigned long long) st.corruptions, (long long) ((time_mono_ns() - t0) / 1000000));
    return 0;
}
