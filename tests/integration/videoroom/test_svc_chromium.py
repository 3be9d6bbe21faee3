#!/usr/bin/python3
"""VP9 SVC through the VideoRoom with headless Chromium and Debian's janus.js: a publisher
sends the fake camera at 1280x720 in VP9 with scalabilityMode L3T3_KEY (janus.js's `svc`
track option: three spatial layers, 320x180 / 640x360 / 1280x720, and three temporal layers
in one RTP stream); a subscriber configures spatial_layer 2, 0, 1 and temporal_layer 0, 1, 2
in turn and must decode the matching resolution and a lower frame rate for lower temporal
layers, and hear the reference VideoRoom's events ({"mid", "spatial_layer",
"temporal_layer"}) for what is forwarded. A second subscriber joins asking for spatial_layer 1
and temporal_layer 0 in its join request.
Then AV1 with L3T3_KEY: the publisher's dependency descriptor (negotiated for AV1 only, with
two-byte header extensions) is forwarded to the subscriber, which needs it to assemble the
scalable stream: it decodes 1280x720 at the full frame rate (it decodes nothing without it).
Skipped (ok with a note) when Chromium, node or
playwright-core are missing.

usage: test_svc_chromium.py <path to switchboard>
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
cfg = {"server": srv.base, "room": 1234, "rampMs": 20000, "settleMs": 3000, "steps": STEPS,
       "track": {"simulcast": False, "svc": "L3T3_KEY", "codec": "vp9"},
       "rampLayers": 1, "rampWidth": 1280, "late": {"spatial_layer": 1, "temporal_layer": 0}}


def run_page(cfg):
    opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % srv.port,
            "fn": "sbSimulcast", "cfg": cfg, "timeoutMs": 120000}
    proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=200,
                          env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}


out = run_page(cfg)
if t.ok("result" in out, "the page ran (publish VP9 L3T3_KEY, subscribe, configure)",
        json.dumps(out, indent=1)[:6000]):
    r = out["result"]
    t.note("publisher after the ramp: %s" % json.dumps(r["layers"]))
    t.note("events at the start: %s" % json.dumps(r["startEvents"]))
    for m in r["results"]:
        t.note("%s -> %sx%s at %.1f fps, %s (decoded %s, keyframes %s, pli %s, nack %s, "
               "lost %s); events %s"
               % (json.dumps(m["settings"]), m.get("width"), m.get("height"), m.get("fps") or 0,
                  m.get("codec"), m.get("decoded"), m.get("keyframes"), m.get("pli"),
                  m.get("nack"), m.get("lost"), json.dumps(m.get("events"))))
    pub = list(r["layers"].values())
    t.ok(len(pub) == 1 and pub[0].get("mode") == "L3T3_KEY" and pub[0].get("codec") ==
         "video/VP9", "the publisher sends one VP9 stream in L3T3_KEY", json.dumps(pub))
    res = r["results"]
    t.ok(all(m.get("codec") == "video/VP9" for m in res), "the subscriber decodes VP9")
    for m in res:
        want = WIDTHS[m["settings"]["spatial_layer"]]
        t.eq(m.get("width"), want, "%s decodes %d wide" % (json.dumps(m["settings"]), want))
    full, tl0, tl1 = [res[i].get("fps") or 0 for i in (5, 3, 4)]
    t.ok(tl0 < 0.6 * full and tl1 < 0.85 * full and tl0 < tl1,
         "temporal layers 0 < 1 < 2 in frame rate (%.1f, %.1f, %.1f fps)" % (tl0, tl1, full))
    t.ok((res[6].get("fps") or 0) < 0.6 * full,
         "spatial 0 + temporal 0: the low frame rate too (%.1f fps)" % (res[6].get("fps") or 0))
    t.ok(all((m.get("fps") or 0) > 3 for m in res), "video keeps decoding across every switch")

    def last(events, key):
        vals = [e[key] for e in events if key in e]
        return vals[-1] if vals else None
    start = r["startEvents"] + res[0]["events"]
    t.ok(last(start, "spatial_layer") == 2 and last(start, "temporal_layer") == 2 and
         all(e.get("mid") == "1" and e.get("videoroom") == "event" for e in start),
         "the start is announced: spatial_layer 2, temporal_layer 2 on mid 1",
         json.dumps(start))
    for i, m in enumerate(res):
        want_s = m["settings"]["spatial_layer"]
        want_t = m["settings"].get("temporal_layer")
        prev = res[i - 1]["settings"] if i else STEPS[0]
        if want_s != prev.get("spatial_layer", 2) and i:
            t.eq(last(m["events"], "spatial_layer"), want_s,
                 "%s: event spatial_layer %d" % (json.dumps(m["settings"]), want_s))
        if want_t is not None and want_t != prev.get("temporal_layer", 2):
            t.eq(last(m["events"], "temporal_layer"), want_t,
                 "%s: event temporal_layer %d" % (json.dumps(m["settings"]), want_t))
    late = r.get("late") or {}
    t.note("late subscriber %s: %sx%s at %.1f fps, first frame after %s ms, events %s"
           % (json.dumps(late.get("settings")), late.get("width"), late.get("height"),
              late.get("fps") or 0, late.get("firstFrameMs"), json.dumps(late.get("events"))))
    t.ok(late.get("width") == 640 and (late.get("fps") or 0) < 0.6 * full and
         (late.get("fps") or 0) > 2,
         "a subscriber joining with spatial_layer 1, temporal_layer 0 decodes 640 wide at the "
         "low frame rate", json.dumps(late))
    t.ok(last(late.get("events") or [], "spatial_layer") == 1 and
         last(late.get("events") or [], "temporal_layer") == 0,
         "...and is told spatial_layer 1, temporal_layer 0", json.dumps(late.get("events")))

cfg = {"server": srv.base, "room": 1235, "rampMs": 20000, "settleMs": 3000, "steps": [{}],
       "track": {"simulcast": False, "svc": "L3T3_KEY", "codec": "av1"},
       "rampLayers": 1, "rampWidth": 1280}
out = run_page(cfg)
if t.ok("result" in out, "av1: the page ran (publish AV1 L3T3_KEY, subscribe)",
        json.dumps(out, indent=1)[:6000]):
    r = out["result"]
    pub = list(r["layers"].values())
    m = r["results"][0]
    t.note("av1: publisher %s; subscriber %sx%s at %.1f fps, %s (keyframes %s, pli %s)"
           % (json.dumps(pub), m.get("width"), m.get("height"), m.get("fps") or 0,
              m.get("codec"), m.get("keyframes"), m.get("pli")))
    t.ok(len(pub) == 1 and pub[0].get("mode") == "L3T3_KEY" and pub[0].get("codec") ==
         "video/AV1", "av1: the publisher sends one AV1 stream in L3T3_KEY", json.dumps(pub))
    t.ok(m.get("codec") == "video/AV1" and m.get("width") == 1280 and (m.get("fps") or 0) > 10,
         "av1: the subscriber decodes it whole, 1280 wide at the full rate (the dependency "
         "descriptor is forwarded)", json.dumps(m))
shutil.rmtree(html, ignore_errors=True)
t.done()
