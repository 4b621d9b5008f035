/* promql/lexer.c — turns a query into tokens with byte positions, with the context rules and
 * error wording of Prometheus' lexer (promql/parser/lex.go): keywords are case-insensitive,
 * "inf"/"nan" are numbers, a number followed by a unit is a duration, '#' starts a comment. */
#include "promql/lexer.h"

#include <stdio.h>
#include <string.h>

#include "promql/ast.h"
#include "tsdb/base/base.h"

static int is_alpha(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static int is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}
static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void promql_lexer_init(struct promql_lexer *lx, const char *src, size_t n)
{
    memset(lx, 0, sizeof *lx);
    lx->src = src;
    lx->n = n;
}

static int peek(const struct promql_lexer *lx, size_t off)
{
    return lx->pos + off < lx->n ? (unsigned char) lx->src[lx->pos + off] : -1;
}

/* Go's %q of one rune: 'x', or an escape for control bytes and bytes outside ASCII. */
static void quote_rune(char *out, size_t cap, int c)
{
    if (c == '\'')
        (void) snprintf(out, cap, "'\\''");
    else if (c == '\\')
        (void) snprintf(out, cap, "'\\\\'");
    else if (c == '\n')
        (void) snprintf(out, cap, "'\\n'");
    else if (c == '\t')
        (void) snprintf(out, cap, "'\\t'");
    else if (c == '\r')
        (void) snprintf(out, cap, "'\\r'");
    else if (c < 0)
        (void) snprintf(out, cap, "EOF");
    else if (c < 0x20 || c == 0x7f)
        (void) snprintf(out, cap, "'\\x%02x'", (unsigned) c);
    else if (c >= 0x80)
        (void) snprintf(out, cap, "'\\x%02x'", (unsigned) c);
    else
        (void) snprintf(out, cap, "'%c'", c);
}

static void tok_error(struct promql_lexer *lx, struct promql_token *t, size_t pos, const char *fmt,
                      int c)
{
    char q[16];
    quote_rune(q, sizeof q, c);
    (void) snprintf(lx->err_buf, sizeof lx->err_buf, fmt, q);
    lx->err = lx->err_buf;
    t->type = TOK_ERROR;
    t->pos = (uint32_t) pos;
    t->len = 0;
}

static void set_error(struct promql_lexer *lx, struct promql_token *t, size_t pos, const char *msg)
{
    lx->err = msg;
    t->type = TOK_ERROR;
    t->pos = (uint32_t) pos;
    t->len = 0;
}

static const struct {
    const char *word;
    enum promql_tok type;
    int sub;
} keywords[] = {
    {"and", TOK_OP, OP_AND},
    {"or", TOK_OP, OP_OR},
    {"unless", TOK_OP, OP_UNLESS},
    {"atan2", TOK_OP, OP_ATAN2},
    {"sum", TOK_AGG, AGG_SUM},
    {"avg", TOK_AGG, AGG_AVG},
    {"count", TOK_AGG, AGG_COUNT},
    {"min", TOK_AGG, AGG_MIN},
    {"max", TOK_AGG, AGG_MAX},
    {"group", TOK_AGG, AGG_GROUP},
    {"stddev", TOK_AGG, AGG_STDDEV},
    {"stdvar", TOK_AGG, AGG_STDVAR},
    {"topk", TOK_AGG, AGG_TOPK},
    {"bottomk", TOK_AGG, AGG_BOTTOMK},
    {"count_values", TOK_AGG, AGG_COUNT_VALUES},
    {"quantile", TOK_AGG, AGG_QUANTILE},
    {"bool", TOK_KEYWORD, KW_BOOL},
    {"by", TOK_KEYWORD, KW_BY},
    {"without", TOK_KEYWORD, KW_WITHOUT},
    {"on", TOK_KEYWORD, KW_ON},
    {"ignoring", TOK_KEYWORD, KW_IGNORING},
    {"group_left", TOK_KEYWORD, KW_GROUP_LEFT},
    {"group_right", TOK_KEYWORD, KW_GROUP_RIGHT},
    {"offset", TOK_KEYWORD, KW_OFFSET},
    {"start", TOK_KEYWORD, KW_START},
    {"end", TOK_KEYWORD, KW_END},
    {"inf", TOK_NUMBER, 0},
    {"nan", TOK_NUMBER, 0},
};

