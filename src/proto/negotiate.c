/* Negotiation building blocks shared by answering and offering: the header-extension and
 * codec tables, codec choice with profile ranking (H264 profile-level-id and
 * packetization-mode, VP9 profile-id, AV1 profile), RTX and rtcp-fb lookup, remote SSRCs,
 * the remote BUNDLE transport, checks of our local options, and the builders that write our
 * attributes into a model.
 *
 * Does not decide per-m-line policy (negotiate_answer.c, negotiate_offer.c) and does no I/O.
 *
 * Thread: any; pure functions over their arguments. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/negotiate.h"
#include "proto/negotiate_internal.h"
#include "proto/sdp_internal.h"

static const char *const sb_negotiate_uris[SB_HDREXT_COUNT] = {
    [SB_HDREXT_MID] = "urn:ietf:params:rtp-hdrext:sdes:mid",
    [SB_HDREXT_RID] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    [SB_HDREXT_REPAIRED_RID] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    [SB_HDREXT_AUDIO_LEVEL] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    [SB_HDREXT_ABS_SEND_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    [SB_HDREXT_TWCC] = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    [SB_HDREXT_VIDEO_ORIENTATION] = "urn:3gpp:video-orientation",
    [SB_HDREXT_PLAYOUT_DELAY] = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    [SB_HDREXT_TOFFSET] = "urn:ietf:params:rtp-hdrext:toffset",
    [SB_HDREXT_ABS_CAPTURE_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
    [SB_HDREXT_DEPENDENCY_DESCRIPTOR] = "https://aomediacodec.github.io/av1-rtp-spec/"
                                        "#dependency-descriptor-rtp-header-extension",
};

const char *sb_negotiate_hdrext_uri(sb_hdrext_t ext)
{
    return (unsigned)ext < SB_HDREXT_COUNT ? sb_negotiate_uris[ext] : NULL;
}

int sb_negotiate_hdrext_from_uri(const char *uri)
{
    for (int i = 0; uri && i < SB_HDREXT_COUNT; i++)
        if (strcmp(uri, sb_negotiate_uris[i]) == 0)
            return i;
    return -1;
}

static const struct {
    sb_codec_t codec;
    sb_sdp_kind_t kind;
    uint32_t clock;
    uint16_t channels;
} sb_negotiate_codecs[] = {
    {SB_CODEC_OPUS, SB_SDP_KIND_AUDIO, 48000, 2}, /* RFC 7587: always "/2" */
    {SB_CODEC_PCMU, SB_SDP_KIND_AUDIO, 8000, 0},  {SB_CODEC_PCMA, SB_SDP_KIND_AUDIO, 8000, 0},
    {SB_CODEC_G722, SB_SDP_KIND_AUDIO, 8000, 0}, /* RFC 3551: 8000 despite 16 kHz audio */
    {SB_CODEC_VP8, SB_SDP_KIND_VIDEO, 90000, 0},  {SB_CODEC_VP9, SB_SDP_KIND_VIDEO, 90000, 0},
    {SB_CODEC_H264, SB_SDP_KIND_VIDEO, 90000, 0}, {SB_CODEC_H265, SB_SDP_KIND_VIDEO, 90000, 0},
    {SB_CODEC_AV1, SB_SDP_KIND_VIDEO, 90000, 0},
};

bool sb_negotiate_codec_info(sb_codec_t codec, sb_sdp_kind_t *kind, uint32_t *clock,
                             uint16_t *channels)
{
    for (size_t i = 0; i < sizeof(sb_negotiate_codecs) / sizeof(sb_negotiate_codecs[0]); i++) {
        if (sb_negotiate_codecs[i].codec != codec)
            continue;
        *kind = sb_negotiate_codecs[i].kind;
        *clock = sb_negotiate_codecs[i].clock;
        *channels = sb_negotiate_codecs[i].channels;
        return true;
    }
    return false;
}

