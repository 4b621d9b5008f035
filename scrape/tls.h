/* scrape/tls.h — module-internal side of scrape_tls (scrape.h has the public half): a TLS session
 * for one connection, driven through memory BIOs by the HTTP client so no socket is ever handed
 * to OpenSSL and nothing blocks the libuv loop. Any thread; the context is immutable. */
#ifndef EMBER_SCRAPE_TLS_H
#define EMBER_SCRAPE_TLS_H

#include <openssl/ssl.h>

#include "scrape/scrape.h"

/* A client session for host (the target's host name or address): SNI and the name verified are
 * the tls_config server_name when set, else host (no SNI for an address, as Go does). The
 * session reads ciphertext from *ret_in and writes it to *ret_out (both owned by the SSL). */
int scrape_tls_session(const scrape_tls *t, const char *host, SSL **ret, BIO **ret_in,
                       BIO **ret_out, struct err *e);
/* Why a handshake failed, worded like Go's crypto/tls and x509 errors where they have one
 * ("x509: certificate signed by unknown authority"); out has cap bytes. */
const char *scrape_tls_failure(SSL *s, const char *host, const scrape_tls *t, char *out,
                               size_t cap);

#endif
