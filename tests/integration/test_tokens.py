"""Token authorisation on the Janus API (docs/admin.md, "Tokens") against a live server:
stored tokens managed through the Admin API, signed tokens (HMAC-SHA1, made here with the
recipe of the reference's auth.html), an API secret beside tokens, and
switchboard_auth_failures_total counting the refusals. In the plain build, every sequence
also runs against Debian's janus configured the same way, and the replies are compared
request by request: kind, error code and reason, the plugins and tokens the Admin API lists,
and for long-polls the HTTP status."""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import (HTTP_PORT, Http, Server, Tap, builddir_from_argv, check, check_eq,  # noqa
                    error_code, stop_and_report, wait_port)
from janusref import JanusRef  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

ADMIN_PORT = HTTP_PORT - 1000  # what sbtest.Server gives every server
REF_HTTP, REF_ADMIN = 18288, 17288
ADMIN_SECRET = "adm1n-s3cret"
SIGN_SECRET = "sw1tchb0ard-test-secret"
API_SECRET = "ap1-s3cret"
VR, ET, NOPE = "janus.plugin.videoroom", "janus.plugin.echotest", "janus.plugin.nope"
UNAUTH = "Unauthorized request (wrong or missing secret/token)"
NO_STORED = "Stored-Token based authentication disabled"


def cant(plugin):
    return "Provided token can't access plugin '%s'" % plugin


# ---- talking to one server ----

def normalised(status, reply):
    """What must match between two servers: the kind of reply, its error code and reason
    (long ids replaced), whether it carries the transaction and a session_id, the plugins and
    tokens it lists (sorted: the reference lists them in hash-table order), and the HTTP
    status when it is not 200."""
    if not isinstance(reply, dict):
        return ("HTTP %d" % status, reply)
    err = reply.get("error") or {}
    reason = err.get("reason")
    if isinstance(reason, str):
        reason = re.sub(r"\d{5,}", "<id>", reason)
    out = [reply.get("janus"), err.get("code"), reason, "transaction" in reply,
           "session_id" in reply]
    data = reply.get("data")
    if isinstance(data, dict) and isinstance(data.get("plugins"), list):
        out.append(tuple(sorted(map(str, data["plugins"]))))
    if isinstance(data, dict) and isinstance(data.get("tokens"), list):
        out.append(tuple(sorted((str(x.get("token")), tuple(sorted(x.get("allowed_plugins", []))))
                                for x in data["tokens"])))
    if status != 200:
        out.insert(0, "HTTP %d" % status)
    return tuple(out)


class Target:
    """One server a sequence runs against; every reply kept, in order, by its label."""

    def __init__(self, http_port, admin_port):
        self.http = Http(port=http_port)
        self.admin = Http(port=admin_port, base="/admin")
        self.log = []       # (label, where: api, admin or long-poll, normalised reply)
        self.replies = {}   # label -> (HTTP status, parsed reply)

    def _keep(self, where, label, status, reply, norm):
        if label in self.replies:
            raise AssertionError("label used twice: " + label)
        self.log.append((label, where, norm))
        self.replies[label] = (status, reply)
        return reply if isinstance(reply, dict) else {}

    def api(self, label, path, verb, **fields):
        body = dict({"janus": verb, "transaction": "t"}, **fields)
        status, j = self.http.call("POST", "/janus" + path, body)
        return self._keep("api", label, status, j, normalised(status, j))

    def adm(self, label, verb, secret=ADMIN_SECRET, **fields):
        body = dict({"janus": verb, "transaction": "t"}, **fields)
        if secret is not None:
            body["admin_secret"] = secret
        status, j = self.admin.call("POST", "/admin", body)
        return self._keep("admin", label, status, j, normalised(status, j))

    def poll(self, label, sid, query=""):
        """A long-poll, recorded as its HTTP status and, for a 200, the reply's kind and error
        code (the bodies of other statuses are not compared: ours carry the 458 of a session
        that is not there, on purpose); a poll that found nothing to answer within 3 s as
        'waiting' (it was let in)."""
        try:
            status, _, data = self.http.raw("GET", "/janus/%d%s" % (sid, query), timeout=3)
        except socket.timeout:
            return self._keep("long-poll", label, None, None, ("waiting",))
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = None
        kind = j.get("janus") if isinstance(j, dict) and status == 200 else None
        code = error_code(j) if status == 200 else None
        return self._keep("long-poll", label, status, j, ("HTTP %d" % status, kind, code))

    def reply(self, label):
        r = self.replies[label][1]
        return r if isinstance(r, dict) else {}


def new_id(reply):
    return (reply.get("data") or {}).get("id") or 0


def refused_poll(t, label):
    """Whatever form our refusal takes, the poll must not have been let in."""
    status, j = t.replies[label]
    return status is not None and (status != 200 or error_code(j) == 403)


def expect(t, label, kind, code=None, reason=None):
    r = t.reply(label)
    got = (r.get("janus"), error_code(r))
    check_eq(got, (kind, code), "%s (reply %r)" % (label, r))
    if reason is not None:
        check_eq(r.get("error", {}).get("reason"), reason, "reason of " + label)


