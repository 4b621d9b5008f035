/* tsdb/backfill.c — writing old data straight into blocks, bypassing the head and the WAL
 * (`ember tsdb import`).
 *
 * Samples may arrive series after series or interleaved; each series must be in time order.
 * Every series keeps a small buffer of raw samples; whenever a sample leaves the buffer's chunk
 * window (2h, aligned; at most BACKFILL_CHUNK_MAX samples) the buffer is encoded into
 * a block chunk right away, so memory holds compressed data (well under a byte a sample), not
 * 16 bytes a sample. finish() writes one block per window of blocks that has data, series in
 * label order.
 *
 * Encoding runs on threads of their own while the caller parses the next samples (the import is
 * about 40% parsing, 60% encoding, so two cores nearly halve its time). A full buffer is handed
 * over in a bounded FIFO queue to the encoder its series' hash picks, and the series continues
 * in a spare buffer; that encoder alone appends to the series' chunk list until finish() (or
 * free()) joins it, so the lists need no lock. Without the thread (pthread_create failed) the
 * series' buffers are encoded in place. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"
#include "tsdb/tsdb.h"

#define CHUNK_WINDOW_MS (2 * 3600 * 1000LL) /* chunks never span a 2h boundary, like cuts */
#define BACKFILL_CHUNK_MAX 1024
/* A series' sample buffer starts this small and doubles up to BACKFILL_CHUNK_MAX; after a
 * chunk it is sized for the next one like it (a 2h window at 15 s is 480 samples: 512, 8 KiB),
 * so buffers take about what a window holds, not 16 KiB per series. */
#define BACKFILL_CHUNK_MIN 64
#define BACKFILL_ZSTD_LEVEL 3
#define BACKFILL_QUEUE 64 /* chunks waiting for an encoder; bounds the memory in flight */
/* Encoder threads, each for the series whose hash picks it (so a series' chunks stay in
 * order): parsing takes ~40% of the work, encoding ~60%, so with two encoders no thread holds
 * up the others on two cores. */
#define BACKFILL_ENCODERS 2

struct bf_chunk {
    struct block_chunk c; /* data: heap */
};

struct bf_series {
    uint64_t hash;
    struct labels labels; /* heap copy: one allocation for the array and the strings */
    int64_t last_t;
    int64_t window; /* start of the buffered samples' chunk window */
    int64_t *t; /* one allocation: cap times, then cap values (v) */
    double *v;
    uint32_t n; /* buffered, all in one chunk window */
    uint32_t cap;
    struct bf_chunk *chunks; /* the encoder thread's while it runs */
    uint32_t n_chunks, cap_chunks;
};

struct bf_job {
    struct bf_series *s;
    int64_t *t; /* a sample buffer as in bf_series */
    uint32_t n, cap;
};

struct bf_buf {
    int64_t *t; /* cap times, then cap values */
    uint32_t cap;
};

struct bf_encoder {
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t wake, room; /* a job or stop for the thread; queue space for the caller */
    struct bf_job q[BACKFILL_QUEUE];
    uint32_t head, len;
    int stop;
    struct bf_buf spare[BACKFILL_QUEUE]; /* encoded jobs' buffers, for the next full series */
    uint32_t n_spare;
    int failed;       /* set once; e holds the first error */
    struct err e;
    uint64_t chunks;  /* the thread's count; read after the join */
    struct buf scratch;
};

struct tsdb_backfill {
    char *dir;
    int64_t block_range;
    struct hmap series; /* items: struct bf_series*, keyed by labels_hash */
    struct buf scratch;
    struct bf_encoder enc[BACKFILL_ENCODERS];
    struct tsdb_backfill_stats st;
};

static void encoder_start(struct bf_encoder *q);
static int encoder_stop(tsdb_backfill *b, struct err *e);

static int64_t floor_to(int64_t t, int64_t r)
{
    return t - ((t % r) + r) % r;
}

int tsdb_backfill_new(const char *dir, int64_t block_range_ms, tsdb_backfill **ret,
                      struct err *e)
{
    tsdb_backfill *b = calloc(1, sizeof *b);
    if (!b || !(b->dir = strdup(dir))) {
        free(b);
        return err_set(e, -ENOMEM, "out of memory");
    }
    b->block_range = block_range_ms > 0 ? block_range_ms : 9 * CHUNK_WINDOW_MS;
    /* A block holds whole chunk windows. */
    if (b->block_range % CHUNK_WINDOW_MS)
        b->block_range += CHUNK_WINDOW_MS - b->block_range % CHUNK_WINDOW_MS;
    for (int i = 0; i < BACKFILL_ENCODERS; i++)
        encoder_start(&b->enc[i]);
    *ret = b;
    return 0;
}

