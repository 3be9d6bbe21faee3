#!/usr/bin/python3
"""VideoRoom participants over HTTP, without media: publisher join (joined, joining,
attendees, leaving, display changes), the error codes of join/configure/publish/unpublish/
leave and of subscriber joins (424, 425, 426, 428, 429, 430, 431, 433, 436), detach and
session destroy while in a room, a room destroyed with people in it, and concurrent
joins and leaves.

usage: test_participants.py <path to switchboard>
"""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402

CONF = """
room-10: { description = "Ten"; pin = "pin10"; notify_joining = true; };
room-11: { description = "Eleven"; require_pvtid = true; secret = "s11"; };
room-12: { description = "Twelve"; publishers = 20; };
"""
SDP_OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}

t = Test("participants")
srv = t.server(conf=CONF)
c = srv.client()


def req(sid, h, body, jsep=None):
    return c.data(c.request(sid, h, body, jsep))


# ---- before joining -------------------------------------------------------------------------
sid, h = c.handle()
for r in ("configure", "publish", "unpublish", "start", "pause", "leave", "switch",
          "subscribe", "unsubscribe", "update"):
    t.error(req(sid, h, {"request": r}), 424, "%s before join: 424" % r)

# ---- join validation ----------------------------------------------------------------------------
t.error(req(sid, h, {"request": "join", "room": 10}), 429, "join without ptype: 429")
t.error(req(sid, h, {"request": "join", "ptype": "publisher"}), 429, "join without room: 429")
t.error(req(sid, h, {"request": "join", "room": "10", "ptype": "publisher"}), 430,
        "join with a string room: 430")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "bogus"}), 430,
        "join with an unknown ptype: 430")
t.error(req(sid, h, {"request": "join", "room": 99, "ptype": "publisher"}), 426,
        "join an absent room: 426")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher"}), 429,
        "join without the pin: 429")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "x"}), 433,
        "join with a wrong pin: 433")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                     "id": "x"}), 430, "join with a string id: 430")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                     "display": 3}), 430, "join with a non-string display: 430")
# Strings every participant would get a copy of are bounded (1 KiB).
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                     "display": "x" * 1025}), 430, "join with a 1025-byte display: 430")
t.error(c.sync(sid, h, {"request": "create", "room": 77, "description": "d" * 5000}), 430,
        "create with a 5000-byte description: 430")

# ---- joined, attendees, joining -----------------------------------------------------------------
d = req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                 "display": "Alice", "id": 1})
t.eq({k: d.get(k) for k in ("videoroom", "room", "description", "id", "publishers",
                            "attendees")},
     {"videoroom": "joined", "room": 10, "description": "Ten", "id": 1, "publishers": [],
      "attendees": []}, "joined (notify_joining room: attendees)")
t.ok(isinstance(d.get("private_id"), int) and d["private_id"] > 0, "joined has a private_id")
t.error(req(sid, h, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10"}),
        425, "join twice on a handle: 425")
t.error(req(sid, h, {"request": "joinandconfigure", "room": 10, "ptype": "publisher",
                     "pin": "pin10"}), 425, "joinandconfigure on a joined handle: 425")

bsid, bh = c.handle()
t.error(req(bsid, bh, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                       "id": 1}), 436, "join with a taken id: 436")
d = req(bsid, bh, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10",
                   "display": "Bob", "id": 2})
t.eq(d.get("attendees"), [{"id": 1, "display": "Alice"}], "the second one sees an attendee")
e = c.vr_event(sid, lambda d: "joining" in d)
t.eq(e, {"videoroom": "event", "room": 10, "joining": {"id": 2, "display": "Bob"}},
     "the first one hears 'joining'")

# ---- configure, publish, unpublish without media ---------------------------------------------
d = req(bsid, bh, {"request": "configure", "display": "Bobby"})
t.eq(d, {"videoroom": "event", "room": 10, "configured": "ok"}, "configure display")
e = c.vr_event(sid, lambda d: d.get("display") == "Bobby")
t.eq(e and e.get("id"), 2, "others hear the new display name")
t.error(req(bsid, bh, {"request": "configure", "bitrate": "x"}), 430,
        "configure with a string bitrate: 430")
t.error(req(bsid, bh, {"request": "configure", "streams": [{"mid": "0", "send": False}]}), 428,
        "configure a stream that is not published: 428")
t.error(req(bsid, bh, {"request": "unpublish"}), 435, "unpublish when not published: 435")
t.error(req(bsid, bh, {"request": "publish"}), 429, "publish without an offer: 429")
t.error(req(bsid, bh, {"request": "publish"}, {"type": "answer", "sdp": SDP_OFFER["sdp"]}), 431,
        "publish with an answer: 431")
t.error(req(bsid, bh, {"request": "start"}), 423, "start on a publisher: 423")
d = req(bsid, bh, {"request": "publish"}, SDP_OFFER)
t.ok(d.get("error_code") in (437, 499), "publish with an unusable offer fails with an error", d)
t.eq([p["publisher"] for p in c.sync(sid, h, {"request": "listparticipants", "room": 10})
      ["participants"]], [False, False], "nobody is publishing")

