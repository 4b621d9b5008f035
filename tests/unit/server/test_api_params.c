/* tests/unit/server/test_api_params.c — the query API's timestamps, durations and query_range
 * checks: Prometheus' rounding, its check order, the 11,000-point boundary and its messages. */
#include "server/api_params.h"
#include "test.h"

static int64_t time_ms(const char *s)
{
    int64_t ms = -42;
    struct err e = {0};
    ASSERT_OK_E(api_params_time(s, &ms, &e), &e);
    return ms;
}

static int64_t dur_ns(const char *s)
{
    int64_t ns = -42;
    struct err e = {0};
    ASSERT_OK_E(api_params_duration(s, &ns, &e), &e);
    return ns;
}

/* Runs the range checks; returns the error message, or "" on success (ret filled). */
static const char *range(const char *start, const char *end, const char *step,
                         struct api_range *ret)
{
    static struct err e;
    err_clear(&e);
    if (api_params_range(start, end, step, ret, &e) < 0) {
        ASSERT_EQ(e.code, ERR_PARSE);
        return e.msg;
    }
    return "";
}

TEST(time_float_seconds_round_to_milliseconds)
{
    ASSERT_EQ(time_ms("1700000000"), INT64_C(1700000000000));
    ASSERT_EQ(time_ms("1700000000.5"), INT64_C(1700000000500));
    ASSERT_EQ(time_ms("1700000000.0006"), INT64_C(1700000000001)); /* rounded, not cut */
    ASSERT_EQ(time_ms("1700000000.0004"), INT64_C(1700000000000));
    ASSERT_EQ(time_ms("-1.5"), -1500);
    ASSERT_EQ(time_ms("0"), 0);
    ASSERT_EQ(time_ms("1e3"), 1000000);
}

TEST(time_rfc3339_and_prometheus_bounds)
{
    ASSERT_EQ(time_ms("2015-07-01T20:10:51.781Z"), INT64_C(1435781451781));
    ASSERT_EQ(time_ms("2015-07-01T20:10:51Z"), INT64_C(1435781451000));
    ASSERT_EQ(time_ms("2015-07-01T22:10:51.7+02:00"), INT64_C(1435781451700));
    ASSERT_EQ(time_ms("1970-01-01T00:00:00Z"), 0);
    ASSERT_EQ(time_ms("-292273086-05-16T16:47:06Z"),
              (INT64_MIN / 1000 + INT64_C(62135596801)) * 1000);
    ASSERT_EQ(time_ms("292277025-08-18T07:12:54.999999999Z"),
              (INT64_MAX / 1000 - INT64_C(62135596801)) * 1000 + 999);
}

