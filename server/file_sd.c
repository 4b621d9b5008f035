/* server/file_sd.c — reading file_sd_configs target files (see file_sd.h). Both JSON and YAML
 * files go through libyaml (JSON is YAML's flow style), with the config loader's limits on size,
 * depth and node count, so a hostile file costs bounded memory and gets a positioned error. */
#include "server/file_sd.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "server/config_yaml.h"

struct group_fields {
    const yaml_node_t *targets;
    struct labels labels;
};

static int grp_targets(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    ((struct group_fields *) obj)->targets = v;
    return 0;
}

static int grp_labels(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v)
{
    return config_get_labels(l, "labels", v, &((struct group_fields *) obj)->labels);
}

static const struct field group_fields[] = {
    FN("targets", grp_targets),
    FN("labels", grp_labels),
};

/* One target: the group's labels, then __address__ and __meta_filepath winning over group labels
 * of those names (Prometheus sets both after reading the group). */
static int target_labels(struct ld *l, const struct labels *group, const char *addr,
                         struct labels *ret)
{
    struct label *v = arena_alloc(l->a, (group->n + 2) * sizeof *v);
    if (!v)
        return config_oom(l, l->a);
    uint32_t n = 0;
    v[n++] = (struct label){"__address__", addr};
    v[n++] = (struct label){FILE_SD_META_FILEPATH, l->name};
    for (uint32_t i = 0; i < group->n; i++)
        if (strcmp(group->v[i].name, "__address__") && strcmp(group->v[i].name,
                                                               FILE_SD_META_FILEPATH))
            v[n++] = group->v[i];
    *ret = (struct labels){v, n};
    return labels_sort(ret) < 0 ? err_set(l->e, ERR_PARSE, "%s: repeated label", l->name) : 0;
}

static int load_groups(struct ld *l, const yaml_node_t *root, void *obj)
{
    struct buf *out = obj;
    const yaml_node_item_t *groups;
    uint32_t ng;
    int r;
    if (!root || config_is_null(root))
        return 0; /* an empty file: no targets */
    if ((r = config_visit(l, root)) < 0)
        return r;
    if (root->type != YAML_SEQUENCE_NODE)
        return config_fail(l, root, ERR_PARSE, "expected a list of target groups, got %s",
                           config_kind_name(root));
    if ((r = config_get_list(l, "target groups", root, &groups, &ng)) < 0)
        return r;
    for (uint32_t g = 0; g < ng; g++) {
        const yaml_node_t *it = config_node(l, groups[g]);
        struct group_fields gf = {0};
        const yaml_node_item_t *ts;
        uint32_t nt = 0;
        if ((r = config_visit(l, it)) < 0)
            return r;
        if (it->type != YAML_MAPPING_NODE)
            return config_fail(l, it, ERR_PARSE, "a target group must be a mapping with targets "
                               "and labels, got %s", config_kind_name(it));
        if ((r = config_section(l, it, "target group", group_fields, ARRAY_LEN(group_fields),
                                &gf)) < 0)
            return r;
        if (gf.targets && (r = config_get_list(l, "targets", gf.targets, &ts, &nt)) < 0)
            return r;
        for (uint32_t t = 0; t < nt; t++) {
            const yaml_node_t *tn = config_node(l, ts[t]);
            const char *addr;
            struct labels ls;
            if ((r = config_visit(l, tn)) < 0 || (r = config_get_str(l, "targets", tn, &addr)) < 0)
                return r;
            if (!*addr)
                return config_fail(l, tn, ERR_PARSE, "targets: empty target");
            if ((r = target_labels(l, &gf.labels, addr, &ls)) < 0)
                return r;
            if (buf_append(out, &ls, sizeof ls) < 0)
                return err_set(l->e, -ENOMEM, "%s: out of memory", l->name);
        }
    }
    return 0;
}

int file_sd_parse(struct arena *a, const char *path, const char *text, size_t len,
                  struct labels **ret, uint32_t *ret_n, struct err *e)
{
    struct ld l = {.name = arena_strdup(a, path), .e = e, .a = a, .targets = BUF_INIT};
    struct buf out = BUF_INIT;
    if (!l.name)
        return err_set(e, -ENOMEM, "%s: out of memory", path);
    if (len > CONFIG_MAX_BYTES)
        return err_set(e, ERR_LIMIT, "%s: target file is %zu bytes, the limit is %u MiB", path,
                       len, CONFIG_MAX_BYTES >> 20);
    if (!(l.tmp = arena_new(0)))
        return err_set(e, -ENOMEM, "%s: out of memory", path);
    int r = config_yaml_load(&l, text, len, load_groups, &out);
    arena_free(l.tmp);
    struct labels *v = NULL;
    uint32_t n = (uint32_t) (out.len / sizeof *v);
    if (r == 0 && n && !(v = arena_alloc(a, out.len)))
        r = err_set(e, ERR_LIMIT, "%s: too many targets", path);
    if (r == 0) {
        if (n)
            memcpy(v, out.p, out.len);
        *ret = v;
        *ret_n = n;
    }
    buf_free(&out);
    return r;
}

/* ---- snapshots ---- */

struct sd_file {
    const char *job, *path;
    struct labels *targets;
    uint32_t n;
};

struct file_sd_snapshot {
    struct arena *a;
    struct sd_file *files; /* sorted by job, then path */
    uint32_t n;
};

static int sd_file_cmp(const void *x, const void *y)
{
    const struct sd_file *a = x, *b = y;
    int c = strcmp(a->job, b->job);
    return c ? c : strcmp(a->path, b->path);
}

