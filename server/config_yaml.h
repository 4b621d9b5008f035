/* server/config_yaml.h — internals shared by the config loader's files (not for other modules):
 * the loader state, the key tables sections are read through, and the YAML helpers of
 * config_yaml.c. config.c reads the document, global and rule_files; config_scrape.c reads
 * scrape_configs. Every helper reports failure through config_fail(), which puts
 * "<name>:<line>:<col>: " in front, so messages look alike whichever file writes them. */
#ifndef EMBER_SERVER_CONFIG_YAML_H
#define EMBER_SERVER_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "server/config.h"

/* Bound on the finished struct: with CONFIG_MAX_NODES it is never reached by a real config. */
#define CONFIG_ARENA_CAP (128u << 20)
/* Longest user text quoted in a message; the rest is cut so the position stays readable. */
#define QUOTE_MAX 40

struct pair {
    const yaml_node_t *k, *v;
    const char *key; /* not NUL-terminated: key_len bytes */
    size_t key_len;
    uint32_t rank; /* 0: the mapping itself; higher: merged in (<<), lower rank wins */
    uint32_t ord;  /* file order within the rank */
};

struct pairs {
    struct pair *v;
    uint32_t n, cap;
};

/* Loader state for one config_load_*() call. */
struct ld {
    const char *name;         /* for messages */
    const char *dir;          /* for relative rule_files; NULL keeps them as written */
    yaml_document_t *doc;
    struct arena *a;          /* the config's arena: what survives */
    struct arena *tmp;        /* scratch: dies at the end of the load */
    struct err *e;
    uint64_t visits;          /* nodes looked at, alias expansions included */
    uint32_t next_rank;
    struct buf targets;       /* struct config_target of the job being read */
    struct client_ld *client; /* HTTP client keys of the job being read (config_client.c) */
};

enum fkind { F_DURATION, F_BOOL, F_STRING, F_FN, F_LATER };

/* One key of a section. F_LATER: a key Prometheus documents that ember does not implement yet. */
struct field {
    const char *key;
    enum fkind kind;
    size_t off; /* F_DURATION (int64_t), F_BOOL (bool), F_STRING (const char *) */
    int (*fn)(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v);
};

#define FIELD(key, kind, type, member) {key, kind, offsetof(type, member), NULL}
#define FN(key, fn) {key, F_FN, 0, fn}
#define LATER(key) {key, F_LATER, 0, NULL}

/* ---- messages and nodes ---- */

/* Copies user text for a message: at most QUOTE_MAX bytes (cut on a UTF-8 boundary, "..."
 * appended), control characters as '?'. out needs QUOTE_MAX + 4 bytes. */
