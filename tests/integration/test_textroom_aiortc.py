"""The TextRoom (janus.plugin.textroom) with aiortc data channels, compared with Debian's
janus: three participants set up their PeerConnections ("setup", then "ack" with their
answer; "restart" makes an ICE-restart offer), join rooms, send room-wide messages and whispers ("to", "tos"), get
announcements, kicks, leaves, history, room management over the data channel and over the
API (list, exists, create, edit, destroy, allowed, kick, listparticipants, announcement),
and every error the reference gives (wrong pin, username taken, unknown room, bad
envelopes, unknown requests). The same flow runs against the reference server (which
gathers nothing on loopback: it gets a veth of its own); what each client receives, step
by step, must be the same JSON (dates, random room ids and session ids aside; list orders
sorted), written the same way (3-space indentation), on the same channel ("JanusDataChannel",
opened by the server for a client that has none). A room's HTTP
backend ("post") receives the same bodies from both. Where we differ on purpose
(docs/decisions.md, TextRoom) the cases check our side alone: malformed JSON and binary
messages get an error instead of silence, a "tos" with a non-string (the reference
crashes) gets an error, a name repeated in "tos" gets one copy (the reference one per
mention), "permanent" is never honoured, a new "setup" after a hangup works, texts over
max_text are refused, a "post" outside general.post_allowed is refused (419; with the
shipped configuration, which allows none, every "post" of a request is), and all rooms'
history stays within general.max_history_bytes (the room keeping the most drops its
oldest)."""
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import netns
from janusref import JanusRef
from sbaiortc import Poller, local_addresses, new_pc
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report

REF_PORT = 18091
HOOK_PORT = 18999
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0
GRACE = 0.12 * SLOW  # after a reply: events for the others are on their way
QUIET = 0.35 * SLOW  # when no reply is expected
HOOK = "http://127.0.0.1:%d/hook" % HOOK_PORT

HISTORY_BUDGET = 65536
# The HTTP backend's prefix is allowed, so the flow's "create" with "post" runs as on the
# reference (which allows any).
OUR_CONF = """general: { json = "indented"; max_text = 4096; max_history_bytes = %d;
    post_allowed = [ "http://127.0.0.1:%d/" ]; };
room-1234: { description = "Demo Room"; secret = "adminpwd"; is_private = false; };
""" % (HISTORY_BUDGET, HOOK_PORT)
REF_CONF = """general: { json = "indented" }
room-1234: { description = "Demo Room" secret = "adminpwd" }
"""


# ---- the clients ------------------------------------------------------------------------

class TRClient:
    """A TextRoom participant: a session, a handle, a PeerConnection made from the plugin's
    offer, and the "JanusDataChannel" channel janus.js opens. inbox: (label, message)."""

    def __init__(self, http, name, label="JanusDataChannel"):
        self.http, self.name, self.label = http, name, label
        self.inbox = []
        self.n = 0
        self.server_channels = []

    async def connect(self):
        h = self.http
        self.sid = h.create()
        self.hid = h.attach(self.sid, "janus.plugin.textroom")
        self.poller = Poller(h, self.sid)
        self.task = asyncio.ensure_future(self.poller.run())
        r = await self.message({"request": "setup"}, tx="setup")
        check_eq(r.get("janus"), "ack", "setup reply %r" % r)
        ev = await self.poller.wait(lambda e: e.get("transaction") == "setup", 10 * SLOW)
        self.setup_event = ev
        from aiortc import RTCSessionDescription
        self.pc = new_pc()
        await self.pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "offer"))
        self.ch = self.pc.createDataChannel(self.label)
        opened = asyncio.Event()
        self.ch.on("open", opened.set)
        self.ch.on("message", lambda m: self.inbox.append((self.label, m)))

        @self.pc.on("datachannel")
        def on_channel(ch):
            self.server_channels.append(ch.label)
            ch.on("message", lambda m, label=ch.label: self.inbox.append((label, m)))

        await self.pc.setLocalDescription(await self.pc.createAnswer())
        r = await self.message({"request": "ack"}, tx="ack",
                               jsep={"type": "answer", "sdp": self.pc.localDescription.sdp})
        check_eq(r.get("janus"), "ack", "ack reply %r" % r)
        self.ack_event = await self.poller.wait(lambda e: e.get("transaction") == "ack",
                                                10 * SLOW)
        await self.poller.wait(lambda e: e.get("janus") == "webrtcup", 15 * SLOW)
        await asyncio.wait_for(opened.wait(), 10 * SLOW)

    async def message(self, body, tx="m", jsep=None):
        m = {"janus": "message", "transaction": tx, "body": body}
        if jsep:
            m["jsep"] = jsep
        return await asyncio.to_thread(self.http.post, "/%d/%d" % (self.sid, self.hid), m)

    def send(self, payload):
        """A request (a dict gets a transaction unless it has one), or raw text/bytes."""
        if isinstance(payload, dict):
            payload = dict(payload)
            if "transaction" not in payload:
                self.n += 1
                payload["transaction"] = "%s%d" % (self.name, self.n)
            self.ch.send(json.dumps(payload))
            return payload["transaction"]
        self.ch.send(payload)
        return None

    def has_reply(self, tx):
        for _, m in self.inbox:
            try:
                if isinstance(m, str) and json.loads(m).get("transaction") == tx:
                    return True
            except (ValueError, AttributeError):
                pass
        return False

    def drain(self):
        got, self.inbox = self.inbox, []
        return got

    async def close(self):
        self.poller.stop = True
        self.task.cancel()
        await self.pc.close()


