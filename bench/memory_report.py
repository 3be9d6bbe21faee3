#!/usr/bin/python3
"""Who holds the heap at its peak (used by bench/profile.sh --tool heaptrack).

    memory_report.py PEAK_STACKS PEERCONNECTIONS [MAPS]
        PEAK_STACKS: `heaptrack_print --flamegraph-cost-type peak -F FILE`, one line per
        backtrace, "outermost;...;innermost BYTES" (the allocation function itself left out).
        MAPS: /proc/PID/maps of the server, to place frames that have no symbol.

Each backtrace is charged to its innermost frame that is not allocation plumbing: malloc
wrappers (sb_malloc, g_malloc, CRYPTO_malloc, ...) and GLib/GObject containers are skipped,
so a g_hash_table_insert made by sb_* code is Switchboard's memory and the same call made
inside libnice is libnice's. usrsctp (data channels) is its own line, with its top frames. Switchboard's own code is every sb_* and lg_* function (core and
plugins, which have symbols); other frames are placed by name or, without one, by the library
their address falls in.
"""
import bisect
import re
import sys

WRAPPERS = re.compile(
    r"^(sb_(malloc|calloc|realloc|strdup|strndup|memdup)|g_.*|_g_.*|CRYPTO_(malloc|zalloc|"
    r"realloc|clear_realloc|memdup|strdup|strndup)|BUF_MEM_grow.*|OPENSSL_sk_.*|"
    r"PORT_(Alloc|ZAlloc|ArenaAlloc|ArenaZAlloc)_Util|PL_ArenaAllocate|operator new.*|json_.*|jsonp_.*|"
    r"hashtable_.*)$")
BY_NAME = [
    ("Switchboard", re.compile(r"^(sb_|lg_|main$)")),
    ("libnice", re.compile(r"^(nice_|stun_|pseudo_tcp_)")),
    ("OpenSSL", re.compile(r"^(SSL_|ssl_|tls_|dtls1_|EVP_|OSSL_|ossl_|CRYPTO_|BN_|EC_|X509|ASN1_|"
                           r"RAND_|PEM_|BIO_|ERR_|OBJ_|OPENSSL_|HMAC|EVP|ENGINE_|CONF_|RSA_)")),
    ("libsrtp2+NSS", re.compile(r"^(srtp_|NSS_|PK11_|SECMOD_|SEC_|PR_|sftk|NSC_|BL_)")),
    ("libmicrohttpd/jansson/lws", re.compile(r"^(MHD_|json_|lws_)")),
    ("usrsctp", re.compile(r"^(usrsctp_|sctp_|sctp6_|sctpconn_|m_get|m_clget|m_pullup|m_copym|"
                           r"soalloc|sonewconn|userspace_)")),
]
BY_LIB = [
    ("GLib", re.compile(r"lib(glib|gobject|gio|gmodule)-2")),
    ("libnice", re.compile(r"libnice")),
    ("OpenSSL", re.compile(r"lib(ssl|crypto)\.so")),
    ("libsrtp2+NSS", re.compile(r"lib(srtp2|nss|softokn|freebl|nspr|plc|plds|smime)")),
    ("libmicrohttpd/jansson/lws", re.compile(r"lib(microhttpd|jansson|websockets)")),
    ("usrsctp", re.compile(r"libusrsctp")),
    ("libc and loader", re.compile(r"(libc\.so|ld-linux|libstdc)")),
    ("Switchboard", re.compile(r"(/switchboard$|libsb_)")),
]


def load_maps(path):
    spans = []
    try:
        for line in open(path):
            parts = line.split()
            if len(parts) >= 6 and "x" in parts[1]:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                spans.append((lo, hi, parts[5]))
    except OSError:
        pass
    spans.sort()
    return spans, [s[0] for s in spans]


def lib_of(addr, maps):
    spans, starts = maps
    i = bisect.bisect_right(starts, addr) - 1
    if i >= 0 and spans[i][0] <= addr < spans[i][1]:
        return spans[i][2]
    return ""


def owner(stack, maps):
    for f in reversed(stack.split(";")):
        name = re.sub(r"\s*\(.*\)\s*$", "", f.strip())
        if not name:
            continue
        if name.startswith("0x"):
            lib = lib_of(int(name, 16), maps)
            who = next((w for w, rx in BY_LIB if rx.search(lib)), "other")
            if who == "GLib":
                continue  # plumbing: charge the caller
            return who, lib.rsplit("/", 1)[-1] or name
        if WRAPPERS.match(name):
            continue
        return next((w for w, rx in BY_NAME if rx.match(name)), "other"), name
    return "other", "?"


def main():
    path, pcs = sys.argv[1], max(int(sys.argv[2]), 1)
    maps = load_maps(sys.argv[3]) if len(sys.argv) > 3 else ([], [])
    by, ours = {}, {}
    total = 0
    for line in open(path, errors="replace"):
        m = re.match(r"^(.*?);? (\d+)$", line.rstrip("\n"))
        if not m:
            continue
        n = int(m.group(2))
        who, frame = owner(m.group(1), maps)
        by[who] = by.get(who, 0) + n
        if who in ("Switchboard", "usrsctp"):
            ours.setdefault(who, {})
            ours[who][frame] = ours[who].get(frame, 0) + n
        total += n
    print("heap at its peak: %.0f KiB for %d PeerConnections (%.0f bytes each)"
          % (total / 1024, pcs, total / pcs))
    print("%-28s %10s %14s" % ("allocated by", "KiB", "bytes per PC"))
    for who, n in sorted(by.items(), key=lambda kv: -kv[1]):
        print("%-28s %10.0f %14.0f" % (who, n / 1024, n / pcs))
    for who, top in (("Switchboard", 15), ("usrsctp", 10)):
        if who not in ours:
            continue
        print("%s's own, by allocating function (top %d):" % (who, top))
        for frame, n in sorted(ours[who].items(), key=lambda kv: -kv[1])[:top]:
            print("  %-40s %8.0f bytes per PC" % (frame, n / pcs))


if __name__ == "__main__":
    sys.exit(main())
