/* Unit tests for the offers we make (subscriber legs): the exact text Chromium and aiortc
 * accepted when the fixtures were captured, disabled/paused streams, invalid streams, and the
 * processing of the answers Chromium and aiortc gave to that offer (tests/unit/sdp/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/negotiate.h"
#include "proto/sdp.h"
#include "sdp_fixture.h"

static sb_sdp_t *parse_text(const char *text)
{
    char why[256];
    sb_sdp_t *sdp = NULL;
    if (sb_sdp_parse(text, strlen(text), &sdp, why, sizeof(why)) != 0)
        fail_msg("parse failed: %s", why);
    return sdp;
}

static sb_sdp_t *parse_fixture(const char *name)
{
    char *text = fixture_load(name, NULL);
    sb_sdp_t *sdp = parse_text(text);
    free(text);
    return sdp;
}
static const sb_negotiate_stream_t offer_streams[3] = {
    {.kind = SB_SDP_KIND_AUDIO,
     .mid = "a0",
     .codec = SB_CODEC_OPUS,
     .pt = 111,
     .fmtp = "minptime=10;useinbandfec=1",
     .ssrc = 11111,
     .cname = "sfu",
     .msid_stream = "feed1",
     .msid_track = "audio1",
     .ext = {[SB_HDREXT_MID] = 4, [SB_HDREXT_AUDIO_LEVEL] = 1},
     .fb = SB_NEGOTIATE_FB_TWCC},
    {.kind = SB_SDP_KIND_VIDEO,
     .mid = "v1",
     .codec = SB_CODEC_VP8,
     .pt = 96,
     .rtx_pt = 97,
     .ssrc = 22222,
     .rtx_ssrc = 33333,
     .cname = "sfu",
     .msid_stream = "feed1",
     .msid_track = "video1",
     .ext = {[SB_HDREXT_MID] = 4,
             [SB_HDREXT_ABS_SEND_TIME] = 2,
             [SB_HDREXT_TWCC] = 3,
             [SB_HDREXT_PLAYOUT_DELAY] = 5},
     .fb = SB_NEGOTIATE_FB_ALL},
    {.kind = SB_SDP_KIND_VIDEO,
     .mid = "v2",
     .codec = SB_CODEC_H264,
     .pt = 102,
     .fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
     .rtx_pt = 103,
     .ssrc = 44444,
     .rtx_ssrc = 55555,
     .msid_stream = "feed2",
     .msid_track = "video2",
     .ext = {[SB_HDREXT_MID] = 4},
     .fb = SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI},
};

static const char *const offer_cands[] = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"};

static sb_sdp_t *make_offer(void)
{
    sb_negotiate_local_t l = {.ice_ufrag = "sbuf",
                              .ice_pwd = "0123456789abcdefABCDEF",
                              .fingerprint = FP,
                              .candidates = offer_cands,
                              .n_candidates = 1,
                              .end_of_candidates = true,
                              .session_id = 1234,
                              .session_version = 1};
    char why[128];
    sb_sdp_t *offer = NULL;
    if (sb_negotiate_offer(&l, offer_streams, 3, &offer, why, sizeof(why)) != 0)
        fail_msg("offer failed: %s", why);
    return offer;
}

static void test_offer(void **state)
{
    /* The exact text Chromium and aiortc accepted when the fixtures were captured. */
    sb_sdp_t *offer = make_offer();
    char *text = sb_sdp_write(offer, NULL);
    char *want = fixture_load("switchboard_offer.sdp", NULL);
    assert_string_equal(text, want);
    assert_int_equal(offer->media[0].transport.setup, SB_SDP_SETUP_ACTPASS);
    assert_int_equal(offer->media[1].dir, SB_SDP_DIR_SENDONLY);
    assert_int_equal(offer->media[0].n_candidates, 1);
    assert_int_equal(offer->media[2].n_candidates, 0);
    sb_free(text);
    free(want);
    sb_sdp_free(offer);

    /* A disabled stream keeps its place with port 0, outside BUNDLE, no SSRC; a paused one
     * stays inactive; ids above 14 bring extmap-allow-mixed. */
    sb_negotiate_stream_t st[3];
    memcpy(st, offer_streams, sizeof(st));
    st[0].disabled = true;
    st[1].dir = SB_SDP_DIR_INACTIVE;
    st[2].ext[SB_HDREXT_TWCC] = 20;
    sb_negotiate_local_t l;
    local_init(&l);
    char why[128];
    assert_int_equal(sb_negotiate_offer(&l, st, 3, &offer, why, sizeof(why)), 0);
    assert_int_equal(offer->media[0].port, 0);
    assert_int_equal(offer->media[0].n_ssrcs, 0);
    assert_int_equal(offer->groups[0].n_mids, 2);
    assert_string_equal(offer->groups[0].mids[0], "v1");
    assert_int_equal(offer->media[1].n_candidates, 2);
    assert_int_equal(offer->media[1].dir, SB_SDP_DIR_INACTIVE);
    assert_int_equal(offer->media[1].n_ssrcs, 0);
    assert_true(offer->extmap_allow_mixed);
    text = sb_sdp_write(offer, NULL);
    sb_sdp_free(parse_text(text));
    sb_free(text);
    sb_sdp_free(offer);

    /* RED of Opus: offered first; a receiver that keeps it in its answer takes RED (our
     * answerer stands in for it here), one that drops it does not. */
    memcpy(st, offer_streams, sizeof(st));
    st[0].red_pt = 63;
    assert_int_equal(sb_negotiate_offer(&l, st, 3, &offer, why, sizeof(why)), 0);
    text = sb_sdp_write(offer, NULL);
    assert_non_null(strstr(text, "m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n"));
    assert_non_null(strstr(text, "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"));
    sb_free(text);
    for (int red = 0; red < 2; red++) {
        sb_negotiate_opts_t o;
        sb_negotiate_opts_init(&o);
        local_init(&o.local);
        o.red = red;
        sb_negotiate_result_t *ans = NULL, *res = NULL;
        assert_int_equal(sb_negotiate_answer(offer, &o, &ans, why, sizeof(why)), 0);
        assert_int_equal(sb_negotiate_process_answer(offer, ans->answer, &res, why, sizeof(why)),
                         0);
        assert_int_equal(res->media[0].pt, 111);
        assert_int_equal(res->media[0].red_pt, red ? 63 : -1);
        sb_negotiate_result_free(ans);
        sb_negotiate_result_free(res);
    }
    sb_sdp_free(offer);

    /* The AV1 dependency descriptor brings it too (over 16 bytes with its structure). */
    memcpy(st, offer_streams, sizeof(st));
    assert_int_equal(sb_negotiate_offer(&l, st, 3, &offer, why, sizeof(why)), 0);
    assert_false(offer->extmap_allow_mixed);
    sb_sdp_free(offer);
    st[2].codec = SB_CODEC_AV1;
    st[2].fmtp = NULL;
    st[2].ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR] = 12;
    assert_int_equal(sb_negotiate_offer(&l, st, 3, &offer, why, sizeof(why)), 0);
    assert_true(offer->extmap_allow_mixed);
    text = sb_sdp_write(offer, NULL);
    assert_non_null(strstr(text, "a=extmap:12 https://aomediacodec.github.io/av1-rtp-spec/"
                                 "#dependency-descriptor-rtp-header-extension\r\n"));
    sb_free(text);
    sb_sdp_free(offer);

    /* Invalid streams. */
    struct {
        int field;
        const char *why;
    } bad[] = {
        {0, "mid"},        {1, "mid"},   {2, "codec"},   {3, "payload"},
        {4, "used twice"}, {5, "token"}, {6, "payload"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(st, offer_streams, sizeof(st));
        switch (bad[i].field) {
        case 0:
            st[1].mid = "a0";
            break;
        case 1:
            st[1].mid = "v 1";
            break;
        case 2:
            st[1].codec = SB_CODEC_OPUS;
            break;
        case 3:
            st[1].rtx_pt = 96;
            break;
        case 4:
            st[1].ext[SB_HDREXT_RID] = 2;
            break;
        case 5:
            st[1].cname = "two words";
            break;
        case 6:
            st[1].pt = 200;
            break;
        }
        why[0] = '\0';
        offer = (sb_sdp_t *)1;
        assert_int_equal(sb_negotiate_offer(&l, st, 3, &offer, why, sizeof(why)), SB_EINVAL);
        assert_null(offer);
        if (!strstr(why, bad[i].why))
            fail_msg("case %zu: reason '%s' lacks '%s'", i, why, bad[i].why);
    }
    assert_int_equal(sb_negotiate_offer(&l, st, 0, &offer, why, sizeof(why)), SB_EINVAL);
    l.ice_pwd = "x";
    assert_int_equal(sb_negotiate_offer(&l, offer_streams, 3, &offer, why, sizeof(why)), SB_EINVAL);
}

