/* tsdb/base/num.c — shortest round-trip float formatting in Go's styles, strict parsing,
 * durations. The shortest digits are the fewest that strtod reads back bit-exactly (see
 * shortest_digits and shortest.c); the C library parses in the "C" locale because ember never
 * calls setlocale(). */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Shortest decimal digits of finite v > 0 in dig (NUL-terminated, no dot, no trailing zeros) and
 * the exponent e such that v = d1.d2d3... * 10^e. Returns the digit count. Integers below 2^53
 * are their own shortest digits (neighbouring doubles are at most 1 apart, so no shorter
 * decimal names the same double) and the commonest values: they skip Ryū (shortest.c). */
static int shortest_digits(double v, char *dig, int *ret_e)
{
    if (!(v < 9007199254740992.0 && v == floor(v)))
        return num_shortest_digits(v, dig, ret_e);
    char tmp[24], *end = tmp + sizeof tmp, *p = end;
    uint64_t m = (uint64_t) v;
    do
        *--p = (char) ('0' + m % 10);
    while ((m /= 10) != 0);
    int nd = (int) (end - p);
    *ret_e = nd - 1;
    while (nd > 1 && p[nd - 1] == '0')
        nd--;
    memcpy(dig, p, (size_t) nd);
    dig[nd] = '\0';
    return nd;
}

