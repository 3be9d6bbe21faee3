/* RTP and RTCP of a load-generator peer: paced Opus and VP8 sending (keyframes periodically and
 * on PLI/FIR), and on the receive side the accounting the summary reports: packets, loss from
 * sequence gaps, duplicates, reordering, one-way latency from the payload trailer, keyframes;
 * and, like a browser receiver, transport-cc feedback every 50 ms when it was negotiated.
 * Loop thread only; no allocation per packet. */
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/sockios.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "base/log.h"
#include "bench/loadgen/peer_internal.h"
#include "proto/byteorder.h"
#include "switchboard/codec.h"
#include "proto/rtcp.h"
#include "switchboard/rtp.h"

#define LG_AUDIO_FRAME_US 20000
#define LG_MTU 1200
#define LG_MAX_FRAME_PKTS 64
#define LG_CATCHUP_US 200000 /* behind by more than this: skip ahead, do not burst */
#define LG_RESYNC_GAP 3000   /* a jump this large is a new numbering, not loss */
#define LG_RTCP_INTERVAL_US 1000000
#define LG_PLI_INTERVAL_US 500000 /* a receiver without a keyframe asks again this often */
#define LG_TWCC_INTERVAL_US 50000 /* transport-cc feedback, as Chromium's receiver sends it */

/* Our transport sequence number in a one-byte extension block (RFC 8285 §4.2) after
 * rtpgen's bare 12-byte header, as a browser sender numbers every packet. Returns the new
 * length (len when it does not fit). */
static size_t lg_peer_add_twcc(lg_peer_t *p, uint8_t *buf, size_t len)
{
    if (p->twcc_id > 14 || len < SB_RTP_HEADER_MIN || (buf[0] & 0x1f) ||
        len + 8 + SB_SRTP_MAX_TRAILER_LEN > LG_PKT_MAX)
        return len;
    memmove(buf + SB_RTP_HEADER_MIN + 8, buf + SB_RTP_HEADER_MIN, len - SB_RTP_HEADER_MIN);
    uint8_t *x = buf + SB_RTP_HEADER_MIN;
    buf[0] |= 0x10; /* X */
    sb_put_be16(x, SB_RTP_EXT_PROFILE_ONE_BYTE);
    sb_put_be16(x + 2, 1); /* one 32-bit word */
    x[4] = (uint8_t)(p->twcc_id << 4 | 1);
    sb_put_be16(x + 5, p->twcc_seq++);
    x[7] = 0;
    return len + 8;
}

static int lg_peer_send_rtp(lg_peer_t *p, uint8_t *buf, size_t len)
{
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    if (p->twcc_id && lg_cfg.twcc_send)
        len = lg_peer_add_twcc(p, buf, len);
    size_t n = len;
    if (sb_srtp_protect_rtp(p->srtp_out, buf, &n, LG_PKT_MAX) < 0 ||
        lg_peer_transport_send(p, buf, n) < 0) {
        LG_CTR_ADD(c->send_fail, 1);
        return -1;
    }
    LG_CTR_ADD(c->rtp_sent, 1);
    LG_CTR_ADD(c->bytes_sent, n);
    return 0;
}

static void lg_peer_send_rtcp(lg_peer_t *p, uint8_t *buf, size_t len)
{
    size_t n = len;
    if (sb_srtp_protect_rtcp(p->srtp_out, buf, &n, len + SB_SRTP_MAX_TRAILER_LEN) == 0)
        lg_peer_transport_send(p, buf, n);
}

void lg_peer_rtp_start(lg_peer_t *p, int64_t now)
{
    p->next_audio_us = now;
    p->next_video_us = now;
    p->next_key_us = now;
    p->want_key = true;
    p->next_rtcp_us = now + LG_RTCP_INTERVAL_US;
}

