"""A Switchboard cluster on one machine, as docs/scaling.md lays it out: nodes 1..N (node N:
HTTP 810N, WebSocket 820N, admin 710N on 127.0.0.1) behind HAProxy run with the shipped
conf/haproxy.cfg as it is (HTTP 8088, WebSocket 8188, admin 7088). The test's network
namespace keeps these ports to itself."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from sbtest import Server, wait_port

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    ".."))
CONF = os.path.join(REPO, "conf")
LB_HTTP, LB_WS, LB_ADMIN = 8088, 8188, 7088


def node_ports(n):
    """(HTTP, WebSocket, admin) ports of node n in the shipped layout."""
    return 8100 + n, 8200 + n, 7100 + n


def start_node(builddir, n, args=(), html_folder=""):
    http, ws, admin = node_ports(n)
    assert admin == http - 1000  # Server puts the admin listener there
    return Server(builddir, ["--node-id", str(n)] + list(args), http_port=http, ws_port=ws,
                  name="node%d" % n, html_folder=html_folder)


class HAProxy:
    """haproxy -f conf/haproxy.cfg with conf/ as SB_HAPROXY_CONF (its node map)."""

    def __init__(self, cfg=os.path.join(CONF, "haproxy.cfg"), conf_dir=CONF):
        self.tmp = tempfile.mkdtemp(prefix="sbtest-haproxy-")
        self.log_path = os.path.join(self.tmp, "haproxy.log")
        self.log = open(self.log_path, "wb")
        env = dict(os.environ, SB_HAPROXY_CONF=conf_dir)
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        for port in (LB_HTTP, LB_WS, LB_ADMIN):
            wait_port(port, proc=self.proc)

    def log_tail(self, n=3000):
        with open(self.log_path, errors="replace") as fh:
            return fh.read()[-n:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def http_status(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=3) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def wait_until(pred, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Redis:
    """redis-server on 127.0.0.1:port with nothing saved: a restart comes back empty, the
    worst case for the nodes (they must say again what they had put there)."""

    def __init__(self, port=6379):
        self.port = port
        self.tmp = tempfile.mkdtemp(prefix="sbtest-redis-")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.tmp, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.tmp], stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port, proc=self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip()

    def cleanup(self):
        self.stop()
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


SECRET = "the cluster's test secret"


def cluster_args(redis_port=6379, secret=SECRET):
    return ["--cluster-redis", "127.0.0.1:%d" % redis_port, "--cluster-secret", secret]
