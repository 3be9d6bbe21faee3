/* Send-side bandwidth estimation (see bwe.h).
 *
 * One feedback message is one pass over its results, O(n), nothing allocated:
 * - a bitmap over the last 2,048 sequence numbers drops results already seen (a packet reported
 *   lost and later received counts as received);
 * - received results feed the acknowledged rate (bytes per 10 ms bucket of the receiver's clock
 *   over 500 ms), the delay-based half (bwe_delay.c) and, when marked, their probe cluster;
 * - then the rate controller acts once, or a finished probe sets the rate instead;
 * - every 20 results or more, the loss fraction moves the loss-based estimate (below 2 %: up to
 *   8 % over the lowest estimate of the last second; up to 10 %: hold; above: x (1 - loss / 2),
 *   at most once per 300 ms + RTT), as libwebrtc's SendSideBandwidthEstimation does.
 * The estimate is min(delay-based, loss-based, REMB, max), never below min. Without
 * transport-wide feedback, receiver reports' fraction lost drive the loss-based estimate and
 * the delay-based one is not used.
 *
 * Probing: the first probe at 3 x the estimate, then, while a probe's measured rate
 * (min(send rate, receive rate) of its acknowledged packets) reaches 70 % of its target, the
 * next at twice that; later one every 5 s while the caller wants more and there was no overuse
 * for 2 s (the usual SFU case: it sends a lower layer than it would like, so the delay-based
 * estimate, held to 1.5 x what is acknowledged, cannot find more by itself). A result without
 * overuse lifts the estimate to 0.95 x the measured rate.
 *
 * Input is not trusted: times and sequence numbers beyond +-2^52 are ignored, times going back
 * or jumping restart what depends on them, every rate is clamped and checked finite before it
 * becomes an integer. Does not: pace, send probes, or parse RTCP (the caller does). Sans-IO;
 * one owner thread. */
#include "proto/bwe.h"

#include <math.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "proto/bwe_delay.h"

#define SB_BWE_DEFAULT_START_BPS 300000
#define SB_BWE_DEFAULT_MIN_BPS 30000
#define SB_BWE_DEFAULT_MAX_BPS 20000000
#define SB_BWE_TIME_LIMIT ((int64_t)1 << 52) /* 142 years in us: sums never overflow */

#define SB_BWE_SEQ_WINDOW 2048
#define SB_BWE_SEQ_RESTART_RUN 64 /* results older than the window in a row: renumbered */

#define SB_BWE_ACK_BUCKET_US 10000
#define SB_BWE_ACK_BUCKETS 50 /* 500 ms */
#define SB_BWE_ACK_SHORT_BUCKETS 25
#define SB_BWE_ACK_MIN_SPAN_US 100000
#define SB_BWE_ACK_RESTART_RUN 64

#define SB_BWE_FEEDBACK_TIMEOUT_US 2000000
#define SB_BWE_DEFAULT_RTT_US 200000

#define SB_BWE_LOSS_MIN_PACKETS 20
#define SB_BWE_LOSS_LOW 0.02
#define SB_BWE_LOSS_HIGH 0.10
#define SB_BWE_LOSS_INCREASE 1.08
#define SB_BWE_LOSS_DECREASE_US 300000
#define SB_BWE_LOSS_AVG_GAIN 0.25
#define SB_BWE_LOSS_STALE_US 6000000
#define SB_BWE_LOSS_FLOOR_ACKED 0.5
#define SB_BWE_HIST_SLOTS 10
#define SB_BWE_HIST_SLOT_US 100000 /* the minimum over 10 x 100 ms: the last second */

#define SB_BWE_CLUSTERS 4
/* Paced by the caller over this (5 ticks of 20 ms). 300 ms probes at twice the estimate
 * built 460 ms of queue on a 3 Mbit/s link (mean queue 44 ms, estimate down to 71 %); the
 * false rises on a shaped 400 kbit/s link came from probes counted as throughput, not from
 * their length (see sb_bwe_ack_add). */
#define SB_BWE_PROBE_DURATION_US 100000
#define SB_BWE_PROBE_MIN_PACKETS 5
#define SB_BWE_PROBE_FIRST 3.0
#define SB_BWE_PROBE_FURTHER 0.7
#define SB_BWE_PROBE_SCALE 2.0
#define SB_BWE_PROBE_USE 0.95
#define SB_BWE_PROBE_INTERVAL_US 5000000
#define SB_BWE_PROBE_QUIET_US 2000000
#define SB_BWE_PROBE_TIMEOUT_US 1000000
#define SB_BWE_PROBE_SPAN_MAX_US 1000000
#define SB_BWE_PROBE_RATIO_MAX 2.0
#define SB_BWE_PROBE_BURST_US 1000     /* sent closer than this: an unpaced burst */

