/* RTP and RTCP of one peer (see peer.h): SRTP unprotect, SSRC → stream/layer mapping
 * (from the SDP, then from mid/rid header extensions), RTX unwrap, receiver statistics,
 * NACK generation, the plugin's on_rtp; on the way out SRTP protect, send history for
 * NACKs, and the RTCP we originate (RR, SR, PLI, REMB, NACK). Media loop thread only.
 * Allocation happens at negotiation, never per packet. */
#include "peer/peer_internal.h"

#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/codec.h"
#include "switchboard/error.h"
#include "switchboard/rtp.h"
#include "switchboard/time.h"
#include "base/log.h"
#include "peer/events.h"
#include "proto/byteorder.h"
#include "proto/rtcp.h"

#define SB_PEER_REPORT_US 1000000
#define SB_PEER_NOT_RECEIVING_US 1500000
#define SB_PEER_SLOWLINK_NACKS 3         /* per second and stream, and ... */
#define SB_PEER_SLOWLINK_SHARE 50        /* ... at least 1/50 (2%) of its packets */
#define SB_PEER_SLOWLINK_MIN_US 5000000  /* at most one slowlink event per 5 s and stream */
/* A learnt SSRC silent this long may be replaced by a new one on its stream and layer. */
#define SB_PEER_SSRC_TAKEOVER_US 2000000

/* ---- SSRC map ---- */

/* False when the map is full (the SSRC stays unknown) or ssrc is 0 or already there. */
static bool sb_peer_map_add(sb_peer_t *p, uint32_t ssrc, unsigned stream, unsigned layer,
                            bool rtx)
{
    if (!ssrc || p->nssrcs == SB_PEER_MAX_SSRCS)
        return false;
    for (unsigned i = 0; i < p->nssrcs; i++) {
        if (p->ssrcs[i].ssrc == ssrc)
            return false;
    }
    p->ssrcs[p->nssrcs++] = (sb_peer_ssrc_map_t){ssrc, (uint8_t)stream, (uint8_t)layer, rtx};
    if (!rtx)
        p->rt[stream].rx[layer].ssrc = ssrc;
    else
        p->rt[stream].rx[layer].rtx_ssrc = ssrc;
    return true;
}

static void sb_peer_map_remove(sb_peer_t *p, uint32_t ssrc)
{
    for (unsigned i = 0; i < p->nssrcs; i++) {
        if (p->ssrcs[i].ssrc == ssrc) {
            p->ssrcs[i] = p->ssrcs[--p->nssrcs];
            return;
        }
    }
}

static void sb_peer_stream_rt_free(sb_peer_stream_rt_t *rt)
{
    for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++)
        sb_nack_gen_free(rt->rx[l].nack);
    sb_rtx_history_free(rt->sent);
    sb_free(rt->prefix);
    memset(rt, 0, sizeof(*rt));
}

/* The send history drops an entry: release its packet buffer. */
static void sb_peer_sent_release(void *ctx, void *handle)
{
    (void)ctx;
    sb_pktbuf_unref(handle);
}

void sb_peer_media_free_streams(sb_peer_t *p)
{
    for (unsigned i = 0; i < p->nstreams; i++)
        sb_peer_stream_rt_free(&p->rt[i]);
    sb_free(p->streams);
    sb_free(p->rt);
    p->streams = NULL;
    p->rt = NULL;
    p->nstreams = 0;
    p->nssrcs = 0;
}

/* (Re)build runtime state from the negotiated streams. Kept SSRCs survive a renegotiation
 * of the same m-lines; statistics restart. */
void sb_peer_media_map_streams(sb_peer_t *p)
{
    p->nssrcs = 0;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_media_stream_t *s = &p->streams[i];
        sb_peer_stream_rt_t *rt = &p->rt[i];
        if (!s->active)
            continue;
        for (unsigned l = 0; l < s->layers && l < SB_MEDIA_MAX_LAYERS; l++) {
            sb_peer_map_add(p, s->remote_ssrc[l], i, l, false);
            sb_peer_map_add(p, s->remote_rtx_ssrc[l], i, l, true);
            if (s->recv && s->kind == SB_MEDIA_VIDEO && s->fb_nack)
                sb_nack_gen_new(NULL, &rt->rx[l].nack);
        }
        if (s->send && s->kind == SB_MEDIA_VIDEO && s->fb_nack) {
            rt->prefix = sb_malloc(sizeof(*rt->prefix) * SB_PEER_SEND_HISTORY);
            sb_rtx_history_new(&(sb_rtx_history_config_t){.capacity = SB_PEER_SEND_HISTORY,
                                                           .max_age_us = sb_peer_nack_history_us(),
                                                           .release = sb_peer_sent_release},
                               &rt->sent);
        }
    }
    sb_peer_cc_setup(p);
}

