#!/usr/bin/python3
"""The aiortc side of the soak (tests/soak/soak.py starts it; run with /usr/bin/python3, in
the soak's namespace): N participants at a time, each a fresh session that joins one of the
given VideoRoom rooms, publishes a small video and a tone, subscribes to up to two other
publishers, renegotiates while it stays (configure with a new offer or a bitrate, subscribe /
unsubscribe / update with the server's new offer answered), then ends one of the ways a
client does: leave, detach, destroy, or vanish (closes its PeerConnections and never speaks
again: the server's session timeout must reap what is left).

    soak_peers.py API_URL ROOM[,ROOM...] N SEED

stdin: "pause" (start nobody new; {"ev": "idle"} once nobody is left), "resume", "quit".
stdout, one JSON line each: {"ev": "start"} when a participant has a session, then
{"ev": "cycle", "ending": ..., "ok": bool, "error": ..., "frames": decoded video frames,
"renegotiations": n}.
"""
import asyncio
import fractions
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration", "lib"))
from sbaiortc import ToneTrack, new_pc  # noqa: E402 (also: host candidates on 127.0.0.1)
from urlapi import UrlApi  # noqa: E402
import numpy  # noqa: E402
from aiortc import RTCSessionDescription, VideoStreamTrack  # noqa: E402
from av import VideoFrame  # noqa: E402

FPS = 15
ENDINGS = (("leave", 3), ("detach", 2), ("destroy", 2), ("vanish", 2))


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class SmallVideo(VideoStreamTrack):
    """160x120 at 15 fps with a moving bar: real frames, little encoder work."""

    def __init__(self):
        super().__init__()
        self.n, self.t0 = 0, None

    async def recv(self):
        if self.t0 is None:
            self.t0 = time.time()
        self.n += 1
        wait = self.t0 + self.n / FPS - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        img = numpy.full((120, 160, 3), 60, numpy.uint8)
        x = (self.n * 4) % 150
        img[:, x:x + 10] = 200
        frame = VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = self.n * 90000 // FPS, fractions.Fraction(1, 90000)
        return frame


class Failed(Exception):
    pass