def expect_all(t, labels, kind, code=None, reason=None):
    bad = []
    for label in labels:
        r = t.reply(label)
        if (r.get("janus"), error_code(r)) != (kind, code) or \
                (reason is not None and r.get("error", {}).get("reason") != reason):
            bad.append("%s: %r" % (label, r))
    check(not bad, "want %s %s %s:\n%s" % (kind, code or "", reason or "", "\n".join(bad)))


def plugins_of(t, label):
    return sorted((t.reply(label).get("data") or {}).get("plugins") or ["<none>"])


def tokens_of(t, label):
    data = t.reply(label).get("data") or {}
    return {x.get("token"): sorted(x.get("allowed_plugins", [])) for x in data.get("tokens", [])}


# ---- signed tokens (the reference's auth.html recipe) ----

def sign(data, key=SIGN_SECRET):
    return base64.b64encode(hmac.new(key.encode(), data.encode(), hashlib.sha1).digest()).decode()


def signed(plugins, ttl=3600, realm="janus", key=SIGN_SECRET):
    data = ",".join([str(int(time.time()) + ttl), realm] + list(plugins))
    return data + ":" + sign(data, key)


def signed_tokens():
    """Every token the signed sequence sends, made once so that both servers get the same."""
    good = signed([VR])
    data, sig = good.split(":")
    expiry = data.split(",")[0]
    tk = {
        "good": good,
        "both": signed([VR, ET]),
        "reversed": signed([ET, VR]),
        "none": signed([]),
        "prefix": signed(["janus.plugin.video"]),
        "expired": signed([VR], ttl=-10),
        "wrong realm": signed([VR], realm="other"),
        "wrong key": signed([VR], key="not-the-secret"),
        "tampered": data.replace(VR, ET) + ":" + sig,
        "no colon": data,
        "garbage": "garbage",
        "two colons": good + ":x",
        "no padding": good.rstrip("="),
        "hex signature": data + ":" + hmac.new(SIGN_SECRET.encode(), data.encode(),
                                               hashlib.sha1).hexdigest(),
        "expiry only": expiry + ":" + sign(expiry),
        "non-numeric expiry": "abc,janus:" + sign("abc,janus"),
        "empty": "",
    }
    for ttl in range(3600, 3700):  # a signature with '+' or '/' to write url-safe
        tok = signed([VR], ttl=ttl)
        if "+" in tok or "/" in tok:
            tk["url-safe alphabet"] = tok.replace("+", "-").replace("/", "_")
            break
    return tk


BAD_SIGNED = ["expired", "wrong realm", "wrong key", "tampered", "no colon", "garbage",
              "two colons", "no padding", "hex signature", "url-safe alphabet", "expiry only",
              "non-numeric expiry", "empty"]


# ---- the sequences: the same requests to either server ----