/* Whether a new SSRC may take this layer of a stream. Never from an SSRC the SDP announced,
 * nor from a learnt one that is still sending: one stray or hostile packet (the client's own,
 * so it authenticates) must not take a live stream over, its sequence numbers would stall
 * every forwarder. A client that really changed SSRC has stopped the old one; that one then
 * makes room, with fresh statistics. */
static bool sb_peer_map_may_take(sb_peer_t *p, unsigned stream, unsigned layer, bool rtx)
{
    const sb_media_stream_t *s = &p->streams[stream];
    sb_peer_rx_layer_t *rx = &p->rt[stream].rx[layer];
    uint32_t current = rtx ? rx->rtx_ssrc : rx->ssrc;
    if (!current)
        return true;
    uint32_t announced = rtx ? s->remote_rtx_ssrc[layer] : s->remote_ssrc[layer];
    if (announced || sb_now_us() - rx->last_packet_us < SB_PEER_SSRC_TAKEOVER_US)
        return false;
    sb_peer_map_remove(p, current);
    if (!rtx)
        rx->stats_ready = false;
    return true;
}

/* Learn an unannounced SSRC from the mid / rid / repaired-rid extensions (RFC 8843 §9.2,
 * RFC 8852), or, for a single-layer stream, from the payload type alone. */
static int sb_peer_map_learn(sb_peer_t *p, const sb_rtp_view_t *v)
{
    char mid[32] = "", rid[16] = "";
    bool rtx = false;
    int stream = -1;
    const uint8_t *d;
    size_t dl;
    for (unsigned i = 0; i < p->nstreams && stream < 0; i++) {
        const sb_media_stream_t *s = &p->streams[i];
        if (!s->active || !s->recv)
            continue;
        if (s->ext_mid && !mid[0] && sb_rtp_ext_find(v, s->ext_mid, &d, &dl) == 0)
            sb_rtp_ext_string(d, dl, mid, sizeof(mid));
        if (mid[0] ? !strcmp(mid, s->mid)
                   : (v->pt == s->pt || (s->rtx_pt && v->pt == s->rtx_pt) ||
                      (s->red_pt && v->pt == s->red_pt)))
            stream = (int)i;
    }
    if (stream < 0)
        return -1;
    const sb_media_stream_t *s = &p->streams[stream];
    rtx = s->rtx_pt && v->pt == s->rtx_pt;
    unsigned layer = 0;
    if (s->layers > 1) {
        uint8_t id = rtx ? s->ext_repaired_rid : s->ext_rid;
        if (!id || sb_rtp_ext_find(v, id, &d, &dl) < 0 ||
            sb_rtp_ext_string(d, dl, rid, sizeof(rid)) < 0)
            return -1;
        for (layer = 0; layer < s->layers; layer++) {
            if (!strcmp(s->rid[layer], rid))
                break;
        }
        if (layer == s->layers)
            return -1;
    }
    if (!sb_peer_map_may_take(p, (unsigned)stream, layer, rtx) ||
        !sb_peer_map_add(p, v->ssrc, (unsigned)stream, layer, rtx))
        return -1; /* unknown: dropped and counted, never taken for another SSRC's stream */
    return (int)p->nssrcs - 1;
}

static const sb_peer_ssrc_map_t *sb_peer_map_find(sb_peer_t *p, const sb_rtp_view_t *v)
{
    for (unsigned i = 0; i < p->nssrcs; i++) {
        if (p->ssrcs[i].ssrc == v->ssrc)
            return &p->ssrcs[i];
    }
    int i = sb_peer_map_learn(p, v);
    return i < 0 ? NULL : &p->ssrcs[i];
}

/* ---- receive ---- */

/* Janus' "media" event: media started or stopped coming on a stream. A simulcast stream has
 * one per layer, with "substream" (the reference's form: a layer that stops is announced
 * while the others still flow). */
static void sb_peer_media_event(sb_peer_t *p, unsigned stream, unsigned layer, bool receiving)
{
    sb_peer_stream_rt_t *rt = &p->rt[stream];
    const sb_media_stream_t *s = &p->streams[stream];
    bool simulcast = s->layers > 1 && layer < SB_MEDIA_MAX_LAYERS;
    bool *flag = simulcast ? &rt->rx[layer].receiving : &rt->receiving;
    if (*flag == receiving)
        return;
    *flag = receiving;
    json_t *ev = json_pack("{s:s, s:s, s:b}", "type",
                           s->kind == SB_MEDIA_AUDIO ? "audio" : "video", "mid", s->mid,
                           "receiving", receiving);
    if (simulcast)
        json_object_set_new(ev, "substream", json_integer(layer));
    sb_peer_push_core_event(p, "media", ev);
}

