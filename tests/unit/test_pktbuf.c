/* Packet buffer pools: refcounts, reuse without malloc after warm-up, the max bound,
 * release on another thread going back to the owner pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "switchboard/error.h"
#include "loop/pktbuf.h"

static void test_alloc_ref_unref(void **state)
{
    (void)state;
    sb_pktbuf_pool_t *pool;
    assert_int_equal(sb_pktbuf_pool_new(0, &pool), 0);
    sb_pktbuf_t *b = sb_pktbuf_alloc(pool);
    assert_non_null(b);
    assert_ptr_equal(b->data, b->buf);
    assert_int_equal(b->len, 0);
    assert_int_equal(sb_pktbuf_room(b), SB_PKTBUF_SIZE);
    memset(b->data, 0xab, 1500);
    b->len = 1500;
    sb_pktbuf_ref(b);
    sb_pktbuf_unref(b);
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(pool, &st);
    assert_int_equal(st.free_local, st.total - 1); /* still held once */
    sb_pktbuf_unref(b);
    sb_pktbuf_pool_stats(pool, &st);
    assert_int_equal(st.free_local, st.total);
    assert_int_equal(st.slabs, 1);
    sb_pktbuf_pool_free(pool);
}

/* After a warm-up that reaches the peak, a long steady state allocates no slab. */
static void test_reuse_without_malloc(void **state)
{
    (void)state;
    sb_pktbuf_pool_t *pool;
    sb_pktbuf_pool_new(0, &pool);
    enum { PEAK = 300 };
    sb_pktbuf_t *held[PEAK];
    for (int i = 0; i < PEAK; i++)
        held[i] = sb_pktbuf_alloc(pool);
    for (int i = 0; i < PEAK; i++)
        sb_pktbuf_unref(held[i]);
    sb_pktbuf_stats_t warm;
    sb_pktbuf_pool_stats(pool, &warm);
    assert_int_equal(warm.slabs, (PEAK + SB_PKTBUF_SLAB - 1) / SB_PKTBUF_SLAB);

    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < PEAK; i++) {
            held[i] = sb_pktbuf_alloc(pool);
            held[i]->len = (uint32_t)i;
        }
        for (int i = 0; i < PEAK; i++)
            sb_pktbuf_unref(held[i]);
    }
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(pool, &st);
    assert_int_equal(st.slabs, warm.slabs);
    assert_int_equal(st.total, warm.total);
    assert_int_equal(st.free_local, st.total);
    sb_pktbuf_pool_free(pool);
}

static void test_max_bound(void **state)
{
    (void)state;
    sb_pktbuf_pool_t *pool;
    sb_pktbuf_pool_new(SB_PKTBUF_SLAB * 2, &pool);
    sb_pktbuf_t *held[SB_PKTBUF_SLAB * 2];
    for (int i = 0; i < SB_PKTBUF_SLAB * 2; i++)
        assert_non_null(held[i] = sb_pktbuf_alloc(pool));
    assert_null(sb_pktbuf_alloc(pool));
    sb_pktbuf_unref(held[7]);
    held[7] = sb_pktbuf_alloc(pool);
    assert_non_null(held[7]);
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(pool, &st);
    assert_int_equal(st.alloc_failures, 1);
    for (int i = 0; i < SB_PKTBUF_SLAB * 2; i++)
        sb_pktbuf_unref(held[i]);
    sb_pktbuf_pool_free(pool);
}

#define XFER 20000

typedef struct {
    sb_pktbuf_t **bufs;
    int from, to;
} releaser_t;

static void *release_elsewhere(void *arg)
{
    releaser_t *r = arg;
    for (int i = r->from; i < r->to; i++)
        sb_pktbuf_unref(r->bufs[i]);
    return NULL;
}

