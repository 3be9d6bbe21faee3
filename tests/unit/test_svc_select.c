/* SVC layer selection: nothing before a keyframe, spatial and temporal caps (down at the next
 * picture, spatial up only at a keyframe with a keyframe asked for, temporal up at a switching
 * point), the marker on the end of the highest forwarded layer, reported layers bounded by
 * what the sender sends (a layer that stops, one that comes back), retransmissions, and a
 * randomized run checked against a decodability model of an L3T3_KEY stream. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "switchboard/svc_select.h"

/* An L3T3_KEY-like stream: every picture has spatial layers 0..nsid-1, two packets each; the
 * temporal pattern is 0,2,1,2; each TL0 picture is a switching point (U). */
typedef struct pic_run {
    unsigned n;    /* pictures sent */
    unsigned nsid; /* spatial layers per picture */
} pic_run_t;

static const uint8_t tl_pattern[4] = {0, 2, 1, 2};

/* Results for one picture: per spatial layer, forwarded packets and markers; flags or-ed. */
typedef struct pic_out {
    unsigned fwd[SB_SVC_MAX_LAYERS];
    unsigned mark[SB_SVC_MAX_LAYERS];
    unsigned flags;
    uint8_t tid;
} pic_out_t;

/* One picture with temporal layer tid (-1: the pattern's), a keyframe or not, U or not. */
static pic_out_t send_tid(sb_svc_select_t *s, pic_run_t *r, int tid, bool key, bool up)
{
    pic_out_t o;
    memset(&o, 0, sizeof(o));
    o.tid = key ? 0 : tid >= 0 ? (uint8_t)tid : tl_pattern[r->n % 4];
    for (unsigned sid = 0; sid < r->nsid; sid++) {
        for (unsigned k = 0; k < 2; k++) {
            sb_svc_layer_t l = {
                .sid = (uint8_t)sid,
                .tid = o.tid,
                .picture_start = sid == 0 && k == 0,
                .frame_end = k == 1,
                .keyframe = key && sid == 0 && k == 0,
                .switch_up = up,
            };
            unsigned f = sb_svc_select_packet(s, &l);
            o.flags |= f;
            if (f & SB_SVC_FORWARD)
                o.fwd[sid]++;
            if (f & SB_SVC_MARKER)
                o.mark[sid]++;
        }
    }
    r->n++;
    return o;
}

static pic_out_t send_picture(sb_svc_select_t *s, pic_run_t *r, bool key, bool up)
{
    return send_tid(s, r, -1, key, up);
}

static pic_out_t send_plain(sb_svc_select_t *s, pic_run_t *r)
{
    return send_picture(s, r, false, tl_pattern[r->n % 4] == 0);
}

static void test_waits_for_keyframe(void **state)
{
    (void)state;
    sb_svc_select_t s;
    pic_run_t r = {0, 3};
    sb_svc_select_init(&s, -1, -1);
    pic_out_t o = send_plain(&s, &r);
    assert_int_equal(o.fwd[0] + o.fwd[1] + o.fwd[2], 0);
    assert_true(o.flags & SB_SVC_WANT_KEYFRAME);
    o = send_picture(&s, &r, true, false);
    assert_int_equal(o.fwd[0], 2);
    assert_int_equal(o.fwd[1], 2);
    assert_int_equal(o.fwd[2], 2);
    /* cap 7 (highest): the sender's own marker ends the picture, none added */
    assert_int_equal(o.mark[2], 0);
    assert_false(o.flags & SB_SVC_WANT_KEYFRAME);
    o = send_plain(&s, &r); /* the keyframe picture is over: reported */
    assert_true(o.flags & SB_SVC_SPATIAL_CHANGED);
    assert_true(o.flags & SB_SVC_TEMPORAL_CHANGED);
    assert_int_equal(s.reported_spatial, 2);
    assert_int_equal(s.reported_temporal, 0); /* only TL0 (the keyframe) so far */
    for (int i = 0; i < 3; i++)
        o = send_plain(&s, &r);
    assert_int_equal(s.reported_temporal, 2);
}

static void test_spatial_down_then_up(void **state)
{
    (void)state;
    sb_svc_select_t s;
    pic_run_t r = {0, 3};
    sb_svc_select_init(&s, 2, 2);
    send_picture(&s, &r, true, false);
    pic_out_t o = send_plain(&s, &r);
    assert_int_equal(o.mark[2], 1); /* cap 2 = top: marked (it is already) */
    sb_svc_select_target(&s, 0, 2);
    o = send_plain(&s, &r);
    assert_int_equal(o.fwd[0], 2);
    assert_int_equal(o.fwd[1], 0);
    assert_int_equal(o.fwd[2], 0);
    assert_int_equal(o.mark[0], 1);
    o = send_plain(&s, &r);
    assert_true(o.flags & SB_SVC_SPATIAL_CHANGED);
    assert_int_equal(s.reported_spatial, 0);
    /* up: not before a keyframe, which is asked for at every picture */
    sb_svc_select_target(&s, 1, 2);
    for (int i = 0; i < 3; i++) {
        o = send_plain(&s, &r);
        assert_true(o.flags & SB_SVC_WANT_KEYFRAME);
        assert_int_equal(o.fwd[1], 0);
        assert_int_equal(o.mark[0], 1);
    }
    o = send_picture(&s, &r, true, false);
    assert_int_equal(o.fwd[1], 2);
    assert_int_equal(o.mark[1], 1);
    assert_int_equal(o.mark[0], 0);
    assert_int_equal(o.fwd[2], 0);
    o = send_plain(&s, &r);
    assert_false(o.flags & SB_SVC_WANT_KEYFRAME);
    assert_int_equal(s.reported_spatial, 1);
}

