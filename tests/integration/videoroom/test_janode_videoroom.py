#!/usr/bin/python3
"""janode's VideoRoom plugin (npm janode) over the daemon's WebSocket, signaling only:
room management (create with options, an existing room, exists, list, edit, allowed,
listparticipants, kick, destroy, wrong secrets and pins) and the notifications between
janode participants (attendees, joining, publishers, unpublished, leaving, kicked,
destroyed). janode has no WebRTC: the one publisher with media (so that "publishers" is
announced) is an aiortc peer this script runs when the node script asks for it
("@publish", "@unpublish", "@leave" on its stdout; "@done {...}" back on its stdin).
Skipped (ok with a note) when node or janode are missing.

js/janode_videoroom.mjs does the janode side.

usage: test_janode_videoroom.py <path to switchboard>
"""
import asyncio
import json
import os
import shutil
import socket
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from vrlib import Test, free_port  # noqa: E402

NODE_MODULES = os.path.join(os.path.dirname(HERE), "node_modules")
SCRIPT = os.path.join(HERE, "js", "janode_videoroom.mjs")

t = Test("janode-videoroom")
why = None
if not shutil.which("node"):
    why = "node is missing"
elif not os.path.isdir(os.path.join(NODE_MODULES, "janode")):
    why = "npm janode is missing (npm ci in tests/integration)"
if why:
    t.ok(True, "skipped: " + why)
    sys.exit(0)

import vrmedia  # noqa: E402  (aiortc: after the skip checks, it takes a while to import)

ws_port = free_port()
srv = t.server(conf="", args=["--ws", "true", "--ws-port", str(ws_port),
                              "--ws-bind", "127.0.0.1"])
deadline = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", ws_port), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            t.ok(False, "the daemon listens on its WebSocket port %d" % ws_port)
            t.done()
        time.sleep(0.05)


class Alice:
    """The aiortc publisher the node script asks for."""

    def __init__(self):
        self.pub = None

    async def publish(self, args):
        p = vrmedia.Publisher(srv.client(), args["room"], args["display"], "red")
        self.pub = p
        d, _ = await p.s.request({"request": "join", "room": args["room"], "ptype": "publisher",
                                  "display": args["display"], "pin": args["pin"]})
        if d.get("videoroom") != "joined":
            raise AssertionError("join: %s" % json.dumps(d))
        p.id = d["id"]
        p.pc.addTrack(vrmedia.ToneTrack())
        p.pc.addTrack(vrmedia.ColorTrack("red"))
        await p.pc.setLocalDescription(await p.pc.createOffer())
        d, jsep = await p.s.request({"request": "publish"},
                                    {"type": "offer", "sdp": p.pc.localDescription.sdp})
        if d.get("configured") != "ok" or not jsep:
            raise AssertionError("publish: %s" % json.dumps(d))
        await p.pc.setRemoteDescription(vrmedia.RTCSessionDescription(sdp=jsep["sdp"],
                                                                      type="answer"))
        await p.s.wait(lambda e: e.get("janus") == "webrtcup", 10, "webrtcup")
        return {"id": p.id}

    async def unpublish(self, _args):
        d, _ = await self.pub.s.request({"request": "unpublish"})
        if d.get("unpublished") != "ok":
            raise AssertionError("unpublish: %s" % json.dumps(d))
        return {}

    async def leave(self, _args):
        d, _ = await self.pub.s.request({"request": "leave"})
        if d.get("leaving") != "ok":
            raise AssertionError("leave: %s" % json.dumps(d))
        await self.pub.close()
        self.pub = None
        return {}

    async def close(self):
        if self.pub:
            await self.pub.close()


async def main():
    alice = Alice()
    start = time.time()
    proc = await asyncio.create_subprocess_exec(
        "node", SCRIPT, str(ws_port), cwd=os.path.dirname(HERE),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    steps = 0
    try:
        while True:
            try:
                raw = await asyncio.wait_for(proc.stdout.readline(), 150)
            except asyncio.TimeoutError:
                t.ok(False, "the node script answers within 150 s")
                proc.kill()
                break
            if not raw:
                break
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("ok - "):
                steps += 1
                t.ok(True, line[5:])
            elif line.startswith("not ok - "):
                steps += 1
                t.ok(False, line[9:])
            elif line.startswith("@"):
                what, _, args = line[1:].partition(" ")
                try:
                    reply = await getattr(alice, what)(json.loads(args or "{}"))
                except Exception as e:  # noqa: BLE001 - reported to the script and here
                    t.note("@%s failed: %r" % (what, e))
                    reply = {"error": repr(e)}
                proc.stdin.write(("@done %s\n" % json.dumps(reply)).encode())
                await proc.stdin.drain()
            elif line.strip():
                print(line if line.startswith("#") else "# " + line, flush=True)
        rc = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await alice.close()
    t.ok(rc == 0 and steps > 0, "node script exits 0 after %d steps (%.1f s)"
         % (steps, time.time() - start), "exit status %s" % rc)


try:
    asyncio.run(main())
except Exception:  # noqa: BLE001 - report it, still stop the daemon
    t.ok(False, "the test ran to its end", traceback.format_exc())
t.done()
