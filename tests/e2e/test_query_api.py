"""tests/e2e/test_query_api.py — /api/v1/query_range, format_query and parse_query against the real
binary: response shapes field by field, Prometheus 2.42's error types, status codes and messages
(checked against the reference binary), form bodies, the 11,000-point limit, and queries queued
behind --query.max-concurrency instead of failing."""
import gzip
import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import free_port, http, wait_for

NO_SCRAPES = "scrape_configs: []\n"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def call(e, path, method="GET", url_params=None, headers=None, **params):
    """GET with params in the URL, or POST with them as a form body (url_params go in the URL).
    Returns (status, headers, parsed JSON)."""
    url = e.base + path
    if method == "GET":
        params = {**(url_params or {}), **params}
    if method == "GET" and params:
        url += "?" + urllib.parse.urlencode(params)
    elif url_params:
        url += "?" + urllib.parse.urlencode(url_params)
    data = urllib.parse.urlencode(params).encode() if method == "POST" else None
    hdrs = {**FORM, **(headers or {})} if method == "POST" else (headers or {})
    status, h, raw = http(method, url, data=data, headers=hdrs, timeout=30)
    return status, h, json.loads(raw)


def query_range(e, q, method="GET", **params):
    status, _, doc = call(e, "/api/v1/query_range", method, query=q, **params)
    return status, doc


def matrix(doc):
    assert doc["status"] == "success", doc
    assert set(doc) == {"status", "data"}
    assert set(doc["data"]) == {"resultType", "result"}
    assert doc["data"]["resultType"] == "matrix"
    return doc["data"]["result"]


def assert_error(status, doc, want_status, want_type, want_msg=None):
    assert status == want_status, (status, doc)
    assert set(doc) == {"status", "errorType", "error"}, doc
    assert doc["status"] == "error" and doc["errorType"] == want_type, doc
    if want_msg is not None:
        assert doc["error"] == want_msg


# --- query_range: shapes ---------------------------------------------------------------------

def test_range_of_a_scalar_is_one_series_without_labels(start_ember):
    e = start_ember(NO_SCRAPES)
    want = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[1000, "1"], [1015, "1"], [1030, "1"], [1045, "1"],
                                  [1060, "1"]]}]}}
    for step in ("15", "15s", "15.0", "1.5e1"):
        for method in ("GET", "POST"):
            status, headers, doc = call(e, "/api/v1/query_range", method, query="vector(1)",
                                        start="1000", end="1060", step=step)
            assert status == 200 and doc == want, (step, method, doc)
            assert headers["Content-Type"] == "application/json"
    # A scalar expression and time() as Prometheus answers them.
    status, doc = query_range(e, "time()", start="1000.001", end="1000.035", step="0.01")
    assert status == 200
    assert matrix(doc) == [{"metric": {}, "values": [
        [1000.001, "1000.001"], [1000.011, "1000.011"], [1000.021, "1000.021"],
        [1000.031, "1000.031"]]}]
    status, doc = query_range(e, "1", start="5", end="5", step="1h")  # one point
    assert matrix(doc) == [{"metric": {}, "values": [[5, "1"]]}]
    assert e.stop() == 0


def test_timestamps_are_exact_milliseconds_on_the_wire(start_ember):
    e = start_ember(NO_SCRAPES)
    # Evaluation times are start + k*step, never re-aligned to the step (Grafana relies on it).
    status, _, raw = http("GET", e.base + "/api/v1/query_range?query=time()&start=1000.001"
                          "&end=1000.035&step=0.01")
    assert status == 200
    assert (b'"values":[[1000.001,"1000.001"],[1000.011,"1000.011"],[1000.021,"1000.021"],'
            b'[1000.031,"1000.031"]]') in raw
    status, _, raw = http("GET", e.base + "/api/v1/query_range?query=vector(0.5)&start=1.5"
                          "&end=2.5&step=0.5")
    assert raw == (b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
                   b'"values":[[1.500,"0.5"],[2,"0.5"],[2.500,"0.5"]]}]}}')
    assert e.stop() == 0


