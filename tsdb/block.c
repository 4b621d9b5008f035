/* tsdb/block.c — an immutable block opened for reading: meta.json parsed, index and chunk files
 * mapped and validated (file formats in block_writer.c and index.h), series selected by
 * matchers with their chunks pointing into the mappings. After block_open() nothing is
 * written, so any number of threads may select from one block at once. */
#include "tsdb/block.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/index.h"

#define CHUNK_FILE_HEADER 8
#define META_MAX_BYTES 65536

struct mapping {
    uint8_t *p;
    size_t len;
};

struct block {
    char *dir;
    struct block_meta meta;
    struct mapping index;
    struct index_reader *ix;
    struct mapping *files; /* chunks/000001 is files[0] */
    uint32_t n_files;
    uint64_t size_bytes;
};

/* path = a/b; -ENAMETOOLONG with a message when it does not fit. */
static int join(char path[PATH_MAX], const char *a, const char *b, struct err *e)
{
    int n = snprintf(path, PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= PATH_MAX)
        return err_set(e, -ENAMETOOLONG, "%s/%s: path too long", a, b);
    return 0;
}

/* ---- meta.json ---- */

/* A small strict JSON reader for meta.json: objects, arrays, strings, integers, true, false and
 * null; keys it does not know are skipped, so later writers may add fields. */
struct jp {
    const char *p, *end;
    int depth;
};

static void jws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jlit(struct jp *j, char c)
{
    jws(j);
    if (j->p >= j->end || *j->p != c)
        return -1;
    j->p++;
    return 0;
}

/* A string into out (cap bytes, NUL-terminated; NULL skips it); 1 when it was cut to fit.
 * Escapes other than \" and \\ are refused: nothing we write needs them. */
static int jstring(struct jp *j, char *out, size_t cap)
{
    if (jlit(j, '"') < 0)
        return -1;
    size_t n = 0;
    int cut = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char) c < 0x20)
            return -1;
        if (c == '\\') {
            if (j->p >= j->end || (*j->p != '"' && *j->p != '\\'))
                return -1;
            c = *j->p++;
        }
        if (out && n + 1 < cap)
            out[n++] = c;
        else
            cut = 1;
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    if (out)
        out[n] = 0;
    return out && cut;
}

static int jint(struct jp *j, int64_t *ret)
{
    jws(j);
    int neg = j->p < j->end && *j->p == '-';
    j->p += neg;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return -1;
    uint64_t v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (v > (UINT64_C(1) << 63) / 10)
            return -1;
        v = v * 10 + (uint64_t) (*j->p++ - '0');
    }
    if (v > (uint64_t) INT64_MAX + (uint64_t) neg)
        return -1;
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return -1;
    *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
    return 0;
}

static int jskip(struct jp *j)
{
    jws(j);
    if (j->p >= j->end || ++j->depth > 16)
        return -1;
    int rc = 0;
    char c = *j->p;
    if (c == '"') {
        rc = jstring(j, NULL, 0);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        if (jlit(j, close) == 0) {
            j->depth--;
            return 0;
        }
        do {
            if (c == '{' && (jstring(j, NULL, 0) < 0 || jlit(j, ':') < 0))
                return -1;
            if (jskip(j) < 0)
                return -1;
        } while (jlit(j, ',') == 0);
        rc = jlit(j, close);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        int64_t v;
        rc = jint(j, &v);
    } else {
        static const char *const words[] = {"true", "false", "null"};
        rc = -1;
        for (int i = 0; i < 3; i++) {
            size_t n = strlen(words[i]);
            if ((size_t) (j->end - j->p) >= n && memcmp(j->p, words[i], n) == 0) {
                j->p += n;
                rc = 0;
            }
        }
    }
    j->depth--;
    return rc;
}

enum { M_ULID, M_MINT, M_MAXT, M_SAMPLES, M_SERIES, M_CHUNKS, M_LEVEL, M_VERSION, M_FIELDS };

/* Reads the members of one object, storing the known integer keys (names[k] -> vals[k]) and
 * the ulid; seen[k] marks what was present. The top level also descends into "stats" and
 * "compaction". */