static const struct sd_file *find_file(const struct file_sd_snapshot *s, const char *job,
                                       const char *path)
{
    if (!s || !s->n)
        return NULL;
    struct sd_file key = {job, path, NULL, 0};
    return bsearch(&key, s->files, s->n, sizeof key, sd_file_cmp);
}

/* Reads one file into f (strings in a); on failure logs and keeps prev's targets for it. */
static int refresh_file(struct arena *a, const char *job, const char *path,
                        const struct file_sd_snapshot *prev, struct sd_file *f,
                        uint64_t *errors)
{
    struct buf text = BUF_INIT;
    struct err e = {0};
    *f = (struct sd_file){arena_strdup(a, job), arena_strdup(a, path), NULL, 0};
    if (!f->job || !f->path)
        return -ENOMEM;
    int r = config_read_file(path, "target file", &text, &e);
    if (r == 0) {
        r = file_sd_parse(a, path, text.p ? (const char *) text.p : "", text.len, &f->targets,
                          &f->n, &e);
        buf_free(&text);
    }
    if (r == 0)
        return 0;
    if (r == -ENOMEM)
        return r;
    (*errors)++;
    const struct sd_file *old = find_file(prev, job, path);
    char qj[128], qp[512], qm[2 * sizeof e.msg];
    LOG_ERROR("discovery", "error reading file, keeping its previous targets",
              "job=\"%s\" path=\"%s\" targets_kept=%u err=\"%s\"", log_escape(job, qj, sizeof qj),
              log_escape(path, qp, sizeof qp), old ? old->n : 0, log_escape(e.msg, qm, sizeof qm));
    if (!old)
        return 0;
    f->targets = arena_calloc(a, old->n ? old->n : 1, sizeof *f->targets);
    if (!f->targets)
        return -ENOMEM;
    for (uint32_t i = 0; i < old->n; i++)
        if (labels_copy(a, &old->targets[i], &f->targets[i]) < 0)
            return -ENOMEM;
    f->n = old->n;
    return 0;
}

int file_sd_refresh(const struct config *cfg, const struct file_sd_snapshot *prev,
                    struct file_sd_snapshot **ret, uint64_t *ret_errors, struct err *e)
{
    struct file_sd_snapshot *s = calloc(1, sizeof *s);
    struct buf files = BUF_INIT;
    uint64_t errors = 0;
    int r = 0;
    if (!s || !(s->a = arena_new(0))) {
        free(s);
        return err_set(e, -ENOMEM, "out of memory reading file_sd files");
    }
    for (uint32_t j = 0; j < cfg->n_scrapes && r == 0; j++) {
        const struct config_scrape *sc = &cfg->scrapes[j];
        size_t job_start = files.len / sizeof(struct sd_file);
        for (uint32_t d = 0; d < sc->n_file_sd && r == 0; d++) {
            for (uint32_t g = 0; g < sc->file_sd[d].n_files && r == 0; g++) {
                glob_t gl;
                int gr = glob(sc->file_sd[d].files[g], GLOB_NOSORT, NULL, &gl);
                for (size_t i = 0; gr == 0 && i < gl.gl_pathc && r == 0; i++) {
                    const char *path = gl.gl_pathv[i];
                    int seen = 0; /* two globs of one job matching one file: read it once */
                    const struct sd_file *fv = (const struct sd_file *) files.p;
                    for (size_t k = job_start; k < files.len / sizeof *fv && !seen; k++)
                        seen = strcmp(fv[k].path, path) == 0;
                    struct sd_file f;
                    if (seen)
                        continue;
                    if ((r = refresh_file(s->a, sc->job_name, path, prev, &f, &errors)) == 0 &&
                        buf_append(&files, &f, sizeof f) < 0)
                        r = -ENOMEM;
                }
                if (gr == 0)
                    globfree(&gl);
            }
        }
    }
    s->n = (uint32_t) (files.len / sizeof(struct sd_file));
    if (r == 0 && s->n && !(s->files = arena_alloc(s->a, files.len)))
        r = -ENOMEM;
    if (r == 0 && s->n) {
        memcpy(s->files, files.p, files.len);
        qsort(s->files, s->n, sizeof *s->files, sd_file_cmp);
    }
    buf_free(&files);
    if (r < 0) {
        file_sd_snapshot_free(s);
        return err_set(e, -ENOMEM, "out of memory reading file_sd files");
    }
    *ret = s;
    *ret_errors = errors;
    return 0;
}

/* The first file of job in s (files are sorted by job), or s->n. */
static uint32_t first_of_job(const struct file_sd_snapshot *s, const char *job)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->files[mid].job, job) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t file_sd_count(const struct file_sd_snapshot *s, const char *job)
{
    uint32_t n = 0;
    for (uint32_t i = s ? first_of_job(s, job) : 0; s && i < s->n && !strcmp(s->files[i].job,
                                                                             job); i++)
        n += s->files[i].n;
    return n;
}

uint32_t file_sd_copy(const struct file_sd_snapshot *s, const char *job, struct labels *out)
{
    uint32_t n = 0;
    for (uint32_t i = s ? first_of_job(s, job) : 0; s && i < s->n && !strcmp(s->files[i].job,
                                                                             job); i++)
        for (uint32_t t = 0; t < s->files[i].n; t++)
            out[n++] = s->files[i].targets[t];
    return n;
}

void file_sd_snapshot_free(struct file_sd_snapshot *s)
{
    if (!s)
        return;
    arena_free(s->a);
    free(s);
}
