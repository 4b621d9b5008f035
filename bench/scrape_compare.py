#!/usr/bin/env python3
"""bench/scrape_compare.py — ember's scraping beside Prometheus 2.42's, from one prometheus.yml.
A developer tool, not a test (CI machines have no Prometheus): it prints the differences.

    python3 bench/scrape_compare.py BUILD_DIR [--keep]      (--keep: leave the work directory)

Serves small synthetic exposition targets from Python's http.server on 127.0.0.1 (text 0.0.4,
OpenMetrics with exemplars and UNIT, a malformed body, explicit timestamps, labels colliding with
target labels, a basic_auth target, redirects, bodies over the limits) plus Debian's
prometheus-node-exporter, writes one prometheus.yml using every relabel action, params and
__param_*, honor_labels on and off, honor_timestamps on and off, the limits, file_sd (JSON and YAML,
a glob), a dropped target and a job over its target_limit, then starts ember and Prometheus with
it. After a few scrape intervals it compares, per server:

- /api/v1/targets: per active target (matched by pool and labels) discoveredLabels, scrapeUrl,
  globalUrl, health, lastError, scrapeInterval, scrapeTimeout; the dropped targets'
  discoveredLabels;
- the stored series (/api/v1/series over every job) and, for the synthetic targets, the latest
  value of each (an instant query), including up and the scrape_* report series;
- /api/v1/targets/metadata and /api/v1/metadata.

Then it rewrites the file_sd files (picked up by watching), then changes prometheus.yml and
reloads both servers (SIGHUP to ember, POST /-/reload to Prometheus), comparing again after each.
Differences listed in KNOWN (with the reason) are reported apart so that real ones stand out.
Every wait is bounded; every process started is stopped at the end."""
import base64
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
INTERVAL_S = 2
SETTLE_S = 4 * INTERVAL_S + 2

