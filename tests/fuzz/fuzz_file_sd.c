/* tests/fuzz/fuzz_file_sd.c — file_sd target files on arbitrary bytes: no crash or leak, errors
 * coded and named after the file, and every target a sorted label set with __address__ and
 * __meta_filepath. */
#include "server/file_sd.h"

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
    char *text = malloc(size + 1);
    struct arena *a = arena_new(32u << 20);
    if (!text || !a) {
        free(text);
        arena_free(a);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    struct labels *ts = NULL;
    uint32_t n = 0;
    struct err e = {0};
    int r = file_sd_parse(a, "fuzz.json", text, size, &ts, &n, &e);
    if (r < 0) {
        CHECK(r == ERR_PARSE || r == ERR_LIMIT || r == -ENOMEM);
        CHECK(e.code == r && strncmp(e.msg, "fuzz.json", 9) == 0);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            const char *addr = labels_get(&ts[i], "__address__");
            CHECK(addr && *addr);
            CHECK(strcmp(labels_get(&ts[i], FILE_SD_META_FILEPATH), "fuzz.json") == 0);
            for (uint32_t k = 1; k < ts[i].n; k++)
                CHECK(strcmp(ts[i].v[k - 1].name, ts[i].v[k].name) < 0);
        }
    }
    arena_free(a);
    free(text);
    return 0;
}
