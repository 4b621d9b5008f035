/* tests/unit/tsdb/test_reflist.c — the head's uint32 postings lists: inline to out-of-line
 * growth, sorting, filtering back to inline, widening into an arena. */
#include <stdlib.h>

#include "tsdb/reflist.h"
#include "tsdb/tsdb.h"
#include "test.h"

static int keep_even(void *ctx, uint64_t ref)
{
    (void) ctx;
    return ref % 2 == 0;
}

static int keep_below(void *ctx, uint64_t ref)
{
    return ref < *(uint64_t *) ctx;
}

TEST(push_grows_from_inline_and_keeps_order)
{
    struct reflist l = {0};
    for (uint64_t r = 1; r <= REFLIST_INLINE; r++)
        ASSERT_OK(reflist_push(&l, r));
    ASSERT_EQ(l.cap, 0u); /* still inline */
    for (uint64_t r = REFLIST_INLINE + 1; r <= 1000; r++)
        ASSERT_OK(reflist_push(&l, r * 3));
    ASSERT_EQ(l.n, 1000u);
    ASSERT_TRUE(l.cap >= 1000u);
    const uint32_t *v = reflist_refs(&l);
    ASSERT_EQ(v[0], 1u);
    ASSERT_EQ(v[1], 2u);
    ASSERT_EQ(v[999], 3000u);
    reflist_free(&l);
    ASSERT_EQ(l.n, 0u);
    ASSERT_EQ(l.cap, 0u);
    ASSERT_OK(reflist_push(&l, UINT32_MAX)); /* the top of the range (head refs are < 2^28) */
    ASSERT_EQ(reflist_refs(&l)[0], UINT32_MAX);
    reflist_free(&l);
}

TEST(sort_and_filter_back_to_inline)
{
    struct reflist l = {0};
    for (uint64_t r = 100; r > 0; r--)
        ASSERT_OK(reflist_push(&l, r));
    reflist_sort(&l);
    const uint32_t *v = reflist_refs(&l);
    for (uint32_t i = 0; i < 100; i++)
        ASSERT_EQ(v[i], i + 1);
    reflist_filter(&l, keep_even, NULL);
    ASSERT_EQ(l.n, 50u);
    v = reflist_refs(&l);
    for (uint32_t i = 0; i < 50; i++)
        ASSERT_EQ(v[i], 2 * (i + 1));
    uint64_t below = 5; /* keeps 2 and 4: fits inline again, the array is freed */
    reflist_filter(&l, keep_below, &below);
    ASSERT_EQ(l.n, 2u);
    ASSERT_EQ(l.cap, 0u);
    ASSERT_EQ(reflist_refs(&l)[0], 2u);
    ASSERT_EQ(reflist_refs(&l)[1], 4u);
    below = 0;
    reflist_filter(&l, keep_below, &below);
    ASSERT_EQ(l.n, 0u);
    reflist_free(&l);
}

TEST(widen_copies_into_the_arena)
{
    struct arena *a = arena_new(0);
    struct reflist l = {0};
    uint64_t *w = reflist_widen(&l, a);
    ASSERT_TRUE(w != NULL); /* empty: still a valid pointer */
    for (uint64_t r = 1; r <= 10; r++)
        ASSERT_OK(reflist_push(&l, r * 1000003));
    w = reflist_widen(&l, a);
    ASSERT_TRUE(w != NULL);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(w[i], (uint64_t) (i + 1) * 1000003);
    reflist_free(&l);
    arena_free(a);
    struct arena *tiny = arena_new(64);
    for (uint64_t r = 1; r <= 100; r++)
        ASSERT_OK(reflist_push(&l, r));
    ASSERT_TRUE(reflist_widen(&l, tiny) == NULL); /* arena full: NULL, no overrun */
    reflist_free(&l);
    arena_free(tiny);
}
