"""Session timeout (--session-timeout 3): an idle session's pending long-poll receives
{"janus":"timeout"} and the session is then gone (458); keepalives keep a session alive;
a timed-out session's handles are gone with it."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, error_code, \
    stop_and_report

TIMEOUT = 3


def main():
    tap = Tap("session_timeout")
    # A long-poll timeout above the session timeout, so the parked poll is still there
    # when the session expires.
    server = Server(builddir_from_argv(), ["--session-timeout", str(TIMEOUT),
                                           "--longpoll-timeout", "30"], name="timeout")
    h = Http()
    try:
        with tap.case("info reports the session timeout"):
            check_eq(h.get("/info").get("session-timeout"), TIMEOUT, "session-timeout")
        idle = h.create()
        idle_handle = h.attach(idle)
        kept = h.create()
        result = {}

        def park():
            t0 = time.time()
            try:
                result["ev"] = h.poll(idle, timeout=TIMEOUT + 10)
            except Exception as e:
                result["err"] = e
            result["dt"] = time.time() - t0

        poller = threading.Thread(target=park, daemon=True)
        poller.start()
        # Keep the second session alive with keepalives every second, past the timeout.
        ka_replies = []
        for _ in range(TIMEOUT * 2 + 1):
            time.sleep(1)
            ka_replies.append(h.post("/%d" % kept, {"janus": "keepalive",
                                                    "transaction": "ka"})["janus"])
        poller.join(TIMEOUT + 10)
        with tap.case("a pending long-poll receives the timeout event"):
            check("err" not in result, "poll failed: %r" % result.get("err"))
            ev = result.get("ev")
            check_eq(ev, {"janus": "timeout", "session_id": idle}, "event")
            check(TIMEOUT - 0.5 <= result["dt"] <= TIMEOUT + 2.5,
                  "timeout after %.2fs" % result["dt"])
        with tap.case("the timed-out session is gone (458)"):
            r = h.post("/%d" % idle, {"janus": "keepalive", "transaction": "x"})
            check_eq(error_code(r), 458, "keepalive reply %r" % r)
            check_eq(h.poll_status(idle), (404, {"janus": "error", "session_id": idle, "error": {
                "code": 458, "reason": "No such session %d" % idle}}), "poll")
            r = h.post("/%d/%d" % (idle, idle_handle),
                       {"janus": "message", "transaction": "x", "body": {}})
            check_eq(error_code(r), 458, "message to its handle")
        with tap.case("a session kept alive with keepalives does not time out"):
            check_eq(set(ka_replies), {"ack"}, "keepalive replies")
            r = h.post("/%d" % kept, {"janus": "attach", "plugin": "janus.plugin.echotest",
                                      "transaction": "a"})
            check_eq(r["janus"], "success", "attach after %ds" % (TIMEOUT * 2 + 1))
        with tap.case("a session kept busy by long-polls does not time out"):
            polled = h.create()
            end = time.time() + TIMEOUT * 2
            while time.time() < end:
                try:  # each poll is cut by the client after 1s: a new one follows
                    h.call("GET", "/janus/%d" % polled, timeout=1)
                except OSError:
                    pass
            r = h.post("/%d" % polled, {"janus": "keepalive", "transaction": "k"})
            check_eq(r["janus"], "ack", "keepalive reply %r" % r)
        with tap.case("an idle session without a poll is gone after the timeout"):
            lone = h.create()
            time.sleep(TIMEOUT + 1.5)
            r = h.post("/%d" % lone, {"janus": "keepalive", "transaction": "k"})
            check_eq(error_code(r), 458, "reply %r" % r)
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
