"""The web app from a non-localhost origin: a browser grants the camera only to a secure
origin, so the app opened as http://<server>/ from another machine cannot start a call. Here
the server has 198.18.50.1 (a non-localhost address: Chromium treats 198.18.0.0/15 as
public) and serves the app over HTTPS with a certificate the browser is told to accept:
two participants create and join a room and see each other. The control proves the page
really needs it: over plain HTTP from the same address, navigator.mediaDevices is missing."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from certs import make_cert
from sbtest import Server, Tap, builddir_from_argv, check, stop_and_report

HERE = os.path.dirname(os.path.abspath(__file__))
DIST = os.path.join(os.path.dirname(os.path.dirname(HERE)), "html", "dist")
ADDR = "198.18.50.1"
HTTPS_PORT = 18089
PLAIN_PORT = 18088


def run_driver(tap, url, env_extra):
    env = dict(os.environ, **env_extra)
    cmd = ["node", os.path.join(HERE, "webapp_driver.cjs"), url, tempfile.mkdtemp(), ""]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=240, env=env)
    import json
    cases = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if "case" in obj:
            cases.append(obj)
            tap.result("https origin: " + obj["case"], obj["ok"], obj.get("detail"))
        elif "note" in obj:
            tap.note(obj["note"])
    return cases


def media_devices_over_http(url):
    """Whether a page at url (plain HTTP) has navigator.mediaDevices, in headless Chromium."""
    script = """
const { chromium } = require(%r);
(async () => {
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream',
           '--use-fake-device-for-media-stream'] });
  const p = await b.newPage();
  await p.goto(%r);
  console.log(JSON.stringify(await p.evaluate(() => !!(navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia))));
  await b.close();
})().catch((e) => { console.log('error ' + e); process.exit(1); });
""" % (os.path.join(HERE, "node_modules", "playwright-core"), url)
    r = subprocess.run(["node", "-e", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60, stdin=subprocess.DEVNULL)
    return r.stdout.decode(errors="replace").strip().splitlines()[-1]


def main():
    tap = Tap("webapp-https")
    builddir = builddir_from_argv()
    if not os.path.exists(os.path.join(DIST, "index.html")):
        tap.result("html/dist is built (test_webapp builds it)", False)
        tap.exit()
    subprocess.run(["ip", "addr", "add", ADDR + "/32", "dev", "lo"], check=True)
    tmp = tempfile.mkdtemp(prefix="sbtest-webapp-https-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    make_cert(cert, key, cn=ADDR, names=(), addresses=(ADDR,))
    server = Server(builddir, html_folder=DIST, ws=False, http_port=PLAIN_PORT,
                    name="webapp-https",
                    args=["--bind", "", "--tls-cert", cert, "--tls-key", key,
                          "--https-port", str(HTTPS_PORT), "--https-bind", ADDR,
                          "--wss-port", "0"])
    try:
        with tap.case("control: over plain HTTP from %s the page has no camera API" % ADDR):
            got = media_devices_over_http("http://%s:%d/" % (ADDR, PLAIN_PORT))
            check(got == "false", "navigator.mediaDevices over http: %s" % got)
        t0 = time.time()
        cases = run_driver(tap, "https://%s:%d" % (ADDR, HTTPS_PORT),
                           {"SB_WEBAPP_ONLY": "room-call",
                            "SB_CHROMIUM_EXTRA_FLAGS": "--ignore-certificate-errors"})
        tap.note("browser part took %.0f s" % (time.time() - t0))
        names = [c["case"] for c in cases]
        with tap.case("https origin: the room call ran to the end"):
            check(any("both see each other" in n for n in names), "cases run: %r" % names)
        with tap.case("https origin: the API went over HTTPS"):
            with open(server.log_path, errors="replace") as f:
                log = f.read()
            check("HTTPS API on port %d" % HTTPS_PORT in log, "no HTTPS listener in the log")
            check(log.count("WebRTC up") >= 2, "fewer than 2 PeerConnections up")
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
