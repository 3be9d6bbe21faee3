/* ICE's STUN once a pair is selected (RFC 8445 §7.3, RFC 7675 consent freshness, RFC 8489
 * message format): reading a message and checking its FINGERPRINT and short-term
 * MESSAGE-INTEGRITY, answering a peer's Binding request, and writing our own consent check.
 * Sans-IO: bytes in, bytes out; the caller owns every buffer.
 *
 * A short-term credential's key is the password itself (ICE passwords are printable ASCII,
 * which SASLprep/OpaqueString leave as they are); callers key an sb_hmac_sha1_t with it once. */
#ifndef SB_PROTO_STUN_ICE_H
#define SB_PROTO_STUN_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/hmac_sha1.h"

#define SB_STUN_HEADER_LEN 20
#define SB_STUN_ICE_TXID_LEN 12

/* Message types (class | method) this module reads or writes. */
#define SB_STUN_BINDING_REQUEST 0x0001
#define SB_STUN_BINDING_INDICATION 0x0011
#define SB_STUN_BINDING_SUCCESS 0x0101
#define SB_STUN_BINDING_ERROR 0x0111

/* The longest message we write: a consent check with a 513-byte USERNAME would not fit, but
 * ICE's ufrags are at most 256 characters each (RFC 8839), so "theirs:ours" fits. */
#define SB_STUN_ICE_MAX_LEN 640

/* What a parsed message holds; pointers are into the caller's buffer. */
typedef struct sb_stun_msg {
    uint16_t type;
    const uint8_t *txid;       /* SB_STUN_ICE_TXID_LEN bytes */
    const uint8_t *username;   /* NULL when absent */
    uint16_t username_len;
    size_t integrity_at;       /* offset of MESSAGE-INTEGRITY's attribute header; 0: none */
    size_t fingerprint_at;     /* offset of FINGERPRINT's attribute header; 0: none */
    bool use_candidate;
    bool controlling, controlled; /* ICE-CONTROLLING / ICE-CONTROLLED present */
    uint16_t error_code;       /* ERROR-CODE's class * 100 + number; 0: none */
} sb_stun_msg_t;

/* Whether the datagram may be STUN at all (RFC 7983: first byte 0-3) and carries the magic
 * cookie. Cheap: for demultiplexing. */
bool sb_stun_is_stun(const uint8_t *buf, size_t len);

/* Reads the header and attributes. MESSAGE-INTEGRITY must be followed by nothing but
 * FINGERPRINT, and FINGERPRINT must be last (RFC 8489 §14.5, §14.7). 0, or SB_EINVAL
 * (truncated, a length that lies, an attribute past the end, misplaced integrity). */
int sb_stun_parse(const uint8_t *buf, size_t len, sb_stun_msg_t *m);

/* FINGERPRINT present and right. */
bool sb_stun_fingerprint_ok(const uint8_t *buf, size_t len, const sb_stun_msg_t *m);

/* MESSAGE-INTEGRITY present and right for the key (compared in constant time). */
bool sb_stun_integrity_ok(const uint8_t *buf, const sb_stun_msg_t *m, const sb_hmac_sha1_t *key);

/* Whether a Binding request's USERNAME is "<ours>:<anything>" (the peer's checks to us). */
bool sb_stun_username_is_for(const sb_stun_msg_t *m, const char *our_ufrag);

/* A Binding success response to txid telling the peer the address it came from
 * (XOR-MAPPED-ADDRESS), with MESSAGE-INTEGRITY under key and FINGERPRINT. Returns the length,
 * or 0 when cap is too small or the address is neither IPv4 nor IPv6. */
size_t sb_stun_binding_success(uint8_t *out, size_t cap, const uint8_t *txid,
                               const struct sockaddr *from, const sb_hmac_sha1_t *key);

/* Our consent check (RFC 7675 §5.1: an ICE connectivity check on the selected pair):
 * USERNAME "<their ufrag>:<our ufrag>", PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED with the
 * tie-breaker, MESSAGE-INTEGRITY under the peer's password, FINGERPRINT. Returns the length,
 * or 0 when cap is too small or the ufrags too long. */
size_t sb_stun_consent_request(uint8_t *out, size_t cap, const uint8_t *txid,
                               const char *their_ufrag, const char *our_ufrag,
                               uint32_t priority, bool controlling, uint64_t tiebreaker,
                               const sb_hmac_sha1_t *their_key);

#endif
