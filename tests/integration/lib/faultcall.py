#!/usr/bin/python3
"""The client side of the fault-injection tests: an aiortc process (run with /usr/bin/python3,
in the client namespace of lib/faultlink.py) that makes live calls through the faulty link
and tells the test, as JSON lines on stdout, when each video frame was decoded.

    faultcall.py API_URL LOCAL_ADDRESS [--videoroom]

Commands on stdin, one per line:
  start  an EchoTest call (tone + moving pattern, both decoded when they come back) and,
         with --videoroom, a VideoRoom publisher and a subscriber to it (a room of its own);
         answers {"ev": "up", ...} once every leg decodes video, or {"ev": "error"}.
  stop   hangs up / leaves, destroys the room and the sessions; answers {"ev": "stopped",
         "sessions": [...]}.
  quit   exits.
Every 0.2 s while calls are up: {"ev": "tick", "t": CLOCK_MONOTONIC, "video": {leg: [decode
times]}, "audio": {leg: total}, "ice": {leg: aiortc's iceConnectionState}, "events": [Janus
events of note]}. Legs: "echo" (EchoTest), "vr" (the VideoRoom subscriber; its publisher's
events come as "vrpub").
"""
import asyncio
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbaiortc import PatternTrack, ToneTrack, local_addresses, new_pc  # noqa: E402
from urlapi import UrlApi  # noqa: E402
from aiortc import RTCSessionDescription  # noqa: E402

