/* tests/unit/scrape/test_relabel.c — relabel_config as Prometheus applies it: every action, the
 * defaults, Go's $-expansion, validation messages; then target relabeling (discovered labels,
 * URL, checks) and the manager's dropped-target list. Cases follow the behaviours pinned by
 * Prometheus' model/relabel tests, written anew with values checked against Go's semantics. */
#include "scrape/relabel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

/* ---- helpers ---- */

/* A sorted label set from name, value, ..., NULL, in arena a; strings are borrowed. */
static struct labels *L(struct arena *a, ...)
{
    va_list ap;
    struct label *v = arena_alloc(a, 64 * sizeof *v);
    struct labels *ls = arena_alloc(a, sizeof *ls);
    ls->v = v;
    ls->n = 0;
    va_start(ap, a);
    for (const char *n; (n = va_arg(ap, const char *));) {
        if (ls->n == 64)
            test_fail(__FILE__, __LINE__, "too many labels");
        v[ls->n].name = n;
        v[ls->n++].value = va_arg(ap, const char *);
    }
    va_end(ap);
    if (labels_sort(ls) < 0)
        test_fail(__FILE__, __LINE__, "repeated label name");
    return ls;
}

/* "a=1,b=2" (sorted), for comparisons. */
static const char *fmt(struct arena *a, const struct labels *ls)
{
    struct buf b = BUF_INIT;
    for (uint32_t i = 0; i < ls->n; i++)
        (void) buf_printf(&b, "%s%s=%s", i ? "," : "", ls->v[i].name, ls->v[i].value);
    const char *s = arena_strndup(a, b.p ? (const char *) b.p : "", b.len);
    buf_free(&b);
    return s;
}

static scrape_relabel *build(const struct scrape_relabel_rule *r, size_t n)
{
    scrape_relabel *rs;
    struct err e = {0};
    ASSERT_OK_E(scrape_relabel_new(&rs, &e), &e);
    for (size_t i = 0; i < n; i++) {
        const char *key = "unset";
        int rc = scrape_relabel_add(rs, &r[i], &key, &e);
        if (rc < 0)
            test_fail(__FILE__, __LINE__, "rule %zu: %s", i, e.msg);
        ASSERT_TRUE(key == NULL);
    }
    ASSERT_EQ(scrape_relabel_count(rs), n);
    return rs;
}

/* Applies rules to ls: the result formatted, or "DROP". */
static const char *run(struct arena *a, const struct scrape_relabel_rule *r, size_t n,
                       const struct labels *ls)
{
    scrape_relabel *rs = build(r, n);
    struct labels out;
    int rc = scrape_relabel_apply(rs, a, ls, &out);
    ASSERT_OK(rc);
    for (uint32_t i = 1; rc && i < out.n; i++)
        ASSERT_TRUE(strcmp(out.v[i - 1].name, out.v[i].name) < 0);
    const char *s = rc ? fmt(a, &out) : "DROP"; /* out may point into rs */
    scrape_relabel_unref(rs);
    return s;
}

#define SRC(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / \
                     sizeof(const char *), 1
#define RUN(a, ls, ...)                                                                            \
    run(a, (const struct scrape_relabel_rule[]){__VA_ARGS__},                                      \
        sizeof((const struct scrape_relabel_rule[]){__VA_ARGS__}) /                                \
            sizeof(struct scrape_relabel_rule),                                                    \
        ls)

/* Expects rule to be refused: returns the message; *key gets the key at fault. */
static const char *refuse(struct scrape_relabel_rule r, const char **ret_key)
{
    static struct err e;
    scrape_relabel *rs;
    const char *key = "unset";
    err_clear(&e);
    ASSERT_OK(scrape_relabel_new(&rs, &e));
    int rc = scrape_relabel_add(rs, &r, &key, &e);
    ASSERT_EQ(scrape_relabel_count(rs), 0);
    scrape_relabel_unref(rs);
    if (rc != ERR_PARSE)
        test_fail(__FILE__, __LINE__, "expected ERR_PARSE, got %d (%s)", rc, e.msg);
    if (ret_key)
        *ret_key = key;
    return e.msg;
}

/* ---- replace ---- */

