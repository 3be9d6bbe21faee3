/* Fuzz target: RTCP compound iteration and every parser (SR, RR, report blocks, SDES, BYE,
 * feedback, NACK, FIR, REMB, transport-cc with full decoding), in-place SSRC rewriting on a
 * copy, and builder -> parser round trips for NACK and REMB driven by the input bytes.
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -I src -I <builddir>
 *   tests/fuzz/fuzz_rtcp.c src/proto/rtcp{,_fb,_write}.c -o fuzz_rtcp */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/rtcp.h"

#define FUZZ_MAX 8192

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond))                                                                          \
            abort();                                                                          \
    } while (0)

static uint8_t copy[FUZZ_MAX];
static uint16_t seqs[FUZZ_MAX * 17 / 4];
static sb_rtcp_twcc_pkt_t twcc_pkts[65536];
static sb_rtcp_fir_entry_t firs[FUZZ_MAX / 8];
static uint8_t out[4 * 65536];

static void fuzz_reports(const sb_rtcp_pkt_t *pkt)
{
    sb_rtcp_sr_t sr;
    sb_rtcp_rr_t rr;
    sb_rtcp_rb_t rb;

    if (sb_rtcp_parse_sr(pkt, &sr) == 0) {
        for (unsigned i = 0; i < sr.rb_count; i++)
            CHECK(sb_rtcp_rb_get(sr.rbs, sr.rb_count, i, &rb) == 0);
    }
    if (sb_rtcp_parse_rr(pkt, &rr) == 0) {
        for (unsigned i = 0; i < rr.rb_count; i++)
            CHECK(sb_rtcp_rb_get(rr.rbs, rr.rb_count, i, &rb) == 0);
    }
}

static void fuzz_sdes_bye(const sb_rtcp_pkt_t *pkt)
{
    sb_rtcp_sdes_iter_t it;
    sb_rtcp_bye_t bye;
    uint32_t ssrc;
    const uint8_t *cname;
    size_t cname_len;

    sb_rtcp_sdes_iter_init(&it, pkt);
    while (sb_rtcp_sdes_next(&it, &ssrc, &cname, &cname_len) > 0) {
        if (cname != NULL)
            CHECK(cname >= pkt->body && cname + cname_len <= pkt->body + pkt->body_len);
    }
    if (sb_rtcp_parse_bye(pkt, &bye) == 0) {
        for (unsigned i = 0; i < bye.count; i++)
            sb_rtcp_bye_ssrc(&bye, i);
        if (bye.reason != NULL)
            CHECK(bye.reason + bye.reason_len <= pkt->body + pkt->body_len);
    }
}

static void fuzz_feedback(const sb_rtcp_pkt_t *pkt)
{
    sb_rtcp_fb_t fb;
    sb_rtcp_remb_t remb;
    sb_rtcp_twcc_t twcc;
    int n;

    if (sb_rtcp_parse_fb(pkt, &fb) != 0)
        return;
    n = sb_rtcp_parse_nack(&fb, seqs, sizeof(seqs) / sizeof(seqs[0]));
    CHECK(n < 0 || (size_t)n <= fb.fci_len / 4 * 17);
    n = sb_rtcp_parse_fir(&fb, firs, sizeof(firs) / sizeof(firs[0]));
    CHECK(n < 0 || (size_t)n == fb.fci_len / 8);
    if (sb_rtcp_parse_remb(&fb, &remb) == 0) {
        for (unsigned i = 0; i < remb.ssrc_count; i++)
            sb_rtcp_remb_ssrc(&remb, i);
    }
    if (sb_rtcp_parse_twcc(&fb, &twcc) == 0) {
        n = sb_rtcp_twcc_decode(&twcc, twcc_pkts, sizeof(twcc_pkts) / sizeof(twcc_pkts[0]));
        CHECK(n < 0 || n == twcc.status_count);
    }
}

/* Rewrite SSRCs in a copy; the copy must stay a valid compound. */
static void fuzz_rewrite(const uint8_t *data, size_t size)
{
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;

    memcpy(copy, data, size);
    sb_rtcp_iter_init(&it, copy, size);
    while (sb_rtcp_iter_next(&it, &pkt) > 0) {
        uint32_t from = pkt.body_len >= 8 ? sb_be32(pkt.body + 4) : 0;
        sb_rtcp_fb_rewrite_media_ssrc(copy, &pkt, from, 0x5eed);
        sb_rtcp_set_sender_ssrc(copy, &pkt, 0xabcd);
    }
    if (sb_rtcp_validate(data, size) == 0)
        CHECK(sb_rtcp_validate(copy, size) == 0);
}

/* Build a NACK from the input read as sequence numbers; every one must come back. */
static void fuzz_nack_round_trip(const uint8_t *data, size_t size)
{
    static uint16_t in[FUZZ_MAX / 2];
    size_t n = size / 2 < 256 ? size / 2 : 256; /* the check below is quadratic */
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_fb_t fb;
    int len, got;

    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        in[i] = sb_be16(data + 2 * i);
    len = sb_rtcp_write_nack(out, sizeof(out), 1, 2, in, n);
    CHECK(len > 0);
    sb_rtcp_iter_init(&it, out, (size_t)len);
    CHECK(sb_rtcp_iter_next(&it, &pkt) == 1 && sb_rtcp_parse_fb(&pkt, &fb) == 0);
    got = sb_rtcp_parse_nack(&fb, seqs, sizeof(seqs) / sizeof(seqs[0]));
    CHECK(got > 0);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (int j = 0; j < got && !found; j++)
            found = seqs[j] == in[i];
        CHECK(found);
    }
}

static void fuzz_remb_round_trip(const uint8_t *data, size_t size)
{
    uint8_t buf[32];
    uint64_t rate;
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    sb_rtcp_fb_t fb;
    sb_rtcp_remb_t remb;

    if (size < 8)
        return;
    rate = sb_be64(data);
    CHECK(sb_rtcp_write_remb(buf, sizeof(buf), 1, rate, NULL, 0) == 20);
    sb_rtcp_iter_init(&it, buf, 20);
    CHECK(sb_rtcp_iter_next(&it, &pkt) == 1 && sb_rtcp_parse_fb(&pkt, &fb) == 0);
    CHECK(sb_rtcp_parse_remb(&fb, &remb) == 0);
    CHECK(remb.bitrate <= rate && rate - remb.bitrate <= rate >> 17);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_rtcp_iter_t it;
    sb_rtcp_pkt_t pkt;
    size_t total = 0;
    int rc;

    if (size > FUZZ_MAX)
        return 0;
    sb_rtcp_iter_init(&it, data, size);
    while ((rc = sb_rtcp_iter_next(&it, &pkt)) > 0) {
        CHECK(pkt.offset == total && pkt.len >= 4 && pkt.body_len <= pkt.len - 4);
        total += pkt.len;
        fuzz_reports(&pkt);
        fuzz_sdes_bye(&pkt);
        fuzz_feedback(&pkt);
    }
    CHECK(total <= size);
    CHECK((sb_rtcp_validate(data, size) == 0) == (rc == 0 && total == size && size > 0));
    fuzz_rewrite(data, size);
    fuzz_nack_round_trip(data, size);
    fuzz_remb_round_trip(data, size);
    return 0;
}
