/* The inside of a load-generator peer, shared by peer.c (ICE, DTLS, SRTP keys, SDP) and
 * peer_rtp.c (RTP/RTCP out and in). Nothing else includes this. */
#ifndef SB_BENCH_LG_PEER_INTERNAL_H
#define SB_BENCH_LG_PEER_INTERNAL_H

#include "bench/loadgen/lg.h"

#define LG_PACER_SLOTS 128 /* packets a publisher's pacer holds; a frame more is dropped */
#include "peer/ice.h"
#include "proto/dtls.h"
#include "proto/sdp.h"
#include "proto/srtp.h"
#include "proto/twcc.h"

#define LG_MAX_RX 16
#define LG_MAX_CANDS 16
#define LG_SEEN_WORDS 16 /* 1024-packet window for duplicate detection */

/* Receive accounting of one SSRC the server sends us. Loop only. */
typedef struct lg_rx {
    uint32_t ssrc;
    bool video;
    int64_t highest; /* extended highest sequence number */
    uint64_t seen[LG_SEEN_WORDS];
    uint64_t received;
    int64_t first_us;    /* the peer's DTLS completion (else the first packet) */
    bool got_key;        /* video: a keyframe arrived */
    int64_t last_pli_us; /* video: our last PLI for it */
} lg_rx_t;

typedef struct lg_data lg_data_t;

/* One WebRTC peer of the load generator. Created by the control thread on a loop
 * (lg_peer_new blocks until the loop made it), then owned by that loop: every field below
 * "loop only" is touched there, the others by the control thread before the first post. */
struct lg_peer {
    /* fixed at creation */
    lg_peer_role_t role;
    uint32_t tag;
    sb_loop_t *loop;
    lg_loopctx_t *lc;
    char ufrag[257], pwd[257];
    char *sdp_cands[LG_MAX_CANDS]; /* snapshot taken at creation, for our SDP */
    unsigned n_sdp_cands;
    bool gathered_at_creation;
    bool media;     /* audio and video m-lines in our offer */
    bool want_data; /* a data m-line (ours, or accepted in the server's offer) */

    /* control thread only */
    sb_sdp_t *offer_model; /* our offer, kept for the answer */

    /* loop only */
    sb_ice_t *ice;
    bool creating; /* still inside lg_peer_new: candidates go to the snapshot */
    sb_dtls_t *dtls;
    unsigned dtls_timer;
    sb_srtp_session_t *srtp_in, *srtp_out;
    bool ice_up, up, failed, closing;
    /* when ICE connected and DTLS completed; read by the control thread for the join
     * breakdown, hence atomic */
    _Atomic int64_t ice_up_us, up_us;
    /* send side (publisher, echo) */
    bool send_audio, send_video;
    lg_rtpgen_t audio, video;
    uint32_t rtx_ssrc; /* video RTX, announced (with transport-wide CC), never sent */
    int64_t next_audio_us, next_video_us, next_key_us;
    bool want_key;
    /* video pacer (lg_cfg.pacing > 0): packets made, waiting for their budget */
    uint8_t (*paced)[LG_PKT_MAX]; /* LG_PACER_SLOTS, allocated with the first frame */
    size_t paced_len[LG_PACER_SLOTS];
    unsigned paced_head, paced_n;
    double pace_budget; /* bytes; negative: the last packet overdrew it */
    int64_t pace_last_us;
    /* receive side */
    int rx_fd; /* the selected pair's socket, for kernel receive timestamps; -1: not yet */
    uint8_t vp8_pt[4]; /* payload types carrying VP8 (0: unused slot) */
    lg_rx_t rx[LG_MAX_RX];
    unsigned nrx;
    uint32_t rtcp_ssrc;
    int64_t next_rtcp_us;
    /* transport-wide CC, as a browser: the extension id negotiated with transport-cc
     * feedback (0: none; one per BUNDLE transport); as a receiver the arrivals recorded
     * (NULL: no feedback to send) and the SSRC the feedback names (the last media packet's);
     * as a sender the next transport sequence number */
    uint8_t twcc_id;
    sb_twcc_recv_t *twcc;
    uint32_t twcc_media_ssrc;
    uint16_t twcc_seq;
    /* data channels: the server's SCTP port and a=max-message-size (from the remote job),
     * and the association, from DTLS completion on */
    uint16_t data_port;
    uint32_t data_max_message;
    lg_data_t *data;
};

/* peer_rtp.c, loop only */
void lg_peer_rtp_start(lg_peer_t *p, int64_t now_us);
void lg_peer_on_rtp(lg_peer_t *p, uint8_t *buf, size_t len);
void lg_peer_on_rtcp(lg_peer_t *p, uint8_t *buf, size_t len);
/* When the kernel queued the datagram just read on the peer's socket (lg_now_us time base;
 * now when unknown). */
int64_t lg_peer_arrival_us(lg_peer_t *p, int64_t now);
/* peer.c, loop only: send one protected datagram. */
int lg_peer_transport_send(lg_peer_t *p, const uint8_t *buf, size_t len);

/* data.c, loop only. The association starts once DTLS is up (both sides connect at once);
 * SCTP packets travel as DTLS application data. NULL when usrsctp refuses. */
lg_data_t *lg_data_start(lg_peer_t *p, bool dtls_client);
/* An SCTP packet from the server (DTLS application data): queued, see lg_data_flush. */
void lg_data_input(lg_data_t *d, const uint8_t *pkt, size_t len);
/* Hand out what the association queued (packets to DTLS, messages to the accounting), then
 * send what is due. After every input and every tick. */
void lg_data_flush(lg_data_t *d);
/* Every media tick: usrsctp's timer output, and messages due at msg_rate. */
void lg_data_tick(lg_data_t *d, int64_t now_us);
/* Close (an ABORT goes out while DTLS is still there) and free. NULL is a no-op. */
void lg_data_free(lg_data_t *d);

#endif
