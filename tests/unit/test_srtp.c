/* Unit tests for proto/srtp and proto/srtp_evp: round trips for every DTLS-SRTP profile,
 * tamper and replay rejection, input validation, RFC 3711 Appendix B known answers, and the
 * EVP transforms, SRTP and SRTCP, checked byte for byte against libsrtp2 and against an
 * independent construction from the RFCs (KDF + AES-CM keystream + HMAC-SHA1; KDF + AES-GCM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"
#include "proto/srtp.h"
#include "proto/hmac_sha1.h"
#include "proto/srtp_evp.h"

static const sb_srtp_profile_t all_profiles[] = {
    SB_SRTP_AES128_CM_SHA1_80,
    SB_SRTP_AES128_CM_SHA1_32,
    SB_SRTP_AEAD_AES_128_GCM,
    SB_SRTP_AEAD_AES_256_GCM,
};
#define N_PROFILES (sizeof(all_profiles) / sizeof(all_profiles[0]))

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* a and b are the two ends of one call: a's local keys are b's remote keys and vice versa. */
static void make_keys(sb_srtp_profile_t profile, sb_srtp_keys_t *a, sb_srtp_keys_t *b)
{
    size_t kl, sl;
    assert_int_equal(sb_srtp_profile_lengths(profile, &kl, &sl), 0);
    memset(a, 0, sizeof(*a));
    a->profile = profile;
    a->key_len = (uint8_t)kl;
    a->salt_len = (uint8_t)sl;
    assert_int_equal(RAND_bytes(a->local_key, (int)kl), 1);
    assert_int_equal(RAND_bytes(a->local_salt, (int)sl), 1);
    assert_int_equal(RAND_bytes(a->remote_key, (int)kl), 1);
    assert_int_equal(RAND_bytes(a->remote_salt, (int)sl), 1);
    *b = *a;
    memcpy(b->local_key, a->remote_key, kl);
    memcpy(b->local_salt, a->remote_salt, sl);
    memcpy(b->remote_key, a->local_key, kl);
    memcpy(b->remote_salt, a->local_salt, sl);
}

/* RTP packet: 12-byte header, optional CSRCs and one-byte-header extension, payload. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload, int csrcs,
                       int ext_words)
{
    size_t n = 0;
    buf[n++] = (uint8_t)(0x80 | (ext_words ? 0x10 : 0) | csrcs);
    buf[n++] = 96;
    buf[n++] = (uint8_t)(seq >> 8);
    buf[n++] = (uint8_t)seq;
    uint32_t ts = seq * 3000u;
    for (int i = 3; i >= 0; i--)
        buf[n++] = (uint8_t)(ts >> (8 * i));
    for (int i = 3; i >= 0; i--)
        buf[n++] = (uint8_t)(ssrc >> (8 * i));
    for (int c = 0; c < csrcs; c++) {
        for (int i = 0; i < 4; i++)
            buf[n++] = (uint8_t)(0x10 + c);
    }
    if (ext_words) {
        buf[n++] = 0xbe;
        buf[n++] = 0xde;
        buf[n++] = 0;
        buf[n++] = (uint8_t)ext_words;
        for (int i = 0; i < 4 * ext_words; i++)
            buf[n++] = (uint8_t)(0x20 + i);
    }
    for (size_t i = 0; i < payload; i++)
        buf[n++] = (uint8_t)(seq + i * 7);
    return n;
}

/* Sender report with one report block: 52 bytes. */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, 52);
    buf[0] = 0x81;
    buf[1] = 200;
    buf[3] = 12;
    for (int i = 0; i < 4; i++)
        buf[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    for (int i = 8; i < 52; i++)
        buf[i] = (uint8_t)(i * 13);
    return 52;
}

static sb_srtp_session_t *session(const sb_srtp_keys_t *k, sb_srtp_direction_t dir,
                                  sb_srtp_impl_t impl)
{
    sb_srtp_session_t *s = NULL;
    assert_int_equal(sb_srtp_session_new_impl(k, dir, impl, &s), 0);
    assert_non_null(s);
    return s;
}

/* The same received packet through the EVP and libsrtp2 inbound sessions: both give the same
 * answer and, when they accept it, the same plaintext. Returns that answer. */
