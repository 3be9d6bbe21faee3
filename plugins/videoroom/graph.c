/* VideoRoom forwarding graph: the media loop side of a room's structure. Each publisher
 * stream has a fan-out per loop that serves subscribers of it: its own, on the publisher's
 * loop, and one in a relay (relay.c) for every other loop. A fan-out holds the subscriber
 * streams of its loop; each subscriber stream points to the fan-out that feeds it; both are
 * touched only on the subscriber's loop, which is the fan-out's. The control side changes
 * them by posting closures (bind, unbind, attach/detach after negotiations, per-stream
 * settings) to the loop they concern: publisher state to the publisher's loop, subscriber
 * state and bindings to the subscriber's. Each closure owns the references it needs; a
 * binding holds a reference on the publisher, on the subscriber and on the relay, so none
 * goes while a packet could still reach it.
 *
 * Does not forward packets (forward.c, relay.c) nor decide the subscriptions (subscriber.c).
 * Threads: the sb_vr_fwd_* entry points run under the plugin lock on any thread and post;
 * the *_run closures run on the loop they were posted to. */
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/id.h"
#include "switchboard/log.h"
#include "switchboard/time.h"
#include "videoroom.h"

/* Set while a closure runs inline (no loop to post to): then no core media call is made,
 * as those belong to a loop thread. */
static _Thread_local bool sb_vr_inline;

/* ---- posting ----------------------------------------------------------------------------- */

void sb_vr_post_to(int loop, void (*fn)(void *arg), void *arg)
{
    if (loop >= 0 && sb_vr_core->loop_post && sb_vr_core->loop_post(loop, fn, arg) == 0)
        return;
    bool was = sb_vr_inline;
    sb_vr_inline = true;
    fn(arg);
    sb_vr_inline = was;
}

static void sb_vr_ask_kf(sb_vr_fanout_t *fan, int layer, bool first)
{
    if (sb_vr_inline || !sb_vr_core->request_keyframe || fan->neg.kind != SB_MEDIA_VIDEO)
        return;
    int layers = fan->neg.layers ? (int)fan->neg.layers : 1;
    if (layer < 0 || layer >= layers)
        layer = layer < 0 ? 0 : layers - 1;
    if (fan->relay)
        sb_vr_relay_request_kf(fan->relay, layer, first);
    else if (first && SB_CORE_HAS(sb_vr_core, request_first_keyframe))
        sb_vr_core->request_first_keyframe(fan->pub->h, fan->neg.index, (unsigned)layer);
    else
        sb_vr_core->request_keyframe(fan->pub->h, fan->neg.index, (unsigned)layer);
}

void sb_vr_request_kf(sb_vr_fanout_t *fan, int layer)
{
    sb_vr_ask_kf(fan, layer, false);
}

void sb_vr_request_first_kf(sb_vr_fanout_t *fan, int layer)
{
    sb_vr_ask_kf(fan, layer, true);
}

/* ---- the graph (loop) -------------------------------------------------------------------- */

/* Header extension ids: the publisher's id of each extension we pass on becomes the
 * subscriber's; ids that identify the publisher's leg (rid) are erased. */
void sb_vr_fwd_ext_map(sb_vr_sub_stream_t *ss)
{
    memset(ss->loop.ext_map, 0, sizeof(ss->loop.ext_map));
    ss->loop.ext_remap = false;
    if (!ss->loop.src || !ss->loop.have_neg)
        return;
    /* Every id not listed below is erased (e.g. toffset, abs-capture-time). */
    ss->loop.ext_remap = true;
    const sb_media_stream_t *in = &ss->loop.src->neg, *out = &ss->loop.neg;
    const uint8_t pairs[][2] = {
        {in->ext_audio_level, out->ext_audio_level},
        {in->ext_abs_send_time, out->ext_abs_send_time},
        {in->ext_video_orientation, out->ext_video_orientation},
        {in->ext_playout_delay, out->ext_playout_delay},
        {in->ext_mid, out->ext_mid},
        {in->ext_dependency_descriptor, out->ext_dependency_descriptor},
        {in->ext_rid, 0},
        {in->ext_repaired_rid, 0},
        /* kept in place under the subscriber's id: the core overwrites its value with
         * the subscriber's own transport sequence number, no header rebuild */
        {in->ext_twcc, out->ext_twcc},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        if (!pairs[i][0])
            continue;
        ss->loop.ext_map[pairs[i][0]] = pairs[i][1];
    }
}