def stored_sequence(t):
    t.api("info, no token", "", "info")
    t.api("ping, no token", "", "ping")
    t.adm("list_tokens, none yet", "list_tokens")
    t.api("create, no token", "", "create")
    t.api("create, unknown token", "", "create", token="nope")
    t.api("create, token 5", "", "create", token=5)
    t.api("create, token ''", "", "create", token="")
    t.api("create, admin secret instead", "", "create", admin_secret=ADMIN_SECRET)
    t.adm("add_token alltok, no plugins", "add_token", token="alltok")
    t.adm("add_token vrtok [videoroom]", "add_token", token="vrtok", plugins=[VR])
    t.adm("add_token nonetok, plugins []", "add_token", token="nonetok", plugins=[])
    t.adm("add_token alltok again", "add_token", token="alltok")
    t.adm("add_token emptytok [nope]", "add_token", token="emptytok", plugins=[NOPE])
    t.adm("add_token fivetok [5]", "add_token", token="fivetok", plugins=[5])
    t.adm("add_token, plugins a string", "add_token", token="badtok", plugins=VR)
    t.adm("add_token, no token", "add_token", plugins=[VR])
    t.adm("add_token, token 5", "add_token", token=5)
    t.adm("add_token, no admin secret", "add_token", secret=None, token="x")
    t.adm("list_tokens after add_token", "list_tokens")

    sid = new_id(t.api("create, alltok", "", "create", token="alltok"))
    s = "/%d" % sid
    hid = new_id(t.api("attach echotest, alltok", s, "attach", plugin=ET, token="alltok"))
    t.api("attach echotest, no token", s, "attach", plugin=ET)
    t.api("attach echotest, unknown token", s, "attach", plugin=ET, token="nope")
    t.api("attach echotest, token 5", s, "attach", plugin=ET, token=5)
    t.api("attach echotest, vrtok", s, "attach", plugin=ET, token="vrtok")
    t.api("keepalive, no token", s, "keepalive")
    t.api("keepalive, unknown token", s, "keepalive", token="nope")
    t.api("keepalive, token 5", s, "keepalive", token=5)
    t.api("keepalive, alltok", s, "keepalive", token="alltok")
    t.api("keepalive, vrtok (not create's token)", s, "keepalive", token="vrtok")
    t.api("message, no token", "%s/%d" % (s, hid), "message", body={"audio": True})
    t.api("message, alltok", "%s/%d" % (s, hid), "message", body={"audio": True},
          token="alltok")
    t.poll("long-poll, no token", sid)
    t.poll("long-poll, unknown token", sid, "?token=nope")
    t.poll("long-poll, empty token", sid, "?token=")
    t.poll("long-poll, alltok", sid, "?maxev=1&token=alltok")  # the EchoTest's event
    t.poll("long-poll of an unknown session, no token", 123)
    t.poll("long-poll of an unknown session, alltok", 123, "?token=alltok")
    t.api("keepalive of an unknown session, no token", "/123", "keepalive")
    t.api("keepalive of an unknown session, alltok", "/123", "keepalive", token="alltok")
    t.api("unknown verb at a session path, no token", s, "frobnicate")
    t.api("unknown verb at a session path, alltok", s, "frobnicate", token="alltok")
    t.api("keepalive at the root, no token", "", "keepalive")
    t.api("keepalive at the root, alltok", "", "keepalive", token="alltok")

    s2 = "/%d" % new_id(t.api("create, vrtok", "", "create", token="vrtok"))
    t.api("attach echotest, vrtok, own session", s2, "attach", plugin=ET, token="vrtok")
    t.api("attach videoroom, vrtok", s2, "attach", plugin=VR, token="vrtok")
    t.api("attach unknown plugin, vrtok", s2, "attach", plugin=NOPE, token="vrtok")
    t.api("attach unknown plugin, no token", s2, "attach", plugin=NOPE)
    t.api("create, nonetok", "", "create", token="nonetok")
    t.api("attach videoroom, nonetok", s2, "attach", plugin=VR, token="nonetok")
    t.api("create, emptytok", "", "create", token="emptytok")
    t.api("attach videoroom, emptytok", s2, "attach", plugin=VR, token="emptytok")

    t.adm("allow_token vrtok [echotest]", "allow_token", token="vrtok", plugins=[ET])
    t.adm("list_tokens after allow_token", "list_tokens")
    t.api("attach echotest, vrtok, after allow_token", s2, "attach", plugin=ET, token="vrtok")
    t.adm("disallow_token vrtok [videoroom]", "disallow_token", token="vrtok", plugins=[VR])
    t.api("attach videoroom, vrtok, after disallow_token", s2, "attach", plugin=VR,
          token="vrtok")
    t.api("attach echotest, vrtok, after disallow_token", s2, "attach", plugin=ET, token="vrtok")
    t.adm("disallow_token vrtok [echotest]: nothing left", "disallow_token", token="vrtok",
          plugins=[ET])
    t.adm("list_tokens, vrtok granting nothing", "list_tokens")
    t.api("keepalive, vrtok granting nothing", s2, "keepalive", token="vrtok")
    t.api("attach echotest, vrtok granting nothing", s2, "attach", plugin=ET, token="vrtok")
    t.adm("allow_token vrtok [videoroom] again", "allow_token", token="vrtok", plugins=[VR])

    t.adm("allow_token ghost [echotest]", "allow_token", token="ghost", plugins=[ET])
    t.adm("allow_token vrtok [nope]", "allow_token", token="vrtok", plugins=[NOPE])
    t.adm("allow_token vrtok [echotest, nope]", "allow_token", token="vrtok", plugins=[ET, NOPE])
    t.adm("allow_token vrtok [5]", "allow_token", token="vrtok", plugins=[5])
    t.adm("allow_token vrtok, no plugins", "allow_token", token="vrtok")
    t.adm("allow_token vrtok, plugins []", "allow_token", token="vrtok", plugins=[])
    t.adm("allow_token vrtok, plugins a string", "allow_token", token="vrtok", plugins=ET)
    t.adm("allow_token ghost [nope]", "allow_token", token="ghost", plugins=[NOPE])
    t.adm("allow_token ghost, plugins []", "allow_token", token="ghost", plugins=[])
    t.adm("allow_token, no token", "allow_token", plugins=[ET])
    t.adm("allow_token, token 5", "allow_token", token=5, plugins=[ET])
    t.adm("disallow_token ghost [echotest]", "disallow_token", token="ghost", plugins=[ET])
    t.adm("disallow_token, no token", "disallow_token", plugins=[ET])
    t.adm("disallow_token vrtok [nope]", "disallow_token", token="vrtok", plugins=[NOPE])
    t.adm("disallow_token vrtok, plugins []", "disallow_token", token="vrtok", plugins=[])
    t.adm("list_tokens after the refused changes", "list_tokens")

    t.adm("remove_token alltok", "remove_token", token="alltok")
    t.adm("remove_token alltok again", "remove_token", token="alltok")
    t.adm("remove_token ghost", "remove_token", token="ghost")
    t.adm("remove_token, no token", "remove_token")
    t.adm("remove_token, token 5", "remove_token", token=5)
    t.api("keepalive, removed alltok", s, "keepalive", token="alltok")
    t.api("create, removed alltok", "", "create", token="alltok")
    t.api("attach echotest, removed alltok", s, "attach", plugin=ET, token="alltok")
    t.poll("long-poll, removed alltok", sid, "?token=alltok")
    t.adm("list_tokens at the end", "list_tokens")

    t.adm("accept_new_sessions false", "accept_new_sessions", accept=False)
    t.api("create while not accepting, no token", "", "create")
    t.api("create while not accepting, vrtok", "", "create", token="vrtok")
    t.adm("accept_new_sessions true", "accept_new_sessions", accept=True)


