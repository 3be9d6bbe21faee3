/* Codec names (rtpmap encoding names) and RTP payload inspection: VP8 (RFC 7741), VP9
 * (RFC 9628), H.264 (RFC 6184), H.265 (RFC 7798) and AV1 (AV1 RTP payload format) headers,
 * enough for a forwarder to find keyframes, layers and picture ids; RED (RFC 2198) block
 * headers, enough to take the primary encoding out.
 *
 * Does not: decode media, depacketize frames, parse H.264 parameter sets or AV1 OBUs beyond
 * their lengths, or keep any state (picture id continuity is the rewriting unit's job; it
 * calls the in-place setters here). Pure functions: any thread. */
#include "switchboard/codec.h"

#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "switchboard/error.h"
#include "proto/byteorder.h"

/* --- Names ------------------------------------------------------------------------------ */

static const struct sb_codec_name_entry {
    sb_codec_t codec;
    const char *name;
} sb_codec_names[] = {
    {SB_CODEC_OPUS, "opus"},
    {SB_CODEC_MULTIOPUS, "multiopus"},
    {SB_CODEC_PCMU, "PCMU"},
    {SB_CODEC_PCMA, "PCMA"},
    {SB_CODEC_G722, "G722"},
    {SB_CODEC_ISAC, "ISAC"},
    {SB_CODEC_L16, "L16"},
    {SB_CODEC_TELEPHONE_EVENT, "telephone-event"},
    {SB_CODEC_CN, "CN"},
    {SB_CODEC_VP8, "VP8"},
    {SB_CODEC_VP9, "VP9"},
    {SB_CODEC_H264, "H264"},
    {SB_CODEC_H265, "H265"},
    {SB_CODEC_AV1, "AV1"},
    {SB_CODEC_RTX, "rtx"},
    {SB_CODEC_RED, "red"},
    {SB_CODEC_ULPFEC, "ulpfec"},
    {SB_CODEC_FLEXFEC, "flexfec-03"},
    /* Aliases after the canonical names, so sb_codec_name() finds those first. */
    {SB_CODEC_AV1, "AV1X"},       /* the name used before the format was final */
    {SB_CODEC_FLEXFEC, "flexfec"}, /* RFC 8627 */
};

sb_codec_t sb_codec_from_name_n(const char *name, size_t len)
{
    if (name == NULL)
        return SB_CODEC_UNKNOWN;
    for (size_t i = 0; i < SB_ARRAY_LEN(sb_codec_names); i++) {
        const char *n = sb_codec_names[i].name;
        if (strlen(n) == len && strncasecmp(n, name, len) == 0)
            return sb_codec_names[i].codec;
    }
    return SB_CODEC_UNKNOWN;
}

sb_codec_t sb_codec_from_name(const char *name)
{
    return name == NULL ? SB_CODEC_UNKNOWN : sb_codec_from_name_n(name, strlen(name));
}

const char *sb_codec_name(sb_codec_t codec)
{
    for (size_t i = 0; i < SB_ARRAY_LEN(sb_codec_names); i++) {
        if (sb_codec_names[i].codec == codec)
            return sb_codec_names[i].name;
    }
    return "unknown";
}

bool sb_codec_is_audio(sb_codec_t codec)
{
    return codec >= SB_CODEC_OPUS && codec <= SB_CODEC_CN;
}

bool sb_codec_is_video(sb_codec_t codec)
{
    return codec >= SB_CODEC_VP8 && codec <= SB_CODEC_AV1;
}

