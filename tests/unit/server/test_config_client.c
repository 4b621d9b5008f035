/* tests/unit/server/test_config_client.c — the HTTP client keys and limits of a scrape_config:
 * Prometheus' defaults, the Authorization value built from each auth form (secret files read at
 * load, relative to the config file, trimmed), Prometheus' validation messages, byte sizes with
 * units, and malformed values refused with file:line:col. */
#include "server/config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static struct config *load_ok(const char *yaml)
{
    struct config *c = NULL;
    struct err e = {0};
    int r = config_load_string("t.yml", yaml, strlen(yaml), &c, &e);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "load failed: %d: %s", r, e.msg);
    return c;
}

static const char *load_bad(const char *yaml)
{
    static struct err e;
    struct config *c = NULL;
    err_clear(&e);
    int r = config_load_string("t.yml", yaml, strlen(yaml), &c, &e);
    if (r >= 0) {
        config_free(c);
        test_fail(__FILE__, __LINE__, "loaded, expected an error for:\n%s", yaml);
    }
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_TRUE(c == NULL);
    return e.msg;
}

/* One job "j" with the given extra keys (YAML flow mapping body). */
static const char *job(const char *keys)
{
    static char y[1024];
    (void) snprintf(y, sizeof y, "scrape_configs: [{job_name: j, %s}]\n", keys);
    return y;
}

TEST(defaults_are_prometheus_defaults)
{
    struct config *c = load_ok("scrape_configs: [{job_name: j}]\n");
    const struct scrape_client *cl = &c->scrapes[0].client;
    ASSERT_TRUE(cl->tls == NULL);
    ASSERT_TRUE(cl->authorization == NULL);
    ASSERT_EQ(cl->no_follow_redirects, 0);
    ASSERT_EQ(cl->no_compression, 0);
    ASSERT_EQ(cl->body_size_limit, 0);
    ASSERT_EQ(cl->sample_limit, 0);
    ASSERT_EQ(cl->label_limit, 0);
    ASSERT_EQ(c->scrapes[0].target_limit, 0);
    config_free(c);
}

TEST(https_builds_a_tls_context)
{
    struct config *c = load_ok(job("scheme: https"));
    ASSERT_EQ(c->scrapes[0].scheme, CONFIG_SCHEME_HTTPS);
    ASSERT_TRUE(c->scrapes[0].client.tls != NULL);
    config_free(c);
    c = load_ok(job("tls_config: {insecure_skip_verify: true, server_name: x, "
                    "min_version: TLS13}"));
    ASSERT_TRUE(c->scrapes[0].client.tls != NULL); /* a relabeled __scheme__ may need it */
    config_free(c);
}

TEST(auth_forms_become_one_authorization_value)
{
    struct config *c = load_ok(job("basic_auth: {username: alice, password: s3cret}"));
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Basic YWxpY2U6czNjcmV0");
    config_free(c);
    c = load_ok(job("basic_auth: {username: a}"));
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Basic YTo=");
    config_free(c);
    c = load_ok(job("bearer_token: tok"));
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Bearer tok");
    config_free(c);
    c = load_ok(job("authorization: {credentials: tok}"));
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Bearer tok");
    config_free(c);
    c = load_ok(job("authorization: {type: ' Token ', credentials: tok}"));
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Token tok");
    config_free(c);
    c = load_ok(job("authorization: {type: Token}")); /* no credentials: no header */
    ASSERT_TRUE(c->scrapes[0].client.authorization == NULL);
    config_free(c);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        abort();
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    (void) fputs(text, f);
    (void) fclose(f);
    return path;
}

static struct config *load_file(const char *dir, const char *yaml, struct err *e, int *ret)
{
    char *path = write_tmp(dir, "prometheus.yml", yaml);
    struct config *c = NULL;
    *ret = config_load_file(path, &c, e);
    free(path);
    return c;
}

