/* RTP header extensions (RFC 8285): element iteration and lookup in both forms, decoders for
 * the values a forwarder reads (mid, rid, audio level, abs-send-time, transport-cc sequence,
 * video orientation, playout delay), in-place id remapping and value replacement, and building
 * a header with a fresh extension block.
 *
 * Does not: negotiate ids (the SDP layer maps URIs to ids), keep state, or allocate.
 * Pure functions on caller buffers: any thread. */
#include "switchboard/rtp.h"

#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

#define SB_RTP_EXT_ONE_BYTE_MAX_ID 14u
#define SB_RTP_EXT_ONE_BYTE_MAX_LEN 16u
#define SB_RTP_EXT_BLOCK_MAX (4u * 65535u)

void sb_rtp_ext_iter_init(sb_rtp_ext_iter_t *it, const sb_rtp_view_t *v)
{
    memset(it, 0, sizeof(*it));
    it->done = true;
    if (!v->extension || v->ext == NULL)
        return;
    it->p = v->ext;
    it->end = v->ext + v->ext_len;
    if (v->ext_profile == SB_RTP_EXT_PROFILE_ONE_BYTE) {
        it->done = false;
    } else if ((v->ext_profile & 0xFFF0u) == SB_RTP_EXT_PROFILE_TWO_BYTE) {
        it->two_byte = true;
        it->done = false;
    }
}

int sb_rtp_ext_next(sb_rtp_ext_iter_t *it, uint8_t *id, const uint8_t **data, size_t *len)
{
    while (!it->done && it->p < it->end) {
        const uint8_t *h = it->p;
        size_t avail = (size_t)(it->end - h);
        size_t hdr, elen;
        uint8_t eid;

        if (h[0] == 0) { /* §4.1: padding bytes may sit between and after elements */
            it->p++;
            continue;
        }
        if (it->two_byte) {
            eid = h[0];
            hdr = 2;
            if (avail < 2)
                goto malformed;
            elen = h[1];
        } else {
            eid = h[0] >> 4;
            hdr = 1;
            elen = (size_t)(h[0] & 0x0f) + 1u;
            /* §4.2: ID 15 ends processing; ID 0 with a length is not padding either. */
            if (eid == 15 || eid == 0) {
                it->done = true;
                return 0;
            }
        }
        if (elen > avail - hdr)
            goto malformed;
        *id = eid;
        *data = h + hdr;
        *len = elen;
        it->p = h + hdr + elen;
        return 1;
    }
    it->done = true;
    return 0;

malformed:
    it->done = true;
    return SB_EPROTO;
}

int sb_rtp_ext_find(const sb_rtp_view_t *v, uint8_t id, const uint8_t **data, size_t *len)
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l;
    uint8_t eid;
    int rc;

    if (id == 0)
        return SB_ENOENT;
    sb_rtp_ext_iter_init(&it, v);
    while ((rc = sb_rtp_ext_next(&it, &eid, &d, &l)) > 0) {
        if (eid == id) {
            *data = d;
            *len = l;
            return 0;
        }
    }
    return rc < 0 ? rc : SB_ENOENT;
}

/* --- Value decoders --------------------------------------------------------------------- */

int sb_rtp_ext_string(const uint8_t *data, size_t len, char *out, size_t out_size)
{
    size_t n = 0;

    /* RFC 8852 §3.1 and RFC 9143 §14: tokens without NUL; tolerate NUL fill at the end, as
     * some senders pad strings that way. */
    while (n < len && data[n] != 0) {
        if (data[n] < 0x21 || data[n] > 0x7e)
            return SB_EINVAL;
        n++;
    }
    if (n == 0)
        return SB_EINVAL;
    if (n >= out_size)
        return SB_ERANGE;
    memcpy(out, data, n);
    out[n] = '\0';
    return (int)n;
}

int sb_rtp_ext_audio_level(const uint8_t *data, size_t len, bool *voice, uint8_t *level)
{
    if (len < 1)
        return SB_EINVAL;
    *voice = (data[0] & 0x80) != 0;
    *level = data[0] & 0x7f;
    return 0;
}

int sb_rtp_ext_abs_send_time(const uint8_t *data, size_t len, uint32_t *value)
{
    if (len != 3)
        return SB_EINVAL;
    *value = sb_be24(data);
    return 0;
}

int sb_rtp_ext_transport_seq(const uint8_t *data, size_t len, uint16_t *seq)
{
    if (len < 2)
        return SB_EINVAL;
    *seq = sb_be16(data);
    return 0;
}

