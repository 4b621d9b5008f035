/* tests/unit/tsdb/test_wal.c — WAL records (round trips, compression, strict decoding of
 * malformed bodies; formats in tsdb/wal_record.c) and segment files (replay order across
 * checkpoint and segments, rotation, truncation, torn and corrupt files, crash leftovers, names
 * that are not ours, concurrent writers). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "tsdb/wal.h"
#include "test.h"

/* ---- helpers ---- */

/* The body of the single frame in b (decompressed into *scratch when needed). */
static void frame_body(const struct buf *b, int *ret_type, const uint8_t **ret_body, size_t *ret_n,
                       struct buf *scratch)
{
    ASSERT_TRUE(b->len >= 9);
    uint32_t len = be32_get(b->p);
    ASSERT_EQ(len + 8, b->len);
    ASSERT_EQ(be32_get(b->p + 4), crc32c(0, b->p + 8, len));
    *ret_type = b->p[8];
    if (b->p[8] & WAL_REC_COMPRESSED) {
        unsigned long long sz = ZSTD_getFrameContentSize(b->p + 9, len - 1);
        ASSERT_TRUE(sz < (1u << 26));
        scratch->len = 0;
        ASSERT_OK(buf_reserve(scratch, (size_t) sz + 1));
        size_t got = ZSTD_decompress(scratch->p, (size_t) sz, b->p + 9, len - 1);
        ASSERT_EQ(got, sz);
        scratch->len = got;
        *ret_body = scratch->p;
        *ret_n = got;
    } else {
        *ret_body = b->p + 9;
        *ret_n = len - 1;
    }
}

/* A samples frame of count samples of ref at t, t+1, ... */
static void put_samples(struct buf *b, uint64_t ref, int64_t t, size_t count)
{
    struct wal_sample s[64];
    ASSERT_TRUE(count <= 64);
    for (size_t i = 0; i < count; i++)
        s[i] = (struct wal_sample){ref, t + (int64_t) i, (double) i};
    ASSERT_OK(wal_rec_samples(b, s, count));
}

/* What replay delivered, in order: type and an identity (series: first ref; samples: first t;
 * tombstones: first ref). */
struct seen {
    int type[4096];
    int64_t id[4096];
    size_t n;
    size_t bad; /* bodies that did not decode */
};

static int64_t collect(void *ctx, enum wal_rec_type type, const uint8_t *body, size_t n)
{
    struct seen *c = ctx;
    struct arena *a = arena_new(0);
    struct err e;
    int64_t maxt = INT64_MIN, id = -1;
    size_t k = 0;
    if (type == WAL_REC_SAMPLES) {
        struct wal_sample *s;
        if (wal_dec_samples(body, n, a, &s, &k, &e) < 0)
            c->bad++;
        for (size_t i = 0; i < k; i++)
            maxt = s[i].t > maxt ? s[i].t : maxt;
        if (k)
            id = s[0].t;
    } else if (type == WAL_REC_SERIES) {
        struct wal_series *s;
        if (wal_dec_series(body, n, a, &s, &k, &e) < 0)
            c->bad++;
        if (k)
            id = (int64_t) s[0].ref;
    } else {
        struct wal_tombstone *t;
        if (wal_dec_tombstones(body, n, a, &t, &k, &e) < 0)
            c->bad++;
        if (k)
            id = (int64_t) t[0].ref;
    }
    arena_free(a);
    if (c->n < ARRAY_LEN(c->type)) {
        c->type[c->n] = type;
        c->id[c->n] = id;
        c->n++;
    }
    return maxt;
}

static struct wal *open_wal(const char *dir, uint64_t seg_bytes, struct seen *c,
                            struct wal_replay_stats *st)
{
    struct wal *w = NULL;
    struct err e;
    memset(c, 0, sizeof *c);
    ASSERT_OK_E(wal_open(dir, seg_bytes, collect, c, st, &w, &e), &e);
    return w;
}

/* Writes one samples frame (one sample at t) as its own wal_write. */
static void write_sample(struct wal *w, int64_t t)
{
    struct buf b = BUF_INIT;
    struct err e;
    put_samples(&b, 1, t, 1);
    ASSERT_OK_E(wal_write(w, b.p, b.len, t, &e), &e);
    buf_free(&b);
}

static char *path_of(const char *dir, const char *name)
{
    static char p[4][4096];
    static int k;
    k = (k + 1) % 4;
    (void) snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static int64_t file_size(const char *dir, const char *name)
{
    struct stat sb;
    return stat(path_of(dir, name), &sb) == 0 ? (int64_t) sb.st_size : -1;
}

static int exists(const char *dir, const char *name)
{
    return file_size(dir, name) >= 0;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    int fd = open(path_of(dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, p, n), (long long) n);
    close(fd);
}

/* Sends log lines to a file while the body runs; returns them NUL-terminated (caller frees). */
static int log_fd = -1;
static char log_path[4096];
static void log_capture(const char *dir)
{
    (void) snprintf(log_path, sizeof log_path, "%s/../wal-test-log-%d", dir, (int) getpid());
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_TRUE(log_fd >= 0);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, log_fd);
}
static char *log_release(void)
{
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, 2);
    close(log_fd);
    log_fd = -1;
    size_t n;
    char *s = test_read_file(log_path, &n);
    (void) unlink(log_path);
    ASSERT_TRUE(s != NULL);
    return s;
}

/* ---- records ---- */

