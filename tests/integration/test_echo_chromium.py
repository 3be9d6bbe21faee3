"""EchoTest media end to end with headless Chromium and Debian's janus.js: the page (served
by the daemon with --html-folder) publishes the fake camera and microphone to
janus.plugin.echotest and reads getStats(): the echoed video must decode (framesDecoded
grows), echoed audio packets must arrive, webrtcup and the media events must come.
janus.js trickles its candidates (the offer carries none), so this is also the natural
trickle test. Over HTTP long-poll and over WebSocket; once more with the server as the DTLS
server (the offer we send says a=setup:active), where the server picks the SRTP profile.
The SRTP profile and DTLS role of each call are printed."""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import sbchromium  # noqa: E402
from sbtest import HTTP_PORT, WS_PORT, Server, Tap, builddir_from_argv, check, \
    stop_and_report  # noqa: E402

MEDIA_MS = 5000


def delta(call, kind, key):
    s = call["samples"]
    first = s[0]["inbound"].get(kind, {}).get(key, 0)
    return s[-1]["inbound"].get(kind, {}).get(key, 0) - first


def check_call(tap, server, out, name, profiles_before):
    check(not out.get("error"), "page failed: %s\nlogs: %s" % (out.get("error"),
                                                                "\n".join(out.get("logs", []))))
    call = out["result"]["calls"][0]
    tr = call["samples"][-1]["transport"] or {}
    profiles = sbchromium.webrtcup_profiles(server.log_path)[profiles_before:]
    vin = sbchromium.last(call, "video")
    ain = sbchromium.last(call, "audio")
    vout = sbchromium.last(call, "video", "outbound")
    rin = call["samples"][-1]["remoteInbound"].get("video", {})
    tap.note("%s: offer->answer %.0f ms, offer->webrtcup %.0f ms, offer->first frame %s ms"
             % (name, call["answerMs"], call["joinMs"],
                "%.0f" % call["firstFrameMs"] if call["firstFrameMs"] else "never"))
    tap.note("%s: server log SRTP profile %s; Chromium srtpCipher %s, dtlsCipher %s, "
             "Chromium DTLS role %s (server is %s), tls version %s"
             % (name, profiles, tr.get("srtpCipher"), tr.get("dtlsCipher"), tr.get("dtlsRole"),
                {"client": "server", "server": "client"}.get(tr.get("dtlsRole"), "?"),
                tr.get("tlsVersion")))
    tap.note("%s: video in %s/%s decoded %s (%sx%s, %s), keyframes %s, nack %s pli %s; "
             "audio in %s pkts; video out nack %s pli %s fir %s rtx %s; rtt (RR) %s s"
             % (name, vin.get("packetsReceived"), vin.get("packetsLost"),
                vin.get("framesDecoded"), vin.get("frameWidth"), vin.get("frameHeight"),
                vin.get("codec"), vin.get("keyFramesDecoded"), vin.get("nackCount"),
                vin.get("pliCount"), ain.get("packetsReceived"), vout.get("nackCount"),
                vout.get("pliCount"), vout.get("firCount"), vout.get("retransmittedPacketsSent"),
                rin.get("roundTripTime")))
    check(call["webrtcup"], "webrtcup received")
    check(call["firstFrameMs"] is not None and call["firstFrameMs"] < 5000,
          "first echoed frame decoded within 5 s of the offer: %r" % call["firstFrameMs"])
    fd, ap = delta(call, "video", "framesDecoded"), delta(call, "audio", "packetsReceived")
    secs = (call["samples"][-1]["t"] - call["samples"][0]["t"]) / 1000.0
    tap.note("%s: over %.1f s: +%d video frames decoded, +%d audio packets received"
             % (name, secs, fd, ap))
    check(fd >= 5 * secs, "video framesDecoded grows (+%d in %.1f s)" % (fd, secs))
    check(ap >= 25 * secs, "audio packetsReceived grows (+%d in %.1f s)" % (ap, secs))
    media_on = {e["media"] for e in call["events"] if "media" in e and e["on"]}
    check(media_on >= {"audio", "video"}, "media receiving events for audio and video: %r"
          % call["events"])
    check(len(profiles) == 1, "one 'WebRTC up' in the server log: %r" % profiles)
    check(tr.get("dtlsState") == "connected", "Chromium DTLS connected: %r" % tr)
    return call, profiles[0], tr


def check_trickle(tap, out, name):
    call = out["result"]["calls"][0]
    wire = out["wire"]
    cands = [w for w in wire if w["janus"] == "trickle" and "candidate" in w]
    done = [w for w in wire if w["janus"] == "trickle" and w.get("completed")]
    offer = [i for i, w in enumerate(wire) if w.get("jsep") == "offer"]
    tap.note("%s: offer had %d candidates; %d trickled (%d before the offer), completed %s"
             % (name, call["offerCandidates"], len(cands),
                len([w for w in wire[:offer[0]] if w in cands]) if offer else -1, bool(done)))
    check(call["offerCandidates"] == 0, "janus.js sent its offer without candidates")
    check(cands, "candidates were trickled")
    check(done, "end of candidates was trickled")


