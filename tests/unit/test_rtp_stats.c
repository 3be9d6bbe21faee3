/* Receiver statistics (RFC 3550 A.1, A.3, A.8): probation, wrap-around, loss and fraction lost
 * per interval, duplicates, reordering, restart after a large jump, jitter against a direct
 * computation, LSR/DLSR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "switchboard/error.h"
#include "proto/rtp_stats.h"

static void test_probation(void **state)
{
    (void)state;
    sb_rtp_stats_t s;
    sb_rtcp_rb_t rb;

    sb_rtp_stats_init(&s, 42, SB_RTP_STATS_MIN_SEQUENTIAL);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), SB_EAGAIN);
    assert_int_equal(sb_rtp_stats_update(&s, 1000, 0, 0), SB_EAGAIN);
    assert_int_equal(sb_rtp_stats_expected(&s), 0);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), SB_EAGAIN);
    /* Out of sequence: probation starts over. */
    assert_int_equal(sb_rtp_stats_update(&s, 2000, 0, 0), SB_EAGAIN);
    assert_int_equal(sb_rtp_stats_update(&s, 2001, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_expected(&s), 1);
    assert_int_equal(s.received, 1);
    assert_int_equal(sb_rtp_stats_update(&s, 2002, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_expected(&s), 2);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), 0);
    assert_int_equal(rb.ssrc, 42);
    assert_int_equal(rb.ext_highest_seq, 2002);
    assert_int_equal(rb.cumulative_lost, 0);

    /* Probation across the wrap. */
    sb_rtp_stats_init(&s, 1, 3);
    assert_int_equal(sb_rtp_stats_update(&s, 65534, 0, 0), SB_EAGAIN);
    assert_int_equal(sb_rtp_stats_update(&s, 65535, 0, 0), SB_EAGAIN);
    assert_int_equal(sb_rtp_stats_update(&s, 0, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_ext_max(&s), 0);

    /* Trusted first packet. */
    sb_rtp_stats_init(&s, 1, 0);
    assert_int_equal(sb_rtp_stats_update(&s, 7, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_expected(&s), 1);
    sb_rtp_stats_init(&s, 1, 1);
    assert_int_equal(sb_rtp_stats_update(&s, 7, 0, 0), 0);
}

static void test_wrap_and_loss(void **state)
{
    (void)state;
    sb_rtp_stats_t s;
    sb_rtcp_rb_t rb;
    uint16_t seq = 65500;

    sb_rtp_stats_init(&s, 9, 0);
    /* 100 packets across the wrap, every 10th lost. */
    for (unsigned i = 0; i < 100; i++, seq++) {
        if (i % 10 == 5)
            continue;
        assert_int_equal(sb_rtp_stats_update(&s, seq, 0, 0), 0);
    }
    assert_int_equal(s.cycles, 65536);
    assert_int_equal(sb_rtp_stats_ext_max(&s), 65536 + 63);
    assert_int_equal(sb_rtp_stats_expected(&s), 100);
    assert_int_equal(sb_rtp_stats_lost(&s), 10);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), 0);
    assert_int_equal(rb.cumulative_lost, 10);
    assert_int_equal(rb.fraction_lost, (10 * 256) / 100);
    assert_int_equal(rb.ext_highest_seq, 65536 + 63);

    /* Next interval: 50 expected, 25 lost; then an interval with nothing new. */
    for (unsigned i = 0; i < 50; i++, seq++) {
        if (i % 2)
            continue;
        assert_int_equal(sb_rtp_stats_update(&s, seq, 0, 0), 0);
    }
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), 0);
    /* The last packet of the 50 (odd) was lost, so 49 are expected so far. */
    assert_int_equal(rb.fraction_lost, (24 * 256) / 49);
    assert_int_equal(rb.cumulative_lost, 34);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), 0);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cumulative_lost, 34);
}

