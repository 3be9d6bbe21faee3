"""aiortc helpers for the VideoRoom media tests (Debian python3-aiortc 1.4.0, run with
/usr/bin/python3): tracks that carry a recognizable colour, an asynchronous event poller,
and publisher / subscriber flows over the Janus HTTP API.

A publisher's video is a solid colour with a moving bar (so the encoder keeps producing
real frames); a subscriber decodes what it receives and records the mean colour of the
last frame, which tells which publisher it is watching.
"""
import asyncio
import concurrent.futures
import fractions
import time

import aioice.ice

# aioice leaves 127.0.0.1 out of its host candidates; the test namespace has nothing else.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: ["127.0.0.1"]

import numpy  # noqa: E402
from aiortc import (RTCConfiguration, RTCPeerConnection, RTCSessionDescription,  # noqa: E402
                    VideoStreamTrack)
from aiortc.mediastreams import AudioStreamTrack  # noqa: E402
from av import AudioFrame, VideoFrame  # noqa: E402

# Blocking HTTP calls (long-polls above all) get their own threads: on the default executor
# they would starve aiortc, which encodes there.
_HTTP_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=64)


async def _http(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_HTTP_POOL, fn, *args)


COLORS = {"red": (0, 0, 220), "green": (0, 200, 0), "blue": (220, 0, 0)}  # BGR


class ToneTrack(AudioStreamTrack):
    """20 ms frames of a 440 Hz tone, or of silence while .silent is set."""

    def __init__(self):
        super().__init__()
        self.pts = 0
        self.silent = False

    async def recv(self):
        await asyncio.sleep(0.02)
        t = (numpy.arange(960) + self.pts) / 48000.0
        amplitude = 0 if self.silent else 8000
        samples = (numpy.sin(2 * numpy.pi * 440 * t) * amplitude).astype(numpy.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


class ColorTrack(VideoStreamTrack):
    """320x240 of one colour with a moving grey bar."""

    def __init__(self, color):
        super().__init__()
        self.bgr = COLORS[color]

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.empty((240, 320, 3), numpy.uint8)
        img[:, :] = self.bgr
        x = (pts // 3000) % 300
        img[:, x:x + 20] = 128
        frame = VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def classify(bgr):
    """The name of the COLORS entry nearest to a mean BGR colour."""
    return min(COLORS, key=lambda n: sum((a - b) ** 2 for a, b in zip(COLORS[n], bgr)))


class Session:
    """One Janus session with one videoroom handle, and a poller collecting its events."""

    def __init__(self, client):
        self.c = client
        self.sid, self.h = client.handle()
        self.events = []
        self.stopped = False
        self.task = asyncio.ensure_future(self._poll())

    async def _poll(self):
        while not self.stopped:
            try:
                await _http(self.c.poll, self.sid)
            except Exception:  # noqa: BLE001 - the session may be gone at the end
                await asyncio.sleep(0.2)
            evs = self.c.events.get(self.sid, [])
            self.events.extend(evs)
            self.c.events[self.sid] = []

    def find(self, pred):
        return [e for e in self.events if pred(e)]

    async def wait(self, pred, timeout=10.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            await asyncio.sleep(0.05)
        raise AssertionError("%s not seen in %.0f s; events: %r" % (what, timeout, self.events))

    async def vr(self, pred, timeout=10.0, what="videoroom event"):
        e = await self.wait(lambda e: e.get("janus") == "event" and "plugindata" in e
                            and pred(e["plugindata"]["data"]), timeout, what)
        return e["plugindata"]["data"], e.get("jsep")

    async def request(self, body, jsep=None, timeout=15.0):
        tx = self.c.tx()
        r = await _http(self.c.message, self.sid, self.h, body, jsep, tx)
        if r.get("janus") != "ack":
            raise AssertionError("expected ack for %r, got %r" % (body, r))
        e = await self.wait(lambda e: e.get("transaction") == tx, timeout,
                            "answer to %s" % body.get("request"))
        return e["plugindata"]["data"], e.get("jsep")

    async def close(self):
        self.stopped = True
        try:
            await _http(self.c.destroy, self.sid)
        except Exception:  # noqa: BLE001
            pass
        try:
            await asyncio.wait_for(self.task, 5)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001
            self.task.cancel()


class Publisher:
    """A participant publishing a tone and a coloured video."""

    def __init__(self, client, room, display, color, audio=True, video=True):
        self.s = Session(client)
        self.room, self.display, self.color = room, display, color
        self.audio, self.video = audio, video
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.id = None

    def make_tone(self):
        self.tone = ToneTrack()
        return self.tone

    async def join_and_publish(self, extra=None):
        d, _ = await self.s.request({"request": "join", "room": self.room, "ptype": "publisher",
                                     "display": self.display})
        if d.get("videoroom") != "joined":
            raise AssertionError("join failed: %r" % d)
        self.id, self.joined = d["id"], d
        if self.audio:
            self.tone = ToneTrack()
            self.pc.addTrack(self.tone)
        if self.video:
            self.pc.addTrack(ColorTrack(self.color))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        body = {"request": "publish"}
        body.update(extra or {})
        d, jsep = await self.s.request(body, {"type": "offer", "sdp": self.pc.localDescription.sdp})
        if d.get("configured") != "ok" or not jsep:
            raise AssertionError("publish failed: %r" % d)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        await self.s.wait(lambda e: e.get("janus") == "webrtcup", 10, "publisher webrtcup")
        return d

    async def close(self):
        await self.pc.close()
        await self.s.close()


class Subscriber:
    """A subscription decoding whatever it receives; counts frames per kind and remembers
    the colour of the last video frame of each track."""

    def __init__(self, client, room):
        self.s = Session(client)
        self.room = room
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = {"audio": 0, "video": 0}
        self.track_frames = {}  # track id ("<feed>-<feed mid>") -> frames decoded
        self.colors = {}  # track id -> colour name of the last frame
        self.consumers = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track):
        self.consumers.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:  # noqa: BLE001 - track ended
                return
            self.frames[track.kind] += 1
            self.track_frames[track.id] = self.track_frames.get(track.id, 0) + 1
            if track.kind == "video":
                img = frame.to_ndarray(format="bgr24")
                self.colors[track.id] = classify(img.reshape(-1, 3).mean(axis=0))

    async def answer(self, jsep):
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        d, _ = await self.s.request({"request": "start"},
                                    {"type": "answer", "sdp": self.pc.localDescription.sdp})
        if d.get("started") != "ok":
            raise AssertionError("start failed: %r" % d)

    async def join(self, streams):
        d, jsep = await self.s.request({"request": "join", "room": self.room,
                                        "ptype": "subscriber", "streams": streams})
        if d.get("videoroom") != "attached" or not jsep:
            raise AssertionError("subscriber join failed: %r" % d)
        self.attached = d
        await self.answer(jsep)
        await self.s.wait(lambda e: e.get("janus") == "webrtcup", 10, "subscriber webrtcup")
        return d

    async def frames_at_least(self, video, audio, timeout=15.0):
        start = dict(self.frames)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (self.frames["video"] - start["video"] >= video
                    and self.frames["audio"] - start["audio"] >= audio):
                return True
            await asyncio.sleep(0.1)
        return False

    async def close(self):
        await self.pc.close()
        for c in self.consumers:
            c.cancel()
        await self.s.close()
