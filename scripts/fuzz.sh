#!/usr/bin/env bash
# Builds every libFuzzer target with clang (-fsanitize=fuzzer,address,undefined) in build-fuzz/
# and runs each one for MINUTES minutes, one after the other (never two at once), over a copy
# of its committed corpus (tests/fuzz/corpus/<name>), with tests/fuzz/<name>.dict when there is
# one. Prints per target: executions, exec/s, new corpus entries, findings (crash, leak,
# timeout and out-of-memory files).
#   scripts/fuzz.sh [MINUTES] [TARGET...]     (default: 10 minutes, every target)
#   FUZZ_NICE=10 (default) nice level; FUZZ_JOBS build parallelism (default 2);
#   FUZZ_OUT=dir where copies of the corpora and findings go (default build-fuzz/runs/<time>)
# New corpus entries stay in the run's copy: merge the useful ones back by hand
# (fuzzer -merge=1 tests/fuzz/corpus/<name> <copy>). Exit status: 0 when no target found
# anything, 1 on any finding, 2 when the build fails.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

minutes=10
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  minutes=$1
  shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c | sed 's/^fuzz_//')"); done
fi
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "fuzz: no target '$t' (tests/fuzz/fuzz_$t.c)"; exit 2; }
done
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
nice_level=${FUZZ_NICE:-10}
build=build-fuzz

# ---- build -------------------------------------------------------------------------------
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null || exit 2
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
  (cd "$build" && ../configure -q CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" \
    --enable-sanitizers --enable-fuzzers) || { echo "fuzz: configure failed"; exit 2; }
fi
# Only targets with a libFuzzer build rule (tests/module.am, ENABLE_FUZZERS) can be built.
make -s -C "$build" Makefile >/dev/null 2>&1 # regenerated first if a module.am changed
bins=()
runnable=()
for t in "${targets[@]}"; do
  if grep -q "^tests_fuzz_fuzz_${t}_SOURCES" "$build/Makefile"; then
    bins+=("tests/fuzz/fuzz_$t")
    runnable+=("$t")
  else
    echo "fuzz: skipping $t (no libFuzzer build rule in tests/module.am)"
  fi
done
[ ${#runnable[@]} -gt 0 ] || { echo "fuzz: nothing to build"; exit 2; }
targets=("${runnable[@]}")
if ! nice -n "$nice_level" make -s -C "$build" -j"${FUZZ_JOBS:-2}" "${bins[@]}" >"$build/fuzz-build.log" 2>&1; then
  tail -30 "$build/fuzz-build.log"
  echo "fuzz: build failed (see $build/fuzz-build.log)"
  exit 2
fi

# ---- run -----------------------------------------------------------------------------------
out=${FUZZ_OUT:-$build/runs/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
total_findings=0
printf '%-6s %8s %14s %10s %12s %9s\n' target minutes executions exec/s new-entries findings
for t in "${targets[@]}"; do
  corpus="$out/$t/corpus"
  findings="$out/$t/findings"
  mkdir -p "$corpus" "$findings"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$corpus/"
  before=$(find "$corpus" -type f | wc -l)
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$findings/"
        -timeout=30 -rss_limit_mb=4096)
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  # -fork=1 keeps going after a finding (each one saved), so a run always lasts MINUTES.
  nice -n "$nice_level" "$build/tests/fuzz/fuzz_$t" "${args[@]}" -fork=1 -ignore_crashes=1 \
    -ignore_timeouts=1 -ignore_ooms=1 "$corpus" >"$out/$t/log" 2>&1
  # Executions: the fork mode's last status line ("#N ... exec/s: E"), else the final stats.
  execs=$(grep -oE '^#[0-9]+' "$out/$t/log" | tail -1 | tr -d '#')
  [ -n "$execs" ] || execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t/log" | tail -1)
  execs=${execs:-0}
  after=$(find "$corpus" -type f | wc -l)
  found=$(find "$findings" -type f | wc -l)
  rate=$(awk -v e="$execs" -v s="$seconds" 'BEGIN { printf "%d", (s > 0 ? e / s : 0) }')
  printf '%-6s %8s %14s %10s %12s %9s\n' "$t" "$minutes" "$execs" "$rate" \
    "$((after - before))" "$found"
  if [ "$found" -gt 0 ]; then
    find "$findings" -type f | sed 's/^/    /'
    total_findings=$((total_findings + found))
  fi
done
echo "fuzz: logs, corpora and findings in $out"
[ "$total_findings" -eq 0 ] || exit 1
exit 0
