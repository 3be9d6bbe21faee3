#!/usr/bin/python3
"""EchoTest media-path figures on loopback, with real clients (not a timed test):

  joins  offer sent -> webrtcup (and -> first echoed frame decoded), over N calls in a row,
         headless Chromium with janus.js in both DTLS roles, and aiortc. A lost DTLS
         flight shows up as a ~1 s stall (the DTLS retransmission timer), so look at max.
  rtt    echo round trip. aiortc: every RTP packet is timestamped when aiortc hands it to
         its SRTP layer and again when the echo comes out of it; echotest keeps the
         sequence number and RTP timestamp, so (pt, seq, ts) pairs them. That is client
         SRTP + loopback + the server's whole path (ICE recv, unprotect, plugin, protect,
         send) + client SRTP and asyncio dispatch: an upper bound on what the server adds.
         Chromium: remote-inbound-rtp roundTripTime, from the server's receiver reports
         (LSR/DLSR) on Chromium's sender reports: one leg, RTCP-timed, 1 ms granularity.
  cpu    server CPU per echoed packet: on-CPU time of every server thread (schedstat, ns)
         and utime+stime (/proc/PID/stat, 10 ms ticks) over a steady window, divided by
         the echoed packets the client received (getStats inbound-rtp packetsReceived, or
         aiortc's own count). Chromium as DTLS server picks AES-CM, as DTLS client lets
         us pick AES-GCM: both are measured. Idle server CPU is shown for reference.

  bench/echo_media.py BUILDDIR [--joins 30] [--window 20] [--runs 3] [--parallel 1]
                      [--only joins,rtt,cpu]

Runs itself in a private network namespace (unshare --net, as root) with loopback only.
Needs what tests/integration needs: /usr/bin/python3 with aiortc, node with playwright-core
in tests/integration/node_modules, /usr/bin/chromium, janus.js and webrtc-adapter."""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "tests", "integration", "lib")
sys.path.insert(0, LIB)


