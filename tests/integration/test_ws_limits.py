"""WebSocket transport under hostile clients: frames RFC 6455 forbids close the connection
with the right code (an unmasked client frame: 1002), and clients that never read their
replies cost the server a bounded amount of memory (per connection and in total), are
closed once over their budget or stalled, and never slow another client down."""
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import WS_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402
from wsclient import WsClient, WsError  # noqa: E402

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))
NON_READERS = 40
STALL_TIMEOUT = 4


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def close_code(ws, timeout=5):
    """The code of the server's close frame, then the end of the stream; None if the
    connection stays open."""
    ws.sock.settimeout(timeout)
    try:
        while True:
            _, op, payload = ws.recv_frame()
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                try:  # nothing may follow the close frame but the end of the stream
                    rest = ws.sock.recv(100)
                except OSError:
                    rest = b""
                return code if not rest else ("data after close", rest)
    except socket.timeout:
        return None
    except (WsError, OSError):
        return "closed without a close frame"


VIOLATIONS = [
    ("an unmasked text frame", lambda ws: ws.send_frame(0x1, b'{"janus":"ping"}', mask=False),
     1002),
    ("an unmasked ping", lambda ws: ws.send_frame(0x9, b"x", mask=False), 1002),
    ("RSV1 without an extension",
     lambda ws: ws.sock.sendall(bytes([0xC1, 0x80]) + os.urandom(4)), 1002),
    ("a reserved opcode", lambda ws: ws.send_frame(0x3, b"{}"), 1002),
    ("a fragmented ping", lambda ws: ws.send_frame(0x9, b"x", fin=False), 1002),
    ("a continuation of nothing", lambda ws: ws.send_frame(0x0, b"{}"), 1002),
    ("a text frame that is not UTF-8", lambda ws: ws.send_frame(0x1, b'"\xed\xa0\x80"'), 1007),
]


