#!/usr/bin/env bash
# Install what a fresh Debian 12 machine is missing, then build Switchboard out of tree.
#   scripts/setup.sh [--sanitizers]   → build/ (or build-asan/ with --sanitizers)
# Idempotent: packages already present are skipped, an existing build is updated.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages=(
  build-essential autoconf automake pkg-config clang
  libglib2.0-dev libnice-dev libssl-dev libsrtp2-dev libjansson-dev libmicrohttpd-dev
  libconfig-dev libcurl4-openssl-dev libcmocka-dev libgnutls28-dev openssl libusrsctp-dev
  python3 python3-aiortc python3-matplotlib chromium libjs-janus-gateway libjs-webrtc-adapter
  python3-prometheus-client janus janus-doc iproute2 util-linux curl wrk valgrind gdb coturn
  nftables debhelper lintian man-db haproxy redis-server libhiredis-dev
)
# Node.js: keep the machine's own (nodesource node 20 ships npm); else Debian's.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  # Tests start their own turnserver, haproxy and redis-server in namespaces: Debian's
  # services would start at install (coturn's listening on every address; /etc/default/coturn
  # only gates the SysV script). Mask them first: an admin's mask survives the postinst.
  if [ -d /run/systemd/system ]; then
    for svc in coturn haproxy redis-server; do
      if [[ " ${missing[*]} " == *" $svc "* ]]; then
        $sudo_cmd systemctl mask "$svc.service" >/dev/null
      fi
    done
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build=build
flags=()
if [ "${1:-}" = "--sanitizers" ]; then
  build=build-asan
  flags=(--enable-sanitizers)
fi
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
  (cd "$build" && ../configure -q "${flags[@]}")
fi
make -s -C "$build" -j"$(nproc)" >/dev/null

# The web app, served at / by the daemon.
if [ -f html/package.json ]; then
  (cd html && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run -s build)
fi
echo "setup: built $build/switchboard"
