/* Synthetic RTP payloads for the load generator: Opus-sized audio packets and VP8 frames with
 * valid payload descriptors (RFC 7741 §4.2: X, S, PID, a 15-bit PictureID) and payload headers
 * (RFC 6386 §9.1: the frame tag, and on keyframes the start code and dimensions), so that
 * servers that look for keyframes find them. Every payload ends with a 16-byte trailer: a magic
 * number, the send time (CLOCK_MONOTONIC, microseconds) and the sender's tag, from which a
 * receiver on the same machine computes the one-way latency.
 *
 * Nothing is encoded: the bytes between the headers and the trailer are filler.
 * Sans-IO, no state but the caller's lg_rtpgen_t: any thread. */
#include <string.h>

#include "bench/loadgen/lg.h"
#include "proto/byteorder.h"
#include "switchboard/rtp.h"

#define LG_VP8_DESC_LEN 4 /* X=1, I=1 with M=1: 1 + 1 + 2 bytes */
#define LG_VP8_KEY_HDR 10 /* frame tag (3) + start code (3) + width (2) + height (2) */
#define LG_VP8_INTER_HDR 3
#define LG_VIDEO_WIDTH 640
#define LG_VIDEO_HEIGHT 360

static void lg_put_trailer(uint8_t *end, int64_t now_us, uint32_t tag)
{
    uint8_t *t = end - LG_TRAILER_LEN;
    sb_put_be32(t, LG_TRAILER_MAGIC);
    sb_put_be32(t + 4, (uint32_t)((uint64_t)now_us >> 32));
    sb_put_be32(t + 8, (uint32_t)(uint64_t)now_us);
    sb_put_be32(t + 12, tag);
}

void lg_rtpgen_restamp(uint8_t *pkt, size_t len, int64_t now_us)
{
    if (len < LG_TRAILER_LEN)
        return;
    uint8_t *t = pkt + len - LG_TRAILER_LEN;
    sb_put_be32(t + 4, (uint32_t)((uint64_t)now_us >> 32));
    sb_put_be32(t + 8, (uint32_t)(uint64_t)now_us);
}

bool lg_rtpgen_trailer(const uint8_t *payload, size_t len, int64_t *send_us, uint32_t *tag)
{
    if (len < LG_TRAILER_LEN)
        return false;
    const uint8_t *t = payload + len - LG_TRAILER_LEN;
    if (sb_be32(t) != LG_TRAILER_MAGIC)
        return false;
    *send_us = (int64_t)(((uint64_t)sb_be32(t + 4) << 32) | sb_be32(t + 8));
    *tag = sb_be32(t + 12);
    return true;
}

static size_t lg_rtp_header(lg_rtpgen_t *g, uint8_t *out, bool marker)
{
    sb_rtp_header_t h = {
        .marker = marker, .pt = g->pt, .seq = g->seq++, .timestamp = g->ts, .ssrc = g->ssrc};
    int n = sb_rtp_write_header(out, LG_PKT_MAX, &h);
    return n > 0 ? (size_t)n : 0;
}

size_t lg_rtpgen_opus(lg_rtpgen_t *g, uint8_t *out, size_t payload_len, int64_t now_us)
{
    if (payload_len < LG_TRAILER_LEN + 1)
        payload_len = LG_TRAILER_LEN + 1;
    size_t hl = lg_rtp_header(g, out, false);
    if (hl + payload_len > LG_PKT_MAX)
        payload_len = LG_PKT_MAX - hl;
    uint8_t *p = out + hl;
    p[0] = 0x78; /* TOC: config 15 (hybrid fullband 20 ms), mono, one frame */
    memset(p + 1, 0x55, payload_len - 1 - LG_TRAILER_LEN);
    lg_put_trailer(p + payload_len, now_us, g->tag);
    return hl + payload_len;
}

/* The VP8 payload header of the first packet of a frame (RFC 6386 §9.1). */
static size_t lg_vp8_payload_header(uint8_t *p, bool keyframe, size_t frame_len)
{
    uint32_t part = (uint32_t)(frame_len / 4) & 0x7ffff; /* first partition size, 19 bits */
    /* size[2:0] | show_frame | version (0) | P (0 = keyframe) */
    p[0] = (uint8_t)(((part & 0x7) << 5) | 0x10 | (keyframe ? 0 : 1));
    p[1] = (uint8_t)(part >> 3);
    p[2] = (uint8_t)(part >> 11);
    if (!keyframe)
        return LG_VP8_INTER_HDR;
    p[3] = 0x9d;
    p[4] = 0x01;
    p[5] = 0x2a;
    p[6] = (uint8_t)(LG_VIDEO_WIDTH & 0xff); /* 14-bit width, scale 0, little-endian */
    p[7] = (uint8_t)(LG_VIDEO_WIDTH >> 8);
    p[8] = (uint8_t)(LG_VIDEO_HEIGHT & 0xff);
    p[9] = (uint8_t)(LG_VIDEO_HEIGHT >> 8);
    return LG_VP8_KEY_HDR;
}

unsigned lg_rtpgen_vp8_frame(lg_rtpgen_t *g, bool keyframe, size_t frame_len, size_t mtu,
                             uint8_t (*out)[LG_PKT_MAX], size_t *lens, unsigned max, int64_t now_us)
{
    if (mtu > LG_PKT_MAX)
        mtu = LG_PKT_MAX;
    /* Room for VP8 data in one packet: the RTP header has no CSRC nor extension. */
    size_t room = mtu - SB_RTP_HEADER_MIN - LG_VP8_DESC_LEN - LG_TRAILER_LEN;
    size_t min_first = keyframe ? LG_VP8_KEY_HDR : LG_VP8_INTER_HDR;
    if (frame_len < min_first)
        frame_len = min_first;
    unsigned n = (unsigned)((frame_len + room - 1) / room);
    if (n > max)
        n = max;
    if (n == 0)
        n = 1;
    size_t chunk = (frame_len + n - 1) / n; /* equal-sized packets, as encoders' packetizers */
    if (chunk < min_first)
        chunk = min_first;
    size_t left = frame_len;
    for (unsigned i = 0; i < n; i++) {
        size_t data = i + 1 == n ? left : chunk;
        if (data > room)
            data = room;
        left -= data < left ? data : left;
        uint8_t *pkt = out[i];
        size_t hl = lg_rtp_header(g, pkt, i + 1 == n);
        uint8_t *d = pkt + hl;
        d[0] = (uint8_t)(0x80 | (i == 0 ? 0x10 : 0)); /* X, S on the first packet, PID 0 */
        d[1] = 0x80;                                  /* I: PictureID present */
        d[2] = (uint8_t)(0x80 | ((g->picture_id >> 8) & 0x7f)); /* M: 15-bit PictureID */
        d[3] = (uint8_t)g->picture_id;
        uint8_t *v = d + LG_VP8_DESC_LEN;
        size_t used = i == 0 ? lg_vp8_payload_header(v, keyframe, frame_len) : 0;
        if (data < used)
            data = used;
        memset(v + used, 0xa5, data - used);
        lg_put_trailer(v + data + LG_TRAILER_LEN, now_us, g->tag);
        lens[i] = hl + LG_VP8_DESC_LEN + data + LG_TRAILER_LEN;
    }
    g->picture_id = (uint16_t)((g->picture_id + 1) & 0x7fff);
    return n;
}
