"""tests/e2e/test_targets.py — /api/v1/targets, /api/v1/targets/metadata and /api/v1/metadata on
the real binary scraping Debian's node exporter, a closed port (down) and targets dropped by
relabel_configs keep/drop, checked against Prometheus 2.42's JSON shapes."""
import json
import re
import socket

from conftest import wait_for

CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    scrape_interval: 2s
    static_configs:
      - targets: ['{node}']
        labels:
          zone: z1
  - job_name: down
    static_configs:
      - targets: ['127.0.0.1:{closed}']
  - job_name: relabeled
    static_configs:
      - targets: ['127.0.0.1:{closed}']
        labels: {keepme: 'yes'}
      - targets: ['127.0.0.2:{closed}']
        labels: {keepme: 'no'}
      - targets: ['127.0.0.3:{closed}']
        labels: {keepme: 'yes', gone: 'true'}
    relabel_configs:
      - source_labels: [keepme]
        regex: 'yes'
        action: keep
      - source_labels: [gone]
        regex: 'true'
        action: drop
"""

TARGET_KEYS = ["discoveredLabels", "labels", "scrapePool", "scrapeUrl", "globalUrl", "lastError",
               "lastScrape", "lastScrapeDuration", "health", "scrapeInterval", "scrapeTimeout"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the socket is: connections are refused


def targets(e, **params):
    status, _, raw = e.get("/api/v1/targets", **params)
    assert status == 200, raw
    doc = json.loads(raw)
    assert doc["status"] == "success", doc
    assert list(doc["data"].keys()) == ["activeTargets", "droppedTargets"]
    return doc["data"]


def start(start_ember, node):
    return start_ember(CONFIG.replace("{node}", node).replace("{closed}", str(closed_port())))


def scraped(e):
    """Waits until every active target has been scraped at least once; returns them by pool."""
    def done():
        act = targets(e)["activeTargets"]
        return {t["scrapePool"]: t for t in act} if all(t["health"] != "unknown"
                                                       for t in act) else None
    return wait_for(done, 20, interval=0.25, what="every target scraped once")


def test_targets_active_down_and_dropped(start_ember, node_exporter):
    e = start(start_ember, node_exporter)
    pools = scraped(e)
    assert sorted(pools) == ["down", "node", "relabeled"]
    node = pools["node"]
    assert list(node.keys()) == TARGET_KEYS
    assert node["health"] == "up" and node["lastError"] == ""
    assert node["labels"] == {"instance": node_exporter, "job": "node", "zone": "z1"}
    assert node["discoveredLabels"] == {
        "__address__": node_exporter, "__metrics_path__": "/metrics", "__scheme__": "http",
        "__scrape_interval__": "2s", "__scrape_timeout__": "1s", "job": "node", "zone": "z1"}
    assert node["scrapeUrl"] == f"http://{node_exporter}/metrics"
    port = node_exporter.rsplit(":", 1)[1]
    assert node["globalUrl"].startswith("http://") and node["globalUrl"].endswith(
        f":{port}/metrics")
    assert "127.0.0.1" not in node["globalUrl"]  # loopback becomes this machine's name
    assert RFC3339.match(node["lastScrape"]), node["lastScrape"]
    assert isinstance(node["lastScrapeDuration"], float) and 0 < node["lastScrapeDuration"] < 2
    assert node["scrapeInterval"] == "2s" and node["scrapeTimeout"] == "1s"

    down = pools["down"]
    assert down["health"] == "down"
    assert "connection refused" in down["lastError"].lower(), down["lastError"]
    assert down["scrapeInterval"] == "1s"

    # keep/drop: one of three targets of the job survives, two are listed as dropped.
    assert pools["relabeled"]["labels"]["keepme"] == "yes"
    data = targets(e)
    dropped = data["droppedTargets"]
    assert len(dropped) == 2
    assert all(list(d.keys()) == ["discoveredLabels"] for d in dropped)
    assert sorted(d["discoveredLabels"]["__address__"].split(":")[0] for d in dropped) == [
        "127.0.0.2", "127.0.0.3"]
    assert all(d["discoveredLabels"]["job"] == "relabeled" for d in dropped)

    # The state filter, in any case; an unknown state lists nothing, as Prometheus does.
    only_active = targets(e, state="active")
    assert len(only_active["activeTargets"]) == 3 and only_active["droppedTargets"] == []
    only_dropped = targets(e, state="Dropped")
    assert only_dropped["activeTargets"] == [] and len(only_dropped["droppedTargets"]) == 2
    assert len(targets(e, state="any")["activeTargets"]) == 3
    assert targets(e, state="bogus") == {"activeTargets": [], "droppedTargets": []}
    assert e.stop() == 0


META_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['{node}']
  - job_name: node-again
    static_configs:
      - targets: ['{node}']
  - job_name: ember
    static_configs:
      - targets: ['127.0.0.1:{self_port}']
"""


