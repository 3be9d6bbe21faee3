/* The data channel m-line (RFC 8841, RFC 8831 section 5): checking an offered
 * m=application, what it tells (the peer's SCTP port and max-message-size), and our answer
 * to it. Both forms are accepted: today's "UDP/DTLS/SCTP webrtc-datachannel" with
 * a=sctp-port, and the older "DTLS/SCTP 5000" with a=sctpmap (aiortc 1.4 still offers it),
 * answered in the form offered; our own offers use today's form. Sans-IO, any thread. */
#include <stdio.h>
#include <string.h>

#include "proto/negotiate.h"
#include "proto/negotiate_internal.h"
#include "proto/sdp_internal.h"

#define SB_NEGOTIATE_SCTP_DEFAULT_PORT 5000
#define SB_NEGOTIATE_MAX_MESSAGE_DEFAULT 65536 /* RFC 8841 section 6: when absent */

static const char *sb_negotiate_data_attr(const sb_sdp_media_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_attrs; i++)
        if (!strcmp(m->attrs[i].name, name))
            return m->attrs[i].value ? m->attrs[i].value : "";
    return NULL;
}

static bool sb_negotiate_data_legacy(const sb_sdp_media_t *m)
{
    return m->proto && !strcmp(m->proto, "DTLS/SCTP");
}

const char *sb_negotiate_data_check(const sb_sdp_media_t *m)
{
    if (m->rtp || !m->proto)
        return "not an SCTP m-line";
    if (sb_negotiate_data_legacy(m)) {
        const char *map = sb_negotiate_data_attr(m, "sctpmap");
        if (!map || !strstr(map, "webrtc-datachannel"))
            return "DTLS/SCTP without a=sctpmap for webrtc-datachannel";
        return NULL;
    }
    if (strcmp(m->proto, "UDP/DTLS/SCTP") && strcmp(m->proto, "TCP/DTLS/SCTP"))
        return "unsupported data channel transport";
    if (!m->fmt_text || strcmp(m->fmt_text, "webrtc-datachannel"))
        return "the SCTP m-line must carry webrtc-datachannel";
    return NULL;
}

void sb_negotiate_data_summary(const sb_sdp_media_t *om, sb_negotiate_media_t *s)
{
    uint32_t v;
    s->pt = -1;
    s->dir = SB_SDP_DIR_SENDRECV;
    s->sctp_port = SB_NEGOTIATE_SCTP_DEFAULT_PORT;
    s->legacy_sctpmap = sb_negotiate_data_legacy(om);
    const char *port = s->legacy_sctpmap ? om->fmt_text : sb_negotiate_data_attr(om, "sctp-port");
    if (port && sb_sdp_lex_u32(port, 65535, &v) && v)
        s->sctp_port = (uint16_t)v;
    const char *mms = sb_negotiate_data_attr(om, "max-message-size");
    s->max_message_size = SB_NEGOTIATE_MAX_MESSAGE_DEFAULT;
    if (mms && sb_sdp_lex_u32(mms, UINT32_MAX, &v))
        s->max_message_size = v; /* 0: the peer takes any size */
}

static void sb_negotiate_data_add_attr(sb_sdp_t *sdp, sb_sdp_media_t *m, const char *name,
                                       const char *value)
{
    sb_sdp_attr_t *a = SB_SDP_PUSH(sdp, m->attrs, m->n_attrs);
    a->name = sb_sdp_strdup(sdp, name);
    a->value = sb_sdp_strdup(sdp, value);
}

void sb_negotiate_data_answer(sb_sdp_t *ans, sb_sdp_media_t *am, const sb_negotiate_media_t *s,
                              uint32_t local_max_message)
{
    char v[48];
    am->dir = SB_SDP_DIR_UNSET; /* no direction attribute on an SCTP m-line */
    if (s->legacy_sctpmap) {
        am->fmt_text = sb_sdp_strdup(ans, "5000");
        snprintf(v, sizeof(v), "5000 webrtc-datachannel %u", SB_NEGOTIATE_SCTP_STREAMS);
        sb_negotiate_data_add_attr(ans, am, "sctpmap", v);
    } else {
        am->fmt_text = sb_sdp_strdup(ans, "webrtc-datachannel");
        sb_negotiate_data_add_attr(ans, am, "sctp-port", "5000");
    }
    snprintf(v, sizeof(v), "%u", local_max_message);
    sb_negotiate_data_add_attr(ans, am, "max-message-size", v);
}

void sb_negotiate_data_offer(sb_sdp_t *sdp, sb_sdp_media_t *m, uint32_t local_max_message)
{
    m->rtp = false;
    m->proto = "UDP/DTLS/SCTP";
    sb_negotiate_media_t modern = {.legacy_sctpmap = false};
    sb_negotiate_data_answer(sdp, m, &modern, local_max_message);
}
