/* sb-loadgen: a load generator for Janus-API SFUs (Switchboard and the Janus WebRTC Server).
 *
 * One process runs many lightweight WebRTC peers on a few of Switchboard's own media loops
 * (src/loop), made of Switchboard's ICE, DTLS, SRTP, RTP/RTCP and SDP units, and drives the
 * server's HTTP long-poll API with libcurl from one control thread.
 *
 * Threads:
 *  - control (main): options, the HTTP client (curl multi), every session/handle state
 *    machine, join pacing, the progress line, the summary. Owns everything in scenario.c and
 *    signal.c; nothing there is touched by another thread.
 *  - media loops (sb_loop_*): each peer is bound to one loop for life; its ICE/DTLS/SRTP state
 *    and its send/receive accounting are touched only there. The control thread reaches a peer
 *    through sb_loop_call_sync (creation) or sb_loop_post (everything after).
 *  - Per-loop counters (lg_counters_t) are written by their loop only and read by the control
 *    thread with relaxed atomic loads; histograms are copied out with sb_loop_call_sync. */
#ifndef SB_BENCH_LG_H
#define SB_BENCH_LG_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

/* ---- configuration (control thread; read-only once the run starts) ---- */

typedef enum lg_scenario {
    LG_SCEN_FANOUT = 0, /* one publisher, N subscribers, one room */
    LG_SCEN_MESH,       /* rooms of N persons, each publishes and subscribes to the others */
    LG_SCEN_ROOMS,      /* many small mesh rooms (defaults: 10 rooms of 3) */
    LG_SCEN_ECHO,       /* N echotest peers: each publisher is its own subscriber */
    LG_SCEN_GAME,       /* rooms of N persons, data only: each publishes a data channel and
                         * has one subscriber handle with every other person's data */
    LG_SCEN_ECHO_DATA,  /* N echotest peers, data only: bulk throughput of one channel */
} lg_scenario_t;

/* How a peer uses its data channel (data.c). */
typedef enum lg_data_mode {
    LG_DATA_RECV = 0, /* opens a channel, sends nothing (game subscribers) */
    LG_DATA_RATE,     /* msg_rate messages/s of msg_size bytes */
    LG_DATA_BULK,     /* as fast as the association takes them, window bytes unechoed */
} lg_data_mode_t;

typedef struct lg_config {
    const char *server; /* base URL, "http://127.0.0.1:8088/janus" */
    lg_scenario_t scenario;
    unsigned subscribers; /* fanout: subscribers; mesh/rooms: persons per room; echo: peers */
    unsigned rooms;
    double duration_s;     /* measured (steady) window */
    double warmup_s;       /* after the last join, before the window */
    double join_rate;      /* new participants per second */
    double join_timeout_s; /* give up waiting for joins after this */
    unsigned video_kbps, fps, audio_kbps;
    double keyframe_s; /* periodic keyframe interval (0: only on PLI/FIR) */
    double pacing;     /* video pacer rate as a multiple of video_kbps; 0: frames in bursts */
    unsigned loops;
    const char *srtp;         /* "gcm" (Chromium-like), "cm" (aiortc-like), "any" */
    const char *ice_allow;    /* comma-separated interface allow list for our candidates */
    int server_pid;           /* 0: no server CPU/RSS sampling */
    int more_pids[8];         /* a cluster's other nodes: their CPU counts too (0: none) */
    const char *json_path;    /* also write the summary there */
    unsigned room_base;       /* first room id */
    bool quiet;               /* no progress lines */
    bool close_after_destroy; /* teardown: destroy sessions first, close our peers after */
    /* transport-wide CC as browsers do it: receivers accept the extension and transport-cc
     * in the server's offer (twcc) and then send feedback every 50 ms (twcc_feedback);
     * senders offer them and number every packet they send (twcc_send) */
    bool twcc, twcc_feedback, twcc_send;
    /* publishers negotiate audio and video but send none (muted, as between talk-spurts):
     * what a connected, idle PeerConnection costs the server */
    bool idle;
    bool keyframe_at_once; /* a PLI/FIR answered now, not at the next frame */
    /* data channels (game, echo-data, or echo with --data) */
    bool data;            /* echo: a data m-line and a channel besides the media */
    bool data_unreliable; /* our channels: unordered, maxRetransmits 0 */
    double msg_rate;      /* messages per second per sender (LG_DATA_RATE) */
    unsigned msg_size;    /* bytes per message */
    size_t data_window;   /* LG_DATA_BULK: bytes sent and not yet echoed */
} lg_config_t;

