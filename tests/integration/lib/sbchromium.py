"""Headless Chromium for the integration tests and benchmarks: a web folder the daemon serves
(the echo page, janus.js and the webrtc-adapter it needs, all from Debian), and a runner for
js/echo_media.mjs, which drives the page with playwright-core. Python 3 stdlib only."""
import json
import os
import re
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
DRIVER = os.path.join(os.path.dirname(HERE), "js", "echo_media.mjs")


def missing():
    """Why Chromium tests cannot run here, or None."""
    for path in ("/usr/bin/chromium", JANUS_JS, ADAPTER_JS):
        if not os.path.exists(path):
            return "%s is missing" % path
    if not shutil.which("node"):
        return "node is missing"
    if not os.path.isdir(os.path.join(os.path.dirname(HERE), "node_modules", "playwright-core")):
        return "npm playwright-core is not installed in tests/integration/node_modules"
    return None


def make_html_folder():
    """A fresh folder with echo_media.html, janus.js and adapter.js; the caller removes it."""
    d = tempfile.mkdtemp(prefix="sb-html-")
    shutil.copy(os.path.join(os.path.dirname(HERE), "web", "echo_media.html"), d)
    shutil.copy(JANUS_JS, d)
    shutil.copy(ADAPTER_JS, d)
    return d


def run_echo(http_port, cfg, timeout_s=90, fn="sbEcho", server_pid=None):
    """Load the echo page from the daemon on http_port and run window[fn](cfg) (sbEcho or
    sbEchoLoad; server_pid lets the page read the server's CPU time). Returns
    the driver's JSON: {"result": {"calls": [...]}, "wire": [...], "logs": [...]} or with
    "error". Raises only when the driver itself breaks (no JSON at all)."""
    opts = {"url": "http://127.0.0.1:%d/echo_media.html" % http_port, "cfg": cfg,
            "timeoutMs": int(timeout_s * 1000), "fn": fn, "serverPid": server_pid}
    proc = subprocess.run(["node", DRIVER, json.dumps(opts)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout_s + 60)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("echo_media.mjs exited %s without a result:\n%s\n%s" % (
            proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:]))
    return json.loads(lines[-1])


def webrtcup_profiles(log_path):
    """SRTP profile names of every 'WebRTC up (...)' line of a server log, in order."""
    with open(log_path, errors="replace") as fh:
        return re.findall(r"WebRTC up \(([A-Za-z0-9_]+)\)", fh.read())


def last(call, kind, direction="inbound"):
    """The last sample's stats of one kind ('audio'/'video') and direction."""
    return (call.get("samples") or [{}])[-1].get(direction, {}).get(kind, {})
