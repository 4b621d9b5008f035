/* tests/unit/promql/test_parser.c — PromQL parsing: canonical printing of valid queries, the
 * parse → print → parse round trip, and Prometheus' error messages with their positions. */
#include <stdlib.h>

#include "promql/ast.h"
#include "promql/promql.h"
#include "test.h"

static struct arena *A;

static struct promql_expr *parse_ok(const char *q)
{
    struct err e = {0};
    struct promql_expr *x = NULL;
    int r = promql_parse(A, q, strlen(q), &x, &e);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "parse %s: %s", q, e.msg);
    return x;
}

/* Parses q, checks its canonical form, and that the canonical form parses to itself. */
static void check_format(const char *q, const char *want)
{
    if (!A)
        A = arena_new(0);
    struct promql_expr *x = parse_ok(q);
    char *got = promql_format(A, x);
    ASSERT_STR_EQ(got, want);
    struct promql_expr *y = parse_ok(got);
    ASSERT_STR_EQ(promql_format(A, y), want);
}

static void check_error(const char *q, const char *want)
{
    if (!A)
        A = arena_new(0);
    struct err e = {0};
    struct promql_expr *x = NULL;
    int r = promql_parse(A, q, strlen(q), &x, &e);
    if (r != ERR_PARSE)
        test_fail(__FILE__, __LINE__, "parse %s: expected error \"%s\", got %d", q, want, r);
    ASSERT_STR_EQ(e.msg, want);
}

static void check_error_prefix(const char *q, const char *want)
{
    struct err e = {0};
    struct promql_expr *x = NULL;
    ASSERT_EQ(promql_parse(A, q, strlen(q), &x, &e), ERR_PARSE);
    ASSERT_EQ(strncmp(e.msg, want, strlen(want)), 0);
}

TEST(literals)
{
    check_format("1", "1");
    check_format("12.34e6", "1.234e+07");
    check_format(".2", "0.2");
    check_format("2.", "2");
    check_format("+0.2", "0.2");
    check_format("-0.2e-6", "-2e-07");
    check_format("0x1F", "31");
    check_format("Inf", "+Inf");
    check_format("-inf", "-Inf");
    check_format("nAn", "NaN");
    check_format("\"a\\nb\"", "\"a\\nb\"");
    check_format("'it\\'s'", "\"it's\"");
    check_format("`raw\\n`", "\"raw\\\\n\"");
}

TEST(arithmetic_precedence)
{
    check_format("1 + 2 * 3", "1 + 2 * 3");
    check_format("1 - -1", "1 - -1");
    check_format("2 ^ 3 ^ 2", "2 ^ 3 ^ 2");
    check_format("-a ^ 2", "-a ^ 2");
    check_format("(1 + 2) * 3", "(1 + 2) * 3");
    check_format("a or b and c unless d", "a or b and c unless d");
    check_format("a > bool 1", "a > bool 1");
    check_format("a atan2 b", "a atan2 b");
    struct promql_expr *x = parse_ok("2 ^ 3 ^ 2");
    ASSERT_EQ(x->kind, NODE_BINARY);
    ASSERT_EQ(x->u.bin.r->kind, NODE_BINARY); /* right-associative */
    x = parse_ok("1 - 2 - 3");
    ASSERT_EQ(x->u.bin.l->kind, NODE_BINARY); /* left-associative */
    x = parse_ok("-2 ^ 2");
    ASSERT_EQ(x->kind, NODE_UNARY);
    x = parse_ok("a + b * c == d");
    ASSERT_EQ(x->u.bin.op, OP_EQL);
}

TEST(selectors)
{
    check_format("foo", "foo");
    check_format("foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~'h'}",
                 "foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\"}");
    check_format("{__name__=~\"foo.*\"}", "{__name__=~\"foo.*\"}");
    check_format("foo{a=\"b\",}", "foo{a=\"b\"}");
    check_format("foo:bar:baz", "foo:bar:baz");
    check_format("foo[5m]", "foo[5m]");
    check_format("foo[1h30m]", "foo[1h30m]");
    check_format("foo offset 5m", "foo offset 5m");
    check_format("foo offset -5m", "foo offset -5m");
    check_format("foo @ 100", "foo @ 100.000");
    check_format("foo offset 1m @ 1.5", "foo @ 1.500 offset 1m");
    check_format("foo[5m] @ start() offset 1d", "foo[5m] @ start() offset 1d");
    check_format("foo @ end()", "foo @ end()");
    check_format("rate(foo[5m])[30m:1m]", "rate(foo[5m])[30m:1m]");
    check_format("foo[10m:] offset 1w", "foo[10m:] offset 1w");
    check_format("min_over_time((a + b)[1h:5m] @ -10)", "min_over_time((a + b)[1h:5m] @ -10.000)");
    check_format("sum # a comment\n(x)", "sum(x)");
    check_format("by", "by");
    check_format("offset{a=\"b\"}", "offset{a=\"b\"}");
    struct promql_expr *x = parse_ok("foo @ 1.234");
    ASSERT_EQ(x->u.sel.mod.at_ms, 1234);
    x = parse_ok("foo[1h30m]");
    ASSERT_EQ(x->u.matrix.range_ms, 5400000);
}

