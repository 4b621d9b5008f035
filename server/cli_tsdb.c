/* server/cli_tsdb.c — `ember tsdb import FILE --storage.tsdb.path DIR`: OpenMetrics text with
 * timestamps, ending in `# EOF` (what `promtool tsdb create-blocks-from openmetrics` reads),
 * written straight into blocks in DIR, ready for `ember --storage.tsdb.path DIR` to serve.
 *
 * The file is mapped and parsed once, through a window of pages (import_map_advance()); a malformed line stops the import before any block is
 * written (exit 1, with the line and reason). A running ember holds DIR's lock: the import then
 * refuses instead of writing under its feet. On a terminal, progress is shown on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scrape/textparse.h"
#include "server/cli.h"
#include "tsdb/tsdb.h"

static const char import_usage[] =
    "usage: ember tsdb import FILE --storage.tsdb.path DIR [--max-block-duration 18h]\n"
    "\nWrites the samples of FILE (OpenMetrics text with timestamps, ending in # EOF) into\n"
    "blocks under DIR. Samples without a timestamp are refused.\n";

struct import_args {
    const char *file, *dir;
    int64_t block_ms;
};

static int parse_args(int argc, char **argv, struct import_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        const char *names[] = {"--storage.tsdb.path", "--max-block-duration"};
        int which = -1;
        for (int k = 0; k < 2 && which < 0; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(arg, names[k], n) == 0 && (arg[n] == '=' || arg[n] == 0)) {
                which = k;
                v = arg[n] == '=' ? arg + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
            }
        }
        if (which < 0 && arg[0] == '-')
            return -1;
        if (which < 0) {
            if (a->file)
                return -1;
            a->file = arg;
            continue;
        }
        if (!v || !*v)
            return -1;
        if (which == 0)
            a->dir = v;
        else if (duration_parse(v, strlen(v), &a->block_ms) < 0 || a->block_ms <= 0)
            return -1;
    }
    return a->file && a->dir ? 0 : -1;
}

/* Holds DIR's lock for the import: fails when a server is running on it. */
static int lock_dir(const char *dir)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "ember tsdb import: creating %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "ember tsdb import: %s is in use (is ember running on it?): %s\n", dir,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void progress(size_t done, size_t total, uint64_t samples, int64_t t0)
{
    double secs = (double) (time_mono_ns() - t0) / 1e9;
    fprintf(stderr, "\r  %5.1f%%  %llu samples  %.0f samples/s   ",
            total ? 100.0 * (double) done / (double) total : 100.0, (unsigned long long) samples,
            secs > 0 ? (double) samples / secs : 0.0);
}

/* The mapped file is read through a window: pages ahead of the parser are mapped in one call
 * (MADV_POPULATE_READ, Linux 5.14; without it the page faults map them), pages well behind it
 * are dropped from the process (MADV_DONTNEED: clean file pages, so a later read, such as the
 * previous line's series text, maps them again from the page cache). Resident memory stays
 * near two windows whatever the file's size, instead of growing to the whole file. */
#define IMPORT_WINDOW ((size_t) 32 << 20)

struct import_map {
    const char *base, *end;
    const char *ahead, *behind; /* mapped in up to ahead; dropped up to behind */
    size_t page;
};

static const char *page_down(const struct import_map *m, const char *at)
{
    return m->base + (size_t) (at - m->base) / m->page * m->page;
}

static void import_map_advance(struct import_map *m, const char *pos)
{
#ifdef MADV_POPULATE_READ
    if (m->ahead < pos)
        m->ahead = page_down(m, pos);
    if (m->ahead < m->end && (size_t) (m->ahead - pos) < IMPORT_WINDOW) {
        size_t len = (size_t) (m->end - m->ahead) < IMPORT_WINDOW ? (size_t) (m->end - m->ahead)
                                                                 : IMPORT_WINDOW;
        /* best effort: on failure the page faults do the same work */
        (void) madvise((void *) (uintptr_t) m->ahead, len, MADV_POPULATE_READ);
        m->ahead += len;
    }
#endif
    if ((size_t) (pos - m->behind) >= 2 * IMPORT_WINDOW) {
        const char *upto = page_down(m, pos - IMPORT_WINDOW);
        (void) madvise((void *) (uintptr_t) m->behind, (size_t) (upto - m->behind),
                       MADV_DONTNEED);
        m->behind = upto;
    }
}