class Participant:
    def __init__(self, api, rnd, rooms):
        self.api, self.rnd = api, rnd
        self.room = rnd.choice(rooms)
        self.events = []
        self.polling = True
        self.pub_pc = self.sub_pc = None
        self.sid = self.pub_h = self.sub_h = None
        self.feeds = set()
        self.frames = 0
        self.renegotiations = 0
        self.consumers = []
        self.poll_task = None

    async def post(self, path, body):
        body = dict(body, transaction="%x" % self.rnd.getrandbits(48))
        r = await self.api.call("POST", path, body)
        if r.get("janus") == "error":
            raise Failed("%s: %r" % (body.get("janus"), r.get("error")))
        return r

    async def _poll(self):
        while self.polling:
            try:
                r = await self.api.call("GET", "/%d?maxev=10" % self.sid, None, 40)
            except Exception:  # noqa: BLE001 - the session may be gone
                await asyncio.sleep(0.5)
                continue
            for e in r if isinstance(r, list) else [r]:
                if e.get("janus") != "keepalive":
                    self.events.append(e)
            if isinstance(r, dict) and r.get("janus") == "error":
                await asyncio.sleep(0.5)

    async def wait(self, pred, timeout=15.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            await asyncio.sleep(0.02)
        raise Failed("%s not seen in %.0f s" % (what, timeout))

    async def request(self, h, body, jsep=None, sync=False):
        """plugindata.data and jsep of the answer; a VideoRoom error raises Failed."""
        m = {"janus": "message", "body": body}
        if jsep:
            m["jsep"] = jsep
        tx = "%x" % self.rnd.getrandbits(48)
        m["transaction"] = tx
        r = await self.api.call("POST", "/%d/%d" % (self.sid, h), m)
        if sync:
            d = (r.get("plugindata") or {}).get("data", {})
            if r.get("janus") != "success" or "error_code" in d:
                raise Failed("%s: %r" % (body.get("request"), r))
            return d, None
        if r.get("janus") != "ack":
            raise Failed("%s: %r" % (body.get("request"), r))
        e = await self.wait(lambda e: e.get("transaction") == tx, what=body.get("request"))
        d = (e.get("plugindata") or {}).get("data", {})
        if "error_code" in d:
            raise Failed("%s: %r" % (body.get("request"), d))
        return d, e.get("jsep")

    async def attach(self):
        r = await self.post("/%d" % self.sid, {"janus": "attach",
                                                "plugin": "janus.plugin.videoroom"})
        return r["data"]["id"]

    async def _consume(self, track):
        while True:
            try:
                await track.recv()
            except Exception:  # noqa: BLE001 - track ended
                return
            if track.kind == "video":
                self.frames += 1

    async def publish(self):
        d, _ = await self.request(self.pub_h, {"request": "join", "room": self.room,
                                               "ptype": "publisher", "display": "soak"})
        self.id = d["id"]
        self.pub_pc = new_pc()
        self.pub_pc.addTrack(ToneTrack())
        self.pub_pc.addTrack(SmallVideo())
        await self.pub_pc.setLocalDescription(await self.pub_pc.createOffer())
        d, jsep = await self.request(self.pub_h, {"request": "publish",
                                                  "bitrate": 200000},
                                     {"type": "offer", "sdp": self.pub_pc.localDescription.sdp})
        if not jsep:
            raise Failed("publish: no answer: %r" % d)
        await self.pub_pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                     type="answer"))
        await self.wait(lambda e: e.get("janus") == "webrtcup" and e.get("sender") == self.pub_h,
                        what="publisher webrtcup")

    async def others(self):
        d, _ = await self.request(self.pub_h, {"request": "listparticipants",
                                               "room": self.room}, sync=True)
        return [p["id"] for p in d.get("participants", [])
                if p.get("publisher") and p["id"] != self.id]

    async def answer(self, jsep):
        await self.sub_pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                     type="offer"))
        await self.sub_pc.setLocalDescription(await self.sub_pc.createAnswer())
        d, _ = await self.request(self.sub_h, {"request": "start"},
                                  {"type": "answer", "sdp": self.sub_pc.localDescription.sdp})
        if d.get("started") != "ok":
            raise Failed("start: %r" % d)

    async def subscribe(self, feeds):
        self.sub_h = await self.attach()
        self.sub_pc = new_pc()
        self.sub_pc.on("track", lambda tr: self.consumers.append(
            asyncio.ensure_future(self._consume(tr))))
        d, jsep = await self.request(self.sub_h, {
            "request": "join", "room": self.room, "ptype": "subscriber",
            "streams": [{"feed": f} for f in feeds]})
        if not jsep:
            raise Failed("subscribe: no offer: %r" % d)
        self.feeds = set(feeds)
        await self.answer(jsep)

    async def renegotiate(self):
        """One change, picked at random among those that make sense now."""
        others = [f for f in await self.others()]
        new = [f for f in others if f not in self.feeds]
        choices = ["bitrate", "reoffer"]
        if self.sub_h is None and others:
            choices += ["subscribe"] * 2
        if self.sub_h is not None and new:
            choices += ["add"] * 2
        if self.sub_h is not None and len(self.feeds) > 1:
            choices.append("remove")
        if self.sub_h is not None and new and self.feeds:
            choices.append("update")
        what = self.rnd.choice(choices)
        if what == "bitrate":
            await self.request(self.pub_h, {"request": "configure",
                                            "bitrate": self.rnd.choice([128000, 256000])})
        elif what == "reoffer":
            await self.pub_pc.setLocalDescription(await self.pub_pc.createOffer())
            d, jsep = await self.request(self.pub_h, {"request": "configure"},
                                         {"type": "offer",
                                          "sdp": self.pub_pc.localDescription.sdp})
            if not jsep:
                raise Failed("configure: no answer: %r" % d)
            await self.pub_pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                         type="answer"))
        elif what == "subscribe":
            await self.subscribe(others[:2])
        else:
            if what == "add":
                body = {"request": "subscribe", "streams": [{"feed": new[0]}]}
                feeds = self.feeds | {new[0]}
            elif what == "remove":
                gone = sorted(self.feeds)[0]
                body = {"request": "unsubscribe", "streams": [{"feed": gone}]}
                feeds = self.feeds - {gone}
            else:
                gone = sorted(self.feeds)[0]
                body = {"request": "update", "subscribe": [{"feed": new[0]}],
                        "unsubscribe": [{"feed": gone}]}
                feeds = (self.feeds - {gone}) | {new[0]}
            d, jsep = await self.request(self.sub_h, body)
            self.feeds = feeds
            if jsep:
                await self.answer(jsep)
        self.renegotiations += 1

    async def run(self):
        r = await self.post("", {"janus": "create"})
        self.sid = r["data"]["id"]
        out({"ev": "start"})
        self.poll_task = asyncio.ensure_future(self._poll())
        self.pub_h = await self.attach()
        await self.publish()
        others = await self.others()
        if others:
            await self.subscribe(others[:2])
        stay = time.time() + self.rnd.uniform(5, 15)
        while time.time() < stay:
            await asyncio.sleep(self.rnd.uniform(1.5, 4))
            if time.time() < stay:
                try:
                    await self.renegotiate()
                except Failed as ex:
                    # A feed that left in between: the room moved on, not our failure.
                    if "428" not in str(ex) and "no such feed" not in str(ex).lower():
                        raise

    async def end(self, ending):
        if ending == "leave":
            if self.sub_h is not None:
                await self.request(self.sub_h, {"request": "leave"})
            await self.request(self.pub_h, {"request": "leave"})
        elif ending == "detach":
            for h in (self.sub_h, self.pub_h):
                if h is not None:
                    await self.post("/%d/%d" % (self.sid, h), {"janus": "detach"})
        await self.close(destroy=ending != "vanish")

    async def close(self, destroy=True):
        self.polling = False
        if destroy and self.sid is not None:
            try:
                await self.post("/%d" % self.sid, {"janus": "destroy"})
            except Exception:  # noqa: BLE001 - already gone
                pass
        for pc in (self.pub_pc, self.sub_pc):
            if pc is not None:
                await pc.close()
        for c in self.consumers:
            c.cancel()
        if self.poll_task:
            self.poll_task.cancel()


