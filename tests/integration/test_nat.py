"""The server behind a 1:1 NAT (a cloud VM), reached by an aiortc EchoTest client that is
itself behind a home router (masquerading NAT + stateful firewall). lib/netns.py builds:

  own ns (server)       nat11 ns (1:1 NAT)               isp ns                home ns            client ns
  198.18.40.2/24 ---- 198.18.40.1 | 198.18.41.2   ---- 198.18.41.1 |        ---- 198.18.43.2 |
                                  | + 198.18.41.10         198.18.43.1       198.18.42.1 ---- 198.18.42.2
                                  (public address)    coturn STUN at
                                                      198.18.41.1:3478

  nat11: DNAT 198.18.41.10 -> 198.18.40.2 (every port, so HTTP and ICE), SNAT back; its
         forward chain drops everything into the private side that is neither established
         nor DNATed to the server (counted).
  isp:   routes only 198.18.41.0/24 and 198.18.43.0/24: packets for the private subnets are
         dropped there (counted in prerouting).
  home:  masquerade out of 198.18.43.2; forward chain lets in only established/related
         (counted drops), like a home router.

The switchboard runs in the test's own namespace, HTTP bound to 198.18.40.2 (--bind) and
host candidates only from 198.18.40.0/24 (--ice-enforce-list); the client reaches the API
at http://198.18.41.10:18088 through both NATs. The client (this file run with --client,
inside the client namespace) sends its whole offer in the SDP, adds the server's trickled
candidates, and reports what it got.

Cases:
  lab      the 1:1 NAT and the home NAT behave: a STUN Binding to coturn from the server
           sees 198.18.41.10, from the client 198.18.43.2; nothing unsolicited gets into
           either private side.
  mapping  --nat-1-1 198.18.41.10: start-up line, the answer's (and trickled) host
           candidates carry 198.18.41.10 and never 198.18.40.2; the client connects, the
           Janus webrtcup event comes, audio and video decode, and the client's selected
           pair's remote side is 198.18.41.10.
  control  the same without mapping or STUN: only 198.18.40.2 announced, no connection in
           the time the mapped call took many times over, no webrtcup, the client's checks
           to 198.18.40.2 die at the ISP (counted).
  stun     --stun-server 198.18.41.1 (no mapping): start-up line "public address
           198.18.41.10, as STUN server 198.18.41.1:3478 sees us"; an srflx candidate
           198.18.41.10 raddr 198.18.40.2 in the answer or trickle; the client connects
           through it and decodes.
  stun-down a STUN server that does not answer: the start-up warning, the server still up.
  keep     nat_1_1_mapping + keep_private_host (config file): both 198.18.41.10 and
           198.18.40.2 announced (the public one first by priority); the call connects
           through the public one.
  two      --nat-1-1 198.18.41.10,198.18.41.11: both announced for the one host address.

usage: test_nat.py <builddir>
"""
import asyncio
import json
import os
import re
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

SERVER, NAT_LAN = "198.18.40.2", "198.18.40.1"
ISP_A, NAT_WAN, PUBLIC, PUBLIC2 = "198.18.41.1", "198.18.41.2", "198.18.41.10", "198.18.41.11"
ISP_B, HOME_WAN = "198.18.43.1", "198.18.43.2"
HOME_LAN, CLIENT = "198.18.42.1", "198.18.42.2"
PORT = 18088
STUN_PORT = 3478
SLOW = 2.0 if os.environ.get("SB_TEST_SANITIZED") else 1.0


# ---------------------------------------------------------------------------------------
# The client: run in the client namespace as `test_nat.py --client '{json}'`; prints one
# JSON line with what it saw.
# ---------------------------------------------------------------------------------------

