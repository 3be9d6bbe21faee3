"""Helpers for the Switchboard integration tests: start and stop the daemon (with the
sanitizer checks), talk HTTP to it, and print TAP-style results.

Each test script runs inside its own network namespace (run.sh does the unshare), so
fixed ports are fine. Python 3 standard library only.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HTTP_PORT = 18088
WS_PORT = 18188
HERE = os.path.dirname(os.path.abspath(__file__))
TESTS_DIR = os.path.dirname(os.path.dirname(HERE))  # tests/
LSAN_SUPP = os.path.join(TESTS_DIR, "lsan.supp")


class Tap:
    """TAP-style reporting: one 'ok - name' / 'not ok - name' line per case."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.passed = 0
        self.failed = 0

    def result(self, name, ok, detail=None):
        full = "%s: %s" % (self.prefix, name)
        if ok:
            self.passed += 1
            print("ok - " + full, flush=True)
        else:
            self.failed += 1
            print("not ok - " + full, flush=True)
            if detail:
                for line in str(detail).splitlines():
                    print("#   " + line, flush=True)

    def case(self, name):
        return _Case(self, name)

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def exit(self):
        sys.exit(1 if self.failed else 0)


class _Case:
    """with tap.case("name"): ... -- passes unless the body raises."""

    def __init__(self, tap, name):
        self.tap, self.name = tap, name

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        if etype is None:
            self.tap.result(self.name, True)
        else:
            detail = "".join(traceback.format_exception(etype, value, tb)[-3:])
            self.tap.result(self.name, False, detail)
        return True  # keep going with the next case


def check(cond, what="check failed"):
    if not cond:
        raise AssertionError(what)


def check_eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what or "value", got, want))


def wait_port(port, timeout=10.0, proc=None, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited early with %s" % proc.returncode)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %s:%d not listening after %.0fs" % (host, port, timeout))


class Server:
    """The daemon under test. Sanitizer reports go to files in a private folder; stop()
    sends SIGTERM and reports what went wrong (exit code, slowness, sanitizer logs)."""

    def __init__(self, builddir, args=(), http_port=HTTP_PORT, ws_port=WS_PORT, ws=True,
                 html_folder="", name="server", wait_ws=True, wait_host="127.0.0.1"):
        self.builddir = os.path.abspath(builddir)
        self.http_port, self.ws_port, self.ws = http_port, ws_port, ws
        self.tmp = tempfile.mkdtemp(prefix="sbtest-%s-" % name)
        self.san_dir = os.path.join(self.tmp, "san")
        os.mkdir(self.san_dir)
        self.log_path = os.path.join(self.tmp, "server.log")
        cmd = [os.path.join(self.builddir, "switchboard"), "--port", str(http_port),
               "--bind", "127.0.0.1", "--html-folder", html_folder,
               "--plugins-folder", os.path.join(self.builddir, "plugins"),
               "--configs-folder", self.tmp, "--log-level", "info",
               # A second listener per server: beside http_port, so servers side by side
               # never share one. SIGTERM stops at once unless a test asks for a drain.
               "--admin-port", str(http_port - 1000), "--drain-timeout", "0"]
        if ws:
            cmd += ["--ws", "true", "--ws-port", str(ws_port), "--ws-bind", "127.0.0.1"]
        else:
            cmd += ["--ws", "false"]
        cmd += list(args)
        self.cmd = cmd
        env = dict(os.environ)
        san = os.path.join(self.san_dir, "report")
        env["ASAN_OPTIONS"] = ":".join([
            "halt_on_error=1", "abort_on_error=0", "detect_leaks=1", "log_path=" + san,
            "detect_stack_use_after_return=0", "strict_string_checks=1"])
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:log_path=" + san
        lsan = ["log_path=" + san, "report_objects=0"]
        if os.path.exists(LSAN_SUPP):
            lsan.append("suppressions=" + LSAN_SUPP)
        env["LSAN_OPTIONS"] = ":".join(lsan)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.stopped = None
        wait_port(http_port, proc=self.proc, host=wait_host)  # wait_host: a --bind of args
        if ws and wait_ws:
            wait_port(ws_port, proc=self.proc, host=wait_host)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def sanitizer_reports(self):
        out = []
        for f in sorted(os.listdir(self.san_dir)):
            p = os.path.join(self.san_dir, f)
            with open(p, errors="replace") as fh:
                text = fh.read()
            if text.strip():
                out.append("%s:\n%s" % (f, text))
        return out

    def stop(self, grace=None):
        """SIGTERM, then wait. Returns a list of problems (empty when clean)."""
        if self.stopped is not None:
            return self.stopped
        problems = []
        if grace is None:
            grace = float(os.environ.get("SB_TEST_STOP_GRACE", "8"))
        t0 = time.time()
        if self.proc.poll() is not None:
            problems.append("server had already exited with %s" % self.proc.returncode)
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=grace)
                if rc != 0:
                    problems.append("server exited with %s on SIGTERM" % rc)
            except subprocess.TimeoutExpired:
                problems.append("server still running %.0fs after SIGTERM" % grace)
                self.proc.kill()
                self.proc.wait()
        self.stop_seconds = time.time() - t0
        self.log.close()
        reports = self.sanitizer_reports()
        if reports:
            problems.append("sanitizer reports:\n" + "\n".join(reports)[:20000])
        if problems:
            with open(self.log_path, errors="replace") as fh:
                tail = fh.read()[-3000:]
            problems.append("server log tail:\n" + tail)
        self.stopped = problems
        return problems

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def stop_and_report(tap, server, name="clean shutdown, no sanitizer report"):
    problems = server.stop()
    tap.result(name, not problems, "\n".join(problems))
    server.cleanup()


