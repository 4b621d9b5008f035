/* server/config_default.c — the configuration ember runs with when no --config.file is given:
 * scrape and evaluate every 15s, one job "ember" scraping ember's own listen address. Built as
 * YAML text and loaded through the normal loader, so it obeys every rule a file does and
 * /api/v1/status/config shows real YAML. */
#include "server/config.h"

#include <stdio.h>
#include <string.h>

/* Splits "host:port", ":port" or "[v6]:port" and returns the target to scrape in ret (cap bytes):
 * a wildcard or loopback host becomes "localhost", as Prometheus' own default config scrapes
 * "localhost:9090" (so the instance label matches dashboards written for Prometheus). */
static int self_target(const char *listen, char *ret, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5)
        return -1;
    unsigned port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        port = port * 10 + (unsigned) (*p - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    size_t hl = (size_t) (colon - listen);
    static const char *const local[] = {"", "0.0.0.0", "127.0.0.1", "localhost", "[::]", "[::1]"};
    for (size_t i = 0; i < ARRAY_LEN(local); i++)
        if (strlen(local[i]) == hl && !memcmp(listen, local[i], hl))
            return snprintf(ret, cap, "localhost:%s", colon + 1) < (int) cap ? 0 : -1;
    /* Any other host goes into YAML as a quoted scalar: keep it to characters that need no
     * escaping; the loader validates the address itself. */
    for (size_t i = 0; i < hl; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]%",
                    listen[i]))
            return -1;
    return snprintf(ret, cap, "%s", listen) < (int) cap ? 0 : -1;
}

int config_default(const char *listen_addr, struct config **ret, struct err *e)
{
    char target[300], text[600];
    if (strlen(listen_addr) > 256 || self_target(listen_addr, target, sizeof target) < 0)
        return err_set(e, ERR_PARSE, "default config: bad listen address '%.64s' "
                       "(expected host:port)", listen_addr);
    int n = snprintf(text, sizeof text,
                     "# ember's built-in configuration (no --config.file given).\n"
                     "global:\n"
                     "  scrape_interval: 15s\n"
                     "  evaluation_interval: 15s\n"
                     "scrape_configs:\n"
                     "  - job_name: ember\n"
                     "    static_configs:\n"
                     "      - targets: ['%s']\n",
                     target);
    if (NEVER(n < 0 || (size_t) n >= sizeof text))
        return err_set(e, ERR_INTERNAL, "default config: text too long");
    return config_load_string("<default>", text, (size_t) n, ret, e);
}
