/* Unit tests for the SDP parser and writer: real offers captured from Chromium, aiortc and a
 * Firefox-format offer (tests/unit/sdp/), round trips, LF endings, builders, candidates,
 * and hostile input rejected with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "proto/sdp.h"
#include "sdp_fixture.h"

static sb_sdp_t *parse_ok(const char *text, size_t len)
{
    char why[256];
    sb_sdp_t *sdp = NULL;
    int rc = sb_sdp_parse(text, len, &sdp, why, sizeof(why));
    if (rc != 0)
        fail_msg("parse failed: %s", why);
    assert_non_null(sdp);
    return sdp;
}

static sb_sdp_t *parse_fixture(const char *name)
{
    size_t len;
    char *text = fixture_load(name, &len);
    sb_sdp_t *sdp = parse_ok(text, len);
    free(text);
    return sdp;
}

/* parse -> write -> parse -> write gives the same text twice. */
static void assert_round_trip(const sb_sdp_t *sdp)
{
    size_t l1, l2;
    char *t1 = sb_sdp_write(sdp, &l1);
    assert_int_equal(strlen(t1), l1);
    sb_sdp_t *again = parse_ok(t1, l1);
    char *t2 = sb_sdp_write(again, &l2);
    assert_string_equal(t1, t2);
    assert_int_equal(again->n_media, sdp->n_media);
    sb_free(t1);
    sb_free(t2);
    sb_sdp_free(again);
}

static void test_chromium_av(void **state)
{
    sb_sdp_t *sdp = parse_fixture("chromium_av.sdp");
    assert_int_equal(sdp->n_media, 3);
    assert_string_equal(sdp->origin_user, "-");
    assert_string_equal(sdp->origin_addr, "IN IP4 127.0.0.1");
    assert_true(sdp->extmap_allow_mixed);
    const sb_sdp_group_t *g = sb_sdp_find_group(sdp, "BUNDLE");
    assert_non_null(g);
    assert_int_equal(g->n_mids, 3);
    assert_string_equal(g->mids[2], "2");

    const sb_sdp_media_t *a = &sdp->media[0];
    assert_int_equal(a->kind, SB_SDP_KIND_AUDIO);
    assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
    assert_true(a->rtp && a->rtcp_mux && a->rtcp_rsize);
    assert_int_equal(a->n_formats, 8);
    const sb_sdp_format_t *opus = sb_sdp_media_format(a, 111);
    assert_non_null(opus);
    assert_string_equal(opus->encoding, "opus");
    assert_int_equal(opus->clock_rate, 48000);
    assert_int_equal(opus->channels, 2);
    assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(opus->n_fbs, 1);
    assert_string_equal(opus->fbs[0].type, "transport-cc");
    assert_int_equal(a->n_candidates, 2);
    assert_non_null(strstr(a->candidates[0], "typ host"));
    assert_string_equal(a->transport.ice_ufrag, "IzBZ");
    assert_int_equal(a->transport.setup, SB_SDP_SETUP_ACTPASS);
    assert_int_equal(a->transport.n_fingerprints, 1);
    assert_string_equal(a->transport.fingerprints[0].hash, "sha-256");
    assert_int_equal(a->dir, SB_SDP_DIR_SENDRECV);
    assert_int_equal(a->n_extmaps, 4);
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 3425738564u);
    assert_string_equal(a->ssrcs[0].cname, "wqwC3deggteKQ2lU");
    assert_non_null(strstr(a->msid, "5bad4b76"));

    const sb_sdp_media_t *v = sb_sdp_find_mid(sdp, "1");
    assert_ptr_equal(v, &sdp->media[1]);
    assert_int_equal(v->n_formats, 23);
    assert_string_equal(sb_sdp_media_format(v, 108)->fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(sb_sdp_media_format(v, 96)->n_fbs, 5);
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_string_equal(v->ssrc_groups[0].semantics, "FID");
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 2595150181u);
    assert_int_equal(v->n_ssrcs, 2);

    const sb_sdp_media_t *d = &sdp->media[2];
    assert_int_equal(d->kind, SB_SDP_KIND_APPLICATION);
    assert_false(d->rtp);
    assert_string_equal(d->fmt_text, "webrtc-datachannel");
    assert_int_equal(d->n_formats, 0);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);
}