static int jobject(struct jp *j, int top, const char *const *names, const int *keys, int n_keys,
                   int64_t *vals, int *seen, char *ulid)
{
    if (jlit(j, '{') < 0)
        return -1;
    if (jlit(j, '}') == 0)
        return 0;
    do {
        char key[32]; /* longer keys are cut: none of ours is that long */
        if (jstring(j, key, sizeof key) < 0 || jlit(j, ':') < 0)
            return -1;
        int k = -1;
        for (int i = 0; i < n_keys; i++)
            if (strcmp(key, names[i]) == 0)
                k = keys[i];
        int rc;
        if (k == M_ULID)
            rc = jstring(j, ulid, BLOCK_ULID_LEN + 1) == 0 ? 0 : -1;
        else if (k >= 0)
            rc = jint(j, &vals[k]);
        else if (top && strcmp(key, "stats") == 0) {
            static const char *const sn[] = {"numSamples", "numSeries", "numChunks"};
            static const int sk[] = {M_SAMPLES, M_SERIES, M_CHUNKS};
            rc = jobject(j, 0, sn, sk, 3, vals, seen, ulid);
        } else if (top && strcmp(key, "compaction") == 0) {
            static const char *const cn[] = {"level"};
            static const int ck[] = {M_LEVEL};
            rc = jobject(j, 0, cn, ck, 1, vals, seen, ulid);
        } else
            rc = jskip(j);
        if (rc < 0)
            return -1;
        if (k >= 0)
            seen[k] = 1;
    } while (jlit(j, ',') == 0);
    return jlit(j, '}');
}

int block_meta_parse(const char *s, size_t n, struct block_meta *m, struct err *e)
{
    static const char *const top[] = {"ulid", "minTime", "maxTime", "version"};
    static const int topk[] = {M_ULID, M_MINT, M_MAXT, M_VERSION};
    int64_t v[M_FIELDS] = {0};
    int seen[M_FIELDS] = {0};
    struct jp j = {s, s + n, 0};
    memset(m, 0, sizeof *m);
    if (jobject(&j, 1, top, topk, 4, v, seen, m->ulid) < 0 || (jws(&j), j.p != j.end))
        return err_set(e, ERR_CORRUPT, "meta.json: malformed at byte %zu", (size_t) (j.p - s));
    if (!seen[M_VERSION])
        return err_set(e, ERR_CORRUPT, "meta.json: no version");
    if (v[M_VERSION] < BLOCK_FORMAT_MIN_VERSION || v[M_VERSION] > BLOCK_FORMAT_VERSION)
        return err_set(e, ERR_CORRUPT,
                       "meta.json: unsupported block format version %" PRId64
                       " (this build reads versions %d to %d)",
                       v[M_VERSION], BLOCK_FORMAT_MIN_VERSION, BLOCK_FORMAT_VERSION);
    static const char *const field[M_FIELDS] = {"ulid", "minTime", "maxTime", "stats.numSamples",
                                                "stats.numSeries", "stats.numChunks",
                                                "compaction.level", "version"};
    for (int k = 0; k < M_FIELDS; k++)
        if (!seen[k])
            return err_set(e, ERR_CORRUPT, "meta.json: no %s", field[k]);
    /* A ULID is 26 characters of Crockford's base32 (either case, as ULID parsers take it). */
    static const char base32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz";
    if (strlen(m->ulid) != BLOCK_ULID_LEN || strspn(m->ulid, base32) != BLOCK_ULID_LEN)
        return err_set(e, ERR_CORRUPT, "meta.json: ulid is not %d characters of base32",
                       BLOCK_ULID_LEN);
    /* maxTime is exclusive on disk, as in Prometheus' meta.json. */
    if (v[M_MAXT] <= v[M_MINT])
        return err_set(e, ERR_CORRUPT, "meta.json: maxTime %" PRId64 " <= minTime %" PRId64,
                       v[M_MAXT], v[M_MINT]);
    if (v[M_SAMPLES] < 0 || v[M_SERIES] < 0 || v[M_CHUNKS] < 0 || v[M_LEVEL] < 1 ||
        v[M_LEVEL] > UINT32_MAX)
        return err_set(e, ERR_CORRUPT, "meta.json: negative count or bad level");
    m->mint = v[M_MINT];
    m->maxt = v[M_MAXT] - 1;
    m->n_samples = (uint64_t) v[M_SAMPLES];
    m->n_series = (uint64_t) v[M_SERIES];
    m->n_chunks = (uint64_t) v[M_CHUNKS];
    m->level = (uint32_t) v[M_LEVEL];
    m->version = (uint32_t) v[M_VERSION];
    return 0;
}

/* ---- open, close ---- */

