/* The VideoRoom's hot path without a daemon: a fake core and a one-publisher graph (see
 * vr_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/codec.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "switchboard/rtp.h"
#include "switchboard/time.h"
#include "vr_fixture.h"

#define VRF_QUEUE 256
#define VRF_PAYLOAD 40

vrf_core_log_t vrf_log;

/* Everything below is the test thread's. */
static struct {
    sb_vr_room_t room;
    sb_plugin_handle_t pub_h, sub_h[VRF_SUBS];
    sb_vr_session_t pub_ses, sub_ses[VRF_SUBS];
    sb_vr_publisher_t pub;
    sb_vr_subscriber_t subs[VRF_SUBS];
    sb_vr_sub_stream_t ss[VRF_SUBS];
    bool used[VRF_SUBS];
    sb_media_stream_t neg; /* the publisher's stream, as the core negotiated it */
    uint16_t seq[SB_MEDIA_MAX_LAYERS], picid[SB_MEDIA_MAX_LAYERS];
    uint32_t ts[SB_MEDIA_MAX_LAYERS];
    uint8_t tl0[SB_MEDIA_MAX_LAYERS];
    struct {
        sb_loop_fn_t fn;
        void *arg;
    } queue[VRF_LOOPS][VRF_QUEUE];
    unsigned head[VRF_LOOPS], tail[VRF_LOOPS];
} vrf;

/* ---- what the rest of the plugin would provide ----------------------------------------------- */

const sb_core_api_t *sb_vr_core;

void sb_vr_publisher_ref(sb_vr_publisher_t *p)
{
    sb_refcount_inc(&p->ref);
}

void sb_vr_publisher_unref(sb_vr_publisher_t *p)
{
    if (p)
        assert_false(sb_refcount_dec(&p->ref)); /* the test's own reference stays */
}

void sb_vr_subscriber_ref(sb_vr_subscriber_t *s)
{
    sb_refcount_inc(&s->ref);
}

void sb_vr_subscriber_unref(sb_vr_subscriber_t *s)
{
    if (s)
        assert_false(sb_refcount_dec(&s->ref));
}

void sb_vr_session_unref(sb_vr_session_t *s)
{
    if (s)
        assert_false(sb_refcount_dec(&s->ref));
}

void sb_vr_defer(void (*fn)(void *arg), void *arg, void (*done)(void *arg))
{
    fn(arg);
    done(arg);
}

/* The plugin's push_event (span.c routes its own handles' events): the core's here. */
void sb_vr_push_event(sb_plugin_handle_t *h, const char *transaction, json_t *data,
                      json_t *jsep)
{
    sb_vr_core->push_event(h, transaction, data, jsep);
}

void sb_vr_publisher_talking(sb_vr_publisher_t *p, unsigned stream, bool talking, unsigned avg)
{
    (void)p;
    (void)stream;
    (void)talking;
    (void)avg;
}

/* ---- the fake core ------------------------------------------------------------------------------
 */

static int vrf_sub_of(const sb_plugin_handle_t *h)
{
    for (int i = 0; i < VRF_SUBS; i++) {
        if (h == &vrf.sub_h[i])
            return i;
    }
    return -1;
}

static int vrf_push_event(sb_plugin_handle_t *h, const char *transaction, json_t *data,
                          json_t *jsep)
{
    (void)h;
    (void)transaction;
    (void)jsep;
    json_t *s = json_object_get(data, "substream"), *t = json_object_get(data, "temporal");
    if (s)
        vrf_log.last_substream = (int)json_integer_value(s);
    if (t)
        vrf_log.last_temporal = (int)json_integer_value(t);
    vrf_log.events++;
    return 0;
}

/* Forward_rtp's contract (plugin.h): the copy has src's length and src's bytes past the RTP
 * header and the first 8 payload bytes. */
static bool vrf_contract_ok(const uint8_t *buf, size_t len, const sb_rtp_packet_t *src)
{
    size_t keep = src->rtp.header_len + 8;
    return len == src->len && (len <= keep || !memcmp(buf + keep, src->data + keep, len - keep));
}

static int vrf_record(sb_plugin_handle_t *h, unsigned stream, const uint8_t *buf, size_t len,
                      const sb_rtp_packet_t *src)
{
    sb_rtp_view_t v;
    assert_int_equal(sb_rtp_parse(buf, len, &v), 0);
    assert_true(vrf_log.nsent < VRF_SENT_MAX);
    vrf_sent_t *s = &vrf_log.sent[vrf_log.nsent++];
    *s = (vrf_sent_t){.sub = vrf_sub_of(h),
                      .stream = stream,
                      .seq = v.seq,
                      .ts = v.timestamp,
                      .ssrc = v.ssrc,
                      .pt = v.pt,
                      .marker = v.marker,
                      .src_tid = -1,
                      .contract_ok = true};
    if (src) {
        sb_vp8_desc_t d;
        s->src_layer = src->layer;
        s->src_seq = src->rtp.seq;
        s->src_keyframe = src->keyframe;
        if (sb_vp8_parse(src->rtp.payload, src->rtp.payload_len, &d) == 0 && d.has_tid)
            s->src_tid = d.tid;
        s->contract_ok = vrf_contract_ok(buf, len, src);
    }
    return 0;
}

