/* tests/unit/tsdb/test_chunk_pool.c — the head's closed-chunk allocator: alignment, no overlap,
 * regions unmapped once all their chunks are released, big chunks, and threads allocating at
 * once. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/chunk_pool.h"
#include "test.h"

#define REGION (64 * 1024)

TEST(small_allocations_are_aligned_and_disjoint)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    enum { N = 3000 };
    static uint8_t *v[N];
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t) (i * 37) % 300;
        v[i] = chunk_pool_alloc(p, n);
        ASSERT_TRUE(v[i] != NULL);
        ASSERT_EQ((uintptr_t) v[i] % 8, 0u);
        memset(v[i], i & 0xff, n);
    }
    for (int i = 0; i < N; i++) { /* nothing written later overwrote an earlier chunk */
        size_t n = 1 + (size_t) (i * 37) % 300;
        for (size_t k = 0; k < n; k++)
            ASSERT_EQ(v[i][k], (uint8_t) (i & 0xff));
    }
    ASSERT_TRUE(chunk_pool_bytes(p) >= REGION);
    for (int i = 0; i < N; i++)
        chunk_pool_release(p, v[i], 1 + (size_t) (i * 37) % 300);
    /* Only the current region stays mapped, rewound for reuse. */
    ASSERT_EQ(chunk_pool_bytes(p), (size_t) REGION);
    chunk_pool_release(p, NULL, 10);
    chunk_pool_free(p);
    chunk_pool_free(NULL);
}

TEST(region_goes_away_when_its_last_chunk_is_released)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    /* Fill two regions' worth; the first region is then no longer current. */
    enum { N = 2 * REGION / 512 };
    static void *v[N];
    for (int i = 0; i < N; i++)
        ASSERT_TRUE((v[i] = chunk_pool_alloc(p, 512)) != NULL);
    size_t full = chunk_pool_bytes(p);
    ASSERT_TRUE(full >= 2 * (size_t) REGION);
    /* Releasing all but one chunk of the first region keeps it mapped... */
    for (int i = 1; i < 64; i++)
        chunk_pool_release(p, v[i], 512);
    ASSERT_EQ(chunk_pool_bytes(p), full);
    /* ...releasing every chunk of it unmaps it. */
    for (int i = 64; i < N / 2 + 8; i++)
        chunk_pool_release(p, v[i], 512);
    chunk_pool_release(p, v[0], 512);
    ASSERT_TRUE(chunk_pool_bytes(p) < full);
    for (int i = N / 2 + 8; i < N; i++)
        chunk_pool_release(p, v[i], 512);
    chunk_pool_free(p);
}

TEST(big_allocation_gets_its_own_region)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    void *small = chunk_pool_alloc(p, 100);
    size_t before = chunk_pool_bytes(p);
    size_t n = 3 * REGION + 5;
    uint8_t *big = chunk_pool_alloc(p, n);
    ASSERT_TRUE(big != NULL);
    memset(big, 0xab, n);
    ASSERT_TRUE(chunk_pool_bytes(p) >= before + n);
    void *small2 = chunk_pool_alloc(p, 100); /* still bumped in the shared region */
    ASSERT_TRUE(small2 != NULL);
    ASSERT_EQ(chunk_pool_bytes(p) - before >= n, 1);
    chunk_pool_release(p, big, n);
    ASSERT_EQ(chunk_pool_bytes(p), before);
    chunk_pool_release(p, small, 100);
    chunk_pool_release(p, small2, 100);
    ASSERT_TRUE(chunk_pool_alloc(p, SIZE_MAX) == NULL);
    chunk_pool_free(p); /* frees what is still allocated too */
}

struct worker {
    struct chunk_pool *p;
    int id;
    int ok;
};

static void *alloc_many(void *arg)
{
    struct worker *w = arg;
    enum { N = 5000 };
    uint8_t **v = malloc(N * sizeof *v);
    w->ok = v != NULL;
    for (int i = 0; w->ok && i < N; i++) {
        v[i] = chunk_pool_alloc(w->p, 40 + (size_t) i % 90);
        w->ok = v[i] != NULL;
        if (w->ok)
            memset(v[i], w->id, 40 + (size_t) i % 90);
    }
    for (int i = 0; w->ok && i < N; i++)
        for (size_t k = 0; k < 40 + (size_t) i % 90; k++)
            if (v[i][k] != (uint8_t) w->id)
                w->ok = 0;
    for (int i = 0; v && i < N; i++)
        chunk_pool_release(w->p, v[i], 40 + (size_t) i % 90);
    free(v);
    return NULL;
}

TEST(threads_allocate_and_release_at_once)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){p, i + 1, 0};
        ASSERT_EQ(pthread_create(&th[i], NULL, alloc_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(pthread_join(th[i], NULL), 0);
        ASSERT_TRUE(w[i].ok);
    }
    ASSERT_TRUE(chunk_pool_bytes(p) <= (size_t) REGION);
    chunk_pool_free(p);
}

