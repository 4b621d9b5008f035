/* rules/template_fmt.c — how template values look: Go's fmt.Sprint of each value type, field
 * access, truth, type names, printf's verbs and the time.Time String() layout, matching what
 * Prometheus (Go) prints byte for byte for the values a rule template can hold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template_impl.h"

static const char data_type[] = "struct { Labels map[string]string; ExternalLabels "
                                "map[string]string; ExternalURL string; Value float64 }";

const char *tmpl_type_name(const struct tv *v)
{
    switch (v->k) {
    case TV_NIL: return "<nil>";
    case TV_BOOL: return "bool";
    case TV_INT: return "int";
    case TV_FLOAT: return "float64";
    case TV_STRING: return "string";
    case TV_LABELS: return "map[string]string";
    case TV_MAP: return "map[string]interface {}";
    case TV_SAMPLE: return "*template.sample";
    case TV_VECTOR: return "template.queryResult";
    case TV_DATA: return data_type;
    case TV_TIME: return "*time.Time";
    }
    return "?";
}

int tmpl_truth(const struct tv *v)
{
    switch (v->k) {
    case TV_NIL: return 0;
    case TV_BOOL: return v->b;
    case TV_INT: return v->i != 0;
    case TV_FLOAT: return v->f != 0; /* NaN is true, as in Go */
    case TV_STRING: return v->s.n > 0;
    case TV_LABELS: return v->labels->n > 0;
    case TV_MAP: return v->map.n > 0;
    case TV_SAMPLE: return v->sample != NULL;
    case TV_VECTOR: return v->vec.n > 0;
    case TV_DATA: case TV_TIME: return 1;
    }
    return 0;
}

int tmpl_fmt_g(char *out, size_t cap, double v, int prec)
{
    if (isnan(v))
        return snprintf(out, cap, "NaN");
    if (isinf(v))
        return snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    /* Go's %.Ng picks %e exactly as C does (exp < -4 || exp >= N) and also writes at least two
     * exponent digits, so C's output is Go's for finite values. */
    return snprintf(out, cap, "%.*g", prec, v);
}

/* Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 -0700 MST", fraction trimmed. */
static void format_time(struct tmpl_exec *x, struct tmpl_sbuf *b, int64_t ms)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    /* civil_from_days (Howard Hinnant's algorithm), proleptic Gregorian */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char fr[8] = "";
    if (frac) {
        snprintf(fr, sizeof fr, ".%03d", (int) frac);
        for (size_t n = strlen(fr); fr[n - 1] == '0'; n--)
            fr[n - 1] = 0;
    }
    tmpl_sbuf_printf(x, b, "%s%04lld-%02d-%02d %02d:%02d:%02d%s +0000 UTC", y < 0 ? "-" : "",
                     (long long) llabs(y), (int) m, (int) d, (int) (sod / 3600),
                     (int) (sod / 60 % 60), (int) (sod % 60), fr);
}

static void print_labels(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct labels *ls)
{
    tmpl_sbuf_add(x, b, "map[", 4);
    for (uint32_t i = 0; i < ls->n; i++)
        tmpl_sbuf_printf(x, b, "%s%s:%s", i ? " " : "", ls->v[i].name, ls->v[i].value);
    tmpl_sbuf_add(x, b, "]", 1);
}

static void print_float(struct tmpl_exec *x, struct tmpl_sbuf *b, double f)
{
    char tmp[NUM_FLOAT_MAX];
    size_t n = num_format(tmp, f, 'g'); /* Go's %v: shortest %g, %e when exp < -4 or >= 6 */
    tmpl_sbuf_add(x, b, tmp, n);
}

