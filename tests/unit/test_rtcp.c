/* RTCP: builder -> iterator -> parser round trips for every packet kind, compound validation
 * (trailing garbage, padding placement, versions, reduced-size), SDES chunks, BYE reasons,
 * NACK BLP expansion and packing across the wrap, FIR with several entries, REMB mantissa and
 * exponent at many bitrates, transport-cc chunk decoding, in-place SSRC rewriting, RTT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "switchboard/error.h"
#include "proto/rtcp.h"

/* The only packet of buf, which must be a valid one-packet compound. */
static sb_rtcp_pkt_t only_packet(const uint8_t *buf, size_t len)
{
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt, next;
    sb_rtcp_iter_init(&it, buf, len);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(sb_rtcp_iter_next(&it, &next), 0);
    assert_int_equal(sb_rtcp_validate(buf, len), 0);
    return pkt;
}

static void test_sr_rr_round_trip(void **state)
{
    (void)state;
    uint8_t buf[1024];
    sb_rtcp_sr_t sr = {.ssrc = 0x11111111, .ntp = 0x0123456789abcdefull, .rtp_ts = 90000,
                       .packet_count = 7, .octet_count = 7000};
    sb_rtcp_rb_t rbs[2] = {
        {.ssrc = 0xaaaa, .fraction_lost = 25, .cumulative_lost = -3, .ext_highest_seq = 0x10005,
         .jitter = 12, .lsr = 0x12345678, .dlsr = 0x10000},
        {.ssrc = 0xbbbb, .cumulative_lost = 0x7fffffff},
    };
    sb_rtcp_sr_t out;
    sb_rtcp_rr_t rr;
    sb_rtcp_rb_t rb;
    int n = sb_rtcp_write_sr(buf, sizeof(buf), &sr, rbs, 2);

    assert_int_equal(n, 28 + 48);
    sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
    assert_int_equal(pkt.type, SB_RTCP_SR);
    assert_int_equal(pkt.count, 2);
    assert_int_equal(sb_rtcp_parse_sr(&pkt, &out), 0);
    assert_int_equal(out.ssrc, sr.ssrc);
    assert_true(out.ntp == sr.ntp);
    assert_int_equal(out.rtp_ts, 90000);
    assert_int_equal(out.packet_count, 7);
    assert_int_equal(out.octet_count, 7000);
    assert_int_equal(out.rb_count, 2);
    assert_int_equal(sb_rtcp_rb_get(out.rbs, out.rb_count, 0, &rb), 0);
    assert_int_equal(rb.ssrc, 0xaaaa);
    assert_int_equal(rb.fraction_lost, 25);
    assert_int_equal(rb.cumulative_lost, -3);
    assert_int_equal(rb.ext_highest_seq, 0x10005);
    assert_int_equal(rb.jitter, 12);
    assert_int_equal(rb.lsr, 0x12345678);
    assert_int_equal(rb.dlsr, 0x10000);
    assert_int_equal(sb_rtcp_rb_get(out.rbs, out.rb_count, 1, &rb), 0);
    assert_int_equal(rb.cumulative_lost, 0x7fffff); /* clamped to 24 bits */
    assert_int_equal(sb_rtcp_rb_get(out.rbs, out.rb_count, 2, &rb), SB_ENOENT);
    assert_int_equal(sb_rtcp_parse_rr(&pkt, &rr), SB_EINVAL);

    /* A count promising more blocks than the length holds. */
    pkt.count = 3;
    assert_int_equal(sb_rtcp_parse_sr(&pkt, &out), SB_EPROTO);

    /* Empty RR and an RR with one block. */
    n = sb_rtcp_write_rr(buf, sizeof(buf), 0x22, NULL, 0);
    assert_int_equal(n, 8);
    pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_rr(&pkt, &rr), 0);
    assert_int_equal(rr.ssrc, 0x22);
    assert_int_equal(rr.rb_count, 0);
    n = sb_rtcp_write_rr(buf, sizeof(buf), 0x22, rbs, 1);
    pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_rr(&pkt, &rr), 0);
    assert_int_equal(sb_rtcp_rb_get(rr.rbs, rr.rb_count, 0, &rb), 0);
    assert_int_equal(rb.cumulative_lost, -3);
    assert_int_equal(sb_rtcp_parse_sr(&pkt, &out), SB_EINVAL);

    /* Builder limits. */
    assert_int_equal(sb_rtcp_write_sr(buf, 75, &sr, rbs, 2), SB_ERANGE);
    assert_int_equal(sb_rtcp_write_rr(buf, 7, 1, NULL, 0), SB_ERANGE);
    assert_int_equal(sb_rtcp_write_rr(buf, sizeof(buf), 1, rbs, 32), SB_EINVAL);
    assert_int_equal(sb_rtcp_write_rr(buf, sizeof(buf), 1, NULL, 1), SB_EINVAL);
}

