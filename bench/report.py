#!/usr/bin/python3
"""Summarise a bench/run.sh output folder: the table (medians over repetitions), results.csv,
and plot.png (CPU per forwarded packet and latency against N, per scenario, both servers).

    bench/report.py OUT_DIR

Reads OUT_DIR/<server>-<scenario>-<N>-<rep>.json (sb-loadgen summaries) and .status files.
The plot needs python3-matplotlib (Debian); without it only the table and CSV are written."""
import csv
import glob
import json
import os
import re
import statistics
import sys

COLUMNS = [
    # key, header, format
    ("server", "server", "{}"),
    ("scenario", "scenario", "{}"),
    ("n", "N", "{}"),
    ("pcs", "PCs up", "{}"),
    ("pkt_s", "fwd pkt/s", "{:.0f}"),
    ("cpu_us_pkt", "CPU us/pkt", "{:.1f}"),
    ("cpu_pct", "srv CPU%", "{:.1f}"),
    ("loss_pct", "loss %", "{:.3f}"),
    ("lat_p50", "lat p50 ms", "{:.2f}"),
    ("lat_p99", "lat p99 ms", "{:.2f}"),
    ("join_p50", "join p50 ms", "{:.0f}"),
    ("join_p99", "join p99 ms", "{:.0f}"),
    ("kf_p50", "1st KF p50 ms", "{:.0f}"),
    ("rss_part_kb", "RSS/part KB", "{:.0f}"),
    ("lg_cpu", "LG CPU%", "{:.0f}"),
    ("runs", "runs", "{}"),
    ("status", "server status", "{}"),
]


def load(out):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        m = re.match(r"(\w+)-(\w+)-(\d+)-(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        server, scen, n, rep = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            continue
        status_path = path[:-5] + ".status"
        status = open(status_path).read().strip() if os.path.exists(status_path) else "?"
        runs.append((server, scen, n, rep, d, status))
    return runs


def metrics(d):
    w = d.get("window") or {}
    sp = d.get("server_process") or {}
    pcs = d["peerconnections"]
    sessions = max(pcs.get("sessions", 0), 1)
    rss = (sp.get("rss_kb_steady", 0) - sp.get("rss_kb_start", 0)) / sessions if sp else None
    kf = d.get("first_keyframe_ms", {})
    return {
        "pcs": "%d/%d" % (pcs["up"], pcs["planned"]),
        "pkt_s": w.get("received_per_s"),
        "cpu_us_pkt": sp.get("cpu_us_per_pkt") if w.get("received") else None,
        "cpu_pct": sp.get("cpu_pct"),
        "loss_pct": w.get("loss_pct"),
        "lat_p50": d["latency_ms"]["p50"] if d["latency_ms"]["samples"] else None,
        "lat_p99": d["latency_ms"]["p99"] if d["latency_ms"]["samples"] else None,
        "join_p50": d["join_to_webrtcup_ms"]["p50"] if d["join_to_webrtcup_ms"]["samples"] else None,
        "join_p99": d["join_to_webrtcup_ms"]["p99"] if d["join_to_webrtcup_ms"]["samples"] else None,
        "kf_p50": kf.get("p50") if kf.get("samples") else None,
        "rss_part_kb": rss,
        "lg_cpu": d.get("loadgen_cpu_pct"),
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(runs):
    groups = {}
    for server, scen, n, rep, d, status in runs:
        groups.setdefault((scen, n, server), []).append((metrics(d), status))
    rows = []
    for (scen, n, server), items in sorted(groups.items()):
        row = {"server": server, "scenario": scen, "n": n, "runs": len(items)}
        for key, _, _ in COLUMNS:
            if key in row or key == "status":
                continue
            vals = [m[key] for m, _ in items]
            row[key] = vals[-1] if key == "pcs" else median(vals)
        bad = sorted({s for _, s in items if s != "ok"})
        row["status"] = "; ".join(bad) if bad else "ok"
        rows.append(row)
    return rows


def table(rows):
    cells = [[h for _, h, _ in COLUMNS]]
    for r in rows:
        cells.append([("-" if r.get(k) is None else fmt.format(r[k])) for k, _, fmt in COLUMNS])
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for j, c in enumerate(cells):
        lines.append("  ".join(v.rjust(widths[i]) if i > 1 else v.ljust(widths[i])
                               for i, v in enumerate(c)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: apt-get install python3-matplotlib)")
        return
    scens = sorted({r["scenario"] for r in rows})
    servers = sorted({r["server"] for r in rows}, reverse=True)
    metrics_ = [("cpu_us_pkt", "server CPU per forwarded packet (us)"),
                ("lat_p50", "one-way latency p50 (ms)"),
                ("lat_p99", "one-way latency p99 (ms)")]
    fig, axes = plt.subplots(len(metrics_), len(scens), figsize=(4.2 * len(scens), 9),
                             squeeze=False)
    colors = {"switchboard": "tab:blue", "janus": "tab:orange"}
    for col, scen in enumerate(scens):
        for row, (key, label) in enumerate(metrics_):
            ax = axes[row][col]
            for server in servers:
                pts = sorted((r["n"], r[key]) for r in rows
                             if r["scenario"] == scen and r["server"] == server
                             and r.get(key) is not None)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=server,
                            color=colors.get(server))
            ns = sorted({r["n"] for r in rows if r["scenario"] == scen})
            if ns and ns[-1] > 4 * ns[0]:
                ax.set_xscale("log")
            ax.set_xticks(ns)
            ax.set_xticklabels([str(n) for n in ns])
            ax.minorticks_off()
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
            if row == 0:
                ax.set_title(scen + (" (N subscribers)" if scen == "fanout" else
                                     " (N persons)"))
            if col == 0:
                ax.set_ylabel(label)
            if row == len(metrics_) - 1:
                ax.set_xlabel("N")
            ax.legend(fontsize=8)
    fig.suptitle("Switchboard vs Janus: same load generator, same machine (medians)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print("plot: " + path)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = sys.argv[1]
    rows = aggregate(load(out))
    if not rows:
        print("no results in " + out)
        return 1
    print(table(rows))
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[k for k, _, _ in COLUMNS])
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) for k, _, _ in COLUMNS})
    plot(rows, os.path.join(out, "plot.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
