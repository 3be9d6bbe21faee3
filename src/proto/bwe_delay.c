/* The delay-based half of the bandwidth estimator (see bwe_delay.h).
 *
 * Packets are taken in transport sequence order, which is send order: a group closes when a
 * packet is sent more than 5 ms after the group's first and is not part of a burst the network
 * compressed (it arrived within 5 ms of the group's latest, earlier than its send spacing).
 * For consecutive groups, the delay variation d = (arrival delta) - (send delta) accumulates
 * into a one-way queuing delay (up to a constant), smoothed with an exponential filter (0.9);
 * the slope of a least-squares line through the last 20 (arrival time, smoothed delay) points
 * is the trend: about (send rate - capacity) / capacity while a queue grows. The detector
 * compares min(groups, 60) * 4 * trend against an adaptive threshold (draft-ietf-rmcat-gcc-02
 * section 5.4: k_u = 0.0087 above it, k_d = 0.039 below, 6..600, no adaptation on spikes more
 * than 15 over it) and calls overuse only when it lasted more than 10 ms over more than one group
 * and the trend is not falling.
 *
 * The rate controller (section 5.5) holds on underuse, increases on normal, and on overuse
 * goes to 0.85 x the acknowledged rate, at most once per RTT (10..200 ms) unless the
 * acknowledged rate fell below half the estimate. The increase is multiplicative (8 %/s) until
 * the first overuse or when the acknowledged rate leaves the link capacity's band (average
 * acknowledged rate at overuse +- 3 deviations); inside it, additive: about one packet per
 * response time (RTT + 100 ms). It never climbs above 1.5 x the acknowledged rate + 10 kbit/s,
 * so an application-limited sender does not inflate it (probes do that, see bwe.c).
 *
 * Does not: look at losses, REMB or probes (bwe.c), or keep any packet. Bounded: reordered
 * groups are skipped, an arrival or delay jump of 3 s restarts the groups, and the accumulated
 * delay is re-centred before it grows large (the slope does not change). */
#include "proto/bwe_delay.h"

#include <math.h>
#include <string.h>

#define SB_BWE_GROUP_US 5000
#define SB_BWE_BURST_US 5000
#define SB_BWE_BURST_MAX_US 100000
#define SB_BWE_JUMP_US 3000000
#define SB_BWE_SEND_BEHIND_RESET 16

#define SB_BWE_SMOOTHING 0.9
#define SB_BWE_TREND_GAIN 4.0
#define SB_BWE_MAX_DELTAS 60u
#define SB_BWE_DELTAS_CAP 1000u
#define SB_BWE_RECENTER_MS 1e6

#define SB_BWE_THRESH_INIT 12.5
#define SB_BWE_THRESH_MIN 6.0
#define SB_BWE_THRESH_MAX 600.0
#define SB_BWE_K_UP 0.0087
#define SB_BWE_K_DOWN 0.039
#define SB_BWE_ADAPT_OFFSET 15.0
#define SB_BWE_ADAPT_DT_MAX_MS 100.0
#define SB_BWE_OVERUSE_MS 10.0

#define SB_BWE_BETA 0.85
#define SB_BWE_MULT_INCREASE 1.08
#define SB_BWE_PACKET_BITS (1200.0 * 8)
#define SB_BWE_FPS 30.0
#define SB_BWE_MIN_ADD_BPS 4000.0
#define SB_BWE_LINK_ALPHA 0.05
#define SB_BWE_LINK_VAR_MIN 0.4
#define SB_BWE_LINK_VAR_MAX 2.5
#define SB_BWE_BLIND_HALVE_US 200000

static double sb_bwe_delay_clamp(double v, double lo, double hi)
{
    if (!(v >= lo)) /* also NaN */
        return lo;
    return v > hi ? hi : v;
}

static void sb_bwe_delay_reset_groups(sb_bwe_delay_t *d)
{
    d->have_cur = false;
    d->have_prev = false;
    d->reordered = 0;
    d->send_behind = 0;
}

void sb_bwe_delay_reset(sb_bwe_delay_t *d)
{
    sb_bwe_delay_reset_groups(d);
    d->have_origin = false;
    d->acc_ms = d->smooth_ms = 0;
    d->hn = d->hhead = 0;
    d->deltas = 0;
    d->trend = d->prev_trend = d->modified = 0;
    d->threshold = SB_BWE_THRESH_INIT;
    d->over_ms = -1;
    d->over_count = 0;
    d->have_thresh_at = false;
    d->usage = SB_BWE_NORMAL;
}

