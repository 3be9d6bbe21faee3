/* SVC layer selection for one receiver (see svc_select.h for the rules).
 *
 * The layers the sender really sends are learnt from the packets, over windows of
 * SB_SVC_WINDOW pictures (the highest layer of this window and the previous one), so a layer
 * the sender stops (e.g. for bandwidth) stops being reported within two windows, and a layer
 * that comes back is asked for with a keyframe when the receiver wants it.
 *
 * Does not parse payloads nor rate-limit keyframe requests (the caller does both).
 * Pure state machine: no allocation, no clock, no I/O; one owner, its thread. */
#include "switchboard/svc_select.h"

#include <string.h>

#define SB_SVC_WINDOW 32 /* pictures: about one second at 30 frames per second */

static int sb_svc_clamp(int v)
{
    return v < 0 || v >= SB_SVC_MAX_LAYERS ? SB_SVC_MAX_LAYERS - 1 : v;
}

static int sb_svc_min(int a, int b)
{
    return a < b ? a : b;
}

static int sb_svc_max(int a, int b)
{
    return a > b ? a : b;
}

void sb_svc_select_init(sb_svc_select_t *s, int spatial, int temporal)
{
    memset(s, 0, sizeof(*s));
    s->target_spatial = sb_svc_clamp(spatial);
    s->target_temporal = sb_svc_clamp(temporal);
    s->spatial = s->temporal = -1;
    s->reported_spatial = s->reported_temporal = -1;
    s->top_sid[0] = s->top_sid[1] = -1;
    s->top_tid[0] = s->top_tid[1] = -1;
}

void sb_svc_select_target(sb_svc_select_t *s, int spatial, int temporal)
{
    s->target_spatial = sb_svc_clamp(spatial);
    s->target_temporal = sb_svc_clamp(temporal);
}

/* Highest spatial / temporal layer the sender sent in this window or the previous one. */
static int sb_svc_top_sid(const sb_svc_select_t *s)
{
    return sb_svc_max(s->top_sid[0], s->top_sid[1]);
}

static int sb_svc_top_tid(const sb_svc_select_t *s)
{
    return sb_svc_max(s->top_tid[0], s->top_tid[1]);
}

/* A picture is over (the next one starts): what the receiver gets is now known. */
static unsigned sb_svc_picture_done(sb_svc_select_t *s)
{
    unsigned f = 0;
    if (++s->pictures >= SB_SVC_WINDOW) {
        s->pictures = 0;
        s->top_sid[1] = s->top_sid[0];
        s->top_tid[1] = s->top_tid[0];
        s->top_sid[0] = s->top_tid[0] = -1;
    }
    if (s->spatial < 0)
        return 0;
    int rs = sb_svc_min(s->spatial, sb_svc_top_sid(s));
    int rt = sb_svc_min(s->temporal, sb_svc_top_tid(s));
    if (rs >= 0 && rs != s->reported_spatial) {
        s->reported_spatial = rs;
        f |= SB_SVC_SPATIAL_CHANGED;
    }
    if (rt >= 0 && rt != s->reported_temporal) {
        s->reported_temporal = rt;
        f |= SB_SVC_TEMPORAL_CHANGED;
    }
    return f;
}

/* Caps for the picture that starts with l. */
static unsigned sb_svc_picture_start(sb_svc_select_t *s, const sb_svc_layer_t *l)
{
    unsigned f = s->started ? sb_svc_picture_done(s) : 0;
    s->started = true;
    if (l->keyframe) {
        /* Every layer is decodable from here (RFC 9628 section 4.3: a keyframe's base
         * layer frame; its higher layers predict from it). */
        s->spatial = s->target_spatial;
        s->temporal = s->target_temporal;
        return f;
    }
    if (s->spatial < 0)
        return f;
    if (s->target_spatial < s->spatial) /* lower layers never reference higher ones */
        s->spatial = s->target_spatial;
    if (s->target_temporal < s->temporal)
        s->temporal = s->target_temporal;
    else if (s->target_temporal > s->temporal && l->switch_up && l->tid <= s->temporal)
        s->temporal = s->target_temporal; /* RFC 9628 section 4.2: U, switching up point */
    if (sb_svc_min(s->target_spatial, sb_svc_top_sid(s)) > s->spatial)
        f |= SB_SVC_WANT_KEYFRAME;
    return f;
}

unsigned sb_svc_select_packet(sb_svc_select_t *s, const sb_svc_layer_t *l)
{
    unsigned f = 0;
    if (!l->retransmission) {
        if (l->picture_start)
            f = sb_svc_picture_start(s, l);
        s->top_sid[0] = sb_svc_max(s->top_sid[0], l->sid);
        s->top_tid[0] = sb_svc_max(s->top_tid[0], l->tid);
    }
    if (s->spatial < 0)
        return f | (l->retransmission ? 0 : SB_SVC_WANT_KEYFRAME);
    if (l->sid > s->spatial || l->tid > s->temporal)
        return f;
    f |= SB_SVC_FORWARD;
    if (l->frame_end && l->sid == s->spatial)
        f |= SB_SVC_MARKER; /* the end of the highest layer this receiver gets */
    return f;
}

void sb_svc_layer_from_vp9(const sb_vp9_desc_t *d, bool retransmission, sb_svc_layer_t *out)
{
    *out = (sb_svc_layer_t){
        .sid = d->sid,
        .tid = d->tid,
        .picture_start = d->start && d->sid == 0,
        .frame_end = d->end,
        .keyframe = d->keyframe,
        .switch_up = d->switching_up,
        .retransmission = retransmission,
    };
}
