"""ICE-TCP with a real browser: a headless Chromium EchoTest call (janus.js, web/echo_media.html
driven by js/echo_media.mjs) from a client namespace whose UDP is dropped (lib/netns.block_udp),
to a server started with --ice-tcp true.

  client ns 198.18.50.2/24  <---- veth ---->  own ns 198.18.50.1/24: switchboard, HTTP bound
  (Chromium, node)                                  there (--bind), page served from it
                                                    (--html-folder), candidates only from
                                                    198.18.50.0/24 (--ice-enforce-list)

The page and the API share the origin http://198.18.50.1:18088, which Chromium is told to
treat as secure (getUserMedia needs it on a non-localhost http:// origin).

  udp      UDP open, --ice-tcp true: the answer carries UDP and passive TCP host
           candidates; calls connect over UDP (Chromium prefers it): the baseline
           webrtcup time.
  tcp      UDP dropped: CALLS calls one after the other in one page: each connects, gets
           webrtcup, decodes video; the selected pair is tcp both sides (our side an active
           TCP candidate, the server's passive 198.18.50.1); every failure is recorded, not
           hidden (reliability), and the UDP drop counter grew (Chromium did try UDP).
  control  UDP dropped, no --ice-tcp: no TCP candidate in the answer, the call never gets
           webrtcup in the time the TCP calls took many times over; UDP drops counted.

Printed: webrtcup (offer sent -> webrtcup event) and first decoded frame, per call, UDP
and TCP, with medians.

usage: test_ice_tcp_chromium.py <builddir>
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import netns  # noqa: E402
import sbchromium  # noqa: E402
from sbtest import Server, Tap, builddir_from_argv, check, check_eq  # noqa: E402

SERVER, CLIENT = "198.18.50.1", "198.18.50.2"
PORT = 18088
ORIGIN = "http://%s:%d" % (SERVER, PORT)
SLOW = 2.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0
CALLS = int(os.environ.get("SB_ICE_TCP_CALLS", "5"))




def run_page(client, cfg, timeout_s):
    """sbEcho(cfg) in Chromium inside the client namespace; the driver's JSON."""
    opts = {"url": ORIGIN + "/echo_media.html", "cfg": dict(cfg, server=ORIGIN + "/janus"),
            "timeoutMs": int(timeout_s * 1000),
            "args": ["--unsafely-treat-insecure-origin-as-secure=" + ORIGIN]}
    t0 = time.time()
    try:
        p = client.run(["node", sbchromium.DRIVER, json.dumps(opts)], check=False,
                       timeout=timeout_s + 60)
        stdout, stderr, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        stdout, stderr, rc = (e.stdout or b""), (e.stderr or b""), "timeout"
        stdout = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("echo_media.mjs exited %s without a result:\n%s\n%s" % (
            rc, stdout[-2000:], stderr[-3000:]))
    out = json.loads(lines[-1])
    out["wall_s"] = round(time.time() - t0, 1)
    return out


def calls_of(out):
    return ((out.get("result") or {}).get("calls")) or []


def pair_of(call):
    s = (call.get("samples") or [{}])[-1]
    return s.get("pair") or {}


def decoded(call):
    return sbchromium.last(call, "video").get("framesDecoded", 0)


def ms(x):
    return None if x is None else round(x)


def cand_fields(line):
    f = line.split()
    typ = f[f.index("typ") + 1]
    tcptype = f[f.index("tcptype") + 1] if "tcptype" in f else None
    return f[2].lower(), f[4], int(f[5]), typ, tcptype


def describe(call):
    p = pair_of(call)
    lc, rc = p.get("localCandidate") or {}, p.get("remoteCandidate") or {}
    return {"webrtcup_ms": ms(call.get("joinMs")), "first_frame_ms": ms(call.get("firstFrameMs")),
            "frames": decoded(call), "failed": call.get("failed"),
            "pair": "%s %s:%s %s -> %s %s:%s %s" % (
                lc.get("protocol"), lc.get("address"), lc.get("port"),
                lc.get("tcpType") or lc.get("candidateType"), rc.get("protocol"),
                rc.get("address"), rc.get("port"), rc.get("tcpType") or rc.get("candidateType"))
            if p else None}


