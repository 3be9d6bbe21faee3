"""A packet capture of the UDP on one interface of the test's own namespace (AF_PACKET, root),
with the kernel's timestamps, classified the way RFC 7983 demultiplexes ICE/DTLS/SRTP:

    STUN (first byte 0-3: method, class, ICE USERNAME), DTLS (20-63), RTP or RTCP (128-191;
    RTCP when the second byte's packet type is 192-223, RFC 5761).

SRTP leaves the RTP header clear (payload type, SSRC, sequence number, marker) and SRTCP the
first 8 bytes (so the first packet type of a compound packet: a PLI sent alone shows as
PSFB 206 with FMT 1). Nothing is written to disk. Python 3 standard library only.

    sn = Sniffer("nl2b"); sn.start(); ...; sn.stop(); sn.packets
"""
import select
import socket
import struct
import threading
import time

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
STUN_USERNAME = 0x0006


class Packet:
    __slots__ = ("t", "out", "src", "dst", "size", "kind", "detail")

    def __init__(self, t, out, src, dst, size, kind, detail):
        self.t, self.out, self.src, self.dst = t, out, src, dst
        self.size, self.kind, self.detail = size, kind, detail

    def __repr__(self):
        return "%.6f %s %s:%d > %s:%d %s %s %d" % (
            self.t, "out" if self.out else "in ", self.src[0], self.src[1], self.dst[0],
            self.dst[1], self.kind, self.detail, self.size)


def classify(payload):
    """(kind, detail) of one UDP payload."""
    if not payload:
        return "empty", {}
    b0 = payload[0]
    if b0 < 4 and len(payload) >= 20:
        mtype, _length, cookie = struct.unpack("!HHI", payload[:8])
        d = {"method": mtype & 0x3EEF, "class": ((mtype >> 7) & 2) | ((mtype >> 4) & 1)}
        if cookie == 0x2112A442:
            off = 20
            while off + 4 <= len(payload):
                at, al = struct.unpack("!HH", payload[off:off + 4])
                if at == STUN_USERNAME:
                    d["username"] = payload[off + 4:off + 4 + al].decode(errors="replace")
                off += 4 + al + (-al % 4)
        return "stun", d
    if 20 <= b0 <= 63:
        return "dtls", {"content": b0}
    if 128 <= b0 <= 191 and len(payload) >= 8:
        pt = payload[1]
        if 192 <= pt <= 223:
            return "rtcp", {"pt": pt, "fmt": b0 & 0x1F,
                            "ssrc": struct.unpack("!I", payload[4:8])[0]}
        if len(payload) >= 12:
            seq, _ts, ssrc = struct.unpack("!HII", payload[2:12])
            return "rtp", {"pt": pt & 0x7F, "marker": pt >> 7, "seq": seq, "ssrc": ssrc}
    return "other", {}


def parse(frame):
    """Ethernet + IPv4 + UDP -> (src, dst, payload) or None."""
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17:
        return None
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    udp = ip[ihl:]
    sport, dport = struct.unpack("!HH", udp[:4])
    return (src, sport), (dst, dport), udp[8:]


class Sniffer(threading.Thread):
    def __init__(self, iface):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.packets = []
        self.lock = threading.Lock()
        self._quit = False

    def run(self):
        while not self._quit:
            if not select.select([self.sock], [], [], 0.2)[0]:
                continue
            data, anc, _flags, addr = self.sock.recvmsg(65536, 64)
            ts = None
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    ts = sec + nsec / 1e9
            p = parse(data)
            if p is None:
                continue
            src, dst, payload = p
            kind, detail = classify(payload)
            with self.lock:
                self.packets.append(Packet(ts or time.time(), addr[2] == PACKET_OUTGOING, src,
                                           dst, len(payload), kind, detail))

    def snapshot(self):
        with self.lock:
            return list(self.packets)

    def stop(self):
        self._quit = True
        self.join(2)
        self.sock.close()
