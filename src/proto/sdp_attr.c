/* SDP parser, attribute level: one handler per a= attribute the model knows (RFC 8829 JSEP set:
 * group, mid, ICE, DTLS, directions, rtcp-mux/rsize, rtpmap/fmtp/rtcp-fb, extmap, ssrc and
 * ssrc-group, rid, simulcast, msid, candidates), each validating its value and its level.
 * Attributes the model has no field for are kept as name/value pairs.
 *
 * Does not check relations across lines (sdp_parse.c does at the end of a section) and does
 * not interpret values (negotiate.c does).
 *
 * Thread: any; it touches only the parser state it is given. */
#include <string.h>

#include "switchboard/error.h"
#include "proto/sdp.h"
#include "proto/sdp_internal.h"

enum { LVL_SESSION = 1, LVL_MEDIA = 2, LVL_BOTH = 3 };

typedef int (*sb_sdp_attr_fn)(sb_sdp_parser_t *p, const char *name, char *v);

static sb_sdp_transport_t *sb_sdp_attr_transport(sb_sdp_parser_t *p)
{
    return p->m ? &p->m->transport : &p->sdp->transport;
}

static int sb_sdp_attr_once(sb_sdp_parser_t *p, unsigned bit, const char *name)
{
    if (p->seen & bit)
        return sb_sdp_fail(p, "duplicate a=%s", name);
    p->seen |= bit;
    return 0;
}

static sb_sdp_format_t *sb_sdp_attr_format(sb_sdp_media_t *m, unsigned pt)
{
    for (size_t i = 0; i < m->n_formats; i++)
        if (m->formats[i].pt == pt)
            return &m->formats[i];
    return NULL;
}

/* a=group:<semantics> *(SP <mid>) */
static int sb_sdp_attr_group(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_t *sdp = p->sdp;
    char *sem = sb_sdp_lex_field(&v), *mid;
    if (!sem || !sb_sdp_lex_token(sem))
        return sb_sdp_fail(p, "a=group: bad semantics");
    if (sdp->n_groups >= SB_SDP_MAX_GROUPS)
        return sb_sdp_fail(p, "more than %d a=group lines", SB_SDP_MAX_GROUPS);
    sb_sdp_group_t *g = SB_SDP_PUSH(sdp, sdp->groups, sdp->n_groups);
    g->semantics = sb_sdp_strdup(sdp, sem);
    while ((mid = sb_sdp_lex_field(&v)) != NULL) {
        if (!sb_sdp_lex_token(mid) || strlen(mid) > SB_SDP_MAX_MID_LEN)
            return sb_sdp_fail(p, "a=group: bad mid");
        for (size_t i = 0; i < g->n_mids; i++)
            if (strcmp(g->mids[i], mid) == 0)
                return sb_sdp_fail(p, "a=group: mid '%s' listed twice", mid);
        if (g->n_mids >= SB_SDP_MAX_MEDIA)
            return sb_sdp_fail(p, "a=group: too many mids");
        *SB_SDP_PUSH(sdp, g->mids, g->n_mids) = sb_sdp_strdup(sdp, mid);
    }
    return 0;
}

static int sb_sdp_attr_mid(sb_sdp_parser_t *p, const char *name, char *v)
{
    if (sb_sdp_attr_once(p, SB_SDP_SEEN_MID, name))
        return SB_EINVAL;
    if (!sb_sdp_lex_token(v) || strlen(v) > SB_SDP_MAX_MID_LEN)
        return sb_sdp_fail(p, "a=mid: must be a token of at most %d bytes", SB_SDP_MAX_MID_LEN);
    if (sb_sdp_find_mid(p->sdp, v))
        return sb_sdp_fail(p, "a=mid: duplicate mid '%s'", v);
    p->m->mid = sb_sdp_strdup(p->sdp, v);
    return 0;
}

static int sb_sdp_attr_ice_cred(sb_sdp_parser_t *p, const char *name, char *v)
{
    bool ufrag = strcmp(name, "ice-ufrag") == 0;
    size_t len = strlen(v), min = ufrag ? 4 : 22;
    if (sb_sdp_attr_once(p, ufrag ? SB_SDP_SEEN_UFRAG : SB_SDP_SEEN_PWD, name))
        return SB_EINVAL;
    if (!sb_sdp_lex_ice_chars(v) || len < min || len > SB_SDP_MAX_ICE_LEN)
        return sb_sdp_fail(p, "a=%s: must be %zu..%d of [A-Za-z0-9+/]", name, min,
                           SB_SDP_MAX_ICE_LEN);
    sb_sdp_transport_t *t = sb_sdp_attr_transport(p);
    if (ufrag)
        t->ice_ufrag = sb_sdp_strdup(p->sdp, v);
    else
        t->ice_pwd = sb_sdp_strdup(p->sdp, v);
    return 0;
}