static void lg_peer_send_audio(lg_peer_t *p, int64_t now)
{
    uint8_t buf[LG_PKT_MAX];
    size_t payload = (size_t)lg_cfg.audio_kbps * 1000 / 8 * LG_AUDIO_FRAME_US / 1000000;
    while (now >= p->next_audio_us) {
        if (now - p->next_audio_us > LG_CATCHUP_US) {
            uint64_t skip = (uint64_t)(now - p->next_audio_us) / LG_AUDIO_FRAME_US;
            p->audio.ts += (uint32_t)(skip * 960);
            p->next_audio_us += (int64_t)skip * LG_AUDIO_FRAME_US;
        }
        size_t len = lg_rtpgen_opus(&p->audio, buf, payload, now);
        lg_peer_send_rtp(p, buf, len);
        p->audio.ts += 960; /* 20 ms at 48 kHz */
        p->next_audio_us += LG_AUDIO_FRAME_US;
    }
}

/* Queue a packet for the pacer; a full queue drops it (counted as a send failure). */
static void lg_peer_pace_push(lg_peer_t *p, const uint8_t *pkt, size_t len)
{
    if (!p->paced)
        p->paced = sb_calloc(LG_PACER_SLOTS, sizeof(*p->paced));
    if (p->paced_n == LG_PACER_SLOTS) {
        LG_CTR_ADD(lg_loopctx_counters(p->lc)->send_fail, 1);
        return;
    }
    unsigned slot = (p->paced_head + p->paced_n++) % LG_PACER_SLOTS;
    memcpy(p->paced[slot], pkt, len);
    p->paced_len[slot] = len;
}

/* A pacer as libwebrtc's classic one: every tick (5 ms) the budget grows by rate x elapsed
 * (unused budget does not build up), and queued packets go while it lasts; the last one may
 * overdraw it. Each packet is stamped when it leaves, so the pacer's wait is not counted as
 * the server's latency. */
static void lg_peer_pace(lg_peer_t *p, int64_t now)
{
    double rate = lg_cfg.pacing * lg_cfg.video_kbps * 1000.0 / 8.0 / 1e6; /* bytes per µs */
    int64_t dt = p->pace_last_us ? now - p->pace_last_us : 0;
    p->pace_last_us = now;
    p->pace_budget = (p->pace_budget < 0 ? p->pace_budget : 0) + rate * (double)dt;
    while (p->paced_n > 0 && p->pace_budget > 0) {
        uint8_t *pkt = p->paced[p->paced_head];
        size_t len = p->paced_len[p->paced_head];
        p->paced_head = (p->paced_head + 1) % LG_PACER_SLOTS;
        p->paced_n--;
        lg_rtpgen_restamp(pkt, len, now);
        p->pace_budget -= (double)len;
        lg_peer_send_rtp(p, pkt, len);
    }
}

static void lg_peer_send_video(lg_peer_t *p, int64_t now)
{
    static _Thread_local uint8_t pkts[LG_MAX_FRAME_PKTS][LG_PKT_MAX];
    size_t lens[LG_MAX_FRAME_PKTS];
    unsigned fps = lg_cfg.fps ? lg_cfg.fps : 30;
    int64_t frame_us = 1000000 / fps;
    size_t frame_len = (size_t)lg_cfg.video_kbps * 1000 / 8 / fps;
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    while (now >= p->next_video_us) {
        if (now - p->next_video_us > LG_CATCHUP_US) {
            uint64_t skip = (uint64_t)(now - p->next_video_us) / (uint64_t)frame_us;
            p->video.ts += (uint32_t)(skip * (90000 / fps));
            p->next_video_us += (int64_t)skip * frame_us;
        }
        bool key = p->want_key || (lg_cfg.keyframe_s > 0 && now >= p->next_key_us);
        if (key) {
            SB_DEBUG("loadgen", "peer %u: keyframe%s", p->tag, p->want_key ? " (requested)" : "");
            p->want_key = false;
            p->next_key_us = now + (int64_t)(lg_cfg.keyframe_s * 1e6);
            LG_CTR_ADD(c->keyframes_sent, 1);
        }
        /* A keyframe is about three times an average frame, as real encoders make them. */
        unsigned n = lg_rtpgen_vp8_frame(&p->video, key, key ? frame_len * 3 : frame_len, LG_MTU,
                                         pkts, lens, LG_MAX_FRAME_PKTS, now);
        for (unsigned i = 0; i < n; i++) {
            if (lg_cfg.pacing > 0)
                lg_peer_pace_push(p, pkts[i], lens[i]);
            else
                lg_peer_send_rtp(p, pkts[i], lens[i]);
        }
        p->video.ts += 90000 / fps;
        p->next_video_us += frame_us;
    }
}

