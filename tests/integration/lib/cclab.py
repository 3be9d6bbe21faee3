"""The shaped network of the congestion-control tests and benchmark (issue 14): a server
(Switchboard, or Debian's janus to compare) in the test's own namespace, a publisher page in
one client namespace over a clean link, subscriber pages in another behind a link whose
server side is shaped with `tc tbf` (rate, burst, latency) and, on demand, random loss
(nftables `numgen random`; this kernel has no sch_netem). Built with lib/netns.py:

    pub ns                     own ns (server)                        sub ns
    ccpub1 198.18.10.2 <-clean-> ccpub0 198.18.10.1
                                 ccsub0 198.18.11.1 ==tbf, loss==> ccsub1 198.18.11.2 (media)
                                 ccsig0 198.18.12.1 <--TCP only--> ccsig1 198.18.12.2 (signaling)

Only media (UDP) crosses the shaped veth: the subscriber namespace drops UDP on the
signaling veth, and its long-polls (TCP) take that one, so a squeezed or lossy media link
does not also stall the events the test reads. The server offers candidates on ccpub0 and
ccsub0 only (its ICE enforce list), the same for both servers.

Each page is loaded from the server's address on its own link, with the Janus API on the
same address (Chromium treats 198.18.0.0/15 as public: such a page may not reach
127.0.0.1), and that origin is treated as secure (getUserMedia). Switchboard serves the
page itself (--html-folder); Debian's janus does not serve files, so a small static server
here does, on another port of the same address (janus answers CORS).

    lab = CcLab(daemon)                  # or CcLab(None, server="janus")
    room = lab.create_room(bitrate=0)
    pub, sub = lab.open_page("pub"), lab.open_page("sub")
    lab.limit(400)                        # kbit/s toward the subscriber
    lab.loss(5); lab.no_loss(); lab.lift()
    lab.close()

With SB_CC_TRACE=<folder> in the environment, the server (which inherits it) records what
each subscriber's bandwidth estimator is fed there (docs/congestion.md), and each change of
the shaped link is appended to <folder>/lab.marks as an "M" record on the same monotonic
clock, to cut the traces at (tests/unit/data/README).

The analysis helpers at the end (freezes, layer timeline, publisher rates) read what
videoroom/web/videoroom_cc.html records, for the test and for bench/cc_bench.sh alike.
Python 3 standard library only; needs root, iproute2 (tc), nftables, chromium, node.
"""
import functools
import http.server
import json
import os
import shutil
import tempfile
import threading
import time

import netns
from pagerpc import PageRpc
from sbchromium import ADAPTER_JS, JANUS_JS, missing  # noqa: F401 - cclab.missing()
from sbtest import Http, Server

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.dirname(HERE)
PAGE = os.path.join(INTEGRATION, "videoroom", "web", "videoroom_cc.html")

PUB_SERVER, PUB_CLIENT = "198.18.10.1", "198.18.10.2"
SUB_SERVER, SUB_CLIENT = "198.18.11.1", "198.18.11.2"
SIG_SERVER, SIG_CLIENT = "198.18.12.1", "198.18.12.2"
SHAPED_IF = "ccsub0"  # the server's end of the subscriber's media link: tbf and loss here
API_PORT = 18088  # the server's HTTP API (both servers)
PAGE_PORT = 18090  # the static page server (reference runs only)

