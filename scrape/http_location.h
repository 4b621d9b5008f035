/* scrape/http_location.h — resolving a 3xx Location for the HTTP client (module-internal). */
#ifndef EMBER_SCRAPE_HTTP_LOCATION_H
#define EMBER_SCRAPE_HTTP_LOCATION_H

#include <stddef.h>

/* Points the request at loc: absolute ("http://h:p/x", scheme becomes http or https; scheme has
 * room for "https"), scheme-relative ("//h/x"), absolute-path ("/x") or relative to *cur_path's
 * last segment. host and port (caps given) change when loc names an authority; *cur_path is
 * replaced (freed, newly allocated, fragment cut). 0, or -1 when it makes no sense or on no
 * memory. */
int http_location_apply(const char *loc, char *scheme, char *host, size_t host_cap, char *port,
                        size_t port_cap, char **cur_path);

#endif
