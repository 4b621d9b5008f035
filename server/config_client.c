/* server/config_client.c — Prometheus' HTTP client keys (basic_auth, authorization,
 * bearer_token[_file], tls_config; for a scrape_config also follow_redirects, enable_compression
 * and the limits body_size_limit, sample_limit, label_*_limit, target_limit). scrape_configs and
 * alerting.alertmanagers read them with the same code: keys one by one (config_client_key,
 * config_client_http_key), then checked together and turned into an Authorization value and a
 * TLS context (config_client_auth_tls): Prometheus' validation messages, secret files read and
 * the TLS context built here, at load time, so neither the scrape loop nor the notifier ever
 * reads a file. */
#include "server/config_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 65536 /* a password or token file; bigger is a mistake */

struct basic_auth_ld {
    const char *username, *password, *password_file;
};

struct authorization_ld {
    const char *type, *credentials, *credentials_file;
};

struct tls_ld {
    const char *ca_file, *cert_file, *key_file, *server_name;
    bool insecure_skip_verify;
    int min_version;
};

/* What the keys said, before they are checked together. has_*: the section was given. */
struct client_ld {
    int has_basic, has_authz, has_tls;
    const yaml_node_t *tls_node;
    struct basic_auth_ld basic;
    struct authorization_ld authz;
    struct tls_ld tls;
    const char *bearer_token, *bearer_token_file;
    bool follow_redirects, enable_compression;
};

static int has(const char *s)
{
    return s && *s;
}