_Static_assert(SB_BWE_SEQ_WINDOW % 64 == 0, "bitmap window");

/* What was acknowledged of one probe cluster. */
typedef struct sb_bwe_cluster {
    int id; /* -1: free */
    double target_bps;
    uint32_t count;
    uint32_t sent;  /* packets the caller says it sent (sb_bwe_probe_sent) */
    bool complete;  /* ... and that it sent the last */
    uint64_t bytes;
    int64_t first_send_us, last_send_us, first_recv_us, last_recv_us;
    uint32_t last_send_size, first_recv_size;
    uint64_t mid_bytes; /* acknowledged when half the probe's bytes were, and when */
    int64_t mid_recv_us;
} sb_bwe_cluster_t;

/* Owned by the peer (one per transport); its media loop only. */
struct sb_bwe {
    double start_bps, min_bps, max_bps;
    double estimate;
    bool have_now;
    int64_t now_us; /* our clock, never going back */
    int64_t rtt_us;

    bool have_seq;
    int64_t seq_high;
    unsigned seq_old_run;
    uint64_t seen[SB_BWE_SEQ_WINDOW / 64];
    uint64_t lost[SB_BWE_SEQ_WINDOW / 64];

    bool have_feedback; /* transport-wide feedback with results arrived */
    int64_t feedback_us;
    sb_bwe_delay_t delay;
    uint64_t overuses_seen;
    bool have_overuse;
    int64_t overuse_us;

    bool ack_have;
    int64_t ack_head; /* bucket of the newest arrival */
    int64_t ack_since_us, ack_last_us;
    unsigned ack_old_run;
    /* Bytes acknowledged per bucket, all and the probes' part, side by side in 32 bits: one
     * feedback message reads the window once, and at a fan-out it is cold (400 bytes, not
     * 800 in two arrays). */
    struct {
        uint32_t all, probe;
    } ack[SB_BWE_ACK_BUCKETS];
    double acked_bps;

    uint32_t win_total, win_lost;
    double loss, loss_bps;
    double loss_avg; /* smoothed over windows: gates probes */
    bool have_loss;  /* a fraction is known (a window of results, or a receiver report) */
    bool loss_cut;   /* this fraction already cut the estimate once */
    int64_t loss_us; /* when it became known */
    bool have_loss_decrease;
    int64_t loss_decrease_us;
    bool hist_have;
    int64_t hist_slot;
    double hist[SB_BWE_HIST_SLOTS];

    double remb_bps; /* 0: none */

    sb_bwe_cluster_t clusters[SB_BWE_CLUSTERS];
    int probe_next_id;
    bool probe_inflight;
    int probe_id;
    int64_t probe_start_us;
    bool probed;      /* the first probe went */
    bool probe_more;  /* the last result asks for the next exponential step */
    bool probe_blind; /* a probe timed out before any feedback: wait for feedback */
    double probe_measured;
    int64_t probe_last_us;

    sb_bwe_stats_t stats;
};

static double sb_bwe_clamp(double v, double lo, double hi)
{
    if (!(v >= lo)) /* also NaN */
        return lo;
    return v > hi ? hi : v;
}

static uint32_t sb_bwe_u32(double v)
{
    return (uint32_t)sb_bwe_clamp(v, 0, (double)UINT32_MAX);
}

static bool sb_bwe_time_ok(int64_t t)
{
    return t >= -SB_BWE_TIME_LIMIT && t <= SB_BWE_TIME_LIMIT;
}

static int64_t sb_bwe_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static unsigned sb_bwe_mod(int64_t a, int64_t n)
{
    int64_t m = a % n;
    return (unsigned)(m < 0 ? m + n : m);
}

static int64_t sb_bwe_clock(sb_bwe_t *b, int64_t now_us)
{
    if (!sb_bwe_time_ok(now_us))
        now_us = b->have_now ? b->now_us : 0;
    if (b->have_now && now_us < b->now_us)
        now_us = b->now_us;
    b->have_now = true;
    b->now_us = now_us;
    return now_us;
}

