"""tests/e2e/test_query_inline.py — instant queries small enough to be answered on the event loop
(server/api_query.c, "inline lane") against the real binary scraping a real node exporter: the
same bytes as the worker path for the same data, counted in ember_queries_inline_total, and the
same timeout, max-samples and concurrency-gate behaviour (a query never jumps the wait queue)."""
import re
import threading
import time
import urllib.parse

from conftest import http, wait_for
from test_query_api import SLOW, assert_error, slow, slow_steps

NO_SCRAPES = "scrape_configs: []\n"


def node_config(target):
    return ("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n"
            f"    static_configs:\n      - targets: ['{target}']\n")


def inline_count(e):
    status, _, body = e.get("/metrics")
    assert status == 200
    m = re.search(rb"^ember_queries_inline_total (\d+)$", body, re.M)
    assert m, "ember_queries_inline_total missing from /metrics"
    return int(m.group(1))


def raw_query(e, q, headers=None, **params):
    params["query"] = q
    status, h, body = http("GET", e.base + "/api/v1/query?" + urllib.parse.urlencode(params),
                           headers=headers)
    hdrs = {k.lower(): v for k, v in h.items() if k.lower() != "date"}
    return status, hdrs, body


def test_inline_answers_are_the_worker_answers_byte_for_byte(start_ember, node_exporter):
    e = start_ember(node_config(node_exporter))
    wait_for(lambda: e.query("up")[1]["data"]["result"], 15, what="a first scrape")
    t = f"{time.time():.3f}"
    # Each pair selects the same series; a regex matcher (even a literal one) keeps the second
    # off the loop, because parsing compiles it.
    pairs = [
        ("up", 'up{job=~"node"}'),
        ('node_cpu_seconds_total{mode="idle"}', 'node_cpu_seconds_total{mode=~"idle"}'),
        ('sum by (mode) (node_cpu_seconds_total{mode="user"})',
         'sum by (mode) (node_cpu_seconds_total{mode=~"user"})'),
        ("node_load1 offset 2s", 'node_load1{job=~"node"} offset 2s'),
        ("up[5s]", 'up{job=~"node"}[5s]'),
        ("absent(nonexistent)", 'absent({__name__=~"nonexistent"})'),
    ]
    for gz in ({}, {"Accept-Encoding": "gzip"}):
        for small, big in pairs:
            before = inline_count(e)
            a = raw_query(e, small, headers=gz, time=t)
            mid = inline_count(e)
            b = raw_query(e, big, headers=gz, time=t)
            after = inline_count(e)
            assert a[0] == 200, a
            assert a == b, (small, a, b)
            assert mid == before + 1 and after == mid, (small, before, mid, after)
    # Parse errors read the same from the loop as from a worker.
    status, _, body = raw_query(e, "up +")
    assert status == 400
    assert b'"error":"invalid parameter \\"query\\": 1:5: parse error: unexpected end of input"' \
        in body, body
    assert e.stop() == 0


def test_limits_apply_as_on_a_worker(start_ember, node_exporter):
    e = start_ember(node_config(node_exporter), extra=["--query.max-samples=1"])
    # Past one sample in a range's window, both paths must refuse to load them.
    wait_for(lambda: e.query('count_over_time(up{job=~"node"}[5m])')[0] == 422, 15,
             what="two scraped samples of up")
    for q in ("count_over_time(up[5m])", 'count_over_time(up{job=~"node"}[5m])'):
        status, doc = e.query(q)
        assert_error(status, doc, 422, "execution",
                     "query processing would load too many samples into memory in query "
                     "execution")
    # An instant selector holds one sample per series, as in Prometheus: within the limit.
    for q in ("up", 'up{job=~"node"}'):
        status, doc = e.query(q)
        assert status == 200 and len(doc["data"]["result"]) == 1, doc
    status, doc = e.query("up", timeout="0")
    assert_error(status, doc, 503, "timeout", "query timed out in query execution")
    assert e.stop() == 0


def test_a_small_query_waits_its_turn_behind_a_busy_slot(start_ember):
    e = start_ember(NO_SCRAPES, extra=["--query.max-concurrency=1"])
    steps = slow_steps(e, 1.5)
    for _ in range(3):
        done = {}
        first = threading.Thread(target=lambda: done.update(r=slow(e, steps)))
        first.start()
        time.sleep(0.2)  # the slow query takes the only slot
        before = inline_count(e)
        t0 = time.monotonic()
        status, doc = e.query("vector(1)", timeout="300ms")
        waited = time.monotonic() - t0
        first.join(timeout=60)
        assert done["r"][0] == 200, done
        if status == 200 and waited < 0.3:
            steps *= 3  # the slow query ended first: no proof either way, try a longer one
            continue
        assert_error(status, doc, 503, "timeout", "query timed out in query queue")
        assert inline_count(e) == before
        break
    else:
        raise AssertionError(f"{SLOW} never outlasted the small query's timeout")
    # With the slot free again it is answered at once, inline.
    before = inline_count(e)
    status, doc = e.query("vector(1)")
    assert status == 200 and doc["data"]["result"][0]["value"][1] == "1", doc
    assert inline_count(e) == before + 1
    assert e.stop() == 0
