"""Data channels through the EchoTest with aiortc (its RTCDataChannel, SCTP over DTLS, in the
older DTLS/SCTP + a=sctpmap SDP form it offers): the answer accepts the data m-line; a
reliable ordered channel echoes text behind the reference plugin's prefix and binary as it
is, for messages of 1 B to 64 KiB, in order; a second channel (unordered, no
retransmissions) echoes on its own label; and media-less data-only calls come up. Also:
without the data m-line nothing changes (control)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import netns
from sbaiortc import Poller, local_addresses, new_pc
from janusref import JanusRef
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, stop_and_report

PREFIX = b"Janus EchoTest here! You wrote: "
REF_PORT = 18090
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0


async def echo_call(http, tap, tag="", record=None, largest=65536):
    """The EchoTest data call; the replies, in order, go to record (a list) when given.
    tag prefixes the case names (the reference server's run); largest bounds the message
    sizes (the reference server gives up on 64 KiB messages).""" 
    sid = http.create()
    hid = http.attach(sid)
    poller = Poller(http, sid)
    task = asyncio.ensure_future(poller.run())
    pc = new_pc()
    chat = pc.createDataChannel("chat")
    game = pc.createDataChannel("game", ordered=False, maxRetransmits=0)
    opened = {"chat": asyncio.Event(), "game": asyncio.Event()}
    got = {"chat": asyncio.Queue(), "game": asyncio.Queue()}
    for ch in (chat, game):
        ch.on("open", lambda name=ch.label: opened[name].set())
        ch.on("message", lambda m, name=ch.label: got[name].put_nowait(m))
    await pc.setLocalDescription(await pc.createOffer())
    r = await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": "m", "body": {"audio": False, "video": False},
        "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
    check_eq(r.get("janus"), "ack", "message reply %r" % r)
    ev = await poller.wait(lambda e: e.get("jsep"), 10 * SLOW)
    answer = ev["jsep"]["sdp"]
    with tap.case(tag + "the answer accepts a data m-line"):
        check("m=application 9 " in answer, answer)
        if not tag:  # ours: in the form offered, with our max-message-size
            check("m=application 9 DTLS/SCTP 5000" in answer, answer)
            check("a=sctpmap:5000 webrtc-datachannel" in answer, answer)
            check("a=max-message-size:" in answer, answer)
    from aiortc import RTCSessionDescription
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    with tap.case(tag + "both channels open over SCTP through the server"):
        await asyncio.wait_for(opened["chat"].wait(), 15 * SLOW)
        await asyncio.wait_for(opened["game"].wait(), 5 * SLOW)
        check(chat.readyState == "open" and game.readyState == "open", "channel states")
    # aiortc announces a=max-message-size:65536: the largest text whose echo (with the
    # prefix) still fits it.
    upto = "64 KiB" if largest >= 65536 else "%d B" % largest
    with tap.case(tag + "text comes back behind the reference prefix, 1 B to %s, in order" % upto):
        sizes = [n for n in (1, 10, 1000, 16000, 65536 - len(PREFIX)) if n <= largest]
        for n in sizes:
            chat.send("x" * (n - 1) + "!")
        for n in sizes:
            m = await asyncio.wait_for(got["chat"].get(), 10 * SLOW)
            if record is not None:
                record.append(m)
            check(isinstance(m, str), "text stays text: %r" % type(m))
            check_eq(m.encode(), PREFIX + b"x" * (n - 1) + b"!", "echo of %d bytes" % n)
    with tap.case(tag + "binary comes back as it is, 1 B to %s, in order" % upto):
        blobs = [bytes([i % 256]) * n for i, n in enumerate([1, 100, 5000, 16000, 65536])
                 if n <= largest]
        for b in blobs:
            chat.send(b)
        for b in blobs:
            m = await asyncio.wait_for(got["chat"].get(), 10 * SLOW)
            if record is not None:
                record.append(m)
            check(isinstance(m, bytes), "binary stays binary: %r" % type(m))
            check_eq(len(m), len(b), "length")
            check(m == b, "content")
    with tap.case(tag + "an unordered, unreliable channel echoes on its own label"):
        for i in range(20):
            game.send(b"frame-%d" % i)
        seen = set()
        for _ in range(20):
            seen.add(await asyncio.wait_for(got["game"].get(), 10 * SLOW))
        check_eq(len(seen), 20, "distinct echoes (no loss on loopback)")
        check(got["chat"].empty(), "nothing crossed to the other channel")
    await pc.close()
    poller.stop = True
    task.cancel()
    http.destroy(sid)


async def media_only_control(http, tap):
    """An offer without a data m-line is answered without one, as before."""
    sid = http.create()
    hid = http.attach(sid)
    pc = new_pc()
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    poller = Poller(http, sid)
    task = asyncio.ensure_future(poller.run())
    await asyncio.to_thread(http.post, "/%d/%d" % (sid, hid), {
        "janus": "message", "transaction": "m", "body": {"audio": True},
        "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
    ev = await poller.wait(lambda e: e.get("jsep"), 10 * SLOW)
    with tap.case("control: an offer without data gets no data m-line"):
        check("m=application" not in ev["jsep"]["sdp"], ev["jsep"]["sdp"])
    await pc.close()
    poller.stop = True
    task.cancel()
    http.destroy(sid)


def main():
    tap = Tap("datachannel-aiortc")
    server = Server(builddir_from_argv(), name="datachannel",
                    args=["--log-level", os.environ.get("SB_DC_LOG", "info")])
    ours, theirs = [], []
    try:
        http = Http(timeout=40)
        asyncio.run(echo_call(http, tap, record=ours))
        asyncio.run(media_only_control(http, tap))
    finally:
        stop_and_report(tap, server)
    # The same flow against Debian's janus: its EchoTest's replies must be ours, byte for byte.
    # It gathers nothing on loopback: a veth of ours (198.18.61.1) is its interface, and
    # aiortc's.
    with netns.Lab() as lab:
        peer = lab.namespace("veth-peer")
        link = netns.veth(netns.own(), peer, "198.18.61.1/24", "198.18.61.2/24")
        local_addresses(["198.18.61.1"])
        ref = JanusRef(REF_PORT, enforce=link.name_a)
        try:
            asyncio.run(echo_call(Http(port=REF_PORT, timeout=40), tap, "reference: ", theirs,
                                  largest=16000))
        finally:
            ref.stop()
    with tap.case("the reference server's EchoTest replies are ours, byte for byte (up to "
                  "16 KB: it gives up on 64 KiB messages)"):
        common = [m for m in ours if len(m) <= 16000 + len(PREFIX)]
        check_eq(len(theirs), len(common), "replies")
        for a, b in zip(common, theirs):
            check(type(a) is type(b) and a == b, "ours %r... vs theirs %r..." % (a[:60], b[:60]))
    tap.exit()


if __name__ == "__main__":
    main()
