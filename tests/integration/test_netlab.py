"""The network lab the "real networks" tests stand on (lib/netns.py, lib/coturn.py,
lib/turnclient.py), checked on its own, with no Switchboard: namespaces joined by veth
pairs reach each other on 198.18.0.0/15; block_udp drops UDP (not TCP, not loopback);
through a masquerading router the server sees the router's address; coturn allocates
relays for a static user and for TURN REST credentials over UDP, TCP and TLS, refuses
wrong and expired ones, and only TCP gets through when the client's UDP is blocked.
Every "passes" case has its "is stopped" counterpart, so a lab that lets everything
through (or nothing) fails here."""
import os
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Tap, check, check_eq  # noqa: E402
from netns import Lab, block_udp, default_route, masquerade, own, ping, udp_drops, \
    unblock_udp, veth  # noqa: E402

SECRET = "netlab-rest-secret"
QUIET = 1.0  # seconds a datagram that must not arrive is waited for


class Echo(threading.Thread):
    """A UDP or TCP server in `ns` at (ip, port) answering each datagram or connection
    with "ip:port" of the peer it saw."""

    def __init__(self, ns, ip, port, kind="udp"):
        super().__init__(daemon=True)
        self.kind = kind
        stype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        self.sock = ns.socket(socket.AF_INET, stype)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        if kind == "tcp":
            self.sock.listen(8)
        self.sock.settimeout(0.1)  # so that close() is seen: closing a socket does not
        self.seen, self.stopped = [], False  # wake a thread blocked in it
        self.start()

    def run(self):
        while not self.stopped:
            try:
                if self.kind == "udp":
                    _, peer = self.sock.recvfrom(2048)
                    self.seen.append(peer)
                    self.sock.sendto(("%s:%d" % peer).encode(), peer)
                else:
                    conn, peer = self.sock.accept()
                    self.seen.append(peer)
                    conn.sendall(("%s:%d" % peer).encode())
                    conn.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.stopped = True
        self.join()
        self.sock.close()


def udp_ask(ns, addr, timeout=QUIET, sock=None):
    """Send one datagram from ns to an Echo; its answer ("ip:port" it saw), or None."""
    s = sock or ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        try:
            s.sendto(b"hello", addr)
            return s.recvfrom(2048)[0].decode()
        except OSError:  # timeout, or no route
            return None
    finally:
        if sock is None:
            s.close()


def tcp_ask(ns, addr, timeout=3.0):
    """Connect from ns to an Echo; its answer ("ip:port" it saw), or None."""
    s = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        try:
            s.connect(addr)
            return s.recv(2048).decode()
        except OSError:
            return None
    finally:
        s.close()


def veth_cases(tap, lab):
    a, b = lab.namespace("a"), lab.namespace("b")
    with tap.case("veth: two namespaces ping each other on 198.18.x"):
        link = veth(a, b, "198.18.10.1/30", "198.18.10.2/30")
        check(ping(a, link.addr_b), "a cannot ping b")
        check(ping(b, link.addr_a), "b cannot ping a")
    with tap.case("veth: no answer from an address nobody has, nor from another subnet"):
        check(not ping(a, "198.18.10.3", timeout=0.5), "198.18.10.3 answered")
        check(not ping(a, "198.18.99.1", timeout=0.5), "198.18.99.1 answered")
    with tap.case("veth: TCP and UDP across, each side seeing the other's address"):
        tcp, udp = Echo(b, link.addr_b, 7000, "tcp"), Echo(b, link.addr_b, 7000, "udp")
        try:
            check_eq((tcp_ask(a, (link.addr_b, 7000)) or "").split(":")[0], link.addr_a,
                     "TCP peer seen by b")
            check_eq((udp_ask(a, (link.addr_b, 7000)) or "").split(":")[0], link.addr_a,
                     "UDP peer seen by b")
        finally:
            tcp.close()
            udp.close()
    with tap.case("veth: the test's own namespace joins too"):
        mine = veth(own(), a, "198.18.11.1/24", "198.18.11.2/24")
        check(ping(own(), mine.addr_b), "own namespace cannot ping a")
        check(not ping(own(), link.addr_b, timeout=0.5), "own reached b with no route there")
    with tap.case("veth: addresses outside 198.18.0.0/15 or with no prefix are refused"):
        for bad in (("10.1.0.1/24", "10.1.0.2/24"), ("198.20.0.1/24", "198.20.0.2/24"),
                    ("198.18.12.1", "198.18.12.2"), ("198.18.12.1/24", "198.18.13.2/24")):
            try:
                veth(a, b, *bad)
            except ValueError:
                continue
            raise AssertionError("veth accepted %r" % (bad,))


