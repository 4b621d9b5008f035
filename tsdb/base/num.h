/* tsdb/base/num.h — the one locale-free pair that formats and parses floats, plus Prometheus
 * durations and the clock. Formatting follows Go's strconv.FormatFloat(v, fmt, -1, 64), the
 * reference for every float Prometheus prints (JSON values, text exposition). */
#ifndef EMBER_BASE_NUM_H
#define EMBER_BASE_NUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Buffer size sufficient for any formatted double. */
#define NUM_FLOAT_MAX 40

/* Writes v NUL-terminated into out (>= NUM_FLOAT_MAX bytes), returns the length.
 * 'f': FormatFloat(v,'f',-1)  'e': FormatFloat(v,'e',-1)  'g': FormatFloat(v,'g',-1).
 * Specials are "NaN", "+Inf", "-Inf" in every mode. */
size_t num_format(char *out, double v, char mode);
/* The shortest decimal digits that read back as finite v > 0 (Ryū; shortest.c): into dig (at
 * least 18 bytes; no dot, no trailing zeros, NUL-terminated), with *ret_e the exponent of the
 * first digit (v = d1.d2d3... * 10^e). Returns the digit count. */
int num_shortest_digits(double v, char *dig, int *ret_e);
/* Prometheus JSON sample value: 'f' except |v| < 1e-6 or |v| >= 1e21 use 'e' (jsonutil). */
size_t num_format_json(char *out, double v);

/* Parses a whole float (s..s+n): decimal, exponent, hex, NaN, Inf, +Inf, -Inf (any case).
 * Returns 0 or -1 when anything is malformed or trailing. */
int num_parse_float(const char *s, size_t n, double *ret);
/* The fast path of num_parse_float() for plain decimals, [+-]digits[.digits][(e|E)[+-]digits]
 * (at least one mantissa digit, any length): returns 0 and exactly the double strtod would
 * return, or -1 when s is not such a decimal or cannot be rounded this way (more than 19
 * significant digits, more than 2^53, a power of ten beyond +-22); then the caller falls back to
 * num_parse_float(). Never yields Inf or NaN. */
int num_parse_decimal(const char *s, size_t n, double *ret);
/* The same for the decimal that starts s: reads [+-]digits[.digits][(e|E)[+-]digits] as far as
 * it goes within n bytes and returns its length and, in *ret, the double strtod gives for those
 * bytes; 0 (and *ret untouched) when there is none or the fast path cannot round it, or when an
 * 'e' follows without digits. A token is that decimal only if the byte after it ends the token. */
size_t num_scan_decimal(const char *s, size_t n, double *ret);
/* 10^0 .. 10^22, each exact in binary64. */
extern const double num_exact_pow10[23];
/* The commonest number of all, digits[.digits] (no sign, no exponent) at s, read inline by the
 * exposition parsers' hot paths: returns its end and w, f such that it spells w / 10^f; NULL
 * when there is no digit, more than 19 digits (w could wrap) or w > 2^53. Then
 * (double) w / num_exact_pow10[f] is exactly what num_scan_decimal() and strtod give (Clinger's
 * fast path: w and 10^f are exact, the one division rounds once). The caller checks what
 * follows (an exponent, junk) and falls back to the general functions. */
static inline const char *num_scan_plain(const char *s, const char *end, uint64_t *ret_w,
                                         unsigned *ret_f)
{
    const char *p = s;
    uint64_t w = 0;
    for (; p < end && (unsigned) (*p - '0') < 10; p++)
        w = w * 10 + (uint64_t) (*p - '0');
    size_t nd = (size_t) (p - s), f = 0;
    if (p < end && *p == '.') {
        const char *frac = ++p;
        for (; p < end && (unsigned) (*p - '0') < 10; p++)
            w = w * 10 + (uint64_t) (*p - '0');
        f = (size_t) (p - frac);
        nd += f;
    }
    if (nd == 0 || nd > 19 || w > (UINT64_C(1) << 53))
        return NULL;
    *ret_w = w;
    *ret_f = (unsigned) f;
    return p;
}

/* Parses a signed decimal integer; -1 on junk or overflow. */
int num_parse_int64(const char *s, size_t n, int64_t *ret);

/* Prometheus duration: one or more <int><unit> with units ms s m h d w y in decreasing order
 * ("1h30m", "15s", "0"? no: "0s"). Returns 0 and milliseconds, or -1. */
int duration_parse(const char *s, size_t n, int64_t *ret_ms);
/* Formats as Prometheus does ("1h30m", "15s", "500ms", "0s"); returns length. */
size_t duration_format(char *out, size_t cap, int64_t ms);

int64_t time_now_ms(void);      /* wall clock, Unix milliseconds */
int64_t time_mono_ns(void);     /* monotonic, for measuring */
/* Monotonic at the kernel tick's resolution (a few ms) for a fraction of time_mono_ns()'s cost
 * (a VM's precise clock read costs 60-100 ns): for deadlines checked often, not for measuring. */
int64_t time_mono_coarse_ns(void);

/* The stale marker is one NaN bit pattern (Prometheus' StaleNaN), compared by bits. */
#define STALE_NAN_BITS UINT64_C(0x7ff0000000000002)
double num_stale_nan(void);
int num_is_stale(double v);

/* A double's bit pattern and back (NaN payloads kept). */
static inline uint64_t num_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return b;
}
static inline double num_from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, 8);
    return v;
}

#endif
