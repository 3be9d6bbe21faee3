/* Codec names and payload inspection: VP8 descriptor in every shape, keyframe size, in-place
 * picture id / TL0PICIDX rewriting; VP9 non-flexible, flexible and scalability structure;
 * H.264 single NAL, STAP-A and FU-A; H.265; AV1 aggregation header; truncation everywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "switchboard/error.h"
#include "switchboard/codec.h"

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(sb_codec_from_name("opus"), SB_CODEC_OPUS);
    assert_int_equal(sb_codec_from_name("OPUS"), SB_CODEC_OPUS);
    assert_int_equal(sb_codec_from_name("vp8"), SB_CODEC_VP8);
    assert_int_equal(sb_codec_from_name("Vp9"), SB_CODEC_VP9);
    assert_int_equal(sb_codec_from_name("h264"), SB_CODEC_H264);
    assert_int_equal(sb_codec_from_name("av1"), SB_CODEC_AV1);
    assert_int_equal(sb_codec_from_name("AV1X"), SB_CODEC_AV1);
    assert_int_equal(sb_codec_from_name("pcmu"), SB_CODEC_PCMU);
    assert_int_equal(sb_codec_from_name("Telephone-Event"), SB_CODEC_TELEPHONE_EVENT);
    assert_int_equal(sb_codec_from_name("flexfec-03"), SB_CODEC_FLEXFEC);
    assert_int_equal(sb_codec_from_name("RTX"), SB_CODEC_RTX);
    assert_int_equal(sb_codec_from_name("vp"), SB_CODEC_UNKNOWN);
    assert_int_equal(sb_codec_from_name("vp88"), SB_CODEC_UNKNOWN);
    assert_int_equal(sb_codec_from_name(""), SB_CODEC_UNKNOWN);
    assert_int_equal(sb_codec_from_name(NULL), SB_CODEC_UNKNOWN);
    assert_int_equal(sb_codec_from_name_n("VP8/90000", 3), SB_CODEC_VP8);
    assert_int_equal(sb_codec_from_name_n(NULL, 3), SB_CODEC_UNKNOWN);
    for (int c = SB_CODEC_OPUS; c < SB_CODEC_COUNT_; c++)
        assert_int_equal(sb_codec_from_name(sb_codec_name((sb_codec_t)c)), c);
    assert_string_equal(sb_codec_name(SB_CODEC_H264), "H264");
    assert_string_equal(sb_codec_name(SB_CODEC_AV1), "AV1");
    assert_string_equal(sb_codec_name(SB_CODEC_UNKNOWN), "unknown");
    assert_true(sb_codec_is_audio(SB_CODEC_OPUS));
    assert_true(sb_codec_is_audio(SB_CODEC_G722));
    assert_false(sb_codec_is_audio(SB_CODEC_VP8));
    assert_true(sb_codec_is_video(SB_CODEC_AV1));
    assert_false(sb_codec_is_video(SB_CODEC_RTX));
    assert_false(sb_codec_is_video(SB_CODEC_UNKNOWN));
}

static void test_keyframe_dispatch(void **state)
{
    (void)state;
    const uint8_t x[1] = {0};
    assert_true(sb_codec_is_keyframe(SB_CODEC_OPUS, NULL, 0));
    assert_true(sb_codec_is_keyframe(SB_CODEC_PCMA, x, 1));
    assert_false(sb_codec_is_keyframe(SB_CODEC_VP8, NULL, 0));
    assert_false(sb_codec_is_keyframe(SB_CODEC_RTX, x, 1));
    assert_false(sb_codec_is_keyframe(SB_CODEC_UNKNOWN, x, 1));
}

/* S=1 PID=0, no X; frame tag of a keyframe; 640x480 with horizontal scale 1. */
static const uint8_t vp8_key[] = {0x10, 0x10, 0x02, 0x00, 0x9d, 0x01,
                                  0x2a, 0x80, 0x42, 0xe0, 0x01, 0xaa};