static void sb_bwe_combine(sb_bwe_t *b)
{
    double e = b->loss_bps;
    if (b->have_feedback && b->delay.bps < e)
        e = b->delay.bps;
    if (b->remb_bps > 0 && b->remb_bps < e)
        e = b->remb_bps;
    b->estimate = sb_bwe_clamp(e, b->min_bps, b->max_bps);
}

sb_bwe_t *sb_bwe_new(const sb_bwe_config_t *cfg)
{
    sb_bwe_t *b = SB_NEW(sb_bwe_t);
    if (!b)
        return NULL;
    sb_bwe_config_t c = {0};
    if (cfg)
        c = *cfg;
    b->max_bps = c.max_bps ? c.max_bps : SB_BWE_DEFAULT_MAX_BPS;
    b->min_bps = c.min_bps ? c.min_bps : SB_BWE_DEFAULT_MIN_BPS;
    if (b->min_bps > b->max_bps)
        b->min_bps = b->max_bps;
    b->start_bps =
        sb_bwe_clamp(c.start_bps ? c.start_bps : SB_BWE_DEFAULT_START_BPS, b->min_bps, b->max_bps);
    b->rtt_us = SB_BWE_DEFAULT_RTT_US;
    sb_bwe_delay_init(&b->delay, b->start_bps);
    b->loss_bps = b->start_bps;
    for (unsigned i = 0; i < SB_BWE_CLUSTERS; i++)
        b->clusters[i].id = -1;
    sb_bwe_combine(b);
    return b;
}

void sb_bwe_free(sb_bwe_t *bwe)
{
    sb_free(bwe);
}

/* ---- sequence window ---- */

enum { SB_BWE_SEQ_NEW, SB_BWE_SEQ_RECOVERED, SB_BWE_SEQ_SKIP };

static bool sb_bwe_bit(const uint64_t *map, int64_t seq)
{
    unsigned i = (unsigned)((uint64_t)seq & (SB_BWE_SEQ_WINDOW - 1));
    return (map[i >> 6] >> (i & 63)) & 1;
}

static void sb_bwe_bit_put(uint64_t *map, int64_t seq, bool on)
{
    unsigned i = (unsigned)((uint64_t)seq & (SB_BWE_SEQ_WINDOW - 1));
    uint64_t m = (uint64_t)1 << (i & 63);
    map[i >> 6] = on ? map[i >> 6] | m : map[i >> 6] & ~m;
}

static void sb_bwe_seq_restart(sb_bwe_t *b, int64_t seq)
{
    b->have_seq = true;
    b->seq_high = seq;
    b->seq_old_run = 0;
    memset(b->seen, 0, sizeof(b->seen));
    memset(b->lost, 0, sizeof(b->lost));
}

static int sb_bwe_seq_mark(sb_bwe_t *b, int64_t seq, bool received)
{
    if (!b->have_seq) {
        sb_bwe_seq_restart(b, seq);
    } else if (seq > b->seq_high) {
        if (seq - b->seq_high >= SB_BWE_SEQ_WINDOW) {
            sb_bwe_seq_restart(b, seq);
        } else {
            for (int64_t s = b->seq_high + 1; s <= seq; s++) {
                sb_bwe_bit_put(b->seen, s, false);
                sb_bwe_bit_put(b->lost, s, false);
            }
            b->seq_high = seq;
        }
    } else if (seq <= b->seq_high - SB_BWE_SEQ_WINDOW) {
        if (++b->seq_old_run < SB_BWE_SEQ_RESTART_RUN)
            return SB_BWE_SEQ_SKIP;
        sb_bwe_seq_restart(b, seq);
    }
    b->seq_old_run = 0;
    if (sb_bwe_bit(b->seen, seq)) {
        if (received && sb_bwe_bit(b->lost, seq)) {
            sb_bwe_bit_put(b->lost, seq, false);
            return SB_BWE_SEQ_RECOVERED;
        }
        return SB_BWE_SEQ_SKIP;
    }
    sb_bwe_bit_put(b->seen, seq, true);
    sb_bwe_bit_put(b->lost, seq, !received);
    return SB_BWE_SEQ_NEW;
}

/* ---- acknowledged rate ---- */

static void sb_bwe_ack_restart(sb_bwe_t *b, int64_t bucket, int64_t recv_us)
{
    memset(b->ack, 0, sizeof(b->ack));
    b->ack_have = true;
    b->ack_head = bucket;
    b->ack_since_us = recv_us;
    b->ack_last_us = recv_us;
    b->ack_old_run = 0;
}

