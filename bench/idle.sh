#!/bin/bash
# What a connected PeerConnection with no media costs the server (muted participants, audio
# listeners between talk-spurts): sb-loadgen's rooms scenario with --idle (publishers send
# nothing; RTCP reports, transport-wide CC feedback and ICE consent go on), the server's CPU
# over the window divided by PeerConnections and seconds. See bench/README.md.
#
#   bench/idle.sh [BUILD_DIR] [--people N] [--seconds S] [--runs K]
#
# Runs in a private network namespace (re-executed under unshare), a fresh server per run;
# prints one line per run and the median: µs of server CPU per idle PeerConnection per second.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=./build
people=99
secs=20
runs=3
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --people) people="$2"; shift ;;
    --seconds) secs="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" && pwd) || exit 2
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
ip link set lo up
ulimit -n 65536 2>/dev/null
out=$(mktemp -d /tmp/sb-idle.XXXXXX)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$out"' EXIT
cmd=("$build/switchboard" --port 18088 --bind 127.0.0.1 --html-folder "" --plugins-folder
     "$build/plugins" --configs-folder "$out" --log-level warn --ws false)
"$build/switchboard" --help | grep -q -- --drain-timeout && cmd+=(--drain-timeout 0)
figures=()
for run in $(seq "$runs"); do
    "${cmd[@]}" >"$out/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:18088/janus/info && break; sleep 0.1; done
    "$build/bench/sb-loadgen" --server http://127.0.0.1:18088/janus --server-pid "$server_pid" \
        --scenario rooms --subscribers 3 --rooms $(( (people + 2) / 3 )) --idle --warmup 3 \
        --duration "$secs" --quiet --json "$out/run.json" >/dev/null 2>"$out/loadgen.log"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""
    fig=$(/usr/bin/python3 - "$out/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pcs, sp = d["peerconnections"]["up"], d["server_process"]
print("%.1f %d %.3f %d" % (sp["cpu_s"] * 1e6 / (pcs * d["window_s"]), pcs, sp["cpu_s"],
                           d["window"]["received"]))
PY
)
    read -r us pcs cpu recv <<<"$fig"
    echo "run $run: $pcs PeerConnections up, idle for ${secs} s: server CPU $cpu s," \
         "$us us per PeerConnection per second ($recv media packets received)"
    figures+=("$us")
done
printf '%s\n' "${figures[@]}" | sort -n | awk '{a[NR]=$1} END {print "median:", a[int((NR+1)/2)], "us per idle PeerConnection per second"}'
