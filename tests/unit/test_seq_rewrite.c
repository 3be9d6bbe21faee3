/* Sequence/timestamp rewriting: pass-through, wrap-around on both sides, reordering,
 * duplicates, switches (numbers and wall-clock timestamps), intentional skips, restarts, and a
 * randomized run with a dropped temporal layer and reordering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "switchboard/seq_rewrite.h"

#define MS 1000
#define A 0xaaaa0001u
#define B 0xbbbb0002u

static uint16_t oseq;
static uint32_t ots;

static int fwd(sb_seq_rewrite_t *rw, uint16_t seq, uint32_t ts, uint32_t src, bool sw, int64_t now)
{
    return sb_seq_rewrite_process(rw, seq, ts, src, sw, now, &oseq, &ots);
}

static void test_pass_through(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 1000, 5000);
    for (uint16_t i = 0; i < 100; i++) {
        assert_int_equal(fwd(&rw, (uint16_t)(300 + i), 123456 + (i / 3) * 3000u, A, false, i), 0);
        assert_int_equal(oseq, 1000 + i);
        assert_int_equal(ots, 5000 + (i / 3) * 3000u);
    }
    assert_int_equal(sb_seq_rewrite_map_ts(&rw, 123456), 5000);
}

static void test_wrap_both_sides(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 48000, 65533, 0xfffffe00u);
    for (uint32_t i = 0; i < 20; i++) {
        assert_int_equal(fwd(&rw, (uint16_t)(65530 + i), 0xffffff00u + i * 960, A, false, 0), 0);
        assert_int_equal(oseq, (uint16_t)(65533 + i));
        assert_int_equal(ots, 0xfffffe00u + i * 960);
    }
}

static void test_reorder_duplicates_window(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 0, 0);
    const uint16_t in[] = {10, 11, 13, 12, 14, 16, 15};
    const uint16_t want[] = {0, 1, 3, 2, 4, 6, 5};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(fwd(&rw, in[i], 0, A, false, 0), 0);
        assert_int_equal(oseq, want[i]);
    }
    assert_int_equal(fwd(&rw, 13, 0, A, false, 0), SB_EAGAIN); /* duplicate */
    assert_int_equal(fwd(&rw, 16, 0, A, false, 0), SB_EAGAIN);
    assert_int_equal(fwd(&rw, 9, 0, A, false, 0), SB_EAGAIN); /* before the first */
    assert_int_equal(fwd(&rw, 500, 0, A, false, 0), 0);       /* loss: the gap shows */
    assert_int_equal(oseq, 490);
    assert_int_equal(fwd(&rw, 500 - SB_SEQ_REWRITE_WINDOW, 0, A, false, 0), SB_EAGAIN);
    assert_int_equal(fwd(&rw, 501 - SB_SEQ_REWRITE_WINDOW, 0, A, false, 0), 0); /* just inside */
    assert_int_equal(oseq, (uint16_t)(491 - SB_SEQ_REWRITE_WINDOW));
    sb_seq_rewrite_stats_t st;
    sb_seq_rewrite_stats(&rw, &st);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(st.too_old, 2);
}

static void test_switch(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 100, 1000);
    for (uint16_t i = 0; i < 10; i++)
        assert_int_equal(fwd(&rw, (uint16_t)(40000 + i), 7777 + i * 3000u, A, false, i * 33 * MS),
                         0);
    assert_int_equal(oseq, 109);
    assert_int_equal(ots, 1000 + 9 * 3000);
    int64_t last = 9 * 33 * MS;
    /* B starts 100 ms later: +9000 ticks at 90 kHz; numbers go on with no gap */
    assert_int_equal(fwd(&rw, 5000, 424242, B, true, last + 100 * MS), 0);
    assert_int_equal(oseq, 110);
    assert_int_equal(ots, 1000 + 9 * 3000 + 9000);
    assert_int_equal(fwd(&rw, 5001, 424242 + 3000, B, false, last + 133 * MS), 0);
    assert_int_equal(oseq, 111);
    assert_int_equal(ots, 1000 + 9 * 3000 + 12000);
    assert_int_equal(fwd(&rw, 40010, 0, A, false, last + 140 * MS), SB_EAGAIN); /* straggler */
    assert_int_equal(fwd(&rw, 4999, 424242 - 3000, B, false, last + 140 * MS), SB_EAGAIN);
    /* switch back at once: the timestamp still moves forward */
    assert_int_equal(fwd(&rw, 40020, 7777 + 20 * 3000u, A, true, last + 133 * MS), 0);
    assert_int_equal(oseq, 112);
    assert_int_equal(ots, 1000 + 9 * 3000 + 12000 + 1);
    sb_seq_rewrite_stats_t st;
    sb_seq_rewrite_stats(&rw, &st);
    assert_int_equal(st.switches, 3); /* the first packet counts as one */
    assert_int_equal(st.stale_source, 1);
}

