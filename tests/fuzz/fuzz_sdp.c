/* Fuzz target: the SDP parser and writer, the candidate parser, and the negotiator (answering
 * the input as an offer, and processing it as the answer to a fixed offer of ours).
 * Invariants checked on every accepted description:
 *  - what the writer produces parses again and writes back to the same text;
 *  - an answer we build to any accepted offer is itself valid SDP.
 * libFuzzer: clang -fsanitize=fuzzer,address,undefined -I src -I <builddir>
 *   tests/fuzz/fuzz_sdp.c src/proto/{sdp,sdp_parse,sdp_attr,sdp_candidate,sdp_write,negotiate,
 *   negotiate_build,negotiate_answer,negotiate_offer,codec}.c src/base/{alloc,log,error}.c */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "proto/negotiate.h"
#include "proto/sdp.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define FP                                                                                         \
    "sha-256 5F:E6:62:98:EE:26:BB:40:F7:52:14:82:B5:C2:5F:E5:22:D8:72:DF:DF:E1:AD:64:"             \
    "5C:46:95:C9:F1:9F:98:9B"

static const char *const cands[] = {"candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host"};
static const sb_negotiate_local_t local = {.ice_ufrag = "sbuf",
                                           .ice_pwd = "0123456789abcdefABCDEF",
                                           .fingerprint = FP,
                                           .candidates = cands,
                                           .n_candidates = 1,
                                           .end_of_candidates = true,
                                           .session_id = 1};

/* Parse, then check the writer's output is a fixed point. Returns the model or NULL. */
static sb_sdp_t *fuzz_parse(const char *text, size_t len)
{
    char why[256];
    sb_sdp_t *sdp;
    if (sb_sdp_parse(text, len, &sdp, why, sizeof(why)) != 0) {
        CHECK(why[0] != '\0');
        return NULL;
    }
    size_t l1, l2;
    char *t1 = sb_sdp_write(sdp, &l1);
    sb_sdp_t *again;
    CHECK(sb_sdp_parse(t1, l1, &again, why, sizeof(why)) == 0);
    char *t2 = sb_sdp_write(again, &l2);
    CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
    sb_free(t1);
    sb_free(t2);
    sb_sdp_free(again);
    return sdp;
}

static void on_media(void *ctx, const sb_sdp_t *offer, size_t index, const sb_negotiate_media_t *s,
                     sb_sdp_dir_t *dir, sb_negotiate_send_t *send)
{
    send->ssrc = 1000 + (uint32_t)index;
    send->rtx_ssrc = 2000 + (uint32_t)index;
    send->msid_stream = "s";
    send->msid_track = "t";
    if (index % 3 == 2)
        *dir = SB_SDP_DIR_RECVONLY;
}

static void fuzz_answer(const sb_sdp_t *offer)
{
    sb_negotiate_opts_t o;
    sb_negotiate_result_t *r;
    char why[256];
    sb_negotiate_opts_init(&o);
    o.local = local;
    o.on_media = on_media;
    o.allow_mixed = offer->n_media & 1;
    if (sb_negotiate_answer(offer, &o, &r, why, sizeof(why)) != 0)
        return;
    size_t len;
    char *text = sb_sdp_write(r->answer, &len);
    sb_sdp_t *back = fuzz_parse(text, len);
    CHECK(back != NULL);
    CHECK(back->n_media == offer->n_media);
    for (size_t i = 0; i < r->n_media; i++) {
        CHECK(r->media[i].accepted == (back->media[i].port != 0));
        CHECK(!r->media[i].accepted || r->media[i].pt >= 0);
    }
    sb_sdp_free(back);
    sb_free(text);
    sb_negotiate_result_free(r);
}

static sb_sdp_t *our_offer(void)
{
    static const sb_negotiate_stream_t st[3] = {
        {.kind = SB_SDP_KIND_AUDIO,
         .mid = "0",
         .codec = SB_CODEC_OPUS,
         .pt = 111,
         .ssrc = 1,
         .ext = {[SB_HDREXT_MID] = 4},
         .fb = SB_NEGOTIATE_FB_TWCC},
        {.kind = SB_SDP_KIND_VIDEO,
         .mid = "1",
         .codec = SB_CODEC_VP8,
         .pt = 96,
         .rtx_pt = 97,
         .ssrc = 2,
         .rtx_ssrc = 3,
         .ext = {[SB_HDREXT_MID] = 4},
         .fb = SB_NEGOTIATE_FB_ALL},
        {.kind = SB_SDP_KIND_VIDEO,
         .mid = "2",
         .codec = SB_CODEC_H264,
         .pt = 102,
         .fmtp = "packetization-mode=1;profile-level-id=42e01f",
         .ssrc = 4},
    };
    sb_sdp_t *offer = NULL;
    char why[128];
    CHECK(sb_negotiate_offer(&local, st, 3, &offer, why, sizeof(why)) == 0);
    return offer;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sb_sdp_t *offer;
    if (!offer)
        offer = our_offer();

    sb_sdp_t *sdp = fuzz_parse((const char *)data, size);
    if (sdp) {
        sb_negotiate_transport_t t;
        char why[128];
        sb_negotiate_remote_transport(sdp, &t, why, sizeof(why));
        fuzz_answer(sdp);
        sb_negotiate_result_t *r = NULL;
        if (sb_negotiate_process_answer(offer, sdp, &r, why, sizeof(why)) == 0)
            CHECK(r->n_media == offer->n_media);
        sb_negotiate_result_free(r);
        sb_sdp_free(sdp);
    }

    /* The same bytes as one trickle candidate line. */
    if (size <= SB_SDP_MAX_LINE) {
        char line[SB_SDP_MAX_LINE + 1];
        sb_sdp_candidate_t c;
        char why[128];
        memcpy(line, data, size);
        line[size] = '\0';
        sb_sdp_candidate_parse(line, &c, why, sizeof(why));
    }
    return 0;
}
