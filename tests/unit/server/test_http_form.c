/* tests/unit/server/test_http_form.c — parameters decoded like Go's Request.ParseForm
 * (grafana-compat.md §2.1): query + form body, %XX and '+' in keys and values, order of repeated
 * keys, media types with parameters, Go's error messages. */
#include "server/http_form.h"

#include "test.h"

static struct arena *A;

static struct http_form *parse(const char *method, const char *q, const char *body,
                               const char *ct, int want)
{
    struct http_form *f = NULL;
    struct err e = {0};
    int r = http_form_parse(A, method, q, q ? strlen(q) : 0, body, body ? strlen(body) : 0, ct,
                            &f, &e);
    if (r != want)
        test_fail(__FILE__, __LINE__, "http_form_parse = %d (want %d): %s", r, want, e.msg);
    return f;
}

#define SETUP() A = arena_new(1 << 20)
#define TEARDOWN() arena_free(A)

TEST(query_only)
{
    SETUP();
    struct http_form *f = parse("GET", "query=1%2B1&time=4", NULL, NULL, 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "1+1");
    ASSERT_STR_EQ(http_form_get(f, "time"), "4");
    ASSERT_TRUE(http_form_get(f, "missing") == NULL);
    ASSERT_EQ(f->n, 2);
    TEARDOWN();
}

TEST(plus_and_percent_in_keys)
{
    SETUP();
    struct http_form *f =
        parse("GET", "match%5B%5D=up&match[]=%7B__name__%3D~%22.*up.*%22%7D&q=sum+by+%28job%29",
              NULL, NULL, 0);
    ASSERT_EQ(http_form_count(f, "match[]"), 2);
    ASSERT_STR_EQ(http_form_value(f, "match[]", 0), "up");
    ASSERT_STR_EQ(http_form_value(f, "match[]", 1), "{__name__=~\".*up.*\"}");
    ASSERT_TRUE(http_form_value(f, "match[]", 2) == NULL);
    ASSERT_STR_EQ(http_form_get(f, "q"), "sum by (job)");
    uint32_t pos = 0, n = 0;
    const struct http_form_pair *p;
    while ((p = http_form_next(f, "match[]", &pos)))
        n++;
    ASSERT_EQ(n, 2);
    TEARDOWN();
}

TEST(post_body_first_then_url)
{
    SETUP();
    struct http_form *f = parse("POST", "query=fromurl&timeout=5s&match[]=b",
                                "query=frombody&match%5B%5D=a", "application/x-www-form-urlencoded",
                                0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "frombody"); /* body wins */
    ASSERT_STR_EQ(http_form_value(f, "query", 1), "fromurl");
    ASSERT_STR_EQ(http_form_get(f, "timeout"), "5s");
    ASSERT_STR_EQ(http_form_value(f, "match[]", 0), "a");
    ASSERT_STR_EQ(http_form_value(f, "match[]", 1), "b");
    TEARDOWN();
}

TEST(content_types)
{
    SETUP();
    struct http_form *f = parse("POST", NULL, "query=up",
                                "application/x-www-form-urlencoded; charset=UTF-8", 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "up");
    f = parse("POST", NULL, "query=up", "Application/X-WWW-Form-Urlencoded;charset=\"utf-8\"", 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "up");
    f = parse("POST", NULL, "query=up", "application/x-www-form-urlencoded;", 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "up");
    /* not a form: body ignored, like Prometheus (query then looks empty) */
    f = parse("POST", NULL, "query=up", "application/json", 0);
    ASSERT_TRUE(http_form_get(f, "query") == NULL);
    f = parse("POST", NULL, "query=up", NULL, 0);
    ASSERT_TRUE(http_form_get(f, "query") == NULL);
    /* GET never reads the body */
    f = parse("GET", "a=1", "query=up", "application/x-www-form-urlencoded", 0);
    ASSERT_TRUE(http_form_get(f, "query") == NULL);
    ASSERT_STR_EQ(http_form_get(f, "a"), "1");
    /* PUT and PATCH do */
    f = parse("PUT", NULL, "query=up", "application/x-www-form-urlencoded", 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "up");
    TEARDOWN();
}

