/* web/web.h — the browser UI's files, embedded at build time by web/embed.c (the files of web/ui/).
 * Read-only tables: any thread may read them; nothing is read from disk at run time. */
#ifndef EMBER_WEB_H
#define EMBER_WEB_H

#include <stddef.h>
#include <stdint.h>

struct web_asset {
    const char *name;         /* base name as served under /static/: "app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const uint8_t *raw;       /* the file's bytes */
    size_t raw_len;
    const uint8_t *gz;        /* the same, gzip-encoded (level 9, mtime 0) */
    size_t gz_len;
    const char *etag;         /* strong validator, quotes included: "\"0123456789abcdef\"" */
};

/* The generated table (web_assets.c), in web/meson.build's order. */
extern const struct web_asset web_assets[];
extern const size_t web_assets_len;

/* The asset named exactly name[0..len) (no directories: "app.js"), or NULL. Names with '/',
 * NUL or ".." never match, so a request path cannot leave the table. */
const struct web_asset *web_asset_find(const char *name, size_t len);

/* If-None-Match value matches etag (a list of strong or weak tags, or "*"): answer 304. */
int web_etag_matches(const char *if_none_match, const char *etag);

#endif
