#!/bin/bash
# What congestion control costs the server per forwarded packet (issue 14's target: the
# estimator's cost <= 0.2 us per forwarded packet at fanout 50). See bench/README.md.
#
#   bench/cc_cost.sh --before BUILD_DIR [--head BUILD_DIR] [--build LABEL=BUILD_DIR]...
#                    [--loadgen PATH] [--repeat 5] [--subscribers 50] [--duration 10]
#                    [--variants "before fb nofb off"] [--callgrind SECONDS] [--out DIR]
#                    [-- extra sb-loadgen options]
#
# One publisher -> N subscribers in one VideoRoom room (sb-loadgen --scenario fanout,
# 1.5 Mbit/s VP8 + Opus unless told otherwise after --), each run a fresh server in a private
# network namespace. sb-loadgen's peers do transport-wide CC as Chromium does (the publisher
# numbers its packets, subscribers send transport-cc feedback every 50 ms) unless told not to.
# Variants:
#   before  the server of --before (a build of the commit before congestion control), the
#           loadgen as in "fb" (that server negotiates no transport-wide CC: nothing happens)
#   fb      --head, feedback every 50 ms from every subscriber (a room of browsers)
#   nofb    --head, subscribers accept the extension but send no feedback (--no-twcc-feedback:
#           every packet is stamped, the estimator never runs)
#   nopub   --head, as fb but the publisher does not number its packets (--no-twcc-publisher:
#           the server must add the element to every copy instead of overwriting it)
#   off     --head, no transport-wide CC negotiated at all (--no-twcc: the core's CC is off)
# VARIANT@LABEL runs VARIANT against the server of --build LABEL=DIR instead of --head's (two
# builds of one tree, before and after a change: --variants "fb fb@fix off off@fix").
# The same sb-loadgen (--loadgen, default --head's) drives every variant; runs go round robin
# (before, fb, nofb, off, before, ...) so the machine's noise is spread over all of them.
#
# Default: server CPU per forwarded packet (utime + stime over the loadgen's window / packets
# the subscribers received), median of --repeat runs per variant.
# SB_COST_SERVER_ARGS="--flag value ...": more server flags for every run.
# --callgrind S: one run per variant with the server under callgrind, instrumentation on for S
# steady seconds: instructions per forwarded packet (calls of sb_peer_forward_rtp), total and
# inclusive for the congestion control functions (bench/cc_cost.py). Repeatable whatever the
# machine does, ~50x slower: at fanout 50 and 1.5 Mbit/s the server does not keep up (loss,
# and the subscribers' RTCP starved: no feedback handled at all); --subscribers 25 does, and
# the costs per copy and per feedback message are those of 50.
# The before build: git worktree add /tmp/sb-before 6a09990, then autoreconf -fi, configure
# and make switchboard plugins/libsb_videoroom.so there (never check it out in the main tree).
set -u
here=$(cd "$(dirname "$0")" && pwd)
before=""
head="$here/../build"
lg=""
declare -A builds=()
repeat=5
subs=50
dur=10
variants="before fb nofb off"
cg=0
out=""
extra=()
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --before) before="$2"; shift ;;
    --head) head="$2"; shift ;;
    --loadgen) lg="$2"; shift ;;
    --build) builds[${2%%=*}]=$(cd "${2#*=}" && pwd) || exit 2; shift ;;
    --repeat) repeat="$2"; shift ;;
    --subscribers) subs="$2"; shift ;;
    --duration) dur="$2"; shift ;;
    --variants) variants="$2"; shift ;;
    --callgrind) cg="$2"; shift ;;
    --out) out="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
head=$(cd "$head" && pwd) || exit 2
[ -n "$lg" ] || lg="$head/bench/sb-loadgen"
lg=$(realpath "$lg") || exit 2
if [[ " $variants " == *" before "* ]]; then
    [ -n "$before" ] || { echo "--before BUILD_DIR (or --variants without before)" >&2; exit 2; }
    before=$(cd "$before" && pwd) || exit 2