void sb_bwe_delay_init(sb_bwe_delay_t *d, double start_bps)
{
    memset(d, 0, sizeof(*d));
    sb_bwe_delay_reset(d);
    d->rc = SB_BWE_RC_HOLD;
    d->bps = start_bps;
    d->link_var = SB_BWE_LINK_VAR_MIN;
}

static void sb_bwe_delay_start_group(sb_bwe_delay_t *d, int64_t send_us, int64_t recv_us,
                                     int64_t now_us)
{
    d->cur = (sb_bwe_group_t){send_us, send_us, recv_us, recv_us, now_us};
    d->have_cur = true;
}

/* Least-squares slope of the window; false when the points share one x. */
static bool sb_bwe_delay_slope(const sb_bwe_delay_t *d, double *out)
{
    double sx = 0, sy = 0;
    for (unsigned i = 0; i < d->hn; i++) {
        sx += d->hx[i];
        sy += d->hy[i];
    }
    double mx = sx / d->hn, my = sy / d->hn, num = 0, den = 0;
    for (unsigned i = 0; i < d->hn; i++) {
        num += (d->hx[i] - mx) * (d->hy[i] - my);
        den += (d->hx[i] - mx) * (d->hx[i] - mx);
    }
    if (!(den > 0))
        return false;
    double s = num / den;
    if (!isfinite(s))
        return false;
    *out = s;
    return true;
}

static void sb_bwe_delay_threshold(sb_bwe_delay_t *d, int64_t at_us)
{
    if (!d->have_thresh_at) {
        d->have_thresh_at = true;
        d->thresh_at_us = at_us;
    }
    double m = fabs(d->modified);
    double dt_ms =
        sb_bwe_delay_clamp((double)(at_us - d->thresh_at_us) / 1000.0, 0, SB_BWE_ADAPT_DT_MAX_MS);
    d->thresh_at_us = at_us;
    /* A spike (a route change, a late burst) must not drag the threshold up with it. */
    if (m > d->threshold + SB_BWE_ADAPT_OFFSET)
        return;
    double k = m < d->threshold ? SB_BWE_K_DOWN : SB_BWE_K_UP;
    d->threshold += k * (m - d->threshold) * dt_ms;
    d->threshold = sb_bwe_delay_clamp(d->threshold, SB_BWE_THRESH_MIN, SB_BWE_THRESH_MAX);
}

/* draft-ietf-rmcat-gcc-02 section 5.4, on the trendline's scaled slope. */
static void sb_bwe_delay_detect(sb_bwe_delay_t *d, double send_delta_ms, int64_t at_us)
{
    if (d->deltas < 2) {
        d->usage = SB_BWE_NORMAL;
        return;
    }
    unsigned n = d->deltas < SB_BWE_MAX_DELTAS ? d->deltas : SB_BWE_MAX_DELTAS;
    d->modified = (double)n * d->trend * SB_BWE_TREND_GAIN;
    if (d->modified > d->threshold) {
        /* Assume it went over halfway through the last group. */
        d->over_ms = d->over_ms < 0 ? send_delta_ms / 2 : d->over_ms + send_delta_ms;
        d->over_count++;
        if (d->over_ms > SB_BWE_OVERUSE_MS && d->over_count > 1 && d->trend >= d->prev_trend) {
            d->over_ms = 0;
            d->over_count = 0;
            if (d->usage != SB_BWE_OVERUSE)
                d->overuses++;
            d->usage = SB_BWE_OVERUSE;
        }
    } else if (d->modified < -d->threshold) {
        d->over_ms = -1;
        d->over_count = 0;
        d->usage = SB_BWE_UNDERUSE;
    } else {
        d->over_ms = -1;
        d->over_count = 0;
        d->usage = SB_BWE_NORMAL;
    }
    d->prev_trend = d->trend;
    sb_bwe_delay_threshold(d, at_us);
}

static void sb_bwe_delay_trend(sb_bwe_delay_t *d, double delay_ms, double send_delta_ms,
                               int64_t at_us)
{
    if (d->deltas < SB_BWE_DELTAS_CAP)
        d->deltas++;
    if (!d->have_origin) {
        d->have_origin = true;
        d->origin_us = at_us;
    }
    d->acc_ms += delay_ms;
    d->smooth_ms = SB_BWE_SMOOTHING * d->smooth_ms + (1 - SB_BWE_SMOOTHING) * d->acc_ms;
    /* Clock drift accumulates forever; shifting every y by the same amount keeps the slope. */
    if (fabs(d->acc_ms) > SB_BWE_RECENTER_MS) {
        double off = d->acc_ms;
        d->acc_ms -= off;
        d->smooth_ms -= off;
        for (unsigned i = 0; i < d->hn; i++)
            d->hy[i] -= off;
    }
    d->hx[d->hhead] = (double)(at_us - d->origin_us) / 1000.0;
    d->hy[d->hhead] = d->smooth_ms;
    d->hhead = (d->hhead + 1) % SB_BWE_TREND_WINDOW;
    if (d->hn < SB_BWE_TREND_WINDOW)
        d->hn++;
    double s;
    if (d->hn == SB_BWE_TREND_WINDOW && sb_bwe_delay_slope(d, &s))
        d->trend = s;
    sb_bwe_delay_detect(d, send_delta_ms, at_us);
}

