/* Unit tests for peer/peer_media.c, the core's per-peer media path, on real peers without a
 * network (peer_fixture.h): what the client sends is SRTP-protected with its keys and goes in
 * where libnice would hand it over; what the peers send is opened with the clients' keys.
 * - SSRC learning: a simulcast layer known only by its rid (rid / repaired-rid extensions),
 *   an unannounced single-layer SSRC (by payload type), and SSRCs that must not be taken
 *   (unknown rid, no rid, a live layer's rid, an announced stream's mid, no stream at all):
 *   dropped before any plugin sees them, and counted.
 * - RTX (RFC 4588): unwrapped to the original (OSN, payload type and SSRC of the media,
 *   timestamp, marker, payload), flagged as a retransmission; one too short to hold an OSN,
 *   and a padding-only probe, are dropped.
 * - The fan-out's send history: sb_peer_forward_rtp keeps only the rewritten header bytes
 *   and shares the source packet's buffer among the subscribers (one buffer per packet, not
 *   one per subscriber); a NACK retransmits exactly what was forwarded (RTX-wrapped or as it
 *   was); the history is bounded (SB_PEER_SEND_HISTORY packets) and released when the peer
 *   goes.
 * - Keyframe requests: a repeat inside the rate limit waits for its end; a new receiver's
 *   first request goes at once unless one still on its way will serve it.
 * - The loop's ticker: every second once its peers are idle, every 20 ms again as soon as
 *   media comes (a NACK for a gap right after a silence goes within a tick). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "peer_fixture.h"
#include "proto/rtcp.h"
#include "switchboard/rtp.h"

#define PUB 0 /* the publishing client's peer */
#define AUDIO_SSRC 0xA0D10u
#define SUB_PT 100
#define SUB_RTX_PT 101
#define SUB_SEQ0 1000
#define FWD_MAX (3 * SB_PEER_SEND_HISTORY + 8)
#define SMALL 128 /* bytes of every packet these tests make */

static uint32_t sub_ssrc(unsigned slot)
{
    return 0x5000u + 0x100u * slot;
}

/* ---- the plugin: records what reaches it, fans out to slots 1 and 2 ------------------------ */

typedef struct got {
    unsigned stream, layer;
    bool retransmission, marker;
    uint32_t ssrc, ts;
    uint16_t seq;
    uint8_t pt;
    size_t payload_len;
    uint8_t payload[SMALL];
} got_t;

/* Written on the loop by on_rtp, read by the test after each (synchronous) step. */
static struct {
    unsigned n;
    got_t got[16];
    bool fanout;
    unsigned nfwd; /* packets fanned out */
    size_t fwd_len[FWD_MAX];
    uint8_t fwd[2][FWD_MAX][SMALL]; /* per subscriber: the bytes forwarded */
    uint8_t scratch[PF_PKT_MAX + 64];
} tm;

/* A subscriber's copy of pkt, as a fan-out makes it: SSRC, sequence number, timestamp and
 * payload type rewritten, and one payload descriptor byte (as the VP8 picture id is). */
static void tm_forward(sb_rtp_packet_t *pkt, unsigned slot)
{
    uint8_t *buf = tm.scratch;
    memcpy(buf, pkt->data, pkt->len);
    sb_rtp_set_ssrc(buf, sub_ssrc(slot));
    sb_rtp_set_seq(buf, (uint16_t)(SUB_SEQ0 + tm.nfwd));
    sb_rtp_set_timestamp(buf, pkt->rtp.timestamp + 1000u * slot);
    sb_rtp_set_pt(buf, SUB_PT);
    buf[pkt->rtp.header_len + 3] ^= (uint8_t)(0x40 + slot);
    if (tm.nfwd < FWD_MAX && pkt->len <= SMALL) {
        memcpy(tm.fwd[slot - 1][tm.nfwd], buf, pkt->len);
        tm.fwd_len[tm.nfwd] = pkt->len;
    }
    sb_peer_forward_rtp(pf_peer(slot), 0, buf, pkt->len, sizeof(tm.scratch), pkt);
}

