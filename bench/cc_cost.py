#!/usr/bin/python3
"""Tables for bench/cc_cost.sh.

    cc_cost.py one RUN.json                 one line for a run
    cc_cost.py cpu DIR VARIANT...           median server CPU per forwarded packet per variant
                                            (DIR/VARIANT-REP.json)
    cc_cost.py callgrind DIR VARIANT...     instructions per forwarded packet per variant
                                            (DIR/cg-VARIANT.cg.N, DIR/cg-VARIANT.json)

Forwarded packets, for callgrind: calls of sb_peer_forward_rtp in the instrumented interval
(every copy sent to a subscriber), read from the profile itself.
"""
import glob
import json
import re
import statistics
import sys

# Congestion control and what it drives, inclusive (what each call costs with its callees).
CC_FUNCS = [
    ("sb_peer_cc_stamp", "stamp: our transport seq on each packet sent (clock, ring, write)"),
    ("sb_twcc_send_next", "  the send ring"),
    ("sb_rtp_parse", "  (all RTP parses: the stamp's before the fix among them)"),
    ("sb_rtp_copy_with_ext", "  header rebuilt: the copy had no element to overwrite"),
    ("clock_gettime@@GLIBC_2.17", "(all clock reads: the stamp's among them)"),
    ("sb_peer_media_on_rtcp", "RTCP from the clients: SRTCP, parse, handling (RRs too)"),
    ("sb_srtp_unprotect_rtcp", "  SRTCP (libsrtp2)"),
    ("sb_peer_cc_on_feedback", "  a transport-cc message: parse, match, estimate"),
    ("sb_twcc_send_on_feedback", "    matched to what was sent (decode included)"),
    ("sb_bwe_on_feedback", "    the estimator"),
    ("sb_peer_cc_tick", "CC tick per peer: feedback we send, probes, estimate to the plugin"),
    ("sb_vr_alloc_on_estimate", "  VideoRoom layer choice on an estimate"),
    ("sb_vr_alloc_measure", "VideoRoom layer bitrates (per publisher packet)"),
    ("sb_peer_cc_on_rtp", "publisher side: arrival recorded (per publisher packet)"),
]


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def pairs(have):
    """The differences worth printing among the variants there: CC against none, each
    congestion control part, and each variant of another build (@LABEL) against its own."""
    out = []
    for sfx in sorted({"@" + v.split("@", 1)[1] if "@" in v else "" for v in have}):
        for a, b in (("fb", "before"), ("fb", "off"), ("nofb", "off"), ("fb", "nofb"),
                     ("nopub", "fb"), ("off", "before")):
            a2, b2 = a + sfx, b if b == "before" else b + sfx
            if a2 in have and b2 in have:
                out.append((a2, b2))
    for v in have:
        if "@" in v and v.split("@", 1)[0] in have:
            out.append((v, v.split("@", 1)[0]))
    return out


def run_figures(d):
    w = d.get("window") or {}
    sp = d.get("server_process") or {}
    pcs = d.get("peerconnections") or {}
    return {
        "us": sp.get("cpu_us_per_pkt"),
        "pps": w.get("received_per_s", 0),
        "loss": w.get("loss_pct", 0),
        "fb": w.get("twcc_feedback_sent", 0),
        "rec": w.get("twcc_recorded", 0),
        "up": "%s/%s" % (pcs.get("up"), pcs.get("planned")),
        "secs": d.get("window_s", 0),
    }


def one(path):
    d = load(path)
    if not d:
        print("%s: no summary" % path)
        return
    f = run_figures(d)
    print("%-28s %6s us/pkt  %7.0f pkt/s  loss %.2f%%  twcc recorded %d, feedback sent %d  pcs %s"
          % (path.rsplit("/", 1)[-1], "%.3f" % f["us"] if f["us"] else "-", f["pps"], f["loss"],
             f["rec"], f["fb"], f["up"]))