/* The current group just closed: feed its delta against the previous one. False when the
 * timing is implausible and the groups were restarted. */
static bool sb_bwe_delay_close_group(sb_bwe_delay_t *d)
{
    int64_t send_d = d->cur.send_us - d->prev.send_us;
    int64_t arr_d = d->cur.recv_us - d->prev.recv_us;
    int64_t local_d = d->cur.local_us - d->prev.local_us;
    int64_t delay_d = arr_d - send_d;
    if (arr_d - local_d >= SB_BWE_JUMP_US || delay_d >= SB_BWE_JUMP_US ||
        delay_d <= -SB_BWE_JUMP_US) {
        sb_bwe_delay_reset_groups(d);
        return false;
    }
    if (arr_d < 0) {
        /* Reordered in the network after its arrival was stamped: no delta. */
        d->reordered++;
        return true;
    }
    d->reordered = 0;
    if (send_d < 0)
        send_d = 0;
    sb_bwe_delay_trend(d, (double)delay_d / 1000.0, (double)send_d / 1000.0, d->cur.recv_us);
    return true;
}

static bool sb_bwe_delay_in_burst(const sb_bwe_delay_t *d, int64_t send_us, int64_t recv_us)
{
    int64_t arr_d = recv_us - d->cur.recv_us;
    int64_t send_d = send_us - d->cur.send_us;
    if (send_d == 0)
        return true;
    return arr_d - send_d < 0 && arr_d <= SB_BWE_BURST_US &&
           recv_us - d->cur.first_recv_us < SB_BWE_BURST_MAX_US;
}

void sb_bwe_delay_on_packet(sb_bwe_delay_t *d, int64_t send_us, int64_t recv_us, int64_t now_us)
{
    if (!d->have_cur) {
        sb_bwe_delay_start_group(d, send_us, recv_us, now_us);
        return;
    }
    if (send_us < d->cur.first_send_us) {
        /* Sent before the current group: late. Many in a row: the sender's clock moved. */
        if (++d->send_behind >= SB_BWE_SEND_BEHIND_RESET) {
            sb_bwe_delay_reset_groups(d);
            sb_bwe_delay_start_group(d, send_us, recv_us, now_us);
        }
        return;
    }
    d->send_behind = 0;
    if (send_us - d->cur.first_send_us > SB_BWE_GROUP_US &&
        !sb_bwe_delay_in_burst(d, send_us, recv_us)) {
        bool keep = !d->have_prev || sb_bwe_delay_close_group(d);
        if (keep) {
            d->prev = d->cur;
            d->have_prev = true;
        }
        sb_bwe_delay_start_group(d, send_us, recv_us, now_us);
        return;
    }
    if (send_us > d->cur.send_us)
        d->cur.send_us = send_us;
    if (recv_us > d->cur.recv_us)
        d->cur.recv_us = recv_us;
    d->cur.local_us = now_us;
}

/* ---- rate controller ---- */

static double sb_bwe_link_dev_kbps(const sb_bwe_delay_t *d)
{
    return sqrt(d->link_var * d->link_kbps);
}

static void sb_bwe_link_update(sb_bwe_delay_t *d, double acked_bps)
{
    double kbps = acked_bps / 1000.0;
    if (!d->link_valid) {
        d->link_valid = true;
        d->link_kbps = kbps;
    } else {
        d->link_kbps = (1 - SB_BWE_LINK_ALPHA) * d->link_kbps + SB_BWE_LINK_ALPHA * kbps;
    }
    double err = d->link_kbps - kbps;
    double norm = d->link_kbps > 1.0 ? d->link_kbps : 1.0;
    d->link_var = (1 - SB_BWE_LINK_ALPHA) * d->link_var + SB_BWE_LINK_ALPHA * err * err / norm;
    d->link_var = sb_bwe_delay_clamp(d->link_var, SB_BWE_LINK_VAR_MIN, SB_BWE_LINK_VAR_MAX);
}