def note_run(tap, tag, out):
    tap.note("%s: browser run took %.1f s%s" % (tag, out["wall_s"], (
        ", error: " + out["error"][:800]) if out.get("error") else ""))
    for i, c in enumerate(calls_of(out)):
        tap.note("%s call %d: %s" % (tag, i + 1, json.dumps(describe(c))))
    if out.get("error"):
        for ln in out.get("logs", [])[-15:]:
            tap.note("%s console: %s" % (tag, ln))


def start(builddir, html, name, tcp):
    args = ["--bind", SERVER, "--ice-enforce-list", "198.18.50.0/24"]
    if tcp:
        args += ["--ice-tcp", "true"]
    return Server(builddir, args=args, http_port=PORT, ws=False, html_folder=html, name=name,
                  wait_host=SERVER)


def stop(tap, server, tag):
    problems = server.stop()
    tap.result("%s: server stopped cleanly, no sanitizer report" % tag, not problems,
               "\n".join(problems))
    server.cleanup()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    tap = Tap("ice-tcp-chromium")
    builddir = builddir_from_argv()
    why = sbchromium.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    t_start = time.time()
    html = sbchromium.make_html_folder()
    lab = netns.Lab()
    figures = {}
    try:
        client = lab.namespace("client")
        netns.veth(client, netns.own(), CLIENT + "/24", SERVER + "/24")
        up_ms = int(15000 * SLOW)

        # ---- server with ICE-TCP ----------------------------------------------------
        server = start(builddir, html, "ice-tcp", tcp=True)
        try:
            with tap.case("ice-tcp: start-up log says passive TCP host candidates too"):
                with open(server.log_path, errors="replace") as fh:
                    check("[media] ICE-TCP: passive TCP host candidates too" in fh.read(),
                          "no ICE-TCP line")
            udp = run_page(client, {"calls": 3, "keepGoing": True, "mediaMs": 1000,
                                    "sampleMs": 1000, "upTimeoutMs": up_ms}, 60 * SLOW)
            note_run(tap, "udp", udp)
            with tap.case("udp: UDP open: the answer has UDP and passive TCP host candidates "
                          "on 198.18.50.1; the calls connect over UDP and decode"):
                check(not udp.get("error"), "page: %s" % udp.get("error"))
                cs = calls_of(udp)
                check_eq(len(cs), 3, "calls")
                for c in cs:
                    check(not c.get("failed"), "call failed: %s" % c.get("failed"))
                    kinds = {(t, tt) for t, a, _, typ, tt in
                             map(cand_fields, c["answerCandidates"]) if a == SERVER}
                    check(("udp", None) in kinds and ("tcp", "passive") in kinds,
                          "answer candidates %r" % c["answerCandidates"])
                    check(decoded(c) > 0, "no frame decoded")
                    check_eq((pair_of(c).get("localCandidate") or {}).get("protocol"), "udp",
                             "selected local protocol")
                figures["udp"] = [ms(c.get("joinMs")) for c in cs if not c.get("failed")]
                figures["udp_first"] = [ms(c.get("firstFrameMs")) for c in cs
                                        if not c.get("failed")]

            netns.block_udp(client)
            drops0 = netns.udp_drops(client)
            tcp = run_page(client, {"calls": CALLS, "keepGoing": True, "mediaMs": 2000,
                                    "sampleMs": 1000, "upTimeoutMs": up_ms},
                           (30 + CALLS * 25) * SLOW)
            note_run(tap, "tcp", tcp)
            drops_tcp = netns.udp_drops(client) - drops0
            tap.note("tcp: %d UDP datagrams dropped in the client namespace meanwhile"
                     % drops_tcp)
            cs = calls_of(tcp)
            failed = [i + 1 for i, c in enumerate(cs) if c.get("failed") or decoded(c) == 0]
            figures["tcp"] = [ms(c.get("joinMs")) for c in cs if not c.get("failed")]
            figures["tcp_first"] = [ms(c.get("firstFrameMs")) for c in cs
                                    if not c.get("failed")]
            figures["tcp_failed"] = failed
            with tap.case("tcp: UDP dropped: %d calls over ICE-TCP each get webrtcup and "
                          "decode video (failed: %s)" % (CALLS, failed or "none")):
                check(not tcp.get("error"), "page: %s" % tcp.get("error"))
                check_eq(len(cs), CALLS, "calls made")
                check(not failed, "calls %s failed: %r" % (
                    failed, [describe(cs[i - 1]) for i in failed]))
                for c in cs:
                    check(decoded(c) >= 10, "frames decoded %d" % decoded(c))
            with tap.case("tcp: the selected pair is TCP both sides: our active TCP "
                          "candidate to the server's passive 198.18.50.1"):
                connected = [c for c in cs if not c.get("failed")]
                check(connected, "no call connected")
                for i, c in enumerate(cs):
                    if c.get("failed"):
                        continue
                    p = pair_of(c)
                    lc, rc = p.get("localCandidate") or {}, p.get("remoteCandidate") or {}
                    what = "call %d: %s" % (i + 1, describe(c)["pair"])
                    check_eq(lc.get("protocol"), "tcp", what + ": local protocol")
                    check_eq(lc.get("tcpType"), "active", what + ": local tcpType")
                    check_eq(rc.get("protocol"), "tcp", what + ": remote protocol")
                    check_eq(rc.get("address"), SERVER, what + ": remote address")
                    passive = {(a, port) for t, a, port, typ, tt in
                               map(cand_fields, c["answerCandidates"]) if tt == "passive"}
                    check((rc.get("address"), rc.get("port")) in passive,
                          what + ": not a passive candidate of the answer %r" % passive)
            with tap.case("tcp: Chromium's UDP was really dropped (the counter grew)"):
                check(drops_tcp > 0, "%d UDP drops" % drops_tcp)
        finally:
            stop(tap, server, "ice-tcp")

        # ---- control: no ICE-TCP -------------------------------------------------------
        server = start(builddir, html, "no-ice-tcp", tcp=False)
        try:
            watch = int(12000 * SLOW)
            drops0 = netns.udp_drops(client)
            ctl = run_page(client, {"calls": 1, "keepGoing": True, "upTimeoutMs": watch},
                           30 + watch / 1000)
            note_run(tap, "control", ctl)
            drops = netns.udp_drops(client) - drops0
            tap.note("control: %d UDP datagrams dropped in the client namespace" % drops)
            tcp_ok = median(figures.get("tcp", []))
            with tap.case("control: no --ice-tcp, UDP dropped: no TCP candidate offered, "
                          "the server hangs up with 'ICE failed' and no webrtcup comes in "
                          "%.0f s (the ICE-TCP calls took %s ms); UDP drops counted"
                          % (watch / 1000, tcp_ok)):
                check(not ctl.get("error"), "page: %s" % ctl.get("error"))
                cs = calls_of(ctl)
                check_eq(len(cs), 1, "calls")
                c = cs[0]
                check(c.get("failed"), "the call did not fail: %s" % describe(c))
                check(not c.get("webrtcup"), "webrtcup came")
                check_eq((c.get("hangup") or {}).get("reason"), "ICE failed",
                         "the server's hangup reason")
                protos = {cand_fields(x)[0] for x in c["answerCandidates"]}
                check_eq(protos, {"udp"}, "answer candidate transports")
                check(drops > 0, "%d UDP drops" % drops)
        finally:
            stop(tap, server, "no-ice-tcp")
    except Exception as e:  # noqa: BLE001 - a broken set-up is a failure
        import traceback
        tap.result("every scenario ran", False, "%s: %s\n%s" % (
            type(e).__name__, e, traceback.format_exc()[-3000:]))
    finally:
        lab.close()
        shutil.rmtree(html, ignore_errors=True)
    tap.note("webrtcup ms (offer sent -> webrtcup): UDP %s (median %s), ICE-TCP %s (median %s)"
             % (figures.get("udp"), median(figures.get("udp", [])), figures.get("tcp"),
                median(figures.get("tcp", []))))
    tap.note("first decoded frame ms: UDP %s, ICE-TCP %s" % (figures.get("udp_first"),
                                                             figures.get("tcp_first")))
    tap.note("ICE-TCP calls failed: %s of %d" % (figures.get("tcp_failed"), CALLS))
    tap.note("took %.1f s" % (time.time() - t_start))
    tap.exit()


if __name__ == "__main__":
    main()
