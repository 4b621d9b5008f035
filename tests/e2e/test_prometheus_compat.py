"""tests/e2e/test_prometheus_compat.py — the differences bench/api_compare.py found between
ember and Prometheus 2.42, fixed: each test asserts what Prometheus 2.42 answers (read from it
by that script, so no Prometheus is needed here): headers, status codes, error types and
messages of the HTTP API."""
import json
import time
import urllib.parse

from conftest import http

NO_SCRAPES = "scrape_configs: []\n"


def query_error(ember, q, path="/api/v1/query", **params):
    status, headers, raw = ember.get(path, query=q, **params)
    return status, headers["Content-Type"], json.loads(raw)


def import_text(ember, text):
    status, _, raw = http("POST", ember.base + "/api/v1/import/prometheus", data=text.encode())
    assert status == 204, raw


def test_allow_header_lists_methods_sorted_as_httprouter_does(start_ember):
    ember = start_ember(NO_SCRAPES)
    for method in ("PUT", "DELETE", "HEAD"):
        status, headers, body = http(method, ember.base + "/api/v1/query?query=up")
        assert status == 405 and headers["Allow"] == "GET, OPTIONS, POST", method
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
    status, headers, _ = http("POST", ember.base + "/api/v1/label/job/values", data=b"")
    assert status == 405 and headers["Allow"] == "GET, OPTIONS"
    status, headers, _ = http("GET", ember.base + "/api/v1/admin/tsdb/snapshot")
    assert status == 405 and headers["Allow"] == "OPTIONS, POST, PUT"


def test_head_of_healthy_and_ready_is_a_bare_200(start_ember):
    ember = start_ember(NO_SCRAPES)
    for path in ("/-/healthy", "/-/ready"):
        status, headers, body = http("HEAD", ember.base + path)
        assert status == 200 and body == b"" and "Content-Type" not in headers, path
    status, headers, body = http("GET", ember.base + "/-/healthy")
    assert (status, headers["Content-Type"], body) == (
        200, "text/plain; charset=utf-8", b"Prometheus Server is Healthy.\n")


def test_version_endpoint_is_buildinfo_without_the_envelope(start_ember):
    ember = start_ember(NO_SCRAPES)
    status, headers, raw = ember.get("/version")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.endswith(b"}\n")
    version = json.loads(raw)
    assert list(version) == ["version", "revision", "branch", "buildUser", "buildDate",
                             "goVersion"]
    _, _, raw = ember.get("/api/v1/status/buildinfo")
    assert json.loads(raw)["data"] == version


def test_admin_api_off_is_unavailable_500(start_ember):
    ember = start_ember(NO_SCRAPES)
    status, _, raw = http("POST", ember.base + "/api/v1/admin/tsdb/delete_series?match[]=up")
    assert status == 500 and json.loads(raw) == {
        "status": "error", "errorType": "unavailable", "error": "admin APIs disabled"}


def test_rules_type_is_case_insensitive_and_refusals_name_the_parameter(tmp_path, start_ember):
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n"
        "      - alert: A\n        expr: vector(1)\n")
    ember = start_ember("global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n")
    status, _, raw = ember.get("/api/v1/rules", type="ALERT")
    rules = json.loads(raw)["data"]["groups"][0]["rules"]
    assert status == 200 and [r["name"] for r in rules] == ["A"]
    status, _, raw = ember.get("/api/v1/rules", type="Record")
    assert [r["name"] for r in json.loads(raw)["data"]["groups"][0]["rules"]] == ["one"]
    status, _, raw = ember.get("/api/v1/rules", type="Bogus")
    assert status == 400 and json.loads(raw) == {
        "status": "error", "errorType": "bad_data",
        "error": 'invalid parameter "type": not supported value "bogus"'}


def test_series_names_the_match_parameter_in_errors_labels_do_not(start_ember):
    ember = start_ember(NO_SCRAPES)
    status, _, raw = ember.get("/api/v1/series", **{"match[]": "up{"})
    assert status == 400 and json.loads(raw)["error"] == (
        'invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces')
    status, _, raw = ember.get("/api/v1/series", **{"match[]": '{job=~".*"}'})
    assert status == 400 and json.loads(raw)["error"] == (
        'invalid parameter "match[]": match[] must contain at least one non-empty matcher')
    for path in ("/api/v1/labels", "/api/v1/label/job/values"):
        status, _, raw = ember.get(path, **{"match[]": "{}"})
        assert status == 400 and json.loads(raw)["error"] == (
            "match[] must contain at least one non-empty matcher"), path