static void check_processed(const sb_negotiate_result_t *r, bool chromium)
{
    assert_null(r->answer);
    assert_int_equal(r->n_media, 3);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_PASSIVE);
    assert_int_equal(r->remote.setup, SB_SDP_SETUP_ACTIVE);
    const sb_negotiate_media_t *a = &r->media[0], *v = &r->media[1], *h = &r->media[2];
    assert_true(a->accepted && v->accepted && h->accepted);
    assert_string_equal(a->mid, "a0");
    assert_int_equal(a->dir, SB_SDP_DIR_SENDONLY);
    assert_int_equal(a->codec, SB_CODEC_OPUS);
    assert_int_equal(a->pt, 111);
    assert_int_equal(a->local_ssrc, 11111);
    assert_int_equal(a->ext[SB_HDREXT_AUDIO_LEVEL], 1);
    assert_int_equal(a->ext[SB_HDREXT_MID], 4);
    assert_int_equal(a->ssrc, 0); /* we do not receive */
    assert_int_equal(v->codec, SB_CODEC_VP8);
    assert_int_equal(v->pt, 96);
    assert_int_equal(v->rtx_pt, 97);
    assert_int_equal(v->local_ssrc, 22222);
    assert_int_equal(v->local_rtx_ssrc, 33333);
    assert_int_equal(v->ext[SB_HDREXT_ABS_SEND_TIME], 2);
    assert_int_equal(h->codec, SB_CODEC_H264);
    assert_int_equal(h->rtx_pt, 103);
    assert_int_equal(h->local_rtx_ssrc, 55555);
    assert_non_null(strstr(h->fmtp, "profile-level-id=42e01f"));
    assert_int_equal(h->fb, SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI);
    if (chromium) {
        assert_int_equal(v->fb, SB_NEGOTIATE_FB_ALL);
        assert_int_equal(v->ext[SB_HDREXT_TWCC], 3);
        assert_true(v->rtcp_rsize);
    } else {
        assert_int_equal(v->fb, SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI | SB_NEGOTIATE_FB_REMB);
        assert_int_equal(v->ext[SB_HDREXT_TWCC], 0);
    }
}