TEST(series_round_trip_with_unicode_and_compression)
{
    struct label l1[] = {{"__name__", "http_requests_total"}, {"job", "api"}, {"path", "/"}};
    struct label l2[] = {{"__name__", "température_°C"}, {"city", "Zürich ⛰ 東京"},
                         {"empty", ""}};
    struct label big[40];
    char names[40][8], values[40][32];
    for (int i = 0; i < 40; i++) {
        (void) snprintf(names[i], sizeof names[i], "l%02d", i);
        (void) snprintf(values[i], sizeof values[i], "value-%d-ünïcödé", i);
        big[i] = (struct label){names[i], values[i]};
    }
    struct wal_series in[] = {
        {1, {l1, 3}},
        {UINT64_MAX, {l2, 3}},
        {77, {big, 40}},
    };
    for (size_t cut = 1; cut <= 3; cut++) {
        struct buf b = BUF_INIT, scratch = BUF_INIT;
        ASSERT_OK(wal_rec_series(&b, in, cut));
        int type;
        const uint8_t *body;
        size_t n;
        frame_body(&b, &type, &body, &n, &scratch);
        /* The 40-label series makes the body large and repetitive: it must be compressed. */
        ASSERT_EQ(type, cut == 3 ? (WAL_REC_SERIES | WAL_REC_COMPRESSED) : WAL_REC_SERIES);
        struct arena *a = arena_new(0);
        struct wal_series *out;
        size_t k;
        struct err e;
        ASSERT_OK_E(wal_dec_series(body, n, a, &out, &k, &e), &e);
        ASSERT_EQ(k, cut);
        for (size_t i = 0; i < k; i++) {
            ASSERT_TRUE(out[i].ref == in[i].ref);
            ASSERT_TRUE(labels_equal(&out[i].labels, &in[i].labels));
        }
        arena_free(a);
        buf_free(&b);
        buf_free(&scratch);
    }
}

TEST(samples_round_trip_extremes_and_compression)
{
    struct wal_sample in[2000];
    size_t n = 0;
    in[n++] = (struct wal_sample){5, 1700000000000, 1.5};
    in[n++] = (struct wal_sample){UINT64_MAX, INT64_MIN, -0.0};
    in[n++] = (struct wal_sample){0, INT64_MAX, (double) INFINITY};
    in[n++] = (struct wal_sample){1, -1, (double) -INFINITY};
    in[n++] = (struct wal_sample){3, 0, num_stale_nan()};
    while (n < ARRAY_LEN(in)) {
        in[n] = (struct wal_sample){100 + n, 1700000000000 + (int64_t) n * 15000, (double) n};
        n++;
    }
    size_t sizes[] = {0, 1, 5, ARRAY_LEN(in)};
    for (size_t si = 0; si < ARRAY_LEN(sizes); si++) {
        size_t cnt = sizes[si];
        struct buf b = BUF_INIT, scratch = BUF_INIT;
        ASSERT_OK(wal_rec_samples(&b, in, cnt));
        int type;
        const uint8_t *body;
        size_t bn;
        frame_body(&b, &type, &body, &bn, &scratch);
        ASSERT_EQ(type & 0x7f, WAL_REC_SAMPLES);
        ASSERT_EQ(!!(type & WAL_REC_COMPRESSED), cnt == ARRAY_LEN(in));
        struct arena *a = arena_new(0);
        struct wal_sample *out;
        size_t k;
        struct err e;
        ASSERT_OK_E(wal_dec_samples(body, bn, a, &out, &k, &e), &e);
        ASSERT_EQ(k, cnt);
        for (size_t i = 0; i < k; i++) {
            ASSERT_TRUE(out[i].ref == in[i].ref);
            ASSERT_EQ(out[i].t, in[i].t);
            ASSERT_MEM_EQ(&out[i].v, &in[i].v, sizeof(double)); /* bit for bit */
        }
        arena_free(a);
        buf_free(&b);
        buf_free(&scratch);
    }
}

TEST(tombstones_round_trip)
{
    struct wal_tombstone in[] = {
        {1, 0, 1000}, {UINT64_MAX, INT64_MIN, INT64_MAX}, {42, -5, -5}};
    struct buf b = BUF_INIT, scratch = BUF_INIT;
    ASSERT_OK(wal_rec_tombstones(&b, in, 3));
    int type;
    const uint8_t *body;
    size_t bn;
    frame_body(&b, &type, &body, &bn, &scratch);
    ASSERT_EQ(type, WAL_REC_TOMBSTONES);
    struct arena *a = arena_new(0);
    struct wal_tombstone *out;
    size_t k;
    struct err e;
    ASSERT_OK_E(wal_dec_tombstones(body, bn, a, &out, &k, &e), &e);
    ASSERT_EQ(k, 3);
    ASSERT_MEM_EQ(out, in, sizeof in);
    arena_free(a);
    buf_free(&b);
    buf_free(&scratch);
}

TEST(encoders_refuse_what_decoders_reject_and_leave_buffer_alone)
{
    struct buf b = BUF_INIT;
    ASSERT_OK(buf_puts(&b, "keep"));
    struct label unsorted[] = {{"b", "1"}, {"a", "2"}};
    struct label dup[] = {{"a", "1"}, {"a", "2"}};
    struct label empty_name[] = {{"", "1"}};
    struct wal_series s1 = {1, {unsorted, 2}}, s2 = {1, {dup, 2}}, s3 = {1, {empty_name, 1}},
                      s4 = {1, {NULL, 0}};
    ASSERT_EQ(wal_rec_series(&b, &s1, 1), -EINVAL);
    ASSERT_EQ(wal_rec_series(&b, &s2, 1), -EINVAL);
    ASSERT_EQ(wal_rec_series(&b, &s3, 1), -EINVAL);
    ASSERT_EQ(wal_rec_series(&b, &s4, 1), -EINVAL);
    struct wal_tombstone t = {1, 10, 9};
    ASSERT_EQ(wal_rec_tombstones(&b, &t, 1), -EINVAL);
    ASSERT_EQ(b.len, 4);
    buf_free(&b);
}