static size_t fmt_special(char *out, double v)
{
    const char *s = isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

/* Go 'e' with shortest digits: d[.ddd]e±XX (at least two exponent digits). */
static size_t fmt_e(char *out, const char *dig, int nd, int e)
{
    size_t pos = 0;
    out[pos++] = dig[0];
    if (nd > 1) {
        out[pos++] = '.';
        memcpy(out + pos, dig + 1, (size_t) nd - 1);
        pos += (size_t) nd - 1;
    }
    pos += (size_t) sprintf(out + pos, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    return pos;
}

/* Go 'f' with shortest digits: no exponent. */
static size_t fmt_f(char *out, const char *dig, int nd, int e)
{
    size_t pos = 0;
    if (e < 0) {
        out[pos++] = '0';
        out[pos++] = '.';
        for (int i = 0; i < -e - 1; i++)
            out[pos++] = '0';
        memcpy(out + pos, dig, (size_t) nd);
        pos += (size_t) nd;
    } else {
        for (int i = 0; i <= e; i++)
            out[pos++] = i < nd ? dig[i] : '0';
        if (nd > e + 1) {
            out[pos++] = '.';
            memcpy(out + pos, dig + e + 1, (size_t) (nd - e - 1));
            pos += (size_t) (nd - e - 1);
        }
    }
    return pos;
}

size_t num_format(char *out, double v, char mode)
{
    if (!isfinite(v))
        return fmt_special(out, v);
    size_t pos = 0;
    if (signbit(v)) {
        out[pos++] = '-';
        v = -v;
    }
    if (v == 0) {
        if (mode == 'e') {
            memcpy(out + pos, "0e+00", 6);
            return pos + 5;
        }
        out[pos++] = '0';
        out[pos] = '\0';
        return pos;
    }
    char dig[24];
    int e;
    int nd = shortest_digits(v, dig, &e);
    if (mode == 'g') /* Go's shortest %g switches to %e when exp < -4 || exp >= 6 */
        mode = (e < -4 || e >= 6) ? 'e' : 'f';
    pos += mode == 'e' ? fmt_e(out + pos, dig, nd, e) : fmt_f(out + pos, dig, nd, e);
    out[pos] = '\0';
    return pos;
}

size_t num_format_json(char *out, double v)
{
    double a = fabs(v);
    /* Whole numbers below 2^53 (counters, gauges such as up): their shortest digits are the
     * integer's own, since neighbouring doubles are at most 1 apart, so they are printed as an
     * integer without searching for digits. Zero keeps the general path (-0). */
    if (a >= 1 && a < 9007199254740992.0 && v == (double) (int64_t) v) {
        char tmp[24], *end = tmp + sizeof tmp, *p = end;
        uint64_t m = (uint64_t) a;
        do
            *--p = (char) ('0' + m % 10);
        while ((m /= 10) != 0);
        size_t pos = 0;
        if (v < 0)
            out[pos++] = '-';
        memcpy(out + pos, p, (size_t) (end - p));
        pos += (size_t) (end - p);
        out[pos] = '\0';
        return pos;
    }
    if (isfinite(v) && a != 0 && (a < 1e-6 || a >= 1e21))
        return num_format(out, v, 'e');
    return num_format(out, v, 'f');
}

/* Clinger's fast path (W. D. Clinger, "How to read floating point numbers accurately", PLDI
 * 1990): a decimal is w * 10^q. When w <= 2^53 and |q| <= 22, both w and 10^|q| are exact doubles
 * (5^22 < 2^53), so the single IEEE multiply or divide w * 10^q rounds the exact value once: the
 * correctly rounded double, which is what glibc's strtod returns (in any rounding mode, as both
 * round in the current one; ember never changes it). w * 1e22 < 2^127 and w / 1e22 >= 1e-22 stay
 * far from overflow and subnormals. Needs doubles evaluated as doubles (FLT_EVAL_METHOD 0: SSE2,
 * not x87's extended precision, which would round twice); elsewhere every decimal falls back. */
#if FLT_EVAL_METHOD == 0
#define NUM_DECIMAL_FAST_PATH 1
#else
#define NUM_DECIMAL_FAST_PATH 0
#endif

const double num_exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int is_digit(char c)
{
    return (unsigned) (c - '0') < 10;
}

/* Appends the digits at p to w and returns their end. Past 19 digits w wraps: callers count. */
static const char *add_digits(const char *p, const char *end, uint64_t *w)
{
    uint64_t v = *w;
    for (; p < end && is_digit(*p); p++)
        v = v * 10 + (uint64_t) (*p - '0');
    *w = v;
    return p;
}

size_t num_scan_decimal(const char *s, size_t n, double *ret)
{
    if (!NUM_DECIMAL_FAST_PATH)
        return 0;
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    /* The value is w * 10^q; nd counts w's digits from the first non-zero one. */
    uint64_t w = 0;
    int64_t q = 0;
    const char *first = p;
    while (p < end && *p == '0')
        p++;
    const char *sig = p;
    p = add_digits(p, end, &w);
    size_t nd = (size_t) (p - sig);
    int any = p > first; /* a mantissa digit at all */
    if (p < end && *p == '.') {
        const char *frac = ++p;
        if (nd == 0) /* 0.000ddd: still leading zeros */
            while (p < end && *p == '0')
                p++;
        sig = p;
        p = add_digits(p, end, &w);
        nd += (size_t) (p - sig);
        q = -(int64_t) (p - frac);
        any |= p > frac;
    }
    if (!any || nd > 19) /* 19 digits cannot wrap w; more are past 2^53 anyway */
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end || !is_digit(*p))
            return 0; /* "1e", "1e+": not the end of a decimal, so strtod would stop earlier */
        int64_t x = 0;
        for (; p < end && is_digit(*p); p++)
            if (x < 100000) /* saturates: anything this large is out of the fast range */
                x = x * 10 + (*p - '0');
        q += eneg ? -x : x;
    }
    double v;
    if (w == 0) {
        v = 0; /* whatever the exponent: strtod gives a zero, and no ERANGE */
    } else {
        if (w > (UINT64_C(1) << 53) || q < -22 || q > 22)
            return 0;
        v = (double) w; /* exact: w <= 2^53 */
        v = q < 0 ? v / num_exact_pow10[-q] : v * num_exact_pow10[q];
    }
    *ret = neg ? -v : v;
    return (size_t) (p - s);
}

int num_parse_decimal(const char *s, size_t n, double *ret)
{
    double v;
    if (n == 0 || num_scan_decimal(s, n, &v) != n)
        return -1;
    *ret = v;
    return 0;
}

