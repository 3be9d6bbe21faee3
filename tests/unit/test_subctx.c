/* loop/subctx: private contexts run by a scheduler on a main context. Timers fire on time
 * (not before, nor long after; those a second or more away together, on a 250 ms grid)
 * though only the main context is iterated; an fd source fires when readable, and its
 * dispatch wakes nothing more; a source added from outside runs after sb_subctx_touch; a
 * lingering subctx keeps running until done (or its time is up) and is then freed; nested
 * runs are safe; a held one runs none of its sources, only its tick, until released. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib-unix.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop/fdwatch.h"
#include "loop/subctx.h"

static GMainContext *main_ctx;
static sb_subctx_sched_t *sched;

static int setup(void **state)
{
    (void)state;
    main_ctx = g_main_context_new();
    return sb_subctx_sched_new(main_ctx, &sched);
}

static int teardown(void **state)
{
    (void)state;
    sb_subctx_sched_free(sched);
    g_main_context_unref(main_ctx);
    return 0;
}

/* Iterate the main context (blocking) until *flag or the deadline. */
static bool pump_until(const bool *flag, gint64 max_us)
{
    gint64 end = g_get_monotonic_time() + max_us;
    while (!*flag && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(main_ctx, FALSE))
            g_usleep(200);
    }
    return *flag;
}

typedef struct {
    bool fired;
    gint64 at;
    unsigned count;
    sb_subctx_t *done_on_fire; /* sb_subctx_done on it when fired */
    sb_subctx_t *run_inside;   /* sb_subctx_run on it when fired (nested run) */
} hit_t;

static gboolean on_hit(gpointer arg)
{
    hit_t *h = arg;
    h->fired = true;
    h->at = g_get_monotonic_time();
    h->count++;
    if (h->run_inside)
        sb_subctx_run(h->run_inside);
    if (h->done_on_fire)
        sb_subctx_done(h->done_on_fire);
    return G_SOURCE_REMOVE;
}

static void test_timer_on_time(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t h = {0};
    GSource *t = g_timeout_source_new(40);
    g_source_set_callback(t, on_hit, &h, NULL);
    g_source_attach(t, sb_subctx_context(c));
    g_source_unref(t);
    gint64 t0 = g_get_monotonic_time();
    sb_subctx_touch(c); /* a source was added from outside */
    assert_true(pump_until(&h.fired, 2000000));
    gint64 ms = (h.at - t0) / 1000;
    assert_true(ms >= 39);
    assert_true(ms < 300);
    assert_int_equal(h.count, 1);
    assert_int_equal(sb_subctx_sched_count(sched), 1);
    sb_subctx_free(c);
    assert_int_equal(sb_subctx_sched_count(sched), 0);
}

/* Timers a second or so away, in two agents' contexts and 180 ms apart, fire together at the
 * next point of the 250 ms grid (not before their time): a loop with many idle agents wakes
 * a few times a second for them. */
static void test_far_timers_coalesced(void **state)
{
    (void)state;
    sb_subctx_t *c[2];
    hit_t h[2] = {{0}};
    gint64 t0 = g_get_monotonic_time();
    gint64 grid = (t0 + 1200000 + 249999) / 250000 * 250000;
    const gint64 due[2] = {grid - 200000, grid - 20000};
    for (int i = 0; i < 2; i++) {
        c[i] = sb_subctx_new(sched);
        GSource *t = g_timeout_source_new((guint)((due[i] - t0) / 1000));
        g_source_set_callback(t, on_hit, &h[i], NULL);
        g_source_attach(t, sb_subctx_context(c[i]));
        g_source_unref(t);
        sb_subctx_touch(c[i]);
    }
    assert_true(pump_until(&h[1].fired, 3000000));
    assert_true(h[0].fired);
    for (int i = 0; i < 2; i++) {
        assert_true(h[i].at >= grid);
        assert_true(h[i].at < grid + 50000);
    }
    for (int i = 0; i < 2; i++)
        sb_subctx_free(c[i]);
}

/* Without the touch, the idle source is only found by the next run: none comes. With it, it
 * runs at the next main iteration. */
static void test_touch_needed(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t h = {0};
    GSource *idle = g_idle_source_new();
    g_source_set_callback(idle, on_hit, &h, NULL);
    g_source_attach(idle, sb_subctx_context(c));
    g_source_unref(idle);
    assert_false(pump_until(&h.fired, 100000));
    sb_subctx_touch(c);
    assert_true(pump_until(&h.fired, 1000000));
    sb_subctx_free(c);
}

static unsigned borrowed_reads;

static gboolean on_fd(gint fd, GIOCondition cond, gpointer arg)
{
    (void)cond;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return G_SOURCE_CONTINUE;
    on_hit(arg);
    return G_SOURCE_CONTINUE;
}

