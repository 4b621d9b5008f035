/* tests/fuzz/exposition_check.h — the checks both exposition fuzz targets run on arbitrary bytes:
 * no crash, slices inside the input, sane errors that stay failed, every label set survives
 * labels_format() → text format parse → equal, and the number fast path equals strtod.
 * Included by fuzz_textparse.c and fuzz_omparse.c. */
#ifndef EMBER_FUZZ_EXPOSITION_CHECK_H
#define EMBER_FUZZ_EXPOSITION_CHECK_H

#include "scrape/textparse.h"
#include "tsdb/tsdb.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static int within(const char *s, size_t n, const char *buf, size_t len)
{
    return s >= buf && n <= len && (size_t) (s - buf) <= len - n;
}

/* The label set printed back in text format parses to the same set. */
static void round_trip(struct arena *a, const struct labels *ls)
{
    const char *f = labels_format(a, ls);
    CHECK(f != NULL);
    char *in = arena_printf(a, "%s 1\n", f);
    CHECK(in != NULL);
    struct textparse p;
    struct err e;
    struct labels back;
    textparse_init(&p, in, strlen(in), TEXTPARSE_PROM);
    CHECK(textparse_next(&p, &e) == TEXTPARSE_SERIES);
    CHECK(textparse_labels(&p, a, &back, &e) == 0);
    CHECK(labels_equal(ls, &back));
    CHECK(textparse_next(&p, &e) == 0);
}

/* num_parse_decimal(), the parsers' fast path for numbers, gives strtod's exact double for every
 * token it takes: each run of bytes between blanks, newlines and label punctuation is tried. */
static void check_fast_numbers(const char *buf, size_t size)
{
    static const char delim[] = " \t\n{}=,\"#";
    for (size_t i = 0; i < size;) {
        size_t j = i;
        while (j < size && !memchr(delim, buf[j], sizeof delim))
            j++;
        double fast;
        if (j > i && j - i < 400 && num_parse_decimal(buf + i, j - i, &fast) == 0) {
            char tmp[400], *end;
            memcpy(tmp, buf + i, j - i);
            tmp[j - i] = '\0';
            double ref = strtod(tmp, &end);
            CHECK(*end == '\0' && memcmp(&fast, &ref, sizeof ref) == 0);
        }
        i = j + 1;
    }
}

static int check_exposition(const uint8_t *data, size_t size, enum textparse_format format)
{
    const int om = format == TEXTPARSE_OPENMETRICS;
    const char *buf = (const char *) data;
    struct arena *a = arena_new(16 << 20);
    CHECK(a != NULL);
    struct textparse p;
    struct err e;
    check_fast_numbers(buf, size);
    textparse_init(&p, buf, size, format);
    int r;
    while ((r = textparse_next(&p, &e)) > 0) {
        CHECK(p.line >= 1);
        if (r == TEXTPARSE_SERIES) {
            CHECK(within(p.series, p.series_len, buf, size));
            CHECK(p.name == p.series && p.name_len <= p.series_len);
            CHECK(labels_metric_name_valid(p.name, p.name_len));
            struct labels ls;
            int lr = textparse_labels(&p, a, &ls, &e);
            CHECK(lr == 0 || lr == ERR_PARSE);
            if (lr == 0) {
                CHECK(ls.n == p.n_labels + 1);
                const char *name = labels_get(&ls, LABEL_METRIC_NAME);
                CHECK(name && strlen(name) == p.name_len);
                CHECK(memcmp(name, p.name, p.name_len) == 0);
                for (uint32_t i = 0; i < ls.n; i++)
                    CHECK(labels_name_valid(ls.v[i].name, strlen(ls.v[i].name)));
                round_trip(a, &ls);
            }
        } else if (r == TEXTPARSE_HELP || r == TEXTPARSE_TYPE || (om && r == TEXTPARSE_UNIT)) {
            CHECK(within(p.name, p.name_len, buf, size));
            CHECK(labels_metric_name_valid(p.name, p.name_len));
            const char *help;
            CHECK(textparse_help(&p, a, &help, &e) == 0);
            CHECK(strlen(help) <= p.text_len);
        } else {
            CHECK(!om); /* OpenMetrics has no plain comments */
            CHECK(r == TEXTPARSE_COMMENT);
            CHECK(within(p.text, p.text_len, buf, size) && p.text[0] == '#');
        }
        if (arena_used(a) > (8 << 20))
            arena_reset(a);
    }
    if (r < 0) {
        CHECK(r == ERR_PARSE);
        CHECK(strncmp(e.msg, "line ", 5) == 0);
        CHECK(textparse_next(&p, &e) == ERR_PARSE); /* stays failed */
    } else {
        /* OpenMetrics: success means the input ends with "# EOF" */
        CHECK(!om || (size >= 5 && memcmp(buf + size - 5, "# EOF", 5) == 0) ||
              (size >= 6 && memcmp(buf + size - 6, "# EOF\n", 6) == 0));
        CHECK(textparse_next(&p, &e) == 0); /* stays at the end */
    }
    arena_free(a);
    return 0;
}

#endif
