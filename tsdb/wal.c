/* tsdb/wal.c — the segmented write-ahead log: replay with repair of torn or corrupt files at
 * open, appends with size-based rotation, fsync kept off the appenders' threads, and truncation
 * behind a checkpoint. Frame and record formats: wal_record.c.
 *
 * Files in the WAL directory (any other name is left alone)
 *   NNNNNNNN                 segment, "%08u", numbered upwards; only the newest is written to
 *   checkpoint.NNNNNNNN      stands for every segment numbered <= N; frames, like a segment
 *   checkpoint.NNNNNNNN.tmp  a checkpoint being written
 *
 * Open. The highest checkpoint N wins. Older checkpoints, tmp files and segments <= N are what a
 * truncation cut short by a crash left behind (the rename happened, the deletes did not) and are
 * deleted. Then the checkpoint is replayed, then the segments > N in ascending order (a gap in the
 * numbers is logged, not fatal). A bad frame (short header, length 0 or past the file end or over
 * 256 MiB, CRC mismatch, unknown type, undecodable zstd) ends its file: it is logged, counted, and
 * a segment is cut there (ftruncate + fsync) so the damage is reported once. The checkpoint is not
 * cut: it is written whole and renamed into place, so damage in it is media damage, kept for
 * inspection and warned about at every open until the next truncation replaces it (counted in
 * corruptions, not in bytes_cut). Writes then go to a new segment numbered after every file seen:
 * never to an old one, whose tail may be torn.
 *
 * Locking. mu guards the segment list, the current fd and the counters; wal_write() holds it for
 * its one write loop. Nothing is fsynced under mu on the normal path: a rotation (in wal_write()
 * or wal_truncate()) only creates the next file and parks the closed segment's fd. wal_sync()
 * takes the parked fds, a dup of the current fd and the "directory changed" flag under mu and
 * fsyncs them after releasing it: closed segments, the directory, then the current segment. So
 * fsync never runs on the scrape workers that append (STYLE §7), and everything written before
 * wal_sync() began is durable when it returns 0. If nobody syncs for PENDING_MAX rotations, the
 * rotating writer fsyncs the parked fds itself under mu (bounded fd use); a failure there is
 * reported by the next wal_sync(). sync_mu serialises wal_sync() calls, so a second caller cannot
 * return while the first still fsyncs data written before both. wal_truncate() (storage thread)
 * decides and rotates under mu, writes the checkpoint and deletes files without it, then drops
 * the deleted segments from the list under mu; it is the only one that removes segments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "wal.h"

#define FRAME_HDR 8
#define FRAME_MAX (256u << 20)       /* payload limit, as in wal_record.c */
#define BODY_MAX (64u << 20)         /* decompressed body limit, as in wal_record.c */
#define SEGMENT_DEFAULT (128u << 20) /* Prometheus' segment size */
#define READ_CHUNK (1u << 20)        /* replay reads at least this much at a time */
#define PENDING_MAX 16               /* closed segments awaiting wal_sync() */
#define CKPT_PREFIX "checkpoint."
#define NAME_MAX_LEN 32

struct seg {
    uint32_t idx;
    int64_t maxt;  /* newest sample timestamp written to or replayed from it; INT64_MIN: none */
    uint64_t size; /* bytes of whole frames */
};

struct parked {
    int fd;
    uint32_t idx;
};

struct wal {
    char *dir;
    int dirfd;
    uint64_t segment_bytes;
    pthread_mutex_t mu, sync_mu;
    int mutexes; /* how many of mu, sync_mu are initialised (a half-built wal has fewer) */
    /* Everything below is guarded by mu. */
    struct seg *segs; /* ascending; the last is the current segment */
    size_t nsegs, cap;
    int fd;          /* current segment, open for writing; -1 until created */
    int cur_broken;  /* a failed write could not be undone: rotate before writing again */
    struct parked pending[PENDING_MAX];
    size_t npending;
    int dir_dirty;   /* a segment was created since the directory was last fsynced */
    int sync_err;    /* fsync failure met while flushing parked fds in a writer */
    int has_ckpt;
    uint32_t ckpt_idx;
    uint64_t ckpt_size;
    uint64_t writes, write_failures, syncs;
    /* Segment fsync durations (the WAL fsync summary): the newest WAL_FSYNC_RING, with when
     * each ended, plus totals over the WAL's life. */
    struct fsync_obs {
        int64_t end_ns; /* time_mono_ns() */
        double seconds;
    } fsync_ring[WAL_FSYNC_RING];
    uint64_t fsyncs;
    double fsync_seconds;
};

/* ---- names ---- */

/* Exactly what "%08u" prints: 8 to 10 digits, no superfluous leading zero, at most UINT32_MAX. */
static int parse_idx(const char *s, size_t n, uint32_t *ret)
{
    if (n < 8 || n > 10 || (n > 8 && s[0] == '0'))
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    if (v > UINT32_MAX)
        return 0;
    *ret = (uint32_t) v;
    return 1;
}

