/* tests/harness/test.h — minimal TAP test framework: TEST() registers a case, ASSERT_*() fails
 * it with file:line and the values compared, and the runner prints TAP for meson's tap protocol.
 * A failed assertion ends only its own test case (longjmp back into the runner). */
#ifndef EMBER_TEST_H
#define EMBER_TEST_H

#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        test_register(#name, test_##name);                                                         \
    }                                                                                              \
    static void test_##name(void)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c))                                                                                  \
            test_fail(__FILE__, __LINE__, "expected true: %s", #c);                                \
    } while (0)
#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))
#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long) (a), b_ = (long long) (b);                                      \
        if (a_ != b_)                                                                              \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);               \
    } while (0)
#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long) (a), b_ = (long long) (b);                                      \
        if (a_ == b_)                                                                              \
            test_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, a_);                      \
    } while (0)
#define ASSERT_OK(r)                                                                               \
    do {                                                                                           \
        long long r_ = (long long) (r);                                                            \
        if (r_ < 0)                                                                                \
            test_fail(__FILE__, __LINE__, "%s failed: %lld", #r, r_);                              \
    } while (0)
#define ASSERT_OK_E(r, e)                                                                          \
    do {                                                                                           \
        long long r_ = (long long) (r);                                                            \
        if (r_ < 0)                                                                                \
            test_fail(__FILE__, __LINE__, "%s failed: %lld: %s", #r, r_, (e)->msg);                \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
    } while (0)
#define ASSERT_STR_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)",   \
                      n_);                                                                         \
    } while (0)
#define ASSERT_DBL_EQ(a, b)                                                                        \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(a_ == b_ || (isnan(a_) && isnan(b_))))                                               \
            test_fail(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", #a, #b, a_, b_);             \
    } while (0)
#define ASSERT_MEM_EQ(a, b, n)                                                                     \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            test_fail(__FILE__, __LINE__, "%s and %s differ in %zu bytes", #a, #b, (size_t) (n));  \
    } while (0)

/* A fresh empty directory under $TMPDIR, removed with its contents by test_tmpdir_remove(). */
char *test_tmpdir(void);
void test_tmpdir_remove(char *dir);
/* Reads a whole file into a malloc'd NUL-terminated buffer; NULL on failure. */
char *test_read_file(const char *path, size_t *ret_len);

/* Marsaglia's xorshift64: a fixed, seedable sequence for generated test data (not for anything
 * that needs good randomness); *state must not be 0. */
static inline uint64_t test_xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
