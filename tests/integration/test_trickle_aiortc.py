"""Trickle ICE with aiortc, and ICE that never completes.

aiortc puts all its candidates in the SDP and has no trickle API, so the test strips the
a=candidate lines from its offer and sends them as "trickle" requests: some before the
offer, some after the answer, then {"completed":true}. aiortc gathers on 127.0.0.1 and
127.0.0.2 to have two. The server's own candidates are pointed at a dead port before aiortc
reads the answer: aiortc then cannot reach the server by itself, so the call comes up only
if the server checks the trickled candidates (aiortc learns the server's address as a
peer-reflexive candidate from those checks). A control call that trickles nothing must fail.

Then calls whose candidates are all bogus (nothing listens, or no route) must end with a
"hangup" event: early once the client said "completed" and every check failed, and at the
ICE connect timeout (30 s, src/peer/ice.h) when the client never says it is done."""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import sbaiortc  # noqa: E402  (patches aioice first)
from sbaiortc import PatternTrack, Poller, ToneTrack, consume, kill_candidates, new_pc, \
    split_candidates  # noqa: E402
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402

from aiortc import RTCSessionDescription  # noqa: E402

ICE_CONNECT_TIMEOUT_S = 30  # SB_ICE_DEFAULT_CONNECT_TIMEOUT_MS
BOGUS = ["candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
         "candidate:2 1 udp 2130706175 192.0.2.1 40000 typ host",
         "candidate:3 1 udp 1694498815 198.51.100.7 50000 typ srflx raddr 0.0.0.0 rport 0"]


class Call:
    """One echotest handle with an aiortc peer whose candidates go out by trickle."""

    def __init__(self, http):
        self.http = http
        self.decoded = {}
        self.consumers = []

    async def start(self, tracks=True):
        self.sid = await asyncio.to_thread(self.http.create)
        self.hid = await asyncio.to_thread(self.http.attach, self.sid)
        self.poller = Poller(self.http, self.sid)
        self.poll_task = asyncio.ensure_future(self.poller.run())
        self.pc = new_pc()

        @self.pc.on("track")
        def on_track(track):
            self.consumers.append(asyncio.ensure_future(consume(track, self.decoded)))

        if tracks:
            self.pc.addTrack(ToneTrack())
            self.pc.addTrack(PatternTrack())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offer, cands = split_candidates(self.pc.localDescription.sdp)
        # The transport the server keeps is the first m-line's (BUNDLE).
        self.mid = cands[0][0]
        self.candidates = [c for mid, c in cands if mid == self.mid]

    async def trickle(self, candidate=None, candidates=None):
        body = {"janus": "trickle", "transaction": "t%d" % time.time_ns()}
        if candidates is not None:
            body["candidates"] = candidates
        else:
            body["candidate"] = candidate
        r = await asyncio.to_thread(self.http.post, "/%d/%d" % (self.sid, self.hid), body)
        check_eq(r.get("janus"), "ack", "trickle reply %r" % r)

    async def send_offer(self):
        self.t_offer = time.time()
        r = await asyncio.to_thread(self.http.post, "/%d/%d" % (self.sid, self.hid), {
            "janus": "message", "transaction": "offer",
            "body": {"audio": True, "video": True},
            "jsep": {"type": "offer", "sdp": self.offer}})
        check_eq(r.get("janus"), "ack", "message reply")
        ev = await self.poller.wait(lambda e: e.get("janus") == "event" and e.get("jsep"), 10)
        check_eq(ev["jsep"]["type"], "answer", "jsep type")
        self.t_answer = time.time()
        self.answer = ev["jsep"]["sdp"]

    async def apply_answer(self):
        """aiortc reads the answer with the server's candidates made unreachable."""
        check("a=candidate:" in self.answer, "the answer carries the server's candidates")
        await self.pc.setRemoteDescription(RTCSessionDescription(
            sdp=kill_candidates(self.answer), type="answer"))

    async def media_flows(self, tap, name):
        await self.poller.wait(lambda e: e.get("janus") == "webrtcup", 15)
        tap.note("%s: webrtcup %.0f ms after the offer" % (
            name, (self.poller.when(lambda e: e.get("janus") == "webrtcup") - self.t_offer)
            * 1000))
        deadline = time.time() + 15
        while time.time() < deadline and (self.decoded.get("video", 0) < 30
                                          or self.decoded.get("audio", 0) < 50):
            await asyncio.sleep(0.1)
        tap.note("%s: decoded %r" % (name, self.decoded))
        check(self.decoded.get("video", 0) >= 30, "video frames decoded: %r" % self.decoded)
        check(self.decoded.get("audio", 0) >= 50, "audio frames decoded: %r" % self.decoded)

    async def wait_hangup(self, timeout):
        ev = await self.poller.wait(lambda e: e.get("janus") == "hangup", timeout)
        t = self.poller.when(lambda e: e.get("janus") == "hangup")
        check(not self.poller.find(lambda e: e.get("janus") == "webrtcup"), "no webrtcup")
        return ev, t - self.t_answer

    async def close(self):
        await self.pc.close()
        for c in self.consumers:
            c.cancel()
        self.poller.stop = True
        await asyncio.to_thread(self.http.destroy, self.sid)
        await asyncio.wait_for(self.poll_task, 40)


