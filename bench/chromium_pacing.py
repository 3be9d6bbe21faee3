#!/usr/bin/python3
"""How a real browser spaces its video packets: the shape a server's fan-out has to absorb.

    bench/chromium_pacing.py [BUILD_DIR] [--seconds S] [--bitrate BPS]

Headless Chromium (Debian's, with janus.js) publishes its fake camera to the EchoTest of a
Switchboard in a private network namespace; a packet socket on loopback takes the kernel's
timestamp of every datagram Chromium sends to the server's media ports (a fixed range, so
the direction is known) and this prints, for the video stream: bitrate, packets per frame,
how long Chromium takes to send one frame's packets (first to last, same RTP timestamp), and
the bursts (packets less than 200 µs apart) with the gaps between them. sb-loadgen's
--pacing F imitates what this shows (bench/README.md). Needs root (the packet socket) and
what tests/integration needs for Chromium (apt-get install chromium; npm ci there).
"""
import os
import select
import shutil
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "lib"))
import sbchromium  # noqa: E402
from sbtest import HTTP_PORT, Server  # noqa: E402

PORT_MIN, PORT_MAX = 41000, 41100  # the server's ICE ports (nat.rtp_port_range)
BURST_GAP_US = 200
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35


class Sniffer(threading.Thread):
    """RTP datagrams sent to the server's ports on lo: (kernel time µs, payload)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind(("lo", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.packets = []
        self.stop = False

    def run(self):
        while not self.stop:
            if not select.select([self.sock], [], [], 0.2)[0]:
                continue
            data, anc, _flags, addr = self.sock.recvmsg(65536, 64)
            if addr[2] != PACKET_OUTGOING:  # lo shows each datagram going out and coming in
                continue
            ts = None
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    ts = sec * 1000000 + nsec // 1000
            udp = parse_udp(data)
            if ts is None or udp is None:
                continue
            dport, payload = udp
            if PORT_MIN <= dport <= PORT_MAX and len(payload) >= 12 and payload[0] >> 6 == 2 \
                    and not 192 <= payload[1] <= 223:  # RTP, not RTCP (RFC 5761)
                self.packets.append((ts, payload))


def parse_udp(frame):
    """lo frames carry an Ethernet header of zeros: (destination port, UDP payload) or None."""
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17:
        return None
    udp = ip[ihl:]
    return struct.unpack("!H", udp[2:4])[0], udp[8:]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))] if s else 0


def report(packets):
    by_pt = {}
    for ts, rtp in packets:
        by_pt.setdefault(rtp[1] & 0x7f, []).append((ts, rtp))
    if not by_pt:
        print("no RTP seen")
        return 1
    # The video stream: the payload type with the most bytes (audio is ~100-byte packets).
    pt, video = max(by_pt.items(), key=lambda kv: sum(len(r) for _t, r in kv[1]))
    t0, t1 = video[0][0], video[-1][0]
    span = max(1, t1 - t0) / 1e6
    bits = 8 * sum(len(r) for _t, r in video)
    frames = {}
    for ts, rtp in video:
        frames.setdefault(struct.unpack("!I", rtp[4:8])[0], []).append(ts)
    per_frame = [len(v) for v in frames.values()]
    frame_spread = [(max(v) - min(v)) / 1000.0 for v in frames.values() if len(v) > 1]
    bursts, gaps, cur = [], [], 1
    for (a, _), (b, _) in zip(video, video[1:]):
        if b - a < BURST_GAP_US:
            cur += 1
        else:
            bursts.append(cur)
            gaps.append((b - a) / 1000.0)
            cur = 1
    bursts.append(cur)
    print("video (pt %d): %d packets in %.1f s, %.0f kbit/s, %.1f frames/s, mean packet %d bytes"
          % (pt, len(video), span, bits / span / 1000, len(frames) / span,
             bits / 8 / len(video)))
    print("packets per frame: p50 %d p90 %d max %d" % (pct(per_frame, 50), pct(per_frame, 90),
                                                       max(per_frame)))
    if frame_spread:
        print("one frame's packets, first to last: p50 %.2f ms p90 %.2f ms max %.2f ms"
              % (pct(frame_spread, 50), pct(frame_spread, 90), max(frame_spread)))
    print("bursts (packets < %d us apart): p50 %d p90 %d max %d packets; gaps between bursts "
          "p50 %.2f ms p10 %.2f ms" % (BURST_GAP_US, pct(bursts, 50), pct(bursts, 90),
                                       max(bursts), pct(gaps, 50), pct(gaps, 10)))
    return 0


def main():
    args = sys.argv[1:]
    build, seconds, bitrate = os.path.join(HERE, "..", "build"), 10, 1500000
    while args:
        a = args.pop(0)
        if a == "--seconds":
            seconds = int(args.pop(0))
        elif a == "--bitrate":
            bitrate = int(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            build = a
    if os.environ.get("SB_BENCH_NS") != "1":
        os.environ["SB_BENCH_NS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable] + sys.argv)
    os.system("ip link set lo up")
    why = sbchromium.missing()
    if why:
        print("cannot run: " + why)
        return 2
    html = sbchromium.make_html_folder()
    server = Server(build, html_folder=html, ws=False, name="pacing",
                    args=["--rtp-port-range", "%d-%d" % (PORT_MIN, PORT_MAX)])
    sniffer = Sniffer()
    sniffer.start()
    try:
        out = sbchromium.run_echo(HTTP_PORT, {"server": "http://127.0.0.1:%d/janus" % HTTP_PORT,
                                              "bitrate": bitrate, "mediaMs": seconds * 1000,
                                              "sampleMs": 1000}, timeout_s=seconds + 60)
    finally:
        sniffer.stop = True
        sniffer.join()
        server.stop()
        server.cleanup()
        shutil.rmtree(html, ignore_errors=True)
    if out.get("error"):
        print("the page failed: %s" % out["error"])
        return 1
    # The last seconds only: the first ones are Chromium ramping its bitrate up.
    cut = sniffer.packets[-1][0] - seconds * 1000000 // 2 if sniffer.packets else 0
    return report([p for p in sniffer.packets if p[0] >= cut])


if __name__ == "__main__":
    sys.exit(main())
