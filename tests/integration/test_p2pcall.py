"""switchboard.plugin.p2pcall over HTTP: register (taken, invalid, twice), list, config,
call/accept with the jsep relayed, candidate relay both ways, update, hangup, declining,
busy, and cleanup when a handle detaches mid-call. Signaling only: no media."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report

PLUGIN = "switchboard.plugin.p2pcall"
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}


class Peer:
    """One session with one p2pcall handle; events come from long-polls."""

    def __init__(self, h):
        self.h = h
        self.sid = h.create()
        self.hid = h.attach(self.sid, plugin=PLUGIN)
        self.tx = 0
        self.backlog = []

    def send(self, body, jsep=None):
        self.tx += 1
        tx = "t%d" % self.tx
        msg = {"janus": "message", "transaction": tx, "body": body}
        if jsep:
            msg["jsep"] = jsep
        r = self.h.post("/%d/%d" % (self.sid, self.hid), msg)
        check_eq(r.get("janus"), "ack", "reply to %r: %r" % (body, r))
        return tx

    def event(self, tx=None, timeout=5):
        """Next plugin event (with this transaction when given)."""
        for i, e in enumerate(self.backlog):
            if tx is None or e.get("transaction") == tx:
                return self.backlog.pop(i)
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            e = self.h.poll(self.sid, "?maxev=1", timeout=timeout + 35)
            if e.get("janus") != "event":
                continue
            if tx is None or e.get("transaction") == tx:
                return e
            self.backlog.append(e)
        raise AssertionError("no event%s" % (" for " + tx if tx else ""))

    def request(self, body, jsep=None):
        e = self.event(self.send(body, jsep))
        return e["plugindata"]["data"], e.get("jsep")

    def detach(self):
        self.h.post("/%d/%d" % (self.sid, self.hid), {"janus": "detach", "transaction": "d"})


def result(data):
    check("result" in data, "a result, not an error: %r" % data)
    return data["result"]


def error(data, code):
    check_eq(data.get("error_code"), code, "error_code in %r" % data)
    check(isinstance(data.get("error"), str) and data["error"], "an error text")


def main():
    tap = Tap("p2pcall")
    builddir = builddir_from_argv()
    server = Server(builddir, name="p2pcall")
    h = Http()
    try:
        a, b, c = Peer(h), Peer(h), Peer(h)
        with tap.case("config without a conf file: no ICE servers"):
            check_eq(result(a.request({"request": "config"})[0])["ice_servers"], [])
        with tap.case("register, taken, invalid, twice, missing"):
            r = result(a.request({"request": "register", "username": "alice"})[0])
            check_eq(r["event"], "registered")
            check_eq(r["username"], "alice")
            check_eq(r["ice_servers"], [])
            error(b.request({"request": "register", "username": "alice"})[0], 446)
            error(b.request({"request": "register", "username": " bad"})[0], 443)
            error(b.request({"request": "register", "username": "x" * 65})[0], 443)
            error(b.request({"request": "register", "username": 5})[0], 443)
            error(b.request({"request": "register"})[0], 442)
            result(b.request({"request": "register", "username": "bob"})[0])
            error(b.request({"request": "register", "username": "bob2"})[0], 445)
        with tap.case("unknown request, missing request"):
            error(a.request({"request": "dance"})[0], 441)
            error(a.request({})[0], 442)
        with tap.case("list"):
            r = result(c.request({"request": "list"})[0])
            check_eq(r["list"], ["alice", "bob"])
            check_eq(r["users"], [{"username": "alice", "busy": False},
                                  {"username": "bob", "busy": False}])
        with tap.case("call errors: unregistered, no jsep, unknown, self"):
            error(c.request({"request": "call", "username": "bob"}, OFFER)[0], 444)
            error(a.request({"request": "call", "username": "bob"})[0], 450)
            error(a.request({"request": "call", "username": "nobody"}, OFFER)[0], 447)
            error(a.request({"request": "call", "username": "alice"}, OFFER)[0], 443)
            error(a.request({"request": "accept"}, ANSWER)[0], 449)
            error(a.request({"request": "candidate", "candidate": {"candidate": ""}})[0], 449)
        with tap.case("call: the callee gets incomingcall with the offer"):
            data, _ = a.request({"request": "call", "username": "bob"}, OFFER)
            check_eq(result(data), {"event": "calling", "username": "bob"})
            e = b.event()
            check_eq(result(e["plugindata"]["data"]),
                     {"event": "incomingcall", "username": "alice"})
            check_eq(e["plugindata"]["plugin"], PLUGIN)
            check_eq(e.get("jsep"), OFFER, "the offer relayed")
        with tap.case("busy while ringing"):
            result(c.request({"request": "register", "username": "carol"})[0])
            error(c.request({"request": "call", "username": "bob"}, OFFER)[0], 448)
            r = result(c.request({"request": "list"})[0])
            check_eq([u["busy"] for u in r["users"]], [True, True, False])
        with tap.case("caller candidates reach the callee"):
            cand = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                    "sdpMid": "0", "sdpMLineIndex": 0}
            a.send({"request": "candidate", "candidate": cand})
            e = b.event()
            check_eq(result(e["plugindata"]["data"]),
                     {"event": "candidate", "username": "alice", "candidate": cand})
        with tap.case("accept: the caller gets accepted with the answer"):
            error(b.request({"request": "accept"})[0], 450)
            data, _ = b.request({"request": "accept"}, ANSWER)
            check_eq(result(data), {"event": "accepted", "username": "alice"})
            e = a.event()
            check_eq(result(e["plugindata"]["data"]), {"event": "accepted", "username": "bob"})
            check_eq(e.get("jsep"), ANSWER, "the answer relayed")
        with tap.case("callee candidates (list and completed) reach the caller"):
            cands = [{"candidate": "candidate:2 1 udp 1 127.0.0.1 6000 typ host",
                      "sdpMid": "0", "sdpMLineIndex": 0}, {"completed": True}]
            b.send({"request": "candidate", "candidates": cands})
            e = a.event()
            check_eq(result(e["plugindata"]["data"])["candidates"], cands)
            error(b.request({"request": "candidate", "candidate": "x"})[0], 443)
        with tap.case("update relays a renegotiation"):
            data, _ = a.request({"request": "update"}, OFFER)
            check_eq(result(data)["event"], "updating")
            e = b.event()
            check_eq(result(e["plugindata"]["data"])["event"], "update")
            check_eq(e.get("jsep"), OFFER)
        with tap.case("hangup: both sides get hangup"):
            data, _ = a.request({"request": "hangup"})
            r = result(data)
            check_eq(r["event"], "hangup")
            check_eq(r["username"], "bob")
            e = b.event()
            r = result(e["plugindata"]["data"])
            check_eq((r["event"], r["username"], r["reason"]), ("hangup", "alice", "Hung up"))
            check_eq(result(a.request({"request": "hangup"})[0])["reason"], "No call")
        with tap.case("declining an incoming call"):
            c.request({"request": "call", "username": "alice"}, OFFER)
            a.event()  # incomingcall
            a.request({"request": "hangup"})
            r = result(c.event()["plugindata"]["data"])
            check_eq((r["event"], r["reason"]), ("hangup", "Declined"))
        with tap.case("detach mid-call: the peer gets hangup, the name is free"):
            c.request({"request": "call", "username": "bob"}, OFFER)
            b.event()
            b.request({"request": "accept"}, ANSWER)
            c.event()
            b.detach()
            r = result(c.event()["plugindata"]["data"])
            check_eq((r["event"], r["username"], r["reason"]), ("hangup", "bob", "Peer left"))
            r = result(c.request({"request": "list"})[0])
            check_eq(r["list"], ["alice", "carol"])
            d = Peer(h)
            result(d.request({"request": "register", "username": "bob"})[0])
            result(d.request({"request": "call", "username": "carol"}, OFFER)[0])
        with tap.case("destroying a session mid-call cleans up"):
            c.event()  # incomingcall from the new bob
            h.destroy(d.sid)
            r = result(c.event()["plugindata"]["data"])
            check_eq((r["event"], r["reason"]), ("hangup", "Peer left"))
            check_eq(result(a.request({"request": "list"})[0])["list"], ["alice", "carol"])
        for p in (a, c):
            h.destroy(p.sid)
    finally:
        stop_and_report(tap, server)
    config_files(tap, builddir)
    tap.exit()


OWN_CONF = """
ice_servers = (
    { urls = "stun:stun.example.org:3478"; },
    { urls = [ "turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443" ];
      username = "u"; credential = "p"; }
);
"""
CORE_CONF = """
nat: { stun_server = "stun.example.net"; stun_port = 19302; turn_server = "t.example.net";
       turn_type = "tcp"; turn_user = "x"; turn_pwd = "y"; };
