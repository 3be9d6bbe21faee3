/* Negotiation results ↔ plugin stream views (see peer_streams.h). */
#include "session/peer_streams.h"

#include <stdio.h>
#include <string.h>

#include "switchboard/error.h"
#include "switchboard/id.h"

static uint32_t sb_peer_streams_ssrc(void)
{
    uint32_t v;
    do {
        sb_random_bytes(&v, sizeof(v));
    } while (v == 0);
    return v;
}

/* Simulcast layers come lowest first. rid names that say their size (l/m/h, q/h/f) are
 * ordered by it; otherwise a=simulcast order is taken as highest first, as JSEP's examples
 * and janus.js write it. */
static int sb_peer_rid_rank(const char *rid)
{
    static const char *const order[] = {"l", "q", "low", "m", "mid", "h", "f", "high", "full"};
    static const int rank[] = {0, 0, 0, 1, 1, 2, 2, 2, 2};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (!strcmp(rid, order[i]))
            return rank[i];
    }
    return -1;
}

static void sb_peer_streams_layers(const sb_negotiate_media_t *nm, sb_media_stream_t *s)
{
    const char *rids[SB_MEDIA_MAX_LAYERS];
    unsigned n = 0;
    for (size_t i = 0; i < nm->n_rids && n < SB_MEDIA_MAX_LAYERS; i++) {
        if (nm->rids[i].recv && !nm->rids[i].paused)
            rids[n++] = nm->rids[i].id;
    }
    if (n > 0) {
        bool named = true;
        for (unsigned i = 0; i < n; i++)
            named = named && sb_peer_rid_rank(rids[i]) >= 0;
        for (unsigned i = 0; i < n; i++) {
            unsigned slot = n - 1 - i; /* highest first → lowest first */
            if (named) {
                slot = 0;
                for (unsigned k = 0; k < n; k++)
                    slot += sb_peer_rid_rank(rids[k]) < sb_peer_rid_rank(rids[i]);
            }
            snprintf(s->rid[slot], sizeof(s->rid[slot]), "%s", rids[i]);
        }
        s->layers = n;
        return;
    }
    if (nm->n_sim > 1) {
        for (size_t i = 0; i < nm->n_sim && i < SB_MEDIA_MAX_LAYERS; i++) {
            s->remote_ssrc[i] = nm->sim_ssrc[i];
            s->remote_rtx_ssrc[i] = nm->sim_rtx_ssrc[i];
        }
        s->layers = nm->n_sim < SB_MEDIA_MAX_LAYERS ? (unsigned)nm->n_sim : SB_MEDIA_MAX_LAYERS;
        return;
    }
    s->layers = 1;
    s->remote_ssrc[0] = nm->ssrc;
    s->remote_rtx_ssrc[0] = nm->rtx_ssrc;
}

unsigned sb_peer_streams_from_result(const sb_negotiate_result_t *res, sb_media_stream_t *out,
                                     unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < res->n_media && n < max; i++) {
        const sb_negotiate_media_t *nm = &res->media[i];
        sb_media_stream_t *s = &out[n++];
        memset(s, 0, sizeof(*s));
        s->index = nm->index;
        snprintf(s->mid, sizeof(s->mid), "%s", nm->mid);
        s->kind = nm->kind == SB_SDP_KIND_VIDEO         ? SB_MEDIA_VIDEO
                  : nm->kind == SB_SDP_KIND_APPLICATION ? SB_MEDIA_DATA
                                                        : SB_MEDIA_AUDIO;
        if (nm->kind == SB_SDP_KIND_APPLICATION) { /* no RTP: recv and send stay false */
            s->active = nm->accepted;
            continue;
        }
        s->active = nm->accepted && nm->pt >= 0 && nm->dir != SB_SDP_DIR_INACTIVE &&
                    (nm->kind == SB_SDP_KIND_AUDIO || nm->kind == SB_SDP_KIND_VIDEO);
        s->recv = s->active && (nm->dir == SB_SDP_DIR_RECVONLY || nm->dir == SB_SDP_DIR_SENDRECV);
        s->send = s->active && (nm->dir == SB_SDP_DIR_SENDONLY || nm->dir == SB_SDP_DIR_SENDRECV);
        s->pt = nm->pt >= 0 ? (uint8_t)nm->pt : 0;
        s->rtx_pt = nm->rtx_pt >= 0 ? (uint8_t)nm->rtx_pt : 0;
        s->red_pt = nm->red_pt >= 0 ? (uint8_t)nm->red_pt : 0;
        snprintf(s->codec, sizeof(s->codec), "%s", sb_codec_name(nm->codec));
        s->clock_rate = nm->clock_rate;
        s->channels = nm->channels;
        snprintf(s->fmtp, sizeof(s->fmtp), "%s", nm->fmtp);
        if (s->recv)
            sb_peer_streams_layers(nm, s);
        s->local_ssrc = nm->local_ssrc;
        s->local_rtx_ssrc = nm->local_rtx_ssrc;
        s->ext_mid = nm->ext[SB_HDREXT_MID];
        s->ext_rid = nm->ext[SB_HDREXT_RID];
        s->ext_repaired_rid = nm->ext[SB_HDREXT_REPAIRED_RID];
        s->ext_audio_level = nm->ext[SB_HDREXT_AUDIO_LEVEL];
        s->ext_abs_send_time = nm->ext[SB_HDREXT_ABS_SEND_TIME];
        s->ext_twcc = nm->ext[SB_HDREXT_TWCC];
        s->ext_video_orientation = nm->ext[SB_HDREXT_VIDEO_ORIENTATION];
        s->ext_playout_delay = nm->ext[SB_HDREXT_PLAYOUT_DELAY];
        s->ext_dependency_descriptor = nm->ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR];
        s->fb_nack = nm->fb & SB_NEGOTIATE_FB_NACK;
        s->fb_pli = nm->fb & SB_NEGOTIATE_FB_PLI;
        s->fb_fir = nm->fb & SB_NEGOTIATE_FB_FIR;
        s->fb_remb = nm->fb & SB_NEGOTIATE_FB_REMB;
        s->fb_twcc = nm->fb & SB_NEGOTIATE_FB_TWCC;
    }
    return n;
}

