"""tests/browser/cdp.py — a small Chrome DevTools Protocol client for Debian's headless chromium,
over --remote-debugging-pipe (commands on fd 3, replies on fd 4, each JSON message ending in NUL),
so the browser tests need nothing beyond the Python standard library and the chromium package.
Every wait is bounded in time."""
import base64
import fcntl
import json
import os
import queue
import subprocess
import threading
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class CDPError(AssertionError):
    pass


class Browser:
    def __init__(self, profile_dir, width=1280, height=900):
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        # Move the child's ends above 3 and 4 first, so dup2 onto 3/4 cannot clobber them.
        child_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 100)
        child_w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 100)
        os.close(cmd_r)
        os.close(res_w)

        def to_3_4():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        args = [CHROMIUM, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                "--disable-background-networking", "--disable-sync",
                f"--user-data-dir={profile_dir}", f"--window-size={width},{height}",
                "about:blank"]
        self.log = open(os.path.join(profile_dir, "..", "chromium.log"), "w")
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=to_3_4,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        os.close(child_r)
        os.close(child_w)
        self.out = os.fdopen(cmd_w, "wb", buffering=0)
        self.inp = os.fdopen(res_r, "rb", buffering=0)
        self.next_id = 0
        self.lock = threading.Lock()
        self.replies = {}
        self.cond = threading.Condition()
        self.events = queue.Queue()
        self.width, self.height = width, height
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        pending = b""
        while True:
            chunk = self.inp.read(65536)
            if not chunk:
                with self.cond:
                    self.replies["closed"] = True
                    self.cond.notify_all()
                return
            pending += chunk
            while b"\0" in pending:
                raw, pending = pending.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cond:
                        self.replies[msg["id"]] = msg
                        self.cond.notify_all()
                else:
                    self.events.put(msg)

    def send(self, method, params=None, session=None, timeout=20):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
            msg = {"id": mid, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            self.out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.cond:
            while mid not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.replies.get("closed"):
                    raise CDPError(f"no reply to {method} within {timeout}s")
                self.cond.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def new_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.cmd("Runtime.enable")
        page.cmd("Page.enable")
        page.cmd("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                        "deviceScaleFactor": 1, "mobile": False})
        return page

    def exceptions(self):
        """Uncaught page exceptions seen so far (drains the event queue)."""
        out = []
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return out
            if ev.get("method") == "Runtime.exceptionThrown":
                d = ev["params"]["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d.get("text"))

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except CDPError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.out.close()
        self.log.close()


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.session = session

    def cmd(self, method, params=None, timeout=20):
        return self.b.send(method, params, self.session, timeout)

    def eval(self, expr, timeout=20):
        r = self.cmd("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                          "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError(f"{expr}: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def wait(self, expr, timeout=10, what=None):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.eval(expr)
            if last:
                return last
            time.sleep(0.05)
        raise CDPError(f"timed out after {timeout}s waiting for {what or expr} (last: {last!r})")

    def goto(self, url, timeout=15):
        self.cmd("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete' && location.href !== 'about:blank'", timeout,
                  what=f"load of {url}")

    def type(self, text):
        self.cmd("Input.insertText", {"text": text})

    def key(self, key, code=None, keycode=0):
        for t in ("keyDown", "keyUp"):
            self.cmd("Input.dispatchKeyEvent", {"type": t, "key": key, "code": code or key,
                                                "windowsVirtualKeyCode": keycode})

    def screenshot(self, path):
        data = self.cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))