static int sb_sdp_attr_ice_options(sb_sdp_parser_t *p, const char *name, char *v)
{
    if (sb_sdp_attr_once(p, SB_SDP_SEEN_OPTIONS, name))
        return SB_EINVAL;
    char *copy = sb_sdp_strdup(p->sdp, v), *s = v, *opt;
    while ((opt = sb_sdp_lex_field(&s)) != NULL)
        if (!sb_sdp_lex_token(opt))
            return sb_sdp_fail(p, "a=ice-options: bad option");
    sb_sdp_attr_transport(p)->ice_options = copy;
    return 0;
}

static int sb_sdp_attr_flag(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_media_t *m = p->m;
    if (strcmp(name, "ice-lite") == 0)
        p->sdp->ice_lite = true;
    else if (strcmp(name, "extmap-allow-mixed") == 0)
        *(m ? &m->extmap_allow_mixed : &p->sdp->extmap_allow_mixed) = true;
    else if (strcmp(name, "end-of-candidates") == 0)
        *(m ? &m->end_of_candidates : &p->sdp->end_of_candidates) = true;
    else if (strcmp(name, "rtcp-mux") == 0)
        m->rtcp_mux = true;
    else if (strcmp(name, "rtcp-mux-only") == 0)
        m->rtcp_mux_only = true;
    else if (strcmp(name, "rtcp-rsize") == 0)
        m->rtcp_rsize = true;
    else if (strcmp(name, "bundle-only") == 0)
        m->bundle_only = true;
    return 0;
}

static int sb_sdp_attr_direction(sb_sdp_parser_t *p, const char *name, char *v)
{
    static const char *const names[] = {"sendonly", "recvonly", "sendrecv", "inactive"};
    static const sb_sdp_dir_t dirs[] = {SB_SDP_DIR_SENDONLY, SB_SDP_DIR_RECVONLY,
                                        SB_SDP_DIR_SENDRECV, SB_SDP_DIR_INACTIVE};
    if (p->seen & SB_SDP_SEEN_DIR)
        return sb_sdp_fail(p, "more than one direction attribute");
    p->seen |= SB_SDP_SEEN_DIR;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            *(p->m ? &p->m->dir : &p->sdp->dir) = dirs[i];
    return 0;
}

static int sb_sdp_attr_setup(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_setup_t s;
    if (sb_sdp_attr_once(p, SB_SDP_SEEN_SETUP, name))
        return SB_EINVAL;
    if (strcmp(v, "actpass") == 0)
        s = SB_SDP_SETUP_ACTPASS;
    else if (strcmp(v, "active") == 0)
        s = SB_SDP_SETUP_ACTIVE;
    else if (strcmp(v, "passive") == 0)
        s = SB_SDP_SETUP_PASSIVE;
    else if (strcmp(v, "holdconn") == 0)
        s = SB_SDP_SETUP_HOLDCONN;
    else
        return sb_sdp_fail(p, "a=setup: must be actpass, active, passive or holdconn");
    sb_sdp_attr_transport(p)->setup = s;
    return 0;
}

