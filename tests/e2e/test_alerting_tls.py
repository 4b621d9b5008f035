"""tests/e2e/test_alerting_tls.py — alerts to Debian's prometheus-alertmanager over https: the
Alertmanager serves TLS and basic auth from a --web.config.file with a self-signed certificate
made here by the openssl CLI; ember reaches it with that certificate as tls_config.ca_file, while
a second alertmanagers entry with the wrong CA fails with Go's x509 wording, counted per
Alertmanager in prometheus_notifications_errors_total, and rule evaluation goes on. A recording
stand-in shows bearer_token_file and authorization credentials_file headers."""
import base64
import http.server
import json
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from conftest import ALERTMANAGER, free_port, stop_process, wait_for
from test_rules import start_refused

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"


def self_signed(d, name):
    """A self-signed EC certificate for 127.0.0.1 and localhost: its own CA."""
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(crt),
                    "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


def bcrypt_hash(user, password):
    if not shutil.which("htpasswd"):
        pytest.fail("htpasswd is missing (apache2-utils; tools/dev.sh installs it)")
    out = subprocess.run([HTPASSWD, "-nbBC", "4", user, password], check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    return out.split(":", 1)[1]


def https_get(url, cafile, auth):
    ctx = ssl.create_default_context(cafile=str(cafile))
    req = urllib.request.Request(url, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


@pytest.fixture
def tls_alertmanager(tmp_path):
    """Alertmanager on https://127.0.0.1:<port> requiring basic auth am:s3cret; yields
    (base URL, its certificate, the Authorization value)."""
    crt, key = self_signed(tmp_path, "alertmanager")
    web = tmp_path / "am-web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
                   f"basic_auth_users:\n  am: '{bcrypt_hash('am', 's3cret')}'\n")
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text("route:\n  receiver: none\n  group_wait: 1s\n  group_interval: 1s\n"
                   "receivers:\n  - name: none\n")
    store = tmp_path / "am-data"
    store.mkdir()
    port = free_port()
    log = open(tmp_path / "alertmanager.log", "w")
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={store}",
                             f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
                             "--cluster.listen-address="],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    auth = "Basic " + base64.b64encode(b"am:s3cret").decode()
    try:
        wait_for(lambda: https_get(base + "/-/ready", crt, auth)[0] == 200, 20,
                 what="alertmanager /-/ready over https")
        yield base, crt, auth
    finally:
        stop_process(proc)
        log.close()


def with_rules(tmp_path, rules):
    """Writes a one-second group "tls" of rules; returns the config up to its alertmanagers
    list, which the caller appends."""
    (tmp_path / "rules.yml").write_text("groups:\n  - name: tls\n    interval: 1s\n"
                                        "    rules:" + rules)
    return ("global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n"
            "alerting:\n  alertmanagers:")


def always(name):
    """An alerting rule that fires at once, for with_rules."""
    return f"\n      - alert: {name}\n        expr: vector(1)\n"


def am_alerts(am, name):
    """Alerts named name that the https Alertmanager (the fixture's triple) holds."""
    base, crt, auth = am
    status, body = https_get(base + "/api/v2/alerts", crt, auth)
    assert status == 200, body
    return [a for a in json.loads(body) if a["labels"].get("alertname") == name]


def metrics(ember):
    status, _, raw = ember.get("/metrics")
    assert status == 200
    return raw.decode().splitlines()


def sample(lines, prefix):
    got = [float(ln.rsplit(" ", 1)[1]) for ln in lines if ln.startswith(prefix + " ")]
    return got[0] if got else None


def test_alerts_reach_alertmanager_over_https_and_a_wrong_ca_is_reported(tmp_path, start_ember,
                                                                          tls_alertmanager):
    base, crt, auth = tls_alertmanager
    port = base.rsplit(":", 1)[1]
    wrong_ca, _ = self_signed(tmp_path, "wrong-ca")
    (tmp_path / "am-password").write_text("s3cret\n")
    cfg = with_rules(tmp_path, """
      - alert: OverHttps
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: "sent over TLS"}
      - record: evaluations:tick
        expr: vector(time())
""") + f"""
    - scheme: https
      tls_config: {{ca_file: {crt}}}
      basic_auth: {{username: am, password_file: am-password}}
      static_configs: [{{targets: ['127.0.0.1:{port}']}}]
    - scheme: https
      tls_config: {{ca_file: {wrong_ca}}}
      basic_auth: {{username: am, password: s3cret}}
      static_configs: [{{targets: ['localhost:{port}']}}]
"""
    ember = start_ember(cfg, extra=["--rules.alert.resend-delay=1s"])
    good = f"https://127.0.0.1:{port}/api/v2/alerts"
    bad = f"https://localhost:{port}/api/v2/alerts"
    status, _, raw = ember.get("/api/v1/alertmanagers")
    assert status == 200
    assert json.loads(raw)["data"]["activeAlertmanagers"] == [{"url": good}, {"url": bad}]

    got = wait_for(lambda: am_alerts(tls_alertmanager, "OverHttps"), 15,
                   what="the alert in Alertmanager over https")
    assert got[0]["labels"] == {"alertname": "OverHttps", "severity": "page"}
    assert got[0]["annotations"] == {"summary": "sent over TLS"}

    # The wrong CA: every POST to it fails, counted per Alertmanager; the good one has no errors.
    def errors_counted():
        lines = metrics(ember)
        n = sample(lines, f'prometheus_notifications_errors_total{{alertmanager="{bad}"}}')
        return lines if n and n >= 2 else None
    lines = wait_for(errors_counted, 15, what="errors counted for the wrong CA")
    assert sample(lines, f'prometheus_notifications_errors_total{{alertmanager="{good}"}}') == 0
    assert sample(lines, f'prometheus_notifications_sent_total{{alertmanager="{good}"}}') >= 1
    assert sample(lines, f'prometheus_notifications_latency_seconds_count{{alertmanager="{good}"}}') >= 1
    assert sample(lines, "prometheus_notifications_alertmanagers_discovered") == 2
    # A batch the good Alertmanager took is not dropped because the other one failed.
    assert sample(lines, "prometheus_notifications_dropped_total") == 0
    log = ember.logs()
    assert "x509: certificate signed by unknown authority" in log, log
    assert f"alertmanager={bad}" in log
    # Evaluation keeps its one-second schedule while the failing handshakes go on.
    def ticks():
        status, body = ember.query("count_over_time(evaluations:tick[5s])")
        return float(body["data"]["result"][0]["value"][1]) >= 4
    wait_for(ticks, 10, what="four evaluations in five seconds")
    status, _, raw = ember.get("/api/v1/rules")
    rules = json.loads(raw)["data"]["groups"][0]["rules"]
    assert all(r["health"] == "ok" for r in rules), rules
    assert ember.stop() == 0


