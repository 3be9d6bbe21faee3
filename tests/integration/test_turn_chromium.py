"""TURN with real coturn and real headless Chromium, through the web app (html/dist served
by the daemon): each page fetches GET /janus/ice-servers itself before joining a VideoRoom
room and uses the TURN REST credentials it gets; ?relay=1 on the page URL makes it
relay-only. Everything on loopback (coturn relays to 127.0.0.1: allow-loopback-peers).

  udp      both pages relay-only, the server hands out only the TURN/UDP URI: every
           PeerConnection is relay-only with the fetched credentials, gathers only relay
           candidates, and selects a relay/udp local candidate; both pages decode each
           other (framesDecoded grows); coturn logs allocations for the fetched username at
           the relay addresses the pages selected, and relayed the media (peer usage).
           (Given both UDP and TCP URIs, Chromium sometimes surfaces only the TCP relay
           candidate, although coturn logged both allocations: it keeps the first TURN
           port to get ready and prunes the other. So that case would be a coin toss.)
  tcp      the server hands out only ?transport=tcp: the relay-only page selects relay/tcp
           and decodes; the other page (not relay-only) goes direct (host pair).
  refused  the server's TURN secret is not coturn's: the relay-only page gets credentials
           coturn refuses; another relay-only page gets expired REST credentials signed
           with the right secret (its /ice-servers reply is replaced by the test). Neither
           gathers a relay candidate or connects in the time the others took 100 times
           over; coturn logs 401 for both usernames and no allocation; a third page, not
           relay-only, connects to the same server (the control).

turn_driver.cjs drives the browser and reports what each PeerConnection did; this judges.

usage: test_turn_chromium.py <builddir>
"""
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
from coturn import Coturn, turn_rest_credentials  # noqa: E402
from sbtest import HTTP_PORT, Tap, builddir_from_argv, check, check_eq  # noqa: E402
from test_ice_servers import rest_credential  # noqa: E402
from test_webapp import ARTIFACTS, DIST, build_app  # noqa: E402
import turnlab  # noqa: E402

SECRET = "turn-chromium-secret"
APP = "http://127.0.0.1:%d" % HTTP_PORT
SLOW = 2.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0
# Media through coturn in a few seconds of video. Subscribers start at the lowest simulcast
# layer and climb with their bandwidth estimate (docs/congestion.md): over TURN/TCP a call
# relayed 97 KB each way where the top layer from the start gave more than 100 KB.
MIN_RELAYED_BYTES = 50000


class Scenario:
    """One server configuration, one coturn, one room, one browser run."""

    def __init__(self, tap, builddir, folder, tag, room, server_secret, uris, ttl):
        self.tap, self.tag = tap, tag
        self.turn = self.server = None
        self.room = room
        self.result, self.fetches = {}, []
        try:
            self.turn = Coturn(auth_secret=SECRET, name="coturn-" + tag)
            cfg = turnlab.write_config(folder, name=tag + ".conf", turn_secret=server_secret,
                                       turn_uris=uris(self.turn), ttl=ttl)
            self.server = turnlab.start_server(builddir, "turn-" + tag, args=["-C", cfg, "--log-level", os.environ.get("SB_TURN_LOG", "info")],
                                               html_folder=DIST, ws=False)
            turnlab.create_room(HTTP_PORT, room, description="TURN " + tag)
        except Exception:
            self.close()  # what did start must not outlive the test
            raise

    def run(self, pages, mode, wait_s):
        spec = {"app": APP, "room": self.room, "pages": pages, "mode": mode,
                "waitMs": int(wait_s * 1000), "sampleMs": 2000, "artifacts": ARTIFACTS,
                "tag": self.tag}
        t0 = time.time()
        self.result, self.fetches, notes = turnlab.run_driver(spec, timeout=wait_s + 60 * SLOW)
        self.tap.note("%s: browser part took %.1f s" % (self.tag, time.time() - t0))
        for n in notes[-10:]:
            self.tap.note("%s driver: %s" % (self.tag, n))
        for name, p in self.result.get("pages", {}).items():
            for line in p.get("logs", [])[:8]:
                self.tap.note("%s %s console: %s" % (self.tag, name, line))
        return self.result

    def sample(self, page, i=-1):
        s = ((self.result.get("pages", {}).get(page) or {}).get("samples") or [])
        return s[i] if s and len(s) > (i if i >= 0 else -i - 1) else None

    def fetch(self, page):
        """The body of the page's first GET /ice-servers (checked to be a 200)."""
        got = [f for f in self.fetches if f["page"] == page]
        check(got, "%s never fetched /ice-servers" % page)
        check_eq(got[0]["status"], 200, "%s: status of GET /ice-servers" % page)
        return got[0]["body"]

    def close(self):
        if self.server is not None:
            problems = self.server.stop()
            self.tap.result("%s: server stopped cleanly, no sanitizer report" % self.tag,
                            not problems, "\n".join(problems))
            self.server.cleanup()
        if self.turn is not None:
            problems = self.turn.stop()
            self.tap.result("%s: coturn stopped cleanly" % self.tag, not problems,
                            "\n".join(problems))
            self.turn.close()


