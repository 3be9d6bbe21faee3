/* EchoTest with a simulcast caller: one of its layers comes back as one stream, as the
 * reference plugin does. The layer and its temporal layers are the caller's choice
 * ({"substream":N,"temporal":N}; the top ones by default); a layer that stops is replaced by
 * the nearest one that flows. A switch happens at a keyframe of the new layer (asked for, at
 * most every 500 ms); sequence numbers, timestamps and VP8 picture ids continue across it.
 * Each change is announced as {"echotest":"event","videocodec":C,"substream"|"temporal":N}.
 * Loop thread only, but for the targets (atomics set by the message thread). */
#include <ctype.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/id.h"
#include "switchboard/time.h"
#include "echotest.h"
#include "switchboard/codec.h"
#include "switchboard/rtp.h"

#define SB_ECHOTEST_KF_INTERVAL_US 500000

static sb_echotest_layers_t *sb_echotest_layers_get(sb_echotest_session_t *s,
                                                    const sb_media_stream_t *st)
{
    if (st->index >= SB_MEDIA_MAX_STREAMS)
        return NULL;
    sb_echotest_layers_t *l = s->layers[st->index];
    if (l)
        return l;
    l = SB_NEW(sb_echotest_layers_t);
    l->cur = -1;
    uint32_t first[2]; /* our own first sequence number and timestamp (RFC 3550 5.1) */
    sb_random_bytes(first, sizeof(first));
    sb_seq_rewrite_init(&l->rw, st->clock_rate ? st->clock_rate : 90000, (uint16_t)first[0],
                        first[1]);
    s->layers[st->index] = l;
    return l;
}

/* {"echotest":"event","videocodec":"vp8","substream":N} or "temporal", once per change. */
static void sb_echotest_announce(const sb_core_api_t *core, sb_plugin_handle_t *h,
                                 sb_echotest_layers_t *l, const sb_media_stream_t *st,
                                 const char *what, int value)
{
    int8_t *seen = what[0] == 's' ? &l->ev_substream : &l->ev_temporal;
    if (*seen == value + 1)
        return;
    *seen = (int8_t)(value + 1);
    char codec[sizeof(st->codec)];
    size_t i;
    for (i = 0; st->codec[i] && i + 1 < sizeof(codec); i++)
        codec[i] = (char)tolower((unsigned char)st->codec[i]);
    codec[i] = '\0';
    json_t *ev =
        json_pack("{s:s, s:s, s:i}", "echotest", "event", "videocodec", codec, what, value);
    core->push_event(h, NULL, ev, NULL);
    json_decref(ev);
}

void sb_echotest_simulcast_rtp(const sb_core_api_t *core, sb_plugin_handle_t *h,
                               sb_echotest_session_t *s, sb_rtp_packet_t *pkt)
{
    const sb_media_stream_t *st = pkt->stream;
    sb_echotest_layers_t *l = sb_echotest_layers_get(s, st);
    if (!l || pkt->layer >= SB_MEDIA_MAX_LAYERS)
        return;
    int64_t now = pkt->arrival_us ? pkt->arrival_us : sb_now_us();
    l->last_us[pkt->layer] = now;
    int want = sb_simulcast_pick(l->last_us, st->layers, atomic_load(&s->substream), now);
    bool switched = false;
    if (want >= 0 && want != l->cur) {
        if ((int)pkt->layer == want && pkt->keyframe && !pkt->retransmission) {
            l->cur = want;
            switched = true;
            atomic_store(&s->echoed, want);
            sb_echotest_announce(core, h, l, st, "substream", want);
        } else if (now - l->last_kf_req_us >= SB_ECHOTEST_KF_INTERVAL_US) {
            l->last_kf_req_us = now;
            core->request_keyframe(h, st->index, (unsigned)want);
        }
    }
    if ((int)pkt->layer != l->cur)
        return;
    uint32_t source = pkt->rtp.ssrc;
    if (l->codec_pt != st->pt) { /* the first packet, and again after a renegotiation */
        l->codec_pt = st->pt;
        l->is_vp8 = sb_codec_from_name(st->codec) == SB_CODEC_VP8;
    }
    bool vp8 = l->is_vp8;
    sb_vp8_desc_t d;
    if (vp8 && pkt->rtp.payload_len &&
        sb_vp8_parse(pkt->rtp.payload, pkt->rtp.payload_len, &d) == 0 && d.has_tid) {
        int temporal = atomic_load(&s->temporal);
        sb_echotest_announce(core, h, l, st, "temporal", temporal);
        if (d.tid > temporal) {
            sb_seq_rewrite_drop(&l->rw, pkt->rtp.seq, source);
            return;
        }
    }
    uint16_t seq;
    uint32_t ts;
    if (sb_seq_rewrite_process(&l->rw, pkt->rtp.seq, pkt->rtp.timestamp, source, switched, now,
                               &seq, &ts) < 0)
        return;
    sb_rtp_set_ssrc(pkt->data, st->local_ssrc);
    sb_rtp_set_seq(pkt->data, seq);
    sb_rtp_set_timestamp(pkt->data, ts);
    if (vp8 && pkt->rtp.payload_len)
        sb_vp8_renumber(&l->vp8, pkt->data + pkt->rtp.header_len, pkt->rtp.payload_len, switched);
    core->forward_rtp(h, st->index, pkt->data, pkt->len, pkt->len, pkt);
}

unsigned sb_echotest_simulcast_layer(const sb_echotest_session_t *s, unsigned stream)
{
    const sb_echotest_layers_t *l = stream < SB_MEDIA_MAX_STREAMS ? s->layers[stream] : NULL;
    return l && l->cur > 0 ? (unsigned)l->cur : 0;
}

void sb_echotest_simulcast_reset(sb_echotest_session_t *s)
{
    for (unsigned i = 0; i < SB_MEDIA_MAX_STREAMS; i++) {
        sb_free(s->layers[i]);
        s->layers[i] = NULL;
    }
    atomic_store(&s->echoed, -1);
}