def get_json(e, path, **params):
    status, _, raw = e.get(path, **params)
    return status, json.loads(raw)


def test_metadata_endpoints_after_node_exporter_scrape(start_ember, node_exporter):
    e = start_ember(META_CONFIG.replace("{node}", node_exporter))

    def have_metadata():
        _, per_target = get_json(e, "/api/v1/targets/metadata", metric="node_cpu_seconds_total")
        status, doc = get_json(e, "/api/v1/metadata")
        return doc["data"] if status == 200 and len(per_target["data"]) == 2 and \
            "prometheus_build_info" in doc["data"] else None
    data = wait_for(have_metadata, 20, interval=0.25, what="metadata from all three targets")
    # The same family from two targets with equal metadata is listed once.
    assert data["node_cpu_seconds_total"] == [
        {"type": "counter", "help": "Seconds the CPUs spent in each mode.", "unit": ""}]
    assert data["go_gc_duration_seconds"][0]["type"] == "summary"
    assert "up" not in data  # synthetic series have no metadata, as in Prometheus
    assert list(data.keys()) == sorted(data.keys())
    assert all(isinstance(v, list) and v for v in data.values())

    status, doc = get_json(e, "/api/v1/metadata", metric="node_cpu_seconds_total")
    assert status == 200 and list(doc["data"]) == ["node_cpu_seconds_total"]
    status, doc = get_json(e, "/api/v1/metadata", metric="no_such_metric")
    assert status == 200 and doc["data"] == {}
    status, doc = get_json(e, "/api/v1/metadata", limit="2")
    assert status == 200 and len(doc["data"]) == 2
    status, doc = get_json(e, "/api/v1/metadata", limit="0")
    assert status == 200 and doc["data"] == {}
    status, doc = get_json(e, "/api/v1/metadata", limit="x")
    assert status == 400 and doc == {"status": "error", "errorType": "bad_data",
                                     "error": "limit must be a number"}
    status, doc = get_json(e, "/api/v1/metadata", limit_per_metric="y")
    assert status == 400 and doc["error"] == "limit_per_metric must be a number"
    status, doc = get_json(e, "/api/v1/metadata", limit_per_metric="1")
    assert status == 200 and all(len(v) == 1 for v in doc["data"].values())

    # Per target: one row per family with the target's labels.
    status, doc = get_json(e, "/api/v1/targets/metadata", match_target='{job="node"}')
    assert status == 200, doc
    rows = doc["data"]
    assert rows and all(r["target"] == {"instance": node_exporter, "job": "node"} for r in rows)
    assert list(rows[0].keys()) == ["target", "metric", "type", "help", "unit"]
    cpu = [r for r in rows if r["metric"] == "node_cpu_seconds_total"]
    assert cpu == [{"target": {"instance": node_exporter, "job": "node"},
                    "metric": "node_cpu_seconds_total", "type": "counter",
                    "help": "Seconds the CPUs spent in each mode.", "unit": ""}]
    # With metric=..., one row per target that has it and no "metric" key.
    status, doc = get_json(e, "/api/v1/targets/metadata", metric="node_cpu_seconds_total")
    assert status == 200
    assert sorted(r["target"]["job"] for r in doc["data"]) == ["node", "node-again"]
    assert all("metric" not in r for r in doc["data"])
    status, doc = get_json(e, "/api/v1/targets/metadata", match_target='{job="ember"}',
                           metric="prometheus_build_info")
    assert status == 200 and len(doc["data"]) == 1 and doc["data"][0]["type"] == "gauge"
    # The limit is checked per target: the first target's list is complete.
    status, doc = get_json(e, "/api/v1/targets/metadata", limit="1")
    assert status == 200 and len(doc["data"]) > 1
    assert len({json.dumps(r["target"]) for r in doc["data"]}) == 1
    status, doc = get_json(e, "/api/v1/targets/metadata", match_target="{job=")
    assert status == 400 and doc["errorType"] == "bad_data"
    status, doc = get_json(e, "/api/v1/targets/metadata", limit="1.5")
    assert status == 400 and doc["error"] == "limit must be a number"
    assert e.stop() == 0
