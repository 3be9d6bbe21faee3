#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_http (tests/fuzz/corpus/http): real requests of the Janus HTTP
API as janus.js sends them (create, attach, message, trickle, long-poll GETs, hangup, detach,
destroy), CORS preflight, chunked and oversized bodies, Expect: 100-continue, static files and
traversal attempts, malformed requests. "$S", "$H", "$E" stand for the ids of the session, the
fuzz.http handle and the echotest handle that the target creates for each input.
Usage: tests/fuzz/http_seeds.py [OUTDIR]   (default: tests/fuzz/corpus/http)"""
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def req(method, path, body=None, headers=(), chunked=False, version="HTTP/1.1"):
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1:8088"] + list(headers)
    data = b""
    if body is not None:
        if isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body, separators=(",", ":")).encode()
        lines.append("Content-Type: application/json")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(raw) // 2
            data = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (raw[:half], raw[half:]) if p)
            data += b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(raw)}")
            data = raw
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def seeds():
    with open(os.path.join(TOP, "tests/unit/sdp/chromium_av.sdp")) as f:
        offer = f.read()
    tr = iter(f"t{i}" for i in range(1, 100))
    yield "info", [req("GET", "/janus/info")]
    yield "create-attach-poll", [
        req("POST", "/janus", {"janus": "create", "transaction": next(tr)}),
        req("POST", "/janus/$S", {"janus": "attach", "plugin": "janus.plugin.echotest",
                                  "opaque_id": "fuzz", "transaction": next(tr)}),
        req("POST", "/janus/$S", {"janus": "keepalive", "transaction": next(tr)}),
        req("GET", "/janus/$S?maxev=5")]
    yield "echotest-message-poll", [
        req("POST", "/janus/$S/$E", {"janus": "message", "transaction": next(tr),
                                     "body": {"audio": True, "video": False, "bitrate": 128000}}),
        req("GET", "/janus/$S")]
    yield "echotest-offer", [
        req("POST", "/janus/$S/$E", {"janus": "message", "transaction": next(tr),
                                     "body": {"audio": True, "video": True},
                                     "jsep": {"type": "offer", "sdp": offer}}),
        req("GET", "/janus/$S?maxev=2")]
    yield "trickle", [
        req("POST", "/janus/$S/$E", {"janus": "trickle", "transaction": next(tr), "candidate": {
            "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
            "sdpMid": "0", "sdpMLineIndex": 0}}),
        req("POST", "/janus/$S/$E", {"janus": "trickle", "transaction": next(tr), "candidates": [
            {"candidate": "candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host", "sdpMid": "0"},
            {"completed": True}]}),
        req("POST", "/janus/$S/$E", {"janus": "trickle", "transaction": next(tr),
                                     "candidate": {"completed": True}})]
    yield "fuzz-plugin-async-events", [
        req("POST", "/janus/$S/$H", {"janus": "message", "transaction": next(tr),
                                     "body": {"wait": 1, "n": 1}}),
        req("POST", "/janus/$S/$H", {"janus": "message", "transaction": next(tr),
                                     "body": {"wait": 2}}),
        req("POST", "/janus/$S/$H", {"janus": "message", "transaction": next(tr),
                                     "body": {"sync": True}}),
        req("GET", "/janus/$S?maxev=3&rid=1"),
        req("GET", "/janus/$S")]
    yield "teardown", [
        req("POST", "/janus/$S/$E", {"janus": "hangup", "transaction": next(tr)}),
        req("POST", "/janus/$S/$H", {"janus": "detach", "transaction": next(tr)}),
        req("POST", "/janus/$S", {"janus": "destroy", "transaction": next(tr)}),
        req("GET", "/janus/$S")]
    yield "cors-preflight", [
        req("OPTIONS", "/janus/$S", headers=("Origin: http://example.test",
                                             "Access-Control-Request-Method: POST",
                                             "Access-Control-Request-Headers: content-type")),
        req("POST", "/janus", {"janus": "ping", "transaction": next(tr)},
            headers=("Origin: http://example.test",))]
    yield "chunked-body", [
        req("POST", "/janus/$S", {"janus": "attach", "plugin": "fuzz.http",
                                  "transaction": next(tr)}, chunked=True)]
    yield "expect-continue", [
        req("POST", "/janus", {"janus": "create", "transaction": next(tr)},
            headers=("Expect: 100-continue",))]
    yield "too-large", [req("POST", "/janus", "{}", headers=("Content-Length: 999999",))]
    pad = json.dumps({"janus": "message", "body": {"pad": "x" * 17000}, "transaction": next(tr)})
    yield "too-large-chunked", [req("POST", "/janus/$S/$H", pad, chunked=True),
                                req("GET", "/janus/info")]
    yield "bad-json-and-paths", [
        req("POST", "/janus", '{"janus":"create","transaction":'),
        req("POST", "/janus", "[1,2,3]"),
        req("POST", "/janus/0/1", {"janus": "keepalive", "transaction": next(tr)}),
        req("POST", "/janus/$S/$H/extra", {"janus": "keepalive", "transaction": next(tr)}),
        req("PUT", "/janus/$S", {"janus": "keepalive", "transaction": next(tr)}),
        req("GET", "/janus/$S/$H"),
        req("POST", "/other", {"janus": "info"})]
    yield "static-files", [
        req("GET", "/"), req("GET", "/app.js"), req("GET", "/assets/app.css"),
        req("GET", "/room/1234"), req("GET", "/missing.png"), req("GET", "/%2e%2e/secret.txt"),
        req("GET", "/assets/../../secret.txt"), req("GET", "/a\\b")]
    yield "head-static", [req("HEAD", "/index.html"), req("HEAD", "/janus/info")]
    yield "connection-close", [
        req("POST", "/janus", {"janus": "create", "transaction": next(tr)},
            headers=("Connection: close",)),
        req("GET", "/janus/info")]
    yield "apisecret-claim", [
        req("GET", "/janus/$S?apisecret=nope"),
        req("POST", "/janus/$S", {"janus": "claim", "transaction": next(tr), "apisecret": "x"}),
        req("POST", "/janus/$S/$E", {"janus": "message", "transaction": next(tr),
                                     "body": {"audio": "yes"}})]
    yield "http10", [req("GET", "/janus/info", version="HTTP/1.0")]
    yield "bad-content-length", [b"POST /janus HTTP/1.1\r\nContent-Length: abc\r\n\r\n{}"]
    yield "garbage", [b"GARBAGE\r\n\r\n"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "tests/fuzz/corpus/http")
    os.makedirs(out, exist_ok=True)
    for name, requests in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(requests))


if __name__ == "__main__":
    main()
