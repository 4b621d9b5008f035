/* server/reload.c — configuration reload (SIGHUP, POST /-/reload) and file_sd refreshes.
 *
 * Both are one kind of job on a libuv worker, at most one at a time:
 *   reload:  read + validate the config file → read every file_sd file → read the rule files
 *            → loop: apply the jobs (unchanged targets keep their loops, so no gap), the rules
 *            (unchanged groups keep their alert state) and the notifier, swap config and
 *            snapshot
 *   refresh: read every file_sd file of the current config → loop: apply, swap the snapshot
 * A request that arrives while a job runs is remembered (one pending reload with its waiting
 * HTTP requests, one pending refresh) and runs when the job is done, so no change is missed and
 * the loop never waits. A bad config or rule file is refused with its reason (logged, and the
 * 500 body of /-/reload); the old config and rules stay in force. The current config and snapshot are never freed
 * while a job reads them: only this file's after-work callback replaces them.
 *
 * Refreshes come from a timer (the smallest refresh_interval of the config's file_sd_configs)
 * and from inotify watches (uv_fs_event) on the directories of the globs, debounced so that a
 * burst of writes costs one refresh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/app.h"
#include "server/file_sd.h"

#define DEBOUNCE_MS 100

struct reload_waiter {
    struct http_request *req;
    struct reload_waiter *next;
};

struct reloader {
    struct app *app;
    uv_timer_t refresh_timer, debounce;
    uv_fs_event_t **watches; /* each malloc'd, freed by its close callback */
    uint32_t n_watches;
    int busy;
    int want_reload, want_refresh;
    struct reload_waiter *waiting;  /* for the pending reload */
    int closing;
    int handles_open;
};

struct reload_job {
    uv_work_t work;
    struct reloader *rl;
    int is_reload;
    struct reload_waiter *waiters; /* answered when this reload is done */
    const struct config *cfg_in;   /* refresh: the current config (read-only) */
    const struct file_sd_snapshot *prev;
    struct config *cfg;            /* reload result, taken */
    struct file_sd_snapshot *sd;   /* result, taken */
    struct rules_set *rules;       /* reload result, taken */
    uint64_t sd_errors;
    struct err err;
};

static void start_job(struct reloader *rl);
static void watch_config(struct reloader *rl);
static void maybe_free(struct reloader *rl);

static int load_config(const struct flags *f, struct config **ret, struct err *e)
{
    if (f->config_file)
        return config_load_file(f->config_file, ret, e);
    return config_default(f->listen_address, ret, e);
}

static void job_work(uv_work_t *w)
{
    struct reload_job *j = w->data;
    const struct config *cfg = j->cfg_in;
    if (j->is_reload) {
        if (load_config(&j->rl->app->flags, &j->cfg, &j->err) < 0) {
            if (j->rl->app->flags.config_file)
                (void) err_prefix(&j->err, "couldn't load configuration (--config.file=\"%s\"): ",
                                  j->rl->app->flags.config_file);
            return;
        }
        cfg = j->cfg;
        if (app_rules_load(cfg, &j->rules, &j->err) < 0)
            return;
    }
    (void) file_sd_refresh(cfg, j->prev, &j->sd, &j->sd_errors, &j->err);
}

static void answer(struct reload_waiter *w, const struct err *e)
{
    while (w) {
        struct reload_waiter *next = w->next;
        if (e->code) {
            struct buf b = BUF_INIT;
            (void) buf_printf(&b, "failed to reload config: %s\n", e->msg);
            http_respond_buf(w->req, 500, "text/plain; charset=utf-8", &b);
            buf_free(&b);
        } else {
            http_respond(w->req, 200, NULL, NULL, 0);
        }
        free(w);
        w = next;
    }
}

/* Makes cfg and sd current: the scrape manager gets the jobs first, so on failure nothing
 * changes; then the rules (a reload's; NULL for a refresh), which fail only for memory. cfg may
 * be the current config (a refresh). Takes sd, rules (and cfg) either way. */
static int install(struct reloader *rl, struct config *cfg, struct file_sd_snapshot *sd,
                   struct rules_set *rules, struct err *e)
{
    struct app *app = rl->app;
    int r = app_apply_scrape_config(app, cfg, sd, e);
    if (r < 0) {
        if (cfg != app->cfg)
            config_free(cfg);
        file_sd_snapshot_free(sd);
        rules_set_free(rules);
        return r;
    }
    if (rules)
        r = app_rules_reload(app, cfg, rules, e); /* cfg goes in anyway: the scrapes use it */
    if (cfg != app->cfg) {
        config_free(app->cfg);
        app->cfg = cfg;
    }
    file_sd_snapshot_free(app->sd);
    app->sd = sd;
    return r;
}