def test_evaluation_errors_word_label_sets_as_prometheus(start_ember):
    ember = start_ember(NO_SCRAPES)
    now = int(time.time())
    import_text(ember, f'm{{a="1",b="x"}} 1 {now * 1000}\nm{{a="1",b="y"}} 2 {now * 1000}\n')
    status, ctype, body = query_error(ember, "m + on(a) m", time=str(now))
    assert (status, ctype, body["errorType"]) == (422, "application/json", "execution")
    assert body["error"] == (
        'found duplicate series for the match group {a="1"} on the right hand-side of the '
        'operation: [{__name__="m", a="1", b="y"}, {__name__="m", a="1", b="x"}];'
        "many-to-many matching not allowed: matching labels must be unique on one side")
    # label_replace() duplicates: the engine's generic words in 2.42, instant and range
    q = 'label_replace(m, "b", "z", "", "")'
    status, _, body = query_error(ember, q, time=str(now))
    assert status == 422 and body["error"] == (
        "vector cannot contain metrics with the same labelset")
    status, _, body = query_error(ember, q, "/api/v1/query_range", start=str(now - 10),
                                  end=str(now), step="5")
    assert status == 422 and body["error"] == (
        "vector cannot contain metrics with the same labelset")


def test_parse_errors_inside_brackets_and_regexes_use_go_words(start_ember):
    ember = start_ember(NO_SCRAPES)
    cases = {
        "rate(up[5x])": '1:9: parse error: bad duration syntax: "5"',
        "up[x]": '1:4: parse error: bad duration syntax: ""',
        "up[]": "1:4: parse error: missing unit character in duration",
        "up[5m:1mx]": '1:7: parse error: bad number or duration syntax: "1mx"',
        'up{job=~"("}': "1:4: parse error: error parsing regexp: missing closing ): `^(?:()$`",
        'up{job=~"[a"}': "1:4: parse error: error parsing regexp: missing closing ]: `[a)$`",
        'up{job=~"a**"}': ("1:4: parse error: error parsing regexp: invalid nested repetition "
                           "operator: `**`"),
        'up{job=~"x{1001}"}': ("1:4: parse error: error parsing regexp: invalid repeat count: "
                               "`{1001}`"),
    }
    for q, want in cases.items():
        status, _, body = query_error(ember, q)
        assert status == 400 and body["errorType"] == "bad_data", q
        assert body["error"] == 'invalid parameter "query": ' + want, q
    # a regex Go accepts stays accepted
    status, _, body = query_error(ember, 'up{job=~"x{1000}|[{1001}]"}')
    assert status == 200 and body["data"] == {"resultType": "vector", "result": []}
    enc = urllib.parse.urlencode({"query": "up[5m] offset 5x"})
    status, _, raw = http("GET", f"{ember.base}/api/v1/query?{enc}")
    assert json.loads(raw)["error"] == (
        'invalid parameter "query": 1:15: parse error: bad number or duration syntax: "5"')


def test_stats_parameter_adds_prometheus_query_stats(start_ember):
    ember = start_ember(NO_SCRAPES)
    now = int(time.time())
    import_text(ember, "".join(f'm{{i="{i}"}} {i} {(now - 30 + k * 10) * 1000}\n'
                               for i in range(3) for k in range(4)))
    timing_keys = ["evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime",
                   "execQueueTime", "execTotalTime"]
    for path, params in (("/api/v1/query", {"time": str(now)}),
                         ("/api/v1/query_range", {"start": str(now - 30), "end": str(now),
                                                  "step": "10"})):
        for value in ("1", "all"):
            status, _, raw = ember.get(path, query="sum(m)", stats=value, **params)
            data = json.loads(raw)["data"]
            assert status == 200 and list(data) == ["resultType", "result", "stats"]
            stats = data["stats"]
            assert list(stats) == ["timings", "samples"]
            assert list(stats["timings"]) == timing_keys
            assert all(isinstance(v, (int, float)) and v >= 0
                       for v in stats["timings"].values())
            assert stats["timings"]["execTotalTime"] >= stats["timings"]["evalTotalTime"]
            assert list(stats["samples"]) == ["totalQueryableSamples", "peakSamples"]
            # three series read: one sample each at an instant, all twelve over the range
            want = 3 if path == "/api/v1/query" else 12
            assert stats["samples"]["totalQueryableSamples"] == want, (path, stats)
            assert stats["samples"]["peakSamples"] >= 3
        # no stats parameter (or an empty one): no stats key
        for extra in ({}, {"stats": ""}):
            _, _, raw = ember.get(path, query="sum(m)", **params, **extra)
            assert "stats" not in json.loads(raw)["data"]
    # POST form, as Grafana sends it
    body = urllib.parse.urlencode({"query": "1+1", "time": "4", "stats": "all"}).encode()
    status, _, raw = http("POST", ember.base + "/api/v1/query", data=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    data = json.loads(raw)["data"]
    assert status == 200 and data["result"] == [4, "2"] and "stats" in data