TEST(replace_expands_groups_in_replacement)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b", "bar", "c", "baz", NULL),
                      {.source_labels = SRC("a"), .regex = "f(.*)", .target_label = "d",
                       .replacement = "ch${1}-ch${1}"}),
                  "a=foo,b=bar,c=baz,d=choo-choo");
    /* Two source labels joined by ';', and a second rule seeing the first one's result. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b", "bar", "c", "baz", NULL),
                      {.source_labels = SRC("a", "b"), .regex = "f(.*);(.*)r",
                       .target_label = "a", .replacement = "b${1}${2}m"},
                      {.source_labels = SRC("c", "a"), .regex = "(b).*b(.*)ba(.*)",
                       .target_label = "d", .replacement = "$1$2$2$3"}),
                  "a=boobam,b=bar,c=baz,d=boooom");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "abc", NULL),
                      {.source_labels = SRC("a"), .regex = ".*(b).*", .target_label = "d"}),
                  "a=abc,d=b");
    arena_free(a);
}

TEST(replace_without_match_changes_nothing)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "boo", NULL),
                      {.source_labels = SRC("a"), .regex = "f", .target_label = "b",
                       .replacement = "bar"}),
                  "a=boo");
    /* Fully anchored: "o" is in "boo" but does not match all of it. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "boo", NULL),
                      {.source_labels = SRC("a"), .regex = "o", .target_label = "b",
                       .replacement = "x"}),
                  "a=boo");
    arena_free(a);
}

TEST(replace_with_empty_result_deletes_the_target)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "f", "baz", NULL),
                      {.source_labels = SRC("a"), .regex = "(f).*", .target_label = "$1",
                       .replacement = "$2"}),
                  "a=foo");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "x", "1", NULL),
                      {.target_label = "x", .replacement = ""}),
                  "a=foo");
    arena_free(a);
}

TEST(replace_defaults_add_a_static_label)
{
    struct arena *a = arena_new(0);
    /* No source_labels: the input is "", regex (.*) matches it, replacement is literal. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL), {.target_label = "env", .replacement = "prod"}),
                  "a=foo,env=prod");
    /* Default replacement $1 with default regex copies the joined value. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b", "bar", NULL),
                      {.source_labels = SRC("a", "missing", "b"), .target_label = "c"}),
                  "a=foo,b=bar,c=foo;;bar");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b", "bar", NULL),
                      {.source_labels = SRC("a", "b"), .separator = "", .target_label = "c"}),
                  "a=foo,b=bar,c=foobar");
    /* Copying an absent label deletes the target. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "c", "x", NULL),
                      {.source_labels = SRC("nope"), .target_label = "c"}),
                  "a=foo");
    arena_free(a);
}

TEST(replace_target_from_groups_and_invalid_targets_skipped)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "some-name-value", NULL),
                      {.source_labels = SRC("a"), .regex = "some-([^-]+)-([^,]+)",
                       .replacement = "${2}", .target_label = "${1}"}),
                  "a=some-name-value,name=value");
    /* Replacement from a missing group: empty, so the (absent) target is deleted. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "some-name-value", NULL),
                      {.source_labels = SRC("a"), .regex = "some-([^-]+)-([^,]+)",
                       .replacement = "${3}", .target_label = "${1}"}),
                  "a=some-name-value");
    /* Targets expanding to "" or to "name-0" (not a label name) are skipped. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "some-name-0", NULL),
                      {.source_labels = SRC("a"), .regex = "some-([^-]+)-([^,]+)",
                       .replacement = "${1}", .target_label = "${3}"},
                      {.source_labels = SRC("a"), .regex = "some-([^-]+)(-[^,]+)",
                       .replacement = "${1}", .target_label = "x${2}"},
                      {.source_labels = SRC("a"), .regex = "some-(.*)",
                       .replacement = "${1}", .target_label = "${1}"}),
                  "a=some-name-0");
    arena_free(a);
}

TEST(replace_real_life_tags)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(
        RUN(a, L(a, "__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar", NULL),
            {.source_labels = SRC("__meta_sd_tags"), .regex = "(?:.+,|^)path:(/[^,]+).*",
             .replacement = "${1}", .target_label = "__metrics_path__"},
            {.source_labels = SRC("__meta_sd_tags"), .regex = "(?:.+,|^)job:([^,]+).*",
             .replacement = "${1}", .target_label = "job"},
            {.source_labels = SRC("__meta_sd_tags"), .regex = "(?:.+,|^)label:([^=]+)=([^,]+).*",
             .replacement = "${2}", .target_label = "${1}"}),
        "__meta_sd_tags=path:/secret,job:some-job,label:foo=bar,__metrics_path__=/secret,"
        "foo=bar,job=some-job");
    arena_free(a);
}

TEST(regex_dot_matches_newline)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "line1\nline2", NULL),
                      {.source_labels = SRC("a"), .regex = "line1.*line2", .target_label = "d",
                       .replacement = "match${1}"}),
                  "a=line1\nline2,d=match");
    arena_free(a);
}

TEST(named_groups_and_go_expand_rules)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "line1\nline2", NULL),
                      {.source_labels = SRC("a"), .regex = "(line1).*(?<second>line2)",
                       .target_label = "label1_${1}", .replacement = "val_${second}"},
                      {.source_labels = SRC("a"), .regex = "(line1).*(?P<second>line2)",
                       .target_label = "label2_$1", .replacement = "val_$second"}),
                  "a=line1\nline2,label1_line1=val_line2,label2_line1=val_line2");
    struct {
        const char *repl, *want;
    } cases[] = {
        {"$$1", "$1"},          /* $$ is a literal $ */
        {"$1x", ""},            /* the name is "1x": no such group */
        {"${1}x", "fx"},        /* braces end the name */
        {"a$", "a$"},           /* a lone $ stays */
        {"${1", "${1"},         /* no closing brace: literal */
        {"$-", "$-"},           /* no name: literal */
        {"$01", ""},            /* leading zero: a name, not a number */
        {"${0}", "foo"},        /* group 0 is the whole match */
        {"$2$1", "oof"},        /* adjacent references */
        {"$9", ""},             /* a group the pattern does not have */
        {"${x}-$y", "oo-"},     /* named group x; y does not exist */
        {"$1é", ""},            /* Unicode letters continue a name, as in Go */
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *got = RUN(a, L(a, "a", "foo", NULL),
                              {.source_labels = SRC("a"), .regex = "(f)(?P<x>o+)",
                               .target_label = "t", .replacement = cases[i].repl});
        char want[64];
        (void) snprintf(want, sizeof want, "a=foo%s%s", *cases[i].want ? ",t=" : "",
                        cases[i].want);
        if (strcmp(got, want))
            test_fail(__FILE__, __LINE__, "replacement %s: got %s, want %s", cases[i].repl, got,
                      want);
    }
    arena_free(a);
}

/* ---- keep, drop, keepequal, dropequal ---- */

