"""The network of the ICE restart test and benchmark: the server in the test's own namespace,
a Chromium page in a client namespace joined to it by two veth pairs (lib/netns.py):

    client ns                                   own ns (server, aiortc on 127.0.0.1)
    sig   198.18.3.2/24  <------------------>   198.18.3.1/24  page + Janus API (HTTP)
    media 198.18.1.2/24  <------------------>   198.18.1.1/24  ICE (UDP)

UDP to or from 198.18.3.0/24 is dropped in the client namespace, so media can only take
the media veth, while signaling (TCP) keeps its own path when the client's media address
changes: move_media() deletes the client's media address and adds another on the same
veth, after which nothing reaches the old one (forwarding is off, so the client drops what
the server still sends there, and Chromium's sockets on it are gone).

The page is served by the daemon (--html-folder) from 198.18.3.1, the API on the same
origin; Chromium is told to treat that origin as secure (getUserMedia needs it).
"""
import os
import shutil
import tempfile

import netns
from pagerpc import PageRpc
from sbchromium import ADAPTER_JS, JANUS_JS, missing  # noqa: F401 - restartlab.missing()
from sbtest import Server

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(os.path.dirname(HERE), "web")

SERVER_SIG, CLIENT_SIG = "198.18.3.1", "198.18.3.2"
SERVER_MEDIA = "198.18.1.1"
CLIENT_MEDIA = ["198.18.1.%d" % i for i in range(2, 60)]  # the client's successive addresses
PORT = 18088


class RestartLab:
    def __init__(self, builddir, log_level="info", name="ice-restart", extra_args=()):
        self.html = tempfile.mkdtemp(prefix="sb-restart-html-")
        for f in (os.path.join(WEB, "ice_restart.html"), JANUS_JS, ADAPTER_JS):
            shutil.copy(f, self.html)
        self.lab = netns.Lab()
        self.server = None
        self.pages = []
        try:
            self.client = self.lab.namespace("client")
            self.sig = netns.veth(self.client, netns.own(), CLIENT_SIG + "/24",
                                  SERVER_SIG + "/24")
            self.media = netns.veth(self.client, netns.own(), CLIENT_MEDIA[0] + "/24",
                                    SERVER_MEDIA + "/24")
            self.addr_index = 0
            netns.nft(self.client, """table inet sb_sig_udp
delete table inet sb_sig_udp
table inet sb_sig_udp {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 198.18.3.0/24 meta l4proto udp counter drop
    ip saddr 198.18.3.0/24 meta l4proto udp counter drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 198.18.3.0/24 meta l4proto udp counter drop
    ip saddr 198.18.3.0/24 meta l4proto udp counter drop
  }
}
""")
            # HTTP on every address (127.0.0.1 for the test itself, 198.18.3.1 for the page).
            self.server = Server(builddir, args=["--bind", "0.0.0.0", "--log-level", log_level]
                                 + list(extra_args),
                                 html_folder=self.html, ws=False, name=name, http_port=PORT)
        except BaseException:
            self.close()
            raise

    @property
    def origin(self):
        return "http://%s:%d" % (SERVER_SIG, PORT)

    @property
    def api(self):
        return self.origin + "/janus"

    @property
    def client_media(self):
        return CLIENT_MEDIA[self.addr_index]

    def open_page(self):
        page = PageRpc(self.origin + "/ice_restart.html", ns=self.client,
                       args=["--unsafely-treat-insecure-origin-as-secure=" + self.origin])
        self.pages.append(page)
        return page

    def move_media(self):
        """The client's media address changes: the old one is deleted (first: deleting a
        primary address would take the secondaries with it), the next one added on the
        same veth. Returns (old, new)."""
        old = self.client_media
        self.addr_index += 1
        new = self.client_media
        dev = self.media.name_a
        self.client.run(["ip", "addr", "del", old + "/24", "dev", dev])
        self.client.run(["ip", "addr", "add", new + "/24", "dev", dev])
        return old, new

    def client_addresses(self):
        out = self.client.run(["ip", "-4", "-o", "addr", "show", "dev", self.media.name_a])
        return [ln.split()[3].split("/")[0] for ln in out.stdout.splitlines()]

    def log(self):
        with open(self.server.log_path, errors="replace") as fh:
            return fh.read()

    def close_pages(self):
        while self.pages:
            self.pages.pop().close()

    def stop_server(self):
        """Stop the daemon; its problems (exit, sanitizer reports) as a list."""
        if self.server is None:
            return []
        return self.server.stop()

    def close(self):
        self.close_pages()
        if self.server is not None:
            self.server.stop()
            self.server.cleanup()
            self.server = None
        self.lab.close()
        shutil.rmtree(self.html, ignore_errors=True)
