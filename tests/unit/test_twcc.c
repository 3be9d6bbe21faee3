/* Transport-wide CC: feedback we write parses back (RTCP parser and decoder) into the
 * arrival times we recorded, across losses, reordering, sequence wrap-around, long gaps and
 * splits; the sender matches feedback to what it sent, once per packet, across reordered,
 * repeated, stale and hostile messages; the number goes into packets in place (overwritten,
 * added to a block, a block made), read back by the RTP parser with everything else kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/error.h"
#include "switchboard/rtp.h"
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

/* What sb_twcc_recv_flush hands over: compounds within the MTU, every message in them. */
typedef struct flushed {
    unsigned compounds, msgs;
    size_t largest;
    uint16_t next_seq;
} flushed_t;

static void on_compound(void *arg, uint8_t *buf, size_t len)
{
    flushed_t *f = arg;
    f->compounds++;
    f->largest = len > f->largest ? len : f->largest;
    assert_int_equal(sb_rtcp_validate(buf, len), 0);
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_iter_init(&it, buf, len);
    while (sb_rtcp_iter_next(&it, &pkt) == 1) {
        sb_rtcp_fb_t fb;
        sb_rtcp_twcc_t t;
        assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
        assert_int_equal(sb_rtcp_parse_twcc(&fb, &t), 0);
        assert_int_equal(t.base_seq, f->next_seq); /* in order, none left out */
        f->next_seq = (uint16_t)(t.base_seq + t.status_count);
        f->msgs++;
    }
}