static size_t build_compound(uint8_t *buf, size_t size)
{
    size_t off = 0;
    int n;
    sb_rtcp_sr_t sr = {.ssrc = 1};
    const uint16_t seqs[3] = {100, 101, 116};
    const uint32_t ssrcs[2] = {5, 6};

    n = sb_rtcp_write_sr(buf + off, size - off, &sr, NULL, 0);
    off += (size_t)n;
    n = sb_rtcp_write_sdes_cname(buf + off, size - off, 1, "user@host");
    off += (size_t)n;
    n = sb_rtcp_write_pli(buf + off, size - off, 1, 5);
    off += (size_t)n;
    n = sb_rtcp_write_nack(buf + off, size - off, 1, 5, seqs, 3);
    off += (size_t)n;
    n = sb_rtcp_write_remb(buf + off, size - off, 1, 1000000, ssrcs, 2);
    off += (size_t)n;
    n = sb_rtcp_write_bye(buf + off, size - off, ssrcs, 1, "done");
    off += (size_t)n;
    return off;
}

static void test_compound(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t len = build_compound(buf, sizeof(buf));
    const uint8_t types[6] = {SB_RTCP_SR, SB_RTCP_SDES, SB_RTCP_PSFB,
                              SB_RTCP_RTPFB, SB_RTCP_PSFB, SB_RTCP_BYE};
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    size_t off = 0;
    int i = 0, rc;

    assert_int_equal(sb_rtcp_validate(buf, len), 0);
    sb_rtcp_iter_init(&it, buf, len);
    while ((rc = sb_rtcp_iter_next(&it, &pkt)) > 0) {
        assert_int_equal(pkt.type, types[i]);
        assert_int_equal(pkt.offset, off);
        assert_ptr_equal(pkt.buf, buf + off);
        off += pkt.len;
        i++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, 6);
    assert_int_equal(off, len);

    /* Trailing garbage of 1 to 7 bytes: earlier packets come out, then an error. */
    for (size_t extra = 1; extra < 8; extra++) {
        memset(buf + len, 0x80, extra);
        assert_int_equal(sb_rtcp_validate(buf, len + extra), SB_EPROTO);
        sb_rtcp_iter_init(&it, buf, len + extra);
        i = 0;
        while ((rc = sb_rtcp_iter_next(&it, &pkt)) > 0)
            i++;
        assert_int_equal(rc, SB_EPROTO);
        assert_int_equal(i, 6);
        assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 0); /* stays ended */
    }
    /* Every truncation inside the compound is invalid. */
    for (size_t l = 1; l < len; l++) {
        bool boundary = false;
        sb_rtcp_iter_init(&it, buf, len);
        while (sb_rtcp_iter_next(&it, &pkt) > 0)
            boundary |= pkt.offset + pkt.len == l;
        assert_int_equal(sb_rtcp_validate(buf, l), boundary ? 0 : SB_EPROTO);
    }
    assert_int_equal(sb_rtcp_validate(buf, 0), SB_EPROTO);
    assert_int_equal(sb_rtcp_validate(NULL, 10), SB_EPROTO);

    /* Wrong version in the second packet. */
    buf[28] = (uint8_t)((buf[28] & 0x3f) | 0x40);
    assert_int_equal(sb_rtcp_validate(buf, len), SB_EPROTO);
}

