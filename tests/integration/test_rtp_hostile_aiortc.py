"""Hostile RTP from the authenticated client itself (sealed with its own SRTP keys, so it
passes every check a spoofer fails): one packet from an unsignalled SSRC far ahead of the
live stream must not stall the m-line's media, and payload types that were not negotiated
on an m-line are dropped, not echoed back. An aiortc EchoTest call measures both."""
import asyncio
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, stop_and_report  # noqa: E402
from test_echo_aiortc import counter, echo_call, end_call, hang_up, until_decoded  # noqa: E402,E501

from aiortc.rtcdtlstransport import RTCDtlsTransport  # noqa: E402


class Wire:
    """Records what aiortc sends (the last packet per SSRC) and the payload types it
    receives back, by wrapping its DTLS transport's RTP send and receive."""

    def __init__(self):
        self.last = {}  # ssrc -> (pt, seq, ts)
        self.received_pts = {}
        self.transport = None
        orig_send, orig_recv = RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data
        wire = self

        async def send_rtp(self, data):
            wire.transport = self
            if len(data) >= 12 and not (192 <= data[1] <= 223):
                ssrc = struct.unpack("!I", data[8:12])[0]
                seq, ts = struct.unpack("!HI", data[2:8])
                wire.last[ssrc] = (data[1] & 0x7F, seq, ts)
            await orig_send(self, data)

        async def handle_rtp(self, data, arrival_time_ms):
            if len(data) >= 12:
                pt = data[1] & 0x7F
                wire.received_pts[pt] = wire.received_pts.get(pt, 0) + 1
            await orig_recv(self, data, arrival_time_ms)

        RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data = send_rtp, handle_rtp
        self.restore = lambda: (setattr(RTCDtlsTransport, "_send_rtp", orig_send),
                                setattr(RTCDtlsTransport, "_handle_rtp_data", orig_recv))

    def stream(self, pt):
        """(ssrc, seq, ts) of the live stream aiortc sends with payload type pt."""
        for ssrc, (p, seq, ts) in self.last.items():
            if p == pt:
                return ssrc, seq, ts
        raise AssertionError("no stream with payload type %d in %r" % (pt, self.last))

    async def inject(self, pt, seq, ts, ssrc, payload):
        """One RTP packet, sealed with the client's own SRTP session."""
        header = struct.pack("!BBHII", 0x80, pt & 0x7F, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        await self.transport._send_rtp(header + payload)


def payload_types(sdp, kind):
    m = re.search(r"^m=%s \d+ \S+ ([\d ]+)" % kind, sdp, re.M)
    return [int(x) for x in m.group(1).split()]


async def frames_within(decoded, seconds):
    before = decoded.get("video", 0)
    await asyncio.sleep(seconds)
    return decoded.get("video", 0) - before


async def jump_and_watch(tap, wire, video_pt, decoded):
    """One VP8 packet from an unknown SSRC 30000 ahead of the live video; then video must
    keep decoding."""
    ssrc, seq, ts = wire.stream(video_pt)
    vp8 = bytes([0x90, 0x80, 0x00, 0x9d, 0x01, 0x2a]) + os.urandom(200)
    await wire.inject(video_pt, seq + 30000, ts + 90000, ssrc ^ 0x5A5A5A5A, vp8)
    got = await frames_within(decoded, 2.0)
    tap.note("video frames decoded in the 2 s after: %d" % got)
    check(got >= 15, "video kept decoding (%d frames in 2 s)" % got)


def strip_ssrcs(sdp):
    """The offer without a=ssrc and a=ssrc-group lines: the server must learn the SSRCs from
    the packets, as it does for rid-based simulcast."""
    return "".join(ln for ln in sdp.splitlines(True) if not ln.startswith("a=ssrc"))


async def learnt_ssrc_case(tap, http):
    """The same jump when the SSRC was learnt, not announced: the live one keeps its place."""
    wire = Wire()
    sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(
        http, munge=strip_ssrcs)
    try:
        with tap.case("the same when the SSRCs were learnt from packets, not announced"):
            await poller.wait(lambda e: e.get("janus") == "webrtcup", 10)
            check(await until_decoded(decoded, 20), "video before: %r" % decoded)
            video_pt = payload_types(pc.remoteDescription.sdp, "video")[0]
            await jump_and_watch(tap, wire, video_pt, decoded)
    finally:
        wire.restore()
        await end_call(http, sid, pc, poller, poll_task, consumers)


async def main_async(tap, http, server):
    wire = Wire()
    sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
    try:
        await poller.wait(lambda e: e.get("janus") == "webrtcup", 10)
        await until_decoded(decoded, 20)  # checked in the first case
        answer = pc.remoteDescription.sdp
        video_pt = payload_types(answer, "video")[0]
        audio_pt = payload_types(answer, "audio")[0]
        with tap.case("one packet from an unsignalled SSRC 30000 ahead does not stall video"):
            check(decoded.get("video", 0) >= 20, "video before: %r" % decoded)
            await jump_and_watch(tap, wire, video_pt, decoded)
        with tap.case("payload types not negotiated are dropped, not echoed"):
            allowed = set(payload_types(answer, "audio") + payload_types(answer, "video"))
            bogus = [pt for pt in (0, 8, 13, 100, 120, 127) if pt not in allowed]
            a_ssrc, a_seq, a_ts = wire.stream(audio_pt)
            v_ssrc, v_seq, v_ts = wire.stream(video_pt)
            for i, pt in enumerate(bogus):
                await wire.inject(pt, a_seq + 1 + i, a_ts, a_ssrc, os.urandom(40))
                await wire.inject(pt, v_seq + 1 + i, v_ts, v_ssrc, os.urandom(40))
            await asyncio.sleep(1.0)
            echoed = {pt: n for pt, n in wire.received_pts.items() if pt not in allowed}
            tap.note("payload types received back: %r" % wire.received_pts)
            check(not echoed, "non-negotiated payload types echoed: %r" % echoed)
            got = await frames_within(decoded, 1.0)
            check(got >= 5, "video still decodes (%d frames in 1 s)" % got)
        with tap.case("the server counts what it dropped"):
            closed = await hang_up(tap, http, server, sid, hid, poller)
            check(counter(closed, "unknown ssrc") >= 1, "the unsignalled SSRC was counted")
            check(counter(closed, "bad payload type") >= 2 * len(bogus),
                  "bad payload types counted")
    finally:
        wire.restore()
        await end_call(http, sid, pc, poller, poll_task, consumers)


def main():
    builddir = builddir_from_argv()
    tap = Tap("rtp-hostile")
    server = Server(builddir, ws=False, name="rtp-hostile")
    try:
        asyncio.run(main_async(tap, Http(), server))
        asyncio.run(learnt_ssrc_case(tap, Http()))
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