static void lex_word(struct promql_lexer *lx, struct promql_token *t)
{
    size_t start = lx->pos;
    int colon = 0;
    while (lx->pos < lx->n && (is_alnum(peek(lx, 0)) || peek(lx, 0) == ':')) {
        colon |= peek(lx, 0) == ':';
        lx->pos++;
    }
    t->pos = (uint32_t) start;
    t->len = (uint32_t) (lx->pos - start);
    if (colon) {
        t->type = TOK_METRIC_IDENT;
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(keywords); i++) {
        if (strlen(keywords[i].word) == t->len &&
            strncasecmp(keywords[i].word, lx->src + start, t->len) == 0) {
            t->type = keywords[i].type;
            t->sub = keywords[i].sub;
            return;
        }
    }
    t->type = TOK_IDENT;
}

static void accept_run(struct promql_lexer *lx, const char *set)
{
    while (peek(lx, 0) >= 0 && strchr(set, peek(lx, 0)))
        lx->pos++;
}

static int accept(struct promql_lexer *lx, const char *set)
{
    if (peek(lx, 0) > 0 && strchr(set, peek(lx, 0))) {
        lx->pos++;
        return 1;
    }
    return 0;
}

/* Duration tail after the number: unit, then optional further <digits><unit> pairs. */
static int accept_duration_tail(struct promql_lexer *lx)
{
    if (!accept(lx, "smhdwy"))
        return 0;
    (void) accept(lx, "s");
    while (accept(lx, "0123456789")) {
        accept_run(lx, "0123456789");
        if (!accept(lx, "smhdw"))
            return 0;
        (void) accept(lx, "s");
    }
    /* Go's lexer consumes this character before judging it: the error text includes it. */
    if (!is_alnum(peek(lx, 0)))
        return 1;
    lx->pos++;
    return 0;
}

static void lex_number(struct promql_lexer *lx, struct promql_token *t, int duration_only)
{
    size_t start = lx->pos;
    const char *digits = "0123456789";
    if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
        lx->pos += 2;
        digits = "0123456789abcdefABCDEF";
    }
    accept_run(lx, digits);
    if (accept(lx, "."))
        accept_run(lx, digits);
    if (accept(lx, "eE")) {
        (void) accept(lx, "+-");
        accept_run(lx, "0123456789");
    }
    t->pos = (uint32_t) start;
    if (!is_alnum(peek(lx, 0))) {
        t->type = TOK_NUMBER;
        t->len = (uint32_t) (lx->pos - start);
        return;
    }
    if (accept_duration_tail(lx)) {
        t->type = TOK_DURATION;
        t->len = (uint32_t) (lx->pos - start);
        return;
    }
    /* Right after '[' Go's lexer reads only a duration, and says so. */
    (void) snprintf(lx->err_buf, sizeof lx->err_buf, "bad %s syntax: \"%.*s\"",
                    duration_only ? "duration" : "number or duration",
                    (int) (lx->pos - start), lx->src + start);
    lx->err = lx->err_buf;
    t->type = TOK_ERROR;
    t->len = 0;
}

/* Length of the well-formed UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), 0 if
 * there is none. */
static size_t utf8_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *) s;
    size_t len = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || u[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((u[i] & 0xc0) != 0x80)
            return 0;
    if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0) ||
        (u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))
        return 0;
    return len;
}