static void tm_on_rtp(sb_plugin_handle_t *h, sb_rtp_packet_t *pkt)
{
    if (pf_slot_of(h) != PUB)
        return;
    if (tm.n < 16) {
        got_t *g = &tm.got[tm.n];
        *g = (got_t){.stream = pkt->stream->index,
                     .layer = pkt->layer,
                     .retransmission = pkt->retransmission,
                     .marker = pkt->rtp.marker,
                     .ssrc = pkt->rtp.ssrc,
                     .ts = pkt->rtp.timestamp,
                     .seq = pkt->rtp.seq,
                     .pt = pkt->rtp.pt,
                     .payload_len = pkt->rtp.payload_len};
        memcpy(g->payload, pkt->rtp.payload,
               pkt->rtp.payload_len < SMALL ? pkt->rtp.payload_len : SMALL);
    }
    tm.n++;
    if (!tm.fanout)
        return;
    for (unsigned slot = 1; slot <= 2; slot++) {
        if (pf_peer(slot))
            tm_forward(pkt, slot);
    }
    tm.nfwd++;
}

static int tm_create(sb_plugin_handle_t *h)
{
    h->plugin_data = NULL;
    return 0;
}

static void tm_destroy(sb_plugin_handle_t *h)
{
    (void)h;
}

static const sb_plugin_t tm_plugin = {
    SB_PLUGIN_HEADER,           .package = "test.peer_media",
    .create_handle = tm_create, .destroy_handle = tm_destroy,
    .on_rtp = tm_on_rtp,
};

/* ---- streams and packets -------------------------------------------------------------------- */

/* The publisher: audio with an announced SSRC; VP8 in three rid layers (q, h, f) with RTX,
 * SSRCs learnt from mid/rid/repaired-rid; single-layer VP8 with RTX, SSRCs announced nowhere. */
static const sb_media_stream_t pub_streams[3] = {
    {.index = 0,
     .mid = "0",
     .kind = SB_MEDIA_AUDIO,
     .active = true,
     .recv = true,
     .pt = 111,
     .codec = "opus",
     .clock_rate = 48000,
     .channels = 2,
     .layers = 1,
     .remote_ssrc = {AUDIO_SSRC},
     .ext_mid = PF_EXT_MID},
    {.index = 1,
     .mid = "1",
     .kind = SB_MEDIA_VIDEO,
     .active = true,
     .recv = true,
     .pt = 96,
     .rtx_pt = 97,
     .codec = "VP8",
     .clock_rate = 90000,
     .layers = 3,
     .rid = {"q", "h", "f"},
     .ext_mid = PF_EXT_MID,
     .ext_rid = PF_EXT_RID,
     .ext_repaired_rid = PF_EXT_RRID,
     .fb_nack = true,
     .fb_pli = true},
    {.index = 2,
     .mid = "2",
     .kind = SB_MEDIA_VIDEO,
     .active = true,
     .recv = true,
     .pt = 98,
     .rtx_pt = 99,
     .codec = "VP8",
     .clock_rate = 90000,
     .layers = 1,
     .ext_mid = PF_EXT_MID,
     .fb_nack = true,
     .fb_pli = true},
};

/* A subscriber: one VP8 m-line we send on, with RTX or without. */
static sb_media_stream_t sub_stream(unsigned slot, bool rtx)
{
    return (sb_media_stream_t){.index = 0,
                               .mid = "0",
                               .kind = SB_MEDIA_VIDEO,
                               .active = true,
                               .send = true,
                               .pt = SUB_PT,
                               .rtx_pt = rtx ? SUB_RTX_PT : 0,
                               .codec = "VP8",
                               .clock_rate = 90000,
                               .layers = 1,
                               .local_ssrc = sub_ssrc(slot),
                               .local_rtx_ssrc = rtx ? sub_ssrc(slot) + 1 : 0,
                               .fb_nack = true};
}

