/* The SDP of a PeerConnection between two nodes (span.c), rewritten between its two shapes.
 *
 * On the publisher's node the link is a subscriber with one m-line per (stream, simulcast
 * layer) of the publisher, each pinned to its layer, so every layer crosses once with its
 * own SSRC. On the other node the same link is the publisher as its clients know it: one
 * m-line per stream whose layers are an ssrc-group:SIM of those SSRCs, and the publisher's
 * own mids. The offer goes from the first shape to the second, the answer back. On the wire
 * nothing changes (the same SSRCs, payload types and header extension ids); the mid, rid and
 * transport-wide CC header extensions are left out of the link (a mid would name an m-line
 * of the other shape; the link's bandwidth is not estimated: every layer crosses).
 *
 * Pure text functions, any thread. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "videoroom.h"

/* One m-section (from its "m=" line to the next), split into lines without CRLF. */
typedef struct sb_span_msec {
    GPtrArray *lines; /* char*, owned */
    char mid[64];
} sb_span_msec_t;

typedef struct sb_span_sdp {
    GPtrArray *session; /* lines before the first m= */
    sb_span_msec_t sec[SB_VR_SPAN_MAX_MLINES];
    unsigned n;
} sb_span_sdp_t;

static void sb_span_sdp_free(sb_span_sdp_t *s)
{
    if (s->session)
        g_ptr_array_free(s->session, TRUE);
    for (unsigned i = 0; i < s->n; i++)
        g_ptr_array_free(s->sec[i].lines, TRUE);
}

static int sb_span_sdp_parse(const char *text, sb_span_sdp_t *s)
{
    memset(s, 0, sizeof(*s));
    s->session = g_ptr_array_new_with_free_func(g_free);
    char **lines = g_strsplit(text, "\n", -1);
    int rc = 0;
    for (char **l = lines; *l; l++) {
        char *line = g_strchomp(*l); /* drops the \r */
        if (!*line)
            continue;
        if (!strncmp(line, "m=", 2)) {
            if (s->n >= SB_VR_SPAN_MAX_MLINES) {
                rc = -1;
                break;
            }
            s->sec[s->n].lines = g_ptr_array_new_with_free_func(g_free);
            s->n++;
        }
        if (s->n == 0) {
            g_ptr_array_add(s->session, g_strdup(line));
            continue;
        }
        sb_span_msec_t *m = &s->sec[s->n - 1];
        g_ptr_array_add(m->lines, g_strdup(line));
        if (!strncmp(line, "a=mid:", 6))
            snprintf(m->mid, sizeof(m->mid), "%s", line + 6);
    }
    g_strfreev(lines);
    if (rc < 0)
        sb_span_sdp_free(s);
    return rc;
}

/* Lines a link leaves out, and the attributes the rewrite puts back itself. */
static bool sb_span_line_dropped(const char *line)
{
    static const char *const exts[] = {"urn:ietf:params:rtp-hdrext:sdes:mid",
                                       "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
                                       "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
                                       "transport-wide-cc"};
    if (!strncmp(line, "a=extmap:", 9)) {
        for (size_t i = 0; i < G_N_ELEMENTS(exts); i++)
            if (strstr(line, exts[i]))
                return true;
    }
    return (!strncmp(line, "a=rtcp-fb:", 10) && strstr(line, "transport-cc")) ||
           !strncmp(line, "a=mid:", 6) || !strncmp(line, "a=ssrc:", 7) ||
           !strncmp(line, "a=ssrc-group:", 13) || !strncmp(line, "a=rid:", 6) ||
           !strncmp(line, "a=simulcast:", 12);
}

/* The SSRC of an m-section (its first a=ssrc), and the RTX one paired with it (FID), or 0. */
static void sb_span_ssrcs(const sb_span_msec_t *m, uint32_t *ssrc, uint32_t *rtx)
{
    *ssrc = *rtx = 0;
    for (guint i = 0; i < m->lines->len; i++) {
        const char *l = g_ptr_array_index(m->lines, i);
        unsigned a, b;
        if (!*ssrc && sscanf(l, "a=ssrc:%u", &a) == 1)
            *ssrc = a;
        if (sscanf(l, "a=ssrc-group:FID %u %u", &a, &b) == 2)
            *rtx = b;
    }
}