def client_main(opts):
    import http.client
    import sbaiortc
    from aiortc import RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp

    sbaiortc.local_addresses([opts["local"]])
    host, port = opts["api"]
    out = {"connected": False, "webrtcup": False, "trickled": [], "frames": {},
           "states": [], "hangup": None}

    def post(path, body, timeout=10):
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            c.request("POST", "/janus" + path, body=json.dumps(body),
                      headers={"Content-Type": "application/json"})
            return json.loads(c.getresponse().read())
        finally:
            c.close()

    def poll(sid):
        c = http.client.HTTPConnection(host, port, timeout=40)
        try:
            c.request("GET", "/janus/%d?maxev=10" % sid)
            r = json.loads(c.getresponse().read())
            return r if isinstance(r, list) else [r]
        finally:
            c.close()

    async def run():
        t0 = time.time()
        sid = post("", {"janus": "create", "transaction": "c"})["data"]["id"]
        hid = post("/%d" % sid, {"janus": "attach", "plugin": "janus.plugin.echotest",
                                 "transaction": "a"})["data"]["id"]
        out["signalling_ms"] = round((time.time() - t0) * 1000)
        events = []
        stop = {"v": False}

        async def poller():
            while not stop["v"]:
                try:
                    evs = await asyncio.to_thread(poll, sid)
                except Exception:  # noqa: BLE001 - the session went away at the end
                    return
                events.extend(evs)

        ptask = asyncio.ensure_future(poller())
        pc = sbaiortc.new_pc()
        consumers = []

        @pc.on("track")
        def on_track(track):
            consumers.append(asyncio.ensure_future(sbaiortc.consume(track, out["frames"])))

        @pc.on("iceconnectionstatechange")
        def on_ice():
            out["states"].append([round((time.time() - t1) * 1000), pc.iceConnectionState])

        pc.addTrack(sbaiortc.ToneTrack())
        pc.addTrack(sbaiortc.PatternTrack())
        await pc.setLocalDescription(await pc.createOffer())
        out["offer_candidates"] = re.findall(r"^a=candidate:(.*)$",
                                             pc.localDescription.sdp, re.M)
        t1 = time.time()
        post("/%d/%d" % (sid, hid), {"janus": "message", "transaction": "o",
                                     "body": {"audio": True, "video": True},
                                     "jsep": {"type": "offer",
                                              "sdp": pc.localDescription.sdp}})
        answer, seen = None, 0
        deadline = time.time() + 10 * opts["slow"]
        while answer is None and time.time() < deadline:
            for e in events:
                if e.get("janus") == "event" and e.get("jsep"):
                    answer = e["jsep"]
            await asyncio.sleep(0.02)
        if answer is None:
            out["error"] = "no answer: %r" % events
            return
        out["answer_sdp"] = answer["sdp"]
        out["answer_ms"] = round((time.time() - t1) * 1000)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        mid = pc.getTransceivers()[0].mid
        up_deadline = time.time() + opts["up_timeout"]
        media_end = None
        while time.time() < up_deadline or (media_end and time.time() < media_end):
            for e in events[seen:]:
                j = e.get("janus")
                if j == "trickle":
                    c = e.get("candidate") or {}
                    if c.get("candidate"):
                        out["trickled"].append(c["candidate"])
                        cand = candidate_from_sdp(c["candidate"].split(":", 1)[1])
                        cand.sdpMid = mid
                        await pc.addIceCandidate(cand)
                    elif c.get("completed"):
                        out["trickle_completed"] = True
                elif j == "webrtcup":
                    out["webrtcup"] = True
                    out["webrtcup_ms"] = round((time.time() - t1) * 1000)
                elif j == "hangup":
                    out["hangup"] = e.get("reason")
                    out["hangup_ms"] = round((time.time() - t1) * 1000)
            seen = len(events)
            if not out["connected"] and pc.iceConnectionState == "completed":
                out["connected"] = True
                out["connect_ms"] = round((time.time() - t1) * 1000)
            if media_end is None and out["webrtcup"] and out["frames"].get("video", 0) > 0:
                out["first_frame_ms"] = round((time.time() - t1) * 1000)
                media_end = time.time() + opts["media_s"]
            if out["hangup"] or pc.iceConnectionState == "failed":
                break
            if media_end and time.time() >= media_end:
                break
            await asyncio.sleep(0.05)
        out["ice_state"] = pc.iceConnectionState
        out["selected"] = selected_pair(pc)
        stats = await pc.getStats()
        out["packets"] = {s.kind: s.packetsReceived for s in stats.values()
                          if s.type == "inbound-rtp"}
        try:
            post("/%d/%d" % (sid, hid), {"janus": "hangup", "transaction": "h"})
            post("/%d" % sid, {"janus": "destroy", "transaction": "d"})
        except Exception as e:  # noqa: BLE001
            out["teardown_error"] = str(e)
        stop["v"] = True
        for c in consumers:
            c.cancel()
        try:
            await asyncio.wait_for(pc.close(), 5)
        except Exception:  # noqa: BLE001 - a failed ICE may not close quickly
            pass
        ptask.cancel()

    try:
        asyncio.run(asyncio.wait_for(run(), opts["up_timeout"] + opts["media_s"] + 40))
    except Exception as e:  # noqa: BLE001
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out), flush=True)
    os._exit(0)  # aiortc's leftover tasks may hold the loop


