#!/usr/bin/python3
"""What a client sees, Switchboard against Debian's janus (the reference, lib/janusref.py),
with the same client flows, compared event by event (docs/events.md lists the shapes and
the differences kept on purpose).

HTTP (no media): a long-poll of an unknown, destroyed or timed-out session is HTTP 404 on
both (ours carries the 458 error, the reference's body is empty); requests to an unknown
session or handle get the same JSON (session_id included); a GET of a handle's path is
a 302 to its session; a parked poll gets {"janus":"timeout"} at the session timeout.

EchoTest (aiortc): {"echotest":"event","result":"done"} comes before the core "hangup" when
the PeerConnection goes (hangup request, the client's DTLS alert, a hangup before ICE ever
connected), once per call (a second hangup says nothing, a new call re-arms it), never on
detach; the controls go back to their defaults for the next call (video off in one call,
video echoed in the next).

VideoRoom (aiortc: two publishers, a subscriber, a moderator handle): create, join,
publish, subscribe and start, configure (send, bitrate, display), switch, pause, start,
subscribe/unsubscribe (renegotiation), unpublish, publish again, hangup, leave, kick,
listparticipants, destroy, detach: every client's events and replies equal step by step
(ids, private ids and SDP aside), but for the differences listed in VR_KNOWN.

The reference gathers no candidate on loopback: a veth of ours (198.18.61.1) is its
interface, and aiortc's. About 170 s (240 s sanitized).
"""
import asyncio
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import netns  # noqa: E402
from janusref import JanusRef  # noqa: E402
from sbaiortc import PatternTrack, ToneTrack, consume, local_addresses, new_pc  # noqa: E402
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, error_code, \
    stop_and_report  # noqa: E402

OURS_PORT = 18088
REF_PORT = 18090
TIMEOUT = 3  # session timeout of the HTTP part, both servers
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0  # timeouts
SETTLE = 1.4 if os.environ.get("SB_TEST_SANITIZED") else 1.0  # waits for what may come
ROOM = 4321


# ---- normalising events ---------------------------------------------------------------------

class Names:
    """Ids (sessions, handles, feeds, private ids) to stable names, and events to what is
    comparable between two servers: jsep reduced to its type, ids to their names."""

    def __init__(self):
        self.ids = {}

    def add(self, value, name):
        if isinstance(value, int) and not isinstance(value, bool) and value:
            self.ids[value] = name

    def id_of(self, name):
        return next(k for k, v in self.ids.items() if v == name)

    def norm(self, j):
        if isinstance(j, dict):
            out = {}
            for k, v in j.items():
                if k == "jsep":
                    out[k] = {"type": v.get("type")}
                elif k == "private_id":
                    out[k] = "<private>"
                else:
                    out[k] = self.norm(v)
            return out
        if isinstance(j, list):
            return [self.norm(x) for x in j]
        if isinstance(j, int) and not isinstance(j, bool) and j in self.ids:
            return "<%s>" % self.ids[j]
        if isinstance(j, str):  # reasons, Location: "No such session <session>"
            for k, v in self.ids.items():
                j = j.replace(str(k), "<%s>" % v)
        return j