static void test_vp8_keyframe(void **state)
{
    (void)state;
    sb_vp8_desc_t d;
    uint8_t p[sizeof(vp8_key)];

    assert_int_equal(sb_vp8_parse(vp8_key, sizeof(vp8_key), &d), 0);
    assert_true(d.start);
    assert_true(d.frame_start);
    assert_true(d.keyframe);
    assert_int_equal(d.header_len, 1);
    assert_int_equal(d.width, 640);
    assert_int_equal(d.horiz_scale, 1);
    assert_int_equal(d.height, 480);
    assert_int_equal(d.vert_scale, 0);
    assert_true(sb_codec_is_keyframe(SB_CODEC_VP8, vp8_key, sizeof(vp8_key)));
    /* Keyframe without room for the size: still a keyframe. */
    assert_int_equal(sb_vp8_parse(vp8_key, 6, &d), 0);
    assert_true(d.keyframe);
    assert_int_equal(d.width, 0);
    /* Frame tag cut short on a frame start. */
    assert_int_equal(sb_vp8_parse(vp8_key, 3, &d), SB_EINVAL);

    memcpy(p, vp8_key, sizeof(p));
    p[1] |= 0x01; /* inter frame */
    assert_int_equal(sb_vp8_parse(p, sizeof(p), &d), 0);
    assert_false(d.keyframe);
    memcpy(p, vp8_key, sizeof(p));
    p[0] = 0x00; /* not a partition start */
    assert_int_equal(sb_vp8_parse(p, sizeof(p), &d), 0);
    assert_false(d.frame_start);
    assert_false(d.keyframe);
    p[0] = 0x11; /* start of partition 1 */
    assert_int_equal(sb_vp8_parse(p, sizeof(p), &d), 0);
    assert_false(d.frame_start);
    assert_int_equal(d.partition_id, 1);
    assert_false(sb_codec_is_keyframe(SB_CODEC_VP8, p, sizeof(p)));
}

static void test_vp8_extensions(void **state)
{
    (void)state;
    sb_vp8_desc_t d;
    /* X, N, S | I L T K | M pid 0x0123 | tl0 5 | tid 2 Y keyidx 3 | payload */
    uint8_t p[] = {0xb0, 0xf0, 0x81, 0x23, 0x05, 0xa3, 0x01, 0x00, 0x00};

    assert_int_equal(sb_vp8_parse(p, sizeof(p), &d), 0);
    assert_true(d.non_reference);
    assert_true(d.has_picture_id);
    assert_true(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 0x0123);
    assert_true(d.has_tl0picidx);
    assert_int_equal(d.tl0picidx, 5);
    assert_true(d.has_tid);
    assert_int_equal(d.tid, 2);
    assert_true(d.layer_sync);
    assert_true(d.has_keyidx);
    assert_int_equal(d.keyidx, 3);
    assert_int_equal(d.header_len, 6);
    assert_false(d.keyframe); /* P bit set in the frame tag */
    /* Every truncation fails: descriptor bytes or the payload missing. */
    for (size_t l = 0; l <= 6; l++)
        assert_int_equal(sb_vp8_parse(p, l, &d), SB_EINVAL);

    /* Rewrite both fields and read them back. */
    assert_int_equal(sb_vp8_set_picture_id(p, &d, 0x7ffe), 0);
    assert_int_equal(sb_vp8_set_tl0picidx(p, &d, 200), 0);
    assert_int_equal(sb_vp8_parse(p, sizeof(p), &d), 0);
    assert_int_equal(d.picture_id, 0x7ffe);
    assert_true(d.picture_id_15bit);
    assert_int_equal(d.tl0picidx, 200);
    assert_int_equal(d.tid, 2);

    /* 7-bit picture id, K without T, no L. */
    uint8_t q[] = {0x90, 0x90, 0x7f, 0x1f, 0x10, 0x02, 0x00};
    assert_int_equal(sb_vp8_parse(q, sizeof(q), &d), 0);
    assert_false(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 0x7f);
    assert_false(d.has_tid);
    assert_true(d.has_keyidx);
    assert_int_equal(d.keyidx, 31);
    assert_int_equal(d.header_len, 4);
    assert_true(d.keyframe);
    assert_int_equal(sb_vp8_set_picture_id(q, &d, 0x1234), 0);
    assert_int_equal(sb_vp8_parse(q, sizeof(q), &d), 0);
    assert_int_equal(d.picture_id, 0x34);
    assert_int_equal(sb_vp8_set_tl0picidx(q, &d, 1), SB_ENOENT);
    /* L without I. */
    uint8_t r[] = {0x80, 0x40, 0x09, 0x00};
    assert_int_equal(sb_vp8_parse(r, sizeof(r), &d), 0);
    assert_int_equal(sb_vp8_set_picture_id(r, &d, 1), SB_ENOENT);
    assert_int_equal(sb_vp8_set_tl0picidx(r, &d, 10), 0);
    assert_int_equal(r[2], 10);
    assert_int_equal(sb_vp8_parse(NULL, 4, &d), SB_EINVAL);
}

