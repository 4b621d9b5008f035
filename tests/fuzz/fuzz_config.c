/* tests/fuzz/fuzz_config.c — prometheus.yml loading on arbitrary bytes: no crash or leak, errors
 * always positioned and coded, and every loaded config keeps the invariants config.h promises. */
#include "server/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_labels(const struct labels *ls)
{
    for (uint32_t i = 0; i < ls->n; i++) {
        CHECK(ls->v[i].name[0] != '\0' && ls->v[i].value[0] != '\0');
        CHECK(i == 0 || strcmp(ls->v[i - 1].name, ls->v[i].name) < 0);
    }
}

static void check_protocols(const struct config_protocols *ps)
{
    CHECK(ps->n >= 1 && ps->n <= _CONFIG_PROTO_MAX);
    for (uint32_t i = 0; i < ps->n; i++)
        CHECK(ps->v[i] < _CONFIG_PROTO_MAX);
}

static void check(const struct config *c, const uint8_t *data, size_t size)
{
    CHECK(c->text_len == size && memcmp(c->text, data, size) == 0 && c->text[size] == '\0');
    CHECK(c->global.scrape_interval_ms > 0 && c->global.evaluation_interval_ms > 0);
    CHECK(c->global.scrape_timeout_ms > 0);
    CHECK(c->global.scrape_timeout_ms <= c->global.scrape_interval_ms);
    check_labels(&c->global.external_labels);
    check_protocols(&c->global.scrape_protocols);
    for (uint32_t i = 0; i < c->n_rule_files; i++)
        CHECK(c->rule_files[i][0] != '\0');
    for (uint32_t i = 0; i < c->n_scrapes; i++) {
        const struct config_scrape *s = &c->scrapes[i];
        CHECK(s->job_name[0] != '\0' && config_scrape_find(c, s->job_name) == s);
        CHECK(s->metrics_path[0] == '/' &&
              (s->scheme == CONFIG_SCHEME_HTTP || s->scheme == CONFIG_SCHEME_HTTPS));
        CHECK(s->scrape_interval_ms > 0 && s->scrape_timeout_ms > 0);
        CHECK(s->scrape_timeout_ms <= s->scrape_interval_ms);
        check_protocols(&s->scrape_protocols);
        for (uint32_t p = 0; p < s->n_params; p++) {
            CHECK(p == 0 || strcmp(s->params[p - 1].name, s->params[p].name) <= 0);
            for (uint32_t v = 0; v < s->params[p].n_values; v++)
                CHECK(s->params[p].values[v] != NULL);
        }
        for (uint32_t t = 0; t < s->n_targets; t++) {
            CHECK(s->targets[t].address[0] != '\0' && !strchr(s->targets[t].address, '/'));
            check_labels(&s->targets[t].labels);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *c = NULL;
    struct err e = {0};
    int r = config_load_string("fuzz.yml", (const char *) data, size, &c, &e);
    if (r < 0) {
        CHECK(c == NULL && e.code == r);
        CHECK(r == ERR_PARSE || r == ERR_LIMIT || r == -ENOMEM);
        CHECK(strncmp(e.msg, "fuzz.yml:", 9) == 0 || strncmp(e.msg, "fuzz.yml: ", 10) == 0);
        return 0;
    }
    check(c, data, size);
    /* Loading the kept text again gives the same shape. */
    struct config *again = NULL;
    CHECK(config_load_string("fuzz.yml", c->text, c->text_len, &again, &e) == 0);
    CHECK(again->n_scrapes == c->n_scrapes && again->n_rule_files == c->n_rule_files);
    config_free(again);
    config_free(c);
    return 0;
}
