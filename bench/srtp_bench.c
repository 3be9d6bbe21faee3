/* SRTP micro-benchmark: nanoseconds per protect (and unprotect) of a 1200-byte RTP packet and
 * of a 72-byte RTCP feedback packet (a transport-cc message, what each subscriber sends ~20
 * times a second) for every DTLS-SRTP profile, with libsrtp2 and the OpenSSL-EVP transforms.
 * Not a test: it prints figures for the docs. Single thread; run it on an idle machine.
 * Usage: bench/srtp_bench [packets]   (default 200000) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "proto/srtp.h"

#define SB_BENCH_PAYLOAD 1200
#define SB_BENCH_RTCP 72

static void sb_bench_keys(sb_srtp_profile_t profile, sb_srtp_keys_t *k)
{
    size_t kl, sl;
    memset(k, 0, sizeof(*k));
    sb_srtp_profile_lengths(profile, &kl, &sl);
    k->profile = profile;
    k->key_len = (uint8_t)kl;
    k->salt_len = (uint8_t)sl;
    RAND_bytes(k->local_key, (int)kl);
    RAND_bytes(k->local_salt, (int)sl);
    /* Loopback: the inbound session of the same process undoes what we protect. */
    memcpy(k->remote_key, k->local_key, kl);
    memcpy(k->remote_salt, k->local_salt, sl);
}

/* An RTP packet (seq), or an RTCP transport-cc feedback packet (RTPFB, FMT 15,
 * draft-holmer-rmcat-transport-wide-cc-extensions) of len bytes. */
static void sb_bench_packet(uint8_t *buf, size_t len, bool rtcp, uint16_t seq)
{
    memset(buf, 0x5a, len);
    if (rtcp) {
        buf[0] = 0x8f;
        buf[1] = 205;
        buf[2] = (uint8_t)((len / 4 - 1) >> 8);
        buf[3] = (uint8_t)(len / 4 - 1);
        memset(buf + 4, 0x22, 4);
        return;
    }
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    memset(buf + 4, 0x11, 4);
    memset(buf + 8, 0x22, 4);
}

static int64_t sb_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Protects n packets of size bytes in batches of SB_BENCH_BATCH, then (with in) unprotects
 * each batch in order; the clock is read once per batch so its cost stays out of the figures.
 * ns per packet out. */
#define SB_BENCH_BATCH 256
static int sb_bench_run(sb_srtp_session_t *out, sb_srtp_session_t *in, bool rtcp, size_t size,
                        unsigned n, double *prot_ns, double *unprot_ns)
{
    static uint8_t buf[SB_BENCH_BATCH][SB_BENCH_PAYLOAD + SB_SRTP_MAX_TRAILER_LEN];
    static size_t len[SB_BENCH_BATCH];
    int (*protect)(sb_srtp_session_t *, uint8_t *, size_t *, size_t) =
        rtcp ? sb_srtp_protect_rtcp : sb_srtp_protect_rtp;
    int (*unprotect)(sb_srtp_session_t *, uint8_t *, size_t *) =
        rtcp ? sb_srtp_unprotect_rtcp : sb_srtp_unprotect_rtp;
    int64_t t_prot = 0, t_unprot = 0;
    unsigned done = 0;
    while (done < n) {
        unsigned b = n - done < SB_BENCH_BATCH ? n - done : SB_BENCH_BATCH;
        for (unsigned i = 0; i < b; i++) {
            sb_bench_packet(buf[i], size, rtcp, (uint16_t)(done + i));
            len[i] = size;
        }
        int64_t t0 = sb_bench_now_ns();
        for (unsigned i = 0; i < b; i++) {
            if (protect(out, buf[i], &len[i], sizeof(buf[i])) != 0)
                return -1;
        }
        int64_t t1 = sb_bench_now_ns();
        t_prot += t1 - t0;
        if (in) {
            for (unsigned i = 0; i < b; i++) {
                if (unprotect(in, buf[i], &len[i]) != 0)
                    return -1;
            }
            t_unprot += sb_bench_now_ns() - t1;
        }
        done += b;
    }
    *prot_ns = (double)t_prot / n;
    *unprot_ns = in ? (double)t_unprot / n : 0;
    return 0;
}

/* One table: every profile, libsrtp2 then EVP. 0, or 1 when a transform failed. */
static int sb_bench_table(bool rtcp, size_t size, unsigned n)
{
    const sb_srtp_profile_t profiles[] = {SB_SRTP_AES128_CM_SHA1_80, SB_SRTP_AES128_CM_SHA1_32,
                                          SB_SRTP_AEAD_AES_128_GCM, SB_SRTP_AEAD_AES_256_GCM};
    const char *impl_names[] = {"", "libsrtp2", "evp"};
    printf("%-24s %-9s %12s %14s   (%u %s packets of %zu bytes)\n", "profile", "impl", "protect ns",
           "unprotect ns", n, rtcp ? "RTCP" : "RTP", size);
    for (size_t p = 0; p < sizeof(profiles) / sizeof(profiles[0]); p++) {
        for (int impl = SB_SRTP_IMPL_LIBSRTP; impl <= SB_SRTP_IMPL_EVP; impl++) {
            sb_srtp_keys_t k;
            sb_bench_keys(profiles[p], &k);
            sb_srtp_session_t *out = NULL, *in = NULL;
            if (sb_srtp_session_new_impl(&k, SB_SRTP_OUTBOUND, (sb_srtp_impl_t)impl, &out) != 0)
                continue;
            if (sb_srtp_session_new_impl(&k, SB_SRTP_INBOUND, (sb_srtp_impl_t)impl, &in) != 0)
                return 1;
            double pns, uns, warm;
            /* Warm-up: caches, branch predictors, CPU frequency. */
            if (sb_bench_run(out, NULL, rtcp, size, n / 10 + 1, &warm, &warm) != 0)
                return 1;
            sb_srtp_session_free(out);
            sb_srtp_session_new_impl(&k, SB_SRTP_OUTBOUND, (sb_srtp_impl_t)impl, &out);
            if (sb_bench_run(out, in, rtcp, size, n, &pns, &uns) != 0) {
                fprintf(stderr, "%s/%s: protect or unprotect failed\n",
                        sb_srtp_profile_name(profiles[p]), impl_names[impl]);
                return 1;
            }
            printf("%-24s %-9s %12.0f %14.0f\n", sb_srtp_profile_name(profiles[p]),
                   impl_names[impl], pns, uns);
            sb_srtp_session_free(out);
            sb_srtp_session_free(in);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
    if (n == 0 || sb_srtp_init() != 0)
        return 1;
    int rc = sb_bench_table(false, SB_BENCH_PAYLOAD, n);
    printf("\n");
    if (rc == 0)
        rc = sb_bench_table(true, SB_BENCH_RTCP, n);
    sb_srtp_deinit();
    return rc;
}