# ---- subscriber joins ------------------------------------------------------------------------
ssid, sh = c.handle()
SUB = {"request": "join", "ptype": "subscriber", "room": 12}
t.error(req(ssid, sh, SUB), 429, "subscribe without feed or streams: 429")
t.error(req(ssid, sh, dict(SUB, streams=[])), 429, "subscribe with empty streams: 429")
t.error(req(ssid, sh, dict(SUB, streams="x")), 430, "subscribe with streams not an array: 430")
t.error(req(ssid, sh, dict(SUB, feed="x")), 430, "subscribe with a string feed: 430")
t.error(req(ssid, sh, dict(SUB, streams=[{"mid": "0"}])), 429, "a stream without feed: 429")
t.error(req(ssid, sh, dict(SUB, streams=[5])), 430, "a stream that is not an object: 430")
t.error(req(ssid, sh, dict(SUB, feed=12345)), 428, "subscribe to an absent feed: 428")
t.error(req(ssid, sh, dict(SUB, room=99, feed=1)), 426, "subscribe in an absent room: 426")
t.error(req(ssid, sh, dict(SUB, room=10, feed=1)), 429, "subscribe without the pin: 429")
t.error(req(ssid, sh, dict(SUB, room=10, feed=1, pin="pin10")), 428,
        "subscribe to a participant that does not publish: 428")
t.error(req(ssid, sh, dict(SUB, room=11, feed=1)), 433,
        "subscribe without private_id when the room requires it: 433")
t.error(req(ssid, sh, dict(SUB, room=11, feed=1, private_id=7)), 433,
        "subscribe with an unknown private_id: 433")
qsid, qh = c.handle()
pv = req(qsid, qh, {"request": "join", "room": 11, "ptype": "publisher"})["private_id"]
t.error(req(ssid, sh, dict(SUB, room=11, feed=1, private_id=pv)), 428,
        "a valid private_id passes the check (then 428: no such feed)")

# ---- leave --------------------------------------------------------------------------------
d = req(bsid, bh, {"request": "leave"})
t.eq(d, {"videoroom": "event", "room": 10, "leaving": "ok"}, "leave")
e = c.vr_event(sid, lambda d: "leaving" in d)
t.eq(e, {"videoroom": "event", "room": 10, "leaving": 2}, "others hear 'leaving'")
t.error(req(bsid, bh, {"request": "leave"}), 426, "leave twice: 426")
t.error(req(bsid, bh, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10"}),
        425, "join again on a handle that left: 425")

# ---- detach and session destroy while joined -------------------------------------------------
dsid, dh = c.handle()
req(dsid, dh, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10", "id": 3})
c.drain(sid)
c.detach(dsid, dh)
e = c.vr_event(sid, lambda d: "leaving" in d)
t.eq(e and e.get("leaving"), 3, "a detached participant leaves")
esid, eh = c.handle()
req(esid, eh, {"request": "join", "room": 10, "ptype": "publisher", "pin": "pin10", "id": 4})
c.destroy(esid)
e = c.vr_event(sid, lambda d: d.get("leaving") == 4)
t.ok(e is not None, "a destroyed session's participant leaves")
t.eq([p["id"] for p in c.sync(sid, h, {"request": "listparticipants", "room": 10})
      ["participants"]], [1], "only the first participant is left")

# ---- concurrent joins and leaves ---------------------------------------------------------------
errors = []


def worker(n):
    try:
        cc = srv.client()
        for i in range(5):
            s2, h2 = cc.handle()
            d = cc.data(cc.request(s2, h2, {"request": "join", "room": 12, "ptype": "publisher",
                                            "display": "w%d-%d" % (n, i)}))
            if d.get("videoroom") != "joined":
                errors.append(d)
            if i % 2:
                cc.request(s2, h2, {"request": "leave"})
                cc.detach(s2, h2)
            else:
                cc.destroy(s2)
    except Exception as ex:  # noqa: BLE001 - reported below
        errors.append(repr(ex))


threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
for th in threads:
    th.start()
for th in threads:
    th.join()
t.eq(errors, [], "40 concurrent joins and leaves answer correctly")
t.eq(c.sync(sid, h, {"request": "listparticipants", "room": 12})["participants"], [],
     "the room is empty after them")

# ---- a room destroyed with people in it ----------------------------------------------------------
xsid, xh = c.handle()
req(xsid, xh, {"request": "join", "room": 11, "ptype": "publisher"})
c.drain(qsid)
d = c.sync(sid, h, {"request": "destroy", "room": 11, "secret": "s11"})
t.eq(d.get("videoroom"), "destroyed", "destroy a room with two participants")
for n, s in enumerate((qsid, xsid)):
    t.ok(c.vr_event(s, lambda d: d.get("videoroom") == "destroyed") is not None,
         "participant %d hears 'destroyed'" % n, c.events.get(s))
t.ok(not [e for e in c.drain(qsid) if "leaving" in (c.data(e) or {})],
     "no 'leaving' storm after a destroy")
t.error(req(xsid, xh, {"request": "leave"}), 426, "leave a destroyed room: 426")

t.done()
