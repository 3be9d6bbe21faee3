"""Extra network namespaces for a test, made from inside the test's own namespace and with
no global state: no `ip netns add` (whose bind mounts in /run/netns outlive the test and
are seen outside), only a holder process per namespace (`unshare --net -- cat`, fed by a
pipe, so it exits on its own if the test dies) and `nsenter --net=/proc/PID/ns/net`.

    with Lab() as lab:
        client, router = lab.namespace("client"), lab.namespace("router")
        veth(client, router, "198.18.1.2/24", "198.18.1.1/24")
        up = veth(router, own(), "198.18.2.1/24", "198.18.2.2/24")
        default_route(client, "198.18.1.1")
        masquerade(router, up.name_a)   # own() sees the client as 198.18.2.1
        block_udp(client)               # TCP only, except on loopback

Addresses must be in 198.18.0.0/15 (checked): nothing here routes anywhere else. Closing
a namespace kills what was started in it; its veth ends go with it, and so do their
peers in other namespaces. Needs root (run.sh gives it) and iproute2, util-linux, nftables.
"""
import ctypes
import ipaddress
import json
import os
import socket
import struct
import subprocess
import threading
import time

TEST_NET = ipaddress.ip_network("198.18.0.0/15")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_names = iter(range(1, 1 << 30))  # veth names, unique within this test process


