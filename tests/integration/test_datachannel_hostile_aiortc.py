"""Hostile data channel traffic from inside an authenticated DTLS session, with aiortc: a
client of the EchoTest (audio and a data channel) sends SCTP packets it crafts itself (bad
checksums, wrong verification tags, truncated and unknown chunks, DATA with forged TSNs and on
streams past the limit, empty and fragmented DATA, DCEP opens that do not parse, forged stream
resets, INITs with absurd parameters, SACKs for data never sent, ABORTs), an oversized
message, and a flood of channel opens and closes.

What must hold: the server lives; its answer to junk that a genuine peer could never send is
to drop it, so the association keeps echoing; what only the peer itself can do to its own
association (an ABORT, a SACK for data never sent, a restart INIT) ends that association but
not the call (its audio keeps coming back); another caller in the meantime sees nothing of
it; closed channels are forgotten (memory stays bounded). Sanitizer builds check for leaks."""
import asyncio
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from crc32c import crc32c  # noqa: E402
from sbaiortc import Poller, ToneTrack, new_pc  # noqa: E402
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402

SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0
PREFIX = b"Janus EchoTest here! You wrote: "


class Caller:
    """An EchoTest call with echoed audio and a reliable "chat" channel."""

    def __init__(self, http):
        self.http = http
        self.got = asyncio.Queue()
        self.audio_frames = 0

    async def start(self):
        http = self.http
        self.sid = http.create()
        self.hid = http.attach(self.sid)
        self.poller = Poller(http, self.sid)
        self.task = asyncio.ensure_future(self.poller.run())
        self.pc = pc = new_pc()
        pc.addTrack(ToneTrack())
        self.chat = pc.createDataChannel("chat")
        opened = asyncio.Event()
        self.chat.on("open", opened.set)
        self.chat.on("message", self.got.put_nowait)

        @pc.on("track")
        def on_track(track):
            asyncio.ensure_future(self._count(track))

        await pc.setLocalDescription(await pc.createOffer())
        await asyncio.to_thread(http.post, "/%d/%d" % (self.sid, self.hid), {
            "janus": "message", "transaction": "m", "body": {"audio": True, "video": False},
            "jsep": {"type": "offer", "sdp": pc.localDescription.sdp}})
        ev = await self.poller.wait(lambda e: e.get("jsep"), 10 * SLOW)
        from aiortc import RTCSessionDescription
        await pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "answer"))
        await asyncio.wait_for(opened.wait(), 15 * SLOW)

    async def _count(self, track):
        while True:
            try:
                await track.recv()
            except Exception:
                return
            self.audio_frames += 1

    async def echo(self, text, timeout=5.0):
        """Send text on chat; the echo, or None when none comes."""
        while not self.got.empty():
            self.got.get_nowait()
        self.chat.send(text)
        try:
            return await asyncio.wait_for(self.got.get(), timeout * SLOW)
        except asyncio.TimeoutError:
            return None

    async def audio_flows(self):
        before = self.audio_frames
        await asyncio.sleep(1.0 * SLOW)
        return self.audio_frames - before

    def sctp(self):
        return self.pc.sctp

    async def raw(self, packet):
        """One SCTP packet, as it is, through our DTLS session."""
        await self.pc.sctp.transport._send_data(packet)

    async def chunk(self, ctype, flags, body, tag=None, good_crc=True, ports=None):
        """One chunk in a packet with our association's header (or the ones given)."""
        s = self.sctp()
        src, dst = ports or (s._local_port, s._remote_port)
        vtag = s._remote_verification_tag if tag is None else tag
        length = 4 + len(body)
        data = struct.pack("!BBH", ctype, flags, length) + body + b"\0" * (-length % 4)
        header = struct.pack("!HHL", src, dst, vtag)
        crc = crc32c(header + b"\0\0\0\0" + data)
        if not good_crc:
            crc ^= 0x5A5A5A5A
        await self.raw(header + struct.pack("<L", crc) + data)

    async def data_in_window(self, stream, ppid, payload):
        """A whole unordered DATA chunk with the next TSN, as if aiortc had sent it (its own
        counter moves on, so its later messages do not collide). Unordered: an ordered one
        would break the stream's sequence numbers, which is fatal (see fatal_for_itself)."""
        s = self.sctp()
        tsn = s._local_tsn
        s._local_tsn = (tsn + 1) % (1 << 32)
        await self.chunk(0, 7, data_chunk(tsn, stream, 0, ppid, payload))

    async def data_ordered_replay(self):
        """An ordered DATA on the chat stream with SSN 0, long delivered."""
        s = self.sctp()
        tsn = s._local_tsn
        s._local_tsn = (tsn + 1) % (1 << 32)
        await self.chunk(0, 3, data_chunk(tsn, self.chat.id, 0, 51, b"replayed SSN"))

    async def stop(self):
        await self.pc.close()
        self.poller.stop = True
        self.task.cancel()
        self.http.destroy(self.sid)