bool sb_codec_is_keyframe(sb_codec_t codec, const uint8_t *payload, size_t len)
{
    if (sb_codec_is_audio(codec))
        return true;
    if (payload == NULL)
        return false;
    switch (codec) {
    case SB_CODEC_VP8: {
        sb_vp8_desc_t d;
        return sb_vp8_parse(payload, len, &d) == 0 && d.keyframe;
    }
    case SB_CODEC_VP9: {
        sb_vp9_desc_t d;
        return sb_vp9_parse(payload, len, &d) == 0 && d.keyframe;
    }
    case SB_CODEC_H264: {
        sb_h264_info_t h;
        return sb_h264_parse(payload, len, &h) == 0 && h.keyframe;
    }
    case SB_CODEC_H265:
        return sb_h265_is_keyframe(payload, len);
    case SB_CODEC_AV1: {
        sb_av1_info_t a;
        return sb_av1_parse(payload, len, &a) == 0 && a.new_sequence;
    }
    default:
        return false;
    }
}

/* --- VP8 -------------------------------------------------------------------------------- */

/* RFC 7741 §4.3 and RFC 6386 §9.1: the 3-byte frame tag (P bit inverted keyframe flag), and on
 * keyframes the start code 9d 01 2a, then 14-bit width and height with 2-bit scales, little
 * endian. */
static int sb_vp8_parse_frame_header(const uint8_t *p, size_t len, sb_vp8_desc_t *d)
{
    if (len < 3)
        return SB_EINVAL;
    d->keyframe = (p[0] & 0x01) == 0;
    if (d->keyframe && len >= 10 && p[3] == 0x9d && p[4] == 0x01 && p[5] == 0x2a) {
        uint16_t w = (uint16_t)(p[6] | (p[7] << 8));
        uint16_t h = (uint16_t)(p[8] | (p[9] << 8));
        d->width = w & 0x3fff;
        d->horiz_scale = (uint8_t)(w >> 14);
        d->height = h & 0x3fff;
        d->vert_scale = (uint8_t)(h >> 14);
    }
    return 0;
}

/* The optional bytes announced by the X byte (RFC 7741 §4.2). Returns the offset after them. */
static int sb_vp8_parse_ext(const uint8_t *p, size_t len, size_t off, sb_vp8_desc_t *d)
{
    uint8_t x;

    if (off >= len)
        return SB_EINVAL;
    x = p[off++];
    d->has_picture_id = (x & 0x80) != 0;
    d->has_tl0picidx = (x & 0x40) != 0;
    d->has_tid = (x & 0x20) != 0;
    d->has_keyidx = (x & 0x10) != 0;
    if (d->has_picture_id) {
        if (off >= len)
            return SB_EINVAL;
        d->picture_id_15bit = (p[off] & 0x80) != 0;
        if (d->picture_id_15bit) {
            if (len - off < 2)
                return SB_EINVAL;
            d->picture_id = (uint16_t)(((p[off] & 0x7f) << 8) | p[off + 1]);
            off += 2;
        } else {
            d->picture_id = p[off++] & 0x7f;
        }
    }
    if (d->has_tl0picidx) {
        if (off >= len)
            return SB_EINVAL;
        d->tl0picidx = p[off++];
    }
    if (d->has_tid || d->has_keyidx) { /* one byte serves both T and K */
        if (off >= len)
            return SB_EINVAL;
        if (d->has_tid) {
            d->tid = p[off] >> 6;
            d->layer_sync = (p[off] & 0x20) != 0;
        }
        if (d->has_keyidx)
            d->keyidx = p[off] & 0x1f;
        off++;
    }
    return (int)off;
}

int sb_vp8_parse(const uint8_t *payload, size_t len, sb_vp8_desc_t *out)
{
    int off = 1;

    if (payload == NULL || out == NULL || len < 1)
        return SB_EINVAL;
    memset(out, 0, sizeof(*out));
    out->non_reference = (payload[0] & 0x20) != 0;
    out->start = (payload[0] & 0x10) != 0;
    out->partition_id = payload[0] & 0x0f;
    if (payload[0] & 0x80) {
        off = sb_vp8_parse_ext(payload, len, 1, out);
        if (off < 0)
            return off;
    }
    if ((size_t)off >= len)
        return SB_EINVAL; /* a descriptor with no VP8 payload behind it */
    out->header_len = (size_t)off;
    out->frame_start = out->start && out->partition_id == 0;
    if (out->frame_start)
        return sb_vp8_parse_frame_header(payload + off, len - (size_t)off, out);
    return 0;
}

