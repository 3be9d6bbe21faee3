/* The delay-based half of the bandwidth estimator (see bwe.h), internal to bwe.c: packet groups
 * by send time, the trendline of the one-way delay variation, the overuse detector with its
 * adaptive threshold, and the AIMD rate controller (draft-ietf-rmcat-gcc-02 sections 5.2-5.5;
 * the trendline replaces the draft's Kalman filter, as libwebrtc does today).
 *
 * The struct is public so that sb_bwe embeds it (no allocation); its fields are private.
 * Times are microseconds the caller has already bounded (|t| <= 2^52), so differences never
 * overflow. Owner: the sb_bwe that embeds it; its thread only. */
#ifndef SB_PROTO_BWE_DELAY_H
#define SB_PROTO_BWE_DELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/bwe.h"

/* Groups the trendline's linear regression spans. */
#define SB_BWE_TREND_WINDOW 20

/* Packets sent within 5 ms of a group's first (a burst) form one group. */
typedef struct sb_bwe_group {
    int64_t first_send_us;
    int64_t send_us; /* latest send time in the group */
    int64_t first_recv_us;
    int64_t recv_us;  /* latest arrival in the group */
    int64_t local_us; /* our clock when the group's latest result was read */
} sb_bwe_group_t;

typedef enum sb_bwe_rc_state {
    SB_BWE_RC_HOLD = 0,
    SB_BWE_RC_INCREASE,
    SB_BWE_RC_DECREASE,
} sb_bwe_rc_state_t;

typedef struct sb_bwe_delay {
    /* private: packet groups */
    sb_bwe_group_t cur, prev;
    bool have_cur, have_prev;
    unsigned reordered;   /* consecutive groups that arrived before the previous one */
    unsigned send_behind; /* consecutive packets sent before the current group */
    /* trendline */
    bool have_origin;
    int64_t origin_us; /* arrival of the first group: x = 0 */
    double acc_ms, smooth_ms;
    double hx[SB_BWE_TREND_WINDOW], hy[SB_BWE_TREND_WINDOW];
    unsigned hn, hhead;
    unsigned deltas;
    double trend, prev_trend, modified;
    /* overuse detector */
    double threshold;
    double over_ms; /* time spent over the threshold; < 0: not over */
    unsigned over_count;
    bool have_thresh_at;
    int64_t thresh_at_us; /* receiver clock of the last threshold update */
    sb_bwe_usage_t usage;
    /* rate controller */
    sb_bwe_rc_state_t rc;
    double bps;
    double acked_last; /* latest known acknowledged rate, 0: none yet */
    bool have_change;
    int64_t change_us; /* last change of bps (or of the controller's state) */
    bool link_valid;   /* link capacity: average acked rate at overuse */
    double link_kbps, link_var;
    uint64_t overuses;
} sb_bwe_delay_t;

void sb_bwe_delay_init(sb_bwe_delay_t *d, double start_bps);
/* Forget the packet groups, the trendline and the detector (not the rate): after feedback
 * stopped for a while, or the receiver's clock jumped. */
void sb_bwe_delay_reset(sb_bwe_delay_t *d);
/* One received packet, in transport sequence order; now_us: our clock (feedback arrival). */
void sb_bwe_delay_on_packet(sb_bwe_delay_t *d, int64_t send_us, int64_t recv_us, int64_t now_us);
/* After one feedback message: let the rate controller act on the detector's state.
 * acked_bps: the acknowledged rate, 0 when unknown. */
void sb_bwe_delay_update(sb_bwe_delay_t *d, double acked_bps, double media_bps, int64_t rtt_us,
                         int64_t now_us, double min_bps, double max_bps);
/* Set the rate outright (a probe's result). */
void sb_bwe_delay_set(sb_bwe_delay_t *d, double bps, int64_t now_us);

#endif
