#!/usr/bin/python3
"""What janus.js (Debian's, unchanged, in headless Chromium: web/compat_events.html) gets
from Switchboard and from Debian's janus (the reference, lib/janusref.py), with the same
flows; docs/events.md has the shapes.

A lost session: with a 3 s session timeout, the long-poll brings {"janus":"timeout"}, the
next polls are HTTP 404 and janus.js reports "Lost connection to the server (is it down?)"
after a handful of them (with a 200 and an error body it would poll again at once, for
ever).

VideoRoom simulcast (two publishers with janus.js's three layers, the second at 640x360;
one subscriber of the first's video alone, one of both publishers): the publisher's
`configured` streams; the subscribers' `attached` streams; the layer-change events
{"videoroom":"event","room":R,"mid":M,"substream":S} / "temporal":T — their exact keys,
M the subscriber's mid (its m-line "0" for the publisher's video mid "1"), one per m-line
in a multistream subscription, sent when the forwarded layer changes: at the start, after
a configure of substream or temporal (the decoded size follows), when the publisher stops
its top layer (down to the one below) and starts it again (up), and not on pause/start or
send false/true; the publisher's own "media" events per substream.

Written from the reference's behaviour while the VideoRoom's layer choice (issue 14) was
being done: on 6 Dec 2026 four cases failed on Switchboard (the attached streams' "simulcast"
object, a temporal event per m-line at the start, the event after a configure of temporal
alone, events re-sent on pause/start and send false/true).

EchoTest simulcast (janus.js's three layers echoed): the top layer comes back by default;
{"substream":N} and {"temporal":N} change what is decoded (size, frame rate), each change
announced as {"echotest":"event","videocodec":"vp8","substream"|"temporal":N} (the
reference takes "temporal" but keeps echoing every frame, and says nothing of it).

The reference gathers no candidate on loopback: a veth of ours (198.18.61.1) is its
interface, and Chromium's (the page and the APIs stay on 127.0.0.1). About 170 s.
"""
import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import netns  # noqa: E402
from janusref import JanusRef  # noqa: E402
from pagerpc import PageRpc  # noqa: E402
from sbchromium import ADAPTER_JS, JANUS_JS, missing  # noqa: E402
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OURS_PORT = 18088
REF_PORT = 18090
PAGE_PORT = 18095
ROOM = 1234
WIDTH = {0: 320, 1: 640, 2: 1280}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_server(kind, builddir, link, timeout=None):
    if kind == "ours":
        args = ["--session-timeout", str(timeout)] if timeout else []
        return Server(builddir, args, http_port=OURS_PORT, name="compat-js", ws=False)
    return JanusRef(REF_PORT, enforce=link.name_a, session_timeout=timeout)


def stop_server(tap, kind, srv, what):
    if kind == "ours":
        stop_and_report(tap, srv, "%s: clean shutdown, no sanitizer report" % what)
    else:
        srv.stop()


def api(kind):
    return "http://127.0.0.1:%d/janus" % (OURS_PORT if kind == "ours" else REF_PORT)


def page_url():
    return "http://127.0.0.1:%d/compat_events.html" % PAGE_PORT


# ---- a lost session ---------------------------------------------------------------------------

def lost_session(tap, kind, builddir, link):
    srv = start_server(kind, builddir, link, timeout=3)
    page = None
    try:
        page = PageRpc(page_url())
        r = page.call("sbLostSession", {"server": api(kind), "ms": 40000}, timeout=45)
    except Exception as ex:  # noqa: BLE001 - reported as the case
        r = {"failed": repr(ex)[:2000]}
    finally:
        if page:
            page.close()
        stop_server(tap, kind, srv, "lost session")
    return r


def lost_checks(tap, ours, theirs):
    for who, r in (("ours", ours), ("theirs", theirs)):
        with tap.case("lost session (%s): janus.js gets the timeout event, then reports the "
                      "server lost after a few polls" % who):
            check("failed" not in r, r.get("failed"))
            kinds = [x["e"].get("janus") for x in r["events"]]
            check_eq(kinds, ["timeout"], "events of the session")
            check_eq(r["error"], "Lost connection to the server (is it down?)", "janus.js error")
            check(r["polls"] <= 8, "%d long-polls for the session" % r["polls"])