static int tls_min_version(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    static const struct {
        const char *name;
        int version;
    } versions[] = {{"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
    char q[QUOTE_MAX + 4];
    const char *s;
    int r = config_get_str(l, "min_version", v, &s);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ARRAY_LEN(versions); i++)
        if (!strcmp(s, versions[i].name))
            return ((struct tls_ld *) obj)->min_version = versions[i].version, 0;
    return config_fail(l, v, ERR_PARSE, "unknown TLS version: %s", config_quote(s, strlen(s), q));
}

static const struct field basic_auth_fields[] = {
    FIELD("username", F_STRING, struct basic_auth_ld, username),
    FIELD("password", F_STRING, struct basic_auth_ld, password),
    FIELD("password_file", F_STRING, struct basic_auth_ld, password_file),
    LATER("username_file"), LATER("username_ref"), LATER("password_ref"),
};

static const struct field authorization_fields[] = {
    FIELD("type", F_STRING, struct authorization_ld, type),
    FIELD("credentials", F_STRING, struct authorization_ld, credentials),
    FIELD("credentials_file", F_STRING, struct authorization_ld, credentials_file),
    LATER("credentials_ref"),
};

static const struct field tls_fields[] = {
    FIELD("ca_file", F_STRING, struct tls_ld, ca_file),
    FIELD("cert_file", F_STRING, struct tls_ld, cert_file),
    FIELD("key_file", F_STRING, struct tls_ld, key_file),
    FIELD("server_name", F_STRING, struct tls_ld, server_name),
    FIELD("insecure_skip_verify", F_BOOL, struct tls_ld, insecure_skip_verify),
    FN("min_version", tls_min_version),
    LATER("max_version"), LATER("ca"), LATER("cert"), LATER("key"), LATER("ca_ref"),
    LATER("cert_ref"), LATER("key_ref"),
};

/* A size as Prometheus' body_size_limit (units.Base2Bytes): a number and a unit, B, KB, MB, GB,
 * TB, PB, EB (powers of 1024, also spelled KiB, MiB, ...), several terms summed ("1GB512MB");
 * "0" alone is 0 (no limit). */
static int get_size(struct ld *l, const char *key, const yaml_node_t *v, uint64_t *ret)
{
    static const char prefixes[] = "KMGTPE"; /* 1024^1 .. 1024^6 */
    char q[QUOTE_MAX + 4];
    if (v->type != YAML_SCALAR_NODE || config_is_null(v))
        return config_fail(l, v, ERR_PARSE, "key '%s' expects a size such as 10MB, got %s", key,
                           config_kind_name(v));
    const char *s = config_scalar(v), *p = s, *end = s + v->data.scalar.length;
    double total = 0;
    int ok = p < end;
    if (end - p == 1 && *p == '0')
        return *ret = 0, 0;
    while (ok && p < end) {
        double num = 0, scale = 1;
        const char *d = p;
        while (p < end && isdigit((unsigned char) *p))
            num = num * 10 + (*p++ - '0');
        if (p < end && *p == '.')
            for (p++; p < end && isdigit((unsigned char) *p); p++)
                num = num * 10 + (*p - '0'), scale *= 10;
        ok = p > d;
        const char *u = p;
        while (p < end && isalpha((unsigned char) *p))
            p++;
        size_t un = (size_t) (p - u);
        const char *pre = un >= 2 ? strchr(prefixes, u[0]) : NULL;
        int power = pre && u[0] ? (int) (pre - prefixes) + 1 : 0;
        if (un == 1)
            ok = ok && u[0] == 'B';
        else if (un == 2)
            ok = ok && power && u[1] == 'B';
        else if (un == 3)
            ok = ok && power && u[1] == 'i' && u[2] == 'B';
        else
            ok = 0;
        double mult = 1;
        for (int i = 0; i < power; i++)
            mult *= 1024;
        total += num / scale * mult;
    }
    if (!ok || total >= 18446744073709551615.0)
        return config_fail(l, v, ERR_PARSE, "key '%s': invalid size '%s' (a number and a unit: "
                           "B, KB, MB, GB, TB, PB, EB or KiB, MiB, ...)", key,
                           config_quote(s, (size_t) (end - s), q));
    *ret = (uint64_t) total;
    return 0;
}

static struct client_ld *client_of(struct ld *l)
{
    if (!l->client) {
        l->client = arena_calloc(l->tmp, 1, sizeof *l->client);
        if (l->client)
            l->client->follow_redirects = l->client->enable_compression = true;
    }
    return l->client;
}

static int key_is(const yaml_node_t *k, const char *name)
{
    return k->data.scalar.length == strlen(name) && !memcmp(config_scalar(k), name,
                                                            k->data.scalar.length);
}

int config_client_http_key(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct client_ld *c = client_of(l);
    (void) obj; /* the keys land in l->client until config_client_auth_tls */
    if (!c)
        return config_oom(l, l->tmp);
    if (key_is(k, "basic_auth")) {
        c->has_basic = !config_is_null(v);
        return config_section(l, v, "basic_auth", basic_auth_fields,
                              ARRAY_LEN(basic_auth_fields), &c->basic);
    }
    if (key_is(k, "authorization")) {
        c->has_authz = !config_is_null(v);
        return config_section(l, v, "authorization", authorization_fields,
                              ARRAY_LEN(authorization_fields), &c->authz);
    }
    if (key_is(k, "tls_config")) {
        c->has_tls = !config_is_null(v);
        c->tls_node = v;
        return config_section(l, v, "tls_config", tls_fields, ARRAY_LEN(tls_fields), &c->tls);
    }
    if (key_is(k, "bearer_token"))
        return config_get_str(l, "bearer_token", v, &c->bearer_token);
    if (key_is(k, "bearer_token_file"))
        return config_get_str(l, "bearer_token_file", v, &c->bearer_token_file);
    return config_fail(l, k, ERR_INTERNAL, "config_client_http_key: unexpected key");
}

int config_client_key(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    struct config_scrape *j = obj;
    struct client_ld *c = client_of(l);
    uint64_t n;
    int r;
    if (!c)
        return config_oom(l, l->tmp);
    if (key_is(k, "basic_auth") || key_is(k, "authorization") || key_is(k, "tls_config") ||
        key_is(k, "bearer_token") || key_is(k, "bearer_token_file"))
        return config_client_http_key(l, obj, k, v);
    if (key_is(k, "follow_redirects"))
        return config_get_bool(l, "follow_redirects", v, &c->follow_redirects);
    if (key_is(k, "enable_compression"))
        return config_get_bool(l, "enable_compression", v, &c->enable_compression);
    if (key_is(k, "body_size_limit"))
        return get_size(l, "body_size_limit", v, &j->client.body_size_limit);
    if (key_is(k, "sample_limit"))
        return config_get_uint(l, "sample_limit", v, UINT64_MAX, &j->client.sample_limit);
    if (key_is(k, "label_limit"))
        return config_get_uint(l, "label_limit", v, UINT64_MAX, &j->client.label_limit);
    if (key_is(k, "label_name_length_limit"))
        return config_get_uint(l, "label_name_length_limit", v, UINT64_MAX,
                        &j->client.label_name_length_limit);
    if (key_is(k, "label_value_length_limit"))
        return config_get_uint(l, "label_value_length_limit", v, UINT64_MAX,
                        &j->client.label_value_length_limit);
    if (key_is(k, "target_limit")) {
        if ((r = config_get_uint(l, "target_limit", v, UINT32_MAX, &n)) < 0)
            return r;
        j->target_limit = (uint32_t) n;
        return 0;
    }
    return config_fail(l, k, ERR_INTERNAL, "config_client_key: unexpected key");
}

/* A relative file name is relative to the config file's directory, as Prometheus' SetDirectory
 * makes it. */
static const char *resolve(struct ld *l, const char *path)
{
    if (!has(path) || path[0] == '/' || !l->dir)
        return path;
    return arena_printf(l->a, "%s%s%s", l->dir, strcmp(l->dir, "/") ? "/" : "", path);
}

/* A secret file's content with surrounding white space trimmed (Go's strings.TrimSpace), in
 * l->tmp. what names it in the error as Prometheus does ("basic auth password file"). */
static int read_secret(struct ld *l, const yaml_node_t *at, const char *what, const char *path,
                       const char **ret)
{
    char *buf = arena_alloc(l->tmp, SECRET_MAX + 1);
    if (!buf)
        return config_oom(l, l->tmp);
    FILE *f = fopen(path, "rb");
    if (!f)
        return config_fail(l, at, ERR_PARSE, "unable to read %s %s: %s", what, path,
                           strerror(errno));
    size_t n = fread(buf, 1, SECRET_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > SECRET_MAX)
        return config_fail(l, at, ERR_PARSE, "unable to read %s %s: %s", what, path,
                           bad ? "input/output error" : "larger than 64 KiB");
    size_t b = 0;
    while (b < n && isspace((unsigned char) buf[b]))
        b++;
    while (n > b && isspace((unsigned char) buf[n - 1]))
        n--;
    buf[n] = '\0';
    *ret = buf + b;
    return 0;
}

static const char *trim_space(struct ld *l, const char *s)
{
    size_t b = 0, n = strlen(s);
    while (b < n && isspace((unsigned char) s[b]))
        b++;
    while (n > b && isspace((unsigned char) s[n - 1]))
        n--;
    return arena_strndup(l->tmp, s + b, n - b);
}

static char *base64(struct arena *a, const char *s, size_t n)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = arena_alloc(a, (n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t) (unsigned char) s[i] << 16;
        if (i + 1 < n)
            x |= (uint32_t) (unsigned char) s[i + 1] << 8;
        if (i + 2 < n)
            x |= (unsigned char) s[i + 2];
        *o++ = al[x >> 18 & 63];
        *o++ = al[x >> 12 & 63];
        *o++ = i + 1 < n ? al[x >> 6 & 63] : '=';
        *o++ = i + 2 < n ? al[x & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* The auth keys checked together with Prometheus' messages, in its order. */
static const char *auth_problem(struct client_ld *c)
{
    int bearer = has(c->bearer_token) || has(c->bearer_token_file);
    if (has(c->bearer_token) && has(c->bearer_token_file))
        return "at most one of bearer_token & bearer_token_file must be configured";
    if (c->has_basic && bearer)
        return "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
               "configured";
    if (c->has_basic && has(c->basic.password) && has(c->basic.password_file))
        return "at most one of basic_auth password & password_file must be configured";
    if (c->has_authz && bearer)
        return "authorization is not compatible with bearer_token & bearer_token_file";
    if (c->has_authz && has(c->authz.credentials) && has(c->authz.credentials_file))
        return "at most one of authorization credentials & credentials_file must be configured";
    if (c->has_authz && c->authz.type && !strcasecmp(c->authz.type, "basic"))
        return "authorization type cannot be set to \"basic\", use \"basic_auth\" instead";
    if (c->has_authz && c->has_basic)
        return "at most one of basic_auth, oauth2 & authorization must be configured";
    return NULL;
}

/* The Authorization header value, or NULL for none; files read now. */
static int build_authorization(struct ld *l, const yaml_node_t *at, struct client_ld *c,
                               const char **ret)
{
    const char *secret = NULL, *type = "Bearer";
    int r;
    *ret = NULL;
    if (c->has_basic) {
        const char *pw = c->basic.password ? c->basic.password : "";
        if (has(c->basic.password_file) &&
            (r = read_secret(l, at, "basic auth password file",
                             resolve(l, c->basic.password_file), &pw)) < 0)
            return r;
        if (!(pw = trim_space(l, pw)))
            return config_oom(l, l->tmp);
        const char *user = c->basic.username ? c->basic.username : "";
        const char *pair = arena_printf(l->tmp, "%s:%s", user, pw);
        const char *b64 = pair ? base64(l->tmp, pair, strlen(pair)) : NULL;
        if (!b64 || !(*ret = arena_printf(l->a, "Basic %s", b64)))
            return config_oom(l, l->a);
        return 0;
    }
    if (c->has_authz) {
        const char *t = c->authz.type ? trim_space(l, c->authz.type) : "";
        if (!t)
            return config_oom(l, l->tmp);
        type = *t ? t : "Bearer";
        secret = c->authz.credentials;
        if (has(c->authz.credentials_file) &&
            (r = read_secret(l, at, "authorization credentials file",
                             resolve(l, c->authz.credentials_file), &secret)) < 0)
            return r;
    } else if (has(c->bearer_token)) {
        secret = c->bearer_token;
    } else if (has(c->bearer_token_file) &&
               (r = read_secret(l, at, "authorization credentials file",
                                resolve(l, c->bearer_token_file), &secret)) < 0) {
        return r;
    }
    if (!has(secret)) /* Prometheus sends no header without credentials */
        return 0;
    if (strpbrk(secret, "\r\n") || strpbrk(type, "\r\n"))
        return config_fail(l, at, ERR_PARSE, "authorization credentials contain a line break");
    if (!(*ret = arena_printf(l->a, "%s %s", type, secret)))
        return config_oom(l, l->a);
    return 0;
}

static void release_tls(void *t)
{
    scrape_tls_unref(t);
}

int config_client_auth_tls(struct ld *l, const yaml_node_t *at, const char *what, bool want_tls,
                           const char **ret_authorization, scrape_tls **ret_tls)
{
    struct client_ld none = {.follow_redirects = true, .enable_compression = true};
    struct client_ld *c = l->client ? l->client : &none;
    const char *why = auth_problem(c);
    int r;
    *ret_tls = NULL;
    if (why)
        return config_fail(l, at, ERR_PARSE, "%s: %s", what, why);
    if ((r = build_authorization(l, at, c, ret_authorization)) < 0)
        return r;
    if (!want_tls && !c->has_tls)
        return 0;
    /* The context (CA bundle, client pair) is read now, not on the loop thread. */
    struct scrape_tls_opts o = {
        .ca_file = resolve(l, c->tls.ca_file),
        .cert_file = resolve(l, c->tls.cert_file),
        .key_file = resolve(l, c->tls.key_file),
        .server_name = c->tls.server_name,
        .insecure_skip_verify = c->tls.insecure_skip_verify,
        .min_version = c->tls.min_version,
    };
    struct err e = {0};
    scrape_tls *t;
    if ((r = scrape_tls_new(&o, &t, &e)) < 0) {
        if (r == -ENOMEM)
            return config_oom(l, l->a);
        return config_fail(l, c->tls_node ? c->tls_node : at, ERR_PARSE, "%s: tls_config: %s",
                           what, e.msg);
    }
    if (arena_on_free(l->a, release_tls, t) < 0) {
        scrape_tls_unref(t);
        return config_oom(l, l->a);
    }
    *ret_tls = t;
    return 0;
}

int config_client_finish(struct ld *l, const yaml_node_t *job, struct config_scrape *j)
{
    const struct client_ld *c = l->client;
    const char *what = arena_printf(l->tmp, "job '%s'", j->job_name);
    if (!what)
        return config_oom(l, l->tmp);
    int r = config_client_auth_tls(l, job, what, j->scheme == CONFIG_SCHEME_HTTPS,
                                   &j->client.authorization, &j->client.tls);
    if (r < 0)
        return r;
    j->client.no_follow_redirects = c && !c->follow_redirects;
    j->client.no_compression = c && !c->enable_compression;
    return 0;
}
