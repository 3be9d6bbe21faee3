#!/bin/bash
# How many people fit on this box: rooms of 4, each person publishing VP8 at 500 kbit/s
# through a pacer (as a browser sends it) plus Opus, and subscribing to the other three (one
# subscriber handle per feed, as the janus.js VideoRoom demo does). The number of people
# grows until a run breaks: loss over 0.1 %, one-way latency p99 over 20 ms, or a join or
# PeerConnection that fails; then a bisection finds the largest number that holds. Same run,
# same rules for Switchboard and the reference server, for each SRTP profile.
#
#   bench/capacity.sh [BUILD_DIR] [--servers "switchboard janus"] [--srtp "gcm cm"]
#                     [--start N] [--step N] [--max N] [--seconds S] [--out DIR]
#                     [--server-cpus LIST] [--loadgen-cpus LIST]
#
# The server runs on --server-cpus (default 0) and sb-loadgen on --loadgen-cpus (default 1),
# through taskset, so the load generator never takes the server's core; its own CPU is
# reported for every run (near 100 % would mean it, not the server, was the limit).
# Results: one JSON per run, runs.txt (every run) and capacity.txt (the table) in --out.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=./build
servers="switchboard janus"
profiles="gcm cm"
start=16
step=16
max=400
secs=10
out=""
server_cpus=0
lg_cpus=1
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --servers) servers="$2"; shift ;;
    --srtp) profiles="$2"; shift ;;
    --start) start="$2"; shift ;;
    --step) step="$2"; shift ;;
    --max) max="$2"; shift ;;
    --seconds) secs="$2"; shift ;;
    --out) out="$2"; shift ;;
    --server-cpus) server_cpus="$2"; shift ;;
    --loadgen-cpus) lg_cpus="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "no build folder" >&2; exit 2; }
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
case " $servers " in *" janus "*) command -v janus >/dev/null ||
    { echo "janus not installed: Switchboard only" >&2; servers=switchboard; } ;; esac
[ -n "$out" ] || out=/tmp/sb-capacity-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# shellcheck source=bench/servers.sh
. "$here/servers.sh"
export SERVER_CPUS=$server_cpus
case " $servers " in *" janus "*) janus_config ;; esac

# run SERVER PROFILE PEOPLE: one run; prints its line and returns 0 when it held.
run() {
    local server=$1 srtp=$2 n=$3 tag="$1-$2-$3"
    if ! start_server "$server" "$out/$tag.server.log"; then
        stop_server "$out/$tag.status"
        echo "$tag: server did not start"
        return 1
    fi
    taskset -c "$lg_cpus" "$build/bench/sb-loadgen" --server "$url" --server-pid "$server_pid" \
        --ice-allow "$allow" --scenario rooms --subscribers 4 --rooms $((n / 4)) --pacing 2.5 \
        --video-kbps 500 --audio-kbps 48 --srtp "$srtp" --warmup 3 --duration "$secs" \
        --join-timeout 60 --quiet --json "$out/$tag.json" >/dev/null 2>"$out/$tag.loadgen.log"
    stop_server "$out/$tag.status"
    /usr/bin/python3 - "$out/$tag.json" "$tag" "$(cat "$out/$tag.status")" <<'PY' | tee -a "$out/runs.txt"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("%-24s no result (loadgen failed)" % sys.argv[2]); sys.exit(1)
pc, w, lat, sp = d["peerconnections"], d["window"], d["latency_ms"], d["server_process"]
why = []
if pc["up"] < pc["planned"] or d["failures"]["count"]:
    why.append("%d of %d PeerConnections up" % (pc["up"], pc["planned"]))
if w["loss_pct"] > 0.1:
    why.append("loss %.2f %%" % w["loss_pct"])
if lat["p99"] > 20:
    why.append("p99 %.1f ms" % lat["p99"])
if sys.argv[3] != "ok":
    why.append("server: " + sys.argv[3])
print("%-24s %4d PCs  fwd %6.0f pkt/s  server %5.1f %% CPU %5.1f us/pkt  loss %.3f %%  "
      "p50 %.2f p99 %.2f ms  loadgen %5.1f %% CPU  %s" % (
          sys.argv[2], pc["up"], w["received_per_s"], sp["cpu_pct"], sp["cpu_us_per_pkt"],
          w["loss_pct"], lat["p50"], lat["p99"], d["loadgen_cpu_pct"],
          "holds" if not why else "breaks: " + ", ".join(why)))
sys.exit(1 if why else 0)
PY
}

echo "results in $out (server on CPU $server_cpus, sb-loadgen on CPU $lg_cpus)"
: >"$out/capacity.txt"
for srtp in $profiles; do
    for server in $servers; do
        ok=0 n=$start
        while [ "$n" -le "$max" ] && run "$server" "$srtp" "$n"; do ok=$n; n=$((n + step)); done
        bad=$n
        [ "$bad" -gt "$max" ] && bad=0
        while [ "$bad" -gt 0 ] && [ $((bad - ok)) -gt 4 ]; do # to a room of 4
            mid=$(( (ok + bad) / 8 * 4 ))
            if run "$server" "$srtp" "$mid"; then ok=$mid; else bad=$mid; fi
        done
        if [ "$bad" -gt 0 ]; then note="$bad break"; else note="$max, the most tried, held"; fi
        echo "$server $srtp: $ok people hold in rooms of 4 ($note)" | tee -a "$out/capacity.txt"
    done
done
echo "== the largest sustained number of people, rooms of 4 (500 kbit/s VP8 paced + Opus)"
cat "$out/capacity.txt"