static void test_padding(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtcp_pkt_t pkt;
    sb_rtcp_iter_t it;
    int n = sb_rtcp_write_pli(buf, sizeof(buf), 1, 2);
    int m;

    /* A padded PLI as the last packet: 12 + 4 bytes of padding. */
    m = sb_rtcp_write_rr(buf + n, sizeof(buf) - (size_t)n, 9, NULL, 0);
    memcpy(buf + n + m, "\0\0\0\x04", 4);
    buf[n] |= 0x20;
    buf[n + 3] = 2; /* RR length: 3 words */
    assert_int_equal(sb_rtcp_validate(buf, (size_t)(n + m + 4)), 0);
    sb_rtcp_iter_init(&it, buf, (size_t)(n + m + 4));
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_true(pkt.padding);
    assert_int_equal(pkt.len, 12);
    assert_int_equal(pkt.body_len, 4);
    /* Padding count 0, or past the body. */
    buf[n + m + 3] = 0;
    assert_int_equal(sb_rtcp_validate(buf, (size_t)(n + m + 4)), SB_EPROTO);
    buf[n + m + 3] = 9;
    assert_int_equal(sb_rtcp_validate(buf, (size_t)(n + m + 4)), SB_EPROTO);
    buf[n + m + 3] = 8; /* eats the SSRC: allowed by the framing, RR parser then refuses */
    assert_int_equal(sb_rtcp_validate(buf, (size_t)(n + m + 4)), 0);
    sb_rtcp_iter_init(&it, buf, (size_t)(n + m + 4));
    sb_rtcp_iter_next(&it, &pkt);
    sb_rtcp_iter_next(&it, &pkt);
    sb_rtcp_rr_t rr;
    assert_int_equal(sb_rtcp_parse_rr(&pkt, &rr), SB_EPROTO);
    /* Padding on a packet that is not last. */
    buf[n + m + 3] = 4;
    buf[0] |= 0x20;
    assert_int_equal(sb_rtcp_validate(buf, (size_t)(n + m + 4)), SB_EPROTO);

    /* Reduced-size RTCP: a lone PLI is fine. */
    n = sb_rtcp_write_pli(buf, sizeof(buf), 1, 2);
    assert_int_equal(sb_rtcp_validate(buf, (size_t)n), 0);
}

static void test_sdes(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtcp_sdes_iter_t it;
    uint32_t ssrc;
    const uint8_t *cname;
    size_t cname_len;
    int n = sb_rtcp_write_sdes_cname(buf, sizeof(buf), 0x1234, "abc");

    assert_int_equal(n, 16);
    sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
    sb_rtcp_sdes_iter_init(&it, &pkt);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 1);
    assert_int_equal(ssrc, 0x1234);
    assert_int_equal(cname_len, 3);
    assert_memory_equal(cname, "abc", 3);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 0);
    /* The terminator shares the last word when it fits, else takes one more. */
    assert_int_equal(sb_rtcp_write_sdes_cname(buf, sizeof(buf), 1, "abcd"), 16);
    assert_int_equal(sb_rtcp_write_sdes_cname(buf, sizeof(buf), 1, "abcdefg"), 20);
    assert_int_equal(sb_rtcp_write_sdes_cname(buf, 19, 1, "abcdefg"), SB_ERANGE);
    assert_int_equal(sb_rtcp_write_sdes_cname(buf, sizeof(buf), 1, ""), SB_EINVAL);
    assert_int_equal(sb_rtcp_write_sdes_cname(buf, sizeof(buf), 1, NULL), SB_EINVAL);

    /* Two chunks: NAME item then CNAME; then a chunk with no items. */
    const uint8_t two[] = {0x82, 202, 0, 5, 0, 0, 0, 1, 2, 1, 'n', 1, 2, 'c', 'd', 0,
                           0, 0, 0, 2, 0, 0, 0, 0};
    pkt = only_packet(two, sizeof(two));
    sb_rtcp_sdes_iter_init(&it, &pkt);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 1);
    assert_int_equal(ssrc, 1);
    assert_int_equal(cname_len, 2);
    assert_memory_equal(cname, "cd", 2);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 1);
    assert_int_equal(ssrc, 2);
    assert_null(cname);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 0);

    /* SC says three chunks; an item running past the end; no terminator. */
    uint8_t bad[sizeof(two)];
    memcpy(bad, two, sizeof(two));
    bad[0] = 0x83;
    pkt = only_packet(bad, sizeof(bad));
    sb_rtcp_sdes_iter_init(&it, &pkt);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 1);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 1);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), SB_EPROTO);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), 0);
    memcpy(bad, two, sizeof(two));
    bad[12] = 20;
    pkt = only_packet(bad, sizeof(bad));
    sb_rtcp_sdes_iter_init(&it, &pkt);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), SB_EPROTO);
    const uint8_t noterm[] = {0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 'a', 'b'};
    pkt = only_packet(noterm, sizeof(noterm));
    sb_rtcp_sdes_iter_init(&it, &pkt);
    assert_int_equal(sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len), SB_EPROTO);
}

