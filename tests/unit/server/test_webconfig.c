/* tests/unit/server/test_webconfig.c — --web.config.file: what a good file yields, and for each
 * malformed input the error exporter-toolkit would give, with file:line:col; plus the Basic
 * auth header's base64 decoding. */
#include "server/webconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/auth.h"
#include "test.h"

#define HASH "$2y$10$Ukxw7o1jvCdSeEpeR6612.TRyLKLZNvxjvTIbGbivbIxZOui8PaIK"

static struct webconfig *load_ok(const char *yaml)
{
    struct webconfig *w = NULL;
    struct err e = {0};
    int r = webconfig_load_string("web.yml", "/etc/ember", yaml, strlen(yaml), &w, &e);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "load failed: %d: %s", r, e.msg);
    return w;
}

/* The error message for yaml, which must be refused with ERR_PARSE (static storage). */
static const char *load_bad(const char *yaml)
{
    static struct err e;
    struct webconfig *w = NULL;
    err_clear(&e);
    int r = webconfig_load_string("web.yml", "/etc/ember", yaml, strlen(yaml), &w, &e);
    if (r >= 0) {
        webconfig_free(w);
        test_fail(__FILE__, __LINE__, "loaded, expected an error for:\n%s", yaml);
    }
    ASSERT_EQ(r, ERR_PARSE);
    ASSERT_TRUE(w == NULL);
    ASSERT_TRUE(strncmp(e.msg, "web.yml:", 8) == 0);
    return e.msg;
}

TEST(full_file)
{
    struct webconfig *w = load_ok("tls_server_config:\n"
                                  "  cert_file: server.crt\n"
                                  "  key_file: /abs/server.key\n"
                                  "  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  client_ca_file: ca.crt\n"
                                  "  min_version: TLS13\n"
                                  "http_server_config:\n"
                                  "  http2: true\n"
                                  "  headers:\n"
                                  "    x-frame-options: deny\n"
                                  "basic_auth_users:\n"
                                  "  alice: " HASH "\n"
                                  "  bob: '" HASH "'\n");
    ASSERT_EQ(w->tls, 1);
    ASSERT_STR_EQ(w->cert_file, "/etc/ember/server.crt"); /* relative to the file */
    ASSERT_STR_EQ(w->key_file, "/abs/server.key");
    ASSERT_STR_EQ(w->client_ca_file, "/etc/ember/ca.crt");
    ASSERT_EQ(w->client_auth, WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT);
    ASSERT_EQ(w->min_version, 0x0304);
    ASSERT_EQ(w->max_version, 0);
    ASSERT_EQ(w->n_headers, 1);
    ASSERT_STR_EQ(w->headers[0].name, "X-Frame-Options");
    ASSERT_STR_EQ(w->headers[0].value, "deny");
    ASSERT_EQ(w->n_users, 2);
    ASSERT_STR_EQ(w->users[0].name, "alice");
    ASSERT_STR_EQ(w->users[1].hash, HASH);
    webconfig_free(w);
}

TEST(empty_means_plain_http_without_auth)
{
    const char *docs[] = {"", "# nothing\n", "tls_server_config:\n", "tls_server_config: {}\n",
                          "basic_auth_users:\n"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        struct webconfig *w = load_ok(docs[i]);
        ASSERT_EQ(w->tls, 0);
        ASSERT_EQ(w->n_users, 0);
        webconfig_free(w);
    }
    struct webconfig *w = load_ok("tls_server_config:\n  cert_file: a\n  key_file: b\n");
    ASSERT_EQ(w->min_version, 0x0303); /* TLS 1.2 unless told */
    ASSERT_EQ(w->client_auth, WEBCONFIG_NO_CLIENT_CERT);
    webconfig_free(w);
}

