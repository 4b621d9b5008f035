/* bench/bench_scrape.c — the real ember binary scraping many synthetic targets on loopback.
 * Not a test: it prints figures.
 *
 *   bench_scrape EMBER_BIN [targets series interval_s measure_s]   defaults 200 500 5 60
 *   bench_scrape EMBER_BIN ... --prometheus PROM_BIN     the same targets, then Prometheus
 *   bench_scrape EMBER_BIN ... --victoria-metrics VM_BIN  ... then VictoriaMetrics (single node)
 *
 * A forked child serves the targets: one loopback listening port per target (libuv), each GET
 * answered with node-exporter-like text (HELP/TYPE per family of 50 series, labels, values that
 * change every scrape). The scraper under test gets a prometheus.yml with one job listing every
 * target, a fresh storage directory, and time to scrape everything twice; then its CPU time
 * (utime + stime from /proc/<pid>/stat) is taken over measure_s seconds, its resident memory
 * (VmRSS) at the end, and samples/s from its own sum(scrape_samples_scraped) / interval and
 * count(up == 1), through its Prometheus-compatible query API (VictoriaMetrics' too; it shows
 * samples some 30 s late, -search.latencyOffset, which the warm-up covers). Figures are for this machine as it is at the time (shared, possibly loaded). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define FAMILY 50 /* series per metric family, like node_cpu_seconds_total's cpu × mode */

static unsigned n_series;

/* ---- the target server (child process) ---- */

struct target {
    uv_tcp_t listener;
    unsigned index;
    uint64_t generation; /* scrapes served: values move with it */
};

struct conn {
    uv_tcp_t tcp;
    struct target *t;
    char head[4096];
    size_t head_len;
    uv_write_t w;
    char *reply;
    int close_after; /* the client asked for "Connection: close" */
};

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->reply);
    free(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

/* Like a Go exporter, the connection stays open for the client's next request unless it asked
 * for "Connection: close". */
static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    free(c->reply);
    c->reply = NULL;
    c->head_len = 0;
    if (status < 0 || c->close_after ||
        uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read) < 0)
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

/* The exposition of target t at its current generation, after an HTTP header. */
static char *render(struct target *t, int close_after, size_t *ret_len)
{
    size_t cap = (size_t) n_series * 120 + 4096, len = 0;
    char *body = malloc(cap);
    if (!body)
        return NULL;
    uint64_t g = t->generation++;
    for (unsigned i = 0; i < n_series; i++) {
        unsigned fam = i / FAMILY, member = i % FAMILY;
        if (member == 0)
            len += (size_t) snprintf(body + len, cap - len,
                                     "# HELP node_bench_family_%u_total Synthetic counter family "
                                     "%u.\n# TYPE node_bench_family_%u_total counter\n",
                                     fam, fam, fam);
        len += (size_t) snprintf(body + len, cap - len,
                                 "node_bench_family_%u_total{cpu=\"%u\",mode=\"%s\"} %.3f\n", fam,
                                 member / 5, (const char *[]){"idle", "user", "system", "iowait",
                                                              "irq"}[member % 5],
                                 (double) (t->index * 7 + i) + (double) g * (1 + i % 13) * 0.25);
    }
    char *out = malloc(len + 256);
    if (!out) {
        free(body);
        return NULL;
    }
    int h = snprintf(out, 256, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                     "charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n", len,
                     close_after ? "Connection: close\r\n" : "");
    memcpy(out + h, body, len);
    free(body);
    *ret_len = (size_t) h + len;
    return out;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void) suggested;
    b->base = c->head + c->head_len;
    b->len = sizeof c->head - 1 - c->head_len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void) b;
    struct conn *c = s->data;
    if (n < 0 || (n == 0 && c->head_len == sizeof c->head - 1)) {
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
        return;
    }
    c->head_len += (size_t) n;
    c->head[c->head_len] = '\0';
    if (!strstr(c->head, "\r\n\r\n"))
        return;
    uv_read_stop(s);
    c->close_after = strcasestr(c->head, "\r\nconnection: close") != NULL;
    size_t len;
    if (!(c->reply = render(c->t, c->close_after, &len))) {
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
        return;
    }
    uv_buf_t out = uv_buf_init(c->reply, (unsigned) len);
    c->w.data = c;
    if (uv_write(&c->w, s, &out, 1, on_written) < 0)
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->t = server->data;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *) &c->tcp) < 0 ||
        uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read) < 0)
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