bool sb_negotiate_format_is(const sb_sdp_format_t *f, sb_codec_t codec)
{
    sb_sdp_kind_t kind;
    uint32_t clock;
    uint16_t channels;
    if (!f->encoding || sb_codec_from_name(f->encoding) != codec ||
        !sb_negotiate_codec_info(codec, &kind, &clock, &channels))
        return false;
    if (f->clock_rate != clock)
        return false;
    return channels ? f->channels == channels : f->channels <= 1;
}

bool sb_negotiate_fmtp_get(const char *fmtp, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    const char *p = fmtp;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        if (eq && (size_t)(eq - p) == klen && strncasecmp(p, key, klen) == 0) {
            size_t vlen = n - klen - 1;
            while (vlen > 0 && eq[vlen] == ' ')
                vlen--;
            if (vlen >= size)
                return false;
            memcpy(out, eq + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p += n;
    }
    return false;
}

static bool sb_negotiate_hex24(const char *s, unsigned v[3])
{
    unsigned x = 0;
    if (strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++) {
        char c = s[i];
        unsigned d = (c >= '0' && c <= '9')   ? (unsigned)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                              : 16u;
        if (d > 15)
            return false;
        x = (x << 4) | d;
    }
    v[0] = x >> 16;
    v[1] = (x >> 8) & 0xff;
    v[2] = x & 0xff;
    return true;
}

/* RFC 6184 section 8.1: profile-level-id is profile_idc, profile-iop, level_idc; absent means
 * 420010. Rank: preferred exact 4, same profile 3, constrained baseline 2, baseline 1,
 * others 0. packetization-mode must be 1 (we forward FU-A/STAP-A, never single NAL only). */
static int sb_negotiate_h264_score(const sb_sdp_format_t *f, const sb_negotiate_codec_pref_t *p)
{
    char mode[8] = "0", plid[16] = "420010";
    unsigned have[3], want[3];
    sb_negotiate_fmtp_get(f->fmtp, "packetization-mode", mode, sizeof(mode));
    if (strcmp(mode, "1") != 0)
        return -1;
    sb_negotiate_fmtp_get(f->fmtp, "profile-level-id", plid, sizeof(plid));
    if (!sb_negotiate_hex24(plid, have))
        return -1;
    if (!p->profile || !sb_negotiate_hex24(p->profile, want))
        sb_negotiate_hex24("42e01f", want);
    if (have[0] == want[0] && have[1] == want[1])
        return have[2] == want[2] ? 4 : 3;
    if (p->strict)
        return -1;
    if ((have[0] == 0x42 && (have[1] & 0x40)) || (have[0] == 0x4d && (have[1] & 0x80)))
        return 2; /* constrained baseline (RFC 6184 table 5) */
    return have[0] == 0x42 ? 1 : 0;
}

/* VP9 profile-id and AV1 profile default to 0; the preferred one ranks first. */
static int sb_negotiate_profile_score(const sb_sdp_format_t *f, const sb_negotiate_codec_pref_t *p,
                                      const char *key)
{
    char have[8] = "0";
    sb_negotiate_fmtp_get(f->fmtp, key, have, sizeof(have));
    if (strcmp(have, p->profile ? p->profile : "0") == 0)
        return 1;
    return p->strict ? -1 : 0;
}

static int sb_negotiate_score(const sb_sdp_format_t *f, const sb_negotiate_codec_pref_t *p)
{
    if (!sb_negotiate_format_is(f, p->codec))
        return -1;
    switch (p->codec) {
    case SB_CODEC_H264:
        return sb_negotiate_h264_score(f, p);
    case SB_CODEC_VP9:
        return sb_negotiate_profile_score(f, p, "profile-id");
    case SB_CODEC_AV1:
        return sb_negotiate_profile_score(f, p, "profile");
    default:
        return 0;
    }
}

int sb_negotiate_pick(const sb_sdp_media_t *m, const sb_negotiate_codec_pref_t *prefs,
                      size_t n_prefs)
{
    for (size_t i = 0; i < n_prefs; i++) {
        int best = -1, best_score = -1;
        for (size_t j = 0; j < m->n_formats; j++) {
            int score = sb_negotiate_score(&m->formats[j], &prefs[i]);
            if (score > best_score) {
                best = (int)j;
                best_score = score;
            }
        }
        if (best >= 0)
            return best;
    }
    return -1;
}

int sb_negotiate_find_rtx(const sb_sdp_media_t *m, const sb_sdp_format_t *primary)
{
    for (size_t i = 0; i < m->n_formats; i++) {
        const sb_sdp_format_t *f = &m->formats[i];
        char apt[8];
        uint32_t v;
        if (!f->encoding || !sb_sdp_lex_ieq(f->encoding, "rtx") ||
            f->clock_rate != primary->clock_rate ||
            !sb_negotiate_fmtp_get(f->fmtp, "apt", apt, sizeof(apt)) ||
            !sb_sdp_lex_u32(apt, 127, &v) || v != primary->pt)
            continue;
        return f->pt;
    }
    return -1;
}

int sb_negotiate_find_red(const sb_sdp_media_t *m, const sb_sdp_format_t *primary)
{
    for (size_t i = 0; i < m->n_formats; i++) {
        const sb_sdp_format_t *f = &m->formats[i];
        if (!f->encoding || !sb_sdp_lex_ieq(f->encoding, "red") ||
            f->clock_rate != primary->clock_rate || f->channels != primary->channels || !f->fmtp)
            continue;
        /* RFC 2198 section 5: the fmtp lists the block payload types, "P/P" for Opus. */
        bool all = true;
        unsigned blocks = 0;
        for (const char *p = f->fmtp; *p && all;) {
            size_t n = strcspn(p, "/");
            char pt[8];
            uint32_t v;
            if (n == 0 || n >= sizeof(pt)) {
                all = false;
                break;
            }
            memcpy(pt, p, n);
            pt[n] = '\0';
            all = sb_sdp_lex_u32(pt, 127, &v) && v == primary->pt;
            blocks++;
            p += n;
            if (*p == '/')
                p++;
        }
        if (all && blocks >= 2)
            return f->pt;
    }
    return -1;
}

static unsigned sb_negotiate_fb_flag(const sb_sdp_rtcp_fb_t *fb)
{
    const char *param = fb->param ? fb->param : "";
    if (strcmp(fb->type, "nack") == 0)
        return !*param ? SB_NEGOTIATE_FB_NACK : strcmp(param, "pli") == 0 ? SB_NEGOTIATE_FB_PLI : 0;
    if (strcmp(fb->type, "ccm") == 0 && strcmp(param, "fir") == 0)
        return SB_NEGOTIATE_FB_FIR;
    if (strcmp(fb->type, "goog-remb") == 0)
        return SB_NEGOTIATE_FB_REMB;
    if (strcmp(fb->type, "transport-cc") == 0)
        return SB_NEGOTIATE_FB_TWCC;
    return 0;
}

unsigned sb_negotiate_fb_flags(const sb_sdp_media_t *m, const sb_sdp_format_t *f)
{
    unsigned flags = 0;
    for (size_t i = 0; i < f->n_fbs; i++)
        flags |= sb_negotiate_fb_flag(&f->fbs[i]);
    for (size_t i = 0; i < m->n_fbs_all; i++)
        flags |= sb_negotiate_fb_flag(&m->fbs_all[i]);
    return flags;
}

/* The RTX SSRC paired with ssrc by an ssrc-group:FID, or 0. */
static uint32_t sb_negotiate_fid(const sb_sdp_media_t *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sb_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        if (strcmp(g->semantics, "FID") == 0 && g->n_ssrcs >= 2 && g->ssrcs[0] == ssrc)
            return g->ssrcs[1];
    }
    return 0;
}