static void test_skips_leave_no_gap(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 0, 0);
    assert_int_equal(fwd(&rw, 1, 0, A, false, 0), 0);
    assert_int_equal(oseq, 0);
    fwd(&rw, 2, 0, A, false, 0);
    sb_seq_rewrite_drop(&rw, 3, A);
    assert_int_equal(fwd(&rw, 4, 0, A, false, 0), 0);
    assert_int_equal(oseq, 2);
    sb_seq_rewrite_drop(&rw, 5, A);
    sb_seq_rewrite_drop(&rw, 6, A);
    sb_seq_rewrite_drop(&rw, 6, A); /* twice: no effect */
    assert_int_equal(fwd(&rw, 7, 0, A, false, 0), 0);
    assert_int_equal(oseq, 3);
    assert_int_equal(fwd(&rw, 5, 0, A, false, 0), SB_EAGAIN); /* skipped: never sent */
    /* a reordered packet before a skip keeps its place */
    sb_seq_rewrite_drop(&rw, 9, A);
    assert_int_equal(fwd(&rw, 10, 0, A, false, 0), 0);
    assert_int_equal(oseq, 5);
    assert_int_equal(fwd(&rw, 8, 0, A, false, 0), 0);
    assert_int_equal(oseq, 4);
    /* a skip noted after a later packet went out leaves a gap (counted) */
    assert_int_equal(fwd(&rw, 12, 0, A, false, 0), 0);
    assert_int_equal(oseq, 7);
    sb_seq_rewrite_drop(&rw, 11, A);
    sb_seq_rewrite_drop(&rw, 13, B); /* another source: ignored */
    assert_int_equal(fwd(&rw, 13, 0, A, false, 0), 0);
    assert_int_equal(oseq, 8);
    /* skips just before a switch: the new source follows the last number sent */
    sb_seq_rewrite_drop(&rw, 14, A);
    sb_seq_rewrite_drop(&rw, 15, A);
    assert_int_equal(fwd(&rw, 60000, 0, B, true, 0), 0);
    assert_int_equal(oseq, 9);
    sb_seq_rewrite_stats_t st;
    sb_seq_rewrite_stats(&rw, &st);
    assert_int_equal(st.skipped, 6);
    assert_int_equal(st.late_skips, 1);
}

/* A source restarting its numbering far behind is followed after a short run, with no gap. */
static void test_numbering_restart(void **state)
{
    (void)state;
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 0, 0);
    fwd(&rw, 30000, 0, A, false, 0);
    int accepted = -1;
    for (int i = 0; i < 40 && accepted < 0; i++) {
        if (fwd(&rw, (uint16_t)(100 + i), 0, A, false, 0) == 0)
            accepted = i;
    }
    assert_int_equal(accepted, 31);
    assert_int_equal(oseq, 1);
    assert_int_equal(fwd(&rw, 132, 0, A, false, 0), 0);
    assert_int_equal(oseq, 2);
}

/* Randomized: a temporal layer dropped (every third packet), adjacent swaps in arrival except
 * where a forwarded packet would overtake an earlier skipped one (no rewriter can know that
 * skip in advance), duplicates, input wrap. Output must be gap-free and order-preserving. */
static void test_random_layers_reorder(void **state)
{
    (void)state;
    enum { N = 5000 };
    static uint16_t order[N];
    static int32_t out_of[N];
    srand(1234);
    for (int i = 0; i < N; i++)
        order[i] = (uint16_t)i;
    for (int i = 0; i + 1 < N; i++) {
        bool skip_lo = order[i] % 3 == 2, skip_hi = order[i + 1] % 3 == 2;
        if (rand() % 5 == 0 && !(skip_lo && !skip_hi)) {
            uint16_t t = order[i];
            order[i] = order[i + 1];
            order[i + 1] = t;
            i++;
        }
    }
    sb_seq_rewrite_t rw;
    sb_seq_rewrite_init(&rw, 90000, 40000, 0);
    const uint16_t base = 63000;
    int forwarded = 0;
    for (int k = 0; k < N; k++) {
        int i = order[k];
        uint16_t seq = (uint16_t)(base + i);
        out_of[i] = -1;
        if (i % 3 == 2) {
            sb_seq_rewrite_drop(&rw, seq, A);
            continue;
        }
        assert_int_equal(fwd(&rw, seq, (uint32_t)i * 1000, A, false, k), 0);
        out_of[i] = oseq;
        forwarded++;
        if (rand() % 50 == 0)
            assert_int_equal(fwd(&rw, seq, 0, A, false, k), SB_EAGAIN);
    }
    int expect = 40000;
    for (int i = 0; i < N; i++) {
        if (out_of[i] < 0)
            continue;
        assert_int_equal(out_of[i], (uint16_t)expect);
        expect++;
    }
    assert_int_equal(expect - 40000, forwarded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_through),
        cmocka_unit_test(test_wrap_both_sides),
        cmocka_unit_test(test_reorder_duplicates_window),
        cmocka_unit_test(test_switch),
        cmocka_unit_test(test_skips_leave_no_gap),
        cmocka_unit_test(test_numbering_restart),
        cmocka_unit_test(test_random_layers_reorder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