# ---- simulcast layer events --------------------------------------------------------------------

def page_flow(kind, builddir, link, tap, what, body):
    """body(page, out) on a page connected to a fresh server of kind: out, with "failed" (and
    the page's last logs) when it raised."""
    srv = start_server(kind, builddir, link)
    out = {"marks": []}
    page = None
    try:
        page = PageRpc(page_url())
        page.call("sbConnect", {"server": api(kind)})
        body(page, out)
    except Exception as ex:  # noqa: BLE001 - reported as the case
        out["failed"] = repr(ex)[:3000]
        if page:
            out["logs"] = page.logs()[-30:]
            try:  # what the page heard (a hangup says why its PeerConnection went)
                out["logs"] += ["event: " + json.dumps(x["e"])[:300] for x in
                                page.call("sbEvents", {})
                                if x["e"].get("janus") in ("hangup", "detached", "error")]
            except Exception:  # noqa: BLE001 - the page itself may be gone
                pass
        log = getattr(srv, "log_path", None)
        if log and os.path.exists(log):
            with open(log, errors="replace") as fh:
                out["logs"] += ["server: " + ln for ln in fh.read().splitlines()
                                if " warn " in ln or "closed (" in ln or "hangup" in ln][-20:]
    finally:
        if page:
            page.close()
        stop_server(tap, kind, srv, what)
    return out


def layer_flow(kind, builddir, link, tap):
    """The flow on one server: {"marks": [(ms, what)], "events": [...], "names": {...}, ...}."""
    return page_flow(kind, builddir, link, tap, "simulcast",
                     lambda page, out: layer_steps(kind, page, out))


def wait_width(page, name, mid, width, limit):
    """Polls what handle name decodes on mid until it is width wide (at most limit seconds),
    then returns the last sizes: on a loaded machine Chromium's encoder and our estimate
    take longer to reach a layer than a fixed sleep allows; the checks still see the size."""
    deadline = time.time() + limit
    while True:
        got = page.call("sbVideo", {"name": name})
        if got.get(mid, {}).get("w") == width or time.time() >= deadline:
            return got
        time.sleep(0.5)


def wait_quiet(page, name, quiet, limit):
    """Waits until handle name has had no layer event for quiet seconds (at most limit)."""
    deadline = time.time() + limit
    while time.time() < deadline:
        names = {int(k): v for k, v in page.call("sbHandles", {}).items()}
        r = {"events": page.call("sbEvents", {}), "names": names, "marks": []}
        ts = [t for t, e in events_of(r, name)
              if {"substream", "temporal"} & set((e.get("plugindata") or {}).get("data") or {})]
        if not ts or time.time() * 1000 - ts[-1] >= quiet * 1000:
            return
        time.sleep(0.5)