/* A VP8 payload (descriptor with a 15-bit picture id, then a delta frame), its bytes a
 * function of seq. */
static void vp8_payload(uint16_t seq, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(seq * 7u + i);
    out[0] = 0x90;
    out[1] = 0x80;
    out[2] = (uint8_t)(0x80 | ((seq >> 8) & 0x7f));
    out[3] = (uint8_t)seq;
    out[4] = 0x01; /* P bit: not a keyframe */
}

/* The client of PUB sends d (a VP8 payload of 40 bytes when d has none). */
static void pub_send(pf_rtp_t d)
{
    uint8_t payload[40], pkt[SMALL];
    if (!d.payload) {
        vp8_payload(d.seq, payload, sizeof(payload));
        d.payload = payload;
        d.payload_len = sizeof(payload);
    }
    pf_client_send(PUB, pkt, pf_rtp_build(&d, pkt, sizeof(pkt)));
}

static int setup(void **state)
{
    (void)state;
    memset(&tm, 0, sizeof(tm));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pf_close_all();
    return 0;
}

/* ---- SSRC learning ------------------------------------------------------------------------- */

static void test_rid_learns_simulcast_layer(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x1001, .pt = 96, .seq = 10, .mid = "1", .rid = "h"});
    assert_int_equal(tm.n, 1);
    assert_int_equal(tm.got[0].stream, 1);
    assert_int_equal(tm.got[0].layer, 1);
    assert_int_equal(tm.got[0].ssrc, 0x1001);
    assert_false(tm.got[0].retransmission);
    assert_int_equal(p->rt[1].rx[1].ssrc, 0x1001);
    assert_int_equal(p->rt[1].rx[0].ssrc, 0);
    assert_int_equal(p->rt[1].rx[2].ssrc, 0);
    /* Once learnt, the SSRC alone names the layer (browsers stop sending the rid). */
    pub_send((pf_rtp_t){.ssrc = 0x1001, .pt = 96, .seq = 11});
    assert_int_equal(tm.n, 2);
    assert_int_equal(tm.got[1].layer, 1);
    /* Another layer, by its own rid. */
    pub_send((pf_rtp_t){.ssrc = 0x1003, .pt = 96, .seq = 500, .mid = "1", .rid = "f"});
    assert_int_equal(tm.n, 3);
    assert_int_equal(tm.got[2].stream, 1);
    assert_int_equal(tm.got[2].layer, 2);
    assert_int_equal(p->rt[1].rx[2].ssrc, 0x1003);
    assert_int_equal(p->stats.unknown_ssrc, 0);
    assert_int_equal(p->stats.rtp_in, 3);
}

/* The RTX SSRC of a layer is learnt from repaired-rid, and what it carries is that layer's. */
static void test_repaired_rid_learns_rtx_of_layer(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x1001, .pt = 96, .seq = 11, .ts = 9000, .mid = "1", .rid = "h"});
    uint8_t orig[40], rtx[42];
    vp8_payload(11, orig, sizeof(orig));
    rtx[0] = 0;
    rtx[1] = 11; /* OSN */
    memcpy(rtx + 2, orig, sizeof(orig));
    pub_send((pf_rtp_t){.ssrc = 0x2001,
                        .pt = 97,
                        .seq = 70,
                        .ts = 9000,
                        .mid = "1",
                        .rrid = "h",
                        .payload = rtx,
                        .payload_len = sizeof(rtx)});
    assert_int_equal(tm.n, 2);
    const got_t *g = &tm.got[1];
    assert_int_equal(g->stream, 1);
    assert_int_equal(g->layer, 1);
    assert_true(g->retransmission);
    assert_int_equal(g->ssrc, 0x1001);
    assert_int_equal(g->pt, 96);
    assert_int_equal(g->seq, 11);
    assert_int_equal(g->payload_len, sizeof(orig));
    assert_memory_equal(g->payload, orig, sizeof(orig));
    assert_int_equal(p->rt[1].rx[1].rtx_ssrc, 0x2001);
    assert_int_equal(p->rt[1].rx[1].ssrc, 0x1001);
    assert_int_equal(p->stats.rtx_in, 1);
}

