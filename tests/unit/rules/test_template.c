/* tests/unit/rules/test_template.c — the rule template language: syntax, variables, control
 * flow, every function with the outputs Prometheus (Go) gives, malformed templates, execution
 * errors and limits. Expected strings are what Go's text/template with Prometheus' function map
 * prints for the same input. */
#include "rules/template.h"

#include <math.h>
#include <stdlib.h>

#include "test.h"

static struct label alert_l[] = {
    {"__name__", "up"}, {"instance", "node-1.example.com:9100"}, {"job", "node"},
    {"severity", "page"},
};
static struct labels alert_ls = {alert_l, 4};
static struct label ext_l[] = {{"cluster", "eu-1"}, {"replica", "a"}};
static struct labels ext_ls = {ext_l, 2};

/* A fake query function: "empty" gives no samples, "fail" an error, anything else three
 * samples of metric `m` with job labels c, a, b and values 3, 1, 2. */
static int fake_query(void *ctx, struct arena *a, const char *q, size_t n,
                      struct tmpl_sample **ret, size_t *ret_n, struct err *e)
{
    int *calls = ctx;
    (*calls)++;
    if (n == 4 && !memcmp(q, "fail", 4))
        return err_set(e, ERR_EXEC, "query failed: boom");
    if (n == 5 && !memcmp(q, "empty", 5)) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    static const char *jobs[] = {"c", "a", "b"};
    struct tmpl_sample *s = arena_calloc(a, 3, sizeof *s);
    for (int i = 0; i < 3; i++) {
        struct label *l = arena_calloc(a, 2, sizeof *l);
        l[0] = (struct label){"__name__", "m"};
        l[1] = (struct label){"job", jobs[i]};
        s[i].labels = (struct labels){l, 2};
        s[i].value = i == 0 ? 3 : i;
    }
    *ret = s;
    *ret_n = 3;
    return 0;
}

static int query_calls;

/* Parses and executes text with $value = value; returns the output or "ERR(parse|exec): msg". */
static const char *runv(struct arena *a, const char *text, double value)
{
    struct tmpl *t;
    struct err e = {0};
    if (tmpl_parse(a, "x", text, strlen(text), &t, &e) < 0)
        return arena_printf(a, "ERR(parse): %s", e.msg);
    struct tmpl_data d = {.labels = &alert_ls, .value = value, .external_labels = &ext_ls,
                          .external_url = "https://prom.example.com/prefix",
                          .query = fake_query, .query_ctx = &query_calls};
    char *out;
    size_t n;
    int r = tmpl_exec(t, a, &d, &out, &n, &e);
    if (r < 0)
        return arena_printf(a, "ERR(%s): %s", r == ERR_LIMIT ? "limit" : "exec", e.msg);
    ASSERT_EQ(strlen(out), n);
    return out;
}
static const char *run(struct arena *a, const char *text) { return runv(a, text, 1234.5); }

#define CHECK(text, want) ASSERT_STR_EQ(run(a, text), want)
#define CHECKV(text, v, want) ASSERT_STR_EQ(runv(a, text, v), want)

TEST(text_and_simple_actions)
{
    struct arena *a = arena_new(0);
    CHECK("", "");
    CHECK("plain text", "plain text");
    CHECK("{{ $labels.instance }} is down", "node-1.example.com:9100 is down");
    CHECK("{{ .Labels.job }}/{{ $labels.job }}", "node/node");
    CHECK("{{ $value }}", "1234.5");
    CHECK("{{ .Value }}", "1234.5");
    CHECK("{{ $externalLabels.cluster }}", "eu-1");
    CHECK("{{ .ExternalLabels.replica }}", "a");
    CHECK("{{ $externalURL }}", "https://prom.example.com/prefix");
    CHECK("{{ .ExternalURL }}", "https://prom.example.com/prefix");
    CHECK("[{{ $labels.missing }}]", "[]"); /* missingkey=zero */
    CHECK("{{ $.Labels.job }}", "node");
    CHECK("{{ .Labels }}",
          "map[__name__:up instance:node-1.example.com:9100 job:node severity:page]");
    CHECK("{{ \"a\\tb\\x41\\u00e9\" }}", "a\tbA\xc3\xa9");
    CHECK("{{ `raw\\n` }}", "raw\\n");
    CHECK("{{ 42 }} {{ -7 }} {{ 1.5 }} {{ 1e3 }} {{ 0x1F }} {{ 'a' }} {{ true }} {{ false }}",
          "42 -7 1.5 1000 31 97 true false");
    CHECK("{{ 1_000 }}", "1000");
    arena_free(a);
}

