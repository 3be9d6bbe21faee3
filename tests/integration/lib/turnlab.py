"""What the TURN browser test and the relay join benchmark share: the daemon's config file
for GET /ice-servers, a VideoRoom room made over HTTP, and a run of turn_driver.cjs (web
app pages in headless Chromium, with every PeerConnection recorded), killed with its
browser however it ends. Python 3 standard library only."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from sbtest import Http, Server

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(os.path.dirname(HERE), "turn_driver.cjs")

# session 000000000000000003: realm <r> user <1796545814:bad>: incoming packet message
#   processed, error 401: Unauthorized
REFUSED_RE = re.compile(r"session (\d+): realm <[^>]*> user <([^>]*)>: incoming packet "
                        r"\S+ processed, error 401")
# session N: peer usage: realm=<r>, username=<u>, rp=3, rb=276, sp=3, sb=304
PEER_USAGE_RE = re.compile(r"session (\d+): peer usage: realm=<[^>]*>, username=<([^>]*)>, "
                           r"rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)")
RELAY_ADDR_RE = re.compile(r"Local relay addr: (\S+)")


def missing():
    """Why the browser cannot run here, or None."""
    if not os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium is missing"
    if not os.path.isdir(os.path.join(os.path.dirname(HERE), "node_modules", "playwright-core")):
        return "npm playwright-core is not installed in tests/integration/node_modules"
    return None


def write_config(folder, turn_secret=None, turn_uris=None, stun_uris=None, ttl=600,
                 rate_limit=60, name="switchboard.conf"):
    """A config file with just the ice_servers section; returns its path."""
    items = []
    if turn_secret is not None:
        items.append('turn_secret = "%s";' % turn_secret)
    if turn_uris is not None:
        items.append('turn_uris = "%s";' % ", ".join(turn_uris))
    if stun_uris is not None:
        items.append('stun_uris = "%s";' % ", ".join(stun_uris))
    items += ["ttl = %d;" % ttl, "rate_limit = %d;" % rate_limit]
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("ice_servers: {\n    %s\n};\n" % "\n    ".join(items))
    return path


def start_server(builddir, name, **kw):
    """sbtest.Server(builddir, name=name, **kw); when it does not come up, the error says
    what the server printed (an old binary refusing the ice_servers settings...) and its
    temp folder is removed."""
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "sbtest-%s-*" % name)))
    try:
        return Server(builddir, name=name, **kw)
    except Exception as e:
        tail = ""
        for d in set(glob.glob(os.path.join(tempfile.gettempdir(), "sbtest-%s-*" % name))) - before:
            try:
                with open(os.path.join(d, "server.log"), errors="replace") as f:
                    tail += f.read()[-1500:]
            except OSError:
                pass
            shutil.rmtree(d, ignore_errors=True)
        raise RuntimeError("%s; server output:\n%s" % (e, tail.strip() or "(none)")) from e


def create_room(port, room, publishers=6, description="TURN"):
    """Make VideoRoom room `room` from a short-lived session (the room outlives it)."""
    h = Http(port)
    sid = h.create()
    hid = h.attach(sid, "janus.plugin.videoroom")
    r = h.post("/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": "room",
        "body": {"request": "create", "room": room, "publishers": publishers,
                 "description": description, "bitrate": 600000}})
    data = (r.get("plugindata") or {}).get("data") or {}
    if data.get("videoroom") != "created":
        raise RuntimeError("creating room %d: %r" % (room, r))
    h.destroy(sid)


def run_driver(spec, timeout):
    """Run turn_driver.cjs with spec; returns (result, ice_fetches, notes). result is the
    driver's final object, or {"ok": False, "why": ...} when it gave none (then the
    output tail is in why), with "runs": the bench runs it reported. The driver and its
    browser are killed at the timeout."""
    spec = dict(spec, watchdogMs=int(timeout * 1000))
    proc = subprocess.Popen(["node", DRIVER, json.dumps(spec)], cwd=os.path.dirname(HERE),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        raw, _ = proc.communicate(timeout=timeout + 20)
    except subprocess.TimeoutExpired:
        raw = b""
    finally:
        # The whole process group: node and the Chromium it started.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    result, fetches, notes, runs = None, [], [], []
    for line in raw.decode(errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            notes.append(line)
            continue
        if obj.get("ev") == "result":
            result = obj
        elif obj.get("ev") == "ice-servers":
            fetches.append(obj)
        elif obj.get("ev") == "run":
            runs.append(obj)
        else:
            notes.append(line)
    if result is None:
        result = {"ok": False, "why": "no result from the driver (exit %s):\n%s" % (
            proc.returncode, "\n".join(notes[-30:])), "pages": {}}
    result["runs"] = runs
    return result, fetches, notes


def last_sample(result, page):
    samples = (result.get("pages", {}).get(page) or {}).get("samples") or []
    return samples[-1] if samples else None


def pcs_of(sample, role=None):
    return [p for p in (sample or {}).get("pcs", []) if role is None or p.get("role") == role]


def refused(log):
    """[(session, username)] of every 401 coturn answered with a username."""
    return [(s, u) for s, u in REFUSED_RE.findall(log) if u]


def peer_usage(log, username):
    """Largest (rb, sb) coturn reported for the peers of `username`'s allocations
    (bytes received from and sent to peers through the relay), summed over sessions."""
    best = {}
    for s, u, rp, rb, sp, sb in PEER_USAGE_RE.findall(log):
        if u == username:
            rb, sb = int(rb), int(sb)
            old = best.get(s, (0, 0))
            best[s] = (max(old[0], rb), max(old[1], sb))
    return sum(v[0] for v in best.values()), sum(v[1] for v in best.values())


def relay_addrs(log):
    return RELAY_ADDR_RE.findall(log)


def wait_for(fn, timeout, every=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(every)