static int unprotect_both(sb_srtp_session_t *evp, sb_srtp_session_t *lib, const uint8_t *pkt,
                          size_t len, bool rtcp)
{
    uint8_t a[1400], b[1400];
    assert_true(len <= sizeof(a));
    memcpy(a, pkt, len);
    memcpy(b, pkt, len);
    size_t la = len, lb = len;
    int ra = rtcp ? sb_srtp_unprotect_rtcp(evp, a, &la) : sb_srtp_unprotect_rtp(evp, a, &la);
    int rb = rtcp ? sb_srtp_unprotect_rtcp(lib, b, &lb) : sb_srtp_unprotect_rtp(lib, b, &lb);
    assert_int_equal(ra, rb);
    if (ra == 0) {
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    return ra;
}

static int setup(void **state)
{
    (void)state;
    return sb_srtp_init();
}

static int teardown(void **state)
{
    (void)state;
    sb_srtp_deinit();
    return 0;
}

/* Every profile, both implementations, RTP and RTCP, in exactly sized heap buffers so the
 * sanitizer build catches any write past the declared overhead. */
/* RFC 2202 §3's HMAC-SHA1 test cases 1, 2, 3 and 6 (a key longer than a block), the tag
 * also taken over two pieces of the data, as SRTP passes packet and ROC. */
static void test_hmac_sha1_rfc2202(void **state)
{
    (void)state;
    uint8_t k1[20], k3[20], k6[80], d3[50];
    memset(k1, 0x0b, sizeof(k1));
    memset(k3, 0xaa, sizeof(k3));
    memset(k6, 0xaa, sizeof(k6));
    memset(d3, 0xdd, sizeof(d3));
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    const struct {
        const uint8_t *key;
        size_t key_len;
        const uint8_t *data;
        size_t data_len;
        const char *hex;
    } cases[] = {
        {k1, 20, (const uint8_t *)"Hi There", 8, "b617318655057264e28bc0b6fb378c8ef146be00"},
        {(const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
         "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
        {k3, 20, d3, 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
        {k6, 80, (const uint8_t *)d6, strlen(d6), "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sb_hmac_sha1_t hm;
        sb_hmac_sha1_init(&hm, cases[i].key, cases[i].key_len);
        uint8_t tag[SB_HMAC_SHA1_LEN], split[SB_HMAC_SHA1_LEN];
        char hex[2 * SB_HMAC_SHA1_LEN + 1];
        sb_hmac_sha1(&hm, cases[i].data, cases[i].data_len, NULL, 0, tag);
        for (size_t j = 0; j < sizeof(tag); j++)
            snprintf(hex + 2 * j, 3, "%02x", tag[j]);
        assert_string_equal(hex, cases[i].hex);
        size_t cut = cases[i].data_len / 3;
        sb_hmac_sha1(&hm, cases[i].data, cut, cases[i].data + cut, cases[i].data_len - cut, split);
        assert_memory_equal(split, tag, sizeof(tag));
        sb_hmac_sha1_clear(&hm);
    }
}

static void test_roundtrip_all_profiles(void **state)
{
    (void)state;
    const size_t rtp_over[] = {10, 4, 16, 16}, rtcp_over[] = {14, 14, 20, 20};
    for (size_t p = 0; p < N_PROFILES; p++) {
        for (int impl = SB_SRTP_IMPL_AUTO; impl <= SB_SRTP_IMPL_LIBSRTP; impl++) {
            sb_srtp_keys_t ka, kb;
            make_keys(all_profiles[p], &ka, &kb);
            sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, (sb_srtp_impl_t)impl);
            sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_AUTO);
            assert_int_equal(sb_srtp_rtp_overhead(out), rtp_over[p]);
            assert_int_equal(sb_srtp_rtcp_overhead(out), rtcp_over[p]);
            assert_true(sb_srtp_rtp_overhead(out) <= SB_SRTP_MAX_TRAILER_LEN);
            assert_true(sb_srtp_rtcp_overhead(out) <= SB_SRTP_MAX_TRAILER_LEN);
            for (uint16_t seq = 65500; seq != 40; seq++) { /* crosses the ROC wrap */
                uint8_t plain[1300];
                size_t n = make_rtp(plain, seq, 0x11223344, 1100 + seq % 50, seq % 3, seq % 2);
                size_t cap = n + rtp_over[p];
                uint8_t *buf = malloc(cap);
                memcpy(buf, plain, n);
                size_t len = n;
                assert_int_equal(sb_srtp_protect_rtp(out, buf, &len, cap), 0);
                assert_int_equal(len, cap);
                assert_memory_not_equal(buf, plain, n);
                assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), 0);
                assert_int_equal(len, n);
                assert_memory_equal(buf, plain, n);
                free(buf);
            }
            uint8_t plain[64];
            size_t n = make_rtcp(plain, 0x11223344);
            uint8_t *buf = malloc(n + rtcp_over[p]);
            memcpy(buf, plain, n);
            size_t len = n;
            assert_int_equal(sb_srtp_protect_rtcp(out, buf, &len, n + rtcp_over[p]), 0);
            assert_int_equal(len, n + rtcp_over[p]);
            assert_int_equal(sb_srtp_unprotect_rtcp(in, buf, &len), 0);
            assert_int_equal(len, n);
            assert_memory_equal(buf, plain, n);
            free(buf);
            sb_srtp_stats_t st;
            sb_srtp_session_stats(in, &st);
            assert_int_equal(st.rtp_ok, 76);
            assert_int_equal(st.rtcp_ok, 1);
            assert_int_equal(st.auth_fail + st.replay_fail + st.other_fail, 0);
            sb_srtp_session_free(out);
            sb_srtp_session_free(in);
        }
    }
}

static void test_tamper_detected(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_keys_t ka, kb;
        make_keys(all_profiles[p], &ka, &kb);
        sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_AUTO);
        uint8_t pkt[1500], copy[1500];
        size_t len = make_rtp(pkt, 1, 42, 200, 0, 0);
        assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), 0);
        const size_t flip[] = {1, 20, 100, len - 1}; /* header, payload, payload, tag */
        for (size_t i = 0; i < 4; i++) {
            memcpy(copy, pkt, len);
            copy[flip[i]] ^= 0x01;
            size_t l = len;
            assert_int_equal(sb_srtp_unprotect_rtp(in, copy, &l), SB_EPROTO);
        }
        /* The untouched packet still passes: failures did not advance the replay window. */
        assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), 0);
        /* A packet protected with other keys fails too. */
        sb_srtp_keys_t kc, kd;
        make_keys(all_profiles[p], &kc, &kd);
        sb_srtp_session_t *other = session(&kc, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        len = make_rtp(pkt, 2, 42, 200, 0, 0);
        assert_int_equal(sb_srtp_protect_rtp(other, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), SB_EPROTO);
        /* RTCP too. */
        len = make_rtcp(pkt, 42);
        assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), 0);
        pkt[10] ^= 0x80;
        assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), SB_EPROTO);
        sb_srtp_stats_t st;
        sb_srtp_session_stats(in, &st);
        assert_int_equal(st.auth_fail, 6);
        assert_int_equal(st.rtp_ok, 1);
        sb_srtp_session_free(other);
        sb_srtp_session_free(out);
        sb_srtp_session_free(in);
    }
}

static void test_replay_rejected(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_keys_t ka, kb;
        make_keys(all_profiles[p], &ka, &kb);
        sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_AUTO);
        static uint8_t prot[2100][300];
        static size_t plen[2100];
        for (uint16_t seq = 0; seq < 2100; seq++) {
            plen[seq] = make_rtp(prot[seq], seq, 7, 100, 0, 0);
            assert_int_equal(sb_srtp_protect_rtp(out, prot[seq], &plen[seq], 300), 0);
        }
        uint8_t buf[300];
        size_t len;
        /* Deliver 0..1999, then a duplicate. */
        for (uint16_t seq = 0; seq < 2000; seq++) {
            if (seq == 100)
                continue; /* lost, retransmitted late below */
            memcpy(buf, prot[seq], len = plen[seq]);
            assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), 0);
        }
        memcpy(buf, prot[1999], len = plen[1999]);
        assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), SB_EPROTO);
        /* 1899 packets late is outside the 1024-packet window. */
        memcpy(buf, prot[100], len = plen[100]);
        assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), SB_EPROTO);
        /* Within the window a late packet is fine (NACK retransmission), once. */
        memcpy(buf, prot[2099], len = plen[2099]);
        assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), 0);
        memcpy(buf, prot[2050], len = plen[2050]);
        assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), 0);
        memcpy(buf, prot[2050], len = plen[2050]);
        assert_int_equal(sb_srtp_unprotect_rtp(in, buf, &len), SB_EPROTO);
        sb_srtp_stats_t st;
        sb_srtp_session_stats(in, &st);
        assert_int_equal(st.replay_fail, 3);
        assert_int_equal(st.auth_fail, 0);
        /* RTCP replay. */
        len = make_rtcp(buf, 7);
        assert_int_equal(sb_srtp_protect_rtcp(out, buf, &len, sizeof(buf)), 0);
        uint8_t again[300];
        memcpy(again, buf, len);
        size_t len2 = len;
        assert_int_equal(sb_srtp_unprotect_rtcp(in, buf, &len), 0);
        assert_int_equal(sb_srtp_unprotect_rtcp(in, again, &len2), SB_EPROTO);
        sb_srtp_session_free(out);
        sb_srtp_session_free(in);
    }
}