static void series_free(struct bf_series *s)
{
    for (uint32_t i = 0; i < s->n_chunks; i++)
        free((void *) s->chunks[i].c.data);
    free(s->chunks);
    free(s->t);
    free(s->labels.v);
    free(s);
}

void tsdb_backfill_free(tsdb_backfill *b)
{
    if (!b)
        return;
    (void) encoder_stop(b, NULL);
    for (size_t i = 0; i < b->series.cap; i++)
        if (b->series.slots[i].item)
            series_free(b->series.slots[i].item);
    hmap_free(&b->series);
    buf_free(&b->scratch);
    free(b->dir);
    free(b);
}

static int labels_eq_item(const void *item, const void *key)
{
    return labels_equal(&((const struct bf_series *) item)->labels, key);
}

static struct bf_series *series_new(const struct labels *ls, uint64_t hash)
{
    size_t bytes = ls->n * sizeof(struct label);
    for (uint32_t i = 0; i < ls->n; i++)
        bytes += strlen(ls->v[i].name) + strlen(ls->v[i].value) + 2;
    struct bf_series *s = calloc(1, sizeof *s);
    char *mem = malloc(bytes ? bytes : 1);
    int64_t *t = malloc(BACKFILL_CHUNK_MIN * (sizeof(int64_t) + sizeof(double)));
    if (!s || !mem || !t) {
        free(s);
        free(mem);
        free(t);
        return NULL;
    }
    s->hash = hash;
    s->last_t = INT64_MIN;
    s->t = t;
    s->v = (double *) (void *) (t + BACKFILL_CHUNK_MIN);
    s->cap = BACKFILL_CHUNK_MIN;
    s->labels.v = (struct label *) (void *) mem;
    s->labels.n = ls->n;
    char *p = mem + ls->n * sizeof(struct label);
    for (uint32_t i = 0; i < ls->n; i++) {
        size_t nl = strlen(ls->v[i].name) + 1, vl = strlen(ls->v[i].value) + 1;
        s->labels.v[i].name = memcpy(p, ls->v[i].name, nl);
        p += nl;
        s->labels.v[i].value = memcpy(p, ls->v[i].value, vl);
        p += vl;
    }
    return s;
}

/* Encodes t[0..n) (a sample buffer of cap) as s's next chunk. */
static int encode_chunk(struct bf_series *s, const int64_t *t, uint32_t n, uint32_t cap,
                        struct buf *scratch, struct err *e)
{
    const double *v = (const double *) (const void *) (t + cap);
    buf_reset(scratch);
    if (block_chunk_encode(scratch, t, v, n, BACKFILL_ZSTD_LEVEL, e) < 0)
        return -1;
    if (s->n_chunks == s->cap_chunks) {
        uint32_t nc = s->cap_chunks ? s->cap_chunks * 2 : 4;
        struct bf_chunk *p = realloc(s->chunks, nc * sizeof *p);
        if (!p)
            return err_set(e, -ENOMEM, "out of memory importing");
        s->chunks = p;
        s->cap_chunks = nc;
    }
    uint8_t *data = malloc(scratch->len);
    if (!data)
        return err_set(e, -ENOMEM, "out of memory importing");
    memcpy(data, scratch->p, scratch->len);
    s->chunks[s->n_chunks++].c =
        (struct block_chunk){t[0], t[n - 1], n, (uint32_t) scratch->len, data};
    return 0;
}

static void *encoder_main(void *arg)
{
    struct bf_encoder *q = arg;
    struct err e = {0};
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->len && !q->stop)
            pthread_cond_wait(&q->wake, &q->mu);
        if (!q->len)
            break;
        struct bf_job j = q->q[q->head];
        q->head = (q->head + 1) % BACKFILL_QUEUE;
        q->len--;
        int failed = q->failed;
        pthread_mutex_unlock(&q->mu);
        int r = failed ? 0 : encode_chunk(j.s, j.t, j.n, j.cap, &q->scratch, &e);
        pthread_mutex_lock(&q->mu);
        if (r < 0 && !q->failed) {
            q->failed = 1;
            q->e = e;
        }
        q->chunks += r == 0 && !failed;
        if (q->n_spare < BACKFILL_QUEUE)
            q->spare[q->n_spare++] = (struct bf_buf){j.t, j.cap};
        else
            free(j.t);
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void encoder_start(struct bf_encoder *q)
{
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&q->wake, NULL) != 0) {
        pthread_mutex_destroy(&q->mu);
        return;
    }
    if (pthread_cond_init(&q->room, NULL) != 0) {
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->mu);
        return;
    }
    if (pthread_create(&q->thread, NULL, encoder_main, q) != 0) {
        pthread_cond_destroy(&q->room);
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->mu);
        return;
    }
    q->running = 1;
}

