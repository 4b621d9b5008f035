"""tests/e2e/test_scrape_intervals.py — ember's /metrics exposes Prometheus' summary
prometheus_target_interval_length_seconds: per configured interval (label interval="1s" as
Prometheus writes durations), the quantiles 0.01 0.05 0.5 0.9 0.99 of the measured time between
scrape starts, with _sum and _count; scraping itself, ember then stores those series too."""
import re

from conftest import http, wait_for
from test_scrape_client import values

NAME = "prometheus_target_interval_length_seconds"


def metrics(e):
    status, _, body = http("GET", e.base + "/metrics")
    assert status == 200
    return body.decode()


def rows(text):
    """name{labels} -> value for the summary's rows."""
    out = {}
    for line in text.splitlines():
        if line.startswith(NAME):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_interval_length_summary(start_ember):
    cfg = ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
           "  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{self_port}']\n"
           "  - job_name: slow\n    scrape_interval: 2s\n"
           "    static_configs:\n      - targets: ['127.0.0.1:{self_port}']\n")
    e = start_ember(cfg)
    count_1s = f'{NAME}_count{{interval="1s"}}'
    wait_for(lambda: rows(metrics(e)).get(count_1s, 0) >= 3, 30, interval=0.25,
             what="three 1s intervals measured")
    text = metrics(e)
    assert f"# TYPE {NAME} summary" in text
    r = rows(text)
    for q in ("0.01", "0.05", "0.5", "0.9", "0.99"):
        v = r[f'{NAME}{{interval="1s",quantile="{q}"}}']
        assert 0.5 < v < 1.5, (q, v)  # a 1 s timer, on a possibly loaded machine
    assert 0.5 * r[count_1s] < r[f'{NAME}_sum{{interval="1s"}}'] < 1.5 * r[count_1s]
    # The 2s job has its own row once its target has scraped twice.
    wait_for(lambda: rows(metrics(e)).get(f'{NAME}_count{{interval="2s"}}', 0) >= 1, 30,
             interval=0.25, what="one 2s interval measured")
    v = rows(metrics(e))[f'{NAME}{{interval="2s",quantile="0.5"}}']
    assert 1.5 < v < 2.5, v
    # Scraped like any other series.
    wait_for(lambda: values(e, f'{NAME}{{job="self",interval="1s",quantile="0.5"}}'), 20,
             interval=0.25, what="the summary stored")
    assert all(re.match(r'^[a-z_]+(\{.*\})? \S+$', line) for line in text.splitlines()
               if line.startswith(NAME))
    assert e.stop() == 0
