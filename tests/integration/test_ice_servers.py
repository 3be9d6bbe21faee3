"""GET <base>/ice-servers over plain HTTP, no browser: the reply's shape (STUN entry, TURN
entry with TURN REST credentials, ttl), the credential computed independently and accepted
by a real coturn (use-auth-secret) over UDP and TCP while a tampered one is refused, ?user=
honoured and sanitised, the API secret (403 without it), the per-address rate limit (429
with Retry-After, another address still served, 403s not counted), rate_limit 0 as no
limit, and the empty answer when nothing (or only half of TURN) is configured.

usage: test_ice_servers.py <builddir>
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from coturn import Coturn  # noqa: E402
from sbtest import HTTP_PORT, Tap, builddir_from_argv, check, check_eq  # noqa: E402
from turnclient import TurnClient  # noqa: E402
import turnlab  # noqa: E402

SECRET = "ice-servers-test-secret"
API_SECRET = "let-me-in"
TTL = 600
STUN = ["stun:127.0.0.1:3478"]
USERNAME_RE = re.compile(r"^(\d+):(.+)$")


def get(path, source=None, timeout=5.0):
    """GET path from the daemon (from address `source` if given): (status, headers, JSON
    or None, raw body)."""
    c = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        c.request("GET", path)
        r = c.getresponse()
        raw = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return r.status, headers, body, raw


def rest_credential(secret, username):
    return base64.b64encode(hmac.new(secret.encode(), username.encode(),
                                     hashlib.sha1).digest()).decode()


def turn_entry(body):
    """The one iceServers entry with a username (the TURN one)."""
    entries = [e for e in body.get("iceServers", []) if "username" in e]
    check_eq(len(entries), 1, "TURN entries in %r" % body)
    return entries[0]


def user_of(body):
    m = USERNAME_RE.match(turn_entry(body)["username"])
    check(m, "username %r is not <expiry>:<user>" % turn_entry(body)["username"])
    return m.group(2)


def start(builddir, folder, name, extra_args=(), **cfg):
    path = turnlab.write_config(folder, name=name + ".conf", **cfg)
    return turnlab.start_server(builddir, name, args=["-C", path] + list(extra_args), ws=False)


def stop(tap, server, label):
    problems = server.stop()
    tap.result("%s: clean shutdown, no sanitizer report" % label, not problems,
               "\n".join(problems))
    server.cleanup()


def main():
    tap = Tap("ice-servers")
    builddir = builddir_from_argv()
    folder = tempfile.mkdtemp(prefix="sbtest-ice-")
    turn = server = None
    try:
        turn = Coturn(auth_secret=SECRET, name="coturn-ice")
        uris = turn.urls()

        # ---- a full configuration, no rate limit --------------------------------------
        server = start(builddir, folder, "full", turn_secret=SECRET, turn_uris=uris,
                       stun_uris=STUN, ttl=TTL, rate_limit=0)
        fetched = {}
        with tap.case("reply shape: STUN entry, TURN entry with REST credentials, ttl"):
            t0 = time.time()
            status, headers, body, raw = get("/janus/ice-servers")
            check_eq(status, 200, "status")
            check(headers.get("content-type", "").startswith("application/json"),
                  "content type %r" % headers.get("content-type"))
            check_eq(headers.get("cache-control"), "no-store", "Cache-Control")
            check_eq(sorted(body), ["iceServers", "ttl"], "top-level keys of %s" % raw)
            check_eq(body["ttl"], TTL, "ttl")
            check_eq(body["iceServers"][0], {"urls": STUN}, "first entry (STUN)")
            t = body["iceServers"][1]
            check_eq(len(body["iceServers"]), 2, "entries")
            check_eq(sorted(t), ["credential", "urls", "username"], "TURN entry keys")
            check_eq(t["urls"], uris, "TURN urls (configured order)")
            m = USERNAME_RE.match(t["username"])
            check(m, "username %r" % t["username"])
            check_eq(m.group(2), "switchboard", "default user part")
            expiry = int(m.group(1))
            check(t0 + TTL - 3 <= expiry <= time.time() + TTL + 3,
                  "expiry %d is not now + ttl (%d)" % (expiry, t0 + TTL))
            check_eq(t["credential"], rest_credential(SECRET, t["username"]),
                     "credential = base64(HMAC-SHA1(secret, username))")
            fetched["default"] = t

        for transport in ("udp", "tcp"):
            with tap.case("the handed-out credential allocates on coturn over %s, "
                          "and coturn logs that username" % transport.upper()):
                t = fetched["default"]
                with TurnClient("127.0.0.1", turn.port, transport) as c:
                    r = c.allocate(t["username"], t["credential"])
                    check(r.ok, "allocate: %r\n%s" % (r, turn.tail()))
                    check(r.integrity_ok, "coturn's answer is signed with our key")
                    check(r.relayed and r.relayed[0] == "127.0.0.1", "relayed %r" % (r.relayed,))
                check(turn.wait_allocation(t["username"]), "no allocation line for %s:\n%s"
                      % (t["username"], turn.tail()))

        with tap.case("negative control: the same username with a tampered credential "
                      "gets 401 from coturn"):
            t = fetched["default"]
            bad = rest_credential(SECRET + "x", t["username"])
            with TurnClient("127.0.0.1", turn.port, "udp") as c:
                r = c.allocate(t["username"], bad)
            check(not r.ok and r.code == 401, "allocate with a wrong credential: %r" % r)

        with tap.case("?user= is honoured: its name in the username, credential valid "
                      "on coturn"):
            status, _, body, raw = get("/janus/ice-servers?user=alice.B-7_x")
            check_eq(status, 200, "status")
            t = turn_entry(body)
            check_eq(user_of(body), "alice.B-7_x", "user part")
            check_eq(t["credential"], rest_credential(SECRET, t["username"]), "credential")
            with TurnClient("127.0.0.1", turn.port, "udp") as c:
                r = c.allocate(t["username"], t["credential"])
            check(r.ok, "allocate as %s: %r" % (t["username"], r))
            check(turn.wait_allocation(t["username"]), "no allocation line for %s"
                  % t["username"])
            status, _, body, _ = get("/janus/ice-servers?user=" + "u" * 64)
            check_eq(user_of(body), "u" * 64, "a 64-character user is kept")

        with tap.case("?user= is sanitised: anything outside [A-Za-z0-9_.-]{1,64} becomes "
                      "the default, still with a valid credential"):
            for q in ("", "a%20b", "a%3Ab", "a/b", "x%0Ay", "%C3%A9t%C3%A9", "u" * 65,
                      "a%22b", "%00", "a%3Bb"):
                status, _, body, raw = get("/janus/ice-servers?user=" + q)
                check_eq(status, 200, "status for user=%r" % q)
                check_eq(user_of(body), "switchboard", "user part for user=%r (%s)" % (q, raw))
                t = turn_entry(body)
                check_eq(t["credential"], rest_credential(SECRET, t["username"]),
                         "credential for user=%r" % q)

        with tap.case("rate_limit = 0: no limit (150 requests in a row all answered)"):
            codes = [get("/janus/ice-servers")[0] for _ in range(150)]
            check_eq(set(codes), {200}, "statuses")

        with tap.case("only GET: POST /ice-servers is not a credential source"):
            c = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=5)
            c.request("POST", "/janus/ice-servers", body="{}",
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
            c.close()
            check(b"credential" not in raw, "POST got credentials: %r" % raw[:300])
        stop(tap, server, "full")
        server = None

        # ---- API secret and rate limit -------------------------------------------------
        limit = 5
        server = start(builddir, folder, "guarded", extra_args=["--api-secret", API_SECRET],
                       turn_secret=SECRET, turn_uris=uris, ttl=TTL, rate_limit=limit)
        with tap.case("with an API secret: 403 without it or with a wrong one, "
                      "credentials with it"):
            for q in ("", "?apisecret=nope", "?apisecret=", "?user=bob"):
                status, _, body, raw = get("/janus/ice-servers" + q)
                check_eq(status, 403, "status of GET /janus/ice-servers%s" % q)
                check(b"credential" not in raw, "a 403 carries credentials: %r" % raw)
                check_eq(body.get("janus"), "error", "403 body %r" % raw)
                check_eq(body["error"].get("code"), 403, "janus error code")
            status, _, body, raw = get("/janus/ice-servers?apisecret=" + API_SECRET +
                                       "&user=bob")
            check_eq(status, 200, "status with the secret")
            check_eq(user_of(body), "bob", "user part")
            t = turn_entry(body)
            check_eq(t["credential"], rest_credential(SECRET, t["username"]), "credential")

        with tap.case("rate limit: %d answers a minute per address, then 429 with "
                      "Retry-After; refused requests (403) not counted" % limit):
            first = time.time()  # the window began with the request above
            ok = 1
            for i in range(limit - 1):
                status, _, _, raw = get("/janus/ice-servers?apisecret=" + API_SECRET)
                check_eq(status, 200, "request %d of %d (%s)" % (i + 2, limit, raw[:200]))
                ok += 1
            status, headers, body, raw = get("/janus/ice-servers?apisecret=" + API_SECRET)
            check_eq(status, 429, "request %d" % (limit + 1))
            check(b"credential" not in raw, "a 429 carries credentials: %r" % raw)
            check_eq((body or {}).get("janus"), "error", "429 body %r" % raw)
            check_eq(body["error"].get("code"), 429, "janus error code")
            ra = headers.get("retry-after")
            check(ra is not None and ra.isdigit(), "Retry-After %r" % ra)
            elapsed = time.time() - first
            check(1 <= int(ra) <= 60 and abs(int(ra) - (60 - elapsed)) <= 3,
                  "Retry-After %s, %.1f s into a 60 s window" % (ra, elapsed))
            check_eq(get("/janus/ice-servers?apisecret=" + API_SECRET)[0], 429,
                     "still limited")

        with tap.case("rate limit is per client address: 127.0.0.2 is still served"):
            status, _, body, raw = get("/janus/ice-servers?apisecret=" + API_SECRET,
                                       source="127.0.0.2")
            check_eq(status, 200, "status from 127.0.0.2 (%s)" % raw[:200])
            turn_entry(body)
            check_eq(get("/janus/ice-servers?apisecret=" + API_SECRET)[0], 429,
                     "127.0.0.1 still limited")

        with tap.case("the rest of the API is not rate-limited by it"):
            status, _, body, _ = get("/janus/info?apisecret=" + API_SECRET)
            check_eq(status, 200, "GET /janus/info")
        stop(tap, server, "guarded")
        server = None

        # ---- nothing configured, half configured ------------------------------------
        server = turnlab.start_server(builddir, "bare", ws=False)
        with tap.case("nothing configured: empty list, ttl 0"):
            status, _, body, raw = get("/janus/ice-servers")
            check_eq(status, 200, "status")
            check_eq(body, {"iceServers": [], "ttl": 0}, "reply")
            status, _, body, raw = get("/janus/ice-servers?user=alice")
            check_eq(body, {"iceServers": [], "ttl": 0}, "reply with ?user=")
        stop(tap, server, "bare")
        server = None

        server = start(builddir, folder, "stun-only", stun_uris=STUN, turn_uris=uris,
                       ttl=TTL)
        with tap.case("STUN and TURN URIs but no TURN secret: STUN only, ttl 0"):
            status, _, body, raw = get("/janus/ice-servers")
            check_eq(status, 200, "status")
            check_eq(body, {"iceServers": [{"urls": STUN}], "ttl": 0}, "reply")
        stop(tap, server, "stun-only")
        server = None

        server = start(builddir, folder, "secret-only", turn_secret=SECRET, ttl=TTL)
        with tap.case("a TURN secret but no URIs: empty list, ttl 0"):
            status, _, body, raw = get("/janus/ice-servers")
            check_eq(status, 200, "status")
            check_eq(body, {"iceServers": [], "ttl": 0}, "reply")
        stop(tap, server, "secret-only")
        server = None

        problems = turn.stop()
        tap.result("coturn stopped cleanly", not problems, "\n".join(problems))
    except Exception as e:  # noqa: BLE001 - a server or coturn that would not start
        tap.result("the test ran to its end", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if server is not None:
            stop(tap, server, "(after a failure)")
        if turn is not None:
            turn.close()
        shutil.rmtree(folder, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
