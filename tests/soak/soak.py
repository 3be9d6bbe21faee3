#!/usr/bin/python3
"""Soak: ~50 PeerConnections keep joining VideoRoom rooms, publishing, subscribing,
renegotiating and leaving against one server for a given time, and the server must not grow.

    tests/soak/soak.py <builddir> [--minutes 30] [--warmup 3] [--seed 1] [--json FILE]

Runs in a network namespace of its own (it re-executes itself under `unshare --net`; root or
unprivileged user namespaces), loopback only. The load, all at once:
- sb-loadgen runs (--slots of them side by side, <builddir>/../build/bench/sb-loadgen when it
  exists, so an ASan server is driven by a plain load generator): mesh rooms of 3 or a
  fan-out of 1 + 4..10, 5-20 s of low-rate media each, then a teardown as closing tabs do
  (DTLS close_notify, session destroy) or destroy-first; some runs are interrupted (SIGTERM,
  then the same teardown) and some killed outright (SIGKILL: their sessions vanish and the
  session timeout must reap them; their rooms are destroyed later, sometimes with the
  vanished participants still inside).
- soak_peers.py, aiortc participants (--aiortc of them at a time) in rooms of their own:
  publish, subscribe, renegotiate (configure with a new offer or a bitrate, subscribe,
  unsubscribe, update), then leave, detach, destroy or vanish; the process itself is killed
  (SIGKILL) every few minutes and started again.
Every minute: the server's RSS, open fds, threads, the join/leave cycles done (a cycle is one
participant's session from join to its end), and sanitizer reports so far.

Leaks are judged between two quiet points, where the load is paused and the server left
--drain seconds to reap what vanished: after --warmup minutes, and at the end. The run fails
(exit 1) if RSS grew more than 1 KB per cycle between them, if fds or threads grew, if the
server died or did not exit cleanly, or on any sanitizer report (an ASan build is detected
from <builddir>/Makefile). The last lines are TAP 'ok - soak: ...' / 'not ok - soak: ...'."""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
LSAN_SUPP = os.path.join(TOP, "tests", "lsan.supp")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PORT = 18090
RSS_LIMIT_BYTES_PER_CYCLE = 1024


def reexec_in_netns():
    if os.environ.get("SB_SOAK_NETNS") == "1":
        return
    env = dict(os.environ, SB_SOAK_NETNS="1")
    unshare = ["unshare", "--net", "--"]
    if os.getuid() != 0:
        unshare = ["unshare", "--user", "--map-root-user", "--net", "--"]
    cmd = unshare + ["sh", "-c", 'ip link set lo up && exec "$@"', "sh", PYTHON] + sys.argv
    os.execvpe(cmd[0], cmd, env)


