"""Every error path of the HTTP API: unknown session/handle/plugin, bad JSON, not an
object, missing fields, wrong types, unknown request, wrong path, bad URLs, oversized
bodies (413), the API secret (403, with and without it, long-poll ?apisecret=), methods
not allowed, malformed HTTP; the server keeps serving through all of it."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import HTTP_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq, \
    error_code, raw_exchange, stop_and_report

MAX_BODY = 1024
SECRET = "s3cret-\u00e9"


def expect(h, method, path, body, code, status=200, what=""):
    st, j = h.call(method, path, body)
    check_eq(st, status, "HTTP status (%s)" % (what or path))
    check_eq(error_code(j), code, "error code (%s) in %r" % (what or path, j))
    check(isinstance(j["error"].get("reason"), str) and j["error"]["reason"],
          "a reason text")
    return j


def still_serving(h):
    r = h.post("", {"janus": "create", "transaction": "alive"})
    check_eq(r["janus"], "success", "create after the bad input")
    h.destroy(r["data"]["id"])


def api_errors(tap, h):
    sid = h.create()
    hid = h.attach(sid)
    S, H = "/janus/%d" % sid, "/janus/%d/%d" % (sid, hid)
    with tap.case("458 unknown session"):
        j = expect(h, "POST", "/janus/12345", {"janus": "keepalive", "transaction": "t"}, 458)
        check_eq(j.get("transaction"), "t", "transaction echoed")
        expect(h, "POST", "/janus/12345/678", {"janus": "message", "transaction": "t",
                                               "body": {}}, 458)
    with tap.case("459 unknown handle"):
        j = expect(h, "POST", S + "/678", {"janus": "message", "transaction": "t",
                                           "body": {}}, 459)
        check_eq(j.get("session_id"), sid, "session_id in the error")
    with tap.case("459 a handle addressed under another session"):
        other = h.create()
        expect(h, "POST", "/janus/%d/%d" % (other, hid), {"janus": "message",
                                                           "transaction": "t", "body": {}}, 459)
        h.destroy(other)
    with tap.case("454 deeply nested JSON, without recursing into it"):
        expect(h, "POST", "/janus", "[" * (MAX_BODY - 1), 454)
    with tap.case("460 unknown plugin"):
        expect(h, "POST", S, {"janus": "attach", "plugin": "janus.plugin.nope",
                              "transaction": "t"}, 460)
    with tap.case("454 bad JSON"):
        for body in ['{"janus":', "{nope}", '{"a":1}}', '{"a":1,"a":2}', "\xff\xfe"]:
            expect(h, "POST", "/janus", body, 454, what=repr(body))
    with tap.case("452 empty body"):
        expect(h, "POST", "/janus", "", 452)
    with tap.case("455 not a JSON object"):
        expect(h, "POST", "/janus", "[1,2]", 455, what="array")
        expect(h, "POST", "/janus", '[{"janus":"create","transaction":"t"}]', 455,
               what="array of a request")
        # A bare scalar is not even a JSON text for the parser: 454, as the reference.
        for body in ['"create"', "42", "null", "true"]:
            expect(h, "POST", "/janus", body, 454, what=body)
    with tap.case("456 missing mandatory fields"):
        expect(h, "POST", "/janus", {"janus": "create"}, 456, what="no transaction")
        expect(h, "POST", "/janus", {"transaction": "t"}, 456, what="no janus")
        expect(h, "POST", S, {"janus": "attach", "transaction": "t"}, 456, what="no plugin")
        expect(h, "POST", H, {"janus": "message", "transaction": "t"}, 456, what="no body")
        expect(h, "POST", H, {"janus": "trickle", "transaction": "t"}, 456, what="trickle")
        expect(h, "POST", H, {"janus": "message", "transaction": "t", "body": {},
                              "jsep": {"type": "offer"}}, 456, what="jsep without sdp")
    with tap.case("467 wrong element types"):
        expect(h, "POST", "/janus", {"janus": "create", "transaction": 5}, 467,
               what="transaction")
        expect(h, "POST", "/janus", {"janus": 5, "transaction": "t"}, 467, what="janus")
        expect(h, "POST", S, {"janus": "attach", "plugin": 5, "transaction": "t"}, 467,
               what="plugin")
        expect(h, "POST", S, {"janus": "attach", "plugin": "janus.plugin.echotest",
                              "opaque_id": 5, "transaction": "t"}, 467, what="opaque_id")
        expect(h, "POST", H, {"janus": "message", "body": "x", "transaction": "t"}, 467,
               what="body")
        expect(h, "POST", H, {"janus": "message", "body": {}, "jsep": "x",
                              "transaction": "t"}, 467, what="jsep")
        expect(h, "POST", H, {"janus": "trickle", "candidates": {}, "transaction": "t"},
               467, what="candidates")
        expect(h, "POST", H, {"janus": "trickle", "candidate": "x", "transaction": "t"},
               467, what="candidate")
        # RFC 6544 makes tcptype mandatory; libnice asserted on its absence.
        tcp = "candidate:17 1 tcp 2122260206 127.0.0.1 40017 typ host"
        expect(h, "POST", H, {"janus": "trickle", "candidate": {"candidate": tcp, "sdpMid": "0"},
                              "transaction": "t"}, 467, what="tcp candidate without tcptype")
        expect(h, "POST", H, {"janus": "trickle", "candidates": [{"candidate": tcp}],
                              "transaction": "t"}, 467, what="the same in candidates[]")
    with tap.case("464/465 bad JSEP type and empty SDP"):
        expect(h, "POST", H, {"janus": "message", "body": {}, "transaction": "t",
                              "jsep": {"type": "pranswer", "sdp": "v=0"}}, 464)
        expect(h, "POST", H, {"janus": "message", "body": {}, "transaction": "t",
                              "jsep": {"type": "offer", "sdp": ""}}, 465)
    with tap.case("453 unknown request"):
        expect(h, "POST", "/janus", {"janus": "frobnicate", "transaction": "t"}, 453)
        expect(h, "POST", S, {"janus": "frobnicate", "transaction": "t"}, 453)
    with tap.case("457 request at the wrong path level"):
        expect(h, "POST", "/janus", {"janus": "attach", "plugin": "janus.plugin.echotest",
                                     "transaction": "t"}, 457, what="attach at root")
        expect(h, "POST", "/janus", {"janus": "keepalive", "transaction": "t"}, 457,
               what="keepalive at root")
        expect(h, "POST", S, {"janus": "create", "transaction": "t"}, 457,
               what="create at session")
        expect(h, "POST", S, {"janus": "message", "body": {}, "transaction": "t"}, 457,
               what="message at session")
        expect(h, "POST", H, {"janus": "attach", "plugin": "janus.plugin.echotest",
                              "transaction": "t"}, 457, what="attach at handle")
    with tap.case("bad URLs under the API base: HTTP 404 with 457"):
        for path in ["/janus/abc", "/janus/1/2/3", "/janus/-5", "/janus/0",
                     "/janus/12345678901234567890", "/janus/1x", "/janus//1"]:
            expect(h, "POST", path, {"janus": "keepalive", "transaction": "t"}, 457,
                   status=404, what=path)
    with tap.case("POST outside the API base: HTTP 404"):
        expect(h, "POST", "/elsewhere", {"janus": "create", "transaction": "t"}, 457,
               status=404)
        st, _, _ = h.raw("GET", "/no-such-file.html")
        check_eq(st, 404, "GET of a missing static file")
        st, _, _ = h.raw("GET", "/../../etc/passwd")
        check(st in (400, 404), "path traversal answered %d" % st)
    with tap.case("methods not allowed: HTTP 405"):
        for method, path in [("GET", "/janus"), ("PUT", "/janus"), ("DELETE", S),
                             ("PATCH", S), ("PUT", H)]:
            st, j = h.call(method, path, None if method == "GET" else "{}")
            check_eq(st, 405, "%s %s" % (method, path))
            check(error_code(j) is not None, "a JSON error body for %s %s" % (method, path))
    with tap.case("GET of a handle's path: HTTP 302 to its session's long-poll"):
        st, hdrs, body = h.raw("GET", H)
        check_eq(st, 302, "HTTP status")
        check_eq(hdrs.get("location"), S, "Location")
    with tap.case("GET of an unknown session: HTTP 404 with 458"):
        st, j = h.call("GET", "/janus/12345")
        check_eq(st, 404, "HTTP status")
        check_eq(error_code(j), 458, "error code in %r" % j)
    with tap.case("413 body larger than --max-body-size"):
        big = '{"janus":"create","transaction":"%s"}' % ("x" * (MAX_BODY * 2))
        st, j = h.call("POST", "/janus", big)
        check_eq(st, 413, "HTTP status with Content-Length")
        # Chunked: the size is only known while reading.
        conn = socket.create_connection(("127.0.0.1", HTTP_PORT), timeout=5)
        chunk = big.encode()
        conn.sendall(b"POST /janus HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        resp = b""
        try:
            while b"\r\n\r\n" not in resp:
                c = conn.recv(4096)
                if not c:
                    break
                resp += c
        finally:
            conn.close()
        check(resp.startswith(b"HTTP/1.1 413"), "chunked reply %r" % resp[:80])
        still_serving(h)
    with tap.case("a body just under --max-body-size is accepted"):
        body = '{"janus":"create","transaction":"ok"}'
        body += " " * (MAX_BODY - len(body))
        st, j = h.call("POST", "/janus", body)
        check_eq(st, 200, "status")
        check_eq(j.get("janus"), "success", "reply %r" % j)
        h.destroy(j["data"]["id"])
    with tap.case("malformed HTTP gets a 4xx and the server keeps serving"):
        resp = raw_exchange(HTTP_PORT, b"HELLO THERE\r\n\r\n")
        check(resp.startswith(b"HTTP/1.1 4"), "request line garbage: %r" % resp[:60])
        resp = raw_exchange(HTTP_PORT, b"GET /janus/info HTTP/1.1\r\nNo colon here\r\n\r\n")
        check(resp.startswith(b"HTTP/1.1 4"), "header garbage: %r" % resp[:60])
        resp = raw_exchange(HTTP_PORT, b"GET /janus/info HTTP/1.1\r\nX-Big: " +
                            b"a" * 200000 + b"\r\n\r\n")
        check(resp == b"" or resp.startswith(b"HTTP/1.1 4"), "huge header: %r" % resp[:60])
        resp = raw_exchange(HTTP_PORT, b"POST /janus HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: nonsense\r\n\r\n{}")
        check(resp.startswith(b"HTTP/1.1 4"), "bad Content-Length: %r" % resp[:60])
        resp = raw_exchange(HTTP_PORT, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
                            os.urandom(300))
        check(resp == b"" or resp.startswith(b"HTTP/1.1 4"), "TLS hello: %r" % resp[:60])
        resp = raw_exchange(HTTP_PORT, os.urandom(4096) + b"\r\n\r\n")
        check(resp == b"" or resp.startswith(b"HTTP/1.1 4"), "random bytes: %r" % resp[:60])
        # Half a request, then the client goes away.
        s = socket.create_connection(("127.0.0.1", HTTP_PORT))
        s.sendall(b"POST /janus HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"janus\"")
        s.close()
        still_serving(h)
    h.destroy(sid)


def secret_errors(tap, h):
    with tap.case("api secret: 403 without it or with a wrong one"):
        expect(h, "POST", "/janus", {"janus": "create", "transaction": "t"}, 403)
        expect(h, "POST", "/janus", {"janus": "create", "transaction": "t",
                                     "apisecret": "wrong"}, 403)
        expect(h, "POST", "/janus", {"janus": "create", "transaction": "t",
                                     "apisecret": 5}, 403)
    sid = hid = None
    with tap.case("api secret: requests work with it"):
        sid = h.create(apisecret=SECRET)
        hid = h.attach(sid, apisecret=SECRET)
        r = h.post("/%d" % sid, {"janus": "keepalive", "transaction": "k",
                                 "apisecret": SECRET})
        check_eq(r["janus"], "ack", "keepalive")
        check(h.get("/info").get("api_secret") is True, "info says a secret is needed")
    with tap.case("api secret: session requests without it are refused"):
        expect(h, "POST", "/janus/%d" % sid, {"janus": "keepalive", "transaction": "t"}, 403)
        expect(h, "POST", "/janus/%d/%d" % (sid, hid),
               {"janus": "message", "transaction": "t", "body": {}}, 403)
        expect(h, "POST", "/janus/%d" % sid, {"janus": "destroy", "transaction": "t"}, 403)
    with tap.case("api secret: long-poll needs ?apisecret= (refused: HTTP 403, no body, as "
                  "the reference)"):
        st, j = h.call("GET", "/janus/%d" % sid)
        check_eq((st, j), (403, None), "poll without the secret")
        st, j = h.call("GET", "/janus/%d?apisecret=wrong" % sid)
        check_eq((st, j), (403, None), "poll with a wrong secret")
        r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "m",
                                           "body": {"audio": True}, "apisecret": SECRET})
        check_eq(r["janus"], "ack", "message")
        from urllib.parse import quote
        ev = h.get("/%d?apisecret=%s" % (sid, quote(SECRET)))
        check_eq(ev.get("transaction"), "m", "event through the authorised poll")
        r = h.destroy(sid, apisecret=SECRET)
        check_eq(r["janus"], "success", "destroy")


def main():
    tap = Tap("errors")
    builddir = builddir_from_argv()
    server = Server(builddir, ["--max-body-size", str(MAX_BODY)], name="errors")
    try:
        api_errors(tap, Http())
        with tap.case("no GLib warning or assertion in the server log"):
            with open(server.log_path, errors="replace") as fh:
                bad = [ln for ln in fh if "CRITICAL" in ln or "assertion" in ln]
            check(not bad, "log: %r" % bad[:3])
    finally:
        stop_and_report(tap, server, "clean shutdown, no sanitizer report (errors)")
    server = Server(builddir, ["--api-secret", SECRET], name="secret")
    try:
        secret_errors(tap, Http())
    finally:
        stop_and_report(tap, server, "clean shutdown, no sanitizer report (api secret)")
    tap.exit()


if __name__ == "__main__":
    main()