/* Per m-line hook: the plugin's direction wish for the kind, and our SSRCs where we send. */
static const sb_peer_mline_ssrc_t *sb_peer_streams_kept(const sb_peer_mline_ssrc_t *kept,
                                                        unsigned nkept, const char *mid,
                                                        sb_media_kind_t kind)
{
    for (unsigned k = 0; k < nkept; k++) {
        if (!strcmp(kept[k].mid, mid) && kept[k].kind == kind)
            return &kept[k];
    }
    return NULL;
}

static void sb_peer_streams_on_media(void *ctx, const sb_sdp_t *offer, size_t index,
                                     const sb_negotiate_media_t *summary, sb_sdp_dir_t *dir,
                                     sb_negotiate_send_t *send)
{
    (void)offer;
    (void)index;
    const sb_peer_answer_ctx_t *actx = ctx;
    const sb_answer_opts_t *want = actx->want;
    bool video = summary->kind == SB_SDP_KIND_VIDEO;
    bool recv = video ? want->video_recv : want->audio_recv;
    bool snd = video ? want->video_send : want->audio_send;
    *dir = recv && snd ? SB_SDP_DIR_SENDRECV
           : recv      ? SB_SDP_DIR_RECVONLY
           : snd       ? SB_SDP_DIR_SENDONLY
                       : SB_SDP_DIR_INACTIVE;
    if (snd) {
        const sb_peer_mline_ssrc_t *k = sb_peer_streams_kept(
            actx->kept, actx->nkept, summary->mid, video ? SB_MEDIA_VIDEO : SB_MEDIA_AUDIO);
        send->ssrc = k ? k->ssrc : sb_peer_streams_ssrc();
        send->rtx_ssrc = k && k->rtx_ssrc ? k->rtx_ssrc : sb_peer_streams_ssrc();
        send->cname = "switchboard";
        send->msid_stream = "switchboard";
        send->msid_track = video ? "video" : "audio";
    }
}

int sb_peer_streams_answer_opts(const sb_peer_answer_ctx_t *ctx, sb_negotiate_opts_t *opts,
                                sb_negotiate_codec_pref_t *audio, sb_negotiate_codec_pref_t *video,
                                size_t max)
{
    const sb_answer_opts_t *want = ctx->want;
    if (want->audio_codecs) {
        int n = sb_negotiate_prefs_parse(want->audio_codecs, audio, max);
        if (n <= 0)
            return SB_EINVAL;
        opts->audio = audio;
        opts->n_audio = (size_t)n;
    }
    if (want->video_codecs) {
        int n = sb_negotiate_prefs_parse(want->video_codecs, video, max);
        if (n <= 0)
            return SB_EINVAL;
        opts->video = video;
        opts->n_video = (size_t)n;
    }
    /* Transport-wide CC is accepted: we send its feedback (peer_cc.c), which a browser's
     * estimator needs, and number what we send for our own. abs-send-time is left out
     * (no receive-side estimation here; and aiortc 1.4 maps ids per transport and breaks
     * when audio and video reuse an id). */
    opts->ext_allow &= ~SB_HDREXT_BIT(SB_HDREXT_ABS_SEND_TIME);
    /* We answer actpass with passive: as DTLS server we pick the SRTP profile, and we
     * prefer AEAD_AES_128_GCM (Chromium, as server, would pick its own first choice,
     * AES-CM). Early ClientHellos are kept and answered once ICE selects a pair, so
     * this costs no join time. */
    opts->actpass_answer = SB_SDP_SETUP_PASSIVE;
    /* Two-byte header extensions when the client offers them (extmap-allow-mixed): the AV1
     * dependency descriptor needs them, over 16 bytes with its template structure. */
    opts->allow_mixed = true;
    opts->red = want->audio_red;
    opts->on_media = sb_peer_streams_on_media;
    opts->ctx = (void *)ctx;
    return 0;
}