def layer_steps(kind, page, out):
    def mark(what):
        out["marks"].append((time.time() * 1000, what))

    base = OURS_PORT if kind == "ours" else REF_PORT
    h = Http(base)
    sid = h.create()
    hid = h.attach(sid, "janus.plugin.videoroom")
    h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "room", "body": {
        "request": "create", "room": ROOM, "publishers": 6, "bitrate": 0}})
    out["p1"] = page.call("sbPublish", {"name": "p1", "room": ROOM}, timeout=40)
    out["p2"] = page.call("sbPublish", {"name": "p2", "room": ROOM, "track": {
        "capture": {"width": 640, "height": 360}}}, timeout=40)
    for _ in range(40):  # every layer of p1 flowing
        layers = page.call("sbPubLayers", {"name": "p1"})
        if sum(1 for v in layers.values() if v["fps"] > 0) == 3:
            break
        time.sleep(0.5)
    time.sleep(1)
    mark("subscribe v")
    out["v"] = page.call("sbSubscribe", {"name": "v", "room": ROOM, "streams": [
        {"feed": out["p1"]["id"], "mid": "1"}]}, timeout=40)
    time.sleep(4)
    wait_width(page, "v", "0", WIDTH[2], 20)
    wait_quiet(page, "v", 2.0, 15)
    out["v start size"] = page.call("sbVideo", {"name": "v"})
    mark("subscribe m")
    out["m"] = page.call("sbSubscribe", {"name": "m", "room": ROOM, "streams": [
        {"feed": out["p1"]["id"]}, {"feed": out["p2"]["id"]}]}, timeout=40)
    # Settled before the configures: ours climbs to the top layers as its estimate of the
    # subscriber grows, and an event of that climb must not fall inside a configure's window.
    time.sleep(2)
    wait_width(page, "m", "1", WIDTH[2], 20)
    wait_quiet(page, "m", 2.0, 15)
    steps = [("m", "configure mid 3 substream 0", {"mid": "3", "substream": 0}),
             ("m", "configure mid 1 temporal 0", {"mid": "1", "temporal": 0}),
             ("v", "configure substream 0", {"mid": "0", "substream": 0}),
             ("v", "configure substream 2", {"mid": "0", "substream": 2})]
    for who, name, stream in steps:
        mark("%s %s" % (who, name))
        page.call("sbConfigure", {"name": who, "streams": [stream]})
        time.sleep(3.5)
        want = WIDTH.get(stream.get("substream"))
        out["%s %s size" % (who, name)] = (wait_width(page, who, stream["mid"], want, 10)
                                           if who == "v" else page.call("sbVideo", {"name": who}))
    mark("p1 h off")
    page.call("sbEncoding", {"name": "p1", "rid": "h", "active": False})
    time.sleep(4)
    out["h off size"] = page.call("sbVideo", {"name": "v"})
    mark("p1 h on")
    page.call("sbEncoding", {"name": "p1", "rid": "h", "active": True})
    time.sleep(6)
    out["h on size"] = page.call("sbVideo", {"name": "v"})
    mark("v pause")
    page.call("sbRequest", {"name": "v", "body": {"request": "pause"}, "until": "paused"})
    time.sleep(1.5)
    mark("v start")
    page.call("sbRequest", {"name": "v", "body": {"request": "start"}, "until": "started"})
    time.sleep(2.5)
    mark("v send false")
    page.call("sbConfigure", {"name": "v", "streams": [{"mid": "0", "send": False}]})
    time.sleep(1.5)
    mark("v send true")
    page.call("sbConfigure", {"name": "v", "streams": [{"mid": "0", "send": True}]})
    time.sleep(2.5)
    mark("end")
    out["events"] = page.call("sbEvents", {})
    out["names"] = {int(k): v for k, v in page.call("sbHandles", {}).items()}


def events_of(r, name, since=None, until=None):
    """(ms, event) of handle name between two marks (names of r["marks"])."""
    marks = dict((w, t) for t, w in r["marks"])
    t0 = marks[since] if since else 0
    t1 = marks[until] if until else float("inf")
    return [(x["t"], x["e"]) for x in r["events"]
            if r["names"].get(x["e"].get("sender")) == name and t0 <= x["t"] < t1]


def layer_events(r, name, since=None, until=None):
    """plugindata.data of the substream/temporal events of name, in order."""
    out = []
    for _, e in events_of(r, name, since, until):
        d = (e.get("plugindata") or {}).get("data") or {}
        if "substream" in d or "temporal" in d:
            out.append(d)
    return out


def last(evs, key, mid=None):
    vals = [d[key] for d in evs if key in d and (mid is None or d["mid"] == mid)]
    return vals[-1] if vals else None


def next_mark(r, mark):
    names = [w for _, w in r["marks"]]
    i = names.index(mark)
    return names[i + 1] if i + 1 < len(names) else None


def strip_ids(streams):
    return [{k: v for k, v in s.items() if k not in ("feed_id",)} for s in streams]


