#!/usr/bin/python3
"""Three Chromium participants in one VideoRoom through Debian's janus.js: each publishes
the fake microphone and a canvas stream (fake camera + a box of its own colour + its name)
and decodes the two others; the box colour of each remote video proves it comes from the
right publisher. Twice: (a) one subscriber handle per feed (the classic janus.js demo; the
first with the legacy "feed", the second with "streams") and the third participant leaves
with "leave"; (b) one multistream subscriber handle ("join" with the first feed,
"subscribe" for the next one, renegotiation) and the third participant's Janus session is
destroyed. Both times the two others must hear "leaving", their subscription to the feed
must go ("updated" with its m-lines inactive, tile removed) and they must keep decoding
each other. Skipped (ok with a note) when Chromium, node or playwright-core are missing.

js/three_pages.mjs drives the browser, web/videoroom_three.html is the page.

usage: test_three_chromium.py <path to switchboard>
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
from threecheck import check_round  # noqa: E402
from vrlib import Test  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
CONF = """
room-3001: { description = "Three, one handle per feed"; bitrate = 600000; };
room-3002: { description = "Three, multistream"; bitrate = 600000; };
"""
ROUNDS = [
    {"name": "a", "mode": "perfeed", "leave": "leave", "room": 3001,
     "decodeMs": 40000, "leaveMs": 20000},
    {"name": "b", "mode": "multi", "leave": "destroy", "room": 3002,
     "decodeMs": 40000, "leaveMs": 20000},
]
t = Test("three-chromium")
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
for f in (os.path.join(HERE, "web", "videoroom_three.html"), JANUS_JS, ADAPTER_JS):
    shutil.copy(f, html)
srv = t.server(conf=CONF, html=html)
opts = {"url": "http://127.0.0.1:%d/videoroom_three.html" % srv.port, "server": srv.base,
        "rounds": ROUNDS, "timeoutMs": 200000}
start = time.time()
# Its own process group, so that a timeout takes Chromium down with the driver.
proc = subprocess.Popen(["node", os.path.join(HERE, "js", "three_pages.mjs"), json.dumps(opts)],
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, start_new_session=True,
                        env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
try:
    stdout, stderr = proc.communicate(timeout=240)
except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)
    stdout, stderr = proc.communicate()
    stderr += "\n(killed after 240 s)"
lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
out = json.loads(lines[-1]) if lines else {"error": stdout[-2000:] + stderr[-2000:]}
if t.ok("rounds" in out, "the driver ran (%.1f s)" % (time.time() - start),
        json.dumps(out, indent=1)[:6000]):
    for spec, r in zip(ROUNDS, out["rounds"]):
        try:
            check_round(t, spec, r)
        except Exception:  # noqa: BLE001 - malformed results: report, still stop the daemon
            t.ok(False, "%s: the results are complete" % spec["name"], traceback.format_exc())
    if t.failed:
        t.note("browser logs:\n" + "\n".join(out.get("logs", [])[-40:]))
shutil.rmtree(html, ignore_errors=True)
t.done()
