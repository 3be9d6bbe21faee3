/* Unit tests for the VideoRoom's fan-out (plugins/videoroom forward.c, svc.c, relay.c,
 * allocate.c, graph.c, compiled in) through a fake core table that records what the plugin
 * would send (vr_fixture.h). Each case asserts on the packets a subscriber would get: which
 * publisher layer and packet each one is, and its rewritten sequence number, timestamp and
 * SSRC.
 * - Simulcast: a subscriber's layer switch happens only at a keyframe of the layer it wants
 *   (not at another layer's keyframe, not on a delta frame); until then the old layer goes
 *   on; the numbering continues across the switch.
 * - VP8 temporal layers above the one chosen are dropped, and the sequence numbers the
 *   subscriber sees have no gap for them (nothing to NACK); timestamps keep the source's
 *   spacing.
 * - Relays: a subscriber on another loop gets the publisher's packets in batches (posted when
 *   a batch is full or the home loop's iteration ends); every packet reaches both the local
 *   and the relayed subscriber once, in order, across several iterations, and every retained
 *   packet is released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "vr_fixture.h"

#define MAX_EXPECT 256

/* What a subscriber should have got, in order: publisher (layer, sequence number) pairs. */
typedef struct expect {
    unsigned n;
    unsigned layer[MAX_EXPECT];
    uint16_t seq[MAX_EXPECT];
} expect_t;

static void expect_add(expect_t *e, unsigned layer, uint16_t seq)
{
    assert_true(e->n < MAX_EXPECT);
    e->layer[e->n] = layer;
    e->seq[e->n] = seq;
    e->n++;
}

/* Subscriber i got exactly e, as one continuous stream: its own SSRC and payload type, each
 * sequence number one more than the last, timestamps never going back nor jumping ahead by a
 * second (the layers' own timestamps are far apart). */
static void assert_got(unsigned i, const expect_t *e)
{
    const vrf_sent_t *s[VRF_SENT_MAX];
    unsigned n = vrf_sent_to(i, s, VRF_SENT_MAX);
    assert_int_equal(n, e->n);
    for (unsigned k = 0; k < n; k++) {
        assert_int_equal(s[k]->src_layer, e->layer[k]);
        assert_int_equal(s[k]->src_seq, e->seq[k]);
        assert_int_equal(s[k]->ssrc, 0x5000u + i);
        assert_int_equal(s[k]->pt, 100);
        assert_int_equal(s[k]->stream, 0);
        assert_true(s[k]->contract_ok);
        if (k == 0)
            continue;
        assert_int_equal((uint16_t)(s[k]->seq - s[k - 1]->seq), 1);
        uint32_t dts = s[k]->ts - s[k - 1]->ts;
        assert_true(dts < 90000);
    }
}

#define L0 1u
#define L1 2u
#define L2 4u

/* One frame on each of the publisher's three layers, lowest first; a keyframe on layer kf
 * (-1: none). The packets of the layers in mask are expected to go out. */
static void frame_all_layers(int kf, unsigned mask, expect_t *e)
{
    for (unsigned l = 0; l < 3; l++) {
        uint16_t seq = vrf_publish(l, -1, (int)l == kf);
        if (mask & (1u << l))
            expect_add(e, l, seq);
    }
}

static int setup(void **state)
{
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vrf_teardown();
    return 0;
}

/* ---- simulcast ---------------------------------------------------------------------------- */

static void test_switch_only_at_target_keyframe(void **state)
{
    (void)state;
    expect_t e = {0};
    vrf_setup(3);
    vrf_add_sub(0, 0, 2, -1); /* wants the top layer */
    assert_true(vrf_log.nkf >= 1);
    assert_int_equal(vrf_log.kf[0].layer, 2); /* asked for its keyframe when it came up */
    for (int f = 0; f < 3; f++)
        frame_all_layers(-1, 0, &e); /* no keyframe yet: nothing */
    frame_all_layers(0, 0, &e);      /* another layer's keyframe: nothing */
    frame_all_layers(1, 0, &e);
    assert_int_equal(vrf_log.nsent, 0);
    frame_all_layers(2, L2, &e); /* its keyframe: it starts there */
    for (int f = 0; f < 3; f++)
        frame_all_layers(-1, L2, &e);
    assert_int_equal(vrf_log.last_substream, 2);
    assert_got(0, &e);
    /* Down to layer 0: layer 2 goes on until layer 0's keyframe, and only that switches. */
    vrf_configure(0, 0, -1);
    frame_all_layers(-1, L2, &e);
    frame_all_layers(1, L2, &e);
    frame_all_layers(2, L2, &e); /* the old layer's keyframe is just a frame of it */
    assert_int_equal(vrf_log.last_substream, 2);
    frame_all_layers(0, L0, &e); /* layer 0 first in the frame: 1 and 2 are past */
    for (int f = 0; f < 3; f++)
        frame_all_layers(-1, L0, &e);
    assert_int_equal(vrf_log.last_substream, 0);
    assert_got(0, &e);
}

