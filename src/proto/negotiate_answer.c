/* Answering a client's offer (RFC 8829 section 5.3.1, as an SFU): pass 1 decides per m-line
 * whether it can be accepted and with which codec; then the BUNDLE transport is chosen and
 * m-lines outside it are rejected; pass 2 negotiates the rest of each accepted m-line
 * (extensions, RTX, rtcp-fb, remote SSRCs, rids, direction through the caller's hook) and
 * writes it into the answer. Rejected m-lines stay in place with port 0.
 *
 * Does not keep state across negotiations (renegotiation is a new offer answered the same
 * way) and does not touch ICE or DTLS: it only describes them.
 *
 * Thread: any; the caller's hook runs on the calling thread. */
#include <string.h>

#include "switchboard/error.h"
#include "base/log.h"
#include "proto/negotiate.h"
#include "proto/negotiate_internal.h"
#include "proto/sdp_internal.h"

/* State of one sb_negotiate_answer() call; on its stack. */
typedef struct sb_negotiate_answerer {
    const sb_sdp_t *offer;
    const sb_negotiate_opts_t *opts;
    sb_negotiate_result_t *r;
    sb_sdp_t *ans;
    int chosen[SB_SDP_MAX_MEDIA]; /* index of the chosen format, per m-line */
    size_t tag;                   /* m-line carrying the transport */
} sb_negotiate_answerer_t;

/* Pass 1: NULL when the m-line can be accepted (with *fmt chosen), else why not. */
static const char *sb_negotiate_check(const sb_negotiate_opts_t *o, const sb_sdp_media_t *m,
                                      int *fmt)
{
    *fmt = -1;
    if (m->port == 0 && !m->bundle_only)
        return "disabled in the offer";
    if (m->kind == SB_SDP_KIND_APPLICATION)
        return o->data ? sb_negotiate_data_check(m) : "data channels are not supported";
    if (m->kind != SB_SDP_KIND_AUDIO && m->kind != SB_SDP_KIND_VIDEO)
        return "unsupported media type";
    if (!m->rtp || !strstr(m->proto, "SAVP"))
        return "only DTLS-SRTP (UDP/TLS/RTP/SAVPF) is supported";
    if (!m->rtcp_mux)
        return "rtcp-mux is required";
    if (m->kind == SB_SDP_KIND_AUDIO)
        *fmt = sb_negotiate_pick(m, o->audio, o->n_audio);
    else
        *fmt = sb_negotiate_pick(m, o->video, o->n_video);
    return *fmt < 0 ? "no common codec" : NULL;
}

static bool sb_negotiate_in_group(const sb_sdp_group_t *g, const char *mid)
{
    for (size_t i = 0; g && mid && i < g->n_mids; i++)
        if (strcmp(g->mids[i], mid) == 0)
            return true;
    return false;
}

static void sb_negotiate_reject(sb_negotiate_media_t *s, const char *why)
{
    s->accepted = false;
    s->reason = why;
}

/* Pick the m-line carrying the transport; reject accepted m-lines that cannot share it. */
static int sb_negotiate_bundle(sb_negotiate_answerer_t *a, char *reason, size_t reason_size)
{
    const sb_sdp_t *offer = a->offer;
    const sb_sdp_group_t *g = sb_sdp_find_group(offer, "BUNDLE");
    int tag = -1;
    for (size_t i = 0; g && i < g->n_mids && tag < 0; i++) {
        const sb_sdp_media_t *m = sb_sdp_find_mid(offer, g->mids[i]);
        if (m && a->r->media[m - offer->media].accepted)
            tag = (int)(m - offer->media);
    }
    for (size_t i = 0; i < offer->n_media; i++) {
        sb_negotiate_media_t *s = &a->r->media[i];
        if (!s->accepted)
            continue;
        if (g && !sb_negotiate_in_group(g, offer->media[i].mid))
            sb_negotiate_reject(s, "not in the BUNDLE group");
        else if (!g && tag >= 0)
            sb_negotiate_reject(s, "BUNDLE is required for more than one m-line");
        else if (!g)
            tag = (int)i;
    }
    if (tag < 0) {
        const char *why = offer->n_media ? a->r->media[0].reason : "no m-line";
        sb_sdp_reason(reason, reason_size, "no acceptable m-line (m-line 0: %s)", why);
        return SB_ENOTSUP;
    }
    a->tag = (size_t)tag;
    return 0;
}

