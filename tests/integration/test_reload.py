"""SIGHUP reloads the configuration: what can change while running is applied (session
timeout, tokens, new VideoRoom rooms; flags still win over the file), the rest is logged as
needing a restart, and sessions, rooms and the listeners go on untouched. A configuration
that no longer loads changes nothing."""
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq,  # noqa
                    error_code, stop_and_report)

ADMIN = Http(port=HTTP_PORT - 1000, base="/admin")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def admin(verb, **fields):
    return ADMIN.post("", dict({"janus": verb, "transaction": "t"}, **fields))


def rooms():
    r = admin("message_plugin", plugin="janus.plugin.videoroom", request={"request": "list"})
    return sorted(x["room"] for x in r.get("response", {}).get("list", []))


def log_lines(server, text):
    with open(server.log_path, errors="replace") as f:
        return [ln.strip() for ln in f if text in ln]


def hup(server, marker):
    """SIGHUP, then wait for the reload's summary line number `marker` (1-based)."""
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and len(log_lines(server, "SIGHUP: ")) < marker:
        time.sleep(0.1)


def main():
    builddir = builddir_from_argv()
    tap = Tap("reload")
    folder = tempfile.mkdtemp(prefix="sbtest-reload-")
    conf = os.path.join(folder, "sb.conf")
    vr = os.path.join(folder, "janus.plugin.videoroom.conf")
    write(conf, 'general: { log_level = "info"; session_timeout = 60; };\n')
    write(vr, 'room-1: { description = "one"; };\n')
    server = Server(builddir, ws=False, name="reload",
                    args=["-C", conf, "--configs-folder", folder])
    try:
        http = Http()
        sid = http.create()
        check_eq(rooms(), [1], "rooms at start")
        write(conf, 'general: { log_level = "debug"; session_timeout = 90; token_auth = true; '
                    '};\nhttp: { max_body_size = 2048; };\n')
        write(vr, 'room-1: { description = "one, renamed"; };\nroom-2: { description = "two"; };\n')
        hup(server, 2)
        with tap.case("SIGHUP: session timeout and token auth applied (get_status), a new "
                      "room created, the old one kept as it was"):
            st = admin("get_status").get("status", {})
            check_eq((st.get("session_timeout"), st.get("token_auth")), (90, True), "status")
            check_eq(rooms(), [1, 2], "rooms")
            desc = [x["description"] for x in admin(
                "message_plugin", plugin="janus.plugin.videoroom",
                request={"request": "list"})["response"]["list"] if x["room"] == 1]
            check_eq(desc, ["one"], "room 1 untouched")
        with tap.case("SIGHUP: the log says what was applied and what needs a restart"):
            applied = log_lines(server, "changed and applied:")
            later = log_lines(server, "not applied until a restart:")
            tap.note("%s | %s" % (applied[-1:], later[-1:]))
            check(applied and "general.session_timeout" in applied[-1] and
                  "general.token_auth" in applied[-1], "applied %r" % applied)
            # The command line's --log-level (sbtest's) still wins over the file's.
            check("general.log_level" not in applied[-1], "the flag lost: %r" % applied)
            check(later and "http.max_body_size" in later[-1], "restart list %r" % later)
        with tap.case("SIGHUP: the session made before goes on; new requests need a token"):
            check_eq(error_code(http.post("/%d" % sid, {"janus": "keepalive",
                                                        "transaction": "k"})), 403,
                     "keepalive without a token")
            admin("add_token", token="tok")
            check_eq(http.post("/%d" % sid, {"janus": "keepalive", "transaction": "k",
                                             "token": "tok"}).get("janus"), "ack", "keepalive")
        write(conf, "general: { log_level = ; };\n")  # broken
        hup(server, 5)
        with tap.case("SIGHUP with a configuration that does not load: nothing changes"):
            check(log_lines(server, "does not load"), "no warning logged")
            check_eq(admin("get_status").get("status", {}).get("session_timeout"), 90,
                     "timeout kept")
            check(server.alive(), "the daemon exited")
    finally:
        stop_and_report(tap, server)
        shutil.rmtree(folder, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
