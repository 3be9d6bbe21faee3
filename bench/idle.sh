#!/bin/bash
# What a connected PeerConnection with no media costs the server (muted participants, audio
# listeners between talk-spurts): sb-loadgen's rooms scenario with --idle (publishers send
# nothing; RTCP reports, transport-wide CC feedback and ICE consent go on), the server's CPU
# over the window divided by PeerConnections and seconds. See bench/README.md.
#
#   bench/idle.sh [BUILD_DIR] [--people N] [--seconds S] [--runs K] [--no-janus]
#                 [--server-bin PATH --plugins DIR]
#
# Runs in a private network namespace (re-executed under unshare), a fresh server per run,
# Switchboard and the reference server (Debian's janus, when installed) taking turns; prints
# one line per run and each server's median: µs of server CPU per idle PeerConnection per
# second. --server-bin/--plugins: another Switchboard binary and plugin folder (a before).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=./build
people=99
secs=20
runs=3
servers="switchboard janus"
server_bin=""
plugins=""
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --people) people="$2"; shift ;;
    --seconds) secs="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --no-janus) servers=switchboard ;;
    --server-bin) server_bin="$2"; shift ;;
    --plugins) plugins="$2"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" && pwd) || exit 2
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
case " $servers " in *" janus "*) command -v janus >/dev/null ||
    { echo "janus not installed: Switchboard only" >&2; servers=switchboard; } ;; esac
# shellcheck source=bench/servers.sh
. "$here/servers.sh"
case " $servers " in *" janus "*) janus_config ;; esac

declare -A figures
for run in $(seq "$runs"); do
    for server in $servers; do
        if ! start_server "$server" "$work/server.log"; then
            stop_server "$work/status"
            echo "run $run: $server did not start" >&2
            continue
        fi
        "$build/bench/sb-loadgen" --server "$url" --server-pid "$server_pid" --ice-allow "$allow" \
            --scenario rooms --subscribers 3 --rooms $(( (people + 2) / 3 )) --idle --warmup 3 \
            --duration "$secs" --quiet --json "$work/run.json" >/dev/null 2>"$work/loadgen.log"
        stop_server "$work/status" || echo "run $run: $server: $(cat "$work/status")" >&2
        fig=$(/usr/bin/python3 - "$work/run.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pcs, sp = d["peerconnections"]["up"], d["server_process"]
print("%.1f %d %.3f %d" % (sp["cpu_s"] * 1e6 / (pcs * d["window_s"]), pcs, sp["cpu_s"],
                           d["window"]["received"]))
PY
) || { echo "run $run: $server: no result (see $work/loadgen.log)" >&2; continue; }
        read -r us pcs cpu recv <<<"$fig"
        echo "run $run: $server: $pcs PeerConnections up, idle for ${secs} s: server CPU" \
             "$cpu s, $us us per PeerConnection per second ($recv media packets received)"
        figures[$server]+="$us "
    done
done
for server in $servers; do
    printf '%s\n' ${figures[$server]:-} | sort -n | awk -v s="$server" '{a[NR]=$1}
        END {if (NR) print s ": median " a[int((NR+1)/2)] " us per idle PeerConnection per second"}'
done
