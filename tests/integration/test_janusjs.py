"""janus.js (Debian's libjs-janus-gateway, unchanged) in headless Chromium: a page served
by the daemon's own static server (--html-folder) runs init, new Janus({server}), attach
echotest, send {audio:true}, waits for result ok, destroy; over HTTP long-poll, over
WebSocket, and from a page of another origin (real CORS preflights)."""
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import HTTP_PORT, WS_PORT, Server, Tap, builddir_from_argv, run_node_steps, \
    stop_and_report

HERE = os.path.dirname(os.path.abspath(__file__))
JANUS_JS = "/usr/share/javascript/janus-gateway/janus.js"
ADAPTER_JS = "/usr/share/javascript/webrtc-adapter/adapter.js"
OTHER_ORIGIN_PORT = 18090


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    tap = Tap("janusjs")
    missing = [f for f in (JANUS_JS, ADAPTER_JS, "/usr/bin/chromium") if not os.path.exists(f)]
    if missing:
        tap.result("browser test prerequisites installed", False,
                   "missing %s (apt-get install libjs-janus-gateway libjs-webrtc-adapter "
                   "chromium)" % missing)
        tap.exit()
    site = tempfile.mkdtemp(prefix="sbtest-site-")
    shutil.copy(os.path.join(HERE, "web", "janus_echotest.html"), site)
    shutil.copy(JANUS_JS, site)
    shutil.copy(ADAPTER_JS, site)
    other = http.server.ThreadingHTTPServer(
        ("127.0.0.1", OTHER_ORIGIN_PORT), functools.partial(QuietHandler, directory=site))
    threading.Thread(target=other.serve_forever, daemon=True).start()
    server = Server(builddir_from_argv(), html_folder=site, name="janusjs")
    try:
        page = "http://127.0.0.1:%d/janus_echotest.html?server=" % HTTP_PORT
        cross = "http://127.0.0.1:%d/janus_echotest.html?server=" % OTHER_ORIGIN_PORT
        api_http = "http://127.0.0.1:%d/janus" % HTTP_PORT
        api_ws = "ws://127.0.0.1:%d" % WS_PORT
        run_node_steps(tap, [os.path.join(HERE, "js", "janusjs_client.mjs"),
                             "http=" + page + api_http,
                             "websocket=" + page + api_ws,
                             "cross-origin http=" + cross + api_http],
                       expect=["chromium starts", "http: page reached 'result-ok'",
                               "websocket: page reached 'result-ok'",
                               "cross-origin http: page reached 'result-ok'"],
                       timeout=180)
    finally:
        stop_and_report(tap, server)
        other.shutdown()
        shutil.rmtree(site, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
