/* server/webconfig.c — --web.config.file: libyaml through the same passes and key tables as
 * prometheus.yml (config_yaml.h), then the checks exporter-toolkit makes, so a file Prometheus
 * refuses is refused here too, with file, line and key. What ember does not implement (inline
 * certificates, cipher suites, rate_limit) is refused by name rather than silently ignored. */
#include "server/webconfig.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config_yaml.h"

/* A web config is a few lines; 1 MiB leaves room for thousands of users. */
#define WEBCONFIG_MAX_BYTES (1u << 20)

struct raw {
    const yaml_node_t *tls, *http, *users;
};

struct http_raw {
    bool http2;
    const yaml_node_t *headers;
};

static int tls_client_auth(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    static const char *const names[] = {
        [WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
        [WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
        [WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
        [WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
        [WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
    };
    struct webconfig *w = obj;
    const char *s;
    int r = config_get_str(l, "client_auth_type", v, &s);
    (void) k;
    if (r < 0)
        return r;
    if (!*s) {
        w->client_auth = WEBCONFIG_NO_CLIENT_CERT;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i])) {
            w->client_auth = (enum webconfig_client_auth) i;
            return 0;
        }
    char q[QUOTE_MAX + 4];
    return config_fail(l, v, ERR_PARSE,
                       "invalid client_auth_type '%s' (NoClientCert, RequestClientCert, "
                       "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
                       config_quote(s, strlen(s), q));
}

static int tls_version(struct ld *l, const yaml_node_t *v, const char *key, int *ret)
{
    static const struct {
        const char *name;
        int version;
    } versions[] = {{"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
    const char *s;
    int r = config_get_str(l, key, v, &s);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ARRAY_LEN(versions); i++)
        if (!strcmp(s, versions[i].name)) {
            *ret = versions[i].version;
            return 0;
        }
    char q[QUOTE_MAX + 4];
    return config_fail(l, v, ERR_PARSE, "unknown TLS version '%s' for %s (TLS10 … TLS13)",
                       config_quote(s, strlen(s), q), key);
}

static int tls_min(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) k;
    return tls_version(l, v, "min_version", &((struct webconfig *) obj)->min_version);
}

static int tls_max(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) k;
    return tls_version(l, v, "max_version", &((struct webconfig *) obj)->max_version);
}

static const struct field tls_fields[] = {
    FIELD("cert_file", F_STRING, struct webconfig, cert_file),
    FIELD("key_file", F_STRING, struct webconfig, key_file),
    FIELD("client_ca_file", F_STRING, struct webconfig, client_ca_file),
    FN("client_auth_type", tls_client_auth),
    FN("min_version", tls_min),
    FN("max_version", tls_max),
    LATER("cert"),
    LATER("key"),
    LATER("client_ca"),
    LATER("cipher_suites"),
    LATER("curve_preferences"),
    LATER("prefer_server_cipher_suites"),
    LATER("client_allowed_sans"),
};

static int http_headers(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) k;
    ((struct http_raw *) obj)->headers = v;
    return 0;
}

static const struct field http_fields[] = {
    FIELD("http2", F_BOOL, struct http_raw, http2),
    FN("headers", http_headers),
};

static int top_tls(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) l, (void) k;
    ((struct raw *) obj)->tls = v;
    return 0;
}

static int top_http(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) l, (void) k;
    ((struct raw *) obj)->http = v;
    return 0;
}

static int top_users(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    (void) l, (void) k;
    ((struct raw *) obj)->users = v;
    return 0;
}

static const struct field top_fields[] = {
    FN("tls_server_config", top_tls),
    FN("http_server_config", top_http),
    FN("basic_auth_users", top_users),
    LATER("rate_limit"),
};