TEST(matching_and_aggregations)
{
    check_format("a + on(x, y) b", "a + on (x, y) b");
    check_format("a + ignoring(x) group_left(y) b", "a + ignoring (x) group_left (y) b");
    check_format("a / on() group_right b", "a / on () group_right () b");
    check_format("a and on(x) b", "a and on (x) b");
    check_format("sum by (a, b) (x)", "sum by (a, b) (x)");
    check_format("sum(x) by (a)", "sum by (a) (x)");
    check_format("SUM BY (a) (x)", "sum by (a) (x)");
    check_format("avg without (a) (x)", "avg without (a) (x)");
    check_format("sum without () (x)", "sum without () (x)");
    check_format("sum by () (x)", "sum(x)");
    check_format("topk(3, x)", "topk(3, x)");
    check_format("count_values(\"v\", x)", "count_values(\"v\", x)");
    check_format("quantile(0.9, x) by (le)", "quantile by (le) (0.9, x)");
    check_format("sum by (on, by, group_left) (x)", "sum by (on, by, group_left) (x)");
}

TEST(functions)
{
    check_format("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")",
                 "label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")");
    check_format("time()", "time()");
    check_format("round(x)", "round(x)");
    check_format("round(x, 5)", "round(x, 5)");
    check_format("histogram_quantile(0.9, rate(b[5m]))", "histogram_quantile(0.9, rate(b[5m]))");
    check_format("year()", "year()");
    check_format("vector(1)", "vector(1)");
    check_format("abs(x,)", "abs(x)");
    ASSERT_EQ(promql_expr_type(parse_ok("scalar(x)")), PROMQL_SCALAR);
    ASSERT_EQ(promql_expr_type(parse_ok("x[5m]")), PROMQL_MATRIX);
    ASSERT_EQ(promql_expr_type(parse_ok("1 + x")), PROMQL_VECTOR);
    ASSERT_EQ(promql_expr_type(parse_ok("\"s\"")), PROMQL_STRING);
}

TEST(syntax_errors)
{
    check_error("", "1:1: parse error: no expression found in input");
    check_error("# only a comment", "1:1: parse error: no expression found in input");
    check_error("(1", "1:3: parse error: unclosed left parenthesis");
    check_error("1)", "1:3: parse error: unexpected right parenthesis ')'");
    check_error("(1))", "1:5: parse error: unexpected right parenthesis ')'");
    check_error("()", "1:2: parse error: unexpected \")\"");
    check_error("*1", "1:1: parse error: unexpected <op:*>");
    check_error("\"\\", "1:1: parse error: escape sequence not terminated");
    check_error("\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'");
    check_error("\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence");
    check_error("x{a='\\\"'}", "1:5: parse error: unknown escape sequence U+0022 '\"'");
    check_error("@@", "1:1: parse error: unexpected <op:@>");
    check_error("2.5.", "1:4: parse error: unexpected character: '.'");
    check_error("0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\"");
    check_error("5x", "1:1: parse error: bad number or duration syntax: \"5\"");
    /* inside brackets Go lexes only a duration (Prometheus 2.42: `rate(up[5x])`) */
    check_error("rate(up[5x])", "1:9: parse error: bad duration syntax: \"5\"");
    check_error("up[5m:1mx]", "1:7: parse error: bad number or duration syntax: \"1mx\"");
    check_error("up[x]", "1:4: parse error: bad duration syntax: \"\"");
    check_error("up[mx]", "1:4: parse error: bad duration syntax: \"mx\"");
    check_error("up[", "1:4: parse error: missing unit character in duration");
    check_error("up[-5m]", "1:4: parse error: missing unit character in duration");
    check_error("up[m]", "1:4: parse error: not a valid duration string: \"m\"");
    check_error("a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>");
    check_error("foo{a=\"\xff\"}", "1:7: parse error: invalid UTF-8 rune");
    check_error("foo{__name__ == \"bar\"}",
                "1:15: parse error: unexpected \"=\" in label matching, expected string");
    check_error("1 +", "1:4: parse error: unexpected end of input");
    check_error("foo{", "1:5: parse error: unexpected end of input inside braces");
    check_error("foo}", "1:4: parse error: unexpected right brace '}'");
    check_error("foo[5m", "1:7: parse error: unclosed left bracket");
    check_error("foo]", "1:4: parse error: unexpected right bracket ']'");
    check_error("foo[[5m]", "1:5: parse error: missing unit character in duration"); /* 2.42 */
    check_error("foo{a=\"b}", "1:10: parse error: unterminated quoted string");
    check_error("foo{a=\"b\" c=\"d\"}",
                "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" "
                "or \"}\"");
    check_error("foo{a}",
                "1:6: parse error: unexpected \"}\" in label matching, expected label matching "
                "operator");
    check_error("foo{a=b}", "1:7: parse error: unexpected identifier \"b\" in label matching, "
                            "expected string");
    check_error("foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected "
                          "identifier or \"}\"");
    check_error("foo{1}", "1:5: parse error: unexpected character inside braces: '1'");
    check_error("foo{a!b=\"c\"}",
                "1:6: parse error: unexpected character after '!' inside braces: 'b'");
    check_error("1 $ 2", "1:3: parse error: unexpected character: '$'");
    check_error("a !b", "1:3: parse error: unexpected character after '!': 'b'");
    check_error("a =~ b", "1:3: parse error: unexpected character after '=': '~'");
    check_error("5mm", "1:1: parse error: bad number or duration syntax: \"5mm\"");
    check_error("foo[5]", "1:5: parse error: missing unit character in duration");
    check_error("foo[5m:x]", "1:8: parse error: unexpected identifier \"x\", expected duration");
    check_error("foo:bar[5m] :", "1:13: parse error: unexpected colon ':'");
    check_error("unknown_fn(x)", "1:1: parse error: unknown function with name \"unknown_fn\"");
    check_error("sum(x", "1:6: parse error: unclosed left parenthesis");
    check_error("sum by (a b) (x)",
                "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" "
                "or \")\"");
    check_error("sum by (a:b) (x)",
                "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, "
                "expected label");
    check_error("sum()", "1:4: parse error: no arguments for aggregate expression provided");
    check_error("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression "
                           "provided, expected 2, got 1");
    check_error("a + bool", "1:9: parse error: unexpected end of input");
    check_error("a + group_left b", "1:5: parse error: unexpected <group_left>");
}