static void job_done(uv_work_t *w, int status)
{
    struct reload_job *j = w->data;
    struct reloader *rl = j->rl;
    struct app *app = rl->app;
    rl->busy = 0;
    app->sd_read_errors += j->sd_errors;
    if (status < 0 && !j->err.code)
        err_set(&j->err, ERR_CANCELED, "canceled: server is shutting down");
    if (rl->closing && !j->err.code)
        err_set(&j->err, ERR_CANCELED, "canceled: server is shutting down");
    if (!j->err.code) {
        (void) install(rl, j->is_reload ? j->cfg : app->cfg, j->sd, j->rules, &j->err);
        j->cfg = NULL;
        j->sd = NULL;
        j->rules = NULL;
    }
    if (j->is_reload) {
        app->reload_ok = j->err.code == 0;
        if (j->err.code == 0) {
            app->reload_success_ms = time_now_ms();
            LOG_INFO("main", "completed loading of configuration file", "filename=%s",
                     app->flags.config_file ? app->flags.config_file : "(embedded)");
            watch_config(rl);
        } else {
            char q[2 * sizeof j->err.msg];
            LOG_ERROR("main", "error reloading config, keeping the previous one", "err=\"%s\"",
                      log_escape(j->err.msg, q, sizeof q));
        }
        answer(j->waiters, &j->err);
    } else if (j->err.code) {
        char q[2 * sizeof j->err.msg];
        LOG_ERROR("discovery", "refreshing file_sd targets failed, keeping the previous ones",
                  "err=\"%s\"", log_escape(j->err.msg, q, sizeof q));
    }
    config_free(j->cfg);
    file_sd_snapshot_free(j->sd);
    rules_set_free(j->rules);
    free(j);
    if (rl->closing)
        maybe_free(rl);
    else
        start_job(rl);
}

/* Runs the pending reload (first) or refresh, if any and nothing runs. */
static void start_job(struct reloader *rl)
{
    if (rl->busy || rl->closing || (!rl->want_reload && !rl->want_refresh))
        return;
    struct reload_job *j = calloc(1, sizeof *j);
    if (!j) {
        struct err e = {ERR_UNAVAILABLE, "out of memory starting a reload"};
        answer(rl->waiting, &e);
        rl->waiting = NULL;
        rl->want_reload = rl->want_refresh = 0;
        return;
    }
    j->rl = rl;
    j->is_reload = rl->want_reload;
    j->cfg_in = rl->app->cfg;
    j->prev = rl->app->sd;
    j->work.data = j;
    if (j->is_reload) {
        j->waiters = rl->waiting;
        rl->waiting = NULL;
        rl->want_reload = 0;
    }
    rl->want_refresh = 0; /* a reload reads every file too */
    rl->busy = 1;
    if (uv_queue_work(rl->app->loop, &j->work, job_work, job_done) < 0) {
        err_set(&j->err, ERR_CANCELED, "canceled: server is shutting down");
        rl->busy = 0;
        answer(j->waiters, &j->err);
        free(j);
    }
}

void reload_request(struct app *app, struct http_request *req)
{
    struct reloader *rl = app->reloader;
    if (!rl || rl->closing) {
        if (req)
            http_respond(req, 503, "text/plain; charset=utf-8", "shutting down\n", 14);
        return;
    }
    if (req) {
        struct reload_waiter *w = calloc(1, sizeof *w);
        if (!w) {
            http_respond(req, 503, "text/plain; charset=utf-8", "out of memory\n", 14);
            return;
        }
        w->req = req;
        w->next = rl->waiting;
        rl->waiting = w;
    }
    rl->want_reload = 1;
    start_job(rl);
}

static void on_refresh_due(uv_timer_t *t)
{
    struct reloader *rl = t->data;
    rl->want_refresh = 1;
    start_job(rl);
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    struct reloader *rl = h->data;
    if (!rl->closing)
        uv_timer_start(&rl->debounce, on_refresh_due, DEBOUNCE_MS, 0);
}

