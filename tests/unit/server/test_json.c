/* tests/unit/server/test_json.c — JSON writer: Go/json-iterator string escaping, the two
 * Prometheus number formats of grafana-compat.md §4.3, envelopes, sticky errors. */
#include "server/json.h"

#include <math.h>

#include "test.h"

static char out[4096];

/* Runs fn on a fresh writer and returns the NUL-terminated result. */
#define WRITE(stmts)                                                                               \
    do {                                                                                           \
        struct buf jb_ = BUF_INIT;                                                                 \
        struct json_writer jw_;                                                                    \
        json_init(&jw_, &jb_);                                                                     \
        struct json_writer *w = &jw_;                                                              \
        stmts;                                                                                     \
        ASSERT_EQ(json_done(&jw_), 0);                                                             \
        ASSERT_TRUE(jb_.len < sizeof out);                                                         \
        memcpy(out, jb_.p, jb_.len);                                                               \
        out[jb_.len] = '\0';                                                                       \
        buf_free(&jb_);                                                                            \
    } while (0)

static const char *esc(const char *s, size_t n)
{
    struct buf b = BUF_INIT;
    ASSERT_EQ(json_escape(&b, s, n), 0);
    memcpy(out, b.p, b.len);
    out[b.len] = '\0';
    buf_free(&b);
    return out;
}