TEST(modifier_errors)
{
    check_error("1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant "
                               "vector selector or range vector selector or a subquery");
    check_error("foo offset 1m offset 2m",
                "1:1: parse error: offset may not be set multiple times");
    check_error("foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times");
    check_error("(foo) @ 1", "1:1: parse error: @ modifier must be preceded by an instant vector "
                             "selector or range vector selector or a subquery");
    check_error("foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf");
    check_error("foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf");
    check_error("foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN");
    check_error("foo offset 5m[5m]", "1:1: parse error: no offset modifiers allowed before range");
    check_error("foo @ 5 [5m]", "1:1: parse error: no @ modifiers allowed before range");
    check_error("(foo)[5m]", "1:1: parse error: ranges only allowed for vector selectors");
    check_error("foo[5m][5m:]",
                "1:1: parse error: subquery is only allowed on instant vector, got matrix instead");
    check_error("foo[1.5m]", "1:5: parse error: not a valid duration string: \"1.5m\"");
}

TEST(type_errors)
{
    check_error("rate(foo)", "1:6: parse error: expected type range vector in call to function "
                             "\"rate\", got instant vector");
    check_error("abs(foo[5m])", "1:5: parse error: expected type instant vector in call to "
                                "function \"abs\", got range vector");
    check_error("abs()", "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0");
    check_error("round()", "1:1: parse error: expected at least 1 argument(s) in call to "
                           "\"round\", got 0");
    check_error("round(x, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to "
                                  "\"round\", got 3");
    check_error("label_join(x, \"a\", \"b\", \"c\", 1)",
                "1:30: parse error: expected type string in call to function \"label_join\", got "
                "scalar");
    check_error("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier");
    check_error("a + bool b", "1:3: parse error: bool modifier can only be used on comparison "
                              "operators");
    check_error("1 and b", "1:1: parse error: set operator \"and\" not allowed in binary scalar "
                           "expression");
    check_error("a and on(x) group_left b",
                "1:1: parse error: no grouping allowed for \"and\" operation");
    check_error("1 + on(x) b",
                "1:1: parse error: vector matching only allowed between instant vectors");
    check_error("a + on(x) group_left(x) b",
                "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once");
    check_error("foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and "
                               "instant vector types");
    check_error("-\"s\"", "1:1: parse error: unary expression only allowed on expressions of "
                          "type scalar or instant vector, got \"string\"");
    check_error("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation "
                                "expression, got range vector");
    check_error("topk(\"a\", x)", "1:6: parse error: expected type scalar in aggregation "
                                  "parameter, got string");
    check_error("count_values(1, x)", "1:14: parse error: expected type string in aggregation "
                                      "parameter, got scalar");
    check_error("{}", "1:1: parse error: vector selector must contain at least one non-empty "
                      "matcher");
    check_error("{a=~\".*\"}", "1:1: parse error: vector selector must contain at least one "
                               "non-empty matcher");
    check_error("foo{__name__=\"bar\"}",
                "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"");
    check_error_prefix("foo{a=~\"(\"}", "1:5: parse error: "); /* message is the regex library's */
    check_error("a +\n\n  on(x) 1",
                "1:1: parse error: vector matching only allowed between instant vectors");
    check_error("foo +\n  (1", "2:5: parse error: unclosed left parenthesis");
}

TEST(deep_nesting_is_refused)
{
    if (!A)
        A = arena_new(0);
    size_t n = 20000;
    char *q = malloc(n + 2);
    memset(q, '(', n);
    q[n] = '1';
    q[n + 1] = 0;
    struct err e = {0};
    struct promql_expr *x;
    ASSERT_EQ(promql_parse(A, q, n + 1, &x, &e), ERR_PARSE);
    free(q);
    arena_free(A);
    A = NULL;
}
