"""tests/e2e/test_scrape_client.py — the scrape client against real loopback targets: https with a
CA made here by the openssl CLI (verified, refused without the CA, insecure_skip_verify, client
certificates), basic auth and bearer tokens checked by the target, redirects, gzip and identity
encoding, and the per-scrape limits (body_size_limit, sample_limit, label limits, target_limit):
a scrape past a limit stores nothing and reports up == 0 with Prometheus' error text, which ember
logs at debug level and /api/v1/targets shows as lastError."""
import base64
import gzip
import http.server
import json
import ssl
import subprocess
import threading

import pytest

from conftest import wait_for

METRICS = "".join(f'client_test_metric{{n="{i}"}} {i}\n' for i in range(20))


class Target(http.server.BaseHTTPRequestHandler):
    """Paths: /metrics, /basic (user:pass), /bearer (Bearer tok), /redirect → /metrics,
    /redirect-loop → itself, /enc (says which Accept-Encoding it got; gzip when asked),
    /labels (a series with long and many labels)."""

    def log_message(self, *args):
        pass

    def send_text(self, body, code=200, headers=()):
        raw = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        path = self.path.split("?")[0]
        if path == "/metrics":
            self.send_text(METRICS)
        elif path == "/basic":
            want = "Basic " + base64.b64encode(b"alice:s3cret").decode()
            self.send_text(METRICS if auth == want else "denied\n", 200 if auth == want else 401)
        elif path == "/bearer":
            ok = auth == "Bearer tok-123"
            self.send_text(METRICS if ok else "denied\n", 200 if ok else 401)
        elif path == "/custom-auth":
            ok = auth == "Token from-file"
            self.send_text(METRICS if ok else "denied\n", 200 if ok else 401)
        elif path == "/redirect":
            self.send_text("", 302, [("Location", "/metrics")])
        elif path == "/redirect-loop":
            self.send_text("", 302, [("Location", "/redirect-loop")])
        elif path == "/enc":
            asked = self.headers.get("Accept-Encoding", "")
            body = f'client_test_encoding{{asked="{asked}"}} 1\n' + METRICS
            if "gzip" in asked:
                raw = gzip.compress(body.encode())
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            else:
                self.send_text(body)
        elif path == "/labels":
            self.send_text('client_test_labels{a="1",b="2",c="3",d="4",'
                           'long_label_name_here="x",v="' + "v" * 40 + '"} 1\n')
        else:
            self.send_text("not found\n", 404)


