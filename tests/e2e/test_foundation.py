"""tests/e2e/test_foundation.py — the first path through every layer: config → scrape → storage →
query → HTTP, against the real binary and Debian's node exporter, plus bad input of each kind."""
import re
import socket
import subprocess
import time

from conftest import EMBER_BIN, http, wait_for

CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['{node}']
        labels:
          zone: z1
  - job_name: ember
    static_configs:
      - targets: ['127.0.0.1:{self_port}']
  - job_name: down
    static_configs:
      - targets: ['127.0.0.1:1']
"""


def result(doc):
    assert doc["status"] == "success", doc
    assert doc["data"]["resultType"] == "vector"
    return doc["data"]["result"]


def by_job(rows):
    return {r["metric"]["job"]: r for r in rows}


def wait_up(e, jobs, timeout=20):
    def ready():
        status, doc = e.query("up")
        rows = by_job(result(doc))
        return rows if all(j in rows for j in jobs) else None
    return wait_for(ready, timeout, interval=0.25, what=f"up for {jobs}")


def test_scrapes_node_exporter_and_answers_up(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    rows = wait_up(e, ["node", "down", "ember"])
    node = rows["node"]
    assert node["metric"] == {"__name__": "up", "job": "node", "instance": node_exporter,
                              "zone": "z1"}
    ts, value = node["value"]
    assert isinstance(ts, (int, float)) and isinstance(value, str)
    assert value == "1"
    assert rows["down"]["value"][1] == "0"
    assert rows["ember"]["value"][1] == "1"
    # The node exporter's own series are stored with target labels attached.
    status, doc = e.query('node_exporter_build_info{job="node"}')
    assert status == 200
    assert len(result(doc)) == 1
    assert result(doc)[0]["metric"]["instance"] == node_exporter
    status, doc = e.query('scrape_samples_scraped{job="node"}')
    assert float(result(doc)[0]["value"][1]) > 100
    assert e.stop() == 0


def test_all_four_matchers(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    wait_up(e, ["node", "down", "ember"])
    cases = {
        'up{job="node"}': {"node"},
        'up{job!="node"}': {"down", "ember"},
        'up{job=~"no.*"}': {"node"},
        'up{job=~"no"}': set(),  # anchored
        'up{job!~"no.*|em.*"}': {"down"},
        '{__name__="up",zone="z1"}': {"node"},
        'up{zone=""}': {"down", "ember"},
    }
    for q, want in cases.items():
        status, doc = e.query(q)
        assert status == 200, (q, doc)
        got = {r["metric"]["job"] for r in result(doc)}
        assert got == want, (q, got)
    status, doc = e.query('up{job="node"}', method="POST")
    assert status == 200 and len(result(doc)) == 1
    assert e.stop() == 0


def test_query_time_parameter(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    wait_up(e, ["node"])
    status, doc = e.query("up", time="1000")  # long before any sample: empty vector
    assert status == 200 and result(doc) == []
    status, doc = e.query("up", time="2099-01-01T00:00:00Z")  # beyond lookback: empty
    assert status == 200 and result(doc) == []
    status, doc = e.query("up", time="not-a-time")
    assert status == 400 and doc["errorType"] == "bad_data"
    assert e.stop() == 0


def test_bad_requests_get_400_and_server_keeps_serving(start_ember):
    e = start_ember("scrape_configs: []\n")
    status, doc = e.query("up{")
    assert status == 400
    assert doc == {"status": "error", "errorType": "bad_data", "error": doc["error"]}
    assert "parse error" in doc["error"]
    status, doc = e.query("")
    assert status == 400 and doc["errorType"] == "bad_data"
    # Raw garbage on a socket: a 400 with a JSON error body, then the server still answers.
    with socket.create_connection(("127.0.0.1", e.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01 this is not http\r\n\r\n")
        reply = s.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 400"), reply
    assert '"errorType":"bad_data"' in reply
    assert e.get("/-/healthy")[0] == 200
    assert e.get("/nope")[0] == 404
    assert e.stop() == 0


def test_keep_alive_serves_many_requests_on_one_connection(start_ember):
    import http.client
    e = start_ember("scrape_configs: []\n")
    conn = http.client.HTTPConnection("127.0.0.1", e.port, timeout=5)
    for _ in range(20):
        conn.request("GET", "/api/v1/query?query=up")
        r = conn.getresponse()
        assert r.status == 200
        assert r.getheader("Connection", "keep-alive").lower() != "close"
        r.read()
    conn.close()
    assert e.stop() == 0


def test_health_ready_and_self_metrics(start_ember):
    e = start_ember("scrape_configs: []\n")
    status, _, body = e.get("/-/healthy")
    assert status == 200 and b"Healthy" in body
    status, _, body = e.get("/-/ready")
    assert status == 200 and b"Ready" in body
    status, headers, body = e.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    for name in ("prometheus_tsdb_head_series", "prometheus_build_info",
                 "process_resident_memory_bytes", "prometheus_http_requests_total"):
        assert re.search(rf"^{name}(\{{[^}}]*\}})? \S+$", text, re.M), name
    assert e.stop() == 0


def test_wal_fsync_duration_summary_on_metrics(start_ember):
    """prometheus_tsdb_wal_fsync_duration_seconds: a summary as Prometheus' (quantiles 0.5, 0.9,
    0.99, _sum, _count), counting the storage thread's segment fsyncs (one a second)."""
    e = start_ember("scrape_configs: []\n")
    pat = re.compile(r"^prometheus_tsdb_wal_fsync_duration_seconds(_sum|_count)?"
                     r"(\{quantile=\"([0-9.]+)\"\})? (\S+)$", re.M)
    deadline = time.monotonic() + 15
    while True:
        status, _, body = e.get("/metrics")
        assert status == 200
        text = body.decode()
        rows = {(m.group(1) or "", m.group(3)): m.group(4) for m in pat.finditer(text)}
        if float(rows.get(("_count", None), "0")) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "# TYPE prometheus_tsdb_wal_fsync_duration_seconds summary" in text
    assert set(rows) == {("", "0.5"), ("", "0.9"), ("", "0.99"), ("_sum", None),
                         ("_count", None)}, rows
    assert float(rows[("_count", None)]) >= 2
    q = [float(rows[("", k)]) for k in ("0.5", "0.9", "0.99")]
    assert 0 <= q[0] <= q[1] <= q[2] <= float(rows[("_sum", None)])
    assert e.stop() == 0


