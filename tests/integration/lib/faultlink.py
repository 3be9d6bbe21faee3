"""A faulty link between the test's network namespace and a client namespace, for the
fault-injection tests (Python 3 standard library only; needs root in the test's namespace,
as run.sh gives it).

This machine's kernel has no sch_netem (`tc qdisc add ... netem` says "Specified qdisc kind
is unknown"; only pfifo/bfifo/htb/tbf/ingress/clsact are built in) and no nftables or
iptables binary, so the faults come from a small netem in user space: an L2 bridge between
two veth pairs, in a namespace of its own, that forwards every frame and applies loss,
delay with jitter, reordering, duplication and blackouts to the IPv4 UDP ones (ICE, DTLS,
SRTP), both ways, as `netem` on both ends of a veth would:

    test ns (server)               emu ns (this file, --emulate)          client ns
    sbf0 198.18.0.1/24  <-veth->  sbe0 ==[faults]== sbe1  <-veth->  sbf1 198.18.0.2/24
    sbs0 198.18.1.1/24  <------------------ veth ------------------> sbs1 198.18.1.2/24

The second pair carries the signalling (HTTP to the API) untouched, so a blackout of the
media path does not also stall the long-polls the test reads its verdicts from. Addresses
are from the benchmarking range 198.18.0.0/15 only, and nothing routes anywhere else.

Semantics, as netem's: `loss` drops each packet with that probability (Bernoulli); `delay_ms`
+ uniform +-`jitter_ms` holds each packet, and packets leave in order of their release time
(so jitter reorders, as netem's tfifo does); `reorder` sends that share of packets at once
and delays the others by `reorder_gap_ms` (netem's `delay 10ms reorder 25%`); `dup` sends
that share twice. Loss 1.0 is a blackout. The random numbers are seeded: runs repeat.
"""
import heapq
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

SERVER_ADDR = "198.18.0.1"
CLIENT_ADDR = "198.18.0.2"
SERVER_SIG_ADDR = "198.18.1.1"
CLIENT_SIG_ADDR = "198.18.1.2"
SERVER_IF = "sbf0"

FIELDS = ("loss", "delay_ms", "jitter_ms", "reorder", "reorder_gap_ms", "dup")


# ---- the emulator (runs in its own namespace) ---------------------------------------

def _is_udp4(frame):
    return len(frame) >= 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17


def emulate(if_a, if_b, seed=1):
    """Bridge if_a <-> if_b until stdin closes. Each stdin line is a JSON object of FIELDS
    (absent = 0) that replaces the fault settings, or {"stats": true}; each is answered with
    one JSON line: {"t": CLOCK_MONOTONIC when it took effect, "stats": counters}."""
    rng = random.Random(seed)
    socks = {}
    for name in (if_a, if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((name, ETH_P_ALL))
        s.setblocking(False)
        socks[name] = s
    other = {if_a: socks[if_b], if_b: socks[if_a]}
    by_fd = {s.fileno(): name for name, s in socks.items()}
    cfg = dict.fromkeys(FIELDS, 0.0)
    stats = {"udp": 0, "other": 0, "dropped": 0, "duplicated": 0, "delayed": 0,
             "reordered": 0, "send_errors": 0}
    queue = []  # (release time, sequence, socket, frame)
    seq = 0
    last_release = {if_a: 0.0, if_b: 0.0}  # release order seen per direction (reordering)
    buf = b""

    def send(sock, frame):
        try:
            sock.send(frame)
        except OSError:
            stats["send_errors"] += 1

    def udp_fault(name, frame):
        nonlocal seq
        stats["udp"] += 1
        if cfg["loss"] > 0 and rng.random() < cfg["loss"]:
            stats["dropped"] += 1
            return
        # Re-sent frames are new skbs with no checksum offload state: an IPv4 UDP checksum
        # of 0 means "none" (the sender's veth may have left it partial).
        frame = bytearray(frame)
        ihl = (frame[14] & 0x0F) * 4
        frame[14 + ihl + 6:14 + ihl + 8] = b"\0\0"
        frame = bytes(frame)
        copies = 2 if cfg["dup"] > 0 and rng.random() < cfg["dup"] else 1
        stats["duplicated"] += copies - 1
        now = time.monotonic()
        for _ in range(copies):
            delay = cfg["delay_ms"]
            if cfg["jitter_ms"]:
                delay += rng.uniform(-cfg["jitter_ms"], cfg["jitter_ms"])
            if cfg["reorder"] > 0:
                if rng.random() >= cfg["reorder"]:
                    delay += cfg["reorder_gap_ms"]
            delay = max(0.0, delay) / 1000.0
            if delay <= 0 and not queue:
                send(other[name], frame)
                continue
            stats["delayed"] += 1
            seq += 1
            heapq.heappush(queue, (now + delay, seq, name, frame))

    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        ready, _, _ = select.select([0] + list(by_fd), [], [], timeout)
        for fd in ready:
            if fd == 0:
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    req = json.loads(line)
                    if not req.get("stats"):
                        cfg = {k: float(req.get(k, 0)) for k in FIELDS}
                    sys.stdout.write(json.dumps({"t": time.monotonic(), "stats": stats}) + "\n")
                    sys.stdout.flush()
                continue
            name = by_fd[fd]
            s = socks[name]
            while True:
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own sends, seen again on this socket
                if _is_udp4(frame):
                    udp_fault(name, frame)
                else:
                    stats["other"] += 1
                    send(other[name], frame)
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, n, name, frame = heapq.heappop(queue)
            if n < last_release[name]:
                stats["reordered"] += 1
            last_release[name] = max(last_release[name], n)
            send(other[name], frame)


# ---- the test's side -----------------------------------------------------------------

class Namespace:
    """A network namespace held open by a sleeping child process."""

    def __init__(self):
        mine = os.readlink("/proc/self/ns/net")
        self.proc = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"],
                                     stdin=subprocess.DEVNULL)
        self.path = "/proc/%d/ns/net" % self.proc.pid
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if os.readlink(self.path) != mine:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        else:
            raise RuntimeError("no new network namespace (unshare --net failed?)")
        self.run(["ip", "link", "set", "lo", "up"])

    def cmd(self, args):
        return ["nsenter", "--net=" + self.path, "--"] + list(args)

    def run(self, args):
        subprocess.run(self.cmd(args), check=True, stdin=subprocess.DEVNULL)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _run(args):
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)


