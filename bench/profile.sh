#!/bin/bash
# Where does Switchboard spend its time per forwarded packet? See bench/README.md.
#
#   bench/profile.sh [BUILD_DIR] [--tool perf|callgrind] [--subscribers N] [--seconds S]
#                    [--srtp gcm|cm] [--out DIR] [-- extra sb-loadgen options]
#
# Runs Switchboard and sb-loadgen (fanout, 1 publisher -> N subscribers, default 50) in a
# private network namespace; once the load is steady, profiles the server for S seconds:
#  - perf: `perf record -e cpu-clock` (this machine has no hardware counters), flat profile by
#    symbol, server threads only; µs per forwarded packet per symbol;
#  - callgrind: the server runs under valgrind with instrumentation off until the load is
#    steady, then on for S seconds; instructions per forwarded packet per function (repeatable
#    whatever else the machine does). Under valgrind the server is ~50x slower: keep N small.
# Packets forwarded in the profiled interval = the subscribers' receive rate (steady) x S.
set -u
build=./build
tool=perf
subs=50
secs=10
srtp=gcm
out=""
extra=()
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --tool) tool="$2"; shift ;;
    --subscribers) subs="$2"; shift ;;
    --seconds) secs="$2"; shift ;;
    --srtp) srtp="$2"; shift ;;
    --out) out="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
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
[ -n "$out" ] || out=/tmp/sb-profile-$tool-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
conf=$(mktemp -d /tmp/sb-profile-conf.XXXXXX)
server_pid=""
lg_pid=""
cleanup() {
    [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null && wait "$lg_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$conf"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cmd=("$build/switchboard" --port 18088 --bind 127.0.0.1 --html-folder "" --plugins-folder
     "$build/plugins" --configs-folder "$conf" --log-level warn --ws false)
case "$tool" in
perf) "${cmd[@]}" >"$out/server.log" 2>&1 & ;;
callgrind)
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out" \
        "${cmd[@]}" >"$out/server.log" 2>&1 & ;;
*) echo "--tool perf or callgrind" >&2; exit 2 ;;
esac
server_pid=$!
for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:18088/janus/info && break; sleep 0.1; done
# The window outlasts the profile; the loadgen's summary gives the steady receive rate.
"$build/bench/sb-loadgen" --server http://127.0.0.1:18088/janus --server-pid "$server_pid" \
    --scenario fanout --subscribers "$subs" --srtp "$srtp" --warmup 3 --duration $((secs + 6)) \
    --join-timeout 120 --json "$out/loadgen.json" "${extra[@]}" >/dev/null 2>"$out/loadgen.log" &
lg_pid=$!
until grep -q "measure" "$out/loadgen.log" 2>/dev/null; do
    kill -0 "$lg_pid" 2>/dev/null || { echo "loadgen ended early: $out/loadgen.log"; exit 1; }
    sleep 0.2
done
sleep 1
echo "profiling $tool for $secs s (fanout to $subs subscribers, SRTP $srtp)"
case "$tool" in
perf)
    perf record -e cpu-clock -F 4999 -p "$server_pid" -o "$out/perf.data" -- sleep "$secs" \
        >"$out/perf-record.log" 2>&1 ;;
callgrind)
    callgrind_control -i on "$server_pid" >/dev/null
    sleep "$secs"
    callgrind_control -i off "$server_pid" >/dev/null
    callgrind_control -d "$server_pid" >/dev/null ;;
esac
wait "$lg_pid"
lg_pid=""
kill "$server_pid"; wait "$server_pid"; server_pid=""
rate=$(/usr/bin/python3 -c "import json;print(json.load(open('$out/loadgen.json'))['window']['received_per_s'])")
pkts=$(/usr/bin/python3 -c "print(int($rate * $secs))")
echo "forwarded packets in the profiled interval: ~$pkts ($rate/s)"
case "$tool" in
perf)
    perf report -i "$out/perf.data" --stdio --no-children --sort comm,dso,symbol 2>/dev/null \
        >"$out/perf-report.txt"
    samples=$(perf report -i "$out/perf.data" --stdio 2>/dev/null | sed -n 's/^# Samples: \([0-9]*\).*/\1/p' | head -1)
    /usr/bin/python3 - "$out/perf-report.txt" "$samples" "$pkts" <<'EOF'
import re, sys
path, samples, pkts = sys.argv[1], int(sys.argv[2] or 0), int(sys.argv[3])
# cpu-clock at 4999 Hz: each sample is ~200 us of CPU
us_total = samples * 1e6 / 4999
print("server CPU in the interval: %.0f ms = %.2f us per forwarded packet" % (us_total / 1000, us_total / max(pkts, 1)))
print("%7s %9s  %-16s %-28s %s" % ("self %", "us/pkt", "thread", "object", "symbol"))
n = 0
for line in open(path):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(\S+)\s+\[.\]\s+(.*)", line)
    if not m:
        continue
    pct = float(m.group(1))
    print("%6.2f%% %9.3f  %-16s %-28s %s" % (pct, us_total * pct / 100 / max(pkts, 1), m.group(2)[:16], m.group(3)[:28], m.group(4)[:70]))
    n += 1
    if n == 40:
        break
EOF
    ;;
callgrind)
    callgrind_annotate --inclusive=no "$out/callgrind.out"* >"$out/callgrind-self.txt" 2>/dev/null
    callgrind_annotate --inclusive=yes "$out/callgrind.out"* >"$out/callgrind-incl.txt" 2>/dev/null
    /usr/bin/python3 - "$out/callgrind-self.txt" "$pkts" <<'EOF'
import re, sys
path, pkts = sys.argv[1], int(sys.argv[2])
total = None
rows = []
for line in open(path):
    m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)", line)
    if m and "PROGRAM TOTALS" in line:
        total = int(m.group(1).replace(",", ""))
    elif m and total is not None:
        rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), m.group(3)))
    else:
        m2 = re.match(r"\s*([\d,]+)\s+\(100.0%\)\s+PROGRAM TOTALS", line)
        if m2:
            total = int(m2.group(1).replace(",", ""))
print("instructions in the interval: %d = %.0f per forwarded packet" % (total or 0, (total or 0) / max(pkts, 1)))
print("%7s %10s  %s" % ("self %", "Ir/pkt", "function"))
for ir, pct, fn in rows[:40]:
    print("%6.2f%% %10.0f  %s" % (pct, ir / max(pkts, 1), fn[:110]))
EOF
    ;;
esac
echo "raw data in $out"