def test_default_config_scrapes_itself(start_ember):
    """No --config.file: the embedded config scrapes ember's own listen address every 15s."""
    e = start_ember(None)
    rows = wait_up(e, ["ember"], timeout=25)
    assert rows["ember"]["value"][1] == "1"
    assert rows["ember"]["metric"]["instance"].endswith(f":{e.port}")
    status, doc = e.query('prometheus_build_info{job="ember"}')
    assert len(result(doc)) == 1
    assert e.stop() == 0


def run_ember(*args, timeout=10):
    return subprocess.run([EMBER_BIN, *args], capture_output=True, text=True, timeout=timeout)


def test_flags_help_version_and_bad_flags():
    r = run_ember("--version")
    assert r.returncode == 0 and "ember, version" in r.stdout
    r = run_ember("--help")
    assert r.returncode == 0 and "--web.listen-address" in r.stdout
    r = run_ember("--no-such-flag")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "no-such-flag" in r.stderr
    r = run_ember("--query.timeout=soon")
    assert r.returncode == 2 and "query.timeout" in r.stderr
    r = run_ember("--log.level=loud")
    assert r.returncode == 2 and "log.level" in r.stderr


def test_bad_config_is_refused_with_file_line_and_key(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("global:\n  scrape_interval: 15s\n  scrape_intervall: 1m\n")
    r = run_ember(f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                  f"--storage.tsdb.path={tmp_path / 'data'}")
    assert r.returncode != 0
    assert f"{cfg}:3" in r.stderr and "scrape_intervall" in r.stderr
    cfg.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: fast\n")
    r = run_ember(f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                  f"--storage.tsdb.path={tmp_path / 'data'}")
    assert r.returncode != 0 and "scrape_interval" in r.stderr and ":3" in r.stderr
    cfg.write_text("scrape_configs: [\n")
    r = run_ember(f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                  f"--storage.tsdb.path={tmp_path / 'data'}")
    assert r.returncode != 0 and str(cfg) in r.stderr