static void lex_string(struct promql_lexer *lx, struct promql_token *t)
{
    size_t start = lx->pos;
    int q = peek(lx, 0);
    lx->pos++;
    for (;;) {
        int c = peek(lx, 0);
        if (c < 0 || (c == '\n' && q != '`')) {
            set_error(lx, t, lx->pos,
                      q == '`' ? "unterminated raw string" : "unterminated quoted string");
            return;
        }
        if (c >= 0x80) {
            size_t len = utf8_len(lx->src + lx->pos, lx->n - lx->pos);
            if (len == 0) {
                set_error(lx, t, start, "invalid UTF-8 rune");
                return;
            }
            lx->pos += len;
            continue;
        }
        lx->pos++;
        if (c == '\\' && q != '`') {
            if (peek(lx, 0) < 0) {
                set_error(lx, t, start, "escape sequence not terminated");
                return;
            }
            lx->pos++;
            continue;
        }
        if (c == q)
            break;
    }
    t->type = TOK_STRING;
    t->pos = (uint32_t) start;
    t->len = (uint32_t) (lx->pos - start);
}

static void simple(struct promql_lexer *lx, struct promql_token *t, enum promql_tok type, int sub,
                   size_t len)
{
    t->type = type;
    t->sub = sub;
    t->pos = (uint32_t) lx->pos;
    t->len = (uint32_t) len;
    lx->pos += len;
}

static void lex_in_braces(struct promql_lexer *lx, struct promql_token *t, int c)
{
    if (is_alpha(c)) {
        size_t start = lx->pos;
        while (is_alnum(peek(lx, 0)))
            lx->pos++;
        t->type = TOK_IDENT;
        t->pos = (uint32_t) start;
        t->len = (uint32_t) (lx->pos - start);
    } else if (c == '"' || c == '\'' || c == '`') {
        lex_string(lx, t);
    } else if (c == ',') {
        simple(lx, t, TOK_COMMA, 0, 1);
    } else if (c == '=') {
        if (peek(lx, 1) == '~')
            simple(lx, t, TOK_EQL_REGEX, 0, 2);
        else
            simple(lx, t, TOK_ASSIGN, 0, 1);
    } else if (c == '!') {
        if (peek(lx, 1) == '~')
            simple(lx, t, TOK_NEQ_REGEX, 0, 2);
        else if (peek(lx, 1) == '=')
            simple(lx, t, TOK_OP, OP_NEQ, 2);
        else
            tok_error(lx, t, lx->pos, "unexpected character after '!' inside braces: %s",
                      peek(lx, 1));
    } else if (c == '{') {
        tok_error(lx, t, lx->pos, "unexpected left brace %s", c);
    } else if (c == '}') {
        lx->brace_open = 0;
        simple(lx, t, TOK_RBRACE, 0, 1);
    } else {
        tok_error(lx, t, lx->pos, "unexpected character inside braces: %s", c);
    }
}

/* Right after '[', Go's lexer reads a duration whatever comes: a unit letter run is a duration
 * token (the parser judges it), other letters are "bad duration syntax", anything else (']',
 * '-', the end) a number without unit. */
static void lex_bracket_non_number(struct promql_lexer *lx, struct promql_token *t)
{
    size_t start = lx->pos;
    if (!is_alpha(peek(lx, 0))) {
        set_error(lx, t, start, "missing unit character in duration");
        return;
    }
    if (accept_duration_tail(lx)) {
        t->type = TOK_DURATION;
        t->pos = (uint32_t) start;
        t->len = (uint32_t) (lx->pos - start);
        return;
    }
    (void) snprintf(lx->err_buf, sizeof lx->err_buf, "bad duration syntax: \"%.*s\"",
                    (int) (lx->pos - start), lx->src + start);
    lx->err = lx->err_buf;
    t->type = TOK_ERROR;
    t->pos = (uint32_t) start;
    t->len = 0;
}

