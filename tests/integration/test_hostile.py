"""Hostile input does not hurt others: a flood of bad requests, thousands of sessions,
hundreds of parked polls and idle connections while another client's session keeps
working; and the bounds (sessions, handles per session, queued events, polls per
session) hold."""
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import HTTP_PORT, WS_PORT, Http, Server, Tap, builddir_from_argv, check, \
    check_eq, error_code, raw_exchange, stop_and_report
from wsclient import WsClient

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))
SLOW = 4.0 if SANITIZED else 1.5  # longest acceptable round trip for the victim


class Victim(threading.Thread):
    """A well-behaved client: message then long-poll, over and over, timing each."""

    def __init__(self, rounds):
        super().__init__(daemon=True)
        self.h = Http(timeout=15)
        self.sid = self.h.create()
        self.hid = self.h.attach(self.sid)
        self.rounds, self.times, self.errors = rounds, [], []

    def run(self):
        for i in range(self.rounds):
            t0 = time.time()
            try:
                tx = "v%d" % i
                r = self.h.post("/%d/%d" % (self.sid, self.hid),
                                {"janus": "message", "transaction": tx, "body": {}})
                check_eq(r["janus"], "ack", "victim ack")
                ev = self.h.poll(self.sid, timeout=15)
                check_eq(ev.get("transaction"), tx, "victim event")
            except Exception as e:
                self.errors.append(repr(e))
            self.times.append(time.time() - t0)
            time.sleep(0.05)

    def verdict(self):
        check(not self.errors, "victim errors: %r" % self.errors[:3])
        check_eq(len(self.times), self.rounds, "victim rounds")
        worst = max(self.times)
        check(worst < SLOW, "victim's slowest round trip %.2fs" % worst)


BAD = [
    ("POST", "/janus", "{not json"),
    ("POST", "/janus", "[]"),
    ("POST", "/janus/123456", '{"janus":"keepalive","transaction":"x"}'),
    ("POST", "/janus/1/2/3/4", "{}"),
    ("GET", "/janus/99999"),
    ("DELETE", "/janus"),
    ("POST", "/janus", '{"janus":"attach","transaction":"x"}'),
    ("POST", "/janus", '{"janus":"create","transaction":"' + "x" * 3000 + '"}'),
]
RAW = [b"HELLO\r\n\r\n", b"GET / HTTP/1.1\r\nBad\r\n\r\n", b"\x00\xff" * 100,
       b"POST /janus HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{"]


def flood(n, errors):
    h = Http(timeout=10)
    for i in range(n):
        try:
            if i % 10 == 9:
                raw_exchange(HTTP_PORT, RAW[i % len(RAW)], timeout=2)
            else:
                m, p, *body = BAD[i % len(BAD)]
                h.raw(m, p, body[0] if body else None)
        except OSError as e:
            errors.append(repr(e))


def flood_cases(tap):
    with tap.case("a flood of bad requests does not slow another client down"):
        victim = Victim(20)
        errors = []
        floods = [threading.Thread(target=flood, args=(400, errors), daemon=True)
                  for _ in range(3)]
        for f in floods:
            f.start()
        victim.start()
        for f in floods:
            f.join(120)
        victim.join(120)
        victim.verdict()
        check(len(errors) < 20, "flood connection errors: %r" % errors[:5])
        st = {}
    with tap.case("a flood of bad WebSocket messages does not slow another client down"):
        victim = Victim(10)
        ws = WsClient(WS_PORT)
        victim.start()
        for i in range(1500):
            ws.send_text(["{", "[]", '{"janus":"keepalive","session_id":1,"transaction":"x"}',
                          '{"janus":"frob","transaction":"y"}'][i % 4])
        got = 0
        while got < 1500:
            ws.recv(10)
            got += 1
        victim.join(60)
        victim.verdict()
        ws.close()
    with tap.case("thousands of sessions, then another client still works"):
        h = Http()
        sids = [h.create(tx="many%d" % i) for i in range(2000)]
        check_eq(len(set(sids)), 2000, "distinct session ids")
        victim = Victim(5)
        victim.start()
        victim.join(60)
        victim.verdict()
        for sid in sids[:1000]:
            h.destroy(sid)  # the rest is left for the shutdown to free
    with tap.case("one session destroyed at once over HTTP and WebSocket, many times"):
        h = Http()
        ws = WsClient(WS_PORT)
        codes = set()
        for i in range(300):
            sid = h.create()
            barrier = threading.Barrier(2)
            out = {}

            def by_http():
                barrier.wait()
                out["http"] = h.post("/%d" % sid, {"janus": "destroy", "transaction": "h"})

            t = threading.Thread(target=by_http)
            t.start()
            barrier.wait()
            out["ws"] = ws.request({"janus": "destroy", "session_id": sid,
                                    "transaction": "w%d" % i})
            t.join(10)
            kinds = sorted(r.get("janus") if error_code(r) is None else str(error_code(r))
                           for r in out.values())
            codes.add(tuple(kinds))
            check(kinds in (["458", "success"], ["success", "success"]), "replies %r" % kinds)
        ws.close()
    with tap.case("hundreds of parked polls and idle connections, another client works"):
        h = Http(timeout=60)
        sids = [h.create(tx="p%d" % i) for i in range(200)]
        results = []

        def park(sid):
            try:
                results.append(error_code(h.poll(sid, timeout=60)))
            except Exception as e:
                results.append(repr(e))

        pollers = [threading.Thread(target=park, args=(s,), daemon=True) for s in sids]
        for p in pollers:
            p.start()
        idle = [socket.create_connection(("127.0.0.1", HTTP_PORT)) for _ in range(200)]
        half = [socket.create_connection(("127.0.0.1", HTTP_PORT)) for _ in range(50)]
        for s in half:
            s.sendall(b"POST /janus HTTP/1.1\r\nContent-Length: 500\r\n\r\n{\"ja")
        time.sleep(0.5)
        victim = Victim(5)
        victim.start()
        victim.join(60)
        victim.verdict()
        for sid in sids:
            h.destroy(sid)
        for p in pollers:
            p.join(20)
        check_eq(results, [458] * len(sids), "parked polls answered at destroy")
        for s in idle + half:
            s.close()


