/* Unit tests for offer/answer: answers to real Chromium (plain and simulcast), aiortc and
 * Firefox-format offers; codec/profile preferences; direction policies; rejections; setup roles;
 * extensions; the remote transport. Offers we make: test_negotiate_offer.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/negotiate.h"
#include "proto/sdp.h"
#include "sdp_fixture.h"

static void opts_init(sb_negotiate_opts_t *o)
{
    sb_negotiate_opts_init(o);
    local_init(&o->local);
}

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

/* Answer text must parse back, and re-writing it must be stable. */
static char *answer_text(const sb_negotiate_result_t *r)
{
    char *text = sb_sdp_write(r->answer, NULL);
    sb_sdp_t *back = parse_text(text);
    char *again = sb_sdp_write(back, NULL);
    assert_string_equal(text, again);
    sb_free(again);
    sb_sdp_free(back);
    return text;
}

static sb_negotiate_result_t *answer_ok(const sb_sdp_t *offer, const sb_negotiate_opts_t *o)
{
    char why[256];
    sb_negotiate_result_t *r = NULL;
    if (sb_negotiate_answer(offer, o, &r, why, sizeof(why)) != 0)
        fail_msg("answer failed: %s", why);
    assert_non_null(r);
    assert_int_equal(r->n_media, offer->n_media);
    return r;
}

/* The hook of an echo: announce our SSRCs everywhere we send. */
static void echo_hook(void *ctx, const sb_sdp_t *offer, size_t index, const sb_negotiate_media_t *s,
                      sb_sdp_dir_t *dir, sb_negotiate_send_t *send)
{
    int *calls = ctx;
    (*calls)++;
    send->ssrc = 1000 + (uint32_t)index;
    send->rtx_ssrc = 2000 + (uint32_t)index;
    send->cname = "sfu";
    send->msid_stream = "echo";
    send->msid_track = s->kind == SB_SDP_KIND_AUDIO ? "echo-a" : "echo-v";
}

