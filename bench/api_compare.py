#!/usr/bin/env python3
"""bench/api_compare.py — a differential audit of ember's HTTP API against Prometheus 2.42.
Not a test (Prometheus is not installed on CI machines): a developer tool that prints every
difference it finds. Needs Debian's prometheus (/usr/bin/prometheus) and
prometheus-node-exporter.

    python3 bench/api_compare.py [BUILD_DIR] [-v]        BUILD_DIR defaults to ./build

It starts node-exporter, then ember and Prometheus with the same prometheus.yml (1 s scrapes of
node-exporter and of both servers, a rule file with a recording rule, a firing alert and a
pending one, an alertmanager that is not there, external labels), waits a few scrapes and
evaluations, sends the same requests to both and compares:

- HTTP status and Content-Type, exactly;
- JSON structure at every level: key sets, value types, array element shapes; objects whose
  keys are label names (metric, labels, annotations, ...) are compared as maps;
- `status` and `errorType` exactly, `error` approximately (both are printed when they differ);
- data where it is deterministic: label sets of node-exporter series, `up`, the recording
  rule's and the alerts' output, label name and value lists, constant expressions at a fixed
  time, formatted queries, federation series;
- warnings.

Differences that are known and deliberate are listed in EXPECTED with their reason and printed
apart, so that a new difference stands out. The exit status is 1 when an unexpected difference
remains. Every wait is bounded; every process started is stopped."""
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from api_compare_cases import cases, check_federate, check_warnings

PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# Objects whose keys are label names (or metric names): their key sets are data, not structure;
# they are compared as maps of one value shape, and their keys only by the data checks.
MAP_KEYS = {"metric", "labels", "annotations", "discoveredLabels", "seriesLabels", "target",
            "globalUrl"}

# (case regex, difference regex, reason). A difference whose case name and text match is
# expected; it is printed with its reason and does not make the run fail.
EXPECTED = [
    (r"^status/flags$", r"^data: keys only in",
     "ember has only the flags it implements (docs/api.md deliberate differences)"),
    (r"^parse_query", r"^(status 200 vs 404|content-type|body)",
     "Prometheus 2.42 has no /api/v1/parse_query (it came with 3.x); ember answers in 3.x's "
     "shape (docs/api.md)"),
    (r"^federate/no-match$", r"^(status 400 vs 200|content-type|body)",
     "ember refuses /federate without match[] (docs/api.md Federation); Prometheus answers "
     "an empty 200"),
    (r"^(labels|label-values|series)/(bad-)?limit$",
     r"^(warnings|data: |status|errorType|\(top\): keys only in)",
     "ember implements limit as Prometheus 2.51+ does (docs/api.md); 2.42 ignores it"),
    (r"^query/min-time$", r"^data: values differ",
     "Prometheus 2.42 overflows converting its own min time string (docs/api.md)"),
    (r"^query/trailing-slash$", r".",
     "Prometheus redirects /api/v1/query/ to /query, which does not exist; ember answers 404 "
     "(docs/api.md)"),
    (r"^status/walreplay$", r".",
     "ember replays its WAL before it listens and does not serve walreplay (docs/api.md)"),
    (r"^remote-write/disabled$", r"^body",
     "ember has no remote-write receiver; its 404 is the plain one (docs/api.md)"),
]

