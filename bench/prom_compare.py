#!/usr/bin/env python3
"""bench/prom_compare.py — Prometheus 2.42 beside ember on bench_promql's dataset: the same data
(written as OpenMetrics, turned into blocks by promtool), the same queries at the same times.
Not a test: it prints a table. Needs Debian's prometheus package (/usr/bin/prometheus and
/usr/bin/promtool) and about 1.6 GB of free space under /tmp per 6 hours of data.

    python3 bench/prom_compare.py BUILD_DIR [hours [runs]]        defaults 6 5

Prometheus' figure is its own execTotalTime (stats=all: parse, plan, evaluate, sort; no JSON),
the median of `runs` after one warm-up pass; ember's is bench_promql's median (parse and
evaluate, no JSON) with its "blocks" layout (older data in blocks, the last 1-3 h in the head),
while Prometheus has everything in blocks. Both run on this machine, one after the other. The
results are compared too: series, points and the sum of the values must agree."""
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import json

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, params):
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def summarize(data):
    """(series, points, sum of non-NaN values, NaN count) of a query result."""
    kind, res = data["resultType"], data["result"]
    vals = []
    if kind == "matrix":
        series = len(res)
        for s in res:
            vals += [float(v) for _, v in s["values"]]
    elif kind == "vector":
        series = len(res)
        vals = [float(s["value"][1]) for s in res]
    else:
        series = 1
        vals = [float(res[1])]
    nan = sum(1 for v in vals if math.isnan(v))
    return series, len(vals), math.fsum(v for v in vals if not math.isnan(v)), nan


def agree(a, b):
    if a[0] != b[0] or a[1] != b[1] or a[3] != b[3]:
        return False
    return a[2] == b[2] or abs(a[2] - b[2]) <= 1e-6 * max(abs(a[2]), abs(b[2]))


def time_prometheus(port, queries, meta, runs):
    out = []
    for q in queries:
        row = {}
        for mode in ("instant", "range"):
            if mode == "instant":
                path, params = "/api/v1/query", {"query": q, "time": meta["instant_ms"] / 1000}
            else:
                path, params = "/api/v1/query_range", {
                    "query": q, "start": meta["range_start_ms"] / 1000,
                    "end": meta["range_end_ms"] / 1000, "step": meta["step_ms"] / 1000}
            params["stats"] = "all"
            times = []
            for i in range(runs + 1):  # the first is a warm-up
                r = get(port, path, params)
                if r.get("status") != "success":
                    raise SystemExit("prometheus: %s: %s" % (q, r))
                if i:
                    times.append(r["data"]["stats"]["timings"]["execTotalTime"] * 1000)
            row[mode] = (statistics.median(times), summarize(r["data"]))
        out.append(row)
    return out


def run_ember(bench, hours, runs):
    env = dict(os.environ, BENCH_PROMQL_CHECK="1")
    text = subprocess.run([bench, str(runs), str(hours), "", "blocks"], env=env, check=True,
                          capture_output=True, text=True).stdout
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if not f or f[0] != "check":
            continue
        q = int(f[1])
        rows[q] = {"instant": (float(f[2]), (int(f[7]), int(f[8]), float(f[9]), int(f[10]))),
                   "range": (float(f[4]), (int(f[12]), int(f[13]), float(f[14]), int(f[15])))}
    return [rows[i] for i in sorted(rows)]


def geomean(xs):
    return math.exp(sum(math.log(max(x, 1e-6)) for x in xs) / len(xs))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    build = sys.argv[1]
    hours = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    bench = os.path.join(build, "bench", "bench_promql")
    queries = subprocess.run([bench, "--queries"], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    work = tempfile.mkdtemp(prefix="prom_compare.")
    prom = None
    try:
        data_om = os.path.join(work, "data.om")
        out = subprocess.run([bench, "--openmetrics", data_om, str(hours)], check=True,
                             capture_output=True, text=True).stdout
        meta = {k: int(v) for k, v in (w.split("=") for w in out.split())}
        print("dataset: %d series x %d h, OpenMetrics %.0f MiB; promtool ..." %
              (meta["series"], hours, os.path.getsize(data_om) / 2**20), flush=True)
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", data_om,
                        os.path.join(work, "data")], check=True, stdout=subprocess.DEVNULL)
        os.unlink(data_om)
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        port = free_port()
        log = open(os.path.join(work, "prometheus.log"), "w")
        prom = subprocess.Popen([
            PROMETHEUS, "--config.file=" + os.path.join(work, "prometheus.yml"),
            "--storage.tsdb.path=" + os.path.join(work, "data"),
            "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % port,
            "--query.lookback-delta=5m", "--query.max-samples=50000000"],
            stdout=log, stderr=subprocess.STDOUT)
        for _ in range(240):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if prom.poll() is not None:
                raise SystemExit("prometheus exited; see " + log.name)
            time.sleep(0.5)
        time.sleep(5)  # let start-up compaction of the fresh blocks finish
        print("timing Prometheus %s ..." % PROMETHEUS, flush=True)
        p = time_prometheus(port, queries, meta, runs)
        prom.terminate()
        prom.wait(timeout=60)
        prom = None
        print("timing ember (%s) ..." % bench, flush=True)
        e = run_ember(bench, hours, runs)
    finally:
        if prom:
            prom.kill()
            prom.wait()
        shutil.rmtree(work, ignore_errors=True)

    print("\n%-92s %21s | %21s | %s" % ("", "instant ms", "range ms", "results"))
    print("%-92s %10s %10s | %10s %10s |" % ("query", "ember", "prometheus", "ember",
                                             "prometheus"))
    for i, q in enumerate(queries):
        ok = all(agree(e[i][m][1], p[i][m][1]) for m in ("instant", "range"))
        print("%-92s %10.2f %10.2f | %10.2f %10.2f | %s" % (
            q, e[i]["instant"][0], p[i]["instant"][0], e[i]["range"][0], p[i]["range"][0],
            "agree" if ok else "DIFFER: ember %s prometheus %s" % (
                [e[i][m][1] for m in ("instant", "range")],
                [p[i][m][1] for m in ("instant", "range")])))
    for name, n in (("original 5", 5), ("all", len(queries))):
        print("geometric mean (%s): ember instant %.3f ms, range %.3f ms; prometheus instant "
              "%.3f ms, range %.3f ms" % (
                  name, geomean([r["instant"][0] for r in e[:n]]),
                  geomean([r["range"][0] for r in e[:n]]),
                  geomean([r["instant"][0] for r in p[:n]]),
                  geomean([r["range"][0] for r in p[:n]])))


if __name__ == "__main__":
    main()
