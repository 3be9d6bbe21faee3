/* Automatic layer choice: the core's bandwidth estimate for a subscriber (transport-wide CC,
 * proto/bwe.h) becomes, for each of its video m-lines that did not pin a layer, the best
 * simulcast substream and VP8 temporal layer, or SVC spatial and temporal layer (VP9, AV1:
 * one stream, svc.c), that fits, audio first:
 * - each fan-out measures the bitrate of every layer it carries (sb_vr_alloc_measure; an SVC
 *   stream's per spatial x temporal layer, and a layer costs itself and every one below);
 * - every video m-line starts at its cheapest option; if even that does not fit, video
 *   m-lines are paused from the last one (audio is never starved for video), and resumed at a
 *   keyframe once they have fitted for 1 s;
 * - then m-lines go up one option at a time, round robin, while the total fits;
 * - hysteresis: going up needs 30 % headroom (a switch starts with a keyframe, several times
 *   a frame's size) and no step down for a while (3 s, doubled after each step up that did
 *   not hold for 10 s, up to 30 s); going down happens as soon as the choice no longer fits.
 *   The switch itself waits for a keyframe of the new layer (requested at once).
 * What the subscriber would take next is passed to the core (want_bitrate), which probes the
 * path for it. The reference server's events ("substream", "temporal" with the mid) tell the
 * client when the forwarded layer really changes.
 *
 * Loop thread of the subscriber (all state here is its loop's); no lock, no allocation. */
#include "switchboard/time.h"
#include "switchboard/codec.h"
#include "videoroom.h"

#define SB_VR_ALLOC_RATE_WINDOW_US 500000 /* layer bitrates: measured over this, smoothed */
#define SB_VR_ALLOC_UP_HEADROOM 1.3
#define SB_VR_ALLOC_HOLD_MIN_US 3000000  /* after a step down, this long before going up */
#define SB_VR_ALLOC_HOLD_MAX_US 30000000 /* ... doubled per failed step up, up to this */
#define SB_VR_ALLOC_HOLD_BREAK 2u        /* ... none once the estimate doubled since the step */
#define SB_VR_ALLOC_RESUME_US 1000000    /* paused video fits this long before it resumes */
#define SB_VR_ALLOC_SETTLE_US 2000000    /* a stream the subscriber resumed: no step down for
                                          * this long */
#define SB_VR_ALLOC_HELD_US 10000000     /* a step up that lasts this long succeeded */
#define SB_VR_ALLOC_WIRE_OVERHEAD 44     /* per packet: SRTP tag, UDP, IPv4 */
/* Forwarding this many times the estimate: the old layer stops at once on a step down
 * (it would only queue and lose; the decoder waits for the new keyframe either way). */
#define SB_VR_ALLOC_OVERLOAD 1.5
#define SB_VR_ALLOC_TL0_SHARE 0.4      /* share of a layer's bitrate in temporal layer 0 */
#define SB_VR_ALLOC_STALE_US 1000000   /* a layer without packets this long is not an option */
#define SB_VR_ALLOC_DRAIN_US 500000    /* SVC: a step down's keyframe, this long after it */
#define SB_VR_ALLOC_MAX_OPTIONS (2 * SB_VR_SVC_LAYERS) /* SVC's: T0..Tn-1 at S0, each S whole */
_Static_assert(SB_VR_SVC_LAYERS >= SB_MEDIA_MAX_LAYERS, "simulcast: one per layer, and one more");

/* ---- measuring (publisher's or relay's loop, once per packet) -------------------------- */

/* Rise at once (a keyframe burst must not look cheap), fall smoothly. */
static uint32_t sb_vr_alloc_smooth(uint32_t cur, uint64_t bytes, int64_t span)
{
    uint64_t bps = bytes * 8u * 1000000u / (uint64_t)span;
    uint64_t next = bps >= cur ? bps : ((uint64_t)cur * 3u + bps) / 4u;
    return next > UINT32_MAX ? UINT32_MAX : (uint32_t)next;
}

