/* tests/unit/scrape/test_omparse.c — the OpenMetrics 1.0 parser: metadata, families and their
 * suffixes, float-second timestamps, exemplars, '# EOF', and malformed input failing with line,
 * column, what was expected and what was there. */
#include "scrape/textparse.h"
#include "tsdb/tsdb.h"
#include "render_entries.h"
#include "test.h"

#include <stdlib.h>

static const char *render(const char *in, size_t len)
{
    return render_entries(TEXTPARSE_OPENMETRICS, in, len);
}

static const char *om(const char *in)
{
    return render(in, strlen(in));
}

TEST(full_exposition)
{
    ASSERT_STR_EQ(
        om("# HELP http_requests Requests \\\"served\\\" \\\\ by\\nme.\n"
           "# TYPE http_requests counter\n"
           "# UNIT http_requests \n"
           "http_requests_total{code=\"200\"} 1027 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 1 "
           "1520879607.7\n"
           "http_requests_created{code=\"200\"} 1520430000.123\n"
           "# TYPE rpc_duration_seconds summary\n"
           "# UNIT rpc_duration_seconds seconds\n"
           "rpc_duration_seconds{quantile=\"0.5\"} 4773\n"
           "rpc_duration_seconds_sum 1.7560473e+07\n"
           "rpc_duration_seconds_count 2693\n"
           "# TYPE hist histogram\n"
           "hist_bucket{le=\"0.5\"} 1 # {} 0.3\n"
           "hist_bucket{le=\"+Inf\"} 2\n"
           "hist_count 2\nhist_sum 0.8\n"
           "# TYPE gh gaugehistogram\n"
           "gh_bucket{le=\"+Inf\"} 3\ngh_gcount 3\ngh_gsum 1\n"
           "# TYPE build info\n"
           "build_info{version=\"1.0\"} 1\n"
           "# TYPE state stateset\n"
           "state{state=\"a\"} 1\nstate{state=\"b\"} 0\n"
           "# TYPE temp gauge\n"
           "temp NaN\n"
           "# TYPE anything unknown\n"
           "anything{a=\"1\",} -Inf\n"
           "# EOF\n"),
        "H http_requests Requests \"served\" \\ by\nme.\n"
        "T http_requests counter\n"
        "U http_requests \n"
        "S http_requests_total{code=\"200\"} | http_requests_total{code=\"200\"} | 1027 "
        "@1520879607789 counter +exemplar\n"
        "S http_requests_created{code=\"200\"} | http_requests_created{code=\"200\"} | "
        "1.52043e+09 counter\n"
        "T rpc_duration_seconds summary\n"
        "U rpc_duration_seconds seconds\n"
        "S rpc_duration_seconds{quantile=\"0.5\"} | rpc_duration_seconds{quantile=\"0.5\"} | 4773 "
        "summary\n"
        "S rpc_duration_seconds_sum | rpc_duration_seconds_sum{} | 1.75605e+07 summary\n"
        "S rpc_duration_seconds_count | rpc_duration_seconds_count{} | 2693 summary\n"
        "T hist histogram\n"
        "S hist_bucket{le=\"0.5\"} | hist_bucket{le=\"0.5\"} | 1 histogram +exemplar\n"
        "S hist_bucket{le=\"+Inf\"} | hist_bucket{le=\"+Inf\"} | 2 histogram\n"
        "S hist_count | hist_count{} | 2 histogram\n"
        "S hist_sum | hist_sum{} | 0.8 histogram\n"
        "T gh gaugehistogram\n"
        "S gh_bucket{le=\"+Inf\"} | gh_bucket{le=\"+Inf\"} | 3 gaugehistogram\n"
        "S gh_gcount | gh_gcount{} | 3 gaugehistogram\n"
        "S gh_gsum | gh_gsum{} | 1 gaugehistogram\n"
        "T build info\n"
        "S build_info{version=\"1.0\"} | build_info{version=\"1.0\"} | 1 info\n"
        "T state stateset\n"
        "S state{state=\"a\"} | state{state=\"a\"} | 1 stateset\n"
        "S state{state=\"b\"} | state{state=\"b\"} | 0 stateset\n"
        "T temp gauge\n"
        "S temp | temp{} | nan gauge\n"
        "T anything unknown\n"
        "S anything{a=\"1\",} | anything{a=\"1\"} | -inf\n");
}

TEST(counter_samples_need_total_to_join_their_family)
{
    /* Accepted like Prometheus does, but not counted as the counter family. */
    ASSERT_STR_EQ(om("# TYPE c counter\nc 1\nc_total 2\nc_foo 3\n# TYPE i info\ni 1\n# EOF"),
                  "T c counter\nS c | c{} | 1\nS c_total | c_total{} | 2 counter\n"
                  "S c_foo | c_foo{} | 3\nT i info\nS i | i{} | 1\n");
}

