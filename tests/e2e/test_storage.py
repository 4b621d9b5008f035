"""tests/e2e/test_storage.py — durability of the real binary: every import acknowledged before a
SIGKILL is there after the restart; a damaged WAL tail and a damaged block chunk are reported,
and ember starts and serves the rest; the import endpoint's answers."""
import gzip
import json
import subprocess
import os
import signal
import threading
import time
from pathlib import Path

from conftest import EMBER_BIN, http, wait_for

SERIES = 20


def post_import(ember, text, headers=None, params=""):
    return http("POST", ember.base + "/api/v1/import/prometheus" + params, data=text,
                headers=headers or {}, timeout=10)


def batch(ts_ms, metric="import_test", series=SERIES, value=None):
    lines = []
    for i in range(series):
        v = ts_ms / 1000 if value is None else value
        lines.append(f'{metric}{{series="{i}"}} {v} {ts_ms}\n')
    return "".join(lines).encode()


def samples_by_series(ember, selector, at_s):
    status, body = ember.query(selector, time=str(at_s))
    assert status == 200, body
    assert body["data"]["resultType"] == "matrix"
    return {r["metric"]["series"]: [round(float(t) * 1000) for t, _ in r["values"]]
            for r in body["data"]["result"]}


def metric_value(ember, name):
    status, _, raw = ember.get("/metrics")
    assert status == 200
    for line in raw.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_sigkill_keeps_every_acknowledged_sample(start_ember):
    ember = start_ember()
    base = int(time.time() * 1000) - 10 * 60 * 1000
    acked, stop = [], threading.Event()

    def ingest():
        for i in range(20000):
            if stop.is_set():
                return
            ts = base + i * 50
            try:
                status, _, _ = post_import(ember, batch(ts))
            except OSError:
                return  # the kill came mid-request: not acknowledged
            if status == 204:
                acked.append(ts)

    t = threading.Thread(target=ingest)
    t.start()
    wait_for(lambda: len(acked) >= 200, 20, what="200 acknowledged imports")
    ember.proc.send_signal(signal.SIGKILL)
    ember.proc.wait(timeout=5)
    stop.set()
    t.join(timeout=15)
    assert len(acked) >= 200

    ember = start_ember()
    got = samples_by_series(ember, "import_test[15m]", (base + 14 * 60 * 1000) / 1000)
    assert len(got) == SERIES
    for series, stamps in got.items():
        missing = set(acked) - set(stamps)
        assert not missing, f"series {series} lost {len(missing)} acknowledged samples"


def test_import_endpoint_answers(start_ember):
    ember = start_ember()
    now = int(time.time() * 1000)
    assert post_import(ember, batch(now, "imp_plain", 3))[0] == 204
    assert post_import(ember, gzip.compress(batch(now, "imp_gz", 3)),
                       {"Content-Encoding": "gzip"})[0] == 204
    assert post_import(ember, b'imp_extra{a="1"} 7\n',
                       params="?extra_label=job=imported&extra_label=a=2")[0] == 204
    status, body = ember.query('imp_extra{job="imported"}')
    assert status == 200 and body["data"]["result"][0]["metric"]["a"] == "2"
    assert len(samples_by_series(ember, "imp_gz[1m]", now / 1000 + 1)) == 3

    # A malformed body stores nothing and says where.
    status, _, raw = post_import(ember, batch(now + 1000, "imp_bad", 2) + b"imp_bad{ 1\n")
    assert status == 400 and b"line 3" in raw
    status, body = ember.query("imp_bad", time=str(now / 1000 + 2))
    assert body["data"]["result"] == []
    # Samples older than the series' newest are rejected and counted, the rest stored.
    status, _, raw = post_import(ember, batch(now - 60000, "imp_plain", 3))
    assert status == 400 and b"3 of 3 samples rejected" in raw
    assert post_import(ember, b"x", {"Content-Encoding": "gzip"})[0] == 400
    assert ember.stop() == 0


def find_block(data):
    for d in sorted(Path(data).iterdir()):
        if len(d.name) == 26 and (d / "meta.json").exists():
            return d
    return None


def test_damaged_wal_tail_and_block_chunk_are_reported_and_the_rest_served(start_ember):
    args = ("--storage.tsdb.min-block-duration=1h",)
    ember = start_ember(extra=args)
    now = int(time.time() * 1000)
    start = now - 4 * 3600 * 1000
    # Four hours of 20 series at 60 s in one request: the storage thread cuts blocks from it.
    body = b"".join(batch(start + k * 60000, "dmg") for k in range(240))
    assert post_import(ember, body)[0] == 204
    wait_for(lambda: find_block(ember.data), 20, what="a block cut from the head")
    wait_for(lambda: metric_value(ember, "prometheus_tsdb_head_truncations_total") >= 2, 20,
             what="two head cuts")
    assert ember.stop() == 0

    block = find_block(ember.data)
    chunk = block / "chunks" / "000001"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    segs = sorted(p for p in (ember.data / "wal").iterdir() if p.name.isdigit()
                  and p.stat().st_size > 0)
    with open(segs[-1], "ab") as f:
        f.write(b"\x00\x00\x10\x00garbage: a torn record")

    ember = start_ember(extra=args)
    assert "WAL" in ember.logs() and "corrupt" in ember.logs().lower()
    assert metric_value(ember, "prometheus_tsdb_wal_corruptions_total") == 1
    got = samples_by_series(ember, "dmg[5h]", now / 1000)
    assert len(got) == SERIES
    short = {k: 240 - len(v) for k, v in got.items() if len(v) < 240}
    # A damaged values record costs one series one chunk; a damaged timestamp record (block
    # format 2, in compacted blocks) costs that chunk of every series sharing it: here all,
    # since they share their timestamps. Compacted 3h blocks hold chunks of up to 180 samples.
    assert len(short) in (1, SERIES), short
    assert len(set(short.values())) == 1 and 0 < max(short.values()) <= 180, short
    assert metric_value(ember, "ember_tsdb_corrupt_chunks_total") >= 1
    assert "damaged block chunk" in ember.logs()
    assert ember.stop() == 0


