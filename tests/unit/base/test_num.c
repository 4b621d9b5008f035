/* tests/unit/base/test_num.c — float formatting in Go's styles, strict parsing, durations. */
#include "tsdb/base/base.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static const char *fmt(double v, char mode)
{
    static char out[NUM_FLOAT_MAX];
    num_format(out, v, mode);
    return out;
}

static const char *fmt_json(double v)
{
    static char out[NUM_FLOAT_MAX];
    num_format_json(out, v);
    return out;
}

TEST(format_f_shortest)
{
    ASSERT_STR_EQ(fmt(1, 'f'), "1");
    ASSERT_STR_EQ(fmt(0.1 + 0.2, 'f'), "0.30000000000000004");
    ASSERT_STR_EQ(fmt(1e-7, 'f'), "0.0000001");
    ASSERT_STR_EQ(fmt(1e21, 'f'), "1000000000000000000000");
    ASSERT_STR_EQ(fmt(123456789012345678.0, 'f'), "123456789012345680");
    ASSERT_STR_EQ(fmt(-2.5, 'f'), "-2.5");
    ASSERT_STR_EQ(fmt(-0.0, 'f'), "-0");
    ASSERT_STR_EQ(fmt((double) NAN, 'f'), "NaN");
    ASSERT_STR_EQ(fmt((double) INFINITY, 'f'), "+Inf");
    ASSERT_STR_EQ(fmt(-(double) INFINITY, 'f'), "-Inf");
}

/* num_format_json() prints whole numbers below 2^53 directly: the same text as the shortest
 * digits give, at every magnitude, both signs, next to 2^53, and for non-integers beside them. */
TEST(format_json_integers_as_the_general_path)
{
    char want[NUM_FLOAT_MAX];
    double vals[] = {1, 9, 10, 99, 100, 1e15, 123456789, 4503599627370496.0, 9007199254740991.0,
                     9007199254740992.0, 9007199254740993.0, 1e20, 0.5, 1.5, 2.000000000000001};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            double v = sign * vals[i];
            num_format(want, v, 'f');
            ASSERT_STR_EQ(fmt_json(v), want);
        }
    }
    uint64_t x = 88172645463325252ull; /* xorshift: integers of every length */
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = (double) (int64_t) ((x >> (x % 53 + 11)) * (x & 1 ? 1 : -1));
        num_format(want, v, 'f');
        ASSERT_STR_EQ(fmt_json(v), want);
    }
}

/* The edges of shortest_digits (checked against Python's repr, which is also shortest and
 * closest, on 400k values across the whole range): integers at and past 2^53, carries when rounding the 17 digits
 * (9.5 → 10), subnormals, the largest double, and digit counts on both sides of the 15/16
 * first guesses. Every value must also read back exactly. */
TEST(format_shortest_edges)
{
    ASSERT_STR_EQ(fmt(9007199254740991.0, 'e'), "9.007199254740991e+15");
    ASSERT_STR_EQ(fmt(9007199254740992.0, 'e'), "9.007199254740992e+15");
    ASSERT_STR_EQ(fmt(9007199254740994.0, 'e'), "9.007199254740994e+15");
    ASSERT_STR_EQ(fmt(1e23, 'e'), "1e+23");
    ASSERT_STR_EQ(fmt(5e-324, 'e'), "5e-324");
    ASSERT_STR_EQ(fmt(1.7976931348623157e308, 'e'), "1.7976931348623157e+308");
    ASSERT_STR_EQ(fmt(2.2250738585072014e-308, 'e'), "2.2250738585072014e-308");
    /* powers of two: the shortest decimal may lie above v, in the wider upper half-gap */
    ASSERT_STR_EQ(fmt(0x1p-44, 'e'), "5.684341886080802e-14");
    ASSERT_STR_EQ(fmt(0x1p-97, 'e'), "6.310887241768095e-30");
    ASSERT_STR_EQ(fmt(0x1p+149, 'e'), "7.1362384635298e+44");
    ASSERT_STR_EQ(fmt(0.1, 'f'), "0.1");
    ASSERT_STR_EQ(fmt(1.0 / 3, 'f'), "0.3333333333333333");
    ASSERT_STR_EQ(fmt(2.0 / 3, 'f'), "0.6666666666666666");
    ASSERT_STR_EQ(fmt(123.456, 'f'), "123.456");
    ASSERT_STR_EQ(fmt(0.9999999999999999, 'f'), "0.9999999999999999");
    ASSERT_STR_EQ(fmt(99.99999999999999, 'f'), "99.99999999999999");
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        ASSERT_DBL_EQ(strtod(fmt(v, 'e'), NULL), v);
    }
}