static int map_file(const char *path, struct mapping *m, uint64_t *size, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
    else if (st.st_size == 0 || (uint64_t) st.st_size > SIZE_MAX)
        rc = err_set(e, ERR_CORRUPT, "%s: empty or too large", path);
    if (rc == 0) {
        void *p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            rc = err_set(e, -errno, "%s: mmap: %s", path, strerror(errno));
        else {
            m->p = p;
            m->len = (size_t) st.st_size;
            *size += (uint64_t) st.st_size;
        }
    }
    (void) close(fd);
    return rc;
}

static int read_meta(struct block *b, struct err *e)
{
    char path[PATH_MAX];
    if (join(path, b->dir, "meta.json", e) < 0)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    char *s = malloc(META_MAX_BYTES);
    size_t n = 0;
    int rc = s ? 0 : err_set(e, -ENOMEM, "%s: out of memory", path);
    while (rc == 0 && n < META_MAX_BYTES) {
        ssize_t r = read(fd, s + n, META_MAX_BYTES - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = err_set(e, -errno, "%s: %s", path, strerror(errno));
        else if (r == 0)
            break;
        else
            n += (size_t) r;
    }
    (void) close(fd);
    if (rc == 0 && n == META_MAX_BYTES)
        rc = err_set(e, ERR_CORRUPT, "%s: larger than %d bytes", path, META_MAX_BYTES);
    if (rc == 0) {
        rc = block_meta_parse(s, n, &b->meta, e);
        b->size_bytes += n;
    }
    free(s);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Maps chunks/000001..N; the numbers must run from 1 without gaps. */
static int map_chunks(struct block *b, struct err *e)
{
    char path[PATH_MAX];
    if (join(path, b->dir, "chunks", e) < 0)
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strlen(de->d_name) != 6 || strspn(de->d_name, "0123456789") != 6)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = err_set(e, -ENOMEM, "%s: out of memory", path);
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = err_set(e, -ENOMEM, "%s: out of memory", path);
        else
            n++;
    }
    (void) closedir(d);
    if (rc == 0 && n)
        qsort(names, n, sizeof *names, name_cmp);
    if (rc == 0 && n && !(b->files = calloc(n, sizeof *b->files)))
        rc = err_set(e, -ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strtoul(names[i], NULL, 10) != i + 1) {
            rc = err_set(e, ERR_CORRUPT, "%s: chunk file %zu missing", path, i + 1);
            break;
        }
        char fp[PATH_MAX];
        if ((rc = join(fp, path, names[i], e)) < 0)
            break;
        rc = map_file(fp, &b->files[i], &b->size_bytes, e);
        if (rc == 0)
            b->n_files = (uint32_t) i + 1;
        const uint8_t *h = rc == 0 ? b->files[i].p : NULL;
        if (rc == 0 && (b->files[i].len < CHUNK_FILE_HEADER || memcmp(h, "EMBC", 4) != 0 ||
                        h[4] < BLOCK_FORMAT_MIN_VERSION || h[4] > BLOCK_FORMAT_VERSION ||
                        memcmp(h + 5, "\0\0\0", 3) != 0))
            rc = err_set(e, ERR_CORRUPT, "%s: not an ember chunk file of a known version", fp);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int block_open(const char *dir, struct block **ret, struct err *e)
{
    struct block *b = calloc(1, sizeof *b);
    if (!b || !(b->dir = strdup(dir))) {
        free(b);
        return err_set(e, -ENOMEM, "block %s: out of memory", dir);
    }
    char path[PATH_MAX];
    int rc = join(path, dir, "index", e);
    if (rc == 0)
        rc = read_meta(b, e);
    if (rc == 0)
        rc = map_file(path, &b->index, &b->size_bytes, e);
    if (rc == 0)
        rc = index_reader_open(b->index.p, b->index.len, &b->ix, e); /* "index: ..." */
    if (rc == 0 && index_n_series(b->ix) != b->meta.n_series)
        rc = err_set(e, ERR_CORRUPT, "index: %" PRIu64 " series, meta.json says %" PRIu64,
                     index_n_series(b->ix), b->meta.n_series);
    if (rc == 0)
        rc = map_chunks(b, e);
    struct stat st;
    if (rc == 0 && join(path, dir, "tombstones", NULL) == 0 && stat(path, &st) == 0)
        b->size_bytes += (uint64_t) st.st_size;
    if (rc < 0) {
        (void) err_prefix(e, "block %s: ", dir);
        block_close(b);
        return rc;
    }
    *ret = b;
    return 0;
}

void block_close(struct block *b)
{
    if (!b)
        return;
    index_reader_close(b->ix);
    if (b->index.p)
        (void) munmap(b->index.p, b->index.len);
    for (uint32_t i = 0; i < b->n_files; i++)
        (void) munmap(b->files[i].p, b->files[i].len);
    free(b->files);
    free(b->dir);
    free(b);
}

const struct block_meta *block_meta(const struct block *b)
{
    return &b->meta;
}

const char *block_dir(const struct block *b)
{
    return b->dir;
}

uint64_t block_size_bytes(const struct block *b)
{
    return b->size_bytes;
}

/* ---- queries ---- */

int block_select(struct block *b, struct arena *a, const struct matcher *ms, size_t n_ms,
                 int64_t mint, int64_t maxt, struct block_series **ret, size_t *ret_n,
                 struct err *e)
{
    if (mint > maxt || maxt < b->meta.mint || mint > b->meta.maxt) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    struct postings p;
    int rc = index_postings(b->ix, a, ms, n_ms, &p, e);
    if (rc < 0) {
        (void) err_prefix(e, "block %s: ", b->dir);
        return rc;
    }
    struct block_series *out = arena_alloc(a, (p.n ? p.n : 1) * sizeof *out);
    if (!out)
        return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
    size_t k = 0;
    for (size_t i = 0; i < p.n; i++) {
        struct index_chunk *ic;
        uint32_t nc;
        struct labels ls;
        if ((rc = index_series(b->ix, a, p.refs[i], mint, maxt, &ls, &ic, &nc, e)) < 0) {
            (void) err_prefix(e, "block %s: ", b->dir);
            return rc;
        }
        if (nc == 0)
            continue;
        struct block_chunk *c = arena_alloc(a, nc * sizeof *c);
        if (!c)
            return err_set(e, ERR_LIMIT, "query memory limit reached while selecting series");
        for (uint32_t j = 0; j < nc; j++) {
            const struct mapping *f = ic[j].file < b->n_files ? &b->files[ic[j].file] : NULL;
            if (!f || ic[j].off < CHUNK_FILE_HEADER || ic[j].off > f->len ||
                ic[j].len > f->len - ic[j].off ||
                (ic[j].ts_off && (ic[j].ts_off < CHUNK_FILE_HEADER || ic[j].ts_off > f->len ||
                                  ic[j].ts_len > f->len - ic[j].ts_off)) ||
                (ic[j].ref_off && (ic[j].ref_off < CHUNK_FILE_HEADER || ic[j].ref_off > f->len ||
                                   ic[j].ref_len > f->len - ic[j].ref_off)))
                return err_set(e, ERR_CORRUPT,
                               "block %s: series %" PRIu64 " chunk at %" PRIu64
                               " in chunks/%06u is outside the chunk files",
                               b->dir, p.refs[i], ic[j].off, ic[j].file + 1);
            c[j] = (struct block_chunk){ic[j].mint,
                                        ic[j].maxt,
                                        ic[j].n,
                                        ic[j].len,
                                        f->p + ic[j].off,
                                        ic[j].ts_off ? f->p + ic[j].ts_off : NULL,
                                        ic[j].ts_len,
                                        ic[j].ref_off ? f->p + ic[j].ref_off : NULL,
                                        ic[j].ref_len};
        }
        if (k > 0 && labels_cmp(&out[k - 1].labels, &ls) >= 0)
            return err_set(e, ERR_CORRUPT, "block %s: series %" PRIu64 " out of label order",
                           b->dir, p.refs[i]);
        out[k++] = (struct block_series){ls, c, nc};
    }
    *ret = out;
    *ret_n = k;
    return 0;
}

int block_label_names(struct block *b, struct arena *a, const char ***ret, size_t *ret_n,
                      struct err *e)
{
    int rc = index_label_names(b->ix, a, ret, ret_n, e);
    if (rc < 0)
        (void) err_prefix(e, "block %s: ", b->dir);
    return rc;
}

int block_label_values(struct block *b, struct arena *a, const char *name, const char ***ret,
                       size_t *ret_n, struct err *e)
{
    int rc = index_label_values(b->ix, a, name, ret, ret_n, e);
    if (rc < 0)
        (void) err_prefix(e, "block %s: ", b->dir);
    return rc;
}