def turn_of(body):
    """(username, credential, urls) of the TURN entry of an /ice-servers body."""
    entries = [e for e in (body or {}).get("iceServers", []) if "username" in e]
    check_eq(len(entries), 1, "TURN entries in %r" % body)
    e = entries[0]
    return e["username"], e["credential"], e["urls"]


def check_fetched(sc, page, secret, want_urls):
    """The page fetched credentials from the endpoint that are valid for `secret`; every
    PeerConnection it made used them. Returns the username."""
    username, credential, urls = turn_of(sc.fetch(page))
    check_eq(urls, want_urls, "%s: TURN urls" % page)
    check(re.match(r"^\d+:switchboard$", username), "%s: username %r" % (page, username))
    check_eq(credential, rest_credential(secret, username), "%s: credential" % page)
    pcs = turnlab.pcs_of(sc.sample(page))
    check(pcs, "%s made no PeerConnection" % page)
    for pc in pcs:
        users = [s.get("username") for s in pc["iceServers"]]
        check(username in users, "%s PC %d used %r, not the fetched %s"
              % (page, pc["id"], users, username))
    return username


def check_relay_only(sc, page, relay_protocol):
    """Every PeerConnection of page is relay-only, gathered relay candidates only (over
    relay_protocol), and its connected pair is relay/relay_protocol on our side, host
    127.0.0.1 (the server) on the other. Returns the selected local relay addresses."""
    addrs = set()
    pcs = turnlab.pcs_of(sc.sample(page))
    check(len(pcs) >= 2, "%s: %d PeerConnections (publisher + subscriber)" % (page, len(pcs)))
    for pc in pcs:
        what = "%s PC %d (%s)" % (page, pc["id"], pc["role"])
        check_eq(pc["policy"], "relay", what + ": iceTransportPolicy")
        check(pc["candidates"], what + ": gathered no candidate")
        for c in pc["candidates"]:
            check(" typ relay " in c, what + ": gathered a non-relay candidate: " + c)
        check_eq(pc["connectionState"], "connected", what + ": state")
        sel = pc["selected"]
        what += " (pairs %s)" % pc.get("pairs")
        check(sel and sel["local"] and sel["remote"], what + ": no selected pair")
        check_eq(sel["local"]["type"], "relay", what + ": selected local candidate type")
        check_eq(sel["local"]["relayProtocol"], relay_protocol, what + ": relayProtocol")
        check(sel["local"]["url"] and ("transport=" + relay_protocol) in sel["local"]["url"],
              what + ": candidate from %r" % sel["local"]["url"])
        check_eq((sel["remote"]["type"], sel["remote"]["address"]), ("host", "127.0.0.1"),
                 what + ": remote (server) candidate")
        addrs.add("%s:%d" % (sel["local"]["address"], sel["local"]["port"]))
    return addrs


