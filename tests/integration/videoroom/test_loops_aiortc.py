#!/usr/bin/python3
"""VideoRoom over several media loops: with `--loops 3` and `spread_subscribers_after = 1`,
a room's first subscriber shares the publisher's loop and the next ones go to the least
loaded loops, fed by relayed packet batches. Every subscriber must decode the publisher's
video and audio wherever it is; a subscriber joining while media flows gets a keyframe
(requested from another loop: the room has no fir_freq); one leaving does not disturb the
others; a moderator's mute/unmute reaches the other loops; and a publisher that leaves, or
whose session vanishes, while batches are in flight leaves no crash, no leak (sanitizer
build) and a clean exit.

usage: test_loops_aiortc.py <path to switchboard>   (run with /usr/bin/python3)
"""
import asyncio
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402
from vrmedia import Publisher, Session, Subscriber  # noqa: E402

CONF = """
general: { spread_subscribers_after = 1; };
room-77: { description = "Loops"; publishers = 4; };
"""
ROOM = 77

t = Test("loops-aiortc")
# Debug logs name the loop each subscriber is put on and each relay made.
srv = t.server(conf=CONF, args=("--loops", "3", "-d", "debug"))


def placements():
    """[(handle id, loop, feed's loop)] from the daemon's log, in join order."""
    return [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in
            re.finditer(r"subscriber (\d+) on loop (-?\d+) \(feed's loop (-?\d+)",
                        srv.logtext())]


async def decodes(subs, what, video=30, audio=50):
    oks = await asyncio.gather(*[s.frames_at_least(video=video, audio=audio) for s in subs])
    t.ok(all(oks), what, [s.frames for s in subs])


async def scenario():
    alice = Publisher(srv.client(), ROOM, "Alice", "red")
    subs = []
    late = None
    try:
        await alice.join_and_publish()
        t.ok(True, "alice publishes")
        for _ in range(4):
            s = Subscriber(srv.client(), ROOM)
            await s.join([{"feed": alice.id}])
            subs.append(s)
        where = placements()
        loops = [w[1] for w in where]
        home = where[0][2] if where else -1
        t.note("publisher on loop %d, subscribers on loops %s" % (home, loops))
        t.eq(len(where), 4, "every subscriber placement is logged")
        t.eq(loops[:1], [home], "the first subscriber shares the publisher's loop")
        t.ok(len(set(loops)) == 3, "the others are spread over every loop", loops)
        t.ok("relay from loop" in srv.logtext(), "packets are relayed to other loops")
        await decodes(subs, "every subscriber decodes alice's video and audio, on every loop")
        t.eq([set(s.colors.values()) for s in subs], [{"red"}] * 4, "all of them see red")

        # A subscriber joining while media flows: placed on another loop than the
        # publisher's, it waits for a keyframe it asks for across loops.
        late = Subscriber(srv.client(), ROOM)
        await late.join([{"feed": alice.id}])
        late_loop = placements()[-1][1]
        t.ok(late_loop != home, "the late subscriber is on another loop (%d)" % late_loop)
        await decodes([late], "it decodes video and audio (keyframe requested across loops)")
        t.eq(set(late.colors.values()), {"red"}, "and sees red")

        # One leaves while media flows (the one of a relay shared with another).
        gone = subs.pop(1)
        d, _ = await gone.s.request({"request": "leave"})
        t.eq(d.get("left"), "ok", "a subscriber on another loop leaves")
        await gone.close()
        await decodes(subs + [late], "the others keep decoding", video=20, audio=30)

        # Pause and resume one on another loop: it needs (and gets) a keyframe again.
        d, _ = await late.s.request({"request": "pause"})
        t.eq(d.get("paused"), "ok", "pause")
        d, _ = await late.s.request({"request": "start"})
        t.eq(d.get("started"), "ok", "start again")
        await decodes([late], "it decodes again after the pause", video=20, audio=30)

        # A moderator mutes and unmutes alice's video: the relays follow.
        c = srv.client()
        ms = Session(c)
        mid = "1"  # audio first, then video
        d = c.sync(ms.sid, ms.h, {"request": "moderate", "room": ROOM, "id": alice.id,
                                  "mid": mid, "mute": True})
        t.eq(d.get("videoroom"), "success", "a moderator mutes alice's video")
        await asyncio.sleep(1.0)
        frozen = [s.frames["video"] for s in subs + [late]]
        await asyncio.sleep(1.5)
        moved = [s.frames["video"] - f for s, f in zip(subs + [late], frozen)]
        t.ok(all(m <= 2 for m in moved), "no video reaches any loop while muted", moved)
        d = c.sync(ms.sid, ms.h, {"request": "moderate", "room": ROOM, "id": alice.id,
                                  "mid": mid, "mute": False})
        t.eq(d.get("videoroom"), "success", "and unmutes it")
        await decodes(subs + [late], "video comes back on every loop", video=20, audio=0)
        await ms.close()

        # The publisher leaves while batches are in flight: every subscriber is told.
        d, _ = await alice.s.request({"request": "leave"})
        t.eq(d.get("leaving"), "ok", "alice leaves while media flows")
        for i, s in enumerate(subs + [late]):
            d, _ = await s.s.vr(lambda d: d.get("videoroom") == "updated", 10,
                                "updated after alice left")
            t.ok(True, "subscriber %d gets 'updated' (her m-lines inactive)" % i)
        await alice.pc.close()

        # A second publisher whose session vanishes (no leave) in the middle of media.
        bob = Publisher(srv.client(), ROOM, "Bob", "blue")
        await bob.join_and_publish()
        bsubs = []
        for _ in range(3):
            s = Subscriber(srv.client(), ROOM)
            await s.join([{"feed": bob.id}])
            bsubs.append(s)
        await decodes(bsubs, "bob's subscribers decode him", video=20, audio=30)
        await bob.s.close()  # destroy the session: no leave, the handle goes
        await asyncio.sleep(0.5)
        await bob.pc.close()
        for s in bsubs:
            await s.s.vr(lambda d: d.get("videoroom") in ("updated", "event"), 10,
                         "an event after bob vanished")
        t.ok(True, "bob's subscribers hear he is gone")
        for s in bsubs:
            await s.close()
    except AssertionError as ex:
        t.ok(False, "scenario", ex)
    finally:
        for s in subs + ([late] if late else []):
            await s.close()
        await alice.close()


asyncio.run(scenario())
t.done()