void sb_vr_fanout_add(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss)
{
    if (fan->nsubs == fan->cap) {
        fan->cap = fan->cap ? fan->cap * 2 : 8;
        fan->subs = sb_realloc(fan->subs, fan->cap * sizeof(*fan->subs));
    }
    fan->subs[fan->nsubs++] = ss;
    if (fan->relay)
        sb_vr_relay_live(fan->relay, fan->nsubs);
}

void sb_vr_fanout_remove(sb_vr_fanout_t *fan, sb_vr_sub_stream_t *ss)
{
    for (unsigned i = 0; i < fan->nsubs; i++) {
        if (fan->subs[i] == ss) {
            fan->subs[i] = fan->subs[--fan->nsubs];
            break;
        }
    }
    if (fan->relay)
        sb_vr_relay_live(fan->relay, fan->nsubs);
}

static void sb_vr_fwd_unbind_now(sb_vr_sub_stream_t *ss)
{
    sb_vr_fanout_t *fan = ss->loop.src;
    if (!fan)
        return;
    sb_vr_fanout_remove(fan, ss);
    sb_vr_publisher_t *p = ss->loop.src_pub;
    sb_vr_subscriber_t *owner = ss->loop.owner;
    sb_vr_relay_t *relay = fan->relay;
    ss->loop.src = NULL;
    ss->loop.src_pub = NULL;
    sb_vr_relay_unref(relay);
    sb_vr_publisher_unref(p);
    sb_vr_subscriber_unref(owner); /* the binding's; ss may be gone after this */
}

/* A closure's arguments. Owned by the closure; freed when it ran. */
typedef struct sb_vr_op {
    sb_vr_publisher_t *pub;   /* a reference or NULL */
    sb_vr_subscriber_t *sub;  /* a reference or NULL */
    sb_vr_session_t *ses;     /* a reference or NULL */
    sb_vr_relay_t *relay;     /* a reference or NULL */
    unsigned idx, pidx;
    bool send, paused;
    int substream, temporal;
    int spatial_layer, temporal_layer; /* VP9 SVC */
    int max_substream, max_temporal;
    unsigned n;
    sb_media_stream_t *neg;   /* n entries, owned */
    bool muted[SB_MEDIA_MAX_STREAMS];
    unsigned fir_freq_s, level_packets, level_average;
    bool level_events;
} sb_vr_op_t;

static sb_vr_op_t *sb_vr_op_new(sb_vr_publisher_t *p, sb_vr_subscriber_t *s)
{
    sb_vr_op_t *op = SB_NEW(sb_vr_op_t);
    if (p)
        sb_vr_publisher_ref(p);
    if (s)
        sb_vr_subscriber_ref(s);
    op->pub = p;
    op->sub = s;
    return op;
}

static void sb_vr_op_free(sb_vr_op_t *op)
{
    sb_vr_publisher_unref(op->pub);
    sb_vr_subscriber_unref(op->sub);
    sb_vr_session_unref(op->ses);
    sb_vr_relay_unref(op->relay);
    sb_free(op->neg);
    sb_free(op);
}

