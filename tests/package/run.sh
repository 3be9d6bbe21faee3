#!/usr/bin/env bash
# The Debian packages, end to end: a release tree of this checkout (`make distdir` from
# <builddir>, the same files as `make dist`, so a file missing from the tarball fails here),
# built with `dpkg-buildpackage -b` in a temporary folder (the working tree is left as it
# is) into switchboard (the daemon) and switchboard-dev (the plugin SDK), both checked with
# lintian (no errors), installed with dpkg, checked (user, files, conffiles, unit, man page,
# pkg-config), the daemon started as the switchboard user with the installed configuration in
# a private network namespace and asked for `info` and the web app; then, as a plugin author
# would, the SDK's example (examples/recorder, from /usr/share/doc/switchboard-dev) built with
# the installed SDK alone, installed into the daemon's plugins folder, and the daemon started
# with it, an aiortc client recording through it (tests/integration/test_recorder_aiortc.py
# --url); then both purged. Prints TAP-style lines, then "package: N passed, M failed"; exits
# non-zero on any failure.
#
#   tests/package/run.sh <builddir>
#
# Needs root (dpkg -i, a network namespace): not root, it skips with a line saying so. It
# installs on this machine: CI runs it on a throwaway one; elsewhere it refuses to run over a
# switchboard package that is already installed. Under systemd as PID 1, the unit itself is
# started too; otherwise that part is skipped with a note. Takes ~2-4 minutes (the package
# build, DEB_BUILD_OPTIONS=nocheck: the unit tests run in their own step; the recording
# ~20 s). The recording needs /usr/bin/python3 with aiortc (as the integration tests).
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
for tool in dpkg-buildpackage lintian dh unshare setpriv curl pkg-config make cc nm; do
    command -v "$tool" >/dev/null || not_ok "tool $tool present" "missing: scripts/setup.sh installs it"
done
[ "$failed" -eq 0 ] || finish
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'installed'; }
if installed switchboard || installed switchboard-dev; then
    not_ok "no switchboard package installed before the test" \
        "this test installs and purges its own: remove those first (dpkg --purge switchboard-dev switchboard)"
    finish
fi
if [ ! -f "$srcdir/html/dist/index.html" ]; then
    not_ok "web app built" "no html/dist: build it first (cd html && npm ci && npm run build; scripts/setup.sh does)"
    finish
fi

tmp=$(mktemp -d /tmp/sb-package.XXXXXX)
# What the daemon, run as switchboard, reads and writes (a configs folder, the recordings):
# $tmp is root's alone.
run=$(mktemp -d /tmp/sb-package-run.XXXXXX)
chmod 755 "$run"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
plugindir=/usr/lib/$multiarch/switchboard/plugins
user_before=0
getent passwd switchboard >/dev/null && user_before=1
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
    rm -f "$plugindir/recorder.so" # the example's: no package owns it
    installed switchboard-dev && dpkg --purge switchboard-dev >/dev/null 2>&1
    installed switchboard && dpkg --purge switchboard >/dev/null 2>&1
    # Debian keeps system users on purge; a user this test made goes with it.
    [ "$user_before" = 0 ] && getent passwd switchboard >/dev/null && deluser --system switchboard >/dev/null 2>&1
    rm -rf "$tmp" "$run"
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
devdeb=$(ls "$tmp"/switchboard-dev_"$version"_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ] || [ -z "$devdeb" ]; then
    not_ok "dpkg-buildpackage -b -uc -us" "no switchboard and switchboard-dev .deb in $tmp: $(ls "$tmp")"
    finish
fi
ok "dpkg-buildpackage -b -uc -us: switchboard, switchboard-dev ($(($(date +%s) - t0)) s)"
# The plugins take nothing from the daemon (the SDK's archive is linked in), so
# dpkg-shlibdeps finds every symbol they use in a library (debian/rules overrides nothing).
if grep -q 'dpkg-shlibdeps: warning' "$tmp/build.log"; then
    not_ok "dpkg-shlibdeps: no warning" "$(grep 'dpkg-shlibdeps: warning' "$tmp/build.log" | head -20)"
else
    ok "dpkg-shlibdeps: no warning"
fi

# ---- lintian: no errors; warnings are listed, not counted
lint=$(lintian --tag-display-limit 0 "$deb" "$devdeb" 2>&1)
echo "$lint" | grep -E '^[WIP]: ' | sed 's/^/# lintian: /'
if echo "$lint" | grep -q '^E: '; then
    not_ok "lintian: no errors" "$(echo "$lint" | grep '^E: ')"
else
    ok "lintian: no errors"
fi

# ---- install
if ! out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" "$devdeb" 2>&1); then
    not_ok "dpkg -i switchboard switchboard-dev" "$out"
    finish
fi
ok "dpkg -i switchboard switchboard-dev"

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