def block_udp_cases(tap, lab):
    c, s = lab.namespace("fw-client"), lab.namespace("fw-server")
    link = veth(c, s, "198.18.20.2/24", "198.18.20.1/24")
    server = (link.addr_b, 7001)
    tcp, udp = Echo(s, link.addr_b, 7001, "tcp"), Echo(s, link.addr_b, 7001, "udp")
    loop = Echo(c, "127.0.0.1", 7002, "udp")
    back = Echo(c, link.addr_a, 7003, "udp")
    try:
        with tap.case("block_udp: before it, UDP passes both ways"):
            check(udp_ask(c, server) is not None, "no UDP answer before blocking")
            check(udp_ask(s, (link.addr_a, 7003)) is not None, "s -> c UDP lost")
        block_udp(c)
        with tap.case("block_udp: a datagram to the peer does not arrive (and is counted)"):
            before = len(udp.seen)
            check(udp_ask(c, server) is None, "UDP answered through block_udp")
            check_eq(len(udp.seen), before, "datagrams the server received")
            check(udp_drops(c) >= 1, "the drop counter is %d" % udp_drops(c))
        with tap.case("block_udp: a datagram from the peer does not arrive either"):
            before = len(back.seen)
            check(udp_ask(s, (link.addr_a, 7003)) is None, "s -> c UDP answered")
            check_eq(len(back.seen), before, "datagrams the client received")
        with tap.case("block_udp: TCP still passes"):
            check_eq((tcp_ask(c, server) or "").split(":")[0], link.addr_a, "TCP echo")
        with tap.case("block_udp: UDP on loopback still passes"):
            check(udp_ask(c, ("127.0.0.1", 7002)) is not None, "loopback UDP dropped")
        unblock_udp(c)
        with tap.case("unblock_udp: UDP passes again"):
            check(udp_ask(c, server) is not None, "no UDP answer after unblocking")
    finally:
        for e in (tcp, udp, loop, back):
            e.close()


def nat_cases(tap, lab):
    """client 198.18.1.2 -> router (NAT) -> own namespace 198.18.2.2, which has no route
    back to 198.18.1.0/24: only masquerading makes answers possible."""
    client, router = lab.namespace("nat-client"), lab.namespace("nat-router")
    inside = veth(client, router, "198.18.1.2/24", "198.18.1.1/24")
    outside = veth(router, own(), "198.18.2.1/24", "198.18.2.2/24")
    default_route(client, inside.addr_b)
    ports = (7010, 7011, 7012)
    echoes = [Echo(own(), outside.addr_b, p, kind) for p in ports for kind in ("udp", "tcp")]
    try:
        with tap.case("NAT: before masquerade, the client cannot reach the server"):
            check(udp_ask(client, (outside.addr_b, ports[0])) is None, "UDP answered")
            check(tcp_ask(client, (outside.addr_b, ports[0]), timeout=QUIET) is None,
                  "TCP answered")
        masquerade(router, outside.name_a)
        with tap.case("NAT: the server sees the router's address (UDP, port kept)"):
            s = client.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((inside.addr_a, 40000))
            try:
                seen = [udp_ask(client, (outside.addr_b, p), sock=s) for p in ports]
            finally:
                s.close()
            check_eq(seen, ["%s:40000" % outside.addr_a] * 3, "peers the server saw")
            with open("/proc/sys/net/ipv4/ip_forward") as f:  # the router's, not ours
                check_eq(f.read().strip(), "0", "ip_forward of the test's namespace")
        with tap.case("NAT: the server sees the router's address (TCP)"):
            check_eq((tcp_ask(client, (outside.addr_b, ports[0])) or "").split(":")[0],
                     outside.addr_a, "TCP peer the server saw")
        with tap.case("NAT: with random_ports, each destination gets its own port"):
            masquerade(router, outside.name_a, random_ports=True)
            s = client.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((inside.addr_a, 40001))
            try:
                seen = [udp_ask(client, (outside.addr_b, p), sock=s) for p in ports]
            finally:
                s.close()
            check(all(x and x.startswith(outside.addr_a + ":") for x in seen),
                  "peers the server saw: %r" % seen)
            check(len(set(seen)) > 1, "one mapping for every destination: %r" % seen)
    finally:
        for e in echoes:
            e.close()
    return client, outside


