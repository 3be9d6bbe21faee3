"""Data channels through the EchoTest with headless Chromium and Debian's janus.js (the
browser's SDP form: `UDP/DTLS/SCTP webrtc-datachannel` + a=sctp-port + a=max-message-size;
test_datachannel_aiortc.py covers the older DTLS/SCTP + a=sctpmap form).

web/datachannel.html attaches to janus.plugin.echotest with janus.js's data channel
("JanusDataChannel", through janus.js's ondataopen/ondata and handle.data()) and opens two
channels of its own on the same PeerConnection: a reliable one with its own label and
protocol, and an unordered one with maxRetransmits 0. Three calls: data only (janus.js
`tracks: [{type: 'data'}]`) and audio+video+data bundled on one transport, over HTTP
long-poll, and data only with janus.js's older `media: {data: true}` over WebSocket.

Each call: the answer's m=application is in the browser's form with a=max-message-size
262144, which Chromium takes (pc.sctp.maxMessageSize); janus.js's ondataopen fires for its
channel and ondata for each of its echoes. Text (UTF-8 of 1 to 4 bytes a character, a NUL from
100 B up) and binary messages of 1 B, 100 B, 1 KiB, 16 KiB and 64 KiB go out in a burst on
both reliable channels at once, and paced on the unordered one (maxRetransmits 0: a burst
beside the others would lose what a full UDP buffer drops on loopback); every echo comes back
on the channel it went out on (text behind the EchoTest prefix, binary as an ArrayBuffer, byte
for byte; ordered channels in order). dc.close() on one channel closes it both ways (Chromium
fires close only once the server has reset its side too) and leaves the others echoing; the
label opens again on a new channel, on the freed stream, and echoes. 200 KiB text and binary
echo on both reliable channels; 200 KiB binary on both at once, 3 times (the server
reassembles each stream's message on its own); in the first call a 1.2 MiB burst on both
(more than the server's SCTP send buffer: echoes wait their turn, none is lost). The server
never opens a channel of its own, and its log has no error or warning.

Figures printed: the SDP lines, offer->answer/webrtcup/open times, channel ids, each round's
echo time and rate, close and reopen times, the loopback UDP counters (RcvbufErrors: datagrams
a full socket buffer dropped, which SCTP retransmits), and the server's debug lines about
channels (streams opened by the client and closed). About 10 s (11 s with sanitizers)."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import sbchromium  # noqa: E402
from sbtest import HTTP_PORT, WS_PORT, Server, Tap, builddir_from_argv, check, check_eq, \
    stop_and_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = "datachannel.html"
MAX_MESSAGE = 262144
SIZES = [1, 100, 1024, 16384, 65536]
SMALL = [1, 1024]
BIG = [200 * 1024]
PAIR = [200 * 1024]  # binary, one on each reliable channel at once, PAIR_ROUNDS times
PAIR_ROUNDS = 3
# A burst of 3 x 200 KiB binary on both reliable channels at once (1.2 MiB): more than the
# server's SCTP send buffer (576 KiB) takes, so echoes wait in the 1 MiB held back
# (SB_PEER_DATA_PENDING_MAX). SB_DC_FLOOD=N changes the count (0: off).
FLOOD = [200 * 1024] * int(os.environ.get("SB_DC_FLOOD", "3"))
MIN_FRAMES, MIN_AUDIO = 20, 50  # echoed media beside the data (about 2 s of it)
ROUNDS = ("round1", "round1u", "round2", "round3", "round4", "round5", "round6")
SLOW = 3.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0


def run_page(cfg, timeout_s):
    """js/echo_media.mjs (the shared playwright driver) on our page: window.sbData(cfg)."""
    opts = {"url": "http://127.0.0.1:%d/%s" % (HTTP_PORT, PAGE), "cfg": cfg,
            "timeoutMs": int(timeout_s * 1000), "fn": "sbData"}
    proc = subprocess.run(["node", sbchromium.DRIVER, json.dumps(opts)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout_s + 60)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("echo_media.mjs exited %s without a result:\n%s\n%s" % (
            proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:]))
    return json.loads(lines[-1])


def check_round(rnd, what):
    """Every channel of one burst got every echo, right, on the channel it was sent on."""
    check(rnd is not None, "%s: not run" % what)
    for r in rnd["results"]:
        check(not r["bad"], "%s, channel %s: %d sent, %d echoes (%s); %s"
              % (what, r["label"], r["sent"], r["got"], r["summary"], "; ".join(r["bad"][:8])))
        check_eq(r["got"], r["sent"], "%s, channel %s: echoes" % (what, r["label"]))
        binary = [k for k in r["kinds"] if not k.startswith("text")]
        check(all(k.startswith("ArrayBuffer") for k in binary),
              "%s, channel %s: binary echoes arrive as ArrayBuffer: %r"
              % (what, r["label"], binary))


def as_list(rnd):
    return rnd if isinstance(rnd, list) else [rnd] if rnd else []


def rate(rnd):
    if not rnd:
        return "not run"
    return "%s, %d msgs, %.0f KiB out, last echo after %.0f ms (%.1f MiB/s)%s" % (
        rnd["mode"], sum(r["sent"] for r in rnd["results"]), rnd["bytes"] / 1024.0, rnd["ms"],
        rnd["bytes"] / 1048576.0 / max(rnd["ms"], 1) * 1000,
        ", %d lost and sent again" % rnd["resent"] if rnd["resent"] else "")


def check_call(tap, c, want_av):
    name = c["name"]
    with tap.case("%s: call up, the answer takes the browser's data m-line form" % name):
        check(not c.get("error"), "page failed: %s" % c.get("error"))
        tap.note("%s: offer %s %s" % (name, c["offerMLines"], c["offerData"]))
        tap.note("%s: answer %s %s %s" % (name, c["answerMLines"], c["answerData"],
                                           c["answerBundle"]))
        tap.note("%s: offer->answer %.0f ms, ->webrtcup %.0f ms, ->JanusDataChannel open %.0f "
                 "ms; own channels open in %.0f ms; pc.sctp %s" % (
                     name, c["answerMs"], c["webrtcupMs"], c["defaultOpenMs"], c["ownOpenMs"],
                     c["sctp"]))
        tap.note("%s: channels %s" % (name, [(x["label"], x["protocol"], x["id"], x["ordered"],
                                              x["maxRetransmits"], x["binaryType"])
                                             for x in c["channels"]]))
        data = [m for m in c["answerMLines"] if m.startswith("m=application")]
        check_eq(len(data), 1, "one data m-line in the answer")
        check(data[0].endswith(" UDP/DTLS/SCTP webrtc-datachannel"),
              "browser form answered: %r" % data[0])
        check("a=sctp-port:5000" in c["answerData"], "a=sctp-port: %r" % c["answerData"])
        check("a=max-message-size:%d" % MAX_MESSAGE in c["answerData"],
              "a=max-message-size: %r" % c["answerData"])
        check(not any(a.startswith("a=sctpmap") for a in c["answerData"]),
              "no a=sctpmap in the modern form: %r" % c["answerData"])
        kinds = [m.split()[0] for m in c["answerMLines"]]
        want = ["m=audio", "m=video", "m=application"] if want_av else ["m=application"]
        check_eq(kinds, want, "answer m-lines")
        check(all(m.split()[1] != "0" for m in c["answerMLines"]),
              "no m-line rejected (port 0): %r" % c["answerMLines"])
        if want_av:
            check(c["answerBundle"] and len(c["answerBundle"][0].split()) == 4,
                  "one BUNDLE group of three mids: %r" % c["answerBundle"])
            check_eq(c.get("transports"), 1, "one transport in getStats")
        check(c["sctp"] and c["sctp"]["maxMessageSize"] == MAX_MESSAGE,
              "Chromium reads max-message-size from the answer: pc.sctp %r" % c["sctp"])
        check_eq(c["sctp"]["state"], "connected", "pc.sctp.state")
    if c.get("error"):
        return
    with tap.case("%s: janus.js ondataopen for JanusDataChannel, ondata for its echoes" % name):
        opens = c["dataopen"]
        check(opens and opens[0]["label"] == "JanusDataChannel",
              "ondataopen(JanusDataChannel): %r" % opens)
        check_eq(len(opens), 1, "ondataopen calls (the server opens no channel of its own)")
        sent = sum(r["sent"] for rnd in ROUNDS[:-1] for one in as_list(c.get(rnd))
                   for r in one["results"] if r["label"] == "JanusDataChannel")
        check_eq(c["ondataCount"], {"JanusDataChannel": sent},
                 "ondata calls by label (before any flood)")
        check(not c["remoteOpened"], "channels the server opened: %r" % c["remoteOpened"])
        check(not c["stray"], "messages on no channel of ours or on a closed one: %r"
              % c["stray"])
        check(not c["errors"], "janus.js errors: %r" % c["errors"])
    with tap.case("%s: text and binary, 1 B to 64 KiB, bursts on JanusDataChannel and "
                  "sb-reliable at once: every echo on its own channel, byte for byte, in order"
                  % name):
        tap.note("%s: reliable bursts: %s" % (name, rate(c["round1"])))
        check_round(c["round1"], "burst 1")
    with tap.case("%s: text and binary, 1 B to 64 KiB, on the unordered maxRetransmits-0 "
                  "channel: every echo on it, byte for byte" % name):
        tap.note("%s: unordered channel: %s" % (name, rate(c["round1u"])))
        check_round(c["round1u"], "unordered")
    with tap.case("%s: dc.close() closes the channel both ways; the others still echo"
                  % name):
        tap.note("%s: close -> closed in %s ms; then: %s" % (
            name, "%.0f" % c["closeMs"] if c["closeMs"] is not None else "never",
            rate(c["round2"])))
        check_eq(c["closedState"], "closed", "the closed channel's readyState (Chromium "
                 "fires close once the server resets its side too)")
        check_round(c["round2"], "after the close")
    with tap.case("%s: the label opens again on a new channel, which echoes" % name):
        ro = c["reopened"]
        tap.note("%s: reopened %s on stream %s in %s ms; %s" % (
            name, ro["label"], ro["id"],
            "%.0f" % c["reopenMs"] if c["reopenMs"] is not None else "never", rate(c["round3"])))
        check_eq(ro["readyState"], "open", "the new channel's readyState")
        check_eq(ro["id"], c["channels"][1]["id"], "the new channel takes the closed one's "
                 "stream, free again once both sides reset it")
        check_eq(ro["protocol"], "sb-proto/1", "protocol")
        check_round(c["round3"], "on the reopened channel")
    with tap.case("%s: 200 KiB text and binary echo on both reliable channels "
                  "(a=max-message-size %d honoured)" % (name, MAX_MESSAGE)):
        tap.note("%s: 200 KiB: %s" % (name, rate(c.get("round4"))))
        check(not c["sendErrors"], "Chromium refused to send: %r" % c["sendErrors"])
        check_round(c.get("round4"), "200 KiB")
    with tap.case("%s: 200 KiB binary on both reliable channels at once, %d times: each "
                  "echo whole on its own channel" % (name, PAIR_ROUNDS)):
        rounds = as_list(c.get("round5"))
        for i, rnd in enumerate(rounds):
            tap.note("%s: pair %d: %s" % (name, i + 1, rate(rnd)))
        check_eq(len(rounds), PAIR_ROUNDS, "rounds run")
        for i, rnd in enumerate(rounds):
            check_round(rnd, "pair %d" % (i + 1))
    if c.get("round6"):
        with tap.case("%s: %d x 200 KiB binary on both reliable channels at once (%.1f MiB, "
                      "more than the server's SCTP send buffer): every echo arrives"
                      % (name, len(FLOOD), 2 * len(FLOOD) * 0.2)):
            tap.note("%s: flood: %s" % (name, rate(c["round6"])))
            check_round(c["round6"], "flood")
    with tap.case("%s: every channel still open at the end but the closed one" % name):
        check_eq(c["finalStates"], ["open", "closed", "open", "open"],
                 "JanusDataChannel, closed sb-reliable, sb-unreliable, reopened sb-reliable")
    if want_av:
        with tap.case("%s: echoed audio and video flow beside the data" % name):
            vin, ain = c["inbound"].get("video", {}), c["inbound"].get("audio", {})
            tap.note("%s: %.1f s after webrtcup: video frames decoded %s, audio packets %s" % (
                name, c["mediaMs"] / 1000.0, vin.get("framesDecoded"), ain.get("packetsReceived")))
            check((vin.get("framesDecoded") or 0) >= MIN_FRAMES, "video decodes: %r" % vin)
            check((ain.get("packetsReceived") or 0) >= MIN_AUDIO, "audio arrives: %r" % ain)


def udp_counters():
    """This namespace's UDP counters (/proc/net/snmp): datagrams dropped on a full buffer
    show as RcvbufErrors/SndbufErrors, and lost SCTP chunks then cost retransmissions."""
    with open("/proc/net/snmp") as fh:
        rows = [ln.split() for ln in fh if ln.startswith("Udp:")]
    return dict(zip(rows[0][1:], map(int, rows[1][1:])))


def server_lines(log_path):
    with open(log_path, errors="replace") as fh:
        log = fh.read().splitlines()
    bad = [ln for ln in log if re.match(r"^\S+ (error|warn) ", ln)]
    data = [ln for ln in log if "[data]" in ln]
    return bad, data


def main():
    tap = Tap("datachannel-chromium")
    why = sbchromium.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    html = sbchromium.make_html_folder()
    shutil.copy(os.path.join(HERE, "web", PAGE), html)
    server = Server(builddir_from_argv(), html_folder=html, name="datachannel-chromium",
                    args=["--log-level", "debug"])
    try:
        http = "http://127.0.0.1:%d/janus" % HTTP_PORT
        ws = "ws://127.0.0.1:%d" % WS_PORT
        common = {"sizes": SIZES, "smallSizes": SMALL, "bigSizes": BIG, "pairSizes": PAIR,
                  "pairRounds": PAIR_ROUNDS,
                  "echoTimeoutMs": int(8000 * SLOW)}
        calls = [dict(common, name="http, data only", server=http, api="tracks", av=False,
                      floodSizes=FLOOD, floodTimeoutMs=int(5000 * SLOW)),
                 dict(common, name="http, audio+video+data", server=http, api="tracks",
                      av=True, minFrames=MIN_FRAMES, minAudio=MIN_AUDIO),
                 dict(common, name="websocket, data only (media: {data: true})", server=ws,
                      api="media", av=False)]
        udp0 = udp_counters()
        t0 = time.time()
        out = run_page({"calls": calls}, timeout_s=120 * SLOW)
        page_s = time.time() - t0
        udp1 = udp_counters()
        tap.note("UDP on loopback during the calls: %s" % ", ".join(
            "%s +%d" % (k, udp1[k] - udp0[k]) for k in ("InDatagrams", "OutDatagrams",
                                                        "RcvbufErrors", "SndbufErrors",
                                                        "InErrors")))
        with tap.case("the page ran"):
            check(not out.get("error"), "page failed: %s\nthe page's progress:\n%s" % (
                out.get("error"), "\n".join(ln for ln in out.get("logs", []) if "sbdc " in ln)))
            tap.note("browser %s; page ran %.1f s" % (out.get("browserVersion"), page_s))
        results = (out.get("result") or {}).get("calls", [])
        with tap.case("every call ran"):
            check_eq([c.get("name") for c in results], [c["name"] for c in calls], "calls")
        for c, want in zip(results, [False, True, False]):
            check_call(tap, c, want)
        with tap.case("the server log has no error or warning"):
            bad, data = server_lines(server.log_path)
            opened = [re.search(r"channel '([^']*)' opened by the client on stream (\d+)", ln)
                      for ln in data]
            closed = [re.search(r"channel on stream (\d+) closed", ln) for ln in data]
            tap.note("server: channels opened by the client %s; streams closed %s" % (
                [(m.group(1), int(m.group(2))) for m in opened if m],
                [int(m.group(1)) for m in closed if m]))
            check(not bad, "\n".join(bad[:20]))
            check(not [ln for ln in data if "refused" in ln], "DCEP refused: %r" % data)
    finally:
        stop_and_report(tap, server)
        shutil.rmtree(html, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