static void test_vp9_non_flexible(void **state)
{
    (void)state;
    sb_vp9_desc_t d;
    /* I L B E | M pid 0x0102 | tid 1 U sid 0 | tl0 7 | payload */
    uint8_t p[] = {0xac, 0x81, 0x02, 0x30, 0x07, 0x00};

    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_true(d.has_picture_id);
    assert_true(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 0x0102);
    assert_true(d.has_layer);
    assert_false(d.flexible);
    assert_true(d.start);
    assert_true(d.end);
    assert_int_equal(d.tid, 1);
    assert_true(d.switching_up);
    assert_int_equal(d.sid, 0);
    assert_true(d.has_tl0picidx);
    assert_int_equal(d.tl0picidx, 7);
    assert_int_equal(d.header_len, 5);
    assert_true(d.keyframe);
    assert_true(sb_codec_is_keyframe(SB_CODEC_VP9, p, sizeof(p)));
    for (size_t l = 0; l <= 5; l++)
        assert_int_equal(sb_vp9_parse(p, l, &d), SB_EINVAL);

    p[3] = 0x32; /* sid 1: not the base layer */
    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_int_equal(d.sid, 1);
    assert_false(d.keyframe);
    p[3] = 0x30;
    p[0] |= 0x40; /* P: inter-picture */
    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_false(d.keyframe);
    p[0] &= (uint8_t)~0x48; /* not a start */
    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_false(d.keyframe);

    /* Minimal: B only, 7-bit picture id absent. */
    const uint8_t m[] = {0x08, 0xff};
    assert_int_equal(sb_vp9_parse(m, sizeof(m), &d), 0);
    assert_true(d.keyframe);
    assert_int_equal(d.header_len, 1);
}

static void test_vp9_flexible(void **state)
{
    (void)state;
    sb_vp9_desc_t d;
    /* I P L F B | pid 5 | tid 2 sid 1 D | pdiff 1 N | pdiff 2 N | pdiff 3 | payload */
    uint8_t p[] = {0xf8, 0x05, 0x43, 0x03, 0x05, 0x06, 0x00};

    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_true(d.flexible);
    assert_false(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 5);
    assert_int_equal(d.tid, 2);
    assert_int_equal(d.sid, 1);
    assert_true(d.inter_layer);
    assert_false(d.has_tl0picidx);
    assert_int_equal(d.num_refs, 3);
    assert_int_equal(d.p_diff[0], 1);
    assert_int_equal(d.p_diff[1], 2);
    assert_int_equal(d.p_diff[2], 3);
    assert_int_equal(d.header_len, 6);
    assert_false(d.keyframe);
    /* A fourth reference is not allowed. */
    p[5] = 0x07;
    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), SB_EINVAL);
    for (size_t l = 0; l < 6; l++)
        assert_int_equal(sb_vp9_parse(p, l, &d), SB_EINVAL);
}

static void test_vp9_ss(void **state)
{
    (void)state;
    sb_vp9_desc_t d;
    /* I B V | pid 1 | N_S=2 Y G | 3 x (w, h) | N_G=2 | tid0 R=1 pdiff | tid1 R=2 pdiff pdiff |
     * payload */
    uint8_t p[] = {0x8a, 0x01, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68,
                   0x05, 0x00, 0x02, 0xd0, 0x02, 0x04, 0x01, 0x28, 0x01, 0x02, 0x99};

    assert_int_equal(sb_vp9_parse(p, sizeof(p), &d), 0);
    assert_true(d.has_ss);
    assert_int_equal(d.ss_layers, 3);
    assert_true(d.ss_has_resolution);
    assert_int_equal(d.width[0], 320);
    assert_int_equal(d.height[0], 180);
    assert_int_equal(d.width[1], 640);
    assert_int_equal(d.height[1], 360);
    assert_int_equal(d.width[2], 1280);
    assert_int_equal(d.height[2], 720);
    assert_int_equal(d.header_len, sizeof(p) - 1);
    assert_true(d.keyframe);
    for (size_t l = 0; l < sizeof(p); l++)
        assert_int_equal(sb_vp9_parse(p, l, &d), SB_EINVAL);
}

