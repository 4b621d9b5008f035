/* scrape/tls.c — a job's tls_config as one OpenSSL client context. Every file (CA bundle, client
 * certificate and key) is read when the context is built, at config load; sessions made from it
 * later only touch memory, so the loop thread never waits on a disk. The context is immutable
 * once built and shared by reference between the config and the scrape loops. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scrape_tls {
    atomic_uint refs;
    SSL_CTX *ctx;
    char *server_name; /* NULL: verify the target's own host */
    int insecure;
    uint64_t hash; /* options and file contents: equal hashes, equal behaviour */
};

/* The newest OpenSSL error as text, and the queue cleared for the next caller. */
static const char *ssl_error_text(char *out, size_t cap)
{
    unsigned long code = ERR_get_error();
    if (code == 0)
        (void) snprintf(out, cap, "unknown error");
    else
        ERR_error_string_n(code, out, cap);
    ERR_clear_error();
    return out;
}

/* Reads a whole file (config load time only) and folds it into *h. */
static int hash_file(const char *path, uint64_t *h, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, -errno, "open %s: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        *h = *h * 31 + hash_bytes(chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return err_set(e, -EIO, "read %s: input/output error", path);
    return 0;
}

static int set_str(uint64_t *h, const char *s)
{
    *h = *h * 31 + hash_bytes(s ? s : "", s ? strlen(s) + 1 : 0);
    return 0;
}

static int has(const char *s)
{
    return s && *s;
}

int scrape_tls_new(const struct scrape_tls_opts *o, scrape_tls **ret, struct err *e)
{
    char why[256];
    if (has(o->cert_file) && !has(o->key_file))
        return err_set(e, ERR_PARSE, "client cert file \"%s\" specified without client key file",
                       o->cert_file);
    if (has(o->key_file) && !has(o->cert_file))
        return err_set(e, ERR_PARSE, "client key file \"%s\" specified without client cert file",
                       o->key_file);
    scrape_tls *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, -ENOMEM, "out of memory");
    atomic_init(&t->refs, 1);
    t->insecure = o->insecure_skip_verify;
    int r = 0;
    uint64_t h = 0x7f4a7c15u;
    set_str(&h, o->ca_file);
    set_str(&h, o->cert_file);
    set_str(&h, o->key_file);
    set_str(&h, o->server_name);
    h = h * 31 + (uint64_t) o->insecure_skip_verify * 2 + (uint64_t) o->min_version * 7;
    if (has(o->server_name) && !(t->server_name = strdup(o->server_name))) {
        r = err_set(e, -ENOMEM, "out of memory");
        goto fail;
    }
    if (!(t->ctx = SSL_CTX_new(TLS_client_method()))) {
        r = err_set(e, -ENOMEM, "TLS context: %s", ssl_error_text(why, sizeof why));
        goto fail;
    }
    (void) SSL_CTX_set_min_proto_version(t->ctx, o->min_version ? o->min_version
                                                                : TLS1_2_VERSION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_AUTO_RETRY);
    const char *ca = has(o->ca_file) ? o->ca_file : X509_get_default_cert_file();
    if (has(o->ca_file) && (r = hash_file(o->ca_file, &h, e)) < 0) {
        err_prefix(e, "unable to load specified CA cert %s: ", o->ca_file);
        goto fail;
    }
    /* Loaded eagerly: the system bundle too, rather than a hashed directory OpenSSL would read
     * during each handshake. A missing system bundle only matters when verification runs. */
    if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1 && has(o->ca_file)) {
        r = err_set(e, ERR_PARSE, "unable to use specified CA cert %s: %s", o->ca_file,
                    ssl_error_text(why, sizeof why));
        goto fail;
    }
    ERR_clear_error();
    if (has(o->cert_file)) {
        if ((r = hash_file(o->cert_file, &h, e)) < 0 || (r = hash_file(o->key_file, &h, e)) < 0)
            goto fail_pair;
        if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            r = err_set(e, ERR_PARSE, "%s", ssl_error_text(why, sizeof why));
            goto fail_pair;
        }
    }
    SSL_CTX_set_verify(t->ctx, t->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    t->hash = h;
    *ret = t;
    return 0;
fail_pair:
    err_prefix(e, "unable to use specified client cert (%s) & key (%s): ", o->cert_file,
               o->key_file);
fail:
    scrape_tls_unref(t);
    return r;
}