def test_https_alertmanager_without_the_ca_is_refused_by_name(tmp_path, start_ember,
                                                              tls_alertmanager):
    """No ca_file: the system bundle is used, which does not hold the self-signed certificate;
    insecure_skip_verify gets through (and basic auth still applies). Prometheus refuses
    authorization type Basic, so basic_auth it is."""
    base, crt, auth = tls_alertmanager
    port = base.rsplit(":", 1)[1]
    cfg = with_rules(tmp_path, always("Insecure")) + f"""
    - scheme: https
      static_configs: [{{targets: ['localhost:{port}']}}]
    - scheme: https
      tls_config: {{insecure_skip_verify: true}}
      basic_auth: {{username: am, password: s3cret}}
      static_configs: [{{targets: ['127.0.0.1:{port}']}}]
"""
    ember = start_ember(cfg, extra=["--rules.alert.resend-delay=1s"])

    wait_for(lambda: am_alerts(tls_alertmanager, "Insecure"), 15,
             what="the alert through insecure_skip_verify")
    wait_for(lambda: "x509: certificate signed by unknown authority" in ember.logs(), 10,
             what="the system bundle refusing the self-signed certificate")
    assert ember.stop() == 0


class Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in Alertmanager that records the Authorization header and client port of each
    POST (the real one checks only basic auth); HTTP/1.1 with keep-alive, as Go's server."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.seen.append((self.path, self.headers.get("Authorization"), json.loads(body)))
        self.server.ports.append(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def recorder(ctx=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.seen, srv.ports = [], []
    if ctx:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_bearer_token_file_and_authorization_credentials_file(tmp_path, start_ember):
    crt, key = self_signed(tmp_path, "recorder")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    plain, tls = recorder(), recorder(ctx)
    try:
        (tmp_path / "token").write_text("plain-token\n")
        (tmp_path / "credentials").write_text("  tls-secret \n")
        cfg = with_rules(tmp_path, always("WithAuth")) + f"""
    - bearer_token_file: token
      static_configs: [{{targets: ['127.0.0.1:{plain.server_port}']}}]
    - scheme: https
      path_prefix: /am
      tls_config: {{ca_file: {crt}, server_name: localhost}}
      authorization: {{type: Token, credentials_file: credentials}}
      static_configs: [{{targets: ['127.0.0.1:{tls.server_port}']}}]
"""
        ember = start_ember(cfg, extra=["--rules.alert.resend-delay=1s"])
        wait_for(lambda: plain.seen and len(tls.seen) >= 3, 15,
                 what="a POST at both Alertmanagers, three at the https one")
        path, auth, alerts = plain.seen[0]
        assert (path, auth) == ("/api/v2/alerts", "Bearer plain-token")
        assert alerts[0]["labels"]["alertname"] == "WithAuth"
        path, auth, alerts = tls.seen[0]
        assert (path, auth) == ("/am/api/v2/alerts", "Token tls-secret")
        assert alerts[0]["labels"]["alertname"] == "WithAuth"
        # The connection is kept alive between batches: one TLS handshake, not one per POST.
        assert len(set(tls.ports)) == 1, tls.ports
        assert ember.stop() == 0
    finally:
        for srv in (plain, tls):
            srv.shutdown()
            srv.server_close()


def test_refused_alertmanager_config_names_the_problem(tmp_path):
    """Prometheus' checks of the shared HTTP client keys, at start: one readable log line."""
    line = start_refused(tmp_path, "alerting:\n  alertmanagers:\n"
                         "    - authorization: {type: basic, credentials: x}\n"
                         "      static_configs: [{targets: ['127.0.0.1:9093']}]\n",
                         "error loading config")
    assert ('prometheus.yml:3:7: alertmanager_config: authorization type cannot be set to '
            '\\"basic\\", use \\"basic_auth\\" instead"') in line, line
