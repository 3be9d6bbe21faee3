#!/usr/bin/python3
"""VideoRoom at shutdown: the daemon is stopped (SIGTERM) while a publisher and two
subscribers are connected and media flows; it must exit cleanly, with no sanitizer report
(the plugin's loop closures must all have run before it is unloaded).

usage: test_shutdown_aiortc.py <path to switchboard>   (run with /usr/bin/python3)
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402
from vrmedia import Publisher, Subscriber  # noqa: E402

t = Test("shutdown-aiortc")
srv = t.server(conf="room-7: { publishers = 2; };", args=("--loops", "2"))


async def main():
    pub = Publisher(srv.client(), 7, "P", "green")
    subs = [Subscriber(srv.client(), 7) for _ in range(2)]
    try:
        await pub.join_and_publish()
        for s in subs:
            await s.join([{"feed": pub.id}])
        ok = all([await s.frames_at_least(video=10, audio=10) for s in subs])
        t.ok(ok, "media flows to both subscribers", [s.frames for s in subs])
        rc = await asyncio.to_thread(srv.stop)
        t.eq(rc, 0, "SIGTERM with peers connected: exit status 0")
    except AssertionError as ex:
        t.ok(False, "scenario", ex)
    finally:
        for s in subs:
            s.s.stopped = True
            await s.pc.close()
        pub.s.stopped = True
        await pub.pc.close()


asyncio.run(main())
t.done()
