#!/bin/bash
# The estimator's share of the server's CPU per forwarded packet (issue 14's target: <= 0.2 us
# per forwarded packet at fanout 50), from perf profiles of a fan-out with transport-wide CC
# feedback (see bench/README.md).
#
#   bench/cc_estimator_perf.sh [BUILD_DIR] [--runs 5] [--subscribers 50]
#
# Each run is bench/profile.sh --tool perf (1 publisher, 1.5 Mbit/s VP8 + Opus, to N
# sb-loadgen subscribers that send transport-cc feedback every 50 ms, as Chromium does). "The
# estimator" is the self time of what handles that feedback once it is decrypted: the match to
# what was sent (sb_twcc_send_on_feedback, sb_rtcp_twcc_decode), the estimator itself
# (sb_bwe_*), the core's part (sb_peer_cc_on_feedback, sb_peer_cc_tick) and the VideoRoom's
# layer choice on each estimate (sb_vr_alloc_*). Not in it: our transport sequence number on
# each packet sent (sb_twcc_send_next, sb_peer_cc_stamp) and the feedback's transport (its
# datagrams, SRTCP), which bench/cc_cost.sh measures with everything else. Prints each run and
# the median; a shared machine moves single runs by +-25 %.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
runs=5
subs=50
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs="$2"; shift ;;
    --subscribers) subs="$2"; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build="$1" ;;
    esac
    shift
done
pattern='\] sb_(bwe_|twcc_send_on_feedback|rtcp_twcc_decode|vr_alloc_on_estimate|vr_alloc_can_probe|vr_alloc_fit|peer_cc_on_feedback|peer_cc_tick)'
results=()
for i in $(seq 1 "$runs"); do
    out=$(mktemp -d /tmp/sb-ccest-XXXXXX)
    log="$out/profile.log"
    "$here/profile.sh" "$build" --tool perf --subscribers "$subs" --seconds 10 --out "$out" \
        -- --video-kbps 1500 >"$log" 2>&1
    total=$(sed -n 's/.*= \([0-9.]*\) us per forwarded packet.*/\1/p' "$log")
    share=$(perf report -i "$out/perf.data" --no-children --sort sym --stdio 2>/dev/null |
        grep -E "$pattern" | awk '{gsub("%", "", $1); s += $1} END {printf "%.2f", s}')
    if [ -z "$total" ] || [ -z "$share" ]; then
        echo "run $i: no profile (see $log)"
        continue
    fi
    us=$(awk -v s="$share" -v t="$total" 'BEGIN {printf "%.3f", s * t / 100}')
    echo "run $i: server $total us per forwarded packet, estimator $share % = $us us"
    results+=("$us")
    rm -rf "$out"
done
[ ${#results[@]} -gt 0 ] || exit 1
printf '%s\n' "${results[@]}" | sort -n |
    awk '{v[NR] = $1} END {printf "median of %d runs: %.3f us per forwarded packet (min %.3f, max %.3f)\n", NR, v[int((NR + 1) / 2)], v[1], v[NR]}'
