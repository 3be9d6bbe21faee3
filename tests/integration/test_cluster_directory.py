"""The cluster's directory in Redis, with three nodes and redis-server started here: node ids
are unique (a second node with a taken id refuses to start), VideoRoom room ids are unique
cluster-wide and `exists`, `list` and `listparticipants` answer for every node; Redis away
makes cluster-wide requests fail at once with a clear error while sessions go on, and once
it is back (empty) the nodes say again what they had put there; a node killed with -9 is
seen gone within 5 s and its participants leave the directory."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Tap, builddir_from_argv, check, check_eq, stop_and_report

from clusterlab import Redis, cluster_args, node_ports, start_node, wait_until

VR = "janus.plugin.videoroom"


def metric(n, name):
    """One sample of node n's /metrics, read with Prometheus' own text parser."""
    from prometheus_client.parser import text_string_to_metric_families
    status, _, data = Http(port=node_ports(n)[2], base="").raw("GET", "/metrics")
    check_eq(status, 200, "GET /metrics on node %d" % n)
    for fam in text_string_to_metric_families(data.decode()):
        for s in fam.samples:
            if s.name == name:
                return s.value
    return None
NODES = (1, 2, 3)
ERR_UNKNOWN, ERR_NO_SUCH_ROOM, ERR_ROOM_EXISTS = 499, 426, 427


class Node:
    """A VideoRoom handle on one node, over its own HTTP port."""

    def __init__(self, n):
        self.http = Http(port=node_ports(n)[0])
        self.sid = self.http.create()
        self.hid = self.http.attach(self.sid, plugin=VR)

    def sync(self, body, timeout=None):
        r = self.http.post("/%d/%d" % (self.sid, self.hid),
                           {"janus": "message", "transaction": "s", "body": body},
                           timeout=timeout)
        check_eq(r.get("janus"), "success", "sync %r: %r" % (body, r))
        return r["plugindata"]["data"]

    def join(self, room, display):
        r = self.http.post("/%d/%d" % (self.sid, self.hid), {
            "janus": "message", "transaction": "j",
            "body": {"request": "join", "ptype": "publisher", "room": room,
                     "display": display}})
        check_eq(r.get("janus"), "ack", "join: %r" % r)
        deadline = time.time() + 10
        while time.time() < deadline:
            ev = self.http.poll(self.sid, timeout=12)
            data = (ev or {}).get("plugindata", {}).get("data", {})
            if data.get("videoroom") == "joined":
                return data["id"]
            check("error_code" not in data, "join: %r" % data)
        raise AssertionError("no joined event")


def ids_of(listed):
    return {p["id"]: p for p in listed}


def main():
    builddir = builddir_from_argv()
    tap = Tap("cluster-directory")
    redis = Redis()
    nodes = {n: start_node(builddir, n, cluster_args()) for n in NODES}
    try:
        with tap.case("a node whose id another live node holds refuses to start"):
            http, ws, admin = node_ports(9)
            cmd = nodes[2].cmd[:]
            for flag, value in (("--port", http), ("--ws-port", ws), ("--admin-port", admin)):
                cmd[cmd.index(flag) + 1] = str(value)
            t0 = time.time()
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            log = out.stdout + out.stderr
            check(out.returncode != 0, "exit code %d" % out.returncode)
            check("node id 2 is in use" in log, "log: %s" % log[-800:])
            tap.note("refused after %.1f s (one heartbeat's life)" % (time.time() - t0))
            check(set(redis.cli("SMEMBERS", "sb:nodes").split()) == {"1", "2", "3"},
                  "nodes in Redis: %r" % redis.cli("SMEMBERS", "sb:nodes"))
            for n in NODES:
                check_eq(metric(n, "switchboard_cluster_nodes"), 3, "nodes seen by node %d" % n)
                check_eq(metric(n, "switchboard_cluster_up"), 1, "node %d up" % n)

        with tap.case("forged messages to a node are dropped and counted, and change "
                      "nothing"):
            forged = [
                "garbage",
                "0" * 64 + "\n" + '{"from":1,"to":2,"boot":"b","seq":1,"ts":1,"pkg":"%s",'
                '"body":{"type":"destroyed","room":1}}' % VR,
                "x" * 100000,
            ]
            before = metric(2, "switchboard_cluster_messages_total") or 0
            for f in forged:
                redis.cli("PUBLISH", "sb:msg:2", f)

            def counted():
                from prometheus_client.parser import text_string_to_metric_families
                status, _, data = Http(port=node_ports(2)[2], base="").raw("GET", "/metrics")
                for fam in text_string_to_metric_families(data.decode()):
                    for smp in fam.samples:
                        if smp.name == "switchboard_cluster_messages_total" and \
                                smp.labels.get("result") == "rejected":
                            return smp.value >= len(forged)
                return False
            check(wait_until(counted, 3), "rejected messages not counted (before: %r)" % before)
            check(nodes[2].alive(), "node 2 running")

        vr = {n: Node(n) for n in NODES}
        with tap.case("room ids are unique cluster-wide: a room made on node 1 cannot be "
                      "made again on node 2, and one made without an id gets a free one"):
            r = vr[1].sync({"request": "create", "room": 1111, "description": "one"})
            check_eq(r.get("videoroom"), "created", "create on node 1")
            r = vr[2].sync({"request": "create", "room": 1111})
            check_eq(r.get("error_code"), ERR_ROOM_EXISTS, "the same id on node 2: %r" % r)
            r = vr[3].sync({"request": "create", "description": "three"})
            check_eq(r.get("videoroom"), "created", "create with no id on node 3")
            free = r["room"]
            r = vr[3].sync({"request": "create", "room": 2222, "audiocodec": "nonsense"})
            check(r.get("error_code") not in (None, ERR_ROOM_EXISTS), "bad option: %r" % r)
            r = vr[1].sync({"request": "create", "room": 2222})
            check_eq(r.get("videoroom"), "created",
                     "an id a refused create had reserved is free again")

        with tap.case("exists and list answer for every node"):
            for n in NODES:
                for room, want in ((1111, True), (free, True), (2222, True), (9999, False)):
                    r = vr[n].sync({"request": "exists", "room": room})
                    check_eq(r.get("exists"), want, "exists %d on node %d" % (room, n))
            listed = {x["room"]: x for x in vr[2].sync({"request": "list"})["list"]}
            check({1111, 2222, free} <= set(listed), "list on node 2: %r" % sorted(listed))
            check_eq(listed.get(1111, {}).get("description"), "one", "description from node 1")

        with tap.case("listparticipants answers for every node"):
            alice = vr[1].join(1111, "alice")
            for n in NODES:
                got = {}

                def seen(n=n):
                    got["p"] = ids_of(vr[n].sync({"request": "listparticipants",
                                                  "room": 1111})["participants"])
                    return alice in got["p"]
                check(wait_until(seen, 3), "node %d: %r" % (n, got.get("p")))
                check_eq(got["p"][alice].get("display"), "alice", "display on node %d" % n)

        with tap.case("Redis away: cluster-wide requests fail at once with a clear error, "
                      "sessions and local requests go on"):
            redis.stop()
            time.sleep(1.5)  # a heartbeat notices
            t0 = time.time()
            r = vr[2].sync({"request": "create", "room": 3333})
            took = time.time() - t0
            check_eq(r.get("error_code"), ERR_UNKNOWN, "create: %r" % r)
            check("Redis" in r.get("error", ""), "reason: %r" % r)
            check(took < 0.5, "answered in %.2f s" % took)
            check_eq(metric(2, "switchboard_cluster_up"), 0, "node 2 out of the cluster")
            r = vr[2].sync({"request": "list"})
            check_eq(r.get("error_code"), ERR_UNKNOWN, "list: %r" % r)
            r = vr[1].http.post("/%d" % vr[1].sid, {"janus": "keepalive", "transaction": "k"})
            check_eq(r.get("janus"), "ack", "keepalive")
            r = vr[1].sync({"request": "exists", "room": 1111})
            check_eq(r.get("exists"), True, "a local room exists without Redis")

        with tap.case("Redis back, empty: the nodes say again their rooms and members, and "
                      "new rooms can be made"):
            redis.start()
            ok = wait_until(lambda: redis.cli("SISMEMBER", "sb:rooms:%s" % VR, "1111") == "1"
                            and redis.cli("HEXISTS", "sb:members:%s:1111" % VR,
                                          str(alice)) == "1", 6)
            check(ok, "1111 and alice in Redis again: %r" % redis.cli("KEYS", "*"))
            t0 = time.time()
            back = wait_until(lambda: all(vr[n].sync({"request": "exists", "room": 1111})
                                          .get("exists") is True for n in NODES), 5)
            tap.note("every node answering from the directory again %.1f s after the "
                     "members were back" % (time.time() - t0))
            check(back, "exists 1111 on each node: %r" % {
                n: vr[n].sync({"request": "exists", "room": 1111}) for n in NODES})
            p = ids_of(vr[3].sync({"request": "listparticipants", "room": 1111})
                       ["participants"])
            check(alice in p, "alice on node 3: %r" % p)
            r = vr[2].sync({"request": "create", "room": 3333})
            check_eq(r.get("videoroom"), "created", "create after Redis came back: %r" % r)
            for n in NODES:
                check(nodes[n].alive(), "node %d running" % n)

        with tap.case("a node killed with -9 is gone within 5 s: its participants leave the "
                      "directory, its rooms stay"):
            nodes[1].proc.kill()
            nodes[1].proc.wait()
            t0 = time.time()

            def reaped():
                p = ids_of(vr[2].sync({"request": "listparticipants", "room": 1111})
                           ["participants"])
                return alice not in p
            check(wait_until(reaped, 6, step=0.2), "alice still listed after 6 s")
            tap.note("participants of the killed node gone after %.1f s" % (time.time() - t0))
            check(time.time() - t0 <= 5.5, "took %.1f s" % (time.time() - t0))
            r = vr[2].sync({"request": "exists", "room": 1111})
            check_eq(r.get("exists"), True, "room 1111 of the dead node")
            check_eq(redis.cli("SISMEMBER", "sb:nodes", "1"), "0", "node 1 out of sb:nodes")
            check_eq(metric(2, "switchboard_cluster_nodes"), 2, "nodes seen by node 2")

        with tap.case("destroy takes the room out of the directory"):
            r = vr[3].sync({"request": "destroy", "room": free})
            check_eq(r.get("videoroom"), "destroyed", "destroy on node 3")
            r = vr[2].sync({"request": "exists", "room": free})
            check_eq(r.get("exists"), False, "exists on node 2")
    finally:
        for n, s in nodes.items():
            if n == 1:
                s.cleanup()
                continue
            stop_and_report(tap, s, "node %d: clean shutdown, no sanitizer report" % n)
        redis.cleanup()
    tap.exit()


if __name__ == "__main__":
    main()