/* Receiver report with one block per SSRC we receive (RFC 3550 §6.4.2): the servers use it
 * for their RTT and loss estimates as they would with a browser. */
static void lg_peer_send_rr(lg_peer_t *p)
{
    sb_rtcp_rb_t rbs[LG_MAX_RX];
    size_t n = 0;
    for (unsigned i = 0; i < p->nrx && n < SB_RTCP_MAX_RB; i++) {
        const lg_rx_t *r = &p->rx[i];
        rbs[n++] = (sb_rtcp_rb_t){.ssrc = r->ssrc, .ext_highest_seq = (uint32_t)r->highest};
    }
    uint8_t buf[LG_PKT_MAX];
    int len = sb_rtcp_write_rr(buf, sizeof(buf) - 64, p->rtcp_ssrc, rbs, n);
    if (len > 0)
        lg_peer_send_rtcp(p, buf, (size_t)len);
}

/* Transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) for what
 * arrived since the last one, every LG_TWCC_INTERVAL_US (sooner when many packets wait, as
 * sb_twcc_recv_due decides); messages go in SRTCP compounds of at most LG_MTU bytes. */
static void lg_peer_send_compound(void *arg, uint8_t *buf, size_t len)
{
    lg_peer_send_rtcp(arg, buf, len);
}

static void lg_peer_send_twcc(lg_peer_t *p, int64_t now)
{
    if (!sb_twcc_recv_due(p->twcc, now, LG_TWCC_INTERVAL_US))
        return;
    uint8_t buf[LG_MTU + SB_SRTP_MAX_TRAILER_LEN];
    unsigned n = sb_twcc_recv_flush(p->twcc, p->rtcp_ssrc, p->twcc_media_ssrc, now, buf, LG_MTU,
                                    lg_peer_send_compound, p);
    LG_CTR_ADD(lg_loopctx_counters(p->lc)->twcc_feedback, n);
}

void lg_peer_tick(lg_peer_t *p, int64_t now)
{
    if (!p->up || p->failed || p->closing)
        return;
    if (p->send_audio)
        lg_peer_send_audio(p, now);
    if (p->send_video)
        lg_peer_send_video(p, now);
    if (lg_cfg.pacing > 0 && p->send_video)
        lg_peer_pace(p, now);
    if (now >= p->next_rtcp_us) {
        p->next_rtcp_us = now + LG_RTCP_INTERVAL_US;
        if (p->nrx)
            lg_peer_send_rr(p);
    }
    if (p->twcc)
        lg_peer_send_twcc(p, now);
    if (p->data)
        lg_data_tick(p->data, now);
}

/* ---- receive ---- */

static bool lg_seen_test_set(lg_rx_t *r, int64_t ext)
{
    unsigned bit = (unsigned)((uint64_t)ext % (LG_SEEN_WORDS * 64));
    uint64_t m = UINT64_C(1) << (bit % 64);
    bool was = r->seen[bit / 64] & m;
    r->seen[bit / 64] |= m;
    return was;
}

