/* tests/unit/base/test_base.c — arena caps and reuse, buffers and varints, CRC32C, errors. */
#include "tsdb/base/base.h"
#include "test.h"

#include <errno.h>

TEST(arena_allocates_aligned_and_caps)
{
    struct arena *a = arena_new(64 * 1024);
    ASSERT_TRUE(a != NULL);
    void *p = arena_alloc(a, 3);
    void *q = arena_alloc(a, 5);
    ASSERT_TRUE(p && q);
    ASSERT_EQ((uintptr_t) p % 16, 0);
    ASSERT_EQ((uintptr_t) q % 16, 0);
    ASSERT_TRUE(arena_alloc(a, 1 << 20) == NULL);
    ASSERT_TRUE(arena_over_cap(a));
    arena_reset(a);
    ASSERT_FALSE(arena_over_cap(a));
    ASSERT_EQ(arena_used(a), 0);
    char *s = arena_printf(a, "%s-%d", "x", 42);
    ASSERT_STR_EQ(s, "x-42");
    arena_free(a);
    arena_free(NULL);
}

TEST(arena_realloc_grows_last_in_place)
{
    struct arena *a = arena_new(0);
    char *p = arena_alloc(a, 10);
    memcpy(p, "abcdefghij", 10);
    char *q = arena_realloc(a, p, 10, 100);
    ASSERT_TRUE(q == p);
    arena_alloc(a, 1);
    char *r = arena_realloc(a, q, 100, 200);
    ASSERT_TRUE(r != q);
    ASSERT_MEM_EQ(r, "abcdefghij", 10);
    ASSERT_TRUE(arena_calloc(a, SIZE_MAX / 2, 4) == NULL);
    arena_free(a);
}

TEST(buf_varints_round_trip)
{
    struct buf b = BUF_INIT;
    int64_t vals[] = {0, 1, -1, 63, -64, 300, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < ARRAY_LEN(vals); i++)
        ASSERT_OK(buf_put_varint(&b, vals[i]));
    ASSERT_OK(buf_put_uvarint(&b, UINT64_MAX));
    const uint8_t *p = b.p, *end = b.p + b.len;
    for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
        int64_t v;
        int n = varint_get(p, end, &v);
        ASSERT_TRUE(n > 0);
        ASSERT_TRUE(v == vals[i]);
        p += n;
    }
    uint64_t u;
    int n = uvarint_get(p, end, &u);
    ASSERT_TRUE(n == 10 && u == UINT64_MAX);
    ASSERT_EQ(uvarint_get(p, p + 3, &u), -1); /* truncated */
    buf_free(&b);
}

TEST(uvarint_rejects_overlong)
{
    uint8_t bad[11];
    memset(bad, 0xff, sizeof bad);
    uint64_t u;
    ASSERT_EQ(uvarint_get(bad, bad + sizeof bad, &u), -1);
}

TEST(crc32c_known_vector)
{
    /* RFC 3720 B.4: CRC32C of "123456789" is 0xE3069283. */
    ASSERT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/* Bit by bit, the definition: crc32c may take a faster path (SSE4.2) that must agree with it on
 * every length and alignment, split anywhere. */
static uint32_t crc32c_bitwise(const uint8_t *s, size_t n)
{
    uint32_t c = ~0u;
    while (n--) {
        c ^= *s++;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

TEST(crc32c_matches_definition_at_every_length_and_offset)
{
    uint8_t data[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t) ((x = x * 1103515245u + 12345u) >> 16);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof data; n += 7) {
            uint32_t want = crc32c_bitwise(data + off, n);
            ASSERT_EQ(crc32c(0, data + off, n), want);
            ASSERT_EQ(crc32c(crc32c(0, data + off, n / 3), data + off + n / 3, n - n / 3), want);
        }
}

TEST(err_set_and_prefix)
{
    struct err e;
    ASSERT_EQ(err_set(&e, ERR_PARSE, "bad %s", "token"), ERR_PARSE);
    err_prefix(&e, "file.yml:3: ");
    ASSERT_STR_EQ(e.msg, "file.yml:3: bad token");
    ASSERT_STR_EQ(err_name(ERR_LIMIT), "ERR_LIMIT");
    ASSERT_STR_EQ(err_str(ERR_TIMEOUT), "timeout");
    ASSERT_STR_EQ(err_name(-ENOENT), "ENOENT");
    ASSERT_EQ(err_set(NULL, ERR_CORRUPT, "x"), ERR_CORRUPT);
}

static void count_cleanup(void *arg)
{
    (*(int *) arg)++;
}

TEST(arena_cleanups_run_once_on_reset_or_free)
{
    int runs = 0;
    struct arena *a = arena_new(0);
    ASSERT_OK(arena_on_free(a, count_cleanup, &runs));
    for (int i = 0; i < 100; i++) /* spill into more blocks so reset frees some */
        ASSERT_TRUE(arena_alloc(a, 4096) != NULL);
    arena_reset(a);
    ASSERT_EQ(runs, 1);
    ASSERT_OK(arena_on_free(a, count_cleanup, &runs));
    arena_free(a);
    ASSERT_EQ(runs, 2);
}
