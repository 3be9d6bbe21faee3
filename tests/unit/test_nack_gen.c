/* NACK generator: gap detection across wrap-around, reordering, retry pacing by RTT, max
 * retries, age limit, recovery (late and RTX), overflow and jumps flag a keyframe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "switchboard/error.h"
#include "proto/nack_gen.h"

#define MS 1000

static sb_nack_gen_t *make(const sb_nack_gen_config_t *cfg)
{
    sb_nack_gen_t *g;
    assert_int_equal(sb_nack_gen_new(cfg, &g), 0);
    return g;
}

static void test_gap_and_recovery(void **state)
{
    (void)state;
    sb_nack_gen_t *g = make(NULL);
    assert_int_equal(sb_nack_gen_on_packet(g, 10, false, 0), 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 11, false, 0), 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 15, false, 0), 3); /* 12 13 14 */
    uint16_t out[16];
    size_t n = sb_nack_gen_collect(g, 0, out, 16);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 12);
    assert_int_equal(out[1], 13);
    assert_int_equal(out[2], 14);
    assert_int_equal(sb_nack_gen_collect(g, 1 * MS, out, 16), 0);     /* not yet due again */
    assert_int_equal(sb_nack_gen_on_packet(g, 13, false, 2 * MS), 0); /* late */
    assert_int_equal(sb_nack_gen_on_packet(g, 12, true, 3 * MS), 0);  /* via RTX */
    assert_int_equal(sb_nack_gen_missing_count(g), 1);
    assert_int_equal(sb_nack_gen_on_packet(g, 13, false, 4 * MS), 0); /* duplicate: no-op */
    n = sb_nack_gen_collect(g, 100 * MS, out, 16);                    /* default RTT 100 ms */
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 14);
    sb_nack_gen_stats_t st;
    sb_nack_gen_stats(g, &st);
    assert_int_equal(st.missing, 3);
    assert_int_equal(st.recovered, 2);
    assert_int_equal(st.recovered_rtx, 1);
    assert_int_equal(st.nacks, 4);
    assert_false(sb_nack_gen_take_keyframe_request(g));
    sb_nack_gen_free(g);
}

static void test_wrap_around(void **state)
{
    (void)state;
    sb_nack_gen_t *g = make(NULL);
    sb_nack_gen_on_packet(g, 65533, false, 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 2, false, 0), 4); /* 65534 65535 0 1 */
    uint16_t out[8];
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 8), 4);
    assert_int_equal(out[0], 65534);
    assert_int_equal(out[1], 65535);
    assert_int_equal(out[2], 0);
    assert_int_equal(out[3], 1);
    sb_nack_gen_on_packet(g, 65535, false, MS);
    sb_nack_gen_on_packet(g, 0, false, MS);
    assert_int_equal(sb_nack_gen_missing_count(g), 2);
    assert_int_equal(sb_nack_gen_collect(g, 200 * MS, out, 8), 2);
    assert_int_equal(out[0], 65534);
    assert_int_equal(out[1], 1);
    sb_nack_gen_free(g);
}

/* A packet that arrives out of order before the reorder delay is never NACKed. */
static void test_reorder_delay(void **state)
{
    (void)state;
    sb_nack_gen_config_t cfg = {.reorder_delay_us = 5 * MS};
    sb_nack_gen_t *g = make(&cfg);
    sb_nack_gen_on_packet(g, 1, false, 0);
    sb_nack_gen_on_packet(g, 3, false, 0);
    sb_nack_gen_on_packet(g, 5, false, 0);
    uint16_t out[8];
    assert_int_equal(sb_nack_gen_next_due(g), 5 * MS);
    assert_int_equal(sb_nack_gen_collect(g, 4 * MS, out, 8), 0);
    sb_nack_gen_on_packet(g, 2, false, 4 * MS);
    assert_int_equal(sb_nack_gen_collect(g, 5 * MS, out, 8), 1);
    assert_int_equal(out[0], 4);
    sb_nack_gen_free(g);
}

static void test_retry_pacing_and_max_retries(void **state)
{
    (void)state;
    sb_nack_gen_config_t cfg = {.max_retries = 3, .max_age_us = 10000 * MS};
    sb_nack_gen_t *g = make(&cfg);
    sb_nack_gen_set_rtt(g, 40 * MS);
    sb_nack_gen_on_packet(g, 100, false, 0);
    sb_nack_gen_on_packet(g, 102, false, 0);
    uint16_t out[4];
    int64_t t = 0;
    unsigned sent = 0;
    int64_t times[8];
    while (t < 1000 * MS) {
        if (sb_nack_gen_collect(g, t, out, 4) == 1) {
            assert_int_equal(out[0], 101);
            times[sent++] = t;
        }
        t += MS;
    }
    assert_int_equal(sent, 3);
    assert_int_equal(times[0], 0);
    assert_int_equal(times[1], 40 * MS);
    assert_int_equal(times[2], 80 * MS);
    assert_int_equal(sb_nack_gen_missing_count(g), 0); /* given up one interval later */
    assert_int_equal(sb_nack_gen_next_due(g), INT64_MAX);
    sb_nack_gen_stats_t st;
    sb_nack_gen_stats(g, &st);
    assert_int_equal(st.lost, 1);

    /* An RTT below the floor paces at min_retry_us (10 ms). */
    sb_nack_gen_set_rtt(g, 1 * MS);
    sb_nack_gen_on_packet(g, 104, false, t);
    assert_int_equal(sb_nack_gen_collect(g, t, out, 4), 1);
    assert_int_equal(sb_nack_gen_next_due(g), t + 10 * MS);
    sb_nack_gen_free(g);
}