TEST(value_prints_like_go)
{
    struct arena *a = arena_new(0);
    CHECKV("{{ $value }}", 1234567, "1.234567e+06");
    CHECKV("{{ $value }}", 123456, "123456");
    CHECKV("{{ $value }}", 0.0001, "0.0001");
    CHECKV("{{ $value }}", 0.00001, "1e-05");
    CHECKV("{{ $value }}", nan(""), "NaN");
    CHECKV("{{ $value }}", HUGE_VAL, "+Inf");
    CHECKV("{{ $value }}", -HUGE_VAL, "-Inf");
    CHECKV("{{ $value }}", 0, "0");
    arena_free(a);
}

TEST(trim_markers_and_comments)
{
    struct arena *a = arena_new(0);
    CHECK("a  {{- \"b\" -}}  \n c", "abc");
    CHECK("a {{- /* comment */ -}} b", "ab");
    CHECK("a{{/* comment\nspanning lines */}}b", "ab");
    CHECK("{{-3}}", "-3"); /* no space: a negative number, not a trim marker */
    CHECK("x\n{{- range $k, $v := $externalLabels }}\n  {{ $k }}={{ $v }}\n{{- end }}\n",
          "x\n  cluster=eu-1\n  replica=a\n");
    arena_free(a);
}

TEST(variables)
{
    struct arena *a = arena_new(0);
    CHECK("{{ $x := 5 }}{{ $x }}", "5");
    CHECK("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2");
    CHECK("{{ $x := \"a\" }}{{ if true }}{{ $x = \"b\" }}{{ end }}{{ $x }}", "b");
    CHECK("{{ if true }}{{ $y := 1 }}{{ $y }}{{ end }}", "1");
    CHECK("{{ $labels := .ExternalLabels }}{{ $labels.cluster }}", "eu-1");
    CHECK("{{ $value = 3 }}{{ $value }}", "3");
    arena_free(a);
}

TEST(if_else_with)
{
    struct arena *a = arena_new(0);
    CHECK("{{ if eq $labels.severity \"page\" }}P{{ else }}N{{ end }}", "P");
    CHECK("{{ if eq $labels.severity \"x\" }}1{{ else if eq $labels.job \"node\" }}2{{ else }}3"
          "{{ end }}",
          "2");
    CHECK("{{ if gt $value 1000.0 }}big{{ end }}", "big");
    CHECK("{{ if $labels.missing }}y{{ else }}n{{ end }}", "n");
    CHECK("{{ if 0 }}y{{ else }}n{{ end }}{{ if \"\" }}y{{ else }}n{{ end }}", "nn");
    CHECK("{{ with $labels.job }}job={{ . }}{{ end }}", "job=node");
    CHECK("{{ with $labels.nope }}x{{ else }}none{{ end }}", "none");
    CHECK("{{ with $x := 3 }}{{ $x }}{{ end }}", "3");
    CHECK("{{ if and true 0 }}a{{ else }}b{{ end }}", "b");
    CHECK("{{ or 0 \"\" \"z\" }} {{ and 1 2 }} {{ not 0 }}", "z 2 true");
    /* and/or stop early: the index error is never reached */
    CHECK("{{ and false (index 1 2) }}", "false");
    arena_free(a);
}

TEST(range)
{
    struct arena *a = arena_new(0);
    CHECK("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
          "__name__=up;instance=node-1.example.com:9100;job=node;severity=page;");
    CHECK("{{ range $labels }}{{ . }},{{ end }}", "up,node-1.example.com:9100,node,page,");
    CHECK("{{ range query \"m\" }}{{ .Labels.job }}:{{ .Value }} {{ end }}", "c:3 a:1 b:2 ");
    CHECK("{{ range $i, $s := query \"m\" }}{{ $i }}={{ $s.Value }} {{ end }}", "0=3 1=1 2=2 ");
    CHECK("{{ range query \"empty\" }}x{{ else }}no data{{ end }}", "no data");
    CHECK("{{ range $i, $s := query \"m\" }}{{ if eq $i 1 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
          "0");
    CHECK("{{ range $i, $s := query \"m\" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}"
          "{{ end }}",
          "02");
    CHECK("{{ range 3 }}{{ . }}{{ end }}", "012");
    CHECK("{{ range $x := args 1 \"b\" }}{{ $x }}{{ end }}", "1b");
    arena_free(a);
}

TEST(pipelines_and_parens)
{
    struct arena *a = arena_new(0);
    CHECK("{{ $value | humanize }}", "1.234k");
    CHECK("{{ \"m\" | query | first | value }}", "3");
    CHECK("{{ query \"m\" | first | label \"job\" }}", "c");
    CHECK("{{ (query \"m\" | first).Labels.job }}", "c");
    CHECK("{{ with query \"m\" }}{{ . | first | value | humanize }}{{ end }}", "3");
    CHECK("{{ printf \"%.1f\" (value (first (query \"m\"))) }}", "3.0");
    CHECK("{{ len (query \"m\") }}", "3");
    CHECK("{{ \"abc\" | printf \"%s-%s\" \"x\" }}", "x-abc");
    arena_free(a);
}