def layer_checks(tap, ours, theirs):
    runs = (("ours", ours), ("theirs", theirs))
    with tap.case("simulcast: the flow ran on both servers"):
        for who, r in runs:
            check("failed" not in r, "%s: %s\n%s" % (who, r.get("failed"),
                                                      "\n".join(r.get("logs") or [])))
    if any("failed" in r for _, r in runs):
        return
    with tap.case("simulcast: the publisher's configured streams as the reference's "
                  "(audio fec, video simulcast)"):
        check_eq(ours["p1"]["streams"], theirs["p1"]["streams"], "ours vs theirs")
    with tap.case("simulcast: the subscribers' attached streams as the reference's"):
        for sub in ("v", "m"):
            check_eq(strip_ids(ours[sub]["streams"]), strip_ids(theirs[sub]["streams"]), sub)
    with tap.case("simulcast: every layer event is {videoroom, room, mid, substream|temporal}, "
                  "unsolicited, on the subscriber's mid"):
        for who, r in runs:
            for name, mids in (("v", {"0"}), ("m", {"1", "3"})):
                for _, e in events_of(r, name):
                    d = (e.get("plugindata") or {}).get("data") or {}
                    if "substream" not in d and "temporal" not in d:
                        continue
                    check("transaction" not in e, "%s %s: %r" % (who, name, e))
                    key = "substream" if "substream" in d else "temporal"
                    check_eq(sorted(d), sorted(["videoroom", "room", "mid", key]),
                             "%s %s keys" % (who, name))
                    check(d["videoroom"] == "event" and d["room"] == ROOM and
                          d["mid"] in mids and d[key] in (0, 1, 2), "%s %s: %r" % (who, name, d))
    with tap.case("simulcast: a new subscription announces its substream and temporal layer, "
                  "substream 2 and temporal 2 with plenty of bandwidth"):
        for who, r in runs:
            evs = layer_events(r, "v", "subscribe v", "subscribe m")
            check(last(evs, "substream") == 2 and last(evs, "temporal") == 2,
                  "%s: %r" % (who, evs))
            check_eq(r["v start size"]["0"]["w"], 1280, "%s: decoded width" % who)
            evs = layer_events(r, "m", "subscribe m", "m configure mid 3 substream 0")
            for mid in ("1", "3"):
                check(last(evs, "substream", mid) is not None and
                      last(evs, "temporal", mid) is not None, "%s m mid %s: %r" % (who, mid, evs))
    for name in ("v configure substream 0", "v configure substream 2"):
        want = int(name[-1])
        with tap.case("simulcast: %s: the substream event follows (%d), the picture too"
                      % (name, want)):
            for who, r in runs:
                evs = layer_events(r, "v", name, next_mark(r, name))
                check_eq(last(evs, "substream"), want, "%s: last substream of %r" % (who, evs))
                # Ours may pass through a lower temporal layer of the pinned substream while
                # its estimate climbs to what the layer costs (the reference has no estimate);
                # it ends on all of them.
                temporal = [d["temporal"] for d in evs if "temporal" in d]
                check(not temporal if who == "theirs" else temporal[-1:] in ([], [2]),
                      "%s: temporal events in %r" % (who, evs))
                check_eq(r[name + " size"]["0"]["w"], WIDTH[want], "%s: decoded width" % who)
    with tap.case("simulcast: configure of one mid: its events only (m mid 3 substream 0)"):
        name = "m configure mid 3 substream 0"
        for who, r in runs:
            evs = layer_events(r, "m", name, next_mark(r, name))
            check(evs and all(d["mid"] == "3" and "substream" in d for d in evs),
                  "%s: %r" % (who, evs))
        check_eq(last(layer_events(ours, "m", name, next_mark(ours, name)), "substream"),
                 last(layer_events(theirs, "m", name, next_mark(theirs, name)), "substream"),
                 "the layer reached (the second publisher's lowest)")
    with tap.case("simulcast: configure temporal 0 on one mid: {mid, temporal: 0}, no substream "
                  "event"):
        name = "m configure mid 1 temporal 0"
        for who, r in runs:
            evs = layer_events(r, "m", name, next_mark(r, name))
            check_eq(evs, [{"videoroom": "event", "room": ROOM, "mid": "1", "temporal": 0}],
                     "%s: layer events" % who)
    with tap.case("simulcast: the publisher stops its top layer: down to substream 1 (event, "
                  "640 wide); it starts again: back to 2 (event, 1280 wide)"):
        for who, r in runs:
            evs = layer_events(r, "v", "p1 h off", "p1 h on")
            check_eq(last(evs, "substream"), 1, "%s: %r" % (who, evs))
            check_eq(r["h off size"]["0"]["w"], 640, "%s: decoded width" % who)
            evs = layer_events(r, "v", "p1 h on", "v pause")
            check_eq(last(evs, "substream"), 2, "%s: %r" % (who, evs))
            check_eq(r["h on size"]["0"]["w"], 1280, "%s: decoded width" % who)
    with tap.case("simulcast: pause/start and send false/true announce no layer (nothing "
                  "changed)"):
        for who, r in runs:
            evs = layer_events(r, "v", "v pause", "end")
            check_eq(evs, [], "%s: layer events" % who)
    with tap.case("simulcast: the publisher's media events, per substream as the reference's"):
        def media(r):
            return sorted({json.dumps({k: v for k, v in e.items()
                                       if k not in ("session_id", "sender")}, sort_keys=True)
                           for _, e in events_of(r, "p1") if e.get("janus") == "media"})
        check_eq(media(ours), media(theirs), "distinct media events of the first publisher")


