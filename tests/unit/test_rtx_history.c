/* Retransmission history: store/lookup, eviction with release, wrap-around, reordering,
 * duplicates, too old, age limit, resend throttling, jumps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "switchboard/error.h"
#include "proto/rtx_history.h"

#define MS 1000

/* Handles are small integers: seq + 1 (never NULL). released[] counts each release. */
static unsigned released[65537];
static unsigned released_total;

static void on_release(void *ctx, void *handle)
{
    (void)ctx;
    released[(uintptr_t)handle - 1]++;
    released_total++;
}

static uint8_t payload[65536][4];

static sb_rtx_history_t *make(unsigned cap)
{
    memset(released, 0, sizeof(released));
    released_total = 0;
    sb_rtx_history_config_t cfg = {
        .capacity = cap, .max_age_us = 1000 * MS, .min_resend_us = 10 * MS, .release = on_release};
    sb_rtx_history_t *h;
    assert_int_equal(sb_rtx_history_new(&cfg, &h), 0);
    return h;
}

static int put(sb_rtx_history_t *h, uint16_t seq, int64_t now)
{
    payload[seq][0] = (uint8_t)(seq >> 8);
    payload[seq][1] = (uint8_t)seq;
    return sb_rtx_history_put(h, seq, 0x1234, payload[seq], 4, (void *)((uintptr_t)seq + 1), now);
}

static void test_store_lookup_evict(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(8);
    for (uint16_t s = 100; s < 120; s++)
        assert_int_equal(put(h, s, s * MS), 0);
    /* ring of 8: 112..119 remain; 100..111 were released when their slots were reused */
    assert_int_equal(released_total, 12);
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 111, 120 * MS, &e), SB_ENOENT);
    assert_int_equal(sb_rtx_history_lookup(h, 112, 120 * MS, &e), 0);
    assert_int_equal(e.seq, 112);
    assert_int_equal(e.ssrc, 0x1234);
    assert_int_equal(e.len, 4);
    assert_ptr_equal(e.data, payload[112]);
    assert_int_equal(e.arrival_us, 112 * MS);
    assert_int_equal(e.resends, 1);
    assert_int_equal(sb_rtx_history_lookup(h, 119, 120 * MS, &e), 0);
    assert_int_equal(sb_rtx_history_lookup(h, 120, 120 * MS, &e), SB_ENOENT); /* future */
    sb_rtx_history_free(h);
    assert_int_equal(released_total, 20); /* each exactly once */
    for (unsigned s = 100; s < 120; s++)
        assert_int_equal(released[s], 1);
}

static void test_wrap_around(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(64);
    for (uint32_t i = 0; i < 40; i++)
        assert_int_equal(put(h, (uint16_t)(65516 + i), i * MS), 0); /* 65516..65535, 0..19 */
    sb_rtx_entry_t e;
    for (uint32_t i = 0; i < 40; i++) {
        uint16_t s = (uint16_t)(65516 + i);
        assert_int_equal(sb_rtx_history_lookup(h, s, 50 * MS, &e), 0);
        assert_int_equal(e.seq, s);
        assert_int_equal(e.data[0], (uint8_t)(s >> 8));
        assert_int_equal(e.data[1], (uint8_t)s);
    }
    assert_int_equal(sb_rtx_history_lookup(h, 65515, 50 * MS, &e), SB_ENOENT);
    assert_int_equal(sb_rtx_history_lookup(h, 20, 50 * MS, &e), SB_ENOENT);
    sb_rtx_history_free(h);
}