def in_netns():
    if os.environ.get("SB_BENCH_NETNS") == "1":
        return
    env = dict(os.environ, SB_BENCH_NETNS="1")
    cmd = ["unshare", "--net", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "bash",
           "/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:]
    sys.exit(subprocess.call(cmd, env=env))


def server_cpu(pid):
    """(on-CPU ns of all threads, utime+stime ticks)."""
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    ns = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as fh:
                ns += int(fh.read().split()[0])
        except OSError:
            pass
    return ns, int(f[11]) + int(f[12])


def idle_cpu(pid, secs=5.0):
    """Server CPU per second with no call at all, in µs/s."""
    ns0, _ = server_cpu(pid)
    time.sleep(secs)
    ns1, _ = server_cpu(pid)
    return (ns1 - ns0) / 1000.0 / secs


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return "n=0"
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
    return "n=%d median %.1f p90 %.1f max %.1f (min %.1f)" % (
        len(xs), statistics.median(xs), p(0.9), xs[-1], xs[0])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# ---- Chromium ----

def chromium_joins(sbchromium, port, n, setup_active):
    out = sbchromium.run_echo(port, {"server": "http://127.0.0.1:%d/janus" % port, "calls": n,
                                     "mediaMs": 0, "setupActive": setup_active,
                                     "firstFrameTimeoutMs": 5000},
                              timeout_s=30 + 10 * n)
    if out.get("error"):
        raise RuntimeError(out["error"] + "\n" + "\n".join(out.get("logs", [])[-20:]))
    calls = out["result"]["calls"]
    tr = calls[-1]["samples"][-1]["transport"] or {}
    return ([c["joinMs"] for c in calls], [c["firstFrameMs"] for c in calls if c["firstFrameMs"]],
            [c["answerMs"] for c in calls], tr)


def chromium_load(sbchromium, server, parallel, window_s, setup_active):
    out = sbchromium.run_echo(server.http_port, {
        "server": "http://127.0.0.1:%d/janus" % server.http_port, "parallel": parallel,
        "setupActive": setup_active, "warmupMs": 4000, "windowMs": int(window_s * 1000)},
        timeout_s=60 + window_s + 10 * parallel, fn="sbEchoLoad", server_pid=server.pid)
    if out.get("error"):
        raise RuntimeError(out["error"] + "\n" + "\n".join(out.get("logs", [])[-20:]))
    r = out["result"]
    s, e = r["start"], r["end"]

    def mid(side, key):
        return (side["cpuBefore"][key] + side["cpuAfter"][key]) / 2.0

    pk = {"audio": 0, "video": 0}
    rtt_rr, rtt_pair = [], []
    for c0, c1 in zip(s["calls"], e["calls"]):
        for kind in pk:
            pk[kind] += (c1["inbound"].get(kind, {}).get("packetsReceived", 0)
                         - c0["inbound"].get(kind, {}).get("packetsReceived", 0))
            r0 = c0["remoteInbound"].get(kind, {})
            r1 = c1["remoteInbound"].get(kind, {})
            n = r1.get("roundTripTimeMeasurements", 0) - r0.get("roundTripTimeMeasurements", 0)
            if n > 0:
                rtt_rr.append(1000.0 * (r1["totalRoundTripTime"] - r0["totalRoundTripTime"]) / n)
        if c1.get("pair") and c1["pair"].get("currentRoundTripTime") is not None:
            rtt_pair.append(1000.0 * c1["pair"]["currentRoundTripTime"])
    secs = (mid(e, "wall") - mid(s, "wall")) / 1000.0
    ns = mid(e, "ns") - mid(s, "ns")
    ticks = mid(e, "ticks") - mid(s, "ticks")
    packets = pk["audio"] + pk["video"]
    tr = e["calls"][0]["transport"] or {}
    vin = e["calls"][0]["inbound"].get("video", {})
    return {"secs": secs, "packets": packets, "pps": packets / secs, "pk": pk,
            "us_per_pkt": ns / 1000.0 / packets if packets else float("nan"),
            "us_per_pkt_ticks": ticks * 10000.0 / packets if packets else float("nan"),
            "cpu_pct": ns / 1e9 / secs * 100, "rtt_rr_ms": rtt_rr, "rtt_pair_ms": rtt_pair,
            "srtp": tr.get("srtpCipher"), "dtls_role": tr.get("dtlsRole"),
            "video": "%sx%s %s fps" % (vin.get("frameWidth"), vin.get("frameHeight"),
                                       vin.get("framesPerSecond", "?"))}


# ---- aiortc ----

class RtpClock:
    """Timestamps of RTP leaving and entering aiortc's SRTP layer, keyed (pt, seq, ts)."""

    def __init__(self):
        self.sent, self.rtt = {}, {"audio": [], "video": []}
        self.received = 0
        self.recording = False
        self.kinds = {}

    def install(self):
        from aiortc.rtcdtlstransport import RTCDtlsTransport
        clock = self
        orig_send, orig_handle = RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data

        async def send_rtp(transport, data):
            if clock.recording and len(data) >= 12:
                clock.sent[(data[1] & 0x7F, data[2:8])] = time.perf_counter()
            return await orig_send(transport, data)

        async def handle_rtp(transport, data, arrival_time_ms):
            t = time.perf_counter()
            if len(data) >= 12:
                clock.received += 1
                t0 = clock.sent.pop((data[1] & 0x7F, data[2:8]), None)
                if t0 is not None and clock.recording:
                    kind = clock.kinds.get(data[1] & 0x7F, "video")
                    clock.rtt[kind].append((t - t0) * 1000.0)
            return await orig_handle(transport, data, arrival_time_ms)

        RTCDtlsTransport._send_rtp = send_rtp
        RTCDtlsTransport._handle_rtp_data = handle_rtp


async def aiortc_call(http, sbaiortc, with_media=True):
    """An echotest call; returns (sid, hid, pc, poller, task, t_offer, decoded, consumers)."""
    from aiortc import RTCSessionDescription
    sid = await asyncio.to_thread(http.create)
    hid = await asyncio.to_thread(http.attach, sid)
    poller = sbaiortc.Poller(http, sid)
    task = asyncio.ensure_future(poller.run())
    pc = sbaiortc.new_pc()
    decoded, consumers = {}, []

    @pc.on("track")
    def on_track(track):
        consumers.append(asyncio.ensure_future(sbaiortc.consume(track, decoded)))

    pc.addTrack(sbaiortc.ToneTrack())
    pc.addTrack(sbaiortc.PatternTrack())
    await pc.setLocalDescription(await pc.createOffer())
    t_offer = time.time()
    await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": "o", "body": {"audio": True, "video": True},
        "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
    ev = await poller.wait(lambda e: e.get("janus") == "event" and e.get("jsep"), 10)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ev["jsep"]["sdp"], type="answer"))
    return sid, hid, pc, poller, task, t_offer, decoded, consumers


