"""tests/e2e/test_grafana_api.py — the metadata endpoints as Grafana calls them
(shared/grafana-compat.md §6): label names, label values, series, exemplars, with the encodings
Grafana produces (GET with encodeURIComponent, POST form bodies from URLSearchParams), Prometheus'
sorting, defaults, limits and error types. Data comes in through /api/v1/import/prometheus."""
import json
import time
import urllib.parse

from conftest import http

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def load(ember, now_ms):
    """Three metrics; old_metric is two hours old, outside Grafana's one-hour window."""
    old = now_ms - 7200 * 1000
    text = (f'up{{job="api",instance="a:1"}} 1 {now_ms}\n'
            f'up{{job="api",instance="b:1"}} 0 {now_ms}\n'
            f'up{{job="node",instance="n:9100"}} 1 {now_ms}\n'
            f'http_requests_total{{job="api",code="200",method="get"}} 10 {now_ms}\n'
            f'http_requests_total{{job="api",code="500",method="post"}} 2 {now_ms}\n'
            f'old_metric{{job="gone",zone="z1"}} 5 {old}\n')
    status, _, raw = http("POST", ember.base + "/api/v1/import/prometheus", data=text.encode())
    assert status == 204, raw


def browser_get(ember, path, params):
    """A resource call as the browser builds it: encodeURIComponent, insertion order."""
    q = "&".join(f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}"
                 for k, v in params)
    status, headers, raw = http("GET", f"{ember.base}{path}?{q}")
    return status, headers, json.loads(raw)


def browser_post(ember, path, params):
    body = urllib.parse.urlencode(params).encode()  # URLSearchParams: space as '+'
    status, headers, raw = http("POST", ember.base + path, data=body, headers=FORM)
    return status, headers, json.loads(raw)


