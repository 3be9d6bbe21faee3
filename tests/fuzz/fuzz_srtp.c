/* Fuzz target: SRTP and SRTCP unprotect of hostile packets (EVP and libsrtp2 side by side,
 * every profile), and the round trip of whatever parses as RTP, then as RTCP: protect, then
 * unprotect must give the plaintext back, a flipped bit must be refused, and a second
 * delivery is a replay.
 * The input's first byte picks the profile; the rest is the packet.
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -I src -I <builddir>
 *   tests/fuzz/fuzz_srtp.c src/proto/srtp*.c src/base/{alloc,error,log}.c -lsrtp2 -lcrypto
 *   $(pkg-config --libs glib-2.0)
 *   -o fuzz_srtp */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "proto/srtp.h"

#define FUZZ_MAX 2048

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            abort();                                                                          \
    } while (0)

static const sb_srtp_profile_t profiles[] = {
    SB_SRTP_AES128_CM_SHA1_80,
    SB_SRTP_AES128_CM_SHA1_32,
    SB_SRTP_AEAD_AES_128_GCM,
    SB_SRTP_AEAD_AES_256_GCM,
};
#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* Fixed keys: both ends of one call per profile; new sessions per input so no state leaks
 * from one input to the next. */
static void keys_for(sb_srtp_profile_t p, sb_srtp_keys_t *k)
{
    size_t kl = 0, sl = 0;
    sb_srtp_profile_lengths(p, &kl, &sl);
    memset(k, 0, sizeof(*k));
    k->profile = p;
    k->key_len = (uint8_t)kl;
    k->salt_len = (uint8_t)sl;
    for (size_t i = 0; i < kl; i++)
        k->local_key[i] = k->remote_key[i] = (uint8_t)(0x11 * i + 3);
    for (size_t i = 0; i < sl; i++)
        k->local_salt[i] = k->remote_salt[i] = (uint8_t)(0x5a ^ i);
}

static uint8_t pkt[FUZZ_MAX + 64], a[FUZZ_MAX + 64], b[FUZZ_MAX + 64];

/* The same input as SRTCP: received, both implementations agree; as plaintext RTCP, the round
 * trip through out (an EVP session, the default) and fresh inbound sessions. */
static void fuzz_rtcp(const sb_srtp_keys_t *k, sb_srtp_session_t *out, const uint8_t *data,
                      size_t size)
{
    size_t n = size - 1;
    sb_srtp_session_t *evp = NULL, *lib = NULL;
    CHECK(sb_srtp_session_new_impl(k, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP, &evp) == 0);
    CHECK(sb_srtp_session_new_impl(k, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP, &lib) == 0);
    size_t la = n, lb = n;
    memcpy(a, data + 1, n);
    memcpy(b, data + 1, n);
    int ra = sb_srtp_unprotect_rtcp(evp, a, &la);
    int rb = sb_srtp_unprotect_rtcp(lib, b, &lb);
    CHECK(ra == rb);
    CHECK(ra != 0 || (la == lb && memcmp(a, b, la) == 0));
    sb_srtp_session_free(evp);
    sb_srtp_session_free(lib);
    CHECK(sb_srtp_session_new_impl(k, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP, &evp) == 0);
    CHECK(sb_srtp_session_new_impl(k, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP, &lib) == 0);
    memcpy(pkt, data + 1, n);
    size_t lp = n;
    if (sb_srtp_protect_rtcp(out, pkt, &lp, sizeof(pkt)) == 0) {
        memcpy(a, pkt, lp);
        la = lp;
        CHECK(sb_srtp_unprotect_rtcp(evp, a, &la) == 0);
        CHECK(la == n && memcmp(a, data + 1, n) == 0);
        memcpy(b, pkt, lp);
        lb = lp;
        CHECK(sb_srtp_unprotect_rtcp(lib, b, &lb) == 0);
        memcpy(a, pkt, lp);
        la = lp;
        CHECK(sb_srtp_unprotect_rtcp(evp, a, &la) == SB_EPROTO); /* replay */
        memcpy(a, pkt, lp);
        a[(data[0] >> 2) % lp] ^= (uint8_t)(1u << (data[0] & 7));
        la = lp;
        CHECK(sb_srtp_unprotect_rtcp(evp, a, &la) != 0);
    }
    sb_srtp_session_free(evp);
    sb_srtp_session_free(lib);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        CHECK(sb_srtp_init() == 0);
        ready = true;
    }
    if (size < 2 || size - 1 > FUZZ_MAX)
        return 0;
    sb_srtp_keys_t k;
    keys_for(profiles[data[0] % N_PROFILES], &k);
    size_t n = size - 1;
    sb_srtp_session_t *out = NULL, *evp = NULL, *lib = NULL;
    CHECK(sb_srtp_session_new_impl(&k, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO, &out) == 0);
    CHECK(sb_srtp_session_new_impl(&k, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP, &evp) == 0);
    CHECK(sb_srtp_session_new_impl(&k, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP, &lib) == 0);

    /* The input as a received packet: both implementations accept or refuse it alike (the
     * reason may differ: libsrtp2 checks the header against the length with the tag). */
    size_t la = n, lb = n;
    memcpy(a, data + 1, n);
    memcpy(b, data + 1, n);
    int ra = sb_srtp_unprotect_rtp(evp, a, &la);
    int rb = sb_srtp_unprotect_rtp(lib, b, &lb);
    CHECK((ra == 0) == (rb == 0));
    CHECK(ra != 0 || (la == lb && memcmp(a, b, la) == 0));

    /* The input as plaintext RTP: protect, unprotect gives it back, a damaged copy and a
     * repeat are refused. Fresh inbound sessions: what was accepted above is history. */
    sb_srtp_session_free(evp);
    sb_srtp_session_free(lib);
    CHECK(sb_srtp_session_new_impl(&k, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP, &evp) == 0);
    CHECK(sb_srtp_session_new_impl(&k, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP, &lib) == 0);
    memcpy(pkt, data + 1, n);
    size_t lp = n;
    if (sb_srtp_protect_rtp(out, pkt, &lp, sizeof(pkt)) == 0) {
        memcpy(a, pkt, lp);
        la = lp;
        CHECK(sb_srtp_unprotect_rtp(evp, a, &la) == 0);
        CHECK(la == n && memcmp(a, data + 1, n) == 0);
        memcpy(b, pkt, lp);
        lb = lp;
        CHECK(sb_srtp_unprotect_rtp(lib, b, &lb) == 0);
        memcpy(a, pkt, lp);
        la = lp;
        CHECK(sb_srtp_unprotect_rtp(evp, a, &la) == SB_EPROTO); /* replay */
        memcpy(a, pkt, lp);
        a[(data[0] >> 2) % lp] ^= (uint8_t)(1u << (data[0] & 7));
        la = lp;
        /* Damaged: refused by both (as a forgery, or as a replay when only the sequence
         * number changed into one already seen... which cannot authenticate either). */
        CHECK(sb_srtp_unprotect_rtp(evp, a, &la) != 0);
    }
    sb_srtp_session_free(evp);
    sb_srtp_session_free(lib);
    fuzz_rtcp(&k, out, data, size);
    sb_srtp_session_free(out);
    return 0;
}
