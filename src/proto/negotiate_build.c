/* Builders for our side of a description: checks of the local options (ICE credentials,
 * fingerprint, candidates), our o= line, and the attributes we write into m-lines (ICE/DTLS,
 * formats with rtcp-fb, RTX, extmaps, msid and SSRCs).
 *
 * Does not choose anything: the answer and offer files decide what goes in.
 *
 * Thread: any; works only on the model it is given. */
#include <stdio.h>
#include <string.h>

#include "switchboard/error.h"
#include "proto/negotiate.h"
#include "proto/negotiate_internal.h"
#include "proto/sdp_internal.h"

static bool sb_negotiate_fp_ok(const char *fp)
{
    const char *sp = fp ? strchr(fp, ' ') : NULL;
    if (!sp || sp == fp || sp - fp > 16)
        return false;
    const char *v = sp + 1;
    size_t len = strlen(v);
    if (len > SB_SDP_MAX_FP_LEN || len % 3 != 2)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (i % 3 == 2 ? c != ':' : !hex)
            return false;
    }
    return true;
}

int sb_negotiate_local_check(const sb_negotiate_local_t *l, char *reason, size_t reason_size)
{
    size_t ulen = l->ice_ufrag ? strlen(l->ice_ufrag) : 0;
    size_t plen = l->ice_pwd ? strlen(l->ice_pwd) : 0;
    if (ulen < 4 || ulen > SB_SDP_MAX_ICE_LEN || !sb_sdp_lex_ice_chars(l->ice_ufrag) || plen < 22 ||
        plen > SB_SDP_MAX_ICE_LEN || !sb_sdp_lex_ice_chars(l->ice_pwd)) {
        sb_sdp_reason(reason, reason_size, "local ICE credentials are invalid");
        return SB_EINVAL;
    }
    if (!sb_negotiate_fp_ok(l->fingerprint)) {
        sb_sdp_reason(reason, reason_size, "local fingerprint must be \"<hash> XX:XX:...\"");
        return SB_EINVAL;
    }
    if (l->n_candidates > SB_SDP_MAX_CANDIDATES) {
        sb_sdp_reason(reason, reason_size, "too many local candidates");
        return SB_EINVAL;
    }
    for (size_t i = 0; i < l->n_candidates; i++) {
        sb_sdp_candidate_t c;
        char why[128];
        if (sb_sdp_candidate_parse(l->candidates[i], &c, why, sizeof(why)) != 0) {
            sb_sdp_reason(reason, reason_size, "local candidate %zu: %s", i, why);
            return SB_EINVAL;
        }
    }
    return 0;
}

sb_sdp_t *sb_negotiate_sdp_new(const sb_negotiate_local_t *local)
{
    sb_sdp_t *sdp = sb_sdp_new();
    sdp->session_id = local->session_id;
    sdp->session_version = local->session_version;
    sdp->ice_lite = local->ice_lite;
    sb_sdp_attr_t *a = SB_SDP_PUSH(sdp, sdp->attrs, sdp->n_attrs);
    a->name = "msid-semantic";
    a->value = "WMS *";
    return sdp;
}