enum kind { KIND_OTHER, KIND_SEG, KIND_CKPT, KIND_TMP };

static enum kind classify(const char *name, uint32_t *idx)
{
    size_t n = strlen(name), pl = strlen(CKPT_PREFIX);
    if (parse_idx(name, n, idx))
        return KIND_SEG;
    if (n > pl && memcmp(name, CKPT_PREFIX, pl) == 0) {
        const char *rest = name + pl;
        size_t rn = n - pl;
        if (parse_idx(rest, rn, idx))
            return KIND_CKPT;
        if (rn > 4 && memcmp(rest + rn - 4, ".tmp", 4) == 0 && parse_idx(rest, rn - 4, idx))
            return KIND_TMP;
    }
    return KIND_OTHER;
}

static void seg_name(char *out, uint32_t idx)
{
    (void) snprintf(out, NAME_MAX_LEN, "%08" PRIu32, idx);
}

static void ckpt_name(char *out, uint32_t idx)
{
    (void) snprintf(out, NAME_MAX_LEN, CKPT_PREFIX "%08" PRIu32, idx);
}

/* ---- plain I/O ---- */

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t k = pwrite(fd, p, chunk, (off_t) off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t) k;
        off += (uint64_t) k;
    }
    return 0;
}

static int fsync_fd(int fd)
{
    return fsync(fd) < 0 ? -errno : 0;
}

/* A segment's fsync, timed for the summary (Prometheus times segment fsyncs, not the
 * directory's); record it with fsync_record_locked() once mu is held. */
static int fsync_segment(int fd, struct fsync_obs *ret)
{
    int64_t t0 = time_mono_ns();
    int r = fsync_fd(fd);
    ret->end_ns = time_mono_ns();
    ret->seconds = (double) (ret->end_ns - t0) / 1e9;
    return r;
}

static void fsync_record_locked(struct wal *w, const struct fsync_obs *o)
{
    w->fsync_ring[w->fsyncs % WAL_FSYNC_RING] = *o;
    w->fsyncs++;
    w->fsync_seconds += o->seconds;
}

/* Walks frame headers: 1 when p[0..n) is a sequence of whole frames (CRCs are not checked). */
static int frames_whole(const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        if (n - off < FRAME_HDR)
            return 0;
        uint32_t len = be32_get(p + off);
        if (len == 0 || len > n - off - FRAME_HDR)
            return 0;
        off += FRAME_HDR + len;
    }
    return 1;
}

/* ---- replay ---- */

struct replay {
    wal_replay_fn fn;
    void *ctx;
    struct wal_replay_stats *st;
    ZSTD_DCtx *dctx;
    struct buf rb;   /* file bytes [rb_off, rb_off + rb.len) */
    uint64_t rb_off;
    struct buf db;   /* the current decompressed body */
};

/* Makes the file bytes [off, off + k) available (the caller checked off + k <= size); reads at
 * least READ_CHUNK so small frames do not cost a syscall each. */
static int rb_get(struct replay *rp, int fd, uint64_t size, uint64_t off, size_t k,
                  const uint8_t **ret)
{
    uint64_t have_end = rp->rb_off + rp->rb.len;
    if (off >= rp->rb_off && off + k <= have_end) {
        *ret = rp->rb.p + (off - rp->rb_off);
        return 0;
    }
    size_t keep = 0;
    if (off >= rp->rb_off && off < have_end) {
        keep = (size_t) (have_end - off);
        memmove(rp->rb.p, rp->rb.p + (off - rp->rb_off), keep);
    }
    rp->rb.len = keep;
    rp->rb_off = off;
    size_t want = k > READ_CHUNK ? k : READ_CHUNK;
    if (want > size - off)
        want = (size_t) (size - off);
    if (want > rp->rb.len) {
        int r = buf_reserve(&rp->rb, want - rp->rb.len);
        if (r < 0)
            return r;
    }
    while (rp->rb.len < want) {
        ssize_t got = pread(fd, rp->rb.p + rp->rb.len, want - rp->rb.len,
                            (off_t) (off + rp->rb.len));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return -EIO; /* the file shrank under us */
        rp->rb.len += (size_t) got;
    }
    *ret = rp->rb.p;
    return 0;
}

