/* server/router.c — linear route table (a few dozen routes: a scan costs less than a tree) with
 * httprouter's 404/405/OPTIONS behaviour. Routes are split into segments once, at router_add. */
#include "server/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct seg {
    char *s;   /* literal text, or the parameter name */
    size_t n;
    char kind; /* 'l' literal, ':' one segment, '*' rest */
};

struct route {
    unsigned methods;
    http_handler_fn fn;
    void *ctx;
    struct seg *segs;
    uint32_t n_segs;
    int is_static;
    char *path; /* static routes: the whole pattern, matched by one comparison */
    size_t path_len;
};

struct router {
    struct route *v;
    uint32_t n, cap;
};

struct param {
    const char *name, *value;
};

struct route_match {
    struct param p[8];
    uint32_t n;
};

struct router *router_new(void) { return calloc(1, sizeof(struct router)); }

void router_free(struct router *rt)
{
    if (!rt)
        return;
    for (uint32_t i = 0; i < rt->n; i++) {
        for (uint32_t j = 0; j < rt->v[i].n_segs; j++)
            free(rt->v[i].segs[j].s);
        free(rt->v[i].segs);
        free(rt->v[i].path);
    }
    free(rt->v);
    free(rt);
}

int router_add(struct router *rt, unsigned methods, const char *pattern, http_handler_fn fn,
               void *ctx, struct err *e)
{
    if (pattern[0] != '/')
        return err_set(e, ERR_PARSE, "route \"%s\": must start with '/'", pattern);
    struct route r = {.methods = methods, .fn = fn, .ctx = ctx, .is_static = 1};
    uint32_t cap = 1;
    for (const char *q = pattern; *q; q++)
        cap += *q == '/';
    r.segs = calloc(cap, sizeof *r.segs);
    if (!r.segs)
        return err_set(e, -ENOMEM, "route: out of memory");
    const char *p = pattern + 1;
    int rc = 0;
    /* "/" alone is one empty literal segment, like any path ending in '/' */
    for (;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t) (end - p) : strlen(p);
        struct seg *s = &r.segs[r.n_segs];
        s->kind = 'l';
        if (n > 0 && (p[0] == ':' || p[0] == '*')) {
            s->kind = p[0];
            p++;
            n--;
            r.is_static = 0;
            if (n == 0 || r.n_segs >= 8)
                rc = err_set(e, ERR_PARSE, "route \"%s\": bad parameter", pattern);
            else if (s->kind == '*' && end)
                rc = err_set(e, ERR_PARSE, "route \"%s\": '*' must be last", pattern);
        }
        s->s = strndup(p, n);
        s->n = n;
        r.n_segs++;
        if (!s->s && rc == 0)
            rc = err_set(e, -ENOMEM, "route: out of memory");
        if (rc < 0 || !end)
            break;
        p = end + 1;
    }
    /* A static pattern matches exactly the paths equal to it (segments joined by '/'). */
    if (rc == 0 && r.is_static) {
        r.path_len = strlen(pattern);
        if (!(r.path = strdup(pattern)))
            rc = err_set(e, -ENOMEM, "route: out of memory");
    }
    if (rc == 0 && rt->n == rt->cap) {
        uint32_t ncap = rt->cap ? rt->cap * 2 : 32;
        struct route *nv = realloc(rt->v, ncap * sizeof *nv);
        if (!nv)
            rc = err_set(e, -ENOMEM, "route: out of memory");
        else {
            rt->v = nv;
            rt->cap = ncap;
        }
    }
    if (rc < 0) {
        for (uint32_t j = 0; j < r.n_segs; j++)
            free(r.segs[j].s);
        free(r.segs);
        free(r.path);
        return rc;
    }
    rt->v[rt->n++] = r;
    return 0;
}

/* Matches path against r; parameters go into m (values point into path: copied later). */
static int route_match(const struct route *r, const char *path, size_t len, struct route_match *m,
                       size_t *ret_off, size_t *ret_len)
{
    if (len == 0 || path[0] != '/')
        return 0;
    const char *p = path + 1, *end = path + len;
    m->n = 0;
    for (uint32_t i = 0; i < r->n_segs; i++) {
        const struct seg *s = &r->segs[i];
        if (s->kind == '*') {
            /* the rest including its leading '/' (httprouter's catch-all) */
            ret_off[m->n] = (size_t) (p - 1 - path);
            ret_len[m->n] = (size_t) (end - (p - 1));
            m->p[m->n++].name = s->s;
            return 1;
        }
        if (p > end)
            return 0;
        const char *se = memchr(p, '/', (size_t) (end - p));
        if (!se)
            se = end;
        size_t n = (size_t) (se - p);
        if (s->kind == ':') {
            if (n == 0)
                return 0;
            ret_off[m->n] = (size_t) (p - path);
            ret_len[m->n] = n;
            m->p[m->n++].name = s->s;
        } else if (n != s->n || memcmp(p, s->s, n) != 0) {
            return 0;
        }
        if (i + 1 == r->n_segs)
            return se == end;
        if (se == end)
            return 0;
        p = se + 1;
    }
    return 0;
}

