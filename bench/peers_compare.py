#!/usr/bin/env python3
"""bench/peers_compare.py — ember beside Prometheus 2.42 and VictoriaMetrics on bench_promql's
dataset: the same data, the same 18 queries at the same times, each server timed the same way.
Not a test: it prints a table. Needs Debian's prometheus package (/usr/bin/prometheus and
/usr/bin/promtool) and victoria-metrics (/usr/bin/victoria-metrics); a peer that is missing is
left out. About 2 GB of free space under /tmp per 6 hours of data.

    python3 bench/peers_compare.py BUILD_DIR [hours [runs]]        defaults 24 5

Loading: bench_promql writes the data as OpenMetrics; `ember tsdb import` and `promtool tsdb
create-blocks-from openmetrics` turn it into blocks; VictoriaMetrics gets it through its
/api/v1/import/prometheus (millisecond timestamps). All data is old, so every server holds it
in blocks/parts, none in its in-memory head, and nothing is scraped meanwhile.

Timing: wall time of one HTTP request on a kept-alive loopback connection, JSON included — the
same measure for all three, as a dashboard sees it. Median of `runs` after one warm-up pass.
All servers are loaded first and then take turns request by request, so other load on the
machine falls on each of them alike.
VictoriaMetrics runs with -search.disableCache, since repeating a query would otherwise time its
rollup-result cache, not its engine (ember and Prometheus keep no result cache). Instant
queries at the last sample; range queries over the last 6 h at a 60 s step.

Results: series, points and value sum are compared with Prometheus' (the reference semantics);
VictoriaMetrics' MetricsQL differs on purpose in places (rate extrapolation, lookback), so its
column says whether it agrees, for information only."""
import http.client
import json
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

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
VICTORIA = "/usr/bin/victoria-metrics"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A started server process and a kept-alive HTTP connection to it."""

    def __init__(self, name, argv, port, workdir):
        self.name, self.port = name, port
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None

    def wait_ready(self, path, seconds=300):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited; see %s" % (self.name, self.log.name))
            try:
                status, _ = self.request("GET", path)
                if status == 200:
                    return
            except OSError:
                self.conn = None
            time.sleep(0.5)
        raise SystemExit("%s not ready after %d s" % (self.name, seconds))

    def request(self, method, path, body=None, headers=None, retry=True):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            return r.status, r.read()
        except http.client.RemoteDisconnected:
            # A server may close a connection that sat idle while the others loaded; a GET
            # is safe to repeat once on a new one.
            self.conn.close()
            self.conn = None
            if method != "GET" or not retry:
                raise
            return self.request(method, path, body, headers, retry=False)
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def stop(self):
        if self.conn:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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


def query_url(q, mode, meta):
    if mode == "instant":
        path, params = "/api/v1/query", {"query": q, "time": meta["instant_ms"] / 1000}
    else:
        path, params = "/api/v1/query_range", {
            "query": q, "start": meta["range_start_ms"] / 1000,
            "end": meta["range_end_ms"] / 1000, "step": meta["step_ms"] / 1000}
    return path + "?" + urllib.parse.urlencode(params)


def time_queries(servers, queries, meta, runs):
    """Per server name, per query: {mode: (median ms, summary)} for mode instant and range.
    The servers take turns request by request, so a change in the machine's load during the
    run falls on all of them alike instead of on whichever was being timed then."""
    out = {srv.name: [] for srv in servers}
    for q in queries:
        rows = {srv.name: {} for srv in servers}
        for mode in ("instant", "range"):
            url = query_url(q, mode, meta)
            times = {srv.name: [] for srv in servers}
            last = {}
            for i in range(runs + 1):  # the first is a warm-up
                for srv in servers:
                    t = time.perf_counter()
                    status, body = srv.request("GET", url)
                    elapsed = (time.perf_counter() - t) * 1000
                    if i:
                        times[srv.name].append(elapsed)
                    last[srv.name] = (status, body)
            for srv in servers:
                status, body = last[srv.name]
                r = json.loads(body)
                if status != 200 or r.get("status") != "success":
                    raise SystemExit("%s: %s: %s" % (srv.name, q, body[:300]))
                rows[srv.name][mode] = (statistics.median(times[srv.name]),
                                        summarize(r["data"]))
        for srv in servers:
            out[srv.name].append(rows[srv.name])
    return out


def om_to_prometheus_text(om_path, out_path):
    """OpenMetrics with float-second timestamps → text format with millisecond timestamps."""
    with open(om_path) as src, open(out_path, "w") as dst:
        for line in src:
            if line.startswith("#"):
                continue
            head, ts = line.rstrip("\n").rsplit(" ", 1)
            sec, _, frac = ts.partition(".")
            dst.write("%s %d\n" % (head, int(sec) * 1000 + int((frac + "000")[:3])))


def start_ember(build, om, work, cfg):
    data = os.path.join(work, "ember")
    subprocess.run([os.path.join(build, "server", "ember"), "tsdb", "import", om,
                    "--storage.tsdb.path", data], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    srv = Server("ember", [
        os.path.join(build, "server", "ember"), "--config.file=" + cfg,
        "--storage.tsdb.path=" + data, "--storage.tsdb.retention.time=100y",
        "--web.listen-address=127.0.0.1:%d" % port, "--query.max-samples=50000000"],
        port, work)
    srv.wait_ready("/-/ready")
    return srv


def start_prometheus(om, work, cfg):
    data = os.path.join(work, "prometheus")
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om, data],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    srv = Server("prometheus", [
        PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + data,
        "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:%d" % port,
        "--query.lookback-delta=5m", "--query.max-samples=50000000"], port, work)
    srv.wait_ready("/-/ready")
    time.sleep(5)  # let start-up compaction of the fresh blocks finish
    return srv


def start_victoria(om, work):
    text = os.path.join(work, "data.prom")
    om_to_prometheus_text(om, text)
    port = free_port()
    srv = Server("victoria-metrics", [
        VICTORIA, "-storageDataPath=" + os.path.join(work, "victoria"),
        "-httpListenAddr=127.0.0.1:%d" % port, "-retentionPeriod=100y", "-search.disableCache",
        "-search.maxStalenessInterval=5m", "-search.latencyOffset=0s",
        "-search.maxPointsPerTimeseries=100000"], port, work)
    srv.wait_ready("/health")
    with open(text, "rb") as f:
        status, body = srv.request("POST", "/api/v1/import/prometheus", body=f,
                                   headers={"Content-Length": str(os.path.getsize(text))})
    if status not in (200, 204):
        raise SystemExit("victoria-metrics import: %d %s" % (status, body[:300]))
    os.unlink(text)
    srv.request("GET", "/internal/force_flush")
    time.sleep(5)  # flushed parts become searchable after a short delay
    return srv


def geomean(xs):
    return math.exp(sum(math.log(max(x, 1e-6)) for x in xs) / len(xs))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    build = sys.argv[1]
    hours = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    bench = os.path.join(build, "bench", "bench_promql")
    queries = subprocess.run([bench, "--queries"], check=True, capture_output=True,
                             text=True).stdout.splitlines()
    work = tempfile.mkdtemp(prefix="peers_compare.")
    results = {}
    try:
        om = os.path.join(work, "data.om")
        out = subprocess.run([bench, "--openmetrics", om, str(hours)], check=True,
                             capture_output=True, text=True).stdout
        meta = {k: int(v) for k, v in (w.split("=") for w in out.split())}
        print("dataset: %d series x %d h at 15 s, OpenMetrics %.0f MiB; %d queries, %d runs" %
              (meta["series"], hours, os.path.getsize(om) / 2**20, len(queries), runs),
              flush=True)
        cfg = os.path.join(work, "scrape-nothing.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        starters = [("ember", lambda: start_ember(build, om, work, cfg))]
        if os.path.exists(PROMETHEUS) and os.path.exists(PROMTOOL):
            starters.append(("prometheus", lambda: start_prometheus(om, work, cfg)))
        if os.path.exists(VICTORIA):
            starters.append(("victoria-metrics", lambda: start_victoria(om, work)))
        servers = []
        try:
            for name, start in starters:
                print("loading %s ..." % name, flush=True)
                servers.append(start())
            print("timing, the servers taking turns ...", flush=True)
            results = time_queries(servers, queries, meta, runs)
        finally:
            for srv in servers:
                srv.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    names = list(results)
    ref = results.get("prometheus")
    print("\n%-88s %s" % ("median ms per query (instant | range)",
                          " | ".join("%-21s" % n for n in names)))
    for i, q in enumerate(queries):
        cells = " | ".join("%9.2f %9.2f  " % (results[n][i]["instant"][0],
                                              results[n][i]["range"][0]) for n in names)
        notes = []
        for n in names:
            if ref and n != "prometheus":
                ok = all(agree(results[n][i][m][1], ref[i][m][1]) for m in ("instant", "range"))
                notes.append("%s %s" % (n, "agrees" if ok else "differs"))
        print("%-88s %s %s" % (q[:88], cells, "; ".join(notes)))
    print()
    for n in names:
        print("geometric mean %-17s instant %8.3f ms, range %8.3f ms" % (
            n, geomean([r["instant"][0] for r in results[n]]),
            geomean([r["range"][0] for r in results[n]])))
    if ref and "ember" in results:
        differ = [queries[i] for i in range(len(queries)) if not all(
            agree(results["ember"][i][m][1], ref[i][m][1]) for m in ("instant", "range"))]
        print("ember vs prometheus results: %d of %d queries agree%s" % (
            len(queries) - len(differ), len(queries),
            "" if not differ else "; differ: " + ", ".join(differ)))


if __name__ == "__main__":
    main()
