#!/usr/bin/python3
"""VideoRoom simulcast with headless Chromium and Debian's janus.js: a publisher sends the
fake camera at 1280x720 in three simulcast layers; a subscriber asks for each substream in
turn and must decode the matching resolution (the switch happens at a keyframe of the new
layer); temporal layer 0 must lower the frame rate. Skipped (ok with a note) when Chromium,
node or playwright-core are missing.

usage: test_simulcast_chromium.py <path to switchboard>
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from simulcastcheck import STEPS, check_steps  # noqa: E402
from vrlib import Test  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
CONF = 'room-1234: { description = "Simulcast"; bitrate = 3000000; };'

t = Test("simulcast-chromium")
why = None
for path in ("/usr/bin/chromium", JANUS_JS, ADAPTER_JS,
             os.path.join(NODE_MODULES, "playwright-core")):
    if not os.path.exists(path):
        why = "%s is missing" % path
if not shutil.which("node"):
    why = "node is missing"
if why:
    t.ok(True, "skipped: " + why)
    sys.exit(0)

html = tempfile.mkdtemp(prefix="sb-vr-html-")
for f in (os.path.join(HERE, "web", "videoroom_simulcast.html"), JANUS_JS, ADAPTER_JS):
    shutil.copy(f, html)
srv = t.server(conf=CONF, html=html)
cfg = {"server": srv.base, "room": 1234, "rampMs": 20000, "settleMs": 3000, "steps": STEPS}
opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % srv.port, "fn": "sbSimulcast",
        "cfg": cfg, "timeoutMs": 120000}
proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                      stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=200,
                      env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
out = json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}
if t.ok("result" in out, "the page ran (publish with simulcast, subscribe, configure)",
        json.dumps(out, indent=1)[:6000]):
    r = out["result"]
    pubs = r.get("streams") or []
    t.eq([s.get("type") for s in pubs], ["audio", "video"], "attached: audio and video")
    check_steps(t, r)
shutil.rmtree(html, ignore_errors=True)
t.done()