int sb_vp8_set_picture_id(uint8_t *payload, const sb_vp8_desc_t *d, uint16_t picture_id)
{
    if (!d->has_picture_id)
        return SB_ENOENT;
    /* The picture id follows the required byte and the X byte. */
    if (d->picture_id_15bit) {
        payload[2] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7f));
        payload[3] = (uint8_t)picture_id;
    } else {
        payload[2] = picture_id & 0x7f;
    }
    return 0;
}

int sb_vp8_set_tl0picidx(uint8_t *payload, const sb_vp8_desc_t *d, uint8_t tl0picidx)
{
    size_t off = 2;

    if (!d->has_tl0picidx)
        return SB_ENOENT;
    if (d->has_picture_id)
        off += d->picture_id_15bit ? 2 : 1;
    payload[off] = tl0picidx;
    return 0;
}

/* --- VP9 -------------------------------------------------------------------------------- */

/* Scalability structure (RFC 9628 §4.2.1). Returns the offset after it. */
static int sb_vp9_parse_ss(const uint8_t *p, size_t len, size_t off, sb_vp9_desc_t *d)
{
    bool has_groups;

    if (off >= len)
        return SB_EINVAL;
    d->ss_layers = (uint8_t)((p[off] >> 5) + 1);
    d->ss_has_resolution = (p[off] & 0x10) != 0;
    has_groups = (p[off] & 0x08) != 0;
    off++;
    if (d->ss_has_resolution) {
        if (len - off < 4u * d->ss_layers)
            return SB_EINVAL;
        for (unsigned i = 0; i < d->ss_layers; i++, off += 4) {
            d->width[i] = sb_be16(p + off);
            d->height[i] = sb_be16(p + off + 2);
        }
    }
    if (has_groups) {
        unsigned groups;
        if (off >= len)
            return SB_EINVAL;
        groups = p[off++];
        for (unsigned g = 0; g < groups; g++) {
            unsigned refs;
            if (off >= len)
                return SB_EINVAL;
            refs = (p[off++] >> 2) & 0x03;
            if (len - off < refs)
                return SB_EINVAL;
            off += refs;
        }
    }
    return (int)off;
}

/* Layer indices, TL0PICIDX and flexible-mode reference indices. Returns the offset after. */
static int sb_vp9_parse_layers(const uint8_t *p, size_t len, size_t off, sb_vp9_desc_t *d)
{
    if (d->has_layer) {
        if (off >= len)
            return SB_EINVAL;
        d->tid = p[off] >> 5;
        d->switching_up = (p[off] & 0x10) != 0;
        d->sid = (p[off] >> 1) & 0x07;
        d->inter_layer = (p[off] & 0x01) != 0;
        off++;
        if (!d->flexible) {
            if (off >= len)
                return SB_EINVAL;
            d->has_tl0picidx = true;
            d->tl0picidx = p[off++];
        }
    }
    if (d->flexible && d->inter_picture) {
        bool more = true;
        while (more) {
            if (off >= len || d->num_refs == SB_VP9_MAX_REFS)
                return SB_EINVAL;
            d->p_diff[d->num_refs++] = p[off] >> 1;
            more = (p[off] & 0x01) != 0;
            off++;
        }
    }
    return (int)off;
}