/* The directory part of a glob (its last element may hold '*'), into out. */
static void glob_dir(const char *glob, char *out, size_t cap)
{
    const char *slash = strrchr(glob, '/');
    if (!slash)
        (void) snprintf(out, cap, ".");
    else if (slash == glob)
        (void) snprintf(out, cap, "/");
    else
        (void) snprintf(out, cap, "%.*s", (int) (slash - glob), glob);
}

static void maybe_free(struct reloader *rl)
{
    if (rl->closing && rl->handles_open == 0 && !rl->busy) {
        rl->app->reloader = NULL;
        free(rl->watches);
        free(rl);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct reloader *rl = h->data;
    if (h->type == UV_FS_EVENT)
        free(h);
    rl->handles_open--;
    maybe_free(rl);
}

static void unwatch(struct reloader *rl)
{
    for (uint32_t i = 0; i < rl->n_watches; i++)
        uv_close((uv_handle_t *) rl->watches[i], on_handle_closed);
    free(rl->watches);
    rl->watches = NULL;
    rl->n_watches = 0;
}

/* Watches the directories of the current config's file_sd globs (each once) and sets the refresh
 * timer to the smallest refresh_interval. A directory that cannot be watched (missing, too many
 * watches) is logged; the timer still finds its files. */
static void watch_config(struct reloader *rl)
{
    const struct config *cfg = rl->app->cfg;
    int64_t every_ms = 0;
    uint32_t n = 0;
    unwatch(rl);
    for (uint32_t j = 0; j < cfg->n_scrapes; j++)
        for (uint32_t d = 0; d < cfg->scrapes[j].n_file_sd; d++) {
            n += cfg->scrapes[j].file_sd[d].n_files;
            int64_t ms = cfg->scrapes[j].file_sd[d].refresh_interval_ms;
            every_ms = !every_ms || ms < every_ms ? ms : every_ms;
        }
    uv_timer_stop(&rl->refresh_timer);
    if (!n)
        return;
    uv_timer_start(&rl->refresh_timer, on_refresh_due, (uint64_t) every_ms, (uint64_t) every_ms);
    if (!(rl->watches = calloc(n, sizeof *rl->watches)))
        return;
    char dir[4096], seen[4096];
    for (uint32_t j = 0; j < cfg->n_scrapes; j++)
        for (uint32_t d = 0; d < cfg->scrapes[j].n_file_sd; d++)
            for (uint32_t f = 0; f < cfg->scrapes[j].file_sd[d].n_files; f++) {
                glob_dir(cfg->scrapes[j].file_sd[d].files[f], dir, sizeof dir);
                int dup = 0;
                for (uint32_t k = 0; k < rl->n_watches && !dup; k++) {
                    size_t len = sizeof seen;
                    dup = uv_fs_event_getpath(rl->watches[k], seen, &len) == 0 &&
                          strcmp(seen, dir) == 0;
                }
                uv_fs_event_t *h = dup ? NULL : malloc(sizeof *h);
                if (!h)
                    continue;
                uv_fs_event_init(rl->app->loop, h);
                h->data = rl;
                rl->handles_open++;
                int r = uv_fs_event_start(h, on_fs_event, dir, 0);
                if (r < 0) {
                    LOG_WARN("discovery", "cannot watch directory, relying on refresh_interval",
                             "dir=\"%s\" err=\"%s\"", dir, uv_strerror(r));
                    uv_close((uv_handle_t *) h, on_handle_closed);
                    continue;
                }
                rl->watches[rl->n_watches++] = h;
            }
}

int reload_start(struct app *app, struct err *e)
{
    struct reloader *rl = calloc(1, sizeof *rl);
    if (!rl)
        return err_set(e, -ENOMEM, "out of memory");
    rl->app = app;
    uv_timer_init(app->loop, &rl->refresh_timer);
    uv_timer_init(app->loop, &rl->debounce);
    rl->refresh_timer.data = rl->debounce.data = rl;
    rl->handles_open = 2;
    app->reloader = rl;
    watch_config(rl);
    return 0;
}

void reload_close(struct app *app)
{
    struct reloader *rl = app->reloader;
    if (!rl || rl->closing)
        return;
    rl->closing = 1;
    struct err e = {ERR_CANCELED, "canceled: server is shutting down"};
    answer(rl->waiting, &e);
    rl->waiting = NULL;
    unwatch(rl);
    uv_close((uv_handle_t *) &rl->refresh_timer, on_handle_closed);
    uv_close((uv_handle_t *) &rl->debounce, on_handle_closed);
}