/* allow_repeat_tx: protecting the same packet again (a retransmission from history) works and
 * yields the same bytes, with either implementation. */
static void test_retransmission_protect(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        for (int impl = SB_SRTP_IMPL_AUTO; impl <= SB_SRTP_IMPL_LIBSRTP; impl++) {
            sb_srtp_keys_t ka, kb;
            make_keys(all_profiles[p], &ka, &kb);
            sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, (sb_srtp_impl_t)impl);
            uint8_t first[300], pkt[300];
            size_t l1 = 0, len = 0;
            for (uint16_t seq = 10; seq < 600; seq++) {
                len = make_rtp(pkt, seq, 9, 100, 0, 0);
                assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), 0);
                if (seq == 20) {
                    memcpy(first, pkt, len);
                    l1 = len;
                }
            }
            len = make_rtp(pkt, 20, 9, 100, 0, 0);
            assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), 0);
            assert_int_equal(len, l1);
            assert_memory_equal(pkt, first, len);
            sb_srtp_session_free(out);
        }
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    sb_srtp_keys_t ka, kb;
    make_keys(SB_SRTP_AES128_CM_SHA1_80, &ka, &kb);
    sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
    sb_srtp_session_t *lib = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_LIBSRTP);
    sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_AUTO);
    assert_true(sb_srtp_session_uses_evp(out));
    assert_false(sb_srtp_session_uses_evp(lib));
    assert_true(sb_srtp_session_uses_evp(in));
    uint8_t pkt[200];
    size_t len = make_rtp(pkt, 1, 1, 50, 0, 0);
    size_t n = len;
    /* Wrong direction. */
    assert_int_equal(sb_srtp_unprotect_rtp(out, pkt, &len), SB_ESTATE);
    assert_int_equal(sb_srtp_protect_rtp(in, pkt, &len, sizeof(pkt)), SB_ESTATE);
    /* No room for the tag. */
    assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, n + 9), SB_ERANGE);
    assert_int_equal(sb_srtp_protect_rtp(lib, pkt, &len, n + 9), SB_ERANGE);
    assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, 3), SB_ERANGE);
    assert_int_equal(len, n);
    /* Too short, wrong version, extension running past the end, CSRCs past the end. */
    len = 11;
    assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), SB_EINVAL);
    len = n;
    pkt[0] = 0x40;
    assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), SB_EINVAL);
    for (int i = 0; i < 2; i++) {
        sb_srtp_session_t *s = i ? lib : out;
        len = make_rtp(pkt, 2, 1, 0, 0, 2);
        pkt[15] = 40; /* extension says 40 words */
        assert_int_equal(sb_srtp_protect_rtp(s, pkt, &len, sizeof(pkt)), SB_EINVAL);
        len = make_rtp(pkt, 2, 1, 0, 0, 0);
        pkt[0] |= 0x0f; /* 15 CSRCs in a 12-byte packet */
        assert_int_equal(sb_srtp_protect_rtp(s, pkt, &len, sizeof(pkt)), SB_EINVAL);
    }
    /* Unprotect of something shorter than header + tag. */
    len = 15;
    pkt[0] = 0x80;
    assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), SB_EINVAL);
    len = 9;
    assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), SB_EINVAL);
    /* Garbage of a plausible length: rejected by authentication. */
    memset(pkt, 0x80, sizeof(pkt));
    len = 100;
    assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), SB_EPROTO);
    sb_srtp_session_free(out);
    sb_srtp_session_free(lib);
    sb_srtp_session_free(in);

    /* Session creation. */
    sb_srtp_session_t *s = (sb_srtp_session_t *)1;
    sb_srtp_keys_t bad = ka;
    bad.profile = (sb_srtp_profile_t)5;
    assert_int_equal(sb_srtp_session_new(&bad, SB_SRTP_OUTBOUND, &s), SB_ENOTSUP);
    assert_null(s);
    bad = ka;
    bad.salt_len = 12;
    assert_int_equal(sb_srtp_session_new(&bad, SB_SRTP_OUTBOUND, &s), SB_EINVAL);
    make_keys(SB_SRTP_AEAD_AES_128_GCM, &ka, &kb);
    assert_int_equal(sb_srtp_session_new(&ka, SB_SRTP_OUTBOUND, &s), 0);
    assert_true(sb_srtp_session_uses_evp(s));
    assert_int_equal(sb_srtp_rtp_overhead(s), 16);
    sb_srtp_session_free(s);
    uint8_t mk[32] = {0}, ms[14] = {0}, o[16];
    assert_int_equal(sb_srtp_evp_kdf(mk, 24, ms, SB_SRTP_LABEL_RTP_ENC, o, 16), SB_EINVAL);
    assert_string_equal(sb_srtp_profile_name(SB_SRTP_AEAD_AES_256_GCM), "SRTP_AEAD_AES_256_GCM");
}

/* RFC 3711 Appendix B.3: key derivation. */
static void test_rfc3711_kdf(void **state)
{
    (void)state;
    uint8_t mk[16], ms[14], want[32], got[32];
    unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mk);
    unhex("0EC675AD498AFEEBB6960B3AABE6", ms);
    size_t n = unhex("C61E7A93744F39EE10734AFE3FF7A087", want);
    assert_int_equal(sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_ENC, got, n), 0);
    assert_memory_equal(got, want, n);
    n = unhex("30CBBC08863D8C85D49DB34A9AE1", want);
    assert_int_equal(sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_SALT, got, n), 0);
    assert_memory_equal(got, want, n);
    n = unhex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", want);
    assert_int_equal(sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_AUTH, got, n), 0);
    assert_memory_equal(got, want, n);
}

