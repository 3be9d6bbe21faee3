"""Data channels of the TextRoom and of the VideoRoom with Debian's janus.js (unchanged) in
headless Chromium: one browser, one page (web/data_janusjs.html) in which every participant
has a Janus session of its own (HTTP long-poll or WebSocket) and its own PeerConnections,
driven step by step through lib/pagerpc.py. The rooms are the shipped ones (room 1234 of
conf/janus.plugin.textroom.conf and conf/janus.plugin.videoroom.conf).

TextRoom, the way janus.js's demo does it: "setup", createAnswer({jsep, tracks: [{type:
'data'}]}), "ack"; janus.js opens JanusDataChannel, requests go out with handle.data() and
everything comes back in ondata. Three users (alice and carol over HTTP, bob over
WebSocket): the offer has one m-line (data); they join room 1234 and each sees the others
join (the success lists who was there); listparticipants; a room-wide message (UTF-8,
quotes, newline) reaches all three with from/date/text; 30 messages sent with ack: false
arrive in order at all three and nothing answers them; a whisper with "to" and one with
"tos" (a user who is not there: false) reach their targets only (a room-wide message behind
each is the fence that proves the others got nothing); errors come back as JSON on the
channel with the transaction (417 no such room, 421 already in the room, 413 missing room,
415 unknown request, 412 bad JSON, 412 binary (ours: the reference drops binary requests
without a word), 422 not in the room, 420 username taken) and
reach nobody else; a leave is seen by the others (and by the leaver), a janus.js hangup
makes the server drop the user from the room (the others get leave); only JanusDataChannel
is ever used, janus.js reports no error.

VideoRoom data: a publisher (WebSocket) publishes audio + data with janus.js (its reliable
JanusDataChannel) and opens an unordered maxRetransmits-0 channel of its own on janus.js's
PeerConnection (handle.webrtcStuff.pc); two subscribers (HTTP, WebSocket) take the data mid
from the "publishers" list of a participant handle, subscribe to that stream only and answer
with createAnswer({jsep, tracks: [{type: 'data'}]}). Checks: the streams lists (data entry,
sources/source_ids); text and binary 1 B to 64 KiB and 200 KiB, and 300 small messages in a
burst, on JanusDataChannel arrive at both subscribers byte for byte and in order on a channel
the server opened, labelled with the publisher's id, protocol = the publisher's label,
reliable and ordered; the unordered channel's messages (paced) arrive on a channel with the
same label, protocol "sb-unordered", ordered false, maxRetransmits 0; janus.js's ondata sees
them all under the publisher's id; a subscriber's own messages go nowhere; no data_dropped.
Figures: setup times, burst times, latency publisher -> subscribers (one page: one clock).
janus.js notes: createAnswer with a data track opens JanusDataChannel from the subscriber
too (the server takes it; what comes on it goes nowhere); janus.js keeps one channel per
label (webrtcStuff.dataChannel), so of the publisher's two channels, which share a label at
the subscriber, handle.data({label}) would reach the latest only; ondata fires for both.

The server's log must have no error or warning. About 8 s (5-12 s seen, 5 s with ASan);
every case was seen failing against a server broken on purpose (a private copy)."""
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import sbchromium  # noqa: E402
from pagerpc import PageError, PageRpc  # noqa: E402
from sbtest import HTTP_PORT, WS_PORT, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PAGE = "data_janusjs.html"
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0
HTTP = "http://127.0.0.1:%d/janus" % HTTP_PORT
WS = "ws://127.0.0.1:%d" % WS_PORT
ROOM = 1234
DC = "JanusDataChannel"
UNORDERED = "sb-unordered"
MAX_MESSAGE = 262144
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
SIZES = [1, 100, 1024, 16384, 65536]
BIG = [200 * 1024]
SEQ = 300
UNORDERED_SIZES = [1, 100, 1024, 8192]


def err(code, text, tx=None):
    e = {"textroom": "error", "error_code": code, "error": text}
    if tx is not None:
        e["transaction"] = tx
    return e