TEST(keep_and_drop)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("a"), .regex = ".*o.*"},
                      {.source_labels = SRC("a"), .regex = "f(.*)", .target_label = "d"}),
                  "DROP");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("a"),
                       .regex = "no-match"}),
                  "a=foo");
    /* Alternation is anchored as a whole: f|o matches neither "foo" prefix nor suffix. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("a"), .regex = "f|o"}),
                  "a=foo");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_KEEP, .source_labels = SRC("a"),
                       .regex = "no-match"}),
                  "DROP");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_KEEP, .source_labels = SRC("a"), .regex = "f.*"}),
                  "a=foo");
    /* Default regex (.*) keeps everything, including an absent source (""). */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_KEEP, .source_labels = SRC("nope")}),
                  "a=foo");
    /* An empty regex matches only the empty input: drop series without the label. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", NULL),
                      {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("b"), .regex = ""}),
                  "DROP");
    arena_free(a);
}

TEST(keepequal_and_dropequal)
{
    struct arena *a = arena_new(0);
    const struct labels *in = L(a, "__tmp_port", "1234", "__port1", "1234", "__port2", "5678",
                                NULL);
    const char *same = "__port1=1234,__port2=5678,__tmp_port=1234";
    ASSERT_STR_EQ(RUN(a, in,
                      {.action = SCRAPE_RELABEL_KEEPEQUAL, .source_labels = SRC("__tmp_port"),
                       .target_label = "__port1"}),
                  same);
    ASSERT_STR_EQ(RUN(a, in,
                      {.action = SCRAPE_RELABEL_DROPEQUAL, .source_labels = SRC("__tmp_port"),
                       .target_label = "__port1"}),
                  "DROP");
    ASSERT_STR_EQ(RUN(a, in,
                      {.action = SCRAPE_RELABEL_DROPEQUAL, .source_labels = SRC("__tmp_port"),
                       .target_label = "__port2"}),
                  same);
    ASSERT_STR_EQ(RUN(a, in,
                      {.action = SCRAPE_RELABEL_KEEPEQUAL, .source_labels = SRC("__tmp_port"),
                       .target_label = "__port2"}),
                  "DROP");
    /* An absent target equals an empty input. */
    ASSERT_STR_EQ(RUN(a, in,
                      {.action = SCRAPE_RELABEL_KEEPEQUAL, .source_labels = SRC("nope"),
                       .target_label = "also_nope"}),
                  same);
    arena_free(a);
}

/* ---- hashmod ---- */

TEST(hashmod_uses_md5_low_8_bytes_big_endian)
{
    struct arena *a = arena_new(0);
    /* Values from Prometheus' tests: md5("baz") bytes 8..15 % 1000 = 976. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b", "bar", "c", "baz", NULL),
                      {.action = SCRAPE_RELABEL_HASHMOD, .source_labels = SRC("c"),
                       .target_label = "d", .modulus = 1000}),
                  "a=foo,b=bar,c=baz,d=976");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo\nbar", NULL),
                      {.action = SCRAPE_RELABEL_HASHMOD, .source_labels = SRC("a"),
                       .target_label = "b", .modulus = 1000}),
                  "a=foo\nbar,b=734");
    /* The whole 64-bit value: md5("abc")[8:16] = 0xd6963f7d28e17f72. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "abc", NULL),
                      {.action = SCRAPE_RELABEL_HASHMOD, .source_labels = SRC("a"),
                       .target_label = "h", .modulus = UINT64_MAX}),
                  "a=abc,h=15462616177412505458");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "x", NULL),
                      {.action = SCRAPE_RELABEL_HASHMOD, .source_labels = SRC("nope"),
                       .target_label = "h", .modulus = 7}),
                  "a=x,h=1");
    /* Padding edges of MD5's 64-byte blocks (values from Python's hashlib). */
    static const struct {
        size_t len;
        const char *want;
    } blocks[] = {{55, "103167"}, {56, "245266"}, {63, "343434"}, {64, "976806"},
                  {65, "924289"}, {119, "633968"}, {120, "929092"}, {1000, "350777"}};
    for (size_t i = 0; i < ARRAY_LEN(blocks); i++) {
        char *v = arena_alloc(a, blocks[i].len + 1);
        memset(v, 'x', blocks[i].len);
        v[blocks[i].len] = '\0';
        struct labels out;
        scrape_relabel *rs = build(&(struct scrape_relabel_rule){.action = SCRAPE_RELABEL_HASHMOD,
                                                                 .source_labels = SRC("a"),
                                                                 .target_label = "h",
                                                                 .modulus = 1000003},
                                   1);
        ASSERT_EQ(scrape_relabel_apply(rs, a, L(a, "a", v, NULL), &out), 1);
        ASSERT_STR_EQ(labels_get(&out, "h"), blocks[i].want);
        scrape_relabel_unref(rs);
    }
    arena_free(a);
}

/* ---- labelmap, labeldrop, labelkeep ---- */

TEST(labelmap_copies_matching_names)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b1", "bar", "b2", "baz", NULL),
                      {.action = SCRAPE_RELABEL_LABELMAP, .regex = "(b.*)",
                       .replacement = "bar_${1}"}),
                  "a=foo,b1=bar,b2=baz,bar_b1=bar,bar_b2=baz");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "__meta_my_bar", "aaa", "__meta_my_baz", "bbb",
                           "__meta_other", "ccc", NULL),
                      {.action = SCRAPE_RELABEL_LABELMAP, .regex = "__meta_(my.*)",
                       .replacement = "${1}"}),
                  "__meta_my_bar=aaa,__meta_my_baz=bbb,__meta_other=ccc,a=foo,my_bar=aaa,"
                  "my_baz=bbb");
    /* The rule walks the set as it was: new names are not mapped again. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "1", NULL),
                      {.action = SCRAPE_RELABEL_LABELMAP, .regex = "(.*)",
                       .replacement = "${1}_x"}),
                  "a=1,a_x=1");
    /* Two names mapping to one: the later name (in sorted order) wins. */
    ASSERT_STR_EQ(RUN(a, L(a, "x_a", "1", "y_a", "2", NULL),
                      {.action = SCRAPE_RELABEL_LABELMAP, .regex = "._(a)",
                       .replacement = "$1"}),
                  "a=2,x_a=1,y_a=2");
    arena_free(a);
}

