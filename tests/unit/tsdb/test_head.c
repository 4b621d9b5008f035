/* tests/unit/tsdb/test_head.c — appending, rejection of out-of-order and duplicate samples,
 * selection with all four matcher types, label listings, iteration and seeking, and concurrent
 * appends with reads, and with head truncation freeing chunks and series meanwhile. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/tsdb.h"
#include "test.h"

static tsdb *open_mem(void)
{
    struct tsdb_opts o = {0};
    tsdb *db;
    struct err e;
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    return db;
}

/* Appends one sample to the series given as name, k1, v1, k2, v2, ... NULL. */
static int add(tsdb *db, int64_t t, double v, const char *name, const char *k1, const char *v1,
               const char *k2, const char *v2)
{
    struct label l[3];
    struct labels ls = {l, 0};
    l[ls.n++] = (struct label){"__name__", name};
    if (k1)
        l[ls.n++] = (struct label){k1, v1};
    if (k2)
        l[ls.n++] = (struct label){k2, v2};
    labels_sort(&ls);
    tsdb_appender *a = tsdb_appender_new(db);
    uint64_t ref = 0;
    struct err e;
    int r = tsdb_appender_add(a, &ref, &ls, t, v, &e);
    if (r < 0) {
        tsdb_appender_rollback(a);
        return r;
    }
    return tsdb_appender_commit(a, &e);
}

static size_t select_n(tsdb *db, struct arena *a, enum matcher_type type, const char *name,
                       const char *value, struct tsdb_series **ret)
{
    struct matcher m[2];
    struct err e;
    ASSERT_OK_E(matcher_init(a, &m[0], MATCH_EQ, "__name__", "up", &e), &e);
    ASSERT_OK_E(matcher_init(a, &m[1], type, name, value, &e), &e);
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, 0, INT64_MAX, &q, &e));
    size_t n;
    ASSERT_OK_E(tsdb_querier_select(q, a, m, 2, ret, &n, &e), &e);
    tsdb_querier_close(q);
    return n;
}

TEST(append_select_all_matcher_types)
{
    tsdb *db = open_mem();
    ASSERT_EQ(add(db, 1000, 1, "up", "job", "a", "instance", "x:1"), 0);
    ASSERT_EQ(add(db, 1000, 0, "up", "job", "b", "instance", "x:2"), 0);
    ASSERT_EQ(add(db, 1000, 1, "up", "job", "c", NULL, NULL), 0);
    ASSERT_EQ(add(db, 1000, 5, "other", "job", "a", NULL, NULL), 0);
    struct arena *a = arena_new(0);
    struct tsdb_series *s;
    ASSERT_EQ(select_n(db, a, MATCH_EQ, "job", "a", &s), 1);
    ASSERT_STR_EQ(labels_get(&s[0].labels, "instance"), "x:1");
    ASSERT_EQ(select_n(db, a, MATCH_NE, "job", "a", &s), 2);
    ASSERT_STR_EQ(labels_get(&s[0].labels, "job"), "b"); /* sorted by labels */
    ASSERT_EQ(select_n(db, a, MATCH_RE, "job", "a|b", &s), 2);
    ASSERT_EQ(select_n(db, a, MATCH_RE, "job", "a|", &s), 1); /* anchored: not "ab" */
    ASSERT_EQ(select_n(db, a, MATCH_NRE, "job", "[ab]", &s), 1);
    ASSERT_EQ(select_n(db, a, MATCH_EQ, "instance", "", &s), 1); /* absent label = "" */
    ASSERT_STR_EQ(labels_get(&s[0].labels, "job"), "c");
    ASSERT_EQ(select_n(db, a, MATCH_RE, "instance", ".+", &s), 2);
    ASSERT_EQ(select_n(db, a, MATCH_EQ, "job", "zzz", &s), 0);
    arena_free(a);
    tsdb_close(db);
}

TEST(out_of_order_and_duplicates_are_rejected_and_counted)
{
    tsdb *db = open_mem();
    ASSERT_EQ(add(db, 2000, 1, "up", NULL, NULL, NULL, NULL), 0);
    ASSERT_EQ(add(db, 1000, 1, "up", NULL, NULL, NULL, NULL), 1); /* older: rejected */
    ASSERT_EQ(add(db, 2000, 1, "up", NULL, NULL, NULL, NULL), 0); /* exact duplicate: ignored */
    ASSERT_EQ(add(db, 2000, 7, "up", NULL, NULL, NULL, NULL), 1); /* same t, new value */
    ASSERT_EQ(add(db, 3000, 2, "up", NULL, NULL, NULL, NULL), 0);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.out_of_order_samples, 1);
    ASSERT_EQ(st.duplicate_samples, 1);
    ASSERT_EQ(st.samples_appended, 2);
    ASSERT_EQ(st.head_series, 1);
    ASSERT_EQ(st.head_mint_ms, 2000);
    ASSERT_EQ(st.head_maxt_ms, 3000);
    tsdb_close(db);
}

