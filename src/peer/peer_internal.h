/* The inside of a peer, shared by peer.c (transport: ICE, DTLS, SRTP keys, lifecycle) and
 * peer_media.c (RTP/RTCP in and out). Nothing outside src/peer includes this. */
#ifndef SB_PEER_PEER_INTERNAL_H
#define SB_PEER_PEER_INTERNAL_H

#include <glib.h>

#include "loop/pktbuf.h"
#include "peer/ice.h"
#include "peer/peer.h"
#include "peer/peer_metrics.h"
#include "proto/bwe.h"
#include "proto/nack_gen.h"
#include "switchboard/rtp.h"
#include "proto/rtp_stats.h"
#include "proto/rtx_history.h"
#include "proto/srtp.h"
#include "proto/twcc.h"

#define SB_PEER_MAX_SSRCS (SB_MEDIA_MAX_STREAMS * 2)
#define SB_PEER_PKT_MAX 1500
#define SB_PEER_SEND_HISTORY 128 /* packets we sent, per video stream, for NACKs: ~1 s */
#define SB_PEER_PREFIX_MAX 96    /* rewritten bytes kept per sent packet (header + some) */
#define SB_PEER_FORWARD_REWRITE 8 /* payload bytes a forwarder may rewrite (plugin.h) */
#define SB_PEER_EARLY_DTLS 4      /* DTLS datagrams kept until ICE selects a pair */

typedef enum sb_peer_state {
    SB_PEER_NEW,        /* created, no remote parameters yet */
    SB_PEER_CONNECTING, /* ICE checks and DTLS handshake */
    SB_PEER_UP,         /* SRTP keys installed: webrtcup */
    SB_PEER_CLOSING,    /* torn down; freed at the end of this loop iteration */
} sb_peer_state_t;

/* Receive side of one simulcast layer of one stream. */
typedef struct sb_peer_rx_layer {
    uint32_t ssrc;     /* 0 until known */
    uint32_t rtx_ssrc;
    bool stats_ready;
    sb_rtp_stats_t stats;
    sb_nack_gen_t *nack; /* video with nack negotiated */
    int64_t last_packet_us;
    bool keyframe_pending; /* asked inside the rate limit: sent when it ends */
    int64_t kf_asked_us;   /* the last PLI sent for this layer */
    bool kf_answered;      /* a keyframe of this layer came since */
    bool receiving;        /* simulcast: the last "media" event of this layer said so */
    int64_t lost_counted;  /* of stats' cumulative loss, what /metrics has counted */
} sb_peer_rx_layer_t;

/* Runtime state of one negotiated stream. */
typedef struct sb_peer_stream_rt {
    sb_peer_rx_layer_t rx[SB_MEDIA_MAX_LAYERS];
    int64_t last_pli_us; /* the last keyframe request for any layer (peer_media.c) */
    bool receiving; /* last "media" event said so (single-layer streams) */
    /* send side */
    /* What we sent, for NACKs (video): each entry references the packet buffer it was
     * made from (shared by every subscriber of a publisher) plus the first prefix_len[]
     * bytes as we rewrote them; see sb_peer_forward_rtp. */
    sb_rtx_history_t *sent;
    uint8_t (*prefix)[SB_PEER_PREFIX_MAX]; /* SB_PEER_SEND_HISTORY slots, by seq */
    uint8_t prefix_len[SB_PEER_SEND_HISTORY];
    uint16_t rtx_seq;
    uint64_t packets_sent, octets_sent;
    uint32_t last_rtp_ts;
    int64_t last_send_us;
    /* slowlink: sequence numbers NACKed in the current one-second window */
    unsigned nacked_by_client; /* what we send was lost on the way to the client */
    unsigned nacked_by_us;     /* what the client sends was lost on the way to us */
    unsigned rx_window, tx_window; /* packets in the same window */
    int64_t last_slowlink_us[2]; /* [uplink] */
    /* the client's receiver reports on what we send it */
    int32_t remote_lost;
    uint32_t remote_jitter;
    uint32_t rtt_us; /* 0: not known yet */
} sb_peer_stream_rt_t;

/* A known SSRC of what the client sends: which stream and layer, RTX or not. */
typedef struct sb_peer_ssrc_map {
    uint32_t ssrc;
    uint8_t stream;
    uint8_t layer;
    bool rtx;
} sb_peer_ssrc_map_t;

