/* tests/fuzz/fuzz_promql.c — PromQL fuzz target: any input either fails with ERR_PARSE or parses;
 * a parsed query must print, re-parse, and print the same text again (round trip), and then
 * evaluate (instant and range) against a small in-memory tsdb without crashing, whatever error
 * the tight limits produce. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static promql_engine *eng;

/* Two counters and a gauge with a stale marker, sampled every 15s for 20 minutes. */
static void setup(void)
{
    static tsdb *db;
    struct tsdb_opts o = {0};
    struct err e = {0};
    if (tsdb_open(&o, &db, &e) < 0)
        abort();
    tsdb_appender *app = tsdb_appender_new(db);
    struct label l[3][3] = {
        {{"__name__", "a"}, {"job", "x"}, {"le", "1"}},
        {{"__name__", "a"}, {"job", "y"}, {"le", "+Inf"}},
        {{"__name__", "b"}, {"job", "x"}, {"le", "0.5"}},
    };
    for (int s = 0; s < 3; s++) {
        struct labels ls = {l[s], 3};
        uint64_t ref = 0;
        for (int i = 0; i <= 80; i++) {
            double v = s == 2 ? (i == 40 ? num_stale_nan() : (double) (i % 7)) : i * (s + 1.0);
            (void) tsdb_appender_add(app, &ref, &ls, i * 15000, v, &e);
        }
    }
    if (tsdb_appender_commit(app, &e) < 0)
        abort();
    struct promql_engine_opts eo = {
        .max_samples = 20000, .timeout_ms = 50, .step_bytes = 16u << 20};
    if (promql_engine_new(db, &eo, &eng, &e) < 0)
        abort();
}

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
    if (!eng)
        setup();
    struct promql_result res;
    r = promql_eval_instant(eng, a, x, 600000, &res, &e);
    if (r < 0 && r != ERR_EXEC && r != ERR_LIMIT && r != ERR_TIMEOUT && r != -ENOMEM)
        abort();
    enum promql_value_type t = promql_expr_type(x);
    if (t == PROMQL_SCALAR || t == PROMQL_VECTOR) {
        r = promql_eval_range(eng, a, x, 0, 1200000, 60000, &res, &e);
        if (r < 0 && r != ERR_EXEC && r != ERR_LIMIT && r != ERR_TIMEOUT && r != -ENOMEM)
            abort();
    }
    arena_free(a);
    return 0;
}