static void test_bye(void **state)
{
    (void)state;
    uint8_t buf[300];
    sb_rtcp_bye_t bye;
    const uint32_t ssrcs[2] = {0xdead, 0xbeef};
    int n = sb_rtcp_write_bye(buf, sizeof(buf), ssrcs, 2, "going away");

    assert_int_equal(n, 4 + 8 + 12);
    sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_bye(&pkt, &bye), 0);
    assert_int_equal(bye.count, 2);
    assert_int_equal(sb_rtcp_bye_ssrc(&bye, 1), 0xbeef);
    assert_int_equal(sb_rtcp_bye_ssrc(&bye, 2), 0);
    assert_int_equal(bye.reason_len, 10);
    assert_memory_equal(bye.reason, "going away", 10);

    n = sb_rtcp_write_bye(buf, sizeof(buf), ssrcs, 1, NULL);
    assert_int_equal(n, 8);
    pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_bye(&pkt, &bye), 0);
    assert_null(bye.reason);
    pkt.count = 2;
    assert_int_equal(sb_rtcp_parse_bye(&pkt, &bye), SB_EPROTO);

    /* A reason length past the packet. */
    const uint8_t bad[] = {0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'a', 'b', 'c'};
    pkt = only_packet(bad, sizeof(bad));
    assert_int_equal(sb_rtcp_parse_bye(&pkt, &bye), SB_EPROTO);
    assert_int_equal(sb_rtcp_write_bye(buf, 23, ssrcs, 2, "going away"), SB_ERANGE);
}

static void test_nack(void **state)
{
    (void)state;
    uint8_t buf[256];
    uint16_t out[64];
    sb_rtcp_fb_t fb;
    /* PID 100, BLP 0x8001: 100, 101, 116. */
    const uint8_t pkt1[] = {0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0x80, 0x01};
    sb_rtcp_pkt_t pkt = only_packet(pkt1, sizeof(pkt1));

    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(fb.media_ssrc, 2);
    assert_int_equal(fb.fmt, SB_RTCP_FMT_NACK);
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), 3);
    assert_int_equal(out[0], 100);
    assert_int_equal(out[1], 101);
    assert_int_equal(out[2], 116);
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 2), 2); /* truncated */
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 0), 0);

    /* Packing across the wrap and back: 65530..65535, 0, 1 fit one item; 20 needs another. */
    const uint16_t seqs[] = {65530, 65531, 65533, 65535, 0, 1, 1, 20};
    int n = sb_rtcp_write_nack(buf, sizeof(buf), 7, 8, seqs, 8);
    assert_int_equal(n, 12 + 8);
    pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.media_ssrc, 8);
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), 7);
    const uint16_t want[] = {65530, 65531, 65533, 65535, 0, 1, 20};
    assert_memory_equal(out, want, sizeof(want));

    /* A full item: PID and 16 more. */
    uint16_t all[17];
    for (unsigned i = 0; i < 17; i++)
        all[i] = (uint16_t)(65500 + i);
    n = sb_rtcp_write_nack(buf, sizeof(buf), 1, 2, all, 17);
    assert_int_equal(n, 16);
    pkt = only_packet(buf, (size_t)n);
    sb_rtcp_parse_fb(&pkt, &fb);
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), 17);
    assert_memory_equal(out, all, sizeof(all));

    /* Unsorted input still names every seq. */
    const uint16_t unsorted[] = {50, 10, 11, 49};
    n = sb_rtcp_write_nack(buf, sizeof(buf), 1, 2, unsorted, 4);
    pkt = only_packet(buf, (size_t)n);
    sb_rtcp_parse_fb(&pkt, &fb);
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), 4);

    /* Errors: no FCI, a ragged FCI, not a NACK. */
    assert_int_equal(sb_rtcp_write_nack(buf, sizeof(buf), 1, 2, NULL, 0), SB_EINVAL);
    assert_int_equal(sb_rtcp_write_nack(buf, 15, 1, 2, all, 17), SB_ERANGE);
    fb.fci_len = 0;
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), SB_EPROTO);
    fb.fci_len = 3;
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), SB_EPROTO);
    fb.fmt = 15;
    assert_int_equal(sb_rtcp_parse_nack(&fb, out, 64), SB_EINVAL);
    const uint8_t shortfb[] = {0x81, 205, 0, 1, 0, 0, 0, 1};
    pkt = only_packet(shortfb, sizeof(shortfb));
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), SB_EPROTO);
}

