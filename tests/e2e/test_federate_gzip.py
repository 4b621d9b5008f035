"""tests/e2e/test_federate_gzip.py — /federate (match[] required, newest sample in the lookback
window, TYPE lines, name order, external labels) and gzip-encoded responses for the
API, /metrics and /federate."""
import gzip
import json
import time

from conftest import http

CONFIG = """global:
  external_labels:
    region: eu
scrape_configs: []
"""


def load(ember, text):
    status, _, raw = http("POST", ember.base + "/api/v1/import/prometheus", data=text.encode())
    assert status == 204, raw


def test_federate_text_format(start_ember):
    ember = start_ember(CONFIG)
    now = int(time.time() * 1000)
    load(ember, f'zz_b{{job="j"}} 1 {now - 30000}\n'
                f'zz_b{{job="j"}} 2 {now - 15000}\n'
                f'aa_a{{job="j",region="us",path="a\\"b"}} 0.5 {now - 1000}\n'
                f'aa_a{{job="k"}} 1e-7 {now - 1000}\n'
                f'old_series{{job="j"}} 9 {now - 600000}\n'
                f'fed_mid{{job="j"}} 1 {now - 20000}\n')
    status, headers, raw = http("GET", ember.base + "/federate?match%5B%5D=%7Bjob%3D~%22j%7Ck%22%7D"
                                "&match%5B%5D=zz_b")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = raw.decode().splitlines()
    assert lines == [
        "# TYPE aa_a untyped",
        f'aa_a{{job="j",path="a\\"b",region="us",instance=""}} 0.5 {now - 1000}',
        f'aa_a{{job="k",instance="",region="eu"}} 1e-07 {now - 1000}',
        "# TYPE fed_mid untyped",
        f'fed_mid{{job="j",instance="",region="eu"}} 1 {now - 20000}',
        "# TYPE zz_b untyped",
        f'zz_b{{job="j",instance="",region="eu"}} 2 {now - 15000}',
    ]


def test_federate_errors_are_plain_text_400(start_ember):
    ember = start_ember()
    status, headers, raw = http("GET", ember.base + "/federate")
    assert (status, raw) == (400, b"no match[] parameter provided\n")
    assert headers["Content-Type"].startswith("text/plain")
    status, _, raw = ember.get("/federate", **{"match[]": '{a=""}'})
    assert (status, raw) == (400, b"match[] must contain at least one non-empty matcher\n")
    status, _, raw = ember.get("/federate", **{"match[]": "up{"})
    assert status == 400 and b"parse error" in raw
    status, _, raw = ember.get("/federate", **{"match[]": "nothing_here"})
    assert (status, raw) == (200, b"")


def many_series(ember, n=300):
    now = int(time.time() * 1000)
    load(ember, "".join(f'gz_metric{{idx="{i}",job="gz"}} {i} {now}\n' for i in range(n)))


def test_gzip_when_asked_for_api_metrics_and_federate(start_ember):
    ember = start_ember()
    many_series(ember)
    for path in ("/api/v1/series?match%5B%5D=gz_metric", "/api/v1/query?query=gz_metric",
                 "/metrics", "/federate?match%5B%5D=gz_metric"):
        status, headers, raw = http("GET", ember.base + path, headers={"Accept-Encoding": "gzip"})
        assert status == 200, path
        assert headers["Content-Encoding"] == "gzip", path
        assert headers["Vary"] == "Accept-Encoding", path
        plain = gzip.decompress(raw)
        status, headers2, raw2 = http("GET", ember.base + path)
        assert "Content-Encoding" not in headers2, path
        if path.startswith("/api"):
            assert json.loads(plain)["status"] == "success"
            assert json.loads(plain)["data"] and len(raw) < len(raw2)
        elif path.startswith("/federate"):
            assert plain == raw2 and len(raw) < len(raw2)
        else:
            assert b"prometheus_tsdb_head_series" in plain


def test_tiny_bodies_are_not_compressed(start_ember):
    ember = start_ember()
    status, headers, raw = http("GET", ember.base + "/api/v1/status/buildinfo",
                                headers={"Accept-Encoding": "gzip"})
    assert status == 200 and "Content-Encoding" not in headers
    assert json.loads(raw)["status"] == "success"
