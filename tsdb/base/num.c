/* tsdb/base/num.c — shortest round-trip float formatting in Go's styles, strict parsing,
 * durations. The shortest digits are the fewest that strtod reads back bit-exactly (see
 * shortest_digits); the C library formats in the "C" locale because ember never calls
 * setlocale(). */
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

/* Whether the decimal dig[0..nd) * 10^(e - nd + 1) reads back as v. */
static int reads_back(const char *dig, int nd, int e, double v)
{
    char tmp[48];
    memcpy(tmp, dig, (size_t) nd);
    (void) snprintf(tmp + nd, sizeof tmp - (size_t) nd, "e%d", e - nd + 1);
    return strtod(tmp, NULL) == v;
}

/* Adds one unit in the last of nd digits; *e grows by one when that carries out (99 → 10). */
static void bump_last_digit(char *out, int nd, int *e)
{
    int i = nd - 1;
    for (; i >= 0 && out[i] == '9'; i--)
        out[i] = '0';
    if (i >= 0) {
        out[i]++;
    } else { /* all nines: 10^(e+1) */
        out[0] = '1';
        memset(out + 1, '0', (size_t) nd - 1);
        (*e)++;
    }
}

/* d17[0..17) rounded to nd digits into out; *e grows by one when rounding carries (9.99 → 10).
 * Returns 0, or -1 when the dropped digits are exactly 5000...: d17 is itself rounded, so that
 * tie cannot be settled from it. */
static int round_digits(const char *d17, int nd, char *out, int *e)
{
    memcpy(out, d17, (size_t) nd);
    if (nd == 17 || d17[nd] < '5')
        return 0;
    if (d17[nd] == '5') {
        int rest_zero = 1;
        for (int i = nd + 1; i < 17; i++)
            rest_zero &= d17[i] == '0';
        if (rest_zero)
            return -1;
    }
    bump_last_digit(out, nd, e);
    return 0;
}

/* Whether the shortest candidate with nd digits reads back as v; its digits and exponent in
 * out and *ret_e. Uses the 17 correctly rounded digits d17 (exponent e17) and asks the C library
 * for the rare tie that they cannot settle. */
static int candidate(double v, const char *d17, int e17, int nd, char *out, int *ret_e)
{
    *ret_e = e17;
    if (round_digits(d17, nd, out, ret_e) < 0) {
        char tmp[40];
        (void) snprintf(tmp, sizeof tmp, "%.*e", nd - 1, v);
        int k = 0;
        char *p = tmp;
        for (; *p && *p != 'e'; p++)
            if (*p != '.')
                out[k++] = *p;
        *ret_e = atoi(p + 1);
    }
    return reads_back(out, nd, *ret_e, v);
}

/* Exact shortest digits (Steele & White's free-format algorithm, "Dragon4") in 128-bit
 * integers, for non-integers in [2^-69, 2^53), where every quantity fits: v = r / s exactly, and
 * mlo / mhi are the distances to the midpoints with the neighbouring doubles, in units of 1/s.
 * Digits stop as soon as the digits so far, rounded, fall strictly inside those midpoints (or on
 * one when v's significand is even: strtod rounds half to even), picking the closer of the two
 * last-digit choices. Returns the digit count, or 0 when v is outside that range. */
__extension__ typedef unsigned __int128 u128;

/* The digit loop of dragon4_digits for an integer type T that holds 10 s: m is the distance to
 * the lower midpoint, the upper one is m << pow2. Returns the digit count, 0 if it runs away. */
#define DRAGON4_LOOP(T)                                                                           \
    static int dragon4_loop_##T(T r, T s, T m, int pow2, int even, char *dig)                     \
    {                                                                                             \
        for (int nd = 0; nd < 17;) {                                                              \
            r *= 10, m *= 10;                                                                     \
            int d = (int) (r / s); /* 0..9: r < 10 s */                                           \
            r -= (T) d * s;                                                                       \
            T mhi = m << pow2;                                                                    \
            int low = even ? r <= m : r < m;                                                      \
            int high = even ? r + mhi >= s : r + mhi > s;                                         \
            if (low && high)                                                                      \
                d += 2 * r > s || (2 * r == s && (d & 1));                                        \
            else if (high)                                                                        \
                d++; /* never to 10: the exponent fix-up excludes it */                           \
            dig[nd++] = (char) ('0' + d);                                                         \
            if (low || high)                                                                      \
                return nd;                                                                        \
        }                                                                                         \
        return 0; /* cannot happen for a double; do not trust this path if it does */            \
    }
DRAGON4_LOOP(uint64_t)
DRAGON4_LOOP(u128)
#undef DRAGON4_LOOP

