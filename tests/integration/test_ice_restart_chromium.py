"""ICE restart with headless Chromium and Debian's janus.js, on a real address change: the
page runs in a client namespace joined to the server's by two veth pairs (lib/restartlab.py:
signaling over one, UDP only over the other), and the client's media address moves
(198.18.1.2 -> .3 -> .4: the old one deleted, so the old path is dead) in the middle of calls.

  echo        EchoTest call up on 198.18.1.2 (janus.js, trickle).
  control     the address moves and nothing else happens: for 4 s no frame decodes, the
              old address no longer answers, Chromium does not find the new path itself
              (so a pass of `restart` below is the restart's doing).
  restart     janus.js createOffer({iceRestart: true}) sent with the EchoTest message: the
              answer has new ice-ufrag and ice-pwd, the same PeerConnection and handle go
              on, frames decode again within 2 s of the offer on a pair whose local address
              is the new one, no hangup, no second webrtcup (the server says "ICE restart:
              new local credentials" and "ICE restart done, new pair selected"); the server
              sent a PLI (RTCP PSFB FMT 1, seen on the wire) to the new address right after
              its new pair; and the answer keeps the server's SSRCs.
  bad offers  re-offers whose ICE credentials differ from the current ones in the ice-pwd
              only, or in the ice-ufrag only (not applied in the browser): error 465 with
              the reason, and the call goes on unchanged (same pair, frames grow, no new
              local credentials in the server log).
  again       a second move (.3 -> .4) and restart after the refused offers: frames again.
              (Each restart comes at least 2.5 s after its move: Chromium notices a new
              local address only about 2 s after it appears, bench/ice_restart.py.)
  videoroom   an aiortc publisher (on 127.0.0.1, in the server's namespace) and a Chromium
              subscriber in the client namespace; the address moves (frames stop), then
              configure {restart: true}: "configured": "ok" with a new offer (new ice-ufrag
              and ice-pwd); janus.js answers it, start: the same PeerConnection decodes again
              on the new address within 2 s, and a PLI went to the publisher (on the wire)
              when the subscriber's new pair came up. Then one more restart where an answer
              keeping the old credentials is sent first: refused with the reason, and the
              real answer after it is taken.

The server's media veth and loopback are captured (lib/udpsniff.py) for the PLI checks.

usage: test_ice_restart_chromium.py <builddir>
"""
import asyncio
import json
import os
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "videoroom", "lib"))
import netns  # noqa: E402
import restartlab  # noqa: E402
from sbtest import Tap, builddir_from_argv, check, check_eq  # noqa: E402
from turnlab import create_room  # noqa: E402
from udpsniff import Sniffer  # noqa: E402

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))
SLOW = 2.0 if SANITIZED else 1.0
RECOVER_S = 2.0 * SLOW  # offer sent -> a frame decoded on the new path
CONTROL_S = 4.0  # how long the control watches a dead path
# Chromium sees a new local address about 2 s after it appears (its network list): a
# restart sooner gathers nothing there and measures that, not the server. Wait this long.
SETTLE_S = 2.5
ROOM = 4321


class Skip(Exception):
    """An earlier step failed: this one cannot run."""


class case:  # noqa: N801 - used as tap.case is
    """tap.case(name), where a Skip fails the case with its reason (no traceback)."""

    def __init__(self, tap, name):
        self.tap, self.name, self.inner = tap, name, tap.case(name)

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        if etype is Skip:
            self.tap.result(self.name, False, "not run: %s" % value)
            return True
        return self.inner.__exit__(etype, value, tb)


def timeline_note(tap, name, r):
    tl = r.get("timeline") or {}
    tap.note("%s: offer->answer %s ms; first on the new path (ms after the offer): pair %s, "
             "audio in %s, video sent %s, video in %s, keyframe decoded %s, frame decoded %s"
             % (name, r.get("answerMs", r.get("configureMs")), tl.get("pair"), tl.get("audio"),
                tl.get("vSent"), tl.get("pkts"), tl.get("keyframe"), tl.get("frame")))


def creds_changed(old, new, what):
    check(new and new.get("ufrag") and new.get("pwd"), "%s: credentials %r" % (what, new))
    check(new["ufrag"] != old["ufrag"] and new["pwd"] != old["pwd"],
          "%s: ufrag and pwd both new: %r -> %r" % (what, old, new))


