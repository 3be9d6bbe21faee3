#!/usr/bin/python3
"""How long a browser call stays frozen after its address changes and it restarts ICE.

    bench/ice_restart.py [BUILD_DIR] [--count N] [--settle S] [--early N] [--early-settle S]
                         [--media-only N] [--debug] [--out FILE]

In a private network namespace (re-executed under `unshare --net`): Switchboard, and one
headless Chromium (Debian's, janus.js EchoTest, tests/integration/web/ice_restart.html) in
a client namespace joined to the server's by two veth pairs (tests/integration/lib/
restartlab.py: signaling over one, media over the other). One call; then N times (--count,
default 20): the client's media address moves (the old one deleted: the old path is dead,
frames stop), S seconds later (--settle, default 2.5) the page restarts ICE (janus.js
createOffer({iceRestart: true}) sent with the EchoTest message) and measures, from the
moment the offer is sent, until the next video frame decoded on a pair whose local address
is the new one (framesDecoded counted per receive stream: the server's answer gives new
SSRCs, so Chromium starts new ones).

Why S = 2.5 s: Chromium learns of a new local address only about 2 s after it appears (its
network list); a restart's gathering before that has no candidate on the new address, so a
shorter wait measures Chromium, not the server. The `early` series (--early N, default 5,
at --early-settle 0.5 s) shows that. Then the same restarts against a second server that
offers only its media address (--media-only N, default 20; --ice-enforce-list 198.18.1.1),
which removes the dead candidate pairs the default server (every interface) adds here.

Breakdown per restart, in ms after the offer was sent: the answer; the new local candidate
Chromium gathered; on the wire (a capture of the server's media veth): the server's first
check to the new address, Chromium's first check from it, the server's PLI to it (RTCP
PSFB FMT 1), the first RTP to it; from the server log: "ICE restart done, new pair
selected"; from getStats: the new pair selected, the first frame decoded. Prints p50/p90
and writes the tables to --out (default bench/results/ice_restart.txt). Target: p50 offer
-> frame within 1 s (the main series). --debug runs the server at log level debug.
Needs root (unshare), chromium, node with playwright-core (tests/integration).
"""
import datetime
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration", "lib"))
import restartlab  # noqa: E402
from udpsniff import Sniffer  # noqa: E402

TARGET_MS = 1000
COLUMNS = [("answer", "answer"), ("cand", "new cand"), ("srv_check", "srv chk"),
           ("cli_check", "cli chk"), ("log_done", "srv pair"), ("pli", "PLI"),
           ("rtp", "1st RTP"), ("pair", "cli pair"), ("frame", "frame")]


def pct(values, p):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


LOG_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) ")


def log_times(text, needle):
    """Epoch seconds of every server log line containing needle (the log's clock is local
    time of day: the date is today's, or yesterday's just after midnight)."""
    out = []
    today = datetime.date.today()
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m or needle not in line:
            continue
        h, mi, s, ms = (int(x) for x in m.groups())
        t = datetime.datetime.combine(today, datetime.time(h, mi, s, ms * 1000)).timestamp()
        if t > time.time() + 3600:
            t -= 86400
        out.append(t)
    return out


def one_restart(lab, page, sniffer, settle):
    """Move, wait settle, restart; the row of the table (ms after the offer)."""
    page.call("sbWatch", {"ms": 1000, "everyMs": 500})  # a second of media on the path
    old, new = lab.move_media()
    time.sleep(settle)
    r = page.call("sbEchoRestart", {"expectLocal": new, "waitMs": 10000}, timeout=40)
    time.sleep(0.3)  # let the capture catch up
    w0 = r["wall0"] / 1000.0
    row = {"old": old, "new": new, "answer": r.get("answerMs")}
    tl = r.get("timeline") or {}
    row["pair"], row["frame"] = tl.get("pair"), tl.get("frame")
    row["cand"] = next((g["t"] for g in tl.get("gathered", [])
                        if g["c"].startswith(new + " ") and " 9 typ" not in g["c"]), None)
    pk = [p for p in sniffer.snapshot() if p.t >= w0 - 0.05]
    ms = lambda p: round((p.t - w0) * 1000) if p else None  # noqa: E731
    row["srv_check"] = ms(next((p for p in pk if p.out and p.dst[0] == new and p.kind == "stun"
                                and p.detail["class"] == 0), None))
    row["cli_check"] = ms(next((p for p in pk if not p.out and p.src[0] == new
                                and p.kind == "stun" and p.detail["class"] == 0), None))
    row["pli"] = ms(next((p for p in pk if p.out and p.dst[0] == new and p.kind == "rtcp"
                          and p.detail["pt"] == 206 and p.detail["fmt"] == 1), None))
    row["rtp"] = ms(next((p for p in pk if p.out and p.dst[0] == new and p.kind == "rtp"),
                         None))
    log = lab.log()
    for key, needle in (("log_new", "ICE restart: new local credentials"),
                        ("log_done", "ICE restart done, new pair selected")):
        ts = [t for t in log_times(log, needle) if w0 - 0.05 <= t <= w0 + 10]
        row[key] = round((ts[0] - w0) * 1000) if ts else None
    row["error"] = None if tl.get("frame") is not None else (
        r.get("error") or "no frame on %s: %s" % (new, tl.get("last")))
    row["hangups"] = (r.get("summary") or {}).get("hangups")
    return row