static void serve(const int *fds, unsigned n)
{
    uv_loop_t *loop = uv_default_loop();
    struct target *ts = calloc(n, sizeof *ts);
    if (!ts)
        _exit(1);
    for (unsigned i = 0; i < n; i++) {
        ts[i].index = i;
        uv_tcp_init(loop, &ts[i].listener);
        ts[i].listener.data = &ts[i];
        if (uv_tcp_open(&ts[i].listener, fds[i]) < 0 ||
            uv_listen((uv_stream_t *) &ts[i].listener, 128, on_connection) < 0)
            _exit(1);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    _exit(0);
}

/* ---- the scraper under test ---- */

static int listen_loopback(uint16_t *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *) &a, &al) < 0) {
        perror("listen on 127.0.0.1");
        exit(1);
    }
    *ret_port = ntohs(a.sin_port);
    return fd;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* utime + stime of pid, in seconds. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[4096];
    (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (p)
        (void) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    (void) snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

/* The first sample value of an instant query, via curl (Debian's, in TEST_PKGS); NAN if none. */
static double query(uint16_t port, const char *q)
{
    char cmd[512];
    (void) snprintf(cmd, sizeof cmd, "curl -s --max-time 60 -G 'http://127.0.0.1:%u/api/v1/query' "
                    "--data-urlencode 'query=%s'", port, q);
    FILE *p = popen(cmd, "r");
    char buf[8192];
    size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
    if (p)
        pclose(p);
    buf[n] = '\0';
    const char *v = strstr(buf, "\"value\":[");
    if (!v || !(v = strchr(v, ',')))
        return -1;
    return strtod(v + 2, NULL);
}

struct result {
    double cores, samples_per_s, up;
    long rss_kib;
};

static int run_scraper(const char *name, const char *bin, const char *dir, const uint16_t *ports,
                       unsigned n, unsigned interval_s, unsigned measure_s, struct result *ret)
{
    char cfg[512], data[512], listen_flag[64], cfg_flag[600], data_flag[600];
    uint16_t port;
    close(listen_loopback(&port)); /* a free port for its web server */
    (void) snprintf(cfg, sizeof cfg, "%s/%s.yml", dir, name);
    (void) snprintf(data, sizeof data, "%s/%s-data", dir, name);
    FILE *f = fopen(cfg, "w");
    if (!f)
        return -1;
    fprintf(f, "global:\n  scrape_interval: %us\n  scrape_timeout: %us\nscrape_configs:\n"
               "  - job_name: bench\n    static_configs:\n      - targets:\n",
            interval_s, interval_s < 10 ? interval_s : 10);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "        - 127.0.0.1:%u\n", ports[i]);
    fclose(f);
    /* ember and Prometheus share flag names; VictoriaMetrics has its own. */
    int vm = !strcmp(name, "victoria");
    (void) snprintf(listen_flag, sizeof listen_flag, "%s=127.0.0.1:%u",
                    vm ? "-httpListenAddr" : "--web.listen-address", port);
    (void) snprintf(cfg_flag, sizeof cfg_flag, "%s=%s", vm ? "-promscrape.config" : "--config.file",
                    cfg);
    (void) snprintf(data_flag, sizeof data_flag, "%s=%s",
                    vm ? "-storageDataPath" : "--storage.tsdb.path", data);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        dup2(null, 2);
        execl(bin, bin, cfg_flag, data_flag, listen_flag, (char *) NULL);
        _exit(127);
    }
    /* Warm up: start, first scrapes (series creation), then one more interval. */
    double t0 = now_s();
    while (now_s() - t0 < (vm ? 120 : 60) && query(port, "count(up == 1)") < (double) n)
        sleep(1);
    sleep(interval_s + 1);
    double c0 = cpu_seconds(pid), w0 = now_s();
    sleep(measure_s);
    double c1 = cpu_seconds(pid), w1 = now_s();
    ret->rss_kib = rss_kib(pid);
    ret->cores = (c1 - c0) / (w1 - w0);
    ret->up = query(port, "count(up == 1)");
    ret->samples_per_s = query(port, "sum(scrape_samples_scraped)") / interval_s;
    kill(pid, SIGTERM);
    int st;
    for (int i = 0; i < 300 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(100000);
    kill(pid, SIGKILL);
    (void) waitpid(pid, &st, 0);
    printf("%-10s %7.4f cores  %8.1f MiB RSS  %9.0f samples/s  up %.0f/%u  (%.0f s measured)\n",
           name, ret->cores, (double) ret->rss_kib / 1024, ret->samples_per_s, ret->up, n,
           w1 - w0);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *prom = NULL, *vm = NULL;
    int pos = 0;
    char *args[6] = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prometheus") && i + 1 < argc)
            prom = argv[++i];
        else if (!strcmp(argv[i], "--victoria-metrics") && i + 1 < argc)
            vm = argv[++i];
        else if (pos < 5)
            args[pos++] = argv[i];
    }
    if (pos < 1) {
        fprintf(stderr, "usage: %s EMBER_BIN [targets series interval_s measure_s] "
                        "[--prometheus PROM_BIN] [--victoria-metrics VM_BIN]\n", argv[0]);
        return 2;
    }
    unsigned n = args[1] ? (unsigned) atoi(args[1]) : 200;
    n_series = args[2] ? (unsigned) atoi(args[2]) : 500;
    unsigned interval_s = args[3] ? (unsigned) atoi(args[3]) : 5;
    unsigned measure_s = args[4] ? (unsigned) atoi(args[4]) : 60;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = calloc(n, sizeof *fds);
    uint16_t *ports = calloc(n, sizeof *ports);
    if (!fds || !ports)
        return 1;
    for (unsigned i = 0; i < n; i++)
        fds[i] = listen_loopback(&ports[i]);
    pid_t server = fork();
    if (server == 0)
        serve(fds, n);
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
    char dir[] = "/tmp/bench_scrape.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("%u targets x %u series every %u s = %u series, %.0f samples/s expected\n", n,
           n_series, interval_s, n * n_series, (double) n * n_series / interval_s);
    fflush(stdout);
    struct result r;
    int rc = run_scraper("ember", args[0], dir, ports, n, interval_s, measure_s, &r);
    if (rc == 0 && prom)
        rc = run_scraper("prometheus", prom, dir, ports, n, interval_s, measure_s, &r);
    if (rc == 0 && vm)
        rc = run_scraper("victoria", vm, dir, ports, n, interval_s, measure_s, &r);
    kill(server, SIGTERM);
    (void) waitpid(server, NULL, 0);
    char cmd[600];
    (void) snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc < 0;
}
