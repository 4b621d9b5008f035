/* tests/harness/test.c — registry and TAP runner for TEST() cases; temp dir helpers.
 * `./test_x` runs all cases; `./test_x NAME` runs the ones whose name contains NAME. */
#include "test.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static jmp_buf fail_jmp;
static char fail_msg[1024];

void test_register(const char *name, test_fn fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    tests[n_tests].name = name;
    tests[n_tests].fn = fn;
    n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    int n = snprintf(fail_msg, sizeof fail_msg, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(fail_msg + n, sizeof fail_msg - (size_t) n, fmt, ap);
    va_end(ap);
    longjmp(fail_jmp, 1);
}

static int unlink_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb, (void) flag, (void) ftw;
    return remove(path);
}

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;
    if (asprintf(&dir, "%s/ember-test-XXXXXX", base ? base : "/tmp") < 0)
        abort();
    if (!mkdtemp(dir))
        abort();
    return dir;
}

void test_tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    (void) nftw(dir, unlink_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *test_read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    size_t n;
    while (p && (n = fread(p + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p) {
        p[len] = '\0';
        if (ret_len)
            *ret_len = len;
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int planned = 0;
    for (int i = 0; i < n_tests; i++)
        if (!filter || strstr(tests[i].name, filter))
            planned++;
    printf("1..%d\n", planned);
    fflush(stdout);
    int num = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        num++;
        if (setjmp(fail_jmp) == 0) {
            tests[i].fn();
            printf("ok %d - %s\n", num, tests[i].name);
        } else {
            failed++;
            printf("not ok %d - %s\n# %s\n", num, tests[i].name, fail_msg);
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}
