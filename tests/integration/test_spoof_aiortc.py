"""Spoofed packets from a live client's own address and port do not end or stall its call:
forged DTLS records of every content type (short and long, every epoch), STUN without
MESSAGE-INTEGRITY, and SRTP/SRTCP that does not authenticate. An aiortc EchoTest call keeps
decoding through the attack, the server hangs nothing up and counts what it dropped."""
import asyncio
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check,  # noqa: E402
                    stop_and_report)
from spoof import Spoofer, forged_dtls_records, forged_stun  # noqa: E402
from test_echo_aiortc import counter, echo_call, end_call, hang_up, until_decoded  # noqa: E402,E501


def selected_pair(pc):
    """(client (host, port), server (host, port)) of aiortc's nominated ICE pair."""
    ice = pc.getTransceivers()[0].sender.transport.transport
    pair = ice._connection._nominated[1]
    return ((pair.local_candidate.host, pair.local_candidate.port),
            (pair.remote_candidate.host, pair.remote_candidate.port))


def ice_ufrag(sdp):
    return re.search(r"a=ice-ufrag:(\S+)", sdp).group(1)


def forged_srtp():
    """RTP and RTCP shaped packets whose auth tags are random."""
    out = []
    for pt in (96, 97, 111, 0):
        for seq in (1, 30000, 65535):
            out.append(bytes([0x80, pt]) + seq.to_bytes(2, "big") + os.urandom(8) +
                       os.urandom(100))
    for pt in (200, 201, 205, 206):
        out.append(bytes([0x81, pt, 0, 7]) + os.urandom(28) + b"\x80\0\0\x05" + os.urandom(10))
    return out


def ice_dropped():
    """switchboard_ice_dropped_total from the server's /metrics (its admin port)."""
    status, _, data = Http(port=HTTP_PORT - 1000, base="").raw("GET", "/metrics")
    m = re.search(rb"^switchboard_ice_dropped_total (\d+)$", data or b"", re.M)
    check(status == 200 and m, "/metrics has switchboard_ice_dropped_total (status %s)" % status)
    return int(m.group(1)) if m else 0


async def frames_in(decoded, seconds):
    before = decoded.get("video", 0)
    await asyncio.sleep(seconds)
    return decoded.get("video", 0) - before


async def main_async(tap, http, server):
    with tap.case("spoofed DTLS, STUN and SRTP from the client's 5-tuple: the call goes on"):
        sid, hid, pc, poller, poll_task, decoded, consumers, _ = await echo_call(http)
        spoofer = Spoofer()
        try:
            await poller.wait(lambda e: e.get("janus") == "webrtcup", 10)
            check(await until_decoded(decoded, 20), "video before the attack: %r" % decoded)
            client, srv = selected_pair(pc)
            tap.note("client %s:%d, server %s:%d" % (client + srv))
            username = "%s:%s" % (ice_ufrag(pc.remoteDescription.sdp),
                                  ice_ufrag(pc.localDescription.sdp))
            dropped_before = ice_dropped()
            rounds = 0
            t_end = time.time() + 3
            while time.time() < t_end:  # the whole set, again and again, for 3 s
                for pkt in forged_dtls_records() + forged_stun(username) + forged_srtp():
                    spoofer.send(client, srv, pkt)
                rounds += 1
                await asyncio.sleep(0.05)
            tap.note("%d spoofed datagrams in %d rounds" % (spoofer.sent, rounds))
            # The forged STUN reaches the socket we read ourselves: each is dropped and counted
            # (10 a round; half of them at least, should the kernel drop some on the way).
            dropped = ice_dropped() - dropped_before
            tap.note("switchboard_ice_dropped_total +%d" % dropped)
            check(dropped >= 5 * rounds, "forged STUN counted in /metrics (+%d for %d rounds)"
                  % (dropped, rounds))
            got = await frames_in(decoded, 3)
            tap.note("video frames decoded in the 3 s after the attack: %d" % got)
            check(got >= 20, "the call still decodes after the attack (%d frames)" % got)
            hangups = poller.find(lambda e: e.get("janus") == "hangup")
            check(not hangups, "no hangup: %r" % hangups)
            check(server.alive(), "server alive")
            closed = await hang_up(tap, http, server, sid, hid, poller)
            check(counter(closed, "forged dtls") > 0, "forged DTLS datagrams counted")
            check(counter(closed, "srtp failures") > 0, "forged SRTP counted")
        finally:
            spoofer.close()
            await end_call(http, sid, pc, poller, poll_task, consumers)


def main():
    builddir = builddir_from_argv()
    tap = Tap("spoof-aiortc")
    server = Server(builddir, ws=False, name="spoof-aiortc")
    try:
        asyncio.run(main_async(tap, Http(), server))
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