/* Each decoder on body bytes; returns its result and checks the error code. */
static int dec(int type, const uint8_t *p, size_t n)
{
    struct arena *a = arena_new(1 << 20);
    struct err e = {0};
    size_t k;
    int r;
    if (type == WAL_REC_SERIES) {
        struct wal_series *s;
        r = wal_dec_series(p, n, a, &s, &k, &e);
    } else if (type == WAL_REC_SAMPLES) {
        struct wal_sample *s;
        r = wal_dec_samples(p, n, a, &s, &k, &e);
    } else {
        struct wal_tombstone *t;
        r = wal_dec_tombstones(p, n, a, &t, &k, &e);
    }
    if (r < 0) {
        ASSERT_EQ(r, ERR_CORRUPT);
        ASSERT_STR_CONTAINS(e.msg, "wal ");
    }
    arena_free(a);
    return r;
}

TEST(decoders_reject_every_truncation)
{
    struct label l[] = {{"__name__", "up"}, {"job", "x"}};
    struct wal_series s = {9, {l, 2}};
    struct wal_sample sm[3] = {{1, 1000, 1}, {2, 2000, 2}, {3, 3000, 3}};
    struct wal_tombstone t[2] = {{1, 0, 10}, {2, 5, 6}};
    for (int type = 1; type <= 3; type++) {
        struct buf b = BUF_INIT;
        if (type == WAL_REC_SERIES)
            ASSERT_OK(wal_rec_series(&b, &s, 1));
        else if (type == WAL_REC_SAMPLES)
            ASSERT_OK(wal_rec_samples(&b, sm, 3));
        else
            ASSERT_OK(wal_rec_tombstones(&b, t, 2));
        ASSERT_EQ(b.p[8], type); /* small: not compressed */
        const uint8_t *body = b.p + 9;
        size_t n = b.len - 9;
        ASSERT_OK(dec(type, body, n));
        for (size_t cut = 0; cut < n; cut++)
            ASSERT_TRUE(dec(type, cut ? body : NULL, cut) < 0);
        /* trailing bytes */
        uint8_t more[256];
        memcpy(more, body, n);
        more[n] = 0;
        ASSERT_TRUE(dec(type, more, n + 1) < 0);
        buf_free(&b);
    }
}

TEST(decoders_reject_forged_counts_bad_varints_and_bad_labels)
{
    /* count 2^40 in a short body: refused before any allocation (the arena cap is 1 MiB). */
    const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    for (int type = 1; type <= 3; type++)
        ASSERT_TRUE(dec(type, huge, sizeof huge) < 0);
    /* an 11-byte varint, and a 10-byte one overflowing 64 bits */
    const uint8_t long_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    for (int type = 1; type <= 3; type++) {
        ASSERT_TRUE(dec(type, long_varint, sizeof long_varint) < 0);
        ASSERT_TRUE(dec(type, over, sizeof over) < 0);
    }
    /* series: count 1, ref 1, nlabels ... */
    const uint8_t no_labels[] = {1, 1, 0, 0, 0, 0};
    const uint8_t empty_name[] = {1, 1, 1, 0, 1, 'x', 0};
    const uint8_t nul_name[] = {1, 1, 1, 2, 'a', 0, 1, 'x'};
    const uint8_t nul_value[] = {1, 1, 1, 1, 'a', 2, 'x', 0};
    const uint8_t unsorted[] = {1, 1, 2, 1, 'b', 1, 'x', 1, 'a', 1, 'y'};
    const uint8_t duplicate[] = {1, 1, 2, 1, 'a', 1, 'x', 1, 'a', 1, 'y'};
    const uint8_t long_value[] = {1, 1, 1, 1, 'a', 0x7f, 'x', 'y', 'z'};
    const uint8_t many_labels[] = {1, 1, 0xff, 0x01, 1, 'a', 1, 'x'};
    const uint8_t ok[] = {1, 1, 2, 1, 'a', 1, 'x', 1, 'b', 0};
    ASSERT_TRUE(dec(WAL_REC_SERIES, no_labels, sizeof no_labels) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, empty_name, sizeof empty_name) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, nul_name, sizeof nul_name) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, nul_value, sizeof nul_value) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, unsorted, sizeof unsorted) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, duplicate, sizeof duplicate) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, long_value, sizeof long_value) < 0);
    ASSERT_TRUE(dec(WAL_REC_SERIES, many_labels, sizeof many_labels) < 0);
    ASSERT_OK(dec(WAL_REC_SERIES, ok, sizeof ok));
    /* tombstone with mint > maxt (zigzag 4 = 2, 2 = 1) */
    const uint8_t backwards[] = {1, 1, 4, 2};
    ASSERT_TRUE(dec(WAL_REC_TOMBSTONES, backwards, sizeof backwards) < 0);
    /* samples: count 2 but room for one */
    const uint8_t short_samples[] = {2, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1, 2, 3};
    ASSERT_TRUE(dec(WAL_REC_SAMPLES, short_samples, sizeof short_samples) < 0);
    const uint8_t empty_ok[] = {0};
    for (int type = 1; type <= 3; type++)
        ASSERT_OK(dec(type, empty_ok, 1));
}

TEST(decoder_reports_arena_limit_not_corruption)
{
    struct wal_sample s[64];
    for (int i = 0; i < 64; i++)
        s[i] = (struct wal_sample){1, i, 0};
    struct buf b = BUF_INIT, scratch = BUF_INIT;
    ASSERT_OK(wal_rec_samples(&b, s, 64));
    int type;
    const uint8_t *body;
    size_t n;
    frame_body(&b, &type, &body, &n, &scratch);
    struct arena *a = arena_new(256);
    struct wal_sample *out;
    size_t k = 99;
    struct err e;
    ASSERT_EQ(wal_dec_samples(body, n, a, &out, &k, &e), ERR_LIMIT);
    ASSERT_EQ(k, 99); /* ret_* untouched on failure */
    arena_free(a);
    buf_free(&b);
    buf_free(&scratch);
}