int sb_rtp_ext_video_orientation(const uint8_t *data, size_t len, uint16_t *rotation,
                                 bool *flip, bool *back_camera)
{
    /* TS 26.114 §7.4.5: 0 0 0 0 C F R1 R0, R in 90-degree steps. */
    if (len < 1)
        return SB_EINVAL;
    *back_camera = (data[0] & 0x08) != 0;
    *flip = (data[0] & 0x04) != 0;
    *rotation = (uint16_t)((data[0] & 0x03) * 90u);
    return 0;
}

int sb_rtp_ext_playout_delay(const uint8_t *data, size_t len, uint16_t *min_10ms,
                             uint16_t *max_10ms)
{
    uint32_t v;

    if (len != 3)
        return SB_EINVAL;
    v = sb_be24(data);
    *min_10ms = (uint16_t)(v >> 12);
    *max_10ms = (uint16_t)(v & 0xfff);
    return 0;
}

/* --- In-place rewriting ----------------------------------------------------------------- */

int sb_rtp_ext_remap(uint8_t *buf, const sb_rtp_view_t *v, const uint8_t map[256])
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l, hdr;
    uint8_t id;
    int rc;

    sb_rtp_ext_iter_init(&it, v);
    hdr = it.two_byte ? 2 : 1;
    while ((rc = sb_rtp_ext_next(&it, &id, &d, &l)) > 0) {
        uint8_t *h = buf + (d - hdr - v->buf);
        uint8_t nid = map[id];

        if (nid == 0) {
            memset(h, 0, hdr + l);
        } else if (it.two_byte) {
            h[0] = nid;
        } else {
            if (nid > SB_RTP_EXT_ONE_BYTE_MAX_ID)
                return SB_ERANGE;
            h[0] = (uint8_t)((nid << 4) | (h[0] & 0x0f));
        }
    }
    return rc;
}

int sb_rtp_ext_set_inplace(uint8_t *buf, const sb_rtp_view_t *v, uint8_t id,
                           const uint8_t *value, size_t value_len)
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l;
    uint8_t eid;
    int rc;

    sb_rtp_ext_iter_init(&it, v);
    while ((rc = sb_rtp_ext_next(&it, &eid, &d, &l)) > 0) {
        uint8_t *w = buf + (d - v->buf);

        if (eid != id)
            continue;
        if (value_len > l || (!it.two_byte && value_len == 0))
            return SB_ERANGE;
        if (it.two_byte)
            w[-1] = (uint8_t)value_len;
        else
            w[-1] = (uint8_t)((id << 4) | (value_len - 1));
        if (value_len > 0)
            memcpy(w, value, value_len);
        /* The freed tail turns into padding bytes, which every receiver skips. */
        memset(w + value_len, 0, l - value_len);
        return 0;
    }
    return rc < 0 ? rc : SB_ENOENT;
}

/* --- Building --------------------------------------------------------------------------- */

static bool sb_rtp_ext_fits_one_byte(const sb_rtp_ext_elem_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (e[i].id > SB_RTP_EXT_ONE_BYTE_MAX_ID || e[i].len == 0 ||
            e[i].len > SB_RTP_EXT_ONE_BYTE_MAX_LEN)
            return false;
    }
    return true;
}

/* Size of the extension block (4-byte header included, padded to 32 bits), or 0 when the
 * elements cannot be encoded. */
static size_t sb_rtp_ext_block_size(const sb_rtp_ext_elem_t *e, size_t n, bool one_byte)
{
    size_t size = 0;

    for (size_t i = 0; i < n; i++) {
        if (e[i].id == 0 || (e[i].len > 0 && e[i].data == NULL))
            return 0;
        size += (one_byte ? 1u : 2u) + e[i].len;
        if (size > SB_RTP_EXT_BLOCK_MAX)
            return 0;
    }
    return 4 + ((size + 3) & ~(size_t)3);
}

static void sb_rtp_ext_block_write(uint8_t *out, size_t block, const sb_rtp_ext_elem_t *e,
                                   size_t n, bool one_byte)
{
    uint8_t *p = out + 4;

    sb_put_be16(out, one_byte ? SB_RTP_EXT_PROFILE_ONE_BYTE : SB_RTP_EXT_PROFILE_TWO_BYTE);
    sb_put_be16(out + 2, (uint16_t)((block - 4) / 4));
    for (size_t i = 0; i < n; i++) {
        if (one_byte) {
            *p++ = (uint8_t)((e[i].id << 4) | (e[i].len - 1));
        } else {
            *p++ = e[i].id;
            *p++ = e[i].len;
        }
        if (e[i].len > 0)
            memcpy(p, e[i].data, e[i].len);
        p += e[i].len;
    }
    memset(p, 0, (size_t)(out + block - p));
}