/* Is ssrc the second member of a FID (or FEC) group, i.e. not a media SSRC? */
static bool sb_negotiate_is_repair(const sb_sdp_media_t *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sb_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        if (strcmp(g->semantics, "SIM") == 0)
            continue;
        for (size_t j = 1; j < g->n_ssrcs; j++)
            if (g->ssrcs[j] == ssrc)
                return true;
    }
    return false;
}

void sb_negotiate_remote_ssrcs(const sb_sdp_media_t *m, sb_negotiate_media_t *s)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sb_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        if (strcmp(g->semantics, "SIM") != 0)
            continue;
        s->n_sim = g->n_ssrcs < SB_SDP_MAX_GROUP_SSRCS ? g->n_ssrcs : SB_SDP_MAX_GROUP_SSRCS;
        for (size_t j = 0; j < s->n_sim; j++) {
            s->sim_ssrc[j] = g->ssrcs[j];
            s->sim_rtx_ssrc[j] = sb_negotiate_fid(m, g->ssrcs[j]);
        }
        s->ssrc = s->sim_ssrc[0];
        s->rtx_ssrc = s->sim_rtx_ssrc[0];
        return;
    }
    for (size_t i = 0; i < m->n_ssrcs; i++) {
        if (sb_negotiate_is_repair(m, m->ssrcs[i].ssrc))
            continue;
        s->ssrc = m->ssrcs[i].ssrc;
        s->rtx_ssrc = sb_negotiate_fid(m, s->ssrc);
        return;
    }
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sb_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        if (strcmp(g->semantics, "FID") == 0 && g->n_ssrcs >= 2) {
            s->ssrc = g->ssrcs[0];
            s->rtx_ssrc = g->ssrcs[1];
            return;
        }
    }
}