void tmpl_print_value(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct tv *v)
{
    switch (v->k) {
    case TV_NIL: tmpl_sbuf_add(x, b, "<no value>", 10); return;
    case TV_BOOL: tmpl_sbuf_add(x, b, v->b ? "true" : "false", v->b ? 4 : 5); return;
    case TV_INT: tmpl_sbuf_printf(x, b, "%lld", (long long) v->i); return;
    case TV_FLOAT: print_float(x, b, v->f); return;
    case TV_STRING: tmpl_sbuf_add(x, b, v->s.p, v->s.n); return;
    case TV_LABELS: print_labels(x, b, v->labels); return;
    case TV_MAP:
        tmpl_sbuf_add(x, b, "map[", 4);
        for (size_t i = 0; i < v->map.n; i++) {
            tmpl_sbuf_printf(x, b, "%s%s:", i ? " " : "", v->map.v[i].key);
            tmpl_print_value(x, b, &v->map.v[i].val);
        }
        tmpl_sbuf_add(x, b, "]", 1);
        return;
    case TV_SAMPLE:
        if (!v->sample) {
            tmpl_sbuf_add(x, b, "<nil>", 5);
            return;
        }
        tmpl_sbuf_add(x, b, "{", 1);
        print_labels(x, b, &v->sample->labels);
        tmpl_sbuf_add(x, b, " ", 1);
        print_float(x, b, v->sample->value);
        tmpl_sbuf_add(x, b, "}", 1);
        return;
    case TV_VECTOR:
        /* Go prints the sample pointers' addresses here; ember prints the samples. */
        tmpl_sbuf_add(x, b, "[", 1);
        for (size_t i = 0; i < v->vec.n; i++) {
            struct tv s = {.k = TV_SAMPLE, .sample = &v->vec.v[i]};
            if (i)
                tmpl_sbuf_add(x, b, " ", 1);
            tmpl_print_value(x, b, &s);
        }
        tmpl_sbuf_add(x, b, "]", 1);
        return;
    case TV_DATA: {
        static const struct labels none;
        const struct tmpl_data *d = x->d;
        tmpl_sbuf_add(x, b, "{", 1);
        print_labels(x, b, d->labels ? d->labels : &none);
        tmpl_sbuf_add(x, b, " ", 1);
        print_labels(x, b, d->external_labels ? d->external_labels : &none);
        tmpl_sbuf_printf(x, b, " %s ", d->external_url ? d->external_url : "");
        print_float(x, b, d->value);
        tmpl_sbuf_add(x, b, "}", 1);
        return;
    }
    case TV_TIME: format_time(x, b, v->ms); return;
    }
}

struct tv tmpl_field(struct tmpl_exec *x, const struct tv *v, const char *name)
{
    static const struct labels none;
    switch (v->k) {
    case TV_NIL: return *v; /* missingkey=zero: a missing map entry's fields are missing too */
    case TV_LABELS: {
        const char *s = labels_get(v->labels, name);
        return tmpl_str(s ? s : "", s ? strlen(s) : 0);
    }
    case TV_MAP:
        for (size_t i = 0; i < v->map.n; i++)
            if (!strcmp(v->map.v[i].key, name))
                return v->map.v[i].val;
        return (struct tv){.k = TV_NIL};
    case TV_SAMPLE:
        if (!v->sample)
            tmpl_exec_fail(x, ERR_EXEC, "nil pointer evaluating *template.sample.%s", name);
        if (!strcmp(name, "Labels"))
            return (struct tv){.k = TV_LABELS, .labels = &v->sample->labels};
        if (!strcmp(name, "Value"))
            return (struct tv){.k = TV_FLOAT, .f = v->sample->value};
        break;
    case TV_DATA:
        if (!strcmp(name, "Labels"))
            return (struct tv){.k = TV_LABELS, .labels = x->d->labels ? x->d->labels : &none};
        if (!strcmp(name, "ExternalLabels"))
            return (struct tv){.k = TV_LABELS,
                               .labels = x->d->external_labels ? x->d->external_labels : &none};
        if (!strcmp(name, "ExternalURL")) {
            const char *u = x->d->external_url ? x->d->external_url : "";
            return tmpl_str(u, strlen(u));
        }
        if (!strcmp(name, "Value"))
            return (struct tv){.k = TV_FLOAT, .f = x->d->value};
        break;
    default:
        break;
    }
    tmpl_exec_fail(x, ERR_EXEC, "can't evaluate field %s in type %s", name, tmpl_type_name(v));
}

/* ---- printf ---- */

struct spec {
    int minus, plus, sharp, zero, space;
    int wid, prec; /* -1: absent */
};

static size_t runes(const char *s, size_t n)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += ((unsigned char) s[i] & 0xc0) != 0x80;
    return r;
}