static void test_process_answers(void **state)
{
    char why[256];
    sb_sdp_t *offer = make_offer();
    const char *names[] = {"chromium_answer.sdp", "aiortc_answer.sdp"};
    for (int i = 0; i < 2; i++) {
        sb_sdp_t *answer = parse_fixture(names[i]);
        sb_negotiate_result_t *r = NULL;
        if (sb_negotiate_process_answer(offer, answer, &r, why, sizeof(why)) != 0)
            fail_msg("%s: %s", names[i], why);
        check_processed(r, i == 0);
        sb_negotiate_result_free(r);
        sb_sdp_free(answer);
    }

    /* Broken answers. */
    char *text0 = fixture_load("chromium_answer.sdp", NULL);
    static const struct {
        const char *from, *to, *why;
        int rc;
    } cases[] = {
        {"a=setup:active", "a=setup:actpass", "setup", SB_EPROTO},
        {"m=video 9 UDP/TLS/RTP/SAVPF 102 103", "m=audio 9 UDP/TLS/RTP/SAVPF 102 103",
         "does not match", SB_EPROTO},
        {"a=group:BUNDLE a0 v1 v2", "a=group:BUNDLE a0 v1", NULL, 0},
        {"m=video 9 UDP/TLS/RTP/SAVPF 102 103", "m=video 0 UDP/TLS/RTP/SAVPF 102 103", NULL, 0},
        {"a=rtpmap:102 H264/90000", "a=rtpmap:102 VP9/90000", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text1 = fixture_replace(text0, cases[i].from, cases[i].to);
        sb_sdp_t *answer = parse_text(text1);
        sb_negotiate_result_t *r = NULL;
        int rc = sb_negotiate_process_answer(offer, answer, &r, why, sizeof(why));
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].why)
            assert_non_null(strstr(why, cases[i].why));
        if (i == 3) {
            assert_false(r->media[2].accepted);
            assert_string_equal(r->media[2].reason, "rejected by the answerer");
        }
        if (i == 4) {
            assert_false(r->media[2].accepted);
            assert_string_equal(r->media[2].reason, "no common codec in the answer");
        }
        sb_negotiate_result_free(r);
        sb_sdp_free(answer);
        free(text1);
    }
    free(text0);

    /* Different m-line counts. */
    sb_negotiate_result_t *r = NULL;
    sb_sdp_t *two = parse_fixture("aiortc_av.sdp");
    assert_int_equal(sb_negotiate_process_answer(offer, two, &r, why, sizeof(why)), SB_EPROTO);
    assert_non_null(strstr(why, "m-lines"));
    sb_sdp_free(two);
    sb_sdp_free(offer);
}

