"""Live calls through a faulty link: an aiortc client in a namespace of its own reaches the
server over veth pairs (198.18.0.0/15 only) through lib/faultlink.py's link emulator, and
each scenario hits a fresh EchoTest call and a VideoRoom publisher + subscriber: loss 1 %,
5 %, 20 %; 100 ms +- 30 ms delay; reordering; duplication; blackouts of 5 s and 12 s.

For each: no hangup, no ICE failure, the server alive; video keeps being decoded during the
fault (fewer frames at 20 % loss, but frames) and after it; after a blackout, decoded video
resumes within 2 s of the link coming back (the time is printed). Then the calls end and
their sessions must be gone (each peer logged its closing line, with its NACK and
retransmission counts, printed here; the API no longer knows the sessions). Last, the link
goes down for good: the server must end the calls itself, 30 s after the last answered
consent check (RFC 7675), and leave nothing behind either.

This kernel has no sch_netem, so the faults are made in user space with netem's semantics
(see lib/faultlink.py); they apply to the media (UDP) both ways, the signalling has its own
clean veth pair."""
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from faultlink import (CLIENT_ADDR, SERVER_ADDR, SERVER_IF, SERVER_SIG_ADDR,  # noqa: E402
                       FaultLink)
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check,  # noqa: E402
                    error_code, stop_and_report)

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "faultcall.py")
BASELINE_S = 1.5
AFTER_S = 5.0
RECOVERY_MAX_S = 2.0
# aiortc NACKs a gap once, when it sees it: a retransmission lost too is asked for again only
# when a newer gap shows up, so once the loss stops, its video can wait for its jitter buffer
# (128 packets, ~3 s here) to give up and send a PLI. So "after" is judged on its last 2 s.
SETTLED_S = 2.0
MAX_GAP_S = 4.5  # the same wait (3.4 s seen), while a fault lasts
CONSENT_MIN_S, CONSENT_MAX_S = 25, 45  # RFC 7675: 30 s after the last answered check

# (name, faults (lib/faultlink.py FaultLink.set), seconds, least frames per second of video
# decoded on each leg while the fault lasts; None: a blackout, no frame, back within 2 s).
# Under loss the floor is low: one of aiortc's waits above (3.4 s of a 5 s window) can come
# at any loss rate; that frames keep coming is MAX_GAP_S's to say.
SCENARIOS = [
    ("1% loss", {"loss": 0.01}, 4, 5),
    ("5% loss", {"loss": 0.05}, 5, 3),
    ("20% loss", {"loss": 0.20}, 5, 1),
    ("100 ms +- 30 ms delay", {"delay_ms": 100, "jitter_ms": 30}, 4, 10),
    ("reordering (25% sent 10 ms ahead of the rest)",
     {"reorder": 0.25, "reorder_gap_ms": 10}, 4, 10),
    ("10% duplication", {"dup": 0.10}, 4, 15),
    ("5 s blackout", {"loss": 1.0}, 5, None),
    # Longer than libnice's own 10 s consent timeout: the call must outlive it (RFC 7675's
    # 30 s applies: src/peer/ice_fast.c, or sb_ice_consent_renew when libnice reads).
    ("12 s blackout", {"loss": 1.0}, 12, None),
]