/* Prometheus' own template tests (template/template_test.go) as cases, values re-derived. */
TEST(humanize_family)
{
    struct arena *a = arena_new(0);
    CHECK("{{ range args 0.0 1.0 1234567.0 0.12 }}{{ humanize . }}:{{ end }}", "0:1:1.235M:120m:");
    CHECK("{{ humanize 1234567 }} {{ humanize 0.0012 }} {{ humanize -1234 }} {{ humanize 999 }}",
          "1.235M 1.2m -1.234k 999");
    CHECK("{{ humanize 1000 }} {{ humanize \"1234\" }} {{ humanize 1e30 }}", "1k 1.234k 1e+06Y");
    CHECKV("{{ humanize $value }}", nan(""), "NaN");
    CHECKV("{{ humanize $value }}", HUGE_VAL, "+Inf");
    CHECKV("{{ $value | humanize }}", -HUGE_VAL, "-Inf");
    CHECK("{{ range args 0.0 1.0 1048576.0 0.12 }}{{ humanize1024 . }}:{{ end }}", "0:1:1Mi:0.12:");
    CHECK("{{ humanize1024 1536 }} {{ humanize1024 -2048 }}", "1.5ki -2ki");
    CHECK("{{ range args 0 1 60 3600 86400 90000 -183845 899.99 }}{{ humanizeDuration . }}:"
          "{{ end }}",
          "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:");
    CHECK("{{ range args 0.1 0.0001 0.12345 60.1 60.5 1.2345 12.345 }}{{ humanizeDuration . }}:"
          "{{ end }}",
          "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:");
    CHECK("{{ humanizeDuration 3661 }} {{ humanizeDuration -0.5 }}", "1h 1m 1s -500ms");
    CHECKV("{{ humanizeDuration $value }}", nan(""), "NaN");
    CHECK("{{ range args 0 0.1234 0.5 1 0.12345678 }}{{ humanizePercentage . }}:{{ end }}",
          "0%:12.34%:50%:100%:12.35%:");
    CHECK("{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC");
    CHECK("{{ humanizeTimestamp 1435065584 }}", "2015-06-23 13:19:44 +0000 UTC");
    CHECK("{{ humanizeTimestamp 0 }}", "1970-01-01 00:00:00 +0000 UTC");
    CHECK("{{ humanizeTimestamp -1.5 }}", "1969-12-31 23:59:58.5 +0000 UTC");
    CHECK("{{ humanizeTimestamp 951782400.1 }}", "2000-02-29 00:00:00.1 +0000 UTC");
    CHECKV("{{ humanizeTimestamp $value }}", HUGE_VAL, "+Inf");
    CHECK("{{ humanizeTimestamp 1e20 }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <humanizeTimestamp 1e...>: error calling "
          "humanizeTimestamp: 1e+20 cannot be represented as a nanoseconds timestamp since it "
          "overflows int64");
    CHECK("{{ 1435065584.128 | toTime }}", "2015-06-23 13:19:44.128 +0000 UTC");
    CHECK("{{ humanize \"abc\" }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <humanize \"abc\">: error calling "
          "humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax");
    CHECK("{{ humanize $labels }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <humanize $labels>: error calling "
          "humanize: can't convert map[string]string to float");
    CHECK("{{ parseDuration \"1h2m10ms\" }} {{ parseDuration \"0\" }} {{ parseDuration \"90s\" }}",
          "3720.01 0 90");
    CHECK("{{ parseDuration \"x\" }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <parseDuration \"x\">: error calling "
          "parseDuration: not a valid duration string: \"x\"");
    arena_free(a);
}

TEST(string_functions)
{
    struct arena *a = arena_new(0);
    CHECK("{{ \"aa bb CC\" | title }}|{{ \"aa bb CC\" | toUpper }}|{{ \"aa bb CC\" | toLower }}",
          "Aa Bb CC|AA BB CC|aa bb cc");
    CHECK("{{ title \"hello-world foo_bar x1y\" }}", "Hello-World Foo_bar X1y");
    CHECK("{{ match \"a+\" \"baaac\" }} {{ match \"^a+$\" \"baaa\" }}", "true false");
    CHECK("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab cab\" }}", "xa cxa");
    CHECK("{{ reReplaceAll \"(?P<port>\\\\d+)\" \"<${port}>\" \"host:9100\" }}", "host:<9100>");
    CHECK("{{ reReplaceAll \":.*\" \"\" $labels.instance }}", "node-1.example.com");
    CHECK("{{ reReplaceAll \"a*\" \"-\" \"baaac\" }}", "-b-c-");
    CHECK("{{ reReplaceAll \"(a)\" \"$1x\" \"a\" }}|{{ reReplaceAll \"a\" \"$$\" \"a\" }}", "|$");
    CHECK("{{ reReplaceAll \"(\" \"\" \"a\" }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <reReplaceAll \"(\" \"\" ...>: error "
          "calling reReplaceAll: regexp: Compile: error parsing regexp: missing closing "
          "parenthesis: `(`");
    CHECK("{{ range args \"foo\" \"foo:123\" \"1.2.3.4\" \"1.2.3.4:123\" \"[::1]\" \"[::1]:123\" }}"
          "{{ stripPort . }}|{{ end }}",
          "foo|foo|1.2.3.4|1.2.3.4|[::1]|::1|");
    CHECK("{{ range args \"foo\" \"foo.example.com\" \"foo:123\" \"foo.example.com:123\" "
          "\"1.2.3.4\" \"1.2.3.4:123\" \"[::1]\" \"[::1]:123\" }}{{ stripDomain . }}|{{ end }}",
          "foo|foo|foo:123|foo:123|1.2.3.4|1.2.3.4:123|[::1]|[::1]:123|");
    CHECK("{{ graphLink \"up\" }} {{ tableLink \"rate(x[5m]) > 0\" }}",
          "/graph?g0.expr=up&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29+%3E+0&g0.tab=1");
    CHECK("{{ pathPrefix }}|{{ externalURL }}", "/prefix|https://prom.example.com/prefix");
    CHECK("{{ safeHtml \"<b>\" }} {{ html \"<a href='x'>&\" }} {{ urlquery \"a b&c\" }}",
          "<b> &lt;a href=&#39;x&#39;&gt;&amp; a+b%26c");
    arena_free(a);
}