class Victim(threading.Thread):
    """A client that reads: ping/pong round trips, timed, while the others misbehave."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ws = WsClient(WS_PORT)
        self.times, self.errors, self.stop = [], [], False

    def run(self):
        i = 0
        while not self.stop:
            t0 = time.time()
            try:
                r = self.ws.request({"janus": "ping", "transaction": "v%d" % i}, timeout=10)
                if r.get("janus") != "pong":
                    self.errors.append(r)
            except Exception as e:
                self.errors.append(repr(e))
                return
            self.times.append(time.time() - t0)
            i += 1
            time.sleep(0.02)


def flood_without_reading(port, requests):
    """Opens a connection and writes `requests` info requests (1 KB replies each) without
    ever reading; stops early when the server stops reading too (the socket blocks)."""
    ws = WsClient(port)
    ws.sock.setblocking(False)
    frame = None
    sent = 0
    pending = b""
    for _ in range(requests):
        if not pending:
            key = os.urandom(4)
            body = json.dumps({"janus": "info", "transaction": "f"}).encode()
            frame = bytes([0x81, 0x80 | len(body)]) + key + \
                bytes(b ^ key[i % 4] for i, b in enumerate(body))
            pending = frame
        try:
            n = ws.sock.send(pending)
        except BlockingIOError:
            break
        pending = pending[n:]
        if not pending:
            sent += 1
    return ws, sent


def violation_cases(tap):
    for what, act, want in VIOLATIONS:
        with tap.case("%s closes the connection with %d" % (what, want)):
            ws = WsClient(WS_PORT)
            r = ws.request({"janus": "ping", "transaction": "before"})
            check_eq(r["janus"], "pong", "works before")
            act(ws)
            check_eq(close_code(ws), want, "close code")
            ws.sock.close()
            other = WsClient(WS_PORT)
            check_eq(other.request({"janus": "ping", "transaction": "o"})["janus"], "pong",
                     "another connection still works")
            other.close()


def non_reader_cases(tap, server):
    with tap.case("%d clients that never read: bounded memory, another client unaffected"
                  % NON_READERS):
        warm = [WsClient(WS_PORT) for _ in range(5)]  # the service thread's steady state
        for w in warm:
            w.request({"janus": "info", "transaction": "w"})
            w.close()
        time.sleep(0.5)
        before = rss_kib(server.pid)
        victim = Victim()
        victim.start()
        readers = []
        total_sent = 0
        for _ in range(NON_READERS):
            ws, sent = flood_without_reading(WS_PORT, 20000)
            readers.append(ws)
            total_sent += sent
        time.sleep(2.0)
        peak = rss_kib(server.pid)
        per_client = (peak - before) / NON_READERS
        tap.note("%d info requests written without reading (%.0f per client); server RSS "
                 "%d -> %d KiB: %.0f KiB per client" % (total_sent, total_sent / NON_READERS,
                                                         before, peak, per_client))
        check(total_sent > NON_READERS * 200,
              "the clients wrote enough to matter (%d requests)" % total_sent)
        if not SANITIZED:  # ASan's quarantine and shadow memory make RSS meaningless
            check(per_client <= 1024, "%.0f KiB per non-reading client" % per_client)
        victim.stop = True
        victim.join(15)
        check(not victim.errors, "victim errors: %r" % victim.errors[:3])
        worst = max(victim.times) if victim.times else 99
        tap.note("victim: %d round trips, slowest %.0f ms" % (len(victim.times), worst * 1000))
        check(worst < (4.0 if SANITIZED else 1.0), "victim's slowest round trip %.2fs" % worst)
        victim.ws.close()
        with tap.case("stalled clients are closed after the stall timeout"):
            time.sleep(STALL_TIMEOUT + 2)
            codes = []
            for ws in readers:
                ws.sock.setblocking(True)
                codes.append(drain_to_close(ws))
            tap.note("endings: %r" % sorted(set(map(str, codes))))
            check(all(c in (1008, "eof") for c in codes), "every stalled client closed")
            n = log_count(server, "has not read for")
            check_eq(n, NON_READERS, "stalled connections closed by the stall timeout")
        for ws in readers:
            ws.sock.close()


def drain_to_close(ws, timeout=10):
    """Reads everything the server had sent; returns the close frame's code, "eof" when
    the connection ended without one (a client that does not read may never get it), or
    "open" when it is still open after timeout."""
    ws.sock.settimeout(timeout)
    try:
        while True:
            _, op, payload = ws.recv_frame()
            if op == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
    except socket.timeout:
        return "open"
    except (WsError, OSError):
        return "eof"


def log_count(server, text):
    with open(server.log_path, errors="replace") as fh:
        return sum(text in line for line in fh)


def event_overflow_case(tap, server):
    with tap.case("a client that stops reading while events pile up is closed"):
        ws = WsClient(WS_PORT)
        sid = ws.request({"janus": "create", "transaction": "c"})["data"]["id"]
        hid = ws.request({"janus": "attach", "plugin": "janus.plugin.echotest",
                          "session_id": sid, "transaction": "a"})["data"]["id"]
        # It never reads again: events for its session come from HTTP requests, each with
        # a 10 KB transaction echoed back, until the server gives up on it.
        h = Http()
        pad = "x" * 10000
        for i in range(400):
            r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "e%d%s" %
                                               (i, pad), "body": {}})
            if r.get("janus") != "ack":
                break
            if i % 20 == 19:
                time.sleep(0.05)
        time.sleep(0.5)
        code = drain_to_close(ws)
        tap.note("ended with %r" % (code,))
        check(code in (1008, "eof"), "connection closed: %r" % (code,))
        check_eq(log_count(server, "over its queue budget"), 1, "closed for its budget")
        # The session outlives the connection: its newest events wait for a claim.
        r = h.post("/%d" % sid, {"janus": "keepalive", "transaction": "k"})
        check_eq(r.get("janus"), "ack", "session still there")
        h.destroy(sid)
        ws.sock.close()


def main():
    builddir = builddir_from_argv()
    tap = Tap("ws-limits")
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("websocket: {\n  stall_timeout = %d;\n};\n" % STALL_TIMEOUT)
    conf.close()
    server = Server(builddir, ["-C", conf.name], name="ws-limits")
    try:
        violation_cases(tap)
        event_overflow_case(tap, server)
        non_reader_cases(tap, server)
    finally:
        stop_and_report(tap, server)
        os.unlink(conf.name)
    tap.exit()


if __name__ == "__main__":
    main()
