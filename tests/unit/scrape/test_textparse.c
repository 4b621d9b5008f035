/* tests/unit/scrape/test_textparse.c — the text format 0.0.4 parser: samples, labels, escapes,
 * metadata, whitespace rules, and malformed input failing with line, column and the token. */
#include "scrape/textparse.h"
#include "tsdb/tsdb.h"
#include "render_entries.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>

static const char *render(enum textparse_format f, const char *in, size_t len)
{
    return render_entries(f, in, len);
}

static const char *prom(const char *in)
{
    return render(TEXTPARSE_PROM, in, strlen(in));
}

TEST(simple_samples)
{
    ASSERT_STR_EQ(prom("foo 1\n"), "S foo | foo{} | 1\n");
    ASSERT_STR_EQ(prom("http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"),
                  "S http_requests_total{method=\"post\",code=\"200\"} | "
                  "http_requests_total{code=\"200\", method=\"post\"} | 1027 @1395066363000\n");
    ASSERT_STR_EQ(prom("a:b_c:d 0.5\nx 2\n"), "S a:b_c:d | a:b_c:d{} | 0.5\nS x | x{} | 2\n");
    ASSERT_STR_EQ(prom("foo -3 -5\n"), "S foo | foo{} | -3 @-5\n");
    ASSERT_STR_EQ(prom(""), "");
}

