/* tsdb/base/shortest.c — the shortest decimal digits that read back as a given double, by Ulf
 * Adams' Ryū algorithm ("Ryū: fast float-to-string conversion", PLDI 2018), the method Go's
 * strconv also uses for the shortest form, so ember prints the digits Prometheus prints.
 *
 * The idea: v lies in an interval of reals that all round to v (half-way to each neighbouring
 * double, ends included when v's significand is even, as strtod rounds half to even). Scale the
 * interval's bounds and v by one power of ten chosen from the binary exponent, so the scaled
 * values are 64-bit integers vm < vr < vp; then drop decimal digits from all three while the
 * bounds still differ, remembering the digits dropped from vr to round the result. The scaling
 * multiplies by a 125-bit approximation of 5^±q whose error provably never changes the digits;
 * the cases where exactness matters (the bounds themselves being decimal) are tracked with the
 * "trailing zeros" flags.
 *
 * The two tables of 5^q and 2^j / 5^q are computed once, on first use, with a small bignum
 * (computing them costs about 100 µs; writing them out here would be 10 KB of hex). */
#include "num.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define MANTISSA_BITS 52
#define EXPONENT_BIAS 1023
#define POW5_BITS 125     /* significant bits kept of 5^i */
#define POW5_INV_BITS 125 /* and of 2^j / 5^q */
#define POW5_TABLE 326    /* 5^i for i < 326: enough for the smallest subnormal */
#define POW5_INV_TABLE 342

static u128 pow5[POW5_TABLE];         /* 5^i, shifted to exactly POW5_BITS bits */
static u128 pow5_inv[POW5_INV_TABLE]; /* floor(2^j / 5^q) + 1, j = bits(5^q) - 1 + POW5_INV_BITS */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* ---- the tables, from a little-endian bignum of 32-bit limbs ---- */

#define LIMBS 40 /* 1280 bits: 5^325 has 755, the reciprocals' numerator 2^1100 */
#define RECIP_BITS 1100

struct big {
    uint32_t w[LIMBS];
};

static int big_bits(const struct big *b)
{
    for (int i = LIMBS - 1; i >= 0; i--)
        if (b->w[i])
            return i * 32 + 32 - __builtin_clz(b->w[i]);
    return 0;
}

/* The 128 bits of b starting at bit `shift` (shift may be negative: zeros shifted in). */
static u128 big_window(const struct big *b, int shift)
{
    u128 r = 0;
    for (int bit = 127; bit >= 0; bit--) {
        int src = shift + bit;
        r <<= 1;
        if (src >= 0 && src < LIMBS * 32)
            r |= (b->w[src / 32] >> (src % 32)) & 1;
    }
    return r;
}

static void big_mul_small(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < LIMBS; i++) {
        uint64_t x = (uint64_t) b->w[i] * m + carry;
        b->w[i] = (uint32_t) x;
        carry = x >> 32;
    }
}

static void big_div_small(struct big *b, uint32_t d)
{
    uint64_t rem = 0;
    for (int i = LIMBS - 1; i >= 0; i--) {
        uint64_t x = rem << 32 | b->w[i];
        b->w[i] = (uint32_t) (x / d);
        rem = x % d;
    }
}

static void compute_tables(void)
{
    struct big p = {{1}};
    for (int i = 0; i < POW5_TABLE; i++) {
        pow5[i] = big_window(&p, big_bits(&p) - POW5_BITS);
        big_mul_small(&p, 5);
    }
    /* floor(floor(2^M / 5) / 5 ...) = floor(2^M / 5^q), and floor(that / 2^(M-j)) is
     * floor(2^j / 5^q): one chain of small divisions gives every reciprocal. */
    struct big r = {{0}};
    r.w[RECIP_BITS / 32] = 1u << (RECIP_BITS % 32);
    struct big p5 = {{1}};
    for (int q = 0; q < POW5_INV_TABLE; q++) {
        int j = big_bits(&p5) - 1 + POW5_INV_BITS;
        pow5_inv[q] = big_window(&r, RECIP_BITS - j) + 1;
        big_div_small(&r, 5);
        big_mul_small(&p5, 5);
    }
}

/* ---- Ryū ---- */

/* bits(5^e) = ceil(log2(5^e)) for e >= 1, and 1 for e = 0 (valid for e <= 3528) */
static int pow5_bits(int e)
{
    return (int) (((uint32_t) e * 1217359) >> 19) + 1;
}

/* floor(log10(2^e)) and floor(log10(5^e)), for 0 <= e <= 1650 and 2620 */
static int log10_pow2(int e)
{
    return (int) (((uint32_t) e * 78913) >> 18);
}

static int log10_pow5(int e)
{
    return (int) (((uint32_t) e * 732923) >> 20);
}

