/* promql/lexer.h — PromQL tokens with byte positions. The lexer is context-sensitive as
 * Prometheus' is: inside {} every word is a label name, inside [] numbers must be durations. */
#ifndef EMBER_PROMQL_LEXER_H
#define EMBER_PROMQL_LEXER_H

#include <stddef.h>
#include <stdint.h>

struct arena;

enum promql_tok {
    TOK_EOF,
    TOK_ERROR, /* lexer error; the message is in the lexer */
    TOK_IDENT,
    TOK_METRIC_IDENT, /* identifier containing ':' */
    TOK_NUMBER,
    TOK_DURATION,
    TOK_STRING,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_ASSIGN, /* = */
    TOK_COLON,
    TOK_AT,
    TOK_EQL_REGEX, /* =~ */
    TOK_NEQ_REGEX, /* !~ */
    /* binary operators: sub holds enum promql_op */
    TOK_OP,
    /* keywords: sub holds the keyword (or enum promql_agg for TOK_AGG) */
    TOK_AGG,
    TOK_KEYWORD,
};

enum promql_kw {
    KW_BOOL,
    KW_BY,
    KW_WITHOUT,
    KW_ON,
    KW_IGNORING,
    KW_GROUP_LEFT,
    KW_GROUP_RIGHT,
    KW_OFFSET,
    KW_START,
    KW_END,
};

struct promql_token {
    enum promql_tok type;
    int sub;
    uint32_t pos, len;
};

struct promql_lexer {
    const char *src;
    size_t n, pos;
    int brace_open, bracket_open;
    int duration_next; /* the previous token was '[': Go's lexer reads a duration there */
    uint32_t paren_depth;
    const char *err; /* static message or lexer-owned buffer below */
    char err_buf[128];
};

void promql_lexer_init(struct promql_lexer *lx, const char *src, size_t n);
/* Next token; TOK_ERROR leaves lx->err set and the token at the offending byte. */
void promql_lexer_next(struct promql_lexer *lx, struct promql_token *ret);
/* Decodes a TOK_STRING (with quotes) into the arena; NULL on a bad escape (err_buf says why). */
char *promql_lexer_unquote(struct arena *a, const char *s, size_t n, char *err_buf, size_t err_cap);

#endif