async def slot(api, rnd, rooms, state):
    endings = [e for e, w in ENDINGS for _ in range(w)]
    while not state["quit"]:
        if state["paused"]:
            await asyncio.sleep(0.2)
            continue
        state["active"] += 1
        p = Participant(api, rnd, rooms)
        ending, ok, err = rnd.choice(endings), True, None
        try:
            await p.run()
            await p.end(ending)
        except Exception as ex:  # noqa: BLE001
            ok, err = False, "%s: %s" % (type(ex).__name__, ex)
            await p.close()
        state["active"] -= 1
        out({"ev": "cycle", "ending": ending, "ok": ok, "error": err, "frames": p.frames,
             "renegotiations": p.renegotiations})


async def main():
    url, rooms, n, seed = sys.argv[1], [int(r) for r in sys.argv[2].split(",")], \
        int(sys.argv[3]), int(sys.argv[4])
    api = UrlApi(url)
    state = {"paused": False, "quit": False, "active": 0}
    tasks = [asyncio.ensure_future(slot(api, random.Random(seed * 100 + i), rooms, state))
             for i in range(n)]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def idle_watch():
        told = False
        while True:
            if state["paused"] and state["active"] == 0 and not told:
                out({"ev": "idle"})
                told = True
            if not state["paused"]:
                told = False
            await asyncio.sleep(0.2)

    watcher = asyncio.ensure_future(idle_watch())
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "pause":
            state["paused"] = True
        elif line == "resume":
            state["paused"] = False
        elif line in ("quit", ""):
            break
    state["quit"] = True
    watcher.cancel()
    for t in tasks:
        t.cancel()
    os._exit(0)  # aiortc's leftovers need not be waited for


if __name__ == "__main__":
    asyncio.run(main())