static void test_pli_fir(void **state)
{
    (void)state;
    uint8_t buf[128];
    sb_rtcp_fb_t fb;
    sb_rtcp_fir_entry_t in[3] = {{0xa, 1}, {0xb, 255}, {0xc, 0}}, out[3];
    int n = sb_rtcp_write_pli(buf, sizeof(buf), 0x100, 0x200);

    assert_int_equal(n, 12);
    sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
    assert_int_equal(pkt.type, SB_RTCP_PSFB);
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.fmt, SB_RTCP_FMT_PLI);
    assert_int_equal(fb.media_ssrc, 0x200);
    assert_int_equal(fb.fci_len, 0);
    assert_int_equal(sb_rtcp_write_pli(buf, 11, 1, 2), SB_ERANGE);

    n = sb_rtcp_write_fir(buf, sizeof(buf), 0x100, in, 3);
    assert_int_equal(n, 12 + 24);
    pkt = only_packet(buf, (size_t)n);
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.fmt, SB_RTCP_FMT_FIR);
    assert_int_equal(fb.media_ssrc, 0);
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 3), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(out[i].ssrc, in[i].ssrc);
        assert_int_equal(out[i].seq, in[i].seq);
    }
    memset(out, 0, sizeof(out));
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 1), 3); /* holds 3, copied 1 */
    assert_int_equal(out[0].ssrc, 0xa);
    assert_int_equal(out[1].ssrc, 0);
    fb.fci_len = 12;
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 3), SB_EPROTO);
    fb.fci_len = 0;
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 3), SB_EPROTO);
    fb.fmt = 1;
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 3), SB_EINVAL);
    assert_int_equal(sb_rtcp_write_fir(buf, sizeof(buf), 1, in, 0), SB_EINVAL);
    assert_int_equal(sb_rtcp_write_fir(buf, 35, 1, in, 3), SB_ERANGE);
}