/* The session part with its BUNDLE group naming mids (n of them). */
static void sb_span_session(GString *out, const sb_span_sdp_t *s, const char *const *mids,
                            unsigned n)
{
    for (guint i = 0; i < s->session->len; i++) {
        const char *l = g_ptr_array_index(s->session, i);
        if (!strncmp(l, "a=group:BUNDLE", 14)) {
            g_string_append(out, "a=group:BUNDLE");
            for (unsigned k = 0; k < n; k++)
                g_string_append_printf(out, " %s", mids[k]);
            g_string_append(out, "\r\n");
        } else {
            g_string_append_printf(out, "%s\r\n", l);
        }
    }
}

/* m-section m without what the link leaves out, with mid. */
static void sb_span_section(GString *out, const sb_span_msec_t *m, const char *mid)
{
    for (guint i = 0; i < m->lines->len; i++) {
        const char *l = g_ptr_array_index(m->lines, i);
        if (!sb_span_line_dropped(l))
            g_string_append_printf(out, "%s\r\n", l);
        if (i == 0) /* right after the m= line, where browsers put it */
            g_string_append_printf(out, "a=mid:%s\r\n", mid);
    }
}

char *sb_vr_span_sdp_merge(const char *offer, const sb_vr_span_map_t *map, unsigned nmap)
{
    sb_span_sdp_t s;
    if (sb_span_sdp_parse(offer, &s) < 0)
        return NULL;
    if (s.n != nmap) {
        sb_span_sdp_free(&s);
        return NULL;
    }
    /* The publisher's streams, in the order of their first layer. */
    const char *mids[SB_VR_SPAN_MAX_MLINES] = {NULL};
    unsigned nmids = 0;
    for (unsigned k = 0; k < nmap; k++)
        if (map[k].layer == 0)
            mids[nmids++] = map[k].mid;
    GString *out = g_string_new(NULL);
    sb_span_session(out, &s, mids, nmids);
    for (unsigned k = 0; k < nmap; k++) {
        if (map[k].layer != 0)
            continue;
        sb_span_section(out, &s.sec[k], map[k].mid);
        uint32_t ssrc[SB_MEDIA_MAX_LAYERS] = {0}, rtx[SB_MEDIA_MAX_LAYERS] = {0};
        unsigned layers = 0;
        for (unsigned j = 0; j < nmap; j++) {
            if (strcmp(map[j].mid, map[k].mid) || map[j].layer >= SB_MEDIA_MAX_LAYERS)
                continue;
            sb_span_ssrcs(&s.sec[j], &ssrc[map[j].layer], &rtx[map[j].layer]);
            layers = MAX(layers, map[j].layer + 1);
        }
        for (unsigned l = 0; l < layers; l++) {
            g_string_append_printf(out, "a=ssrc:%u cname:switchboard-link\r\n", ssrc[l]);
            if (rtx[l])
                g_string_append_printf(out, "a=ssrc:%u cname:switchboard-link\r\n", rtx[l]);
        }
        for (unsigned l = 0; l < layers; l++)
            if (rtx[l])
                g_string_append_printf(out, "a=ssrc-group:FID %u %u\r\n", ssrc[l], rtx[l]);
        if (layers > 1) {
            g_string_append(out, "a=ssrc-group:SIM");
            for (unsigned l = 0; l < layers; l++)
                g_string_append_printf(out, " %u", ssrc[l]);
            g_string_append(out, "\r\n");
        }
    }
    sb_span_sdp_free(&s);
    return g_string_free(out, FALSE);
}

char *sb_vr_span_sdp_split(const char *answer, const sb_vr_span_map_t *map, unsigned nmap,
                           const char *const *link_mids)
{
    sb_span_sdp_t s;
    if (sb_span_sdp_parse(answer, &s) < 0)
        return NULL;
    GString *out = g_string_new(NULL);
    sb_span_session(out, &s, link_mids, nmap);
    for (unsigned k = 0; k < nmap; k++) {
        const sb_span_msec_t *m = NULL;
        for (unsigned i = 0; i < s.n && !m; i++)
            if (!strcmp(s.sec[i].mid, map[k].mid))
                m = &s.sec[i];
        if (!m) {
            sb_span_sdp_free(&s);
            g_string_free(out, TRUE);
            return NULL;
        }
        sb_span_section(out, m, link_mids[k]);
    }
    sb_span_sdp_free(&s);
    return g_string_free(out, FALSE);
}

unsigned sb_vr_span_sdp_mids(const char *sdp, char mids[][64], unsigned max)
{
    sb_span_sdp_t s;
    if (sb_span_sdp_parse(sdp, &s) < 0)
        return 0;
    unsigned n = MIN(s.n, max);
    for (unsigned i = 0; i < n; i++)
        snprintf(mids[i], 64, "%s", s.sec[i].mid);
    sb_span_sdp_free(&s);
    return n;
}
