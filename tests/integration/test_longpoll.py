"""Long-poll: one object without maxev, arrays with it (several queued events in one
poll), a parked poll answered as soon as an event arrives, keepalive after the long-poll
timeout, concurrent polls on one session, and a parked poll woken by destroy."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, error_code, \
    stop_and_report

LONGPOLL_TIMEOUT = 2
PROMPT = 2.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0  # seconds: "at once"


def send_messages(h, sid, hid, txs):
    for tx in txs:
        r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": tx,
                                           "body": {"audio": True}})
        check_eq(r["janus"], "ack", "message reply")


def wait_queued(h, sid, hid, n):
    """The echotest answers on its own thread: give it time to queue n events."""
    time.sleep(0.3 + 0.01 * n)


class Poller(threading.Thread):
    def __init__(self, h, sid, query="", status=False):
        super().__init__(daemon=True)
        self.h, self.sid, self.query, self.status = h, sid, query, status
        self.result = self.error = self.done_at = None

    def run(self):
        try:
            poll = self.h.poll_status if self.status else self.h.poll
            self.result = poll(self.sid, self.query, timeout=20)
        except Exception as e:  # reported by the case that joins it
            self.error = e
        self.done_at = time.time()


def main():
    tap = Tap("longpoll")
    server = Server(builddir_from_argv(), ["--longpoll-timeout", str(LONGPOLL_TIMEOUT)],
                    name="longpoll")
    h = Http()
    try:
        sid = h.create()
        hid = h.attach(sid)
        with tap.case("without maxev a poll returns one event object, oldest first"):
            send_messages(h, sid, hid, ["a1", "a2", "a3"])
            wait_queued(h, sid, hid, 3)
            got = []
            for _ in range(3):
                ev = h.poll(sid)
                check(isinstance(ev, dict), "an object, not %r" % type(ev))
                got.append(ev.get("transaction"))
            check_eq(got, ["a1", "a2", "a3"], "order")
        with tap.case("maxev=10 delivers several queued events in one array"):
            send_messages(h, sid, hid, ["b1", "b2", "b3", "b4"])
            wait_queued(h, sid, hid, 4)
            evs = h.poll(sid, "?maxev=10")
            check(isinstance(evs, list), "an array, not %r" % evs)
            check_eq([e.get("transaction") for e in evs], ["b1", "b2", "b3", "b4"], "events")
        with tap.case("maxev=2 caps the array, the rest comes next"):
            send_messages(h, sid, hid, ["c1", "c2", "c3"])
            wait_queued(h, sid, hid, 3)
            first = h.poll(sid, "?maxev=2")
            check_eq([e.get("transaction") for e in first], ["c1", "c2"], "first poll")
            second = h.poll(sid, "?maxev=2")
            check_eq([e.get("transaction") for e in second], ["c3"], "second poll")
        with tap.case("maxev=1 returns a single object"):
            send_messages(h, sid, hid, ["d1"])
            wait_queued(h, sid, hid, 1)
            ev = h.poll(sid, "?maxev=1")
            check(isinstance(ev, dict) and ev.get("transaction") == "d1", "got %r" % ev)
        with tap.case("a parked poll is answered as soon as an event arrives"):
            p = Poller(h, sid)
            p.start()
            time.sleep(0.5)
            check(p.done_at is None, "poll returned before any event: %r" % p.result)
            t0 = time.time()
            send_messages(h, sid, hid, ["e1"])
            p.join(10)
            check(p.error is None, "poll failed: %r" % p.error)
            check_eq(p.result.get("transaction"), "e1", "event")
            lag = p.done_at - t0
            check(lag < PROMPT, "poll returned %.2fs after the message" % lag)
        with tap.case("keepalive after the long-poll timeout"):
            t0 = time.time()
            ev = h.poll(sid, timeout=15)
            dt = time.time() - t0
            check_eq(ev, {"janus": "keepalive"}, "reply")
            check(LONGPOLL_TIMEOUT - 0.5 <= dt <= LONGPOLL_TIMEOUT + 2.5,
                  "keepalive after %.2fs, timeout is %ds" % (dt, LONGPOLL_TIMEOUT))
        with tap.case("keepalive after the long-poll timeout with maxev"):
            ev = h.poll(sid, "?maxev=5", timeout=15)
            check(ev == {"janus": "keepalive"} or ev == [{"janus": "keepalive"}],
                  "reply %r" % ev)
        with tap.case("concurrent polls on one session each get a distinct event"):
            polls = [Poller(h, sid) for _ in range(3)]
            for p in polls:
                p.start()
            time.sleep(0.5)
            send_messages(h, sid, hid, ["f1", "f2", "f3"])
            for p in polls:
                p.join(10)
            errs = [p.error for p in polls if p.error]
            check(not errs, "poll errors %r" % errs)
            txs = sorted(p.result.get("transaction") for p in polls)
            check_eq(txs, ["f1", "f2", "f3"], "events across the polls")
        with tap.case("events still queue while no poll is parked"):
            send_messages(h, sid, hid, ["g1"])
            wait_queued(h, sid, hid, 1)
            ev = h.poll(sid)
            check_eq(ev.get("transaction"), "g1", "event")
        with tap.case("a parked poll is answered HTTP 404 (458) when the session is destroyed"):
            sid2 = h.create()
            p = Poller(h, sid2, status=True)
            p.start()
            time.sleep(0.5)
            t0 = time.time()
            h.destroy(sid2)
            p.join(10)
            check(p.error is None, "poll failed: %r" % p.error)
            check_eq(p.result[0], 404, "HTTP status of the poll")
            check_eq(error_code(p.result[1]), 458, "poll reply %r" % (p.result,))
            check(p.done_at - t0 < PROMPT, "answered %.2fs after destroy" % (p.done_at - t0))
        with tap.case("poll of an unknown session: HTTP 404 with 458, with or without maxev"):
            for query in ("", "?maxev=5", "?rid=1&maxev=1"):
                st, j = h.poll_status(12345, query)
                check_eq(st, 404, "HTTP status (%r)" % query)
                check_eq(error_code(j), 458, "unknown session (%r)" % query)
                check_eq(j.get("session_id"), 12345, "the session asked for (%r)" % query)
        with tap.case("rid and unknown query arguments are ignored"):
            send_messages(h, sid, hid, ["h1"])
            wait_queued(h, sid, hid, 1)
            ev = h.poll(sid, "?rid=1700000000000&_=5&maxev=bogus")
            got = ev[0] if isinstance(ev, list) else ev
            check_eq(got.get("transaction"), "h1", "event")
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