unsigned sb_peer_streams_keep_ssrcs(const sb_media_stream_t *streams, unsigned n,
                                    sb_peer_mline_ssrc_t *kept, unsigned nkept, unsigned max)
{
    for (unsigned i = 0; i < n; i++) {
        const sb_media_stream_t *s = &streams[i];
        if (!s->send || !s->local_ssrc)
            continue;
        unsigned k = 0;
        while (k < nkept && strcmp(kept[k].mid, s->mid) != 0)
            k++;
        if (k == nkept) {
            if (nkept == max)
                continue; /* no room: this m-line would get new SSRCs when re-offered */
            nkept++;
        }
        snprintf(kept[k].mid, sizeof(kept[k].mid), "%s", s->mid);
        kept[k].kind = s->kind;
        kept[k].ssrc = s->local_ssrc;
        kept[k].rtx_ssrc = s->local_rtx_ssrc;
    }
    return nkept;
}


unsigned sb_peer_streams_offer(const sb_offer_stream_t *in, unsigned n,
                               const sb_peer_mline_ssrc_t *kept, unsigned nkept,
                               uint32_t max_message_size, sb_negotiate_stream_t *out,
                               char mids[][12])
{
    for (unsigned i = 0; i < n; i++) {
        const sb_offer_stream_t *o = &in[i];
        sb_negotiate_stream_t *s = &out[i];
        memset(s, 0, sizeof(*s));
        s->kind = o->kind == SB_MEDIA_VIDEO  ? SB_SDP_KIND_VIDEO
                  : o->kind == SB_MEDIA_DATA ? SB_SDP_KIND_APPLICATION
                                             : SB_SDP_KIND_AUDIO;
        if (o->mid) {
            s->mid = o->mid;
        } else {
            snprintf(mids[i], 12, "%u", i % 1000);
            s->mid = mids[i];
        }
        if (o->kind == SB_MEDIA_DATA) {
            s->disabled = !o->active;
            s->max_message_size = max_message_size;
            continue;
        }
        s->dir = o->active ? SB_SDP_DIR_SENDONLY : SB_SDP_DIR_INACTIVE;
        s->codec = sb_codec_from_name(o->codec);
        s->pt = o->pt;
        s->fmtp = o->fmtp;
        s->rtx_pt = o->kind == SB_MEDIA_VIDEO ? o->rtx_pt : 0;
        s->red_pt = o->kind == SB_MEDIA_AUDIO ? o->red_pt : 0;
        s->cname = "switchboard";
        s->msid_stream = o->msid_stream;
        s->msid_track = o->msid_track;
        /* Only the extensions the core writes itself: transport-wide CC, our own sequence
         * number on everything we send, for our estimator (peer_cc.c). A forwarder maps
         * the publisher's other ids to ours, or erases them. */
        s->ext[SB_HDREXT_TWCC] = SB_PEER_STREAMS_TWCC_ID;
        /* AV1: the publisher's dependency descriptor is forwarded (frame numbers and the
         * layer structure; a receiver that negotiated it needs it to assemble scalable
         * AV1). */
        if (s->codec == SB_CODEC_AV1)
            s->ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR] = SB_PEER_STREAMS_DD_ID;
        s->fb = SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI | SB_NEGOTIATE_FB_FIR |
                SB_NEGOTIATE_FB_TWCC;
        const sb_peer_mline_ssrc_t *k = sb_peer_streams_kept(kept, nkept, s->mid, o->kind);
        s->ssrc = k ? k->ssrc : sb_peer_streams_ssrc();
        s->rtx_ssrc = k && k->rtx_ssrc ? k->rtx_ssrc : s->rtx_pt ? sb_peer_streams_ssrc() : 0;
    }
    return n;
}