def signed_sequence(t, tk):
    t.api("info, no token", "", "info")
    t.api("ping, no token", "", "ping")
    t.api("create, no token", "", "create")
    t.api("create, token 5", "", "create", token=5)
    for name in BAD_SIGNED:
        t.api("create, " + name, "", "create", token=tk[name])
    sid = new_id(t.api("create, valid [videoroom]", "", "create", token=tk["good"]))
    s = "/%d" % sid
    t.api("attach videoroom, valid [videoroom]", s, "attach", plugin=VR, token=tk["good"])
    t.api("attach echotest, valid [videoroom]", s, "attach", plugin=ET, token=tk["good"])
    hid = new_id(t.api("attach echotest, valid [videoroom, echotest]", s, "attach", plugin=ET,
                       token=tk["both"]))
    t.api("attach videoroom, valid [echotest, videoroom]", s, "attach", plugin=VR,
          token=tk["reversed"])
    t.api("create, valid, no plugins", "", "create", token=tk["none"])
    t.api("attach videoroom, valid, no plugins", s, "attach", plugin=VR, token=tk["none"])
    t.api("attach videoroom, plugin prefix", s, "attach", plugin=VR, token=tk["prefix"])
    t.api("attach unknown plugin, valid", s, "attach", plugin=NOPE, token=tk["good"])
    t.api("attach videoroom, no token", s, "attach", plugin=VR)
    for name in BAD_SIGNED:
        t.api("attach videoroom, " + name, s, "attach", plugin=VR, token=tk[name])
    t.api("keepalive, valid", s, "keepalive", token=tk["good"])
    t.api("keepalive, valid, no plugins", s, "keepalive", token=tk["none"])
    t.api("keepalive, no token", s, "keepalive")
    for name in ("expired", "wrong key", "tampered", "no padding"):
        t.api("keepalive, " + name, s, "keepalive", token=tk[name])
    t.api("message, valid", "%s/%d" % (s, hid), "message", body={"audio": True},
          token=tk["both"])
    t.poll("long-poll, no token", sid)
    t.poll("long-poll, expired", sid, "?token=" + urllib.parse.quote(tk["expired"], safe=""))
    t.poll("long-poll, wrong key", sid, "?token=" + urllib.parse.quote(tk["wrong key"], safe=""))
    t.poll("long-poll, valid", sid, "?maxev=1&token=" + urllib.parse.quote(tk["good"], safe=""))
    t.adm("add_token", "add_token", token="abc")
    t.adm("add_token, no token", "add_token")
    t.adm("list_tokens", "list_tokens")
    t.adm("allow_token", "allow_token", token="abc", plugins=[ET])
    t.adm("disallow_token", "disallow_token", token="abc", plugins=[ET])
    t.adm("remove_token", "remove_token", token="abc")


def apisecret_sequence(t):
    t.api("info, nothing", "", "info")
    t.adm("add_token vrtok [videoroom]", "add_token", token="vrtok", plugins=[VR])
    sid = new_id(t.api("create, apisecret", "", "create", apisecret=API_SECRET))
    t.api("create, vrtok", "", "create", token="vrtok")
    t.api("create, neither", "", "create")
    t.api("create, wrong apisecret, unknown token", "", "create", apisecret="nope",
          token="nope")
    t.api("create, wrong apisecret, vrtok", "", "create", apisecret="nope", token="vrtok")
    t.api("create, apisecret, unknown token", "", "create", apisecret=API_SECRET, token="nope")
    t.api("create, apisecret, token 5", "", "create", apisecret=API_SECRET, token=5)
    t.api("create, apisecret 5, vrtok", "", "create", apisecret=5, token="vrtok")
    s = "/%d" % sid
    hid = new_id(t.api("attach echotest, apisecret", s, "attach", plugin=ET,
                       apisecret=API_SECRET))
    t.api("attach videoroom, apisecret", s, "attach", plugin=VR, apisecret=API_SECRET)
    t.api("attach echotest, vrtok", s, "attach", plugin=ET, token="vrtok")
    t.api("attach videoroom, vrtok", s, "attach", plugin=VR, token="vrtok")
    t.api("attach echotest, wrong apisecret, vrtok", s, "attach", plugin=ET, apisecret="nope",
          token="vrtok")
    t.api("attach echotest, apisecret, token 5", s, "attach", plugin=ET, apisecret=API_SECRET,
          token=5)
    t.api("attach echotest, apisecret, vrtok", s, "attach", plugin=ET, apisecret=API_SECRET,
          token="vrtok")
    t.api("attach echotest, apisecret, unknown token", s, "attach", plugin=ET,
          apisecret=API_SECRET, token="nope")
    t.api("attach echotest, neither", s, "attach", plugin=ET)
    t.api("keepalive, apisecret", s, "keepalive", apisecret=API_SECRET)
    t.api("keepalive, vrtok", s, "keepalive", token="vrtok")
    t.api("keepalive, neither", s, "keepalive")
    t.api("message, apisecret", "%s/%d" % (s, hid), "message", body={"audio": True},
          apisecret=API_SECRET)
    t.poll("long-poll, neither", sid)
    t.poll("long-poll, wrong apisecret", sid, "?apisecret=nope")
    t.poll("long-poll, apisecret", sid, "?maxev=1&apisecret=" + API_SECRET)
    t.api("message, vrtok", "%s/%d" % (s, hid), "message", body={"audio": True}, token="vrtok")
    t.poll("long-poll, vrtok", sid, "?maxev=1&token=vrtok")