class Poller:
    """A session's events, long-polled by a daemon thread (one that never holds up the end
    of the test: the reference answers a poll of a destroyed session only after 30 s)."""

    def __init__(self, http, sid):
        self.http, self.sid, self.events, self.stop = http, sid, [], False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                ev = self.http.poll(self.sid, "?maxev=10", 35)
            except Exception:  # noqa: BLE001 - the session may be gone
                time.sleep(0.2)
                continue
            if error_code(ev) == 458:
                return
            self.events.extend(ev if isinstance(ev, list) else [ev])

    async def wait(self, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for e in list(self.events):
                if pred(e):
                    return e
            await asyncio.sleep(0.02)
        raise AssertionError("event not seen in %.0f s; events: %r" % (timeout, self.events))


def text(e):
    return json.dumps(e, sort_keys=True)


def multiset_diff(ours, theirs):
    """(only ours, only theirs) of two event lists, as sorted texts."""
    a, b = sorted(map(text, ours)), sorted(map(text, theirs))
    only_a, only_b = list(a), []
    for x in b:
        if x in only_a:
            only_a.remove(x)
        else:
            only_b.append(x)
    return only_a, only_b


# ---- HTTP -----------------------------------------------------------------------------------

UNKNOWN = 123456789


def http_flow(h):
    """The same requests on a server with a 3 s session timeout: {case: (status, location,
    JSON or None)}, ids replaced by names."""
    names = Names()
    out = {}

    def rec(case, method, path, body=None, timeout=None):
        st, hdrs, data = h.raw(method, path, body, timeout=timeout)
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = "<not JSON: %r>" % data[:80]
        out[case] = (st, names.norm(hdrs.get("location")), names.norm(j))
        return j

    sid = h.create()
    hid = h.attach(sid)
    names.add(sid, "session")
    names.add(hid, "handle")
    for q in ("", "?maxev=5", "?maxev=1&rid=1700000000000"):
        rec("GET unknown session" + q, "GET", "/janus/%d%s" % (UNKNOWN, q))
    rec("POST keepalive to an unknown session", "POST", "/janus/%d" % UNKNOWN,
        {"janus": "keepalive", "transaction": "k"})
    rec("POST attach to an unknown session", "POST", "/janus/%d" % UNKNOWN,
        {"janus": "attach", "plugin": "janus.plugin.echotest", "transaction": "a"})
    rec("POST message to a handle of an unknown session", "POST",
        "/janus/%d/%d" % (UNKNOWN, hid), {"janus": "message", "body": {}, "transaction": "m"})
    rec("POST message to an unknown handle", "POST", "/janus/%d/%d" % (sid, UNKNOWN),
        {"janus": "message", "body": {}, "transaction": "m"})
    rec("GET of a handle's path", "GET", "/janus/%d/%d" % (sid, hid))
    rec("GET of an unknown handle's path", "GET", "/janus/%d/%d" % (sid, UNKNOWN))
    h.destroy(sid)
    rec("GET destroyed session", "GET", "/janus/%d" % sid)
    rec("POST keepalive to a destroyed session", "POST", "/janus/%d" % sid,
        {"janus": "keepalive", "transaction": "k"})
    # A parked poll when the session times out, then the session is gone.
    idle = h.create()
    names.add(idle, "idle")
    t0 = time.time()
    rec("parked poll at the session timeout", "GET", "/janus/%d" % idle, timeout=30)
    out["timeout within"] = time.time() - t0 < 15
    rec("GET after the timeout", "GET", "/janus/%d" % idle)
    rec("POST keepalive after the timeout", "POST", "/janus/%d" % idle,
        {"janus": "keepalive", "transaction": "k"})
    return out


def http_part(tap, builddir):
    ours_srv = Server(builddir, ["--session-timeout", str(TIMEOUT)], http_port=OURS_PORT,
                      name="compat-http", ws=False)
    try:
        ours = http_flow(Http(OURS_PORT, timeout=30))
    finally:
        stop_and_report(tap, ours_srv, "http: clean shutdown, no sanitizer report")
    ref = JanusRef(REF_PORT, session_timeout=TIMEOUT)
    try:
        theirs = http_flow(Http(REF_PORT, timeout=30))
    finally:
        ref.stop()
    for case in [c for c in theirs if c.startswith("GET") and theirs[c][0] == 404]:
        with tap.case("http: %s: HTTP 404 as the reference (ours with the 458 error)" % case):
            st, _, j = ours[case]
            check_eq(st, 404, "our status (the reference's: 404)")
            check_eq(error_code(j), 458, "our body %r" % (j,))
    for case in [c for c in theirs if c.startswith("POST")]:
        with tap.case("http: %s: the reference's answer" % case):
            check_eq(ours[case], theirs[case], "ours vs theirs")
    for case in ("GET of a handle's path", "GET of an unknown handle's path"):
        with tap.case("http: %s: HTTP 302 to the session, as the reference" % case):
            check_eq(ours[case][:2], theirs[case][:2], "status, Location")
            check_eq(ours[case][:2], (302, "/janus/<session>"), "status, Location")
    with tap.case("http: a parked poll at the session timeout gets the reference's timeout"):
        check(ours["timeout within"] and theirs["timeout within"], "answered within 15 s")
        check_eq(ours["parked poll at the session timeout"],
                 theirs["parked poll at the session timeout"], "ours vs theirs")
        check_eq(ours["parked poll at the session timeout"][2],
                 {"janus": "timeout", "session_id": "<idle>"}, "the event")


# ---- EchoTest -------------------------------------------------------------------------------

ECHO_FLOWS = ("hangup", "close", "detach", "early hangup", "two calls", "controls reset")


async def echo_offer(http, sid, hid, poller, tx, body, counter=None):
    pc = new_pc()
    pc.addTrack(ToneTrack())
    pc.addTrack(PatternTrack())
    if counter is not None:
        pc.on("track", lambda t: asyncio.ensure_future(consume(t, counter)))
    await pc.setLocalDescription(await pc.createOffer())
    r = await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": tx, "body": body,
        "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
    check_eq(r.get("janus"), "ack", "message reply")
    ev = await poller.wait(lambda e: e.get("transaction") == tx and e.get("jsep"), 10 * SLOW)
    return pc, ev["jsep"]["sdp"]


async def echo_connect(pc, answer, poller, n):
    from aiortc import RTCSessionDescription
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    await poller.wait(lambda e: len([x for x in e_all(poller) if x.get("janus") == "webrtcup"])
                      >= n, 15 * SLOW)
    await asyncio.sleep(1.5)


def e_all(poller):
    return poller.events


async def echo_flow(http, flow):
    """One EchoTest flow: (events of the session, normalised, keepalives out; facts)."""
    sid = http.create()
    hid = http.attach(sid)
    names = Names()
    names.add(sid, "session")
    names.add(hid, "handle")
    poller = Poller(http, sid)
    facts = {}
    hangup = {"janus": "hangup", "transaction": "h"}
    path = "/%d/%d" % (sid, hid)
    body = {"video": False} if flow == "controls reset" else {"audio": True, "video": True}
    counter = {}
    pc, answer = await echo_offer(http, sid, hid, poller, "m1", body, counter)
    if flow == "early hangup":  # the answer is never applied: ICE never connects
        await asyncio.sleep(1)
        await asyncio.to_thread(http.post, path, hangup)
    else:
        await echo_connect(pc, answer, poller, 1)
    if flow in ("hangup", "two calls", "controls reset"):
        await asyncio.to_thread(http.post, path, hangup)
    elif flow == "close":
        await pc.close()  # a DTLS close_notify
    elif flow == "detach":
        await asyncio.to_thread(http.post, path, {"janus": "detach", "transaction": "d"})
    await asyncio.sleep(2 * SETTLE)
    if flow in ("two calls", "controls reset"):
        if flow == "two calls":  # a second hangup, with no call: nothing
            await asyncio.to_thread(http.post, path, hangup)
            await asyncio.sleep(1)
        await pc.close()
        facts["first call frames"] = dict(counter)
        counter = {}
        pc, answer = await echo_offer(http, sid, hid, poller, "m2", {}, counter)
        await echo_connect(pc, answer, poller, 2)
        await asyncio.sleep(2)
        facts["second call frames"] = dict(counter)
        await asyncio.to_thread(http.post, path, hangup)
        await asyncio.sleep(2 * SETTLE)
    await pc.close()
    poller.stop = True
    try:
        await asyncio.to_thread(http.destroy, sid)
    except Exception:  # noqa: BLE001 - the flow may have ended it
        pass
    evs = [names.norm(e) for e in poller.events if e.get("janus") != "keepalive"]
    return evs, facts


def echo_checks(tap, ours, theirs):
    done = {"janus": "event", "sender": "<handle>", "session_id": "<session>",
            "plugindata": {"plugin": "janus.plugin.echotest",
                           "data": {"echotest": "event", "result": "done"}}}
    racy = {"janus": "hangup", "reason": "Detach", "sender": "<handle>",
            "session_id": "<session>"}  # see VR_KNOWN
    for flow in ECHO_FLOWS:
        (a, fa), (b, fb) = ours[flow], theirs[flow]
        b = [e for e in b if e != racy]
        if flow == "detach":
            # The reference sometimes sends 'done' on a detach too, before 'detached' (its
            # hangup and detach paths race; seen once in CI): ours must never, so only
            # theirs is forgiven it.
            b = [e for e in b if e != done]
        with tap.case("echotest %s: the reference's events" % flow):
            only_a, only_b = multiset_diff(a, b)
            check(not only_a and not only_b, "only ours:\n  %s\nonly theirs:\n  %s" % (
                "\n  ".join(only_a), "\n  ".join(only_b)))
        with tap.case("echotest %s: 'done' %s" % (flow, "never (detach)" if flow == "detach"
                                                   else "just before each 'hangup'")):
            for who, evs in (("ours", a), ("theirs", b)):
                kinds = ["done" if e == done else e.get("janus") for e in evs]
                kinds = [k for k in kinds if k in ("done", "hangup", "detached")]
                want = {"detach": ["detached"], "two calls": ["done", "hangup"] * 2,
                        "controls reset": ["done", "hangup"] * 2}.get(flow, ["done", "hangup"])
                check_eq(kinds, want, "%s: done/hangup/detached in order" % who)
    with tap.case("echotest: controls reset at hangup (video off, then echoed in the next "
                  "call, as the reference)"):
        for who, facts in (("ours", ours["controls reset"][1]),
                           ("theirs", theirs["controls reset"][1])):
            check(not facts["first call frames"].get("video"), "%s: video off in call 1: %r"
                  % (who, facts))
            check(facts["second call frames"].get("video", 0) > 10, "%s: video in call 2: %r"
                  % (who, facts))


# ---- VideoRoom ------------------------------------------------------------------------------

class Actor:
    """A client: one session, one videoroom handle, its long-poll, a PeerConnection."""

    def __init__(self, http, names, name):
        self.http, self.names, self.name = http, names, name
        self.sid = http.create()
        self.hid = http.attach(self.sid, plugin="janus.plugin.videoroom")
        names.add(self.sid, "S:" + name)
        names.add(self.hid, "H:" + name)
        self.poller = Poller(http, self.sid)
        self.seen = 0
        self.pc = None
        self.ntx = 0

    def take(self):
        evs = [e for e in self.poller.events[self.seen:] if e.get("janus") != "keepalive"]
        self.seen = len(self.poller.events)
        return evs

    async def post(self, path, body):
        self.ntx += 1
        body = dict(body, transaction="%s-%d" % (self.name, self.ntx))
        r = await asyncio.to_thread(self.http.post, path, body)
        self.poller.events.append({"reply": r})
        return body["transaction"], r

    async def req(self, body, jsep=None):
        m = {"janus": "message", "body": body}
        if jsep:
            m["jsep"] = jsep
        tx, r = await self.post("/%d/%d" % (self.sid, self.hid), m)
        if r.get("janus") != "ack":
            return (r.get("plugindata") or {}).get("data"), None
        e = await self.poller.wait(lambda e: e.get("transaction") == tx and
                                   e.get("janus") == "event", 15 * SLOW)
        return e["plugindata"]["data"], e.get("jsep")

    async def core(self, verb):
        path = "/%d/%d" % (self.sid, self.hid)
        return (await self.post(path, {"janus": verb}))[1]

    async def close(self):
        self.poller.stop = True
        if self.pc:
            await self.pc.close()
        try:
            await asyncio.to_thread(self.http.destroy, self.sid)
        except Exception:  # noqa: BLE001
            pass


async def vr_publish(a):
    from aiortc import RTCSessionDescription
    a.pc = new_pc()
    a.pc.addTrack(ToneTrack())
    a.pc.addTrack(PatternTrack())
    await a.pc.setLocalDescription(await a.pc.createOffer())
    n = len([e for e in a.poller.events if e.get("janus") == "webrtcup"])
    _, jsep = await a.req({"request": "publish"}, {"type": "offer",
                                                   "sdp": a.pc.localDescription.sdp})
    await a.pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
    await a.poller.wait(lambda e: len([x for x in a.poller.events
                                       if x.get("janus") == "webrtcup"]) > n, 15 * SLOW)


async def vr_answer(a, jsep):
    from aiortc import RTCSessionDescription
    if a.pc is None:
        a.pc = new_pc()
    await a.pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "offer"))
    await a.pc.setLocalDescription(await a.pc.createAnswer())
    return await a.req({"request": "start"}, {"type": "answer",
                                              "sdp": a.pc.localDescription.sdp})