void promql_lexer_next(struct promql_lexer *lx, struct promql_token *t)
{
    t->sub = 0;
    for (;;) {
        while (lx->pos < lx->n && is_space(peek(lx, 0)))
            lx->pos++;
        if (peek(lx, 0) != '#')
            break;
        while (lx->pos < lx->n && peek(lx, 0) != '\n')
            lx->pos++;
    }
    int duration_only = lx->duration_next;
    lx->duration_next = 0;
    int c = peek(lx, 0);
    if (duration_only && !is_digit(c) && !(c == '.' && is_digit(peek(lx, 1)))) {
        lex_bracket_non_number(lx, t);
        return;
    }
    if (c < 0) {
        if (lx->brace_open)
            set_error(lx, t, lx->pos, "unexpected end of input inside braces");
        else if (lx->paren_depth)
            set_error(lx, t, lx->pos, "unclosed left parenthesis");
        else if (lx->bracket_open)
            set_error(lx, t, lx->pos, "unclosed left bracket");
        else
            simple(lx, t, TOK_EOF, 0, 0);
        return;
    }
    if (lx->brace_open) {
        lex_in_braces(lx, t, c);
        return;
    }
    if (is_alpha(c) || c == ':') {
        if (c == ':' && lx->bracket_open) {
            simple(lx, t, TOK_COLON, 0, 1);
            return;
        }
        if (c == ':') {
            tok_error(lx, t, lx->pos, "unexpected colon %s", c);
            return;
        }
        lex_word(lx, t);
        return;
    }
    if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1)))) {
        lex_number(lx, t, duration_only);
        return;
    }

    int c1 = peek(lx, 1);
    switch (c) {
    case '"':
    case '\'':
    case '`': lex_string(lx, t); return;
    case ',': simple(lx, t, TOK_COMMA, 0, 1); return;
    case '(':
        lx->paren_depth++;
        simple(lx, t, TOK_LPAREN, 0, 1);
        return;
    case ')':
        if (lx->paren_depth == 0) {
            /* Prometheus reports it after the parenthesis (the lexer emitted it first). */
            tok_error(lx, t, lx->pos + 1, "unexpected right parenthesis %s", c);
            return;
        }
        lx->paren_depth--;
        simple(lx, t, TOK_RPAREN, 0, 1);
        return;
    case '{':
        lx->brace_open = 1;
        simple(lx, t, TOK_LBRACE, 0, 1);
        return;
    case '}': tok_error(lx, t, lx->pos, "unexpected right brace %s", c); return;
    case '[':
        if (lx->bracket_open) {
            tok_error(lx, t, lx->pos, "unexpected left bracket %s", c);
            return;
        }
        lx->bracket_open = 1;
        lx->duration_next = 1;
        simple(lx, t, TOK_LBRACKET, 0, 1);
        return;
    case ']':
        if (!lx->bracket_open) {
            tok_error(lx, t, lx->pos, "unexpected right bracket %s", c);
            return;
        }
        lx->bracket_open = 0;
        simple(lx, t, TOK_RBRACKET, 0, 1);
        return;
    case '@': simple(lx, t, TOK_AT, 0, 1); return;
    case '+': simple(lx, t, TOK_OP, OP_ADD, 1); return;
    case '-': simple(lx, t, TOK_OP, OP_SUB, 1); return;
    case '*': simple(lx, t, TOK_OP, OP_MUL, 1); return;
    case '/': simple(lx, t, TOK_OP, OP_DIV, 1); return;
    case '%': simple(lx, t, TOK_OP, OP_MOD, 1); return;
    case '^': simple(lx, t, TOK_OP, OP_POW, 1); return;
    case '=':
        if (c1 == '=')
            simple(lx, t, TOK_OP, OP_EQL, 2);
        else if (c1 == '~')
            tok_error(lx, t, lx->pos, "unexpected character after '=': %s", c1);
        else
            simple(lx, t, TOK_ASSIGN, 0, 1);
        return;
    case '!':
        if (c1 == '=')
            simple(lx, t, TOK_OP, OP_NEQ, 2);
        else
            tok_error(lx, t, lx->pos, "unexpected character after '!': %s", c1);
        return;
    case '<':
        if (c1 == '=')
            simple(lx, t, TOK_OP, OP_LTE, 2);
        else
            simple(lx, t, TOK_OP, OP_LSS, 1);
        return;
    case '>':
        if (c1 == '=')
            simple(lx, t, TOK_OP, OP_GTE, 2);
        else
            simple(lx, t, TOK_OP, OP_GTR, 1);
        return;
    default: tok_error(lx, t, lx->pos, "unexpected character: %s", c); return;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char) (0xc0 | (cp >> 6));
        o[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char) (0xe0 | (cp >> 12));
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char) (0xf0 | (cp >> 18));
    o[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}

