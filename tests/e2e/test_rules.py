"""tests/e2e/test_rules.py — recording and alerting rules end to end: evaluation on schedule,
alerts through pending and firing to a real Alertmanager and back to resolved, golden-signal rule
files, the rules/alerts/alertmanagers APIs, and alert state surviving a restart."""
import json
import socket
import subprocess
import time
from datetime import datetime

from conftest import EMBER_BIN, free_port, http, wait_for


def api(ember, path, **params):
    status, _, raw = ember.get(path, **params)
    assert status == 200, raw
    body = json.loads(raw)
    assert body["status"] == "success"
    return body["data"]


def rules_config(tmp_path, rules, extra=""):
    (tmp_path / "rules.yml").write_text(rules)
    return ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "  external_labels: {cluster: test}\n"
            "rule_files: [rules.yml]\n" + extra)


def alerts_of(ember):
    return api(ember, "/api/v1/alerts")["alerts"]


def am_alerts(am, name):
    status, _, raw = http("GET", am + "/api/v2/alerts")
    assert status == 200
    return [a for a in json.loads(raw) if a["labels"].get("alertname") == name]


def test_alert_goes_pending_fires_reaches_alertmanager_and_resolves(tmp_path, start_ember,
                                                                    alertmanager):
    # The condition holds for ~8 seconds from now, then stops: time() drives it.
    until = int(time.time()) + 8
    rules = f"""groups:
  - name: lifecycle
    interval: 1s
    rules:
      - alert: Windowed
        expr: vector(time()) < {until}
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{{{ if gt $value 1e9 }}}}late{{{{ end }}}} until {until}"
"""
    am_host = alertmanager.removeprefix("http://")
    cfg = rules_config(tmp_path, rules, "alerting:\n  alertmanagers:\n"
                       f"    - static_configs: [{{targets: ['{am_host}']}}]\n")
    ember = start_ember(cfg, extra=["--rules.alert.resend-delay=1s"])
    assert api(ember, "/api/v1/alertmanagers")["activeAlertmanagers"] == [
        {"url": f"{alertmanager}/api/v2/alerts"}]
    pending = wait_for(lambda: [a for a in alerts_of(ember) if a["state"] == "pending"], 5,
                       interval=0.05, what="a pending alert")
    assert pending[0]["labels"] == {"alertname": "Windowed", "severity": "page"}
    firing = wait_for(lambda: [a for a in alerts_of(ember) if a["state"] == "firing"], 6,
                      what="the alert firing")
    assert firing[0]["value"].endswith("e+09")
    got = wait_for(lambda: am_alerts(alertmanager, "Windowed"), 10,
                   what="the alert in Alertmanager")
    assert got[0]["labels"] == {"alertname": "Windowed", "severity": "page", "cluster": "test"}
    assert got[0]["annotations"] == {"summary": f"late until {until}"}
    assert "/graph?g0.expr=" in got[0]["generatorURL"]
    assert got[0]["status"]["state"] == "active"
    # startsAt is when the alert fired (Prometheus' FiredAt), `for` after it became active.
    fired = datetime.fromisoformat(got[0]["startsAt"])
    active = datetime.fromisoformat(firing[0]["activeAt"])
    assert (fired - active).total_seconds() >= 1.9, (got[0]["startsAt"], firing[0]["activeAt"])
    # ALERTS carries the state; the rules API shows the rule firing.
    status, body = ember.query('ALERTS{alertname="Windowed"}')
    assert body["data"]["result"][0]["metric"]["alertstate"] == "firing"
    # After the window: resolved in ember, and Alertmanager hears it (the alert leaves its
    # active list once endsAt has passed).
    wait_for(lambda: alerts_of(ember) == [], 15, what="the alert resolved in ember")
    wait_for(lambda: am_alerts(alertmanager, "Windowed") == [], 15,
             what="the alert resolved in Alertmanager")
    url = f"{alertmanager}/api/v2/alerts"
    sent = f'prometheus_notifications_sent_total{{alertmanager="{url}"}}'
    assert metric(ember, sent) >= 2  # firing and resolved
    # The resolution keeps going out every resend delay (Prometheus keeps a resolved alert 15
    # minutes and resends it), while nothing fires any more.
    before = metric(ember, sent)
    wait_for(lambda: metric(ember, sent) >= before + 2, 10,
             what="the resolved alert sent again")
    assert alerts_of(ember) == []
    assert ember.stop() == 0


