/* Offers we make (subscriber legs: streams we send, RFC 8829 section 5.2.1) and the
 * processing of the peer's answer to them (section 5.3.1 seen from the offerer): one codec per
 * m-line, setup actpass, BUNDLE of every enabled m-line, and a summary per m-line in the same
 * shape as when we answer.
 *
 * Does not remember offers: the caller keeps the model sb_negotiate_offer() returned and hands
 * it back with the answer.
 *
 * Thread: any; pure functions over their arguments. */
#include <string.h>

#include "switchboard/error.h"
#include "proto/negotiate.h"
#include "proto/negotiate_internal.h"
#include "proto/sdp_internal.h"

static int sb_negotiate_stream_check(const sb_negotiate_stream_t *st, size_t i,
                                     const sb_negotiate_stream_t *all, char *reason, size_t size)
{
    sb_sdp_kind_t kind;
    uint32_t clock;
    uint16_t ch;
    if (!st->mid || !sb_sdp_lex_token(st->mid) || strlen(st->mid) > SB_SDP_MAX_MID_LEN)
        goto bad_mid;
    for (size_t j = 0; j < i; j++)
        if (strcmp(all[j].mid, st->mid) == 0)
            goto bad_mid;
    if (st->kind == SB_SDP_KIND_APPLICATION)
        return 0;
    if (!sb_negotiate_codec_info(st->codec, &kind, &clock, &ch) || kind != st->kind) {
        sb_sdp_reason(reason, size, "stream %zu: codec does not fit its kind", i);
        return SB_EINVAL;
    }
    if (st->pt > 127 || st->rtx_pt > 127 || (st->rtx_pt && st->rtx_pt == st->pt)) {
        sb_sdp_reason(reason, size, "stream %zu: bad payload type", i);
        return SB_EINVAL;
    }
    for (int x = 0; x < SB_HDREXT_COUNT; x++)
        for (int y = x + 1; y < SB_HDREXT_COUNT; y++)
            if (st->ext[x] && st->ext[x] == st->ext[y]) {
                sb_sdp_reason(reason, size, "stream %zu: extension id %u used twice", i,
                              (unsigned)st->ext[x]);
                return SB_EINVAL;
            }
    return 0;
bad_mid:
    sb_sdp_reason(reason, size, "stream %zu: mid missing, not a token or not unique", i);
    return SB_EINVAL;
}

static int sb_negotiate_offer_media(sb_sdp_t *sdp, const sb_negotiate_local_t *local,
                                    const sb_negotiate_stream_t *st, bool tag)
{
    sb_sdp_media_t *m = SB_SDP_PUSH(sdp, sdp->media, sdp->n_media);
    m->kind = st->kind;
    m->media = sb_sdp_kind_name(st->kind);
    m->port = st->disabled ? 0 : 9;
    if (st->kind == SB_SDP_KIND_APPLICATION) {
        m->connection = "IN IP4 0.0.0.0";
        sb_negotiate_add_transport(sdp, m, local, SB_SDP_SETUP_ACTPASS, tag);
        m->mid = sb_sdp_strdup(sdp, st->mid);
        sb_negotiate_data_offer(sdp, m, st->max_message_size);
        return 0;
    }
    m->proto = "UDP/TLS/RTP/SAVPF";
    m->rtp = true;
    m->connection = "IN IP4 0.0.0.0";
    sb_negotiate_add_transport(sdp, m, local, SB_SDP_SETUP_ACTPASS, tag);
    m->mid = sb_sdp_strdup(sdp, st->mid);
    for (unsigned id = 1; id <= 255; id++)
        for (int x = 0; x < SB_HDREXT_COUNT; x++)
            if (st->ext[x] == id) {
                sb_negotiate_add_extmap(sdp, m, (sb_hdrext_t)x, (uint8_t)id, SB_SDP_DIR_UNSET);
                /* RFC 8285 section 4.3: ids over 14 need the two-byte form; so does the
                 * dependency descriptor, longer than 16 bytes when it carries its template
                 * structure (AV1 RTP spec, appendix A) */
                if (id > 14 || x == SB_HDREXT_DEPENDENCY_DESCRIPTOR)
                    sdp->extmap_allow_mixed = true;
            }
    m->dir = st->disabled                  ? SB_SDP_DIR_INACTIVE
             : st->dir == SB_SDP_DIR_UNSET ? SB_SDP_DIR_SENDONLY
                                           : st->dir;
    m->rtcp_mux = true;
    m->rtcp_rsize = true;
    if (st->red_pt && st->kind == SB_SDP_KIND_AUDIO)
        sb_negotiate_add_red(sdp, m, st->red_pt, st->pt);
    sb_negotiate_add_format(sdp, m, st->pt, st->codec, st->fmtp, st->fb);
    if (st->rtx_pt)
        sb_negotiate_add_rtx(sdp, m, st->rtx_pt, st->pt);
    if (st->disabled || !sb_sdp_dir_sends(m->dir))
        return 0;
    sb_negotiate_send_t send = {.ssrc = st->ssrc,
                                .rtx_ssrc = st->rtx_ssrc,
                                .cname = st->cname,
                                .msid_stream = st->msid_stream,
                                .msid_track = st->msid_track};
    return sb_negotiate_add_send(sdp, m, &send, st->rtx_pt != 0);
}