void sb_vr_alloc_measure(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt,
                         const sb_svc_layer_t *svc, int64_t now)
{
    unsigned layer = pkt->layer < SB_MEDIA_MAX_LAYERS ? pkt->layer : 0;
    fan->layer_bytes[layer] += pkt->len + SB_VR_ALLOC_WIRE_OVERHEAD;
    if (svc) {
        unsigned s = svc->sid < SB_VR_SVC_LAYERS ? svc->sid : SB_VR_SVC_LAYERS - 1;
        unsigned t = svc->tid < SB_VR_SVC_LAYERS ? svc->tid : SB_VR_SVC_LAYERS - 1;
        fan->svc_bytes[s][t] += pkt->len + SB_VR_ALLOC_WIRE_OVERHEAD;
        if (!svc->retransmission) {
            fan->svc_last_us[s] = now;
            fan->svc_tl_last_us[t] = now;
        }
    }
    if (fan->codec == SB_CODEC_VP8 && pkt->rtp.payload_len && !fan->has_temporal) {
        sb_vp8_desc_t d;
        if (sb_vp8_parse(pkt->rtp.payload, pkt->rtp.payload_len, &d) == 0 && d.has_tid &&
            d.tid > 0)
            fan->has_temporal = true;
    }
    int64_t span = now - fan->rate_since_us;
    if (!fan->rate_since_us || span < 0) {
        fan->rate_since_us = now;
        return;
    }
    if (span < SB_VR_ALLOC_RATE_WINDOW_US)
        return;
    for (unsigned l = 0; l < SB_MEDIA_MAX_LAYERS; l++) {
        fan->layer_bps[l] = sb_vr_alloc_smooth(fan->layer_bps[l], fan->layer_bytes[l], span);
        fan->layer_bytes[l] = 0;
    }
    for (unsigned s = 0; s < SB_VR_SVC_LAYERS; s++) {
        for (unsigned t = 0; t < SB_VR_SVC_LAYERS; t++) {
            fan->svc_bps[s][t] = sb_vr_alloc_smooth(fan->svc_bps[s][t], fan->svc_bytes[s][t],
                                                    span);
            fan->svc_bytes[s][t] = 0;
        }
    }
    fan->rate_since_us = now;
}

/* ---- choosing (subscriber's loop) --------------------------------------------------------- */

/* One way to forward an m-line: a layer (SVC: spatial layer, with those below it) and a
 * temporal layer (-1: all), and its bitrate. */
typedef struct sb_vr_option {
    int layer, temporal;
    uint32_t bps;
} sb_vr_option_t;

typedef struct sb_vr_alloc_line {
    sb_vr_sub_stream_t *ss;
    sb_vr_option_t options[SB_VR_ALLOC_MAX_OPTIONS]; /* cheapest first */
    unsigned n;
    int pick; /* index in options, -1: paused */
    bool pausable;
    bool svc;            /* SVC layers of one stream (svc.c's targets), not simulcast's */
    int layer, temporal; /* its target now, as an option's */
} sb_vr_alloc_line_t;

static uint32_t sb_vr_alloc_layer_bps(const sb_vr_fanout_t *fan, int layer, int64_t now)
{
    if (layer < 0 || layer >= SB_MEDIA_MAX_LAYERS)
        return 0;
    int64_t last = fan->layer_last_us[layer];
    if (!last || now - last > SB_VR_ALLOC_STALE_US)
        return 0; /* not flowing: not an option */
    uint32_t bps = fan->layer_bps[layer];
    return bps ? bps : 1; /* flowing but not measured yet: take it as cheap */
}

/* The options of one m-line, cheapest first: the lowest layer at temporal layer 0 (VP8
 * with temporal layers), then each layer whole. A pinned layer or temporal layer is the only
 * choice along its dimension. */
