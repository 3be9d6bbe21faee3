#!/usr/bin/python3
"""Where a server's time goes, by the innermost Switchboard function on each sample's stack.

    perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -p PID -- sleep S
    perf script -F comm,tid,ip,sym,dso > script.txt
    bench/perf_stages.py script.txt [TOP] [CPU_US_PER_UNIT]

Each sample is charged to the first sb_* frame met walking from the leaf towards the root
(sb_ice_send: the UDP send and everything the kernel does under it; sb_dtls_read_app: OpenSSL
decrypting a record; sb_sctp_input: usrsctp's input processing; ...), and split by the library
the leaf is in. With CPU_US_PER_UNIT (the server's CPU per relayed message, per MB echoed...,
from sb-loadgen's summary), each line also shows its share of it in microseconds. Record with
--call-graph dwarf: frame-pointer stacks break in libc and usrsctp (built without them)."""
import collections
import re
import sys


def samples(path):
    cur = None
    for line in open(path, errors="replace"):
        if not line.strip():
            if cur is not None:
                yield cur
            cur = None
            continue
        if not line[0].isspace():
            cur = []
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m and cur is not None:
            cur.append((m.group(1), m.group(2).rsplit("/", 1)[-1]))
    if cur is not None:
        yield cur


def library(dso):
    for key, name in (("kernel", "kernel"), ("usrsctp", "usrsctp"), ("libcrypto", "OpenSSL"),
                      ("libssl", "OpenSSL"), ("libc.so", "libc"), ("switchboard", "Switchboard"),
                      ("libsb_", "Switchboard"), ("libglib", "GLib"), ("libgio", "GLib"),
                      ("libgobject", "GLib"), ("libnice", "libnice")):
        if key in dso:
            return name
    return "other"


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    per_unit = float(sys.argv[3]) if len(sys.argv) > 3 else None
    by, split, libs = collections.Counter(), collections.defaultdict(collections.Counter), \
        collections.Counter()
    n = 0
    for st in samples(path):
        if not st:
            continue
        n += 1
        leaf = library(st[0][1])
        libs[leaf] += 1
        owner = next((s for s, _ in st if s.startswith("sb_")), "(no sb_ frame) " + st[-1][0])
        by[owner] += 1
        split[owner][leaf] += 1
    print("%d samples" % n)
    print("by library (leaf): " + ", ".join("%s %.1f%%" % (k, 100.0 * v / n)
                                             for k, v in libs.most_common()))
    for owner, v in by.most_common(top):
        extra = " %8.2f us" % (per_unit * v / n) if per_unit else ""
        print("%5.1f%%%s  %-30s %s" % (100.0 * v / n, extra, owner, ", ".join(
            "%s %.1f" % (k, 100.0 * c / n) for k, c in split[owner].most_common(4))))


if __name__ == "__main__":
    sys.exit(main())
