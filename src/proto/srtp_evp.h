/* SRTP and SRTCP with OpenSSL EVP, both directions, for every DTLS-SRTP profile we negotiate:
 * AES_CM_128_HMAC_SHA1_80/32 (RFC 3711 §3.4, §4.1.1, §4.2, §4.3) and AEAD_AES_128/256_GCM
 * (RFC 7714 §8, §9).
 *
 * Internal to srtp.c (and its unit tests): one context per session and direction, any number
 * of SSRCs, RTP and RTCP. It follows libsrtp2 exactly, so what it sends is byte-for-byte
 * libsrtp2's and it accepts and refuses what libsrtp2 does; the unit tests check both.
 * RTP: the same index estimation, replay window and "too old" rule with
 * SB_SRTP_REPLAY_WINDOW; retransmissions of an index allowed when sending.
 * RTCP: SRTCP indexes counted from 1 per SSRC, always sent encrypted (E = 1), an 80-bit
 * HMAC tag with both AES-CM profiles; received through libsrtp2's 128-index replay window,
 * E = 0 refused with AES-CM and authenticated-only with GCM.
 * Not covered: MKI, key derivation rate, header extension encryption.
 *
 * Thread: owned by one srtp session, media loop only. */
#ifndef SB_PROTO_SRTP_EVP_H
#define SB_PROTO_SRTP_EVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/srtp.h"

typedef struct sb_srtp_evp sb_srtp_evp_t;

/* SRTP key derivation labels (RFC 3711 §4.3.2). */
enum {
    SB_SRTP_LABEL_RTP_ENC = 0x00,
    SB_SRTP_LABEL_RTP_AUTH = 0x01,
    SB_SRTP_LABEL_RTP_SALT = 0x02,
    SB_SRTP_LABEL_RTCP_ENC = 0x03,
    SB_SRTP_LABEL_RTCP_AUTH = 0x04,
    SB_SRTP_LABEL_RTCP_SALT = 0x05,
};

/* RFC 3711 §4.3.1/§4.3.3 with key_derivation_rate 0: out_len bytes of the AES-CM PRF keyed
 * with the master key (key_len 16 or 32) over (label XOR master salt); GCM's 12-byte master
 * salt is passed zero-padded to 14. Returns 0, SB_EINVAL (key length) or SB_EIO. */
int sb_srtp_evp_kdf(const uint8_t *master_key, size_t key_len, const uint8_t master_salt[14],
                    uint8_t label, uint8_t *out, size_t out_len);

/* AES-CM keystream (RFC 3711 §4.1.1): encrypts len bytes in place with session key and the
 * IV built from session salt, ssrc and the 48-bit packet index. Exposed for the RFC 3711 B.2
 * known-answer test. Returns 0 or SB_EIO. */
int sb_srtp_evp_keystream_xor(const uint8_t session_key[16], const uint8_t session_salt[14],
                              uint32_t ssrc, uint64_t index, uint8_t *buf, size_t len);

/* Master key and salt of the lengths sb_srtp_profile_lengths gives, not kept: the RTP and
 * RTCP session keys are derived from them. The SRTP tag is 10 (SHA1_80), 4 (SHA1_32)
 * or 16 (GCM) bytes; SRTCP adds its 4-byte E||index word and a 10 (both SHA1) or 16 (GCM)
 * byte tag. Returns 0 and *out (owned), SB_ENOTSUP for an unknown profile, SB_EIO. */
int sb_srtp_evp_new(sb_srtp_profile_t profile, const uint8_t *master_key,
                    const uint8_t *master_salt, bool inbound, sb_srtp_evp_t **out);
void sb_srtp_evp_free(sb_srtp_evp_t *e);
size_t sb_srtp_evp_tag_len(const sb_srtp_evp_t *e);
/* Bytes SRTCP protect adds: E||index word and tag, 14 or 20. */
size_t sb_srtp_evp_rtcp_overhead(const sb_srtp_evp_t *e);

/* Protects one RTP packet in place (cap >= *len + tag_len). Returns 0, SB_EINVAL (not RTP),
 * SB_ERANGE (no room), SB_EEXIST (index older than the window), SB_EIO. */
int sb_srtp_evp_protect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap);

/* Unprotects one SRTP packet in place (an inbound context, remote keys), as libsrtp2 with a
 * SB_SRTP_REPLAY_WINDOW window: the index estimated from the highest authenticated one,
 * replays and indexes older than the window refused before any crypto, the tag checked
 * (constant time), then the state of the SSRC updated. Returns 0 (*len: without the tag),
 * SB_EINVAL (not RTP, too short), SB_EEXIST (replay or too old), SB_EPROTO (tag mismatch),
 * SB_ENOMEM (a new SSRC past the 64 that RTP and RTCP share), SB_ERANGE, SB_EIO, SB_ESTATE
 * (an outbound context). */
int sb_srtp_evp_unprotect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len);

/* Protects one RTCP (compound) packet in place (cap >= *len + rtcp_overhead): the next SRTCP
 * index of the SSRC in bytes 4-7, E = 1. Returns 0, SB_EINVAL (shorter than 8 bytes),
 * SB_ERANGE (no room, or the SSRC's 2^31 - 1 indexes used up), SB_ESTATE (an inbound
 * context), SB_EIO. */
int sb_srtp_evp_protect_rtcp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap);

/* Unprotects one SRTCP packet in place (an inbound context), as libsrtp2: replays and indexes
 * below the 128-index window refused before any crypto, the tag checked (constant time), the
 * state of the SSRC updated only then. Returns 0 (*len: the RTCP packet), SB_EINVAL (shorter
 * than 8 bytes + overhead, or E = 0 with AES-CM), SB_EEXIST (replay or too old), SB_EPROTO
 * (tag mismatch; no unauthenticated plaintext is left in buf), SB_ENOMEM (too many SSRCs),
 * SB_ERANGE, SB_EIO, SB_ESTATE (an outbound context). */
int sb_srtp_evp_unprotect_rtcp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len);

#endif