class Client:
    """faultcall.py in the client namespace; its JSON lines are gathered by a thread."""

    def __init__(self, link, tmp):
        self.errlog = open(os.path.join(tmp, "client.log"), "w+")
        self.proc = subprocess.Popen(
            link.client_cmd([sys.executable, CLIENT,
                             "http://%s:%d/janus" % (SERVER_SIG_ADDR, HTTP_PORT), CLIENT_ADDR,
                             "--videoroom"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errlog, text=True,
            bufsize=1)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.lines.append(obj)
                self.cond.notify_all()

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def expect(self, evs, since, timeout):
        """The first line at index >= since whose "ev" is in evs."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for obj in self.lines[since:]:
                    if obj.get("ev") in evs:
                        return obj
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("client: none of %r in %.0f s (exit %s); stderr:\n%s"
                                         % (evs, timeout, self.proc.poll(), self.stderr()))
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.lines)

    def ticks(self, since):
        with self.cond:
            return [o for o in self.lines[since:] if o.get("ev") == "tick"]

    def stderr(self):
        self.errlog.flush()
        with open(self.errlog.name, errors="replace") as fh:
            return fh.read()[-3000:]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()


def frames(times, t0, t1):
    return [t for t in times if t0 <= t < t1]


def longest_gap(times, t0, t1):
    """The longest stretch of [t0, t1) without a decoded frame."""
    pts = [t0] + frames(times, t0, t1) + [t1]
    return max(b - a for a, b in zip(pts, pts[1:]))


def closing_lines(server, sessions):
    """Each session's closing line(s) of its PeerConnection, from the server's log."""
    with open(server.log_path, errors="replace") as fh:
        log = fh.read()
    found = {}
    for name, sid in sessions.items():
        found[name] = [ln for ln in log.splitlines()
                       if "closed (" in ln and "rtp in" in ln and str(sid) in ln]
    return found


def counts(line):
    """The counters of a closing line ("rtp in N out N, rtcp in N out N, nacks in N, ...")."""
    m = re.search(r"rtp in (\d+) out (\d+), rtcp in (\d+) out (\d+), nacks in (\d+), "
                  r"retransmitted (\d+), rtx in (\d+)", line)
    keys = ("rtp in", "rtp out", "rtcp in", "rtcp out", "nacks in", "retransmitted", "rtx in")
    return dict(zip(keys, map(int, m.groups()))) if m else {}


def log_since(server, offset):
    with open(server.log_path, errors="replace") as fh:
        fh.seek(offset)
        return fh.read()


def scenario(tap, link, client, server, http, name, faults, seconds, min_fps):
    mark = client.mark()
    log_at = os.path.getsize(server.log_path)
    client.send("start")
    up = client.expect(("up", "error"), mark, 40)
    check(up["ev"] == "up", "calls did not come up: %s" % up.get("error"))
    sessions = up["sessions"]
    check(up["server_candidates"] == [SERVER_ADDR],
          "the server offers the faulty path only: %r" % up["server_candidates"])
    time.sleep(BASELINE_S)
    before = link.stats()
    t_on = link.set(**faults)
    time.sleep(seconds)
    during = link.stats()
    t_off = link.set()
    time.sleep(AFTER_S)
    ticks = client.ticks(mark)
    client.send("stop")
    stopped = client.expect(("stopped",), mark, 30)
    alive = server.alive()

    legs = list(ticks[-1]["video"]) if ticks else []
    times = {leg: [t for tk in ticks for t in tk["video"].get(leg, [])] for leg in legs}
    events = [e for tk in ticks for e in tk["events"]]
    ice_states = sorted({s for tk in ticks for s in tk["ice"].values()})
    emu = {k: during[k] - before[k] for k in ("udp", "dropped", "duplicated", "reordered")}
    lines = closing_lines(server, sessions)
    renewals = log_since(server, log_at).count("no consent answer")
    tap.note("%s: link %r; consent renewed %d times" % (name, emu, renewals))
    problems = []
    for leg in legs:
        ts = times[leg]
        n_during = len(frames(ts, t_on, t_off))
        n_after = len(frames(ts, t_off, t_off + AFTER_S))
        gap = longest_gap(ts, t_on, t_off)
        text = "%s: %s: video frames decoded: %d before (%.1f s), %d during (%.0f s, %.1f/s, " \
               "longest gap %.2f s), %d in the %.0f s after" % (
                   name, leg, len(frames(ts, 0, t_on)), BASELINE_S, n_during, seconds,
                   n_during / seconds, gap, n_after, AFTER_S)
        if min_fps is None:  # blackout: nothing through, then back within 2 s
            back = frames(ts, t_off, t_off + AFTER_S)
            recovery = back[0] - t_off if back else None
            tenth = back[9] - t_off if len(back) >= 10 else None
            text += "; recovery: first frame %s, 10th %s after the link returned" % (
                "%.0f ms" % (recovery * 1000) if recovery is not None else "never",
                "%.0f ms" % (tenth * 1000) if tenth is not None else "never")
            if len(frames(ts, t_on + 0.5, t_off)):
                problems.append("%s decoded video during the blackout: the link was not down"
                                % leg)
            if recovery is None or recovery > RECOVERY_MAX_S:
                problems.append("%s: video not back within %.0f s of the link (%r)"
                                % (leg, RECOVERY_MAX_S, recovery))
        else:
            if n_during < min_fps * seconds:
                problems.append("%s: %d frames in %.0f s of %s, want >= %d/s"
                                % (leg, n_during, seconds, name, min_fps))
            if gap > MAX_GAP_S:
                problems.append("%s: no frame for %.2f s during %s" % (leg, gap, name))
        settled = len(frames(ts, t_off + AFTER_S - SETTLED_S, t_off + AFTER_S))
        text += "; %d in the last %.0f s" % (settled, SETTLED_S)
        if settled < 10 * SETTLED_S:
            problems.append("%s: %d frames in the last %.0f s after, want >= 10/s"
                            % (leg, settled, SETTLED_S))
        tap.note(text)
    for leg, ls in sorted(lines.items()):
        for ln in ls:
            c = counts(ln)
            tap.note("%s: server, %s: rtp in %d out %d, nacks in %d, retransmitted %d, "
                     "rtx in %d" % (name, leg, c.get("rtp in", -1), c.get("rtp out", -1),
                                    c.get("nacks in", -1), c.get("retransmitted", -1),
                                    c.get("rtx in", -1)))
    check(sorted(legs) == ["echo", "vr"], "video legs reported: %r" % legs)
    check(not stopped.get("problems"), "ending the calls: %r" % stopped.get("problems"))
    check(alive, "server alive")
    hangups = [e for e in events if e["janus"] in ("hangup", "detached", "timeout")]
    check(not hangups, "no hangup: %r" % hangups)
    check(not set(ice_states) - {"checking", "completed"}, "ICE states seen: %r" % ice_states)
    # The emulator really did what the scenario says.
    if faults.get("loss"):
        check(emu["dropped"] > 0, "the link dropped packets: %r" % emu)
    if faults.get("dup"):
        check(emu["duplicated"] > 0, "the link duplicated packets: %r" % emu)
    if faults.get("reorder") or faults.get("jitter_ms"):
        check(emu["reordered"] > 0, "the link reordered packets: %r" % emu)
    check(not problems, "; ".join(problems))
    if min_fps is None and seconds > 10:
        check(renewals >= len(sessions), "consent went unanswered for over 10 s on each "
              "PeerConnection during a %d s blackout, and the call went on: %d" % (seconds,
                                                                                renewals))
    # No state left: every PeerConnection closed, every session gone.
    check(all(len(ls) == 1 for ls in lines.values()) and len(lines) == 3,
          "one closing line per PeerConnection: %r" % lines)
    for leg, sid in sessions.items():
        _, r = http.call("POST", "/janus/%d" % sid, {"janus": "keepalive", "transaction": "k"})
        check(error_code(r) == 458, "session of %s gone after the call: %r" % (leg, r))


def consent_expiry(tap, link, client, server, http):
    """The link goes down for good: the server must still end the calls itself (RFC 7675:
    consent expires 30 s after the last answered check), not keep sending for ever."""
    mark = client.mark()
    client.send("start")
    up = client.expect(("up", "error"), mark, 40)
    check(up["ev"] == "up", "calls did not come up: %s" % up.get("error"))
    time.sleep(1)
    t_down = link.set(loss=1.0)
    legs = set(up["sessions"])
    hangups = {}
    deadline = time.time() + CONSENT_MAX_S + 5
    while time.time() < deadline and set(hangups) != legs:
        for e in [e for tk in client.ticks(mark) for e in tk["events"]]:
            if e["janus"] == "hangup" and e["leg"] not in hangups:
                hangups[e["leg"]] = (e["t"] - t_down, e.get("reason"))
        time.sleep(0.2)
    link.set()
    client.send("stop")
    client.expect(("stopped",), mark, 30)
    for leg, (secs, reason) in sorted(hangups.items()):
        tap.note("link down for good: %s: hangup %.1f s later (%s)" % (leg, secs, reason))
    check(server.alive(), "server alive")
    check(set(hangups) == legs, "every call hung up: %r of %r" % (sorted(hangups), sorted(legs)))
    for leg, (secs, reason) in hangups.items():
        check(CONSENT_MIN_S <= secs <= CONSENT_MAX_S, "%s hung up %.1f s after the link went, "
              "want %d..%d s" % (leg, secs, CONSENT_MIN_S, CONSENT_MAX_S))
    lines = closing_lines(server, up["sessions"])
    # The subscriber may have had a second PeerConnection: the publisher's consent expires in
    # the same instant, the VideoRoom offers the subscriber the room without that feed, and
    # the core makes that offer on a fresh PeerConnection when the failed one is already gone
    # (as the reference does after a hangup). It carries nothing and is closed when the
    # subscriber's own hangup arrives.
    def expected(leg, ls):
        later_ok = all(counts(ln).get("rtp out", 1) == 0 and counts(ln).get("rtp in", 1) == 0
                       for ln in ls[1:])
        return (ls and "closed (ICE failed)" in ls[0] and
                (len(ls) == 1 or (leg == "vr" and len(ls) == 2 and later_ok)))
    check(all(expected(leg, ls) for leg, ls in lines.items()),
          "one closing line per PeerConnection, for the ICE failure: %r" % lines)
    for leg, sid in up["sessions"].items():
        _, r = http.call("POST", "/janus/%d" % sid, {"janus": "keepalive", "transaction": "k"})
        check(error_code(r) == 458, "session of %s gone after the call: %r" % (leg, r))


def main():
    builddir = builddir_from_argv()
    tap = Tap("faults")
    link = FaultLink()
    server = client = None
    try:
        server = Server(builddir, ws=False, name="faults",
                        args=["--bind", "0.0.0.0", "--ice-enforce-list", SERVER_IF])
        client = Client(link, server.tmp)
        http = Http()
        for name, faults, seconds, min_fps in SCENARIOS:
            with tap.case("%s: the calls survive, video decodes during and after" % name):
                scenario(tap, link, client, server, http, name, faults, seconds, min_fps)
        with tap.case("link down for good: consent expires, the server hangs up in %d..%d s"
                      % (CONSENT_MIN_S, CONSENT_MAX_S)):
            consent_expiry(tap, link, client, server, http)
    finally:
        if client:
            client.close()
        link.close()
        if server:
            stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
