"""EchoTest through packet loss with headless Chromium: NACK, RTX and keyframe requests on
both legs against a real browser's RTP stack.

There is no netem here, so the loss comes from lib/lossyrelay.py: Chromium reaches the server
only through the relay (the server's answer candidate is pointed at the relay's port, and
Chromium's own candidates are kept from the server, which learns the relay's address from
the checks). RTP is dropped both ways (RTCP, STUN and DTLS pass). The server listens on one
fixed port (--rtp-port-range) so the relay knows where to forward before the answer exists.

Checks: the echoed video keeps decoding; Chromium NACKs what the server sends and gets
retransmissions; the server NACKs what Chromium sends and Chromium retransmits; freezes stay
short; the server's counters (logged on close) agree."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import sbchromium  # noqa: E402
from lossyrelay import LossyRelay  # noqa: E402
from sbtest import Server, Tap, builddir_from_argv, check, stop_and_report  # noqa: E402

HTTP_PORT = 18089
RTP_PORT = 20000
LOSS = 0.05
MEDIA_MS = 12000
VP8_PT = 96  # Chromium's first video payload type: VP8 (checked in the answer below)


def delta(call, direction, kind, key):
    s = call["samples"]
    return (s[-1][direction].get(kind, {}).get(key, 0) or 0) - \
        (s[0][direction].get(kind, {}).get(key, 0) or 0)


def main():
    tap = Tap("loss-chromium")
    why = sbchromium.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    html = sbchromium.make_html_folder()
    server = Server(builddir_from_argv(), html_folder=html, ws=False, http_port=HTTP_PORT,
                    args=["--rtp-port-range", "%d-%d" % (RTP_PORT, RTP_PORT)],
                    name="loss-chromium")
    relay = LossyRelay(("127.0.0.1", RTP_PORT), loss_to_server=LOSS, loss_to_client=LOSS)
    call = None
    try:
        out = sbchromium.run_echo(HTTP_PORT, {
            "server": "http://127.0.0.1:%d/janus" % HTTP_PORT, "trickle": False,
            "stripOfferCandidates": True, "answerCandidatePort": relay.port,
            "mediaMs": MEDIA_MS, "sampleMs": 2000, "firstFrameTimeoutMs": 10000},
            timeout_s=90)
        with tap.case("through %d%% RTP loss each way: echoed video keeps decoding" % (
                LOSS * 100)):
            check(not out.get("error"), "page failed: %s\n%s" % (
                out.get("error"), "\n".join(out.get("logs", [])[-20:])))
            call = out["result"]["calls"][0]
            pair = call["samples"][-1]["pair"] or {}
            tap.note("selected pair: %s -> %s; relay RTP forwarded/dropped: %r"
                     % (pair.get("local"), pair.get("remote"), relay.counts))
            check(pair.get("remote", "").split(" ")[0] == "127.0.0.1:%d" % relay.port,
                  "Chromium talks to the relay: %r" % pair)
            check(relay.counts["up"][1] > 0 and relay.counts["down"][1] > 0,
                  "the relay dropped RTP both ways: %r" % relay.counts)
            vin = sbchromium.last(call, "video")
            vout = sbchromium.last(call, "video", "outbound")
            secs = (call["samples"][-1]["t"] - call["samples"][0]["t"]) / 1000.0
            fd = delta(call, "inbound", "video", "framesDecoded")
            tap.note("over %.0f s: +%d frames decoded; in: lost %s nack %s pli %s freezes %s "
                     "(%.2f s) keyframes %s; out: nack %s rtx %s pli %s keyframes %s"
                     % (secs, fd, vin.get("packetsLost"), vin.get("nackCount"),
                        vin.get("pliCount"), vin.get("freezeCount"),
                        vin.get("totalFreezesDuration", 0), vin.get("keyFramesDecoded"),
                        vout.get("nackCount"), vout.get("retransmittedPacketsSent"),
                        vout.get("pliCount"), vout.get("keyFramesEncoded")))
            check(fd >= 8 * secs, "video decodes at 8 fps or more (+%d in %.0f s)" % (fd, secs))
            check(vin.get("totalFreezesDuration", 0) < 0.2 * secs,
                  "freezes under 20%% of the time: %r" % vin.get("totalFreezesDuration"))
        with tap.case("Chromium NACKs the echo and the server retransmits"):
            check(call, "the call ran")
            check(delta(call, "inbound", "video", "nackCount") > 0,
                  "Chromium sent NACKs: %r" % vin)
        with tap.case("the server NACKs Chromium's video and Chromium retransmits"):
            check(call, "the call ran")
            check(delta(call, "outbound", "video", "nackCount") > 0,
                  "Chromium received NACKs: %r" % vout)
            check(delta(call, "outbound", "video", "retransmittedPacketsSent") > 0,
                  "Chromium retransmitted: %r" % vout)
        relay.stop()
        # The first keyframe's first packets never arrive: the receiver cannot NACK what
        # it never knew existed, so only a keyframe request through the server helps.
        relay = LossyRelay(("127.0.0.1", RTP_PORT), drop_first_to_client=(VP8_PT, 3))
        out = sbchromium.run_echo(HTTP_PORT, {
            "server": "http://127.0.0.1:%d/janus" % HTTP_PORT, "trickle": False,
            "stripOfferCandidates": True, "answerCandidatePort": relay.port,
            "mediaMs": 2000, "sampleMs": 1000, "firstFrameTimeoutMs": 10000}, timeout_s=60)
        with tap.case("first keyframe lost: PLI forwarded, echoed video starts within 2 s"):
            check(not out.get("error"), "page failed: %s" % out.get("error"))
            c = out["result"]["calls"][0]
            vin = sbchromium.last(c, "video")
            vout = sbchromium.last(c, "video", "outbound")
            tap.note("offer->first frame %s ms; Chromium sent %s PLIs, its encoder got %s, "
                     "keyframes encoded %s; relay %r" % (
                         c["firstFrameMs"], vin.get("pliCount"), vout.get("pliCount"),
                         vout.get("keyFramesEncoded"), relay.counts))
            check(vin.get("codec") == "video/VP8" and vin.get("codecId", "").endswith(
                "_%d" % VP8_PT), "video is VP8 on pt %d: %r" % (VP8_PT, vin.get("codecId")))
            check(relay.counts["down"][1] == 3, "3 packets dropped: %r" % relay.counts)
            check(c["firstFrameMs"] is not None and c["firstFrameMs"] < 2000,
                  "first frame at %r ms" % c["firstFrameMs"])
            check(vout.get("pliCount", 0) >= 2, "a PLI reached Chromium's encoder besides the "
                  "one of setup_media: %r" % vout)
    finally:
        relay.stop()
        problems = server.stop()
        with open(server.log_path, errors="replace") as fh:
            closed = [ln.strip() for ln in fh if "closed (" in ln and "rtp in" in ln]
        tap.result("clean shutdown, no sanitizer report", not problems, "\n".join(problems))
        server.cleanup()
        shutil.rmtree(html, ignore_errors=True)
    with tap.case("server counters: NACKs received, packets retransmitted, RTX received"):
        check(closed, "a 'closed' line with counters in the server log")
        tap.note(closed[0])  # the call through loss
        m = re.search(r"nacks in (\d+), retransmitted (\d+), rtx in (\d+)", closed[0])
        check(m and all(int(x) > 0 for x in m.groups()), "all three counters > 0")
    tap.exit()


if __name__ == "__main__":
    main()
