/* VideoRoom hot path: a publisher's RTP packet fanned out to the subscriber streams bound to
 * its stream. Per subscriber the packet is copied once into a per-thread scratch buffer and
 * its header rewritten (SSRC, sequence and timestamp through proto/seq_rewrite, payload type,
 * header extension ids, VP8 picture ids across simulcast switches) before core->forward_rtp.
 * Also on the same path: simulcast layer selection (switch at keyframes, fall back when a
 * layer stops), VP8 temporal layer dropping, keyframe requests (subscriber PLI, start),
 * periodic REMB caps and fir_freq keyframes, and talking detection from RFC 6464 levels.
 *
 * The same fan-out (sb_vr_fanout_run) serves the subscribers of the publisher's own loop,
 * inline from on_rtp, and those of other loops, from the batches relay.c hands them (when a
 * stream has subscribers on other loops, its local fan-out is batched too, see relay.c).
 *
 * Does not change the graph (graph.c) and takes no lock: everything here runs on the loop
 * that owns the fan-out and its subscriber streams. No allocation per packet and subscriber;
 * a talking change is the only thing handed to the message thread. */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/time.h"
#include "switchboard/rtp.h"
#include "videoroom.h"

#define SB_VR_SCRATCH 2048
#define SB_VR_KF_INTERVAL_US 500000  /* keyframe requests per subscriber stream, at most */
#define SB_VR_REMB_INTERVAL_US 1000000

static _Thread_local uint8_t sb_vr_scratch[2][SB_VR_SCRATCH];

/* ---- simulcast ---------------------------------------------------------------------------- */

/* Whether this packet's layer goes to ss; switches (at a keyframe) set *switched. */
static bool sb_vr_layer_accept(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss,
                               const sb_rtp_packet_t *pkt, int64_t now, bool *switched)
{
    int want = sb_simulcast_pick(fan->layer_last_us, fan->neg.layers, ss->loop.target_layer, now);
    int layer = (int)pkt->layer;
    if (want >= 0 && want != ss->loop.cur_layer && layer == want && pkt->keyframe) {
        ss->loop.cur_layer = layer;
        ss->loop.drop_old = false;
        *switched = true;
        sb_vr_layer_event(ss, layer, -1);
        return true;
    }
    if (want >= 0 && want != ss->loop.cur_layer &&
        now - ss->loop.last_kf_req_us >= SB_VR_KF_INTERVAL_US) {
        ss->loop.last_kf_req_us = now;
        sb_vr_request_kf(fan, want);
    }
    /* A layer far over the estimate only fills the queue the new keyframe must cross. */
    if (ss->loop.drop_old && want != ss->loop.cur_layer)
        return false;
    return layer == ss->loop.cur_layer;
}

/* ---- rewriting ---------------------------------------------------------------------------- */

/* Extension ids: remapped in place; the mid element gets the subscriber's mid (rebuilt
 * into the second scratch buffer when it does not fit). Returns the packet and its length. */
static uint8_t *sb_vr_ext_rewrite(sb_vr_sub_stream_t *ss, uint8_t *buf, size_t *len,
                                  const sb_rtp_view_t *orig)
{
    sb_rtp_view_t v;
    if (sb_rtp_parse(buf, *len, &v) < 0 || sb_rtp_ext_remap(buf, &v, ss->loop.ext_map) < 0)
        return buf;
    (void)orig;
    uint8_t mid_id = ss->loop.neg.ext_mid;
    if (!mid_id || !ss->loop.src->neg.ext_mid)
        return buf;
    const uint8_t *val = (const uint8_t *)ss->loop.neg.mid;
    size_t vlen = strlen(ss->loop.neg.mid);
    int rc = sb_rtp_ext_set_inplace(buf, &v, mid_id, val, vlen);
    if (rc != SB_ERANGE)
        return buf;
    int n = sb_rtp_copy_with_ext(&v, mid_id, val, vlen, sb_vr_scratch[1], SB_VR_SCRATCH);
    if (n < 0)
        return buf;
    *len = (size_t)n;
    return sb_vr_scratch[1];
}

/* ---- fan-out ------------------------------------------------------------------------------ */