# ---- what our server must answer ----

def check_stored(tap, t):
    with tap.case("stored: info and ping need no token; every other request needs one "
                  "(none, unknown, not a string, empty, the admin secret: 403)"):
        expect(t, "info, no token", "server_info")
        check_eq(t.reply("info, no token").get("auth_token"), True, "info's auth_token")
        expect(t, "ping, no token", "pong")
        expect_all(t, ["create, no token", "create, unknown token", "create, token 5",
                       "create, token ''", "create, admin secret instead",
                       "attach echotest, no token", "attach echotest, unknown token",
                       "attach echotest, token 5", "keepalive, no token",
                       "keepalive, unknown token", "keepalive, token 5", "message, no token",
                       "attach unknown plugin, no token"], "error", 403, UNAUTH)
        check_eq(t.reply("keepalive, no token").get("session_id"), new_id(t.reply(
            "create, alltok")), "the session a 403 names")
    with tap.case("stored: a valid token creates, attaches, keeps alive; tokens are per "
                  "request (any valid one serves a session another created)"):
        expect(t, "create, alltok", "success")
        expect(t, "attach echotest, alltok", "success")
        expect(t, "keepalive, alltok", "ack")
        expect(t, "keepalive, vrtok (not create's token)", "ack")
        expect(t, "message, alltok", "ack")
    with tap.case("stored: long-poll without a token, with an unknown or empty one: refused; "
                  "?token= with a valid one gets the event"):
        for label in ("long-poll, no token", "long-poll, unknown token",
                      "long-poll, empty token"):
            check(refused_poll(t, label), "%s: %r" % (label, t.replies[label]))
        status, j = t.replies["long-poll, alltok"]
        check(status == 200 and isinstance(j, dict) and j.get("janus") == "event",
              "long-poll with alltok: %r %r" % (status, j))
    with tap.case("stored: add_token [videoroom]: echotest 405 with the reference's reason, "
                  "videoroom attaches; unknown plugin 460"):
        check_eq(plugins_of(t, "add_token vrtok [videoroom]"), [VR], "add_token's plugins")
        expect(t, "attach echotest, vrtok", "error", 405, cant(ET))
        expect(t, "attach echotest, vrtok, own session", "error", 405, cant(ET))
        expect(t, "attach videoroom, vrtok", "success")
        expect(t, "attach unknown plugin, vrtok", "error", 460, "No such plugin '%s'" % NOPE)
    with tap.case("stored: add_token without plugins or with [] grants every plugin loaded; "
                  "again merges; unknown plugins and non-strings are dropped"):
        for label in ("add_token alltok, no plugins", "add_token nonetok, plugins []",
                      "add_token alltok again"):
            check_eq(plugins_of(t, label), sorted([ET, VR]), label)
        expect(t, "attach videoroom, nonetok", "success")
        check_eq((t.reply("add_token emptytok [nope]").get("data") or {}).get("plugins"), [],
                 "add_token [nope]")
        check_eq((t.reply("add_token fivetok [5]").get("data") or {}).get("plugins"), [],
                 "add_token [5]")
        expect(t, "create, emptytok", "success")
        expect(t, "attach videoroom, emptytok", "error", 405, cant(VR))
    with tap.case("stored: list_tokens {data: {tokens: [{token, allowed_plugins}]}}"):
        expect(t, "list_tokens, none yet", "success")
        check_eq(t.reply("list_tokens, none yet").get("data"), {"tokens": []}, "empty list")
        data = t.reply("list_tokens after add_token").get("data") or {}
        check(isinstance(data.get("tokens"), list) and all(
            sorted(x) == ["allowed_plugins", "token"] and isinstance(x["token"], str) and
            isinstance(x["allowed_plugins"], list) for x in data["tokens"]),
            "shape %r" % data)
        got = tokens_of(t, "list_tokens after add_token")
        for tok, plugins in (("alltok", [ET, VR]), ("vrtok", [VR]), ("nonetok", [ET, VR])):
            check_eq(got.get(tok), sorted(plugins), "listed plugins of " + tok)
    with tap.case("stored: allow_token and disallow_token change a token's plugins live"):
        check_eq(plugins_of(t, "allow_token vrtok [echotest]"), sorted([ET, VR]), "allow")
        check_eq(tokens_of(t, "list_tokens after allow_token").get("vrtok"), sorted([ET, VR]),
                 "listed after allow")
        expect(t, "attach echotest, vrtok, after allow_token", "success")
        check_eq(plugins_of(t, "disallow_token vrtok [videoroom]"), [ET], "disallow")
        expect(t, "attach videoroom, vrtok, after disallow_token", "error", 405, cant(VR))
        expect(t, "attach echotest, vrtok, after disallow_token", "success")
        check_eq(plugins_of(t, "disallow_token vrtok [echotest]: nothing left"), ["<none>"],
                 "disallow the last")
        expect(t, "keepalive, vrtok granting nothing", "ack")
        expect(t, "attach echotest, vrtok granting nothing", "error", 405, cant(ET))
        check_eq(plugins_of(t, "allow_token vrtok [videoroom] again"), [VR], "allow again")
    with tap.case("stored: token verbs' errors: add_token 456/467, allow_token 470/467, "
                  "remove_token 490/456/467, no admin secret 403"):
        expect(t, "add_token, no token", "error", 456, "Missing mandatory element (token)")
        expect(t, "add_token, token 5", "error", 467,
               "Invalid element type (token should be a string)")
        expect(t, "add_token, plugins a string", "error", 467,
               "Invalid element type (plugins should be an array)")
        expect(t, "add_token, no admin secret", "error", 403, UNAUTH)
        expect(t, "allow_token ghost [echotest]", "error", 470, "Token ghost not found")
        expect(t, "disallow_token ghost [echotest]", "error", 470, "Token ghost not found")
        some = "Invalid element type (some of the provided plugins are invalid)"
        expect(t, "allow_token vrtok [nope]", "error", 467, some)
        expect(t, "allow_token vrtok [echotest, nope]", "error", 467, some)
        expect(t, "disallow_token vrtok [nope]", "error", 467, some)
        non_empty = "Invalid element type (plugins should be a non-empty array)"
        expect(t, "allow_token vrtok, no plugins", "error", 467, non_empty)
        expect(t, "allow_token vrtok, plugins []", "error", 467, non_empty)
        expect(t, "disallow_token vrtok, plugins []", "error", 467, non_empty)
        expect(t, "allow_token, no token", "error", 456, "Missing mandatory element (token)")
        check_eq(tokens_of(t, "list_tokens after the refused changes").get("vrtok"), [VR],
                 "vrtok after refused changes (nothing applied)")
        expect(t, "remove_token ghost", "error", 490, "Error removing token")
        expect(t, "remove_token alltok again", "error", 490, "Error removing token")
        expect(t, "remove_token, no token", "error", 456, "Missing mandatory element (token)")
        expect(t, "remove_token, token 5", "error", 467,
               "Invalid element type (token should be a string)")
    with tap.case("stored: remove_token: the token is refused at once (403), also by the "
                  "session it created, and unlisted"):
        expect(t, "remove_token alltok", "success")
        expect_all(t, ["keepalive, removed alltok", "create, removed alltok",
                       "attach echotest, removed alltok"], "error", 403, UNAUTH)
        check(refused_poll(t, "long-poll, removed alltok"),
              "long-poll: %r" % (t.replies["long-poll, removed alltok"],))
        check("alltok" not in tokens_of(t, "list_tokens at the end"), "alltok still listed")