def turn_cases(tap, client, outside):
    """coturn in the test's own namespace at 198.18.2.2, the client behind the NAT."""
    from coturn import Coturn, turn_rest_credentials
    from turnclient import TurnClient

    server_ip, router_ip = outside.addr_b, outside.addr_a

    def turn(port, transport="udp", timeout=3.0):
        return TurnClient(server_ip, port, transport, timeout=timeout,
                          sock_factory=client.socket)

    static = Coturn(listen=[server_ip], users={"alice": "alice-pw"}, tls_port=5349,
                    min_port=49152, max_port=49999, name="coturn-static")
    rest = None
    try:
        rest = Coturn(listen=[server_ip], port=3479, auth_secret=SECRET, min_port=50000,
                      max_port=50999, name="coturn-rest")
        tap.note("coturn static user at %s, REST secret at %s:3479" % (
            " ".join(static.urls()), server_ip))
        with tap.case("STUN through the NAT: the mapped address is the router's"):
            with turn(3478) as c:
                r = c.binding()
            check(r.ok, "binding: %r" % r)
            check_eq(r.mapped[0], router_ip, "mapped address")
        for transport, port in (("udp", 3478), ("tcp", 3478), ("tls", 5349)):
            with tap.case("coturn: static user allocates over %s" % transport.upper()):
                with turn(port, transport) as c:
                    r = c.allocate("alice", "alice-pw")
                    check(r.ok, "allocate: %r" % r)
                    check_eq(r.relayed[0], server_ip, "relayed address")
                    check_eq(r.mapped[0], router_ip, "mapped address")
                    check(r.integrity_ok, "the answer is not signed with our key")
                    check(c.release(), "refresh to 0 refused")
                # coturn's peer for this session is the router's address and port
                a = static.wait_allocation("alice", closed=True,
                                           local="%s:%d" % (server_ip, port),
                                           remote="%s:%d" % r.mapped)
                check(a is not None, "no allocation in coturn's log:\n" + static.tail())
                if transport == "tls":
                    check(a["method"] and a["method"].startswith("TLS"),
                          "TLS method %r" % a["method"])
        with tap.case("coturn: a wrong password gets 401 and no allocation"):
            before = len(static.allocations())
            with turn(3478) as c:
                r = c.allocate("alice", "wrong")
            check_eq(r.code, 401, "error code")
            check_eq(len(static.allocations()), before, "allocations in the log")
        user, password = turn_rest_credentials(SECRET, "bob", 600)
        with tap.case("coturn: TURN REST credentials allocate"):
            with turn(3479) as c:
                r = c.allocate(user, password)
            check(r.ok, "allocate: %r" % r)
            check(rest.wait_allocation(user) is not None, "no allocation in the log")
        with tap.case("coturn: an expired REST username is refused"):
            old_user, old_password = turn_rest_credentials(SECRET, "bob", -60)
            with turn(3479) as c:
                r = c.allocate(old_user, old_password)
            check_eq(r.code, 401, "error code (%r)" % r)
            check(rest.wait_allocation(old_user, timeout=0.5) is None, "allocated")
        with tap.case("coturn: a REST password from another secret is refused"):
            _, forged = turn_rest_credentials("not-the-secret", "bob", 600)
            with turn(3479) as c:
                r = c.allocate(user, forged)
            check_eq(r.code, 401, "error code (%r)" % r)
        block_udp(client)
        with tap.case("coturn, client UDP blocked: UDP gets no answer, TCP allocates"):
            with turn(3478, timeout=QUIET) as c:
                r = c.allocate("alice", "alice-pw")
            check(not r.ok and r.code is None, "over UDP: %r" % r)
            with turn(3478, "tcp") as c:
                r = c.allocate("alice", "alice-pw")
            check(r.ok, "over TCP: %r" % r)
        unblock_udp(client)
        for name, server in (("static", static), ("REST", rest)):
            with tap.case("coturn (%s) stops on SIGTERM" % name):
                problems = server.stop()
                check(not problems, "\n".join(problems))
    finally:
        static.close()
        if rest is not None:
            rest.close()


def main():
    tap = Tap("netlab")
    missing = [t for t in ("nft", "turnserver", "openssl", "nsenter", "unshare", "ip")
               if shutil.which(t) is None]
    if missing:
        tap.result("tools present (scripts/setup.sh installs them): missing %s"
                   % " ".join(missing), False)
        tap.exit()
    with Lab() as lab:
        veth_cases(tap, lab)
        block_udp_cases(tap, lab)
        client, outside = nat_cases(tap, lab)
        turn_cases(tap, client, outside)
        holders = [ns.holder for ns in lab.spaces]
    with tap.case("after the lab: holders gone, and their veth ends here with them"):
        check(all(h.poll() is not None for h in holders), "a holder still runs")
        deadline = time.time() + 5  # the kernel frees a namespace a bit later
        while [i for i in os.listdir("/sys/class/net") if i.startswith("nl")] and \
                time.time() < deadline:
            time.sleep(0.05)
        left = [i for i in os.listdir("/sys/class/net") if i.startswith("nl")]
        check(not left, "veth ends left in the test's namespace: %r" % left)
    tap.exit()


if __name__ == "__main__":
    main()
