/* Private GMainContexts run inside a loop, each iterated only when it has work.
 *
 * Why: GLib walks every source of a context at every iteration. A libnice agent keeps two or
 * three timers and a socket source in its context, so a media loop with N PeerConnections
 * paid O(N) per wake-up, that is per packet received (measured: 157 sources at fan-out 50).
 * Here each agent gets a context of its own (a subctx); the loop's context holds one
 * scheduler: the subctxs' fds sit in the loop's epoll (loop/fdwatch.h), their next timeouts
 * in a heap behind one GSource whose ready time is the earliest. A wake-up costs O(ready).
 *
 * A subctx is iterated by hand (prepare, query, check, dispatch), which tells its fds and its
 * next timeout; the loop's epoll says which fd is ready, so a run polls nothing itself. After
 * calling into the library that owns the subctx from outside an iteration (it may have added
 * a source), call sb_subctx_touch.
 *
 * Thread: the thread iterating the loop's context, for every call and callback. */
#ifndef SB_LOOP_SUBCTX_H
#define SB_LOOP_SUBCTX_H

#include <glib.h>
#include <stdbool.h>

typedef struct sb_subctx sb_subctx_t;
typedef struct sb_subctx_sched sb_subctx_sched_t;

/* A scheduler attached to ctx. Returns 0 and *out (owned), or SB_EIO. */
int sb_subctx_sched_new(GMainContext *ctx, sb_subctx_sched_t **out);
/* Detaches it and frees every subctx still in it (lingering ones included). */
void sb_subctx_sched_free(sb_subctx_sched_t *s);
/* Subctxs in the scheduler, lingering ones included (tests and stats). */
unsigned sb_subctx_sched_count(const sb_subctx_sched_t *s);

/* The watch whose epoll holds the subctxs' fds: other fds of the loop may join it. */
struct sb_fdwatch;
struct sb_fdwatch *sb_subctx_sched_watch(sb_subctx_sched_t *s);

/* A new empty context, scheduled by s. Owned by the caller until sb_subctx_free or
 * sb_subctx_linger. */
sb_subctx_t *sb_subctx_new(sb_subctx_sched_t *s);
/* Its GMainContext (borrowed): give it to the library as its main context. */
GMainContext *sb_subctx_context(sb_subctx_t *c);
/* Iterate it at the loop's next iteration (sources may have been added from outside). */
void sb_subctx_touch(sb_subctx_t *c);
/* Iterate it now (not when held): every ready source runs, repeated while sources were ready
 * (a burst of datagrams is read in one go). A call from inside its own iteration asks for one
 * more pass. */
void sb_subctx_run(sb_subctx_t *c);
/* Frees it now (its context is unreffed; sources still in it never run again). Not from
 * inside its own iteration. NULL is a no-op. */
void sb_subctx_free(sb_subctx_t *c);
/* The owner lets go, but the subctx keeps being iterated (an asynchronous close in it) until
 * sb_subctx_done is called from one of its callbacks, or max_us have passed; then it is
 * freed. */
void sb_subctx_linger(sb_subctx_t *c, gint64 max_us);
/* Holding a subctx whose library has nothing to do for a while (a libnice agent whose
 * selected pair we read ourselves: its consent and keep-alive timers would only run for
 * nothing): it is not iterated, its fds leave the loop's epoll and sb_subctx_touch does
 * nothing. Instead tick(arg, now) is called at `first` (g_get_monotonic_time µs, on the grid
 * of far deadlines) and returns when to call it next; it must not free c. sb_subctx_release
 * (the tick may call it) iterates it again at the loop's next iteration: its timers overdue
 * by then fire once. Also from inside its own iteration; not on a lingering one
 * (sb_subctx_linger releases). */
typedef gint64 (*sb_subctx_tick_fn)(void *arg, gint64 now);
void sb_subctx_hold(sb_subctx_t *c, sb_subctx_tick_fn tick, void *arg, gint64 first);
void sb_subctx_release(sb_subctx_t *c);
bool sb_subctx_held(const sb_subctx_t *c);
void sb_subctx_done(sb_subctx_t *c);

#endif