"""


def ice_servers_with(builddir, files):
    conf = tempfile.mkdtemp(prefix="sbtest-p2pconf-")
    for name, text in files.items():
        with open(os.path.join(conf, name), "w") as f:
            f.write(text)
    server = Server(builddir, args=["--configs-folder", conf], name="p2pconf")
    try:
        p = Peer(Http())
        return result(p.request({"request": "config"})[0])["ice_servers"]
    finally:
        problems = server.stop()
        server.cleanup()
        check(not problems, "\n".join(problems))


def config_files(tap, builddir):
    with tap.case("ICE servers from switchboard.plugin.p2pcall.conf"):
        got = ice_servers_with(builddir, {"switchboard.plugin.p2pcall.conf": OWN_CONF,
                                          "switchboard.conf": CORE_CONF})
        check_eq(got, [{"urls": "stun:stun.example.org:3478"},
                       {"urls": ["turn:turn.example.org:3478?transport=udp",
                                 "turns:turn.example.org:443"],
                        "username": "u", "credential": "p"}])
    with tap.case("ICE servers from the core's nat settings"):
        got = ice_servers_with(builddir, {"switchboard.conf": CORE_CONF})
        check_eq(got, [{"urls": "stun:stun.example.net:19302"},
                       {"urls": "turn:t.example.net:3478?transport=tcp",
                        "username": "x", "credential": "y"}])


if __name__ == "__main__":
    main()