TEST(secret_files_are_read_at_load_relative_to_the_config)
{
    char *dir = test_tmpdir();
    free(write_tmp(dir, "pw", "  s3cret\n"));
    free(write_tmp(dir, "tok", "tok-file\n\n"));
    struct err e = {0};
    int r;
    struct config *c = load_file(dir, job("basic_auth: {username: alice, password_file: pw}"),
                                 &e, &r);
    ASSERT_OK_E(r, &e);
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Basic YWxpY2U6czNjcmV0");
    config_free(c);
    c = load_file(dir, job("bearer_token_file: tok"), &e, &r);
    ASSERT_OK_E(r, &e);
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Bearer tok-file");
    config_free(c);
    c = load_file(dir, job("authorization: {type: Token, credentials_file: tok}"), &e, &r);
    ASSERT_OK_E(r, &e);
    ASSERT_STR_EQ(c->scrapes[0].client.authorization, "Token tok-file");
    config_free(c);
    c = load_file(dir, job("basic_auth: {username: a, password_file: missing}"), &e, &r);
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_TRUE(c == NULL);
    ASSERT_STR_CONTAINS(e.msg, "unable to read basic auth password file ");
    ASSERT_STR_CONTAINS(e.msg, "/missing: No such file or directory");
    c = load_file(dir, job("tls_config: {ca_file: missing.crt}"), &e, &r);
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "job 'j': tls_config: unable to load specified CA cert ");
    free(write_tmp(dir, "junk.crt", "not a certificate\n"));
    c = load_file(dir, job("tls_config: {ca_file: junk.crt}"), &e, &r);
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "unable to use specified CA cert ");
    c = load_file(dir, job("tls_config: {cert_file: junk.crt, key_file: pw}"), &e, &r);
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "unable to use specified client cert (");
    free(write_tmp(dir, "crlf", "a\r\nb\n"));
    c = load_file(dir, job("bearer_token_file: crlf"), &e, &r);
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "authorization credentials contain a line break");
    test_tmpdir_remove(dir);

}

