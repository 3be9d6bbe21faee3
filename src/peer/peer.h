/* A PeerConnection terminated in Switchboard: ICE (libnice, via ice.h) → first-byte demux →
 * DTLS (keys) → SRTP → RTP/RTCP → its plugin, and the way back.
 *
 * Threads: a peer is bound to one media loop for its whole life and every sb_peer_*
 * function runs on that loop (debug builds assert it). Others reach it by posting to the
 * loop (session/handle_media.c does). Owned by its owner (sb_peer_owner_t: a handle's media
 * binding); sb_peer_close() starts an asynchronous teardown that frees it at the end of the
 * loop iteration, never inside its own callbacks. A peer knows nothing of sessions and
 * handles: what it tells its owner, and asks of it, goes through the owner's ops. */
#ifndef SB_PEER_PEER_H
#define SB_PEER_PEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "switchboard/plugin.h"
#include "proto/cert.h"
#include "proto/dtls.h"

typedef struct sb_peer sb_peer_t;

/* Process-wide media settings, set once at start-up (main thread). */
typedef struct sb_peer_globals {
    const sb_cert_t *cert;           /* borrowed for the process lifetime */
    const struct sb_ice_config *ice; /* borrowed for the process lifetime */
    unsigned nack_history_ms;        /* oldest packet resent for a NACK; 0: 1 s */
    unsigned data_max_message;       /* data channels' a=max-message-size; 0: 256 KiB */
} sb_peer_globals_t;
void sb_peer_globals_set(const sb_peer_globals_t *g);
/* The largest data channel message we take and announce (a=max-message-size). */
#define SB_PEER_DATA_DEFAULT_MAX_MESSAGE (256u << 10)
uint32_t sb_peer_data_max_message(void);

/* The transport side of a negotiation, as read from the remote SDP. */
typedef struct sb_peer_remote {
    char ufrag[257];
    char pwd[257];
    char fp_hash[24];  /* "sha-256" */
    char fp_hex[200];  /* "AB:CD:..." */
    sb_dtls_role_t our_role; /* from a=setup: remote active → we are server */
} sb_peer_remote_t;

/* A peer's owner (the session layer: a handle's media binding, session/handle_media.c) and
 * the plugin its media goes to: what the peer tells its owner and asks of it. Embedded in the
 * owner's object, which lives as long as a reference taken with ref; set before the first
 * sb_peer_new and never changed after. The peer holds a reference for its life and one for
 * each job it posts to its loop. Every op but ref and unref runs on the peer's loop. */
typedef struct sb_peer_owner sb_peer_owner_t;
typedef struct sb_peer_owner_ops {
    void (*ref)(sb_peer_owner_t *o);   /* any thread */
    void (*unref)(sb_peer_owner_t *o); /* any thread */
    /* A Janus core event {"janus":type,...fields} for the client (fields stolen). */
    void (*push_core_event)(sb_peer_owner_t *o, const char *type, json_t *fields);
    /* An event for event handlers (peer/events.h; body stolen). */
    void (*emit)(sb_peer_owner_t *o, unsigned type, unsigned subtype, json_t *body);
    /* The peer is closing (sb_peer_close): the owner forgets it. */
    void (*on_close)(sb_peer_owner_t *o, sb_peer_t *p);
    /* The owner's live peer, or NULL: a job the peer posted finds it again through this.
     * Borrowed, valid during this loop iteration. */
    sb_peer_t *(*peer)(sb_peer_owner_t *o);
} sb_peer_owner_ops_t;

struct sb_peer_owner {
    const sb_peer_owner_ops_t *ops;
    void *ctx;                 /* the owner's own, for its ops */
    const sb_plugin_t *plugin; /* borrowed: outlives the owner */
    sb_plugin_handle_t *ph;    /* borrowed: lives as long as the owner */
};

/* Create a peer for owner (borrowed, referenced: see sb_peer_owner_t) on the current loop.
 * controlling: we made the offer. Returns 0 and *out, or SB_E*. */
int sb_peer_new(sb_loop_t *loop, sb_peer_owner_t *owner, bool controlling, sb_peer_t **out);

