/* server/json.h — streaming JSON writer into a struct buf, with the exact bytes Prometheus' API
 * produces: strings escaped like Go's encoding/json (HTML-safe, invalid UTF-8 as \ufffd), sample
 * values and timestamps in the two formats of grafana-compat.md §4.3, and the response envelope.
 *
 * Errors are sticky: every call after the first failure (-ENOMEM from the buffer, ERR_LIMIT past
 * JSON_MAX_DEPTH) does nothing, and json_done() reports it, so handlers write without checks.
 * Commas and colons are placed by the writer. Any thread; one writer per thread at a time. */
#ifndef EMBER_SERVER_JSON_H
#define EMBER_SERVER_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tsdb/base/base.h"
#include "tsdb/tsdb.h"

#define JSON_MAX_DEPTH 64

/* Caller's storage (json_init/json_done); b is borrowed until json_done(). */
struct json_writer {
    struct buf *b;
    uint64_t nonempty; /* bit d: the container at depth d has an element already */
    uint32_t depth;
    int after_key;     /* a key was written: the next value takes no comma */
    int err;           /* first failure, sticky */
};

void json_init(struct json_writer *w, struct buf *b);
/* Returns 0, or the first error; ERR_INTERNAL when containers are left open. */
int json_done(struct json_writer *w);

void json_obj_begin(struct json_writer *w);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w);
void json_arr_end(struct json_writer *w);
void json_key_n(struct json_writer *w, const char *k, size_t n);
/* Inline so that the compiler measures literal keys (most of them) at build time. */
static inline void json_key(struct json_writer *w, const char *k) { json_key_n(w, k, strlen(k)); }

/* Keys and strings given as string literals that need no escaping (ASCII letters, digits, _):
 * their quoted form is made at build time, for the fixed keys of every response. */
#define json_key_lit(w, k) json_key_quoted((w), "\"" k "\":", sizeof("\"" k "\":") - 1)
#define json_str_lit(w, s) json_raw((w), "\"" s "\"", sizeof("\"" s "\"") - 1)
void json_key_quoted(struct json_writer *w, const char *quoted, size_t n);

void json_null(struct json_writer *w);
void json_str_n(struct json_writer *w, const char *s, size_t n);
static inline void json_str(struct json_writer *w, const char *s) /* NULL writes null */
{
    if (s)
        json_str_n(w, s, strlen(s));
    else
        json_null(w);
}
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, int v);
/* Go encoding/json float64: 'f' shortest, 'e' below 1e-6 or from 1e21 (exponent without leading
 * zero: 1e-7). Go refuses NaN/Inf; here they become null rather than failing the response. */
void json_float(struct json_writer *w, double v);
/* Bytes that are already valid JSON (e.g. a cached fragment), written as one value. */
void json_raw(struct json_writer *w, const char *s, size_t n);

/* --- Prometheus value formats (grafana-compat.md §4.3) --- */
/* Vector/matrix timestamp: ms as seconds, "1700000000", "1700000000.500", "-1.500". */
void json_ts_ms(struct json_writer *w, int64_t t_ms);
/* Scalar/string timestamp: Go encoding/json of float64(ms)/1000: "1700000000.5". */
void json_ts_ms_scalar(struct json_writer *w, int64_t t_ms);
/* Vector/matrix/exemplar value as a string: "1e-07", "0.1", "NaN", "+Inf" (num_format_json). */
void json_sample_value(struct json_writer *w, double v);
/* Scalar value as a string: always 'f' ("0.0000001", "1000000000000000000000"). */
void json_scalar_value(struct json_writer *w, double v);
/* [ts, "v"] pairs: vector/matrix form and scalar form; string results: [ts, "s"]. */
void json_sample_pair(struct json_writer *w, int64_t t_ms, double v);
void json_scalar_pair(struct json_writer *w, int64_t t_ms, double v);
void json_string_pair(struct json_writer *w, int64_t t_ms, const char *s, size_t n);
/* A label set as an object in the set's (sorted) order; labels with empty values are skipped,
 * as Prometheus never holds them. */
void json_labels(struct json_writer *w, const struct labels *ls);

/* Envelope: json_envelope_begin() writes `{"status":"success","data":` and the caller writes
 * exactly one data value; json_envelope_end() adds "warnings" when n_warnings > 0 and closes. */
void json_envelope_begin(struct json_writer *w);
void json_envelope_end(struct json_writer *w, const char *const *warnings, size_t n_warnings);
/* Whole error body {"status":"error","errorType":"…","error":"…"} appended to b. */
int json_error_body(struct buf *b, const char *error_type, const char *msg);

/* Appends s as a JSON string literal (quotes included) to b; -ENOMEM on failure. */
int json_escape(struct buf *b, const char *s, size_t n);

#endif
