"""tests/e2e/test_rules_reload.py — rule files and alerting settings re-read on every
configuration reload (POST /-/reload and SIGHUP), as Prometheus does: changed groups show in
/api/v1/rules, an alert of an unchanged group stays firing with the same activeAt, series of a
removed rule go stale, a broken rule file refuses the whole reload with the old rules kept, and
Alertmanagers added by a reload get the alerts (Debian's prometheus-alertmanager)."""
import json
import signal
import socket

from conftest import http, wait_for
from test_rules import am_alerts, metric, start_refused

CONFIG = ("global:\n  evaluation_interval: 1s\n"
          "rule_files: [rules.yml]\n")

KEEP = """  - name: keep
    interval: 1s
    rules:
      - alert: Always
        expr: vector(1)
        for: 2s
        labels: {severity: page}
"""

CHANGE_V1 = """  - name: change
    interval: 1s
    rules:
      - record: reload:first
        expr: vector(1)
"""

CHANGE_V2 = """  - name: change
    interval: 1s
    rules:
      - record: reload:second
        expr: vector(2)
  - name: added
    interval: 1s
    rules:
      - alert: Slow
        expr: vector(1)
        for: 1h
"""


def api(e, path, **params):
    status, _, raw = e.get(path, **params)
    assert status == 200, raw
    return json.loads(raw)["data"]


def groups(e):
    return {g["name"]: [r["name"] for r in g["rules"]] for g in api(e, "/api/v1/rules")["groups"]}


def alerts(e):
    return {a["labels"]["alertname"]: a for a in api(e, "/api/v1/alerts")["alerts"]}


def result(e, q):
    status, body = e.query(q)
    assert status == 200, body
    return body["data"]["result"]


def test_reload_rereads_rule_files_and_keeps_alert_state(start_ember, tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n" + KEEP + CHANGE_V1)
    e = start_ember(CONFIG, extra=["--web.enable-lifecycle"])
    firing = wait_for(lambda: alerts(e).get("Always", {}).get("state") == "firing" and alerts(e),
                      10, what="Always firing")
    active_at = firing["Always"]["activeAt"]
    wait_for(lambda: result(e, "reload:first"), 5, what="reload:first recorded")
    assert groups(e) == {"keep": ["Always"], "change": ["reload:first"]}

    # POST /-/reload: one group changed, one added, one untouched.
    rules.write_text("groups:\n" + KEEP + CHANGE_V2)
    status, _, body = http("POST", e.base + "/-/reload")
    assert (status, body) == (200, b"")
    wait_for(lambda: groups(e) == {"keep": ["Always"], "change": ["reload:second"],
                                   "added": ["Slow"]}, 5, what="the new rules in /api/v1/rules")
    assert metric(e, "prometheus_config_last_reload_successful") == 1
    # The unchanged group's alert never left firing, and kept its activeAt.
    now = alerts(e)
    assert now["Always"]["state"] == "firing" and now["Always"]["activeAt"] == active_at
    slow = wait_for(lambda: alerts(e).get("Slow"), 5, what="the added alert pending")
    assert slow["state"] == "pending"
    wait_for(lambda: result(e, "reload:second"), 5, what="reload:second recorded")
    # The removed rule's series got a stale marker: gone at once, not after 5m lookback.
    wait_for(lambda: result(e, "reload:first") == [], 5, what="reload:first gone stale")
    # Evaluations after the reload still see the same alert (state kept, not restarted).
    wait_for(lambda: result(e, 'count_over_time(ALERTS{alertname="Always",'
                               'alertstate="firing"}[2s]) >= 2'), 5, what="two more evaluations")
    assert alerts(e)["Always"]["activeAt"] == active_at

    # A broken rule file refuses the whole reload, with file, line and reason; old rules stay.
    before = groups(e)
    rules.write_text("groups:\n" + KEEP + CHANGE_V2 + """  - name: broken
    rules:
      - record: bad
        expr: sum(
""")
    status, _, body = http("POST", e.base + "/-/reload")
    assert status == 500, body
    text = body.decode()
    assert text.startswith("failed to reload config: error loading rules: "), text
    assert f"{rules}:" in text and "broken" in text, text
    assert metric(e, "prometheus_config_last_reload_successful") == 0
    assert groups(e) == before
    assert alerts(e)["Always"]["activeAt"] == active_at
    assert "error reloading config, keeping the previous one" in e.logs()

    # SIGHUP with a good file again: the added group goes, the metric is 1 again.
    rules.write_text("groups:\n" + KEEP + CHANGE_V1)
    e.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: groups(e) == {"keep": ["Always"], "change": ["reload:first"]}, 10,
             what="the rules of the SIGHUP reload")
    wait_for(lambda: metric(e, "prometheus_config_last_reload_successful") == 1, 5,
             what="reload successful again")
    assert "Slow" not in alerts(e)
    assert alerts(e)["Always"]["activeAt"] == active_at
    assert e.stop() == 0


