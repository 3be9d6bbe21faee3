"""A minimal STUN/TURN client (RFC 5389 / 5766) for tests: Binding, and Allocate with the
long-term credential mechanism (the 401 challenge, then the request signed with
MESSAGE-INTEGRITY), over UDP, TCP or TLS, then Refresh to release it. Python 3 standard
library only.

    c = TurnClient("127.0.0.1", 3478, "tcp")
    r = c.allocate("alice", "secret")    # r.ok, r.code, r.relayed, r.mapped, r.lifetime
    c.close()                           # releases the allocation (Refresh lifetime 0)
"""
import binascii
import hashlib
import hmac
import os
import socket
import ssl
import struct
import time

MAGIC = 0x2112A442
BINDING, ALLOCATE, REFRESH = 0x001, 0x003, 0x004
SUCCESS, ERROR = 0x100, 0x110  # class bits added to the method
A_USERNAME, A_MI, A_ERROR, A_LIFETIME = 0x0006, 0x0008, 0x0009, 0x000D
A_REALM, A_NONCE, A_RELAYED, A_TRANSPORT = 0x0014, 0x0015, 0x0016, 0x0019
A_MAPPED, A_FINGERPRINT = 0x0020, 0x8028
UDP, TCP = 17, 6


class Result:
    """What an Allocate (or Binding) came to: ok, or the error code and reason; the
    relayed and mapped (ip, port); the lifetime; integrity_ok (the answer was signed with
    our key)."""

    def __init__(self):
        self.ok, self.code, self.reason = False, None, ""
        self.relayed = self.mapped = self.lifetime = None
        self.integrity_ok = None

    def __repr__(self):
        if self.ok:
            return "<ok relayed=%s mapped=%s lifetime=%s>" % (self.relayed, self.mapped,
                                                              self.lifetime)
        return "<error %s %s>" % (self.code, self.reason)


