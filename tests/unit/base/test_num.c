/* tests/unit/base/test_num.c — float formatting in Go's styles, strict parsing, durations. */
#include "tsdb/base/base.h"
#include "test.h"

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
}

TEST(stale_marker_is_one_nan_pattern)
{
    ASSERT_TRUE(num_is_stale(num_stale_nan()));
    ASSERT_FALSE(num_is_stale((double) NAN));
    ASSERT_FALSE(num_is_stale(1.0));
}