TEST(query_functions)
{
    struct arena *a = arena_new(0);
    query_calls = 0;
    CHECK("{{ query \"m\" | first | value }}", "3");
    ASSERT_EQ(query_calls, 1);
    CHECK("{{ with query \"m\" }}{{ . | first | label \"job\" }}{{ end }}", "c");
    CHECK("{{ range sortByLabel \"job\" (query \"m\") }}{{ .Labels.job }}{{ end }}", "abc");
    CHECK("{{ range query \"m\" | sortByLabel \"nope\" }}{{ .Labels.job }}{{ end }}", "cab");
    CHECK("[{{ query \"m\" | first | strvalue }}]", "[]");
    CHECK("{{ (index (query \"m\") 2).Value }} {{ index $labels \"job\" }} [{{ index $labels "
          "\"x\" }}]",
          "2 node []");
    CHECK("{{ (query \"m\" | first).Labels }}", "map[__name__:m job:c]");
    CHECK("{{ query \"m\" | first }}", "{map[__name__:m job:c] 3}");
    CHECK("{{ with args 1 \"two\" }}{{ .arg0 }} {{ .arg1 }} {{ .arg2 }}{{ end }}",
          "1 two <no value>");
    CHECK("{{ first (query \"empty\") }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <first (query \"empty\"...>: error "
          "calling first: first() called on vector with no elements");
    CHECK("{{ query \"fail\" }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <query \"fail\">: error calling "
          "query: query failed: boom");
    CHECK("{{ $value | label \"x\" }}",
          "ERR(exec): template: x:1:12: executing \"x\" at <label \"x\">: wrong type for value; "
          "expected *template.sample; got float64");
    arena_free(a);
}

TEST(builtins)
{
    struct arena *a = arena_new(0);
    CHECK("{{ print \"a\" 1 2 \"b\" }}|{{ println \"a\" 1 }}|", "a1 2b|a 1\n|");
    CHECK("{{ len \"abc\" }} {{ len $labels }} {{ len (args 1 2) }}", "3 4 2");
    CHECK("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }}"
          " {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ eq $labels.nope \"\" }}",
          "true true true true true true false true");
    CHECKV("{{ if gt $value 0.5 }}up{{ end }}", 1, "up");
    CHECK("{{ eq 1 1.0 }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <eq 1 1.0>: error calling eq: "
          "incompatible types for comparison");
    CHECK("{{ if gt $value 1 }}{{ end }}",
          "ERR(exec): template: x:1:6: executing \"x\" at <gt $value 1>: error calling gt: "
          "incompatible types for comparison");
    CHECK("{{ lt true false }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <lt true false>: error calling lt: "
          "invalid type for comparison");
    CHECK("{{ len 5 }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <len 5>: error calling len: len of "
          "type int");
    CHECK("{{ index (query \"m\") 5 }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <index (query \"m\") 5>: error calling "
          "index: index out of range: 5");
    CHECK("{{ index $labels 1 }}",
          "ERR(exec): template: x:1:3: executing \"x\" at <index $labels 1>: error calling "
          "index: value has type int; should be string");
    arena_free(a);
}

