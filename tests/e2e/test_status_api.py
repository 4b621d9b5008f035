"""tests/e2e/test_status_api.py — /api/v1/status/{buildinfo,config,flags,runtimeinfo} shapes and
/-/quit behind --web.enable-lifecycle, against the real binary."""
import json
import re
import subprocess
import time
from pathlib import Path

from conftest import http, wait_for

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """# a comment that the original text keeps
global:
  scrape_interval: 30s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:{self_port}']
"""


def get_json(ember, path):
    status, headers, raw = ember.get(path)
    assert status == 200, raw
    assert headers["Content-Type"] == "application/json"
    body = json.loads(raw)
    assert body["status"] == "success"
    return body["data"]


def test_buildinfo_is_semver_without_features(start_ember):
    ember = start_ember()
    data = get_json(ember, "/api/v1/status/buildinfo")
    assert set(data) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(\+[0-9A-Za-z.-]+)?", data["version"])
    assert m and (int(m[1]), int(m[2])) >= (2, 24), data["version"]
    assert all(isinstance(v, str) for v in data.values())
    # Filled at build time from the git checkout the binary was built from (this one): a commit
    # of its history (HEAD itself in CI; an ancestor when someone committed since the build).
    rev = data["revision"]
    assert re.fullmatch(r"[0-9a-f]{40}", rev), rev
    assert subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", rev, "HEAD"]
                          ).returncode == 0, rev
    assert re.fullmatch(r"\d{8}-\d\d:\d\d:\d\d", data["buildDate"]), data["buildDate"]
    assert re.fullmatch(r"(gcc|clang) \d+[.\d]*", data["goVersion"]), data["goVersion"]
    assert "@" in data["buildUser"]
    status, _, _ = http("POST", ember.base + "/api/v1/status/buildinfo", data=b"")
    assert status == 405


def test_config_returns_the_loaded_file(start_ember):
    ember = start_ember(CONFIG)
    data = get_json(ember, "/api/v1/status/config")
    assert data == {"yaml": CONFIG.replace("{self_port}", str(ember.port))}


def test_flags_are_strings_under_prometheus_names(start_ember):
    ember = start_ember(extra=["--storage.tsdb.retention.time=30d", "--web.enable-lifecycle"])
    data = get_json(ember, "/api/v1/status/flags")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
    assert data["storage.tsdb.retention.time"] == "30d"
    assert data["storage.tsdb.retention.size"] == "0B"
    assert data["web.enable-lifecycle"] == "true"
    assert data["web.enable-admin-api"] == "false"
    assert data["web.listen-address"] == f"127.0.0.1:{ember.port}"
    assert data["query.lookback-delta"] == "5m"
    assert data["query.max-samples"] == "50000000"
    assert "help" not in data and "version" not in data


def test_runtimeinfo_shape(start_ember):
    ember = start_ember(extra=["--storage.tsdb.retention.size=10GB"])
    before = time.time()
    data = get_json(ember, "/api/v1/status/runtimeinfo")
    assert set(data) == {"startTime", "CWD", "reloadConfigSuccess", "lastConfigTime",
                         "corruptionCount", "goroutineCount", "GOMAXPROCS", "GOGC", "GODEBUG",
                         "storageRetention"}
    rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z"
    assert re.fullmatch(rfc3339, data["startTime"]) and re.fullmatch(rfc3339, data["lastConfigTime"])
    start = time.mktime(time.strptime(data["startTime"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before - 60 < start <= before + 1
    assert data["reloadConfigSuccess"] is True and data["corruptionCount"] == 0
    assert data["goroutineCount"] >= 1 and data["GOMAXPROCS"] >= 1
    assert data["storageRetention"] == "15d or 10GiB"
    assert data["CWD"].startswith("/")


def test_quit_needs_the_lifecycle_flag(start_ember):
    ember = start_ember()
    for method in ("POST", "PUT"):
        status, _, raw = http(method, ember.base + "/-/quit", data=b"")
        assert (status, raw) == (403, b"Lifecycle API is not enabled.")
    status, _, raw = http("GET", ember.base + "/-/quit")
    assert (status, raw) == (405, b"Only POST or PUT requests allowed")
    assert ember.proc.poll() is None


def test_quit_shuts_down_cleanly(start_ember):
    ember = start_ember(extra=["--web.enable-lifecycle"])
    status, _, raw = http("POST", ember.base + "/-/quit", data=b"")
    assert (status, raw) == (200, b"Requesting termination... Goodbye!")
    wait_for(lambda: ember.proc.poll() is not None, 15, what="ember to exit after /-/quit")
    assert ember.proc.returncode == 0, ember.logs()


def metric_lines(ember):
    status, headers, raw = ember.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return raw.decode().splitlines()


def sample(lines, metric, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{metric}{{{want}}} " if labels else f"{metric} "
    for line in lines:
        if line.startswith(prefix):
            return float(line[len(prefix):])
    raise AssertionError(f"{prefix!r} not in /metrics")


def test_self_metrics_under_prometheus_names(start_ember):
    ember = start_ember("scrape_configs:\n  - job_name: self\n    static_configs:\n"
                        "      - targets: ['127.0.0.1:{self_port}', '127.0.0.1:1']\n")
    now = int(time.time() * 1000)
    status, _, _ = http("POST", ember.base + "/api/v1/import/prometheus",
                        data=f'sm_metric{{a="1"}} 1 {now}\nsm_metric{{a="2"}} 2 {now}\n'.encode())
    assert status == 204
    for _ in range(3):
        assert ember.query("sm_metric")[0] == 200
    assert ember.query("sum(")[0] == 400
    assert ember.get("/api/v1/labels")[0] == 200
    lines = metric_lines(ember)
    assert sample(lines, "prometheus_http_requests_total", code="200", handler="/api/v1/query") == 3
    assert sample(lines, "prometheus_http_requests_total", code="400", handler="/api/v1/query") == 1
    assert sample(lines, "prometheus_http_requests_total", code="204",
                  handler="/api/v1/import/prometheus") == 1
    assert sample(lines, "prometheus_http_request_duration_seconds_count",
                  handler="/api/v1/query") == 4
    assert sample(lines, "prometheus_http_request_duration_seconds_bucket",
                  handler="/api/v1/query", le="+Inf") == 4
    assert sample(lines, "prometheus_tsdb_head_series") >= 2
    assert sample(lines, "prometheus_tsdb_head_samples_appended_total", type="float") >= 2
    for name in ("prometheus_tsdb_head_chunks", "prometheus_tsdb_blocks_loaded",
                 "prometheus_tsdb_compactions_total", "prometheus_tsdb_wal_storage_size_bytes",
                 "prometheus_tsdb_storage_blocks_bytes", "prometheus_engine_queries",
                 "process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_max_fds", "process_start_time_seconds"):
        assert sample(lines, name) >= 0, name
    assert sample(lines, "prometheus_tsdb_out_of_order_samples_total", type="float") == 0
    assert sample(lines, "prometheus_engine_query_duration_seconds_count",
                  slice="inner_eval") == 4
    assert sample(lines, "prometheus_engine_query_duration_seconds", slice="inner_eval",
                  quantile="0.99") >= 0
    assert sample(lines, "prometheus_sd_discovered_targets", config="self", name="scrape") == 2
    assert sample(lines, "process_open_fds") > 3
    build = [line for line in lines if line.startswith("prometheus_build_info{")]
    assert len(build) == 1 and 'version="2.42.0+ember.' in build[0]
    # every sample line parses: name{labels} value
    for line in lines:
        assert line.startswith("# ") or re.fullmatch(r'[a-z_:]+(\{[^}]*\})? \S+', line), line