/* 0: body decompressed into rp->db; 1: corrupt (reason filled); < 0: out of memory. */
static int decompress(struct replay *rp, const uint8_t *src, size_t n, char *reason, size_t rcap)
{
    unsigned long long sz = ZSTD_getFrameContentSize(src, n);
    if (sz == ZSTD_CONTENTSIZE_ERROR) {
        (void) snprintf(reason, rcap, "compressed body is not a zstd frame");
        return 1;
    }
    if (sz == ZSTD_CONTENTSIZE_UNKNOWN) {
        (void) snprintf(reason, rcap, "zstd frame does not declare its size");
        return 1;
    }
    if (sz > BODY_MAX) {
        (void) snprintf(reason, rcap, "zstd frame declares %llu bytes, over the 64 MiB limit", sz);
        return 1;
    }
    size_t fsz = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(fsz) || fsz != n) {
        (void) snprintf(reason, rcap, "compressed body is not exactly one zstd frame");
        return 1;
    }
    if (!rp->dctx && !(rp->dctx = ZSTD_createDCtx()))
        return -ENOMEM;
    rp->db.len = 0;
    int r = buf_reserve(&rp->db, (size_t) sz + 1);
    if (r < 0)
        return r;
    size_t got = ZSTD_decompressDCtx(rp->dctx, rp->db.p, (size_t) sz, src, n);
    if (ZSTD_isError(got)) {
        (void) snprintf(reason, rcap, "zstd: %s", ZSTD_getErrorName(got));
        return 1;
    }
    if (got != sz) {
        (void) snprintf(reason, rcap, "zstd frame gave %zu bytes, declared %llu", got, sz);
        return 1;
    }
    rp->db.len = got;
    return 0;
}

/* Hands the valid frames of one file to the callback. *ret_good: the offset after the last good
 * frame; reason[0] != 0 when a bad frame stopped replay there. < 0 only on I/O errors. */
static int replay_frames(struct replay *rp, int fd, uint64_t size, int64_t *maxt,
                         uint64_t *ret_good, char *reason, size_t rcap)
{
    uint64_t off = 0;
    int r = 0;
    reason[0] = 0;
    rp->rb.len = 0;
    rp->rb_off = 0;
    while (off < size) {
        uint64_t left = size - off;
        const uint8_t *f;
        if (left < FRAME_HDR) {
            (void) snprintf(reason, rcap, "short frame header (%" PRIu64 " bytes)", left);
            break;
        }
        if ((r = rb_get(rp, fd, size, off, FRAME_HDR, &f)) < 0)
            return r;
        uint32_t len = be32_get(f), crc = be32_get(f + 4);
        if (len == 0) {
            (void) snprintf(reason, rcap, "empty payload");
            break;
        }
        if (len > FRAME_MAX) {
            (void) snprintf(reason, rcap, "frame length %" PRIu32 " over the 256 MiB limit", len);
            break;
        }
        if (len > left - FRAME_HDR) {
            (void) snprintf(reason, rcap,
                            "frame length %" PRIu32 " past the end of the file (%" PRIu64
                            " bytes left)",
                            len, left - FRAME_HDR);
            break;
        }
        if ((r = rb_get(rp, fd, size, off, FRAME_HDR + (size_t) len, &f)) < 0)
            return r;
        const uint8_t *pl = f + FRAME_HDR;
        uint32_t got = crc32c(0, pl, len);
        if (got != crc) {
            (void) snprintf(reason, rcap,
                            "crc mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")", crc,
                            got);
            break;
        }
        unsigned type = pl[0] & ~(unsigned) WAL_REC_COMPRESSED;
        if (type < WAL_REC_SERIES || type > WAL_REC_TOMBSTONES) {
            (void) snprintf(reason, rcap, "unknown record type 0x%02x", pl[0]);
            break;
        }
        const uint8_t *body = pl + 1;
        size_t bn = len - 1;
        if (pl[0] & WAL_REC_COMPRESSED) {
            if ((r = decompress(rp, body, bn, reason, rcap)) < 0)
                return r;
            if (r > 0)
                break;
            body = rp->db.p;
            bn = rp->db.len;
        }
        int64_t m = rp->fn(rp->ctx, (enum wal_rec_type) type, body, bn);
        if (m > *maxt)
            *maxt = m;
        rp->st->records++;
        off += FRAME_HDR + (uint64_t) len;
    }
    *ret_good = off;
    return 0;
}