static void test_answer_chromium(void **state)
{
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    sb_negotiate_opts_t o;
    int calls = 0;
    opts_init(&o);
    o.on_media = echo_hook;
    o.ctx = &calls;
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    assert_int_equal(calls, 2);

    const sb_negotiate_media_t *a = &r->media[0], *v = &r->media[1], *d = &r->media[2];
    assert_true(a->accepted);
    assert_null(a->reason);
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->kind, SB_SDP_KIND_AUDIO);
    assert_int_equal(a->pt, 111);
    assert_int_equal(a->codec, SB_CODEC_OPUS);
    assert_int_equal(a->clock_rate, 48000);
    assert_int_equal(a->channels, 2);
    assert_string_equal(a->fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(a->rtx_pt, -1);
    assert_int_equal(a->dir, SB_SDP_DIR_SENDRECV);
    assert_int_equal(a->fb, SB_NEGOTIATE_FB_TWCC);
    assert_int_equal(a->ext[SB_HDREXT_AUDIO_LEVEL], 1);
    assert_int_equal(a->ext[SB_HDREXT_ABS_SEND_TIME], 2);
    assert_int_equal(a->ext[SB_HDREXT_TWCC], 3);
    assert_int_equal(a->ext[SB_HDREXT_MID], 4);
    assert_int_equal(a->ssrc, 3425738564u);
    assert_int_equal(a->local_ssrc, 1000);
    assert_int_equal(a->local_rtx_ssrc, 0);

    assert_true(v->accepted);
    assert_int_equal(v->codec, SB_CODEC_VP8);
    assert_int_equal(v->pt, 96);
    assert_int_equal(v->rtx_pt, 97);
    assert_int_equal(v->fb, SB_NEGOTIATE_FB_ALL);
    assert_true(v->rtcp_rsize);
    assert_int_equal(v->ext[SB_HDREXT_RID], 10);
    assert_int_equal(v->ext[SB_HDREXT_REPAIRED_RID], 11);
    assert_int_equal(v->ext[SB_HDREXT_VIDEO_ORIENTATION], 13);
    assert_int_equal(v->ext[SB_HDREXT_PLAYOUT_DELAY], 5);
    assert_int_equal(v->ext[SB_HDREXT_TOFFSET], 0); /* not in the default allow list */
    assert_int_equal(v->ssrc, 1113929344u);
    assert_int_equal(v->rtx_ssrc, 2595150181u);
    assert_int_equal(v->local_ssrc, 1001);
    assert_int_equal(v->local_rtx_ssrc, 2001);
    assert_false(v->simulcast);

    assert_false(d->accepted);
    assert_int_equal(d->kind, SB_SDP_KIND_APPLICATION);
    assert_non_null(strstr(d->reason, "data channel"));

    assert_int_equal(r->local_setup, SB_SDP_SETUP_ACTIVE);
    assert_int_equal(r->remote.setup, SB_SDP_SETUP_ACTPASS);
    assert_string_equal(r->remote.ice_ufrag, "IzBZ");
    assert_string_equal(r->remote.fingerprint_hash, "sha-256");
    assert_true(r->remote.trickle);
    assert_int_equal(r->remote.index, 0);

    char *text = answer_text(r);
    assert_non_null(strstr(text, "a=group:BUNDLE 0 1\r\n"));
    assert_non_null(strstr(text, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
    assert_non_null(strstr(text, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"));
    assert_non_null(strstr(text, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert_non_null(strstr(text, "a=setup:active\r\n"));
    assert_non_null(strstr(text, "a=fmtp:97 apt=96\r\n"));
    assert_non_null(strstr(text, "a=ssrc-group:FID 1001 2001\r\n"));
    assert_non_null(strstr(text, "a=msid:echo echo-v\r\n"));
    assert_null(strstr(text, "toffset"));
    assert_null(strstr(text, "extmap-allow-mixed"));
    /* Candidates only on the BUNDLE transport m-line. */
    const sb_sdp_t *ans = r->answer;
    assert_int_equal(ans->media[0].n_candidates, 2);
    assert_string_equal(ans->media[0].candidates[1],
                        "2 1 udp 1694498815 203.0.113.1 40000 typ srflx raddr 192.0.2.1 "
                        "rport 40000");
    assert_true(ans->media[0].end_of_candidates);
    assert_int_equal(ans->media[1].n_candidates, 0);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(ans->media[i].transport.ice_ufrag, "sbuf");
        assert_string_equal(ans->media[i].mid, offer->media[i].mid);
    }
    assert_int_equal(ans->media[2].port, 0);
    sb_free(text);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
}

static void test_answer_simulcast(void **state)
{
    sb_sdp_t *offer = parse_fixture("chromium_simulcast.sdp");
    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    const sb_negotiate_media_t *v = &r->media[1];
    assert_true(v->accepted);
    assert_int_equal(v->dir, SB_SDP_DIR_RECVONLY);
    assert_true(v->simulcast);
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0].id, "q");
    assert_string_equal(v->rids[2].id, "f");
    assert_true(v->rids[1].recv);
    assert_int_equal(v->rids[2].stream, 2);
    assert_int_equal(v->ssrc, 0);
    char *text = answer_text(r);
    assert_non_null(strstr(text, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\n"
                                 "a=simulcast:recv q;h;f\r\n"));
    assert_non_null(strstr(text, "a=recvonly\r\n"));
    sb_free(text);
    sb_negotiate_result_free(r);

    /* Without simulcast support (or without the rid extension) no rid is answered. */
    o.simulcast = false;
    r = answer_ok(offer, &o);
    assert_false(r->media[1].simulcast);
    assert_int_equal(r->answer->media[1].n_rids, 0);
    sb_negotiate_result_free(r);
    opts_init(&o);
    o.ext_allow &= ~SB_HDREXT_BIT(SB_HDREXT_RID);
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[1].n_rids, 0);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);

    /* rid restrictions that exclude our payload type drop that layer. */
    char *text0 = fixture_load("chromium_simulcast.sdp", NULL);
    char *text1 = fixture_replace(text0, "a=rid:h send\r\n", "a=rid:h send pt=102\r\n");
    offer = parse_text(text1);
    opts_init(&o);
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[1].n_rids, 2);
    assert_string_equal(r->media[1].rids[1].id, "f");
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
    free(text0);
    free(text1);
}

static void test_answer_aiortc(void **state)
{
    sb_sdp_t *offer = parse_fixture("aiortc_av.sdp");
    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    assert_true(r->media[0].accepted && r->media[1].accepted);
    assert_int_equal(r->media[0].pt, 96);
    assert_int_equal(r->media[0].codec, SB_CODEC_OPUS);
    assert_int_equal(r->media[1].pt, 97);
    assert_int_equal(r->media[1].rtx_pt, 98);
    assert_int_equal(r->media[1].fb,
                     SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI | SB_NEGOTIATE_FB_REMB);
    assert_int_equal(r->media[1].ssrc, 1308367615u);
    assert_int_equal(r->media[1].rtx_ssrc, 733303329u);
    /* aiortc's m-lines carry their own credentials: the transport is the first one's. */
    assert_string_equal(r->remote.ice_ufrag, "hCi7");
    assert_true(r->remote.end_of_candidates);
    assert_false(r->remote.trickle);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_ACTIVE);
    char *text = answer_text(r);
    assert_non_null(strstr(text, "a=group:BUNDLE 0 1\r\n"));
    sb_free(text);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
}

