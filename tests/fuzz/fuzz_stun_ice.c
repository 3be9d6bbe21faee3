/* Fuzz target: ICE's STUN after selection (src/proto/stun_ice.c) as a peer's datagram. The
 * parser, FINGERPRINT and MESSAGE-INTEGRITY checks take any bytes; when they parse, what we
 * would answer (a Binding success to the same transaction) must parse and pass both checks,
 * and a message whose integrity holds under the test key keeps holding after we read it.
 * libFuzzer: see src/proto/stun.am (ENABLE_FUZZERS); replayed over tests/fuzz/corpus/stun_ice
 * by make check (seeds: the unit test's aioice vectors, key "VOkJxbRl1RmTxUk/WvJxBt"). */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stun_ice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_hmac_sha1_t key;
    static int keyed;
    if (!keyed) {
        static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";
        sb_hmac_sha1_init(&key, (const uint8_t *)pwd, sizeof(pwd) - 1);
        keyed = 1;
    }
    sb_stun_msg_t m;
    if (sb_stun_parse(data, size, &m) != 0)
        return 0;
    (void)sb_stun_fingerprint_ok(data, size, &m);
    (void)sb_stun_integrity_ok(data, &m, &key);
    (void)sb_stun_username_is_for(&m, "ours");
    if (m.username && m.username_len > size)
        abort();

    struct sockaddr_in6 from = {.sin6_family = AF_INET6, .sin6_port = htons(4242)};
    memcpy(from.sin6_addr.s6_addr, m.txid, 12);
    uint8_t out[SB_STUN_ICE_MAX_LEN];
    size_t n = sb_stun_binding_success(out, sizeof(out), m.txid, (struct sockaddr *)&from, &key);
    sb_stun_msg_t r;
    if (n == 0 || sb_stun_parse(out, n, &r) != 0 || r.type != SB_STUN_BINDING_SUCCESS ||
        memcmp(r.txid, m.txid, 12) || !sb_stun_fingerprint_ok(out, n, &r) ||
        !sb_stun_integrity_ok(out, &r, &key))
        abort();
    return 0;
}
