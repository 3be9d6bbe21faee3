/* Unit tests for src/proto/dcep.c (RFC 8832): a DATA_CHANNEL_OPEN written by hand from the
 * RFC's figure parses; every channel type round-trips; ACK; and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "switchboard/error.h"
#include "proto/dcep.h"

/* RFC 8832 section 5.1: type 0x03, channel type 0x81 (partial reliable, retransmits,
 * unordered), priority 256, reliability 3, label "chat", protocol "x". */
static void open_from_the_rfc_figure(void **state)
{
    (void)state;
    static const uint8_t msg[] = {0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03,
                                  0x00, 0x04, 0x00, 0x01, 'c', 'h', 'a', 't', 'x'};
    sb_dcep_channel_t ch;
    assert_int_equal(sb_dcep_parse(msg, sizeof(msg), &ch), SB_DCEP_MSG_OPEN);
    assert_false(ch.ordered);
    assert_int_equal(ch.reliability, SB_DCEP_PARTIAL_REXMIT);
    assert_int_equal(ch.reliability_param, 3);
    assert_int_equal(ch.priority, 256);
    assert_string_equal(ch.label, "chat");
    assert_string_equal(ch.protocol, "x");
    uint8_t out[64];
    assert_int_equal(sb_dcep_write_open(&ch, out, sizeof(out)), (int)sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
}

static void every_type_round_trips(void **state)
{
    (void)state;
    static const sb_dcep_reliability_t rel[] = {SB_DCEP_RELIABLE, SB_DCEP_PARTIAL_REXMIT,
                                                SB_DCEP_PARTIAL_TIMED};
    for (int r = 0; r < 3; r++) {
        for (int ordered = 0; ordered <= 1; ordered++) {
            sb_dcep_channel_t ch = {.ordered = ordered, .reliability = rel[r],
                                    .reliability_param = r ? 1500 : 0, .priority = 128};
            strcpy(ch.label, "game-state");
            strcpy(ch.protocol, "");
            uint8_t out[64];
            int n = sb_dcep_write_open(&ch, out, sizeof(out));
            assert_int_equal(n, SB_DCEP_OPEN_FIXED + 10);
            assert_int_equal(out[1], (uint8_t)rel[r] | (ordered ? 0 : 0x80));
            sb_dcep_channel_t back;
            assert_int_equal(sb_dcep_parse(out, (size_t)n, &back), SB_DCEP_MSG_OPEN);
            assert_int_equal(back.ordered, ordered);
            assert_int_equal(back.reliability, rel[r]);
            assert_int_equal(back.reliability_param, r ? 1500 : 0);
            assert_string_equal(back.label, "game-state");
            assert_string_equal(back.protocol, "");
        }
    }
    /* Labels up to the bound pass; the reliability parameter of RELIABLE is ignored. */
    sb_dcep_channel_t big = {.ordered = true, .reliability = SB_DCEP_RELIABLE,
                             .reliability_param = 99};
    memset(big.label, 'a', SB_DCEP_LABEL_MAX);
    uint8_t buf[SB_DCEP_OPEN_MAX];
    int n = sb_dcep_write_open(&big, buf, sizeof(buf));
    assert_int_equal(n, SB_DCEP_OPEN_FIXED + SB_DCEP_LABEL_MAX);
    sb_dcep_channel_t back;
    assert_int_equal(sb_dcep_parse(buf, (size_t)n, &back), SB_DCEP_MSG_OPEN);
    assert_int_equal(back.reliability_param, 0);
    assert_int_equal(strlen(back.label), SB_DCEP_LABEL_MAX);
    assert_int_equal(sb_dcep_write_open(&big, buf, SB_DCEP_OPEN_FIXED), SB_EINVAL);
}

static void ack(void **state)
{
    (void)state;
    uint8_t a[SB_DCEP_ACK_LEN];
    sb_dcep_write_ack(a);
    sb_dcep_channel_t ch;
    assert_int_equal(sb_dcep_parse(a, 1, &ch), SB_DCEP_MSG_ACK);
    uint8_t two[2] = {0x02, 0x00};
    assert_int_equal(sb_dcep_parse(two, 2, &ch), SB_EINVAL);
}

static void refused(void **state)
{
    (void)state;
    uint8_t msg[] = {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00, 'o', 'k'};
    sb_dcep_channel_t ch;
    assert_int_equal(sb_dcep_parse(msg, sizeof(msg), &ch), SB_DCEP_MSG_OPEN);
    for (size_t cut = 0; cut < sizeof(msg); cut++) /* truncated */
        assert_int_equal(sb_dcep_parse(msg, cut, &ch), SB_EINVAL);
    uint8_t longer[sizeof(msg) + 1];
    memcpy(longer, msg, sizeof(msg));
    longer[sizeof(msg)] = 'x'; /* lengths that do not add up */
    assert_int_equal(sb_dcep_parse(longer, sizeof(longer), &ch), SB_EINVAL);
    msg[1] = 0x03; /* unknown channel type */
    assert_int_equal(sb_dcep_parse(msg, sizeof(msg), &ch), SB_EINVAL);
    msg[1] = 0x00;
    msg[0] = 0x04; /* unknown message type */
    assert_int_equal(sb_dcep_parse(msg, sizeof(msg), &ch), SB_EINVAL);
    msg[0] = 0x03;
    msg[13] = '\0'; /* a NUL inside the label */
    assert_int_equal(sb_dcep_parse(msg, sizeof(msg), &ch), SB_EINVAL);
    assert_int_equal(sb_dcep_parse(NULL, 0, &ch), SB_EINVAL);
    /* A label over the bound. */
    static uint8_t huge[SB_DCEP_OPEN_FIXED + SB_DCEP_LABEL_MAX + 1];
    huge[0] = 0x03;
    huge[8] = (SB_DCEP_LABEL_MAX + 1) >> 8;
    huge[9] = (SB_DCEP_LABEL_MAX + 1) & 0xff;
    memset(huge + SB_DCEP_OPEN_FIXED, 'a', SB_DCEP_LABEL_MAX + 1);
    assert_int_equal(sb_dcep_parse(huge, sizeof(huge), &ch), SB_EINVAL);
}

static void stream_parity(void **state)
{
    (void)state;
    assert_true(sb_dcep_stream_is_ours(0, true));
    assert_false(sb_dcep_stream_is_ours(1, true));
    assert_true(sb_dcep_stream_is_ours(1, false));
    assert_false(sb_dcep_stream_is_ours(1022, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_from_the_rfc_figure),
        cmocka_unit_test(every_type_round_trips),
        cmocka_unit_test(ack),
        cmocka_unit_test(refused),
        cmocka_unit_test(stream_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