static unsigned sb_vr_alloc_options(const sb_vr_sub_stream_t *ss, int64_t now,
                                    sb_vr_option_t *out)
{
    const sb_vr_fanout_t *fan = ss->loop.src;
    int layers = fan->neg.layers > 1 ? (int)fan->neg.layers : 1;
    unsigned n = 0;
    for (int l = 0; l < layers; l++) {
        if (ss->loop.pin_layer && l != ss->loop.target_layer)
            continue;
        if (!ss->loop.pin_layer && ss->loop.max_layer >= 0 && l > ss->loop.max_layer && n)
            break; /* over the subscriber's cap (the lowest flowing one stays an option) */
        uint32_t bps = sb_vr_alloc_layer_bps(fan, l, now);
        if (!bps)
            continue;
        if (ss->loop.pin_temporal) {
            int t = ss->loop.target_temporal;
            out[n++] = (sb_vr_option_t){l, t, t == 0 ? (uint32_t)(bps * SB_VR_ALLOC_TL0_SHARE)
                                                     : bps};
            continue;
        }
        if (n == 0 && fan->has_temporal)
            out[n++] = (sb_vr_option_t){l, 0, (uint32_t)(bps * SB_VR_ALLOC_TL0_SHARE)};
        if (fan->has_temporal && ss->loop.max_temporal == 0)
            continue; /* capped at temporal layer 0: that option is the layer's only one */
        out[n++] = (sb_vr_option_t){l, -1, bps};
    }
    return n;
}

/* A simulcast line (or a single layer): its options, its target now. */
static void sb_vr_alloc_simulcast_line(sb_vr_alloc_line_t *ln, int64_t now)
{
    const sb_vr_sub_stream_t *ss = ln->ss;
    ln->svc = false;
    ln->n = sb_vr_alloc_options(ss, now, ln->options);
    ln->layer = ss->loop.target_layer;
    ln->temporal = ss->loop.target_temporal;
    /* Only simulcast the subscriber did not pin is paused when nothing fits: a pinned layer
     * was asked for, and a single layer has no lower one to fall back to later. */
    ln->pausable = !ss->loop.pin_layer && ss->loop.src->neg.layers > 1;
}

/* ---- SVC: layers in one stream (VP9, AV1) ------------------------------------------------- */

/* An SVC stream's bitrate up to a spatial and a temporal layer (-1: all). Each layer is
 * predicted from those below it, so spatial layer S at temporal layer T costs every layer up
 * to both. */