TEST(labeldrop_and_labelkeep)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b1", "bar", "b2", "baz", NULL),
                      {.action = SCRAPE_RELABEL_LABELKEEP, .regex = "(b.*)"}),
                  "b1=bar,b2=baz");
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b1", "bar", "b2", "baz", NULL),
                      {.action = SCRAPE_RELABEL_LABELDROP, .regex = "(b.*)"}),
                  "a=foo");
    /* Anchored: "b" alone drops nothing here. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "foo", "b1", "bar", NULL),
                      {.action = SCRAPE_RELABEL_LABELDROP, .regex = "b"}),
                  "a=foo,b1=bar");
    /* Prometheus issue 12283: drop, set again, keep on the new value. */
    ASSERT_STR_EQ(
        RUN(a, L(a, "__meta_kubernetes_pod_container_port_name", "foo",
                 "__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091", NULL),
            {.action = SCRAPE_RELABEL_LABELDROP,
             .regex = "^__meta_kubernetes_pod_container_port_name$"},
            {.source_labels = SRC("__meta_kubernetes_pod_annotation_XXX_metrics_port"),
             .regex = "(.+)", .replacement = "metrics",
             .target_label = "__meta_kubernetes_pod_container_port_name"},
            {.action = SCRAPE_RELABEL_KEEP,
             .source_labels = SRC("__meta_kubernetes_pod_container_port_name"),
             .regex = "^metrics$"}),
        "__meta_kubernetes_pod_annotation_XXX_metrics_port=9091,"
        "__meta_kubernetes_pod_container_port_name=metrics");
    /* Dropping every label leaves an empty, kept set. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "1", NULL), {.action = SCRAPE_RELABEL_LABELDROP}), "");
    arena_free(a);
}

/* ---- lowercase, uppercase ---- */

TEST(lowercase_and_uppercase)
{
    struct arena *a = arena_new(0);
    ASSERT_STR_EQ(RUN(a, L(a, "foo", "bAr123Foo", NULL),
                      {.action = SCRAPE_RELABEL_UPPERCASE, .source_labels = SRC("foo"),
                       .target_label = "foo_uppercase"},
                      {.action = SCRAPE_RELABEL_LOWERCASE, .source_labels = SRC("foo"),
                       .target_label = "foo_lowercase"}),
                  "foo=bAr123Foo,foo_lowercase=bar123foo,foo_uppercase=BAR123FOO");
    /* Unicode letters map too; invalid UTF-8 becomes U+FFFD as in Go's strings.Map. */
    ASSERT_STR_EQ(RUN(a, L(a, "a", "ÄÖÜ Σx", "b", "a\xff", NULL),
                      {.action = SCRAPE_RELABEL_LOWERCASE, .source_labels = SRC("a"),
                       .target_label = "lo"},
                      {.action = SCRAPE_RELABEL_UPPERCASE, .source_labels = SRC("lo"),
                       .target_label = "up"},
                      {.action = SCRAPE_RELABEL_UPPERCASE, .source_labels = SRC("b"),
                       .target_label = "b"}),
                  "a=ÄÖÜ Σx,b=A\xef\xbf\xbd,lo=äöü σx,up=ÄÖÜ ΣX");
    /* An empty input sets "", which deletes the target. */
    ASSERT_STR_EQ(RUN(a, L(a, "t", "old", NULL),
                      {.action = SCRAPE_RELABEL_LOWERCASE, .source_labels = SRC("nope"),
                       .target_label = "t"}),
                  "");
    arena_free(a);
}

/* ---- building: validation ---- */

TEST(validation_messages_and_keys)
{
    const char *key;
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_REPLACE}, &key),
                  "relabel configuration for replace action requires 'target_label' value");
    ASSERT_TRUE(key == NULL);
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LOWERCASE}, &key),
                  "relabel configuration for lowercase action requires 'target_label' value");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_HASHMOD,
                                                      .target_label = "h"},
                         &key),
                  "relabel configuration for hashmod requires non-zero modulus");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_HASHMOD,
                                                      .target_label = "${1}", .modulus = 2},
                         &key),
                  "\"${1}\" is invalid 'target_label' for hashmod action");
    ASSERT_STR_EQ(key, "target_label");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.target_label = "1abc"}, &key),
                  "\"1abc\" is invalid 'target_label' for replace action");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LOWERCASE,
                                                      .target_label = "${3}"},
                         &key),
                  "\"${3}\" is invalid 'target_label' for lowercase action");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_UPPERCASE,
                                                      .target_label = "u", .replacement = "x"},
                         &key),
                  "'replacement' can not be set for uppercase action");
    ASSERT_STR_EQ(key, "replacement");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELMAP,
                                                      .replacement = "a-$1"},
                         &key),
                  "\"a-$1\" is invalid 'replacement' for labelmap action");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_KEEPEQUAL,
                                                      .target_label = "t", .regex = "(.*)"},
                         &key),
                  "keepequal action requires only 'source_labels' and `target_label`, and no "
                  "other fields");
    ASSERT_TRUE(key == NULL);
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_DROPEQUAL,
                                                            .target_label = "t",
                                                            .separator = ","},
                               NULL),
                        "dropequal action requires only");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELDROP,
                                                      .source_labels = NULL,
                                                      .has_source_labels = 1},
                         &key),
                  "labeldrop action requires only 'regex', and no other fields");
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELKEEP,
                                                            .target_label = "x"},
                               NULL),
                        "labelkeep action requires only 'regex'");
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELKEEP,
                                                            .modulus = 3},
                               NULL),
                        "labelkeep action requires only 'regex'");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.source_labels = SRC("ok", "not-ok"),
                                                      .target_label = "t"},
                         &key),
                  "\"not-ok\" is not a valid label name");
    ASSERT_STR_EQ(key, "source_labels");
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){.target_label = "t", .regex = "(a"},
                               &key),
                        "error parsing regexp");
    ASSERT_STR_EQ(key, "regex");
    /* No backreferences (RE2 syntax). */
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){.target_label = "t",
                                                            .regex = "(a)\\1"},
                               &key),
                        "invalid escape sequence");
    ASSERT_STR_EQ(refuse((struct scrape_relabel_rule){.action = _SCRAPE_RELABEL_MAX}, &key),
                  "relabel action cannot be empty");
}