/* ---- files ---- */

TEST(empty_dir_is_created_and_starts_at_segment_zero)
{
    char *base = test_tmpdir();
    char dir[600];
    (void) snprintf(dir, sizeof dir, "%s/wal", base);
    struct seen c;
    struct wal_replay_stats st;
    struct wal *w = open_wal(dir, 0, &c, &st);
    ASSERT_EQ(c.n, 0);
    ASSERT_EQ(st.segments, 0);
    ASSERT_TRUE(exists(dir, "00000000"));
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.first_segment, 0);
    ASSERT_EQ(ws.last_segment, 0);
    ASSERT_EQ(ws.bytes, 0);
    write_sample(w, 7);
    struct err e;
    ASSERT_OK_E(wal_sync(w, &e), &e);
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.writes, 1);
    ASSERT_EQ(ws.syncs, 1);
    ASSERT_EQ(ws.bytes, file_size(dir, "00000000"));
    wal_close(w);
    /* Reopen: replays it and writes to a new segment, never the old one. */
    w = open_wal(dir, 0, &c, &st);
    ASSERT_EQ(c.n, 1);
    ASSERT_EQ(c.id[0], 7);
    ASSERT_EQ(st.segments, 1);
    ASSERT_TRUE(exists(dir, "00000001"));
    wal_close(w);
    test_tmpdir_remove(base);
}

TEST(fsync_summary_counts_segment_fsyncs_and_its_quantiles_come_from_them)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct wal *w = open_wal(dir, 200, &c, NULL);
    struct wal_fsync_summary fs;
    wal_fsync_summary_get(w, &fs);
    ASSERT_EQ(fs.count, 0); /* the directory's fsync at open is not a segment fsync */
    ASSERT_TRUE(fs.seconds_sum == 0);
    for (int i = 0; i < WAL_FSYNC_QUANTILES; i++)
        ASSERT_TRUE(isnan(fs.value[i]));
    /* One sync of the current segment. */
    write_sample(w, 1);
    struct err e;
    ASSERT_OK_E(wal_sync(w, &e), &e);
    wal_fsync_summary_get(w, &fs);
    ASSERT_EQ(fs.count, 1);
    ASSERT_TRUE(fs.seconds_sum >= 0);
    ASSERT_TRUE(fs.q[0] == 0.5 && fs.q[1] == 0.9 && fs.q[2] == 0.99);
    for (int i = 0; i < WAL_FSYNC_QUANTILES; i++)
        ASSERT_TRUE(fs.value[i] == fs.seconds_sum); /* one observation: every quantile is it */
    /* Rotations park closed segments: the next sync fsyncs each of them and the current one. */
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    uint32_t first = ws.last_segment;
    for (int i = 0; i < 20; i++)
        write_sample(w, 10 + i);
    wal_stats_get(w, &ws);
    uint32_t closed = ws.last_segment - first;
    ASSERT_TRUE(closed >= 1);
    ASSERT_OK_E(wal_sync(w, &e), &e);
    wal_fsync_summary_get(w, &fs);
    ASSERT_EQ(fs.count, 1 + closed + 1);
    ASSERT_TRUE(fs.value[0] <= fs.value[1] && fs.value[1] <= fs.value[2]);
    ASSERT_TRUE(fs.value[2] <= fs.seconds_sum);
    wal_close(w);
    test_tmpdir_remove(dir);
}

TEST(rotation_by_size_and_oversized_frames)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct wal *w = open_wal(dir, 200, &c, NULL);
    struct buf one = BUF_INIT;
    put_samples(&one, 1, 0, 1);
    size_t fl = one.len; /* one frame; 200 bytes hold several */
    buf_free(&one);
    for (int i = 0; i < 50; i++)
        write_sample(w, i);
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    size_t per = 200 / fl;
    ASSERT_EQ(ws.last_segment - ws.first_segment + 1, (50 + per - 1) / per);
    for (uint32_t s = ws.first_segment; s <= ws.last_segment; s++) {
        char name[16];
        (void) snprintf(name, sizeof name, "%08u", s);
        ASSERT_TRUE(file_size(dir, name) <= 200);
        ASSERT_TRUE(file_size(dir, name) > 0);
    }
    /* A write bigger than a segment gets a segment of its own. */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 10; i++)
        put_samples(&big, 2, 1000 + i * 64, 64);
    ASSERT_TRUE(big.len > 200);
    struct err e;
    uint32_t before = ws.last_segment;
    ASSERT_OK_E(wal_write(w, big.p, big.len, 2000, &e), &e);
    write_sample(w, 5000);
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.last_segment, before + 2);
    char name[16];
    (void) snprintf(name, sizeof name, "%08u", before + 1);
    ASSERT_EQ(file_size(dir, name), (int64_t) big.len);
    buf_free(&big);
    /* Not whole frames: refused, nothing written. */
    uint8_t junk[12] = {0, 0, 0, 9, 1, 2, 3, 4, 2, 0, 0, 0};
    ASSERT_EQ(wal_write(w, junk, sizeof junk, 0, &e), ERR_INTERNAL);
    wal_close(w);
    struct wal_replay_stats st;
    w = open_wal(dir, 200, &c, &st);
    ASSERT_EQ(c.n, 50 + 10 + 1);
    ASSERT_EQ(c.bad, 0);
    for (size_t i = 1; i < c.n; i++)
        ASSERT_TRUE(c.id[i] > c.id[i - 1]); /* segments in ascending order */
    ASSERT_EQ(st.corruptions, 0);
    wal_close(w);
    test_tmpdir_remove(dir);
}

