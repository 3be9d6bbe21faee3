/* SRTP for RTP with OpenSSL EVP, both directions, for every DTLS-SRTP profile we negotiate:
 * AES_CM_128_HMAC_SHA1_80/32 (RFC 3711 §4.1.1, §4.2, §4.3) and AEAD_AES_128/256_GCM (RFC 7714).
 *
 * Internal to srtp.c (and its unit tests): one context per session and direction, any number
 * of SSRCs. It follows libsrtp2 exactly (same index estimation, same replay window and "too
 * old" rule with SB_SRTP_REPLAY_WINDOW, retransmissions of an index allowed when sending), so
 * what it sends is byte-for-byte libsrtp2's and it accepts and refuses what libsrtp2 does;
 * the unit tests check both. Not covered: SRTCP, MKI, key derivation rate, header extension
 * encryption.
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

/* Master key and salt of the lengths sb_srtp_profile_lengths gives; they are copied. The tag
 * is 10 (SHA1_80), 4 (SHA1_32) or 16 (GCM) bytes. Returns 0 and *out (owned), SB_ENOTSUP for
 * an unknown profile, SB_EIO. */
int sb_srtp_evp_new(sb_srtp_profile_t profile, const uint8_t *master_key,
                    const uint8_t *master_salt, bool inbound, sb_srtp_evp_t **out);
void sb_srtp_evp_free(sb_srtp_evp_t *e);
size_t sb_srtp_evp_tag_len(const sb_srtp_evp_t *e);

/* Protects one RTP packet in place (cap >= *len + tag_len). Returns 0, SB_EINVAL (not RTP),
 * SB_ERANGE (no room), SB_EPROTO (index older than the window), SB_EIO. */
int sb_srtp_evp_protect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap);

/* Unprotects one SRTP packet in place (an inbound context, remote keys), as libsrtp2 with a
 * SB_SRTP_REPLAY_WINDOW window: the index estimated from the highest authenticated one,
 * replays and indexes older than the window refused before any crypto, the tag checked
 * (constant time), then the state of the SSRC updated. Returns 0 (*len: without the tag),
 * SB_EINVAL (not RTP, too short), SB_EEXIST (replay or too old), SB_EPROTO (tag mismatch),
 * SB_ENOMEM (too many SSRCs), SB_ERANGE, SB_EIO, SB_ESTATE (an outbound context). */
int sb_srtp_evp_unprotect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len);

#endif