static void test_h264(void **state)
{
    (void)state;
    sb_h264_info_t h;
    const uint8_t idr[] = {0x65, 0x88};
    const uint8_t sps[] = {0x67, 0x42};
    const uint8_t slice[] = {0x41, 0x9a};

    assert_int_equal(sb_h264_parse(idr, sizeof(idr), &h), 0);
    assert_true(h.keyframe);
    assert_true(h.has_idr);
    assert_int_equal(h.nal_type, 5);
    assert_int_equal(sb_h264_parse(sps, sizeof(sps), &h), 0);
    assert_true(h.keyframe);
    assert_true(h.has_sps);
    assert_int_equal(sb_h264_parse(slice, sizeof(slice), &h), 0);
    assert_false(h.keyframe);
    assert_false(sb_codec_is_keyframe(SB_CODEC_H264, slice, sizeof(slice)));
    assert_true(sb_codec_is_keyframe(SB_CODEC_H264, idr, 1));

    /* STAP-A: SPS, PPS, IDR. */
    uint8_t stap[] = {0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce,
                      0x00, 0x03, 0x65, 0x88, 0x84};
    assert_int_equal(sb_h264_parse(stap, sizeof(stap), &h), 0);
    assert_int_equal(h.packet_type, 24);
    assert_int_equal(h.nal_type, 7);
    assert_true(h.has_sps);
    assert_true(h.has_pps);
    assert_true(h.has_idr);
    assert_true(h.keyframe);
    for (size_t l = 0; l < sizeof(stap); l++) {
        /* Every cut inside a unit fails; cuts between units leave a valid shorter STAP-A. */
        int rc = sb_h264_parse(stap, l, &h);
        bool boundary = l == 5 || l == 9;
        assert_int_equal(rc, boundary ? 0 : SB_EINVAL);
    }
    stap[10] = 0x04; /* last unit claims one byte too many */
    assert_int_equal(sb_h264_parse(stap, sizeof(stap), &h), SB_EINVAL);
    stap[10] = 0x00; /* an empty unit */
    assert_int_equal(sb_h264_parse(stap, sizeof(stap), &h), SB_EINVAL);

    /* FU-A of an IDR: start, middle, end; S and E together is invalid. */
    uint8_t fu[] = {0x7c, 0x85, 0xaa};
    assert_int_equal(sb_h264_parse(fu, sizeof(fu), &h), 0);
    assert_true(h.fu_start);
    assert_int_equal(h.nal_type, 5);
    assert_true(h.keyframe);
    fu[1] = 0x05;
    assert_int_equal(sb_h264_parse(fu, sizeof(fu), &h), 0);
    assert_true(h.has_idr);
    assert_false(h.keyframe);
    fu[1] = 0x45;
    assert_int_equal(sb_h264_parse(fu, sizeof(fu), &h), 0);
    assert_true(h.fu_end);
    fu[1] = 0xc5;
    assert_int_equal(sb_h264_parse(fu, sizeof(fu), &h), SB_EINVAL);
    assert_int_equal(sb_h264_parse(fu, 2, &h), SB_EINVAL);

    const uint8_t bad0[] = {0x00, 0x00};
    const uint8_t stapb[] = {0x79, 0x00};
    const uint8_t fub[] = {0x7d, 0x85, 0x00};
    assert_int_equal(sb_h264_parse(bad0, 2, &h), SB_EINVAL);
    assert_int_equal(sb_h264_parse(stapb, 2, &h), SB_ENOTSUP);
    assert_int_equal(sb_h264_parse(fub, 3, &h), SB_ENOTSUP);
    assert_int_equal(sb_h264_parse(idr, 0, &h), SB_EINVAL);
}

static void test_h265(void **state)
{
    (void)state;
    const uint8_t idr[] = {0x26, 0x01, 0xaf};    /* IDR_W_RADL (19) */
    const uint8_t trail[] = {0x02, 0x01, 0xaf};  /* TRAIL_R (1) */
    uint8_t fu[] = {0x62, 0x01, 0x93, 0x00};     /* FU, S, type 19 */
    const uint8_t ap[] = {0x60, 0x01, 0x00, 0x03, 0x02, 0x01, 0xaa,
                          0x00, 0x03, 0x40, 0x01, 0x0c}; /* TRAIL then VPS */

    assert_true(sb_h265_is_keyframe(idr, sizeof(idr)));
    assert_true(sb_codec_is_keyframe(SB_CODEC_H265, idr, sizeof(idr)));
    assert_false(sb_h265_is_keyframe(trail, sizeof(trail)));
    assert_true(sb_h265_is_keyframe(fu, sizeof(fu)));
    fu[2] = 0x13; /* not the start */
    assert_false(sb_h265_is_keyframe(fu, sizeof(fu)));
    assert_true(sb_h265_is_keyframe(ap, sizeof(ap)));
    assert_false(sb_h265_is_keyframe(ap, sizeof(ap) - 1)); /* VPS unit cut short */
    assert_false(sb_h265_is_keyframe(idr, 2));
}