static void sb_vr_fwd_pub_attach_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_publisher_t *p = op->pub;
    for (unsigned i = 0; i < op->n; i++) {
        sb_vr_pub_stream_t *ps = &p->streams[i];
        sb_vr_fanout_t *fan = &ps->loop.fan;
        bool unmuted = ps->loop.muted && !op->muted[i];
        fan->neg = op->neg[i];
        fan->codec = sb_codec_from_name(op->neg[i].codec);
        ps->loop.muted = op->muted[i];
        for (unsigned k = 0; k < fan->nsubs; k++) {
            sb_vr_sub_stream_t *ss = fan->subs[k];
            sb_vr_fwd_ext_map(ss);
            if (unmuted) { /* as after a switch: continuous numbering, from a keyframe */
                ss->loop.switched = true;
                ss->loop.waiting_kf = true;
                ss->loop.cur_layer = -1;
            }
        }
        /* Subscribers on other loops (relays) are told by sb_vr_relays_update. */
        if (unmuted && (fan->nsubs || ps->loop.nrelays))
            for (unsigned l = 0; l < (fan->neg.layers ? fan->neg.layers : 1); l++)
                sb_vr_request_kf(fan, (int)l);
    }
    p->loop.nstreams = op->n;
    SB_DEBUG("videoroom", "publisher %llu: %u stream(s) on the loop",
             (unsigned long long)p->id, op->n);
    p->loop.fir_freq_s = op->fir_freq_s;
    p->loop.level_events = op->level_events;
    p->loop.level_packets = op->level_packets ? op->level_packets : 100;
    p->loop.level_average = op->level_average;
    if (!p->session->loop_pub) {
        sb_vr_publisher_ref(p);
        p->session->loop_pub = p;
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_pub_attach(sb_vr_publisher_t *p)
{
    sb_vr_op_t *op = sb_vr_op_new(p, NULL);
    const sb_vr_room_opts_t *o = &p->room->o;
    op->n = p->nstreams;
    op->neg = sb_calloc(SB_MEDIA_MAX_STREAMS, sizeof(*op->neg));
    for (unsigned i = 0; i < p->nstreams; i++) {
        op->neg[i] = p->streams[i].neg;
        op->muted[i] = p->streams[i].moderated || p->streams[i].paused;
    }
    op->fir_freq_s = o->fir_freq;
    op->level_events = true; /* "talking" is listed even when no event is sent */
    op->level_packets = p->audio_active_packets ? p->audio_active_packets
                                                : o->audio_active_packets;
    op->level_average = p->audio_level_average ? p->audio_level_average
                                               : o->audio_level_average;
    sb_vr_post_to(p->pc_loop, sb_vr_fwd_pub_attach_run, op);
    sb_vr_relays_update(p);
}

static void sb_vr_fwd_pub_detach_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_publisher_t *p = op->pub;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_vr_pub_stream_t *ps = &p->streams[i];
        while (ps->loop.fan.nsubs > 0)
            sb_vr_fwd_unbind_now(ps->loop.fan.subs[ps->loop.fan.nsubs - 1]);
        /* Subscribers on other loops are unbound there (sb_vr_subscribers_feed_gone). */
        sb_vr_relays_detach(ps);
        ps->loop.talking = false;
        ps->loop.level_packets = ps->loop.level_sum = 0;
        memset(ps->loop.fan.layer_last_us, 0, sizeof(ps->loop.fan.layer_last_us));
        memset(ps->loop.fan.svc_last_us, 0, sizeof(ps->loop.fan.svc_last_us));
        memset(ps->loop.fan.dd, 0, sizeof(ps->loop.fan.dd));
    }
    p->loop.nstreams = 0;
    if (p->session->loop_pub == p) {
        p->session->loop_pub = NULL;
        sb_vr_publisher_unref(p);
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_pub_detach(sb_vr_publisher_t *p)
{
    sb_vr_relays_drop(p);
    sb_vr_post_to(p->pc_loop, sb_vr_fwd_pub_detach_run, sb_vr_op_new(p, NULL));
}

static void sb_vr_fwd_pub_keyframe_run(void *arg)
{
    sb_vr_op_t *op = arg;
    if (op->idx < op->pub->loop.nstreams) {
        sb_vr_fanout_t *fan = &op->pub->streams[op->idx].loop.fan;
        for (unsigned l = 0; l < (fan->neg.layers ? fan->neg.layers : 1); l++)
            sb_vr_request_kf(fan, (int)l);
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_pub_keyframe(sb_vr_publisher_t *p, unsigned idx)
{
    sb_vr_op_t *op = sb_vr_op_new(p, NULL);
    op->idx = idx;
    sb_vr_post_to(p->pc_loop, sb_vr_fwd_pub_keyframe_run, op);
}

static void sb_vr_fwd_bind_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_sub_stream_t *ss = op->sub->streams[op->idx];
    sb_vr_fwd_unbind_now(ss);
    /* On the publisher's loop its own fan-out (if the stream is still there), elsewhere the
     * relay's. */
    sb_vr_fanout_t *fan = NULL;
    if (op->relay)
        fan = sb_vr_relay_fanout(op->relay);
    else if (op->pidx < op->pub->loop.nstreams)
        fan = &op->pub->streams[op->pidx].loop.fan;
    if (fan) {
        sb_vr_fanout_add(fan, ss);
        ss->loop.src = fan;
        ss->loop.src_pub = op->pub; /* the op's references move into the binding */
        op->pub = NULL;
        op->sub = NULL;
        op->relay = NULL;
        ss->loop.switched = true;
        ss->loop.waiting_kf = true;
        ss->loop.cur_layer = -1;
        ss->loop.ev_substream = ss->loop.ev_temporal = 0; /* a new source: announce again */
        sb_vr_fwd_ext_map(ss);
        /* Not before the PeerConnection is up (media_up asks then): a keyframe made for
         * nobody would make Chromium ignore the one asked at webrtcup (one per 300 ms). */
        if (ss->loop.owner->loop_up) {
            sb_vr_request_first_kf(fan, ss->loop.target_layer);
            ss->loop.last_kf_req_us = sb_now_us();
        }
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_bind(sb_vr_subscriber_t *s, unsigned idx)
{
    sb_vr_sub_stream_t *ss = s->streams[idx];
    sb_vr_publisher_t *p = ss->feed;
    sb_vr_op_t *op = sb_vr_op_new(p, s);
    op->idx = idx;
    op->pidx = ss->feed_index;
    /* A subscriber on another loop than the publisher's is fed through a relay. */
    if (s->pc_loop >= 0 && p->pc_loop >= 0 && s->pc_loop != p->pc_loop) {
        op->relay = sb_vr_relay_get(p, ss->feed_index, s->pc_loop);
        sb_vr_relay_ref(op->relay);
    }
    sb_vr_post_to(s->pc_loop, sb_vr_fwd_bind_run, op);
    sb_vr_fwd_sub_config(s, idx);
}

static void sb_vr_fwd_unbind_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_fwd_unbind_now(op->sub->streams[op->idx]);
    sb_vr_op_free(op);
}

void sb_vr_fwd_unbind(sb_vr_subscriber_t *s, unsigned idx)
{
    sb_vr_op_t *op = sb_vr_op_new(NULL, s);
    op->idx = idx;
    sb_vr_post_to(s->pc_loop, sb_vr_fwd_unbind_run, op);
}

static void sb_vr_fwd_sub_config_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_sub_stream_t *ss = op->sub->streams[op->idx];
    bool was_off = !ss->loop.send || ss->loop.paused;
    ss->loop.send = op->send;
    ss->loop.paused = op->paused;
    int layers = ss->loop.src ? (int)ss->loop.src->neg.layers : 0;
    /* Pinned by the subscriber, or the automatic choice's (which starts at the top). */
    ss->loop.pin_layer = op->substream >= 0;
    ss->loop.pin_temporal = op->temporal >= 0;
    ss->loop.max_layer = op->max_substream;
    ss->loop.max_temporal = op->max_temporal;
    if (ss->loop.pin_layer || !ss->loop.alloc_seen)
        ss->loop.target_layer = op->substream >= 0 ? op->substream : SB_MEDIA_MAX_LAYERS - 1;
    /* Without an estimate (no transport-wide CC) the cap is the choice. */
    if (!ss->loop.pin_layer && op->max_substream >= 0 && ss->loop.target_layer > op->max_substream)
        ss->loop.target_layer = op->max_substream;
    if (ss->loop.pin_temporal || !ss->loop.alloc_seen)
        ss->loop.target_temporal = op->temporal;
    sb_vr_svc_config(ss, op->spatial_layer, op->temporal_layer);
    /* Resuming: the decoder needs a keyframe to pick up again. */
    if (was_off && op->send && !op->paused && ss->loop.src) {
        if (ss->loop.alloc_seen) /* a resume, not the start: allocate.c lets it settle */
            ss->loop.alloc_active_us = sb_now_us();
        ss->loop.switched = true;
        ss->loop.waiting_kf = true;
        ss->loop.cur_layer = -1;
        if (ss->loop.owner->loop_up) /* else media_up asks (see sb_vr_fwd_bind_run) */
            sb_vr_request_first_kf(ss->loop.src, layers > 1 ? ss->loop.target_layer : 0);
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_sub_config(sb_vr_subscriber_t *s, unsigned idx)
{
    const sb_vr_sub_stream_t *ss = s->streams[idx];
    sb_vr_op_t *op = sb_vr_op_new(NULL, s);
    op->idx = idx;
    op->send = ss->send;
    op->paused = s->paused;
    op->substream = ss->substream;
    op->temporal = ss->temporal;
    op->spatial_layer = ss->spatial_layer;
    op->temporal_layer = ss->temporal_layer;
    op->max_substream = ss->max_substream;
    op->max_temporal = ss->max_temporal;
    sb_vr_post_to(s->pc_loop, sb_vr_fwd_sub_config_run, op);
}

static void sb_vr_fwd_sub_attach_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_subscriber_t *s = op->sub;
    for (unsigned i = 0; i < op->n && i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_vr_sub_stream_t *ss = s->streams[i];
        ss->loop.neg = op->neg[i];
        ss->loop.have_neg = true;
        uint32_t clock = op->neg[i].clock_rate ? op->neg[i].clock_rate : 90000;
        if (!ss->loop.rw_init || ss->loop.rw_clock != clock) {
            uint32_t first[2];
            sb_random_bytes(first, sizeof(first));
            sb_seq_rewrite_init(&ss->loop.rw, clock, (uint16_t)first[0], first[1]);
            ss->loop.rw_init = true;
            ss->loop.rw_clock = clock;
        }
        sb_vr_fwd_ext_map(ss);
    }
    if (!s->session->loop_sub) {
        sb_vr_subscriber_ref(s);
        s->session->loop_sub = s;
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_sub_attach(sb_vr_subscriber_t *s, const sb_media_stream_t *neg, unsigned n)
{
    sb_vr_op_t *op = sb_vr_op_new(NULL, s);
    op->n = n;
    op->neg = sb_calloc(n ? n : 1, sizeof(*op->neg));
    if (n)
        memcpy(op->neg, neg, n * sizeof(*neg));
    sb_vr_post_to(s->pc_loop, sb_vr_fwd_sub_attach_run, op);
}

static void sb_vr_fwd_sub_detach_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_subscriber_t *s = op->sub;
    sb_vr_sub_stream_t *ss;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS && (ss = sb_vr_sub_stream_at(s, i)); i++)
        sb_vr_fwd_unbind_now(ss);
    if (s->session->loop_sub == s) {
        s->session->loop_sub = NULL;
        sb_vr_subscriber_unref(s);
    }
    sb_vr_op_free(op);
}

void sb_vr_fwd_sub_detach(sb_vr_subscriber_t *s)
{
    sb_vr_post_to(s->pc_loop, sb_vr_fwd_sub_detach_run, sb_vr_op_new(NULL, s));
}

static void sb_vr_fwd_session_release_run(void *arg)
{
    sb_vr_op_t *op = arg;
    sb_vr_session_t *s = op->ses;
    sb_vr_publisher_unref(s->loop_pub);
    s->loop_pub = NULL;
    sb_vr_subscriber_unref(s->loop_sub);
    s->loop_sub = NULL;
    sb_vr_op_free(op); /* drops the handle's reference on the session */
}

void sb_vr_fwd_session_release(sb_vr_session_t *s)
{
    sb_vr_op_t *op = sb_vr_op_new(NULL, NULL);
    op->ses = s; /* the handle's reference moves here */
    sb_vr_post_to(s->loop, sb_vr_fwd_session_release_run, op);
}
