"""What the three-page Chromium driver (js/three_pages.mjs) measured, judged: every page
decodes every other one's video with the right box colour, the third one's going is heard
and handled by the two others, and they keep decoding each other. Shared by
test_three_chromium.py (one node) and test_cluster_chromium.py (three nodes)."""
import json

MIN_FPS = 5.0


def colour_name(rgb, people):
    if not rgb:
        return None
    return min(people, key=lambda p: sum((a - b) ** 2 for a, b in zip(p["rgb"], rgb)))["name"]


def check_decoding(t, tag, pairs, people, expect_pairs):
    t.eq(len(pairs), expect_pairs, "%s: %d (viewer, remote feed) pairs measured"
         % (tag, expect_pairs))
    for p in pairs:
        viewer = people[p["page"]]["name"]
        want = people[p["publisher"]]["name"]
        v = p.get("video") or {}
        t.ok(p["fps"] >= MIN_FPS and p["decoded"] >= 10,
             "%s: %s decodes %s (%.1f fps, %s frames, %sx%s)"
             % (tag, viewer, want, p["fps"], p["decoded"], v.get("width"), v.get("height")),
             json.dumps(p))
        got = colour_name(p["colour"], people)
        t.ok(got == want and p["display"] == want,
             "%s: %s sees %s's box colour on %s's tile (rgb %s)"
             % (tag, viewer, got, p["display"], p["colour"]), json.dumps(p))


def check_round(t, spec, r):
    tag = spec["name"] + "/" + spec["mode"]
    if not t.ok("error" not in r, "%s: the round ran" % tag, r.get("error")):
        return
    people, ids = r["people"], r["ids"]
    t.note("%s: feeds %s; published after %.1f s, all decoding after %.1f s, leave seen "
           "after %.1f s, round %.1f s" % (tag, ids, r["t"]["published"] / 1000.0,
                                           r["t"]["allDecoding"] / 1000.0,
                                           r["t"]["leaveSeen"] / 1000.0, r["t"]["total"] / 1000.0))
    t.eq(len(set(ids)), 3, "%s: three distinct feed ids" % tag)
    check_decoding(t, tag, r["before"], people, 6)
    parts = sorted((p["id"], p.get("display"), p.get("publisher"))
                   for p in r["participantsBefore"])
    t.eq(parts, sorted((ids[i], people[i]["name"], True) for i in range(3)),
         "%s: listparticipants: three publishers" % tag)
    # every subscription went the expected way
    for i in range(3):
        subs = r["statesBefore"][i]["subs"]
        if spec["mode"] == "perfeed":
            t.eq(sorted(s["feed"] for s in subs), sorted(ids[j] for j in range(3) if j != i),
                 "%s: %s has one subscriber handle per remote feed" % (tag, people[i]["name"]))
        else:
            ok = len(subs) == 1 and sorted({s["feed"] for s in subs[0]["streams"]
                                            if s["type"] == "video" and s["active"]}) \
                == sorted(ids[j] for j in range(3) if j != i)
            t.ok(ok, "%s: %s has one multistream handle with both remote videos (%s)"
                 % (tag, people[i]["name"], ", ".join(e.get("videoroom", "?") for e in
                                                      subs[0]["events"]) if subs else "-"),
                 json.dumps(subs)[:3000])

    # the third one leaves
    gone = ids[2]
    if spec["leave"] == "leave":
        t.eq(r.get("leaveReply"), {"videoroom": "event", "room": spec["room"], "leaving": "ok"},
             "%s: Blue's leave is answered 'leaving': 'ok'" % tag)
    for i in range(2):
        st = r["statesAfter"][i]
        name = people[i]["name"]
        f = st["feeds"].get(str(gone)) or {}
        how = sorted((f.get("gone") or {}).keys())
        t.ok("leaving" in how or "unpublished" in how,
             "%s: %s hears Blue go (%s)" % (tag, name, ", ".join(how) or "nothing"),
             json.dumps(st["log"][-20:]))
        t.ok(not f.get("tile"), "%s: %s removed Blue's tile" % (tag, name))
        if spec["mode"] == "perfeed":
            sub = [s for s in st["subs"] if s["feed"] == gone]
            upd = [e for s in sub for e in s["events"] if e.get("videoroom") == "updated"]
            t.ok(sub and upd and all(not m[3] for m in upd[-1]["streams"]) and upd[-1]["jsep"],
                 "%s: %s's subscriber handle to Blue gets 'updated' with an offer where its "
                 "m-lines are inactive" % (tag, name), json.dumps(sub)[:3000])
            t.ok(sub and sub[0]["detached"], "%s: %s detaches it" % (tag, name))
        else:
            sub = st["subs"][0] if st["subs"] else {"events": [], "streams": []}
            upd = [e for e in sub["events"] if e.get("videoroom") == "updated"
                   and e["t"] >= r["tLeave"]]
            active = sorted({s["feed"] for s in sub["streams"] if s["active"]})
            other = ids[1 - i]
            t.ok(upd and upd[-1]["jsep"] and active == [other],
                 "%s: %s's multistream handle gets 'updated': only %s's streams stay active"
                 % (tag, name, people[1 - i]["name"]),
                 json.dumps({"active": active, "events": sub["events"]})[:3000])
            ended = [e for e in sub["trackEvents"] if not e["on"] and e["t"] >= r["tLeave"]]
            t.ok(len(ended) >= 1, "%s: %s's janus.js reports Blue's remote track(s) gone (%d)"
                 % (tag, name, len(ended)))
        seen = [(e["t"], e["what"]) for e in st["log"] if e["t"] >= r["tLeave"]]
        seen += [(e["t"], "subscriber 'updated'") for s in st["subs"] for e in s["events"]
                 if e.get("videoroom") == "updated" and e["t"] >= r["tLeave"]]
        t.note("%s: %s: leave -> %s" % (tag, name, ", ".join(
            "%s +%d ms" % (w, when - r["tLeave"])
            for when, w in sorted(seen, key=lambda x: x[0]))))
    check_decoding(t, tag + " after the leave", r["afterLeave"], people, 2)
    parts = sorted((p["id"], p.get("display")) for p in r["participantsAfter"])
    t.eq(parts, sorted((ids[i], people[i]["name"]) for i in range(2)),
         "%s: listparticipants after the leave: Red and Green" % tag)