/* How one packet goes to one subscriber stream, decided by the gates below. */
typedef struct sb_vr_fwd_plan {
    bool switched; /* a new source or layer starts: the rewriting jumps */
    bool svc_mark; /* SVC: the copy ends the highest layer forwarded of its picture */
    int red_strip; /* RED: -1 as it is, else the offset of the primary encoding (red.c) */
} sb_vr_fwd_plan_t;

/* Whether ss takes packets at all: its PeerConnection up, sending and not paused (by the
 * subscriber nor the estimate), negotiated; and the packet fits the scratch buffer. */
static inline bool sb_vr_fwd_open(const sb_vr_sub_stream_t *ss, const sb_rtp_packet_t *pkt)
{
    return ss->loop.owner->loop_up && ss->loop.send && !ss->loop.paused &&
           !ss->loop.cc_paused && ss->loop.have_neg && ss->loop.neg.active &&
           ss->loop.neg.send && ss->loop.rw_init && pkt->len <= SB_VR_SCRATCH;
}

/* The layer gate: simulcast picks a layer (switching at its keyframes); a single video
 * stream starts at a keyframe. */
static inline bool sb_vr_fwd_layer_ok(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss,
                                      const sb_rtp_packet_t *pkt, int64_t now, bool *switched)
{
    if (fan->neg.layers > 1)
        return sb_vr_layer_accept(fan, ss, pkt, now, switched);
    if (!ss->loop.waiting_kf || fan->neg.kind != SB_MEDIA_VIDEO)
        return true;
    /* A decoder starts at a keyframe: until one comes, ask (and forward nothing). */
    if (!pkt->keyframe) {
        if (now - ss->loop.last_kf_req_us >= SB_VR_KF_INTERVAL_US) {
            ss->loop.last_kf_req_us = now;
            sb_vr_request_kf(fan, 0);
        }
        return false;
    }
    ss->loop.waiting_kf = false;
    return true;
}

/* The filters of a packet the layer gate let through: VP8 temporal layers over the target,
 * SVC layers (svc.c), unreadable RED (red.c). False: ss does not get it. */
static inline bool sb_vr_fwd_filter(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss,
                                    const sb_rtp_packet_t *pkt, const sb_svc_layer_t *svc,
                                    int64_t now, sb_vr_fwd_plan_t *plan)
{
    bool vp8 = fan->codec == SB_CODEC_VP8;
    /* The temporal layer forwarded, announced as the reference does (VP8 simulcast). */
    if (vp8 && fan->neg.layers > 1) {
        int t = ss->loop.target_temporal < 0 ? 2 : ss->loop.target_temporal;
        if (ss->loop.ev_temporal != t + 1)
            sb_vr_layer_event(ss, -1, t);
    }
    if (vp8 && ss->loop.target_temporal >= 0 && pkt->rtp.payload_len) {
        sb_vp8_desc_t d;
        if (sb_vp8_parse(pkt->rtp.payload, pkt->rtp.payload_len, &d) == 0 && d.has_tid &&
            d.tid > ss->loop.target_temporal)
            return false;
    }
    /* SVC (VP9, AV1): the spatial/temporal layers this subscriber gets (svc.c). */
    if (svc && !sb_vr_svc_filter(fan, ss, pkt, svc, now, &plan->svc_mark))
        return false;
    /* RED of Opus (red.c): as it is, or its primary encoding alone. */
    return !fan->neg.red_pt || sb_vr_red_plan(fan, ss, pkt, &plan->red_strip);
}

/* The copy for ss, its header rewritten (SSRC, sequence number and timestamp from the
 * rewriter, payload type, marker, VP8 picture ids, extension ids), handed to the core. */
