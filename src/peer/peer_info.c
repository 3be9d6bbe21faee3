/* What the Admin API's handle_info and event handlers' media reports show of a
 * PeerConnection: ICE, DTLS, congestion control, and per m-line the codec, SSRCs, RTCP
 * figures (the client's report blocks are kept here) and packet counts, in the reference
 * server's shape where it has one (docs/admin.md, docs/events.md). Loop thread. */
#include <stdio.h>

#include "switchboard/time.h"
#include "peer/events.h"
#include "peer/peer_internal.h"
#include "proto/cert.h"
#include "proto/dtls.h"
#include "proto/rtcp.h"

/* The client's reports on what we send it: its loss and jitter, and the round trip from
 * the SR of ours it names (RFC 3550 6.4.1: now - LSR - DLSR, in 1/65536 s). */
void sb_peer_on_report_blocks(sb_peer_t *p, const uint8_t *rbs, uint8_t count)
{
    for (unsigned i = 0; i < count; i++) {
        sb_rtcp_rb_t rb;
        if (sb_rtcp_rb_get(rbs, count, i, &rb) < 0)
            return;
        int stream = sb_peer_local_stream(p, rb.ssrc);
        if (stream < 0)
            continue;
        sb_peer_stream_rt_t *rt = &p->rt[stream];
        rt->remote_lost = rb.cumulative_lost;
        rt->remote_jitter = rb.jitter;
        if (rb.lsr) {
            uint32_t now = (uint32_t)(sb_rtcp_ntp_from_unix_us(sb_wall_us()) >> 16);
            uint32_t rtt = now - rb.lsr - rb.dlsr;
            if (rtt < (10u << 16)) /* under 10 s: a sane reading */
                rt->rtt_us = (uint32_t)(((uint64_t)rtt * 1000000) >> 16);
        }
    }
}

static const char *sb_peer_dtls_state_name(sb_dtls_state_t s)
{
    static const char *const names[] = {"created", "trying", "connected", "failed", "closed"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static json_t *sb_peer_dtls_info(sb_peer_t *p)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "fingerprint", sb_peer_local_fingerprint(),
                          "dtls-role", p->dtls_role == SB_DTLS_CLIENT ? "active" : "passive",
                          "ready", p->state == SB_PEER_UP);
    if (p->dtls) {
        json_object_set_new(o, "dtls-state",
                            json_string(sb_peer_dtls_state_name(sb_dtls_get_state(p->dtls))));
        json_object_set_new(o, "dropped", json_integer((json_int_t)sb_dtls_get_dropped(p->dtls)));
    }
    if (p->state == SB_PEER_UP)
        json_object_set_new(o, "srtp-profile", json_string(sb_srtp_profile_name(p->profile)));
    json_object_set_new(o, "sctp-association", json_boolean(p->data != NULL));
    return o;
}

static json_t *sb_peer_ssrc_info(const sb_media_stream_t *s)
{
    json_t *o = json_object();
    if (s->send && s->local_ssrc) {
        json_object_set_new(o, "ssrc", json_integer(s->local_ssrc));
        if (s->local_rtx_ssrc)
            json_object_set_new(o, "ssrc-rtx", json_integer(s->local_rtx_ssrc));
    }
    static const char *const peer[] = {"ssrc-peer", "ssrc-peer-sim-1", "ssrc-peer-sim-2"};
    static const char *const peer_rtx[] = {"ssrc-peer-rtx", "ssrc-peer-rtx-sim-1",
                                           "ssrc-peer-rtx-sim-2"};
    for (unsigned l = 0; l < s->layers && l < SB_MEDIA_MAX_LAYERS; l++) {
        if (s->remote_ssrc[l])
            json_object_set_new(o, peer[l], json_integer(s->remote_ssrc[l]));
        if (s->remote_rtx_ssrc[l])
            json_object_set_new(o, peer_rtx[l], json_integer(s->remote_rtx_ssrc[l]));
    }
    return o;
}

/* The receive side of one layer: RTP statistics of what the client sends. */
static json_t *sb_peer_layer_info(const sb_peer_rx_layer_t *rx)
{
    if (!rx->stats_ready)
        return NULL;
    const sb_rtp_stats_t *st = &rx->stats;
    return json_pack("{s:I, s:I, s:I, s:I}", "ssrc", (json_int_t)st->ssrc, "packets",
                     (json_int_t)st->received, "lost", (json_int_t)sb_rtp_stats_lost(st), "jitter",
                     (json_int_t)sb_rtp_stats_jitter(st));
}