static int segs_push(struct wal *w, struct seg s)
{
    if (w->nsegs == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 16;
        struct seg *v = realloc(w->segs, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        w->segs = v;
        w->cap = nc;
    }
    w->segs[w->nsegs++] = s;
    return 0;
}

/* Opens a replay candidate; 0 with *ret_fd = -1 when it is not a regular file (skipped). */
static int open_for_replay(struct wal *w, const char *name, int flags, int *ret_fd,
                           uint64_t *ret_size, struct err *e)
{
    *ret_fd = -1;
    int fd = openat(w->dirfd, name, flags | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        int r = -errno;
        if (r == -EISDIR || r == -ELOOP || r == -ENXIO) {
            LOG_WARN("wal", "not a regular file, skipped", "file=\"%s/%s\"", w->dir, name);
            return 0;
        }
        return err_set(e, r, "wal %s: open %s: %s", w->dir, name, err_str(r));
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int r = -errno;
        (void) close(fd);
        return err_set(e, r, "wal %s: stat %s: %s", w->dir, name, err_str(r));
    }
    if (!S_ISREG(sb.st_mode)) {
        (void) close(fd);
        LOG_WARN("wal", "not a regular file, skipped", "file=\"%s/%s\"", w->dir, name);
        return 0;
    }
    *ret_fd = fd;
    *ret_size = (uint64_t) sb.st_size;
    return 0;
}

/* Replays the checkpoint; damage is logged and counted but the file is not cut (see top). */
static int replay_ckpt(struct wal *w, struct replay *rp, uint32_t idx, struct err *e)
{
    char name[NAME_MAX_LEN], reason[160];
    ckpt_name(name, idx);
    int fd;
    uint64_t size = 0, good;
    int64_t maxt = INT64_MIN; /* a checkpoint is never deleted by age, only replaced */
    int r = open_for_replay(w, name, O_RDONLY, &fd, &size, e);
    if (r < 0 || fd < 0)
        return r;
    r = replay_frames(rp, fd, size, &maxt, &good, reason, sizeof reason);
    (void) close(fd);
    if (r < 0)
        return err_set(e, r, "wal %s: read %s: %s", w->dir, name, err_str(r));
    if (reason[0]) {
        rp->st->corruptions++;
        LOG_WARN("wal", "corrupt WAL checkpoint, records after the damage are lost",
                 "file=\"%s/%s\" offset=%" PRIu64 " reason=\"%s\" bytes_ignored=%" PRIu64, w->dir,
                 name, good, reason, size - good);
    }
    w->has_ckpt = 1;
    w->ckpt_idx = idx;
    w->ckpt_size = size;
    return 0;
}

/* Replays one segment, cutting it at a bad frame, and appends it to the segment list. */
static int replay_segment(struct wal *w, struct replay *rp, uint32_t idx, struct err *e)
{
    char name[NAME_MAX_LEN], reason[160];
    seg_name(name, idx);
    int fd;
    uint64_t size = 0, good;
    int64_t maxt = INT64_MIN;
    int r = open_for_replay(w, name, O_RDWR, &fd, &size, e);
    if (r < 0 || fd < 0)
        return r;
    rp->st->segments++;
    r = replay_frames(rp, fd, size, &maxt, &good, reason, sizeof reason);
    if (r < 0) {
        (void) close(fd);
        return err_set(e, r, "wal %s: read %s: %s", w->dir, name, err_str(r));
    }
    if (reason[0]) {
        rp->st->corruptions++;
        int cut = ftruncate(fd, (off_t) good) == 0 && fsync(fd) == 0 ? 0 : -errno;
        if (cut == 0) {
            rp->st->bytes_cut += size - good;
            LOG_WARN("wal", "corrupt or torn WAL frame, segment cut there",
                     "file=\"%s/%s\" offset=%" PRIu64 " reason=\"%s\" bytes_cut=%" PRIu64, w->dir,
                     name, good, reason, size - good);
            size = good;
        } else {
            /* Harmless to leave: the segment is never written again; next open cuts it. */
            LOG_WARN("wal", "corrupt or torn WAL frame, segment could not be cut",
                     "file=\"%s/%s\" offset=%" PRIu64 " reason=\"%s\" err=\"%s\"", w->dir, name,
                     good, reason, err_str(cut));
        }
    }
    (void) close(fd);
    if ((r = segs_push(w, (struct seg){idx, maxt, size})) < 0)
        return err_set(e, r, "wal %s: out of memory", w->dir);
    return 0;
}

/* ---- directory scan ---- */

struct ent {
    uint32_t idx;
    enum kind kind;
    int regular; /* a regular file (not a directory, symlink, ...) */
};

struct scan {
    struct ent *v;
    size_t n, cap;
};

static int cmp_ent(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int scan_dir(struct wal *w, struct scan *sc, struct err *e)
{
    int fd = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        int r = -errno;
        if (fd >= 0)
            (void) close(fd);
        return err_set(e, r, "wal %s: read directory: %s", w->dir, err_str(r));
    }
    rewinddir(d);
    struct dirent *de;
    int r = 0;
    errno = 0;
    while ((de = readdir(d))) {
        uint32_t idx;
        enum kind k = classify(de->d_name, &idx);
        if (k == KIND_OTHER)
            continue;
        if (sc->n == sc->cap) {
            size_t nc = sc->cap ? sc->cap * 2 : 64;
            struct ent *v = realloc(sc->v, nc * sizeof *v);
            if (!v) {
                r = err_set(e, -ENOMEM, "wal %s: out of memory", w->dir);
                break;
            }
            sc->v = v;
            sc->cap = nc;
        }
        struct stat sb;
        int regular = fstatat(w->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                      S_ISREG(sb.st_mode);
        sc->v[sc->n++] = (struct ent){idx, k, regular};
        errno = 0;
    }
    if (r == 0 && errno != 0)
        r = err_set(e, -errno, "wal %s: read directory: %s", w->dir, err_str(-errno));
    (void) closedir(d);
    if (r == 0 && sc->n > 1)
        qsort(sc->v, sc->n, sizeof sc->v[0], cmp_ent);
    return r;
}

static void remove_leftover(struct wal *w, const char *name, const char *why)
{
    if (unlinkat(w->dirfd, name, 0) == 0 || errno == ENOENT)
        LOG_INFO("wal", "removed leftover WAL file", "file=\"%s/%s\" reason=\"%s\"", w->dir, name,
                 why);
    else
        LOG_WARN("wal", "could not remove leftover WAL file",
                 "file=\"%s/%s\" reason=\"%s\" err=\"%s\"", w->dir, name, why, err_str(-errno));
}

static int create_segment(struct wal *w, uint32_t idx, struct err *e)
{
    char name[NAME_MAX_LEN];
    seg_name(name, idx);
    int fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return err_set(e, -errno, "wal %s: create segment %s: %s", w->dir, name,
                       err_str(-errno));
    return fd;
}

static void wal_free(struct wal *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->npending; i++)
        (void) close(w->pending[i].fd);
    if (w->fd >= 0)
        (void) close(w->fd);
    if (w->dirfd >= 0)
        (void) close(w->dirfd);
    if (w->mutexes > 1)
        (void) pthread_mutex_destroy(&w->sync_mu);
    if (w->mutexes > 0)
        (void) pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free(w->dir);
    free(w);
}

int wal_open(const char *dir, uint64_t segment_bytes, wal_replay_fn fn, void *ctx,
             struct wal_replay_stats *st, struct wal **ret, struct err *e)
{
    struct wal_replay_stats st_local;
    if (!st)
        st = &st_local;
    memset(st, 0, sizeof *st);
    if (!fn)
        return err_set(e, -EINVAL, "wal %s: no replay callback", dir);
    struct scan sc = {0};
    struct replay rp = {.fn = fn, .ctx = ctx, .st = st};
    int r;
    struct wal *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, -ENOMEM, "wal %s: out of memory", dir);
    w->dirfd = w->fd = -1;
    w->segment_bytes = segment_bytes ? segment_bytes : SEGMENT_DEFAULT;
    if (!(w->dir = strdup(dir))) {
        r = err_set(e, -ENOMEM, "wal %s: out of memory", dir);
        goto fail;
    }
    if ((r = pthread_mutex_init(&w->mu, NULL)) != 0) {
        r = err_set(e, -r, "wal %s: mutex: %s", dir, err_str(-r));
        goto fail;
    }
    w->mutexes = 1;
    if ((r = pthread_mutex_init(&w->sync_mu, NULL)) != 0) {
        r = err_set(e, -r, "wal %s: mutex: %s", dir, err_str(-r));
        goto fail;
    }
    w->mutexes = 2;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        r = err_set(e, -errno, "wal %s: create directory: %s", dir, err_str(-errno));
        goto fail;
    }
    if ((w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        r = err_set(e, -errno, "wal %s: open directory: %s", dir, err_str(-errno));
        goto fail;
    }
    if ((r = scan_dir(w, &sc, e)) < 0)
        goto fail;

    /* The newest checkpoint, and the first number nothing in the directory uses (a directory
     * named like a segment counts too: creating that name would fail). A checkpoint name that is
     * not a regular file is not ours to trust: it neither replaces segments nor is removed. */
    int has_ckpt = 0, any = 0;
    uint32_t ckpt = 0, top = 0;
    for (size_t i = 0; i < sc.n; i++) {
        if (sc.v[i].kind == KIND_CKPT && sc.v[i].regular) {
            has_ckpt = 1;
            ckpt = sc.v[i].idx; /* sorted ascending: the last one wins */
        }
        any = 1;
        top = sc.v[i].idx;
    }
    char name[NAME_MAX_LEN + 8];
    for (size_t i = 0; i < sc.n; i++) {
        struct ent *en = &sc.v[i];
        if (!en->regular) {
            if (en->kind != KIND_SEG) /* segments: reported when replay reaches them */
                LOG_WARN("wal", "not a regular file, skipped",
                         "file=\"%s/" CKPT_PREFIX "%08" PRIu32 "%s\"", w->dir, en->idx,
                         en->kind == KIND_TMP ? ".tmp" : "");
        } else if (en->kind == KIND_TMP) {
            ckpt_name(name, en->idx);
            strcat(name, ".tmp");
            remove_leftover(w, name, "unfinished checkpoint");
        } else if (en->kind == KIND_CKPT && en->idx < ckpt) {
            ckpt_name(name, en->idx);
            remove_leftover(w, name, "replaced by a newer checkpoint");
        } else if (en->kind == KIND_SEG && has_ckpt && en->idx <= ckpt) {
            seg_name(name, en->idx);
            remove_leftover(w, name, "segment covered by the checkpoint");
        }
    }

    if (has_ckpt && (r = replay_ckpt(w, &rp, ckpt, e)) < 0)
        goto fail;
    int have_prev = has_ckpt;
    uint32_t prev = ckpt;
    for (size_t i = 0; i < sc.n; i++) {
        struct ent *en = &sc.v[i];
        if (en->kind != KIND_SEG || (has_ckpt && en->idx <= ckpt))
            continue;
        if (have_prev && en->idx != prev + 1)
            LOG_WARN("wal", "gap in WAL segment numbers, replay continues",
                     "dir=\"%s\" after=%08" PRIu32 " next=%08" PRIu32, w->dir, prev, en->idx);
        if ((r = replay_segment(w, &rp, en->idx, e)) < 0)
            goto fail;
        have_prev = 1;
        prev = en->idx;
    }

    if (any && top == UINT32_MAX) {
        r = err_set(e, ERR_LIMIT, "wal %s: segment numbers exhausted", dir);
        goto fail;
    }
    uint32_t next = any ? top + 1 : 0;
    if ((r = w->fd = create_segment(w, next, e)) < 0)
        goto fail;
    if ((r = segs_push(w, (struct seg){next, INT64_MIN, 0})) < 0) {
        r = err_set(e, r, "wal %s: out of memory", dir);
        goto fail;
    }
    if ((r = fsync_fd(w->dirfd)) < 0) {
        r = err_set(e, r, "wal %s: fsync directory: %s", dir, err_str(r));
        goto fail;
    }
    *ret = w;
    w = NULL;
    r = 0;
fail:
    free(sc.v);
    buf_free(&rp.rb);
    buf_free(&rp.db);
    ZSTD_freeDCtx(rp.dctx);
    wal_free(w);
    return r;
}