static void test_flush_in_compounds(void **state)
{
    (void)state;
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    int64_t t = 1;
    for (uint16_t s = 0; s < 1000; s++) { /* within the 1,024 kept */
        t += (s % 7 == 0) ? 40 * MS : 300; /* long deltas: messages of their own size */
        if (s % 5 != 1)
            sb_twcc_recv_packet(r, s, t);
    }
    uint8_t buf[300 + 64];
    flushed_t f = {0};
    unsigned n = sb_twcc_recv_flush(r, 0x1111, 0x2222, t, buf, 300, on_compound, &f);
    assert_int_equal(n, f.msgs);
    assert_true(f.compounds >= 2 && f.compounds <= f.msgs);
    assert_true(f.largest <= 300);
    assert_int_equal(f.next_seq, 1000);
    /* Nothing waiting: nothing sent. */
    flushed_t g = {0};
    assert_int_equal(sb_twcc_recv_flush(r, 1, 2, t, buf, 300, on_compound, &g), 0);
    assert_int_equal(g.compounds, 0);
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

/* Send the packets up to `upto` (all arrive), then feed back every one since `from`: how
 * many the sender matched. */
static int send_and_feed_back(sb_twcc_send_t *s, sb_twcc_recv_t *r, int64_t *t, int upto,
                              int from)
{
    while (1) {
        sb_twcc_send_stats_t st;
        sb_twcc_send_get_stats(s, &st);
        if ((int)st.sent >= upto)
            break;
        *t += 2 * MS;
        uint16_t seq = sb_twcc_send_next(s, *t, 1000, -1);
        if ((int)seq >= from)
            sb_twcc_recv_packet(r, seq, *t + 30 * MS);
    }
    uint8_t buf[1200];
    sb_bwe_result_t res[600];
    int len, matched = 0;
    while ((len = sb_twcc_recv_write(r, 0x1111, 0x2222, *t, buf, sizeof(buf))) > 0) {
        sb_rtcp_twcc_t tw;
        parse_msg(buf, len, &tw);
        int n = sb_twcc_send_on_feedback(s, &tw, res, 600);
        assert_true(n >= 0);
        matched += n;
    }
    return matched;
}

/* The sender's memory of what it sent starts small and grows to what its feedback reaches
 * back (twice that, within 2048 packets): a browser-rate call keeps 4 KB, and a fast sender
 * whose feedback lags loses matches once, then matches every packet. (A hostile feedback
 * reaching 65535 back: test_sender_hostile_feedback.) */
static void test_sender_history_grows_to_feedback(void **state)
{
    (void)state;
    sb_twcc_send_t *s = sb_twcc_send_new();
    sb_twcc_recv_t *r = sb_twcc_recv_new();
    int64_t t = 1000 * MS;
    /* Feedback every 50 packets: the first ring (256) holds them all. */
    for (int k = 1; k <= 6; k++)
        assert_int_equal(send_and_feed_back(s, r, &t, 50 * k, 50 * (k - 1) + 1), 50);
    /* 400 before the next feedback: the 256 it held newest match, the ring grows. */
    assert_int_equal(send_and_feed_back(s, r, &t, 700, 301), 256);
    /* Now 400 (and 700) at a time: all matched. */
    assert_int_equal(send_and_feed_back(s, r, &t, 1100, 701), 400);
    assert_int_equal(send_and_feed_back(s, r, &t, 1800, 1101), 700);
    /* 1000 at once (our receiver keeps 1024 arrivals): the ring at its most, all matched. */
    assert_int_equal(send_and_feed_back(s, r, &t, 2800, 1801), 1000);
    sb_twcc_send_stats_t st;
    sb_twcc_send_get_stats(s, &st);
    assert_int_equal(st.unknown, 400 - 256);
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

/* ---- sb_twcc_stamp ---- */

/* A packet: 1 CSRC, the extension elements given (NULL: no block), payload bytes 0..99,
 * and 4 bytes of RTP padding when padded. Returns its length. */
static size_t stamp_pkt(uint8_t *out, size_t size, const sb_rtp_ext_elem_t *exts, size_t n,
                        bool padded)
{
    uint32_t csrc = 0x01020304;
    sb_rtp_header_t h = {.pt = 96, .seq = 7, .timestamp = 9, .ssrc = 0xabcdef01,
                         .csrcs = &csrc, .csrc_count = 1, .exts = exts, .ext_count = n};
    int hl = sb_rtp_write_header(out, size, &h);
    assert_true(hl > 0);
    size_t len = (size_t)hl;
    for (int i = 0; i < 100; i++)
        out[len++] = (uint8_t)i;
    if (padded) {
        out[0] |= 0x20;
        memset(out + len, 0, 3);
        out[len + 3] = 4;
        len += 4;
    }
    return len;
}

/* The packet parses, carries seq under id, keeps its CSRC, payload and padding, and the
 * elements given keep their values. */
static void stamp_check(const uint8_t *pkt, size_t len, uint8_t id, uint16_t seq,
                        const sb_rtp_ext_elem_t *exts, size_t n, bool padded)
{
    sb_rtp_view_t v;
    assert_int_equal(sb_rtp_parse(pkt, len, &v), 0);
    assert_int_equal(v.csrc_count, 1);
    assert_int_equal(sb_rtp_csrc(&v, 0), 0x01020304);
    assert_int_equal(v.ssrc, 0xabcdef01);
    assert_int_equal(v.payload_len, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v.payload[i], i);
    assert_int_equal(v.padding_len, padded ? 4 : 0);
    const uint8_t *d;
    size_t dl;
    uint16_t got;
    assert_int_equal(sb_rtp_ext_find(&v, id, &d, &dl), 0);
    assert_int_equal(sb_rtp_ext_transport_seq(d, dl, &got), 0);
    assert_int_equal(got, seq);
    for (size_t i = 0; i < n; i++) {
        if (exts[i].id == id)
            continue;
        assert_int_equal(sb_rtp_ext_find(&v, exts[i].id, &d, &dl), 0);
        assert_int_equal(dl, exts[i].len);
        assert_memory_equal(d, exts[i].data, dl);
    }
}

static void test_stamp_in_place(void **state)
{
    (void)state;
    uint8_t pkt[400];
    const uint8_t zero[2] = {0, 0}, mid[1] = {'1'}, lvl[1] = {0x85}, abs[4] = {1, 2, 3, 4};
    const uint8_t big[17] = {9};
    for (int padded = 0; padded < 2; padded++) {
        /* The element there (the publisher's, remapped): overwritten, nothing moves. */
        sb_rtp_ext_elem_t e1[] = {{1, 1, lvl}, {3, 2, zero}, {4, 1, mid}};
        size_t len = stamp_pkt(pkt, sizeof(pkt), e1, 3, padded), was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 3, 0xbeef), 0);
        assert_int_equal(len, was);
        stamp_check(pkt, len, 3, 0xbeef, e1, 3, padded);
        /* No block: a one-byte block of one word. */
        len = stamp_pkt(pkt, sizeof(pkt), NULL, 0, padded);
        was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 3, 0x1234), 0);
        assert_int_equal(len, was + 8);
        stamp_check(pkt, len, 3, 0x1234, NULL, 0, padded);
        /* A block whose padding holds it (a 5-byte element, 3 bytes of padding): no growth. */
        sb_rtp_ext_elem_t e2[] = {{2, 4, abs}};
        len = stamp_pkt(pkt, sizeof(pkt), e2, 1, padded);
        was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 3, 0xffff), 0);
        assert_int_equal(len, was);
        stamp_check(pkt, len, 3, 0xffff, e2, 1, padded);
        /* A block without room: it grows by a word. */
        sb_rtp_ext_elem_t e3[] = {{1, 1, lvl}, {4, 1, mid}};
        len = stamp_pkt(pkt, sizeof(pkt), e3, 2, padded);
        was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 1), 0);
        assert_int_equal(len, was + 4);
        stamp_check(pkt, len, 5, 1, e3, 2, padded);
        /* Two bytes of padding are one too few. */
        len = stamp_pkt(pkt, sizeof(pkt), e1, 1, padded);
        was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 2), 0);
        assert_int_equal(len, was + 4);
        stamp_check(pkt, len, 5, 2, e1, 1, padded);
        /* The two-byte form (an element over 16 bytes): a 4-byte element, ids over 14 too. */
        sb_rtp_ext_elem_t e4[] = {{1, 17, big}, {4, 1, mid}};
        len = stamp_pkt(pkt, sizeof(pkt), e4, 2, padded);
        was = len;
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 200, 0x8001), 0);
        assert_int_equal(len, was + 4);
        stamp_check(pkt, len, 200, 0x8001, e4, 2, padded);
        assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 200, 0x8002), 0);
        assert_int_equal(len, was + 4);
        stamp_check(pkt, len, 200, 0x8002, e4, 2, padded);
    }
}

