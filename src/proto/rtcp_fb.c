/* RTCP feedback messages (RFC 4585 §6): the common header, generic NACK, PLI, FIR (RFC 5104),
 * REMB (draft-alvestrand-rmcat-remb), transport-wide CC feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), and in-place SSRC rewriting of
 * feedback forwarded from a subscriber's leg to its publisher's.
 *
 * Does not: decide what to do with feedback (rate-limiting PLI, answering NACKs from the
 * history and congestion control live above), build packets (rtcp_write.c), or allocate.
 * Pure functions: any thread. */
#include "proto/rtcp.h"

#include <limits.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

#define SB_RTCP_FIR_ENTRY_LEN 8u

int sb_rtcp_parse_fb(const sb_rtcp_pkt_t *pkt, sb_rtcp_fb_t *out)
{
    if (pkt->type != SB_RTCP_RTPFB && pkt->type != SB_RTCP_PSFB)
        return SB_EINVAL;
    if (pkt->body_len < 8)
        return SB_EPROTO;
    out->type = pkt->type;
    out->fmt = pkt->count;
    out->sender_ssrc = sb_be32(pkt->body);
    out->media_ssrc = sb_be32(pkt->body + 4);
    out->fci = pkt->body + 8;
    out->fci_len = pkt->body_len - 8;
    return 0;
}

static bool sb_rtcp_fb_is(const sb_rtcp_fb_t *fb, uint8_t type, uint8_t fmt)
{
    return fb->type == type && fb->fmt == fmt;
}

int sb_rtcp_parse_nack(const sb_rtcp_fb_t *fb, uint16_t *seqs, size_t max)
{
    size_t n = 0;

    if (!sb_rtcp_fb_is(fb, SB_RTCP_RTPFB, SB_RTCP_FMT_NACK))
        return SB_EINVAL;
    if (fb->fci_len == 0 || fb->fci_len % 4 != 0)
        return SB_EPROTO;
    if (max > INT_MAX)
        max = INT_MAX;
    /* §6.2.1: PID is lost; bit i of BLP (LSB first) says PID + i + 1 is lost too. */
    for (size_t off = 0; off < fb->fci_len && n < max; off += 4) {
        uint16_t pid = sb_be16(fb->fci + off);
        uint16_t blp = sb_be16(fb->fci + off + 2);

        seqs[n++] = pid;
        for (unsigned bit = 0; bit < 16 && n < max; bit++) {
            if (blp & (1u << bit))
                seqs[n++] = (uint16_t)(pid + bit + 1);
        }
    }
    return (int)n;
}

int sb_rtcp_parse_fir(const sb_rtcp_fb_t *fb, sb_rtcp_fir_entry_t *entries, size_t max)
{
    size_t count;

    if (!sb_rtcp_fb_is(fb, SB_RTCP_PSFB, SB_RTCP_FMT_FIR))
        return SB_EINVAL;
    if (fb->fci_len == 0 || fb->fci_len % SB_RTCP_FIR_ENTRY_LEN != 0)
        return SB_EPROTO;
    count = fb->fci_len / SB_RTCP_FIR_ENTRY_LEN; /* below 2^14: the length field is 16 bits */
    for (size_t i = 0; i < count && i < max; i++) {
        const uint8_t *e = fb->fci + SB_RTCP_FIR_ENTRY_LEN * i;
        entries[i].ssrc = sb_be32(e);
        entries[i].seq = e[4];
    }
    return (int)count;
}

int sb_rtcp_parse_remb(const sb_rtcp_fb_t *fb, sb_rtcp_remb_t *out)
{
    const uint8_t *f = fb->fci;
    uint32_t mantissa;
    unsigned exp;

    if (!sb_rtcp_fb_is(fb, SB_RTCP_PSFB, SB_RTCP_FMT_AFB))
        return SB_EINVAL;
    if (fb->fci_len < 4 || f[0] != 'R' || f[1] != 'E' || f[2] != 'M' || f[3] != 'B')
        return SB_ENOENT;
    if (fb->fci_len < 8 || fb->fci_len - 8 < 4u * f[4])
        return SB_EPROTO;
    exp = f[5] >> 2;
    mantissa = sb_be24(f + 5) & 0x3ffffu;
    /* 18 bits shifted by up to 63: refuse what 64 bits cannot hold. */
    if (mantissa != 0 && exp > 46)
        return SB_EPROTO;
    out->bitrate = (uint64_t)mantissa << exp;
    out->ssrc_count = f[4];
    out->ssrcs = f + 8;
    return 0;
}

uint32_t sb_rtcp_remb_ssrc(const sb_rtcp_remb_t *remb, unsigned i)
{
    return i < remb->ssrc_count ? sb_be32(remb->ssrcs + 4u * i) : 0;
}

/* --- Transport-wide CC ------------------------------------------------------------------ */