static size_t sb_sdp_hash_len(const char *hash)
{
    static const struct {
        const char *name;
        size_t len;
    } known[] = {
        {"sha-1", 20},   {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48},
        {"sha-512", 64}, {"md5", 16},     {"md2", 16},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (sb_sdp_lex_ieq(hash, known[i].name))
            return known[i].len;
    return 0;
}

static bool sb_sdp_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* a=fingerprint:<hash-func> <hex>:<hex>... (RFC 8122 section 5) */
static int sb_sdp_attr_fingerprint(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_transport_t *t = sb_sdp_attr_transport(p);
    char *hash = sb_sdp_lex_field(&v), *value = sb_sdp_lex_field(&v);
    if (!hash || !value || sb_sdp_lex_rest(v) || !sb_sdp_lex_token(hash) || strlen(hash) > 16)
        return sb_sdp_fail(p, "a=fingerprint: expected <hash-function> <value>");
    size_t len = strlen(value), pairs = (len + 1) / 3, want = sb_sdp_hash_len(hash);
    if (len > SB_SDP_MAX_FP_LEN || len % 3 != 2)
        return sb_sdp_fail(p, "a=fingerprint: bad value length");
    for (size_t i = 0; i < len; i++) {
        bool ok = (i % 3 == 2) ? value[i] == ':' : sb_sdp_is_hex(value[i]);
        if (!ok)
            return sb_sdp_fail(p, "a=fingerprint: value must be hex pairs separated by ':'");
    }
    if (want && pairs != want)
        return sb_sdp_fail(p, "a=fingerprint: %s needs %zu bytes, got %zu", hash, want, pairs);
    if (t->n_fingerprints >= SB_SDP_MAX_FINGERPRINTS)
        return sb_sdp_fail(p, "more than %d a=fingerprint lines", SB_SDP_MAX_FINGERPRINTS);
    for (char *c = hash; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    sb_sdp_fingerprint_t *fp = SB_SDP_PUSH(p->sdp, t->fingerprints, t->n_fingerprints);
    fp->hash = sb_sdp_strdup(p->sdp, hash);
    fp->value = sb_sdp_strdup(p->sdp, value);
    return 0;
}

static bool sb_sdp_parse_dir_name(const char *s, sb_sdp_dir_t *out)
{
    if (strcmp(s, "sendrecv") == 0)
        *out = SB_SDP_DIR_SENDRECV;
    else if (strcmp(s, "sendonly") == 0)
        *out = SB_SDP_DIR_SENDONLY;
    else if (strcmp(s, "recvonly") == 0)
        *out = SB_SDP_DIR_RECVONLY;
    else if (strcmp(s, "inactive") == 0)
        *out = SB_SDP_DIR_INACTIVE;
    else
        return false;
    return true;
}

/* a=extmap:<id>[/<direction>] <uri> [<extension attributes>] (RFC 8285 section 8) */
static int sb_sdp_attr_extmap(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_extmap_t **arr = p->m ? &p->m->extmaps : &p->sdp->extmaps;
    size_t *n = p->m ? &p->m->n_extmaps : &p->sdp->n_extmaps;
    char *idf = sb_sdp_lex_field(&v), *uri = sb_sdp_lex_field(&v), *params = sb_sdp_lex_rest(v);
    sb_sdp_dir_t dir = SB_SDP_DIR_UNSET;
    uint32_t id;
    if (!idf || !uri)
        return sb_sdp_fail(p, "a=extmap: expected <id> <uri>");
    char *slash = strchr(idf, '/');
    if (slash) {
        *slash = '\0';
        if (!sb_sdp_parse_dir_name(slash + 1, &dir))
            return sb_sdp_fail(p, "a=extmap: bad direction");
    }
    if (!sb_sdp_lex_u32(idf, 255, &id) || id == 0)
        return sb_sdp_fail(p, "a=extmap: id must be 1..255");
    if (!sb_sdp_lex_visible(uri))
        return sb_sdp_fail(p, "a=extmap: bad uri");
    for (size_t i = 0; i < *n; i++)
        if ((*arr)[i].id == id)
            return sb_sdp_fail(p, "a=extmap: duplicate id %u", (unsigned)id);
    if (*n >= SB_SDP_MAX_EXTMAPS)
        return sb_sdp_fail(p, "more than %d a=extmap lines", SB_SDP_MAX_EXTMAPS);
    sb_sdp_extmap_t *e = SB_SDP_PUSH(p->sdp, *arr, *n);
    e->id = (uint16_t)id;
    e->dir = dir;
    e->uri = sb_sdp_strdup(p->sdp, uri);
    e->params = sb_sdp_strdup(p->sdp, params);
    return 0;
}

/* a=msid:<id> [<appdata>] (RFC 8830 section 2); only the first is kept. */
static int sb_sdp_attr_msid(sb_sdp_parser_t *p, const char *name, char *v)
{
    char *copy = sb_sdp_strdup(p->sdp, v), *s = v;
    char *id = sb_sdp_lex_field(&s), *appdata = sb_sdp_lex_field(&s);
    if (!id || !sb_sdp_lex_token(id) || strlen(id) > 64 || sb_sdp_lex_rest(s) ||
        (appdata && (!sb_sdp_lex_token(appdata) || strlen(appdata) > 64)))
        return sb_sdp_fail(p, "a=msid: expected <stream id> [<track id>] tokens");
    if (!p->m->msid)
        p->m->msid = copy;
    return 0;
}

/* a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>] */
static int sb_sdp_attr_rtpmap(sb_sdp_parser_t *p, const char *name, char *v)
{
    char *ptf = sb_sdp_lex_field(&v), *enc = sb_sdp_lex_field(&v);
    uint32_t pt, clock, channels = 0;
    if (!ptf || !enc || sb_sdp_lex_rest(v) || !sb_sdp_lex_u32(ptf, 127, &pt))
        return sb_sdp_fail(p, "a=rtpmap: expected <pt 0..127> <encoding>/<clock>");
    char *clk = strchr(enc, '/'), *ch = NULL;
    if (!clk)
        return sb_sdp_fail(p, "a=rtpmap: expected <encoding>/<clock>");
    *clk++ = '\0';
    if ((ch = strchr(clk, '/')) != NULL)
        *ch++ = '\0';
    if (!sb_sdp_lex_token(enc) || strlen(enc) > 32 || !sb_sdp_lex_u32(clk, UINT32_MAX, &clock) ||
        clock == 0 || (ch && (!sb_sdp_lex_u32(ch, 255, &channels) || channels == 0)))
        return sb_sdp_fail(p, "a=rtpmap: bad encoding, clock rate or channels");
    sb_sdp_format_t *f = sb_sdp_attr_format(p->m, pt);
    if (!f)
        return 0; /* not on the m= line: ignored (RFC 8866 section 6.6) */
    if (f->encoding)
        return sb_sdp_fail(p, "a=rtpmap: duplicate for payload type %u", (unsigned)pt);
    f->encoding = sb_sdp_strdup(p->sdp, enc);
    f->clock_rate = clock;
    f->channels = (uint16_t)channels;
    return 0;
}

/* a=fmtp:<pt> <parameters> */
static int sb_sdp_attr_fmtp(sb_sdp_parser_t *p, const char *name, char *v)
{
    char *ptf = sb_sdp_lex_field(&v), *params = sb_sdp_lex_rest(v);
    uint32_t pt;
    if (!ptf || !sb_sdp_lex_u32(ptf, 127, &pt))
        return sb_sdp_fail(p, "a=fmtp: expected <pt 0..127> <parameters>");
    sb_sdp_format_t *f = sb_sdp_attr_format(p->m, pt);
    if (!f || !params)
        return 0;
    if (f->fmtp)
        return sb_sdp_fail(p, "a=fmtp: duplicate for payload type %u", (unsigned)pt);
    f->fmtp = sb_sdp_strdup(p->sdp, params);
    return 0;
}

/* a=rtcp-fb:<pt>|* <type> [<parameters>] (RFC 4585 section 4.2) */
static int sb_sdp_attr_rtcp_fb(sb_sdp_parser_t *p, const char *name, char *v)
{
    char *ptf = sb_sdp_lex_field(&v), *type = sb_sdp_lex_field(&v), *param = sb_sdp_lex_rest(v);
    sb_sdp_media_t *m = p->m;
    sb_sdp_rtcp_fb_t **arr;
    size_t *n;
    uint32_t pt;
    if (!ptf || !type || !sb_sdp_lex_token(type))
        return sb_sdp_fail(p, "a=rtcp-fb: expected <pt> <type> [<param>]");
    if (strcmp(ptf, "*") == 0) {
        arr = &m->fbs_all;
        n = &m->n_fbs_all;
    } else {
        if (!sb_sdp_lex_u32(ptf, 127, &pt))
            return sb_sdp_fail(p, "a=rtcp-fb: payload type must be 0..127 or *");
        sb_sdp_format_t *f = sb_sdp_attr_format(m, pt);
        if (!f)
            return 0;
        arr = &f->fbs;
        n = &f->n_fbs;
    }
    if (*n >= SB_SDP_MAX_FB)
        return sb_sdp_fail(p, "more than %d a=rtcp-fb for one payload type", SB_SDP_MAX_FB);
    sb_sdp_rtcp_fb_t *fb = SB_SDP_PUSH(p->sdp, *arr, *n);
    fb->type = sb_sdp_strdup(p->sdp, type);
    fb->param = sb_sdp_strdup(p->sdp, param);
    return 0;
}

/* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 section 4.1) */
static int sb_sdp_attr_ssrc(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_media_t *m = p->m;
    char *id = sb_sdp_lex_field(&v), *attr = sb_sdp_lex_rest(v);
    uint32_t ssrc;
    if (!id || !attr || !sb_sdp_lex_u32(id, UINT32_MAX, &ssrc))
        return sb_sdp_fail(p, "a=ssrc: expected <32-bit ssrc> <attribute>[:<value>]");
    char *value = strchr(attr, ':');
    if (value)
        *value++ = '\0';
    if (!sb_sdp_lex_token(attr))
        return sb_sdp_fail(p, "a=ssrc: bad attribute name");
    bool cname = strcmp(attr, "cname") == 0, msid = strcmp(attr, "msid") == 0;
    if (!cname && !msid)
        return 0; /* mslabel, label, ...: legacy, dropped */
    sb_sdp_ssrc_t *s = (sb_sdp_ssrc_t *)sb_sdp_media_ssrc(m, ssrc);
    if (!s) {
        if (m->n_ssrcs >= SB_SDP_MAX_SSRCS)
            return sb_sdp_fail(p, "more than %d SSRCs on one m-line", SB_SDP_MAX_SSRCS);
        s = SB_SDP_PUSH(p->sdp, m->ssrcs, m->n_ssrcs);
        s->ssrc = ssrc;
    }
    if (!value || !*value)
        return sb_sdp_fail(p, "a=ssrc: %s needs a value", attr);
    if (cname) {
        if (s->cname)
            return sb_sdp_fail(p, "a=ssrc: duplicate cname for %u", (unsigned)ssrc);
        s->cname = sb_sdp_strdup(p->sdp, value);
    } else if (!s->msid) {
        s->msid = sb_sdp_strdup(p->sdp, value);
    }
    return 0;
}

/* a=ssrc-group:<semantics> <ssrc>... (RFC 5576 section 4.2) */
static int sb_sdp_attr_ssrc_group(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_media_t *m = p->m;
    char *sem = sb_sdp_lex_field(&v), *f;
    if (!sem || !sb_sdp_lex_token(sem))
        return sb_sdp_fail(p, "a=ssrc-group: bad semantics");
    if (m->n_ssrc_groups >= SB_SDP_MAX_SSRC_GROUPS)
        return sb_sdp_fail(p, "more than %d a=ssrc-group lines", SB_SDP_MAX_SSRC_GROUPS);
    sb_sdp_ssrc_group_t *g = SB_SDP_PUSH(p->sdp, m->ssrc_groups, m->n_ssrc_groups);
    g->semantics = sb_sdp_strdup(p->sdp, sem);
    while ((f = sb_sdp_lex_field(&v)) != NULL) {
        uint32_t ssrc;
        if (!sb_sdp_lex_u32(f, UINT32_MAX, &ssrc))
            return sb_sdp_fail(p, "a=ssrc-group: bad ssrc");
        if (g->n_ssrcs >= SB_SDP_MAX_GROUP_SSRCS)
            return sb_sdp_fail(p, "a=ssrc-group: more than %d ssrcs", SB_SDP_MAX_GROUP_SSRCS);
        *SB_SDP_PUSH(p->sdp, g->ssrcs, g->n_ssrcs) = ssrc;
    }
    if (g->n_ssrcs == 0)
        return sb_sdp_fail(p, "a=ssrc-group: no ssrc");
    return 0;
}

/* a=rid:<rid-id> <send|recv> [<restrictions>] (RFC 8851 section 10) */
static int sb_sdp_attr_rid(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_media_t *m = p->m;
    char *id = sb_sdp_lex_field(&v), *dir = sb_sdp_lex_field(&v), *params = sb_sdp_lex_rest(v);
    if (!id || !dir || !sb_sdp_lex_rid_id(id) || strlen(id) > SB_SDP_MAX_RID_LEN)
        return sb_sdp_fail(p, "a=rid: expected <rid-id> send|recv");
    if (strcmp(dir, "send") != 0 && strcmp(dir, "recv") != 0)
        return sb_sdp_fail(p, "a=rid: direction must be send or recv");
    for (size_t i = 0; i < m->n_rids; i++)
        if (strcmp(m->rids[i].id, id) == 0)
            return sb_sdp_fail(p, "a=rid: duplicate rid '%s'", id);
    if (m->n_rids >= SB_SDP_MAX_RIDS)
        return sb_sdp_fail(p, "more than %d a=rid lines", SB_SDP_MAX_RIDS);
    sb_sdp_rid_t *r = SB_SDP_PUSH(p->sdp, m->rids, m->n_rids);
    r->id = sb_sdp_strdup(p->sdp, id);
    r->dir = dir[0] == 's' ? SB_SDP_RID_SEND : SB_SDP_RID_RECV;
    r->params = sb_sdp_strdup(p->sdp, params);
    return 0;
}

/* One sc-str-list: alternatives separated by ',', streams by ';', '~' marks paused. */
static int sb_sdp_attr_sim_list(sb_sdp_parser_t *p, char *list, sb_sdp_sim_rid_t **arr, size_t *n)
{
    unsigned stream = 0;
    char *s = list;
    for (;;) {
        size_t len = strcspn(s, ",;");
        char sep = s[len];
        s[len] = '\0';
        bool paused = s[0] == '~';
        char *rid = paused ? s + 1 : s;
        if (!sb_sdp_lex_rid_id(rid) || strlen(rid) > SB_SDP_MAX_RID_LEN)
            return sb_sdp_fail(p, "a=simulcast: bad rid '%.32s'", rid);
        for (size_t i = 0; i < *n; i++)
            if (strcmp((*arr)[i].rid, rid) == 0)
                return sb_sdp_fail(p, "a=simulcast: rid '%s' listed twice", rid);
        if (*n >= SB_SDP_MAX_RIDS)
            return sb_sdp_fail(p, "a=simulcast: more than %d rids", SB_SDP_MAX_RIDS);
        sb_sdp_sim_rid_t *e = SB_SDP_PUSH(p->sdp, *arr, *n);
        e->rid = sb_sdp_strdup(p->sdp, rid);
        e->stream = (uint8_t)stream;
        e->paused = paused;
        if (sep == '\0')
            return 0;
        if (sep == ';')
            stream++;
        s += len + 1;
    }
}

/* a=simulcast:<send|recv> <list> [<send|recv> <list>] (RFC 8853 section 5.1) */
static int sb_sdp_attr_simulcast(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_simulcast_t *sc = &p->m->simulcast;
    int lists = 0;
    char *dir;
    if (sb_sdp_attr_once(p, SB_SDP_SEEN_SIMULCAST, name))
        return SB_EINVAL;
    while ((dir = sb_sdp_lex_field(&v)) != NULL) {
        char *list = sb_sdp_lex_field(&v);
        bool send = strcmp(dir, "send") == 0;
        if (!list || (!send && strcmp(dir, "recv") != 0) || ++lists > 2)
            return sb_sdp_fail(p, "a=simulcast: expected send|recv <rid list>");
        if ((send && sc->n_send) || (!send && sc->n_recv))
            return sb_sdp_fail(p, "a=simulcast: direction given twice");
        int rc = send ? sb_sdp_attr_sim_list(p, list, &sc->send, &sc->n_send)
                      : sb_sdp_attr_sim_list(p, list, &sc->recv, &sc->n_recv);
        if (rc)
            return rc;
    }
    if (lists == 0)
        return sb_sdp_fail(p, "a=simulcast: empty");
    return 0;
}

static int sb_sdp_attr_candidate(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_media_t *m = p->m;
    sb_sdp_candidate_t cand;
    char why[128];
    if (sb_sdp_candidate_parse(v, &cand, why, sizeof(why)) != 0)
        return sb_sdp_fail(p, "a=candidate: %s", why);
    if (m->n_candidates >= SB_SDP_MAX_CANDIDATES)
        return sb_sdp_fail(p, "more than %d candidates on one m-line", SB_SDP_MAX_CANDIDATES);
    *SB_SDP_PUSH(p->sdp, m->candidates, m->n_candidates) = sb_sdp_strdup(p->sdp, v);
    return 0;
}

static int sb_sdp_attr_other(sb_sdp_parser_t *p, const char *name, char *v)
{
    sb_sdp_attr_t **arr = p->m ? &p->m->attrs : &p->sdp->attrs;
    size_t *n = p->m ? &p->m->n_attrs : &p->sdp->n_attrs;
    if (*n >= SB_SDP_MAX_ATTRS)
        return sb_sdp_fail(p, "more than %d other attributes at one level", SB_SDP_MAX_ATTRS);
    sb_sdp_attr_t *a = SB_SDP_PUSH(p->sdp, *arr, *n);
    a->name = sb_sdp_strdup(p->sdp, name);
    a->value = sb_sdp_strdup(p->sdp, v);
    return 0;
}

static const struct {
    const char *name;
    unsigned level;
    bool value; /* takes a value */
    sb_sdp_attr_fn fn;
} sb_sdp_attrs[] = {
    {"group", LVL_SESSION, true, sb_sdp_attr_group},
    {"ice-lite", LVL_SESSION, false, sb_sdp_attr_flag},
    {"ice-ufrag", LVL_BOTH, true, sb_sdp_attr_ice_cred},
    {"ice-pwd", LVL_BOTH, true, sb_sdp_attr_ice_cred},
    {"ice-options", LVL_BOTH, true, sb_sdp_attr_ice_options},
    {"fingerprint", LVL_BOTH, true, sb_sdp_attr_fingerprint},
    {"setup", LVL_BOTH, true, sb_sdp_attr_setup},
    {"sendrecv", LVL_BOTH, false, sb_sdp_attr_direction},
    {"sendonly", LVL_BOTH, false, sb_sdp_attr_direction},
    {"recvonly", LVL_BOTH, false, sb_sdp_attr_direction},
    {"inactive", LVL_BOTH, false, sb_sdp_attr_direction},
    {"extmap", LVL_BOTH, true, sb_sdp_attr_extmap},
    {"extmap-allow-mixed", LVL_BOTH, false, sb_sdp_attr_flag},
    {"end-of-candidates", LVL_BOTH, false, sb_sdp_attr_flag},
    {"mid", LVL_MEDIA, true, sb_sdp_attr_mid},
    {"rtcp-mux", LVL_MEDIA, false, sb_sdp_attr_flag},
    {"rtcp-mux-only", LVL_MEDIA, false, sb_sdp_attr_flag},
    {"rtcp-rsize", LVL_MEDIA, false, sb_sdp_attr_flag},
    {"bundle-only", LVL_MEDIA, false, sb_sdp_attr_flag},
    {"msid", LVL_MEDIA, true, sb_sdp_attr_msid},
    {"rtpmap", LVL_MEDIA, true, sb_sdp_attr_rtpmap},
    {"fmtp", LVL_MEDIA, true, sb_sdp_attr_fmtp},
    {"rtcp-fb", LVL_MEDIA, true, sb_sdp_attr_rtcp_fb},
    {"ssrc", LVL_MEDIA, true, sb_sdp_attr_ssrc},
    {"ssrc-group", LVL_MEDIA, true, sb_sdp_attr_ssrc_group},
    {"rid", LVL_MEDIA, true, sb_sdp_attr_rid},
    {"simulcast", LVL_MEDIA, true, sb_sdp_attr_simulcast},
    {"candidate", LVL_MEDIA, true, sb_sdp_attr_candidate},
};

int sb_sdp_parse_attr(sb_sdp_parser_t *p, char *name, char *value)
{
    if (!sb_sdp_lex_token(name) || strlen(name) > 64)
        return sb_sdp_fail(p, "bad attribute name");
    for (size_t i = 0; i < sizeof(sb_sdp_attrs) / sizeof(sb_sdp_attrs[0]); i++) {
        if (strcmp(sb_sdp_attrs[i].name, name) != 0)
            continue;
        unsigned level = p->m ? LVL_MEDIA : LVL_SESSION;
        if (!(sb_sdp_attrs[i].level & level))
            return sb_sdp_fail(p, "a=%s is not allowed at %s level", name,
                               p->m ? "media" : "session");
        if (sb_sdp_attrs[i].value && (!value || !sb_sdp_lex_rest(value)))
            return sb_sdp_fail(p, "a=%s needs a value", name);
        if (!sb_sdp_attrs[i].value && value)
            return sb_sdp_fail(p, "a=%s takes no value", name);
        /* Values start after the colon; leading spaces are tolerated ("a=msid-semantic: WMS"). */
        return sb_sdp_attrs[i].fn(p, name, value ? sb_sdp_lex_rest(value) : NULL);
    }
    return sb_sdp_attr_other(p, name, value);
}
