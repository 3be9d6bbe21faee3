"""The webhook event handler against real HTTP receivers: an aiortc EchoTest call's events
(core, session, handle, jsep, webrtc, media) arrive in the reference server's format,
batched; the types filter holds; a receiver that answers 500 or never answers gets its
events dropped and counted (/metrics) while calls and the API go on unslowed."""
import asyncio
import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq,  # noqa
                    stop_and_report)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from test_echo_aiortc import echo_call, until_decoded  # noqa: E402

RECV_PORT = 19000
ADMIN_PORT = HTTP_PORT - 1000


class Receiver:
    """An HTTP receiver on 127.0.0.1: records every POST (path, headers, parsed body) and
    answers `status`, or, with hang=True, reads the request and never answers."""

    def __init__(self, status=200, hang=False):
        self.posts, self.status, self.hang = [], status, hang
        self.lock = threading.Lock()
        self.release = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.posts.append((self.path, dict(self.headers), json.loads(body)))
                if outer.hang:
                    outer.release.wait(60)
                    return
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", RECV_PORT), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        with self.lock:
            out = []
            for _, _, body in self.posts:
                out.extend(body if isinstance(body, list) else [body])
            return out

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def conf_file(extra):
    f = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    f.write("events: { webhook = \"http://127.0.0.1:%d/ev\"; %s };\n" % (RECV_PORT, extra))
    f.close()
    return f.name


def scrape():
    conn = socket.create_connection(("127.0.0.1", ADMIN_PORT), timeout=5)
    conn.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        c = conn.recv(65536)
        if not c:
            break
        data += c
    conn.close()
    text = data.split(b"\r\n\r\n", 1)[1].decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def dropped(m):
    return m.get(("switchboard_events_dropped_total", (("queue", "webhook"),)), 0)


async def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        await asyncio.sleep(0.1)
    return pred()


def find(events, type_, pred=lambda e: True):
    return [e for e in events if e.get("type") == type_ and pred(e)]


async def call_and_hangup(http, opaque=None):
    """An EchoTest call with video decoded, hung up, detached and destroyed; returns
    (sid, hid, frames decoded)."""
    sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
    ok = await until_decoded(decoded, 20)
    await asyncio.sleep(1.5)  # media events, a receiver report or two
    await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid),
                            {"janus": "hangup", "transaction": "h"})
    await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid),
                            {"janus": "detach", "transaction": "d"})
    await pc.close()
    for c in consumers:
        c.cancel()
    poller.stop = True
    http.destroy(sid)
    try:
        await asyncio.wait_for(poll_task, 40)
    except Exception:
        pass
    return sid, hid, decoded.get("video", 0) if ok else 0