/* RFC 3711 Appendix B.2: AES-CM keystream segments. */
static void test_rfc3711_keystream(void **state)
{
    (void)state;
    uint8_t key[16], salt[14], want[16];
    unhex("2B7E151628AED2A6ABF7158809CF4F3C", key);
    unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt);
    size_t len = 0xFF02 * 16;
    uint8_t *ks = calloc(1, len);
    assert_int_equal(sb_srtp_evp_keystream_xor(key, salt, 0, 0, ks, len), 0);
    const struct {
        size_t block;
        const char *hex;
    } v[] = {
        {0x0000, "E03EAD0935C95E80E166B16DD92B4EB4"}, {0x0001, "D23513162B02D0F72A43A2FE4A5F97AB"},
        {0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0"}, {0xFEFF, "EC8CDF7398607CB0F2D21675EA9EA1E4"},
        {0xFF00, "362B7C3C6773516318A077D7FC5073AE"}, {0xFF01, "6A2CC3787889374FBEB4C81B17BA6C44"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unhex(v[i].hex, want);
        assert_memory_equal(ks + v[i].block * 16, want, 16);
    }
    free(ks);
}

/* Builds the SRTP packet for (master key, salt, roc, plain) from the RFC alone: derived keys,
 * AES-CM, HMAC-SHA1 over packet || ROC (RFC 3711 §3.1, §4.1.1, §4.2.1). */
static size_t reference_protect(const uint8_t mk[16], const uint8_t ms[14], uint32_t roc,
                                size_t hdr_len, const uint8_t *plain, size_t n, size_t tag,
                                uint8_t *out)
{
    uint8_t ek[16], ak[20], es[14], mac[20];
    sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_ENC, ek, 16);
    sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_AUTH, ak, 20);
    sb_srtp_evp_kdf(mk, 16, ms, SB_SRTP_LABEL_RTP_SALT, es, 14);
    memcpy(out, plain, n);
    uint16_t seq = (uint16_t)(plain[2] << 8 | plain[3]);
    uint32_t ssrc =
        (uint32_t)plain[8] << 24 | (uint32_t)plain[9] << 16 | (uint32_t)plain[10] << 8 | plain[11];
    uint64_t index = ((uint64_t)roc << 16) | seq;
    assert_int_equal(sb_srtp_evp_keystream_xor(ek, es, ssrc, index, out + hdr_len, n - hdr_len), 0);
    uint8_t rocb[4] = {(uint8_t)(roc >> 24), (uint8_t)(roc >> 16), (uint8_t)(roc >> 8),
                       (uint8_t)roc};
    uint8_t *authed = malloc(n + 4);
    memcpy(authed, out, n);
    memcpy(authed + n, rocb, 4);
    unsigned int ml = 0;
    HMAC(EVP_sha1(), ak, 20, authed, n + 4, mac, &ml);
    free(authed);
    memcpy(out + n, mac, tag);
    return n + tag;
}

/* The same from RFC 7714 alone (§8.1, §11): derived key and salt, IV from SSRC, ROC and SEQ,
 * AES-GCM over the payload with the header as associated data, 16-byte tag. */
static size_t reference_protect_gcm(const uint8_t *mk, size_t key_len, const uint8_t ms[12],
                                    uint32_t roc, size_t hdr_len, const uint8_t *plain, size_t n,
                                    uint8_t *out)
{
    uint8_t ek[32], es[12], ms14[14] = {0}, iv[12] = {0};
    memcpy(ms14, ms, 12);
    assert_int_equal(sb_srtp_evp_kdf(mk, key_len, ms14, SB_SRTP_LABEL_RTP_ENC, ek, key_len), 0);
    assert_int_equal(sb_srtp_evp_kdf(mk, key_len, ms14, SB_SRTP_LABEL_RTP_SALT, es, 12), 0);
    memcpy(iv + 2, plain + 8, 4); /* SSRC */
    iv[6] = (uint8_t)(roc >> 24), iv[7] = (uint8_t)(roc >> 16);
    iv[8] = (uint8_t)(roc >> 8), iv[9] = (uint8_t)roc;
    iv[10] = plain[2], iv[11] = plain[3]; /* SEQ */
    for (int i = 0; i < 12; i++)
        iv[i] ^= es[i];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    memcpy(out, plain, hdr_len);
    assert_int_equal(EVP_EncryptInit_ex(c, key_len == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(),
                                        NULL, ek, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, plain, (int)hdr_len), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out + hdr_len, &l, plain + hdr_len, (int)(n - hdr_len)),
                     1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + hdr_len + l, &l), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n), 1);
    EVP_CIPHER_CTX_free(c);
    return n + 16;
}

/* Bit-exactness: EVP and libsrtp2 produce identical bytes, both equal the RFC construction,
 * and libsrtp2 accepts what EVP produced, across ROC wrap, several SSRCs, CSRCs, extensions
 * and reordered (late) sends. */
static void test_evp_matches_libsrtp(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_keys_t ka, kb;
        make_keys(all_profiles[p], &ka, &kb);
        bool gcm = all_profiles[p] == SB_SRTP_AEAD_AES_128_GCM ||
                   all_profiles[p] == SB_SRTP_AEAD_AES_256_GCM;
        size_t tag = all_profiles[p] == SB_SRTP_AES128_CM_SHA1_80 ? 10 : gcm ? 16 : 4;
        sb_srtp_session_t *evp = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_EVP);
        sb_srtp_session_t *lib = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_LIBSRTP);
        sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_AUTO);
        const uint32_t ssrcs[] = {0xCAFEBABE, 0x00000001, 0xFFFFFFFF};
        const uint16_t starts[] = {65000, 40000, 1000};
        for (int i = 0; i < 4000; i++) {
            int k = i % 3;
            uint16_t seq = (uint16_t)(starts[k] + i / 3);
            if (i % 97 == 50)
                seq = (uint16_t)(seq - 30); /* a late send (retransmission of an old index) */
            uint8_t plain[1400], a[1400], b[1400], r[1400];
            size_t n = make_rtp(plain, seq, ssrcs[k], (size_t)(i * 37) % 1200, i % 4, i % 3);
            size_t la = n, lb = n;
            memcpy(a, plain, n);
            memcpy(b, plain, n);
            assert_int_equal(sb_srtp_protect_rtp(evp, a, &la, sizeof(a)), 0);
            assert_int_equal(sb_srtp_protect_rtp(lib, b, &lb, sizeof(b)), 0);
            assert_int_equal(la, lb);
            assert_memory_equal(a, b, la);
            /* The true extended index tells the ROC the sender must use. */
            uint32_t ext = (uint32_t)starts[k] + (uint32_t)(i / 3) - (i % 97 == 50 ? 30u : 0u);
            uint32_t roc = ext >> 16;
            size_t hl = 12 + 4 * (size_t)(i % 4) + (i % 3 ? 4 + 4 * (size_t)(i % 3) : 0);
            size_t lr = gcm ? reference_protect_gcm(ka.local_key, ka.key_len, ka.local_salt, roc,
                                                    hl, plain, n, r)
                            : reference_protect(ka.local_key, ka.local_salt, roc, hl, plain, n,
                                                tag, r);
            assert_int_equal(lr, la);
            assert_memory_equal(r, a, la);
            if (i % 97 != 50) {
                assert_int_equal(sb_srtp_unprotect_rtp(in, a, &la), 0);
                assert_int_equal(la, n);
                assert_memory_equal(a, plain, n);
            }
        }
        /* Too old for either: more than the window behind the highest sent (41332). */
        uint8_t pkt[200];
        size_t la = make_rtp(pkt, 40000, 0x00000001, 10, 0, 0), lb = la;
        uint8_t pkt2[200];
        memcpy(pkt2, pkt, la);
        assert_int_equal(sb_srtp_protect_rtp(evp, pkt, &la, sizeof(pkt)), SB_EPROTO);
        assert_int_equal(sb_srtp_protect_rtp(lib, pkt2, &lb, sizeof(pkt2)), SB_EPROTO);
        sb_srtp_session_free(evp);
        sb_srtp_session_free(lib);
        sb_srtp_session_free(in);
    }
}