/* Lets the encoder finish its queue and joins it; its chunk lists are the caller's again. */
static int encoder_stop_one(tsdb_backfill *b, struct bf_encoder *q, struct err *e)
{
    if (!q->running)
        return 0;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    q->running = 0;
    for (uint32_t i = 0; i < q->n_spare; i++)
        free(q->spare[i].t);
    q->n_spare = 0;
    buf_free(&q->scratch);
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->mu);
    b->st.chunks += q->chunks;
    q->chunks = 0;
    if (q->failed) {
        q->failed = 0;
        if (e)
            *e = q->e;
        return q->e.code < 0 ? q->e.code : -1;
    }
    return 0;
}

/* Stops every encoder; the first error wins. */
static int encoder_stop(tsdb_backfill *b, struct err *e)
{
    int r = 0;
    for (int i = 0; i < BACKFILL_ENCODERS; i++) {
        int ri = encoder_stop_one(b, &b->enc[i], r == 0 ? e : NULL);
        r = r < 0 ? r : ri;
    }
    return r;
}

/* Points s at buffer t of cap samples. */
static void series_take_buf(struct bf_series *s, int64_t *t, uint32_t cap)
{
    s->t = t;
    s->v = (double *) (void *) (t + cap);
    s->cap = cap;
}

/* The buffer size for a series' next chunk after one of n samples: the next power of two, so a
 * regular series fills its buffer without growing it. */
static uint32_t next_cap(uint32_t n)
{
    uint32_t cap = BACKFILL_CHUNK_MIN;
    while (cap < n && cap < BACKFILL_CHUNK_MAX)
        cap *= 2;
    return cap;
}

/* Doubles s's buffer (cap < BACKFILL_CHUNK_MAX), keeping its samples. */
static int grow(struct bf_series *s, struct err *e)
{
    uint32_t cap = s->cap ? s->cap * 2 : BACKFILL_CHUNK_MIN; /* 0 after a failed flush */
    int64_t *t = malloc(cap * (sizeof(int64_t) + sizeof(double)));
    if (!t)
        return err_set(e, -ENOMEM, "out of memory importing");
    memcpy(t, s->t, s->n * sizeof *t);
    memcpy(t + cap, s->v, s->n * sizeof *s->v);
    free(s->t);
    series_take_buf(s, t, cap);
    return 0;
}

/* Hands the buffered samples to the encoder (or encodes them here without one); s continues
 * in a spare buffer of the size its chunk needed. */
static int flush(tsdb_backfill *b, struct bf_series *s, struct err *e)
{
    if (s->n == 0)
        return 0;
    struct bf_encoder *q = &b->enc[s->hash % BACKFILL_ENCODERS];
    if (!q->running) {
        if (encode_chunk(s, s->t, s->n, s->cap, &b->scratch, e) < 0)
            return -1;
        b->st.chunks++;
        s->n = 0;
        return 0;
    }
    uint32_t want = next_cap(s->n);
    pthread_mutex_lock(&q->mu);
    while (q->len == BACKFILL_QUEUE && !q->failed)
        pthread_cond_wait(&q->room, &q->mu);
    if (q->failed) {
        pthread_mutex_unlock(&q->mu);
        return encoder_stop(b, e);
    }
    /* the newest spare when it has the size wanted (series alike make them all alike) */
    struct bf_buf next = {NULL, want}, drop = {NULL, 0};
    if (q->n_spare) {
        if (q->spare[q->n_spare - 1].cap == want)
            next = q->spare[--q->n_spare];
        else if (q->n_spare == BACKFILL_QUEUE)
            drop = q->spare[--q->n_spare]; /* makes room for sizes in use */
    }
    q->q[(q->head + q->len++) % BACKFILL_QUEUE] = (struct bf_job){s, s->t, s->n, s->cap};
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->mu);
    free(drop.t);
    if (!next.t)
        next.t = malloc(want * (sizeof(int64_t) + sizeof(double)));
    if (!next.t) {
        s->t = NULL; /* the queued job owns the old buffer */
        s->v = NULL;
        s->n = s->cap = 0;
        (void) encoder_stop(b, NULL);
        return err_set(e, -ENOMEM, "out of memory importing");
    }
    series_take_buf(s, next.t, next.cap);
    s->n = 0;
    return 0;
}

int tsdb_backfill_series(tsdb_backfill *b, const struct labels *ls, void **ret,
                         struct err *e)
{
    uint64_t h = labels_hash(ls);
    struct bf_series *s = hmap_get(&b->series, h, labels_eq_item, ls);
    if (!s) {
        if (!(s = series_new(ls, h)) || hmap_put(&b->series, h, s) < 0) {
            if (s)
                series_free(s);
            return err_set(e, -ENOMEM, "out of memory importing");
        }
        b->st.series++;
    }
    *ret = s;
    return 0;
}