def log(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


# ---- the server ------------------------------------------------------------------------

class Server:
    def __init__(self, builddir, tmp, session_timeout, wrap=()):
        self.tmp = tmp
        self.san_dir = os.path.join(tmp, "san")
        os.mkdir(self.san_dir)
        self.sanitized = False
        try:
            with open(os.path.join(builddir, "Makefile")) as fh:
                self.sanitized = any(ln.startswith("SANITIZER_FLAGS = ") and "-fsanitize" in ln
                                     for ln in fh)
        except OSError:
            pass
        san = os.path.join(self.san_dir, "report")
        env = dict(os.environ)
        # A small quarantine: ASan's default (256 MB of freed memory held back) would be
        # counted as growth by an RSS measurement.
        env["ASAN_OPTIONS"] = ":".join([
            "halt_on_error=1", "abort_on_error=0", "detect_leaks=1", "log_path=" + san,
            "detect_stack_use_after_return=0", "quarantine_size_mb=8",
            "allocator_release_to_os_interval_ms=500"])
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:log_path=" + san
        lsan = ["log_path=" + san, "report_objects=0"]
        if os.path.exists(LSAN_SUPP):
            lsan.append("suppressions=" + LSAN_SUPP)
        env["LSAN_OPTIONS"] = ":".join(lsan)
        self.log_path = os.path.join(tmp, "server.log")
        self.log = open(self.log_path, "wb")
        cmd = [os.path.join(builddir, "switchboard"), "--port", str(PORT), "--bind", "127.0.0.1",
               "--ws", "false", "--html-folder", "", "--configs-folder", tmp,
               "--plugins-folder", os.path.join(builddir, "plugins"), "--log-level", "warn",
               "--session-timeout", str(session_timeout), "--longpoll-timeout", "3",
               "--drain-timeout", "0"]
        self.proc = subprocess.Popen(list(wrap) + cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start-up: %s" % self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server not listening")
        if wrap:  # the server is a descendant of the wrapper: measure and signal it
            self.pid = self.find_server(self.proc.pid)

    @staticmethod
    def find_server(root):
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as fh:
                        ppid = int(fh.read().rpartition(")")[2].split()[1])
                    kids.setdefault(ppid, []).append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        todo = [root]
        while todo:
            pid = todo.pop()
            try:
                if os.path.basename(os.readlink("/proc/%d/exe" % pid)) == "switchboard":
                    return pid
            except OSError:
                pass
            todo += kids.get(pid, [])
        raise RuntimeError("no switchboard process under the wrapper")

    def alive(self):
        return self.proc.poll() is None

    def status(self):
        out = {}
        with open("/proc/%d/status" % self.pid) as fh:
            for ln in fh:
                k, _, v = ln.partition(":")
                if k in ("VmRSS", "Threads"):
                    out[k] = int(v.split()[0])
        out["fds"] = len(os.listdir("/proc/%d/fd" % self.pid))
        return {"rss_kb": out["VmRSS"], "threads": out["Threads"], "fds": out["fds"]}

    def gdb_call(self, expr):
        """Call a function in the server through gdb; False when gdb cannot."""
        try:
            r = subprocess.run(["gdb", "-p", str(self.pid), "-batch", "-nx", "-ex",
                                "call %s" % expr], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            return r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def asan_stats(self):
        """ASan's allocator account (sanitizer builds), through gdb: bytes allocated and
        live, its heap, free bytes. None when gdb cannot."""
        names = (("allocated", "__sanitizer_get_current_allocated_bytes"),
                 ("heap", "__sanitizer_get_heap_size"), ("free", "__sanitizer_get_free_bytes"))
        cmd = ["gdb", "-p", str(self.pid), "-batch", "-nx"]
        for _, fn in names:
            cmd += ["-ex", "printf \"SB %%lu\\n\", (unsigned long) %s()" % fn]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60, text=True)
            vals = [int(ln.split()[1]) for ln in r.stdout.splitlines() if ln.startswith("SB ")]
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            return None
        return dict(zip([k for k, _ in names], vals)) if len(vals) == len(names) else None

    def malloc_stats(self):
        """glibc's own account (plain builds): bytes the heap holds from the system and bytes
        in use, through gdb calling malloc_stats() in the server (its output goes to the
        server's log). None when gdb cannot."""
        self.log.flush()
        start = os.path.getsize(self.log_path)
        if not self.gdb_call("(void) malloc_stats()"):
            return None
        time.sleep(0.5)
        with open(self.log_path, errors="replace") as fh:
            fh.seek(start)
            text = fh.read()
        total = text.rpartition("Total (incl. mmap):")[2]
        try:
            return {"system": int(total.split("system bytes")[1].split("=")[1].split()[0]),
                    "in_use": int(total.split("in use bytes")[1].split("=")[1].split()[0])}
        except (IndexError, ValueError):
            return None

    def sanitizer_reports(self):
        out = []
        for f in sorted(os.listdir(self.san_dir)):
            with open(os.path.join(self.san_dir, f), errors="replace") as fh:
                text = fh.read()
            if text.strip():
                out.append("%s:\n%s" % (f, text))
        return out

    def log_tail(self, n=3000):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as fh:
            return fh.read()[-n:]

    def stop(self, grace, sig=signal.SIGTERM):
        """SIGTERM; returns the exit code, or None when it had to be killed."""
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.log.close()
        return self.proc.returncode


class Api:
    """The Janus HTTP API, for the rooms the soak owns."""

    def __init__(self):
        self.lock = threading.Lock()

    def call(self, body, path=""):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
        try:
            body = dict(body, transaction="%x" % random.getrandbits(48))
            conn.request("POST", "/janus" + path, body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def rooms(self, request, ids, **extra):
        """create / destroy rooms from a short-lived control session. Returns the
        VideoRoom answers."""
        with self.lock:
            sid = self.call({"janus": "create"})["data"]["id"]
            try:
                h = self.call({"janus": "attach", "plugin": "janus.plugin.videoroom"},
                              "/%d" % sid)["data"]["id"]
                out = []
                for room in ids:
                    r = self.call({"janus": "message",
                                   "body": dict({"request": request, "room": room}, **extra)},
                                  "/%d/%d" % (sid, h))
                    out.append((r.get("plugindata") or {}).get("data", r))
                return out
            finally:
                self.call({"janus": "destroy"}, "/%d" % sid)


# ---- the load ---------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.cycles = 0
        self.endings = {}
        self.failures = 0
        self.lg_runs = 0
        self.lg_pcs_failed = 0
        self.ai_frames = 0
        self.ai_renegotiations = 0
        self.errors = []

    def add(self, ending, n=1, failed=0, error=None):
        with self.lock:
            self.cycles += n
            self.endings[ending] = self.endings.get(ending, 0) + n
            self.failures += failed
            if error and len(self.errors) < 50:
                self.errors.append(error)


class Load:
    """Pausable: pause() stops new work and returns once the running work is over."""

    def __init__(self, args, api, stats, tmp):
        self.args, self.api, self.stats, self.tmp = args, api, stats, tmp
        self.rng = random.Random(args.seed)
        self.paused = threading.Event()
        self.peak = threading.Event()
        self.stopping = threading.Event()
        self.busy = 0
        self.cond = threading.Condition()
        self.run_no = 0
        self.pending_rooms = []  # (due time, [room ids])
        self.threads = []
        self.worker = None
        self.worker_active = 0
        self.worker_idle = threading.Event()
        self.worker_lines = 0
        self.next_kill = None
        self.ai_rooms = [900001, 900002]

    # -- sb-loadgen slots --

    def loadgen_run(self, slot):
        with self.cond:
            self.run_no += 1
            n = self.run_no
        rng = random.Random(self.args.seed * 1000003 + n)
        # The warm-up runs the largest runs only, half of them killed (their PeerConnections
        # linger until the session timeout): the server's high-water marks (packet pools,
        # allocator arenas) are reached there, not taken for growth afterwards.
        peak = self.peak.is_set()
        if peak or rng.random() < 0.5:
            scenario, persons_per_room, rooms = "rooms", 3, 3 if peak else rng.choice([2, 3])
            persons = persons_per_room * rooms
            extra = ["--subscribers", "3", "--rooms", str(rooms)]
        else:
            subs = rng.randint(4, 10)
            scenario, rooms, persons = "fanout", 1, subs + 1
            extra = ["--subscribers", str(subs), "--rooms", "1"]
        room_base = 100000 + n * 10
        duration = rng.randint(5, 20)
        teardown = rng.choice(["together", "destroy-first"])
        cmd = [self.args.loadgen, "--server", "http://127.0.0.1:%d/janus" % PORT,
               "--scenario", scenario, "--duration", str(duration), "--warmup", "1",
               "--join-rate", "15", "--join-timeout", "15", "--video-kbps", "150",
               "--fps", "15", "--audio-kbps", "24", "--keyframe-interval", "3",
               "--loops", "1", "--srtp", rng.choice(["gcm", "cm"]), "--teardown", teardown,
               "--room-base", str(room_base), "--quiet"] + extra
        fate = rng.random() * (0.3 if peak else 1)
        errlog = open(os.path.join(self.tmp, "loadgen-%d.log" % slot), "ab")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=errlog)
        out = b""
        if fate < 0.15:  # killed outright: everything it had vanishes
            time.sleep(rng.uniform(1, duration + 3))
            p.kill()
            p.wait()
            p.stdout.close()
            later = rng.random() < 0.5
            due = time.time() + (self.args.session_timeout + 5 if later else 0)
            with self.cond:
                self.pending_rooms.append((due, list(range(room_base, room_base + rooms))))
            self.stats.add("loadgen killed", persons)
        else:
            if fate < 0.25:  # interrupted: its teardown comes early
                time.sleep(rng.uniform(1, duration + 3))
                p.send_signal(signal.SIGTERM)
            try:
                out, _ = p.communicate(timeout=duration + 90)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            interrupted = fate < 0.25
            ending = "loadgen %s%s" % (teardown, " (SIGTERM)" if interrupted else "")
            try:
                pcs = json.loads(out)["peerconnections"]
                # Interrupted during its joins, a run has PeerConnections not up yet.
                failed = pcs.get("failed", 0) if interrupted else pcs["planned"] - pcs["up"]
                error = "sb-loadgen %s: %d PeerConnections not up" % (scenario, failed)
            except (ValueError, KeyError, TypeError):
                failed, error = 1, "sb-loadgen exit %s, no summary" % p.returncode
            with self.stats.lock:
                self.stats.lg_pcs_failed += max(0, failed)
            self.stats.add(ending, persons, 1 if failed else 0, error if failed else None)
        errlog.close()
        with self.stats.lock:
            self.stats.lg_runs += 1

    def loadgen_slot(self, slot):
        while not self.stopping.is_set():
            if self.paused.is_set():
                time.sleep(0.2)
                continue
            with self.cond:
                self.busy += 1
            try:
                self.loadgen_run(slot)
            except Exception as ex:  # noqa: BLE001
                self.stats.add("loadgen error", 0, 1, repr(ex))
                time.sleep(1)
            finally:
                with self.cond:
                    self.busy -= 1
                    self.cond.notify_all()

    def room_reaper(self):
        while not self.stopping.is_set() or self.pending_rooms:
            now = time.time()
            with self.cond:
                due = [r for t, r in self.pending_rooms if t <= now]
                self.pending_rooms = [(t, r) for t, r in self.pending_rooms if t > now]
            for rooms in due:
                try:
                    self.api.rooms("destroy", rooms)
                except Exception as ex:  # noqa: BLE001
                    self.stats.add("room destroy error", 0, 1, repr(ex))
            time.sleep(0.5)

    # -- the aiortc worker --

    def start_worker(self):
        self.worker = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "soak_peers.py"), "http://127.0.0.1:%d/janus" % PORT,
             ",".join(map(str, self.ai_rooms)), str(self.args.aiortc),
             str(self.rng.randint(1, 10 ** 6))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(self.tmp, "aiortc.log"), "ab"), text=True, bufsize=1)
        self.worker_active = 0
        threading.Thread(target=self.worker_reader, args=(self.worker,), daemon=True).start()
        self.next_kill = time.time() + self.rng.uniform(*self.args.kill_every)

    def worker_reader(self, proc):
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if proc is not self.worker:
                continue
            if ev["ev"] == "start":
                self.worker_active += 1
            elif ev["ev"] == "cycle":
                self.worker_active -= 1
                self.stats.add("aiortc " + ev["ending"], 1, 0 if ev["ok"] else 1,
                               None if ev["ok"] else "aiortc: " + str(ev["error"]))
                with self.stats.lock:
                    self.stats.ai_frames += ev.get("frames", 0)
                    self.stats.ai_renegotiations += ev.get("renegotiations", 0)
            elif ev["ev"] == "idle":
                self.worker_idle.set()

    def worker_tell(self, cmd):
        try:
            self.worker.stdin.write(cmd + "\n")
            self.worker.stdin.flush()
        except (OSError, ValueError):
            pass

    def kill_worker(self):
        """SIGKILL: every participant it had vanishes mid-call."""
        old, active = self.worker, self.worker_active
        self.worker = None
        old.kill()
        old.wait()
        self.stats.add("aiortc process killed", max(0, active))

    def worker_keeper(self):
        while not self.stopping.is_set():
            time.sleep(0.5)
            if self.paused.is_set() or self.worker is None:
                continue
            if self.worker.poll() is not None:
                self.stats.add("aiortc process died", 0, 1,
                               "soak_peers.py exited %s" % self.worker.returncode)
                self.start_worker()
            elif time.time() >= self.next_kill:
                self.kill_worker()
                self.start_worker()

    # -- control --

    def start(self):
        self.api.rooms("create", self.ai_rooms, publishers=16, bitrate=256000)
        self.start_worker()
        for i in range(self.args.slots):
            self.threads.append(threading.Thread(target=self.loadgen_slot, args=(i,),
                                                 daemon=True))
        self.threads.append(threading.Thread(target=self.room_reaper, daemon=True))
        self.threads.append(threading.Thread(target=self.worker_keeper, daemon=True))
        for t in self.threads:
            t.start()

    def pause(self):
        """Start nothing new; return once every run is over and every room destroyed."""
        self.paused.set()
        self.worker_idle.clear()
        if self.worker is not None:
            self.worker_tell("pause")
        deadline = time.time() + 180
        with self.cond:
            while self.busy and time.time() < deadline:
                self.cond.wait(1)
        while self.worker is not None and not self.worker_idle.is_set() and \
                time.time() < deadline:
            time.sleep(0.2)
        with self.cond:  # rooms of killed runs: destroyed now
            self.pending_rooms = [(0, r) for _, r in self.pending_rooms]
        while time.time() < deadline:
            with self.cond:
                if not self.pending_rooms:
                    break
            time.sleep(0.2)

    def resume(self):
        if self.worker is not None:
            self.worker_tell("resume")
        self.next_kill = time.time() + self.rng.uniform(*self.args.kill_every)
        self.paused.clear()

    def stop(self):
        self.pause()
        self.stopping.set()
        if self.worker is not None:
            self.worker_tell("quit")
            try:
                self.worker.wait(15)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        for t in self.threads:
            t.join(10)
        try:
            self.api.rooms("destroy", self.ai_rooms)
        except Exception as ex:  # noqa: BLE001
            self.stats.add("room destroy error", 0, 1, repr(ex))