class ApiClient:
    """A handle without a PeerConnection that speaks the plugin's API messages."""

    def __init__(self, http):
        self.http = http
        self.sid = http.create()
        self.hid = http.attach(self.sid, "janus.plugin.textroom")
        self.poller = Poller(http, self.sid)
        self.task = asyncio.ensure_future(self.poller.run())
        self.n = 0

    async def request(self, body):
        """The reply's plugindata.data (at once), or the event answering its "ack"."""
        self.n += 1
        tx = "d%d" % self.n
        r = await asyncio.to_thread(self.http.post, "/%d/%d" % (self.sid, self.hid),
                                    {"janus": "message", "transaction": tx, "body": body})
        if r.get("janus") == "ack":
            ev = await self.poller.wait(lambda e: e.get("transaction") == tx, 10 * SLOW)
            return {"event": ev["plugindata"]["data"], "jsep": "jsep" in ev}
        if r.get("janus") == "success":
            return r["plugindata"]["data"]
        return {"janus-error": r.get("error", {}).get("code")}

    def close(self):
        self.poller.stop = True
        self.task.cancel()


# ---- normalisation -----------------------------------------------------------------------

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")


def normalise(obj):
    """Dates and random room ids out, lists whose order is the server's (hash order in the
    reference) sorted; key order kept."""
    if isinstance(obj, dict):
        out = OrderedDict()
        for k, v in obj.items():
            if k == "date" and isinstance(v, str) and DATE.match(v):
                v = "<date>"
            elif k == "room" and isinstance(v, int) and v > 10 ** 9:
                v = "<random id>"
            elif k == "description" and isinstance(v, str) and re.match(r"^Room \d{10,}$", v):
                v = "Room <random id>"
            else:
                v = normalise(v)
            if k in ("list", "participants") and isinstance(v, list):
                v = sorted(v, key=lambda x: json.dumps(x))
            if k == "allowed" and isinstance(v, list):
                v = sorted(v)
            out[k] = v
        return out
    if isinstance(obj, list):
        return [normalise(x) for x in obj]
    return obj


def render(label, m):
    """One received message as a comparable line: its channel, its JSON (normalised), and
    whether it is written as the reference writes it (jansson's 3-space indentation)."""
    if isinstance(m, bytes):
        return "%s BINARY %r" % (label, m)
    try:
        o = json.loads(m, object_pairs_hook=OrderedDict)
    except ValueError:
        return "%s NON-JSON %r" % (label, m)
    styled = m == json.dumps(o, indent=3, ensure_ascii=False)
    return "%s %s%s" % (label, json.dumps(normalise(o), ensure_ascii=False),
                        "" if styled else "   [not written with 3-space indentation]")


# ---- the flow ----------------------------------------------------------------------------