async def vr_flow(http):
    """The flow; [{"step", "error", "events": {actor: [normalised events]}}]."""
    names = Names()
    log, actors = [], {}

    async def step(name, coro, settle=1.5):
        err = None
        try:
            await coro
        except Exception as ex:  # noqa: BLE001 - reported by the comparison
            err = repr(ex)[:300]
        await asyncio.sleep(settle * SETTLE)
        rec = {"step": name, "error": err, "events": {}}
        for an, a in actors.items():
            evs = a.take()
            if evs:
                rec["events"][an] = [names.norm(e) for e in evs]
        log.append(rec)

    for n in ("mod", "alice", "bob", "sub"):
        actors[n] = Actor(http, names, n)
    mod, alice, bob, sub = (actors[n] for n in ("mod", "alice", "bob", "sub"))

    async def join(a):
        d, _ = await a.req({"request": "join", "room": ROOM, "ptype": "publisher",
                            "display": a.name})
        names.add(d.get("id"), "F:" + a.name)

    async def sub_join():
        _, jsep = await sub.req({"request": "join", "room": ROOM, "ptype": "subscriber",
                                 "streams": [{"feed": names.id_of("F:alice")}]})
        await vr_answer(sub, jsep)
        await sub.poller.wait(lambda e: e.get("janus") == "webrtcup", 15 * SLOW)

    async def renegotiate(body):
        _, jsep = await sub.req(body)
        if jsep:
            await vr_answer(sub, jsep)

    await step("create", mod.req({"request": "create", "room": ROOM, "publishers": 6}))
    await step("alice joins", join(alice))
    await step("bob joins", join(bob))
    await step("alice publishes", vr_publish(alice))
    await step("bob publishes", vr_publish(bob))
    await step("sub joins alice and starts", sub_join(), settle=2.5)
    await step("sub configure send false", sub.req({"request": "configure",
                                                    "streams": [{"mid": "1", "send": False}]}))
    await step("sub configure send true", sub.req({"request": "configure",
                                                   "streams": [{"mid": "1", "send": True}]}))
    await step("alice configure bitrate", alice.req({"request": "configure",
                                                     "bitrate": 256000}))
    await step("alice configure display", alice.req({"request": "configure",
                                                     "display": "alice2"}))
    await step("alice configure mid send false", alice.req(
        {"request": "configure", "streams": [{"mid": "1", "send": False}]}))
    await step("alice configure mid send true", alice.req(
        {"request": "configure", "streams": [{"mid": "1", "send": True}]}))
    await step("sub switches mid 1 to bob", sub.req(
        {"request": "switch", "streams": [{"feed": names.id_of("F:bob"), "mid": "1",
                                           "sub_mid": "1"}]}))
    await step("sub pause", sub.req({"request": "pause"}))
    await step("sub start", sub.req({"request": "start"}))
    await step("sub subscribes bob's audio", renegotiate(
        {"request": "subscribe", "streams": [{"feed": names.id_of("F:bob"), "mid": "0"}]}))
    await step("sub unsubscribes sub_mid 2", renegotiate(
        {"request": "unsubscribe", "streams": [{"sub_mid": "2"}]}))
    await step("alice unpublishes", alice.req({"request": "unpublish"}), settle=2.5)
    await step("alice publishes again", vr_publish(alice), settle=2.5)
    await step("alice hangs up", alice.core("hangup"), settle=2.5)
    await step("bob leaves", bob.req({"request": "leave"}), settle=2.5)
    await step("mod kicks alice", mod.req({"request": "kick", "room": ROOM,
                                           "id": names.id_of("F:alice")}), settle=2.5)
    await step("listparticipants", mod.req({"request": "listparticipants", "room": ROOM}))
    await step("mod destroys the room", mod.req({"request": "destroy", "room": ROOM}),
               settle=2.5)
    await step("sub detaches", sub.core("detach"))
    for a in actors.values():
        await a.close()
    return log