def data_chunk(tsn, stream, ssn, ppid, payload):
    return struct.pack("!IHHI", tsn, stream, ssn, ppid) + payload


def survivable_junk(c):
    """Packets a genuine peer never sends, each of which must be dropped (or answered with an
    ERROR) without ending the association: (name, coroutine function) pairs."""
    s = c.sctp()
    t = s._local_tsn  # our next TSN: the server expects it
    return [
        ("DATA with a bad checksum",
         lambda: c.chunk(0, 3, data_chunk(t, 0, 0, 51, b"bad crc"), good_crc=False)),
        ("DATA with a wrong verification tag",
         lambda: c.chunk(0, 3, data_chunk(t, 0, 0, 51, b"bad tag"), tag=0xDEADBEEF)),
        ("DATA to other ports", lambda: c.chunk(0, 3, data_chunk(t, 0, 0, 51, b"x"),
                                                 ports=(1, 2))),
        ("2 bytes", lambda: c.raw(b"\x13\x88")),
        ("300 bytes of noise", lambda: c.raw(os.urandom(300))),
        ("unknown chunk type, skip quietly", lambda: c.chunk(0x3F, 0, b"skip")),
        ("unknown chunk type, skip and report", lambda: c.chunk(0x7F, 0, b"report")),
        ("DATA with a TSN far ahead",
         lambda: c.chunk(0, 3, data_chunk(t + 0x7FFFFFF, 0, 0, 51, b"far ahead"))),
        ("DATA with a TSN long gone",
         lambda: c.chunk(0, 3, data_chunk(t - 100000, 0, 0, 51, b"long gone"))),
        ("HEARTBEAT with an info length past the chunk",
         lambda: c.chunk(4, 0, struct.pack("!HH", 1, 60000) + b"hb")),
        # In the window: each takes the TSN aiortc would use next (and moves it on).
        ("DATA on a stream past the limit (2000 of 1024)",
         lambda: c.data_in_window(2000, 51, b"stream past the limit")),
        ("a DCEP OPEN that does not parse", lambda: c.data_in_window(40, 50, b"\x03\x00")),
        ("a DCEP OPEN whose label length overruns it",
         lambda: c.data_in_window(42, 50, struct.pack("!BBHIHH", 3, 0, 0, 0, 60000, 0) + b"x")),
        ("a DCEP OPEN on a stream already open (the chat channel's)",
         lambda: c.data_in_window(c.chat.id, 50,
                                  struct.pack("!BBHIHH", 3, 0, 0, 0, 5, 0) + b"taken")),
        ("a DCEP ACK for nothing", lambda: c.data_in_window(46, 50, b"\x02")),
        ("text on a stream no channel was opened on",
         lambda: c.data_in_window(44, 51, b"no channel here")),
        ("a message with an unknown PPID", lambda: c.data_in_window(0, 4242, b"unknown ppid")),
    ]


