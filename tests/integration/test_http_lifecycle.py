"""HTTP lifecycle: create, attach echotest, message (ack, then the event on the long-poll
with the same transaction), keepalive, detach (detached event), destroy. Ids are below
2^53 and carry the node id."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import Http, Server, Tap, builddir_from_argv, check, check_eq, error_code, \
    stop_and_report

NODE_ID = 7
ID_NODE_SHIFT = 45


def main():
    tap = Tap("http_lifecycle")
    server = Server(builddir_from_argv(), ["--node-id", str(NODE_ID)], name="lifecycle")
    h = Http()
    st = {}
    try:
        with tap.case("info returns server_info listing echotest"):
            info = h.get("/info")
            check_eq(info.get("janus"), "server_info", "info")
            check("janus.plugin.echotest" in info.get("plugins", {}), "echotest in plugins")
        with tap.case("create returns a session id < 2^53 carrying the node id"):
            r = h.post("", {"janus": "create", "transaction": "t-create"})
            check_eq(r["janus"], "success", "reply")
            check_eq(r["transaction"], "t-create", "transaction echoed")
            sid = r["data"]["id"]
            check(isinstance(sid, int) and 0 < sid < 2 ** 53, "id %r < 2^53" % sid)
            check_eq(sid >> ID_NODE_SHIFT, NODE_ID, "node id in session id")
            st["sid"] = sid
        sid = st["sid"]
        with tap.case("attach echotest returns a handle id carrying the node id"):
            r = h.post("/%d" % sid, {"janus": "attach", "plugin": "janus.plugin.echotest",
                                     "opaque_id": "lifecycle-1", "transaction": "t-attach"})
            check_eq(r["janus"], "success", "reply %r" % r)
            check_eq(r["session_id"], sid, "session_id")
            hid = r["data"]["id"]
            check(0 < hid < 2 ** 53, "handle id < 2^53")
            check_eq(hid >> ID_NODE_SHIFT, NODE_ID, "node id in handle id")
            st["hid"] = hid
        hid = st["hid"]
        with tap.case("message is acked, the event comes on the long-poll"):
            r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "t-msg",
                                               "body": {"audio": True, "video": False}})
            check_eq(r["janus"], "ack", "reply %r" % r)
            check_eq(r["transaction"], "t-msg", "ack transaction")
            ev = h.poll(sid, timeout=10)
            check_eq(ev.get("janus"), "event", "event %r" % ev)
            check_eq(ev.get("transaction"), "t-msg", "event transaction")
            check_eq(ev.get("sender"), hid, "sender")
            check_eq(ev.get("session_id"), sid, "session_id")
            pd = ev.get("plugindata", {})
            check_eq(pd.get("plugin"), "janus.plugin.echotest", "plugindata.plugin")
            check_eq(pd.get("data", {}).get("echotest"), "event", "data.echotest")
            check_eq(pd.get("data", {}).get("result"), "ok", "data.result")
        with tap.case("plugin error comes as an event with error_code"):
            r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "t-bad",
                                               "body": {"audio": "loud"}})
            check_eq(r["janus"], "ack", "reply %r" % r)
            ev = h.poll(sid, timeout=10)
            check_eq(ev.get("transaction"), "t-bad", "transaction")
            check("error_code" in ev["plugindata"]["data"], "error_code in %r" % ev)
        with tap.case("trickle is acked"):
            r = h.post("/%d/%d" % (sid, hid), {"janus": "trickle", "transaction": "t-tr",
                                               "candidate": {"completed": True}})
            check_eq(r["janus"], "ack", "reply %r" % r)
        with tap.case("keepalive is acked"):
            r = h.post("/%d" % sid, {"janus": "keepalive", "transaction": "t-ka"})
            check_eq(r["janus"], "ack", "reply %r" % r)
            check_eq(r["session_id"], sid, "session_id")
            check_eq(r["transaction"], "t-ka", "transaction")
        with tap.case("detach succeeds and a detached event follows"):
            r = h.post("/%d/%d" % (sid, hid), {"janus": "detach", "transaction": "t-det"})
            check_eq(r["janus"], "success", "reply %r" % r)
            ev = h.poll(sid, timeout=10)
            check_eq(ev.get("janus"), "detached", "event %r" % ev)
            check_eq(ev.get("sender"), hid, "sender")
            r = h.post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "t-gone",
                                               "body": {}})
            check_eq(error_code(r), 459, "message to a detached handle")
        with tap.case("destroy succeeds and the session is gone"):
            r = h.post("/%d" % sid, {"janus": "destroy", "transaction": "t-destroy"})
            check_eq(r["janus"], "success", "reply %r" % r)
            r = h.post("/%d" % sid, {"janus": "keepalive", "transaction": "t-after"})
            check_eq(error_code(r), 458, "keepalive after destroy")
        with tap.case("destroy with live handles detaches them"):
            sid2 = h.create()
            hids = [h.attach(sid2) for _ in range(3)]
            check_eq(len(set(hids)), 3, "distinct handle ids")
            r = h.destroy(sid2)
            check_eq(r["janus"], "success", "destroy reply")
            for x in hids:
                r = h.post("/%d/%d" % (sid2, x), {"janus": "hangup", "transaction": "h"})
                check_eq(error_code(r), 458, "handle of a destroyed session")
        with tap.case("ping answers pong"):
            r = h.post("", {"janus": "ping", "transaction": "t-ping"})
            check_eq(r["janus"], "pong", "reply")
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
