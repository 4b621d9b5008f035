#!/usr/bin/python3
"""bench/http_bench.py — HTTP API throughput and latency: wrk against GET /api/v1/query?query=up
at 1 and 100 concurrent connections, for ember and, in the same run, Prometheus and
VictoriaMetrics, all scraping the same node exporter (so `up` is one series on each), and nginx
answering the same URL with a constant body: the machine's floor, what a server that does no work
at all gets from wrk here.

    /usr/bin/python3 bench/http_bench.py [--ember build/server/ember] [--duration 10]
        [--prometheus /usr/bin/prometheus] [--victoria-metrics /usr/bin/victoria-metrics]
        [--nginx /usr/sbin/nginx] [--no-peers] [--warm-cores]

Needs Debian's wrk and prometheus-node-exporter; each peer (packages prometheus,
victoria-metrics, nginx-light) is run when installed. Prints one line per (server, connections)
with requests/s, p50/p99 latency and the server's CPU time per request (user + system, from
/proc: the figure least disturbed by other load on the machine), then ember's ratio to each peer.
Servers take turns run by run. Client and servers share the machine: figures are relative, not
absolute. nginx runs one worker process, as ember serves HTTP from one loop thread.

--warm-cores repeats every run with one busy-looping `nice -n 19` shell per core alive during it,
printed as separate "warm" lines. On a virtual machine an idle core takes tens of microseconds to
wake, which at 1 connection (one request in flight, so every request wakes the server and then
the client) bounds requests/s more than either server does; spinners at the lowest priority keep
the cores awake and yield to the servers at once, so the warm figures show the servers' own cost.
Both servers get the same treatment; the plain lines are the honest default."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_up(base, what, timeout=90):
    """Waits until `up` has a sample (the first scrape happened)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            st, body = get(base + "/api/v1/query?query=up")
            if st == 200 and json.loads(body)["data"]["result"]:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    sys.exit(f"http_bench: {what} did not answer `up` within {timeout}s")


def nginx_config(tmp, port):
    """One worker answering every URL with a constant `up` answer of ember's size."""
    body = ('{"status":"success","data":{"resultType":"vector","result":[{"metric":'
            '{"__name__":"up","instance":"127.0.0.1:9100","job":"node"},'
            '"value":[1700000000,"1"]}]}}')
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(f"worker_processes 1;\ndaemon off;\npid {tmp}/nginx.pid;\n"
                f"error_log {tmp}/nginx-error.log;\nevents {{ worker_connections 1024; }}\n"
                "http {\n  access_log off;\n"
                f"  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n"
                f"  fastcgi_temp_path {tmp};\n  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n"
                f"  server {{\n    listen 127.0.0.1:{port};\n"
                "    location / { default_type application/json; "
                f"return 200 '{body}'; }}\n  }}\n}}\n")
    return path