async def fatal_for_itself(c):
    """What the peer may do to its own association: it may end it (usrsctp answers a
    malformed DATA chunk or a broken stream sequence with an ABORT, "protocol violation")."""
    s = c.sctp()
    await c.data_ordered_replay()                    # an ordered DATA with an SSN delivered
    await c.chunk(0, 3, b"\x00\x01")                                              # DATA, 6 B
    await c.chunk(3, 0, struct.pack("!IIHH", s._local_tsn + 0x100000, 65536, 0, 0))  # SACK
    await c.chunk(1, 0, struct.pack("!IIHHI", 0x12345678, 0, 65535, 65535, 1))     # INIT
    await c.chunk(6, 0, b"")                                                       # ABORT


async def run(tap, server):
    http = Http(timeout=40)
    victim, bystander = Caller(http), Caller(Http(timeout=40))
    await victim.start()
    await bystander.start()
    with tap.case("both calls echo data and audio before"):
        check_eq(await victim.echo("hello"), (PREFIX + b"hello").decode(), "victim echo")
        check_eq(await bystander.echo("hi"), (PREFIX + b"hi").decode(), "bystander echo")
        check(await victim.audio_flows() > 10, "victim audio")

    for name, send in survivable_junk(victim):
        with tap.case("dropped, the association still echoes: " + name):
            await send()
            check(server.alive(), "server alive")
            check_eq(await victim.echo("after"), (PREFIX + b"after").decode(), "echo after it")

    with tap.case("an oversized message (300 KiB, over a=max-message-size) is dropped whole, "
                  "the channel goes on"):
        victim.chat.send(b"z" * (300 << 10))
        got = await victim.echo("next", timeout=8.0)
        check_eq(got, (PREFIX + b"next").decode(), "the next message is echoed, not the big one")

    with tap.case("a flood of 1,200 channel opens and closes (past the 1,024 streams: closed ones are reused): each echoes"):
        rounds = []
        for r in range(6):
            chans, opened = [], []
            for i in range(200):
                ch = victim.pc.createDataChannel("flood-%d-%d" % (r, i))
                ev = asyncio.Event()
                ch.on("open", ev.set)
                chans.append(ch)
                opened.append(ev)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 20 * SLOW)
            last = asyncio.Queue()
            chans[-1].on("message", last.put_nowait)
            chans[-1].send("last of %d" % r)
            echo = await asyncio.wait_for(last.get(), 5 * SLOW)
            rounds.append(echo)
            for ch in chans:
                ch.close()
            await asyncio.sleep(0.5 * SLOW)
        check_eq(rounds, [(PREFIX + b"last of %d" % r).decode() for r in range(6)],
                 "the newest channel of each round echoes")
        check_eq(await victim.echo("chat still"), (PREFIX + b"chat still").decode(),
                 "the first channel is untouched")

    with tap.case("what the peer may do to its own association ends only that: its audio "
                  "still comes back, the other caller sees nothing"):
        await fatal_for_itself(victim)
        await asyncio.sleep(1.0 * SLOW)
        check(server.alive(), "server alive")
        ended = victim.poller.find(lambda e: e.get("janus") == "media" and
                                   e.get("type") == "data")
        tap.note("event for the data m-line: %r" % ended)
        # The ABORT at least ends it: the client was told, with janus.js's media event.
        check(ended and ended[0].get("receiving") is False, "media event type data, "
              "receiving false: %r" % ended)
        check(await victim.audio_flows() > 10, "victim's echoed audio still flows")
        check_eq(await bystander.echo("unaffected"), (PREFIX + b"unaffected").decode(),
                 "bystander echo")
        check(await bystander.audio_flows() > 10, "bystander audio")
    await victim.stop()
    await bystander.stop()


def main():
    tap = Tap("datachannel-hostile")
    server = Server(builddir_from_argv(), name="datachannel-hostile",
                    args=["--log-level", os.environ.get("SB_DC_LOG", "info")])
    try:
        asyncio.run(run(tap, server))
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
