/* server/cli_rules.c — promtool's checks as ember subcommands, with promtool's output and exit
 * codes (0 ok, 1 failure or error, 2 usage):
 *   ember check config FILE...   prometheus.yml, then the rule files it names
 *   ember check rules FILE...    rule files (duplicate rules are reported, not fatal, as
 *                                promtool's default --lint=duplicate-rules)
 *   ember test rules FILE...     rule unit tests (promtool test rules' file format) */
#include <stdio.h>
#include <string.h>

#include "rules/rules.h"
#include "server/cli.h"
#include "server/config.h"

static const char usage[] =
    "usage: ember check config FILE...\n"
    "       ember check rules FILE...\n"
    "       ember test rules FILE...\n";

static void print_duplicate(void *arg, const struct rules_rule *r)
{
    (void) arg;
    printf("Metric: %s\nLabel(s):\n", r->name);
    for (uint32_t i = 0; i < r->labels.n; i++)
        printf("\t%s: %s\n", r->labels.v[i].name, r->labels.v[i].value);
}

/* One rule file; returns 0 when it is valid. */
static int check_rule_file(const char *path)
{
    struct rules_set *s;
    struct err e = {0};
    printf("Checking %s\n", path);
    if (rules_load_file(path, &s, &e) < 0) {
        printf("  FAILED:\n%s\n\n", e.msg);
        return 1;
    }
    uint32_t n = 0;
    for (uint32_t g = 0; g < s->n_groups; g++)
        n += s->groups[g].n_rules;
    uint32_t dups = rules_check_duplicates(s, NULL, NULL);
    if (dups) {
        printf("%u duplicate rule(s) found.\n", dups);
        (void) rules_check_duplicates(s, print_duplicate, NULL);
        printf("Might cause inconsistency while recording expressions.\n");
    }
    printf("  SUCCESS: %u rules found\n\n", n);
    rules_set_free(s);
    return 0;
}

static int check_config(int argc, char **argv)
{
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        struct config *c;
        struct err e = {0};
        printf("Checking %s\n", argv[i]);
        if (config_load_file(argv[i], &c, &e) < 0) {
            printf("  FAILED: %s\n\n", e.msg);
            failed = 1;
            continue;
        }
        struct rules_set *s;
        if (rules_load(c->rule_files, c->n_rule_files, &s, &e) < 0) {
            printf("  FAILED: %s\n\n", e.msg);
            failed = 1;
            config_free(c);
            continue;
        }
        printf("  SUCCESS: %u rule files found\n", s->n_files);
        printf(" SUCCESS: %s is valid prometheus config file syntax\n\n", argv[i]);
        for (uint32_t f = 0; f < s->n_files; f++)
            failed |= check_rule_file(s->files[f]);
        rules_set_free(s);
        config_free(c);
    }
    return failed;
}

static int test_rules(int argc, char **argv)
{
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        struct buf out = BUF_INIT;
        struct err e = {0};
        int r = rules_unittest_file(argv[i], &out, &e);
        if (out.len)
            fwrite(out.p, 1, out.len, stdout);
        if (r < 0)
            printf("  FAILED:\n    %s\n", e.msg);
        failed |= r != 0;
        buf_free(&out);
        putchar('\n');
    }
    return failed;
}

int cli_rules_run(int argc, char **argv, int *ret_code)
{
    int check = argc >= 2 && !strcmp(argv[1], "check");
    if (!check && !(argc >= 2 && !strcmp(argv[1], "test")))
        return 0;
    const char *what = argc >= 3 ? argv[2] : "";
    if (argc < 4 || (check && strcmp(what, "config") && strcmp(what, "rules")) ||
        (!check && strcmp(what, "rules"))) {
        fputs(usage, stderr);
        *ret_code = 2;
        return 1;
    }
    if (check && !strcmp(what, "config"))
        *ret_code = check_config(argc - 3, argv + 3);
    else if (check) {
        int failed = 0;
        for (int i = 3; i < argc; i++)
            failed |= check_rule_file(argv[i]);
        *ret_code = failed;
    } else
        *ret_code = test_rules(argc - 3, argv + 3);
    fflush(stdout);
    return 1;
}