TEST(printf_verbs)
{
    struct arena *a = arena_new(0);
    CHECK("{{ printf \"%s|%d|%f|%.2f|%g|%v|%q|%x|%X|%%\" \"s\" 42 1.5 $value 1234567.0 1.5 "
          "\"a\\\"b\" 255 \"hi\" }}",
          "s|42|1.500000|1234.50|1.234567e+06|1.5|\"a\\\"b\"|ff|6869|%");
    CHECK("{{ printf \"%5.1f|%-6s|%06d|%+d|%8.3f|%.3s|%e|%G|%x\" 3.14159 \"ab\" 42 5 -3.14159 "
          "\"abcdef\" 1234.5 1e-7 -255 }}",
          "  3.1|ab    |000042|+5|  -3.142|abc|1.234500e+03|1E-07|-ff");
    /* Go: a zero precision and a zero value print no digits, sign or prefix: only the width */
    CHECK("{{ printf \"%5.O|%.0d|%#.0x|%-3.0d|%+.0d|%.0o\" 0 0 0 0 0 0 }}", "     |||   ||");
    CHECK("{{ printf \"%T %T %T %T\" $value 1 \"s\" $labels }}",
          "float64 int string map[string]string");
    CHECK("{{ printf \"%d %s\" 1.5 5 }}", "%!d(float64=1.5) %!s(int=5)");
    CHECK("{{ printf \"%s %s\" \"a\" }}", "a %!s(MISSING)");
    CHECK("{{ printf \"%s\" \"a\" \"b\" 3 }}", "a%!(EXTRA string=b, int=3)");
    CHECK("{{ printf \"%v %s\" $labels.job .Labels.severity }}", "node page");
    CHECK("{{ printf \"%.2f%%\" 12.345 }} {{ printf \"%5s|%-5d|\" \"x\" 7 }}",
          "12.35%     x|7    |");
    CHECKV("{{ printf \"%.2f %f %v\" $value $value $value }}", HUGE_VAL, "+Inf +Inf +Inf");
    CHECKV("{{ printf \"%.1f\" $value }}", nan(""), "NaN");
    CHECK("{{ printf \"%c%c\" 72 105 }} {{ printf \"%t\" true }} {{ printf \"%08.3f\" -3.14159 }}",
          "Hi true -003.142");
    CHECK("{{ printf \"%*d|%-*d|\" 4 7 3 8 }}", "   7|8  |");
    CHECK("{{ printf \"%s\" }}", "%!s(MISSING)");
    CHECK("{{ printf 1 }}",
          "ERR(exec): template: x:1:10: executing \"x\" at <1>: expected string; found 1");
    arena_free(a);
}

#define PARSE_ERR(text, msg) ASSERT_STR_EQ(run(a, text), "ERR(parse): template: x:" msg)

TEST(parse_errors)
{
    struct arena *a = arena_new(0);
    PARSE_ERR("{{ foo }}", "1: function \"foo\" not defined");
    PARSE_ERR("line1\nline2 {{ foo }}", "2: function \"foo\" not defined");
    PARSE_ERR("{{ $labels.job ", "1: unclosed action");
    PARSE_ERR("{{ $labels.job }", "1: unrecognized character in action: U+007D '}'");
    PARSE_ERR("{{ \"abc }}", "1: unterminated quoted string");
    PARSE_ERR("{{ `abc }}", "1: unterminated raw quoted string");
    PARSE_ERR("{{ \"a\\qb\" }}", "1: invalid syntax");
    PARSE_ERR("{{ if true }}x", "1: unexpected EOF");
    PARSE_ERR("{{ end }}", "1: unexpected {{end}}");
    PARSE_ERR("{{ else }}", "1: unexpected {{else}}");
    PARSE_ERR("{{ }}", "1: missing value for command");
    PARSE_ERR("{{ $x := }}", "1: missing value for command");
    PARSE_ERR("{{ 1 | 2 }}", "1: non executable command in pipeline stage 2");
    PARSE_ERR("{{ $value | \"x\" }}", "1: non executable command in pipeline stage 2");
    PARSE_ERR("{{ $nope }}", "1: undefined variable \"$nope\"");
    PARSE_ERR("{{ $nope = 1 }}", "1: undefined variable \"$nope\"");
    PARSE_ERR("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", "1: undefined variable \"$y\"");
    PARSE_ERR("{{ ( 1 }}", "1: unclosed left paren");
    PARSE_ERR("{{ ) }}", "1: unexpected right paren");
    PARSE_ERR("{{ # }}", "1: unrecognized character in action: U+0023 '#'");
    PARSE_ERR("{{/* x", "1: unclosed comment");
    PARSE_ERR("{{/* x */ y }}", "1: comment ends before closing delimiter");
    PARSE_ERR("{{ break }}", "1: {{break}} outside {{range}}");
    PARSE_ERR("{{ range . }}{{ break 1 }}{{ end }}", "1: unexpected \"1\" in {{break}}");
    PARSE_ERR("{{ define \"x\" }}{{ end }}", "1: {{define}} is not supported");
    PARSE_ERR("{{ template \"x\" }}", "1: {{template}} is not supported");
    PARSE_ERR("{{ 1x }}", "1: bad number syntax: \"1x\"");
    PARSE_ERR("{{ 09 }}", "1: illegal number syntax: \"09\"");
    PARSE_ERR("{{ 99999999999999999999 }}", "1: 99999999999999999999 overflows int");
    PARSE_ERR("{{ range $a, $b, $c := . }}{{ end }}", "1: too many declarations in range");
    PARSE_ERR("{{ $a, $b := 1 }}", "1: too many declarations in command");
    PARSE_ERR("{{ range $a, 1 }}{{ end }}", "1: range can only initialize variables");
    PARSE_ERR("{{ 1.Foo }}", "1: bad number syntax: \"1.F\"");
    PARSE_ERR("{{ \"s\".Foo }}", "1: unexpected . after term \"\\\"s\\\"\"");
    PARSE_ERR("{{ if }}{{ end }}", "1: missing value for if");
    PARSE_ERR("{{ range }}{{ end }}", "1: missing value for range");
    PARSE_ERR("{{ if 1 }}{{ else }}{{ else }}{{ end }}", "1: expected end; found {{else}}");
    PARSE_ERR("{{ range 1 }}{{ else if 1 }}{{ end }}", "1: unexpected <if> in input");
    PARSE_ERR("{{ if 1 }}{{ else with 1 }}{{ end }}", "1: unexpected <with> in input");
    PARSE_ERR("{{ 'ab' }}", "1: malformed character constant: 'ab'");
    PARSE_ERR("{{ $value : 1 }}", "1: expected :=");
    arena_free(a);
}