/* Receiving: the EVP transform and libsrtp2, fed the same stream (several SSRCs, ROC wrap,
 * reordering, duplicates, packets older than the window, tampered ones, packets of another
 * key), accept and refuse the same packets and give the same plaintext. */
static void test_evp_unprotect_matches_libsrtp(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_keys_t ka, kb, kc, kd;
        make_keys(all_profiles[p], &ka, &kb);
        make_keys(all_profiles[p], &kc, &kd);
        sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_LIBSRTP);
        sb_srtp_session_t *stranger = session(&kc, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *evp = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP);
        sb_srtp_session_t *lib = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP);
        assert_true(sb_srtp_session_uses_evp(evp));
        const uint32_t ssrcs[] = {0xCAFEBABE, 0x00000001, 0xFFFFFFFF};
        const uint16_t starts[] = {65000, 40000, 1000};
        static uint8_t sent[6000][1400];
        static size_t sent_len[6000];
        unsigned accepted = 0, refused = 0;
        for (int i = 0; i < 6000; i++) {
            int k = i % 3;
            uint16_t seq = (uint16_t)(starts[k] + i / 3);
            uint8_t pkt[1400];
            size_t n = make_rtp(pkt, seq, ssrcs[k], (size_t)(i * 37) % 1200, i % 4, i % 3);
            sb_srtp_session_t *from = i % 211 == 7 ? stranger : out;
            assert_int_equal(sb_srtp_protect_rtp(from, pkt, &n, sizeof(pkt)), 0);
            memcpy(sent[i], pkt, n);
            sent_len[i] = n;
            /* What arrives: mostly this packet; sometimes an earlier one again (duplicate or
             * late), one from far back (older than the window), or a damaged copy. */
            int pick = i;
            if (i % 13 == 5)
                pick = i - 1 - (i % 40);
            else if (i % 97 == 50 && i > 3500)
                pick = i - 3300;
            if (pick < 0)
                pick = i;
            uint8_t a[1400];
            size_t la = sent_len[pick];
            memcpy(a, sent[pick], la);
            if (i % 53 == 11)
                a[la / 2] ^= 0x40;
            if (unprotect_both(evp, lib, a, la, false) == 0)
                accepted++;
            else
                refused++;
        }
        /* The mix really exercised both outcomes, and the counters tell them apart. */
        assert_true(accepted > 5000);
        assert_true(refused > 300);
        sb_srtp_stats_t se, sl;
        sb_srtp_session_stats(evp, &se);
        sb_srtp_session_stats(lib, &sl);
        assert_int_equal(se.rtp_ok, sl.rtp_ok);
        assert_int_equal(se.auth_fail, sl.auth_fail);
        assert_int_equal(se.replay_fail, sl.replay_fail);
        assert_true(se.auth_fail > 0 && se.replay_fail > 0);
        /* An outbound EVP session cannot unprotect, an inbound one cannot protect. */
        uint8_t pkt[200];
        size_t n = make_rtp(pkt, 1, 1, 20, 0, 0);
        assert_int_equal(sb_srtp_protect_rtp(evp, pkt, &n, sizeof(pkt)), SB_ESTATE);
        sb_srtp_session_free(out);
        sb_srtp_session_free(stranger);
        sb_srtp_session_free(evp);
        sb_srtp_session_free(lib);
        (void)kd;
    }
}

/* ---- SRTCP ---- */

static bool is_gcm(sb_srtp_profile_t p)
{
    return p == SB_SRTP_AEAD_AES_128_GCM || p == SB_SRTP_AEAD_AES_256_GCM;
}

/* Where the E||index word sits in a protected SRTCP packet of n plaintext bytes: right after
 * the packet (AES-CM, RFC 3711 §3.4) or after the 16-byte tag (GCM, RFC 7714 §9). */
static size_t rtcp_word_at(sb_srtp_profile_t p, size_t n)
{
    return is_gcm(p) ? n + 16 : n;
}

/* A compound RTCP packet such as we send and receive (RFC 3550 §6.1, RFC 4585 §6.1): an RR
 * with 0-2 report blocks, then a PLI, a transport-cc feedback, a REMB, or nothing: 8 to 92
 * bytes, contents varying with i. */
static size_t make_compound(uint8_t *buf, uint32_t ssrc, unsigned i)
{
    unsigned blocks = i % 3;
    size_t n = 0;
    buf[n++] = (uint8_t)(0x80 | blocks);
    buf[n++] = 201;
    buf[n++] = 0;
    buf[n++] = (uint8_t)(1 + 6 * blocks);
    sb_put_be32(buf + n, ssrc);
    n += 4;
    for (size_t b = 0; b < 24 * blocks; b++)
        buf[n++] = (uint8_t)(i * 31 + b);
    uint8_t first, pt;
    size_t words;
    switch (i % 4) {
    case 0: /* PLI */
        first = 0x81, pt = 206, words = 2;
        break;
    case 1: /* transport-cc */
        first = 0x8f, pt = 205, words = 4 + i % 5;
        break;
    case 2: /* REMB */
        first = 0x8f, pt = 206, words = 5;
        break;
    default:
        return n;
    }
    buf[n++] = first;
    buf[n++] = pt;
    buf[n++] = 0;
    buf[n++] = (uint8_t)words;
    sb_put_be32(buf + n, ssrc);
    n += 4;
    for (size_t b = 4; b < 4 * words; b++)
        buf[n++] = (uint8_t)(i * 7 + b);
    return n;
}

/* SRTCP from the RFCs alone, for one direction's master key and salt: the SRTCP session keys
 * (labels 0x03-0x05, RFC 3711 §4.3.2); AES-CM: the packet after its first 8 bytes encrypted
 * with the index in the IV, E||index, an 80-bit HMAC-SHA1 tag over all of it (§3.4, §4.1.1,
 * §4.2; RFC 5764 §4.1.2 for _32); GCM: IV from SSRC and index (RFC 7714 §9.1), the first 8
 * bytes and E||index as associated data, the tag, then E||index (§9.2). With e false nothing
 * is encrypted, and GCM authenticates the whole packet (§9.3). */