def log_count(lab, text):
    return lab.log().count(text)


def ssrc_lines(sdp):
    return sorted(int(x) for x in re.findall(r"^a=ssrc:(\d+) cname:", sdp or "", re.M))


def plis_to(sniffer, addr, t_from, t_to):
    """RTCP whose first packet is a PLI (PSFB 206, FMT 1) sent by the server to addr."""
    return [p for p in sniffer.snapshot()
            if p.out and p.kind == "rtcp" and p.detail["pt"] == 206 and p.detail["fmt"] == 1
            and p.dst[0] == addr and t_from <= p.t <= t_to]


def first_out_to(sniffer, addr, t_from):
    got = [p for p in sniffer.snapshot() if p.out and p.dst[0] == addr and p.t >= t_from]
    return got[0] if got else None


def watch(page, ms, which="echo"):
    """(frames decoded over the window counted per receive stream, last sample)."""
    w = page.call("sbWatch", {"which": which, "ms": ms, "everyMs": 250, "full": True},
                  timeout=ms / 1000.0 + 30)
    first, last = w["samples"][0], w["samples"][-1]
    grown = 0
    for v in last["vin"]:
        b = [x for x in first["vin"] if x["id"] == v["id"]]
        grown += v["fd"] - b[0]["fd"] if b and v["fd"] >= b[0]["fd"] else v["fd"]
    return grown, last


def move(tap, lab):
    old, new = lab.move_media()
    check_eq(lab.client_addresses(), [new], "client media addresses after the move")
    tap.note("client media address %s -> %s" % (old, new))
    return old, new


