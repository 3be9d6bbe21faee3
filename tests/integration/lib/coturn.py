"""Debian's coturn (`turnserver` 4.6) as a child process of a test, with everything in a
private temp folder: config, log, pid file, SQLite user db, and for TLS a self-signed
certificate made with openssl. No /etc file is read (-c points at ours), no daemon mode,
no CLI, no web admin.

    with Coturn(listen=["198.18.2.2"], users={"alice": "pw"}, tls_port=5349) as turn:
        ...  # TURN at 198.18.2.2:3478 UDP/TCP and 5349 TLS/DTLS
        turn.wait_allocation("alice")   # the log line that shows it happened

One process takes either static users (lt-cred-mech) or a REST secret (use-auth-secret),
not both: with both, the secret wins and the static users get 401 (start two). Relaying
to 127.0.0.1 needs allow-loopback-peers (on by default here). The session log lines
(allocations) come only with `verbose`, which is always set here.
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import netns

TURNSERVER = "/usr/bin/turnserver"
# session 000000000000000002: new, realm=<switchboard.test>, username=<alice>, lifetime=777
# (+ ", cipher=ECDHE-ECDSA-AES256-GCM-SHA384, method=TLSv1.2" over TLS/DTLS)
NEW_RE = re.compile(r"session (\d+): new, realm=<([^>]*)>, username=<([^>]*)>, "
                    r"lifetime=(\d+)(?:, cipher=([^,]*), method=(\S+))?")
# session 001000000000000002: closed (2nd stage), user <alice> realm <r> origin <>,
#   local 127.0.0.1:3478, remote 127.0.0.1:52822, reason: ...
CLOSED_RE = re.compile(r"session (\d+): closed \(2nd stage\), user <([^>]*)> realm <[^>]*> "
                       r"origin <[^>]*>, local (\S+), remote (\S+), reason: (.*)")
LISTENER_RE = re.compile(r"IPv4\. (\S+) listener opened on ?: (\S+)")


def turn_rest_credentials(secret, user, ttl, now=None):
    """TURN REST API credentials (coturn's use-auth-secret): username "<expiry>:<user>"
    with expiry = now + ttl (a negative ttl gives expired ones), password
    base64(HMAC-SHA1(secret, username)). Returns (username, password)."""
    expiry = int(time.time() if now is None else now) + int(ttl)
    username = "%d:%s" % (expiry, user)
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class Coturn:
    """A turnserver listening on each of `listen` (IPv4) at `port` (UDP and TCP), and at
    `tls_port` (TLS and DTLS) if given, relaying from `relay` (default: the first listen
    address), inside namespace `ns` (default: the test's own). Auth: `users`
    {name: password} (long-term credentials), or `auth_secret` (TURN REST API), or
    neither (no-auth). TLS uses `cert` (cert_path, key_path) if given, else a self-signed
    one for the listen addresses. `extra` adds config lines."""

    def __init__(self, listen=("127.0.0.1",), port=3478, relay=None, realm="switchboard.test",
                 users=None, auth_secret=None, tls_port=None, cert=None, ns=None,
                 allow_loopback_peers=True, min_port=49152, max_port=65535, extra=(),
                 name="coturn", timeout=10.0):
        if users and auth_secret:
            raise ValueError("coturn serves static users or a REST secret, not both")
        self.listen, self.port, self.tls_port = list(listen), port, tls_port
        self.relay = list(relay or self.listen[:1])
        self.realm, self.ns = realm, ns or netns.own()
        self.tmp = tempfile.mkdtemp(prefix="sbtest-%s-" % name)
        self.log_path = os.path.join(self.tmp, "turn.log")
        self.conf_path = os.path.join(self.tmp, "turnserver.conf")
        self.cert_path = self.key_path = None
        lines = ["listening-port=%d" % port, "realm=%s" % realm, "verbose", "fingerprint",
                 "no-cli", "no-rfc5780", "no-stdout-log", "simple-log",
                 "log-file=" + self.log_path,
                 "pidfile=" + os.path.join(self.tmp, "turn.pid"),
                 "userdb=" + os.path.join(self.tmp, "turndb"),
                 "min-port=%d" % min_port, "max-port=%d" % max_port]
        lines += ["listening-ip=" + ip for ip in self.listen]
        lines += ["relay-ip=" + ip for ip in self.relay]
        if users:
            lines.append("lt-cred-mech")
            lines += ["user=%s:%s" % kv for kv in users.items()]
        elif auth_secret:
            lines += ["use-auth-secret", "static-auth-secret=" + auth_secret]
        else:
            lines.append("no-auth")
        if allow_loopback_peers:
            lines.append("allow-loopback-peers")
        if tls_port:
            self.cert_path, self.key_path = cert or self._make_cert()
            lines += ["tls-listening-port=%d" % tls_port, "cert=" + self.cert_path,
                      "pkey=" + self.key_path]
        else:
            lines += ["no-tls", "no-dtls"]
        lines += list(extra)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.out = open(os.path.join(self.tmp, "stdout.log"), "wb")
        self.proc = subprocess.Popen(self.ns.cmd([TURNSERVER, "-c", self.conf_path]),
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        self.stopped = None
        try:
            self._wait_listening(timeout)
        except Exception:
            self.close()
            raise

    def _make_cert(self):
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        san = ",".join("IP:" + ip for ip in self.listen)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=turn.switchboard.test", "-addext",
                        "subjectAltName=DNS:turn.switchboard.test," + san,
                        "-keyout", key, "-out", cert],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True)
        return cert, key

    def _wait_listening(self, timeout):
        want = set()
        for ip in self.listen:
            for p in [self.port] + ([self.tls_port] if self.tls_port else []):
                want |= {("TCP", "%s:%d" % (ip, p)), ("UDP", "%s:%d" % (ip, p))}
        deadline = time.time() + timeout
        while True:
            seen = {("TCP" if "TCP" in kind else "UDP", addr)
                    for kind, addr in LISTENER_RE.findall(self.log())}
            if want <= seen:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("turnserver exited with %s:\n%s" % (
                    self.proc.returncode, self.tail()))
            if time.time() > deadline:
                raise RuntimeError("turnserver not listening on %s after %.0fs:\n%s" % (
                    sorted(want - seen), timeout, self.tail()))
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        """The whole log so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def tail(self, chars=3000):
        return self.log()[-chars:]

    def allocations(self):
        """Every allocation so far, from the "session N: new, ..." lines: dicts with
        session, realm, username, lifetime, cipher and method (TLS/DTLS only, else None),
        and once it ended (the "closed (2nd stage)" line) local, remote and reason."""
        text = self.log()
        closed = {m.group(1): m for m in CLOSED_RE.finditer(text)}
        out = []
        for m in NEW_RE.finditer(text):
            a = {"session": m.group(1), "realm": m.group(2), "username": m.group(3),
                 "lifetime": int(m.group(4)), "cipher": m.group(5), "method": m.group(6),
                 "local": None, "remote": None, "reason": None}
            c = closed.get(m.group(1))
            if c:
                a.update(local=c.group(3), remote=c.group(4), reason=c.group(5))
            out.append(a)
        return out

    def wait_allocation(self, username, timeout=5.0, closed=False, **match):
        """The first allocation of `username` (whose other fields equal `match`), waiting
        up to timeout for its log line (and for its closing line too with closed=True);
        None if none came."""
        deadline = time.time() + timeout
        while True:
            for a in self.allocations():
                if a["username"] == username and (a["reason"] or not closed) and \
                        all(a.get(k) == v for k, v in match.items()):
                    return a
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def urls(self, ip=None):
        """ICE server URLs: turn: over UDP and TCP, turns: over TLS if enabled."""
        ip = ip or self.listen[0]
        out = ["turn:%s:%d?transport=udp" % (ip, self.port),
               "turn:%s:%d?transport=tcp" % (ip, self.port)]
        if self.tls_port:
            out.append("turns:%s:%d?transport=tcp" % (ip, self.tls_port))
        return out

    def stop(self, grace=5.0):
        """SIGTERM, then wait. Returns a list of problems (empty when it died of the
        SIGTERM or exited 0)."""
        if self.stopped is not None:
            return self.stopped
        problems = []
        if self.proc.poll() is not None:
            problems.append("turnserver had already exited with %s" % self.proc.returncode)
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=grace)
                if rc not in (0, -signal.SIGTERM):  # it has no handler: -15 is normal
                    problems.append("turnserver exited with %s on SIGTERM" % rc)
            except subprocess.TimeoutExpired:
                problems.append("turnserver still running %.0fs after SIGTERM" % grace)
                self.proc.kill()
                self.proc.wait()
        if problems:
            problems.append("turnserver log tail:\n" + self.tail())
        self.stopped = problems
        return problems

    def close(self):
        """Kill if still running and remove the temp folder (kept with SB_TEST_KEEP=1)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.out.close()
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