TEST(iterate_across_chunks_within_window_and_seek)
{
    struct tsdb_opts o = {.chunk_samples = 10};
    tsdb *db;
    struct err e;
    ASSERT_OK(tsdb_open(&o, &db, &e));
    for (int i = 0; i < 95; i++)
        ASSERT_EQ(add(db, i * 1000, i, "up", "job", "a", NULL, NULL), 0);
    struct arena *a = arena_new(0);
    struct matcher m;
    ASSERT_OK(matcher_init(a, &m, MATCH_EQ, "job", "a", &e));
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, 15000, 61000, &q, &e));
    struct tsdb_series *s;
    size_t n;
    ASSERT_OK(tsdb_querier_select(q, a, &m, 1, &s, &n, &e));
    ASSERT_EQ(n, 1);
    struct tsdb_iter it;
    tsdb_iter_init(&it, &s[0]);
    int count = 0;
    int64_t first = -1, last = -1;
    while (tsdb_iter_next(&it) == 1) {
        if (first < 0)
            first = it.t;
        last = it.t;
        ASSERT_DBL_EQ(it.v, (double) (it.t / 1000));
        count++;
    }
    ASSERT_EQ(first, 15000);
    ASSERT_EQ(last, 61000);
    ASSERT_EQ(count, 47);
    tsdb_iter_close(&it);
    tsdb_iter_init(&it, &s[0]);
    ASSERT_EQ(tsdb_iter_seek(&it, 42500), 1);
    ASSERT_EQ(it.t, 43000);
    ASSERT_EQ(tsdb_iter_seek(&it, 20000), 1); /* never moves backwards */
    ASSERT_EQ(it.t, 43000);
    ASSERT_EQ(tsdb_iter_seek(&it, 90000), 0);
    tsdb_iter_close(&it);
    tsdb_querier_close(q);
    arena_free(a);
    tsdb_close(db);
}

TEST(label_names_and_values)
{
    tsdb *db = open_mem();
    ASSERT_EQ(add(db, 1, 1, "up", "job", "b", NULL, NULL), 0);
    ASSERT_EQ(add(db, 1, 1, "up", "job", "a", "zone", "z1"), 0);
    ASSERT_EQ(add(db, 1, 1, "down", "job", "a", NULL, NULL), 0);
    struct arena *a = arena_new(0);
    struct err e;
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, 0, 10, &q, &e));
    const char **v;
    size_t n;
    ASSERT_OK(tsdb_querier_label_values(q, a, "job", NULL, 0, &v, &n, &e));
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ(v[0], "a");
    ASSERT_STR_EQ(v[1], "b");
    ASSERT_OK(tsdb_querier_label_names(q, a, NULL, 0, &v, &n, &e));
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(v[0], "__name__");
    ASSERT_STR_EQ(v[2], "zone");
    struct matcher m;
    ASSERT_OK(matcher_init(a, &m, MATCH_EQ, "__name__", "down", &e));
    ASSERT_OK(tsdb_querier_label_names(q, a, &m, 1, &v, &n, &e));
    ASSERT_EQ(n, 2);
    ASSERT_OK(tsdb_querier_label_values(q, a, "__name__", &m, 1, &v, &n, &e));
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(v[0], "down");
    tsdb_querier_close(q);
    arena_free(a);
    tsdb_close(db);
}

/* The label index after a truncation drops most series: each name's value table is rebuilt
 * without the values left without series, and the rest are still found by exact and regex
 * matchers and listed once each. */
TEST(index_survives_truncation_of_most_values)
{
    tsdb *db = open_mem();
    char id[16];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "%d", i);
        /* every 10th series keeps a late sample; the others end early */
        ASSERT_EQ(add(db, 1, i, "up", "id", id, "job", i % 2 ? "odd" : "even"), 0);
        if (i % 10 == 0)
            ASSERT_EQ(add(db, 1000, i, "up", "id", id, "job", i % 2 ? "odd" : "even"), 0);
    }
    head_truncate(tsdb_db_head(db), 500);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.head_series, 30);
    struct arena *a = arena_new(0);
    struct err e;
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, 0, 2000, &q, &e));
    const char **v;
    size_t n;
    ASSERT_OK(tsdb_querier_label_values(q, a, "id", NULL, 0, &v, &n, &e));
    ASSERT_EQ(n, 30);
    ASSERT_OK(tsdb_querier_label_values(q, a, "job", NULL, 0, &v, &n, &e));
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(v[0], "even");
    tsdb_querier_close(q);
    struct tsdb_series *s;
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "%d", i);
        ASSERT_EQ(select_n(db, a, MATCH_EQ, "id", id, &s), i % 10 == 0 ? 1u : 0u);
    }
    ASSERT_EQ(select_n(db, a, MATCH_RE, "id", "1.*", &s), 11u); /* 10, 100..190 */
    /* A dropped value comes back with a new series. */
    ASSERT_EQ(add(db, 2000, 1, "up", "id", "7", "job", "odd"), 0);
    ASSERT_EQ(select_n(db, a, MATCH_EQ, "id", "7", &s), 1u);
    ASSERT_EQ(select_n(db, a, MATCH_EQ, "job", "odd", &s), 1u);
    arena_free(a);
    tsdb_close(db);
}