int sb_negotiate_offer(const sb_negotiate_local_t *local, const sb_negotiate_stream_t *streams,
                       size_t n_streams, sb_sdp_t **out, char *reason, size_t reason_size)
{
    *out = NULL;
    int rc = sb_negotiate_local_check(local, reason, reason_size);
    if (rc)
        return rc;
    if (n_streams == 0 || n_streams > SB_SDP_MAX_MEDIA) {
        sb_sdp_reason(reason, reason_size, "an offer needs 1..%d streams", SB_SDP_MAX_MEDIA);
        return SB_EINVAL;
    }
    for (size_t i = 0; i < n_streams; i++)
        if ((rc = sb_negotiate_stream_check(&streams[i], i, streams, reason, reason_size)))
            return rc;
    sb_sdp_t *sdp = sb_negotiate_sdp_new(local);
    sb_sdp_group_t *g = SB_SDP_PUSH(sdp, sdp->groups, sdp->n_groups);
    g->semantics = "BUNDLE";
    bool tagged = false;
    for (size_t i = 0; i < n_streams; i++) {
        const sb_negotiate_stream_t *st = &streams[i];
        if (!st->disabled)
            *SB_SDP_PUSH(sdp, g->mids, g->n_mids) = sb_sdp_strdup(sdp, st->mid);
        if (sb_negotiate_offer_media(sdp, local, st, !st->disabled && !tagged) != 0) {
            sb_sdp_reason(reason, reason_size, "stream %zu: cname or msid is not a token", i);
            sb_sdp_free(sdp);
            return SB_EINVAL;
        }
        tagged = tagged || !st->disabled;
    }
    *out = sdp;
    return 0;
}

/* ---- the answer to our offer ---- */

/* The answer's format for our payload type: first answered pt we offered with a codec. */
static const sb_sdp_format_t *sb_negotiate_answered(const sb_sdp_media_t *om,
                                                    const sb_sdp_media_t *am,
                                                    const sb_sdp_format_t **ours)
{
    for (size_t i = 0; i < am->n_formats; i++) {
        const sb_sdp_format_t *af = &am->formats[i];
        const sb_sdp_format_t *of = sb_sdp_media_format(om, af->pt);
        sb_sdp_kind_t kind;
        uint32_t clock;
        uint16_t ch;
        if (!of || !sb_negotiate_codec_info(sb_codec_from_name(of->encoding), &kind, &clock, &ch))
            continue;
        if (af->encoding && !sb_sdp_lex_ieq(af->encoding, of->encoding))
            continue;
        *ours = of;
        return af;
    }
    return NULL;
}

static void sb_negotiate_answered_exts(const sb_sdp_t *offer, const sb_sdp_media_t *om,
                                       const sb_sdp_t *answer, const sb_sdp_media_t *am,
                                       sb_negotiate_media_t *s)
{
    for (int level = 0; level < 2; level++) {
        const sb_sdp_extmap_t *e = level == 0 ? am->extmaps : answer->extmaps;
        size_t n = level == 0 ? am->n_extmaps : answer->n_extmaps;
        for (size_t i = 0; i < n; i++) {
            int x = sb_negotiate_hdrext_from_uri(e[i].uri);
            bool offered = false;
            for (size_t j = 0; x >= 0 && j < om->n_extmaps; j++)
                offered = offered || strcmp(om->extmaps[j].uri, e[i].uri) == 0;
            for (size_t j = 0; x >= 0 && j < offer->n_extmaps; j++)
                offered = offered || strcmp(offer->extmaps[j].uri, e[i].uri) == 0;
            if (offered && !s->ext[x])
                s->ext[x] = (uint8_t)e[i].id;
        }
    }
}

/* rid lines of the answer, from our side: its "send" rids we receive, "recv" rids we send. */
static void sb_negotiate_answered_rids(const sb_sdp_media_t *am, sb_negotiate_media_t *s)
{
    for (int d = 0; d < 2; d++) {
        const sb_sdp_sim_rid_t *list = d == 0 ? am->simulcast.send : am->simulcast.recv;
        size_t n = d == 0 ? am->simulcast.n_send : am->simulcast.n_recv;
        bool recv = d == 0;
        if (recv ? !sb_sdp_dir_recvs(s->dir) : !sb_sdp_dir_sends(s->dir))
            continue;
        for (size_t i = 0; i < n && s->n_rids < SB_SDP_MAX_RIDS; i++) {
            sb_negotiate_rid_t *r = &s->rids[s->n_rids++];
            sb_negotiate_copy(r->id, sizeof(r->id), list[i].rid);
            r->recv = recv;
            r->paused = list[i].paused;
            r->stream = list[i].stream;
        }
    }
    s->simulcast = s->n_rids > 0;
}