/* Local ICE credentials (borrowed) and DTLS fingerprint for our SDP. */
void sb_peer_local_ice(sb_peer_t *p, const char **ufrag, const char **pwd);
/* Local candidates gathered so far (host candidates are there once gather returned);
 * owned NULL-terminated array of owned strings (g_strfreev). */
char **sb_peer_local_candidates(sb_peer_t *p);
bool sb_peer_gathering_done(const sb_peer_t *p);
/* Our SDP went out: later local candidates are sent as trickle events. */
void sb_peer_mark_sdp_sent(sb_peer_t *p);
/* "sha-256 AB:..." of the process certificate. */
const char *sb_peer_local_fingerprint(void);

/* Apply the remote transport parameters (first negotiation; later ones must match or
 * an ICE restart is refused with SB_ENOTSUP). Starts ICE and, once connected, DTLS. */
int sb_peer_set_remote(sb_peer_t *p, const sb_peer_remote_t *r);
/* ICE restart: new local credentials (sb_peer_local_ice), the same DTLS and SRTP. The
 * next sb_peer_set_remote must bring the peer's new credentials (SB_EINVAL if it keeps the
 * old ones); a set_remote with new credentials and no restart first is SB_ENOTSUP. The
 * client's video is asked for a keyframe as soon as the new path is up. 0, SB_ESTATE (no
 * remote description yet, or closing), SB_EIO. */
int sb_peer_ice_restart(sb_peer_t *p);
/* Compared with the remote ICE credentials in use: 0 the same (or none set yet), 1 both
 * new (an ICE restart), -1 only one of them new (not a valid restart). */
int sb_peer_remote_ice_changed(const sb_peer_t *p, const char *ufrag, const char *pwd);
/* A data m-line was negotiated: the SCTP association starts once DTLS is up (at once if it
 * is). Loop thread. */
void sb_peer_set_data(sb_peer_t *p, uint16_t remote_port, uint32_t remote_max_message);
/* A data channel message to the client (see sb_core_api_t.send_data). Loop thread. */
int sb_peer_send_data(sb_peer_t *p, const sb_data_message_t *msg);
/* The data m-line was rejected or disabled: the association ends. Loop thread. */
void sb_peer_unset_data(sb_peer_t *p);
/* Close our channels with this label (see sb_core_api_t.close_data). Loop thread. */
int sb_peer_close_data(sb_peer_t *p, const char *label);
/* A remote candidate line ("candidate:..." with or without "a="). */
int sb_peer_add_remote_candidate(sb_peer_t *p, const char *line);
void sb_peer_remote_candidates_done(sb_peer_t *p);

/* Replace the negotiated streams (copied). */
void sb_peer_set_streams(sb_peer_t *p, const sb_media_stream_t *streams, unsigned n);
unsigned sb_peer_get_streams(sb_peer_t *p, sb_media_stream_t *out, unsigned max);

/* Media, see plugin.h for the semantics. */
int sb_peer_send_rtp(sb_peer_t *p, unsigned stream, const uint8_t *data, size_t len);
int sb_peer_forward_rtp(sb_peer_t *p, unsigned stream, uint8_t *buf, size_t len, size_t cap,
                        const sb_rtp_packet_t *src);
void sb_peer_request_keyframe(sb_peer_t *p, unsigned stream, unsigned layer);
void sb_peer_request_first_keyframe(sb_peer_t *p, unsigned stream, unsigned layer);
void sb_peer_send_remb(sb_peer_t *p, uint32_t bitrate_bps);
/* What the plugin would send the client if the estimate allowed (peer_cc.c probes). */
void sb_peer_want_bitrate(sb_peer_t *p, uint32_t bitrate_bps);

/* Tear down: hangup event with reason (unless NULL: silent), plugin hangup_media if media
 * was set up, then freed at the end of the loop iteration. Idempotent. */
void sb_peer_close(sb_peer_t *p, const char *reason);
bool sb_peer_is_closing(const sb_peer_t *p);
/* The Admin API's description of p (peer_info.c): owned. Loop thread. */
json_t *sb_peer_info(sb_peer_t *p);
sb_loop_t *sb_peer_loop(const sb_peer_t *p);

#endif