def test_golden_signal_rules_load_and_evaluate(tmp_path, start_ember, node_exporter, free_port_):
    rules = """groups:
  - name: synthetic
    interval: 1s
    rules:
      - record: request_duration_seconds_bucket
        expr: label_replace(vector(50), "le", "0.1", "", "")
      - record: request_duration_seconds_bucket
        expr: label_replace(vector(90), "le", "0.5", "", "")
      - record: request_duration_seconds_bucket
        expr: label_replace(vector(100), "le", "1", "", "")
      - record: request_duration_seconds_bucket
        expr: label_replace(vector(100), "le", "+Inf", "", "")
  - name: golden
    interval: 1s
    rules:
      - record: job:errors:ratio_rate1m
        expr: >
          sum by (job) (rate(promhttp_metric_handler_requests_total{code=~"5.."}[1m]))
          / sum by (job) (rate(promhttp_metric_handler_requests_total[1m]))
      - record: latency:p95
        expr: histogram_quantile(0.95, sum by (le) (request_duration_seconds_bucket))
      - alert: HighErrorRatio
        expr: job:errors:ratio_rate1m > 0.05
        for: 5m
      - alert: InstanceDown
        expr: up == 0
        labels: {severity: page}
      - alert: MetricAbsent
        expr: absent(no_such_metric{job="x"})
"""
    cfg = rules_config(tmp_path, rules, "scrape_configs:\n"
                       f"  - job_name: node\n    static_configs: [{{targets: ['{node_exporter}']}}]\n"
                       f"  - job_name: down\n    static_configs: [{{targets: ['127.0.0.1:{free_port_}']}}]\n")
    ember = start_ember(cfg)

    def p95():
        s, body = ember.query("latency:p95")
        return body["data"]["result"]
    res = wait_for(p95, 10, what="latency:p95")
    assert abs(float(res[0]["value"][1]) - 0.75) < 1e-9

    def ratio():
        s, body = ember.query("job:errors:ratio_rate1m")
        return body["data"]["result"]
    res = wait_for(ratio, 15, what="job:errors:ratio_rate1m")
    assert res[0]["metric"] == {"__name__": "job:errors:ratio_rate1m", "job": "node"}
    assert float(res[0]["value"][1]) == 0

    def firing(name):
        return [a for a in alerts_of(ember) if a["labels"]["alertname"] == name
                and a["state"] == "firing"]
    down = wait_for(lambda: firing("InstanceDown"), 10, what="InstanceDown firing")
    assert down[0]["labels"]["job"] == "down" and down[0]["labels"]["severity"] == "page"
    absent = wait_for(lambda: firing("MetricAbsent"), 10, what="MetricAbsent firing")
    assert absent[0]["labels"] == {"alertname": "MetricAbsent", "job": "x"}
    assert firing("HighErrorRatio") == []
    groups = api(ember, "/api/v1/rules")["groups"]
    assert [g["name"] for g in groups] == ["synthetic", "golden"]
    for g in groups:
        assert g["file"].endswith("rules.yml") and g["interval"] == 1
        for r in g["rules"]:
            assert r["health"] == "ok", r
            assert r["lastEvaluation"].endswith("Z")
    alerting = api(ember, "/api/v1/rules", type="alert")["groups"]
    assert [r["name"] for r in alerting[0]["rules"]] == ["HighErrorRatio", "InstanceDown",
                                                         "MetricAbsent"]
    assert all(r["type"] == "alerting" for r in alerting[0]["rules"])
    recording = api(ember, "/api/v1/rules", type="record")["groups"]
    assert len(recording) == 2 and all(r["type"] == "recording"
                                       for g in recording for r in g["rules"])
    status, _, raw = ember.get("/api/v1/rules", type="bogus")
    assert status == 400 and json.loads(raw)["errorType"] == "bad_data"
    assert ember.stop() == 0


