/* NACK generator (see nack_gen.h).
 *
 * The missing list is an array sorted by extended sequence number: gaps are found in
 * increasing order, so insertion is an append; a recovered packet is found by binary search
 * and removed with a memmove (the list is bounded and recoveries are rare). Sequence numbers
 * are extended against the highest seen, so wrap-around is invisible.
 *
 * Does not: build RTCP (the caller packs PID/BLP), estimate RTT, or send anything. Sans-IO;
 * one owner thread. */
#include "proto/nack_gen.h"

#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"

#define SB_NACK_DEFAULT_MAX_MISSING 512u
#define SB_NACK_MAX_MISSING 8192u
#define SB_NACK_DEFAULT_RETRIES 10u
#define SB_NACK_DEFAULT_AGE_US 1000000
#define SB_NACK_DEFAULT_MIN_RETRY_US 10000
#define SB_NACK_DEFAULT_RTT_US 100000
#define SB_NACK_RESYNC_BEHIND 1000

typedef struct sb_nack_entry {
    int64_t ext;
    int64_t detected_us;
    int64_t sent_us;
    unsigned retries;
} sb_nack_entry_t;

/* Owned by the publisher stream; its loop only. */
struct sb_nack_gen {
    sb_nack_gen_config_t cfg;
    int64_t rtt_us;
    bool started;
    bool keyframe;
    int64_t highest; /* extended seq of the highest received */
    sb_nack_entry_t *list;
    unsigned count, cap; /* cap grows with need, up to cfg.max_missing */
    sb_nack_gen_stats_t stats;
};

int sb_nack_gen_new(const sb_nack_gen_config_t *cfg, sb_nack_gen_t **out)
{
    sb_nack_gen_config_t c = {0};
    if (cfg)
        c = *cfg;
    if (c.max_missing > SB_NACK_MAX_MISSING || c.max_age_us < 0 || c.reorder_delay_us < 0 ||
        c.min_retry_us < 0 || c.initial_rtt_us < 0)
        return SB_EINVAL;
    if (!c.max_missing)
        c.max_missing = SB_NACK_DEFAULT_MAX_MISSING;
    if (!c.max_retries)
        c.max_retries = SB_NACK_DEFAULT_RETRIES;
    if (!c.max_age_us)
        c.max_age_us = SB_NACK_DEFAULT_AGE_US;
    if (!c.min_retry_us)
        c.min_retry_us = SB_NACK_DEFAULT_MIN_RETRY_US;
    if (!c.initial_rtt_us)
        c.initial_rtt_us = SB_NACK_DEFAULT_RTT_US;
    sb_nack_gen_t *g = SB_NEW(sb_nack_gen_t);
    g->cfg = c;
    g->rtt_us = c.initial_rtt_us;
    *out = g; /* the list comes with the first loss: most streams never lose a packet */
    return 0;
}

void sb_nack_gen_free(sb_nack_gen_t *g)
{
    if (!g)
        return;
    sb_free(g->list);
    sb_free(g);
}

void sb_nack_gen_reset(sb_nack_gen_t *g)
{
    g->started = false;
    g->keyframe = false;
    g->count = 0;
}

void sb_nack_gen_set_rtt(sb_nack_gen_t *g, int64_t rtt_us)
{
    if (rtt_us > 0)
        g->rtt_us = rtt_us;
}

/* Drop the n oldest entries, as lost. */
static void sb_nack_gen_drop_front(sb_nack_gen_t *g, unsigned n)
{
    if (n > g->count)
        n = g->count;
    if (!n)
        return; /* the list may not exist yet */
    memmove(g->list, g->list + n, (g->count - n) * sizeof(*g->list));
    g->count -= n;
    g->stats.lost += n;
}

/* Record [from, to) as missing, keeping the list bounded. Returns how many were added. */
static unsigned sb_nack_gen_add_gap(sb_nack_gen_t *g, int64_t from, int64_t to, int64_t now_us)
{
    int64_t n = to - from;
    if (n > (int64_t)g->cfg.max_missing) {
        /* More lost than we may track: NACKs cannot repair this, a keyframe will. */
        g->stats.lost += (uint64_t)n + g->count;
        g->count = 0;
        g->keyframe = true;
        g->stats.keyframes++;
        return 0;
    }
    unsigned room = g->cfg.max_missing - g->count;
    if ((unsigned)n > room) {
        sb_nack_gen_drop_front(g, (unsigned)n - room);
        g->keyframe = true;
        g->stats.keyframes++;
    }
    if (g->count + (unsigned)n > g->cap) {
        unsigned cap = g->cap ? g->cap : 16;
        while (cap < g->count + (unsigned)n)
            cap *= 2;
        g->cap = cap < g->cfg.max_missing ? cap : g->cfg.max_missing;
        g->list = sb_realloc(g->list, g->cap * sizeof(*g->list));
    }
    for (int64_t e = from; e < to; e++)
        g->list[g->count++] = (sb_nack_entry_t){.ext = e, .detected_us = now_us};
    g->stats.missing += (uint64_t)n;
    return (unsigned)n;
}

