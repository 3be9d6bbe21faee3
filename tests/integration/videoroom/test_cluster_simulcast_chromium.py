#!/usr/bin/python3
"""Simulcast across two nodes of a cluster (docs/scaling.md): a Chromium janus.js publisher
on node 1 sends the fake camera at 1280x720 in three simulcast layers; a subscriber of the
same page, whose Janus session is on node 2, asks for each substream in turn and must
decode the matching resolution. Every layer crosses the link between the nodes once, so the
choice is node 2's, and each switch needs a keyframe asked for across the link; temporal
layer 0 must lower the frame rate; the top layer stopping falls back to 640 wide and comes
back. Redis is started here.

usage: test_cluster_simulcast_chromium.py <path to switchboard>
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from simulcastcheck import STEPS, check_steps  # noqa: E402
from vrlib import Test  # noqa: E402

from clusterlab import Redis, cluster_args  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
CONF = 'room-1234: { description = "Simulcast"; bitrate = 3000000; };'

t = Test("cluster-simulcast-chromium")
why = None
for path in ("/usr/bin/chromium", JANUS_JS, ADAPTER_JS,
             os.path.join(NODE_MODULES, "playwright-core")):
    if not os.path.exists(path):
        why = "%s is missing" % path
if not shutil.which("node") or not shutil.which("redis-server"):
    why = "node or redis-server is missing"
if why:
    t.ok(True, "skipped: " + why)
    sys.exit(0)

html = tempfile.mkdtemp(prefix="sb-vr-html-")
for f in (os.path.join(HERE, "web", "videoroom_simulcast.html"), JANUS_JS, ADAPTER_JS):
    shutil.copy(f, html)
redis = Redis()
try:
    one = t.server(conf=CONF, html=html, args=["--node-id", "1"] + cluster_args())
    two = t.server(conf=CONF, args=["--node-id", "2"] + cluster_args())
    cfg = {"server": one.base, "subServer": two.base, "room": 1234, "rampMs": 20000,
           "settleMs": 3000, "steps": STEPS}
    opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % one.port,
            "fn": "sbSimulcast", "cfg": cfg, "timeoutMs": 120000}
    proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=200,
                          env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}
    if t.ok("result" in out, "the page ran (publish with simulcast on node 1, subscribe on "
                             "node 2, configure)", json.dumps(out, indent=1)[:6000]):
        check_steps(t, out["result"], "on node 2, node 1's publisher's ")
finally:
    redis.cleanup()
    shutil.rmtree(html, ignore_errors=True)
t.done()