async def aiortc_close(http, call):
    sid, hid, pc, poller, task, _, _, consumers = call
    await pc.close()
    for c in consumers:
        c.cancel()
    poller.stop = True
    await asyncio.to_thread(http.destroy, sid)
    await asyncio.wait_for(task, 40)


async def aiortc_joins(http, sbaiortc, n):
    joins = []
    for _ in range(n):
        call = await aiortc_call(http, sbaiortc)
        poller, t_offer = call[3], call[5]
        await poller.wait(lambda e: e.get("janus") == "webrtcup", 15)
        joins.append((poller.when(lambda e: e.get("janus") == "webrtcup") - t_offer) * 1000)
        await aiortc_close(http, call)
    return joins


async def aiortc_rtt_cpu(http, sbaiortc, server, window_s):
    clock = RtpClock()
    clock.install()
    call = await aiortc_call(http, sbaiortc)
    pc, poller = call[2], call[3]
    try:
        await poller.wait(lambda e: e.get("janus") == "webrtcup", 15)
        for ln in pc.remoteDescription.sdp.splitlines():  # payload type -> kind
            if ln.startswith("m="):
                f = ln[2:].split()
                for pt in f[3:]:
                    clock.kinds[int(pt)] = f[0]
        await asyncio.sleep(4)
        clock.recording = True
        rx0 = clock.received
        ns0, tk0 = server_cpu(server.pid)
        t0 = time.time()
        await asyncio.sleep(window_s)
        ns1, tk1 = server_cpu(server.pid)
        t1 = time.time()
        rx1 = clock.received
        clock.recording = False
        profiles = []
        with open(server.log_path, errors="replace") as fh:
            for line in fh:
                if "WebRTC up (" in line:
                    profiles.append(line.rsplit("(", 1)[1].rstrip(")\n"))
        packets = rx1 - rx0
        return {"rtt": clock.rtt, "packets": packets, "pps": packets / (t1 - t0),
                "us_per_pkt": (ns1 - ns0) / 1000.0 / packets if packets else float("nan"),
                "us_per_pkt_ticks": (tk1 - tk0) * 10000.0 / packets if packets else float("nan"),
                "profile": profiles[-1] if profiles else "?"}
    finally:
        await aiortc_close(http, call)


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builddir")
    ap.add_argument("--joins", type=int, default=30)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--only", default="joins,rtt,cpu")
    ap.add_argument("--json", help="also write the raw figures here")
    args = ap.parse_args()
    in_netns()
    only = set(args.only.split(","))

    import sbchromium
    from sbtest import Http, Server
    why = sbchromium.missing()
    if why:
        sys.exit("cannot run: " + why)
    html = sbchromium.make_html_folder()
    server = Server(args.builddir, html_folder=html, ws=False, name="bench-echo")
    raw = {}
    try:
        print("server pid %d, %s" % (server.pid, args.builddir))
        print("idle server CPU: %.0f µs/s" % idle_cpu(server.pid))
        if "joins" in only:
            for label, active in (("Chromium, server DTLS client", False),
                                  ("Chromium, server DTLS server", True)):
                joins, first, answers, tr = chromium_joins(sbchromium, server.http_port,
                                                           args.joins, active)
                raw["joins " + label] = joins
                print("join %s (%s): offer->webrtcup ms %s" % (label, tr.get("srtpCipher"),
                                                                 stats(joins)))
                print("    offer->answer ms %s" % stats(answers))
                print("    offer->first echoed frame decoded ms %s" % stats(first))
                print("    stalls > 500 ms: %s" % [round(j) for j in joins if j > 500])
            import sbaiortc
            joins = asyncio.run(aiortc_joins(Http(), sbaiortc, args.joins))
            raw["joins aiortc"] = joins
            print("join aiortc: offer->webrtcup ms %s" % stats(joins))
            print("    stalls > 500 ms: %s" % [round(j) for j in joins if j > 500])
        if "cpu" in only or "rtt" in only:
            for label, active in (("Chromium, server DTLS client", False),
                                  ("Chromium, server DTLS server", True)):
                runs = [chromium_load(sbchromium, server, args.parallel, args.window, active)
                        for _ in range(args.runs)]
                raw["load " + label] = runs
                r0 = runs[0]
                print("cpu %s x%d (%s, video %s): %.0f pkt/s (audio %d, video %d in %.0f s)"
                      % (label, args.parallel, r0["srtp"], r0["video"], r0["pps"],
                         r0["pk"]["audio"], r0["pk"]["video"], r0["secs"]))
                print("    server µs per echoed packet, median of %d runs: %.1f (schedstat; "
                      "runs %s), %.1f (utime+stime ticks; runs %s); server CPU %.1f%%"
                      % (len(runs), med([r["us_per_pkt"] for r in runs]),
                         ["%.1f" % r["us_per_pkt"] for r in runs],
                         med([r["us_per_pkt_ticks"] for r in runs]),
                         ["%.1f" % r["us_per_pkt_ticks"] for r in runs],
                         med([r["cpu_pct"] for r in runs])))
                rr = [x for r in runs for x in r["rtt_rr_ms"]]
                pair = [x for r in runs for x in r["rtt_pair_ms"]]
                print("    Chromium RTT ms: remote-inbound-rtp (RR) %s; ICE pair %s"
                      % (stats(rr), stats(pair)))
            import sbaiortc
            runs = [asyncio.run(aiortc_rtt_cpu(Http(), sbaiortc, server, args.window))
                    for _ in range(args.runs)]
            raw["load aiortc"] = [dict(r, rtt={k: len(v) for k, v in r["rtt"].items()})
                                  for r in runs]
            r0 = runs[0]
            print("cpu aiortc (%s): %.0f pkt/s" % (r0["profile"], r0["pps"]))
            print("    server µs per echoed packet, median of %d runs: %.1f (schedstat; runs "
                  "%s), %.1f (ticks)" % (len(runs), med([r["us_per_pkt"] for r in runs]),
                                         ["%.1f" % r["us_per_pkt"] for r in runs],
                                         med([r["us_per_pkt_ticks"] for r in runs])))
            for kind in ("audio", "video"):
                xs = [x for r in runs for x in r["rtt"][kind]]
                print("    aiortc echo RTT %s ms: %s" % (kind, stats(xs)))
    finally:
        problems = server.stop()
        server.cleanup()
        shutil.rmtree(html, ignore_errors=True)
        if problems:
            print("server problems:\n" + "\n".join(problems))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(raw, fh, indent=1)


if __name__ == "__main__":
    main()