class TurnClient:
    """One connection (or UDP socket) to a STUN/TURN server. transport: udp, tcp or tls
    (not verified unless tls_context says so). sock_factory(family, type) makes the socket
    (e.g. a netns.Namespace's .socket, to start from another namespace)."""

    def __init__(self, host, port, transport="udp", timeout=3.0, sock_factory=None,
                 tls_context=None, server_name=None):
        self.addr, self.transport, self.timeout = (host, port), transport, timeout
        make = sock_factory or socket.socket
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = make(socket.AF_INET, kind)
        self.sock.settimeout(timeout)
        self.key = self.username = self.realm = self.nonce = None
        self.allocated = False
        try:
            if transport != "udp":
                self.sock.connect(self.addr)
            if transport == "tls":
                ctx = tls_context
                if ctx is None:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name)
        except Exception:
            self.sock.close()
            raise

    # ---- messages -------------------------------------------------------------------

    def _request(self, method, attrs, sign):
        txid = os.urandom(12)
        body = b"".join(_attr(t, v) for t, v in attrs)
        if sign and self.key:
            body += _attr(A_USERNAME, self.username.encode()) + \
                _attr(A_REALM, self.realm.encode()) + _attr(A_NONCE, self.nonce)
            head = struct.pack("!HHI12s", method, len(body) + 24, MAGIC, txid)
            body += _attr(A_MI, hmac.new(self.key, head + body, hashlib.sha1).digest())
        head = struct.pack("!HHI12s", method, len(body) + 8, MAGIC, txid)
        crc = binascii.crc32(head + body) ^ 0x5354554E
        msg = head + body + _attr(A_FINGERPRINT, struct.pack("!I", crc))
        return txid, msg

    def _exchange(self, method, attrs=(), sign=False):
        """Send one request, return (type, {attr: value}, raw) of its answer; None on
        timeout (UDP retransmits every 0.5 s until then)."""
        txid, msg = self._request(method, attrs, sign)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.transport != "udp":
                self.sock.sendall(msg)
            else:
                try:
                    self.sock.sendto(msg, self.addr)
                except OSError:  # a firewall's EPERM, no route: as if lost
                    pass
            wait_until = min(deadline, time.time() + 0.5) if self.transport == "udp" \
                else deadline
            while time.time() < wait_until:
                self.sock.settimeout(max(0.01, wait_until - time.time()))
                try:
                    raw = self._read()
                except (socket.timeout, TimeoutError):
                    break
                if raw is None:
                    return None
                if len(raw) >= 20 and raw[8:20] == txid:
                    mtype = struct.unpack("!H", raw[:2])[0]
                    return mtype, _parse(raw), raw
        return None

    def _read(self):
        if self.transport == "udp":
            return self.sock.recvfrom(65536)[0]
        head = self._recv_exact(20)
        if head is None:
            return None
        return head + (self._recv_exact(struct.unpack("!H", head[2:4])[0]) or b"")

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    # ---- requests -------------------------------------------------------------------

    def binding(self):
        """A STUN Binding: Result with mapped = our address as the server sees it."""
        r = Result()
        ans = self._exchange(BINDING)
        if ans is None:
            r.reason = "no answer"
            return r
        mtype, attrs, _ = ans
        r.ok = mtype == BINDING | SUCCESS
        r.mapped = _xor_addr(attrs.get(A_MAPPED))
        return r

    def allocate(self, username, password, lifetime=None, transport=UDP):
        """Allocate a relay (UDP by default): unsigned first, then with the realm and
        nonce of the 401 (once more on 438 Stale Nonce). Result.code 401 at the end means
        the credentials were refused."""
        attrs = [(A_TRANSPORT, struct.pack("!B3x", transport))]
        if lifetime is not None:
            attrs.append((A_LIFETIME, struct.pack("!I", lifetime)))
        r = Result()
        self.key = None
        ans = self._exchange(ALLOCATE, attrs)
        for _ in range(3):
            if ans is None:
                r.reason = "no answer"
                return r
            mtype, got, raw = ans
            if mtype == ALLOCATE | SUCCESS:  # a server without authentication
                break
            code, reason = _error(got.get(A_ERROR))
            if code not in (401, 438) or A_NONCE not in got or username is None \
                    or (code == 401 and self.key is not None):
                r.code, r.reason = code, reason
                return r
            self.username, self.nonce = username, got[A_NONCE]
            self.realm = got.get(A_REALM, (self.realm or "").encode()).decode()
            self.key = hashlib.md5(("%s:%s:%s" % (username, self.realm, password))
                                   .encode()).digest()
            ans = self._exchange(ALLOCATE, attrs, sign=True)
        else:
            r.code, r.reason = _error(ans[1].get(A_ERROR))
            return r
        mtype, got, raw = ans
        r.ok, self.allocated = True, True
        r.relayed, r.mapped = _xor_addr(got.get(A_RELAYED)), _xor_addr(got.get(A_MAPPED))
        if A_LIFETIME in got:
            r.lifetime = struct.unpack("!I", got[A_LIFETIME])[0]
        r.integrity_ok = self.key is not None and _integrity_ok(raw, self.key)
        return r

    def release(self):
        """Refresh with lifetime 0: the allocation ends. True if the server agreed."""
        if not self.allocated:
            return False
        self.allocated = False
        ans = self._exchange(REFRESH, [(A_LIFETIME, struct.pack("!I", 0))], sign=True)
        return ans is not None and ans[0] == REFRESH | SUCCESS

    def close(self):
        try:
            if self.allocated:
                self.release()
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _attr(atype, value):
    return struct.pack("!HH", atype, len(value)) + value + b"\0" * (-len(value) % 4)


def _parse(raw):
    attrs, i, end = {}, 20, 20 + struct.unpack("!H", raw[2:4])[0]
    while i + 4 <= min(end, len(raw)):
        atype, alen = struct.unpack("!HH", raw[i:i + 4])
        attrs.setdefault(atype, raw[i + 4:i + 4 + alen])
        attrs.setdefault(("offset", atype), i)
        i += 4 + alen + (-alen % 4)
    return attrs


def _error(value):
    if not value or len(value) < 4:
        return None, ""
    return value[2] * 100 + value[3], value[4:].decode(errors="replace")


def _xor_addr(value):
    if not value or len(value) < 8 or value[1] != 1:  # IPv4 only
        return None
    port = struct.unpack("!H", value[2:4])[0] ^ (MAGIC >> 16)
    ip = struct.unpack("!I", value[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", ip)), port


def _integrity_ok(raw, key):
    at = _parse(raw).get(("offset", A_MI))
    if at is None:
        return False
    head = raw[:2] + struct.pack("!H", at + 24 - 20) + raw[4:20]
    want = hmac.new(key, head + raw[20:at], hashlib.sha1).digest()
    return hmac.compare_digest(want, raw[at + 4:at + 24])