static void sb_bwe_ack_add(sb_bwe_t *b, int64_t recv_us, uint32_t size, bool probe)
{
    int64_t k = recv_us / SB_BWE_ACK_BUCKET_US; /* recv_us >= 0 */
    if (!b->ack_have) {
        sb_bwe_ack_restart(b, k, recv_us);
    } else if (k > b->ack_head) {
        if (k - b->ack_head >= SB_BWE_ACK_BUCKETS) {
            /* Nothing arrived for a whole window (or the clock jumped): start over. */
            sb_bwe_ack_restart(b, k, recv_us);
        } else {
            for (int64_t j = b->ack_head + 1; j <= k; j++)
                b->ack[sb_bwe_mod(j, SB_BWE_ACK_BUCKETS)].all =
                    b->ack[sb_bwe_mod(j, SB_BWE_ACK_BUCKETS)].probe = 0;
            b->ack_head = k;
        }
    } else if (k <= b->ack_head - SB_BWE_ACK_BUCKETS) {
        if (++b->ack_old_run < SB_BWE_ACK_RESTART_RUN)
            return;
        sb_bwe_ack_restart(b, k, recv_us); /* the receiver's clock went back */
    }
    b->ack_old_run = 0;
    /* Saturating, the probes' part never over the whole: sizes are 16-bit, but feedback is
     * not trusted to be few. */
    int64_t m = sb_bwe_mod(k, SB_BWE_ACK_BUCKETS);
    uint64_t all = (uint64_t)b->ack[m].all + size;
    b->ack[m].all = all > UINT32_MAX ? UINT32_MAX : (uint32_t)all;
    if (probe) {
        uint64_t pr = (uint64_t)b->ack[m].probe + size;
        b->ack[m].probe = pr > b->ack[m].all ? b->ack[m].all : (uint32_t)pr;
    }
    if (recv_us > b->ack_last_us)
        b->ack_last_us = recv_us;
    if (recv_us < b->ack_since_us)
        b->ack_since_us = recv_us;
}

/* The acknowledged rates over the last 500 ms and 250 ms of complete buckets (the newest,
 * still filling, left out), all bytes and media alone (without the probes'), in one pass:
 * each window's bytes by the time it covers, or since the start if that is shorter; 0:
 * unknown. */
typedef struct sb_bwe_ack_rates {
    double all, all_short, media, media_short;
} sb_bwe_ack_rates_t;

static void sb_bwe_ack_window(const sb_bwe_t *b, int64_t buckets, int64_t *first,
                              int64_t *span)
{
    *first = b->ack_head - buckets;
    int64_t since = b->ack_since_us / SB_BWE_ACK_BUCKET_US;
    int64_t start = *first * SB_BWE_ACK_BUCKET_US;
    if (since > *first) {
        *first = since;
        start = b->ack_since_us;
    }
    *span = b->ack_head * SB_BWE_ACK_BUCKET_US - start;
}

static double sb_bwe_ack_bps(uint64_t bytes, int64_t span)
{
    return span < SB_BWE_ACK_MIN_SPAN_US ? 0 : (double)bytes * 8e6 / (double)span;
}

static void sb_bwe_ack_rates(const sb_bwe_t *b, sb_bwe_ack_rates_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!b->ack_have)
        return;
    int64_t first, span, first_short, span_short;
    sb_bwe_ack_window(b, SB_BWE_ACK_BUCKETS, &first, &span);
    sb_bwe_ack_window(b, SB_BWE_ACK_SHORT_BUCKETS, &first_short, &span_short);
    uint64_t all = 0, probe = 0, all_short = 0, probe_short = 0;
    for (int64_t j = first; j < b->ack_head; j++) {
        int64_t m = sb_bwe_mod(j, SB_BWE_ACK_BUCKETS);
        all += b->ack[m].all;
        probe += b->ack[m].probe;
        if (j >= first_short) {
            all_short += b->ack[m].all;
            probe_short += b->ack[m].probe;
        }
    }
    out->all = sb_bwe_ack_bps(all, span);
    out->all_short = sb_bwe_ack_bps(all_short, span_short);
    out->media = sb_bwe_ack_bps(all - probe, span);
    out->media_short = sb_bwe_ack_bps(all_short - probe_short, span_short);
}

