"""The example recorder plugin (examples/recorder, switchboard.plugin.recorder) end to end,
loaded as an author's plugin would be: a plugins folder holding only the built recorder.so,
a configs folder holding only its switchboard.plugin.recorder.conf, pointing at a temporary
recordings directory. An aiortc client (ToneTrack + PatternTrack) sends "record" with its
offer, sends for about 4 s, then "stop". The recording must be what an rtpdump reader
expects and must decode:
 - replies: "recording" (name, with the answer), then "stopped" with packets > 0, dropped 0,
   and as many packets as the file holds (the file is closed before the reply);
 - <name>.rtpdump: the "#!rtpplay1.0 address/port" line, the 16-byte file header (start
   time of the recording), per packet the 8-byte header with length == plen + 8 and
   offsets that never go back, the last one about the time sent; RTP version 2, only the
   offer's two primary SSRCs (no RTX), every payload type one the .json names;
 - <name>.json: one stream per m-line sent (mid, kind, codec, pt, rtx_pt, clock_rate,
   channels): Opus 48 kHz stereo, VP8 90 kHz;
 - each SSRC's sequence numbers cover the stream (no duplicates, no gap loopback loss could
   explain beyond a few packets);
 - decoding with aiortc's own decoders: the VP8 frames reassembled from the packets (every
   packet of a timestamp, descriptor's start bit to marker), the first a keyframe, decode
   to 320x240 pictures of PatternTrack's colours; the Opus packets decode to a 440 Hz tone.
Then the error paths, each a clear error event with nothing written and the server fine
after: an unknown request, bad names ("../x", 65 characters, "", "a b"), "record" without an
offer, a name already recorded (files untouched), "record" while recording, "stop" when not
recording; a second recording works after all that. A second server started without the
configuration file refuses "record" (428) and creates nothing.

    test_recorder_aiortc.py <builddir>
    test_recorder_aiortc.py --url http://127.0.0.1:8088/janus --recordings DIR
The second form runs against a server already running with the recorder loaded whose
recordings go to DIR (tests/package/run.sh: the installed daemon and the example built
against the installed SDK); it leaves out the unconfigured server's case."""
import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, check, check_eq, stop_and_report  # noqa: E402

import numpy  # noqa: E402
from sbaiortc import Poller, ToneTrack, PatternTrack, new_pc  # noqa: E402
from aiortc import RTCRtpCodecParameters, RTCSessionDescription  # noqa: E402
from aiortc.codecs import depayload, get_decoder  # noqa: E402
from aiortc.jitterbuffer import JitterFrame  # noqa: E402
from aiortc.rtp import RtpPacket  # noqa: E402

PACKAGE = "switchboard.plugin.recorder"
SECONDS = 4.0
SLOW = 2.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0


# ---- the client ---------------------------------------------------------------------------

