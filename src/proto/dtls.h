/* DTLS-SRTP endpoint for one PeerConnection (RFC 5763, RFC 5764, RFC 6347), sans-IO.
 *
 * Bytes in, bytes out: the peer layer feeds every datagram whose first byte is 20..63
 * (RFC 7983 §7) to sb_dtls_handle(), and this unit hands every outgoing datagram to ops->send.
 * It never touches a socket, a thread or a clock of its own: the owner drives retransmissions
 * through sb_dtls_next_timeout_us()/sb_dtls_handle_timeout() with its loop's monotonic clock.
 * (OpenSSL 3.0 measures its retransmission timer with the wall clock internally; the values
 * returned here are translated into the caller's time base.)
 *
 * Handshake: DTLS 1.2, both sides present certificates; the remote certificate must match the
 * a=fingerprint of the remote SDP, else the handshake fails (with a bad_certificate alert, so
 * the other side fails too) and no keys are ever produced. Offered SRTP profiles, in order:
 * AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES128_CM_SHA1_80, AES128_CM_SHA1_32.
 * Datagrams never exceed the MTU (default SB_DTLS_DEFAULT_MTU); the first retransmission comes
 * after SB_DTLS_INITIAL_RTO_US, doubling up to SB_DTLS_MAX_RTO_US; a handshake that has not
 * completed SB_DTLS_HANDSHAKE_TIMEOUT_US after it began fails.
 *
 * A server endpoint answers a ClientHello whenever it arrives, even before sb_dtls_start():
 * ICE may complete (and the browser send its ClientHello) before the peer layer starts DTLS.
 *
 * Thread: an endpoint is owned by its peer and used only on the peer's media loop. The ops are
 * called synchronously from sb_dtls_start/handle/handle_timeout/close; they must not call back
 * into the same endpoint's sb_dtls_* functions except sb_dtls_close() from on_connected, and
 * must never free it (mark the peer closing, free it later). */
#ifndef SB_PROTO_DTLS_H
#define SB_PROTO_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cert.h"
#include "proto/srtp.h"

#define SB_DTLS_DEFAULT_MTU 1200
#define SB_DTLS_INITIAL_RTO_US 100000
#define SB_DTLS_MAX_RTO_US 2000000
#define SB_DTLS_HANDSHAKE_TIMEOUT_US 10000000
#define SB_DTLS_ALERT_GRACE_US 2000000 /* handshake time left after an unencrypted alert */
#define SB_DTLS_DEFAULT_PROFILES                                                                   \
    "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"

/* Our role per the negotiated a=setup (RFC 5763 §5): active = client, passive = server. */
typedef enum sb_dtls_role {
    SB_DTLS_CLIENT = 0,
    SB_DTLS_SERVER = 1,
} sb_dtls_role_t;

typedef enum sb_dtls_state {
    SB_DTLS_NEW = 0,    /* created, nothing sent or received */
    SB_DTLS_CONNECTING, /* handshake under way */
    SB_DTLS_CONNECTED,  /* keys delivered */
    SB_DTLS_FAILED,     /* on_failed was called; terminal */
    SB_DTLS_CLOSED,     /* close_notify sent or received; terminal */
} sb_dtls_state_t;

/* Called on the owner's loop, from inside sb_dtls_* calls. ctx is the owner's pointer. */
typedef struct sb_dtls_ops {
    /* One outgoing datagram (<= MTU), borrowed for the call. Required. */
    void (*send)(void *ctx, const uint8_t *datagram, size_t len);
    /* Handshake done and fingerprint verified: keys (borrowed, wiped after the call) hold the
     * selected profile and local/remote master keys. Called once. Required. */
    void (*on_connected)(void *ctx, const sb_srtp_keys_t *keys);
    /* Handshake failed, timed out, or the fingerprint did not match; reason is static or
     * borrowed text. Called once; terminal. Required. */
    void (*on_failed)(void *ctx, const char *reason);
    /* The remote sent close_notify (we answer it). Terminal. Optional (NULL). */
    void (*on_closed)(void *ctx);
    /* Application data after the handshake (SCTP for data channels). Optional. */
    void (*on_data)(void *ctx, const uint8_t *data, size_t len);
} sb_dtls_ops_t;

typedef struct sb_dtls sb_dtls_t;