def check_decoding(sc, pages):
    """Each page decodes video from each other page: framesDecoded grew between the two
    samples on a connected subscriber PeerConnection per remote page."""
    check(sc.result.get("ok"), "driver: %s" % sc.result.get("why"))
    for page in pages:
        a, b = sc.sample(page, 0), sc.sample(page, 1)
        check(a and b, "%s: two samples" % page)
        remote = {f["id"]: f["display"] for f in b["feeds"] if f["publishing"]}
        check_eq(sorted(remote.values()), sorted(p for p in pages if p != page),
                 "%s: remote publishers" % page)
        subs_a = {pc["id"]: pc for pc in turnlab.pcs_of(a, "answerer")}
        grown = 0
        for pc in turnlab.pcs_of(b, "answerer"):
            v0 = ((subs_a.get(pc["id"]) or {}).get("inbound") or {}).get("video") or {}
            v1 = (pc.get("inbound") or {}).get("video") or {}
            if pc["connectionState"] == "connected" and \
                    v1.get("framesDecoded", 0) > v0.get("framesDecoded", 0) > 0:
                grown += 1
        check(grown >= len(pages) - 1, "%s: %d subscriber(s) with framesDecoded growing, "
              "want %d: %r" % (page, grown, len(pages) - 1,
                               [(pc["id"], pc["connectionState"], pc.get("inbound"))
                                for pc in turnlab.pcs_of(b, "answerer")]))


def check_coturn_relayed(sc, username, addrs):
    """coturn allocated for username, at the relay addresses the pages selected, and
    (once the pages left) reports media relayed to and from peers."""
    turn = sc.turn
    check(turn.wait_allocation(username, timeout=5), "no allocation for %s:\n%s"
          % (username, turn.tail()))
    logged = set(turnlab.relay_addrs(turn.log()))
    check(addrs and addrs <= logged, "selected relay addresses %s not among coturn's %s"
          % (sorted(addrs), sorted(logged)))
    # The pages left (Refresh lifetime 0): each closed allocation logs its peer usage.
    rb, sb = turnlab.wait_for(lambda: (lambda u: u if min(u) >= MIN_RELAYED_BYTES else None)(
        turnlab.peer_usage(turn.log(), username)), 15 * SLOW) or \
        turnlab.peer_usage(turn.log(), username)
    check(rb >= MIN_RELAYED_BYTES and sb >= MIN_RELAYED_BYTES,
          "coturn relayed %d bytes from and %d to peers for %s, want >= %d each:\n%s"
          % (rb, sb, username, MIN_RELAYED_BYTES, turn.tail(2000)))