def write_config(path):
    with open(path, "w") as f:
        f.write("general: {\n  max_sessions = 20;\n  max_handles_per_session = 3;\n"
                "  event_queue_max = 16;\n  event_queue_max_bytes = 4096;\n};\nhttp: {\n  max_polls_per_session = 2;\n};\n")


def bound_cases(tap):
    h = Http()
    with tap.case("max_sessions: the session past the bound is refused (472)"):
        sids = [h.create(tx="b%d" % i) for i in range(20)]
        r = h.post("", {"janus": "create", "transaction": "over"})
        check_eq(error_code(r), 472, "reply %r" % r)
        h.destroy(sids.pop())
        sids.append(h.create())  # room again after a destroy
        for sid in sids[1:]:
            h.destroy(sid)
        st = {"sid": sids[0]}
    sid = sids[0]
    with tap.case("max_handles_per_session: the handle past the bound is refused (461)"):
        hids = [h.attach(sid, tx="a%d" % i) for i in range(3)]
        r = h.post("/%d" % sid, {"janus": "attach", "plugin": "janus.plugin.echotest",
                                 "transaction": "over"})
        check_eq(error_code(r), 461, "reply %r" % r)
    hid = hids[0]
    with tap.case("event_queue_max: old events are dropped, the newest are kept"):
        for i in range(40):
            h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "q%d" % i,
                                           "body": {}})
        time.sleep(1.0)
        evs = h.poll(sid, "?maxev=100")
        txs = [e.get("transaction") for e in evs]
        check(len(txs) <= 16, "%d events kept" % len(txs))
        check_eq(txs[-1], "q39", "the newest event")
        check_eq(txs, ["q%d" % i for i in range(40 - len(txs), 40)], "a contiguous tail")
    with tap.case("event_queue_max_bytes: large events are kept within the byte bound"):
        pad = "x" * 1000
        for i in range(10):
            h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "b%d%s" % (i, pad),
                                           "body": {}})
        time.sleep(1.0)
        evs = h.poll(sid, "?maxev=100")
        txs = [e.get("transaction") for e in evs]
        size = sum(len(json.dumps(e, separators=(",", ":"))) for e in evs)
        tap.note("%d events of %d bytes kept" % (len(evs), size))
        check(size <= 4096, "%d bytes kept" % size)
        check(len(evs) >= 2, "%d events kept" % len(evs))
        check_eq(txs[-1], "b9" + pad, "the newest event")
    with tap.case("max_polls_per_session: the oldest parked poll is answered"):
        results = {}

        def park(i):
            t0 = time.time()
            results[i] = (h.poll(sid, timeout=30), time.time() - t0)

        ts = []
        for i in range(3):
            t = threading.Thread(target=park, args=(i,), daemon=True)
            t.start()
            ts.append(t)
            time.sleep(0.4)
        ts[0].join(5)
        check(0 in results, "the first poll is still parked with 3 polls on the session")
        check_eq(results[0][0], {"janus": "keepalive"}, "the evicted poll's reply")
        check(1 not in results and 2 not in results, "the two newest stay parked")
        h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "wake1",
                                       "body": {}})
        h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "wake2",
                                       "body": {}})
        for t in ts[1:]:
            t.join(10)
        got = sorted(results[i][0].get("transaction") for i in (1, 2))
        check_eq(got, ["wake1", "wake2"], "the parked polls get the events")
    h.destroy(sid)


def main():
    tap = Tap("hostile")
    builddir = builddir_from_argv()
    server = Server(builddir, ["--max-body-size", "2048"], name="hostile")
    try:
        flood_cases(tap)
    finally:
        stop_and_report(tap, server)
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.close()
    write_config(conf.name)
    server = Server(builddir, ["--config", conf.name], name="bounds")
    try:
        bound_cases(tap)
    finally:
        stop_and_report(tap, server, "clean shutdown, no sanitizer report (bounds)")
        os.unlink(conf.name)
    tap.exit()


if __name__ == "__main__":
    main()
