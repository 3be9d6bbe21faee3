/* One 20 ms timer per media loop drives the periodic RTCP work (NACKs, pending PLIs, the
 * one-second reports) of every peer on that loop. A timer per peer made GLib walk one more
 * source per peer on every wake-up of a busy loop; here a loop with no media peer has no
 * timer at all. Loop threads only: each loop touches its own slot. */
#include "peer/peer_internal.h"

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/time.h"

#define SB_PEER_TICK_MS 20
#define SB_PEER_TICKER_LOOPS 256 /* media.loops is at most 256 */

typedef struct sb_peer_ticker {
    sb_peer_t **peers;
    unsigned n, cap;
    unsigned timer;
} sb_peer_ticker_t;

static sb_peer_ticker_t sb_peer_tickers[SB_PEER_TICKER_LOOPS];

static bool sb_peer_ticker_fire(void *arg)
{
    sb_peer_ticker_t *t = arg;
    int64_t now = sb_now_us();
    for (unsigned i = 0; i < t->n; i++)
        sb_peer_media_tick(t->peers[i], now);
    return true;
}

void sb_peer_ticker_add(sb_peer_t *p)
{
    SB_ASSERT(sb_loop_is_current(p->loop) && p->ticker_slot < 0);
    sb_peer_ticker_t *t = &sb_peer_tickers[sb_loop_index(p->loop) % SB_PEER_TICKER_LOOPS];
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->peers = sb_realloc(t->peers, t->cap * sizeof(*t->peers));
    }
    p->ticker_slot = (int)t->n;
    t->peers[t->n++] = p;
    if (!t->timer)
        t->timer = sb_loop_timer_add(p->loop, SB_PEER_TICK_MS, sb_peer_ticker_fire, t);
}

void sb_peer_ticker_remove(sb_peer_t *p)
{
    if (p->ticker_slot < 0)
        return;
    sb_peer_ticker_t *t = &sb_peer_tickers[sb_loop_index(p->loop) % SB_PEER_TICKER_LOOPS];
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