const char *config_quote(const void *s, size_t n, char *out);
/* Fills l->e with "<name>:<line>:<col>: <message>" at node n; returns code. */
int config_fail(struct ld *l, const yaml_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An allocation from a failed: ERR_LIMIT past CONFIG_ARENA_CAP, else -ENOMEM. */
int config_oom(struct ld *l, struct arena *a);
const char *config_scalar(const yaml_node_t *n);
int config_is_null(const yaml_node_t *n);
const char *config_kind_name(const yaml_node_t *n); /* "a mapping", "a list", ... for messages */
/* Counts one node against CONFIG_MAX_NODES. */
int config_visit(struct ld *l, const yaml_node_t *n);
const yaml_node_t *config_node(struct ld *l, int idx);

/* ---- values (copied into l->a) ---- */

int config_get_str(struct ld *l, const char *key, const yaml_node_t *v, const char **ret);
int config_get_bool(struct ld *l, const char *key, const yaml_node_t *v, bool *ret);
int config_get_duration(struct ld *l, const char *key, const yaml_node_t *v, int64_t *ret);
/* An unsigned integer as go-yaml reads a Go uint (digits only), at most max. */
int config_get_uint(struct ld *l, const char *key, const yaml_node_t *v, uint64_t max,
                    uint64_t *ret);
/* A list node, or null read as an empty list. Sets *ret_n; items via config_node(l, start[i]). */
int config_get_list(struct ld *l, const char *key, const yaml_node_t *v,
                    const yaml_node_item_t **ret_items, uint32_t *ret_n);
int config_label_name_valid(const char *s, size_t n);
/* A map of label name → value, sorted by name; empty values are dropped (= no label). */
int config_get_labels(struct ld *l, const char *key, const yaml_node_t *v, struct labels *ret);
int config_get_protocols(struct ld *l, const char *key, const yaml_node_t *v,
                         struct config_protocols *ret);
/* Prometheus' default order when scrape_protocols is absent. */
extern const struct config_protocols config_default_protocols;

/* ---- mappings ---- */

/* The effective pairs of a mapping, in file order: a key twice in one mapping is an error, a
 * merged key loses to one written in the mapping. The array lives in l->tmp. */
int config_mapping_pairs(struct ld *l, const yaml_node_t *map, struct pairs *ret);
/* Reads a mapping through a key table into obj. Null is an empty section. */
int config_section(struct ld *l, const yaml_node_t *map, const char *what,
                   const struct field *f, size_t nf, void *obj);

/* ---- YAML passes (config.c; webconfig.c reads its file the same way) ---- */

/* Both passes over text: syntax, one document, nesting depth and node count first, then the
 * node tree into *ret (the caller yaml_document_delete()s it). Errors with position in l->e. */
int config_yaml_document(struct ld *l, const char *text, size_t len, yaml_document_t *ret);
/* config_yaml_document(), then root(l, root node, obj) with l->doc set, then the document freed
 * (l->doc reset). Returns the first failure. */
int config_yaml_load(struct ld *l, const char *text, size_t len,
                     int (*root)(struct ld *l, const yaml_node_t *root, void *obj), void *obj);
/* The end of a load into l->a: scratch (l->tmp, l->targets) freed, and l->a too when r < 0 (the
 * result is not handed out). Returns r. */
int config_ld_end(struct ld *l, int r);
/* Reads a whole file of at most CONFIG_MAX_BYTES (+1, so the parser can report the size) into
 * *ret (taken); what names it in the size message. Blocks: start-up or a worker. -errno,
 * ERR_LIMIT, -ENOMEM. */
int config_read_file(const char *path, const char *what, struct buf *ret, struct err *e);
/* s resolved against l->dir when relative (and l->dir is set), copied into l->a. */
int config_resolve_path(struct ld *l, const char *s, const char **ret);
/* The n list items as resolved paths in a new array of l->a; what names the list in messages,
 * and check (may be NULL) refuses a name with its own message. */
int config_path_list(struct ld *l, const char *what, const yaml_node_item_t *items, uint32_t n,
                     int (*check)(struct ld *l, const yaml_node_t *it, const char *s),
                     const char ***ret);

/* ---- sections in other files ---- */

/* config_client.c: one HTTP client or limit key of a scrape_config (a scrape_fields entry), and
 * the check of them together once the job's section is read (NULL l->client first). */
int config_client_key(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v);
int config_client_finish(struct ld *l, const yaml_node_t *job, struct config_scrape *j);
/* config_client.c: the keys every HTTP client config has (basic_auth, authorization,
 * bearer_token, bearer_token_file, tls_config), for sections other than scrape_configs
 * (alertmanagers); obj is unused (NULL l->client first). Then, once the section is read: the
 * keys checked together (messages start with what, "job 'x'"), secret files read, into the
 * Authorization header value (NULL: none) and a TLS context (built when want_tls or tls_config
 * was given, else NULL; owned by the config). */
int config_client_http_key(struct ld *l, void *obj, const yaml_node_t *k, const yaml_node_t *v);
int config_client_auth_tls(struct ld *l, const yaml_node_t *at, const char *what, bool want_tls,
                           const char **ret_authorization, scrape_tls **ret_tls);

/* config_scrape.c: the scrape_configs list into c->scrapes (global already read). */
int config_load_scrape_configs(struct ld *l, const yaml_node_t *v, struct config *c);
/* config_scrape.c: a static_configs list, its targets appended to l->targets. */
int config_load_static_configs(struct ld *l, const yaml_node_t *v);
/* config_scrape.c: a relabel_config list compiled into *ret (NULL when empty), owned by the
 * config. key names the list in messages. */
int config_load_relabel_configs(struct ld *l, const char *key, const yaml_node_t *v,
                                scrape_relabel **ret);
/* config_scrape.c: scheme: http or https. */
int config_get_scheme(struct ld *l, const yaml_node_t *v, enum config_scheme *ret);
/* config_alerting.c: the alerting section into c. */
int config_load_alerting(struct ld *l, const yaml_node_t *v, struct config *c);

#endif
