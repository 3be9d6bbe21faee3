"""The admin listener against a live server with an aiortc EchoTest call up: every Admin API
request and its errors, /metrics read with Prometheus' own text parser (Debian's
python3-prometheus-client) while media flows, /health and /ready, and the graceful drain on
SIGTERM. In the plain build, the Admin API's error replies are compared with Debian's janus
given the same requests."""
import asyncio
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq,  # noqa
                    error_code, stop_and_report)
from janusref import JanusRef  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from test_echo_aiortc import echo_call, until_decoded  # noqa: E402

ADMIN_PORT = HTTP_PORT - 1000  # what sbtest.Server gives every server
SECRET = "adm1n-s3cret"
REF_HTTP, REF_ADMIN = 18188, 17188


def admin_http():
    return Http(port=ADMIN_PORT, base="/admin")


def areq(a, path, verb, secret=SECRET, **fields):
    body = dict({"janus": verb, "transaction": "t-" + verb}, **fields)
    if secret is not None:
        body["admin_secret"] = secret
    return a.post(path, body)


def scrape():
    """{(name, sorted labels): value} of one /metrics scrape, parsed by prometheus_client."""
    status, headers, data = Http(port=ADMIN_PORT, base="").raw("GET", "/metrics")
    check_eq(status, 200, "/metrics status")
    check(headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics content type %r" % headers.get("content-type"))
    out = {}
    for fam in text_string_to_metric_families(data.decode()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


def probe(path):
    status, _, body = Http(port=ADMIN_PORT, base="").raw("GET", path)
    return status, body


async def metrics_case(tap, http, decoded):
    m1 = scrape()
    await asyncio.sleep(2)
    m2 = scrape()
    with tap.case("/metrics: parsed by prometheus_client; RTP counters move under media both "
                  "ways, one PeerConnection up, its join observed"):
        for d in ("in", "out"):
            a = metric(m1, "switchboard_rtp_packets_total", direction=d)
            b = metric(m2, "switchboard_rtp_packets_total", direction=d)
            check(a is not None and b is not None and b - a >= 50,
                  "rtp packets %s: %r -> %r in 2 s" % (d, a, b))
            a = metric(m1, "switchboard_rtp_bytes_total", direction=d)
            b = metric(m2, "switchboard_rtp_bytes_total", direction=d)
            check(b - a >= 5000, "rtp bytes %s: %r -> %r" % (d, a, b))
        check_eq(metric(m2, "switchboard_peers"), 1.0, "switchboard_peers")
        check_eq(metric(m2, "switchboard_sessions"), 1.0, "switchboard_sessions")
        check_eq(metric(m2, "switchboard_handles"), 1.0, "switchboard_handles")
        n = metric(m2, "switchboard_join_seconds_count")
        s = metric(m2, "switchboard_join_seconds_sum")
        check(n == 1 and 0 < s < 10, "join histogram: count %r, sum %r s" % (n, s))
        check(metric(m2, "switchboard_rtcp_packets_total", direction="in") > 0, "RTCP in")
        build = [(dict(lab), v) for (k, lab), v in m2.items() if k == "switchboard_build_info"]
        check(len(build) == 1 and build[0][1] == 1.0 and build[0][0].get("version"),
              "build info %r" % build)
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds", "process_start_time_seconds"):
            check(metric(m2, name) and metric(m2, name) > 0, "%s: %r" % (name, metric(m2, name)))
        check(metric(m2, "switchboard_http_requests_total", code="200") >= 2,
              "HTTP replies counted by code")
        tap.note("in 2 s: rtp in +%d, out +%d; join %.3f s" % (
            metric(m2, "switchboard_rtp_packets_total", direction="in") -
            metric(m1, "switchboard_rtp_packets_total", direction="in"),
            metric(m2, "switchboard_rtp_packets_total", direction="out") -
            metric(m1, "switchboard_rtp_packets_total", direction="out"), s))
    with tap.case("/metrics: every media loop's busy ratio, between 0 and 1, within 12 s"):
        deadline = time.time() + 12
        while True:
            m = scrape()
            busy = {dict(lab).get("loop"): v for (k, lab), v in m.items()
                    if k == "switchboard_loop_busy_ratio"}
            cpu = [k for k in m if k[0] == "switchboard_loop_cpu_seconds_total"]
            if busy and len(busy) == len(cpu) or time.time() > deadline:
                break
            await asyncio.sleep(1)
        tap.note("busy ratios: %r" % busy)
        check(busy and len(busy) == len(cpu), "busy %r for %d loops" % (busy, len(cpu)))
        check(all(0 <= v <= 1 for v in busy.values()), "ratios %r" % busy)
    return m2


async def admin_call_case(tap, a, sid, hid):
    with tap.case("list_sessions and list_handles name the call's session and handle"):
        r = areq(a, "", "list_sessions")
        check_eq(r.get("sessions"), [sid], "sessions")
        r = areq(a, "/%d" % sid, "list_handles")
        check_eq((r.get("janus"), r.get("session_id"), r.get("handles")), ("success", sid, [hid]),
                 "list_handles")
        r = areq(a, "", "list_handles", session_id=sid)  # the session in the body instead
        check_eq(r.get("handles"), [hid], "list_handles with session_id in the body")
    with tap.case("handle_info: plugin, ICE state and selected pair, DTLS state and profile, "
                  "per-stream codecs, SSRCs, packet counts, RTT and loss"):
        deadline = time.time() + 10
        while True:  # RTT needs one of our SRs answered by a receiver report
            r = areq(a, "/%d/%d" % (sid, hid), "handle_info")
            info = r.get("info", {})
            media = info.get("webrtc", {}).get("media", {})
            rtts = [s.get("rtcp", {}).get("main", {}).get("rtt") for s in media.values()]
            if any(x is not None for x in rtts) or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        w = info.get("webrtc", {})
        tap.note("handle_info: ice %s; dtls %s; media %s" % (
            {k: w.get("ice", {}).get(k) for k in ("state", "selected-pair")},
            {k: w.get("dtls", {}).get(k) for k in ("dtls-state", "srtp-profile", "dtls-role")},
            json.dumps(media)[:600]))
        check_eq((r.get("janus"), r.get("session_id"), r.get("handle_id")),
                 ("success", sid, hid), "reply")
        check_eq(info.get("plugin"), "janus.plugin.echotest", "plugin")
        check(isinstance(info.get("plugin_specific"), dict), "plugin_specific")
        check_eq(w.get("ice", {}).get("state"), "connected", "ICE state")
        check("<->" in w.get("ice", {}).get("selected-pair", ""), "selected pair")
        check(w.get("ice", {}).get("local-candidates"), "local candidates")
        # The selected (UDP, host) pair is read by the server itself, not through libnice:
        # what aiortc sent came that way, and aiortc's consent checks were answered there.
        d = w.get("ice", {}).get("direct-read", {})
        tap.note("direct read: %s" % json.dumps(d))
        check(d.get("reading") is True and d.get("datagrams", 0) > 0 and d.get("reads", 0) > 0,
              "the server reads the selected pair: %r" % d)
        check(d.get("stun-dropped") == 0 and d.get("foreign-dropped") == 0 and
              d.get("truncated") == 0, "nothing dropped on a clean call: %r" % d)
        check_eq(w.get("dtls", {}).get("dtls-state"), "connected", "DTLS state")
        check(w.get("dtls", {}).get("srtp-profile", "").startswith("SRTP_"), "SRTP profile")
        kinds = sorted(s.get("type") for s in media.values())
        check_eq(kinds, ["audio", "video"], "m-lines")
        for s in media.values():
            check(s.get("codecs", {}).get("codec"), "codec of %r" % s)
            check(s.get("ssrc", {}).get("ssrc") and s["ssrc"].get("ssrc-peer"), "SSRCs %r" % s)
            check(s["stats"]["out"]["packets"] > 0, "packets out %r" % s["stats"])
            layers = s["stats"]["in"]["layers"]
            check(layers and layers[0]["packets"] > 0 and "lost" in layers[0],
                  "packets in %r" % layers)
        check(any(x is not None and 0 <= x < 1000 for x in rtts), "RTT (ms) %r" % rtts)
    with tap.case("handle_info with plugin_only: no webrtc part"):
        r = areq(a, "/%d/%d" % (sid, hid), "handle_info", plugin_only=True)
        check("plugin_specific" in r.get("info", {}) and "webrtc" not in r.get("info", {}),
              "info keys %r" % sorted(r.get("info", {})))
    with tap.case("loops_info: every loop, the call's on one of them"):
        r = areq(a, "", "loops_info")
        loops = r.get("loops", [])
        check(loops and all("id" in x and "handles" in x for x in loops), "loops %r" % loops)
        check(sum(x["handles"] for x in loops) >= 1, "handles on loops %r" % loops)


def control_case(tap, a, http):
    with tap.case("set_log_level and set_session_timeout echo what they set; get_status and "
                  "info show it"):
        check_eq(areq(a, "", "set_log_level", level=7).get("level"), 7, "level 7")
        check_eq(areq(a, "", "set_log_level", level=4).get("level"), 4, "level 4")
        check_eq(areq(a, "", "set_session_timeout", timeout=120).get("timeout"), 120, "timeout")
        check_eq(areq(a, "", "get_status").get("status", {}).get("session_timeout"), 120,
                 "get_status")
        check_eq(http.post("", {"janus": "info", "transaction": "i"}).get("session-timeout"),
                 120, "public info")
        areq(a, "", "set_session_timeout", timeout=60)
    with tap.case("accept_new_sessions false: create refused with 472, /ready 503; true: "
                  "both back"):
        check_eq(areq(a, "", "accept_new_sessions", accept=False).get("accept"), False, "reply")
        check_eq(error_code(http.post("", {"janus": "create", "transaction": "c"})), 472,
                 "create while refusing")
        check_eq(probe("/ready")[0], 503, "/ready")
        check_eq(probe("/health")[0], 200, "/health")
        check_eq(areq(a, "", "accept_new_sessions", accept=True).get("accept"), True, "reply")
        check_eq(probe("/ready")[0], 200, "/ready")
        sid = http.create()
        http.destroy(sid)
    with tap.case("message_plugin: the VideoRoom's own requests, and its rooms in /metrics"):
        r = areq(a, "", "message_plugin", plugin="janus.plugin.videoroom",
                 request={"request": "create", "room": 4242})
        check_eq(r.get("response", {}).get("videoroom"), "created", "create %r" % r)
        r = areq(a, "", "message_plugin", plugin="janus.plugin.videoroom",
                 request={"request": "list"})
        check(any(x.get("room") == 4242 for x in r.get("response", {}).get("list", [])),
              "list %r" % r)
        check_eq(metric(scrape(), "switchboard_rooms", plugin="janus.plugin.videoroom"), 1.0,
                 "switchboard_rooms")
        r = areq(a, "", "message_plugin", plugin="janus.plugin.videoroom",
                 request={"request": "nope"})
        check_eq(r.get("response", {}).get("error_code"), 423, "unknown request %r" % r)


# Requests whose replies must match the reference's, code and reason (ids replaced).
def error_requests(sid, hid):
    s = SECRET
    return [
        ("", {"janus": "get_status", "admin_secret": s}),
        ("", {"janus": "get_status", "transaction": 5, "admin_secret": s}),
        ("", {"transaction": "t", "admin_secret": s}),
        ("", {"janus": 5, "transaction": "t", "admin_secret": s}),
        ("", {"janus": "get_status", "transaction": "t"}),
        ("", {"janus": "get_status", "transaction": "t", "admin_secret": "wrong"}),
        ("", {"janus": "get_status", "transaction": "t", "apisecret": s}),
        ("", {"janus": "frobnicate", "transaction": "t"}),
        ("", {"janus": "frobnicate", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "create", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "handle_info", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "list_handles", "transaction": "t", "admin_secret": s}),
        ("/123", {"janus": "list_handles", "transaction": "t", "admin_secret": s}),
        ("/123", {"janus": "list_handles", "transaction": "t"}),
        ("/123/456", {"janus": "handle_info", "transaction": "t", "admin_secret": s}),
        ("/%d/456" % sid, {"janus": "handle_info", "transaction": "t", "admin_secret": s}),
        ("/%d" % sid, {"janus": "handle_info", "transaction": "t", "admin_secret": s}),
        ("/%d" % sid, {"janus": "info", "transaction": "t"}),
        ("/%d" % sid, {"janus": "list_sessions", "transaction": "t", "admin_secret": s}),
        ("/%d/%d" % (sid, hid), {"janus": "list_handles", "transaction": "t", "admin_secret": s}),
        ("/%d" % sid, {"janus": "list_handles", "session_id": 777, "transaction": "t",
                       "admin_secret": s}),
        ("", {"janus": "set_log_level", "level": 8, "transaction": "t", "admin_secret": s}),
        ("", {"janus": "set_log_level", "level": "5", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "set_log_level", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "set_session_timeout", "timeout": -5, "transaction": "t",
              "admin_secret": s}),
        ("", {"janus": "accept_new_sessions", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "accept_new_sessions", "accept": "no", "transaction": "t",
              "admin_secret": s}),
        ("", {"janus": "message_plugin", "request": {}, "transaction": "t", "admin_secret": s}),
        ("", {"janus": "message_plugin", "plugin": "janus.plugin.nope", "request": {},
              "transaction": "t", "admin_secret": s}),
        ("", {"janus": "message_plugin", "plugin": "janus.plugin.videoroom", "request": "list",
              "transaction": "t", "admin_secret": s}),
        ("", {"janus": "add_token", "token": "x", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "list_tokens", "transaction": "t", "admin_secret": s}),
        ("", {"janus": "ping", "transaction": "t"}),
    ]


def normalized(reply, ids):
    """What must match: the kind of reply, its error code and reason, and which of
    transaction and session_id it carries; ids of either server replaced by names."""
    if not isinstance(reply, dict):
        return reply
    err = reply.get("error", {})
    reason = err.get("reason")
    for name, value in ids.items():
        if reason:
            reason = reason.replace(str(value), name)
    return (reply.get("janus"), err.get("code"), reason, "transaction" in reply,
            {v: k for k, v in ids.items()}.get(reply.get("session_id"), reply.get("session_id")))


def reference_case(tap, a, http):
    """The same error requests to Debian's janus (its Admin API on) and to us."""
    ref = JanusRef(REF_HTTP, admin_port=REF_ADMIN, admin_secret=SECRET)
    try:
        rhttp, ra = Http(port=REF_HTTP), Http(port=REF_ADMIN, base="/admin")
        ours = (http, a, http.create())
        ours = ours + (http.attach(ours[2]),)
        theirs = (rhttp, ra, rhttp.create())
        theirs = theirs + (rhttp.attach(theirs[2]),)
        with tap.case("the Admin API's errors and replies match Debian's janus (%d requests: "
                      "code, reason, transaction and session_id)" % len(error_requests(1, 2))):
            diffs = []
            for (path, body), (rpath, rbody) in zip(error_requests(ours[2], ours[3]),
                                                     error_requests(theirs[2], theirs[3])):
                mine = normalized(a.post(path, body), {"SID": ours[2], "HID": ours[3]})
                ref_r = normalized(ra.post(rpath, rbody), {"SID": theirs[2], "HID": theirs[3]})
                if mine != ref_r:
                    diffs.append("%s %s: ours %r, janus %r" % (path, json.dumps(body), mine,
                                                              ref_r))
            check(not diffs, "\n".join(diffs))
        http.destroy(ours[2])
    finally:
        ref.stop()


async def teardown_case(tap, a, http, sid, hid, poller):
    with tap.case("hangup_webrtc: the client hears hangup (reason 'Admin API'), the "
                  "PeerConnection goes from /metrics"):
        check_eq(areq(a, "/%d/%d" % (sid, hid), "hangup_webrtc").get("janus"), "success", "reply")
        ev = await poller.wait(lambda e: e.get("janus") == "hangup", 5)
        check_eq(ev.get("reason"), "Admin API", "hangup reason")
        deadline = time.time() + 3
        while metric(scrape(), "switchboard_peers") != 0 and time.time() < deadline:
            await asyncio.sleep(0.2)
        check_eq(metric(scrape(), "switchboard_peers"), 0.0, "switchboard_peers after hangup")
    with tap.case("detach_handle: detached event, gone from list_handles"):
        check_eq(areq(a, "/%d/%d" % (sid, hid), "detach_handle").get("janus"), "success", "reply")
        await poller.wait(lambda e: e.get("janus") == "detached", 5)
        check_eq(areq(a, "/%d" % sid, "list_handles").get("handles"), [], "handles")
        check_eq(error_code(areq(a, "/%d/%d" % (sid, hid), "handle_info")), 459, "handle_info")
    with tap.case("destroy_session: gone from list_sessions, its long-poll answers 458"):
        check_eq(areq(a, "/%d" % sid, "destroy_session").get("janus"), "success", "reply")
        check(sid not in areq(a, "", "list_sessions").get("sessions", []), "still listed")
        status, j = await asyncio.to_thread(http.poll_status, sid, "", 5)
        check_eq(error_code(j), 458, "poll after destroy")
    with tap.case("a wrong admin secret is counted in switchboard_auth_failures_total"):
        before = metric(scrape(), "switchboard_auth_failures_total", api="admin")
        check_eq(error_code(areq(a, "", "list_sessions", secret="nope")), 403, "wrong secret")
        after = metric(scrape(), "switchboard_auth_failures_total", api="admin")
        check_eq(after - before, 1.0, "admin auth failures")


async def live_case(tap):
    http, a = Http(), admin_http()
    with tap.case("GET of the admin path: 454 (GET <base>/info: info); DELETE: 450"):
        check_eq(error_code(a.get("")), 454, "GET /admin")
        check_eq(a.get("/info").get("janus"), "server_info", "GET /admin/info")
        status, j = a.call("DELETE", "/admin")
        check_eq((status, error_code(j)), (200, 450), "DELETE /admin")
    with tap.case("/health 200, /ready 200, info and ping without the secret at the root"):
        check_eq(probe("/health")[0], 200, "/health")
        check_eq(probe("/ready")[0], 200, "/ready")
        check_eq(areq(a, "", "ping", secret=None).get("janus"), "pong", "ping")
        check_eq(areq(a, "", "info", secret=None).get("janus"), "server_info", "info")
    sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
    try:
        with tap.case("EchoTest call up: video decoded"):
            check(await until_decoded(decoded, 20), "decoded %r" % decoded)
        await metrics_case(tap, http, decoded)
        await admin_call_case(tap, a, sid, hid)
        control_case(tap, a, http)
        if not os.environ.get("SB_TEST_SANITIZED"):
            await asyncio.to_thread(reference_case, tap, a, http)
        await teardown_case(tap, a, http, sid, hid, poller)
    finally:
        await pc.close()
        for c in consumers:
            c.cancel()
        poller.stop = True
        await asyncio.wait_for(poll_task, 40)


async def stop_client(consumers, poller, poll_task):
    """Ends a call's client side once the server is gone (its long-poll then fails)."""
    for c in consumers:
        c.cancel()
    poller.stop = True
    try:
        await asyncio.wait_for(poll_task, 40)
    except Exception:
        pass


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except Exception:
        return None


async def drain_case(tap, builddir):
    server = Server(builddir, ws=False, name="admin-drain", args=["--drain-timeout", "30"])
    http = Http()
    try:
        sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
        check(await until_decoded(decoded, 20), "call up: %r" % decoded)
        with tap.case("drain: SIGTERM with a call up: /ready 503, /health 200, new create "
                      "refused (472), the call keeps decoding, the daemon stays"):
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            check_eq(probe("/ready")[0], 503, "/ready")
            check_eq(probe("/health")[0], 200, "/health")
            check_eq(error_code(http.post("", {"janus": "create", "transaction": "c"})), 472,
                     "create while draining")
            v0 = decoded.get("video", 0)
            await asyncio.sleep(3)
            tap.note("video frames decoded in 3 s of drain: %d" % (decoded.get("video", 0) - v0))
            check(decoded.get("video", 0) - v0 >= 30, "decoding went on: %d frames in 3 s" % (
                decoded.get("video", 0) - v0))
            check(server.alive(), "the daemon exited with the call up")
            check_eq(http.post("/%d" % sid, {"janus": "keepalive", "transaction": "k"})
                     .get("janus"), "ack", "the session still answers")
        with tap.case("drain: the call ends (the client closes it): exit 0 within 3 s"):
            t0 = time.time()
            await pc.close()
            rc = await asyncio.to_thread(wait_exit, server.proc, 5)
            tap.note("exited %.1f s after the call ended, status %r" % (time.time() - t0, rc))
            check_eq(rc, 0, "exit status")
            check(time.time() - t0 < 3.5, "took %.1f s" % (time.time() - t0))
        await stop_client(consumers, poller, poll_task)
    finally:
        problems = server.sanitizer_reports()
        tap.result("drain: no sanitizer report", not problems, "\n".join(problems)[:5000])
        server.cleanup()
    server = Server(builddir, ws=False, name="admin-drain2", args=["--drain-timeout", "30"])
    http = Http()
    try:
        sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
        check(await until_decoded(decoded, 10), "call up: %r" % decoded)
        with tap.case("drain: a second SIGTERM stops at once (exit 0), the call still up"):
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            check(server.alive(), "exited at the first SIGTERM")
            server.proc.send_signal(signal.SIGTERM)
            rc = await asyncio.to_thread(wait_exit, server.proc, 10)
            check_eq(rc, 0, "exit status")
        await pc.close()
        await stop_client(consumers, poller, poll_task)
    finally:
        problems = server.sanitizer_reports()
        tap.result("drain, twice: no sanitizer report", not problems, "\n".join(problems)[:5000])
        server.cleanup()


def main():
    builddir = builddir_from_argv()
    tap = Tap("admin-aiortc")
    server = Server(builddir, ws=False, name="admin", args=["--admin-secret", SECRET])
    try:
        asyncio.run(live_case(tap))
    finally:
        stop_and_report(tap, server)
    asyncio.run(drain_case(tap, builddir))
    tap.exit()


if __name__ == "__main__":
    main()
