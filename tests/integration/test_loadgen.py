"""bench/sb-loadgen against the server, briefly, so the benchmark tooling keeps working:
fanout (bursts and paced), mesh and echo each bring every PeerConnection up, forward media
with no loss, and report latency, joins, first keyframes and the server's CPU and RSS;
subscribers send transport-cc feedback every 50 ms for every packet (or none with
--no-twcc-feedback, and are not held back for it); a server that is not there makes it fail
with a reason."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import HTTP_PORT, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))


def loadgen(builddir, server_pid, *args, timeout=120):
    """Runs sb-loadgen; returns (exit code, summary or None, stderr)."""
    cmd = [os.path.join(builddir, "bench", "sb-loadgen"), "--server",
           "http://127.0.0.1:%d/janus" % HTTP_PORT, "--quiet", "--warmup", "1",
           "--duration", "3" if SANITIZED else "2", "--join-rate", "50"]
    if server_pid:
        cmd += ["--server-pid", str(server_pid)]
    p = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, text=True)
    try:
        summary = json.loads(p.stdout)
    except ValueError:
        summary = None
    return p.returncode, summary, p.stderr[-2000:]


def check_run(tap, rc, s, err, pcs, name):
    check_eq(rc, 0, "sb-loadgen exit code (stderr: %s)" % err)
    check(s is not None, "no JSON summary")
    check_eq(s["peerconnections"]["up"], pcs, "PeerConnections up")
    check_eq(s["peerconnections"]["failed"], 0, "PeerConnections failed")
    w = s["window"]
    check(w["received"] > 0, "nothing received in the window")
    check_eq(w["lost"], 0, "packets lost")
    check_eq(w["srtp_fail"], 0, "SRTP failures")
    lat = s["latency_ms"]
    check(lat["samples"] > 0 and 0 < lat["p50"] <= lat["p99"] < 1000,
          "latency figures %r" % lat)
    check(0 < s["join_to_webrtcup_ms"]["p50"] < 5000, "join %r" % s["join_to_webrtcup_ms"])
    sp = s["server_process"]
    check(sp["cpu_s"] >= 0 and sp["rss_kb_steady"] > 0, "server figures %r" % sp)
    tap.note("%s: %d pkt/s received, latency p50 %.2f ms p99 %.2f ms, join p50 %.0f ms" %
             (name, w["received_per_s"], lat["p50"], lat["p99"], s["join_to_webrtcup_ms"]["p50"]))


def main():
    tap = Tap("loadgen")
    builddir = builddir_from_argv()
    server = Server(builddir, name="loadgen", ws=False)
    try:
        with tap.case("fanout 1 -> 5, frames in bursts: all up, no loss, figures reported"):
            rc, s, err = loadgen(builddir, server.pid, "--scenario", "fanout",
                                 "--subscribers", "5", "--video-kbps", "800")
            check_run(tap, rc, s, err, 6, "fanout")
            check(s["window"]["keyframes_recv"] > 0 or s["first_keyframe_ms"]["samples"] > 0,
                  "no keyframe reached a subscriber")
            # Transport-wide CC as a browser: every packet numbered by the server and recorded,
            # feedback from each subscriber every 50 ms (at least half of that, on a busy box).
            w = s["window"]
            check(w["twcc_recorded"] >= w["received"], "transport seqs recorded %d of %d packets"
                  % (w["twcc_recorded"], w["received"]))
            check(w["twcc_feedback_sent"] >= 5 * s["window_s"] * 10,
                  "transport-cc feedback sent: %d in %.1f s" % (w["twcc_feedback_sent"],
                                                               s["window_s"]))

        with tap.case("fanout 1 -> 5, --no-twcc-feedback: none sent, media not held back"):
            rc, s, err = loadgen(builddir, server.pid, "--scenario", "fanout",
                                 "--subscribers", "5", "--video-kbps", "800",
                                 "--no-twcc-feedback", "--room-base", "4000")
            check_run(tap, rc, s, err, 6, "fanout without feedback")
            check_eq(s["window"]["twcc_feedback_sent"], 0, "feedback sent")
            ratio = s["window"]["received_per_s"] / max(s["window"]["sent_per_s"], 1)
            check(4.5 < ratio < 5.5, "5 copies per packet sent, got %.2f" % ratio)

        with tap.case("fanout 1 -> 5 through a paced publisher (--pacing 2.5)"):
            rc, s, err = loadgen(builddir, server.pid, "--scenario", "fanout",
                                 "--subscribers", "5", "--pacing", "2.5", "--room-base", "5000")
            check_run(tap, rc, s, err, 6, "paced fanout")
            check_eq(s["pacing"], 2.5, "pacing in the summary")
            # Every subscriber gets what the publisher sent: 5 copies of each packet.
            ratio = s["window"]["received_per_s"] / max(s["window"]["sent_per_s"], 1)
            check(4.5 < ratio < 5.5, "5 copies per packet sent, got %.2f" % ratio)

        with tap.case("mesh of 3 persons: 6 subscriptions, every feed received"):
            rc, s, err = loadgen(builddir, server.pid, "--scenario", "mesh", "--subscribers", "3",
                                 "--room-base", "6000")
            check_run(tap, rc, s, err, 9, "mesh")

        with tap.case("echo: 3 EchoTest peers get their own media back"):
            rc, s, err = loadgen(builddir, server.pid, "--scenario", "echo", "--subscribers", "3")
            check_run(tap, rc, s, err, 3, "echo")
    finally:
        stop_and_report(tap, server)

    with tap.case("no server: sb-loadgen fails and says why"):
        rc, s, err = loadgen(builddir, None, "--scenario", "fanout", "--subscribers", "1",
                             "--join-timeout", "3", timeout=60)
        check(rc != 0, "exit code 0 without a server")
        check(err.strip() != "" or (s and s["failures"]), "no reason given")

    tap.exit()


if __name__ == "__main__":
    main()
