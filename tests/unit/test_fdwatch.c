/* loop/fdwatch: readiness through one GSource, level-triggered; removal of another ready entry
 * (and of itself) from inside a callback; an fd number closed and reused by a newer entry;
 * free with entries left; owning the context's poll (one epoll_wait per iteration, the
 * context's own fd sources and timeouts as before). Runs a private GMainContext on the test
 * thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "loop/fdwatch.h"

typedef struct {
    int fd;
    unsigned calls;
    bool drain;                   /* read the eventfd, so it stops being ready */
    sb_fdwatch_t *w;
    sb_fdwatch_entry_t *self;
    sb_fdwatch_entry_t **victim;  /* removed (and cleared) at the first call */
} watcher_t;

static void on_ready(void *arg)
{
    watcher_t *x = arg;
    x->calls++;
    if (x->drain) {
        uint64_t v;
        assert_int_equal(read(x->fd, &v, sizeof(v)), sizeof(v));
    }
    if (x->victim && *x->victim) {
        sb_fdwatch_remove(x->w, *x->victim);
        *x->victim = NULL;
    }
}

static int new_ready_fd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(fd >= 0);
    uint64_t one = 1;
    assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
    return fd;
}

static void iterate(GMainContext *ctx, int times)
{
    for (int i = 0; i < times; i++)
        g_main_context_iteration(ctx, FALSE);
}

static void test_ready_level_triggered(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    sb_fdwatch_t *w = NULL;
    assert_int_equal(sb_fdwatch_new(ctx, &w), 0);
    watcher_t a = {.fd = new_ready_fd()}, b = {.fd = eventfd(0, EFD_NONBLOCK)};
    sb_fdwatch_entry_t *ea = sb_fdwatch_add(w, a.fd, on_ready, &a);
    sb_fdwatch_entry_t *eb = sb_fdwatch_add(w, b.fd, on_ready, &b);
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(sb_fdwatch_count(w), 2);
    iterate(ctx, 3);
    assert_int_equal(a.calls, 3); /* still readable: called at every iteration */
    assert_int_equal(b.calls, 0); /* never readable */
    uint64_t one = 1;
    assert_int_equal(write(b.fd, &one, sizeof(one)), sizeof(one));
    b.drain = true; /* reads the eventfd at its call, so it stops being ready */
    iterate(ctx, 3);
    assert_int_equal(b.calls, 1); /* drained at its call */
    assert_int_equal(a.calls, 6);
    sb_fdwatch_remove(w, ea);
    iterate(ctx, 2);
    assert_int_equal(a.calls, 6); /* removed: silent although still readable */
    assert_int_equal(sb_fdwatch_count(w), 1);
    /* Invalid input. */
    assert_null(sb_fdwatch_add(w, -1, on_ready, &a));
    assert_null(sb_fdwatch_add(w, a.fd, NULL, &a));
    int closed = eventfd(0, 0);
    close(closed);
    assert_null(sb_fdwatch_add(w, closed, on_ready, &a));
    sb_fdwatch_remove(w, NULL);
    sb_fdwatch_free(w); /* with eb still in it */
    close(a.fd);
    close(b.fd);
    g_main_context_unref(ctx);
}

/* Two ready entries; whichever runs first removes the other, which must not run. Then one
 * that removes itself. */
static void test_remove_inside_callback(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    sb_fdwatch_t *w = NULL;
    assert_int_equal(sb_fdwatch_new(ctx, &w), 0);
    watcher_t a = {.fd = new_ready_fd(), .w = w}, b = {.fd = new_ready_fd(), .w = w};
    sb_fdwatch_entry_t *ea = sb_fdwatch_add(w, a.fd, on_ready, &a);
    sb_fdwatch_entry_t *eb = sb_fdwatch_add(w, b.fd, on_ready, &b);
    a.victim = &eb;
    b.victim = &ea;
    iterate(ctx, 1);
    assert_int_equal(a.calls + b.calls, 1);
    assert_int_equal(sb_fdwatch_count(w), 1);
    sb_fdwatch_entry_t *left = ea ? ea : eb;
    watcher_t *lw = ea ? &a : &b;
    lw->victim = NULL;
    iterate(ctx, 1);
    assert_int_equal(lw->calls, 2);
    /* Self-removal. */
    sb_fdwatch_entry_t *self = left;
    lw->victim = &self;
    iterate(ctx, 1);
    assert_int_equal(lw->calls, 3);
    assert_null(self);
    assert_int_equal(sb_fdwatch_count(w), 0);
    iterate(ctx, 2);
    assert_int_equal(lw->calls, 3);
    sb_fdwatch_free(w);
    close(a.fd);
    close(b.fd);
    g_main_context_unref(ctx);
}

/* An entry's fd is closed without removal (it leaves epoll), the number is reused for a new
 * entry, then the stale entry is removed: the new registration must survive. */