/* Pads s to the width with spaces (left or right); zero padding is the caller's job. */
static void pad(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct spec *sp, const char *s,
                size_t n)
{
    size_t w = runes(s, n), fill = sp->wid > 0 && (size_t) sp->wid > w ? (size_t) sp->wid - w : 0;
    static const char spaces[] = "                                ";
    for (int pass = 0; pass < 2; pass++) {
        if (pass == (sp->minus ? 0 : 1))
            tmpl_sbuf_add(x, b, s, n);
        else
            for (size_t k = fill; k > 0;) {
                size_t c = k < sizeof spaces - 1 ? k : sizeof spaces - 1;
                tmpl_sbuf_add(x, b, spaces, c);
                k -= c;
            }
    }
}

static void fmt_int(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct spec *sp, int64_t v,
                    char verb)
{
    int base = verb == 'b' ? 2 : verb == 'o' || verb == 'O' ? 8 : verb == 'x' || verb == 'X' ? 16
                                                                                            : 10;
    const char *dig = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
    char tmp[160];
    size_t i = sizeof tmp;
    int prec = sp->prec;
    if (prec < 0 && sp->zero && sp->wid > 0 && !sp->minus)
        prec = sp->wid - (v < 0 || sp->plus || sp->space); /* Go: zero padding is precision */
    if (prec > 100)
        prec = 100;
    if (sp->prec == 0 && u == 0) { /* Go: no digits, sign or prefix, only the width in spaces */
        pad(x, b, sp, "", 0);
        return;
    }
    do {
        tmp[--i] = dig[u % (uint64_t) base];
        u /= (uint64_t) base;
    } while (u);
    while ((int) (sizeof tmp - i) < prec)
        tmp[--i] = '0';
    if (sp->sharp || verb == 'O') {
        if (base == 16) {
            tmp[--i] = verb;
            tmp[--i] = '0';
        } else if (base == 8 && tmp[i] != '0') {
            tmp[--i] = verb == 'O' ? 'o' : '0';
            if (verb == 'O')
                tmp[--i] = '0';
        } else if (base == 2) {
            tmp[--i] = 'b';
            tmp[--i] = '0';
        }
    }
    if (v < 0)
        tmp[--i] = '-';
    else if (sp->plus)
        tmp[--i] = '+';
    else if (sp->space)
        tmp[--i] = ' ';
    pad(x, b, sp, tmp + i, sizeof tmp - i);
}

static void fmt_float(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct spec *sp, double v,
                      char verb)
{
    char tmp[400];
    if (isnan(v) || isinf(v)) { /* Go: never zero-padded; the sign of +Inf always shows */
        const char *s = isnan(v) ? (sp->plus ? "+NaN" : sp->space ? " NaN" : "NaN")
                                 : v > 0 ? (sp->space && !sp->plus ? " Inf" : "+Inf") : "-Inf";
        pad(x, b, sp, s, strlen(s));
        return;
    }
    size_t n;
    if ((verb == 'v' || verb == 'g' || verb == 'G') && sp->prec < 0) {
        n = num_format(tmp + 1, v, 'g'); /* Go's shortest %g, not C's 6 digits */
        if (verb == 'G')
            for (size_t i = 1; i <= n; i++)
                if (tmp[i] == 'e')
                    tmp[i] = 'E';
        char *s = tmp + 1;
        if (s[0] != '-' && (sp->plus || sp->space)) {
            *--s = sp->plus ? '+' : ' ';
            n++;
        }
        if (sp->zero && !sp->minus && sp->wid > 0 && (size_t) sp->wid > n && sp->wid < 300) {
            size_t sign = s[0] == '-' || s[0] == '+' || s[0] == ' ', z = (size_t) sp->wid - n;
            char t2[400];
            memcpy(t2, s, sign);
            memset(t2 + sign, '0', z);
            memcpy(t2 + sign + z, s + sign, n - sign);
            pad(x, b, sp, t2, n + z);
            return;
        }
        pad(x, b, sp, s, n);
        return;
    }
    char f[32];
    int prec = sp->prec < 0 ? 6 : sp->prec > 100 ? 100 : sp->prec;
    int wid = sp->wid > 300 ? 300 : sp->wid;
    snprintf(f, sizeof f, "%%%s%s%s%s%s*.*%c", sp->minus ? "-" : "", sp->plus ? "+" : "",
             sp->sharp ? "#" : "", sp->zero ? "0" : "", sp->space ? " " : "",
             verb == 'v' ? 'g' : verb == 'F' ? 'f' : verb);
    n = (size_t) snprintf(tmp, sizeof tmp, f, wid < 0 ? 0 : wid, prec, v);
    if (n >= sizeof tmp) { /* %f of 1e300: too long for the stack buffer */
        struct tmpl_sbuf big = {0};
        tmpl_sbuf_printf(x, &big, f, wid < 0 ? 0 : wid, prec, v);
        pad(x, b, sp, big.p, big.len);
        return;
    }
    pad(x, b, sp, tmp, n);
}