static void test_remb(void **state)
{
    (void)state;
    uint8_t buf[64];
    sb_rtcp_fb_t fb;
    sb_rtcp_remb_t remb;
    const uint32_t ssrcs[2] = {0x1111, 0x2222};
    const uint64_t rates[] = {0,          1,           262143,        262144,
                              262145,     1000000,     2500000,       123456789,
                              1000000000, 10000000000, UINT64_MAX / 3, UINT64_MAX};

    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        int n = sb_rtcp_write_remb(buf, sizeof(buf), 9, rates[i], ssrcs, 2);
        assert_int_equal(n, 28);
        sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
        assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
        assert_int_equal(fb.media_ssrc, 0);
        assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), 0);
        assert_int_equal(remb.ssrc_count, 2);
        assert_int_equal(sb_rtcp_remb_ssrc(&remb, 0), 0x1111);
        assert_int_equal(sb_rtcp_remb_ssrc(&remb, 1), 0x2222);
        assert_int_equal(sb_rtcp_remb_ssrc(&remb, 2), 0);
        /* Rounded down, by less than one part in 2^17. */
        assert_true(remb.bitrate <= rates[i]);
        assert_true(rates[i] - remb.bitrate <= rates[i] >> 17);
        if (rates[i] < (1u << 18))
            assert_true(remb.bitrate == rates[i]);
    }
    /* No SSRCs. */
    int n = sb_rtcp_write_remb(buf, sizeof(buf), 9, 5000, NULL, 0);
    assert_int_equal(n, 20);
    sb_rtcp_pkt_t pkt = only_packet(buf, (size_t)n);
    sb_rtcp_parse_fb(&pkt, &fb);
    assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), 0);
    assert_true(remb.bitrate == 5000);
    /* Exponent 63 with a mantissa overflows. */
    buf[17] = 0xfc;
    assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), SB_EPROTO);
    buf[17] = 0;
    /* SSRC count past the end; another AFB message; too short. */
    buf[16] = 1;
    assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), SB_EPROTO);
    buf[12] = 'X';
    assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), SB_ENOENT);
    fb.fci_len = 3;
    assert_int_equal(sb_rtcp_parse_remb(&fb, &remb), SB_ENOENT);
    assert_int_equal(sb_rtcp_write_remb(buf, 27, 9, 1, ssrcs, 2), SB_ERANGE);
    assert_int_equal(sb_rtcp_write_remb(buf, sizeof(buf), 9, 1, NULL, 2), SB_EINVAL);
}

static void test_twcc(void **state)
{
    (void)state;
    sb_rtcp_fb_t fb;
    sb_rtcp_twcc_t t;
    sb_rtcp_twcc_pkt_t out[16];
    /* base 65534, 5 packets, ref time 0x123456, fb count 7;
     * run-length chunk: small delta x2; two-bit vector: large, not received, small;
     * deltas: 4, 5, -3 (2 bytes), 200; then zero padding. */
    uint8_t p[] = {0x8f, 205, 0, 7,   0,    0, 0, 1, 0, 0, 0, 2,
                   0xff, 0xfe, 0, 5,  0x12, 0x34, 0x56, 7,
                   0x20, 0x02, 0xe1, 0x00,
                   4, 5, 0xff, 0xfd, 200, 0, 0, 0};
    sb_rtcp_pkt_t pkt = only_packet(p, sizeof(p));

    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(sb_rtcp_parse_twcc(&fb, &t), 0);
    assert_int_equal(t.base_seq, 65534);
    assert_int_equal(t.status_count, 5);
    assert_int_equal(t.ref_time, 0x123456);
    assert_int_equal(t.fb_count, 7);
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), 5);
    assert_int_equal(out[0].seq, 65534);
    assert_int_equal(out[0].status, SB_TWCC_SMALL_DELTA);
    assert_int_equal(out[0].delta, 4);
    assert_int_equal(out[1].seq, 65535);
    assert_int_equal(out[1].delta, 5);
    assert_int_equal(out[2].seq, 0);
    assert_int_equal(out[2].status, SB_TWCC_LARGE_DELTA);
    assert_int_equal(out[2].delta, -3);
    assert_int_equal(out[3].status, SB_TWCC_NOT_RECEIVED);
    assert_int_equal(out[3].delta, 0);
    assert_int_equal(out[4].status, SB_TWCC_SMALL_DELTA);
    assert_int_equal(out[4].delta, 200);
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 4), SB_ERANGE);

    /* Deltas cut short, chunks missing, reserved symbol. */
    t.data_len = 8;
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), SB_EPROTO);
    t.data_len = 2;
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), SB_EPROTO);
    t.data_len = 12;
    p[20] = 0x60; /* run-length chunk of symbol 3 */
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), SB_EPROTO);
    p[20] = 0x20;
    p[22] = 0xf1; /* two-bit vector starting with symbol 3 */
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), SB_EPROTO);

    /* One-bit vector: 1 0 1 then 11 unused symbols. */
    uint8_t q[] = {0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2,
                   0, 10, 0, 3, 0, 0, 0, 0,
                   0xa8, 0x00, 9, 8};
    pkt = only_packet(q, sizeof(q));
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(sb_rtcp_parse_twcc(&fb, &t), 0);
    assert_int_equal(sb_rtcp_twcc_decode(&t, out, 16), 3);
    assert_int_equal(out[0].status, 1);
    assert_int_equal(out[0].delta, 9);
    assert_int_equal(out[1].status, 0);
    assert_int_equal(out[2].seq, 12);
    assert_int_equal(out[2].delta, 8);
    fb.fci_len = 7;
    assert_int_equal(sb_rtcp_parse_twcc(&fb, &t), SB_EPROTO);
    fb.fmt = 1;
    assert_int_equal(sb_rtcp_parse_twcc(&fb, &t), SB_EINVAL);
}