static void test_reorder_duplicate_too_old(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(16);
    assert_int_equal(put(h, 10, 0), 0);
    assert_int_equal(put(h, 13, 0), 0);
    assert_int_equal(put(h, 11, 0), 0); /* late: still in the window */
    assert_int_equal(put(h, 11, 0), SB_EEXIST);
    assert_int_equal(released[11], 0); /* not taken: the caller keeps ownership */
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 11, MS, &e), 0);
    assert_int_equal(sb_rtx_history_lookup(h, 12, MS, &e), SB_ENOENT); /* a gap stays a gap */
    assert_int_equal(put(h, 40, 0), 0);
    assert_int_equal(put(h, 24, 0), SB_ERANGE); /* 40 - 16 */
    assert_int_equal(put(h, 25, 0), 0);
    assert_int_equal(put(h, 65535, 0), SB_ERANGE); /* "before" 0 */
    sb_rtx_history_stats_t st;
    sb_rtx_history_stats(h, &st);
    assert_int_equal(st.stored, 5);
    assert_int_equal(st.rejected, 3);
    sb_rtx_history_free(h);
    assert_int_equal(released_total, 5);
}

static void test_age_and_expire(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(32);
    for (uint16_t s = 0; s < 10; s++)
        put(h, s, s * 100 * MS); /* arrivals 0 .. 900 ms */
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 0, 1000 * MS, &e), 0);         /* exactly 1 s */
    assert_int_equal(sb_rtx_history_lookup(h, 1, 1200 * MS, &e), SB_ENOENT); /* 1.1 s old */
    assert_int_equal(sb_rtx_history_lookup(h, 9, 1200 * MS, &e), 0);
    assert_int_equal(sb_rtx_history_expire(h, 1450 * MS), 5); /* 0..4 */
    assert_int_equal(released_total, 5);
    assert_int_equal(sb_rtx_history_expire(h, 1450 * MS), 0);
    sb_rtx_history_free(h);
    assert_int_equal(released_total, 10);
}

static void test_resend_throttle(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(32);
    put(h, 5, 0);
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 5, 1 * MS, &e), 0);
    assert_int_equal(sb_rtx_history_lookup(h, 5, 5 * MS, &e), SB_EAGAIN);
    assert_int_equal(sb_rtx_history_lookup(h, 5, 11 * MS, &e), 0);
    assert_int_equal(e.resends, 2);
    sb_rtx_history_stats_t st;
    sb_rtx_history_stats(h, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.throttled, 1);
    sb_rtx_history_free(h);
}

/* A jump far ahead leaves older packets unreachable; all are still released exactly once. */
static void test_jump_and_reset(void **state)
{
    (void)state;
    sb_rtx_history_t *h = make(16);
    for (uint16_t s = 0; s < 16; s++)
        put(h, s, 0);
    assert_int_equal(put(h, 20000, 0), 0);
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 15, 0, &e), SB_ENOENT);
    assert_int_equal(sb_rtx_history_lookup(h, 20000, 0, &e), 0);
    assert_int_equal(put(h, 19990, 0), 0); /* late but inside the window */
    sb_rtx_history_reset(h);
    assert_int_equal(released_total, 18);
    assert_int_equal(sb_rtx_history_lookup(h, 20000, 0, &e), SB_ENOENT);
    assert_int_equal(put(h, 3, 0), 0); /* a fresh start accepts anything */
    sb_rtx_history_free(h);
    assert_int_equal(released_total, 19);
}

static void test_config(void **state)
{
    (void)state;
    sb_rtx_history_t *h;
    sb_rtx_history_config_t cfg = {.capacity = 100000};
    assert_int_equal(sb_rtx_history_new(&cfg, &h), SB_EINVAL);
    assert_int_equal(sb_rtx_history_new(NULL, &h), 0); /* defaults, no release callback */
    for (unsigned i = 0; i < 2000; i++)
        assert_int_equal(sb_rtx_history_put(h, (uint16_t)i, 1, payload[0], 4, NULL, 0), 0);
    sb_rtx_entry_t e;
    assert_int_equal(sb_rtx_history_lookup(h, 1999 - 511, 0, &e), 0);
    assert_int_equal(sb_rtx_history_lookup(h, 1999 - 512, 0, &e), SB_ENOENT);
    sb_rtx_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_lookup_evict),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_reorder_duplicate_too_old),
        cmocka_unit_test(test_age_and_expire),
        cmocka_unit_test(test_resend_throttle),
        cmocka_unit_test(test_jump_and_reset),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
