/* What the media loops count for /metrics: one copy per loop, written only by that loop's
 * thread (base/counter.h: a plain add, no lock, no shared cache line), summed by a scrape on
 * any thread. A peer keeps a pointer to its loop's copy. */
#ifndef SB_PEER_PEER_METRICS_H
#define SB_PEER_PEER_METRICS_H

#include <stdint.h>

#include "base/counter.h"

#define SB_PEER_METRICS_LOOPS 256 /* as many as there can be media loops */

enum { SB_METRIC_IN, SB_METRIC_OUT };

typedef struct sb_peer_metrics {
    /* [SB_METRIC_IN]: from clients to us; [SB_METRIC_OUT]: from us to clients. */
    sb_counter_t rtp_packets[2], rtp_bytes[2]; /* SRTP packets that decrypted / we sent */
    sb_counter_t rtcp_packets[2];
    sb_counter_t nack[2]; /* NACK messages: clients' to us, ours to them */
    sb_counter_t pli[2];  /* keyframe requests (PLI, FIR): clients' to us, ours to them */
    sb_counter_t lost_in; /* what clients sent that never reached us (our receiver reports) */
    sb_counter_t srtp_failures; /* what failed authentication: forged, replayed, corrupt */
    /* Datagrams on a selected pair we read that we dropped: from another address, STUN that
     * failed its checks or was not for us, too long (peer/ice.h, sb_ice_fast_stats). */
    sb_counter_t ice_dropped;
    /* Gauges the loop moves up and down (two's complement adds; the sum over loops is the
     * value): PeerConnections alive on the loop, and of them those up (DTLS done). */
    sb_counter_t peers, peers_up;
    sb_histogram_t join_us; /* a PeerConnection's first webrtcup, µs after its offer */
} __attribute__((aligned(64))) sb_peer_metrics_t;

/* Bounds of join_us (µs). */
extern const uint64_t sb_peer_join_bounds[];
extern const unsigned sb_peer_join_nbounds;

/* Main thread, before the loops start. */
void sb_peer_metrics_init(void);
/* Loop i's copy (i < SB_PEER_METRICS_LOOPS). Written by that loop only. */
sb_peer_metrics_t *sb_peer_metrics_of(unsigned loop_index);

/* PeerConnections alive (any state but closing), every loop together. Any thread. */
uint64_t sb_peer_metrics_peers(void);

/* Owner only: a gauge one up or down. */
static inline void sb_gauge_inc(sb_counter_t *g)
{
    sb_counter_add(g, 1);
}
static inline void sb_gauge_dec(sb_counter_t *g)
{
    sb_counter_add(g, UINT64_MAX); /* -1 modulo 2^64 */
}

#endif
