"""tests/e2e/test_status_api.py — /api/v1/status/{buildinfo,config,flags,runtimeinfo} shapes and
/-/quit behind --web.enable-lifecycle, against the real binary."""
import json
import re
import time

from conftest import http, wait_for

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
