/* RTCP compound iteration and validation (RFC 3550 §6.4, Appendix A.2, with reduced-size
 * RTCP of RFC 5506) and the RFC 3550 reports: SR, RR, report blocks, SDES, BYE.
 *
 * Does not: parse feedback messages (rtcp_fb.c), build packets (rtcp_write.c), keep
 * statistics (rtp_stats.c), or decrypt (SRTCP comes first). APP and XR packets are returned
 * by the iterator but not parsed. Pure functions: any thread. */
#include "proto/rtcp.h"

#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

#define SB_RTCP_SDES_CNAME 1

void sb_rtcp_iter_init(sb_rtcp_iter_t *it, const uint8_t *buf, size_t len)
{
    it->base = buf;
    it->p = buf;
    it->end = buf == NULL ? NULL : buf + len;
    it->done = buf == NULL || len == 0;
}

int sb_rtcp_iter_next(sb_rtcp_iter_t *it, sb_rtcp_pkt_t *pkt)
{
    size_t avail, plen;
    const uint8_t *p = it->p;

    if (it->done || p == it->end) {
        it->done = true;
        return 0;
    }
    it->done = true; /* until this packet proves valid */
    avail = (size_t)(it->end - p);
    if (avail < SB_RTCP_HEADER_LEN || (p[0] >> 6) != 2)
        return SB_EPROTO;
    plen = 4u * ((size_t)sb_be16(p + 2) + 1u);
    if (plen > avail)
        return SB_EPROTO;
    memset(pkt, 0, sizeof(*pkt));
    pkt->type = p[1];
    pkt->count = p[0] & 0x1f;
    pkt->padding = (p[0] & 0x20) != 0;
    pkt->offset = (size_t)(p - it->base);
    pkt->buf = p;
    pkt->len = plen;
    pkt->body = p + SB_RTCP_HEADER_LEN;
    pkt->body_len = plen - SB_RTCP_HEADER_LEN;
    if (pkt->padding) {
        /* §6.4.1: only the last packet of a compound may be padded; the count includes
         * itself and cannot reach into the header. */
        uint8_t pad = p[plen - 1];
        if (plen != avail || pad == 0 || pad > pkt->body_len)
            return SB_EPROTO;
        pkt->body_len -= pad;
    }
    it->p = p + plen;
    it->done = false;
    return 1;
}

int sb_rtcp_validate(const uint8_t *buf, size_t len)
{
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    int rc, n = 0;

    sb_rtcp_iter_init(&it, buf, len);
    while ((rc = sb_rtcp_iter_next(&it, &pkt)) > 0)
        n++;
    if (rc < 0)
        return rc;
    return n > 0 ? 0 : SB_EPROTO;
}

/* --- Reports ---------------------------------------------------------------------------- */

int sb_rtcp_parse_sr(const sb_rtcp_pkt_t *pkt, sb_rtcp_sr_t *out)
{
    const uint8_t *b = pkt->body;

    if (pkt->type != SB_RTCP_SR)
        return SB_EINVAL;
    /* §6.4.1: SSRC, 20 bytes of sender info, RC blocks of 24 bytes. */
    if (pkt->body_len < 24u + SB_RTCP_RB_LEN * pkt->count)
        return SB_EPROTO;
    out->ssrc = sb_be32(b);
    out->ntp = sb_be64(b + 4);
    out->rtp_ts = sb_be32(b + 12);
    out->packet_count = sb_be32(b + 16);
    out->octet_count = sb_be32(b + 20);
    out->rb_count = pkt->count;
    out->rbs = b + 24;
    return 0;
}

int sb_rtcp_parse_rr(const sb_rtcp_pkt_t *pkt, sb_rtcp_rr_t *out)
{
    if (pkt->type != SB_RTCP_RR)
        return SB_EINVAL;
    if (pkt->body_len < 4u + SB_RTCP_RB_LEN * pkt->count)
        return SB_EPROTO;
    out->ssrc = sb_be32(pkt->body);
    out->rb_count = pkt->count;
    out->rbs = pkt->body + 4;
    return 0;
}

