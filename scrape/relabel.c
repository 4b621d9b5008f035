/* scrape/relabel.c — Prometheus' relabel_config: validating and compiling rules, and running a
 * rule list over one label set (a target's labels before it is scraped, a series' labels after).
 *
 * Semantics are those of prometheus/model/relabel (relabel.go, Process):
 * - the values of source_labels (absent = "") joined by separator are the input of replace, keep,
 *   drop, hashmod, lowercase, uppercase, keepequal and dropequal;
 * - regexes are fully anchored (re.h); keep/drop match the input; labelmap, labeldrop and labelkeep
 *   match label names, iterating over the set as it was when the rule started, in name order;
 * - replace expands $1, ${1}, $name, ${name} and $$ in target_label and replacement exactly as Go's
 *   Regexp.Expand, skips the rule when the expanded target is not a valid label name, and deletes
 *   the target when the expanded replacement is empty; no match changes nothing;
 * - hashmod sets the target to (MD5(input) bytes 8..15 as a big-endian uint64) % modulus;
 * - keepequal/dropequal compare the input with the target label's value;
 * - setting a label to "" deletes it, as labels.Builder does.
 * Label names are checked with Prometheus 2's (legacy) rule, [a-zA-Z_][a-zA-Z0-9_]*, as all of
 * ember's label names are.
 *
 * A rule list is heap memory shared by the config and every scrape loop using it (atomic
 * refcount). Applying it needs no lock: rules are immutable, regex match data is per thread, and
 * the working set lives in the caller's arena as a name-sorted array. */
#include "relabel.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* re.c's match data holds 32 (start, end) pairs: the whole match and 31 capture groups. A pattern
 * with more groups would read as matching with every group unset, so such patterns are refused
 * where groups are expanded (replace, labelmap). */
#define RELABEL_MAX_GROUPS 32
#define MSG_QUOTE_MAX 64 /* longest user text quoted in an error message */

struct group_name {
    char *name;
    int index;
};

struct rule {
    enum scrape_relabel_action action;
    char **src;
    uint32_t n_src;
    char *sep;
    struct re *re;
    struct group_name *names; /* named capture groups, for $name in templates */
    uint32_t n_names;
    char *target;
    char *repl;
    uint64_t modulus;
};

struct scrape_relabel {
    atomic_uint refs;
    struct rule *v;
    uint32_t n, cap;
    uint64_t hash;
};

static const char *const action_names[_SCRAPE_RELABEL_MAX] = {
    [SCRAPE_RELABEL_REPLACE] = "replace",     [SCRAPE_RELABEL_KEEP] = "keep",
    [SCRAPE_RELABEL_DROP] = "drop",           [SCRAPE_RELABEL_KEEPEQUAL] = "keepequal",
    [SCRAPE_RELABEL_DROPEQUAL] = "dropequal", [SCRAPE_RELABEL_HASHMOD] = "hashmod",
    [SCRAPE_RELABEL_LABELMAP] = "labelmap",   [SCRAPE_RELABEL_LABELDROP] = "labeldrop",
    [SCRAPE_RELABEL_LABELKEEP] = "labelkeep", [SCRAPE_RELABEL_LOWERCASE] = "lowercase",
    [SCRAPE_RELABEL_UPPERCASE] = "uppercase",
};

const char *scrape_relabel_action_name(enum scrape_relabel_action a)
{
    return (unsigned) a < _SCRAPE_RELABEL_MAX ? action_names[a] : "unknown";
}

int scrape_relabel_action_parse(const char *s, enum scrape_relabel_action *ret)
{
    for (int i = 0; i < _SCRAPE_RELABEL_MAX; i++)
        if (!strcasecmp(s, action_names[i]))
            return *ret = (enum scrape_relabel_action) i, 0;
    return -1;
}