static size_t reference_protect_rtcp(sb_srtp_profile_t p, const uint8_t *mk, const uint8_t *ms,
                                     uint32_t index, bool e, const uint8_t *plain, size_t n,
                                     uint8_t *out)
{
    size_t kl, sl;
    assert_int_equal(sb_srtp_profile_lengths(p, &kl, &sl), 0);
    uint8_t ms14[14] = {0}, ek[32], es[14], word[4];
    memcpy(ms14, ms, sl);
    sb_put_be32(word, (e ? 0x80000000u : 0) | index);
    uint32_t ssrc = sb_be32(plain + 4);
    memcpy(out, plain, n);
    assert_int_equal(sb_srtp_evp_kdf(mk, kl, ms14, SB_SRTP_LABEL_RTCP_ENC, ek, kl), 0);
    if (!is_gcm(p)) {
        uint8_t ak[20], mac[20];
        unsigned int ml = 0;
        assert_int_equal(sb_srtp_evp_kdf(mk, 16, ms14, SB_SRTP_LABEL_RTCP_AUTH, ak, 20), 0);
        assert_int_equal(sb_srtp_evp_kdf(mk, 16, ms14, SB_SRTP_LABEL_RTCP_SALT, es, 14), 0);
        if (e)
            assert_int_equal(sb_srtp_evp_keystream_xor(ek, es, ssrc, index, out + 8, n - 8), 0);
        memcpy(out + n, word, 4);
        HMAC(EVP_sha1(), ak, 20, out, n + 4, mac, &ml);
        memcpy(out + n + 4, mac, 10);
        return n + 14;
    }
    uint8_t iv[12] = {0};
    assert_int_equal(sb_srtp_evp_kdf(mk, kl, ms14, SB_SRTP_LABEL_RTCP_SALT, es, 12), 0);
    sb_put_be32(iv + 2, ssrc);
    sb_put_be32(iv + 8, index);
    for (int i = 0; i < 12; i++)
        iv[i] ^= es[i];
    size_t clear = e ? 8 : n;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0;
    assert_int_equal(
        EVP_EncryptInit_ex(c, kl == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, ek, iv), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, plain, (int)clear), 1);
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &l, word, 4), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out + clear, &l, plain + clear, (int)(n - clear)), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, out + n, &l), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n), 1);
    EVP_CIPHER_CTX_free(c);
    memcpy(out + n + 16, word, 4);
    return n + 20;
}

/* Sending, byte for byte: EVP and libsrtp2 protect the same compound packets of several SSRCs
 * (RTP interleaved on the same SSRCs, whose state they share) into identical bytes, equal to
 * the RFC construction, E = 1 and each SSRC's index counted from 1, past 2^16 for one of them;
 * libsrtp2 unprotects what EVP protected and EVP what libsrtp2 protected. */
static void test_srtcp_evp_matches_libsrtp(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_profile_t prof = all_profiles[p];
        sb_srtp_keys_t ka, kb;
        make_keys(prof, &ka, &kb);
        sb_srtp_session_t *evp_out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_EVP);
        sb_srtp_session_t *lib_out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_LIBSRTP);
        sb_srtp_session_t *evp_in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP);
        sb_srtp_session_t *lib_in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP);
        size_t over = sb_srtp_rtcp_overhead(evp_out);
        assert_int_equal(over, sb_srtp_rtcp_overhead(lib_out));
        const uint32_t ssrcs[] = {0xCAFEBABE, 0x00000001, 0xFFFFFFFF, 0x00000000};
        uint32_t sent[4] = {0};
        for (unsigned i = 0; i < 70000; i++) {
            /* 2,000 packets round the four SSRCs, then the fourth alone, past index 65536. */
            unsigned k = i < 2000 ? i % 4 : 3;
            uint8_t plain[128], a[128], b[128], r[128];
            size_t n = make_compound(plain, ssrcs[k], i), la = n, lb = n;
            memcpy(a, plain, n);
            memcpy(b, plain, n);
            assert_int_equal(sb_srtp_protect_rtcp(evp_out, a, &la, n + over), 0);
            assert_int_equal(sb_srtp_protect_rtcp(lib_out, b, &lb, sizeof(b)), 0);
            assert_int_equal(la, n + over);
            assert_int_equal(lb, la);
            assert_memory_equal(a, b, la);
            uint32_t index = ++sent[k];
            assert_int_equal(sb_be32(a + rtcp_word_at(prof, n)), 0x80000000u | index);
            if (i < 2000 || i % 1000 == 0 || (index >= 65534 && index <= 65537)) {
                size_t lr = reference_protect_rtcp(prof, ka.local_key, ka.local_salt, index, true,
                                                   plain, n, r);
                assert_int_equal(lr, la);
                assert_memory_equal(r, a, la);
                assert_int_equal(sb_srtp_unprotect_rtcp(lib_in, a, &la), 0);
                assert_int_equal(la, n);
                assert_memory_equal(a, plain, n);
            }
            assert_int_equal(sb_srtp_unprotect_rtcp(evp_in, b, &lb), 0);
            assert_int_equal(lb, n);
            assert_memory_equal(b, plain, n);
            if (i < 2000 && i % 3 == 0) {
                uint8_t ra[400], rb[400];
                size_t lra = make_rtp(ra, (uint16_t)(i / 3), ssrcs[k], 100 + i % 200, 0, 0);
                size_t lrb = lra;
                memcpy(rb, ra, lra);
                assert_int_equal(sb_srtp_protect_rtp(evp_out, ra, &lra, sizeof(ra)), 0);
                assert_int_equal(sb_srtp_protect_rtp(lib_out, rb, &lrb, sizeof(rb)), 0);
                assert_int_equal(lra, lrb);
                assert_memory_equal(ra, rb, lra);
                assert_int_equal(sb_srtp_unprotect_rtp(evp_in, ra, &lra), 0);
            }
        }
        sb_srtp_stats_t st;
        sb_srtp_session_stats(evp_in, &st);
        assert_int_equal(st.rtcp_ok, 70000);
        assert_int_equal(st.auth_fail + st.replay_fail + st.other_fail, 0);
        sb_srtp_session_free(evp_out);
        sb_srtp_session_free(lib_out);
        sb_srtp_session_free(evp_in);
        sb_srtp_session_free(lib_in);
    }
}

/* Receiving: EVP and libsrtp2, fed the same SRTCP stream (several SSRCs, reordering,
 * duplicates, indexes below the 128-index window, damaged packets, packets of another key,
 * unencrypted E = 0 packets), give the same verdict, the same plaintext and the same counts. */