static bool sb_negotiate_ext_id_used(const sb_negotiate_media_t *s, unsigned id)
{
    for (int x = 0; x < SB_HDREXT_COUNT; x++)
        if (s->ext[x] == id)
            return true;
    return false;
}

/* Offered extmaps we allow, media level first, then session level (RFC 8285 section 6). */
static void sb_negotiate_answer_exts(sb_negotiate_answerer_t *a, const sb_sdp_media_t *om,
                                     sb_negotiate_media_t *s, sb_sdp_dir_t dirs[])
{
    const sb_negotiate_opts_t *o = a->opts;
    bool mixed = o->allow_mixed && (a->offer->extmap_allow_mixed || om->extmap_allow_mixed);
    for (int level = 0; level < 2; level++) {
        const sb_sdp_extmap_t *e = level == 0 ? om->extmaps : a->offer->extmaps;
        size_t n = level == 0 ? om->n_extmaps : a->offer->n_extmaps;
        for (size_t i = 0; i < n; i++) {
            int x = sb_negotiate_hdrext_from_uri(e[i].uri);
            if (x < 0 || !(o->ext_allow & SB_HDREXT_BIT(x)) || s->ext[x])
                continue;
            if (x == SB_HDREXT_DEPENDENCY_DESCRIPTOR && s->codec != SB_CODEC_AV1)
                continue;
            /* Ids above 14 need the two-byte header, only usable with allow-mixed. */
            if ((e[i].id > 14 && !mixed) || sb_negotiate_ext_id_used(s, e[i].id))
                continue;
            s->ext[x] = (uint8_t)e[i].id;
            dirs[x] =
                e[i].dir == SB_SDP_DIR_UNSET ? SB_SDP_DIR_UNSET : sb_sdp_dir_reverse(e[i].dir);
        }
    }
}

static bool sb_negotiate_rid_allows(const sb_sdp_rid_t *r, int pt)
{
    char list[128];
    if (!r->params || !sb_negotiate_fmtp_get(r->params, "pt", list, sizeof(list)))
        return true;
    for (char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        char c = p[n];
        p[n] = '\0';
        uint32_t v;
        if (sb_sdp_lex_u32(p, 127, &v) && (int)v == pt)
            return true;
        if (!c)
            break;
        p += n + 1;
    }
    return false;
}

/* rid-based simulcast the client sends (RFC 8853 section 5.3): we receive every layer it
 * lists whose restrictions allow our payload type. */
static void sb_negotiate_answer_rids(const sb_sdp_media_t *om, sb_negotiate_media_t *s)
{
    const sb_sdp_simulcast_t *sc = &om->simulcast;
    for (size_t i = 0; i < sc->n_send; i++) {
        const sb_sdp_rid_t *r = NULL;
        for (size_t j = 0; j < om->n_rids && !r; j++)
            if (om->rids[j].dir == SB_SDP_RID_SEND && strcmp(om->rids[j].id, sc->send[i].rid) == 0)
                r = &om->rids[j];
        if (!r || !sb_negotiate_rid_allows(r, s->pt) || s->n_rids >= SB_SDP_MAX_RIDS)
            continue;
        sb_negotiate_rid_t *out = &s->rids[s->n_rids++];
        sb_negotiate_copy(out->id, sizeof(out->id), r->id);
        out->recv = true;
        out->paused = sc->send[i].paused;
        out->stream = sc->send[i].stream;
    }
    s->simulcast = s->n_rids > 0;
}

