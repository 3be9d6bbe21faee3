/* Media loops: mailbox order per producer under several producers, wake-only-when-empty,
 * call_sync, timers, pick/bind, thread identity. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "switchboard/error.h"
#include "loop/loop.h"
#include "loop/pktbuf.h"

#define PRODUCERS 4
#define PER_PRODUCER 20000

typedef struct {
    unsigned next[PRODUCERS]; /* loop thread only */
    atomic_uint total;
    atomic_uint out_of_order;
    atomic_uint wrong_thread;
    atomic_uint post_failed;
} order_state_t;

static order_state_t order;
static sb_loop_t *order_loop;

/* arg encodes producer << 24 | sequence */
static void on_item(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    unsigned p = (unsigned)(v >> 24), seq = (unsigned)(v & 0xffffff);
    if (!sb_loop_is_current(order_loop))
        atomic_fetch_add(&order.wrong_thread, 1);
    if (order.next[p] != seq)
        atomic_fetch_add(&order.out_of_order, 1);
    order.next[p] = seq + 1;
    atomic_fetch_add(&order.total, 1);
}

static void *producer(void *arg)
{
    uintptr_t p = (uintptr_t)arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++)
        if (sb_loop_post(order_loop, on_item, (void *)(p << 24 | i)) != 0)
            atomic_fetch_add(&order.post_failed, 1);
    return NULL;
}

static void noop(void *arg)
{
    (void)arg;
}

static int setup(void **state)
{
    (void)state;
    return sb_loops_start(2);
}

static int teardown(void **state)
{
    (void)state;
    sb_loops_stop();
    return 0;
}

static void test_start_count(void **state)
{
    (void)state;
    assert_int_equal(sb_loops_count(), 2);
    assert_non_null(sb_loop_get(0));
    assert_non_null(sb_loop_get(1));
    assert_null(sb_loop_get(2));
    assert_int_equal(sb_loops_start(1), SB_ESTATE);
    assert_false(sb_loop_is_current(sb_loop_get(0)));
    assert_null(sb_loop_current());
    assert_ptr_not_equal(sb_loop_context(sb_loop_get(0)), sb_loop_context(sb_loop_get(1)));
}

static void test_post_order_many_producers(void **state)
{
    (void)state;
    memset(&order, 0, sizeof(order));
    order_loop = sb_loop_get(1);
    pthread_t th[PRODUCERS];
    for (uintptr_t p = 0; p < PRODUCERS; p++)
        pthread_create(&th[p], NULL, producer, (void *)p);
    for (int p = 0; p < PRODUCERS; p++)
        pthread_join(th[p], NULL);
    sb_loop_call_sync(order_loop, noop, NULL); /* FIFO: everything before it has run */
    assert_int_equal(atomic_load(&order.total), PRODUCERS * PER_PRODUCER);
    assert_int_equal(atomic_load(&order.out_of_order), 0);
    assert_int_equal(atomic_load(&order.wrong_thread), 0);
    assert_int_equal(atomic_load(&order.post_failed), 0);
    for (int p = 0; p < PRODUCERS; p++)
        assert_int_equal(order.next[p], PER_PRODUCER);
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, release;
} gate_t;

static void gate_block(void *arg)
{
    gate_t *g = arg;
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->release)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static atomic_uint counted;

static void count_item(void *arg)
{
    (void)arg;
    atomic_fetch_add(&counted, 1);
}

/* While the loop is busy, 1000 posts cost one wake-up, and they all run in one drain. */
static void test_wake_only_when_empty(void **state)
{
    (void)state;
    sb_loop_t *loop = sb_loop_get(0);
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    atomic_store(&counted, 0);
    sb_loop_call_sync(loop, noop, NULL); /* mailbox empty, loop idle */
    uint64_t w0 = sb_loop_wakeups(loop);
    assert_int_equal(sb_loop_post(loop, gate_block, &g), 0);
    pthread_mutex_lock(&g.lock);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    assert_int_equal(sb_loop_wakeups(loop), w0 + 1);

    for (int i = 0; i < 1000; i++)
        assert_int_equal(sb_loop_post(loop, count_item, NULL), 0);
    assert_int_equal(sb_loop_wakeups(loop), w0 + 2); /* only the first of the 1000 woke it */

    pthread_mutex_lock(&g.lock);
    g.release = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    sb_loop_call_sync(loop, noop, NULL);
    assert_int_equal(atomic_load(&counted), 1000);
    /* The call_sync post wakes the loop only if the 1000 were already drained. */
    assert_true(sb_loop_wakeups(loop) <= w0 + 3);
}

static atomic_bool self_ok;

/* cmocka asserts belong to the test thread: record, check there. */
static void post_from_loop(void *arg)
{
    sb_loop_t *loop = arg;
    bool ok = sb_loop_is_current(loop) && sb_loop_current() == loop;
    ok = ok && sb_loop_post(loop, count_item, NULL) == 0;
    ok = ok && atomic_load(&counted) == 0; /* never inline */
    atomic_store(&self_ok, ok);
}

