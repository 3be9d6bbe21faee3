#!/usr/bin/python3
"""Cost per forwarded packet from a profile (used by bench/profile.sh).

    profile_report.py perf REPORT_TXT PACKETS HZ
        REPORT_TXT: `perf report --stdio --no-children -n --sort comm,dso,symbol`
    profile_report.py callgrind ANNOTATE_TXT PACKETS
        ANNOTATE_TXT: `callgrind_annotate --inclusive=no` (or yes)
"""
import re
import sys


def perf(path, pkts, hz):
    rows = []
    for line in open(path):
        m = re.match(r"\s+([\d.]+)%\s+(\d+)\s+(\S+)\s+(\S+)\s+\[.\]\s+(.*?)\s*$", line)
        if m:
            sym = re.sub(r"(\s+-)+\s*$", "", m.group(5))
            rows.append((int(m.group(2)), m.group(3), m.group(4), sym))
    samples = sum(r[0] for r in rows)
    us = 1e6 / hz  # cpu-clock: one sample is 1/hz s of CPU
    print("server CPU in the interval: %.0f ms = %.2f us per forwarded packet"
          % (samples * us / 1000, samples * us / pkts))
    for what, idx in (("thread", 1), ("object", 2)):
        by = {}
        for r in rows:
            by[r[idx]] = by.get(r[idx], 0) + r[0]
        top = sorted(by.items(), key=lambda kv: -kv[1])[:10]
        print("by %s: %s" % (what, ", ".join("%s %.2f" % (k, v * us / pkts) for k, v in top)))
    print("%7s %8s  %-12s %-26s %s" % ("self %", "us/pkt", "thread", "object", "symbol"))
    for n, comm, dso, sym in rows[:45]:
        print("%6.2f%% %8.3f  %-12s %-26s %s" % (100.0 * n / max(samples, 1), n * us / pkts,
                                                comm[:12], dso[:26], sym[:70]))


def callgrind(path, pkts):
    total = None
    rows = []
    for line in open(path):
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*([\d.]+)%\)\s+)?(.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        rest = m.group(3)
        if "PROGRAM TOTALS" in rest:
            total = ir
        elif total is not None and rest and ":" in rest:
            rows.append((ir, rest.strip()))
    total = total or 1
    print("instructions in the interval: %d = %.0f per forwarded packet" % (total, total / pkts))
    print("%7s %10s  %s" % ("%", "Ir/pkt", "function"))
    for ir, fn in rows[:45]:
        print("%6.2f%% %10.0f  %s" % (100.0 * ir / total, ir / pkts, fn[:110]))


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    pkts = max(int(float(sys.argv[3])), 1)
    if sys.argv[1] == "perf":
        perf(sys.argv[2], pkts, float(sys.argv[4]) if len(sys.argv) > 4 else 4999)
    else:
        callgrind(sys.argv[2], pkts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
