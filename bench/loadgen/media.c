/* The load generator's media loops: Switchboard's sb_loop threads, each with a context that
 * lists its peers, ticks them every LG_TICK_MS to send what is due, and holds its counters and
 * latency histograms. Loop 0's tick also runs usrsctp's timers when data channels are on.
 * Also the histogram arithmetic.
 *
 * Threads: a loop context is touched by its loop only, except its counters (relaxed atomic
 * reads from the control thread) and the histogram copy (sb_loop_call_sync). */
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/time.h"
#include "bench/loadgen/lg.h"
#include "proto/sctp.h"

#define LG_TICK_MS 5

struct lg_loopctx {
    sb_loop_t *loop;
    GPtrArray *peers; /* lg_peer_t*, borrowed: a peer removes itself before it is freed */
    unsigned timer;
    lg_counters_t c;
    lg_hist_t *hist;
    lg_hist_t *first_key;
    lg_hist_t *data_hist, *data_arrival;
    int64_t last_sctp_tick_us; /* loop 0 only: usrsctp's timers */
};

static lg_loopctx_t *lg_loops[256];
static unsigned lg_nloops;
static _Thread_local lg_loopctx_t *lg_current;
static atomic_bool lg_measuring;

int64_t lg_now_us(void)
{
    return sb_now_us();
}

/* ---- histogram ---- */

void lg_hist_add(lg_hist_t *h, int64_t us)
{
    if (us < 0)
        us = 0;
    uint64_t bin = (uint64_t)us / LG_HIST_US;
    if (bin < LG_HIST_BINS)
        h->bins[bin]++;
    else
        h->overflow++;
    h->count++;
    h->sum_us += (double)us;
    if ((uint64_t)us > h->max_us)
        h->max_us = (uint64_t)us;
}

void lg_hist_merge(lg_hist_t *into, const lg_hist_t *from)
{
    for (size_t i = 0; i < LG_HIST_BINS; i++)
        into->bins[i] += from->bins[i];
    into->overflow += from->overflow;
    into->count += from->count;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

double lg_hist_quantile(const lg_hist_t *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)(h->count - 1)) + 1, seen = 0;
    for (size_t i = 0; i < LG_HIST_BINS; i++) {
        seen += h->bins[i];
        if (seen >= want)
            return (double)(i * LG_HIST_US) + LG_HIST_US / 2.0;
    }
    return (double)h->max_us;
}

/* ---- loop contexts ---- */

lg_loopctx_t *lg_loopctx_current(void)
{
    return lg_current;
}

lg_counters_t *lg_loopctx_counters(lg_loopctx_t *lc)
{
    return &lc->c;
}

void lg_loopctx_record_latency(lg_loopctx_t *lc, int64_t us)
{
    if (atomic_load_explicit(&lg_measuring, memory_order_relaxed))
        lg_hist_add(lc->hist, us);
}

void lg_loopctx_record_first_key(lg_loopctx_t *lc, int64_t us)
{
    lg_hist_add(lc->first_key, us);
}

void lg_loopctx_record_data_latency(lg_loopctx_t *lc, int64_t us, int64_t arrival_us)
{
    lg_hist_add(lc->data_hist, us);
    lg_hist_add(lc->data_arrival, arrival_us);
}

bool lg_media_measuring(void)
{
    return atomic_load_explicit(&lg_measuring, memory_order_relaxed);
}

void lg_loopctx_add_peer(lg_loopctx_t *lc, lg_peer_t *p)
{
    g_ptr_array_add(lc->peers, p);
}

void lg_loopctx_remove_peer(lg_loopctx_t *lc, lg_peer_t *p)
{
    g_ptr_array_remove_fast(lc->peers, p);
}

static bool lg_media_tick(void *arg)
{
    lg_loopctx_t *lc = arg;
    int64_t now = sb_now_us();
    /* usrsctp's timers (retransmissions, delayed SACKs) for every association of the
     * process, from one thread: what they queue is drained by each peer's tick below (the
     * other loops' peers at their own next tick). */
    if (lc == lg_loops[0] && lg_cfg_has_data()) {
        if (!lc->last_sctp_tick_us)
            lc->last_sctp_tick_us = now;
        int64_t ms = (now - lc->last_sctp_tick_us) / 1000;
        if (ms > 0) {
            sb_sctp_tick((uint32_t)ms);
            lc->last_sctp_tick_us += ms * 1000;
        }
    }
    for (guint i = 0; i < lc->peers->len; i++)
        lg_peer_tick(g_ptr_array_index(lc->peers, i), now);
    return true;
}

static void lg_media_loop_init(void *arg)
{
    lg_loopctx_t *lc = arg;
    lg_current = lc;
    lc->timer = sb_loop_timer_add(lc->loop, LG_TICK_MS, lg_media_tick, lc);
}

static void lg_media_loop_deinit(void *arg)
{
    lg_loopctx_t *lc = arg;
    sb_loop_timer_remove(lc->loop, lc->timer);
    lg_current = NULL;
}