static void test_srtcp_unprotect_matches_libsrtp(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_profile_t prof = all_profiles[p];
        sb_srtp_keys_t ka, kb, kc, kd;
        make_keys(prof, &ka, &kb);
        make_keys(prof, &kc, &kd);
        sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *stranger = session(&kc, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *evp = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP);
        sb_srtp_session_t *lib = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_LIBSRTP);
        const uint32_t ssrcs[] = {0xCAFEBABE, 0x00000001, 0xFFFFFFFF};
        static uint8_t sent[4000][128];
        static size_t sent_len[4000];
        uint32_t clear_index = 0;
        unsigned accepted = 0, refused = 0;
        for (int i = 0; i < 4000; i++) {
            uint8_t pkt[128];
            size_t n = make_compound(pkt, ssrcs[i % 3], (unsigned)i);
            if (i % 101 == 13) {
                /* Unprotected but authenticated (E = 0), on an SSRC of its own. */
                uint8_t plain[128];
                n = make_compound(plain, 0x0E0E0E0E, (unsigned)i);
                n = reference_protect_rtcp(prof, ka.local_key, ka.local_salt, ++clear_index, false,
                                           plain, n, pkt);
            } else {
                sb_srtp_session_t *from = i % 211 == 7 ? stranger : out;
                assert_int_equal(sb_srtp_protect_rtcp(from, pkt, &n, sizeof(pkt)), 0);
            }
            memcpy(sent[i], pkt, n);
            sent_len[i] = n;
            /* What arrives: mostly this packet; sometimes an earlier one again (a duplicate,
             * or late), one of the same SSRC 60 to 129 indexes back (around the bottom of
             * the window), one from far back (below it), or a damaged copy. */
            int pick = i;
            if (i % 13 == 5)
                pick = i - 1 - (i % 40);
            else if (i % 17 == 9)
                pick = i - 3 * (60 + i % 70);
            else if (i % 97 == 50 && i > 1000)
                pick = i - 900;
            if (pick < 0)
                pick = i;
            uint8_t a[128];
            size_t la = sent_len[pick];
            memcpy(a, sent[pick], la);
            if (i % 53 == 11)
                a[la / 2] ^= 0x40;
            else if (i % 59 == 3)
                a[rtcp_word_at(prof, la - sb_srtp_rtcp_overhead(out)) + 3] ^= 0x01; /* index */
            if (unprotect_both(evp, lib, a, la, true) == 0)
                accepted++;
            else
                refused++;
        }
        assert_true(accepted > 3200);
        assert_true(refused > 300);
        sb_srtp_stats_t se, sl;
        sb_srtp_session_stats(evp, &se);
        sb_srtp_session_stats(lib, &sl);
        assert_int_equal(se.rtcp_ok, sl.rtcp_ok);
        assert_int_equal(se.auth_fail, sl.auth_fail);
        assert_int_equal(se.replay_fail, sl.replay_fail);
        assert_int_equal(se.other_fail, sl.other_fail);
        assert_true(se.auth_fail > 0 && se.replay_fail > 0);
        /* E = 0: GCM accepts it (authenticated only), AES-CM refuses it as malformed. */
        assert_int_equal(se.other_fail, is_gcm(prof) ? 0 : clear_index);
        sb_srtp_session_free(out);
        sb_srtp_session_free(stranger);
        sb_srtp_session_free(evp);
        sb_srtp_session_free(lib);
        (void)kd;
    }
}

/* Replays: a duplicate is refused, a late packet inside the 128-index window is accepted once,
 * one below the window is refused, with either implementation receiving. Packet i has SRTCP
 * index i + 1. */
static void test_srtcp_replay_rejected(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        for (int impl = SB_SRTP_IMPL_LIBSRTP; impl <= SB_SRTP_IMPL_EVP; impl++) {
            sb_srtp_keys_t ka, kb;
            make_keys(all_profiles[p], &ka, &kb);
            sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
            sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, (sb_srtp_impl_t)impl);
            static uint8_t prot[300][128];
            static size_t plen[300];
            for (unsigned i = 0; i < 300; i++) {
                plen[i] = make_compound(prot[i], 7, i);
                assert_int_equal(sb_srtp_protect_rtcp(out, prot[i], &plen[i], 128), 0);
            }
            uint8_t buf[128];
            size_t len;
            for (unsigned i = 0; i < 200; i++) { /* four lost */
                if (i == 50 || i == 150 || i == 171 || i == 172)
                    continue;
                memcpy(buf, prot[i], len = plen[i]);
                assert_int_equal(sb_srtp_unprotect_rtcp(in, buf, &len), 0);
            }
            const struct {
                unsigned i;
                int rc;
            } late[] = {
                {199, SB_EPROTO}, /* a duplicate */
                {150, 0},         /* 49 behind: late, fine once */
                {150, SB_EPROTO}, /* and a replay */
                {50, SB_EPROTO},  /* 149 behind: below the window */
                {100, SB_EPROTO}, /* 99 behind, seen */
                {299, 0},         /* a jump forward: the window is now 173..300 */
                {172, 0},         /* index 173, the bottom */
                {171, SB_EPROTO}, /* index 172, just below */
                {173, SB_EPROTO}, /* 127 behind, seen */
                {200, 0},         /* never seen */
                {298, 0},
            };
            for (size_t k = 0; k < sizeof(late) / sizeof(late[0]); k++) {
                memcpy(buf, prot[late[k].i], len = plen[late[k].i]);
                assert_int_equal(sb_srtp_unprotect_rtcp(in, buf, &len), late[k].rc);
            }
            sb_srtp_stats_t st;
            sb_srtp_session_stats(in, &st);
            assert_int_equal(st.rtcp_ok, 196 + 5);
            assert_int_equal(st.replay_fail, 6);
            assert_int_equal(st.auth_fail + st.other_fail, 0);
            sb_srtp_session_free(out);
            sb_srtp_session_free(in);
        }
    }
}

/* A damaged SRTCP packet (header, SSRC, encrypted portion, E flag, index, tag) or one of other
 * keys is refused, *len unchanged and, with EVP, no plaintext in the buffer; every truncation
 * of a good packet, in a buffer of exactly that size, is refused without reading past it. */