# (who, payload): A, B, C send on their data channel; D sends API messages; ("#", name)
# starts a section. Everything here is asked of both servers.
FLOW = [
    ("#", "list and exists"),
    ("A", {"textroom": "list"}),
    ("A", {"textroom": "exists", "room": 1234}),
    ("A", {"textroom": "exists", "room": 999}),
    ("#", "join"),
    ("A", {"textroom": "join", "room": 1234, "username": "alice", "display": "Alice"}),
    ("B", {"textroom": "join", "room": 1234, "username": "bob"}),
    ("B", {"textroom": "join", "room": 1234, "username": "bob2"}),
    ("C", {"textroom": "join", "room": 1234, "username": "alice", "display": "X"}),
    ("C", {"textroom": "join", "room": 999, "username": "carol"}),
    ("C", {"textroom": "join", "room": 1234}),
    ("C", {"textroom": "join", "username": "carol"}),
    ("C", {"textroom": "join"}),
    ("C", {"textroom": "join", "room": "1234", "username": "carol"}),
    ("C", {"textroom": "join", "room": -3, "username": "carol"}),
    ("C", {"textroom": "join", "room": 0, "username": "carol"}),
    ("C", {"textroom": "join", "room": 1234, "username": 5}),
    ("C", {"textroom": "join", "room": 1234, "username": "carol", "display": 5}),
    ("C", {"textroom": "join", "room": 1234, "username": "carol", "history": "x"}),
    ("C", {"textroom": "join", "room": 1234, "username": "carol", "token": 5}),
    ("C", {"textroom": "join", "room": 1234, "username": "carol", "display": "Carol",
           "pin": "whatever"}),
    ("A", {"textroom": "list"}),
    ("A", {"textroom": "listparticipants", "room": 1234}),
    ("A", {"textroom": "listparticipants", "room": 999}),
    ("A", {"textroom": "listparticipants"}),
    ("#", "room-wide messages"),
    ("A", {"textroom": "message", "room": 1234, "text": "hello all"}),
    ("B", {"textroom": "message", "room": 1234, "text": "unicode \u00e9 \u2713 \"q\" / \\ \n nl"}),
    ("C", {"textroom": "message", "room": 1234, "text": ""}),
    ("A", {"textroom": "message", "room": 1234, "text": "no ack", "ack": False}),
    ("A", {"textroom": "message", "room": 1234}),
    ("A", {"textroom": "message", "room": 1234, "text": 5}),
    ("A", {"textroom": "message", "room": 999, "text": "x"}),
    ("A", {"textroom": "message", "text": "x"}),
    ("A", {"textroom": "message", "room": 1234, "text": "x", "ack": "no"}),
    ("#", "whispers"),
    ("A", {"textroom": "message", "room": 1234, "text": "psst bob", "to": "bob"}),
    ("A", {"textroom": "message", "room": 1234, "text": "to two", "tos": ["bob", "carol"]}),
    ("A", {"textroom": "message", "room": 1234, "text": "to self", "to": "alice"}),
    ("A", {"textroom": "message", "room": 1234, "text": "to nobody", "to": "nobody"}),
    ("A", {"textroom": "message", "room": 1234, "text": "mixed", "tos": ["nobody", "bob"]}),
    ("A", {"textroom": "message", "room": 1234, "text": "empty", "tos": []}),
    ("A", {"textroom": "message", "room": 1234, "text": "quiet", "to": "carol", "ack": False}),
    ("A", {"textroom": "message", "room": 1234, "text": "both", "to": "bob", "tos": ["carol"]}),
    ("A", {"textroom": "message", "room": 1234, "text": "x", "tos": "bob"}),
    ("A", {"textroom": "message", "room": 1234, "text": "x", "to": 5}),
    ("#", "announcements"),
    ("A", {"textroom": "announcement", "room": 1234, "secret": "adminpwd", "text": "ann!"}),
    ("A", {"textroom": "announcement", "room": 1234, "secret": "bad", "text": "ann!"}),
    ("A", {"textroom": "announcement", "room": 1234, "text": "ann!"}),
    ("A", {"textroom": "announcement", "room": 999, "secret": "adminpwd", "text": "x"}),
    ("A", {"textroom": "announcement", "room": 1234, "secret": "adminpwd"}),
    ("A", {"textroom": "announcement", "room": 1234, "secret": 5, "text": "x"}),
    ("#", "create, edit, destroy"),
    ("A", {"textroom": "create", "room": 4321, "description": "Scratch", "secret": "s3",
           "pin": "p1", "permanent": False}),
    ("A", {"textroom": "create", "room": 4321, "permanent": False}),
    ("A", {"textroom": "create", "permanent": False}),
    ("A", {"textroom": "create", "room": 4400, "is_private": False, "history": 2}),
    ("A", {"textroom": "create", "room": 4401, "is_private": True}),
    ("A", {"textroom": "create", "room": 7002, "description": 5}),
    ("A", {"textroom": "create", "room": 7002, "is_private": "yes"}),
    ("A", {"textroom": "create", "room": 7002, "history": -1}),
    ("A", {"textroom": "create", "room": 7002, "secret": 5}),
    ("A", {"textroom": "create", "room": 7002, "permanent": "x"}),
    ("A", {"textroom": "create", "room": "7002"}),
    ("A", {"textroom": "list"}),
    ("B", {"textroom": "join", "room": 4321, "username": "bob"}),
    ("B", {"textroom": "join", "room": 4321, "username": "bob", "pin": "bad"}),
    ("B", {"textroom": "join", "room": 4321, "username": "bob", "pin": 5}),
    ("B", {"textroom": "join", "room": 4321, "username": "bob", "pin": "p1"}),
    ("A", {"textroom": "edit", "room": 4321, "secret": "wrong", "new_description": "D2"}),
    ("A", {"textroom": "edit", "room": 4321, "new_description": "D2"}),
    ("A", {"textroom": "edit", "room": 4321, "secret": "s3", "new_description": 5}),
    ("A", {"textroom": "edit", "room": 4321, "secret": "s3", "new_description": "D2",
           "new_pin": "p2", "new_secret": "s4", "new_is_private": False, "permanent": False}),
    ("A", {"textroom": "edit", "room": 4401, "new_is_private": False}),
    ("A", {"textroom": "list"}),
    ("A", {"textroom": "edit", "room": 999, "secret": "s3"}),
    ("A", {"textroom": "edit"}),
    ("A", {"textroom": "destroy", "room": 4321, "secret": "s3"}),
    ("A", {"textroom": "destroy", "room": 4321}),
    ("A", {"textroom": "destroy", "room": 4321, "secret": "s4", "permanent": False}),
    ("A", {"textroom": "destroy", "room": 4321, "secret": "s4"}),
    ("A", {"textroom": "destroy"}),
    ("A", {"textroom": "exists", "room": 4321}),
    ("A", {"textroom": "exists", "room": "1"}),
    ("#", "history"),
    ("A", {"textroom": "join", "room": 4400, "username": "alice"}),
    ("A", {"textroom": "message", "room": 4400, "text": "h0"}),
    ("A", {"textroom": "message", "room": 4400, "text": "h1"}),
    ("A", {"textroom": "message", "room": 4400, "text": "h2"}),
    ("A", {"textroom": "message", "room": 4400, "text": "not kept", "to": "alice"}),
    ("A", {"textroom": "announcement", "room": 4400, "text": "ann-hist"}),
    ("C", {"textroom": "join", "room": 4400, "username": "carol"}),
    ("B", {"textroom": "join", "room": 4400, "username": "bob", "history": False}),
    ("#", "kick"),
    ("A", {"textroom": "kick", "room": 1234, "username": "bob", "secret": "bad"}),
    ("A", {"textroom": "kick", "room": 1234, "username": "nobody", "secret": "adminpwd"}),
    ("A", {"textroom": "kick", "room": 1234, "secret": "adminpwd"}),
    ("A", {"textroom": "kick", "room": 1234, "secret": "adminpwd", "username": 5}),
    ("A", {"textroom": "kick", "room": 1234, "username": "bob", "secret": "adminpwd"}),
    ("A", {"textroom": "listparticipants", "room": 1234}),
    ("B", {"textroom": "message", "room": 1234, "text": "after kick"}),
    ("B", {"textroom": "message", "room": 1234, "text": "after kick", "to": "alice"}),
    ("#", "leave"),
    ("B", {"textroom": "join", "room": 1234, "username": "bob"}),
    ("B", {"textroom": "leave", "room": 1234}),
    ("B", {"textroom": "leave", "room": 1234}),
    ("B", {"textroom": "leave", "room": 999}),
    ("B", {"textroom": "leave"}),
    ("#", "destroy a room with participants"),
    ("A", {"textroom": "destroy", "room": 4400}),
    ("A", {"textroom": "exists", "room": 4400}),
    ("#", "envelope errors"),
    ("A", "[1,2]"),
    ("A", {"transaction": "noreq"}),
    ("A", '{"textroom": "list"}'),
    ("A", {"textroom": 5, "transaction": "num"}),
    ("A", {"textroom": "list", "transaction": 7}),
    ("A", {"request": "list", "transaction": "req"}),
    ("A", {"textroom": "foo"}),
    ("A", {"textroom": "setup"}),
    ("A", {"textroom": "ack"}),
    ("A", {"textroom": "list", "transaction": "", "extra": 1}),
    ("#", "the ACL (allowed)"),
    ("A", {"textroom": "create", "room": 4500, "secret": "s", "pin": "pp"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "enable",
           "allowed": ["tok1"]}),
    ("B", {"textroom": "join", "room": 4500, "username": "bob"}),
    ("B", {"textroom": "join", "room": 4500, "username": "bob", "pin": "pp"}),
    ("B", {"textroom": "join", "room": 4500, "username": "bob", "pin": "pp", "token": "tok1"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "add",
           "allowed": ["tok1", "tok2"]}),
    ("B", {"textroom": "join", "room": 4500, "username": "bob", "token": "tok1"}),
    ("B", {"textroom": "join", "room": 4500, "username": "bob", "pin": "pp", "token": "tok1"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "remove",
           "allowed": ["tok1"]}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "add", "allowed": "x"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "add", "allowed": [1]}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": 5}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "bogus"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "bad", "action": "disable"}),
    ("A", {"textroom": "allowed", "room": 4500, "secret": "s", "action": "disable"}),
    ("C", {"textroom": "join", "room": 4500, "username": "carol", "pin": "pp"}),
    ("#", "the API"),
    ("D", {"request": "list"}),
    ("D", {"request": "exists", "room": 1234}),
    ("D", {"request": "listparticipants", "room": 1234}),
    ("D", {"request": "listparticipants", "room": 999}),
    ("D", {"request": "create", "room": 5555, "description": "Via HTTP", "secret": "hs",
           "pin": "hp", "is_private": False, "permanent": False}),
    ("D", {"request": "create", "room": 5555}),
    ("D", {"request": "edit", "room": 5555, "secret": "hs", "new_description": "E"}),
    ("D", {"request": "edit", "room": 5555, "secret": "bad", "new_description": "E"}),
    ("D", {"request": "announcement", "room": 1234, "secret": "adminpwd", "text": "http ann"}),
    ("D", {"request": "kick", "room": 1234, "secret": "adminpwd", "username": "carol"}),
    ("B", {"textroom": "join", "room": 5555, "username": "bob", "pin": "hp"}),
    ("D", {"request": "allowed", "room": 5555, "secret": "hs", "action": "enable"}),
    ("D", {"request": "join", "room": 1234, "username": "dave"}),
    ("D", {"request": "message", "room": 1234, "text": "from http"}),
    ("D", {"request": "leave", "room": 1234}),
    ("D", {"request": "foo"}),
    ("D", {"textroom": "list"}),
    ("D", {}),
    ("D", {"request": 5}),
    ("D", {"request": "destroy", "room": 5555, "secret": "hs", "permanent": False}),
    ("D", {"request": "destroy", "room": 5555, "secret": "hs"}),
    ("D", {"request": "ack"}),
    ("D", {"request": "restart"}),
    ("#", "an HTTP backend"),
    ("A", {"textroom": "create", "room": 9000, "post": HOOK}),
    ("A", {"textroom": "join", "room": 9000, "username": "alice", "display": "Al"}),
    ("B", {"textroom": "join", "room": 9000, "username": "bob"}),
    ("A", {"textroom": "message", "room": 9000, "text": "public"}),
    ("A", {"textroom": "message", "room": 9000, "text": "whisper", "to": "bob"}),
    ("A", {"textroom": "message", "room": 9000, "text": "noack", "ack": False}),
    ("D", {"request": "announcement", "room": 9000, "text": "ann"}),
]