# Informational: values that differ by nature and are not compared (printed once, for the
# reader of the report).
NOT_COMPARED = [
    ("status/buildinfo", "version, revision, branch, buildUser, buildDate, goVersion: "
     "different programs (types and keys are compared)"),
    ("status/runtimeinfo", "startTime, CWD, goroutineCount, GOMAXPROCS, ...: runtime values"),
    ("status/flags", "flag values: each server's own defaults and paths"),
    ("rules, alerts", "evaluationTime, lastEvaluation, activeAt, alert values: timings"),
    ("targets", "lastScrape, lastScrapeDuration: timings"),
    ("query, query_range", "sample values and timestamps of live series (only label sets "
     "are compared, except for constant expressions at a fixed time)"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A started process with its log in the work directory."""

    def __init__(self, name, argv, workdir):
        self.name = name
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def request(port, method, path, body=None, headers=None):
    """(status, content type, body bytes, headers) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = dict(r.getheaders())
        if hdrs.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return r.status, r.getheader("Content-Type", ""), data, hdrs
    finally:
        conn.close()


def wait_ready(proc, port, path, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise SystemExit("%s exited; see %s" % (proc.name, proc.log.name))
        try:
            if request(port, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("%s not ready after %d s" % (proc.name, seconds))


# ---------------------------------------------------------------------------------------------
# Structure

def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def shape(v, key=None):
    """A comparable description of a JSON value's structure: scalars by type, objects by key
    set (label maps by their value shape), arrays by the merged shape of their elements."""
    t = jtype(v)
    if t == "object":
        if key in MAP_KEYS:
            return ("map", merge([shape(x) for x in v.values()]))
        return ("object", {k: shape(x, k) for k, x in v.items()})
    if t == "array":
        return ("array", merge([shape(x, key) for x in v]))
    return t


def merge(shapes):
    """One shape for all elements of an array; a key missing from some elements becomes
    optional ("?key"), differing types a ("union", ...)."""
    shapes = [s for s in shapes if s is not None]
    if not shapes:
        return None
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    if all(isinstance(s, tuple) and s[0] == "object" for s in shapes):
        keys = set().union(*(s[1] for s in shapes))
        out = {}
        for k in keys:
            sub = [s[1][k] for s in shapes if k in s[1]]
            out[k if len(sub) == len(shapes) else "?" + k] = merge(sub)
        return ("object", out)
    kind = first[0] if isinstance(first, tuple) else None
    if kind in ("array", "map") and all(isinstance(s, tuple) and s[0] == kind for s in shapes):
        return (kind, merge([s[1] for s in shapes]))
    return ("union", tuple(sorted({repr(s) for s in shapes})))


def shape_diff(a, b, path, out):
    """Differences between two shapes, one line per place."""
    if a is None or b is None:
        if (a is None) != (b is None):
            out.append("%s: array empty on %s only" % (path, "ember" if a is None else
                                                        "prometheus"))
        return
    ka = a[0] if isinstance(a, tuple) else a
    kb = b[0] if isinstance(b, tuple) else b
    if ka != kb:
        out.append("%s: type %s vs %s" % (path, desc(a), desc(b)))
        return
    if ka == "object":
        da, db = a[1], b[1]
        # "?key" is a key only some elements have
        plain = lambda k: k.lstrip("?")
        na = {plain(k): k for k in da}
        nb = {plain(k): k for k in db}
        only_a = sorted(set(na) - set(nb))
        only_b = sorted(set(nb) - set(na))
        if only_a:
            out.append("%s: keys only in ember: %s" % (path or "(top)", ", ".join(only_a)))
        if only_b:
            out.append("%s: keys only in prometheus: %s" % (path or "(top)", ", ".join(only_b)))
        for k in sorted(set(na) & set(nb)):
            if na[k] != nb[k]:
                out.append("%s.%s: key %s in ember, %s in prometheus" % (
                    path, k, "optional" if na[k].startswith("?") else "always",
                    "optional" if nb[k].startswith("?") else "always"))
            shape_diff(da[na[k]], db[nb[k]], (path + "." if path else "") + k, out)
    elif ka in ("array", "map"):
        shape_diff(a[1], b[1], path + ("[]" if ka == "array" else "{}"), out)
    elif ka == "union":
        if a != b:
            out.append("%s: mixed element shapes differ: %s vs %s" % (path, a[1], b[1]))


def desc(s):
    return s[0] if isinstance(s, tuple) else s


def send(port, method, path, params, opt):
    headers = dict(opt.get("headers") or {})
    body = opt.get("body")
    qs = urllib.parse.urlencode(params)
    if method in ("GET", "HEAD", "DELETE") or opt.get("url"):
        if qs:
            path += ("&" if "?" in path else "?") + qs
    elif body is None:
        body = qs.encode()
        headers.setdefault("Content-Type", FORM["Content-Type"])
    return request(port, method, path, body, headers)


def compare(name, ra, rb, opt):
    """Differences (lines) and message pairs between ember's (ra) and Prometheus' (rb)
    answers."""
    diffs, notes = [], []
    sa, cta, ba, ha = ra
    sb, ctb, bb, hb = rb
    if sa != sb:
        diffs.append("status %d vs %d" % (sa, sb))
    if cta != ctb:
        diffs.append("content-type %r vs %r" % (cta, ctb))
    if sa == 405 and sb == 405 and ha.get("Allow") != hb.get("Allow"):
        diffs.append("Allow header %r vs %r" % (ha.get("Allow"), hb.get("Allow")))
    for h in ("Allow", "Content-Encoding", "Location"):
        if h != "Allow" and ha.get(h) != hb.get(h):
            diffs.append("%s header %r vs %r" % (h, ha.get(h), hb.get(h)))
    if opt.get("ctype_only"):
        return diffs, notes
    if opt.get("federate"):
        return diffs + check_federate(ba, bb), notes
    if opt.get("text") or not opt.get("json") and not (
            cta.startswith("application/json") and ctb.startswith("application/json")):
        if ba != bb:
            diffs.append("body: %r vs %r" % (ba[:200], bb[:200]))
        return diffs, notes
    try:
        ja = json.loads(ba)
    except ValueError:
        return diffs + ["body: not JSON from ember: %r" % ba[:200]], notes
    try:
        jb = json.loads(bb)
    except ValueError:
        return diffs + ["body: not JSON from prometheus: %r" % bb[:200]], notes
    if jtype(ja) != "object" or jtype(jb) != "object":
        return diffs + ["body: not an object"], notes
    for k in ("status", "errorType"):
        if ja.get(k) != jb.get(k):
            diffs.append("%s %r vs %r" % (k, ja.get(k), jb.get(k)))
    if ja.get("error") != jb.get("error"):
        notes.append((ja.get("error"), jb.get("error")))
    if opt.get("datamap"):
        wrap = lambda j: {k: ({m: v for m, v in j["data"].items()} if k == "data" else v)
                          for k, v in j.items()}
        ja2, jb2 = wrap(ja), wrap(jb)
        MAP_KEYS.add("data")
        try:
            shape_diff(shape(ja2), shape(jb2), "", diffs)
        finally:
            MAP_KEYS.discard("data")
    else:
        shape_diff(shape(ja), shape(jb), "", diffs)
    if ja.get("status") == "success" and jb.get("status") == "success":
        for chk in opt.get("checks", []):
            diffs += chk(ja, jb)
        if check_warnings not in opt.get("checks", []):
            diffs += check_warnings(ja, jb)
    return diffs, notes


def approx_same(a, b):
    """Error messages compared loosely: same words once numbers and quoted text are removed."""
    if a and b and len(a) >= 255 and b.startswith(a):
        return True  # ember cuts messages at 255 bytes (docs/api.md)
    norm = lambda s: re.sub(r'"[^"]*"|\d+', "#", s or "").strip()
    return norm(a) == norm(b)


def expected_reason(name, diff):
    for case_re, diff_re, reason in EXPECTED:
        if re.search(case_re, name) and re.search(diff_re, diff):
            return reason
    return None


# ---------------------------------------------------------------------------------------------

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    cluster: audit
rule_files:
  - {rules}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:{am_port}']
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:{node_port}']
  - job_name: servers
    static_configs:
      - targets: ['127.0.0.1:{ember_port}', '127.0.0.1:{prom_port}']
  - job_name: dropper
    static_configs:
      - targets: ['127.0.0.1:{node_port}']
        labels:
          drop: 'yes'
    relabel_configs:
      - source_labels: [drop]
        regex: 'yes'
        action: drop
"""

RULES = """groups:
  - name: audit
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: NodeUp
        expr: up{job="node"} == 1
        labels:
          severity: info
        annotations:
          summary: "{{ $labels.instance }} is up ({{ $value }})"
      - alert: NodeUpForAnHour
        expr: up{job="node"} == 1
        for: 1h
        labels:
          severity: warning
"""


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv[1:]
    build = args[0] if args else "build"
    ember_bin = os.path.join(build, "server", "ember")
    for path in (ember_bin, PROMETHEUS, NODE_EXPORTER):
        if not os.path.exists(path):
            raise SystemExit("missing %s\n\n%s" % (path, __doc__))
    work = tempfile.mkdtemp(prefix="api_compare.")
    procs = []
    try:
        node_port, ember_port, prom_port, am_port = (free_port() for _ in range(4))
        rules = os.path.join(work, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(rules=rules, am_port=am_port, node_port=node_port,
                                  ember_port=ember_port, prom_port=prom_port))
        node = Proc("node-exporter", [NODE_EXPORTER,
                                      "--web.listen-address=127.0.0.1:%d" % node_port], work)
        procs.append(node)
        wait_ready(node, node_port, "/metrics")
        ember = Proc("ember", [os.path.abspath(ember_bin), "--config.file=" + cfg,
                               "--storage.tsdb.path=" + os.path.join(work, "ember-data"),
                               "--web.listen-address=127.0.0.1:%d" % ember_port], work)
        procs.append(ember)
        prom = Proc("prometheus", [PROMETHEUS, "--config.file=" + cfg,
                                   "--storage.tsdb.path=" + os.path.join(work, "prom-data"),
                                   "--web.listen-address=127.0.0.1:%d" % prom_port], work)
        procs.append(prom)
        wait_ready(ember, ember_port, "/-/ready")
        wait_ready(prom, prom_port, "/-/ready")
        # A few scrapes and evaluations: both have the recording rule's output and the alert
        # (bounded: 30 s at most).
        deadline = time.monotonic() + 30
        time.sleep(4)
        while time.monotonic() < deadline:
            ok = 0
            for port in (ember_port, prom_port):
                st, _, body, _ = request(port, "GET", "/api/v1/query?query=" +
                                         urllib.parse.quote("count(ALERTS) + count(job:up:sum)"))
                r = json.loads(body)
                res = r.get("data", {}).get("result", [])
                if res and float(res[0]["value"][1]) >= 4:
                    ok += 1
            if ok == 2:
                break
            time.sleep(0.5)
        time.sleep(2)
        now = time.time() - 1
        print("ember %s, prometheus 2.42 at 127.0.0.1:%d and :%d, node-exporter :%d" % (
            ember_bin, ember_port, prom_port, node_port))
        results = []
        for name, method, path, params, opt in cases(now, (ember_port, prom_port)):
            ra = send(ember_port, method, path, params, opt)
            rb = send(prom_port, method, path, params, opt)
            diffs, notes = compare(name, ra, rb, opt)
            results.append((name, method, path, params, ra, rb, diffs, notes))
    finally:
        for p in reversed(procs):
            p.stop()
        logs = {p.name: os.path.join(work, p.name + ".log") for p in procs}
        ember_log = open(logs["ember"]).read() if "ember" in logs and \
            os.path.exists(logs["ember"]) else ""
        shutil.rmtree(work, ignore_errors=True)
    report(results, verbose, ember_log)


def report(results, verbose, ember_log):
    unexpected, expected, messages = [], [], []
    for name, method, path, params, ra, rb, diffs, notes in results:
        real = []
        for d in diffs:
            reason = expected_reason(name, d)
            (expected if reason else real).append((name, d, reason))
        unexpected += real
        for ea, eb in notes:
            messages.append((name, ea, eb, approx_same(ea, eb)))
        mark = "DIFF" if real else "ok  "
        if real or verbose:
            print("%s %-36s %s %s  -> %d %s | %d %s" % (
                mark, name, method, path, ra[0], ra[1] or "-", rb[0], rb[1] or "-"))
            for _, d, _ in real:
                print("       " + d)
    print("\nerror messages (ember | prometheus):")
    for name, ea, eb, same in messages:
        print("  %s %-34s %r\n  %s %-34s %r" % ("~" if same else "!", name, ea, " ", "", eb))
    print("\nexpected differences:")
    seen = set()
    for name, d, reason in expected:
        print("  %-34s %s" % (name, d[:160]))
        if reason not in seen:
            print("  %-34s   reason: %s" % ("", reason))
            seen.add(reason)
    print("\nnot compared by design:")
    for what, why in NOT_COMPARED:
        print("  %-34s %s" % (what, why))
    if "ERROR" in ember_log or "AddressSanitizer" in ember_log:
        bad = [l for l in ember_log.splitlines() if "ERROR" in l or "Sanitizer" in l]
        print("\nember log has errors:\n" + "\n".join(bad[:20]))
    cases_with = len({n for n, _, _ in unexpected})
    print("\n%d requests, %d with unexpected differences (%d differences), %d expected "
          "differences, %d error messages differ (%d only in detail)" % (
              len(results), cases_with, len(unexpected), len(expected),
              len(messages), sum(1 for m in messages if m[3])))
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
