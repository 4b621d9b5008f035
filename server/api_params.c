/* server/api_params.c — timestamps, durations and range checks of the query API, following
 * Prometheus' web/api/v1 parseTime, parseDuration and queryRange to the message. */
#include "server/api_params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Prometheus' minTime/maxTime as its API formats them (time.Time{}.Format(RFC3339Nano) of
 * math.MinInt64/1000 + 62135596801 seconds and its counterpart); clients send them back. */
#define MIN_TIME_TEXT "-292273086-05-16T16:47:06Z"
#define MAX_TIME_TEXT "292277025-08-18T07:12:54.999999999Z"
#define MIN_TIME_MS ((INT64_MIN / 1000 + INT64_C(62135596801)) * 1000)
#define MAX_TIME_MS ((INT64_MAX / 1000 - INT64_C(62135596801)) * 1000 + 999)

#define NS_PER_MS INT64_C(1000000)

/* Go's %q for the ASCII cases messages meet: quotes, backslashes and control bytes escaped;
 * other bytes kept. Truncated to fit cap (which must be at least 8). */
static const char *go_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    out[o++] = '"';
    for (; *s && o + 6 < cap; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char) c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t) snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char) c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC3339 with an optional fraction and Z or ±hh:mm (Go's time.RFC3339Nano layout). */
static int parse_rfc3339(const char *s, int64_t *ret_ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return -1;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || strlen(p) != 6)
            return -1;
        off_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    *ret_ms = secs * 1000 + frac_ms;
    return 0;
}

int api_params_time(const char *s, int64_t *ret_ms, struct err *e)
{
    double v;
    if (num_parse_float(s, strlen(s), &v) == 0) {
        /* Prometheus splits off whole seconds and rounds the fraction to milliseconds; beyond
         * ±9.2e15 s the milliseconds no longer fit int64. */
        if (isfinite(v) && fabs(v) <= 9.2e15) {
            double whole;
            double frac = modf(v, &whole);
            *ret_ms = (int64_t) whole * 1000 + (int64_t) llround(frac * 1000.0);
            return 0;
        }
    } else if (parse_rfc3339(s, ret_ms) == 0) {
        return 0;
    } else if (strcmp(s, MIN_TIME_TEXT) == 0) {
        *ret_ms = MIN_TIME_MS;
        return 0;
    } else if (strcmp(s, MAX_TIME_TEXT) == 0) {
        *ret_ms = MAX_TIME_MS;
        return 0;
    }
    char q[220];
    return err_set(e, ERR_PARSE, "cannot parse %s to a valid timestamp", go_quote(s, q, sizeof q));
}

int api_params_duration(const char *s, int64_t *ret_ns, struct err *e)
{
    char q[220];
    double v;
    int64_t ms;
    if (num_parse_float(s, strlen(s), &v) == 0) {
        if (isnan(v)) { /* Go converts NaN to int64 as the minimum on amd64: a negative step */
            *ret_ns = INT64_MIN;
            return 0;
        }
        double ns = v * 1e9;
        /* 2^63 itself does not fit: Go's check lets it through and wraps; refuse it instead. */
        if (ns >= 9223372036854775808.0 || ns < -9223372036854775808.0)
            return err_set(e, ERR_PARSE, "cannot parse %s to a valid duration. It overflows int64",
                           go_quote(s, q, sizeof q));
        *ret_ns = (int64_t) ns;
        return 0;
    }
    if (duration_parse(s, strlen(s), &ms) == 0 && ms <= INT64_MAX / NS_PER_MS) {
        *ret_ns = ms * NS_PER_MS;
        return 0;
    }
    return err_set(e, ERR_PARSE, "cannot parse %s to a valid duration", go_quote(s, q, sizeof q));
}

int api_params_range(const char *start, const char *end, const char *step, struct api_range *ret,
                     struct err *e)
{
    int64_t start_ms, end_ms, step_ns;
    if (api_params_time(start ? start : "", &start_ms, e) < 0)
        return err_prefix(e, "invalid parameter \"start\": ");
    if (api_params_time(end ? end : "", &end_ms, e) < 0)
        return err_prefix(e, "invalid parameter \"end\": ");
    if (end_ms < start_ms)
        return err_set(e, ERR_PARSE,
                       "invalid parameter \"end\": end timestamp must not be before start time");
    if (api_params_duration(step ? step : "", &step_ns, e) < 0)
        return err_prefix(e, "invalid parameter \"step\": ");
    static const char zero_step[] = "invalid parameter \"step\": zero or negative query "
                                    "resolution step widths are not accepted. Try a positive "
                                    "integer";
    if (step_ns <= 0)
        return err_set(e, ERR_PARSE, "%s", zero_step);
    /* end.Sub(start) / step in Go: a Duration (ns) saturating at its bounds, integer division. */
    uint64_t span_ms = (uint64_t) end_ms - (uint64_t) start_ms; /* end >= start: no wrap */
    int64_t span_ns = span_ms > (uint64_t) (INT64_MAX / NS_PER_MS) ? INT64_MAX
                                                                    : (int64_t) span_ms * NS_PER_MS;
    if (span_ns / step_ns > API_MAX_POINTS)
        return err_set(e, ERR_PARSE,
                       "exceeded maximum resolution of 11,000 points per timeseries. Try "
                       "decreasing the query resolution (?step=XX)");
    if (step_ns < NS_PER_MS)
        return err_set(e, ERR_PARSE, "%s", zero_step);
    *ret = (struct api_range){start_ms, end_ms, step_ns / NS_PER_MS};
    return 0;
}
