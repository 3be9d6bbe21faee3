/* First-byte demultiplexing (RFC 7983 §7) and RTP/RTCP separation on a muxed port
 * (RFC 5761 §4).
 *
 * Does not: parse or validate the packet behind the first bytes (the STUN agent, the DTLS
 * unit and the RTP/RTCP parsers do that), or handle ZRTP, TURN channels or QUIC, which
 * WebRTC does not use on a media component: those come back as SB_PKT_UNKNOWN.
 * Pure functions: any thread. */
#include "proto/demux.h"

#include "proto/byteorder.h"

#define SB_DEMUX_STUN_MIN 20u
#define SB_DEMUX_DTLS_MIN 13u
#define SB_DEMUX_RTP_MIN 12u
#define SB_DEMUX_RTCP_MIN 8u
#define SB_DEMUX_STUN_COOKIE 0x2112A442u

/* RFC 5761 §4: RTCP packet types 192..223 occupy, with the marker bit masked, the RTP payload
 * types 64..95, which a muxing endpoint must therefore never use for RTP. */
static sb_pkt_kind_t sb_demux_rtp_or_rtcp(const uint8_t *buf, size_t len)
{
    uint8_t pt = buf[1] & 0x7f;

    if (pt >= 64 && pt <= 95)
        return len >= SB_DEMUX_RTCP_MIN ? SB_PKT_RTCP : SB_PKT_UNKNOWN;
    return len >= SB_DEMUX_RTP_MIN ? SB_PKT_RTP : SB_PKT_UNKNOWN;
}

sb_pkt_kind_t sb_demux_classify(const uint8_t *buf, size_t len)
{
    uint8_t b;

    if (buf == NULL || len < 2)
        return SB_PKT_UNKNOWN;
    b = buf[0];
    if (b <= 3) {
        /* ICE needs RFC 5389 STUN, whose fixed cookie makes a misread first byte harmless. */
        if (len < SB_DEMUX_STUN_MIN || sb_be32(buf + 4) != SB_DEMUX_STUN_COOKIE)
            return SB_PKT_UNKNOWN;
        return SB_PKT_STUN;
    }
    if (b >= 20 && b <= 63)
        return len >= SB_DEMUX_DTLS_MIN ? SB_PKT_DTLS : SB_PKT_UNKNOWN;
    if (b >= 128 && b <= 191)
        return sb_demux_rtp_or_rtcp(buf, len);
    return SB_PKT_UNKNOWN;
}

const char *sb_demux_kind_name(sb_pkt_kind_t kind)
{
    switch (kind) {
    case SB_PKT_STUN: return "stun";
    case SB_PKT_DTLS: return "dtls";
    case SB_PKT_RTP: return "rtp";
    case SB_PKT_RTCP: return "rtcp";
    case SB_PKT_UNKNOWN: break;
    }
    return "unknown";
}