TEST(truncate_deletes_old_segments_and_replay_starts_with_checkpoint)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct err e;
    struct wal *w = open_wal(dir, 150, &c, NULL);
    for (int i = 0; i < 30; i++)
        write_sample(w, i * 10); /* t = 0 .. 290, several frames per segment */
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    uint32_t last = ws.last_segment;
    ASSERT_TRUE(last >= 4);
    /* Nothing older than mint = -1: no checkpoint, nothing deleted, no rotation. */
    ASSERT_OK_E(wal_truncate(w, -1, NULL, 0, &e), &e);
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.first_segment, 0);
    ASSERT_EQ(ws.last_segment, last);

    struct buf ck = BUF_INIT;
    struct label l[] = {{"__name__", "up"}};
    struct wal_series s = {1, {l, 1}};
    ASSERT_OK(wal_rec_series(&ck, &s, 1));
    struct wal_tombstone t = {1, 0, 5};
    ASSERT_OK(wal_rec_tombstones(&ck, &t, 1));
    /* A checkpoint that is not whole frames is refused before anything changes. */
    ASSERT_EQ(wal_truncate(w, 100, ck.p, ck.len - 1, &e), ERR_INTERNAL);
    ASSERT_TRUE(exists(dir, "00000000"));
    /* mint 100: the segments holding only t < 100 go. */
    ASSERT_OK_E(wal_truncate(w, 100, ck.p, ck.len, &e), &e);
    wal_stats_get(w, &ws);
    ASSERT_TRUE(ws.first_segment > 0);
    ASSERT_EQ(ws.last_segment, last); /* the current one did not qualify: not rotated */
    char name[32];
    (void) snprintf(name, sizeof name, "checkpoint.%08u", ws.first_segment - 1);
    ASSERT_EQ(file_size(dir, name), (int64_t) ck.len);
    for (uint32_t i = 0; i < ws.first_segment; i++) {
        (void) snprintf(name, sizeof name, "%08u", i);
        ASSERT_FALSE(exists(dir, name));
    }
    uint32_t first = ws.first_segment;
    write_sample(w, 1000);
    wal_close(w);

    w = open_wal(dir, 150, &c, NULL);
    ASSERT_EQ(c.type[0], WAL_REC_SERIES);
    ASSERT_EQ(c.type[1], WAL_REC_TOMBSTONES);
    ASSERT_EQ(c.type[2], WAL_REC_SAMPLES);
    ASSERT_TRUE(c.id[2] < 100);      /* a segment straddling mint is kept whole */
    ASSERT_TRUE(c.id[2] >= 0);
    ASSERT_EQ(c.id[c.n - 1], 1000);
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.first_segment, first);

    /* Everything older: the current segment is closed and joins the run; the older checkpoint
     * goes. */
    write_sample(w, 2000);
    ASSERT_OK_E(wal_truncate(w, 5000, ck.p, ck.len, &e), &e);
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.first_segment, ws.last_segment);
    ASSERT_EQ(ws.bytes, ck.len);
    (void) snprintf(name, sizeof name, "checkpoint.%08u", first - 1);
    ASSERT_FALSE(exists(dir, name));
    (void) snprintf(name, sizeof name, "checkpoint.%08u", ws.last_segment - 1);
    ASSERT_TRUE(exists(dir, name));
    write_sample(w, 6000);
    wal_close(w);
    w = open_wal(dir, 150, &c, NULL);
    ASSERT_EQ(c.n, 3);
    ASSERT_EQ(c.id[2], 6000);
    wal_close(w);
    buf_free(&ck);
    test_tmpdir_remove(dir);
}

TEST(torn_tail_is_cut_and_earlier_records_kept)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct wal *w = open_wal(dir, 0, &c, NULL);
    for (int i = 0; i < 5; i++)
        write_sample(w, i);
    wal_close(w);
    int64_t full = file_size(dir, "00000000");
    int64_t frame = full / 5;
    /* cut in the middle of the 5th frame's payload, and in the header of the 4th */
    int64_t cuts[] = {full - 3, frame * 3 + 5};
    int64_t want_records[] = {4, 3};
    for (int k = 0; k < 2; k++) {
        ASSERT_EQ(truncate(path_of(dir, "00000000"), cuts[k]), 0);
        struct wal_replay_stats st;
        log_capture(dir);
        w = open_wal(dir, 0, &c, &st);
        char *log = log_release();
        ASSERT_EQ(c.n, want_records[k]);
        ASSERT_EQ(st.records, want_records[k]);
        ASSERT_EQ(st.corruptions, 1);
        ASSERT_EQ(st.bytes_cut, cuts[k] - frame * want_records[k]);
        ASSERT_EQ(file_size(dir, "00000000"), frame * want_records[k]);
        ASSERT_STR_CONTAINS(log, "level=warn");
        ASSERT_STR_CONTAINS(log, "00000000");
        char off[64];
        (void) snprintf(off, sizeof off, "offset=%lld", (long long) (frame * want_records[k]));
        ASSERT_STR_CONTAINS(log, off);
        ASSERT_STR_CONTAINS(log, k == 0 ? "past the end of the file" : "short frame header");
        free(log);
        wal_close(w);
    }
    /* Cut files replay cleanly. */
    struct wal_replay_stats st;
    w = open_wal(dir, 0, &c, &st);
    ASSERT_EQ(st.corruptions, 0);
    ASSERT_EQ(c.n, 3);
    wal_close(w);
    test_tmpdir_remove(dir);
}

