/* scrape/target.c — from a discovered target to what a scrape loop scrapes: Prometheus'
 * PopulateDiscoveredLabels + PopulateLabels (scrape/target.go) and Target.URL().
 *
 *   discovered labels (__address__, group labels)
 *     + job defaults when absent: job, __scrape_interval__, __scrape_timeout__, __metrics_path__,
 *       __scheme__, __param_<name> (first value of each param)      = ret->discovered
 *     → relabel_configs (may drop the target: return 0)
 *     → checks: __address__ present (given the scheme's port when it has none, as Prometheus 2
 *       does) and dialable, the two durations
 *     → URL: __scheme__://__address__ + escaped __metrics_path__ + ?params, where the job's params
 *       are overridden (first value) or extended by __param_<name> labels, keys sorted
 *     → instance defaults to __address__; every "__" label leaves the target's label set.
 * Prometheus only checks that __address__ has no '/'; ember also needs host[:port] it can dial,
 * so that is a reason to refuse a target too. A scheme other than http and https makes a target
 * whose every scrape fails, as Go's client fails it in Prometheus. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relabel.h"

/* The scrape loop's buffers (scrape/loop.c): request path with query, host name. */
#define TARGET_PATH_MAX 2048
#define TARGET_HOST_MAX 255

const char *scrape_target_address_problem(const char *s, size_t n)
{
    const char *port = NULL;
    if (n == 0)
        return "empty target";
    if (n > 1024)
        return "target longer than 1024 bytes";
    if (memchr(s, '/', n))
        return "a target is host:port, without scheme or path";
    if (s[0] == '[') {
        const char *end = memchr(s, ']', n);
        if (!end || end == s + 1)
            return "unterminated or empty '[' in target";
        for (const char *p = s + 1; p < end; p++)
            if (!strchr("0123456789abcdefABCDEF:.%", *p) && !(*p >= 'a' && *p <= 'z'))
                return "bad character in IPv6 address";
        if (end + 1 < s + n && end[1] != ':')
            return "expected ':port' after ']'";
        if ((size_t) (end - s - 1) > TARGET_HOST_MAX)
            return "host longer than 255 bytes";
        port = end + 1 < s + n ? end + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t) (s + n - colon - 1)))
            return "an IPv6 address needs brackets: [::1]:9100";
        if (colon == s)
            return "missing host before ':'";
        for (const char *p = s; p < (colon ? colon : s + n); p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
                return "bad character in host name";
        if ((size_t) ((colon ? colon : s + n) - s) > TARGET_HOST_MAX)
            return "host longer than 255 bytes";
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        size_t pl = (size_t) (s + n - port);
        unsigned v = 0;
        if (pl == 0 || pl > 5)
            return "bad port";
        for (size_t i = 0; i < pl; i++) {
            if (port[i] < '0' || port[i] > '9')
                return "bad port";
            v = v * 10 + (unsigned) (port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return "port out of range";
    }
    return NULL;
}

/* ---- URL pieces, as Go's net/url encodes them ---- */

static const char hex[] = "0123456789ABCDEF";

/* url.QueryEscape: unreserved bytes kept, space as '+', everything else %XX. < 0: no memory. */
static int put_query_escaped(struct buf *b, const char *s)
{
    int r = 0;
    for (; *s && r >= 0; s++) {
        unsigned char c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            r = buf_putc(b, c);
        } else if (c == ' ') {
            r = buf_putc(b, '+');
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            r = buf_append(b, esc, 3);
        }
    }
    return r;
}

/* url.URL.EscapedPath for a path set from a label: unreserved bytes and $&+,/:;=@ kept, the rest
 * %XX; a path not starting with '/' gets one (url.URL.String with a host), "" becomes "/". */
static int put_path_escaped(struct buf *b, const char *s)
{
    int r = *s != '/' ? buf_putc(b, '/') : 0;
    for (; *s && r >= 0; s++) {
        unsigned char c = (unsigned char) *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~$&+,/:;=@", c)) {
            r = buf_putc(b, c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            r = buf_append(b, esc, 3);
        }
    }
    return r;
}

#define PARAM_PREFIX "__param_"
#define PARAM_PREFIX_LEN (sizeof PARAM_PREFIX - 1)

struct qparam {
    const char *name;
    const char *const *values;
    uint32_t n_values;
    const char *first; /* __param_<name>: replaces values[0], or is the only value */
};

static int qparam_cmp(const void *x, const void *y)
{
    return strcmp(((const struct qparam *) x)->name, ((const struct qparam *) y)->name);
}

/* Target.URL()'s RawQuery: the job's params, the first value of each replaced by its
 * __param_<name> label, params only labels name added; url.Values.Encode (keys sorted).
 * < 0: no memory. */