static void test_duplicates_and_reorder(void **state)
{
    (void)state;
    sb_rtp_stats_t s;
    sb_rtcp_rb_t rb;

    sb_rtp_stats_init(&s, 9, 0);
    for (uint16_t q = 10; q < 20; q++)
        assert_int_equal(sb_rtp_stats_update(&s, q, 0, 0), 0);
    /* Duplicates of the highest and of an older one, and a late packet. */
    assert_int_equal(sb_rtp_stats_update(&s, 19, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_update(&s, 12, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_ext_max(&s), 19);
    assert_int_equal(sb_rtp_stats_lost(&s), -2);
    assert_int_equal(sb_rtp_stats_report(&s, 0, &rb), 0);
    assert_int_equal(rb.cumulative_lost, -2);
    assert_int_equal(rb.fraction_lost, 0);
    /* Reordering right after the wrap does not count a cycle twice. */
    sb_rtp_stats_init(&s, 9, 0);
    assert_int_equal(sb_rtp_stats_update(&s, 65534, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_update(&s, 0, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_update(&s, 65535, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_update(&s, 1, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_ext_max(&s), 65537);
    assert_int_equal(sb_rtp_stats_lost(&s), 0);
}

static void test_restart(void **state)
{
    (void)state;
    sb_rtp_stats_t s;

    sb_rtp_stats_init(&s, 9, 0);
    for (uint16_t q = 100; q < 110; q++)
        sb_rtp_stats_update(&s, q, 0, 0);
    /* A lone jump is refused; two in sequence restart the statistics. */
    assert_int_equal(sb_rtp_stats_update(&s, 30000, 0, 0), SB_EPROTO);
    assert_int_equal(sb_rtp_stats_update(&s, 109 + 50, 0, 0), 0); /* ordinary loss */
    assert_int_equal(sb_rtp_stats_update(&s, 40000, 0, 0), SB_EPROTO);
    assert_int_equal(sb_rtp_stats_update(&s, 40001, 0, 0), 0);
    assert_int_equal(sb_rtp_stats_ext_max(&s), 40001);
    assert_int_equal(sb_rtp_stats_expected(&s), 1);
    assert_int_equal(s.received, 1);
    /* A jump backwards beyond MAX_MISORDER is a jump too. */
    assert_int_equal(sb_rtp_stats_update(&s, 40001 - 200, 0, 0), SB_EPROTO);
    assert_int_equal(sb_rtp_stats_update(&s, 40001 - 50, 0, 0), 0); /* late: counted */
    assert_int_equal(sb_rtp_stats_ext_max(&s), 40001);
}

static void test_jitter(void **state)
{
    (void)state;
    sb_rtp_stats_t s;
    double ref = 0;
    uint32_t prev_transit = 0;

    sb_rtp_stats_init(&s, 9, 0);
    srand(7);
    /* 20 ms audio frames at 48 kHz, arrival wobbling by up to +-5 ms, starting near the wrap
     * of the 32-bit clocks. */
    for (unsigned i = 0; i < 500; i++) {
        uint32_t ts = 0xfffff000u + 960u * i;
        int wobble = (rand() % 481) - 240;
        uint32_t arrival = 0x7ffffff0u + 960u * i + (uint32_t)wobble;
        uint32_t transit = arrival - ts;
        assert_int_equal(sb_rtp_stats_update(&s, (uint16_t)(60000 + i), ts, arrival), 0);
        if (i > 0) {
            double d = fabs((double)(int32_t)(transit - prev_transit));
            ref += (d - ref) / 16.0;
        }
        prev_transit = transit;
    }
    assert_true(fabs((double)sb_rtp_stats_jitter(&s) - ref) <= 2.0);
    assert_true(sb_rtp_stats_jitter(&s) > 50);

    /* Constant transit: no jitter. A late packet does not disturb it. */
    sb_rtp_stats_init(&s, 9, 0);
    for (unsigned i = 0; i < 50; i++)
        sb_rtp_stats_update(&s, (uint16_t)i, 3000u * i, 3000u * i + 77);
    assert_int_equal(sb_rtp_stats_jitter(&s), 0);
    sb_rtp_stats_update(&s, 40, 3000u * 40, 3000u * 60);
    assert_int_equal(sb_rtp_stats_jitter(&s), 0);
}

static void test_lsr_dlsr(void **state)
{
    (void)state;
    sb_rtp_stats_t s;
    sb_rtcp_rb_t rb;

    sb_rtp_stats_init(&s, 9, 0);
    sb_rtp_stats_update(&s, 1, 0, 0);
    assert_int_equal(sb_rtp_stats_report(&s, 1000000, &rb), 0);
    assert_int_equal(rb.lsr, 0);
    assert_int_equal(rb.dlsr, 0);
    sb_rtp_stats_on_sr(&s, 0x0001234567890000ull, 5000000);
    assert_int_equal(sb_rtp_stats_report(&s, 6500000, &rb), 0);
    assert_int_equal(rb.lsr, 0x23456789);
    assert_int_equal(rb.dlsr, 98304); /* 1.5 s in 1/65536 s */
    assert_int_equal(sb_rtp_stats_report(&s, 4000000, &rb), 0); /* clock went back */
    assert_int_equal(rb.dlsr, 0);
    assert_int_equal(sb_rtp_stats_report(&s, 5000000 + 70000ll * 1000000, &rb), 0);
    assert_int_equal(rb.dlsr, UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probation),
        cmocka_unit_test(test_wrap_and_loss),
        cmocka_unit_test(test_duplicates_and_reorder),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_lsr_dlsr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