TEST(escape_basic)
{
    ASSERT_STR_EQ(esc("abc", 3), "\"abc\"");
    ASSERT_STR_EQ(esc("", 0), "\"\"");
    ASSERT_STR_EQ(esc("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    ASSERT_STR_EQ(esc("\n\r\t", 3), "\"\\n\\r\\t\"");
    /* json-iterator (Prometheus) writes \b and \f as \u00XX */
    ASSERT_STR_EQ(esc("\b\f\x01\x1f", 4), "\"\\u0008\\u000c\\u0001\\u001f\"");
    ASSERT_STR_EQ(esc("a\0b", 3), "\"a\\u0000b\"");
    ASSERT_STR_EQ(esc("<a&b>", 5), "\"\\u003ca\\u0026b\\u003e\"");
    ASSERT_STR_EQ(esc("\x7f/", 2), "\"\x7f/\"");
}

TEST(escape_utf8)
{
    ASSERT_STR_EQ(esc("h\xc3\xa9", 3), "\"h\xc3\xa9\"");             /* é kept */
    ASSERT_STR_EQ(esc("\xe2\x82\xac", 3), "\"\xe2\x82\xac\"");       /* € kept */
    ASSERT_STR_EQ(esc("\xf0\x9f\x98\x80", 4), "\"\xf0\x9f\x98\x80\""); /* emoji kept */
    ASSERT_STR_EQ(esc("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"");
    ASSERT_STR_EQ(esc("\xff", 1), "\"\\ufffd\"");
    ASSERT_STR_EQ(esc("a\xc3", 2), "\"a\\ufffd\"");                  /* truncated */
    ASSERT_STR_EQ(esc("\xe2\x82z", 3), "\"\\ufffd\\ufffdz\"");       /* one per bad byte */
    ASSERT_STR_EQ(esc("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");         /* overlong */
    ASSERT_STR_EQ(esc("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    ASSERT_STR_EQ(esc("\xf4\x90\x80\x80", 4), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* >10FFFF */
}

TEST(structure_and_commas)
{
    WRITE({
        json_obj_begin(w);
        json_key(w, "a");
        json_arr_begin(w);
        json_int(w, 1);
        json_int(w, -2);
        json_arr_begin(w);
        json_arr_end(w);
        json_obj_begin(w);
        json_obj_end(w);
        json_arr_end(w);
        json_key(w, "b");
        json_bool(w, 1);
        json_key(w, "c");
        json_null(w);
        json_key(w, "d");
        json_str(w, NULL);
        json_key(w, "e");
        json_uint(w, UINT64_MAX);
        json_obj_end(w);
    });
    ASSERT_STR_EQ(out, "{\"a\":[1,-2,[],{}],\"b\":true,\"c\":null,\"d\":null,"
                       "\"e\":18446744073709551615}");
}

TEST(sticky_errors)
{
    struct buf b = BUF_INIT;
    struct json_writer w;
    json_init(&w, &b);
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        json_arr_begin(&w);
    ASSERT_EQ(json_done(&w), ERR_LIMIT);
    json_arr_end(&w); /* ignored after the error */
    ASSERT_EQ(json_done(&w), ERR_LIMIT);
    buf_free(&b);
}

TEST(timestamps_vector)
{
    WRITE(json_ts_ms(w, INT64_C(1700000000000)));
    ASSERT_STR_EQ(out, "1700000000");
    WRITE(json_ts_ms(w, INT64_C(1700000000500)));
    ASSERT_STR_EQ(out, "1700000000.500");
    WRITE(json_ts_ms(w, INT64_C(1700000000050)));
    ASSERT_STR_EQ(out, "1700000000.050");
    WRITE(json_ts_ms(w, INT64_C(1700000000001)));
    ASSERT_STR_EQ(out, "1700000000.001");
    WRITE(json_ts_ms(w, -1500));
    ASSERT_STR_EQ(out, "-1.500");
    WRITE(json_ts_ms(w, -500));
    ASSERT_STR_EQ(out, "-0.500");
    WRITE(json_ts_ms(w, 0));
    ASSERT_STR_EQ(out, "0");
    WRITE(json_ts_ms(w, INT64_MIN));
    ASSERT_STR_EQ(out, "-9223372036854775.808");
}

TEST(timestamps_scalar)
{
    WRITE(json_ts_ms_scalar(w, 4000));
    ASSERT_STR_EQ(out, "4");
    WRITE(json_ts_ms_scalar(w, INT64_C(1700000000500)));
    ASSERT_STR_EQ(out, "1700000000.5");
    WRITE(json_ts_ms_scalar(w, INT64_C(1700000000123)));
    ASSERT_STR_EQ(out, "1700000000.123");
    WRITE(json_ts_ms_scalar(w, -1500));
    ASSERT_STR_EQ(out, "-1.5");
    WRITE(json_ts_ms_scalar(w, 1));
    ASSERT_STR_EQ(out, "0.001");
}

TEST(values)
{
    WRITE(json_sample_value(w, 1e-7));
    ASSERT_STR_EQ(out, "\"1e-07\"");
    WRITE(json_sample_value(w, 9.99e-7));
    ASSERT_STR_EQ(out, "\"9.99e-07\"");
    WRITE(json_sample_value(w, 0.000001));
    ASSERT_STR_EQ(out, "\"0.000001\"");
    WRITE(json_sample_value(w, 1e21));
    ASSERT_STR_EQ(out, "\"1e+21\"");
    WRITE(json_sample_value(w, 1e20));
    ASSERT_STR_EQ(out, "\"100000000000000000000\"");
    WRITE(json_sample_value(w, (double) NAN));
    ASSERT_STR_EQ(out, "\"NaN\"");
    WRITE(json_sample_value(w, (double) INFINITY));
    ASSERT_STR_EQ(out, "\"+Inf\"");
    WRITE(json_sample_value(w, -(double) INFINITY));
    ASSERT_STR_EQ(out, "\"-Inf\"");
    WRITE(json_sample_value(w, -0.0));
    ASSERT_STR_EQ(out, "\"-0\"");
    WRITE(json_sample_value(w, 0.1 + 0.2));
    ASSERT_STR_EQ(out, "\"0.30000000000000004\"");
    WRITE(json_scalar_value(w, 1e-7));
    ASSERT_STR_EQ(out, "\"0.0000001\"");
    WRITE(json_scalar_value(w, 1e21));
    ASSERT_STR_EQ(out, "\"1000000000000000000000\"");
    WRITE(json_scalar_value(w, 123456789012345678.0));
    ASSERT_STR_EQ(out, "\"123456789012345680\"");
    WRITE(json_scalar_value(w, (double) NAN));
    ASSERT_STR_EQ(out, "\"NaN\"");
}

TEST(go_float)
{
    WRITE(json_float(w, 0.0003));
    ASSERT_STR_EQ(out, "0.0003");
    WRITE(json_float(w, 1e-7));
    ASSERT_STR_EQ(out, "1e-7"); /* encoding/json trims the exponent's leading zero */
    WRITE(json_float(w, 1e21));
    ASSERT_STR_EQ(out, "1e+21");
    WRITE(json_float(w, 2));
    ASSERT_STR_EQ(out, "2");
    WRITE(json_float(w, (double) NAN));
    ASSERT_STR_EQ(out, "null");
}

TEST(pairs)
{
    WRITE(json_sample_pair(w, INT64_C(1700000000500), 1));
    ASSERT_STR_EQ(out, "[1700000000.500,\"1\"]");
    WRITE(json_scalar_pair(w, INT64_C(1700000000500), 1));
    ASSERT_STR_EQ(out, "[1700000000.5,\"1\"]");
    WRITE(json_scalar_pair(w, 4000, 2));
    ASSERT_STR_EQ(out, "[4,\"2\"]");
    WRITE(json_string_pair(w, 4000, "a\"b", 3));
    ASSERT_STR_EQ(out, "[4,\"a\\\"b\"]");
}

TEST(labels_and_envelope)
{
    struct label lv[] = {{"__name__", "up"}, {"empty", ""}, {"job", "a<b"}};
    struct labels ls = {lv, 3};
    WRITE({
        json_envelope_begin(w);
        json_obj_begin(w);
        json_key(w, "resultType");
        json_str(w, "vector");
        json_key(w, "result");
        json_arr_begin(w);
        json_obj_begin(w);
        json_key(w, "metric");
        json_labels(w, &ls);
        json_key(w, "value");
        json_sample_pair(w, 1000, 1);
        json_obj_end(w);
        json_arr_end(w);
        json_obj_end(w);
        json_envelope_end(w, NULL, 0);
    });
    ASSERT_STR_EQ(out, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                       "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\\u003cb\"},"
                       "\"value\":[1,\"1\"]}]}}");
    const char *warn[] = {"w1", "w2"};
    WRITE({
        json_envelope_begin(w);
        json_arr_begin(w);
        json_arr_end(w);
        json_envelope_end(w, warn, 2);
    });
    ASSERT_STR_EQ(out, "{\"status\":\"success\",\"data\":[],\"warnings\":[\"w1\",\"w2\"]}");
    struct labels empty = {NULL, 0};
    WRITE(json_labels(w, &empty));
    ASSERT_STR_EQ(out, "{}");
}

TEST(error_body)
{
    struct buf b = BUF_INIT;
    ASSERT_EQ(json_error_body(&b, "bad_data", "invalid parameter \"query\": x"), 0);
    ASSERT_EQ(buf_putc(&b, 0), 0);
    ASSERT_STR_EQ((const char *) b.p, "{\"status\":\"error\",\"errorType\":\"bad_data\","
                                      "\"error\":\"invalid parameter \\\"query\\\": x\"}");
    buf_free(&b);
}
