/* tests/unit/tsdb/test_block_rel.c — block format 3: values relative to another chunk's
 * (block_chunk_encode_rel / decode3), histogram buckets encoded against their family
 * (tsdb/split_enc.c), and chunk records stored once per chunk file (block_writer.c), read back
 * bit for bit through the block reader, also when the chunk files are small enough that a
 * reference lands in another file, and through head cuts, compaction and a restart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsdb/block.h"
#include "tsdb/db.h"
#include "tsdb/split_enc.h"
#include "tsdb/tsdb.h"
#include "test.h"

#define T0 1700000000000LL
#define STEP 15000
#define WINDOW (6 * 3600 * 1000LL)

#define bits num_bits
#define from_bits num_from_bits

TEST(relative_values_round_trip_bit_for_bit)
{
    enum { N = 300 };
    static int64_t t[N], dt[N];
    static double ref[N], v[N], dv[N];
    for (int i = 0; i < N; i++) {
        t[i] = T0 + (int64_t) i * STEP;
        ref[i] = (double) (i * 7);
        v[i] = (double) (i * 7 - i / 3);
    }
    ref[10] = from_bits(0x7ff0000000000002u); /* a stale marker in the reference */
    v[20] = from_bits(0x7ff0000000000002u);   /* and in the series */
    v[30] = HUGE_VAL;
    ref[40] = -HUGE_VAL;
    v[50] = from_bits(0x7ff8000000000001u); /* a NaN with a payload */
    struct buf rv = BUF_INIT, rt = BUF_INIT, own = BUF_INIT;
    struct err e;
    ASSERT_OK_E(block_chunk_encode_split(&rv, &rt, t, ref, N, 3, &e), &e);
    ASSERT_EQ(block_chunk_encode_rel(&own, v, ref, N, 3, &e), 0);
    ASSERT_OK_E(block_chunk_decode3(own.p, own.len, rt.p, rt.len, rv.p, rv.len, N, dt, dv, &e),
                &e);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(dt[i], t[i]);
        ASSERT_EQ(bits(dv[i]), bits(v[i]));
    }
    /* a damaged reference fails the chunk, saying so */
    rv.p[rv.len - 1] ^= 1;
    ASSERT_EQ(block_chunk_decode3(own.p, own.len, rt.p, rt.len, rv.p, rv.len, N, dt, dv, &e),
              ERR_CORRUPT);
    ASSERT_STR_CONTAINS(e.msg, "reference");
    rv.p[rv.len - 1] ^= 1;
    /* a reference needs a timestamp record */
    ASSERT_EQ(block_chunk_decode3(own.p, own.len, NULL, 0, rv.p, rv.len, N, dt, dv, NULL),
              ERR_CORRUPT);
    /* -0.0 over 0.0 and a difference that rounds cannot be expressed: nothing appended */
    size_t before = own.len;
    ref[60] = 0.0;
    v[60] = -0.0;
    ASSERT_EQ(block_chunk_encode_rel(&own, v, ref, N, 3, &e), 1);
    v[60] = 0.1;
    ref[60] = 1e17;
    ASSERT_EQ(block_chunk_encode_rel(&own, v, ref, N, 3, &e), 1);
    ASSERT_EQ(own.len, before);
    buf_free(&rv);
    buf_free(&rt);
    buf_free(&own);
}

/* One histogram (12 buckets, _count, _sum) and a constant series over 1.5 windows. */
#define BUCKETS 12
#define HSERIES (BUCKETS + 3)
#define HN 1440

struct hseries {
    struct label l[3];
    struct labels ls;
    char name[32];
    double v[HN];
};