/* exporter-toolkit's list: security headers only, so the file cannot break the API's own. */
static int load_headers(struct ld *l, const yaml_node_t *map, struct webconfig *w)
{
    static const char *const allowed[] = {"Strict-Transport-Security", "X-Content-Type-Options",
                                          "X-Frame-Options", "X-XSS-Protection",
                                          "Content-Security-Policy"};
    if (config_is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return config_fail(l, map, ERR_PARSE, "headers expects a mapping, got %s",
                           config_kind_name(map));
    struct pairs p;
    int r = config_mapping_pairs(l, map, &p);
    if (r < 0)
        return r;
    w->headers = arena_calloc(l->a, p.n + 1, sizeof *w->headers);
    if (!w->headers)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        const char *name = NULL;
        for (size_t j = 0; j < ARRAY_LEN(allowed) && !name; j++)
            if (strlen(allowed[j]) == pr->key_len && !strncasecmp(allowed[j], pr->key, pr->key_len))
                name = allowed[j];
        char q[QUOTE_MAX + 4];
        if (!name)
            return config_fail(l, pr->k, ERR_PARSE,
                               "header '%s' cannot be set in http_server_config (allowed: "
                               "Strict-Transport-Security, X-Content-Type-Options, "
                               "X-Frame-Options, X-XSS-Protection, Content-Security-Policy)",
                               config_quote(pr->key, pr->key_len, q));
        const char *value;
        if ((r = config_get_str(l, name, pr->v, &value)) < 0)
            return r;
        if (strpbrk(value, "\r\n"))
            return config_fail(l, pr->v, ERR_PARSE, "header %s: value holds a line break", name);
        if (!strcmp(name, "X-Content-Type-Options") && strcasecmp(value, "nosniff"))
            return config_fail(l, pr->v, ERR_PARSE,
                               "header X-Content-Type-Options: only \"nosniff\" is allowed");
        if (!strcmp(name, "X-Frame-Options") && strcasecmp(value, "deny") &&
            strcasecmp(value, "sameorigin"))
            return config_fail(l, pr->v, ERR_PARSE, "header X-Frame-Options: only \"deny\" or "
                                                    "\"sameorigin\" is allowed");
        w->headers[w->n_headers++] = (struct webconfig_header){name, value};
    }
    return 0;
}

/* A bcrypt hash libxcrypt can check: "$2a$", "$2b$" or "$2y$", cost, 53 characters of salt and
 * digest. Prometheus accepts only bcrypt here; anything else would never match. */
static int bcrypt_hash_valid(const char *h)
{
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$')
        return 0;
    return crypt_checksalt(h) == CRYPT_SALT_OK;
}