# Differences kept on purpose (docs/events.md): (step, actor) -> (drop from ours, drop
# from theirs), matched on the normalised event.
def _vr_ev(actor, data=None, **core):
    e = {"janus": "event" if data is not None else core.pop("janus"), "sender": "<H:%s>" % actor,
         "session_id": "<S:%s>" % actor}
    if data is not None:
        e["plugindata"] = {"plugin": "janus.plugin.videoroom", "data": data}
    e.update(core)
    return e


VR_KNOWN = {
    # The reference announces an unpublish twice to the others (the request, then its own
    # hangup of the PeerConnection); once is enough.
    ("alice unpublishes", "bob"): ([], [_vr_ev("bob", {"videoroom": "event", "room": ROOM,
                                                       "unpublished": "<F:alice>"})]),
    # A publisher that leaves: we close its PeerConnection (it can publish nothing more on
    # that handle); the reference leaves it up until the client hangs up.
    ("bob leaves", "bob"): ([_vr_ev("bob", janus="hangup", reason="Close PC")], []),
    # A room destroyed: its subscribers are told and their PeerConnections closed too; the
    # reference tells only the participants (publishers) still in it.
    ("mod destroys the room", "sub"): ([
        _vr_ev("sub", {"videoroom": "destroyed", "room": ROOM}),
        _vr_ev("sub", janus="hangup", reason="Close PC")], []),
    # A detach with a PeerConnection up: the reference sometimes gets a hangup "Detach" out
    # before the handle goes (a race of its own); here a detach is "detached" alone.
    ("sub detaches", "sub"): ([], [_vr_ev("sub", janus="hangup", reason="Detach")]),
}


