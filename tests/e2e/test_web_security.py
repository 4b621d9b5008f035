"""tests/e2e/test_web_security.py — the real binary with --web.config.file (basic auth with bcrypt
hashes from htpasswd, TLS with certificates from the openssl CLI, client certificates), CORS, every
HTTP limit with its 4xx (a slowloris client included), keep-alive, pipelining and many connections.
Every socket has a timeout; every process started is stopped."""
import base64
import http.client as hc
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import EMBER_BIN, Ember, free_port, http, wait_for

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"


def bcrypt_hash(user, password, cost=10):
    if not shutil.which("htpasswd"):
        pytest.fail("htpasswd is missing (apache2-utils; tools/dev.sh installs it)")
    out = subprocess.run([HTPASSWD, "-nbBC", str(cost), user, password], check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    return out.split(":", 1)[1]


def openssl(*args):
    subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=60)


def make_cert(d, name, ca=None, san=None):
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    if ca is None:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", f"/CN={name}")
        return crt, key
    csr = d / f"{name}.csr"
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}")
    args = ["x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-out", str(crt), "-days", "2"]
    if san:
        ext = d / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        args += ["-extfile", str(ext)]
    openssl(*args)
    return crt, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("openssl is missing (tools/dev.sh installs it)")
    d = tmp_path_factory.mktemp("pki")
    ca = make_cert(d, "ca")
    other_ca = make_cert(d, "other-ca")
    return {
        "ca": ca[0],
        "server": make_cert(d, "server", ca, "IP:127.0.0.1"),
        "client": make_cert(d, "client", ca),
        "stranger": make_cert(d, "stranger", other_ca),
    }


class Server(Ember):
    """ember with a web config; ready once the log says so (TLS and auth make /-/ready unusable
    for conftest's check)."""

    def __init__(self, tmp, web_config=None, extra=()):
        if web_config is not None:
            path = tmp / "web.yml"
            path.write_text(web_config)
            extra = [*extra, f"--web.config.file={path}"]
        super().__init__(tmp, None, extra)

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"ember exited with {self.proc.returncode}: {self.logs()}")
        return "ready to receive web requests" in self.logs()


