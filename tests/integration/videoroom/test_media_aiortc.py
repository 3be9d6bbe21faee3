#!/usr/bin/python3
"""VideoRoom media with real WebRTC clients (aiortc): one publisher, several subscribers
each decoding its video and audio; a second publisher and a "switch" that changes which
feed an m-line carries (checked by the colour each publisher paints); unpublish and leave
seen by the others, with the subscribers' m-lines made inactive by a new offer.

usage: test_media_aiortc.py <path to switchboard>   (run with /usr/bin/python3)
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402
from aiortc import RTCSessionDescription  # noqa: E402
from vrmedia import ColorTrack, Publisher, Session, Subscriber  # noqa: E402

CONF = """
room-1234: { description = "Media"; publishers = 4; bitrate = 300000; fir_freq = 5;
             audiolevel_event = true; audio_active_packets = 25; audio_level_average = 60; };
"""
ROOM = 1234
NSUBS = 3

t = Test("media-aiortc")
srv = t.server(conf=CONF, args=("--loops", "2"))


async def scenario():
    c = srv.client()
    watcher = Session(c)
    d, _ = await watcher.request({"request": "join", "room": ROOM, "ptype": "publisher",
                                  "display": "Watcher"})
    t.eq(d.get("videoroom"), "joined", "a watcher joins")

    alice = Publisher(srv.client(), ROOM, "Alice", "red")
    bob = Publisher(srv.client(), ROOM, "Bob", "blue")
    subs = []
    try:
        d = await alice.join_and_publish({"descriptions": [{"mid": "1", "description": "cam"}]})
        t.ok(True, "alice publishes (configured + answer, webrtcup)")
        t.eq(([s.get("mid") for s in d.get("streams", [])], d.get("audio_codec"),
              d.get("video_codec")), (["0", "1"], "opus", "vp8"),
             "configured lists the published streams and codecs")
        d, _ = await watcher.vr(lambda d: "publishers" in d, what="publishers event")
        pubs = d["publishers"]
        t.eq([p["id"] for p in pubs], [alice.id], "the watcher hears of alice")
        streams = pubs[0].get("streams", [])
        t.eq([(s.get("type"), s.get("mid"), s.get("codec")) for s in streams],
             [("audio", "0", "opus"), ("video", "1", "vp8")], "alice's streams")
        t.eq(streams[1].get("description") if len(streams) > 1 else None, "cam",
             "stream description")

        for i in range(NSUBS):
            sub = Subscriber(srv.client(), ROOM)
            subs.append(sub)
            d = await sub.join([{"feed": alice.id}])
            if i == 0:
                st = d.get("streams", [])
                t.eq([(s["mindex"], s["mid"], s["type"], s["feed_id"], s["feed_mid"],
                       s.get("feed_display"), s.get("feed_description"), s["active"],
                       s.get("codec")) for s in st],
                     [(0, "0", "audio", alice.id, "0", "Alice", None, True, "opus"),
                      (1, "1", "video", alice.id, "1", "Alice", "cam", True, "vp8")],
                     "attached: the streams of the subscription")
        for i, sub in enumerate(subs):
            ok = await sub.frames_at_least(video=30, audio=50)
            t.ok(ok, "subscriber %d decodes alice's video and audio" % i, sub.frames)
            t.eq(set(sub.colors.values()), {"red"}, "subscriber %d sees red (alice)" % i)

        # Audio levels: alice's tone makes her "talking", silence "stopped-talking".
        d, _ = await watcher.vr(lambda d: d.get("videoroom") == "talking", what="talking")
        t.eq((d.get("id"), d.get("mid"), isinstance(d.get("audio-level-dBov-avg"), float)),
             (alice.id, "0", True), "the watcher hears alice talking")
        alice.tone.silent = True
        d, _ = await watcher.vr(lambda d: d.get("videoroom") == "stopped-talking",
                                what="stopped-talking")
        t.eq(d.get("id"), alice.id, "then stopped-talking when she is silent")
        alice.tone.silent = False
        d = c.sync(watcher.sid, watcher.h, {"request": "listparticipants", "room": ROOM})
        t.ok(all("talking" in p for p in d["participants"] if p["publisher"]),
             "listparticipants tells who talks", d)

        # Moderation: a muted stream stops reaching the subscribers.
        r = c.sync(watcher.sid, watcher.h, {"request": "moderate", "room": ROOM, "id": alice.id,
                                            "mid": "0", "mute": True})
        t.eq(r, {"videoroom": "success"}, "moderate: mute alice's audio")
        d, _ = await watcher.vr(lambda d: d.get("moderation") == "muted", what="moderation")
        t.eq((d.get("id"), d.get("mid")), (alice.id, "0"), "the room hears of the moderation")
        await asyncio.sleep(1)
        before = subs[1].frames["audio"]
        await asyncio.sleep(2)
        t.ok(subs[1].frames["audio"] - before < 10, "no audio while muted",
             (before, subs[1].frames["audio"]))
        c.sync(watcher.sid, watcher.h, {"request": "moderate", "room": ROOM, "id": alice.id,
                                        "mid": "0", "mute": False})
        ok = await subs[1].frames_at_least(video=0, audio=40)
        t.ok(ok, "audio flows again once unmuted", subs[1].frames)

        # A second publisher, and a switch of subscriber 0's video m-line to it.
        await bob.join_and_publish()
        d, _ = await watcher.vr(lambda d: "publishers" in d, what="bob's publishers event")
        t.eq([p["id"] for p in d["publishers"]], [bob.id], "the watcher hears of bob")
        d, _ = await subs[0].s.request({"request": "switch", "streams": [
            {"feed": bob.id, "mid": "1", "sub_mid": "1"}]})
        t.eq((d.get("switched"), d.get("changes")), ("ok", 1), "switch video to bob")
        t.eq([s.get("feed_id") for s in d.get("streams", [])], [alice.id, bob.id],
             "switched: the streams now")
        await asyncio.sleep(2)
        ok = await subs[0].frames_at_least(video=20, audio=20)
        t.ok(ok, "after the switch the subscriber still decodes", subs[0].frames)
        t.eq(set(subs[0].colors.values()), {"blue"}, "after the switch the video is blue (bob)")
        t.eq(set(subs[1].colors.values()), {"red"}, "the others still see alice")

        # Multistream: subscriber 1 adds bob's streams (renegotiation).
        d, jsep = await subs[1].s.request({"request": "subscribe",
                                           "streams": [{"feed": bob.id}]})
        t.eq((d.get("videoroom"), len(d.get("streams", [])), bool(jsep)), ("updated", 4, True),
             "subscribe to a second feed: updated with 4 m-lines and an offer")
        await subs[1].answer(jsep)
        await asyncio.sleep(3)
        t.eq(sorted(subs[1].colors.values()), ["blue", "red"],
             "the multistream subscriber sees both feeds")

        # Unpublish: the watcher hears it; subscribers get a new offer with the m-lines
        # of that feed inactive.
        d, _ = await alice.s.request({"request": "unpublish"})
        t.eq(d.get("unpublished"), "ok", "alice unpublishes")
        d, _ = await watcher.vr(lambda d: "unpublished" in d, what="unpublished")
        t.eq(d.get("unpublished"), alice.id, "the watcher hears alice unpublished")
        d, jsep = await subs[2].s.vr(lambda d: d.get("videoroom") == "updated",
                                    what="updated after unpublish")
        t.eq([s["active"] for s in d.get("streams", [])], [False, False],
             "subscriber 2's m-lines are inactive")
        t.ok(jsep and jsep.get("type") == "offer", "with a new offer")
        if jsep:
            await subs[2].answer(jsep)
        d, jsep = await subs[0].s.vr(lambda d: d.get("videoroom") == "updated",
                                    what="updated (subscriber 0)")
        t.eq([s["active"] for s in d.get("streams", [])], [False, True],
             "subscriber 0 keeps bob's video")
        if jsep:
            await subs[0].answer(jsep)
        ok = await subs[0].frames_at_least(video=20, audio=0)
        t.ok(ok, "subscriber 0 still decodes bob after alice left", subs[0].frames)

        # joinandconfigure: join and publish in one request ("joined" with the answer).
        carol = Publisher(srv.client(), ROOM, "Carol", "green", video=False)
        try:
            carol.pc.addTrack(carol.make_tone())
            await carol.pc.setLocalDescription(await carol.pc.createOffer())
            d, jsep = await carol.s.request(
                {"request": "joinandconfigure", "room": ROOM, "ptype": "publisher",
                 "display": "Carol"}, {"type": "offer", "sdp": carol.pc.localDescription.sdp})
            t.ok(d.get("videoroom") == "joined" and jsep and jsep["type"] == "answer",
                 "joinandconfigure: joined with the answer", d)
            carol.id = d.get("id")
            await carol.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                      type="answer"))
            d, _ = await watcher.vr(lambda d: any(p["id"] == carol.id
                                                  for p in d.get("publishers", [])),
                                    what="carol's publishers event")
            t.eq([s["type"] for s in d["publishers"][0]["streams"]], ["audio"],
                 "carol publishes audio only")
            # Renegotiation: she adds video with configure + a new offer.
            carol.pc.addTrack(ColorTrack("green"))
            await carol.pc.setLocalDescription(await carol.pc.createOffer())
            d, jsep = await carol.s.request({"request": "configure"},
                                            {"type": "offer",
                                             "sdp": carol.pc.localDescription.sdp})
            t.ok(d.get("configured") == "ok" and jsep, "configure with a new offer", d)
            if jsep:
                await carol.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"],
                                                                          type="answer"))
            d, _ = await watcher.vr(lambda d: any(p["id"] == carol.id
                                                  for p in d.get("publishers", [])),
                                    what="carol's updated publishers event")
            t.eq([s["type"] for s in d["publishers"][0]["streams"]], ["audio", "video"],
                 "the room hears carol's new video stream")
            sub = Subscriber(srv.client(), ROOM)
            subs.append(sub)
            await sub.join([{"feed": carol.id, "mid": "1"}])
            t.ok(await sub.frames_at_least(video=20, audio=0), "her new video decodes",
                 sub.frames)
            t.eq(set(sub.colors.values()), {"green"}, "it is green (carol)")
        finally:
            await carol.close()

        d, _ = await bob.s.request({"request": "leave"})
        t.eq(d.get("leaving"), "ok", "bob leaves")
        d, _ = await watcher.vr(lambda d: d.get("leaving") == bob.id, what="bob leaving")
        t.eq(d.get("leaving"), bob.id, "the watcher hears bob leave")
        t.ok(not watcher.find(lambda e: (e.get("plugindata") or {}).get("data", {})
                              .get("unpublished") == bob.id),
             "a leave is announced as 'leaving' only, as the reference does")
        d = c.sync(watcher.sid, watcher.h, {"request": "listparticipants", "room": ROOM})
        t.eq(sorted(p["display"] for p in d["participants"]), ["Alice", "Watcher"],
             "alice (not publishing) and the watcher remain (carol's session is gone)")
    except AssertionError as ex:
        t.ok(False, "scenario", ex)
    finally:
        for s in subs:
            await s.close()
        await alice.close()
        await bob.close()
        await watcher.close()


asyncio.run(scenario())
t.done()