# ---- EchoTest simulcast -------------------------------------------------------------------------

ECHO_STEPS = [("substream 0", {"substream": 0}), ("temporal 0", {"temporal": 0}),
              ("substream 1", {"substream": 1}), ("temporal 2", {"temporal": 2}),
              ("substream 2", {"substream": 2})]


def echo_flow(kind, builddir, link, tap):
    """A simulcast caller of the EchoTest picks the layer it gets back, step by step."""
    return page_flow(kind, builddir, link, tap, "echotest simulcast", echo_steps)


def echo_steps(page, out):
    out["sizes"] = {}
    out["mark0"] = time.time() * 1000
    page.call("sbEcho", {"name": "e"}, timeout=40)
    time.sleep(3)
    got = page.call("sbVideo", {"name": "e"})
    out["sizes"]["start"] = wait_width(page, "e", next(iter(got), "0"), WIDTH[2], 20)
    for name, body in ECHO_STEPS:
        out["marks"].append((time.time() * 1000, name))
        page.call("sbRequest", {"name": "e", "body": body, "until": "result"})
        time.sleep(3)
        a = page.call("sbVideo", {"name": "e"})
        time.sleep(2)
        b = page.call("sbVideo", {"name": "e"})
        out["sizes"][name] = {mid: dict(v, fps=(v["fd"] - a.get(mid, {}).get("fd", 0)) / 2.0)
                              for mid, v in b.items()}
    out["events"] = [x for x in page.call("sbEvents", {})
                     if x["e"].get("sender") is not None]


def echo_layer_events(r, since=None, until=None):
    return [(x["t"], x["e"]["plugindata"]["data"]) for x in r["events"]
            if (x["e"].get("plugindata") or {}).get("plugin") == "janus.plugin.echotest" and
            ("substream" in x["e"]["plugindata"]["data"] or
             "temporal" in x["e"]["plugindata"]["data"]) and
            (since is None or x["t"] >= since) and (until is None or x["t"] < until)]