def check_signed(tap, t, tk):
    with tap.case("signed: a valid token creates and attaches to a plugin it lists (in any "
                  "order); keepalive acks; a plugin it does not list: 405"):
        expect(t, "info, no token", "server_info")
        expect(t, "ping, no token", "pong")
        expect(t, "create, valid [videoroom]", "success")
        expect(t, "attach videoroom, valid [videoroom]", "success")
        expect(t, "attach echotest, valid [videoroom]", "error", 405, cant(ET))
        expect(t, "attach echotest, valid [videoroom, echotest]", "success")
        expect(t, "attach videoroom, valid [echotest, videoroom]", "success")
        expect(t, "create, valid, no plugins", "success")
        expect(t, "attach videoroom, valid, no plugins", "error", 405, cant(VR))
        expect(t, "attach videoroom, plugin prefix", "error", 405, cant(VR))
        expect(t, "keepalive, valid", "ack")
        expect(t, "keepalive, valid, no plugins", "ack")
    with tap.case("signed: expired, wrong realm, wrong key, tampered, no colon, garbage, two "
                  "colons, no padding, hex or url-safe signature, no realm, bad expiry, "
                  "empty, none: 403 (attach too, never 405)"):
        check("url-safe alphabet" in tk, "no signature with + or / in 100 tries")
        labels = ["create, no token", "create, token 5", "attach videoroom, no token",
                  "keepalive, no token"]
        labels += ["create, " + n for n in BAD_SIGNED]
        labels += ["attach videoroom, " + n for n in BAD_SIGNED]
        labels += ["keepalive, " + n for n in ("expired", "wrong key", "tampered",
                                               "no padding")]
        expect_all(t, labels, "error", 403, UNAUTH)
    with tap.case("signed: long-poll with the url-encoded token gets the event; none, "
                  "expired or forged: refused"):
        for label in ("long-poll, no token", "long-poll, expired", "long-poll, wrong key"):
            check(refused_poll(t, label), "%s: %r" % (label, t.replies[label]))
        status, j = t.replies["long-poll, valid"]
        check(status == 200 and isinstance(j, dict) and j.get("janus") == "event",
              "long-poll, valid: %r %r" % (status, j))
    with tap.case("signed: the stored-token verbs answer 490 '%s'" % NO_STORED):
        expect_all(t, ["add_token", "add_token, no token", "list_tokens", "allow_token",
                       "disallow_token", "remove_token"], "error", 490, NO_STORED)