TEST(timestamps_are_float_seconds)
{
    ASSERT_STR_EQ(om("a 1 1\nb 1 -1.5\nc 1 0.001\nd 1 1e3\ne 1 1520879607.789\n# EOF\n"),
                  "S a | a{} | 1 @1000\nS b | b{} | 1 @-1500\nS c | c{} | 1 @1\n"
                  "S d | d{} | 1 @1000000\nS e | e{} | 1 @1520879607789\n");
    /* past the plain fast path: 20 digits, more than 2^53 */
    ASSERT_STR_EQ(om("f 1 0.00000000000000000001\ng -2.5 9007199254740993\n# EOF\n"),
                  "S f | f{} | 1 @0\nS g | g{} | -2.5 @9007199254740992000\n");
}

TEST(eof_handling)
{
    ASSERT_STR_EQ(om("# EOF"), "");
    ASSERT_STR_EQ(om("# EOF\n"), "");
    ASSERT_STR_EQ(om("a 1\n# EOF"), "S a | a{} | 1\n");
    ASSERT_STR_EQ(om(""), "E line 1 col 1: unexpected end of input: OpenMetrics data must end "
                          "with '# EOF'\n");
    ASSERT_STR_EQ(om("a 1\n"), "S a | a{} | 1\nE line 2 col 1: unexpected end of input: "
                               "OpenMetrics data must end with '# EOF'\n");
    ASSERT_STR_EQ(om("a 1"), "E line 1 col 4: unexpected end of input: OpenMetrics data must end "
                             "with '# EOF'\n");
    ASSERT_STR_EQ(om("# EOF\na 1\n"), "E line 2 col 1: unexpected data after '# EOF'\n");
    ASSERT_STR_EQ(om("# EOF\n\n"), "E line 2 col 1: unexpected data after '# EOF'\n");
    ASSERT_STR_EQ(om("# EOF \n"), "E line 1 col 3: '# EOF' must be alone on its line\n");
    ASSERT_STR_EQ(om("# HELP a x"), "E line 1 col 11: unexpected end of input: OpenMetrics data "
                                    "must end with '# EOF'\n");

    struct textparse p;
    struct err e;
    textparse_init(&p, "# EOF\n", 6, TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(textparse_next(&p, &e), 0);
    ASSERT_EQ(textparse_next(&p, &e), 0);
}

TEST(exemplars_are_checked_and_skipped)
{
    struct textparse p;
    struct err e;
    struct labels ls;
    struct arena *a = arena_new(0);
    const char *in = "foo_bucket{le=\"1\",x=\"y\"} 17 # {trace_id=\"abc\",span=\"d\"} 0.67 123\n"
                     "# EOF\n";
    textparse_init(&p, in, strlen(in), TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_TRUE(p.has_exemplar);
    ASSERT_FALSE(p.has_t);
    ASSERT_DBL_EQ(p.value, 17);
    /* the exemplar's labels do not leak into the sample's */
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_EQ(ls.n, 3);
    ASSERT_STR_EQ(labels_get(&ls, "x"), "y");
    ASSERT_TRUE(labels_get(&ls, "trace_id") == NULL);
    ASSERT_EQ(textparse_next(&p, &e), 0);
    arena_free(a);
}

/* B(): the length comes from sizeof, so inputs may hold NUL bytes. */
#define B(in, err) {in, sizeof(in) - 1, err}
static const struct {
    const char *in;
    size_t len;
    const char *err;
} bad[] = {
    B("a 1\n\nb 1\n# EOF\n", "line 2 col 1: empty line (OpenMetrics allows none)"),
    B("# a comment\n# EOF\n", "line 1 col 3: expected HELP, TYPE, UNIT or EOF after '# ' "
                              "(OpenMetrics has no other comments), got 'a'"),
    B("#HELP a x\n# EOF\n", "line 1 col 1: expected '# HELP', '# TYPE', '# UNIT' or '# EOF'"),
    B("#\n# EOF\n", "line 1 col 1: expected '# HELP', '# TYPE', '# UNIT' or '# EOF'"),
    B("# HELP  a x\n# EOF\n", "line 1 col 8: expected metric name after HELP, got ' '"),
    B("# HELP a\tx\n# EOF\n", "line 1 col 9: expected ' ' after metric name, got '\\x09'"),
    B("# TYPE a untyped\n# EOF\n", "line 1 col 10: unknown metric type 'untyped' (OpenMetrics"),
    B("# TYPE a counter \n# EOF\n", "line 1 col 10: unknown metric type 'counter '"),
    B("# TYPE a\n# EOF\n", "line 1 col 9: expected metric type, got end of line"),
    B("# UNIT a_bytes seconds\n# EOF\n",
      "line 1 col 16: unit 'seconds' is not a suffix of metric name 'a_bytes'"),
    B("# UNIT seconds seconds\n# EOF\n",
      "line 1 col 16: unit 'seconds' is not a suffix of metric name 'seconds'"),
    B("# UNIT abytes bytes\n# EOF\n",
      "line 1 col 15: unit 'bytes' is not a suffix of metric name 'abytes'"),
    B("# HELP a \xff\n# EOF\n", "line 1 col 10: invalid UTF-8 in help text"),
    B("# HELP a x\0y\n# EOF\n", "line 1 col 11: NUL byte in help text"),
    B("a  1\n# EOF\n", "line 1 col 3: expected value after metric, got ' '"),
    B("a\t1\n# EOF\n", "line 1 col 2: expected ' ' and a value after metric, got '\\x09'"),
    B("a{b=\"c\"}1\n# EOF\n", "line 1 col 9: expected ' ' and a value after metric, got '1'"),
    B("a {b=\"c\"} 1\n# EOF\n", "line 1 col 3: invalid value '{b=\"c\"}'"),
    B("a{b=\"c\", d=\"e\"} 1\n# EOF\n", "line 1 col 9: expected label name or '}', got ' '"),
    B("a{b = \"c\"} 1\n# EOF\n", "line 1 col 4: expected '=' after label name 'b', got ' '"),
    B("a{b=\"c\nd\"} 1\n# EOF\n", "line 1 col 7: newline in label value for 'b'"),
    B("a{b=\"c\\\nd\"} 1\n# EOF\n", "line 1 col 8: newline in label value for 'b'"),
    B("a 1 \n# EOF\n", "line 1 col 5: invalid timestamp ''"),
    B("a 1 1 \n# EOF\n", "line 1 col 7: expected exemplar ('# {') or end of line, got end of line"),
    B("a 1 x\n# EOF\n", "line 1 col 5: invalid timestamp 'x'"),
    B("a 1 NaN\n# EOF\n", "line 1 col 5: timestamp 'NaN' is not a finite number of seconds"),
    B("a 1 +Inf\n# EOF\n", "line 1 col 5: timestamp '+Inf' is not a finite number of seconds"),
    B("a 1 1e300\n# EOF\n", "line 1 col 5: timestamp '1e300' is out of range"),
    B("a 1 1 2\n# EOF\n", "line 1 col 7: expected exemplar ('# {') or end of line, got '2'"),
    B("a 1 #{} 1\n# EOF\n", "line 1 col 5: expected exemplar ('# {') or end of line, got '#'"),
    B("a 1 # {}\n# EOF\n", "line 1 col 9: expected ' ' and a value after exemplar labels, got "
                           "end of line"),
    B("a 1 # {} \n# EOF\n", "line 1 col 10: expected exemplar value, got end of line"),
    B("a 1 # {} x\n# EOF\n", "line 1 col 10: invalid exemplar value 'x'"),
    B("a 1 # {} 1 NaN\n# EOF\n",
      "line 1 col 12: exemplar timestamp 'NaN' is not a finite number of seconds"),
    B("a 1 # {a=b} 1\n# EOF\n", "line 1 col 10: expected label value in quotes, got 'b'"),
    B("a 1 # {} 1 2 3\n# EOF\n", "line 1 col 13: expected end of line, got ' '"),
    B("a 1 # {} 1\r\n# EOF\n", "line 1 col 10: invalid exemplar value '1\\x0d' (lines must end"),
    B("a 1\r\n# EOF\n", "line 1 col 3: invalid value '1\\x0d' (lines must end with \\n"),
    B("a 0x1p3\n# EOF\n", "line 1 col 3: invalid value '0x1p3'"),
    B("a 1e999\n# EOF\n", "line 1 col 3: value '1e999' is out of range"),
    B("{a=\"b\"} 1\n# EOF\n", "line 1 col 1: expected metric name, '# HELP', '# TYPE', '# UNIT' "
                             "or '# EOF', got '{'"),
    B(" a 1\n# EOF\n", "line 1 col 1: expected metric name, '# HELP', '# TYPE', '# UNIT' or "
                       "'# EOF', got ' '"),
    B("a{b=\"\xc3\"} 1\n# EOF\n", "line 1 col 5: invalid UTF-8 in label value for 'b'"),
    B("a{b=\"\0\"} 1\n# EOF\n", "line 1 col 6: NUL byte in label value for 'b'"),
    B("a{b=\"1\",b=\"2\"} 1\n# EOF\n", "line 1: duplicate label name 'b'"),
    B("ok 1\n# TYPE x gauge\nx{y=\"1\"} 1 # {z=\"2\"} 3 4\nx{y=\"2\" 1\n# EOF\n",
      "line 4 col 8: expected ',' or '}' after label value, got ' '"),
};
#undef B

TEST(malformed_inputs_fail_with_position)
{
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        const char *got = render(bad[i].in, bad[i].len);
        const char *msg = strstr(got, "E ");
        if (!msg)
            test_fail(__FILE__, __LINE__, "case %zu parsed: %s", i, got);
        ASSERT_STR_CONTAINS(msg, bad[i].err);
    }
}

TEST(help_unit_and_type_fields)
{
    struct textparse p;
    struct err e;
    const char *in = "# HELP foo_seconds Time \\\"x\\\".\n# UNIT foo_seconds seconds\n"
                     "# TYPE foo_seconds gauge\nfoo_seconds 2.5 10\n# EOF";
    textparse_init(&p, in, strlen(in), TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_HELP);
    ASSERT_EQ(p.name_len, 11);
    ASSERT_MEM_EQ(p.name, "foo_seconds", 11);
    ASSERT_EQ(p.text_len, 11);
    ASSERT_MEM_EQ(p.text, "Time \\\"x\\\".", 11);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_UNIT);
    ASSERT_EQ(p.line, 2);
    ASSERT_EQ(p.text_len, 7);
    ASSERT_MEM_EQ(p.text, "seconds", 7);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_TYPE);
    ASSERT_EQ(p.type, TEXTPARSE_METRIC_GAUGE);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_EQ(p.line, 4);
    ASSERT_EQ(p.type, TEXTPARSE_METRIC_GAUGE);
    ASSERT_DBL_EQ(p.value, 2.5);
    ASSERT_EQ(p.t_ms, 10000);
    ASSERT_EQ(textparse_next(&p, &e), 0);
}