/* Go's %#U of a byte: U+0063 'c' (the character only when printable). */
static void go_rune(char *out, size_t cap, char c)
{
    unsigned char u = (unsigned char) c;
    if (u >= 0x20 && u < 0x7f)
        (void) snprintf(out, cap, "U+%04X '%c'", u, u);
    else
        (void) snprintf(out, cap, "U+%04X", u);
}

static char *unknown_escape(char *err_buf, size_t err_cap, char c)
{
    char r[24];
    go_rune(r, sizeof r, c);
    (void) snprintf(err_buf, err_cap, "unknown escape sequence %s", r);
    return NULL;
}

static char *illegal_in_escape(char *err_buf, size_t err_cap, char c)
{
    char r[24];
    go_rune(r, sizeof r, c);
    (void) snprintf(err_buf, err_cap, "illegal character %s in escape sequence", r);
    return NULL;
}

/* Go's strconv.Unquote rules: \a \b \f \n \r \t \v \\ \' \" \xHH \ooo \uHHHH \UHHHHHHHH. */
char *promql_lexer_unquote(struct arena *a, const char *s, size_t n, char *err_buf, size_t err_cap)
{
    char q = s[0];
    char *out = arena_alloc(a, n + 1);
    if (!out) {
        (void) snprintf(err_buf, err_cap, "out of memory");
        return NULL;
    }
    size_t o = 0;
    const char *p = s + 1, *end = s + n - 1;
    if (q == '`') {
        memcpy(out, p, (size_t) (end - p));
        out[end - p] = 0;
        return out;
    }
    while (p < end) {
        if (*p != '\\') {
            if (*p == q) {
                (void) snprintf(err_buf, err_cap, "invalid syntax");
                return NULL;
            }
            out[o++] = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': out[o++] = '\\'; break;
        case '\'':
        case '"':
            if (c != q)
                return unknown_escape(err_buf, err_cap, c);
            out[o++] = c;
            break;
        case 'x':
        case 'u':
        case 'U': {
            int len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int i = 0; i < len; i++) {
                int h = p + i < end ? hexval((unsigned char) p[i]) : -1;
                if (h < 0)
                    return illegal_in_escape(err_buf, err_cap, p + i < end ? p[i] : q);
                v = v << 4 | (uint32_t) h;
            }
            p += len;
            if (c == 'x') {
                out[o++] = (char) v;
            } else {
                if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) {
                    (void) snprintf(err_buf, err_cap,
                                    "escape sequence is an invalid Unicode code point");
                    return NULL;
                }
                o += put_utf8(out + o, v);
            }
            break;
        }
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            uint32_t v = (uint32_t) (c - '0');
            for (int i = 0; i < 2; i++) {
                char d = p + i < end ? p[i] : q;
                if (d < '0' || d > '7')
                    return illegal_in_escape(err_buf, err_cap, d);
                v = v * 8 + (uint32_t) (d - '0');
            }
            if (v > 255) {
                (void) snprintf(err_buf, err_cap, "escape sequence is invalid Unicode code point");
                return NULL;
            }
            p += 2;
            out[o++] = (char) v;
            break;
        }
        default: return unknown_escape(err_buf, err_cap, c);
        }
    }
    out[o] = 0;
    return out;
}
