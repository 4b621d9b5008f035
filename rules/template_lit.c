/* rules/template_lit.c — Go's literal syntax inside template actions: quoted strings with
 * strconv.Unquote's escapes, and numbers typed as text/template types them (ideal constants:
 * int unless the text has a fraction or exponent, character constants are ints). */
#include <string.h>

#include "rules/template_impl.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t tmpl_put_utf8(char *o, uint32_t r)
{
    if (r < 0x80) { o[0] = (char) r; return 1; }
    if (r < 0x800) { o[0] = (char) (0xc0 | r >> 6); o[1] = (char) (0x80 | (r & 0x3f)); return 2; }
    if (r >= 0xd800 && r < 0xe000)
        r = 0xfffd;
    if (r < 0x10000) {
        o[0] = (char) (0xe0 | r >> 12); o[1] = (char) (0x80 | ((r >> 6) & 0x3f));
        o[2] = (char) (0x80 | (r & 0x3f));
        return 3;
    }
    if (r > 0x10ffff)
        r = 0xfffd;
    o[0] = (char) (0xf0 | r >> 18); o[1] = (char) (0x80 | ((r >> 12) & 0x3f));
    o[2] = (char) (0x80 | ((r >> 6) & 0x3f)); o[3] = (char) (0x80 | (r & 0x3f));
    return 4;
}

int tmpl_unquote(const char *s, size_t n, char q, char *out, size_t *ret_n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            if (s[i] == q)
                return -1;
            out[o++] = s[i];
            continue;
        }
        if (++i >= n)
            return -1;
        static const char esc[] = "a\ab\bf\fn\nr\rt\tv\v\\\\";
        const char *m = strchr(esc, s[i]);
        if (m && s[i] && (m - esc) % 2 == 0) {
            out[o++] = m[1];
        } else if (s[i] == q) {
            out[o++] = q;
        } else if (s[i] >= '0' && s[i] <= '7') {
            if (i + 2 >= n || s[i + 1] < '0' || s[i + 1] > '7' || s[i + 2] < '0' || s[i + 2] > '7')
                return -1;
            int v = (s[i] - '0') * 64 + (s[i + 1] - '0') * 8 + (s[i + 2] - '0');
            if (v > 255)
                return -1;
            out[o++] = (char) v;
            i += 2;
        } else if (s[i] == 'x' || s[i] == 'u' || s[i] == 'U') {
            int k = s[i] == 'x' ? 2 : s[i] == 'u' ? 4 : 8;
            uint32_t v = 0;
            if (i + (size_t) k >= n)
                return -1;
            for (int j = 1; j <= k; j++) {
                int h = hexval((unsigned char) s[i + (size_t) j]);
                if (h < 0)
                    return -1;
                v = v * 16 + (uint32_t) h;
            }
            if (k == 2)
                out[o++] = (char) v;
            else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
                return -1;
            else
                o += tmpl_put_utf8(out + o, v);
            i += (size_t) k;
        } else {
            return -1;
        }
    }
    *ret_n = o;
    return 0;
}

int tmpl_number(const char *s, size_t n, struct tv *ret)
{
    struct tv v = {.k = TV_INT};
    if (s[0] == '\'') {
        char buf[16];
        size_t m;
        if (n > 12 || tmpl_unquote(s + 1, n - 2, '\'', buf, &m) < 0 || m == 0)
            return TMPL_LIT_BAD_CHAR;
        /* decode one UTF-8 rune */
        unsigned char c0 = (unsigned char) buf[0];
        uint32_t r = c0;
        size_t len = c0 < 0x80 ? 1 : c0 < 0xe0 ? 2 : c0 < 0xf0 ? 3 : 4;
        if (len > 1) {
            r = c0 & (0x3f >> (len - 1));
            for (size_t i = 1; i < len && i < m; i++)
                r = r << 6 | ((unsigned char) buf[i] & 0x3f);
        }
        if (len != m)
            return TMPL_LIT_BAD_CHAR;
        v.i = r;
        *ret = v;
        return 0;
    }
    char buf[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof buf; i++)
        if (s[i] != '_')
            buf[k++] = s[i];
    buf[k] = 0;
    int is_hex = k > 2 && (buf[buf[0] == '-' || buf[0] == '+'] == '0') &&
                 ((buf[1 + (buf[0] == '-' || buf[0] == '+')] | 0x20) == 'x');
    int floaty = is_hex ? strpbrk(buf, ".pP") != NULL : strpbrk(buf, ".eEpP") != NULL;
    if (!floaty) {
        const char *d = buf + (buf[0] == '-' || buf[0] == '+');
        int neg = buf[0] == '-', base = 10;
        if (d[0] == '0' && d[1]) {
            char b = d[1] | 0x20;
            base = b == 'x' ? 16 : b == 'o' ? 8 : b == 'b' ? 2 : 8;
            d += b == 'x' || b == 'o' || b == 'b' ? 2 : 1;
        }
        uint64_t u = 0;
        if (!*d)
            return TMPL_LIT_BAD_NUMBER;
        for (; *d; d++) {
            int h = hexval((unsigned char) *d);
            if (h < 0 || h >= base)
                return TMPL_LIT_BAD_NUMBER;
            if (u > (UINT64_MAX - (uint64_t) h) / (uint64_t) base)
                return TMPL_LIT_OVERFLOW;
            u = u * (uint64_t) base + (uint64_t) h;
        }
        if (u > (uint64_t) INT64_MAX + (uint64_t) neg)
            return TMPL_LIT_OVERFLOW;
        v.i = neg ? (int64_t) (0 - u) : (int64_t) u;
        *ret = v;
        return 0;
    }
    v.k = TV_FLOAT;
    if (num_parse_float(buf, k, &v.f) < 0)
        return TMPL_LIT_BAD_NUMBER;
    *ret = v;
    return 0;
}