/* Pass 2, summary part: everything but the answer text. */
static void sb_negotiate_answer_summary(sb_negotiate_answerer_t *a, size_t i, sb_sdp_dir_t dirs[],
                                        sb_negotiate_send_t *send)
{
    const sb_negotiate_opts_t *o = a->opts;
    const sb_sdp_media_t *om = &a->offer->media[i];
    const sb_sdp_format_t *f = &om->formats[a->chosen[i]];
    sb_negotiate_media_t *s = &a->r->media[i];
    s->pt = f->pt;
    s->codec = sb_codec_from_name(f->encoding);
    s->clock_rate = f->clock_rate;
    s->channels = (uint8_t)f->channels;
    sb_negotiate_copy(s->fmtp, sizeof(s->fmtp), f->fmtp);
    if (om->kind == SB_SDP_KIND_VIDEO && o->rtx)
        s->rtx_pt = sb_negotiate_find_rtx(om, f);
    if (om->kind == SB_SDP_KIND_AUDIO && o->red && s->codec == SB_CODEC_OPUS)
        s->red_pt = sb_negotiate_find_red(om, f);
    s->fb = sb_negotiate_fb_flags(om, f) & o->fb_allow;
    s->rtcp_rsize = om->rtcp_rsize;
    sb_negotiate_answer_exts(a, om, s, dirs);

    sb_sdp_dir_t offered = sb_sdp_media_dir(a->offer, om);
    if (sb_sdp_dir_sends(offered)) {
        sb_negotiate_remote_ssrcs(om, s);
        if (o->simulcast && s->ext[SB_HDREXT_RID])
            sb_negotiate_answer_rids(om, s);
    }
    sb_sdp_dir_t wish = o->dir == SB_SDP_DIR_UNSET ? SB_SDP_DIR_SENDRECV : o->dir;
    s->dir = sb_sdp_dir_and(wish, sb_sdp_dir_reverse(offered));
    if (o->on_media) {
        o->on_media(o->ctx, a->offer, i, s, &wish, send);
        s->dir = sb_sdp_dir_and(wish, sb_sdp_dir_reverse(offered));
    }
    if (!sb_sdp_dir_recvs(s->dir)) {
        s->ssrc = s->rtx_ssrc = 0;
        s->n_sim = 0;
        s->n_rids = 0;
        s->simulcast = false;
    }
}

static sb_sdp_media_t *sb_negotiate_answer_mline(sb_negotiate_answerer_t *a, size_t i,
                                                 uint16_t port)
{
    const sb_sdp_media_t *om = &a->offer->media[i];
    sb_sdp_media_t *am = SB_SDP_PUSH(a->ans, a->ans->media, a->ans->n_media);
    am->kind = om->kind;
    am->media = sb_sdp_strdup(a->ans, om->media);
    am->port = port;
    am->proto = sb_sdp_strdup(a->ans, om->proto);
    am->rtp = om->rtp;
    am->connection = "IN IP4 0.0.0.0";
    sb_negotiate_add_transport(a->ans, am, &a->opts->local, a->r->local_setup, i == a->tag);
    am->mid = sb_sdp_strdup(a->ans, om->mid);
    return am;
}

static void sb_negotiate_answer_rejected(sb_negotiate_answerer_t *a, size_t i)
{
    const sb_sdp_media_t *om = &a->offer->media[i];
    sb_sdp_media_t *am = sb_negotiate_answer_mline(a, i, 0);
    am->dir = SB_SDP_DIR_INACTIVE;
    if (om->rtp) {
        /* A rejected m-line still lists one format (RFC 3264 section 6). */
        sb_sdp_format_t *f = SB_SDP_PUSH(a->ans, am->formats, am->n_formats);
        f->pt = om->n_formats ? om->formats[0].pt : 0;
        am->rtcp_mux = om->rtcp_mux;
    } else {
        am->fmt_text = sb_sdp_strdup(a->ans, om->fmt_text);
    }
}

static void sb_negotiate_answer_data(sb_negotiate_answerer_t *a, size_t i)
{
    sb_negotiate_media_t *s = &a->r->media[i];
    sb_negotiate_data_summary(&a->offer->media[i], s);
    sb_sdp_media_t *am = sb_negotiate_answer_mline(a, i, 9);
    sb_negotiate_data_answer(a->ans, am, s, a->opts->max_message_size);
}

