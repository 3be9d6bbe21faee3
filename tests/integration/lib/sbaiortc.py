"""aiortc helpers for the integration tests and benchmarks (Debian's python3-aiortc 1.4, run
with /usr/bin/python3): loopback host candidates, media tracks that give the encoders real
work, a long-poll event collector, SDP candidate surgery for trickle tests, and counting
consumers for received tracks. Importing this module patches aioice (see local_addresses)."""
import asyncio
import fractions
import re
import time

import aioice.ice
import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, VideoStreamTrack
from aiortc.mediastreams import AudioStreamTrack
from av import AudioFrame, VideoFrame

_addresses = ["127.0.0.1"]


def local_addresses(addrs):
    """aioice leaves loopback out of its host candidates: gather on exactly these (one host
    candidate each; any 127.x address works on lo)."""
    _addresses[:] = list(addrs)


aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: list(_addresses)


def new_pc():
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class ToneTrack(AudioStreamTrack):
    """20 ms frames of a 440 Hz tone, so the echoed audio is not digital silence."""

    def __init__(self):
        super().__init__()
        self.pts = 0

    async def recv(self):
        await asyncio.sleep(0.02)
        t = (numpy.arange(960) + self.pts) / 48000.0
        samples = (numpy.sin(2 * numpy.pi * 440 * t) * 8000).astype(numpy.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


class PatternTrack(VideoStreamTrack):
    """A moving gradient, 320x240, so the encoder produces real (non-trivial) frames."""

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        img = numpy.zeros((240, 320, 3), numpy.uint8)
        img[:, :, 0] = (numpy.arange(320) + pts // 3000) % 256
        img[:, :, 1] = 128
        frame = VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Poller:
    """Collects the session's events from the long-poll in a thread."""

    def __init__(self, http, sid):
        self.http, self.sid, self.events, self.stop = http, sid, [], False
        self.times = []

    async def run(self):
        while not self.stop:
            ev = await asyncio.to_thread(self.http.poll, self.sid, "?maxev=10", 35)
            evs = ev if isinstance(ev, list) else [ev]
            now = time.time()
            self.events.extend(evs)
            self.times.extend([now] * len(evs))

    def find(self, pred):
        return [e for e in self.events if pred(e)]

    def when(self, pred):
        """Arrival time (time.time()) of the first event matching pred, or None."""
        for e, t in zip(self.events, self.times):
            if pred(e):
                return t
        return None

    async def wait(self, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.find(pred)
            if found:
                return found[0]
            await asyncio.sleep(0.02)
        raise AssertionError("event not seen in %.0fs; events: %r" % (timeout, self.events))


async def consume(track, counter):
    """Decode a received track until it ends, counting frames per kind."""
    while True:
        try:
            await track.recv()
        except Exception:
            return
        counter[track.kind] = counter.get(track.kind, 0) + 1


def split_candidates(sdp):
    """(sdp without a=candidate and a=end-of-candidates lines, [(mid, "candidate:...")]) in
    SDP order. aiortc gathers per m-line even when it offers BUNDLE: only the candidates of
    the first bundled m-line belong to the transport the answerer keeps."""
    cands, lines, mids, section = [], [], {}, -1
    for ln in sdp.split("\r\n"):
        if ln.startswith("m="):
            section += 1
        elif ln.startswith("a=mid:"):
            mids[section] = ln[6:]
        if ln.startswith("a=candidate:"):
            cands.append((section, ln[2:]))
        elif not ln.startswith("a=end-of-candidates"):
            lines.append(ln)
    return "\r\n".join(lines), [(mids.get(sec), c) for sec, c in cands]


def kill_candidates(sdp, port=9):
    """Point every a=candidate of sdp at a port where nothing listens, so whoever reads it
    cannot reach the other side by itself (it can still learn a peer-reflexive candidate
    from checks that come in)."""
    return re.sub(r"^(a=candidate:\S+ \d+ \S+ \d+ \S+ )(\d+)", lambda m: m.group(1) + str(port),
                  sdp, flags=re.M)
