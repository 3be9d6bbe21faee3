/* Private contexts iterated on demand inside a loop (see subctx.h).
 *
 * The scheduler is one GSource of the loop's context with no fd: its ready time is the
 * earliest deadline of a binary heap of subctxs; its dispatch runs every subctx due. The fds
 * a subctx polls (its library's sockets and its own wake-up fd) are kept in the loop's fd
 * watch after every run, whose callback runs that subctx at once.
 *
 * Thread: the loop's. */
#include "loop/subctx.h"

#include <stdint.h>

#include "switchboard/alloc.h"
#include "base/assert.h"
#include "switchboard/error.h"
#include "loop/fdwatch.h"

#define SB_SUBCTX_MAX_FDS 64 /* an agent: UDP and ICE-TCP sockets of up to 32 addresses */
#define SB_SUBCTX_MAX_PASSES 16
#define SB_SUBCTX_NEVER INT64_MAX
#define SB_SUBCTX_NOT_QUEUED SIZE_MAX

/* Owned by its creator, then by the scheduler once lingering; the loop thread only. */
struct sb_subctx {
    sb_subctx_sched_t *sched;
    GMainContext *ctx;
    gint64 deadline; /* next run, g_get_monotonic_time µs, or SB_SUBCTX_NEVER */
    size_t slot;     /* index in the heap, or SB_SUBCTX_NOT_QUEUED */
    int fds[SB_SUBCTX_MAX_FDS];
    sb_fdwatch_entry_t *entries[SB_SUBCTX_MAX_FDS];
    unsigned n_fds;
    bool running, again;
    guint recurse_scanned; /* source ids below this one were made recursable */
    bool lingering, done;
    gint64 linger_until;
    /* Held (sb_subctx_hold): not iterated; tick(tick_arg) runs at tick_due instead. */
    sb_subctx_tick_fn tick;
    void *tick_arg;
    gint64 tick_due;
    sb_subctx_t *prev, *next; /* every subctx of the scheduler */
};

typedef struct sb_subctx_timer {
    GSource base;
    sb_subctx_sched_t *sched;
} sb_subctx_timer_t;

/* Owned by the loop; its thread only. */
struct sb_subctx_sched {
    sb_fdwatch_t *watch;
    GSource *timer;
    sb_subctx_t **heap;
    size_t n_heap, cap_heap;
    sb_subctx_t *all;
    unsigned count;
};

/* ---- the deadline heap ---- */

static void sb_subctx_heap_set(sb_subctx_sched_t *s, size_t i, sb_subctx_t *c)
{
    s->heap[i] = c;
    c->slot = i;
}

