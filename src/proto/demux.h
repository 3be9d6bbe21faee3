/* First-byte demultiplexing of the datagrams of one ICE component (RFC 7983), with RTP and
 * RTCP told apart on a muxed port by the payload type (RFC 5761 §4).
 * Pure function, no state: any thread. */
#ifndef SB_PROTO_DEMUX_H
#define SB_PROTO_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum sb_pkt_kind {
    SB_PKT_UNKNOWN = 0, /* not ours, or too short to be what the first byte says */
    SB_PKT_STUN,        /* first byte 0..3, >= 20 bytes, RFC 5389 magic cookie */
    SB_PKT_DTLS,        /* first byte 20..63, >= 13 bytes (one record header) */
    SB_PKT_RTP,         /* first byte 128..191, >= 12 bytes, PT not in 64..95 */
    SB_PKT_RTCP,        /* first byte 128..191, >= 8 bytes, packet type 192..223 */
} sb_pkt_kind_t;

/* Classify a received datagram. buf may be NULL when len is 0. Never reads past len.
 * Only the first bytes are looked at: a classified packet still needs its own parser. */
sb_pkt_kind_t sb_demux_classify(const uint8_t *buf, size_t len);

/* Static name of a kind ("stun", "dtls", "rtp", "rtcp", "unknown"), for logs and stats. */
const char *sb_demux_kind_name(sb_pkt_kind_t kind);

#endif