def snapped(now_s):
    """Grafana's "Low" cache snapping of a one-hour window (§2.5)."""
    start = (now_s - 3600) // 60 * 60
    end = -(-now_s // 60) * 60 + 60
    return str(start), str(end)


def test_explore_metric_and_label_browser_sequence(start_ember):
    # No scrape configs: the default config's self-scrape would add ember's own metric names
    # to the lists below whenever its first scrape lands within the test (slow, loaded runs).
    ember = start_ember("scrape_configs: []\n")
    now = int(time.time())
    load(ember, now * 1000)
    S, E = snapped(now)
    # (2).3 opening the metric combobox
    status, headers, body = browser_get(ember, "/api/v1/label/__name__/values",
                                        [("limit", "40000"), ("start", S), ("end", E)])
    assert status == 200 and headers["Content-Type"] == "application/json"
    # Without match[] the head's whole index answers, as in Prometheus: the two-hour-old
    # series is still in the head.
    assert body == {"status": "success", "data": ["http_requests_total", "old_metric", "up"]}
    # (2).4 typing "up": regex on __name__
    status, _, body = browser_get(ember, "/api/v1/label/__name__/values",
                                  [("limit", "40000"), ("start", S), ("end", E),
                                   ("match[]", '{__name__=~".*up.*"}')])
    assert status == 200 and body["data"] == ["up"]
    # (2).5 label names for a metric (POST), then one label's values
    status, _, body = browser_post(ember, "/api/v1/labels",
                                   [("limit", "40000"), ("start", S), ("end", E),
                                    ("match[]", '{__name__="up"}')])
    assert status == 200 and body["data"] == ["__name__", "instance", "job"]
    status, _, body = browser_get(ember, "/api/v1/label/job/values",
                                  [("limit", "40000"), ("start", S), ("end", E),
                                   ("match[]", '{__name__="up"}')])
    assert status == 200 and body["data"] == ["api", "node"]
    # code mode: limit=1000, !="" matchers
    status, _, body = browser_post(ember, "/api/v1/labels",
                                   [("limit", "1000"), ("match[]", 'http_requests_total{code!=""}')])
    assert body["data"] == ["__name__", "code", "job", "method"]


def test_template_variables_sequence(start_ember):
    ember = start_ember()
    now = int(time.time())
    load(ember, now * 1000)
    S, E = snapped(now)
    # (4) 12.1+: label_values(up, job) with a bare metric name as match[]
    status, _, body = browser_get(ember, "/api/v1/label/job/values",
                                  [("limit", "40000"), ("start", S), ("end", E),
                                   ("match[]", "up")])
    assert status == 200 and body["data"] == ["api", "node"]
    # 10.x: POST /api/v1/series, labels extracted in the browser
    status, _, body = browser_post(ember, "/api/v1/series",
                                   [("match[]", "up"), ("start", S), ("end", E)])
    assert status == 200
    assert body["data"] == [
        {"__name__": "up", "instance": "a:1", "job": "api"},
        {"__name__": "up", "instance": "b:1", "job": "api"},
        {"__name__": "up", "instance": "n:9100", "job": "node"},
    ]
    # "Use series endpoint": {__name__!=""} selects everything in the window, sorted by labels
    status, _, body = browser_post(ember, "/api/v1/series",
                                   [("match[]", '{__name__!=""}'), ("start", S), ("end", E)])
    names = [s["__name__"] for s in body["data"]]
    assert names == ["http_requests_total"] * 2 + ["up"] * 3
    # label_names(): POST labels with only the window
    status, _, body = browser_post(ember, "/api/v1/labels",
                                   [("limit", "40000"), ("start", S), ("end", E)])
    assert status == 200 and body["data"] == sorted(body["data"])
    assert {"__name__", "code", "instance", "job", "method"} <= set(body["data"])
    # metrics(re)
    status, _, body = browser_get(ember, "/api/v1/label/__name__/values",
                                  [("match[]", '{__name__=~"http.*"}')])
    assert body["data"] == ["http_requests_total"]


def test_time_window_and_defaults(start_ember):
    ember = start_ember()
    now = int(time.time())
    load(ember, now * 1000)
    # no start/end: all time, the hour-old series included
    status, _, body = browser_get(ember, "/api/v1/series", [("match[]", '{job=~".+"}')])
    assert status == 200 and len(body["data"]) == 6
    # a window ending before the recent samples holds only the old one
    status, _, body = browser_get(ember, "/api/v1/series",
                                  [("match[]", '{job=~".+"}'), ("start", str(now - 7300)),
                                   ("end", str(now - 7100))])
    assert body["data"] == [{"__name__": "old_metric", "job": "gone", "zone": "z1"}]
    status, _, body = browser_get(ember, "/api/v1/label/zone/values",
                                  [("match[]", "old_metric"), ("start", str(now - 60))])
    assert body == {"status": "success", "data": []}
    # RFC3339 start/end
    status, _, body = browser_get(ember, "/api/v1/label/job/values",
                                  [("match[]", "old_metric"),
                                   ("start", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                           time.gmtime(now - 7300)))])
    assert body["data"] == ["gone"]
    # unknown label: empty list, never null
    status, _, body = browser_get(ember, "/api/v1/label/nosuch/values", [])
    assert status == 200 and body["data"] == []
    # several match[] are a union
    status, _, body = browser_get(ember, "/api/v1/labels",
                                  [("match[]", "old_metric"), ("match[]", "up")])
    assert body["data"] == ["__name__", "instance", "job", "zone"]


def test_limit_truncates_with_a_warning(start_ember):
    ember = start_ember()
    load(ember, int(time.time()) * 1000)
    status, _, body = browser_get(ember, "/api/v1/labels", [("limit", "2")])
    assert status == 200
    assert body == {"status": "success", "data": ["__name__", "code"],
                    "warnings": ["results truncated due to limit"]}
    status, _, body = browser_post(ember, "/api/v1/series", [("match[]", "up"), ("limit", "1")])
    assert len(body["data"]) == 1 and body["warnings"] == ["results truncated due to limit"]
    status, _, body = browser_get(ember, "/api/v1/label/job/values", [("limit", "3")])
    assert body == {"status": "success", "data": ["api", "gone", "node"]}  # exactly 3: no warning
    status, _, body = browser_get(ember, "/api/v1/label/job/values", [("limit", "0")])
    assert body["data"] == ["api", "gone", "node"]