/* An oracle that shares nothing with Ryū: a decimal of nd digits reads back when strtod says
 * so; the nd-digit decimals nearest v are the correctly rounded one (printf) and its neighbours
 * one unit in the last digit away. */
static double decimal_value(const char *dig, int nd, int e)
{
    char tmp[48];
    (void) snprintf(tmp, sizeof tmp, "%.*se%d", nd, dig, e - nd + 1);
    return strtod(tmp, NULL);
}

/* Whether any decimal of nd significant digits reads back as v: only the correctly rounded one
 * (printf's) and its neighbours one unit in the last digit away can. */
static int some_nd_digit_decimal_reads_back(double v, int nd)
{
    char tmp[40], digits[24];
    (void) snprintf(tmp, sizeof tmp, "%.*e", nd - 1, v);
    int k = 0;
    const char *p = tmp;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[k++] = *p;
    digits[k] = '\0';
    uint64_t m = strtoull(digits, NULL, 10);
    int scale = atoi(p + 1) - nd + 1;
    for (int d = -1; d <= 1; d++) {
        (void) snprintf(tmp, sizeof tmp, "%llue%d", (unsigned long long) (m + (uint64_t) d), scale);
        if (strtod(tmp, NULL) == v)
            return 1;
    }
    return 0;
}

TEST(shortest_digits_are_shortest_and_read_back_on_random_doubles)
{
    uint64_t x = 0x2545F4914F6CDD1Du;
    int checked = 0;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        if (i % 3 == 0)
            memcpy(&v, &x, sizeof v);
        else if (i % 3 == 1) /* rates and ratios, as queries produce them */
            v = (double) (x % 1000000007) / (double) (x % 99991 + 1);
        else /* powers of two, where the interval is lopsided */
            v = ldexp(1.0, (int) (x % 2000) - 1074);
        v = fabs(v);
        if (!isfinite(v) || v == 0)
            continue;
        char dig[32];
        int e, nd = num_shortest_digits(v, dig, &e);
        ASSERT_TRUE(nd >= 1 && nd <= 17);
        ASSERT_TRUE(nd == 1 || dig[nd - 1] != '0');
        ASSERT_DBL_EQ(decimal_value(dig, nd, e), v);
        if (nd > 1)
            ASSERT_FALSE(some_nd_digit_decimal_reads_back(v, nd - 1));
        checked++;
    }
    ASSERT_TRUE(checked > 90000);
}

TEST(format_json_switches_to_exponent_like_prometheus)
{
    ASSERT_STR_EQ(fmt_json(1e-7), "1e-07");
    ASSERT_STR_EQ(fmt_json(9.99e-7), "9.99e-07");
    ASSERT_STR_EQ(fmt_json(0.000001), "0.000001");
    ASSERT_STR_EQ(fmt_json(1e21), "1e+21");
    ASSERT_STR_EQ(fmt_json(1e20), "100000000000000000000");
    ASSERT_STR_EQ(fmt_json(0), "0");
    ASSERT_STR_EQ(fmt_json(1.5), "1.5");
}

TEST(format_g_like_go)
{
    ASSERT_STR_EQ(fmt(1e6, 'g'), "1e+06");
    ASSERT_STR_EQ(fmt(123456, 'g'), "123456");
    ASSERT_STR_EQ(fmt(1234567, 'g'), "1.234567e+06");
    ASSERT_STR_EQ(fmt(0.0001, 'g'), "0.0001");
    ASSERT_STR_EQ(fmt(0.00001, 'g'), "1e-05");
    ASSERT_STR_EQ(fmt(42, 'g'), "42");
}

