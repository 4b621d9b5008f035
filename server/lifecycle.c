/* server/lifecycle.c — /-/healthy, /-/ready, /-/quit and /-/reload, with Prometheus' plain-text
 * bodies. */
#include "app.h"

void lifecycle_healthy(struct http_request *req, struct app *app)
{
    (void) app;
    static const char body[] = "Prometheus Server is Healthy.\n";
    /* Prometheus answers HEAD with a bare 200: no body, so no Content-Type either. */
    if (req->method == HTTP_METHOD_HEAD)
        http_respond(req, 200, NULL, "", 0);
    else
        http_respond(req, 200, "text/plain; charset=utf-8", body, sizeof body - 1);
}

void lifecycle_ready(struct http_request *req, struct app *app)
{
    static const char ready[] = "Prometheus Server is Ready.\n";
    static const char not_ready[] = "Service Unavailable";
    if (app->ready && !app->shutting_down && req->method == HTTP_METHOD_HEAD)
        http_respond(req, 200, NULL, "", 0);
    else if (app->ready && !app->shutting_down)
        http_respond(req, 200, "text/plain; charset=utf-8", ready, sizeof ready - 1);
    else
        http_respond(req, 503, "text/plain; charset=utf-8", not_ready, sizeof not_ready - 1);
}

/* POST or PUT with --web.enable-lifecycle: answer, then shut down as SIGTERM would (the answer
 * is written before the listener drains). */
void lifecycle_quit(struct http_request *req, struct app *app)
{
    static const char get[] = "Only POST or PUT requests allowed";
    static const char off[] = "Lifecycle API is not enabled.";
    static const char bye[] = "Requesting termination... Goodbye!";
    static const char again[] = "Termination already in progress.";
    const char *ct = "text/plain; charset=utf-8";
    if (req->method == HTTP_METHOD_GET)
        http_respond(req, 405, ct, get, sizeof get - 1);
    else if (!app->flags.enable_lifecycle)
        http_respond(req, 403, ct, off, sizeof off - 1);
    else if (app->shutting_down)
        http_respond(req, 200, ct, again, sizeof again - 1);
    else {
        http_respond(req, 200, ct, bye, sizeof bye - 1);
        app_shutdown(app, "/-/quit");
    }
}

/* POST or PUT /-/reload: only with --web.enable-lifecycle, as in Prometheus; the answer waits for
 * the reload (reload.c). */
void lifecycle_reload(struct http_request *req, struct app *app)
{
    static const char off[] = "Lifecycle API is not enabled.";
    if (!app->flags.enable_lifecycle) {
        http_respond(req, 403, "text/plain; charset=utf-8", off, sizeof off - 1);
        return;
    }
    reload_request(app, req);
}

void lifecycle_reload_get(struct http_request *req, struct app *app)
{
    (void) app;
    static const char body[] = "Only POST or PUT requests allowed";
    http_respond(req, 405, "text/plain; charset=utf-8", body, sizeof body - 1);
}