void sb_negotiate_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static bool sb_negotiate_has_option(const char *options, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = options; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, opt, n) == 0)
            return true;
        p += len;
    }
    return false;
}

int sb_negotiate_transport_at(const sb_sdp_t *sdp, size_t index, sb_negotiate_transport_t *out,
                              char *reason, size_t reason_size)
{
    const sb_sdp_media_t *m = &sdp->media[index];
    sb_sdp_transport_t t;
    memset(out, 0, sizeof(*out));
    sb_sdp_media_transport(sdp, m, &t);
    out->index = (unsigned)index;
    sb_negotiate_copy(out->mid, sizeof(out->mid), m->mid);
    if (!t.ice_ufrag || !t.ice_pwd) {
        sb_sdp_reason(reason, reason_size, "m-line %zu: missing a=ice-ufrag or a=ice-pwd", index);
        return SB_EPROTO;
    }
    if (t.n_fingerprints == 0) {
        sb_sdp_reason(reason, reason_size, "m-line %zu: missing a=fingerprint", index);
        return SB_EPROTO;
    }
    const sb_sdp_fingerprint_t *fp = &t.fingerprints[0];
    for (size_t i = 0; i < t.n_fingerprints; i++)
        if (strcmp(t.fingerprints[i].hash, "sha-256") == 0)
            fp = &t.fingerprints[i];
    sb_negotiate_copy(out->ice_ufrag, sizeof(out->ice_ufrag), t.ice_ufrag);
    sb_negotiate_copy(out->ice_pwd, sizeof(out->ice_pwd), t.ice_pwd);
    sb_negotiate_copy(out->fingerprint_hash, sizeof(out->fingerprint_hash), fp->hash);
    sb_negotiate_copy(out->fingerprint, sizeof(out->fingerprint), fp->value);
    out->ice_lite = sdp->ice_lite;
    out->trickle = sb_negotiate_has_option(t.ice_options, "trickle");
    out->end_of_candidates = m->end_of_candidates || sdp->end_of_candidates;
    out->setup = t.setup;
    return 0;
}