static int load_users(struct ld *l, const yaml_node_t *map, struct webconfig *w)
{
    if (config_is_null(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return config_fail(l, map, ERR_PARSE, "basic_auth_users expects a mapping, got %s",
                           config_kind_name(map));
    struct pairs p;
    int r = config_mapping_pairs(l, map, &p);
    if (r < 0)
        return r;
    w->users = arena_calloc(l->a, p.n + 1, sizeof *w->users);
    if (!w->users)
        return config_oom(l, l->a);
    for (uint32_t i = 0; i < p.n; i++) {
        const struct pair *pr = &p.v[i];
        char q[QUOTE_MAX + 4];
        config_quote(pr->key, pr->key_len, q);
        if (memchr(pr->key, ':', pr->key_len) || memchr(pr->key, '\0', pr->key_len))
            return config_fail(l, pr->k, ERR_PARSE,
                               "basic_auth_users: user name '%s' cannot hold ':' (Basic auth "
                               "splits user and password there)", q);
        char *name = arena_strndup(l->a, pr->key, pr->key_len);
        const char *hash;
        if (!name)
            return config_oom(l, l->a);
        if ((r = config_get_str(l, name, pr->v, &hash)) < 0)
            return r;
        if (!bcrypt_hash_valid(hash))
            return config_fail(l, pr->v, ERR_PARSE,
                               "basic_auth_users: the password of '%s' must be a bcrypt hash "
                               "($2y$…, e.g. from htpasswd -nBC 10 user)", q);
        w->users[w->n_users++] = (struct webconfig_user){name, hash};
    }
    return 0;
}

/* Relative paths are relative to the web config file, as in exporter-toolkit. */
static int resolve(struct ld *l, const char **path)
{
    if (!*path || !**path || (*path)[0] == '/' || !l->dir)
        return 0;
    size_t n = strlen(l->dir) + strlen(*path) + 2;
    char *p = arena_alloc(l->a, n);
    if (!p)
        return config_oom(l, l->a);
    (void) snprintf(p, n, "%s/%s", l->dir, *path);
    *path = p;
    return 0;
}

static int load_tls(struct ld *l, const yaml_node_t *v, struct webconfig *w)
{
    w->min_version = 0x0303; /* exporter-toolkit's default: TLS 1.2 */
    int r = config_section(l, v, "tls_server_config", tls_fields, ARRAY_LEN(tls_fields), w);
    if (r < 0)
        return r;
    int cert = w->cert_file && *w->cert_file, key = w->key_file && *w->key_file;
    int ca = w->client_ca_file && *w->client_ca_file;
    if (!cert && !key && !ca && w->client_auth == WEBCONFIG_NO_CLIENT_CERT)
        return 0; /* an empty section: plain HTTP, as exporter-toolkit does */
    if (!cert)
        return config_fail(l, v, ERR_PARSE, "tls_server_config: missing cert_file");
    if (!key)
        return config_fail(l, v, ERR_PARSE, "tls_server_config: missing key_file");
    if (ca && w->client_auth == WEBCONFIG_NO_CLIENT_CERT)
        return config_fail(l, v, ERR_PARSE,
                           "tls_server_config: client_ca_file is set but client_auth_type is "
                           "NoClientCert (set RequireAndVerifyClientCert or "
                           "VerifyClientCertIfGiven)");
    if (!ca && (w->client_auth == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ||
                w->client_auth == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT))
        return config_fail(l, v, ERR_PARSE,
                           "tls_server_config: client_auth_type verifies client certificates: "
                           "client_ca_file is required");
    if (w->max_version && w->max_version < w->min_version)
        return config_fail(l, v, ERR_PARSE, "tls_server_config: max_version is below min_version");
    w->tls = 1;
    if ((r = resolve(l, &w->cert_file)) < 0 || (r = resolve(l, &w->key_file)) < 0 ||
        (r = resolve(l, &w->client_ca_file)) < 0)
        return r;
    return 0;
}

static int load_root(struct ld *l, const yaml_node_t *root, void *obj)
{
    struct webconfig *w = obj;
    struct raw t = {0};
    int r;
    if (!root || config_is_null(root))
        return 0; /* an empty file: no TLS, no auth */
    if ((r = config_visit(l, root)) < 0)
        return r;
    if (root->type != YAML_MAPPING_NODE)
        return config_fail(l, root, ERR_PARSE, "the web configuration must be a mapping, got %s",
                           config_kind_name(root));
    if ((r = config_section(l, root, "the web configuration", top_fields, ARRAY_LEN(top_fields),
                            &t)) < 0)
        return r;
    if (t.tls && (r = load_tls(l, t.tls, w)) < 0)
        return r;
    if (t.http) {
        struct http_raw h = {0};
        if ((r = config_section(l, t.http, "http_server_config", http_fields,
                                ARRAY_LEN(http_fields), &h)) < 0)
            return r;
        if (h.headers && (r = load_headers(l, h.headers, w)) < 0)
            return r;
    }
    if (t.users && (r = load_users(l, t.users, w)) < 0)
        return r;
    return 0;
}

int webconfig_load_string(const char *name, const char *dir, const char *text, size_t len,
                          struct webconfig **ret, struct err *e)
{
    struct ld l = {.name = name, .dir = dir, .e = e, .targets = BUF_INIT};
    int r;
    if (len > WEBCONFIG_MAX_BYTES)
        return err_set(e, ERR_LIMIT, "%s: web configuration is %zu bytes, the limit is %u MiB",
                       name, len, WEBCONFIG_MAX_BYTES >> 20);
    l.a = arena_new(CONFIG_ARENA_CAP);
    l.tmp = arena_new(0);
    struct webconfig *w = l.a ? arena_calloc(l.a, 1, sizeof *w) : NULL;
    if (!l.tmp || !w) {
        r = err_set(e, -ENOMEM, "%s: out of memory", name);
        goto out;
    }
    w->arena = l.a;
    r = config_yaml_load(&l, text, len, load_root, w);
out:
    if ((r = config_ld_end(&l, r)) == 0)
        *ret = w;
    return r;
}

int webconfig_load_file(const char *path, struct webconfig **ret, struct err *e)
{
    struct buf b = BUF_INIT;
    char *dir = NULL;
    int r = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    for (;;) {
        if (buf_reserve(&b, 65536) < 0) {
            r = err_set(e, -ENOMEM, "%s: out of memory", path);
            break;
        }
        ssize_t got = read(fd, b.p + b.len, b.cap - b.len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = err_set(e, -errno, "%s: %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        b.len += (size_t) got;
        if (b.len > WEBCONFIG_MAX_BYTES)
            break; /* webconfig_load_string reports the size */
    }
    (void) close(fd);
    const char *slash = strrchr(path, '/');
    if (r == 0 && slash && !(dir = strndup(path, slash == path ? 1 : (size_t) (slash - path))))
        r = err_set(e, -ENOMEM, "%s: out of memory", path);
    if (r == 0)
        r = webconfig_load_string(path, dir, b.p ? (const char *) b.p : "", b.len, ret, e);
    free(dir);
    buf_free(&b);
    return r;
}

void webconfig_free(struct webconfig *w)
{
    if (w)
        arena_free(w->arena);
}