/* About one packet per response time, with packets as a 30 fps video at this rate makes them. */
static double sb_bwe_additive_bps_per_s(double bps, int64_t rtt_us)
{
    double frame_bits = bps / SB_BWE_FPS;
    double packets = ceil(frame_bits / SB_BWE_PACKET_BITS);
    if (packets < 1)
        packets = 1;
    double response_s = (double)(rtt_us + 100000) / 1e6;
    double rate = frame_bits / packets / response_s;
    return rate > SB_BWE_MIN_ADD_BPS ? rate : SB_BWE_MIN_ADD_BPS;
}

static void sb_bwe_rc_increase(sb_bwe_delay_t *d, double acked, double media_acked,
                               int64_t rtt_us, int64_t now_us)
{
    if (d->link_valid && acked > 0 && acked / 1000.0 > d->link_kbps + 3 * sb_bwe_link_dev_kbps(d))
        d->link_valid = false; /* the link got faster: search multiplicatively again */
    double ceiling = media_acked > 0 ? media_acked : acked;
    double limit = ceiling > 0 ? 1.5 * ceiling + 10000 : INFINITY;
    if (d->bps < limit) {
        double dt = d->have_change ? (double)(now_us - d->change_us) / 1e6 : 1.0;
        dt = sb_bwe_delay_clamp(dt, 0, 1.0);
        double inc;
        if (d->link_valid) {
            inc = sb_bwe_additive_bps_per_s(d->bps, rtt_us) * dt;
        } else {
            inc = d->bps * (pow(SB_BWE_MULT_INCREASE, dt) - 1);
            if (inc < 1000)
                inc = 1000;
        }
        d->bps = d->bps + inc < limit ? d->bps + inc : limit;
    }
    d->have_change = true;
    d->change_us = now_us;
}

static void sb_bwe_rc_decrease(sb_bwe_delay_t *d, double acked, int64_t now_us)
{
    double target = SB_BWE_BETA * acked;
    if (target > d->bps && d->link_valid)
        target = SB_BWE_BETA * d->link_kbps * 1000.0;
    if (target < d->bps)
        d->bps = target;
    if (d->link_valid && acked / 1000.0 < d->link_kbps - 3 * sb_bwe_link_dev_kbps(d))
        d->link_valid = false; /* the link got slower: this sample starts a new average */
    sb_bwe_link_update(d, acked);
    d->rc = SB_BWE_RC_HOLD;
    d->have_change = true;
    d->change_us = now_us;
}

static bool sb_bwe_rc_may_reduce(const sb_bwe_delay_t *d, double acked, int64_t rtt_us,
                                 int64_t now_us)
{
    if (!d->have_change)
        return true;
    int64_t interval = rtt_us < 10000 ? 10000 : rtt_us > 200000 ? 200000 : rtt_us;
    return now_us - d->change_us >= interval || acked < 0.5 * d->bps;
}

void sb_bwe_delay_update(sb_bwe_delay_t *d, double acked_bps, double media_bps, int64_t rtt_us,
                         int64_t now_us, double min_bps, double max_bps)
{
    if (acked_bps > 0)
        d->acked_last = acked_bps;
    double acked = d->acked_last;
    switch (d->usage) {
    case SB_BWE_OVERUSE:
        if (acked <= 0) {
            /* Congested before anything was acknowledged: halve, every 200 ms. */
            if (!d->have_change || now_us - d->change_us >= SB_BWE_BLIND_HALVE_US) {
                d->bps /= 2;
                d->have_change = true;
                d->change_us = now_us;
            }
            break;
        }
        if (!sb_bwe_rc_may_reduce(d, acked, rtt_us, now_us))
            break;
        d->rc = SB_BWE_RC_DECREASE;
        sb_bwe_rc_decrease(d, acked, now_us);
        break;
    case SB_BWE_UNDERUSE:
        /* The queue drains: hold until it is empty, then probe on. */
        d->rc = SB_BWE_RC_HOLD;
        break;
    case SB_BWE_NORMAL:
        if (d->rc != SB_BWE_RC_INCREASE) {
            d->rc = SB_BWE_RC_INCREASE;
            d->have_change = true;
            d->change_us = now_us;
        }
        sb_bwe_rc_increase(d, acked, media_bps, rtt_us, now_us);
        break;
    }
    d->bps = sb_bwe_delay_clamp(d->bps, min_bps, max_bps);
}

void sb_bwe_delay_set(sb_bwe_delay_t *d, double bps, int64_t now_us)
{
    d->bps = bps;
    d->have_change = true;
    d->change_us = now_us;
}
