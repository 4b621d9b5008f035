"""tests/e2e/test_reload.py — file_sd_configs and configuration reload on the real binary: targets
from JSON and YAML files appearing, changing and surviving a bad rewrite; SIGHUP and POST
/-/reload adding a job, a bad config refused with the old one kept in force, and an unchanged
target scraping on without a gap across reloads."""
import json
import signal
import time

from conftest import http, wait_for

BASE = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:{self_port}']
"""

FILE_SD = BASE + """
  - job_name: files
    file_sd_configs:
      - files: ['{dir}/*.json', '{dir}/*.yml']
        refresh_interval: 1m
"""


def active(e):
    status, _, raw = e.get("/api/v1/targets", state="active")
    assert status == 200, raw
    return json.loads(raw)["data"]["activeTargets"]


def file_targets(e):
    return sorted((t["labels"]["instance"], t["labels"].get("env", ""),
                   t["discoveredLabels"].get("__meta_filepath", ""))
                  for t in active(e) if t["scrapePool"] == "files")


def metric(e, name):
    status, _, raw = e.get("/metrics")
    assert status == 200
    for line in raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_file_sd_targets_appear_change_and_survive_garbage(start_ember, tmp_path):
    sd = tmp_path / "sd"
    sd.mkdir()
    a = sd / "a.json"
    a.write_text(json.dumps([{"targets": ["127.0.0.1:9"], "labels": {"env": "one"}}]))
    e = start_ember(FILE_SD.replace("{dir}", str(sd)))
    # The first read happens at start-up.
    assert file_targets(e) == [("127.0.0.1:9", "one", str(a))]

    # Rewritten (inotify, well before the 1m refresh_interval): the targets change.
    a.write_text(json.dumps([{"targets": ["127.0.0.1:9", "127.0.0.2:9"],
                              "labels": {"env": "two"}}]))
    wait_for(lambda: file_targets(e) == [("127.0.0.1:9", "two", str(a)),
                                         ("127.0.0.2:9", "two", str(a))],
             10, what="rewritten JSON file's targets")

    # A YAML file next to it adds its own targets.
    b = sd / "b.yml"
    b.write_text("- targets: ['127.0.0.3:9']\n  labels:\n    env: yaml\n")
    wait_for(lambda: ("127.0.0.3:9", "yaml", str(b)) in file_targets(e), 10,
             what="YAML file's target")

    # Garbage: logged, the file's previous targets stay, the read error is counted.
    errors = metric(e, "prometheus_sd_file_read_errors_total")
    a.write_text('[{"targets": ["127.0.0.9:9"], "labels": {"bad label": "x"}}]')
    wait_for(lambda: metric(e, "prometheus_sd_file_read_errors_total") > errors, 10,
             what="the read error counted")
    assert file_targets(e) == [("127.0.0.1:9", "two", str(a)), ("127.0.0.2:9", "two", str(a)),
                               ("127.0.0.3:9", "yaml", str(b))]
    assert "error reading file, keeping its previous targets" in e.logs()
    assert "invalid label name" in e.logs()
    a.write_text("{not json")
    wait_for(lambda: metric(e, "prometheus_sd_file_read_errors_total") > errors + 1, 10,
             what="the second read error counted")
    assert len(file_targets(e)) == 3

    # Deleting a file removes its targets.
    b.unlink()
    wait_for(lambda: len(file_targets(e)) == 2, 10, what="deleted file's target gone")
    assert e.stop() == 0


def up_samples(e, job, seconds):
    status, doc = e.query(f'up{{job="{job}"}}[{seconds}s]')
    assert status == 200, doc
    rows = doc["data"]["result"]
    return [float(t) for t, _ in rows[0]["values"]] if rows else []


def test_reload_by_sighup_and_http_keeps_unchanged_targets_scraping(start_ember, tmp_path):
    e = start_ember(BASE, extra=["--web.enable-lifecycle"])
    cfg = tmp_path / "prometheus.yml"
    wait_for(lambda: len(up_samples(e, "self", 60)) >= 3, 15, what="a few scrapes of self")
    assert metric(e, "prometheus_config_last_reload_successful") == 1
    first_ok = metric(e, "prometheus_config_last_reload_success_timestamp_seconds")

    # SIGHUP with a new job: it appears; self keeps its loop.
    cfg.write_text(BASE.replace("{self_port}", str(e.port)) + """
  - job_name: added-by-sighup
    static_configs:
      - targets: ['127.0.0.1:{self_port}']
