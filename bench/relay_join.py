#!/usr/bin/python3
"""Join time through TURN vs direct: how much later a relay-only browser is in a room.

    bench/relay_join.py [BUILD_DIR] [--runs N] [--out FILE]

In a private network namespace (loopback only, re-executed under `unshare --net`): coturn
(Debian's turnserver, TURN REST secret, relaying to 127.0.0.1), Switchboard serving the
web app (html/dist) and handing out TURN/UDP and TURN/TCP URIs with REST credentials at
GET /janus/ice-servers, one VideoRoom room with a resident page publishing in it. Then,
in one headless Chromium, N runs of each mode, interleaved: a new page opens the room
link, joins (the app fetches /ice-servers, joins, publishes, subscribes to the resident
page), and leaves:

  direct      not relay-only (host candidates win; TURN ones gathered too)
  relay-udp   ?relay=1, the reply's TURN URIs cut to ?transport=udp
  relay-tcp   ?relay=1, the reply's TURN URIs cut to ?transport=tcp

Measured from the page's own clock (a wrapper of RTCPeerConnection records the events):
publisher join = offer set (setLocalDescription, then sent with "publish") -> PeerConnection
"connected"; subscriber join = the server's offer set -> "connected"; click -> publisher
connected (the whole join as a user sees it: /ice-servers fetch, session, join, publish).
Prints p50/p90/max per mode and the p50 ratios relay/direct; target: relay within 2x of
direct. --out also writes the table to FILE (bench/results/relay_join.txt by convention).
Needs root (unshare), coturn, chromium, node with playwright-core (tests/integration).
"""
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from coturn import Coturn  # noqa: E402
from sbtest import HTTP_PORT, Server  # noqa: E402
import turnlab  # noqa: E402

SECRET = "relay-join-bench"
ROOM = 5501
MODES = [("direct", {"relay": False}),
         ("relay-udp", {"relay": True, "transport": "udp"}),
         ("relay-tcp", {"relay": True, "transport": "tcp"})]
TARGET = 2.0


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main():
    args = sys.argv[1:]
    build, runs, out_file = os.path.join(TOP, "build"), 10, None
    while args:
        a = args.pop(0)
        if a == "--runs":
            runs = int(args.pop(0))
        elif a == "--out":
            out_file = os.path.abspath(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            build = a
    build = os.path.abspath(build)
    if os.environ.get("SB_BENCH_NS") != "1":
        os.environ["SB_BENCH_NS"] = "1"
        argv = [sys.executable, os.path.abspath(__file__), build, "--runs", str(runs)]
        if out_file:
            argv += ["--out", out_file]
        os.execvp("unshare", ["unshare", "--net", "--"] + argv)
    os.system("ip link set lo up")
    why = turnlab.missing()
    dist = os.path.join(TOP, "html", "dist")
    if why or not os.path.exists(os.path.join(dist, "index.html")):
        print("cannot run: %s" % (why or "html/dist is not built (cd html && npm run build)"))
        return 2

    folder = tempfile.mkdtemp(prefix="sb-relay-join-")
    turn = server = None
    try:
        turn = Coturn(auth_secret=SECRET, name="coturn-bench")
        cfg = turnlab.write_config(folder, turn_secret=SECRET, turn_uris=turn.urls(), ttl=600,
                                   rate_limit=0)
        server = Server(build, args=["-C", cfg], html_folder=dist, ws=False,
                        name="relay-join")
        turnlab.create_room(HTTP_PORT, ROOM, description="relay join bench")
        plan = []
        for i in range(runs):
            # Interleaved, and the order rotated, so drift hits every mode alike.
            order = MODES[i % len(MODES):] + MODES[:i % len(MODES)]
            plan += [dict(m, mode=name) for name, m in order]
        spec = {"app": "http://127.0.0.1:%d" % HTTP_PORT, "room": ROOM, "mode": "bench",
                "pages": [{"name": "resident", "relay": False}],
                "runs": [{k: v for k, v in p.items() if k != "mode"} for p in plan],
                "waitMs": 30000, "pauseMs": 700}
        t0 = time.time()
        result, _, notes = turnlab.run_driver(spec, timeout=60 + 15 * len(plan))
        elapsed = time.time() - t0
    finally:
        if server is not None:
            server.stop()
            server.cleanup()
        if turn is not None:
            turn.stop()
            turn.close()
        shutil.rmtree(folder, ignore_errors=True)

    got = result.get("runs", [])
    by_mode = {name: [] for name, _ in MODES}
    failed = []
    for r, p in zip(got, plan):
        local = r.get("pub") or {}
        want = "relay" if p["relay"] else "host"
        if not r.get("ok") or local.get("type") != want or \
                (p.get("transport") and local.get("relayProtocol") != p["transport"]):
            failed.append((p["mode"], r.get("why") or "selected %r" % local))
            continue
        by_mode[p["mode"]].append(r)
    if not result.get("ok") or len(got) != len(plan):
        failed.append(("driver", "%s (%d of %d runs reported)" % (result.get("why"), len(got),
                                                                 len(plan))))

    lines = ["relay_join: join time, relay-only through coturn vs direct, same machine",
             "date %s, %s, %s, %d CPUs, build %s" % (
                 datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                 version(["/usr/bin/chromium", "--version"]),
                 "coturn " + version(["/usr/bin/turnserver", "--version"]),
                 os.cpu_count() or 0, build),
             "%d runs per mode, interleaved, one browser, loopback; the page's clock" % runs,
             "",
             "%-10s %4s  %-28s  %-28s  %-28s" % ("mode", "ok", "publisher offer->connected",
                                                 "subscriber offer->connected",
                                                 "click->publisher connected"),
             "%-10s %4s  %-28s  %-28s  %-28s" % ("", "", "p50 / p90 / max ms",
                                                 "p50 / p90 / max ms", "p50 / p90 / max ms")]
    p50 = {}
    for name, _ in MODES:
        rs = by_mode[name]
        cols = []
        for vals in ([r["pubMs"] for r in rs], [m for r in rs for m in r["subMs"]],
                     [r["clickToPubMs"] for r in rs]):
            cols.append("%7.0f / %7.0f / %7.0f" % (pct(vals, 50), pct(vals, 90),
                                                   max(vals) if vals else float("nan")))
        p50[name] = (pct([r["pubMs"] for r in rs], 50),
                     pct([m for r in rs for m in r["subMs"]], 50))
        lines.append("%-10s %4d  %-28s  %-28s  %-28s" % (name, len(rs), *cols))
    lines.append("")
    verdict = True
    for name in ("relay-udp", "relay-tcp"):
        for i, what in enumerate(("publisher", "subscriber")):
            d, r = p50["direct"][i], p50[name][i]
            ratio = r / d if d else float("nan")
            ok = ratio <= TARGET
            verdict &= ok
            lines.append("%-10s %-10s p50 %6.0f ms vs direct %6.0f ms: x%.2f (target <= x%.1f) %s"
                         % (name, what, r, d, ratio, TARGET, "ok" if ok else "OVER"))
    if failed:
        lines.append("")
        lines += ["failed run: %s: %s" % f for f in failed[:20]]
    lines.append("")
    lines.append("whole run %.0f s" % elapsed)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_file:
        with open(out_file, "w") as f:
            f.write(text)
    for n in notes[-5:]:
        print("# " + n)
    return 0 if verdict and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