/* Releases the global BIO method. Call at exit after every endpoint is freed. Any thread. */
void sb_dtls_global_deinit(void);

/* Creates an endpoint using cert's shared context (cert is borrowed for this call only).
 * remote_fp_hash/remote_fp_hex: the remote a=fingerprint ("sha-256", "AB:CD:..."); both NULL
 * to set it later with sb_dtls_set_remote_fingerprint (the handshake fails if it is still
 * unset when the remote certificate arrives). ops must outlive the endpoint.
 * Returns 0 and *out (owned, sb_dtls_free), SB_EINVAL/SB_ENOTSUP for a bad fingerprint,
 * SB_EIO when OpenSSL fails. */
int sb_dtls_new(const sb_cert_t *cert, sb_dtls_role_t role, const char *remote_fp_hash,
                const char *remote_fp_hex, const sb_dtls_ops_t *ops, void *ctx, sb_dtls_t **out);
void sb_dtls_free(sb_dtls_t *d);

/* Before the handshake begins (state NEW). Return 0, SB_ESTATE after, SB_EINVAL/SB_ENOTSUP. */
int sb_dtls_set_remote_fingerprint(sb_dtls_t *d, const char *hash, const char *hex);
/* Colon-separated OpenSSL profile names, in preference order (default above). */
int sb_dtls_set_profiles(sb_dtls_t *d, const char *profiles);
/* Largest datagram we send, 256..16384 (default 1200). */
int sb_dtls_set_mtu(sb_dtls_t *d, size_t mtu);

/* Begins the handshake: a client sends its ClientHello; a server waits (or has already
 * answered). Returns 0, SB_ESTATE when failed/closed (repeated calls are no-ops). */
int sb_dtls_start(sb_dtls_t *d);

/* Feeds one received DTLS datagram (borrowed). Returns 0 when consumed (even if OpenSSL
 * discarded it as junk), SB_EINVAL when it is not a DTLS record at all, SB_ESTATE when the
 * endpoint is failed or closed. A client that has not started ignores input. A datagram with
 * a record that cannot be genuine (unencrypted alert, too short to be sealed, unknown type,
 * wrong epoch) is dropped and counted (sb_dtls_get_dropped): a record that does not
 * authenticate never ends the session, only an authenticated alert does. An unencrypted alert
 * during the handshake (the remote rejecting our certificate, or a forgery) leaves the
 * handshake SB_DTLS_ALERT_GRACE_US to complete before it fails. */
int sb_dtls_handle(sb_dtls_t *d, const uint8_t *data, size_t len);

/* Absolute deadline (in now_us's time base) at which sb_dtls_handle_timeout must be called,
 * or -1 when no timer is needed. Call after every start/handle/handle_timeout. The handshake
 * timeout counts from the first call made after the handshake began. */
int64_t sb_dtls_next_timeout_us(sb_dtls_t *d, int64_t now_us);
/* Retransmits the last flight if due, or fails the handshake after its timeout. */
void sb_dtls_handle_timeout(sb_dtls_t *d, int64_t now_us);

/* Application data (an SCTP packet) in one record, once connected: len must fit the MTU
 * with the record's overhead (SB_DTLS_RECORD_OVERHEAD). 0; SB_ESTATE (not connected);
 * SB_EINVAL (empty or too large); SB_EIO. */
#define SB_DTLS_RECORD_OVERHEAD 64 /* header, explicit nonce, tag, with room to spare */
int sb_dtls_send_data(sb_dtls_t *d, const uint8_t *data, size_t len);

/* Sends close_notify (once) and moves to CLOSED; no callback. Returns 0 or SB_ESTATE. */
int sb_dtls_close(sb_dtls_t *d);

sb_dtls_state_t sb_dtls_get_state(const sb_dtls_t *d);
sb_dtls_role_t sb_dtls_get_role(const sb_dtls_t *d);
/* Negotiated profile once connected, else SB_SRTP_PROFILE_NONE. */
sb_srtp_profile_t sb_dtls_get_profile(const sb_dtls_t *d);
/* Datagrams discarded before OpenSSL saw them because a record in them could not be genuine
 * (see sb_dtls_handle). */
uint64_t sb_dtls_get_dropped(const sb_dtls_t *d);

#endif