class Users:
    """The TextRoom users of the page: send JSON on their channel, take what came."""

    def __init__(self, page):
        self.page = page

    def send(self, name, obj=None, raw=None, binary=None):
        arg = {"name": name}
        if raw is not None:
            arg["raw"] = raw
        elif binary is not None:
            arg["binary"] = list(binary)
        else:
            arg["obj"] = obj
        self.page.call("sbTrSend", arg, timeout=10)

    def take(self, name, tx=None, count=0, until=None, wait=5.0):
        """Every message the user got (after waiting for tx / count / until), as JSON,
        after checking each came on JanusDataChannel."""
        got = self.page.call("sbTrTake", {"name": name, "tx": tx, "count": count,
                                          "until": until, "waitMs": int(wait * 1000 * SLOW)},
                             timeout=20 * SLOW)
        check(all(m["label"] == DC for m in got),
              "%s: messages on other channels than %s: %r" % (name, DC, got))
        return [m["msg"] for m in got]

    def fence(self, sender, names, text):
        """A room-wide message with ack: false: everyone's next message (the test checks what
        came before it). Returns {name: [messages before the fence]}."""
        self.send(sender, {"textroom": "message", "room": ROOM, "text": text, "ack": False,
                           "transaction": "fence-" + text})
        out = {}
        for n in names:
            got = self.take(n, until=text)
            check(got and got[-1].get("text") == text,
                  "%s: the fence message %r is not the last one: %r" % (n, text, got))
            out[n] = got[:-1]
        return out


def no_dates(msgs):
    """Messages with their date checked and taken out (it changes every second)."""
    out = []
    for m in msgs:
        m = dict(m)
        if "date" in m:
            check(DATE.match(m["date"]), "date format: %r" % m)
            m["date"] = "<date>"
        out.append(m)
    return out


def ev_join(name, display=None):
    ev = {"textroom": "join", "room": ROOM, "username": name}
    if display:
        ev["display"] = display
    return ev


def ev_leave(name):
    return {"textroom": "leave", "room": ROOM, "username": name}


