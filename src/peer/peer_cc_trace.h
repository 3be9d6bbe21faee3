/* Recording what a subscriber transport's bandwidth estimator (proto/bwe.h) is fed in a real
 * call, so tests/unit/test_bwe_recorded.c can replay it through a fresh estimator. Off unless
 * the environment variable SB_CC_TRACE names a folder when the daemon starts; then every
 * transport that estimates gets its own file there, <pid>-<handle id>-<n>.cctrace
 * (docs/congestion.md). When off, the cost is the caller's one test of a NULL pointer per
 * feedback message, REMB, probe slice or report: nothing per packet.
 *
 * The file is text, one record a line, times in µs of our monotonic clock (sb_now_us):
 *   # sb-cctrace 1 ...                  header (pid, ids, monotonic and wall clock at open)
 *   F now seq0 send0 recv0 n            sb_bwe_on_feedback(n results) at now; the n result
 *   dseq dsend drecv|- size [probe]       lines follow, each as differences from the one
 *                                         before in the message (the first from seq0, send0,
 *                                         recv0; drecv from the last received one; "-": lost;
 *                                         probe: the cluster, when not -1)
 *   R now bps                           sb_bwe_on_remb
 *   P now cluster target_bps duration_us min_packets wanted_bps
 *                                       sb_bwe_probe_due started this probe
 *   S now cluster packets last          sb_bwe_probe_sent
 *   E now reported estimate delay loss acked wanted
 *                                       the estimate handed to the plugin (reported; 0: no
 *                                         feedback), with the estimator's figures then
 *   M now what [value]                  not written here: what a test did to the network
 *                                         then (tests/integration/lib/cclab.py)
 * Every F line carries absolute values, so a file can be cut at any record. A file stops
 * growing at 8 MiB ("# truncated").
 *
 * A debugging aid: writes go through a 64 KB stdio buffer on the media loop (flushed when
 * full and at close), not through the log's writer thread. Owner: the peer; its media loop. */
#ifndef SB_PEER_PEER_CC_TRACE_H
#define SB_PEER_PEER_CC_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/bwe.h"

typedef struct sb_peer_cc_trace sb_peer_cc_trace_t;

/* At start-up, before the media loops: reads SB_CC_TRACE once. Main thread. */
void sb_peer_cc_trace_start(void);

/* A new trace for one transport, or NULL when tracing is off (or the file cannot be made:
 * logged once). Owned; close it with sb_peer_cc_trace_close. */
sb_peer_cc_trace_t *sb_peer_cc_trace_open(uint64_t session_id, uint64_t handle_id);
void sb_peer_cc_trace_close(sb_peer_cc_trace_t *t);

void sb_peer_cc_trace_feedback(sb_peer_cc_trace_t *t, const sb_bwe_result_t *r, size_t n,
                               int64_t now);
void sb_peer_cc_trace_remb(sb_peer_cc_trace_t *t, uint64_t bps, int64_t now);
void sb_peer_cc_trace_probe(sb_peer_cc_trace_t *t, const sb_bwe_probe_t *pr, uint32_t wanted_bps,
                            int64_t now);
void sb_peer_cc_trace_probe_sent(sb_peer_cc_trace_t *t, int cluster, uint32_t packets, bool last,
                                 int64_t now);
void sb_peer_cc_trace_estimate(sb_peer_cc_trace_t *t, uint32_t reported, const sb_bwe_stats_t *st,
                               uint32_t wanted_bps, int64_t now);

#endif
