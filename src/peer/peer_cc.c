/* Congestion control of one peer (transport-wide CC,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01):
 * - what the client sends us: the arrival of every packet carrying a transport sequence
 *   number, reported back every 50 ms, so the client's own estimator works (a browser that
 *   gets no feedback stops its top simulcast layer);
 * - what we send the client: our own transport sequence number on every packet, the
 *   client's feedback matched to what we sent, a bandwidth estimate per client
 *   (proto/bwe.h) handed to the plugin, and padding probes when the plugin would send more
 *   than the estimate allows.
 * With SB_CC_TRACE set, what the estimator is fed is also recorded (peer_cc_trace.h): one
 * test of a pointer per feedback message, REMB, probe slice or report when it is not.
 * Media loop thread only; state is per transport, so it survives renegotiations. */
#include "peer/peer_internal.h"

#include <string.h>

#include "switchboard/error.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "peer/peer_cc_trace.h"
#include "proto/byteorder.h"
#include "proto/rtcp.h"
#include "switchboard/rtp.h"

#define SB_PEER_CC_FEEDBACK_US 50000  /* feedback we send, at most this often */
#define SB_PEER_CC_REPORT_US 200000   /* estimate to the plugin, at least this often */
#define SB_PEER_CC_IDLE_REPORT_US 1000000 /* the same, with nothing sent for a second */
#define SB_PEER_CC_PAD_BYTES 255      /* padding of one probe packet (RTP's maximum) */
#define SB_PEER_CC_PROBE_MAX_PACKETS 400 /* ~8.8 Mbit/s over 100 ms */
#define SB_PEER_CC_TICK_US 20000 /* a probe is paced in slices, one per tick (peer_ticker.c) */
/* A client that negotiated transport-wide CC but sends no feedback this long after our first
 * packet (a load generator, say) is not held to the estimate's start value. */
#define SB_PEER_CC_SILENT_US 2000000

/* The transport-wide extension id of what the client sends (it is one per transport with
 * BUNDLE; the first stream that negotiated it and feedback names it), or 0. */
static uint8_t sb_peer_cc_id(const sb_peer_t *p, bool send)
{
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_media_stream_t *s = &p->streams[i];
        if (s->active && (send ? s->send : s->recv) && s->ext_twcc && s->fb_twcc)
            return s->ext_twcc;
    }
    return 0;
}

void sb_peer_cc_setup(sb_peer_t *p)
{
    p->cc.recv_id = sb_peer_cc_id(p, false);
    p->cc.send_id = sb_peer_cc_id(p, true);
    if (p->cc.recv_id && !p->cc.recv)
        p->cc.recv = sb_twcc_recv_new();
    if (p->cc.send_id && !p->cc.send) {
        p->cc.send = sb_twcc_send_new();
        p->cc.bwe = sb_bwe_new(NULL);
        p->cc.estimate_bps = sb_bwe_estimate(p->cc.bwe);
        p->cc.trace = sb_peer_cc_trace_open(p->ph->session_id, p->ph->handle_id);
    }
    /* The stream probes go on: video with RTX (padding on the RTX SSRC never reaches a
     * decoder, and the client knows that SSRC from our offer). */
    p->cc.probe_stream = -1;
    p->cc.probe_left = 0; /* a probe in progress ends here (the estimator times it out) */
    for (unsigned i = 0; i < p->nstreams && p->cc.send_id; i++) {
        const sb_media_stream_t *s = &p->streams[i];
        if (s->active && s->send && s->kind == SB_MEDIA_VIDEO && s->rtx_pt && s->local_rtx_ssrc) {
            p->cc.probe_stream = (int)i;
            break;
        }
    }
}

void sb_peer_cc_free(sb_peer_t *p)
{
    sb_twcc_recv_free(p->cc.recv);
    sb_twcc_send_free(p->cc.send);
    sb_bwe_free(p->cc.bwe);
    sb_peer_cc_trace_close(p->cc.trace);
    memset(&p->cc, 0, sizeof(p->cc));
}

/* ---- what the client sends us ---- */

void sb_peer_cc_on_rtp(sb_peer_t *p, const sb_rtp_view_t *v, int64_t now)
{
    const uint8_t *d;
    size_t dl;
    uint16_t seq;
    if (!p->cc.recv || !v->extension || sb_rtp_ext_find(v, p->cc.recv_id, &d, &dl) < 0 ||
        sb_rtp_ext_transport_seq(d, dl, &seq) < 0)
        return;
    sb_twcc_recv_packet(p->cc.recv, seq, now);
    p->cc.media_ssrc = v->ssrc;
}

static void sb_peer_cc_send_compound(void *arg, uint8_t *buf, size_t len)
{
    sb_peer_send_rtcp(arg, buf, len);
}