# switchboard-dev: every public header of this tree, the archive, the .pc, the guide, and
# the example as sources only (the package is built out of the source tree).
dev_files_ok() {
    local missing=() f h ex=/usr/share/doc/switchboard-dev/examples extra
    for h in "$srcdir"/include/switchboard/*.h; do
        f=/usr/include/switchboard/$(basename "$h")
        [ -e "$f" ] || missing+=("$f")
    done
    for f in /usr/lib/"$multiarch"/libswitchboard-plugin.a \
        /usr/lib/"$multiarch"/pkgconfig/switchboard-plugin.pc \
        /usr/share/doc/switchboard-dev/copyright \
        "$ex"/recorder/{Makefile,recorder.h,recorder.c,requests.c,worker.c,rtpdump.c} \
        "$ex"/recorder/switchboard.plugin.recorder.conf; do
        [ -e "$f" ] || missing+=("$f")
    done
    if [ -f "$srcdir/docs/plugins.md" ] && [ ! -e /usr/share/doc/switchboard-dev/plugins.md ] &&
        [ ! -e /usr/share/doc/switchboard-dev/plugins.md.gz ]; then
        missing+=(/usr/share/doc/switchboard-dev/plugins.md)
    fi
    [ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
    extra=$(find "$ex" -type f ! -name '*.[ch]' ! -name Makefile ! -name '*.conf')
    [ -z "$extra" ] || { echo "not sources in the examples: $extra"; return 1; }
}
check "switchboard-dev files in place (headers, archive, .pc, guide, example sources)" dev_files_ok

# What an author's build asks pkg-config, with nothing but the installed packages to find.
sdk_pc_ok() {
    local pc=(env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR pkg-config) v
    v=$("${pc[@]}" --modversion switchboard-plugin) || return 1
    [ "$v" = "$version" ] || { echo "version $v, not $version"; return 1; }
    v=$("${pc[@]}" --variable=plugindir switchboard-plugin)
    [ "$v" = "$plugindir" ] || { echo "plugindir $v, not $plugindir"; return 1; }
    v=$("${pc[@]}" --libs switchboard-plugin)
    case "$v" in *-lswitchboard-plugin*-ljansson*) ;; *) echo "libs: $v"; return 1 ;; esac
}
check "pkg-config switchboard-plugin: version, plugindir, libs (with jansson)" sdk_pc_ok

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
# The end of a daemon run_installed or run_recorder started: SIGTERM, at most 20 s, exit 0;
# adds to the caller's fails (bash locals are seen by the functions it calls), prints them
# with the log's tail and fails when there are any.
stop_daemon() {
    local pid=$1 log=$2 i rc
    kill -TERM "$pid"
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
export -f stop_daemon

run_installed() {
    local log=$1 notify=@sb-package-test-$$ ready=0 listener=
    # READY=1 is checked once the daemon sends it (main.c calls sb_sd_notify).
    grep -qa 'READY=1' /usr/bin/switchboard && ready=1
    if [ "$ready" = 1 ]; then
        # The daemon starts once the listener has bound (it says so on its first line): a
        # fixed wait lost the datagram whenever the interpreter took longer to start (a pyenv
        # shim on PATH takes ~0.5 s).
        /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
print("bound", flush=True)
s.settimeout(30)
print(s.recv(4096).decode())' "$notify" >"$tmp/notify.out" 2>&1 &
        listener=$!
        for i in $(seq 1 100); do
            grep -q '^bound' "$tmp/notify.out" && break
            sleep 0.1
        done
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
    stop_daemon "$pid" "$log"
}
export -f run_installed
export tmp
if out=$(unshare --net -- bash -c 'ip link set lo up && run_installed "$0"' "$tmp/daemon.log" 2>&1); then
    echo "$out" | grep '^# '
    ok "installed daemon as switchboard in a namespace: info (4 plugins), web app at /, exit 0 on SIGTERM"
else
    not_ok "installed daemon as switchboard in a namespace: info (4 plugins), web app at /, exit 0 on SIGTERM" "$out"
fi

# ---- as a plugin author would: the example from switchboard-dev's docs, built with the
# installed SDK alone (no PKG_CONFIG_PATH, nothing from this tree), installed where
# pkg-config says the daemon loads plugins
author=$tmp/author
mkdir -p "$author"
cp -r /usr/share/doc/switchboard-dev/examples/recorder "$author/"
build_example() {
    local out exports
    out=$(cd "$author/recorder" && env -u PKG_CONFIG_PATH -u PKG_CONFIG_LIBDIR -u CPATH \
        -u C_INCLUDE_PATH -u LIBRARY_PATH make 2>&1) || { echo "$out"; return 1; }
    if echo "$out" | grep -qF -e "$srcdir" -e "$builddir" -e "$tree"; then
        echo "the build took something from the source tree:"
        echo "$out"
        return 1
    fi
    echo "$out" | grep -q 'warning:' && { echo "$out"; return 1; }
    exports=$(nm -D --defined-only "$author/recorder/recorder.so" | awk '{print $3}' |
        grep -Ev '^(__bss_start|_edata|_end|_init|_fini)$')
    [ "$exports" = sb_plugin_get ] || { echo "recorder.so exports: $exports"; return 1; }
    out=$(cd "$author/recorder" && env -u PKG_CONFIG_PATH make install 2>&1) || { echo "$out"; return 1; }
    [ -f "$plugindir/recorder.so" ] || { echo "make install: no $plugindir/recorder.so: $out"; return 1; }
}
check "example built with the installed SDK only (no warning, exports sb_plugin_get alone), make install" \
    build_example

# The installed daemon as switchboard again, with a configs folder of the installed configs
# plus the example's conf (its directory pointed at a folder the user may write), and an
# aiortc client recording through the plugin: test_recorder_aiortc.py against the running
# daemon (the recording is read and decoded there).
mkdir -p "$run/conf" "$run/rec"
cp /etc/switchboard/*.conf "$run/conf/"
sed "s|^\( *directory *= *\).*|\1\"$run/rec\"|" \
    "$author/recorder/switchboard.plugin.recorder.conf" >"$run/conf/switchboard.plugin.recorder.conf"
chown switchboard:switchboard "$run/rec"
run_recorder() {
    local log=$1 pid i info out rc fails=() p
    setpriv --reuid=switchboard --regid=switchboard --clear-groups --no-new-privs \
        /usr/bin/switchboard --config /etc/switchboard/switchboard.conf \
        --configs-folder "$run/conf" >"$log" 2>&1 &
    pid=$!
    for i in $(seq 1 100); do
        curl -s -o /dev/null http://127.0.0.1:8088/ && break
        sleep 0.2
    done
    info=$(curl -s -m 5 -X POST http://127.0.0.1:8088/janus -d '{"janus":"info","transaction":"pkg"}')
    for p in janus.plugin.echotest janus.plugin.videoroom janus.plugin.textroom \
        switchboard.plugin.p2pcall switchboard.plugin.recorder; do
        echo "$info" | grep -q "\"$p\"" || fails+=("plugin $p not loaded (info: $info)")
    done
    grep -q "recording into $run/rec" "$log" ||
        fails+=("the recorder did not take its conf: $(grep -i recorder "$log")")
    out=$(/usr/bin/python3 "$srcdir/tests/integration/test_recorder_aiortc.py" \
        --url http://127.0.0.1:8088/janus --recordings "$run/rec" </dev/null 2>&1)
    rc=$?
    echo "$out" | grep -E '^(ok|not ok) - |^# .* packets over ' | sed 's/^# //; s/^/# aiortc: /'
    if [ "$rc" != 0 ] || ! echo "$out" | grep -q '^ok - '; then
        fails+=("test_recorder_aiortc.py --url failed (status $rc):" "$out")
    fi
    out=$(find "$run/rec" -type f ! -user switchboard)
    [ -z "$out" ] || fails+=("recordings not written by switchboard: $out")
    [ -n "$(ls "$run/rec")" ] || fails+=("no recording in $run/rec")
    stop_daemon "$pid" "$log"
}
export -f run_recorder
export run srcdir
name="installed daemon with the example: info lists switchboard.plugin.recorder, an aiortc call records, decodes, exit 0"
t0=$(date +%s)
if out=$(unshare --net -- bash -c 'ip link set lo up && run_recorder "$0"' "$tmp/recorder.log" 2>&1); then
    echo "$out" | grep '^# '
    ok "$name ($(($(date +%s) - t0)) s)"
else
    not_ok "$name" "$out"
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

# ---- purge: every file goes, the conffiles too. The example's .so is the author's, no
# package owns it: it goes first, or the plugins folder would stay.
rm -f "$plugindir/recorder.so"
if ! out=$(dpkg --purge switchboard-dev switchboard 2>&1); then
    not_ok "dpkg --purge switchboard-dev switchboard" "$out"
else
    purged_ok() {
        local left=() f
        for f in /usr/bin/switchboard /etc/switchboard /usr/share/switchboard \
            /usr/lib/"$multiarch"/switchboard /lib/systemd/system/switchboard.service \
            /etc/systemd/system/multi-user.target.wants/switchboard.service \
            /usr/include/switchboard /usr/lib/"$multiarch"/libswitchboard-plugin.a \
            /usr/lib/"$multiarch"/pkgconfig/switchboard-plugin.pc \
            /usr/share/doc/switchboard /usr/share/doc/switchboard-dev; do
            [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
        done
        [ ${#left[@]} -eq 0 ] || { echo "left after purge: ${left[*]}"; return 1; }
    }
    check "dpkg --purge removes everything of both (configs, unit link, SDK too)" purged_ok
fi
finish
