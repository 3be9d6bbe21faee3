#!/usr/bin/env bash
# Every test suite: set up and build (plain and sanitizer builds), unit tests and fuzz
# corpora (make check), then the integration tests with real clients, in both builds.
# The last line is the total: "N passed, M failed"; the exit status is non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }
"$top/scripts/setup.sh" --sanitizers || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
count_check() { # count automake test results of one build dir
  local log="$1/test-suite.log" p f e
  p=$(sed -n 's/^# PASS: *//p' "$log" 2>/dev/null | head -1)
  f=$(sed -n 's/^# FAIL: *//p' "$log" 2>/dev/null | head -1)
  e=$(sed -n 's/^# ERROR: *//p' "$log" 2>/dev/null | head -1)
  [ -n "$p" ] || { f=1; e=0; } # no log at all: the build itself failed
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
}
for b in build build-asan; do
  echo "== unit tests and fuzz corpora ($b)"
  make -s -C "$b" -j"$(nproc)" check >/dev/null 2>&1
  grep -E '^(FAIL|ERROR):' "$b/test-suite.log" || true
  count_check "$b"
done
if [ -x tests/integration/run.sh ]; then
  for b in build build-asan; do
    echo "== integration ($b)"
    out=$(tests/integration/run.sh "$top/$b" </dev/null 2>&1)
    echo "$out" >"$b/integration.log" # whole, with each suite's notes and time
    # Every result line; under a failure, its detail lines ('#   ...', at most 40), so a CI
    # log says why a case failed, not only that it did.
    echo "$out" | awk '/^(not ok|ok) /{detail = /^not ok /; shown = 0; print "  " $0; next}
                       detail && /^#   / && shown < 40 {shown++; print "  " $0}'
    p=$(echo "$out" | grep -c '^ok ')
    f=$(echo "$out" | grep -c '^not ok ')
    if ! echo "$out" | grep -q '^integration: '; then
      echo "$out" | tail -20
      f=$((f + 1))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
  done
fi
# The Debian packages (tests/package/run.sh): switchboard and switchboard-dev built from a
# release tree of the plain build, linted, installed, the daemon started as the switchboard
# user, the SDK's example built as an author would and recording through it, purged (~2 minutes).
if [ -x tests/package/run.sh ]; then
  echo "== package (build)"
  out=$(tests/package/run.sh "$top/build" </dev/null 2>&1)
  echo "$out" >build/package.log
  echo "$out" | awk '/^(not ok|ok) /{detail = /^not ok /; shown = 0; print "  " $0; next}
                     detail && /^#   / && shown < 40 {shown++; print "  " $0}
                     /^# (skip|note)/ {print "  " $0}'
  p=$(echo "$out" | grep -c '^ok ')
  f=$(echo "$out" | grep -c '^not ok ')
  if ! echo "$out" | grep -q '^package: '; then
    echo "$out" | tail -20
    f=$((f + 1))
  fi
  passed=$((passed + p))
  failed=$((failed + f))
fi
# Soak, short: 3 minutes of VideoRoom churn against the sanitizer build (tests/soak/README.md);
# one counted step: the server must not grow, leak fds or threads, or report anything.
if [ -x tests/soak/soak.py ] && [ -x build-asan/switchboard ]; then
  echo "== soak (build-asan, 3 minutes)"
  python=/usr/bin/python3
  [ -x "$python" ] || python=$(command -v python3)
  out=$("$python" tests/soak/soak.py "$top/build-asan" --minutes 3 --warmup 1 </dev/null 2>&1)
  rc=$?
  echo "$out" | grep -E '^(# |ok |not ok )' | sed 's/^/  /' | head -80
  if [ "$rc" -eq 0 ]; then
    echo "  ok - soak (build-asan, 3 minutes)"
    passed=$((passed + 1))
  else
    echo "$out" | grep -E '^#   ' | head -40 | sed 's/^/  /'
    echo "  not ok - soak (build-asan, 3 minutes): exit $rc"
    failed=$((failed + 1))
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