TEST(malformed_files_are_refused_with_position)
{
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n"), "missing key_file");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  key_file: a\n"), "missing cert_file");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                                 "  client_auth_type: Sometimes\n"),
                        "web.yml:4:21: invalid client_auth_type 'Sometimes'");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                                 "  client_ca_file: ca\n"),
                        "client_auth_type is NoClientCert");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                                 "  client_auth_type: RequireAndVerifyClientCert\n"),
                        "client_ca_file is required");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                                 "  min_version: SSL30\n"),
                        "unknown TLS version 'SSL30' for min_version");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                                 "  min_version: TLS13\n  max_version: TLS12\n"),
                        "max_version is below min_version");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cipher_suites: [x]\n"),
                        "key 'cipher_suites' is not supported yet");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config:\n  cert_fil: a\n"),
                        "web.yml:2:3: unknown key 'cert_fil' in tls_server_config");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users:\n  admin: secret\n"),
                        "the password of 'admin' must be a bcrypt hash");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users:\n  admin: $1$abc$def\n"), "bcrypt hash");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users:\n  'a:b': " HASH "\n"), "cannot hold ':'");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users: [a]\n"),
                        "basic_auth_users expects a mapping");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users:\n  a: " HASH "\n  a: " HASH "\n"), "a");
    ASSERT_STR_CONTAINS(load_bad("http_server_config:\n  headers:\n    Server: x\n"),
                        "header 'Server' cannot be set");
    ASSERT_STR_CONTAINS(load_bad("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
                        "X-Frame-Options");
    ASSERT_STR_CONTAINS(load_bad("rate_limit:\n  burst: 1\n"), "not supported yet");
    ASSERT_STR_CONTAINS(load_bad("- a\n"), "must be a mapping");
    ASSERT_STR_CONTAINS(load_bad("tls_server_config: {cert_file: a\n"), "web.yml:");
    ASSERT_STR_CONTAINS(load_bad("basic_auth_users:\n  admin: [x]\n"), "expects a string");
}

TEST(file_errors_name_the_file)
{
    struct webconfig *w = NULL;
    struct err e = {0};
    ASSERT_EQ(webconfig_load_file("/nonexistent/web.yml", &w, &e), -ENOENT);
    ASSERT_STR_CONTAINS(e.msg, "/nonexistent/web.yml");
    char path[] = "/tmp/ember-webconfig-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    static const char text[] = "basic_auth_users:\n  u: " HASH "\n";
    ASSERT_EQ(write(fd, text, sizeof text - 1), (ssize_t) (sizeof text - 1));
    close(fd);
    ASSERT_OK_E(webconfig_load_file(path, &w, &e), &e);
    ASSERT_EQ(w->n_users, 1);
    webconfig_free(w);
    unlink(path);
}

TEST(base64_as_go_decodes_basic_auth)
{
    char out[64];
    ASSERT_EQ(auth_base64_decode("YWRtaW46c2VjcmV0", 16, out, sizeof out), 12);
    ASSERT_MEM_EQ(out, "admin:secret", 12);
    ASSERT_EQ(auth_base64_decode("YTpi", 4, out, sizeof out), 3);
    ASSERT_EQ(auth_base64_decode("YTo=", 4, out, sizeof out), 2);
    ASSERT_EQ(auth_base64_decode("YQ==", 4, out, sizeof out), 1);
    ASSERT_EQ(auth_base64_decode("", 0, out, sizeof out), 0);
    ASSERT_EQ(auth_base64_decode("YQ=", 3, out, sizeof out), -1);   /* unpadded */
    ASSERT_EQ(auth_base64_decode("Y===", 4, out, sizeof out), -1);   /* too much padding */
    ASSERT_EQ(auth_base64_decode("YQ==YQ==", 8, out, sizeof out), -1); /* padding inside */
    ASSERT_EQ(auth_base64_decode("YW!u", 4, out, sizeof out), -1);
    ASSERT_EQ(auth_base64_decode("YW\0u", 4, out, sizeof out), -1);
    ASSERT_EQ(auth_base64_decode("YWRtaW46c2VjcmV0", 16, out, 5), -1); /* no room */
}