void sb_negotiate_add_transport(sb_sdp_t *sdp, sb_sdp_media_t *m, const sb_negotiate_local_t *local,
                                sb_sdp_setup_t setup, bool candidates)
{
    sb_sdp_transport_t *t = &m->transport;
    t->ice_ufrag = sb_sdp_strdup(sdp, local->ice_ufrag);
    t->ice_pwd = sb_sdp_strdup(sdp, local->ice_pwd);
    t->ice_options = "trickle";
    t->setup = setup;
    const char *sp = strchr(local->fingerprint, ' ');
    sb_sdp_fingerprint_t *fp = SB_SDP_PUSH(sdp, t->fingerprints, t->n_fingerprints);
    char *hash = sb_sdp_strndup(sdp, local->fingerprint, (size_t)(sp - local->fingerprint));
    for (char *c = hash; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    fp->hash = hash;
    fp->value = sb_sdp_strdup(sdp, sp + 1);
    if (!candidates)
        return;
    for (size_t i = 0; i < local->n_candidates; i++) {
        const char *c = local->candidates[i];
        if (strncmp(c, "a=", 2) == 0)
            c += 2;
        if (strncmp(c, "candidate:", 10) == 0)
            c += 10;
        size_t len = strcspn(c, "\r\n");
        *SB_SDP_PUSH(sdp, m->candidates, m->n_candidates) = sb_sdp_strndup(sdp, c, len);
    }
    m->end_of_candidates = local->end_of_candidates;
}

static void sb_negotiate_add_fb(sb_sdp_t *sdp, sb_sdp_format_t *f, const char *type,
                                const char *param)
{
    sb_sdp_rtcp_fb_t *fb = SB_SDP_PUSH(sdp, f->fbs, f->n_fbs);
    fb->type = type;
    fb->param = param;
}

void sb_negotiate_add_format(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t pt, sb_codec_t codec,
                             const char *fmtp, unsigned fb)
{
    sb_sdp_kind_t kind;
    uint32_t clock = 0;
    uint16_t channels = 0;
    sb_negotiate_codec_info(codec, &kind, &clock, &channels);
    sb_sdp_format_t *f = SB_SDP_PUSH(sdp, m->formats, m->n_formats);
    f->pt = pt;
    f->encoding = sb_codec_name(codec);
    f->clock_rate = clock;
    f->channels = channels;
    f->fmtp = fmtp && *fmtp ? sb_sdp_strdup(sdp, fmtp) : NULL;
    /* Same order as browsers write them. */
    if (fb & SB_NEGOTIATE_FB_REMB)
        sb_negotiate_add_fb(sdp, f, "goog-remb", NULL);
    if (fb & SB_NEGOTIATE_FB_TWCC)
        sb_negotiate_add_fb(sdp, f, "transport-cc", NULL);
    if (fb & SB_NEGOTIATE_FB_FIR)
        sb_negotiate_add_fb(sdp, f, "ccm", "fir");
    if (fb & SB_NEGOTIATE_FB_NACK)
        sb_negotiate_add_fb(sdp, f, "nack", NULL);
    if (fb & SB_NEGOTIATE_FB_PLI)
        sb_negotiate_add_fb(sdp, f, "nack", "pli");
}

void sb_negotiate_add_rtx(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t rtx_pt, uint8_t apt)
{
    const sb_sdp_format_t *primary = sb_sdp_media_format(m, apt);
    char fmtp[16];
    snprintf(fmtp, sizeof(fmtp), "apt=%u", (unsigned)apt);
    sb_sdp_format_t *f = SB_SDP_PUSH(sdp, m->formats, m->n_formats);
    f->pt = rtx_pt;
    f->encoding = "rtx";
    f->clock_rate = primary ? primary->clock_rate : 90000;
    f->fmtp = sb_sdp_strdup(sdp, fmtp);
}

void sb_negotiate_add_red(sb_sdp_t *sdp, sb_sdp_media_t *m, uint8_t red_pt, uint8_t primary)
{
    const sb_sdp_format_t *p = sb_sdp_media_format(m, primary);
    char fmtp[16];
    snprintf(fmtp, sizeof(fmtp), "%u/%u", (unsigned)primary, (unsigned)primary);
    sb_sdp_format_t *f = SB_SDP_PUSH(sdp, m->formats, m->n_formats);
    f->pt = red_pt;
    f->encoding = "red";
    f->clock_rate = p ? p->clock_rate : 48000;
    f->channels = p ? p->channels : 2;
    f->fmtp = sb_sdp_strdup(sdp, fmtp);
}

void sb_negotiate_add_extmap(sb_sdp_t *sdp, sb_sdp_media_t *m, sb_hdrext_t ext, uint8_t id,
                             sb_sdp_dir_t dir)
{
    sb_sdp_extmap_t *e = SB_SDP_PUSH(sdp, m->extmaps, m->n_extmaps);
    e->id = id;
    e->dir = dir;
    e->uri = sb_negotiate_hdrext_uri(ext);
}

static bool sb_negotiate_msid_ok(const char *s)
{
    return !s || (sb_sdp_lex_token(s) && strlen(s) <= 64);
}

int sb_negotiate_add_send(sb_sdp_t *sdp, sb_sdp_media_t *m, const sb_negotiate_send_t *send,
                          bool rtx)
{
    if (!send->ssrc)
        return 0;
    const char *cname = send->cname ? send->cname : "switchboard";
    if (!sb_sdp_lex_visible(cname) || strlen(cname) > 255 ||
        !sb_negotiate_msid_ok(send->msid_stream) || !sb_negotiate_msid_ok(send->msid_track) ||
        (send->msid_track && !send->msid_stream))
        return SB_EINVAL;
    char msid[160] = "";
    if (send->msid_stream) {
        snprintf(msid, sizeof(msid), "%s%s%s", send->msid_stream, send->msid_track ? " " : "",
                 send->msid_track ? send->msid_track : "");
        m->msid = sb_sdp_strdup(sdp, msid);
    }
    bool with_rtx = rtx && send->rtx_ssrc && send->rtx_ssrc != send->ssrc;
    if (with_rtx) {
        sb_sdp_ssrc_group_t *g = SB_SDP_PUSH(sdp, m->ssrc_groups, m->n_ssrc_groups);
        g->semantics = "FID";
        *SB_SDP_PUSH(sdp, g->ssrcs, g->n_ssrcs) = send->ssrc;
        *SB_SDP_PUSH(sdp, g->ssrcs, g->n_ssrcs) = send->rtx_ssrc;
    }
    for (int i = 0; i < (with_rtx ? 2 : 1); i++) {
        sb_sdp_ssrc_t *s = SB_SDP_PUSH(sdp, m->ssrcs, m->n_ssrcs);
        s->ssrc = i == 0 ? send->ssrc : send->rtx_ssrc;
        s->cname = sb_sdp_strdup(sdp, cname);
        s->msid = m->msid;
    }
    return 0;
}
