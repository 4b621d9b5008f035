/* tests/fuzz/fuzz_promql.c — PromQL parser fuzz target: any input either fails with ERR_PARSE or
 * parses; a parsed query must print, re-parse, and print the same text again (round trip). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct arena *a = arena_new(64u << 20);
    if (!a)
        return 0;
    struct promql_expr *x = NULL;
    struct err e = {0};
    int r = promql_parse(a, (const char *) data, size, &x, &e);
    if (r < 0) {
        if (r != ERR_PARSE && r != -ENOMEM && r != ERR_LIMIT)
            abort();
        arena_free(a);
        return 0;
    }
    char *s1 = promql_format(a, x);
    if (s1) {
        struct promql_expr *y = NULL;
        if (promql_parse(a, s1, strlen(s1), &y, &e) < 0)
            abort(); /* printed form must parse */
        char *s2 = promql_format(a, y);
        if (s2 && strcmp(s1, s2) != 0)
            abort(); /* and print identically */
    }
    arena_free(a);
    return 0;
}