/* Reports tick: streams (or simulcast layers) silent too long are not received any more. */
static void sb_peer_media_check_silence(sb_peer_t *p, unsigned i, int64_t now)
{
    const sb_media_stream_t *s = &p->streams[i];
    sb_peer_stream_rt_t *rt = &p->rt[i];
    if (!s->active)
        return;
    if (s->layers < 2) {
        if (rt->receiving && now - rt->rx[0].last_packet_us > SB_PEER_NOT_RECEIVING_US)
            sb_peer_media_event(p, i, 0, false);
        return;
    }
    for (unsigned l = 0; l < s->layers && l < SB_MEDIA_MAX_LAYERS; l++) {
        if (rt->rx[l].receiving && now - rt->rx[l].last_packet_us > SB_PEER_NOT_RECEIVING_US)
            sb_peer_media_event(p, i, l, false);
    }
}

static void sb_peer_fill_packet_info(sb_peer_t *p, sb_rtp_packet_t *pkt)
{
    const sb_media_stream_t *s = pkt->stream;
    pkt->audio_level = -1;
    if (s->kind == SB_MEDIA_AUDIO) {
        const uint8_t *d;
        size_t dl;
        bool voice;
        uint8_t level;
        if (s->ext_audio_level && sb_rtp_ext_find(&pkt->rtp, s->ext_audio_level, &d, &dl) == 0 &&
            sb_rtp_ext_audio_level(d, dl, &voice, &level) == 0) {
            pkt->audio_level = level;
            pkt->voice = voice;
        }
    } else {
        pkt->keyframe = sb_codec_is_keyframe(sb_codec_from_name(s->codec), pkt->rtp.payload,
                                             pkt->rtp.payload_len);
    }
    (void)p;
}

/* A packet buffer from this loop's pool holding len bytes of data; NULL when the pool is
 * exhausted (the packet is then dropped: the pool bound is the memory bound). */
static sb_pktbuf_t *sb_peer_pktbuf(sb_peer_t *p, const uint8_t *data, size_t len)
{
    if (len > SB_PKTBUF_SIZE)
        return NULL;
    sb_pktbuf_t *b = sb_pktbuf_alloc(sb_loop_pool(p->loop));
    if (!b)
        return NULL;
    memcpy(b->data, data, len);
    b->len = (uint32_t)len;
    return b;
}

/* Restore an RTX packet as the original, in a buffer of its own (RFC 4588). */
static sb_pktbuf_t *sb_peer_rtx_restore(sb_peer_t *p, sb_rtp_packet_t *pkt,
                                        const sb_peer_rx_layer_t *rx, uint8_t pt)
{
    int olen = rx->ssrc ? sb_rtx_restore(&pkt->rtp, rx->ssrc, pt, p->scratch, sizeof(p->scratch))
                        : -1;
    sb_pktbuf_t *b = olen < 0 ? NULL : sb_peer_pktbuf(p, p->scratch, (size_t)olen);
    if (b && sb_rtp_parse(b->data, b->len, &pkt->rtp) == 0)
        return b;
    if (olen >= 0 && !b)
        p->stats.dropped_in++; /* the pool is exhausted */
    else /* a padding probe, too short for an OSN, its media SSRC not known yet, or not RTP */
        p->stats.rtx_unusable++;
    if (b)
        sb_pktbuf_unref(b);
    return NULL;
}

static void sb_peer_rx_account(sb_peer_t *p, const sb_peer_ssrc_map_t *m, sb_rtp_packet_t *pkt,
                               int64_t now)
{
    const sb_media_stream_t *s = &p->streams[m->stream];
    sb_peer_rx_layer_t *rx = &p->rt[m->stream].rx[m->layer];
    if (now - p->media_in_us >= SB_PEER_NACK_IDLE_US)
        sb_peer_ticker_wake(p); /* media again: NACKs and feedback at 20 ms */
    p->media_in_us = now;
    if (!pkt->retransmission) {
        if (!rx->stats_ready) {
            sb_rtp_stats_init(&rx->stats, pkt->rtp.ssrc, 1);
            rx->stats_ready = true;
        }
        uint32_t arrival = (uint32_t)((uint64_t)now * s->clock_rate / 1000000);
        sb_rtp_stats_update(&rx->stats, pkt->rtp.seq, pkt->rtp.timestamp, arrival);
    }
    if (rx->nack)
        sb_nack_gen_on_packet(rx->nack, pkt->rtp.seq, pkt->retransmission, now);
    rx->last_packet_us = now;
    p->rt[m->stream].rx_window++;
}

/* One SRTP datagram (libnice's buffer): copied once into a pooled buffer that plugins may
 * keep referencing through the core (the send history of every subscriber it reaches). */
