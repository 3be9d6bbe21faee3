/* Unit tests for peer/peer_streams: the SSRCs of our offers. An m-line keeps its SSRCs across
 * renegotiations, also through a time inactive (recycled for another feed afterwards), since
 * a client that routes by SSRC (aiortc) never re-reads a started receiver's SSRC. The AV1
 * dependency descriptor in offers and in the plugin's view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "session/peer_streams.h"

static const sb_offer_stream_t two_feeds[4] = {
    {.kind = SB_MEDIA_AUDIO, .active = true, .codec = "opus", .pt = 111, .mid = "0"},
    {.kind = SB_MEDIA_VIDEO, .active = true, .codec = "VP8", .pt = 96, .rtx_pt = 97, .mid = "1"},
    {.kind = SB_MEDIA_AUDIO, .active = true, .codec = "opus", .pt = 111, .mid = "2"},
    {.kind = SB_MEDIA_VIDEO, .active = true, .codec = "VP8", .pt = 96, .rtx_pt = 97, .mid = "3"},
};

/* What the negotiation would report for the answered offer: we send on the active m-lines
 * with the SSRCs we offered. */
static void answered(const sb_offer_stream_t *in, const sb_negotiate_stream_t *out, unsigned n,
                     sb_media_stream_t *streams)
{
    for (unsigned i = 0; i < n; i++) {
        memset(&streams[i], 0, sizeof(streams[i]));
        streams[i].index = i;
        snprintf(streams[i].mid, sizeof(streams[i].mid), "%s", out[i].mid);
        streams[i].kind = in[i].kind;
        streams[i].active = streams[i].send = in[i].active;
        if (in[i].active) {
            streams[i].local_ssrc = out[i].ssrc;
            streams[i].local_rtx_ssrc = out[i].rtx_ssrc;
        }
    }
}

/* Offer in[], "answer" it and record the SSRCs, as handle_media does. */
static void negotiate(const sb_offer_stream_t *in, unsigned n, sb_peer_mline_ssrc_t *kept,
                      unsigned *nkept, sb_negotiate_stream_t *out)
{
    char mids[SB_MEDIA_MAX_STREAMS][12];
    sb_media_stream_t streams[SB_MEDIA_MAX_STREAMS];
    assert_int_equal(sb_peer_streams_offer(in, n, kept, *nkept, 65536, out, mids), n);
    answered(in, out, n, streams);
    *nkept = sb_peer_streams_keep_ssrcs(streams, n, kept, *nkept, SB_MEDIA_MAX_STREAMS);
}

static void test_fresh_offer(void **state)
{
    (void)state;
    sb_negotiate_stream_t out[4];
    char mids[SB_MEDIA_MAX_STREAMS][12];
    assert_int_equal(sb_peer_streams_offer(two_feeds, 4, NULL, 0, 65536, out, mids), 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_not_equal(out[i].ssrc, 0);
        for (unsigned k = 0; k < i; k++)
            assert_int_not_equal(out[i].ssrc, out[k].ssrc);
    }
    assert_int_equal(out[0].rtx_ssrc, 0); /* audio: no RTX */
    assert_int_not_equal(out[1].rtx_ssrc, 0);
    assert_int_not_equal(out[1].rtx_ssrc, out[1].ssrc);
}

static void test_renegotiation_keeps_ssrcs(void **state)
{
    (void)state;
    sb_peer_mline_ssrc_t kept[SB_MEDIA_MAX_STREAMS];
    unsigned nkept = 0;
    sb_negotiate_stream_t first[4], again[4];
    negotiate(two_feeds, 4, kept, &nkept, first);
    assert_int_equal(nkept, 4);
    negotiate(two_feeds, 4, kept, &nkept, again);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(again[i].ssrc, first[i].ssrc);
        assert_int_equal(again[i].rtx_ssrc, first[i].rtx_ssrc);
    }
}

/* The videoroom case aiortc broke on: mid 0 goes inactive, then carries another feed. */
static void test_recycled_mline_keeps_ssrc(void **state)
{
    (void)state;
    sb_peer_mline_ssrc_t kept[SB_MEDIA_MAX_STREAMS];
    unsigned nkept = 0;
    sb_negotiate_stream_t first[4], off[4], reused[4];
    negotiate(two_feeds, 4, kept, &nkept, first);

    sb_offer_stream_t in[4];
    memcpy(in, two_feeds, sizeof(in));
    in[0].active = false;
    negotiate(in, 4, kept, &nkept, off);
    assert_int_equal(nkept, 4); /* the inactive m-line is not forgotten */

    in[0].active = true;
    in[2].active = false;
    negotiate(in, 4, kept, &nkept, reused);
    assert_int_equal(reused[0].ssrc, first[0].ssrc);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(reused[i].ssrc, first[i].ssrc);
}

