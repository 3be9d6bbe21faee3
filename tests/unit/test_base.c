/* Unit tests for src/base: ids, the bounded FIFO, log level parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "switchboard/alloc.h"
#include "base/fifo.h"
#include "switchboard/id.h"
#include "base/log.h"

static void test_id_below_2_53_and_carries_node(void **state)
{
    (void)state;
    for (unsigned node = 0; node <= 255; node += 51) {
        for (int i = 0; i < 1000; i++) {
            uint64_t id = sb_id_new(node);
            assert_true(id != 0);
            assert_true(id <= SB_ID_MAX);
            assert_int_equal(sb_id_node(id), node);
        }
    }
    assert_true(sb_id_new(255) <= SB_ID_MAX);
}

static void test_id_random(void **state)
{
    (void)state;
    /* 1000 draws of 45 random bits: a repeat means the generator is broken. */
    uint64_t ids[1000];
    for (int i = 0; i < 1000; i++) {
        ids[i] = sb_id_new(7);
        for (int j = 0; j < i; j++)
            assert_true(ids[i] != ids[j]);
    }
}

static int freed;
static void count_free(void *p)
{
    freed++;
    sb_free(p);
}

static int *boxed(int v)
{
    int *p = sb_malloc(sizeof(int));
    *p = v;
    return p;
}

static void test_fifo_order_and_bound(void **state)
{
    (void)state;
    sb_fifo_t f;
    freed = 0;
    sb_fifo_init(&f, 5, count_free);
    assert_null(sb_fifo_pop(&f));
    for (int i = 0; i < 5; i++)
        assert_int_equal(sb_fifo_push(&f, boxed(i)), 0);
    assert_int_equal(sb_fifo_len(&f), 5);
    /* Full: the oldest (0, then 1) goes. */
    assert_int_equal(sb_fifo_push(&f, boxed(5)), 1);
    assert_int_equal(sb_fifo_push(&f, boxed(6)), 1);
    assert_int_equal(freed, 2);
    assert_int_equal(f.dropped, 2);
    for (int want = 2; want <= 6; want++) {
        int *p = sb_fifo_pop(&f);
        assert_non_null(p);
        assert_int_equal(*p, want);
        sb_free(p);
    }
    assert_null(sb_fifo_pop(&f));
    sb_fifo_deinit(&f);
}

static void test_fifo_wraps_while_growing(void **state)
{
    (void)state;
    sb_fifo_t f;
    freed = 0;
    sb_fifo_init(&f, 101, count_free);
    int next_in = 0, next_out = 0;
    /* Interleave pushes and pops so head moves while storage grows. */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 3; i++)
            sb_fifo_push(&f, boxed(next_in++));
        int *p = sb_fifo_pop(&f);
        assert_int_equal(*p, next_out++);
        sb_free(p);
    }
    assert_int_equal(sb_fifo_len(&f), 100);
    assert_int_equal(freed, 0);
    sb_fifo_deinit(&f);
    assert_int_equal(freed, 100);
}

static void test_log_level_parse(void **state)
{
    (void)state;
    assert_int_equal(sb_log_level_parse("error"), SB_LOG_ERROR);
    assert_int_equal(sb_log_level_parse("WARN"), SB_LOG_WARN);
    assert_int_equal(sb_log_level_parse("trace"), SB_LOG_TRACE);
    assert_int_equal(sb_log_level_parse("3"), SB_LOG_DEBUG);
    assert_int_equal(sb_log_level_parse("5"), -1);
    assert_int_equal(sb_log_level_parse("verbose"), -1);
    assert_int_equal(sb_log_level_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_below_2_53_and_carries_node),
        cmocka_unit_test(test_id_random),
        cmocka_unit_test(test_fifo_order_and_bound),
        cmocka_unit_test(test_fifo_wraps_while_growing),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