fi
[ ${#extra[@]} -gt 0 ] || extra=(--video-kbps 1500)
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
ip link set lo up
ulimit -n 65536 2>/dev/null
[ -n "$out" ] || out=/tmp/sb-cc-cost-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
conf=$(mktemp -d /tmp/sb-cc-cost-conf.XXXXXX)
server_pid=""
lg_pid=""
cleanup() {
    [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null && wait "$lg_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$conf"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
{
    echo "head: $head ($(git -C "$head/.." describe --always --dirty 2>/dev/null))"
    [ -n "$before" ] && echo "before: $before ($(git -C "$before/.." describe --always --dirty 2>/dev/null))"
    for l in "${!builds[@]}"; do echo "@$l: ${builds[$l]}"; done
    echo "loadgen: $lg"
    echo "fanout 1 -> $subs, window ${dur}s, loadgen options: ${extra[*]}"
} >"$out/setup.txt"
cat "$out/setup.txt"

# run VARIANT NAME: one fresh server, one loadgen run; $out/NAME.json
run() {
    local v=${1%@*} name=$2 build=$head lgopt=() window=$dur
    if [[ "$1" == *@* ]]; then
        build=${builds[${1#*@}]:-}
        [ -n "$build" ] || { echo "no --build ${1#*@}=DIR" >&2; return 1; }
    fi
    case "$v" in
    before) build=$before ;;
    fb) ;;
    nofb) lgopt=(--no-twcc-feedback) ;;
    nopub) lgopt=(--no-twcc-publisher) ;;
    off) lgopt=(--no-twcc) ;;
    *) echo "unknown variant $v" >&2; return 1 ;;
    esac
    local cmd=("$build/switchboard" --port 18088 --bind 127.0.0.1 --html-folder ""
               --plugins-folder "$build/plugins" --configs-folder "$conf" --log-level warn
               --ws false)
    # Builds with a drain stop at once on SIGTERM only when told (older ones lack the flag).
    "$build/switchboard" --help | grep -q -- --drain-timeout && cmd+=(--drain-timeout 0)
    # SB_COST_SERVER_ARGS: more server flags for every run (e.g. an event webhook).
    read -r -a more <<<"${SB_COST_SERVER_ARGS:-}"
    cmd+=("${more[@]}")
    if [ "$cg" != 0 ]; then
        valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/$name.cg" \
            "${cmd[@]}" >"$out/$name.server.log" 2>&1 &
        window=$((cg + 8))
    else
        "${cmd[@]}" >"$out/$name.server.log" 2>&1 &
    fi
    server_pid=$!
    for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:18088/janus/info && break; sleep 0.1; done
    "$lg" --server http://127.0.0.1:18088/janus --server-pid "$server_pid" --scenario fanout \
        --subscribers "$subs" --warmup 3 --duration "$window" --join-timeout 120 \
        --json "$out/$name.json" "${lgopt[@]}" "${extra[@]}" >/dev/null 2>"$out/$name.loadgen.log" &
    lg_pid=$!
    if [ "$cg" != 0 ]; then
        until grep -q "measure" "$out/$name.loadgen.log" 2>/dev/null; do
            kill -0 "$lg_pid" 2>/dev/null || break
            sleep 0.2
        done
        sleep 2
        callgrind_control -i on "$server_pid" >/dev/null
        sleep "$cg"
        callgrind_control -i off "$server_pid" >/dev/null
        callgrind_control -d "$server_pid" >/dev/null
    fi
    wait "$lg_pid"
    lg_pid=""
    kill "$server_pid"
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
}

if [ "$cg" != 0 ]; then
    for v in $variants; do
        echo "callgrind: $v"
        run "$v" "cg-$v"
    done
    /usr/bin/python3 "$here/cc_cost.py" callgrind "$out" $variants | tee "$out/table.txt"
else
    for rep in $(seq "$repeat"); do
        for v in $variants; do
            run "$v" "$v-$rep"
            /usr/bin/python3 "$here/cc_cost.py" one "$out/$v-$rep.json"
        done
    done
    /usr/bin/python3 "$here/cc_cost.py" cpu "$out" $variants | tee "$out/table.txt"
fi
echo "raw data in $out"