class Hook:
    """An HTTP backend on loopback: records the POSTs it gets."""

    def __init__(self):
        posts = self.posts = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                posts.append((self.path, self.headers.get("Content-Type"),
                              self.headers.get("Accept"), self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


async def run_flow(http, tap, tag, record, extra=None):
    """Connect A, B, C and D, run FLOW; record[i] = {who: [rendered messages]} per step.
    extra(clients) runs afterwards (our server only). Returns the HTTP backend's POSTs."""
    hook = Hook()
    clients = {n: TRClient(http, n) for n in "ABC"}
    with tap.case(tag + "three participants set up their PeerConnections (setup, ack)"):
        for c in clients.values():
            await c.connect()
        for c in clients.values():
            check_eq(c.setup_event["plugindata"]["data"], {"textroom": "event", "result": "ok"},
                     "setup event")
            sdp = c.setup_event["jsep"]["sdp"]
            check_eq(c.setup_event["jsep"]["type"], "offer", "setup jsep")
            check_eq(sdp.count("m="), 1, "m-lines in the offer")
            check("m=application 9 UDP/DTLS/SCTP webrtc-datachannel" in sdp, sdp)
            check_eq(c.ack_event["plugindata"]["data"], {"textroom": "event", "result": "ok"},
                     "ack event")
    d = ApiClient(http)
    section = None
    for i, (who, payload) in enumerate(FLOW):
        if who == "#":
            section = payload
            record.append(("#", payload))
            continue
        got = {}
        if who == "D":
            got["D"] = [json.dumps(normalise(await d.request(payload)))]
            await asyncio.sleep(GRACE)
        else:
            c = clients[who]
            tx = c.send(payload)
            answered = (isinstance(payload, dict) and isinstance(payload.get("textroom"), str)
                        and isinstance(tx, str) and payload.get("ack") is not False)
            if answered:
                deadline = time.time() + 5 * SLOW
                while not c.has_reply(tx) and time.time() < deadline:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(GRACE)
            else:
                await asyncio.sleep(QUIET)
        for n, c in clients.items():
            got[n] = [render(label, m) for label, m in c.drain()]
        record.append((section, who, payload, got))
    await asyncio.sleep(0.5 * SLOW)  # the backend's POSTs
    posts = list(hook.posts)
    with tap.case(tag + "a request on another channel is answered on JanusDataChannel"):
        a = clients["A"]
        other = a.pc.createDataChannel("second")
        opened = asyncio.Event()
        other.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 5 * SLOW)
        other.send(json.dumps({"textroom": "exists", "room": 1234, "transaction": "x1"}))
        deadline = time.time() + 5 * SLOW
        while not a.has_reply("x1") and time.time() < deadline:
            await asyncio.sleep(0.01)
        got = a.drain()
        check_eq([label for label, _ in got], ["JanusDataChannel"], "channels of %r" % got)
    with tap.case(tag + "a second setup on a set-up handle is refused (416)"):
        r = await d_request_on(clients["A"], {"request": "setup"})
        check_eq(r, {"textroom": "error", "error_code": 416,
                     "error": "PeerConnection already setup"}, "reply")
    with tap.case(tag + "a client without JanusDataChannel is answered on one the server opens"):
        e = TRClient(http, "E", label="foo")
        await e.connect()
        tx = e.send({"textroom": "exists", "room": 1234})
        deadline = time.time() + 5 * SLOW
        while not e.has_reply(tx) and time.time() < deadline:
            await asyncio.sleep(0.01)
        got = e.drain()
        check_eq([label for label, _ in got], ["JanusDataChannel"], "channels of %r" % got)
        check_eq(e.server_channels, ["JanusDataChannel"], "channels the server opened")
    with tap.case(tag + "restart: a new offer with new ICE credentials"):
        e.n += 1
        await e.message({"request": "restart"}, tx="restart")
        ev = await e.poller.wait(lambda x: x.get("transaction") == "restart", 10 * SLOW)
        check_eq(ev["plugindata"]["data"], {"textroom": "event", "result": "ok"}, "event")
        check_eq(ev.get("jsep", {}).get("type"), "offer", "jsep")

        def ufrag(sdp):
            return re.search(r"a=ice-ufrag:(\S+)", sdp).group(1)
        check(ufrag(ev["jsep"]["sdp"]) != ufrag(e.setup_event["jsep"]["sdp"]), "same ufrag")
        check_eq(ev["jsep"]["sdp"].count("m="), 1, "m-lines")
    await e.close()
    with tap.case(tag + "a participant that hangs up leaves its rooms (the others see it)"):
        for c in clients.values():
            c.drain()
        await clients["B"].close()
        deadline = time.time() + 10 * SLOW
        while time.time() < deadline and not (clients["A"].inbox and clients["C"].inbox):
            await asyncio.sleep(0.05)
        await asyncio.sleep(GRACE)
        for n, rooms in (("A", [9000]), ("C", [4500])):
            got = [json.loads(m) for _, m in clients[n].drain()]
            check_eq(got, [{"textroom": "leave", "room": r, "username": "bob"} for r in rooms],
                     "what %s was told" % n)
    if extra:
        await extra(clients, d)
    for n in "AC":
        await clients[n].close()
    d.close()
    hook.stop()
    return posts


async def d_request_on(c, body):
    """An API request on c's own handle, answered by an event: its plugindata.data."""
    c.n += 1
    tx = "h%d" % c.n
    await c.message(body, tx=tx)
    ev = await c.poller.wait(lambda e: e.get("transaction") == tx, 10 * SLOW)
    return ev["plugindata"]["data"]


# ---- our side: what the comparison cannot show -------------------------------------------

def step_replies(record, who, payload):
    """The messages of the FLOW step (who, payload) in record: {client: [json objects]}."""
    for item in record:
        if item[0] != "#" and item[1] == who and item[2] == payload:
            return {n: [json.loads(line.split(" ", 1)[1].split("   [")[0]) for line in msgs]
                    for n, msgs in item[3].items()}
    raise AssertionError("step not found: %r" % (payload,))


def check_semantics(tap, record):
    """Our transcript, read for what the flow is about (the reference parity is checked
    separately, on every step)."""
    with tap.case("room-wide messages reach everyone, sender included, with from/date/text"):
        got = step_replies(record, "A", {"textroom": "message", "room": 1234,
                                         "text": "hello all"})
        for n in "ABC":
            ev = [m for m in got[n] if m.get("textroom") == "message"]
            check_eq(len(ev), 1, "%s's copies" % n)
            check_eq((ev[0]["from"], ev[0]["text"], ev[0]["room"]), ("alice", "hello all", 1234),
                     "event")
            check("whisper" not in ev[0] and ev[0]["date"] == "<date>", ev[0])
        check_eq(got["A"][-1]["textroom"], "success", "the reply comes last")
    with tap.case("whispers ('to', 'tos') reach only their targets, whisper: true"):
        got = step_replies(record, "A", {"textroom": "message", "room": 1234, "text": "to two",
                                         "tos": ["bob", "carol"]})
        check_eq([m.get("textroom") for m in got["A"]], ["success"], "sender gets no copy")
        check_eq(got["A"][0]["sent"], {"bob": True, "carol": True}, "sent")
        for n in "BC":
            check_eq([(m["textroom"], m["whisper"], m["text"]) for m in got[n]],
                     [("message", True, "to two")], n)
        got = step_replies(record, "A", {"textroom": "message", "room": 1234, "text": "psst bob",
                                         "to": "bob"})
        check_eq(got["C"], [], "carol gets nothing")
        check_eq(len(got["B"]), 1, "bob")
    with tap.case("announcements reach every participant, without 'from'"):
        got = step_replies(record, "A", {"textroom": "announcement", "room": 1234,
                                         "secret": "adminpwd", "text": "ann!"})
        for n in "ABC":
            ev = [m for m in got[n] if m.get("textroom") == "announcement"]
            check_eq(len(ev), 1, n)
            check("from" not in ev[0], ev[0])
    with tap.case("a kicked participant gets 'kicked', so do the others; it is out"):
        got = step_replies(record, "A", {"textroom": "kick", "room": 1234, "username": "bob",
                                         "secret": "adminpwd"})
        for n in "ABC":
            check({"textroom": "kicked", "room": 1234, "username": "bob"} in got[n], (n, got[n]))
        got = step_replies(record, "B", {"textroom": "message", "room": 1234,
                                         "text": "after kick"})
        check_eq(got["B"][0]["error_code"], 422, "kicked then speaks")
    with tap.case("wrong pin, username taken, unknown room, unknown request: their codes"):
        codes = [(FLOW_ERR, step_replies(record, w, p)[w][-1].get("error_code"))
                 for FLOW_ERR, w, p in [
                     (419, "B", {"textroom": "join", "room": 4321, "username": "bob",
                                 "pin": "bad"}),
                     (420, "C", {"textroom": "join", "room": 1234, "username": "alice",
                                 "display": "X"}),
                     (417, "C", {"textroom": "join", "room": 999, "username": "carol"}),
                     (415, "A", {"textroom": "foo"})]]
        check(all(a == b for a, b in codes), codes)


async def our_extras(tap, clients, d):
    """Where we differ from the reference on purpose, and what it cannot show."""
    a = clients["A"]

    async def ask(payload, tx=None):
        a.drain()
        a.send(payload)
        deadline = time.time() + 5 * SLOW
        while not a.inbox and time.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(GRACE)
        return [json.loads(m) for _, m in a.drain()]

    with tap.case("malformed JSON gets a 412 error (the reference says nothing)"):
        for text in ("{not json", "", "null", '{"textroom":"list","transaction":"t"} x'):
            got = await ask(text)
            check_eq(len(got), 1, "replies to %r" % text)
            check_eq((got[0]["textroom"], got[0]["error_code"]), ("error", 412), got[0])
            check("transaction" not in got[0], got[0])
    with tap.case("a binary message gets a 412 error (the reference drops it)"):
        got = await ask(b'{"textroom":"list","transaction":"b"}')
        check_eq([(m["textroom"], m["error_code"]) for m in got], [("error", 412)], got)
    with tap.case("a 'tos' with a non-string is refused (the reference crashes on it)"):
        got = await ask({"textroom": "message", "room": 9000, "text": "x", "tos": ["alice", 5]})
        check_eq((got[-1]["error_code"], got[-1]["error"]),
                 (414, "Invalid element in the tos array (not a username)"), got)
        check_eq(len(got), 1, "alice got nothing")
    with tap.case("texts over max_text (4096 here) are refused; at the limit they go"):
        got = await ask({"textroom": "message", "room": 9000, "text": "x" * 4097})
        check_eq(got[-1]["error_code"], 414, got[-1])
        got = await ask({"textroom": "message", "room": 9000, "text": "y" * 4096})
        check_eq([m["textroom"] for m in got], ["message", "success"], got)
    with tap.case("'permanent': true is answered false (rooms are never saved)"):
        got = await ask({"textroom": "create", "room": 7100, "permanent": True})
        check_eq(got[-1], {"textroom": "success", "room": 7100, "permanent": False,
                           "transaction": got[-1].get("transaction")}, "reply")
    with tap.case("usernames are bounded (256 bytes)"):
        got = await ask({"textroom": "join", "room": 7100, "username": "u" * 257})
        check_eq(got[-1]["error_code"], 414, got[-1])
    c = clients["C"]

    async def wait_reply(client, tx):
        deadline = time.time() + 5 * SLOW
        while not client.has_reply(tx) and time.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(GRACE)

    with tap.case("a name repeated in 'tos' gets one copy; 'sent' names it once (the reference "
                  "sends one copy per mention)"):
        c.drain()
        await wait_reply(c, c.send({"textroom": "join", "room": 9000, "username": "carol"}))
        c.drain()
        got = await ask({"textroom": "message", "room": 9000, "text": "once",
                         "tos": ["carol", "carol", "nobody", "carol", "nobody"]})
        check_eq(list(got[-1]["sent"].items()), [("carol", True), ("nobody", False)], got[-1])
        await asyncio.sleep(QUIET)
        copies = [json.loads(m) for _, m in c.drain()]
        check_eq([(m["textroom"], m["text"], m["whisper"]) for m in copies],
                 [("message", "once", True)], "carol's copies")
    with tap.case("a 'post' outside general.post_allowed is refused (419), data channel and API"):
        for url in ("http://127.0.0.1:8088/admin", "http://169.254.169.254/latest/meta-data/",
                    "https://127.0.0.1:%d/" % HOOK_PORT,
                    "http://127.0.0.1:%d@10.0.0.1/" % HOOK_PORT,
                    "http://127.0.0.1:%d/../admin" % HOOK_PORT,
                    "http://127.0.0.1:%d/a/%%2e%%2e/admin" % HOOK_PORT):
            got = await ask({"textroom": "create", "room": 7300, "post": url})
            check_eq((got[-1].get("error_code"), got[-1].get("error")),
                     (419, "Unauthorized (post: URL not allowed)"), url)
        got = await ask({"textroom": "edit", "room": 1234, "secret": "adminpwd",
                         "new_post": "http://10.1.2.3/"})
        check_eq((got[-1].get("error_code"), got[-1].get("error")),
                 (419, "Unauthorized (new_post: URL not allowed)"), "edit")
        r = await d.request({"request": "create", "room": 7300, "post": "http://10.1.2.3/"})
        check_eq(r, {"textroom": "error", "error_code": 419,
                     "error": "Unauthorized (post: URL not allowed)"}, "API create")
        got = await ask({"textroom": "exists", "room": 7300})
        check_eq(got[-1]["exists"], False, "no room was made")
        got = await ask({"textroom": "create", "room": 7300, "post": HOOK + "/x?a=../b"})
        check_eq(got[-1].get("textroom"), "success", "under the prefix: %r" % got[-1])
    with tap.case("all rooms' history stays within max_history_bytes (%d here): the oldest "
                  "go, a newcomer gets the newest in order" % HISTORY_BUDGET):
        got = await ask({"textroom": "create", "room": 7200, "history": 100})
        check_eq(got[-1].get("textroom"), "success", got)
        got = await ask({"textroom": "join", "room": 7200, "username": "alice"})
        n = 30
        for i in range(n):
            got = await ask({"textroom": "message", "room": 7200,
                             "text": "h%02d " % i + "y" * 4000})
            check_eq(got[-1].get("textroom"), "success", got[-1])
        c.drain()
        await wait_reply(c, c.send({"textroom": "join", "room": 7200, "username": "carol"}))
        kept = [m for _, m in c.drain() if json.loads(m).get("textroom") == "message"]
        cost = sum(len(m.encode()) + 64 for m in kept)
        check(0 < len(kept) < n, "kept %d of %d" % (len(kept), n))
        check_eq([json.loads(m)["text"][:3] for m in kept],
                 ["h%02d" % i for i in range(n - len(kept), n)], "the newest, in order")
        # No other room keeps history now: this one holds all but less than two messages.
        one = max(len(m.encode()) + 64 for m in kept)
        check(HISTORY_BUDGET - 2 * one < cost <= HISTORY_BUDGET,
              "%d bytes kept, budget %d" % (cost, HISTORY_BUDGET))
    with tap.case("after a hangup, a new setup makes a new offer (the reference says 416)"):
        await c.pc.close()
        await c.poller.wait(lambda e: e.get("janus") == "hangup", 10 * SLOW)
        r = await d_request_on(c, {"request": "setup"})
        check_eq(r, {"textroom": "event", "result": "ok"}, "reply")


async def shipped_defaults(tap, http):
    """With conf/janus.plugin.textroom.conf as shipped (no admin_key, no post_allowed)."""
    d = ApiClient(http)
    refused = "Unauthorized (%s: HTTP backends may only be set in the configuration)"
    with tap.case("the shipped configuration: no request may give a room a 'post' (419)"):
        r = await d.request({"request": "create", "room": 7400,
                             "post": "http://127.0.0.1:8088/admin"})
        check_eq(r, {"textroom": "error", "error_code": 419, "error": refused % "post"},
                 "create")
        r = await d.request({"request": "edit", "room": 1234, "secret": "adminpwd",
                             "new_post": "http://127.0.0.1:8088/admin"})
        check_eq(r, {"textroom": "error", "error_code": 419, "error": refused % "new_post"},
                 "edit")
        r = await d.request({"request": "create", "room": 7400, "post": ""})
        check_eq(r, {"textroom": "created", "room": 7400, "permanent": False}, "no post")
    d.close()


async def concurrent_senders(tap, http, senders=6, each=25):
    """Participants spread over the media loops all send at once: every message reaches
    everyone, each sender's in its order, and since events are handed to the loops under
    the plugin lock, every participant sees the same total order."""
    clients = [TRClient(http, "S%d" % i) for i in range(senders)]
    for c in clients:
        await c.connect()
    room = 7777
    clients[0].send({"textroom": "create", "room": room})
    for c in clients:
        tx = c.send({"textroom": "join", "room": room, "username": c.name})
        deadline = time.time() + 5 * SLOW
        while not c.has_reply(tx) and time.time() < deadline:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3 * SLOW)
    for c in clients:
        c.drain()
    for i in range(each):
        for c in clients:
            c.send({"textroom": "message", "room": room, "text": "%s-%d" % (c.name, i),
                    "ack": False})
    total = senders * each

    def texts(c):
        out = []
        for _, m in c.inbox:
            o = json.loads(m)
            if o.get("textroom") == "message":
                out.append(o["text"])
        return out

    deadline = time.time() + 20 * SLOW
    while time.time() < deadline and any(len(texts(c)) < total for c in clients):
        await asyncio.sleep(0.05)
    seqs = [texts(c) for c in clients]
    with tap.case("%d participants sending %d messages each at once: all arrive, each "
                  "sender's in order" % (senders, each)):
        for c, seq in zip(clients, seqs):
            check_eq(len(seq), total, "%s got" % c.name)
            for s in clients:
                mine = [t for t in seq if t.startswith(s.name + "-")]
                check_eq(mine, ["%s-%d" % (s.name, i) for i in range(each)],
                         "%s's messages at %s" % (s.name, c.name))
    with tap.case("every participant sees the same order (one order per room)"):
        for c, seq in zip(clients[1:], seqs[1:]):
            check(seq == seqs[0], "%s differs from %s" % (c.name, clients[0].name))
    for c in clients:
        await c.close()


