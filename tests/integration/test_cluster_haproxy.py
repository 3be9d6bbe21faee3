"""Routing by id: three nodes behind HAProxy running the shipped conf/haproxy.cfg. Sessions
are created on ready nodes (least connections), every later request of a session (attach,
messages, long-polls, CORS preflights) reaches the node its id names, WebSocket connections
land on any ready node, an id naming no node gets 404/458 from the balancer, a node that
stops accepting new sessions keeps serving its own, and each node's /metrics is reachable
through the balancer's admin frontend."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Tap, builddir_from_argv, check, check_eq, error_code, \
    stop_and_report

from clusterlab import LB_ADMIN, LB_HTTP, LB_WS, HAProxy, http_status, node_ports, \
    start_node, wait_until
from wsclient import WsClient

NODES = (1, 2, 3)
ID_NODE_SHIFT = 45  # include/switchboard/id.h


def node_of(i):
    return i >> ID_NODE_SHIFT


def create_on(lb, n, tries=60):
    """A session on node n through the balancer: create until one lands there (least
    connections spreads creates; the others are destroyed)."""
    for k in range(tries):
        sid = lb.create(tx="c%d" % k)
        if node_of(sid) == n:
            return sid
        lb.destroy(sid)
    raise AssertionError("no session on node %d in %d creates" % (n, tries))


def main():
    builddir = builddir_from_argv()
    tap = Tap("cluster-haproxy")
    nodes = {n: start_node(builddir, n) for n in NODES}
    lb = None
    try:
        lb_proc = HAProxy()
        lb = Http(port=LB_HTTP)
        admin = Http(port=LB_ADMIN, base="")

        with tap.case("the balancer sees the three nodes ready"):
            check(wait_until(lambda: all(http_status(LB_ADMIN, "/node/%d/ready" % n) == 200
                                         for n in NODES), 10),
                  "ready through the balancer: %r" % {
                      n: http_status(LB_ADMIN, "/node/%d/ready" % n) for n in NODES})

        with tap.case("creates through the balancer land on every node, each id carrying "
                      "its node"):
            sids = [lb.create(tx="spread%d" % k) for k in range(12)]
            per = {n: sum(1 for s in sids if node_of(s) == n) for n in NODES}
            check(all(per[n] >= 2 for n in NODES), "sessions per node: %r" % per)
            for s in sids:
                r = Http(port=node_ports(node_of(s))[0]).post(
                    "/%d" % s, {"janus": "keepalive", "transaction": "k"})
                check_eq(r.get("janus"), "ack", "session %d on its node directly" % s)
            for s in sids:
                lb.destroy(s)

        with tap.case("every request of a session reaches its node: attach, message, "
                      "long-poll with the event, CORS preflight"):
            for n in NODES:
                sid = create_on(lb, n)
                hid = lb.attach(sid)
                check_eq(node_of(hid), n, "handle id's node")
                got = {}

                def poll(sid=sid):
                    got["poll"] = lb.poll(sid, timeout=15)
                t = threading.Thread(target=poll)
                t.start()
                time.sleep(0.2)
                r = lb.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "m",
                                                    "body": {"audio": True}})
                check(r.get("janus") in ("ack", "success"), "message: %r" % r)
                t.join(15)
                ev = got.get("poll")
                check(isinstance(ev, dict) and ev.get("janus") == "event" and
                      ev.get("sender") == hid, "long-poll on node %d: %r" % (n, ev))
                status, hdrs, _ = lb.raw("OPTIONS", "/janus/%d" % sid, headers={
                    "Origin": "http://example.test", "Access-Control-Request-Method": "POST"})
                check(status in (200, 204) and "access-control-allow-origin" in hdrs,
                      "preflight: %d %r" % (status, hdrs))
                lb.destroy(sid)

        with tap.case("an id naming no node: 404 and error 458 from the balancer, for "
                      "POST, long-poll and a handle path"):
            forged = (9 << ID_NODE_SHIFT) + 12345
            for method, path in (("POST", "/janus/%d" % forged),
                                 ("GET", "/janus/%d" % forged),
                                 ("POST", "/janus/%d/%d" % (forged, forged + 1))):
                body = {"janus": "keepalive", "transaction": "f"} if method == "POST" else None
                status, j = lb.call(method, path, body)
                check(status == 404 and error_code(j) == 458,
                      "%s %s: %d %r" % (method, path, status, j))
            status, j = lb.call("POST", "/janus/%d" % ((2 << ID_NODE_SHIFT) + 777),
                                {"janus": "keepalive", "transaction": "f"})
            check(error_code(j) == 458, "a known node, no such session: %d %r" % (status, j))
            status, j = lb.call("GET", "/janus/info")
            check(status == 200 and j.get("janus") == "server_info", "info: %d %r" % (status, j))

        with tap.case("WebSocket through the balancer: sessions on any node, and the same "
                      "session reachable over HTTP through the balancer"):
            seen = set()
            for k in range(6):
                ws = WsClient(LB_WS)
                r = ws.request({"janus": "create", "transaction": "w%d" % k})
                sid = r["data"]["id"]
                seen.add(node_of(sid))
                r = lb.post("/%d" % sid, {"janus": "keepalive", "transaction": "k"})
                check_eq(r.get("janus"), "ack", "the WebSocket's session over HTTP")
                ws.close()
            check(len(seen) >= 2, "WebSocket sessions on nodes %r" % sorted(seen))

        with tap.case("a node refusing new sessions: /ready 503, creates go to the others, "
                      "its sessions keep working through the balancer"):
            kept = create_on(lb, 3)
            r = admin.post("/node/3/admin", {"janus": "accept_new_sessions", "accept": False,
                                             "transaction": "a"})
            check_eq(r.get("janus"), "success", "accept_new_sessions %r" % r)
            check_eq(http_status(LB_ADMIN, "/node/3/ready"), 503, "node 3 /ready")
            time.sleep(2.5)  # two failed checks a second apart take it out
            sids = [lb.create(tx="d%d" % k) for k in range(9)]
            check(all(node_of(s) != 3 for s in sids),
                  "sessions on nodes %r" % [node_of(s) for s in sids])
            r = lb.post("/%d" % kept, {"janus": "keepalive", "transaction": "k"})
            check_eq(r.get("janus"), "ack", "node 3's session")
            hid = lb.attach(kept)
            check_eq(node_of(hid), 3, "attach on node 3 while it refuses new sessions")
            for s in sids + [kept]:
                lb.destroy(s)

        with tap.case("each node's /metrics through the balancer's admin frontend; an "
                      "unknown node is 404"):
            for n in NODES:
                status, _, data = admin.raw("GET", "/node/%d/metrics" % n)
                check(status == 200 and b"switchboard_" in data,
                      "node %d metrics: %d" % (n, status))
            check_eq(http_status(LB_ADMIN, "/node/9/metrics"), 404, "node 9")
        lb_proc.stop()
    finally:
        for n, s in nodes.items():
            stop_and_report(tap, s, "node %d: clean shutdown, no sanitizer report" % n)
    tap.exit()


if __name__ == "__main__":
    main()