TEST(validation_accepts_what_prometheus_accepts)
{
    /* Legacy target_label templates: Prometheus' TestTargetLabelLegacyValidity table. */
    static const struct {
        const char *s;
        int ok;
    } t[] = {
        {"-label", 0}, {"label", 1}, {"label${1}", 1}, {"${1}label", 1}, {"${1}", 1},
        {"${", 0}, {"$", 0}, {"${}", 0}, {"foo${", 0}, {"$1", 1}, {"asd$2asd", 1},
        {"-foo${1}bar-", 0}, {"bar.foo${1}bar", 0}, {"_${1}_", 1}, {"foo${bar}foo", 1},
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        scrape_relabel *rs;
        struct err e = {0};
        ASSERT_OK(scrape_relabel_new(&rs, &e));
        int r = scrape_relabel_add(rs, &(struct scrape_relabel_rule){.target_label = t[i].s},
                                   NULL, &e);
        if ((r == 0) != t[i].ok)
            test_fail(__FILE__, __LINE__, "target_label %s: got %d (%s)", t[i].s, r, e.msg);
        scrape_relabel_unref(rs);
    }
    /* Explicit defaults are not "other fields" (compared by value), except regex. */
    scrape_relabel *rs = build(
        (const struct scrape_relabel_rule[]){
            {.action = SCRAPE_RELABEL_KEEPEQUAL, .target_label = "t", .separator = ";",
             .replacement = "$1"},
            {.action = SCRAPE_RELABEL_LABELDROP, .regex = "x", .separator = ";",
             .target_label = ""},
            {.action = SCRAPE_RELABEL_LABELMAP, .regex = "__meta_kubernetes_pod_label_(.+)"},
            {.action = SCRAPE_RELABEL_HASHMOD, .target_label = "h", .modulus = 1},
            {.action = SCRAPE_RELABEL_KEEP, .regex = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)"
                                                     "(o)(p)(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(1)"
                                                     "(2)(3)(4)(5)(6)(7)(8)"},
        },
        5);
    scrape_relabel_unref(rs);
    /* Too many groups to expand in a replace. */
    const char *key;
    ASSERT_STR_CONTAINS(refuse((struct scrape_relabel_rule){
                                   .target_label = "t",
                                   .regex = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)"
                                            "(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(1)(2)(3)(4)(5)(6)"},
                               &key),
                        "32 capture groups");
    /* Parentheses in classes, escapes and \Q..\E do not count; 31 groups are fine. */
    rs = build(&(struct scrape_relabel_rule){
                   .source_labels = SRC("a"),
                   .target_label = "t",
                   .regex = "[(]\\(\\Q((\\E[[:alpha:](](a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)"
                            "(n)(o)(p)(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(1)(2)(3)(4)(?P<last>5)",
                   .replacement = "${last}"},
               1);
    struct arena *a = arena_new(0);
    struct labels out;
    ASSERT_EQ(scrape_relabel_apply(rs, a, L(a, NULL), &out), 1);
    ASSERT_EQ(out.n, 0); /* "" does not match */
    ASSERT_EQ(scrape_relabel_apply(rs, a, L(a, "a", "((((xabcdefghijklmnopqrstuvwxyz12345", NULL),
                                   &out),
              1);
    ASSERT_STR_EQ(fmt(a, &out), "a=((((xabcdefghijklmnopqrstuvwxyz12345,t=5");
    scrape_relabel_unref(rs);
    arena_free(a);
}

TEST(actions_parse_case_insensitively)
{
    enum scrape_relabel_action act;
    for (int i = 0; i < _SCRAPE_RELABEL_MAX; i++) {
        ASSERT_OK(scrape_relabel_action_parse(scrape_relabel_action_name(i), &act));
        ASSERT_EQ(act, i);
    }
    ASSERT_OK(scrape_relabel_action_parse("LabelDrop", &act));
    ASSERT_EQ(act, SCRAPE_RELABEL_LABELDROP);
    ASSERT_OK(scrape_relabel_action_parse("HASHMOD", &act));
    ASSERT_EQ(act, SCRAPE_RELABEL_HASHMOD);
    ASSERT_EQ(scrape_relabel_action_parse("replace ", &act), -1);
    ASSERT_EQ(scrape_relabel_action_parse("", &act), -1);
    ASSERT_STR_EQ(scrape_relabel_action_name(SCRAPE_RELABEL_DROPEQUAL), "dropequal");
}

