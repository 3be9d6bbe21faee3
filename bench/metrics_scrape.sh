#!/bin/bash
# What a /metrics scrape costs with many PeerConnections up (issue 15's target: <= 10 ms with
# 1,000 peers, and no stall of a media loop). See bench/README.md.
#
#   bench/metrics_scrape.sh [BUILD_DIR] [--rooms 10] [--subscribers 99] [--duration 20]
#                           [--scrapes-per-s 10] [--out DIR] [-- extra sb-loadgen options]
#
# In a private network namespace: Switchboard, then sb-loadgen's fanout scenario (--rooms
# rooms of one publisher and --subscribers subscribers: 10 x 100 = 1,000 PeerConnections by
# default, each publisher at 200 kbit/s video + 24 kbit/s audio so two cores carry it). Twice,
# each with a fresh server: once quiet, once with /metrics scraped --scrapes-per-s times a
# second over the measured window (curl, its total time per scrape). Prints the scrape times
# (median, p99, max, the body's size), the admin thread's CPU per scrape (its schedstat: what
# a scrape costs whatever the machine's load does to its wall time) and, for both runs,
# sb-loadgen's one-way latency (p50, p99, max) and loss: a stalled media loop would show there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
rooms=10
subs=99
dur=20
rate=10
out=""
extra=()
args=("$@")
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then
    build=$1
    shift
fi
while [ $# -gt 0 ]; do
    case "$1" in
    --rooms) rooms="$2"; shift ;;
    --subscribers) subs="$2"; shift ;;
    --duration) dur="$2"; shift ;;
    --scrapes-per-s) rate="$2"; shift ;;
    --out) out="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
build=$(cd "$build" && pwd) || exit 2
[ ${#extra[@]} -gt 0 ] || extra=(--video-kbps 200 --audio-kbps 24 --fps 15)
if [ "${SB_BENCH_NS:-}" != 1 ]; then
    exec env SB_BENCH_NS=1 unshare --net -- "$0" "${args[@]}"
fi
ip link set lo up
ulimit -n 65536 2>/dev/null
[ -n "$out" ] || out=/tmp/sb-metrics-scrape-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
conf=$(mktemp -d /tmp/sb-metrics-conf.XXXXXX)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$conf"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME SCRAPE(0|1)
run() {
    "$build/switchboard" --drain-timeout 0 --port 18088 --bind 127.0.0.1 --html-folder "" \
        --plugins-folder "$build/plugins" --configs-folder "$conf" --log-level warn \
        --ws false >"$out/$1.server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:18088/janus/info && break; sleep 0.1; done
    "$build/bench/sb-loadgen" --server http://127.0.0.1:18088/janus --server-pid "$server_pid" \
        --scenario fanout --rooms "$rooms" --subscribers "$subs" --join-rate 50 --warmup 3 \
        --duration "$dur" --join-timeout 120 --json "$out/$1.json" "${extra[@]}" \
        >/dev/null 2>"$out/$1.loadgen.log" &
    local lg=$!
    if [ "$2" = 1 ]; then
        until grep -q "measure" "$out/$1.loadgen.log" 2>/dev/null; do
            kill -0 "$lg" 2>/dev/null || break
            sleep 0.2
        done
        # The admin listener's thread: the last MHD thread started (HTTP's comes first).
        local tid
        tid=$(for t in /proc/"$server_pid"/task/*; do
                  [ "$(cat "$t/comm")" = MHD-single ] && basename "$t"; done | sort -n | tail -1)
        local cpu0
        cpu0=$(cut -d' ' -f1 /proc/"$server_pid"/task/"$tid"/schedstat)
        local end=$((SECONDS + dur - 1))
        while [ $SECONDS -lt $end ] && kill -0 "$lg" 2>/dev/null; do
            curl -s -o "$out/metrics.txt" -w "%{time_total} %{size_download}\n" \
                http://127.0.0.1:7088/metrics >>"$out/scrapes.txt"
            sleep "$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')"
        done
        # Its CPU time over the scrapes (ns, the scheduler's own count).
        echo $(($(cut -d' ' -f1 /proc/"$server_pid"/task/"$tid"/schedstat) - cpu0)) \
            >"$out/admin_cpu_ns.txt"
    fi
    wait "$lg"
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null
    server_pid=""
}

: >"$out/scrapes.txt"
run quiet 0
run scraped 1
/usr/bin/python3 - "$out" <<'EOF'
import json, os, statistics, sys
out = sys.argv[1]
t = sorted(float(l.split()[0]) * 1000 for l in open(os.path.join(out, "scrapes.txt")) if l.strip())
size = [int(l.split()[1]) for l in open(os.path.join(out, "scrapes.txt")) if l.strip()]
if t:
    print("scrapes: %d, ms: median %.2f, p99 %.2f, max %.2f; body %d bytes" % (
        len(t), statistics.median(t), t[min(len(t) - 1, int(len(t) * 0.99))], t[-1], size[-1]))
    cpu = os.path.join(out, "admin_cpu_ns.txt")
    if os.path.exists(cpu):
        print("admin thread CPU per scrape: %.3f ms" % (int(open(cpu).read()) / 1e6 / len(t)))
for name in ("quiet", "scraped"):
    j = json.load(open(os.path.join(out, name + ".json")))
    lat, w = j.get("latency_ms", {}), j.get("window") or {}
    pcs, sp = j.get("peerconnections", {}), j.get("server_process", {})
    print("%-8s PeerConnections %s/%s up, loss %.3f %%, one-way ms p50 %.2f p99 %.2f max %.2f, "
          "server CPU %.0f %%" % (name, pcs.get("up"), pcs.get("planned"), w.get("loss_pct", 0),
                                  lat.get("p50", 0), lat.get("p99", 0), lat.get("max", 0),
                                  sp.get("cpu_pct", 0)))
EOF
