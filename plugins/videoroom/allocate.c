/* Automatic layer choice: the core's bandwidth estimate for a subscriber (transport-wide CC,
 * proto/bwe.h) becomes, for each of its video m-lines that did not pin a layer, the best
 * simulcast substream and VP8 temporal layer that fits, audio first:
 * - each fan-out measures the bitrate of every layer it carries (sb_vr_alloc_measure);
 * - every video m-line starts at its cheapest option; if even that does not fit, video
 *   m-lines are paused from the last one (audio is never starved for video), and resumed at a
 *   keyframe once they fit;
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
#include "base/time.h"
#include "proto/codec.h"
#include "videoroom.h"

#define SB_VR_ALLOC_RATE_WINDOW_US 500000 /* layer bitrates: measured over this, smoothed */
#define SB_VR_ALLOC_UP_HEADROOM 1.3
#define SB_VR_ALLOC_HOLD_MIN_US 3000000  /* after a step down, this long before going up */
#define SB_VR_ALLOC_HOLD_MAX_US 30000000 /* ... doubled per failed step up, up to this */
#define SB_VR_ALLOC_HELD_US 10000000     /* a step up that lasts this long succeeded */
#define SB_VR_ALLOC_WIRE_OVERHEAD 44     /* per packet: SRTP tag, UDP, IPv4 */
/* Forwarding this many times the estimate: the old layer stops at once on a step down
 * (it would only queue and lose; the decoder waits for the new keyframe either way). */
#define SB_VR_ALLOC_OVERLOAD 1.5
#define SB_VR_ALLOC_TL0_SHARE 0.4      /* share of a layer's bitrate in temporal layer 0 */
#define SB_VR_ALLOC_MAX_OPTIONS (SB_MEDIA_MAX_LAYERS + 1)

/* ---- measuring (publisher's or relay's loop, once per packet) -------------------------- */

void sb_vr_alloc_measure(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt, int64_t now)
{
    unsigned layer = pkt->layer < SB_MEDIA_MAX_LAYERS ? pkt->layer : 0;
    fan->layer_bytes[layer] += pkt->len + SB_VR_ALLOC_WIRE_OVERHEAD;
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
        uint64_t bps = fan->layer_bytes[l] * 8u * 1000000u / (uint64_t)span;
        uint64_t cur = fan->layer_bps[l];
        /* Rise at once (a keyframe burst must not look cheap), fall smoothly. */
        uint64_t next = bps >= cur ? bps : (cur * 3u + bps) / 4u;
        fan->layer_bps[l] = next > UINT32_MAX ? UINT32_MAX : (uint32_t)next;
        fan->layer_bytes[l] = 0;
    }
    fan->rate_since_us = now;
}

/* ---- choosing (subscriber's loop) --------------------------------------------------------- */

/* One way to forward an m-line: a layer and a temporal layer (-1: all), and its bitrate. */
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
} sb_vr_alloc_line_t;

static uint32_t sb_vr_alloc_layer_bps(const sb_vr_fanout_t *fan, int layer, int64_t now)
{
    if (layer < 0 || layer >= SB_MEDIA_MAX_LAYERS)
        return 0;
    int64_t last = fan->layer_last_us[layer];
    if (!last || now - last > 1000000)
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
        out[n++] = (sb_vr_option_t){l, -1, bps};
    }
    return n;
}

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
    const sb_vr_sub_stream_t *ss = ln->ss;
    if (ss->loop.cc_paused)
        return -1;
    int cur = 0;
    for (unsigned k = 0; k < ln->n; k++) {
        const sb_vr_option_t *o = &ln->options[k];
        bool at = o->layer == ss->loop.target_layer && o->temporal == ss->loop.target_temporal;
        if (!at && !sb_vr_option_below(o, ss->loop.target_layer, ss->loop.target_temporal))
            break;
        cur = (int)k;
    }
    return cur;
}

/* Apply one line's choice (hysteresis already applied); overload: what it forwards now is
 * far over the estimate (then it stops until the new layer's keyframe). */
static void sb_vr_alloc_apply(sb_vr_sub_stream_t *ss, const sb_vr_option_t *o, int64_t now,
                              bool overload)
{
    bool paused = o == NULL;
    if (paused != ss->loop.cc_paused) {
        ss->loop.cc_paused = paused;
        if (!paused) { /* resuming: the decoder picks up at a keyframe */
            ss->loop.waiting_kf = true;
            ss->loop.cur_layer = -1;
            ss->loop.switched = true;
        }
    }
    if (paused)
        return;
    /* The first choice is a start, not a step down (no hold before going up). A step down
     * soon after a step up doubles the hold before the next try; one that held resets it. */
    bool down = sb_vr_option_below(o, ss->loop.target_layer, ss->loop.target_temporal);
    if (down && overload && o->layer != ss->loop.target_layer)
        ss->loop.drop_old = true;
    if (ss->loop.alloc_seen && down) {
        bool failed_up = ss->loop.alloc_up_us && now - ss->loop.alloc_up_us < SB_VR_ALLOC_HELD_US;
        int64_t hold = ss->loop.alloc_hold_us ? ss->loop.alloc_hold_us : SB_VR_ALLOC_HOLD_MIN_US;
        if (failed_up)
            hold = hold * 2 > SB_VR_ALLOC_HOLD_MAX_US ? SB_VR_ALLOC_HOLD_MAX_US : hold * 2;
        else if (ss->loop.alloc_up_us && now - ss->loop.alloc_up_us >= SB_VR_ALLOC_HELD_US)
            hold = SB_VR_ALLOC_HOLD_MIN_US;
        ss->loop.alloc_hold_us = hold;
        ss->loop.alloc_down_us = now;
    } else if (ss->loop.alloc_seen) {
        ss->loop.alloc_up_us = now;
    }
    ss->loop.alloc_seen = true;
    /* A new layer is wanted now: its keyframe request need not wait for the last one's
     * interval (the core still limits requests per layer). */
    if (o->layer != ss->loop.target_layer)
        ss->loop.last_kf_req_us = 0;
    ss->loop.target_layer = o->layer;
    if (!ss->loop.pin_temporal && ss->loop.target_temporal != o->temporal) {
        ss->loop.target_temporal = o->temporal;
        sb_vr_layer_event(ss, -1, o->temporal < 0 ? 2 : o->temporal);
    }
}

