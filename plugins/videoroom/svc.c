/* VideoRoom SVC: a VP9 or AV1 publisher that sends several spatial and temporal layers in one
 * RTP stream (Chromium with scalabilityMode L3T3_KEY, janus.js's `svc` track option) is
 * forwarded to each subscriber stream up to the layers it pinned (configure or join
 * spatial_layer / temporal_layer, as the reference VideoRoom) or, for what it did not pin,
 * the layers its bandwidth estimate allows (allocate.c; the highest without an estimate):
 * the decision per packet is proto/svc_select's, from the VP9 payload descriptor (RFC 9628)
 * or AV1's dependency descriptor header extension (proto/dd), read once per packet for the
 * whole fan-out (sb_vr_svc_layer, which also feeds the layers' bitrates to allocate.c);
 * here are the glue (keyframe requests, rate-limited per subscriber stream, for a switch up)
 * and the reference's events when the layers forwarded change:
 *   {"videoroom":"event","room":R,"mid":M,"spatial_layer":S,"temporal_layer":T}
 * (only the keys that changed).
 *
 * This state is the subscriber stream's own, apart from simulcast's (substream/temporal: an
 * SVC publisher has one SSRC, so one simulcast "layer"). It works in every room: the
 * layers are read from the packets, so the reference's `video_svc` room option is not needed
 * (see docs/videoroom.md).
 *
 * Does not choose layers by bandwidth (allocate.c does, through sb_vr_svc_target) nor rewrite
 * the VP9 descriptor or the dependency descriptor (the subscriber sees the publisher's picture
 * ids, TL0PICIDX and frame numbers: one stream, nothing to make continuous; the descriptor's
 * active decode targets still list the layers it does not get, which a receiver tolerates).
 * Loop thread of the fan-out and its subscriber streams: no lock, no allocation per packet. */
#include "switchboard/time.h"
#include "switchboard/codec.h"
#include "switchboard/dd.h"
#include "switchboard/rtp.h"
#include "switchboard/svc_select.h"
#include "videoroom.h"

#define SB_VR_SVC_KF_INTERVAL_US 500000 /* keyframe requests per subscriber stream, at most */

void sb_vr_svc_target(sb_vr_sub_stream_t *ss, int spatial_layer, int temporal_layer)
{
    if (!ss->loop.svc_init) {
        sb_svc_select_init(&ss->loop.svc, spatial_layer, temporal_layer);
        ss->loop.svc_init = true;
        return;
    }
    sb_svc_select_target(&ss->loop.svc, spatial_layer, temporal_layer);
}

void sb_vr_svc_config(sb_vr_sub_stream_t *ss, int spatial_layer, int temporal_layer)
{
    ss->loop.svc_pin_spatial = spatial_layer >= 0;
    ss->loop.svc_pin_temporal = temporal_layer >= 0;
    /* What is not pinned stays the automatic choice's once it made one (allocate.c). */
    if (ss->loop.svc_init && ss->loop.alloc_seen) {
        if (spatial_layer < 0)
            spatial_layer = ss->loop.svc.target_spatial;
        if (temporal_layer < 0)
            temporal_layer = ss->loop.svc.target_temporal;
    }
    sb_vr_svc_target(ss, spatial_layer, temporal_layer);
}

/* The reference's event: the keys whose value changed. */
static void sb_vr_svc_event(sb_vr_sub_stream_t *ss, unsigned flags)
{
    sb_vr_subscriber_t *sub = ss->loop.owner;
    if (!sub)
        return;
    json_t *ev = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room",
                           (json_int_t)sub->room->o.room, "mid", ss->loop.neg.mid);
    if (flags & SB_SVC_SPATIAL_CHANGED)
        json_object_set_new(ev, "spatial_layer", json_integer(ss->loop.svc.reported_spatial));
    if (flags & SB_SVC_TEMPORAL_CHANGED)
        json_object_set_new(ev, "temporal_layer", json_integer(ss->loop.svc.reported_temporal));
    sb_vr_push_event(sub->h, NULL, ev, NULL);
    json_decref(ev);
}

/* VP9: the packet's layers from its payload descriptor. False for plain VP9 (no layer
 * indices) and what cannot be parsed: it passes whole. */
static bool sb_vr_svc_vp9_layer(const sb_rtp_packet_t *pkt, sb_svc_layer_t *l)
{
    sb_vp9_desc_t d;
    if (sb_vp9_parse(pkt->rtp.payload, pkt->rtp.payload_len, &d) < 0 || !d.has_layer)
        return false;
    sb_svc_layer_from_vp9(&d, pkt->retransmission, l);
    return true;
}

/* AV1: the packet's layers from its dependency descriptor (proto/dd), whose template
 * structure the fan-out keeps per SSRC (it comes with keyframes, where every subscriber
 * starts; simulcast layers have one each). A picture (temporal unit) starts with its base
 * layer frame; a temporal layer 0 frame is a switching point (later frames of higher temporal
 * layers reference nothing older in the L1T3/L2T3/L3T3 structures browsers send). False
 * without a usable descriptor: the packet passes whole, as the reference does. */
static bool sb_vr_svc_av1_layer(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt,
                                sb_svc_layer_t *l)
{
    const uint8_t *data;
    size_t len;
    sb_dd_frame_t f;
    uint8_t id = fan->neg.ext_dependency_descriptor;
    if (!id || sb_rtp_ext_find(&pkt->rtp, id, &data, &len) < 0 ||
        sb_dd_parse(data, len, &fan->dd[pkt->layer < SB_MEDIA_MAX_LAYERS ? pkt->layer : 0],
                    &f) < 0)
        return false;
    *l = (sb_svc_layer_t){
        .sid = f.sid,
        .tid = f.tid,
        .picture_start = f.start && f.sid == 0,
        .frame_end = f.end,
        .keyframe = pkt->keyframe && f.start && f.sid == 0,
        .switch_up = f.tid == 0,
        .retransmission = pkt->retransmission,
    };
    return true;
}

bool sb_vr_svc_layer(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt, sb_svc_layer_t *l)
{
    if (!pkt->rtp.payload_len)
        return false;
    return fan->codec == SB_CODEC_VP9   ? sb_vr_svc_vp9_layer(pkt, l)
           : fan->codec == SB_CODEC_AV1 ? sb_vr_svc_av1_layer(fan, pkt, l)
                                        : false;
}

bool sb_vr_svc_filter(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss, const sb_rtp_packet_t *pkt,
                      const sb_svc_layer_t *l, int64_t now, bool *mark)
{
    *mark = false;
    if (!ss->loop.svc_init)
        sb_vr_svc_target(ss, -1, -1);
    unsigned f = sb_svc_select_packet(&ss->loop.svc, l);
    if ((f & SB_SVC_WANT_KEYFRAME) && now - ss->loop.last_kf_req_us >= SB_VR_SVC_KF_INTERVAL_US) {
        ss->loop.last_kf_req_us = now;
        sb_vr_request_kf(fan, 0);
    }
    if (f & (SB_SVC_SPATIAL_CHANGED | SB_SVC_TEMPORAL_CHANGED))
        sb_vr_svc_event(ss, f);
    *mark = (f & SB_SVC_MARKER) && !pkt->rtp.marker;
    return (f & SB_SVC_FORWARD) != 0;
}