""".replace("{self_port}", str(e.port)))
    first_reload = time.time()
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "added-by-sighup" in {t["scrapePool"] for t in active(e)}, 10,
             what="the job added by SIGHUP")
    assert metric(e, "prometheus_config_last_reload_success_timestamp_seconds") > first_ok

    # POST /-/reload with another job.
    cfg.write_text(cfg.read_text() + """
  - job_name: added-by-http
    static_configs:
      - targets: ['127.0.0.1:9']
""")
    status, _, body = http("POST", e.base + "/-/reload")
    assert (status, body) == (200, b"")
    assert {t["scrapePool"] for t in active(e)} == {"self", "added-by-sighup", "added-by-http"}
    assert metric(e, "prometheus_config_last_reload_successful") == 1

    # A bad config is refused with the reason; the old one stays in force.
    good = cfg.read_text()
    cfg.write_text(good + "  - job_name: self\n")
    status, _, body = http("POST", e.base + "/-/reload")
    assert status == 500
    assert body.decode().startswith("failed to reload config: couldn't load configuration "
                                    f"(--config.file=\"{cfg}\"): ")
    assert "duplicate job_name" in body.decode() or "job_name" in body.decode()
    assert metric(e, "prometheus_config_last_reload_successful") == 0
    assert {t["scrapePool"] for t in active(e)} == {"self", "added-by-sighup", "added-by-http"}
    assert "error reloading config, keeping the previous one" in e.logs()
    e.proc.send_signal(signal.SIGHUP)  # the same bad file by signal: still refused, still alive
    time.sleep(0.5)
    assert e.ready()

    # Dropping a job stops it; the good config makes the metric 1 again.
    cfg.write_text(good.replace("""
  - job_name: added-by-http
    static_configs:
      - targets: ['127.0.0.1:9']
""", ""))
    assert http("PUT", e.base + "/-/reload")[0] == 200
    assert {t["scrapePool"] for t in active(e)} == {"self", "added-by-sighup"}
    assert metric(e, "prometheus_config_last_reload_successful") == 1

    last_reload = time.time()

    # No gap: self was never restarted, so its scrapes stayed on one 1s grid throughout.
    ts = wait_for(lambda: (lambda v: v if v and v[-1] > last_reload + 2 else None)(
        up_samples(e, "self", 120)), 10, what="scrapes after the last reload")
    assert ts[0] < first_reload
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert max(gaps) < 1.5, gaps
    # A restarted loop would start with an empty series cache and report every series as added.
    # ember's own /metrics does grow a few series after a reload (a row per new HTTP handler and
    # code), so the check is that no scrape after it reports all of its series as new.
    status, doc = e.query('scrape_series_added{job="self"}[120s]')
    added = {float(t): float(v) for t, v in doc["data"]["result"][0]["values"]}
    status, doc = e.query('scrape_samples_scraped{job="self"}[120s]')
    scraped = {float(t): float(v) for t, v in doc["data"]["result"][0]["values"]}
    after = [(t, v) for t, v in sorted(added.items()) if t > first_reload]
    assert sorted(added.items())[0][1] > 0 and after, added
    assert all(v < scraped[t] / 2 for t, v in after), (after, scraped)
    assert all(abs(g - 1.0) < 0.25 for g in gaps), gaps
    assert e.stop() == 0


def test_reload_endpoint_needs_lifecycle_flag(start_ember):
    e = start_ember(BASE)
    status, headers, body = http("POST", e.base + "/-/reload")
    assert (status, body) == (403, b"Lifecycle API is not enabled.")
    status, _, body = http("GET", e.base + "/-/reload")
    assert (status, body) == (405, b"Only POST or PUT requests allowed")
    assert e.stop() == 0
