#!/usr/bin/env bash
# Quick start: set up, build, and run Switchboard with the web app on embedded defaults.
# Extra arguments go to the daemon (try --help).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
echo "Switchboard: open http://localhost:8088/ (API at http://localhost:8088/janus, WebSocket on 8188)"
exec "$top/build/switchboard" "$@"
