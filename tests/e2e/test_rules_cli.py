"""tests/e2e/test_rules_cli.py — `ember check config`, `ember check rules` and `ember test rules`:
promtool's exit codes (0 ok, 1 failure) and readable failure diffs. When /usr/bin/promtool exists
the same files are also run through it and the verdicts must agree (never required)."""
import os
import subprocess

from conftest import EMBER_BIN

PROMTOOL = "/usr/bin/promtool"

RULES = """groups:
  - name: example
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "Instance {{ $labels.instance }} down"
"""

TESTS = """rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="prometheus", instance="localhost:9090"}'
        values: '0x14'
      - series: 'up{job="node", instance="localhost:9100"}'
        values: '1+0x6 0 0 0 0 0 0 0 0'
      - series: 'go_goroutines{job="x"}'
        values: '1+2x3 _ stale 5'
    alert_rule_test:
      - eval_time: 10m
        alertname: InstanceDown
        exp_alerts:
          - exp_labels: {severity: page, instance: "localhost:9090", job: prometheus}
            exp_annotations: {summary: "Instance localhost:9090 down"}
      - eval_time: 2m
        alertname: InstanceDown
        exp_alerts: []
    promql_expr_test:
      - expr: go_goroutines
        eval_time: 3m
        exp_samples:
          - labels: 'go_goroutines{job="x"}'
            value: 7
      - expr: job:up:sum
        eval_time: 4m
        exp_samples:
          - labels: 'job:up:sum{job="prometheus"}'
            value: 0
          - labels: 'job:up:sum{job="node"}'
            value: 1
      - expr: go_goroutines
        eval_time: 5m
        exp_samples: []
"""


def run(*args, cwd):
    p = subprocess.run([EMBER_BIN, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def promtool_agrees(args, cwd, code):
    if os.path.exists(PROMTOOL):
        p = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, timeout=60)
        assert p.returncode == code, p.stdout + p.stderr


def test_test_rules_pass_and_fail(tmp_path):
    (tmp_path / "alerts.yml").write_text(RULES)
    (tmp_path / "pass.yml").write_text(TESTS)
    code, out = run("test", "rules", "pass.yml", cwd=tmp_path)
    assert code == 0, out
    assert "Unit Testing:  pass.yml\n  SUCCESS" in out
    promtool_agrees(["test", "rules", "pass.yml"], tmp_path, 0)
    (tmp_path / "fail.yml").write_text(TESTS.replace("value: 7", "value: 8")
                                       .replace("eval_time: 2m", "eval_time: 12m"))
    code, out = run("test", "rules", "pass.yml", "fail.yml", cwd=tmp_path)
    assert code == 1, out
    assert "Unit Testing:  fail.yml\n  FAILED:" in out
    # The diff names the alert and time, then what was expected and what came.
    assert "alertname: InstanceDown, time: 12m, \n        exp:[], \n        got:[" in out
    assert 'Labels:{alertname="InstanceDown", instance="localhost:9100", job="node", ' \
           'severity="page"}' in out
    assert ('expr: "go_goroutines", time: 3m,\n'
            '        exp: {__name__="go_goroutines", job="x"} 8E+00\n'
            '        got: {__name__="go_goroutines", job="x"} 7E+00') in out
    promtool_agrees(["test", "rules", "fail.yml"], tmp_path, 1)


def test_test_rules_bad_files(tmp_path):
    (tmp_path / "alerts.yml").write_text(RULES.replace("sum by (job) (up)", "sum by (job) (up"))
    (tmp_path / "t.yml").write_text(TESTS)
    code, out = run("test", "rules", "t.yml", cwd=tmp_path)
    assert code == 1 and "could not parse expression" in out, out
    (tmp_path / "u.yml").write_text("tests: [{bogus: 1}]\n")
    code, out = run("test", "rules", "u.yml", cwd=tmp_path)
    assert code == 1 and 'unknown key "bogus"' in out, out
    code, out = run("test", "rules", "missing.yml", cwd=tmp_path)
    assert code == 1 and "No such file" in out, out
    code, out = run("test", "rules", cwd=tmp_path)
    assert code == 2 and "usage" in out


def test_check_rules_and_config(tmp_path):
    (tmp_path / "alerts.yml").write_text(RULES)
    (tmp_path / "bad.yml").write_text(RULES.replace("record: job:up:sum", "record: job up"))
    other = RULES.replace("groups:\n", "").replace("name: example", "name: other")
    (tmp_path / "dup.yml").write_text(RULES + other)
    code, out = run("check", "rules", "alerts.yml", cwd=tmp_path)
    assert code == 0 and "SUCCESS: 2 rules found" in out, out
    promtool_agrees(["check", "rules", "alerts.yml"], tmp_path, 0)
    code, out = run("check", "rules", "alerts.yml", "bad.yml", cwd=tmp_path)
    assert code == 1, out
    assert 'bad.yml:4:17: group "example", rule 1 ("job up"): invalid recording rule name' in out
    promtool_agrees(["check", "rules", "bad.yml"], tmp_path, 1)
    code, out = run("check", "rules", "dup.yml", cwd=tmp_path)
    assert code == 0 and "2 duplicate rule(s) found." in out, out
    (tmp_path / "prometheus.yml").write_text("rule_files: ['*.yml']\n")
    code, out = run("check", "config", "prometheus.yml", cwd=tmp_path)
    assert code == 1 and "FAILED" in out, out  # the glob also matches prometheus.yml itself
    (tmp_path / "prometheus.yml").write_text("rule_files: [alerts.yml]\n"
                                             "alerting: {alertmanagers: "
                                             "[{static_configs: [{targets: ['127.0.0.1:9093']}]}]}\n")
    code, out = run("check", "config", "prometheus.yml", cwd=tmp_path)
    assert code == 0 and "SUCCESS: 1 rule files found" in out, out
    promtool_agrees(["check", "config", "prometheus.yml"], tmp_path, 0)
    (tmp_path / "prometheus.yml").write_text("scrape_configs: [{job_name: a, bogus: 1}]\n")
    code, out = run("check", "config", "prometheus.yml", cwd=tmp_path)
    assert code == 1 and "unknown key 'bogus'" in out, out