/* ---- regex capture groups ---- */

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Counts the capturing groups of a pattern in pcre2's (and RE2's) numbering and records the
 * named ones: "(" not followed by "?" or "*", "(?P<name>", "(?<name>" and "(?'name'". Escapes,
 * \Q...\E and character classes (with [:class:] inside) are skipped. names has room for
 * RELABEL_MAX_GROUPS entries; more named groups are counted but not recorded (the pattern is
 * then refused anyway). *n_names counts the names recorded (strndup'd), also on -ENOMEM. */
static int scan_groups(const char *p, size_t n, struct group_name *names, uint32_t *n_names)
{
    int count = 0;
    uint32_t nn = 0;
    *n_names = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            if (i + 1 < n && p[i + 1] == 'Q') {
                const char *end = memmem(p + i + 2, n - i - 2, "\\E", 2);
                i = end ? (size_t) (end - p) + 1 : n;
            } else {
                i++;
            }
        } else if (p[i] == '[') {
            i++;
            if (i < n && p[i] == '^')
                i++;
            if (i < n && p[i] == ']')
                i++; /* a ']' first in a class is literal */
            for (; i < n && p[i] != ']'; i++) {
                if (p[i] == '\\') {
                    i++;
                } else if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') {
                    const char *end = memmem(p + i + 2, n - i - 2, ":]", 2);
                    if (end)
                        i = (size_t) (end - p) + 1;
                }
            }
        } else if (p[i] == '(') {
            size_t name = 0;
            char close = '>';
            if (i + 1 < n && p[i + 1] == '*')
                continue;
            if (i + 1 < n && p[i + 1] == '?') {
                if (i + 3 < n && p[i + 2] == 'P' && p[i + 3] == '<')
                    name = i + 4;
                else if (i + 3 < n && p[i + 2] == '<' && p[i + 3] != '=' && p[i + 3] != '!')
                    name = i + 3;
                else if (i + 2 < n && p[i + 2] == '\'')
                    name = i + 3, close = '\'';
                else
                    continue;
            }
            count++;
            if (!name)
                continue;
            size_t e = name;
            while (e < n && p[e] != close)
                e++;
            if (nn < RELABEL_MAX_GROUPS) {
                names[nn].name = strndup(p + name, e - name);
                if (!names[nn].name)
                    return -ENOMEM;
                names[nn++].index = count;
                *n_names = nn;
            }
        }
    }
    return count;
}

/* ---- templates: Go's Regexp.Expand ---- */

/* Go's extract(): a name after '$' ("name" or "{name}"), as long as possible; *ret_num is its
 * number when all digits without a leading zero (below 1e8), else -1. Returns the bytes used
 * after the '$', 0 when malformed (the '$' is then literal). Name characters are letters, digits
 * and '_'; beyond ASCII, Unicode letters and digits as the C.UTF-8 tables classify them. */
