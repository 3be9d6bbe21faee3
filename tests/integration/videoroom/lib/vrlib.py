"""Helpers for the VideoRoom integration tests (Python 3 standard library only).

Every test script takes the daemon's path as argv[1], re-executes itself (with
/usr/bin/python3, which has python3-aiortc) inside a private network namespace (loopback only, so ports never collide), starts the daemon there on a
port it picks, and prints one 'ok - name' / 'not ok - name' line per check; it exits
non-zero when any check failed.

    from vrlib import Test
    t = Test("rooms")           # re-execs into a namespace, starts nothing yet
    srv = t.server(conf=TEXT)   # janus.plugin.videoroom.conf contents, or None
    c = srv.client()
    ...
    t.done()                    # stops the server, checks its exit and sanitizer logs
"""
import json
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PLUGIN = "janus.plugin.videoroom"


def _reexec_in_netns():
    if os.environ.get("SB_VR_NETNS") == "1":
        return
    env = dict(os.environ, SB_VR_NETNS="1")
    # Debian's interpreter: python3-aiortc is installed for it, maybe not for another one.
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    unshare = ["unshare", "--net", "--"]
    if os.getuid() != 0:
        unshare = ["unshare", "--user", "--map-root-user", "--net", "--"]
    cmd = unshare + ["sh", "-c", 'ip link set lo up && exec "$@"', "sh", py] + sys.argv
    os.execvpe(cmd[0], cmd, env)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The daemon, started in the test's namespace with its own configs folder."""

    def __init__(self, daemon, conf=None, args=(), html=""):
        self.dir = tempfile.mkdtemp(prefix="sb-vr-")
        self.port = free_port()
        if conf is not None:
            with open(os.path.join(self.dir, PLUGIN + ".conf"), "w") as f:
                f.write(conf)
        self.san = os.path.join(self.dir, "san")
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "log_path=%s:detect_leaks=1" % self.san
        env["UBSAN_OPTIONS"] = "log_path=%s:print_stacktrace=1" % self.san
        env["LSAN_OPTIONS"] = "log_path=%s:report_objects=0" % self.san
        plugins = os.path.join(os.path.dirname(os.path.abspath(daemon)), "plugins")
        # Long-polls answer "keepalive" after 1 s, so the client never abandons one (an
        # abandoned poll would swallow the next event).
        cmd = [daemon, "-p", str(self.port), "--ws", "false", "-H", html, "-F", self.dir,
               "--longpoll-timeout", "1",
               # The admin listener beside the API port (servers side by side never share
               # one); SIGTERM stops at once unless a test asks for a drain.
               "--admin-port", str(self.port - 1000), "--drain-timeout", "0",
               "-P", plugins, "-d", os.environ.get("SB_VR_LOG", "warn")] + list(args)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.base = "http://127.0.0.1:%d/janus" % self.port
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited at start-up:\n" + self.logtext())
            try:
                urllib.request.urlopen(self.base + "/info", timeout=1).read()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("daemon did not answer /info:\n" + self.logtext())

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def client(self):
        return Client(self.base)

    def sanitizer_reports(self):
        out = []
        for name in os.listdir(self.dir):
            if name.startswith("san"):
                with open(os.path.join(self.dir, name)) as f:
                    text = f.read()
                if text.strip():
                    out.append(text)
        return out

    def stop(self, timeout=20):
        """SIGTERM and wait. Returns the exit code (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def cleanup(self):
        self.log.close()
        if os.environ.get("SB_VR_KEEP"):
            print("# kept %s" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """Janus HTTP API client with a per-session buffer of events."""

    def __init__(self, base):
        self.base = base
        self.events = {}

    @staticmethod
    def tx():
        return "".join(random.choice(string.ascii_letters) for _ in range(12))

    def post(self, path, body):
        body = dict(body)
        body.setdefault("transaction", self.tx())
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=15).read())

    def session(self):
        sid = self.post("", {"janus": "create"})["data"]["id"]
        self.events[sid] = []
        return sid

    def attach(self, sid, plugin=PLUGIN):
        return self.post("/%d" % sid, {"janus": "attach", "plugin": plugin})["data"]["id"]

    def handle(self):
        """A new session with one videoroom handle: (session, handle)."""
        sid = self.session()
        return sid, self.attach(sid)

    def detach(self, sid, hid):
        return self.post("/%d/%d" % (sid, hid), {"janus": "detach"})

    def destroy(self, sid):
        return self.post("/%d" % sid, {"janus": "destroy"})

    def message(self, sid, hid, body, jsep=None, tx=None):
        m = {"janus": "message", "body": body}
        if jsep is not None:
            m["jsep"] = jsep
        if tx:
            m["transaction"] = tx
        return self.post("/%d/%d" % (sid, hid), m)

    def sync(self, sid, hid, body):
        """A synchronous request: returns plugindata.data of the 'success' reply."""
        r = self.message(sid, hid, body)
        if r.get("janus") != "success":
            raise AssertionError("expected success, got %s" % json.dumps(r))
        return r["plugindata"]["data"]

    def poll(self, sid):
        """Fetch pending events into the buffer: one long-poll (the server answers within
        its 1 s long-poll timeout)."""
        url = "%s/%d?maxev=20&_=%s" % (self.base, sid, self.tx())
        r = json.loads(urllib.request.urlopen(url, timeout=15).read())
        for e in r if isinstance(r, list) else [r]:
            if e.get("janus") != "keepalive":
                self.events.setdefault(sid, []).append(e)

    def wait(self, sid, pred, timeout=5.0):
        """The first buffered or arriving event of sid matching pred (removed), or None."""
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events.get(sid, [])):
                if pred(e):
                    return self.events[sid].pop(i)
            if time.time() >= deadline:
                return None
            self.poll(sid)

    def request(self, sid, hid, body, jsep=None, timeout=10.0):
        """An asynchronous request: ack, then the event carrying its transaction."""
        tx = self.tx()
        r = self.message(sid, hid, body, jsep, tx=tx)
        if r.get("janus") != "ack":
            raise AssertionError("expected ack, got %s" % json.dumps(r))
        e = self.wait(sid, lambda e: e.get("transaction") == tx, timeout)
        if e is None:
            raise AssertionError("no answer to %s" % json.dumps(body))
        return e

    def data(self, e):
        return e["plugindata"]["data"] if e and "plugindata" in e else None

    def vr_event(self, sid, pred, timeout=5.0):
        """plugindata.data of the first videoroom event whose data matches pred."""
        e = self.wait(sid, lambda e: e.get("janus") == "event" and "plugindata" in e
                      and pred(e["plugindata"]["data"]), timeout)
        return self.data(e)

    def drain(self, sid, settle=0.3):
        time.sleep(settle)
        self.poll(sid)
        out = self.events.get(sid, [])
        self.events[sid] = []
        return out


class Test:
    """One test script: namespace, reporting, server lifetime."""

    def __init__(self, name):
        _reexec_in_netns()
        if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
            print("usage: %s <path to the switchboard daemon>" % sys.argv[0])
            sys.exit(2)
        self.name = name
        self.daemon = sys.argv[1]
        self.failed = 0
        self.servers = []

    def server(self, conf=None, args=(), html=""):
        s = Server(self.daemon, conf, args, html)
        self.servers.append(s)
        return s

    def ok(self, cond, what, detail=None):
        print("%s - %s: %s" % ("ok" if cond else "not ok", self.name, what), flush=True)
        if not cond:
            self.failed += 1
            if detail is not None:
                for line in str(detail).splitlines():
                    print("#   " + line, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, what, "got %r, want %r" % (got, want))

    def error(self, data, code, what):
        """data is an error object with this error_code."""
        got = data.get("error_code") if isinstance(data, dict) else None
        return self.ok(got == code and data.get("videoroom") == "event", what,
                       "got %s, want error_code %d" % (json.dumps(data), code))

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def done(self):
        for s in self.servers:
            rc = s.stop()
            self.ok(rc == 0, "daemon exits cleanly (rc=%s)" % rc,
                    s.logtext()[-3000:] if rc != 0 else None)
            reports = s.sanitizer_reports()
            self.ok(not reports, "no sanitizer report", "\n".join(reports)[:6000])
            # SB_VR_LOG_TAIL=N: the last N characters of the daemon's log, even on success.
            tail = int(os.environ.get("SB_VR_LOG_TAIL", "0"))
            if self.failed or tail:
                self.note("daemon log tail:\n" + s.logtext()[-(tail or 2000):])
            s.cleanup()
        sys.exit(1 if self.failed else 0)