/* A single-layer stream whose SSRC no SDP announced: learnt from the payload type alone. */
static void test_unannounced_ssrc_learnt_from_pt(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x3001, .pt = 98, .seq = 1});
    assert_int_equal(tm.n, 1);
    assert_int_equal(tm.got[0].stream, 2);
    assert_int_equal(tm.got[0].layer, 0);
    assert_int_equal(p->rt[2].rx[0].ssrc, 0x3001);
    assert_int_equal(p->stats.unknown_ssrc, 0);
}

/* What must not be taken for a stream is dropped before the plugin, and counted. */
static void test_unknown_ssrc_dropped_and_counted(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x1001, .pt = 96, .seq = 10, .mid = "1", .rid = "h"});
    pub_send((pf_rtp_t){.ssrc = AUDIO_SSRC, .pt = 111, .seq = 1, .mid = "0"});
    assert_int_equal(tm.n, 2);
    const pf_rtp_t bad[] = {
        {.ssrc = 0x1100, .pt = 96, .seq = 1, .mid = "1", .rid = "x"}, /* no such rid */
        {.ssrc = 0x1101, .pt = 96, .seq = 1, .mid = "1"},             /* simulcast, no rid */
        {.ssrc = 0x1102, .pt = 96, .seq = 1, .mid = "1", .rid = "h"}, /* a live layer's rid */
        {.ssrc = 0x1103, .pt = 111, .seq = 1, .mid = "0"},            /* announced: audio's */
        {.ssrc = 0x1104, .pt = 120, .seq = 1},                        /* no stream at all */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pub_send(bad[i]);
        assert_int_equal(tm.n, 2);
        assert_int_equal(p->stats.unknown_ssrc, i + 1);
    }
    assert_int_equal(p->stats.rtp_in, 2);
    assert_int_equal(p->rt[1].rx[1].ssrc, 0x1001);
    assert_int_equal(p->rt[0].rx[0].ssrc, AUDIO_SSRC);
    assert_int_equal(p->nssrcs, 2); /* audio's and layer h's */
    /* The real ones still go through, on their own layer. */
    pub_send((pf_rtp_t){.ssrc = 0x1001, .pt = 96, .seq = 11});
    assert_int_equal(tm.n, 3);
    assert_int_equal(tm.got[2].layer, 1);
}

/* ---- RTX ------------------------------------------------------------------------------------ */

static void test_rtx_unwrap(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x3001, .pt = 98, .seq = 300, .ts = 4242});
    uint8_t orig[40], rtx[42];
    vp8_payload(300, orig, sizeof(orig));
    rtx[0] = 300 >> 8;
    rtx[1] = 300 & 0xff;
    memcpy(rtx + 2, orig, sizeof(orig));
    pub_send((pf_rtp_t){.ssrc = 0x3002,
                        .pt = 99,
                        .seq = 7,
                        .ts = 4242,
                        .marker = true,
                        .payload = rtx,
                        .payload_len = sizeof(rtx)});
    assert_int_equal(tm.n, 2);
    const got_t *g = &tm.got[1];
    assert_true(g->retransmission);
    assert_int_equal(g->stream, 2);
    assert_int_equal(g->seq, 300); /* the OSN */
    assert_int_equal(g->pt, 98);   /* the media's payload type */
    assert_int_equal(g->ssrc, 0x3001);
    assert_int_equal(g->ts, 4242);
    assert_true(g->marker);
    assert_int_equal(g->payload_len, sizeof(orig));
    assert_memory_equal(g->payload, orig, sizeof(orig));
    assert_int_equal(p->rt[2].rx[0].rtx_ssrc, 0x3002);
    assert_int_equal(p->stats.rtx_in, 1);
}

