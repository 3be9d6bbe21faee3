/* RTP packet parsing (RFC 3550 §5.1, validity checks of Appendix A.1) and RTX wrapping and
 * unwrapping (RFC 4588 §4).
 *
 * Does not: look inside the header extension block (rtp_ext.c does), keep per-stream state
 * (rtp_stats.c, the rewriting units do), decrypt (SRTP comes first), or allocate.
 * Pure functions on caller buffers: any thread. */
#include "switchboard/rtp.h"

#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

/* The fixed header fields; the view's variable parts are filled by the caller. */
static void sb_rtp_parse_fixed(const uint8_t *buf, sb_rtp_view_t *out)
{
    out->version = buf[0] >> 6;
    out->padding = (buf[0] & 0x20) != 0;
    out->extension = (buf[0] & 0x10) != 0;
    out->csrc_count = buf[0] & 0x0f;
    out->marker = (buf[1] & 0x80) != 0;
    out->pt = buf[1] & 0x7f;
    out->seq = sb_be16(buf + 2);
    out->timestamp = sb_be32(buf + 4);
    out->ssrc = sb_be32(buf + 8);
}

int sb_rtp_parse(const uint8_t *buf, size_t len, sb_rtp_view_t *out)
{
    size_t off;

    if (buf == NULL || out == NULL || len < SB_RTP_HEADER_MIN)
        return SB_EINVAL;
    memset(out, 0, sizeof(*out));
    sb_rtp_parse_fixed(buf, out);
    if (out->version != SB_RTP_VERSION)
        return SB_EINVAL;
    out->buf = buf;
    out->len = len;
    off = SB_RTP_HEADER_MIN + 4u * out->csrc_count;
    if (off > len)
        return SB_EINVAL;
    if (out->extension) {
        /* §5.3.1: 16-bit profile field, 16-bit length in 32-bit words, then the data. */
        if (len - off < 4)
            return SB_EINVAL;
        out->ext_profile = sb_be16(buf + off);
        out->ext_len = 4u * sb_be16(buf + off + 2);
        off += 4;
        if (out->ext_len > len - off)
            return SB_EINVAL;
        out->ext = buf + off;
        off += out->ext_len;
    }
    out->header_len = off;
    out->payload = buf + off;
    out->payload_len = len - off;
    if (out->padding) {
        /* §5.1: the last octet counts the padding, itself included, so it is at least 1 and
         * the padding cannot reach into the header. */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > out->payload_len)
            return SB_EINVAL;
        out->padding_len = pad;
        out->payload_len -= pad;
    }
    return 0;
}

uint32_t sb_rtp_csrc(const sb_rtp_view_t *v, unsigned i)
{
    if (i >= v->csrc_count)
        return 0;
    return sb_be32(v->buf + SB_RTP_HEADER_MIN + 4u * i);
}

/* Copy v's header (CSRCs and extensions included) into out with new ssrc, pt and seq and the
 * padding bit cleared. out has room for v->header_len bytes. */
static void sb_rtp_copy_header(const sb_rtp_view_t *v, uint32_t ssrc, uint8_t pt, uint16_t seq,
                               uint8_t *out)
{
    memcpy(out, v->buf, v->header_len);
    out[0] &= (uint8_t)~0x20;
    sb_rtp_set_ssrc(out, ssrc);
    sb_rtp_set_pt(out, pt);
    sb_rtp_set_seq(out, seq);
}

int sb_rtx_unwrap(const sb_rtp_view_t *rtx, uint16_t *osn, const uint8_t **payload,
                  size_t *payload_len)
{
    if (rtx->payload_len == 0)
        return SB_ENOENT;
    if (rtx->payload_len < 2)
        return SB_EPROTO;
    *osn = sb_be16(rtx->payload);
    *payload = rtx->payload + 2;
    *payload_len = rtx->payload_len - 2;
    return 0;
}

int sb_rtx_restore(const sb_rtp_view_t *rtx, uint32_t ssrc, uint8_t pt, uint8_t *out,
                   size_t out_size)
{
    uint16_t osn;
    const uint8_t *payload;
    size_t payload_len, total;
    int rc = sb_rtx_unwrap(rtx, &osn, &payload, &payload_len);

    if (rc < 0)
        return rc;
    if (pt > 127)
        return SB_EINVAL;
    total = rtx->header_len + payload_len;
    if (total > out_size || total > INT32_MAX)
        return SB_ERANGE;
    sb_rtp_copy_header(rtx, ssrc, pt, osn, out);
    memcpy(out + rtx->header_len, payload, payload_len);
    return (int)total;
}

int sb_rtx_wrap(const sb_rtp_view_t *orig, uint32_t rtx_ssrc, uint8_t rtx_pt, uint16_t rtx_seq,
                uint8_t *out, size_t out_size)
{
    size_t total = orig->header_len + 2 + orig->payload_len;

    if (rtx_pt > 127)
        return SB_EINVAL;
    if (total > out_size || total > INT32_MAX)
        return SB_ERANGE;
    sb_rtp_copy_header(orig, rtx_ssrc, rtx_pt, rtx_seq, out);
    /* §4: the original sequence number leads the RTX payload. */
    sb_put_be16(out + orig->header_len, orig->seq);
    memcpy(out + orig->header_len + 2, orig->payload, orig->payload_len);
    return (int)total;
}