int sb_negotiate_remote_transport(const sb_sdp_t *remote, sb_negotiate_transport_t *out,
                                  char *reason, size_t reason_size)
{
    const sb_sdp_group_t *g = sb_sdp_find_group(remote, "BUNDLE");
    for (size_t i = 0; g && i < g->n_mids; i++) {
        const sb_sdp_media_t *m = sb_sdp_find_mid(remote, g->mids[i]);
        if (m && (m->port != 0 || m->bundle_only))
            return sb_negotiate_transport_at(remote, (size_t)(m - remote->media), out, reason,
                                             reason_size);
    }
    for (size_t i = 0; i < remote->n_media; i++)
        if (remote->media[i].port != 0)
            return sb_negotiate_transport_at(remote, i, out, reason, reason_size);
    memset(out, 0, sizeof(*out));
    sb_sdp_reason(reason, reason_size, "no enabled m-line");
    return SB_ENOENT;
}

void sb_negotiate_summary_init(sb_negotiate_media_t *s, const sb_sdp_media_t *m, unsigned index)
{
    memset(s, 0, sizeof(*s));
    s->index = index;
    sb_negotiate_copy(s->mid, sizeof(s->mid), m->mid);
    s->kind = m->kind;
    s->dir = SB_SDP_DIR_INACTIVE;
    s->pt = -1;
    s->rtx_pt = -1;
    s->red_pt = -1;
    s->codec = SB_CODEC_UNKNOWN;
}

sb_negotiate_result_t *sb_negotiate_result_new(size_t n_media)
{
    sb_negotiate_result_t *r = SB_NEW(sb_negotiate_result_t);
    r->media = sb_calloc(n_media ? n_media : 1, sizeof(*r->media));
    r->n_media = n_media;
    return r;
}

void sb_negotiate_result_free(sb_negotiate_result_t *r)
{
    if (!r)
        return;
    sb_sdp_free(r->answer);
    sb_free(r->media);
    sb_free(r);
}

int sb_negotiate_prefs_parse(const char *list, sb_negotiate_codec_pref_t *out, size_t max)
{
    size_t n = 0;
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        sb_codec_t codec = sb_codec_from_name_n(p, len);
        sb_sdp_kind_t kind;
        uint32_t clock;
        uint16_t ch;
        if (!sb_negotiate_codec_info(codec, &kind, &clock, &ch))
            return SB_EINVAL;
        if (n >= max)
            return SB_ERANGE;
        out[n++] = (sb_negotiate_codec_pref_t){.codec = codec};
        p += strcspn(p, ",");
    }
    return (int)n;
}

static const sb_negotiate_codec_pref_t sb_negotiate_default_audio[] = {
    {.codec = SB_CODEC_OPUS},
    {.codec = SB_CODEC_PCMU},
    {.codec = SB_CODEC_PCMA},
    {.codec = SB_CODEC_G722},
};
static const sb_negotiate_codec_pref_t sb_negotiate_default_video[] = {
    {.codec = SB_CODEC_VP8},
    {.codec = SB_CODEC_VP9, .profile = "0"},
    {.codec = SB_CODEC_H264, .profile = "42e01f"},
    {.codec = SB_CODEC_AV1, .profile = "0"},
};

void sb_negotiate_opts_init(sb_negotiate_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->audio = sb_negotiate_default_audio;
    o->n_audio = sizeof(sb_negotiate_default_audio) / sizeof(sb_negotiate_default_audio[0]);
    o->video = sb_negotiate_default_video;
    o->n_video = sizeof(sb_negotiate_default_video) / sizeof(sb_negotiate_default_video[0]);
    o->ext_allow = SB_NEGOTIATE_EXT_DEFAULT;
    o->fb_allow = SB_NEGOTIATE_FB_ALL;
    o->rtx = true;
    o->simulcast = true;
    o->actpass_answer = SB_SDP_SETUP_ACTIVE;
    o->dir = SB_SDP_DIR_SENDRECV;
    o->max_message_size = 256 << 10;
}