void sb_vr_alloc_on_estimate(sb_vr_subscriber_t *sub, uint32_t bps)
{
    int64_t now = sb_now_us();
    sb_vr_alloc_line_t lines[SB_MEDIA_MAX_STREAMS];
    unsigned n = 0;
    uint64_t audio = 0;
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (!ss->loop.src || !ss->loop.have_neg || !ss->loop.send || ss->loop.paused)
            continue;
        if (ss->loop.src->neg.kind == SB_MEDIA_AUDIO) {
            audio += sb_vr_alloc_layer_bps(ss->loop.src, 0, now);
            continue;
        }
        if (ss->loop.src->neg.kind != SB_MEDIA_VIDEO)
            continue;
        /* SVC streams (one SSRC, layers in the payload) keep their own choice (svc.c). */
        if (ss->loop.src->neg.layers < 2 &&
            (ss->loop.src->codec == SB_CODEC_VP9 || ss->loop.src->codec == SB_CODEC_AV1))
            continue;
        sb_vr_alloc_line_t *ln = &lines[n++];
        ln->ss = ss;
        ln->n = sb_vr_alloc_options(ss, now, ln->options);
        /* Only simulcast the subscriber did not pin is paused when nothing fits: a pinned
         * layer was asked for, and a single layer has no lower one to fall back to later. */
        ln->pausable = !ss->loop.pin_layer && ss->loop.src->neg.layers > 1;
    }
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
        ss = ln->ss;
        if (!ln->n)
            continue; /* nothing flows yet: leave it as it is */
        int cur = sb_vr_alloc_current(ln);
        int up = ln->pick, fit = down[i];
        int choice = cur;
        int64_t hold = ss->loop.alloc_hold_us ? ss->loop.alloc_hold_us : SB_VR_ALLOC_HOLD_MIN_US;
        bool may_go_up = now - ss->loop.alloc_down_us >= hold;
        if (up > cur && may_go_up)
            choice = up;
        else if (fit < cur)
            choice = fit;
        bool overload = cur >= 0 && (double)ln->options[cur].bps > SB_VR_ALLOC_OVERLOAD *
                                                                     (double)budget;
        if (choice != cur || ss->loop.cc_paused != (choice < 0))
            sb_vr_alloc_apply(ss, choice >= 0 ? &ln->options[choice] : NULL, now, overload);
        int next = choice + 1 < (int)ln->n ? choice + 1 : choice;
        wanted += next >= 0 ? ln->options[next].bps : 0;
        can_go_up |= next != choice;
    }
    /* Going up needs the headroom too: probe for it (a little over, so a probe that finds
     * it lifts the estimate past the threshold). Everything at its top: nothing to probe
     * for (a single-layer stream was probed for ever, 16 % more datagrams at fanout 50). */
    wanted = can_go_up ? (uint64_t)((double)wanted * SB_VR_ALLOC_UP_HEADROOM * 1.1) : 0;
    if (sb_vr_core->want_bitrate && wanted != sub->loop_wanted_bps) {
        sub->loop_wanted_bps = (uint32_t)(wanted > UINT32_MAX ? UINT32_MAX : wanted);
        sb_vr_core->want_bitrate(sub->h, sub->loop_wanted_bps);
    }
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
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (ss->loop.have_neg && ss->loop.neg.ext_twcc && ss->loop.neg.fb_twcc &&
            !ss->loop.pin_layer && !ss->loop.alloc_seen)
            ss->loop.target_layer = 0;
    }
}

/* ---- events ------------------------------------------------------------------------------- */

void sb_vr_layer_event(sb_vr_sub_stream_t *ss, int substream, int temporal)
{
    sb_vr_subscriber_t *sub = ss->loop.owner;
    if (!sub)
        return;
    json_t *ev = json_pack("{s:s, s:I, s:s}", "videoroom", "event", "room",
                           (json_int_t)sub->room->o.room, "mid", ss->loop.neg.mid);
    if (substream >= 0)
        json_object_set_new(ev, "substream", json_integer(substream));
    if (temporal >= 0)
        json_object_set_new(ev, "temporal", json_integer(temporal));
    sb_vr_core->push_event(sub->h, NULL, ev, NULL);
    json_decref(ev);
}