static int build_query(struct arena *a, const struct scrape_job *job, const struct labels *ls,
                       struct buf *b)
{
    uint32_t n = 0;
    struct qparam *ps = arena_calloc(a, (size_t) job->n_params + ls->n + 1, sizeof *ps);
    if (!ps)
        return -1;
    for (uint32_t i = 0; i < job->n_params; i++) {
        const struct scrape_param *p = &job->params[i];
        uint32_t k;
        for (k = 0; k < n && strcmp(ps[k].name, p->name); k++)
            ;
        if (k == n) /* the config gives each name once; keep the first if not */
            ps[n++] = (struct qparam){p->name, p->values, p->n_values, NULL};
    }
    for (uint32_t i = 0; i < ls->n; i++) {
        const char *name = ls->v[i].name;
        if (strncmp(name, PARAM_PREFIX, PARAM_PREFIX_LEN))
            continue;
        name += PARAM_PREFIX_LEN;
        uint32_t k;
        for (k = 0; k < n && strcmp(ps[k].name, name); k++)
            ;
        if (k == n)
            ps[n++] = (struct qparam){name, NULL, 0, NULL};
        ps[k].first = ls->v[i].value;
    }
    qsort(ps, n, sizeof *ps, qparam_cmp);
    int r = 0;
    for (uint32_t k = 0; k < n && r >= 0; k++) {
        uint32_t nv = ps[k].n_values ? ps[k].n_values : ps[k].first ? 1 : 0;
        for (uint32_t v = 0; v < nv && r >= 0; v++) {
            if (b->len)
                r = buf_putc(b, '&');
            if (r >= 0)
                r = put_query_escaped(b, ps[k].name);
            if (r >= 0)
                r = buf_putc(b, '=');
            if (r >= 0)
                r = put_query_escaped(b, v == 0 && ps[k].first ? ps[k].first : ps[k].values[v]);
        }
    }
    return r;
}

/* ---- labels ---- */

/* Whether an address names its port, as Go's net.SplitHostPort would find one. */
static int has_port(const char *addr)
{
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        return close && close[1] == ':';
    }
    return strchr(addr, ':') != NULL;
}

static int is_reserved(const char *name)
{
    return name[0] == '_' && name[1] == '_';
}

/* model.ParseDuration of a __scrape_interval__ / __scrape_timeout__ value. */
static int parse_label_duration(const char *s, const char *what, int64_t *ret, struct err *e)
{
    if (!strcmp(s, "0"))
        *ret = 0;
    else if (!*s)
        return err_set(e, ERR_PARSE, "error parsing scrape %s: empty duration string", what);
    else if (duration_parse(s, strlen(s), ret) < 0)
        return err_set(e, ERR_PARSE, "error parsing scrape %s: not a valid duration string: "
                       "\"%.64s\"", what, s);
    if (*ret == 0)
        return err_set(e, ERR_PARSE, "scrape %s cannot be 0", what);
    return 0;
}

/* The discovered labels with the job's defaults added where absent (or empty). */
static int discovered_labels(struct arena *a, const struct scrape_job *job,
                             const struct labels *in, struct labels *ret)
{
    char iv[32], tv[32];
    (void) duration_format(iv, sizeof iv, job->interval_ms);
    (void) duration_format(tv, sizeof tv, job->timeout_ms);
    const struct label defaults[] = {
        {"job", job->name},
        {"__scrape_interval__", arena_strdup(a, iv)},
        {"__scrape_timeout__", arena_strdup(a, tv)},
        {"__metrics_path__", job->metrics_path},
        {"__scheme__", job->scheme},
    };
    size_t cap = in->n + ARRAY_LEN(defaults) + job->n_params + 1;
    struct label *v = arena_alloc(a, cap * sizeof *v);
    if (!v || !defaults[1].value || !defaults[2].value)
        return -1;
    struct labels ls = {v, 0};
    for (uint32_t i = 0; i < in->n; i++)
        if (in->v[i].value[0])
            v[ls.n++] = in->v[i];
    uint32_t given = ls.n;
    struct labels have = {v, given}; /* sorted: the input is */
    for (size_t i = 0; i < ARRAY_LEN(defaults); i++)
        if (!labels_get(&have, defaults[i].name) && defaults[i].value[0])
            v[ls.n++] = defaults[i];
    for (uint32_t i = 0; i < job->n_params; i++) {
        const struct scrape_param *p = &job->params[i];
        char *name = arena_printf(a, PARAM_PREFIX "%s", p->name);
        if (!name)
            return -1;
        if (p->n_values == 0 || !p->values[0][0] || labels_get(&have, name))
            continue;
        int dup = 0; /* a name twice among the job's params: the first wins */
        for (uint32_t k = given; k < ls.n && !dup; k++)
            dup = !strcmp(v[k].name, name);
        if (!dup)
            v[ls.n++] = (struct label){name, p->values[0]};
    }
    if (labels_sort(&ls) < 0)
        return -2;
    *ret = ls;
    return 0;
}

static int oom(struct arena *a, struct err *e)
{
    if (arena_over_cap(a))
        return err_set(e, ERR_LIMIT, "scrape target memory limit");
    return err_set(e, -ENOMEM, "out of memory");
}

