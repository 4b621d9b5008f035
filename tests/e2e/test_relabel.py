"""tests/e2e/test_relabel.py — relabel_configs and metric_relabel_configs on the real binary
against Debian's node exporter: targets dropped and labelled before the scrape, the scrape URL
built from relabeled __metrics_path__, scraped series dropped, renamed and stripped of labels
before they are stored, scrape_samples_post_metric_relabeling counting what was kept."""
import subprocess
import urllib.request

from conftest import EMBER_BIN, wait_for

CONFIG = r"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    metrics_path: /not-here
    static_configs:
      - targets: ['{node}']
        labels:
          env: prod
          __tmp_team: Infra
      - targets: ['127.0.0.1:1']
        labels:
          env: dev
    relabel_configs:
      - source_labels: [env]
        regex: dev
        action: drop
      - source_labels: [__tmp_team]
        target_label: team
        action: lowercase
      - source_labels: [__address__]
        regex: '.*:(\d+)'
        target_label: port
      - target_label: __metrics_path__
        replacement: /metrics
      - source_labels: [job, env]
        separator: '-'
        target_label: instance
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
      - source_labels: [__name__]
        regex: 'node_exporter_(build_info)'
        target_label: __name__
        replacement: 'renamed_$1'
      - regex: goversion|revision
        action: labeldrop
  - job_name: nameless
    static_configs:
      - targets: ['{node}']
    metric_relabel_configs:
      - regex: __name__
        action: labeldrop
"""


def result(doc):
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def query(e, q):
    status, doc = e.query(q)
    assert status == 200, doc
    return result(doc)


def scraped_go_samples(node):
    with urllib.request.urlopen(f"http://{node}/metrics", timeout=5) as r:
        body = r.read().decode()
    return sum(1 for line in body.splitlines() if line.startswith("go_"))


def test_target_relabeling_sets_labels_and_drops_targets(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    rows = wait_for(lambda: query(e, 'up{job="node"}'), 20, interval=0.25, what="up{job=node}")
    port = node_exporter.rsplit(":", 1)[1]
    # One target: the dev one was dropped. Reserved labels (__tmp_team, __address__, ...) are
    # gone, the scrape used the relabeled __metrics_path__ (the job's /not-here would be 404).
    assert len(rows) == 1, rows
    assert rows[0]["metric"] == {"__name__": "up", "job": "node", "instance": "node-prod",
                                 "env": "prod", "team": "infra", "port": port}
    assert rows[0]["value"][1] == "1"
    assert query(e, 'up{env="dev"}') == []
    # Every stored series of the target carries the target labels.
    rows = query(e, 'count by (instance, team, port) (node_time_seconds)')
    assert [r["metric"] for r in rows] == [{"instance": "node-prod", "team": "infra",
                                            "port": port}]
    assert e.stop() == 0


def test_metric_relabeling_drops_renames_and_counts(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    wait_for(lambda: query(e, 'scrape_samples_post_metric_relabeling{job="node"}'), 20,
             interval=0.25, what="scrape report series")
    # Wait for a second scrape so the series cache (dropped entries included) is exercised.
    wait_for(lambda: len(query(e, 'count_over_time(up{job="node"}[1m]) >= 2')) == 1, 20,
             interval=0.25, what="two scrapes")
    assert query(e, '{__name__=~"go_.+", job="node"}') == []
    assert query(e, 'node_exporter_build_info') == []
    renamed = query(e, 'renamed_build_info{job="node"}')
    assert len(renamed) == 1, renamed
    labels = renamed[0]["metric"]
    assert "goversion" not in labels and "revision" not in labels
    assert labels["version"] and labels["instance"] == "node-prod"
    # Report series are not metric-relabeled; post counts what was kept.
    scraped = float(query(e, 'scrape_samples_scraped{job="node"}')[0]["value"][1])
    post = float(query(e, 'scrape_samples_post_metric_relabeling{job="node"}')[0]["value"][1])
    go = scraped_go_samples(node_exporter)
    assert go > 10
    assert scraped - post == go, (scraped, post, go)
    stored = float(query(e, 'count({job="node", __name__!~"up|scrape_.*"})')[0]["value"][1])
    assert stored == post
    assert e.stop() == 0


def test_series_without_a_name_after_relabeling_fail_the_scrape(start_ember, node_exporter):
    e = start_ember(CONFIG.replace("{node}", node_exporter))
    rows = wait_for(lambda: query(e, 'up{job="nameless"}'), 20, interval=0.25,
                    what="up{job=nameless}")
    assert rows[0]["value"][1] == "0"  # as Prometheus: "missing metric name" fails the scrape
    assert query(e, 'scrape_samples_post_metric_relabeling{job="nameless"}')[0]["value"][1] == "0"
    assert query(e, '{job="nameless", __name__!~"up|scrape_.*"}') == []
    assert e.stop() == 0


def test_bad_relabel_config_is_refused_with_position(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("scrape_configs:\n  - job_name: x\n    relabel_configs:\n"
                   "      - source_labels: [a]\n        action: replase\n")
    r = subprocess.run([EMBER_BIN, f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                        f"--storage.tsdb.path={tmp_path / 'data'}"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert f"{cfg}:5:17: unknown relabel action 'replase'" in r.stderr, r.stderr
    cfg.write_text("scrape_configs:\n  - job_name: x\n    metric_relabel_configs:\n"
                   "      - regex: '(unclosed'\n        target_label: t\n")
    r = subprocess.run([EMBER_BIN, f"--config.file={cfg}", "--web.listen-address=127.0.0.1:0",
                        f"--storage.tsdb.path={tmp_path / 'data'}"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert f"{cfg}:4:16: metric_relabel_configs: error parsing regexp" in r.stderr, r.stderr