static void test_chromium_simulcast(void **state)
{
    sb_sdp_t *sdp = parse_fixture("chromium_simulcast.sdp");
    const sb_sdp_media_t *v = &sdp->media[1];
    assert_int_equal(v->dir, SB_SDP_DIR_SENDONLY);
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0].id, "q");
    assert_int_equal(v->rids[2].dir, SB_SDP_RID_SEND);
    assert_int_equal(v->simulcast.n_send, 3);
    assert_int_equal(v->simulcast.n_recv, 0);
    assert_string_equal(v->simulcast.send[1].rid, "h");
    assert_int_equal(v->simulcast.send[1].stream, 1);
    assert_int_equal(v->simulcast.send[2].stream, 2);
    assert_false(v->simulcast.send[0].paused);
    assert_int_equal(v->n_ssrcs, 0);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);
}

static void test_aiortc(void **state)
{
    sb_sdp_t *sdp = parse_fixture("aiortc_av.sdp");
    assert_int_equal(sdp->n_media, 2);
    assert_string_equal(sdp->media[0].connection, "IN IP4 192.0.2.2");
    assert_int_equal(sdp->media[0].port, 50470);
    assert_true(sdp->media[0].end_of_candidates);
    assert_int_equal(sdp->media[0].n_candidates, 2);
    /* aiortc 1.4 gives each m-line its own ICE credentials even with BUNDLE. */
    assert_string_not_equal(sdp->media[0].transport.ice_ufrag, sdp->media[1].transport.ice_ufrag);
    assert_int_equal(sdp->media[1].n_ssrc_groups, 1);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);
}

static void test_firefox(void **state)
{
    sb_sdp_t *sdp = parse_fixture("firefox_av.sdp");
    /* Firefox puts the fingerprint and ice-options at session level. */
    assert_int_equal(sdp->transport.n_fingerprints, 1);
    assert_int_equal(sdp->media[0].transport.n_fingerprints, 0);
    sb_sdp_transport_t t;
    sb_sdp_media_transport(sdp, &sdp->media[1], &t);
    assert_int_equal(t.n_fingerprints, 1);
    assert_string_equal(t.ice_options, "trickle");
    assert_string_equal(t.ice_ufrag, sdp->media[1].transport.ice_ufrag);
    assert_int_equal(t.setup, SB_SDP_SETUP_ACTPASS);
    const sb_sdp_media_t *a = &sdp->media[0];
    assert_int_equal(a->n_candidates, 3);
    assert_int_equal(a->extmaps[1].dir, SB_SDP_DIR_RECVONLY);
    assert_int_equal(a->extmaps[1].id, 2);
    assert_int_equal(sb_sdp_media_format(a, 9)->channels, 1);
    assert_string_equal(sb_sdp_media_format(a, 101)->fmtp, "0-15");
    const sb_sdp_media_t *v = &sdp->media[1];
    assert_int_equal(v->port, 0);
    assert_true(v->bundle_only);
    assert_int_equal(v->n_formats, 11);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);

    sdp = parse_fixture("firefox_simulcast.sdp");
    assert_int_equal(sdp->media[1].simulcast.n_send, 3);
    assert_int_equal(sdp->media[1].n_ssrc_groups, 3);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);
}

static void test_answers_and_our_offer(void **state)
{
    const char *names[] = {"chromium_answer.sdp", "aiortc_answer.sdp", "switchboard_offer.sdp"};
    for (size_t i = 0; i < 3; i++) {
        sb_sdp_t *sdp = parse_fixture(names[i]);
        assert_int_equal(sdp->n_media, 3);
        assert_round_trip(sdp);
        sb_sdp_free(sdp);
    }
}