# ---- comparison ---------------------------------------------------------------------------

def compare(tap, ours, theirs):
    sections, cur = [], None
    for a, b in zip(ours, theirs):
        if a[0] == "#":
            cur = (a[1], [])
            sections.append(cur)
            continue
        if a[3] != b[3]:
            cur[1].append("step %s %s:\n  ours:   %s\n  theirs: %s" % (
                a[1], json.dumps(a[2])[:200],
                json.dumps(a[3], ensure_ascii=False, indent=1),
                json.dumps(b[3], ensure_ascii=False, indent=1)))
    check_eq(len(ours), len(theirs), "steps run")
    for name, diffs in sections:
        tap.result("same as the reference: " + name, not diffs, "\n".join(diffs))


def main():
    tap = Tap("textroom-aiortc")
    conf = tempfile.mkdtemp(prefix="sbtest-textroom-conf-")
    with open(os.path.join(conf, "janus.plugin.textroom.conf"), "w") as f:
        f.write(OUR_CONF)
    with open(os.path.join(conf, "switchboard.conf"), "w") as f:
        f.write("media: { loops = 3; };\n")  # participants on several loops
    server = Server(builddir_from_argv(), name="textroom",
                    args=["--configs-folder", conf, "--config",
                          os.path.join(conf, "switchboard.conf"),
                          "--log-level", os.environ.get("SB_TR_LOG", "info")])
    ours, theirs = [], []
    our_posts = their_posts = None
    try:
        http = Http(timeout=40)

        async def extras(clients, d):
            await our_extras(tap, clients, d)
        our_posts = asyncio.run(run_flow(http, tap, "", ours, extras))
        check_semantics(tap, ours)
        asyncio.run(concurrent_senders(tap, http))
    finally:
        stop_and_report(tap, server)
        shutil.rmtree(conf, ignore_errors=True)
    shipped = tempfile.mkdtemp(prefix="sbtest-textroom-shipped-")
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf",
                             "janus.plugin.textroom.conf"), shipped)
    with open(os.path.join(shipped, "switchboard.conf"), "w") as f:
        f.write("media: { loops = 1; };\n")
    server = Server(builddir_from_argv(), name="textroom-shipped", ws=False,
                    args=["--configs-folder", shipped, "--config",
                          os.path.join(shipped, "switchboard.conf")])
    try:
        asyncio.run(shipped_defaults(tap, Http(timeout=40)))
    finally:
        stop_and_report(tap, server, "clean shutdown (shipped configuration)")
        shutil.rmtree(shipped, ignore_errors=True)
    if os.environ.get("SB_TEST_SANITIZED"):
        # The comparison with the reference runs in the plain build: its half of the flow is
        # the reference's, whatever our build, and ours has just run under ASan.
        tap.note("the reference's flow and the comparison: plain build only")
        tap.exit()
    with netns.Lab() as lab:
        peer = lab.namespace("veth-peer")
        link = netns.veth(netns.own(), peer, "198.18.62.1/24", "198.18.62.2/24")
        local_addresses(["198.18.62.1"])
        ref = JanusRef(REF_PORT, enforce=link.name_a, textroom=REF_CONF)
        try:
            their_posts = asyncio.run(run_flow(Http(port=REF_PORT, timeout=40), tap,
                                               "reference: ", theirs))
        finally:
            ref.stop()
    with tap.case("every step of the flow ran against both servers"):
        check_eq(len(ours), len(theirs), "steps")
    compare(tap, ours, theirs)
    with tap.case("the HTTP backend gets the same POSTs (public messages, announcements)"):
        def norm(posts):
            return [(p, ct, acc, json.dumps(normalise(json.loads(body)))) for p, ct, acc, body
                    in posts]
        check_eq(len(our_posts), 3, "our POSTs %r" % our_posts)
        check_eq(norm(our_posts), norm(their_posts), "POSTs")
        for p in our_posts:
            body = p[3].decode()
            check(body == json.dumps(json.loads(body), indent=3, ensure_ascii=False), body)
    tap.exit()


if __name__ == "__main__":
    main()
