/* tsdb/matcher.c — label matchers; regexes compiled once and freed with the owning arena. */
#include "matcher.h"

#include <string.h>

#include "tsdb/base/base.h"

static void free_re(void *r)
{
    re_free(r);
}

int matcher_init(struct arena *a, struct matcher *m, enum matcher_type type, const char *name,
                 const char *value, struct err *e)
{
    m->type = type;
    m->name = arena_strdup(a, name);
    m->value = arena_strdup(a, value);
    m->re = NULL;
    if (!m->name || !m->value)
        return err_set(e, ERR_LIMIT, "out of query memory");
    if (type == MATCH_RE || type == MATCH_NRE) {
        int r = re_compile(value, strlen(value), &m->re, e);
        if (r < 0)
            return r;
        if (arena_on_free(a, free_re, m->re) < 0) {
            re_free(m->re);
            m->re = NULL;
            return err_set(e, ERR_LIMIT, "out of query memory");
        }
    }
    return 0;
}

int matcher_matches(const struct matcher *m, const char *value)
{
    switch (m->type) {
    case MATCH_EQ:
        return strcmp(m->value, value) == 0;
    case MATCH_NE:
        return strcmp(m->value, value) != 0;
    case MATCH_RE:
        return re_is_literal(m->re) ? strcmp(m->value, value) == 0
                                    : re_match(m->re, value, strlen(value));
    case MATCH_NRE:
        return re_is_literal(m->re) ? strcmp(m->value, value) != 0
                                    : !re_match(m->re, value, strlen(value));
    }
    return 0;
}

int matcher_matches_empty(const struct matcher *m)
{
    return matcher_matches(m, "");
}

const char *matcher_op(enum matcher_type type)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    return ops[type];
}