TEST(corrupt_byte_mid_segment_loses_only_the_rest_of_that_segment)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct buf one = BUF_INIT;
    put_samples(&one, 1, 0, 1);
    size_t fl = one.len;
    buf_free(&one);
    struct wal *w = open_wal(dir, fl * 4, &c, NULL); /* 4 frames a segment */
    for (int i = 0; i < 12; i++)
        write_sample(w, i);
    wal_close(w);
    /* flip a payload byte of the 2nd frame of segment 00000000 */
    char *p = path_of(dir, "00000000");
    size_t n;
    char *data = test_read_file(p, &n);
    ASSERT_EQ(n, fl * 4);
    data[fl + 12] ^= 0x40;
    write_file(dir, "00000000", data, n);
    free(data);
    struct wal_replay_stats st;
    log_capture(dir);
    w = open_wal(dir, fl * 4, &c, &st);
    char *log = log_release();
    ASSERT_STR_CONTAINS(log, "crc mismatch");
    free(log);
    ASSERT_EQ(st.corruptions, 1);
    ASSERT_EQ(st.bytes_cut, fl * 3);
    ASSERT_EQ(c.n, 1 + 8);
    ASSERT_EQ(c.id[0], 0);
    ASSERT_EQ(c.id[1], 4); /* segments 1 and 2 whole */
    ASSERT_EQ(c.id[8], 11);
    ASSERT_EQ(st.segments, 3);
    wal_close(w);
    test_tmpdir_remove(dir);
}

/* Hand-made frames: zero-filled tail, unknown type, bad zstd, oversized length. */
TEST(bad_frames_of_every_kind_end_their_segment)
{
    struct buf good = BUF_INIT;
    put_samples(&good, 1, 1, 1);
    uint8_t zeros[32] = {0};
    uint8_t unknown[] = {0, 0, 0, 2, 0, 0, 0, 0, 0x07, 0};
    be32_put(unknown + 4, crc32c(0, unknown + 8, 2));
    uint8_t badzstd[] = {0, 0, 0, 5, 0, 0, 0, 0, 0x82, 1, 2, 3, 4};
    be32_put(badzstd + 4, crc32c(0, badzstd + 8, 5));
    uint8_t oversize[] = {0x20, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3};
    /* A valid zstd frame of 100 MiB declared size (bigger than the 64 MiB bound). */
    size_t bigsz = 100u << 20;
    uint8_t *zin = calloc(1, bigsz);
    size_t zcap = ZSTD_compressBound(bigsz);
    uint8_t *zbomb = malloc(9 + zcap);
    size_t zn = ZSTD_compress(zbomb + 9, zcap, zin, bigsz, 1);
    ASSERT_FALSE(ZSTD_isError(zn));
    free(zin);
    zbomb[8] = WAL_REC_SAMPLES | WAL_REC_COMPRESSED;
    be32_put(zbomb, (uint32_t) zn + 1);
    be32_put(zbomb + 4, crc32c(0, zbomb + 8, zn + 1));
    struct {
        const uint8_t *p;
        size_t n;
        const char *reason;
    } bad[] = {
        {zeros, sizeof zeros, "empty payload"},
        {unknown, sizeof unknown, "unknown record type 0x07"},
        {badzstd, sizeof badzstd, "zstd"},
        {oversize, sizeof oversize, "over the 256 MiB limit"},
        {zbomb, 9 + zn, "over the 64 MiB limit"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *dir = test_tmpdir();
        struct buf f = BUF_INIT;
        ASSERT_OK(buf_append(&f, good.p, good.len));
        ASSERT_OK(buf_append(&f, bad[i].p, bad[i].n));
        ASSERT_OK(buf_append(&f, good.p, good.len)); /* unreachable behind the bad frame */
        write_file(dir, "00000000", f.p, f.len);
        write_file(dir, "00000001", good.p, good.len);
        struct seen c;
        struct wal_replay_stats st;
        log_capture(dir);
        struct wal *w = open_wal(dir, 0, &c, &st);
        char *log = log_release();
        ASSERT_STR_CONTAINS(log, bad[i].reason);
        free(log);
        ASSERT_EQ(c.n, 2);
        ASSERT_EQ(st.corruptions, 1);
        ASSERT_EQ(st.bytes_cut, f.len - good.len);
        ASSERT_EQ(file_size(dir, "00000000"), (int64_t) good.len);
        wal_close(w);
        buf_free(&f);
        test_tmpdir_remove(dir);
    }
    free(zbomb);
    buf_free(&good);
}

TEST(crash_leftovers_of_truncation_are_removed_not_replayed)
{
    char *dir = test_tmpdir();
    struct buf b = BUF_INIT;
    put_samples(&b, 1, 100, 1);
    struct buf ck = BUF_INIT;
    struct label l[] = {{"a", "b"}};
    struct wal_series s = {3, {l, 1}};
    ASSERT_OK(wal_rec_series(&ck, &s, 1));
    write_file(dir, "checkpoint.00000001", b.p, b.len); /* older checkpoint */
    write_file(dir, "checkpoint.00000003", ck.p, ck.len);
    write_file(dir, "checkpoint.00000005.tmp", b.p, b.len); /* unfinished */
    write_file(dir, "00000002", b.p, b.len);                /* covered by checkpoint 3 */
    write_file(dir, "00000003", b.p, b.len);
    write_file(dir, "00000004", b.p, b.len);
    write_file(dir, "00000005", b.p, b.len);
    struct seen c;
    struct wal_replay_stats st;
    struct wal *w = open_wal(dir, 0, &c, &st);
    ASSERT_EQ(c.n, 3);
    ASSERT_EQ(c.type[0], WAL_REC_SERIES);
    ASSERT_EQ(c.id[0], 3);
    ASSERT_EQ(st.segments, 2);
    ASSERT_FALSE(exists(dir, "checkpoint.00000001"));
    ASSERT_FALSE(exists(dir, "checkpoint.00000005.tmp"));
    ASSERT_FALSE(exists(dir, "00000002"));
    ASSERT_FALSE(exists(dir, "00000003"));
    ASSERT_TRUE(exists(dir, "checkpoint.00000003"));
    ASSERT_TRUE(exists(dir, "00000006")); /* after the highest number seen */
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.first_segment, 4);
    ASSERT_EQ(ws.last_segment, 6);
    ASSERT_EQ(ws.bytes, ck.len + 2 * b.len);
    wal_close(w);
    buf_free(&b);
    buf_free(&ck);
    test_tmpdir_remove(dir);
}

