"""A headless Chromium page driven step by step (js/page_rpc.mjs), optionally inside a
network namespace of lib/netns.py: call(fn, arg) runs window[fn](arg) in the page and
returns its result, so the test can do things between steps (change the client's address,
read the server log) while the page keeps its janus.js session and PeerConnections.

    page = PageRpc("http://198.18.3.1:18088/ice_restart.html", ns=client, args=[...])
    page.call("sbEchoStart", {"server": ...}, timeout=30)
    page.close()

Python 3 standard library only. The driver and the Chromium it started are one process
group, killed by close() however the page ended.
"""
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.dirname(HERE)
DRIVER = os.path.join(INTEGRATION, "js", "page_rpc.mjs")


class PageError(Exception):
    """The page's function threw (or timed out): the message is the page's."""


class PageRpc:
    def __init__(self, url, ns=None, args=(), load_timeout=60):
        self.stderr = tempfile.TemporaryFile()
        cmd = ["node", DRIVER, json.dumps({"url": url, "args": list(args)})]
        kw = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                  cwd=INTEGRATION, start_new_session=True)
        self.proc = ns.popen(cmd, **kw) if ns is not None else subprocess.Popen(cmd, **kw)
        self.lines = queue.Queue()
        self.next_id = 1
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        first = self._next(load_timeout)
        if first.get("ev") != "ready":
            self.close()
            raise RuntimeError("page did not load: %s" % json.dumps(first)[:3000])
        self.browser_version = first.get("browserVersion")

    def _read(self):
        for raw in self.proc.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                continue
        self.lines.put({"ev": "eof"})

    def _next(self, timeout):
        try:
            msg = self.lines.get(timeout=timeout)
        except queue.Empty:
            return {"ev": "timeout", "error": "no answer from the driver in %.0f s" % timeout}
        if msg.get("ev") == "eof":
            self.stderr.seek(0)
            tail = self.stderr.read()[-3000:].decode(errors="replace")
            return {"ev": "eof", "error": "the driver exited (%s): %s" % (self.proc.poll(), tail)}
        return msg

    def call(self, fn, arg=None, timeout=60.0):
        """window[fn](arg) in the page; its result, or PageError with the page's message."""
        rid = self.next_id
        self.next_id += 1
        req = {"id": rid, "fn": fn, "arg": {} if arg is None else arg,
               "timeoutMs": int(timeout * 1000)}
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.time() + timeout + 15
        while True:
            msg = self._next(max(0.1, deadline - time.time()))
            if msg.get("id") == rid:
                if "error" in msg:
                    raise PageError("%s: %s" % (fn, msg["error"]))
                return msg.get("result")
            if msg.get("ev") in ("eof", "timeout", "fatal"):
                raise PageError("%s: %s" % (fn, msg.get("error")))

    def logs(self):
        try:
            return self.call("__logs", timeout=10)
        except (PageError, OSError):
            return []

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"fn":"__quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.stderr.close()