static int vrf_forward_rtp(sb_plugin_handle_t *h, unsigned stream, uint8_t *buf, size_t len,
                           size_t cap, const sb_rtp_packet_t *src)
{
    assert_non_null(src);
    assert_true(cap >= len);
    return vrf_record(h, stream, buf, len, src);
}

static int vrf_send_rtp(sb_plugin_handle_t *h, unsigned stream, const uint8_t *data, size_t len)
{
    return vrf_record(h, stream, data, len, NULL);
}

static void vrf_request_keyframe(sb_plugin_handle_t *h, unsigned stream, unsigned layer)
{
    assert_ptr_equal(h, &vrf.pub_h); /* only the publisher is asked */
    if (vrf_log.nkf < sizeof(vrf_log.kf) / sizeof(vrf_log.kf[0]))
        vrf_log.kf[vrf_log.nkf++] = (vrf_kf_req_t){stream, layer};
}

/* A retained packet: the descriptor and its own copy of the bytes, in one block. */
typedef struct vrf_retained {
    sb_rtp_packet_t pkt; /* first: what the plugin holds */
    uint8_t data[2048];
} vrf_retained_t;

static sb_rtp_packet_t *vrf_packet_retain(const sb_rtp_packet_t *pkt)
{
    assert_true(pkt->len <= sizeof(((vrf_retained_t *)0)->data));
    vrf_retained_t *r = g_new(vrf_retained_t, 1);
    r->pkt = *pkt;
    memcpy(r->data, pkt->data, pkt->len);
    r->pkt.data = r->data;
    r->pkt.stream = NULL; /* the receiving loop's, as the core does */
    assert_int_equal(sb_rtp_parse(r->data, pkt->len, &r->pkt.rtp), 0);
    vrf_log.retained++;
    return &r->pkt;
}

static void vrf_packet_release(sb_rtp_packet_t *pkt)
{
    vrf_log.retained--;
    g_free(pkt);
}

static int vrf_loop_post(int loop, sb_loop_fn_t fn, void *arg)
{
    if (loop < 0 || loop >= VRF_LOOPS)
        return SB_EINVAL;
    unsigned *t = &vrf.tail[loop];
    assert_true(*t - vrf.head[loop] < VRF_QUEUE);
    vrf.queue[loop][*t % VRF_QUEUE].fn = fn;
    vrf.queue[loop][*t % VRF_QUEUE].arg = arg;
    (*t)++;
    return 0;
}

static void vrf_log_line(int level, const char *module, const char *line)
{
    (void)level;
    (void)module;
    (void)line;
}

static const int vrf_log_level = SB_LOG_ERROR;

static const sb_core_api_t vrf_core = {
    .abi_major = SB_PLUGIN_ABI_MAJOR,
    .abi_minor = SB_PLUGIN_ABI_MINOR,
    .size = sizeof(sb_core_api_t),
    .push_event = vrf_push_event,
    .loop_post = vrf_loop_post,
    .send_rtp = vrf_send_rtp,
    .forward_rtp = vrf_forward_rtp,
    .packet_retain = vrf_packet_retain,
    .packet_release = vrf_packet_release,
    .request_keyframe = vrf_request_keyframe,
    .log_level = &vrf_log_level,
    .log_line = vrf_log_line,
};

/* ---- loops -------------------------------------------------------------------------------------
 */

void vrf_run_loop(unsigned i)
{
    assert_true(i < VRF_LOOPS);
    while (vrf.head[i] != vrf.tail[i]) {
        unsigned k = vrf.head[i]++ % VRF_QUEUE;
        vrf.queue[i][k].fn(vrf.queue[i][k].arg);
    }
}

/* The home loop's context, where relay.c attaches its flush source: relay.c keeps that source
 * per thread for the thread's life, so one context serves every test. */
static GMainContext *vrf_ctx;

void vrf_loop_iteration(void)
{
    g_main_context_iteration(vrf_ctx, FALSE);
}

static void vrf_run_all(void)
{
    while (vrf.head[0] != vrf.tail[0] || vrf.head[1] != vrf.tail[1]) {
        for (unsigned i = 0; i < VRF_LOOPS; i++)
            vrf_run_loop(i);
    }
}

/* ---- the graph
 * ------------------------------------------------------------------------------------ */