int num_parse_float(const char *s, size_t n, double *ret)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    if (num_parse_decimal(s, n, ret) == 0)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    const char *t = tmp;
    int neg = 0;
    if (*t == '+' || *t == '-') {
        neg = *t == '-';
        t++;
    }
    if ((*t | 32) == 'n' && strcasecmp(t, "nan") == 0) {
        *ret = (double) NAN;
        return 0;
    }
    if ((*t | 32) == 'i' && (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0)) {
        *ret = neg ? -(double) INFINITY : (double) INFINITY;
        return 0;
    }
    /* strtod would take "nan(...)", leading spaces and "infinity" spellings: only digits,
     * dot, exponent and hex forms get this far. */
    for (const char *c = t; *c; c++)
        if (!(isdigit((unsigned char) *c) || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' ||
              *c == '-' || *c == 'x' || *c == 'X' || *c == 'p' || *c == 'P' ||
              ((*c | 32) >= 'a' && (*c | 32) <= 'f')))
            return -1;
    if (!*t)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end != '\0' || end == tmp)
        return -1;
    *ret = v; /* ERANGE: strtod gives ±HUGE_VAL or 0, as Go's ParseFloat value does */
    return 0;
}

int num_parse_int64(const char *s, size_t n, int64_t *ret)
{
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i++;
    }
    if (i == n)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t) (s[i] - '0'), &v))
            return -1;
    }
    if (neg) {
        if (v > (uint64_t) INT64_MAX + 1)
            return -1;
        *ret = (int64_t) (0 - v);
    } else {
        if (v > INT64_MAX)
            return -1;
        *ret = (int64_t) v;
    }
    return 0;
}

static const struct {
    const char *unit;
    int64_t ms;
} duration_units[] = {
    {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
    {"ms", 1},
};
#define N_UNITS (sizeof duration_units / sizeof duration_units[0])

int duration_parse(const char *s, size_t n, int64_t *ret_ms)
{
    size_t i = 0;
    int64_t total = 0;
    size_t last_unit = 0; /* units must strictly decrease */
    int any = 0;
    if (n == 0)
        return -1;
    while (i < n) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int64_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
                return -1;
            i++;
        }
        size_t u;
        for (u = 0; u < N_UNITS; u++) {
            size_t ul = strlen(duration_units[u].unit);
            if (i + ul <= n && memcmp(s + i, duration_units[u].unit, ul) == 0 &&
                !(ul == 1 && u == 4 && i + 1 < n && s[i + 1] == 's'))
                break;
        }
        if (u == N_UNITS || (any && u <= last_unit))
            return -1;
        int64_t part;
        if (__builtin_mul_overflow(v, duration_units[u].ms, &part) ||
            __builtin_add_overflow(total, part, &total))
            return -1;
        i += strlen(duration_units[u].unit);
        last_unit = u;
        any = 1;
    }
    *ret_ms = total;
    return 0;
}

size_t duration_format(char *out, size_t cap, int64_t ms)
{
    if (cap == 0)
        return 0;
    if (ms == 0)
        return (size_t) snprintf(out, cap, "0s");
    size_t pos = 0;
    if (ms < 0) {
        pos += (size_t) snprintf(out, cap, "-");
        ms = -ms;
    }
    for (size_t u = 0; u < N_UNITS && pos < cap; u++) {
        int64_t q = ms / duration_units[u].ms;
        /* Prometheus writes years and weeks only when nothing remains ("15d", not "2w1d") */
        if (u < 2 && ms % duration_units[u].ms != 0)
            continue;
        if (q) {
            pos += (size_t) snprintf(out + pos, cap - pos, "%lld%s", (long long) q,
                                     duration_units[u].unit);
            ms -= q * duration_units[u].ms;
        }
    }
    return pos < cap ? pos : cap - 1;
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t time_mono_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double num_stale_nan(void)
{
    uint64_t bits = STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int num_is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits == STALE_NAN_BITS;
}