static uint32_t sb_vr_alloc_svc_bps(const sb_vr_fanout_t *fan, int spatial, int temporal)
{
    int tmax = temporal < 0 || temporal >= SB_VR_SVC_LAYERS ? SB_VR_SVC_LAYERS - 1 : temporal;
    uint64_t sum = 0;
    for (int s = 0; s <= spatial && s < SB_VR_SVC_LAYERS; s++)
        for (int t = 0; t <= tmax; t++)
            sum += fan->svc_bps[s][t];
    return sum == 0 ? 1 : sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* The highest layer of last[] flowing with every one below it; -1: none. */
static int sb_vr_alloc_svc_flowing(const int64_t *last, int64_t now)
{
    int top = -1;
    for (int l = 0; l < SB_VR_SVC_LAYERS && last[l] && now - last[l] <= SB_VR_ALLOC_STALE_US;
         l++)
        top = l;
    return top;
}

/* The highest spatial layer flowing; -1: the stream has no SVC layers (plain VP9, AV1
 * without a usable descriptor, other codecs, simulcast). */
static int sb_vr_alloc_svc_top(const sb_vr_fanout_t *fan, int64_t now)
{
    if (fan->neg.layers > 1 || (fan->codec != SB_CODEC_VP9 && fan->codec != SB_CODEC_AV1))
        return -1;
    return sb_vr_alloc_svc_flowing(fan->svc_last_us, now);
}

/* An SVC temporal target as an option's (-1: all). */
static int sb_vr_alloc_svc_temporal(int temporal)
{
    return temporal < 0 || temporal >= SB_SVC_MAX_LAYERS - 1 ? -1 : temporal;
}

/* The options of an SVC m-line, cheapest first: spatial layer 0 at each temporal layer but
 * the top one (measured, and switched up at a switching point, not a keyframe: finer steps
 * than simulcast's temporal layer 0 share), then each spatial layer whole. A pinned
 * spatial_layer (bounded by the layers flowing) or temporal_layer is kept. */
static unsigned sb_vr_alloc_svc_options(const sb_vr_sub_stream_t *ss, int top, int64_t now,
                                        sb_vr_option_t *out)
{
    const sb_vr_fanout_t *fan = ss->loop.src;
    const sb_svc_select_t *sel = &ss->loop.svc;
    int ttop = sb_vr_alloc_svc_flowing(fan->svc_tl_last_us, now);
    int pin = !ss->loop.svc_pin_spatial ? -1 : sel->target_spatial < top ? sel->target_spatial
                                                                          : top;
    unsigned n = 0;
    for (int s = 0; s <= top; s++) {
        if (pin >= 0 && s != pin)
            continue;
        if (pin < 0 && ss->loop.max_layer >= 0 && s > ss->loop.max_layer && n)
            break; /* over the subscriber's cap */
        if (ss->loop.svc_pin_temporal) {
            int t = sb_vr_alloc_svc_temporal(sel->target_temporal);
            out[n++] = (sb_vr_option_t){s, t, sb_vr_alloc_svc_bps(fan, s, t)};
            continue;
        }
        if (n == 0) /* the lowest spatial layer: its temporal layers first */
            for (int t = 0; t < ttop; t++)
                out[n++] = (sb_vr_option_t){s, t, sb_vr_alloc_svc_bps(fan, s, t)};
        out[n++] = (sb_vr_option_t){s, -1, sb_vr_alloc_svc_bps(fan, s, -1)};
    }
    return n;
}

/* An SVC line: its options, its target now (the highest before svc.c saw a packet). */
static void sb_vr_alloc_svc_line(sb_vr_alloc_line_t *ln, int top, int64_t now)
{
    const sb_vr_sub_stream_t *ss = ln->ss;
    ln->svc = true;
    ln->n = sb_vr_alloc_svc_options(ss, top, now, ln->options);
    ln->layer = ss->loop.svc_init ? ss->loop.svc.target_spatial : SB_SVC_MAX_LAYERS - 1;
    ln->temporal = ss->loop.svc_init ? sb_vr_alloc_svc_temporal(ss->loop.svc.target_temporal)
                                     : -1;
    /* As simulcast: paused only when not pinned and a lower layer can come back later. */
    ln->pausable = !ss->loop.svc_pin_spatial && top > 0;
}

/* Whether the core can probe the subscriber's path: it sends its probes on the RTX SSRC of a
 * video m-line (padding there never reaches a decoder). Without probes the estimate cannot
 * grow much past what is sent: an SVC subscriber started low would stay low on any link, so
 * its layers are left to svc.c (every layer unless pinned, as before the automatic choice).
 * A publisher without RTX gives its subscribers none: janus.js with a `codec` track option
 * offers that codec alone. */
static bool sb_vr_alloc_can_probe(sb_vr_subscriber_t *sub)
{
    const sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++)
        if (ss->loop.have_neg && ss->loop.neg.kind == SB_MEDIA_VIDEO && ss->loop.neg.active &&
            ss->loop.neg.send && ss->loop.neg.rtx_pt && ss->loop.neg.local_rtx_ssrc)
            return true;
    return false;
}

/* SVC: the layers svc.c forwards up to (proto/svc_select: down at the next picture, spatial
 * up at a keyframe, temporal up at a switching point); what the subscriber pinned is kept.
 * overload: what it forwards now is far over the estimate. */
