/* Sequence number and timestamp rewriting (see seq_rewrite.h).
 *
 * Numbers are extended to 64 bits against the newest packet of the current source. Two bitmaps
 * over the reorder window remember which numbers were seen and which were skipped on purpose.
 * A packet's output number is ext + offset - (skips below ext): skips are only recorded ahead of
 * the newest packet, so for a new packet every recorded skip counts, and for a reordered one
 * the skips between it and the newest are added back (counted in the window, a rare path).
 *
 * Does not: touch packet bytes (the caller writes the numbers), choose layers, or rewrite
 * RTCP. Sans-IO; one owner thread. */
#include "switchboard/seq_rewrite.h"

#include <string.h>

#include "switchboard/error.h"

#define SB_SR_W SB_SEQ_REWRITE_WINDOW
/* This many consecutive packets older than the window: the source restarted its numbering. */
#define SB_SR_RESTART_RUN 32

_Static_assert((SB_SR_W & (SB_SR_W - 1)) == 0 && SB_SR_W % 64 == 0, "window: power of 2");

static inline bool sb_sr_bit(const uint64_t *map, int64_t ext)
{
    unsigned i = (unsigned)((uint64_t)ext & (SB_SR_W - 1));
    return (map[i >> 6] >> (i & 63)) & 1;
}

static inline void sb_sr_set(uint64_t *map, int64_t ext)
{
    unsigned i = (unsigned)((uint64_t)ext & (SB_SR_W - 1));
    map[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline void sb_sr_clear(uint64_t *map, int64_t ext)
{
    unsigned i = (unsigned)((uint64_t)ext & (SB_SR_W - 1));
    map[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

void sb_seq_rewrite_init(sb_seq_rewrite_t *rw, uint32_t clock_rate, uint16_t first_seq,
                         uint32_t first_ts)
{
    memset(rw, 0, sizeof(*rw));
    rw->clock_rate = clock_rate ? clock_rate : 90000;
    rw->first_seq = first_seq;
    rw->first_ts = first_ts;
}

static int64_t sb_sr_extend(const sb_seq_rewrite_t *rw, uint16_t seq)
{
    return rw->highest + (int16_t)(uint16_t)(seq - (uint16_t)rw->highest);
}

static bool sb_sr_too_old(const sb_seq_rewrite_t *rw, int64_t ext)
{
    return ext < rw->base || ext <= rw->highest - SB_SR_W;
}

/* Make ext (> highest) the newest, freeing the window bits that now stand for new numbers. */
static void sb_sr_advance(sb_seq_rewrite_t *rw, int64_t ext)
{
    if (ext - rw->highest >= SB_SR_W) {
        memset(rw->seen, 0, sizeof(rw->seen));
        memset(rw->skipped, 0, sizeof(rw->skipped));
    } else {
        for (int64_t e = rw->highest + 1; e <= ext; e++) {
            sb_sr_clear(rw->seen, e);
            sb_sr_clear(rw->skipped, e);
        }
    }
    rw->highest = ext;
}

/* Skips recorded after ext (in (ext, highest]); ext is inside the window. */
static uint32_t sb_sr_skips_after(const sb_seq_rewrite_t *rw, int64_t ext)
{
    uint32_t n = 0;
    for (int64_t e = ext + 1; e <= rw->highest; e++)
        n += sb_sr_bit(rw->skipped, e);
    return n;
}

/* Take source on from this packet: it gets the number after the last one the subscriber got,
 * and a timestamp that far ahead of the last one as wall-clock time has run since. */
static void sb_sr_start_source(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t ts, uint32_t source,
                               int64_t now_us)
{
    uint16_t next_seq = rw->first_seq;
    uint32_t next_ts = rw->first_ts;
    if (rw->sent_any) {
        next_seq = (uint16_t)(rw->highest + 1 + rw->seq_off - rw->skips);
        int64_t elapsed = now_us - rw->last_ts_us;
        int64_t ticks = elapsed > 0 ? elapsed * (int64_t)rw->clock_rate / 1000000 : 0;
        /* At least one tick: two frames must never share a timestamp. */
        next_ts = rw->last_ts + (uint32_t)(ticks > 0 ? ticks : 1);
    }
    rw->source = source;
    rw->have_source = true;
    rw->highest = 0x10000 + (int64_t)seq; /* one lap up: older numbers stay positive */
    rw->base = rw->highest;
    rw->skips = 0;
    rw->old_run = 0;
    memset(rw->seen, 0, sizeof(rw->seen));
    memset(rw->skipped, 0, sizeof(rw->skipped));
    rw->seq_off = (uint16_t)(next_seq - (uint16_t)rw->highest);
    rw->ts_off = next_ts - ts;
    rw->stats.switches++;
}

int sb_seq_rewrite_process(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t ts, uint32_t source,
                           bool switched, int64_t now_us, uint16_t *out_seq, uint32_t *out_ts)
{
    if (switched || !rw->have_source) {
        sb_sr_start_source(rw, seq, ts, source, now_us);
    } else if (source != rw->source) {
        rw->stats.stale_source++;
        return SB_EAGAIN;
    }
    int64_t ext = sb_sr_extend(rw, seq);
    uint32_t skips_below;
    if (ext > rw->highest) {
        sb_sr_advance(rw, ext);
        skips_below = rw->skips;
    } else if (sb_sr_too_old(rw, ext)) {
        rw->stats.too_old++;
        if (++rw->old_run < SB_SR_RESTART_RUN)
            return SB_EAGAIN;
        sb_sr_start_source(rw, seq, ts, source, now_us);
        ext = rw->highest;
        skips_below = 0;
    } else if (sb_sr_bit(rw->seen, ext)) {
        rw->stats.duplicates++;
        return SB_EAGAIN;
    } else {
        skips_below = rw->skips - sb_sr_skips_after(rw, ext);
    }
    rw->old_run = 0;
    sb_sr_set(rw->seen, ext);
    *out_seq = (uint16_t)(ext + rw->seq_off - skips_below);
    *out_ts = ts + rw->ts_off;
    if (!rw->sent_any || (int32_t)(*out_ts - rw->last_ts) > 0) {
        rw->last_ts = *out_ts;
        rw->last_ts_us = now_us;
    }
    rw->sent_any = true;
    rw->stats.forwarded++;
    return 0;
}

void sb_seq_rewrite_drop(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t source)
{
    if (!rw->have_source || source != rw->source)
        return;
    int64_t ext = sb_sr_extend(rw, seq);
    if (ext > rw->highest) {
        sb_sr_advance(rw, ext);
        sb_sr_set(rw->seen, ext);
        sb_sr_set(rw->skipped, ext);
        rw->skips++;
        rw->stats.skipped++;
    } else if (!sb_sr_too_old(rw, ext) && !sb_sr_bit(rw->seen, ext)) {
        /* Later packets already took their numbers: this one's stays a gap. */
        sb_sr_set(rw->seen, ext);
        rw->stats.late_skips++;
    }
}

uint32_t sb_seq_rewrite_map_ts(const sb_seq_rewrite_t *rw, uint32_t ts)
{
    return ts + rw->ts_off;
}

void sb_seq_rewrite_stats(const sb_seq_rewrite_t *rw, sb_seq_rewrite_stats_t *out)
{
    *out = rw->stats;
}