static void test_lf_endings(void **state)
{
    size_t len;
    char *crlf = fixture_load("chromium_av.sdp", &len);
    char *lf = fixture_replace(crlf, "\r\n", "\n");
    sb_sdp_t *a = parse_ok(crlf, len), *b = parse_ok(lf, strlen(lf));
    char *ta = sb_sdp_write(a, NULL), *tb = sb_sdp_write(b, NULL);
    assert_string_equal(ta, tb);
    /* No final line ending, and trailing blank lines, are tolerated too. */
    sb_sdp_t *c = parse_ok(lf, strlen(lf) - 1);
    char *with_blank = fixture_replace(lf, "webrtc-datachannel\n", "webrtc-datachannel\n");
    size_t bl = strlen(with_blank);
    with_blank = realloc(with_blank, bl + 3);
    strcpy(with_blank + bl, "\n\n");
    sb_sdp_t *d = parse_ok(with_blank, strlen(with_blank));
    sb_free(ta);
    sb_free(tb);
    sb_sdp_free(a);
    sb_sdp_free(b);
    sb_sdp_free(c);
    sb_sdp_free(d);
    free(crlf);
    free(lf);
    free(with_blank);
}

#define HDR "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"

static void expect_reject(const char *text, size_t len, const char *reason_part)
{
    char why[256] = "";
    sb_sdp_t *sdp = (sb_sdp_t *)1;
    int rc = sb_sdp_parse(text, len, &sdp, why, sizeof(why));
    if (rc != SB_EINVAL || sdp != NULL || !strstr(why, reason_part))
        fail_msg("expected rejection with '%s', got rc %d reason '%s'", reason_part, rc, why);
}

static void reject(const char *text, const char *reason_part)
{
    expect_reject(text, strlen(text), reason_part);
}

