/* tests/unit/tsdb/test_storage.c — the database on disk: WAL replay after a restart, head cuts
 * into blocks, queries across blocks and head, compaction (also of overlapping blocks),
 * retention, out-of-bounds appends, damaged WAL tails and block chunks, the directory lock.
 * The storage thread ticks once an hour here: tests drive cuts and compactions themselves. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/tsdb.h"
#include "test.h"

#define HOUR 3600000LL
#define STEP 15000LL

static tsdb *open_dir(const char *dir, int64_t range)
{
    struct tsdb_opts o = {.dir = dir, .block_range_ms = range, .tick_ms = HOUR,
                          .wal_segment_bytes = 64 << 10};
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    return db;
}

/* Series i is test_metric{i="<i>"}; its value at t is i * 1000 + t / STEP (a counter). */
static double value_at(int i, int64_t t)
{
    return i * 1000.0 + (double) (t / STEP);
}

static void append_range(tsdb *db, int n_series, int64_t from, int64_t to)
{
    uint64_t *refs = calloc((size_t) n_series, sizeof *refs);
    for (int64_t t = from; t < to; t += STEP) {
        tsdb_appender *a = tsdb_appender_new(db);
        struct err e = {0};
        for (int i = 0; i < n_series; i++) {
            char v[16];
            snprintf(v, sizeof v, "%d", i);
            struct label l[2] = {{"__name__", "test_metric"}, {"i", v}};
            struct labels ls = {l, 2};
            ASSERT_OK_E(tsdb_appender_add(a, &refs[i], &ls, t, value_at(i, t), &e), &e);
        }
        ASSERT_EQ(tsdb_appender_commit(a, &e), 0);
    }
    free(refs);
}

/* Checks every series holds exactly the samples [from, to) at STEP with the right values. */
static void check_range(tsdb *db, int n_series, int64_t from, int64_t to)
{
    struct arena *a = arena_new(0);
    struct matcher m;
    struct err e = {0};
    ASSERT_OK_E(matcher_init(a, &m, MATCH_EQ, "__name__", "test_metric", &e), &e);
    tsdb_querier *q;
    ASSERT_OK_E(tsdb_querier_open(db, INT64_MIN, INT64_MAX, &q, &e), &e);
    struct tsdb_series *s;
    size_t n;
    ASSERT_OK_E(tsdb_querier_select(q, a, &m, 1, &s, &n, &e), &e);
    ASSERT_EQ(n, (size_t) n_series);
    for (size_t k = 0; k < n; k++) {
        int i = atoi(labels_get(&s[k].labels, "i"));
        struct tsdb_iter it;
        tsdb_iter_init(&it, &s[k]);
        int64_t want = from;
        while (tsdb_iter_next(&it) == 1) {
            ASSERT_EQ(it.t, want);
            ASSERT_DBL_EQ(it.v, value_at(i, it.t));
            want += STEP;
        }
        tsdb_iter_close(&it);
        ASSERT_EQ(want, to);
    }
    tsdb_querier_close(q);
    arena_free(a);
}

TEST(wal_replay_restores_every_committed_sample)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, 2 * HOUR);
    append_range(db, 50, 0, 30 * STEP);
    tsdb_close(db);
    db = open_dir(dir, 2 * HOUR);
    check_range(db, 50, 0, 30 * STEP);
    /* New appends continue after the replayed ones, and survive another restart. */
    append_range(db, 50, 30 * STEP, 40 * STEP);
    tsdb_close(db);
    db = open_dir(dir, 2 * HOUR);
    check_range(db, 50, 0, 40 * STEP);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.head_series, 50u);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