/* Up again, with a delta frame of the new layer first: still at the keyframe only. */
static void test_switch_up_waits_for_keyframe(void **state)
{
    (void)state;
    expect_t e = {0};
    vrf_setup(3);
    vrf_add_sub(0, 0, 0, -1);
    frame_all_layers(0, L0, &e);
    frame_all_layers(-1, L0, &e);
    vrf_configure(0, 1, -1);
    frame_all_layers(-1, L0, &e);
    frame_all_layers(2, L0, &e);      /* above the one wanted: not a switch either */
    frame_all_layers(1, L0 | L1, &e); /* layer 0 goes before layer 1's keyframe switches */
    frame_all_layers(-1, L1, &e);
    assert_int_equal(vrf_log.last_substream, 1);
    assert_got(0, &e);
}

/* ---- temporal layers ------------------------------------------------------------------------- */

/* L1T3's pattern: 0 2 1 2 0 2 1 2 ... */
static int l1t3_tid(unsigned frame)
{
    static const int pattern[4] = {0, 2, 1, 2};
    return pattern[frame % 4];
}

static void temporal_frames(unsigned from, unsigned count, int max_tid, expect_t *e)
{
    for (unsigned f = from; f < from + count; f++) {
        int tid = l1t3_tid(f);
        uint16_t seq = vrf_publish(0, tid, f == 0);
        if (max_tid < 0 || tid <= max_tid)
            expect_add(e, 0, seq);
    }
}

static void test_temporal_layers_dropped_without_gaps(void **state)
{
    (void)state;
    expect_t e = {0};
    vrf_setup(1);
    vrf_add_sub(0, 0, -1, 1); /* temporal layers 0 and 1 */
    temporal_frames(0, 16, 1, &e);
    assert_got(0, &e);
    assert_int_equal(e.n, 8);
    vrf_configure(0, -1, 0); /* temporal layer 0 only */
    temporal_frames(16, 16, 0, &e);
    vrf_configure(0, -1, -1); /* all of them */
    temporal_frames(32, 8, -1, &e);
    assert_got(0, &e);
    /* The timestamps are the source's, shifted: a dropped frame leaves its time, not a gap. */
    const vrf_sent_t *s[VRF_SENT_MAX];
    unsigned n = vrf_sent_to(0, s, VRF_SENT_MAX);
    for (unsigned k = 1; k < n; k++)
        assert_int_equal(s[k]->ts - s[k - 1]->ts, 3000u * (uint16_t)(e.seq[k] - e.seq[k - 1]));
}

/* ---- relays --------------------------------------------------------------------------------- */

static void test_relay_delivers_once_in_order(void **state)
{
    (void)state;
    expect_t e = {0};
    vrf_setup(1);
    vrf_add_sub(0, 0, -1, -1); /* on the publisher's loop */
    unsigned kf_before = vrf_log.nkf;
    vrf_add_sub(1, 1, -1, -1); /* on another loop: fed by a relay */
    /* Its keyframe request went back to the home loop through the relay. */
    assert_true(vrf_log.nkf > kf_before);
    /* More than two full batches in one iteration of the home loop. */
    for (unsigned k = 0; k < 2 * SB_VR_BATCH_MAX + 6; k++)
        expect_add(&e, 0, vrf_publish(0, -1, k == 0));
    const vrf_sent_t *s[VRF_SENT_MAX];
    assert_int_equal(vrf_sent_to(1, s, VRF_SENT_MAX), 0); /* its loop has not run yet */
    vrf_loop_iteration();
    vrf_run_loop(1);
    assert_got(0, &e);
    assert_got(1, &e);
    /* Several iterations, the serving loop running after some of them only. */
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned k = 0; k < 5 + round; k++)
            expect_add(&e, 0, vrf_publish(0, -1, false));
        vrf_loop_iteration();
        if (round % 2)
            vrf_run_loop(1);
    }
    vrf_run_loop(1);
    assert_got(0, &e);
    assert_got(1, &e);
    assert_int_equal(vrf_log.retained, 0); /* every batch released what it retained */
    /* Not one packet reached either fan-out twice (the rewriter would hide it downstream). */
    assert_int_equal(vrf_refused(0), 0);
    assert_int_equal(vrf_refused(1), 0);
}

static int group_setup(void **state)
{
    (void)state;
    vrf_global_setup();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    vrf_global_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_switch_only_at_target_keyframe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switch_up_waits_for_keyframe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_temporal_layers_dropped_without_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_delivers_once_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