static void sb_negotiate_answered_media(const sb_sdp_t *offer, const sb_sdp_t *answer, size_t i,
                                        sb_negotiate_media_t *s)
{
    const sb_sdp_media_t *om = &offer->media[i], *am = &answer->media[i];
    const sb_sdp_format_t *of = NULL, *af;
    sb_negotiate_summary_init(s, om, (unsigned)i);
    if (om->port == 0 && !om->bundle_only) {
        s->reason = "disabled in the offer";
        return;
    }
    if (am->port == 0 && !am->bundle_only) {
        s->reason = "rejected by the answerer";
        return;
    }
    if (om->kind == SB_SDP_KIND_APPLICATION) {
        s->reason = sb_negotiate_data_check(am);
        s->accepted = !s->reason;
        if (s->accepted)
            sb_negotiate_data_summary(am, s);
        return;
    }
    if (!(af = sb_negotiate_answered(om, am, &of))) {
        s->reason = "no common codec in the answer";
        return;
    }
    s->accepted = true;
    s->pt = of->pt;
    s->codec = sb_codec_from_name(of->encoding);
    s->clock_rate = of->clock_rate;
    s->channels = (uint8_t)of->channels;
    sb_negotiate_copy(s->fmtp, sizeof(s->fmtp), af->fmtp ? af->fmtp : of->fmtp);
    int rtx = sb_negotiate_find_rtx(am, of);
    if (rtx >= 0 && sb_negotiate_find_rtx(om, of) == rtx)
        s->rtx_pt = rtx;
    int red = sb_negotiate_find_red(am, of);
    if (red >= 0 && sb_negotiate_find_red(om, of) == red)
        s->red_pt = red; /* the receiver takes RED as we offered it */
    s->fb = sb_negotiate_fb_flags(am, af);
    s->rtcp_rsize = om->rtcp_rsize && am->rtcp_rsize;
    sb_negotiate_answered_exts(offer, om, answer, am, s);
    s->dir = sb_sdp_dir_and(sb_sdp_media_dir(offer, om),
                            sb_sdp_dir_reverse(sb_sdp_media_dir(answer, am)));
    if (sb_sdp_dir_recvs(s->dir))
        sb_negotiate_remote_ssrcs(am, s);
    sb_negotiate_answered_rids(am, s);
    if (sb_sdp_dir_sends(s->dir)) {
        sb_negotiate_media_t mine;
        sb_negotiate_summary_init(&mine, om, (unsigned)i);
        sb_negotiate_remote_ssrcs(om, &mine);
        s->local_ssrc = mine.ssrc;
        s->local_rtx_ssrc = s->rtx_pt >= 0 ? mine.rtx_ssrc : 0;
    }
}

static int sb_negotiate_answer_matches(const sb_sdp_t *offer, const sb_sdp_t *answer, char *reason,
                                       size_t size)
{
    if (answer->n_media != offer->n_media) {
        sb_sdp_reason(reason, size, "answer has %zu m-lines, the offer %zu", answer->n_media,
                      offer->n_media);
        return SB_EPROTO;
    }
    for (size_t i = 0; i < offer->n_media; i++) {
        const sb_sdp_media_t *om = &offer->media[i], *am = &answer->media[i];
        if (om->kind != am->kind || (om->mid && (!am->mid || strcmp(om->mid, am->mid) != 0))) {
            sb_sdp_reason(reason, size, "answer m-line %zu does not match the offer (kind/mid)", i);
            return SB_EPROTO;
        }
    }
    return 0;
}

int sb_negotiate_process_answer(const sb_sdp_t *offer, const sb_sdp_t *answer,
                                sb_negotiate_result_t **out, char *reason, size_t reason_size)
{
    *out = NULL;
    int rc = sb_negotiate_answer_matches(offer, answer, reason, reason_size);
    if (rc)
        return rc;
    sb_negotiate_result_t *r = sb_negotiate_result_new(answer->n_media);
    rc = sb_negotiate_remote_transport(answer, &r->remote, reason, reason_size);
    if (rc == SB_ENOENT) {
        sb_sdp_reason(reason, reason_size, "the answer rejects every m-line");
        rc = SB_EPROTO;
    }
    if (!rc && r->remote.setup == SB_SDP_SETUP_PASSIVE) {
        r->local_setup = SB_SDP_SETUP_ACTIVE;
    } else if (!rc &&
               (r->remote.setup == SB_SDP_SETUP_ACTIVE || r->remote.setup == SB_SDP_SETUP_UNSET)) {
        r->local_setup = SB_SDP_SETUP_PASSIVE; /* RFC 4145: absent means active */
    } else if (!rc) {
        sb_sdp_reason(reason, reason_size, "answer must say a=setup:active or passive");
        rc = SB_EPROTO;
    }
    if (rc) {
        sb_negotiate_result_free(r);
        return rc;
    }
    for (size_t i = 0; i < answer->n_media; i++)
        sb_negotiate_answered_media(offer, answer, i, &r->media[i]);
    *out = r;
    return 0;
}
