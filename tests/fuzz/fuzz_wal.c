/* tests/fuzz/fuzz_wal.c — the WAL on arbitrary bytes: the three body decoders (with an encode →
 * decode round trip of whatever they accept), and the frame reader through wal_open() on the
 * bytes written as segment and checkpoint files (repair of bad frames included).
 *
 * Input: byte 0 selects the file layout, the rest is file content (and decoder input).
 *   bit 0: the content is also written as checkpoint.00000000 (segments then start at 1)
 *   bit 1: the content is split in two segments at its middle, else one segment
 * So a seed is 0x00 followed by a valid segment. Files go to a directory on /dev/shm when there
 * is one (no disk fsyncs), made once per process. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "tsdb/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[512];

static void remove_files(void)
{
    DIR *d = opendir(g_dir);
    if (!d)
        return;
    struct dirent *de;
    char p[1024];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        (void) snprintf(p, sizeof p, "%s/%s", g_dir, de->d_name);
        (void) unlink(p);
    }
    closedir(d);
}

static void cleanup(void)
{
    remove_files();
    (void) rmdir(g_dir);
}

static void setup(void)
{
    if (g_dir[0])
        return;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : NULL;
    if (!base)
        base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    (void) snprintf(g_dir, sizeof g_dir, "%s/ember-fuzz-wal-XXXXXX", base);
    if (!mkdtemp(g_dir))
        abort();
    (void) atexit(cleanup);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_LOGFMT, 2); /* bad frames are the point: no warnings */
}

static void put_file(const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    (void) snprintf(path, sizeof path, "%s/%s", g_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t) n)
        abort();
    close(fd);
}

/* The body of the single frame an encoder wrote to b, decompressed into *tmp when needed. */
static const uint8_t *frame_body(const struct buf *b, int type, size_t *ret_n, struct buf *tmp)
{
    if (b->len < 9 || be32_get(b->p) != b->len - 8 ||
        be32_get(b->p + 4) != crc32c(0, b->p + 8, b->len - 8) || (b->p[8] & 0x7f) != type)
        abort();
    if (!(b->p[8] & WAL_REC_COMPRESSED)) {
        *ret_n = b->len - 9;
        return b->p + 9;
    }
    unsigned long long sz = ZSTD_getFrameContentSize(b->p + 9, b->len - 9);
    if (sz > (64u << 20) || buf_reserve(tmp, (size_t) sz + 1) < 0)
        abort();
    size_t got = ZSTD_decompress(tmp->p, (size_t) sz, b->p + 9, b->len - 9);
    if (ZSTD_isError(got) || got != sz)
        abort();
    *ret_n = got;
    return tmp->p;
}

/* Decodes body as type; when it is accepted, re-encodes it and checks that the result decodes
 * to the same records. Returns the newest sample timestamp (INT64_MIN if none). */
static int64_t check_body(int type, const uint8_t *p, size_t n)
{
    struct arena *a = arena_new(64u << 20);
    struct buf b = BUF_INIT, tmp = BUF_INIT;
    struct err e;
    size_t k, k2, bn;
    int64_t maxt = INT64_MIN;
    if (!a)
        abort();
    if (type == WAL_REC_SERIES) {
        struct wal_series *s, *s2;
        if (wal_dec_series(p, n, a, &s, &k, &e) == 0) {
            if (wal_rec_series(&b, s, k) < 0)
                abort();
            const uint8_t *body = frame_body(&b, type, &bn, &tmp);
            if (wal_dec_series(body, bn, a, &s2, &k2, &e) < 0 || k2 != k)
                abort();
            for (size_t i = 0; i < k; i++)
                if (s[i].ref != s2[i].ref || !labels_equal(&s[i].labels, &s2[i].labels))
                    abort();
        }
    } else if (type == WAL_REC_SAMPLES) {
        struct wal_sample *s, *s2;
        if (wal_dec_samples(p, n, a, &s, &k, &e) == 0) {
            if (wal_rec_samples(&b, s, k) < 0)
                abort();
            const uint8_t *body = frame_body(&b, type, &bn, &tmp);
            if (wal_dec_samples(body, bn, a, &s2, &k2, &e) < 0 || k2 != k ||
                (k && memcmp(s, s2, k * sizeof *s) != 0))
                abort();
            for (size_t i = 0; i < k; i++)
                maxt = s[i].t > maxt ? s[i].t : maxt;
        }
    } else {
        struct wal_tombstone *t, *t2;
        if (wal_dec_tombstones(p, n, a, &t, &k, &e) == 0) {
            if (wal_rec_tombstones(&b, t, k) < 0)
                abort();
            const uint8_t *body = frame_body(&b, type, &bn, &tmp);
            if (wal_dec_tombstones(body, bn, a, &t2, &k2, &e) < 0 || k2 != k ||
                (k && memcmp(t, t2, k * sizeof *t) != 0))
                abort();
        }
    }
    buf_free(&b);
    buf_free(&tmp);
    arena_free(a);
    return maxt;
}

static int64_t on_record(void *ctx, enum wal_rec_type type, const uint8_t *body, size_t n)
{
    (void) ctx;
    if (type < WAL_REC_SERIES || type > WAL_REC_TOMBSTONES)
        abort();
    return check_body((int) type, body, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    uint8_t sel = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    for (int type = WAL_REC_SERIES; type <= WAL_REC_TOMBSTONES; type++)
        (void) check_body(type, p, n);

    uint32_t first = 0;
    if (sel & 1) {
        put_file("checkpoint.00000000", p, n);
        first = 1;
    }
    char name[16];
    if (sel & 2) {
        (void) snprintf(name, sizeof name, "%08u", first);
        put_file(name, p, n / 2);
        (void) snprintf(name, sizeof name, "%08u", first + 1);
        put_file(name, p + n / 2, n - n / 2);
    } else {
        (void) snprintf(name, sizeof name, "%08u", first);
        put_file(name, p, n);
    }
    struct wal *w = NULL;
    struct wal_replay_stats st;
    struct err e;
    if (wal_open(g_dir, 0, on_record, NULL, &st, &w, &e) < 0)
        abort(); /* only I/O errors may fail an open, and there are none here */
    if (st.corruptions > 2u + (sel & 1))
        abort();
    /* What replay left behind must now read back without a single complaint. */
    wal_close(w);
    struct wal_replay_stats st2;
    if (wal_open(g_dir, 0, on_record, NULL, &st2, &w, &e) < 0)
        abort();
    if (st2.corruptions > (sel & 1) || st2.records != st.records)
        abort();
    wal_close(w);
    remove_files();
    return 0;
}