/* A source in c calling on_fd when fd is readable. */
static GSource *fd_source(sb_subctx_t *c, int fd, hit_t *h)
{
    GSource *src = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_fd), h, NULL);
    g_source_attach(src, sb_subctx_context(c));
    return src;
}

/* An fd source: watched after the first run, dispatched when readable, several times. */
static void test_fd_source(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t h = {0};
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    GSource *src = fd_source(c, fd, &h);
    sb_subctx_run(c); /* learns the fd */
    assert_false(pump_until(&h.fired, 50000));
    for (unsigned i = 1; i <= 3; i++) {
        uint64_t one = 1;
        assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
        h.fired = false;
        assert_true(pump_until(&h.fired, 1000000));
        assert_int_equal(h.count, i);
        /* The dispatch woke nothing: GLib did not take the fd out of the poll set and put it
         * back (each a write to the subctx's wake-up fd, a spurious run after). */
        assert_false(g_main_context_iteration(main_ctx, FALSE));
    }
    g_source_destroy(src);
    g_source_unref(src);
    sb_subctx_free(c);
    close(fd);
}

static void on_borrowed(void *arg)
{
    uint64_t v;
    if (read(*(int *)arg, &v, sizeof(v)) == sizeof(v))
        borrowed_reads++;
}

/* Someone else reads a subctx's fd for a while (ice_fast.c, with libnice's socket source
 * parked elsewhere meanwhile): their entry takes the fd in the loop's watch. When they give it
 * back and the source returns, the subctx watches the fd again, though it never ran in
 * between (so never saw the fd leave its poll set). */
static void test_fd_taken_and_given_back(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t h = {0};
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    GSource *src = fd_source(c, fd, &h);
    sb_subctx_run(c); /* learns the fd */
    g_source_destroy(src); /* parked: not in the subctx while borrowed */
    g_source_unref(src);
    sb_fdwatch_t *w = sb_subctx_sched_watch(sched);
    sb_fdwatch_entry_t *mine = sb_fdwatch_add(w, fd, on_borrowed, &fd);
    assert_non_null(mine);
    uint64_t one = 1;
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    for (int i = 0; i < 50 && !borrowed_reads; i++) {
        g_main_context_iteration(main_ctx, FALSE);
        g_usleep(1000);
    }
    assert_int_equal(borrowed_reads, 1);
    assert_true(sb_fdwatch_entry_active(w, mine));
    sb_fdwatch_remove(w, mine);
    src = fd_source(c, fd, &h); /* back in the subctx */
    sb_subctx_touch(c);
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    assert_true(pump_until(&h.fired, 1000000));
    assert_int_equal(h.count, 1);
    assert_int_equal(borrowed_reads, 1);
    g_source_destroy(src);
    g_source_unref(src);
    sb_subctx_free(c);
    close(fd);
}

/* Lingering: keeps running (its timer fires after the owner let go), freed once done is
 * called from its callback; another is freed when its time is up. A nested run is safe. */
static void test_linger(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t h = {0};
    h.done_on_fire = c;
    h.run_inside = c;
    GSource *t = g_timeout_source_new(20);
    g_source_set_callback(t, on_hit, &h, NULL);
    g_source_attach(t, sb_subctx_context(c));
    g_source_unref(t);
    sb_subctx_linger(c, 5000000);
    assert_true(pump_until(&h.fired, 2000000));
    g_main_context_iteration(main_ctx, FALSE);
    assert_int_equal(sb_subctx_sched_count(sched), 0);

    sb_subctx_t *d = sb_subctx_new(sched);
    hit_t never = {0};
    GSource *late = g_timeout_source_new(10000);
    g_source_set_callback(late, on_hit, &never, NULL);
    g_source_attach(late, sb_subctx_context(d));
    g_source_unref(late);
    sb_subctx_linger(d, 60000);
    bool gone = false;
    gint64 end = g_get_monotonic_time() + 2000000;
    while (!gone && g_get_monotonic_time() < end) {
        g_main_context_iteration(main_ctx, TRUE);
        gone = sb_subctx_sched_count(sched) == 0;
    }
    assert_true(gone);
    assert_false(never.fired);
}

