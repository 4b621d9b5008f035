/* server/http_tls.c — TLS for the HTTP server with OpenSSL over memory BIOs.
 *
 * libuv owns the socket; OpenSSL never sees it. Ciphertext read from the socket goes into the
 * connection's read BIO (http_tls_input), SSL_read turns it into plaintext for the HTTP parser
 * (http_tls_read); responses go through SSL_write (http_tls_encrypt) and whatever OpenSSL put
 * in the write BIO — records, handshake messages, alerts, session tickets — is taken out
 * (http_tls_take) and written with uv_write by http.c. So the handshake needs no state machine
 * of its own: every read is followed by taking the write BIO's bytes out.
 * The handshake's public-key operation runs on the loop thread (about 1 ms for ECDSA P-256,
 * 2 ms for RSA 2048); keep-alive makes it once per connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server/http_conn.h"

struct http_tls {
    SSL_CTX *ctx;
};

struct http_tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    int done;         /* handshake finished */
};

/* OpenSSL's most recent reason, for a message. */
static const char *ssl_reason(char *buf, size_t cap)
{
    unsigned long code = ERR_peek_last_error();
    if (!code)
        return "unknown error";
    ERR_error_string_n(code, buf, cap);
    ERR_clear_error();
    return buf;
}

/* RequestClientCert and RequireAnyClientCert take whatever certificate the client sends. */
static int accept_any(int preverify, X509_STORE_CTX *x)
{
    (void) preverify, (void) x;
    return 1;
}

/* Only HTTP/1.1 is offered: a client asking for h2 falls back, as with a server without h2. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h11[] = "\x08http/1.1";
    (void) ssl, (void) arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, h11, sizeof h11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

void http_tls_free(struct http_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int http_tls_new(const struct http_tls_opts *o, struct http_tls **ret, struct err *e)
{
    char why[256];
    struct http_tls *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, -ENOMEM, "tls: out of memory");
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_server_method());
    int r = 0;
    if (!t->ctx)
        r = err_set(e, ERR_INTERNAL, "tls: %s", ssl_reason(why, sizeof why));
    if (r == 0 && o->min_version && !SSL_CTX_set_min_proto_version(t->ctx, o->min_version))
        r = err_set(e, ERR_PARSE, "tls: min_version not supported: %s",
                    ssl_reason(why, sizeof why));
    if (r == 0 && o->max_version && !SSL_CTX_set_max_proto_version(t->ctx, o->max_version))
        r = err_set(e, ERR_PARSE, "tls: max_version not supported: %s",
                    ssl_reason(why, sizeof why));
    if (r == 0 && SSL_CTX_use_certificate_chain_file(t->ctx, o->cert_file) != 1)
        r = err_set(e, ERR_PARSE, "tls: cert_file %s: %s", o->cert_file,
                    ssl_reason(why, sizeof why));
    if (r == 0 && SSL_CTX_use_PrivateKey_file(t->ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
        r = err_set(e, ERR_PARSE, "tls: key_file %s: %s", o->key_file,
                    ssl_reason(why, sizeof why));
    if (r == 0 && SSL_CTX_check_private_key(t->ctx) != 1)
        r = err_set(e, ERR_PARSE, "tls: key_file %s does not match cert_file %s", o->key_file,
                    o->cert_file);
    if (r == 0 && o->client_ca_file) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(t->ctx, o->client_ca_file, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            r = err_set(e, ERR_PARSE, "tls: client_ca_file %s: %s", o->client_ca_file,
                        ssl_reason(why, sizeof why));
        } else {
            SSL_CTX_set_client_CA_list(t->ctx, names); /* takes names */
        }
    }
    if (r < 0) {
        http_tls_free(t);
        return r;
    }
    switch (o->client_auth) {
    case HTTP_TLS_NO_CLIENT_CERT:
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
        break;
    case HTTP_TLS_REQUEST_CLIENT_CERT:
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, accept_any);
        break;
    case HTTP_TLS_REQUIRE_ANY_CLIENT_CERT:
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
        break;
    case HTTP_TLS_VERIFY_CLIENT_CERT_IF_GIVEN:
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        break;
    case HTTP_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT:
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    /* Session resumption with client certificates needs a context id. */
    static const unsigned char sid[] = "ember";
    (void) SSL_CTX_set_session_id_context(t->ctx, sid, sizeof sid - 1);
    SSL_CTX_set_alpn_select_cb(t->ctx, select_alpn, NULL);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    *ret = t;
    return 0;
}

struct http_tls_conn *http_tls_conn_new(struct http_tls *t)
{
    struct http_tls_conn *tc = calloc(1, sizeof *tc);
    if (!tc)
        return NULL;
    tc->ssl = SSL_new(t->ctx);
    tc->rbio = BIO_new(BIO_s_mem());
    tc->wbio = BIO_new(BIO_s_mem());
    if (!tc->ssl || !tc->rbio || !tc->wbio) {
        BIO_free(tc->rbio);
        BIO_free(tc->wbio);
        SSL_free(tc->ssl);
        free(tc);
        return NULL;
    }
    /* An empty memory BIO reports "retry", not end of file. */
    BIO_set_mem_eof_return(tc->rbio, -1);
    SSL_set_bio(tc->ssl, tc->rbio, tc->wbio);
    SSL_set_accept_state(tc->ssl);
    return tc;
}