class Namespace:
    """A new network namespace (loopback up) held by a child process; run/popen/socket
    work inside it; close() (or the with block) kills its processes and the holder."""

    def __init__(self, name="ns"):
        self.name = name
        self.procs = []
        mine = os.readlink("/proc/self/ns/net")
        self.holder = subprocess.Popen(["unshare", "--net", "--", "cat"],
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.pid = self.holder.pid
        self.path = "/proc/%d/ns/net" % self.pid
        deadline = time.time() + 5
        while True:
            try:
                if os.readlink(self.path) != mine:
                    break
            except OSError:
                pass
            if time.time() > deadline or self.holder.poll() is not None:
                self.close()
                raise RuntimeError("unshare --net made no namespace for %s" % name)
            time.sleep(0.005)
        self.run(["ip", "link", "set", "lo", "up"])

    def cmd(self, args):
        """The command line that runs args in this namespace."""
        return ["nsenter", "--net=" + self.path, "--"] + [str(a) for a in args]

    def run(self, args, check=True, timeout=30, **kw):
        """subprocess.run inside; output captured (text); raises on failure by default."""
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        p = subprocess.run(self.cmd(args), timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise RuntimeError("in %s: %s exited %d: %s" % (
                self.name, " ".join(map(str, args)), p.returncode, (p.stderr or "").strip()))
        return p

    def popen(self, args, **kw):
        """subprocess.Popen inside; the process is killed by close() if still running."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.cmd(args), **kw)
        self.procs.append(p)
        return p

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """A socket of this namespace, usable from any thread of the test (a socket keeps
        the namespace it was made in)."""
        return _in_ns(self.path, lambda: socket.socket(family, type, proto))

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        self.holder.stdin.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<netns %s pid %d>" % (self.name, self.pid)


class _Own(Namespace):
    """The test's own namespace, with the same interface; close() only kills what its
    popen() started."""

    def __init__(self):
        self.name, self.procs, self.holder = "own", [], None
        self.pid = os.getpid()
        self.path = "/proc/%d/ns/net" % self.pid

    def cmd(self, args):
        return [str(a) for a in args]

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        return socket.socket(family, type, proto)

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait()
        self.procs = []


_own = None


def own():
    """The namespace the test runs in (run.sh's), as a Namespace-like object."""
    global _own
    if _own is None:
        _own = _Own()
    return _own


def _in_ns(path, fn):
    """fn() called in a short-lived thread moved into the namespace at path (setns()
    moves only the calling thread); its result or exception handed back."""
    out = {}

    def work():
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
            finally:
                os.close(fd)
            out["value"] = fn()
        except Exception as e:  # handed to the caller
            out["error"] = e

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


class Lab:
    """Owns namespaces and closes them all (newest first) at the end of a with block,
    then kills what own().popen started."""

    def __init__(self):
        self.spaces = []

    def namespace(self, name="ns"):
        ns = Namespace(name)
        self.spaces.append(ns)
        return ns

    def close(self):
        while self.spaces:
            self.spaces.pop().close()
        own().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _test_iface(cidr):
    iface = ipaddress.ip_interface(cidr)
    if iface.network.prefixlen == 32 or not iface.network.subnet_of(TEST_NET):
        raise ValueError("%s: test addresses must be in %s with a prefix (/24, /30)"
                         % (cidr, TEST_NET))
    return iface


class Veth:
    """A veth pair: name_a/addr_a in ns_a, name_b/addr_b in ns_b (addresses without
    their prefix)."""

    def __init__(self, ns_a, ns_b, name_a, name_b, addr_a, addr_b):
        self.ns_a, self.ns_b, self.name_a, self.name_b = ns_a, ns_b, name_a, name_b
        self.addr_a, self.addr_b = addr_a, addr_b

    def __repr__(self):
        return "<veth %s:%s %s <-> %s:%s %s>" % (self.ns_a.name, self.name_a, self.addr_a,
                                                 self.ns_b.name, self.name_b, self.addr_b)


def veth(ns_a, ns_b, addr_a, addr_b, name_a=None, name_b=None):
    """Join two namespaces (own() may be one) with a veth pair, give each end its address
    ("198.18.1.1/24"; both in one subnet of 198.18.0.0/15) and bring both up."""
    ia, ib = _test_iface(addr_a), _test_iface(addr_b)
    if ia.network != ib.network or ia.ip == ib.ip:
        raise ValueError("%s and %s: two addresses of one subnet needed" % (addr_a, addr_b))
    if ns_a.pid == ns_b.pid:
        raise ValueError("a veth pair joins two different namespaces")
    n = next(_names)
    name_a, name_b = name_a or "nl%da" % n, name_b or "nl%db" % n
    ns_a.run(["ip", "link", "add", name_a, "type", "veth", "peer", "name", name_b,
              "netns", ns_b.pid])
    for ns, name, cidr in ((ns_a, name_a, addr_a), (ns_b, name_b, addr_b)):
        ns.run(["ip", "addr", "add", cidr, "dev", name])
        ns.run(["ip", "link", "set", name, "up"])
    return Veth(ns_a, ns_b, name_a, name_b, str(ia.ip), str(ib.ip))


def _test_addr(addr):
    if ipaddress.ip_address(addr) not in TEST_NET:
        raise ValueError("%s is not in %s" % (addr, TEST_NET))
    return addr


def default_route(ns, via):
    """Route everything from ns through the neighbour `via` (a peer's 198.18.x address)."""
    ns.run(["ip", "route", "replace", "default", "via", _test_addr(via)])


def add_route(ns, dest, via):
    """Route the test subnet `dest` ("198.18.2.0/24") from ns through `via`."""
    if not ipaddress.ip_network(dest).subnet_of(TEST_NET):
        raise ValueError("%s is not in %s" % (dest, TEST_NET))
    ns.run(["ip", "route", "replace", dest, "via", _test_addr(via)])


def sysctl(ns, key, value):
    """Set a per-namespace sysctl (net.ipv4.ip_forward...) inside ns (no procps needed:
    /proc/sys/net shows the namespace of the thread that opens it)."""
    path = "/proc/sys/" + key.replace(".", "/")

    def write():
        with open(path, "w") as f:
            f.write("%s\n" % value)
    if isinstance(ns, _Own):
        write()
    else:
        _in_ns(ns.path, write)


def nft(ns, script):
    """Load an nft script (nft -f -) into ns."""
    ns.run(["nft", "-f", "-"], input=script)


def block_udp(ns):
    """Drop every UDP datagram in or out of ns except on loopback (TCP still passes):
    table inet netlab_udp, with a counter; unblock_udp(ns) lifts it."""
    nft(ns, """table inet netlab_udp
delete table inet netlab_udp
table inet netlab_udp {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname != "lo" meta l4proto udp counter drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname != "lo" meta l4proto udp counter drop
  }
}
""")


def unblock_udp(ns):
    """Lift block_udp."""
    ns.run(["nft", "delete", "table", "inet", "netlab_udp"])


def udp_drops(ns):
    """Packets block_udp has dropped in ns so far (in + out)."""
    out = ns.run(["nft", "-j", "list", "table", "inet", "netlab_udp"]).stdout
    total = 0
    for item in json.loads(out)["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                total += expr["counter"]["packets"]
    return total


def masquerade(router_ns, out_iface, random_ports=False):
    """Make router_ns a NAT router: forwarding on, and what leaves through out_iface gets
    the router's address there (nft masquerade; source ports kept when free, or random
    per flow with random_ports, as a symmetric NAT). Replies come back through conntrack;
    nothing else is filtered. Calling it again replaces the rule."""
    sysctl(router_ns, "net.ipv4.ip_forward", 1)
    nft(router_ns, """table ip netlab_nat
delete table ip netlab_nat
table ip netlab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "%s" counter masquerade%s
  }
}
""" % (out_iface, " random" if random_ports else ""))


def ping(ns, addr, timeout=2.0):
    """One ICMP echo from ns to addr (no ping binary here): True if answered in time."""
    s = ns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        ident, payload = os.getpid() & 0xFFFF, b"netlab"
        body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + payload
        csum = _checksum(body)
        try:
            s.sendto(body[:2] + struct.pack("!H", csum) + body[4:], (addr, 0))
        except OSError:  # no route, say
            return False
        deadline = time.time() + timeout
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                return False
            icmp = data[(data[0] & 0x0F) * 4:]
            if src[0] == addr and icmp[0] == 0 and icmp[4:6] == struct.pack("!H", ident):
                return True
        return False
    finally:
        s.close()


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