def selected_pair(pc):
    """The pair aioice nominated on the (bundled) transport: addresses and types."""
    for t in pc.getTransceivers():
        try:
            conn = t.sender.transport.transport._connection
        except AttributeError:
            continue
        pair = conn._nominated.get(1)
        if pair:
            return {"local": "%s:%d" % pair.local_addr, "remote": "%s:%d" % pair.remote_addr,
                    "local_type": pair.local_candidate.type,
                    "remote_type": pair.remote_candidate.type}
    return None


if len(sys.argv) >= 3 and sys.argv[1] == "--client":
    client_main(json.loads(sys.argv[2]))

# ---------------------------------------------------------------------------------------
# The test.
# ---------------------------------------------------------------------------------------

import netns  # noqa: E402
from coturn import Coturn  # noqa: E402
from sbtest import Server, Tap, builddir_from_argv, check, check_eq  # noqa: E402
from turnclient import TurnClient  # noqa: E402




class NatLab:
    def __init__(self):
        self.lab = netns.Lab()
        try:
            self._build()
        except BaseException:
            self.lab.close()
            raise

    def _build(self):
        lab = self.lab
        self.nat, self.isp = lab.namespace("nat11"), lab.namespace("isp")
        self.home, self.client = lab.namespace("home"), lab.namespace("client")
        priv = netns.veth(netns.own(), self.nat, SERVER + "/24", NAT_LAN + "/24")
        wan = netns.veth(self.nat, self.isp, NAT_WAN + "/24", ISP_A + "/24")
        home_wan = netns.veth(self.home, self.isp, HOME_WAN + "/24", ISP_B + "/24")
        lan = netns.veth(self.client, self.home, CLIENT + "/24", HOME_LAN + "/24")
        self.server_iface = priv.name_a
        # The public address lives on the NAT's outside interface (so it answers ARP);
        # everything sent to it is DNATed to the server before routing.
        self.nat.run(["ip", "addr", "add", PUBLIC + "/24", "dev", wan.name_a])
        self.nat.run(["ip", "addr", "add", PUBLIC2 + "/24", "dev", wan.name_a])
        netns.default_route(netns.own(), NAT_LAN)
        netns.default_route(self.nat, ISP_A)
        netns.default_route(self.home, ISP_B)
        netns.default_route(self.client, HOME_LAN)
        for ns in (self.nat, self.isp, self.home):
            netns.sysctl(ns, "net.ipv4.ip_forward", 1)
        netns.nft(self.nat, """table ip nat11 {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "%(wan)s" ip daddr %(pub)s counter dnat to %(srv)s
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "%(wan)s" ip saddr %(srv)s counter snat to %(pub)s
  }
}
table inet fw11 {
  counter dropped {}
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "%(lan)s" oifname "%(wan)s" accept
    iifname "%(wan)s" oifname "%(lan)s" ct status dnat ip daddr %(srv)s accept
    counter name "dropped" drop
  }
}
""" % {"wan": wan.name_a, "lan": priv.name_b, "pub": PUBLIC, "srv": SERVER})
        netns.nft(self.isp, """table ip isp {
  counter to_server_private {}
  counter to_client_private {}
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    ip daddr 198.18.40.0/24 counter name "to_server_private"
    ip daddr 198.18.42.0/24 counter name "to_client_private"
  }
}
""")
        netns.masquerade(self.home, home_wan.name_a)
        netns.nft(self.home, """table inet homefw {
  counter blocked {}
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "%(lan)s" oifname "%(wan)s" accept
    counter name "blocked" drop
  }
}
""" % {"lan": lan.name_b, "wan": home_wan.name_a})
        self.stun = Coturn(listen=[ISP_A], port=STUN_PORT, ns=self.isp, name="nat-stun")

    def counter(self, ns, family_table, name):
        fam, table = family_table.split()
        out = ns.run(["nft", "-j", "list", "counter", fam, table, name]).stdout
        for item in json.loads(out)["nftables"]:
            if "counter" in item:
                return item["counter"]["packets"]
        return None

    def counters(self):
        return {"isp->server-private": self.counter(self.isp, "ip isp", "to_server_private"),
                "isp->client-private": self.counter(self.isp, "ip isp", "to_client_private"),
                "nat11 dropped": self.counter(self.nat, "inet fw11", "dropped"),
                "home blocked": self.counter(self.home, "inet homefw", "blocked")}

    def close(self):
        try:
            self.stun.stop()
            self.stun.close()
        finally:
            self.lab.close()