TEST(head_cut_serves_blocks_and_head_without_duplicates)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    append_range(db, 20, 0, 3 * HOUR);
    struct err e = {0};
    ASSERT_OK_E(db_cut_head(db, 0, HOUR - 1, &e), &e);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    ASSERT_TRUE(st.head_mint_ms >= HOUR);
    check_range(db, 20, 0, 3 * HOUR);
    /* The block range is closed to appends now. */
    append_range(db, 20, 3 * HOUR, 3 * HOUR + STEP);
    tsdb_appender *a = tsdb_appender_new(db);
    uint64_t ref = 0;
    struct label l[2] = {{"__name__", "test_metric"}, {"i", "0"}};
    struct labels ls = {l, 2};
    ASSERT_OK(tsdb_appender_add(a, &ref, &ls, HOUR - STEP, 1, &e));
    ASSERT_EQ(tsdb_appender_commit(a, &e), 1);
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.out_of_bound_samples, 1u);
    tsdb_close(db);
    /* After a restart: the block, then the checkpoint and the WAL's newer segments. */
    db = open_dir(dir, HOUR);
    check_range(db, 20, 0, 3 * HOUR + STEP);
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

TEST(compaction_merges_adjacent_blocks)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    append_range(db, 10, 0, 4 * HOUR);
    struct err e = {0};
    for (int64_t h = 0; h < 3; h++)
        ASSERT_OK_E(db_cut_head(db, h * HOUR, (h + 1) * HOUR - 1, &e), &e);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 3u);
    ASSERT_EQ(db_compact(db, &e), 1);
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    ASSERT_EQ(st.compactions, 1u);
    ASSERT_EQ(db_compact(db, &e), 0);
    check_range(db, 10, 0, 4 * HOUR);
    tsdb_close(db);
    db = open_dir(dir, HOUR);
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    check_range(db, 10, 0, 4 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

struct cut_job {
    tsdb *db;
    int64_t hour;
    int r;
};

static void *cut_hour(void *arg)
{
    struct cut_job *j = arg;
    struct err e = {0};
    j->r = db_cut_head(j->db, j->hour * HOUR, (j->hour + 1) * HOUR - 1, &e);
    return NULL;
}

/* Two threads cutting the head's oldest range at once (a bench beside the storage thread): they
 * take turns, the second finds the range already cut and writes no block, neither truncates the
 * head or the WAL under the other's block, and after a restart every sample is there once. */
TEST(concurrent_cuts_take_turns)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    append_range(db, 30, 0, 3 * HOUR);
    struct cut_job jobs[2] = {{db, 0, -1}, {db, 0, -1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, cut_hour, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    ASSERT_EQ(jobs[0].r, 0);
    ASSERT_EQ(jobs[1].r, 0);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    check_range(db, 30, 0, 3 * HOUR);
    tsdb_close(db);
    db = open_dir(dir, HOUR);
    check_range(db, 30, 0, 3 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

/* A block written straight to disk, as an import does. */
static void write_block(const char *dir, int n_series, int64_t from, int64_t to)
{
    struct block_writer *w;
    struct err e = {0};
    ASSERT_OK_E(block_writer_open(dir, from, to - 1, 1, &w, &e), &e);
    size_t n = (size_t) ((to - from) / STEP);
    int64_t *t = malloc(n * sizeof *t);
    double *v = malloc(n * sizeof *v);
    char names[64][8];
    ASSERT_TRUE(n_series <= 64);
    /* labels_cmp order of "0".."n": sort the decimal strings. */
    int order[64];
    for (int i = 0; i < n_series; i++) {
        snprintf(names[i], sizeof names[i], "%d", i);
        order[i] = i;
    }
    for (int i = 1; i < n_series; i++)
        for (int j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (int k = 0; k < n_series; k++) {
        int i = order[k];
        for (size_t j = 0; j < n; j++) {
            t[j] = from + (int64_t) j * STEP;
            v[j] = value_at(i, t[j]);
        }
        struct buf out = BUF_INIT;
        struct block_chunk *c = NULL;
        size_t cap = 0, nc;
        ASSERT_OK_E(db_encode_chunks(&out, t, v, n, 1, &c, &cap, &nc, &e), &e);
        struct label l[2] = {{"__name__", "test_metric"}, {"i", names[i]}};
        struct labels ls = {l, 2};
        ASSERT_OK_E(block_writer_add_series(w, &ls, c, nc, &e), &e);
        free(c);
        buf_free(&out);
    }
    struct block_meta meta;
    ASSERT_OK_E(block_writer_finish(w, &meta, &e), &e);
    free(t);
    free(v);
}

TEST(overlapping_blocks_are_merged_without_duplicates)
{
    char *dir = test_tmpdir();
    /* Two blocks over the same two hours, overlapping by one. */
    write_block(dir, 8, 0, 2 * HOUR);
    write_block(dir, 8, HOUR, 3 * HOUR);
    tsdb *db = open_dir(dir, HOUR);
    check_range(db, 8, 0, 3 * HOUR);
    struct err e = {0};
    ASSERT_EQ(db_compact(db, &e), 1);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    check_range(db, 8, 0, 3 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

TEST(retention_deletes_old_blocks_first)
{
    char *dir = test_tmpdir();
    struct tsdb_opts o = {.dir = dir, .block_range_ms = HOUR, .tick_ms = HOUR,
                          .retention_ms = 2 * HOUR};
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    append_range(db, 5, 0, 5 * HOUR);
    for (int64_t h = 0; h < 3; h++)
        ASSERT_OK_E(db_cut_head(db, h * HOUR, (h + 1) * HOUR - 1, &e), &e);
    db_apply_retention(db); /* newest sample ~5h: blocks ending before ~3h go */
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    ASSERT_EQ(st.retention_deletions, 2u);
    ASSERT_EQ(st.blocks_mint_ms, 2 * HOUR);
    check_range(db, 5, 2 * HOUR, 5 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

/* The one segment file with the highest number in dir/wal. */
static void last_segment(const char *dir, char *path, size_t n)
{
    char wal[4096];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    DIR *d = opendir(wal);
    ASSERT_TRUE(d != NULL);
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 8 && strcmp(de->d_name, best) > 0) {
            struct stat st;
            char p[4096 + 300];
            snprintf(p, sizeof p, "%s/%s", wal, de->d_name);
            if (stat(p, &st) == 0 && st.st_size > 0)
                snprintf(best, sizeof best, "%s", de->d_name);
        }
    closedir(d);
    ASSERT_TRUE(best[0] != 0);
    ASSERT_TRUE((size_t) snprintf(path, n, "%s/%s", wal, best) < n);
}

TEST(torn_wal_tail_is_cut_and_the_rest_replayed)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, 2 * HOUR);
    append_range(db, 10, 0, 20 * STEP);
    tsdb_close(db);
    char seg[4096];
    last_segment(dir, seg, sizeof seg);
    struct stat st;
    ASSERT_OK(stat(seg, &st));
    /* Tear the last commit (10 samples, compressed or not, < 200 bytes) in half. */
    ASSERT_OK(truncate(seg, st.st_size - 20));
    db = open_dir(dir, 2 * HOUR);
    struct tsdb_stats ts;
    tsdb_stats_get(db, &ts);
    ASSERT_EQ(ts.wal_corruptions, 1u);
    check_range(db, 10, 0, 19 * STEP);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

TEST(damaged_block_chunk_is_skipped_and_the_rest_served)
{
    char *dir = test_tmpdir();
    write_block(dir, 4, 0, HOUR);
    /* Flip a byte in the middle of the chunk file: it hits one series' chunk. */
    DIR *d = opendir(dir);
    struct dirent *de;
    char chunks[4096] = "";
    while ((de = readdir(d)))
        if (strlen(de->d_name) == BLOCK_ULID_LEN)
            snprintf(chunks, sizeof chunks, "%s/%s/chunks/000001", dir, de->d_name);
    closedir(d);
    int fd = open(chunks, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    struct stat st;
    ASSERT_OK(fstat(fd, &st));
    uint8_t byte;
    ASSERT_EQ(pread(fd, &byte, 1, st.st_size / 2), 1);
    byte ^= 0x55;
    ASSERT_EQ(pwrite(fd, &byte, 1, st.st_size / 2), 1);
    close(fd);
    tsdb *db = open_dir(dir, HOUR);
    struct arena *a = arena_new(0);
    struct matcher m;
    struct err e = {0};
    ASSERT_OK_E(matcher_init(a, &m, MATCH_EQ, "__name__", "test_metric", &e), &e);
    tsdb_querier *q;
    ASSERT_OK_E(tsdb_querier_open(db, INT64_MIN, INT64_MAX, &q, &e), &e);
    struct tsdb_series *s;
    size_t n, whole = 0, empty = 0;
    ASSERT_OK_E(tsdb_querier_select(q, a, &m, 1, &s, &n, &e), &e);
    ASSERT_EQ(n, 4u);
    for (size_t k = 0; k < n; k++) {
        struct tsdb_iter it;
        tsdb_iter_init(&it, &s[k]);
        size_t got = 0;
        while (tsdb_iter_next(&it) == 1)
            got++;
        tsdb_iter_close(&it);
        whole += got == (size_t) (HOUR / STEP);
        empty += got == 0;
    }
    ASSERT_EQ(whole, 3u);
    ASSERT_EQ(empty, 1u);
    struct tsdb_stats ts;
    tsdb_stats_get(db, &ts);
    ASSERT_TRUE(ts.corrupt_chunks >= 1);
    tsdb_querier_close(q);
    arena_free(a);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

TEST(data_directory_is_locked_against_a_second_process)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    struct tsdb_opts o = {.dir = dir};
    tsdb *db2 = NULL;
    struct err e = {0};
    ASSERT_EQ(tsdb_open(&o, &db2, &e), ERR_UNAVAILABLE);
    ASSERT_STR_CONTAINS(e.msg, "in use");
    tsdb_close(db);
    test_tmpdir_remove(dir);
}

/* Counts series i's samples (all if i < 0) over the whole time range. */
static size_t count_samples(tsdb *db, const char *i)
{
    struct arena *a = arena_new(0);
    struct matcher m[2];
    struct err e = {0};
    size_t n_ms = 1, total = 0, n;
    ASSERT_OK_E(matcher_init(a, &m[0], MATCH_EQ, "__name__", "test_metric", &e), &e);
    if (i)
        ASSERT_OK_E(matcher_init(a, &m[n_ms++], MATCH_EQ, "i", i, &e), &e);
    tsdb_querier *q;
    struct tsdb_series *s;
    ASSERT_OK_E(tsdb_querier_open(db, INT64_MIN, INT64_MAX, &q, &e), &e);
    ASSERT_OK_E(tsdb_querier_select(q, a, m, n_ms, &s, &n, &e), &e);
    for (size_t k = 0; k < n; k++) {
        struct tsdb_iter it;
        tsdb_iter_init(&it, &s[k]);
        while (tsdb_iter_next(&it) == 1)
            total++;
        tsdb_iter_close(&it);
    }
    tsdb_querier_close(q);
    arena_free(a);
    return total;
}

TEST(delete_series_removes_samples_from_head_and_blocks_for_good)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    append_range(db, 10, 0, 3 * HOUR);
    struct err e = {0};
    ASSERT_OK_E(db_cut_head(db, 0, HOUR - 1, &e), &e);
    struct arena *a = arena_new(0);
    struct matcher m[2];
    ASSERT_OK_E(matcher_init(a, &m[0], MATCH_EQ, "__name__", "test_metric", &e), &e);
    ASSERT_OK_E(matcher_init(a, &m[1], MATCH_EQ, "i", "3", &e), &e);
    /* From 30 minutes into the block to 30 minutes before the end of the head. */
    ASSERT_OK_E(tsdb_delete_series(db, m, 2, HOUR / 2, 5 * HOUR / 2 - 1, &e), &e);
    size_t per_series = (size_t) (3 * HOUR / STEP), gone = (size_t) (2 * HOUR / STEP);
    ASSERT_EQ(count_samples(db, "3"), per_series - gone);
    ASSERT_EQ(count_samples(db, "4"), per_series);
    ASSERT_EQ(count_samples(db, NULL), 10 * per_series - gone);
    tsdb_close(db);
    /* The WAL's tombstone record and the rewritten block keep it deleted after a restart. */
    db = open_dir(dir, HOUR);
    ASSERT_EQ(count_samples(db, "3"), per_series - gone);
    ASSERT_EQ(count_samples(db, NULL), 10 * per_series - gone);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.blocks, 1u);
    tsdb_close(db);
    arena_free(a);
    test_tmpdir_remove(dir);
}

/* tsdb_series_last() over [mint, maxt] of test_metric{i="<i>"}: returns whether it knew the
 * last sample, and checks that sample against the iterator's last one up to maxt. */
static int check_last(tsdb *db, const char *i, int64_t mint, int64_t maxt)
{
    struct arena *a = arena_new(0);
    struct matcher m[2];
    struct err e = {0};
    ASSERT_OK_E(matcher_init(a, &m[0], MATCH_EQ, "__name__", "test_metric", &e), &e);
    ASSERT_OK_E(matcher_init(a, &m[1], MATCH_EQ, "i", i, &e), &e);
    tsdb_querier *q;
    struct tsdb_series *s;
    size_t n;
    ASSERT_OK_E(tsdb_querier_open(db, mint, maxt, &q, &e), &e);
    ASSERT_OK_E(tsdb_querier_select(q, a, m, 2, &s, &n, &e), &e);
    int known = 0;
    for (size_t k = 0; k < n; k++) {
        struct tsdb_iter it;
        int64_t want_t = INT64_MIN, t;
        double want_v = 0, v;
        tsdb_iter_init(&it, &s[k]);
        while (tsdb_iter_next(&it) == 1) {
            want_t = it.t;
            want_v = it.v;
        }
        tsdb_iter_close(&it);
        if (!tsdb_series_last(&s[k], maxt, &t, &v))
            continue;
        known = 1;
        if (want_t == INT64_MIN) { /* nothing in the window: the newest sample is before it */
            ASSERT_TRUE(t < mint);
        } else {
            ASSERT_EQ(t, want_t);
            ASSERT_DBL_EQ(v, want_v);
        }
    }
    tsdb_querier_close(q);
    arena_free(a);
    return known;
}

TEST(series_last_sample_is_the_iterators_last_or_unknown)
{
    char *dir = test_tmpdir();
    tsdb *db = open_dir(dir, HOUR);
    append_range(db, 3, 0, 3 * HOUR);
    int64_t end = 3 * HOUR - STEP; /* the newest sample */
    /* The present: known from the head alone, at and past the newest sample. */
    ASSERT_TRUE(check_last(db, "1", end - 5 * 60000, end));
    ASSERT_TRUE(check_last(db, "1", end - 5 * 60000, end + HOUR));
    /* The past: the newest sample is after maxt, so the caller has to decode. */
    ASSERT_FALSE(check_last(db, "1", HOUR, 2 * HOUR));
    /* Head and a block merged: never claimed. */
    struct err e = {0};
    ASSERT_OK_E(db_cut_head(db, 0, HOUR - 1, &e), &e);
    ASSERT_FALSE(check_last(db, "1", 0, end));
    ASSERT_TRUE(check_last(db, "1", 2 * HOUR, end));
    /* After the newest samples are deleted, the last is the newest one kept. */
    struct arena *a = arena_new(0);
    struct matcher m[2];
    ASSERT_OK_E(matcher_init(a, &m[0], MATCH_EQ, "__name__", "test_metric", &e), &e);
    ASSERT_OK_E(matcher_init(a, &m[1], MATCH_EQ, "i", "2", &e), &e);
    ASSERT_OK_E(tsdb_delete_series(db, m, 2, end - 10 * STEP, end, &e), &e);
    ASSERT_TRUE(check_last(db, "2", end - 30 * STEP, end));
    /* A window that holds none of its samples any more selects nothing. */
    ASSERT_FALSE(check_last(db, "2", end - 5 * STEP, end));
    tsdb_close(db);
    arena_free(a);
    test_tmpdir_remove(dir);
}

/* tsdb import's path: many series interleaved by time, so full chunks queue up for the encoder
 * thread faster than one at a time (more than its queue holds); every sample comes back, in
 * blocks the database serves, and repeats are counted, not stored. */
static void backfill_range(tsdb_backfill *bf, int n_series, int64_t from, int64_t to)
{
    struct err e = {0};
    for (int64_t t = from; t < to; t += STEP) {
        for (int i = 0; i < n_series; i++) {
            char v[16];
            snprintf(v, sizeof v, "%d", i);
            struct label l[2] = {{"__name__", "test_metric"}, {"i", v}};
            struct labels ls = {l, 2};
            ASSERT_OK_E(tsdb_backfill_add(bf, &ls, t, value_at(i, t), &e), &e);
            if (i == 7) /* a repeat */
                ASSERT_OK_E(tsdb_backfill_add(bf, &ls, t, 1, &e), &e);
        }
    }
}

TEST(backfill_encodes_every_chunk_on_its_thread)
{
    char *dir = test_tmpdir();
    tsdb_backfill *bf;
    struct err e = {0};
    ASSERT_OK_E(tsdb_backfill_new(dir, 0, &bf, &e), &e);
    backfill_range(bf, 150, 0, 30 * HOUR);
    struct tsdb_backfill_stats st;
    ASSERT_OK_E(tsdb_backfill_finish(bf, &st, &e), &e);
    tsdb_backfill_free(bf);
    ASSERT_EQ(st.series, 150u);
    ASSERT_EQ(st.samples, 150u * (30 * HOUR / STEP));
    ASSERT_EQ(st.rejected, (uint64_t) (30 * HOUR / STEP));
    ASSERT_EQ(st.chunks, 150u * 15); /* 2h windows of 480 samples */
    ASSERT_EQ(st.blocks, 2u);        /* 18h blocks */
    tsdb *db = open_dir(dir, HOUR);
    check_range(db, 150, 0, 30 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);

    /* Freed without finish (an import that failed half way): the thread stops, nothing leaks. */
    dir = test_tmpdir();
    ASSERT_OK_E(tsdb_backfill_new(dir, 0, &bf, &e), &e);
    backfill_range(bf, 50, 0, 10 * HOUR);
    tsdb_backfill_free(bf);
    test_tmpdir_remove(dir);
}

/* A chunk ends where its aligned 2h window does, also across gaps and before the epoch. */
TEST(backfill_cuts_chunks_at_window_boundaries)
{
    char *dir = test_tmpdir();
    tsdb_backfill *bf;
    struct err e = {0};
    ASSERT_OK_E(tsdb_backfill_new(dir, 0, &bf, &e), &e);
    struct label l[1] = {{"__name__", "gappy"}};
    struct labels ls = {l, 1};
    /* windows: [-2h, 0) | [0, 2h): two | [2h, 4h) | [10h, 12h): two */
    const int64_t ts[] = {-1, 0, 2 * HOUR - 1, 2 * HOUR, 10 * HOUR + 5, 12 * HOUR - 1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        ASSERT_OK_E(tsdb_backfill_add(bf, &ls, ts[i], (double) i, &e), &e);
    struct tsdb_backfill_stats st;
    ASSERT_OK_E(tsdb_backfill_finish(bf, &st, &e), &e);
    tsdb_backfill_free(bf);
    ASSERT_EQ(st.samples, 6u);
    ASSERT_EQ(st.chunks, 4u);
    test_tmpdir_remove(dir);
}