def test_errors_have_prometheus_types_and_codes(start_ember):
    ember = start_ember()
    cases = [
        ("/api/v1/series", [], "no match[] parameter provided"),
        # Prometheus 2.42 names the parameter for /series only (bench/api_compare.py)
        ("/api/v1/series", [("match[]", '{a=""}')],
         'invalid parameter "match[]": match[] must contain at least one non-empty matcher'),
        ("/api/v1/labels", [("match[]", '{__name__=~".*"}')],
         "match[] must contain at least one non-empty matcher"),
        ("/api/v1/label/1bad/values", [], 'invalid label name: "1bad"'),
        ("/api/v1/labels", [("start", "abc")],
         "invalid parameter \"start\": Invalid time value for 'start': "
         "cannot parse \"abc\" to a valid timestamp"),
        ("/api/v1/label/job/values", [("end", "x")],
         "invalid parameter \"end\": Invalid time value for 'end': "
         "cannot parse \"x\" to a valid timestamp"),
        ("/api/v1/labels", [("limit", "-1")], 'invalid parameter "limit": limit must be non-negative'),
        ("/api/v1/series", [("match[]", "up"), ("limit", "x")],
         'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax'),
        ("/api/v1/query_exemplars", [("query", "up"), ("start", "10"), ("end", "5")],
         "end timestamp must not be before start timestamp"),
    ]
    for path, params, msg in cases:
        status, headers, body = browser_get(ember, path, params)
        assert (status, body) == (400, {"status": "error", "errorType": "bad_data",
                                        "error": msg}), path
        assert headers["Content-Type"] == "application/json"
    status, _, body = browser_get(ember, "/api/v1/series", [("match[]", "up{")])
    assert status == 400 and body["errorType"] == "bad_data" and "parse error" in body["error"]
    status, _, body = browser_get(ember, "/api/v1/query_exemplars", [("query", "sum(")])
    assert status == 400 and body["errorType"] == "bad_data"
    # label values is GET-only: a POST gets 405 (Grafana then retries with GET)
    status, headers, raw = http("POST", ember.base + "/api/v1/label/job/values", data=b"",
                                headers=FORM)
    assert status == 405 and "GET" in headers["Allow"]


def test_exemplar_probe_with_millisecond_timestamps(start_ember):
    ember = start_ember()
    now_ms = int(time.time() * 1000)
    status, _, body = browser_post(ember, "/api/v1/query_exemplars",
                                   [("query", "test"), ("start", str(now_ms - 1800000)),
                                    ("end", str(now_ms))])
    assert (status, body) == (200, {"status": "success", "data": []})
    status, _, raw = http("GET", ember.base + "/api/v1/query_exemplars?query=rate(up%5B5m%5D)")
    assert (status, json.loads(raw)) == (200, {"status": "success", "data": []})
    # no selector in the query: 204 without a body, as Prometheus 2.42 answers
    status, _, raw = http("GET", ember.base + "/api/v1/query_exemplars?query=1%2B1")
    assert (status, raw) == (204, b"")


def test_save_and_test_sequence(start_ember):
    """(1): the health check's instant query, then buildinfo for the heuristics."""
    ember = start_ember()
    status, headers, raw = http("POST", ember.base + "/api/v1/query", data=b"query=1%2B1&time=4",
                                headers={**FORM, "User-Agent": "Grafana/12.3.0",
                                         "Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(raw) == {"status": "success",
                               "data": {"resultType": "scalar", "result": [4, "2"]}}
    status, _, raw = http("GET", ember.base + "/api/v1/status/buildinfo",
                          headers={"Accept-Encoding": "gzip"})
    data = json.loads(raw)["data"]
    assert status == 200 and "features" not in data and data["version"].startswith("2.42.0")
