/* RFC 7983 first-byte demux: every range boundary, minimum lengths, the STUN cookie, and the
 * RFC 5761 RTP/RTCP split with and without the marker bit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "proto/demux.h"

static sb_pkt_kind_t classify_first(uint8_t first, uint8_t second, size_t len)
{
    uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    buf[0] = first;
    buf[1] = second;
    /* A valid STUN cookie, so only the first byte decides. */
    buf[4] = 0x21;
    buf[5] = 0x12;
    buf[6] = 0xA4;
    buf[7] = 0x42;
    return sb_demux_classify(buf, len);
}

static void test_ranges(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        sb_pkt_kind_t k = classify_first((uint8_t)b, 96, 64);
        sb_pkt_kind_t want = SB_PKT_UNKNOWN;
        if (b <= 3)
            want = SB_PKT_STUN;
        else if (b >= 20 && b <= 63)
            want = SB_PKT_DTLS;
        else if (b >= 128 && b <= 191)
            want = SB_PKT_RTP;
        assert_int_equal(k, want);
    }
}

static void test_rtp_rtcp_split(void **state)
{
    (void)state;
    /* PT 64..95 (RTCP 192..223 with the marker bit masked) is RTCP, marker set or not. */
    for (unsigned pt = 0; pt < 256; pt++) {
        sb_pkt_kind_t k = classify_first(0x80, (uint8_t)pt, 64);
        unsigned masked = pt & 0x7f;
        assert_int_equal(k, masked >= 64 && masked <= 95 ? SB_PKT_RTCP : SB_PKT_RTP);
    }
    assert_int_equal(classify_first(0x81, 200, 8), SB_PKT_RTCP); /* SR */
    assert_int_equal(classify_first(0x81, 201, 8), SB_PKT_RTCP); /* RR */
    assert_int_equal(classify_first(0x81, 206, 12), SB_PKT_RTCP); /* PSFB */
    assert_int_equal(classify_first(0x80, 0xE0, 12), SB_PKT_RTP); /* PT 96 with marker */
    assert_int_equal(classify_first(0x80, 111, 12), SB_PKT_RTP);
}

static void test_min_lengths(void **state)
{
    (void)state;
    assert_int_equal(classify_first(0x80, 96, 11), SB_PKT_UNKNOWN);
    assert_int_equal(classify_first(0x80, 96, 12), SB_PKT_RTP);
    assert_int_equal(classify_first(0x80, 200, 7), SB_PKT_UNKNOWN);
    assert_int_equal(classify_first(0x80, 200, 8), SB_PKT_RTCP);
    assert_int_equal(classify_first(22, 0xfe, 12), SB_PKT_UNKNOWN);
    assert_int_equal(classify_first(22, 0xfe, 13), SB_PKT_DTLS);
    assert_int_equal(classify_first(0, 1, 19), SB_PKT_UNKNOWN);
    assert_int_equal(classify_first(0, 1, 20), SB_PKT_STUN);
    assert_int_equal(sb_demux_classify(NULL, 0), SB_PKT_UNKNOWN);
    assert_int_equal(sb_demux_classify(NULL, 100), SB_PKT_UNKNOWN);
    uint8_t one = 0x80;
    assert_int_equal(sb_demux_classify(&one, 1), SB_PKT_UNKNOWN);
    assert_int_equal(sb_demux_classify(&one, 0), SB_PKT_UNKNOWN);
}

static void test_stun_cookie(void **state)
{
    (void)state;
    uint8_t buf[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    assert_int_equal(sb_demux_classify(buf, sizeof(buf)), SB_PKT_STUN);
    buf[7] = 0x43;
    assert_int_equal(sb_demux_classify(buf, sizeof(buf)), SB_PKT_UNKNOWN);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sb_demux_kind_name(SB_PKT_STUN), "stun");
    assert_string_equal(sb_demux_kind_name(SB_PKT_DTLS), "dtls");
    assert_string_equal(sb_demux_kind_name(SB_PKT_RTP), "rtp");
    assert_string_equal(sb_demux_kind_name(SB_PKT_RTCP), "rtcp");
    assert_string_equal(sb_demux_kind_name(SB_PKT_UNKNOWN), "unknown");
    assert_string_equal(sb_demux_kind_name((sb_pkt_kind_t)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_rtp_rtcp_split),
        cmocka_unit_test(test_min_lengths),
        cmocka_unit_test(test_stun_cookie),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