/* What the rate controller takes as the throughput. Each window's rate is a lower bound of
 * the capacity while the queue is busy; the short one follows a rate that just went up (after
 * a probe), the long one smooths the packet-sized noise of low rates: take the larger. */
static double sb_bwe_larger(double a, double b)
{
    return a > b ? a : b;
}

/* ---- loss-based ---- */

static void sb_bwe_hist_add(sb_bwe_t *b, int64_t now, double v)
{
    int64_t s = sb_bwe_floor_div(now, SB_BWE_HIST_SLOT_US); /* now never goes back */
    if (!b->hist_have || s - b->hist_slot >= SB_BWE_HIST_SLOTS) {
        for (unsigned i = 0; i < SB_BWE_HIST_SLOTS; i++)
            b->hist[i] = INFINITY;
        b->hist_have = true;
    } else {
        for (int64_t j = b->hist_slot + 1; j <= s; j++)
            b->hist[sb_bwe_mod(j, SB_BWE_HIST_SLOTS)] = INFINITY;
    }
    b->hist_slot = s;
    double *slot = &b->hist[sb_bwe_mod(s, SB_BWE_HIST_SLOTS)];
    if (v < *slot)
        *slot = v;
}

static double sb_bwe_hist_min(const sb_bwe_t *b)
{
    double m = INFINITY;
    for (unsigned i = 0; i < SB_BWE_HIST_SLOTS; i++)
        if (b->hist[i] < m)
            m = b->hist[i];
    return m;
}

/* A new loss fraction, from a window of results or a receiver report. */
static void sb_bwe_loss_sample(sb_bwe_t *b, double loss, int64_t now)
{
    b->loss = loss;
    b->loss_avg += SB_BWE_LOSS_AVG_GAIN * (loss - b->loss_avg);
    b->have_loss = true;
    b->loss_cut = false;
    b->loss_us = now;
}

/* Runs on every feedback (or report) with the latest fraction, so the increase is smooth; a
 * fraction cuts at most once, and not within 300 ms + RTT of the last cut. */
static void sb_bwe_loss_update(sb_bwe_t *b, int64_t now)
{
    double cur = b->estimate;
    sb_bwe_hist_add(b, now, cur);
    if (!b->have_loss || now - b->loss_us > SB_BWE_LOSS_STALE_US)
        return; /* nothing known lately: neither push nor cut */
    if (b->loss < SB_BWE_LOSS_LOW) {
        /* 1 kbit/s more so that a low rate does not get stuck. */
        b->loss_bps = SB_BWE_LOSS_INCREASE * sb_bwe_hist_min(b) + 1000;
    } else if (b->loss > SB_BWE_LOSS_HIGH && !b->loss_cut &&
               (!b->have_loss_decrease ||
                now - b->loss_decrease_us >= SB_BWE_LOSS_DECREASE_US + b->rtt_us)) {
        /* A queue that overflowed loses a burst: repeated cuts would go far below what the
         * receiver is getting. Half of that is enough of a cut. */
        double floor = SB_BWE_LOSS_FLOOR_ACKED * b->acked_bps;
        double v = cur * (1 - 0.5 * b->loss);
        b->loss_bps = v > floor ? v : floor < cur ? floor : cur;
        b->loss_cut = true;
        b->have_loss_decrease = true;
        b->loss_decrease_us = now;
    } else {
        b->loss_bps = cur; /* 2-10 % (or a cut just made): hold what the others allow now */
    }
    b->loss_bps = sb_bwe_clamp(b->loss_bps, b->min_bps, b->max_bps);
}

/* ---- probes ---- */

static sb_bwe_cluster_t *sb_bwe_cluster_get(sb_bwe_t *b, int id)
{
    for (unsigned i = 0; i < SB_BWE_CLUSTERS; i++)
        if (b->clusters[i].id == id)
            return &b->clusters[i];
    return NULL;
}

static void sb_bwe_cluster_add(sb_bwe_t *b, const sb_bwe_result_t *x)
{
    sb_bwe_cluster_t *c = sb_bwe_cluster_get(b, x->probe);
    if (!c)
        return; /* not one of ours, or long over */
    if (!c->count || x->send_us < c->first_send_us)
        c->first_send_us = x->send_us;
    if (!c->count || x->send_us >= c->last_send_us) {
        c->last_send_us = x->send_us;
        c->last_send_size = x->size;
    }
    if (!c->count || x->recv_us < c->first_recv_us) {
        c->first_recv_us = x->recv_us;
        c->first_recv_size = x->size;
    }
    if (!c->count || x->recv_us > c->last_recv_us)
        c->last_recv_us = x->recv_us;
    c->bytes += x->size;
    c->count++;
    if (!c->mid_bytes && (double)c->bytes * 8e6 >= 0.5 * c->target_bps *
                                                      (double)SB_BWE_PROBE_DURATION_US) {
        c->mid_bytes = c->bytes;
        c->mid_recv_us = x->recv_us;
    }
}