static void sb_negotiate_answer_accepted(sb_negotiate_answerer_t *a, size_t i)
{
    if (a->offer->media[i].kind == SB_SDP_KIND_APPLICATION) {
        sb_negotiate_answer_data(a, i);
        return;
    }
    sb_sdp_dir_t dirs[SB_HDREXT_COUNT] = {0};
    sb_negotiate_send_t send = {0};
    sb_negotiate_media_t *s = &a->r->media[i];
    sb_negotiate_answer_summary(a, i, dirs, &send);

    const sb_sdp_media_t *om = &a->offer->media[i];
    sb_sdp_media_t *am = sb_negotiate_answer_mline(a, i, 9);
    am->extmap_allow_mixed = a->opts->allow_mixed && om->extmap_allow_mixed;
    for (unsigned id = 1; id <= 255; id++)
        for (int x = 0; x < SB_HDREXT_COUNT; x++)
            if (s->ext[x] == id)
                sb_negotiate_add_extmap(a->ans, am, (sb_hdrext_t)x, (uint8_t)id, dirs[x]);
    am->dir = s->dir;
    am->rtcp_mux = true;
    am->rtcp_rsize = om->rtcp_rsize;
    /* RED first: a client sends with the first codec of the answer, RED over Opus when it
     * comes before Opus. */
    if (s->red_pt >= 0)
        sb_negotiate_add_red(a->ans, am, (uint8_t)s->red_pt, (uint8_t)s->pt);
    sb_negotiate_add_format(a->ans, am, (uint8_t)s->pt, s->codec, om->formats[a->chosen[i]].fmtp,
                            s->fb);
    if (s->rtx_pt >= 0)
        sb_negotiate_add_rtx(a->ans, am, (uint8_t)s->rtx_pt, (uint8_t)s->pt);
    if (sb_sdp_dir_sends(s->dir) && send.ssrc) {
        if (sb_negotiate_add_send(a->ans, am, &send, s->rtx_pt >= 0) == 0) {
            s->local_ssrc = send.ssrc;
            s->local_rtx_ssrc = s->rtx_pt >= 0 ? send.rtx_ssrc : 0;
        } else {
            SB_WARN("sdp", "m-line %zu: invalid cname or msid from the hook, not announced", i);
        }
    }
    for (size_t k = 0; k < s->n_rids; k++) {
        sb_sdp_rid_t *r = SB_SDP_PUSH(a->ans, am->rids, am->n_rids);
        r->id = sb_sdp_strdup(a->ans, s->rids[k].id);
        r->dir = SB_SDP_RID_RECV;
        sb_sdp_sim_rid_t *e = SB_SDP_PUSH(a->ans, am->simulcast.recv, am->simulcast.n_recv);
        e->rid = r->id;
        e->stream = s->rids[k].stream;
        e->paused = s->rids[k].paused;
    }
}

/* The remote transport: the one described on our tag m-line. Bundled m-lines share one
 * transport, so when that m-line carries no ICE/DTLS attributes (a bundle-only section, RFC
 * 8843 section 7.2) the offerer's own tagged m-line, first in its group, describes it. */
static int sb_negotiate_answer_transport(sb_negotiate_answerer_t *a, char *reason, size_t size)
{
    int rc = sb_negotiate_transport_at(a->offer, a->tag, &a->r->remote, reason, size);
    const sb_sdp_group_t *g = sb_sdp_find_group(a->offer, "BUNDLE");
    const sb_sdp_media_t *first = g && g->n_mids ? sb_sdp_find_mid(a->offer, g->mids[0]) : NULL;
    if (rc == SB_EPROTO && first && (size_t)(first - a->offer->media) != a->tag)
        rc = sb_negotiate_transport_at(a->offer, (size_t)(first - a->offer->media),
                                       &a->r->remote, reason, size);
    return rc;
}

