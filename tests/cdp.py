"""Headless Chromium over the DevTools protocol, for tests of live pages.

    from cdp import Browser
    with Browser(chromium_path) as b:
        b.goto("http://127.0.0.1:8421/")       # waits for the load event
        b.eval("document.title")               # a JavaScript value
        b.click("a[href='/schedules']")        # a real mouse click, then load
        b.wait("document.querySelector('#x')") # until true, or TestError

The protocol goes over a pipe (--remote-debugging-pipe: messages are JSON
ended by a NUL, Chromium reads fd 3 and writes fd 4), so nothing listens on
a port and no WebSocket library is needed. `--dump-dom` cannot read a page
that keeps a connection open (an event stream): this can, and it can watch
the page change. Every wait is bounded; no network but loopback (every host
name resolves to nothing, no proxy).
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class TestError(Exception):
    pass


class Browser:
    def __init__(self, path, timeout=20, size=(1200, 900)):
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="vouch-cdp.")
        to_child, self.w = os.pipe()
        self.r, from_child = os.pipe()

        def fds():  # the child's ends at 3 and 4, whatever numbers they had
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [path, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--no-first-run",
             "--no-default-browser-check", "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--user-data-dir=" + self.dir, "--hide-scrollbars",
             "--window-size=%d,%d" % size, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_child)
        os.close(from_child)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.dialogs = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except (TestError, OSError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the protocol ---------------------------------------------------

    def _read(self, deadline):
        """One message from Chromium, or None when the deadline passed."""
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                return None
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise TestError("Chromium went away")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        msg = json.loads(msg)
        if msg.get("method") == "Page.javascriptDialogOpening":
            self.dialogs.append(msg["params"].get("message"))
            self.call("Page.handleJavaScriptDialog", {"accept": True})
        return msg

    def call(self, method, params=None, session=True, timeout=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + (timeout or self.timeout)
        while True:
            m = self._read(deadline)
            if m is None:
                raise TestError("no answer to %s" % method)
            if m.get("id") == mid:
                if "error" in m:
                    raise TestError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def event(self, name, timeout=None):
        """Wait for the next event `name` (those already in are taken first)."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            for i, m in enumerate(self.events):
                if m["method"] == name:
                    return self.events.pop(i)["params"]
            m = self._read(deadline)
            if m is None:
                raise TestError("no %s within %ss" % (name, timeout or self.timeout))
            if "method" in m:
                self.events.append(m)

    # -- pages ----------------------------------------------------------

    def eval(self, expr):
        """The value of JavaScript `expr` in the page (promises awaited)."""
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise TestError("%s: %s" % (expr[:60], r["exceptionDetails"].get("exception", {}).get("description")))
        return r["result"].get("value")

    def _loaded(self, action, timeout):
        self.events = [m for m in self.events if m["method"] != "Page.loadEventFired"]
        action()
        self.event("Page.loadEventFired", timeout)

    def goto(self, url, timeout=None):
        self._loaded(lambda: self.call("Page.navigate", {"url": url}), timeout)

    def click(self, selector, timeout=None, load=True):
        """Click the middle of the first element matching `selector` with
        the mouse, as a person would; then wait for the page it loads."""
        box = self.eval("(function(){var e=document.querySelector(%s); if(!e) return null;"
                        "e.scrollIntoView({block:'center'}); var r=e.getBoundingClientRect();"
                        "return [r.x + r.width/2, r.y + r.height/2];})()" % json.dumps(selector))
        if box is None:
            raise TestError("nothing to click: " + selector)

        def press():
            for kind in ("mousePressed", "mouseReleased"):
                self.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                       "button": "left", "clickCount": 1})
        if load:
            self._loaded(press, timeout)
        else:
            press()

    def wait(self, expr, timeout=None):
        """Wait until JavaScript `expr` is truthy in the page; its value."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            v = self.eval(expr)
            if v:
                return v
            if time.time() > deadline:
                raise TestError("still false after %ss: %s" % (timeout or self.timeout, expr))
            m = self._read(time.time() + 0.1)
            if m and "method" in m:
                self.events.append(m)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