/* Does this run use data channels at all / only data channels (no audio, video)? */
bool lg_cfg_has_data(void);
bool lg_cfg_data_only(void);

extern lg_config_t lg_cfg;

/* ---- statistics ---- */

/* Latency histogram: LG_HIST_US-wide bins up to LG_HIST_BINS * LG_HIST_US, then overflow. */
#define LG_HIST_US 10
#define LG_HIST_BINS 100000
typedef struct lg_hist {
    uint32_t bins[LG_HIST_BINS];
    uint64_t overflow;
    uint64_t count;
    uint64_t max_us;
    double sum_us;
} lg_hist_t;

void lg_hist_add(lg_hist_t *h, int64_t us);
void lg_hist_merge(lg_hist_t *into, const lg_hist_t *from);
/* Value at quantile q (0..1), in microseconds; 0 when empty. */
double lg_hist_quantile(const lg_hist_t *h, double q);

/* Per-loop counters: one writer (the loop), relaxed readers. */
typedef struct lg_counters {
    _Atomic uint64_t rtp_sent, bytes_sent, rtp_recv, bytes_recv;
    _Atomic int64_t lost; /* seq gaps, minus late arrivals that filled them */
    _Atomic uint64_t dups, reorders, keyframes_sent, keyframes_recv, plis_in, nacks_in, plis_sent;
    _Atomic uint64_t srtp_fail, ice_fail, dtls_fail, ice_up, dtls_up, send_fail, foreign;
    /* transport-wide CC: packets whose transport sequence number we recorded, feedback
     * messages sent (RTPFB FMT 15) */
    _Atomic uint64_t twcc_recorded, twcc_feedback;
    /* data channels: messages and bytes sent, those stamped inside the measured window,
     * messages refused by our association (send buffer full), received (bytes), in-window
     * messages delivered (each once), duplicates, out of order, sequence gaps not (yet)
     * filled, messages without our header, associations up */
    _Atomic uint64_t data_sent, data_sent_bytes, data_sent_win, data_blocked;
    _Atomic uint64_t data_recv, data_recv_bytes, data_delivered_win, data_dups, data_reorder;
    _Atomic int64_t data_gaps;
    _Atomic uint64_t data_foreign, sctp_up;
} lg_counters_t;

#define LG_CTR_ADD(field, n)                                                                       \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (n),    \
                          memory_order_relaxed)
#define LG_CTR_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

/* Sum of every loop's counters (control thread). */
typedef struct lg_totals {
    uint64_t rtp_sent, bytes_sent, rtp_recv, bytes_recv;
    int64_t lost;
    uint64_t dups, reorders, keyframes_sent, keyframes_recv, plis_in, nacks_in, plis_sent;
    uint64_t srtp_fail, ice_fail, dtls_fail, ice_up, dtls_up, send_fail, foreign;
    uint64_t twcc_recorded, twcc_feedback;
    uint64_t data_sent, data_sent_bytes, data_sent_win, data_blocked;
    uint64_t data_recv, data_recv_bytes, data_delivered_win, data_dups, data_reorder;
    int64_t data_gaps;
    uint64_t data_foreign, sctp_up;
} lg_totals_t;

/* ---- media (media.c) ---- */

/* Start the media loops and their per-loop state (send tick, counters). */
int lg_media_start(unsigned loops);
void lg_media_stop(void);
void lg_media_totals(lg_totals_t *out);
/* Latency is recorded only while measuring (the steady window). */
void lg_media_set_measuring(bool on);
/* Merged histograms of every loop (owned, sb_free): one-way latency in the window; time from
 * a receiving peer's DTLS completion to the first keyframe of each video stream, whole run. */
