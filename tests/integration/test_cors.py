"""CORS: OPTIONS preflight answers Allow-Origin/Methods/Headers; normal responses, errors
included, carry Allow-Origin; --cors-origin pins the origin."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report

ORIGIN = "http://app.example:8080"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


def allowed_origin(headers, origin):
    v = headers.get("access-control-allow-origin")
    return v == origin or v == "*"


def default_cases(tap, h):
    sid = h.create()
    for path, what in [("/janus", "API root"), ("/janus/%d" % sid, "session path")]:
        with tap.case("OPTIONS preflight on the %s" % what):
            st, hd, body = h.raw("OPTIONS", path, headers=PREFLIGHT)
            check(200 <= st < 300, "status %d" % st)
            check(allowed_origin(hd, ORIGIN), "Allow-Origin %r" % hd)
            methods = hd.get("access-control-allow-methods", "").upper()
            check("POST" in methods and "GET" in methods, "Allow-Methods %r" % methods)
            check("content-type" in hd.get("access-control-allow-headers", "").lower(),
                  "Allow-Headers %r" % hd)
    with tap.case("POST and GET replies carry Allow-Origin"):
        st, hd, _ = h.raw("POST", "/janus", {"janus": "ping", "transaction": "p"},
                          headers={"Origin": ORIGIN})
        check(st == 200 and allowed_origin(hd, ORIGIN), "POST: %d %r" % (st, hd))
        st, hd, _ = h.raw("GET", "/janus/info", headers={"Origin": ORIGIN})
        check(st == 200 and allowed_origin(hd, ORIGIN), "GET info: %d %r" % (st, hd))
        h.post("/%d/%d" % (sid, h.attach(sid)), {"janus": "message", "transaction": "m",
                                                  "body": {"audio": True}})
        st, hd, _ = h.raw("GET", "/janus/%d" % sid, headers={"Origin": ORIGIN})
        check(st == 200 and allowed_origin(hd, ORIGIN), "long-poll: %d %r" % (st, hd))
    with tap.case("error replies carry Allow-Origin too"):
        for method, path, body in [("POST", "/janus", "{bad"), ("POST", "/janus/abc", "{}"),
                                   ("PUT", "/janus", "{}")]:
            st, hd, _ = h.raw(method, path, body, headers={"Origin": ORIGIN})
            check(allowed_origin(hd, ORIGIN), "%s %s (%d): %r" % (method, path, st, hd))
    with tap.case("a cross-origin preflight with other requested headers"):
        hdrs = dict(PREFLIGHT)
        hdrs["Access-Control-Request-Headers"] = "content-type, x-requested-with"
        st, hd, _ = h.raw("OPTIONS", "/janus", headers=hdrs)
        allow = hd.get("access-control-allow-headers", "").lower()
        check("x-requested-with" in allow, "Allow-Headers %r" % allow)
    h.destroy(sid)


def pinned_cases(tap, h, pinned):
    with tap.case("--cors-origin pins Allow-Origin"):
        st, hd, _ = h.raw("OPTIONS", "/janus", headers=PREFLIGHT)
        check(200 <= st < 300, "status %d" % st)
        check_eq(hd.get("access-control-allow-origin"), pinned, "preflight")
        st, hd, _ = h.raw("POST", "/janus", {"janus": "ping", "transaction": "p"},
                          headers={"Origin": ORIGIN})
        check_eq(hd.get("access-control-allow-origin"), pinned, "POST")


def main():
    tap = Tap("cors")
    builddir = builddir_from_argv()
    server = Server(builddir, name="cors")
    try:
        default_cases(tap, Http())
    finally:
        stop_and_report(tap, server)
    pinned = "https://pinned.example"
    server = Server(builddir, ["--cors-origin", pinned], name="cors-pinned")
    try:
        pinned_cases(tap, Http(), pinned)
    finally:
        stop_and_report(tap, server, "clean shutdown, no sanitizer report (pinned)")
    tap.exit()


if __name__ == "__main__":
    main()