# ---- the run -----------------------------------------------------------------------------

def median_status(server, n=5):
    samples = []
    for _ in range(n):
        samples.append(server.status())
        time.sleep(1)
    return {k: int(statistics.median(x[k] for x in samples)) for k in samples[0]}


def quiet_sample(server, drain, trim, malloc_stats):
    """Wait for the server to reap what vanished, then: RSS, fds, threads (medians of 5
    samples 1 s apart); the heap the allocator counts live (ASan's allocated bytes or, with
    malloc_stats, glibc's bytes in use); on a plain build with trim, RSS again once glibc gave
    back the free memory it held (malloc_trim)."""
    time.sleep(drain)
    if not server.alive():
        return {"rss_kb": 0, "fds": 0, "threads": 0}
    q = median_status(server)
    if server.sanitized:
        st = server.asan_stats()
        if st:
            q["live_bytes"], q["asan"] = st["allocated"], st
    else:
        if malloc_stats:
            st = server.malloc_stats()
            if st:
                q["live_bytes"], q["glibc"] = st["in_use"], st
        if trim and server.gdb_call("(int) malloc_trim(0)"):
            q["trimmed_rss_kb"] = median_status(server)["rss_kb"]
    return q


def main():
    reexec_in_netns()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir")
    ap.add_argument("--minutes", type=float, default=30, help="minutes of load (default 30)")
    ap.add_argument("--warmup", type=float, default=3,
                    help="minutes before the first quiet point, left out of the growth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slots", type=int, default=2, help="sb-loadgen runs side by side")
    ap.add_argument("--aiortc", type=int, default=4, help="aiortc participants at a time")
    ap.add_argument("--session-timeout", type=int, default=10)
    ap.add_argument("--drain", type=float, default=None,
                    help="seconds left to the server at a quiet point (session timeout + 15)")
    ap.add_argument("--loadgen", default=None, help="sb-loadgen binary")
    ap.add_argument("--json", default=None, help="also write the samples and verdict here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--wrap", default="", help="run the server under this command "
                    "(e.g. \"heaptrack -o /tmp/sb\"): RSS then counts the tool too")
    ap.add_argument("--end-kill", action="store_true", help="end the server with SIGKILL "
                    "(with --wrap heaptrack: its leaks are then the heap of the last quiet "
                    "point; the exit checks fail)")
    ap.add_argument("--no-trim", dest="trim", action="store_false", help="at the quiet "
                    "points of a plain build, do not first have glibc give back the free "
                    "memory it holds (gdb calls malloc_trim(0) in the server)")
    ap.add_argument("--malloc-stats", action="store_true",
                    help="at each quiet point, also glibc's heap in use (gdb; plain builds)")
    args = ap.parse_args()
    args.builddir = os.path.abspath(args.builddir)
    if args.drain is None:
        args.drain = args.session_timeout + 15
    args.kill_every = (40, 100)
    if args.loadgen is None:
        plain = os.path.join(TOP, "build", "bench", "sb-loadgen")
        args.loadgen = plain if os.access(plain, os.X_OK) else \
            os.path.join(args.builddir, "bench", "sb-loadgen")
    for exe in (os.path.join(args.builddir, "switchboard"), args.loadgen):
        if not os.access(exe, os.X_OK):
            print("not ok - soak: %s missing" % exe, flush=True)
            return 2
    random.seed(args.seed)
    tmp = tempfile.mkdtemp(prefix="sb-soak-")
    server = Server(args.builddir, tmp, args.session_timeout, args.wrap.split())
    api, stats = Api(), Stats()
    load = Load(args, api, stats, tmp)
    log("soak: %s%s, %.0f min of load (warm-up %.0f), %d sb-loadgen slots + %d aiortc "
        "participants, session timeout %d s, seed %d, folder %s" % (
            args.builddir, " (sanitizers)" if server.sanitized else "", args.minutes,
            args.warmup, args.slots, args.aiortc, args.session_timeout, args.seed, tmp))
    samples, quiet = [], {}
    t0 = time.time()
    state = {"phase": "load", "alive": True}
    reports_seen = [0]

    def report():
        minute = (time.time() - t0) / 60
        alive = server.alive()
        st = server.status() if alive else {"rss_kb": 0, "fds": 0, "threads": 0}
        reports = server.sanitizer_reports()
        with stats.lock:
            row = dict(st, minute=round(minute, 2), phase=state["phase"], cycles=stats.cycles,
                       failures=stats.failures, lg_runs=stats.lg_runs,
                       sanitizer_reports=len(reports), alive=alive)
        if len(samples) == 0:
            log(" min  phase     RSS MB   fds  threads   cycles  +cycles  sb-loadgen runs  "
                "failures  sanitizer")
        prev = samples[-1]["cycles"] if samples else 0
        samples.append(row)
        log("%4.0f  %-8s %7.1f %5d %8d %8d %8d %16d %9d %10d" % (
            minute, row["phase"], row["rss_kb"] / 1024.0, row["fds"], row["threads"],
            row["cycles"], row["cycles"] - prev, row["lg_runs"], row["failures"],
            row["sanitizer_reports"]))
        if len(reports) > reports_seen[0]:
            log("sanitizer report:\n" + "\n".join(reports)[:6000])
            reports_seen[0] = len(reports)
        state["alive"] = alive

    stop_reporter = threading.Event()

    def reporter():
        n = 1
        while not stop_reporter.wait(max(0.0, t0 + 60 * n - time.time())):
            report()
            n += 1

    rep = threading.Thread(target=reporter, daemon=True)
    rep.start()
    load_s = 0.0
    try:
        load.peak.set()
        load.start()
        for name, until in (("warm-up", args.warmup), ("measure", args.minutes)):
            state["phase"] = name if name == "warm-up" else "load"
            if name == "warm-up":
                load.peak.set()
            else:
                load.peak.clear()
            start = time.time()
            while load_s + (time.time() - start) < until * 60 and server.alive():
                time.sleep(1)
            load_s += time.time() - start
            if not server.alive():
                break
            state["phase"] = "quiet"
            if name == "warm-up":
                load.pause()
            else:
                load.stop()
            with stats.lock:
                cycles = stats.cycles
            quiet[name] = dict(quiet_sample(server, args.drain, args.trim,
                                            args.malloc_stats),
                               cycles=cycles, minute=round((time.time() - t0) / 60, 2))
            q = quiet[name]
            log("quiet point after %s: RSS %.1f MB%s%s, %d fds, %d threads, %d cycles" % (
                name, q["rss_kb"] / 1024.0,
                " (%.1f MB once glibc trimmed)" % (q["trimmed_rss_kb"] / 1024.0)
                if "trimmed_rss_kb" in q else "",
                ", heap live %.2f MB" % (q["live_bytes"] / 1048576.0) if "live_bytes" in q
                else "", q["fds"], q["threads"], cycles))
            for k in ("asan", "glibc"):
                if k in q:
                    log("  %s allocator: %r" % (k, q[k]))
            if name == "warm-up":
                load.resume()
    finally:
        stop_reporter.set()
        if not load.stopping.is_set():
            load.stopping.set()
            if load.worker is not None:
                load.worker.kill()
        report()

    grace = 30 if server.sanitized else 10
    rc = server.stop(grace, signal.SIGKILL if args.end_kill else signal.SIGTERM)
    reports = server.sanitizer_reports()
    results = []

    def verdict(ok, what, detail=None):
        results.append((ok, what))
        print("%s - soak: %s" % ("ok" if ok else "not ok", what), flush=True)
        if not ok and detail:
            for line in str(detail).splitlines():
                print("#   " + line, flush=True)

    with stats.lock:
        log("cycles: %d (%s)" % (stats.cycles, ", ".join(
            "%s %d" % kv for kv in sorted(stats.endings.items()))))
        log("sb-loadgen runs: %d (%d PeerConnections not up); aiortc: %d video frames decoded, "
            "%d renegotiations; failures: %d" % (stats.lg_runs, stats.lg_pcs_failed,
                                                 stats.ai_frames, stats.ai_renegotiations,
                                                 stats.failures))
        for e in stats.errors[:10]:
            log("  failure: " + e[:300])
    summary = {"samples": samples, "quiet": quiet, "args": {
        k: v for k, v in vars(args).items() if k != "kill_every"}, "exit": rc,
        "cycles": stats.cycles, "endings": stats.endings, "failures": stats.failures,
        "sanitizer_reports": len(reports)}
    verdict(state["alive"] and rc == 0, "the server ran throughout and exited 0 on SIGTERM "
            "(rc %s)" % rc, server.log_tail())
    verdict(not reports, "no sanitizer report (%s)" % (
        "ASan/UBSan/LSan build" if server.sanitized else "not a sanitizer build"),
        "\n".join(reports)[:20000])
    a, b = quiet.get("warm-up"), quiet.get("measure")
    verdict(a and b and b["cycles"] > a["cycles"], "both quiet points reached, cycles between "
            "them: %s" % ((b["cycles"] - a["cycles"]) if a and b else "-"))
    if a and b and b["cycles"] > a["cycles"]:
        n = b["cycles"] - a["cycles"]

        def per_cycle(key, scale=1024.0):
            return (b[key] - a[key]) * scale / n if key in a and key in b else None

        raw = per_cycle("rss_kb")
        trimmed = per_cycle("trimmed_rss_kb")
        live = per_cycle("live_bytes", 1.0)
        summary.update(rss_bytes_per_cycle=raw, trimmed_rss_bytes_per_cycle=trimmed,
                       live_heap_bytes_per_cycle=live)
        log("after warm-up, over %d cycles: RSS %.1f -> %.1f MB, %+.0f bytes per cycle" % (
            n, a["rss_kb"] / 1024.0, b["rss_kb"] / 1024.0, raw))
        if trimmed is not None:
            log("  RSS once glibc gave back its free memory: %.1f -> %.1f MB, %+.0f bytes per "
                "cycle" % (a["trimmed_rss_kb"] / 1024.0, b["trimmed_rss_kb"] / 1024.0, trimmed))
        if live is not None:
            log("  heap live (%s): %.2f -> %.2f MB, %+.0f bytes per cycle" % (
                "ASan's allocator" if server.sanitized else "glibc", a["live_bytes"] / 1048576.0,
                b["live_bytes"] / 1048576.0, live))
        # What is judged: RSS, once glibc has given back the free memory it merely holds
        # (a plain build); under ASan, whose allocator never gives its heap back and keeps a
        # quarantine, the bytes its allocator counts live. Raw RSS without gdb.
        if trimmed is not None:
            judged, what = trimmed, "RSS growth (glibc trimmed)"
        elif server.sanitized and live is not None:
            judged, what = live, "live heap growth (ASan allocator; RSS %+.0f)" % raw
        else:
            judged, what = raw, "RSS growth"
        verdict(judged <= RSS_LIMIT_BYTES_PER_CYCLE, "%s %+.0f bytes per join/leave cycle "
                "(limit %d)" % (what, judged, RSS_LIMIT_BYTES_PER_CYCLE))
        verdict(b["fds"] <= a["fds"], "open fds %d -> %d" % (a["fds"], b["fds"]))
        verdict(b["threads"] <= a["threads"], "threads %d -> %d" % (a["threads"], b["threads"]))
    summary["ok"] = all(ok for ok, _ in results)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)
    if not args.keep and summary["ok"]:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        log("kept %s" % tmp)
    print("soak: %d passed, %d failed" % (sum(ok for ok, _ in results),
                                          sum(not ok for ok, _ in results)), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