def test_status_tsdb_and_snapshot(start_ember):
    ember = start_ember(extra=("--web.enable-admin-api",))
    now = int(time.time() * 1000)
    assert post_import(ember, batch(now, "status_test", 7))[0] == 204
    status, _, raw = ember.get("/api/v1/status/tsdb")
    assert status == 200
    data = json.loads(raw)["data"]
    assert data["headStats"]["numSeries"] >= 7
    assert data["headStats"]["chunkCount"] >= 7
    assert {"name": "status_test", "value": 7} in data["seriesCountByMetricName"]
    assert any(p["name"] == "__name__=status_test" for p in data["seriesCountByLabelValuePair"]) \
        or len(data["seriesCountByLabelValuePair"]) == 10
    for key in ("labelValueCountByLabelName", "memoryInBytesByLabelName"):
        assert data[key] and set(data[key][0]) == {"name", "value"}

    status, _, raw = http("POST", ember.base + "/api/v1/admin/tsdb/snapshot")
    assert status == 200, raw
    name = json.loads(raw)["data"]["name"]
    snap = ember.data / "snapshots" / name
    assert find_block(snap) is not None  # the head, written as a block
    assert ember.stop() == 0

    # The snapshot is a data directory of its own.
    restored = start_ember(extra=(f"--storage.tsdb.path={snap}",))
    status, body = restored.query("status_test", time=str(now / 1000))
    assert len(body["data"]["result"]) == 7
    restored.stop()


def test_admin_api_is_off_by_default(start_ember):
    ember = start_ember()
    status, _, raw = http("POST", ember.base + "/api/v1/admin/tsdb/snapshot")
    # Prometheus 2.42: 500 with errorType unavailable (its default status for that type).
    assert status == 500 and json.loads(raw) == {
        "status": "error", "errorType": "unavailable", "error": "admin APIs disabled"}


def openmetrics(start_ms, n_series=3, n_points=180):
    lines = ["# TYPE backfill_total counter\n"]
    for i in range(n_series):
        for k in range(n_points):
            t = start_ms + k * 60000
            lines.append(f'backfill_total{{series="{i}"}} {k * 2.5} {t / 1000:.3f}\n')
    lines.append("# EOF\n")
    return "".join(lines)


def test_tsdb_import_writes_blocks_ember_then_serves(tmp_path, start_ember):
    ember_bin = EMBER_BIN
    start = (int(time.time()) // 3600 - 30) * 3600 * 1000  # 30 hours ago: blocks only
    src = tmp_path / "old.om"
    src.write_text(openmetrics(start))
    data = tmp_path / "data"
    out = subprocess.run([ember_bin, "tsdb", "import", str(src),
                                        f"--storage.tsdb.path={data}"],
                                       capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "imported 540 samples of 3 series" in out.stdout
    assert find_block(data) is not None

    ember = start_ember()
    got = samples_by_series(ember, "backfill_total[3h]", (start + 179 * 60000) / 1000)
    assert sorted(got) == ["0", "1", "2"]
    assert all(len(v) == 180 for v in got.values())

    # While ember runs on the directory an import refuses; a bad file names its line.
    out = subprocess.run([ember_bin, "tsdb", "import", str(src),
                                        f"--storage.tsdb.path={data}"],
                                       capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "in use" in out.stderr
    bad = tmp_path / "bad.om"
    bad.write_text('x{a="1"} 1 100\nx{a= 2 200\n# EOF\n')
    out = subprocess.run([ember_bin, "tsdb", "import", str(bad),
                                        f"--storage.tsdb.path={tmp_path / 'other'}"],
                                       capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "line 2" in out.stderr
    out = subprocess.run([ember_bin, "tsdb", "import"], capture_output=True,
                                       text=True, timeout=60)
    assert out.returncode == 2 and "usage" in out.stderr


def test_delete_series_and_clean_tombstones(start_ember):
    ember = start_ember(extra=("--web.enable-admin-api",))
    now = int(time.time() * 1000)
    body = b"".join(batch(now - 600000 + k * 15000, "del_test", 3) for k in range(40))
    assert post_import(ember, body)[0] == 204
    start, end = (now - 450000) / 1000, (now - 300000) / 1000
    status, _, raw = http("POST", ember.base + "/api/v1/admin/tsdb/delete_series?"
                          + f'match[]=del_test{{series="1"}}&start={start}&end={end}')
    assert status == 204, raw
    got = samples_by_series(ember, "del_test[15m]", now / 1000)
    assert len(got["0"]) == 40 and len(got["2"]) == 40
    assert len(got["1"]) == 40 - 11  # 150 s of 15 s samples, both ends included
    assert all(not (start * 1000 <= t <= end * 1000) for t in got["1"])
    assert http("POST", ember.base + "/api/v1/admin/tsdb/clean_tombstones")[0] == 204
    # Bad selectors are refused; the data survives a restart deleted.
    status, _, raw = http("POST", ember.base
                          + "/api/v1/admin/tsdb/delete_series?match[]=rate(x%5B5m%5D)")
    assert status == 400 and b"not a series selector" in raw
    assert http("POST", ember.base + "/api/v1/admin/tsdb/delete_series")[0] == 400
    assert ember.stop() == 0
    ember = start_ember(extra=("--web.enable-admin-api",))
    got = samples_by_series(ember, "del_test[15m]", now / 1000)
    assert len(got["1"]) == 40 - 11
