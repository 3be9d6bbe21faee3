/* One timer per media loop drives the periodic RTCP work (NACKs, pending PLIs, the
 * one-second reports) of every peer on that loop. A timer per peer made GLib walk one more
 * source per peer on every wake-up of a busy loop; here a loop with no media peer has no
 * timer at all. The timer fires every 20 ms while a peer on the loop has media either way
 * (or a keyframe request or a probe under way), every second once none has: an idle loop
 * wakes once a second, not 50 times (bench/idle.sh). A peer whose media starts again wakes it
 * (sb_peer_ticker_wake). Loop threads only: each loop touches its own slot. */
#include "peer/peer_internal.h"

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/time.h"

#define SB_PEER_TICK_MS (SB_PEER_TICK_US / 1000)
#define SB_PEER_IDLE_TICK_MS (SB_PEER_IDLE_TICK_US / 1000)
#define SB_PEER_TICKER_LOOPS 256 /* media.loops is at most 256 */

typedef struct sb_peer_ticker {
    sb_peer_t **peers;
    unsigned n, cap;
    unsigned timer;
    sb_loop_t *loop;
    bool slow;   /* the timer fires every second: no peer on the loop is busy */
    bool firing; /* in sb_peer_ticker_fire */
    bool woken;  /* a peer became busy during the firing */
} sb_peer_ticker_t;

static sb_peer_ticker_t sb_peer_tickers[SB_PEER_TICKER_LOOPS];

static sb_peer_ticker_t *sb_peer_ticker_of(const sb_peer_t *p)
{
    return &sb_peer_tickers[sb_loop_index(p->loop) % SB_PEER_TICKER_LOOPS];
}

static bool sb_peer_ticker_fire(void *arg);

bool sb_peer_media_busy(const sb_peer_t *p, int64_t now)
{
    return now - p->media_in_us < SB_PEER_NACK_IDLE_US ||
           now - p->media_out_us < SB_PEER_NACK_IDLE_US || p->kf_pending_any ||
           sb_peer_cc_busy(p);
}

static void sb_peer_ticker_arm(sb_peer_ticker_t *t, bool slow)
{
    t->slow = slow;
    t->timer = sb_loop_timer_add(t->loop, slow ? SB_PEER_IDLE_TICK_MS : SB_PEER_TICK_MS,
                                 sb_peer_ticker_fire, t);
}

static bool sb_peer_ticker_fire(void *arg)
{
    sb_peer_ticker_t *t = arg;
    int64_t now = sb_now_us();
    unsigned me = t->timer;
    bool busy = false;
    t->firing = true;
    t->woken = false;
    for (unsigned i = 0; i < t->n; i++)
        busy |= sb_peer_media_tick(t->peers[i], now);
    t->firing = false;
    busy |= t->woken;
    if (t->timer != me)
        return false; /* the last peer went during the firing: this timer was removed */
    if (busy != t->slow)
        return true;
    sb_peer_ticker_arm(t, !busy); /* this timer ends, one at the other period replaces it */
    return false;
}

void sb_peer_ticker_wake(sb_peer_t *p)
{
    sb_peer_ticker_t *t = sb_peer_ticker_of(p);
    if (p->ticker_slot < 0 || !t->slow)
        return;
    if (t->firing) {
        t->woken = true;
        return;
    }
    sb_loop_timer_remove(t->loop, t->timer);
    sb_peer_ticker_arm(t, false);
}

bool sb_peer_ticker_slow(const sb_peer_t *p)
{
    return p->ticker_slot >= 0 && sb_peer_ticker_of(p)->slow;
}

void sb_peer_ticker_add(sb_peer_t *p)
{
    SB_ASSERT(sb_loop_is_current(p->loop) && p->ticker_slot < 0);
    sb_peer_ticker_t *t = sb_peer_ticker_of(p);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->peers = sb_realloc(t->peers, t->cap * sizeof(*t->peers));
    }
    p->ticker_slot = (int)t->n;
    t->peers[t->n++] = p;
    if (!t->timer) {
        t->loop = p->loop;
        sb_peer_ticker_arm(t, false);
    }
}

void sb_peer_ticker_remove(sb_peer_t *p)
{
    if (p->ticker_slot < 0)
        return;
    sb_peer_ticker_t *t = sb_peer_ticker_of(p);
    unsigned i = (unsigned)p->ticker_slot;
    t->peers[i] = t->peers[--t->n];
    t->peers[i]->ticker_slot = (int)i;
    p->ticker_slot = -1;
    if (t->n == 0) {
        sb_loop_timer_remove(p->loop, t->timer);
        t->timer = 0;
        sb_free(t->peers);
        t->peers = NULL;
        t->cap = 0;
    }
}