class Server:
    def __init__(self, ctx=None):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
        if ctx is not None:
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.addr = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by
    the CA, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=ember test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, ext in (("server", ["-extfile", "server.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
    return d


@pytest.fixture
def plain_target():
    s = Server()
    yield s.addr
    s.close()


def tls_server(pki, require_client_cert=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.crt", pki / "server.key")
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki / "ca.crt")
    return Server(ctx)


@pytest.fixture
def tls_target(pki):
    s = tls_server(pki)
    yield s.addr
    s.close()


def values(e, q):
    status, doc = e.query(q)
    assert status == 200 and doc["status"] == "success", doc
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in doc["data"]["result"]}


def up(e, job):
    v = values(e, f'up{{job="{job}"}}')
    return list(v.values())[0] if v else None


def wait_up(e, job, want):
    wait_for(lambda: up(e, job) == want, 20, interval=0.25, what=f"up{{job={job}}} == {want}")


def count(e, q):
    return len(values(e, q))


def last_errors(e):
    status, _, raw = e.get("/api/v1/targets")
    assert status == 200, raw
    return [t["lastError"] for t in json.loads(raw)["data"]["activeTargets"]]


def wait_log(e, text):
    """The error is in the debug log and in the target's lastError (/api/v1/targets)."""
    wait_for(lambda: text in e.logs(), 20, interval=0.25, what=f"log line with {text!r}")
    wait_for(lambda: any(text in err for err in last_errors(e)), 20, interval=0.25,
             what=f"lastError with {text!r}")


def job(name, target, extra="", path="/metrics"):
    lines = "\n".join("    " + line for line in extra.strip("\n").splitlines())
    return (f"  - job_name: {name}\n    metrics_path: {path}\n{lines}\n"
            f"    static_configs:\n      - targets: ['{target}']\n")


def config(*jobs):
    return "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n" + "".join(jobs)


DEBUG = ("--log.level=debug",)


def test_https_with_ca_file_and_client_certificate(start_ember, pki, tls_target):
    mtls = tls_server(pki, require_client_cert=True)
    try:
        cfg = config(
            job("ca", tls_target, f"scheme: https\ntls_config:\n  ca_file: {pki}/ca.crt"),
            job("sni", tls_target.replace("127.0.0.1", "localhost"),
                f"scheme: https\ntls_config:\n  ca_file: {pki}/ca.crt\n  server_name: localhost"),
            job("mtls", mtls.addr,
                f"scheme: https\ntls_config:\n  ca_file: {pki}/ca.crt\n"
                f"  cert_file: {pki}/client.crt\n  key_file: {pki}/client.key"),
            job("insecure", tls_target, "scheme: https\ntls_config:\n  insecure_skip_verify: true"))
        e = start_ember(cfg)
        for name in ("ca", "sni", "mtls", "insecure"):
            wait_up(e, name, 1)
            assert count(e, f'client_test_metric{{job="{name}"}}') == 20
    finally:
        mtls.close()


def test_https_without_the_ca_fails_verification(start_ember, tls_target):
    e = start_ember(config(job("noca", tls_target, "scheme: https")), extra=DEBUG)
    wait_up(e, "noca", 0)
    wait_log(e, "x509: certificate signed by unknown authority")
    assert count(e, 'client_test_metric{job="noca"}') == 0


def test_https_wrong_server_name_fails(start_ember, pki, tls_target):
    """Go's texts: the certificate's DNS names for a name, its IP SANs for an address."""
    e = start_ember(config(*(job(name, tls_target, f"scheme: https\ntls_config:\n"
                                                   f"  ca_file: {pki}/ca.crt\n"
                                                   f"  server_name: {server_name}")
                             for name, server_name in (("badname", "other.example"),
                                                       ("badip", "10.0.0.1")))),
                    extra=DEBUG)
    wait_up(e, "badname", 0)
    wait_up(e, "badip", 0)
    texts = ("x509: certificate is valid for localhost, not other.example",
             "x509: certificate is valid for 127.0.0.1, not 10.0.0.1")
    for text in texts:
        wait_for(lambda: any(text in err for err in last_errors(e)), 20, interval=0.25,
                 what=f"lastError with {text!r}")
    # "scrape failed" is logged at most once per 5 s over all targets, so of two jobs failing
    # together the log may only ever show one.
    wait_for(lambda: any(text in e.logs() for text in texts), 20, interval=0.25,
             what="a log line with either text")


def test_mtls_without_client_certificate_fails(start_ember, pki):
    mtls = tls_server(pki, require_client_cert=True)
    try:
        e = start_ember(config(job("nocert", mtls.addr,
                                   f"scheme: https\ntls_config:\n  ca_file: {pki}/ca.crt")))
        wait_up(e, "nocert", 0)
        assert count(e, 'client_test_metric{job="nocert"}') == 0
    finally:
        mtls.close()


def test_basic_auth_bearer_and_authorization(start_ember, plain_target, tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "cred").write_text("  from-file \n")
    cfg = config(
        job("basic", plain_target, "basic_auth:\n  username: alice\n  password: s3cret",
            path="/basic"),
        job("basicfile", plain_target, "basic_auth:\n  username: alice\n  password_file: pw",
            path="/basic"),
        job("bearer", plain_target, "bearer_token: tok-123", path="/bearer"),
        job("authz", plain_target, "authorization:\n  credentials: tok-123", path="/bearer"),
        job("authzfile", plain_target,
            "authorization:\n  type: Token\n  credentials_file: cred", path="/custom-auth"),
        job("wrong", plain_target, "basic_auth:\n  username: alice\n  password: nope",
            path="/basic"))
    e = start_ember(cfg, extra=DEBUG)
    for name in ("basic", "basicfile", "bearer", "authz", "authzfile"):
        wait_up(e, name, 1)
        assert count(e, f'client_test_metric{{job="{name}"}}') == 20
    wait_up(e, "wrong", 0)
    wait_log(e, "server returned HTTP status 401 Unauthorized")


def test_auth_config_errors_as_prometheus_words_them(start_ember, tmp_path, plain_target):
    cfg = config(job("both", plain_target,
                     "basic_auth:\n  username: a\n  password: b\nbearer_token: c"))
    path = tmp_path / "bad.yml"
    path.write_text(cfg)
    from conftest import EMBER_BIN
    out = subprocess.run([EMBER_BIN, f"--config.file={path}", "--web.listen-address=127.0.0.1:0",
                          f"--storage.tsdb.path={tmp_path}/d"], capture_output=True, text=True,
                         timeout=20)
    assert out.returncode != 0
    assert ("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
            "configured") in out.stdout + out.stderr


def test_redirects_followed_bounded_or_refused(start_ember, plain_target):
    cfg = config(job("redir", plain_target, path="/redirect"),
                 job("noredir", plain_target, "follow_redirects: false", path="/redirect"))
    e = start_ember(cfg)
    wait_up(e, "redir", 1)
    assert count(e, 'client_test_metric{job="redir"}') == 20
    wait_up(e, "noredir", 0)
    assert count(e, 'client_test_metric{job="noredir"}') == 0


def test_redirect_loop_stops_after_ten(start_ember, plain_target):
    e = start_ember(config(job("loop", plain_target, path="/redirect-loop")), extra=DEBUG)
    wait_up(e, "loop", 0)
    wait_log(e, "stopped after 10 redirects")


def test_gzip_by_default_identity_when_disabled(start_ember, plain_target):
    cfg = config(job("gz", plain_target, path="/enc"),
                 job("plain", plain_target, "enable_compression: false", path="/enc"))
    e = start_ember(cfg)
    wait_up(e, "gz", 1)
    wait_up(e, "plain", 1)
    assert list(values(e, 'client_test_encoding{job="gz"}'))[0] == \
        (("__name__", "client_test_encoding"), ("asked", "gzip"), ("instance", plain_target),
         ("job", "gz"))
    assert dict(list(values(e, 'client_test_encoding{job="plain"}'))[0])["asked"] == "identity"


# The last column: scrape_samples_scraped and ..._post_metric_relabeling of a failed scrape,
# which Prometheus reports as read up to the failure (all 20 samples kept for sample_limit).
@pytest.mark.parametrize("limit, path, text, counts", [
    ("body_size_limit: 100B", "/metrics", "body size limit exceeded", (0, 0)),
    ("sample_limit: 10", "/metrics", "sample limit exceeded", (20, 20)),
    ("label_limit: 5", "/labels",
     "label_limit exceeded (metric: client_test_labels, number of labels: 9, limit: 5)", (1, 0)),
    ("label_name_length_limit: 10", "/labels",
     "label_name_length_limit exceeded (metric: client_test_labels, label name: "
     "long_label_name_here, length: 20, limit: 10)", (1, 0)),
    ("label_value_length_limit: 30", "/labels",
     "label_value_length_limit exceeded (metric: client_test_labels, label name: v, value: ",
     (1, 0)),
])
def test_limits_fail_the_whole_scrape(start_ember, plain_target, limit, path, text, counts):
    cfg = config(job("limited", plain_target, limit, path=path),
                 job("free", plain_target, path=path))
    e = start_ember(cfg, extra=DEBUG)
    wait_up(e, "free", 1)  # the same body without the limit is fine
    wait_up(e, "limited", 0)
    wait_log(e, text)
    name = "client_test_labels" if path == "/labels" else "client_test_metric"
    assert count(e, f'{name}{{job="limited"}}') == 0
    assert count(e, f'{name}{{job="free"}}') >= 1
    assert [list(values(e, f'{m}{{job="limited"}}').values()) for m in
            ("scrape_samples_scraped", "scrape_samples_post_metric_relabeling")] == \
        [[counts[0]], [counts[1]]]


def test_limits_not_reached_scrape_normally(start_ember, plain_target):
    cfg = config(job("roomy", plain_target,
                     "body_size_limit: 1MB\nsample_limit: 20\nlabel_limit: 10\n"
                     "label_name_length_limit: 20\nlabel_value_length_limit: 40",
                     path="/metrics"))
    e = start_ember(cfg)
    wait_up(e, "roomy", 1)
    assert count(e, 'client_test_metric{job="roomy"}') == 20


def test_target_limit_fails_every_target_of_the_job(start_ember, plain_target, tls_target):
    cfg = ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
           "  - job_name: many\n    target_limit: 1\n    static_configs:\n"
           f"      - targets: ['{plain_target}', 'localhost:{plain_target.split(':')[1]}']\n")
    e = start_ember(cfg, extra=DEBUG)
    wait_for(lambda: sorted(values(e, 'up{job="many"}').values()) == [0.0, 0.0], 20,
             interval=0.25, what="both targets down")
    wait_log(e, "target_limit exceeded (number of targets: 2, limit: 1)")
    assert count(e, 'client_test_metric{job="many"}') == 0
