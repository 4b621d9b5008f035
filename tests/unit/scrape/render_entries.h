/* tests/unit/scrape/render_entries.h — renders a parse as one line per entry, so the text format
 * and OpenMetrics parser tests compare whole parses as strings, and counts the entries of corpus
 * seed files. Included by both test files. */
#ifndef EMBER_TEST_RENDER_ENTRIES_H
#define EMBER_TEST_RENDER_ENTRIES_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "scrape/textparse.h"
#include "tsdb/tsdb.h"
#include "test.h"

/* Parses in (len bytes) in format f and renders every entry on its own line:
 *   S <series as written> | <labels_format()> | <value %g> [@<t_ms>] [<type>] [+exemplar]
 *   H <name> <unescaped help>   U <name> <unit>   T <name> <type>   C <comment line>
 * and on failure "E <message>" last. */
static const char *render_entries(enum textparse_format f, const char *in, size_t len)
{
    static char out[64 * 1024];
    struct arena *a = arena_new(0);
    struct textparse p;
    struct err e;
    size_t o = 0;
    int r;
    textparse_init(&p, in, len, f);
    out[0] = '\0';
    while ((r = textparse_next(&p, &e)) > 0) {
        const char *help;
        struct labels ls;
        switch (r) {
        case TEXTPARSE_SERIES:
            if (textparse_labels(&p, a, &ls, &e) < 0) {
                o += (size_t) snprintf(out + o, sizeof out - o, "E %s\n", e.msg);
                arena_free(a);
                return out;
            }
            o += (size_t) snprintf(out + o, sizeof out - o, "S %.*s | %s | %g", (int) p.series_len,
                                   p.series, labels_format(a, &ls), p.value);
            if (p.has_t)
                o += (size_t) snprintf(out + o, sizeof out - o, " @%" PRId64, p.t_ms);
            if (p.type != TEXTPARSE_METRIC_UNKNOWN)
                o += (size_t) snprintf(out + o, sizeof out - o, " %s",
                                       textparse_metric_type_name(p.type));
            if (p.has_exemplar)
                o += (size_t) snprintf(out + o, sizeof out - o, " +exemplar");
            o += (size_t) snprintf(out + o, sizeof out - o, "\n");
            break;
        case TEXTPARSE_HELP:
        case TEXTPARSE_UNIT:
            ASSERT_OK(textparse_help(&p, a, &help, &e));
            o += (size_t) snprintf(out + o, sizeof out - o, "%c %.*s %s\n",
                                   r == TEXTPARSE_HELP ? 'H' : 'U', (int) p.name_len, p.name,
                                   help);
            break;
        case TEXTPARSE_TYPE:
            o += (size_t) snprintf(out + o, sizeof out - o, "T %.*s %s\n", (int) p.name_len,
                                   p.name, textparse_metric_type_name(p.type));
            break;
        case TEXTPARSE_COMMENT:
            o += (size_t) snprintf(out + o, sizeof out - o, "C %.*s\n", (int) p.text_len, p.text);
            break;
        default:
            test_fail(__FILE__, __LINE__, "unexpected entry %d", r);
        }
        ASSERT_TRUE(o < sizeof out);
    }
    if (r < 0) {
        ASSERT_EQ(r, ERR_PARSE);
        (void) snprintf(out + o, sizeof out - o, "E %s\n", e.msg);
    }
    arena_free(a);
    return out;
}

/* Parses tests/fuzz/corpus/<dir>/<file> in format f and checks how many series, metadata lines
 * (HELP, TYPE, UNIT) and, unless comments is -1, comment lines it holds. */
static void corpus_counts_in(enum textparse_format f, const char *dir, const char *file,
                             int series, int meta, int comments)
{
    const char *root = getenv("EMBER_SOURCE_ROOT");
    char path[1024];
    (void) snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s/%s", root ? root : ".", dir,
                    file);
    size_t len;
    char *in = test_read_file(path, &len);
    if (!in)
        test_fail(__FILE__, __LINE__, "cannot read %s", path);
    struct textparse p;
    struct err e;
    struct labels ls;
    struct arena *a = arena_new(0);
    int r, n[6] = {0};
    textparse_init(&p, in, len, f);
    while ((r = textparse_next(&p, &e)) > 0) {
        n[r]++;
        if (r == TEXTPARSE_SERIES)
            ASSERT_OK_E(textparse_labels(&p, a, &ls, &e), &e);
    }
    ASSERT_OK_E(r, &e);
    ASSERT_EQ(n[TEXTPARSE_SERIES], series);
    ASSERT_EQ(n[TEXTPARSE_HELP] + n[TEXTPARSE_TYPE] + n[TEXTPARSE_UNIT], meta);
    if (comments >= 0)
        ASSERT_EQ(n[TEXTPARSE_COMMENT], comments);
    arena_free(a);
    free(in);
}

#endif
