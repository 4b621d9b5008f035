/* tests/fuzz/fuzz_webconfig.c — --web.config.file loading on arbitrary bytes: no crash or leak,
 * errors always coded and positioned, and every loaded web config keeps webconfig.h's promises
 * (TLS only with both files, bcrypt hashes only, allowed headers only). */
#include "server/webconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct webconfig *w = NULL;
    struct err e = {0};
    int r = webconfig_load_string("web.yml", "/etc/ember", (const char *) data, size, &w, &e);
    if (r < 0) {
        CHECK(w == NULL && e.code == r);
        CHECK(r == ERR_PARSE || r == ERR_LIMIT || r == -ENOMEM);
        CHECK(strncmp(e.msg, "web.yml:", 8) == 0);
        return 0;
    }
    if (w->tls) {
        CHECK(w->cert_file && w->cert_file[0] && w->key_file && w->key_file[0]);
        CHECK(w->min_version >= 0x0301 && w->min_version <= 0x0304);
        CHECK(!w->max_version || w->max_version >= w->min_version);
    }
    for (uint32_t i = 0; i < w->n_users; i++) {
        CHECK(!strchr(w->users[i].name, ':'));
        CHECK(strlen(w->users[i].hash) == 60 && !strncmp(w->users[i].hash, "$2", 2));
    }
    for (uint32_t i = 0; i < w->n_headers; i++)
        CHECK(!strpbrk(w->headers[i].value, "\r\n"));
    webconfig_free(w);
    return 0;
}