/* Index of ext in the list, or -1. */
static int sb_nack_gen_find(const sb_nack_gen_t *g, int64_t ext)
{
    unsigned lo = 0, hi = g->count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (g->list[mid].ext < ext)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->count && g->list[lo].ext == ext ? (int)lo : -1;
}

unsigned sb_nack_gen_on_packet(sb_nack_gen_t *g, uint16_t seq, bool rtx, int64_t now_us)
{
    if (!g->started) {
        g->started = true;
        g->highest = 0x10000 + seq; /* one lap up: earlier packets stay positive */
        return 0;
    }
    int16_t diff = (int16_t)(uint16_t)(seq - (uint16_t)g->highest);
    int64_t ext = g->highest + diff;
    if (diff > 0) {
        unsigned added = sb_nack_gen_add_gap(g, g->highest + 1, ext, now_us);
        g->highest = ext;
        return added;
    }
    if (diff == 0)
        return 0; /* duplicate of the highest */
    if (-(int)diff > 2 * (int)g->cfg.max_missing && -(int)diff > SB_NACK_RESYNC_BEHIND) {
        /* Far behind anything we could still be waiting for: the sender restarted its
         * numbering. Follow it rather than calling every new packet old. */
        g->stats.lost += g->count;
        g->count = 0;
        g->highest = ext;
        return 0;
    }
    int i = sb_nack_gen_find(g, ext);
    if (i >= 0) {
        memmove(&g->list[i], &g->list[i + 1], (g->count - (unsigned)i - 1) * sizeof(*g->list));
        g->count--;
        g->stats.recovered++;
        if (rtx)
            g->stats.recovered_rtx++;
    }
    return 0;
}

void sb_nack_gen_clear_before(sb_nack_gen_t *g, uint16_t seq)
{
    if (!g->started)
        return;
    int64_t ext = g->highest + (int16_t)(uint16_t)(seq - (uint16_t)g->highest);
    unsigned n = 0;
    while (n < g->count && g->list[n].ext < ext)
        n++;
    if (!n)
        return; /* the list may not exist yet */
    memmove(g->list, g->list + n, (g->count - n) * sizeof(*g->list));
    g->count -= n;
}

static int64_t sb_nack_gen_retry_interval(const sb_nack_gen_t *g)
{
    return g->rtt_us > g->cfg.min_retry_us ? g->rtt_us : g->cfg.min_retry_us;
}

static int64_t sb_nack_gen_due(const sb_nack_gen_t *g, const sb_nack_entry_t *e)
{
    if (e->retries == 0)
        return e->detected_us + g->cfg.reorder_delay_us;
    return e->sent_us + sb_nack_gen_retry_interval(g);
}

size_t sb_nack_gen_collect(sb_nack_gen_t *g, int64_t now_us, uint16_t *out, size_t max)
{
    size_t n = 0;
    unsigned keep = 0;
    for (unsigned i = 0; i < g->count; i++) {
        sb_nack_entry_t e = g->list[i];
        bool given_up = now_us - e.detected_us > g->cfg.max_age_us ||
                        (e.retries >= g->cfg.max_retries && now_us >= sb_nack_gen_due(g, &e));
        if (given_up) {
            g->stats.lost++;
            continue;
        }
        if (n < max && now_us >= sb_nack_gen_due(g, &e)) {
            out[n++] = (uint16_t)e.ext;
            e.retries++;
            e.sent_us = now_us;
            g->stats.nacks++;
        }
        g->list[keep++] = e;
    }
    g->count = keep;
    return n;
}

int64_t sb_nack_gen_next_due(const sb_nack_gen_t *g)
{
    int64_t next = INT64_MAX;
    for (unsigned i = 0; i < g->count; i++) {
        int64_t due = sb_nack_gen_due(g, &g->list[i]);
        int64_t expiry = g->list[i].detected_us + g->cfg.max_age_us + 1;
        if (due > expiry)
            due = expiry;
        if (due < next)
            next = due;
    }
    return next;
}

bool sb_nack_gen_take_keyframe_request(sb_nack_gen_t *g)
{
    bool k = g->keyframe;
    g->keyframe = false;
    return k;
}

unsigned sb_nack_gen_missing_count(const sb_nack_gen_t *g)
{
    return g->count;
}

void sb_nack_gen_stats(const sb_nack_gen_t *g, sb_nack_gen_stats_t *out)
{
    *out = g->stats;
}