void sb_peer_media_on_rtp(sb_peer_t *p, uint8_t *buf, size_t len)
{
    sb_pktbuf_t *b = sb_peer_pktbuf(p, buf, len);
    if (!b) {
        p->stats.dropped_in++;
        return;
    }
    size_t n = len;
    sb_rtp_packet_t pkt = {0};
    if (sb_srtp_unprotect_rtp(p->srtp_in, b->data, &n) < 0) {
        p->stats.srtp_fail++;
        sb_counter_add(&p->metrics->srtp_failures, 1);
        goto done;
    }
    b->len = (uint32_t)n;
    const sb_peer_ssrc_map_t *m = NULL;
    if (sb_rtp_parse(b->data, n, &pkt.rtp) < 0) {
        p->stats.malformed_in++; /* authenticated, yet not RTP: the client's bug */
        goto done;
    }
    /* Every authenticated packet counts for the client's estimator, padding probes on
     * SSRCs no stream knows included. */
    int64_t now = sb_now_us();
    sb_peer_cc_on_rtp(p, &pkt.rtp, now);
    if (!(m = sb_peer_map_find(p, &pkt.rtp))) {
        p->stats.unknown_ssrc++;
        goto done;
    }
    const sb_media_stream_t *s = &p->streams[m->stream];
    /* RED (RFC 2198) of the stream's codec comes as it is, for the plugin to pass on. */
    if (pkt.rtp.pt != (m->rtx ? s->rtx_pt : s->pt) &&
        (m->rtx || !s->red_pt || pkt.rtp.pt != s->red_pt)) {
        p->stats.bad_pt++; /* not negotiated on this m-line: no plugin ever sees it */
        goto done;
    }
    p->stats.rtp_in++;
    sb_counter_add(&p->metrics->rtp_packets[SB_METRIC_IN], 1);
    sb_counter_add(&p->metrics->rtp_bytes[SB_METRIC_IN], len);
    if (m->rtx) {
        sb_pktbuf_t *orig = sb_peer_rtx_restore(p, &pkt, &p->rt[m->stream].rx[m->layer], s->pt);
        sb_pktbuf_unref(b);
        b = orig;
        if (!b)
            return;
        pkt.retransmission = true;
        p->stats.rtx_in++;
    }
    sb_peer_rx_account(p, m, &pkt, now);
    pkt.data = b->data;
    pkt.len = b->len;
    pkt.core_buf = b;
    pkt.stream = s;
    pkt.layer = m->layer;
    pkt.arrival_us = now;
    sb_peer_fill_packet_info(p, &pkt);
    if (pkt.keyframe)
        sb_peer_keyframe_received(&p->rt[m->stream].rx[m->layer]);
    sb_peer_media_event(p, m->stream, m->layer, true);
    if (p->plugin->on_rtp)
        p->plugin->on_rtp(p->ph, &pkt);
done:
    sb_pktbuf_unref(b);
}

int sb_peer_local_stream(sb_peer_t *p, uint32_t ssrc)
{
    for (unsigned i = 0; i < p->nstreams; i++) {
        if (p->streams[i].send && (p->streams[i].local_ssrc == ssrc))
            return (int)i;
    }
    return -1;
}

static void sb_peer_resend(sb_peer_t *p, unsigned stream, const uint16_t *seqs, int n);

static void sb_peer_on_feedback(sb_peer_t *p, const sb_rtcp_pkt_t *pkt, int64_t now)
{
    sb_rtcp_fb_t fb;
    if (sb_rtcp_parse_fb(pkt, &fb) < 0)
        return;
    if (pkt->type == SB_RTCP_RTPFB && fb.fmt == SB_RTCP_FMT_TWCC) {
        sb_peer_cc_on_feedback(p, &fb, now);
        return;
    }
    if (pkt->type == SB_RTCP_PSFB && fb.fmt == SB_RTCP_FMT_AFB) {
        sb_rtcp_remb_t remb;
        /* With our own estimator the client's REMB is one of its inputs (a cap). */
        if (sb_rtcp_parse_remb(&fb, &remb) == 0 && !sb_peer_cc_on_remb(p, remb.bitrate, now) &&
            p->plugin->on_bitrate_estimate)
            p->plugin->on_bitrate_estimate(p->ph, remb.bitrate > UINT32_MAX
                                                      ? UINT32_MAX
                                                      : (uint32_t)remb.bitrate);
        return;
    }
    if (pkt->type == SB_RTCP_PSFB && (fb.fmt == SB_RTCP_FMT_PLI || fb.fmt == SB_RTCP_FMT_FIR)) {
        uint32_t media = fb.media_ssrc;
        sb_rtcp_fir_entry_t fir;
        if (fb.fmt == SB_RTCP_FMT_FIR && sb_rtcp_parse_fir(&fb, &fir, 1) > 0)
            media = fir.ssrc;
        int stream = sb_peer_local_stream(p, media);
        sb_counter_add(&p->metrics->pli[SB_METRIC_IN], 1);
        if (stream >= 0 && p->plugin->on_keyframe_request)
            p->plugin->on_keyframe_request(p->ph, (unsigned)stream);
        return;
    }
    if (pkt->type == SB_RTCP_RTPFB && fb.fmt == SB_RTCP_FMT_NACK) {
        uint16_t seqs[64];
        int n = sb_rtcp_parse_nack(&fb, seqs, 64);
        int stream = sb_peer_local_stream(p, fb.media_ssrc);
        p->stats.nacks_in++;
        sb_counter_add(&p->metrics->nack[SB_METRIC_IN], 1);
        if (n > 0 && stream >= 0) {
            p->rt[stream].nacked_by_client += (unsigned)n;
            sb_peer_resend(p, (unsigned)stream, seqs, n);
        }
    }
}