/* tsdb_querier_series_labels: label sets only, sorted, restricted to series with a sample in
 * the window, without copying chunks; label listings with matchers go through it. */
TEST(series_labels_by_window_and_matchers)
{
    tsdb *db = open_mem();
    ASSERT_EQ(add(db, 100, 1, "up", "job", "b", NULL, NULL), 0);
    ASSERT_EQ(add(db, 200, 1, "up", "job", "a", NULL, NULL), 0);
    ASSERT_EQ(add(db, 5000, 1, "up", "job", "late", "zone", "z9"), 0);
    ASSERT_EQ(add(db, 150, 1, "down", "job", "a", NULL, NULL), 0);
    struct arena *a = arena_new(0);
    struct err e;
    struct matcher m;
    ASSERT_OK(matcher_init(a, &m, MATCH_RE, "__name__", "u.*", &e));
    tsdb_querier *q;
    ASSERT_OK(tsdb_querier_open(db, 0, 1000, &q, &e));
    struct labels *ls;
    size_t n;
    ASSERT_OK(tsdb_querier_series_labels(q, a, &m, 1, &ls, &n, &e));
    ASSERT_EQ(n, 2); /* "late" has no sample in [0, 1000] */
    ASSERT_STR_EQ(labels_get(&ls[0], "job"), "a");
    ASSERT_STR_EQ(labels_get(&ls[1], "job"), "b");
    const char **v;
    ASSERT_OK(tsdb_querier_label_names(q, a, &m, 1, &v, &n, &e));
    ASSERT_EQ(n, 2); /* no "zone": only the late series has it */
    tsdb_querier_close(q);
    ASSERT_OK(tsdb_querier_open(db, 4000, 6000, &q, &e));
    ASSERT_OK(tsdb_querier_series_labels(q, a, &m, 1, &ls, &n, &e));
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(labels_get(&ls[0], "zone"), "z9");
    ASSERT_OK(tsdb_querier_label_values(q, a, "job", &m, 1, &v, &n, &e));
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(v[0], "late");
    tsdb_querier_close(q);
    arena_free(a);
    tsdb_close(db);
}

TEST(rollback_stores_nothing)
{
    tsdb *db = open_mem();
    struct label l[] = {{"__name__", "x"}};
    struct labels ls = {l, 1};
    tsdb_appender *ap = tsdb_appender_new(db);
    uint64_t ref = 0;
    struct err e;
    ASSERT_OK(tsdb_appender_add(ap, &ref, &ls, 5, 1, &e));
    ASSERT_NE(ref, 0);
    tsdb_appender_rollback(ap);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.samples_appended, 0);
    /* The cached ref goes straight to the series next time. */
    ap = tsdb_appender_new(db);
    uint64_t ref2 = ref;
    ASSERT_OK(tsdb_appender_add(ap, &ref2, &ls, 6, 2, &e));
    ASSERT_EQ(ref2, ref);
    ASSERT_EQ(tsdb_appender_commit(ap, &e), 0);
    tsdb_close(db);
}

TEST(bad_regex_is_parse_error)
{
    struct arena *a = arena_new(0);
    struct matcher m;
    struct err e;
    ASSERT_EQ(matcher_init(a, &m, MATCH_RE, "job", "a(", &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "error parsing regexp");
    ASSERT_EQ(matcher_init(a, &m, MATCH_RE, "job", "(a)\\1", &e), ERR_PARSE);
    ASSERT_OK(matcher_init(a, &m, MATCH_RE, "job", "a.b", &e));
    ASSERT_TRUE(matcher_matches(&m, "a\nb")); /* (?s): dot matches newline */
    ASSERT_FALSE(matcher_matches(&m, "a.bc"));
    arena_free(a);
}

struct writer_arg {
    tsdb *db;
    int id;
    _Atomic int done;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    char job[16];
    snprintf(job, sizeof job, "w%d", w->id);
    for (int i = 0; i < 2000; i++) {
        char inst[16];
        snprintf(inst, sizeof inst, "i%d", i % 50);
        add(w->db, 1000 + i, i, "up", "job", job, "instance", inst);
    }
    atomic_store(&w->done, 1);
    return NULL;
}

TEST(concurrent_appends_and_reads)
{
    tsdb *db = open_mem();
    pthread_t th[4];
    struct writer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct writer_arg){db, i, 0};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    for (int round = 0; round < 50; round++) {
        struct arena *a = arena_new(0);
        struct tsdb_series *s;
        size_t n = select_n(db, a, MATCH_RE, "job", "w.*", &s);
        for (size_t i = 0; i < n; i++) {
            struct tsdb_iter it;
            tsdb_iter_init(&it, &s[i]);
            int64_t prev = INT64_MIN;
            while (tsdb_iter_next(&it) == 1) {
                ASSERT_TRUE(it.t > prev);
                prev = it.t;
            }
            tsdb_iter_close(&it);
        }
        arena_free(a);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.head_series, 200);
    ASSERT_EQ(st.samples_appended, 8000);
    tsdb_close(db);
}