def scenario_udp(tap, builddir, folder):
    tag = "udp"
    sc = None
    try:
        # Only the UDP URI: given UDP and TCP, Chromium relays over whichever of its
        # two allocations was ready first (TCP in about one run in eight here).
        udp_only = lambda t: [u for u in t.urls() if u.endswith("transport=udp")]  # noqa: E731
        sc = Scenario(tap, builddir, folder, tag, 4401, SECRET, udp_only, ttl=600)
        urls = udp_only(sc.turn)
        sc.run([{"name": "alice", "relay": True}, {"name": "bob", "relay": True}],
               "connect", 40 * SLOW)
        users = {}
        with tap.case("udp: both pages fetched TURN credentials from /ice-servers, valid "
                      "for coturn's secret, and every PeerConnection used them"):
            for p in ("alice", "bob"):
                users[p] = check_fetched(sc, p, SECRET, urls)
        with tap.case("udp: both relay-only pages decode each other's video"):
            check_decoding(sc, ["alice", "bob"])
        addrs = set()
        with tap.case("udp: every PeerConnection relay-only, relay candidates only, "
                      "selected pair relay/udp to the server's host candidate"):
            for p in ("alice", "bob"):
                addrs |= check_relay_only(sc, p, "udp")
        with tap.case("udp: coturn allocated for the fetched username at the selected "
                      "relay addresses and relayed the media"):
            check_eq(sorted(users), ["alice", "bob"], "pages with fetched credentials")
            for u in set(users.values()):
                check_coturn_relayed(sc, u, addrs)
    except Exception as e:  # noqa: BLE001 - a broken setup is a failure, then go on
        tap.result("udp: scenario ran", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if sc is not None:
            sc.close()


def scenario_tcp(tap, builddir, folder):
    tag = "tcp"
    sc = None
    try:
        tcp_only = lambda t: [u for u in t.urls() if u.endswith("transport=tcp")]  # noqa: E731
        sc = Scenario(tap, builddir, folder, tag, 4402, SECRET, tcp_only, ttl=700)
        urls = tcp_only(sc.turn)
        sc.run([{"name": "carol", "relay": True}, {"name": "dave", "relay": False}],
               "connect", 40 * SLOW)
        users = {}
        with tap.case("tcp: the server handed out only the TURN/TCP URI, with valid "
                      "credentials, used by every PeerConnection"):
            for p in ("carol", "dave"):
                users[p] = check_fetched(sc, p, SECRET, urls)
        with tap.case("tcp: the relay-only page and the direct page decode each other"):
            check_decoding(sc, ["carol", "dave"])
        addrs = set()
        with tap.case("tcp: the relay-only page selected relay/tcp on every "
                      "PeerConnection"):
            addrs = check_relay_only(sc, "carol", "tcp")
        with tap.case("tcp: the page that is not relay-only selected host pairs"):
            for pc in turnlab.pcs_of(sc.sample("dave")):
                check_eq(pc["policy"], "all", "dave PC %d policy" % pc["id"])
                sel = pc["selected"] or {}
                check_eq((sel.get("local") or {}).get("type"), "host",
                         "dave PC %d selected local type" % pc["id"])
        with tap.case("tcp: coturn allocated for the fetched username at the selected "
                      "relay addresses and relayed the media"):
            check_coturn_relayed(sc, users["carol"], addrs)
    except Exception as e:  # noqa: BLE001
        tap.result("tcp: scenario ran", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if sc is not None:
            sc.close()


def scenario_refused(tap, builddir, folder, watch_s):
    tag = "refused"
    sc = None
    wrong = "not-" + SECRET
    try:
        sc = Scenario(tap, builddir, folder, tag, 4403, wrong, lambda t: t.urls(), ttl=800)
        urls = sc.turn.urls()
        # Expired an hour ago, signed with coturn's own secret: only the time is wrong.
        old_user, old_cred = turn_rest_credentials(SECRET, "expired-eve", -3600)
        expired = {"iceServers": [{"urls": urls, "username": old_user,
                                   "credential": old_cred}], "ttl": 600}
        sc.run([{"name": "mallory", "relay": True},
                {"name": "eve", "relay": True, "iceReply": expired},
                {"name": "frank", "relay": False}], "fail", watch_s)
        users = {}
        with tap.case("refused: the wrong-secret page used the endpoint's credentials "
                      "(signed with the server's secret, not coturn's)"):
            users["mallory"] = check_fetched(sc, "mallory", wrong, urls)
            check(rest_credential(SECRET, users["mallory"]) !=
                  turn_of(sc.fetch("mallory"))[1], "credential valid for coturn's secret")
        with tap.case("refused: the expired-credentials page used them on every "
                      "PeerConnection"):
            pcs = turnlab.pcs_of(sc.sample("eve"))
            check(pcs, "eve made no PeerConnection")
            for pc in pcs:
                check_eq([s.get("username") for s in pc["iceServers"]], [old_user],
                         "eve PC %d usernames" % pc["id"])
                check_eq(pc["policy"], "relay", "eve PC %d policy" % pc["id"])
        for page in ("mallory", "eve"):
            with tap.case("refused: %s gathered no relay candidate and never connected "
                          "in %.0f s" % (page, watch_s)):
                pcs = turnlab.pcs_of(sc.sample(page))
                check(pcs, "%s made no PeerConnection" % page)
                for pc in pcs:
                    what = "%s PC %d (%s)" % (page, pc["id"], pc["role"])
                    check_eq(pc["policy"], "relay", what + ": policy")
                    check_eq(pc["candidates"], [], what + ": gathered candidates")
                    relays = [c for c in pc["localCandidates"] if c["type"] == "relay"]
                    check_eq(relays, [], what + ": relay candidates in getStats")
                    ever = [s for s, _ in pc["states"] if s == "connected"]
                    check(not ever and pc["connectionState"] != "connected",
                          what + ": connected (%r)" % pc["states"])
                    check_eq(pc["selected"], None, what + ": selected pair")
        for page in ("mallory", "eve"):
            with tap.case("refused: %s's page says the relay refused it, not 'connecting' "
                          "forever" % page):
                smp = sc.sample(page) or {}
                check_eq((smp.get("me") or {}).get("connection"), "failed", page + ": state")
                check("relay (TURN) server refused" in (smp.get("notice") or ""),
                      page + ": notice %r" % smp.get("notice"))
        with tap.case("refused: coturn answered 401 to both usernames and allocated "
                      "nothing"):
            log = sc.turn.log()
            refused_users = {u for _, u in turnlab.refused(log)}
            for u in (users.get("mallory"), old_user):
                check(u in refused_users, "no 401 for %s in coturn's log:\n%s"
                      % (u, sc.turn.tail(2500)))
            check_eq(sc.turn.allocations(), [], "coturn allocations")
        with tap.case("refused: control: a page that is not relay-only connects to the "
                      "same server meanwhile"):
            pcs = turnlab.pcs_of(sc.sample("frank"), "offerer")
            smp = sc.sample("frank") or {}
            tap.note("frank's PeerConnections: %r; me %r; notice %r"
                     % ([(p.get("id"), p.get("role"), p["connectionState"], p.get("states"),
                          len(p.get("candidates") or []), p.get("policy"))
                         for p in turnlab.pcs_of(smp)], smp.get("me"), smp.get("notice")))
            check(pcs, "frank has no publisher PeerConnection")
            check_eq(pcs[0]["connectionState"], "connected", "frank's publisher")
            check_eq(((pcs[0]["selected"] or {}).get("local") or {}).get("type"), "host",
                     "frank's selected local type")
        with tap.case("refused: the server never announced the refused pages as "
                      "publishers (their media never came up)"):
            feeds = {f["display"]: f for f in (sc.sample("frank") or {}).get("feeds", [])}
            for page in ("mallory", "eve"):
                check(page in feeds, "frank does not see %s in the room: %r" % (page, feeds))
                check(not feeds[page]["publishing"], "%s announced as publishing" % page)
    except Exception as e:  # noqa: BLE001
        tap.result("refused: scenario ran", False, "%s: %s" % (type(e).__name__, e))
    finally:
        if sc is not None:
            sc.close()


def main():
    tap = Tap("turn-chromium")
    builddir = builddir_from_argv()
    why = turnlab.missing()
    if why:
        tap.result("Chromium test prerequisites", False, why)
        tap.exit()
    problem = build_app(tap)
    tap.result("html/dist is built", problem is None, problem)
    if problem:
        tap.exit()
    os.makedirs(ARTIFACTS, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="sbtest-turn-")
    try:
        scenario_udp(tap, builddir, folder)
        scenario_tcp(tap, builddir, folder)
        scenario_refused(tap, builddir, folder, watch_s=12 * SLOW)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    tap.exit()


if __name__ == "__main__":
    main()
