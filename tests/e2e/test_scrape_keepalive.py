"""tests/e2e/test_scrape_keepalive.py — ember keeps one connection per target alive between
scrapes, as Prometheus' Go client does: an HTTP/1.1 target sees every scrape arrive on one client
port; a target that closes idle connections (or answers "Connection: close") is re-dialled and
stays up; https connections are reused too; an HTTP/1.0 target gets a connection per scrape; and
ember still shuts down cleanly (exit 0) with idle connections open."""
import http.server
import ssl
import threading

import pytest

from conftest import wait_for
from test_scrape_client import config, job, pki, up, values  # noqa: F401 (pki is a fixture)

BODY = "".join(f'keepalive_metric{{n="{i}"}} {i}\n' for i in range(10)).encode()


class Counting(http.server.BaseHTTPRequestHandler):
    """Answers /metrics and records the client port of every request, per server.
    /drop closes a connection without answering its second request; /close answers with "Connection: close"; the server's idle_close closes the connection after
    each response without saying so first (a server whose idle timeout is shorter than the
    interval)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.served = getattr(self, "served", 0) + 1  # one handler per connection
        if self.path.startswith("/drop") and self.served > 1:
            # The race a kept connection can lose: the server closes it just as the next
            # request arrives, answering nothing.
            self.server.dropped += 1
            self.close_connection = True
            return
        self.server.ports.append(self.client_address[1])
        close = self.path.startswith("/close")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)
        self.wfile.flush()
        if self.server.idle_close:
            self.close_connection = True


class CountingServer:
    def __init__(self, idle_close=False, ctx=None, http10=False):
        handler = Counting
        if http10:
            handler = type("Counting10", (Counting,), {"protocol_version": "HTTP/1.0"})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.ports = []
        self.httpd.dropped = 0
        self.httpd.idle_close = idle_close
        if ctx is not None:
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.addr = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def ports(self):
        return list(self.httpd.ports)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def servers():
    made = []

    def make(**kw):
        s = CountingServer(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def scraped(e, name):
    v = values(e, f'count(keepalive_metric{{job="{name}"}})')
    return list(v.values())[0] if v else 0


def test_one_connection_reused_across_scrapes(start_ember, servers):
    s = servers()
    e = start_ember(config(job("ka", s.addr)))
    wait_for(lambda: len(s.ports) >= 6, 30, interval=0.25, what="six scrapes")
    assert up(e, "ka") == 1
    assert scraped(e, "ka") == 10
    ports = s.ports
    assert len(set(ports)) == 1, ports
    assert e.stop() == 0  # idle connections closed: uv_loop_close() succeeded


@pytest.mark.parametrize("kind", ["idle_close", "connection_close", "http10"])
def test_closed_connections_are_redialled(start_ember, servers, kind):
    s = servers(idle_close=kind == "idle_close", http10=kind == "http10")
    path = "/close" if kind == "connection_close" else "/metrics"
    e = start_ember(config(job("cl", s.addr, path=path)))
    wait_for(lambda: len(s.ports) >= 5, 30, interval=0.25, what="five scrapes")
    ports = s.ports
    assert len(set(ports)) == len(ports), ports  # a fresh connection every time
    wait_for(lambda: up(e, "cl") == 1, 10, interval=0.25, what="up == 1")
    assert scraped(e, "cl") == 10
    assert e.stop() == 0


def test_https_connection_reused(start_ember, servers, pki, tmp_path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.crt", pki / "server.key")
    s = servers(ctx=ctx)
    extra = f"scheme: https\ntls_config:\n  ca_file: {pki / 'ca.crt'}\n"
    e = start_ember(config(job("tls", s.addr, extra)))
    wait_for(lambda: len(s.ports) >= 5, 30, interval=0.25, what="five scrapes")
    assert up(e, "tls") == 1
    assert scraped(e, "tls") == 10
    ports = s.ports
    assert len(set(ports)) == 1, ports
    assert e.stop() == 0


def test_request_lost_on_a_kept_connection_is_retried(start_ember, servers):
    s = servers()
    e = start_ember(config(job("drop", s.addr, path="/drop")))
    wait_for(lambda: s.httpd.dropped >= 4, 30, interval=0.25, what="four dropped requests")
    # Every dropped request went again on a fresh connection: no scrape failed.
    v = values(e, 'min_over_time(up{job="drop"}[1m])')
    assert list(v.values()) == [1.0], v
    assert scraped(e, "drop") == 10
    assert e.stop() == 0
