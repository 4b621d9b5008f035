/* server/auth.c — basic auth for every request when the web config lists users.
 *
 * bcrypt at cost 10 takes 50-200 ms: run on the loop for every request it would stall the
 * server, and a flood of requests would burn every core. So:
 *   - a verified (user, password, stored hash) is remembered as HMAC-SHA256 under a key drawn at
 *     start-up (the password itself is never kept; the key makes the digests useless to anyone
 *     who reads memory without it). Hits compare digests with CRYPTO_memcmp (constant time).
 *     The cache is 4-way set associative, AUTH_SETS sets, least recently used way replaced:
 *     bounded memory, and a flood of wrong passwords cannot evict much (only successes enter).
 *   - a miss is checked by crypt_rn() on a libuv worker, at most AUTH_MAX_RUNNING at a time so
 *     queries keep the rest of the pool; further misses wait in a FIFO. That queue is bounded by
 *     the connection limit: a connection has at most one request in its handler.
 *   - an unknown user is checked against a fixed dummy hash, so the answer takes as long as for a
 *     known user with a wrong password (exporter-toolkit does the same).
 * Only successes are cached; a wrong password costs a bcrypt each time, as in Prometheus. */
#include "server/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define AUTH_SETS 256
#define AUTH_WAYS 4
#define AUTH_MAX_RUNNING 2
#define AUTH_MAX_CREDENTIALS 4096 /* decoded user:password bytes; longer is refused */

/* bcrypt of a random password, cost 10 like the hashes htpasswd makes by default. */
static const char dummy_hash[] = "$2y$10$XrsSqDEOQA9psO7hVkXGaujk1mnG2TWaM7agHaCBLJaoj9Gu7O/Ui";

struct slot {
    uint8_t digest[32];
    uint64_t used; /* 0: empty */
};

struct job {
    uv_work_t work;
    struct auth *a;
    struct job *next;
    struct http_request *req;
    http_handler_fn fn;
    void *ctx;
    const char *hash; /* the user's (or the dummy): lives in the web config */
    int known, ok;
    uint8_t digest[32];
    size_t pass_len;
    char pass[]; /* NUL-terminated; wiped before free */
};

struct auth {
    uv_loop_t *loop;
    const struct webconfig *w;
    uint8_t key[32];
    struct slot cache[AUTH_SETS][AUTH_WAYS];
    uint64_t clock;
    uint32_t running;
    struct job *head, *tail;
    struct auth_stats st;
};

int auth_new(uv_loop_t *loop, const struct webconfig *w, struct auth **ret, struct err *e)
{
    struct auth *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(e, -ENOMEM, "auth: out of memory");
    a->loop = loop;
    a->w = w;
    if (RAND_bytes(a->key, sizeof a->key) != 1) {
        free(a);
        return err_set(e, ERR_INTERNAL, "auth: no random bytes for the credential cache key");
    }
    *ret = a;
    return 0;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}

void auth_stats(const struct auth *a, struct auth_stats *ret) { *ret = a->st; }

long auth_base64_decode(const char *src, size_t n, char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char ch = src[i + k];
            const char *at = ch ? strchr(alphabet, ch) : NULL;
            if (ch == '=' && i + 4 == n && k >= 2 && (k == 3 || src[i + 3] == '=')) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!at || pad)
                return -1;
            v = (v << 6) | (uint32_t) (at - alphabet);
        }
        int bytes = 3 - pad;
        if (o + (size_t) bytes > cap)
            return -1;
        for (int k = 0; k < bytes; k++)
            out[o++] = (char) (v >> (16 - 8 * k));
    }
    return (long) o;
}

static void respond_401(struct http_request *req)
{
    static const char body[] = "Unauthorized\n";
    (void) http_response_header(req, "WWW-Authenticate", "Basic");
    http_respond(req, 401, "text/plain; charset=utf-8", body, sizeof body - 1);
}

static int digest_of(const struct auth *a, const char *user, size_t ulen, const char *pass,
                     size_t plen, const char *hash, uint8_t out[32])
{
    /* user NUL password NUL hash: unambiguous, since a user name cannot hold NUL. */
    size_t hlen = strlen(hash), n = ulen + 1 + plen + 1 + hlen;
    unsigned char *msg = malloc(n);
    if (!msg)
        return -ENOMEM;
    memcpy(msg, user, ulen);
    msg[ulen] = 0;
    memcpy(msg + ulen + 1, pass, plen);
    msg[ulen + 1 + plen] = 0;
    memcpy(msg + ulen + plen + 2, hash, hlen);
    unsigned int len = 32;
    unsigned char *r = HMAC(EVP_sha256(), a->key, sizeof a->key, msg, n, out, &len);
    OPENSSL_cleanse(msg, n);
    free(msg);
    return r && len == 32 ? 0 : ERR_INTERNAL;
}

static struct slot *cache_set(struct auth *a, const uint8_t d[32])
{
    return a->cache[d[0] % AUTH_SETS];
}