#define EXEC_ERR(text, msg) ASSERT_STR_EQ(run(a, text), "ERR(exec): template: x:" msg)

TEST(exec_errors)
{
    struct arena *a = arena_new(0);
    EXEC_ERR("{{ .Foo }}",
             "1:3: executing \"x\" at <.Foo>: can't evaluate field Foo in type struct { Labels "
             "map[string]string; ExternalLabels map[string]string; ExternalURL string; Value "
             "float64 }");
    EXEC_ERR("\n {{ $value.x }}", "2:4: executing \"x\" at <$value.x>: can't evaluate field x in "
                                  "type float64");
    EXEC_ERR("{{ humanize 1 2 }}",
             "1:3: executing \"x\" at <humanize>: wrong number of args for humanize: want 1 got 2");
    EXEC_ERR("{{ eq }}", "1:3: executing \"x\" at <eq>: wrong number of args for eq: want at least "
                         "1 got 0");
    EXEC_ERR("{{ toUpper $value }}",
             "1:11: executing \"x\" at <$value>: wrong type for value; expected string; got "
             "float64");
    EXEC_ERR("{{ toUpper $labels.nope.x }}",
             "1:11: executing \"x\" at <$labels.nope.x>: can't evaluate field x in type string");
    EXEC_ERR("{{ toUpper (args).nope }}",
             "1:11: executing \"x\" at <(args).nope>: invalid value; expected string");
    EXEC_ERR("{{ range 1.5 }}{{ end }}", "1:9: executing \"x\" at <1.5>: range can't iterate over "
                                         "1.5");
    EXEC_ERR("{{ \"a\" \"b\" }}", "1:3: executing \"x\" at <\"a\">: can't give argument to "
                                  "non-function \"a\"");
    EXEC_ERR("{{ $value | $value }}", "1:12: executing \"x\" at <$value>: can't give argument to "
                                      "non-function $value");
    EXEC_ERR("{{ .Labels.job 1 }}", "1:3: executing \"x\" at <.Labels.job>: job is not a method "
                                    "but has arguments");
    EXEC_ERR("{{ nil }}", "1:3: executing \"x\" at <nil>: nil is not a command");
    EXEC_ERR("{{ value (index (args) \"arg0\") }}",
             "1:3: executing \"x\" at <value (index (args) ...>: error calling value: runtime "
             "error: invalid memory address or nil pointer dereference");
    EXEC_ERR("{{ range $i, $e := 3 }}{{ end }}",
             "1:19: executing \"x\" at <3>: can't use 3 to iterate over more than one variable");
    /* no query function: an error, not a crash */
    struct tmpl *t;
    struct err e = {0};
    const char *q = "{{ query \"up\" }}";
    ASSERT_OK(tmpl_parse(a, "nq", q, strlen(q), &t, &e));
    struct tmpl_data d = {0};
    char *out;
    size_t n;
    ASSERT_EQ(tmpl_exec(t, a, &d, &out, &n, &e), ERR_EXEC);
    ASSERT_STR_CONTAINS(e.msg, "queries are not available");
    /* empty data: everything missing prints empty */
    const char *p = "[{{ $labels.x }}{{ $externalURL }}{{ pathPrefix }}]{{ $value }}";
    ASSERT_OK(tmpl_parse(a, "nd", p, strlen(p), &t, &e));
    ASSERT_OK_E(tmpl_exec(t, a, &d, &out, &n, &e), &e);
    ASSERT_STR_EQ(out, "[]0");
    arena_free(a);
}

