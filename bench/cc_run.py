#!/usr/bin/python3
"""One run of bench/cc_bench.sh against one server: the shaped topology of
tests/integration/lib/cclab.py (a Chromium simulcast publisher on a clean link, Chromium
subscribers behind a link shaped with tc tbf), janus.js pages
(tests/integration/videoroom/web/videoroom_cc.html). Writes one JSON file.

    cc_run.py --server switchboard|janus [--daemon PATH] --out FILE [--subscribes 20]
              [--duration 60] [--limit 400] [--cases "auto pin0"] [--ramp 8]

Steps: a room with bitrate 0; the publisher publishes (three layers, janus.js's defaults)
and ramps for --ramp s. Then --subscribes times on the unshaped link: subscribe, first
frame decoded, unsubscribe (the times of each step from the join request, the page's
clock). Then, per case, the link is limited to --limit kbit/s and one subscriber joins
("auto": no layer asked, the server chooses; "pinN": configure substream N right after
start) and is watched for --duration s from its first frame: its samples (every 100 ms)
and the publisher's go into the JSON, cc_report.py reads them.

Must run as root in a fresh network namespace (cc_bench.sh does the unshare).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration", "lib"))
import cclab  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="switchboard", choices=("switchboard", "janus"))
    ap.add_argument("--daemon", default=os.path.join(TOP, "build", "switchboard"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--subscribes", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--cases", default="auto pin0")
    ap.add_argument("--ramp", type=float, default=8.0)
    a = ap.parse_args()
    why = cclab.missing()
    if why:
        sys.exit("cc_run: " + why)
    res = {"server": a.server, "limit_kbit": a.limit, "duration_s": a.duration,
           "started": time.time(), "first_frame": [], "cases": {}, "errors": []}
    lab = cclab.CcLab(a.daemon, server=a.server)
    try:
        room = lab.create_room(bitrate=0)
        pub = lab.open_page("pub")
        sub = lab.open_page("sub")
        res["browser"] = pub.browser_version
        p = pub.call("sbPublish", {"room": room}, timeout=60)
        res["publisher"] = {"webrtcup_ms": p["webrtcup"] - p["t0"]}
        time.sleep(a.ramp)
        res["publisher"]["ramp"] = pub.call("sbPubSnapshots", {"since": p["webrtcup"]})
        for i in range(a.subscribes):
            name = "ff%d" % i
            try:
                r = sub.call("sbSubscribe", {"name": name, "room": room, "feed": p["id"],
                                             "frameTimeoutMs": 15000}, timeout=40)
                res["first_frame"].append(r["times"])
            except Exception as e:  # noqa: BLE001 - a failed subscribe is a data point
                res["errors"].append("subscribe %d: %s" % (i, e))
            try:
                sub.call("sbUnsubscribe", {"name": name}, timeout=20)
            except Exception as e:  # noqa: BLE001
                res["errors"].append("unsubscribe %d: %s" % (i, e))
            time.sleep(0.5)
        for c in a.cases.split():
            lab.limit(a.limit)
            time.sleep(1.0)
            cfg = {"name": c, "room": room, "feed": p["id"], "waitFrame": False}
            if c.startswith("pin"):
                cfg["substream"] = int(c[3:])
            t_join = time.time() * 1000
            out = {"t_join": t_join}
            try:
                out["times"] = sub.call("sbSubscribe", cfg, timeout=60)["times"]
            except Exception as e:  # noqa: BLE001
                res["errors"].append("%s: %s" % (c, e))
                lab.lift()
                continue
            # The window starts at the first frame (or 10 s after the join without one).
            deadline = t_join + 10000
            t0 = None
            while time.time() * 1000 < deadline and t0 is None:
                s = sub.call("sbSamples", {"name": c})
                t0 = cclab.first_time(s, lambda x: x["fd"] > 0)
                time.sleep(0.2)
            out["t0"] = t0 if t0 is not None else deadline
            end = out["t0"] + a.duration * 1000
            while time.time() * 1000 < end:
                time.sleep(min(1.0, max(0.0, end / 1000.0 - time.time())))
            out["t1"] = end
            out["samples"] = sub.call("sbSamples", {"name": c})
            out["events"] = sub.call("sbEvents", {"name": c})
            out["tbf"] = lab.tbf_stats()
            out["pub"] = pub.call("sbPubSnapshots", {"since": t_join})
            sub.call("sbUnsubscribe", {"name": c}, timeout=20)
            lab.lift()
            res["cases"][c] = out
            time.sleep(2.0)
        try:
            pub.call("sbLeave", {}, timeout=20)
        except Exception:  # noqa: BLE001
            pass
    except Exception as e:  # noqa: BLE001 - reported, and what was measured is kept
        res["errors"].append("run: %s" % e)
    finally:
        lab.close_pages()
        res["server_problems"] = lab.stop_server()
        lab.close()
        res["ended"] = time.time()
        with open(a.out, "w") as f:
            json.dump(res, f)
    print("%s: %d subscribes, cases %s, errors %d" % (
        a.server, len(res["first_frame"]), sorted(res["cases"]), len(res["errors"])))


if __name__ == "__main__":
    main()
