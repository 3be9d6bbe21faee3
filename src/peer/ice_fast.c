/* The selected UDP pair read by us (see ice.h, sb_ice_fast_stats).
 *
 * Why: libnice reads a socket through its GSource: one recvmsg per datagram and one more
 * that finds the socket empty, each behind the agent's lock and GSocket's wrappers. Here the
 * loop's epoll says the socket is readable and one recvmmsg takes what is queued (up to
 * SB_ICE_FAST_BATCH; fewer means the queue is empty, so no read comes back empty).
 *
 * What libnice did on that socket after selection, we do: answer the peer's Binding requests
 * (its checks and consent checks) when they carry our credentials, and send consent checks of
 * our own every 4-6 s (RFC 7675 §5.1), failing the agent 30 s after the last answer.
 * Datagrams from any other address than the selected remote are dropped and counted.
 *
 * Meanwhile the agent's context is held (loop/subctx.h): libnice's timers do not run, so it
 * sends no consent checks of its own (their answers would reach us, not it: it retransmitted
 * them and declared consent lost every 10 s, and an idle PeerConnection cost four runs of its
 * context a second), and our 1 s tick is a call from the loop's scheduler, on the grid that
 * has a loop's agents tick together. When libnice reads again, the pair is first selected
 * again, which starts its consent timer anew (as ice.c's renewal does).
 *
 * libnice's socket sources are parked on a context nobody iterates (attached there with no
 * callback); an ICE restart, a relayed or TCP pair, or a failure gives the socket back.
 * Thread: the agent's loop thread. */
#define _GNU_SOURCE /* recvmmsg */
#include "peer/ice_internal.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "switchboard/alloc.h"
#include "switchboard/id.h"
#include "switchboard/time.h"
#include "base/counter.h"
#include "base/log.h"

#define SB_ICE_FAST_BATCH 16
#define SB_ICE_FAST_DGRAM 2048 /* browsers and we keep datagrams under 1500 bytes */
#define SB_ICE_CONSENT_EXPIRY_US (30 * 1000000LL)
#define SB_ICE_CONSENT_SILENCE_LOG_US (10 * 1000000LL)
#define SB_ICE_FAST_TICK_US 1000000LL
#define SB_ICE_CONSENT_OVERDUE_US (7 * 1000000LL) /* past the 4-6 s of a regular check */
/* A peer-reflexive candidate's priority for component 1 (RFC 8445 §5.1.2.1: type preference
 * 110, local preference 65535): what a check on the selected pair carries. */
#define SB_ICE_PRFLX_PRIORITY ((110u << 24) | (65535u << 8) | 255u)

/* One loop thread reads one socket at a time: its buffers are the thread's (busy while a
 * batch is handed out: a nested read, were anything to iterate the loop from a callback,
 * waits for the next wake-up rather than overwrite them). */
static __thread struct {
    bool ready, busy; /* ready: the headers point at the buffers */
    uint8_t data[SB_ICE_FAST_BATCH][SB_ICE_FAST_DGRAM];
    struct sockaddr_storage from[SB_ICE_FAST_BATCH];
    struct iovec iov[SB_ICE_FAST_BATCH];
    struct mmsghdr msgs[SB_ICE_FAST_BATCH];
} sb_ice_rx;

static bool sb_ice_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return a->ss_family == AF_INET6 && x->sin6_port == y->sin6_port &&
           !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* ---- STUN on the selected pair ---- */

static void sb_ice_fast_drop(sb_ice_fast_t *f, uint64_t *why)
{
    (*why)++;
    if (f->dropped)
        sb_counter_add(f->dropped, 1);
}

static bool sb_ice_fast_our_txid(const sb_ice_fast_t *f, const uint8_t *txid)
{
    for (unsigned i = 0; i < SB_ICE_FAST_TXIDS; i++) {
        if (!memcmp(f->txids[i], txid, SB_STUN_ICE_TXID_LEN))
            return true;
    }
    return false;
}

