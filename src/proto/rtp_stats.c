/* Receiver statistics per RFC 3550 Appendix A.1 (sequence validation), A.3 (expected and
 * lost packets, fraction lost) and A.8 (interarrival jitter), plus LSR/DLSR (§6.4.1).
 *
 * Does not: decide when reports are sent, build the RTCP packet around the block
 * (rtcp_write.c), or look at packet contents. Runs on the owning stream's media loop. */
#include "proto/rtp_stats.h"

#include <string.h>

#include "switchboard/error.h"

#define SB_RTP_SEQ_MOD (1u << 16)

void sb_rtp_stats_init(sb_rtp_stats_t *s, uint32_t ssrc, unsigned min_sequential)
{
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    s->min_sequential = min_sequential;
}

/* A.1 init_seq(): a fresh start at seq. */
static void sb_rtp_stats_init_seq(sb_rtp_stats_t *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SB_RTP_SEQ_MOD + 1; /* matches no sequence number */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
    s->has_transit = false; /* a restarted source may have a new timestamp origin */
}

/* A.1 probation: MIN_SEQUENTIAL packets in sequence before the source counts. */
static int sb_rtp_stats_probe(sb_rtp_stats_t *s, uint16_t seq)
{
    if (seq == (uint16_t)(s->max_seq + 1)) {
        s->probation--;
        s->max_seq = seq;
        if (s->probation == 0) {
            sb_rtp_stats_init_seq(s, seq);
            s->received++;
            return 0;
        }
    } else {
        s->probation = s->min_sequential - 1;
        s->max_seq = seq;
    }
    return SB_EAGAIN;
}

/* A.1 update_seq(). Returns 0 when counted, with *advanced telling a new highest seq. */
static int sb_rtp_stats_update_seq(sb_rtp_stats_t *s, uint16_t seq, bool *advanced)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);

    *advanced = false;
    if (s->probation > 0) {
        int rc = sb_rtp_stats_probe(s, seq);
        *advanced = rc == 0;
        return rc;
    }
    if (udelta < SB_RTP_STATS_MAX_DROPOUT) {
        if (udelta == 0) {
            s->received++; /* duplicate of the highest */
            return 0;
        }
        if (seq < s->max_seq)
            s->cycles += SB_RTP_SEQ_MOD; /* wrapped */
        s->max_seq = seq;
        *advanced = true;
    } else if (udelta <= SB_RTP_SEQ_MOD - SB_RTP_STATS_MAX_MISORDER) {
        /* A very large jump: the source restarted only if the next packet follows it. */
        if (seq != s->bad_seq) {
            s->bad_seq = (seq + 1u) & (SB_RTP_SEQ_MOD - 1);
            return SB_EPROTO;
        }
        sb_rtp_stats_init_seq(s, seq);
        *advanced = true;
    }
    /* else: duplicate or reordered within MAX_MISORDER, counted */
    s->received++;
    return 0;
}

/* A.8: J += (|D| - J) / 16, with J kept scaled by 16. */
static void sb_rtp_stats_jitter_update(sb_rtp_stats_t *s, uint32_t rtp_ts, uint32_t arrival)
{
    uint32_t transit = arrival - rtp_ts;
    int32_t d;

    if (s->has_transit) {
        d = (int32_t)(transit - s->transit);
        if (d < 0)
            d = -d;
        s->jitter += (uint32_t)d - ((s->jitter + 8) >> 4);
    }
    s->transit = transit;
    s->has_transit = true;
}

int sb_rtp_stats_update(sb_rtp_stats_t *s, uint16_t seq, uint32_t rtp_ts, uint32_t arrival)
{
    bool advanced;
    int rc;

    if (!s->started) {
        s->started = true;
        sb_rtp_stats_init_seq(s, seq);
        if (s->min_sequential <= 1) {
            s->received = 1;
            sb_rtp_stats_jitter_update(s, rtp_ts, arrival);
            return 0;
        }
        s->max_seq = (uint16_t)(seq - 1);
        s->probation = s->min_sequential;
    }
    rc = sb_rtp_stats_update_seq(s, seq, &advanced);
    if (rc == 0 && advanced)
        sb_rtp_stats_jitter_update(s, rtp_ts, arrival);
    return rc;
}

void sb_rtp_stats_on_sr(sb_rtp_stats_t *s, uint64_t ntp, int64_t now_us)
{
    s->has_sr = true;
    s->last_sr = (uint32_t)(ntp >> 16);
    s->last_sr_us = now_us;
}

uint32_t sb_rtp_stats_ext_max(const sb_rtp_stats_t *s)
{
    return s->cycles + s->max_seq;
}

uint32_t sb_rtp_stats_expected(const sb_rtp_stats_t *s)
{
    if (!s->started || s->probation > 0)
        return 0;
    return sb_rtp_stats_ext_max(s) - s->base_seq + 1;
}

int64_t sb_rtp_stats_lost(const sb_rtp_stats_t *s)
{
    return (int64_t)sb_rtp_stats_expected(s) - (int64_t)s->received;
}

/* §6.4.1: DLSR in 1/65536 s since the last SR arrived, 0 without one. */
static uint32_t sb_rtp_stats_dlsr(const sb_rtp_stats_t *s, int64_t now_us)
{
    int64_t d;

    if (!s->has_sr || now_us <= s->last_sr_us)
        return 0;
    d = now_us - s->last_sr_us;
    if (d >= (int64_t)65536 * 1000000) /* more than 18 hours: saturate */
        return UINT32_MAX;
    return (uint32_t)((d * 65536) / 1000000);
}

int sb_rtp_stats_report(sb_rtp_stats_t *s, int64_t now_us, sb_rtcp_rb_t *rb)
{
    uint32_t expected, expected_interval, received_interval;
    int64_t lost, lost_interval;

    if (!s->started || s->probation > 0)
        return SB_EAGAIN;
    expected = sb_rtp_stats_expected(s);
    lost = sb_rtp_stats_lost(s);
    expected_interval = expected - s->expected_prior;
    s->expected_prior = expected;
    received_interval = s->received - s->received_prior;
    s->received_prior = s->received;
    lost_interval = (int64_t)expected_interval - (int64_t)received_interval;

    memset(rb, 0, sizeof(*rb));
    rb->ssrc = s->ssrc;
    if (expected_interval != 0 && lost_interval > 0) {
        int64_t fraction = (lost_interval << 8) / expected_interval;
        rb->fraction_lost = (uint8_t)(fraction > 255 ? 255 : fraction); /* all lost: 256 */
    }
    /* A.3: clamp to the signed 24-bit field. */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    else if (lost < -0x800000)
        lost = -0x800000;
    rb->cumulative_lost = (int32_t)lost;
    rb->ext_highest_seq = sb_rtp_stats_ext_max(s);
    rb->jitter = sb_rtp_stats_jitter(s);
    rb->lsr = s->has_sr ? s->last_sr : 0;
    rb->dlsr = sb_rtp_stats_dlsr(s, now_us);
    return 0;
}