static void test_answer_firefox(void **state)
{
    sb_sdp_t *offer = parse_fixture("firefox_av.sdp");
    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    /* The video m-line is bundle-only (port 0): accepted through BUNDLE. */
    assert_true(r->media[1].accepted);
    assert_int_equal(r->media[1].codec, SB_CODEC_VP8);
    assert_int_equal(r->media[1].pt, 120);
    assert_int_equal(r->media[1].rtx_pt, 124);
    assert_string_equal(r->media[1].fmtp, "max-fs=12288;max-fr=60");
    assert_int_equal(r->media[0].pt, 109);
    assert_int_equal(r->media[0].ext[SB_HDREXT_MID], 3);
    assert_int_equal(r->media[1].ext[SB_HDREXT_PLAYOUT_DELAY], 6);
    assert_int_equal(r->media[1].ext[SB_HDREXT_TWCC], 7);
    /* Fingerprint from the session level, credentials from the media level. */
    assert_string_equal(r->remote.fingerprint_hash, "sha-256");
    assert_string_equal(r->remote.ice_ufrag, offer->media[0].transport.ice_ufrag);
    char *text = answer_text(r);
    /* Offered recvonly by Firefox, so we would be the sender: sendonly. */
    assert_non_null(strstr(text, "a=extmap:6/sendonly http://www.webrtc.org/experiments/"
                                 "rtp-hdrext/playout-delay\r\n"));
    assert_null(strstr(text, "csrc-audio-level"));
    assert_non_null(strstr(text, "m=video 9 "));
    sb_free(text);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);

    offer = parse_fixture("firefox_simulcast.sdp");
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[1].n_rids, 3);
    assert_string_equal(r->media[1].rids[0].id, "a");
    assert_int_equal(r->media[1].dir, SB_SDP_DIR_RECVONLY);
    assert_int_equal(r->media[1].ext[SB_HDREXT_RID], 8);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
}

static void test_codec_preferences(void **state)
{
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    sb_negotiate_opts_t o;
    sb_negotiate_result_t *r;
    static const struct {
        sb_negotiate_codec_pref_t pref;
        int pt;
    } video[] = {
        {{.codec = SB_CODEC_H264}, 108},                      /* 42e01f, mode 1 */
        {{.codec = SB_CODEC_H264, .profile = "42001f"}, 102}, /* exact baseline */
        {{.codec = SB_CODEC_H264, .profile = "4d001f"}, 116}, /* main */
        {{.codec = SB_CODEC_H264, .profile = "640c1f"}, 108}, /* falls back */
        {{.codec = SB_CODEC_H264, .profile = "640c1f", .strict = true}, -1},
        {{.codec = SB_CODEC_VP9}, 98},
        {{.codec = SB_CODEC_VP9, .profile = "2"}, 100},
        {{.codec = SB_CODEC_VP9, .profile = "1", .strict = true}, -1},
        {{.codec = SB_CODEC_AV1}, 45},
        {{.codec = SB_CODEC_H265}, -1},
    };
    for (size_t i = 0; i < sizeof(video) / sizeof(video[0]); i++) {
        opts_init(&o);
        o.video = &video[i].pref;
        o.n_video = 1;
        r = answer_ok(offer, &o);
        if (r->media[1].pt != video[i].pt)
            fail_msg("case %zu: pt %d, want %d", i, r->media[1].pt, video[i].pt);
        if (video[i].pt < 0) {
            assert_false(r->media[1].accepted);
            assert_string_equal(r->media[1].reason, "no common codec");
        } else {
            /* The answer echoes the offer's fmtp for the chosen payload type exactly. */
            const char *fmtp = sb_sdp_media_format(&offer->media[1], (unsigned)video[i].pt)->fmtp;
            assert_string_equal(r->media[1].fmtp, fmtp);
            assert_string_equal(r->answer->media[1].formats[0].fmtp, fmtp);
            assert_int_equal(r->media[1].rtx_pt, video[i].pt == 108  ? 109
                                                 : video[i].pt == 45 ? 46
                                                                     : video[i].pt + 1);
        }
        sb_negotiate_result_free(r);
    }
    static const struct {
        sb_codec_t codec;
        int pt;
    } audio[] = {{SB_CODEC_PCMU, 0}, {SB_CODEC_PCMA, 8}, {SB_CODEC_G722, 9}};
    for (size_t i = 0; i < 3; i++) {
        sb_negotiate_codec_pref_t pref = {.codec = audio[i].codec};
        opts_init(&o);
        o.audio = &pref;
        o.n_audio = 1;
        r = answer_ok(offer, &o);
        assert_int_equal(r->media[0].pt, audio[i].pt);
        assert_int_equal(r->media[0].clock_rate, 8000);
        sb_negotiate_result_free(r);
    }
    /* Order of the list decides, not the offer's order. */
    sb_negotiate_codec_pref_t two[2];
    assert_int_equal(sb_negotiate_prefs_parse("h264, vp8", two, 2), 2);
    opts_init(&o);
    o.video = two;
    o.n_video = 2;
    o.rtx = false;
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[1].codec, SB_CODEC_H264);
    assert_int_equal(r->media[1].rtx_pt, -1);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);

    assert_int_equal(sb_negotiate_prefs_parse("vp8,bogus", two, 2), SB_EINVAL);
    assert_int_equal(sb_negotiate_prefs_parse("rtx", two, 2), SB_EINVAL);
    assert_int_equal(sb_negotiate_prefs_parse("vp8,vp9,h264", two, 2), SB_ERANGE);
    assert_int_equal(sb_negotiate_prefs_parse("", two, 2), 0);
}