static void sb_ice_fast_answered(sb_ice_t *ice, int64_t now)
{
    sb_ice_fast_t *f = &ice->fast;
    if (f->silence_logged_us)
        SB_INFO("ice", "agent %p: consent answered again after %.1f s of silence", (void *)ice,
                (double)(now - f->answered_us) / 1e6);
    f->silence_logged_us = 0;
    f->answered_us = now;
    f->stats.consent_answered++;
}

static void sb_ice_fast_stun(sb_ice_t *ice, const uint8_t *buf, size_t len)
{
    sb_ice_fast_t *f = &ice->fast;
    sb_stun_msg_t m;
    if (sb_stun_parse(buf, len, &m) != 0 || !sb_stun_fingerprint_ok(buf, len, &m)) {
        sb_ice_fast_drop(f, &f->stats.stun_dropped);
        return;
    }
    size_t ulen = strlen(f->username_in);
    if (m.type == SB_STUN_BINDING_REQUEST && m.username && m.username_len == ulen &&
        !memcmp(m.username, f->username_in, ulen) && sb_stun_integrity_ok(buf, &m, &f->our_key)) {
        uint8_t out[SB_STUN_ICE_MAX_LEN];
        size_t n = sb_stun_binding_success(out, sizeof(out), m.txid,
                                           (const struct sockaddr *)&ice->fast_peer, &f->our_key);
        if (n)
            (void)sb_ice_send(ice, out, n); /* lost like any datagram when it cannot go */
        f->stats.checks_answered++;
        return;
    }
    if (m.type == SB_STUN_BINDING_SUCCESS && sb_stun_integrity_ok(buf, &m, &f->their_key)) {
        if (sb_ice_fast_our_txid(f, m.txid))
            sb_ice_fast_answered(ice, sb_now_us());
        else /* an answer to one of libnice's own checks: it never sees it */
            f->stats.libnice_answers++;
        return;
    }
    sb_ice_fast_drop(f, &f->stats.stun_dropped);
}

/* One datagram from the socket. */
static void sb_ice_fast_one(sb_ice_t *ice, unsigned i)
{
    struct msghdr *h = &sb_ice_rx.msgs[i].msg_hdr;
    size_t len = sb_ice_rx.msgs[i].msg_len;
    if (h->msg_flags & MSG_TRUNC) {
        sb_ice_fast_drop(&ice->fast, &ice->fast.stats.truncated);
        return;
    }
    if (!sb_ice_same_addr(&sb_ice_rx.from[i], &ice->fast_peer)) {
        sb_ice_fast_drop(&ice->fast, &ice->fast.stats.foreign_dropped);
        return;
    }
    uint8_t *buf = sb_ice_rx.data[i];
    if (len > 0 && buf[0] < 4) /* RFC 7983: STUN */
        sb_ice_fast_stun(ice, buf, len);
    else if (len > 0)
        sb_ice_deliver(ice, buf, len);
}