/* Owned by its owner (a handle's media binding); its loop only. */
struct sb_peer {
    sb_loop_t *loop;
    sb_peer_metrics_t *metrics; /* its loop's counters (peer_metrics.h) */
    int64_t created_us;         /* the offer (ours or the client's): join time from here */
    bool joined;                /* webrtcup once: join time observed */
    sb_peer_owner_t *owner; /* referenced (ops->ref) for the peer's life */
    sb_plugin_handle_t *ph;
    const sb_plugin_t *plugin;
    sb_peer_state_t state;
    bool controlling;
    bool media_setup; /* plugin->setup_media was called */
    bool remote_set;
    bool sdp_sent; /* later local candidates go out as trickle events */
    bool gathering_done;
    /* After sb_peer_ice_restart, until the peer's new credentials are set: the old ones,
     * which the peer's answer must not keep. */
    char *restart_old_ufrag, *restart_old_pwd;
    GPtrArray *local_candidates; /* char*, gathered before our SDP was written */
    /* DTLS that arrived before our ICE agent selected a pair (the controlling peer may
     * start its handshake first): nothing can be sent back yet, so it is replayed once
     * connected instead of making the peer wait for its retransmission timer. Owned. */
    GBytes *early_dtls[SB_PEER_EARLY_DTLS];
    unsigned n_early_dtls;

    sb_ice_t *ice;
    sb_dtls_t *dtls;
    /* Data channels: negotiated (a data m-line was accepted, with the peer's SCTP port and
     * max-message-size), then the association once DTLS is up (peer_data.c). */
    bool data_negotiated;
    uint16_t data_port;
    uint32_t data_max_message;
    struct sb_peer_data *data;
    sb_dtls_role_t dtls_role;
    unsigned dtls_timer;
    sb_srtp_session_t *srtp_in;
    sb_srtp_session_t *srtp_out;
    sb_srtp_profile_t profile;

    sb_media_stream_t *streams; /* nstreams, allocated per negotiation */
    sb_peer_stream_rt_t *rt;    /* nstreams */
    unsigned nstreams;
    sb_peer_ssrc_map_t ssrcs[SB_PEER_MAX_SSRCS];
    unsigned nssrcs;
    uint32_t rtcp_ssrc; /* our sender SSRC for feedback */
    int ticker_slot; /* index in its loop's ticker (peer_ticker.c), -1 when not ticking */
    int64_t last_report_us;
    /* The tick skips NACK work for a peer that received no media for SB_PEER_NACK_IDLE_US
     * (muted, a listener) unless a keyframe request waits (peer_media.c, peer_keyframe.c). */
    int64_t media_in_us, media_out_us;
    bool kf_pending_any;
    int64_t idle_tick_us;     /* an idle peer's next tick (sb_peer_media_tick) */
    int64_t last_rtcp_out_us; /* our last report compound (every 1 s; idle, every 5 s) */
    int64_t last_event_report_us; /* media report for event handlers (peer_info.c) */
    uint32_t remb_bps;

    /* Transport-wide congestion control (peer_cc.c): per transport, kept across
     * renegotiations. */
    struct {
        uint8_t recv_id, send_id; /* negotiated extension ids, 0: not negotiated */
        sb_twcc_recv_t *recv;     /* arrivals of what the client sends, for our feedback */
        uint32_t media_ssrc;      /* an SSRC of the client's, named in our feedback */
        sb_twcc_send_t *send;     /* what we send, matched to the client's feedback */
        sb_bwe_t *bwe;
        struct sb_peer_cc_trace *trace; /* SB_CC_TRACE's record of bwe's input, or NULL */
        int probe_stream;         /* stream whose RTX SSRC carries probes, -1: none */
        int probe_cluster;        /* the probe being sent: its cluster, packets to go, */
        unsigned probe_left, probe_slice; /* and packets per tick */
        uint32_t wanted_bps;      /* what the plugin would send if the estimate allowed */
        uint32_t estimate_bps;    /* bwe's estimate after its last input: the tick reads it
                                   * here, not from bwe (cold at a fan-out: 0.03 us/pkt) */
        uint32_t reported_bps;
        int64_t reported_us;
        int64_t first_send_us; /* our first numbered packet */
        bool feedback_seen;    /* the client has sent feedback that matched */
        uint64_t probe_packets;
    } cc;

    uint8_t scratch[SB_PEER_PKT_MAX + SB_SRTP_MAX_TRAILER_LEN + 64];
    uint8_t scratch2[SB_PEER_PKT_MAX + SB_SRTP_MAX_TRAILER_LEN + 64]; /* a rebuilt header */
    struct {
        uint64_t rtp_in, rtcp_in, rtp_out, rtcp_out, dropped_in, unknown_ssrc, bad_pt;
        uint64_t srtp_fail, nacks_in, retransmitted, rtx_in;
        uint64_t malformed_in, rtx_unusable; /* dropped: not RTP; RTX restoring nothing */
    } stats;
};