int sb_rtcp_rb_get(const uint8_t *rbs, uint8_t count, unsigned i, sb_rtcp_rb_t *out)
{
    const uint8_t *b;
    uint32_t lost;

    if (i >= count)
        return SB_ENOENT;
    b = rbs + SB_RTCP_RB_LEN * i;
    out->ssrc = sb_be32(b);
    out->fraction_lost = b[4];
    /* §6.4.1: cumulative lost is a signed 24-bit number (duplicates can make it negative). */
    lost = sb_be24(b + 5);
    out->cumulative_lost = (lost & 0x800000u) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    out->ext_highest_seq = sb_be32(b + 8);
    out->jitter = sb_be32(b + 12);
    out->lsr = sb_be32(b + 16);
    out->dlsr = sb_be32(b + 20);
    return 0;
}

/* Seconds from the NTP era 0 origin (1900) to the Unix epoch (1970). */
#define SB_NTP_UNIX_OFFSET 2208988800u

uint64_t sb_rtcp_ntp_from_unix_us(int64_t unix_us)
{
    uint64_t us = unix_us < 0 ? 0 : (uint64_t)unix_us;
    uint64_t secs = us / 1000000 + SB_NTP_UNIX_OFFSET;
    uint64_t frac = ((us % 1000000) << 32) / 1000000;

    return (secs << 32) | frac;
}

int sb_rtcp_rtt_us(uint64_t now_ntp, uint32_t lsr, uint32_t dlsr, int64_t *rtt_us)
{
    uint32_t now_mid = (uint32_t)(now_ntp >> 16);
    uint32_t rtt;

    if (lsr == 0)
        return SB_ENOENT;
    /* All three in 1/65536 s, modulo 2^32 so the 18-hour wrap of the middle bits is harmless. */
    rtt = now_mid - lsr - dlsr;
    if (rtt >= 0x80000000u)
        return SB_ERANGE;
    *rtt_us = (int64_t)(((uint64_t)rtt * 1000000) >> 16);
    return 0;
}

/* --- SDES ------------------------------------------------------------------------------- */

void sb_rtcp_sdes_iter_init(sb_rtcp_sdes_iter_t *it, const sb_rtcp_pkt_t *pkt)
{
    it->p = pkt->body;
    it->end = pkt->body + pkt->body_len;
    it->remaining = pkt->type == SB_RTCP_SDES ? pkt->count : 0;
}

int sb_rtcp_sdes_next(sb_rtcp_sdes_iter_t *it, uint32_t *ssrc, const uint8_t **cname,
                      size_t *cname_len)
{
    const uint8_t *p = it->p;
    size_t used;

    if (it->remaining == 0)
        return 0;
    if (it->end - p < 8) /* SSRC, then at least the terminating null octet, aligned */
        goto malformed;
    *ssrc = sb_be32(p);
    *cname = NULL;
    *cname_len = 0;
    p += 4;
    /* §6.5: items (type, length, text) until a null type octet. */
    while (p < it->end && p[0] != 0) {
        if (it->end - p < 2 || (size_t)(it->end - p - 2) < p[1])
            goto malformed;
        if (p[0] == SB_RTCP_SDES_CNAME && *cname == NULL) {
            *cname = p + 2;
            *cname_len = p[1];
        }
        p += 2u + p[1];
    }
    if (p >= it->end)
        goto malformed;
    /* The null octet, then more null octets up to the next 32-bit boundary. */
    used = (size_t)(p - it->p) + 1;
    used = (used + 3) & ~(size_t)3;
    if ((size_t)(it->end - it->p) < used)
        goto malformed;
    it->p += used;
    it->remaining--;
    return 1;

malformed:
    it->remaining = 0;
    return SB_EPROTO;
}

/* --- BYE -------------------------------------------------------------------------------- */

int sb_rtcp_parse_bye(const sb_rtcp_pkt_t *pkt, sb_rtcp_bye_t *out)
{
    size_t off;

    if (pkt->type != SB_RTCP_BYE)
        return SB_EINVAL;
    off = 4u * pkt->count;
    if (pkt->body_len < off)
        return SB_EPROTO;
    out->count = pkt->count;
    out->ssrcs = pkt->body;
    out->reason = NULL;
    out->reason_len = 0;
    /* §6.6: an optional length-prefixed reason follows the SSRC list. */
    if (pkt->body_len > off && pkt->body[off] != 0) {
        size_t n = pkt->body[off];
        if (n > pkt->body_len - off - 1)
            return SB_EPROTO;
        out->reason = pkt->body + off + 1;
        out->reason_len = n;
    }
    return 0;
}

uint32_t sb_rtcp_bye_ssrc(const sb_rtcp_bye_t *bye, unsigned i)
{
    return i < bye->count ? sb_be32(bye->ssrcs + 4u * i) : 0;
}