def textroom(tap, page):
    u = Users(page)
    a, b, c = "alice", "bob", "carol"
    transports = {a: HTTP, b: WS, c: HTTP}
    ok = {"up": False}

    with tap.case("textroom: three janus.js users: setup, createAnswer with tracks "
                  "[{type: 'data'}], ack; JanusDataChannel opens (alice, carol over HTTP, "
                  "bob over WebSocket)"):
        for name in (a, b, c):
            r = page.call("sbTrConnect", {"name": name, "server": transports[name]},
                          timeout=30 * SLOW)
            offer_m = [ln for ln in r["offer"].splitlines() if ln.startswith("m=")]
            answer_m = [ln for ln in r["answer"].splitlines() if ln.startswith("m=")]
            tap.note("textroom %s: session %.0f ms, setup->offer %.0f ms, setup->channel open "
                     "%.0f ms; offer %s, answer %s" % (name, r["sessionMs"], r["offerMs"],
                                                       r["openMs"], offer_m, answer_m))
            check_eq(r["label"], DC, "%s: ondataopen label" % name)
            check_eq(len(offer_m), 1, "%s: m-lines in the plugin's offer" % name)
            check(offer_m[0].startswith("m=application ") and
                  offer_m[0].endswith("webrtc-datachannel"), "offer: %r" % offer_m)
            check("a=sctp-port:5000" in r["offer"], "offer: a=sctp-port")
            check_eq(len(answer_m), 1, "%s: m-lines in janus.js's answer" % name)
            check(answer_m[0].startswith("m=application ") and answer_m[0].split()[1] != "0",
                  "janus.js accepted the data m-line: %r" % answer_m)
        ok["up"] = True
    if not ok["up"]:
        return

    with tap.case("textroom: all three join room 1234 and see the others join; the success "
                  "lists who was there"):
        u.send(a, {"textroom": "join", "room": ROOM, "username": a, "display": "Alice \u2713",
                   "transaction": "j-a"})
        check_eq(u.take(a, tx="j-a"), [
            ev_join(a, "Alice \u2713"),
            {"textroom": "success", "participants": [], "transaction": "j-a"}], a)
        u.send(b, {"textroom": "join", "room": ROOM, "username": b, "display": "Bob",
                   "transaction": "j-b"})
        check_eq(u.take(b, tx="j-b"), [
            ev_join(b, "Bob"),
            {"textroom": "success", "participants": [{"username": a, "display": "Alice \u2713"}],
             "transaction": "j-b"}], b)
        check_eq(u.take(a, count=1), [ev_join(b, "Bob")], "alice sees bob")
        u.send(c, {"textroom": "join", "room": ROOM, "username": c, "transaction": "j-c"})
        got = u.take(c, tx="j-c")
        check_eq(len(got), 2, "carol: her join and the success: %r" % got)
        check_eq(got[0], ev_join(c), "carol's own join event")
        parts = sorted(got[1].get("participants", []), key=lambda p: p["username"])
        check_eq(dict(got[1], participants=parts), {
            "textroom": "success", "transaction": "j-c",
            "participants": [{"username": a, "display": "Alice \u2713"},
                             {"username": b, "display": "Bob"}]}, "carol's success")
        for n in (a, b):
            check_eq(u.take(n, count=1), [ev_join(c)], "%s sees carol" % n)

    with tap.case("textroom: listparticipants over the channel lists the three"):
        u.send(c, {"textroom": "listparticipants", "room": ROOM, "transaction": "lp1"})
        got = u.take(c, tx="lp1")
        check_eq(len(got), 1, "one reply: %r" % got)
        parts = sorted(got[0].get("participants", []), key=lambda p: p["username"])
        check_eq(dict(got[0], participants=parts), {
            "room": ROOM, "transaction": "lp1",
            "participants": [{"username": a, "display": "Alice \u2713"},
                             {"username": b, "display": "Bob"}, {"username": c}]},
            "listparticipants")

    text = "h\u00e9llo \u20ac \U0001F600 \"quoted\" \\ back\nslash \u00a0end"
    with tap.case("textroom: a room-wide message reaches all three (the sender too) with "
                  "from, date and the text as sent"):
        u.send(a, {"textroom": "message", "room": ROOM, "text": text, "transaction": "m1"})
        want = {"textroom": "message", "room": ROOM, "from": a, "date": "<date>", "text": text}
        got = no_dates(u.take(a, tx="m1", count=2))
        check_eq(sorted(got, key=lambda m: m["textroom"]),
                 [want, {"textroom": "success", "transaction": "m1"}], "alice")
        for n in (b, c):
            check_eq(no_dates(u.take(n, count=1)), [want], n)

    with tap.case("textroom: 30 messages with ack: false arrive at all three in order, "
                  "nothing answers them"):
        texts = ["n%02d %s" % (i, "\u00e9" * i) for i in range(30)]
        t0 = time.time()
        page.call("sbTrSendMany", {"name": b, "objs": [
            {"textroom": "message", "room": ROOM, "text": t, "ack": False,
             "transaction": "q%d" % i} for i, t in enumerate(texts)]}, timeout=10)
        for n in (a, b, c):
            got = u.take(n, until=texts[-1])
            check_eq([(m.get("textroom"), m.get("from"), m.get("text")) for m in got],
                     [("message", b, t) for t in texts], "%s: the 30 in order" % n)
        tap.note("textroom: 30 messages at three users in %.0f ms" % ((time.time() - t0) * 1000))

    with tap.case("textroom: a whisper with 'to' reaches its target only (whisper: true); "
                  "one with 'tos' too (an absent name: false)"):
        u.send(c, {"textroom": "message", "room": ROOM, "text": "psst alice", "to": a,
                   "transaction": "w1"})
        check_eq(u.take(c, tx="w1"), [{"textroom": "success", "sent": {a: True},
                                       "transaction": "w1"}], "carol's reply")
        before = u.fence(c, (a, b, c), "fence-1")
        check_eq(no_dates(before[a]), [{"textroom": "message", "room": ROOM, "from": c,
                                        "date": "<date>", "text": "psst alice",
                                        "whisper": True}], "alice got the whisper")
        check_eq(before[b], [], "bob got nothing before the fence")
        check_eq(before[c], [], "carol (the sender) got no copy")
        u.send(a, {"textroom": "message", "room": ROOM, "text": "to bob", "tos": [b, "nobody"],
                   "transaction": "w2"})
        check_eq(u.take(a, tx="w2"), [{"textroom": "success", "sent": {b: True, "nobody": False},
                                       "transaction": "w2"}], "alice's reply")
        before = u.fence(a, (a, b, c), "fence-2")
        check_eq([(m["from"], m["text"], m.get("whisper")) for m in before[b]],
                 [(a, "to bob", True)], "bob got the whisper")
        check_eq(before[a] + before[c], [], "alice and carol got nothing before the fence")

    with tap.case("textroom: errors come back as JSON on the channel, with the transaction "
                  "(417, 421, 413, 415, 412 bad JSON, 412 binary), to the sender only"):
        cases = [
            ({"textroom": "join", "room": 4321, "username": "zed", "transaction": "e1"},
             err(417, "No such room (4321)", "e1")),
            ({"textroom": "join", "room": ROOM, "username": "carol2", "transaction": "e2"},
             err(421, "Already in room %d" % ROOM, "e2")),
            ({"textroom": "message", "text": "where?", "transaction": "e3"},
             err(413, "Missing mandatory element (room)", "e3")),
            ({"textroom": "dance", "room": ROOM, "transaction": "e4"},
             err(415, "Unsupported request dance", "e4")),
        ]
        for obj, want in cases:
            u.send(c, obj)
            check_eq(u.take(c, tx=obj["transaction"]), [want], obj["transaction"])
        u.send(c, raw="{not json")
        got = u.take(c, count=1)
        check(len(got) == 1 and got[0].get("textroom") == "error" and
              got[0].get("error_code") == 412 and got[0]["error"].startswith("JSON error") and
              "transaction" not in got[0], "bad JSON: %r" % got)
        u.send(c, binary=b'{"textroom":"list","transaction":"bin"}')
        got = u.take(c, count=1)
        check(len(got) == 1 and got[0].get("textroom") == "error" and
              got[0].get("error_code") == 412, "a binary request: %r" % got)
        before = u.fence(c, (a, b, c), "fence-3")
        check_eq(before, {a: [], b: [], c: []}, "nobody else got anything before the fence")

    with tap.case("textroom: carol leaves: all three get the leave; then she is refused "
                  "(422 not in the room, 420 username taken)"):
        u.send(c, {"textroom": "leave", "room": ROOM, "transaction": "x1"})
        check_eq(u.take(c, tx="x1"), [ev_leave(c), {"textroom": "success", "transaction": "x1"}],
                 "carol")
        for n in (a, b):
            check_eq(u.take(n, count=1), [ev_leave(c)], "%s sees carol leave" % n)
        u.send(c, {"textroom": "message", "room": ROOM, "text": "still here?",
                   "transaction": "x2"})
        check_eq(u.take(c, tx="x2"), [err(422, "Not in room %d" % ROOM, "x2")], "message")
        u.send(c, {"textroom": "join", "room": ROOM, "username": a, "transaction": "x3"})
        check_eq(u.take(c, tx="x3"), [err(420, "Username already taken", "x3")], "join as alice")
        before = u.fence(a, (a, b), "fence-4")
        check_eq(before, {a: [], b: []}, "alice and bob got nothing of carol's errors")
        check_eq(u.take(c, wait=0.05), [], "carol, out of the room, got no room message")

    with tap.case("textroom: bob's janus.js hangs up: the server takes him out of the room, "
                  "alice gets his leave"):
        page.call("sbTrHangup", {"name": b}, timeout=10)
        check_eq(u.take(a, count=1, wait=5), [ev_leave(b)], "alice")
        u.send(a, {"textroom": "listparticipants", "room": ROOM, "transaction": "lp2"})
        check_eq(u.take(a, tx="lp2"), [{"room": ROOM, "participants": [
            {"username": a, "display": "Alice \u2713"}], "transaction": "lp2"}], "alice")

    with tap.case("textroom: janus.js's view: one channel each (JanusDataChannel), every "
                  "message in ondata, no janus.js error, pc.sctp.maxMessageSize %d"
                  % MAX_MESSAGE):
        for n in (a, b, c):
            st = page.call("sbUserState", {"name": n}, timeout=10)
            check_eq([d["label"] for d in st["dataopen"]], [DC], "%s: ondataopen" % n)
            check_eq(sorted(st["ondataCount"]), [DC], "%s: ondata labels" % n)
            check(not st["errors"], "%s: %r" % (n, st["errors"]))
            check(not [e for e in st["events"] if e.get("error")], "%s: plugin errors: %r"
                  % (n, st["events"]))
            if n != b:
                check_eq(st["sctp"], {"state": "connected", "maxMessageSize": MAX_MESSAGE},
                         "%s: pc.sctp" % n)
        tap.note("textroom: ondata calls %s" % {
            n: page.call("sbUserState", {"name": n}, timeout=10)["ondataCount"][DC]
            for n in (a, b, c)})