def check_apisecret(tap, t):
    with tap.case("api_secret and tokens: either one lets a request in, neither is 403"):
        info = t.reply("info, nothing")
        check_eq((info.get("api_secret"), info.get("auth_token")), (True, True), "info flags")
        expect_all(t, ["create, apisecret", "create, vrtok", "create, wrong apisecret, vrtok",
                       "create, apisecret, unknown token", "create, apisecret, token 5",
                       "create, apisecret 5, vrtok"], "success")
        expect_all(t, ["create, neither", "create, wrong apisecret, unknown token",
                       "attach echotest, neither", "keepalive, neither"], "error", 403, UNAUTH)
        expect(t, "keepalive, apisecret", "ack")
        expect(t, "keepalive, vrtok", "ack")
    with tap.case("api_secret and tokens: a request in by the API secret without a token "
                  "attaches to any plugin; a token it carries limits it, as the reference "
                  "(405)"):
        expect_all(t, ["attach echotest, apisecret", "attach videoroom, apisecret",
                       "attach echotest, apisecret, token 5", "attach videoroom, vrtok"],
                   "success")
        expect_all(t, ["attach echotest, vrtok", "attach echotest, wrong apisecret, vrtok",
                       "attach echotest, apisecret, vrtok",
                       "attach echotest, apisecret, unknown token"], "error", 405, cant(ET))
    with tap.case("api_secret and tokens: long-poll with ?apisecret= or ?token=; neither or a "
                  "wrong secret: refused"):
        for label in ("long-poll, neither", "long-poll, wrong apisecret"):
            check(refused_poll(t, label), "%s: %r" % (label, t.replies[label]))
        for label in ("long-poll, apisecret", "long-poll, vrtok"):
            status, j = t.replies[label]
            check(status == 200 and isinstance(j, dict) and j.get("janus") == "event",
                  "%s: %r %r" % (label, status, j))


# ---- /metrics ----

def auth_failures(api="janus"):
    status, _, data = Http(port=ADMIN_PORT, base="").raw("GET", "/metrics")
    check_eq(status, 200, "/metrics status")
    for fam in text_string_to_metric_families(data.decode()):
        for s in fam.samples:
            if s.name == "switchboard_auth_failures_total" and s.labels.get("api") == api:
                return s.value
    raise AssertionError("no switchboard_auth_failures_total{api=%r}" % api)


def metrics_case(tap):
    """On the stored-token server: windows of known refusals and of accepted requests."""
    t = Target(HTTP_PORT, ADMIN_PORT)
    t.adm("m: add_token mtok [videoroom]", "add_token", token="mtok", plugins=[VR])
    sid = new_id(t.api("m: create", "", "create", token="mtok"))
    s = "/%d" % sid
    with tap.case("switchboard_auth_failures_total{api=\"janus\"} moves by the 403s: 9 "
                  "refused requests and long-polls, +9"):
        before = auth_failures()
        t.api("m: create, no token", "", "create")
        t.api("m: create, unknown token", "", "create", token="nope")
        t.api("m: create, token 5", "", "create", token=5)
        t.api("m: keepalive, no token", s, "keepalive")
        t.api("m: keepalive, unknown token", s, "keepalive", token="nope")
        t.api("m: attach, unknown token", s, "attach", plugin=VR, token="nope")
        t.api("m: attach, no token", s, "attach", plugin=VR)
        t.poll("m: long-poll, no token", sid)
        t.poll("m: long-poll, unknown token", sid, "?token=nope")
        after = auth_failures()
        expect_all(t, ["m: create, no token", "m: create, unknown token", "m: create, token 5",
                       "m: keepalive, no token", "m: keepalive, unknown token",
                       "m: attach, unknown token", "m: attach, no token"], "error", 403)
        check_eq(after - before, 9.0, "auth failures over 9 refusals (%r -> %r)" % (before,
                                                                                    after))
    with tap.case("switchboard_auth_failures_total{api=\"janus\"}: accepted requests, info "
                  "and ping without a token, and admin refusals leave it"):
        before, admin_before = auth_failures(), auth_failures("admin")
        t.api("m: info", "", "info")
        t.api("m: ping", "", "ping")
        t.api("m: create, mtok", "", "create", token="mtok")
        t.api("m: keepalive, mtok", s, "keepalive", token="mtok")
        t.api("m: attach videoroom, mtok", s, "attach", plugin=VR, token="mtok")
        t.adm("m: list_tokens, wrong admin secret", "list_tokens", secret="nope")
        expect(t, "m: attach videoroom, mtok", "success")
        expect(t, "m: list_tokens, wrong admin secret", "error", 403)
        check_eq(auth_failures() - before, 0.0, "janus auth failures over accepted requests")
        check_eq(auth_failures("admin") - admin_before, 1.0, "admin auth failures")
    with tap.case("switchboard_auth_failures_total{api=\"janus\"} counts 405s too (docs/admin.md: "
                  "every refusal counts): 2 attaches the token does not grant, +2"):
        before = auth_failures()
        t.api("m: attach echotest, mtok", s, "attach", plugin=ET, token="mtok")
        t.api("m: attach echotest, mtok, again", s, "attach", plugin=ET, token="mtok")
        expect_all(t, ["m: attach echotest, mtok", "m: attach echotest, mtok, again"], "error",
                   405, cant(ET))
        check_eq(auth_failures() - before, 2.0, "auth failures over 2 refused attaches")