lg_hist_t *lg_media_hist(void);
lg_hist_t *lg_media_first_key_hist(void);
/* Data messages stamped inside the window: from their send time to our SCTP handing them up
 * (arrival: to the kernel's receive timestamp of their last datagram). */
lg_hist_t *lg_media_data_hist(bool arrival);
unsigned lg_media_loop_count(void);
bool lg_media_measuring(void);

/* ---- the data part of the summary (summary_data.c), control thread ---- */

/* Window counts of data channels (between a and b) and delivery of the messages stamped in
 * the window (drained: the totals once the drain after the window is over). */
json_t *lg_data_summary_window(const lg_totals_t *a, const lg_totals_t *b,
                               const lg_totals_t *drained, double secs);
/* The data settings: channel kind, message size, rate or window, receivers per message. */
json_t *lg_data_summary_config(void);
/* What our usrsctp saw: mark at the window's start (0) and end (1); the counts between. */
void lg_data_sctp_mark(int which);
json_t *lg_data_sctp_window(void);
/* Datagrams dropped so far at the full receive buffers of pid's UDP sockets (0: none, or
 * no such process). */
uint64_t lg_udp_drops(int pid);

/* ---- peers (peer.c) ---- */

typedef struct lg_peer lg_peer_t;

typedef enum lg_peer_role {
    LG_PEER_PUBLISHER = 0, /* we offer audio + video, sendonly */
    LG_PEER_SUBSCRIBER,    /* the server offers, we answer recvonly */
    LG_PEER_ECHO,          /* we offer sendrecv and receive our own media back */
} lg_peer_role_t;

/* Control thread. Creates the peer on loop (index modulo the loop count) and gathers its
 * candidates; blocks until done. NULL when the ICE agent cannot be created. */
lg_peer_t *lg_peer_new(unsigned loop, lg_peer_role_t role, uint32_t tag);
/* Our offer (publisher, echo). Owned string, NULL on error (err filled). */
char *lg_peer_offer(lg_peer_t *p, char *err, size_t err_len);
/* The server's answer to our offer. 0 or a negative code (err filled). */
int lg_peer_set_answer(lg_peer_t *p, const char *sdp, char *err, size_t err_len);
/* Answer the server's offer (subscriber). Owned string, NULL on error. */
char *lg_peer_answer(lg_peer_t *p, const char *offer, char *err, size_t err_len);
/* A trickled candidate from the server ("candidate:..."), or NULL for end-of-candidates. */
void lg_peer_add_candidate(lg_peer_t *p, const char *candidate);
/* When ICE connected and DTLS completed (lg_now_us time base; 0: not yet). Any thread. */
void lg_peer_times(lg_peer_t *p, int64_t *ice_up_us, int64_t *dtls_up_us);
/* Tear down asynchronously (freed on its loop). The pointer is invalid afterwards. */
void lg_peer_close(lg_peer_t *p);
/* Called from media.c's tick on the peer's loop. */
void lg_peer_tick(lg_peer_t *p, int64_t now_us);

/* media.c <-> peer.c, loop thread only */
typedef struct lg_loopctx lg_loopctx_t;
lg_loopctx_t *lg_loopctx_current(void);
lg_counters_t *lg_loopctx_counters(lg_loopctx_t *lc);
void lg_loopctx_record_latency(lg_loopctx_t *lc, int64_t us);
void lg_loopctx_record_first_key(lg_loopctx_t *lc, int64_t us);
/* A data message stamped in the window: from its send time to our SCTP handing it up, and
 * to the kernel's receive timestamp of its (last) datagram. */
void lg_loopctx_record_data_latency(lg_loopctx_t *lc, int64_t us, int64_t arrival_us);
void lg_loopctx_add_peer(lg_loopctx_t *lc, lg_peer_t *p);
void lg_loopctx_remove_peer(lg_loopctx_t *lc, lg_peer_t *p);

/* ---- RTP payloads (rtpgen.c), sans-IO ---- */

/* Trailer at the end of every payload we send: magic, send time, peer tag. */
#define LG_TRAILER_LEN 16
#define LG_TRAILER_MAGIC 0x53424c47u /* "SBLG" */

typedef struct lg_rtpgen {
    uint32_t ssrc;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint16_t picture_id;
    uint32_t tag;
} lg_rtpgen_t;