static void sb_vr_alloc_apply_svc(const sb_vr_alloc_line_t *ln, const sb_vr_option_t *o,
                                  int64_t now, bool overload)
{
    sb_vr_sub_stream_t *ss = ln->ss;
    const sb_svc_select_t *sel = &ss->loop.svc;
    int spatial = ss->loop.svc_pin_spatial ? sel->target_spatial : o->layer;
    int temporal = ss->loop.svc_pin_temporal ? sel->target_temporal : o->temporal;
    /* Up: the keyframe is asked for at the next picture, not after svc.c's interval. */
    if (spatial > ln->layer)
        ss->loop.last_kf_req_us = 0;
    /* Down from far over the estimate: the queue that built up before the estimate fell
     * lost packets of the layers kept too, and a decoder missing a reference waits for a
     * keyframe (Chromium asks for one after 3 s without a decodable frame). Asked for once
     * that queue had time to drain: sent at once, it would be lost in it. */
    if (overload && spatial < ln->layer)
        ss->loop.svc_kf_due_us = now + SB_VR_ALLOC_DRAIN_US;
    sb_vr_svc_target(ss, spatial, temporal);
}

/* ---- fitting ------------------------------------------------------------------------------ */

static uint64_t sb_vr_alloc_total(const sb_vr_alloc_line_t *lines, unsigned n)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        if (lines[i].pick >= 0)
            total += lines[i].options[lines[i].pick].bps;
    return total;
}

/* Fill picks for a budget: every line at its cheapest, lines paused from the last while that
 * does not fit, then one step up at a time, round robin, while it fits. */
static void sb_vr_alloc_fit(sb_vr_alloc_line_t *lines, unsigned n, uint64_t budget)
{
    for (unsigned i = 0; i < n; i++)
        lines[i].pick = lines[i].n ? 0 : -1;
    for (unsigned i = n; i-- > 0 && sb_vr_alloc_total(lines, n) > budget;)
        if (lines[i].pausable)
            lines[i].pick = -1;
    uint64_t total = sb_vr_alloc_total(lines, n);
    for (bool more = true; more;) {
        more = false;
        for (unsigned i = 0; i < n; i++) {
            sb_vr_alloc_line_t *ln = &lines[i];
            if (ln->pick < 0 || (unsigned)ln->pick + 1 >= ln->n)
                continue;
            uint64_t next = total - ln->options[ln->pick].bps + ln->options[ln->pick + 1].bps;
            if (next > budget)
                continue;
            ln->pick++;
            total = next;
            more = true;
        }
    }
}

static bool sb_vr_option_below(const sb_vr_option_t *a, int layer, int temporal)
{
    if (a->layer != layer)
        return a->layer < layer;
    int ta = a->temporal < 0 ? 99 : a->temporal, tb = temporal < 0 ? 99 : temporal;
    return ta < tb;
}

/* Where a line is now: the highest option at or below its target, -1 when paused. */
static int sb_vr_alloc_current(const sb_vr_alloc_line_t *ln)
{
    if (ln->ss->loop.cc_paused)
        return -1;
    int cur = 0;
    for (unsigned k = 0; k < ln->n; k++) {
        const sb_vr_option_t *o = &ln->options[k];
        bool at = o->layer == ln->layer && o->temporal == ln->temporal;
        if (!at && !sb_vr_option_below(o, ln->layer, ln->temporal))
            break;
        cur = (int)k;
    }
    return cur;
}

/* Apply one line's choice (hysteresis already applied); overload: what it forwards now is
 * far over the estimate (then it stops until the new layer's keyframe). */
