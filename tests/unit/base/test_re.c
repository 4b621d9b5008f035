/* tests/unit/base/test_re.c — regex compile errors in Go's regexp/syntax words, as Prometheus
 * 2.42 shows them for a matcher's `=~` value (it compiles "^(?:" + value + ")$"); each expected
 * text was read from Prometheus 2.42's answer to `up{job=~"<pattern>"}`. */
#include "tsdb/base/base.h"
#include "test.h"

#include <string.h>

static const char *compile_error(const char *pattern)
{
    static struct err e;
    struct re *r = NULL;
    e = (struct err){0};
    if (re_compile(pattern, strlen(pattern), &r, &e) == 0) {
        re_free(r);
        return "(compiled)";
    }
    return e.msg;
}

TEST(compile_errors_use_go_words)
{
    ASSERT_STR_EQ(compile_error("("), "error parsing regexp: missing closing ): `^(?:()$`");
    ASSERT_STR_EQ(compile_error("a)"), "error parsing regexp: unexpected ): `^(?:a))$`");
    ASSERT_STR_EQ(compile_error("[a"), "error parsing regexp: missing closing ]: `[a)$`");
    ASSERT_STR_EQ(compile_error("[]a"), "error parsing regexp: missing closing ]: `[]a)$`");
    ASSERT_STR_EQ(compile_error("*"),
                  "error parsing regexp: missing argument to repetition operator: `*`");
    ASSERT_STR_EQ(compile_error("a**"),
                  "error parsing regexp: invalid nested repetition operator: `**`");
    ASSERT_STR_EQ(compile_error("a+*"),
                  "error parsing regexp: invalid nested repetition operator: `+*`");
    ASSERT_STR_EQ(compile_error("a\\"), "error parsing regexp: missing closing ): `^(?:a\\)$`");
    ASSERT_STR_EQ(compile_error("\\q"), "error parsing regexp: invalid escape sequence: `\\q`");
    ASSERT_STR_EQ(compile_error("[\\q]"), "error parsing regexp: invalid escape sequence: `\\q`");
    ASSERT_STR_EQ(compile_error("[z-a]"),
                  "error parsing regexp: invalid character class range: `z-a`");
    ASSERT_STR_EQ(compile_error("a{2,1}"), "error parsing regexp: invalid repeat count: `{2,1}`");
}

TEST(repeat_counts_above_1000_are_refused_as_re2_does)
{
    ASSERT_STR_EQ(compile_error("x{1001}"), "error parsing regexp: invalid repeat count: `{1001}`");
    ASSERT_STR_EQ(compile_error("x{2,1001}"),
                  "error parsing regexp: invalid repeat count: `{2,1001}`");
    ASSERT_STR_EQ(compile_error("x{1001,}"),
                  "error parsing regexp: invalid repeat count: `{1001,}`");
    /* literal braces, a class, an escape: no repeat there, as in Go */
    ASSERT_STR_EQ(compile_error("x{1000}"), "(compiled)");
    ASSERT_STR_EQ(compile_error("[{1001}]"), "(compiled)");
    ASSERT_STR_EQ(compile_error("x\\{1001}"), "(compiled)");
    ASSERT_STR_EQ(compile_error("x{,1001}"), "(compiled)");
    ASSERT_STR_EQ(compile_error("x{1001"), "(compiled)");
}