def short(items, n=40, start=0):
    """A list for a failure message: n items from start."""
    items = list(items)
    return "[%s%s%s]" % ("... %d before, " % start if start else "",
                         ", ".join(map(str, items[start:start + n])),
                         ", ... (%d in all)" % len(items) if len(items) > start + n else "")


def digests(sent):
    return [(m["kind"], m["len"], m["h"]) for m in sent]


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def videoroom(tap, page):
    pub, subs = "publisher", ("sub1", "sub2")
    transports = {pub: WS, "sub1": HTTP, "sub2": WS}
    st = {}

    with tap.case("videoroom: janus.js publishes audio + data (JanusDataChannel) and the page "
                  "opens an unordered maxRetransmits-0 channel on its PeerConnection"):
        r = page.call("sbVrPublish", {"name": pub, "server": transports[pub], "room": ROOM,
                                      "display": "dc publisher", "unorderedLabel": UNORDERED,
                                      "waitMs": int(10000 * SLOW)}, timeout=40 * SLOW)
        st["pub"] = r
        answer_m = [ln for ln in (r["answer"] or "").splitlines() if ln.startswith("m=")]
        tap.note("videoroom publisher %s: offer->answer %.0f ms, up in %.0f ms, channels open "
                 "in %.0f ms; answer %s; streams %s" % (
                     r["id"], r["answerMs"], r["upMs"], r["openMs"], answer_m,
                     r["configured"].get("streams")))
        tap.note("videoroom publisher channels: %s, %s" % (r["janusChannel"], r["unordered"]))
        check_eq([m.split()[0] for m in answer_m], ["m=audio", "m=application"],
                 "answer m-lines")
        check(all(m.split()[1] != "0" for m in answer_m), "nothing rejected: %r" % answer_m)
        data = [s for s in r["configured"].get("streams", []) if s.get("type") == "data"]
        check_eq(data, [{"type": "data", "mindex": 1, "mid": "1"}],
                 "the data entry of the configured streams")
        check_eq((r["unordered"]["ordered"], r["unordered"]["maxRetransmits"],
                  r["unordered"]["readyState"]), (False, 0, "open"), "the unordered channel")
    if "pub" not in st:
        return
    feed = st["pub"]["id"]
    label = str(feed)

    with tap.case("videoroom: two subscribers (HTTP, WebSocket) take the data mid from the "
                  "publishers list, subscribe to it alone and answer with janus.js"):
        for n in subs:
            r = page.call("sbVrSubscribe", {"name": n, "server": transports[n], "room": ROOM,
                                            "feed": feed, "waitMs": int(10000 * SLOW)},
                          timeout=40 * SLOW)
            st[n] = r
            offer_m = [ln for ln in r["offer"].splitlines() if ln.startswith("m=")]
            answer_m = [ln for ln in r["answer"].splitlines() if ln.startswith("m=")]
            tap.note("videoroom %s: join->offer %.0f ms, up in %.0f ms, JanusDataChannel open "
                     "in %.0f ms; offer %s, answer %s; attached streams %s" % (
                         n, r["offerMs"], r["upMs"], r["openMs"], offer_m, answer_m,
                         r["attached"].get("streams")))
            check_eq([s for s in r["publisherEntry"]["streams"] if s["type"] == "data"],
                     [{"type": "data", "mindex": 1, "mid": "1"}],
                     "%s: the data entry of the publishers list" % n)
            check_eq(r["dataMid"], "1", "%s: data mid" % n)
            check_eq(len(offer_m), 1, "%s: one m-line offered: %r" % (n, offer_m))
            check(offer_m[0].startswith("m=application ") and
                  offer_m[0].endswith("webrtc-datachannel"), "offer: %r" % offer_m)
            check_eq(len(answer_m), 1, "%s: answer m-lines" % n)
            check(answer_m[0].split()[1] != "0", "janus.js accepted it: %r" % answer_m)
            entry = [s for s in r["attached"].get("streams", []) if s.get("type") == "data"]
            check(len(entry) == 1 and entry[0].get("sources") == 1 and
                  entry[0].get("source_ids") == [feed], "%s: attached streams: %r"
                  % (n, r["attached"].get("streams")))
    if any(n not in st for n in subs):
        return

    def received(n, protocol=None, want=0, take=True, settle=0.0):
        return page.call("sbVrReceived", {"name": n, "protocol": protocol, "want": want,
                                          "take": take, "waitMs": int(8000 * SLOW),
                                          "settleMs": int(settle * 1000)}, timeout=30 * SLOW)

    def all_received(**kw):
        """Every subscriber's channels and messages (taken), before any is judged: a failure
        at one leaves nothing behind for the next case."""
        return {n: received(n, **kw) for n in subs}

    def each(fn):
        """fn(n) for every subscriber, all of them even when one fails."""
        errors = []
        for n in subs:
            try:
                fn(n)
            except AssertionError as e:
                errors.append(str(e))
        check(not errors, "\n".join(errors))

    def send(channel, msgs=None, seq=0, pace=0):
        return page.call("sbVrSend", {"name": pub, "channel": channel, "msgs": msgs or [],
                                      "seq": seq, "paceMs": pace}, timeout=30 * SLOW)

    def judge(n, chans, sent, protocol, ordered, what):
        """The messages of one burst at subscriber n, on the channel of that protocol."""
        mine = [ch for ch in chans if ch["info"]["protocol"] == protocol]
        check_eq(len(mine), 1, "%s, %s: channels with protocol %r: %r"
                 % (n, what, protocol, [ch["info"] for ch in chans]))
        ch = mine[0]
        check_eq(ch["info"]["label"], label, "%s: the channel's label (the publisher's id)" % n)
        others = [(ch2["info"]["protocol"], len(ch2["msgs"])) for ch2 in chans
                  if ch2 is not ch and ch2["msgs"]]
        check(not others, "%s, %s: messages on other channels: %r" % (n, what, others))
        got = digests(ch["msgs"])
        want = digests(sent)
        kinds = {}
        for k, _, _ in got:
            kinds[k] = kinds.get(k, 0) + 1
        if ordered:
            if got != want:
                bad = [i for i in range(max(len(got), len(want)))
                       if i >= len(got) or i >= len(want) or got[i] != want[i]]
                index = {d: i for i, d in enumerate(want)}
                raise AssertionError("%s, %s: %d sent, %d arrived (%r); first mismatch at #%d: "
                                     "got %r, sent %r; what arrived, as indexes of what was "
                                     "sent (-1: not sent): %s" % (
                                         n, what, len(want), len(got), kinds, bad[0],
                                         got[bad[0]] if bad[0] < len(got) else None,
                                         want[bad[0]] if bad[0] < len(want) else None,
                                         short([index.get(d, -1) for d in got],
                                               start=max(0, bad[0] - 5))))
        else:
            check_eq(sorted(got), sorted(want), "%s, %s: the messages (in any order)" % (n, what))
        return [m["t"] - s["t"] for m, s in zip(ch["msgs"], sent)] if ordered else \
            [min(m["t"] for m in ch["msgs"] if (m["kind"], m["len"], m["h"]) == k) - s["t"]
             for s, k in zip(sent, want)]

    reliable_info = {}
    with tap.case("videoroom: text and binary, 1 B to 64 KiB (x2) then 200 KiB, on "
                  "JanusDataChannel (handle.data): both subscribers get them byte for byte, "
                  "in order, on a channel labelled with the publisher's id (protocol "
                  "JanusDataChannel, reliable, ordered)"):
        msgs = [{"kind": k, "len": n, "seed": 100 * r + i}
                for r in range(2) for i, n in enumerate(SIZES) for k in ("text", "binary")]
        sent = send("janus", msgs)
        sent += send("janus", [{"kind": k, "len": n, "seed": 900 + i}
                               for i, n in enumerate(BIG) for k in ("text", "binary")])
        total = sum(m["len"] for m in sent)
        got = all_received(protocol=DC, want=len(sent))

        def one(n):
            chans = got[n]
            lat = judge(n, chans, sent, DC, True, "the reliable burst")
            info = [ch["info"] for ch in chans if ch["info"]["protocol"] == DC][0]
            reliable_info[n] = info
            check_eq((info["ordered"], info["maxRetransmits"], info["maxPacketLifeTime"],
                      info["readyState"]), (True, None, None, "open"),
                     "%s: the channel's properties (reliable, ordered)" % n)
            tap.note("videoroom %s: %d messages, %.0f KiB, last after %.0f ms; channel %s" % (
                n, len(sent), total / 1024.0, max(lat), info))
        each(one)

    with tap.case("videoroom: %d small messages in a burst on JanusDataChannel arrive in "
                  "order at both" % SEQ):
        sent = send("janus", seq=SEQ)
        got = all_received(protocol=DC, want=len(sent))

        def one(n):
            lat = judge(n, got[n], sent, DC, True, "the %d-message burst" % SEQ)
            tap.note("videoroom %s: %d messages, last after %.0f ms" % (n, SEQ, max(lat)))
        each(one)

    with tap.case("videoroom: paced messages on JanusDataChannel: latency publisher -> "
                  "subscriber"):
        sent = send("janus", [{"kind": "text", "len": 100, "seed": 5000 + i}
                              for i in range(20)], pace=10)
        got = all_received(protocol=DC, want=len(sent))

        def one(n):
            lat = judge(n, got[n], sent, DC, True, "paced")
            tap.note("videoroom %s: reliable latency p50 %.2f ms, max %.2f ms (20 x 100 B, "
                     "10 ms apart)" % (n, statistics.median(lat), max(lat)))
        each(one)

    with tap.case("videoroom: the unordered channel's text and binary (paced) arrive at both "
                  "on a channel with the same label, protocol %r, ordered false, "
                  "maxRetransmits 0" % UNORDERED):
        msgs = [{"kind": k, "len": n, "seed": 3000 + 10 * r + i}
                for r in range(3) for i, n in enumerate(UNORDERED_SIZES)
                for k in ("text", "binary")]
        sent = send("unordered", msgs, pace=5)
        got = all_received(protocol=UNORDERED, want=len(sent))

        def one(n):
            chans = got[n]
            lat = judge(n, chans, sent, UNORDERED, False, "the unordered channel")
            info = [ch["info"] for ch in chans if ch["info"]["protocol"] == UNORDERED][0]
            tap.note("videoroom %s: unordered latency p50 %.2f ms, max %.2f ms; channel %s" % (
                n, statistics.median(lat), max(lat), info))
            check_eq((info["ordered"], info["maxRetransmits"], info["maxPacketLifeTime"],
                      info["readyState"]), (False, 0, None, "open"),
                     "%s: the channel's properties" % n)
            check(info["id"] != reliable_info.get(n, {}).get("id"),
                  "%s: a stream of its own (%r)" % (n, info))
        each(one)

    with tap.case("videoroom: a subscriber's own messages on its JanusDataChannel go nowhere"):
        page.call("sbVrSubSend", {"name": "sub1", "text": "from sub1"}, timeout=10)
        page.call("sbVrSubSend", {"name": "sub2", "text": "from sub2"}, timeout=10)
        time.sleep(0.2)
        sent = send("janus", [{"text": "fence"}])
        got = all_received(want=1, settle=0.1)
        each(lambda n: check_eq([(ch["info"]["protocol"], m["len"]) for ch in got[n]
                                 for m in ch["msgs"]], [(DC, 5)],
                                "%s: only the publisher's fence" % n))
        s = page.call("sbVrState", {"name": pub}, timeout=10)
        check_eq((s["ondataCount"], short(s["inbox"])), ({}, "[]"), "the publisher got nothing")

    with tap.case("videoroom: janus.js's view: ondataopen for JanusDataChannel and the "
                  "publisher's id, every message in ondata under the publisher's id; no "
                  "data_dropped, no error"):
        want = 2 * len(SIZES) * 2 + 2 * len(BIG) + SEQ + 20 + \
            3 * len(UNORDERED_SIZES) * 2 + 1
        for n in subs:
            s = page.call("sbVrState", {"name": n}, timeout=10)
            tap.note("videoroom %s: ondataopen %s; ondata %s" % (
                n, [d["label"] for d in s["dataopen"]], s["ondataCount"]))
            check_eq(sorted(set(d["label"] for d in s["dataopen"])), sorted([DC, label]),
                     "%s: ondataopen labels" % n)
            check_eq(s["ondataCount"], {label: want}, "%s: ondata by label" % n)
            check(not s["errors"], "%s: %r" % (n, s["errors"]))
            bad = [e for e in s["events"] if e.get("error") or "data_dropped" in e]
            check(not bad, "%s: events %r" % (n, bad))
            check_eq(s["sctp"], {"state": "connected", "maxMessageSize": MAX_MESSAGE},
                     "%s: pc.sctp" % n)
            check_eq(s["hangups"], [], "%s: hangups" % n)
        s = page.call("sbVrState", {"name": pub}, timeout=10)
        check(not s["errors"] and not s["hangups"], "publisher: %r" % s)