/* ---- writing ---- */

/* fsyncs the parked fds and the directory in the writer, under mu: only when nobody called
 * wal_sync() for PENDING_MAX rotations. Failures wait for the next wal_sync(). */
static void flush_parked_locked(struct wal *w)
{
    for (size_t i = 0; i < w->npending; i++) {
        struct fsync_obs o;
        int r = fsync_segment(w->pending[i].fd, &o);
        fsync_record_locked(w, &o);
        if (r < 0 && !w->sync_err)
            w->sync_err = r;
        (void) close(w->pending[i].fd);
    }
    w->npending = 0;
    if (w->dir_dirty) {
        int r = fsync_fd(w->dirfd);
        if (r < 0 && !w->sync_err)
            w->sync_err = r;
        if (r == 0)
            w->dir_dirty = 0;
    }
}

/* Starts the next segment; the closed one waits, parked, for wal_sync(). Called with mu held. */
static int rotate_locked(struct wal *w, struct err *e)
{
    uint32_t cur = w->segs[w->nsegs - 1].idx;
    if (cur == UINT32_MAX)
        return err_set(e, ERR_LIMIT, "wal %s: segment numbers exhausted", w->dir);
    if (w->nsegs == w->cap) {
        size_t nc = w->cap * 2;
        struct seg *v = realloc(w->segs, nc * sizeof *v);
        if (!v)
            return err_set(e, -ENOMEM, "wal %s: out of memory", w->dir);
        w->segs = v;
        w->cap = nc;
    }
    if (w->npending == PENDING_MAX)
        flush_parked_locked(w);
    int fd = create_segment(w, cur + 1, e);
    if (fd < 0)
        return fd;
    w->pending[w->npending++] = (struct parked){w->fd, cur};
    w->fd = fd;
    w->cur_broken = 0;
    w->dir_dirty = 1;
    w->segs[w->nsegs++] = (struct seg){cur + 1, INT64_MIN, 0};
    return 0;
}