TEST(parse_float_accepts_prometheus_forms)
{
    double v;
    ASSERT_OK(num_parse_float("1.5", 3, &v));
    ASSERT_DBL_EQ(v, 1.5);
    ASSERT_OK(num_parse_float("+Inf", 4, &v));
    ASSERT_TRUE(isinf(v) && v > 0);
    ASSERT_OK(num_parse_float("-inf", 4, &v));
    ASSERT_TRUE(isinf(v) && v < 0);
    ASSERT_OK(num_parse_float("NaN", 3, &v));
    ASSERT_TRUE(isnan(v));
    ASSERT_OK(num_parse_float("1e3", 3, &v));
    ASSERT_DBL_EQ(v, 1000);
    ASSERT_OK(num_parse_float("0x10", 4, &v));
    ASSERT_DBL_EQ(v, 16);
}

TEST(parse_float_rejects_junk)
{
    double v;
    ASSERT_TRUE(num_parse_float("", 0, &v) < 0);
    ASSERT_TRUE(num_parse_float("1.5x", 4, &v) < 0);
    ASSERT_TRUE(num_parse_float(" 1", 2, &v) < 0);
    ASSERT_TRUE(num_parse_float("nan(1)", 6, &v) < 0);
    ASSERT_TRUE(num_parse_float("--1", 3, &v) < 0);
}

TEST(parse_int64_bounds)
{
    int64_t v;
    ASSERT_OK(num_parse_int64("-9223372036854775808", 20, &v));
    ASSERT_TRUE(v == INT64_MIN);
    ASSERT_TRUE(num_parse_int64("9223372036854775808", 19, &v) < 0);
    ASSERT_TRUE(num_parse_int64("12a", 3, &v) < 0);
    ASSERT_TRUE(num_parse_int64("-", 1, &v) < 0);
}

TEST(durations_parse_and_format)
{
    int64_t ms;
    ASSERT_OK(duration_parse("1h30m", 5, &ms));
    ASSERT_EQ(ms, 5400000);
    ASSERT_OK(duration_parse("500ms", 5, &ms));
    ASSERT_EQ(ms, 500);
    ASSERT_OK(duration_parse("15s", 3, &ms));
    ASSERT_EQ(ms, 15000);
    ASSERT_OK(duration_parse("2d", 2, &ms));
    ASSERT_EQ(ms, 2 * 86400000LL);
    ASSERT_OK(duration_parse("1m5s10ms", 8, &ms));
    ASSERT_EQ(ms, 65010);
    ASSERT_TRUE(duration_parse("5m1h", 4, &ms) < 0); /* units must decrease */
    ASSERT_TRUE(duration_parse("1.5h", 4, &ms) < 0);
    ASSERT_TRUE(duration_parse("10", 2, &ms) < 0);
    ASSERT_TRUE(duration_parse("", 0, &ms) < 0);
    ASSERT_TRUE(duration_parse("99999999999999999999s", 21, &ms) < 0);
    char out[32];
    duration_format(out, sizeof out, 5400000);
    ASSERT_STR_EQ(out, "1h30m");
    duration_format(out, sizeof out, 0);
    ASSERT_STR_EQ(out, "0s");
    duration_format(out, sizeof out, 1500);
    ASSERT_STR_EQ(out, "1s500ms");
    duration_format(out, sizeof out, 15LL * 24 * 3600 * 1000); /* model.Duration: not 2w1d */
    ASSERT_STR_EQ(out, "15d");
    duration_format(out, sizeof out, 14LL * 24 * 3600 * 1000);
    ASSERT_STR_EQ(out, "2w");
    duration_format(out, sizeof out, 366LL * 24 * 3600 * 1000);
    ASSERT_STR_EQ(out, "366d");
}

TEST(stale_marker_is_one_nan_pattern)
{
    ASSERT_TRUE(num_is_stale(num_stale_nan()));
    ASSERT_FALSE(num_is_stale((double) NAN));
    ASSERT_FALSE(num_is_stale(1.0));
}

/* num_parse_decimal() against strtod on s: when the fast path takes s, the same bits as strtod
 * (which must read all of s); num_parse_float() agrees with strtod either way. Returns whether
 * the fast path took s. */