static void test_srtcp_tamper_and_truncation(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_profile_t prof = all_profiles[p];
        for (int impl = SB_SRTP_IMPL_LIBSRTP; impl <= SB_SRTP_IMPL_EVP; impl++) {
            sb_srtp_keys_t ka, kb, kc, kd;
            make_keys(prof, &ka, &kb);
            make_keys(prof, &kc, &kd);
            sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
            sb_srtp_session_t *other = session(&kc, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
            sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, (sb_srtp_impl_t)impl);
            uint8_t plain[128], pkt[160];
            size_t n = make_compound(plain, 0x1234, 1), len = n;
            memcpy(pkt, plain, n);
            assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), 0);
            size_t word = rtcp_word_at(prof, n), tag = is_gcm(prof) ? n : n + 4;
            const struct {
                size_t at;
                uint8_t bit;
            } flips[] = {{1, 0x01},        {5, 0x10},    {8, 0x80},
                         {n - 1, 0x01},    {word, 0x80}, {word + 3, 0x01},
                         {word + 1, 0x40}, {tag, 0x01},  {len - 1, 0x80}};
            for (size_t f = 0; f < sizeof(flips) / sizeof(flips[0]); f++) {
                uint8_t *copy = malloc(len);
                memcpy(copy, pkt, len);
                copy[flips[f].at] ^= flips[f].bit;
                size_t l = len;
                int rc = sb_srtp_unprotect_rtcp(in, copy, &l);
                /* The E flag cleared under AES-CM is a packet the profile cannot check. */
                bool e_cleared = flips[f].at == word && flips[f].bit == 0x80 && !is_gcm(prof);
                assert_int_equal(rc, e_cleared ? SB_EINVAL : SB_EPROTO);
                assert_int_equal(l, len);
                if (impl == SB_SRTP_IMPL_EVP)
                    assert_memory_not_equal(copy + 8, plain + 8, n - 8);
                free(copy);
            }
            /* Wrong keys. */
            uint8_t alien[160];
            size_t la = make_compound(alien, 0x1234, 2);
            assert_int_equal(sb_srtp_protect_rtcp(other, alien, &la, sizeof(alien)), 0);
            assert_int_equal(sb_srtp_unprotect_rtcp(in, alien, &la), SB_EPROTO);
            /* Every truncation: too short for header + E||index + tag is malformed, the rest
             * cannot authenticate. */
            size_t min = 8 + sb_srtp_rtcp_overhead(out);
            for (size_t l = 0; l < len; l++) {
                uint8_t *t = malloc(l ? l : 1);
                memcpy(t, pkt, l);
                size_t tl = l;
                int rc = sb_srtp_unprotect_rtcp(in, t, &tl);
                assert_true(rc < 0);
                if (l < min)
                    assert_int_equal(rc, SB_EINVAL);
                assert_int_equal(tl, l);
                free(t);
            }
            /* The genuine packet still passes: no failure moved the window. */
            assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), 0);
            assert_int_equal(len, n);
            assert_memory_equal(pkt, plain, n);
            sb_srtp_stats_t st;
            sb_srtp_session_stats(in, &st);
            assert_int_equal(st.rtcp_ok, 1);
            assert_int_equal(st.replay_fail, 0);
            sb_srtp_session_free(out);
            sb_srtp_session_free(other);
            sb_srtp_session_free(in);
            (void)kd;
        }
    }
}

/* Protecting: shorter than an RTCP header, no room for the trailer, wrong direction. */
static void test_srtcp_protect_bad_input(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        for (int impl = SB_SRTP_IMPL_LIBSRTP; impl <= SB_SRTP_IMPL_EVP; impl++) {
            sb_srtp_keys_t ka, kb;
            make_keys(all_profiles[p], &ka, &kb);
            sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, (sb_srtp_impl_t)impl);
            sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, (sb_srtp_impl_t)impl);
            uint8_t pkt[128];
            size_t n = make_compound(pkt, 9, 3), over = sb_srtp_rtcp_overhead(out);
            assert_int_equal(n, 8);
            for (size_t l = 0; l < 8; l++) {
                size_t len = l;
                assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), SB_EINVAL);
                assert_int_equal(len, l);
            }
            size_t len = n;
            assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, n + over - 1), SB_ERANGE);
            assert_int_equal(sb_srtp_protect_rtcp(in, pkt, &len, sizeof(pkt)), SB_ESTATE);
            assert_int_equal(sb_srtp_unprotect_rtcp(out, pkt, &len), SB_ESTATE);
            assert_int_equal(len, n);
            /* A bare 8-byte RR (nothing to encrypt) goes through. */
            assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, n + over), 0);
            assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), 0);
            assert_int_equal(len, 8);
            sb_srtp_session_free(out);
            sb_srtp_session_free(in);
        }
    }
}

/* Receiving from unknown SSRCs: forged packets never take a slot; genuine ones do, up to the
 * 64 remote SSRCs that RTP and RTCP share, and a known SSRC is still served after that. */
static void test_srtcp_ssrc_flood_bounded(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_PROFILES; p++) {
        sb_srtp_keys_t ka, kb;
        make_keys(all_profiles[p], &ka, &kb);
        sb_srtp_session_t *out = session(&ka, SB_SRTP_OUTBOUND, SB_SRTP_IMPL_AUTO);
        sb_srtp_session_t *in = session(&kb, SB_SRTP_INBOUND, SB_SRTP_IMPL_EVP);
        size_t over = sb_srtp_rtcp_overhead(out);
        uint8_t pkt[160];
        for (unsigned i = 0; i < 5000; i++) {
            size_t n = make_compound(pkt, 0x10000000u + i, i);
            assert_int_equal(RAND_bytes(pkt + n, (int)over), 1);
            sb_put_be32(pkt + rtcp_word_at(all_profiles[p], n), 0x80000000u | (i + 1));
            size_t len = n + over;
            assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), SB_EPROTO);
        }
        /* One RTP SSRC first: it counts against the same bound. */
        size_t len = make_rtp(pkt, 1, 0x30000000, 40, 0, 0);
        assert_int_equal(sb_srtp_protect_rtp(out, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(sb_srtp_unprotect_rtp(in, pkt, &len), 0);
        for (unsigned i = 0; i < 70; i++) {
            len = make_compound(pkt, 0x20000000u + i, i);
            assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), 0);
            assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), i < 63 ? 0 : SB_EPROTO);
        }
        /* Known SSRCs, RTCP and RTP, still pass. */
        len = make_compound(pkt, 0x20000000u, 1);
        assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), 0);
        len = make_compound(pkt, 0x30000000u, 1);
        assert_int_equal(sb_srtp_protect_rtcp(out, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(sb_srtp_unprotect_rtcp(in, pkt, &len), 0);
        sb_srtp_stats_t st;
        sb_srtp_session_stats(in, &st);
        assert_int_equal(st.auth_fail, 5000);
        assert_int_equal(st.rtcp_ok, 63 + 2);
        assert_int_equal(st.other_fail, 7);
        sb_srtp_session_free(out);
        sb_srtp_session_free(in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha1_rfc2202),
        cmocka_unit_test(test_roundtrip_all_profiles),
        cmocka_unit_test(test_tamper_detected),
        cmocka_unit_test(test_replay_rejected),
        cmocka_unit_test(test_retransmission_protect),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_rfc3711_kdf),
        cmocka_unit_test(test_rfc3711_keystream),
        cmocka_unit_test(test_evp_matches_libsrtp),
        cmocka_unit_test(test_evp_unprotect_matches_libsrtp),
        cmocka_unit_test(test_srtcp_evp_matches_libsrtp),
        cmocka_unit_test(test_srtcp_unprotect_matches_libsrtp),
        cmocka_unit_test(test_srtcp_replay_rejected),
        cmocka_unit_test(test_srtcp_tamper_and_truncation),
        cmocka_unit_test(test_srtcp_protect_bad_input),
        cmocka_unit_test(test_srtcp_ssrc_flood_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
