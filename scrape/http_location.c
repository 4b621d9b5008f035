/* scrape/http_location.c — where a redirect's Location points, resolved against the current
 * request's URL the way Go's client does. Pure string work; any thread. */
#include "http_location.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes that cannot go into a request line or a Host header as they are: controls, space, DEL.
 * Go's client would escape some of them; a Location carrying them is refused here instead. */
static int unsendable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* Sets host and port from an authority ("host", "host:port", "[v6]:port", any "userinfo@"
 * before it ignored, as the request carries none); 0 or -1. */
static int set_authority(const char *scheme, char *host, size_t host_cap, char *port,
                         size_t port_cap, const char *a, size_t n)
{
    for (size_t i = n; i > 0; i--)
        if (a[i - 1] == '@') {
            a += i;
            n -= i;
            break;
        }
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
    if (hn == 0 || hn >= host_cap || pn >= port_cap || unsendable(h, hn) ||
        memchr(h, '[', hn) || memchr(h, ']', hn))
        return -1;
    for (size_t i = 0; i < pn; i++) /* Go: "invalid port" unless digits */
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
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
        while (dir > 0 && (*cur_path)[dir - 1] != '/')
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
    if (unsendable(path, strlen(path))) {
        free(path);
        return -1;
    }
    free(*cur_path);
    *cur_path = path;
    return 0;
}
