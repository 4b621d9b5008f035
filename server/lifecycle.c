/* server/lifecycle.c — /-/healthy and /-/ready, with Prometheus' plain-text bodies. */
#include "app.h"

void lifecycle_healthy(struct http_request *req, struct app *app)
{
    (void) app;
    static const char body[] = "Prometheus Server is Healthy.\n";
    http_respond(req, 200, "text/plain; charset=utf-8", body, sizeof body - 1);
}

void lifecycle_ready(struct http_request *req, struct app *app)
{
    static const char ready[] = "Prometheus Server is Ready.\n";
    static const char not_ready[] = "Service Unavailable";
    if (app->ready && !app->shutting_down)
        http_respond(req, 200, "text/plain; charset=utf-8", ready, sizeof ready - 1);
    else
        http_respond(req, 503, "text/plain; charset=utf-8", not_ready, sizeof not_ready - 1);
}