/* min(send rate, receive rate) of the cluster's acknowledged packets; the first arrival and
 * the last departure carry no time, so their bytes are left out. A cluster sent in one
 * instant (no send span) is bounded by the rate it was asked for instead. 0: not measurable. */
static double sb_bwe_cluster_rate(const sb_bwe_cluster_t *c)
{
    int64_t send_span = c->last_send_us - c->first_send_us;
    int64_t recv_span = c->last_recv_us - c->first_recv_us;
    if (send_span < 0 || recv_span < 0 || send_span > SB_BWE_PROBE_SPAN_MAX_US ||
        recv_span > SB_BWE_PROBE_SPAN_MAX_US || c->count < 2)
        return 0;
    if (recv_span <= 0)
        return 0; /* arrivals stamped all at once: no rate to read (probes are paced) */
    double recv_rate = (double)(c->bytes - c->first_recv_size) * 8e6 / (double)recv_span;
    /* The second half alone, when it says less: a path that lets a burst through at once (a
     * token bucket: 4 KB of depth on a 400 kbit/s link) delivers the first part of a probe
     * at the sending rate and the rest at the link's. Over the whole probe, a 718 kbit/s
     * probe measured 486 there, and five such probes took the estimate from 315 to 459
     * kbit/s; the second half measured ~330, what the link had left beside the media. A
     * plain bottleneck delivers both halves at its rate. */
    if (c->mid_bytes && c->bytes > c->mid_bytes && c->last_recv_us > c->mid_recv_us) {
        double tail = (double)(c->bytes - c->mid_bytes) * 8e6 /
                      (double)(c->last_recv_us - c->mid_recv_us);
        if (tail < recv_rate)
            recv_rate = tail;
    }
    double send_rate = c->target_bps;
    /* A burst sent within a millisecond (the core does not pace probes) tells nothing of
     * the sending side: the rate asked for stands for it. */
    if (send_span >= SB_BWE_PROBE_BURST_US) {
        send_rate = (double)(c->bytes - c->last_send_size) * 8e6 / (double)send_span;
        /* Arrivals faster than the sending by far: the receiver batched its timestamps. */
        if (!(send_rate > 0) || recv_rate > SB_BWE_PROBE_RATIO_MAX * send_rate)
            return 0;
    }
    return send_rate < recv_rate ? send_rate : recv_rate;
}

static void sb_bwe_probe_expire(sb_bwe_t *b, int64_t now)
{
    if (!b->probe_inflight ||
        now - b->probe_start_us <= SB_BWE_PROBE_DURATION_US + SB_BWE_PROBE_TIMEOUT_US + b->rtt_us)
        return;
    b->probe_inflight = false;
    b->probe_more = false;
    b->probe_last_us = now;
    if (!b->have_feedback)
        b->probe_blind = true;
}

/* The cluster in flight, once enough of it is acknowledged: its measured rate, or 0. */
static bool sb_bwe_probe_done(sb_bwe_t *b, int64_t now, double *rate)
{
    if (!b->probe_inflight)
        return false;
    sb_bwe_cluster_t *c = sb_bwe_cluster_get(b, b->probe_id);
    uint32_t expected = c ? (c->complete && c->sent ? c->sent : SB_BWE_PROBE_MIN_PACKETS) : 0;
    if (!c || (c->sent && !c->complete) || c->count * 5 < expected * 4) /* 80 % of them */
        return false;
    b->probe_inflight = false;
    b->probe_last_us = now;
    *rate = sb_bwe_cluster_rate(c);
    b->probe_measured = *rate;
    b->probe_more = *rate >= SB_BWE_PROBE_FURTHER * c->target_bps;
    return true;
}

static void sb_bwe_probe_apply(sb_bwe_t *b, double rate, int64_t now)
{
    double v = sb_bwe_clamp(SB_BWE_PROBE_USE * rate, b->min_bps, b->max_bps);
    b->stats.probe_results++;
    if (v > b->delay.bps)
        sb_bwe_delay_set(&b->delay, v, now);
    if (v > b->loss_bps && b->loss_avg <= SB_BWE_LOSS_HIGH) {
        b->loss_bps = v;
        b->hist_have = false; /* the last second's minimum no longer holds it back */
    }
}

