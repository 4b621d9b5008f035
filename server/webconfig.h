/* server/webconfig.h — the web configuration file (--web.config.file) in Prometheus' format
 * (exporter-toolkit): tls_server_config, http_server_config and basic_auth_users. Loaded once at
 * start-up into an immutable struct; a bad file is refused with file, line and key. */
#ifndef EMBER_SERVER_WEBCONFIG_H
#define EMBER_SERVER_WEBCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "tsdb/base/base.h"

/* Go's tls.ClientAuthType values, under their web config names. */
enum webconfig_client_auth {
    WEBCONFIG_NO_CLIENT_CERT,
    WEBCONFIG_REQUEST_CLIENT_CERT,
    WEBCONFIG_REQUIRE_ANY_CLIENT_CERT,
    WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,
    WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT,
};

struct webconfig_user {
    const char *name, *hash; /* hash: bcrypt "$2y$10$…" (also $2a$, $2b$) */
};

struct webconfig_header {
    const char *name, *value; /* one of the security headers exporter-toolkit allows */
};

struct webconfig {
    struct arena *arena; /* everything below lives in it */
    int tls;             /* cert_file and key_file given: serve HTTPS only */
    /* Paths relative to the web config file's directory, resolved. */
    const char *cert_file, *key_file, *client_ca_file;
    enum webconfig_client_auth client_auth;
    int min_version, max_version; /* TLS protocol numbers (0x0303 = TLS 1.2); max 0: newest */
    struct webconfig_user *users;
    uint32_t n_users;
    struct webconfig_header *headers;
    uint32_t n_headers;
};

/* name: for messages; dir: what relative paths are relative to (NULL: as written).
 * ERR_PARSE with "name:line:col: …" for bad input. *ret is taken by the caller. */
int webconfig_load_string(const char *name, const char *dir, const char *text, size_t len,
                          struct webconfig **ret, struct err *e);
/* Reads path (blocking: start-up only). */
int webconfig_load_file(const char *path, struct webconfig **ret, struct err *e);
void webconfig_free(struct webconfig *w); /* NULL is fine */

#endif
