"""Datagrams with a forged source: what an attacker who can spoof a client's address and port
sends. A raw IPv4 socket (root, which the test namespaces give) writes the IP and UDP headers
itself, so the packet leaves "from" any address:port; on loopback the kernel delivers it like
any other. Also: DTLS records and STUN messages built by hand, for the spoof tests."""
import os
import socket
import struct


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Spoofer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.sent = 0

    def send(self, src, dst, payload):
        """One UDP datagram from src (host, port) to dst (host, port)."""
        udp_len = 8 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, os.getpid() & 0xFFFF, 0, 64,
                         socket.IPPROTO_UDP, 0, socket.inet_aton(src[0]),
                         socket.inet_aton(dst[0]))
        pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src[0]), socket.inet_aton(dst[0]), 0,
                             socket.IPPROTO_UDP, udp_len)
        udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0)
        csum = _checksum(pseudo + udp + payload) or 0xFFFF
        udp = struct.pack("!HHHH", src[1], dst[1], udp_len, csum)
        self.sock.sendto(ip + udp + payload, (dst[0], 0))
        self.sent += 1

    def close(self):
        self.sock.close()


def dtls_record(ctype, epoch, seq, body):
    """One DTLS 1.2 record (RFC 6347 §4.1) with the given header fields and body bytes."""
    return struct.pack("!BHH", ctype, 0xFEFD, epoch) + seq.to_bytes(6, "big") + \
        struct.pack("!H", len(body)) + body


def forged_dtls_records():
    """Every content type (and two unknown ones), epochs 0, 1, 2, bodies from empty to larger
    than any real record, sequence numbers at and far ahead of the live ones: none of them
    authenticates."""
    out = []
    for ctype in (20, 21, 22, 23, 24, 25):
        for epoch in (0, 1, 2):
            for n in (0, 1, 2, 8, 16, 23, 24, 40, 300, 1200):
                for seq in (1, 50, 1 << 40):
                    if ctype == 21 and n >= 2:
                        body = bytes([2, 40]) + os.urandom(n - 2)  # fatal handshake_failure
                    elif ctype == 20 and n >= 1:
                        body = b"\x01" + os.urandom(n - 1)
                    else:
                        body = os.urandom(n)
                    out.append(dtls_record(ctype, epoch, seq, body))
    return out


STUN_MAGIC = 0x2112A442


def stun_message(mtype, attrs=b"", txid=None):
    """A STUN message (RFC 5389 §6) without MESSAGE-INTEGRITY or FINGERPRINT."""
    txid = txid or os.urandom(12)
    return struct.pack("!HHI", mtype, len(attrs), STUN_MAGIC) + txid + attrs


def stun_attr(atype, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", atype, len(value)) + value + b"\0" * pad


def forged_stun(username):
    """Binding requests that claim the right username (even USE-CANDIDATE and ICE-CONTROLLING
    with a huge tie-breaker) but carry no or a wrong MESSAGE-INTEGRITY; forged success and
    error responses; a binding indication; truncated and over-long messages."""
    user = stun_attr(0x0006, username.encode())
    prio = stun_attr(0x0024, struct.pack("!I", 0x7E0000FF))
    control = stun_attr(0x802A, b"\xff" * 8)
    use = stun_attr(0x0025, b"")
    bogus_mi = stun_attr(0x0008, os.urandom(20))
    xor_addr = stun_attr(0x0020, struct.pack("!BBH4s", 0, 1, 0x1234, os.urandom(4)))
    err = stun_attr(0x0009, struct.pack("!HBB", 0, 4, 87) + b"Role Conflict")
    return [
        stun_message(0x0001, user + prio + control + use),
        stun_message(0x0001, user + prio + control + use + bogus_mi),
        stun_message(0x0001),
        stun_message(0x0101, xor_addr),
        stun_message(0x0101, xor_addr + bogus_mi),
        stun_message(0x0111, err),
        stun_message(0x0111, err + bogus_mi),
        stun_message(0x0011),
        stun_message(0x0001, user)[:30],
        stun_message(0x0001, user + b"\0" * 1400),
    ]