void sb_bwe_probe_sent(sb_bwe_t *b, int cluster, uint32_t packets, bool last)
{
    sb_bwe_cluster_t *c = b ? sb_bwe_cluster_get(b, cluster) : NULL;
    if (!c)
        return;
    c->sent = c->sent + packets < c->sent ? UINT32_MAX : c->sent + packets;
    c->complete = last;
}

bool sb_bwe_probe_due(sb_bwe_t *b, uint32_t wanted_bps, int64_t now_us, sb_bwe_probe_t *out)
{
    if (!b || !out)
        return false;
    int64_t now = sb_bwe_clock(b, now_us);
    sb_bwe_probe_expire(b, now);
    double cap = b->max_bps;
    if (b->remb_bps > 0 && b->remb_bps < cap)
        cap = b->remb_bps;
    if (b->probe_inflight || b->probe_blind || wanted_bps <= b->estimate || b->estimate >= cap ||
        b->loss_avg > SB_BWE_LOSS_HIGH)
        return false;
    double target;
    if (!b->probed) {
        target = SB_BWE_PROBE_FIRST * b->estimate;
    } else if (b->probe_more) {
        target = SB_BWE_PROBE_SCALE * b->probe_measured;
    } else if (now - b->probe_last_us >= SB_BWE_PROBE_INTERVAL_US &&
               (!b->have_overuse || now - b->overuse_us >= SB_BWE_PROBE_QUIET_US)) {
        target = SB_BWE_PROBE_SCALE * b->estimate;
    } else {
        return false;
    }
    /* No higher than a little over what the caller would send, nor than the caps. */
    double ceiling = 1.25 * (double)wanted_bps;
    if (ceiling > cap)
        ceiling = cap;
    if (target > ceiling)
        target = ceiling;
    if (target < 1.1 * b->estimate) {
        b->probe_more = false; /* so close that the rate controller finds it */
        return false;
    }
    b->probe_next_id = (b->probe_next_id + 1) & 0x3fffffff;
    sb_bwe_cluster_t *c = &b->clusters[b->probe_next_id % SB_BWE_CLUSTERS];
    *c = (sb_bwe_cluster_t){.id = b->probe_next_id, .target_bps = target};
    b->probe_inflight = true;
    b->probe_id = c->id;
    b->probe_start_us = now;
    b->probed = true;
    b->probe_more = false;
    b->stats.probes++;
    *out = (sb_bwe_probe_t){.cluster = c->id,
                            .target_bps = sb_bwe_u32(target),
                            .duration_us = SB_BWE_PROBE_DURATION_US,
                            .min_packets = SB_BWE_PROBE_MIN_PACKETS};
    return true;
}

/* ---- feedback ---- */

static bool sb_bwe_result_ok(const sb_bwe_result_t *x)
{
    return sb_bwe_time_ok(x->seq) && sb_bwe_time_ok(x->send_us) && x->recv_us <= SB_BWE_TIME_LIMIT;
}

/* One result; true when it was news. */
static bool sb_bwe_on_result(sb_bwe_t *b, const sb_bwe_result_t *x, int64_t now)
{
    if (!sb_bwe_result_ok(x)) {
        b->stats.ignored++;
        return false;
    }
    bool received = x->recv_us >= 0;
    int m = sb_bwe_seq_mark(b, x->seq, received);
    if (m == SB_BWE_SEQ_SKIP) {
        b->stats.ignored++;
        return false;
    }
    if (m == SB_BWE_SEQ_NEW) {
        b->stats.results++;
        b->win_total++;
    }
    if (!received) {
        b->stats.lost++;
        b->win_lost++;
        return true;
    }
    if (m == SB_BWE_SEQ_RECOVERED) {
        if (b->win_lost)
            b->win_lost--;
        if (b->stats.lost)
            b->stats.lost--;
    }
    sb_bwe_ack_add(b, x->recv_us, x->size, x->probe >= 0);
    sb_bwe_delay_on_packet(&b->delay, x->send_us, x->recv_us, now);
    if (x->probe >= 0)
        sb_bwe_cluster_add(b, x);
    return true;
}

