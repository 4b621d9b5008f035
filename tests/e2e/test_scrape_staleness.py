"""tests/e2e/test_scrape_staleness.py — the per-target series cache as users see it: a series that
leaves a target's exposition ends at once (stale marker), including when the others move around
it or new ones arrive; a malformed scrape ends every series of the target (up 0, nothing partial
stored) and a good one brings them back with their values; scrape_series_added counts only
series new to the target."""
import http.server
import threading

import pytest

from conftest import wait_for
from test_scrape_client import config, job, values


class Settable(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.server.body.encode()
        self.server.scrapes += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def target():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Settable)
    httpd.daemon_threads = True
    httpd.body = ""
    httpd.scrapes = 0
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    t.join(timeout=5)


def series(e):
    """{id label: value} of stale_test_metric as an instant query sees it now."""
    return {dict(k)["id"]: v for k, v in values(e, "stale_test_metric").items()}


def body(pairs):
    return "".join(f'stale_test_metric{{id="{i}"}} {v}\n' for i, v in pairs)


def set_and_wait(e, target, text, want):
    """Serves text from now on and waits until the query shows exactly want."""
    target.body = text
    wait_for(lambda: series(e) == want, 20, interval=0.25, what=f"series == {want}")


def test_series_leave_move_and_return(start_ember, target):
    target.body = body([("a", 1), ("b", 2), ("c", 3)])
    addr = f"127.0.0.1:{target.server_address[1]}"
    e = start_ember(config(job("stale", addr)))
    wait_for(lambda: series(e) == {"a": 1, "b": 2, "c": 3}, 20, interval=0.25, what="first scrape")

    # b leaves while the others change places and a new one arrives: b ends, the rest go on.
    set_and_wait(e, target, body([("new", 9), ("c", 30), ("a", 10)]),
                 {"a": 10, "c": 30, "new": 9})
    added = values(e, 'scrape_series_added{job="stale"}')
    assert list(added.values()) in ([1.0], [0.0]), added  # 1 in the scrape that brought "new"

    # Unchanged for a while: nothing new is added, nothing ends.
    n = target.scrapes
    wait_for(lambda: target.scrapes >= n + 2, 20, interval=0.25, what="two more scrapes")
    assert series(e) == {"a": 10, "c": 30, "new": 9}
    assert list(values(e, 'scrape_series_added{job="stale"}').values()) == [0.0]

    # A malformed scrape: up 0, every series of the target ends, nothing of it is stored.
    target.body = body([("a", 11)]) + "stale_test_metric{id=\"x\" 5\n"
    wait_for(lambda: list(values(e, 'up{job="stale"}').values()) == [0.0], 20, interval=0.25,
             what="up == 0")
    wait_for(lambda: series(e) == {}, 20, interval=0.25, what="all series stale")
    # a's 11 from the failed scrape was not stored: its highest value is still 10.
    assert list(values(e, 'max_over_time(stale_test_metric{id="a"}[5m])').values()) == [10.0]

    # A good scrape again: b comes back as well.
    set_and_wait(e, target, body([("a", 12), ("b", 22)]), {"a": 12, "b": 22})
    assert list(values(e, 'up{job="stale"}').values()) == [1.0]
    assert e.stop() == 0
