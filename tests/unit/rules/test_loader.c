/* tests/unit/rules/test_loader.c — rule files: Prometheus' fields and defaults, and for malformed
 * input an error naming file, line, group, rule and reason (as promtool check rules does). */
#include "rules/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static struct arena *a;

static struct rules_group *parse_ok(const char *yaml, uint32_t *n)
{
    struct rules_group *gs = NULL;
    struct err e = {0};
    arena_free(a);
    a = arena_new(0);
    int r = rules_parse(a, "r.yml", yaml, strlen(yaml), &gs, n, &e);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "parse failed: %s", e.msg);
    return gs;
}

static const char *parse_bad(const char *yaml)
{
    static struct err e;
    struct rules_group *gs = NULL;
    uint32_t n = 0;
    err_clear(&e);
    arena_free(a);
    a = arena_new(0);
    int r = rules_parse(a, "r.yml", yaml, strlen(yaml), &gs, &n, &e);
    if (r >= 0)
        test_fail(__FILE__, __LINE__, "parsed, expected an error for:\n%s", yaml);
    ASSERT_EQ(e.code, r);
    return e.msg;
}

TEST(fields_and_defaults)
{
    uint32_t n;
    struct rules_group *g = parse_ok("groups:\n"
                                     "  - name: g\n"
                                     "    interval: 30s\n"
                                     "    limit: 7\n"
                                     "    query_offset: 1m\n"
                                     "    rules:\n"
                                     "      - record: job:up:sum\n"
                                     "        expr: sum by (job) (up)\n"
                                     "        labels: {b: '2', a: '1'}\n"
                                     "      - alert: Down\n"
                                     "        expr: up == 0\n"
                                     "        for: 5m\n"
                                     "        keep_firing_for: 1m\n"
                                     "        annotations: {summary: down}\n"
                                     "  - name: h\n",
                                     &n);
    ASSERT_EQ(n, 2u);
    ASSERT_STR_EQ(g[0].name, "g");
    ASSERT_EQ(g[0].interval_ms, 30000);
    ASSERT_EQ(g[0].limit, 7u);
    ASSERT_EQ(g[0].query_offset_ms, 60000);
    ASSERT_TRUE(g[0].has_query_offset);
    ASSERT_FALSE(g[1].has_query_offset);
    ASSERT_EQ(g[0].n_rules, 2u);
    ASSERT_EQ(g[1].n_rules, 0u);
    const struct rules_rule *rec = &g[0].rules[0], *al = &g[0].rules[1];
    ASSERT_EQ(rec->kind, RULES_RECORD);
    ASSERT_STR_EQ(rec->name, "job:up:sum");
    ASSERT_EQ(rec->labels.n, 2u);
    ASSERT_STR_EQ(rec->labels.v[0].name, "a"); /* sorted */
    ASSERT_EQ(rec->line, 7u);
    ASSERT_EQ(al->kind, RULES_ALERT);
    ASSERT_EQ(al->for_ms, 300000);
    ASSERT_EQ(al->keep_firing_for_ms, 60000);
    ASSERT_STR_EQ(labels_get(&al->annotations, "summary"), "down");
    ASSERT_TRUE(al->ast != NULL);
}

TEST(empty_files)
{
    uint32_t n = 99;
    parse_ok("", &n);
    ASSERT_EQ(n, 0u);
    parse_ok("groups:\n", &n);
    ASSERT_EQ(n, 0u);
    parse_ok("# only a comment\n", &n);
    ASSERT_EQ(n, 0u);
}

