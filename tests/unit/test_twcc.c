/* Transport-wide CC: feedback we write parses back (RTCP parser and decoder) into the
 * arrival times we recorded, across losses, reordering, sequence wrap-around, long gaps and
 * splits; the sender matches feedback to what it sent, once per packet, across reordered,
 * repeated, stale and hostile messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "proto/twcc.h"

#define MS 1000

/* Parse one written message back into its twcc view. */
static void parse_msg(const uint8_t *buf, int len, sb_rtcp_twcc_t *out)
{
    assert_true(len > 0 && len % 4 == 0);
    assert_int_equal(sb_rtcp_validate(buf, (size_t)len), 0);
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_iter_init(&it, buf, (size_t)len);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    sb_rtcp_fb_t fb;
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.sender_ssrc, 0x1111);
    assert_int_equal(fb.media_ssrc, 0x2222);
    assert_int_equal(sb_rtcp_parse_twcc(&fb, out), 0);
}

/* Drain every feedback message and check each status against arrival[] (us, 250 us units,
 * rounding down) — absolute times follow from the reference time. Returns messages read. */
static int drain_and_check(sb_twcc_recv_t *r, const int64_t *arrival_by_seq, uint16_t *next_seq,
                           int64_t now, uint8_t *fb_count)
{
    uint8_t buf[1200];
    int msgs = 0, len;
    static sb_rtcp_twcc_pkt_t pk[4096];
    while ((len = sb_twcc_recv_write(r, 0x1111, 0x2222, now, buf, sizeof(buf))) > 0) {
        sb_rtcp_twcc_t t;
        parse_msg(buf, len, &t);
        assert_int_equal(t.base_seq, *next_seq);
        assert_int_equal(t.fb_count, *fb_count);
        (*fb_count)++;
        int n = sb_rtcp_twcc_decode(&t, pk, 4096);
        assert_int_equal(n, t.status_count);
        int64_t ticks = (int64_t)t.ref_time * 256;
        for (int i = 0; i < n; i++) {
            int64_t want = arrival_by_seq[(uint16_t)(t.base_seq + i)];
            if (want == 0) {
                assert_int_equal(pk[i].status, SB_TWCC_NOT_RECEIVED);
                continue;
            }
            assert_int_not_equal(pk[i].status, SB_TWCC_NOT_RECEIVED);
            ticks += pk[i].delta;
            assert_int_equal(ticks, want / 250);
        }
        *next_seq = (uint16_t)(t.base_seq + n);
        msgs++;
    }
    assert_true(len == 0);
    return msgs;
}

static void test_roundtrip_loss_reorder_wrap(void **state)
{
    (void)state;
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    static int64_t arrival[65536];
    memset(arrival, 0, sizeof(arrival));
    uint16_t next = 65500, fb_next = 65500;
    uint8_t fbc = 0;
    int64_t t = 5 * 1000 * MS;
    assert_false(sb_twcc_recv_due(r, t, 50 * MS));
    assert_int_equal(sb_twcc_recv_write(r, 1, 2, t, (uint8_t[64]){0}, 64), 0);
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 20; k++) {
            uint16_t seq = next++;
            t += 700 + (k % 3) * 900; /* small deltas, with some over 255 ticks below */
            if (k == 7 && round % 4 == 0)
                t += 80 * MS; /* a large delta */
            if (k == 5 || (round == 3 && k > 10))
                continue; /* lost */
            if (k == 12) { /* arrives after 13 */
                uint16_t s13 = next++;
                arrival[s13] = t;
                sb_twcc_recv_packet(r, s13, t);
                t += 300;
                k++;
            }
            arrival[seq] = t;
            sb_twcc_recv_packet(r, seq, t);
            sb_twcc_recv_packet(r, seq, t + 5); /* a duplicate changes nothing */
        }
        assert_true(sb_twcc_recv_due(r, t + 50 * MS, 50 * MS));
        drain_and_check(r, arrival, &fb_next, t, &fbc);
        assert_false(sb_twcc_recv_due(r, t + 50 * MS, 50 * MS));
    }
    /* The wrap happened and every sequence number was reported once, in order. */
    assert_int_equal(fb_next, next);
    /* A packet older than what was reported is late, not reported again. */
    sb_twcc_recv_packet(r, (uint16_t)(next - 30), t);
    sb_twcc_recv_stats_t st;
    sb_twcc_recv_get_stats(r, &st);
    assert_int_equal(st.late, 1);
    assert_false(sb_twcc_recv_due(r, t + 50 * MS, 50 * MS));
    sb_twcc_recv_free(r);
}