def test_series_are_sorted_by_labels_as_prometheus_sorts_them(start_ember):
    e = start_ember(NO_SCRAPES)
    q = ('label_replace(vector(1), "a", "z", "", "") or label_replace(vector(2), "a", "b", "", "")'
         ' or label_replace(vector(3), "a", "m", "", "")')
    # The instant query keeps the operator's order; the range query sorts.
    status, doc = e.query(q, time="1")
    assert [r["metric"] for r in doc["data"]["result"]] == [{"a": "z"}, {"a": "b"}, {"a": "m"}]
    status, doc = query_range(e, q, start="1", end="2", step="1")
    assert matrix(doc) == [
        {"metric": {"a": "b"}, "values": [[1, "2"], [2, "2"]]},
        {"metric": {"a": "m"}, "values": [[1, "3"], [2, "3"]]},
        {"metric": {"a": "z"}, "values": [[1, "1"], [2, "1"]]},
    ]
    assert e.stop() == 0


def test_post_form_bodies_like_grafana_sends_them(start_ember):
    e = start_ember(NO_SCRAPES)
    want = [{"metric": {}, "values": [[10, "2"], [20, "2"]]}]
    # Grafana's Go client: keys sorted, everything in the body.
    body = b"end=20&query=1%2B1&start=10&step=10"
    for ctype in ("application/x-www-form-urlencoded",
                  "application/x-www-form-urlencoded; charset=UTF-8"):
        status, _, raw = http("POST", e.base + "/api/v1/query_range", data=body,
                              headers={"Content-Type": ctype})
        assert status == 200 and matrix(json.loads(raw)) == want, ctype
    # Parameters in the URL with an empty body (custom query parameters, later Grafana).
    status, _, raw = http("POST", e.base + "/api/v1/query_range?query=1%2B1&start=10&end=20"
                          "&step=10", data=b"", headers=FORM)
    assert status == 200 and matrix(json.loads(raw)) == want
    # Both: the body wins on conflict, the URL fills in the rest.
    status, _, doc = call(e, "/api/v1/query_range", "POST", url_params={"query": "7", "step": "10"},
                          query="2", start="10", end="20")
    assert status == 200 and matrix(doc) == want
    # A body that is not a form is ignored, as Go ignores it: query looks empty.
    status, _, raw = http("POST", e.base + "/api/v1/query_range", data=body,
                          headers={"Content-Type": "text/plain"})
    assert_error(status, json.loads(raw), 400, "bad_data",
                 'invalid parameter "start": cannot parse "" to a valid timestamp')
    assert e.stop() == 0


