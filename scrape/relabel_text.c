/* scrape/relabel_text.c — string work relabeling needs that knows nothing of labels: MD5 for
 * hashmod (RFC 1321, written here rather than adding a crypto library for 16 bytes), and UTF-8
 * decoding and case mapping with Go's rules for lowercase/uppercase and $name templates. */
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "relabel.h"

/* ---- MD5 (RFC 1321), for hashmod ---- */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
};
static const uint8_t md5_r[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

static void md5_block(uint32_t h[4], const unsigned char *p)
{
    uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t) p[4 * i] | (uint32_t) p[4 * i + 1] << 8 |
               (uint32_t) p[4 * i + 2] << 16 | (uint32_t) p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16)
            f = (b & c) | (~b & d), g = i;
        else if (i < 32)
            f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (i < 48)
            f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else
            f = c ^ (b | ~d), g = (7 * i) % 16;
        f += a + md5_k[i] + m[g];
        unsigned s = md5_r[(i / 16) * 4 + i % 4];
        a = d, d = c, c = b;
        b += f << s | f >> (32 - s);
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

/* The 16-byte digest of p[0..n). */
void scrape_relabel_text_md5(const void *p, size_t n, unsigned char out[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const unsigned char *s = p;
    unsigned char tail[128] = {0};
    size_t full = n & ~(size_t) 63, rest = n - full;
    for (size_t i = 0; i < full; i += 64)
        md5_block(h, s + i);
    if (rest)
        memcpy(tail, s + full, rest);
    tail[rest] = 0x80;
    size_t tl = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t) n * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 8 + i] = (unsigned char) (bits >> (8 * i));
    for (size_t i = 0; i < tl; i += 64)
        md5_block(h, tail + i);
    for (int i = 0; i < 16; i++)
        out[i] = (unsigned char) (h[i / 4] >> (8 * (i % 4)));
}

/* ---- UTF-8 and case mapping, as Go's strings.ToLower/ToUpper ---- */

/* One code point of s[0..n) (n >= 1) with Go's rules: overlong forms, surrogates and anything
 * past U+10FFFF are invalid; an invalid sequence reads as U+FFFD of length 1. */
uint32_t scrape_relabel_text_utf8_decode(const unsigned char *s, size_t n,
                                         size_t *ret_len)
{
    unsigned c = s[0];
    *ret_len = 1;
    if (c < 0x80)
        return c;
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0xfffd;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0xfffd;
    uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0xfffd;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *ret_len = len;
    return cp;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80)
        return out[0] = (char) cp, 1;
    if (cp < 0x800) {
        out[0] = (char) (0xc0 | cp >> 6);
        out[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xe0 | cp >> 12);
        out[1] = (char) (0x80 | (cp >> 6 & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char) (0xf0 | cp >> 18);
    out[1] = (char) (0x80 | (cp >> 12 & 0x3f));
    out[2] = (char) (0x80 | (cp >> 6 & 0x3f));
    out[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

/* Unicode simple case mapping comes from the C library's C.UTF-8 tables, loaded once into a
 * locale object so the process locale is never touched. Without them (a libc lacking C.UTF-8)
 * only ASCII letters change case. */
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc;

static void utf8_locale_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
}

static locale_t utf8_locale(void)
{
    (void) pthread_once(&utf8_once, utf8_locale_init);
    return utf8_loc;
}

static uint32_t map_case(uint32_t cp, int upper)
{
    if (cp < 0x80)
        return upper ? (cp >= 'a' && cp <= 'z' ? cp - 32 : cp)
                     : (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    locale_t loc = utf8_locale();
    if (!loc)
        return cp;
    wint_t r = upper ? towupper_l((wint_t) cp, loc) : towlower_l((wint_t) cp, loc);
    return r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff) ? cp : (uint32_t) r;
}

/* s with each code point case-mapped, invalid bytes becoming U+FFFD (Go's strings.Map). */
const char *scrape_relabel_text_case(struct arena *a, const char *s, int upper)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, n * 3 + 1); /* a 1-byte invalid sequence grows to 3 bytes */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t cp = scrape_relabel_text_utf8_decode((const unsigned char *) s + i, n - i,
                                                      &len);
        o += utf8_encode(map_case(cp, upper), out + o);
        i += len;
    }
    out[o] = '\0';
    return out;
}

int scrape_relabel_text_is_alnum(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    locale_t loc = utf8_locale();
    return loc && cp != 0xfffd && iswalnum_l((wint_t) cp, loc);
}