/* An RTX packet with less than an OSN, or only padding (a probe), carries nothing to restore:
 * no plugin sees it; it is counted (rtx_unusable). */
static void test_rtx_too_short_dropped(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send((pf_rtp_t){.ssrc = 0x3001, .pt = 98, .seq = 300});
    const uint8_t one = 0x01;
    pub_send((pf_rtp_t){.ssrc = 0x3002, .pt = 99, .seq = 8, .payload = &one, .payload_len = 1});
    assert_int_equal(tm.n, 1);
    /* Padding only: P bit, then 4 bytes of padding whose last byte counts them. */
    uint8_t pkt[SMALL];
    size_t n = pf_rtp_build(&(pf_rtp_t){.ssrc = 0x3002, .pt = 99, .seq = 9}, pkt, sizeof(pkt));
    pkt[0] |= 0x20;
    memcpy(pkt + n, (const uint8_t[]){0, 0, 0, 4}, 4);
    pf_client_send(PUB, pkt, n + 4);
    assert_int_equal(tm.n, 1);
    assert_int_equal(p->stats.rtx_in, 0);
    /* The RTX SSRC itself is known (it may carry a real retransmission next). */
    assert_int_equal(p->rt[2].rx[0].rtx_ssrc, 0x3002);
    assert_int_equal(p->stats.unknown_ssrc, 0);
    assert_int_equal(p->stats.rtx_unusable, 2); /* dropped, and counted as what they were */
    assert_int_equal(p->stats.dropped_in, 0);
}

/* ---- the fan-out's send history -------------------------------------------------------------- */

/* Publisher PUB, subscriber 1 with RTX, subscriber 2 without; the plugin fans out. */
static void fanout_peers(void)
{
    pf_peer_new(PUB, pub_streams, 3);
    sb_media_stream_t s1 = sub_stream(1, true), s2 = sub_stream(2, false);
    pf_peer_new(1, &s1, 1);
    pf_peer_new(2, &s2, 1);
    tm.fanout = true;
}

static void pub_send_media(unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        pub_send((pf_rtp_t){.ssrc = 0x3001,
                            .pt = 98,
                            .seq = (uint16_t)(200 + tm.nfwd),
                            .ts = 90 * tm.nfwd,
                            .mid = "2"});
}

/* The client of slot NACKs the packets forwarded as number idx[0..n-1]. */
static void sub_nack(unsigned slot, const unsigned *idx, unsigned n)
{
    uint16_t seqs[8];
    for (unsigned i = 0; i < n; i++)
        seqs[i] = (uint16_t)(SUB_SEQ0 + idx[i]);
    uint8_t buf[64];
    int len = sb_rtcp_write_nack(buf, sizeof(buf), 0xC11E47u, sub_ssrc(slot), seqs, n);
    assert_true(len > 0);
    pf_inbox_clear(slot);
    pf_client_send(slot, buf, (size_t)len);
}

/* Retransmission i of what client `slot` got since the NACK: as forwarded as number idx. */
static void assert_resent(unsigned slot, unsigned i, unsigned idx, bool rtx)
{
    const pf_inbox_t *box = pf_inbox(slot);
    assert_true(i < box->n);
    const pf_packet_t *got = &box->pkts[i];
    assert_false(got->rtcp);
    const uint8_t *want = tm.fwd[slot - 1][idx];
    size_t want_len = tm.fwd_len[idx];
    if (!rtx) {
        assert_int_equal(got->len, want_len);
        assert_memory_equal(got->data, want, want_len);
        return;
    }
    sb_rtp_view_t v;
    assert_int_equal(sb_rtp_parse(got->data, got->len, &v), 0);
    assert_int_equal(v.ssrc, sub_ssrc(slot) + 1);
    assert_int_equal(v.pt, SUB_RTX_PT);
    uint8_t orig[PF_PKT_MAX];
    int n = sb_rtx_restore(&v, sub_ssrc(slot), SUB_PT, orig, sizeof(orig));
    assert_int_equal(n, (int)want_len);
    assert_memory_equal(orig, want, want_len);
}