scrape_tls *scrape_tls_ref(scrape_tls *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void scrape_tls_unref(scrape_tls *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    SSL_CTX_free(t->ctx);
    free(t->server_name);
    free(t);
}

uint64_t scrape_tls_hash(const scrape_tls *t)
{
    return t ? t->hash : 0;
}

static int is_address(const char *host)
{
    unsigned char b[16];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

int scrape_tls_session(const scrape_tls *t, const char *host, SSL **ret, BIO **ret_in,
                       BIO **ret_out, struct err *e)
{
    char why[256];
    const char *name = t->server_name ? t->server_name : host;
    SSL *s = SSL_new(t->ctx);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    if (!s || !in || !out) {
        SSL_free(s);
        BIO_free(in);
        BIO_free(out);
        return err_set(e, -ENOMEM, "TLS session: out of memory");
    }
    SSL_set_bio(s, in, out); /* s owns both now */
    SSL_set_connect_state(s);
    int ok = 1;
    if (!is_address(name))
        ok = SSL_set_tlsext_host_name(s, name) == 1;
    if (ok && !t->insecure) {
        if (is_address(name))
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), name) == 1;
        else
            ok = SSL_set1_host(s, name) == 1;
        /* Go ignores a certificate's Common Name (only SANs name hosts); so must we. */
        SSL_set_hostflags(s, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    }
    if (!ok) {
        SSL_free(s);
        return err_set(e, ERR_PARSE, "TLS session for %s: %s", name,
                       ssl_error_text(why, sizeof why));
    }
    *ret = s;
    *ret_in = in;
    *ret_out = out;
    return 0;
}

/* Appends ", " (after the first) and text to out[0..cap) at *len; truncates. */
static void put_name(char *out, size_t cap, size_t *len, const char *text, size_t n)
{
    int w = snprintf(out + *len, cap - *len, "%s%.*s", *len ? ", " : "", (int) n, text);
    if (w > 0)
        *len += (size_t) w < cap - *len ? (size_t) w : cap - *len - 1;
}

/* Go's x509.HostnameError text for a certificate that does not name the host: the certificate's
 * DNS names (or, for an address, its IP SANs) are listed, as Prometheus' lastError shows them.
 * The leaf comes from the peer chain: OpenSSL keeps no peer certificate after a failed check. */
static void hostname_error(SSL *s, const char *name, char *out, size_t cap)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s);
    X509 *leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL;
    GENERAL_NAMES *sans = leaf ? X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL)
                               : NULL;
    int want_ip = is_address(name);
    char valid[160] = "";
    size_t len = 0;
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (!want_ip && g->type == GEN_DNS) {
            const ASN1_IA5STRING *dns = g->d.dNSName;
            put_name(valid, sizeof valid, &len, (const char *) ASN1_STRING_get0_data(dns),
                     (size_t) ASN1_STRING_length(dns));
        } else if (want_ip && g->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN];
            int n = ASN1_STRING_length(g->d.iPAddress);
            if ((n == 4 || n == 16) &&
                inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), ip,
                          sizeof ip))
                put_name(valid, sizeof valid, &len, ip, strlen(ip));
        }
    }
    char cn[256] = "";
    if (leaf && !sans)
        (void) X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn,
                                         sizeof cn);
    GENERAL_NAMES_free(sans);
    if (cn[0] && !strcasecmp(cn, name))
        (void) snprintf(out, cap, "x509: certificate relies on legacy Common Name field, use SANs "
                        "instead");
    else if (want_ip && !valid[0])
        (void) snprintf(out, cap, "x509: cannot validate certificate for %s because it doesn't "
                        "contain any IP SANs", name);
    else if (!valid[0])
        (void) snprintf(out, cap, "x509: certificate is not valid for any names, but wanted to "
                        "match %s", name);
    else
        (void) snprintf(out, cap, "x509: certificate is valid for %s, not %s", valid, name);
}

const char *scrape_tls_failure(SSL *s, const char *host, const scrape_tls *t, char *out,
                               size_t cap)
{
    char why[200];
    long v = SSL_get_verify_result(s);
    const char *name = t->server_name ? t->server_name : host;
    switch (v) {
    case X509_V_OK:
        (void) snprintf(out, cap, "tls: %s", ssl_error_text(why, sizeof why));
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        (void) snprintf(out, cap, "x509: certificate signed by unknown authority");
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        hostname_error(s, name, out, cap);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        (void) snprintf(out, cap, "x509: certificate has expired or is not yet valid");
        break;
    default:
        (void) snprintf(out, cap, "x509: %s", X509_verify_cert_error_string(v));
    }
    ERR_clear_error();
    return out;
}