TEST(limits)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(run(a, "{{ $s := \"xxxxxxxxxx\" }}{{ range 200000 }}{{ $s }}{{ end }}"),
                  "ERR(limit): template: x: output or string longer than 1 MiB");
    ASSERT_STR_EQ(run(a, "{{ range 100000000 }}{{ end }}"),
                  "ERR(limit): template: x: execution exceeds 1000000 steps");
    ASSERT_STR_EQ(run(a, "{{ $s := \"x\" }}{{ range 40 }}{{ $s = printf \"%s%s\" $s $s }}"
                         "{{ end }}"),
                  "ERR(limit): template: x: output or string longer than 1 MiB");
    ASSERT_STR_EQ(run(a, "{{ range 100 }}{{ query \"m\" }}{{ end }}"),
                  "ERR(limit): template: x: more than 64 queries in one template");
    /* nesting deeper than TMPL_MAX_DEPTH: parentheses and blocks */
    char deep[2000];
    size_t k = 0;
    k += (size_t) snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 150; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 150; i++)
        deep[k++] = ')';
    snprintf(deep + k, sizeof deep - k, " }}");
    ASSERT_STR_EQ(run(a, deep), "ERR(parse): template: x:1: nesting deeper than 100");
    k = 0;
    for (int i = 0; i < 150; i++)
        k += (size_t) snprintf(deep + k, sizeof deep - k, "{{if 1}}");
    ASSERT_STR_EQ(run(a, deep), "ERR(parse): template: x:1: nesting deeper than 100");
    /* 99 levels are fine */
    k = 0;
    for (int i = 0; i < 99; i++)
        k += (size_t) snprintf(deep + k, sizeof deep - k, "{{if 1}}");
    k += (size_t) snprintf(deep + k, sizeof deep - k, "ok");
    for (int i = 0; i < 99; i++)
        k += (size_t) snprintf(deep + k, sizeof deep - k, "{{end}}");
    ASSERT_STR_EQ(run(a, deep), "ok");
    arena_free(a);
    /* a tiny arena: parse or exec fails with ERR_LIMIT, never crashes */
    for (size_t cap = 512; cap <= 64 * 1024; cap *= 2) {
        struct arena *small = arena_new(cap);
        const char *r = run(small, "{{ range $k, $v := $labels }}{{ $k | toUpper }}={{ $v | "
                                   "printf \"%q\" }} {{ end }}{{ range 2000 }}abcdefgh{{ end }}");
        ASSERT_TRUE(r == NULL || strncmp(r, "ERR(parse): template: x:", 24) == 0 ||
                    strncmp(r, "ERR(limit)", 10) == 0 || strlen(r) > 16000);
        arena_free(small);
    }
}

TEST(template_is_reusable_and_const)
{
    struct arena *pa = arena_new(0);
    struct tmpl *t;
    struct err e = {0};
    const char *text = "{{ $labels.job }}={{ humanize $value }}";
    ASSERT_OK_E(tmpl_parse(pa, "r", text, strlen(text), &t, &e), &e);
    for (int i = 0; i < 3; i++) {
        struct arena *a = arena_new(0);
        struct label l[] = {{"job", i == 0 ? "a" : i == 1 ? "b" : "c"}};
        struct labels ls = {l, 1};
        struct tmpl_data d = {.labels = &ls, .value = 1000.0 * (i + 1)};
        char *out;
        size_t n;
        ASSERT_OK_E(tmpl_exec(t, a, &d, &out, &n, &e), &e);
        ASSERT_STR_EQ(out, i == 0 ? "a=1k" : i == 1 ? "b=2k" : "c=3k");
        arena_free(a);
    }
    arena_free(pa);
}

TEST(hostile_templates_end_quickly)
{
    struct arena *a = arena_new(0);
    int64_t t0 = time_mono_ns();
    /* catastrophic backtracking, repeated: the match limit and the step charge per match stop it */
    ASSERT_STR_EQ(run(a, "{{ range 100000 }}{{ match \"(a+)+b\" \"aaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaaaaaa\" }}{{ end }}"),
                  "ERR(limit): template: x: execution exceeds 1000000 steps");
    /* wide printf results thrown away: the byte budget stops the copying */
    ASSERT_STR_EQ(run(a, "{{ range 1000000 }}{{ $x := printf \"%1000000d\" 1 }}{{ end }}"),
                  "ERR(limit): template: x: execution builds more than 64 MiB of strings");
    int64_t ms = (time_mono_ns() - t0) / 1000000;
    ASSERT_TRUE(ms < 20000); /* generous: the machine is shared; typically well under a second */
    /* variables: a scope holds at most TMPL_MAX_VARS */
    char *big = arena_alloc(a, 300 * 24);
    size_t k = 0;
    for (int i = 0; i < 300; i++)
        k += (size_t) snprintf(big + k, 24, "{{ $v%d := %d }}", i, i);
    ASSERT_STR_CONTAINS(run(a, big), "ERR(parse): template: x:1: more than 256 variables");
    arena_free(a);
}