TEST(errors_name_file_line_group_rule)
{
    const char *m = parse_bad("groups:\n  - name: g\n    rules:\n      - record: x\n"
                              "        expr: sum(\n");
    ASSERT_STR_CONTAINS(m, "r.yml:5:");
    ASSERT_STR_CONTAINS(m, "group \"g\", rule 1 (\"x\")");
    ASSERT_STR_CONTAINS(m, "could not parse expression");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - expr: up\n");
    ASSERT_STR_CONTAINS(m, "one of 'record' or 'alert' must be set");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - record: x\n        alert: y\n"
                  "        expr: up\n");
    ASSERT_STR_CONTAINS(m, "only one of 'record' and 'alert' must be set");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - alert: y\n");
    ASSERT_STR_CONTAINS(m, "field 'expr' must be set in rule");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: up\n"
                  "        for: 1m\n");
    ASSERT_STR_CONTAINS(m, "invalid field 'for' in recording rule");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: up\n"
                  "        annotations: {a: b}\n");
    ASSERT_STR_CONTAINS(m, "invalid field 'annotations' in recording rule");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n"
                  "        expr: up\n");
    ASSERT_STR_CONTAINS(m, "invalid recording rule name");
    m = parse_bad("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                  "        labels: {'1x': y}\n");
    ASSERT_STR_CONTAINS(m, "invalid label name");
}

TEST(structure_errors)
{
    const char *m = parse_bad("groups:\n  - name: g\n  - name: g\n");
    ASSERT_STR_CONTAINS(m, "r.yml:3:");
    ASSERT_STR_CONTAINS(m, "groupname: \"g\" is repeated in the same file");
    m = parse_bad("groups:\n  - name: g\n    bogus: 1\n");
    ASSERT_STR_CONTAINS(m, "unknown key \"bogus\"");
    m = parse_bad("grups: []\n");
    ASSERT_STR_CONTAINS(m, "unknown key \"grups\"");
    m = parse_bad("groups:\n  - interval: 1m\n");
    ASSERT_STR_CONTAINS(m, "group name must not be empty");
    m = parse_bad("groups:\n  - name: g\n    interval: soon\n");
    ASSERT_STR_CONTAINS(m, "not a valid duration");
    m = parse_bad("groups:\n  - name: g\n    limit: -1\n");
    ASSERT_STR_CONTAINS(m, "limit");
    m = parse_bad("groups: {name: g}\n");
    ASSERT_STR_CONTAINS(m, "expected a list");
    m = parse_bad("groups:\n  - name: g\n    rules: {record: x}\n");
    ASSERT_STR_CONTAINS(m, "expected a list");
    m = parse_bad("groups:\n  - name: g\n    name: h\n");
    ASSERT_STR_CONTAINS(m, "repeated");
    m = parse_bad("groups: [\n");
    ASSERT_STR_CONTAINS(m, "r.yml:");
    m = parse_bad("groups: []\n---\ngroups: []\n");
    ASSERT_STR_CONTAINS(m, "only one YAML document");
    m = parse_bad("[1, 2]\n");
    ASSERT_STR_CONTAINS(m, "expected a mapping");
}

TEST(load_globs_and_duplicates)
{
    char dir[] = "/tmp/ember-rules-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char p1[128], p2[128], glob[128];
    snprintf(p1, sizeof p1, "%s/a.rules.yml", dir);
    snprintf(p2, sizeof p2, "%s/b.rules.yml", dir);
    snprintf(glob, sizeof glob, "%s/*.rules.yml", dir);
    FILE *f = fopen(p1, "w");
    ASSERT_TRUE(f != NULL);
    fputs("groups:\n  - name: one\n    rules:\n      - record: r\n        expr: up\n", f);
    fclose(f);
    f = fopen(p2, "w");
    ASSERT_TRUE(f != NULL);
    fputs("groups:\n  - name: one\n    rules:\n      - record: r\n        expr: up\n", f);
    fclose(f);
    const char *globs[] = {glob, "/nonexistent/*.yml"};
    struct rules_set *s = NULL;
    struct err e = {0};
    ASSERT_OK_E(rules_load(globs, 2, &s, &e), &e);
    ASSERT_EQ(s->n_files, 2u);
    ASSERT_EQ(s->n_groups, 2u);
    ASSERT_STR_EQ(s->groups[0].file, p1);
    ASSERT_EQ(rules_check_duplicates(s, NULL, NULL), 1u);
    rules_set_free(s);
    f = fopen(p2, "w");
    fputs("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: rate(\n", f);
    fclose(f);
    ASSERT_TRUE(rules_load(globs, 1, &s, &e) == ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "b.rules.yml:5:");
    unlink(p1);
    unlink(p2);
    rmdir(dir);
    arena_free(a);
    a = NULL;
}