def fmt(v):
    return "%6s" % ("-" if v is None else "%d" % round(v))


def table(name, rows, settle):
    lines = ["%s: %d restarts, each %.1f s after the address change" % (name, len(rows), settle),
             "  ms after the offer: " + " ".join("%8s" % c[1] for c in COLUMNS)]
    for i, r in enumerate(rows):
        lines.append("  %2d %-15s  " % (i + 1, r["new"]) +
                     " ".join("  " + fmt(r[k]) for k, _ in COLUMNS) +
                     ("  ERROR %s" % r["error"] if r["error"] else ""))
    for p in (50, 90):
        lines.append("  p%d %15s  " % (p, "") +
                     " ".join("  " + fmt(pct([r[k] for r in rows], p)) for k, _ in COLUMNS))
    lines.append("  max %14s  " % "" +
                 " ".join("  " + fmt(max([r[k] for r in rows if r[k] is not None],
                                         default=None)) for k, _ in COLUMNS))
    return lines


def run_lab(build, debug, media_only, series):
    """One server and one call; series: [(name, count, settle)]. Returns a dict of rows per
    series plus what the whole run says (hangups, server log counts, stop problems)."""
    extra = ["--ice-enforce-list", restartlab.SERVER_MEDIA] if media_only else []
    lab = restartlab.RestartLab(build, log_level="debug" if debug else "info",
                                name="ice-restart-bench", extra_args=extra)
    sniffer = Sniffer(lab.media.name_b)
    sniffer.start()
    out = {"rows": {}, "version": None, "hangups": None}
    try:
        page = lab.open_page()
        out["version"] = page.browser_version
        start = page.call("sbEchoStart", {"server": lab.api}, timeout=60)
        print("%s: call up: webrtcup %d ms, frames %d ms; server candidates %s" % (
            "media-only" if media_only else "all", start["joinMs"], start["firstFramesMs"],
            "198.18.1.1 only" if media_only else "every interface"), flush=True)
        for name, n, settle in series:
            rows = out["rows"][name] = []
            for i in range(n):
                row = one_restart(lab, page, sniffer, settle)
                rows.append(row)
                print("%s %2d: %s -> %s: answer %s, frame %s ms%s" % (
                    name, i + 1, row["old"], row["new"], row["answer"], row["frame"],
                    "  ERROR " + str(row["error"])[:300] if row["error"] else ""), flush=True)
        out["hangups"] = page.call("sbStats", {})["summary"]["hangups"]
        page.call("sbLeave", {}, timeout=20)
    finally:
        sniffer.stop()
        lab.close_pages()
        log = lab.log()
        out["problems"] = lab.stop_server()
        lab.close()
    out["n_new"] = log.count("ICE restart: new local credentials")
    out["n_done"] = log.count("ICE restart done, new pair selected")
    return out


def summary_line(name, rows):
    p50 = pct([r["frame"] for r in rows], 50)
    p90 = pct([r["frame"] for r in rows], 90)
    failed = [r for r in rows if r["error"]]
    return p50, "%s: offer -> frame p50 %s ms, p90 %s ms over %d restarts, %d failed" % (
        name, fmt(p50).strip(), fmt(p90).strip(), len(rows), len(failed))


