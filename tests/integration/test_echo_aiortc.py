"""EchoTest media end to end with aiortc: a real WebRTC client sends audio and video
through Switchboard's ICE/DTLS/SRTP and decodes what comes back. Also: a wrong DTLS
fingerprint in the offer must end in a hangup, never in media."""
import asyncio
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report  # noqa

from sbaiortc import Poller, ToneTrack, PatternTrack, consume, new_pc  # noqa: E402
from aiortc import RTCSessionDescription  # noqa: E402


async def echo_call(http, tamper_fingerprint=False, munge=None):
    sid = http.create()
    hid = http.attach(sid)
    poller = Poller(http, sid)
    poll_task = asyncio.ensure_future(poller.run())
    pc = new_pc()
    decoded = {}
    consumers = []

    @pc.on("track")
    def on_track(track):
        consumers.append(asyncio.ensure_future(consume(track, decoded)))

    pc.addTrack(ToneTrack())
    pc.addTrack(PatternTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    if tamper_fingerprint:
        sdp = re.sub(r"a=fingerprint:sha-256 ([0-9A-F]{2})",
                     lambda m: "a=fingerprint:sha-256 " + ("00" if m.group(1) != "00" else "11"),
                     sdp)
    if munge:
        sdp = munge(sdp)
    t0 = time.time()
    r = await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": "offer", "body": {"audio": True, "video": True},
        "jsep": {"type": "offer", "sdp": sdp}})
    check_eq(r.get("janus"), "ack", "message reply")
    ev = await poller.wait(lambda e: e.get("janus") == "event" and e.get("jsep"), 10)
    check_eq(ev["jsep"]["type"], "answer", "jsep type")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ev["jsep"]["sdp"], type="answer"))
    return sid, hid, pc, poller, poll_task, decoded, consumers, t0


async def end_call(http, sid, pc, poller, poll_task, consumers):
    """Closes the client of an echo_call and destroys its session."""
    await pc.close()
    for c in consumers:
        c.cancel()
    poller.stop = True
    http.destroy(sid)
    await asyncio.wait_for(poll_task, 40)


async def until_decoded(decoded, video, timeout=15.0):
    """Waits until `video` frames were decoded; returns whether they were."""
    deadline = time.time() + timeout
    while time.time() < deadline and decoded.get("video", 0) < video:
        await asyncio.sleep(0.1)
    return decoded.get("video", 0) >= video


async def hang_up(tap, http, server, sid, hid, poller):
    """Hangs the call up and returns the server's closing line of its PeerConnection (noted),
    which carries its counters (see counter)."""
    await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid),
                            {"janus": "hangup", "transaction": "h"})
    await poller.wait(lambda e: e.get("janus") == "hangup", 5)
    with open(server.log_path, errors="replace") as fh:
        closed = [ln for ln in fh if "closed (Janus API)" in ln][-1]
    tap.note(closed.strip())
    return closed


def counter(closed, name):
    """One counter of a closing line ("srtp failures", "rtx in", ...)."""
    return int(re.search(r"%s (\d+)" % name, closed).group(1))


async def main_async(tap, http):
    with tap.case("aiortc echo: audio and video come back and decode"):
        sid, hid, pc, poller, poll_task, decoded, consumers, t0 = await echo_call(http)
        try:
            await poller.wait(lambda e: e.get("janus") == "webrtcup", 10)
            tap.note("webrtcup after %.0f ms" % ((time.time() - t0) * 1000))
            await poller.wait(lambda e: e.get("janus") == "media" and e.get("type") == "video"
                              and e.get("receiving") is True, 10)
            deadline = time.time() + 15
            while time.time() < deadline and (decoded.get("video", 0) < 30
                                                or decoded.get("audio", 0) < 50):
                await asyncio.sleep(0.1)
            tap.note("decoded frames: %r" % decoded)
            check(decoded.get("video", 0) >= 30, "video frames decoded: %r" % decoded)
            check(decoded.get("audio", 0) >= 50, "audio frames decoded: %r" % decoded)
            r = await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid),
                                        {"janus": "hangup", "transaction": "h"})
            check_eq(r.get("janus"), "success", "hangup reply")
            await poller.wait(lambda e: e.get("janus") == "hangup", 5)
        finally:
            await end_call(http, sid, pc, poller, poll_task, consumers)

    with tap.case("aiortc echo: a wrong DTLS fingerprint ends in hangup, no media"):
        sid, hid, pc, poller, poll_task, decoded, consumers, t0 = await echo_call(
            http, tamper_fingerprint=True)
        try:
            ev = await poller.wait(lambda e: e.get("janus") == "hangup", 15)
            tap.note("hangup reason: %r" % ev.get("reason"))
            check(not poller.find(lambda e: e.get("janus") == "webrtcup"), "no webrtcup")
            check_eq(decoded.get("video", 0), 0, "video frames decoded")
        finally:
            await end_call(http, sid, pc, poller, poll_task, consumers)


def install_loss(rate):
    """Drop a share of the video RTP aiortc sends and receives (RTCP and audio pass), so
    NACK/RTX must repair both directions. Deterministic: every Nth packet."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport
    every = int(round(1 / rate))
    counters = {"out": 0, "in": 0}
    orig_send, orig_handle = RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data

    def is_video(data):
        return len(data) > 1 and (data[1] & 0x7F) in (97, 98, 99, 100)

    async def send_rtp(self, data):
        if is_video(data):
            counters["out"] += 1
            if counters["out"] % every == 0:
                return
        await orig_send(self, data)

    async def handle_rtp(self, data, arrival_time_ms):
        if is_video(data):
            counters["in"] += 1
            if counters["in"] % every == 0:
                return
        await orig_handle(self, data, arrival_time_ms)

    RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data = send_rtp, handle_rtp

    def restore():
        RTCDtlsTransport._send_rtp, RTCDtlsTransport._handle_rtp_data = orig_send, orig_handle
    return restore


async def lossy_case(tap, http, server):
    with tap.case("aiortc echo with 8% video loss both ways: NACK/RTX repair, slowlink events"):
        restore = install_loss(0.08)
        sid, hid, pc, poller, poll_task, decoded, consumers, t0 = await echo_call(http)
        try:
            await poller.wait(lambda e: e.get("janus") == "webrtcup", 10)
            await poller.wait(lambda e: e.get("janus") == "slowlink" and e.get("uplink") is False, 15)
            await poller.wait(lambda e: e.get("janus") == "slowlink" and e.get("uplink") is True, 15)
            deadline = time.time() + 10
            while time.time() < deadline and decoded.get("video", 0) < 60:
                await asyncio.sleep(0.1)
            tap.note("decoded with loss: %r" % decoded)
            check(decoded.get("video", 0) >= 60, "video frames decoded despite loss: %r" % decoded)
            # The server's closing line counts what NACK/RTX repaired, both ways.
            closed = await hang_up(tap, http, server, sid, hid, poller)
            check(counter(closed, "retransmitted") > 0, "we answered the client's NACKs")
            check(counter(closed, "rtx in") > 0, "the client answered our NACKs with RTX")
        finally:
            restore()
            await end_call(http, sid, pc, poller, poll_task, consumers)


def main():
    builddir = builddir_from_argv()
    tap = Tap("echo-aiortc")
    server = Server(builddir, ws=False, name="echo-aiortc")
    try:
        asyncio.run(main_async(tap, Http()))
        asyncio.run(lossy_case(tap, Http(), server))
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