void sb_bwe_on_feedback(sb_bwe_t *b, const sb_bwe_result_t *r, size_t n, int64_t now_us)
{
    if (!b)
        return;
    int64_t now = sb_bwe_clock(b, now_us);
    b->stats.feedback_packets++;
    if (b->have_feedback && now - b->feedback_us > SB_BWE_FEEDBACK_TIMEOUT_US)
        sb_bwe_delay_reset(&b->delay); /* the old groups say nothing about the queue now */
    bool news = false;
    for (size_t i = 0; r && i < n; i++)
        news |= sb_bwe_on_result(b, &r[i], now);
    if (!news) {
        sb_bwe_probe_expire(b, now);
        return;
    }
    b->have_feedback = true;
    b->feedback_us = now;
    b->probe_blind = false;
    sb_bwe_ack_rates_t ack;
    sb_bwe_ack_rates(b, &ack);
    b->acked_bps = ack.all;

    double probe_rate = 0;
    bool probe = sb_bwe_probe_done(b, now, &probe_rate);
    if (probe && probe_rate > 0 && b->delay.usage != SB_BWE_OVERUSE) {
        sb_bwe_probe_apply(b, probe_rate, now);
    } else {
        if (probe)
            b->probe_more = false;
        /* The increase is held under 1.5 x what media alone got through: counting the
         * probes, each one lifted that ceiling for half a second and an app-limited estimate
         * climbed under it, 8 %/s with no queue to stop it, to 1.3 x a 400 kbit/s link (the
         * layer choice then tried a layer that did not fit every 10 s). */
        sb_bwe_delay_update(&b->delay, sb_bwe_larger(ack.all, ack.all_short),
                            sb_bwe_larger(ack.media, ack.media_short), b->rtt_us, now,
                            b->min_bps, b->max_bps);
    }
    sb_bwe_probe_expire(b, now);
    if (b->delay.overuses != b->overuses_seen) {
        b->overuses_seen = b->delay.overuses;
        b->have_overuse = true;
        b->overuse_us = now;
    }
    sb_bwe_combine(b);
    if (b->win_total >= SB_BWE_LOSS_MIN_PACKETS) {
        sb_bwe_loss_sample(b, (double)b->win_lost / b->win_total, now);
        b->win_total = b->win_lost = 0;
    }
    sb_bwe_loss_update(b, now);
    sb_bwe_combine(b);
}

void sb_bwe_on_remb(sb_bwe_t *b, uint64_t bps, int64_t now_us)
{
    if (!b)
        return;
    sb_bwe_clock(b, now_us);
    b->remb_bps = bps > UINT32_MAX ? (double)UINT32_MAX : (double)bps;
    sb_bwe_combine(b);
}

void sb_bwe_on_loss_report(sb_bwe_t *b, uint8_t fraction_lost, int64_t now_us)
{
    if (!b)
        return;
    int64_t now = sb_bwe_clock(b, now_us);
    /* Transport-wide feedback says it better (per packet, before retransmissions). */
    if (b->have_feedback && now - b->feedback_us <= SB_BWE_FEEDBACK_TIMEOUT_US)
        return;
    sb_bwe_loss_sample(b, fraction_lost / 256.0, now);
    sb_bwe_loss_update(b, now);
    sb_bwe_combine(b);
}

void sb_bwe_on_rtt(sb_bwe_t *b, int64_t rtt_us, int64_t now_us)
{
    if (!b || rtt_us <= 0)
        return;
    sb_bwe_clock(b, now_us);
    b->rtt_us = rtt_us < 1000 ? 1000 : rtt_us > 10000000 ? 10000000 : rtt_us;
}

uint32_t sb_bwe_estimate(const sb_bwe_t *b)
{
    return b ? sb_bwe_u32(b->estimate) : 0;
}

void sb_bwe_get_stats(const sb_bwe_t *b, sb_bwe_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!b)
        return;
    *out = b->stats;
    out->estimate_bps = sb_bwe_u32(b->estimate);
    out->delay_bps = sb_bwe_u32(b->delay.bps);
    out->loss_bps = sb_bwe_u32(b->loss_bps);
    out->acked_bps = sb_bwe_u32(b->acked_bps);
    out->remb_bps = sb_bwe_u32(b->remb_bps);
    out->loss = b->loss;
    out->trend = b->delay.modified;
    out->threshold = b->delay.threshold;
    out->usage = b->delay.usage;
    out->overuses = b->delay.overuses;
}