TEST(identity_hash_refcount_and_no_rules)
{
    struct scrape_relabel_rule r = {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("a"),
                                    .regex = "x"};
    scrape_relabel *x = build(&r, 1), *y = build(&r, 1);
    ASSERT_TRUE(scrape_relabel_hash(x) == scrape_relabel_hash(y));
    r.regex = "y";
    scrape_relabel *z = build(&r, 1);
    ASSERT_TRUE(scrape_relabel_hash(x) != scrape_relabel_hash(z));
    ASSERT_TRUE(scrape_relabel_hash(NULL) == 0 && scrape_relabel_count(NULL) == 0);
    /* Shared: the last unref frees (ASan reports a leak or a double free otherwise). */
    ASSERT_TRUE(scrape_relabel_ref(x) == x);
    scrape_relabel_unref(x);
    scrape_relabel_unref(x);
    scrape_relabel_unref(y);
    scrape_relabel_unref(z);
    scrape_relabel_unref(NULL);
    ASSERT_TRUE(scrape_relabel_ref(NULL) == NULL);
    /* No rules: the input comes back. */
    struct arena *a = arena_new(0);
    const struct labels *in = L(a, "a", "1", NULL);
    struct labels out;
    ASSERT_EQ(scrape_relabel_apply(NULL, a, in, &out), 1);
    ASSERT_TRUE(out.v == in->v && out.n == 1);
    arena_free(a);
}

TEST(arena_cap_is_an_error_not_a_crash)
{
    struct arena *a = arena_new(256);
    char big[200];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct labels in = {(struct label[]){{"a", big}, {"b", big}}, 2}, out;
    scrape_relabel *rs = build(&(struct scrape_relabel_rule){.source_labels = SRC("a", "b"),
                                                             .target_label = "c"},
                               1);
    int r = scrape_relabel_apply(rs, a, &in, &out);
    ASSERT_TRUE(r == ERR_LIMIT);
    scrape_relabel_unref(rs);
    arena_free(a);
}

/* ---- target relabeling: scrape_target_build ---- */

static const char *const module_vals[] = {"http_2xx"};
static const char *const x_vals[] = {"1", "2"};

static struct scrape_job job_with(scrape_relabel *rs)
{
    static const struct scrape_param params[] = {{"module", module_vals, 1}, {"x", x_vals, 2}};
    return (struct scrape_job){
        .name = "blackbox",
        .scheme = "http",
        .metrics_path = "/probe",
        .params = params,
        .n_params = 2,
        .interval_ms = 15000,
        .timeout_ms = 10000,
        .relabel = rs,
    };
}

TEST(target_defaults_without_relabeling)
{
    struct arena *a = arena_new(0);
    struct scrape_job job = job_with(NULL);
    struct scrape_target_spec s;
    struct err e = {0};
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h:9115", "env", "prod", NULL),
                                  &s, &e),
              1);
    ASSERT_STR_EQ(fmt(a, &s.discovered),
                  "__address__=h:9115,__metrics_path__=/probe,__param_module=http_2xx,"
                  "__param_x=1,__scheme__=http,__scrape_interval__=15s,__scrape_timeout__=10s,"
                  "env=prod,job=blackbox");
    ASSERT_STR_EQ(fmt(a, &s.labels), "env=prod,instance=h:9115,job=blackbox");
    ASSERT_STR_EQ(s.job, "blackbox");
    ASSERT_STR_EQ(s.scheme, "http");
    ASSERT_STR_EQ(s.address, "h:9115");
    ASSERT_STR_EQ(s.metrics_path, "/probe");
    ASSERT_STR_EQ(s.query, "module=http_2xx&x=1&x=2");
    ASSERT_EQ(s.interval_ms, 15000);
    ASSERT_EQ(s.timeout_ms, 10000);
    /* Discovered labels win over the job's defaults: job and instance from static labels. */
    ASSERT_EQ(scrape_target_build(a, &job,
                                  L(a, "__address__", "h:1", "job", "other", "instance", "me",
                                     "__metrics_path__", "/m", NULL),
                                  &s, &e),
              1);
    ASSERT_STR_EQ(fmt(a, &s.labels), "instance=me,job=other");
    ASSERT_STR_EQ(s.job, "blackbox");
    ASSERT_STR_EQ(s.metrics_path, "/m");
    arena_free(a);
}

TEST(target_blackbox_pattern)
{
    struct arena *a = arena_new(0);
    scrape_relabel *rs = build(
        (const struct scrape_relabel_rule[]){
            {.source_labels = SRC("__address__"), .target_label = "__param_target"},
            {.source_labels = SRC("__param_target"), .target_label = "instance"},
            {.target_label = "__address__", .replacement = "127.0.0.1:9115"},
        },
        3);
    struct scrape_job job = job_with(rs);
    struct scrape_target_spec s;
    struct err e = {0};
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "example.com", NULL), &s, &e), 1);
    ASSERT_STR_EQ(s.address, "127.0.0.1:9115");
    ASSERT_STR_EQ(s.query, "module=http_2xx&target=example.com&x=1&x=2");
    ASSERT_STR_EQ(fmt(a, &s.labels), "instance=example.com,job=blackbox");
    ASSERT_STR_EQ(labels_get(&s.discovered, "__address__"), "example.com");
    ASSERT_TRUE(labels_get(&s.discovered, "__param_target") == NULL);
    scrape_relabel_unref(rs);
    arena_free(a);
}