def echo_checks(tap, ours, theirs):
    runs = (("ours", ours), ("theirs", theirs))
    with tap.case("echotest simulcast: the flow ran on both servers"):
        for who, r in runs:
            check("failed" not in r, "%s: %s\n%s" % (who, r.get("failed"),
                                                      "\n".join(r.get("logs") or [])))
    if any("failed" in r for _, r in runs):
        return
    for who, r in runs:
        tap.note("echotest %s: decoded %s; layer events %s" % (
            who, json.dumps({k: [(v["w"], v.get("fps")) for v in x.values()]
                             for k, x in r["sizes"].items()}),
            [(round(t - r["mark0"]), d) for t, d in echo_layer_events(r)]))
    with tap.case("echotest simulcast: the layer events are the reference's "
                  "{echotest, videocodec, substream|temporal}, unsolicited"):
        for who, r in runs:
            evs = [x["e"] for x in r["events"] if (x["e"].get("plugindata") or {}).get(
                "plugin") == "janus.plugin.echotest"]
            for e in evs:
                d = e["plugindata"]["data"]
                if "substream" in d or "temporal" in d:
                    key = "substream" if "substream" in d else "temporal"
                    check_eq(sorted(d), sorted(["echotest", "videocodec", key]), who)
                    check_eq(d["videocodec"], "vp8", who)
                    check("transaction" not in e, "%s: %r" % (who, e))
    with tap.case("echotest simulcast: the top layer comes back by default, announced"):
        for who, r in runs:
            w = [v["w"] for v in r["sizes"]["start"].values()]
            check(w == [WIDTH[2]], "%s: decoding %r" % (who, w))
            subs = [d["substream"] for _, d in echo_layer_events(r, until=r["marks"][0][0])
                    if "substream" in d]
            check(subs and subs[-1] == 2, "%s: substream events %r" % (who, subs))
    marks = {k: [t for t, _ in r["marks"]] + [float("inf")] for k, r in runs}
    for i, (name, body) in enumerate(ECHO_STEPS):
        key, value = list(body.items())[0]
        # The reference takes "temporal" but echoes every frame of Chromium's VP8 all the
        # same, and announces nothing: only ours is held to it.
        with tap.case("echotest simulcast: %s: the event follows%s" % (
                name, ", the picture too" if key == "substream" else
                (" (ours), fewer frames" if value == 0 else
                 " (ours), the full frame rate again"))):
            for who, r in runs:
                if key == "temporal" and who == "theirs":
                    continue
                t0, t1 = marks[who][i], marks[who][i + 1]
                vals = [d[key] for _, d in echo_layer_events(r, t0, t1) if key in d]
                check(vals and vals[-1] == value, "%s: %s events %r" % (who, key, vals))
                got = list(r["sizes"][name].values())[0]
                if key == "substream":
                    check_eq(got["w"], WIDTH[value], "%s: width" % who)
                prev = list(r["sizes"][ECHO_STEPS[i - 1][0] if i else "start"].values())[0]
                if key == "temporal" and value == 0:
                    check(got["fps"] < 0.6 * prev["fps"], "%s: %.1f fps, %.1f before" % (
                        who, got["fps"], prev["fps"]))
                if key == "temporal" and value == 2:
                    check(got["fps"] > 1.5 * prev["fps"], "%s: %.1f fps, %.1f before" % (
                        who, got["fps"], prev["fps"]))


def main():
    tap = Tap("compat-janusjs")
    why = missing()
    if why or not os.path.exists("/usr/bin/janus"):
        tap.result("skipped: %s" % (why or "Debian's janus is missing"), True)
        tap.exit()
    builddir = builddir_from_argv()
    site = tempfile.mkdtemp(prefix="sbtest-compat-site-")
    for f in (os.path.join(HERE, "web", "compat_events.html"), JANUS_JS, ADAPTER_JS):
        shutil.copy(f, site)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", PAGE_PORT),
                                            functools.partial(_Quiet, directory=site))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    started = time.time()
    try:
        with netns.Lab() as lab:
            peer = lab.namespace("veth-peer")
            link = netns.veth(netns.own(), peer, "198.18.61.1/24", "198.18.61.2/24")
            lost = {k: lost_session(tap, k, builddir, link) for k in ("ours", "theirs")}
            lost_checks(tap, lost["ours"], lost["theirs"])
            runs = {k: layer_flow(k, builddir, link, tap) for k in ("ours", "theirs")}
            layer_checks(tap, runs["ours"], runs["theirs"])
            echo = {k: echo_flow(k, builddir, link, tap) for k in ("ours", "theirs")}
            echo_checks(tap, echo["ours"], echo["theirs"])
    finally:
        httpd.shutdown()
        shutil.rmtree(site, ignore_errors=True)
    tap.note("took %.0f s" % (time.time() - started))
    tap.exit()


if __name__ == "__main__":
    main()