static void sb_vr_alloc_apply(const sb_vr_alloc_line_t *ln, const sb_vr_option_t *o,
                              int64_t now, bool overload)
{
    sb_vr_sub_stream_t *ss = ln->ss;
    bool paused = o == NULL;
    if (paused != ss->loop.cc_paused) {
        ss->loop.cc_paused = paused;
        if (!paused) { /* resuming: the decoder picks up at a keyframe */
            ss->loop.waiting_kf = true;
            ss->loop.cur_layer = -1;
            ss->loop.switched = true;
            if (ln->svc)
                ss->loop.last_kf_req_us = 0;
        }
    }
    if (paused)
        return;
    /* The first choice is a start, not a step down (no hold before going up). A step down
     * soon after a step up doubles the hold before the next try; one that held resets it.
     * Each step up counts once: a fall that takes several steps down (the estimate falls
     * over several reports, SVC has several options per line) doubles the hold once. */
    bool down = sb_vr_option_below(o, ln->layer, ln->temporal);
    if (!ln->svc && down && overload && o->layer != ss->loop.target_layer)
        ss->loop.drop_old = true;
    if (ss->loop.alloc_seen && down) {
        bool failed_up = ss->loop.alloc_up_us && now - ss->loop.alloc_up_us < SB_VR_ALLOC_HELD_US;
        int64_t hold = ss->loop.alloc_hold_us ? ss->loop.alloc_hold_us : SB_VR_ALLOC_HOLD_MIN_US;
        if (failed_up)
            hold = hold * 2 > SB_VR_ALLOC_HOLD_MAX_US ? SB_VR_ALLOC_HOLD_MAX_US : hold * 2;
        else if (ss->loop.alloc_up_us && now - ss->loop.alloc_up_us >= SB_VR_ALLOC_HELD_US)
            hold = SB_VR_ALLOC_HOLD_MIN_US;
        ss->loop.alloc_up_us = 0;
        ss->loop.alloc_hold_us = hold;
        ss->loop.alloc_down_us = now;
        ss->loop.alloc_down_bps = ss->loop.owner->loop_est_bps;
    } else if (ss->loop.alloc_seen) {
        ss->loop.alloc_up_us = now;
    }
    ss->loop.alloc_seen = true;
    if (ln->svc) {
        sb_vr_alloc_apply_svc(ln, o, now, overload);
        return;
    }
    /* A new layer is wanted now: its keyframe request need not wait for the last one's
     * interval (the core still limits requests per layer). */
    if (o->layer != ss->loop.target_layer)
        ss->loop.last_kf_req_us = 0;
    ss->loop.target_layer = o->layer;
    if (!ss->loop.pin_temporal)
        ss->loop.target_temporal = o->temporal; /* announced as it is forwarded (forward.c) */
}

/* The video lines the estimate is shared between (m-lines that receive, with a source and
 * negotiated; SVC only where it can be probed), and in *audio what the audio takes. */
static unsigned sb_vr_alloc_collect(sb_vr_subscriber_t *sub, sb_vr_alloc_line_t *lines,
                                    uint64_t *audio, int64_t now)
{
    unsigned n = 0;
    bool probed = sb_vr_alloc_can_probe(sub);
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (!ss->loop.src || !ss->loop.have_neg || !ss->loop.send || ss->loop.paused)
            continue;
        if (ss->loop.src->neg.kind == SB_MEDIA_AUDIO) {
            *audio += sb_vr_alloc_layer_bps(ss->loop.src, 0, now);
            continue;
        }
        if (ss->loop.src->neg.kind != SB_MEDIA_VIDEO)
            continue;
        int top = sb_vr_alloc_svc_top(ss->loop.src, now);
        if (top >= 0 && !probed)
            continue;
        sb_vr_alloc_line_t *ln = &lines[n++];
        ln->ss = ss;
        if (top >= 0)
            sb_vr_alloc_svc_line(ln, top, now);
        else
            sb_vr_alloc_simulcast_line(ln, now);
    }
    return n;
}

/* Whether ss may step up: the hold after its last step down is over. An estimate that
 * doubled since the step down (a probe found a link that was freed) is not the one the hold
 * is for: it went up and down around one level. */
static bool sb_vr_alloc_may_go_up(const sb_vr_sub_stream_t *ss, uint32_t bps, int64_t now)
{
    int64_t hold = ss->loop.alloc_hold_us ? ss->loop.alloc_hold_us : SB_VR_ALLOC_HOLD_MIN_US;
    return now - ss->loop.alloc_down_us >= hold ||
           (bps && ss->loop.alloc_down_bps &&
            bps >= SB_VR_ALLOC_HOLD_BREAK * (uint64_t)ss->loop.alloc_down_bps);
}

/* One line's choice (an index in its options, -1: paused) from where it is, what fits with
 * the headroom to go up (up) and what fits at all (fit), hysteresis applied; applied. */
