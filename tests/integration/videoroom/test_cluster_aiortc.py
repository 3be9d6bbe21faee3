#!/usr/bin/python3
"""A room that spans two nodes (docs/scaling.md), with real aiortc clients: node 1 and
node 2 share a Redis started here; a participant publishes on each node; each sees the
other's publisher announced, a subscriber on each node decodes the other node's video (the
right colour) and its audio, Redis restarting empty mid-call stops no call and a room can be
made once it is back, and a publisher that leaves is announced as leaving on the other node.

usage: test_cluster_aiortc.py <path to switchboard>
"""
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402
from vrmedia import Publisher, Session, Subscriber  # noqa: E402

ROOM = 4242
REDIS_PORT = 6379


def start_redis():
    tmp = tempfile.mkdtemp(prefix="sb-vr-redis-")
    proc = subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", tmp],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def node_args(n):
    return ["--node-id", str(n), "--cluster-redis", "127.0.0.1:%d" % REDIS_PORT,
            "--cluster-secret", "test secret"]


t = Test("cluster-aiortc")
redis = start_redis()
servers = [t.server(args=node_args(1)), t.server(args=node_args(2))]
c1, c2 = servers[0].client(), servers[1].client()


def announced(feed):
    return lambda d: any(p.get("id") == feed for p in d.get("publishers", []))


async def main():
    admin = Session(c1)
    admin2 = Session(c2)
    r = c1.message(admin.sid, admin.h, {"request": "create", "room": ROOM}, None, "c")
    t.eq(r.get("plugindata", {}).get("data", {}).get("videoroom"), "created",
         "room made on node 1")
    red = Publisher(c1, ROOM, "red on node 1", "red")
    await red.join_and_publish()
    blue = Publisher(c2, ROOM, "blue on node 2", "blue")
    await blue.join_and_publish()
    t.ok(True, "a publisher on each node")

    seen_red = [x for x in blue.joined.get("publishers", []) if x.get("id") == red.id]
    if not seen_red:
        try:
            await blue.s.vr(announced(red.id), 10, "node 1's publisher announced on node 2")
            seen_red = True
        except AssertionError as e:
            t.note(str(e)[:1500])
    t.ok(bool(seen_red), "node 2 sees node 1's publisher")
    try:
        await red.s.vr(announced(blue.id), 10, "node 2's publisher announced on node 1")
        seen_blue = True
    except AssertionError as e:
        seen_blue = False
        t.note(str(e)[:1500])
    t.ok(seen_blue, "node 1 sees node 2's publisher")

    sub2 = Subscriber(c2, ROOM)
    sub1 = Subscriber(c1, ROOM)
    for sub, feed, colour, where in ((sub2, red.id, "red", "node 2"),
                                     (sub1, blue.id, "blue", "node 1")):
        try:
            await sub.join([{"feed": feed}])
            got = await sub.frames_at_least(30, 20, 15)
            colours = set(sub.colors.values())
            t.ok(got and colours == {colour},
                 "a subscriber on %s decodes the other node's video and audio" % where,
                 "frames %r, colours %r" % (sub.frames, colours))
        except AssertionError as e:
            t.ok(False, "a subscriber on %s decodes the other node's video and audio" % where,
                 str(e)[:1500])

    # Redis restarts (empty) mid-call: the calls go on, and once it is back a new room can
    # be made (the nodes said again what they had put there).
    global redis
    redis.kill()
    redis.wait()
    await asyncio.sleep(1.5)
    got = await sub2.frames_at_least(30, 20, 10)
    t.ok(got, "with Redis away, node 2's subscriber still decodes node 1's publisher",
         repr(sub2.frames))
    redis = start_redis()
    deadline = time.time() + 10
    made = None
    while time.time() < deadline:
        r = c2.message(admin2.sid, admin2.h, {"request": "create", "room": ROOM + 1}, None, "c2")
        made = r.get("plugindata", {}).get("data", {})
        if made.get("videoroom") == "created":
            break
        await asyncio.sleep(0.5)
    t.eq(made.get("videoroom"), "created", "a new room once Redis is back")
    got = await sub1.frames_at_least(30, 20, 10)
    t.ok(got, "after the Redis restart, node 1's subscriber still decodes node 2's publisher",
         repr(sub1.frames))

    await red.close()
    try:
        await blue.s.vr(lambda d: d.get("leaving") == red.id or d.get("unpublished") == red.id,
                        10, "node 1's publisher leaving, on node 2")
        t.ok(True, "node 1's publisher leaving is announced on node 2")
    except AssertionError as e:
        t.ok(False, "node 1's publisher leaving is announced on node 2", str(e)[:1500])
    for x in (sub1, sub2, blue):
        await x.close()
    await admin.close()
    await admin2.close()


try:
    asyncio.run(asyncio.wait_for(main(), 120))
except Exception as e:  # noqa: BLE001
    t.ok(False, "the scenario ran to its end", repr(e))
finally:
    redis.kill()
    redis.wait()
t.done()
