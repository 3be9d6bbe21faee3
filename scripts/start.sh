#!/usr/bin/env bash
# Quick start: set up, build, and run Switchboard with the web app on embedded defaults.
# Extra arguments go to the daemon (try --help).
#
# Browsers grant the camera only to secure origins, so unless --tls-cert is given, HTTPS
# (8089) and WSS (8989) run with a self-signed certificate made once and kept in
# build/tls/ (made again only when it is about to expire): open the HTTPS address from
# another machine on the LAN and accept the browser's warning.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"

tls=()
case " $* " in
*" --tls-cert "*) ;;
*)
  dir="$top/build/tls"
  cert="$dir/selfsigned.pem" key="$dir/selfsigned.key"
  if ! [ -s "$key" ] || ! openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
    mkdir -p "$dir"
    host=$(hostname)
    alt="DNS:localhost,DNS:$host,IP:127.0.0.1,IP:::1"
    for a in $(hostname -I 2>/dev/null); do alt="$alt,IP:$a"; done
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
      -subj "/CN=$host" -addext "subjectAltName=$alt" -keyout "$key" -out "$cert" 2>/dev/null
    chmod 600 "$key"
    echo "Switchboard: made a self-signed certificate for $alt in $dir"
  fi
  tls=(--tls-cert "$cert" --tls-key "$key")
  ;;
esac

echo "Switchboard: open http://localhost:8088/ (API at http://localhost:8088/janus, WebSocket on 8188)"
for a in $(hostname -I 2>/dev/null); do
  case "$a" in *:*) a="[$a]" ;; esac
  echo "Switchboard: from another machine: https://$a:8089/ (WSS on 8989)"
done
exec "$top/build/switchboard" "${tls[@]}" "$@"
