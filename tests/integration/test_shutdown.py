"""Clean shutdown: SIGTERM (or SIGINT) with live sessions and handles, parked long-polls,
open WebSockets and requests in flight: the daemon exits 0 promptly, answers or closes
every parked poll, and leaves no sanitizer report (leaks included)."""
import http.client
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import HTTP_PORT, WS_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq

from wsclient import WsClient, WsError

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))
PROMPT = 10.0 if SANITIZED else 3.0


def stopped_cleanly(server, sig=signal.SIGTERM):
    if sig != signal.SIGTERM:
        server.proc.send_signal(sig)
    problems = server.stop()
    check(not problems, "\n".join(problems))
    check(server.stop_seconds < PROMPT, "took %.1fs to exit" % server.stop_seconds)


def closed_by_server(ws, timeout=2.0):
    """Whether the server ended ws: what it still had queued is read, then must come a close
    frame, the end of the stream or a reset. False when the socket is still open (nothing
    within timeout). ws must not have been closed on our side (that raises OSError)."""
    try:
        while True:
            ws.recv(timeout)
    except socket.timeout:
        return False
    except (WsError, ConnectionError):
        return True


def stop_under_load(server, workers, stop, settle):
    """Start the worker threads, let them run for settle seconds, SIGTERM the server (it
    must exit cleanly and promptly), then stop and join them."""
    for w in workers:
        w.start()
    try:
        time.sleep(settle)
        stopped_cleanly(server)
    finally:
        stop.set()
        for w in workers:
            w.join(10)
        server.cleanup()


def busy_server(builddir, tap, name):
    server = Server(builddir, name=name)
    h = Http(timeout=30)
    sids = []
    for i in range(50):
        sid = h.create(tx="s%d" % i)
        for _ in range(2):
            hid = h.attach(sid)
        sids.append((sid, hid))
    for sid, hid in sids[:10]:
        h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "m",
                                       "body": {"audio": True}})
    sockets = []
    for i in range(10):
        ws = WsClient(WS_PORT)
        r = ws.request({"janus": "create", "transaction": "w%d" % i})
        wsid = r["data"]["id"]
        r = ws.request({"janus": "attach", "session_id": wsid, "transaction": "a",
                        "plugin": "janus.plugin.echotest"})
        ws.send({"janus": "message", "session_id": wsid, "handle_id": r["data"]["id"],
                 "transaction": "wm", "body": {}})
        sockets.append(ws)
    polls = []

    def park(sid):
        try:
            polls.append(("reply", h.poll(sid, timeout=30)))
        except Exception as e:  # a closed connection is an acceptable end too
            polls.append(("closed", repr(e)))

    threads = [threading.Thread(target=park, args=(sid,), daemon=True)
               for sid, _ in sids[20:40]]
    for t in threads:
        t.start()
    time.sleep(0.5)
    return server, sockets, threads, polls


def main():
    tap = Tap("shutdown")
    builddir = builddir_from_argv()

    with tap.case("an idle server exits 0 promptly on SIGTERM"):
        server = Server(builddir, name="idle")
        try:
            stopped_cleanly(server)
        finally:
            server.cleanup()

    # The HTTP port answers while the WebSocket transport is still starting (its context,
    # then its service thread): a SIGTERM then must end in a clean exit, not in the default
    # action (exit by signal 15), as it did when the handlers came after the transports.
    with tap.case("SIGTERM as soon as the HTTP port answers, mid start-up: exit 0"):
        for _ in range(5):
            server = Server(builddir, name="starting", wait_ws=False)
            try:
                stopped_cleanly(server)
            finally:
                server.cleanup()

    with tap.case("SIGTERM with sessions, handles, parked polls and WebSockets: exit 0"):
        server, sockets, threads, polls = busy_server(builddir, tap, "busy")
        try:
            stopped_cleanly(server)
            for t in threads:
                t.join(5)
            check_eq(len(polls), len(threads), "parked polls that ended")
        finally:
            server.cleanup()  # the WebSockets stay ours to read: the next case closes them

    with tap.case("parked polls were answered or closed, WebSockets closed"):
        try:
            for kind, what in polls:
                check(kind == "closed" or what.get("janus") in ("keepalive", "error"),
                      "poll ended with %r" % (what,))
            check_eq(len(sockets), 10, "WebSockets opened before the SIGTERM")
            for i, ws in enumerate(sockets):
                check(closed_by_server(ws), "WebSocket %d still open after the exit" % i)
        finally:
            for ws in sockets:
                ws.close()

    with tap.case("SIGINT with the same load: exit 0"):
        server, sockets, threads, polls = busy_server(builddir, tap, "busy-int")
        try:
            stopped_cleanly(server, signal.SIGINT)
        finally:
            server.cleanup()
            for ws in sockets:
                ws.close()

    with tap.case("SIGTERM while requests and polls keep arriving: exit 0"):
        server = Server(builddir, name="inflight")
        stop = threading.Event()

        def hammer():
            h = Http(timeout=5)
            while not stop.is_set():
                try:
                    sid = h.create()
                    h.call("GET", "/janus/%d" % sid, timeout=0.3)
                except Exception:
                    pass

        def wshammer():
            while not stop.is_set():
                try:
                    ws = WsClient(WS_PORT, timeout=2)
                    ws.request({"janus": "create", "transaction": "x"}, timeout=2)
                    ws.close()
                except Exception:
                    pass

        workers = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
        workers.append(threading.Thread(target=wshammer, daemon=True))
        stop_under_load(server, workers, stop, 1.5)

    # Each answered poll is followed at once by the next on the same kept-alive connection,
    # as janus.js does: a poll that parks after the server answered the parked ones at
    # shutdown made libmicrohttpd abort ("MHD_stop_daemon() called while we have suspended
    # connections"), exit by signal 6.
    with tap.case("SIGTERM while kept-alive clients re-poll at once: exit 0, every time"):
        for round_no in range(6):
            server = Server(builddir, name="repoll%d" % round_no)
            stop = threading.Event()
            sids = [Http().create() for _ in range(8)]

            def repoll(sid):
                conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=5)
                while not stop.is_set():
                    try:
                        conn.request("GET", "/janus/%d" % sid)
                        conn.getresponse().read()
                    except Exception:
                        return

            workers = [threading.Thread(target=repoll, args=(sid,), daemon=True)
                       for sid in sids]
            stop_under_load(server, workers, stop, 0.3)

    tap.exit()


if __name__ == "__main__":
    main()