void sb_peer_media_on_rtcp(sb_peer_t *p, uint8_t *buf, size_t len)
{
    size_t n = len;
    if (sb_srtp_unprotect_rtcp(p->srtp_in, buf, &n) < 0) {
        p->stats.srtp_fail++;
        sb_counter_add(&p->metrics->srtp_failures, 1);
        return;
    }
    p->stats.rtcp_in++;
    sb_counter_add(&p->metrics->rtcp_packets[SB_METRIC_IN], 1);
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_iter_init(&it, buf, n);
    int64_t now = sb_now_us();
    while (sb_rtcp_iter_next(&it, &pkt) > 0) {
        if (pkt.type == SB_RTCP_RR) {
            sb_rtcp_rr_t rr;
            if (sb_rtcp_parse_rr(&pkt, &rr) == 0)
                sb_peer_on_report_blocks(p, rr.rbs, rr.rb_count);
        } else if (pkt.type == SB_RTCP_SR) {
            sb_rtcp_sr_t sr;
            if (sb_rtcp_parse_sr(&pkt, &sr) < 0)
                continue;
            sb_peer_on_report_blocks(p, sr.rbs, sr.rb_count);
            for (unsigned i = 0; i < p->nssrcs; i++) {
                const sb_peer_ssrc_map_t *m = &p->ssrcs[i];
                sb_peer_rx_layer_t *rx = &p->rt[m->stream].rx[m->layer];
                if (m->ssrc == sr.ssrc && !m->rtx && rx->stats_ready)
                    sb_rtp_stats_on_sr(&rx->stats, sr.ntp, now);
            }
        } else if (pkt.type == SB_RTCP_RTPFB || pkt.type == SB_RTCP_PSFB) {
            sb_peer_on_feedback(p, &pkt, now);
        }
    }
}

/* ---- send ---- */

int sb_peer_send_rtcp(sb_peer_t *p, const uint8_t *data, size_t len)
{
    if (p->state != SB_PEER_UP || len + SB_SRTP_MAX_TRAILER_LEN > sizeof(p->scratch))
        return SB_ESTATE;
    uint8_t buf[SB_PEER_PKT_MAX + SB_SRTP_MAX_TRAILER_LEN];
    if (len > SB_PEER_PKT_MAX)
        return SB_ERANGE;
    memcpy(buf, data, len);
    size_t n = len;
    int rc = sb_srtp_protect_rtcp(p->srtp_out, buf, &n, sizeof(buf));
    if (rc < 0)
        return rc;
    p->stats.rtcp_out++;
    sb_counter_add(&p->metrics->rtcp_packets[SB_METRIC_OUT], 1);
    return sb_peer_transport_send(p, buf, n);
}

/* Protect and send a plaintext packet that sits in a buffer we may overwrite. */
static int sb_peer_protect_send(sb_peer_t *p, uint8_t *buf, size_t len, size_t cap)
{
    size_t n = len;
    int rc = sb_srtp_protect_rtp(p->srtp_out, buf, &n, cap);
    if (rc < 0)
        return rc;
    p->stats.rtp_out++;
    sb_counter_add(&p->metrics->rtp_packets[SB_METRIC_OUT], 1);
    sb_counter_add(&p->metrics->rtp_bytes[SB_METRIC_OUT], n);
    return sb_peer_transport_send(p, buf, n);
}

int sb_peer_cc_protect_send(sb_peer_t *p, uint8_t *buf, size_t len)
{
    return sb_peer_protect_send(p, buf, len, sizeof(p->scratch));
}

/* Keep what we sent for NACKs. shared: the buffer data came from, identical to it after
 * its first prefix bytes (so only those are stored here); NULL: keep a full copy. */
static void sb_peer_history_put(sb_peer_t *p, unsigned stream, const uint8_t *data, size_t len,
                                sb_pktbuf_t *shared, size_t prefix, int64_t now)
{
    sb_peer_stream_rt_t *rt = &p->rt[stream];
    if (!shared || prefix > SB_PEER_PREFIX_MAX || shared->len != len) {
        shared = NULL;
        prefix = 0;
    }
    sb_pktbuf_t *b = shared ? sb_pktbuf_ref(shared) : sb_peer_pktbuf(p, data, len);
    if (!b)
        return;
    uint16_t seq = sb_be16(data + 2);
    if (sb_rtx_history_put(rt->sent, seq, p->streams[stream].local_ssrc, b->data, len, b,
                           now) < 0) {
        sb_pktbuf_unref(b);
        return;
    }
    unsigned slot = seq & (SB_PEER_SEND_HISTORY - 1);
    memcpy(rt->prefix[slot], data, prefix);
    rt->prefix_len[slot] = (uint8_t)prefix;
}