def vr_checks(tap, ours, theirs):
    check_eq([r["step"] for r in ours], [r["step"] for r in theirs], "steps")
    for a, b in zip(ours, theirs):
        with tap.case("videoroom %s: every client's events as the reference's" % a["step"]):
            check(a["error"] is None, "ours failed: %s" % a["error"])
            check(b["error"] is None, "the reference failed: %s" % b["error"])
            problems = []
            for actor in sorted(set(a["events"]) | set(b["events"])):
                mine, ref = list(a["events"].get(actor, [])), list(b["events"].get(actor, []))
                drop_mine, drop_ref = VR_KNOWN.get((a["step"], actor), ([], []))
                for e in drop_mine:
                    check(e in mine, "%s: the known difference %s is gone from ours: update "
                          "VR_KNOWN and docs/events.md" % (actor, text(e)))
                    mine.remove(e)
                for e in drop_ref:
                    if e in ref:
                        ref.remove(e)
                only_a, only_b = multiset_diff(mine, ref)
                if only_a or only_b:
                    problems.append("%s:\n  only ours:   %s\n  only theirs: %s" % (
                        actor, "\n               ".join(only_a),
                        "\n               ".join(only_b)))
            check(not problems, "\n".join(problems))


# ---- main -----------------------------------------------------------------------------------