/* Many subctxs with spread timers: each fires once, in deadline order. */
static void test_many_in_order(void **state)
{
    (void)state;
    enum { N = 40 };
    sb_subctx_t *c[N];
    hit_t h[N];
    for (int i = 0; i < N; i++) {
        c[i] = sb_subctx_new(sched);
        h[i] = (hit_t){0};
        GSource *t = g_timeout_source_new((guint)(10 + ((i * 7) % N) * 5));
        g_source_set_callback(t, on_hit, &h[i], NULL);
        g_source_attach(t, sb_subctx_context(c[i]));
        g_source_unref(t);
        sb_subctx_touch(c[i]);
    }
    bool all = false;
    gint64 end = g_get_monotonic_time() + 3000000;
    while (!all && g_get_monotonic_time() < end) {
        g_main_context_iteration(main_ctx, TRUE);
        all = true;
        for (int i = 0; i < N; i++)
            all = all && h[i].fired;
    }
    assert_true(all);
    for (int i = 0; i < N; i++) {
        assert_int_equal(h[i].count, 1);
        for (int j = 0; j < N; j++) {
            /* a deadline 2 steps (10 ms) earlier never fired later */
            if (((i * 7) % N) + 2 <= ((j * 7) % N))
                assert_true(h[i].at <= h[j].at);
        }
    }
    for (int i = 0; i < N; i++)
        sb_subctx_free(c[i]);
}

typedef struct {
    unsigned ticks;
    gint64 at;
    sb_subctx_t *release_at; /* released by its third tick */
} tick_t;

static gint64 on_tick(void *arg, gint64 now)
{
    tick_t *t = arg;
    t->ticks++;
    t->at = now;
    if (t->ticks == 3 && t->release_at)
        sb_subctx_release(t->release_at);
    return now + 30000;
}

/* Held: neither its timer nor its readable fd runs it (nor wakes the loop for nothing: the fd
 * left the epoll), a touch does nothing, the tick comes every 30 ms. Released by its tick: the
 * overdue timer fires once and the fd is read. */
static void test_hold(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    hit_t timer = {0}, fd_hit = {0};
    GSource *t = g_timeout_source_new(10);
    g_source_set_callback(t, on_hit, &timer, NULL);
    g_source_attach(t, sb_subctx_context(c));
    g_source_unref(t);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    GSource *src = fd_source(c, fd, &fd_hit);
    sb_subctx_run(c); /* learns the fd */
    tick_t tk = {0};
    gint64 t0 = g_get_monotonic_time();
    sb_subctx_hold(c, on_tick, &tk, t0 + 30000);
    assert_true(sb_subctx_held(c));
    uint64_t one = 1;
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    sb_subctx_touch(c);
    sb_subctx_run(c);
    gint64 end = t0 + 2000000;
    while (tk.ticks < 2 && g_get_monotonic_time() < end)
        g_main_context_iteration(main_ctx, TRUE);
    assert_int_equal(tk.ticks, 2);
    assert_true(tk.at - t0 >= 60000); /* on time, not driven by the readable fd */
    assert_false(timer.fired);
    assert_false(fd_hit.fired);
    tk.release_at = c;
    assert_true(pump_until(&fd_hit.fired, 1000000));
    assert_true(pump_until(&timer.fired, 1000000));
    assert_false(sb_subctx_held(c));
    assert_int_equal(tk.ticks, 3);
    assert_int_equal(timer.count, 1);
    assert_int_equal(fd_hit.count, 1);
    g_source_destroy(src);
    g_source_unref(src);
    sb_subctx_free(c);
    close(fd);
}

static tick_t hold_inside_tick;
static unsigned hold_inside_fired;

static gboolean hold_inside(gpointer arg)
{
    hold_inside_fired++;
    sb_subctx_hold(arg, on_tick, &hold_inside_tick, g_get_monotonic_time() + 30000);
    return G_SOURCE_CONTINUE;
}

/* Held from inside its own iteration (libnice selects the pair from a timer of its own): the
 * run ends parked, and its timer, due again at once, does not fire again. */
static void test_hold_inside_run(void **state)
{
    (void)state;
    sb_subctx_t *c = sb_subctx_new(sched);
    GSource *t = g_timeout_source_new(5);
    g_source_set_callback(t, hold_inside, c, NULL);
    g_source_attach(t, sb_subctx_context(c));
    g_source_unref(t);
    hold_inside_tick = (tick_t){0};
    hold_inside_fired = 0;
    sb_subctx_touch(c);
    gint64 end = g_get_monotonic_time() + 2000000;
    while (hold_inside_tick.ticks < 3 && g_get_monotonic_time() < end)
        g_main_context_iteration(main_ctx, TRUE);
    assert_int_equal(hold_inside_tick.ticks, 3);
    assert_int_equal(hold_inside_fired, 1);
    assert_true(sb_subctx_held(c));
    sb_subctx_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_on_time),  cmocka_unit_test(test_touch_needed),
        cmocka_unit_test(test_fd_source),      cmocka_unit_test(test_linger),
        cmocka_unit_test(test_many_in_order),  cmocka_unit_test(test_fd_taken_and_given_back),
        cmocka_unit_test(test_far_timers_coalesced), cmocka_unit_test(test_hold),
        cmocka_unit_test(test_hold_inside_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
