"""The web app (html/) in headless Chromium against the daemon that serves it: the lobby,
a room with two participants who see each other (mute, wrong PIN, leave), a 1:1 call
through switchboard.plugin.p2pcall with media browser to browser, and the echo test.
Screenshots go to tests/artifacts/. The browser work is in webapp_driver.cjs.

Builds html/dist first when it is missing or older than html/src (npm run build, and
npm ci when html/node_modules is missing: that needs the npm cache or the registry).

SB_WEBAPP_ORACLE=1 also starts the reference server (Debian's janus) on loopback and
points the room pages at it: for developing the room pages while the VideoRoom plugin
is being written."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from janusref import JanusRef
from sbtest import HTTP_PORT, Server, Tap, builddir_from_argv, stop_and_report

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
HTML = os.path.join(TOP, "html")
DIST = os.path.join(HTML, "dist")
ARTIFACTS = os.path.join(TOP, "tests", "artifacts")
ORACLE_PORT = 18089


def newest_mtime(root):
    newest = 0.0
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("node_modules", "dist")]
        for f in files:
            newest = max(newest, os.path.getmtime(os.path.join(base, f)))
    return newest


def write_voice_wav(path, seconds=10.0, rate=48000):
    """A speech-like test signal for the fake microphone: 3 s of voiced "syllables" (a
    gliding fundamental with harmonics, 4 Hz envelope), then 2 s of silence, so the
    room's talking and stopped-talking events both happen."""
    import math
    import struct
    import wave
    frames = bytearray()
    phase = 0.0
    for i in range(int(seconds * rate)):
        t = i / rate
        cycle = t % 5.0
        if cycle < 3.0:
            f0 = 150 + 40 * math.sin(2 * math.pi * 0.7 * t)
            phase += 2 * math.pi * f0 / rate
            env = 0.55 + 0.45 * math.sin(2 * math.pi * 4 * t)
            v = env * (0.5 * math.sin(phase) + 0.3 * math.sin(2 * phase) + 0.2 * math.sin(3 * phase))
        else:
            v = 0.0
        frames += struct.pack("<h", int(max(-1.0, min(1.0, v * 0.8)) * 32767))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def build_app(tap):
    """Returns None when html/dist is ready, else the reason it is not."""
    index = os.path.join(DIST, "index.html")
    sources = max(newest_mtime(os.path.join(HTML, "src")),
                  *(os.path.getmtime(os.path.join(HTML, f))
                    for f in ("index.html", "package.json", "vite.config.ts")))
    if os.path.exists(index) and os.path.getmtime(index) >= sources:
        return None
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    steps = []
    if not os.path.isdir(os.path.join(HTML, "node_modules")):
        steps.append(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"])
    steps.append(["npm", "run", "build"])
    for cmd in steps:
        tap.note("building the web app: " + " ".join(cmd))
        r = subprocess.run(cmd, cwd=HTML, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        if r.returncode != 0:
            return "%s failed:\n%s" % (" ".join(cmd), r.stdout.decode(errors="replace")[-3000:])
    return None if os.path.exists(index) else "the build left no html/dist/index.html"


def main():
    tap = Tap("webapp")
    builddir = builddir_from_argv()
    problem = build_app(tap)
    tap.result("html/dist is built", problem is None, problem)
    if problem:
        tap.exit()
    os.makedirs(ARTIFACTS, exist_ok=True)
    for f in os.listdir(ARTIFACTS):  # failure shots of an earlier run would mislead
        if f.startswith("failure-") and f.endswith(".png"):
            os.remove(os.path.join(ARTIFACTS, f))
    oracle = JanusRef(ORACLE_PORT) if os.environ.get("SB_WEBAPP_ORACLE") else None
    server = Server(builddir, html_folder=DIST, ws=False, name="webapp")
    try:
        with tap.case("the daemon serves the app at / and client routes fall back to it"):
            import http.client
            for path in ("/", "/room/1234", "/call", "/echo"):
                c = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=5)
                c.request("GET", path)
                r = c.getresponse()
                body = r.read().decode(errors="replace")
                c.close()
                if r.status != 200 or '<div id="root">' not in body:
                    raise AssertionError("GET %s: %d %r" % (path, r.status, body[:200]))
        voice = os.path.join(server.tmp, "voice.wav")
        write_voice_wav(voice)
        cmd = ["node", os.path.join(HERE, "webapp_driver.cjs"),
               "http://127.0.0.1:%d" % HTTP_PORT, ARTIFACTS, voice]
        if oracle:
            cmd.append("http://127.0.0.1:%d/janus" % ORACLE_PORT)
            tap.note("room pages use the reference server on port %d" % ORACLE_PORT)
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
            elif "skip" in obj:
                tap.note("skipped %s: %s" % (obj["skip"], obj["why"]))
            elif "note" in obj:
                tap.note(obj["note"])
            elif "action" in obj:
                # The driver asks us to take the server away or bring it back.
                answer = "ok"
                try:
                    if obj["action"] == "stop-server":
                        problems = server.stop()
                        server.cleanup()
                        tap.result("the server stopped cleanly under the app", not problems,
                                   "\n".join(problems))
                    elif obj["action"] == "start-server":
                        server = Server(builddir, html_folder=DIST, ws=False, name="webapp")
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
        stop_and_report(tap, server)
        if oracle:
            oracle.stop()
    tap.exit()


if __name__ == "__main__":
    main()