/* Protect buf (cap bytes of room) in place and send it on stream: the last step of both
 * send paths. */
static int sb_peer_send_prepared(sb_peer_t *p, unsigned stream, uint8_t *buf, size_t len,
                                 size_t cap, int64_t now)
{
    sb_peer_stream_rt_t *rt = &p->rt[stream];
    rt->packets_sent++;
    rt->tx_window++;
    rt->octets_sent += len - SB_RTP_HEADER_MIN;
    rt->last_rtp_ts = sb_be32(buf + 4);
    if (now - p->media_out_us >= SB_PEER_NACK_IDLE_US)
        sb_peer_ticker_wake(p);
    rt->last_send_us = p->media_out_us = now;
    uint8_t *out = sb_peer_cc_stamp(p, buf, &len, cap, -1);
    if (out != buf)
        cap = sizeof(p->scratch);
    return sb_peer_protect_send(p, out, len, cap);
}

static int sb_peer_send_check(sb_peer_t *p, unsigned stream, size_t len)
{
    if (p->state != SB_PEER_UP)
        return SB_ESTATE;
    if (stream >= p->nstreams || !p->streams[stream].send || len > SB_PEER_PKT_MAX ||
        len < SB_RTP_HEADER_MIN)
        return SB_EINVAL;
    return 0;
}

int sb_peer_send_rtp(sb_peer_t *p, unsigned stream, const uint8_t *data, size_t len)
{
    int rc = sb_peer_send_check(p, stream, len);
    if (rc < 0)
        return rc;
    int64_t now = sb_now_us();
    if (p->rt[stream].sent)
        sb_peer_history_put(p, stream, data, len, NULL, 0, now);
    memcpy(p->scratch, data, len);
    return sb_peer_send_prepared(p, stream, p->scratch, len, sizeof(p->scratch), now);
}

int sb_peer_forward_rtp(sb_peer_t *p, unsigned stream, uint8_t *buf, size_t len, size_t cap,
                        const sb_rtp_packet_t *src)
{
    int rc = sb_peer_send_check(p, stream, len);
    if (rc < 0)
        return rc;
    sb_pktbuf_t *shared = src ? src->core_buf : NULL;
    /* A forwarded packet carries the time it reached us: one clock read per packet, not per
     * copy (the send time is later only by the fan-out before this copy). */
    int64_t now = src && src->arrival_us ? src->arrival_us : sb_now_us();
    if (p->rt[stream].sent) {
        size_t prefix = src ? src->rtp.header_len + SB_PEER_FORWARD_REWRITE : len;
        sb_peer_history_put(p, stream, buf, len, shared, prefix < len ? prefix : len, now);
    }
    /* Encrypt in the caller's scratch unless it is the source buffer itself (echo), which
     * the history may still reference in plaintext. */
    if (cap < len + SB_SRTP_MAX_TRAILER_LEN ||
        (shared && buf >= shared->buf && buf < shared->buf + SB_PKTBUF_SIZE)) {
        memcpy(p->scratch, buf, len);
        buf = p->scratch;
        cap = sizeof(p->scratch);
    }
    return sb_peer_send_prepared(p, stream, buf, len, cap, now);
}

static void sb_peer_resend(sb_peer_t *p, unsigned stream, const uint16_t *seqs, int n)
{
    sb_peer_stream_rt_t *rt = &p->rt[stream];
    const sb_media_stream_t *s = &p->streams[stream];
    if (!rt->sent)
        return;
    int64_t now = sb_now_us();
    uint8_t orig[SB_PEER_PKT_MAX];
    for (int i = 0; i < n; i++) {
        sb_rtx_entry_t e;
        if (sb_rtx_history_lookup(rt->sent, seqs[i], now, &e) < 0 || e.len > sizeof(orig))
            continue;
        /* Rebuild the packet as sent: our rewritten prefix, then the shared bytes. */
        unsigned slot = e.seq & (SB_PEER_SEND_HISTORY - 1);
        size_t pl = rt->prefix_len[slot];
        memcpy(orig, rt->prefix[slot], pl);
        memcpy(orig + pl, e.data + pl, e.len - pl);
        sb_rtp_view_t v;
        if (sb_rtp_parse(orig, e.len, &v) < 0)
            continue;
        int len;
        if (s->rtx_pt && s->local_rtx_ssrc) {
            len = sb_rtx_wrap(&v, s->local_rtx_ssrc, s->rtx_pt, rt->rtx_seq++, p->scratch,
                              sizeof(p->scratch) - SB_SRTP_MAX_TRAILER_LEN);
        } else {
            memcpy(p->scratch, orig, e.len);
            len = (int)e.len;
        }
        if (len <= 0)
            continue;
        size_t slen = (size_t)len;
        uint8_t *out = sb_peer_cc_stamp(p, p->scratch, &slen, sizeof(p->scratch), -1);
        if (sb_peer_protect_send(p, out, slen, sizeof(p->scratch)) == 0)
            p->stats.retransmitted++;
    }
}

