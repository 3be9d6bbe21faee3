#!/bin/bash
# Where does Switchboard spend its time per forwarded packet? See bench/README.md.
#
#   bench/profile.sh [BUILD_DIR] [--tool perf|syscalls|callgrind|heaptrack] [--subscribers N] [--seconds S]
#                    [--srtp gcm|cm] [--stages] [--out DIR] [-- extra sb-loadgen options]
#
# Runs Switchboard and sb-loadgen (fanout, 1 publisher -> N subscribers, default 50) in a
# private network namespace; once the load is steady, profiles the server for S seconds:
#  - perf: `perf record -e cpu-clock` (this machine has no hardware counters), flat profile by
#    symbol, server threads only; µs per forwarded packet per symbol;
#  - syscalls: `perf stat` of the server's system calls (tracepoints): all of them and the
#    wake-up and packet ones by name (epoll_wait, poll, recvmsg/recvmmsg, sendto/sendmmsg,
#    read/write of eventfds), per forwarded packet;
#  - callgrind: the server runs under valgrind with instrumentation off until the load is
#    steady, then on for S seconds; instructions per forwarded packet per function (repeatable
#    whatever else the machine does). Under valgrind the server is ~50x slower: keep N small.
#    --stages: record call graphs (dwarf) too and charge each sample to its innermost sb_*
#    function (bench/perf_stages.py: UDP send, DTLS, usrsctp, ...), in microseconds of the
#    server's CPU per forwarded packet, per received message in a data run
#    (-- --scenario game) or per MB echoed (-- --scenario echo-data --subscribers 1).
#  - heaptrack: the server runs under heaptrack (apt-get install heaptrack); at the end, the
#    heap at its peak (all peers up) split by who allocated it: Switchboard's own code, or
#    libnice, OpenSSL, libsrtp2/NSS, GLib and the rest themselves; bytes per PeerConnection.
# Packets forwarded in the profiled interval = the subscribers' receive rate (steady) x S.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=./build
tool=perf
subs=50
secs=10
srtp=gcm
stages=0
out=""
extra=()
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
    --tool) tool="$2"; shift ;;
    --subscribers) subs="$2"; shift ;;
    --seconds) secs="$2"; shift ;;
    --srtp) srtp="$2"; shift ;;
    --stages) stages=1 ;;
    --out) out="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
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

cmd=("$build/switchboard" --port 18088 --bind 127.0.0.1 --html-folder ""
     --plugins-folder "$build/plugins" --configs-folder "$conf" --log-level warn --ws false)
# Builds with a drain stop at once on SIGTERM only when told (older ones lack the flag).
"$build/switchboard" --help | grep -q -- --drain-timeout && cmd+=(--drain-timeout 0)
case "$tool" in
perf|syscalls) "${cmd[@]}" >"$out/server.log" 2>&1 & ;;
callgrind)
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out" \
        "${cmd[@]}" >"$out/server.log" 2>&1 & ;;
heaptrack)
    command -v heaptrack >/dev/null || { echo "apt-get install heaptrack" >&2; exit 2; }
    heaptrack -o "$out/heaptrack" "${cmd[@]}" >"$out/server.log" 2>&1 & ;;
*) echo "--tool perf, syscalls, callgrind or heaptrack" >&2; exit 2 ;;
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
    if [ "$stages" = 1 ]; then
        perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -p "$server_pid" \
            -o "$out/perf.data" -- sleep "$secs" >"$out/perf-record.log" 2>&1
    else
        perf record -e cpu-clock -F 4999 -p "$server_pid" -o "$out/perf.data" -- sleep "$secs" \
            >"$out/perf-record.log" 2>&1
    fi ;;
syscalls)
    # In-kernel tracepoint counts (no per-call tracing): every system call the server's
    # threads made, and the ones a wake-up and a packet cost by name.
    perf stat -x, -e raw_syscalls:sys_enter -e 'syscalls:sys_enter_epoll_wait' \
        -e 'syscalls:sys_enter_poll' -e 'syscalls:sys_enter_ppoll' \
        -e 'syscalls:sys_enter_recvmsg' -e 'syscalls:sys_enter_recvmmsg' \
        -e 'syscalls:sys_enter_recvfrom' -e 'syscalls:sys_enter_sendto' \
        -e 'syscalls:sys_enter_sendmsg' -e 'syscalls:sys_enter_sendmmsg' \
        -e 'syscalls:sys_enter_read' -e 'syscalls:sys_enter_write' \
        -p "$server_pid" -o "$out/perf-stat.csv" -- sleep "$secs" >/dev/null 2>&1 ;;
