/* RTCP builders (RFC 3550 §6.4 to §6.6, RFC 4585 §6, RFC 5104 §4.3.1,
 * draft-alvestrand-rmcat-remb): each writes one packet into a caller buffer; a compound is
 * the concatenation the caller makes.
 *
 * Does not: decide when to send (report intervals, RFC 3550 §6.2, belong to the peer), pad,
 * encrypt, or allocate. Pure functions: any thread. */
#include "proto/rtcp.h"

#include <string.h>

#include "switchboard/error.h"
#include "proto/byteorder.h"

/* The length field counts 32-bit words minus one: a packet holds at most 2^18 bytes. */
#define SB_RTCP_MAX_LEN (4u * 65536u)

static void sb_rtcp_put_header(uint8_t *out, unsigned count, uint8_t type, size_t len)
{
    out[0] = (uint8_t)(0x80 | (count & 0x1f));
    out[1] = type;
    sb_put_be16(out + 2, (uint16_t)(len / 4 - 1));
}

static void sb_rtcp_put_rb(uint8_t *out, const sb_rtcp_rb_t *rb)
{
    int32_t lost = rb->cumulative_lost;

    /* Clamp to the signed 24-bit field (RFC 3550 §6.4.1). */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    sb_put_be32(out, rb->ssrc);
    out[4] = rb->fraction_lost;
    sb_put_be24(out + 5, (uint32_t)lost & 0xffffffu);
    sb_put_be32(out + 8, rb->ext_highest_seq);
    sb_put_be32(out + 12, rb->jitter);
    sb_put_be32(out + 16, rb->lsr);
    sb_put_be32(out + 20, rb->dlsr);
}

int sb_rtcp_write_sr(uint8_t *out, size_t size, const sb_rtcp_sr_t *sr, const sb_rtcp_rb_t *rbs,
                     size_t n)
{
    size_t len = 28 + SB_RTCP_RB_LEN * n;

    if (n > SB_RTCP_MAX_RB || (n > 0 && rbs == NULL))
        return SB_EINVAL;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_header(out, (unsigned)n, SB_RTCP_SR, len);
    sb_put_be32(out + 4, sr->ssrc);
    sb_put_be64(out + 8, sr->ntp);
    sb_put_be32(out + 16, sr->rtp_ts);
    sb_put_be32(out + 20, sr->packet_count);
    sb_put_be32(out + 24, sr->octet_count);
    for (size_t i = 0; i < n; i++)
        sb_rtcp_put_rb(out + 28 + SB_RTCP_RB_LEN * i, &rbs[i]);
    return (int)len;
}

int sb_rtcp_write_rr(uint8_t *out, size_t size, uint32_t ssrc, const sb_rtcp_rb_t *rbs,
                     size_t n)
{
    size_t len = 8 + SB_RTCP_RB_LEN * n;

    if (n > SB_RTCP_MAX_RB || (n > 0 && rbs == NULL))
        return SB_EINVAL;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_header(out, (unsigned)n, SB_RTCP_RR, len);
    sb_put_be32(out + 4, ssrc);
    for (size_t i = 0; i < n; i++)
        sb_rtcp_put_rb(out + 8 + SB_RTCP_RB_LEN * i, &rbs[i]);
    return (int)len;
}

int sb_rtcp_write_sdes_cname(uint8_t *out, size_t size, uint32_t ssrc, const char *cname)
{
    size_t n = cname == NULL ? 0 : strlen(cname);
    size_t len;

    if (n == 0 || n > 255)
        return SB_EINVAL;
    /* Header, SSRC, CNAME item, then null octets to the next 32-bit boundary (§6.5). */
    len = (4 + 4 + 2 + n + 1 + 3) & ~(size_t)3;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_header(out, 1, SB_RTCP_SDES, len);
    sb_put_be32(out + 4, ssrc);
    out[8] = 1; /* CNAME */
    out[9] = (uint8_t)n;
    memcpy(out + 10, cname, n);
    memset(out + 10 + n, 0, len - 10 - n);
    return (int)len;
}

int sb_rtcp_write_bye(uint8_t *out, size_t size, const uint32_t *ssrcs, size_t n,
                      const char *reason)
{
    size_t rlen = reason == NULL ? 0 : strlen(reason);
    size_t len = 4 + 4 * n;

    if (n > SB_RTCP_MAX_RB || (n > 0 && ssrcs == NULL) || rlen > 255)
        return SB_EINVAL;
    if (rlen > 0)
        len = (len + 1 + rlen + 3) & ~(size_t)3;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_header(out, (unsigned)n, SB_RTCP_BYE, len);
    for (size_t i = 0; i < n; i++)
        sb_put_be32(out + 4 + 4 * i, ssrcs[i]);
    if (rlen > 0) {
        uint8_t *r = out + 4 + 4 * n;
        r[0] = (uint8_t)rlen;
        memcpy(r + 1, reason, rlen);
        memset(r + 1 + rlen, 0, (size_t)(out + len - (r + 1 + rlen)));
    }
    return (int)len;
}

