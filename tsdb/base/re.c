/* tsdb/base/re.c — pcre2 configured for Prometheus' regex semantics: PCRE2_ANCHORED and
 * PCRE2_ENDANCHORED make the whole subject match even across top-level alternation (so "a|b"
 * means ^(?:a|b)$), PCRE2_DOTALL gives (?s), invalid UTF-8 subjects are matched bytewise-safe.
 * Match data is per thread (matching allocates nothing), and a match limit bounds backtracking. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "re.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#define RE_MATCH_LIMIT 1000000 /* backtracking steps before a match gives up (no match) */
#define RE_MAX_GROUPS 32

struct re {
    pcre2_code *code;
    pcre2_match_context *mctx;
    int literal;
};

static _Thread_local pcre2_match_data *tls_md;

static pcre2_match_data *thread_match_data(void)
{
    if (!tls_md)
        tls_md = pcre2_match_data_create(RE_MAX_GROUPS, NULL);
    return tls_md;
}

static int is_literal(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr("\\^$.|?*+()[]{}", p[i]))
            return 0;
    return 1;
}

int re_compile(const char *pattern, size_t n, struct re **ret, struct err *e)
{
    /* RE2 has no backreferences; pcre2 would accept \1 — refuse it to keep semantics equal. */
    for (size_t i = 0; i + 1 < n; i++) {
        if (pattern[i] == '\\') {
            if (pattern[i + 1] >= '1' && pattern[i + 1] <= '9')
                return err_set(e, ERR_PARSE, "error parsing regexp: invalid escape sequence: `\\%c`",
                               pattern[i + 1]);
            i++;
        }
    }
    struct re *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(e, -12, "out of memory");
    int code;
    PCRE2_SIZE off;
    r->code = pcre2_compile((PCRE2_SPTR) pattern, n,
                            PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | PCRE2_UTF |
                                PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                            &code, &off, NULL);
    if (!r->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        free(r);
        return err_set(e, ERR_PARSE, "error parsing regexp: %s at offset %zu", (char *) msg,
                       (size_t) off);
    }
    (void) pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE); /* optional: interpreter otherwise */
    r->mctx = pcre2_match_context_create(NULL);
    if (!r->mctx) {
        re_free(r);
        return err_set(e, -12, "out of memory");
    }
    pcre2_set_match_limit(r->mctx, RE_MATCH_LIMIT);
    r->literal = is_literal(pattern, n);
    *ret = r;
    return 0;
}

void re_free(struct re *r)
{
    if (!r)
        return;
    pcre2_match_context_free(r->mctx);
    pcre2_code_free(r->code);
    free(r);
}

int re_match(const struct re *r, const char *s, size_t n)
{
    pcre2_match_data *md = thread_match_data();
    if (!md)
        return 0;
    return pcre2_match(r->code, (PCRE2_SPTR) s, n, 0, 0, md, r->mctx) >= 0;
}

int re_is_literal(const struct re *r)
{
    return r->literal;
}

int re_match_groups(const struct re *r, const char *s, size_t n, long *ret_ovec, int max_groups)
{
    pcre2_match_data *md = thread_match_data();
    if (!md)
        return 0;
    int rc = pcre2_match(r->code, (PCRE2_SPTR) s, n, 0, 0, md, r->mctx);
    if (rc < 0)
        return 0;
    uint32_t have = pcre2_get_ovector_count(md);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int groups = (int) have < max_groups ? (int) have : max_groups;
    for (int i = 0; i < groups; i++) {
        if (i < rc && ov[2 * i] != PCRE2_UNSET) {
            ret_ovec[2 * i] = (long) ov[2 * i];
            ret_ovec[2 * i + 1] = (long) ov[2 * i + 1];
        } else {
            ret_ovec[2 * i] = ret_ovec[2 * i + 1] = -1;
        }
    }
    return groups;
}
