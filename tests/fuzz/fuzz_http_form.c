/* tests/fuzz/fuzz_http_form.c — Go-compatible form decoding: input is
 * "<method byte><content-type>\n<query>\n<body>"; every decoded pair is JSON-escaped, and the
 * invariants of the form API are checked (count matches iteration, first value equals get). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_form.h"
#include "server/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH"};
    if (size < 1)
        return 0;
    const char *method = methods[data[0] & 3];
    const char *p = (const char *) data + 1, *end = (const char *) data + size;
    const char *nl1 = memchr(p, '\n', (size_t) (end - p));
    const char *ct_end = nl1 ? nl1 : end;
    char ct[256];
    size_t ctn = (size_t) (ct_end - p) < sizeof ct - 1 ? (size_t) (ct_end - p) : sizeof ct - 1;
    memcpy(ct, p, ctn);
    ct[ctn] = '\0';
    const char *q = nl1 ? nl1 + 1 : end;
    const char *nl2 = memchr(q, '\n', (size_t) (end - q));
    size_t qn = (size_t) ((nl2 ? nl2 : end) - q);
    const char *body = nl2 ? nl2 + 1 : NULL;
    size_t bn = body ? (size_t) (end - body) : 0;

    struct arena *a = arena_new(1 << 22);
    if (!a)
        return 0;
    struct http_form *f = NULL;
    struct err e;
    int r = http_form_parse(a, method, q, qn, body, bn, strlen(ct) ? ct : NULL, &f, &e);
    if (r == 0 || r == ERR_PARSE) {
        struct buf b = BUF_INIT;
        for (uint32_t i = 0; i < f->n; i++) {
            const struct http_form_pair *pr = &f->v[i];
            if (pr->key_len > qn + bn || pr->value_len > qn + bn)
                abort();
            (void) json_escape(&b, pr->key, pr->key_len);
            (void) json_escape(&b, pr->value, pr->value_len);
            if (memchr(pr->key, '\0', pr->key_len)) /* lookup by C string cannot see it */
                continue;
            uint32_t pos = 0, n = 0;
            const struct http_form_pair *it, *first = NULL;
            while ((it = http_form_next(f, pr->key, &pos))) {
                if (!first)
                    first = it;
                n++;
            }
            if (n != http_form_count(f, pr->key) || n == 0 ||
                http_form_get(f, pr->key) != first->value ||
                http_form_value(f, pr->key, n - 1) == NULL ||
                http_form_value(f, pr->key, n) != NULL)
                abort();
        }
        buf_free(&b);
    }
    char mt[64];
    (void) http_form_media_type(ct, mt, sizeof mt, &e);
    arena_free(a);
    return 0;
}