static void test_av1(void **state)
{
    (void)state;
    sb_av1_info_t a;
    /* N, W=1: one element to the end. */
    const uint8_t key[] = {0x18, 0x0a, 0x0b, 0x00};
    /* W=0: two length-prefixed elements. */
    const uint8_t w0[] = {0x00, 0x01, 0x30, 0x02, 0x30, 0x31};
    /* W=2: a length-prefixed element, then the last to the end; Z and Y set. */
    const uint8_t w2[] = {0xe0, 0x01, 0x30, 0x32, 0x33};
    /* A two-byte LEB128 length: 130. */
    uint8_t big[2 + 2 + 130];

    assert_int_equal(sb_av1_parse(key, sizeof(key), &a), 0);
    assert_true(a.new_sequence);
    assert_int_equal(a.w, 1);
    assert_int_equal(a.elements, 1);
    assert_true(sb_codec_is_keyframe(SB_CODEC_AV1, key, sizeof(key)));
    assert_int_equal(sb_av1_parse(w0, sizeof(w0), &a), 0);
    assert_false(a.new_sequence);
    assert_int_equal(a.elements, 2);
    assert_false(sb_codec_is_keyframe(SB_CODEC_AV1, w0, sizeof(w0)));
    assert_int_equal(sb_av1_parse(w0, sizeof(w0) - 1, &a), SB_EINVAL);
    assert_int_equal(sb_av1_parse(w2, sizeof(w2), &a), 0);
    assert_true(a.continuation);
    assert_true(a.continues);
    assert_int_equal(a.elements, 2);
    assert_int_equal(sb_av1_parse(w2, 3, &a), SB_EINVAL); /* last element missing */
    assert_int_equal(sb_av1_parse(key, 1, &a), SB_EINVAL);

    memset(big, 0, sizeof(big));
    big[0] = 0x08;
    big[1] = 0x82;
    big[2] = 0x01;
    assert_int_equal(sb_av1_parse(big, 3 + 130, &a), 0);
    assert_int_equal(a.elements, 1);
    assert_int_equal(sb_av1_parse(big, 3 + 129, &a), SB_EINVAL);
    /* An unterminated LEB128. */
    const uint8_t leb[] = {0x00, 0x80, 0x80};
    assert_int_equal(sb_av1_parse(leb, sizeof(leb), &a), SB_EINVAL);
    const uint8_t leb9[] = {0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(sb_av1_parse(leb9, sizeof(leb9), &a), SB_EINVAL);
}

/* RED (RFC 2198): the primary block after the redundant ones, malformed headers. */
static void test_red(void **state)
{
    (void)state;
    uint8_t pt;
    size_t off;
    /* one redundant block (F=1 PT 111, ts offset 960, length 3), then the primary (PT 111) */
    const uint8_t two[] = {0xef, 0x0f, 0x00, 0x03, 0x6f, 1, 2, 3, 9, 8, 7, 6};
    assert_int_equal(sb_red_primary(two, sizeof(two), &pt, &off), 0);
    assert_int_equal(pt, 111);
    assert_int_equal(off, 8);
    /* no redundancy: the one-byte header only */
    const uint8_t one[] = {0x6f, 5, 6};
    assert_int_equal(sb_red_primary(one, sizeof(one), &pt, &off), 0);
    assert_int_equal(off, 1);
    /* an empty primary is fine (it may be a DTX gap) */
    assert_int_equal(sb_red_primary(two, 8, &pt, &off), 0);
    assert_int_equal(off, 8);
    /* redundant data longer than the packet, truncated headers, no last header */
    assert_int_equal(sb_red_primary(two, 7, &pt, &off), SB_EINVAL);
    const uint8_t cut[] = {0xef, 0x0f, 0x00};
    assert_int_equal(sb_red_primary(cut, sizeof(cut), &pt, &off), SB_EINVAL);
    const uint8_t all_f[] = {0xef, 0x0f, 0x00, 0x00, 0xef, 0x0f, 0x00, 0x00};
    assert_int_equal(sb_red_primary(all_f, sizeof(all_f), &pt, &off), SB_EINVAL);
    assert_int_equal(sb_red_primary(two, 0, &pt, &off), SB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_keyframe_dispatch),
        cmocka_unit_test(test_vp8_keyframe),
        cmocka_unit_test(test_vp8_extensions),
        cmocka_unit_test(test_vp9_non_flexible),
        cmocka_unit_test(test_vp9_flexible),
        cmocka_unit_test(test_vp9_ss),
        cmocka_unit_test(test_h264),
        cmocka_unit_test(test_h265),
        cmocka_unit_test(test_av1),
        cmocka_unit_test(test_red),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