int tsdb_backfill_append(tsdb_backfill *b, void *series, int64_t t, double v, struct err *e)
{
    struct bf_series *s = series;
    if (t <= s->last_t) {
        b->st.rejected++;
        return 0; /* out of order or a repeat: skipped and counted, as the head does */
    }
    /* t > last_t, so a sample leaves the window only forwards: one compare against the
     * window's start (kept per series) instead of two floor divisions per sample. The
     * difference is taken unsigned: exact, as t >= window, and free of overflow. */
    if (s->n && (s->n == BACKFILL_CHUNK_MAX ||
                 (uint64_t) t - (uint64_t) s->window >= (uint64_t) CHUNK_WINDOW_MS) &&
        flush(b, s, e) < 0)
        return -1;
    if (s->n == 0)
        s->window = floor_to(t, CHUNK_WINDOW_MS);
    if (s->n == s->cap && grow(s, e) < 0) /* n < BACKFILL_CHUNK_MAX here */
        return -1;
    s->t[s->n] = t;
    s->v[s->n++] = v;
    s->last_t = t;
    if (b->st.samples++ == 0)
        b->st.mint = b->st.maxt = t;
    b->st.mint = t < b->st.mint ? t : b->st.mint;
    b->st.maxt = t > b->st.maxt ? t : b->st.maxt;
    return 0;
}

int tsdb_backfill_add(tsdb_backfill *b, const struct labels *ls, int64_t t, double v,
                      struct err *e)
{
    void *s;
    if (tsdb_backfill_series(b, ls, &s, e) < 0)
        return -1;
    return tsdb_backfill_append(b, s, t, v, e);
}

static int series_cmp(const void *x, const void *y)
{
    return labels_cmp(&(*(struct bf_series *const *) x)->labels,
                      &(*(struct bf_series *const *) y)->labels);
}

/* One block for window [w, w + range): each series' chunks that start in it. */
static int write_window(tsdb_backfill *b, struct bf_series **v, size_t n, uint32_t *pos,
                        int64_t w, struct err *e)
{
    int64_t end = w + b->block_range;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        for (uint32_t k = pos[i]; k < v[i]->n_chunks && v[i]->chunks[k].c.mint < end; k++) {
            mint = v[i]->chunks[k].c.mint < mint ? v[i]->chunks[k].c.mint : mint;
            maxt = v[i]->chunks[k].c.maxt > maxt ? v[i]->chunks[k].c.maxt : maxt;
        }
    }
    if (mint == INT64_MAX)
        return 0;
    struct block_writer *bw;
    if (block_writer_open(b->dir, mint, maxt, 1, &bw, e) < 0)
        return -1;
    struct block_chunk *cs = NULL;
    size_t cap = 0;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        size_t k = 0;
        while (pos[i] < v[i]->n_chunks && v[i]->chunks[pos[i]].c.mint < end) {
            if (k == cap) {
                cap = cap ? cap * 2 : 16;
                struct block_chunk *p = realloc(cs, cap * sizeof *p);
                if (!p) {
                    r = err_set(e, -ENOMEM, "out of memory importing");
                    break;
                }
                cs = p;
            }
            cs[k++] = v[i]->chunks[pos[i]++].c;
        }
        if (r == 0 && k)
            r = block_writer_add_series(bw, &v[i]->labels, cs, k, e);
    }
    free(cs);
    struct block_meta meta;
    if (r < 0) {
        block_writer_abort(bw);
        return r;
    }
    if (block_writer_finish(bw, &meta, e) < 0)
        return -1;
    b->st.blocks++;
    return 0;
}

int tsdb_backfill_finish(tsdb_backfill *b, struct tsdb_backfill_stats *ret, struct err *e)
{
    size_t n = 0;
    struct bf_series **v = malloc((b->series.n ? b->series.n : 1) * sizeof *v);
    uint32_t *pos = calloc(b->series.n ? b->series.n : 1, sizeof *pos);
    int r = v && pos ? 0 : err_set(e, -ENOMEM, "out of memory importing");
    for (size_t i = 0; r == 0 && i < b->series.cap; i++) {
        struct bf_series *s = b->series.slots[i].item;
        if (s && (r = flush(b, s, e)) == 0)
            v[n++] = s;
    }
    int rs = encoder_stop(b, r == 0 ? e : NULL);
    r = r < 0 ? r : rs;
    if (r == 0) {
        qsort(v, n, sizeof *v, series_cmp);
        if (b->st.samples) {
            for (int64_t w = floor_to(b->st.mint, b->block_range); r == 0 && w <= b->st.maxt;
                 w += b->block_range)
                r = write_window(b, v, n, pos, w, e);
        }
    }
    free(v);
    free(pos);
    *ret = b->st;
    return r;
}
