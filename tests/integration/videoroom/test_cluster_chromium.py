#!/usr/bin/python3
"""Rooms that span nodes, as people use them (docs/scaling.md): three Switchboard nodes,
HAProxy running the shipped conf/haproxy.cfg and Redis, all started here; three headless
Chromium pages load the janus.js page through the balancer's URL and talk to the Janus API
through it, their sessions put on three different nodes (each page's node stops taking new
sessions, through the balancer's admin frontend, until the others have theirs).
(a) Everyone in one room decodes everyone (the right box colour on the right tile), then
the third page's node is killed with SIGKILL: the two others hear its participant go,
handle it as a leave, and keep decoding each other. (b) After the kill, three new pages
join another room through the balancer (on the two nodes left) and decode each other.

usage: test_cluster_chromium.py <path to switchboard>
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from threecheck import check_decoding, check_round  # noqa: E402
from vrlib import Test  # noqa: E402

from clusterlab import LB_ADMIN, LB_HTTP, HAProxy, Redis, cluster_args, start_node  # noqa: E402
from sbtest import Http  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
NODES = (1, 2, 3)
ROUNDS = [
    {"name": "a", "mode": "perfeed", "leave": "kill", "room": 5001,
     "decodeMs": 40000, "leaveMs": 20000},
    {"name": "b", "mode": "multi", "leave": "none", "room": 5002, "decodeMs": 40000},
]

t = Test("cluster-chromium")
why = None
for path in ("/usr/bin/chromium", JANUS_JS, ADAPTER_JS,
             os.path.join(NODE_MODULES, "playwright-core")):
    if not os.path.exists(path):
        why = "%s is missing" % path
if not shutil.which("node") or not shutil.which("haproxy") or not shutil.which("redis-server"):
    why = "node, haproxy or redis-server is missing"
if why:
    t.ok(True, "skipped: " + why)
    sys.exit(0)

builddir = os.path.dirname(os.path.abspath(t.daemon))
html = tempfile.mkdtemp(prefix="sb-vr-html-")
for f in (os.path.join(HERE, "web", "videoroom_three.html"), JANUS_JS, ADAPTER_JS):
    shutil.copy(f, html)
redis = Redis()
nodes = {n: start_node(builddir, n, cluster_args(), html_folder=html) for n in NODES}
lb = HAProxy()
out = {}
try:
    api = Http(port=LB_HTTP)
    sid = api.create()
    hid = api.attach(sid, plugin="janus.plugin.videoroom")
    for spec in ROUNDS:
        r = api.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "c",
                                             "body": {"request": "create", "room": spec["room"],
                                                      "bitrate": 600000}})
        t.eq(r.get("plugindata", {}).get("data", {}).get("videoroom"), "created",
             "room %d made through the balancer" % spec["room"])
    api.destroy(sid)
    opts = {"url": "http://127.0.0.1:%d/videoroom_three.html" % LB_HTTP,
            "server": "http://127.0.0.1:%d/janus" % LB_HTTP,
            "pin": "http://127.0.0.1:%d" % LB_ADMIN, "liveNodes": list(NODES),
            "nodePids": {str(n): s.pid for n, s in nodes.items()},
            "rounds": ROUNDS, "timeoutMs": 220000}
    start = time.time()
    proc = subprocess.Popen(["node", os.path.join(HERE, "js", "three_pages.mjs"),
                             json.dumps(opts)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    try:
        stdout, stderr = proc.communicate(timeout=260)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += "\n(killed after 260 s)"
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"error": stdout[-2000:] + stderr[-2000:]}
    if t.ok("rounds" in out, "the driver ran (%.1f s)" % (time.time() - start),
            json.dumps(out, indent=1)[:6000]):
        a, b = out["rounds"]
        t.note("round a: pages on nodes %s, node %s killed" % (a.get("nodes"), a.get("killed")))
        t.ok(sorted(a.get("nodes") or []) == list(NODES),
             "a: the three pages' sessions are on three different nodes",
             json.dumps(a.get("nodes")))
        try:
            check_round(t, ROUNDS[0], a)
        except Exception:  # noqa: BLE001 - malformed results: report, still stop the nodes
            t.ok(False, "a: the results are complete", traceback.format_exc())
        t.ok("error" not in b and a.get("killed") not in (b.get("nodes") or []),
             "b: after the kill, three new pages join through the balancer, on the nodes "
             "left (%s)" % b.get("nodes"), b.get("error"))
        if "error" not in b:
            check_decoding(t, "b/multi", b["before"], b["people"], 6)
        if t.failed:
            t.note("browser logs:\n" + "\n".join(out.get("logs", [])[-40:]))
finally:
    lb.stop()
    killed = (out.get("rounds") or [{}])[0].get("killed") if isinstance(out, dict) else None
    for n, s in nodes.items():
        if n == killed:
            s.cleanup()
            continue
        problems = s.stop()
        t.ok(not problems, "node %d: clean shutdown, no sanitizer report" % n,
             "\n".join(problems))
        if t.failed:
            with open(s.log_path, errors="replace") as fh:
                t.note("node %d log tail:\n%s" % (n, fh.read()[-2500:]))
        s.cleanup()
    redis.cleanup()
    shutil.rmtree(html, ignore_errors=True)
t.done()