static size_t tmpl_name(const char *s, const char **ret_name, size_t *ret_len, long *ret_num)
{
    int brace = s[0] == '{';
    const char *name = s + brace;
    size_t i = 0;
    for (;;) {
        unsigned char c = (unsigned char) name[i];
        if (c < 0x80) {
            if (!c || !is_word((char) c))
                break;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = scrape_relabel_text_utf8_decode((const unsigned char *) name + i,
                                                      strlen(name + i), &len);
        if (!scrape_relabel_text_is_alnum(cp))
            break;
        i += len;
    }
    if (i == 0 || (brace && name[i] != '}'))
        return 0;
    long num = 0;
    for (size_t k = 0; k < i; k++) {
        if (name[k] < '0' || name[k] > '9' || num >= 100000000) {
            num = -1;
            break;
        }
        num = num * 10 + (name[k] - '0');
    }
    if (name[0] == '0' && i > 1)
        num = -1;
    *ret_name = name;
    *ret_len = i;
    *ret_num = num;
    return i + (size_t) brace * 2;
}

/* The capture group a template variable refers to, or -1 when unset, missing or unknown. */
static int tmpl_group(const struct rule *r, const char *name, size_t len, long num,
                      const long *ov, int n_ov)
{
    if (num >= 0)
        return num < n_ov && ov[2 * num] >= 0 ? (int) num : -1;
    for (uint32_t i = 0; i < r->n_names; i++)
        if (strlen(r->names[i].name) == len && !memcmp(r->names[i].name, name, len) &&
            r->names[i].index < n_ov && ov[2 * r->names[i].index] >= 0)
            return r->names[i].index;
    return -1;
}

/* Expands tmpl against subject s and its match ov (n_ov pairs) into out (NULL: just measure);
 * returns the length. */
static size_t tmpl_expand(const struct rule *r, const char *tmpl, const char *s, const long *ov,
                          int n_ov, char *out)
{
    size_t o = 0;
    for (const char *t = tmpl; *t;) {
        if (*t != '$') {
            if (out)
                out[o] = *t;
            o++, t++;
            continue;
        }
        t++;
        if (*t == '$') {
            if (out)
                out[o] = '$';
            o++, t++;
            continue;
        }
        const char *name;
        size_t len, used;
        long num;
        if (!(used = tmpl_name(t, &name, &len, &num))) {
            if (out)
                out[o] = '$';
            o++;
            continue;
        }
        t += used;
        int g = tmpl_group(r, name, len, num, ov, n_ov);
        if (g < 0)
            continue;
        size_t gl = (size_t) (ov[2 * g + 1] - ov[2 * g]);
        if (out)
            memcpy(out + o, s + ov[2 * g], gl);
        o += gl;
    }
    return o;
}

static const char *expand(struct arena *a, const struct rule *r, const char *tmpl, const char *s,
                          const long *ov, int n_ov)
{
    if (!strchr(tmpl, '$'))
        return tmpl;
    size_t n = tmpl_expand(r, tmpl, s, ov, n_ov, NULL);
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    (void) tmpl_expand(r, tmpl, s, ov, n_ov, out);
    out[n] = '\0';
    return out;
}

/* Prometheus' relabelTargetLegacy, ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$: a label name in
 * which $var and ${var} may stand for name characters. */
static int tmpl_name_valid(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == '$') {
            int brace = s[++i] == '{';
            size_t k = i += (size_t) brace;
            while (is_word(s[i]))
                i++;
            if (i == k || (brace && s[i++] != '}'))
                return 0;
        } else if (is_word(s[i])) {
            i++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* ---- building ---- */

static int name_valid(const char *s)
{
    return labels_name_valid(s, strlen(s));
}

/* Prometheus' %q of user text in messages: double quotes, cut at MSG_QUOTE_MAX bytes. */
static const char *q(const char *s, char *out)
{
    size_t n = strlen(s), k = n > MSG_QUOTE_MAX ? MSG_QUOTE_MAX : n, o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < k; i++)
        out[o++] = (char) ((unsigned char) s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' ? '?' : s[i]);
    out[o++] = '"';
    if (k < n)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
    return out;
}

#define QBUF (MSG_QUOTE_MAX + 8)

/* Prometheus' Config.Validate, in its order, plus the source label names its YAML decoding
 * checks. */
static int check(const struct scrape_relabel_rule *r, const char **ret_key, struct err *e)
{
    enum scrape_relabel_action a = r->action;
    const char *act = scrape_relabel_action_name(a);
    const char *target = r->target_label ? r->target_label : "";
    const char *repl = r->replacement ? r->replacement : "$1";
    const char *sep = r->separator ? r->separator : ";";
    int equal = a == SCRAPE_RELABEL_KEEPEQUAL || a == SCRAPE_RELABEL_DROPEQUAL;
    int cased = a == SCRAPE_RELABEL_LOWERCASE || a == SCRAPE_RELABEL_UPPERCASE;
    char b[QBUF];
    *ret_key = NULL;
    if ((unsigned) a >= _SCRAPE_RELABEL_MAX)
        return err_set(e, ERR_PARSE, "relabel action cannot be empty");
    for (uint32_t i = 0; i < r->n_source_labels; i++) {
        if (!name_valid(r->source_labels[i])) {
            *ret_key = "source_labels";
            return err_set(e, ERR_PARSE, "%s is not a valid label name",
                           q(r->source_labels[i], b));
        }
    }
    if (a == SCRAPE_RELABEL_HASHMOD && r->modulus == 0)
        return err_set(e, ERR_PARSE, "relabel configuration for hashmod requires non-zero modulus");
    if ((a == SCRAPE_RELABEL_REPLACE || a == SCRAPE_RELABEL_HASHMOD || cased || equal) &&
        !*target)
        return err_set(e, ERR_PARSE, "relabel configuration for %s action requires "
                       "'target_label' value", act);
    *ret_key = "target_label";
    if ((a == SCRAPE_RELABEL_REPLACE && !(strchr(target, '$') ? tmpl_name_valid(target)
                                                              : name_valid(target))) ||
        ((cased || equal || a == SCRAPE_RELABEL_HASHMOD) && !name_valid(target)))
        return err_set(e, ERR_PARSE, "%s is invalid 'target_label' for %s action", q(target, b),
                       act);
    *ret_key = "replacement";
    if ((cased || equal) && strcmp(repl, "$1"))
        return err_set(e, ERR_PARSE, "'replacement' can not be set for %s action", act);
    if (a == SCRAPE_RELABEL_LABELMAP && !tmpl_name_valid(repl))
        return err_set(e, ERR_PARSE, "%s is invalid 'replacement' for %s action", q(repl, b),
                       act);
    *ret_key = NULL;
    /* Prometheus compares the regex with its default by identity: any regex written is "set". */
    if (equal && (r->regex || r->modulus || strcmp(sep, ";") || strcmp(repl, "$1")))
        return err_set(e, ERR_PARSE, "%s action requires only 'source_labels' and `target_label`, "
                       "and no other fields", act);
    if ((a == SCRAPE_RELABEL_LABELDROP || a == SCRAPE_RELABEL_LABELKEEP) &&
        (r->has_source_labels || *target || r->modulus || strcmp(sep, ";") || strcmp(repl, "$1")))
        return err_set(e, ERR_PARSE, "%s action requires only 'regex', and no other fields", act);
    return 0;
}

static void rule_done(struct rule *r)
{
    for (uint32_t i = 0; i < r->n_src; i++)
        free(r->src[i]);
    free(r->src);
    for (uint32_t i = 0; i < r->n_names; i++)
        free(r->names[i].name);
    free(r->names);
    free(r->sep);
    free(r->target);
    free(r->repl);
    re_free(r->re);
}

/* What a rule does, as bytes: equal serialisations behave the same. */
static uint64_t rule_hash(const struct rule *r, const char *regex)
{
    struct buf b = BUF_INIT;
    (void) buf_printf(&b, "%d|%u|", (int) r->action, r->n_src);
    for (uint32_t i = 0; i < r->n_src; i++)
        (void) buf_append(&b, r->src[i], strlen(r->src[i]) + 1);
    (void) buf_append(&b, r->sep, strlen(r->sep) + 1);
    (void) buf_append(&b, regex, strlen(regex) + 1);
    (void) buf_append(&b, r->target, strlen(r->target) + 1);
    (void) buf_append(&b, r->repl, strlen(r->repl) + 1);
    (void) buf_printf(&b, "%" PRIu64, r->modulus);
    uint64_t h = hash_bytes(b.p, b.len);
    buf_free(&b);
    return h;
}

int scrape_relabel_new(scrape_relabel **ret, struct err *e)
{
    scrape_relabel *rs = calloc(1, sizeof *rs);
    if (!rs)
        return err_set(e, -ENOMEM, "out of memory");
    atomic_init(&rs->refs, 1);
    *ret = rs;
    return 0;
}

int scrape_relabel_add(scrape_relabel *rs, const struct scrape_relabel_rule *in,
                       const char **ret_key, struct err *e)
{
    const char *key_unused;
    const char **key = ret_key ? ret_key : &key_unused;
    int r = check(in, key, e);
    if (r < 0)
        return r;
    *key = NULL;
    if (rs->n == rs->cap) {
        uint32_t cap = rs->cap ? rs->cap * 2 : 4;
        struct rule *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return err_set(e, -ENOMEM, "out of memory");
        rs->v = v;
        rs->cap = cap;
    }
    const char *regex = in->regex ? in->regex : "(.*)";
    struct rule *ru = &rs->v[rs->n];
    struct group_name names[RELABEL_MAX_GROUPS];
    *ru = (struct rule){
        .action = in->action,
        .sep = strdup(in->separator ? in->separator : ";"),
        .target = strdup(in->target_label ? in->target_label : ""),
        .repl = strdup(in->replacement ? in->replacement : "$1"),
        .modulus = in->modulus,
    };
    ru->src = calloc(in->n_source_labels ? in->n_source_labels : 1, sizeof *ru->src);
    if (!ru->sep || !ru->target || !ru->repl || !ru->src)
        goto oom;
    for (; ru->n_src < in->n_source_labels; ru->n_src++)
        if (!(ru->src[ru->n_src] = strdup(in->source_labels[ru->n_src])))
            goto oom;
    if ((r = re_compile(regex, strlen(regex), &ru->re, e)) < 0) {
        rule_done(ru);
        *key = "regex";
        return r;
    }
    uint32_t nn = 0;
    int groups = scan_groups(regex, strlen(regex), names, &nn);
    ru->names = nn ? malloc(nn * sizeof *ru->names) : NULL;
    if (groups < 0 || (nn && !ru->names)) {
        for (uint32_t i = 0; i < nn; i++)
            free(names[i].name);
        goto oom;
    }
    if (nn)
        memcpy(ru->names, names, nn * sizeof *names);
    ru->n_names = nn;
    if (groups >= RELABEL_MAX_GROUPS &&
        (in->action == SCRAPE_RELABEL_REPLACE || in->action == SCRAPE_RELABEL_LABELMAP)) {
        rule_done(ru);
        *key = "regex";
        return err_set(e, ERR_PARSE, "regex has %d capture groups; ember expands at most %d",
                       groups, RELABEL_MAX_GROUPS - 1);
    }
    rs->hash = hash_mix(rs->hash ^ rule_hash(ru, regex));
    rs->n++;
    return 0;
oom:
    rule_done(ru);
    return err_set(e, -ENOMEM, "out of memory");
}

uint32_t scrape_relabel_count(const scrape_relabel *rs)
{
    return rs ? rs->n : 0;
}

uint64_t scrape_relabel_hash(const scrape_relabel *rs)
{
    return rs ? rs->hash : 0;
}

scrape_relabel *scrape_relabel_ref(scrape_relabel *rs)
{
    if (rs)
        atomic_fetch_add_explicit(&rs->refs, 1, memory_order_relaxed);
    return rs;
}

void scrape_relabel_unref(scrape_relabel *rs)
{
    if (!rs || atomic_fetch_sub_explicit(&rs->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < rs->n; i++)
        rule_done(&rs->v[i]);
    free(rs->v);
    free(rs);
}

/* ---- applying: a name-sorted working set, Prometheus' labels.Builder ---- */

struct lb {
    struct arena *a;
    struct label *v;
    uint32_t n, cap;
};

/* Index of name, or where it would go (*found 0). */
static uint32_t lb_find(const struct lb *b, const char *name, int *found)
{
    uint32_t lo = 0, hi = b->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->v[mid].name, name);
        if (c == 0)
            return *found = 1, mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static const char *lb_get(const struct lb *b, const char *name)
{
    int found;
    uint32_t i = lb_find(b, name, &found);
    return found ? b->v[i].value : "";
}

static void lb_del(struct lb *b, const char *name)
{
    int found;
    uint32_t i = lb_find(b, name, &found);
    if (found) {
        memmove(b->v + i, b->v + i + 1, (b->n - i - 1) * sizeof *b->v);
        b->n--;
    }
}

/* Sets name to value; an empty value deletes. The strings are kept, not copied. */
static int lb_set(struct lb *b, const char *name, const char *value)
{
    int found;
    if (!*value)
        return lb_del(b, name), 0;
    uint32_t i = lb_find(b, name, &found);
    if (found)
        return b->v[i].value = value, 0;
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 16;
        struct label *v = arena_alloc(b->a, cap * sizeof *v);
        if (!v)
            return arena_over_cap(b->a) ? ERR_LIMIT : -ENOMEM;
        if (b->n)
            memcpy(v, b->v, b->n * sizeof *v);
        b->v = v;
        b->cap = cap;
    }
    memmove(b->v + i + 1, b->v + i, (b->n - i) * sizeof *b->v);
    b->v[i] = (struct label){name, value};
    b->n++;
    return 0;
}

static int oom_code(struct arena *a)
{
    return arena_over_cap(a) ? ERR_LIMIT : -ENOMEM;
}

/* The source label values joined by the separator. */
static const char *join_sources(struct lb *b, const struct rule *r)
{
    if (r->n_src == 1)
        return lb_get(b, r->src[0]);
    size_t n = 0, sl = strlen(r->sep);
    for (uint32_t i = 0; i < r->n_src; i++)
        n += strlen(lb_get(b, r->src[i])) + (i ? sl : 0);
    char *out = arena_alloc(b->a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (uint32_t i = 0; i < r->n_src; i++) {
        const char *v = lb_get(b, r->src[i]);
        size_t vl = strlen(v);
        if (i)
            memcpy(out + o, r->sep, sl), o += sl;
        memcpy(out + o, v, vl), o += vl;
    }
    out[o] = '\0';
    return out;
}

/* A copy of the working set, for actions that iterate while changing it. */
static struct label *lb_snapshot(struct lb *b)
{
    struct label *v = arena_alloc(b->a, (b->n ? b->n : 1) * sizeof *v);
    if (v && b->n)
        memcpy(v, b->v, b->n * sizeof *v);
    return v;
}

/* One rule: 1 keep, 0 drop, < 0 arena full. */
static int apply_rule(const struct rule *r, struct lb *b)
{
    long ov[2 * RELABEL_MAX_GROUPS];
    const char *val = join_sources(b, r);
    if (!val)
        return oom_code(b->a);
    switch (r->action) {
    case SCRAPE_RELABEL_DROP:
        return !re_match(r->re, val, strlen(val));
    case SCRAPE_RELABEL_KEEP:
        return re_match(r->re, val, strlen(val));
    case SCRAPE_RELABEL_DROPEQUAL:
        return strcmp(lb_get(b, r->target), val) != 0;
    case SCRAPE_RELABEL_KEEPEQUAL:
        return strcmp(lb_get(b, r->target), val) == 0;
    case SCRAPE_RELABEL_REPLACE: {
        int n_ov = re_match_groups(r->re, val, strlen(val), ov, RELABEL_MAX_GROUPS);
        if (n_ov <= 0)
            return 1;
        const char *target = expand(b->a, r, r->target, val, ov, n_ov);
        if (!target)
            return oom_code(b->a);
        if (!name_valid(target))
            return 1;
        const char *res = expand(b->a, r, r->repl, val, ov, n_ov);
        if (!res)
            return oom_code(b->a);
        return lb_set(b, target, res) < 0 ? oom_code(b->a) : 1;
    }
    case SCRAPE_RELABEL_LOWERCASE:
    case SCRAPE_RELABEL_UPPERCASE: {
        const char *v = scrape_relabel_text_case(b->a, val,
                                                 r->action == SCRAPE_RELABEL_UPPERCASE);
        if (!v || lb_set(b, r->target, v) < 0)
            return oom_code(b->a);
        return 1;
    }
    case SCRAPE_RELABEL_HASHMOD: {
        unsigned char d[16];
        uint64_t h = 0;
        scrape_relabel_text_md5(val, strlen(val), d);
        for (int i = 8; i < 16; i++)
            h = h << 8 | d[i];
        char *v = arena_printf(b->a, "%" PRIu64, h % r->modulus);
        if (!v || lb_set(b, r->target, v) < 0)
            return oom_code(b->a);
        return 1;
    }
    case SCRAPE_RELABEL_LABELMAP:
    case SCRAPE_RELABEL_LABELDROP:
    case SCRAPE_RELABEL_LABELKEEP: {
        uint32_t n = b->n;
        struct label *snap = lb_snapshot(b);
        if (!snap)
            return oom_code(b->a);
        for (uint32_t i = 0; i < n; i++) {
            const char *name = snap[i].name;
            size_t nl = strlen(name);
            if (r->action == SCRAPE_RELABEL_LABELMAP) {
                int n_ov = re_match_groups(r->re, name, nl, ov, RELABEL_MAX_GROUPS);
                if (n_ov <= 0)
                    continue;
                const char *to = expand(b->a, r, r->repl, name, ov, n_ov);
                if (!to || lb_set(b, to, snap[i].value) < 0)
                    return oom_code(b->a);
            } else if (re_match(r->re, name, nl) == (r->action == SCRAPE_RELABEL_LABELDROP)) {
                lb_del(b, name);
            }
        }
        return 1;
    }
    case _SCRAPE_RELABEL_MAX:
        break;
    }
    (void) NEVER(1); /* check() accepts only the actions above */
    return 1;
}

int scrape_relabel_apply(const scrape_relabel *rs, struct arena *a, const struct labels *ls,
                         struct labels *ret)
{
    if (!rs || rs->n == 0)
        return *ret = *ls, 1;
    struct lb b = {.a = a, .cap = ls->n + 4};
    if (!(b.v = arena_alloc(a, b.cap * sizeof *b.v)))
        return oom_code(a);
    for (uint32_t i = 0; i < ls->n; i++)
        if (ls->v[i].value[0])
            b.v[b.n++] = ls->v[i];
    for (uint32_t i = 0; i < rs->n; i++) {
        int r = apply_rule(&rs->v[i], &b);
        if (r <= 0)
            return r;
    }
    *ret = (struct labels){b.v, b.n};
    return 1;
}