static void test_forward_shares_source_buffer(void **state)
{
    (void)state;
    fanout_peers();
    assert_int_equal(pf_pool_in_use(), 0);
    pub_send_media(10);
    for (unsigned slot = 1; slot <= 2; slot++) {
        const pf_inbox_t *box = pf_inbox(slot);
        assert_int_equal(box->total, 10);
        assert_int_equal(box->undecrypted + box->dropped, 0);
        for (unsigned i = 0; i < 10; i++) {
            assert_int_equal(box->pkts[i].len, tm.fwd_len[i]);
            assert_memory_equal(box->pkts[i].data, tm.fwd[slot - 1][i], tm.fwd_len[i]);
        }
    }
    /* Both histories hold the publisher's packets: one buffer each, not one per subscriber. */
    assert_int_equal(pf_pool_in_use(), 10);
    sub_nack(1, (const unsigned[]){3, 7}, 2);
    assert_int_equal(pf_inbox(1)->total, 2);
    assert_resent(1, 0, 3, true);
    assert_resent(1, 1, 7, true);
    assert_int_equal(pf_peer(1)->stats.retransmitted, 2);
    sub_nack(2, (const unsigned[]){5}, 1);
    assert_int_equal(pf_inbox(2)->total, 1);
    assert_resent(2, 0, 5, false);
    assert_int_equal(pf_peer(2)->stats.retransmitted, 1);
    assert_int_equal(pf_pool_in_use(), 10); /* a resend copies into scratch, keeps nothing */
}

static void test_send_history_bounded(void **state)
{
    (void)state;
    fanout_peers();
    const unsigned total = 3 * SB_PEER_SEND_HISTORY, oldest_kept = total - SB_PEER_SEND_HISTORY;
    pub_send_media(total);
    assert_int_equal(pf_inbox(1)->total, total);
    assert_int_equal(pf_inbox(2)->total, total);
    assert_int_equal(pf_pool_in_use(), SB_PEER_SEND_HISTORY);
    /* Gone from the history: nothing is resent. */
    sub_nack(1, (const unsigned[]){0, oldest_kept - 1}, 2);
    assert_int_equal(pf_inbox(1)->total, 0);
    assert_int_equal(pf_peer(1)->stats.retransmitted, 0);
    /* Still there: the right bytes. */
    sub_nack(1, (const unsigned[]){oldest_kept, total - 1}, 2);
    assert_int_equal(pf_inbox(1)->total, 2);
    assert_resent(1, 0, oldest_kept, true);
    assert_resent(1, 1, total - 1, true);
    sub_nack(2, (const unsigned[]){total - 2}, 1);
    assert_resent(2, 0, total - 2, false);
    /* The peers go: their histories release every buffer. */
    pf_close_all();
    assert_int_equal(pf_pool_in_use(), 0);
}

/* ---- keyframe requests ---------------------------------------------------------------------- */

/* RTCP feedback of this packet type and format the publisher's client got since its inbox
 * was cleared. */
static unsigned feedback_sent(uint8_t type, uint8_t fmt)
{
    const pf_inbox_t *box = pf_inbox(PUB);
    unsigned n = 0;
    for (unsigned i = 0; i < box->n; i++) {
        const pf_packet_t *got = &box->pkts[i];
        if (got->rtcp && got->len >= 12 && got->data[1] == type && (got->data[0] & 0x1f) == fmt)
            n++;
    }
    return n;
}

static unsigned plis_sent(void)
{
    return feedback_sent(206, 1); /* PSFB, PLI */
}

static void pub_send_frame(uint16_t seq, bool keyframe)
{
    uint8_t payload[40];
    vp8_payload(seq, payload, sizeof(payload));
    payload[4] = keyframe ? 0x00 : 0x01;
    pub_send((pf_rtp_t){.ssrc = 0x3001, .pt = 98, .seq = seq, .mid = "2", .payload = payload,
                        .payload_len = sizeof(payload)});
}

