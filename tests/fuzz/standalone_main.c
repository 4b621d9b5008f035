/* tests/fuzz/standalone_main.c — replays every file of a corpus directory through a fuzz target's
 * LLVMFuzzerTestOneInput, one TAP case per file, so corpora run as regression tests without
 * libFuzzer (sqlite's fuzzcheck, libvips' StandaloneFuzzTargetMain). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        printf("1..0 # SKIP no corpus at %s\n", argv[1]);
        return 0;
    }
    char *names[4096];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t) n, sizeof names[0], by_name);
    printf("1..%d\n", n);
    for (int i = 0; i < n; i++) {
        char path[4096];
        (void) snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("not ok %d - %s # cannot open\n", i + 1, names[i]);
            free(names[i]);
            continue;
        }
        (void) fseek(f, 0, SEEK_END);
        long len = ftell(f);
        (void) fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t) len : 1);
        size_t got = buf ? fread(buf, 1, (size_t) len, f) : 0;
        fclose(f);
        /* A crash or sanitizer report aborts the binary, which meson reports as a failure. */
        (void) LLVMFuzzerTestOneInput(buf, got);
        printf("ok %d - %s\n", i + 1, names[i]);
        free(buf);
        free(names[i]);
    }
    return 0;
}