static void sb_peer_cc_send_feedback(sb_peer_t *p, int64_t now)
{
    if (!p->cc.recv || !sb_twcc_recv_due(p->cc.recv, now, SB_PEER_CC_FEEDBACK_US))
        return;
    uint8_t buf[1200];
    sb_twcc_recv_flush(p->cc.recv, p->rtcp_ssrc, p->cc.media_ssrc, now, buf, sizeof(buf),
                       sb_peer_cc_send_compound, p);
}

/* ---- what we send the client ---- */

uint8_t *sb_peer_cc_stamp(sb_peer_t *p, uint8_t *buf, size_t *len, size_t cap, int probe)
{
    if (!p->cc.send)
        return buf;
    /* The real send time (a forwarded packet's arrival is earlier by the fan-out, and by a
     * batch's wait when it crosses loops): the delay estimate is made of its variations. */
    int64_t now = sb_now_us();
    if (!p->cc.first_send_us)
        p->cc.first_send_us = now;
    uint16_t seq = sb_twcc_send_next(p->cc.send, now, (uint32_t)*len, probe);
    /* In place: the element overwritten, or added in the buffer the packet is in (hot, where
     * a rebuild would copy the whole packet into our own, cold at a fan-out). */
    size_t room = cap > SB_SRTP_MAX_TRAILER_LEN ? cap - SB_SRTP_MAX_TRAILER_LEN : 0;
    if (sb_twcc_stamp(buf, len, room, p->cc.send_id, seq) == 0)
        return buf;
    /* A block it cannot take in place (or no room): rebuild the header with the element. */
    uint8_t val[2];
    sb_put_be16(val, seq);
    sb_rtp_view_t v;
    if (sb_rtp_parse(buf, *len, &v) < 0)
        return buf;
    uint8_t *out = buf == p->scratch ? p->scratch2 : p->scratch;
    int n = sb_rtp_copy_with_ext(&v, p->cc.send_id, val, sizeof(val), out,
                                 sizeof(p->scratch) - SB_SRTP_MAX_TRAILER_LEN);
    if (n < 0)
        return buf;
    *len = (size_t)n;
    return out;
}

void sb_peer_cc_on_feedback(sb_peer_t *p, const sb_rtcp_fb_t *fb, int64_t now)
{
    sb_rtcp_twcc_t tw;
    if (!p->cc.send || sb_rtcp_parse_twcc(fb, &tw) < 0)
        return;
    sb_bwe_result_t res[256];
    int n = sb_twcc_send_on_feedback(p->cc.send, &tw, res, sizeof(res) / sizeof(res[0]));
    if (n > 0) {
        if (p->cc.trace)
            sb_peer_cc_trace_feedback(p->cc.trace, res, (size_t)n, now);
        sb_bwe_on_feedback(p->cc.bwe, res, (size_t)n, now);
        p->cc.estimate_bps = sb_bwe_estimate(p->cc.bwe);
        p->cc.feedback_seen = true;
    }
}

bool sb_peer_cc_on_remb(sb_peer_t *p, uint64_t bps, int64_t now)
{
    if (!p->cc.bwe)
        return false;
    if (p->cc.trace)
        sb_peer_cc_trace_remb(p->cc.trace, bps, now);
    sb_bwe_on_remb(p->cc.bwe, bps, now);
    p->cc.estimate_bps = sb_bwe_estimate(p->cc.bwe);
    return true;
}

void sb_peer_want_bitrate(sb_peer_t *p, uint32_t bps)
{
    p->cc.wanted_bps = bps;
}

/* Start a probe: about target_bps over duration_us of padding-only packets, paced in
 * slices, one per tick. */
static void sb_peer_cc_probe_start(sb_peer_t *p, const sb_bwe_probe_t *pr, int64_t now)
{
    if (p->cc.trace)
        sb_peer_cc_trace_probe(p->cc.trace, pr, p->cc.wanted_bps, now);
    uint64_t bytes = (uint64_t)pr->target_bps * (uint64_t)pr->duration_us / 8000000u;
    uint64_t packets = bytes / (SB_PEER_CC_PAD_BYTES + SB_RTP_HEADER_MIN + 8);
    if (packets < pr->min_packets)
        packets = pr->min_packets;
    if (packets > SB_PEER_CC_PROBE_MAX_PACKETS)
        packets = SB_PEER_CC_PROBE_MAX_PACKETS;
    p->cc.probe_cluster = pr->cluster;
    p->cc.probe_left = (unsigned)packets;
    uint64_t slices = (uint64_t)pr->duration_us / SB_PEER_CC_TICK_US;
    if (slices < 1)
        slices = 1;
    p->cc.probe_slice = (unsigned)((packets + slices - 1) / slices);
}

/* This tick's slice of the probe: padding-only packets on the probe stream's RTX SSRC, all
 * numbered in the probe's cluster. */