TEST(bad_media_type)
{
    SETUP();
    struct err e;
    struct http_form *f = NULL;
    const char *b = "query=up";
    ASSERT_EQ(http_form_parse(A, "POST", "x=1", 3, b, strlen(b),
                              "application/x-www-form-urlencoded; charset", &f, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "mime: invalid media parameter");
    ASSERT_TRUE(f && http_form_get(f, "query") == NULL); /* body dropped, URL kept */
    ASSERT_STR_EQ(http_form_get(f, "x"), "1");
    char mt[64];
    ASSERT_EQ(http_form_media_type("", mt, sizeof mt, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "mime: no media type");
    ASSERT_EQ(http_form_media_type("text/", mt, sizeof mt, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "mime: expected token after slash");
    ASSERT_EQ(http_form_media_type("text/plain x", mt, sizeof mt, &e), ERR_PARSE);
    ASSERT_EQ(http_form_media_type(" Text/Plain ; a=b ; c=\"d;e\"", mt, sizeof mt, &e), 0);
    ASSERT_STR_EQ(mt, "text/plain");
    ASSERT_EQ(http_form_media_type("form-data", mt, sizeof mt, &e), 0);
    ASSERT_EQ(http_form_media_type("a/b; c=\"unterminated", mt, sizeof mt, &e), ERR_PARSE);
    TEARDOWN();
}

TEST(bad_escapes_like_go)
{
    SETUP();
    struct err e;
    struct http_form *f = NULL;
    const char *q = "a=1&b=%zz&c=3&d%=4&e=%4";
    ASSERT_EQ(http_form_parse(A, "GET", q, strlen(q), NULL, 0, NULL, &f, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid URL escape \"%zz\"");
    /* the good pairs are kept, as with Go's FormValue */
    ASSERT_STR_EQ(http_form_get(f, "a"), "1");
    ASSERT_STR_EQ(http_form_get(f, "c"), "3");
    ASSERT_TRUE(http_form_get(f, "b") == NULL);
    ASSERT_TRUE(http_form_get(f, "d") == NULL);
    ASSERT_TRUE(http_form_get(f, "e") == NULL);
    char *out;
    size_t n;
    ASSERT_EQ(http_form_unescape(A, "%4", 2, 1, &out, &n, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid URL escape \"%4\"");
    ASSERT_EQ(http_form_unescape(A, "x%", 2, 1, &out, &n, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid URL escape \"%\"");
    ASSERT_EQ(http_form_unescape(A, "%\xff", 2, 1, &out, &n, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid URL escape \"%\\xff\"");
    TEARDOWN();
}

TEST(semicolons_and_empty_pairs)
{
    SETUP();
    struct err e;
    struct http_form *f = NULL;
    const char *q = "&&a=1;b=2&&c=&=x&d";
    ASSERT_EQ(http_form_parse(A, "GET", q, strlen(q), NULL, 0, NULL, &f, &e), ERR_PARSE);
    ASSERT_STR_EQ(e.msg, "invalid semicolon separator in query");
    ASSERT_TRUE(http_form_get(f, "a") == NULL);
    ASSERT_STR_EQ(http_form_get(f, "c"), "");
    ASSERT_STR_EQ(http_form_get(f, ""), "x"); /* Go keeps an empty key with "=x" */
    ASSERT_STR_EQ(http_form_get(f, "d"), "");
    TEARDOWN();
}

TEST(unescape_path_vs_query)
{
    SETUP();
    char *out;
    size_t n;
    struct err e;
    ASSERT_EQ(http_form_unescape(A, "a+b%20c%2Fd", 11, 0, &out, &n, &e), 0);
    ASSERT_STR_EQ(out, "a+b c/d");
    ASSERT_EQ(http_form_unescape(A, "a+b%20c", 7, 1, &out, &n, &e), 0);
    ASSERT_STR_EQ(out, "a b c");
    ASSERT_EQ(http_form_unescape(A, "x%00y", 5, 1, &out, &n, &e), 0);
    ASSERT_EQ(n, 3);
    ASSERT_MEM_EQ(out, "x\0y", 3);
    TEARDOWN();
}

TEST(arena_cap)
{
    struct arena *a = arena_new(256);
    struct http_form *f = NULL;
    struct err e;
    char q[4096];
    size_t n = 0;
    while (n + 8 < sizeof q)
        n += (size_t) snprintf(q + n, sizeof q - n, "k%zu=v&", n);
    ASSERT_EQ(http_form_parse(a, "GET", q, n, NULL, 0, NULL, &f, &e), ERR_LIMIT);
    arena_free(a);
}

TEST(grafana_post)
{
    SETUP();
    const char *body = "end=1700003600&query=sum+by+%28job%29+%28up%29&start=1699982000&step=20";
    struct http_form *f = parse("POST", "", body, "application/x-www-form-urlencoded", 0);
    ASSERT_STR_EQ(http_form_get(f, "query"), "sum by (job) (up)");
    ASSERT_STR_EQ(http_form_get(f, "step"), "20");
    const char *b2 = "limit=40000&start=1&end=2&match%5B%5D=%7B__name__%3D%22up%22%7D";
    f = parse("POST", NULL, b2, "application/x-www-form-urlencoded", 0);
    ASSERT_STR_EQ(http_form_get(f, "match[]"), "{__name__=\"up\"}");
    TEARDOWN();
}
