/* Receiver-side NACK generator for one publisher stream (one SSRC, RFC 4585 section 6.2.1).
 *
 * Feed it every sequence number received (original or recovered through RTX, RFC 4588); it
 * finds the gaps, keeps a bounded list of missing packets, and on each sb_nack_gen_collect()
 * returns those due for a NACK: first right away (or after an optional reorder delay), then
 * again every max(RTT, min_retry_us) up to max_retries times; a packet missing for longer than
 * max_age_us, or retried max_retries times, is given up. A packet that turns up (late or by
 * RTX) leaves the list. When the list overflows or the stream jumps too far, the gaps are
 * dropped and a keyframe request is flagged instead: NACKs cannot repair that much. A packet
 * far behind (more than 2 * max_missing and 1000) is taken as a restart of the numbering.
 *
 * Sans-IO, no threads: one owner (the publisher's stream), on its loop only. The caller
 * builds the RTCP packet from the returned list and arms a timer with sb_nack_gen_next_due. */
#ifndef SB_PROTO_NACK_GEN_H
#define SB_PROTO_NACK_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_nack_gen sb_nack_gen_t;

typedef struct sb_nack_gen_config {
    unsigned max_missing;     /* tracked missing packets; 0: 512; max 8192 */
    unsigned max_retries;     /* NACKs per packet; 0: 10 */
    int64_t max_age_us;       /* give up on a packet missing this long; 0: 1 s */
    int64_t reorder_delay_us; /* wait before the first NACK of a gap; 0: none */
    int64_t min_retry_us;     /* floor of the retry interval; 0: 10 ms */
    int64_t initial_rtt_us;   /* RTT until sb_nack_gen_set_rtt; 0: 100 ms */
} sb_nack_gen_config_t;

typedef struct sb_nack_gen_stats {
    uint64_t missing;   /* gaps detected (packets) */
    uint64_t nacks;     /* sequence numbers returned by collect (retries included) */
    uint64_t recovered; /* missing packets that arrived later (late or RTX) */
    uint64_t recovered_rtx;
    uint64_t lost;      /* given up: too old, too many retries, or list overflow */
    uint64_t keyframes; /* keyframe requests flagged */
} sb_nack_gen_stats_t;

/* Returns 0 or SB_EINVAL. *out is owned: sb_nack_gen_free. cfg may be NULL (defaults). */
int sb_nack_gen_new(const sb_nack_gen_config_t *cfg, sb_nack_gen_t **out);
void sb_nack_gen_free(sb_nack_gen_t *g);

/* A packet with this sequence number arrived at now_us; rtx: it came through the RTX stream
 * (pass the original sequence number). Returns how many new missing packets it revealed. */
unsigned sb_nack_gen_on_packet(sb_nack_gen_t *g, uint16_t seq, bool rtx, int64_t now_us);

/* Forget missing packets older than seq (e.g. a keyframe starts at seq: nothing before it is
 * worth repairing). */
void sb_nack_gen_clear_before(sb_nack_gen_t *g, uint16_t seq);

/* Current round-trip time estimate (from RTCP RR/XR), used to pace retries. */
void sb_nack_gen_set_rtt(sb_nack_gen_t *g, int64_t rtt_us);

/* Write up to max sequence numbers due for a NACK at now_us into out, oldest first, and count
 * them as sent. Packets given up are dropped here. Returns how many were written; call again
 * if it returned max. */
size_t sb_nack_gen_collect(sb_nack_gen_t *g, int64_t now_us, uint16_t *out, size_t max);

/* Earliest time a collect would return something, or INT64_MAX when nothing is missing. */
int64_t sb_nack_gen_next_due(const sb_nack_gen_t *g);

/* True once after the generator flagged that a keyframe (PLI) should be requested. */
bool sb_nack_gen_take_keyframe_request(sb_nack_gen_t *g);

/* Packets in the missing list now. */
unsigned sb_nack_gen_missing_count(const sb_nack_gen_t *g);

void sb_nack_gen_stats(const sb_nack_gen_t *g, sb_nack_gen_stats_t *out);

/* Forget everything (e.g. the SSRC changed). */
void sb_nack_gen_reset(sb_nack_gen_t *g);

#endif
