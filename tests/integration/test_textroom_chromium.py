"""The TextRoom with janus.js (Debian's libjs-janus-gateway, unchanged) in headless Chromium,
used the way the TextRoom demo uses it: "setup", createAnswer({jsep, tracks: [{type:
'data'}]}), "ack", then JSON over handle.data() on JanusDataChannel. Two users of one page
join room 1234, see each other join, exchange a room-wide message and a whisper, list the
rooms, and one leaves; the other hangs up and sets up again on the same handle; over HTTP
long-poll and over WebSocket. (test_textroom_aiortc
compares every request with the reference server; this one proves the browser path:
Chromium's SCTP and janus.js's data channel handling.)"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from pagerpc import PageRpc
from sbtest import HTTP_PORT, WS_PORT, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report

HERE = os.path.dirname(os.path.abspath(__file__))
JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0


def messages(got):
    """The JSON of what a user took, after checking it all came on JanusDataChannel."""
    check(all(m["label"] == "JanusDataChannel" for m in got), "channels: %r" % got)
    return [m["msg"] for m in got]


def scenario(tap, page, transport, server_url):
    a, b = "alice-" + transport, "bob-" + transport
    tag = transport + ": "

    def send(name, obj):
        page.call("sbTrSend", {"name": name, "obj": obj}, timeout=10)

    def take(name, tx=None, count=0, settle=0.0):
        return messages(page.call("sbTrTake", {"name": name, "tx": tx, "count": count,
                                               "waitMs": int(5000 * SLOW),
                                               "settleMs": int(settle * 1000)},
                                  timeout=20 * SLOW))

    with tap.case(tag + "janus.js answers the plugin's offer; JanusDataChannel opens"):
        page.call("sbTrInit", {"server": server_url}, timeout=20)
        for name in (a, b):
            r = page.call("sbTrConnect", {"name": name}, timeout=30 * SLOW)
            check_eq(r["label"], "JanusDataChannel", "label")
            check_eq(r["offer"].count("m="), 1, "m-lines in the offer")
            check("m=application" in r["offer"], r["offer"])
    with tap.case(tag + "both join room 1234 and see each other"):
        send(a, {"textroom": "join", "room": 1234, "username": a, "display": "Alice",
                 "transaction": "j1"})
        check_eq(take(a, tx="j1"), [
            {"textroom": "join", "room": 1234, "username": a, "display": "Alice"},
            {"textroom": "success", "participants": [], "transaction": "j1"}], "alice")
        send(b, {"textroom": "join", "room": 1234, "username": b, "transaction": "j2"})
        check_eq(take(b, tx="j2"), [
            {"textroom": "join", "room": 1234, "username": b},
            {"textroom": "success", "participants": [{"username": a, "display": "Alice"}],
             "transaction": "j2"}], "bob")
        check_eq(take(a, count=1), [{"textroom": "join", "room": 1234, "username": b}],
                 "alice sees bob")
    with tap.case(tag + "a room-wide message reaches both, with from, date and text"):
        send(a, {"textroom": "message", "room": 1234, "text": "hi from janus.js \u2713",
                 "transaction": "m1"})
        for name in (a, b):
            got = take(name, tx="m1" if name == a else None, count=1)
            ev = got[0]
            check_eq((ev["textroom"], ev["from"], ev["text"]),
                     ("message", a, "hi from janus.js \u2713"), name)
            check("date" in ev and "whisper" not in ev, ev)
    with tap.case(tag + "a whisper reaches its target only, whisper: true"):
        send(b, {"textroom": "message", "room": 1234, "text": "psst", "to": a,
                 "transaction": "w1"})
        check_eq(take(b, tx="w1"), [{"textroom": "success", "sent": {a: True},
                                     "transaction": "w1"}], "bob")
        got = take(a, count=1)
        check_eq([(m["from"], m["text"], m.get("whisper")) for m in got], [(b, "psst", True)],
                 "alice")
    with tap.case(tag + "list shows room 1234 with its participants"):
        send(a, {"textroom": "list", "transaction": "l1"})
        got = take(a, tx="l1")
        rooms = {r["room"]: r for r in got[-1]["list"]}
        check(rooms[1234]["num_participants"] >= 2, rooms)
    with tap.case(tag + "bob leaves: alice is told"):
        send(b, {"textroom": "leave", "room": 1234, "transaction": "x1"})
        check_eq(take(b, tx="x1")[-1], {"textroom": "success", "transaction": "x1"}, "bob")
        check_eq(take(a, count=1), [{"textroom": "leave", "room": 1234, "username": b}],
                 "alice")
    with tap.case(tag + "alice hangs up, sets up again on the same handle, and is answered"):
        page.call("sbTrHangup", {"name": a}, timeout=10)
        r = page.call("sbTrSetupAgain", {"name": a}, timeout=30 * SLOW)
        check_eq(r["label"], "JanusDataChannel", "label")
        send(a, {"textroom": "listparticipants", "room": 1234, "transaction": "p1"})
        check_eq(take(a, tx="p1"), [{"room": 1234, "participants": [], "transaction": "p1"}],
                 "she left the room with her PeerConnection")


def main():
    tap = Tap("textroom-chromium")
    missing = [f for f in (JANUS_JS, ADAPTER_JS, "/usr/bin/chromium") if not os.path.exists(f)]
    if missing:
        tap.result("browser test prerequisites installed", False, "missing %r" % missing)
        tap.exit()
    site = tempfile.mkdtemp(prefix="sbtest-site-")
    for f in (os.path.join(HERE, "web", "janus_textroom.html"), JANUS_JS, ADAPTER_JS):
        shutil.copy(f, site)
    conf = tempfile.mkdtemp(prefix="sbtest-textroom-conf-")
    with open(os.path.join(conf, "janus.plugin.textroom.conf"), "w") as f:
        f.write('room-1234: { description = "Demo Room"; secret = "adminpwd"; };\n')
    server = Server(builddir_from_argv(), html_folder=site, name="textroom-chromium",
                    args=["--configs-folder", conf])
    try:
        for transport, url in (("http", "http://127.0.0.1:%d/janus" % HTTP_PORT),
                               ("websocket", "ws://127.0.0.1:%d" % WS_PORT)):
            page = PageRpc("http://127.0.0.1:%d/janus_textroom.html" % HTTP_PORT)
            try:
                scenario(tap, page, transport, url)
            finally:
                if tap.failed:
                    tap.note("\n".join(page.logs()[-30:]))
                page.close()
    finally:
        stop_and_report(tap, server)
        shutil.rmtree(site, ignore_errors=True)
        shutil.rmtree(conf, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
