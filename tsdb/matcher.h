/* tsdb/matcher.h — label matchers = != =~ !~. Regexes are fully anchored (RE2 semantics via
 * pcre2, see tsdb/base/re.h). A label that is absent matches as the empty string. */
#ifndef EMBER_TSDB_MATCHER_H
#define EMBER_TSDB_MATCHER_H

#include "tsdb/base/err.h"

struct arena;
struct re;

enum matcher_type { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct matcher {
    enum matcher_type type;
    const char *name;
    const char *value;
    struct re *re; /* compiled for MATCH_RE / MATCH_NRE */
};

/* Builds a matcher whose strings and compiled regex live as long as arena a (the regex is freed
 * by arena_free). A bad regex is ERR_PARSE with the compiler's message. */
int matcher_init(struct arena *a, struct matcher *m, enum matcher_type type, const char *name,
                 const char *value, struct err *e);
int matcher_matches(const struct matcher *m, const char *value);
int matcher_matches_empty(const struct matcher *m); /* does it match an absent label? */
const char *matcher_op(enum matcher_type type);    /* "=", "!=", "=~", "!~" */

#endif
