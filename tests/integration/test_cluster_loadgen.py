"""sb-loadgen through the balancer: three nodes behind HAProxy (the shipped configuration)
with Redis, rooms of three whose people's sessions the balancer spreads over the nodes
(so the rooms span nodes): every PeerConnection comes up, every subscriber receives every
publisher with no loss, and the nodes did talk to each other (messages sent and received,
none rejected)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Tap, builddir_from_argv, check, check_eq, stop_and_report

from clusterlab import LB_HTTP, HAProxy, Redis, cluster_args, node_ports, start_node

SANITIZED = bool(os.environ.get("SB_TEST_SANITIZED"))
NODES = (1, 2, 3)


def messages(n):
    from prometheus_client.parser import text_string_to_metric_families
    status, _, data = Http(port=node_ports(n)[2], base="").raw("GET", "/metrics")
    check_eq(status, 200, "node %d /metrics" % n)
    out = {}
    for fam in text_string_to_metric_families(data.decode()):
        for s in fam.samples:
            if s.name == "switchboard_cluster_messages_total":
                out[s.labels["result"]] = s.value
    return out


def main():
    builddir = builddir_from_argv()
    tap = Tap("cluster-loadgen")
    redis = Redis()
    nodes = {n: start_node(builddir, n, cluster_args()) for n in NODES}
    lb = None
    try:
        lb = HAProxy()
        time.sleep(2.5)  # the balancer's checks see every node ready
        with tap.case("sb-loadgen through the balancer: rooms of three spread over three "
                      "nodes, every PeerConnection up, every stream received, no loss"):
            cmd = [os.path.join(builddir, "bench", "sb-loadgen"), "--server",
                   "http://127.0.0.1:%d/janus" % LB_HTTP, "--quiet", "--scenario", "rooms",
                   "--subscribers", "3", "--rooms", "3", "--warmup", "3", "--duration",
                   "4" if SANITIZED else "3", "--join-rate", "20",
                   "--server-pid", ",".join(str(s.pid) for s in nodes.values())]
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=180)
            try:
                s = json.loads(p.stdout)
            except ValueError:
                s = None
            check(p.returncode == 0 and s, "sb-loadgen: rc %d, %s" % (p.returncode,
                                                                     p.stderr[-2000:]))
            pcs = s["peerconnections"]
            check_eq((pcs["up"], pcs["failed"]), (27, 0),
                     "PeerConnections up and failed (9 publishers, 18 subscriptions)")
            w = s["window"]
            check(w["received"] > 0, "nothing received")
            check_eq(w["lost"], 0, "packets lost")
            tap.note("%d pkt/s received, latency p50 %.2f ms p99 %.2f ms, join p50 %.0f ms, "
                     "servers' CPU %.1f us per delivered packet" % (
                         w["received_per_s"], s["latency_ms"]["p50"], s["latency_ms"]["p99"],
                         s["join_to_webrtcup_ms"]["p50"],
                         s["server_process"]["cpu_us_per_pkt"]))
        with tap.case("the nodes talked to each other: messages sent and received on every "
                      "node, none rejected"):
            per = {n: messages(n) for n in NODES}
            tap.note("messages per node: %s" % json.dumps(per))
            check(all(per[n].get("sent", 0) > 0 and per[n].get("received", 0) > 0
                      for n in NODES), "messages: %r" % per)
            check(all(per[n].get("rejected", 0) == 0 for n in NODES), "rejected: %r" % per)
    finally:
        if lb:
            lb.stop()
        for n, srv in nodes.items():
            stop_and_report(tap, srv, "node %d: clean shutdown, no sanitizer report" % n)
        redis.cleanup()
    tap.exit()


if __name__ == "__main__":
    main()
