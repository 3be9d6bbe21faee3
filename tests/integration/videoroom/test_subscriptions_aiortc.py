#!/usr/bin/python3
"""VideoRoom subscriptions with aiortc: renegotiation while an offer is pending
("updating", then one cumulative offer), unsubscribe by sub_mid / by feed, update, an
m-line recycled after media flowed on it (it keeps its SSRC), per-stream send=false,
pause/start, switch errors; and robustness: participants that vanish mid-negotiation, a
publisher detaching while watched, a room destroyed with connected peers in it.

usage: test_subscriptions_aiortc.py <path to switchboard>   (run with /usr/bin/python3)
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402
from vrmedia import ColorTrack, Publisher, Session, Subscriber  # noqa: E402
from aiortc import RTCSessionDescription  # noqa: E402

CONF = """
room-5: { description = "Five"; publishers = 6; secret = "s5"; };
"""
ROOM = 5
MIN_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

t = Test("subscriptions-aiortc")
srv = t.server(conf=CONF, args=("--loops", "2"))


def data(e):
    return (e.get("plugindata") or {}).get("data") or {}


async def grows(sub, kind, n, timeout=8.0):
    return await sub.frames_at_least(video=n if kind == "video" else 0,
                                     audio=n if kind == "audio" else 0, timeout=timeout)


async def stalls(sub, kind, settle=1.0, window=2.0):
    await asyncio.sleep(settle)
    before = sub.frames[kind]
    await asyncio.sleep(window)
    return sub.frames[kind] - before < 5


async def pending_renegotiation(alice, bob):
    sub = Subscriber(srv.client(), ROOM)
    try:
        d, jsep = await sub.s.request({"request": "join", "room": ROOM, "ptype": "subscriber",
                                       "streams": [{"feed": alice.id}]})
        t.eq(d.get("videoroom"), "attached", "attached (answer not sent yet)")
        d, j2 = await sub.s.request({"request": "subscribe", "streams": [{"feed": bob.id}]})
        t.eq((d.get("videoroom"), j2), ("updating", None),
             "subscribe while the offer is pending: 'updating', no offer")
        d, j3 = await sub.s.request({"request": "unsubscribe", "streams": [{"sub_mid": "0"}]})
        t.eq(d.get("videoroom"), "updating", "unsubscribe while pending: 'updating'")
        await sub.answer(jsep)
        d, j4 = await sub.s.vr(lambda d: d.get("videoroom") == "updated",
                               what="the postponed offer")
        t.eq([(s["mid"], s["active"], s.get("feed_id")) for s in d.get("streams", [])],
             [("0", False, None), ("1", True, alice.id), ("2", True, bob.id),
              ("3", True, bob.id)], "one cumulative offer after the answer")
        t.ok(j4 and j4.get("type") == "offer", "it carries an offer")
        await sub.answer(j4)
        await sub.s.wait(lambda e: e.get("janus") == "webrtcup", 10, "webrtcup")
        t.ok(await grows(sub, "video", 30), "both videos decode", sub.frames)
        await asyncio.sleep(1)
        t.eq(sorted(set(sub.colors.values())), ["blue", "red"], "red and blue seen")

        # update: drop bob's audio (sub_mid 2), add alice's audio (reuses an inactive m-line)
        d, j5 = await sub.s.request({"request": "update",
                                     "unsubscribe": [{"sub_mid": "2"}],
                                     "subscribe": [{"feed": alice.id, "mid": "0"}]})
        t.eq([(s["mid"], s["active"], s.get("feed_id"), s.get("feed_mid"))
              for s in d.get("streams", [])],
             [("0", True, alice.id, "0"), ("1", True, alice.id, "1"), ("2", False, None, None),
              ("3", True, bob.id, "1")], "update: removal first, then an m-line is reused")
        await sub.answer(j5)
        t.ok(await grows(sub, "audio", 40), "audio flows on the reused m-line", sub.frames)

        # per-stream send=false, then pause/start
        d, _ = await sub.s.request({"request": "configure", "streams": [{"mid": "0",
                                                                         "send": False}]})
        t.eq(d.get("configured"), "ok", "configure send=false on the audio")
        t.ok(await stalls(sub, "audio"), "no audio with send=false")
        await sub.s.request({"request": "configure", "streams": [{"mid": "0", "send": True}]})
        t.ok(await grows(sub, "audio", 40), "audio again with send=true", sub.frames)
        d, _ = await sub.s.request({"request": "pause"})
        t.eq(d.get("paused"), "ok", "pause")
        t.ok(await stalls(sub, "video"), "no video while paused")
        d, _ = await sub.s.request({"request": "start"})
        t.eq(d.get("started"), "ok", "start (resume)")
        t.ok(await grows(sub, "video", 30), "video again after start", sub.frames)

        # the publisher stops relaying its video (configure send=false), then resumes
        d, _ = await alice.s.request({"request": "configure",
                                      "streams": [{"mid": "1", "send": False}]})
        t.eq(d.get("configured"), "ok", "publisher configure send=false on its video")
        track = "%d-1" % alice.id
        await asyncio.sleep(1.5)
        before = sub.track_frames.get(track, 0)
        await asyncio.sleep(2)
        t.ok(sub.track_frames.get(track, 0) - before < 5, "alice's video is not relayed",
             (before, sub.track_frames))
        await alice.s.request({"request": "configure", "streams": [{"mid": "1", "send": True}]})
        before = sub.track_frames.get(track, 0)
        await asyncio.sleep(3)
        t.ok(sub.track_frames.get(track, 0) - before > 20, "alice's video is relayed again",
             (before, sub.track_frames))
        d, _ = await alice.s.request({"request": "configure",
                                      "streams": [{"mid": "7", "send": False}]})
        t.error(d, 428, "publisher configure of an unknown mid: 428")

        # errors of a live subscription
        d, _ = await sub.s.request({"request": "configure", "streams": [{"mid": "9",
                                                                         "send": False}]})
        t.error(d, 428, "configure an unknown mid: 428")
        d, _ = await sub.s.request({"request": "switch", "streams": [{"feed": 1, "mid": "1",
                                                                      "sub_mid": "1"}]})
        t.error(d, 428, "switch to an unknown feed: 428")
        d, _ = await sub.s.request({"request": "switch", "streams": [{"feed": bob.id,
                                                                      "mid": "1"}]})
        t.error(d, 429, "switch without sub_mid: 429")
        d, _ = await sub.s.request({"request": "switch", "streams": [
            {"feed": bob.id, "mid": "0", "sub_mid": "1"}]})
        t.eq((d.get("switched"), d.get("changes")), ("ok", 0),
             "switch audio onto a video m-line: no change")
        d, _ = await sub.s.request({"request": "update"})
        t.error(d, 429, "update with nothing: 429")
        d, _ = await sub.s.request({"request": "subscribe", "streams": [{"feed": 77}]})
        t.error(d, 428, "subscribe to an unknown feed: 428")
        d, _ = await sub.s.request({"request": "start"}, {"type": "offer", "sdp": MIN_SDP})
        t.error(d, 431, "start with an offer: 431")
        d, _ = await sub.s.request({"request": "publish"})
        t.error(d, 423, "publish on a subscriber: 423")
        d, _ = await sub.s.request({"request": "leave"})
        t.eq(d.get("left"), "ok", "leave")
        await sub.s.wait(lambda e: e.get("janus") == "hangup", 5, "hangup after leave")
        d, _ = await sub.s.request({"request": "start"})
        t.error(d, 426, "a request after leave: 426")
    finally:
        await sub.close()


async def vanishing(alice):
    c = srv.client()
    # A subscriber that detaches before answering.
    s1 = Session(c)
    d, jsep = await s1.request({"request": "join", "room": ROOM, "ptype": "subscriber",
                                "streams": [{"feed": alice.id}]})
    t.ok(jsep is not None, "a subscriber gets its offer")
    await asyncio.to_thread(c.detach, s1.sid, s1.h)
    await s1.close()
    # A publisher that detaches right after sending its offer.
    p = Publisher(srv.client(), ROOM, "Gone", "green")
    d, _ = await p.s.request({"request": "join", "room": ROOM, "ptype": "publisher"})
    p.pc.addTrack(ColorTrack("green"))
    await p.pc.setLocalDescription(await p.pc.createOffer())
    tx = c.tx()
    await asyncio.to_thread(p.s.c.message, p.s.sid, p.s.h, {"request": "publish"},
                            {"type": "offer", "sdp": p.pc.localDescription.sdp}, tx)
    await asyncio.to_thread(p.s.c.detach, p.s.sid, p.s.h)
    await p.close()
    # A watched publisher whose session is destroyed: its subscriber is told.
    q = Publisher(srv.client(), ROOM, "Quitter", "green")
    await q.join_and_publish()
    sub = Subscriber(srv.client(), ROOM)
    try:
        await sub.join([{"feed": q.id}])
        t.ok(await grows(sub, "video", 20), "watching a publisher", sub.frames)
        await q.close()  # destroys its session
        d, jsep = await sub.s.vr(lambda d: d.get("videoroom") == "updated",
                                 what="updated after the publisher vanished")
        t.eq([s["active"] for s in d.get("streams", [])], [False, False],
             "the vanished publisher's m-lines are inactive")
        if jsep:
            await sub.answer(jsep)
    finally:
        await sub.close()
    # A subscriber whose only feed leaves between our offer and its answer: "start" says
    # there is nothing to start (428), not "ok".
    brief = Publisher(srv.client(), ROOM, "Brief", "green")
    await brief.join_and_publish()
    late = Subscriber(srv.client(), ROOM)
    try:
        d, jsep = await late.s.request({"request": "join", "room": ROOM, "ptype": "subscriber",
                                        "streams": [{"feed": brief.id}]})
        t.ok(jsep is not None, "the late subscriber gets its offer")
        await brief.close()
        await asyncio.sleep(0.5)  # its leaving reaches the subscription
        await late.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="offer"))
        await late.pc.setLocalDescription(await late.pc.createAnswer())
        d, _ = await late.s.request({"request": "start"},
                                    {"type": "answer", "sdp": late.pc.localDescription.sdp})
        t.error(d, 428, "start after the only feed left")
    finally:
        await late.close()
    r = c.sync(*srv_admin, {"request": "listparticipants", "room": ROOM})
    t.eq(sorted(p["display"] for p in r["participants"]), ["Admin", "Alice", "Bob"],
         "only the live participants remain")


async def track_grows(sub, track, n, timeout=8.0):
    start = sub.track_frames.get(track, 0)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if sub.track_frames.get(track, 0) - start >= n:
            return True
        await asyncio.sleep(0.1)
    return False


async def recycled_mline(alice, bob):
    # Media has flowed on every m-line before mid 0 goes inactive and comes back: aiortc
    # routes RTP by SSRC, never re-reads a started receiver's SSRC, and cannot tell its two
    # audio receivers apart by payload type, so the m-line must come back with its SSRC.
    sub = Subscriber(srv.client(), ROOM)
    a_audio, b_audio = "%d-0" % alice.id, "%d-0" % bob.id
    try:
        await sub.join([{"feed": alice.id}, {"feed": bob.id}])
        t.ok(await track_grows(sub, a_audio, 20) and await track_grows(sub, b_audio, 20),
             "both audios decode", sub.track_frames)
        d, jsep = await sub.s.request({"request": "unsubscribe", "streams": [{"sub_mid": "0"}]})
        t.eq((d.get("videoroom"), (jsep or {}).get("type")), ("updated", "offer"),
             "unsubscribe alice's audio: a new offer")
        await sub.answer(jsep)
        d, jsep = await sub.s.request({"request": "subscribe", "streams": [{"feed": alice.id,
                                                                            "mid": "0"}]})
        t.eq([(s["mid"], s["active"], s.get("feed_id")) for s in d.get("streams", [])][0],
             ("0", True, alice.id), "alice's audio is back on mid 0")
        await sub.answer(jsep)
        t.ok(await track_grows(sub, a_audio, 40), "audio decodes on the recycled m-line",
             sub.track_frames)
    finally:
        await sub.close()


async def destroy_with_peers(alice, bob):
    sub = Subscriber(srv.client(), ROOM)
    await sub.join([{"feed": alice.id}, {"feed": bob.id}])
    t.ok(await grows(sub, "video", 20), "a subscriber watches two feeds", sub.frames)
    c = srv.client()
    r = c.sync(*srv_admin, {"request": "destroy", "room": ROOM, "secret": "s5"})
    t.eq(r.get("videoroom"), "destroyed", "destroy the room with connected peers")
    for who, s in (("alice", alice.s), ("bob", bob.s), ("the subscriber", sub.s)):
        d, _ = await s.vr(lambda d: d.get("videoroom") == "destroyed",
                          what="destroyed (%s)" % who)
        t.eq(d, {"videoroom": "destroyed", "room": ROOM}, "%s hears 'destroyed'" % who)
        await s.wait(lambda e: e.get("janus") == "hangup", 5, "hangup (%s)" % who)
        t.ok(True, "%s's PeerConnection is closed" % who)
    await sub.close()


srv_admin = None


async def main():
    global srv_admin
    c = srv.client()
    admin = Session(c)
    await admin.request({"request": "join", "room": ROOM, "ptype": "publisher",
                         "display": "Admin"})
    srv_admin = (admin.sid, admin.h)
    alice = Publisher(srv.client(), ROOM, "Alice", "red")
    bob = Publisher(srv.client(), ROOM, "Bob", "blue")
    try:
        await alice.join_and_publish()
        await bob.join_and_publish()
        await pending_renegotiation(alice, bob)
        await recycled_mline(alice, bob)
        await vanishing(alice)
        await destroy_with_peers(alice, bob)
    except AssertionError as ex:
        t.ok(False, "scenario", ex)
    finally:
        await alice.close()
        await bob.close()
        await admin.close()


asyncio.run(main())
t.done()