TEST(target_params_path_and_reserved_labels)
{
    struct arena *a = arena_new(0);
    scrape_relabel *rs = build(
        (const struct scrape_relabel_rule[]){
            {.target_label = "__param_x", .replacement = "9 9"},
            {.action = SCRAPE_RELABEL_LABELDROP, .regex = "__param_module"},
            {.target_label = "__param_a", .replacement = "&="},
            {.target_label = "__metrics_path__", .replacement = "federate me/ü?"},
            {.target_label = "__tmp_hidden", .replacement = "x"},
            {.target_label = "__scrape_interval__", .replacement = "1m"},
            {.target_label = "__scrape_timeout__", .replacement = "30s"},
        },
        7);
    struct scrape_job job = job_with(rs);
    struct scrape_target_spec s;
    struct err e = {0};
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "[::1]:9100", NULL), &s, &e), 1);
    /* __param_x replaces the first value only; a deleted __param_module leaves the job's value;
     * keys sorted; QueryEscape'd. */
    ASSERT_STR_EQ(s.query, "a=%26%3D&module=http_2xx&x=9+9&x=2");
    ASSERT_STR_EQ(s.metrics_path, "/federate%20me/%C3%BC%3F");
    ASSERT_STR_EQ(fmt(a, &s.labels), "instance=[::1]:9100,job=blackbox");
    ASSERT_EQ(s.interval_ms, 60000);
    ASSERT_EQ(s.timeout_ms, 30000);
    scrape_relabel_unref(rs);

    rs = build(&(struct scrape_relabel_rule){.target_label = "__metrics_path__",
                                             .replacement = "metrics"},
               1);
    job = job_with(rs);
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h", NULL), &s, &e), 1);
    ASSERT_STR_EQ(s.metrics_path, "/metrics");
    scrape_relabel_unref(rs);
    rs = build(&(struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELDROP,
                                             .regex = "__metrics_path__"},
               1);
    job = job_with(rs);
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h", NULL), &s, &e), 1);
    ASSERT_STR_EQ(s.metrics_path, "/");
    scrape_relabel_unref(rs);
    arena_free(a);
}

TEST(target_dropped_keeps_discovered_labels)
{
    struct arena *a = arena_new(0);
    scrape_relabel *rs = build(&(struct scrape_relabel_rule){.action = SCRAPE_RELABEL_DROP,
                                                             .source_labels = SRC("env"),
                                                             .regex = "dev"},
                               1);
    struct scrape_job job = job_with(rs);
    struct scrape_target_spec s;
    struct err e = {0};
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h:1", "env", "dev", NULL), &s,
                                  &e),
              0);
    ASSERT_STR_EQ(labels_get(&s.discovered, "env"), "dev");
    ASSERT_STR_EQ(labels_get(&s.discovered, "job"), "blackbox");
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h:1", "env", "prod", NULL), &s,
                                  &e),
              1);
    scrape_relabel_unref(rs);
    arena_free(a);
}

/* Builds one target whose labels the rule changes; expects ERR_PARSE with msg. */
static void target_refused(struct scrape_relabel_rule r, const char *msg)
{
    struct arena *a = arena_new(0);
    scrape_relabel *rs = build(&r, 1);
    struct scrape_job job = job_with(rs);
    struct scrape_target_spec s;
    struct err e = {0};
    int rc = scrape_target_build(a, &job, L(a, "__address__", "h:1", "__param_match[]", "m",
                                             NULL),
                                 &s, &e);
    if (rc != ERR_PARSE)
        test_fail(__FILE__, __LINE__, "expected ERR_PARSE for %s, got %d", msg, rc);
    ASSERT_STR_CONTAINS(e.msg, msg);
    scrape_relabel_unref(rs);
    arena_free(a);
}

TEST(target_invalid_after_relabeling)
{
    target_refused((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELDROP,
                                                .regex = "__address__"},
                   "no address");
    target_refused((struct scrape_relabel_rule){.target_label = "__address__",
                                                .replacement = "http://h/x"},
                   "\"http://h/x\" is not a valid hostname");
    target_refused((struct scrape_relabel_rule){.target_label = "__address__",
                                                .replacement = "h:99999"},
                   "bad target address \"h:99999\": port out of range");
    target_refused((struct scrape_relabel_rule){.target_label = "__scheme__",
                                                .replacement = "https"},
                   "scheme \"https\" needs the job's scheme: https or a tls_config");
    target_refused((struct scrape_relabel_rule){.target_label = "__scrape_interval__",
                                                .replacement = "0"},
                   "scrape interval cannot be 0");
    target_refused((struct scrape_relabel_rule){.target_label = "__scrape_interval__",
                                                .replacement = "fast"},
                   "error parsing scrape interval: not a valid duration string: \"fast\"");
    target_refused((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELDROP,
                                                .regex = "__scrape_timeout__"},
                   "error parsing scrape timeout: empty duration string");
    target_refused((struct scrape_relabel_rule){.target_label = "__scrape_timeout__",
                                                .replacement = "1m"},
                   "scrape timeout cannot be greater than scrape interval (\"1m\" > \"15s\")");
    /* labelmap may produce a name that is no label name: the target is refused. */
    target_refused((struct scrape_relabel_rule){.action = SCRAPE_RELABEL_LABELMAP,
                                                .regex = "__param_(.*)", .replacement = "p_$1"},
                   "invalid label name \"p_match[]\"");
}

/* Prometheus 2 gives an address without a port its scheme's port (instance and URL show it);
 * another scheme than http and https still makes a target, one that fails every scrape as Go's
 * client refuses it, unless the address has no port: then the target is refused. */
TEST(target_default_port_and_other_schemes)
{
    struct arena *a = arena_new(0);
    struct scrape_job job = job_with(NULL);
    struct scrape_target_spec s;
    struct err e = {0};
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h", NULL), &s, &e), 1);
    ASSERT_STR_EQ(s.address, "h:80");
    ASSERT_STR_EQ(labels_get(&s.labels, "instance"), "h:80");
    ASSERT_STR_EQ(labels_get(&s.discovered, "__address__"), "h");
    ASSERT_TRUE(s.forced_error == NULL);
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "[::1]", NULL), &s, &e), 1);
    ASSERT_STR_EQ(s.address, "[::1]:80");
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h:9", "__scheme__", "ftp",
                                             NULL),
                                  &s, &e),
              1);
    ASSERT_STR_EQ(s.scheme, "ftp");
    ASSERT_STR_CONTAINS(s.forced_error, "Get \"ftp://h:9/probe?module=http_2xx&x=");
    ASSERT_STR_CONTAINS(s.forced_error, "\": unsupported protocol scheme \"ftp\"");
    ASSERT_EQ(scrape_target_build(a, &job, L(a, "__address__", "h", "__scheme__", "ftp", NULL),
                                  &s, &e),
              ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid scheme: \"http\"");
    arena_free(a);
}