static int cache_hit(struct auth *a, const uint8_t d[32])
{
    struct slot *set = cache_set(a, d);
    int hit = 0;
    /* All ways are compared, so timing does not say which one matched. */
    for (int i = 0; i < AUTH_WAYS; i++) {
        int same = set[i].used && CRYPTO_memcmp(set[i].digest, d, 32) == 0;
        if (same)
            set[i].used = ++a->clock;
        hit |= same;
    }
    return hit;
}

static void cache_put(struct auth *a, const uint8_t d[32])
{
    struct slot *set = cache_set(a, d), *victim = &set[0];
    for (int i = 0; i < AUTH_WAYS; i++) {
        if (set[i].used && CRYPTO_memcmp(set[i].digest, d, 32) == 0)
            return;
        if (set[i].used < victim->used)
            victim = &set[i];
    }
    memcpy(victim->digest, d, 32);
    victim->used = ++a->clock;
}

/* Worker thread: the only place bcrypt runs. Touches nothing but the job. */
static void on_work(uv_work_t *w)
{
    struct job *j = w->data;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return; /* j->ok stays 0: refused, the client may retry */
    const char *out = crypt_rn(j->pass, j->hash, cd, (int) sizeof *cd);
    size_t hl = strlen(j->hash);
    j->ok = j->known && out && strlen(out) == hl && CRYPTO_memcmp(out, j->hash, hl) == 0;
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
}

static void pump(struct auth *a);

static void job_free(struct job *j)
{
    OPENSSL_cleanse(j->pass, j->pass_len);
    free(j);
}

static void on_after_work(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct auth *a = j->a;
    a->running--;
    a->st.bcrypt_checks++;
    if (status == 0 && j->ok) {
        cache_put(a, j->digest);
        j->fn(j->req, j->ctx);
    } else {
        a->st.failures++;
        respond_401(j->req);
    }
    job_free(j);
    pump(a);
}

static void pump(struct auth *a)
{
    while (a->running < AUTH_MAX_RUNNING && a->head) {
        struct job *j = a->head;
        a->head = j->next;
        if (!a->head)
            a->tail = NULL;
        if (http_request_aborted(j->req)) {
            /* The client is gone: no bcrypt for an answer nobody reads. */
            respond_401(j->req);
            job_free(j);
            continue;
        }
        j->work.data = j;
        if (uv_queue_work(a->loop, &j->work, on_work, on_after_work) < 0) {
            http_respond_error(j->req, 503, "unavailable", "cannot schedule the password check");
            job_free(j);
            continue;
        }
        a->running++;
    }
}

void auth_check(struct auth *a, struct http_request *req, http_handler_fn next, void *next_ctx)
{
    if (!a || a->w->n_users == 0) {
        next(req, next_ctx);
        return;
    }
    /* Go's Request.BasicAuth: scheme "Basic" in any case, one space, padded base64. */
    const char *h = http_request_header(req, "authorization");
    if (!h || strncasecmp(h, "Basic ", 6) != 0) {
        a->st.failures++;
        respond_401(req);
        return;
    }
    const char *b64 = h + 6;
    size_t bn = strlen(b64);
    size_t cap = bn / 4 * 3;
    char *cred = cap <= AUTH_MAX_CREDENTIALS ? arena_alloc(req->arena, cap + 1) : NULL;
    long cn = cred ? auth_base64_decode(b64, bn, cred, cap) : -1;
    const char *colon = cn > 0 ? memchr(cred, ':', (size_t) cn) : NULL;
    if (!colon) {
        a->st.failures++;
        respond_401(req);
        return;
    }
    size_t ulen = (size_t) (colon - cred), plen = (size_t) cn - ulen - 1;
    const char *pass = colon + 1;
    const char *hash = dummy_hash;
    int known = 0;
    for (uint32_t i = 0; i < a->w->n_users && !known; i++)
        if (strlen(a->w->users[i].name) == ulen && !memcmp(a->w->users[i].name, cred, ulen)) {
            hash = a->w->users[i].hash;
            known = 1;
        }
    struct job *j = calloc(1, sizeof *j + plen + 1);
    if (!j || digest_of(a, cred, ulen, pass, plen, hash, j->digest) < 0) {
        free(j);
        http_respond_error(req, 503, "unavailable", "out of memory");
        return;
    }
    if (known && cache_hit(a, j->digest)) {
        a->st.cache_hits++;
        free(j);
        next(req, next_ctx);
        return;
    }
    memcpy(j->pass, pass, plen);
    j->pass[plen] = '\0';
    j->pass_len = plen;
    j->a = a;
    j->req = req;
    j->fn = next;
    j->ctx = next_ctx;
    j->hash = hash;
    j->known = known && !memchr(pass, '\0', plen); /* crypt would see a shorter password */
    if (a->tail)
        a->tail->next = j;
    else
        a->head = j;
    a->tail = j;
    pump(a);
}