static void dir_hook(void *ctx, const sb_sdp_t *offer, size_t index, const sb_negotiate_media_t *s,
                     sb_sdp_dir_t *dir, sb_negotiate_send_t *send)
{
    const sb_sdp_dir_t *dirs = ctx;
    *dir = dirs[index];
    send->ssrc = 77;
    send->msid_stream = "bad msid with spaces";
}

static void test_directions(void **state)
{
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    sb_negotiate_opts_t o;
    int calls = 0;
    opts_init(&o);
    /* A publisher leg: we only receive, so nothing is announced even with a hook. */
    o.dir = SB_SDP_DIR_RECVONLY;
    o.on_media = echo_hook;
    o.ctx = &calls;
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    assert_int_equal(r->media[0].dir, SB_SDP_DIR_RECVONLY);
    assert_int_equal(r->media[1].dir, SB_SDP_DIR_RECVONLY);
    assert_int_equal(r->media[0].local_ssrc, 0);
    assert_int_equal(r->answer->media[1].n_ssrcs, 0);
    assert_null(r->answer->media[1].msid);
    assert_int_equal(r->media[1].ssrc, 1113929344u);
    sb_negotiate_result_free(r);

    /* Per-index directions from the hook, narrowed by the offer. */
    static const sb_sdp_dir_t dirs[] = {SB_SDP_DIR_INACTIVE, SB_SDP_DIR_SENDONLY};
    opts_init(&o);
    o.on_media = dir_hook;
    o.ctx = (void *)dirs;
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[0].dir, SB_SDP_DIR_INACTIVE);
    assert_int_equal(r->media[0].ssrc, 0); /* we do not receive: no remote SSRC */
    assert_int_equal(r->media[1].dir, SB_SDP_DIR_SENDONLY);
    assert_int_equal(r->media[1].local_ssrc, 0); /* the msid was invalid: nothing announced */
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);

    /* A sendonly offer (simulcast publisher) can only be received: sendrecv wish -> recvonly;
     * a recvonly offer can only be sent to. */
    char *text0 = fixture_load("chromium_av.sdp", NULL);
    char *text1 = fixture_replace(text0, "a=sendrecv", "a=recvonly");
    offer = parse_text(text1);
    opts_init(&o);
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[0].dir, SB_SDP_DIR_SENDONLY);
    sb_negotiate_result_free(r);
    o.dir = SB_SDP_DIR_RECVONLY;
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[0].dir, SB_SDP_DIR_INACTIVE);
    assert_true(r->media[0].accepted);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
    free(text0);
    free(text1);
}

/* Answer an edited Chromium offer; returns the result (rc 0) or NULL with rc and reason. */
#define EDITS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* edits: NULL-terminated from/to pairs applied in order. */
static sb_negotiate_result_t *answer_edited(const char *const *edits, int *rc, char *why,
                                            size_t why_size, const sb_negotiate_opts_t *opts)
{
    char *text0 = fixture_load("chromium_av.sdp", NULL);
    char *text1 = NULL;
    for (size_t i = 0; edits[i]; i += 2) {
        text1 = fixture_replace(text0, edits[i], edits[i + 1]);
        free(text0);
        text0 = text1;
    }
    text1 = strdup(text0);
    sb_sdp_t *offer = parse_text(text1);
    sb_negotiate_opts_t o;
    if (!opts) {
        opts_init(&o);
        opts = &o;
    }
    sb_negotiate_result_t *r = NULL;
    *rc = sb_negotiate_answer(offer, opts, &r, why, why_size);
    sb_sdp_free(offer);
    free(text0);
    free(text1);
    return r;
}

