#!/usr/bin/python3
"""VideoRoom room management over HTTP: create (with admin_key), edit, destroy, exists,
list, allowed, kick, moderate, listparticipants, predefined rooms from the configuration
file, and every error code of those requests (423, 426, 427, 428, 429, 430, 433).

usage: test_rooms.py <path to switchboard>
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from vrlib import Test  # noqa: E402

CONF = """
general: { admin_key = "adminkey"; };
room-1234: {
    description = "Demo Room";
    secret = "adminpwd";
    publishers = 6;
    bitrate = 128000;
    fir_freq = 10;
    videocodec = "VP8, h264";
};
room-77: { description = "Hidden"; is_private = true; pin = "p77"; };
"""

t = Test("rooms")
srv = t.server(conf=CONF)
c = srv.client()
sid, h = c.handle()


def sync(body):
    return c.sync(sid, h, body)


def rooms(body=None):
    return {r["room"]: r for r in sync(body or {"request": "list"})["list"]}


# ---- predefined rooms and list -------------------------------------------------------------
listed = rooms()
t.ok(1234 in listed, "config room 1234 is listed")
t.ok(77 not in listed, "private config room 77 is not listed")
r = listed.get(1234, {})
t.eq(r.get("description"), "Demo Room", "list: description")
t.eq(r.get("max_publishers"), 6, "list: max_publishers")
t.eq(r.get("bitrate"), 128000, "list: bitrate")
t.eq(r.get("fir_freq"), 10, "list: fir_freq")
t.eq(r.get("videocodec"), "vp8,h264", "list: videocodec normalized")
t.eq(r.get("audiocodec"), "opus", "list: default audiocodec")
t.eq(r.get("pin_required"), False, "list: pin_required")
t.eq(r.get("num_participants"), 0, "list: num_participants")
for key in ("is_private", "require_pvtid", "notify_joining", "audiolevel_event", "record",
            "lock_record", "opus_fec", "audiolevel_ext", "videoorient_ext", "playoutdelay_ext",
            "transport_wide_cc_ext", "require_e2ee", "dummy_publisher"):
    t.ok(isinstance(r.get(key), bool), "list: %s is a boolean" % key)
admin_list = rooms({"request": "list", "admin_key": "adminkey"})
t.ok(77 in admin_list and admin_list[77]["pin_required"] is True,
     "list with the admin_key shows private rooms")
t.ok(77 not in rooms({"request": "list", "admin_key": "wrong"}),
     "list with a wrong admin_key hides private rooms")

# ---- the request field itself ------------------------------------------------------------------
t.error(sync({"foo": 1}), 429, "no request: 429")
t.error(sync({"request": 5}), 430, "request not a string: 430")
t.error(sync({"request": "bogus"}), 423, "unknown request: 423")
t.error(sync({"request": "rtp_forward", "room": 1234}), 423, "rtp_forward not supported: 423")

# ---- create ----------------------------------------------------------------------------------
t.error(sync({"request": "create", "room": 55}), 429, "create without admin_key: 429")
t.error(sync({"request": "create", "room": 55, "admin_key": "nope"}), 433,
        "create with a wrong admin_key: 433")
t.error(sync({"request": "create", "room": 55, "admin_key": 5}), 430,
        "create with admin_key not a string: 430")
AK = {"admin_key": "adminkey"}


def create(**kw):
    body = dict({"request": "create"}, **AK)
    body.update(kw)
    return sync(body)


bad = [
    ({"room": "x"}, "room not an integer"),
    ({"room": -5}, "negative room"),
    ({"room": 55, "publishers": "x"}, "publishers not an integer"),
    ({"room": 55, "bitrate": -1}, "negative bitrate"),
    ({"room": 55, "description": 5}, "description not a string"),
    ({"room": 55, "is_private": "yes"}, "is_private not a boolean"),
    ({"room": 55, "audiocodec": "foo"}, "unknown audiocodec"),
    ({"room": 55, "videocodec": "vp8,foo"}, "unknown videocodec in a list"),
    ({"room": 55, "allowed": [1]}, "allowed with a non-string"),
    ({"room": 55, "allowed": "t"}, "allowed not an array"),
    ({"room": 55, "permanent": 1}, "permanent not a boolean"),
    ({"room": 55, "fir_freq": -1}, "negative fir_freq"),
]
for fields, what in bad:
    t.error(create(**fields), 430, "create, %s: 430" % what)
t.ok(55 not in rooms(AK and {"request": "list", "admin_key": "adminkey"}),
     "no room left behind by failed creates")
d = create(room=1234)
t.error(d, 427, "create an existing room: 427")
d = create(room=55, description="Fifty-five", secret="s", pin="p", is_private=True,
           publishers=2, bitrate=1000, audiocodec="pcmu,opus", videocodec="vp9",
           notify_joining=True, audiolevel_event=True, audio_active_packets=50,
           audio_level_average=40, require_pvtid=True, bogus_field=1)
t.eq(d, {"videoroom": "created", "room": 55, "permanent": False}, "create a room")
d = create(permanent=True)
t.ok(d.get("videoroom") == "created" and isinstance(d.get("room"), int) and d["room"] > 0
     and d["room"] < 2 ** 53 and d.get("permanent") is False,
     "create without an id picks one (permanent answers false)", d)
auto = d.get("room")
t.eq(sync({"request": "exists", "room": auto}),
     {"videoroom": "success", "room": auto, "exists": True}, "exists: the new room")
r = rooms({"request": "list", "admin_key": "adminkey"}).get(55, {})
t.eq(r.get("bitrate"), 64000, "a bitrate cap below 64 kbps is raised to 64000")
t.eq((r.get("audiocodec"), r.get("videocodec")), ("pcmu,opus", "vp9"), "codec lists kept")
t.eq((r.get("audio_active_packets"), r.get("audio_level_average")), (50, 40),
     "audio level settings listed when audiolevel_event is on")
t.eq((r.get("pin_required"), r.get("is_private"), r.get("max_publishers"),
      r.get("notify_joining"), r.get("require_pvtid")), (True, True, 2, True, True),
     "create options are listed")
t.ok(55 not in rooms(), "a private created room is not listed without the admin_key")

# ---- exists ----------------------------------------------------------------------------------
t.error(sync({"request": "exists"}), 429, "exists without room: 429")
t.error(sync({"request": "exists", "room": "55"}), 430, "exists with a string room: 430")
t.eq(sync({"request": "exists", "room": 56}),
     {"videoroom": "success", "room": 56, "exists": False}, "exists: an absent room")

# ---- edit ------------------------------------------------------------------------------------
t.error(sync({"request": "edit"}), 429, "edit without room: 429")
t.error(sync({"request": "edit", "room": 999}), 426, "edit an absent room: 426")
t.error(sync({"request": "edit", "room": 55}), 429, "edit without the secret: 429")
t.error(sync({"request": "edit", "room": 55, "secret": "bad"}), 433, "edit, wrong secret: 433")
t.error(sync({"request": "edit", "room": 55, "secret": "s", "new_bitrate": "x",
              "new_description": "changed?"}), 430, "edit, new_bitrate not an integer: 430")
t.eq(rooms({"request": "list", "admin_key": "adminkey"})[55]["description"], "Fifty-five",
     "a failed edit changes nothing")
d = sync({"request": "edit", "room": 55, "secret": "s", "new_description": "D", "new_pin": "",
          "new_is_private": False, "new_bitrate": 256000, "new_publishers": 4,
          "new_fir_freq": 3, "new_secret": "s2"})
t.eq(d, {"videoroom": "edited", "room": 55, "permanent": False}, "edit a room")
r = rooms().get(55, {})
t.eq((r.get("description"), r.get("pin_required"), r.get("bitrate"), r.get("max_publishers"),
      r.get("fir_freq")), ("D", False, 256000, 4, 3), "edited values are listed")
t.error(sync({"request": "edit", "room": 55, "secret": "s"}), 433, "the old secret is gone")

# ---- allowed ---------------------------------------------------------------------------------
S2 = {"room": 55, "secret": "s2"}


def allowed(**kw):
    return sync(dict({"request": "allowed"}, **dict(S2, **kw)))


t.error(sync({"request": "allowed", "room": 55, "secret": "s2"}), 429,
        "allowed without action: 429")
t.error(allowed(action="foo"), 430, "allowed with an unknown action: 430")
t.error(allowed(action="add", allowed="t"), 430, "allowed list not an array: 430")
t.error(allowed(action="add", allowed=[3]), 430, "allowed list with a number: 430")
t.error(sync({"request": "allowed", "room": 55, "action": "add"}), 429,
        "allowed without the secret: 429")
d = allowed(action="add", allowed=["t1", "t2", "t1"])
t.eq(sorted(d.get("allowed", [])), ["t1", "t2"], "allowed add (duplicates once)")
d = allowed(action="remove", allowed=["t1", "zz"])
t.eq(d.get("allowed"), ["t2"], "allowed remove")
t.eq(allowed(action="disable"), {"videoroom": "success", "room": 55}, "allowed disable")
d = allowed(action="enable")
t.eq(d.get("allowed"), ["t2"], "allowed enable keeps the list")

psid, ph = c.handle()
e = c.data(c.request(psid, ph, {"request": "join", "room": 55, "ptype": "publisher"}))
t.error(e, 433, "join without a token when the ACL is on: 433")
e = c.data(c.request(psid, ph, {"request": "join", "room": 55, "ptype": "publisher",
                                "token": "t1"}))
t.error(e, 433, "join with a removed token: 433")
e = c.data(c.request(psid, ph, {"request": "join", "room": 55, "ptype": "publisher",
                                "token": "t2", "display": "Pat", "id": 42}))
t.eq((e.get("videoroom"), e.get("id")), ("joined", 42), "join with an allowed token")

# ---- listparticipants, kick, moderate ---------------------------------------------------------
t.error(sync({"request": "listparticipants"}), 429, "listparticipants without room: 429")
t.error(sync({"request": "listparticipants", "room": 999}), 426,
        "listparticipants of an absent room: 426")
d = sync({"request": "listparticipants", "room": 55})
t.eq(d, {"videoroom": "participants", "room": 55,
         "participants": [{"id": 42, "display": "Pat", "publisher": False}]},
     "listparticipants")
t.eq(rooms()[55]["num_participants"], 1, "list counts participants")

t.error(sync({"request": "kick", "room": 55}), 429, "kick without the secret: 429")
t.error(sync({"request": "kick", "room": 55, "secret": "s2"}), 429, "kick without id: 429")
t.error(sync({"request": "kick", "room": 55, "secret": "s2", "id": "42"}), 430,
        "kick with a string id: 430")
t.error(sync({"request": "kick", "room": 55, "secret": "s2", "id": 43}), 428,
        "kick an absent participant: 428")
t.error(sync({"request": "kick", "room": 999, "secret": "s2", "id": 42}), 426,
        "kick in an absent room: 426")
t.error(sync({"request": "moderate", "room": 55, "secret": "s2", "id": 42}), 429,
        "moderate without mid: 429")
t.error(sync({"request": "moderate", "room": 55, "secret": "s2", "id": 42, "mid": "0"}), 429,
        "moderate without mute: 429")
t.error(sync({"request": "moderate", "room": 55, "secret": "s2", "id": 43, "mid": "0",
              "mute": True}), 428, "moderate an absent participant: 428")
t.error(sync({"request": "moderate", "room": 55, "secret": "s2", "id": 42, "mid": "0",
              "mute": True}), 428, "moderate a stream that is not published: 428")
t.error(sync({"request": "moderate", "room": 55, "secret": "x", "id": 42, "mid": "0",
              "mute": True}), 433, "moderate with a wrong secret: 433")

osid, oh = c.handle()
c.request(osid, oh, {"request": "join", "room": 55, "ptype": "publisher", "token": "t2",
                     "display": "Other"})
c.drain(psid)
t.eq(sync({"request": "kick", "room": 55, "secret": "s2", "id": 42}),
     {"videoroom": "success"}, "kick")
e = c.vr_event(psid, lambda d: d.get("leaving") == "ok")
t.eq(e and e.get("reason"), "kicked", "the kicked participant hears it")
e = c.vr_event(osid, lambda d: "kicked" in d)
t.eq(e and e.get("kicked"), 42, "the others hear about the kick")
t.eq([p["display"] for p in sync({"request": "listparticipants", "room": 55})["participants"]],
     ["Other"], "the kicked participant is gone")
e = c.data(c.request(psid, ph, {"request": "configure", "display": "back?"}))
t.error(e, 426, "a kicked participant's requests fail: 426")

# ---- destroy ---------------------------------------------------------------------------------
t.error(sync({"request": "destroy"}), 429, "destroy without room: 429")
t.error(sync({"request": "destroy", "room": 999}), 426, "destroy an absent room: 426")
t.error(sync({"request": "destroy", "room": 55}), 429, "destroy without the secret: 429")
t.error(sync({"request": "destroy", "room": 55, "secret": "s"}), 433,
        "destroy with a wrong secret: 433")
t.eq(sync({"request": "destroy", "room": 55, "secret": "s2"}),
     {"videoroom": "destroyed", "room": 55, "permanent": False}, "destroy")
e = c.vr_event(osid, lambda d: d.get("videoroom") == "destroyed")
t.eq(e, {"videoroom": "destroyed", "room": 55}, "participants hear the room is destroyed")
t.eq(sync({"request": "exists", "room": 55})["exists"], False, "the room is gone")
t.error(c.data(c.request(osid, oh, {"request": "configure", "display": "x"})), 426,
        "requests in a destroyed room fail: 426")
t.eq(sync({"request": "destroy", "room": 1234, "secret": "adminpwd"})["videoroom"],
     "destroyed", "destroy a predefined room")
t.eq(sync({"request": "destroy", "room": auto})["videoroom"], "destroyed",
     "destroy a room without secret")

t.done()
