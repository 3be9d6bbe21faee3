/* Send-side bandwidth estimation for one transport (one client's PeerConnection), in the
 * spirit of Google Congestion Control (draft-ietf-rmcat-gcc-02): a delay-based estimate
 * (packet groups, a trendline of the one-way delay variation, an overuse detector with an
 * adaptive threshold, an AIMD rate controller), a loss-based estimate (from transport-wide
 * feedback losses and receiver reports), the receiver's REMB as a cap, and probing to find
 * bandwidth upward.
 *
 * Sans-IO: the caller feeds it what was sent and what the client's feedback says arrived,
 * with its clock; it keeps no pointers to the caller's memory and does no I/O.
 *
 * Owner: the peer (src/peer), on its media loop; not thread-safe. */
#ifndef SB_PROTO_BWE_H
#define SB_PROTO_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_bwe sb_bwe_t;

typedef struct sb_bwe_config {
    uint32_t start_bps; /* estimate before any feedback (0: 300 kbit/s) */
    uint32_t min_bps;   /* never below (0: 30 kbit/s) */
    uint32_t max_bps;   /* never above (0: 20 Mbit/s) */
} sb_bwe_config_t;

/* What became of one packet we sent, from one transport-wide feedback message. */
typedef struct sb_bwe_result {
    int64_t seq;     /* unwrapped transport-wide sequence number */
    int64_t send_us; /* when we sent it, our monotonic clock */
    int64_t recv_us; /* when it arrived, the receiver's clock (any origin, >= 0); -1 (any
                      * negative): lost */
    uint32_t size;   /* bytes of RTP (header, payload, padding) */
    int probe;       /* probe cluster id, -1: not a probe */
} sb_bwe_result_t;

/* A probe the caller should send now: padding (or retransmissions) at target_bps on top of
 * nothing else, over about duration_us and at least min_packets packets, with every packet
 * marked cluster (the result's probe field). Its rate is min(send rate, receive rate) of the
 * acknowledged packets, so paced is best (arrivals stamped much faster than the sending are
 * then recognised and ignored); a burst sent in one instant is measured by its arrivals alone,
 * at most target_bps. */
typedef struct sb_bwe_probe {
    int cluster;
    uint32_t target_bps;
    int64_t duration_us;
    uint32_t min_packets;
} sb_bwe_probe_t;

typedef enum sb_bwe_usage {
    SB_BWE_NORMAL = 0,
    SB_BWE_OVERUSE,
    SB_BWE_UNDERUSE,
} sb_bwe_usage_t;

/* For logs, tests and the admin API. */
typedef struct sb_bwe_stats {
    uint32_t estimate_bps; /* what the caller should send at most */
    uint32_t delay_bps;    /* the delay-based estimate */
    uint32_t loss_bps;     /* the loss-based estimate */
    uint32_t acked_bps;    /* throughput the receiver acknowledged, 0 when unknown */
    uint32_t remb_bps;     /* the receiver's REMB cap, 0: none */
    double loss;           /* fraction lost over the last window of >= 20 results (or the
                            * last receiver report), 0..1 */
    double trend;          /* the delay trendline's modified slope */
    double threshold;      /* the overuse detector's adaptive threshold */
    sb_bwe_usage_t usage;
    uint64_t feedback_packets, results, lost;
    uint64_t ignored;       /* results already seen, too old, or with impossible values */
    uint64_t probes;        /* probes started (sb_bwe_probe_due returned true) */
    uint64_t probe_results; /* probes whose measured rate was applied */
    uint64_t overuses;      /* times the delay detector went into overuse */
} sb_bwe_stats_t;

/* Owned result; NULL only when out of memory. cfg may be NULL (defaults). */
sb_bwe_t *sb_bwe_new(const sb_bwe_config_t *cfg);
void sb_bwe_free(sb_bwe_t *bwe);

/* One feedback message's results in transport sequence order (reordered or repeated
 * feedback is tolerated: results already seen are ignored), received at now_us. O(n), no
 * allocation. Times or sequence numbers beyond +-2^52 are ignored (counted in stats). */
void sb_bwe_on_feedback(sb_bwe_t *bwe, const sb_bwe_result_t *r, size_t n, int64_t now_us);
/* The receiver's REMB (bits/s): a cap on the estimate. 0 removes it. */
void sb_bwe_on_remb(sb_bwe_t *bwe, uint64_t bps, int64_t now_us);
/* A receiver report's fraction lost (RFC 3550 §6.4.1, x/256) for what we send. Used when
 * no transport-wide feedback is negotiated: ignored while feedback with results arrived in
 * the last 2 s. */
void sb_bwe_on_loss_report(sb_bwe_t *bwe, uint8_t fraction_lost, int64_t now_us);
/* The round trip time, from receiver reports (or feedback timing); 200 ms until known. */
void sb_bwe_on_rtt(sb_bwe_t *bwe, int64_t rtt_us, int64_t now_us);

/* The current estimate in bits/s: what the caller should send at most. */
uint32_t sb_bwe_estimate(const sb_bwe_t *bwe);

/* The caller would send wanted_bps if the estimate allowed it (the next layer up, say).
 * Returns true and fills *out when a probe should start now: only when wanted_bps is above
 * the estimate, no probe is in flight, and not too soon after the last one. The first goes
 * at once (3 x the estimate); while results reach their target the next follows at twice the
 * measured rate; then one every 5 s without overuse in the last 2 s. Never above REMB, max,
 * or 1.25 x wanted_bps; none while losses average over 10 %. A probe counts as done when
 * 80 % of min_packets are acknowledged, or lost after 1 s + RTT. Call it on every tick. */
bool sb_bwe_probe_due(sb_bwe_t *bwe, uint32_t wanted_bps, int64_t now_us, sb_bwe_probe_t *out);

/* The caller sent packets more of a probe's cluster (a paced probe goes out in slices);
 * last: that was the end of it. The probe is measured once 80 % of what was sent is
 * acknowledged (without calls: once 80 % of min_packets are). */
void sb_bwe_probe_sent(sb_bwe_t *bwe, int cluster, uint32_t packets, bool last);

void sb_bwe_get_stats(const sb_bwe_t *bwe, sb_bwe_stats_t *out);

#endif