static const char *const les[BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                         "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};

static int hs_cmp(const void *a, const void *b)
{
    return labels_cmp(&((const struct hseries *) a)->ls, &((const struct hseries *) b)->ls);
}

static void make_histogram(struct hseries *s, int64_t *t)
{
    uint64_t cnt[BUCKETS] = {0}, rs = 99;
    double sum = 0;
    for (int i = 0; i < HN; i++) {
        t[i] = T0 - T0 % WINDOW + WINDOW / 2 + (int64_t) i * STEP;
        for (int k = 0; k < 20; k++) {
            rs = rs * 6364136223846793005u + 1442695040888963407u;
            double lat = 0.003 * (double) ((rs >> 33) % 1000) / 100.0 * (double) ((rs >> 20) % 8);
            static const double le[BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,    2.5,   5,    10};
            for (int b = 0; b < BUCKETS; b++)
                cnt[b] += b == BUCKETS - 1 || lat <= le[b];
            sum += lat;
        }
        for (int b = 0; b < BUCKETS; b++)
            s[b].v[i] = (double) cnt[b];
        s[BUCKETS].v[i] = (double) cnt[BUCKETS - 1];
        s[BUCKETS + 1].v[i] = sum;
        s[BUCKETS + 2].v[i] = 1;
    }
    s[3].v[100] = from_bits(0x7ff0000000000002u);
    s[BUCKETS - 1].v[200] = from_bits(0x7ff0000000000002u);
    for (int k = 0; k < HSERIES; k++) {
        uint32_t nl = 0;
        const char *suffix = k < BUCKETS ? "_bucket" : k == BUCKETS ? "_count"
                             : k == BUCKETS + 1 ? "_sum" : "_info";
        snprintf(s[k].name, sizeof s[k].name, "req_seconds%s", suffix);
        s[k].l[nl++] = (struct label){"__name__", s[k].name};
        s[k].l[nl++] = (struct label){"job", "api"};
        if (k < BUCKETS)
            s[k].l[nl++] = (struct label){"le", les[k]};
        s[k].ls = (struct labels){s[k].l, nl};
    }
    qsort(s, HSERIES, sizeof *s, hs_cmp);
    for (int k = 0; k < HSERIES; k++) { /* the structs moved: point into them again */
        s[k].l[0].value = s[k].name;
        s[k].ls.v = s[k].l;
    }
}

/* Writes the histogram through split_enc into a block (chunk files of file_max bytes, 0 for
 * the default) and checks every sample read back; returns the chunk bytes and counts the
 * relative chunks and the chunks sharing another's record. */
static uint64_t write_and_check(uint64_t file_max, uint32_t *ret_rel, uint32_t *ret_shared)
{
    static struct hseries s[HSERIES];
    static int64_t t[HN], dt[HN];
    static double dv[HN];
    make_histogram(s, t);
    char *parent = test_tmpdir();
    struct block_writer *w;
    struct split_enc *enc;
    struct err e;
    ASSERT_OK_E(block_writer_open(parent, t[0], t[HN - 1], 2, &w, &e), &e);
    if (file_max)
        block_writer_set_chunk_file_size(w, file_max);
    ASSERT_EQ(split_enc_new(WINDOW, 4096, 3, &enc), 0);
    for (int k = 0; k < HSERIES; k++) {
        struct block_chunk *c;
        size_t nc;
        ASSERT_OK_E(split_enc_series(enc, &s[k].ls, t, s[k].v, HN, &c, &nc, &e), &e);
        ASSERT_EQ(nc, 2u); /* the window boundary half way */
        ASSERT_OK_E(block_writer_add_series(w, &s[k].ls, c, nc, &e), &e);
    }
    split_enc_free(enc);
    struct block_meta meta;
    ASSERT_OK_E(block_writer_finish(w, &meta, &e), &e);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", parent, meta.ulid);
    struct block *b;
    ASSERT_OK_E(block_open(dir, &b, &e), &e);
    ASSERT_EQ(block_meta(b)->version, BLOCK_FORMAT_VERSION);
    struct arena *a = arena_new(0);
    struct block_series *bs;
    size_t n;
    ASSERT_OK_E(block_select(b, a, NULL, 0, INT64_MIN, INT64_MAX, &bs, &n, &e), &e);
    ASSERT_EQ(n, (size_t) HSERIES);
    uint32_t rel = 0, shared = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(labels_equal(&bs[i].labels, &s[i].ls));
        uint32_t k = 0;
        for (uint32_t c = 0; c < bs[i].n_chunks; c++) {
            const struct block_chunk *ch = &bs[i].chunks[c];
            rel += ch->ref != NULL;
            for (size_t j = 0; j < i; j++)
                for (uint32_t d = 0; d < bs[j].n_chunks; d++)
                    shared += bs[j].chunks[d].data == ch->data;
            ASSERT_OK_E(block_chunk_decode3(ch->data, ch->len, ch->ts, ch->ts_len, ch->ref,
                                            ch->ref_len, ch->n, dt + k, dv + k, &e),
                        &e);
            k += ch->n;
        }
        ASSERT_EQ(k, (uint32_t) HN);
        for (uint32_t j = 0; j < k; j++) {
            ASSERT_EQ(dt[j], t[j]);
            ASSERT_EQ(bits(dv[j]), bits(s[i].v[j]));
        }
    }
    arena_free(a);
    uint64_t bytes = block_size_bytes(b);
    block_close(b);
    test_tmpdir_remove(parent);
    *ret_rel = rel;
    *ret_shared = shared;
    return bytes;
}