TEST(damaged_checkpoint_is_reported_not_cut_and_segments_still_replay)
{
    char *dir = test_tmpdir();
    struct buf b = BUF_INIT;
    put_samples(&b, 1, 100, 1);
    put_samples(&b, 1, 200, 1);
    size_t half = b.len / 2;
    b.p[half + 10] ^= 1;
    write_file(dir, "checkpoint.00000000", b.p, b.len);
    write_file(dir, "00000001", b.p, half);
    struct seen c;
    struct wal_replay_stats st;
    log_capture(dir);
    struct wal *w = open_wal(dir, 0, &c, &st);
    char *log = log_release();
    ASSERT_STR_CONTAINS(log, "checkpoint.00000000");
    free(log);
    ASSERT_EQ(c.n, 2);
    ASSERT_EQ(c.id[0], 100);
    ASSERT_EQ(c.id[1], 100);
    ASSERT_EQ(st.corruptions, 1);
    ASSERT_EQ(st.bytes_cut, 0);
    ASSERT_EQ(file_size(dir, "checkpoint.00000000"), (int64_t) b.len);
    wal_close(w);
    buf_free(&b);
    test_tmpdir_remove(dir);
}

TEST(foreign_names_are_ignored_and_gaps_logged)
{
    char *dir = test_tmpdir();
    struct buf b = BUF_INIT;
    put_samples(&b, 1, 1, 1);
    const char *foreign[] = {"foo",           "0000001",        "000000001",  "00000001.bak",
                             "checkpoint.abc", "checkpoint.1",  "x00000002", "00000002x",
                             "4294967296",    "checkpoint.00000001.old"};
    for (size_t i = 0; i < ARRAY_LEN(foreign); i++)
        write_file(dir, foreign[i], "garbage", 7);
    ASSERT_EQ(mkdir(path_of(dir, "00000004"), 0755), 0); /* not files: skipped */
    ASSERT_EQ(mkdir(path_of(dir, "checkpoint.00000003"), 0755), 0);
    write_file(dir, "00000000", b.p, b.len);
    write_file(dir, "00000002", b.p, b.len);
    struct seen c;
    struct wal_replay_stats st;
    log_capture(dir);
    struct wal *w = open_wal(dir, 0, &c, &st);
    char *log = log_release();
    ASSERT_STR_CONTAINS(log, "gap in WAL segment numbers");
    ASSERT_STR_CONTAINS(log, "not a regular file");
    free(log);
    ASSERT_EQ(c.n, 2); /* the directory checkpoint.00000003 did not replace them */
    ASSERT_EQ(st.corruptions, 0);
    ASSERT_TRUE(exists(dir, "00000000"));
    ASSERT_TRUE(exists(dir, "00000005"));
    ASSERT_TRUE(exists(dir, "checkpoint.00000003"));
    wal_close(w);
    for (size_t i = 0; i < ARRAY_LEN(foreign); i++)
        ASSERT_EQ(file_size(dir, foreign[i]), 7);
    buf_free(&b);
    test_tmpdir_remove(dir);
}

/* A write that fails halfway (here: the file size limit, EFBIG after a partial write) is taken
 * back, so the segment stays a sequence of whole frames and later writes are not lost behind it. */
TEST(failed_partial_write_is_taken_back)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct wal *w = open_wal(dir, 0, &c, NULL);
    write_sample(w, 1);
    write_sample(w, 2);
    int64_t good = file_size(dir, "00000000");
    struct rlimit old, lim;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t) good + 10; /* room for part of the next frame */
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct buf b = BUF_INIT;
    put_samples(&b, 1, 3, 1);
    struct err e;
    int r = wal_write(w, b.p, b.len, 3, &e);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    (void) signal(SIGXFSZ, prev);
    ASSERT_EQ(r, -EFBIG);
    ASSERT_STR_CONTAINS(e.msg, "00000000");
    ASSERT_EQ(file_size(dir, "00000000"), good);
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.write_failures, 1);
    ASSERT_EQ(ws.writes, 2);
    ASSERT_OK_E(wal_write(w, b.p, b.len, 3, &e), &e);
    buf_free(&b);
    wal_close(w);
    struct wal_replay_stats st;
    w = open_wal(dir, 0, &c, &st);
    ASSERT_EQ(st.corruptions, 0);
    ASSERT_EQ(c.n, 3);
    ASSERT_EQ(c.id[2], 3);
    wal_close(w);
    test_tmpdir_remove(dir);
}

struct writer_arg {
    struct wal *w;
    int id;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    struct buf b = BUF_INIT;
    struct err e;
    for (int i = 0; i < 200; i++) {
        b.len = 0;
        struct wal_sample s[40];
        for (int k = 0; k < 40; k++) /* > 256 bytes: compressed, a thread-local zstd context */
            s[k] = (struct wal_sample){(uint64_t) a->id, i, (double) k};
        ASSERT_OK(wal_rec_samples(&b, s, 40));
        ASSERT_OK_E(wal_write(a->w, b.p, b.len, i, &e), &e);
    }
    buf_free(&b);
    return NULL;
}

static void *syncer(void *p)
{
    struct err e;
    for (int i = 0; i < 20; i++)
        ASSERT_OK_E(wal_sync(p, &e), &e);
    return NULL;
}