void sb_peer_send_remb(sb_peer_t *p, uint32_t bitrate_bps)
{
    p->remb_bps = bitrate_bps;
    if (p->state != SB_PEER_UP || !bitrate_bps)
        return;
    uint32_t ssrcs[SB_PEER_MAX_SSRCS];
    size_t n = 0;
    for (unsigned i = 0; i < p->nssrcs; i++) {
        if (!p->ssrcs[i].rtx)
            ssrcs[n++] = p->ssrcs[i].ssrc;
    }
    uint8_t buf[SB_RTCP_HEADER_LEN + 16 + 4 * SB_PEER_MAX_SSRCS];
    int len = sb_rtcp_write_remb(buf, sizeof(buf), p->rtcp_ssrc, bitrate_bps, ssrcs, n);
    if (len > 0)
        sb_peer_send_rtcp(p, buf, (size_t)len);
}

/* ---- periodic RTCP ---- */

static void sb_peer_send_nacks(sb_peer_t *p, int64_t now)
{
    p->kf_pending_any = false; /* set again by each request still held back */
    for (unsigned i = 0; i < p->nstreams; i++) {
        for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++) {
            sb_peer_rx_layer_t *rx = &p->rt[i].rx[l];
            if (rx->keyframe_pending && now - p->rt[i].last_pli_us >= SB_PEER_PLI_MIN_US)
                sb_peer_request_keyframe(p, i, l);
            else if (rx->keyframe_pending)
                p->kf_pending_any = true;
            if (!rx->nack || !rx->ssrc)
                continue;
            uint16_t seqs[64];
            size_t n = sb_nack_gen_collect(rx->nack, now, seqs, 64);
            if (n) {
                p->rt[i].nacked_by_us += (unsigned)n;
                uint8_t buf[SB_RTCP_HEADER_LEN + 8 + 4 * 64];
                int len = sb_rtcp_write_nack(buf, sizeof(buf), p->rtcp_ssrc, rx->ssrc, seqs, n);
                if (len > 0 && sb_peer_send_rtcp(p, buf, (size_t)len) >= 0)
                    sb_counter_add(&p->metrics->nack[SB_METRIC_OUT], 1);
            }
            if (sb_nack_gen_take_keyframe_request(rx->nack))
                sb_peer_request_keyframe(p, i, l);
        }
    }
}

/* Janus' slowlink event: "uplink" is from the server's side, true when the client keeps
 * NACKing what we send it, false when we keep NACKing what it sends us. */
static void sb_peer_slowlink_event(sb_peer_t *p, unsigned i, bool uplink, unsigned nacked,
                                   unsigned packets, int64_t now)
{
    sb_peer_stream_rt_t *rt = &p->rt[i];
    int64_t *last = &rt->last_slowlink_us[uplink];
    if (nacked < SB_PEER_SLOWLINK_NACKS || nacked * SB_PEER_SLOWLINK_SHARE < packets ||
        now - *last < SB_PEER_SLOWLINK_MIN_US)
        return;
    *last = now;
    const sb_media_stream_t *s = &p->streams[i];
    sb_peer_push_core_event(p, "slowlink",
                            json_pack("{s:s, s:s, s:b, s:i, s:i}", "media",
                                      s->kind == SB_MEDIA_AUDIO ? "audio" : "video", "mid",
                                      s->mid, "uplink", uplink, "lost", (int)nacked, "nacks",
                                      (int)nacked));
}

static void sb_peer_check_slowlink(sb_peer_t *p, unsigned i, int64_t now)
{
    sb_peer_stream_rt_t *rt = &p->rt[i];
    sb_peer_slowlink_event(p, i, true, rt->nacked_by_client, rt->tx_window, now);
    sb_peer_slowlink_event(p, i, false, rt->nacked_by_us, rt->rx_window, now);
    rt->nacked_by_client = rt->nacked_by_us = rt->rx_window = rt->tx_window = 0;
}