static int dragon4_digits(double v, char *dig, int *ret_e)
{
    int bexp;
    double fr = frexp(v, &bexp); /* v = fr * 2^bexp, fr in [0.5, 1) */
    if (bexp < -68 || bexp > 53)
        return 0;
    uint64_t f = (uint64_t) ldexp(fr, 53);
    int e = bexp - 53; /* v = f * 2^e, f in [2^52, 2^53), e in [-121, 0] */
    int even = (f & 1) == 0;
    /* r / s = v; m = ulp/2 towards the upper neighbour and the lower one alike, except below
     * a power of two, where the lower neighbour is half as far (then everything is scaled by 2
     * to stay integral and the upper distance is 2 m). */
    int pow2 = f == UINT64_C(1) << 52;
    u128 r = (u128) f << (pow2 ? 2 : 1), s = (u128) 1 << (1 - e + pow2), m = 1;
    /* First guess of the decimal exponent k (v < 10^k) from the binary one: v >= 2^(bexp-1),
     * so this is ceil(log10(v)) or one less; the fix-up below settles it. */
    int k = (int) ceil((bexp - 1) * 0.30102999566398114);
    if (k >= 0) {
        for (int i = 0; i < k; i++)
            s *= 10;
    } else {
        u128 p = 1;
        for (int i = 0; i < -k; i++)
            p *= 10;
        r *= p, m *= p;
    }
    /* fix the guess: 10^(k-1) <= v + ulp/2 < 10^k (the high end decides the first digit) */
    while (even ? r + (m << pow2) >= s : r + (m << pow2) > s)
        s *= 10, k++;
    while (even ? (r + (m << pow2)) * 10 < s : (r + (m << pow2)) * 10 <= s)
        r *= 10, m *= 10, k--;
    /* r, m < s; with s < 2^59 every step of the loop fits in 64 bits, as for most measured
     * values (roughly 1e-2 and up), and 64-bit steps cost about half as much */
    int nd = s < (u128) 1 << 59
                 ? dragon4_loop_uint64_t((uint64_t) r, (uint64_t) s, (uint64_t) m, pow2, even, dig)
                 : dragon4_loop_u128(r, s, m, pow2, even, dig);
    *ret_e = k - 1;
    return nd;
}

/* Shortest decimal digits of finite v > 0 in dig (NUL-terminated, no dot, no trailing zeros) and
 * the exponent e such that v = d1.d2d3... * 10^e. Returns the digit count.
 *
 * Integers below 2^53 are their own shortest digits (neighbouring doubles are at most 1 apart,
 * so no shorter decimal names the same double). Most others take dragon4_digits. Outside its
 * range one "%.16e" gives the 17 digits that
 * always read back; fewer digits read back monotonically (if n digits do, n + 1 do: the n-digit
 * value padded with a zero is an (n + 1)-digit candidate no farther from v), so the shortest
 * count is found by bisection, trying 15 and 16 first since measured values mostly need them. */
static int shortest_digits(double v, char *dig, int *ret_e)
{
    int nd;
    if (v < 9007199254740992.0 && v == floor(v)) {
        char tmp[24], *end = tmp + sizeof tmp, *p = end;
        uint64_t m = (uint64_t) v;
        do
            *--p = (char) ('0' + m % 10);
        while ((m /= 10) != 0);
        nd = (int) (end - p);
        *ret_e = nd - 1;
        memcpy(dig, p, (size_t) nd);
    } else if ((nd = dragon4_digits(v, dig, ret_e)) == 0) {
        char tmp[40], d17[17], cand[17];
        (void) snprintf(tmp, sizeof tmp, "%.16e", v); /* d.dddddddddddddddde±XX */
        d17[0] = tmp[0];
        memcpy(d17 + 1, tmp + 2, 16);
        int e17 = atoi(tmp + 19), e;
        int lo = 1, hi = 17; /* hi digits read back; find the fewest */
        if (!candidate(v, d17, e17, 16, cand, &e))
            lo = 17;
        else if (!candidate(v, d17, e17, 15, cand, &e))
            lo = hi = 16;
        else
            hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (candidate(v, d17, e17, mid, cand, &e))
                hi = mid;
            else
                lo = mid + 1;
        }
        nd = hi;
        /* Below a power of two the lower neighbour is twice as near as the upper one, so a
         * shorter decimal may lie above v where the correctly rounded one (below) does not read
         * back: try rounding up too (dragon4_digits covers this exactly in its range). */
        if (frexp(v, &e) == 0.5)
            for (int n = 1; n < nd; n++) {
                memcpy(cand, d17, (size_t) n);
                e = e17;
                bump_last_digit(cand, n, &e);
                if (reads_back(cand, n, e, v)) {
                    memcpy(dig, cand, (size_t) n);
                    *ret_e = e;
                    nd = n;
                    goto trim;
                }
            }
        if (nd == 17) {
            memcpy(dig, d17, 17);
            *ret_e = e17;
        } else {
            (void) candidate(v, d17, e17, nd, dig, ret_e);
        }
    }
trim:
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
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

static const double exact_pow10[] = {
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
        v = q < 0 ? v / exact_pow10[-q] : v * exact_pow10[q];
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
