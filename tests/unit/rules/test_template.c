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