def candidates(sdp_or_lines):
    """[(transport, address, port, type, raddr)] of candidate lines."""
    if isinstance(sdp_or_lines, str):
        lines = re.findall(r"^a=(candidate:.*)$", sdp_or_lines, re.M)
    else:
        lines = list(sdp_or_lines)
    out = []
    for ln in lines:
        f = ln.strip().split()
        raddr = f[f.index("raddr") + 1] if "raddr" in f else None
        out.append((f[2].lower(), f[4], int(f[5]), f[7], raddr, int(f[3])))
    return out


def server_candidates(res):
    return candidates(res.get("answer_sdp") or "") + candidates(res.get("trickled") or [])


def run_client(lab, up_timeout, media_s=3.0):
    opts = {"api": [PUBLIC, PORT], "local": CLIENT, "up_timeout": up_timeout,
            "media_s": media_s, "slow": SLOW}
    t0 = time.time()
    p = lab.client.run(["/usr/bin/python3", os.path.abspath(__file__), "--client",
                        json.dumps(opts)], check=False, timeout=up_timeout + media_s + 60)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError("client exited %s without a result:\n%s\n%s" % (
            p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    res = json.loads(lines[-1])
    res["wall_s"] = round(time.time() - t0, 1)
    return res


def log_of(server):
    with open(server.log_path, errors="replace") as fh:
        return fh.read()


def start(builddir, name, args=()):
    return Server(builddir, args=["--bind", SERVER, "--ice-enforce-list", "198.18.40.0/24"]
                  + list(args), http_port=PORT, ws=False, name=name, wait_host=SERVER)


def stop(tap, server, tag):
    problems = server.stop()
    tap.result("%s: server stopped cleanly, no sanitizer report" % tag, not problems,
               "\n".join(problems))
    server.cleanup()


def note_call(tap, tag, res):
    keep = {k: res.get(k) for k in ("connected", "connect_ms", "webrtcup", "webrtcup_ms",
                                    "first_frame_ms", "answer_ms", "frames", "packets",
                                    "selected", "ice_state", "hangup", "hangup_ms", "error",
                                    "wall_s")}
    tap.note("%s: %s" % (tag, json.dumps(keep)))
    tap.note("%s: server candidates %s" % (tag, [c[:5] for c in server_candidates(res)]))


def check_media(res, min_video=20, min_audio=25):
    check(not res.get("error"), "client error: %s" % res.get("error"))
    check(res["connected"], "ICE did not complete: states %r" % res["states"])
    check(res["webrtcup"], "no webrtcup event")
    fr = res["frames"]
    check(fr.get("video", 0) >= min_video and fr.get("audio", 0) >= min_audio,
          "decoded frames %r, packets %r" % (fr, res.get("packets")))


def lab_cases(tap, lab):
    with tap.case("lab: STUN from the server sees the public 198.18.41.10, from the client "
                  "the home router's 198.18.43.2"):
        for ns, want in ((netns.own(), PUBLIC), (lab.client, HOME_WAN)):
            c = TurnClient(ISP_A, STUN_PORT, sock_factory=ns.socket)
            try:
                r = c.binding()
            finally:
                c.sock.close()
            check(r.ok, "no STUN answer from %s: %s" % (ns.name, r.reason))
            check_eq(r.mapped[0], want, "mapped address seen from %s" % ns.name)
    with tap.case("lab: nothing unsolicited gets into either private side, even routed "
                  "there by the ISP: the 1:1 NAT's and the home router's firewalls drop it "
                  "(counted); only the public address gets through, to the server"):
        # A hostile (or sloppy) ISP routes the private subnets to the routers for a moment.
        netns.add_route(lab.isp, "198.18.40.0/24", NAT_WAN)
        netns.add_route(lab.isp, "198.18.42.0/24", HOME_WAN)
        srv = netns.own().socket(socket.AF_INET, socket.SOCK_DGRAM)
        cli = lab.client.socket(socket.AF_INET, socket.SOCK_DGRAM)
        isp = lab.isp.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            before = lab.counters()
            srv.bind((SERVER, 7100))
            cli.bind((CLIENT, 7101))
            for s in (srv, cli):
                s.settimeout(0.5)
            isp.sendto(b"x", (SERVER, 7100))   # straight to the server's private address
            isp.sendto(b"y", (CLIENT, 7101))   # straight to the client's private address
            isp.sendto(b"p", (PUBLIC, 7100))   # the 1:1 NAT forwards this one
            got = srv.recvfrom(100)
            check_eq(got, (b"p", (ISP_A, isp.getsockname()[1])), "the server got")
            for s in (srv, cli):
                try:
                    extra = s.recvfrom(100)
                except socket.timeout:
                    continue
                raise AssertionError("unsolicited datagram arrived: %r" % (extra,))
            after = lab.counters()
            check_eq(after["nat11 dropped"] - before["nat11 dropped"], 1, "nat11 drops")
            check_eq(after["home blocked"] - before["home blocked"], 1, "home router drops")
        finally:
            for s in (srv, cli, isp):
                s.close()
            lab.isp.run(["ip", "route", "del", "198.18.40.0/24"])
            lab.isp.run(["ip", "route", "del", "198.18.42.0/24"])


def case_mapping(tap, builddir, lab, timings):
    tag = "mapping"
    server = start(builddir, "nat-mapping", ["--nat-1-1", PUBLIC])
    try:
        before = lab.counters()
        res = run_client(lab, up_timeout=15 * SLOW)
        note_call(tap, tag, res)
        with tap.case("mapping: start-up log announces 198.18.41.10 for host candidates"):
            check("[media] announcing %s for host candidates" % PUBLIC in log_of(server),
                  "no announcing line in:\n" + log_of(server)[-2000:])
        with tap.case("mapping: the server's candidates carry 198.18.41.10, never the "
                      "private 198.18.40.2"):
            cands = server_candidates(res)
            check(cands, "no candidate from the server: %r" % res.get("error"))
            addrs = {c[1] for c in cands}
            check_eq(addrs, {PUBLIC}, "addresses of the server's candidates")
            check(all(c[3] == "host" for c in cands), "types: %r" % cands)
        with tap.case("mapping: the client outside both NATs connects, gets webrtcup and "
                      "decodes the echoed audio and video"):
            check_media(res)
            timings["mapping"] = res.get("connect_ms")
        with tap.case("mapping: the client's selected pair is its host 198.18.42.2 to the "
                      "server's public 198.18.41.10"):
            sel = res.get("selected") or {}
            check_eq(sel.get("remote", "").split(":")[0], PUBLIC, "selected remote address")
            check_eq(sel.get("local", "").split(":")[0], CLIENT, "selected local address")
        after = lab.counters()
        tap.note("mapping: lab counters %s -> %s" % (before, after))
    finally:
        stop(tap, server, tag)
    return res


def case_control(tap, builddir, lab, mapped_ms):
    tag = "control"
    server = start(builddir, "nat-control")
    try:
        before = lab.counters()
        wait = 15 * SLOW
        res = run_client(lab, up_timeout=wait, media_s=0)
        note_call(tap, tag, res)
        after = lab.counters()
        tap.note("control: lab counters %s -> %s" % (before, after))
        with tap.case("control: no mapping, no STUN: only the private 198.18.40.2 is "
                      "announced"):
            check(not res.get("error"), "client error: %s" % res.get("error"))
            addrs = {c[1] for c in server_candidates(res)}
            check_eq(addrs, {SERVER}, "addresses of the server's candidates")
        with tap.case("control: the call fails ICE (the mapped call connected in %s ms): "
                      "the server hangs up with 'ICE failed' within %.0f s, no ICE "
                      "completion on the client, no webrtcup, no media" % (mapped_ms, wait)):
            check(not res["connected"], "ICE completed: %r" % res.get("selected"))
            check(not res["webrtcup"], "webrtcup came")
            check_eq(res["frames"].get("video", 0), 0, "video frames")
            check(res.get("ice_state") in ("checking", "failed", "new"),
                  "client ICE state %r" % res.get("ice_state"))
            check_eq(res.get("hangup"), "ICE failed", "the server's hangup reason")
            check(not re.search(r"WebRTC up", log_of(server)), "server says WebRTC up")
        with tap.case("control: the client's checks to 198.18.40.2 died at the ISP "
                      "(no route to a private address)"):
            d = after["isp->server-private"] - before["isp->server-private"]
            check(d >= 3, "%d packets for 198.18.40.0/24 reached the ISP" % d)
    finally:
        stop(tap, server, tag)


def case_stun(tap, builddir, lab):
    tag = "stun"
    server = start(builddir, "nat-stun", ["--stun-server", ISP_A, "--stun-port",
                                          str(STUN_PORT)])
    try:
        with tap.case("stun: start-up log: public address 198.18.41.10 as the STUN server "
                      "sees us"):
            line = "[media] public address %s, as STUN server %s:%d sees us" % (
                PUBLIC, ISP_A, STUN_PORT)
            check(line in log_of(server), "no %r in:\n%s" % (line, log_of(server)[-2000:]))
        res = run_client(lab, up_timeout=15 * SLOW)
        note_call(tap, tag, res)
        with tap.case("stun: an srflx candidate 198.18.41.10 (raddr 198.18.40.2, same port) "
                      "in the answer or trickle, beside the private host candidate"):
            cands = server_candidates(res)
            srflx = [c for c in cands if c[3] == "srflx"]
            check(srflx, "no srflx candidate: %r" % cands)
            check(any(c[1] == PUBLIC and c[4] == SERVER for c in srflx),
                  "srflx candidates %r" % srflx)
            hosts = [c for c in cands if c[3] == "host"]
            check({c[1] for c in hosts} == {SERVER}, "host candidates %r" % hosts)
            where = "answer" if candidates(res.get("answer_sdp") or "") and any(
                c[3] == "srflx" for c in candidates(res["answer_sdp"])) else "trickle"
            tap.note("stun: srflx came in the %s" % where)
        with tap.case("stun: the client connects through the srflx candidate and decodes"):
            check_media(res)
            sel = res.get("selected") or {}
            check_eq(sel.get("remote", "").split(":")[0], PUBLIC, "selected remote address")
            srflx_ports = {c[2] for c in server_candidates(res) if c[3] == "srflx"}
            check(int(sel["remote"].split(":")[1]) in srflx_ports,
                  "selected %r is not an srflx port %r" % (sel, srflx_ports))
    finally:
        stop(tap, server, tag)


def case_stun_down(tap, builddir):
    tag = "stun-down"
    server = start(builddir, "nat-stun-down", ["--stun-server", ISP_A, "--stun-port", "3479"])
    try:
        with tap.case("stun-down: a STUN server that never answers: the start-up warning, "
                      "and the server is up"):
            log = log_of(server)
            check("no answer from STUN server %s:3479" % ISP_A in log,
                  "no warning in:\n" + log[-2000:])
            check("public address" not in log, "a public address was logged")
            check(server.alive(), "server exited")
    finally:
        stop(tap, server, tag)


def case_keep(tap, builddir, lab, folder):
    tag = "keep"
    conf = os.path.join(folder, "keep.conf")
    with open(conf, "w") as f:
        f.write('nat: {\n    nat_1_1_mapping = "%s";\n    keep_private_host = true;\n};\n'
                % PUBLIC)
    server = start(builddir, "nat-keep", ["-C", conf])
    try:
        res = run_client(lab, up_timeout=15 * SLOW, media_s=1.0)
        note_call(tap, tag, res)
        with tap.case("keep: start-up line says the private addresses are kept too"):
            check("announcing %s for host candidates (and the private addresses too)" % PUBLIC
                  in log_of(server), "no line in:\n" + log_of(server)[-2000:])
        with tap.case("keep: both 198.18.41.10 and 198.18.40.2 announced, on one port, "
                      "with distinct priorities"):
            cands = [c for c in server_candidates(res) if c[0] == "udp"]
            by = {c[1]: c for c in cands}
            check_eq(set(by), {PUBLIC, SERVER}, "addresses")
            check_eq(len(cands), 2, "candidates %r" % cands)
            check_eq(by[PUBLIC][2], by[SERVER][2], "ports")
            check(by[PUBLIC][5] != by[SERVER][5], "equal priorities %r" % cands)
            tap.note("keep: priorities public %d, private %d" % (by[PUBLIC][5],
                                                                 by[SERVER][5]))
        with tap.case("keep: the call connects through the public address"):
            check_media(res, min_video=5, min_audio=10)
            check_eq((res.get("selected") or {}).get("remote", "").split(":")[0], PUBLIC,
                     "selected remote address")
    finally:
        stop(tap, server, tag)


def case_two(tap, builddir, lab):
    tag = "two"
    server = start(builddir, "nat-two", ["--nat-1-1", "%s,%s" % (PUBLIC, PUBLIC2)])
    try:
        res = run_client(lab, up_timeout=15 * SLOW, media_s=0.5)
        note_call(tap, tag, res)
        with tap.case("two: --nat-1-1 with two addresses announces both (each once), "
                      "never the private one, and the call connects"):
            cands = server_candidates(res)
            addrs = sorted(c[1] for c in cands)
            check_eq(addrs, sorted([PUBLIC, PUBLIC2]), "addresses")
            check(res["connected"] and res["webrtcup"], "no connection: %r" % res.get("states"))
    finally:
        stop(tap, server, tag)


def main():
    tap = Tap("nat")
    builddir = builddir_from_argv()
    t0 = time.time()
    folder = tempfile.mkdtemp(prefix="sbtest-nat-")
    lab = None
    try:
        lab = NatLab()
        lab_cases(tap, lab)
        timings = {}
        case_mapping(tap, builddir, lab, timings)
        case_control(tap, builddir, lab, timings.get("mapping"))
        case_stun(tap, builddir, lab)
        case_stun_down(tap, builddir)
        case_keep(tap, builddir, lab, folder)
        case_two(tap, builddir, lab)
    except Exception as e:  # noqa: BLE001 - a broken lab is a failure
        import traceback
        tap.result("lab set up and every scenario ran", False,
                   "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()[-3000:]))
    finally:
        if lab is not None:
            lab.close()
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
    tap.note("took %.1f s" % (time.time() - t0))
    tap.exit()


if __name__ == "__main__":
    main()
