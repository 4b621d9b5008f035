/* web/web.c — lookup in the embedded UI table and ETag comparison for conditional requests. */
#include "web/web.h"

#include <string.h>

const struct web_asset *web_asset_find(const char *name, size_t len)
{
    if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
        return NULL;
    for (size_t i = 0; i < web_assets_len; i++) {
        const struct web_asset *a = &web_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

/* RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so W/"x" matches "x". */
int web_etag_matches(const char *inm, const char *etag)
{
    if (!inm || !etag)
        return 0;
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t) (p - start) == elen && memcmp(start, etag, elen) == 0)
            return 1;
    }
    return 0;
}
