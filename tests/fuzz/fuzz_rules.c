/* tests/fuzz/fuzz_rules.c — rule-file parsing on arbitrary bytes: no crash or leak, errors always
 * coded and positioned at the file, and every parsed group keeps rules.h's promises. */
#include "rules/rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_labels(const struct labels *ls)
{
    for (uint32_t i = 0; i < ls->n; i++) {
        CHECK(labels_name_valid(ls->v[i].name, strlen(ls->v[i].name)));
        CHECK(i == 0 || strcmp(ls->v[i - 1].name, ls->v[i].name) < 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(64u << 20);
    struct rules_group *gs = NULL;
    uint32_t n = 0;
    struct err e = {0};
    CHECK(a != NULL);
    int r = rules_parse(a, "fuzz.yml", (const char *) data, size, &gs, &n, &e);
    if (r < 0) {
        CHECK(e.code == r && (r == ERR_PARSE || r == ERR_LIMIT || r == -ENOMEM));
        CHECK(strncmp(e.msg, "fuzz.yml:", 9) == 0);
    } else {
        for (uint32_t g = 0; g < n; g++) {
            CHECK(gs[g].name[0] != '\0' && gs[g].interval_ms >= 0);
            for (uint32_t h = 0; h < g; h++)
                CHECK(strcmp(gs[h].name, gs[g].name) != 0);
            for (uint32_t i = 0; i < gs[g].n_rules; i++) {
                const struct rules_rule *rl = &gs[g].rules[i];
                CHECK(rl->ast != NULL && rl->expr[0] != '\0' && rl->name[0] != '\0');
                CHECK(rl->kind == RULES_ALERT ||
                      (rl->for_ms == 0 && rl->annotations.n == 0 &&
                       labels_metric_name_valid(rl->name, strlen(rl->name))));
                check_labels(&rl->labels);
                check_labels(&rl->annotations);
            }
        }
    }
    arena_free(a);
    return 0;
}
