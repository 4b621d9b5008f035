/* server/auth.h — HTTP basic auth against the web config's bcrypt hashes, without bcrypt on the
 * loop thread: verified credentials are cached under a keyed hash, misses are checked on a libuv
 * worker. Loop thread only. */
#ifndef EMBER_SERVER_AUTH_H
#define EMBER_SERVER_AUTH_H

#include <uv.h>

#include "server/http.h"
#include "server/webconfig.h"

struct auth;

/* w: borrowed until auth_free. An auth with no users lets every request through. */
int auth_new(uv_loop_t *loop, const struct webconfig *w, struct auth **ret, struct err *e);
/* Call after the loop ran dry (no check in flight). NULL is fine. */
void auth_free(struct auth *a);

/* Checks req's "Authorization: Basic" credentials. Right: next(req, next_ctx), at once on a cache
 * hit, else later on the loop after a worker ran bcrypt. Wrong or missing: 401 with
 * "WWW-Authenticate: Basic", as Prometheus answers. Either way req is answered. */
void auth_check(struct auth *a, struct http_request *req, http_handler_fn next, void *next_ctx);

struct auth_stats {
    uint64_t cache_hits, bcrypt_checks, failures;
};
void auth_stats(const struct auth *a, struct auth_stats *ret);

/* Base64 (standard alphabet, padded, as Go's r.BasicAuth) of src into out (cap bytes);
 * the decoded length, or -1 for malformed input or too little room. Exposed for tests. */
long auth_base64_decode(const char *src, size_t n, char *out, size_t cap);

#endif