class Client:
    """One session with one handle on the recorder, its events collected by a Poller."""

    def __init__(self, http):
        self.http = http
        self.sid = http.create()
        self.hid = http.attach(self.sid, plugin=PACKAGE)
        self.poller = Poller(http, self.sid)
        self.task = asyncio.ensure_future(self.poller.run())
        self.n = 0

    async def request(self, body, jsep=None, timeout=10.0):
        """Sends a message; returns (data, jsep, how): the plugin's answer whether it came in
        the reply ("sync") or as the transaction's event ("event")."""
        self.n += 1
        tx = "rec-%d" % self.n
        msg = {"janus": "message", "transaction": tx, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        r = await asyncio.to_thread(self.http.post, "/%d/%d" % (self.sid, self.hid), msg)
        if r.get("janus") == "success":
            check_eq(r.get("plugindata", {}).get("plugin"), PACKAGE, "reply's plugin")
            return r["plugindata"]["data"], r.get("jsep"), "sync"
        check_eq(r.get("janus"), "ack", "reply to %r: %r" % (body, r))
        ev = await self.poller.wait(lambda e: e.get("janus") == "event"
                                    and e.get("transaction") == tx, timeout * SLOW)
        check_eq(ev.get("plugindata", {}).get("plugin"), PACKAGE, "event's plugin")
        return ev["plugindata"]["data"], ev.get("jsep"), "event"

    async def close(self):
        self.poller.stop = True
        try:
            self.http.destroy(self.sid)
        except Exception:
            pass  # the session may be gone with a failed case
        await asyncio.wait_for(self.task, 40)


async def offer_pc():
    """An aiortc PeerConnection sending a tone and a moving pattern, and its offer."""
    pc = new_pc()
    pc.addTrack(ToneTrack())
    pc.addTrack(PatternTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc, {"type": "offer", "sdp": pc.localDescription.sdp}


def check_error(data, jsep, code, what):
    check_eq(data.get("recorder"), "event", "%s: recorder" % what)
    check_eq(data.get("error_code"), code, "%s: error_code (%r)" % (what, data))
    check(isinstance(data.get("error"), str) and len(data["error"]) > 5,
          "%s: an error text: %r" % (what, data))
    check(jsep is None, "%s: no jsep with an error: %r" % (what, jsep))


async def record(tap, http, rdir, name, seconds, during=None, delay_answer=0.0):
    """A whole recording; returns what analyse() needs. during(client) runs while it
    records (after webrtcup); delay_answer holds the answer back (no media before it)."""
    c = Client(http)
    pc = None
    try:
        pc, offer = await offer_pc()
        t0 = time.time()
        data, jsep, how = await c.request({"request": "record", "name": name}, offer)
        check_eq(how, "event", "record is answered by an event")
        check_eq(data, {"recorder": "event", "result": "recording", "name": name},
                 "record's event")
        check(jsep and jsep.get("type") == "answer" and "m=video" in jsep.get("sdp", ""),
              "record's event carries the answer: %r" % jsep)
        await asyncio.sleep(delay_answer)
        t_answer = time.time()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        await c.poller.wait(lambda e: e.get("janus") == "webrtcup", 10 * SLOW)
        t_up = time.time()
        tap.note("%s: webrtcup %.0f ms after record" % (name, (t_up - t0) * 1000))
        if during:
            await during(c)
        await asyncio.sleep(max(0.0, seconds - (time.time() - t_up)))
        stopped, sjsep, _ = await c.request({"request": "stop"})
        t1 = time.time()
        tap.note("%s: %r" % (name, stopped))
        check_eq(stopped.get("result"), "stopped", "stop's event (%r)" % stopped)
        check_eq(stopped.get("name"), name, "stopped: name")
        check(isinstance(stopped.get("packets"), int) and stopped["packets"] > 0,
              "stopped: packets > 0 (%r)" % stopped)
        check_eq(stopped.get("dropped"), 0, "stopped: dropped")
        check(sjsep is None, "no jsep with stopped")
        # stop hangs the PeerConnection up; a second stop has nothing to stop.
        await c.poller.wait(lambda e: e.get("janus") == "hangup", 5 * SLOW)
        data, jsep, _ = await c.request({"request": "stop"})
        check_error(data, jsep, 426, "a second stop")
        return {"name": name, "offer": offer["sdp"], "stopped": stopped, "t0": t0, "t1": t1,
                "t_answer": t_answer, "t_up": t_up, "seconds": seconds}
    finally:
        if pc:
            await pc.close()
        await c.close()


# ---- reading the recording ----------------------------------------------------------------

def read_rtpdump(path):
    """rtptools' format: '#!rtpplay1.0 address/port\\n', RD_hdr_t (start sec, usec, source,
    port, padding), then per packet RD_packet_t (length, plen, offset ms) and the packet."""
    with open(path, "rb") as fh:
        data = fh.read()
    nl = data.find(b"\n")
    check(nl > 0, "no first line")
    line = data[:nl].decode("ascii", "replace")
    check(re.fullmatch(r"#!rtpplay1\.0 \d+\.\d+\.\d+\.\d+/\d+", line),
          "first line %r" % line)
    pos = nl + 1
    check(len(data) >= pos + 16, "file header truncated")
    sec, usec, _source, _port, _pad = struct.unpack(">IIIHH", data[pos:pos + 16])
    check(usec < 1000000, "file header: usec %d" % usec)
    pos += 16
    packets, last = [], 0
    while pos < len(data):
        check(len(data) - pos >= 8, "packet header truncated at byte %d" % pos)
        length, plen, offset = struct.unpack(">HHI", data[pos:pos + 8])
        check_eq(length, plen + 8, "packet at byte %d: length vs plen + 8" % pos)
        check(pos + length <= len(data), "packet at byte %d runs past the end" % pos)
        check(offset >= last, "offset goes back at byte %d: %d < %d" % (pos, offset, last))
        packets.append((offset, data[pos + 8:pos + length]))
        last = offset
        pos += length
    return sec + usec / 1e6, packets


def offer_ssrcs(sdp):
    """{kind: primary SSRC} of an aiortc offer (RTX SSRCs, second in FID groups, left out)."""
    kind, seen, rtx = None, {}, set()
    for ln in sdp.splitlines():
        if ln.startswith("m="):
            kind = ln[2:].split()[0]
        m = re.match(r"a=ssrc-group:FID (\d+) (\d+)", ln)
        if m:
            rtx.add(int(m.group(2)))
        m = re.match(r"a=ssrc:(\d+) ", ln)
        if m:
            seen.setdefault(kind, set()).add(int(m.group(1)))
    out = {}
    for k, ssrcs in seen.items():
        primary = ssrcs - rtx
        check_eq(len(primary), 1, "primary %s SSRCs of the offer" % k)
        out[k] = primary.pop()
    return out


def unwrap(seqs):
    """16-bit sequence numbers, in arrival order, extended."""
    out, prev = [], None
    for s in seqs:
        if prev is None:
            ext = s
        else:
            ext = prev + ((s - (prev & 0xFFFF) + 0x8000) & 0xFFFF) - 0x8000
        out.append(ext)
        prev = ext
    return out


def coverage(pkts, what):
    """Sequence numbers of one SSRC: no duplicate, at most 2 % missing, no gap over 5."""
    ext = unwrap([p.sequence_number for p in pkts])
    check_eq(len(set(ext)), len(ext), "%s: duplicate sequence numbers" % what)
    s = sorted(ext)
    span = s[-1] - s[0] + 1
    gaps = [b - a - 1 for a, b in zip(s, s[1:]) if b - a > 1]
    missing = span - len(s)
    check(missing <= max(2, span // 50) and max(gaps, default=0) <= 5,
          "%s: %d of %d sequence numbers missing, gaps %r" % (what, missing, span, gaps[:20]))
    return span, missing


def vp8_frames(pkts):
    """Complete VP8 frames, in order: [(timestamp, [packets])], each the packets of one
    timestamp with consecutive sequence numbers, the first with the descriptor's S bit on
    partition 0 (RFC 7741 section 4.2), the last with the marker bit."""
    by_seq = dict(zip(unwrap([p.sequence_number for p in pkts]), pkts))
    frames, cur = [], []
    for seq in sorted(by_seq):
        p = by_seq[seq]
        if cur and (p.timestamp != cur[-1][1].timestamp or seq != cur[-1][0] + 1):
            frames.append(cur)
            cur = []
        cur.append((seq, p))
    if cur:
        frames.append(cur)
    out = []
    for f in frames:
        first, last = f[0][1], f[-1][1]
        if (first.payload and first.payload[0] & 0x10 and first.payload[0] & 0x0F == 0
                and last.marker):
            out.append((first.timestamp, [p for _, p in f]))
    return out, len(frames)


def decode_video(pkts, pt):
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=pt)
    frames, groups = vp8_frames(pkts)
    check(frames, "no complete VP8 frame in %d packets" % len(pkts))
    first = depayload(codec, frames[0][1][0].payload)
    check(first and first[0] & 0x01 == 0, "the first frame is a keyframe (P bit 0)")
    decoder = get_decoder(codec)
    pictures = []
    for ts, fpkts in frames:
        data = b"".join(depayload(codec, p.payload) for p in fpkts)
        pictures += decoder.decode(JitterFrame(data=data, timestamp=ts))
    return frames, groups, pictures


def decode_audio(pkts, pt):
    codec = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2,
                                  payloadType=pt)
    decoder = get_decoder(codec)
    by_seq = dict(zip(unwrap([p.sequence_number for p in pkts]), pkts))
    frames = []
    for seq in sorted(by_seq):
        frames += decoder.decode(JitterFrame(data=by_seq[seq].payload,
                                             timestamp=by_seq[seq].timestamp))
    return frames


def tone_hz(frames):
    """The strongest frequency of the decoded audio's left channel (after the first 0.5 s,
    the encoder's ramp-up), and its RMS."""
    samples = numpy.concatenate([f.to_ndarray().reshape(-1, 2)[:, 0] for f in frames[25:]])
    samples = samples.astype(numpy.float64)
    spectrum = numpy.abs(numpy.fft.rfft(samples))
    freqs = numpy.fft.rfftfreq(len(samples), 1 / 48000.0)
    return freqs[int(numpy.argmax(spectrum[1:])) + 1], float(numpy.sqrt(numpy.mean(samples ** 2)))


def analyse(tap, rdir, rec):
    """Every check of one recording's two files; returns the figures noted."""
    name, stopped = rec["name"], rec["stopped"]
    with open(os.path.join(rdir, name + ".json")) as fh:
        doc = json.load(fh)
    check_eq(doc.get("name"), name, ".json name")
    streams = {s.get("kind"): s for s in doc.get("streams", [])}
    check_eq(sorted(streams), ["audio", "video"], ".json stream kinds (%r)" % doc)
    for s in doc["streams"]:
        check_eq(sorted(s), ["channels", "clock_rate", "codec", "kind", "mid", "pt", "rtx_pt"],
                 ".json stream fields")
    a, v = streams["audio"], streams["video"]
    check_eq((a["codec"].lower(), a["clock_rate"], a["channels"]), ("opus", 48000, 2),
             ".json audio codec")
    check_eq((v["codec"].upper(), v["clock_rate"]), ("VP8", 90000), ".json video codec")
    check(0 < a["pt"] < 128 and 0 < v["pt"] < 128 and a["pt"] != v["pt"], ".json pts %r" % doc)
    pts = {s["pt"] for s in doc["streams"]} | {s["rtx_pt"] for s in doc["streams"]
                                              if s["rtx_pt"]}

    start, raw = read_rtpdump(os.path.join(rdir, name + ".rtpdump"))
    check(rec["t0"] - 1 <= start <= rec["t1"] + 1,
          "file header's start %.3f within the recording [%.3f, %.3f]"
          % (start, rec["t0"], rec["t1"]))
    check_eq(len(raw), stopped["packets"], "packets in the file vs stopped's count")
    span_ms = raw[-1][0] - raw[0][0]
    # Offsets count from the header's start (rtptools: "since the start of recording"), so
    # start + offset is when a packet came: the first after the client had the answer (no
    # media before), around webrtcup; the last just before stop's reply.
    first, last = start + raw[0][0] / 1000.0, start + raw[-1][0] / 1000.0
    check(rec["t_answer"] - 0.05 <= first <= rec["t_up"] + 0.5 * SLOW,
          "first packet at %+.3f s, the client set the answer at %+.3f s, webrtcup %+.3f s"
          % (first - rec["t0"], rec["t_answer"] - rec["t0"], rec["t_up"] - rec["t0"]))
    check(rec["t1"] - 1.0 * SLOW <= last <= rec["t1"] + 0.05,
          "last packet at %+.3f s, stop answered at %+.3f s" % (last - rec["t0"],
                                                              rec["t1"] - rec["t0"]))
    check(1000 * (rec["seconds"] - 1) <= span_ms <= 1000 * (rec["seconds"] + 4 * SLOW),
          "offsets span %d ms for %.0f s sent" % (span_ms, rec["seconds"]))

    ssrcs = offer_ssrcs(rec["offer"])
    by_ssrc = {}
    for off, b in raw:
        check(len(b) >= 12 and b[0] >> 6 == 2, "an RTP version 2 packet at offset %d" % off)
        p = RtpPacket.parse(b)
        check(p.payload_type in pts, "payload type %d not in the .json %r" % (
            p.payload_type, sorted(pts)))
        by_ssrc.setdefault(p.ssrc, []).append(p)
    check_eq(sorted(by_ssrc), sorted(ssrcs.values()), "SSRCs recorded vs the offer's")
    apkts, vpkts = by_ssrc[ssrcs["audio"]], by_ssrc[ssrcs["video"]]
    check({p.payload_type for p in apkts} == {a["pt"]}, "audio packets carry the audio pt")
    check({p.payload_type for p in vpkts} == {v["pt"]}, "video packets carry the video pt")
    vspan, vmiss = coverage(vpkts, "video")
    aspan, amiss = coverage(apkts, "audio")

    frames, groups, pictures = decode_video(vpkts, v["pt"])
    sizes = sorted({(f.width, f.height) for f in pictures})
    need_v = int(15 * rec["seconds"] / SLOW)
    check(len(pictures) >= need_v, "%d video frames decoded (of %d complete, %d timestamps),"
          " want >= %d" % (len(pictures), len(frames), groups, need_v))
    check_eq(sizes, [(320, 240)], "decoded picture sizes")
    bgr = pictures[-1].to_ndarray(format="bgr24").astype(numpy.float64)
    g, r = bgr[:, :, 1].mean(), bgr[:, :, 2].mean()
    check(100 <= g <= 156 and r <= 40, "last picture's colours: green %.0f (128), red %.0f (0)"
          % (g, r))

    audio = decode_audio(apkts, a["pt"])
    need_a = int(25 * rec["seconds"] / SLOW)  # ToneTrack: ~38 frames/s
    check(len(audio) >= need_a, "%d audio frames decoded, want >= %d" % (len(audio), need_a))
    hz, rms = tone_hz(audio)
    check(abs(hz - 440) <= 10 and rms > 1000, "decoded audio: %.1f Hz (440), RMS %.0f" % (hz, rms))
    return ("%s: %d packets over %d ms; video %d packets (%d missing of %d), %d frames, %d "
            "decoded %r; audio %d packets (%d missing of %d), %d decoded, %.1f Hz RMS %.0f"
            % (name, len(raw), span_ms, len(vpkts), vmiss, vspan, len(frames), len(pictures),
               sizes, len(apkts), amiss, aspan, len(audio), hz, rms))


# ---- the cases ----------------------------------------------------------------------------

def snapshot(d):
    out = {}
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            out[f] = hashlib.sha256(fh.read()).hexdigest()
    return out


async def info_lists_recorder(http):
    r = await asyncio.to_thread(http.post, "", {"janus": "info", "transaction": "info"})
    check_eq(r.get("janus"), "server_info", "info")
    check(PACKAGE in r.get("plugins", {}), "info lists %s: %r" % (PACKAGE, r.get("plugins")))


async def errors_case(tap, http, rdir, recorded):
    """Every error path on one handle (and one more for "already exists"), with the
    directory (and its parent) compared before and after each."""
    parent = os.path.dirname(os.path.abspath(rdir))
    c = Client(http)
    pcs = []
    try:
        async def expect(what, body, code, jsep=None, how=None):
            before, pbefore = snapshot(rdir), sorted(os.listdir(parent))
            data, rjsep, got_how = await c.request(body, jsep)
            check_error(data, rjsep, code, what)
            if how:
                check_eq(got_how, how, "%s: answered how" % what)
            await asyncio.sleep(0.2 * SLOW)  # a worker that wrote anyway would have by now
            check_eq(snapshot(rdir), before, "%s: the recordings directory" % what)
            check_eq(sorted(os.listdir(parent)), pbefore, "%s: its parent" % what)
            tap.note("%s: %d %r" % (what, data["error_code"], data["error"]))

        pc, offer = await offer_pc()
        pcs.append(pc)
        await expect("unknown request", {"request": "pause"}, 422, how="sync")
        await expect("no request", {"name": "x"}, 421, how="sync")
        for bad in ["../x", "a" * 65, "", "a b", "x.rtpdump", "/tmp/x"]:
            await expect("name %r" % bad[:20], {"request": "record", "name": bad}, 421, offer,
                         how="sync")
        await expect("name not a string", {"request": "record", "name": 7}, 421, offer)
        await expect("record without an offer", {"request": "record", "name": "nooffer"}, 421)
        await expect("record with an answer", {"request": "record", "name": "nooffer"}, 421,
                     {"type": "answer", "sdp": offer["sdp"]})
        await expect("stop when not recording", {"request": "stop"}, 426, how="event")
        await expect("a name already recorded", {"request": "record", "name": recorded}, 424,
                     offer, how="event")
        # The PeerConnection answered for the refused name goes with the refusal.
        await c.poller.wait(lambda e: e.get("janus") == "hangup", 5 * SLOW)
    finally:
        for pc in pcs:
            await pc.close()
        await c.close()


async def main_async(tap, http, rdir, tag, with_errors=True):
    rec = None
    before = set(os.listdir(rdir))
    with tap.case("record ~%.0f s from aiortc: recording, then stopped (packets, dropped 0)"
                  % SECONDS):
        await info_lists_recorder(http)
        rec = await record(tap, http, rdir, "aiortc-" + tag, SECONDS)
    with tap.case("the recording: rtpdump and json well formed, sequence numbers covered, "
                  "VP8 and Opus decode"):
        check(rec, "no recording")
        check_eq(sorted(set(os.listdir(rdir)) - before),
                 sorted([rec["name"] + ".rtpdump", rec["name"] + ".json"]),
                 "the files the recording added to the directory")
        tap.note(analyse(tap, rdir, rec))
    if not with_errors:
        return
    with tap.case("errors: unknown request, bad names, no offer, name exists, stop when "
                  "idle: error events, nothing written"):
        check(rec, "no recording")
        await errors_case(tap, http, rdir, rec["name"])

    async def record_again(c):
        pc, offer = await offer_pc()
        try:
            before = snapshot(rdir)
            data, jsep, _ = await c.request({"request": "record", "name": "twice-" + tag},
                                            offer)
            check_error(data, jsep, 423, "record while recording")
            now = snapshot(rdir)
            check_eq(sorted(now), sorted(before), "record while recording: files")
        finally:
            await pc.close()

    with tap.case("after the errors: record while recording refused (423), a second "
                  "recording works and decodes"):
        rec2 = await record(tap, http, rdir, "again-" + tag, 2.5, during=record_again,
                            delay_answer=0.7)
        tap.note(analyse(tap, rdir, rec2))
        await info_lists_recorder(http)

    with tap.case("8 % of the video lost on the way in: the repairs (RTX) are recorded, "
                  "no holes, decodes"):
        pc, offer = await offer_pc()  # for the VP8 payload type aiortc uses
        await pc.close()
        restore, counter = drop_video(offer["sdp"], 12)
        try:
            rec3 = await record(tap, http, rdir, "lossy-" + tag, 3.0)
        finally:
            restore()
        tap.note("%d VP8 packets sent, %d dropped" % (counter["n"], counter["n"] // 12))
        tap.note(analyse(tap, rdir, rec3))


def drop_video(sdp, every):
    """Drops every Nth original VP8 packet aiortc sends (its RTX, RTCP and audio pass), so
    the server must NACK and the client repair. Returns the function that undoes it."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport
    pt = int(re.search(r"a=rtpmap:(\d+) VP8/90000", sdp).group(1))
    counter = {"n": 0}
    orig = RTCDtlsTransport._send_rtp

    async def send_rtp(self, data):
        if len(data) > 1 and data[1] & 0x7F == pt:
            counter["n"] += 1
            if counter["n"] % every == 0:
                return
        await orig(self, data)

    RTCDtlsTransport._send_rtp = send_rtp

    def restore():
        RTCDtlsTransport._send_rtp = orig
    return restore, counter


def plugin_folders(builddir, conf_dir=None):
    """A plugins folder with only the example (a symlink to the built one) and a configs
    folder, with the recorder's conf pointing at a recordings directory when asked."""
    tmp = tempfile.mkdtemp(prefix="sbtest-recorder-")
    plugins, configs, rdir = (os.path.join(tmp, d) for d in ("plugins", "configs", "rec"))
    for d in (plugins, configs, rdir):
        os.mkdir(d)
    so = os.path.join(os.path.abspath(builddir), "examples", "recorder", "recorder.so")
    check(os.path.exists(so), "%s not built" % so)
    os.symlink(so, os.path.join(plugins, "recorder.so"))
    if conf_dir is not False:
        with open(os.path.join(configs, PACKAGE + ".conf"), "w") as fh:
            fh.write('general: {\n    directory = "%s"\n}\n' % rdir)
    return tmp, plugins, configs, rdir


async def unconfigured_async(tap, http, rdir):
    with tap.case("no configuration: record refused (428), nothing created, server fine"):
        await info_lists_recorder(http)
        c = Client(http)
        pc, offer = await offer_pc()
        try:
            data, jsep, how = await c.request({"request": "record", "name": "unset"}, offer)
            check_error(data, jsep, 428, "record unconfigured")
            data, jsep, how = await c.request({"request": "stop"})
            check_error(data, jsep, 426, "stop unconfigured")
        finally:
            await pc.close()
            await c.close()
        check_eq(os.listdir(rdir), [], "the (unconfigured) directory")
        await info_lists_recorder(http)


def run_local(tap, builddir):
    tmp, plugins, configs, rdir = plugin_folders(builddir)
    try:
        server = Server(builddir, args=["-P", plugins, "-F", configs], ws=False,
                        name="recorder")
        try:
            with open(server.log_path, errors="replace") as fh:
                tap.note("".join(ln for ln in fh if "recorder" in ln).strip())
            asyncio.run(main_async(tap, Http(), rdir, "local"))
        finally:
            stop_and_report(tap, server)
        tmp2, plugins2, configs2, rdir2 = plugin_folders(builddir, conf_dir=False)
        try:
            server = Server(builddir, args=["-P", plugins2, "-F", configs2], ws=False,
                            name="recorder-noconf")
            try:
                asyncio.run(unconfigured_async(tap, Http(), rdir2))
            finally:
                stop_and_report(tap, server, "no configuration: clean shutdown, no sanitizer "
                                "report")
        finally:
            shutil.rmtree(tmp2, ignore_errors=True)
    finally:
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builddir", nargs="?")
    ap.add_argument("--url", help="the Janus API of a running server with the recorder")
    ap.add_argument("--recordings", help="where that server's recorder writes (--url)")
    args = ap.parse_args()
    tap = Tap("recorder-aiortc")
    if args.url:
        if not args.recordings:
            ap.error("--url needs --recordings")
        u = urllib.parse.urlsplit(args.url)
        http = Http(port=u.port or 80, base=u.path.rstrip("/") or "/janus")
        tag = "%d-%d" % (os.getpid(), int(time.time()))
        asyncio.run(main_async(tap, http, args.recordings, tag))
    elif args.builddir:
        run_local(tap, args.builddir)
    else:
        ap.error("a builddir, or --url and --recordings")
    tap.exit()


if __name__ == "__main__":
    main()