class Exporter:
    """A fixed set of series on a free loopback port; counters grow by one step per scrape."""

    def __init__(self):
        self.scrapes = 0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                exporter.scrapes += 1
                n = exporter.scrapes
                body = (
                    "# TYPE http_requests_total counter\n"
                    f'http_requests_total{{code="200",path="/b"}} {3 * n}\n'
                    f'http_requests_total{{code="500",path="/a"}} {n}\n'
                    f'http_requests_total{{code="200",path="/a"}} {10 * n}\n'
                    "# TYPE temperature gauge\n"
                    'temperature{room="x"} 21.5\n'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_scraped_series_as_a_matrix(start_ember):
    exp = Exporter()
    try:
        e = start_ember("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n"
                        f"    static_configs:\n      - targets: ['127.0.0.1:{exp.port}']\n")
        inst = f"127.0.0.1:{exp.port}"

        def enough():
            status, doc = e.query('count_over_time(http_requests_total{path="/b"}[1m])')
            rows = doc["data"]["result"]
            return rows and float(rows[0]["value"][1]) >= 6
        wait_for(enough, 20, interval=0.25, what="six scrapes")
        end = int(time.time())
        start = end - 3
        status, doc = query_range(e, "http_requests_total", start=str(start), end=str(end),
                                  step="1")
        assert status == 200
        rows = matrix(doc)
        assert [r["metric"] for r in rows] == [
            {"__name__": "http_requests_total", "code": "200", "instance": inst, "job": "app",
             "path": "/a"},
            {"__name__": "http_requests_total", "code": "200", "instance": inst, "job": "app",
             "path": "/b"},
            {"__name__": "http_requests_total", "code": "500", "instance": inst, "job": "app",
             "path": "/a"},
        ]
        for r in rows:
            assert set(r) == {"metric", "values"}
            ts = [p[0] for p in r["values"]]
            assert ts == [start + k for k in range(4)]  # every step has a sample (lookback)
            for t, v in r["values"]:
                assert isinstance(t, int) and isinstance(v, str)
            vals = [float(p[1]) for p in r["values"]]
            assert vals == sorted(vals) and vals[0] > 0  # counters only grow
        # Aggregation drops __name__ and groups; the gauge is constant.
        status, doc = query_range(e, "sum by (path) (rate(http_requests_total[5s]))",
                                  start=str(start), end=str(end), step="1", method="POST")
        rows = matrix(doc)
        assert [r["metric"] for r in rows] == [{"path": "/a"}, {"path": "/b"}]
        assert all(float(v) > 0 for r in rows for _, v in r["values"])
        status, doc = query_range(e, "temperature", start=str(start), end=str(end), step="2")
        assert [p[1] for p in matrix(doc)[0]["values"]] == ["21.5", "21.5"]
        # Before any sample: no series at all, not series without points.
        status, doc = query_range(e, "http_requests_total", start="1000", end="2000", step="10")
        assert matrix(doc) == []
        assert e.stop() == 0
    finally:
        exp.close()


# --- query_range: errors and limits ----------------------------------------------------------

ZERO_STEP = ('invalid parameter "step": zero or negative query resolution step widths are not '
             'accepted. Try a positive integer')
TOO_MANY_POINTS = ("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
                   "the query resolution (?step=XX)")


def test_range_parameter_errors_match_prometheus(start_ember):
    e = start_ember(NO_SCRAPES)
    cases = [
        ({}, 'invalid parameter "start": cannot parse "" to a valid timestamp'),
        ({"start": "abc", "end": "2", "step": "1"},
         'invalid parameter "start": cannot parse "abc" to a valid timestamp'),
        ({"start": "1", "end": "later", "step": "1"},
         'invalid parameter "end": cannot parse "later" to a valid timestamp'),
        ({"start": "10", "end": "9.999", "step": "1"},
         'invalid parameter "end": end timestamp must not be before start time'),
        ({"start": "1", "end": "2"},
         'invalid parameter "step": cannot parse "" to a valid duration'),
        ({"start": "1", "end": "2", "step": "1x"},
         'invalid parameter "step": cannot parse "1x" to a valid duration'),
        ({"start": "1", "end": "2", "step": "-15s"},
         'invalid parameter "step": cannot parse "-15s" to a valid duration'),
        ({"start": "1", "end": "2", "step": "0"}, ZERO_STEP),
        ({"start": "1", "end": "2", "step": "-1"}, ZERO_STEP),
        ({"start": "1", "end": "2", "step": "0s"}, ZERO_STEP),
        ({"start": "0", "end": "11001", "step": "1"}, TOO_MANY_POINTS),
        ({"start": "2015-07-01T20:10:51Z", "end": "2015-07-08T20:10:51Z", "step": "30"},
         TOO_MANY_POINTS),
        ({"start": "1", "end": "2", "step": "1", "timeout": "soon"},
         'invalid parameter "timeout": cannot parse "soon" to a valid duration'),
    ]
    for params, msg in cases:
        for method in ("GET", "POST"):
            status, doc = query_range(e, "vector(1)", method=method, **params)
            assert_error(status, doc, 400, "bad_data", msg)
    # The query is checked after the other parameters, without the parameter name (2.42).
    query_cases = [
        ("", "1:1: parse error: no expression found in input"),
        ("up{", "1:4: parse error: unexpected end of input inside braces"),
        ("up[5m]", 'invalid expression type "range vector" for range query, must be Scalar or '
                   'instant Vector'),
        ('"text"', 'invalid expression type "string" for range query, must be Scalar or '
                   'instant Vector'),
    ]
    for q, msg in query_cases:
        status, doc = query_range(e, q, start="1", end="2", step="1")
        assert_error(status, doc, 400, "bad_data", msg)
    status, doc = query_range(e, "up{", start="x", end="2", step="1")  # params first
    assert "start" in doc["error"]
    assert e.stop() == 0


def test_eleven_thousand_points_boundary(start_ember):
    e = start_ember(NO_SCRAPES)
    status, doc = query_range(e, "vector(1)", start="0", end="11000", step="1")
    rows = matrix(doc)
    assert len(rows) == 1 and len(rows[0]["values"]) == 11001
    assert rows[0]["values"][0] == [0, "1"] and rows[0]["values"][-1] == [11000, "1"]
    status, doc = query_range(e, "vector(1)", start="0", end="11001", step="1")
    assert_error(status, doc, 400, "bad_data", TOO_MANY_POINTS)
    # 11,000 whole steps fit even when end is not on the grid.
    status, doc = query_range(e, "vector(1)", start="0", end="11000.999", step="1")
    assert status == 200 and len(matrix(doc)[0]["values"]) == 11001
    # A week at 60 s (Prometheus' own example of what fits).
    status, doc = query_range(e, "vector(1)", start="0", end=str(7 * 86400), step="60")
    assert status == 200 and len(matrix(doc)[0]["values"]) == 7 * 1440 + 1
    assert e.stop() == 0


def test_large_ranges_are_gzipped_by_the_worker(start_ember):
    e = start_ember(NO_SCRAPES)
    url = e.base + "/api/v1/query_range?query=time()&start=0&end=11000&step=1"
    status, headers, raw = http("GET", url, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    doc = json.loads(gzip.decompress(raw))
    values = matrix(doc)[0]["values"]
    assert len(values) == 11001 and values[1234] == [1234, "1234"]
    status, headers, plain = http("GET", url)
    assert headers.get("Content-Encoding") is None
    assert plain == gzip.decompress(raw)
    assert e.stop() == 0


def test_execution_errors_and_limits(start_ember):
    e = start_ember(NO_SCRAPES, extra=["--query.max-samples=1000"])
    q = ('label_replace(vector(1), "a", "x", "", "") + on() (label_replace(vector(1), "b", "1", '
         '"", "") or label_replace(vector(1), "b", "2", "", ""))')
    status, doc = query_range(e, q, start="1", end="2", step="1")
    assert_error(status, doc, 422, "execution",
                 'found duplicate series for the match group {} on the right hand-side of the '
                 'operation: [{b="2"}, {b="1"}];many-to-many matching not allowed: matching '
                 'labels must be unique on one side')
    # --query.max-samples counts the points a range query keeps.
    status, doc = query_range(e, "vector(1)", start="0", end="999", step="1")
    assert status == 200
    status, doc = query_range(e, "vector(1)", start="0", end="1000", step="1")
    assert_error(status, doc, 422, "execution",
                 "query processing would load too many samples into memory in query execution")
    # A spent timeout, as Prometheus words it when nothing had to wait.
    for t in ("0", "-1"):
        status, doc = query_range(e, "vector(1)", start="0", end="10", step="1", timeout=t)
        assert_error(status, doc, 503, "timeout", "query timed out in query execution")
    status, doc = query_range(e, "vector(1)", start="0", end="10", step="1", timeout="30s")
    assert status == 200
    assert e.stop() == 0


def test_instant_query_parameters_in_prometheus_order(start_ember):
    e = start_ember(NO_SCRAPES)
    status, doc = e.query("up{", time="abc")  # time is checked before the query
    assert_error(status, doc, 400, "bad_data",
                 "invalid parameter \"time\": Invalid time value for 'time': cannot parse "
                 "\"abc\" to a valid timestamp")
    status, doc = e.query("1", timeout="x")
    assert_error(status, doc, 400, "bad_data",
                 'invalid parameter "timeout": cannot parse "x" to a valid duration')
    status, doc = e.query("")
    assert_error(status, doc, 400, "bad_data",
                 'invalid parameter "query": 1:1: parse error: no expression found in input')
    status, doc = e.query("1", timeout="0")
    assert_error(status, doc, 503, "timeout", "query timed out in query execution")
    status, doc = e.query("1+1", time="4", timeout="1m")
    assert doc == {"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}}
    status, doc = e.query("1", method="POST", time="-292273086-05-16T16:47:06Z")
    assert status == 200  # Prometheus' min time string
    assert e.stop() == 0


# --- format_query and parse_query -------------------------------------------------------------

def test_format_query(start_ember):
    e = start_ember(NO_SCRAPES)
    cases = {  # every answer checked against Prometheus 2.42
        "sum(rate(x[5m])) by (job)": "sum by (job) (rate(x[5m]))",
        "a+on(b)group_left(c)d": "a + on (b) group_left (c) d",
        "x offset 5m": "x offset 5m",
        "x @ 100": "x @ 100.000",
        "x @ start()": "x @ start()",
        "1e6": "1e+06",
        "rate(x[5m])[10m:1m] offset -1m": "rate(x[5m])[10m:1m] offset -1m",
        "a and ignoring(b) c": "a and ignoring (b) c",
        "a > bool 1": "a > bool 1",
        'count_values("x", y)': 'count_values("x", y)',
        '{__name__="up"}': '{__name__="up"}',
        "histogram_quantile(0.95, sum by (le) (rate(b[5m])))":
            "histogram_quantile(0.95, sum by (le) (rate(b[5m])))",
    }
    for q, want in cases.items():
        for method in ("GET", "POST"):
            status, headers, doc = call(e, "/api/v1/format_query", method, query=q)
            assert status == 200 and doc == {"status": "success", "data": want}, (q, doc)
            assert headers["Content-Type"] == "application/json"
    status, _, raw = http("GET", e.base + "/api/v1/format_query?query=a%3Eb")
    assert raw == b'{"status":"success","data":"a \\u003e b"}'  # Go's HTML-safe escaping
    status, _, doc = call(e, "/api/v1/format_query", query="sum(")
    assert_error(status, doc, 400, "bad_data")
    assert doc["error"].startswith('invalid parameter "query": 1:5: parse error:')
    status, _, doc = call(e, "/api/v1/format_query")
    assert_error(status, doc, 400, "bad_data",
                 'invalid parameter "query": 1:1: parse error: no expression found in input')
    assert e.stop() == 0


def sel(name, matchers, offset=0, kind="vectorSelector", **extra):
    node = {"matchers": [{"name": n, "type": t, "value": v} for n, t, v in matchers],
            "name": name, "offset": offset, "startOrEnd": None, "timestamp": None, "type": kind}
    node.update(extra)
    return node


def test_parse_query_returns_prometheus_tree(start_ember):
    e = start_ember(NO_SCRAPES)
    q = ('sum by (job) (rate(x{a="b"}[5m] offset 1m)) + on (job) group_left (team) '
         'topk(3, -y @ 100) > bool 0.5')
    status, headers, doc = call(e, "/api/v1/parse_query", query=q)
    assert status == 200 and headers["Content-Type"] == "application/json"
    rate_arg = sel("x", [("a", "=", "b"), ("__name__", "=", "x")], offset=60000,
                   kind="matrixSelector", range=300000)
    lhs = {
        "type": "binaryExpr", "op": "+", "bool": False,
        "matching": {"card": "many-to-one", "include": ["team"], "labels": ["job"], "on": True},
        "lhs": {"type": "aggregation", "op": "sum", "grouping": ["job"], "without": False,
                "param": None,
                "expr": {"type": "call", "args": [rate_arg],
                         "func": {"name": "rate", "argTypes": ["matrix"], "variadic": 0,
                                  "returnType": "vector"}}},
        "rhs": {"type": "aggregation", "op": "topk", "grouping": [], "without": False,
                "param": {"type": "numberLiteral", "val": "3"},
                "expr": {"type": "unaryExpr", "op": "-",
                         "expr": sel("y", [("__name__", "=", "y")], timestamp=100000)}},
    }
    want = {"type": "binaryExpr", "op": ">", "bool": True, "matching": None, "lhs": lhs,
            "rhs": {"type": "numberLiteral", "val": "0.5"}}
    assert doc == {"status": "success", "data": want}
    # Keys come in Go's sorted map order, so byte comparisons with Prometheus work.
    status, _, raw = http("GET", e.base + "/api/v1/parse_query?query=" +
                          urllib.parse.quote('(up{job=~"a.*"} @ start())[1h:] offset 5m'))
    assert raw == (
        b'{"status":"success","data":{"expr":{"expr":{"matchers":[{"name":"job","type":"=~",'
        b'"value":"a.*"},{"name":"__name__","type":"=","value":"up"}],"name":"up","offset":0,'
        b'"startOrEnd":"start","timestamp":null,"type":"vectorSelector"},"type":"parenExpr"},'
        b'"offset":300000,"range":3600000,"startOrEnd":null,"step":0,"timestamp":null,'
        b'"type":"subquery"}}')
    status, _, doc = call(e, "/api/v1/parse_query", "POST",
                          query='label_join(count_values("v", {__name__=~"x.+"}), "d", ",", '
                                '"a", "b") unless sum without (i) (z)')
    assert doc["data"]["matching"] == {"card": "many-to-many", "include": [], "labels": [],
                                       "on": False}
    join = doc["data"]["lhs"]
    assert join["func"] == {"name": "label_join", "argTypes": ["vector", "string", "string",
                            "string"], "variadic": -1, "returnType": "vector"}
    assert [a["type"] for a in join["args"]] == ["aggregation"] + ["stringLiteral"] * 4
    assert join["args"][1] == {"type": "stringLiteral", "val": "d"}
    assert join["args"][0]["param"] == {"type": "stringLiteral", "val": "v"}
    assert join["args"][0]["expr"] == sel("", [("__name__", "=~", "x.+")])
    assert doc["data"]["rhs"]["without"] is True and doc["data"]["rhs"]["grouping"] == ["i"]
    status, _, doc = call(e, "/api/v1/parse_query", query="rate(x[5m]")
    assert_error(status, doc, 400, "bad_data")
    assert doc["error"].startswith('invalid parameter "query": 1:')
    # The JSON writer's depth is the limit: a clear error, not a truncated tree.
    status, _, doc = call(e, "/api/v1/parse_query", query="(" * 62 + "1" + ")" * 62)
    assert status == 200 and doc["data"]["type"] == "parenExpr"
    status, _, doc = call(e, "/api/v1/parse_query", query="(" * 70 + "1" + ")" * 70)
    assert_error(status, doc, 422, "execution",
                 "expression nested more than 64 levels deep for JSON")
    assert e.stop() == 0


# --- concurrency: a bounded wait queue, not immediate 503s ------------------------------------

# Sorting a 100k-point window at every step: a cost per step that no evaluation strategy can
# share between steps (a count or sum over the same window slides in constant time).
SLOW = "quantile_over_time(0.5, vector(1)[100s:1ms])"
SLOW_MAX_STEPS = 600  # 100k samples a step, held one step at a time: far under --query.max-samples


def slow_steps(e, seconds):
    """Evaluation steps of SLOW that take at least about `seconds` on this machine and build,
    found by measuring ever longer ranges rather than extrapolating from a short one."""
    steps = 2
    for _ in range(20):
        t0 = time.monotonic()
        status, doc = slow(e, steps)
        took = time.monotonic() - t0
        assert status == 200, doc
        if took >= seconds or steps >= SLOW_MAX_STEPS:
            break
        steps = min(SLOW_MAX_STEPS, max(steps + 1, int(steps * 1.5)))
    return steps


def slow(e, steps, **params):
    return query_range(e, SLOW, start="0", end=str(steps - 1), step="1", **params)


def test_burst_waits_for_a_slot_instead_of_failing(start_ember):
    e = start_ember(NO_SCRAPES, extra=["--query.max-concurrency=1"])
    steps = slow_steps(e, 0.3)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: slow(e, steps), range(6)))
    for status, doc in results:
        assert status == 200, doc
        assert len(matrix(doc)[0]["values"]) == steps
    assert e.stop() == 0


def test_full_queue_answers_503_unavailable(start_ember):
    # One slot, so ten may wait (10 per slot); sixteen at once overflow the queue.
    e = start_ember(NO_SCRAPES, extra=["--query.max-concurrency=1"])
    steps = slow_steps(e, 0.5)
    barrier = threading.Barrier(16)

    def one(_):
        barrier.wait(timeout=10)
        return slow(e, steps)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(16)))
    ok = [doc for status, doc in results if status == 200]
    full = [(status, doc) for status, doc in results if status != 200]
    assert len(ok) >= 11, results
    assert full, "sixteen concurrent queries should overflow one slot plus ten waiting"
    for status, doc in full:
        assert_error(status, doc, 503, "unavailable")
        assert doc["error"].startswith("too many queries: 1 running and 10 waiting"), doc
    # The server is fine afterwards.
    status, doc = e.query("1+1", time="4")
    assert status == 200
    assert e.stop() == 0


def test_waiting_longer_than_the_timeout_is_a_queue_timeout(start_ember):
    e = start_ember(NO_SCRAPES, extra=["--query.max-concurrency=1"])
    steps = slow_steps(e, 1.5)

    def timed_slow():
        status, doc = slow(e, steps)
        return status, doc, time.monotonic()
    # The premise is that the first query still holds the only slot when the second one's
    # 300ms run out. A machine whose load dropped since calibration can finish it sooner;
    # then the attempt proves nothing and is repeated with a longer first query.
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(timed_slow)
            time.sleep(0.2)  # the first takes the only slot
            t0 = time.monotonic()
            status, doc = e.query("1", timeout="300ms")
            waited = time.monotonic() - t0
            first_status, first_doc, first_done = first.result()
        assert first_status == 200, first_doc
        if status == 200 and first_done < t0 + 0.3:
            steps = min(SLOW_MAX_STEPS, steps * 3)
            continue
        assert_error(status, doc, 503, "timeout", "query timed out in query queue")
        assert 0.25 < waited < 1.2, waited
        break
    else:
        raise AssertionError("the first query never outlasted the second one's timeout")
    assert e.stop() == 0