static void test_fd_number_reused(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    sb_fdwatch_t *w = NULL;
    assert_int_equal(sb_fdwatch_new(ctx, &w), 0);
    watcher_t old = {.fd = eventfd(0, EFD_NONBLOCK)};
    sb_fdwatch_entry_t *eold = sb_fdwatch_add(w, old.fd, on_ready, &old);
    assert_non_null(eold);
    close(old.fd);
    watcher_t fresh = {.fd = new_ready_fd()};
    assert_int_equal(fresh.fd, old.fd); /* the lowest free number */
    sb_fdwatch_entry_t *efresh = sb_fdwatch_add(w, fresh.fd, on_ready, &fresh);
    assert_non_null(efresh);
    sb_fdwatch_remove(w, eold);
    iterate(ctx, 2);
    assert_int_equal(fresh.calls, 2);
    assert_int_equal(old.calls, 0);
    /* The same fd added twice (no close between): the newer entry gets the events. */
    watcher_t twin = {.fd = fresh.fd};
    sb_fdwatch_entry_t *etwin = sb_fdwatch_add(w, fresh.fd, on_ready, &twin);
    assert_non_null(etwin);
    assert_false(sb_fdwatch_entry_active(w, efresh));
    assert_true(sb_fdwatch_entry_active(w, etwin));
    iterate(ctx, 1);
    assert_int_equal(twin.calls, 1);
    assert_int_equal(fresh.calls, 2);
    sb_fdwatch_remove(w, efresh); /* not the owner any more: twin keeps its registration */
    iterate(ctx, 1);
    assert_int_equal(twin.calls, 2);
    sb_fdwatch_remove(w, etwin);
    iterate(ctx, 1);
    assert_int_equal(twin.calls, 2);
    sb_fdwatch_free(w);
    close(fresh.fd);
    g_main_context_unref(ctx);
}

static gboolean on_glib_fd(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    uint64_t v;
    assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
    (*(unsigned *)data)++;
    return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
    (*(unsigned *)data)++;
    return G_SOURCE_REMOVE;
}

/* The watch owns the context's poll: an iteration with an entry ready is one epoll_wait (the
 * poll's; the dispatch takes what it found); the context's own fd source and a timeout still
 * work; a source gone leaves the epoll (its fd, still readable, wakes nothing). */
static void test_owned_poll(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    sb_fdwatch_t *w = NULL;
    assert_int_equal(sb_fdwatch_new(ctx, &w), 0);
    assert_true(sb_fdwatch_own_poll(w));
    watcher_t a = {.fd = new_ready_fd(), .drain = true};
    assert_non_null(sb_fdwatch_add(w, a.fd, on_ready, &a));
    uint64_t before = sb_fdwatch_waits(w);
    g_main_context_iteration(ctx, FALSE);
    assert_int_equal(a.calls, 1);
    assert_int_equal(sb_fdwatch_waits(w) - before, 1);
    /* A GLib fd source of the context: woken through the same epoll. */
    unsigned glib_calls = 0;
    int g = new_ready_fd();
    GSource *src = g_unix_fd_source_new(g, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_glib_fd), &glib_calls, NULL);
    g_source_attach(src, ctx);
    g_main_context_iteration(ctx, FALSE);
    assert_int_equal(glib_calls, 1);
    assert_int_equal(a.calls, 1); /* drained: not called again */
    /* Blocking iterations: a timeout ends the wait, then a readable entry does. */
    unsigned fired = 0;
    GSource *t = g_timeout_source_new(20);
    g_source_set_callback(t, on_timeout, &fired, NULL);
    g_source_attach(t, ctx);
    g_source_unref(t);
    while (!fired)
        g_main_context_iteration(ctx, TRUE);
    uint64_t one = 1;
    assert_int_equal(write(a.fd, &one, sizeof(one)), sizeof(one));
    g_main_context_iteration(ctx, TRUE);
    assert_int_equal(a.calls, 2);
    /* The source goes; its fd, readable again, must not keep waking the context. */
    g_source_destroy(src);
    g_source_unref(src);
    assert_int_equal(write(g, &one, sizeof(one)), sizeof(one));
    g_main_context_iteration(ctx, FALSE);
    before = sb_fdwatch_waits(w);
    assert_false(g_main_context_iteration(ctx, FALSE));
    assert_int_equal(sb_fdwatch_waits(w) - before, 1);
    assert_int_equal(glib_calls, 1);
    sb_fdwatch_free(w); /* gives the context its poll back */
    assert_true(g_main_context_get_poll_func(ctx) == g_poll);
    close(a.fd);
    close(g);
    g_main_context_unref(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_level_triggered),
        cmocka_unit_test(test_remove_inside_callback),
        cmocka_unit_test(test_fd_number_reused),
        cmocka_unit_test(test_owned_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
