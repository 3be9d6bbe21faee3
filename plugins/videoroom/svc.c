/* VideoRoom VP9 SVC: a VP9 publisher that sends several spatial and temporal layers in one
 * RTP stream (Chromium with scalabilityMode L3T3_KEY, janus.js's `svc` track option) is
 * forwarded to each subscriber stream up to the layers it chose (configure or join
 * spatial_layer / temporal_layer, as the reference VideoRoom; the highest by default): the
 * decision per packet is proto/svc_select's, from the VP9 payload descriptor (RFC 9628);
 * here are the glue (keyframe requests, rate-limited per subscriber stream, for a switch up)
 * and the reference's events when the layers forwarded change:
 *   {"videoroom":"event","room":R,"mid":M,"spatial_layer":S,"temporal_layer":T}
 * (only the keys that changed).
 *
 * This state is the subscriber stream's own, apart from simulcast's (substream/temporal: a
 * VP9 SVC publisher has one SSRC, so one simulcast "layer"). It works in every room: the
 * layers are read from the packets, so the reference's `video_svc` room option is not needed
 * (see docs/videoroom.md).
 *
 * Does not choose layers by bandwidth (allocate.c chooses simulcast layers) nor rewrite
 * the VP9 descriptor (the subscriber sees the publisher's picture ids and TL0PICIDX: one
 * stream, nothing to make continuous). Loop thread of the subscriber stream: no lock, no
 * allocation per packet. */
#include "base/time.h"
#include "proto/codec.h"
#include "proto/svc_select.h"
#include "videoroom.h"

#define SB_VR_SVC_KF_INTERVAL_US 500000 /* keyframe requests per subscriber stream, at most */

void sb_vr_svc_config(sb_vr_sub_stream_t *ss, int spatial_layer, int temporal_layer)
{
    if (!ss->loop.svc_init) {
        sb_svc_select_init(&ss->loop.svc, spatial_layer, temporal_layer);
        ss->loop.svc_init = true;
        return;
    }
    sb_svc_select_target(&ss->loop.svc, spatial_layer, temporal_layer);
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
    sb_vr_core->push_event(sub->h, NULL, ev, NULL);
    json_decref(ev);
}

bool sb_vr_svc_filter(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss, const sb_rtp_packet_t *pkt,
                      int64_t now, bool *mark)
{
    *mark = false;
    if (fan->codec != SB_CODEC_VP9 || !pkt->rtp.payload_len)
        return true;
    sb_vp9_desc_t d;
    /* Plain VP9 (no layer indices) and what cannot be parsed pass whole. */
    if (sb_vp9_parse(pkt->rtp.payload, pkt->rtp.payload_len, &d) < 0 || !d.has_layer)
        return true;
    if (!ss->loop.svc_init)
        sb_vr_svc_config(ss, -1, -1);
    sb_svc_layer_t l;
    sb_svc_layer_from_vp9(&d, pkt->retransmission, &l);
    unsigned f = sb_svc_select_packet(&ss->loop.svc, &l);
    if ((f & SB_SVC_WANT_KEYFRAME) && now - ss->loop.last_kf_req_us >= SB_VR_SVC_KF_INTERVAL_US) {
        ss->loop.last_kf_req_us = now;
        sb_vr_request_kf(fan, 0);
    }
    if (f & (SB_SVC_SPATIAL_CHANGED | SB_SVC_TEMPORAL_CHANGED))
        sb_vr_svc_event(ss, f);
    *mark = (f & SB_SVC_MARKER) && !pkt->rtp.marker;
    return (f & SB_SVC_FORWARD) != 0;
}