# ---- runs ----

def plugins_folder(builddir):
    """A folder with only the EchoTest and the VideoRoom, the plugins the reference loads
    here, so that 'every plugin loaded' means the same on both."""
    d = tempfile.mkdtemp(prefix="sbtest-tokens-plugins-")
    for p in ("echotest", "videoroom"):
        os.symlink(os.path.join(os.path.abspath(builddir), "plugins", "libsb_%s.so" % p),
                   os.path.join(d, "libsb_%s.so" % p))
    return d


def our_run(tap, builddir, name, args, sequence, checks, extra=None):
    """One server of ours with args: the sequence, then what it must have answered."""
    pdir = plugins_folder(builddir)
    server = Server(builddir, ws=False, name="tokens-" + name,
                    args=["--plugins-folder", pdir] + args)
    t = Target(HTTP_PORT, ADMIN_PORT)
    try:
        with tap.case("%s: the sequence ran, every request answered" % name):
            sequence(t)
        checks(tap, t)
        if extra:
            extra(tap)
    finally:
        stop_and_report(tap, server, "%s: clean shutdown, no sanitizer report" % name)
        shutil.rmtree(pdir, ignore_errors=True)
    return t


WHERE = {"api": "Janus API requests (kind, code, reason, transaction and session_id)",
         "long-poll": "long-polls (HTTP status; kind and code of a 200)",
         "admin": "Admin API token verbs (kind, code, reason, plugins and tokens listed)"}


def reference_run(tap, name, ours, sequence, **janus_args):
    """The same sequence against Debian's janus; each reply compared with ours, one case
    per kind of request."""
    t = Target(REF_HTTP, REF_ADMIN)
    with tap.case("%s: the same requests sent to Debian's janus" % name):
        ref = JanusRef(REF_HTTP, admin_port=REF_ADMIN, **janus_args)
        try:
            wait_port(REF_ADMIN, proc=ref.proc)
            sequence(t)
        finally:
            ref.stop()
        check_eq([x[:2] for x in ours.log], [x[:2] for x in t.log], "requests")
    mine = {label: norm for label, _, norm in ours.log}
    for where in ("api", "long-poll", "admin"):
        theirs = [(label, norm) for label, w, norm in t.log if w == where]
        if not theirs:
            continue
        with tap.case("%s: %s as Debian's janus's (%d)" % (name, WHERE[where], len(theirs))):
            diffs = ["%s:\n    ours  %r\n    janus %r" % (label, mine.get(label), norm)
                     for label, norm in theirs if mine.get(label) != norm]
            if diffs:
                tap.note("%s, %s: %d of %d replies differ from janus's" % (
                    name, where, len(diffs), len(theirs)))
            check(not diffs, "\n".join(diffs))


def main():
    builddir = builddir_from_argv()
    tap = Tap("tokens")
    compare = not os.environ.get("SB_TEST_SANITIZED")
    t0 = time.time()

    stored = our_run(tap, builddir, "stored",
                     ["--token-auth", "true", "--admin-secret", ADMIN_SECRET],
                     stored_sequence, check_stored, metrics_case)
    if compare:
        reference_run(tap, "stored", stored, stored_sequence, admin_secret=ADMIN_SECRET,
                      token_auth=True)

    tk = signed_tokens()
    signed_run = our_run(tap, builddir, "signed",
                         ["--token-auth", "true", "--token-auth-secret", SIGN_SECRET,
                          "--admin-secret", ADMIN_SECRET],
                         lambda t: signed_sequence(t, tk), lambda tp, t: check_signed(tp, t, tk))
    if compare:
        reference_run(tap, "signed", signed_run, lambda t: signed_sequence(t, tk),
                      admin_secret=ADMIN_SECRET, token_auth=True, token_auth_secret=SIGN_SECRET)

    both = our_run(tap, builddir, "apisecret",
                   ["--api-secret", API_SECRET, "--token-auth", "true",
                    "--admin-secret", ADMIN_SECRET],
                   apisecret_sequence, check_apisecret)
    if compare:
        reference_run(tap, "apisecret", both, apisecret_sequence, admin_secret=ADMIN_SECRET,
                      token_auth=True, api_secret=API_SECRET)
    else:
        tap.note("sanitizer build: the comparison with Debian's janus runs in the plain build")
    tap.note("took %.1f s" % (time.time() - t0))
    tap.exit()


if __name__ == "__main__":
    main()
