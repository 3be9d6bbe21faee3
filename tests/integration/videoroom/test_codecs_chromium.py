#!/usr/bin/python3
"""Every video codec Debian's Chromium encodes and decodes, end to end through the VideoRoom:
three Chromium pages (Debian's janus.js, web/videoroom_three.html driven by
js/three_pages.mjs) in a room restricted to one codec (videocodec = vp8, vp9, h264, av1),
each decoding the two others; the codec entry of every decoder's getStats and of every
publisher's encoder must be the room's codec, and the box colour proves the right feed.
Then a room with a codec list, where each page prefers another codec (janus.js's per-track
`codec`, so the page offers only that one; the third page offers everything and gets the
room's first choice): every publisher gets its own codec and every page decodes the two
others, each in the codec its publisher sends, through one multistream subscriber handle.
Last, H.264 simulcast (web/videoroom_simulcast.html through js/run_page.mjs): a publisher
sends three H.264 layers (1280x720 / 640x360 / 320x180), a subscriber asks for each
substream and decodes its resolution (switches at each layer's keyframe: an IDR after SPS
and PPS in a STAP-A), and falls back to the middle layer when the top one stops. And RED for Opus: a publisher
offering it (Chromium does) is answered with RED first, so it sends RED; a subscriber that
keeps RED in its answer gets the packets as they are (as many bytes per packet as the
publisher sends), one whose answer leaves it out gets the primary encoding alone (about half);
both decode the audio.
Skipped (ok with a note) when Chromium, node or playwright-core are missing.

What Debian's Chromium 156 can do (RTCRtpSender/Receiver.getCapabilities('video') and a
loopback call per codec): VP8, VP9 (profiles 0 and 2; 1 and 3 decode only), H.264
(42001f, 42e01f, 4d001f, packetization-mode 0 and 1; its encoder is OpenH264) and AV1
(profile 0; 1 decode only). H.265 is in neither list: it cannot be tested in this browser.

usage: test_codecs_chromium.py <path to switchboard> [vp8|vp9|h264|av1|list|h264sim|red ...]
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
from vrlib import Test  # noqa: E402

JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
MIME = {"vp8": "video/VP8", "vp9": "video/VP9", "h264": "video/H264", "av1": "video/AV1"}
ROOMS = {"vp8": 4001, "vp9": 4002, "h264": 4003, "av1": 4004}
LIST_ROOM = 4005
LIST = "vp9,h264,av1,vp8"
CONF = "\n".join('room-%d: { description = "%s only"; videocodec = "%s"; bitrate = 600000; };'
                 % (room, codec, codec) for codec, room in ROOMS.items())
CONF += '\nroom-%d: { description = "codec list"; videocodec = "%s"; bitrate = 600000; };' % (
    LIST_ROOM, LIST)
SIM_ROOM = 4006
CONF += '\nroom-%d: { description = "H.264 simulcast"; videocodec = "h264"; bitrate = 3000000; };' \
    % SIM_ROOM
RED_ROOM = 4007
CONF += '\nroom-%d: { description = "RED"; };' % RED_ROOM
SIM_STEPS = [{"substream": 2}, {"substream": 0}, {"substream": 1}, {"substream": 2},
             {"encoding": "h", "active": False}, {"encoding": "h", "active": True}]
# The codec-list round: what each page prefers and what it must get.
LIST_PREFS = ["h264", "av1", None]
LIST_WANT = ["h264", "av1", "vp9"]
MIN_FPS = 5.0


def colour_name(rgb, people):
    if not rgb:
        return None
    return min(people, key=lambda p: sum((a - b) ** 2 for a, b in zip(p["rgb"], rgb)))["name"]


def mime_of(codec_entry):
    return (codec_entry or "").split(" ")[0]


def check_round(t, tag, r, want):
    """want[i]: the codec publisher i must send (and every viewer of it decode)."""
    if not t.ok("error" not in r, "%s: the round ran" % tag, r.get("error")):
        return
    people, ids = r["people"], r["ids"]
    t.note("%s: feeds %s; published after %.1f s, all decoding after %.1f s"
           % (tag, ids, r["t"]["published"] / 1000.0, r["t"]["allDecoding"] / 1000.0))
    pairs = r["before"]
    t.eq(len(pairs), 6, "%s: 6 (viewer, remote feed) pairs measured" % tag)
    for p in pairs:
        viewer = people[p["page"]]["name"]
        pub = p["publisher"]
        v = p.get("video") or {}
        t.ok(p["fps"] >= MIN_FPS and p["decoded"] >= 10,
             "%s: %s decodes %s (%.1f fps, %s frames, %sx%s)"
             % (tag, viewer, people[pub]["name"], p["fps"], p["decoded"], v.get("width"),
                v.get("height")), json.dumps(p))
        t.eq(mime_of(v.get("codec")), MIME[want[pub]],
             "%s: %s's decoder of %s says %s (%s)" % (tag, viewer, people[pub]["name"],
                                                      MIME[want[pub]], v.get("codec")))
        got = colour_name(p["colour"], people)
        t.ok(got == people[pub]["name"],
             "%s: %s sees %s's box colour (rgb %s)" % (tag, viewer, got, p["colour"]),
             json.dumps(p))
    sent = {}
    for p in pairs:
        sent[p["publisher"]] = [mime_of(s.get("codec")) for s in p.get("sending") or []]
    for i in range(3):
        t.eq(sent.get(i), [MIME[want[i]]],
             "%s: %s's encoder sends %s" % (tag, people[i]["name"], MIME[want[i]]))


def h264_simulcast(t, srv):
    cfg = {"server": srv.base, "room": SIM_ROOM, "rampMs": 20000, "settleMs": 3000,
           "steps": SIM_STEPS, "track": {"codec": "h264"}}
    opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % srv.port,
            "fn": "sbSimulcast", "cfg": cfg, "timeoutMs": 90000}
    proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=150,
                          env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}
    if not t.ok("result" in out, "h264 simulcast: the page ran", json.dumps(out)[:4000]):
        return
    r = out["result"]
    t.note("h264 simulcast: publisher layers %s" % json.dumps(r["layers"]))
    for m in r["results"]:
        t.note("h264 simulcast: %s -> %sx%s at %.1f fps, %s (keyframes %s)"
               % (json.dumps(m["settings"]), m.get("width"), m.get("height"), m.get("fps") or 0,
                  m.get("codec"), m.get("keyframes")))
    t.eq(sorted({l.get("codec") for l in r["layers"].values()}), ["video/H264"],
         "h264 simulcast: every layer the publisher sends is H.264")
    t.eq(len(r["layers"]), 3, "h264 simulcast: three layers")
    res = r["results"]
    t.eq([m.get("width") for m in res], [1280, 320, 640, 1280, 640, 1280],
         "h264 simulcast: substreams 2, 0, 1, 2 decode 1280, 320, 640, 1280 wide; the top layer "
         "stops: 640; it comes back: 1280")
    t.ok(all(m.get("codec") == "video/H264" and (m.get("fps") or 0) > 3 for m in res),
         "h264 simulcast: H.264 decodes across every switch")


def red_opus(t, srv):
    cfg = {"server": srv.base, "room": RED_ROOM, "sampleMs": 3000}
    opts = {"url": "http://127.0.0.1:%d/videoroom_simulcast.html" % srv.port,
            "fn": "sbRed", "cfg": cfg, "timeoutMs": 60000}
    proc = subprocess.run(["node", os.path.join(HERE, "js", "run_page.mjs"), json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"error": proc.stdout[-2000:] + proc.stderr[-2000:]}
    if not t.ok("result" in out, "red: the page ran", json.dumps(out)[:4000]):
        return
    r = out["result"]
    t.note("red: publisher offer %s; our answer %s" % (r["offer"], r["answer"]))
    t.note("red: flows: publisher %s, subscriber with RED %s, without %s"
           % (json.dumps(r["publisher"]), json.dumps(r["subscribers"][0]),
              json.dumps(r["subscribers"][1])))

    def red_pt(section):
        for line in section:
            if " red/48000/2" in line:
                return line.split(":")[1].split(" ")[0]
        return None

    def first_pt(section):
        return section[0].split(" ")[3] if section and section[0].startswith("m=audio") else None
    pt = red_pt(r["offer"])
    if not pt:
        t.ok(True, "red: skipped: this Chromium offers no RED")
        return
    t.ok(red_pt(r["answer"]) == pt and first_pt(r["answer"]) == pt,
         "red: the publisher's answer lists RED (%s) first" % pt, json.dumps(r["answer"]))
    t.ok(red_pt(r["withRed"]["offer"]) and first_pt(r["withRed"]["offer"]) ==
         red_pt(r["withRed"]["offer"]), "red: subscribers are offered RED first",
         json.dumps(r["withRed"]["offer"]))
    t.ok(red_pt(r["withRed"]["answer"]) is not None, "red: the first subscriber keeps RED",
         json.dumps(r["withRed"]["answer"]))
    t.ok(red_pt(r["noRed"]["answer"]) is None, "red: the second one's answer leaves it out",
         json.dumps(r["noRed"]["answer"]))
    pub, keep, strip = [{k: v or 0 for k, v in m.items()}
                        for m in [r["publisher"]] + r["subscribers"]]
    t.ok(abs(keep["bytesPerPacket"] - pub["bytesPerPacket"]) <= 0.15 * pub["bytesPerPacket"],
         "red: the subscriber with RED gets the packets as they are (%.0f bytes per packet, the "
         "publisher sends %.0f)" % (keep["bytesPerPacket"], pub["bytesPerPacket"]))
    t.ok(strip["packets"] > 100 and strip["bytesPerPacket"] < 0.7 * pub["bytesPerPacket"],
         "red: the one without gets the primary encoding alone (%.0f bytes per packet)"
         % strip["bytesPerPacket"])
    for name, m in (("with", keep), ("without", strip)):
        t.ok(m["packets"] > 100 and m["samples"] > 0.5 * 48 * 3000 and
             m["concealed"] < 0.2 * max(1, m["samples"]),
             "red: the subscriber %s RED decodes the audio (%d packets, %d samples, %d "
             "concealed)" % (name, m["packets"], m["samples"], m["concealed"]), json.dumps(m))


def run_driver(srv, rounds):
    opts = {"url": "http://127.0.0.1:%d/videoroom_three.html" % srv.port, "server": srv.base,
            "rounds": rounds, "timeoutMs": 60000 * len(rounds)}
    proc = subprocess.Popen(["node", os.path.join(HERE, "js", "three_pages.mjs"),
                             json.dumps(opts)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, SB_NODE_MODULES=NODE_MODULES))
    try:
        stdout, stderr = proc.communicate(timeout=60 * len(rounds) + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += "\n(killed)"
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": stdout[-2000:] + stderr[-2000:]}


t = Test("codecs-chromium")
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

only = [a for a in sys.argv[2:] if a in ROOMS or a in ("list", "h264sim", "red")]
html = tempfile.mkdtemp(prefix="sb-vr-html-")
for f in (os.path.join(HERE, "web", "videoroom_three.html"),
          os.path.join(HERE, "web", "videoroom_simulcast.html"), JANUS_JS, ADAPTER_JS):
    shutil.copy(f, html)
srv = t.server(conf=CONF, html=html)
if not only or "h264sim" in only:
    h264_simulcast(t, srv)
if not only or "red" in only:
    red_opus(t, srv)
parts = only
only = [a for a in only if a not in ("h264sim", "red")]
if parts and not only:
    only = ["none"]
specs = []
for codec, room in ROOMS.items():
    if not only or codec in only:
        specs.append(("%s room" % codec, [codec] * 3,
                      {"mode": "perfeed", "leave": "none", "room": room, "decodeMs": 40000}))
if not only or "list" in only:
    specs.append(("list room (%s)" % LIST, LIST_WANT,
                  {"mode": "multi", "leave": "none", "room": LIST_ROOM, "decodeMs": 40000,
                   "codecs": LIST_PREFS}))
start = time.time()
out = run_driver(srv, [s[2] for s in specs]) if specs else {"rounds": []}
if specs and t.ok("rounds" in out, "the driver ran (%.1f s)" % (time.time() - start),
        json.dumps(out, indent=1)[:6000]):
    for (tag, want, _), r in zip(specs, out["rounds"]):
        try:
            check_round(t, tag, r, want)
        except Exception:  # noqa: BLE001 - malformed results: report, still stop the daemon
            t.ok(False, "%s: the results are complete" % tag, traceback.format_exc())
    if t.failed:
        t.note("browser logs:\n" + "\n".join(out.get("logs", [])[-40:]))
shutil.rmtree(html, ignore_errors=True)
t.done()