static void test_temporal(void **state)
{
    (void)state;
    sb_svc_select_t s;
    pic_run_t r = {0, 1};
    sb_svc_select_init(&s, -1, -1);
    send_picture(&s, &r, true, false);
    sb_svc_select_target(&s, -1, 0);
    unsigned got = 0;
    for (int i = 0; i < 8; i++) {
        pic_out_t o = send_plain(&s, &r);
        got += o.fwd[0] / 2;
        assert_true(o.fwd[0] == 0 || o.tid == 0);
    }
    assert_int_equal(got, 2); /* pictures 4 and 8 of the pattern */
    assert_int_equal(s.reported_temporal, 0);
    /* up: at the next switching point only */
    sb_svc_select_target(&s, -1, 1);
    pic_out_t o = send_tid(&s, &r, 0, false, false); /* TL0 without U: no switch */
    assert_int_equal(o.fwd[0], 2);
    o = send_tid(&s, &r, 1, false, false);
    assert_int_equal(o.fwd[0], 0);
    o = send_tid(&s, &r, 2, false, false);
    assert_int_equal(o.fwd[0], 0);
    o = send_tid(&s, &r, 0, false, true); /* TL0 with U */
    assert_int_equal(o.fwd[0], 2);
    o = send_tid(&s, &r, 2, false, false); /* above the target 1 */
    assert_int_equal(o.fwd[0], 0);
    o = send_tid(&s, &r, 1, false, false);
    assert_int_equal(o.fwd[0], 2);
    send_tid(&s, &r, 2, false, false);
    send_tid(&s, &r, 0, false, true);
    assert_int_equal(s.reported_temporal, 1);
    /* a keyframe applies every target at once */
    sb_svc_select_target(&s, -1, 2);
    send_picture(&s, &r, true, false);
    o = send_tid(&s, &r, 2, false, false);
    assert_int_equal(o.fwd[0], 2);
}

static void test_layer_stops_and_returns(void **state)
{
    (void)state;
    sb_svc_select_t s;
    pic_run_t r = {0, 3};
    sb_svc_select_init(&s, -1, -1);
    send_picture(&s, &r, true, false);
    for (int i = 0; i < 10; i++)
        send_plain(&s, &r);
    assert_int_equal(s.reported_spatial, 2);
    /* the sender drops its top layer (e.g. for bandwidth): reported within two windows */
    r.nsid = 2;
    pic_out_t o;
    unsigned flags = 0;
    for (int i = 0; i < 70; i++) {
        o = send_plain(&s, &r);
        flags |= o.flags;
    }
    assert_true(flags & SB_SVC_SPATIAL_CHANGED);
    assert_false(flags & SB_SVC_WANT_KEYFRAME); /* the cap (7) still covers everything */
    assert_int_equal(s.reported_spatial, 1);
    /* a receiver capped at 1 that wants 2 again, once the sender sends it again */
    sb_svc_select_target(&s, 1, -1);
    for (int i = 0; i < 3; i++)
        send_plain(&s, &r);
    sb_svc_select_target(&s, 2, -1);
    flags = 0;
    for (int i = 0; i < 5; i++)
        flags |= send_plain(&s, &r).flags;
    assert_false(flags & SB_SVC_WANT_KEYFRAME); /* nothing above 1 is sent */
    r.nsid = 3;
    send_plain(&s, &r);
    o = send_plain(&s, &r);
    assert_true(o.flags & SB_SVC_WANT_KEYFRAME);
    assert_int_equal(o.fwd[2], 0);
    o = send_picture(&s, &r, true, false);
    assert_int_equal(o.fwd[2], 2);
}

