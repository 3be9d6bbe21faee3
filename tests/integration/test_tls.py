"""HTTPS and WSS: the API, long-polls and WebSocket over TLS with a certificate the client
verifies; plain listeners off; bad certificates refused at start-up with a clear reason;
SIGHUP re-reads the certificate without dropping connections (and keeps the old one when
the new files are bad); TLS garbage closes only its own connection; janode over WSS."""
import http.client
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from certs import client_context, make_cert, presented_fingerprint
from sbtest import (Server, Tap, builddir_from_argv, check, check_eq, run_node_steps,
                    stop_and_report)
from wsclient import WsClient

HERE = os.path.dirname(os.path.abspath(__file__))
HTTPS_PORT = 18089
WSS_PORT = 18989


def tls_args(cert, key, http=True, ws=False):
    return ["--tls-cert", cert, "--tls-key", key, "--https-port", str(HTTPS_PORT),
            "--wss-port", str(WSS_PORT) if ws else "0", "--http", "true" if http else "false"]


def https(ctx, method, path, body=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT, context=ctx, timeout=5)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        if own:
            conn.close()


def start_fails(builddir, args, expect_text):
    """The daemon must refuse to start, saying why (expect_text in its log)."""
    tmp = tempfile.mkdtemp(prefix="sbtest-tlsbad-")
    try:
        exe = os.path.join(builddir, "switchboard")
        p = subprocess_run([exe, "--port", "18088", "--bind", "127.0.0.1", "--html-folder", "",
                            "--plugins-folder", os.path.join(builddir, "plugins"),
                            "--configs-folder", tmp, "--ws", "false"] + args)
        check(p.returncode not in (0, None), "exit status %r (expected a failure)" % p.returncode)
        check(expect_text in p.stdout, "log says %r; got:\n%s" % (expect_text, p.stdout[-800:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def subprocess_run(cmd):
    import subprocess
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=30, env=env)


def main():
    tap = Tap("tls")
    builddir = os.path.abspath(builddir_from_argv())
    tmp = tempfile.mkdtemp(prefix="sbtest-certs-")
    cert_a, key_a = os.path.join(tmp, "a.pem"), os.path.join(tmp, "a.key")
    cert_b, key_b = os.path.join(tmp, "b.pem"), os.path.join(tmp, "b.key")
    fp_a = make_cert(cert_a, key_a, cn="switchboard-a")
    fp_b = make_cert(cert_b, key_b, cn="switchboard-b")
    live_cert, live_key = os.path.join(tmp, "live.pem"), os.path.join(tmp, "live.key")
    shutil.copy(cert_a, live_cert)
    shutil.copy(key_a, live_key)
    ctx_a, ctx_b = client_context(cert_a), client_context(cert_b)

    server = Server(builddir, args=tls_args(live_cert, live_key, ws=True), name="tls")
    try:
        with tap.case("HTTPS: the API answers, the client verifies the certificate"):
            status, info = https(ctx_a, "GET", "/janus/info")
            check_eq(status, 200, "status")
            check_eq(info.get("janus"), "server_info", "reply")
            check_eq(presented_fingerprint("127.0.0.1", HTTPS_PORT), fp_a, "certificate")

        with tap.case("HTTPS: create, attach, message, long-poll and destroy"):
            _, r = https(ctx_a, "POST", "/janus", {"janus": "create", "transaction": "c"})
            sid = r["data"]["id"]
            _, r = https(ctx_a, "POST", "/janus/%d" % sid,
                         {"janus": "attach", "plugin": "janus.plugin.echotest",
                          "transaction": "a"})
            hid = r["data"]["id"]
            _, r = https(ctx_a, "POST", "/janus/%d/%d" % (sid, hid),
                         {"janus": "message", "transaction": "m", "body": {"audio": True}})
            check_eq(r.get("janus"), "ack", "message reply")
            _, ev = https(ctx_a, "GET", "/janus/%d" % sid)
            check_eq(ev.get("janus"), "event", "long-poll")
            _, r = https(ctx_a, "POST", "/janus/%d" % sid, {"janus": "destroy",
                                                             "transaction": "d"})
            check_eq(r.get("janus"), "success", "destroy")

        with tap.case("plain HTTP still answers beside HTTPS"):
            c = http.client.HTTPConnection("127.0.0.1", 18088, timeout=5)
            c.request("GET", "/janus/info")
            check_eq(c.getresponse().status, 200, "plain status")

        with tap.case("WSS: a session over the WebSocket transport, certificate verified"):
            ws = WsClient(WSS_PORT, ssl_context=ctx_a)
            r = ws.request({"janus": "create", "transaction": "w"})
            check_eq(r.get("janus"), "success", "create over WSS")
            wsid = r["data"]["id"]
            check_eq(presented_fingerprint("127.0.0.1", WSS_PORT), fp_a, "certificate")

        with tap.case("TLS garbage or plain HTTP on the HTTPS port: that connection closes, "
                      "others carry on"):
            keep = http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT, context=ctx_a,
                                               timeout=5)
            https(ctx_a, "GET", "/janus/info", conn=keep)
            # Bytes GnuTLS cannot reject yet (an SSLv2-style length, a handshake message
            # still incomplete) wait for more: the handshake timeout (10 s) ends them.
            junks = [os.urandom(3000), b"\x16\x03\x01\x00\x05hello" * 50, bytes(3000),
                     b"GET /janus/info HTTP/1.1\r\nHost: x\r\n\r\n", b""]
            took = [None] * len(junks)

            def send_junk(i):
                s = socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=20)
                s.sendall(junks[i])
                t0 = time.time()
                try:
                    while s.recv(4096):
                        pass
                except (ConnectionResetError, socket.timeout):
                    pass
                took[i] = time.time() - t0
                s.close()

            workers = [threading.Thread(target=send_junk, args=(i,)) for i in range(len(junks))]
            for w in workers:
                w.start()
            time.sleep(1)
            check_eq(https(ctx_a, "GET", "/janus/info")[0], 200, "meanwhile, a new connection")
            for w in workers:
                w.join(30)
            for i, t in enumerate(took):
                check(t is not None and t < 14, "junk %d: closed after %s s" % (i, t))
            check_eq(https(ctx_a, "GET", "/janus/info", conn=keep)[0], 200, "kept connection")
            check_eq(https(ctx_a, "GET", "/janus/info")[0], 200, "new connection")
            check(server.alive(), "server alive")

        with tap.case("SIGHUP: new connections get the new certificate; open ones go on"):
            shutil.copy(cert_b, live_cert)
            shutil.copy(key_b, live_key)
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 5
            while presented_fingerprint("127.0.0.1", HTTPS_PORT) != fp_b and \
                    time.time() < deadline:
                time.sleep(0.1)
            check_eq(presented_fingerprint("127.0.0.1", HTTPS_PORT), fp_b, "HTTPS certificate")
            check_eq(presented_fingerprint("127.0.0.1", WSS_PORT), fp_b, "WSS certificate")
            check_eq(https(ctx_b, "GET", "/janus/info")[0], 200, "verified with the new one")
            check_eq(https(ctx_a, "GET", "/janus/info", conn=keep)[0], 200,
                     "connection made before the reload")
            r = ws.request({"janus": "keepalive", "session_id": wsid, "transaction": "k"})
            check_eq(r.get("janus"), "ack", "WSS session made before the reload")

        with tap.case("SIGHUP with bad files: the old certificate stays, the error is logged"):
            with open(live_cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
            server.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            check_eq(presented_fingerprint("127.0.0.1", HTTPS_PORT), fp_b, "certificate kept")
            shutil.copy(cert_a, live_cert)  # a's certificate with b's key: refused too
            server.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            check_eq(presented_fingerprint("127.0.0.1", HTTPS_PORT), fp_b, "certificate kept")
            with open(server.log_path, errors="replace") as f:
                log = f.read()
            check("certificate not reloaded, the old one stays" in log, "error logged")
            check("is not the private key of the certificate" in log, "mismatch named")
            ws.close()
            keep.close()
    finally:
        stop_and_report(tap, server)

    server = Server(builddir, args=tls_args(cert_a, key_a, http=False, ws=True),
                    http_port=HTTPS_PORT, ws=False, name="tls-only")
    try:
        with tap.case("plain HTTP off, HTTPS and WSS on"):
            check_eq(https(ctx_a, "GET", "/janus/info")[0], 200, "HTTPS")
            refused = False
            try:
                socket.create_connection(("127.0.0.1", 18088), timeout=2).close()
            except OSError:
                refused = True
            check(refused, "plain HTTP port refused")

        url = "wss://127.0.0.1:%d/" % WSS_PORT
        run_node_steps(tap, [os.path.join(HERE, "js", "janode_client.mjs"), url],
                       expect=["connect", "create a session", "attach the echotest",
                               "message gets its reply with result ok", "destroy the session",
                               "close the connection"],
                       env=dict(os.environ, NODE_EXTRA_CA_CERTS=cert_a))
    finally:
        stop_and_report(tap, server)

    with tap.case("bad certificates stop the start with a clear reason"):
        expired_c, expired_k = os.path.join(tmp, "old.pem"), os.path.join(tmp, "old.key")
        make_cert(expired_c, expired_k, valid_from_days=-30, valid_days=10)
        future_c, future_k = os.path.join(tmp, "new.pem"), os.path.join(tmp, "new.key")
        make_cert(future_c, future_k, valid_from_days=5, valid_days=10)
        junk = os.path.join(tmp, "junk.pem")
        with open(junk, "wb") as f:
            f.write(os.urandom(500))
        start_fails(builddir, tls_args(os.path.join(tmp, "none.pem"), key_a),
                    "cannot read the certificate file")
        start_fails(builddir, tls_args(junk, key_a), "no PEM certificate")
        start_fails(builddir, tls_args(cert_a, junk), "no unencrypted PEM private key")
        start_fails(builddir, tls_args(cert_a, key_b), "is not the private key")
        start_fails(builddir, tls_args(expired_c, expired_k), "certificate expired")
        start_fails(builddir, tls_args(future_c, future_k), "certificate not valid yet")
        start_fails(builddir, ["--tls-cert", cert_a], "needs both tls.cert and tls.key")

    shutil.rmtree(tmp, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
