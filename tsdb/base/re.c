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

/* Where the character class still open at the end of p starts, or n if none is. */
static size_t open_class(const char *p, size_t n)
{
    size_t start = n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (start == n && p[i] == '[') {
            start = i;
            if (i + 1 < n && p[i + 1] == '^')
                i++;
            if (i + 1 < n && p[i + 1] == ']') /* a leading ']' is a literal */
                i++;
        } else if (start != n && p[i] == ']') {
            start = n;
        }
    }
    return start;
}

/* The first repeat count above RE2's limit of 1000 ({1001}, {2,5000}) outside a character
 * class: Go refuses it, PCRE2 would take it. Returns its '{' offset, or n. */
static size_t repeat_over_limit(const char *p, size_t n, size_t *ret_len)
{
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (in_class) {
            in_class = p[i] != ']';
        } else if (p[i] == '[') {
            in_class = 1;
            if (i + 1 < n && p[i + 1] == '^')
                i++;
            if (i + 1 < n && p[i + 1] == ']')
                i++;
        } else if (p[i] == '{' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9') {
            size_t j = i + 1;
            int over = 0, digits = 0;
            for (long v = 0; j < n && ((p[j] >= '0' && p[j] <= '9') || p[j] == ','); j++) {
                v = p[j] == ',' ? 0 : (v > 100000 ? v : v * 10 + (p[j] - '0'));
                digits += p[j] != ',';
                over |= v > 1000;
            }
            if (j < n && p[j] == '}' && digits && over) {
                *ret_len = j - i + 1;
                return i;
            }
        }
    }
    return n;
}

/* A compile error in Go's regexp/syntax words, as Prometheus shows them: Prometheus compiles
 * "^(?:" + pattern + ")$", so whole-expression errors quote that. PCRE2 codes Go has no word
 * for keep PCRE2's message with the offset. */
static int go_error(const char *p, size_t n, int code, size_t off, struct err *e)
{
    const char *pre = "error parsing regexp: ";
    int len = (int) n;
    switch (code) {
    case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
    case PCRE2_ERROR_END_BACKSLASH: /* the trailing '\\' escapes the wrapper's ')' in Go */
        return err_set(e, ERR_PARSE, "%smissing closing ): `^(?:%.*s)$`", pre, len, p);
    case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
        return err_set(e, ERR_PARSE, "%sunexpected ): `^(?:%.*s)$`", pre, len, p);
    case PCRE2_ERROR_MISSING_SQUARE_BRACKET: {
        size_t at = open_class(p, n);
        if (at < n)
            return err_set(e, ERR_PARSE, "%smissing closing ]: `%.*s)$`", pre, (int) (n - at),
                           p + at);
        break;
    }
    case PCRE2_ERROR_QUANTIFIER_INVALID:
        if (off < n && off > 0 && strchr("*+?", p[off - 1]))
            return err_set(e, ERR_PARSE, "%sinvalid nested repetition operator: `%.2s`", pre,
                           p + off - 1);
        if (off < n && strchr("*+?", p[off]))
            return err_set(e, ERR_PARSE, "%smissing argument to repetition operator: `%c`", pre,
                           p[off]);
        break;
    case PCRE2_ERROR_UNKNOWN_ESCAPE:
    case PCRE2_ERROR_ESCAPE_INVALID_IN_CLASS:
        if (off >= 1 && off <= n && p[off - 1] == '\\' && off < n)
            return err_set(e, ERR_PARSE, "%sinvalid escape sequence: `\\%c`", pre, p[off]);
        if (off >= 2 && off <= n && p[off - 2] == '\\')
            return err_set(e, ERR_PARSE, "%sinvalid escape sequence: `\\%c`", pre, p[off - 1]);
        break;
    case PCRE2_ERROR_CLASS_RANGE_ORDER:
        if (off >= 2 && off < n && p[off - 1] == '-')
            return err_set(e, ERR_PARSE, "%sinvalid character class range: `%.3s`", pre,
                           p + off - 2);
        break;
    case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER:
    case PCRE2_ERROR_QUANTIFIER_TOO_BIG: {
        size_t lo = off < n ? off : n;
        while (lo > 0 && p[lo] != '{')
            lo--;
        size_t hi = lo;
        while (hi < n && p[hi] != '}')
            hi++;
        if (p[lo] == '{' && hi < n)
            return err_set(e, ERR_PARSE, "%sinvalid repeat count: `%.*s`", pre,
                           (int) (hi - lo + 1), p + lo);
        break;
    }
    }
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(code, msg, sizeof msg);
    return err_set(e, ERR_PARSE, "%s%s at offset %zu", pre, (char *) msg, off);
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
    size_t rep_len, rep = repeat_over_limit(pattern, n, &rep_len);
    if (rep < n)
        return err_set(e, ERR_PARSE, "error parsing regexp: invalid repeat count: `%.*s`",
                       (int) rep_len, pattern + rep);
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
        free(r);
        return go_error(pattern, n, code, off, e);
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
