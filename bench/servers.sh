#!/bin/bash
# Sourced by the benchmarks that run Switchboard and the reference server (run.sh, data_bench.sh,
# capacity.sh), inside their private network namespace: loopback and a bridge the reference
# can gather on, a work folder removed at exit, and
#   janus_config                   the reference's configuration in $work/janus
#   start_server NAME LOG          switchboard | janus: sets server_pid, url, allow (on
#                                  $SERVER_CPUS only when set)
#   stop_server STATUSFILE         SIGTERM, 10 s grace, SIGKILL; the status in the file
# Needs $build (Switchboard's build folder); $server_bin and $plugins, when set, name another
# Switchboard binary and plugin folder (a copy that a rebuild cannot change during the runs).
ip link set lo up
# The reference server gathers no candidate on a loopback interface and ignores loopback
# candidates of its peers. A bridge without ports that holds another loopback address
# (127.1.0.1/32) is not a loopback interface, and traffic to it is still delivered locally.
ip link add sbbr0 type bridge 2>/dev/null
ip addr add 127.1.0.1/32 dev sbbr0 2>/dev/null
ip link set sbbr0 up
ulimit -n 65536 2>/dev/null || ulimit -n 4096

work=$(mktemp -d /tmp/sb-bench-work.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SB_PORT=18088
JANUS_PORT=18089

janus_config() {
    local d=$work/janus
    mkdir -p "$d/plugins" "$d/transports" "$d/none"
    local lib=/usr/lib/x86_64-linux-gnu/janus
    [ -d "$lib" ] || lib=$(dirname "$(dpkg -L janus | grep 'plugins/libjanus_videoroom.so$' | head -1)")/..
    ln -sf "$lib/plugins/libjanus_videoroom.so" "$lib/plugins/libjanus_echotest.so" "$d/plugins/"
    ln -sf "$lib/transports/libjanus_http.so" "$d/transports/"
    cat > "$d/janus.jcfg" <<EOF
general: {
    configs_folder = "$d"
    plugins_folder = "$d/plugins"
    transports_folder = "$d/transports"
    events_folder = "$d/none"
    loggers_folder = "$d/none"
    debug_level = 3
    session_timeout = 60
}
media: { }
nat: {
    ice_enforce_list = "sbbr0"
}
EOF
    cat > "$d/janus.transport.http.jcfg" <<EOF
general: { json = "compact" base_path = "/janus" http = true port = $JANUS_PORT ip = "127.0.0.1" https = false }
admin: { admin_http = false }
EOF
    echo 'general: { }' > "$d/janus.plugin.videoroom.jcfg"
    echo 'general: { }' > "$d/janus.plugin.echotest.jcfg"
}

wait_http() {
    local url=$1 pid=$2
    for _ in $(seq 100); do
        curl -s -o /dev/null "$url/info" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server NAME LOG: sets server_pid and url
start_server() {
    # SERVER_CPUS (e.g. 0): the server runs on those CPUs only (taskset), the load elsewhere.
    local pin=()
    [ -n "${SERVER_CPUS:-}" ] && pin=(taskset -c "$SERVER_CPUS")
    case "$1" in
    switchboard)
        mkdir -p "$work/sbconf"
        # Builds with a drain stop at once on SIGTERM only when told (older ones lack it).
        local drain=()
        local bin=${server_bin:-$build/switchboard}
        "$bin" --help | grep -q -- --drain-timeout && drain=(--drain-timeout 0)
        "${pin[@]}" "$bin" "${drain[@]}" --port $SB_PORT --bind 127.0.0.1 \
            --html-folder "" --plugins-folder "${plugins:-$build/plugins}" --configs-folder "$work/sbconf" \
            --log-level warn --ws false >"$2" 2>&1 &
        server_pid=$!
        url=http://127.0.0.1:$SB_PORT/janus
        allow=127.0.0.1
        ;;
    janus)
        "${pin[@]}" janus -F "$work/janus" -C "$work/janus/janus.jcfg" -o >"$2" 2>&1 &
        server_pid=$!
        url=http://127.0.0.1:$JANUS_PORT/janus
        allow=sbbr0
        ;;
    esac
    wait_http "$url" "$server_pid"
}

# stop_server STATUSFILE: SIGTERM, 10 s grace, then SIGKILL; writes what happened.
stop_server() {
    local status=ok rc
    if ! kill -0 "$server_pid" 2>/dev/null; then
        wait "$server_pid"; rc=$?
        status="died during the run (exit $rc)"
    else
        kill -TERM "$server_pid"
        for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$server_pid" 2>/dev/null; then
            kill -KILL "$server_pid"
            status="hung at shutdown (killed after 10 s)"
        fi
        wait "$server_pid"; rc=$?
        [ "$status" = ok ] && [ "$rc" != 0 ] && status="exit $rc on SIGTERM"
    fi
    server_pid=""
    echo "$status" > "$1"
    [ "$status" = ok ]
}