class FaultLink:
    """The topology above, with the emulator running; set() changes the faults."""

    def __init__(self, seed=1):
        self.emu_ns = self.client_ns = self.emu = None
        try:
            self.emu_ns, self.client_ns = Namespace(), Namespace()
            cpid, epid = str(self.client_ns.proc.pid), str(self.emu_ns.proc.pid)
            _run(["ip", "link", "add", SERVER_IF, "type", "veth", "peer", "name", "sbe0",
                  "netns", epid])
            _run(["ip", "link", "add", "sbs0", "type", "veth", "peer", "name", "sbs1",
                  "netns", cpid])
            self.emu_ns.run(["ip", "link", "add", "sbe1", "type", "veth", "peer", "name",
                             "sbf1", "netns", cpid])
            _run(["ip", "addr", "add", SERVER_ADDR + "/24", "dev", SERVER_IF])
            _run(["ip", "addr", "add", SERVER_SIG_ADDR + "/24", "dev", "sbs0"])
            for dev in (SERVER_IF, "sbs0"):
                _run(["ip", "link", "set", dev, "up"])
            self.client_ns.run(["ip", "addr", "add", CLIENT_ADDR + "/24", "dev", "sbf1"])
            self.client_ns.run(["ip", "addr", "add", CLIENT_SIG_ADDR + "/24", "dev", "sbs1"])
            for dev in ("sbf1", "sbs1"):
                self.client_ns.run(["ip", "link", "set", dev, "up"])
            for dev in ("sbe0", "sbe1"):
                self.emu_ns.run(["ip", "link", "set", dev, "up"])
            self.emu = subprocess.Popen(
                self.emu_ns.cmd([sys.executable, os.path.abspath(__file__), "--emulate",
                                 "sbe0", "sbe1", str(seed)]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            self.set()
        except Exception:
            self.close()
            raise

    def _ask(self, req):
        self.emu.stdin.write(json.dumps(req) + "\n")
        self.emu.stdin.flush()
        line = self.emu.stdout.readline()
        if not line:
            raise RuntimeError("the link emulator exited (%s)" % self.emu.poll())
        return json.loads(line)

    def set(self, **faults):
        """Replace the faults (loss=0.2, delay_ms=100, jitter_ms=30, reorder=0.25,
        reorder_gap_ms=10, dup=0.1; nothing = a clean link). Returns the CLOCK_MONOTONIC
        time at which the emulator applied them."""
        bad = set(faults) - set(FIELDS)
        if bad:
            raise ValueError("unknown faults %r" % sorted(bad))
        return self._ask(faults)["t"]

    def stats(self):
        return self._ask({"stats": True})["stats"]

    def client_cmd(self, args):
        """A command line that runs args in the client namespace."""
        return self.client_ns.cmd(args)

    def close(self):
        if self.emu is not None and self.emu.poll() is None:
            self.emu.stdin.close()
            try:
                self.emu.wait(5)
            except subprocess.TimeoutExpired:
                self.emu.kill()
                self.emu.wait()
        for ns in (self.client_ns, self.emu_ns):
            if ns is not None:
                ns.close()  # its veth ends go with it, and so do their peers here


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--emulate":
    emulate(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