TEST(address_problems)
{
    ASSERT_TRUE(scrape_target_address_problem("h:1", 3) == NULL);
    ASSERT_TRUE(scrape_target_address_problem("[::1]", 5) == NULL);
    ASSERT_STR_EQ(scrape_target_address_problem("", 0), "empty target");
    char host[300];
    memset(host, 'a', sizeof host);
    ASSERT_STR_EQ(scrape_target_address_problem(host, 256), "host longer than 255 bytes");
    ASSERT_TRUE(scrape_target_address_problem(host, 255) == NULL);
    memcpy(host + 255, ":80", 3);
    ASSERT_TRUE(scrape_target_address_problem(host, 258) == NULL);
}

/* ---- the manager keeps dropped targets ---- */

struct seen {
    int n;
    char jobs[64];
    char envs[64];
};

static void on_dropped(void *ctx, const char *job, const struct labels *discovered)
{
    struct seen *s = ctx;
    s->n++;
    (void) strncat(s->jobs, job, sizeof s->jobs - strlen(s->jobs) - 1);
    (void) strncat(s->envs, labels_get(discovered, "env"), sizeof s->envs - strlen(s->envs) - 1);
}

static void on_status(void *ctx, const struct scrape_target_status *st)
{
    struct seen *s = ctx;
    s->n++;
    (void) strncat(s->envs, labels_get(&st->spec->discovered, "env"),
                   sizeof s->envs - strlen(s->envs) - 1);
}

static void on_closed(void *arg)
{
    *(int *) arg = 1;
}

TEST(manager_lists_dropped_and_counts_invalid_targets)
{
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    tsdb *db;
    struct err e = {0};
    ASSERT_OK_E(tsdb_open(&(struct tsdb_opts){0}, &db, &e), &e);
    scrape_manager *m;
    ASSERT_OK_E(scrape_manager_new(&loop, db, &m, &e), &e);
    struct arena *a = arena_new(0);
    scrape_relabel *rs = build(
        (const struct scrape_relabel_rule[]){
            {.action = SCRAPE_RELABEL_DROP, .source_labels = SRC("env"), .regex = "dev|test"},
            {.source_labels = SRC("env"), .regex = "bad", .target_label = "__address__",
             .replacement = "a/b"},
        },
        2);
    const struct labels targets[] = {
        *L(a, "__address__", "127.0.0.1:1", "env", "dev", NULL),
        *L(a, "__address__", "127.0.0.1:2", "env", "prod", NULL),
        *L(a, "__address__", "127.0.0.1:3", "env", "test", NULL),
        *L(a, "__address__", "127.0.0.1:4", "env", "bad", NULL),
    };
    struct scrape_job job = {.name = "j", .scheme = "http", .metrics_path = "/metrics",
                             .interval_ms = 3600000, .timeout_ms = 10000, .relabel = rs,
                             .targets = targets, .n_targets = 4};
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, fds[1]); /* the invalid target is logged */
    ASSERT_OK_E(scrape_manager_apply(m, &job, 1, &e), &e);
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, 2); /* the defaults */
    char logged[1024] = {0};
    ASSERT_TRUE(read(fds[0], logged, sizeof logged - 1) > 0);
    (void) close(fds[0]);
    (void) close(fds[1]);
    /* As in Prometheus 2, the port is added before the address is checked. */
    ASSERT_STR_CONTAINS(logged, "msg=\"creating target failed, skipping target\" job=j "
                                "target=127.0.0.1:4 err=\"\\\"a/b:80\\\" is not a valid hostname\"");
    ASSERT_EQ(scrape_manager_count(m), 1);
    ASSERT_EQ(scrape_manager_dropped_count(m), 2);
    ASSERT_EQ(scrape_manager_invalid_count(m), 1);
    struct seen s = {0};
    scrape_manager_each_dropped(m, on_dropped, &s);
    ASSERT_EQ(s.n, 2);
    ASSERT_STR_EQ(s.jobs, "jj");
    ASSERT_STR_EQ(s.envs, "devtest");
    /* Re-applying with new discovered labels keeps the loop and shows the new labels; the
     * config's rule list may go away, the loop holds its own reference. */
    const struct labels again[] = {*L(a, "__address__", "127.0.0.1:2", "env", "prod", "x", "",
                                      NULL)};
    job.targets = again;
    job.n_targets = 1;
    ASSERT_OK_E(scrape_manager_apply(m, &job, 1, &e), &e);
    ASSERT_EQ(scrape_manager_dropped_count(m), 0);
    ASSERT_EQ(scrape_manager_invalid_count(m), 0);
    memset(&s, 0, sizeof s);
    scrape_manager_each(m, on_status, &s);
    ASSERT_EQ(s.n, 1);
    ASSERT_STR_EQ(s.envs, "prod");
    scrape_relabel_unref(rs);
    arena_free(a);
    int closed = 0;
    scrape_manager_close(m, on_closed, &closed);
    for (int i = 0; i < 1000 && !closed; i++)
        (void) uv_run(&loop, UV_RUN_ONCE);
    ASSERT_TRUE(closed);
    (void) uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    tsdb_close(db);
}
