/* server/app_rules.c — rule files, the Alertmanager notifier and the rule manager wired from the
 * configuration and flags at start-up, and closed in order at shutdown (the manager first: its
 * last evaluations may still hand alerts to the notifier). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

/* The notifier's options from cfg; *ret_ts (taken) holds the targets. */
static int notifier_opts(const struct config *c, struct rules_notifier_opts *ret,
                         struct rules_am_target **ret_ts, struct err *e)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n_alertmanagers; i++)
        n += c->alertmanagers[i].n_targets;
    struct rules_am_target *ts = calloc(n + 1, sizeof *ts);
    if (!ts)
        return err_set(e, -ENOMEM, "out of memory");
    n = 0;
    for (uint32_t i = 0; i < c->n_alertmanagers; i++) {
        const struct config_alertmanager *am = &c->alertmanagers[i];
        for (uint32_t t = 0; t < am->n_targets; t++)
            ts[n++] = (struct rules_am_target){am->targets[t].address, am->path_prefix,
                                               am->timeout_ms, am->authorization, am->tls};
    }
    *ret = (struct rules_notifier_opts){.targets = ts,
                                        .n_targets = n,
                                        .external_labels = c->global.external_labels,
                                        .alert_relabel = c->alert_relabel_configs};
    *ret_ts = ts;
    return 0;
}

/* Start-up: a notifier when cfg names Alertmanagers. Reload: the running one reconfigured (its
 * queue and counters kept), or a first one made. */
static int setup_notifier(struct app *app, const struct config *c, struct err *e)
{
    struct rules_notifier_opts o;
    struct rules_am_target *ts = NULL;
    int r = notifier_opts(c, &o, &ts, e);
    if (r < 0)
        return r;
    if (app->notifier)
        r = rules_notifier_configure(app->notifier, &o, e);
    else if (o.n_targets)
        r = rules_notifier_new(app->loop, &o, &app->notifier, e);
    free(ts);
    return r;
}

static struct rules_manager_opts manager_opts(struct app *app, const struct config *c)
{
    const struct flags *f = &app->flags;
    return (struct rules_manager_opts){
        .db = app->db,
        .engine = app->engine,
        .notifier = app->notifier,
        .default_interval_ms = c->global.evaluation_interval_ms,
        .default_query_offset_ms = c->global.rule_query_offset_ms,
        .external_labels = c->global.external_labels,
        .external_url = app->external_url,
        .outage_tolerance_ms = f->for_outage_tolerance_ms,
        .grace_period_ms = f->for_grace_period_ms,
        .resend_delay_ms = f->resend_delay_ms,
    };
}

int app_rules_load(const struct config *cfg, struct rules_set **ret, struct err *e)
{
    int r = rules_load(cfg->rule_files, cfg->n_rule_files, ret, e);
    if (r < 0)
        (void) err_prefix(e, "error loading rules: ");
    return r;
}

int app_rules_reload(struct app *app, const struct config *cfg, struct rules_set *set,
                     struct err *e)
{
    int r = setup_notifier(app, cfg, e);
    if (r < 0) {
        rules_set_free(set);
        return r;
    }
    struct rules_manager_opts o = manager_opts(app, cfg);
    LOG_INFO("rules", "rule files reloaded", "files=%u groups=%u alertmanagers=%u", set->n_files,
             set->n_groups, cfg->n_alertmanagers);
    return rules_manager_update(app->rules, set, &o, e);
}

/* Prometheus' default external URL: http://<hostname>:<port>. */
static char *default_external_url(struct app *app)
{
    char host[256] = "localhost", *url = NULL;
    if (gethostname(host, sizeof host - 1) < 0 || !host[0])
        (void) snprintf(host, sizeof host, "localhost");
    if (asprintf(&url, "http://%s:%d", host, app->http ? http_server_port(app->http) : 9090) < 0)
        return NULL;
    return url;
}

int app_rules_start(struct app *app, struct err *e)
{
    const struct config *c = app->cfg;
    const struct flags *f = &app->flags;
    app->external_url = f->external_url ? strdup(f->external_url) : default_external_url(app);
    if (!app->external_url)
        return err_set(e, -ENOMEM, "out of memory");
    size_t ul = strlen(app->external_url);
    while (ul && app->external_url[ul - 1] == '/')
        app->external_url[--ul] = 0;
    struct rules_set *set = NULL;
    int r = rules_load(c->rule_files, c->n_rule_files, &set, e);
    if (r < 0)
        return r;
    if ((r = setup_notifier(app, c, e)) < 0) {
        rules_set_free(set);
        return r;
    }
    struct rules_manager_opts o = manager_opts(app, c);
    if ((r = rules_manager_new(app->loop, &o, &app->rules, e)) < 0) {
        rules_set_free(set);
        return r;
    }
    LOG_INFO("rules", "rule files loaded", "files=%u groups=%u alertmanagers=%u", set->n_files,
             set->n_groups, c->n_alertmanagers);
    return rules_manager_apply(app->rules, set, e);
}

struct closing {
    struct app *app;
    void (*done)(void *arg);
    void *arg;
};

static void on_notifier_closed(void *arg)
{
    struct closing *cl = arg;
    void (*done)(void *) = cl->done;
    void *darg = cl->arg;
    free(cl);
    if (done)
        done(darg);
}

static void on_manager_closed(void *arg)
{
    struct closing *cl = arg;
    rules_notifier *n = cl->app->notifier;
    cl->app->notifier = NULL;
    rules_notifier_close(n, on_notifier_closed, cl);
}

void app_rules_close(struct app *app, void (*done)(void *arg), void *arg)
{
    struct closing *cl = malloc(sizeof *cl);
    if (!cl) { /* cannot happen in practice; close without the chain */
        rules_manager_close(app->rules, NULL, NULL);
        rules_notifier_close(app->notifier, NULL, NULL);
        app->rules = NULL;
        app->notifier = NULL;
        if (done)
            done(arg);
        return;
    }
    *cl = (struct closing){app, done, arg};
    rules_manager *m = app->rules;
    app->rules = NULL;
    rules_manager_close(m, on_manager_closed, cl);
}