async def format_case(tap, builddir):
    recv = Receiver()
    conf = conf_file('emitter = "sb-test"; backoff_ms = 100; media_stats_period = 1;')
    server = Server(builddir, ws=False, name="webhook", args=["-C", conf])
    try:
        http = Http()
        sid, hid, frames = await call_and_hangup(http)
        check(frames > 0, "call: no video decoded")
        Http(port=ADMIN_PORT, base="/admin").post("", {
            "janus": "message_plugin", "transaction": "m", "plugin": "janus.plugin.videoroom",
            "request": {"request": "create", "room": 77}})
        await wait_for(lambda: find(recv.events(), 64, lambda e: e["event"].get("plugin") ==
                                    "janus.plugin.videoroom"), 5)
        evs = recv.events()
        tap.note("%d events in %d POSTs; types %s" % (
            len(evs), len(recv.posts), sorted({(e["type"], e.get("subtype")) for e in evs},
                                              key=lambda x: (x[0], x[1] or 0))))
        with tap.case("every POST: JSON array of events (grouping), Content-Type JSON, to the "
                      "configured path"):
            check(recv.posts, "nothing received")
            for path, headers, body in recv.posts:
                check_eq(path, "/ev", "path")
                check(headers.get("Content-Type", "").startswith("application/json"),
                      "content type %r" % headers.get("Content-Type"))
                check(isinstance(body, list) and body, "body %r" % body)
            check(len(recv.posts) < len(evs), "not batched: %d POSTs, %d events" % (
                len(recv.posts), len(evs)))
        with tap.case("every event: type, timestamp (wall clock µs), emitter, event body"):
            for e in evs:
                check(isinstance(e.get("type"), int) and isinstance(e.get("event"), dict),
                      "event %r" % e)
                check(abs(e["timestamp"] / 1e6 - time.time()) < 120, "timestamp %r" % e)
                check_eq(e.get("emitter"), "sb-test", "emitter")
        with tap.case("core: started (subtype 1) with the server's info"):
            core = find(evs, 256, lambda e: e.get("subtype") == 1)
            check(core and core[0]["event"].get("status") == "started" and
                  core[0]["event"].get("info", {}).get("janus") == "server_info", "core %r" % core)
        with tap.case("session: created (with its transport) and destroyed, with session_id"):
            names = [(e["event"].get("name"), e.get("session_id"))
                     for e in find(evs, 1)]
            check(("created", sid) in names and ("destroyed", sid) in names, "%r" % names)
            created = find(evs, 1, lambda e: e["event"].get("name") == "created")[0]
            check_eq(created["event"].get("transport", {}).get("transport"),
                     "janus.transport.http", "transport")
        with tap.case("handle: attached and detached, with session_id, handle_id and plugin"):
            hs = [(e["event"].get("name"), e["event"].get("plugin")) for e in find(
                evs, 2, lambda e: e.get("session_id") == sid and e.get("handle_id") == hid)]
            check(("attached", "janus.plugin.echotest") in hs and
                  ("detached", "janus.plugin.echotest") in hs, "%r" % hs)
        with tap.case("jsep: the client's offer (remote) and our answer (local), with SDP"):
            js = [(e["event"].get("owner"), e["event"].get("jsep", {}).get("type"),
                   "v=0" in e["event"].get("jsep", {}).get("sdp", "")) for e in find(evs, 8)]
            check(("remote", "offer", True) in js and ("local", "answer", True) in js,
                  "%r" % js)
        with tap.case("webrtc: ICE states, candidates both ways, selected pair, DTLS, "
                      "webrtcup and hangup, each with its subtype"):
            w = find(evs, 16, lambda e: e.get("handle_id") == hid)
            subs = {e.get("subtype") for e in w}
            check(subs >= {1, 2, 3, 4, 5, 6}, "subtypes %r" % sorted(subs))
            ice = [e["event"].get("ice") for e in w if e.get("subtype") == 1]
            check(ice[:1] == ["gathering"] and {"connecting", "connected", "ready"} <= set(ice),
                  "ICE states %r" % ice)
            check(all(e["event"].get("stream_id") == 1 and e["event"].get("component_id") == 1
                      for e in w if e.get("subtype") != 6), "stream_id/component_id")
            cands = [e["event"] for e in w if e.get("subtype") in (2, 3)]
            check(all(not c.get("local-candidate", c.get("remote-candidate", "")).startswith(
                "candidate:") for c in cands), "candidate prefixes %r" % cands)
            pair = [e["event"] for e in w if e.get("subtype") == 4]
            check(pair and pair[0].get("candidates", {}).get("local", {}).get("port") and
                  pair[0]["candidates"].get("remote", {}).get("address") == "127.0.0.1",
                  "selected pair %r" % pair)
            dtls = [e["event"].get("dtls") for e in w if e.get("subtype") == 5]
            check("connected" in dtls, "DTLS states %r" % dtls)
            pc = [e["event"].get("connection") for e in w if e.get("subtype") == 6]
            check(pc[:1] == ["webrtcup"] and "hangup" in pc, "PeerConnection states %r" % pc)
            check(any("<->" in e["event"].get("selected-pair", "") for e in w), "selected pair")
        with tap.case("media: receiving on for audio and video (subtype 1); reports every "
                      "media_stats_period (1 s) and at hangup (subtype 3) with packets both "
                      "ways"):
            ms = [(e["event"].get("media"), e["event"].get("receiving"))
                  for e in find(evs, 32, lambda e: e.get("subtype") == 1)]
            check(("audio", True) in ms and ("video", True) in ms, "%r" % ms)
            reps = [e["event"] for e in find(evs, 32, lambda e: e.get("subtype") == 3)]
            check({r.get("media") for r in reps} == {"audio", "video"}, "reports %r" % reps)
            check(len(reps) >= 4, "%d reports: one period's and the hangup's expected" % len(reps))
            check(all(r.get("packets-received", 0) > 0 and r.get("packets-sent", 0) > 0 and
                      r.get("codec") and r.get("base") for r in reps[-2:]), "last %r" % reps[-2:])
        with tap.case("plugin: a VideoRoom room created by the Admin API"):
            vr = find(evs, 64, lambda e: e["event"].get("plugin") == "janus.plugin.videoroom")
            check([e["event"]["data"] for e in vr] == [{"event": "created", "room": 77}],
                  "videoroom %r" % vr)
        with tap.case("plugin: the EchoTest's settings after its request, with its ids"):
            pl = find(evs, 64, lambda e: e.get("handle_id") == hid)
            check(pl and pl[0]["event"].get("plugin") == "janus.plugin.echotest" and
                  pl[0]["event"].get("data", {}).get("audio_active") is True, "plugin %r" % pl)
        m = scrape()
        with tap.case("/metrics: webhook POSTs ok, none failed, nothing dropped"):
            ok = m.get(("switchboard_webhook_posts_total", (("result", "ok"),)))
            check(ok and ok >= len(recv.posts) - 1, "posts ok %r" % ok)
            check_eq(m.get(("switchboard_webhook_posts_total", (("result", "failed"),))), 0.0,
                     "failed")
            check_eq(dropped(m), 0.0, "dropped")
    finally:
        stop_and_report(tap, server)
        time.sleep(0.5)
        with tap.case("core: shutdown (subtype 2) posted at SIGTERM"):
            check(find(recv.events(), 256, lambda e: e.get("subtype") == 2), "no shutdown")
        recv.stop()
        os.unlink(conf)


