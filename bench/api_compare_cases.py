"""bench/api_compare_cases.py — the requests bench/api_compare.py sends to ember and to
Prometheus 2.42, and the checks of their deterministic data. See that script's docstring."""
import json
import re


# ---------------------------------------------------------------------------------------------
# Data checks (deterministic parts). Each takes the two decoded bodies and returns lines.

def labelset(m):
    return tuple(sorted(m.items()))


def fmt_set(items, n=4):
    items = sorted(items)
    s = ", ".join("{%s}" % ",".join("%s=%r" % kv for kv in x) if isinstance(x, tuple) else
                  repr(x) for x in items[:n])
    return s + (" ... (%d)" % len(items) if len(items) > n else "")


def set_diff(name, a, b):
    if a == b:
        return []
    return ["%s: values differ; only in ember: %s; only in prometheus: %s" % (
        name, fmt_set(a - b), fmt_set(b - a))]


def result_labelsets(body):
    d = body.get("data")
    if not isinstance(d, dict):
        return set()
    r = d.get("result")
    if d.get("resultType") in ("vector", "matrix") and isinstance(r, list):
        return {labelset(x.get("metric", {})) for x in r}
    return set()


def check_labelsets(a, b):
    return set_diff("data.result[].metric", result_labelsets(a), result_labelsets(b))


def check_series(a, b):
    return set_diff("data", {labelset(x) for x in a.get("data") or []},
                    {labelset(x) for x in b.get("data") or []})


def check_exact(a, b):
    da, db = a.get("data"), b.get("data")
    if da == db:
        return []
    return ["data: values differ: ember %s vs prometheus %s" % (
        json.dumps(da)[:300], json.dumps(db)[:300])]


def check_list(a, b):
    da, db = a.get("data") or [], b.get("data") or []
    out = set_diff("data", set(da), set(db))
    if not out and da != db:
        out.append("data: same values in a different order")
    return out


def check_count(a, b):
    da, db = a.get("data"), b.get("data")
    if len(da or []) != len(db or []):
        return ["data: %d entries vs %d" % (len(da or []), len(db or []))]
    return []


def check_warnings(a, b):
    if a.get("warnings") != b.get("warnings"):
        return ["warnings: ember %r vs prometheus %r" % (a.get("warnings"), b.get("warnings"))]
    return []


def strip_times(v):
    """A copy of rules/alerts data without the fields that are timings."""
    if isinstance(v, dict):
        return {k: strip_times(x) for k, x in v.items()
                if k not in ("evaluationTime", "lastEvaluation", "activeAt", "value", "file")}
    if isinstance(v, list):
        return [strip_times(x) for x in v]
    return v


def check_rules(a, b):
    da, db = strip_times(a.get("data")), strip_times(b.get("data"))
    if da == db:
        return []
    return ["data (timings left out): ember %s vs prometheus %s" % (
        json.dumps(da, sort_keys=True)[:600], json.dumps(db, sort_keys=True)[:600])]


def check_alerts(a, b):
    def key(x):
        return (labelset(x["labels"]), x["state"], tuple(sorted(x["annotations"].items())))
    sa = {key(x) for x in (a.get("data") or {}).get("alerts", [])}
    sb = {key(x) for x in (b.get("data") or {}).get("alerts", [])}
    return set_diff("data.alerts", sa, sb)


def check_targets(a, b):
    def key(t):
        return (labelset(t.get("labels", {})), t.get("scrapePool"), t.get("health"),
                t.get("scrapeInterval"), t.get("scrapeTimeout"), t.get("lastError"))
    out = []
    for k in ("activeTargets", "droppedTargets"):
        sa = {key(t) for t in (a.get("data") or {}).get(k, [])}
        sb = {key(t) for t in (b.get("data") or {}).get(k, [])}
        out += set_diff("data." + k, sa, sb)
    return out


def check_buildinfo(a, b):
    v = (a.get("data") or {}).get("version", "")
    if not re.match(r"^\d+\.\d+\.\d+", v):
        return ["data.version: %r is not semver" % v]
    return []


def federate_series(body):
    series, types = set(), set()
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("# TYPE"):
            types.add(line)
        elif line and not line.startswith("#"):
            series.add(line.rsplit(" ", 2)[0])
    return series, types