def main():
    args = sys.argv[1:]
    build, count, settle, early, early_settle = os.path.join(TOP, "build"), 20, 2.5, 5, 0.5
    debug, out_file = False, os.path.join(HERE, "results", "ice_restart.txt")
    media_count = 20
    while args:
        a = args.pop(0)
        if a == "--count":
            count = int(args.pop(0))
        elif a == "--settle":
            settle = float(args.pop(0))
        elif a == "--early":
            early = int(args.pop(0))
        elif a == "--early-settle":
            early_settle = float(args.pop(0))
        elif a == "--media-only":
            media_count = int(args.pop(0))
        elif a == "--debug":
            debug = True
        elif a == "--out":
            out_file = os.path.abspath(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            build = os.path.abspath(a)
    if os.environ.get("SB_BENCH_NS") != "1":
        os.environ["SB_BENCH_NS"] = "1"
        argv = [sys.executable, os.path.abspath(__file__), build, "--count", str(count),
                "--settle", str(settle), "--early", str(early), "--early-settle",
                str(early_settle), "--media-only", str(media_count), "--out", out_file] + \
            (["--debug"] if debug else [])
        os.execvp("unshare", ["unshare", "--net", "--"] + argv)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    why = restartlab.missing()
    if why:
        print("cannot run: %s" % why)
        return 2
    t_start = time.time()
    runs = [("all", run_lab(build, debug, False, [("main", count, settle),
                                                  ("early", early, early_settle)]))]
    if media_count:
        runs.append(("media-only", run_lab(build, debug, True,
                                           [("main", media_count, settle)])))
    main_rows = runs[0][1]["rows"]["main"]
    p50, line = summary_line("main", main_rows)
    failed = sum(1 for _, r in runs for rows in r["rows"].values() for x in rows if x["error"])
    head = [
        "bench/ice_restart.py: offer sent -> first video frame decoded on the new path",
        "%s, Switchboard %s (%s), Chromium %s, %d cores; %.0f s" % (
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), build,
            "debug log" if debug else "info log", runs[0][1]["version"], os.cpu_count(),
            time.time() - t_start),
        "one EchoTest call (janus.js, trickle) per server, client in its own namespace; its "
        "media address moves, then janus.js createOffer({iceRestart: true}) with the message",
        "",
        "RESULT (default server, candidates on every interface, restart %.1f s after the "
        "move): %s (target p50 <= %d ms: %s)" % (
            settle, line.split(": ", 1)[1], TARGET_MS,
            "met" if p50 is not None and p50 <= TARGET_MS else "MISSED"),
    ]
    for cfg, r in runs:
        for name, rows in r["rows"].items():
            if rows:
                head.append("  %-10s %s" % (cfg, summary_line(name, rows)[1]))
        head.append("  %-10s server log: %d 'new local credentials', %d 'restart done'; "
                    "hangups %s; server stop %s" % (
                        cfg, r["n_new"], r["n_done"], r["hangups"],
                        "clean" if not r["problems"] else r["problems"][:1]))
    head += [
        "",
        "columns (ms after the offer was sent): answer = the server's answer received; new "
        "cand = Chromium gathered its host candidate on the new address; srv chk / cli chk = "
        "first STUN check from the server to the new address / from it (capture); srv pair "
        "= 'ICE restart done, new pair selected' (server log, ms resolution); PLI = RTCP "
        "PSFB FMT 1 to the new address (capture); 1st RTP = first RTP to it (capture); cli "
        "pair = getStats shows the new pair (polled every ~15 ms); frame = framesDecoded "
        "grew on it",
        "",
    ]
    body = []
    titles = {("all", "main"): "all interfaces", ("all", "early"): "all interfaces, early",
              ("media-only", "main"): "media-only (--ice-enforce-list 198.18.1.1)"}
    for cfg, r in runs:
        for name, rows in r["rows"].items():
            if rows:
                s_ = settle if name == "main" else early_settle
                body += table(titles.get((cfg, name), cfg + " " + name), rows, s_) + [""]
    notes = [
        "notes:",
        "- the server's own part is short: once Chromium's check from the new address "
        "arrives, the new pair, the log line and the PLI come within ~1 ms; its own first "
        "check to the trickled candidate goes out ~60 ms after Chromium gathered it "
        "(media-only; ~180 ms with every interface, dead pairs first).",
        "- all interfaces: the server offers 127.0.0.1, 198.18.3.1 (signaling veth, UDP "
        "dropped) and 198.18.1.1, and Chromium three host candidates: the working pair has "
        "the lowest priority on both sides, so both agents spend a few hundred ms checking "
        "dead pairs first. media-only shows the same restart with one server address.",
        "- early: Chromium learns of the new address ~2 s after it appears; a restart sent "
        "before that gathers no candidate there ('new cand' column), and recovery waits for "
        "Chromium's network list, not for the server.",
        "- the restart answer keeps the server's SSRCs (since f698210): Chromium's receive "
        "streams and decoder go on.",
    ]
    text = "\n".join(head + body + notes) + "\n"
    print(text)
    if out_file:
        os.makedirs(os.path.dirname(out_file), exist_ok=True)
        with open(out_file, "w") as f:
            f.write(text)
    return 0 if p50 is not None and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
