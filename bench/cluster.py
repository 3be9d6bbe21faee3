#!/usr/bin/python3
"""What spanning nodes costs (docs/scaling.md): the same sb-loadgen load on one node, and
through HAProxy (the shipped conf/haproxy.cfg) on three nodes whose sessions the balancer
spreads (least connections), so each room spans nodes and each publisher's media crosses a
link per other node; and the same people on three nodes in rooms that do not span (one room
per node, "three apart"), which tells what three processes sharing this box cost apart from
the links. Per layout: one-way latency p50/p99 (sb-loadgen's clock, sender to
receiver), and the servers' CPU per delivered packet (every node's threads, schedstat, over
the measured window, divided by the packets sb-loadgen received). Then joins: the echo
scenario's offer-to-webrtcup p50 through the balancer and straight to a node.

  bench/cluster.py [BUILD_DIR] [--scenario fanout|rooms] [--persons 30] [--rooms 1]
                   [--seconds 10] [--runs 3] [--echo 20] [--video-kbps 500] [--loops 1]

fanout: one publisher and --persons subscribers per room (a room spread over the nodes: the
link's cost is shared by the subscribers of each node); rooms: rooms of --persons people
who all publish and subscribe (rooms of 3 spread over 3 nodes: each packet crosses two links
for two deliveries, the worst case).

Runs in a private network namespace (re-executed under unshare); Redis, the nodes and
HAProxy are started for each run. Prints one line per run and layout, then the medians."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "lib"))


def reexec_in_netns():
    if os.environ.get("SB_BENCH_NS") == "1":
        return
    os.environ["SB_BENCH_NS"] = "1"
    cmd = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
           sys.executable] + sys.argv
    os.execvp(cmd[0], cmd)


def loadgen(build, url, pids, extra, seconds):
    out = tempfile.mktemp(prefix="sb-cluster-bench-", suffix=".json")
    cmd = [os.path.join(build, "bench", "sb-loadgen"), "--server", url, "--quiet",
           "--warmup", "3", "--duration", str(seconds), "--join-rate", "20",
           "--server-pid", ",".join(str(p) for p in pids), "--json", out] + extra
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=seconds + 180)
    try:
        with open(out) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
    finally:
        if os.path.exists(out):
            os.unlink(out)


def loadgen_apart(build, c, extra, seconds, persons):
    """The same people in rooms that do not span: one room per node, each room's people on
    its node (one sb-loadgen per node, straight to it), so three processes share the box as
    in the spanning layout but nothing crosses between nodes. One summary, its CPU over
    every node, its packets those of all three."""
    from clusterlab import node_ports
    procs, outs = [], []
    per = max(1, persons // len(c.nodes))
    for i in range(len(c.nodes)):
        out = tempfile.mktemp(prefix="sb-cluster-bench-", suffix=".json")
        cmd = [os.path.join(build, "bench", "sb-loadgen"), "--server",
               "http://127.0.0.1:%d/janus" % node_ports(i + 1)[0], "--quiet", "--warmup", "3",
               "--duration", str(seconds), "--join-rate", "20", "--json", out,
               "--room-base", str(7000 + 100 * i)] + extra
        cmd[cmd.index("--subscribers") + 1] = str(per)
        if i == 0:
            cmd += ["--server-pid", ",".join(str(p) for p in c.pids())]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE))
        outs.append(out)
    sums = []
    for p, out in zip(procs, outs):
        p.wait(timeout=seconds + 180)
        try:
            with open(out) as f:
                sums.append(json.load(f))
        except (OSError, ValueError):
            sums.append(None)
        finally:
            if os.path.exists(out):
                os.unlink(out)
    if not all(sums) or "server_process" not in sums[0]:
        return None
    s = sums[0]
    recv = sum(x["window"]["received_per_s"] for x in sums)
    cpu_per_s = s["server_process"]["cpu_s"] / s["window_s"]
    s["server_process"]["cpu_us_per_pkt"] = cpu_per_s * 1e6 / recv if recv else 0
    s["window"]["received_per_s"] = recv
    s["window"]["lost"] = sum(x["window"]["lost"] for x in sums)
    s["peerconnections"]["up"] = sum(x["peerconnections"]["up"] for x in sums)
    return s


class Cluster:
    """Redis, n nodes and (for n > 1) HAProxy with the shipped configuration."""

    def __init__(self, build, n, loops):
        from clusterlab import HAProxy, Redis, cluster_args, start_node
        self.redis = Redis()
        self.nodes = [start_node(build, i, cluster_args() + ["--log-level", "warn", "--loops",
                                                             str(loops)])
                      for i in range(1, n + 1)]
        self.lb = HAProxy() if n > 1 else None
        if self.lb:
            time.sleep(2.5)  # the balancer's checks see every node ready

    def url(self, direct=False):
        from clusterlab import LB_HTTP, node_ports
        port = node_ports(1)[0] if direct or not self.lb else LB_HTTP
        return "http://127.0.0.1:%d/janus" % port

    def pids(self):
        return [s.pid for s in self.nodes]

    def stop(self):
        if self.lb:
            self.lb.stop()
        for s in self.nodes:
            s.stop()
            s.cleanup()
        self.redis.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--scenario", default="fanout", choices=("fanout", "rooms"))
    ap.add_argument("--persons", type=int, default=30)
    ap.add_argument("--rooms", type=int, default=1)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--echo", type=int, default=20)
    ap.add_argument("--video-kbps", type=int, default=500)
    ap.add_argument("--loops", type=int, default=1, help="media loops per node")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    reexec_in_netns()
    rooms = ["--scenario", a.scenario, "--subscribers", str(a.persons), "--rooms", str(a.rooms),
             "--video-kbps", str(a.video_kbps), "--pacing", "2.5"]
    figures = {"one node": [], "three nodes": [], "three apart": [], "joins direct": [],
               "joins balancer": []}
    for run in range(1, a.runs + 1):
        for name, n in (("one node", 1), ("three nodes", 3), ("three apart", 3)):
            c = Cluster(build, n, a.loops)
            try:
                if name == "three apart":
                    s = loadgen_apart(build, c, rooms, a.seconds, a.persons)
                else:
                    s = loadgen(build, c.url(), c.pids(), rooms, a.seconds)
            finally:
                c.stop()
            if not s or "server_process" not in s:
                print("run %d, %s: no summary" % (run, name), flush=True)
                continue
            lat, sp, w = s["latency_ms"], s["server_process"], s["window"]
            row = {"p50": lat["p50"], "p99": lat["p99"], "us_per_pkt": sp["cpu_us_per_pkt"],
                   "pkts": w["received_per_s"], "lost": w["lost"],
                   "up": s["peerconnections"]["up"]}
            figures[name].append(row)
            print("run %d, %s: latency p50 %.2f ms p99 %.2f ms, %.1f us of server CPU per "
                  "delivered packet, %d pkt/s, lost %d, %d PeerConnections up" % (
                      run, name, row["p50"], row["p99"], row["us_per_pkt"], row["pkts"],
                      row["lost"], row["up"]), flush=True)
        c = Cluster(build, 3, a.loops)
        try:
            for name, direct in (("joins direct", True), ("joins balancer", False)):
                s = loadgen(build, c.url(direct), c.pids(),
                            ["--scenario", "echo", "--subscribers", str(a.echo)], 3)
                if s:
                    j = s["join_to_webrtcup_ms"]["p50"]
                    figures[name].append({"p50": j})
                    print("run %d, %s: offer to webrtcup p50 %.1f ms" % (run, name, j),
                          flush=True)
        finally:
            c.stop()
    med = lambda rows, k: statistics.median(r[k] for r in rows) if rows else float("nan")  # noqa
    print("medians of %d runs:" % a.runs)
    for name in ("one node", "three nodes", "three apart"):
        rows = figures[name]
        print("  %-12s latency p50 %.2f ms, p99 %.2f ms; %.1f us per delivered packet" % (
            name, med(rows, "p50"), med(rows, "p99"), med(rows, "us_per_pkt")))
    one, three, apart = figures["one node"], figures["three nodes"], figures["three apart"]
    if one and three:
        print("  the hop adds %.2f ms at p50; CPU per delivered packet x%.2f" % (
            med(three, "p50") - med(one, "p50"), med(three, "us_per_pkt") / med(one, "us_per_pkt")))
    if one and apart and three:
        print("  three processes on this box, nothing crossing: x%.2f; the links on top: x%.2f" % (
            med(apart, "us_per_pkt") / med(one, "us_per_pkt"),
            med(three, "us_per_pkt") / med(apart, "us_per_pkt")))
    print("  joins, offer to webrtcup p50: direct %.1f ms, through the balancer %.1f ms" % (
        med(figures["joins direct"], "p50"), med(figures["joins balancer"], "p50")))


if __name__ == "__main__":
    main()