/* What it cannot do in place leaves the packet as it was, for the caller's rebuild. */
static void test_stamp_refuses(void **state)
{
    (void)state;
    uint8_t pkt[400], copy[400];
    const uint8_t one[1] = {1}, mid[1] = {'1'};
    sb_rtp_ext_elem_t e1[] = {{3, 1, one}, {4, 1, mid}};
    size_t len = stamp_pkt(pkt, sizeof(pkt), e1, 2, false), was = len;
    memcpy(copy, pkt, len);
    /* The element with another length; an id the one-byte form cannot carry. */
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 3, 1), SB_ENOTSUP);
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 15, 1), SB_ENOTSUP);
    /* No room to grow. */
    assert_int_equal(sb_twcc_stamp(pkt, &len, len + 3, 5, 1), SB_ERANGE);
    assert_int_equal(len, was);
    assert_memory_equal(pkt, copy, len);
    size_t bare = stamp_pkt(pkt, sizeof(pkt), NULL, 0, false);
    assert_int_equal(sb_twcc_stamp(pkt, &bare, bare + 7, 3, 1), SB_ERANGE);
    assert_int_equal(sb_twcc_stamp(pkt, &bare, sizeof(pkt), 15, 1), SB_ENOTSUP);
    /* A block longer than the packet; a profile of neither form; not RTP. */
    len = stamp_pkt(pkt, sizeof(pkt), e1, 2, false);
    size_t off = 12 + 4;
    pkt[off + 2] = 0x40;
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 1), SB_EINVAL);
    pkt[off + 2] = 0;
    pkt[off] = 0x12;
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 1), SB_ENOTSUP);
    len = 11;
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 1), SB_EINVAL);
    /* ID 15 ends the one-byte block: nothing may be added after it. */
    len = stamp_pkt(pkt, sizeof(pkt), e1, 2, false);
    pkt[off + 4 + 2] = 0xf0;
    assert_int_equal(sb_twcc_stamp(pkt, &len, sizeof(pkt), 5, 1), SB_ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_loss_reorder_wrap),
        cmocka_unit_test(test_long_gap_splits_message),
        cmocka_unit_test(test_many_packets_and_small_buffer),
        cmocka_unit_test(test_flush_in_compounds),
        cmocka_unit_test(test_jump_gives_up_old),
        cmocka_unit_test(test_sender_matches_feedback),
        cmocka_unit_test(test_sender_history_grows_to_feedback),
        cmocka_unit_test(test_sender_hostile_feedback),
        cmocka_unit_test(test_stamp_in_place),
        cmocka_unit_test(test_stamp_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