static void fmt_quote(struct tmpl_exec *x, struct tmpl_sbuf *b, const char *s, size_t n)
{
    tmpl_sbuf_add(x, b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t'
                      ? "\\t" : c == '\r' ? "\\r" : c == '\a' ? "\\a" : c == '\b' ? "\\b"
                      : c == '\f' ? "\\f" : c == '\v' ? "\\v" : NULL;
        if (e)
            tmpl_sbuf_add(x, b, e, 2);
        else if (c < 0x20 || c == 0x7f)
            tmpl_sbuf_printf(x, b, "\\x%02x", c);
        else
            tmpl_sbuf_add(x, b, s + i, 1);
    }
    tmpl_sbuf_add(x, b, "\"", 1);
}

static void bad_verb(struct tmpl_exec *x, struct tmpl_sbuf *b, char verb, const struct tv *v)
{
    tmpl_sbuf_printf(x, b, "%%!%c(", verb);
    if (v->k == TV_NIL) {
        tmpl_sbuf_add(x, b, "<nil>)", 6);
        return;
    }
    tmpl_sbuf_printf(x, b, "%s=", tmpl_type_name(v));
    tmpl_print_value(x, b, v);
    tmpl_sbuf_add(x, b, ")", 1);
}

static void fmt_arg(struct tmpl_exec *x, struct tmpl_sbuf *b, const struct spec *sp, char verb,
                    const struct tv *v)
{
    if (verb == 0) { /* a NUL verb: every strchr() below would match the terminator */
        bad_verb(x, b, verb, v);
        return;
    }
    if (verb == 'T') {
        const char *t = tmpl_type_name(v);
        pad(x, b, sp, t, strlen(t));
        return;
    }
    switch (v->k) {
    case TV_NIL:
        if (verb == 'v')
            pad(x, b, sp, "<nil>", 5);
        else
            bad_verb(x, b, verb, v);
        return;
    case TV_BOOL:
        if (verb == 'v' || verb == 't')
            pad(x, b, sp, v->b ? "true" : "false", v->b ? 4 : 5);
        else
            bad_verb(x, b, verb, v);
        return;
    case TV_INT:
        if (strchr("dvboOxX", verb)) {
            fmt_int(x, b, sp, v->i, verb == 'v' ? 'd' : verb);
        } else if (verb == 'c' && v->i >= 0 && v->i <= 0x10ffff) {
            char u[4];
            pad(x, b, sp, u, tmpl_put_utf8(u, (uint32_t) v->i));
        } else if (verb == 'U') {
            char u[32];
            int n = snprintf(u, sizeof u, "U+%04llX", (unsigned long long) v->i);
            pad(x, b, sp, u, (size_t) n);
        } else {
            bad_verb(x, b, verb, v);
        }
        return;
    case TV_FLOAT:
        if (strchr("veEfFgG", verb))
            fmt_float(x, b, sp, v->f, verb);
        else
            bad_verb(x, b, verb, v);
        return;
    case TV_STRING: {
        const char *s = v->s.p;
        size_t n = v->s.n;
        if (verb == 's' || verb == 'v') {
            if (sp->prec >= 0) { /* precision counts runes */
                size_t r = 0, i = 0;
                for (; i < n; i++)
                    if (((unsigned char) s[i] & 0xc0) != 0x80 && r++ == (size_t) sp->prec)
                        break;
                n = i;
            }
            pad(x, b, sp, s, n);
        } else if (verb == 'q') {
            struct tmpl_sbuf q = {0};
            fmt_quote(x, &q, s, n);
            pad(x, b, sp, q.p, q.len);
        } else if (verb == 'x' || verb == 'X') {
            struct tmpl_sbuf h = {0};
            for (size_t i = 0; i < n; i++)
                tmpl_sbuf_printf(x, &h, verb == 'x' ? "%02x" : "%02X", (unsigned char) s[i]);
            if (!h.p)
                tmpl_sbuf_add(x, &h, "", 0);
            pad(x, b, sp, h.p, h.len);
        } else {
            bad_verb(x, b, verb, v);
        }
        return;
    }
    default: { /* maps, samples, times: %v and %s print them as {{ }} does */
        struct tmpl_sbuf t = {0};
        tmpl_print_value(x, &t, v);
        pad(x, b, sp, t.p, t.len);
        return;
    }
    }
}