# tbf defaults for limit(): a 4 KB bucket (80 ms at 400 kbit/s) and up to 300 ms of queue,
# as a home uplink's buffer would hold: a delay-based estimator sees the queue grow before
# the first loss.
BURST_BYTES = 4096
LATENCY_MS = 300


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _mark(what, value=""):
    """An "M <monotonic us> what [value]" record in $SB_CC_TRACE/lab.marks, if tracing."""
    folder = os.environ.get("SB_CC_TRACE")
    if folder:
        with open(os.path.join(folder, "lab.marks"), "a") as fh:
            fh.write(("M %d %s %s" % (time.monotonic_ns() // 1000, what, value)).rstrip() + "\n")


class CcLab:
    """The three namespaces, the server and the pages; close() undoes everything."""

    def __init__(self, daemon, server="switchboard", log_level="warn", extra_args=()):
        """daemon: the switchboard binary (its folder holds plugins/); ignored for
        server="janus" (Debian's, lib/janusref.py)."""
        self.kind = server
        self.html = tempfile.mkdtemp(prefix="sb-cc-html-")
        for f in (PAGE, JANUS_JS, ADAPTER_JS):
            shutil.copy(f, self.html)
        self.lab = netns.Lab()
        self.server = self.ref = self.httpd = None
        self.pages = []
        self.shaping = None
        self.loss_pct = 0
        try:
            own = netns.own()
            self.pub = self.lab.namespace("pub")
            self.sub = self.lab.namespace("sub")
            netns.veth(self.pub, own, PUB_CLIENT + "/24", PUB_SERVER + "/24",
                       "ccpub1", "ccpub0")
            netns.veth(self.sub, own, SUB_CLIENT + "/24", SUB_SERVER + "/24",
                       "ccsub1", SHAPED_IF)
            netns.veth(self.sub, own, SIG_CLIENT + "/24", SIG_SERVER + "/24",
                       "ccsig1", "ccsig0")
            netns.nft(self.sub, """table inet cc_sig_udp
delete table inet cc_sig_udp
table inet cc_sig_udp {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 198.18.12.0/24 meta l4proto udp counter drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr 198.18.12.0/24 meta l4proto udp counter drop
  }
}
""")
            enforce = "ccpub0,%s" % SHAPED_IF
            if server == "janus":
                from janusref import JanusRef
                self.ref = JanusRef(API_PORT, enforce=enforce, http_ip=None)
                self.httpd = http.server.ThreadingHTTPServer(
                    ("0.0.0.0", PAGE_PORT), functools.partial(_Quiet, directory=self.html))
                threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
            else:
                self.server = Server(os.path.dirname(os.path.abspath(daemon)),
                                     args=["--bind", "0.0.0.0", "--ice-enforce-list", enforce,
                                           "--log-level", log_level] + list(extra_args),
                                     html_folder=self.html, ws=False, name="cc",
                                     http_port=API_PORT)
        except BaseException:
            self.close()
            raise

    # ---- addresses --------------------------------------------------------------------

    def origin(self, side):
        """The page's origin for a page in namespace side ("pub" or "sub")."""
        addr = PUB_SERVER if side == "pub" else SIG_SERVER
        return "http://%s:%d" % (addr, PAGE_PORT if self.ref else API_PORT)

    def api(self, side):
        addr = PUB_SERVER if side == "pub" else SIG_SERVER
        return "http://%s:%d/janus" % (addr, API_PORT)

    @property
    def pid(self):
        return self.server.pid if self.server else self.ref.proc.pid

    # ---- pages ------------------------------------------------------------------------

    def open_page(self, side):
        """A Chromium page (lib/pagerpc.py) running videoroom_cc.html in the pub or sub
        namespace; window.sbConnect already called with that side's API."""
        origin = self.origin(side)
        page = PageRpc(origin + "/videoroom_cc.html", ns=self.pub if side == "pub" else self.sub,
                       args=["--unsafely-treat-insecure-origin-as-secure=" + origin])
        self.pages.append(page)
        page.call("sbConnect", {"server": self.api(side)}, timeout=30)
        return page

    def create_room(self, room=1234, bitrate=0, publishers=6, **extra):
        """A VideoRoom room made over HTTP from a short-lived session (on both servers);
        bitrate 0: no cap, the reference's default."""
        h = Http(API_PORT)
        sid = h.create()
        hid = h.attach(sid, "janus.plugin.videoroom")
        body = dict({"request": "create", "room": room, "publishers": publishers,
                     "bitrate": bitrate, "description": "cc"}, **extra)
        r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "room",
                                            "body": body})
        data = (r.get("plugindata") or {}).get("data") or {}
        if data.get("videoroom") != "created":
            raise RuntimeError("creating room %d: %r" % (room, r))
        h.destroy(sid)
        return room

    # ---- the shaped link --------------------------------------------------------------

    def limit(self, kbit, burst=BURST_BYTES, latency_ms=LATENCY_MS):
        """Shape the link toward the subscribers to kbit kbit/s (tbf on the server's end;
        replaces any earlier limit)."""
        netns.own().run(["tc", "qdisc", "replace", "dev", SHAPED_IF, "root", "tbf",
                         "rate", "%dkbit" % kbit, "burst", str(burst),
                         "latency", "%dms" % latency_ms])
        _mark("limit", kbit)
        self.shaping = {"kbit": kbit, "burst": burst, "latency_ms": latency_ms}

    def lift(self):
        """No rate limit any more (the veth's default: no queue at all)."""
        if self.shaping is not None:
            netns.own().run(["tc", "qdisc", "del", "dev", SHAPED_IF, "root"])
            _mark("lift")
        self.shaping = None

    def tbf_stats(self):
        """tc's counters of the limit: {"sent_bytes", "sent_pkts", "dropped",
        "overlimits"} (None when unshaped)."""
        if self.shaping is None:
            return None
        out = netns.own().run(["tc", "-j", "-s", "qdisc", "show", "dev", SHAPED_IF]).stdout
        for q in json.loads(out):
            if q.get("kind") == "tbf":
                return {"sent_bytes": q.get("bytes"), "sent_pkts": q.get("packets"),
                        "dropped": q.get("drops"), "overlimits": q.get("overlimits")}
        return None

    def loss(self, pct):
        """Drop pct % of the UDP datagrams toward the subscribers, at random (nftables
        numgen; counted)."""
        netns.nft(netns.own(), """table inet cc_loss
delete table inet cc_loss
table inet cc_loss {
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "%s" meta l4proto udp counter
    oifname "%s" meta l4proto udp numgen random mod 100 < %d counter drop
  }
}
""" % (SHAPED_IF, SHAPED_IF, int(pct)))
        _mark("loss", int(pct))
        self.loss_pct = pct

    def loss_counts(self):
        """(UDP datagrams toward the subscribers since loss(), of which dropped)."""
        out = netns.own().run(["nft", "-j", "list", "table", "inet", "cc_loss"]).stdout
        counts = []
        for item in json.loads(out)["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    counts.append(expr["counter"]["packets"])
        return tuple(counts[:2]) if len(counts) >= 2 else (0, 0)

    def no_loss(self):
        if self.loss_pct:
            netns.own().run(["nft", "delete", "table", "inet", "cc_loss"])
            _mark("loss", 0)
        self.loss_pct = 0

    # ---- the end ----------------------------------------------------------------------

    def log(self):
        path = self.server.log_path if self.server else os.path.join(self.ref.dir, "janus.log")
        with open(path, errors="replace") as fh:
            return fh.read()

    def close_pages(self):
        while self.pages:
            self.pages.pop().close()

    def stop_server(self):
        """Stop the server; its problems (exit status, sanitizer reports) as a list
        (always empty for the reference)."""
        if self.server is not None:
            return self.server.stop()
        return []

    def close(self):
        self.close_pages()
        if self.server is not None:
            self.server.stop()
            self.server.cleanup()
            self.server = None
        if self.ref is not None:
            self.ref.stop()
            self.ref = None
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        self.lab.close()
        shutil.rmtree(self.html, ignore_errors=True)


# ---- analysis of what the page records --------------------------------------------------
#
# A subscriber's samples (videoroom_cc.html, every 100 ms): {"t": ms since the epoch,
# "fd": framesDecoded, "w"/"h": frameWidth/Height, "fc": freezeCount, "tfd":
# totalFreezesDuration (s), "nack", "pli", "lost", "pr": packetsReceived, "bytes", "kf":
# keyFramesDecoded}. Wall-clock times (ms) compare with time.time() * 1000 of the test.


def window(samples, t0, t1):
    return [s for s in samples if t0 <= s["t"] <= t1]


def stalls(samples, t0, t1, min_ms=500):
    """Stretches of [t0, t1] in which framesDecoded did not move for longer than min_ms,
    as (start, length ms): from the sample where it last grew to the one where it grows
    again (or t1, for a stall still going on). Samples every 100 ms: +-100 ms."""
    win = window(samples, t0, t1)
    out = []
    last_t, last_fd = None, None
    for s in win:
        if last_fd is None or s["fd"] > last_fd:
            if last_t is not None and s["t"] - last_t > min_ms:
                out.append((last_t, s["t"] - last_t))
            last_t, last_fd = s["t"], s["fd"]
    if last_t is not None and win and win[-1]["t"] - last_t > min_ms:
        out.append((last_t, win[-1]["t"] - last_t))
    return out


def chromium_freezes(samples, t0, t1):
    """Chromium's own freezes (inbound-rtp freezeCount/totalFreezesDuration) that ended in
    [t0, t1], as (end time, length ms). A freeze lasts 150 ms or more, so two cannot end
    within one 100 ms sample: each step of freezeCount is one freeze and the step of
    totalFreezesDuration its length."""
    out = []
    prev = None
    for s in samples:
        if prev is not None and s.get("fc") is not None and prev.get("fc") is not None \
                and s["fc"] > prev["fc"] and t0 <= s["t"] <= t1:
            n = s["fc"] - prev["fc"]
            out.append((s["t"], 1000.0 * (s["tfd"] - prev["tfd"]) / n))
        prev = s
    return out


def long_freezes(samples, t0, t1, min_ms=500):
    """Freezes over min_ms in [t0, t1] by either measure: [(time, ms, "stall"|"chromium")]."""
    out = [(t, ms, "stall") for t, ms in stalls(samples, t0, t1, min_ms)]
    out += [(t, ms, "chromium") for t, ms in chromium_freezes(samples, t0, t1) if ms > min_ms]
    return sorted(out)


def delta(samples, key, t0, t1):
    win = [s for s in window(samples, t0, t1) if s.get(key) is not None]
    return win[-1][key] - win[0][key] if len(win) >= 2 else 0


def fps(samples, t0, t1):
    win = window(samples, t0, t1)
    if len(win) < 2 or win[-1]["t"] <= win[0]["t"]:
        return 0.0
    return (win[-1]["fd"] - win[0]["fd"]) * 1000.0 / (win[-1]["t"] - win[0]["t"])


def widths(samples, t0, t1):
    """The decoded widths seen in [t0, t1] (0 before the first frame), in order, each once
    per run: [(first time, width)]."""
    out = []
    for s in window(samples, t0, t1):
        w = s.get("w") or 0
        if not out or out[-1][1] != w:
            out.append((s["t"], w))
    return out


def width_at(samples, t):
    before = [s for s in samples if s["t"] <= t]
    return (before[-1].get("w") or 0) if before else 0


def first_time(samples, pred, t0=0):
    for s in samples:
        if s["t"] >= t0 and pred(s):
            return s["t"]
    return None


def timeline(samples, t0, t1, step_ms=5000):
    """Per step: (start - t0 in s, decoded fps, width x height at the end, long stalls)."""
    out = []
    t = t0
    while t < t1:
        e = min(t + step_ms, t1)
        win = window(samples, t, e)
        last = win[-1] if win else {}
        out.append(((t - t0) / 1000.0, fps(samples, t, e),
                    "%sx%s" % (last.get("w") or 0, last.get("h") or 0),
                    len(stalls(samples, t, e))))
        t = e
    return out


# What a packet costs on the link beyond its RTP bytes: IPv4 (20) + UDP (8) + the SRTP tag
# (16 with AES-GCM, 10 with HMAC-SHA1-80).
WIRE_OVERHEAD_BYTES = 44


def pub_rates(a, b):
    """Per rid (and "audio"), the send rate between two publisher snapshots (sbPubStats):
    {"kbps": RTP bytes incl. headers, "wire": the same with IP/UDP/SRTP overhead, "pps",
    "fps": frames sent per s, "w": width, "qlr": qualityLimitationReason at b}."""
    dt = (b["t"] - a["t"]) / 1000.0
    out = {}

    def rate(sb, sa):
        if dt <= 0:
            return {"kbps": 0.0, "wire": 0.0, "pps": 0.0}
        kbps = 8 * ((sb["bytes"] + sb["hdr"]) - (sa.get("bytes", 0) + sa.get("hdr", 0))) \
            / dt / 1000.0
        pps = ((sb.get("pkts") or 0) - (sa.get("pkts") or 0)) / dt
        return {"kbps": kbps, "pps": pps, "wire": kbps + pps * WIRE_OVERHEAD_BYTES * 8 / 1000.0}

    for rid, sb in b["rids"].items():
        sa = a["rids"].get(rid, {})
        out[rid] = dict(rate(sb, sa), fps=(sb["frames"] - sa.get("frames", 0)) / dt
                        if dt > 0 else 0.0, w=sb.get("w"), qlr=sb.get("qlr"))
    if b.get("audio") and a.get("audio"):
        out["audio"] = rate(b["audio"], a["audio"])
    return out


LAYER_OF_RID = {"l": 0, "m": 1, "h": 2}
RID_OF_WIDTH = {320: "l", 640: "m", 1280: "h"}
# A layer fits a link when it and the audio take at most this share of it on the wire: an
# estimator settles a little under the capacity (GCC's typically at 85-95 %), and a link
# kept full only queues.
FIT_SHARE = 0.9


def fitting_layer(rates, kbit, share=FIT_SHARE):
    """The highest simulcast layer whose traffic on the wire plus the audio's fits in
    share x kbit (-1: none fits)."""
    audio = rates.get("audio", {}).get("wire", 0.0)
    best = -1
    for rid, layer in LAYER_OF_RID.items():
        r = rates.get(rid)
        if r and r["wire"] + audio <= share * kbit:
            best = max(best, layer)
    return best
