#!/usr/bin/python3
"""VP9 and AV1 SVC through the VideoRoom with headless Chromium and Debian's janus.js: a
publisher sends the fake camera at 1280x720 with scalabilityMode L3T3_KEY (janus.js's `svc`
track option: three spatial layers, 320x180 / 640x360 / 1280x720, and three temporal layers
in one RTP stream); a subscriber configures spatial_layer 2, 0, 1 and temporal_layer 0, 1, 2
in turn and must decode the matching resolution and a lower frame rate for lower temporal
layers, and hear the reference VideoRoom's events ({"mid", "spatial_layer",
"temporal_layer"}) for what is forwarded. A second subscriber joins asking for spatial_layer 1
and temporal_layer 0 in its join request. VP9's layers come from its payload descriptor;
AV1's from its dependency descriptor header extension (negotiated for AV1 only, with
two-byte header extensions, and forwarded: the subscriber needs it to assemble the stream).
Skipped (ok with a note) when Chromium, node or playwright-core are missing.

usage: test_svc_chromium.py <path to switchboard> [vp9|av1]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from vrlib import Test  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
CONF = """room-1234: { description = "VP9 SVC"; videocodec = "vp9"; bitrate = 3000000; };
room-1235: { description = "AV1 SVC"; videocodec = "av1"; bitrate = 3000000; };"""
WIDTHS = {0: 320, 1: 640, 2: 1280}

t = Test("svc-chromium")
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
STEPS = [{"spatial_layer": 2}, {"spatial_layer": 0}, {"spatial_layer": 1},
         {"spatial_layer": 2, "temporal_layer": 0}, {"spatial_layer": 2, "temporal_layer": 1},
         {"spatial_layer": 2, "temporal_layer": 2}, {"spatial_layer": 0, "temporal_layer": 0},
         {"spatial_layer": 2, "temporal_layer": 2}]
def run_page(cfg):
    opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % srv.port,
            "fn": "sbSimulcast", "cfg": cfg, "timeoutMs": 120000}
    proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=200,
                          env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}


def last(events, key):
    vals = [e[key] for e in events if key in e]
    return vals[-1] if vals else None


def check(tag, mime, r):
    t.note("%s: publisher after the ramp: %s" % (tag, json.dumps(r["layers"])))
    for m in r["results"]:
        t.note("%s: %s -> %sx%s at %.1f fps, %s (decoded %s, keyframes %s, pli %s, nack %s, "
               "lost %s); events %s"
               % (tag, json.dumps(m["settings"]), m.get("width"), m.get("height"),
                  m.get("fps") or 0, m.get("codec"), m.get("decoded"), m.get("keyframes"),
                  m.get("pli"), m.get("nack"), m.get("lost"), json.dumps(m.get("events"))))
    pub = list(r["layers"].values())
    t.ok(len(pub) == 1 and pub[0].get("mode") == "L3T3_KEY" and pub[0].get("codec") == mime,
         "%s: the publisher sends one stream in L3T3_KEY" % tag, json.dumps(pub))
    res = r["results"]
    t.ok(all(m.get("codec") == mime for m in res), "%s: the subscriber decodes %s" % (tag, mime))
    for m in res:
        want = WIDTHS[m["settings"]["spatial_layer"]]
        t.eq(m.get("width"), want, "%s: %s decodes %d wide" % (tag, json.dumps(m["settings"]),
                                                              want))
    full, tl0, tl1 = [res[i].get("fps") or 0 for i in (5, 3, 4)]
    t.ok(tl0 < 0.6 * full and tl1 < 0.85 * full and tl0 < tl1,
         "%s: temporal layers 0 < 1 < 2 in frame rate (%.1f, %.1f, %.1f fps)"
         % (tag, tl0, tl1, full))
    t.ok((res[6].get("fps") or 0) < 0.6 * full,
         "%s: spatial 0 + temporal 0: the low frame rate too (%.1f fps)"
         % (tag, res[6].get("fps") or 0))
    t.ok(all((m.get("fps") or 0) > 3 for m in res),
         "%s: video keeps decoding across every switch" % tag)
    start = r["startEvents"] + res[0]["events"]
    # The subscriber's estimate climbs to the top layers; on a loaded machine it may step a
    # temporal layer down again afterwards (announced too), so the top must be reached,
    # not be the last word.
    reached = any(e.get("spatial_layer") == 2 for e in start) and any(
        e.get("temporal_layer") == 2 and last(start[:i + 1], "spatial_layer") == 2
        for i, e in enumerate(start))
    t.ok(reached and all(e.get("mid") == "1" and e.get("videoroom") == "event" for e in start),
         "%s: the start is announced: spatial_layer 2, temporal_layer 2 on mid 1" % tag,
         json.dumps(start))
    for i, m in enumerate(res):
        want_s = m["settings"]["spatial_layer"]
        want_t = m["settings"].get("temporal_layer")
        prev = res[i - 1]["settings"] if i else STEPS[0]
        if want_s != prev.get("spatial_layer", 2) and i:
            t.eq(last(m["events"], "spatial_layer"), want_s,
                 "%s: %s: event spatial_layer %d" % (tag, json.dumps(m["settings"]), want_s))
        if want_t is not None and want_t != prev.get("temporal_layer", 2):
            t.eq(last(m["events"], "temporal_layer"), want_t,
                 "%s: %s: event temporal_layer %d" % (tag, json.dumps(m["settings"]), want_t))
    late = r.get("late") or {}
    t.note("%s: late subscriber %s: %sx%s at %.1f fps, first frame after %s ms, events %s"
           % (tag, json.dumps(late.get("settings")), late.get("width"), late.get("height"),
              late.get("fps") or 0, late.get("firstFrameMs"), json.dumps(late.get("events"))))
    t.ok(late.get("width") == 640 and (late.get("fps") or 0) < 0.6 * full and
         (late.get("fps") or 0) > 2,
         "%s: a subscriber joining with spatial_layer 1, temporal_layer 0 decodes 640 wide at "
         "the low frame rate" % tag, json.dumps(late))
    t.ok(last(late.get("events") or [], "spatial_layer") == 1 and
         last(late.get("events") or [], "temporal_layer") == 0,
         "%s: ...and is told spatial_layer 1, temporal_layer 0" % tag,
         json.dumps(late.get("events")))


for codec, room, mime in (("vp9", 1234, "video/VP9"), ("av1", 1235, "video/AV1")):
    if len(sys.argv) > 2 and codec not in sys.argv[2:]:
        continue
    cfg = {"server": srv.base, "room": room, "rampMs": 20000, "settleMs": 3000, "steps": STEPS,
           "track": {"simulcast": False, "svc": "L3T3_KEY", "codec": codec},
           "rampLayers": 1, "rampWidth": 1280,
           "late": {"spatial_layer": 1, "temporal_layer": 0}}
    out = run_page(cfg)
    if t.ok("result" in out, "%s: the page ran (publish L3T3_KEY, subscribe, configure)" % codec,
            json.dumps(out, indent=1)[:6000]):
        check(codec, mime, out["result"])
shutil.rmtree(html, ignore_errors=True)
t.done()
