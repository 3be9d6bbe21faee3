/* Media loops: a fixed set of threads, each running its own GMainContext + GMainLoop.
 *
 * Every peer (and every room) is bound to one loop for life; all its ICE/DTLS/SRTP/RTP state
 * is touched only on that loop's thread. Other threads talk to a loop by posting closures to
 * its mailbox (sb_loop_post), which wakes the loop only when it goes from empty to non-empty.
 *
 * Lifetime: sb_loops_start() once at start-up (main thread), sb_loops_stop() once at shutdown
 * (main thread, after every object bound to a loop is gone). The sb_loop_t pointers are
 * borrowed and valid between the two calls. */
#ifndef SB_LOOP_LOOP_H
#define SB_LOOP_LOOP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sb_loop sb_loop_t;
struct sb_pktbuf_pool;

typedef void (*sb_loop_fn)(void *arg);
/* Timer callback, on the loop thread: return true to keep firing, false to stop (the timer
 * is then removed and its id becomes invalid). */
typedef bool (*sb_loop_timer_fn)(void *arg);

/* Pin loop i to the i-th CPU of the process affinity mask. Call before sb_loops_start. */
void sb_loops_set_cpu_pinning(bool on);

/* Start n loops (n = 0: number of online CPUs; capped at 256). Returns 0, SB_ESTATE when
 * already started, SB_EIO when a thread cannot be created. Returns once every loop runs. */
int sb_loops_start(unsigned n);

/* Stop every loop: each runs what is already in its mailbox, quits, and is joined. Must not be
 * called from a loop thread. A closure posted while a loop stops still runs on its thread; once
 * the loop has exited, sb_loop_post refuses with SB_ESTATE. */
void sb_loops_stop(void);

/* Number of running loops (0 when not started). Any thread. */
unsigned sb_loops_count(void);

/* Loop i (borrowed), NULL when i >= sb_loops_count(). Any thread. */
sb_loop_t *sb_loop_get(unsigned i);

/* The least loaded loop by bound-object count (ties: lowest index). Borrowed. Any thread. The
 * caller then calls sb_loop_bind() (the two are not atomic together: the count is a hint). */
sb_loop_t *sb_loop_pick(void);
void sb_loop_bind(sb_loop_t *loop);
void sb_loop_unbind(sb_loop_t *loop);
unsigned sb_loop_bound_count(sb_loop_t *loop);

unsigned sb_loop_index(const sb_loop_t *loop);
/* The loop's context (borrowed, owned by the loop). Any thread. */
GMainContext *sb_loop_context(sb_loop_t *loop);
/* The loop's packet buffer pool (borrowed). Use it on the loop thread only. */
struct sb_pktbuf_pool *sb_loop_pool(sb_loop_t *loop);

/* The loop's scheduler of private contexts (borrowed; NULL if epoll was refused): one ICE
 * agent each, run only when due or readable (loop/subctx.h). Loop thread only. */
struct sb_subctx_sched;
struct sb_subctx_sched *sb_loop_sched(sb_loop_t *loop);

/* True when the calling thread is this loop's thread (for debug asserts). */
bool sb_loop_is_current(const sb_loop_t *loop);
/* The loop of the calling thread, NULL on any other thread. */
sb_loop_t *sb_loop_current(void);

/* Queue fn(arg) to run on the loop thread, in order per producer. Any thread, including the
 * loop's own (then it runs on a later iteration, never inline). Never blocks on the loop; the
 * loop is woken only when its mailbox goes from empty to non-empty, and it drains everything
 * queued in one go. Returns 0; SB_ENOMEM when the mailbox holds SB_LOOP_MAILBOX_MAX closures;
 * SB_ESTATE when the loop has exited. On error the closure is not queued: the caller still
 * owns arg. */
#define SB_LOOP_MAILBOX_MAX (1u << 20)
int sb_loop_post(sb_loop_t *loop, sb_loop_fn fn, void *arg);

/* Post and wait for fn to have run; runs fn inline when called on the loop itself. For start-up
 * and teardown only, never on a media path (it blocks the caller). Returns as sb_loop_post. */
int sb_loop_call_sync(sb_loop_t *loop, sb_loop_fn fn, void *arg);

/* Times the loop woke up because its mailbox went from empty to non-empty. Any thread. */
uint64_t sb_loop_wakeups(sb_loop_t *loop);
/* CPU time the loop's thread has used, in ns (its thread CPU clock); -1 when unreadable.
 * Any thread: busy ratios are read from it without touching the loop. */
int64_t sb_loop_cpu_ns(sb_loop_t *loop);

/* Repeating timer every interval_ms on the loop (first firing after interval_ms). Returns the
 * timer id (> 0). Any thread; but remove a timer from the loop thread only, so its callback
 * cannot be running concurrently. */
unsigned sb_loop_timer_add(sb_loop_t *loop, unsigned interval_ms, sb_loop_timer_fn fn, void *arg);
/* Remove a timer; fn will not be called again. Returns 0 or SB_ENOENT (already gone). */
int sb_loop_timer_remove(sb_loop_t *loop, unsigned id);

#endif
