/* Per-loop media counters (see peer_metrics.h). */
#include "peer/peer_metrics.h"

#include "loop/loop.h"

const uint64_t sb_peer_join_bounds[] = {100000,  250000,  500000,   1000000, 2000000,
                                        3000000, 5000000, 10000000, 30000000};
const unsigned sb_peer_join_nbounds = sizeof(sb_peer_join_bounds) / sizeof(sb_peer_join_bounds[0]);

static sb_peer_metrics_t sb_peer_metrics[SB_PEER_METRICS_LOOPS];

void sb_peer_metrics_init(void)
{
    for (unsigned i = 0; i < SB_PEER_METRICS_LOOPS; i++)
        sb_histogram_init(&sb_peer_metrics[i].join_us, sb_peer_join_bounds, sb_peer_join_nbounds);
}

sb_peer_metrics_t *sb_peer_metrics_of(unsigned loop_index)
{
    return &sb_peer_metrics[loop_index % SB_PEER_METRICS_LOOPS];
}

uint64_t sb_peer_metrics_peers(void)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < sb_loops_count() && i < SB_PEER_METRICS_LOOPS; i++)
        n += sb_counter_get(&sb_peer_metrics[i].peers); /* two's complement: wraps back */
    return n;
}