static const struct route *find(const struct router *rt, const struct http_request *req,
                                unsigned method_bit, struct route_match *m, size_t *off,
                                size_t *len, unsigned *ret_allowed)
{
    /* The first route (static ones first) matching path and method wins; allowed (the methods
     * of every route matching the path) matters only when none does, for 404/405/OPTIONS. */
    unsigned allowed = 0;
    for (uint32_t i = 0; i < rt->n; i++) {
        const struct route *r = &rt->v[i];
        if (!r->is_static || r->path_len != req->path_len ||
            memcmp(r->path, req->path, r->path_len) != 0)
            continue;
        allowed |= r->methods;
        if (r->methods & method_bit) {
            m->n = 0;
            return r;
        }
    }
    for (uint32_t i = 0; i < rt->n; i++) {
        const struct route *r = &rt->v[i];
        if (r->is_static)
            continue;
        struct route_match tm;
        size_t to[8], tl[8];
        if (!route_match(r, req->path, req->path_len, &tm, to, tl))
            continue;
        allowed |= r->methods;
        if (r->methods & method_bit) {
            *m = tm;
            memcpy(off, to, sizeof to);
            memcpy(len, tl, sizeof tl);
            return r;
        }
    }
    *ret_allowed = allowed;
    return NULL;
}

void router_dispatch(struct http_request *req, void *ctx)
{
    const struct router *rt = ctx;
    struct route_match m = {0};
    size_t off[8], len[8];
    unsigned allowed;
    unsigned bit = HTTP_METHOD_BIT(req->method);
    const struct route *r = find(rt, req, bit, &m, off, len, &allowed);
    if (r && m.n == 0) { /* no parameters: nothing to copy (router_param finds none) */
        req->route = NULL;
        r->fn(req, r->ctx);
        return;
    }
    if (r) {
        struct route_match *pm = arena_alloc(req->arena, sizeof *pm);
        if (!pm) {
            http_respond_error(req, 503, "internal", "out of memory");
            return;
        }
        *pm = m;
        for (uint32_t i = 0; i < m.n; i++) {
            pm->p[i].value = arena_strndup(req->arena, req->path + off[i], len[i]);
            if (!pm->p[i].value) {
                http_respond_error(req, 503, "internal", "out of memory");
                return;
            }
        }
        req->route = pm;
        r->fn(req, r->ctx);
        return;
    }
    static const char nf[] = "404 page not found\n";
    static const char mna[] = "Method Not Allowed\n";
    unsigned others = allowed & ~HTTP_METHOD_BIT(HTTP_METHOD_OPTIONS);
    if (!others) {
        (void) http_response_header(req, "X-Content-Type-Options", "nosniff");
        http_respond(req, 404, "text/plain; charset=utf-8", nf, sizeof nf - 1);
        return;
    }
    /* httprouter lists the allowed methods, OPTIONS included, in sorted order: the methods in
     * alphabetical order, OPTIONS always listed. */
    static const enum http_method sorted[] = {HTTP_METHOD_DELETE, HTTP_METHOD_GET,
                                              HTTP_METHOD_HEAD,   HTTP_METHOD_OPTIONS,
                                              HTTP_METHOD_PATCH,  HTTP_METHOD_POST,
                                              HTTP_METHOD_PUT};
    char allow[96] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof sorted / sizeof sorted[0]; i++) {
        if (sorted[i] != HTTP_METHOD_OPTIONS && !(others & HTTP_METHOD_BIT(sorted[i])))
            continue;
        const char *name = http_method_name(sorted[i]);
        size_t nl = strlen(name);
        if (n + nl + 3 >= sizeof allow)
            break;
        if (n) {
            memcpy(allow + n, ", ", 2);
            n += 2;
        }
        memcpy(allow + n, name, nl + 1);
        n += nl;
    }
    (void) http_response_header(req, "Allow", allow);
    if (req->method == HTTP_METHOD_OPTIONS) {
        http_respond(req, 200, NULL, "", 0);
        return;
    }
    (void) http_response_header(req, "X-Content-Type-Options", "nosniff");
    http_respond(req, 405, "text/plain; charset=utf-8", mna, sizeof mna - 1);
}

const char *router_param(const struct http_request *req, const char *name)
{
    const struct route_match *m = req->route;
    for (uint32_t i = 0; m && i < m->n; i++)
        if (!strcmp(m->p[i].name, name))
            return m->p[i].value;
    return NULL;
}