static void test_kind_and_mid_must_match(void **state)
{
    (void)state;
    sb_peer_mline_ssrc_t kept[SB_MEDIA_MAX_STREAMS];
    unsigned nkept = 0;
    sb_negotiate_stream_t first[4], other[2];
    negotiate(two_feeds, 4, kept, &nkept, first);
    /* mid "0" as video now (another PeerConnection's numbering), and a mid never sent on. */
    sb_offer_stream_t in[2] = {
        {.kind = SB_MEDIA_VIDEO, .active = true, .codec = "VP8", .pt = 96, .mid = "0"},
        {.kind = SB_MEDIA_AUDIO, .active = true, .codec = "opus", .pt = 111, .mid = "9"},
    };
    char mids[SB_MEDIA_MAX_STREAMS][12];
    assert_int_equal(sb_peer_streams_offer(in, 2, kept, nkept, 65536, other, mids), 2);
    for (unsigned k = 0; k < 4; k++) {
        assert_int_not_equal(other[0].ssrc, first[k].ssrc);
        assert_int_not_equal(other[1].ssrc, first[k].ssrc);
    }
}

static void test_keep_is_bounded(void **state)
{
    (void)state;
    sb_peer_mline_ssrc_t kept[2];
    sb_media_stream_t streams[3];
    memset(streams, 0, sizeof(streams));
    for (unsigned i = 0; i < 3; i++) {
        snprintf(streams[i].mid, sizeof(streams[i].mid), "%u", i);
        streams[i].send = true;
        streams[i].local_ssrc = 100 + i;
    }
    assert_int_equal(sb_peer_streams_keep_ssrcs(streams, 3, kept, 0, 2), 2);
    assert_int_equal(kept[1].ssrc, 101);
    /* A known mid is updated in place even when the table is full. */
    streams[1].local_ssrc = 555;
    assert_int_equal(sb_peer_streams_keep_ssrcs(streams, 3, kept, 2, 2), 2);
    assert_int_equal(kept[1].ssrc, 555);
    /* Streams we do not send on are not recorded. */
    streams[0].send = false;
    streams[0].local_ssrc = 777;
    assert_int_equal(sb_peer_streams_keep_ssrcs(streams, 1, kept, 2, 2), 2);
    assert_int_equal(kept[0].ssrc, 100);
}

/* Our offers carry the AV1 dependency descriptor on AV1 m-lines only (it is forwarded); the
 * negotiated id reaches the plugin's view. */
static void test_dependency_descriptor(void **state)
{
    (void)state;
    const sb_offer_stream_t in[2] = {
        {.kind = SB_MEDIA_VIDEO, .active = true, .codec = "AV1", .pt = 45, .rtx_pt = 46},
        {.kind = SB_MEDIA_VIDEO, .active = true, .codec = "VP9", .pt = 98, .rtx_pt = 99},
    };
    sb_negotiate_stream_t out[2];
    char mids[SB_MEDIA_MAX_STREAMS][12];
    assert_int_equal(sb_peer_streams_offer(in, 2, NULL, 0, 65536, out, mids), 2);
    assert_int_equal(out[0].ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR], SB_PEER_STREAMS_DD_ID);
    assert_int_equal(out[1].ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR], 0);
    for (int x = 0; x < SB_HDREXT_COUNT; x++) /* no id clash with what else we offer */
        assert_true(x == SB_HDREXT_DEPENDENCY_DESCRIPTOR || out[0].ext[x] != SB_PEER_STREAMS_DD_ID);

    sb_negotiate_media_t nm;
    memset(&nm, 0, sizeof(nm));
    nm.kind = SB_SDP_KIND_VIDEO;
    nm.accepted = true;
    nm.pt = 45;
    nm.rtx_pt = -1;
    nm.codec = SB_CODEC_AV1;
    nm.dir = SB_SDP_DIR_RECVONLY;
    nm.ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR] = 13;
    sb_negotiate_result_t res = {.media = &nm, .n_media = 1};
    sb_media_stream_t view;
    assert_int_equal(sb_peer_streams_from_result(&res, &view, 1), 1);
    assert_int_equal(view.ext_dependency_descriptor, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_offer),
        cmocka_unit_test(test_renegotiation_keeps_ssrcs),
        cmocka_unit_test(test_recycled_mline_keeps_ssrc),
        cmocka_unit_test(test_kind_and_mid_must_match),
        cmocka_unit_test(test_keep_is_bounded),
        cmocka_unit_test(test_dependency_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