def cpu(d, variants):
    rows = {}
    print("server CPU per forwarded packet, us (utime + stime over the window / packets received)")
    print("%-8s %5s %8s %8s %8s  %9s %7s %10s  %s" % ("variant", "runs", "median", "min", "max",
                                                    "pkt/s", "loss %", "fb/s", "all runs"))
    for v in variants:
        figs = [run_figures(x) for x in (load(p) for p in sorted(glob.glob("%s/%s-*.json" % (d, v))))
                if x]
        us = [f["us"] for f in figs if f["us"]]
        if not us:
            print("%-8s no runs" % v)
            continue
        rows[v] = statistics.median(us)
        fbs = [f["fb"] / f["secs"] for f in figs if f["secs"]]
        print("%-8s %5d %8.3f %8.3f %8.3f  %9.0f %7.2f %10.0f  %s"
              % (v, len(us), rows[v], min(us), max(us),
                 statistics.median(f["pps"] for f in figs),
                 statistics.median(f["loss"] for f in figs), statistics.median(fbs) if fbs else 0,
                 " ".join("%.2f" % u for u in us)))
    for a, b in pairs(rows):
        print("%-10s - %-10s %+.3f us per forwarded packet (medians)" % (a, b, rows[a] - rows[b]))


def callgrind_parse(path):
    """Self and inclusive Ir and call counts per function name of a callgrind dump."""
    names = {}
    selfc, incl, calls = {}, {}, {}
    fn = None
    cfn = None
    pending_calls = None
    total = None

    def name(spec, table):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), spec)

    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("fn="):
            fn = name(line[3:], names)
            continue
        if line.startswith("cfn="):
            cfn = name(line[4:], names)
            continue
        if line.startswith("calls="):
            pending_calls = int(line[6:].split()[0])
            continue
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            continue
        parts = line.split()
        ir = int(parts[1]) if len(parts) > 1 else 0
        if pending_calls is not None:
            calls[cfn] = calls.get(cfn, 0) + pending_calls
            if cfn != fn:  # recursion would count twice
                incl[fn] = incl.get(fn, 0) + ir
            pending_calls = None
        elif fn is not None:
            selfc[fn] = selfc.get(fn, 0) + ir
            incl[fn] = incl.get(fn, 0) + ir
    return total or sum(selfc.values()), selfc, incl, calls


def callgrind(d, variants):
    res = {}
    for v in variants:
        dumps = sorted(glob.glob("%s/cg-%s.cg.*" % (d, v)))
        if not dumps:
            print("%s: no callgrind dump" % v)
            continue
        total, selfc, incl, calls = callgrind_parse(dumps[0])
        fwd = calls.get("sb_peer_forward_rtp", 0)
        js = load("%s/cg-%s.json" % (d, v))
        res[v] = (total, selfc, incl, calls, fwd, run_figures(js) if js else None)
    print("instructions (Ir) per forwarded packet, server under callgrind, one run per variant")
    print("%-8s %12s %10s %10s  %s" % ("variant", "forwarded", "Ir/pkt", "pkt/s", "loss % (window)"))
    for v, (total, _, _, _, fwd, f) in res.items():
        print("%-8s %12d %10.0f %10.0f  %s" % (v, fwd, total / max(fwd, 1), f["pps"] if f else 0,
                                              "%.2f" % f["loss"] if f else "-"))
    for a, b in pairs(res):
        ra, rb = res[a], res[b]
        print("%-10s - %-10s %+8.0f Ir per forwarded packet"
              % (a, b, ra[0] / max(ra[4], 1) - rb[0] / max(rb[4], 1)))
    print()
    print("inclusive Ir per forwarded packet (calls per forwarded packet)")
    print("%-26s" % "function" + "".join("%18s" % v for v in res) + "  what")
    for fname, what in CC_FUNCS:
        cells = []
        for v, (_, _, incl, calls, fwd, _) in res.items():
            if fname in incl:
                cells.append("%9.1f (%5.3f)" % (incl[fname] / max(fwd, 1),
                                                calls.get(fname, 0) / max(fwd, 1)))
            else:
                cells.append("-")
        print("%-26s" % fname + "".join("%18s" % c for c in cells) + "  " + what)
    for v, (_, _, incl, calls, fwd, _) in res.items():
        others = sorted(((n, c) for n, c in incl.items()
                         if re.match(r"sb_(bwe|twcc|vr_alloc|peer_cc)", n)
                         and n not in dict(CC_FUNCS)), key=lambda x: -x[1])[:8]
        if others:
            print("%s, more: %s" % (v, ", ".join("%s %.1f" % (n, c / max(fwd, 1))
                                                 for n, c in others)))


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if sys.argv[1] == "one":
        one(sys.argv[2])
    elif sys.argv[1] == "cpu":
        cpu(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "callgrind":
        callgrind(sys.argv[2], sys.argv[3:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