static void sb_peer_cc_probe_slice(sb_peer_t *p, int64_t now)
{
    const sb_media_stream_t *s = &p->streams[p->cc.probe_stream];
    sb_peer_stream_rt_t *rt = &p->rt[p->cc.probe_stream];
    unsigned packets = p->cc.probe_slice < p->cc.probe_left ? p->cc.probe_slice : p->cc.probe_left;
    p->cc.probe_left -= packets;
    if (p->cc.trace)
        sb_peer_cc_trace_probe_sent(p->cc.trace, p->cc.probe_cluster, packets,
                                    p->cc.probe_left == 0, now);
    sb_bwe_probe_sent(p->cc.bwe, p->cc.probe_cluster, packets, p->cc.probe_left == 0);
    for (unsigned i = 0; i < packets; i++) {
        uint8_t val[2] = {0, 0};
        sb_rtp_ext_elem_t ext = {.id = p->cc.send_id, .len = 2, .data = val};
        sb_rtp_header_t h = {.pt = s->rtx_pt,
                             .seq = rt->rtx_seq++,
                             .timestamp = rt->last_rtp_ts,
                             .ssrc = s->local_rtx_ssrc,
                             .exts = &ext,
                             .ext_count = 1};
        int hl = sb_rtp_write_header(p->scratch, sizeof(p->scratch), &h);
        if (hl < 0)
            return;
        size_t len = (size_t)hl + SB_PEER_CC_PAD_BYTES;
        memset(p->scratch + hl, 0, SB_PEER_CC_PAD_BYTES - 1);
        p->scratch[len - 1] = SB_PEER_CC_PAD_BYTES;
        p->scratch[0] |= 0x20; /* P: everything after the header is padding */
        uint8_t *buf = sb_peer_cc_stamp(p, p->scratch, &len, sizeof(p->scratch),
                                        p->cc.probe_cluster);
        if (sb_peer_cc_protect_send(p, buf, len) < 0)
            return;
        p->cc.probe_packets++;
    }
}

/* An estimate reported to the plugin, into the trace and the debug log. */
static void sb_peer_cc_report(sb_peer_t *p, uint32_t est, int64_t now)
{
    sb_bwe_stats_t st;
    sb_bwe_get_stats(p->cc.bwe, &st);
    if (p->cc.trace)
        sb_peer_cc_trace_estimate(p->cc.trace, est, &st, p->cc.wanted_bps, now);
    SB_DEBUG("cc",
             "estimate %u (delay %u, loss-based %u, acked %u, remb %u; loss %.3f, trend %.2f, "
             "threshold %.2f, usage %d; %llu feedback, %llu results, %llu lost), wanted %u, "
             "%llu probe packets",
             est, st.delay_bps, st.loss_bps, st.acked_bps, st.remb_bps, st.loss, st.trend,
             st.threshold, (int)st.usage, (unsigned long long)st.feedback_packets,
             (unsigned long long)st.results, (unsigned long long)st.lost, p->cc.wanted_bps,
             (unsigned long long)p->cc.probe_packets);
}

bool sb_peer_cc_busy(const sb_peer_t *p)
{
    return p->cc.probe_left != 0;
}

void sb_peer_cc_tick(sb_peer_t *p, int64_t now)
{
    sb_peer_cc_send_feedback(p, now);
    if (!p->cc.bwe)
        return;
    sb_bwe_probe_t pr;
    if (p->cc.probe_stream >= 0 && !p->cc.probe_left && p->cc.wanted_bps &&
        sb_bwe_probe_due(p->cc.bwe, p->cc.wanted_bps, now, &pr))
        sb_peer_cc_probe_start(p, &pr, now);
    if (p->cc.probe_left && p->cc.probe_stream >= 0)
        sb_peer_cc_probe_slice(p, now);
    /* No feedback at all: "no estimate" (0) to the plugin, once. */
    uint32_t est = p->cc.estimate_bps;
    if (!p->cc.feedback_seen && p->cc.first_send_us &&
        now - p->cc.first_send_us > SB_PEER_CC_SILENT_US)
        est = 0;
    if (est == 0 && p->cc.reported_us && p->cc.reported_bps == 0)
        return;
    uint32_t last = p->cc.reported_bps;
    bool changed = est > last + last / 20 || est + last / 20 < last;
    /* Nothing sent for a second: the estimate cannot move, the same figure once a second. */
    int64_t every = now - p->media_out_us >= SB_PEER_NACK_IDLE_US ? SB_PEER_CC_IDLE_REPORT_US
                                                                   : SB_PEER_CC_REPORT_US;
    if ((changed || now - p->cc.reported_us >= every) &&
        p->plugin->on_bitrate_estimate) {
        p->cc.reported_bps = est;
        p->cc.reported_us = now;
        if (p->cc.trace || sb_log_max_level >= SB_LOG_DEBUG)
            sb_peer_cc_report(p, est, now);
        p->plugin->on_bitrate_estimate(p->ph, est);
    }
}