callgrind)
    callgrind_control -i on "$server_pid" >/dev/null
    sleep "$secs"
    callgrind_control -i off "$server_pid" >/dev/null
    callgrind_control -d "$server_pid" >/dev/null ;;
heaptrack)
    # The library of a frame without a symbol is found from the server's mappings.
    sb_pid=$(pgrep -x -P "$server_pid" switchboard | head -1)
    [ -n "$sb_pid" ] && cp "/proc/$sb_pid/maps" "$out/maps.txt"
    sleep "$secs" ;;
esac
wait "$lg_pid"
lg_pid=""
if [ "$tool" = heaptrack ]; then
    # heaptrack runs the server as its child: stop the server itself, then let heaptrack
    # finish. heaptrack's preload can deadlock a thread at exit (its malloc hook takes the
    # loader lock): give up on the server after 20 s, the peak is in the data already.
    pkill -TERM -x -P "$server_pid" switchboard 2>/dev/null || kill "$server_pid"
    for _ in $(seq 200); do pgrep -x -P "$server_pid" switchboard >/dev/null || break; sleep 0.1; done
    pkill -KILL -x -P "$server_pid" switchboard 2>/dev/null
else
    kill "$server_pid"
fi
wait "$server_pid"; server_pid=""
rate=$(/usr/bin/python3 -c "import json;print(json.load(open('$out/loadgen.json'))['window']['received_per_s'])")
pkts=$(/usr/bin/python3 -c "print(int($rate * $secs))")
echo "forwarded packets in the profiled interval: ~$pkts ($rate/s)"
case "$tool" in
syscalls)
    echo "== system calls per forwarded packet (${secs} s, $pkts packets)"
    /usr/bin/python3 - "$out/perf-stat.csv" "$pkts" <<'PY'
import sys
rows = [l.split(",") for l in open(sys.argv[1]) if l[:1].isdigit()]
for r in rows:
    n, name = int(r[0]), r[2].split(":")[-1].replace("sys_enter_", "")
    print("%-16s %10d  %6.3f per packet" % ("all" if name == "sys_enter" else name, n,
                                             n / float(sys.argv[2])))
PY
    ;;
perf)
    perf report -i "$out/perf.data" --stdio --no-children -n --sort comm,dso,symbol \
        >"$out/perf-report.txt" 2>/dev/null
    hz=4999
    [ "$stages" = 1 ] && hz=1999
    /usr/bin/python3 "$here/profile_report.py" perf "$out/perf-report.txt" "$pkts" "$hz"
    if [ "$stages" = 1 ]; then
        # The server's CPU per unit over the loadgen's window: per MB echoed (echo-data), per
        # received message (other data runs) or per forwarded packet.
        read -r unit what < <(/usr/bin/python3 -c "
import json; d = json.load(open('$out/loadgen.json')); sp = d['server_process']
if d['scenario'] == 'echo-data': print(sp['cpu_us_per_mb'], 'MB echoed')
elif sp.get('cpu_us_per_msg'): print(sp['cpu_us_per_msg'], 'received message')
else: print(sp['cpu_us_per_pkt'], 'forwarded packet')")
        perf script -i "$out/perf.data" -F comm,tid,ip,sym,dso >"$out/perf-script.txt" 2>/dev/null
        echo "== by innermost sb_* function: us of server CPU per $what ($unit in the window)"
        /usr/bin/python3 "$here/perf_stages.py" "$out/perf-script.txt" 25 "$unit"
    fi ;;
callgrind)
    # The dump taken at the end of the interval (callgrind.out.1); callgrind.out is the empty
    # one written at exit, with instrumentation off.
    cg=$(ls "$out"/callgrind.out.* | head -1)
    callgrind_annotate --inclusive=no "$cg" >"$out/callgrind-self.txt" 2>/dev/null
    callgrind_annotate --inclusive=yes "$cg" >"$out/callgrind-incl.txt" 2>/dev/null
    echo "== self"
    /usr/bin/python3 "$here/profile_report.py" callgrind "$out/callgrind-self.txt" "$pkts"
    echo "== inclusive"
    /usr/bin/python3 "$here/profile_report.py" callgrind "$out/callgrind-incl.txt" "$pkts" ;;
heaptrack)
    heaptrack_print -f "$out"/heaptrack*.zst --flamegraph-cost-type peak \
        -F "$out/peak-stacks.txt" >"$out/heaptrack-print.txt" 2>&1
    pcs=$(/usr/bin/python3 -c "import json;print(json.load(open('$out/loadgen.json'))['peerconnections']['up'])" 2>/dev/null || echo $((subs + 1)))
    /usr/bin/python3 "$here/memory_report.py" "$out/peak-stacks.txt" "$pcs" "$out/maps.txt" ;;
esac
echo "raw data in $out"