/* Our DTLS role from the offer's a=setup (RFC 8842 section 5.3). */
static int sb_negotiate_answer_setup(sb_negotiate_answerer_t *a, char *reason, size_t size)
{
    switch (a->r->remote.setup) {
    case SB_SDP_SETUP_ACTPASS:
        a->r->local_setup = a->opts->actpass_answer == SB_SDP_SETUP_PASSIVE ? SB_SDP_SETUP_PASSIVE
                                                                            : SB_SDP_SETUP_ACTIVE;
        return 0;
    case SB_SDP_SETUP_ACTIVE:
    case SB_SDP_SETUP_UNSET: /* RFC 4145 section 4: absent means active */
        a->r->local_setup = SB_SDP_SETUP_PASSIVE;
        return 0;
    case SB_SDP_SETUP_PASSIVE:
        a->r->local_setup = SB_SDP_SETUP_ACTIVE;
        return 0;
    default:
        sb_sdp_reason(reason, size, "a=setup:holdconn is not supported");
        return SB_EPROTO;
    }
}

static void sb_negotiate_answer_build(sb_negotiate_answerer_t *a)
{
    const sb_sdp_group_t *g = sb_sdp_find_group(a->offer, "BUNDLE");
    a->ans = sb_negotiate_sdp_new(&a->opts->local);
    a->ans->extmap_allow_mixed = a->opts->allow_mixed && a->offer->extmap_allow_mixed;
    if (g) {
        sb_sdp_group_t *ag = SB_SDP_PUSH(a->ans, a->ans->groups, a->ans->n_groups);
        ag->semantics = "BUNDLE";
        for (size_t i = 0; i < g->n_mids; i++) {
            const sb_sdp_media_t *m = sb_sdp_find_mid(a->offer, g->mids[i]);
            if (m && a->r->media[m - a->offer->media].accepted)
                *SB_SDP_PUSH(a->ans, ag->mids, ag->n_mids) = sb_sdp_strdup(a->ans, m->mid);
        }
    }
    for (size_t i = 0; i < a->offer->n_media; i++) {
        if (a->r->media[i].accepted)
            sb_negotiate_answer_accepted(a, i);
        else
            sb_negotiate_answer_rejected(a, i);
    }
}

int sb_negotiate_answer(const sb_sdp_t *offer, const sb_negotiate_opts_t *opts,
                        sb_negotiate_result_t **out, char *reason, size_t reason_size)
{
    sb_negotiate_answerer_t a = {.offer = offer, .opts = opts};
    int rc = sb_negotiate_local_check(&opts->local, reason, reason_size);
    *out = NULL;
    if (rc)
        return rc;
    if (offer->n_media > SB_SDP_MAX_MEDIA) {
        sb_sdp_reason(reason, reason_size, "more than %d m-lines", SB_SDP_MAX_MEDIA);
        return SB_EINVAL;
    }
    for (size_t i = 0; i < offer->n_media; i++) {
        if (!offer->media[i].mid) {
            sb_sdp_reason(reason, reason_size, "m-line %zu has no a=mid", i);
            return SB_EPROTO;
        }
    }
    a.r = sb_negotiate_result_new(offer->n_media);
    bool data = false;
    for (size_t i = 0; i < offer->n_media; i++) {
        sb_negotiate_media_t *s = &a.r->media[i];
        sb_negotiate_summary_init(s, &offer->media[i], (unsigned)i);
        s->reason = sb_negotiate_check(opts, &offer->media[i], &a.chosen[i]);
        if (!s->reason && offer->media[i].kind == SB_SDP_KIND_APPLICATION) {
            if (data) /* one SCTP association per PeerConnection */
                s->reason = "only one data channel m-line";
            data = true;
        }
        s->accepted = s->reason == NULL;
    }
    rc = sb_negotiate_bundle(&a, reason, reason_size);
    if (!rc)
        rc = sb_negotiate_answer_transport(&a, reason, reason_size);
    if (!rc)
        rc = sb_negotiate_answer_setup(&a, reason, reason_size);
    if (rc) {
        sb_negotiate_result_free(a.r);
        return rc;
    }
    sb_negotiate_answer_build(&a);
    a.r->answer = a.ans;
    *out = a.r;
    return 0;
}