DIRECT = re.compile(r"read directly: (\d+) datagrams in (\d+) reads, (\d+) checks answered, "
                    r"consent (\d+) sent (\d+) answered, dropped: (\d+) from elsewhere, "
                    r"(\d+) stun, (\d+) too long")


def check_direct_reads(tap, server, calls):
    """The closing lines of src/peer/ice_fast.c, once every call has ended."""
    deadline = time.time() + 10
    while True:
        with open(server.log_path) as f:
            lines = [tuple(int(x) for x in m.groups()) for m in DIRECT.finditer(f.read())]
        if len(lines) >= calls or time.time() > deadline:
            break
        time.sleep(0.2)
    for n, reads, answered, sent, acked, foreign, stun, long_ in lines:
        tap.note("read directly: %d datagrams in %d reads; %d of Chromium's checks answered; "
                 "our consent checks %d sent, %d answered" % (n, reads, answered, sent, acked))
    check(len(lines) >= calls, "a closing line per call: %d of %d" % (len(lines), calls))
    for n, reads, answered, sent, acked, foreign, stun, long_ in lines:
        check(n > 0 and 0 < reads <= n, "datagrams read: %d in %d reads" % (n, reads))
        check(answered >= 1, "Chromium's checks on the selected pair answered: %d" % answered)
        check(sent >= 1 and acked >= 1, "our consent checks answered: %d of %d" % (acked, sent))
        check(foreign == stun == long_ == 0, "nothing dropped: %d, %d, %d" % (foreign, stun, long_))


def main():
    tap = Tap("echo-chromium")
    why = sbchromium.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    html = sbchromium.make_html_folder()
    server = Server(builddir_from_argv(), html_folder=html, name="echo-chromium")
    seen = {}
    try:
        api = {"http": "http://127.0.0.1:%d/janus" % HTTP_PORT,
               "websocket": "ws://127.0.0.1:%d" % WS_PORT}
        for name, cfg in (("http", {"server": api["http"]}),
                          ("websocket", {"server": api["websocket"]}),
                          ("http, server as DTLS server", {"server": api["http"],
                                                           "setupActive": True}),
                          ("http, server as DTLS client", {"server": api["http"],
                                                           "setupPassive": True})):
            cfg.update({"mediaMs": MEDIA_MS, "sampleMs": 1000})
            before = len(sbchromium.webrtcup_profiles(server.log_path))
            out = sbchromium.run_echo(HTTP_PORT, cfg, timeout_s=60)
            with tap.case("%s: echoed video decodes, audio arrives, webrtcup" % name):
                call, profile, tr = check_call(tap, server, out, name, before)
                seen[name] = (profile, tr)
            if name in ("http", "websocket"):
                with tap.case("%s: janus.js trickled its candidates" % name):
                    check_trickle(tap, out, name)
        cap = 64000
        out = sbchromium.run_echo(HTTP_PORT, {"server": api["http"], "bitrate": cap,
                                              "mediaMs": 8000, "sampleMs": 1000}, timeout_s=60)
        with tap.case("echotest bitrate cap becomes REMB and Chromium follows it"):
            check(not out.get("error"), "page failed: %s" % out.get("error"))
            smp = out["result"]["calls"][0]["samples"]
            v0, v1 = smp[-5]["outbound"]["video"], smp[-1]["outbound"]["video"]
            bps = 8.0 * (v1["bytesSent"] - v0["bytesSent"]) / ((smp[-1]["t"] - smp[-5]["t"]) / 1000)
            tap.note("cap %d bps: Chromium targetBitrate %s, video sent %.0f bps over the last "
                     "4 s, %sx%s (%s)" % (cap, v1.get("targetBitrate"), bps, v1.get("frameWidth"),
                                          v1.get("frameHeight"), v1.get("qualityLimitationReason")))
            check(v1.get("targetBitrate", 1e9) <= cap, "targetBitrate under the cap")
            check(bps <= 1.3 * cap, "video bitrate near the cap: %.0f" % bps)
        with tap.case("DTLS roles and SRTP profiles as negotiated"):
            check(all(k in seen for k in ("http", "http, server as DTLS server",
                                          "http, server as DTLS client")), "every call succeeded")
            for name in ("http", "http, server as DTLS server"):
                prof, tr = seen[name]
                check(tr.get("dtlsRole") == "client", "%s: answering actpass (or active) the "
                      "server is the DTLS server: Chromium says %r" % (name, tr.get("dtlsRole")))
                check("GCM" in prof, "%s: as DTLS server we choose GCM from Chromium's list: "
                      "got %s" % (name, prof))
            prof, tr = seen["http, server as DTLS client"]
            check(tr.get("dtlsRole") == "server", "Chromium is the DTLS server: %r"
                  % tr.get("dtlsRole"))
        with tap.case("each call's selected pair was read by the server itself: Chromium's "
                      "checks answered, our consent checks answered, nothing dropped"):
            check_direct_reads(tap, server, 5)
    finally:
        stop_and_report(tap, server)
        shutil.rmtree(html, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