@pytest.fixture
def server(tmp_path):
    started = []

    def start(web_config=None, extra=()):
        s = Server(tmp_path, web_config, extra)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0, s.logs()
        s.log.close()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def raw_exchange(port, data, timeout=5, until_close=True):
    """Sends bytes, returns everything read until the server closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_all(s, timeout)


def read_all(s, timeout):
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


# --- basic auth ---

def test_basic_auth_right_wrong_and_missing_password(server):
    h = bcrypt_hash("admin", "s3cret")
    assert h.startswith("$2y$10$")
    s = server(f"basic_auth_users:\n  admin: '{h}'\n")
    url = f"http://127.0.0.1:{s.port}/api/v1/query?query=1%2B1"
    st, hdrs, body = http("GET", url, headers={"Authorization": basic("admin", "s3cret")})
    assert st == 200 and b'"2"' in body
    for auth in (None, basic("admin", "wrong"), basic("nobody", "s3cret"), "Bearer abc",
                 "Basic !!!", basic("admin", "")):
        st, hdrs, body = http("GET", url, headers={"Authorization": auth} if auth else {})
        assert st == 401, auth
        assert hdrs["WWW-Authenticate"] == "Basic"
        assert body == b"Unauthorized\n"
    # every endpoint is behind auth, as with Prometheus
    assert http("GET", f"http://127.0.0.1:{s.port}/-/healthy")[0] == 401
    assert http("GET", f"http://127.0.0.1:{s.port}/-/healthy",
                headers={"Authorization": basic("admin", "s3cret")})[0] == 200


def test_verified_credentials_are_cached_and_bcrypt_leaves_the_loop_free(server):
    # cost 12: about a quarter second per bcrypt here, so 40 uncached checks would need 10 s
    h = bcrypt_hash("u", "pw", cost=12)
    s = server(f"basic_auth_users:\n  u: {h}\n")
    url = f"http://127.0.0.1:{s.port}/-/healthy"
    auth = {"Authorization": basic("u", "pw")}
    assert http("GET", url, headers=auth, timeout=30)[0] == 200  # one bcrypt, then cached
    conn = hc.HTTPConnection("127.0.0.1", s.port, timeout=10)
    t0 = time.monotonic()
    for _ in range(40):
        conn.request("GET", "/-/healthy", headers=auth)
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    cached = time.monotonic() - t0
    conn.close()
    assert cached < 4, f"40 cached checks took {cached:.1f}s"

    # While wrong passwords keep workers busy with bcrypt, cached requests are answered.
    results = []

    def wrong():
        results.append(http("GET", url, headers={"Authorization": basic("u", "bad")},
                            timeout=30)[0])

    threads = [threading.Thread(target=wrong) for _ in range(4)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    assert http("GET", url, headers=auth, timeout=10)[0] == 200
    during = time.monotonic() - t0
    for t in threads:
        t.join(timeout=60)
    assert results == [401] * 4
    assert during < 2, f"a cached request waited {during:.1f}s behind bcrypt work"


# --- TLS ---

def tls_context(pki, cert=None):
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def tls_get(port, ctx, path="/-/healthy", headers=None):
    conn = hc.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_tls_server(server, pki):
    crt, key = pki["server"]
    s = server(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
               f"  min_version: TLS13\n")
    ctx = tls_context(pki)
    st, body = tls_get(s.port, ctx, "/api/v1/query?query=up")
    assert st == 200 and b'"status":"success"' in body
    # keep-alive over TLS
    conn = hc.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=10)
    for i in range(5):
        conn.request("GET", f"/api/v1/query?query={i}")
        r = conn.getresponse()
        assert r.status == 200 and f'"{i}"'.encode() in r.read()
    conn.close()
    # curl agrees
    out = subprocess.run(["curl", "-sS", "--cacert", str(pki["ca"]), "-o", "/dev/null", "-w",
                          "%{http_code} %{ssl_verify_result}",
                          f"https://127.0.0.1:{s.port}/-/ready"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout == "200 0", out.stderr
    # plain HTTP on the TLS port gets no HTTP answer
    raw = raw_exchange(s.port, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
    assert not raw.startswith(b"HTTP/")
    # a TLS 1.2 client is below min_version
    old = tls_context(pki)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        tls_get(s.port, old)
    # the server is still fine
    assert tls_get(s.port, ctx)[0] == 200


def test_tls_post_and_stalled_handshake(server, pki):
    crt, key = pki["server"]
    s = server(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n",
               extra=["--web.read-timeout=2s"])
    conn = hc.HTTPSConnection("127.0.0.1", s.port, context=tls_context(pki), timeout=10)
    conn.request("POST", "/api/v1/query", body="query=6*7",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    assert r.status == 200 and b'"42"' in r.read()
    conn.close()
    # a client that connects and never finishes its handshake is closed after the header
    # timeout (here the read timeout, 2s), without an HTTP answer
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"\x16\x03\x01")  # the start of a ClientHello record, then nothing
        t0 = time.monotonic()
        got = read_all(c, 8)
        elapsed = time.monotonic() - t0
    assert got == b"" and 1.5 < elapsed < 8


def test_tls_client_certificate_required(server, pki):
    crt, key = pki["server"]
    s = server(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
               f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki['ca']}\n")
    assert tls_get(s.port, tls_context(pki, pki["client"]))[0] == 200
    for cert in (None, pki["stranger"]):
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError,
                            hc.RemoteDisconnected)):
            tls_get(s.port, tls_context(pki, cert))
    assert tls_get(s.port, tls_context(pki, pki["client"]))[0] == 200


def test_tls_and_basic_auth_together(server, pki):
    crt, key = pki["server"]
    h = bcrypt_hash("admin", "pw")
    s = server(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
               f"http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=60\n"
               f"basic_auth_users:\n  admin: {h}\n")
    ctx = tls_context(pki)
    conn = hc.HTTPSConnection("127.0.0.1", s.port, context=ctx, timeout=30)
    conn.request("GET", "/-/healthy")
    r = conn.getresponse()
    r.read()
    assert r.status == 401 and r.getheader("Strict-Transport-Security") == "max-age=60"
    conn.request("GET", "/-/healthy", headers={"Authorization": basic("admin", "pw")})
    r = conn.getresponse()
    r.read()
    assert r.status == 200 and r.getheader("Strict-Transport-Security") == "max-age=60"
    conn.close()


@pytest.mark.parametrize("text,needle", [
    ("tls_server_config:\n  cert_file: a.crt\n", "missing key_file"),
    ("basic_auth_users:\n  admin: plain\n", "must be a bcrypt hash"),
    ("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
     "cert_file /nonexistent.crt"),
    ("tls_server_config:\n  bogus: 1\n", "unknown key 'bogus'"),
])
def test_bad_web_config_refuses_to_start(tmp_path, text, needle):
    path = tmp_path / "web.yml"
    path.write_text(text)
    out = subprocess.run([EMBER_BIN, f"--web.listen-address=127.0.0.1:{free_port()}",
                          f"--storage.tsdb.path={tmp_path / 'data'}",
                          f"--web.config.file={path}"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "error loading web config" in out.stderr + out.stdout
    assert needle in out.stderr + out.stdout
    assert str(path) in out.stderr + out.stdout


# --- CORS ---

def test_cors_default_allows_every_origin(server):
    s = server()
    st, h, _ = http("GET", f"http://127.0.0.1:{s.port}/api/v1/query?query=1",
                    headers={"Origin": "https://grafana.example"})
    assert st == 200
    assert h["Access-Control-Allow-Origin"] == "*"
    assert h["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert h["Access-Control-Allow-Headers"] == "Accept, Authorization, Content-Type, Origin"
    assert h["Access-Control-Expose-Headers"] == "Date"
    assert h["Vary"] == "Origin"
    # no Origin, no CORS headers; nor outside /api/v1
    st, h, _ = http("GET", f"http://127.0.0.1:{s.port}/api/v1/query?query=1")
    assert "Access-Control-Allow-Origin" not in h
    st, h, _ = http("GET", f"http://127.0.0.1:{s.port}/-/healthy", headers={"Origin": "x"})
    assert "Access-Control-Allow-Origin" not in h
    # preflight
    st, h, body = http("OPTIONS", f"http://127.0.0.1:{s.port}/api/v1/query",
                       headers={"Origin": "https://grafana.example",
                                "Access-Control-Request-Method": "POST"})
    assert st == 204 and body == b"" and h["Access-Control-Allow-Origin"] == "*"


def test_cors_origin_regex(server):
    s = server(extra=[r"--web.cors.origin=https://(good|fine)\.example"])
    url = f"http://127.0.0.1:{s.port}/api/v1/query?query=1"
    st, h, _ = http("GET", url, headers={"Origin": "https://good.example"})
    assert st == 200 and h["Access-Control-Allow-Origin"] == "https://good.example"
    # anchored: a prefix or suffix match is not a match
    for origin in ("https://evil.example", "https://good.example.evil", "xhttps://good.example"):
        st, h, _ = http("GET", url, headers={"Origin": origin})
        assert st == 200 and "Access-Control-Allow-Origin" not in h, origin
        assert h["Vary"] == "Origin"


def test_bad_cors_regex_refuses_to_start(tmp_path):
    out = subprocess.run([EMBER_BIN, f"--web.listen-address=127.0.0.1:{free_port()}",
                          f"--storage.tsdb.path={tmp_path / 'data'}", "--web.cors.origin=(("],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "--web.cors.origin" in out.stdout + out.stderr


# --- limits ---

def test_limits_answer_with_their_4xx(server):
    s = server()
    p = s.port
    big_header = b"X-Big: " + b"a" * (70 << 10) + b"\r\n"
    raw = raw_exchange(p, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n" + big_header + b"\r\n")
    assert status_of(raw) == 431 and b"request header fields too large" in raw
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    raw = raw_exchange(p, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(raw) == 431 and b"too many header fields" in raw
    raw = raw_exchange(p, b"GET /api/v1/query?query=" + b"1" * (40 << 10) +
                       b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(raw) == 414
    raw = raw_exchange(p, b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/x-www-form-urlencoded\r\n"
                          b"Content-Length: 20000000\r\n\r\nquery=1")
    assert status_of(raw) == 413 and b"request body too large" in raw
    raw = raw_exchange(p, b"NOT HTTP AT ALL\r\n\r\n")
    assert status_of(raw) == 400
    # and it keeps serving
    assert http("GET", f"http://127.0.0.1:{p}/-/healthy")[0] == 200


def test_slowloris_client_is_cut_off_with_408(server):
    s = server(extra=["--web.read-timeout=2s"])
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        t0 = time.monotonic()
        got = b""
        for ch in b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                c.sendall(bytes([ch]))
            except (BrokenPipeError, ConnectionResetError):
                break
            c.settimeout(0.25)
            try:
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
            except socket.timeout:
                pass
            if time.monotonic() - t0 > 8:
                break
        c.settimeout(5)
        got += read_all(c, 5)
        elapsed = time.monotonic() - t0
    assert status_of(got) == 408, got[:200]
    assert b"timeout reading request headers" in got
    assert 1.5 < elapsed < 8
    # an idle keep-alive connection is closed after the read timeout (Go's IdleTimeout default)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.monotonic()
        first = read_all(c, 6)
        assert status_of(first) == 200
        assert 1.5 < time.monotonic() - t0 < 6  # read_all returned because the server closed


def test_idle_timeout_counts_from_the_last_request(server):
    """The connection timer is re-armed lazily (only for an earlier deadline): requests spread
    over more than the idle timeout keep the connection, and it closes one idle timeout after
    the last of them, not after the first."""
    s = server(extra=["--web.read-timeout=2s"])
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        t_first = time.monotonic()
        for _ in range(5):  # 5 requests 0.8 s apart: 3.2 s > the 2 s idle timeout
            c.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while b"Healthy" not in got:
                chunk = c.recv(4096)
                assert chunk, "closed while requests kept coming"
                got += chunk
            assert status_of(got) == 200
            t_last = time.monotonic()
            time.sleep(0.8)
        assert t_last - t_first > 3
        rest = read_all(c, 6)  # returns when the server closes
        closed_after = time.monotonic() - t_last
    assert rest == b""
    assert 1.5 < closed_after < 4.5, closed_after


def test_max_connections(server):
    s = server(extra=["--web.max-connections=3"])
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(3)]
    try:
        for c in held:  # make sure each is accepted
            c.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        raw = raw_exchange(s.port, b"", timeout=5)
        assert status_of(raw) == 503 and b"too many connections" in raw
    finally:
        for c in held:
            c.close()
    wait_for(lambda: http("GET", f"http://127.0.0.1:{s.port}/-/healthy", timeout=2)[0] == 200,
             5, what="a free connection slot")


# --- keep-alive, pipelining, many connections ---

def test_pipelined_requests_are_answered_in_order(server):
    s = server()
    reqs = b"".join(b"GET /api/v1/query?query=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
                    for i in range(1, 11))
    reqs += b"GET /api/v1/query?query=99 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = raw_exchange(s.port, reqs, timeout=15)
    bodies = [part for part in raw.split(b"HTTP/1.1 ")[1:]]
    assert len(bodies) == 11
    for i, part in zip(list(range(1, 11)) + [99], bodies):
        assert part.startswith(b"200 OK")
        assert b'"%d"]' % i in part, (i, part[-120:])


def test_many_concurrent_connections(server):
    s = server()
    errors, done = [], []

    def client(k):
        try:
            conn = hc.HTTPConnection("127.0.0.1", s.port, timeout=30)
            for i in range(5):
                conn.request("GET", f"/api/v1/query?query={k}%2B{i}")
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or f'"{k + i}"'.encode() not in body:
                    errors.append((k, i, r.status, body[:100]))
            conn.close()
            done.append(k)
        except OSError as e:
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(150)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:5]
    assert len(done) == 150