void vrf_global_setup(void)
{
    vrf_ctx = g_main_context_new();
    g_main_context_push_thread_default(vrf_ctx);
    sb_vr_core = &vrf_core;
    sb_sdk_bind(&vrf_core);
}

void vrf_global_teardown(void)
{
    sb_vr_relays_loop_stop(); /* deinit's, on every "loop": this thread */
    g_main_context_pop_thread_default(vrf_ctx);
    g_main_context_unref(vrf_ctx);
}

void vrf_setup(unsigned layers)
{
    memset(&vrf, 0, sizeof(vrf));
    memset(&vrf_log, 0, sizeof(vrf_log));
    vrf_log.last_substream = vrf_log.last_temporal = -1;
    sb_refcount_init(&vrf.room.ref);
    vrf.room.o.room = 1234;
    vrf.neg = (sb_media_stream_t){.index = 0,
                                  .mid = "0",
                                  .kind = SB_MEDIA_VIDEO,
                                  .active = true,
                                  .recv = true,
                                  .pt = 96,
                                  .codec = "VP8",
                                  .clock_rate = 90000,
                                  .layers = layers,
                                  .rid = {"q", "h", "f"}};
    sb_vr_publisher_t *p = &vrf.pub;
    sb_refcount_init(&p->ref);
    p->room = &vrf.room;
    p->session = &vrf.pub_ses;
    p->h = &vrf.pub_h;
    p->pc_loop = 0;
    p->nstreams = 1;
    p->streams[0].neg = vrf.neg;
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        p->streams[i].loop.fan.pub = p;
        p->streams[i].loop.fan.index = i;
    }
    sb_refcount_init(&vrf.pub_ses.ref);
    vrf.pub_ses.h = &vrf.pub_h;
    vrf.pub_ses.role = SB_VR_ROLE_PUBLISHER;
    vrf.pub_ses.pub = p;
    vrf.pub_ses.loop = 0;
    sb_vr_fwd_pub_attach(p);
    vrf_run_loop(0);
    assert_ptr_equal(vrf.pub_ses.loop_pub, p);
}

static void vrf_sub_init(unsigned i, int loop, int substream, int temporal)
{
    sb_vr_subscriber_t *s = &vrf.subs[i];
    sb_refcount_init(&s->ref);
    s->room = &vrf.room;
    s->session = &vrf.sub_ses[i];
    s->h = &vrf.sub_h[i];
    s->pc_loop = loop;
    s->nstreams = 1;
    s->data_index = -1;
    s->streams[0] = &vrf.ss[i];
    sb_refcount_init(&vrf.sub_ses[i].ref);
    vrf.sub_ses[i].h = &vrf.sub_h[i];
    vrf.sub_ses[i].role = SB_VR_ROLE_SUBSCRIBER;
    vrf.sub_ses[i].sub = s;
    vrf.sub_ses[i].loop = loop;
    vrf.ss[i] = (sb_vr_sub_stream_t){.mid = "0",
                                     .kind = SB_MEDIA_VIDEO,
                                     .feed = &vrf.pub,
                                     .used = true,
                                     .send = true,
                                     .substream = substream,
                                     .temporal = temporal,
                                     .spatial_layer = -1,
                                     .temporal_layer = -1,
                                     .max_substream = -1,
                                     .max_temporal = -1,
                                     .ready = true,
                                     .src = vrf.neg};
    /* As sb_vr_sub_add_streams makes a fresh m-line. */
    vrf.ss[i].loop.owner = s;
    vrf.ss[i].loop.max_layer = vrf.ss[i].loop.max_temporal = -1;
}

void vrf_add_sub(unsigned i, int loop, int substream, int temporal)
{
    assert_true(i < VRF_SUBS && !vrf.used[i] && loop >= 0 && loop < VRF_LOOPS);
    vrf.used[i] = true;
    vrf_sub_init(i, loop, substream, temporal);
    sb_vr_subscriber_t *s = &vrf.subs[i];
    const sb_media_stream_t neg = {.index = 0,
                                   .mid = "0",
                                   .kind = SB_MEDIA_VIDEO,
                                   .active = true,
                                   .send = true,
                                   .pt = 100,
                                   .codec = "VP8",
                                   .clock_rate = 90000,
                                   .layers = 1,
                                   .local_ssrc = 0x5000u + i,
                                   .fb_nack = true,
                                   .fb_pli = true};
    /* As subscriber.c does once the m-line is negotiated and bound. */
    sb_vr_fwd_sub_attach(s, &neg, 1);
    sb_vr_fwd_bind(s, 0);
    vrf_run_all();
    assert_ptr_equal(vrf.sub_ses[i].loop_sub, s);
    assert_non_null(vrf.ss[i].loop.src);
    /* Its PeerConnection comes up (the core calls setup_media on its loop). */
    sb_vr_fwd_media_up(&vrf.sub_ses[i]);
    vrf_run_all();
}