int sb_vp9_parse(const uint8_t *payload, size_t len, sb_vp9_desc_t *out)
{
    const uint8_t *p = payload;
    int off = 1;

    if (p == NULL || out == NULL || len < 1)
        return SB_EINVAL;
    memset(out, 0, sizeof(*out));
    out->has_picture_id = (p[0] & 0x80) != 0;
    out->inter_picture = (p[0] & 0x40) != 0;
    out->has_layer = (p[0] & 0x20) != 0;
    out->flexible = (p[0] & 0x10) != 0;
    out->start = (p[0] & 0x08) != 0;
    out->end = (p[0] & 0x04) != 0;
    out->has_ss = (p[0] & 0x02) != 0;
    out->not_ref_upper = (p[0] & 0x01) != 0;
    if (out->has_picture_id) {
        if (len < 2)
            return SB_EINVAL;
        out->picture_id_15bit = (p[1] & 0x80) != 0;
        if (out->picture_id_15bit) {
            if (len < 3)
                return SB_EINVAL;
            out->picture_id = (uint16_t)(((p[1] & 0x7f) << 8) | p[2]);
            off = 3;
        } else {
            out->picture_id = p[1] & 0x7f;
            off = 2;
        }
    }
    off = sb_vp9_parse_layers(p, len, (size_t)off, out);
    if (off >= 0 && out->has_ss)
        off = sb_vp9_parse_ss(p, len, (size_t)off, out);
    if (off < 0)
        return off;
    if ((size_t)off >= len)
        return SB_EINVAL;
    out->header_len = (size_t)off;
    /* A keyframe starts with its base spatial layer, predicted from no earlier picture. */
    out->keyframe = out->start && !out->inter_picture && out->sid == 0;
    return 0;
}

/* --- H.264 ------------------------------------------------------------------------------ */

enum {
    SB_H264_IDR = 5,
    SB_H264_SPS = 7,
    SB_H264_PPS = 8,
    SB_H264_STAP_A = 24,
    SB_H264_STAP_B = 25,
    SB_H264_MTAP16 = 26,
    SB_H264_MTAP24 = 27,
    SB_H264_FU_A = 28,
    SB_H264_FU_B = 29,
};

static void sb_h264_note_nal(sb_h264_info_t *h, uint8_t type, bool starts)
{
    if (type == SB_H264_SPS)
        h->has_sps = true;
    else if (type == SB_H264_PPS)
        h->has_pps = true;
    else if (type == SB_H264_IDR)
        h->has_idr = true;
    if (starts && (type == SB_H264_SPS || type == SB_H264_IDR))
        h->keyframe = true;
}

/* STAP-A (RFC 6184 §5.7.1): 16-bit size, then that many bytes of NAL unit, to the end. */
static int sb_h264_parse_stap_a(const uint8_t *p, size_t len, sb_h264_info_t *h)
{
    size_t off = 1;
    bool first = true;

    if (len < 4)
        return SB_EINVAL;
    while (off < len) {
        size_t n;
        if (len - off < 3)
            return SB_EINVAL;
        n = sb_be16(p + off);
        off += 2;
        if (n == 0 || n > len - off)
            return SB_EINVAL;
        if (first)
            h->nal_type = p[off] & 0x1f;
        first = false;
        sb_h264_note_nal(h, p[off] & 0x1f, true);
        off += n;
    }
    return 0;
}

int sb_h264_parse(const uint8_t *payload, size_t len, sb_h264_info_t *out)
{
    uint8_t type;

    if (payload == NULL || out == NULL || len < 1)
        return SB_EINVAL;
    memset(out, 0, sizeof(*out));
    type = payload[0] & 0x1f;
    out->packet_type = type;
    if (type >= 1 && type <= 23) {
        out->nal_type = type;
        sb_h264_note_nal(out, type, true);
        return 0;
    }
    if (type == SB_H264_STAP_A)
        return sb_h264_parse_stap_a(payload, len, out);
    if (type == SB_H264_FU_A) {
        /* §5.8: FU indicator, FU header (S E R type), at least one byte of fragment. */
        if (len < 3)
            return SB_EINVAL;
        out->fu_start = (payload[1] & 0x80) != 0;
        out->fu_end = (payload[1] & 0x40) != 0;
        if (out->fu_start && out->fu_end)
            return SB_EINVAL;
        out->nal_type = payload[1] & 0x1f;
        sb_h264_note_nal(out, out->nal_type, out->fu_start);
        return 0;
    }
    if (type == SB_H264_STAP_B || type == SB_H264_MTAP16 || type == SB_H264_MTAP24 ||
        type == SB_H264_FU_B)
        return SB_ENOTSUP;
    return SB_EINVAL; /* 0, 30 and 31 are undefined */
}