# Differences that are understood: (section or None for any, substrings the difference
# contains, reason).
# Each deliberate one is documented in docs/configuration.md or docs/api.md.
KNOWN = [
    ("targets", ["globalUrl"],
     "both replace a loopback host with this machine's name; Prometheus uses its external "
     "URL's host, which may differ from gethostname()"),
    ("targets", ["lastError: ember line "],
     "deliberate: ember's parse errors name line and column (configuration.md, Scrape client)"),
    ("targets", ["synth-labelmap {", "discoveredLabels"],
     "Prometheus 2.42 bug: relabeling reuses the discovered labels' storage, so relabeled "
     "labels show in discoveredLabels (api.md, Targets and metadata)"),
    ("targets", ["synth-params {", "override.example"],
     "deliberate: a target's __param_<name> label wins over the job's params, as in later "
     "Prometheus releases; 2.42 lets params win (configuration.md, Relabeling)"),
    (None, ["synth-params", "override.example"], "as above: the URL ember scraped"),
    (None, ["synth-params", "example.org"], "as above"),
    ("series-values", ["scrape_duration_seconds", "ember 0, prometheus >0"],
     "over target_limit or with a scheme other than http(s) nothing is fetched; ember reports "
     "0 s, Prometheus the time its no-op took (configuration.md)"),
    ("targets-metadata", ["synth-bad-om", " x gauge"],
     "deliberate: metadata is that of the last successful scrape; Prometheus also takes what "
     "a failed scrape read (api.md, Targets and metadata)"),
    ("metadata", ["only prometheus: x ="], "as above"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- synthetic targets --------------------------------------------------------------------

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
START_MS = int(time.time() * 1000) - 30_000  # explicit timestamps, inside both heads' range


def payloads():
    ts = START_MS
    big = "".join("big_gauge{i=\"%d\"} %d\n" % (i, i) for i in range(20))
    many_labels = "wide{%s} 1\n" % ",".join('l%d="v"' % i for i in range(8))
    return {
        "/basic": (TEXT, (
            "# HELP synth_requests_total Requests served.\n"
            "# TYPE synth_requests_total counter\n"
            'synth_requests_total{code="200",method="get"} 1027\n'
            'synth_requests_total{code="500",method="get"} 3\n'
            "# HELP synth_temp_celsius A temperature.\n"
            "# TYPE synth_temp_celsius gauge\n"
            "synth_temp_celsius 21.5\n"
            "# TYPE synth_untyped untyped\n"
            "synth_untyped{} 7\n"
            "synth_no_meta 8 \n"
            "# a comment line\n"
            'synth_escapes{path="C:\\\\dir\\n\\"q\\""} 1\n'
            "synth_special{v=\"inf\"} +Inf\n"
            "synth_special{v=\"ninf\"} -Inf\n"
            "synth_special{v=\"nan\"} NaN\n"
            "synth:recorded:rate5m 0.25\n"
            "synth_exp 1.5e3\n"
            # labels colliding with target labels: honor_labels decides
            'synth_conflict{job="from_target",instance="inst_from_target",team="blue",'
            'exported_team="x"} 1\n'
            'synth_conflict{job="",team="red"} 2\n'
            "# HELP synth_latency_seconds Latency.\n"
            "# TYPE synth_latency_seconds histogram\n"
            'synth_latency_seconds_bucket{le="0.1"} 3\n'
            'synth_latency_seconds_bucket{le="1"} 5\n'
            'synth_latency_seconds_bucket{le="+Inf"} 6\n'
            "synth_latency_seconds_sum 2.5\n"
            "synth_latency_seconds_count 6\n"
            "# HELP synth_rpc_seconds RPC duration.\n"
            "# TYPE synth_rpc_seconds summary\n"
            'synth_rpc_seconds{quantile="0.5"} 0.05\n'
            'synth_rpc_seconds{quantile="0.99"} 0.5\n'
            "synth_rpc_seconds_sum 12\n"
            "synth_rpc_seconds_count 100\n")),
        "/ts": (TEXT, (
            "# TYPE synth_ts_gauge gauge\n"
            "synth_ts_gauge{kind=\"explicit\"} 5 %d\n"
            "synth_ts_gauge{kind=\"none\"} 6\n" % ts)),
        "/om": (OPENMETRICS, (
            "# TYPE om_requests counter\n"
            "# HELP om_requests Requests, OpenMetrics style.\n"
            'om_requests_total{code="200"} 17 # {trace_id="abc123"} 1.0 %.3f\n'
            'om_requests_created{code="200"} 1600000000.0\n'
            "# TYPE om_size_bytes gauge\n"
            "# UNIT om_size_bytes bytes\n"
            "# HELP om_size_bytes Size in bytes.\n"
            "om_size_bytes 4096\n"
            "# TYPE om_build info\n"
            'om_build_info{version="1.2.3"} 1\n'
            "# TYPE om_state stateset\n"
            'om_state{om_state="a"} 1\n'
            'om_state{om_state="b"} 0\n'
            "# TYPE om_hist histogram\n"
            'om_hist_bucket{le="1.0"} 1 # {trace_id="h1"} 0.5\n'
            'om_hist_bucket{le="+Inf"} 2\n'
            "om_hist_sum 3.5\n"
            "om_hist_count 2\n"
            "# TYPE om_unknown unknown\n"
            "om_unknown 3\n"
            "# EOF\n" % (ts / 1000))),
        "/bad": (TEXT, "synth_ok 1\nsynth_bad{a=\"1\" 2\nsynth_after 3\n"),
        "/bad_om": (OPENMETRICS, "# TYPE x gauge\nx 1\n"),  # no # EOF
        "/big": (TEXT, big),
        "/wide": (TEXT, many_labels + 'long_name{a_very_long_label_name_indeed="v"} 1\n'
                  'long_value{l="%s"} 1\n' % ("x" * 40)),
        "/plain": ("text/plain", "synth_plain 1\n"),
        "/none": (None, "synth_nocontenttype 1\n"),
        "/dup": (TEXT, "synth_dup 1\nsynth_dup 2\n"),
        "/empty": (TEXT, ""),
    }


def make_handler(pages):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, ctype, body, extra=()):
            data = body.encode()
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            if path == "/params":
                q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                body = "".join('synth_param{name="%s",value="%s",n="%d"} 1\n' %
                               (k, ",".join(v), len(v)) for k, v in sorted(q.items()))
                return self.send(200, TEXT, body or "synth_param_none 1\n")
            if path == "/auth":
                want = "Basic " + base64.b64encode(b"alice:s3cret").decode()
                if self.headers.get("Authorization") != want:
                    return self.send(401, "text/plain", "unauthorized\n",
                                     [("WWW-Authenticate", 'Basic realm="x"')])
                return self.send(200, TEXT, "synth_authed 1\n")
            if path == "/bearer":
                if self.headers.get("Authorization") != "Bearer tok3n":
                    return self.send(403, "text/plain", "forbidden\n")
                return self.send(200, TEXT, "synth_bearer 1\n")
            if path == "/redirect":
                return self.send(302, "text/plain", "", [("Location", "/basic")])
            if path == "/status500":
                return self.send(500, "text/plain", "boom\n")
            if path == "/changing":  # series b vanishes after phase 1, c appears
                return self.send(200, TEXT, 'synth_changing{k="a"} 1\n' +
                                 ('synth_changing{k="b"} 2\n' if PHASE[0] < 2 else
                                  'synth_changing{k="c"} 3\n'))
            if path == "/mtls":
                if not self.connection.getpeercert():
                    return self.send(403, "text/plain", "client certificate required\n")
                return self.send(200, TEXT, "synth_mtls 1\n")
            if path == "/slow":
                time.sleep(2.5)
                return self.send(200, TEXT, "synth_slow 1\n")
            if path in pages:
                ctype, body = pages[path]
                return self.send(200, ctype, body)
            return self.send(404, "text/plain", "not found\n")

    return Handler


class Quiet(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a scraper that gave up (timeout) closed the connection: not news


PHASE = [1]  # the phase being run, for /changing


class Targets:
    """Threaded http.servers on loopback ports serving the synthetic pages: n plain ones and,
    given an ssl.SSLContext, one https one (last in addrs)."""

    def __init__(self, n, tls=None):
        handler = make_handler(payloads())
        self.servers = []
        for i in range(n + (1 if tls else 0)):
            srv = Quiet(("127.0.0.1", 0), handler)
            if i == n:
                srv.socket = tls.wrap_socket(srv.socket, server_side=True)
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.servers.append(srv)
        self.addrs = ["127.0.0.1:%d" % s.server_address[1] for s in self.servers]

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


def make_pki(work):
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made
    with the openssl CLI; returns the server's ssl.SSLContext (client certificates optional,
    verified against the CA when sent)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=work, check=True, capture_output=True,
                       timeout=60)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=scrape_compare CA")
    with open(os.path.join(work, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".crt", "-days", "2", *ext)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(work, "server.crt"), os.path.join(work, "server.key"))
    ctx.load_verify_locations(os.path.join(work, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


# ---- configuration ------------------------------------------------------------------------

# Jobs that only need a path on target a: (job name after "synth-", path without "/").
SIMPLE_JOBS = [("om", "om"), ("bad", "bad"), ("bad-om", "bad_om"), ("dup", "dup"),
               ("empty", "empty"), ("plain", "plain"), ("nocontenttype", "none")]


def config(a, b, node, closed, work, phase, tls_addr):
    """The one prometheus.yml. a, b: synthetic target addresses; phase 2 changes some jobs."""
    secret = os.path.join(work, "password")
    token = os.path.join(work, "token")
    with open(secret, "w") as f:
        f.write("s3cret\n")
    with open(token, "w") as f:
        f.write("tok3n\n")
    extra = ""
    if phase == 2:
        extra = """
  - job_name: synth-added-on-reload
    static_configs: [{targets: ['%(a)s'], labels: {added: 'yes'}}]
    metrics_path: /plain
""" % {"a": a}
    simple = "".join("  - job_name: synth-%s\n    metrics_path: /%s\n"
                     "    static_configs: [{targets: ['%s']}]\n" % (name, path, a)
                     for name, path in SIMPLE_JOBS)
    return """
global:
  scrape_interval: %(iv)ds
  scrape_timeout: %(to)ds
  external_labels: {}
scrape_configs:
  - job_name: synth-basic
    metrics_path: /basic
    static_configs:
      - targets: ['%(a)s']
        labels: {team: green, env: prod}
      - targets: ['%(b)s']
        labels: {team: green, env: dev, drop_me: 'yes'}
    relabel_configs:
      - {source_labels: [drop_me], regex: 'yes', action: drop}
      - {source_labels: [env], target_label: env_upper, action: uppercase}
      - {source_labels: [env_upper], target_label: env_lower, action: lowercase}
      - {source_labels: [__address__], target_label: shard, modulus: 4, action: hashmod}
      - {source_labels: [__address__], regex: '(.*):(.*)', target_label: port,
         replacement: 'p$2'}
      - {source_labels: [team], target_label: team_copy}
      - {source_labels: [team], target_label: team_copy, action: keepequal}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'synth_rpc_seconds.*', action: drop}
      - {source_labels: [code], regex: '5..', target_label: error_class, replacement: server}
      - {source_labels: [__name__, method], separator: '@', regex: 'synth_requests_total@(.*)',
         target_label: m_upper, replacement: '${1}', action: replace}
      - {source_labels: [m_upper], target_label: m_upper, action: uppercase}
      - {regex: 'team_copy', action: labeldrop}
  - job_name: synth-honor
    honor_labels: true
    metrics_path: /basic
    static_configs: [{targets: ['%(a)s'], labels: {team: green}}]
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'synth_conflict|synth_temp_celsius', action: keep}
  - job_name: synth-labelmap
    metrics_path: /basic
    static_configs:
      - targets: ['%(a)s']
        labels: {__meta_custom_zone: z1, __meta_custom_rack: r7, __tmp_x: y, keepme: a}
    relabel_configs:
      - {regex: '__meta_custom_(.+)', replacement: 'meta_$1', action: labelmap}
      - {regex: '__tmp_x|keepme|job|__.*|meta_.*', action: labelkeep}
      - {source_labels: [job], target_label: keepme, action: dropequal}
      - {source_labels: [__tmp_x], target_label: from_tmp}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'synth_(temp|conflict).*', action: keep}
      - {source_labels: [instance], target_label: instance, action: keepequal}
      - {source_labels: [team], target_label: job, action: dropequal}
      - {regex: '(meta)_(.*)', replacement: 'x_$2', action: labelmap}
  - job_name: synth-params
    metrics_path: /params
    params:
      module: [http_2xx, second]
      target: ['example.org']
    static_configs:
      - targets: ['%(a)s']
      - targets: ['%(b)s']
        labels: {__param_target: 'override.example', __param_extra: 'e1'}
  - job_name: synth-special
    static_configs:
      - targets: ['%(a)s']
        labels: {__metrics_path__: /ts, __scheme__: http, __scrape_interval__: 3s,
                 __scrape_timeout__: 1s}
  - job_name: synth-ts-honored
    metrics_path: /ts
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-ts-ignored
    honor_timestamps: false
    metrics_path: /ts
    static_configs: [{targets: ['%(a)s']}]
%(simple)s  - job_name: synth-sample-limit
    metrics_path: /big
    sample_limit: 10
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-sample-limit-ok
    metrics_path: /big
    sample_limit: 10
    static_configs: [{targets: ['%(a)s']}]
    metric_relabel_configs:
      - {source_labels: [i], regex: '1?[0-4]', action: keep}
  - job_name: synth-label-limit
    metrics_path: /wide
    label_limit: 5
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-label-name-limit
    metrics_path: /wide
    label_name_length_limit: 10
    static_configs: [{targets: ['%(a)s']}]
    metric_relabel_configs: [{source_labels: [__name__], regex: wide, action: drop}]
  - job_name: synth-label-value-limit
    metrics_path: /wide
    label_value_length_limit: 30
    static_configs: [{targets: ['%(a)s']}]
    metric_relabel_configs: [{source_labels: [__name__], regex: wide, action: drop}]
  - job_name: synth-body-limit
    metrics_path: /basic
    body_size_limit: 100B
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-target-limit
    metrics_path: /plain
    target_limit: 1
    static_configs: [{targets: ['%(a)s', '%(b)s']}]
  - job_name: synth-auth
    metrics_path: /auth
    basic_auth: {username: alice, password_file: '%(secret)s'}
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-auth-wrong
    metrics_path: /auth
    basic_auth: {username: alice, password: wrong}
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-bearer
    metrics_path: /bearer
    authorization: {credentials_file: '%(token)s'}
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-bearer-old
    metrics_path: /bearer
    bearer_token: tok3n
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-redirect
    metrics_path: /redirect
    static_configs: [{targets: ['%(a)s']}]
    metric_relabel_configs: [{source_labels: [__name__], regex: synth_temp_celsius, action: keep}]
  - job_name: synth-redirect-off
    metrics_path: /redirect
    follow_redirects: false
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-500
    metrics_path: /status500
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-404
    metrics_path: /nope
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-timeout
    metrics_path: /slow
    scrape_timeout: 1s
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-down
    static_configs: [{targets: ['127.0.0.1:%(closed)d']}]
  - job_name: synth-changing
    metrics_path: /changing
    static_configs: [{targets: ['%(a)s']}]
  - job_name: synth-tls-ca
    scheme: https
    metrics_path: /plain
    tls_config: {ca_file: '%(work)s/ca.crt'}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-server-name
    scheme: https
    metrics_path: /plain
    tls_config: {ca_file: '%(work)s/ca.crt', server_name: localhost}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-wrong-name
    scheme: https
    metrics_path: /plain
    tls_config: {ca_file: '%(work)s/ca.crt', server_name: other.example}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-no-ca
    scheme: https
    metrics_path: /plain
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-insecure
    scheme: https
    metrics_path: /plain
    tls_config: {insecure_skip_verify: true}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-client-cert
    scheme: https
    metrics_path: /mtls
    tls_config: {ca_file: '%(work)s/ca.crt', cert_file: '%(work)s/client.crt',
                 key_file: '%(work)s/client.key'}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-tls-no-client-cert
    scheme: https
    metrics_path: /mtls
    tls_config: {ca_file: '%(work)s/ca.crt'}
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-plain-to-tls
    metrics_path: /plain
    static_configs: [{targets: ['%(tls)s']}]
  - job_name: synth-addresses
    metrics_path: /plain
    static_configs:
      - targets: ['127.0.0.1', '[::1]:%(closed)d', 'localhost:%(aport)s', '%(a)s', '%(a)s']
      - targets: ['%(a)s']
        labels: {job: custom-job, instance: my-instance}
      - targets: ['%(b)s']
        labels: {__scheme__: ftp}
      - targets: ['%(b)s']
        labels: {__scrape_interval__: abc}
      - targets: ['%(b)s']
        labels: {__scrape_timeout__: 5s}
  - job_name: synth-file
    metrics_path: /plain
    file_sd_configs:
      - files: ['%(work)s/sd/*.json', '%(work)s/sd/*.yml']
        refresh_interval: 5s
    relabel_configs:
      - {source_labels: [__meta_filepath], regex: '.*/(.*)', target_label: sd_file}
      - {source_labels: [dc], regex: 'skip', action: drop}
  - job_name: synth-bad-address
    static_configs: [{targets: ['%(a)s']}]
    relabel_configs:
      - {target_label: __address__, replacement: ''}
  - job_name: node
    scrape_interval: %(iv)ds
    static_configs: [{targets: ['%(node)s'], labels: {role: exporter}}]
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'node_(load1|uname_info|time_seconds|boot_time_seconds|cpu_seconds_total)|go_goroutines|promhttp_metric_handler_requests_total',
         action: keep}
      - {source_labels: [__name__], regex: 'node_cpu_seconds_total', target_label: cpu_mode_hash,
         modulus: 3, action: hashmod}
      - {regex: 'cpu_mode_hash', action: labeldrop}
%(extra)s""" % {"a": a, "b": b, "node": node, "closed": closed, "work": work, "iv": INTERVAL_S,
                "to": INTERVAL_S - 1, "secret": secret, "token": token, "extra": extra,
                "tls": tls_addr, "aport": a.split(":")[1],
                "simple": simple}


def write_sd(work, phase):
    sd = os.path.join(work, "sd")
    os.makedirs(sd, exist_ok=True)
    groups = [{"targets": [A_ADDR], "labels": {"dc": "one"}},
              {"targets": [B_ADDR], "labels": {"dc": "skip"}}]
    if phase >= 1:
        groups[0]["labels"]["dc"] = "one-changed"
    tmp = os.path.join(sd, "a.json.tmp")
    with open(tmp, "w") as f:
        json.dump(groups, f)
    os.rename(tmp, os.path.join(sd, "a.json"))
    with open(os.path.join(sd, "b.yml.tmp"), "w") as f:
        f.write("- targets: ['%s']\n  labels: {dc: yaml%s}\n" % (B_ADDR, phase))
    os.rename(os.path.join(sd, "b.yml.tmp"), os.path.join(sd, "b.yml"))


A_ADDR = B_ADDR = None


# ---- servers ------------------------------------------------------------------------------

class Server:
    def __init__(self, name, argv, port, work):
        self.name, self.port = name, port
        self.log = open(os.path.join(work, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def request(self, method, path, params=None):
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=b"" if method == "POST" else None)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def get(self, path, params=None):
        return self.request("GET", path, params)

    def api(self, path, params=None):
        status, body = self.get(path, params)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise SystemExit("%s %s: %d %s" % (self.name, path, status, body[:300]))
        return doc["data"]

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited; see %s" % (self.name, self.log.name))
            try:
                if self.get("/-/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("%s not ready after %d s" % (self.name, seconds))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def start_servers(build, cfg, work):
    out = []
    port = free_port()
    out.append(Server("ember", [
        os.path.join(build, "server", "ember"), "--config.file=" + cfg,
        "--storage.tsdb.path=" + os.path.join(work, "ember-data"), "--web.enable-lifecycle",
        "--web.listen-address=127.0.0.1:%d" % port], port, work))
    port = free_port()
    out.append(Server("prometheus", [
        PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" +
        os.path.join(work, "prom-data"), "--web.enable-lifecycle",
        "--web.listen-address=127.0.0.1:%d" % port], port, work))
    for s in out:
        s.wait_ready()
    return out


# ---- snapshots ----------------------------------------------------------------------------

def canon(obj):
    return json.dumps(obj, sort_keys=True)


def label_key(lbls):
    return ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(lbls.items()))


TARGET_FIELDS = ["discoveredLabels", "scrapeUrl", "globalUrl", "health", "lastError",
                 "scrapeInterval", "scrapeTimeout"]


def snapshot(srv, now):
    snap = {}
    t = srv.api("/api/v1/targets")
    active = {}
    for tg in t["activeTargets"]:
        key = "%s {%s}" % (tg["scrapePool"], label_key(tg["labels"]))
        active[key] = {f: tg.get(f) for f in TARGET_FIELDS}
        # The local end of a connection (in "read tcp 127.0.0.1:40000->...") is any free port.
        active[key]["lastError"] = re.sub(r"tcp (\S+):\d+->", r"tcp \1:*->",
                                          active[key]["lastError"])
        active[key]["fields"] = sorted(tg.keys())
    snap["targets"] = active
    snap["dropped"] = sorted(label_key(d["discoveredLabels"]) for d in t["droppedTargets"])
    snap["dropped-fields"] = sorted({k for d in t["droppedTargets"] for k in d})
    for state in ("active", "dropped", "any", "bogus"):
        d = srv.api("/api/v1/targets", {"state": state})
        snap["state=" + state] = (len(d["activeTargets"]), len(d["droppedTargets"]))
    series = srv.api("/api/v1/series", {"match[]": '{job=~".+"}', "start": now - 300,
                                         "end": now})
    snap["series"] = sorted(label_key(s) for s in series)
    res = srv.api("/api/v1/query", {"query": '{job=~"synth.*"}', "time": now})
    vals = {}
    for s in res["result"]:
        v = s["value"][1]
        if s["metric"]["__name__"] == "scrape_duration_seconds":
            v = "0" if v == "0" else ">0"  # each server times its own scrapes
        vals[label_key(s["metric"])] = v
    snap["series-values"] = vals
    # Which samples carry the exposition's own timestamp (honor_timestamps) and which the
    # scrape's: the sample times themselves differ between the servers.
    res = srv.api("/api/v1/query", {"query": '{job=~"synth.*"}[1m]', "time": now})
    snap["timestamps"] = {label_key(s["metric"]): "explicit" if abs(
        float(s["values"][-1][0]) * 1000 - START_MS) < 1 else "scrape" for s in res["result"]}
    for i, params in enumerate([
            {"metric": "synth_requests_total"}, {"match_target": '{job="synth-om"}'},
            {"match_target": '{job="synth-om"}', "metric": "om_size_bytes"},
            {"match_target": '{job="nope"}'}]):
        snap["targets-metadata?%d" % i] = sorted(canon(m) for m in
                                                 srv.api("/api/v1/targets/metadata", params))
    for i, params in enumerate([{"metric": "om_requests"}, {"limit": "0"},
                                {"metric": "synth_latency_seconds", "limit_per_metric": "1"}]):
        snap["metadata?%d" % i] = canon(srv.api("/api/v1/metadata", params))
    md = srv.api("/api/v1/targets/metadata", {"match_target": '{job=~".+"}'})
    snap["targets-metadata"] = sorted(
        "%s %s %s %s %s" % (label_key(m["target"]), m["metric"], m["type"], json.dumps(m["help"]),
                            m["unit"]) for m in md)
    snap["metadata"] = {k: sorted(canon(e) for e in v)
                        for k, v in srv.api("/api/v1/metadata").items()}
    return snap


def scrape_values_stable(srv):
    """True once every active target has been scraped at least twice (health known and a
    lastScrape more than one interval after the first)."""
    t = srv.api("/api/v1/targets")["activeTargets"]
    return t and all(x["health"] != "unknown" for x in t)


def diff_dicts(section, a, b, out):
    for k in sorted(set(a) | set(b)):
        if k not in a:
            out.append((section, "only prometheus: %s = %s" % (k, short(b[k]))))
        elif k not in b:
            out.append((section, "only ember: %s = %s" % (k, short(a[k]))))
        elif a[k] != b[k]:
            if isinstance(a[k], dict) and isinstance(b[k], dict):
                for f in sorted(set(a[k]) | set(b[k])):
                    if a[k].get(f) != b[k].get(f):
                        out.append((section, "%s: %s: ember %s, prometheus %s" %
                                    (k, f, short(a[k].get(f)), short(b[k].get(f)))))
            else:
                out.append((section, "%s: ember %s, prometheus %s" %
                            (k, short(a[k]), short(b[k]))))


def diff_lists(section, a, b, out):
    sa, sb = set(a), set(b)
    for x in sorted(sa - sb):
        out.append((section, "only ember: " + x))
    for x in sorted(sb - sa):
        out.append((section, "only prometheus: " + x))


def short(v, n=300):
    s = v if isinstance(v, str) else canon(v)
    return s if len(s) <= n else s[:n] + "..."


def compare(ember, prom, phase):
    now = time.time()
    a, b = snapshot(ember, now), snapshot(prom, now)
    out = []
    diff_dicts("targets", a["targets"], b["targets"], out)
    diff_lists("dropped", a["dropped"], b["dropped"], out)
    for k in ("dropped-fields", "state=active", "state=dropped", "state=any", "state=bogus"):
        if a[k] != b[k]:
            out.append(("targets", "%s: ember %s, prometheus %s" % (k, a[k], b[k])))
    diff_lists("series", a["series"], b["series"], out)
    diff_dicts("series-values", a["series-values"], b["series-values"], out)
    diff_dicts("timestamps", a["timestamps"], b["timestamps"], out)
    diff_lists("targets-metadata", a["targets-metadata"], b["targets-metadata"], out)
    for k in sorted(a):
        if "?" in k and a[k] != b[k]:
            out.append(("metadata-params", "%s: ember %s, prometheus %s" %
                        (k, short(a[k]), short(b[k]))))
    diff_dicts("metadata", a["metadata"], b["metadata"], out)
    real, known = [], []
    for sec, text in out:
        reason = next((r for s, subs, r in KNOWN
                       if s in (None, sec) and all(x in text for x in subs)), None)
        (known if reason else real).append((sec, text, reason))
    print("\n=== phase %d: %d differences, %d known ===" % (phase, len(real), len(known)))
    for sec, text, _ in real:
        print("  [%s] %s" % (sec, text))
    for sec, text, reason in known:
        print("  known [%s] %s\n        (%s)" % (sec, text, reason))
    print("  compared: %d/%d active targets, %d/%d dropped, %d/%d series, %d/%d values, "
          "%d/%d metadata" % (len(a["targets"]), len(b["targets"]), len(a["dropped"]),
                              len(b["dropped"]), len(a["series"]), len(b["series"]),
                              len(a["series-values"]), len(b["series-values"]),
                              len(a["metadata"]), len(b["metadata"])))
    return len(real)


def settle(servers, seconds):
    deadline = time.monotonic() + 60
    for s in servers:
        while not scrape_values_stable(s):
            if time.monotonic() > deadline:
                raise SystemExit("%s: targets not all scraped within 60 s" % s.name)
            time.sleep(0.5)
    time.sleep(seconds)


def main():
    global A_ADDR, B_ADDR
    args = [x for x in sys.argv[1:] if not x.startswith("--")]
    if len(args) != 1:
        raise SystemExit(__doc__)
    build = args[0]
    for p in (PROMETHEUS, NODE_EXPORTER, os.path.join(build, "server", "ember")):
        if not os.path.exists(p):
            raise SystemExit("missing " + p)
    work = tempfile.mkdtemp(prefix="scrape_compare.")
    targets = Targets(2, make_pki(work))
    A_ADDR, B_ADDR, tls_addr = targets.addrs
    node_port = free_port()
    node = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % node_port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers = []
    total = 0
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        cfg = os.path.join(work, "prometheus.yml")
        write_sd(work, 0)
        with open(cfg, "w") as f:
            f.write(config(A_ADDR, B_ADDR, "127.0.0.1:%d" % node_port, closed, work, 1,
                           tls_addr))
        servers = start_servers(build, cfg, work)
        print("ember :%d, prometheus :%d, targets %s, node :%d; work dir %s" %
              (servers[0].port, servers[1].port, " ".join(targets.addrs), node_port, work),
              flush=True)
        settle(servers, SETTLE_S)
        total += compare(servers[0], servers[1], 1)

        write_sd(work, 1)  # picked up by watching the directory (or the 5 s refresh)
        PHASE[0] = 2
        settle(servers, 7)
        total += compare(servers[0], servers[1], 2)

        with open(cfg, "w") as f:
            f.write(config(A_ADDR, B_ADDR, "127.0.0.1:%d" % node_port, closed, work, 2,
                           tls_addr))
        servers[0].proc.send_signal(signal.SIGHUP)
        status, body = servers[1].request("POST", "/-/reload")
        if status != 200:
            raise SystemExit("prometheus reload: %d %s" % (status, body[:200]))
        time.sleep(1)
        settle(servers, SETTLE_S)
        total += compare(servers[0], servers[1], 3)
        print("\ntotal: %d real differences over 3 phases" % total)
    finally:
        for s in servers:
            s.stop()
        node.terminate()
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
        targets.stop()
        if "--keep" in sys.argv:
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