def server_log_problems(log_path):
    with open(log_path, errors="replace") as fh:
        return [ln for ln in fh.read().splitlines() if re.match(r"^\S+ (error|warn) ", ln)]


def main():
    tap = Tap("data-janusjs-chromium")
    why = sbchromium.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    html = tempfile.mkdtemp(prefix="sb-dj-html-")
    for f in (os.path.join(HERE, "web", PAGE), sbchromium.JANUS_JS, sbchromium.ADAPTER_JS):
        shutil.copy(f, html)
    conf = tempfile.mkdtemp(prefix="sb-dj-conf-")
    for f in ("janus.plugin.textroom.conf", "janus.plugin.videoroom.conf"):
        shutil.copy(os.path.join(REPO, "conf", f), conf)
    t0 = time.time()
    server = Server(builddir_from_argv(), html_folder=html, name="data-janusjs-chromium",
                    args=["--configs-folder", conf])
    page = None
    try:
        with tap.case("the page loads in Chromium"):
            page = PageRpc("http://127.0.0.1:%d/%s" % (HTTP_PORT, PAGE))
            tap.note("browser %s, up in %.1f s" % (page.browser_version, time.time() - t0))
        if page:
            try:
                textroom(tap, page)
                videoroom(tap, page)
            except PageError as e:
                tap.result("the page answered", False, str(e))
            if tap.failed:
                tap.note("the page's console, last lines:\n" + "\n".join(page.logs()[-30:]))
        with tap.case("the server log has no error or warning"):
            bad = server_log_problems(server.log_path)
            check(not bad, "\n".join(bad[:20]))
    finally:
        if page:
            page.close()
        stop_and_report(tap, server)
        shutil.rmtree(html, ignore_errors=True)
        shutil.rmtree(conf, ignore_errors=True)
        tap.note("%.1f s in all" % (time.time() - t0))
    tap.exit()


if __name__ == "__main__":
    main()
