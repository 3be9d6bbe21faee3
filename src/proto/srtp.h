/* SRTP/SRTCP protection for one direction of one peer (RFC 3711, keys from RFC 5764).
 *
 * A peer owns two sessions: an outbound one built from the local keys (protect) and an inbound
 * one built from the remote keys (unprotect). Each matches any SSRC of its direction, so one
 * session serves every stream of the PeerConnection. libsrtp2 is the reference implementation;
 * RTP and RTCP go through OpenSSL-EVP transforms (srtp_evp.h) in both directions, verified
 * against libsrtp2 in the unit tests, by default for every profile, because Debian's libsrtp2
 * (built against NSS) is several times slower: SRTP is the one per-subscriber crypto step of
 * fan-out, and each subscriber's transport-cc feedback is SRTCP ~20 times a second.
 *
 * Thread: a session is owned by its peer and touched only on the peer's media loop.
 * sb_srtp_init()/sb_srtp_deinit() are global and thread-safe.
 * Errors are returned, counted in the session stats, never logged per packet. */
#ifndef SB_PROTO_SRTP_H
#define SB_PROTO_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DTLS-SRTP protection profiles; values are the IANA ids (RFC 5764 §4.1.2, RFC 7714 §14.2). */
typedef enum sb_srtp_profile {
    SB_SRTP_PROFILE_NONE = 0,
    SB_SRTP_AES128_CM_SHA1_80 = 0x0001,
    SB_SRTP_AES128_CM_SHA1_32 = 0x0002,
    SB_SRTP_AEAD_AES_128_GCM = 0x0007,
    SB_SRTP_AEAD_AES_256_GCM = 0x0008,
} sb_srtp_profile_t;

#define SB_SRTP_MAX_KEY_LEN 32
#define SB_SRTP_MAX_SALT_LEN 14

/* Most bytes protect adds: the authentication tag, plus the 4-byte SRTCP index for RTCP (no MKI
 * is ever used). Size every buffer handed to protect as packet + SB_SRTP_MAX_TRAILER_LEN, or use
 * the exact per-session figures below. */
#define SB_SRTP_MAX_TRAILER_LEN 20

/* Master keys of both directions, as exported by DTLS (RFC 5764 §4.2): "local" protects what we
 * send, "remote" unprotects what we receive. Plain value; wipe it after use. */
typedef struct sb_srtp_keys {
    sb_srtp_profile_t profile;
    uint8_t key_len;  /* 16 or 32 */
    uint8_t salt_len; /* 14 (AES-CM) or 12 (GCM) */
    uint8_t local_key[SB_SRTP_MAX_KEY_LEN];
    uint8_t local_salt[SB_SRTP_MAX_SALT_LEN];
    uint8_t remote_key[SB_SRTP_MAX_KEY_LEN];
    uint8_t remote_salt[SB_SRTP_MAX_SALT_LEN];
} sb_srtp_keys_t;

typedef enum sb_srtp_direction {
    SB_SRTP_OUTBOUND = 0, /* local keys, protect */
    SB_SRTP_INBOUND = 1,  /* remote keys, unprotect */
} sb_srtp_direction_t;

/* Which code does a session's transforms, RTP and RTCP. AUTO picks EVP (every profile). */
typedef enum sb_srtp_impl {
    SB_SRTP_IMPL_AUTO = 0,
    SB_SRTP_IMPL_LIBSRTP = 1,
    SB_SRTP_IMPL_EVP = 2, /* fails with SB_ENOTSUP for profiles it does not cover */
} sb_srtp_impl_t;

/* Per-session counters (media loop only). */
typedef struct sb_srtp_stats {
    uint64_t rtp_ok, rtcp_ok;
    uint64_t auth_fail;   /* tag mismatch: tampered, wrong key, or garbage */
    uint64_t replay_fail; /* duplicate or older than the replay window */
    uint64_t other_fail;  /* malformed, too big, or library errors */
} sb_srtp_stats_t;

typedef struct sb_srtp_session sb_srtp_session_t;

/* Replay window in packets: wide enough for NACK retransmissions arriving late. */
#define SB_SRTP_REPLAY_WINDOW 1024

/* Global libsrtp2 set-up and tear-down. init is idempotent and thread-safe; deinit only after
 * every session is freed (at exit). Return 0 or SB_EIO. */
int sb_srtp_init(void);
void sb_srtp_deinit(void);

/* Profile helpers. name: "SRTP_AES128_CM_SHA1_80" style (the OpenSSL/RFC 5764 name). */
const char *sb_srtp_profile_name(sb_srtp_profile_t profile);
/* Master key and salt lengths for a profile; 0 on success, SB_ENOTSUP when unknown. */
int sb_srtp_profile_lengths(sb_srtp_profile_t profile, size_t *key_len, size_t *salt_len);

/* Creates one direction's session from keys (borrowed, copied). Needs sb_srtp_init().
 * Returns 0 and *out (owned, free with sb_srtp_session_free), SB_ENOTSUP for an unknown
 * profile or an impl that does not cover it, SB_EINVAL for inconsistent lengths, SB_EIO. */
int sb_srtp_session_new(const sb_srtp_keys_t *keys, sb_srtp_direction_t dir,
                        sb_srtp_session_t **out);
int sb_srtp_session_new_impl(const sb_srtp_keys_t *keys, sb_srtp_direction_t dir,
                             sb_srtp_impl_t impl, sb_srtp_session_t **out);
void sb_srtp_session_free(sb_srtp_session_t *s);

/* Exact bytes protect adds for this session's RTP and RTCP packets. */
size_t sb_srtp_rtp_overhead(const sb_srtp_session_t *s);
size_t sb_srtp_rtcp_overhead(const sb_srtp_session_t *s);
/* True when this session's RTP and RTCP go through the EVP transforms. */
bool sb_srtp_session_uses_evp(const sb_srtp_session_t *s);
void sb_srtp_session_stats(const sb_srtp_session_t *s, sb_srtp_stats_t *out);

/* In-place transforms. buf holds *len bytes and has room for cap; on success *len is the new
 * length. Protect needs cap >= *len + overhead. Returns 0, SB_ESTATE (wrong direction),
 * SB_EINVAL (too short or not RTP/RTCP), SB_ERANGE (no room, or too long),
 * SB_EPROTO (authentication failure or replay), SB_EIO (library failure). On failure the
 * buffer content is unspecified and *len unchanged. */
int sb_srtp_protect_rtp(sb_srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int sb_srtp_unprotect_rtp(sb_srtp_session_t *s, uint8_t *buf, size_t *len);
int sb_srtp_protect_rtcp(sb_srtp_session_t *s, uint8_t *buf, size_t *len, size_t cap);
int sb_srtp_unprotect_rtcp(sb_srtp_session_t *s, uint8_t *buf, size_t *len);

#endif
