#!/usr/bin/env bash
# The Debian package, end to end: a release tree of this checkout (`make distdir` from
# <builddir>, the same files as `make dist`, so a file missing from the tarball fails here),
# built with `dpkg-buildpackage -b` in a temporary folder (the working tree is left as it
# is), checked with lintian (no errors), installed with dpkg, checked (user, files, conffiles,
# unit, man page), its daemon started as the switchboard user with the installed
# configuration in a private network namespace and asked for `info` and the web app, then
# purged. Prints TAP-style lines, then "package: N passed, M failed"; exits non-zero on any
# failure.
#
#   tests/package/run.sh <builddir>
#
# Needs root (dpkg -i, a network namespace): not root, it skips with a line saying so. It
# installs on this machine: CI runs it on a throwaway one; elsewhere it refuses to run over a
# switchboard package that is already installed. Under systemd as PID 1, the unit itself is
# started too; otherwise that part is skipped with a note. Takes ~1 minute (the package build;
# DEB_BUILD_OPTIONS=nocheck: the unit tests run in their own step).
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ ! -f "$1/Makefile" ]; then
    echo "usage: $0 <builddir>  (a configured build tree of this checkout)" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$here/../.." && pwd)

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { # name, then detail lines
    echo "not ok - $1"
    shift
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/#   /'; done
    failed=$((failed + 1))
}
check() { # name, command...: ok when the command succeeds, its output as the detail
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
finish() {
    echo "package: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ "$(id -u)" -ne 0 ]; then
    echo "# skip: not root (the test installs the package with dpkg and uses a network namespace)"
    finish
fi
for tool in dpkg-buildpackage lintian dh unshare setpriv curl; do
    command -v "$tool" >/dev/null || not_ok "tool $tool present" "missing: scripts/setup.sh installs it"
done
[ "$failed" -eq 0 ] || finish
if dpkg-query -W -f='${Status}' switchboard 2>/dev/null | grep -q 'ok installed'; then
    not_ok "no switchboard package installed before the test" \
        "this test installs and purges its own: remove that one first (dpkg --purge switchboard)"
    finish
fi
if [ ! -f "$srcdir/html/dist/index.html" ]; then
    not_ok "web app built" "no html/dist: build it first (cd html && npm ci && npm run build; scripts/setup.sh does)"
    finish
fi

tmp=$(mktemp -d /tmp/sb-package.XXXXXX)
user_before=0
getent passwd switchboard >/dev/null && user_before=1
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
    if dpkg-query -W -f='${Status}' switchboard 2>/dev/null | grep -q 'installed'; then
        dpkg --purge switchboard >/dev/null 2>&1
    fi
    # Debian keeps system users on purge; a user this test made goes with it.
    [ "$user_before" = 0 ] && getent passwd switchboard >/dev/null && deluser --system switchboard >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- build
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
tree=$tmp/switchboard-$version
t0=$(date +%s)
if ! out=$(make -s -C "$builddir" distdir distdir="$tree" top_distdir="$tree" 2>&1); then
    not_ok "release tree (make distdir)" "$(echo "$out" | tail -20)"
    finish
fi
ok "release tree (make distdir)"
# nocheck (the option and the profile): make check has its own step in scripts/test.sh.
if ! (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
        nice -n 10 dpkg-buildpackage -b -uc -us >"$tmp/build.log" 2>&1); then
    not_ok "dpkg-buildpackage -b -uc -us" "$(tail -30 "$tmp/build.log")"
    finish
fi
deb=$(ls "$tmp"/switchboard_"$version"_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
    not_ok "dpkg-buildpackage -b -uc -us" "no .deb in $tmp: $(ls "$tmp")"
    finish
fi
ok "dpkg-buildpackage -b -uc -us ($(($(date +%s) - t0)) s)"

# ---- lintian: no errors; warnings are listed, not counted
lint=$(lintian --no-tag-display-limit "$deb" 2>&1)
echo "$lint" | grep -E '^[WIP]: ' | sed 's/^/# lintian: /'
if echo "$lint" | grep -q '^E: '; then
    not_ok "lintian: no errors" "$(echo "$lint" | grep '^E: ')"
else
    ok "lintian: no errors"
fi

# ---- install
if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1); then
    not_ok "dpkg -i" "$out"
    finish
fi
ok "dpkg -i"

user_ok() {
    local entry shell uid
    entry=$(getent passwd switchboard) || { echo "no switchboard user"; return 1; }
    uid=$(echo "$entry" | cut -d: -f3)
    shell=$(echo "$entry" | cut -d: -f7)
    [ "$uid" -lt 1000 ] || { echo "not a system user: $entry"; return 1; }
    case "$shell" in */nologin | */false) ;; *) echo "login shell $shell: $entry"; return 1 ;; esac
    getent group switchboard >/dev/null || { echo "no switchboard group"; return 1; }
}
check "switchboard system user, no login" user_ok

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
files_ok() {
    local missing=() f
    for f in /usr/bin/switchboard \
        /usr/lib/"$multiarch"/switchboard/plugins/libsb_{echotest,videoroom,textroom,p2pcall}.so \
        /etc/switchboard/{switchboard.conf,janus.plugin.videoroom.conf,janus.plugin.textroom.conf,switchboard.plugin.p2pcall.conf} \
        /usr/share/switchboard/html/index.html /usr/share/man/man8/switchboard.8.gz \
        /lib/systemd/system/switchboard.service /usr/lib/sysusers.d/switchboard.conf \
        /usr/share/doc/switchboard/copyright; do
        [ -e "$f" ] || missing+=("$f")
    done
    [ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
}
check "files in place (daemon, plugins, configs, web app, man page, unit)" files_ok

conffiles_ok() {
    local c f
    c=$(dpkg-query -W -f='${Conffiles}\n' switchboard)
    for f in /etc/switchboard/*.conf; do
        echo "$c" | grep -q " $f " || { echo "$f is not a conffile: $c"; return 1; }
    done
}
check "/etc/switchboard/*.conf are conffiles" conffiles_ok

# dh_installsystemd's postinst enables the unit even without a running systemd.
check "unit enabled (multi-user.target.wants)" \
    test -L /etc/systemd/system/multi-user.target.wants/switchboard.service
unit_ok() {
    local u=/lib/systemd/system/switchboard.service k
    for k in Type=notify User=switchboard NoNewPrivileges=yes ProtectSystem=strict \
        ProtectHome=yes PrivateTmp=yes 'CapabilityBoundingSet=$' \
        'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' Restart=on-failure \
        KillSignal=SIGTERM TimeoutStopSec= \
        'ExecStart=/usr/bin/switchboard --config /etc/switchboard/switchboard.conf'; do
        grep -q "^$k" "$u" || { echo "no $k in $u"; return 1; }
    done
    # Offline: syntax, the binary, the man page of Documentation=.
    systemd-analyze verify "$u"
}
check "unit: readiness, user, hardening; systemd-analyze verify" unit_ok

# Every flag of --help is in the man page (roff writes a hyphen as \-).
man_ok() {
    local page flags f missing=()
    page=$(zcat /usr/share/man/man8/switchboard.8.gz)
    flags=$(/usr/bin/switchboard --help | grep -oE -- '--[a-z0-9-]+' | sort -u)
    for f in $flags; do
        echo "$page" | grep -qF -- "$(echo "$f" | sed 's/-/\\-/g')" || missing+=("$f")
    done
    [ ${#missing[@]} -eq 0 ] || { echo "switchboard(8) lacks ${missing[*]} (docs/switchboard.8.in)"; return 1; }
    man --warnings -l /usr/share/man/man8/switchboard.8.gz 2>&1 >/dev/null | grep . && return 1
    return 0
}
check "switchboard(8) documents every flag of --help, renders without warnings" man_ok

# ---- the installed daemon, as the switchboard user, with the installed configuration, in a
# private network namespace (loopback only: nothing collides with a server outside)
run_installed() {
    local log=$1 notify=@sb-package-test-$$ ready=0 listener=
    # READY=1 is checked once the daemon sends it (main.c calls sb_sd_notify).
    grep -qa 'READY=1' /usr/bin/switchboard && ready=1
    if [ "$ready" = 1 ]; then
        python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
s.settimeout(30)
print(s.recv(4096).decode())' "$notify" >"$tmp/notify.out" 2>&1 &
        listener=$!
        sleep 0.3
    fi
    NOTIFY_SOCKET=$notify setpriv --reuid=switchboard --regid=switchboard --clear-groups \
        --no-new-privs /usr/bin/switchboard --config /etc/switchboard/switchboard.conf \
        >"$log" 2>&1 &
    local pid=$! i info page user
    for i in $(seq 1 100); do
        curl -s -o /dev/null http://127.0.0.1:8088/ && break
        sleep 0.2
    done
    user=$(ps -o uid= -p "$pid" | tr -d ' ')
    info=$(curl -s -m 5 -X POST http://127.0.0.1:8088/janus -d '{"janus":"info","transaction":"pkg"}')
    page=$(curl -s -m 5 http://127.0.0.1:8088/)
    local fails=()
    [ "$user" = "$(id -u switchboard)" ] || fails+=("runs as uid '$user', not switchboard")
    echo "$info" | grep -q '"janus":"server_info"' || fails+=("info answered: $info")
    for p in janus.plugin.echotest janus.plugin.videoroom janus.plugin.textroom switchboard.plugin.p2pcall; do
        echo "$info" | grep -q "\"$p\"" || fails+=("plugin $p not loaded (info: $info)")
    done
    echo "$page" | grep -q '<div id="root">' || fails+=("GET / answered: $(echo "$page" | head -5)")
    if [ "$ready" = 1 ]; then
        wait "$listener"
        grep -q '^READY=1' "$tmp/notify.out" || fails+=("no READY=1 on NOTIFY_SOCKET: $(cat "$tmp/notify.out")")
    else
        echo "# note: the daemon sends no READY=1 yet (main.c), sd_notify not checked"
    fi
    kill -TERM "$pid"
    local rc=0
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        fails+=("still running 20 s after SIGTERM")
        kill -KILL "$pid"
    fi
    wait "$pid"
    rc=$?
    [ "$rc" = 0 ] || fails+=("exit status $rc after SIGTERM")
    if [ ${#fails[@]} -gt 0 ]; then
        printf '%s\n' "${fails[@]}" "log:" && tail -20 "$log"
        return 1
    fi
}
export -f run_installed
export tmp
if out=$(unshare --net -- bash -c 'ip link set lo up && run_installed "$0"' "$tmp/daemon.log" 2>&1); then
    echo "$out" | grep '^# '
    ok "installed daemon as switchboard in a namespace: info (4 plugins), web app at /, exit 0 on SIGTERM"
else
    not_ok "installed daemon as switchboard in a namespace: info (4 plugins), web app at /, exit 0 on SIGTERM" "$out"
fi

# ---- under systemd, the unit itself (the postinst started it)
if [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm=)" = systemd ]; then
    if ! grep -qa 'READY=1' /usr/bin/switchboard; then
        echo "# skip: systemd unit: the daemon sends no READY=1 yet, Type=notify would time out"
    else
        unit_active() {
            systemctl is-active --quiet switchboard || systemctl restart switchboard || return 1
            local i
            for i in $(seq 1 50); do
                curl -s -o /dev/null -X POST http://127.0.0.1:8088/janus \
                    -d '{"janus":"info","transaction":"pkg"}' && break
                sleep 0.2
            done
            curl -s -m 5 -X POST http://127.0.0.1:8088/janus -d '{"janus":"info","transaction":"pkg"}' |
                grep -q '"janus":"server_info"' || { systemctl status switchboard --no-pager; return 1; }
            [ "$(systemctl show -p User --value switchboard)" = switchboard ] || return 1
            systemctl stop switchboard || return 1
            [ "$(systemctl show -p ExecMainStatus --value switchboard)" = 0 ] ||
                { journalctl -u switchboard --no-pager | tail -20; return 1; }
        }
        check "systemd: unit active, info answers, stops with status 0" unit_active
    fi
else
    echo "# skip: systemd is not PID 1 here: the unit was checked offline (systemd-analyze verify) only"
fi

# ---- purge: every file goes, the conffiles too
if ! out=$(dpkg --purge switchboard 2>&1); then
    not_ok "dpkg --purge" "$out"
else
    purged_ok() {
        local left=() f
        for f in /usr/bin/switchboard /etc/switchboard /usr/share/switchboard \
            /usr/lib/"$multiarch"/switchboard /lib/systemd/system/switchboard.service \
            /etc/systemd/system/multi-user.target.wants/switchboard.service; do
            [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
        done
        [ ${#left[@]} -eq 0 ] || { echo "left after purge: ${left[*]}"; return 1; }
    }
    check "dpkg --purge removes everything (configs and unit link too)" purged_ok
fi
finish