int sb_rtcp_parse_twcc(const sb_rtcp_fb_t *fb, sb_rtcp_twcc_t *out)
{
    if (!sb_rtcp_fb_is(fb, SB_RTCP_RTPFB, SB_RTCP_FMT_TWCC))
        return SB_EINVAL;
    if (fb->fci_len < 8)
        return SB_EPROTO;
    out->base_seq = sb_be16(fb->fci);
    out->status_count = sb_be16(fb->fci + 2);
    out->ref_time = sb_be24(fb->fci + 4);
    out->fb_count = fb->fci[7];
    out->data = fb->fci + 8;
    out->data_len = fb->fci_len - 8;
    return 0;
}

static void sb_rtcp_twcc_put(const sb_rtcp_twcc_t *t, sb_rtcp_twcc_pkt_t *out, size_t n,
                             uint8_t status)
{
    out[n].seq = (uint16_t)(t->base_seq + n);
    out[n].status = status;
    out[n].delta = 0;
}

/* One packet status chunk (§3.1.1 to §3.1.4) into out[*n...]. Returns 0 or SB_EPROTO. */
static int sb_rtcp_twcc_chunk(const sb_rtcp_twcc_t *t, uint16_t c, sb_rtcp_twcc_pkt_t *out,
                              size_t *n)
{
    size_t total = t->status_count;

    if ((c & 0x8000) == 0) { /* run length: T=0, 2-bit symbol, 13-bit run */
        uint8_t sym = (c >> 13) & 0x03;
        if (sym == 3)
            return SB_EPROTO;
        for (unsigned i = 0; i < (c & 0x1fffu) && *n < total; i++)
            sb_rtcp_twcc_put(t, out, (*n)++, sym);
    } else if ((c & 0x4000) == 0) { /* status vector of 14 one-bit symbols */
        for (unsigned i = 0; i < 14 && *n < total; i++)
            sb_rtcp_twcc_put(t, out, (*n)++, (c >> (13 - i)) & 0x01);
    } else { /* status vector of 7 two-bit symbols */
        for (unsigned i = 0; i < 7 && *n < total; i++) {
            uint8_t sym = (c >> (2 * (6 - i))) & 0x03;
            if (sym == 3)
                return SB_EPROTO;
            sb_rtcp_twcc_put(t, out, (*n)++, sym);
        }
    }
    return 0;
}

int sb_rtcp_twcc_decode(const sb_rtcp_twcc_t *twcc, sb_rtcp_twcc_pkt_t *out, size_t max)
{
    const uint8_t *p = twcc->data, *end = twcc->data + twcc->data_len;
    size_t n = 0, total = twcc->status_count;

    if (total > max)
        return SB_ERANGE;
    while (n < total) {
        if (end - p < 2 || sb_rtcp_twcc_chunk(twcc, sb_be16(p), out, &n) < 0)
            return SB_EPROTO;
        p += 2;
    }
    /* §3.1.5: one byte (unsigned) per small delta, two (signed) per large one, in order. */
    for (size_t i = 0; i < total; i++) {
        if (out[i].status == SB_TWCC_SMALL_DELTA) {
            if (end - p < 1)
                return SB_EPROTO;
            out[i].delta = *p++;
        } else if (out[i].status == SB_TWCC_LARGE_DELTA) {
            int32_t d;
            if (end - p < 2)
                return SB_EPROTO;
            d = sb_be16(p);
            out[i].delta = d >= 0x8000 ? d - 0x10000 : d;
            p += 2;
        }
    }
    return (int)total;
}

/* --- In-place rewriting ----------------------------------------------------------------- */

int sb_rtcp_set_sender_ssrc(uint8_t *buf, const sb_rtcp_pkt_t *pkt, uint32_t ssrc)
{
    switch (pkt->type) {
    case SB_RTCP_SR:
    case SB_RTCP_RR:
    case SB_RTCP_APP:
    case SB_RTCP_RTPFB:
    case SB_RTCP_PSFB:
    case SB_RTCP_XR:
        break;
    default:
        return SB_EINVAL;
    }
    if (pkt->body_len < 4)
        return SB_EINVAL;
    sb_put_be32(buf + pkt->offset + SB_RTCP_HEADER_LEN, ssrc);
    return 0;
}

int sb_rtcp_fb_rewrite_media_ssrc(uint8_t *buf, const sb_rtcp_pkt_t *pkt, uint32_t from,
                                  uint32_t to)
{
    uint8_t *body = buf + pkt->offset + SB_RTCP_HEADER_LEN;
    int changed = 0;

    if ((pkt->type != SB_RTCP_RTPFB && pkt->type != SB_RTCP_PSFB) || pkt->body_len < 8)
        return SB_EINVAL;
    if (sb_be32(body + 4) == from) {
        sb_put_be32(body + 4, to);
        changed++;
    }
    if (pkt->type == SB_RTCP_PSFB && pkt->count == SB_RTCP_FMT_FIR) {
        /* RFC 5104 §4.3.1.2: the addressed SSRCs are in the FCI entries. */
        for (size_t off = 8; pkt->body_len - off >= SB_RTCP_FIR_ENTRY_LEN;
             off += SB_RTCP_FIR_ENTRY_LEN) {
            if (sb_be32(body + off) == from) {
                sb_put_be32(body + off, to);
                changed++;
            }
        }
    }
    return changed;
}
