/* tsdb/base/re.h — regular expressions with Prometheus' semantics on pcre2: the whole subject must
 * match (anchored both ends), '.' matches newline, RE2-only syntax (no backreferences), JIT when
 * available and a match limit so no pattern runs unbounded. Thread-safe after compile. */
#ifndef EMBER_BASE_RE_H
#define EMBER_BASE_RE_H

#include <stddef.h>

#include "err.h"

struct re;

int re_compile(const char *pattern, size_t n, struct re **ret, struct err *e);
void re_free(struct re *r); /* NULL is fine */
/* 1 on a full match, 0 otherwise (including a hit match limit). */
int re_match(const struct re *r, const char *s, size_t n);
/* The pattern is a plain literal (no metacharacters): callers may compare strings instead. */
int re_is_literal(const struct re *r);
/* Full match with capture groups: ret_ovec gets pairs (start, end) for up to max_groups groups
 * (group 0 = whole); unset groups are (-1, -1). Returns number of pairs set, 0 on no match. */
int re_match_groups(const struct re *r, const char *s, size_t n, long *ret_ovec, int max_groups);

#endif
