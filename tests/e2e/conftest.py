"""tests/e2e/conftest.py — start the real ember binary (and real peers) on free loopback ports.
Every wait is bounded in time; every process started is stopped at the end of its test."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMBER_BIN = os.environ.get("EMBER_BIN", str(ROOT / "build" / "server" / "ember"))
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def http(method, url, data=None, headers=None, timeout=5):
    """Returns (status, headers, body bytes) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def stop_process(proc):
    """SIGTERM, then SIGKILL after 5 s: a peer started by a fixture never outlives its test."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class Ember:
    def __init__(self, tmp, config=None, extra=()):
        """config: prometheus.yml text; "{self_port}" in it becomes ember's own port."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data = tmp / "data"
        args = [EMBER_BIN, f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.data}", *extra]
        if config is not None:
            cfg = tmp / "prometheus.yml"
            cfg.write_text(config.replace("{self_port}", str(self.port)))
            args.append(f"--config.file={cfg}")
        self.log = open(tmp / "ember.log", "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self.ready, 10, what="ember /-/ready")

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"ember exited with {self.proc.returncode}: {self.logs()}")
        return http("GET", self.base + "/-/ready", timeout=1)[0] == 200

    def logs(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def get(self, path, **params):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return http("GET", url)

    def query(self, q, method="GET", **params):
        params["query"] = q
        if method == "POST":
            body = urllib.parse.urlencode(params).encode()
            status, _, raw = http("POST", self.base + "/api/v1/query", data=body,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        else:
            status, _, raw = self.get("/api/v1/query", **params)
        return status, json.loads(raw)

    def stop(self):
        """SIGTERM and wait; returns the exit code (0 means a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("ember did not stop within 15s of SIGTERM")
        return self.proc.returncode


@pytest.fixture
def start_ember(tmp_path):
    started = []

    def start(config=None, extra=()):
        e = Ember(tmp_path, config, extra)
        started.append(e)
        return e

    yield start
    for e in started:
        if e.proc.poll() is None:
            e.proc.kill()
            e.proc.wait(timeout=5)
        e.log.close()


@pytest.fixture
def node_exporter():
    """Debian's prometheus-node-exporter on a free loopback port; yields its host:port."""
    if not os.path.exists(NODE_EXPORTER):
        pytest.fail("prometheus-node-exporter is not installed (tools/dev.sh installs it)")
    port = free_port()
    proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/metrics", timeout=2)[0] == 200,
                 10, what="node exporter")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(proc)


ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


@pytest.fixture
def alertmanager(tmp_path):
    """Debian's prometheus-alertmanager on a free loopback port with its own storage and no
    clustering; yields its base URL."""
    if not os.path.exists(ALERTMANAGER):
        pytest.fail("prometheus-alertmanager is not installed (tools/dev.sh installs it)")
    port = free_port()
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text("route:\n  receiver: none\n  group_wait: 1s\n  group_interval: 1s\n"
                   "receivers:\n  - name: none\n")
    store = tmp_path / "am-data"
    store.mkdir()
    log = open(tmp_path / "alertmanager.log", "w")
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={store}",
                             f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http("GET", base + "/-/ready", timeout=2)[0] == 200, 20,
                 what="alertmanager /-/ready")
        yield base
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def free_port_():
    """A loopback port nothing listens on (a target that is down)."""
    return free_port()
