/* scrape/http_location.c — where a redirect's Location points, resolved against the current
 * request's URL the way Go's client does. Pure string work; any thread. */
#include "http_location.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sets host and port from an authority ("host", "host:port", "[v6]:port"); 0 or -1. */
static int set_authority(const char *scheme, char *host, size_t host_cap, char *port,
                         size_t port_cap, const char *a, size_t n)
{
    const char *colon = NULL, *h = a;
    size_t hn = n;
    if (n && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return -1;
        h = a + 1;
        hn = (size_t) (close - h);
        colon = (size_t) (close + 1 - a) < n && close[1] == ':' ? close + 1 : NULL;
    } else if ((colon = memchr(a, ':', n))) {
        hn = (size_t) (colon - a);
    }
    size_t pn = colon ? n - (size_t) (colon + 1 - a) : 0;
    if (hn == 0 || hn >= host_cap || pn >= port_cap)
        return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    if (colon && pn) {
        memcpy(port, colon + 1, pn);
        port[pn] = '\0';
    } else {
        strcpy(port, strcmp(scheme, "https") ? "80" : "443");
    }
    return 0;
}

int http_location_apply(const char *loc, char *scheme, char *host, size_t host_cap, char *port,
                        size_t port_cap, char **cur_path)
{
    const char *rest = NULL;
    if (!strncasecmp(loc, "http://", 7)) {
        strcpy(scheme, "http");
        rest = loc + 7;
    } else if (!strncasecmp(loc, "https://", 8)) {
        strcpy(scheme, "https");
        rest = loc + 8;
    } else if (!strncmp(loc, "//", 2)) {
        rest = loc + 2;
    }
    char *path;
    if (rest) {
        size_t an = strcspn(rest, "/?#");
        if (set_authority(scheme, host, host_cap, port, port_cap, rest, an) < 0)
            return -1;
        const char *p = rest + an;
        path = malloc(strlen(p) + 2);
        if (path) { /* "http://h" and "http://h?q" have the path "/" */
            path[0] = '/';
            strcpy(path + (*p == '/' ? 0 : 1), p);
        }
    } else if (loc[0] == '/') {
        path = strdup(loc);
    } else { /* relative: replace the last segment of the current path */
        size_t dir = strcspn(*cur_path, "?");
        while (dir > 0 && *cur_path[dir - 1] != '/')
            dir--;
        path = malloc(dir + strlen(loc) + 1);
        if (path) {
            memcpy(path, *cur_path, dir);
            strcpy(path + dir, loc);
        }
    }
    if (!path)
        return -1;
    path[strcspn(path, "#")] = '\0';
    free(*cur_path);
    *cur_path = path;
    return 0;
}
