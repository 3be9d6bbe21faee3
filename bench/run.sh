#!/bin/bash
# Switchboard vs the Janus WebRTC Server, same load, same machine: see bench/README.md.
#
#   bench/run.sh [BUILD_DIR] [--quick] [--scenarios "fanout mesh rooms"] [--repeat K]
#                [--duration S] [--out DIR] [--no-janus] [--loadgen-loops N] [--video-kbps K]
#                [--sizes "N ..."] [--srtp gcm|cm] [--server-bin PATH --plugins DIR]
#                [--keyframe-at-once]
#
# BUILD_DIR (default ./build) holds switchboard, plugins/ and bench/sb-loadgen. Everything
# runs in a private network namespace (re-executed under `unshare --net` unless already
# inside one), so no packet leaves loopback and ports never collide with anything else.
# For each scenario and N, and each repetition, the servers run one after the other
# (alternating): a fresh server per run, sb-loadgen against it with --server-pid, then
# SIGTERM; a server that dies, exits non-zero or hangs at shutdown is reported.
# --sizes replaces each scenario's list of sizes (people in rooms and meshes, subscribers of
# a fan-out); --srtp is the profile the load generator accepts (the server's choice then);
# --server-bin and --plugins run another Switchboard (an older build) under the same load.
# --keyframe-at-once: publishers answer a keyframe request at once rather than with their next
# frame, so the first keyframe's time is the servers' request and forwarding paths alone.
# Results: one JSON per run, results.csv, table.txt and plot.png in the output folder.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=./build
quick=0
scenarios="fanout mesh rooms"
repeat=1
duration=10
out=""
janus=1
lg_loops=1
video_kbps=""
sizes=""
srtp=gcm
server_bin=""
plugins=""
key_at_once=""
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --scenarios) scenarios="$2"; shift ;;
    --repeat) repeat="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --out) out="$2"; shift ;;
    --no-janus) janus=0 ;;
    --loadgen-loops) lg_loops="$2"; shift ;;
    --video-kbps) video_kbps="$2"; shift ;;
    --sizes) sizes="$2"; shift ;;
    --srtp) srtp="$2"; shift ;;
    --server-bin) server_bin="$2"; shift ;;
    --plugins) plugins="$2"; shift ;;
    --keyframe-at-once) key_at_once=--keyframe-at-once ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "no build folder" >&2; exit 2; }
for f in switchboard bench/sb-loadgen plugins/libsb_videoroom.so; do
    [ -e "$build/$f" ] || { echo "missing $build/$f (run make)" >&2; exit 2; }
done
if [ "$janus" = 1 ] && ! command -v janus >/dev/null; then
    echo "janus not installed (apt-get install janus), running Switchboard only" >&2
    janus=0
fi

# Into a private namespace with only loopback, once.
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
[ -n "$out" ] || out=/tmp/sb-bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# shellcheck source=bench/servers.sh
. "$here/servers.sh"

ns_for() {
    local scen=$1 server=$2
    [ -n "$sizes" ] && { echo "$sizes"; return; }
    case "$scen" in
    fanout) if [ $quick = 1 ]; then echo "1 10"; else
                echo "1 10 50"; [ "$server" = switchboard ] && echo 100; fi ;;
    rooms) if [ $quick = 1 ]; then echo 3; else
               echo "3 12 48"; [ "$server" = switchboard ] && echo 99; fi ;;
    mesh) if [ $quick = 1 ]; then echo 3; else echo "3 6 10"; fi ;;
    echo) if [ $quick = 1 ]; then echo "1 10"; else echo "1 10 50"; fi ;;
    esac
}

# loadgen arguments for a scenario at size N
lg_args() {
    case "$1" in
    fanout) echo "--scenario fanout --subscribers $2" ;;
    rooms) echo "--scenario rooms --subscribers 3 --rooms $(( ($2 + 2) / 3 ))" ;;
    mesh) echo "--scenario mesh --subscribers $2 --rooms 1" ;;
    echo) echo "--scenario echo --subscribers $2" ;;
    esac
}

servers=switchboard
[ "$janus" = 1 ] && { servers="switchboard janus"; janus_config; }
echo "results in $out"
problems=0
for scen in $scenarios; do
    all_ns=$( (for s in $servers; do ns_for "$scen" "$s"; done) | tr ' ' '\n' | sort -nu)
    for n in $all_ns; do
        for rep in $(seq "$repeat"); do
            for server in $servers; do
                ns_for "$scen" "$server" | tr ' ' '\n' | grep -qx "$n" || continue
                tag=$server-$scen-$n-$rep
                if ! start_server "$server" "$out/$tag.server.log"; then
                    echo "$tag: server did not start (see $out/$tag.server.log)"
                    stop_server "$out/$tag.status" || problems=$((problems + 1))
                    continue
                fi
                printf '%-34s ' "$tag"
                # shellcheck disable=SC2046
                timeout 600 "$build/bench/sb-loadgen" --server "$url" --server-pid "$server_pid" \
                    --ice-allow "$allow" --duration "$duration" --loops "$lg_loops" --quiet \
                    --json "$out/$tag.json" --srtp "$srtp" $(lg_args "$scen" "$n") \
                    ${video_kbps:+--video-kbps "$video_kbps"} $key_at_once \
                    >/dev/null 2>"$out/$tag.loadgen.log"
                lg_rc=$?
                if ! stop_server "$out/$tag.status"; then
                    problems=$((problems + 1))
                fi
                echo "loadgen rc=$lg_rc, server: $(cat "$out/$tag.status")"
            done
        done
    done
done
/usr/bin/python3 "$here/report.py" "$out" | tee "$out/table.txt"
echo "server problems: $problems (see $out/*.status and *.server.log)"