static inline void sb_vr_fwd_send(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss,
                                  const sb_rtp_packet_t *pkt, uint16_t seq, uint32_t ts,
                                  const sb_vr_fwd_plan_t *plan)
{
    uint8_t *buf = sb_vr_scratch[0];
    size_t len = pkt->len;
    memcpy(buf, pkt->data, len);
    sb_rtp_set_ssrc(buf, ss->loop.neg.local_ssrc);
    sb_rtp_set_seq(buf, seq);
    sb_rtp_set_timestamp(buf, ts);
    if (fan->neg.red_pt && pkt->rtp.pt == fan->neg.red_pt)
        len = sb_vr_red_rewrite(ss, buf, len, pkt, plan->red_strip);
    else if (pkt->rtp.pt != ss->loop.neg.pt && ss->loop.neg.pt)
        sb_rtp_set_pt(buf, ss->loop.neg.pt);
    if (plan->svc_mark)
        sb_rtp_set_marker(buf, true);
    if (fan->codec == SB_CODEC_VP8 && fan->neg.layers > 1 && pkt->rtp.payload_len)
        sb_vp8_renumber(&ss->loop.vp8, buf + pkt->rtp.header_len, pkt->rtp.payload_len,
                        plan->switched);
    if (ss->loop.ext_remap && pkt->rtp.extension)
        buf = sb_vr_ext_rewrite(ss, buf, &len, &pkt->rtp);
    /* Same length and only header/descriptor bytes rewritten: the core shares the
     * publisher's buffer for NACKs. A rebuilt extension block (other length) still works:
     * the core then keeps a copy. */
    if (sb_vr_core->forward_rtp(ss->loop.owner->h, ss->loop.neg.index, buf, len, SB_VR_SCRATCH,
                                pkt) == 0)
        ss->loop.sent++;
}

static void sb_vr_forward_one(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss,
                              const sb_rtp_packet_t *pkt, const sb_svc_layer_t *svc, int64_t now)
{
    if (!sb_vr_fwd_open(ss, pkt))
        return;
    sb_vr_fwd_plan_t plan = {.switched = ss->loop.switched, .svc_mark = false, .red_strip = -1};
    if (!sb_vr_fwd_layer_ok(fan, ss, pkt, now, &plan.switched))
        return;
    if (!sb_vr_fwd_filter(fan, ss, pkt, svc, now, &plan)) {
        sb_seq_rewrite_drop(&ss->loop.rw, pkt->rtp.seq, pkt->rtp.ssrc);
        return;
    }
    uint16_t seq;
    uint32_t ts;
    if (sb_seq_rewrite_process(&ss->loop.rw, pkt->rtp.seq, pkt->rtp.timestamp, pkt->rtp.ssrc,
                               plan.switched, now, &seq, &ts) < 0) {
        ss->loop.dropped++;
        return;
    }
    ss->loop.switched = false;
    sb_vr_fwd_send(fan, ss, pkt, seq, ts, &plan);
}

void sb_vr_fanout_run(sb_vr_fanout_t *fan, const sb_rtp_packet_t *pkt, int64_t now)
{
    /* SVC layers are read once here, for the measure and every subscriber. */
    sb_svc_layer_t l;
    const sb_svc_layer_t *svc = sb_vr_svc_layer(fan, pkt, &l) ? &l : NULL;
    sb_vr_alloc_measure(fan, pkt, svc, now);
    for (unsigned i = 0; i < fan->nsubs; i++)
        sb_vr_forward_one(fan, fan->subs[i], pkt, svc, now);
}

/* ---- per-publisher periodic work ------------------------------------------------------------ */

static void sb_vr_talking_run(void *arg);
static void sb_vr_talking_done(void *arg);

/* A talking change, handed to the message thread. Owns a publisher reference. */
typedef struct sb_vr_talk {
    sb_vr_publisher_t *p;
    unsigned stream;
    bool talking;
    unsigned avg;
} sb_vr_talk_t;

static void sb_vr_talking_run(void *arg)
{
    sb_vr_talk_t *t = arg;
    sb_vr_publisher_talking(t->p, t->stream, t->talking, t->avg);
}

static void sb_vr_talking_done(void *arg)
{
    sb_vr_talk_t *t = arg;
    sb_vr_publisher_unref(t->p);
    sb_free(t);
}

/* RFC 6464 levels (0 loudest, 127 silence) averaged over audio_active_packets packets:
 * below audio_level_average means talking. */
static void sb_vr_audio_level(sb_vr_publisher_t *p, sb_vr_pub_stream_t *ps, unsigned idx,
                              int level)
{
    ps->loop.level_sum += (unsigned)level;
    if (++ps->loop.level_packets < p->loop.level_packets)
        return;
    unsigned avg = ps->loop.level_sum / ps->loop.level_packets;
    ps->loop.level_sum = ps->loop.level_packets = 0;
    bool talking = avg < p->loop.level_average;
    if (talking == ps->loop.talking)
        return;
    ps->loop.talking = talking;
    sb_vr_talk_t *t = SB_NEW(sb_vr_talk_t);
    sb_vr_publisher_ref(p);
    *t = (sb_vr_talk_t){p, idx, talking, avg};
    sb_vr_defer(sb_vr_talking_run, t, sb_vr_talking_done);
}