/* An offer with a data m-line (VideoRoom data subscribers, the TextRoom): today's form with
 * our sctp-port and max-message-size, no direction, no codec; answers in both forms
 * (Chromium's a=sctp-port, aiortc's sctpmap) give the peer's port and message size, and an
 * answer that rejects it or breaks the form leaves it unaccepted. */
static void test_offer_data(void **state)
{
    (void)state;
    sb_negotiate_stream_t st[2] = {offer_streams[0],
                                   {.kind = SB_SDP_KIND_APPLICATION, .mid = "d1",
                                    .max_message_size = 262144}};
    sb_negotiate_local_t l;
    local_init(&l);
    char why[128];
    sb_sdp_t *offer = NULL;
    assert_int_equal(sb_negotiate_offer(&l, st, 2, &offer, why, sizeof(why)), 0);
    char *text = sb_sdp_write(offer, NULL);
    assert_non_null(strstr(text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert_non_null(strstr(text, "a=sctp-port:5000\r\n"));
    assert_non_null(strstr(text, "a=max-message-size:262144\r\n"));
    assert_non_null(strstr(text, "a=group:BUNDLE a0 d1\r\n"));
    const char *data = strstr(text, "m=application");
    assert_null(strstr(data, "a=sendonly"));
    assert_null(strstr(data, "a=rtpmap"));
    /* The text parses back into the same model. */
    sb_sdp_t *again = parse_text(text);
    assert_int_equal(again->n_media, 2);
    assert_int_equal(again->media[1].kind, SB_SDP_KIND_APPLICATION);
    sb_sdp_free(again);

    static const char *const answers[] = {
        /* Chromium */
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
        "a=mid:d1\r\na=sctp-port:5001\r\na=max-message-size:1000\r\n",
        /* aiortc's older form */
        "m=application 9 DTLS/SCTP 5001\r\nc=IN IP4 0.0.0.0\r\na=mid:d1\r\n"
        "a=sctpmap:5001 webrtc-datachannel 65535\r\na=max-message-size:1000\r\n",
        /* rejected */
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
        "a=mid:d1\r\n",
        /* not a data channel */
        "m=application 9 UDP/DTLS/SCTP bfcp\r\nc=IN IP4 0.0.0.0\r\na=mid:d1\r\n",
    };
    for (int i = 0; i < 4; i++) {
        char ans[2048];
        snprintf(ans, sizeof(ans),
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a0 d1\r\n"
            "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefABCDEF\r\n"
            "a=fingerprint:sha-256 %s\r\na=setup:active\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a0\r\n"
            "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n%s",
            FP + 8, answers[i]);
        sb_sdp_t *answer = parse_text(ans);
        sb_negotiate_result_t *r = NULL;
        assert_int_equal(sb_negotiate_process_answer(offer, answer, &r, why, sizeof(why)), 0);
        const sb_negotiate_media_t *m = &r->media[1];
        assert_int_equal(m->kind, SB_SDP_KIND_APPLICATION);
        assert_int_equal(m->accepted, i < 2);
        if (i < 2) {
            assert_int_equal(m->sctp_port, 5001);
            assert_int_equal(m->max_message_size, 1000);
            assert_int_equal(m->legacy_sctpmap, i == 1);
        } else {
            assert_non_null(m->reason);
        }
        sb_negotiate_result_free(r);
        sb_sdp_free(answer);
    }
    sb_free(text);
    sb_sdp_free(offer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer),
        cmocka_unit_test(test_process_answers),
        cmocka_unit_test(test_offer_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