int sb_rtp_write_header(uint8_t *out, size_t out_size, const sb_rtp_header_t *h)
{
    size_t fixed = SB_RTP_HEADER_MIN + 4u * h->csrc_count;
    size_t block = 0;
    bool one_byte = false;

    if (h->pt > 127 || h->csrc_count > 15 || (h->csrc_count > 0 && h->csrcs == NULL))
        return SB_EINVAL;
    if (h->ext_count > 0) {
        if (h->exts == NULL)
            return SB_EINVAL;
        one_byte = sb_rtp_ext_fits_one_byte(h->exts, h->ext_count);
        block = sb_rtp_ext_block_size(h->exts, h->ext_count, one_byte);
        if (block == 0)
            return SB_EINVAL;
    }
    if (fixed + block > out_size)
        return SB_ERANGE;
    out[0] = (uint8_t)(0x80 | (h->ext_count > 0 ? 0x10 : 0) | h->csrc_count);
    out[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->pt);
    sb_put_be16(out + 2, h->seq);
    sb_put_be32(out + 4, h->timestamp);
    sb_put_be32(out + 8, h->ssrc);
    for (unsigned i = 0; i < h->csrc_count; i++)
        sb_put_be32(out + SB_RTP_HEADER_MIN + 4u * i, h->csrcs[i]);
    if (block > 0)
        sb_rtp_ext_block_write(out + fixed, block, h->exts, h->ext_count, one_byte);
    return (int)(fixed + block);
}

/* Gather v's elements into e with id replaced, removed (value NULL) or appended. */
static int sb_rtp_ext_gather(const sb_rtp_view_t *v, uint8_t id, const uint8_t *value,
                             size_t value_len, sb_rtp_ext_elem_t *e, size_t *n)
{
    sb_rtp_ext_iter_t it;
    const uint8_t *d;
    size_t l, count = 0;
    bool replaced = false;
    uint8_t eid;
    int rc;

    if (v->extension && v->ext_len > 0 && v->ext_profile != SB_RTP_EXT_PROFILE_ONE_BYTE &&
        (v->ext_profile & 0xFFF0u) != SB_RTP_EXT_PROFILE_TWO_BYTE)
        return SB_ENOTSUP; /* a non-RFC 8285 block would be lost */
    sb_rtp_ext_iter_init(&it, v);
    while ((rc = sb_rtp_ext_next(&it, &eid, &d, &l)) > 0) {
        if (eid == id) {
            if (value == NULL || replaced)
                continue;
            d = value;
            l = value_len;
            replaced = true;
        }
        if (count == SB_RTP_EXT_MAX_ELEMS)
            return SB_ERANGE;
        e[count++] = (sb_rtp_ext_elem_t){.id = eid, .len = (uint8_t)l, .data = d};
    }
    if (rc < 0)
        return rc;
    if (value != NULL && !replaced) {
        if (count == SB_RTP_EXT_MAX_ELEMS)
            return SB_ERANGE;
        e[count++] = (sb_rtp_ext_elem_t){.id = id, .len = (uint8_t)value_len, .data = value};
    }
    *n = count;
    return 0;
}

int sb_rtp_copy_with_ext(const sb_rtp_view_t *v, uint8_t id, const uint8_t *value,
                         size_t value_len, uint8_t *out, size_t out_size)
{
    sb_rtp_ext_elem_t elems[SB_RTP_EXT_MAX_ELEMS];
    uint32_t csrcs[15];
    size_t n = 0, tail = v->payload_len + v->padding_len;
    sb_rtp_header_t h = {
        .marker = v->marker, .pt = v->pt, .seq = v->seq, .timestamp = v->timestamp,
        .ssrc = v->ssrc, .csrcs = csrcs, .csrc_count = v->csrc_count, .exts = elems,
    };
    int hlen;

    if (id == 0 || value_len > 255)
        return SB_EINVAL;
    hlen = sb_rtp_ext_gather(v, id, value, value_len, elems, &n);
    if (hlen < 0)
        return hlen;
    h.ext_count = n;
    for (unsigned i = 0; i < v->csrc_count; i++)
        csrcs[i] = sb_rtp_csrc(v, i);
    hlen = sb_rtp_write_header(out, out_size, &h);
    if (hlen < 0)
        return hlen;
    if (tail > out_size - (size_t)hlen || (size_t)hlen + tail > INT32_MAX)
        return SB_ERANGE;
    memcpy(out + hlen, v->payload, tail);
    if (v->padding)
        out[0] |= 0x20;
    return (int)((size_t)hlen + tail);
}
