/* tests/fuzz/fuzz_index.c — a block index (tsdb/index.c) from arbitrary bytes: opening must fail
 * cleanly or yield a reader whose every lookup (label names and values, postings for each
 * matcher type, series entries over a few time ranges) stays inside the bytes and the arena.
 * Each input is tried as is and with its checksums recomputed, so that mutations get past the
 * CRCs to the parsers behind them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_series(const struct index_reader *r, struct arena *a, const struct postings *p)
{
    static const int64_t ranges[][2] = {{INT64_MIN, INT64_MAX}, {0, 1000}, {-5, -1}};
    for (size_t i = 0; i < p->n && i < 2000; i++)
        for (size_t k = 0; k < 3; k++) {
            struct labels ls;
            struct index_chunk *c;
            uint32_t n;
            if (index_series(r, a, p->refs[i], ranges[k][0], ranges[k][1], &ls, &c, &n, NULL) <
                0)
                return;
        }
}

static void select_with(const struct index_reader *r, struct arena *a, enum matcher_type t,
                        const char *name, const char *value)
{
    struct matcher m;
    if (matcher_init(a, &m, t, name, value, NULL) < 0)
        return;
    struct postings p;
    if (index_postings(r, a, &m, 1, &p, NULL) == 0)
        read_series(r, a, &p);
}

/* Rewrites the CRC of every section the toc places inside the file, then the toc's. */
static void fix_crcs(uint8_t *p, size_t n)
{
    if (n >= INDEX_ZHEADER_LEN && p[5] == INDEX_FLAG_ZSTD) { /* a compressed image */
        be32_put(p + 16, crc32c(0, p + INDEX_ZHEADER_LEN, n - INDEX_ZHEADER_LEN));
        return;
    }
    if (n < INDEX_HEADER_LEN + INDEX_TOC_LEN)
        return;
    uint8_t *toc = p + n - INDEX_TOC_LEN;
    uint64_t end = n - INDEX_TOC_LEN;
    for (int k = 0; k < INDEX_SECTIONS; k++) {
        uint64_t off = be64_get(toc + 16 * k), len = be64_get(toc + 16 * k + 8);
        if (off <= end && len <= end - off && end - off - len >= 4)
            be32_put(p + off + len, crc32c(0, p + off, len));
    }
    be32_put(toc + INDEX_TOC_LEN - 4, crc32c(0, toc, INDEX_TOC_LEN - 4));
}

static void exercise(const uint8_t *data, size_t size)
{
    struct index_reader *r;
    if (index_reader_open(data, size, &r, NULL) < 0)
        return;
    struct arena *a = arena_new(64u << 20);
    const char **names, **values;
    size_t n_names, n_values;
    struct postings p;
    if (index_postings(r, a, NULL, 0, &p, NULL) == 0)
        read_series(r, a, &p);
    if (index_label_names(r, a, &names, &n_names, NULL) == 0) {
        for (size_t i = 0; i < n_names && i < 8; i++) {
            if (index_label_values(r, a, names[i], &values, &n_values, NULL) < 0)
                continue;
            const char *v = n_values ? values[n_values / 2] : "x";
            select_with(r, a, MATCH_EQ, names[i], v);
            select_with(r, a, MATCH_NE, names[i], v);
            select_with(r, a, MATCH_RE, names[i], ".+");
            select_with(r, a, MATCH_RE, names[i], v);
            select_with(r, a, MATCH_NRE, names[i], ".*x.*");
            select_with(r, a, MATCH_EQ, names[i], "");
        }
        select_with(r, a, MATCH_EQ, "nosuch", "x");
    }
    arena_free(a);
    index_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exercise(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    exercise(copy, size);
    free(copy);
    return 0;
}