static void test_long_gap_splits_message(void **state)
{
    (void)state;
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    static int64_t arrival[65536];
    memset(arrival, 0, sizeof(arrival));
    arrival[10] = 1000 * MS;
    arrival[11] = 1000 * MS + 9000 * MS; /* 9 s later: no int16 delta in 250 us units */
    arrival[12] = 1000 * MS + 9001 * MS;
    for (uint16_t s = 10; s <= 12; s++)
        sb_twcc_recv_packet(r, s, arrival[s]);
    uint16_t fb_next = 10;
    uint8_t fbc = 0;
    assert_int_equal(drain_and_check(r, arrival, &fb_next, 0, &fbc), 2);
    assert_int_equal(fb_next, 13);
    sb_twcc_recv_free(r);
}

static void test_many_packets_and_small_buffer(void **state)
{
    (void)state;
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    static int64_t arrival[65536];
    memset(arrival, 0, sizeof(arrival));
    int64_t t = 1;
    for (uint16_t s = 0; s < 900; s++) {
        t += (s % 11 == 0) ? 70 * MS : 400;
        if (s % 17 == 3)
            continue;
        arrival[s] = t;
        sb_twcc_recv_packet(r, s, t);
    }
    assert_true(sb_twcc_recv_due(r, 0, 1000 * MS)); /* many waiting: due at once */
    uint16_t fb_next = 0;
    uint8_t fbc = 0;
    int msgs = drain_and_check(r, arrival, &fb_next, t, &fbc);
    assert_true(msgs >= 2); /* at most 512 statuses in one message */
    assert_int_equal(fb_next, 900);
    /* A tiny buffer: an error, not an overflow. */
    sb_twcc_recv_packet(r, 900, t + 1);
    uint8_t small[24];
    assert_int_equal(sb_twcc_recv_write(r, 1, 2, t, small, sizeof(small)), SB_ERANGE);
    sb_twcc_recv_free(r);
}

static void test_jump_gives_up_old(void **state)
{
    (void)state;
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    sb_twcc_recv_packet(r, 100, 1000);
    sb_twcc_recv_packet(r, 30000, 2000); /* far ahead: the ring holds the last 1,024 */
    uint8_t buf[1200];
    int len, total = 0;
    uint16_t first = 0;
    bool got_first = false;
    while ((len = sb_twcc_recv_write(r, 0x1111, 0x2222, 0, buf, sizeof(buf))) > 0) {
        sb_rtcp_twcc_t tw;
        parse_msg(buf, len, &tw);
        if (!got_first)
            first = tw.base_seq;
        got_first = true;
        total += tw.status_count;
    }
    assert_int_equal(first, 30000 - 1023);
    assert_int_equal(total, 1024);
    sb_twcc_recv_free(r);
}