static void test_hostile_basic(void **state)
{
    reject("", "empty");
    reject("garbage", "v=0");
    reject("\r\nv=0\r\n", "v=0");
    reject("o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "v=0");
    reject("v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "v=0");
    reject("v=0\r\ns=-\r\n", "o= must follow");
    reject("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n", "s= must follow");
    reject("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "missing s=");
    reject("v=0\r\no=- 99999999999999999999999 1 IN IP4 0.0.0.0\r\ns=-\r\n", "session id");
    reject("v=0\r\no=- 18446744073709551616 1 IN IP4 0.0.0.0\r\ns=-\r\n", "session id");
    reject("v=0\r\no=- -1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "session id");
    reject("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", "6 fields");
    reject("v=0\ro=- 1 1 IN IP4 0.0.0.0\rs=-\r", "bare CR");
    reject(HDR "x=1\r\n", "unknown line type");
    reject(HDR "X=1\r\n", "<letter>=");
    reject(HDR "a\r\n", "<letter>=");
    reject(HDR "v=0\r\n", "duplicate v=");
    reject(HDR "s=again\r\n", "duplicate s=");
    reject(HDR AUDIO "t=0 0\r\n", "inside a media section");
    reject(HDR "a=foo\x01"
               "bar\r\n",
           "control character");
    reject(HDR "c=IN IP4\r\n", "c=");
    reject(HDR "b=AS:lots\r\n", "b=");
    reject(HDR "b=AS:99999999999\r\n", "b=");
    static const char nul[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=\0-\r\n";
    expect_reject(nul, sizeof(nul) - 1, "NUL");
}

static void test_hostile_mline(void **state)
{
    reject(HDR "m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", "0..127");
    reject(HDR "m=audio 9 UDP/TLS/RTP/SAVPF 99999999999999999999999\r\n", "0..127");
    reject(HDR "m=audio 9 UDP/TLS/RTP/SAVPF -1\r\n", "0..127");
    reject(HDR "m=audio 9 UDP/TLS/RTP/SAVPF 111 111\r\n", "duplicate payload type");
    reject(HDR "m=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n", "port");
    reject(HDR "m=audio 9/x UDP/TLS/RTP/SAVPF 111\r\n", "number of ports");
    reject(HDR "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", "expected");
    reject(HDR "m=audio 9 UDP//SAVPF 111\r\n", "bad media or proto");
    reject(HDR "m=application 9 UDP/DTLS/SCTP web\"rtc\r\n", "bad format");
    reject(HDR AUDIO "a=mid:a\r\n" AUDIO "a=mid:a\r\n", "duplicate mid");
    reject(HDR AUDIO "a=mid:a\r\na=mid:b\r\n", "duplicate a=mid");
    reject(HDR AUDIO "a=mid:"
                     "0123456789012345678901234567890123\r\n",
           "a=mid");
    reject(HDR "a=mid:0\r\n", "not allowed at session level");
    reject(HDR AUDIO "a=group:BUNDLE 0\r\n", "not allowed at media level");
    reject(HDR "a=group:BUNDLE 0\r\n" AUDIO "a=mid:1\r\n", "unknown mid");
    reject(HDR "a=group:BUNDLE 0 0\r\n" AUDIO "a=mid:0\r\n", "listed twice");
    reject(HDR AUDIO "a=rtcp-mux:yes\r\n", "takes no value");
    reject(HDR AUDIO "a=rtpmap\r\n", "needs a value");
    reject(HDR AUDIO "a=sendonly\r\na=recvonly\r\n", "more than one direction");
    reject(HDR AUDIO "a=rtpmap:111 opus/48000/2\r\na=rtpmap:111 opus/48000/2\r\n", "duplicate");
    reject(HDR AUDIO "a=rtpmap:111 opus\r\n", "a=rtpmap");
    reject(HDR AUDIO "a=rtpmap:111 opus/0\r\n", "a=rtpmap");
    reject(HDR AUDIO "a=rtpmap:111 opus/48000/0\r\n", "a=rtpmap");
    reject(HDR AUDIO "a=rtpmap:200 opus/48000\r\n", "a=rtpmap");
    reject(HDR AUDIO "a=fmtp:111 a=1\r\na=fmtp:111 a=2\r\n", "duplicate");
    reject(HDR AUDIO "a=rtcp-fb:x nack\r\n", "a=rtcp-fb");
    reject(HDR AUDIO "a=extmap:0 urn:x\r\n", "1..255");
    reject(HDR AUDIO "a=extmap:256 urn:x\r\n", "1..255");
    reject(HDR AUDIO "a=extmap:1/sideways urn:x\r\n", "direction");
    reject(HDR AUDIO "a=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n", "duplicate id");
    reject(HDR AUDIO "a=ssrc:abc cname:x\r\n", "ssrc");
    reject(HDR AUDIO "a=ssrc:4294967296 cname:x\r\n", "32-bit");
    reject(HDR AUDIO "a=ssrc:1 cname:\r\n", "needs a value");
    reject(HDR AUDIO "a=ssrc:1 cname:a\r\na=ssrc:1 cname:b\r\n", "duplicate cname");
    reject(HDR AUDIO "a=ssrc-group:FID\r\n", "no ssrc");
    reject(HDR AUDIO "a=ssrc-group:FID 1 x\r\n", "bad ssrc");
    reject(HDR AUDIO "a=rid:q sideways\r\n", "send or recv");
    reject(HDR AUDIO "a=rid:q! send\r\n", "a=rid");
    reject(HDR AUDIO "a=rid:q send\r\na=rid:q send\r\n", "duplicate rid");
    reject(HDR AUDIO "a=rid:q send\r\na=simulcast:send q;h\r\n", "no matching a=rid:h");
    reject(HDR AUDIO "a=rid:q send\r\na=simulcast:recv q\r\n", "no matching");
    reject(HDR AUDIO "a=rid:q send\r\na=simulcast:send q;q\r\n", "listed twice");
    reject(HDR AUDIO "a=simulcast:send\r\n", "a=simulcast");
    reject(HDR AUDIO "a=simulcast:send a send b\r\n", "twice");
    reject(HDR AUDIO "a=simulcast:up a\r\n", "a=simulcast");
    reject(HDR AUDIO "a=simulcast:send a;;b\r\n", "bad rid");
    reject(HDR AUDIO "a=msid:a b c\r\n", "a=msid");
}

static void test_hostile_transport(void **state)
{
    const char *fp32 = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                       "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    char buf[512];
    reject(HDR "a=fingerprint:sha-256 ZZ:CD\r\n", "fingerprint");
    reject(HDR "a=fingerprint:sha-256\r\n", "fingerprint");
    reject(HDR "a=fingerprint:sha-256 ABCD\r\n", "fingerprint");
    reject(HDR "a=fingerprint:sha-256 AB:CD:EF\r\n", "needs 32 bytes");
    reject(HDR "a=fingerprint:sha-256 AB:CD:EF:\r\n", "fingerprint");
    snprintf(buf, sizeof(buf), HDR "a=fingerprint:sha-1 %s\r\n", fp32);
    reject(buf, "needs 20 bytes");
    snprintf(buf, sizeof(buf), HDR "a=fingerprint:sha-256 %s extra\r\n", fp32);
    reject(buf, "fingerprint");
    snprintf(buf, sizeof(buf), HDR "a=fingerprint:SHA-256 %s\r\n", fp32);
    sb_sdp_t *sdp = parse_ok(buf, strlen(buf));
    assert_string_equal(sdp->transport.fingerprints[0].hash, "sha-256");
    sb_sdp_free(sdp);
    reject(HDR "a=setup:sometimes\r\n", "a=setup");
    reject(HDR "a=setup:active\r\na=setup:passive\r\n", "duplicate a=setup");
    reject(HDR "a=ice-ufrag:abc\r\n", "a=ice-ufrag");
    reject(HDR "a=ice-ufrag:ab#d\r\n", "a=ice-ufrag");
    reject(HDR "a=ice-pwd:short\r\n", "a=ice-pwd");
    reject(HDR "a=ice-ufrag:abcd\r\na=ice-ufrag:abcd\r\n", "duplicate a=ice-ufrag");
    reject(HDR "a=ice-options:tr\"ickle\r\n", "ice-options");
    reject(HDR AUDIO "a=candidate:1 1 udp 1 1.2.3.4 5 typ nope\r\n", "a=candidate");
    reject(HDR AUDIO "a=candidate:garbage\r\n", "a=candidate");
}

static void test_hostile_bounds(void **state)
{
    size_t cap = 200000, n = 0;
    char *big = malloc(cap);

    /* Total size. */
    n = (size_t)snprintf(big, cap, HDR);
    while (n < SB_SDP_MAX_SIZE + 10)
        n += (size_t)snprintf(big + n, cap - n, "a=x-filler:0123456789\r\n");
    expect_reject(big, n, "larger than");

    /* One long line. */
    n = (size_t)snprintf(big, cap, HDR "a=x-long:");
    memset(big + n, 'a', SB_SDP_MAX_LINE);
    n += SB_SDP_MAX_LINE;
    expect_reject(big, n, "longer than");

    /* m-lines, payload types, SSRCs, candidates, extmaps, rids, other attributes. */
    n = (size_t)snprintf(big, cap, HDR);
    for (int i = 0; i <= SB_SDP_MAX_MEDIA; i++)
        n += (size_t)snprintf(big + n, cap - n, "m=audio 9 RTP/AVP 0\r\n");
    expect_reject(big, n, "m-lines");

    n = (size_t)snprintf(big, cap, HDR "m=video 9 RTP/AVP");
    for (int i = 0; i <= SB_SDP_MAX_FORMATS; i++)
        n += (size_t)snprintf(big + n, cap - n, " %d", i);
    n += (size_t)snprintf(big + n, cap - n, "\r\n");
    expect_reject(big, n, "payload types");

    n = (size_t)snprintf(big, cap, HDR AUDIO);
    for (int i = 0; i <= SB_SDP_MAX_SSRCS; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=ssrc:%d cname:x\r\n", i + 1);
    expect_reject(big, n, "SSRCs");

    n = (size_t)snprintf(big, cap, HDR AUDIO);
    for (int i = 0; i <= SB_SDP_MAX_CANDIDATES; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=candidate:%d 1 udp 1 192.0.2.1 %d typ host\r\n",
                              i, 1000 + i);
    expect_reject(big, n, "candidates");

    n = (size_t)snprintf(big, cap, HDR AUDIO);
    for (int i = 0; i <= SB_SDP_MAX_EXTMAPS; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=extmap:%d urn:x:%d\r\n", i + 1, i);
    expect_reject(big, n, "extmap");

    n = (size_t)snprintf(big, cap, HDR AUDIO);
    for (int i = 0; i <= SB_SDP_MAX_RIDS; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=rid:r%d send\r\n", i);
    expect_reject(big, n, "a=rid");

    n = (size_t)snprintf(big, cap, HDR);
    for (int i = 0; i <= SB_SDP_MAX_ATTRS; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=x-%d:1\r\n", i);
    expect_reject(big, n, "other attributes");

    n = (size_t)snprintf(big, cap, HDR AUDIO);
    for (int i = 0; i <= SB_SDP_MAX_FB; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=rtcp-fb:111 nack\r\n");
    expect_reject(big, n, "rtcp-fb");

    n = (size_t)snprintf(big, cap, HDR AUDIO "a=ssrc-group:SIM");
    for (int i = 0; i <= SB_SDP_MAX_GROUP_SSRCS; i++)
        n += (size_t)snprintf(big + n, cap - n, " %d", i);
    n += (size_t)snprintf(big + n, cap - n, "\r\n");
    expect_reject(big, n, "ssrc-group");
    free(big);
}

static void test_lenient(void **state)
{
    /* Unknown attributes are kept, rtpmap/fmtp for unlisted payload types ignored, blanks
     * after the colon accepted, i/u/e/p/k/r/z lines dropped, no t= accepted. */
    const char *text = "v=0\no=alice 2890844526 2890842807 IN IP4 198.51.100.1\ns=Talk\n"
                       "i=info\nu=http://example.com\ne=a@example.com\nc=IN IP4 203.0.113.1\n"
                       "b=AS:256\nt=0 0\nr=7d 1h 0 25h\na=msid-semantic: WMS\na=recvonly\n"
                       "m=audio 49170 RTP/AVP 0 8\ni=audio\nb=TIAS:64000\na=rtpmap:96 x/1\n"
                       "a=fmtp:97 y=1\na=rtcp:9 IN IP4 0.0.0.0\na=x-flag\na=rtcp-fb:* nack\n"
                       "a=ssrc:5 label:legacy\n";
    sb_sdp_t *sdp = parse_ok(text, strlen(text));
    assert_string_equal(sdp->origin_user, "alice");
    assert_int_equal(sdp->session_id, 2890844526u);
    assert_string_equal(sdp->name, "Talk");
    assert_string_equal(sdp->connection, "IN IP4 203.0.113.1");
    assert_int_equal(sdp->bw_as, 256);
    assert_int_equal(sdp->n_attrs, 1);
    assert_string_equal(sdp->attrs[0].value, " WMS");
    const sb_sdp_media_t *m = &sdp->media[0];
    assert_int_equal(m->bw_tias, 64000);
    assert_int_equal(m->n_formats, 2);
    assert_null(m->formats[0].encoding);
    assert_int_equal(m->n_attrs, 2);
    assert_null(m->attrs[1].value);
    assert_int_equal(m->n_fbs_all, 1);
    assert_int_equal(m->n_ssrcs, 0);
    assert_int_equal(m->dir, SB_SDP_DIR_UNSET);
    assert_int_equal(sb_sdp_media_dir(sdp, m), SB_SDP_DIR_RECVONLY);
    assert_round_trip(sdp);
    sb_sdp_free(sdp);

    sdp = parse_ok("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\n", 31);
    assert_null(sdp->timing);
    assert_int_equal(sdp->n_media, 0);
    char *t = sb_sdp_write(sdp, NULL);
    assert_non_null(strstr(t, "t=0 0\r\n"));
    sb_free(t);
    sb_sdp_free(sdp);
}

static void test_candidate_parse(void **state)
{
    sb_sdp_candidate_t c;
    char why[128];
    assert_int_equal(sb_sdp_candidate_parse("a=candidate:842163049 1 udp 1677729535 "
                                            "203.0.113.5 46154 typ srflx raddr 10.0.0.2 "
                                            "rport 46154 generation 0 ufrag EsAw network-cost 999",
                                            &c, why, sizeof(why)),
                     0);
    assert_string_equal(c.foundation, "842163049");
    assert_int_equal(c.component, 1);
    assert_string_equal(c.transport, "udp");
    assert_int_equal(c.priority, 1677729535u);
    assert_string_equal(c.address, "203.0.113.5");
    assert_int_equal(c.port, 46154);
    assert_int_equal(c.type, SB_SDP_CAND_SRFLX);
    assert_string_equal(c.raddr, "10.0.0.2");
    assert_int_equal(c.rport, 46154);

    assert_int_equal(sb_sdp_candidate_parse("candidate:1 1 TCP 2105524479 fd00::2 9 typ host "
                                            "tcptype active",
                                            &c, why, sizeof(why)),
                     0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.address, "fd00::2");
    assert_string_equal(c.tcptype, "active");
    assert_int_equal(sb_sdp_candidate_parse("3 1 udp 2113937151 48f19bdf-a9d7-4ca6-aca0-"
                                            "f0137b8fd91c.local 53842 typ host\r\n",
                                            &c, why, sizeof(why)),
                     0);
    assert_int_equal(c.type, SB_SDP_CAND_HOST);
    assert_int_equal(sb_sdp_candidate_parse("candidate:4 1 udp 41885439 198.51.100.9 3478 typ "
                                            "relay raddr 0.0.0.0 rport 0",
                                            &c, why, sizeof(why)),
                     0);
    assert_int_equal(c.type, SB_SDP_CAND_RELAY);

    static const struct {
        const char *line, *why;
    } bad[] = {
        {NULL, "no candidate"},
        {"candidate:1 1 udp 1 1.2.3.4 5 host", "expected"},
        {"candidate:1 0 udp 1 1.2.3.4 5 typ host", "component"},
        {"candidate:1 257 udp 1 1.2.3.4 5 typ host", "component"},
        {"candidate:1 1 udp 4294967296 1.2.3.4 5 typ host", "priority"},
        {"candidate:1 1 udp 1 1.2.3.4 65536 typ host", "port"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ nat", "type"},
        {"candidate:1 1 udp 1 1.2.3.4/8 5 typ host", "address"},
        {"candidate:0123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host", "foundation"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr", "extension"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ srflx rport x", "rport"},
        {"candidate:1 1 tcp 1 1.2.3.4 5 typ host tcptype sideways", "tcptype"},
        {"candidate:17 1 tcp 2122260206 127.0.0.1 40017 typ host", "without tcptype"},
        {"candidate:17 1 TCP 2122260206 127.0.0.1 40017 typ host generation 0", "tcptype"},
        {"candidate:1 1 u\"dp 1 1.2.3.4 5 typ host", "transport"},
        {"candidate:1 1 udp 1 1.2.3.4 5 typ host\x01", "control"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(sb_sdp_candidate_parse(bad[i].line, &c, why, sizeof(why)), SB_EINVAL);
        if (!strstr(why, bad[i].why))
            fail_msg("candidate %zu: reason '%s' lacks '%s'", i, why, bad[i].why);
    }
}

static void test_builder(void **state)
{
    sb_sdp_t *sdp = sb_sdp_new();
    sdp->session_id = 7;
    sb_sdp_group_t *g = SB_SDP_PUSH(sdp, sdp->groups, sdp->n_groups);
    g->semantics = "BUNDLE";
    *SB_SDP_PUSH(sdp, g->mids, g->n_mids) = "v";
    sb_sdp_media_t *m = SB_SDP_PUSH(sdp, sdp->media, sdp->n_media);
    m->kind = SB_SDP_KIND_VIDEO;
    m->media = "video";
    m->port = 9;
    m->proto = "UDP/TLS/RTP/SAVPF";
    m->rtp = true;
    m->mid = sb_sdp_strdup(sdp, "v");
    /* Many pushes: capacity doubling must keep earlier elements. */
    for (int pt = 0; pt < 40; pt++) {
        sb_sdp_format_t *f = SB_SDP_PUSH(sdp, m->formats, m->n_formats);
        f->pt = (uint8_t)(pt + 60);
        f->encoding = "VP8";
        f->clock_rate = 90000;
    }
    for (int pt = 0; pt < 40; pt++)
        assert_int_equal(m->formats[pt].pt, pt + 60);
    sb_sdp_sim_rid_t *r = SB_SDP_PUSH(sdp, m->simulcast.recv, m->simulcast.n_recv);
    r->rid = "a";
    r = SB_SDP_PUSH(sdp, m->simulcast.recv, m->simulcast.n_recv);
    r->rid = "b";
    r->paused = true;
    r = SB_SDP_PUSH(sdp, m->simulcast.recv, m->simulcast.n_recv);
    r->rid = "c";
    r->stream = 1;
    const char *ids[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        sb_sdp_rid_t *rid = SB_SDP_PUSH(sdp, m->rids, m->n_rids);
        rid->id = ids[i];
        rid->dir = SB_SDP_RID_RECV;
    }
    char *text = sb_sdp_write(sdp, NULL);
    assert_non_null(strstr(text, "a=simulcast:recv a,~b;c\r\n"));
    assert_non_null(strstr(text, "o=- 7 0 IN IP4 0.0.0.0\r\n"));
    sb_sdp_t *back = parse_ok(text, strlen(text));
    assert_int_equal(back->media[0].n_formats, 40);
    assert_true(back->media[0].simulcast.recv[1].paused);
    assert_int_equal(back->media[0].simulcast.recv[1].stream, 0);
    assert_int_equal(back->media[0].simulcast.recv[2].stream, 1);
    assert_true(sb_sdp_arena_size(sdp) > 0);
    assert_null(sb_sdp_strdup(sdp, NULL));
    assert_string_equal(sb_sdp_strndup(sdp, "abcdef", 3), "abc");
    sb_free(text);
    sb_sdp_free(back);
    sb_sdp_free(sdp);
    sb_sdp_free(NULL);
}

static void test_dir_helpers(void **state)
{
    assert_int_equal(sb_sdp_dir_reverse(SB_SDP_DIR_SENDONLY), SB_SDP_DIR_RECVONLY);
    assert_int_equal(sb_sdp_dir_reverse(SB_SDP_DIR_RECVONLY), SB_SDP_DIR_SENDONLY);
    assert_int_equal(sb_sdp_dir_reverse(SB_SDP_DIR_SENDRECV), SB_SDP_DIR_SENDRECV);
    assert_int_equal(sb_sdp_dir_reverse(SB_SDP_DIR_INACTIVE), SB_SDP_DIR_INACTIVE);
    assert_int_equal(sb_sdp_dir_reverse(SB_SDP_DIR_UNSET), SB_SDP_DIR_SENDRECV);
    assert_int_equal(sb_sdp_dir_and(SB_SDP_DIR_SENDRECV, SB_SDP_DIR_RECVONLY), SB_SDP_DIR_RECVONLY);
    assert_int_equal(sb_sdp_dir_and(SB_SDP_DIR_SENDONLY, SB_SDP_DIR_RECVONLY), SB_SDP_DIR_INACTIVE);
    assert_int_equal(sb_sdp_dir_and(SB_SDP_DIR_UNSET, SB_SDP_DIR_SENDONLY), SB_SDP_DIR_SENDONLY);
    assert_true(sb_sdp_dir_sends(SB_SDP_DIR_SENDRECV));
    assert_false(sb_sdp_dir_sends(SB_SDP_DIR_INACTIVE));
    assert_true(sb_sdp_dir_recvs(SB_SDP_DIR_RECVONLY));
    assert_string_equal(sb_sdp_dir_name(SB_SDP_DIR_INACTIVE), "inactive");
    assert_string_equal(sb_sdp_setup_name(SB_SDP_SETUP_HOLDCONN), "holdconn");
    assert_string_equal(sb_sdp_kind_name(SB_SDP_KIND_OTHER), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_av),
        cmocka_unit_test(test_chromium_simulcast),
        cmocka_unit_test(test_aiortc),
        cmocka_unit_test(test_firefox),
        cmocka_unit_test(test_answers_and_our_offer),
        cmocka_unit_test(test_lf_endings),
        cmocka_unit_test(test_hostile_basic),
        cmocka_unit_test(test_hostile_mline),
        cmocka_unit_test(test_hostile_transport),
        cmocka_unit_test(test_hostile_bounds),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_candidate_parse),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_dir_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