static void test_retransmission(void **state)
{
    (void)state;
    sb_svc_select_t s;
    pic_run_t r = {0, 3};
    sb_svc_select_init(&s, 1, -1);
    sb_svc_layer_t l = {.sid = 0, .picture_start = true, .keyframe = true, .retransmission = true};
    assert_int_equal(sb_svc_select_packet(&s, &l), 0); /* does not start anything */
    assert_int_equal(s.spatial, -1);
    send_picture(&s, &r, true, false);
    l = (sb_svc_layer_t){.sid = 1, .frame_end = true, .retransmission = true};
    assert_int_equal(sb_svc_select_packet(&s, &l), SB_SVC_FORWARD | SB_SVC_MARKER);
    l.sid = 2;
    assert_int_equal(sb_svc_select_packet(&s, &l), 0);
    /* a late picture start changes no cap */
    sb_svc_select_target(&s, 0, -1);
    l = (sb_svc_layer_t){.sid = 0, .picture_start = true, .retransmission = true};
    sb_svc_select_packet(&s, &l);
    assert_int_equal(s.spatial, 1);
}

static void test_vp9_descriptor(void **state)
{
    (void)state;
    /* I=1 P=0 L=1 F=0 B=1 E=1 V=0: picture id 0x1234 (15 bits), TID 0 U=1 SID 0 D=0,
     * TL0PICIDX 7, one payload byte */
    const uint8_t key[] = {0xac, 0x92, 0x34, 0x10, 0x07, 0x00};
    sb_vp9_desc_t d;
    sb_svc_layer_t l;
    assert_int_equal(sb_vp9_parse(key, sizeof(key), &d), 0);
    sb_svc_layer_from_vp9(&d, false, &l);
    assert_true(l.picture_start);
    assert_true(l.keyframe);
    assert_true(l.frame_end);
    assert_true(l.switch_up);
    assert_int_equal(l.sid, 0);
    /* P=1 L=1 B=1 E=0: TID 2 U=0 SID 1 D=1 */
    const uint8_t up[] = {0xe8, 0x92, 0x35, 0x43, 0x07, 0x00};
    assert_int_equal(sb_vp9_parse(up, sizeof(up), &d), 0);
    sb_svc_layer_from_vp9(&d, true, &l);
    assert_false(l.picture_start);
    assert_false(l.keyframe);
    assert_false(l.frame_end);
    assert_int_equal(l.sid, 1);
    assert_int_equal(l.tid, 2);
    assert_true(l.retransmission);
}

/* A decodability model of L3T3_KEY: a frame (sid, tid) of a picture references the previous
 * frame of its own spatial layer whose tid is lower or equal to its own (TL0 the previous
 * TL0) and, on a keyframe, the lower spatial layer of its picture. A forwarded frame must have
 * its references forwarded; random targets change every few pictures. */
static void test_random_decodable(void **state)
{
    (void)state;
    srand(7);
    sb_svc_select_t s;
    sb_svc_select_init(&s, -1, -1);
    /* last[sid][tid]: the last forwarded frame of (sid, tid) since the keyframe, by picture */
    int last[3][3];
    bool key_seen = false;
    unsigned forwarded = 0;
    for (int n = 0; n < 3000; n++) {
        if (rand() % 20 == 0)
            sb_svc_select_target(&s, rand() % 4 - 1, rand() % 4 - 1);
        bool key = n == 5 || rand() % 50 == 0;
        uint8_t tid = key ? 0 : tl_pattern[n % 4];
        if (key)
            memset(last, 0xff, sizeof(last)); /* -1: nothing before the keyframe */
        bool fwd_layer[3] = {false, false, false};
        for (unsigned sid = 0; sid < 3; sid++) {
            sb_svc_layer_t l = {.sid = (uint8_t)sid,
                                .tid = tid,
                                .picture_start = sid == 0,
                                .frame_end = true,
                                .keyframe = key && sid == 0,
                                .switch_up = tid == 0};
            unsigned f = sb_svc_select_packet(&s, &l);
            if (!(f & SB_SVC_FORWARD))
                continue;
            key_seen = key_seen || key;
            assert_true(key_seen);
            /* its temporal reference: the newest forwarded frame of this layer with a tid
             * at or below its own (none needed for the keyframe picture) */
            if (!key) {
                int ref = -1;
                for (int t = 0; t <= tid; t++)
                    ref = last[sid][t] > ref ? last[sid][t] : ref;
                assert_true(ref >= 0);
            } else if (sid > 0) {
                assert_true(fwd_layer[sid - 1]);
            }
            fwd_layer[sid] = true;
            last[sid][tid] = n;
            forwarded++;
        }
        /* A TL0 frame skipped: later frames of its layer reference it, so none of them may
         * be forwarded before the next keyframe. */
        for (unsigned sid = 0; sid < 3; sid++) {
            if (!fwd_layer[sid] && tid == 0 && !key) {
                for (int t = 0; t < 3; t++)
                    last[sid][t] = -1;
            }
        }
    }
    assert_true(forwarded > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_for_keyframe), cmocka_unit_test(test_spatial_down_then_up),
        cmocka_unit_test(test_temporal),           cmocka_unit_test(test_layer_stops_and_returns),
        cmocka_unit_test(test_retransmission),     cmocka_unit_test(test_vp9_descriptor),
        cmocka_unit_test(test_random_decodable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