static int spec_num(const char *f, size_t fn, size_t *i)
{
    int v = 0;
    while (*i < fn && f[*i] >= '0' && f[*i] <= '9') {
        if (v < 1000000)
            v = v * 10 + (f[*i] - '0');
        (*i)++;
    }
    return v;
}

struct tv tmpl_sprintf(struct tmpl_exec *x, const char *f, size_t fn, const struct tv *args, int n)
{
    struct tmpl_sbuf b = {0};
    int ai = 0;
    for (size_t i = 0; i < fn;) {
        if (f[i] != '%') {
            size_t j = i;
            while (j < fn && f[j] != '%')
                j++;
            tmpl_sbuf_add(x, &b, f + i, j - i);
            i = j;
            continue;
        }
        i++;
        struct spec sp = {.wid = -1, .prec = -1};
        for (; i < fn && strchr("-+# 0", f[i]) && f[i]; i++) {
            sp.minus |= f[i] == '-';
            sp.plus |= f[i] == '+';
            sp.sharp |= f[i] == '#';
            sp.zero |= f[i] == '0';
            sp.space |= f[i] == ' ';
        }
        if (i < fn && f[i] == '*') {
            i++;
            if (ai < n && args[ai].k == TV_INT && llabs(args[ai].i) <= 1000000) {
                sp.wid = (int) args[ai].i;
                if (sp.wid < 0) {
                    sp.minus = 1;
                    sp.wid = -sp.wid;
                }
            } else {
                tmpl_sbuf_add(x, &b, "%!(BADWIDTH)", 12);
            }
            ai++;
        } else if (i < fn && f[i] >= '0' && f[i] <= '9') {
            sp.wid = spec_num(f, fn, &i);
        }
        if (i < fn && f[i] == '.') {
            i++;
            if (i < fn && f[i] == '*') {
                i++;
                if (ai < n && args[ai].k == TV_INT && args[ai].i >= 0 && args[ai].i <= 1000000)
                    sp.prec = (int) args[ai].i;
                else
                    tmpl_sbuf_add(x, &b, "%!(BADPREC)", 11);
                ai++;
            } else {
                sp.prec = spec_num(f, fn, &i);
            }
        }
        if (sp.minus)
            sp.zero = 0;
        if (i >= fn) {
            tmpl_sbuf_add(x, &b, "%!(NOVERB)", 10);
            break;
        }
        char verb = f[i++];
        if (verb == '%') {
            tmpl_sbuf_add(x, &b, "%", 1);
            continue;
        }
        if (ai >= n) {
            tmpl_sbuf_printf(x, &b, "%%!%c(MISSING)", verb);
            continue;
        }
        fmt_arg(x, &b, &sp, verb, &args[ai++]);
    }
    if (ai < n) {
        tmpl_sbuf_add(x, &b, "%!(EXTRA ", 9);
        for (; ai < n; ai++) {
            tmpl_sbuf_printf(x, &b, "%s=", tmpl_type_name(&args[ai]));
            tmpl_print_value(x, &b, &args[ai]);
            if (ai + 1 < n)
                tmpl_sbuf_add(x, &b, ", ", 2);
        }
        tmpl_sbuf_add(x, &b, ")", 1);
    }
    return tmpl_sbuf_value(x, &b);
}