int lg_media_start(unsigned loops)
{
    int rc = sb_loops_start(loops);
    if (rc < 0)
        return rc;
    lg_nloops = sb_loops_count();
    for (unsigned i = 0; i < lg_nloops; i++) {
        lg_loopctx_t *lc = SB_NEW(lg_loopctx_t);
        lc->loop = sb_loop_get(i);
        lc->peers = g_ptr_array_new();
        lc->hist = sb_calloc(1, sizeof(lg_hist_t));
        lc->first_key = sb_calloc(1, sizeof(lg_hist_t));
        lc->data_hist = sb_calloc(1, sizeof(lg_hist_t));
        lc->data_arrival = sb_calloc(1, sizeof(lg_hist_t));
        lg_loops[i] = lc;
        sb_loop_call_sync(lc->loop, lg_media_loop_init, lc);
    }
    return 0;
}

void lg_media_stop(void)
{
    for (unsigned i = 0; i < lg_nloops; i++)
        sb_loop_call_sync(lg_loops[i]->loop, lg_media_loop_deinit, lg_loops[i]);
    sb_loops_stop();
    for (unsigned i = 0; i < lg_nloops; i++) {
        g_ptr_array_free(lg_loops[i]->peers, TRUE);
        sb_free(lg_loops[i]->hist);
        sb_free(lg_loops[i]->first_key);
        sb_free(lg_loops[i]->data_hist);
        sb_free(lg_loops[i]->data_arrival);
        sb_free(lg_loops[i]);
        lg_loops[i] = NULL;
    }
    lg_nloops = 0;
}

unsigned lg_media_loop_count(void)
{
    return lg_nloops;
}

void lg_media_set_measuring(bool on)
{
    atomic_store(&lg_measuring, on);
}

void lg_media_totals(lg_totals_t *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < lg_nloops; i++) {
        lg_counters_t *c = &lg_loops[i]->c;
#define LG_SUM(f) t->f += LG_CTR_GET(c->f)
        LG_SUM(rtp_sent);
        LG_SUM(bytes_sent);
        LG_SUM(rtp_recv);
        LG_SUM(bytes_recv);
        LG_SUM(lost);
        LG_SUM(dups);
        LG_SUM(reorders);
        LG_SUM(keyframes_sent);
        LG_SUM(keyframes_recv);
        LG_SUM(plis_in);
        LG_SUM(nacks_in);
        LG_SUM(plis_sent);
        LG_SUM(srtp_fail);
        LG_SUM(ice_fail);
        LG_SUM(dtls_fail);
        LG_SUM(ice_up);
        LG_SUM(dtls_up);
        LG_SUM(send_fail);
        LG_SUM(foreign);
        LG_SUM(twcc_recorded);
        LG_SUM(twcc_feedback);
        LG_SUM(data_sent);
        LG_SUM(data_sent_bytes);
        LG_SUM(data_sent_win);
        LG_SUM(data_blocked);
        LG_SUM(data_recv);
        LG_SUM(data_recv_bytes);
        LG_SUM(data_delivered_win);
        LG_SUM(data_dups);
        LG_SUM(data_reorder);
        LG_SUM(data_gaps);
        LG_SUM(data_foreign);
        LG_SUM(sctp_up);
#undef LG_SUM
    }
}

typedef enum {
    LG_HIST_LATENCY,
    LG_HIST_FIRST_KEY,
    LG_HIST_DATA,
    LG_HIST_DATA_ARRIVAL
} lg_hist_which_t;

typedef struct lg_hist_copy {
    lg_loopctx_t *lc;
    lg_hist_t *into;
    lg_hist_which_t which;
} lg_hist_copy_t;

static void lg_media_hist_copy(void *arg)
{
    lg_hist_copy_t *c = arg;
    lg_hist_merge(c->into, c->which == LG_HIST_FIRST_KEY      ? c->lc->first_key
                           : c->which == LG_HIST_DATA         ? c->lc->data_hist
                           : c->which == LG_HIST_DATA_ARRIVAL ? c->lc->data_arrival
                                                              : c->lc->hist);
}

static lg_hist_t *lg_media_merged(lg_hist_which_t which)
{
    lg_hist_t *h = sb_calloc(1, sizeof(*h));
    for (unsigned i = 0; i < lg_nloops; i++) {
        lg_hist_copy_t c = {lg_loops[i], h, which};
        sb_loop_call_sync(lg_loops[i]->loop, lg_media_hist_copy, &c);
    }
    return h;
}

lg_hist_t *lg_media_hist(void)
{
    return lg_media_merged(LG_HIST_LATENCY);
}

lg_hist_t *lg_media_first_key_hist(void)
{
    return lg_media_merged(LG_HIST_FIRST_KEY);
}

lg_hist_t *lg_media_data_hist(bool arrival)
{
    return lg_media_merged(arrival ? LG_HIST_DATA_ARRIVAL : LG_HIST_DATA);
}