static int pow5_factor(uint64_t v)
{
    int n = 0;
    while (v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}

static int multiple_of_pow5(uint64_t v, int p)
{
    return pow5_factor(v) >= p;
}

static int multiple_of_pow2(uint64_t v, int p)
{
    return (v & ((UINT64_C(1) << p) - 1)) == 0;
}

/* (m * mul) >> j for a 64-bit m and a 125-bit mul, j >= 64 */
static uint64_t mul_shift(uint64_t m, u128 mul, int j)
{
    u128 lo = (u128) m * (uint64_t) mul;
    u128 hi = (u128) m * (uint64_t) (mul >> 64);
    return (uint64_t) (((lo >> 64) + hi) >> (j - 64));
}

/* Shortest digits of finite v > 0 into dig (no trailing zeros, NUL-terminated); *ret_e is the
 * decimal exponent of the first digit (v = d1.d2d3... * 10^e). Returns the digit count. */
int num_shortest_digits(double v, char *dig, int *ret_e)
{
    (void) pthread_once(&tables_once, compute_tables);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t mant = bits & ((UINT64_C(1) << MANTISSA_BITS) - 1);
    int bexp = (int) (bits >> MANTISSA_BITS & 0x7ff);

    /* v = m2 * 2^e2; the interval's bounds are (4 m2 - 1 - mm_shift) and (4 m2 + 2) in units
     * of 2^(e2-2): below a power of two the lower neighbour is half as far. */
    int e2;
    uint64_t m2;
    if (bexp == 0) {
        e2 = 1 - EXPONENT_BIAS - MANTISSA_BITS - 2;
        m2 = mant;
    } else {
        e2 = bexp - EXPONENT_BIAS - MANTISSA_BITS - 2;
        m2 = UINT64_C(1) << MANTISSA_BITS | mant;
    }
    int accept_bounds = (m2 & 1) == 0;
    uint64_t mv = 4 * m2;
    uint32_t mm_shift = mant != 0 || bexp <= 1;

    /* Scale by 10^-e10: vr, vp, vm are v and the bounds times 2^e2 / 10^e10, truncated. */
    uint64_t vr, vp, vm;
    int e10;
    int vm_trailing_zeros = 0, vr_trailing_zeros = 0;
    if (e2 >= 0) {
        int q = log10_pow2(e2) - (e2 > 3);
        e10 = q;
        int k = POW5_INV_BITS + pow5_bits(q) - 1;
        int i = -e2 + q + k;
        vr = mul_shift(4 * m2, pow5_inv[q], i);
        vp = mul_shift(4 * m2 + 2, pow5_inv[q], i);
        vm = mul_shift(4 * m2 - 1 - mm_shift, pow5_inv[q], i);
        if (q <= 21) {
            /* Only here can the scaled values be exact integers, i.e. end in dropped zeros. */
            if (mv % 5 == 0)
                vr_trailing_zeros = multiple_of_pow5(mv, q);
            else if (accept_bounds)
                vm_trailing_zeros = multiple_of_pow5(mv - 1 - mm_shift, q);
            else
                vp -= (uint64_t) multiple_of_pow5(mv + 2, q);
        }
    } else {
        int q = log10_pow5(-e2) - (-e2 > 1);
        e10 = q + e2;
        int i = -e2 - q;
        int k = pow5_bits(i) - POW5_BITS;
        int j = q - k;
        vr = mul_shift(4 * m2, pow5[i], j);
        vp = mul_shift(4 * m2 + 2, pow5[i], j);
        vm = mul_shift(4 * m2 - 1 - mm_shift, pow5[i], j);
        if (q <= 1) {
            /* mv has at least q trailing zero bits, so vr is exact */
            vr_trailing_zeros = 1;
            if (accept_bounds)
                vm_trailing_zeros = mm_shift == 1;
            else
                vp--;
        } else if (q < 63) {
            vr_trailing_zeros = multiple_of_pow2(mv, q);
        }
    }

    /* Drop digits while the bounds differ; round on the digits dropped from vr. */
    int removed = 0;
    uint64_t out;
    if (vm_trailing_zeros || vr_trailing_zeros) {
        int last = 0;
        while (vp / 10 > vm / 10) {
            vm_trailing_zeros &= vm % 10 == 0;
            vr_trailing_zeros &= last == 0;
            last = (int) (vr % 10);
            vr /= 10, vp /= 10, vm /= 10;
            removed++;
        }
        if (vm_trailing_zeros) {
            while (vm % 10 == 0) {
                vr_trailing_zeros &= last == 0;
                last = (int) (vr % 10);
                vr /= 10, vp /= 10, vm /= 10;
                removed++;
            }
        }
        if (vr_trailing_zeros && last == 5 && vr % 2 == 0)
            last = 4; /* exactly half-way: round to even */
        out = vr + ((vr == vm && (!accept_bounds || !vm_trailing_zeros)) || last >= 5);
    } else {
        /* The common case: no exact bounds, so only the first dropped digit matters. */
        int round_up = 0;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100, vp /= 100, vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10, vp /= 10, vm /= 10;
            removed++;
        }
        out = vr + (vr == vm || round_up);
    }

    /* At most 17 digits; dropping trailing zeros first lets them be written in place. */
    while (out >= 10 && out % 10 == 0) {
        out /= 10;
        removed++;
    }
    int nd = 0;
    for (uint64_t x = out; x != 0 || nd == 0; x /= 10)
        nd++;
    *ret_e = e10 + removed + nd - 1;
    dig[nd] = '\0';
    for (int i = nd - 1; i >= 0; i--, out /= 10)
        dig[i] = (char) ('0' + out % 10);
    return nd;
}
