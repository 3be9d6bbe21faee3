#!/usr/bin/python3
"""Summarise a bench/data_bench.sh output folder: three tables of medians over repetitions
(game rooms, echo-data throughput, memory per association), both servers.

    bench/data_report.py OUT_DIR

Reads OUT_DIR/<server>@<case>@<rep>.json (sb-loadgen summaries), .status and .load files."""
import glob
import json
import os
import statistics
import sys


def load(out):
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "*@*@*.json"))):
        server, case, rep = os.path.basename(path)[:-5].split("@")
        try:
            d = json.load(open(path))
        except (OSError, ValueError):
            continue
        base = path[:-5]
        status = open(base + ".status").read().strip() if os.path.exists(base + ".status") else "?"
        load1 = open(base + ".load").read().split()[0] if os.path.exists(base + ".load") else None
        runs.setdefault((case, server), []).append((d, status, load1))
    return runs


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, f):
    return "-" if v is None else f.format(v)


def table(title, cols, rows):
    cells = [[h for h, _, _ in cols]] + [[fmt(r.get(k), f) for _, k, f in cols] for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    lines = [title, ""]
    for j, c in enumerate(cells):
        lines.append("  ".join(v.ljust(w[i]) if i < 2 else v.rjust(w[i]) for i, v in enumerate(c)))
        if j == 0:
            lines.append("  ".join("-" * x for x in w))
    return "\n".join(lines) + "\n"


def row(case, server, items, lat_key):
    def m(*keys):
        return med([get(d, *keys) for d, _, _ in items])
    bad = sorted({s for _, s, _ in items if s != "ok"})
    loads = [float(x) for _, _, x in items if x]
    last = items[-1][0]
    pcs = get(last, "peerconnections")
    return {
        "case": case, "server": server, "runs": len(items),
        "pcs": "%d/%d" % (pcs["up"], pcs["planned"]) if pcs else "-",
        "msg_s": m("window", "data_received_per_s"),
        "deliv": m("window", "delivered_pct"),
        "dup": m("window", "data_dup"), "reord": m("window", "data_reorder"),
        "gaps": m("window", "data_gaps"),
        "p50": m(lat_key, "p50"), "p99": m(lat_key, "p99"), "max": m(lat_key, "max"),
        "a50": m("data_arrival_latency_ms", "p50"), "a99": m("data_arrival_latency_ms", "p99"),
        "mbps": m("window", "data_recv_mbps"),
        "cpu": m("server_process", "cpu_pct"),
        "us_msg": m("server_process", "cpu_us_per_msg"),
        "ms_mb": (lambda v: v / 1000 if v is not None else None)(
            m("server_process", "cpu_us_per_mb")),
        "sdrops": m("window", "server_udp_drops"), "ldrops": m("window", "loadgen_udp_drops"),
        "rtx": m("loadgen_sctp", "retransmitted_chunks"),
        "t3": m("loadgen_sctp", "t3_timeouts"),
        "rss": m("server_process", "rss_kb_per_pc"),
        "lg": m("loadgen_cpu_pct"),
        "load": statistics.median(loads) if loads else None,
        "status": "; ".join(bad) if bad else "ok",
    }


def main():
    out = sys.argv[1]
    runs = load(out)
    order = {"switchboard": 0, "janus": 1}
    keys = sorted(runs, key=lambda k: (k[0], order.get(k[1], 9)))
    game = [row(c, s, runs[(c, s)], "latency_ms") for c, s in keys if c.startswith("game")]
    echo = [row(c, s, runs[(c, s)], "latency_ms") for c, s in keys if c.startswith("echo")]
    mem = [row(c, s, runs[(c, s)], "data_latency_ms") for c, s in keys if c.startswith("mem")]
    text = ""
    if game:
        text += table("Game rooms (8 persons, 30 msg/s x 100 B each; latency: send -> our SCTP "
                      "hands the message up; arrival: -> kernel receive timestamp)", [
            ("case", "case", "{}"), ("server", "server", "{}"), ("PCs", "pcs", "{}"),
            ("msg/s", "msg_s", "{:.0f}"), ("deliv %", "deliv", "{:.3f}"), ("dup", "dup", "{:.0f}"),
            ("reord", "reord", "{:.0f}"), ("gaps", "gaps", "{:.0f}"),
            ("p50 ms", "p50", "{:.2f}"), ("p99 ms", "p99", "{:.2f}"), ("max ms", "max", "{:.1f}"),
            ("arr p50", "a50", "{:.2f}"), ("arr p99", "a99", "{:.2f}"),
            ("srv CPU%", "cpu", "{:.1f}"), ("us/msg", "us_msg", "{:.1f}"),
            ("srv drops", "sdrops", "{:.0f}"), ("load", "load", "{:.1f}"), ("runs", "runs", "{}"),
            ("status", "status", "{}")], game) + "\n"
    if echo:
        text += table("EchoTest data throughput (one reliable ordered channel; gaps: echoes the "
                      "server dropped; rtx: our retransmitted chunks)", [
            ("case", "case", "{}"), ("server", "server", "{}"), ("Mbit/s", "mbps", "{:.1f}"),
            ("msg/s", "msg_s", "{:.0f}"), ("deliv %", "deliv", "{:.2f}"),
            ("gaps", "gaps", "{:.0f}"), ("p50 ms", "p50", "{:.1f}"), ("p99 ms", "p99", "{:.1f}"),
            ("srv CPU%", "cpu", "{:.0f}"), ("ms CPU/MB", "ms_mb", "{:.1f}"),
            ("srv drops", "sdrops", "{:.0f}"), ("LG drops", "ldrops", "{:.0f}"),
            ("rtx", "rtx", "{:.0f}"), ("T3", "t3", "{:.0f}"), ("LG CPU%", "lg", "{:.0f}"),
            ("load", "load", "{:.1f}"), ("runs", "runs", "{}"), ("status", "status", "{}")],
            echo) + "\n"
    if mem:
        text += table("Memory: EchoTest, 100 peers (audio + video), with and without a data "
                      "channel", [
            ("case", "case", "{}"), ("server", "server", "{}"), ("PCs", "pcs", "{}"),
            ("RSS/PC KB", "rss", "{:.0f}"), ("deliv %", "deliv", "{:.1f}"),
            ("load", "load", "{:.1f}"), ("runs", "runs", "{}"), ("status", "status", "{}")], mem)
        by = {(r["case"], r["server"]): r["rss"] for r in mem}
        for s in ("switchboard", "janus"):
            a, b = by.get(("mem-data", s)), by.get(("mem-nodata", s))
            if a is not None and b is not None:
                text += "%s: %.0f KB of RSS per association (median with - median without)\n" % (
                    s, a - b)
    sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