TEST(auth_combinations_refused_with_prometheus_words)
{
    static const char *const cases[][2] = {
        {"bearer_token: a, bearer_token_file: b",
         "t.yml:1:18: job 'j': at most one of bearer_token & bearer_token_file must be "
         "configured"},
        {"basic_auth: {username: u}, bearer_token: a",
         "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"},
        {"basic_auth: {password: p, password_file: f}",
         "at most one of basic_auth password & password_file must be configured"},
        {"authorization: {credentials: c}, bearer_token_file: f",
         "authorization is not compatible with bearer_token & bearer_token_file"},
        {"authorization: {credentials: c, credentials_file: f}",
         "at most one of authorization credentials & credentials_file must be configured"},
        {"authorization: {type: BASIC, credentials: c}",
         "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"},
        {"authorization: {credentials: c}, basic_auth: {}",
         "at most one of basic_auth, oauth2 & authorization must be configured"},
        {"tls_config: {cert_file: c.crt}",
         "client cert file \"c.crt\" specified without client key file"},
        {"tls_config: {key_file: c.key}",
         "client key file \"c.key\" specified without client cert file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ASSERT_STR_CONTAINS(load_bad(job(cases[i][0])), cases[i][1]);
}

TEST(malformed_client_keys)
{
    ASSERT_STR_EQ(load_bad(job("tls_config: {min_version: TLS9}")),
                  "t.yml:1:58: unknown TLS version: TLS9");
    ASSERT_STR_CONTAINS(load_bad(job("tls_config: {nope: 1}")), "unknown key 'nope' in tls_config");
    ASSERT_STR_CONTAINS(load_bad(job("tls_config: {max_version: TLS13}")),
                        "key 'max_version' is not supported yet (in tls_config)");
    ASSERT_STR_CONTAINS(load_bad(job("basic_auth: {user: a}")), "unknown key 'user' in basic_auth");
    ASSERT_STR_CONTAINS(load_bad(job("basic_auth: [a]")), "basic_auth expects a mapping");
    ASSERT_STR_CONTAINS(load_bad(job("tls_config: {insecure_skip_verify: maybe}")),
                        "insecure_skip_verify");
    ASSERT_STR_CONTAINS(load_bad(job("follow_redirects: 3")), "follow_redirects");
    ASSERT_STR_CONTAINS(load_bad(job("bearer_token: [a]")), "key 'bearer_token' expects a string");
    ASSERT_STR_CONTAINS(load_bad(job("oauth2: {}")), "key 'oauth2' is not supported yet");
}

TEST(redirects_and_compression)
{
    struct config *c = load_ok(job("follow_redirects: false, enable_compression: false"));
    ASSERT_EQ(c->scrapes[0].client.no_follow_redirects, 1);
    ASSERT_EQ(c->scrapes[0].client.no_compression, 1);
    config_free(c);
    c = load_ok(job("follow_redirects: true, enable_compression: yes"));
    ASSERT_EQ(c->scrapes[0].client.no_follow_redirects, 0);
    ASSERT_EQ(c->scrapes[0].client.no_compression, 0);
    config_free(c);
}

static uint64_t body_limit(const char *v)
{
    char keys[128];
    (void) snprintf(keys, sizeof keys, "body_size_limit: '%s'", v);
    struct config *c = load_ok(job(keys));
    uint64_t n = c->scrapes[0].client.body_size_limit;
    config_free(c);
    return n;
}

TEST(limits_and_sizes)
{
    struct config *c = load_ok(job("sample_limit: 100, label_limit: 30, "
                                   "label_name_length_limit: 200, label_value_length_limit: 2048, "
                                   "target_limit: 7, body_size_limit: 10MB"));
    const struct scrape_client *cl = &c->scrapes[0].client;
    ASSERT_EQ(cl->sample_limit, 100);
    ASSERT_EQ(cl->label_limit, 30);
    ASSERT_EQ(cl->label_name_length_limit, 200);
    ASSERT_EQ(cl->label_value_length_limit, 2048);
    ASSERT_EQ(cl->body_size_limit, 10u << 20);
    ASSERT_EQ(c->scrapes[0].target_limit, 7);
    config_free(c);
    ASSERT_EQ(body_limit("0"), 0);
    ASSERT_EQ(body_limit("512B"), 512);
    ASSERT_EQ(body_limit("1KB"), 1024);
    ASSERT_EQ(body_limit("1KiB"), 1024);
    ASSERT_EQ(body_limit("2GB"), 2ull << 30);
    ASSERT_EQ(body_limit("1GB512MB"), (1ull << 30) + (512ull << 20));
    ASSERT_EQ(body_limit("1.5MB"), 3ull << 19);
    ASSERT_EQ(body_limit("1EB"), 1ull << 60);

    static const char *const bad_sizes[] = {"10", "10XB", "-1MB", "MB", "1.5", "1 MB", "1mb",
                                            "1KiBB", "", "1B2", "99999EB"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        char keys[128];
        (void) snprintf(keys, sizeof keys, "body_size_limit: '%s'", bad_sizes[i]);
        ASSERT_STR_CONTAINS(load_bad(job(keys)), "key 'body_size_limit': invalid size");
    }
    ASSERT_STR_CONTAINS(load_bad(job("body_size_limit: [1]")),
                        "key 'body_size_limit' expects a size such as 10MB, got a list");
    ASSERT_STR_EQ(load_bad(job("sample_limit: -1")),
                  "t.yml:1:46: key 'sample_limit' expects an unsigned integer, got '-1'");
    ASSERT_STR_CONTAINS(load_bad(job("label_limit: 1.5")), "expects an unsigned integer");
    ASSERT_STR_CONTAINS(load_bad(job("label_value_length_limit: ~")),
                        "expects an unsigned integer, got nothing");
    ASSERT_STR_CONTAINS(load_bad(job("label_name_length_limit: 99999999999999999999999")),
                        "expects an unsigned integer");
    ASSERT_STR_CONTAINS(load_bad(job("target_limit: 5000000000")),
                        "key 'target_limit' expects an unsigned integer that fits, got "
                        "'5000000000'");
}