static void test_max_age(void **state)
{
    (void)state;
    sb_nack_gen_config_t cfg = {.max_age_us = 300 * MS, .max_retries = 100};
    sb_nack_gen_t *g = make(&cfg);
    sb_nack_gen_on_packet(g, 1, false, 0);
    sb_nack_gen_on_packet(g, 3, false, 0);
    uint16_t out[4];
    unsigned sent = 0;
    for (int64_t t = 0; t <= 1000 * MS; t += 10 * MS)
        sent += (unsigned)sb_nack_gen_collect(g, t, out, 4);
    assert_int_equal(sent, 4); /* 0, 100, 200, 300 ms; given up past 300 ms */
    assert_int_equal(sb_nack_gen_missing_count(g), 0);
    sb_nack_gen_free(g);
}

static void test_overflow_requests_keyframe(void **state)
{
    (void)state;
    sb_nack_gen_config_t cfg = {.max_missing = 16};
    sb_nack_gen_t *g = make(&cfg);
    sb_nack_gen_on_packet(g, 0, false, 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 11, false, 0), 10);
    assert_int_equal(sb_nack_gen_on_packet(g, 22, false, 0), 10); /* 20 > 16: oldest 4 go */
    assert_int_equal(sb_nack_gen_missing_count(g), 16);
    assert_true(sb_nack_gen_take_keyframe_request(g));
    assert_false(sb_nack_gen_take_keyframe_request(g));
    uint16_t out[32];
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 32), 16);
    assert_int_equal(out[0], 5);
    /* A gap bigger than the list: nothing is tracked, a keyframe is requested. */
    assert_int_equal(sb_nack_gen_on_packet(g, 100, false, 0), 0);
    assert_int_equal(sb_nack_gen_missing_count(g), 0);
    assert_true(sb_nack_gen_take_keyframe_request(g));
    /* A keyframe starting at 111 makes earlier gaps pointless. */
    sb_nack_gen_on_packet(g, 105, false, 0);
    sb_nack_gen_on_packet(g, 112, false, 0);
    assert_int_equal(sb_nack_gen_missing_count(g), 10);
    sb_nack_gen_clear_before(g, 111);
    assert_int_equal(sb_nack_gen_missing_count(g), 1);
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 32), 1);
    assert_int_equal(out[0], 111);
    sb_nack_gen_free(g);
}

static void test_collect_bounded_output(void **state)
{
    (void)state;
    sb_nack_gen_t *g = make(NULL);
    sb_nack_gen_on_packet(g, 0, false, 0);
    sb_nack_gen_on_packet(g, 101, false, 0);
    uint16_t out[64];
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 64), 64);
    assert_int_equal(out[63], 64);
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 64), 36);
    assert_int_equal(out[0], 65);
    assert_int_equal(sb_nack_gen_collect(g, 0, out, 64), 0);
    sb_nack_gen_free(g);
}

static void test_restart_far_behind(void **state)
{
    (void)state;
    sb_nack_gen_t *g = make(NULL);
    sb_nack_gen_on_packet(g, 30000, false, 0);
    sb_nack_gen_on_packet(g, 30002, false, 0);
    assert_int_equal(sb_nack_gen_missing_count(g), 1);
    sb_nack_gen_on_packet(g, 7, false, 0); /* numbering restarted */
    assert_int_equal(sb_nack_gen_missing_count(g), 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 9, false, 0), 1);
    sb_nack_gen_reset(g);
    assert_int_equal(sb_nack_gen_missing_count(g), 0);
    assert_int_equal(sb_nack_gen_on_packet(g, 500, false, 0), 0);
    sb_nack_gen_free(g);
}

static void test_config_bounds(void **state)
{
    (void)state;
    sb_nack_gen_t *g;
    sb_nack_gen_config_t cfg = {.max_missing = 100000};
    assert_int_equal(sb_nack_gen_new(&cfg, &g), SB_EINVAL);
    cfg = (sb_nack_gen_config_t){.max_age_us = -1};
    assert_int_equal(sb_nack_gen_new(&cfg, &g), SB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_and_recovery),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_reorder_delay),
        cmocka_unit_test(test_retry_pacing_and_max_retries),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_overflow_requests_keyframe),
        cmocka_unit_test(test_collect_bounded_output),
        cmocka_unit_test(test_restart_far_behind),
        cmocka_unit_test(test_config_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