static int sb_vr_alloc_choose(sb_vr_alloc_line_t *ln, int up, int fit, uint32_t bps,
                              uint64_t budget, int64_t now)
{
    sb_vr_sub_stream_t *ss = ln->ss;
    int cur = sb_vr_alloc_current(ln);
    int choice = cur;
    bool may_go_up = sb_vr_alloc_may_go_up(ss, bps, now);
    /* Paused video resumes once it has fitted for a while, not on one estimate: a probe
     * smaller than the path's burst allowance (a token bucket) passes whole and lifts the
     * estimate for the few hundred ms the delay detector takes to pull it back, and a
     * keyframe sent then (the costliest packet burst there is) cannot cross. */
    if (cur < 0 && up > cur && may_go_up) {
        if (!ss->loop.alloc_resume_us)
            ss->loop.alloc_resume_us = now;
        if (now - ss->loop.alloc_resume_us < SB_VR_ALLOC_RESUME_US)
            up = cur;
    } else {
        ss->loop.alloc_resume_us = 0;
    }
    bool overload = cur >= 0 && (double)ln->options[cur].bps > SB_VR_ALLOC_OVERLOAD *
                                                                 (double)budget;
    /* A stream the subscriber just resumed (start, send true): while it was off the
     * estimator saw little but audio, and can read the resumed video's first burst (its
     * keyframe) as congestion, cutting to a share of the little it saw acknowledged, for
     * the few hundred ms until the next feedback. The layer it had fitted before the
     * pause stays that long; a real lack of room shows after it. */
    bool settling = ss->loop.alloc_active_us &&
                    now - ss->loop.alloc_active_us < SB_VR_ALLOC_SETTLE_US;
    if (up > cur && may_go_up)
        choice = up;
    else if (fit < cur && !settling)
        choice = fit;
    if (choice != cur || ss->loop.cc_paused != (choice < 0))
        sb_vr_alloc_apply(ln, choice >= 0 ? &ln->options[choice] : NULL, now, overload);
    return choice;
}

/* SVC: the keyframe a step down put off (SB_VR_ALLOC_DRAIN_US), asked for once it is due. */
static void sb_vr_alloc_svc_kf_due(sb_vr_sub_stream_t *ss, int64_t now)
{
    if (ss->loop.svc_kf_due_us && now >= ss->loop.svc_kf_due_us) {
        ss->loop.svc_kf_due_us = 0;
        ss->loop.last_kf_req_us = now;
        sb_vr_request_kf(ss->loop.src, 0);
    }
}

/* The option a line would take next (its choice when it is at its top). SVC's temporal
 * steps are small: probe for the next spatial layer (a probe for the next temporal layer
 * alone would find little, 5 s apart). */
static int sb_vr_alloc_next(const sb_vr_alloc_line_t *ln, int choice)
{
    int next = choice + 1 < (int)ln->n ? choice + 1 : choice;
    while (ln->svc && choice >= 0 && next + 1 < (int)ln->n &&
           ln->options[next].layer == ln->options[choice].layer)
        next++;
    return next;
}

/* Tell the core what the subscriber would take next. Going up needs the headroom too: probe
 * for it (a little over, so a probe that finds it lifts the estimate past the threshold).
 * Everything at its top: nothing to probe for (a single-layer stream was probed for ever,
 * 16 % more datagrams at fanout 50). */
static void sb_vr_alloc_want(sb_vr_subscriber_t *sub, uint64_t wanted, bool can_go_up)
{
    wanted = can_go_up ? (uint64_t)((double)wanted * SB_VR_ALLOC_UP_HEADROOM * 1.1) : 0;
    if (sb_vr_core->want_bitrate && wanted != sub->loop_wanted_bps) {
        sub->loop_wanted_bps = (uint32_t)(wanted > UINT32_MAX ? UINT32_MAX : wanted);
        sb_vr_core->want_bitrate(sub->h, sub->loop_wanted_bps);
    }
}