void http_tls_conn_free(struct http_tls_conn *tc)
{
    if (!tc)
        return;
    SSL_free(tc->ssl); /* frees the BIOs */
    free(tc);
}

int http_tls_handshake_done(const struct http_tls_conn *tc) { return tc->done; }

int http_tls_input(struct http_tls_conn *tc, const char *p, size_t n)
{
    while (n > 0) {
        int k = BIO_write(tc->rbio, p, n > INT32_MAX ? INT32_MAX : (int) n);
        if (k <= 0)
            return -ENOMEM;
        p += k;
        n -= (size_t) k;
    }
    return 0;
}

int http_tls_read(struct http_tls_conn *tc, char *out, size_t cap)
{
    ERR_clear_error();
    int k = SSL_read(tc->ssl, out, cap > INT32_MAX ? INT32_MAX : (int) cap);
    if (SSL_is_init_finished(tc->ssl))
        tc->done = 1;
    if (k > 0)
        return k;
    switch (SSL_get_error(tc->ssl, k)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return HTTP_TLS_EOF; /* close_notify */
    default:
        return -EPROTO;
    }
}

int http_tls_encrypt(struct http_tls_conn *tc, const uv_buf_t *iov, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const char *p = iov[i].base;
        size_t left = iov[i].len;
        while (left > 0) {
            ERR_clear_error();
            int k = SSL_write(tc->ssl, p, left > (1u << 30) ? (1 << 30) : (int) left);
            if (k <= 0)
                return -EPROTO;
            p += k;
            left -= (size_t) k;
        }
    }
    return 0;
}

void http_tls_shutdown(struct http_tls_conn *tc)
{
    if (tc->done)
        (void) SSL_shutdown(tc->ssl); /* queues close_notify; the reply is not awaited */
}

int http_tls_take(struct http_tls_conn *tc, struct buf *out)
{
    size_t pend = BIO_ctrl_pending(tc->wbio);
    if (pend == 0)
        return 0;
    if (buf_reserve(out, pend) < 0)
        return -ENOMEM;
    int k = BIO_read(tc->wbio, out->p + out->len, (int) pend);
    if (k > 0)
        out->len += (size_t) k;
    return 0;
}

/* --- the connection side: http.c calls these for a TLS connection --- */

/* TLS: one uv_write of ciphertext; orig (NULL for handshake bytes) completes with it. */
struct tls_wr {
    uv_write_t w;
    struct conn *c;
    struct wr *orig;
    struct buf data;
};

static void on_tls_write(uv_write_t *w, int status)
{
    struct tls_wr *tw = (struct tls_wr *) w;
    struct conn *c = tw->c;
    struct wr *orig = tw->orig;
    buf_free(&tw->data);
    free(tw);
    if (orig) {
        http_conn_write_done(orig, status);
        return;
    }
    c->writes_pending--;
    c->write_since_ms = now_ms(c);
    if (c->closed)
        return;
    if (status < 0)
        http_conn_close(c);
    else
        http_conn_pump(c);
}

/* Sends what OpenSSL has queued (records, handshake messages, alerts); orig, if any, completes
 * when those bytes are written. Counted in writes_pending either way, so a closing connection
 * waits for its last alert or close_notify. */
int http_tls_flush(struct conn *c, struct wr *orig)
{
    struct tls_wr *tw = calloc(1, sizeof *tw);
    if (!tw || http_tls_take(c->tls, &tw->data) < 0) {
        if (tw)
            buf_free(&tw->data);
        free(tw);
        return UV_ENOMEM;
    }
    if (tw->data.len == 0 && !orig) {
        free(tw);
        return 0;
    }
    tw->c = c;
    tw->orig = orig;
    if (!orig) {
        c->writes_pending++;
        if (c->writes_pending == 1)
            c->write_since_ms = now_ms(c);
    }
    uv_buf_t b = uv_buf_init((char *) tw->data.p, (unsigned) tw->data.len);
    int r = uv_write(&tw->w, (uv_stream_t *) &c->tcp, &b, 1, on_tls_write);
    if (r < 0) {
        if (!orig)
            c->writes_pending--;
        buf_free(&tw->data);
        free(tw);
    }
    return r;
}

/* Stops decrypting once the connection is closing: what follows a closing response is not read,
 * as on plain connections. */
void http_tls_feed(struct conn *c, const char *p, size_t n)
{
    if (c->lingering || c->closing)
        return; /* after a closing response, further input is discarded */
    if (http_tls_input(c->tls, p, n) < 0) {
        http_conn_close(c);
        return;
    }
    int k;
    while (!c->closed && !c->closing && !c->lingering &&
           (k = http_tls_read(c->tls, c->srv->plainbuf, sizeof c->srv->plainbuf)) != 0) {
        if (k == HTTP_TLS_EOF) {
            http_conn_eof(c);
            return;
        }
        if (k < 0) {
            /* Handshake refused (no or bad client certificate, no shared version): send the
             * alert OpenSSL queued, then close. */
            if (!http_tls_handshake_done(c->tls))
                c->srv->st.tls_handshake_failures++;
            c->closing = 1;
            c->eof = 1;
            break;
        }
        http_conn_feed(c, c->srv->plainbuf, (size_t) k);
    }
    if (c->closed)
        return;
    if (http_tls_flush(c, NULL) < 0) {
        http_conn_close(c);
        return;
    }
    http_conn_pump(c);
}