static void test_rejections(void **state)
{
    char why[256];
    int rc;
    sb_negotiate_result_t *r;

    /* No rtcp-mux on audio: that m-line is rejected, video still accepted. */
    r = answer_edited(EDITS("a=rtcp-mux\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=all\r\na=rtpmap:111",
                            "a=rtcp-rsize\r\na=rtpmap:111"),
                      &rc, why, sizeof(why), NULL);
    assert_int_equal(rc, 0);
    assert_false(r->media[0].accepted);
    assert_string_equal(r->media[0].reason, "rtcp-mux is required");
    assert_true(r->media[1].accepted);
    assert_int_equal(r->answer->media[0].port, 0);
    assert_int_equal(r->remote.index, 1);
    assert_int_equal(r->answer->groups[0].n_mids, 1);
    assert_int_equal(r->answer->media[1].n_candidates, 2);
    sb_negotiate_result_free(r);

    /* Nothing acceptable at all. */
    r = answer_edited(EDITS("a=rtcp-mux\r\n", ""), &rc, why, sizeof(why), NULL);
    assert_null(r);
    assert_int_equal(rc, SB_ENOTSUP);
    assert_non_null(strstr(why, "rtcp-mux"));

    r = answer_edited(EDITS("UDP/TLS/RTP/SAVPF", "RTP/AVPF"), &rc, why, sizeof(why), NULL);
    assert_int_equal(rc, SB_ENOTSUP);
    assert_non_null(strstr(why, "DTLS-SRTP"));

    r = answer_edited(EDITS("a=mid:1\r\n", "", "BUNDLE 0 1 2", "BUNDLE 0 2"), &rc, why, sizeof(why),
                      NULL);
    assert_int_equal(rc, SB_EPROTO);
    assert_non_null(strstr(why, "no a=mid"));

    r = answer_edited(EDITS("a=fingerprint:", "a=x-fingerprint:"), &rc, why, sizeof(why), NULL);
    assert_int_equal(rc, SB_EPROTO);
    assert_non_null(strstr(why, "fingerprint"));

    r = answer_edited(EDITS("a=ice-pwd:", "a=x-ice-pwd:"), &rc, why, sizeof(why), NULL);
    assert_int_equal(rc, SB_EPROTO);
    assert_non_null(strstr(why, "ice-pwd"));

    r = answer_edited(EDITS("a=setup:actpass", "a=setup:holdconn"), &rc, why, sizeof(why), NULL);
    assert_int_equal(rc, SB_EPROTO);
    assert_non_null(strstr(why, "holdconn"));

    /* No common video codec. */
    sb_negotiate_codec_pref_t vp8 = {.codec = SB_CODEC_VP8};
    sb_negotiate_opts_t o;
    opts_init(&o);
    o.video = &vp8;
    o.n_video = 1;
    r = answer_edited(EDITS("VP8/90000", "VP7/90000"), &rc, why, sizeof(why), &o);
    assert_int_equal(rc, 0);
    assert_false(r->media[1].accepted);
    assert_string_equal(r->media[1].reason, "no common codec");
    assert_int_equal(r->answer->media[1].port, 0);
    assert_int_equal(r->answer->media[1].dir, SB_SDP_DIR_INACTIVE);
    sb_negotiate_result_free(r);

    /* An m-line outside the BUNDLE group; then no group at all: one m-line only. */
    r = answer_edited(EDITS("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 1 2"), &rc, why, sizeof(why),
                      NULL);
    assert_false(r->media[0].accepted);
    assert_string_equal(r->media[0].reason, "not in the BUNDLE group");
    assert_int_equal(r->remote.index, 1);
    sb_negotiate_result_free(r);
    r = answer_edited(EDITS("a=group:BUNDLE 0 1 2\r\n", ""), &rc, why, sizeof(why), NULL);
    assert_true(r->media[0].accepted);
    assert_false(r->media[1].accepted);
    assert_int_equal(r->answer->n_groups, 0);
    sb_negotiate_result_free(r);

    /* m-line disabled in the offer. */
    r = answer_edited(EDITS("m=video 9", "m=video 0"), &rc, why, sizeof(why), NULL);
    assert_false(r->media[1].accepted);
    assert_string_equal(r->media[1].reason, "disabled in the offer");
    sb_negotiate_result_free(r);

    /* Bad local options. */
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    const char *bad_cand[] = {"candidate:nonsense"};
    for (int i = 0; i < 4; i++) {
        opts_init(&o);
        if (i == 0)
            o.local.ice_ufrag = "ab";
        else if (i == 1)
            o.local.ice_pwd = "short";
        else if (i == 2)
            o.local.fingerprint = "sha-256AB:CD";
        else
            o.local.candidates = bad_cand, o.local.n_candidates = 1;
        assert_int_equal(sb_negotiate_answer(offer, &o, &r, why, sizeof(why)), SB_EINVAL);
        assert_null(r);
    }
    sb_sdp_free(offer);
}

