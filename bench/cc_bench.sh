#!/bin/bash
# Picture quality on a shaped link and subscribe -> first frame: Switchboard vs Debian's
# janus, headless Chromium with janus.js on both (issue 14's benchmark).
#
#   bench/cc_bench.sh [BUILD_DIR] [--duration 60] [--subscribes 20] [--limit 400]
#                     [--cases "auto pin0"] [--repeat 1] [--no-janus] [--server-bin PATH]
#                     [--out DIR] [--results FILE] [--label TEXT]
#
# Each run (bench/cc_run.py) is a fresh network namespace with the topology of
# tests/integration/lib/cclab.py: the server in it, a Chromium simulcast publisher (fake
# camera 1280x720, janus.js's three layers) on a clean veth, a Chromium subscriber page on
# another veth whose server end is shaped with tc tbf. A run: the publisher ramps 8 s;
# --subscribes times a subscriber joins on the unshaped link (time to its first decoded
# frame), then leaves; then per case the link is limited to --limit kbit/s and one
# subscriber joins and is watched for --duration s from its first frame ("auto": no layer
# asked; "pin0": substream 0 asked, the layer that fits, as a control).
# The reference has no automatic layer choice: its "auto" subscriber gets the top layer.
# Servers alternate per repetition. bench/cc_report.py makes the table; it is printed and
# written to --results (default bench/results/cc.txt). Needs root, chromium, node with
# playwright-core (tests/integration/node_modules), tc, nft; janus for the reference.
# --server-bin: a Switchboard other than BUILD_DIR's (its folder must hold plugins/);
# --label: what it is, for the report (default: the tree's commit, and whether src/ or
# plugins/ have uncommitted changes, or the --server-bin path).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=$top/build
duration=60
subscribes=20
limit=400
cases="auto pin0"
repeat=1
janus=1
server_bin=""
out=""
results=$here/results/cc.txt
label=""
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) duration="$2"; shift ;;
    --subscribes) subscribes="$2"; shift ;;
    --limit) limit="$2"; shift ;;
    --cases) cases="$2"; shift ;;
    --repeat) repeat="$2"; shift ;;
    --no-janus) janus=0 ;;
    --server-bin) server_bin="$2"; shift ;;
    --out) out="$2"; shift ;;
    --results) results="$2"; shift ;;
    --label) label="$2"; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "no build folder" >&2; exit 2; }
if [ -n "$server_bin" ]; then
    [ -n "$label" ] || label="$server_bin"
else
    server_bin=$build/switchboard
fi
[ -x "$server_bin" ] || { echo "missing $server_bin (run make)" >&2; exit 2; }
if [ "$janus" = 1 ] && ! command -v janus >/dev/null; then
    echo "janus not installed (apt-get install janus), running Switchboard only" >&2
    janus=0
fi
[ -n "$out" ] || out=/tmp/sb-cc-bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)
netns=(unshare --net --)
[ "$(id -u)" = 0 ] || netns=(unshare --user --map-root-user --net --)

servers=switchboard
[ "$janus" = 1 ] && servers="switchboard janus"
echo "results in $out"
{ echo "started $(date -Is)"; uptime; } > "$out/conditions.txt"
for rep in $(seq "$repeat"); do
    for server in $servers; do
        tag=$server@$rep
        printf '%-16s load %-5s ' "$tag" "$(cut -d' ' -f1 /proc/loadavg)"
        "${netns[@]}" bash -c 'ip link set lo up && exec "$@"' _ \
            timeout -k 10 900 nice "$python" "$here/cc_run.py" --server "$server" \
            --daemon "$server_bin" --out "$out/$tag.json" --subscribes "$subscribes" \
            --duration "$duration" --limit "$limit" --cases "$cases" \
            </dev/null >"$out/$tag.log" 2>&1
        echo "rc=$? $(tail -1 "$out/$tag.log")"
    done
done
{ echo "ended $(date -Is)"; uptime; } >> "$out/conditions.txt"
if [ -z "$label" ]; then
    label="$build, tree at $(git -C "$top" log -1 --format='%h %s' 2>/dev/null | cut -c1-60)"
    if [ -n "$(git -C "$top" status --porcelain -- src plugins 2>/dev/null)" ]; then
        label="$label (+ uncommitted changes in src/ or plugins/)"
    fi
fi
mkdir -p "$(dirname "$results")"
"$python" "$here/cc_report.py" "$out" --label "$label" | tee "$results"
