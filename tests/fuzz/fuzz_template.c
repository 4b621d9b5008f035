/* tests/fuzz/fuzz_template.c — rule template fuzz target: any input either fails to parse with
 * ERR_PARSE/ERR_LIMIT or parses; a parsed template then executes against fixed alert data and a
 * fake query function, ending in output or ERR_EXEC/ERR_LIMIT, never a crash, hang or leak. */
#include <stdlib.h>
#include <string.h>

#include "rules/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_query(void *ctx, struct arena *a, const char *q, size_t n,
                      struct tmpl_sample **ret, size_t *ret_n, struct err *e)
{
    (void) ctx;
    if (n && q[0] == '!')
        return err_set(e, ERR_EXEC, "query failed");
    struct tmpl_sample *s = arena_calloc(a, 2, sizeof *s);
    struct label *l = arena_calloc(a, 2, sizeof *l);
    if (!s || !l)
        return err_set(e, ERR_LIMIT, "arena full");
    l[0] = (struct label){"__name__", "m"};
    l[1] = (struct label){"job", n > 1 ? "b" : "a"};
    s[0] = (struct tmpl_sample){{l, 2}, 1.5};
    s[1] = (struct tmpl_sample){{l, 1}, (double) n};
    *ret = s;
    *ret_n = n % 3;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct arena *a = arena_new(32u << 20);
    if (!a)
        return 0;
    struct tmpl *t;
    struct err e = {0};
    int r = tmpl_parse(a, "fuzz", (const char *) data, size, &t, &e);
    if (r < 0) {
        if ((r != ERR_PARSE && r != ERR_LIMIT) || strncmp(e.msg, "template: fuzz", 14) != 0)
            abort();
        arena_free(a);
        return 0;
    }
    static struct label l[] = {{"__name__", "up"}, {"instance", "h:9100"}, {"job", "node"}};
    static struct labels ls = {l, 3};
    struct tmpl_data d = {.labels = &ls, .value = 0.25, .external_labels = &ls,
                          .external_url = "http://x:9090/p", .query = fake_query};
    char *out;
    size_t n;
    r = tmpl_exec(t, a, &d, &out, &n, &e);
    if (r < 0 && r != ERR_EXEC && r != ERR_LIMIT)
        abort();
    if (r >= 0 && (strlen(out) > n || n > TMPL_MAX_OUTPUT))
        abort();
    arena_free(a);
    return 0;
}