void vrf_configure(unsigned i, int substream, int temporal)
{
    vrf.ss[i].substream = substream;
    vrf.ss[i].temporal = temporal;
    sb_vr_fwd_sub_config(&vrf.subs[i], 0);
    vrf_run_all();
}

void vrf_teardown(void)
{
    for (unsigned i = 0; i < VRF_SUBS; i++) {
        if (vrf.used[i])
            sb_vr_fwd_sub_detach(&vrf.subs[i]);
    }
    sb_vr_fwd_pub_detach(&vrf.pub);
    vrf_run_all();
    vrf_loop_iteration(); /* the flush list lets go of the publisher */
    vrf_run_all();
    assert_int_equal(vrf_log.retained, 0);
    /* Every reference the graph took is given back: only the test's own is left. */
    assert_int_equal(atomic_load(&vrf.pub.ref.count), 1);
    for (unsigned i = 0; i < VRF_SUBS; i++)
        assert_int_equal(atomic_load(&vrf.subs[i].ref.count), vrf.used[i] ? 1 : 0);
    assert_null(vrf.pub_ses.loop_pub);
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_free(vrf.pub.streams[i].loop.fan.subs);
        sb_free(vrf.pub.streams[i].loop.relays);
        sb_free(vrf.pub.streams[i].loop.local);
        sb_free(vrf.pub.streams[i].relays);
    }
}

/* ---- the publisher's packets
 * ---------------------------------------------------------------------- */

/* A VP8 payload (RFC 7741): descriptor with a 15-bit picture id and, with tid >= 0, TL0PICIDX
 * and the temporal layer index; then the frame tag (and a keyframe's start code and size). */
static size_t vrf_vp8_payload(unsigned layer, int tid, bool keyframe, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 0x90; /* X, S, PID 0 */
    out[n++] = (uint8_t)(0x80 | (tid >= 0 ? 0x60 : 0));
    uint16_t picid = vrf.picid[layer]++;
    out[n++] = (uint8_t)(0x80 | ((picid >> 8) & 0x7f));
    out[n++] = (uint8_t)picid;
    if (tid >= 0) {
        if (tid == 0)
            vrf.tl0[layer]++;
        out[n++] = vrf.tl0[layer];
        out[n++] = (uint8_t)(tid << 6);
    }
    const uint8_t key[10] = {0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
    const uint8_t delta[3] = {0x01, 0x00, 0x00};
    memcpy(out + n, keyframe ? key : delta, keyframe ? sizeof(key) : sizeof(delta));
    n += keyframe ? sizeof(key) : sizeof(delta);
    for (; n < VRF_PAYLOAD; n++)
        out[n] = (uint8_t)(n * 13 + layer);
    return n;
}

uint16_t vrf_publish(unsigned layer, int tid, bool keyframe)
{
    assert_true(layer < SB_MEDIA_MAX_LAYERS);
    uint8_t buf[256];
    uint16_t seq = vrf.seq[layer]++;
    vrf.ts[layer] += 3000; /* one frame per packet, 30 fps */
    sb_rtp_header_t h = {.marker = true,
                         .pt = 96,
                         .seq = seq,
                         .timestamp = vrf.ts[layer] + 0x10000000u * layer,
                         .ssrc = VRF_PUB_SSRC + layer};
    int hl = sb_rtp_write_header(buf, sizeof(buf), &h);
    assert_true(hl > 0);
    size_t len = (size_t)hl + vrf_vp8_payload(layer, tid, keyframe, buf + hl);
    sb_rtp_packet_t pkt = {.stream = &vrf.neg,
                           .layer = layer,
                           .keyframe = keyframe,
                           .audio_level = -1,
                           .arrival_us = sb_now_us(),
                           .data = buf,
                           .len = len,
                           .core_buf = buf};
    assert_int_equal(sb_rtp_parse(buf, len, &pkt.rtp), 0);
    assert_int_equal(sb_codec_is_keyframe(SB_CODEC_VP8, pkt.rtp.payload, pkt.rtp.payload_len),
                     keyframe);
    sb_vr_fwd_on_rtp(&vrf.pub_ses, &pkt);
    return seq;
}

unsigned vrf_sent_to(unsigned i, const vrf_sent_t **out, unsigned max)
{
    unsigned n = 0;
    for (unsigned k = 0; k < vrf_log.nsent && n < max; k++) {
        if (vrf_log.sent[k].sub == (int)i)
            out[n++] = &vrf_log.sent[k];
    }
    return n;
}

uint64_t vrf_refused(unsigned i)
{
    return vrf.ss[i].loop.dropped;
}
