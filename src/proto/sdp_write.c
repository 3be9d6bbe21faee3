/* SDP writer: turns an sb_sdp_t into text with CRLF line endings, session lines in RFC 8866
 * order (v o s c b t a), then each m= section (m c b a). Attributes are written in a fixed
 * order close to what browsers emit, so that parse(write(x)) gives back the same model and
 * write(parse(write(x))) the same text.
 *
 * Does not validate the model: builders (negotiate.c) are trusted to put valid values in it;
 * missing required values are replaced by neutral defaults so the output stays parseable.
 *
 * Thread: any; pure function of its argument. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "proto/sdp.h"

typedef struct sb_sdp_buf {
    char *data;
    size_t len, cap;
} sb_sdp_buf_t;

static void sb_sdp_buf_add(sb_sdp_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_sdp_buf_add(sb_sdp_buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->data = sb_realloc(b->data, b->cap);
    }
}

static const char *sb_sdp_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

static void sb_sdp_write_transport(sb_sdp_buf_t *b, const sb_sdp_transport_t *t)
{
    if (t->ice_ufrag)
        sb_sdp_buf_add(b, "a=ice-ufrag:%s\r\n", t->ice_ufrag);
    if (t->ice_pwd)
        sb_sdp_buf_add(b, "a=ice-pwd:%s\r\n", t->ice_pwd);
    if (t->ice_options)
        sb_sdp_buf_add(b, "a=ice-options:%s\r\n", t->ice_options);
    for (size_t i = 0; i < t->n_fingerprints; i++)
        sb_sdp_buf_add(b, "a=fingerprint:%s %s\r\n", t->fingerprints[i].hash,
                       t->fingerprints[i].value);
    if (t->setup != SB_SDP_SETUP_UNSET)
        sb_sdp_buf_add(b, "a=setup:%s\r\n", sb_sdp_setup_name(t->setup));
}

static void sb_sdp_write_extmaps(sb_sdp_buf_t *b, const sb_sdp_extmap_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sb_sdp_buf_add(b, "a=extmap:%u", (unsigned)e[i].id);
        if (e[i].dir != SB_SDP_DIR_UNSET)
            sb_sdp_buf_add(b, "/%s", sb_sdp_dir_name(e[i].dir));
        sb_sdp_buf_add(b, " %s%s%s\r\n", sb_sdp_or(e[i].uri, "-"), e[i].params ? " " : "",
                       e[i].params ? e[i].params : "");
    }
}

static void sb_sdp_write_attrs(sb_sdp_buf_t *b, const sb_sdp_attr_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].value)
            sb_sdp_buf_add(b, "a=%s:%s\r\n", a[i].name, a[i].value);
        else
            sb_sdp_buf_add(b, "a=%s\r\n", a[i].name);
    }
}

static void sb_sdp_write_fbs(sb_sdp_buf_t *b, const char *pt, const sb_sdp_rtcp_fb_t *fb, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_sdp_buf_add(b, "a=rtcp-fb:%s %s%s%s\r\n", pt, fb[i].type, fb[i].param ? " " : "",
                       fb[i].param ? fb[i].param : "");
}

static void sb_sdp_write_formats(sb_sdp_buf_t *b, const sb_sdp_media_t *m)
{
    for (size_t i = 0; i < m->n_formats; i++) {
        const sb_sdp_format_t *f = &m->formats[i];
        char pt[4];
        snprintf(pt, sizeof(pt), "%u", (unsigned)f->pt);
        if (f->encoding) {
            sb_sdp_buf_add(b, "a=rtpmap:%s %s/%u", pt, f->encoding, (unsigned)f->clock_rate);
            if (f->channels)
                sb_sdp_buf_add(b, "/%u", (unsigned)f->channels);
            sb_sdp_buf_add(b, "\r\n");
        }
        sb_sdp_write_fbs(b, pt, f->fbs, f->n_fbs);
        if (f->fmtp)
            sb_sdp_buf_add(b, "a=fmtp:%s %s\r\n", pt, f->fmtp);
    }
    sb_sdp_write_fbs(b, "*", m->fbs_all, m->n_fbs_all);
}

static void sb_sdp_write_ssrcs(sb_sdp_buf_t *b, const sb_sdp_media_t *m)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sb_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        sb_sdp_buf_add(b, "a=ssrc-group:%s", g->semantics);
        for (size_t j = 0; j < g->n_ssrcs; j++)
            sb_sdp_buf_add(b, " %u", (unsigned)g->ssrcs[j]);
        sb_sdp_buf_add(b, "\r\n");
    }
    for (size_t i = 0; i < m->n_ssrcs; i++) {
        const sb_sdp_ssrc_t *s = &m->ssrcs[i];
        if (s->cname)
            sb_sdp_buf_add(b, "a=ssrc:%u cname:%s\r\n", (unsigned)s->ssrc, s->cname);
        if (s->msid)
            sb_sdp_buf_add(b, "a=ssrc:%u msid:%s\r\n", (unsigned)s->ssrc, s->msid);
    }
}

static void sb_sdp_write_sim_list(sb_sdp_buf_t *b, const char *dir, const sb_sdp_sim_rid_t *r,
                                  size_t n)
{
    if (n == 0)
        return;
    sb_sdp_buf_add(b, "%s", dir);
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? " " : r[i].stream == r[i - 1].stream ? "," : ";";
        sb_sdp_buf_add(b, "%s%s%s", sep, r[i].paused ? "~" : "", r[i].rid);
    }
}

static void sb_sdp_write_simulcast(sb_sdp_buf_t *b, const sb_sdp_media_t *m)
{
    for (size_t i = 0; i < m->n_rids; i++) {
        const sb_sdp_rid_t *r = &m->rids[i];
        sb_sdp_buf_add(b, "a=rid:%s %s%s%s\r\n", r->id, r->dir == SB_SDP_RID_SEND ? "send" : "recv",
                       r->params ? " " : "", r->params ? r->params : "");
    }
    const sb_sdp_simulcast_t *sc = &m->simulcast;
    if (sc->n_send == 0 && sc->n_recv == 0)
        return;
    sb_sdp_buf_add(b, "a=simulcast:");
    sb_sdp_write_sim_list(b, "send", sc->send, sc->n_send);
    if (sc->n_send && sc->n_recv)
        sb_sdp_buf_add(b, " ");
    sb_sdp_write_sim_list(b, "recv", sc->recv, sc->n_recv);
    sb_sdp_buf_add(b, "\r\n");
}

static void sb_sdp_write_mline(sb_sdp_buf_t *b, const sb_sdp_media_t *m)
{
    const char *name = m->media ? m->media : sb_sdp_kind_name(m->kind);
    sb_sdp_buf_add(b, "m=%s %u %s", name, (unsigned)m->port, sb_sdp_or(m->proto, "RTP/AVP"));
    if (m->rtp) {
        for (size_t i = 0; i < m->n_formats; i++)
            sb_sdp_buf_add(b, " %u", (unsigned)m->formats[i].pt);
        if (m->n_formats == 0)
            sb_sdp_buf_add(b, " 0");
    } else {
        sb_sdp_buf_add(b, " %s", sb_sdp_or(m->fmt_text, "-"));
    }
    sb_sdp_buf_add(b, "\r\n");
}

static void sb_sdp_write_media(sb_sdp_buf_t *b, const sb_sdp_media_t *m)
{
    sb_sdp_write_mline(b, m);
    if (m->connection)
        sb_sdp_buf_add(b, "c=%s\r\n", m->connection);
    if (m->bw_as)
        sb_sdp_buf_add(b, "b=AS:%u\r\n", (unsigned)m->bw_as);
    if (m->bw_tias)
        sb_sdp_buf_add(b, "b=TIAS:%u\r\n", (unsigned)m->bw_tias);
    for (size_t i = 0; i < m->n_candidates; i++)
        sb_sdp_buf_add(b, "a=candidate:%s\r\n", m->candidates[i]);
    if (m->end_of_candidates)
        sb_sdp_buf_add(b, "a=end-of-candidates\r\n");
    sb_sdp_write_transport(b, &m->transport);
    if (m->mid)
        sb_sdp_buf_add(b, "a=mid:%s\r\n", m->mid);
    if (m->extmap_allow_mixed)
        sb_sdp_buf_add(b, "a=extmap-allow-mixed\r\n");
    sb_sdp_write_extmaps(b, m->extmaps, m->n_extmaps);
    if (m->dir != SB_SDP_DIR_UNSET)
        sb_sdp_buf_add(b, "a=%s\r\n", sb_sdp_dir_name(m->dir));
    if (m->msid)
        sb_sdp_buf_add(b, "a=msid:%s\r\n", m->msid);
    if (m->rtcp_mux)
        sb_sdp_buf_add(b, "a=rtcp-mux\r\n");
    if (m->rtcp_mux_only)
        sb_sdp_buf_add(b, "a=rtcp-mux-only\r\n");
    if (m->rtcp_rsize)
        sb_sdp_buf_add(b, "a=rtcp-rsize\r\n");
    if (m->bundle_only)
        sb_sdp_buf_add(b, "a=bundle-only\r\n");
    sb_sdp_write_formats(b, m);
    sb_sdp_write_ssrcs(b, m);
    sb_sdp_write_simulcast(b, m);
    sb_sdp_write_attrs(b, m->attrs, m->n_attrs);
}

static void sb_sdp_write_session(sb_sdp_buf_t *b, const sb_sdp_t *sdp)
{
    sb_sdp_buf_add(b, "v=0\r\no=%s %llu %llu %s\r\ns=%s\r\n", sb_sdp_or(sdp->origin_user, "-"),
                   (unsigned long long)sdp->session_id, (unsigned long long)sdp->session_version,
                   sb_sdp_or(sdp->origin_addr, "IN IP4 0.0.0.0"), sb_sdp_or(sdp->name, "-"));
    if (sdp->connection)
        sb_sdp_buf_add(b, "c=%s\r\n", sdp->connection);
    if (sdp->bw_as)
        sb_sdp_buf_add(b, "b=AS:%u\r\n", (unsigned)sdp->bw_as);
    if (sdp->bw_tias)
        sb_sdp_buf_add(b, "b=TIAS:%u\r\n", (unsigned)sdp->bw_tias);
    sb_sdp_buf_add(b, "t=%s\r\n", sb_sdp_or(sdp->timing, "0 0"));
    for (size_t i = 0; i < sdp->n_groups; i++) {
        sb_sdp_buf_add(b, "a=group:%s", sdp->groups[i].semantics);
        for (size_t j = 0; j < sdp->groups[i].n_mids; j++)
            sb_sdp_buf_add(b, " %s", sdp->groups[i].mids[j]);
        sb_sdp_buf_add(b, "\r\n");
    }
    if (sdp->ice_lite)
        sb_sdp_buf_add(b, "a=ice-lite\r\n");
    sb_sdp_write_transport(b, &sdp->transport);
    if (sdp->dir != SB_SDP_DIR_UNSET)
        sb_sdp_buf_add(b, "a=%s\r\n", sb_sdp_dir_name(sdp->dir));
    if (sdp->extmap_allow_mixed)
        sb_sdp_buf_add(b, "a=extmap-allow-mixed\r\n");
    sb_sdp_write_extmaps(b, sdp->extmaps, sdp->n_extmaps);
    if (sdp->end_of_candidates)
        sb_sdp_buf_add(b, "a=end-of-candidates\r\n");
    sb_sdp_write_attrs(b, sdp->attrs, sdp->n_attrs);
}

char *sb_sdp_write(const sb_sdp_t *sdp, size_t *len)
{
    sb_sdp_buf_t b = {.cap = 2048};
    b.data = sb_malloc(b.cap);
    b.data[0] = '\0';
    sb_sdp_write_session(&b, sdp);
    for (size_t i = 0; i < sdp->n_media; i++)
        sb_sdp_write_media(&b, &sdp->media[i]);
    if (len)
        *len = b.len;
    return b.data;
}