# Blocking HTTP (long-polls above all) on threads of its own: aiortc encodes and decodes on
# the default executor.
NOTABLE = ("hangup", "webrtcup", "media", "slowlink", "detached", "timeout")


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Leg:
    """One session with one handle, its long-poll, and one PeerConnection."""

    def __init__(self, api, name, plugin):
        self.api, self.name, self.plugin = api, name, plugin
        self.events, self.notable = [], []
        self.pc = new_pc()
        self.video_times, self.audio = [], 0
        self.consumers = []
        self.stopped = False
        self.sid = self.poll_task = None
        self.pc.on("track", lambda tr: self.consumers.append(
            asyncio.ensure_future(self._consume(tr))))

    async def open(self):
        r = await self.api.post("", {"janus": "create"})
        self.sid = r["data"]["id"]
        r = await self.api.post("/%d" % self.sid, {"janus": "attach", "plugin": self.plugin})
        self.hid = r["data"]["id"]
        self.poll_task = asyncio.ensure_future(self._poll())

    async def _poll(self):
        while not self.stopped:
            try:
                r = await self.api.call("GET", "/%d?maxev=10" % self.sid, None, 40)
            except Exception:  # noqa: BLE001 - the session is gone at the end
                await asyncio.sleep(0.2)
                continue
            for e in r if isinstance(r, list) else [r]:
                if e.get("janus") == "keepalive":
                    continue
                self.events.append(e)
                if e.get("janus") in NOTABLE:
                    keep = {k: e[k] for k in ("janus", "reason", "type", "receiving", "uplink")
                            if k in e}
                    keep["leg"], keep["t"] = self.name, time.monotonic()
                    self.notable.append(keep)

    async def _consume(self, track):
        while True:
            try:
                await track.recv()
            except Exception:  # noqa: BLE001 - track ended
                return
            if track.kind == "video":
                self.video_times.append(time.monotonic())
            else:
                self.audio += 1

    async def wait(self, pred, timeout=15.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            await asyncio.sleep(0.02)
        raise RuntimeError("%s: %s not seen in %.0f s" % (self.name, what, timeout))

    async def message(self, body, jsep=None, sync=False):
        tx = "%x" % random.getrandbits(48)
        m = {"janus": "message", "transaction": tx, "body": body}
        if jsep:
            m["jsep"] = jsep
        r = await self.api.post("/%d/%d" % (self.sid, self.hid), m)
        if sync:
            if r.get("janus") != "success":
                raise RuntimeError("%s: %r -> %r" % (self.name, body, r))
            return r["plugindata"]["data"], None
        if r.get("janus") != "ack":
            raise RuntimeError("%s: %r -> %r" % (self.name, body, r))
        e = await self.wait(lambda e: e.get("transaction") == tx, what="answer to %r" % body)
        return (e.get("plugindata") or {}).get("data", {}), e.get("jsep")

    async def offer(self, body):
        self.pc.addTrack(ToneTrack())
        self.pc.addTrack(PatternTrack())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        d, jsep = await self.message(body, {"type": "offer", "sdp": self.pc.localDescription.sdp})
        if not jsep or jsep.get("type") != "answer":
            raise RuntimeError("%s: no answer: %r" % (self.name, d))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        return d

    async def close(self):
        self.stopped = True
        if self.sid is not None:
            try:
                await self.api.post("/%d" % self.sid, {"janus": "destroy"})
            except Exception:  # noqa: BLE001
                pass
        await self.pc.close()
        for c in self.consumers:
            c.cancel()
        if self.poll_task:
            self.poll_task.cancel()


class Calls:
    def __init__(self, api, videoroom):
        self.api, self.videoroom = api, videoroom
        self.legs = {}
        self.room = None

    async def start(self):
        echo = self.legs["echo"] = Leg(self.api, "echo", "janus.plugin.echotest")
        await echo.open()
        await echo.offer({"audio": True, "video": True})
        if self.videoroom:
            pub = self.legs["vrpub"] = Leg(self.api, "vrpub", "janus.plugin.videoroom")
            await pub.open()
            self.room = random.randint(10 ** 6, 10 ** 9)
            d, _ = await pub.message({"request": "create", "room": self.room, "publishers": 2,
                                      "bitrate": 512000}, sync=True)
            if d.get("videoroom") != "created":
                raise RuntimeError("create room: %r" % d)
            d, _ = await pub.message({"request": "join", "room": self.room,
                                      "ptype": "publisher", "display": "faulty"})
            if d.get("videoroom") != "joined":
                raise RuntimeError("join: %r" % d)
            await pub.offer({"request": "publish"})
            sub = self.legs["vr"] = Leg(self.api, "vr", "janus.plugin.videoroom")
            await sub.open()
            d, jsep = await sub.message({"request": "join", "room": self.room,
                                         "ptype": "subscriber", "streams": [{"feed": d["id"]}]})
            if d.get("videoroom") != "attached" or not jsep:
                raise RuntimeError("subscribe: %r" % d)
            await sub.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                    type="offer"))
            await sub.pc.setLocalDescription(await sub.pc.createAnswer())
            d, _ = await sub.message({"request": "start"},
                                     {"type": "answer", "sdp": sub.pc.localDescription.sdp})
            if d.get("started") != "ok":
                raise RuntimeError("start: %r" % d)
        for leg in self.legs.values():
            await leg.wait(lambda e: e.get("janus") == "webrtcup", what="webrtcup")
        deadline = time.time() + 20
        while time.time() < deadline:
            if all(len(self.legs[n].video_times) >= 10 for n in self.viewers()):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("no video decoded: %r" % {n: len(self.legs[n].video_times)
                                                     for n in self.viewers()})

    def viewers(self):
        return [n for n in ("echo", "vr") if n in self.legs]

    def tick(self, sent):
        video = {}
        for n in self.viewers():
            times = self.legs[n].video_times
            video[n] = times[sent.get(n, 0):]
            sent[n] = len(times)
        events = []
        for leg in self.legs.values():
            events += leg.notable
            leg.notable = []
        return {"ev": "tick", "t": time.monotonic(), "video": video,
                "audio": {n: self.legs[n].audio for n in self.viewers()},
                "ice": {n: leg.pc.iceConnectionState for n, leg in self.legs.items()},
                "events": events}

    async def stop(self):
        sessions = {n: leg.sid for n, leg in self.legs.items() if leg.sid is not None}
        problems = []
        try:
            if "echo" in self.legs:
                echo = self.legs["echo"]
                r = await self.api.post("/%d/%d" % (echo.sid, echo.hid),
                                        {"janus": "hangup"})
                if r.get("janus") != "success":
                    problems.append("echo hangup: %r" % r)
            if "vr" in self.legs:
                d, _ = await self.legs["vr"].message({"request": "leave"})
                if d.get("leaving") != "ok" and d.get("left") != "ok":
                    problems.append("subscriber leave: %r" % d)
            if "vrpub" in self.legs:
                pub = self.legs["vrpub"]
                d, _ = await pub.message({"request": "leave"})
                if d.get("leaving") != "ok":
                    problems.append("publisher leave: %r" % d)
                d, _ = await pub.message({"request": "destroy", "room": self.room}, sync=True)
                if d.get("videoroom") != "destroyed":
                    problems.append("destroy room: %r" % d)
        except Exception as ex:  # noqa: BLE001
            problems.append("stop: %r" % ex)
        for leg in self.legs.values():
            await leg.close()
        self.legs = {}
        return sessions, problems


async def main():
    api_url, local = sys.argv[1], sys.argv[2]
    local_addresses([local])
    calls = Calls(UrlApi(api_url), "--videoroom" in sys.argv[3:])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ticking = None

    async def ticker():
        sent = {}
        while True:
            out(calls.tick(sent))
            await asyncio.sleep(0.2)

    while True:
        line = (await reader.readline()).decode().strip()
        if line == "start":
            try:
                await calls.start()
                ticking = asyncio.ensure_future(ticker())
                out({"ev": "up", "t": time.monotonic(),
                     "sessions": {n: leg.sid for n, leg in calls.legs.items()},
                     "server_candidates": sorted({
                         ln.split()[4] for leg in calls.legs.values()
                         for ln in leg.pc.remoteDescription.sdp.splitlines()
                         if ln.startswith("a=candidate:")})})
            except Exception as ex:  # noqa: BLE001
                sessions, problems = await calls.stop()
                out({"ev": "error", "error": repr(ex), "sessions": sessions})
        elif line == "stop":
            if ticking:
                ticking.cancel()
                ticking = None
            sessions, problems = await calls.stop()
            out({"ev": "stopped", "sessions": sessions, "problems": problems})
        elif line in ("quit", ""):
            break


if __name__ == "__main__":
    asyncio.run(main())