TEST(slab_classes_round_up_and_refuse_past_the_largest)
{
    ASSERT_EQ(chunk_pool_slab_size(1), 32u);
    ASSERT_EQ(chunk_pool_slab_size(32), 32u);
    ASSERT_EQ(chunk_pool_slab_size(33), 48u);
    ASSERT_EQ(chunk_pool_slab_size(200), 208u);
    ASSERT_EQ(chunk_pool_slab_size(CHUNK_POOL_SLAB_MAX), (size_t) CHUNK_POOL_SLAB_MAX);
    ASSERT_EQ(chunk_pool_slab_size(CHUNK_POOL_SLAB_MAX + 1), 0u);
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    ASSERT_TRUE(chunk_pool_slab_alloc(p, CHUNK_POOL_SLAB_MAX + 1) == NULL);
    chunk_pool_slab_release(p, NULL);
    chunk_pool_free(p);
}

TEST(slab_slots_are_disjoint_and_emptied_regions_go_back)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    enum { N = 4000 };
    static uint8_t *v[N];
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t) (i * 53) % 700;
        v[i] = chunk_pool_slab_alloc(p, n);
        ASSERT_TRUE(v[i] != NULL);
        ASSERT_EQ((uintptr_t) v[i] % 16, 0u);
        memset(v[i], i & 0xff, chunk_pool_slab_size(n)); /* the whole class is usable */
    }
    for (int i = 0; i < N; i++) {
        size_t n = chunk_pool_slab_size(1 + (size_t) (i * 53) % 700);
        for (size_t k = 0; k < n; k++)
            ASSERT_EQ(v[i][k], (uint8_t) (i & 0xff));
    }
    struct chunk_pool_stats st;
    chunk_pool_stats(p, &st);
    ASSERT_TRUE(st.slab_regions > 1);
    ASSERT_EQ(st.bump_regions, 0u);
    size_t live = 0;
    for (int i = 0; i < N; i++)
        live += chunk_pool_slab_size(1 + (size_t) (i * 53) % 700);
    ASSERT_EQ(st.slab_live_bytes, live);
    for (int i = 0; i < N; i++)
        chunk_pool_slab_release(p, v[i]);
    /* Emptied regions went back, all but at most one per class. */
    chunk_pool_stats(p, &st);
    ASSERT_EQ(st.slab_live_bytes, 0u);
    ASSERT_TRUE(st.slab_regions <= CHUNK_POOL_SLAB_CLASSES);
    ASSERT_EQ(chunk_pool_bytes(p), st.slab_regions * (size_t) REGION);
    chunk_pool_free(p);
}

TEST(slab_and_bump_allocations_share_a_pool)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    uint8_t *a = chunk_pool_alloc(p, 100), *b = chunk_pool_slab_alloc(p, 100);
    ASSERT_TRUE(a != NULL && b != NULL);
    memset(a, 1, 100);
    memset(b, 2, 112);
    ASSERT_EQ(a[99], 1);
    struct chunk_pool_stats st;
    chunk_pool_stats(p, &st);
    ASSERT_EQ(st.bump_regions, 1u);
    ASSERT_EQ(st.slab_regions, 1u);
    ASSERT_EQ(st.bump_live, 1u);
    chunk_pool_release(p, a, 100);
    chunk_pool_slab_release(p, b);
    chunk_pool_free(p);
}

TEST(slab_reuses_released_slots_lowest_region_first)
{
    struct chunk_pool *p = chunk_pool_new();
    ASSERT_TRUE(p != NULL);
    enum { N = 3 * REGION / 64 }; /* three regions' worth of one class, the last partly */
    static uint8_t *v[N];
    for (int i = 0; i < N; i++)
        ASSERT_TRUE((v[i] = chunk_pool_slab_alloc(p, 64)) != NULL);
    size_t mapped = chunk_pool_bytes(p);
    /* Slots freed in a high and in the lowest region: the lowest goes out first, then the
     * high one, and no region is mapped meanwhile. */
    uint8_t *lowest = v[0], *high = v[0];
    for (int i = 0; i < N; i++) {
        lowest = v[i] < lowest ? v[i] : lowest;
        high = v[i] > high ? v[i] : high;
    }
    chunk_pool_slab_release(p, high);
    chunk_pool_slab_release(p, lowest);
    ASSERT_TRUE(chunk_pool_slab_alloc(p, 64) == lowest);
    ASSERT_EQ(chunk_pool_bytes(p), mapped);
    for (int i = 0; i < N; i++)
        if (v[i] != high && v[i] != lowest)
            chunk_pool_slab_release(p, v[i]);
    chunk_pool_slab_release(p, lowest);
    struct chunk_pool_stats st;
    chunk_pool_stats(p, &st);
    ASSERT_EQ(st.slab_live_bytes, 0u);
    ASSERT_EQ(st.slab_regions, 1u);
    chunk_pool_free(p);
}
