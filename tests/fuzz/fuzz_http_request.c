/* tests/fuzz/fuzz_http_request.c — bytes through the server's connection state machine
 * (http_serve_bytes: llhttp, limits, pipelining, responses, gzip) into a router whose handlers
 * decode the form and write JSON, as the API handlers do. The first byte picks the read size so
 * split requests are exercised; small limits make the 4xx paths reachable. */
#include <stdint.h>
#include <string.h>

#include "server/http.h"
#include "server/http_form.h"
#include "server/json.h"
#include "server/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void h_form(struct http_request *req, void *ctx)
{
    (void) ctx;
    struct http_form *f = NULL;
    struct err e;
    int r = http_form_parse(req->arena, req->method_name, req->query, req->query_len, req->body,
                            req->body_len, http_request_header(req, "content-type"), &f, &e);
    if (r < 0 && r != ERR_PARSE) {
        http_respond_error(req, 503, "internal", e.msg);
        return;
    }
    if (r == ERR_PARSE && (req->path_len & 1)) {
        http_respond_error(req, 400, "bad_data", e.msg);
        return;
    }
    struct buf b = BUF_INIT;
    struct json_writer w;
    json_init(&w, &b);
    json_envelope_begin(&w);
    json_obj_begin(&w);
    for (uint32_t i = 0; i < f->n; i++) {
        json_key_n(&w, f->v[i].key, f->v[i].key_len);
        json_str_n(&w, f->v[i].value, f->v[i].value_len);
    }
    json_key(&w, "name");
    json_str(&w, router_param(req, "name"));
    json_key(&w, "ua");
    json_str(&w, http_request_header(req, "user-agent"));
    json_obj_end(&w);
    json_envelope_end(&w, NULL, 0);
    if (json_done(&w) < 0) {
        buf_free(&b);
        http_respond_error(req, 503, "internal", "json");
        return;
    }
    /* Pad past gzip_min_bytes sometimes so the loop's gzip path runs too. */
    if (req->query_len > 8)
        for (int i = 0; i < 80; i++)
            (void) buf_puts(&b, "                ");
    http_respond_buf(req, 200, "application/json", &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct router *rt;
    if (!rt) {
        unsigned gp = HTTP_METHOD_BIT(HTTP_METHOD_GET) | HTTP_METHOD_BIT(HTTP_METHOD_POST);
        rt = router_new();
        if (!rt)
            return 0;
        (void) router_add(rt, gp, "/api/v1/query", h_form, NULL, NULL);
        (void) router_add(rt, HTTP_METHOD_BIT(HTTP_METHOD_GET), "/api/v1/label/:name/values",
                          h_form, NULL, NULL);
        (void) router_add(rt, HTTP_METHOD_BIT(HTTP_METHOD_GET), "/static/*name", h_form, NULL,
                          NULL);
    }
    struct http_limits lim;
    http_limits_default(&lim);
    lim.max_url_bytes = 2048;
    lim.max_header_bytes = 4096;
    lim.max_headers = 16;
    lim.max_body_bytes = 8192;
    lim.arena_bytes = 1 << 20;
    size_t chunk = data[0] & 0x3f; /* 0: all at once */
    struct buf out = BUF_INIT;
    (void) http_serve_bytes(&lim, data + 1, size - 1, chunk, router_dispatch, rt, &out);
    buf_free(&out);
    return 0;
}