TEST(variable_scoping)
{
    struct arena *a = arena_new(0);
    CHECK("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21");
    CHECK("{{ $x := 1 }}{{ with 5 }}{{ $x = . }}{{ end }}{{ $x }}", "5");
    CHECK("{{ $i := 9 }}{{ $e := 0 }}{{ range $i, $e = query \"m\" }}{{ end }}{{ $i }} "
          "{{ $e.Value }}",
          "2 2");
    CHECK("{{ range $i, $e := query \"m\" }}{{ $j := $i }}{{ end }}{{ $i := 7 }}{{ $i }}", "7");
    CHECK("{{ range $k, $v := $externalLabels }}{{ range $k2, $v2 := $externalLabels }}{{ $k }}"
          "{{ $k2 }} {{ end }}{{ end }}",
          "clustercluster clusterreplica replicacluster replicareplica ");
    PARSE_ERR("{{ range $i, $e := query \"m\" }}{{ end }}{{ $i }}", "1: undefined variable \"$i\"");
    PARSE_ERR("{{ $a, $b = 1 }}", "1: too many declarations in command");
    arena_free(a);
}

TEST(more_go_semantics)
{
    struct arena *a = arena_new(0);
    CHECK("{{ \"h\xc3\xa9llo\" | printf \"%-7s|%.2s|\" }}{{ len \"h\xc3\xa9llo\" }}",
          "h\xc3\xa9llo  |%!s(MISSING)|6");
    CHECK("{{ printf \"%-7s|%.2s|\" \"h\xc3\xa9llo\" \"h\xc3\xa9llo\" }}",
          "h\xc3\xa9llo  |h\xc3\xa9|");
    CHECK("a \r\n{{- 1 }}{{/* c */}}{{ 2 }}", "a12");
    CHECK("[{{ print }}][{{ println }}]", "[][\n]");
    CHECK("{{ printf \"%v\" (args 1 \"x\") }} {{ not $labels }} {{ index \"abc\" 1 }}",
          "map[arg0:1 arg1:x] false 98");
    CHECK("{{ $x := query \"m\" }}{{ len $x }}{{ range $x }}{{ .Value }}{{ end }}", "3312");
    CHECK("{{ humanize 1234567.0 | printf \"%s!\" }} {{ \"a\" | eq \"a\" }}", "1.235M! true");
    CHECK("{{ with $labels }}{{ .job }}{{ end }} {{ with $x := $labels.job }}{{ $x }}{{ end }}",
          "node node");
    CHECK("{{ if and $labels.job (eq $labels.severity \"page\") }}page {{ $labels.job }}{{ end }}",
          "page node");
    CHECK("{{ range $i, $e := query \"m\" }}{{ if $i }}, {{ end }}{{ $e.Labels.job }}{{ end }}",
          "c, a, b");
    CHECK("{{ $labels.instance | reReplaceAll \"(.*):(.*)\" \"$2@$1\" | toUpper }}",
          "9100@NODE-1.EXAMPLE.COM");
    CHECK("{{ with printf \"m{instance='%s'}\" .Labels.instance | query }}{{ . | first | value | "
          "humanize1024 }}B{{ end }}",
          "3B");
    CHECK("{{ with query (printf \"up{job='%s'}\" $labels.job) }}{{ len . }}{{ end }}", "3");
    CHECK("{{ reReplaceAll \"\\\\.\" \"_\" $labels.instance }}", "node-1_example_com:9100");
    CHECK("{{ define1 := 1 }}", "ERR(parse): template: x:1: function \"define1\" not defined");
    arena_free(a);
}

TEST(long_inputs_parse_in_linear_space)
{
    /* 30000 chained fields, 10000 pipeline stages, 20000 arguments: bounded memory and time */
    struct arena *a = arena_new(16u << 20);
    size_t n = 30000;
    char *s = arena_alloc(a, 2 * n + 64);
    size_t k = (size_t) sprintf(s, "{{ (args)");
    for (size_t i = 0; i < n; i++)
        k += (size_t) sprintf(s + k, ".a");
    sprintf(s + k, " }}");
    ASSERT_STR_EQ(run(a, s), "<no value>"); /* missing map entries all the way down */
    k = (size_t) sprintf(s, "{{ 1");
    for (size_t i = 0; i < 10000; i++)
        k += (size_t) sprintf(s + k, "|not");
    sprintf(s + k, " }}");
    ASSERT_STR_EQ(run(a, s), "true"); /* an even number of nots */
    k = (size_t) sprintf(s, "{{ print");
    for (size_t i = 0; i < 20000; i++)
        k += (size_t) sprintf(s + k, " 1");
    sprintf(s + k, " }}");
    const char *r = run(a, s);
    ASSERT_EQ(strlen(r), 39999);
    arena_free(a);
}