typedef struct kf_req {
    bool first;
} kf_req_t;

static void kf_request_run(void *arg)
{
    const kf_req_t *r = arg;
    if (r->first)
        sb_peer_request_first_keyframe(pf_peer(PUB), 2, 0);
    else
        sb_peer_request_keyframe(pf_peer(PUB), 2, 0);
}

static void kf_request(bool first)
{
    kf_req_t r = {.first = first};
    pf_run(kf_request_run, &r);
}

static void test_first_keyframe_request_not_held_back(void **state)
{
    (void)state;
    sb_peer_t *p = pf_peer_new(PUB, pub_streams, 3);
    pub_send_frame(1, false); /* the stream's SSRC is learnt */
    pf_inbox_clear(PUB);
    kf_request(false);
    assert_int_equal(plis_sent(), 1);
    /* A repeat inside the window waits for its end. */
    kf_request(false);
    assert_int_equal(plis_sent(), 1);
    assert_true(p->rt[2].rx[0].keyframe_pending);
    /* A new receiver while the asked keyframe is on its way: that one will serve it. */
    kf_request(true);
    assert_int_equal(plis_sent(), 1);
    /* The keyframe came; a new receiver after it is asked for at once, inside the window,
     * and the ordinary request stays due at the window's end (for a publisher that drops
     * requests so close together). */
    pub_send_frame(2, true);
    assert_false(p->rt[2].rx[0].keyframe_pending);
    kf_request(true);
    assert_int_equal(plis_sent(), 2);
    assert_true(p->rt[2].rx[0].keyframe_pending);
    /* One extra request at a time: the next new receiver waits for its answer. */
    kf_request(true);
    assert_int_equal(plis_sent(), 2);
    pub_send_frame(3, true);
    kf_request(true);
    assert_int_equal(plis_sent(), 3);
    /* Repeats stay limited however many first requests went. */
    kf_request(false);
    assert_int_equal(plis_sent(), 3);
}

/* ---- the loop's ticker: 1 s while idle, 20 ms again at the first packet ---------------- */

static void ticker_start_run(void *arg)
{
    (void)arg;
    sb_peer_media_start(pf_peer(PUB));
}

static void ticker_slow_run(void *arg)
{
    *(bool *)arg = sb_peer_ticker_slow(pf_peer(PUB));
}

static bool ticker_slow(void)
{
    bool slow = false;
    pf_run(ticker_slow_run, &slow);
    return slow;
}

static void noop_run(void *arg)
{
    (void)arg;
}

static unsigned nacks_sent(void)
{
    return feedback_sent(205, 1); /* RTPFB, generic NACK */
}

static void test_idle_ticker_wakes_for_media(void **state)
{
    (void)state;
    pf_peer_new(PUB, pub_streams, 3);
    pf_run(ticker_start_run, NULL);
    pub_send_frame(1, true);
    assert_false(ticker_slow());
    /* A second without media either way, then a tick: the loop slows down. */
    g_usleep(1400 * 1000);
    assert_true(ticker_slow());
    /* Media again, with a packet missing: back to 20 ms at once, so the NACK goes within
     * a tick or two, not after up to a second. */
    pub_send_frame(2, false);
    assert_false(ticker_slow());
    pf_inbox_clear(PUB);
    pub_send_frame(4, false);
    g_usleep(70 * 1000);
    pf_run(noop_run, NULL);
    assert_true(nacks_sent() >= 1);
}

static int group_setup(void **state)
{
    (void)state;
    pf_setup(&tm_plugin);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pf_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rid_learns_simulcast_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repaired_rid_learns_rtx_of_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unannounced_ssrc_learnt_from_pt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ssrc_dropped_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtx_unwrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtx_too_short_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_shares_source_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_history_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_keyframe_request_not_held_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_ticker_wakes_for_media, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