TEST(fields_of_a_sample)
{
    const char *in = "  metric_x{b=\"2\", a=\"1\"}  \t 12.5e1 \t 1700000000123  \n";
    struct textparse p;
    struct err e;
    textparse_init(&p, in, strlen(in), TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_EQ(p.series_len, strlen("metric_x{b=\"2\", a=\"1\"}"));
    ASSERT_MEM_EQ(p.series, "metric_x{b=\"2\", a=\"1\"}", p.series_len);
    ASSERT_EQ(p.name_len, 8);
    ASSERT_MEM_EQ(p.name, "metric_x", 8);
    ASSERT_DBL_EQ(p.value, 125);
    ASSERT_TRUE(p.has_t);
    ASSERT_EQ(p.t_ms, 1700000000123);
    ASSERT_EQ(p.line, 1);
    struct arena *a = arena_new(0);
    struct labels ls;
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_EQ(ls.n, 3);
    ASSERT_STR_EQ(ls.v[0].name, "__name__");
    ASSERT_STR_EQ(ls.v[0].value, "metric_x");
    ASSERT_STR_EQ(ls.v[1].name, "a");
    ASSERT_STR_EQ(ls.v[2].name, "b");
    ASSERT_STR_EQ(ls.v[2].value, "2");
    ASSERT_EQ(textparse_next(&p, &e), 0);
    ASSERT_EQ(textparse_next(&p, &e), 0); /* stays at the end */
    arena_free(a);
}

TEST(values_spelled_like_go)
{
    ASSERT_STR_EQ(prom("a NaN\nb +Inf\nc -Inf\nd inf\ne Infinity\nf nan\n"),
                  "S a | a{} | nan\nS b | b{} | inf\nS c | c{} | -inf\nS d | d{} | inf\n"
                  "S e | e{} | inf\nS f | f{} | nan\n");
    ASSERT_STR_EQ(prom("a .5\nb 5.\nc 1E3\nd -0\ne 007\nf 1e-400\n"),
                  "S a | a{} | 0.5\nS b | b{} | 5\nS c | c{} | 1000\nS d | d{} | -0\n"
                  "S e | e{} | 7\nS f | f{} | 0\n");
    /* A scraped NaN is never the stale marker. */
    struct textparse p;
    struct err e;
    textparse_init(&p, "x NaN", 5, TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_TRUE(isnan(p.value));
    ASSERT_FALSE(num_is_stale(p.value));
}

TEST(label_value_escapes)
{
    ASSERT_STR_EQ(prom("msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
                       "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"),
                  "S msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
                  "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} | "
                  "msdos_file_access_time_seconds{error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\", "
                  "path=\"C:\\\\DIR\\\\FILE.TXT\"} | 1.45826e+09\n");
    /* Unknown escapes stay as written, as Prometheus' replacer leaves them. */
    struct textparse p;
    struct err e;
    struct labels ls;
    struct arena *a = arena_new(0);
    const char *in = "m{a=\"x\\ty\",b=\"\\\\n\",c=\"\xc3\xa9\",d=\"\"} 1";
    textparse_init(&p, in, strlen(in), TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_STR_EQ(labels_get(&ls, "a"), "x\\ty");
    ASSERT_STR_EQ(labels_get(&ls, "b"), "\\n");
    ASSERT_STR_EQ(labels_get(&ls, "c"), "\xc3\xa9");
    ASSERT_STR_EQ(labels_get(&ls, "d"), "");
    arena_free(a);
}

TEST(raw_newline_in_label_value_counts_lines)
{
    ASSERT_STR_EQ(prom("a{x=\"1\n2\"} 1\nb 2\nc{ 3\n"),
                  "S a{x=\"1\n2\"} | a{x=\"1\\n2\"} | 1\nS b | b{} | 2\n"
                  "E line 4 col 4: expected label name or '}', got '3'\n");
}

TEST(whitespace_rules)
{
    ASSERT_STR_EQ(prom("\n\n  \t\nfoo{ a = \"1\" , b=\"2\", } 1 \t\n\n"),
                  "S foo{ a = \"1\" , b=\"2\", } | foo{a=\"1\", b=\"2\"} | 1\n");
    ASSERT_STR_EQ(prom("foo {a=\"1\"} 1\n"), "S foo {a=\"1\"} | foo{a=\"1\"} | 1\n");
    ASSERT_STR_EQ(prom("foo{a=\"1\"}1\n"), "S foo{a=\"1\"} | foo{a=\"1\"} | 1\n");
    ASSERT_STR_EQ(prom("foo{} 1\n"), "S foo{} | foo{} | 1\n");
    ASSERT_STR_EQ(prom("foo\t2\t3"), "S foo | foo{} | 2 @3\n"); /* no final newline */
    ASSERT_STR_EQ(prom("   \t  "), "");
}

TEST(help_type_and_comments)
{
    ASSERT_STR_EQ(prom("# HELP foo Some help \\\\ with \\n escapes and \\\"quotes\\\"\n"
                       "# TYPE foo counter\n"
                       "foo 1\n"
                       "# a comment\n"
                       "#HELP not_meta x\n"
                       "# HELPER not meta\n"
                       "#\n"
                       "  # TYPE bar gauge\n"
                       "# HELP baz\n"
                       "# HELP qux \t two\n"
                       "# UNIT foo seconds\n"),
                  "H foo Some help \\ with \n escapes and \\\"quotes\\\"\n"
                  "T foo counter\n"
                  "S foo | foo{} | 1 counter\n"
                  "C # a comment\n"
                  "C #HELP not_meta x\n"
                  "C # HELPER not meta\n"
                  "C #\n"
                  "T bar gauge\n"
                  "H baz \n"
                  "H qux \t two\n"
                  "C # UNIT foo seconds\n");
    ASSERT_STR_EQ(prom("# TYPE a untyped\n# TYPE b histogram\n# TYPE c summary\n"
                       "#\tTYPE\td\tgauge\t\n"),
                  "T a unknown\nT b histogram\nT c summary\nT d gauge\n");
}

TEST(family_types_follow_the_type_line)
{
    ASSERT_STR_EQ(prom("# TYPE h histogram\n"
                       "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
                       "h_other 1\nh 1\n"
                       "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n"
                       "other 5\n"),
                  "T h histogram\n"
                  "S h_bucket{le=\"1\"} | h_bucket{le=\"1\"} | 1 histogram\n"
                  "S h_bucket{le=\"+Inf\"} | h_bucket{le=\"+Inf\"} | 2 histogram\n"
                  "S h_sum | h_sum{} | 3 histogram\n"
                  "S h_count | h_count{} | 2 histogram\n"
                  "S h_other | h_other{} | 1\n"
                  "S h | h{} | 1\n"
                  "T s summary\n"
                  "S s{quantile=\"0.5\"} | s{quantile=\"0.5\"} | 1 summary\n"
                  "S s_sum | s_sum{} | 1 summary\n"
                  "S s_count | s_count{} | 1 summary\n"
                  "S other | other{} | 5\n");
}

/* Every malformed input fails with line, column, what was expected and what was there. */
/* B(): the length comes from sizeof, so inputs may hold NUL bytes. */
#define B(in, err) {in, sizeof(in) - 1, err}
static const struct {
    const char *in;
    size_t len;
    const char *err;
} bad[] = {
    B("foo{a=\"b\" 1\n", "line 1 col 11: expected ',' or '}' after label value, got '1'"),
    B("foo{a=x} 1\n", "line 1 col 7: expected label value in quotes, got 'x'"),
    B("foo{a=\"b} 1\n", "line 1 col 7: label value for 'a' has no closing '\"'"),
    B("foo{1a=\"b\"} 1\n", "line 1 col 5: expected label name or '}', got '1a'"),
    B("foo{a:b=\"c\"} 1\n", "line 1 col 6: expected '=' after label name 'a', got ':b'"),
    B("foo{a=\"b\",,} 1\n", "line 1 col 11: expected label name or '}', got ','"),
    B("foo{,} 1\n", "line 1 col 5: expected label name or '}', got ','"),
    B("foo{a=\"b\"\n} 1\n",
      "line 1 col 10: expected ',' or '}' after label value, got end of line"),
    B("foo{a=\"b\"}{c=\"d\"} 1\n", "line 1 col 11: expected value after metric, got '{'"),
    B("foo{", "line 1 col 5: expected label name or '}', got end of input"),
    B("foo{a", "line 1 col 6: expected '=' after label name 'a', got end of input"),
    B("foo{a=\"\\", "line 1 col 7: label value for 'a' has no closing '\"'"),
    B("foo", "line 1 col 4: expected value after metric, got end of input"),
    B("ok 1\nfoo\n", "line 2 col 4: expected value after metric, got end of line"),
    B("foo bar\n", "line 1 col 5: invalid value 'bar'"),
    B("foo 1 bar\n", "line 1 col 7: invalid timestamp 'bar' (text format timestamps are integer"),
    B("foo 1 1.5\n", "line 1 col 7: invalid timestamp '1.5'"),
    B("foo 1 5\r\n", "line 1 col 7: invalid timestamp '5\\x0d' (lines must end with \\n, not"),
    B("foo 1 +5\n", "line 1 col 7: invalid timestamp '+5'"),
    B("foo 1 99999999999999999999\n", "line 1 col 7: invalid timestamp '99999999999999999999'"),
    B("foo 1 2 3\n", "line 1 col 9: expected end of line after timestamp, got '3'"),
    B("foo 1{\n", "line 1 col 6: expected timestamp or end of line, got '{'"),
    B("1foo 1\n", "line 1 col 1: expected metric name, '#' or end of line, got '1foo'"),
    B("{a=\"b\"} 1\n", "line 1 col 1: expected metric name, '#' or end of line, got '{'"),
    B("foo-bar 1\n", "line 1 col 4: invalid value '-bar'"),
    B("foo 1\r\n", "line 1 col 5: invalid value '1\\x0d' (lines must end with \\n, not \\r\\n)"),
    B("foo 0x1p3\n", "line 1 col 5: invalid value '0x1p3'"),
    B("foo 0x10\n", "line 1 col 5: invalid value '0x10'"),
    B("foo 1_000\n", "line 1 col 5: invalid value '1_000'"),
    B("foo +NaN\n", "line 1 col 5: invalid value '+NaN'"),
    B("foo 1e400\n", "line 1 col 5: value '1e400' is out of range"),
    B("foo -1e400\n", "line 1 col 5: value '-1e400' is out of range"),
    B("foo 1.\x01\n", "line 1 col 5: invalid value '1.\\x01'"),
    B("foo 0.0000000000000000000000000000000000000000000000000000000000000001\n",
     "line 1 col 5: value '0.000000000000000000000000000000...' is longer than 63 bytes"),
    B("foo{a=\"\xff\"} 1\n", "line 1 col 7: invalid UTF-8 in label value for 'a'"),
    B("foo{a=\"\xc0\xaf\"} 1\n", "line 1 col 7: invalid UTF-8 in label value for 'a'"),
    B("foo{a=\"\xed\xa0\x80\"} 1\n", "line 1 col 7: invalid UTF-8 in label value for 'a'"),
    B("foo{a=\"x\ny\xff\"} 1\n", "line 1 col 7: invalid UTF-8 in label value for 'a'"),
    B("foo{a=\"\0\"} 1\n", "line 1 col 8: NUL byte in label value for 'a'"),
    B("# comment \0 here\n", "line 1 col 11: NUL byte in comment"),
    B("# HELP foo a\0b\n", "line 1 col 13: NUL byte in help text"),
    B("# HELP foo \xe2\x82\n", "line 1 col 12: invalid UTF-8 in help text"),
    B("# TYPE foo blah\n", "line 1 col 12: unknown metric type 'blah' (text format types: counter"),
    B("# TYPE foo Counter\n", "line 1 col 12: unknown metric type 'Counter'"),
    B("# TYPE foo unknown\n", "line 1 col 12: unknown metric type 'unknown'"),
    B("# TYPE foo counter extra\n",
     "line 1 col 20: expected end of line after metric type, got 'extra'"),
    B("# TYPE foo\n", "line 1 col 11: expected metric type, got end of line"),
    B("# TYPE foo \n", "line 1 col 12: expected metric type, got end of line"),
    B("# HELP 1foo x\n", "line 1 col 8: expected metric name after HELP, got '1foo'"),
    B("# TYPE \n", "line 1 col 8: expected metric name after TYPE, got end of line"),
    B("# HELP ", "line 1 col 8: expected metric name after HELP, got end of input"),
    B("# TYPE foo{ counter\n", "line 1 col 11: expected blank after metric name, got '{'"),
    B("a 1\n\n# TYPE a counter\n  x{y=\"z\"} = 1\n",
     "line 4 col 12: invalid value '='"),
};
#undef B

TEST(malformed_inputs_fail_with_position)
{
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        const char *got = render(TEXTPARSE_PROM, bad[i].in, bad[i].len);
        const char *msg = strstr(got, "E ");
        if (!msg)
            test_fail(__FILE__, __LINE__, "case %zu parsed: %s", i, got);
        ASSERT_STR_CONTAINS(msg, bad[i].err);
    }
}

TEST(errors_are_sticky)
{
    struct textparse p;
    struct err e;
    textparse_init(&p, "a 1\nb x\nc 2\n", 12, TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_EQ(textparse_next(&p, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "line 2 col 3: invalid value 'x'");
    ASSERT_EQ(textparse_next(&p, &e), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "line 2: parsing stopped at an earlier error");
    ASSERT_EQ(textparse_next(&p, NULL), ERR_PARSE); /* e may be NULL */
}

TEST(duplicate_label_names)
{
    ASSERT_STR_EQ(prom("ok 1\nfoo{a=\"1\",b=\"2\",a=\"3\"} 1\n"),
                  "S ok | ok{} | 1\nE line 2: duplicate label name 'a'\n");
    ASSERT_STR_EQ(prom("foo{__name__=\"bar\"} 1\n"), "E line 1: duplicate label name '__name__'\n");
}

TEST(labels_hit_the_arena_cap)
{
    static char in[4096];
    int n = snprintf(in, sizeof in, "m{");
    for (int i = 0; i < 100; i++)
        n += snprintf(in + n, sizeof in - (size_t) n, "l%d=\"value%d\",", i, i);
    n += snprintf(in + n, sizeof in - (size_t) n, "} 1\n");
    struct textparse p;
    struct err e;
    struct labels ls;
    struct arena *a = arena_new(512);
    textparse_init(&p, in, (size_t) n, TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_EQ(p.n_labels, 100);
    ASSERT_EQ(textparse_labels(&p, a, &ls, &e), ERR_LIMIT);
    ASSERT_STR_CONTAINS(e.msg, "line 1: no memory for labels (arena limit reached)");
    arena_free(a);
    a = arena_new(0);
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_EQ(ls.n, 101);
    for (uint32_t i = 1; i < ls.n; i++)
        ASSERT_TRUE(strcmp(ls.v[i - 1].name, ls.v[i].name) < 0);
    arena_free(a);
}

TEST(long_lines_and_many_labels)
{
    /* a 100 KiB label value and 5000 labels on one line */
    size_t cap = 400 * 1024, n = 0;
    char *in = malloc(cap);
    ASSERT_TRUE(in != NULL);
    n += (size_t) snprintf(in + n, cap - n, "big{v=\"");
    memset(in + n, 'x', 100 * 1024);
    n += 100 * 1024;
    n += (size_t) snprintf(in + n, cap - n, "\"} 1\nmany{");
    for (int i = 0; i < 5000; i++)
        n += (size_t) snprintf(in + n, cap - n, "l%04d=\"%d\",", 4999 - i, i);
    n += (size_t) snprintf(in + n, cap - n, "} 2 3\n");
    struct textparse p;
    struct err e;
    struct labels ls;
    struct arena *a = arena_new(0);
    textparse_init(&p, in, n, TEXTPARSE_PROM);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_EQ(strlen(labels_get(&ls, "v")), 100 * 1024);
    ASSERT_EQ(textparse_next(&p, &e), TEXTPARSE_SERIES);
    ASSERT_EQ(p.line, 2);
    ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    ASSERT_EQ(ls.n, 5001);
    ASSERT_STR_EQ(ls.v[1].name, "l0000");
    ASSERT_STR_EQ(ls.v[1].value, "4999");
    ASSERT_EQ(p.t_ms, 3);
    ASSERT_EQ(textparse_next(&p, &e), 0);
    arena_free(a);
    free(in);
}

TEST(node_exporter_like_output)
{
    const char *in =
        "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection "
        "cycles.\n"
        "# TYPE go_gc_duration_seconds summary\n"
        "go_gc_duration_seconds{quantile=\"0\"} 2.3e-05\n"
        "go_gc_duration_seconds{quantile=\"1\"} 0.000161\n"
        "go_gc_duration_seconds_sum 0.002\n"
        "go_gc_duration_seconds_count 12\n"
        "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
        "# TYPE node_cpu_seconds_total counter\n"
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 123456.78\n"
        "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 2345.6\n"
        "# HELP node_filesystem_avail_bytes Filesystem space available.\n"
        "# TYPE node_filesystem_avail_bytes gauge\n"
        "node_filesystem_avail_bytes{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"} "
        "1.2345e+10\n";
    const char *out = prom(in);
    ASSERT_STR_CONTAINS(out, "T go_gc_duration_seconds summary\n");
    ASSERT_STR_CONTAINS(out, "S go_gc_duration_seconds_count | go_gc_duration_seconds_count{} "
                             "| 12 summary\n");
    ASSERT_STR_CONTAINS(out, "node_cpu_seconds_total{cpu=\"0\", mode=\"user\"} | 2345.6 counter\n");
    ASSERT_STR_CONTAINS(out, "| 1.2345e+10 gauge\n");
    ASSERT_TRUE(strstr(out, "E ") == NULL);
}

TEST(content_type_chooses_the_parser)
{
#define CT(s) textparse_format_from_content_type(s, strlen(s))
    ASSERT_EQ(CT("application/openmetrics-text; version=1.0.0; charset=utf-8"),
              TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(CT("application/openmetrics-text;version=0.0.1"), TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(CT(" Application/OpenMetrics-Text"), TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(CT("application/openmetrics-text ;version=1.0.0"), TEXTPARSE_OPENMETRICS);
    ASSERT_EQ(CT("text/plain; version=0.0.4; charset=utf-8"), TEXTPARSE_PROM);
    ASSERT_EQ(CT("application/openmetrics-textual"), TEXTPARSE_PROM);
    ASSERT_EQ(CT("application/openmetrics"), TEXTPARSE_PROM);
    ASSERT_EQ(CT(""), TEXTPARSE_PROM);
    ASSERT_EQ(textparse_format_from_content_type(NULL, 0), TEXTPARSE_PROM);
#undef CT
    ASSERT_STR_EQ(textparse_accept_header,
                  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
}

TEST(metric_type_names)
{
    ASSERT_STR_EQ(textparse_metric_type_name(TEXTPARSE_METRIC_UNKNOWN), "unknown");
    ASSERT_STR_EQ(textparse_metric_type_name(TEXTPARSE_METRIC_GAUGEHISTOGRAM), "gaugehistogram");
    ASSERT_STR_EQ(textparse_metric_type_name(_TEXTPARSE_METRIC_MAX), "unknown");
}

/* The well-formed seed files of the fuzz corpus parse cleanly: entries counted by kind. */
static void corpus_counts(const char *file, int series, int meta, int comments)
{
    corpus_counts_in(TEXTPARSE_PROM, "textparse", file, series, meta, comments);
}

TEST(corpus_seeds_parse)
{
    corpus_counts("node_exporter.prom", 15, 10, 0);
    corpus_counts("histogram.prom", 8, 2, 0);
    corpus_counts("escapes.prom", 3, 2, 0);
    corpus_counts("timestamps_specials.prom", 7, 0, 0);
    corpus_counts("whitespace.prom", 6, 0, 0);
    corpus_counts("comments.prom", 1, 3, 4);
}

TEST(repeated_series_parse_as_the_first)
{
    ASSERT_STR_EQ(prom("a { x = \"1\" , } 1 5\na { x = \"1\" , }2\n"),
                  "S a { x = \"1\" , } | a{x=\"1\"} | 1 @5\nS a { x = \"1\" , } | a{x=\"1\"} | 2\n");
    /* a raw newline in a value moves the line count each time it is read */
    ASSERT_STR_EQ(prom("a{x=\"1\n2\"} 1\na{x=\"1\n2\"} 2\nb{ 3\n"),
                  "S a{x=\"1\n2\"} | a{x=\"1\\n2\"} | 1\nS a{x=\"1\n2\"} | a{x=\"1\\n2\"} | 2\n"
                  "E line 5 col 4: expected label name or '}', got '3'\n");
    ASSERT_STR_EQ(prom("a{x=\"1\"} 1\na{x=\"1\"} 1 x\n"),
                  "S a{x=\"1\"} | a{x=\"1\"} | 1\n"
                  "E line 2 col 12: invalid timestamp 'x' (text format timestamps are integer "
                  "milliseconds)\n");
}