struct truncator_arg {
    tsdb *db;
    _Atomic int *stop;
    int rounds;
};

/* Cuts the head just behind the newest sample, over and over: closed chunks are released to the
 * chunk pool and whole series removed (and recreated by the writers) while others read. */
static void *truncator(void *p)
{
    struct truncator_arg *t = p;
    struct head *h = tsdb_db_head(t->db);
    for (t->rounds = 0; !atomic_load(t->stop) && t->rounds < 100000; t->rounds++) {
        int64_t maxt = atomic_load(&h->maxt);
        if (maxt != INT64_MIN)
            head_truncate(h, maxt - 300);
        sched_yield();
    }
    return NULL;
}

TEST(appends_reads_and_truncation_run_concurrently)
{
    struct tsdb_opts o = {.chunk_samples = 8}; /* many cuts, many chunks to free */
    tsdb *db;
    struct err e;
    ASSERT_OK_E(tsdb_open(&o, &db, &e), &e);
    _Atomic int stop = 0;
    struct truncator_arg targ = {db, &stop, 0};
    pthread_t tt, th[3];
    struct writer_arg args[3];
    ASSERT_EQ(pthread_create(&tt, NULL, truncator, &targ), 0);
    for (int i = 0; i < 3; i++) {
        args[i] = (struct writer_arg){db, i, 0};
        ASSERT_EQ(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    /* Read until the writers are done (bounded), then once more after. */
    size_t seen = 0;
    for (int round = 0; round < 20000; round++) {
        int done = 1;
        for (int i = 0; i < 3; i++)
            done &= atomic_load(&args[i].done);
        if (done && round > 0 && seen > 0)
            break;
        struct arena *a = arena_new(0);
        struct matcher m;
        ASSERT_OK_E(matcher_init(a, &m, MATCH_RE, "job", "w.*", &e), &e);
        /* Chunks stay valid while the querier is open (head.h: gc_lock), so read inside it. */
        tsdb_querier *q;
        ASSERT_OK(tsdb_querier_open(db, 0, INT64_MAX, &q, &e));
        struct tsdb_series *s;
        size_t n;
        ASSERT_OK_E(tsdb_querier_select(q, a, &m, 1, &s, &n, &e), &e);
        for (size_t i = 0; i < n; i++) {
            struct tsdb_iter it;
            tsdb_iter_init(&it, &s[i]);
            int64_t prev = INT64_MIN;
            while (tsdb_iter_next(&it) == 1) {
                ASSERT_TRUE(it.t > prev);
                ASSERT_DBL_EQ(it.v, (double) (it.t - 1000)); /* writer: value = t - 1000 */
                prev = it.t;
                seen++;
            }
            tsdb_iter_close(&it);
        }
        tsdb_querier_close(q);
        arena_free(a);
    }
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
    atomic_store(&stop, 1);
    ASSERT_EQ(pthread_join(tt, NULL), 0);
    ASSERT_TRUE(targ.rounds > 0);
    ASSERT_TRUE(seen > 0);
    /* Everything dropped: no series, no chunks, no live slab slots (series and open chunks),
     * the pool down to its current bump region and an empty region per slab class. */
    struct head *h = tsdb_db_head(db);
    head_truncate(h, INT64_MAX);
    struct tsdb_stats st;
    tsdb_stats_get(db, &st);
    ASSERT_EQ(st.head_series, 0);
    ASSERT_EQ(st.head_chunks, 0);
    ASSERT_EQ(st.head_bytes, 0);
    struct chunk_pool_stats ps;
    chunk_pool_stats(h->chunks, &ps);
    ASSERT_TRUE(ps.bump_regions <= 1);
    ASSERT_EQ(ps.slab_live_bytes, 0u);
    ASSERT_TRUE(ps.slab_regions <= CHUNK_POOL_SLAB_CLASSES);
    tsdb_close(db);
}