/* Buffers released on two other threads come back to the owner, with no new slab. */
static void test_cross_thread_release(void **state)
{
    (void)state;
    sb_pktbuf_pool_t *pool;
    sb_pktbuf_pool_new(0, &pool);
    static sb_pktbuf_t *bufs[XFER];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < XFER; i++) {
            bufs[i] = sb_pktbuf_alloc(pool);
            assert_non_null(bufs[i]);
            bufs[i]->data[0] = (uint8_t)i;
            bufs[i]->len = 1;
            if (i % 2)
                sb_pktbuf_ref(bufs[i]); /* a second holder: the owner releases later */
        }
        releaser_t a = {bufs, 0, XFER / 2}, b = {bufs, XFER / 2, XFER};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, release_elsewhere, &a);
        pthread_create(&tb, NULL, release_elsewhere, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        for (int i = 1; i < XFER; i += 2) {
            assert_int_equal(bufs[i]->data[0], (uint8_t)i); /* still ours: not recycled */
            sb_pktbuf_unref(bufs[i]);
        }
    }
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(pool, &st);
    assert_int_equal(st.free_local, st.total);
    assert_int_equal(st.slabs, (XFER + SB_PKTBUF_SLAB - 1) / SB_PKTBUF_SLAB);
    assert_true(st.remote_returns >= 3 * XFER / 2);
    sb_pktbuf_pool_free(pool);
}

typedef struct {
    sb_pktbuf_pool_t *pool;
    sb_pktbuf_t *held;
} owner_t;

static void *owner_thread(void *arg)
{
    owner_t *o = arg;
    sb_pktbuf_pool_new(0, &o->pool);
    o->held = sb_pktbuf_alloc(o->pool);
    return NULL;
}

/* sb_pktbuf_pool_free(pool) with stderr captured: whether it warned that it leaks the pool
 * (some buffer still held) instead of freeing it. */
static bool pool_free_warns_leak(sb_pktbuf_pool_t *pool)
{
    char out[512] = "";
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    sb_pktbuf_pool_free(pool);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof(out) - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return strstr(out, "leaking") != NULL;
}

/* The owner thread has gone; the last holder returns its buffer (onto the return stack: no
 * thread owns the pool any more), then the pool is freed from here: every buffer is back, so
 * it is freed, not leaked with a warning. */
static void test_free_after_owner_exit(void **state)
{
    (void)state;
    owner_t o = {0};
    pthread_t t;
    pthread_create(&t, NULL, owner_thread, &o);
    pthread_join(t, NULL);
    assert_non_null(o.pool);
    assert_non_null(o.held);
    o.held->len = 10;        /* still valid */
    sb_pktbuf_unref(o.held); /* remote release: onto the return stack */
    /* No owner is left to race with: the stats take the return stack back, as the free does. */
    sb_pktbuf_stats_t st;
    sb_pktbuf_pool_stats(o.pool, &st);
    assert_int_equal(st.remote_returns, 1);
    assert_int_equal(st.slabs, 1);
    assert_int_equal(st.free_local, st.total);
    assert_false(pool_free_warns_leak(o.pool));
}

/* The converse, so that the check above can fail: a pool freed while a buffer is held is
 * leaked on purpose, with the warning (the buffer stays valid for its holder). The buffer is
 * kept in a static, so LeakSanitizer sees that memory as reachable. */
static sb_pktbuf_t *held_past_free;

static void test_free_with_buffer_held_leaks(void **state)
{
    (void)state;
    sb_pktbuf_pool_t *pool;
    assert_int_equal(sb_pktbuf_pool_new(0, &pool), 0);
    held_past_free = sb_pktbuf_alloc(pool);
    assert_non_null(held_past_free);
    assert_true(pool_free_warns_leak(pool));
    held_past_free->len = 1; /* still valid: the pool's memory was kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_ref_unref),
        cmocka_unit_test(test_reuse_without_malloc),
        cmocka_unit_test(test_max_bound),
        cmocka_unit_test(test_cross_thread_release),
        cmocka_unit_test(test_free_after_owner_exit),
        cmocka_unit_test(test_free_with_buffer_held_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