int wal_write(struct wal *w, const void *frames, size_t n, int64_t maxt, struct err *e)
{
    if (n == 0)
        return 0;
    if (!frames_whole(frames, n))
        return err_set(e, ERR_INTERNAL, "wal %s: write of %zu bytes that are not whole frames",
                       w->dir, n);
    (void) pthread_mutex_lock(&w->mu);
    struct seg *cur = &w->segs[w->nsegs - 1];
    if (w->cur_broken ||
        (cur->size > 0 && (n > w->segment_bytes || cur->size > w->segment_bytes - n))) {
        int r = rotate_locked(w, e);
        if (r < 0) {
            w->write_failures++;
            (void) pthread_mutex_unlock(&w->mu);
            return r;
        }
        cur = &w->segs[w->nsegs - 1];
    }
    int r = write_all(w->fd, frames, n, cur->size);
    if (r < 0) {
        uint32_t idx = cur->idx;
        w->write_failures++;
        /* Take back a partial frame so later writes do not land behind a torn one. */
        if (ftruncate(w->fd, (off_t) cur->size) < 0)
            w->cur_broken = 1;
        (void) pthread_mutex_unlock(&w->mu);
        return err_set(e, r, "wal %s: write segment %08" PRIu32 ": %s", w->dir, idx, err_str(r));
    }
    cur->size += n;
    if (maxt > cur->maxt)
        cur->maxt = maxt;
    w->writes++;
    (void) pthread_mutex_unlock(&w->mu);
    return 0;
}