/* Header and the two SSRCs of a feedback message of len bytes. */
static void sb_rtcp_put_fb(uint8_t *out, uint8_t type, uint8_t fmt, size_t len, uint32_t sender,
                           uint32_t media)
{
    sb_rtcp_put_header(out, fmt, type, len);
    sb_put_be32(out + 4, sender);
    sb_put_be32(out + 8, media);
}

int sb_rtcp_write_pli(uint8_t *out, size_t size, uint32_t sender, uint32_t media)
{
    if (size < 12)
        return SB_ERANGE;
    sb_rtcp_put_fb(out, SB_RTCP_PSFB, SB_RTCP_FMT_PLI, 12, sender, media);
    return 12;
}

int sb_rtcp_write_fir(uint8_t *out, size_t size, uint32_t sender,
                      const sb_rtcp_fir_entry_t *entries, size_t n)
{
    size_t len = 12 + 8 * n;

    if (n == 0 || entries == NULL || n > (SB_RTCP_MAX_LEN - 12) / 8)
        return SB_EINVAL;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_fb(out, SB_RTCP_PSFB, SB_RTCP_FMT_FIR, len, sender, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = out + 12 + 8 * i;
        sb_put_be32(e, entries[i].ssrc);
        e[4] = entries[i].seq;
        e[5] = e[6] = e[7] = 0;
    }
    return (int)len;
}

int sb_rtcp_write_remb(uint8_t *out, size_t size, uint32_t sender, uint64_t bitrate,
                       const uint32_t *ssrcs, size_t n)
{
    size_t len = 20 + 4 * n;
    unsigned exp = 0;
    uint32_t mantissa;

    if (n > 255 || (n > 0 && ssrcs == NULL))
        return SB_EINVAL;
    if (len > size)
        return SB_ERANGE;
    /* Smallest exponent whose 18-bit mantissa holds the rate: at most 46 for 64 bits. */
    while ((bitrate >> exp) > 0x3ffffu)
        exp++;
    mantissa = (uint32_t)(bitrate >> exp);
    sb_rtcp_put_fb(out, SB_RTCP_PSFB, SB_RTCP_FMT_AFB, len, sender, 0);
    memcpy(out + 12, "REMB", 4);
    out[16] = (uint8_t)n;
    sb_put_be24(out + 17, ((uint32_t)exp << 18) | mantissa);
    for (size_t i = 0; i < n; i++)
        sb_put_be32(out + 20 + 4 * i, ssrcs[i]);
    return (int)len;
}

/* Pack seqs into PID + BLP items, written to fci when not NULL. Returns the item count. */
static size_t sb_rtcp_nack_pack(const uint16_t *seqs, size_t n, uint8_t *fci)
{
    size_t items = 0, i = 0;

    while (i < n) {
        uint16_t pid = seqs[i++];
        uint16_t blp = 0;

        /* RFC 4585 §6.2.1: bit k of BLP stands for PID + k + 1. */
        while (i < n) {
            uint16_t d = (uint16_t)(seqs[i] - pid);
            if (d > 16)
                break;
            if (d > 0)
                blp |= (uint16_t)(1u << (d - 1));
            i++;
        }
        if (fci != NULL) {
            sb_put_be16(fci + 4 * items, pid);
            sb_put_be16(fci + 4 * items + 2, blp);
        }
        items++;
    }
    return items;
}

int sb_rtcp_write_nack(uint8_t *out, size_t size, uint32_t sender, uint32_t media,
                       const uint16_t *seqs, size_t n)
{
    size_t items, len;

    if (n == 0 || seqs == NULL)
        return SB_EINVAL;
    items = sb_rtcp_nack_pack(seqs, n, NULL);
    if (items > (SB_RTCP_MAX_LEN - 12) / 4)
        return SB_EINVAL;
    len = 12 + 4 * items;
    if (len > size)
        return SB_ERANGE;
    sb_rtcp_put_fb(out, SB_RTCP_RTPFB, SB_RTCP_FMT_NACK, len, sender, media);
    sb_rtcp_nack_pack(seqs, n, out + 12);
    return (int)len;
}
