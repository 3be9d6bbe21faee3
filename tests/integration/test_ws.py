"""WebSocket transport (janus-protocol) with a minimal RFC 6455 client: create, attach,
message with the event pushed without polling, keepalive, errors, claim of a session
from a second connection (while the first is open, and after it closed), fragmented and
oversized messages, pipelined requests, session timeout pushed over the socket."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import WS_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq, \
    error_code, stop_and_report
from wsclient import WsClient, WsError

MAX_BODY = 64 * 1024


def no_message(ws, within=0.7):
    if ws.backlog:
        return ws.backlog[0]
    try:
        m = ws.recv(within)
    except (WsError, OSError):
        return None
    return m


def ws_create(ws, tx="c"):
    r = ws.request({"janus": "create", "transaction": tx})
    check_eq(r["janus"], "success", "create %r" % r)
    return r["data"]["id"]


def ws_attach(ws, sid, tx="a"):
    r = ws.request({"janus": "attach", "plugin": "janus.plugin.echotest",
                    "session_id": sid, "transaction": tx})
    check_eq(r["janus"], "success", "attach %r" % r)
    return r["data"]["id"]


def is_event(tx):
    return lambda m: m.get("janus") == "event" and m.get("transaction") == tx


def main_cases(tap):
    st = {}
    with tap.case("handshake with Sec-WebSocket-Protocol: janus-protocol"):
        ws = WsClient(WS_PORT)
        check_eq(ws.protocol, "janus-protocol", "accepted subprotocol")
        st["ws"] = ws
    ws = st["ws"]
    with tap.case("info and ping"):
        r = ws.request({"janus": "info", "transaction": "i"})
        check_eq(r["janus"], "server_info", "info")
        r = ws.request({"janus": "ping", "transaction": "p"})
        check_eq(r["janus"], "pong", "ping")
    with tap.case("create and attach"):
        st["sid"] = ws_create(ws)
        st["hid"] = ws_attach(ws, st["sid"])
    sid, hid = st["sid"], st["hid"]
    with tap.case("message is acked and the event is pushed without polling"):
        t0 = time.time()
        ws.send({"janus": "message", "session_id": sid, "handle_id": hid,
                 "transaction": "m1", "body": {"audio": True}})
        ack = ws.recv_until(lambda m: m.get("janus") == "ack", 5)
        check_eq(ack.get("transaction"), "m1", "ack transaction")
        ev = ws.recv_until(is_event("m1"), 5)
        check(time.time() - t0 < 2, "event took %.2fs" % (time.time() - t0))
        check_eq(ev["sender"], hid, "sender")
        check_eq(ev["session_id"], sid, "session_id")
        check_eq(ev["plugindata"]["data"].get("result"), "ok", "result")
    with tap.case("keepalive is acked"):
        r = ws.request({"janus": "keepalive", "session_id": sid, "transaction": "k"})
        check_eq(r["janus"], "ack", "keepalive %r" % r)
        check_eq(r.get("session_id"), sid, "session_id")
    with tap.case("errors: bad JSON, not an object, missing and wrong fields"):
        ws.backlog.clear()
        ws.send_text("{nope")
        check_eq(error_code(ws.recv()), 454, "bad JSON")
        ws.send_text("[1]")
        check_eq(error_code(ws.recv()), 455, "array")
        r = ws.request({"janus": "attach", "plugin": "janus.plugin.echotest",
                        "transaction": "e1"})
        check_eq(error_code(r), 456, "attach without session_id")
        r = ws.request({"janus": "message", "session_id": sid, "body": {},
                        "transaction": "e2"})
        check_eq(error_code(r), 456, "message without handle_id")
        r = ws.request({"janus": "keepalive", "session_id": "abc", "transaction": "e3"})
        check_eq(error_code(r), 467, "session_id a string")
        r = ws.request({"janus": "message", "session_id": sid, "handle_id": -4, "body": {},
                        "transaction": "e4"})
        check_eq(error_code(r), 467, "negative handle_id")
        r = ws.request({"janus": "frob", "transaction": "e5"})
        check_eq(error_code(r), 453, "unknown request")
        ws.send({"janus": "create"})
        check_eq(error_code(ws.recv()), 456, "no transaction")
    with tap.case("errors: unknown session, handle, plugin"):
        r = ws.request({"janus": "keepalive", "session_id": 12345, "transaction": "u1"})
        check_eq(error_code(r), 458, "session")
        r = ws.request({"janus": "message", "session_id": sid, "handle_id": 12345,
                        "body": {}, "transaction": "u2"})
        check_eq(error_code(r), 459, "handle")
        r = ws.request({"janus": "attach", "plugin": "janus.plugin.none", "session_id": sid,
                        "transaction": "u3"})
        check_eq(error_code(r), 460, "plugin")
    with tap.case("a fragmented message is reassembled"):
        text = ('{"janus":"keepalive","session_id":%d,"transaction":"frag"}' % sid).encode()
        ws.send_frame(0x1, text[:10], fin=False)
        ws.send_frame(0x0, text[10:20], fin=False)
        ws.send_frame(0x9, b"ping-in-between")  # control frames may interleave
        ws.send_frame(0x0, text[20:], fin=True)
        r = ws.recv_until(lambda m: m.get("transaction") == "frag", 5)
        check_eq(r["janus"], "ack", "reply")
    with tap.case("an oversized message gets an error, the connection keeps working"):
        ws.send_text('{"janus":"ping","transaction":"big","pad":"%s"}' % ("x" * MAX_BODY))
        r = ws.recv(5)
        check(r.get("janus") == "error", "reply %r" % r)
        r = ws.request({"janus": "ping", "transaction": "after-big"})
        check_eq(r["janus"], "pong", "ping after")
    with tap.case("deeply nested JSON is refused (454), not recursed into"):
        ws.send_text("[" * (MAX_BODY - 1))
        check_eq(error_code(ws.recv_until(lambda m: True, 5)), 454, "reply")
    with tap.case("a binary frame carrying JSON is answered too"):
        ws.send_frame(0x2, b'{"janus":"ping","transaction":"bin"}')
        r = ws.recv_until(lambda m: m.get("transaction") == "bin", 5)
        check_eq(r["janus"], "pong", "reply")
    with tap.case("another subprotocol is refused at the handshake"):
        try:
            WsClient(WS_PORT, protocol="janus-admin-protocol").close()
            refused = False
        except (WsError, OSError):
            refused = True
        check(refused, "janus-admin-protocol accepted")
    with tap.case("invalid UTF-8 in a text frame closes that connection only"):
        bad = WsClient(WS_PORT)
        bad.send_frame(0x1, b'{"janus":"ping","transaction":"\xff"}')
        try:
            bad.recv(5)
            closed = False
        except (WsError, OSError):
            closed = True
        check(closed, "connection still open after invalid UTF-8")
        bad.close()
        r = ws.request({"janus": "ping", "transaction": "still"})
        check_eq(r["janus"], "pong", "other connection")
    with tap.case("200 pipelined requests are all answered in order"):
        for i in range(200):
            ws.send({"janus": "keepalive", "session_id": sid, "transaction": "p%d" % i})
        got = [ws.recv_until(lambda m: True, 5).get("transaction") for _ in range(200)]
        check_eq(got, ["p%d" % i for i in range(200)], "transactions")
    with tap.case("claim from a second connection moves the events there"):
        ws2 = WsClient(WS_PORT)
        r = ws2.request({"janus": "claim", "session_id": sid, "transaction": "cl"})
        check_eq(r["janus"], "success", "claim %r" % r)
        check_eq(r.get("session_id"), sid, "session_id")
        # A request sent on the old connection: reply there, event on the new one.
        r = ws.request({"janus": "message", "session_id": sid, "handle_id": hid,
                        "body": {"video": False}, "transaction": "m2"})
        check_eq(r["janus"], "ack", "ack on the old connection")
        ev = ws2.recv_until(is_event("m2"), 5)
        check_eq(ev["sender"], hid, "event on the new connection")
        stray = no_message(ws)
        check(stray is None, "old connection got %r" % stray)
        st["ws2"] = ws2
    with tap.case("detach pushes a detached event, destroy ends the session"):
        ws2 = st["ws2"]
        r = ws2.request({"janus": "detach", "session_id": sid, "handle_id": hid,
                         "transaction": "d"})
        check_eq(r["janus"], "success", "detach")
        ev = ws2.recv_until(lambda m: m.get("janus") == "detached", 5)
        check_eq(ev["sender"], hid, "detached sender")
        r = ws2.request({"janus": "destroy", "session_id": sid, "transaction": "x"})
        check_eq(r["janus"], "success", "destroy")
        r = ws2.request({"janus": "keepalive", "session_id": sid, "transaction": "y"})
        check_eq(error_code(r), 458, "keepalive after destroy")
    with tap.case("a session survives its connection and can be claimed afterwards"):
        a = WsClient(WS_PORT)
        sid3 = ws_create(a)
        hid3 = ws_attach(a, sid3)
        a.close()
        time.sleep(0.3)
        b = WsClient(WS_PORT)
        r = b.request({"janus": "claim", "session_id": sid3, "transaction": "cl2"})
        check_eq(r["janus"], "success", "claim %r" % r)
        b.send({"janus": "message", "session_id": sid3, "handle_id": hid3,
                "body": {"audio": False}, "transaction": "m3"})
        b.recv_until(is_event("m3"), 5)
        b.request({"janus": "destroy", "session_id": sid3, "transaction": "z"})
        b.close()
    with tap.case("events queued while no connection listens reach the claimer"):
        a = WsClient(WS_PORT)
        sid4 = ws_create(a)
        hid4 = ws_attach(a, sid4)
        # Send the message over HTTP after the connection is gone: nobody listens.
        a.close()
        time.sleep(0.3)
        h = Http()
        r = h.post("/%d/%d" % (sid4, hid4), {"janus": "message", "transaction": "q1",
                                             "body": {"audio": True}})
        check_eq(r["janus"], "ack", "HTTP ack")
        time.sleep(0.3)
        b = WsClient(WS_PORT)
        b.send({"janus": "claim", "session_id": sid4, "transaction": "cl3"})
        ev = b.recv_until(is_event("q1"), 5)
        check_eq(ev["sender"], hid4, "queued event delivered")
        b.close()
    with tap.case("claim over HTTP moves a WebSocket session's events to the long-poll"):
        a = WsClient(WS_PORT)
        sid5 = ws_create(a)
        hid5 = ws_attach(a, sid5)
        h = Http()
        r = h.post("/%d" % sid5, {"janus": "claim", "transaction": "hc"})
        check_eq(r["janus"], "success", "HTTP claim %r" % r)
        r = a.request({"janus": "message", "session_id": sid5, "handle_id": hid5,
                       "body": {}, "transaction": "m5"})
        check_eq(r["janus"], "ack", "ack on the WebSocket")
        ev = h.poll(sid5, timeout=5)
        check_eq(ev.get("transaction"), "m5", "event on the long-poll")
        stray = no_message(a)
        check(stray is None, "WebSocket still got %r" % stray)
        a.close()
        h.destroy(sid5)
    with tap.case("HTTP and WebSocket see the same sessions"):
        h = Http()
        hsid = h.create()
        r = ws.request({"janus": "keepalive", "session_id": hsid, "transaction": "hk"})
        check_eq(r["janus"], "ack", "WebSocket keepalive of an HTTP session")
        h.destroy(hsid)
    for k in ("ws", "ws2"):
        if k in st:
            st[k].close()


def timeout_case(tap):
    with tap.case("session timeout is pushed over the WebSocket"):
        ws = WsClient(WS_PORT)
        sid = ws_create(ws)
        t0 = time.time()
        m = ws.recv_until(lambda m: m.get("janus") == "timeout", 10)
        check_eq(m.get("session_id"), sid, "session_id")
        check(2 <= time.time() - t0 <= 6, "after %.1fs" % (time.time() - t0))
        r = ws.request({"janus": "keepalive", "session_id": sid, "transaction": "k"})
        check_eq(error_code(r), 458, "after the timeout")
        ws.close()


def main():
    tap = Tap("websocket")
    builddir = builddir_from_argv()
    server = Server(builddir, ["--max-body-size", str(MAX_BODY)], name="ws")
    try:
        main_cases(tap)
    finally:
        stop_and_report(tap, server)
    server = Server(builddir, ["--session-timeout", "3"], name="ws-timeout")
    try:
        timeout_case(tap)
    finally:
        stop_and_report(tap, server, "clean shutdown, no sanitizer report (timeout)")
    tap.exit()


if __name__ == "__main__":
    main()