/* One Opus packet of payload_len bytes (>= LG_TRAILER_LEN + 1) into out; returns its length. */
size_t lg_rtpgen_opus(lg_rtpgen_t *g, uint8_t *out, size_t payload_len, int64_t now_us);
/* Packetize one VP8 frame of frame_len bytes into at most max packets of at most mtu bytes
 * each, written to out[i] (each LG_PKT_MAX bytes); lens[i] set. Returns the packet count. */
#define LG_PKT_MAX 1500
unsigned lg_rtpgen_vp8_frame(lg_rtpgen_t *g, bool keyframe, size_t frame_len, size_t mtu,
                             uint8_t (*out)[LG_PKT_MAX], size_t *lens, unsigned max,
                             int64_t now_us);
/* Rewrite the send time in the trailer of a packet we made (len: the whole packet). */
void lg_rtpgen_restamp(uint8_t *pkt, size_t len, int64_t now_us);
/* Read the trailer of a received payload. Returns true with *send_us and *tag set. */
bool lg_rtpgen_trailer(const uint8_t *payload, size_t len, int64_t *send_us, uint32_t *tag);

/* ---- signaling (signal.c): Janus HTTP API over curl multi, control thread ---- */

typedef struct lg_session lg_session_t;
typedef struct lg_handle lg_handle_t;

/* Called for each event of a handle (janus: event, webrtcup, media, hangup, trickle, ...). */
typedef void (*lg_event_fn)(void *ctx, lg_handle_t *h, json_t *ev);
/* Reply to a request; reply NULL on transport failure (err says why). Borrowed. */
typedef void (*lg_reply_fn)(void *ctx, json_t *reply, const char *err);

int lg_sig_init(const char *base_url);
void lg_sig_deinit(void);
/* Run the HTTP machinery for up to timeout_ms. */
void lg_sig_poll(int timeout_ms);
/* Transfers in flight. */
unsigned lg_sig_inflight(void);
uint64_t lg_sig_errors(void);

/* POST a request (body stolen) to base (session 0), base/session, or base/session/handle. */
void lg_sig_post(uint64_t session, uint64_t handle, json_t *body, lg_reply_fn cb, void *ctx);

/* create, then long-poll it until lg_sig_session_destroy. cb gets the reply. */
lg_session_t *lg_sig_session_new(lg_reply_fn cb, void *ctx);
uint64_t lg_sig_session_id(const lg_session_t *s);
/* attach plugin; cb(ctx, reply) when done; events go to on_event. */
lg_handle_t *lg_sig_attach(lg_session_t *s, const char *plugin, lg_event_fn on_event, void *ctx,
                           lg_reply_fn cb);
uint64_t lg_sig_handle_id(const lg_handle_t *h);
void *lg_sig_handle_ctx(const lg_handle_t *h);
/* message to the plugin (body stolen, jsep stolen or NULL). */
void lg_sig_message(lg_handle_t *h, json_t *body, json_t *jsep, lg_reply_fn cb, void *ctx);
/* Destroy the session on the server and stop polling it; cb when answered. */
void lg_sig_session_destroy(lg_session_t *s, lg_reply_fn cb, void *ctx);

/* ---- scenarios (scenario.c), control thread ---- */

void lg_scenario_start(void);
/* Advance pacing and timeouts; returns true once every participant is up or failed. */
bool lg_scenario_tick(int64_t now_us);
void lg_scenario_teardown(void);
bool lg_scenario_teardown_done(void);
/* Counts for the progress line and the summary. */
typedef struct lg_scen_stats {
    unsigned planned_pcs, up_pcs, failed_pcs, sessions;
    const char *first_failure; /* static or owned by the scenario; NULL when none */
} lg_scen_stats_t;
void lg_scenario_stats(lg_scen_stats_t *out);
/* Join-to-webrtcup samples, in milliseconds (borrowed). which: 0 the webrtcup event, 1 our
 * ICE connected, 2 our DTLS done (each from sending our SDP). */
const double *lg_scenario_join_ms(int which, size_t *n);

int64_t lg_now_us(void);

#endif