def test_reload_adds_and_removes_alertmanagers(start_ember, tmp_path, alertmanager):
    (tmp_path / "rules.yml").write_text("groups:\n" + KEEP)
    e = start_ember(CONFIG, extra=["--web.enable-lifecycle", "--rules.alert.resend-delay=1s"])
    wait_for(lambda: alerts(e).get("Always", {}).get("state") == "firing", 10,
             what="Always firing")
    assert api(e, "/api/v1/alertmanagers")["activeAlertmanagers"] == []

    cfg = tmp_path / "prometheus.yml"
    host = alertmanager.removeprefix("http://")
    cfg.write_text("global:\n  evaluation_interval: 1s\n  external_labels: {site: reloaded}\n"
                   "rule_files: [rules.yml]\n"
                   f"alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ['{host}']}}]\n")
    assert http("POST", e.base + "/-/reload")[0] == 200
    url = f"{alertmanager}/api/v2/alerts"
    assert api(e, "/api/v1/alertmanagers")["activeAlertmanagers"] == [{"url": url}]

    got = wait_for(lambda: am_alerts(alertmanager, "Always"), 15,
                   what="the alert in the Alertmanager the reload added")
    # The reloaded external labels apply.
    assert got[0]["labels"] == {"alertname": "Always", "severity": "page", "site": "reloaded"}

    cfg.write_text(CONFIG)
    assert http("POST", e.base + "/-/reload")[0] == 200
    assert api(e, "/api/v1/alertmanagers")["activeAlertmanagers"] == []
    assert metric(e, "prometheus_notifications_alertmanagers_discovered") == 0
    assert e.stop() == 0


def test_reload_while_a_send_is_in_flight(start_ember, tmp_path, alertmanager):
    """An Alertmanager that accepts and never answers holds a POST in flight for its timeout;
    reloads replace the Alertmanager list meanwhile: the old request finishes against the old
    list, the new list gets the next batches, nothing is lost or freed too early (the sanitizer
    build runs this too)."""
    (tmp_path / "rules.yml").write_text("groups:\n" + KEEP)
    cfg = tmp_path / "prometheus.yml"
    host = alertmanager.removeprefix("http://")
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        stuck = f"127.0.0.1:{hole.getsockname()[1]}"
        e = start_ember(CONFIG + "alerting:\n  alertmanagers:\n"
                        f"    - static_configs: [{{targets: ['{stuck}']}}]\n      timeout: 3s\n",
                        extra=["--web.enable-lifecycle", "--rules.alert.resend-delay=1s"])
        wait_for(lambda: alerts(e).get("Always", {}).get("state") == "firing", 10,
                 what="Always firing (its first send now hangs)")
        for targets in (f"['{host}', '{stuck}']", f"['{host}']"):
            cfg.write_text(CONFIG + "alerting:\n  alertmanagers:\n"
                           f"    - static_configs: [{{targets: {targets}}}]\n      timeout: 3s\n")
            assert http("POST", e.base + "/-/reload")[0] == 200
        assert api(e, "/api/v1/alertmanagers")["activeAlertmanagers"] == [
            {"url": f"{alertmanager}/api/v2/alerts"}]

        wait_for(lambda: am_alerts(alertmanager, "Always"), 15,
                 what="the alert in the Alertmanager after the stuck send ended")
        assert e.stop() == 0


def test_broken_rule_file_at_start_exits_with_a_readable_log(tmp_path):
    """At start there is no old rule set to keep: ember refuses to start, and the one log line
    says which file, group and rule, its quotes escaped so logfmt parsers read it whole."""
    (tmp_path / "rules.yml").write_text("groups:\n  - name: broken\n    rules:\n"
                                        "      - record: bad\n        expr: sum(\n")
    line = start_refused(tmp_path, CONFIG, "error loading rules")
    assert 'group \\"broken\\"' in line and line.endswith('"'), line