static void test_rewrite(void **state)
{
    (void)state;
    uint8_t buf[128];
    sb_rtcp_fir_entry_t e[2] = {{0xa, 1}, {0xb, 2}}, out[2];
    sb_rtcp_fb_t fb;
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    int n = sb_rtcp_write_pli(buf, sizeof(buf), 1, 0xa);
    int m = sb_rtcp_write_fir(buf + n, sizeof(buf) - (size_t)n, 1, e, 2);
    int s = sb_rtcp_write_sdes_cname(buf + n + m, sizeof(buf) - (size_t)(n + m), 1, "x");
    size_t len = (size_t)(n + m + s);

    sb_rtcp_iter_init(&it, buf, len);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(sb_rtcp_fb_rewrite_media_ssrc(buf, &pkt, 0xa, 0xfeed), 1);
    assert_int_equal(sb_rtcp_fb_rewrite_media_ssrc(buf, &pkt, 0xa, 0xfeed), 0);
    assert_int_equal(sb_rtcp_set_sender_ssrc(buf, &pkt, 0x5555), 0);
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(fb.media_ssrc, 0xfeed);
    assert_int_equal(fb.sender_ssrc, 0x5555);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(sb_rtcp_fb_rewrite_media_ssrc(buf, &pkt, 0xb, 0xbeef), 1);
    assert_int_equal(sb_rtcp_parse_fb(&pkt, &fb), 0);
    assert_int_equal(sb_rtcp_parse_fir(&fb, out, 2), 2);
    assert_int_equal(out[0].ssrc, 0xa);
    assert_int_equal(out[1].ssrc, 0xbeef);
    assert_int_equal(out[1].seq, 2);
    assert_int_equal(sb_rtcp_iter_next(&it, &pkt), 1);
    assert_int_equal(sb_rtcp_fb_rewrite_media_ssrc(buf, &pkt, 1, 2), SB_EINVAL);
    assert_int_equal(sb_rtcp_set_sender_ssrc(buf, &pkt, 2), SB_EINVAL);
    assert_int_equal(sb_rtcp_validate(buf, len), 0);
}

static void test_timing(void **state)
{
    (void)state;
    int64_t rtt;
    uint64_t ntp = sb_rtcp_ntp_from_unix_us(1500000);

    assert_true(ntp >> 32 == 2208988801ull);
    assert_true((ntp & 0xffffffffu) == 0x80000000u);
    assert_true(sb_rtcp_ntp_from_unix_us(0) == 2208988800ull << 32);
    /* SR sent at T, held 0.5 s by the receiver, report back at T + 0.6 s: RTT 100 ms. */
    uint64_t t = sb_rtcp_ntp_from_unix_us(1000000000000);
    uint32_t lsr = (uint32_t)(t >> 16);
    uint64_t now = sb_rtcp_ntp_from_unix_us(1000000600000);
    assert_int_equal(sb_rtcp_rtt_us(now, lsr, 0x8000, &rtt), 0);
    assert_true(rtt >= 99900 && rtt <= 100100);
    assert_int_equal(sb_rtcp_rtt_us(now, 0, 0x8000, &rtt), SB_ENOENT);
    assert_int_equal(sb_rtcp_rtt_us(now, lsr, 0x10000, &rtt), SB_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sr_rr_round_trip),
        cmocka_unit_test(test_compound),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_sdes),
        cmocka_unit_test(test_bye),
        cmocka_unit_test(test_nack),
        cmocka_unit_test(test_pli_fir),
        cmocka_unit_test(test_remb),
        cmocka_unit_test(test_twcc),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