static void sb_vr_periodic(sb_vr_publisher_t *p, sb_vr_pub_stream_t *ps, int64_t now)
{
    if (now - p->loop.last_remb_us >= SB_VR_REMB_INTERVAL_US) {
        p->loop.last_remb_us = now;
        unsigned bps = atomic_load(&p->loop.remb_bps);
        if (bps && sb_vr_core->send_remb)
            sb_vr_core->send_remb(p->h, bps);
    }
    if (p->loop.fir_freq_s && ps->loop.fan.neg.kind == SB_MEDIA_VIDEO) {
        if (!ps->loop.last_fir_us) {
            ps->loop.last_fir_us = now;
        } else if (now - ps->loop.last_fir_us >= (int64_t)p->loop.fir_freq_s * 1000000) {
            ps->loop.last_fir_us = now;
            for (unsigned l = 0; l < (ps->loop.fan.neg.layers ? ps->loop.fan.neg.layers : 1); l++)
                sb_vr_request_kf(&ps->loop.fan, (int)l);
        }
    }
}

/* ---- plugin ops ---------------------------------------------------------------------------- */

void sb_vr_fwd_on_rtp(sb_vr_session_t *s, sb_rtp_packet_t *pkt)
{
    sb_vr_publisher_t *p = s->loop_pub;
    if (!p || !pkt->stream || !sb_vr_core->send_rtp)
        return;
    unsigned idx = pkt->stream->index;
    if (idx >= p->loop.nstreams || p->streams[idx].loop.fan.neg.index != idx) {
        for (idx = 0; idx < p->loop.nstreams; idx++)
            if (p->streams[idx].loop.fan.neg.index == pkt->stream->index)
                break;
        if (idx == p->loop.nstreams)
            return;
    }
    sb_vr_pub_stream_t *ps = &p->streams[idx];
    int64_t now = pkt->arrival_us;
    if (pkt->layer < SB_MEDIA_MAX_LAYERS)
        ps->loop.fan.layer_last_us[pkt->layer] = now;
    sb_vr_periodic(p, ps, now);
    if (p->loop.level_events && pkt->audio_level >= 0 &&
        ps->loop.fan.neg.kind == SB_MEDIA_AUDIO)
        sb_vr_audio_level(p, ps, idx, pkt->audio_level);
    if (ps->loop.muted)
        return;
    /* With subscribers on other loops, the packet is batched for them and for this loop's
     * own, all forwarded once this iteration ends (relay.c). */
    if (ps->loop.nrelays && sb_vr_relays_push(ps, pkt))
        return;
    sb_vr_fanout_run(&ps->loop.fan, pkt, now);
}

void sb_vr_fwd_on_keyframe_request(sb_vr_session_t *s, unsigned stream)
{
    sb_vr_subscriber_t *sub = s->loop_sub;
    if (!sub)
        return;
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (!ss->loop.have_neg || ss->loop.neg.index != stream || !ss->loop.src)
            continue;
        int layer = ss->loop.cur_layer >= 0 ? ss->loop.cur_layer : ss->loop.target_layer;
        sb_vr_request_kf(ss->loop.src, layer);
        return;
    }
}

void sb_vr_fwd_media_up(sb_vr_session_t *s)
{
    sb_vr_subscriber_t *sub = s->loop_sub;
    if (!sub)
        return;
    /* A subscriber that just connected needs a keyframe of everything it receives: of the
     * layers its estimate allows (it may have come before the streams were ready). */
    sub->loop_up = true;
    sb_vr_alloc_start(sub);
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(sub, i)); i++) {
        if (ss->loop.src) {
            ss->loop.waiting_kf = true;
            ss->loop.cur_layer = -1; /* simulcast: restart at a keyframe too */
            ss->loop.last_kf_req_us = sb_now_us();
            sb_vr_request_first_kf(ss->loop.src, ss->loop.target_layer);
        }
    }
}

void sb_vr_fwd_media_down(sb_vr_session_t *s)
{
    if (s->loop_sub)
        s->loop_sub->loop_up = false;
}