async def trickle_split(tap, http):
    """One candidate before the offer, the rest after the answer, then completed."""
    name = "before and after the offer"
    sbaiortc.local_addresses(["127.0.0.1", "127.0.0.2"])
    c = Call(http)
    try:
        await c.start()
        check_eq(len(c.candidates), 2, "aiortc candidates %r" % c.candidates)
        await c.trickle({"candidate": c.candidates[0], "sdpMid": c.mid, "sdpMLineIndex": 0})
        await c.send_offer()
        check("a=candidate:" not in c.offer, "offer stripped")
        for cand in c.candidates[1:]:
            await c.trickle({"candidate": cand, "sdpMid": c.mid, "sdpMLineIndex": 0})
        await c.trickle({"completed": True})
        await c.apply_answer()
        await c.media_flows(tap, name)
    finally:
        await c.close()


async def trickle_late_array(tap, http):
    """Everything after the answer, late, as one "candidates" array ending in completed."""
    name = "late candidates array"
    sbaiortc.local_addresses(["127.0.0.2", "127.0.0.1"])
    c = Call(http)
    try:
        await c.start()
        await c.send_offer()
        await c.apply_answer()
        await asyncio.sleep(1.0)
        check(not c.poller.find(lambda e: e.get("janus") in ("webrtcup", "hangup")),
              "nothing happens before the candidates come: %r" % c.poller.events)
        await c.trickle(candidates=[{"candidate": x, "sdpMid": c.mid, "sdpMLineIndex": 0}
                                    for x in c.candidates] + [{"completed": True}])
        await c.media_flows(tap, name)
    finally:
        await c.close()


async def trickle_after_failed_checks(tap, http):
    """Bogus candidates first; the good one 10 s later, when every check on the bogus ones
    has long failed: ICE must still come up (the client had not said it was done)."""
    name = "good candidate after failed checks"
    sbaiortc.local_addresses(["127.0.0.1"])
    c = Call(http)
    try:
        await c.start()
        await c.send_offer()
        await c.apply_answer()
        for cand in BOGUS:
            await c.trickle({"candidate": cand, "sdpMid": c.mid, "sdpMLineIndex": 0})
        await asyncio.sleep(10)
        check(not c.poller.find(lambda e: e.get("janus") == "hangup"),
              "no hangup while the client may still trickle: %r" % c.poller.events)
        for cand in c.candidates:
            await c.trickle({"candidate": cand, "sdpMid": c.mid, "sdpMLineIndex": 0})
        await c.trickle({"completed": True})
        await c.media_flows(tap, name)
    finally:
        await c.close()


async def failing_call(http, candidates, completed, completed_after=0):
    """An offer whose ICE can never succeed; returns (hangup event, seconds after answer)."""
    sbaiortc.local_addresses(["127.0.0.1"])
    c = Call(http)
    try:
        await c.start(tracks=True)
        await c.send_offer()
        for cand in candidates:
            await c.trickle({"candidate": cand, "sdpMid": c.mid, "sdpMLineIndex": 0})
        if completed:
            await asyncio.sleep(completed_after)
            await c.trickle({"completed": True})
        # aiortc never applies the answer: no check ever reaches the server.
        return await c.wait_hangup(ICE_CONNECT_TIMEOUT_S + 10)
    finally:
        await c.close()


async def main_async(tap, http):
    with tap.case("trickle: one candidate before the offer, one after, completed: media flows"):
        await trickle_split(tap, http)
    with tap.case("trickle: candidates array 1 s after the answer: media flows"):
        await trickle_late_array(tap, http)
    with tap.case("trickle: the good candidate 10 s after bogus ones failed: media flows"):
        await trickle_after_failed_checks(tap, http)

    # The failing calls run side by side: the slowest waits for the 30 s timeout.
    T = ICE_CONNECT_TIMEOUT_S
    cases = [
        # No candidate at all: the client may still send checks from addresses it never
        # signalled (peer-reflexive), so only the connect timeout ends it.
        ("control: no candidate trickled, completed: hangup at the ICE timeout",
         [], True, T - 2, T + 3, 0),
        ("bogus candidates only, completed: hangup once every check failed",
         BOGUS, True, 0, T - 5, 0),
        # Checks all failed long ago; "completed" itself ends it.
        ("bogus candidates only, completed 12 s later: hangup on completed",
         BOGUS, True, 12, 14, 12),
        # Trickle ICE: no failure before the client says it has no more candidates.
        ("bogus candidates only, never completed: hangup at the ICE timeout, not before",
         BOGUS, False, T - 2, T + 3, 0),
    ]
    results = await asyncio.gather(*[failing_call(http, cands, done, after)
                                     for _, cands, done, _, _, after in cases],
                                   return_exceptions=True)
    for (name, _, _, lo, hi, _), res in zip(cases, results):
        with tap.case(name):
            if isinstance(res, BaseException):
                raise res
            ev, secs = res
            tap.note("%s: hangup %.1f s after the answer, reason %r" % (
                name.split(":")[0], secs, ev.get("reason")))
            check(lo <= secs <= hi, "hangup after %.1f s, want %d..%d s" % (secs, lo, hi))
            check_eq(ev.get("reason"), "ICE failed", "hangup reason")


def main():
    builddir = builddir_from_argv()
    tap = Tap("trickle-aiortc")
    server = Server(builddir, ws=False, name="trickle-aiortc")
    try:
        asyncio.run(main_async(tap, Http()))
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