static void lg_seen_clear(lg_rx_t *r, int64_t ext)
{
    unsigned bit = (unsigned)((uint64_t)ext % (LG_SEEN_WORDS * 64));
    r->seen[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
}

static lg_rx_t *lg_rx_find(lg_peer_t *p, uint32_t ssrc, uint8_t pt, uint16_t seq, int64_t now)
{
    for (unsigned i = 0; i < p->nrx; i++) {
        if (p->rx[i].ssrc == ssrc)
            return &p->rx[i];
    }
    if (p->nrx == LG_MAX_RX)
        return NULL;
    lg_rx_t *r = &p->rx[p->nrx++];
    memset(r, 0, sizeof(*r));
    r->ssrc = ssrc;
    for (unsigned i = 0; i < 4; i++)
        r->video |= p->vp8_pt[i] && p->vp8_pt[i] == pt;
    r->highest = (int64_t)seq + 65536 - 1; /* so the first packet is "next" */
    int64_t up = atomic_load_explicit(&p->up_us, memory_order_relaxed);
    r->first_us = up ? up : now;
    return r;
}

/* Sequence accounting: gaps count as loss until the late packet arrives (then reorder). */
static void lg_rx_seq(lg_counters_t *c, lg_rx_t *r, uint16_t seq)
{
    int16_t delta = (int16_t)(seq - (uint16_t)r->highest);
    int64_t ext = r->highest + delta;
    if (delta > 0) {
        if (delta > LG_RESYNC_GAP) {
            memset(r->seen, 0, sizeof(r->seen));
        } else {
            if (delta > 1 && r->received)
                LG_CTR_ADD(c->lost, delta - 1);
            for (int64_t e = r->highest + 1; e < ext; e++)
                lg_seen_clear(r, e);
        }
        lg_seen_clear(r, ext);
        lg_seen_test_set(r, ext);
        r->highest = ext;
    } else if (r->highest - ext >= LG_SEEN_WORDS * 64) {
        LG_CTR_ADD(c->reorders, 1);
    } else if (lg_seen_test_set(r, ext)) {
        LG_CTR_ADD(c->dups, 1);
        return;
    } else {
        LG_CTR_ADD(c->reorders, 1);
        LG_CTR_ADD(c->lost, -1);
    }
    r->received++;
}

/* A browser cannot decode video before a keyframe and asks for one (RFC 4585 §6.3.1 PLI)
 * until it comes; the time from DTLS completion to the first keyframe is what a user waits
 * for a picture once connected. */
static void lg_rx_video(lg_peer_t *p, lg_rx_t *r, const sb_rtp_view_t *v, int64_t now)
{
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    if (sb_codec_is_keyframe(SB_CODEC_VP8, v->payload, v->payload_len)) {
        LG_CTR_ADD(c->keyframes_recv, 1);
        if (!r->got_key)
            lg_loopctx_record_first_key(p->lc, now - r->first_us);
        r->got_key = true;
        return;
    }
    if (r->got_key || now - r->last_pli_us < LG_PLI_INTERVAL_US)
        return;
    SB_DEBUG("loadgen", "peer %u: no keyframe yet on %08x, PLI (payload %02x %02x %02x %02x %02x)",
             p->tag, r->ssrc, v->payload[0], v->payload_len > 1 ? v->payload[1] : 0,
             v->payload_len > 2 ? v->payload[2] : 0, v->payload_len > 3 ? v->payload[3] : 0,
             v->payload_len > 4 ? v->payload[4] : 0);
    r->last_pli_us = now;
    uint8_t buf[64 + SB_SRTP_MAX_TRAILER_LEN];
    int n = sb_rtcp_write_pli(buf, 64, p->rtcp_ssrc, r->ssrc);
    if (n > 0) {
        lg_peer_send_rtcp(p, buf, (size_t)n);
        LG_CTR_ADD(c->plis_sent, 1);
    }
}

/* When the kernel queued the datagram just read on the peer's socket (SIOCGSTAMPNS, the time
 * the server's send reached us on loopback), in lg_now_us time. Latency taken there leaves
 * out the time this process needs to get to the packet: with hundreds of peers in one
 * process, a burst of the server's output waits in our socket queues, and that wait is ours,
 * not the server's. If the read returned several datagrams the stamp is the last one's, so
 * the figure can only err towards more latency. Falls back to now. */
int64_t lg_peer_arrival_us(lg_peer_t *p, int64_t now)
{
    if (p->rx_fd < 0)
        p->rx_fd = sb_ice_selected_socket_fd(p->ice, NULL, NULL);
    struct timespec k, rt;
    if (p->rx_fd < 0 || ioctl(p->rx_fd, SIOCGSTAMPNS, &k) != 0 ||
        clock_gettime(CLOCK_REALTIME, &rt) != 0)
        return now;
    int64_t age_us = (int64_t)(rt.tv_sec - k.tv_sec) * 1000000 + (rt.tv_nsec - k.tv_nsec) / 1000;
    return age_us >= 0 && age_us < 1000000 ? now - age_us : now;
}

/* The transport sequence number of a packet (every one the server sends us carries it once
 * negotiated, probes included) and its arrival, for the next feedback. */
static void lg_peer_twcc_record(lg_peer_t *p, const sb_rtp_view_t *v, int64_t arrival)
{
    const uint8_t *d;
    size_t dl;
    uint16_t seq;
    if (!v->extension || sb_rtp_ext_find(v, p->twcc_id, &d, &dl) < 0 ||
        sb_rtp_ext_transport_seq(d, dl, &seq) < 0)
        return;
    sb_twcc_recv_packet(p->twcc, seq, arrival);
    p->twcc_media_ssrc = v->ssrc;
    LG_CTR_ADD(lg_loopctx_counters(p->lc)->twcc_recorded, 1);
}

void lg_peer_on_rtp(lg_peer_t *p, uint8_t *buf, size_t len)
{
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    size_t n = len;
    if (sb_srtp_unprotect_rtp(p->srtp_in, buf, &n) < 0) {
        LG_CTR_ADD(c->srtp_fail, 1);
        return;
    }
    sb_rtp_view_t v;
    if (sb_rtp_parse(buf, n, &v) < 0)
        return;
    int64_t now = lg_now_us();
    if (v.payload_len == 0 && v.padding) {
        /* A padding-only probe of the server's estimator: acknowledged, not media. */
        if (p->twcc)
            lg_peer_twcc_record(p, &v, lg_peer_arrival_us(p, now));
        return;
    }
    LG_CTR_ADD(c->rtp_recv, 1);
    LG_CTR_ADD(c->bytes_recv, len);
    int64_t sent;
    uint32_t tag;
    bool ours = lg_rtpgen_trailer(v.payload, v.payload_len, &sent, &tag);
    /* The kernel's arrival stamp, for the latency and the transport-cc arrival times both: the
     * time this process takes to get to a packet is ours, not the network's. */
    int64_t arrival = ours || p->twcc ? lg_peer_arrival_us(p, now) : now;
    if (p->twcc)
        lg_peer_twcc_record(p, &v, arrival);
    lg_rx_t *r = lg_rx_find(p, v.ssrc, v.pt, v.seq, now);
    if (!r)
        return;
    lg_rx_seq(c, r, v.seq);
    if (ours)
        lg_loopctx_record_latency(p->lc, arrival - sent);
    else
        LG_CTR_ADD(c->foreign, 1);
    if (r->video)
        lg_rx_video(p, r, &v, now);
}

void lg_peer_on_rtcp(lg_peer_t *p, uint8_t *buf, size_t len)
{
    lg_counters_t *c = lg_loopctx_counters(p->lc);
    size_t n = len;
    if (sb_srtp_unprotect_rtcp(p->srtp_in, buf, &n) < 0) {
        LG_CTR_ADD(c->srtp_fail, 1);
        return;
    }
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_iter_init(&it, buf, n);
    while (sb_rtcp_iter_next(&it, &pkt) > 0) {
        if (pkt.type == SB_RTCP_PSFB &&
            (pkt.count == SB_RTCP_FMT_PLI || pkt.count == SB_RTCP_FMT_FIR)) {
            LG_CTR_ADD(c->plis_in, 1);
            SB_DEBUG("loadgen", "peer %u: %s received", p->tag,
                     pkt.count == SB_RTCP_FMT_PLI ? "PLI" : "FIR");
            p->want_key = true; /* answered with the next frame */
            if (lg_cfg.keyframe_at_once && p->up && p->send_video) {
                int64_t now = lg_now_us(); /* that frame now, the next a frame later */
                p->next_video_us = now;
                lg_peer_send_video(p, now);
            }
        } else if (pkt.type == SB_RTCP_RTPFB && pkt.count == SB_RTCP_FMT_NACK) {
            LG_CTR_ADD(c->nacks_in, 1);
        }
    }
}