static void sb_subctx_heap_up(sb_subctx_sched_t *s, size_t i)
{
    sb_subctx_t *c = s->heap[i];
    while (i > 0 && s->heap[(i - 1) / 2]->deadline > c->deadline) {
        sb_subctx_heap_set(s, i, s->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    sb_subctx_heap_set(s, i, c);
}

static void sb_subctx_heap_down(sb_subctx_sched_t *s, size_t i)
{
    sb_subctx_t *c = s->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        gint64 best = c->deadline;
        if (l < s->n_heap && s->heap[l]->deadline < best)
            m = l, best = s->heap[l]->deadline;
        if (l + 1 < s->n_heap && s->heap[l + 1]->deadline < best)
            m = l + 1;
        if (m == i)
            break;
        sb_subctx_heap_set(s, i, s->heap[m]);
        i = m;
    }
    sb_subctx_heap_set(s, i, c);
}

static void sb_subctx_heap_remove(sb_subctx_sched_t *s, sb_subctx_t *c)
{
    size_t i = c->slot;
    if (i == SB_SUBCTX_NOT_QUEUED)
        return;
    c->slot = SB_SUBCTX_NOT_QUEUED;
    sb_subctx_t *last = s->heap[--s->n_heap];
    if (last == c)
        return;
    sb_subctx_heap_set(s, i, last);
    sb_subctx_heap_up(s, i);
    sb_subctx_heap_down(s, last->slot);
}

/* The timer source becomes ready at the earliest deadline (GLib: O(1) per iteration). */
static void sb_subctx_rearm(sb_subctx_sched_t *s)
{
    gint64 t = s->n_heap ? s->heap[0]->deadline : -1;
    if (g_source_get_ready_time(s->timer) != t)
        g_source_set_ready_time(s->timer, t);
}

/* A deadline far enough away (a libnice keep-alive, a consent check, a TURN refresh: seconds)
 * moves up to the next multiple of a grid, so the agents of a loop wake it together instead
 * of one by one: with hundreds of idle PeerConnections a loop woke for each agent's timers.
 * 200 ms or more away: a 20 ms grid; a second or so away (the agents' once-a-second watch,
 * consent and keep-alive ticks): a 250 ms grid, at most 4 wake-ups a second for all of them.
 * Near deadlines (connectivity checks, retransmissions) stay exact. */
#define SB_SUBCTX_GRID_US 20000
#define SB_SUBCTX_SLACK_FROM_US 200000
#define SB_SUBCTX_COARSE_GRID_US 250000
#define SB_SUBCTX_COARSE_FROM_US 900000

static gint64 sb_subctx_coalesce(gint64 deadline, gint64 now)
{
    if (deadline - now < SB_SUBCTX_SLACK_FROM_US)
        return deadline;
    gint64 grid = deadline - now < SB_SUBCTX_COARSE_FROM_US ? SB_SUBCTX_GRID_US
                                                             : SB_SUBCTX_COARSE_GRID_US;
    return (deadline + grid - 1) / grid * grid;
}

static void sb_subctx_schedule(sb_subctx_t *c, gint64 deadline)
{
    sb_subctx_sched_t *s = c->sched;
    if (c->lingering && c->linger_until < deadline)
        deadline = c->linger_until;
    bool queued = c->slot != SB_SUBCTX_NOT_QUEUED;
    if (queued && c->deadline == deadline)
        return;
    sb_subctx_heap_remove(s, c);
    c->deadline = deadline;
    if (deadline != SB_SUBCTX_NEVER) {
        if (s->n_heap == s->cap_heap) {
            s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 64;
            s->heap = sb_realloc(s->heap, s->cap_heap * sizeof(*s->heap));
        }
        sb_subctx_heap_set(s, s->n_heap++, c);
        sb_subctx_heap_up(s, c->slot);
    }
    if (queued || deadline != SB_SUBCTX_NEVER)
        sb_subctx_rearm(s);
}

/* ---- running one ---- */

static void sb_subctx_unwatch(sb_subctx_t *c)
{
    for (unsigned i = 0; i < c->n_fds; i++)
        sb_fdwatch_remove(c->sched->watch, c->entries[i]);
    c->n_fds = 0;
}

/* A held subctx: none of its fds in the loop's epoll (a readable one would be reported at
 * every wake-up, level-triggered, with nobody reading it), its tick next in the heap. */
static void sb_subctx_park(sb_subctx_t *c)
{
    sb_subctx_unwatch(c);
    sb_subctx_schedule(c, sb_subctx_coalesce(c->tick_due, g_get_monotonic_time()));
}

static void sb_subctx_on_fd(void *arg);

/* GLib takes a source's fds out of the poll set around each dispatch and puts them back
 * unless the source may recurse, writing the context's wake-up eventfd each time: two
 * write(2)s per socket dispatch (per packet received), then a read(2) and a wake-up of the
 * loop for nothing. Nothing recurses into a subctx (it is iterated by hand; libnice's only
 * recursive iteration is in blocking calls we never make), so every source but timers and
 * idles is made recursable: those attached since the last scan, found by id (GLib numbers a
 * context's sources from 1; a probe source gives the next id). Runs when the fds changed, so
 * new sockets are covered before they carry traffic. */
static void sb_subctx_allow_recursion(sb_subctx_t *c)
{
    GSource *probe = g_idle_source_new();
    guint next = g_source_attach(probe, c->ctx);
    g_source_destroy(probe);
    g_source_unref(probe);
    guint from = next < c->recurse_scanned ? 1 : c->recurse_scanned; /* ids wrapped */
    for (guint id = from ? from : 1; id < next; id++) {
        GSource *src = g_main_context_find_source_by_id(c->ctx, id);
        /* Not timers and idles: a blocked timer re-arming itself in its own dispatch does
         * not wake the context, a recursable one would. */
        if (src && !g_source_is_destroyed(src) && src->source_funcs != &g_timeout_funcs &&
            src->source_funcs != &g_idle_funcs)
            g_source_set_can_recurse(src, TRUE);
    }
    c->recurse_scanned = next;
}

/* Watches exactly the fds the context polls. */
static void sb_subctx_sync_fds(sb_subctx_t *c, const GPollFD *fds, unsigned n)
{
    bool changed = false;
    for (unsigned i = 0; i < c->n_fds;) {
        /* An entry whose fd another user of the watch took meanwhile (a socket read
         * directly while its library's sources were parked) is made again. */
        bool keep = false;
        for (unsigned j = 0; j < n && !keep; j++)
            keep = fds[j].fd == c->fds[i];
        keep = keep && sb_fdwatch_entry_active(c->sched->watch, c->entries[i]);
        if (keep) {
            i++;
            continue;
        }
        sb_fdwatch_remove(c->sched->watch, c->entries[i]);
        changed = true;
        c->n_fds--;
        c->fds[i] = c->fds[c->n_fds];
        c->entries[i] = c->entries[c->n_fds];
    }
    for (unsigned j = 0; j < n && c->n_fds < SB_SUBCTX_MAX_FDS; j++) {
        bool have = false;
        for (unsigned i = 0; i < c->n_fds && !have; i++)
            have = c->fds[i] == fds[j].fd;
        sb_fdwatch_entry_t *e = have ? NULL : sb_fdwatch_add(c->sched->watch, fds[j].fd,
                                                             sb_subctx_on_fd, c);
        if (e) {
            c->fds[c->n_fds] = fds[j].fd;
            c->entries[c->n_fds++] = e;
            changed = true;
        }
    }
    if (changed)
        sb_subctx_allow_recursion(c);
}

/* Which of the context's fds are ready. The loop's epoll watches them for reading, level-
 * triggered: the one it found readable (ready_fd, on the first pass) is, and one still
 * readable after a dispatch, or not looked at here, comes back at the loop's next iteration,
 * so the run needs no poll(2) of its own. Only a source waiting to write (ICE-TCP under
 * back-pressure) needs one: the loop's epoll does not watch for that. */
static void sb_subctx_mark_ready(GPollFD *fds, unsigned nfds, int ready_fd)
{
    for (unsigned j = 0; j < nfds; j++) {
        if (fds[j].events & G_IO_OUT) {
            g_poll(fds, nfds, 0);
            return;
        }
    }
    for (unsigned j = 0; j < nfds; j++)
        fds[j].revents = fds[j].fd == ready_fd ? (gushort)(fds[j].events & G_IO_IN) : 0;
}

static void sb_subctx_run_ready(sb_subctx_t *c, int ready_fd)
{
    if (c->running) {
        c->again = true;
        return;
    }
    if (!g_main_context_acquire(c->ctx))
        return;
    c->running = true;
    GPollFD fds[SB_SUBCTX_MAX_FDS];
    unsigned nfds = 0;
    gint timeout = -1;
    bool more = false;
    for (int pass = 0; pass < SB_SUBCTX_MAX_PASSES; pass++) {
        gint prio = 0;
        c->again = false;
        g_main_context_prepare(c->ctx, &prio);
        gint n = g_main_context_query(c->ctx, prio, &timeout, fds, SB_SUBCTX_MAX_FDS);
        nfds = n < SB_SUBCTX_MAX_FDS ? (unsigned)n : SB_SUBCTX_MAX_FDS;
        sb_subctx_mark_ready(fds, nfds, pass == 0 ? ready_fd : -1);
        bool ready = g_main_context_check(c->ctx, prio, fds, (gint)nfds);
        if (ready)
            g_main_context_dispatch(c->ctx);
        /* Stop once a pass found nothing to do; what the last dispatch added (or a touch
         * during it) is seen by the next run, scheduled at once. */
        more = ready || c->again;
        if (!more)
            break;
    }
    c->running = false;
    g_main_context_release(c->ctx);
    if (c->tick) { /* held during the run */
        sb_subctx_park(c);
        return;
    }
    sb_subctx_sync_fds(c, fds, nfds);
    gint64 now = g_get_monotonic_time();
    sb_subctx_schedule(c, more          ? now
                          : timeout < 0 ? SB_SUBCTX_NEVER
                                        : sb_subctx_coalesce(now + (gint64)timeout * 1000, now));
}

void sb_subctx_run(sb_subctx_t *c)
{
    if (!c->tick)
        sb_subctx_run_ready(c, -1);
}

/* Runs c (ready_fd: readable, -1: none known), then frees it if it lingered to its end. */
static void sb_subctx_run_and_reap(sb_subctx_t *c, int ready_fd)
{
    if (c->tick) {
        c->tick_due = c->tick(c->tick_arg, g_get_monotonic_time());
        if (c->tick) /* still held: the tick may have released it */
            sb_subctx_park(c);
        return;
    }
    if (c->lingering && g_get_monotonic_time() >= c->linger_until)
        c->done = true;
    if (!c->done)
        sb_subctx_run_ready(c, ready_fd);
    if (c->lingering && c->done)
        sb_subctx_free(c);
}

static void sb_subctx_on_fd(void *arg)
{
    sb_subctx_t *c = arg;
    sb_subctx_run_and_reap(c, sb_fdwatch_firing_fd(c->sched->watch));
}

static gboolean sb_subctx_timer_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    (void)cb;
    (void)data;
    sb_subctx_sched_t *s = ((sb_subctx_timer_t *)source)->sched;
    gint64 now = g_get_monotonic_time();
    /* Each subctx due runs once; one that is due again at once waits for the next iteration. */
    for (size_t budget = s->n_heap; budget > 0 && s->n_heap && s->heap[0]->deadline <= now;
         budget--) {
        sb_subctx_t *c = s->heap[0];
        sb_subctx_heap_remove(s, c);
        c->deadline = SB_SUBCTX_NEVER;
        sb_subctx_run_and_reap(c, -1);
    }
    sb_subctx_rearm(s);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs sb_subctx_timer_funcs = {
    .dispatch = sb_subctx_timer_dispatch,
};

/* ---- lifetime ---- */

int sb_subctx_sched_new(GMainContext *ctx, sb_subctx_sched_t **out)
{
    *out = NULL;
    sb_subctx_sched_t *s = SB_NEW(sb_subctx_sched_t);
    if (sb_fdwatch_new(ctx, &s->watch) != 0) {
        sb_free(s);
        return SB_EIO;
    }
    /* One epoll_wait per wake-up of the loop (the scheduler is made on its thread). */
    sb_fdwatch_own_poll(s->watch);
    s->timer = g_source_new(&sb_subctx_timer_funcs, sizeof(sb_subctx_timer_t));
    ((sb_subctx_timer_t *)s->timer)->sched = s;
    g_source_set_name(s->timer, "sb-subctx");
    g_source_set_ready_time(s->timer, -1);
    g_source_attach(s->timer, ctx);
    *out = s;
    return 0;
}

void sb_subctx_sched_free(sb_subctx_sched_t *s)
{
    if (!s)
        return;
    while (s->all)
        sb_subctx_free(s->all);
    g_source_destroy(s->timer);
    g_source_unref(s->timer);
    sb_fdwatch_free(s->watch);
    sb_free(s->heap);
    sb_free(s);
}

unsigned sb_subctx_sched_count(const sb_subctx_sched_t *s)
{
    return s->count;
}

sb_fdwatch_t *sb_subctx_sched_watch(sb_subctx_sched_t *s)
{
    return s->watch;
}

sb_subctx_t *sb_subctx_new(sb_subctx_sched_t *s)
{
    sb_subctx_t *c = SB_NEW(sb_subctx_t);
    c->sched = s;
    c->ctx = g_main_context_new();
    c->deadline = SB_SUBCTX_NEVER;
    c->slot = SB_SUBCTX_NOT_QUEUED;
    c->next = s->all;
    if (s->all)
        s->all->prev = c;
    s->all = c;
    s->count++;
    return c;
}

GMainContext *sb_subctx_context(sb_subctx_t *c)
{
    return c->ctx;
}

void sb_subctx_touch(sb_subctx_t *c)
{
    if (c->tick)
        return; /* held: sb_subctx_release runs it */
    if (c->running)
        c->again = true;
    else
        sb_subctx_schedule(c, 0); /* the past: due at the next iteration */
}

void sb_subctx_free(sb_subctx_t *c)
{
    if (!c)
        return;
    SB_ASSERT(!c->running);
    sb_subctx_sched_t *s = c->sched;
    sb_subctx_unwatch(c);
    sb_subctx_heap_remove(s, c);
    sb_subctx_rearm(s);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->count--;
    g_main_context_unref(c->ctx);
    sb_free(c);
}

void sb_subctx_linger(sb_subctx_t *c, gint64 max_us)
{
    c->tick = NULL; /* a held one runs again, to its end */
    c->lingering = true;
    c->linger_until = g_get_monotonic_time() + max_us;
    sb_subctx_touch(c);
}

void sb_subctx_done(sb_subctx_t *c)
{
    c->done = true;
    if (!c->running)
        sb_subctx_touch(c);
}

void sb_subctx_hold(sb_subctx_t *c, sb_subctx_tick_fn tick, void *arg, gint64 first)
{
    SB_ASSERT(tick && !c->lingering);
    c->tick = tick;
    c->tick_arg = arg;
    c->tick_due = first;
    if (!c->running) /* else at the end of the run */
        sb_subctx_park(c);
}

void sb_subctx_release(sb_subctx_t *c)
{
    if (!c->tick)
        return;
    c->tick = NULL;
    sb_subctx_touch(c); /* what was added meanwhile, and its fds again */
}

bool sb_subctx_held(const sb_subctx_t *c)
{
    return c->tick != NULL;
}