def check_federate(a, b):
    sa, ta = federate_series(a)
    sb, tb = federate_series(b)
    return set_diff("series", sa, sb) + set_diff("# TYPE lines", ta, tb)


# ---------------------------------------------------------------------------------------------
# The requests

def cases(now, ports):
    """(name, method, path, params, options). params go to the URL for GET and to a form body
    for POST; options: body (raw bytes), headers, url (params kept in the URL on POST),
    checks (data check functions), text (compare a non-JSON body exactly), federate."""
    t = "%.3f" % now
    s60 = "%.3f" % (now - 60)
    s20 = "%.3f" % (now - 20)
    node = '{job="node"}'
    c = []

    def add(name, method, path, params=(), **opt):
        c.append((name, method, path, list(params), opt))

    # /api/v1/query
    add("query/up", "GET", "/api/v1/query", [("query", "up"), ("time", t)],
        checks=[check_labelsets])
    add("query/up-POST", "POST", "/api/v1/query", [("query", "up"), ("time", t)],
        checks=[check_labelsets])
    add("query/up-no-time", "GET", "/api/v1/query", [("query", "up")], checks=[check_labelsets])
    add("query/node", "GET", "/api/v1/query", [("query", node), ("time", t)],
        checks=[check_labelsets])
    add("query/recording", "GET", "/api/v1/query", [("query", "job:up:sum"), ("time", t)],
        checks=[check_labelsets])
    add("query/ALERTS", "GET", "/api/v1/query", [("query", "ALERTS"), ("time", t)],
        checks=[check_labelsets])
    add("query/ALERTS_FOR_STATE", "GET", "/api/v1/query",
        [("query", "ALERTS_FOR_STATE"), ("time", t)], checks=[check_labelsets])
    add("query/sum-by", "GET", "/api/v1/query",
        [("query", "sum by (mode) (rate(node_cpu_seconds_total[10s]))"), ("time", t)],
        checks=[check_labelsets])
    add("query/range-vector", "GET", "/api/v1/query", [("query", "up[5s]"), ("time", t)],
        checks=[check_labelsets])
    add("query/scalar", "GET", "/api/v1/query", [("query", "1+1"), ("time", "4")],
        checks=[check_exact])
    add("query/string", "GET", "/api/v1/query", [("query", '"hello"'), ("time", "4")],
        checks=[check_exact])
    add("query/constants", "GET", "/api/v1/query",
        [("query", "vector(1e-7) or label_replace(vector(+Inf), \"a\", \"b\", \"\", \"\")"),
         ("time", "1700000000.5")], checks=[check_exact])
    add("query/scalar-small", "GET", "/api/v1/query", [("query", "1e-7"),
                                                       ("time", "1700000000.5")],
        checks=[check_exact])
    add("query/time-rfc3339", "GET", "/api/v1/query",
        [("query", "time()"), ("time", "2015-07-01T20:10:51.781Z")], checks=[check_exact])
    add("query/time-ms-rounding", "GET", "/api/v1/query",
        [("query", "vector(time())"), ("time", "1700000000.0006")], checks=[check_exact])
    add("query/empty", "GET", "/api/v1/query", [("query", "nonexistent_metric"), ("time", t)],
        checks=[check_exact])
    add("query/post-url-params", "POST", "/api/v1/query", [("query", "1+1"), ("time", "4")],
        url=True, checks=[check_exact])
    add("query/post-body-wins", "POST", "/api/v1/query?query=2%2B2", [("query", "1+1"),
                                                                   ("time", "4")],
        checks=[check_exact])
    add("query/post-charset", "POST", "/api/v1/query", [("query", "1+1"), ("time", "4")],
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        checks=[check_exact])
    add("query/post-json-ctype", "POST", "/api/v1/query",
        body=b"query=1%2B1&time=4", headers={"Content-Type": "application/json"})
    add("query/unknown-params", "GET", "/api/v1/query",
        [("query", "1+1"), ("time", "4"), ("limit", "1"), ("foo", "bar")],
        checks=[check_exact])
    add("query/stats", "GET", "/api/v1/query",
        [("query", "1+1"), ("time", "4"), ("stats", "all")])
    add("query/stats-live", "POST", "/api/v1/query",
        [("query", "up"), ("time", t), ("stats", "1")], checks=[check_labelsets])
    add("query/plus-in-url", "GET", "/api/v1/query?query=sum+by+(job)+(up)&time=" + t, [],
        checks=[check_labelsets])
    add("query/min-time", "GET", "/api/v1/query",
        [("query", "vector(time())"), ("time", "-292273086-05-16T16:47:06Z")],
        checks=[check_exact])
    add("query/HEAD", "HEAD", "/api/v1/query", [("query", "up")], text=True)
    add("query/OPTIONS", "OPTIONS", "/api/v1/query", [], text=True)
    add("query/trailing-slash", "GET", "/api/v1/query/", [("query", "up")], text=True)
    add("query/timeout-ok", "GET", "/api/v1/query",
        [("query", "1+1"), ("time", "4"), ("timeout", "5s")], checks=[check_exact])
    add("query/missing", "GET", "/api/v1/query", [])
    add("query/empty-query", "GET", "/api/v1/query", [("query", "")])
    add("query/bad-promql", "GET", "/api/v1/query", [("query", "sum(up")])
    add("query/bad-promql2", "GET", "/api/v1/query", [("query", "up{")])
    add("query/bad-promql3", "GET", "/api/v1/query", [("query", "rate(up)")])
    add("query/bad-promql4", "GET", "/api/v1/query", [("query", "up +")])
    add("query/bad-time", "GET", "/api/v1/query", [("query", "up"), ("time", "abc")])
    add("query/bad-timeout", "GET", "/api/v1/query", [("query", "up"), ("timeout", "abc")])
    add("query/many-to-many", "GET", "/api/v1/query",
        [("query", "node_cpu_seconds_total + on(cpu) node_cpu_seconds_total"), ("time", t)])
    add("query/duplicate-labelset", "GET", "/api/v1/query",
        [("query", 'label_replace(up, "instance", "x", "", "")'), ("time", t)])
    add("query/bad-regex", "GET", "/api/v1/query", [("query", 'up{job=~"("}')])
    add("query/bad-duration", "GET", "/api/v1/query", [("query", "rate(up[5x])")])
    add("query/bad-label-replace", "GET", "/api/v1/query",
        [("query", 'label_replace(up, "1x", "a", "job", ".*")'), ("time", t)])
    add("query/PUT", "PUT", "/api/v1/query", [("query", "up")])
    add("query/DELETE", "DELETE", "/api/v1/query", [("query", "up")])

    # /api/v1/query_range
    rng = [("start", s20), ("end", t), ("step", "1")]
    add("query_range/up", "GET", "/api/v1/query_range", [("query", "up")] + rng,
        checks=[check_labelsets])
    add("query_range/stats", "GET", "/api/v1/query_range",
        [("query", "vector(1)"), ("start", "0"), ("end", "10"), ("step", "1"), ("stats", "x")])
    add("query_range/up-POST", "POST", "/api/v1/query_range", [("query", "up")] + rng,
        checks=[check_labelsets])
    add("query_range/recording", "GET", "/api/v1/query_range", [("query", "job:up:sum")] + rng,
        checks=[check_labelsets])
    add("query_range/node-rate", "GET", "/api/v1/query_range",
        [("query", "rate(node_cpu_seconds_total[5s])")] + rng, checks=[check_labelsets])
    add("query_range/scalar", "GET", "/api/v1/query_range",
        [("query", "1"), ("start", "1000"), ("end", "1030"), ("step", "15")],
        checks=[check_exact])
    add("query_range/time-fn", "GET", "/api/v1/query_range",
        [("query", "time()"), ("start", "1000.001"), ("end", "1000.035"), ("step", "0.01")],
        checks=[check_exact])
    add("query_range/step-duration", "GET", "/api/v1/query_range",
        [("query", "vector(2)"), ("start", "0"), ("end", "120"), ("step", "1m")],
        checks=[check_exact])
    add("query_range/rfc3339", "GET", "/api/v1/query_range",
        [("query", "vector(2)"), ("start", "2015-07-01T20:10:30.781Z"),
         ("end", "2015-07-01T20:11:00.781Z"), ("step", "15s")], checks=[check_exact])
    add("query_range/start-eq-end", "GET", "/api/v1/query_range",
        [("query", "vector(3)"), ("start", "100"), ("end", "100"), ("step", "1")],
        checks=[check_exact])
    add("query_range/empty", "GET", "/api/v1/query_range",
        [("query", "nonexistent_metric")] + rng, checks=[check_exact])
    add("query_range/points-11001", "GET", "/api/v1/query_range",
        [("query", "vector(1)"), ("start", "0"), ("end", "11000"), ("step", "1")],
        checks=[check_count])
    add("query_range/too-many-points", "GET", "/api/v1/query_range",
        [("query", "vector(1)"), ("start", "0"), ("end", "11001"), ("step", "1")])
    add("query_range/missing-query", "GET", "/api/v1/query_range", rng)
    add("query_range/missing-start", "GET", "/api/v1/query_range",
        [("query", "up"), ("end", t), ("step", "1")])
    add("query_range/missing-end", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", t), ("step", "1")])
    add("query_range/missing-step", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", s20), ("end", t)])
    add("query_range/bad-start", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", "abc"), ("end", t), ("step", "1")])
    add("query_range/bad-end", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", s20), ("end", "yesterday"), ("step", "1")])
    add("query_range/bad-step", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", s20), ("end", t), ("step", "abc")])
    add("query_range/zero-step", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", s20), ("end", t), ("step", "0")])
    add("query_range/negative-step", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", s20), ("end", t), ("step", "-5")])
    add("query_range/end-before-start", "GET", "/api/v1/query_range",
        [("query", "up"), ("start", t), ("end", s20), ("step", "1")])
    add("query_range/range-vector", "GET", "/api/v1/query_range",
        [("query", "up[1m]")] + rng)
    add("query_range/string", "GET", "/api/v1/query_range", [("query", '"x"')] + rng)
    add("query_range/bad-promql", "GET", "/api/v1/query_range", [("query", "up{")] + rng)
    add("query_range/bad-timeout", "GET", "/api/v1/query_range",
        [("query", "up"), ("timeout", "x")] + rng)
    add("query_range/many-to-many", "GET", "/api/v1/query_range",
        [("query", "node_cpu_seconds_total + on(cpu) node_cpu_seconds_total")] + rng)

    # /api/v1/series, /labels, /label/<name>/values
    add("series/up", "GET", "/api/v1/series", [("match[]", "up")], checks=[check_series])
    add("series/up-POST", "POST", "/api/v1/series", [("match[]", "up")], checks=[check_series])
    add("series/node", "GET", "/api/v1/series",
        [("match[]", node), ("start", s60), ("end", t)], checks=[check_series])
    add("series/union", "GET", "/api/v1/series",
        [("match[]", "up"), ("match[]", "job:up:sum")], checks=[check_series])
    add("series/limit", "GET", "/api/v1/series", [("match[]", "up"), ("limit", "1")],
        checks=[check_series, check_warnings])
    add("series/old-window", "GET", "/api/v1/series",
        [("match[]", "up"), ("start", "1000"), ("end", "2000")], checks=[check_series])
    add("series/no-match", "GET", "/api/v1/series", [])
    add("series/bad-match", "GET", "/api/v1/series", [("match[]", "up{")])
    add("series/empty-matcher", "GET", "/api/v1/series", [("match[]", "{}")])
    add("series/all-empty-matchers", "GET", "/api/v1/series", [("match[]", '{job=~".*"}')])
    add("series/bad-start", "GET", "/api/v1/series", [("match[]", "up"), ("start", "abc")])
    add("series/bad-end", "GET", "/api/v1/series", [("match[]", "up"), ("end", "abc")])
    add("series/bad-limit", "GET", "/api/v1/series", [("match[]", "up"), ("limit", "x")])
    add("series/end-before-start", "GET", "/api/v1/series",
        [("match[]", "up"), ("start", t), ("end", s60)], checks=[check_series])
    add("labels/all", "GET", "/api/v1/labels", [], checks=[check_list])
    add("labels/node", "GET", "/api/v1/labels", [("match[]", node)], checks=[check_list])
    add("labels/node-POST", "POST", "/api/v1/labels",
        [("match[]", node), ("start", s60), ("end", t)], checks=[check_list])
    add("labels/limit", "GET", "/api/v1/labels", [("match[]", node), ("limit", "2")],
        checks=[check_list, check_warnings])
    add("labels/bad-match", "GET", "/api/v1/labels", [("match[]", "up{")])
    add("labels/empty-matcher", "GET", "/api/v1/labels", [("match[]", "{}")])
    add("labels/bad-start", "GET", "/api/v1/labels", [("start", "abc")])
    add("label-values/job", "GET", "/api/v1/label/job/values", [], checks=[check_list])
    add("label-values/__name__", "GET", "/api/v1/label/__name__/values", [],
        checks=[check_list])
    add("label-values/name-node", "GET", "/api/v1/label/__name__/values",
        [("match[]", node), ("start", s60), ("end", t)], checks=[check_list])
    add("label-values/regex-match", "GET", "/api/v1/label/__name__/values",
        [("match[]", '{__name__=~".*cpu_seconds.*"}')], checks=[check_list])
    add("label-values/unknown", "GET", "/api/v1/label/no_such_label/values", [],
        checks=[check_exact])
    add("label-values/limit", "GET", "/api/v1/label/job/values", [("limit", "1")],
        checks=[check_list, check_warnings])
    add("label-values/old-window", "GET", "/api/v1/label/job/values",
        [("match[]", "up"), ("start", "1000"), ("end", "2000")], checks=[check_list])
    add("label-values/bad-name", "GET", "/api/v1/label/1x/values", [])
    add("label-values/bad-match", "GET", "/api/v1/label/job/values", [("match[]", "{")])
    add("label-values/bad-start", "GET", "/api/v1/label/job/values", [("start", "abc")])
    add("label-values/bad-limit", "GET", "/api/v1/label/job/values", [("limit", "-1")])
    add("label-values/POST", "POST", "/api/v1/label/job/values", [])

    # metadata, exemplars
    add("metadata/all", "GET", "/api/v1/metadata", [], datamap=True)
    add("metadata/metric", "GET", "/api/v1/metadata",
        [("metric", "node_cpu_seconds_total")], datamap=True, checks=[check_exact])
    add("metadata/synthetic", "GET", "/api/v1/metadata", [("metric", "up")], datamap=True,
        checks=[check_exact])
    add("metadata/limit", "GET", "/api/v1/metadata", [("limit", "2")], datamap=True,
        checks=[check_count])
    add("metadata/limit-zero", "GET", "/api/v1/metadata", [("limit", "0")], datamap=True,
        checks=[check_count])
    add("metadata/limit-per-metric", "GET", "/api/v1/metadata",
        [("metric", "node_cpu_seconds_total"), ("limit_per_metric", "1")], datamap=True,
        checks=[check_exact])
    add("metadata/bad-limit", "GET", "/api/v1/metadata", [("limit", "x")])
    add("query_exemplars/up", "GET", "/api/v1/query_exemplars",
        [("query", "up"), ("start", s60), ("end", t)], checks=[check_exact])
    add("query_exemplars/POST-ms", "POST", "/api/v1/query_exemplars",
        [("query", "test"), ("start", str(int(now * 1000) - 1800000)),
         ("end", str(int(now * 1000)))], checks=[check_exact])
    add("query_exemplars/no-selector", "GET", "/api/v1/query_exemplars",
        [("query", "1"), ("start", s60), ("end", t)])
    add("query_exemplars/missing-query", "GET", "/api/v1/query_exemplars",
        [("start", s60), ("end", t)])
    add("query_exemplars/bad-promql", "GET", "/api/v1/query_exemplars",
        [("query", "up{"), ("start", s60), ("end", t)])
    add("query_exemplars/bad-start", "GET", "/api/v1/query_exemplars",
        [("query", "up"), ("start", "abc"), ("end", t)])
    add("query_exemplars/end-before-start", "GET", "/api/v1/query_exemplars",
        [("query", "up"), ("start", t), ("end", s60)])
    add("query_exemplars/no-times", "GET", "/api/v1/query_exemplars", [("query", "up")],
        checks=[check_exact])

    # status
    add("status/buildinfo", "GET", "/api/v1/status/buildinfo", [], checks=[check_buildinfo])
    add("status/config", "GET", "/api/v1/status/config", [])
    add("status/flags", "GET", "/api/v1/status/flags", [])
    add("status/runtimeinfo", "GET", "/api/v1/status/runtimeinfo", [])
    add("status/tsdb", "GET", "/api/v1/status/tsdb", [])
    add("status/walreplay", "GET", "/api/v1/status/walreplay", [])
    add("version", "GET", "/version", [], json=True)
    add("metrics", "GET", "/metrics", [], ctype_only=True)
    add("series/gzip", "GET", "/api/v1/series", [("match[]", node)],
        headers={"Accept-Encoding": "gzip"}, checks=[check_series])
    add("status/buildinfo-POST", "POST", "/api/v1/status/buildinfo", [])

    # targets (the scrape audit fixes these; reported here for completeness)
    add("targets/all", "GET", "/api/v1/targets", [], checks=[check_targets])
    for st in ("active", "dropped", "any", "ACTIVE", "bogus"):
        add("targets/state=" + st, "GET", "/api/v1/targets", [("state", st)],
            checks=[check_targets])
    add("targets/metadata", "GET", "/api/v1/targets/metadata",
        [("match_target", node), ("metric", "node_cpu_seconds_total")], checks=[check_count])
    add("targets/metadata-limit", "GET", "/api/v1/targets/metadata",
        [("match_target", node), ("limit", "3")], checks=[check_count])
    add("targets/metadata-bad-match", "GET", "/api/v1/targets/metadata",
        [("match_target", "{")])
    add("targets/metadata-bad-limit", "GET", "/api/v1/targets/metadata", [("limit", "x")])

    # rules, alerts, alertmanagers
    add("rules/all", "GET", "/api/v1/rules", [], checks=[check_rules])
    add("rules/type=alert", "GET", "/api/v1/rules", [("type", "alert")], checks=[check_rules])
    add("rules/type=record", "GET", "/api/v1/rules", [("type", "record")],
        checks=[check_rules])
    add("rules/type=bogus", "GET", "/api/v1/rules", [("type", "bogus")])
    add("rules/type=ALERT", "GET", "/api/v1/rules", [("type", "ALERT")], checks=[check_rules])
    add("alerts", "GET", "/api/v1/alerts", [], checks=[check_alerts])
    add("alertmanagers", "GET", "/api/v1/alertmanagers", [], checks=[check_exact])

    # format_query, parse_query
    add("format_query/ok", "GET", "/api/v1/format_query",
        [("query", "sum by(job)(rate(x[5m]))")], checks=[check_exact])
    add("format_query/POST", "POST", "/api/v1/format_query",
        [("query", "a+b  *  c offset 5m")], checks=[check_exact])
    add("format_query/bad", "GET", "/api/v1/format_query", [("query", "sum(")])
    add("format_query/missing", "GET", "/api/v1/format_query", [])
    add("parse_query/ok", "GET", "/api/v1/parse_query", [("query", "rate(x[5m])")])

    # federation, lifecycle, unknown
    add("federate/node", "GET", "/federate", [("match[]", node)], federate=True)
    add("federate/up", "GET", "/federate", [("match[]", "up"), ("match[]", "job:up:sum")],
        federate=True)
    add("federate/no-match", "GET", "/federate", [], text=True)
    add("federate/bad-match", "GET", "/federate", [("match[]", "up{")], text=True)
    add("healthy", "GET", "/-/healthy", [], text=True)
    add("healthy/HEAD", "HEAD", "/-/healthy", [], text=True)
    add("ready", "GET", "/-/ready", [], text=True)
    add("unknown/api", "GET", "/api/v1/nope", [], text=True)
    add("unknown/api-deep", "GET", "/api/v1/status/nope", [], text=True)
    add("unknown/root", "GET", "/nope", [], text=True)
    add("unknown/api-v2", "GET", "/api/v2/query", [], text=True)
    add("admin/disabled", "POST", "/api/v1/admin/tsdb/snapshot", [])
    add("lifecycle/reload-disabled", "POST", "/-/reload", [], text=True)
    add("lifecycle/quit-disabled", "POST", "/-/quit", [], text=True)
    add("lifecycle/reload-GET", "GET", "/-/reload", [], text=True)
    add("ready/HEAD", "HEAD", "/-/ready", [], text=True)
    add("admin/delete-disabled", "POST", "/api/v1/admin/tsdb/delete_series",
        [("match[]", "up")])
    add("remote-write/disabled", "POST", "/api/v1/write", [], body=b"x", text=True)
    add("label-values/OPTIONS", "OPTIONS", "/api/v1/label/job/values", [], text=True)
    return c
