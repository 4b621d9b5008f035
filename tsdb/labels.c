/* tsdb/labels.c — sorted label sets: ordering, hashing, copying, formatting, name validation. */
#include "labels.h"

#include <stdlib.h>
#include <string.h>

#include "tsdb/base/base.h"

static int label_cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct label *) a)->name, ((const struct label *) b)->name);
}

int labels_sort(struct labels *ls)
{
    if (ls->n > 1)
        qsort(ls->v, ls->n, sizeof ls->v[0], label_cmp_name);
    for (uint32_t i = 1; i < ls->n; i++)
        if (strcmp(ls->v[i - 1].name, ls->v[i].name) == 0)
            return -1;
    return 0;
}

/* Prometheus orders label sets by comparing (name, value) pairs in turn, then by length. */
int labels_cmp(const struct labels *a, const struct labels *b)
{
    uint32_t n = a->n < b->n ? a->n : b->n;
    for (uint32_t i = 0; i < n; i++) {
        int c = strcmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = strcmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return (a->n > b->n) - (a->n < b->n);
}

int labels_equal(const struct labels *a, const struct labels *b)
{
    return a->n == b->n && labels_cmp(a, b) == 0;
}

/* FNV-1a over name\xff value\xff pairs; 0xff cannot occur in valid UTF-8, so pairs never alias. */
uint64_t labels_hash(const struct labels *ls)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < ls->n; i++) {
        for (const unsigned char *p = (const unsigned char *) ls->v[i].name; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
        for (const unsigned char *p = (const unsigned char *) ls->v[i].value; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
    }
    return h;
}

const char *labels_get(const struct labels *ls, const char *name)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return ls->v[i].value;
    return NULL;
}

int labels_copy(struct arena *a, const struct labels *src, struct labels *ret)
{
    struct label *v = arena_alloc(a, sizeof *v * (src->n ? src->n : 1));
    if (!v)
        return ERR_LIMIT;
    for (uint32_t i = 0; i < src->n; i++) {
        v[i].name = arena_strdup(a, src->v[i].name);
        v[i].value = arena_strdup(a, src->v[i].value);
        if (!v[i].name || !v[i].value)
            return ERR_LIMIT;
    }
    ret->v = v;
    ret->n = src->n;
    return 0;
}

static void put_quoted(struct buf *b, const char *s)
{
    (void) buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            (void) buf_putc(b, '\\');
            (void) buf_putc(b, (uint8_t) *s);
        } else if (*s == '\n') {
            (void) buf_puts(b, "\\n");
        } else {
            (void) buf_putc(b, (uint8_t) *s);
        }
    }
    (void) buf_putc(b, '"');
}

/* name_outside: the metric name goes before the braces (the exposition form); else it is one
 * more label inside them (Go's labels.Labels.String()). */
static char *format(struct arena *a, const struct labels *ls, int name_outside)
{
    struct buf b = BUF_INIT;
    const char *name = name_outside ? labels_get(ls, LABEL_METRIC_NAME) : NULL;
    if (name)
        (void) buf_puts(&b, name);
    (void) buf_putc(&b, '{');
    int first = 1;
    for (uint32_t i = 0; i < ls->n; i++) {
        if (name && strcmp(ls->v[i].name, LABEL_METRIC_NAME) == 0)
            continue;
        if (!first)
            (void) buf_puts(&b, ", ");
        first = 0;
        (void) buf_puts(&b, ls->v[i].name);
        (void) buf_putc(&b, '=');
        put_quoted(&b, ls->v[i].value);
    }
    (void) buf_putc(&b, '}');
    char *s = b.p ? arena_strndup(a, (const char *) b.p, b.len) : NULL;
    buf_free(&b);
    return s;
}

char *labels_format(struct arena *a, const struct labels *ls)
{
    return format(a, ls, 1);
}

char *labels_string(struct arena *a, const struct labels *ls)
{
    return format(a, ls, 0);
}

static int name_valid(const char *s, size_t n, int colon)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

int labels_name_valid(const char *s, size_t n)
{
    return name_valid(s, n, 0);
}

int labels_metric_name_valid(const char *s, size_t n)
{
    return name_valid(s, n, 1);
}
