"""tests/e2e/test_web_spin.py — the event loop's short poll after each response
(--web.spin-microseconds, server/http.c on_spin): requests on one keep-alive connection are
answered with it on and off, and once the requests stop the loop goes back to sleep (a loop that
kept spinning would burn a whole core, which the process's CPU time shows at once)."""
import http.client
import json
import os
import subprocess
import time

from conftest import EMBER_BIN

NO_SCRAPES = "scrape_configs: []\n"


def cpu_seconds(pid):
    """utime + stime of every thread of the process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keepalive_queries(e, n):
    """n instant queries on one connection; returns their statuses and the last body."""
    conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=5)
    statuses, body = [], b""
    try:
        for _ in range(n):
            conn.request("GET", "/api/v1/query?query=vector(1)")
            r = conn.getresponse()
            body = r.read()
            statuses.append(r.status)
    finally:
        conn.close()
    return statuses, body


def flag_value(e, name):
    status, _, raw = e.get("/api/v1/status/flags")
    assert status == 200
    return json.loads(raw)["data"][name]


def test_the_loop_sleeps_again_once_requests_stop(start_ember):
    e = start_ember(NO_SCRAPES)
    assert flag_value(e, "web.spin-microseconds") == "50"
    statuses, body = keepalive_queries(e, 300)
    assert statuses == [200] * 300
    assert json.loads(body)["data"]["result"][0]["value"][1] == "1"
    time.sleep(0.2)  # let the last responses' spins (50 µs each) and any deferred work end
    before = cpu_seconds(e.proc.pid)
    time.sleep(2.0)
    used = cpu_seconds(e.proc.pid) - before
    # An idle ember with nothing to scrape uses next to no CPU; a loop left spinning would use
    # about 2 s here. 0.3 s leaves room for a slow sanitizer build's timers.
    assert used < 0.3, f"ember used {used:.2f}s of CPU in 2s of idleness: the loop kept spinning"


def test_spin_can_be_turned_off(start_ember):
    e = start_ember(NO_SCRAPES, extra=["--web.spin-microseconds=0"])
    assert flag_value(e, "web.spin-microseconds") == "0"
    statuses, body = keepalive_queries(e, 50)
    assert statuses == [200] * 50
    assert json.loads(body)["data"]["result"][0]["value"][1] == "1"


def test_a_bad_spin_value_is_refused_at_start(tmp_path):
    r = subprocess.run([EMBER_BIN, "--web.spin-microseconds=200000",
                        f"--storage.tsdb.path={tmp_path}/d"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0
    assert "web.spin-microseconds" in r.stderr + r.stdout