/* peer_media.c */
void sb_peer_media_on_rtp(sb_peer_t *p, uint8_t *buf, size_t len);
void sb_peer_media_on_rtcp(sb_peer_t *p, uint8_t *buf, size_t len);
void sb_peer_media_start(sb_peer_t *p);  /* after webrtcup: periodic RTCP */
/* Every 20 ms, or every second while no peer on the loop is busy (peer_ticker.c). */
bool sb_peer_media_tick(sb_peer_t *p, int64_t now);
bool sb_peer_media_busy(const sb_peer_t *p, int64_t now);
void sb_peer_ticker_add(sb_peer_t *p);
void sb_peer_ticker_remove(sb_peer_t *p);
/* p became busy (sb_peer_media_busy): its loop's ticker back to 20 ms. */
void sb_peer_ticker_wake(sb_peer_t *p);
/* p's loop's ticker is on its idle period (for tests). */
bool sb_peer_ticker_slow(const sb_peer_t *p);
void sb_peer_media_stop(sb_peer_t *p);   /* frees per-stream state */
void sb_peer_media_map_streams(sb_peer_t *p);
/* Protect and send one plaintext RTCP compound built in p->scratch (or elsewhere). */
int sb_peer_send_rtcp(sb_peer_t *p, const uint8_t *data, size_t len);

/* At most one PLI per stream (all its simulcast layers) per 350 ms: Chromium ignores a
 * keyframe request that comes within 300 ms of the one it last took, whatever its layer, and
 * answers one with keyframes on every layer (with a per-layer 100 ms limit, a subscriber's
 * request for layer 0 right after one for layer 2 was dropped there and its first frame
 * waited 500 ms for our retry). A request inside the window is kept and sent when it ends
 * (unless that layer's keyframe came meanwhile), a little after Chromium's own window so it
 * is taken (at exactly 300 ms, an ICE restart's second request was still dropped). */
#define SB_PEER_PLI_MIN_US 350000
#define SB_PEER_NACK_IDLE_US 1000000
#define SB_PEER_IDLE_TICK_US 1000000
#define SB_PEER_TICK_US 20000
#define SB_PEER_IDLE_REPORT_US 5000000
/* A keyframe of the layer came: what was asked for is answered (peer_keyframe.c). */
void sb_peer_keyframe_received(sb_peer_rx_layer_t *rx);
void sb_peer_media_free_streams(sb_peer_t *p);

/* peer_media.c: which stream sends one of OUR media SSRCs (what a client's RTCP names);
 * -1 for none. */
int sb_peer_local_stream(sb_peer_t *p, uint32_t ssrc);
/* peer_info.c: the client's report blocks on what we send (loss, jitter, RTT), kept for
 * handle_info and the media reports; and those reports for event handlers, one per m-line
 * (every events.media_stats_period, and at close). */
void sb_peer_on_report_blocks(sb_peer_t *p, const uint8_t *rbs, uint8_t count);
void sb_peer_emit_reports(sb_peer_t *p);

/* peer_cc.c */
void sb_peer_cc_setup(sb_peer_t *p); /* after each negotiation */
void sb_peer_cc_free(sb_peer_t *p);
void sb_peer_cc_on_rtp(sb_peer_t *p, const sb_rtp_view_t *v, int64_t now);
void sb_peer_cc_tick(sb_peer_t *p, int64_t now);
/* A probe is under way: the peer ticks at the full rate. */
bool sb_peer_cc_busy(const sb_peer_t *p);
/* Our transport sequence number into a packet about to be protected, buf having cap bytes
 * of room (SRTP's trailer included): in place, the packet growing when it has no element for
 * it, or else rebuilt into the other scratch buffer. Returns where the packet is now. */
uint8_t *sb_peer_cc_stamp(sb_peer_t *p, uint8_t *buf, size_t *len, size_t cap, int probe);
void sb_peer_cc_on_feedback(sb_peer_t *p, const sb_rtcp_fb_t *fb, int64_t now);
/* The client's REMB: true when our estimator takes it (as a cap). */
bool sb_peer_cc_on_remb(sb_peer_t *p, uint64_t bps, int64_t now);
/* peer_media.c: protect (room for the trailer in p->scratch-sized buffers) and send. */
int sb_peer_cc_protect_send(sb_peer_t *p, uint8_t *buf, size_t len);

/* peer.c: media.nack_history_ms in µs (0: the history's default). */
int64_t sb_peer_nack_history_us(void);
/* peer.c: send one protected datagram through ICE. */
int sb_peer_transport_send(sb_peer_t *p, const uint8_t *data, size_t len);
void sb_peer_push_core_event(sb_peer_t *p, const char *type, json_t *fields);

#endif
