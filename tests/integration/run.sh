#!/usr/bin/env bash
# Integration tests of the core server: runs every tests/integration/test_*.py against
# <builddir>/switchboard, each in its own network namespace (loopback only), and prints
# TAP-style lines, then "integration: N passed, M failed". Exits non-zero on any failure.
#
#   tests/integration/run.sh <builddir> [name-filter ...]
#
# Needs root (or unprivileged user namespaces) for unshare, Python 3 at /usr/bin/python3,
# node, chromium, and the npm packages of package.json (installed here with `npm ci` when
# node_modules is missing). A builddir configured with --enable-sanitizers is detected:
# the server's sanitizer logs must then stay empty (tests/lsan.supp is used if present).
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ ! -x "$1/switchboard" ]; then
    echo "usage: $0 <builddir> [name-filter ...]  (<builddir>/switchboard must exist)" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
shift
filters=("$@")

python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

if grep -q '^SANITIZER_FLAGS = .*-fsanitize' "$builddir/Makefile" 2>/dev/null; then
    export SB_TEST_SANITIZED=1
    export SB_TEST_STOP_GRACE=${SB_TEST_STOP_GRACE:-15}
    echo "# sanitizer build: server sanitizer logs must stay empty"
fi

# npm packages for the node-driven tests (janode, playwright-core, ws).
if [ ! -d "$here/node_modules" ]; then
    echo "# installing npm packages (npm ci)"
    if ! (cd "$here" && npm_config_nodedir=/usr npm ci --no-audit --no-fund </dev/null \
            >"${TMPDIR:-/tmp}/sb-integration-npm.log" 2>&1); then
        echo "# npm ci failed: see ${TMPDIR:-/tmp}/sb-integration-npm.log"
        sed 's/^/#   /' "${TMPDIR:-/tmp}/sb-integration-npm.log" | tail -20
    fi
fi

# A private network namespace per test: root can unshare directly; others need a user
# namespace mapped to root.
if [ "$(id -u)" = 0 ]; then
    netns=(unshare --net --)
else
    netns=(unshare --user --map-root-user --net --)
fi

per_test_timeout=${SB_TEST_TIMEOUT:-300}
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$here"/test_*.py "$here"/videoroom/test_*.py; do
    name=$(basename "$t" .py)
    name=${name#test_}
    arg=$builddir
    case "$t" in
    */videoroom/*) # the VideoRoom suite takes the daemon itself
        name=videoroom-$name
        arg=$builddir/switchboard ;;
    esac
    if [ ${#filters[@]} -gt 0 ]; then
        match=0
        for f in "${filters[@]}"; do
            case "$name" in *"$f"*) match=1 ;; esac
        done
        [ $match = 1 ] || continue
    fi
    echo "# $name"
    t0=$(date +%s)
    SB_VR_NETNS=1 "${netns[@]}" bash -c 'ip link set lo up && exec timeout -k 10 "$0" "$1" "$2" "$3"' \
        "$per_test_timeout" "$python" "$t" "$arg" </dev/null 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    echo "# $name: $(($(date +%s) - t0)) s"
    p=$(grep -c '^ok - ' "$out")
    f=$(grep -c '^not ok - ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        if [ "$rc" -eq 124 ]; then
            echo "not ok - $name: timed out after ${per_test_timeout}s"
        else
            echo "not ok - $name: test script exited with status $rc"
        fi
        f=1
    fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then
        echo "not ok - $name: ran no test case"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