TEST(concurrent_writers_and_syncs)
{
    char *dir = test_tmpdir();
    struct seen c;
    struct wal *w = open_wal(dir, 1024, &c, NULL);
    pthread_t th[5];
    struct writer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct writer_arg){w, i + 1};
        ASSERT_EQ(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    ASSERT_EQ(pthread_create(&th[4], NULL, syncer, w), 0);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    struct err e;
    ASSERT_OK_E(wal_sync(w, &e), &e);
    struct wal_stats ws;
    wal_stats_get(w, &ws);
    ASSERT_EQ(ws.writes, 800);
    ASSERT_EQ(ws.write_failures, 0);
    ASSERT_TRUE(ws.last_segment > 20); /* many rotations, more than PENDING_MAX between syncs */
    wal_close(w);
    struct wal_replay_stats st;
    w = open_wal(dir, 1024, &c, &st);
    ASSERT_EQ(st.records, 800);
    ASSERT_EQ(c.bad, 0);
    ASSERT_EQ(st.corruptions, 0);
    wal_close(w);
    test_tmpdir_remove(dir);
}

/* The seed corpus of tests/fuzz/corpus/wal is also a pinned sample of the on-disk format: its
 * seg-* files must replay cleanly with the record counts in their names (seg-<n>-...). */
TEST(fuzz_seed_corpus_replays)
{
    const char *root = getenv("EMBER_SOURCE_ROOT");
    if (!root)
        return;
    char cdir[1024];
    (void) snprintf(cdir, sizeof cdir, "%s/tests/fuzz/corpus/wal", root);
    const char *seeds[] = {"seg-3-series-samples-tombstones", "seg-2-compressed"};
    for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
        size_t n;
        char *data = test_read_file(path_of(cdir, seeds[i]), &n);
        ASSERT_TRUE(data != NULL);
        ASSERT_TRUE(n > 1);
        char *dir = test_tmpdir();
        write_file(dir, "00000000", data + 1, n - 1); /* byte 0: the fuzz target's selector */
        free(data);
        struct seen c;
        struct wal_replay_stats st;
        struct wal *w = open_wal(dir, 0, &c, &st);
        ASSERT_EQ(st.corruptions, 0);
        ASSERT_EQ(c.bad, 0);
        ASSERT_EQ(c.n, (size_t) (seeds[i][4] - '0'));
        wal_close(w);
        test_tmpdir_remove(dir);
    }
}

/* Writes the seed corpus of tests/fuzz/fuzz_wal.c into $EMBER_WAL_WRITE_SEEDS when that is set:
 *   EMBER_WAL_WRITE_SEEDS=$PWD/tests/fuzz/corpus/wal build/tests/tsdb_test_wal
 * Byte 0 of each seed is the target's layout selector (fuzz_wal.c), the rest file content. */
static void put_seed(const char *dir, const char *name, uint8_t sel, const uint8_t *p, size_t n)
{
    struct buf s = BUF_INIT;
    ASSERT_OK(buf_putc(&s, sel));
    ASSERT_OK(buf_append(&s, p, n));
    write_file(dir, name, s.p, s.len);
    buf_free(&s);
}

TEST(write_fuzz_seeds_when_asked)
{
    const char *dir = getenv("EMBER_WAL_WRITE_SEEDS");
    if (!dir)
        return;
    struct label l1[] = {{"__name__", "up"}, {"instance", "localhost:9100"}, {"job", "node"}};
    struct label l2[] = {{"__name__", "température"}, {"ville", "Zürich"}};
    struct wal_series series[] = {{1, {l1, 3}}, {2, {l2, 2}}};
    struct wal_sample samples[] = {{1, 1700000000000, 1}, {2, 1700000000000, 21.5},
                                   {1, 1700000015000, num_stale_nan()}};
    struct wal_tombstone tomb[] = {{2, 1700000000000, 1700000010000}};
    struct buf f = BUF_INIT;
    ASSERT_OK(wal_rec_series(&f, series, 2));
    ASSERT_OK(wal_rec_samples(&f, samples, 3));
    ASSERT_OK(wal_rec_tombstones(&f, tomb, 1));
    put_seed(dir, "seg-3-series-samples-tombstones", 0, f.p, f.len);
    put_seed(dir, "checkpoint-and-segment", 1, f.p, f.len);
    put_seed(dir, "torn-two-segments", 2, f.p, f.len - 3);
    const uint8_t *sbody = f.p + 9; /* the series frame is small: not compressed */
    ASSERT_EQ(f.p[8], WAL_REC_SERIES);
    put_seed(dir, "body-series", 0, sbody, be32_get(f.p) - 1);

    struct buf g = BUF_INIT;
    struct label big[30];
    char names[30][8], values[30][24];
    for (int i = 0; i < 30; i++) {
        (void) snprintf(names[i], sizeof names[i], "l%02d", i);
        (void) snprintf(values[i], sizeof values[i], "value-%d", i);
        big[i] = (struct label){names[i], values[i]};
    }
    struct wal_series bs = {7, {big, 30}};
    ASSERT_OK(wal_rec_series(&g, &bs, 1));
    ASSERT_TRUE(g.p[8] & WAL_REC_COMPRESSED);
    struct wal_sample many[200];
    for (int i = 0; i < 200; i++)
        many[i] = (struct wal_sample){(uint64_t) (7 + i % 3), 1700000000000 + i * 15000, i * 0.5};
    size_t at = g.len;
    ASSERT_OK(wal_rec_samples(&g, many, 200));
    ASSERT_TRUE(g.p[at + 8] & WAL_REC_COMPRESSED);
    put_seed(dir, "seg-2-compressed", 0, g.p, g.len);

    struct buf h = BUF_INIT;
    ASSERT_OK(wal_rec_samples(&h, many, 5));
    put_seed(dir, "body-samples", 0, h.p + 9, h.len - 9);
    h.len = 0;
    ASSERT_OK(wal_rec_tombstones(&h, tomb, 1));
    put_seed(dir, "body-tombstones", 0, h.p + 9, h.len - 9);
    buf_free(&f);
    buf_free(&g);
    buf_free(&h);
}