int cli_import_openmetrics(tsdb_backfill *bf, const char *p, size_t n, int mapped, int tty,
                           struct err *ret)
{
    long page = sysconf(_SC_PAGESIZE);
    struct import_map map = {p, p + n, p, p, page > 0 ? (size_t) page : 4096};
    int64_t t0 = time_mono_ns();
    struct arena *a = arena_new(0);
    struct textparse tp;
    struct err e = {0};
    textparse_init(&tp, p, n, TEXTPARSE_OPENMETRICS);
    int r;
    uint64_t count = 0;
    int64_t last_shown = t0;
    const char *last = NULL; /* the previous sample's series text, in the mapped file */
    size_t last_len = 0;
    void *series = NULL;
    while (a && (r = textparse_next(&tp, &e)) > 0) {
        if (r != TEXTPARSE_SERIES)
            continue;
        if (!tp.has_t) {
            r = err_set(&e, ERR_PARSE, "line %u: sample without a timestamp", tp.line);
            break;
        }
        /* Exports write a series' samples one after another: the same text as the line before
         * is the same series, found without parsing its labels again. */
        if (tp.series_len != last_len || memcmp(tp.series, last, last_len) != 0) {
            struct labels ls;
            arena_reset(a);
            if ((r = textparse_labels(&tp, a, &ls, &e)) < 0 ||
                (r = tsdb_backfill_series(bf, &ls, &series, &e)) < 0)
                break;
            last = tp.series;
            last_len = tp.series_len;
        }
        if ((r = tsdb_backfill_append(bf, series, tp.t_ms, tp.value, &e)) < 0)
            break;
        if (mapped && (count & 0x3fff) == 0)
            import_map_advance(&map, tp.pos);
        if ((++count & 0xffff) == 0 && tty && time_mono_ns() - last_shown > 250000000) {
            last_shown = time_mono_ns();
            progress((size_t) (tp.pos - p), n, count, t0); /* the parser's offset */
        }
    }
    arena_free(a);
    if (!a)
        r = err_set(&e, -ENOMEM, "out of memory");
    if (tty)
        progress(n, n, count, t0), fputc('\n', stderr);
    if (r < 0)
        *ret = e;
    return r < 0 ? -1 : 0;
}

static int tsdb_import(int argc, char **argv)
{
    struct import_args a = {0};
    if (parse_args(argc, argv, &a) < 0) {
        fputs(import_usage, stderr);
        return 2;
    }
    int fd = open(a.file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "ember tsdb import: %s: %s\n", a.file, strerror(errno));
        return 1;
    }
    const char *p = st.st_size ? mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                               : "";
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "ember tsdb import: mapping %s: %s\n", a.file, strerror(errno));
        return 1;
    }
    (void) madvise((void *) (uintptr_t) p, (size_t) st.st_size, MADV_SEQUENTIAL);
    int lock = lock_dir(a.dir);
    if (lock < 0)
        return 1;
    tsdb_backfill *bf;
    struct err e = {0};
    int64_t t0 = time_mono_ns();
    int r = tsdb_backfill_new(a.dir, a.block_ms, &bf, &e);
    if (r == 0 && cli_import_openmetrics(bf, p, (size_t) st.st_size, 1, isatty(2), &e) < 0) {
        fprintf(stderr, "ember tsdb import: %s\n", e.msg);
        r = -1;
    }
    struct tsdb_backfill_stats bs = {0};
    if (r == 0 && (r = tsdb_backfill_finish(bf, &bs, &e)) < 0)
        fprintf(stderr, "ember tsdb import: writing blocks: %s\n", e.msg);
    else if (r == 0) {
        double secs = (double) (time_mono_ns() - t0) / 1e9;
        printf("imported %llu samples of %llu series into %llu blocks in %.2f s (%.0f samples/s)"
               "; %llu out-of-order samples skipped\n",
               (unsigned long long) bs.samples, (unsigned long long) bs.series,
               (unsigned long long) bs.blocks, secs, secs > 0 ? (double) bs.samples / secs : 0.0,
               (unsigned long long) bs.rejected);
    }
    tsdb_backfill_free(bf);
    close(lock);
    if (st.st_size)
        munmap((void *) (uintptr_t) p, (size_t) st.st_size);
    return r < 0 ? 1 : 0;
}

int cli_run(int argc, char **argv, int *ret_code)
{
    if (cli_rules_run(argc, argv, ret_code))
        return 1;
    if (argc < 2 || strcmp(argv[1], "tsdb") != 0)
        return 0;
    if (argc >= 3 && strcmp(argv[2], "import") == 0)
        *ret_code = tsdb_import(argc - 3, argv + 3);
    else {
        fputs(import_usage, stderr);
        *ret_code = 2;
    }
    return 1;
}