static void sb_ice_fast_on_readable(void *arg)
{
    sb_ice_t *ice = arg;
    if (sb_ice_rx.busy)
        return; /* level-triggered: the epoll reports the socket again */
    if (!sb_ice_rx.ready) {
        for (unsigned i = 0; i < SB_ICE_FAST_BATCH; i++) {
            sb_ice_rx.iov[i] = (struct iovec){sb_ice_rx.data[i], SB_ICE_FAST_DGRAM};
            sb_ice_rx.msgs[i].msg_hdr = (struct msghdr){
                .msg_name = &sb_ice_rx.from[i], .msg_namelen = sizeof(sb_ice_rx.from[i]),
                .msg_iov = &sb_ice_rx.iov[i], .msg_iovlen = 1};
        }
        sb_ice_rx.ready = true;
    }
    int n = recvmmsg(ice->fast_fd, sb_ice_rx.msgs, SB_ICE_FAST_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return; /* EAGAIN (another reader was first), EINTR: the epoll says when again */
    ice->fast.stats.reads++;
    ice->fast.stats.datagrams += (uint64_t)n;
    /* A datagram's callback may stop the fast path (a failure): the rest is dropped with
     * the agent. A full batch leaves the socket readable: the epoll comes back for it. */
    sb_ice_rx.busy = true;
    for (int i = 0; i < n && ice->fast.entry && !ice->failed; i++)
        sb_ice_fast_one(ice, (unsigned)i);
    for (int i = 0; i < n; i++) /* the one field a read wrote that the next one reads */
        sb_ice_rx.msgs[i].msg_hdr.msg_namelen = sizeof(sb_ice_rx.from[i]);
    sb_ice_rx.busy = false;
}

/* ---- start, stop, consent ---- */

static gint64 sb_ice_fast_on_tick(void *arg, gint64 now);

/* Ticks fall on whole seconds of the monotonic clock: every agent a loop reads for wakes it
 * at the same instant, once a second for all of them. */
static gint64 sb_ice_fast_next_tick(gint64 now)
{
    return (now / SB_ICE_FAST_TICK_US + 1) * SB_ICE_FAST_TICK_US;
}

static void sb_ice_fast_keys(sb_ice_t *ice)
{
    sb_ice_fast_t *f = &ice->fast;
    sb_hmac_sha1_init(&f->our_key, (const uint8_t *)ice->pwd, strlen(ice->pwd));
    sb_hmac_sha1_init(&f->their_key, (const uint8_t *)ice->remote_pwd, strlen(ice->remote_pwd));
    sb_free(f->username_in);
    size_t n = strlen(ice->ufrag) + 1 + strlen(ice->remote_ufrag) + 1;
    f->username_in = sb_malloc(n);
    g_snprintf(f->username_in, n, "%s:%s", ice->ufrag, ice->remote_ufrag);
}

void sb_ice_fast_start(sb_ice_t *ice)
{
    sb_ice_fast_t *f = &ice->fast;
    if (f->entry) {
        if (f->fd == ice->fast_fd && sb_ice_same_addr(&f->peer, &ice->fast_peer))
            return; /* the same pair again (a re-selection): nothing changes */
        sb_ice_fast_stop(ice, true);
    }
    if (!ice->sched || ice->fast_fd < 0 || ice->failed || ice->restarting || !ice->remote_pwd ||
        !ice->ufrag || !ice->pwd)
        return;
    sb_ice_fast_keys(ice);
    if (!f->tiebreaker)
        sb_random_bytes(&f->tiebreaker, sizeof(f->tiebreaker));
    sb_ice_libnice_reads(ice, false);
    f->entry = sb_fdwatch_add(sb_subctx_sched_watch(ice->sched), ice->fast_fd,
                              sb_ice_fast_on_readable, ice);
    if (!f->entry) { /* epoll refused it: libnice goes on reading */
        sb_ice_libnice_reads(ice, true);
        return;
    }
    f->fd = ice->fast_fd;
    f->peer = ice->fast_peer;
    int64_t now = sb_now_us();
    f->answered_us = now;
    f->next_check_us = now; /* a first check at the first tick */
    f->silence_logged_us = 0;
    sb_subctx_hold(ice->sub, sb_ice_fast_on_tick, ice, sb_ice_fast_next_tick(now));
    SB_DEBUG("ice", "agent %p: reading the selected pair (fd %d)", (void *)ice, ice->fast_fd);
}

void sb_ice_fast_stop(sb_ice_t *ice, bool reattach)
{
    sb_ice_fast_t *f = &ice->fast;
    if (!f->entry)
        return;
    /* libnice's consent fresh before its timers run again; while we still read, so the
     * selection it signals is the pair we read (sb_ice_fast_start: nothing changes). */
    if (reattach && ice->connected && !ice->failed)
        (void)sb_ice_reselect(ice);
    sb_fdwatch_remove(sb_subctx_sched_watch(ice->sched), f->entry);
    f->entry = NULL;
    if (reattach)
        sb_ice_libnice_reads(ice, true);
    sb_subctx_release(ice->sub);
}

bool sb_ice_fast_consent_fresh(const sb_ice_t *ice, int64_t now)
{
    return ice->fast.entry && now - ice->fast.answered_us < SB_ICE_CONSENT_EXPIRY_US;
}

static void sb_ice_fast_check(sb_ice_t *ice, int64_t now)
{
    sb_ice_fast_t *f = &ice->fast;
    uint8_t *txid = f->txids[f->next_txid++ % SB_ICE_FAST_TXIDS];
    struct {
        uint8_t txid[SB_STUN_ICE_TXID_LEN];
        uint32_t jitter;
    } rnd; /* one read of the kernel's generator for both */
    sb_random_bytes(&rnd, sizeof(rnd));
    memcpy(txid, rnd.txid, SB_STUN_ICE_TXID_LEN);
    uint8_t out[SB_STUN_ICE_MAX_LEN];
    size_t n = sb_stun_consent_request(out, sizeof(out), txid, ice->remote_ufrag, ice->ufrag,
                                       SB_ICE_PRFLX_PRIORITY, ice->controlling, f->tiebreaker,
                                       &f->their_key);
    if (n) {
        (void)sb_ice_send(ice, out, n);
        f->stats.consent_sent++;
    }
    f->next_check_us = now + 4000000 + (int64_t)(rnd.jitter % 2000001); /* 4-6 s */
}

/* Every second while we read: consent checks and expiry. */
static void sb_ice_fast_tick(sb_ice_t *ice, int64_t now)
{
    sb_ice_fast_t *f = &ice->fast;
    if (!f->entry || ice->failed)
        return;
    int64_t silent = now - f->answered_us;
    if (silent >= SB_ICE_CONSENT_EXPIRY_US) {
        sb_ice_fail(ice, "consent lost");
        return;
    }
    if (silent >= SB_ICE_CONSENT_SILENCE_LOG_US && !f->silence_logged_us) {
        SB_INFO("ice", "agent %p: no consent answer for %lld s", (void *)ice,
                (long long)(silent / 1000000));
        f->silence_logged_us = now;
    }
    /* A check or its answer lost: once one is overdue, one a second until answered (RFC
     * 7675 §5.1 has consent checks retransmitted), so a lossy link keeps its consent. */
    if (now >= f->next_check_us || silent > SB_ICE_CONSENT_OVERDUE_US)
        sb_ice_fast_check(ice, now);
}

static gint64 sb_ice_fast_on_tick(void *arg, gint64 now)
{
    sb_ice_fast_tick(arg, now);
    return sb_ice_fast_next_tick(now);
}

void sb_ice_set_drop_counter(sb_ice_t *ice, struct sb_counter *c)
{
    ice->fast.dropped = c;
}

void sb_ice_fast_stats(const sb_ice_t *ice, sb_ice_fast_stats_t *out)
{
    *out = ice->fast.stats;
    out->reading = ice->fast.entry != NULL;
}

void sb_ice_fast_log(const sb_ice_t *ice)
{
    const sb_ice_fast_stats_t *s = &ice->fast.stats;
    if (!s->reads)
        return;
    SB_INFO("ice", "agent %p: read directly: %llu datagrams in %llu reads, %llu checks "
            "answered, consent %llu sent %llu answered, dropped: %llu from elsewhere, %llu "
            "stun, %llu too long", (const void *)ice, (unsigned long long)s->datagrams,
            (unsigned long long)s->reads, (unsigned long long)s->checks_answered,
            (unsigned long long)s->consent_sent, (unsigned long long)s->consent_answered,
            (unsigned long long)s->foreign_dropped, (unsigned long long)s->stun_dropped,
            (unsigned long long)s->truncated);
}
