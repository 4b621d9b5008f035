"""tests/e2e/test_scrape_parity.py — scrape behaviours where bench/scrape_compare.py found ember
differing from Prometheus 2.42, pinned to Prometheus' behaviour: the report series' counts for
a failed scrape and for repeated series, honor_labels with a scraped empty label, stale markers
for up and scrape_* of a target that goes away, and lastError worded as Go's client words it."""
import http.server
import json
import os
import re
import signal
import socket
import threading
import time

import pytest

from conftest import wait_for
from test_scrape_malformed import raw_target  # noqa: F401 (a fixture)

PAGES = {
    "/bad": "parity_ok 1\nparity_bad{a=\"1\" 2\nparity_after 3\n",
    "/dup": "parity_dup 1\nparity_dup 2\nparity_single 3\n",
    "/many": "".join('parity_many{i="%d"} %d\n' % (i, i) for i in range(20)),
    "/conflict": 'parity_conflict{job="",team="red"} 2\nparity_conflict{job="mine"} 3\n',
    "/slow": "parity_slow 1\n",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(1.5)  # past the job's 1 s timeout
        body = PAGES.get(path, "").encode()
        try:
            self.send_response(200 if path in PAGES else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the scraper gave up (timeout)


class Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def target():
    srv = Quiet(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def job(name, addr, path, extra=""):
    return (f"  - job_name: {name}\n    metrics_path: {path}\n{extra}"
            f"    static_configs: [{{targets: ['{addr}']}}]\n")


def config(*jobs):
    return "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n" + "".join(jobs)


def vector(e, q):
    status, doc = e.query(q)
    assert status == 200 and doc["status"] == "success", doc
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in doc["data"]["result"]}


def one(e, q):
    v = vector(e, q)
    return list(v.values())[0] if len(v) == 1 else None


def report(e, job_name):
    """(up, scrape_samples_scraped, scrape_samples_post_metric_relabeling) of one target."""
    return tuple(one(e, f'{m}{{job="{job_name}"}}') for m in
                 ("up", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling"))


def wait_report(e, job_name, want):
    wait_for(lambda: report(e, job_name) == want, 20, interval=0.25,
             what=f"report of {job_name} == {want}")


def test_failed_scrape_reports_what_was_read_before_the_error(start_ember, target):
    """Prometheus counts the samples read before a parse error or a limit in
    scrape_samples_scraped and ..._post_metric_relabeling; nothing of the scrape is stored."""
    e = start_ember(config(
        job("bad", target, "/bad"),
        job("limited", target, "/many", "    sample_limit: 10\n"),
        job("limited_kept", target, "/many",
            "    sample_limit: 10\n    metric_relabel_configs:\n"
            "      - {source_labels: [i], regex: '1?[0-4]', action: keep}\n"),
        job("label_limited", target, "/many",
            "    label_limit: 3\n    metric_relabel_configs:\n"
            "      - {source_labels: [i], regex: '[0-2]', action: keep}\n")))
    wait_report(e, "bad", (0, 1, 1))
    wait_report(e, "limited", (0, 20, 20))
    wait_report(e, "limited_kept", (1, 20, 10))
    # The first series kept has 4 labels (with job and instance): the scrape fails there.
    wait_report(e, "label_limited", (0, 1, 0))
    assert vector(e, '{job=~"bad|limited|label_limited", __name__=~"parity_.*"}') == {}
    assert len(vector(e, 'parity_many{job="limited_kept"}')) == 10


def test_repeated_series_counts_as_kept(start_ember, target):
    """A series twice in one scrape: the first sample is stored and both count as kept unless
    metric relabeling drops the series, as in Prometheus."""
    e = start_ember(config(
        job("dup", target, "/dup"),
        job("dup_dropped", target, "/dup",
            "    metric_relabel_configs:\n"
            "      - {source_labels: [__name__], regex: parity_dup, action: drop}\n")))
    wait_report(e, "dup", (1, 3, 3))
    wait_report(e, "dup_dropped", (1, 3, 1))
    assert one(e, 'parity_dup{job="dup"}') == 1


def test_honor_labels_scraped_empty_label_removes_the_target_label(start_ember, target):
    """honor_labels: a scraped job="" wins over the target's job, leaving the series without a
    job label (Prometheus' lset.Has); without honor_labels the target's job is set."""
    e = start_ember(config(job("honored", target, "/conflict", "    honor_labels: true\n"),
                           job("plain", target, "/conflict")))
    wait_report(e, "honored", (1, 2, 2))
    wait_report(e, "plain", (1, 2, 2))
    got = vector(e, f'parity_conflict{{instance="{target}"}}')
    assert got == {
        (("__name__", "parity_conflict"), ("instance", target), ("team", "red")): 2.0,
        (("__name__", "parity_conflict"), ("instance", target), ("job", "mine")): 3.0,
        (("__name__", "parity_conflict"), ("instance", target), ("job", "plain"),
         ("team", "red")): 2.0,
        (("__name__", "parity_conflict"), ("exported_job", "mine"), ("instance", target),
         ("job", "plain")): 3.0,
    }


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_report_series_go_stale_when_the_target_goes_away(start_ember, target, tmp_path):
    """Removing targets on reload ends their up and scrape_* series with stale markers (not
    only the scraped ones), for a healthy target, a target never reached and one whose scrape
    is running at the moment it goes away."""
    down = "127.0.0.1:%d" % closed_port()
    keep = job("stays", target, "/dup")
    e = start_ember(config(keep, job("gone", target, "/dup"), job("gone_down", down, "/metrics"),
                           job("gone_busy", target, "/slow")))
    wait_report(e, "gone", (1, 3, 3))
    wait_for(lambda: one(e, 'up{job="gone_down"}') == 0, 20, interval=0.25, what="down target")
    wait_for(lambda: one(e, 'up{job="gone_busy"}') == 0, 20, interval=0.25, what="slow target")
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config(keep))
    os.kill(e.proc.pid, signal.SIGHUP)
    for name in ("gone", "gone_down", "gone_busy"):
        sel = f'{{job="{name}", __name__=~"up|scrape_.*|parity_.*"}}'
        wait_for(lambda: vector(e, sel) == {}, 20, interval=0.25, what=f"{name}'s series stale")
        # Stale, not missing: the samples before the marker are still there.
        assert vector(e, f'count_over_time(up{{job="{name}"}}[5m])'), name
    assert one(e, 'up{job="stays"}') == 1


def last_error(e, job_name):
    status, _, raw = e.get("/api/v1/targets")
    assert status == 200, raw
    return [t["lastError"] for t in json.loads(raw)["data"]["activeTargets"]
            if t["labels"]["job"] == job_name][0]


def test_last_error_worded_as_go_client(start_ember, target):
    """Connection and timeout failures read like Prometheus' lastError (Go's *url.Error)."""
    down = "127.0.0.1:%d" % closed_port()
    e = start_ember(config(job("refused", down, "/metrics", "    params: {a: ['1']}\n"),
                           job("slow", target, "/slow")))
    want = {
        "refused": f'Get "http://{down}/metrics?a=1": dial tcp {down}: connect: '
                   "connection refused",
        "slow": f'Get "http://{target}/slow": context deadline exceeded',
    }
    for name, text in want.items():
        wait_for(lambda: last_error(e, name) == text, 20, interval=0.25,
                 what=f"{name} lastError == {text!r} (last: {last_error(e, name)!r})")


def targets_of(e, job_name):
    status, _, raw = e.get("/api/v1/targets")
    assert status == 200, raw
    return [t for t in json.loads(raw)["data"]["activeTargets"]
            if t["scrapePool"] == job_name]


def test_connection_errors_name_the_addresses(start_ember, raw_target):
    """localhost is reported as the address dialled; a reset names both ends, as Go does."""
    port = closed_port()
    e = start_ember(config(job("byname", f"localhost:{port}", "/metrics"),
                           job("reset", raw_target, "/reset")))
    want = re.compile(r'Get "http://localhost:%d/metrics": dial tcp (127\.0\.0\.1|\[::1\]):%d: '
                      r"connect: connection refused$" % (port, port))
    wait_for(lambda: want.match(last_error(e, "byname")), 20, interval=0.25,
             what="byname's lastError")
    want = re.compile(r'Get "http://%s/reset": read tcp 127\.0\.0\.1:\d+->%s: read: '
                      r"connection reset by peer$" % (raw_target, raw_target))
    wait_for(lambda: want.match(last_error(e, "reset")), 20, interval=0.25,
             what="reset's lastError")


def test_default_port_and_other_scheme(start_ember, target):
    """An address without a port gets :80 (instance and URL show it, as in Prometheus 2); a
    target relabeled to another scheme is listed, down, with Go's error; without a port and
    with another scheme the target is refused."""
    e = start_ember(config(
        job("noport", "127.0.0.1", "/dup"),
        job("ftp", target, "/dup", "    relabel_configs:\n"
            "      - {target_label: __scheme__, replacement: ftp}\n"),
        job("ftp_noport", "127.0.0.1", "/dup", "    relabel_configs:\n"
            "      - {target_label: __scheme__, replacement: ftp}\n")))
    wait_for(lambda: all(t["health"] != "unknown" for p in ("noport", "ftp")
                         for t in targets_of(e, p)), 20, interval=0.25, what="both scraped")
    [noport] = targets_of(e, "noport")
    assert noport["labels"] == {"instance": "127.0.0.1:80", "job": "noport"}
    assert noport["discoveredLabels"]["__address__"] == "127.0.0.1"
    assert noport["scrapeUrl"] == "http://127.0.0.1:80/dup"
    [ftp] = targets_of(e, "ftp")
    assert ftp["scrapeUrl"] == f"ftp://{target}/dup"
    assert ftp["health"] == "down"
    assert ftp["lastError"] == f'Get "ftp://{target}/dup": unsupported protocol scheme "ftp"'
    assert one(e, 'up{job="ftp"}') == 0
    assert targets_of(e, "ftp_noport") == []
    assert "invalid scheme: \\\"http\\\"" in e.logs(), e.logs()
