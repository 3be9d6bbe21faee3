"""A UDP relay that drops RTP, to put loss between a WebRTC client and the server where no
netem is available (this machine's kernel has no sch_netem).

The client is given the relay's port in place of the server's candidate port; for each
client address the relay opens its own socket towards the server, so the server sees one
peer-reflexive address per client and answers there. STUN, DTLS and RTCP pass untouched;
RTP (RFC 7983 first byte 128-191 and not an RTCP packet type) is dropped with the given
probability in each direction, by a seeded generator so runs are comparable. One thread,
selectors; stop() joins it. Python 3 stdlib only."""
import random
import selectors
import socket
import threading


def is_rtp(data):
    return len(data) >= 12 and 128 <= data[0] <= 191 and not (192 <= data[1] <= 223)


class LossyRelay:
    def __init__(self, server_addr, loss_to_server=0.0, loss_to_client=0.0, seed=1,
                 drop_first_to_client=None):
        """drop_first_to_client: (payload type, n): also drop the first n RTP packets of
        that payload type going to the client (e.g. the first keyframe)."""
        self.server_addr = server_addr
        self.drop_first = list(drop_first_to_client) if drop_first_to_client else None
        self.loss = {"up": loss_to_server, "down": loss_to_client}
        self.rng = random.Random(seed)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.front.setblocking(False)
        self.port = self.front.getsockname()[1]
        self.backs = {}  # client address -> socket towards the server
        self.clients = {}  # back socket fileno -> client address
        self.counts = {"up": [0, 0], "down": [0, 0]}  # [rtp forwarded, rtp dropped]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.front, selectors.EVENT_READ, None)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _drop(self, direction, data):
        if not is_rtp(data):
            return False
        if direction == "down" and self.drop_first and self.drop_first[1] > 0 and \
                (data[1] & 0x7F) == self.drop_first[0]:
            self.drop_first[1] -= 1
            self.counts[direction][1] += 1
            return True
        if self.rng.random() < self.loss[direction]:
            self.counts[direction][1] += 1
            return True
        self.counts[direction][0] += 1
        return False

    def _back(self, client):
        s = self.backs.get(client)
        if s is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.backs[client] = s
            self.clients[s.fileno()] = client
            self.sel.register(s, selectors.EVENT_READ, client)
        return s

    def _run(self):
        while self.running:
            for key, _ in self.sel.select(0.2):
                sock = key.fileobj
                while True:
                    try:
                        data, addr = sock.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    try:
                        if key.data is None:  # from a client
                            if not self._drop("up", data):
                                self._back(addr).sendto(data, self.server_addr)
                        elif addr == self.server_addr and not self._drop("down", data):
                            self.front.sendto(data, key.data)
                    except OSError:
                        pass

    def stop(self):
        self.running = False
        self.thread.join(5)
        for s in list(self.backs.values()) + [self.front]:
            s.close()
        self.sel.close()
