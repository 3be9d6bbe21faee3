#!/usr/bin/python3
"""The report of bench/cc_bench.sh: from the JSON of each cc_run.py run, per server

  - subscribe -> first decoded frame on the unshaped link (p50/p90/max of the runs'
    subscribes, with the steps: attached, webrtcup);
  - per shaped case (a subscriber behind --limit kbit/s for --duration s from its first
    frame): freezes over 500 ms per minute (framesDecoded stalls, and Chromium's own
    freezes over 500 ms), decoded fps, the layer decoded, NACK/PLI/loss, tbf drops, and a
    timeline of fps and resolution per 5 s.

    bench/cc_report.py OUT_DIR [--label TEXT]   (TEXT: what was measured, a commit say)

Targets of issue 14: 0 freezes over 500 ms per minute for Switchboard's 400 kbit/s
subscriber (beside the reference's, which has no automatic layer choice), and subscribe ->
first frame <= 300 ms p50."""
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration", "lib"))
import cclab  # noqa: E402

FREEZE_MS = 500
FIRST_FRAME_TARGET_MS = 300


def pct(values, p):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def ms(v):
    return "%6.0f" % v if v is not None else "     -"


def first_frame_lines(runs):
    out = ["subscribe -> first decoded frame, unshaped link (ms from the join request; "
           "p50 / p90 / max)", "%-12s %4s  %-22s %-22s %-22s" % (
               "server", "n", "attached", "webrtcup", "first frame")]
    for server, rs in runs:
        times = [t for r in rs for t in r["first_frame"]]
        cols = []
        for key in ("attached", "webrtcup", "frame"):
            v = [t[key] - t["join"] for t in times if t.get(key)]
            cols.append("%s / %s / %s" % (ms(pct(v, 50)), ms(pct(v, 90)),
                                         ms(max(v) if v else None)))
        out.append("%-12s %4d  %-22s %-22s %-22s" % (server, len(times), *cols))
    return out


def case_summary(c):
    s, t0, t1 = c["samples"], c["t0"], c["t1"]
    minutes = (t1 - t0) / 60000.0
    stalls = cclab.stalls(s, t0, t1, FREEZE_MS)
    chrom = [f for f in cclab.chromium_freezes(s, t0, t1) if f[1] > FREEZE_MS]
    ws = {}
    win = [x for x in cclab.window(s, t0, t1) if x["w"]]
    for a, b in zip(win, win[1:]):
        ws[a["w"]] = ws.get(a["w"], 0) + (b["t"] - a["t"])
    total = sum(ws.values()) or 1
    first = (c["times"].get("frame") or c["t0"]) - c["times"]["join"] \
        if c.get("times") else None
    tbf = c.get("tbf") or {}
    return {
        "first_ms": first,
        "stalls_per_min": len(stalls) / minutes if minutes > 0 else None,
        "chromium_per_min": len(chrom) / minutes if minutes > 0 else None,
        "stalled_s": sum(x[1] for x in stalls) / 1000.0,
        "longest_s": max([x[1] for x in stalls] or [0]) / 1000.0,
        "fps": cclab.fps(s, t0, t1),
        "widths": ", ".join("%d: %.0f%%" % (w, 100.0 * d / total)
                            for w, d in sorted(ws.items(), key=lambda x: -x[1])),
        "fc": cclab.delta(s, "fc", t0, t1), "tfd": cclab.delta(s, "tfd", t0, t1),
        "nack": cclab.delta(s, "nack", t0, t1), "pli": cclab.delta(s, "pli", t0, t1),
        "lost": cclab.delta(s, "lost", t0, t1),
        "tbf_drop": tbf.get("dropped"), "tbf_sent": tbf.get("sent_pkts"),
        "events": ["%s%d@%.1fs" % (k[0], e["msg"][k], (e["t"] - t0) / 1000.0)
                   for e in c.get("events", []) for k in ("substream", "temporal")
                   if k in e["msg"]],
        "timeline": cclab.timeline(s, t0, t1, 5000),
    }


def shaped_lines(runs, limit, duration):
    out = ["subscriber behind %s kbit/s (tc tbf, 4 KB bucket, 300 ms queue), %s s from its "
           "first frame" % (limit, duration),
           "%-12s %-6s %7s %8s %8s %8s %8s %6s  %-28s %6s %5s %6s %9s" % (
               "server", "case", "1st ms", "frz/min", "chr/min", "stalled", "longest", "fps",
               "layers decoded (time share)", "NACK", "PLI", "lost", "tbf drop/sent")]
    details = []
    for server, rs in runs:
        for r in rs:
            for name, c in sorted(r["cases"].items()):
                x = case_summary(c)
                out.append("%-12s %-6s %7s %8.1f %8.1f %7.1fs %7.1fs %6.1f  %-28s %6d %5d %6d "
                           "%9s" % (server, name, ms(x["first_ms"]).strip(),
                                    x["stalls_per_min"], x["chromium_per_min"], x["stalled_s"],
                                    x["longest_s"], x["fps"], x["widths"], x["nack"],
                                    x["pli"], x["lost"], "%s/%s" % (x["tbf_drop"],
                                                                     x["tbf_sent"])))
                details.append("%s %s: fps and size per 5 s: %s" % (server, name, "  ".join(
                    "%.0fs %.0f %s%s" % (t, f, wh, " (%d stall)" % n if n else "")
                    for t, f, wh, n in x["timeline"])))
                if x["events"]:
                    details.append("%s %s: layer events (s: substream, t: temporal, @ s "
                                   "from the first frame) %s" % (server, name,
                                                                 " ".join(x["events"])))
    return out + [""] + details


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    label = sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else "?"
    by_server = {}
    meta = None
    for path in sorted(glob.glob(os.path.join(out_dir, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        by_server.setdefault(r["server"], []).append(r)
        meta = meta or r
    runs = sorted(by_server.items(), key=lambda x: x[0] != "switchboard")
    if not runs:
        sys.exit("no run in %s" % out_dir)
    lines = ["cc: picture quality on a shaped link and subscribe -> first frame, Switchboard "
             "vs Debian's janus (bench/cc_bench.sh)",
             "Switchboard: %s" % label,
             "%s; %d CPUs; janus.js simulcast publisher (fake camera 1280x720, layers "
             "900/300/100 kbit/s max), room bitrate 0; %s" % (
                 "Chromium " + (meta.get("browser") or "?"), os.cpu_count(),
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(meta["started"]))),
             ""]
    lines += first_frame_lines(runs)
    for server, rs in runs:
        v = [t["frame"] - t["join"] for r in rs for t in r["first_frame"] if t.get("frame")]
        p50 = pct(v, 50)
        if server == "switchboard" and p50 is not None:
            lines.append("switchboard first frame p50 %.0f ms (target <= %d ms): %s" % (
                p50, FIRST_FRAME_TARGET_MS, "ok" if p50 <= FIRST_FRAME_TARGET_MS else "MISSED"))
    lines.append("")
    lines += shaped_lines(runs, meta.get("limit_kbit"), meta.get("duration_s"))
    lines.append("")
    lines.append("frz/min: framesDecoded stalls over %d ms per minute (sampled every 100 ms); "
                 "chr/min: Chromium's freezes (freezeCount) over %d ms per minute" % (
                     FREEZE_MS, FREEZE_MS))
    for server, rs in runs:
        for r in rs:
            for e in r.get("errors", []):
                lines.append("error (%s): %s" % (server, e))
            for p in r.get("server_problems", []):
                lines.append("server problem (%s): %s" % (server, p[:300]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