static json_t *sb_peer_stream_info(sb_peer_t *p, unsigned i)
{
    const sb_media_stream_t *s = &p->streams[i];
    const sb_peer_stream_rt_t *rt = &p->rt[i];
    static const char *const kinds[] = {"audio", "video", "data"};
    json_t *o = json_pack("{s:s, s:i, s:s, s:{s:b, s:b}}", "type",
                          (unsigned)s->kind < 3 ? kinds[s->kind] : "?", "mindex", (int)s->index,
                          "mid", s->mid, "direction", "send", s->send, "recv", s->recv);
    if (s->kind == SB_MEDIA_DATA)
        return o;
    json_t *codecs = json_pack("{s:i, s:s}", "pt", s->pt, "codec", s->codec);
    if (s->rtx_pt)
        json_object_set_new(codecs, "rtx-pt", json_integer(s->rtx_pt));
    if (s->red_pt)
        json_object_set_new(codecs, "red-pt", json_integer(s->red_pt));
    json_object_set_new(o, "codecs", codecs);
    json_object_set_new(o, "ssrc", sb_peer_ssrc_info(s));
    json_object_set_new(o, "do_nacks", json_boolean(s->fb_nack));
    json_t *rtcp = json_pack("{s:i, s:i, s:I}", "base", (int)s->clock_rate, "lost-by-remote",
                             (int)rt->remote_lost, "jitter-remote", (json_int_t)rt->remote_jitter);
    if (rt->rtt_us)
        json_object_set_new(rtcp, "rtt", json_integer((json_int_t)(rt->rtt_us / 1000)));
    json_t *layers = json_array();
    for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++) {
        json_t *li = sb_peer_layer_info(&rt->rx[l]);
        if (li)
            json_array_append_new(layers, li);
    }
    json_t *in = json_pack("{s:o}", "layers", layers);
    json_t *out = json_pack("{s:I, s:I}", "packets", (json_int_t)rt->packets_sent, "bytes",
                            (json_int_t)rt->octets_sent);
    json_object_set_new(o, "rtcp", json_pack("{s:o}", "main", rtcp));
    json_object_set_new(o, "stats", json_pack("{s:o, s:o}", "in", in, "out", out));
    return o;
}

json_t *sb_peer_info(sb_peer_t *p)
{
    static const char *const states[] = {"new", "connecting", "up", "closing"};
    json_t *o = json_pack("{s:s, s:s}", "state", states[p->state], "ice-role",
                          p->controlling ? "controlling" : "controlled");
    if (p->ice)
        json_object_set_new(o, "ice", sb_ice_info(p->ice));
    json_object_set_new(o, "dtls", sb_peer_dtls_info(p));
    json_t *bwe =
        json_pack("{s:b, s:I}", "twcc", p->cc.send != NULL, "remb", (json_int_t)p->remb_bps);
    if (p->cc.bwe)
        json_object_set_new(bwe, "estimate", json_integer((json_int_t)p->cc.estimate_bps));
    json_object_set_new(o, "bwe", bwe);
    json_t *media = json_object();
    for (unsigned i = 0; i < p->nstreams && p->rt; i++) {
        char key[12];
        snprintf(key, sizeof(key), "%u", i);
        json_object_set_new(media, key, sb_peer_stream_info(p, i));
    }
    json_object_set_new(o, "media", media);
    json_object_set_new(
        o, "stats",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rtp_in",
                  (json_int_t)p->stats.rtp_in, "rtp_out", (json_int_t)p->stats.rtp_out, "rtcp_in",
                  (json_int_t)p->stats.rtcp_in, "rtcp_out", (json_int_t)p->stats.rtcp_out,
                  "nacks_in", (json_int_t)p->stats.nacks_in, "retransmitted",
                  (json_int_t)p->stats.retransmitted, "rtx_in", (json_int_t)p->stats.rtx_in,
                  "srtp_failures", (json_int_t)p->stats.srtp_fail, "unknown_ssrc",
                  (json_int_t)p->stats.unknown_ssrc, "dropped_in",
                  (json_int_t)p->stats.dropped_in, "malformed_in",
                  (json_int_t)p->stats.malformed_in, "rtx_unusable",
                  (json_int_t)p->stats.rtx_unusable));
    return o;
}

/* ---- media reports for event handlers ---- */

/* One m-line's report, the reference's 32/3 body. */
static json_t *sb_peer_stream_report(sb_peer_t *p, unsigned i)
{
    const sb_media_stream_t *s = &p->streams[i];
    const sb_peer_stream_rt_t *rt = &p->rt[i];
    uint64_t received = 0;
    int64_t lost = 0;
    uint32_t jitter = 0;
    for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++) {
        if (!rt->rx[l].stats_ready)
            continue;
        received += rt->rx[l].stats.received;
        lost += sb_rtp_stats_lost(&rt->rx[l].stats);
        if (sb_rtp_stats_jitter(&rt->rx[l].stats) > jitter)
            jitter = sb_rtp_stats_jitter(&rt->rx[l].stats);
    }
    return json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:I, s:i, s:I, s:I, s:I, s:I, s:I}", "mid",
                     s->mid, "mindex", (int)s->index, "media",
                     s->kind == SB_MEDIA_AUDIO ? "audio" : "video", "codec", s->codec, "base",
                     (int)s->clock_rate, "rtt", (int)(rt->rtt_us / 1000), "lost",
                     (json_int_t)lost, "lost-by-remote", (int)rt->remote_lost, "jitter-local",
                     (json_int_t)jitter, "jitter-remote", (json_int_t)rt->remote_jitter,
                     "packets-received", (json_int_t)received, "packets-sent",
                     (json_int_t)rt->packets_sent, "bytes-sent", (json_int_t)rt->octets_sent);
}

void sb_peer_emit_reports(sb_peer_t *p)
{
    if (!sb_events_wanted(SB_EV_MEDIA) || p->state != SB_PEER_UP)
        return;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const sb_media_stream_t *s = &p->streams[i];
        if (s->active && s->kind != SB_MEDIA_DATA)
            p->owner->ops->emit(p->owner, SB_EV_MEDIA, SB_EV_MEDIA_STATS,
                                sb_peer_stream_report(p, i));
    }
}