def test_restart_keeps_a_firing_alert_firing(tmp_path, start_ember):
    rules = """groups:
  - name: restart
    interval: 1s
    rules:
      - alert: Always
        expr: vector(1)
        for: 3s
"""
    cfg = rules_config(tmp_path, rules)
    flags = ["--rules.alert.for-grace-period=1s"]
    ember = start_ember(cfg, extra=flags)
    first = wait_for(lambda: [a for a in alerts_of(ember) if a["state"] == "firing"], 10,
                     what="the alert firing")
    assert ember.stop() == 0
    ember = start_ember(cfg, extra=flags)
    # As Prometheus: the first two evaluations after the restart start from scratch (pending,
    # activeAt now, no ALERTS written); then activeAt is restored from ALERTS_FOR_STATE, so the
    # third fires again with the old activeAt instead of waiting out `for` anew.
    back = wait_for(lambda: alerts_of(ember), 5, interval=0.05, what="the alert back")
    assert back[0]["state"] == "pending" and back[0]["activeAt"] > first[0]["activeAt"], back
    status, body = ember.query('ALERTS{alertname="Always",alertstate="pending"}')
    assert body["data"]["result"] == []  # pending, but not written before the restore
    again = wait_for(lambda: [a for a in alerts_of(ember) if a["state"] == "firing"], 6,
                     interval=0.05, what="the alert firing again")
    # Restored to the whole second ALERTS_FOR_STATE holds, as Prometheus restores it.
    assert again[0]["activeAt"] == first[0]["activeAt"][:19] + "Z"

    assert ember.stop() == 0


def metric(ember, name):
    status, _, raw = ember.get("/metrics")
    for ln in raw.decode().splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_unreachable_alertmanager_never_blocks(tmp_path, start_ember):
    rules = """groups:
  - name: noisy
    interval: 1s
    rules:
      - alert: Always
        expr: vector(1)
      - record: evaluations:tick
        expr: vector(time())
"""
    # A peer that accepts connections (the kernel's backlog) and never answers: every POST
    # waits out its timeout.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        port = hole.getsockname()[1]
        cfg = rules_config(tmp_path, rules, "alerting:\n  alertmanagers:\n"
                           f"    - static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
                           "      timeout: 2s\n")
        ember = start_ember(cfg, extra=["--rules.alert.resend-delay=1s"])
        wait_for(lambda: metric(ember, "prometheus_notifications_dropped_total") >= 2, 15,
                 what="dropped notifications counted")
        url = f"http://127.0.0.1:{port}/api/v2/alerts"
        assert metric(ember, f'prometheus_notifications_errors_total{{alertmanager="{url}"}}') >= 1
        # Evaluation kept its one-second schedule while each send hung for two seconds.
        status, body = ember.query("count_over_time(evaluations:tick[4s])")
        assert float(body["data"]["result"][0]["value"][1]) >= 3
        assert ember.stop() == 0


def start_refused(tmp_path, config, msg):
    """Runs ember on config (written as prometheus.yml), which must refuse to start: exit code 1
    and one log line with msg; returns that line."""
    (tmp_path / "prometheus.yml").write_text(config)
    run = subprocess.run([EMBER_BIN, f"--config.file={tmp_path / 'prometheus.yml'}",
                          f"--storage.tsdb.path={tmp_path / 'data'}",
                          f"--web.listen-address=127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if f'msg="{msg}"' in ln]
    assert len(lines) == 1, run.stderr
    return lines[0]
