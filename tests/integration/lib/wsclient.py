"""A minimal RFC 6455 WebSocket client (standard library only) for the janus-protocol
subprotocol: handshake, masked client frames, text/ping/close, fragmented messages."""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsError(Exception):
    pass


class WsClient:
    def __init__(self, port, path="/", protocol="janus-protocol", host="127.0.0.1",
                 timeout=10.0, extra_headers=None, ssl_context=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ssl_context is not None:  # wss://
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=host)
        self.buf = b""
        self.closed = False
        self.backlog = []  # messages read by request() that answered something else
        key = base64.b64encode(os.urandom(16))
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: %s" % key.decode(), "Sec-WebSocket-Version: 13"]
        if protocol:
            lines.append("Sec-WebSocket-Protocol: %s" % protocol)
        lines += list(extra_headers or [])
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WsError("connection closed during the handshake: %r" % self.buf)
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        head = head.decode("latin-1").split("\r\n")
        self.status_line = head[0]
        if " 101 " not in head[0] + " ":
            raise WsError("handshake refused: %s" % head[0])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise WsError("bad Sec-WebSocket-Accept")
        self.protocol = headers.get("sec-websocket-protocol")

    # ---- frames ----
    def send_frame(self, opcode, payload, fin=True, mask=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head += bytes([mbit | n])
        elif n < 65536:
            head += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            head += key
        self.sock.sendall(head + payload)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise WsError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        if b1 & 0x80:
            raise WsError("server frames must not be masked")
        return bool(b0 & 0x80), b0 & 0x0F, self._read(n)

    def recv_message(self, timeout=10.0):
        """Next text message (str). Answers pings; raises on close or timeout."""
        self.sock.settimeout(timeout)
        parts = []
        while True:
            fin, op, payload = self.recv_frame()
            if op == 0x9:
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                self.closed = True
                raise WsError("closed by the server: %r" % payload)
            parts.append(payload)
            if fin:
                return b"".join(parts).decode("utf-8")

    # ---- JSON ----
    def send_text(self, text):
        self.send_frame(0x1, text.encode("utf-8") if isinstance(text, str) else text)

    def send(self, obj):
        self.send_text(json.dumps(obj))

    def recv(self, timeout=10.0):
        return json.loads(self.recv_message(timeout))

    def recv_until(self, pred, timeout=10.0):
        """The first message (earlier ones set aside included) for which pred(msg) is
        true. Others read meanwhile are set aside in self.backlog, in order: events and
        replies may come in either order, so a test asks for each one it expects."""
        for i, m in enumerate(self.backlog):
            if pred(m):
                del self.backlog[i]
                return m
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise WsError("no matching message within %.1fs; set aside: %r"
                              % (timeout, self.backlog))
            try:
                m = self.recv(left)
            except socket.timeout:
                raise WsError("no matching message within %.1fs; set aside: %r"
                              % (timeout, self.backlog))
            if pred(m):
                return m
            self.backlog.append(m)

    def request(self, obj, timeout=10.0):
        """Send obj and return the reply (not an event) carrying its transaction."""
        self.send(obj)
        tx = obj.get("transaction")
        return self.recv_until(
            lambda m: m.get("transaction") == tx and m.get("janus") != "event", timeout)

    def close(self):
        if not self.closed:
            try:
                self.send_frame(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
        self.closed = True
        self.sock.close()