TEST(time_errors_quote_the_input_like_go)
{
    int64_t ms = 7;
    struct err e = {0};
    ASSERT_EQ(api_params_time("abc", &ms, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"abc\" to a valid timestamp");
    ASSERT_EQ(ms, 7); /* ret_ written only on success */
    ASSERT_EQ(api_params_time("", &ms, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"\" to a valid timestamp");
    ASSERT_EQ(api_params_time("a\"b\n", &ms, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"a\\\"b\\n\" to a valid timestamp");
    ASSERT_EQ(api_params_time("NaN", &ms, &e), ERR_PARSE);
    ASSERT_EQ(api_params_time("+Inf", &ms, &e), ERR_PARSE);
    ASSERT_EQ(api_params_time("1e300", &ms, &e), ERR_PARSE);
    ASSERT_EQ(api_params_time("2015-13-01T00:00:00Z", &ms, &e), ERR_PARSE);
    ASSERT_EQ(api_params_time("2015-07-01 20:10:51Z", &ms, &e), ERR_PARSE);
    ASSERT_EQ(ms, 7);
}

TEST(duration_float_seconds_and_prometheus_durations)
{
    ASSERT_EQ(dur_ns("15s"), INT64_C(15000000000));
    ASSERT_EQ(dur_ns("1m30s"), INT64_C(90000000000));
    ASSERT_EQ(dur_ns("1h"), INT64_C(3600000000000));
    ASSERT_EQ(dur_ns("500ms"), INT64_C(500000000));
    ASSERT_EQ(dur_ns("15"), INT64_C(15000000000));
    ASSERT_EQ(dur_ns("0.5"), INT64_C(500000000));
    ASSERT_EQ(dur_ns("0.015"), INT64_C(15000000));
    ASSERT_EQ(dur_ns("0"), 0);
    ASSERT_EQ(dur_ns("-1"), INT64_C(-1000000000));
    ASSERT_EQ(dur_ns("0.0005"), 500000); /* below a millisecond: still a positive Duration */
    ASSERT_EQ(dur_ns("NaN"), INT64_MIN);
}

TEST(duration_errors)
{
    int64_t ns = 3;
    struct err e = {0};
    ASSERT_EQ(api_params_duration("abc", &ns, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"abc\" to a valid duration");
    ASSERT_EQ(api_params_duration("", &ns, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"\" to a valid duration");
    ASSERT_EQ(api_params_duration("1m1h", &ns, &e), ERR_PARSE); /* units must decrease */
    ASSERT_EQ(api_params_duration("1e10", &ns, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "cannot parse \"1e10\" to a valid duration. It overflows int64");
    ASSERT_EQ(api_params_duration("-Inf", &ns, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "It overflows int64");
    ASSERT_EQ(api_params_duration("300y", &ns, &e), ERR_PARSE); /* > 292 years of ns */
    ASSERT_EQ(ns, 3);
}

TEST(range_accepts_and_converts)
{
    struct api_range r;
    ASSERT_STR_EQ(range("1700000000", "1700003600", "15s", &r), "");
    ASSERT_EQ(r.start_ms, INT64_C(1700000000000));
    ASSERT_EQ(r.end_ms, INT64_C(1700003600000));
    ASSERT_EQ(r.step_ms, 15000);
    ASSERT_STR_EQ(range("1.001", "1.035", "0.010", &r), ""); /* no alignment to the step */
    ASSERT_EQ(r.start_ms, 1001);
    ASSERT_EQ(r.end_ms, 1035);
    ASSERT_EQ(r.step_ms, 10);
    ASSERT_STR_EQ(range("5", "5", "1m30s", &r), ""); /* start == end: one point */
    ASSERT_EQ(r.step_ms, 90000);
    ASSERT_STR_EQ(range("2015-07-01T20:10:51Z", "2015-07-01T21:10:51Z", "60", &r), "");
    ASSERT_EQ(r.end_ms - r.start_ms, 3600000);
}

TEST(range_point_limit_boundary)
{
    struct api_range r;
    static const char limit[] = "exceeded maximum resolution of 11,000 points per timeseries. "
                                "Try decreasing the query resolution (?step=XX)";
    /* (end - start) / step intervals, integer division: 11,000 intervals = 11,001 points pass. */
    ASSERT_STR_EQ(range("0", "11000", "1", &r), "");
    ASSERT_STR_EQ(range("0", "11001", "1", &r), limit);
    ASSERT_STR_EQ(range("0", "11001.999", "1", &r), limit);
    ASSERT_STR_EQ(range("0", "11000.999", "1", &r), ""); /* 11000.999 / 1 → 11000 */
    ASSERT_STR_EQ(range("0", "660000", "60", &r), "");
    ASSERT_STR_EQ(range("0", "660060", "60", &r), limit);
    ASSERT_STR_EQ(range("0", "21600", "1.9636", &r), ""); /* 6 h at Grafana's ~2 s floor */
    /* Spans beyond int64 nanoseconds saturate as Go's Time.Sub does. */
    ASSERT_STR_EQ(range("-9e15", "9e15", "3600", &r), limit);
    /* A sub-millisecond step is checked against the limit first, as Prometheus does. */
    ASSERT_STR_EQ(range("0", "10", "0.0001", &r), limit);
}

TEST(range_errors_in_prometheus_order)
{
    struct api_range r;
    ASSERT_STR_EQ(range(NULL, "10", "1", &r),
                  "invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
    ASSERT_STR_EQ(range("x", "y", "z", &r),
                  "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp");
    ASSERT_STR_EQ(range("1", "y", "z", &r),
                  "invalid parameter \"end\": cannot parse \"y\" to a valid timestamp");
    ASSERT_STR_EQ(range("10", "1", "z", &r),
                  "invalid parameter \"end\": end timestamp must not be before start time");
    ASSERT_STR_EQ(range("1", "10", "z", &r),
                  "invalid parameter \"step\": cannot parse \"z\" to a valid duration");
    ASSERT_STR_EQ(range("1", "10", NULL, &r),
                  "invalid parameter \"step\": cannot parse \"\" to a valid duration");
    static const char zero[] = "invalid parameter \"step\": zero or negative query resolution "
                               "step widths are not accepted. Try a positive integer";
    ASSERT_STR_EQ(range("1", "10", "0", &r), zero);
    ASSERT_STR_EQ(range("1", "10", "-15s", &r), /* durations have no sign, floats do */
                  "invalid parameter \"step\": cannot parse \"-15s\" to a valid duration");
    ASSERT_STR_EQ(range("1", "10", "-1", &r), zero);
    ASSERT_STR_EQ(range("1", "10", "NaN", &r), zero);
    ASSERT_STR_EQ(range("0", "1", "0.0005", &r), zero); /* rounds to 0 ms */
}