class Http:
    """A tiny JSON-over-HTTP client; one new connection per call unless keep=True."""

    def __init__(self, port=HTTP_PORT, base="/janus", timeout=10.0):
        self.port, self.base, self.timeout = port, base, timeout

    def raw(self, method, path, body=None, headers=None, timeout=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout or self.timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def call(self, method, path, body=None, headers=None, timeout=None):
        """Returns (status, parsed JSON or None)."""
        status, _, data = self.raw(method, path, body, headers, timeout)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, None

    def post(self, path, body, timeout=None):
        status, j = self.call("POST", self.base + path, body, timeout=timeout)
        check_eq(status, 200, "HTTP status of POST %s" % path)
        return j

    def get(self, path, timeout=None):
        status, j = self.call("GET", self.base + path, timeout=timeout)
        check_eq(status, 200, "HTTP status of GET %s" % path)
        return j

    # Janus verbs
    def create(self, tx="create", **extra):
        r = self.post("", dict({"janus": "create", "transaction": tx}, **extra))
        check_eq(r.get("janus"), "success", "create reply %r" % r)
        return r["data"]["id"]

    def attach(self, sid, plugin="janus.plugin.echotest", tx="attach", **extra):
        r = self.post("/%d" % sid, dict({"janus": "attach", "plugin": plugin,
                                          "transaction": tx}, **extra))
        check_eq(r.get("janus"), "success", "attach reply %r" % r)
        return r["data"]["id"]

    def destroy(self, sid, tx="destroy", **extra):
        return self.post("/%d" % sid, dict({"janus": "destroy", "transaction": tx}, **extra))

    def poll(self, sid, query="", timeout=None):
        """The long-poll's answer: events (HTTP 200), or the 458 error of a session that is
        not there (HTTP 404, as the reference answers it; poll_status tells them apart)."""
        return self.poll_status(sid, query, timeout)[1]

    def poll_status(self, sid, query="", timeout=None):
        """(HTTP status, JSON) of one long-poll."""
        status, j = self.call("GET", "%s/%d%s" % (self.base, sid, query), timeout=timeout)
        check(status == 200 or (status == 404 and error_code(j) == 458),
              "long-poll of %d: HTTP %d %r" % (sid, status, j))
        return status, j


def error_code(reply):
    if not isinstance(reply, dict) or reply.get("janus") != "error":
        return None
    return reply.get("error", {}).get("code")


def raw_exchange(port, data, timeout=3.0, read_all=True):
    """Send raw bytes, return what comes back until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not c:
                break
            chunks.append(c)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def builddir_from_argv():
    if len(sys.argv) < 2:
        print("usage: %s <builddir>" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    return sys.argv[1]


def run_node_steps(tap, args, expect=(), timeout=120, env=None):
    """Run a node script that prints 'ok - step' / 'not ok - step' lines; report each
    step through tap, plus a failure for each expected step that never reported."""
    here = os.path.dirname(HERE)
    if not os.path.isdir(os.path.join(here, "node_modules")):
        tap.result("npm packages installed (run npm ci in tests/integration)", False)
        return
    seen = set()
    try:
        p = subprocess.run(["node"] + list(args), cwd=here, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), "timeout"
    comments = []
    for line in out.splitlines():
        if line.startswith("ok - "):
            seen.add(line[5:])
            tap.result(line[5:], True)
        elif line.startswith("not ok - "):
            seen.add(line[9:])
            tap.result(line[9:], False, "\n".join(comments[-30:]))
            comments = []
        else:
            comments.append(line)
    missing = [s for s in expect if s not in seen]
    if missing or rc != 0:
        tap.result("node script ran every step (exit %s)" % rc, False,
                   "missing steps: %r\n%s" % (missing, "\n".join(comments[-40:])))
