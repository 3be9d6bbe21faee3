/* Per-subscriber RTP sequence number and timestamp rewriting, so that a subscriber sees one
 * continuous stream (one SSRC, the caller's) across publisher switches and simulcast layer
 * switches, and across packets the forwarder skips on purpose (other temporal layers).
 *
 * Sequence numbers: after a switch, the new source continues right after the last number the
 * subscriber got; a packet skipped with sb_seq_rewrite_drop() takes no number, so it leaves no
 * gap (that would be NACKed); a reordered packet gets the number it would have had in order;
 * duplicates, packets older than the reorder window and packets of the new source older than
 * its first forwarded one are dropped.
 * Timestamps: after a switch, the new source's timestamps continue from the last one forwarded
 * plus the wall-clock time since, times the clock rate, so the receiver's jitter buffer sees
 * the true pacing (RFC 3550 section 5.1: timestamps advance with real time).
 *
 * Sans-IO, no threads: one owner (the subscriber's stream), on its loop only. The struct is
 * public so it can be embedded in the subscriber (no allocation); its fields are private. */
#ifndef SWITCHBOARD_SEQ_REWRITE_H
#define SWITCHBOARD_SEQ_REWRITE_H

#include <stdbool.h>
#include <stdint.h>

/* Reorder window in packets (a power of two, a multiple of 64). */
#define SB_SEQ_REWRITE_WINDOW 256

typedef struct sb_seq_rewrite_stats {
    uint64_t forwarded;
    uint64_t skipped;    /* sb_seq_rewrite_drop calls that took no number */
    uint64_t late_skips; /* skips noted after a later packet went out: they leave a gap */
    uint64_t duplicates;
    uint64_t too_old;      /* older than the window, or older than the switch */
    uint64_t stale_source; /* packets of a source other than the current one */
    uint64_t switches;
} sb_seq_rewrite_stats_t;

typedef struct sb_seq_rewrite {
    /* private */
    uint32_t clock_rate;
    uint32_t source;
    bool have_source;
    bool sent_any;
    uint16_t first_seq;
    uint32_t first_ts;
    int64_t highest;  /* extended seq of the newest packet of the source (sent or skipped) */
    int64_t base;     /* extended seq of the first packet after the switch */
    uint16_t seq_off; /* out = ext + seq_off - skips below ext */
    uint32_t skips;   /* skips since the switch (all below highest + 1) */
    uint32_t ts_off;
    uint32_t last_ts; /* newest timestamp sent, and when it was first sent */
    int64_t last_ts_us;
    unsigned old_run; /* consecutive too-old packets: a numbering restart */
    uint64_t seen[SB_SEQ_REWRITE_WINDOW / 64];
    uint64_t skipped[SB_SEQ_REWRITE_WINDOW / 64];
    sb_seq_rewrite_stats_t stats;
} sb_seq_rewrite_t;

/* Start with the subscriber stream's first sequence number and timestamp (random, RFC 3550
 * section 5.1: the caller draws them) and the codec clock rate (90000 for video). */
void sb_seq_rewrite_init(sb_seq_rewrite_t *rw, uint32_t clock_rate, uint16_t first_seq,
                         uint32_t first_ts);

/* One incoming packet of source (e.g. the publisher's SSRC of the layer being forwarded).
 * switched: the forwarder starts forwarding source with this packet (a new publisher or a
 * new simulcast layer, usually at a keyframe); implied for the very first packet. A packet of
 * another source than the current one without switched is dropped (a straggler of the
 * previous source). Returns 0 and the numbers to send; SB_EAGAIN when the packet must not be
 * sent (duplicate, too old, older than the switch, stale source). */
int sb_seq_rewrite_process(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t ts, uint32_t source,
                           bool switched, int64_t now_us, uint16_t *out_seq, uint32_t *out_ts);

/* The forwarder skips packet seq of source on purpose (e.g. a temporal layer it does not
 * forward): it takes no number, so the subscriber sees no gap. Ignored for another source. */
void sb_seq_rewrite_drop(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t source);

/* Timestamp as the subscriber sees it, for an incoming timestamp of the current source (e.g.
 * to translate an RTCP sender report). */
uint32_t sb_seq_rewrite_map_ts(const sb_seq_rewrite_t *rw, uint32_t ts);

void sb_seq_rewrite_stats(const sb_seq_rewrite_t *rw, sb_seq_rewrite_stats_t *out);

#endif