/* --- H.265 ------------------------------------------------------------------------------ */

enum { SB_H265_AP = 48, SB_H265_FU = 49, SB_H265_VPS = 32, SB_H265_SPS = 33 };

static bool sb_h265_type_is_key(uint8_t type)
{
    return (type >= 16 && type <= 21) || type == SB_H265_VPS || type == SB_H265_SPS;
}

bool sb_h265_is_keyframe(const uint8_t *payload, size_t len)
{
    uint8_t type;

    if (payload == NULL || len < 3)
        return false;
    type = (payload[0] >> 1) & 0x3f;
    if (type == SB_H265_FU) /* RFC 7798 §4.4.3: S bit and type in the FU header */
        return (payload[2] & 0x80) && sb_h265_type_is_key(payload[2] & 0x3f);
    if (type != SB_H265_AP)
        return sb_h265_type_is_key(type);
    /* §4.4.2 without DONL (sprop-max-don-diff is 0 in WebRTC): size, unit, ... */
    for (size_t off = 2; len - off >= 4;) {
        size_t n = sb_be16(payload + off);
        off += 2;
        if (n < 2 || n > len - off)
            return false;
        if (sb_h265_type_is_key((payload[off] >> 1) & 0x3f))
            return true;
        off += n;
    }
    return false;
}

/* --- AV1 -------------------------------------------------------------------------------- */

/* Unsigned LEB128 as AV1 uses it: at most 8 bytes. Returns bytes read, or 0 when truncated or
 * overlong. */
static size_t sb_av1_leb128(const uint8_t *p, size_t len, uint64_t *value)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len && i < 8; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *value = v;
            return i + 1;
        }
    }
    return 0;
}

int sb_av1_parse(const uint8_t *payload, size_t len, sb_av1_info_t *out)
{
    size_t off = 1;

    if (payload == NULL || out == NULL || len < 2)
        return SB_EINVAL;
    memset(out, 0, sizeof(*out));
    out->continuation = (payload[0] & 0x80) != 0;
    out->continues = (payload[0] & 0x40) != 0;
    out->w = (payload[0] >> 4) & 0x03;
    out->new_sequence = (payload[0] & 0x08) != 0;
    /* §4.4: with W = 0 every element carries its length; with W > 0, all but the last. */
    while (off < len) {
        uint64_t n;
        size_t used;
        if (out->w != 0 && out->elements + 1 == out->w) {
            out->elements++;
            return 0; /* the last element runs to the end */
        }
        used = sb_av1_leb128(payload + off, len - off, &n);
        if (used == 0 || n > len - off - used)
            return SB_EINVAL;
        off += used + (size_t)n;
        out->elements++;
    }
    if (out->w != 0 && out->elements != out->w)
        return SB_EINVAL;
    return 0;
}

/* --- RED -------------------------------------------------------------------------------- */

int sb_red_primary(const uint8_t *payload, size_t len, uint8_t *pt, size_t *offset)
{
    size_t off = 0, data = 0;

    if (payload == NULL || pt == NULL || offset == NULL)
        return SB_EINVAL;
    /* Headers with F set: F, block PT, 14-bit timestamp offset, 10-bit block length; the
     * last one (F clear) is one byte: the primary's PT. */
    for (;;) {
        if (off >= len)
            return SB_EINVAL;
        if (!(payload[off] & 0x80))
            break;
        if (len - off < 4)
            return SB_EINVAL;
        data += (size_t)(((payload[off + 2] & 0x03) << 8) | payload[off + 3]);
        off += 4;
    }
    *pt = payload[off] & 0x7f;
    off++;
    if (data > len - off)
        return SB_EINVAL;
    *offset = off + data;
    return 0;
}
