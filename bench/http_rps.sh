#!/usr/bin/env bash
# HTTP API throughput: requests/s of POST create + POST destroy (alternating, each destroy
# naming the session the previous create returned), measured with wrk against
# <builddir>/switchboard inside a private network namespace (loopback only).
#
#   bench/http_rps.sh <builddir> [seconds=10] [connections=8] [wrk-threads=1]
#   SB_BENCH_TLS=1 bench/http_rps.sh ...   the same over HTTPS (a self-signed certificate
#                                          made for the run; wrk keeps connections alive)
#
# Needs root (unshare) and wrk (apt-get install wrk). Prints wrk's report, then
# "http_rps: N requests/s". The machine is shared: quote the median of a few runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ ! -x "$1/switchboard" ]; then
    echo "usage: $0 <builddir> [seconds] [connections] [wrk-threads]" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
secs=${2:-10}
conns=${3:-8}
threads=${4:-1}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 2; }

if [ "$(id -u)" = 0 ]; then netns=(unshare --net --); else
    netns=(unshare --user --map-root-user --net --); fi

exec "${netns[@]}" bash -s "$builddir" "$secs" "$conns" "$threads" "$here/http_rps.lua" \
    "${SB_BENCH_TLS:-0}" <<'INNER'
set -eu
builddir=$1 secs=$2 conns=$3 threads=$4 lua=$5 tls=$6
ip link set lo up
port=18089
log=$(mktemp)
tmp=$(mktemp -d)
scheme=http
args=(--port $port)
if [ "$tls" = 1 ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    scheme=https
    args=(--http false --port 18088 --https-port $port --wss-port 0
          --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem")
fi
# Builds with a drain stop at once on SIGTERM only when told (older ones lack the flag).
"$builddir/switchboard" --help | grep -q -- --drain-timeout && args+=(--drain-timeout 0)
"$builddir/switchboard" "${args[@]}" --bind 127.0.0.1 \
    --https-bind 127.0.0.1 --ws false --html-folder "" --plugins-folder "$builddir/plugins" --log-level warn >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$log" "$tmp"' EXIT
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
done
out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$lua" \
      "$scheme://127.0.0.1:$port/janus" </dev/null)
echo "$out"
rps=$(echo "$out" | awk '/^RPS /{print $2}')
echo "http_rps: $rps requests/s ($scheme, create+destroy, $conns connections, ${secs}s)"
INNER