TEST(histogram_buckets_relative_and_equal_records_shared)
{
    uint32_t rel, shared;
    uint64_t bytes = write_and_check(0, &rel, &shared);
    printf("# histogram of %d series x %d samples: %" PRIu64 " bytes, %u relative chunks, %u "
           "shared records\n", HSERIES, HN, bytes, rel, shared);
    ASSERT_TRUE(rel >= 8);    /* the upper buckets, both windows */
    ASSERT_TRUE(shared >= 2); /* _count is the +Inf bucket, both windows */
    /* chunk files of 4 KiB: references and shared records across files still read back */
    uint64_t small = write_and_check(4096, &rel, &shared);
    ASSERT_TRUE(rel >= 8);
    ASSERT_TRUE(small >= bytes);
}

/* Through the database: buckets appended like scrapes, cut into 1 h blocks and compacted; the
 * compacted block holds relative chunks and every sample reads back exactly. */
#define HOUR 3600000LL

/* Bucket b at t: a count that rises by 3-15 a step, less what lies above b (rising slowly). */
static double bucket_at(int b, int64_t t)
{
    int64_t k = t / STEP;
    return (double) (3 * k + (k * k * 7919) % 13 - (BUCKETS - 1 - b) * (k / 20));
}

static void check_buckets(tsdb *db, int64_t to)
{
    struct arena *a = arena_new(0);
    struct matcher m;
    struct err e = {0};
    ASSERT_OK_E(matcher_init(a, &m, MATCH_EQ, "__name__", "req_seconds_bucket", &e), &e);
    tsdb_querier *q;
    ASSERT_OK_E(tsdb_querier_open(db, INT64_MIN, INT64_MAX, &q, &e), &e);
    struct tsdb_series *s;
    size_t n;
    ASSERT_OK_E(tsdb_querier_select(q, a, &m, 1, &s, &n, &e), &e);
    ASSERT_EQ(n, (size_t) BUCKETS);
    for (size_t k = 0; k < n; k++) {
        const char *le = labels_get(&s[k].labels, "le");
        int b = 0;
        while (strcmp(les[b], le) != 0)
            b++;
        struct tsdb_iter it;
        tsdb_iter_init(&it, &s[k]);
        int64_t want = 0;
        while (tsdb_iter_next(&it) == 1) {
            ASSERT_EQ(it.t, want);
            ASSERT_EQ(num_bits(it.v), num_bits(bucket_at(b, it.t)));
            want += STEP;
        }
        tsdb_iter_close(&it);
        ASSERT_EQ(want, to);
    }
    tsdb_querier_close(q);
    arena_free(a);
}

TEST(histogram_buckets_through_head_cuts_and_compaction)
{
    char *dir = test_tmpdir();
    struct tsdb_opts o = {.dir = dir, .block_range_ms = HOUR, .tick_ms = HOUR,
                          .wal_segment_bytes = 64 << 10};
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    uint64_t refs[BUCKETS] = {0};
    for (int64_t t = 0; t < 4 * HOUR; t += STEP) {
        tsdb_appender *ap = tsdb_appender_new(db);
        for (int b = 0; b < BUCKETS; b++) {
            struct label l[3] = {{"__name__", "req_seconds_bucket"}, {"job", "api"}, {"le", les[b]}};
            struct labels ls = {l, 3};
            ASSERT_OK_E(tsdb_appender_add(ap, &refs[b], &ls, t, bucket_at(b, t), &e), &e);
        }
        ASSERT_EQ(tsdb_appender_commit(ap, &e), 0);
    }
    for (int64_t h = 0; h < 3; h++)
        ASSERT_OK_E(db_cut_head(db, h * HOUR, (h + 1) * HOUR - 1, &e), &e);
    check_buckets(db, 4 * HOUR);
    ASSERT_EQ(db_compact(db, &e), 1);
    check_buckets(db, 4 * HOUR);
    struct db_block **v;
    size_t nb;
    ASSERT_EQ(db_blocks_acquire(db, INT64_MIN, INT64_MAX, &v, &nb), 0);
    ASSERT_EQ(nb, 1u);
    struct arena *a = arena_new(0);
    struct block_series *bs;
    size_t n;
    ASSERT_OK_E(block_select(v[0]->b, a, NULL, 0, INT64_MIN, INT64_MAX, &bs, &n, &e), &e);
    uint32_t rel = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < bs[i].n_chunks; c++)
            rel += bs[i].chunks[c].ref != NULL;
    ASSERT_TRUE(rel >= 5);
    arena_free(a);
    db_blocks_release(v, nb);
    tsdb_close(db);
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e); /* and after a restart */
    check_buckets(db, 4 * HOUR);
    tsdb_close(db);
    test_tmpdir_remove(dir);
}
