"""The web app's data-channel features in headless Chromium, against the daemon that
serves html/dist: the room chat over janus.plugin.textroom (three participants: messages
with names and times, the unread badge, wrapping, join and leave notices), the game over
VideoRoom data channels (three players see each other move by keyboard and pointer, with a
latency through the SFU under 50 ms and about 30 states a second from each, and a caught
dot scores on every page), and the room's Game button. The browser work is in
webapp_data_driver.cjs; screenshots (room-chat.png, game.png) go to tests/artifacts/.

Builds html/dist first when it is missing or older than html/src (as test_webapp.py)."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import HTTP_PORT, Server, Tap, builddir_from_argv, stop_and_report  # noqa: E402
from test_webapp import ARTIFACTS, DIST, build_app  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def scan_log(tap, server):
    """Shows the server's warnings and errors (for the report; not a failure)."""
    try:
        with open(server.log_path, errors="replace") as fh:
            bad = [ln for ln in fh if re.match(r"^\S+ +(warn|error|fatal)\b", ln)]
    except OSError:
        return
    if bad:
        tap.note("server warnings and errors (%d):\n%s" % (len(bad), "".join(bad[:20])))


def main():
    tap = Tap("webapp-data")
    builddir = builddir_from_argv()
    problem = build_app(tap)
    tap.result("html/dist is built", problem is None, problem)
    if problem:
        tap.exit()
    plugins = os.listdir(os.path.join(builddir, "plugins"))
    if not any("textroom" in p for p in plugins):
        tap.note("no TextRoom plugin in %s/plugins: the chat cases will fail" % builddir)
    os.makedirs(ARTIFACTS, exist_ok=True)
    for f in os.listdir(ARTIFACTS):
        if f.startswith("failure-data-") and f.endswith(".png"):
            os.remove(os.path.join(ARTIFACTS, f))
    server = Server(builddir, html_folder=DIST, ws=False, name="webapp-data")
    try:
        cmd = ["node", os.path.join(HERE, "webapp_data_driver.cjs"),
               "http://127.0.0.1:%d" % HTTP_PORT, ARTIFACTS]
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        ran = 0
        for raw in proc.stdout:
            line = raw.decode(errors="replace").strip()
            try:
                obj = json.loads(line)
            except ValueError:
                tap.note(line)
                continue
            if "case" in obj:
                ran += 1
                tap.result(obj["case"], obj["ok"], obj.get("detail"))
            elif "note" in obj:
                tap.note(obj["note"])
            elif "action" in obj:
                # The driver asks us to take the server away or bring it back.
                answer = "ok"
                try:
                    if obj["action"] == "stop-server":
                        problems = server.stop()
                        scan_log(tap, server)
                        server.cleanup()
                        tap.result("the server stopped cleanly under the app", not problems,
                                   "\n".join(problems))
                    elif obj["action"] == "start-server":
                        server = Server(builddir, html_folder=DIST, ws=False, name="webapp-data")
                    else:
                        answer = "unknown action"
                except Exception as e:  # noqa: BLE001 - reported to the driver
                    answer = "failed: %s" % e
                proc.stdin.write((answer + "\n").encode())
                proc.stdin.flush()
        rc = proc.wait()
        tap.note("browser part took %.0f s" % (time.time() - t0))
        if rc != 0 or ran == 0:
            tap.result("browser driver finished", False, "exit status %d, %d cases" % (rc, ran))
        tap.note("screenshots in %s" % ARTIFACTS)
    finally:
        server.stop()
        scan_log(tap, server)
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