void sb_vr_alloc_on_estimate(sb_vr_subscriber_t *sub, uint32_t bps)
{
    int64_t now = sb_now_us();
    sb_vr_alloc_line_t lines[SB_MEDIA_MAX_STREAMS];
    uint64_t audio = 0;
    unsigned n = sb_vr_alloc_collect(sub, lines, &audio, now);
    sub->loop_est_bps = bps;
    uint64_t budget = bps == 0 ? UINT64_MAX : bps > audio ? bps - audio : 0; /* 0: unknown */
    int down[SB_MEDIA_MAX_STREAMS];
    sb_vr_alloc_fit(lines, n, budget);
    for (unsigned i = 0; i < n; i++)
        down[i] = lines[i].pick;
    sb_vr_alloc_fit(lines, n, (uint64_t)((double)budget / SB_VR_ALLOC_UP_HEADROOM));
    uint64_t wanted = audio;
    bool can_go_up = false;
    for (unsigned i = 0; i < n; i++) {
        sb_vr_alloc_line_t *ln = &lines[i];
        if (!ln->n)
            continue; /* nothing flows yet: leave it as it is */
        int choice = sb_vr_alloc_choose(ln, ln->pick, down[i], bps, budget, now);
        sb_vr_alloc_svc_kf_due(ln->ss, now);
        int next = sb_vr_alloc_next(ln, choice);
        wanted += next >= 0 ? ln->options[next].bps : 0;
        can_go_up |= next != choice;
    }
    sb_vr_alloc_want(sub, wanted, can_go_up);
}

void sb_vr_alloc_start(sb_vr_subscriber_t *sub)
{
    if (sub->loop_est_bps) {
        sb_vr_alloc_on_estimate(sub, sub->loop_est_bps);
        return;
    }
    /* No estimate yet, but one will come: start at the lowest layer, whose keyframe is the
     * smallest and the first estimate will allow. Asking for the top one first would also
     * cost the first frame 300 ms: Chromium drops a keyframe request that comes within 300 ms
     * of the last one, whatever its layer, and the estimate's choice comes 20 ms later. */
    bool probed = sb_vr_alloc_can_probe(sub);
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (!ss->loop.have_neg || !ss->loop.neg.ext_twcc || !ss->loop.neg.fb_twcc ||
            ss->loop.alloc_seen)
            continue;
        if (!ss->loop.pin_layer)
            ss->loop.target_layer = 0;
        /* SVC the same (a stream not known to have SVC layers yet may: VP9, AV1). */
        const sb_vr_fanout_t *fan = ss->loop.src;
        if (probed && fan && fan->neg.layers < 2 && !ss->loop.svc_pin_spatial &&
            (fan->codec == SB_CODEC_VP9 || fan->codec == SB_CODEC_AV1))
            sb_vr_svc_target(ss, 0, ss->loop.svc_init ? ss->loop.svc.target_temporal : -1);
    }
}

/* ---- events ------------------------------------------------------------------------------- */

void sb_vr_layer_event(sb_vr_sub_stream_t *ss, int substream, int temporal)
{
    sb_vr_subscriber_t *sub = ss->loop.owner;
    /* Only what changed since the last announcement, as the reference (a pause and start,
     * or a layer asked again, announce nothing). */
    if (substream >= 0 && ss->loop.ev_substream == substream + 1)
        substream = -1;
    if (temporal >= 0 && ss->loop.ev_temporal == temporal + 1)
        temporal = -1;
    if (!sub || (substream < 0 && temporal < 0))
        return;
    if (substream >= 0)
        ss->loop.ev_substream = (int8_t)(substream + 1);
    if (temporal >= 0)
        ss->loop.ev_temporal = (int8_t)(temporal + 1);
    json_t *ev = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room",
                           (json_int_t)sub->room->o.room, "mid", ss->loop.neg.mid);
    if (substream >= 0)
        json_object_set_new(ev, "substream", json_integer(substream));
    if (temporal >= 0)
        json_object_set_new(ev, "temporal", json_integer(temporal));
    sb_vr_push_event(sub->h, NULL, ev, NULL);
    json_decref(ev);
}