def media_part(tap, builddir):
    ours_echo, theirs_echo = {}, {}
    with netns.Lab() as lab:
        peer = lab.namespace("veth-peer")
        link = netns.veth(netns.own(), peer, "198.18.61.1/24", "198.18.61.2/24")
        local_addresses(["198.18.61.1"])
        srv = Server(builddir, http_port=OURS_PORT, name="compat", ws=False)
        try:
            http = Http(OURS_PORT, timeout=40)
            for flow in ECHO_FLOWS:
                ours_echo[flow] = asyncio.run(echo_flow(http, flow))
            ours_vr = asyncio.run(vr_flow(http))
        finally:
            stop_and_report(tap, srv, "media: clean shutdown, no sanitizer report")
        ref = JanusRef(REF_PORT, enforce=link.name_a)
        try:
            http = Http(REF_PORT, timeout=40)
            for flow in ECHO_FLOWS:
                theirs_echo[flow] = asyncio.run(echo_flow(http, flow))
            theirs_vr = asyncio.run(vr_flow(http))
        finally:
            ref.stop()
    echo_checks(tap, ours_echo, theirs_echo)
    vr_checks(tap, ours_vr, theirs_vr)


def main():
    tap = Tap("compat-events")
    builddir = builddir_from_argv()
    if os.environ.get("SB_TEST_SANITIZED"):
        # A comparison with the reference, run in the plain build; under ASan it would only
        # repeat flows the other suites run there (EchoTest, VideoRoom, long-polls), 3 min.
        tap.result("skipped in the sanitizer build: the plain build compares with the "
                   "reference", True)
        tap.exit()
    if not os.path.exists("/usr/bin/janus"):
        tap.result("Debian's janus is installed (apt-get install janus)", False)
        tap.exit()
    started = time.time()
    http_part(tap, builddir)
    media_part(tap, builddir)
    tap.note("took %.0f s" % (time.time() - started))
    tap.exit()


if __name__ == "__main__":
    main()