int wal_sync(struct wal *w, struct err *e)
{
    struct parked parked[PENDING_MAX];
    (void) pthread_mutex_lock(&w->sync_mu);
    (void) pthread_mutex_lock(&w->mu);
    uint32_t cur_idx = w->segs[w->nsegs - 1].idx;
    int cur = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
    if (cur < 0) {
        int r = -errno;
        (void) pthread_mutex_unlock(&w->mu);
        (void) pthread_mutex_unlock(&w->sync_mu);
        return err_set(e, r, "wal %s: dup segment fd: %s", w->dir, err_str(r));
    }
    size_t np = w->npending;
    memcpy(parked, w->pending, np * sizeof parked[0]);
    w->npending = 0;
    int dirty = w->dir_dirty, earlier = w->sync_err;
    w->dir_dirty = 0;
    w->sync_err = 0;
    (void) pthread_mutex_unlock(&w->mu);

    int r = 0, k;
    struct fsync_obs took[PENDING_MAX + 1];
    for (size_t i = 0; i < np; i++) {
        if ((k = fsync_segment(parked[i].fd, &took[i])) < 0 && r == 0)
            r = err_set(e, k, "wal %s: fsync segment %08" PRIu32 ": %s", w->dir, parked[i].idx,
                        err_str(k));
        (void) close(parked[i].fd);
    }
    int dir_failed = 0;
    if (dirty && (k = fsync_fd(w->dirfd)) < 0) {
        dir_failed = 1;
        if (r == 0)
            r = err_set(e, k, "wal %s: fsync directory: %s", w->dir, err_str(k));
    }
    if ((k = fsync_segment(cur, &took[np])) < 0 && r == 0)
        r = err_set(e, k, "wal %s: fsync segment %08" PRIu32 ": %s", w->dir, cur_idx,
                    err_str(k));
    (void) close(cur);
    if (earlier < 0 && r == 0)
        r = err_set(e, earlier, "wal %s: fsync of a closed segment during rotation: %s", w->dir,
                    err_str(earlier));

    (void) pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i <= np; i++)
        fsync_record_locked(w, &took[i]);
    if (dir_failed)
        w->dir_dirty = 1;
    if (r == 0)
        w->syncs++;
    (void) pthread_mutex_unlock(&w->mu);
    (void) pthread_mutex_unlock(&w->sync_mu);
    return r;
}

void wal_close(struct wal *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        struct err e;
        if (wal_sync(w, &e) < 0)
            LOG_WARN("wal", "final WAL sync failed", "dir=\"%s\" err=\"%s\"", w->dir, e.msg);
    }
    wal_free(w);
}

/* ---- truncation ---- */

/* checkpoint.<idx>: temporary file, fsync, rename, fsync of the directory. */
static int write_checkpoint(struct wal *w, uint32_t idx, const uint8_t *p, size_t n,
                            struct err *e)
{
    char name[NAME_MAX_LEN], tmp[NAME_MAX_LEN + 8];
    ckpt_name(name, idx);
    (void) snprintf(tmp, sizeof tmp, "%s.tmp", name);
    int fd = openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return err_set(e, -errno, "wal %s: create %s: %s", w->dir, tmp, err_str(-errno));
    int r = write_all(fd, p, n, 0);
    const char *what = "write";
    if (r == 0) {
        what = "fsync";
        r = fsync_fd(fd);
    }
    if (close(fd) < 0 && r == 0) {
        what = "close";
        r = -errno;
    }
    if (r == 0 && renameat(w->dirfd, tmp, w->dirfd, name) < 0) {
        what = "rename";
        r = -errno;
    }
    if (r < 0) {
        (void) unlinkat(w->dirfd, tmp, 0);
        return err_set(e, r, "wal %s: %s %s: %s", w->dir, what, tmp, err_str(r));
    }
    return 0;
}