class AioThread:
    """An asyncio loop in a thread, for the aiortc publisher."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def echo_part(tap, lab, page, sniffer):
    st = {}
    with case(tap, "echo: janus.js EchoTest call up over the media veth, decoding"):
        r = page.call("sbEchoStart", {"server": lab.api, "upTimeoutMs": int(20000 * SLOW)},
                      timeout=60 * SLOW)
        tap.note("echo: webrtcup %d ms, frames decoding %d ms after the offer; pair %s -> %s"
                 % (r["joinMs"], r["firstFramesMs"], r["sample"]["local"],
                    r["sample"]["remote"]))
        check((r["sample"]["local"] or "").startswith(lab.client_media + ":"),
              "selected pair's local address %r is on the media veth" % r["sample"]["local"])
        st["start"] = r
        grown, _ = watch(page, 1000)
        check(grown > 5, "frames keep decoding (+%d in 1 s)" % grown)

    with case(tap, "control: after the address moves, without a restart no frame decodes "
                  "for %.0f s and the old address is gone" % CONTROL_S):
        if "start" not in st:
            raise Skip("no call")
        old, new = move(tap, lab)
        st["moved"] = True
        check(not netns.ping(netns.own(), old, timeout=1.0), "old address %s still answers"
              % old)
        check(netns.ping(netns.own(), new, timeout=2.0), "new address %s does not answer"
              % new)
        time.sleep(0.5)  # what was in flight and in the jitter buffer
        grown, last = watch(page, int(CONTROL_S * 1000))
        tap.note("control: +%d frames in %.0f s; Chromium's pair %s, ICE %s"
                 % (grown, CONTROL_S, last["local"], last["iceState"]))
        check_eq(grown, 0, "frames decoded on a dead path without a restart")
        check(not (last["local"] or "").startswith(new + ":"),
              "Chromium found the new path by itself: %r" % last["local"])

    restart = None
    with case(tap, "restart: janus.js iceRestart offer -> answer with new server credentials; "
                  "frames decode on the new address within %.0f s; same PeerConnection and "
                  "handle, no hangup, no second webrtcup" % RECOVER_S):
        if not st.get("moved"):
            raise Skip("no call or no move")
        n_new = log_count(lab, "ICE restart: new local credentials")
        n_done = log_count(lab, "ICE restart done, new pair selected")
        n_up = log_count(lab, "WebRTC up")
        r = page.call("sbEchoRestart", {"expectLocal": lab.client_media,
                                        "waitMs": int(10000 * SLOW), "tailMs": 500},
                      timeout=40 * SLOW)
        restart = r
        timeline_note(tap, "restart", r)
        check(r.get("timeline"), "no answer to the restart offer: %r" % r.get("error"))
        creds_changed(r["before"]["local"], r["offerCreds"], "janus.js offer")
        creds_changed(r["before"]["remote"], r["answerCreds"], "server answer")
        check_eq(r["pcTag"], r["before"]["pcTag"], "PeerConnection")
        check_eq(r["summary"]["handleId"], st["start"]["summary"]["handleId"], "handle id")
        tl = r["timeline"]
        check(tl["frame"] is not None, "no frame decoded on %s within %.0f s: %s"
              % (lab.client_media, 10 * SLOW, json.dumps(tl["last"])))
        check(tl["frame"] <= RECOVER_S * 1000, "first frame on the new path %d ms after the "
              "offer, want <= %d" % (tl["frame"], RECOVER_S * 1000))
        check_eq(r["summary"]["hangups"], [], "hangups")
        check_eq(r["webrtcups"], 1, "webrtcup callbacks (DTLS is kept: no new webrtcup)")
        grown, last = watch(page, 2000)
        check(grown >= 10, "frames keep decoding after the restart (+%d in 2 s)" % grown)
        check(last["local"].startswith(lab.client_media + ":"), "pair %r" % last["local"])
        logged = lambda: (log_count(lab, "ICE restart: new local credentials") - n_new,  # noqa
                          log_count(lab, "ICE restart done, new pair selected") - n_done)
        check_eq(logged(), (1, 1), "server log: 'new local credentials', 'restart done'")
        check_eq(log_count(lab, "WebRTC up") - n_up, 0, "new 'WebRTC up' lines")
        st["restarted"] = True

    with case(tap, "restart: the server sent a PLI to the client's new address right after "
                  "its new pair"):
        if restart is None or not restart.get("timeline"):
            raise Skip("no restart")
        w0 = restart["wall0"] / 1000.0
        first = first_out_to(sniffer, lab.client_media, w0)
        check(first is not None, "the server sent nothing to %s" % lab.client_media)
        plis = plis_to(sniffer, lab.client_media, w0, w0 + RECOVER_S)
        check(plis, "no PLI to %s within %.0f s of the offer" % (lab.client_media, RECOVER_S))
        tap.note("restart: first packet to the new address %.0f ms after the offer (%s), "
                 "first PLI %.0f ms" % ((first.t - w0) * 1000, first.kind,
                                        (plis[0].t - w0) * 1000))

    with case(tap, "restart: the answer keeps the server's SSRCs (the client's decoder and "
                  "its stats go on)"):
        if restart is None or not restart.get("timeline"):
            raise Skip("no restart")
        sdp = page.call("sbSdp", {"which": "echo"})
        before, after = ssrc_lines(sdp["first"]), ssrc_lines(sdp["remote"])
        tap.note("server SSRCs: first answer %s, restart answer %s" % (before, after))
        check_eq(after, before, "a=ssrc of the restart answer vs the first answer")

    for change in ("pwd", "ufrag"):
        with case(tap, "bad offer: a re-offer with a new ice-%s only gets error 465, the call "
                      "goes on unchanged" % change):
            if not st.get("restarted"):
                raise Skip("no restarted call")
            n_new = log_count(lab, "ICE restart: new local credentials")
            before = page.call("sbStats", {"which": "echo"})
            r = page.call("sbEchoBadOffer", {"change": change, "waitMs": int(10000 * SLOW)},
                          timeout=30 * SLOW)
            tap.note("bad offer (%s): reply %s after %s ms" % (change, json.dumps(r["reply"]),
                                                              r["replyMs"]))
            check(r["sendError"] is None, "send: %s" % r["sendError"])
            check_eq(r["sent"]["ufrag"] != r["current"]["ufrag"], change == "ufrag",
                     "sent a new ufrag")
            check_eq(r["sent"]["pwd"] != r["current"]["pwd"], change == "pwd", "sent a new pwd")
            check(not r["answered"], "the server answered it: %r" % r["reply"])
            check_eq(r["reply"].get("error_code"), 465, "error_code in %r" % r["reply"])
            check("ice-ufrag and ice-pwd" in r["reply"].get("error", ""),
                  "reason %r" % r["reply"].get("error"))
            grown, last = watch(page, 2000)
            check(grown >= 10, "frames keep decoding (+%d in 2 s)" % grown)
            check_eq(last["local"], before["sample"]["local"], "selected pair's local side")
            check_eq(last["remote"], before["sample"]["remote"], "selected pair's remote side")
            after = page.call("sbStats", {"which": "echo"})
            check_eq(after["summary"]["hangups"], [], "hangups")
            check_eq(log_count(lab, "ICE restart: new local credentials") - n_new, 0,
                     "new local credentials in the server log")

    with case(tap, "again: a second address move and restart after the refused offers"):
        if not st.get("restarted"):
            raise Skip("no restarted call")
        move(tap, lab)
        time.sleep(SETTLE_S)
        r = page.call("sbEchoRestart", {"expectLocal": lab.client_media,
                                        "waitMs": int(10000 * SLOW)}, timeout=40 * SLOW)
        timeline_note(tap, "again", r)
        tl = r.get("timeline") or {}
        check(tl.get("frame") is not None and tl["frame"] <= RECOVER_S * 1000,
              "first frame on the new path: %r (reply %r)" % (tl.get("frame"),
                                                               r.get("error") or r.get("reply")))
        check_eq(r["pcTag"], r["before"]["pcTag"], "PeerConnection")
        check_eq(r["summary"]["hangups"], [], "hangups")

    left = page.call("sbLeave", {}, timeout=20)
    tap.note("echo handle at the end: %s" % json.dumps(left.get("echo")))


def videoroom_part(tap, lab, page, sniffer, sniffer_lo):
    import vrlib
    import vrmedia
    aio = AioThread()
    pub = None
    st = {}
    try:
        with case(tap, "videoroom: Chromium subscriber of an aiortc publisher decodes"):
            create_room(restartlab.PORT, ROOM, description="ICE restart")

            async def publish():
                p = vrmedia.Publisher(vrlib.Client("http://127.0.0.1:%d/janus"
                                                   % restartlab.PORT), ROOM, "pub", "red",
                                      audio=False)
                await p.join_and_publish()
                return p
            pub = aio.run(publish(), timeout=60 * SLOW)
            r = page.call("sbSubStart", {"server": lab.api, "room": ROOM, "feed": pub.id,
                                         "upTimeoutMs": int(20000 * SLOW)}, timeout=60 * SLOW)
            tap.note("videoroom: subscriber up %d ms after join; pair %s"
                     % (r["joinMs"], r["sample"]["local"]))
            check((r["sample"]["local"] or "").startswith(lab.client_media + ":"),
                  "subscriber pair %r" % r["sample"]["local"])
            st["sub"] = r

        with case(tap, "videoroom: the subscriber's address moves: frames stop"):
            if "sub" not in st:
                raise Skip("no subscriber")
            move(tap, lab)
            time.sleep(0.5)
            grown, _ = watch(page, int((SETTLE_S - 0.5) * 1000), "sub")
            check_eq(grown, 0, "frames on the dead path")
            st["moved"] = True

        r = None
        with case(tap, "videoroom: configure {restart: true} -> configured ok with a new "
                  "offer (new ice-ufrag and ice-pwd)"):
            if not st.get("moved"):
                raise Skip("no subscriber")
            n_new = log_count(lab, "ICE restart: new local credentials")
            r = page.call("sbSubRestart", {"expectLocal": lab.client_media,
                                           "waitMs": int(10000 * SLOW)}, timeout=60 * SLOW)
            tap.note("videoroom: configure reply %s after %s ms" % (json.dumps(r["reply"]),
                                                                   r["configureMs"]))
            check_eq(r["reply"].get("configured"), "ok", "reply %r" % r["reply"])
            creds_changed(r["before"]["remote"], r["offerCreds"], "server offer")
            check_eq(log_count(lab, "ICE restart: new local credentials") - n_new, 1,
                     "'new local credentials' in the server log")
            st["offered"] = True

        with case(tap, "videoroom: the answer (janus.js createAnswer) with start: the same "
                  "PeerConnection decodes on the new address within %.0f s; the publisher "
                  "was asked for a keyframe" % RECOVER_S):
            if not st.get("offered"):
                raise Skip("no restart offer")
            timeline_note(tap, "videoroom", r)
            check_eq(r["startReply"].get("started"), "ok", "start reply %r" % r["startReply"])
            creds_changed(r["before"]["local"], r["answerCreds"], "janus.js answer")
            check_eq(r["pcTag"], r["before"]["pcTag"], "PeerConnection")
            tl = r["timeline"]
            check(tl["frame"] is not None and tl["frame"] <= RECOVER_S * 1000,
                  "first frame on the new path %r ms after configure" % tl["frame"])
            check_eq(r["summary"]["hangups"], [], "hangups")
            check_eq(r["webrtcups"], 1, "webrtcup callbacks")
            grown, _ = watch(page, 2000, "sub")
            check(grown >= 10, "frames keep decoding (+%d in 2 s)" % grown)
            # The server's media to the new address starts with its new pair: a PLI to the
            # publisher (on loopback) must go out about then.
            w0 = r["wall0"] / 1000.0
            rtp = [p for p in sniffer.snapshot() if p.out and p.kind == "rtp" and
                   p.dst[0] == lab.client_media and p.t >= w0]
            check(rtp, "no RTP to %s" % lab.client_media)
            t1 = rtp[0].t
            plis = [p for p in sniffer_lo.snapshot()
                    if p.out and p.kind == "rtcp" and p.detail["pt"] == 206
                    and p.detail["fmt"] == 1 and t1 - 0.5 <= p.t <= t1 + 0.5]
            tap.note("videoroom: first RTP to the new address %.0f ms after configure; PLIs "
                     "to the publisher around it at %s ms" % (
                         (t1 - w0) * 1000, [round((p.t - w0) * 1000) for p in plis]))
            check(plis, "no PLI to the publisher within 0.5 s of the subscriber's new pair")
            st["restarted"] = True

        with case(tap, "videoroom: another restart: an answer keeping the old credentials "
                  "is refused, the real one after it is taken and frames go on"):
            if not st.get("restarted"):
                raise Skip("no restarted subscriber")
            r = page.call("sbSubRestart", {"expectLocal": lab.client_media, "staleAnswer": True,
                                           "waitMs": int(10000 * SLOW)}, timeout=60 * SLOW)
            stale = r.get("stale") or {}
            tap.note("videoroom: stale answer reply %s; real answer reply %s"
                     % (json.dumps(stale.get("reply")), json.dumps(r.get("startReply"))))
            check_eq(r["reply"].get("configured"), "ok", "configure reply %r" % r["reply"])
            check_eq(stale.get("sent"), r["before"]["local"], "stale answer's credentials")
            check(stale.get("reply", {}).get("error_code"), "stale answer accepted: %r"
                  % stale.get("reply"))
            check("new ice-ufrag and ice-pwd" in stale["reply"].get("error", ""),
                  "reason %r" % stale["reply"].get("error"))
            check_eq(r["startReply"].get("started"), "ok",
                     "reply to the real answer after the stale one")
            tl = r["timeline"]
            check(tl["frame"] is not None and tl["frame"] <= RECOVER_S * 1000,
                  "first frame %r ms after configure" % tl["frame"])
            check_eq(r["summary"]["hangups"], [], "hangups")
    finally:
        try:
            page.call("sbLeave", {}, timeout=20)
        except Exception:  # noqa: BLE001 - the page may be gone
            pass
        if pub is not None:
            try:
                aio.run(pub.close(), timeout=20)
            except Exception:  # noqa: BLE001
                pass
        aio.stop()


def main():
    tap = Tap("ice-restart-chromium")
    why = restartlab.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    lab = restartlab.RestartLab(builddir_from_argv())
    sniffers = []
    page = None
    try:
        sniffer = Sniffer(lab.media.name_b)
        sniffer_lo = Sniffer("lo")
        sniffers = [sniffer, sniffer_lo]
        for s in sniffers:
            s.start()
        page = lab.open_page()
        tap.note("Chromium %s; page %s" % (page.browser_version, lab.origin))
        echo_part(tap, lab, page, sniffer)
        videoroom_part(tap, lab, page, sniffer, sniffer_lo)
    finally:
        for s in sniffers:
            s.stop()
        if page is not None:
            for line in page.logs()[-15:]:
                if ("error" in line or "warn" in line) and "404 (Not Found)" not in line:
                    tap.note("page: " + line)
        lab.close_pages()
        problems = lab.stop_server()
        tap.result("server stopped cleanly, no sanitizer report", not problems,
                   "\n".join(problems))
        lab.close()
    tap.exit()


if __name__ == "__main__":
    main()
