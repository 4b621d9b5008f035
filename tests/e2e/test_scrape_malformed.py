"""tests/e2e/test_scrape_malformed.py — targets that answer with broken HTTP: each scrape fails
with a clear lastError, up is 0, nothing of the body is stored, and ember keeps serving. The
target is a raw socket server, so the bytes are exactly the ones written here."""
import gzip
import json
import socket
import struct
import threading

import pytest

from conftest import wait_for
from test_scrape_client import config, count, job, up

BODY = b"malformed_test_metric 1\n"
GZ = gzip.compress(BODY)

CASES = {
    "/not_http": (b"SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP response"),
    "/bad_status": (b"HTTP/1.1 2x0 OK\r\nContent-Length: 24\r\n\r\n" + BODY,
                    "malformed HTTP response"),
    "/bad_chunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + BODY +
                   b"\r\n0\r\n\r\n", "malformed HTTP response"),
    "/short_body": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + BODY,
                    "closed before the response was complete"),
    "/gzip_cut": (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                  % (len(GZ) - 6) + GZ[:-6], "invalid gzip body: unexpected EOF"),
    "/gzip_garbage": (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 24\r\n\r\n"
                      + BODY, "invalid gzip body"),
    # No answer: the connection is reset (SO_LINGER 0), worded as Go's client words it.
    "/reset": (None, "read: connection reset by peer"),
}


class RawServer:
    """Reads one request per connection, writes the canned bytes for its path, closes (resets
    the connection when the bytes are None)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    req = b""
                    while b"\r\n\r\n" not in req and len(req) < 8192:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        req += chunk
                    path = req.split(b" ")[1].decode() if req.count(b" ") >= 2 else "/"
                    answer = CASES.get(path, (b"HTTP/1.1 404 Not Found\r\n\r\n",))[0]
                    if answer is None:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    else:
                        conn.sendall(answer)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


def last_error(e, job_name):
    status, _, raw = e.get("/api/v1/targets")
    assert status == 200, raw
    return [t["lastError"] for t in json.loads(raw)["data"]["activeTargets"]
            if t["labels"]["job"] == job_name][0]


@pytest.fixture
def raw_target():
    s = RawServer()
    yield s.addr
    s.close()


def test_malformed_responses_fail_the_scrape(start_ember, raw_target):
    jobs = [job(path.strip("/"), raw_target, path=path) for path in CASES]
    e = start_ember(config(*jobs))
    for path, (_, text) in CASES.items():
        name = path.strip("/")
        wait_for(lambda: up(e, name) == 0, 20, interval=0.25, what=f"up{{job={name}}} == 0")
        wait_for(lambda: text in last_error(e, name), 20, interval=0.25,
                 what=f"lastError of {name} with {text!r}")
    assert count(e, "malformed_test_metric") == 0
    assert e.stop() == 0
