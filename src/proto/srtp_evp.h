/* Outbound SRTP with OpenSSL EVP for every DTLS-SRTP profile we negotiate:
 * AES_CM_128_HMAC_SHA1_80/32 (RFC 3711 §4.1.1, §4.2, §4.3) and AEAD_AES_128/256_GCM (RFC 7714).
 *
 * Internal to srtp.c (and its unit tests): the sender side of RTP only, one context per
 * outbound session, any number of SSRCs. It follows libsrtp2's sender exactly (same index
 * estimation, same "too old" rule with SB_SRTP_REPLAY_WINDOW, retransmissions of an index
 * allowed), so its output is byte-for-byte libsrtp2's; the unit tests check this.
 * Not covered: SRTCP, receiving, MKI, key derivation rate, header extension encryption.
 *
 * Thread: owned by one srtp session, media loop only. */
#ifndef SB_PROTO_SRTP_EVP_H
#define SB_PROTO_SRTP_EVP_H

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
                    const uint8_t *master_salt, sb_srtp_evp_t **out);
void sb_srtp_evp_free(sb_srtp_evp_t *e);
size_t sb_srtp_evp_tag_len(const sb_srtp_evp_t *e);

/* Protects one RTP packet in place (cap >= *len + tag_len). Returns 0, SB_EINVAL (not RTP),
 * SB_ERANGE (no room), SB_EPROTO (index older than the window), SB_EIO. */
int sb_srtp_evp_protect_rtp(sb_srtp_evp_t *e, uint8_t *buf, size_t *len, size_t cap);

#endif
