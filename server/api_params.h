/* server/api_params.h — the query API's time, duration and range parameters, parsed and checked
 * as Prometheus' web/api/v1 does (parseTime, parseDuration, queryRange), with its error words.
 * Pure functions of their arguments: any thread, no allocation. */
#ifndef EMBER_SERVER_API_PARAMS_H
#define EMBER_SERVER_API_PARAMS_H

#include <stdint.h>

#include "tsdb/base/base.h"

/* Prometheus' "for safety" cap on the points of one range-query series (web/api/v1 queryRange):
 * enough for a week at 60 s or a year at 1 h. */
#define API_MAX_POINTS 11000

/* A timestamp: float Unix seconds (rounded to the millisecond as Prometheus rounds), RFC3339
 * with an optional fraction, or Prometheus' min/max time strings. ERR_PARSE with
 * `cannot parse "s" to a valid timestamp`. */
int api_params_time(const char *s, int64_t *ret_ms, struct err *e);

/* A duration: float seconds or a Prometheus duration ("1m30s"), in nanoseconds as Go's
 * time.Duration holds it. ERR_PARSE with `cannot parse "s" to a valid duration` (and
 * `. It overflows int64` for float seconds out of range). Zero and negative values parse, and
 * so does NaN, as the most negative duration (what Go's conversion gives on amd64). */
int api_params_duration(const char *s, int64_t *ret_ns, struct err *e);

struct api_range {
    int64_t start_ms, end_ms, step_ms;
};

/* query_range's start, end and step (each may be NULL: missing) checked in Prometheus' order:
 * start, end, end before start, step, step <= 0, more than API_MAX_POINTS intervals. On failure
 * ERR_PARSE with the whole message the API answers, `invalid parameter "end": end timestamp
 * must not be before start time` and so on. A step below 1 ms counts as zero: ember evaluates
 * in whole milliseconds. */
int api_params_range(const char *start, const char *end, const char *step, struct api_range *ret,
                     struct err *e);

#endif
