/* server/api_import.c — POST /api/v1/import/prometheus: samples in the text exposition format
 * with optional millisecond timestamps (as VictoriaMetrics accepts them), gzip or not.
 *
 * The body is parsed and appended on a worker; the answer is 204 only after the appender's
 * commit has put the samples into the WAL, so an acknowledged import survives a crash. A
 * malformed body stores nothing (400 with the line and reason). Samples the head rejects (older
 * than its newest sample for the series, or than the oldest time it still accepts) are counted
 * and reported in a 400 after the rest are stored: use `ember tsdb import` for old data.
 * `extra_label=name=value` parameters add labels to every sample. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "scrape/textparse.h"
#include "server/app.h"
#include "server/http_form.h"

#define MAX_EXTRA_LABELS 16
#define MAX_INFLATED_BYTES (256u << 20)

struct import_job {
    uv_work_t work;
    struct app *app;
    struct http_request *req;
    struct label extra[MAX_EXTRA_LABELS];
    uint32_t n_extra;
    uint64_t samples, rejected;
    struct err err;
};

/* gzip body → arena copy; ERR_PARSE when it is not gzip, ERR_LIMIT beyond the cap. */
static int gunzip(struct arena *a, const char *p, size_t n, const char **ret, size_t *ret_n,
                  struct err *e)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return err_set(e, -ENOMEM, "out of memory inflating the body");
    size_t cap = n * 4 + 4096, len = 0;
    char *out = arena_alloc(a, cap);
    int r = Z_OK;
    z.next_in = (Bytef *) (uintptr_t) p;
    z.avail_in = (uInt) n;
    while (out && r == Z_OK) {
        if (len == cap) {
            if (cap >= MAX_INFLATED_BYTES)
                break;
            char *grown = arena_realloc(a, out, cap, cap * 2);
            out = grown;
            cap *= 2;
            if (!out)
                break;
        }
        z.next_out = (Bytef *) out + len;
        z.avail_out = (uInt) (cap - len);
        r = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    }
    inflateEnd(&z);
    if (!out || (r == Z_OK && len == cap))
        return err_set(e, ERR_LIMIT, "gzip body inflates beyond %u MiB",
                       MAX_INFLATED_BYTES >> 20);
    if (r != Z_STREAM_END)
        return err_set(e, ERR_PARSE, "body is not valid gzip: %s", z.msg ? z.msg : "truncated");
    *ret = out;
    *ret_n = len;
    return 0;
}

/* The sample's labels plus the extra labels (which win, as in VictoriaMetrics). */
static int with_extra(struct import_job *j, struct arena *a, struct labels *ls, uint32_t line)
{
    if (j->n_extra == 0)
        return 0;
    struct label *v = arena_alloc(a, (ls->n + j->n_extra) * sizeof *v);
    if (!v)
        return err_set(&j->err, ERR_LIMIT, "import too large for one request");
    uint32_t n = 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        int overridden = 0;
        for (uint32_t k = 0; k < j->n_extra; k++)
            overridden |= strcmp(ls->v[i].name, j->extra[k].name) == 0;
        if (!overridden)
            v[n++] = ls->v[i];
    }
    memcpy(v + n, j->extra, j->n_extra * sizeof *v);
    ls->v = v;
    ls->n = n + j->n_extra;
    if (labels_sort(ls) < 0)
        return err_set(&j->err, ERR_PARSE, "line %u: repeated label name", line);
    return 0;
}

static void import_work(uv_work_t *wk)
{
    struct import_job *j = wk->data;
    struct http_request *req = j->req;
    struct arena *a = req->arena;
    const char *body = req->body;
    size_t len = req->body_len;
    const char *enc = http_request_header(req, "content-encoding");
    if (enc && strcmp(enc, "gzip") == 0 && gunzip(a, body, len, &body, &len, &j->err) < 0)
        return;
    tsdb_appender *app = tsdb_appender_new(j->app->db);
    if (!app) {
        err_set(&j->err, -ENOMEM, "out of memory");
        return;
    }
    int64_t now = time_now_ms();
    struct textparse p;
    textparse_init(&p, body, len, TEXTPARSE_PROM);
    int r;
    while ((r = textparse_next(&p, &j->err)) > 0) {
        if (r != TEXTPARSE_SERIES)
            continue;
        struct labels ls;
        uint64_t ref = 0;
        if ((r = textparse_labels(&p, a, &ls, &j->err)) < 0 ||
            (r = with_extra(j, a, &ls, p.line)) < 0 ||
            (r = tsdb_appender_add(app, &ref, &ls, p.has_t ? p.t_ms : now, p.value, &j->err)) < 0)
            break;
        j->samples++;
    }
    if (r < 0) {
        tsdb_appender_rollback(app);
        return;
    }
    r = tsdb_appender_commit(app, &j->err);
    if (r > 0)
        j->rejected = (uint64_t) r;
}

static void import_after(uv_work_t *wk, int status)
{
    struct import_job *j = wk->data;
    struct http_request *req = j->req;
    if (status < 0)
        err_set(&j->err, ERR_CANCELED, "import canceled: server is shutting down");
    if (j->err.code != 0) {
        const char *type;
        int code;
        api_error_type(j->err.code, &type, &code);
        http_respond_error(req, code, type, j->err.msg);
    } else if (j->rejected) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%llu of %llu samples rejected as out of order, duplicate or older than the "
                 "head accepts (use `ember tsdb import` for old data); the others are stored",
                 (unsigned long long) j->rejected, (unsigned long long) j->samples);
        http_respond_error(req, 400, "bad_data", msg);
    } else {
        http_respond(req, 204, NULL, NULL, 0);
    }
    free(j);
}

/* extra_label=name=value, repeated. */
static int parse_extra(struct import_job *j, struct http_form *form, struct err *e)
{
    const struct http_form_pair *p;
    for (uint32_t pos = 0; (p = http_form_next(form, "extra_label", &pos));) {
        if (j->n_extra == MAX_EXTRA_LABELS)
            return err_set(e, ERR_PARSE, "at most %d extra_label parameters", MAX_EXTRA_LABELS);
        const char *v = p->value, *eq = strchr(v, '=');
        if (!eq || !labels_name_valid(v, (size_t) (eq - v)))
            return err_set(e, ERR_PARSE, "invalid extra_label \"%s\": want name=value", v);
        char *name = arena_strndup(j->req->arena, v, (size_t) (eq - v));
        if (!name)
            return err_set(e, ERR_LIMIT, "request too large");
        j->extra[j->n_extra++] = (struct label){name, eq + 1};
    }
    return 0;
}

void api_import_prometheus(struct http_request *req, struct app *app)
{
    struct import_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond_error(req, 503, "unavailable", "out of memory");
        return;
    }
    j->app = app;
    j->req = req;
    j->work.data = j;
    struct http_form *form;
    struct err e = {0};
    /* Only the query string carries parameters: the body is the data. */
    if (http_form_parse(req->arena, "GET", req->query, req->query_len, "", 0, NULL, &form, &e) <
            0 ||
        parse_extra(j, form, &e) < 0) {
        http_respond_error(req, 400, "bad_data", e.msg);
        free(j);
        return;
    }
    if (uv_queue_work(app->loop, &j->work, import_work, import_after) < 0) {
        free(j);
        http_respond_error(req, 503, "unavailable", "server is shutting down");
    }
}