/* RR blocks for everything we receive, and an SR per stream we send (RFC 3550 §6.4). */
static void sb_peer_send_reports(sb_peer_t *p, int64_t now)
{
    sb_rtcp_rb_t rbs[SB_RTCP_MAX_RB];
    size_t nrb = 0;
    for (unsigned i = 0; i < p->nstreams && nrb < SB_RTCP_MAX_RB; i++) {
        for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS && nrb < SB_RTCP_MAX_RB; l++) {
            sb_peer_rx_layer_t *rx = &p->rt[i].rx[l];
            if (rx->stats_ready && sb_rtp_stats_report(&rx->stats, now, &rbs[nrb]) == 0) {
                nrb++;
                int64_t lost = sb_rtp_stats_lost(&rx->stats); /* cumulative; falls on dups */
                if (lost > rx->lost_counted) {
                    sb_counter_add(&p->metrics->lost_in, (uint64_t)(lost - rx->lost_counted));
                    rx->lost_counted = lost;
                }
            }
        }
        sb_peer_media_check_silence(p, i, now);
        sb_peer_check_slowlink(p, i, now);
    }
    /* No media either way: nothing new to report, and RFC 3550 section 6.2's 5 s minimum
     * interval is enough to say we are here (ICE consent says it too). The checks above
     * keep their second. */
    if (now - p->media_in_us >= SB_PEER_NACK_IDLE_US &&
        now - p->media_out_us >= SB_PEER_NACK_IDLE_US &&
        now - p->last_rtcp_out_us < SB_PEER_IDLE_REPORT_US)
        return;
    p->last_rtcp_out_us = now;
    uint8_t buf[1200];
    size_t off = 0;
    int n = sb_rtcp_write_rr(buf, sizeof(buf), p->rtcp_ssrc, rbs, nrb);
    if (n > 0)
        off += (size_t)n;
    for (unsigned i = 0; i < p->nstreams; i++) {
        sb_peer_stream_rt_t *rt = &p->rt[i];
        const sb_media_stream_t *s = &p->streams[i];
        if (!s->send || !rt->packets_sent || off + 64 > sizeof(buf))
            continue;
        /* Extrapolate the RTP clock from the last packet sent to now. */
        uint32_t ts = rt->last_rtp_ts +
                      (uint32_t)((uint64_t)(now - rt->last_send_us) * s->clock_rate / 1000000);
        sb_rtcp_sr_t sr = {.ssrc = s->local_ssrc,
                           .ntp = sb_rtcp_ntp_from_unix_us(sb_wall_us()),
                           .rtp_ts = ts,
                           .packet_count = (uint32_t)rt->packets_sent,
                           .octet_count = (uint32_t)rt->octets_sent};
        n = sb_rtcp_write_sr(buf + off, sizeof(buf) - off, &sr, NULL, 0);
        if (n > 0)
            off += (size_t)n;
    }
    n = sb_rtcp_write_sdes_cname(buf + off, sizeof(buf) - off, p->rtcp_ssrc, "switchboard");
    if (n > 0)
        off += (size_t)n;
    if (off)
        sb_peer_send_rtcp(p, buf, off);
    if (p->remb_bps)
        sb_peer_send_remb(p, p->remb_bps);
}

/* Returns whether p is busy: media either way in the last second, a keyframe request held
 * back or a probe under way, for which the loop's ticker keeps its 20 ms period. */
bool sb_peer_media_tick(sb_peer_t *p, int64_t now)
{
    if (p->state != SB_PEER_UP)
        return false;
    /* No media either way for a second (muted, a listener between talk-spurts): nothing to
     * NACK or acknowledge, no probe under way; reports, probes due and the estimate's
     * report to the plugin keep to a 1 s tick instead of 20 ms (within one 20 ms tick:
     * the ticker itself may be on either period). */
    bool recv_idle = now - p->media_in_us >= SB_PEER_NACK_IDLE_US;
    if (!sb_peer_media_busy(p, now)) {
        if (now < p->idle_tick_us - SB_PEER_TICK_US)
            return false;
        p->idle_tick_us = now + SB_PEER_IDLE_TICK_US;
    }
    if (!recv_idle || p->kf_pending_any)
        sb_peer_send_nacks(p, now);
    sb_peer_cc_tick(p, now);
    if (now - p->last_report_us >= SB_PEER_REPORT_US) {
        p->last_report_us = now;
        sb_peer_send_reports(p, now);
    }
    /* Event handlers' media reports: JSON per m-line, kept to their own period. */
    if (sb_events_media_period_us && now - p->last_event_report_us >= sb_events_media_period_us &&
        sb_events_wanted(SB_EV_MEDIA)) {
        p->last_event_report_us = now;
        sb_peer_emit_reports(p);
    }
    return sb_peer_media_busy(p, now);
}

void sb_peer_media_start(sb_peer_t *p)
{
    p->last_report_us = p->last_event_report_us = sb_now_us();
    sb_peer_ticker_add(p);
}

void sb_peer_media_stop(sb_peer_t *p)
{
    sb_peer_ticker_remove(p);
    sb_peer_media_free_streams(p);
    sb_peer_cc_free(p);
}