static void test_post_from_loop_itself(void **state)
{
    (void)state;
    sb_loop_t *loop = sb_loop_get(0);
    atomic_store(&counted, 0);
    atomic_store(&self_ok, false);
    sb_loop_call_sync(loop, post_from_loop, loop);
    sb_loop_call_sync(loop, noop, NULL);
    assert_true(atomic_load(&self_ok));
    assert_int_equal(atomic_load(&counted), 1);
}

typedef struct {
    atomic_uint fired;
    unsigned stop_after;
    sb_loop_t *loop;
    atomic_uint wrong_thread;
} timer_state_t;

static bool on_tick(void *arg)
{
    timer_state_t *t = arg;
    if (!sb_loop_is_current(t->loop))
        atomic_fetch_add(&t->wrong_thread, 1);
    unsigned n = atomic_fetch_add(&t->fired, 1) + 1;
    return n < t->stop_after;
}

typedef struct {
    sb_loop_t *loop;
    unsigned id;
    int rc;
} remove_req_t;

static void remove_on_loop(void *arg)
{
    remove_req_t *r = arg;
    r->rc = sb_loop_timer_remove(r->loop, r->id);
}

static void test_timers(void **state)
{
    (void)state;
    sb_loop_t *loop = sb_loop_get(1);
    timer_state_t t = {.stop_after = 3, .loop = loop};
    unsigned id = sb_loop_timer_add(loop, 5, on_tick, &t);
    assert_true(id > 0);
    for (int i = 0; i < 200 && atomic_load(&t.fired) < 3; i++)
        usleep(5000);
    usleep(30000);
    assert_int_equal(atomic_load(&t.fired), 3); /* stopped itself by returning false */
    assert_int_equal(atomic_load(&t.wrong_thread), 0);
    remove_req_t r = {loop, id, 0};
    sb_loop_call_sync(loop, remove_on_loop, &r);
    assert_int_equal(r.rc, SB_ENOENT);

    timer_state_t t2 = {.stop_after = 1000000, .loop = loop};
    r.id = sb_loop_timer_add(loop, 2, on_tick, &t2);
    for (int i = 0; i < 200 && atomic_load(&t2.fired) < 2; i++)
        usleep(5000);
    sb_loop_call_sync(loop, remove_on_loop, &r);
    assert_int_equal(r.rc, 0);
    unsigned fired = atomic_load(&t2.fired);
    assert_true(fired >= 2);
    usleep(20000);
    assert_int_equal(atomic_load(&t2.fired), fired);
}

static void test_pick_bind(void **state)
{
    (void)state;
    sb_loop_t *a = sb_loop_pick();
    assert_ptr_equal(a, sb_loop_get(0)); /* tie: lowest index */
    sb_loop_bind(a);
    sb_loop_t *b = sb_loop_pick();
    assert_ptr_equal(b, sb_loop_get(1));
    sb_loop_bind(b);
    sb_loop_bind(b);
    assert_ptr_equal(sb_loop_pick(), a);
    assert_int_equal(sb_loop_bound_count(b), 2);
    sb_loop_unbind(a);
    sb_loop_unbind(b);
    sb_loop_unbind(b);
    assert_int_equal(sb_loop_bound_count(a), 0);
}

static atomic_bool pool_ok;

static void check_pool(void *arg)
{
    sb_loop_t *loop = arg;
    sb_pktbuf_t *b = sb_pktbuf_alloc(sb_loop_pool(loop));
    atomic_store(&pool_ok, b != NULL);
    if (b)
        sb_pktbuf_unref(b);
}

static void test_loop_pool(void **state)
{
    (void)state;
    sb_loop_call_sync(sb_loop_get(0), check_pool, sb_loop_get(0));
    assert_true(atomic_load(&pool_ok));
}

/* Stop with closures still queued: they run before the loop exits; then posting is refused. */
static void test_stop_drains(void **state)
{
    (void)state;
    sb_loops_stop();
    assert_int_equal(sb_loops_start(1), 0);
    sb_loop_t *loop = sb_loop_get(0);
    gate_t g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, true};
    atomic_store(&counted, 0);
    sb_loop_post(loop, gate_block, &g);
    for (int i = 0; i < 100; i++)
        sb_loop_post(loop, count_item, NULL);
    sb_loops_stop();
    assert_int_equal(atomic_load(&counted), 100);
    assert_int_equal(sb_loops_count(), 0);
    assert_int_equal(sb_loops_start(0), 0);
    assert_true(sb_loops_count() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_count),
        cmocka_unit_test(test_post_order_many_producers),
        cmocka_unit_test(test_wake_only_when_empty),
        cmocka_unit_test(test_post_from_loop_itself),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_pick_bind),
        cmocka_unit_test(test_loop_pool),
        cmocka_unit_test(test_stop_drains),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