int scrape_target_build(struct arena *a, const struct scrape_job *job,
                        const struct labels *discovered, struct scrape_target_spec *ret,
                        struct err *e)
{
    struct labels disc, ls;
    int r = discovered_labels(a, job, discovered, &disc);
    if (r == -2)
        return err_set(e, ERR_PARSE, "discovered labels repeat a name");
    if (r < 0)
        return oom(a, e);
    *ret = (struct scrape_target_spec){.job = job->name, .discovered = disc};
    if ((r = scrape_relabel_apply(job->relabel, a, &disc, &ls)) < 0)
        return oom(a, e);
    if (r == 0)
        return 0;

    const char *addr = labels_get(&ls, "__address__"), *why;
    const char *scheme = labels_get(&ls, "__scheme__");
    if (!scheme)
        scheme = "";
    int https = !strcmp(scheme, "https"), http = !strcmp(scheme, "http");
    if (!addr || !*addr)
        return err_set(e, ERR_PARSE, "no address");
    if (!has_port(addr)) {
        /* Prometheus 2 gives an address without a port the scheme's default, so instance and
         * the URL say host:80 (3.0 stopped doing so; ember follows 2.42, as users' series do).
         * Only then does it check the scheme, and names the job's. */
        if (!http && !https && *scheme) /* "" gets port 80 and then fails each scrape */
            return err_set(e, ERR_PARSE, "invalid scheme: \"%.32s\"", job->scheme);
        if (!(addr = arena_printf(a, "%s:%s", addr, https ? "443" : "80")))
            return oom(a, e);
    }
    if (strchr(addr, '/'))
        return err_set(e, ERR_PARSE, "\"%.128s\" is not a valid hostname", addr);
    if ((why = scrape_target_address_problem(addr, strlen(addr))))
        return err_set(e, ERR_PARSE, "bad target address \"%.128s\": %s", addr, why);
    const char *iv = labels_get(&ls, "__scrape_interval__");
    const char *tv = labels_get(&ls, "__scrape_timeout__");
    if ((r = parse_label_duration(iv ? iv : "", "interval", &ret->interval_ms, e)) < 0 ||
        (r = parse_label_duration(tv ? tv : "", "timeout", &ret->timeout_ms, e)) < 0)
        return r;
    if (ret->timeout_ms > ret->interval_ms)
        return err_set(e, ERR_PARSE, "scrape timeout cannot be greater than scrape interval "
                       "(\"%s\" > \"%s\")", tv, iv);
    /* The TLS context is built (files read) at config load, for jobs with scheme https or a
     * tls_config; a target relabeled to https in another job has none to use. */
    if (https && !(job->client && job->client->tls))
        return err_set(e, ERR_PARSE, "scheme \"https\" needs the job's scheme: https or a "
                       "tls_config");

    /* Public labels: no "__" names; label values need no UTF-8 check here, unlike Prometheus,
     * because every input (YAML, regex captures of it, case mapping) is valid UTF-8 already. */
    struct label *pub = arena_alloc(a, (ls.n + 1) * sizeof *pub);
    if (!pub)
        return oom(a, e);
    struct labels out = {pub, 0};
    for (uint32_t i = 0; i < ls.n; i++) {
        if (is_reserved(ls.v[i].name))
            continue;
        if (!labels_name_valid(ls.v[i].name, strlen(ls.v[i].name)))
            return err_set(e, ERR_PARSE, "invalid label name \"%.64s\"", ls.v[i].name);
        pub[out.n++] = ls.v[i];
    }
    if (!labels_get(&out, "instance"))
        pub[out.n++] = (struct label){"instance", addr};
    (void) labels_sort(&out);

    struct buf path = BUF_INIT, query = BUF_INIT;
    const char *mp = labels_get(&ls, "__metrics_path__");
    r = put_path_escaped(&path, mp ? mp : "");
    if (r >= 0)
        r = build_query(a, job, &ls, &query);
    const char *p = r < 0 ? NULL : arena_strndup(a, (const char *) path.p, path.len);
    const char *qs = r < 0 ? NULL : arena_strndup(a, query.p ? (const char *) query.p : "",
                                                  query.len);
    size_t url_len = path.len + 1 + query.len;
    buf_free(&path);
    buf_free(&query);
    if (!p || !qs)
        return oom(a, e);
    if (url_len >= TARGET_PATH_MAX)
        return err_set(e, ERR_PARSE, "scrape URL path and query longer than %d bytes",
                       TARGET_PATH_MAX - 1);
    ret->scheme = scheme;
    ret->address = addr;
    ret->metrics_path = p;
    ret->query = qs;
    ret->accept = job->accept;
    ret->honor_labels = job->honor_labels;
    ret->honor_timestamps = job->honor_timestamps;
    ret->labels = out;
    ret->metric_relabel = job->metric_relabel;
    ret->client = job->client;
    /* Another scheme makes a target like any other that fails every scrape, as Go's client
     * refuses it: Prometheus lists it as down with this error. */
    ret->forced_error = http || https ? NULL :
        arena_printf(a, "Get \"%s://%s%s%s%s\": unsupported protocol scheme \"%s\"", scheme,
                     addr, p, *qs ? "?" : "", qs, scheme);
    if (!http && !https && !ret->forced_error)
        return oom(a, e);
    return 1;
}