int wal_truncate(struct wal *w, int64_t mint, const void *checkpoint, size_t n, struct err *e)
{
    if (!frames_whole(checkpoint, n))
        return err_set(e, ERR_INTERNAL, "wal %s: checkpoint of %zu bytes is not whole frames",
                       w->dir, n);
    (void) pthread_mutex_lock(&w->mu);
    /* The run: the oldest closed segments whose samples are all older than mint. The current
     * segment joins it (and writes move to a new one) only when everything before it does and it
     * qualifies too; otherwise closing it could not let it be deleted. */
    size_t k = 0;
    while (k + 1 < w->nsegs && w->segs[k].maxt < mint)
        k++;
    struct seg *cur = &w->segs[w->nsegs - 1];
    if (k + 1 == w->nsegs && cur->maxt < mint && (cur->size > 0 || w->cur_broken)) {
        int r = rotate_locked(w, e);
        if (r < 0) {
            (void) pthread_mutex_unlock(&w->mu);
            return r;
        }
        k = w->nsegs - 1;
    }
    if (k == 0) {
        (void) pthread_mutex_unlock(&w->mu);
        return 0;
    }
    uint32_t *run = malloc(k * sizeof *run);
    if (!run) {
        (void) pthread_mutex_unlock(&w->mu);
        return err_set(e, -ENOMEM, "wal %s: out of memory", w->dir);
    }
    for (size_t i = 0; i < k; i++)
        run[i] = w->segs[i].idx;
    int had_ckpt = w->has_ckpt;
    uint32_t old_ckpt = w->ckpt_idx, last = run[k - 1];
    (void) pthread_mutex_unlock(&w->mu);

    int r = write_checkpoint(w, last, checkpoint, n, e);
    if (r < 0) {
        free(run);
        return r;
    }
    (void) pthread_mutex_lock(&w->mu);
    w->has_ckpt = 1;
    w->ckpt_idx = last;
    w->ckpt_size = n;
    (void) pthread_mutex_unlock(&w->mu);
    /* Until the rename is durable the old files must stay: a crash could bring back the old
     * directory entry. An old checkpoint left behind here is removed by the next open. */
    if ((r = fsync_fd(w->dirfd)) < 0) {
        free(run);
        return err_set(e, r, "wal %s: fsync directory: %s", w->dir, err_str(r));
    }
    (void) pthread_mutex_lock(&w->mu);
    memmove(w->segs, w->segs + k, (w->nsegs - k) * sizeof w->segs[0]);
    w->nsegs -= k;
    (void) pthread_mutex_unlock(&w->mu);

    /* The checkpoint now stands for these files whether or not they go: one that cannot be
     * removed now is removed by the next open. */
    char name[NAME_MAX_LEN];
    for (size_t i = 0; i < k; i++) {
        seg_name(name, run[i]);
        if (unlinkat(w->dirfd, name, 0) < 0 && errno != ENOENT && r == 0)
            r = err_set(e, -errno, "wal %s: remove %s: %s", w->dir, name, err_str(-errno));
    }
    if (had_ckpt && old_ckpt != last) {
        ckpt_name(name, old_ckpt);
        if (unlinkat(w->dirfd, name, 0) < 0 && errno != ENOENT && r == 0)
            r = err_set(e, -errno, "wal %s: remove %s: %s", w->dir, name, err_str(-errno));
    }
    free(run);
    return r;
}

void wal_stats_get(struct wal *w, struct wal_stats *ret)
{
    struct wal_stats s = {0};
    (void) pthread_mutex_lock(&w->mu);
    s.first_segment = w->segs[0].idx;
    s.last_segment = w->segs[w->nsegs - 1].idx;
    for (size_t i = 0; i < w->nsegs; i++)
        s.bytes += w->segs[i].size;
    if (w->has_ckpt)
        s.bytes += w->ckpt_size;
    s.writes = w->writes;
    s.write_failures = w->write_failures;
    s.syncs = w->syncs;
    (void) pthread_mutex_unlock(&w->mu);
    *ret = s;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void wal_fsync_summary_get(struct wal *w, struct wal_fsync_summary *ret)
{
    static const double qs[WAL_FSYNC_QUANTILES] = {0.5, 0.9, 0.99};
    double win[WAL_FSYNC_RING];
    size_t k = 0;
    int64_t since = time_mono_ns() - WAL_FSYNC_WINDOW_MS * 1000000;
    (void) pthread_mutex_lock(&w->mu);
    ret->count = w->fsyncs;
    ret->seconds_sum = w->fsync_seconds;
    size_t held = w->fsyncs < WAL_FSYNC_RING ? (size_t) w->fsyncs : WAL_FSYNC_RING;
    for (size_t i = 0; i < held; i++)
        if (w->fsync_ring[i].end_ns >= since)
            win[k++] = w->fsync_ring[i].seconds;
    (void) pthread_mutex_unlock(&w->mu);
    qsort(win, k, sizeof *win, dbl_cmp);
    for (size_t i = 0; i < WAL_FSYNC_QUANTILES; i++) {
        ret->q[i] = qs[i];
        size_t at = (size_t) (qs[i] * (double) k);
        ret->value[i] = k ? win[at < k ? at : k - 1] : (double) NAN;
    }
}