/* Sender: feedback produced by our own receiver for what was "delivered". */
static void test_sender_matches_feedback(void **state)
{
    (void)state;
    sb_twcc_send_t *s = sb_twcc_send_new();
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    int64_t send_at[200];
    uint8_t msgs[4][1200];
    int lens[4];
    for (int i = 0; i < 200; i++) {
        send_at[i] = 1000 * MS + i * 2 * MS;
        uint16_t seq = sb_twcc_send_next(s, send_at[i], 1000 + (uint32_t)i, i >= 150 ? 7 : -1);
        assert_int_equal(seq, (uint16_t)(i + 1));
        if (i % 10 != 9) /* every tenth lost */
            sb_twcc_recv_packet(r, seq, 50 * MS + send_at[i] + (i >= 100 ? 20 * MS : 0));
        if (i % 50 == 49)
            lens[i / 50] = sb_twcc_recv_write(r, 0x1111, 0x2222, 0, msgs[i / 50], 1200);
    }
    sb_bwe_result_t res[512];
    /* Deliver message 1 before message 0 (reordered), then message 1 again (repeated). */
    int order[] = {1, 0, 1, 2, 3};
    int total = 0, lost = 0;
    for (int k = 0; k < 5; k++) {
        sb_rtcp_twcc_t tw;
        parse_msg(msgs[order[k]], lens[order[k]], &tw);
        int n = sb_twcc_send_on_feedback(s, &tw, res, 512);
        assert_true(n >= 0);
        if (k == 2)
            assert_int_equal(n, 0); /* the repeat reports nothing new */
        for (int i = 0; i < n; i++) {
            int idx = (int)res[i].seq - 1;
            assert_true(idx >= 0 && idx < 200);
            assert_int_equal(res[i].send_us, send_at[idx]);
            assert_int_equal(res[i].size, 1000 + idx);
            assert_int_equal(res[i].probe, idx >= 150 ? 7 : -1);
            if (idx % 10 == 9) {
                assert_int_equal(res[i].recv_us, -1);
                lost++;
            } else {
                assert_true(res[i].recv_us >= 0);
            }
            if (i > 0)
                assert_true(res[i].seq > res[i - 1].seq);
            total++;
        }
    }
    /* The last packet was lost: nothing after it arrived, so no feedback can report it. */
    assert_int_equal(total, 199);
    assert_int_equal(lost, 19);
    /* One-way delay differences survive the 250 us rounding: the later half is 20 ms later. */
    sb_rtcp_twcc_t tw;
    sb_twcc_send_t *s2 = sb_twcc_send_new();
    for (int i = 0; i < 200; i++)
        sb_twcc_send_next(s2, send_at[i], 1000, -1);
    int64_t owd[4];
    for (int k = 0; k < 4; k++) {
        parse_msg(msgs[k], lens[k], &tw);
        int n = sb_twcc_send_on_feedback(s2, &tw, res, 512);
        assert_true(n > 0);
        int first = res[0].recv_us < 0 ? 1 : 0; /* a message may start with a loss */
        owd[k] = res[first].recv_us - res[first].send_us;
    }
    assert_true(llabs(owd[1] - owd[0]) <= 250);
    assert_true(llabs(owd[2] - owd[0] - 20 * MS) <= 250);
    sb_twcc_send_free(s2);
    sb_twcc_recv_free(r);
    sb_twcc_send_free(s);
}

static void test_sender_hostile_feedback(void **state)
{
    (void)state;
    sb_twcc_send_t *s = sb_twcc_send_new();
    for (int i = 0; i < 5000; i++)
        sb_twcc_send_next(s, i * MS, 1200, -1);
    sb_bwe_result_t res[64];
    /* Statuses for packets never sent (ahead of us) or forgotten (far behind). */
    uint8_t data[] = {0x20, 0x0a, 0, 0}; /* run of 10 "small delta", deltas missing */
    sb_rtcp_twcc_t tw = {.base_seq = 6000, .status_count = 10, .data = data, .data_len = 2};
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 64), SB_EPROTO);
    uint8_t ok[] = {0x20, 0x0a, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    tw = (sb_rtcp_twcc_t){.base_seq = 6000, .status_count = 10, .data = ok, .data_len = 12};
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 64), 0);
    tw.base_seq = 100; /* long forgotten */
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 64), 0);
    /* A huge status count: refused without reading past the data. */
    tw = (sb_rtcp_twcc_t){.base_seq = 4990, .status_count = 65535, .data = ok, .data_len = 12};
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 64), 0);
    /* Output bounded by max; the rest is marked reported all the same. */
    uint8_t ok2[] = {0x20, 0x0a, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    tw = (sb_rtcp_twcc_t){.base_seq = 4990, .status_count = 10, .data = ok2, .data_len = 12,
                          .ref_time = 0xffffff};
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 4), 4);
    assert_int_equal(res[3].seq, 4993);
    tw.ref_time = 0; /* a reference time wrapping backwards keeps times sane */
    assert_int_equal(sb_twcc_send_on_feedback(s, &tw, res, 64), 0);
    sb_twcc_send_stats_t st;
    sb_twcc_send_get_stats(s, &st);
    assert_int_equal(st.malformed, 2);
    assert_true(st.unknown >= 20);
    sb_twcc_send_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_loss_reorder_wrap),
        cmocka_unit_test(test_long_gap_splits_message),
        cmocka_unit_test(test_many_packets_and_small_buffer),
        cmocka_unit_test(test_jump_gives_up_old),
        cmocka_unit_test(test_sender_matches_feedback),
        cmocka_unit_test(test_sender_hostile_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