static int same_as_strtod(const char *s)
{
    size_t n = strlen(s);
    double fast, full;
    int took = num_parse_decimal(s, n, &fast) == 0;
    char *end;
    double ref = strtod(s, &end);
    if (took) {
        if (*end != '\0' || n == 0)
            test_fail(__FILE__, __LINE__, "fast path took '%s', strtod does not", s);
        if (memcmp(&fast, &ref, sizeof ref) != 0)
            test_fail(__FILE__, __LINE__, "'%s': fast %a, strtod %a", s, fast, ref);
    }
    if (n < 64 && *end == '\0' && n > 0 && num_parse_float(s, n, &full) == 0 && !isnan(ref) &&
        memcmp(&full, &ref, sizeof ref) != 0)
        test_fail(__FILE__, __LINE__, "'%s': num_parse_float %a, strtod %a", s, full, ref);
    return took;
}

TEST(parse_decimal_fast_path_takes_plain_decimals)
{
    static const char *const fast[] = {
        "0", "-0", "+0", "-0.0", "0.", ".0", "1", "+1", "-1", "5.", ".5", "1234.56",
        "1700000005.700", "1700000000123", "57", "1e22", "1E22", "1e+22", "-1e-22", "1e-22",
        "9007199254740992", "9007199254740992e22", "9007199254740992e-22", "900719925474099.2e1",
        "00000000000000000000000000001", "0.0000000000000000000001", "100000000000000e2",
        "-0e999", "0e-99999999999999999999", "0.000000000000000000000000000000000000000000000e5",
        "2.4819e-05", "1.234567168e+09", "1.570000000000001", "0.1", "0.3", "123456789.1234567",
    };
    static const char *const slow[] = {
        "9007199254740993", "18014398509481985", "15.700000000000001", "4503599627370497.5", "100000000000000000000e2", "1e23", "1e-23", "12345678901234567890",
        "1.2345678901234567890", "9007199254740993e-5", "1e400", "1e-400", "4.9e-324",
        "2.2250738585072014e-308", "1.7976931348623157e308", "0.1000000000000000055511151231257827",
        "", "+", "-", ".", "+.", "e5", ".e5", "1e", "1e+", "1e-", "1.5.5", "1e5.5", "1e5e5",
        " 1", "1 ", "0x10", "0x1p3", "1_0", "nan", "NaN", "inf", "+Inf", "-Infinity", "++1",
        "+-1", "1-", "1e++5", "١",
    };
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
        if (!same_as_strtod(fast[i]))
            test_fail(__FILE__, __LINE__, "fast path refused '%s'", fast[i]);
    for (size_t i = 0; i < sizeof slow / sizeof slow[0]; i++)
        if (same_as_strtod(slow[i]))
            test_fail(__FILE__, __LINE__, "fast path took '%s'", slow[i]);
    double v;
    ASSERT_OK(num_parse_decimal("-0", 2, &v));
    ASSERT_TRUE(v == 0 && signbit(v));
    ASSERT_OK(num_parse_decimal("12", 1, &v)); /* only n bytes count */
    ASSERT_DBL_EQ(v, 1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13; /* xorshift64: deterministic, so failures reproduce */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t put_digits(char *out, size_t k, uint64_t (*digit)(void))
{
    for (size_t i = 0; i < k; i++)
        out[i] = (char) ('0' + digit());
    return k;
}

static uint64_t any_digit(void)
{
    return rng() % 10;
}

static uint64_t edge_digit(void) /* runs of 0s and 9s reach the rounding boundaries */
{
    uint64_t r = rng() % 8;
    return r < 3 ? 0 : r < 6 ? 9 : rng() % 10;
}

TEST(parse_decimal_equals_strtod_on_random_decimals)
{
    char s[96];
    uint32_t took = 0, total = 300000;
    for (uint32_t i = 0; i < total; i++) {
        size_t o = 0;
        uint64_t (*digit)(void) = rng() % 4 ? any_digit : edge_digit;
        uint64_t r = rng();
        if (r % 3)
            s[o++] = r % 3 == 1 ? '-' : '+';
        if (rng() % 5 == 0) /* leading zeros */
            o += (size_t) snprintf(s + o, 8, "%.*s", (int) (rng() % 6), "000000");
        if (rng() % 8 == 0) { /* near 2^53, the largest exact significand */
            o += (size_t) snprintf(s + o, 24, "%llu",
                                   (unsigned long long) ((UINT64_C(1) << 53) - 8 + rng() % 16));
        } else {
            o += put_digits(s + o, rng() % 21, digit);
        }
        if (rng() % 2) {
            s[o++] = '.';
            o += put_digits(s + o, rng() % 21, digit);
        }
        if (rng() % 3 == 0) {
            s[o++] = rng() % 2 ? 'e' : 'E';
            uint64_t er = rng() % 4;
            if (er < 2)
                s[o++] = er ? '-' : '+';
            o += (size_t) snprintf(s + o, 8, "%d", (int) (rng() % 8 ? rng() % 30 : rng() % 400));
        }
        s[o] = '\0';
        took += (uint32_t) same_as_strtod(s);
    }
    ASSERT_TRUE(took > total / 4); /* the fast path was tested, not just skipped */
}

TEST(parse_decimal_equals_strtod_on_random_doubles)
{
    /* Shortest and longer spellings of random doubles, as exporters print them. */
    char s[64];
    uint32_t took = 0, total = 200000;
    for (uint32_t i = 0; i < total; i++) {
        uint64_t bits = rng();
        double d;
        if (i % 2)
            d = (double) (rng() % 1000000000000) / (double) (UINT64_C(1) << (rng() % 40));
        else
            memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        static const char *const fmts[] = {"%.17g", "%.15g", "%.6g", "%.3f", "%.9e", "%.1f"};
        (void) snprintf(s, sizeof s, fmts[i % 6], d);
        took += (uint32_t) same_as_strtod(s);
    }
    ASSERT_TRUE(took > total / 5);
}

TEST(scan_decimal_reads_the_leading_decimal)
{
    double v = 7;
    ASSERT_EQ(num_scan_decimal("12 3", 4, &v), 2);
    ASSERT_DBL_EQ(v, 12);
    ASSERT_EQ(num_scan_decimal("1.5e3}", 6, &v), 5);
    ASSERT_DBL_EQ(v, 1500);
    ASSERT_EQ(num_scan_decimal("-0.25x", 6, &v), 5);
    ASSERT_DBL_EQ(v, -0.25);
    ASSERT_EQ(num_scan_decimal("1234", 2, &v), 2); /* only n bytes count */
    ASSERT_DBL_EQ(v, 12);
    v = 7;
    ASSERT_EQ(num_scan_decimal("1ex", 3, &v), 0); /* strtod would stop before the 'e' */
    ASSERT_EQ(num_scan_decimal("1e+ ", 4, &v), 0);
    ASSERT_EQ(num_scan_decimal("x1", 2, &v), 0);
    ASSERT_EQ(num_scan_decimal("-", 1, &v), 0);
    ASSERT_EQ(num_scan_decimal("12345678901234567890 ", 21, &v), 0);
    ASSERT_DBL_EQ(v, 7); /* untouched when nothing was read */
}

TEST(scan_plain_reads_plain_decimals_as_the_general_scan_does)
{
    uint64_t w = 0;
    unsigned f = 0;
    const char *s = "1700000005.700 ";
    ASSERT_TRUE(num_scan_plain(s, s + strlen(s), &w, &f) == s + 14);
    ASSERT_EQ(w, UINT64_C(1700000005700));
    ASSERT_EQ(f, 3u);
    s = "5.";
    ASSERT_TRUE(num_scan_plain(s, s + 2, &w, &f) == s + 2);
    ASSERT_EQ(w, 5u);
    ASSERT_EQ(f, 0u);
    /* no digit, 20 digits, past 2^53: left to the general scan */
    static const char *const refused[] = {".", "-1", "", "12345678901234567890", "9007199254740993",
                                          "0.00000000000000000001"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ASSERT_TRUE(num_scan_plain(refused[i], refused[i] + strlen(refused[i]), &w, &f) == NULL);
    /* whatever it reads is the general scan's double */
    char buf[40];
    uint32_t took = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        uint64_t r = rng();
        (void) snprintf(buf, sizeof buf, "%.*f", (int) (r % 12), (double) (rng() % 100000000000) /
                                                                      (double) (1 + r % 1000));
        double want, got;
        const char *end = num_scan_plain(buf, buf + strlen(buf), &w, &f);
        if (!end)
            continue;
        took++;
        ASSERT_TRUE(end == buf + strlen(buf));
        ASSERT_EQ(num_parse_decimal(buf, strlen(buf), &want), 0);
        got = (double) w / num_exact_pow10[f];
        ASSERT_TRUE(memcmp(&got, &want, sizeof got) == 0);
    }
    ASSERT_TRUE(took > 50000);
}