static void test_setup_roles(void **state)
{
    char why[256];
    int rc;
    sb_negotiate_result_t *r;
    r = answer_edited(EDITS("a=setup:actpass", "a=setup:active"), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_PASSIVE);
    assert_int_equal(r->answer->media[0].transport.setup, SB_SDP_SETUP_PASSIVE);
    sb_negotiate_result_free(r);
    r = answer_edited(EDITS("a=setup:actpass", "a=setup:passive"), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_ACTIVE);
    sb_negotiate_result_free(r);
    r = answer_edited(EDITS("a=setup:actpass\r\n", ""), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_PASSIVE);
    sb_negotiate_result_free(r);
    sb_negotiate_opts_t o;
    opts_init(&o);
    o.actpass_answer = SB_SDP_SETUP_PASSIVE;
    r = answer_edited(EDITS("x", "x"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->local_setup, SB_SDP_SETUP_PASSIVE);
    sb_negotiate_result_free(r);
}

static void test_extensions(void **state)
{
    char why[256];
    int rc;
    sb_negotiate_opts_t o;
    opts_init(&o);
    o.ext_allow = SB_HDREXT_BIT(SB_HDREXT_MID);
    o.fb_allow = SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI;
    sb_negotiate_result_t *r = answer_edited(EDITS("x", "x"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[1].ext[SB_HDREXT_MID], 4);
    assert_int_equal(r->media[1].ext[SB_HDREXT_TWCC], 0);
    assert_int_equal(r->answer->media[1].n_extmaps, 1);
    assert_int_equal(r->media[1].fb, SB_NEGOTIATE_FB_NACK | SB_NEGOTIATE_FB_PLI);
    assert_int_equal(r->answer->media[1].formats[0].n_fbs, 2);
    sb_negotiate_result_free(r);

    /* Ids above 14 need extmap-allow-mixed, which we only echo when allowed. */
    const char *from = "a=extmap:13 urn:3gpp:video-orientation";
    const char *to = "a=extmap:15 urn:3gpp:video-orientation";
    r = answer_edited(EDITS(from, to), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->media[1].ext[SB_HDREXT_VIDEO_ORIENTATION], 0);
    sb_negotiate_result_free(r);
    opts_init(&o);
    o.allow_mixed = true;
    r = answer_edited(EDITS(from, to), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[1].ext[SB_HDREXT_VIDEO_ORIENTATION], 15);
    assert_true(r->answer->extmap_allow_mixed);
    sb_negotiate_result_free(r);

    /* Session-level extmaps apply to every m-line. */
    opts_init(&o);
    o.ext_allow |= SB_HDREXT_BIT(SB_HDREXT_TOFFSET);
    char *text0 = fixture_load("chromium_av.sdp", NULL);
    char *text1 = fixture_replace(text0, "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n", "");
    char *text2 = fixture_replace(text1, "a=msid-semantic: WMS\r\n",
                                  "a=msid-semantic: WMS\r\na=extmap:9 "
                                  "urn:ietf:params:rtp-hdrext:toffset\r\n");
    sb_sdp_t *offer = parse_text(text2);
    r = answer_ok(offer, &o);
    assert_int_equal(r->media[0].ext[SB_HDREXT_TOFFSET], 9);
    assert_int_equal(r->media[1].ext[SB_HDREXT_TOFFSET], 9);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
    free(text0);
    free(text1);
    free(text2);

    for (int x = 0; x < SB_HDREXT_COUNT; x++)
        assert_int_equal(sb_negotiate_hdrext_from_uri(sb_negotiate_hdrext_uri((sb_hdrext_t)x)), x);
    assert_int_equal(sb_negotiate_hdrext_from_uri("urn:nothing"), -1);
    assert_null(sb_negotiate_hdrext_uri(SB_HDREXT_COUNT));
}

/* The AV1 dependency descriptor is answered only on an m-line whose codec is AV1. */
static void test_dependency_descriptor(void **state)
{
    (void)state;
    char why[256];
    int rc;
    const char *from = "a=extmap:13 urn:3gpp:video-orientation\r\n";
    const char *to = "a=extmap:13 urn:3gpp:video-orientation\r\na=extmap:12 "
                     "https://aomediacodec.github.io/av1-rtp-spec/"
                     "#dependency-descriptor-rtp-header-extension\r\n";
    sb_negotiate_result_t *r = answer_edited(EDITS(from, to), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->media[1].codec, SB_CODEC_VP8);
    assert_int_equal(r->media[1].ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR], 0);
    char *text = answer_text(r);
    assert_null(strstr(text, "dependency-descriptor"));
    sb_free(text);
    sb_negotiate_result_free(r);

    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_codec_pref_t av1[1];
    assert_int_equal(sb_negotiate_prefs_parse("av1", av1, 1), 1);
    o.video = av1;
    o.n_video = 1;
    o.allow_mixed = true;
    r = answer_edited(EDITS(from, to), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[1].codec, SB_CODEC_AV1);
    assert_int_equal(r->media[1].pt, 45);
    assert_int_equal(r->media[1].ext[SB_HDREXT_DEPENDENCY_DESCRIPTOR], 12);
    assert_true(r->answer->extmap_allow_mixed);
    text = answer_text(r);
    assert_non_null(strstr(text, "a=extmap:12 https://aomediacodec.github.io/av1-rtp-spec/"
                                 "#dependency-descriptor-rtp-header-extension\r\n"));
    sb_free(text);
    sb_negotiate_result_free(r);
}

/* RED (RFC 2198) of Opus: answered only when asked for, listed before Opus (a client sends
 * with the answer's first codec), and only when every block is the chosen Opus. */
static void test_red(void **state)
{
    (void)state;
    char why[256];
    int rc;
    sb_negotiate_result_t *r = answer_edited(EDITS("x", "x"), &rc, why, sizeof(why), NULL);
    assert_int_equal(r->media[0].codec, SB_CODEC_OPUS);
    assert_int_equal(r->media[0].red_pt, -1);
    assert_int_equal(r->answer->media[0].n_formats, 1);
    sb_negotiate_result_free(r);

    sb_negotiate_opts_t o;
    opts_init(&o);
    o.red = true;
    r = answer_edited(EDITS("x", "x"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[0].pt, 111);
    assert_int_equal(r->media[0].red_pt, 63);
    assert_int_equal(r->media[1].red_pt, -1); /* video: never */
    char *text = answer_text(r);
    assert_non_null(strstr(text, "m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n"));
    assert_non_null(strstr(text, "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"));
    sb_free(text);
    sb_negotiate_result_free(r);

    /* RED of another codec (or of a mix) is not what we forward */
    r = answer_edited(EDITS("a=fmtp:63 111/111", "a=fmtp:63 111/9"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[0].red_pt, -1);
    sb_negotiate_result_free(r);
    r = answer_edited(EDITS("a=fmtp:63 111/111", "a=fmtp:63 111"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[0].red_pt, -1);
    sb_negotiate_result_free(r);
    /* a room restricted to PCMU gets no RED */
    sb_negotiate_codec_pref_t pcmu[1];
    assert_int_equal(sb_negotiate_prefs_parse("pcmu", pcmu, 1), 1);
    o.audio = pcmu;
    o.n_audio = 1;
    r = answer_edited(EDITS("x", "x"), &rc, why, sizeof(why), &o);
    assert_int_equal(r->media[0].codec, SB_CODEC_PCMU);
    assert_int_equal(r->media[0].red_pt, -1);
    sb_negotiate_result_free(r);
}

static void test_bundle_transport_fallback(void **state)
{
    /* The tag m-line we pick (video: no audio codec is acceptable) carries no ICE/DTLS
     * attributes, as a bundle-only section may: the offerer's tagged m-line describes it. */
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    sb_sdp_media_t *v = &offer->media[1];
    v->transport = (sb_sdp_transport_t){0};
    sb_negotiate_codec_pref_t g722 = {.codec = SB_CODEC_G722};
    sb_negotiate_opts_t o;
    opts_init(&o);
    o.audio = &g722;
    o.n_audio = 1;
    offer->media[0].formats[2].encoding = "nothing"; /* G722 */
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    assert_false(r->media[0].accepted);
    assert_true(r->media[1].accepted);
    assert_int_equal(r->remote.index, 0);
    assert_string_equal(r->remote.ice_ufrag, "IzBZ");
    assert_int_equal(r->answer->media[1].n_candidates, 2);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
}

static void test_sim_group(void **state)
{
    /* Legacy SSRC-signalled simulcast (ssrc-group:SIM, each layer with its FID). */
    char *text0 = fixture_load("chromium_av.sdp", NULL);
    char *text1 = fixture_replace(
        text0, "a=ssrc-group:FID 1113929344 2595150181\r\n",
        "a=ssrc-group:FID 1113929344 2595150181\r\na=ssrc-group:SIM 1113929344 11 12\r\n"
        "a=ssrc-group:FID 11 21\r\na=ssrc-group:FID 12 22\r\n");
    sb_sdp_t *offer = parse_text(text1);
    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    const sb_negotiate_media_t *v = &r->media[1];
    assert_int_equal(v->n_sim, 3);
    assert_int_equal(v->sim_ssrc[0], 1113929344u);
    assert_int_equal(v->sim_rtx_ssrc[0], 2595150181u);
    assert_int_equal(v->sim_ssrc[2], 12);
    assert_int_equal(v->sim_rtx_ssrc[1], 21);
    assert_int_equal(v->ssrc, 1113929344u);
    assert_false(v->simulcast);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
    free(text0);
    free(text1);
}

static void test_remote_transport(void **state)
{
    sb_negotiate_transport_t t;
    char why[128];
    sb_sdp_t *sdp = parse_fixture("aiortc_av.sdp");
    assert_int_equal(sb_negotiate_remote_transport(sdp, &t, why, sizeof(why)), 0);
    assert_string_equal(t.mid, "0");
    assert_string_equal(t.ice_ufrag, "hCi7");
    assert_int_equal(t.setup, SB_SDP_SETUP_ACTPASS);
    sb_sdp_free(sdp);

    sdp = parse_fixture("firefox_av.sdp");
    assert_int_equal(sb_negotiate_remote_transport(sdp, &t, why, sizeof(why)), 0);
    assert_int_equal(t.index, 0);
    assert_true(t.trickle);
    assert_true(t.end_of_candidates);
    assert_int_equal(strlen(t.fingerprint), 95);
    sb_sdp_free(sdp);

    sdp = parse_text("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                     "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n");
    assert_int_equal(sb_negotiate_remote_transport(sdp, &t, why, sizeof(why)), SB_ENOENT);
    sb_sdp_free(sdp);
}

/* Data channels (RFC 8841): Chromium's m=application is answered when asked for, in its
 * form, with our max-message-size, inside the BUNDLE group; the older DTLS/SCTP + sctpmap
 * form (aiortc) is answered in that form; without opts.data it stays rejected; a second
 * data m-line is rejected. */
static void test_answer_data(void **state)
{
    (void)state;
    sb_sdp_t *offer = parse_fixture("chromium_av.sdp");
    sb_negotiate_opts_t o;
    opts_init(&o);
    sb_negotiate_result_t *r = answer_ok(offer, &o);
    assert_false(r->media[2].accepted);
    assert_string_equal(r->media[2].reason, "data channels are not supported");
    sb_negotiate_result_free(r);

    o.data = true;
    o.max_message_size = 131072;
    r = answer_ok(offer, &o);
    const sb_negotiate_media_t *d = &r->media[2];
    assert_true(d->accepted);
    assert_int_equal(d->kind, SB_SDP_KIND_APPLICATION);
    assert_int_equal(d->sctp_port, 5000);
    assert_int_equal(d->max_message_size, 262144);
    assert_false(d->legacy_sctpmap);
    char *text = answer_text(r);
    assert_non_null(strstr(text, "a=group:BUNDLE 0 1 2\r\n"));
    assert_non_null(strstr(text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    assert_non_null(strstr(text, "a=sctp-port:5000\r\n"));
    assert_non_null(strstr(text, "a=max-message-size:131072\r\n"));
    const char *app = strstr(text, "m=application");
    assert_null(strstr(app, "a=sendrecv"));
    sb_free(text);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);

    static const char legacy[] =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
        "m=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=sctpmap:5000 webrtc-datachannel 65535\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
        "a=fingerprint:sha-256 EE:E9:5A:B4:E4:68:B9:79:AB:85:D1:94:DE:BE:4C:BC:22:D5:5B:E5:BF:4E:"
        "B8:AF:97:29:07:4C:0C:51:E8:AD\r\na=setup:actpass\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
        "a=sctp-port:6000\r\n";
    offer = parse_text(legacy);
    r = answer_ok(offer, &o);
    assert_true(r->media[0].accepted);
    assert_true(r->media[0].legacy_sctpmap);
    assert_int_equal(r->media[0].sctp_port, 5000);
    assert_int_equal(r->media[0].max_message_size, 65536); /* absent: RFC 8841's default */
    assert_false(r->media[1].accepted);
    assert_string_equal(r->media[1].reason, "only one data channel m-line");
    text = answer_text(r);
    assert_non_null(strstr(text, "m=application 9 DTLS/SCTP 5000\r\n"));
    assert_non_null(strstr(text, "a=sctpmap:5000 webrtc-datachannel 1024\r\n"));
    assert_non_null(strstr(text, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    sb_free(text);
    sb_negotiate_result_free(r);
    sb_sdp_free(offer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_chromium),   cmocka_unit_test(test_answer_simulcast),
        cmocka_unit_test(test_answer_aiortc),     cmocka_unit_test(test_answer_firefox),
        cmocka_unit_test(test_codec_preferences), cmocka_unit_test(test_directions),
        cmocka_unit_test(test_rejections),        cmocka_unit_test(test_setup_roles),
        cmocka_unit_test(test_extensions),        cmocka_unit_test(test_bundle_transport_fallback),
        cmocka_unit_test(test_sim_group),         cmocka_unit_test(test_remote_transport),
        cmocka_unit_test(test_answer_data),       cmocka_unit_test(test_dependency_descriptor),
        cmocka_unit_test(test_red),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
