/* Receiver-side statistics of one RTP source (RFC 3550 Appendix A.1, A.3, A.8): sequence
 * validation with wrap-around and probation, expected and lost packet counts, fraction lost
 * between reports, interarrival jitter, and the report block for the next RR or SR, with
 * LSR/DLSR from the source's last SR.
 *
 * Inline struct so a stream embeds it; no allocation. Owned by the stream that embeds it and
 * touched only on that stream's media loop. Statistics only: a packet that fails the sequence
 * checks here is still the forwarder's to decide about. */
#ifndef SB_PROTO_RTP_STATS_H
#define SB_PROTO_RTP_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/rtcp.h"

/* RFC 3550 A.1 constants. */
#define SB_RTP_STATS_MIN_SEQUENTIAL 2u
#define SB_RTP_STATS_MAX_DROPOUT 3000u
#define SB_RTP_STATS_MAX_MISORDER 100u

typedef struct sb_rtp_stats {
    uint32_t ssrc;
    unsigned min_sequential;  /* packets in sequence needed before a source counts */
    bool started;             /* a first packet was seen */
    uint16_t max_seq;         /* highest sequence number seen */
    uint32_t cycles;          /* wrap count, shifted left by 16 */
    uint32_t base_seq;
    uint32_t bad_seq;         /* the sequence number that would confirm a restart */
    uint32_t probation;       /* sequential packets still needed */
    uint32_t received;
    uint32_t expected_prior;  /* at the previous report */
    uint32_t received_prior;
    bool has_transit;
    uint32_t transit;         /* relative transit time of the previous in-order packet */
    uint32_t jitter;          /* scaled by 16 (A.8) */
    bool has_sr;
    uint32_t last_sr;         /* middle 32 bits of the last SR's NTP timestamp */
    int64_t last_sr_us;       /* local monotonic arrival time of that SR */
} sb_rtp_stats_t;

/* Start statistics for ssrc. min_sequential is A.1's MIN_SEQUENTIAL
 * (SB_RTP_STATS_MIN_SEQUENTIAL); 0 or 1 trusts the first packet, e.g. once SRTP
 * authentication has vouched for it. */
void sb_rtp_stats_init(sb_rtp_stats_t *s, uint32_t ssrc, unsigned min_sequential);

/* Account for one received packet. arrival is its arrival time converted to the stream's RTP
 * clock (any origin, wrapping). Returns 0 when counted (in order, late or duplicate),
 * SB_EAGAIN while the source is on probation, or SB_EPROTO for a jump too large to be
 * loss or reordering (two such packets in sequence restart the statistics, A.1).
 * Jitter follows A.8 but only for packets that advance the highest sequence number: late and
 * retransmitted packets would count their delay as jitter. */
int sb_rtp_stats_update(sb_rtp_stats_t *s, uint16_t seq, uint32_t rtp_ts, uint32_t arrival);

/* Remember an SR received from this source (RFC 3550 §6.4.1: LSR and its arrival time). */
void sb_rtp_stats_on_sr(sb_rtp_stats_t *s, uint64_t ntp, int64_t now_us);

/* Fill a report block for now (monotonic microseconds) and start a new report interval
 * (A.3). Returns 0, or SB_EAGAIN when nothing has been counted yet. */
int sb_rtp_stats_report(sb_rtp_stats_t *s, int64_t now_us, sb_rtcp_rb_t *rb);

/* Extended highest sequence number, packets expected, and cumulative loss (negative with
 * duplicates), since the source (re)started. */
uint32_t sb_rtp_stats_ext_max(const sb_rtp_stats_t *s);
uint32_t sb_rtp_stats_expected(const sb_rtp_stats_t *s);
int64_t sb_rtp_stats_lost(const sb_rtp_stats_t *s);

/* Interarrival jitter in RTP timestamp units. */
static inline uint32_t sb_rtp_stats_jitter(const sb_rtp_stats_t *s)
{
    return s->jitter >> 4;
}

#endif
