/* rules/series.c — the series notation of promtool's input_series and of PromQL test files'
 * `load` command: a descriptor `name{label="value"}` and values such as `1+2x3 _ stale -1x2 _x4`
 * (a+bxN: N+1 values from a in steps of b; _: no sample; _xN: N slots without samples). Shared by
 * `ember test rules` and tests/promql/runner.c. */
#include <errno.h>
#include <string.h>

#include "rules/rules.h"

/* A value is a float as PromQL writes it (Inf, NaN, hex, exponents). */
static int value(const char *s, size_t n, double *ret)
{
    return n ? num_parse_float(s, n, ret) : -1;
}

int rules_series_labels(struct arena *a, const char *s, struct labels *ret, struct err *e)
{
    struct promql_expr *x;
    struct promql_node_view v;
    if (!strcmp(s, "{}"))
        return *ret = (struct labels){0}, 0;
    int r = promql_parse(a, s, strlen(s), &x, e);
    if (r < 0)
        return r;
    promql_expr_view(x, &v);
    if (strcmp(v.type, "vectorSelector") != 0 || v.offset_ms || v.has_at)
        return err_set(e, ERR_PARSE, "series \"%.60s\": want a metric name and labels", s);
    struct label *ls = arena_calloc(a, v.n_matchers + 1, sizeof *ls);
    if (!ls)
        return err_set(e, ERR_LIMIT, "out of memory");
    uint32_t n = 0;
    for (size_t i = 0; i < v.n_matchers; i++) {
        if (v.matchers[i].type != MATCH_EQ)
            return err_set(e, ERR_PARSE, "series \"%.60s\": only = matchers describe a series", s);
        if (*v.matchers[i].value) /* empty means no such label */
            ls[n++] = (struct label){v.matchers[i].name, v.matchers[i].value};
    }
    *ret = (struct labels){ls, n};
    if (labels_sort(ret) < 0)
        return err_set(e, ERR_PARSE, "series \"%.60s\": a label repeats", s);
    return 0;
}

int rules_series_values(const char *s, int (*fn)(void *arg, uint64_t slot, double v), void *arg,
                        struct err *e)
{
    uint64_t slot = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        size_t n = strcspn(s, " \t\n");
        if (!n)
            break;
        const char *x = memchr(s, 'x', n);
        int64_t k = 0;
        if (x && (num_parse_int64(x + 1, (size_t) (s + n - x - 1), &k) < 0 || k < 0))
            return err_set(e, ERR_PARSE, "bad repetition in \"%.*s\"", (int) n, s);
        if (slot + (uint64_t) k + 1 > RULES_SERIES_MAX_POINTS)
            return err_set(e, ERR_LIMIT, "more than %u points in one series",
                           RULES_SERIES_MAX_POINTS);
        int r = 0;
        if (n == 1 && *s == '_') {
            slot++;
        } else if (x && x - s == 1 && *s == '_') {
            slot += (uint64_t) k;
        } else if (n == 5 && !memcmp(s, "stale", 5)) {
            r = fn(arg, slot++, num_stale_nan());
        } else if (!x) {
            double v;
            if (value(s, n, &v) < 0)
                return err_set(e, ERR_PARSE, "bad value \"%.*s\"", (int) n, s);
            r = fn(arg, slot++, v);
        } else {
            /* a+bxK, a-bxK or axK: the sign of b is the first + or - after the first byte
             * that is not part of an exponent. */
            const char *op = NULL;
            for (const char *p = s + 1; p < x && !op; p++)
                if ((*p == '+' || *p == '-') && p[-1] != 'e' && p[-1] != 'E')
                    op = p;
            double start, step = 0;
            if (value(s, (size_t) ((op ? op : x) - s), &start) < 0 ||
                (op && value(op + 1, (size_t) (x - op - 1), &step) < 0))
                return err_set(e, ERR_PARSE, "bad value \"%.*s\"", (int) n, s);
            if (op && *op == '-')
                step = -step;
            for (int64_t i = 0; i <= k && r >= 0; i++)
                r = fn(arg, slot++, start + step * (double) i);
        }
        if (r < 0)
            return r;
        s += n;
    }
    return 0;
}