def nginx_worker(master_pid, timeout=10):
    """The pid of the worker process nginx's master forks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{master_pid}/task/{master_pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("http_bench: nginx started no worker")


def start(args, log):
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def to_ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_spinners():
    """One lowest-priority busy loop per core (see --warm-cores)."""
    return [subprocess.Popen(["nice", "-n", "19", "sh", "-c", "while :; do :; done"])
            for _ in range(os.cpu_count() or 1)]


def stop_spinners(spinners):
    for p in spinners:
        p.kill()
    for p in spinners:
        p.wait(timeout=10)


def wrk(url, conns, duration):
    threads = 1 if conns == 1 else 2
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency",
                          url], capture_output=True, text=True, timeout=duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    if not (rps and p50 and p99):
        sys.exit(f"http_bench: cannot read wrk's output:\n{out}")
    return {"rps": float(rps.group(1)), "requests": int(total.group(1)) if total else 0, "p50": to_ms(*p50.groups()), "p99": to_ms(*p99.groups()),
            "non2xx": int(errs.group(1)) if errs else 0,
            "socket_errors": sock.group(1) if sock else ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ember", default=os.path.join(ROOT, "build", "server", "ember"))
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--victoria-metrics", default=shutil.which("victoria-metrics")
                    or "/usr/bin/victoria-metrics")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--no-peers", "--no-prometheus", action="store_true",
                    help="measure ember alone")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", default="1,100")
    ap.add_argument("--warm-cores", action="store_true",
                    help="also run each measurement with niced spinners keeping the cores awake")
    a = ap.parse_args()
    modes = ["plain", "warm"] if a.warm_cores else ["plain"]
    for tool in ("wrk", "prometheus-node-exporter"):
        if not shutil.which(tool):
            sys.exit(f"http_bench: {tool} is not installed (apt-get install "
                     f"{'wrk' if tool == 'wrk' else 'prometheus-node-exporter'})")
    tmp = tempfile.mkdtemp(prefix="ember-http-bench-")
    procs = []
    try:
        ne_port = free_port()
        log = open(os.path.join(tmp, "peers.log"), "w")
        procs.append(start(["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}"],
                           log))
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: node\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\n")
        servers = []
        ep = free_port()
        procs.append(start([a.ember, f"--web.listen-address=127.0.0.1:{ep}", f"--config.file={cfg}",
                            f"--storage.tsdb.path={tmp}/ember-data", "--log.level=warn"], log))
        servers.append(("ember", f"http://127.0.0.1:{ep}", procs[-1].pid))
        peers = [] if a.no_peers else [p for p in (
            ("prometheus", a.prometheus, lambda port: [
                a.prometheus, f"--web.listen-address=127.0.0.1:{port}", f"--config.file={cfg}",
                f"--storage.tsdb.path={tmp}/prom-data", "--log.level=warn"]),
            ("victoria", a.victoria_metrics, lambda port: [
                a.victoria_metrics, f"-httpListenAddr=127.0.0.1:{port}",
                f"-promscrape.config={cfg}", f"-storageDataPath={tmp}/vm-data",
                "-loggerLevel=ERROR"]),
            ("nginx", a.nginx, lambda port: [
                a.nginx, "-c", nginx_config(tmp, port), "-e", f"{tmp}/nginx-error.log"]),
        ) if os.access(p[1], os.X_OK)]
        for name, _, argv in peers:
            port = free_port()
            procs.append(start(argv(port), log))
            pid = procs[-1].pid
            if name == "nginx":  # the master forks the worker that serves; measure that one
                pid = nginx_worker(pid)
            servers.append((name, f"http://127.0.0.1:{port}", pid))
        for name, base, _ in servers:
            wait_up(base, name)
        results = {}
        print(f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'server':<12}{'mode':<7}{'conns':>6}{'req/s':>12}{'p50 ms':>10}{'p99 ms':>10}"
              f"{'cpu us/req':>12}  errors")
        for conns in [int(c) for c in a.connections.split(",")]:
            for mode in modes:
                for name, base, pid in servers:
                    spinners = start_spinners() if mode == "warm" else []
                    try:
                        c0 = cpu_seconds(pid)
                        r = wrk(base + "/api/v1/query?query=up", conns, a.duration)
                        r["cpu_us"] = (cpu_seconds(pid) - c0) * 1e6 / max(r["requests"], 1)
                    finally:
                        stop_spinners(spinners)
                    results[(name, mode, conns)] = r
                    errs = f"non-2xx={r['non2xx']}" if r["non2xx"] else ""
                    errs += f" socket: {r['socket_errors']}" if r["socket_errors"] else ""
                    print(f"{name:<12}{mode:<7}{conns:>6}{r['rps']:>12.0f}{r['p50']:>10.2f}"
                          f"{r['p99']:>10.2f}{r['cpu_us']:>12.1f}  {errs}", flush=True)
        for peer, _, _ in servers[1:]:
            for mode in modes:
                for conns in [int(c) for c in a.connections.split(",")]:
                    e, p = results[("ember", mode, conns)], results[(peer, mode, conns)]
                    print(f"ratio ember/{peer} ({mode}) at {conns} connection(s): "
                          f"{e['rps'] / p['rps']:.2f}x req/s, p99 {e['p99']:.2f} vs "
                          f"{p['p99']:.2f} ms, CPU per request {e['cpu_us']:.0f} vs "
                          f"{p['cpu_us']:.0f} us")
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
