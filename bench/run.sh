#!/bin/bash
# Switchboard vs the Janus WebRTC Server, same load, same machine: see bench/README.md.
#
#   bench/run.sh [BUILD_DIR] [--quick] [--scenarios "fanout mesh rooms"] [--repeat K]
#                [--duration S] [--out DIR] [--no-janus] [--loadgen-loops N] [--video-kbps K]
#
# BUILD_DIR (default ./build) holds switchboard, plugins/ and bench/sb-loadgen. Everything
# runs in a private network namespace (re-executed under `unshare --net` unless already
# inside one), so no packet leaves loopback and ports never collide with anything else.
# For each scenario and N, and each repetition, the servers run one after the other
# (alternating): a fresh server per run, sb-loadgen against it with --server-pid, then
# SIGTERM; a server that dies, exits non-zero or hangs at shutdown is reported.
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
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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
ip link set lo up
# The reference server gathers no candidate on a loopback interface and ignores loopback
# candidates of its peers. A bridge without ports that holds another loopback address
# (127.1.0.1/32) is not a loopback interface, and traffic to it is still delivered locally.
ip link add sbbr0 type bridge 2>/dev/null
ip addr add 127.1.0.1/32 dev sbbr0 2>/dev/null
ip link set sbbr0 up
ulimit -n 65536 2>/dev/null || ulimit -n 4096

[ -n "$out" ] || out=/tmp/sb-bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/sb-bench-work.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SB_PORT=18088
JANUS_PORT=18089

janus_config() {
    local d=$work/janus
    mkdir -p "$d/plugins" "$d/transports" "$d/none"
    local lib=/usr/lib/x86_64-linux-gnu/janus
    [ -d "$lib" ] || lib=$(dirname "$(dpkg -L janus | grep 'plugins/libjanus_videoroom.so$' | head -1)")/..
    ln -sf "$lib/plugins/libjanus_videoroom.so" "$lib/plugins/libjanus_echotest.so" "$d/plugins/"
    ln -sf "$lib/transports/libjanus_http.so" "$d/transports/"
    cat > "$d/janus.jcfg" <<EOF
general: {
    configs_folder = "$d"
    plugins_folder = "$d/plugins"
    transports_folder = "$d/transports"
    events_folder = "$d/none"
    loggers_folder = "$d/none"
    debug_level = 3
    session_timeout = 60
}
media: { }
nat: {
    ice_enforce_list = "sbbr0"
}
EOF
    cat > "$d/janus.transport.http.jcfg" <<EOF
general: { json = "compact" base_path = "/janus" http = true port = $JANUS_PORT ip = "127.0.0.1" https = false }
admin: { admin_http = false }
EOF
    echo 'general: { }' > "$d/janus.plugin.videoroom.jcfg"
    echo 'general: { }' > "$d/janus.plugin.echotest.jcfg"
}

wait_http() {
    local url=$1 pid=$2
    for _ in $(seq 100); do
        curl -s -o /dev/null "$url/info" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server NAME LOG: sets server_pid and url
start_server() {
    case "$1" in
    switchboard)
        mkdir -p "$work/sbconf"
        # Builds with a drain stop at once on SIGTERM only when told (older ones lack it).
        local drain=()
        "$build/switchboard" --help | grep -q -- --drain-timeout && drain=(--drain-timeout 0)
        "$build/switchboard" "${drain[@]}" --port $SB_PORT --bind 127.0.0.1 \
            --html-folder "" --plugins-folder "$build/plugins" --configs-folder "$work/sbconf" \
            --log-level warn --ws false >"$2" 2>&1 &
        server_pid=$!
        url=http://127.0.0.1:$SB_PORT/janus
        allow=127.0.0.1
        ;;
    janus)
        janus -F "$work/janus" -C "$work/janus/janus.jcfg" -o >"$2" 2>&1 &
        server_pid=$!
        url=http://127.0.0.1:$JANUS_PORT/janus
        allow=sbbr0
        ;;
    esac
    wait_http "$url" "$server_pid"
}

# stop_server STATUSFILE: SIGTERM, 10 s grace, then SIGKILL; writes what happened.
stop_server() {
    local status=ok rc
    if ! kill -0 "$server_pid" 2>/dev/null; then
        wait "$server_pid"; rc=$?
        status="died during the run (exit $rc)"
    else
        kill -TERM "$server_pid"
        for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$server_pid" 2>/dev/null; then
            kill -KILL "$server_pid"
            status="hung at shutdown (killed after 10 s)"
        fi
        wait "$server_pid"; rc=$?
        [ "$status" = ok ] && [ "$rc" != 0 ] && status="exit $rc on SIGTERM"
    fi
    server_pid=""
    echo "$status" > "$1"
    [ "$status" = ok ]
}

ns_for() {
    local scen=$1 server=$2
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
                    --json "$out/$tag.json" $(lg_args "$scen" "$n") \
                    ${video_kbps:+--video-kbps "$video_kbps"} \
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