async def filter_case(tap, builddir):
    recv = Receiver()
    conf = conf_file('types = "sessions, handles";')
    server = Server(builddir, ws=False, name="webhook-filter", args=["-C", conf])
    try:
        http = Http()
        sid = http.create()
        http.attach(sid, opaque_id="op-1")
        http.destroy(sid)
        Http(port=ADMIN_PORT, base="/admin").post("", {
            "janus": "message_plugin", "transaction": "m", "plugin": "janus.plugin.videoroom",
            "request": {"request": "create", "room": 77}})
        await wait_for(lambda: len(recv.events()) >= 4, 5)
        with tap.case("types \"sessions, handles\": only types 1 and 2; opaque_id carried"):
            types = {e["type"] for e in recv.events()}
            check_eq(types, {1, 2}, "types")
            att = find(recv.events(), 2, lambda e: e["event"].get("name") == "attached")
            check(att and att[0].get("opaque_id") == "op-1", "attached %r" % att)
    finally:
        stop_and_report(tap, server)
        recv.stop()
        os.unlink(conf)


async def failing_case(tap, builddir, hang):
    what = "never answers" if hang else "answers 500"
    recv = Receiver(status=500, hang=hang)
    conf = conf_file("queue_max = 50; batch_max = 10; retries = 2; backoff_ms = 50; "
                     "timeout_ms = %d;" % (1000 if hang else 2000))
    server = Server(builddir, ws=False, name="webhook-fail", args=["-C", conf])
    try:
        http = Http()
        with tap.case("a receiver that %s: calls decode as usual, the API answers at once" %
                      what):
            t0 = time.time()
            for _ in range(30):  # 90 events: past the queue of 50
                sid = http.create()
                http.attach(sid)
                http.destroy(sid)
            api_s = time.time() - t0
            sid, hid, frames = await call_and_hangup(http)
            tap.note("30 create/attach/destroy in %.2f s; call decoded %d frames" % (
                api_s, frames))
            check(api_s < 3, "API slowed: %.2f s for 90 requests" % api_s)
            check(frames >= 20, "call decoded %d frames" % frames)
        with tap.case("a receiver that %s: its events are dropped and counted, the "
                      "retries seen" % what):
            await wait_for(lambda: dropped(scrape()) > 0, 10)
            m = scrape()
            tap.note("dropped %r, posts failed %r, POSTs seen %d" % (
                dropped(m), m.get(("switchboard_webhook_posts_total", (("result", "failed"),))),
                len(recv.posts)))
            check(dropped(m) > 0, "nothing counted as dropped")
            if not hang:
                check(m.get(("switchboard_webhook_posts_total", (("result", "failed"),))) >= 1,
                      "no failed POST counted")
                check(len(recv.posts) >= 3, "no retry seen: %d POSTs" % len(recv.posts))
    finally:
        stop_and_report(tap, server)
        recv.stop()
        os.unlink(conf)


def main():
    builddir = builddir_from_argv()
    tap = Tap("webhook-aiortc")
    asyncio.run(format_case(tap, builddir))
    asyncio.run(filter_case(tap, builddir))
    asyncio.run(failing_case(tap, builddir, hang=False))
    asyncio.run(failing_case(tap, builddir, hang=True))
    tap.exit()


if __name__ == "__main__":
    main()
