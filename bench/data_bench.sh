#!/bin/bash
# Data channels: Switchboard vs the Janus WebRTC Server, same load, same machine (see
# bench/README.md, "Data channels").
#
#   bench/data_bench.sh [BUILD_DIR] [--cases "game game-unrel echo16k echo64k echo16k-256k
#                       mem-nodata mem-data"] [--repeat 3] [--duration 10] [--out DIR]
#                       [--no-janus] [--server-bin PATH] [--plugins DIR]
#
# Cases (sb-loadgen options):
#   game          --scenario game: 8 persons, 30 msg/s of 100 B each, reliable ordered
#   game-unrel    the same, unordered with maxRetransmits 0
#   echo16k       --scenario echo-data: 16 KiB messages, 1 MiB sent and not yet echoed
#   echo64k       the same with 65,535-byte messages (the reference echoes nothing larger)
#   echo16k-256k  16 KiB, 256 KiB window (below the servers' SCTP send buffers)
#   mem-nodata    --scenario echo, 100 peers, audio + video (16 + 100 kbit/s), no data m-line
#   mem-data      the same with a data m-line, a channel each and 1 msg/s
# Like bench/run.sh: a private network namespace (the reference server gathers candidates on
# a port-less bridge holding 127.1.0.1), a fresh server per run, servers alternating, SIGTERM
# at the end (a server that dies, exits non-zero or hangs is reported). One JSON per run,
# table.txt (medians) from bench/data_report.py. --server-bin/--plugins: a Switchboard other
# than BUILD_DIR's (a copy that another build cannot change during the runs).
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=./build
cases="game game-unrel echo16k echo64k echo16k-256k mem-nodata mem-data"
repeat=3
duration=10
out=""
janus=1
server_bin=""
plugins=""
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --cases) cases="$2"; shift ;;
    --repeat) repeat="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-janus) janus=0 ;;
    --server-bin) server_bin="$2"; shift ;;
    --plugins) plugins="$2"; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "no build folder" >&2; exit 2; }
[ -n "$server_bin" ] || server_bin=$build/switchboard
[ -n "$plugins" ] || plugins=$build/plugins
for f in "$server_bin" "$build/bench/sb-loadgen" "$plugins/libsb_videoroom.so"; do
    [ -e "$f" ] || { echo "missing $f (run make)" >&2; exit 2; }
done
if [ "$janus" = 1 ] && ! command -v janus >/dev/null; then
    echo "janus not installed (apt-get install janus), running Switchboard only" >&2
    janus=0
fi

if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
. "$here/servers.sh"

[ -n "$out" ] || out=/tmp/sb-data-bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)

case_args() {
    local mem="--scenario echo --subscribers 100 --video-kbps 100 --fps 10 --audio-kbps 16"
    case "$1" in
    game) echo "--scenario game --subscribers 8" ;;
    game-unrel) echo "--scenario game --subscribers 8 --data-unreliable" ;;
    echo16k) echo "--scenario echo-data --msg-size 16384 --data-window 1048576" ;;
    echo64k) echo "--scenario echo-data --msg-size 65535 --data-window 1048576" ;;
    echo16k-256k) echo "--scenario echo-data --msg-size 16384 --data-window 262144" ;;
    mem-nodata) echo "$mem" ;;
    mem-data) echo "$mem --data --msg-rate 1" ;;
    *) return 1 ;;
    esac
}

servers=switchboard
[ "$janus" = 1 ] && { servers="switchboard janus"; janus_config; }
echo "results in $out"
{ echo "started $(date -Is)"; uptime; } > "$out/conditions.txt"
problems=0
for c in $cases; do
    case_args "$c" >/dev/null || { echo "unknown case $c" >&2; exit 2; }
    for rep in $(seq "$repeat"); do
        for server in $servers; do
            tag=$server@$c@$rep
            if ! start_server "$server" "$out/$tag.server.log"; then
                echo "$tag: server did not start (see $out/$tag.server.log)"
                stop_server "$out/$tag.status" || problems=$((problems + 1))
                continue
            fi
            printf '%-34s load %-5s ' "$tag" "$(cut -d' ' -f1 /proc/loadavg)"
            # shellcheck disable=SC2046
            timeout 600 "$build/bench/sb-loadgen" --server "$url" --server-pid "$server_pid" \
                --ice-allow "$allow" --duration "$duration" --quiet --json "$out/$tag.json" \
                $(case_args "$c") >/dev/null 2>"$out/$tag.loadgen.log"
            lg_rc=$?
            stop_server "$out/$tag.status" || problems=$((problems + 1))
            echo "loadgen rc=$lg_rc, server: $(cat "$out/$tag.status")"
            cut -d' ' -f1-3 /proc/loadavg > "$out/$tag.load"
        done
    done
done
{ echo "ended $(date -Is)"; uptime; } >> "$out/conditions.txt"
/usr/bin/python3 "$here/data_report.py" "$out" | tee "$out/table.txt"
echo "server problems: $problems (see $out/*.status and *.server.log)"