TEST(text_format_input_fails_clearly_as_openmetrics)
{
    /* A text 0.0.4 body served with an OpenMetrics content type. */
    ASSERT_STR_EQ(om("# HELP a b\n# TYPE a untyped\na 1\n"),
                  "H a b\nE line 2 col 10: unknown metric type 'untyped' (OpenMetrics types: "
                  "counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown)\n");
}

/* The well-formed seed files of the fuzz corpus parse cleanly: entries counted by kind. */
static void corpus_counts(const char *file, int series, int meta)
{
    corpus_counts_in(TEXTPARSE_OPENMETRICS, "omparse", file, series, meta, -1);
}

TEST(corpus_seeds_parse)
{
    corpus_counts("full.om", 5, 4);
    corpus_counts("histogram.om", 6, 2);
    corpus_counts("all_types.om", 8, 5);
    corpus_counts("escapes.om", 1, 2);
    corpus_counts("node_exporter.om", 3, 5);
}

TEST(repeated_series_parse_as_the_first)
{
    /* Lines that start with the previous series' text reuse its scan: same labels, and what
     * follows the '}' is still checked. */
    ASSERT_STR_EQ(om("a_total{x=\"1\",y=\"\\\"\"} 1 1 # {t=\"z\"} 1\na_total{x=\"1\",y=\"\\\"\"} 2 2\n"
                     "a_total{x=\"1\",y=\"\\\"\"} 3\n# EOF\n"),
                  "S a_total{x=\"1\",y=\"\\\"\"} | a_total{x=\"1\", y=\"\\\"\"} | 1 @1000 +exemplar\n"
                  "S a_total{x=\"1\",y=\"\\\"\"} | a_total{x=\"1\", y=\"\\\"\"} | 2 @2000\n"
                  "S a_total{x=\"1\",y=\"\\\"\"} | a_total{x=\"1\", y=\"\\\"\"} | 3\n");
    ASSERT_STR_EQ(om("a{x=\"1\"} 1\na{x=\"1\",y=\"2\"} 2\na{x=\"1\"} 3\n# EOF\n"),
                  "S a{x=\"1\"} | a{x=\"1\"} | 1\nS a{x=\"1\",y=\"2\"} | a{x=\"1\", y=\"2\"} | 2\n"
                  "S a{x=\"1\"} | a{x=\"1\"} | 3\n");
    ASSERT_STR_EQ(om("a{x=\"1\"} 1\na{x=\"1\"}} 2\n# EOF\n"),
                  "S a{x=\"1\"} | a{x=\"1\"} | 1\n"
                  "E line 2 col 9: expected ' ' and a value after metric, got '}'\n");
    ASSERT_STR_EQ(om("a{x=\"1\"} 1\na{x=\"1\"}"),
                  "S a{x=\"1\"} | a{x=\"1\"} | 1\n"
                  "E line 2 col 9: expected ' ' and a value after metric, got end of input\n");
    ASSERT_STR_EQ(om("a{x=\"1\"} 1\na{x=\"1\"} 1 x\n# EOF\n"),
                  "S a{x=\"1\"} | a{x=\"1\"} | 1\nE line 2 col 12: invalid timestamp 'x'\n");
}
